//! The regulation's lifecycle checks (`hopthu audit`): mailboxes nobody
//! logged in to for `policy.inactiveLockDays` (lock), locks older than
//! `policy.revokeAfterLockDays` (revoke), mailboxes never used since they
//! were made, addresses kept under `legacy: true`, and drift between the
//! live directory and git. Each finding carries its evidence; `propose`
//! turns the lock and revoke findings into an edit of the repository for
//! people to approve. Nothing here writes to the directory.

use crate::desired::{DesiredMailbox, MailboxKind};
use crate::diagnostics::Diagnostic;
use crate::live::LiveEntry;
use crate::model::{Language, LockReason, Settings, Status};
use crate::tr;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

/// Last logins by address (lower case); `None`: never.
pub type Logins = HashMap<String, Option<DateTime<Utc>>>;

/// Where the last logins come from.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum LoginSource {
    /// An attribute of the live entries (`authTimestamp`, `pwdLastSuccess`).
    Attribute { name: String },
    /// A CSV export `address,last_login` from the mail server.
    Csv { path: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// No login for `inactiveLockDays`: lock (reason `inactive`).
    Inactive,
    /// Never logged in, made more than `inactiveLockDays` ago: lock.
    NeverUsed,
    /// Locked longer than `revokeAfterLockDays` without a restore: revoke.
    Revoke,
    /// An address that does not follow the naming rules, kept as legacy.
    Legacy,
    /// The live directory differs from git.
    Drift,
}

impl FindingKind {
    pub fn word(self, lang: Language) -> &'static str {
        match (self, lang) {
            (FindingKind::Inactive, Language::Vi) => "không đăng nhập",
            (FindingKind::Inactive, Language::En) => "inactive",
            (FindingKind::NeverUsed, Language::Vi) => "chưa từng dùng",
            (FindingKind::NeverUsed, Language::En) => "never used",
            (FindingKind::Revoke, Language::Vi) => "khóa quá hạn",
            (FindingKind::Revoke, Language::En) => "locked too long",
            (FindingKind::Legacy, Language::Vi) => "địa chỉ cũ",
            (FindingKind::Legacy, Language::En) => "legacy address",
            (FindingKind::Drift, Language::Vi) => "lệch",
            (FindingKind::Drift, Language::En) => "drift",
        }
    }
}

/// What a finding proposes to change in git.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proposal {
    Lock,
    Revoke,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_login: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_reason: Option<String>,
    /// Days since the date the finding counts from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub kind: FindingKind,
    pub key: String,
    pub address: String,
    pub name: String,
    pub agency: String,
    pub file: String,
    pub pointer: String,
    pub evidence: Evidence,
    /// What `propose` would change in git; none for what needs a person
    /// (agency and unit mailboxes, legacy addresses, drift).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposal: Option<Proposal>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditReport {
    pub today: String,
    pub inactive_lock_days: u32,
    pub revoke_after_lock_days: u32,
    pub source: LoginSource,
    pub mailboxes: usize,
    pub findings: Vec<Finding>,
    /// Lines of the login export that name no mailbox of the repository.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_logins: Vec<String>,
}

impl AuditReport {
    pub fn count(&self, kind: FindingKind) -> usize {
        self.findings.iter().filter(|f| f.kind == kind).count()
    }
    pub fn proposals(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.proposal.is_some())
    }
}

