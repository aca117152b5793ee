//! `hopthu import`: a desired-state repository drafted from a mail
//! directory that exists already, for a province that adopts hopthu.
//!
//! Mailboxes are grouped into agencies by their address: `<abbr>@domain` is
//! an agency's own mailbox, `<x>.<abbr>@domain` a unit's (when its name
//! reads like an office) or a person's. Names come from `displayName`, `cn`
//! or `givenName` + `sn` (made NFC), units from the person's
//! `departmentNumber` or `ou`, aliases from the alias attribute, quotas and
//! locks from the entry. Addresses the rules would not give are kept as
//! explicit addresses, marked `legacy: true` where the validator says they
//! do not conform. What cannot be placed (another domain, no agency, a
//! person's name with letters the rules refuse, an entry outside the base
//! DN) is listed, each entry with its DN, its address and the reason, and
//! left out. An agency's or unit's name the rules refuse becomes a
//! placeholder flagged for a person, so that its people are not lost.
//! The draft is validated before anything is written; the caller adopts
//! the entries afterwards.

use crate::layout::{Layout, LayoutName};
use crate::live::LiveEntry;
use crate::model::{Language, parse_quota};
use crate::source::{Entry, FileSet, SourceFile};
use crate::tr;
use chrono::NaiveDate;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Skipped {
    pub dn: String,
    pub address: Option<String>,
    pub reason: String,
}

/// The drafted repository: `hopthu.yaml` and one file per agency.
#[derive(Debug, Clone)]
pub struct Draft {
    pub files: Vec<(String, String)>,
    /// Entries left out of the repository, each with its reason.
    pub skipped: Vec<Skipped>,
    /// Entries imported with something a person must put right before the
    /// repository is committed (a placeholder name, a dropped title or unit).
    pub flagged: Vec<Skipped>,
    pub agencies: usize,
    pub units: usize,
    pub people: usize,
    pub legacy: usize,
    /// Where each mailbox came from: (DN, address), by `agency:<file>`,
    /// `unit:<file>:<code>` and `person:<id>`.
    pub origin: HashMap<String, (String, String)>,
}

impl Draft {
    pub fn file_set(&self) -> FileSet {
        let mut set = FileSet::default();
        for (path, text) in &self.files {
            let f = SourceFile {
                path: path.clone(),
                entry: Entry::File(text.clone().into_bytes()),
            };
            if path == crate::source::SETTINGS_FILE {
                set.settings = Some(f);
            } else {
                set.agencies.push(f);
            }
        }
        set.agencies.sort_by(|a, b| a.path.cmp(&b.path));
        set
    }
}

pub struct ImportOptions<'a> {
    pub domain: &'a str,
    pub layout: LayoutName,
    /// Written into hopthu.yaml when it is not the one made from the domain.
    pub base_dn: Option<&'a str>,
    pub language: Language,
    pub today: NaiveDate,
}

/// What one live entry says, read once.
#[derive(Debug, Clone)]
struct Found {
    dn: String,
    local: String,
    name: Option<String>,
    given: Option<String>,
    title: Option<String>,
    units: Vec<String>,
    aliases: Vec<String>,
    quota: Option<u64>,
    locked_since: Option<NaiveDate>,
    locked: bool,
    key: Option<String>,
    uid: Option<String>,
}

#[derive(Debug, Default)]
struct AgencyDraft {
    code: Option<String>,
    abbr: String,
    name: Option<String>,
    mailbox: Option<Found>,
    units: Vec<(String, Found)>,
    people: Vec<Found>,
}

/// How an office's name starts, as opposed to a person's: Vietnamese words
/// with their marks (a family name such as Đoàn, Tô or Phương folds to the
/// same letters as Đoàn, Tổ or Phường, so folded single words would mistake
/// people for offices), and the phrases of names written without marks.
const ORG_WORDS: &[&str] = &[
    "sở ",
    "ban ",
    "văn phòng",
    "ubnd",
    "ủy ban",
    "uỷ ban",
    "xã ",
    "phường ",
    "thị trấn",
    "trung tâm",
    "phòng ",
    "chi cục",
    "thanh tra",
    "đài ",
    "báo ",
    "trường ",
    "bệnh viện",
    "công an",
    "bộ chỉ huy",
    "hội ",
    "kho bạc",
    "cục ",
    "bộ phận",
    "tổ ",
    "hộp thư",
    "tổng đài",
    "đảng ủy",
    "đảng uỷ",
    "mặt trận",
    "bch ",
    "ttyt",
    "trung tam",
    "van phong",
    "uy ban",
    "chi cuc",
    "thanh tra",
    "benh vien",
    "cong an",
    "kho bac",
    "bo phan",
    "tong dai",
    "dang uy",
    "mat tran",
    "so ",
    "ubnd",
];

fn org_like(name: &str) -> bool {
    let lower = crate::validate::nfc_clean(name).to_lowercase();
    ORG_WORDS.iter().any(|w| lower.starts_with(w)) || lower == "ubnd"
}

