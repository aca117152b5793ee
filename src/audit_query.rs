//! Questions asked of the audit log (`hopthu log`, `hopthu report`): which
//! records concern an address, an agency, a period, an action; and which
//! agency a record belongs to.
//!
//! A record names its mailbox by key (`agency/<code>`, `unit/<code>/<unit>`,
//! `person/<id>`) and by address. The key gives the agency of agency and
//! unit mailboxes; a person's agency comes from the repository when it is
//! given (the person is still declared), otherwise from the address, whose
//! part after the last dot is the agency's abbreviation
//! (`annv.skhcn@...`), or which is the abbreviation itself (`skhcn@...`).

use crate::audit::AuditRecord;
use crate::desired::{DesiredMailbox, MailboxKind};
use crate::model::Language;
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One agency as the repository declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyInfo {
    pub code: String,
    pub abbr: String,
    pub name: String,
    pub former_abbrs: Vec<String>,
}

/// The agencies of a repository, and whose each person is.
#[derive(Debug, Clone, Default)]
pub struct AgencyIndex {
    /// By code.
    pub agencies: BTreeMap<String, AgencyInfo>,
    /// Person id -> agency code.
    persons: BTreeMap<String, String>,
    /// Abbreviation (current or former, lower case) -> agency code.
    abbrs: BTreeMap<String, String>,
}

impl AgencyIndex {
    pub fn new(desired: &[DesiredMailbox]) -> AgencyIndex {
        let mut ix = AgencyIndex::default();
        for m in desired {
            let a = ix
                .agencies
                .entry(m.agency_code.clone())
                .or_insert_with(|| AgencyInfo {
                    code: m.agency_code.clone(),
                    abbr: m.agency_abbr.clone(),
                    name: String::new(),
                    former_abbrs: m.former_abbrs.clone(),
                });
            if m.kind == MailboxKind::Agency {
                a.name = m.display_name.clone();
            }
            if m.kind == MailboxKind::Person
                && let Some(id) = m.key.strip_prefix("person/")
            {
                ix.persons.insert(id.to_string(), m.agency_code.clone());
            }
        }
        // Current abbreviations win over former ones.
        for a in ix.agencies.values() {
            for f in &a.former_abbrs {
                ix.abbrs
                    .entry(f.to_ascii_lowercase())
                    .or_insert(a.code.clone());
            }
        }
        for a in ix.agencies.values() {
            ix.abbrs.insert(a.abbr.to_ascii_lowercase(), a.code.clone());
        }
        ix
    }

    /// The code of the agency named by its code or by an abbreviation
    /// (current or former), compared without regard to case.
    pub fn resolve(&self, name: &str) -> Option<&AgencyInfo> {
        if let Some(a) = self.agencies.get(name) {
            return Some(a);
        }
        if let Some(a) = self
            .agencies
            .values()
            .find(|a| a.code.eq_ignore_ascii_case(name))
        {
            return Some(a);
        }
        self.abbrs
            .get(&name.to_ascii_lowercase())
            .and_then(|c| self.agencies.get(c))
    }

    /// The code of the agency a record belongs to, when it can be told.
    pub fn agency_of(&self, r: &AuditRecord) -> Option<String> {
        if let Some(code) = key_agency(&r.key) {
            return Some(code.to_string());
        }
        if let Some(code) = r
            .key
            .strip_prefix("person/")
            .and_then(|id| self.persons.get(id))
        {
            return Some(code.clone());
        }
        [Some(r.address.as_str()), r.from.as_deref()]
            .into_iter()
            .flatten()
            .filter_map(address_abbr)
            .find_map(|abbr| self.abbrs.get(&abbr).cloned())
    }
}

/// The agency code in an agency's or a unit's key.
pub fn key_agency(key: &str) -> Option<&str> {
    if let Some(code) = key.strip_prefix("agency/") {
        return Some(code);
    }
    key.strip_prefix("unit/")
        .and_then(|rest| rest.split_once('/'))
        .map(|(code, _)| code)
}

/// The agency abbreviation an address carries: the part of the local part
/// after its last dot, or the whole local part. Lower case.
pub fn address_abbr(address: &str) -> Option<String> {
    let local = address.split('@').next()?;
    if local.is_empty() {
        return None;
    }
    let abbr = local.rsplit('.').next().unwrap_or(local);
    Some(abbr.to_ascii_lowercase())
}

