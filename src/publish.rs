//! `hopthu publish`: the public directory (danh bạ điện tử) of a valid
//! repository, as a static page that searches itself, a CSV file and a
//! vCard file. Pure text making, then one atomic write per file.
//!
//! Listed: every agency and unit mailbox, and the people marked
//! `public: true`. Locked mailboxes are listed like the others (they still
//! receive mail); whether and why a mailbox is locked is internal, as are
//! quotas, aliases and everything else not written below.

use crate::desired::{DesiredMailbox, MailboxKind, agency_key, unit_key};
use crate::model::AgencyType;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub const HTML_FILE: &str = "index.html";
pub const CSV_FILE: &str = "danhba.csv";
pub const VCARD_FILE: &str = "danhba.vcf";

/// One listed mailbox, with only what may be shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    #[serde(rename = "k")]
    pub kind: MailboxKind,
    /// The person's name, or the agency's or unit's name.
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "t", skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(rename = "a")]
    pub agency: String,
    #[serde(rename = "u", skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(rename = "e")]
    pub address: String,
    /// For a person's vCard `N`: (family and middle names, given name).
    #[serde(skip)]
    pub split_name: Option<(String, String)>,
}

/// What the three files are made from.
#[derive(Debug, Clone)]
pub struct Listing {
    pub domain: String,
    pub updated: NaiveDate,
    pub entries: Vec<Entry>,
}

impl Listing {
    /// The listing of a valid repository's mailboxes: provincial agencies,
    /// then wards and communes; each agency's mailbox, its leaders, then
    /// each unit's mailbox and its people; otherwise in repository order.
    pub fn new(domain: &str, desired: &[DesiredMailbox], updated: NaiveDate) -> Listing {
        // Agencies' and units' names and positions, by key.
        let orgs: HashMap<&str, (usize, &str)> = desired
            .iter()
            .enumerate()
            .filter(|(_, m)| m.kind != MailboxKind::Person)
            .map(|(i, m)| (m.key.as_str(), (i, m.display_name.as_str())))
            .collect();
        let org = |key: String| orgs.get(key.as_str()).copied();
        let mut listed: Vec<(_, &DesiredMailbox)> = desired
            .iter()
            .enumerate()
            .filter(|(_, m)| m.public)
            .map(|(i, m)| {
                let rank = match m.agency_type {
                    AgencyType::Office => 0,
                    AgencyType::Department => 1,
                    AgencyType::Board => 2,
                    AgencyType::UnitPublic => 3,
                    AgencyType::Ward => 4,
                    AgencyType::Commune => 5,
                };
                let agency = org(agency_key(&m.agency_code)).map_or(i, |o| o.0);
                let unit = m
                    .unit_code
                    .as_ref()
                    .and_then(|u| org(unit_key(&m.agency_code, u)))
                    .map_or(0, |o| o.0 + 1);
                let person = usize::from(m.kind == MailboxKind::Person);
                ((rank, agency, unit, person, i), m)
            })
            .collect();
        listed.sort_unstable_by_key(|(k, _)| *k);
        let entries = listed
            .into_iter()
            .map(|(_, m)| {
                let agency = org(agency_key(&m.agency_code))
                    .map_or_else(|| m.agency_abbr.clone(), |o| o.1.to_string());
                let unit = m
                    .unit_code
                    .as_ref()
                    .and_then(|u| org(unit_key(&m.agency_code, u)))
                    .map(|o| o.1.to_string());
                Entry {
                    kind: m.kind,
                    name: m.display_name.clone(),
                    title: m.title.clone().filter(|t| !t.is_empty()),
                    agency,
                    unit,
                    address: m.address.clone(),
                    split_name: m.surname.clone().zip(m.given_name.clone()),
                }
            })
            .collect();
        Listing {
            domain: domain.to_string(),
            updated,
            entries,
        }
    }

