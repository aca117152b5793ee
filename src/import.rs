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
//! do not conform. What cannot be placed (another domain, no agency, a name
//! with letters the rules refuse) is listed with the reason and left out.
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
    pub skipped: Vec<Skipped>,
    pub agencies: usize,
    pub units: usize,
    pub people: usize,
    pub legacy: usize,
    /// Where each person came from: id -> (DN, address).
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
    let f = crate::naming::fold(name).unwrap_or_default();
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
                origin.insert(id.clone(), (f.dn.clone(), format!("{}@{domain}", f.local)));
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
        agency_docs.push((format!("agencies/{abbr}.yaml"), Value::Object(doc)));
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

/// Mark the explicit addresses the validator finds non-conforming as
/// `legacy: true`, and leave out what still does not validate (with the
/// validator's words), until the draft is valid. Returns the outcome of
/// the last validation.
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
        // By file: pointers to mark legacy, items to leave out.
        let mut legacy: HashMap<String, Vec<String>> = HashMap::new();
        let mut drop: HashMap<String, Vec<(String, String)>> = HashMap::new();
        // A file with more errors than are listed says how many are left
        // (E009): those come back in the next round.
        for d in outcome
            .diagnostics
            .iter()
            .filter(|d| d.is_error() && d.code != "E009")
        {
            if d.code == "E040" {
                legacy
                    .entry(d.file.clone())
                    .or_default()
                    .push(d.pointer.trim_end_matches("/address").to_string());
                continue;
            }
            // The item the pointer is in: /people/N or /units/N; the whole
            // agency file otherwise.
            let parts: Vec<&str> = d.pointer.split('/').collect();
            let item = if parts.len() >= 3 && (parts[1] == "people" || parts[1] == "units") {
                format!("/{}/{}", parts[1], parts[2])
            } else {
                String::new()
            };
            drop.entry(d.file.clone())
                .or_default()
                .push((item, d.message.clone()));
        }
        let before: Vec<usize> = draft.files.iter().map(|(_, t)| t.len()).collect();
        for (path, text) in draft.files.iter_mut() {
            let (Some(l), d) = (legacy.get(path.as_str()), drop.get(path.as_str())) else {
                if let Some(d) = drop.get(path.as_str()) {
                    apply_fixes(path, text, &[], d, &draft.origin, &mut draft.skipped);
                }
                continue;
            };
            apply_fixes(
                path,
                text,
                l,
                d.map(|v| v.as_slice()).unwrap_or(&[]),
                &draft.origin,
                &mut draft.skipped,
            );
        }
        let after: Vec<usize> = draft.files.iter().map(|(_, t)| t.len()).collect();
        draft.files.retain(|(_, t)| !t.is_empty());
        if before == after {
            break; // nothing more this round can fix
        }
    }
    validate(&draft.file_set())
}

fn apply_fixes(
    path: &str,
    text: &mut String,
    legacy: &[String],
    drop: &[(String, String)],
    origin: &HashMap<String, (String, String)>,
    skipped: &mut Vec<Skipped>,
) {
    let parsed = crate::yaml::parse(text);
    let Some(root) = parsed.root else { return };
    let mut doc = root.to_json();
    if drop.iter().any(|(item, _)| item.is_empty()) && path != crate::source::SETTINGS_FILE {
        for (_, why) in drop {
            skipped.push(Skipped {
                dn: String::new(),
                address: doc.get("abbr").and_then(|a| a.as_str()).map(str::to_string),
                reason: format!("{path}: {why}"),
            });
        }
        text.clear();
        return;
    }
    for p in legacy {
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
    // Items left out, from the last so the indexes stay right.
    let mut items: Vec<(&str, usize, &str)> = drop
        .iter()
        .filter_map(|(item, why)| {
            let (list, n) = item.trim_start_matches('/').split_once('/')?;
            Some((list, n.parse().ok()?, why.as_str()))
        })
        .collect();
    items.sort_by(|a, b| (a.0, std::cmp::Reverse(a.1)).cmp(&(b.0, std::cmp::Reverse(b.1))));
    items.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    for (list, n, why) in items {
        if let Some(Value::Array(v)) = doc.get_mut(list)
            && n < v.len()
        {
            let gone = v.remove(n);
            let from = gone
                .get("id")
                .and_then(|i| i.as_str())
                .and_then(|i| origin.get(i));
            skipped.push(Skipped {
                dn: from.map(|(dn, _)| dn.clone()).unwrap_or_default(),
                address: from.map(|(_, a)| a.clone()).or_else(|| {
                    gone.get("abbr")
                        .or_else(|| gone.get("code"))
                        .and_then(|a| a.as_str())
                        .map(str::to_string)
                }),
                reason: format!("{path}: {why}"),
            });
        }
    }
    let header: String = text
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
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
    }
}