/// A date and time as LDAP writes it (`20261204101500Z`, fractions and
/// offsets allowed), or as a CSV export may: RFC 3339, `YYYY-MM-DD HH:MM[:SS]`
/// or a bare date.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d.and_hms_opt(0, 0, 0)?.and_utc());
    }
    // Generalized time: YYYYMMDDHH[MM[SS]][.fff](Z|+hhmm).
    let (body, offset) = match s.find(['Z', '+', '-']) {
        Some(i) => (&s[..i], &s[i..]),
        None => return None,
    };
    let body = body.split(['.', ',']).next()?;
    if !body.bytes().all(|b| b.is_ascii_digit()) || !(10..=14).contains(&body.len()) {
        return None;
    }
    let padded = format!("{body:0<14}");
    let t = NaiveDateTime::parse_from_str(&padded, "%Y%m%d%H%M%S").ok()?;
    let shift = match offset {
        "Z" => 0,
        o if o.len() == 5 && o[1..].bytes().all(|b| b.is_ascii_digit()) => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let h: i64 = o[1..3].parse().ok()?;
            let m: i64 = o[3..5].parse().ok()?;
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    t.and_utc()
        .checked_sub_signed(chrono::Duration::seconds(shift))
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{path}:{line}: {message}")]
pub struct CsvError {
    pub path: String,
    pub line: usize,
    pub message: String,
}

/// Read a login export: a header `address,last_login` (any case, either
/// order, more columns allowed), then one line per mailbox. An empty
/// last_login means never. Columns are separated by `,`, or by `;` as
/// spreadsheets write CSV in a Vietnamese locale. Every bad line is an
/// error naming it; so is a login after `today` (a typo there would hide
/// a mailbox's inactivity for ever).
pub fn read_logins_csv(path: &str, text: &str, today: NaiveDate) -> Result<Logins, Vec<CsvError>> {
    let err = |line: usize, message: String| CsvError {
        path: path.to_string(),
        line,
        message,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((hl, header)) = lines.next() else {
        return Err(vec![err(
            1,
            tr!(
                "tệp rỗng: cần một dòng tiêu đề `address,last_login`",
                "the file is empty: expected a header `address,last_login`"
            ),
        )]);
    };
    let sep = if !header.contains(',') && header.contains(';') {
        ';'
    } else {
        ','
    };
    let cols: Vec<String> = split_csv(header, sep)
        .iter()
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let find = |n: &str| cols.iter().position(|c| c == n);
    let (Some(ai), Some(li)) = (find("address"), find("last_login")) else {
        return Err(vec![err(
            hl + 1,
            tr!(
                "dòng tiêu đề phải có các cột `address` và `last_login`; gặp `{header}`",
                "the header must name the columns `address` and `last_login`; found `{header}`"
            ),
        )]);
    };
    let mut out = HashMap::new();
    let mut errors = Vec::new();
    for (i, line) in lines {
        let fields = split_csv(line, sep);
        let (Some(a), Some(l)) = (fields.get(ai), fields.get(li)) else {
            let n = cols.len();
            errors.push(err(i + 1, tr!("cần {n} cột", "expected {n} columns")));
            continue;
        };
        let address = a.trim().to_ascii_lowercase();
        if !address.contains('@') {
            let a = a.trim();
            errors.push(err(
                i + 1,
                tr!("`{a}` không phải là địa chỉ thư", "`{a}` is not an address"),
            ));
            continue;
        }
        let when = if l.trim().is_empty() {
            None
        } else {
            match parse_time(l) {
                Some(t)
                    if t.date_naive()
                        > today
                            .checked_add_days(chrono::Days::new(1))
                            .unwrap_or(today) =>
                {
                    errors.push(err(i + 1, {
                        let v = l.trim();
                        tr!(
                            "`{v}` sau ngày hôm nay ({today}): lần đăng nhập không thể ở tương lai",
                            "`{v}` is after today ({today}): a login cannot be in the future"
                        )
                    }));
                    continue;
                }
                Some(t) => Some(t),
                None => {
                    errors.push(err(
                        i + 1,
                        {
                            let l = l.trim();
                            tr!(
                                "`{l}` không phải là ngày (YYYY-MM-DD, YYYY-MM-DD HH:MM:SS, RFC 3339 hoặc 20261204101500Z)",
                                "`{l}` is not a date (YYYY-MM-DD, YYYY-MM-DD HH:MM:SS, RFC 3339 or 20261204101500Z)"
                            )
                        },
                    ));
                    continue;
                }
            }
        };
        // The latest login wins when an export lists a mailbox twice.
        let slot = out.entry(address).or_insert(None);
        if when > *slot {
            *slot = when;
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Fields of one CSV line (RFC 4180 quotes; no line breaks inside fields).
fn split_csv(line: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if cur.trim().is_empty() => {
                cur.clear();
                quoted = true;
            }
            (c, false) if c == sep => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// What the audit reads besides the repository.
pub struct AuditInput<'a> {
    pub desired: &'a [DesiredMailbox],
    pub settings: &'a Settings,
    pub today: NaiveDate,
    pub lang: Language,
    /// The live entries (as `read_live` returns them).
    pub live: &'a [LiveEntry],
    /// The attribute holding the last login, when no CSV is given.
    pub login_attr: &'a str,
    /// A login export, replacing the attribute.
    pub csv: Option<(&'a str, &'a Logins)>,
    /// When each mailbox was last restored (unlocked), from the audit log.
    pub restored: &'a HashMap<String, DateTime<Utc>>,
    /// The validator's diagnostics (legacy addresses are its warnings).
    pub diagnostics: &'a [Diagnostic],
    /// The plan's changes: the live directory differs from git there.
    pub drift: &'a [crate::plan::Change],
}

fn day(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

pub fn audit(input: &AuditInput<'_>) -> AuditReport {
    let policy = &input.settings.policy;
    let lang = input.lang;
    let by_key: HashMap<&str, &LiveEntry> = input
        .live
        .iter()
        .filter_map(|e| e.first("hopthuKey").map(|k| (k, e)))
        .collect();
    let mut findings = Vec::new();
    let mut known_csv: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let days_since = |t: &DateTime<Utc>| {
        input
            .today
            .signed_duration_since(t.date_naive())
            .num_days()
            .max(0)
    };
    for m in input.desired {
        let finding = |kind: FindingKind, evidence: Evidence, message: String| Finding {
            kind,
            key: m.key.clone(),
            address: m.address.clone(),
            name: m.display_name.clone(),
            agency: m.agency_abbr.clone(),
            file: m.file.clone(),
            pointer: m.pointer.clone(),
            proposal: match (kind, m.kind) {
                (_, MailboxKind::Agency | MailboxKind::Unit) => None,
                (FindingKind::Inactive | FindingKind::NeverUsed, _) => Some(Proposal::Lock),
                (FindingKind::Revoke, _) => Some(Proposal::Revoke),
                _ => None,
            },
            evidence,
            message,
        };
        match m.status {
            Status::Locked => {
                let Some(lock) = &m.lock else { continue };
                let Ok(since) = NaiveDate::parse_from_str(&lock.since, "%Y-%m-%d") else {
                    continue;
                };
                let days = input.today.signed_duration_since(since).num_days();
                if days >= i64::from(policy.revoke_after_lock_days) {
                    let reason = crate::layout::reason_word(lock.reason).to_string();
                    let message = match lang {
                        Language::Vi => format!(
                            "bị khóa từ {} ({days} ngày, lý do {reason}), quá {} ngày mà chưa được khôi phục",
                            lock.since, policy.revoke_after_lock_days
                        ),
                        Language::En => format!(
                            "locked since {} ({days} days, reason {reason}), more than {} days without a restore",
                            lock.since, policy.revoke_after_lock_days
                        ),
                    };
                    let mut f = finding(
                        FindingKind::Revoke,
                        Evidence {
                            locked_since: Some(lock.since.clone()),
                            lock_reason: Some(reason),
                            days: Some(days),
                            ..Evidence::default()
                        },
                        message,
                    );
                    // A mailbox locked because it was compromised or sent
                    // spam is evidence in a case: people decide, not a rule.
                    if matches!(lock.reason, LockReason::Compromised | LockReason::Violation) {
                        f.proposal = None;
                    }
                    findings.push(f);
                }
            }
            Status::Active => {
                let entry = by_key.get(m.key.as_str()).copied();
                let last_login = match input.csv {
                    Some((_, logins)) => {
                        let mut found = None;
                        for a in std::iter::once(&m.address).chain(m.aliases.iter()) {
                            if let Some((k, v)) = logins.get_key_value(a.as_str()) {
                                known_csv.insert(k.as_str());
                                found = found.max(*v);
                            }
                        }
                        found
                    }
                    None => entry
                        .map(|e| e.get(input.login_attr))
                        .and_then(|v| v.iter().filter_map(|s| parse_time(s)).max()),
                };
                // A mailbox not in the live directory yet has nothing to say.
                let Some(entry) = entry else { continue };
                let created = entry.first("createTimestamp").and_then(parse_time);
                let restored = input.restored.get(&m.key).copied();
                let threshold = i64::from(policy.inactive_lock_days);
                // The clock starts again at a restore: its owner has not had
                // the time to log in yet.
                let from = [last_login, created, restored].into_iter().flatten().max();
                let Some(from) = from else { continue };
                let days = days_since(&from);
                if days < threshold {
                    continue;
                }
                let evidence = Evidence {
                    last_login: last_login.as_ref().map(day),
                    created: created.as_ref().map(day),
                    restored: restored.as_ref().map(day),
                    days: Some(days),
                    ..Evidence::default()
                };
                // The clock counts from the latest of the last login, the
                // creation and the last restore: say which when it is not
                // the login.
                let since_what = |vi: bool| -> String {
                    if Some(from) == restored && restored > last_login {
                        if vi {
                            format!("khôi phục ngày {}", day(&from))
                        } else {
                            format!("restored on {}", day(&from))
                        }
                    } else if Some(from) == created && created > last_login && last_login.is_some()
                    {
                        if vi {
                            format!("tạo ngày {}", day(&from))
                        } else {
                            format!("created on {}", day(&from))
                        }
                    } else {
                        String::new()
                    }
                };
                let (kind, message) = match (last_login, lang) {
                    (Some(t), Language::Vi) => (
                        FindingKind::Inactive,
                        match since_what(true) {
                            w if w.is_empty() => format!(
                                "không đăng nhập từ {} ({days} ngày, quy định {threshold} ngày)",
                                day(&t)
                            ),
                            w => format!(
                                "lần đăng nhập cuối {}; {w}, đã {days} ngày (quy định {threshold} ngày)",
                                day(&t)
                            ),
                        },
                    ),
                    (Some(t), Language::En) => (
                        FindingKind::Inactive,
                        match since_what(false) {
                            w if w.is_empty() => format!(
                                "no login since {} ({days} days, the rule is {threshold})",
                                day(&t)
                            ),
                            w => format!(
                                "last login {}; {w}, {days} days ago (the rule is {threshold})",
                                day(&t)
                            ),
                        },
                    ),
                    (None, Language::Vi) => (
                        FindingKind::NeverUsed,
                        match since_what(true) {
                            w if w.is_empty() => format!(
                                "chưa từng đăng nhập kể từ {} ({days} ngày, quy định {threshold} ngày)",
                                day(&from)
                            ),
                            w => format!(
                                "chưa từng đăng nhập; {w}, đã {days} ngày (quy định {threshold} ngày)"
                            ),
                        },
                    ),
                    (None, Language::En) => (
                        FindingKind::NeverUsed,
                        match since_what(false) {
                            w if w.is_empty() => format!(
                                "never logged in since {} ({days} days, the rule is {threshold})",
                                day(&from)
                            ),
                            w => format!(
                                "never logged in; {w}, {days} days ago (the rule is {threshold})"
                            ),
                        },
                    ),
                };
                findings.push(finding(kind, evidence, message));
            }
        }
    }
    // Legacy addresses: the validator's warnings, attached to their mailbox.
    let by_place: HashMap<(&str, &str), &DesiredMailbox> = input
        .desired
        .iter()
        .map(|m| ((m.file.as_str(), m.pointer.as_str()), m))
        .collect();
    for d in input.diagnostics.iter().filter(|d| d.code == "W040") {
        let pointer = d.pointer.trim_end_matches("/address");
        let pointer = pointer.trim_end_matches("/mailbox");
        let Some(m) = by_place
            .get(&(d.file.as_str(), pointer))
            .or_else(|| by_place.get(&(d.file.as_str(), d.pointer.trim_end_matches("/address"))))
        else {
            continue;
        };
        findings.push(Finding {
            kind: FindingKind::Legacy,
            key: m.key.clone(),
            address: m.address.clone(),
            name: m.display_name.clone(),
            agency: m.agency_abbr.clone(),
            file: m.file.clone(),
            pointer: m.pointer.clone(),
            evidence: Evidence::default(),
            proposal: None,
            message: d.message.clone(),
        });
    }
    for c in input.drift {
        let Some(m) = input.desired.iter().find(|m| m.key == c.key) else {
            // A managed entry git no longer declares: the plan deletes it.
            findings.push(Finding {
                kind: FindingKind::Drift,
                key: c.key.clone(),
                address: c.address.clone(),
                name: String::new(),
                agency: String::new(),
                file: String::new(),
                pointer: String::new(),
                evidence: Evidence::default(),
                proposal: None,
                message: drift_message(c, lang),
            });
            continue;
        };
        findings.push(Finding {
            kind: FindingKind::Drift,
            key: c.key.clone(),
            address: c.address.clone(),
            name: m.display_name.clone(),
            agency: m.agency_abbr.clone(),
            file: m.file.clone(),
            pointer: m.pointer.clone(),
            evidence: Evidence::default(),
            proposal: None,
            message: drift_message(c, lang),
        });
    }
    findings.sort_by(|a, b| (a.kind, &a.agency, &a.address).cmp(&(b.kind, &b.agency, &b.address)));
    let mut unknown_logins: Vec<String> = match input.csv {
        Some((_, logins)) => logins
            .keys()
            .filter(|k| !known_csv.contains(k.as_str()))
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    unknown_logins.sort();
    AuditReport {
        today: input.today.to_string(),
        inactive_lock_days: policy.inactive_lock_days,
        revoke_after_lock_days: policy.revoke_after_lock_days,
        source: match input.csv {
            Some((path, _)) => LoginSource::Csv {
                path: path.to_string(),
            },
            None => LoginSource::Attribute {
                name: input.login_attr.to_string(),
            },
        },
        mailboxes: input.desired.len(),
        findings,
        unknown_logins,
    }
}

fn drift_message(c: &crate::plan::Change, lang: Language) -> String {
    let word = crate::render::word(c.action, lang);
    match lang {
        Language::Vi => format!("thư mục đang chạy khác git: lần áp dụng tới sẽ {word}"),
        Language::En => format!("the live directory differs from git: the next apply will {word}"),
    }
}

/// When each key was last restored (an `unlock` that succeeded), from the
/// audit log's records.
pub fn restores_from_log(records: &[crate::audit::AuditRecord]) -> HashMap<String, DateTime<Utc>> {
    let mut out: HashMap<String, DateTime<Utc>> = HashMap::new();
    for r in records
        .iter()
        .filter(|r| r.action == "unlock" && r.result == "ok")
    {
        if let Some(t) = parse_time(&r.time) {
            let slot = out.entry(r.key.clone()).or_insert(t);
            if t > *slot {
                *slot = t;
            }
        }
    }
    out
}

/// The report for a person: a heading, counts, then one table per kind.
pub fn markdown(r: &AuditReport, lang: Language) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let vi = lang == Language::Vi;
    let _ = writeln!(
        s,
        "## {} {}\n",
        if vi {
            "Kiểm tra hộp thư ngày"
        } else {
            "Mailbox audit of"
        },
        r.today
    );
    let source = match &r.source {
        LoginSource::Attribute { name } => format!("`{name}`"),
        LoginSource::Csv { path } => format!("`{path}`"),
    };
    let _ = writeln!(
        s,
        "{}\n",
        if vi {
            format!(
                "{} hộp thư; lần đăng nhập cuối lấy từ {source}; khóa sau {} ngày không đăng nhập, thu hồi sau {} ngày bị khóa.",
                r.mailboxes, r.inactive_lock_days, r.revoke_after_lock_days
            )
        } else {
            format!(
                "{} mailboxes; last logins from {source}; lock after {} days without a login, revoke after {} days locked.",
                r.mailboxes, r.inactive_lock_days, r.revoke_after_lock_days
            )
        }
    );
    if r.findings.is_empty() {
        let _ = writeln!(
            s,
            "{}",
            if vi {
                "Không có phát hiện nào."
            } else {
                "No findings."
            }
        );
    }
    for kind in [
        FindingKind::Inactive,
        FindingKind::NeverUsed,
        FindingKind::Revoke,
        FindingKind::Legacy,
        FindingKind::Drift,
    ] {
        let items: Vec<&Finding> = r.findings.iter().filter(|f| f.kind == kind).collect();
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(s, "### {} ({})\n", kind.word(lang), items.len());
        let _ = writeln!(
            s,
            "| {} |\n|---|---|---|---|---|",
            if vi {
                "Địa chỉ | Tên | Cơ quan | Chi tiết | Đề xuất"
            } else {
                "Address | Name | Agency | Evidence | Proposed"
            }
        );
        for f in items {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} | {} |",
                f.address,
                md_cell(&f.name),
                md_cell(&f.agency),
                md_cell(&f.message),
                proposal_word(f.proposal, lang)
            );
        }
        s.push('\n');
    }
    if !r.unknown_logins.is_empty() {
        let _ = writeln!(
            s,
            "{} {}\n",
            if vi {
                "Địa chỉ trong tệp đăng nhập không có trong kho:"
            } else {
                "Addresses in the login export that the repository does not declare:"
            },
            r.unknown_logins
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    s
}

pub fn proposal_word(p: Option<Proposal>, lang: Language) -> &'static str {
    match (p, lang) {
        (Some(Proposal::Lock), Language::Vi) => "khóa",
        (Some(Proposal::Lock), Language::En) => "lock",
        (Some(Proposal::Revoke), Language::Vi) => "thu hồi",
        (Some(Proposal::Revoke), Language::En) => "revoke",
        (None, Language::Vi) => "cần người xem xét",
        (None, Language::En) => "for a person to decide",
    }
}

pub fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Plain text for a terminal: one line per finding.
pub fn human(r: &AuditReport, lang: Language) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    for f in &r.findings {
        let _ = writeln!(
            s,
            "{:<16} {:<40} {}  [{}]",
            f.kind.word(lang),
            f.address,
            f.message,
            proposal_word(f.proposal, lang)
        );
    }
    if !r.unknown_logins.is_empty() {
        let _ = writeln!(
            s,
            "{} {}",
            match lang {
                Language::Vi => "Địa chỉ trong tệp đăng nhập không có trong kho:",
                Language::En =>
                    "Addresses in the login export that the repository does not declare:",
            },
            r.unknown_logins.join(", ")
        );
    }
    let n = |k| r.count(k);
    let _ = writeln!(
        s,
        "{}",
        match lang {
            Language::Vi => format!(
                "{} hộp thư: {} không đăng nhập, {} chưa từng dùng, {} khóa quá hạn, {} địa chỉ cũ, {} lệch; {} đề xuất.",
                r.mailboxes,
                n(FindingKind::Inactive),
                n(FindingKind::NeverUsed),
                n(FindingKind::Revoke),
                n(FindingKind::Legacy),
                n(FindingKind::Drift),
                r.proposals().count()
            ),
            Language::En => format!(
                "{} mailboxes: {} inactive, {} never used, {} locked too long, {} legacy, {} drift; {} proposals.",
                r.mailboxes,
                n(FindingKind::Inactive),
                n(FindingKind::NeverUsed),
                n(FindingKind::Revoke),
                n(FindingKind::Legacy),
                n(FindingKind::Drift),
                r.proposals().count()
            ),
        }
    );
    s
}

/// Read the live directory and audit it against a valid repository.
pub async fn audit_live(
    outcome: &crate::validate::Outcome,
    target: &crate::reconcile::Target,
    today: NaiveDate,
    csv: Option<(&str, &Logins)>,
    restored: &HashMap<String, DateTime<Utc>>,
) -> Result<AuditReport, crate::reconcile::ReconcileError> {
    let settings = outcome
        .settings
        .as_ref()
        .expect("a valid repository has settings");
    let mut dir = crate::live::Directory::connect(&target.connect).await?;
    let live = crate::reconcile::read_live(&mut dir, target).await?;
    dir.close().await?;
    if !live.base_exists {
        return Err(crate::plan::PlanError::NoBase(target.base_dn.clone()).into());
    }
    let identity = target.identity();
    let input = crate::plan::Input {
        desired: &outcome.desired,
        domain: &target.domain,
        base_dn: &target.base_dn,
        layout: target.layout,
        max_deletes: settings.policy.max_deletes_per_run as usize,
        grace_days: settings.policy.rename_grace_days,
        identity: &identity,
        may_create_base: false,
        hold_all_deletes: false,
        today,
    };
    let plan = crate::plan::plan(&input, &live)?;
    let drift: Vec<crate::plan::Change> = plan
        .changes
        .iter()
        .chain(plan.held.iter())
        .cloned()
        .collect();
    let login_attr = settings
        .directory
        .last_login
        .map(|l| l.attribute())
        .unwrap_or(target.layout.last_login_attr);
    Ok(audit(&AuditInput {
        desired: &outcome.desired,
        settings,
        today,
        lang: outcome.lang,
        live: &live.entries,
        login_attr,
        csv,
        restored,
        diagnostics: &outcome.diagnostics,
        drift: &drift,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_ldap_and_export_forms() {
        let t = |s| parse_time(s).map(|t| t.to_rfc3339());
        assert_eq!(
            t("20261204101500Z").as_deref(),
            Some("2026-12-04T10:15:00+00:00")
        );
        assert_eq!(
            t("202612041015Z").as_deref(),
            Some("2026-12-04T10:15:00+00:00")
        );
        assert_eq!(
            t("20261204101500.123Z").as_deref(),
            Some("2026-12-04T10:15:00+00:00")
        );
        assert_eq!(
            t("20261204101500+0700").as_deref(),
            Some("2026-12-04T03:15:00+00:00")
        );
        assert_eq!(
            t("2026-12-04").as_deref(),
            Some("2026-12-04T00:00:00+00:00")
        );
        assert_eq!(
            t("2026-12-04 08:30").as_deref(),
            Some("2026-12-04T08:30:00+00:00")
        );
        assert_eq!(
            t("2026-12-04T08:30:00+07:00").as_deref(),
            Some("2026-12-04T01:30:00+00:00")
        );
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "20261304101500Z",
            "2026120Z",
            "20261204101500",
        ] {
            assert_eq!(t(bad), None, "{bad}");
        }
    }

    const D: NaiveDate = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();

    #[test]
    fn a_login_export_is_read_and_its_bad_lines_named() {
        let text = "\u{feff}Last_Login,Address\n2026-08-01,AnNV.skhcn@sonla.gov.vn\n,hatt.skhcn@sonla.gov.vn\n\n\"2026-09-01 10:00\",annv.skhcn@sonla.gov.vn\n";
        let m = read_logins_csv("logins.csv", text, D).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(
            m["annv.skhcn@sonla.gov.vn"].map(|t| day(&t)).as_deref(),
            Some("2026-09-01"),
            "the latest login wins"
        );
        assert_eq!(m["hatt.skhcn@sonla.gov.vn"], None);
        let errs = crate::i18n::with(Language::En, || {
            read_logins_csv(
                "l.csv",
                "address,last_login\nx@y,2026-02-30\nnot-an-address,\nz@y\n",
                D,
            )
        })
        .unwrap_err();
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(
            text[0].starts_with("l.csv:2: `2026-02-30` is not a date"),
            "{text:?}"
        );
        assert!(
            text[1].starts_with("l.csv:3: `not-an-address` is not an address"),
            "{text:?}"
        );
        assert!(
            text[2].starts_with("l.csv:4: expected 2 columns"),
            "{text:?}"
        );
        assert!(read_logins_csv("l.csv", "", D).is_err());
        // A login after today is a typo that would hide inactivity.
        let future = crate::i18n::with(Language::En, || {
            read_logins_csv("l.csv", "address,last_login\nx@y,2030-01-01\n", D)
        });
        assert!(
            future.unwrap_err()[0]
                .message
                .contains("after today (2026-12-04)")
        );
        // `;` as spreadsheets in a Vietnamese locale write it.
        let semi = read_logins_csv("l.csv", "address;last_login\nx@y;2026-01-02\n", D).unwrap();
        assert_eq!(semi["x@y"].map(|t| day(&t)).as_deref(), Some("2026-01-02"));
        assert!(
            read_logins_csv("l.csv", "mail,when\n", D).unwrap_err()[0]
                .message
                .contains("`address` và `last_login`")
        );
    }
}