    pub fn count(&self, kind: MailboxKind) -> usize {
        self.entries.iter().filter(|e| e.kind == kind).count()
    }

    pub fn title(&self) -> String {
        format!("Danh bạ thư điện tử {}", self.domain)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    NotAFolder(PathBuf),
    Io(PathBuf, std::io::Error),
}

impl std::fmt::Display for PublishError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&match self {
            PublishError::NotAFolder(p) => {
                let p = p.display();
                crate::tr!(
                    "{p} là một tệp, không phải thư mục",
                    "{p} is a file, not a folder"
                )
            }
            PublishError::Io(p, e) => {
                let p = p.display();
                crate::tr!("không ghi được {p}: {e}", "cannot write {p}: {e}")
            }
        })
    }
}

/// Refuse an `--out` that exists and is not a folder, before anything is made.
pub fn check_out(out: &Path) -> Result<(), PublishError> {
    match std::fs::metadata(out) {
        Ok(m) if !m.is_dir() => Err(PublishError::NotAFolder(out.to_path_buf())),
        _ => Ok(()),
    }
}

/// Write the three files into `out` (made when missing), each atomically:
/// a reader sees the old file or the new one, never half of one.
pub fn publish(out: &Path, listing: &Listing) -> Result<Vec<PathBuf>, PublishError> {
    check_out(out)?;
    std::fs::create_dir_all(out).map_err(|e| PublishError::Io(out.to_path_buf(), e))?;
    let files = [
        (CSV_FILE, csv(listing)),
        (VCARD_FILE, vcard(listing)),
        (HTML_FILE, html(listing)),
    ];
    // Each file's place is checked before any is written: a folder in the
    // way of one would otherwise leave a new page beside old data.
    for (name, _) in &files {
        let path = out.join(name);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            return Err(PublishError::Io(
                path,
                std::io::Error::other("a folder is in the way of the file"),
            ));
        }
    }
    let mut written = Vec::new();
    for (name, text) in files {
        let path = out.join(name);
        crate::fsutil::write_atomic(&path, text.as_bytes())
            .map_err(|e| PublishError::Io(path.clone(), e))?;
        written.push(path);
    }
    Ok(written)
}

fn kind_label(kind: MailboxKind) -> &'static str {
    match kind {
        MailboxKind::Agency => "Cơ quan",
        MailboxKind::Unit => "Đơn vị",
        MailboxKind::Person => "Cá nhân",
    }
}

// ---------------------------------------------------------------------------
// CSV (RFC 4180, with a BOM so that Excel reads UTF-8)

/// One CSV field: quoted when it holds a comma, a quote or a line end; a
/// leading `= + - @` gets an apostrophe so that a spreadsheet never runs it
/// as a formula.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

pub fn csv(l: &Listing) -> String {
    let mut out = String::from("\u{FEFF}Tên,Chức vụ,Cơ quan,Đơn vị,Thư điện tử,Loại\r\n");
    for e in &l.entries {
        let fields = [
            e.name.as_str(),
            e.title.as_deref().unwrap_or(""),
            e.agency.as_str(),
            e.unit.as_deref().unwrap_or(""),
            e.address.as_str(),
            kind_label(e.kind),
        ];
        let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

// ---------------------------------------------------------------------------
// vCard 4.0 (RFC 6350)

/// A text value: `\`, `,`, `;` and line ends escaped.
pub fn vcard_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// A content line folded at 75 octets (CRLF after each part, a space
/// before each continuation), never inside a UTF-8 character.
pub fn vcard_fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 64 * 3 + 2);
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
    out
}