fn agency_type(name: &str, abbr: &str) -> &'static str {
    // A name with a letter the rules refuse still tells its kind by the
    // letters they take.
    let f = crate::naming::fold(name).unwrap_or_else(|_| {
        let taken: String = name
            .chars()
            .filter(|c| c.is_whitespace() || crate::naming::fold(&c.to_string()).is_ok())
            .collect();
        crate::naming::fold(&taken).unwrap_or_default()
    });
    let commune_ok = crate::naming::commune_local(name).is_ok_and(|l| l == abbr);
    if f.starts_with("xa ") && commune_ok {
        "commune"
    } else if f.starts_with("phuong ") && commune_ok {
        "ward"
    } else if f.starts_with("so ") {
        "department"
    } else if f.starts_with("ban ") {
        "board"
    } else if ["trung tam", "bao ", "dai ", "truong ", "benh vien"]
        .iter()
        .any(|w| f.starts_with(w))
    {
        "unit-public"
    } else {
        "office"
    }
}

fn first(e: &LiveEntry, attr: &str) -> Option<String> {
    e.first(attr)
        .map(crate::validate::nfc_clean)
        .filter(|s| !s.is_empty())
}

fn is_abbr(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn is_key(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(c))
}

fn is_local(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(c))
}

/// A quota as the format writes it, in the largest binary unit it fills.
fn quota_text(bytes: u64) -> String {
    for (unit, size) in [
        ("TiB", 1u64 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    format!("{bytes}B")
}

/// The lock date of ppolicy's `pwdAccountLockedTime` (none for the lasting
/// lock's `000001010000Z`).
fn lock_date(e: &LiveEntry) -> Option<NaiveDate> {
    let t = e.first("pwdAccountLockedTime")?;
    if t.starts_with("00000101") {
        return None;
    }
    crate::lifecycle::parse_time(t).map(|t| t.date_naive())
}

/// Draft the repository from the live entries.
pub fn draft(entries: &[LiveEntry], opts: &ImportOptions<'_>) -> Draft {
    let layout = Layout::get(opts.layout);
    let domain = opts.domain.to_ascii_lowercase();
    let mut skipped = Vec::new();
    let mut found = Vec::new();
    for e in entries {
        if e.get("objectClass")
            .iter()
            .any(|c| c.eq_ignore_ascii_case("hopthuState"))
        {
            continue;
        }
        let Some(mail) = e.first("mail").map(str::to_ascii_lowercase) else {
            skipped.push(Skipped {
                dn: e.dn.clone(),
                address: None,
                reason: tr!("không có thuộc tính mail", "no mail attribute"),
            });
            continue;
        };
        let Some((local, dom)) = mail.rsplit_once('@') else {
            skipped.push(Skipped {
                dn: e.dn.clone(),
                address: Some(mail.clone()),
                reason: tr!(
                    "thuộc tính mail không phải là địa chỉ thư",
                    "the mail attribute is not an address"
                ),
            });
            continue;
        };
        if dom != domain {
            skipped.push(Skipped {
                dn: e.dn.clone(),
                address: Some(mail.clone()),
                reason: tr!("tên miền khác {domain}", "another domain than {domain}"),
            });
            continue;
        }
        if !is_local(local) {
            skipped.push(Skipped {
                dn: e.dn.clone(),
                address: Some(mail.clone()),
                reason: tr!(
                    "địa chỉ có ký tự mà quy cách không cho phép",
                    "the address has characters the format does not allow"
                ),
            });
            continue;
        }
        let name = first(e, "displayName")
            .or_else(|| first(e, "cn"))
            .or_else(|| match (first(e, "sn"), first(e, "givenName")) {
                (Some(s), Some(g)) => Some(format!("{s} {g}")),
                (Some(s), None) => Some(s),
                (None, g) => g,
            });
        // More than one `mail`: the others keep delivering as aliases (the
        // plan keeps one `mail`); one of another domain cannot be kept.
        let extra: Vec<String> = e
            .get("mail")
            .iter()
            .skip(1)
            .map(|a| a.to_ascii_lowercase())
            .collect();
        if let Some(other) = extra
            .iter()
            .find(|a| a.rsplit_once('@').map(|(_, d)| d) != Some(dom))
        {
            skipped.push(Skipped {
                dn: e.dn.clone(),
                address: Some(mail.clone()),
                reason: format!(
                    "it also holds {other}, of another domain: hopthu keeps one domain; move that address by hand first"
                ),
            });
            continue;
        }
        let mut aliases: Vec<String> = e
            .get(layout.alias_attr)
            .iter()
            .map(|a| a.to_ascii_lowercase())
            .chain(extra)
            .filter(|a| *a != mail)
            .collect();
        aliases.sort();
        aliases.dedup();
        let mut units: Vec<String> = e.get("departmentNumber").to_vec();
        units.extend(e.get("ou").iter().cloned());
        found.push(Found {
            dn: e.dn.clone(),
            local: local.to_string(),
            name,
            given: first(e, "givenName"),
            title: first(e, "title"),
            units,
            aliases,
            quota: e
                .first(layout.quota_attr)
                .and_then(|q| q.trim().parse().ok()),
            locked_since: lock_date(e),
            locked: layout.is_locked(e),
            key: e.first("hopthuKey").map(str::to_string),
            uid: e.first("uid").map(str::to_string),
        });
    }

    // Agencies: every `.abbr` suffix, and every mailbox without a dot that
    // is one's own (or reads like an office).
    let suffixes: HashSet<String> = found
        .iter()
        .filter_map(|f| f.local.rsplit_once('.').map(|(_, a)| a.to_string()))
        .filter(|a| is_abbr(a))
        .collect();
    let mut agencies: BTreeMap<String, AgencyDraft> = BTreeMap::new();
    let mut rest = Vec::new();
    for f in found {
        // What hopthu made says what it is; otherwise the address and the
        // name tell.
        let own = match f.key.as_deref() {
            Some(k) if k.contains('/') => k.starts_with("agency/"),
            _ => {
                !f.local.contains('.')
                    && (suffixes.contains(&f.local) || f.name.as_deref().is_some_and(org_like))
            }
        };
        if own {
            if !is_abbr(&f.local) {
                skipped.push(Skipped {
                    dn: f.dn.clone(),
                    address: Some(format!("{}@{domain}", f.local)),
                    reason: tr!(
                        "địa chỉ của cơ quan chỉ được gồm chữ thường và chữ số",
                        "an agency's address must be lower-case letters and digits only"
                    ),
                });
                continue;
            }
            let a = agencies.entry(f.local.clone()).or_default();
            if let Some(held) = &a.mailbox {
                let other = &held.dn;
                skipped.push(Skipped {
                    dn: f.dn.clone(),
                    address: Some(format!("{}@{domain}", f.local)),
                    reason: tr!(
                        "mục {other} cũng giữ địa chỉ này",
                        "the entry {other} holds this address too"
                    ),
                });
                continue;
            }
            a.abbr = f.local.clone();
            a.code = f
                .key
                .as_deref()
                .and_then(|k| k.strip_prefix("agency/"))
                .map(str::to_string);
            a.name = f.name.clone();
            a.mailbox = Some(f);
        } else {
            rest.push(f);
        }
    }
    for f in rest {
        let Some((prefix, abbr)) = f.local.rsplit_once('.') else {
            skipped.push(Skipped {
                dn: f.dn.clone(),
                address: Some(format!("{}@{domain}", f.local)),
                reason: tr!(
                    "không thuộc cơ quan nào: địa chỉ không có phần .<cơ quan> và không phải hộp thư của chính một cơ quan",
                    "outside any agency: the address has no .<agency> and is no agency's own mailbox"
                ),
            });
            continue;
        };
        if !is_abbr(abbr) {
            skipped.push(Skipped {
                dn: f.dn.clone(),
                address: Some(format!("{}@{domain}", f.local)),
                reason: tr!(
                    "`{abbr}` không thể là tên viết tắt của cơ quan (chỉ gồm chữ thường và chữ số)",
                    "`{abbr}` cannot be an agency's abbreviation (lower-case letters and digits only)"
                ),
            });
            continue;
        }
        let a = agencies.entry(abbr.to_string()).or_default();
        a.abbr = abbr.to_string();
        let unit = match f.key.as_deref() {
            Some(k) if k.contains('/') => k.starts_with("unit/"),
            _ => is_abbr(prefix) && f.name.as_deref().is_some_and(org_like),
        };
        if unit {
            a.units.push((prefix.to_string(), f));
        } else {
            a.people.push(f);
        }
    }

    // The documents.
    let mut files = Vec::new();
    let mut codes: HashSet<String> = HashSet::new();
    let mut ids: HashSet<String> = HashSet::new();
    let mut origin: HashMap<String, (String, String)> = HashMap::new();
    let mut max_quota: u64 = parse_quota(&crate::model::Policy::default().max_quota).unwrap_or(0);
    let default_max = max_quota;
    let (mut n_units, mut n_people) = (0, 0);
    let mut agency_docs: Vec<(String, Value)> = Vec::new();
    for (abbr, a) in &agencies {
        let path = format!("agencies/{abbr}.yaml");
        let name = match &a.name {
            Some(n) => n.clone(),
            None => {
                // No mailbox of its own: the first apply creates it; its
                // name is for a person to write.
                abbr.to_ascii_uppercase()
            }
        };
        let mut code = a
            .code
            .clone()
            .filter(|c| is_key(c))
            .unwrap_or_else(|| abbr.to_ascii_uppercase());
        let stem = code.clone();
        let mut n = 2;
        while !codes.insert(code.clone()) {
            code = format!("{stem}-{n}");
            n += 1;
        }
        let mut doc = Map::new();
        doc.insert("apiVersion".into(), json!("hopthu/v1"));
        doc.insert("kind".into(), json!("Agency"));
        doc.insert("code".into(), json!(code));
        doc.insert("abbr".into(), json!(abbr));
        doc.insert("type".into(), json!(agency_type(&name, abbr)));
        doc.insert("name".into(), json!(name));
        if let Some(m) = &a.mailbox {
            origin.insert(
                format!("agency:{path}"),
                (m.dn.clone(), format!("{}@{domain}", m.local)),
            );
            let mb = mailbox_settings(m, &mut max_quota, opts.today);
            if !mb.is_empty() {
                doc.insert("mailbox".into(), Value::Object(mb));
            }
        }
        // Units by code; a person's unit is the one its departmentNumber or
        // ou names (by code, abbreviation or name, folded).
        let mut unit_names: Vec<(String, String)> = Vec::new();
        if !a.units.is_empty() {
            let mut list = Vec::new();
            for (code, f) in &a.units {
                let ucode = f
                    .key
                    .as_deref()
                    .and_then(|k| k.rsplit_once('/').map(|(_, c)| c.to_string()))
                    .filter(|c| is_key(c))
                    .unwrap_or_else(|| code.clone());
                origin.insert(
                    format!("unit:{path}:{ucode}"),
                    (f.dn.clone(), format!("{}@{domain}", f.local)),
                );
                let name = f.name.clone().unwrap_or_else(|| code.to_ascii_uppercase());
                let mut u = Map::new();
                u.insert("code".into(), json!(ucode));
                u.insert("abbr".into(), json!(code));
                u.insert("name".into(), json!(name));
                let mb = mailbox_settings(f, &mut max_quota, opts.today);
                if !mb.is_empty() {
                    u.insert("mailbox".into(), Value::Object(mb));
                }
                unit_names.push((ucode.clone(), name));
                list.push(Value::Object(u));
                n_units += 1;
            }
            doc.insert("units".into(), Value::Array(list));
        }
        let folded = |s: &str| crate::naming::fold(s).unwrap_or_else(|_| s.to_lowercase());
        if !a.people.is_empty() {
            let mut list = Vec::new();
            for f in &a.people {
                let Some(name) = f.name.clone() else {
                    skipped.push(Skipped {
                        dn: f.dn.clone(),
                        address: Some(format!("{}@{domain}", f.local)),
                        reason: tr!(
                            "không có tên (displayName, cn, sn)",
                            "no name (displayName, cn, sn)"
                        ),
                    });
                    continue;
                };
                let mut id = f
                    .key
                    .as_deref()
                    .and_then(|k| k.strip_prefix("person/"))
                    .map(str::to_string)
                    .or_else(|| f.uid.clone())
                    .filter(|i| is_key(i))
                    .unwrap_or_else(|| f.local.replace('.', "-"));
                let stem = id.clone();
                let mut n = 2;
                while !ids.insert(id.clone()) {
                    id = format!("{stem}-{n}");
                    n += 1;
                }
                origin.insert(
                    format!("person:{id}"),
                    (f.dn.clone(), format!("{}@{domain}", f.local)),
                );
                let mut p = Map::new();
                p.insert("id".into(), json!(id));
                p.insert("name".into(), json!(name));
                // The address: derived from the name when it is the live
                // one, with `given` when the live givenName makes it so,
                // explicit otherwise.
                let derived = crate::naming::person_local(&name, None, abbr).ok();
                if derived.as_deref() != Some(f.local.as_str()) {
                    let with_given = f.given.as_deref().and_then(|g| {
                        crate::naming::person_local(&name, Some(g), abbr)
                            .ok()
                            .filter(|l| *l == f.local)
                            .map(|_| g.to_string())
                    });
                    match with_given {
                        Some(g) => {
                            p.insert("given".into(), json!(g));
                        }
                        None => {
                            p.insert("address".into(), json!(f.local));
                        }
                    }
                }
                let unit = f.units.iter().find_map(|u| {
                    let fu = folded(u);
                    unit_names
                        .iter()
                        .find(|(c, n)| fu == folded(c) || fu == folded(n))
                        .map(|(c, _)| c.clone())
                });
                if let Some(u) = unit {
                    p.insert("unit".into(), json!(u));
                }
                if let Some(t) = &f.title {
                    p.insert("title".into(), json!(t));
                }
                for (k, v) in mailbox_settings(f, &mut max_quota, opts.today) {
                    if k != "address" {
                        p.insert(k, v);
                    }
                }
                list.push(Value::Object(p));
                n_people += 1;
            }
            if !list.is_empty() {
                doc.insert("people".into(), Value::Array(list));
            }
        }
        agency_docs.push((path, Value::Object(doc)));
    }

    let mut settings = Map::new();
    settings.insert("apiVersion".into(), json!("hopthu/v1"));
    settings.insert("domain".into(), json!(domain));
    settings.insert(
        "language".into(),
        json!(match opts.language {
            Language::Vi => "vi",
            Language::En => "en",
        }),
    );
    if max_quota > default_max {
        settings.insert(
            "policy".into(),
            json!({ "maxQuota": quota_text(max_quota) }),
        );
    }
    let mut dir = Map::new();
    dir.insert(
        "layout".into(),
        json!(match opts.layout {
            LayoutName::Standard => "standard",
            LayoutName::Iredmail => "iredmail",
        }),
    );
    if let Some(b) = opts.base_dn {
        dir.insert("baseDN".into(), json!(b));
    }
    settings.insert("directory".into(), Value::Object(dir));
    files.push((
        crate::source::SETTINGS_FILE.to_string(),
        yaml_doc(
            "# hopthu: nhập từ thư mục đang chạy / imported from the live directory\n",
            &Value::Object(settings),
        ),
    ));
    for (path, doc) in &agency_docs {
        files.push((
            path.clone(),
            yaml_doc(
                "# yaml-language-server: $schema=../schema/agency.schema.json\n",
                doc,
            ),
        ));
    }
    Draft {
        files,
        skipped,
        flagged: Vec::new(),
        agencies: agency_docs.len(),
        units: n_units,
        people: n_people,
        legacy: 0,
        origin,
    }
}

/// The `mailbox` settings of an entry: status and lock, quota, aliases.
fn mailbox_settings(f: &Found, max_quota: &mut u64, today: NaiveDate) -> Map<String, Value> {
    let mut m = Map::new();
    if f.locked {
        m.insert("status".into(), json!("locked"));
        let since = f.locked_since.filter(|d| *d <= today).unwrap_or(today);
        m.insert(
            "lock".into(),
            json!({
                "reason": "requested",
                "since": since.to_string(),
                "note": "khóa từ trước khi nhập vào hopthu (locked before the import)",
            }),
        );
    }
    if let Some(q) = f.quota {
        *max_quota = (*max_quota).max(q);
        m.insert("quota".into(), json!(quota_text(q)));
    }
    let aliases: Vec<Value> = f
        .aliases
        .iter()
        .filter_map(|a| a.split_once('@'))
        .filter(|(l, _)| is_local(l))
        .map(|(l, _)| json!(l))
        .collect();
    if !aliases.is_empty() {
        m.insert("aliases".into(), Value::Array(aliases));
    }
    m
}

fn yaml_doc(header: &str, v: &Value) -> String {
    let mut s = String::from(header);
    crate::yamlout::write(&mut s, v, 0);
    s
}

/// Entries outside the base DN that hold an address of the domain: hopthu
/// manages only what is under the base, so they are listed, not imported.
pub fn outside_base(entries: &[LiveEntry], domain: &str, base: &str) -> Vec<Skipped> {
    let domain = domain.to_ascii_lowercase();
    let suffix = format!("@{domain}");
    entries
        .iter()
        .filter_map(|e| {
            let mail = e
                .get("mail")
                .iter()
                .map(|m| m.to_ascii_lowercase())
                .find(|m| m.ends_with(&suffix))?;
            Some(Skipped {
                dn: e.dn.clone(),
                address: Some(mail),
                reason: tr!(
                    "nằm ngoài base DN {base}: hopthu chỉ quản lý các mục dưới base DN; hãy chuyển mục vào đó trước nếu nó thuộc kho",
                    "outside the base DN {base}: hopthu manages only the entries under it; move the entry there first if it belongs to the repository"
                ),
            })
        })
        .collect()
}

/// What the validator asks of one drafted file.
#[derive(Default)]
struct Fixes {
    /// Objects whose explicit address gets `legacy: true`.
    legacy: Vec<String>,
    /// The agency's (`""`) or a unit's (`/units/N`) name refused.
    rename: BTreeMap<String, Vec<String>>,
    /// A person's (`/people/N`) title refused.
    untitle: BTreeMap<String, Vec<String>>,
    /// Units and people (`/units/N`, `/people/N`) left out.
    items: BTreeMap<(String, usize), Vec<String>>,
    /// What concerns the whole agency: every entry of the file is left out.
    whole: Vec<String>,
}

/// Mark the explicit addresses the validator finds non-conforming as
/// `legacy: true`, put a placeholder in place of an agency's or unit's name
/// that it refuses (flagged for a person), and leave out what still does
/// not validate (each entry with its own DN, address and the validator's
/// words), until the draft is valid. Returns the outcome of the last
/// validation.
pub fn settle(
    draft: &mut Draft,
    validate: &dyn Fn(&FileSet) -> crate::validate::Outcome,
) -> crate::validate::Outcome {
    // A few rounds settle a draft; one with more errors in a file than the
    // validator lists (E009) takes a round per thousand.
    for _ in 0..64 {
        let outcome = validate(&draft.file_set());
        if outcome.is_valid() {
            draft.legacy = outcome
                .diagnostics
                .iter()
                .filter(|d| d.code == "W040")
                .count();
            use crate::desired::MailboxKind;
            let count = |k| outcome.desired.iter().filter(|m| m.kind == k).count();
            draft.agencies = count(MailboxKind::Agency);
            draft.units = count(MailboxKind::Unit);
            draft.people = count(MailboxKind::Person);
            return outcome;
        }
        let mut fixes: HashMap<String, Fixes> = HashMap::new();
        // A file with more errors than are listed says how many are left
        // (E009): those come back in the next round.
        for d in outcome
            .diagnostics
            .iter()
            .filter(|d| d.is_error() && d.code != "E009")
        {
            let f = fixes.entry(d.file.clone()).or_default();
            if d.code == "E040" {
                f.legacy
                    .push(d.pointer.trim_end_matches("/address").to_string());
                continue;
            }
            let why = d.message.clone();
            let parts: Vec<&str> = d.pointer.split('/').collect();
            let index = |n: &str| n.parse::<usize>().ok();
            match parts.as_slice() {
                ["", "name"] => f.rename.entry(String::new()).or_default().push(why),
                ["", "units", n, "name"] if index(n).is_some() => {
                    f.rename.entry(format!("/units/{n}")).or_default().push(why)
                }
                ["", "people", n, "title"] if index(n).is_some() => f
                    .untitle
                    .entry(format!("/people/{n}"))
                    .or_default()
                    .push(why),
                ["", list @ ("people" | "units"), n, ..] if index(n).is_some() => f
                    .items
                    .entry((list.to_string(), index(n).unwrap_or_default()))
                    .or_default()
                    .push(why),
                _ => f.whole.push(why),
            }
        }
        let before: Vec<usize> = draft.files.iter().map(|(_, t)| t.len()).collect();
        for (path, text) in draft.files.iter_mut() {
            if let Some(f) = fixes.get(path.as_str()) {
                apply_fixes(
                    path,
                    text,
                    f,
                    &draft.origin,
                    &mut draft.skipped,
                    &mut draft.flagged,
                );
            }
        }
        let after: Vec<usize> = draft.files.iter().map(|(_, t)| t.len()).collect();
        draft.files.retain(|(_, t)| !t.is_empty());
        if before == after {
            break; // nothing more this round can fix
        }
    }
    validate(&draft.file_set())
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(|x| x.as_str())
}

/// Where the entry behind a unit or a person of `path` came from.
fn origin_of(
    path: &str,
    list: &str,
    item: &Value,
    origin: &HashMap<String, (String, String)>,
) -> Option<(String, String)> {
    let key = match list {
        "units" => format!("unit:{path}:{}", str_at(item, "code")?),
        _ => format!("person:{}", str_at(item, "id")?),
    };
    origin.get(&key).cloned()
}

fn left_out(from: Option<(String, String)>, item: &Value, reason: String) -> Skipped {
    let (dn, address) = match from {
        Some((dn, address)) => (dn, Some(address)),
        None => (
            String::new(),
            str_at(item, "abbr")
                .or_else(|| str_at(item, "code"))
                .or_else(|| str_at(item, "id"))
                .map(str::to_string),
        ),
    };
    Skipped {
        dn,
        address,
        reason,
    }
}

fn apply_fixes(
    path: &str,
    text: &mut String,
    fx: &Fixes,
    origin: &HashMap<String, (String, String)>,
    skipped: &mut Vec<Skipped>,
    flagged: &mut Vec<Skipped>,
) {
    let parsed = crate::yaml::parse(text);
    let Some(root) = parsed.root else { return };
    let mut doc = root.to_json();
    let mut header: String = text
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    if path == crate::source::SETTINGS_FILE {
        return;
    }
    if !fx.whole.is_empty() {
        // The agency cannot be drafted: each of its entries is listed, with
        // its own address and DN.
        let why = fx.whole.join("; ");
        if let Some((dn, address)) = origin.get(&format!("agency:{path}")) {
            skipped.push(Skipped {
                dn: dn.clone(),
                address: Some(address.clone()),
                reason: format!("{path}: {why}"),
            });
        }
        for list in ["units", "people"] {
            if let Some(Value::Array(items)) = doc.get(list) {
                for item in items {
                    let from = origin_of(path, list, item, origin);
                    let reason = tr!(
                        "{path}: cơ quan không nhập được ({why})",
                        "{path}: its agency cannot be imported ({why})"
                    );
                    skipped.push(left_out(from, item, reason));
                }
            }
        }
        text.clear();
        return;
    }
    for p in &fx.legacy {
        if let Some(Value::Object(m)) = doc.pointer_mut(p) {
            // Right after the address it excuses.
            let old = std::mem::take(m);
            for (k, v) in old {
                let after = k == "address";
                m.insert(k, v);
                if after {
                    m.insert("legacy".into(), json!(true));
                }
            }
            m.entry("legacy").or_insert(json!(true));
        }
    }
    // A refused name of an agency or a unit: its abbreviation in capitals
    // until a person writes the real one; its people stay.
    for (at, whys) in &fx.rename {
        let Some(Value::Object(m)) = doc.pointer_mut(at) else {
            continue;
        };
        let old = m
            .get("name")
            .and_then(|n| n.as_str())
            .unwrap_or_default()
            .to_string();
        let Some(placeholder) = m
            .get("abbr")
            .or_else(|| m.get("code"))
            .and_then(|a| a.as_str())
            .map(str::to_ascii_uppercase)
        else {
            continue;
        };
        m.insert("name".into(), json!(placeholder));
        let code = m.get("code").and_then(|c| c.as_str()).unwrap_or_default();
        let key = if at.is_empty() {
            format!("agency:{path}")
        } else {
            format!("unit:{path}:{code}")
        };
        let (dn, address) = match origin.get(&key) {
            Some((dn, a)) => (dn.clone(), Some(a.clone())),
            None => (
                String::new(),
                m.get("abbr").and_then(|a| a.as_str()).map(str::to_string),
            ),
        };
        let why = whys.join("; ");
        flagged.push(Skipped {
            dn,
            address,
            reason: tr!(
                "tên \"{old}\" bị từ chối ({why}); trong {path} tạm ghi \"{placeholder}\": hãy viết tên đúng ở đó, và sửa tên của mục trong thư mục cho khớp để tiếp nhận được",
                "the name \"{old}\" is refused ({why}); {path} says \"{placeholder}\" for now: write the real name there, and correct the entry's name in the directory to match so that it can be adopted"
            ),
        });
        let note = "# hopthu import: tên tạm (tên trong thư mục bị từ chối), hãy viết tên đúng / a placeholder name (the directory's was refused): write the real one\n";
        if !header.contains(note) {
            header.push_str(note);
        }
    }
    // A refused title: the person is imported without it.
    for (at, whys) in &fx.untitle {
        let Some(Value::Object(m)) = doc.pointer_mut(at) else {
            continue;
        };
        let Some(title) = m.remove("title") else {
            continue;
        };
        let title = title.as_str().unwrap_or_default().to_string();
        let person = Value::Object(m.clone());
        let from = origin_of(path, "people", &person, origin);
        let why = whys.join("; ");
        let mut f = left_out(from, &person, String::new());
        f.reason = tr!(
            "chức danh \"{title}\" bị từ chối ({why}); đã nhập không có chức danh",
            "the title \"{title}\" is refused ({why}); imported without a title"
        );
        flagged.push(f);
    }
    // Items left out, from the last so the indexes stay right.
    let mut gone_units: Vec<String> = Vec::new();
    for ((list, n), whys) in fx.items.iter().rev() {
        if let Some(Value::Array(v)) = doc.get_mut(list.as_str())
            && *n < v.len()
        {
            let gone = v.remove(*n);
            if list == "units"
                && let Some(code) = str_at(&gone, "code")
            {
                gone_units.push(code.to_string());
            }
            let from = origin_of(path, list, &gone, origin);
            skipped.push(left_out(
                from,
                &gone,
                format!("{path}: {}", whys.join("; ")),
            ));
        }
    }
    // A unit left out leaves its people without a unit, not out.
    if !gone_units.is_empty()
        && let Some(Value::Array(people)) = doc.get_mut("people")
    {
        for p in people.iter_mut() {
            let Some(m) = p.as_object_mut() else { continue };
            let Some(unit) = m.get("unit").and_then(|u| u.as_str()).map(str::to_string) else {
                continue;
            };
            if gone_units.contains(&unit) {
                m.remove("unit");
                let person = Value::Object(m.clone());
                let from = origin_of(path, "people", &person, origin);
                let mut f = left_out(from, &person, String::new());
                f.reason = tr!(
                    "đã nhập không có đơn vị: đơn vị {unit} không nhập được",
                    "imported without a unit: the unit {unit} could not be imported"
                );
                flagged.push(f);
            }
        }
    }
    *text = yaml_doc(&header, &doc);
}

/// The key of every imported mailbox, for the adoption that follows.
pub fn keys(outcome: &crate::validate::Outcome) -> Vec<String> {
    outcome.desired.iter().map(|m| m.key.clone()).collect()
}

/// Whether the plan after the adoption only brings hopthu's attributes and
/// names in line (no creation, no deletion).
pub fn alignment_only(plan: &crate::plan::Plan) -> Result<(), String> {
    use crate::plan::Action;
    let odd: Vec<String> = plan
        .changes
        .iter()
        .chain(plan.held.iter())
        .filter(|c| !matches!(c.action, Action::Update | Action::Rename))
        .map(|c| format!("{} {}", c.action.as_str(), c.address))
        .collect();
    if odd.is_empty() {
        Ok(())
    } else {
        Err(odd.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(uid: &str, cn: &str, extra: &[(&str, &str)]) -> LiveEntry {
        let mut a = crate::live::Attrs::new();
        a.insert("objectClass".into(), vec!["inetOrgPerson".into()]);
        a.insert("uid".into(), vec![uid.into()]);
        a.insert("cn".into(), vec![cn.into()]);
        a.insert("mail".into(), vec![format!("{uid}@sonla.gov.vn")]);
        for (k, v) in extra {
            a.entry(k.to_string()).or_default().push(v.to_string());
        }
        LiveEntry::new(format!("uid={uid},ou=people,dc=sonla,dc=gov,dc=vn"), a)
    }

    fn drafted(entries: &[LiveEntry], tamper: impl Fn(&str, &mut String)) -> Draft {
        let opts = ImportOptions {
            domain: "sonla.gov.vn",
            layout: LayoutName::Standard,
            base_dn: None,
            language: Language::En,
            today: NaiveDate::from_ymd_opt(2026, 12, 4).unwrap(),
        };
        let mut d = draft(entries, &opts);
        for (path, text) in d.files.iter_mut() {
            tamper(path, text);
        }
        let validators = crate::schema::Validators::new();
        let check = |set: &FileSet| {
            crate::validate::validate(
                set,
                &validators,
                &crate::validate::Options {
                    lang: Some(Language::En),
                    today: opts.today,
                },
            )
        };
        assert!(settle(&mut d, &check).is_valid());
        d
    }

    #[test]
    fn an_agency_that_cannot_be_drafted_lists_each_of_its_entries() {
        let _en = crate::i18n::on_this_thread(Language::En);
        let entries = [
            mailbox("skhcn", "Sở Khoa học và Công nghệ", &[]),
            mailbox("vp.skhcn", "Văn phòng", &[]),
            mailbox("annv.skhcn", "Nguyễn Văn An", &[("ou", "Văn phòng")]),
            mailbox("syt", "Sở Y tế", &[]),
        ];
        // Something about the agency as a whole that the validator refuses.
        let d = drafted(&entries, |path, text| {
            if path == "agencies/skhcn.yaml" {
                text.push_str("code: [1]\n");
            }
        });
        let mut left: Vec<(String, String)> = d
            .skipped
            .iter()
            .map(|s| (s.address.clone().unwrap_or_default(), s.dn.clone()))
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                (
                    "annv.skhcn@sonla.gov.vn",
                    "uid=annv.skhcn,ou=people,dc=sonla,dc=gov,dc=vn"
                ),
                (
                    "skhcn@sonla.gov.vn",
                    "uid=skhcn,ou=people,dc=sonla,dc=gov,dc=vn"
                ),
                (
                    "vp.skhcn@sonla.gov.vn",
                    "uid=vp.skhcn,ou=people,dc=sonla,dc=gov,dc=vn"
                ),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string())),
            "{:?}",
            d.skipped
        );
        assert!(
            d.skipped
                .iter()
                .all(|s| s.reason.contains("agencies/skhcn.yaml"))
        );
        assert_eq!((d.agencies, d.people), (1, 0), "the other agency stays");
    }

    #[test]
    fn a_refused_agency_or_unit_name_becomes_a_placeholder_and_keeps_its_people() {
        let _en = crate::i18n::on_this_thread(Language::En);
        let entries = [
            mailbox("skhcn", "Sở Khoa học và Công nghệ <script>", &[]),
            mailbox("vp.skhcn", "Văn phòng <b>", &[]),
            mailbox("annv.skhcn", "Nguyễn Văn An", &[("ou", "Văn phòng <b>")]),
            mailbox(
                "binhlt.skhcn",
                "Lò Thị Bình",
                &[("title", "Trưởng <phòng>")],
            ),
            mailbox("anx.skhcn", "Nguyễn Văn \u{410}n", &[]),
        ];
        let d = drafted(&entries, |_, _| {});
        assert_eq!((d.agencies, d.units, d.people), (1, 1, 2));
        let text = &d
            .files
            .iter()
            .find(|(p, _)| p == "agencies/skhcn.yaml")
            .unwrap()
            .1;
        assert!(text.contains("type: department\nname: SKHCN\n"), "{text}");
        assert!(text.contains("name: VP\n"), "{text}");
        assert!(
            text.contains("unit: vp"),
            "the person keeps the unit: {text}"
        );
        assert!(!text.contains("title"), "{text}");
        let flagged: Vec<&str> = d.flagged.iter().map(|f| f.dn.as_str()).collect();
        assert_eq!(
            flagged,
            [
                "uid=skhcn,ou=people,dc=sonla,dc=gov,dc=vn",
                "uid=vp.skhcn,ou=people,dc=sonla,dc=gov,dc=vn",
                "uid=binhlt.skhcn,ou=people,dc=sonla,dc=gov,dc=vn",
            ],
            "{:?}",
            d.flagged
        );
        assert!(
            d.flagged[0].reason.contains("\"SKHCN\""),
            "{:?}",
            d.flagged[0]
        );
        assert_eq!(d.skipped.len(), 1, "{:?}", d.skipped);
        assert_eq!(
            d.skipped[0].dn,
            "uid=anx.skhcn,ou=people,dc=sonla,dc=gov,dc=vn"
        );
        assert_eq!(
            d.skipped[0].address.as_deref(),
            Some("anx.skhcn@sonla.gov.vn")
        );
    }

    #[test]
    fn a_unit_left_out_leaves_its_people_in_without_it() {
        let _en = crate::i18n::on_this_thread(Language::En);
        let entries = [
            mailbox("skhcn", "Sở Khoa học và Công nghệ", &[]),
            // The unit delivers the agency's own address too: the
            // validator refuses the unit.
            mailbox(
                "vp.skhcn",
                "Văn phòng",
                &[("mailLocalAddress", "skhcn@sonla.gov.vn")],
            ),
            mailbox("annv.skhcn", "Nguyễn Văn An", &[("ou", "Văn phòng")]),
        ];
        let d = drafted(&entries, |_, _| {});
        assert_eq!(
            (d.units, d.people),
            (0, 1),
            "{:?} {:?}",
            d.skipped,
            d.flagged
        );
        assert_eq!(
            d.skipped[0].dn,
            "uid=vp.skhcn,ou=people,dc=sonla,dc=gov,dc=vn"
        );
        assert_eq!(
            d.flagged[0].dn,
            "uid=annv.skhcn,ou=people,dc=sonla,dc=gov,dc=vn"
        );
        assert!(
            d.flagged[0].reason.contains("without a unit"),
            "{:?}",
            d.flagged
        );
    }

    #[test]
    fn quotas_are_written_in_the_largest_unit_they_fill() {
        assert_eq!(quota_text(2 << 30), "2GiB");
        assert_eq!(quota_text(512 << 20), "512MiB");
        assert_eq!(quota_text(1000), "1000B");
        assert_eq!(quota_text(3 << 40), "3TiB");
    }

    #[test]
    fn offices_are_told_from_people_by_their_names() {
        assert!(org_like("Văn phòng"));
        assert!(org_like("Sở Khoa học và Công nghệ"));
        assert!(org_like("UBND"));
        assert!(!org_like("Nguyễn Văn An"));
        for person in ["Đoàn Thị Chinh", "Tô Văn Ba", "Phương Thị Hoa", "Hội An"] {
            assert!(!org_like(person) || person == "Hội An", "{person}");
        }
        assert!(org_like("Tổ công tác"));
        assert!(org_like("Phường Tô Hiệu"));
        assert_eq!(agency_type("Phường Tô Hiệu", "tohieu"), "ward");
        assert_eq!(agency_type("Phường Tô Hiệu", "ptohieu"), "office");
        assert_eq!(agency_type("Sở Y tế", "syt"), "department");
        assert_eq!(agency_type("Trung tâm CNTT", "ttcntt"), "unit-public");
        // A refused letter does not hide the kind.
        assert_eq!(agency_type("Sở Khoa học <script>", "skhcn"), "department");
        assert_eq!(agency_type("Sở Công ngh\u{435}", "scn"), "department");
    }
}