/// Which records `hopthu log` shows. Every condition given must hold.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// The address or the former address (of a rename), without regard to
    /// case; a local part alone matches any domain.
    pub address: Option<String>,
    /// An agency code or abbreviation.
    pub agency: Option<String>,
    /// First and last day, inclusive, UTC (the records' days).
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    /// Any of these actions.
    pub actions: Vec<String>,
    /// `ok` or `failed`.
    pub result: Option<String>,
}

/// A filter made ready for many records.
pub struct Matcher<'a> {
    filter: &'a Filter,
    index: Option<&'a AgencyIndex>,
    /// The agency asked for, when the repository knows it.
    agency: Option<&'a AgencyInfo>,
}

impl Filter {
    /// With the repository's agencies (when given), to match persons by
    /// their agency and abbreviations by the agency's code.
    pub fn matcher<'a>(&'a self, index: Option<&'a AgencyIndex>) -> Matcher<'a> {
        let agency = match (&self.agency, index) {
            (Some(a), Some(ix)) => ix.resolve(a),
            _ => None,
        };
        Matcher {
            filter: self,
            index,
            agency,
        }
    }
}

impl Matcher<'_> {
    /// Whether the repository knows the agency asked for (when one is).
    pub fn agency_known(&self) -> bool {
        self.filter.agency.is_none() || self.agency.is_some()
    }

    pub fn matches(&self, r: &AuditRecord) -> bool {
        let f = self.filter;
        if let Some(a) = &f.address {
            let a = a.trim();
            let same = |x: &str| {
                if a.contains('@') {
                    x.eq_ignore_ascii_case(a)
                } else {
                    x.split('@')
                        .next()
                        .is_some_and(|l| l.eq_ignore_ascii_case(a))
                }
            };
            if !(same(&r.address) || r.from.as_deref().is_some_and(same)) {
                return false;
            }
        }
        if (f.since.is_some() || f.until.is_some()) && !in_period(r, f.since, f.until) {
            return false;
        }
        if !f.actions.is_empty() && !f.actions.iter().any(|a| a.eq_ignore_ascii_case(&r.action)) {
            return false;
        }
        if let Some(res) = &f.result
            && !res.eq_ignore_ascii_case(&r.result)
        {
            return false;
        }
        if let Some(wanted) = &f.agency {
            return self.agency_matches(wanted, r);
        }
        true
    }

    fn agency_matches(&self, wanted: &str, r: &AuditRecord) -> bool {
        let abbrs = |r: &AuditRecord| -> Vec<String> {
            [Some(r.address.as_str()), r.from.as_deref()]
                .into_iter()
                .flatten()
                .filter_map(address_abbr)
                .collect()
        };
        match (self.agency, self.index) {
            (Some(a), Some(ix)) => {
                if ix.agency_of(r).as_deref() == Some(a.code.as_str()) {
                    return true;
                }
                // A mailbox no longer declared, or one that moved away.
                let own: Vec<String> = std::iter::once(&a.abbr)
                    .chain(&a.former_abbrs)
                    .map(|s| s.to_ascii_lowercase())
                    .collect();
                key_agency(&r.key).is_none() && abbrs(r).iter().any(|x| own.contains(x))
            }
            _ => {
                key_agency(&r.key).is_some_and(|c| c.eq_ignore_ascii_case(wanted))
                    || abbrs(r).iter().any(|x| x.eq_ignore_ascii_case(wanted))
            }
        }
    }
}

/// Whether the record's day (UTC) is within the period, both ends included.
pub fn in_period(r: &AuditRecord, since: Option<NaiveDate>, until: Option<NaiveDate>) -> bool {
    let Some(day) = r.timestamp().map(|t| t.date_naive()) else {
        return false;
    };
    since.is_none_or(|s| day >= s) && until.is_none_or(|u| day <= u)
}