pub fn vcard(l: &Listing) -> String {
    let mut out = String::new();
    for e in &l.entries {
        let mut lines = vec![
            "BEGIN:VCARD".to_string(),
            "VERSION:4.0".to_string(),
            format!(
                "KIND:{}",
                if e.kind == MailboxKind::Person {
                    "individual"
                } else {
                    "org"
                }
            ),
            format!("FN:{}", vcard_escape(&e.name)),
        ];
        if let Some((family, given)) = &e.split_name {
            lines.push(format!(
                "N:{};{};;;",
                vcard_escape(family),
                vcard_escape(given)
            ));
        }
        let mut org = vcard_escape(&e.agency);
        if let Some(u) = &e.unit {
            let _ = write!(org, ";{}", vcard_escape(u));
        }
        lines.push(format!("ORG:{org}"));
        if let Some(t) = &e.title {
            lines.push(format!("TITLE:{}", vcard_escape(t)));
        }
        lines.push(format!("EMAIL;TYPE=work:{}", e.address));
        lines.push("END:VCARD".to_string());
        for line in lines {
            out.push_str(&vcard_fold(&line));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The page

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON that may sit inside a `<script>` element: no `<`, `>` or `&`.
fn script_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v)
        .expect("entries serialize")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

const STYLE: &str = include_str!("publish/page.css");
const SCRIPT: &str = include_str!("publish/page.js");

/// One self-contained page: the whole table is in the HTML (it reads
/// without JavaScript); the script only hides the rows a search leaves out.
pub fn html(l: &Listing) -> String {
    let title = esc(&l.title());
    let total = l.entries.len();
    let mut rows = String::with_capacity(total * 300);
    for e in &l.entries {
        let (class, badge) = if e.kind == MailboxKind::Person {
            ("", String::new())
        } else {
            (
                " class=\"org\"",
                format!(" <span class=\"kind\">{}</span>", kind_label(e.kind)),
            )
        };
        let _ = writeln!(
            rows,
            "<tr{class}><th scope=\"row\">{}{badge}</th><td>{}</td><td>{}</td><td>{}</td><td><a href=\"mailto:{addr}\">{addr}</a></td></tr>",
            esc(&e.name),
            esc(e.title.as_deref().unwrap_or("")),
            esc(&e.agency),
            esc(e.unit.as_deref().unwrap_or("")),
            addr = esc(&e.address),
        );
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'none'; base-uri 'none'">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<style>
{STYLE}</style>
</head>
<body>
<header>
<h1>{title}</h1>
<p>Hộp thư công vụ của các cơ quan, đơn vị và cán bộ được công khai; cập nhật ngày {updated}.
Tải về: <a href="{CSV_FILE}" download>danh bạ CSV (Excel)</a> · <a href="{VCARD_FILE}" download>danh bạ vCard (điện thoại, ứng dụng thư)</a>.</p>
</header>
<main>
<form id="search" role="search" hidden>
<label for="q">Tìm theo tên, chức vụ, cơ quan, đơn vị hoặc địa chỉ thư</label>
<input id="q" name="q" type="search" autocomplete="off" spellcheck="false" aria-describedby="hint count">
<p id="hint" class="hint">Gõ có dấu hay không dấu đều được, ví dụ: <kbd>so khoa hoc</kbd>. Phím Esc xóa ô tìm kiếm.</p>
</form>
<noscript><p class="hint">Trình duyệt không chạy JavaScript: bảng dưới đây liệt kê tất cả hộp thư; dùng Ctrl+F để tìm.</p></noscript>
<p id="count" role="status" aria-live="polite" data-total="{total}">{total} hộp thư</p>
<div class="scroll" role="region" aria-labelledby="caption" tabindex="0">
<table id="list">
<caption id="caption">Danh sách hộp thư</caption>
<thead><tr><th scope="col">Tên</th><th scope="col">Chức vụ</th><th scope="col">Cơ quan</th><th scope="col">Đơn vị</th><th scope="col">Thư điện tử</th></tr></thead>
<tbody>
{rows}</tbody>
</table>
</div>
</main>
<script type="application/json" id="data">{data}</script>
<script>
{SCRIPT}</script>
</body>
</html>
"#,
        updated = l.updated.format("%d/%m/%Y"),
        data = script_json(&l.entries),
    )
}