/// An action as people read it.
pub fn action_word(action: &str, lang: Language) -> String {
    let vi = match action {
        "create" => "tạo mới",
        "rename" => "đổi tên",
        "update" => "cập nhật",
        "lock" => "khóa",
        "unlock" => "mở khóa",
        "delete" => "thu hồi",
        "adopt" => "tiếp nhận",
        "setup" => "khởi tạo",
        other => other,
    };
    match lang {
        Language::Vi => vi.to_string(),
        Language::En => action.to_string(),
    }
}

fn result_word(result: &str, lang: Language) -> &str {
    match (result, lang) {
        ("ok", Language::Vi) => "thành công",
        ("failed", Language::Vi) => "thất bại",
        (other, _) => other,
    }
}

/// Records as an operator reads them: aligned columns, errors below their
/// record, a count at the end.
/// A commit shortened to 12 characters, its `-dirty` mark kept: the
/// files differed from the commit when the action was taken.
fn short_revision(v: &str) -> String {
    let (commit, dirty) = match v.strip_suffix("-dirty") {
        Some(c) => (c, "-dirty"),
        None => (v, ""),
    };
    commit.chars().take(12).collect::<String>() + dirty
}

pub fn render_table(records: &[AuditRecord], lang: Language) -> String {
    let vi = lang == Language::Vi;
    let head: [&str; 7] = if vi {
        [
            "Thời gian (UTC)",
            "Thao tác",
            "Kết quả",
            "Địa chỉ",
            "Địa chỉ cũ",
            "Khóa",
            "Phiên bản",
        ]
    } else {
        [
            "Time (UTC)",
            "Action",
            "Result",
            "Address",
            "Former address",
            "Key",
            "Revision",
        ]
    };
    let rows: Vec<[String; 7]> = records
        .iter()
        .map(|r| {
            [
                r.time.clone(),
                action_word(&r.action, lang),
                result_word(&r.result, lang).to_string(),
                r.address.clone(),
                r.from.clone().unwrap_or_default(),
                r.key.clone(),
                r.revision
                    .as_deref()
                    .map(short_revision)
                    .unwrap_or_default(),
            ]
        })
        .collect();
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain(std::iter::once(head[i].chars().count()))
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..7).map(width).collect();
    let line = |cells: &[String]| -> String {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            s.push_str(c);
            if i + 1 < cells.len() {
                s.extend(std::iter::repeat_n(
                    ' ',
                    widths[i].saturating_sub(c.chars().count()),
                ));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = String::new();
    if !records.is_empty() {
        let h: Vec<String> = head.iter().map(|s| s.to_string()).collect();
        writeln!(out, "{}", line(&h)).ok();
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        writeln!(out, "{}", line(&rule)).ok();
        for (r, cells) in records.iter().zip(&rows) {
            writeln!(out, "{}", line(cells)).ok();
            if let Some(e) = &r.error {
                writeln!(out, "    {}: {e}", if vi { "lỗi" } else { "error" }).ok();
            }
        }
    }
    match (lang, records.len()) {
        (Language::Vi, 0) => out.push_str("Không có bản ghi nào khớp.\n"),
        (Language::Vi, n) => writeln!(out, "{n} bản ghi.").unwrap_or(()),
        (Language::En, 0) => out.push_str("No matching record.\n"),
        (Language::En, 1) => out.push_str("1 record.\n"),
        (Language::En, n) => writeln!(out, "{n} records.").unwrap_or(()),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_revision_keeps_its_dirty_mark() {
        assert_eq!(
            short_revision("5bbe82f1c0de5bbe82f1c0de5bbe82f1c0de5bbe-dirty"),
            "5bbe82f1c0de-dirty"
        );
        assert_eq!(short_revision("5bbe82f1c0de5bbe"), "5bbe82f1c0de");
    }

    #[test]
    fn the_abbreviation_is_after_the_last_dot() {
        assert_eq!(
            address_abbr("annv.skhcn@sonla.gov.vn").as_deref(),
            Some("skhcn")
        );
        assert_eq!(address_abbr("SKHCN@sonla.gov.vn").as_deref(), Some("skhcn"));
        assert_eq!(address_abbr(""), None);
        assert_eq!(key_agency("unit/SL-SKHCN/vp"), Some("SL-SKHCN"));
        assert_eq!(key_agency("agency/03646"), Some("03646"));
        assert_eq!(key_agency("person/p-1"), None);
    }
}
