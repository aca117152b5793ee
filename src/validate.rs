//! `hopthu validate`: every rule of the format, checked over a whole
//! repository in one run. Pure: reads a `FileSet`, returns diagnostics and,
//! for the plan, the desired mailboxes.

use crate::desired::{self, DesiredMailbox, MailboxKind};
use crate::diagnostics::{Diagnostic, Severity};
use crate::messages::{FieldKind, Msg};
use crate::model::{
    self, API_VERSION, Agency, Language, Local, Lock, MailboxSettings, Person, Settings, Status,
    Unit,
};
use crate::naming::{self, NameNotice};
use crate::schema::{self, Validators};
use crate::source::{Entry, FileSet, SourceFile};
use crate::yaml::{self, Node, Pos, Value, YamlErrorKind};
use chrono::NaiveDate;
use serde_json::Value as Json;
use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;

pub struct Options {
    /// `--lang`: overrides `language` in `hopthu.yaml`.
    pub lang: Option<Language>,
    /// The day lock dates are compared with.
    pub today: NaiveDate,
}

pub struct Outcome {
    pub diagnostics: Vec<Diagnostic>,
    pub settings: Option<Settings>,
    pub desired: Vec<DesiredMailbox>,
    pub lang: Language,
    /// Errors found but not listed: a file's errors past the first
    /// [`MAX_ERRORS_PER_FILE`], which one E009 diagnostic per file stands for.
    pub omitted: usize,
}

impl Outcome {
    /// Every error found, listed or not.
    pub fn errors(&self) -> usize {
        let listed = self
            .diagnostics
            .iter()
            .filter(|d| d.is_error() && d.code != "E009")
            .count();
        listed + self.omitted
    }
    pub fn warnings(&self) -> usize {
        self.diagnostics.iter().filter(|d| !d.is_error()).count()
    }
    pub fn is_valid(&self) -> bool {
        self.errors() == 0
    }
}

/// A finding before its language is chosen.
struct Finding {
    msg: Msg,
    file: usize,
    pos: Pos,
    pointer: String,
    width: usize,
}

/// An address or alias claimed by a mailbox, for the uniqueness rule.
struct Claim {
    key: String,
    file: usize,
    pos: Pos,
    pointer: String,
    width: usize,
}

/// A person whose explicit address is checked once every claim is known.
struct ExplicitAddress {
    key: String,
    explicit: String,
    derived: String,
    given_slug: String,
    abbr: String,
    legacy: bool,
    file: usize,
    pos: Pos,
    pointer: String,
    width: usize,
}

/// What every file's checks read and none writes: the schemas, and what
/// `hopthu.yaml` settles.
struct Shared<'a> {
    validators: &'a Validators,
    agency_schema: Json,
    settings_schema: Json,
    unit_keys: Vec<String>,
    person_keys: Vec<String>,
    domain: String,
    policy: model::Policy,
    max_quota: Option<u64>,
    default_quota: u64,
    today: NaiveDate,
}

/// An agency code as a file declares it, for the repository-wide rule.
struct CodeDecl {
    code: String,
    abbr: String,
    former_abbrs: Vec<String>,
    file: usize,
    pos: Pos,
    width: usize,
}

/// An agency key of `reviewers.agencies`, where it is written.
struct ReviewerKey {
    key: String,
    file: usize,
    pos: Pos,
    pointer: String,
    width: usize,
}

/// The first declaration of a person id in a file.
struct IdDecl {
    id: String,
    file: usize,
    pointer: String,
    line: u32,
    pos: Pos,
    width: usize,
}

/// The checks of one file. Files are checked apart (on every core); the
/// rules that span files run when their results are merged, in file order.
struct Ctx<'a> {
    sh: &'a Shared<'a>,
    /// The index of this file among the repository's files.
    index: usize,
    /// The file's path and normalized text, for source lines.
    file: Option<(String, String)>,
    findings: Vec<Finding>,
    /// Addresses and aliases claimed, in order.
    claims: Vec<(String, Claim)>,
    explicit: Vec<ExplicitAddress>,
    agency_code: Option<CodeDecl>,
    /// The agencies `reviewers` names in `hopthu.yaml`, checked once every
    /// agency is known.
    reviewer_keys: Vec<ReviewerKey>,
    /// Person ids of this file: id -> line of its first declaration.
    person_ids: FastMap<String, u32>,
    ids: Vec<IdDecl>,
    desired: Vec<DesiredMailbox>,
    /// Errors kept, and errors past [`MAX_ERRORS_PER_FILE`] only counted.
    errors: usize,
    omitted: usize,
}

/// What one file's checks leave for the merge.
struct FileDone {
    file: (String, String),
    findings: Vec<Finding>,
    claims: Vec<(String, Claim)>,
    explicit: Vec<ExplicitAddress>,
    agency_code: Option<CodeDecl>,
    reviewer_keys: Vec<ReviewerKey>,
    ids: Vec<IdDecl>,
    desired: Vec<DesiredMailbox>,
    errors: usize,
    omitted: usize,
}

/// The whole repository, merged from its files.
struct Merged {
    domain: String,
    files: Vec<(String, String)>,
    findings: Vec<Finding>,
    claims: FastMap<String, Claim>,
    /// Later claims of an already claimed address: (address, claim).
    clashes: Vec<(String, Claim)>,
    explicit: Vec<ExplicitAddress>,
    agency_codes: HashMap<String, usize>,
    /// Abbreviations, current and former, of the agencies: abbr -> the
    /// current one.
    agency_abbrs: HashMap<String, String>,
    former_abbrs: HashMap<String, String>,
    /// An agency file that could not be read as an agency: what it
    /// declares is unknown.
    unknown_agencies: bool,
    reviewer_keys: Vec<ReviewerKey>,
    person_ids: FastMap<String, (usize, u32)>,
    desired: Vec<DesiredMailbox>,
    /// Per file: errors kept, and errors past the limit only counted.
    errors: Vec<usize>,
    omitted: Vec<usize>,
}

/// A file's errors past this many are counted, not kept: a file made of
/// hundreds of thousands of mistakes costs no more than its size to check,
/// and what is shown is what a person can act on.
pub const MAX_ERRORS_PER_FILE: usize = 1000;

/// A map keyed by the repository's own short strings (addresses, ids),
/// hashed with FNV-1a: no attacker chooses these keys at scale, and a
/// hundred thousand of them are hashed on every validation.
type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

pub fn validate(files: &FileSet, validators: &Validators, opts: &Options) -> Outcome {
    let agency_schema = schema::agency_schema();
    let mut sh = Shared {
        validators,
        unit_keys: schema::allowed_keys(&agency_schema, "/units/0"),
        person_keys: schema::allowed_keys(&agency_schema, "/people/0"),
        agency_schema,
        settings_schema: schema::settings_schema(),
        domain: String::new(),
        policy: model::Policy::default(),
        max_quota: None,
        default_quota: 0,
        today: opts.today,
    };
    let (settings, settings_done) = {
        let mut ctx = Ctx::new(&sh, 0);
        let settings = ctx.settings(files.settings.as_ref());
        (settings, ctx.finish())
    };
    if let Some(s) = &settings {
        sh.domain = s.domain.to_ascii_lowercase();
        sh.policy = s.policy.clone();
    }
    sh.max_quota = model::parse_quota(&sh.policy.max_quota);
    sh.default_quota = model::parse_quota(&sh.policy.default_quota).unwrap_or(2 << 30);

    // Each agency file is checked on its own, on every core; the rules that
    // span files run as the results are merged, in file order.
    let results = check_files(&sh, &files.agencies);
    let claims: usize = results.iter().map(|(_, r)| r.claims.len()).sum();
    let mailboxes: usize = results.iter().map(|(_, r)| r.desired.len()).sum();
    let ids: usize = results.iter().map(|(_, r)| r.ids.len()).sum();
    let mut merged = Merged {
        domain: sh.domain.clone(),
        files: Vec::with_capacity(files.agencies.len() + 1),
        findings: Vec::new(),
        claims: HashMap::with_capacity_and_hasher(claims, Default::default()),
        clashes: Vec::new(),
        explicit: Vec::new(),
        agency_codes: HashMap::new(),
        agency_abbrs: HashMap::new(),
        former_abbrs: HashMap::new(),
        unknown_agencies: false,
        reviewer_keys: Vec::new(),
        person_ids: HashMap::with_capacity_and_hasher(ids, Default::default()),
        desired: Vec::with_capacity(mailboxes + settings_done.desired.len()),
        errors: Vec::with_capacity(files.agencies.len() + 2),
        omitted: Vec::with_capacity(files.agencies.len() + 2),
    };
    merged.add(settings_done);
    let mut any_agency = false;
    for (held, done) in results {
        any_agency |= held;
        merged.add(done);
    }
    if !any_agency && settings.is_some() && files.agencies.is_empty() {
        let idx = merged.files.len();
        merged.files.push(("agencies/".into(), String::new()));
        merged.errors.push(0);
        merged.omitted.push(0);
        merged.findings.push(Finding {
            msg: Msg::NoAgencies,
            file: idx,
            pos: Pos::default(),
            pointer: String::new(),
            width: 0,
        });
    }
    merged.cross_checks();
    let ctx = merged;

    let lang = opts
        .lang
        .or(settings.as_ref().map(|s| s.language))
        .unwrap_or_default();
    // A value the schema already refused gets no second finding from the
    // rules that read it.
    let schema_refused: std::collections::HashSet<(usize, &str)> = ctx
        .findings
        .iter()
        .filter(|f| f.msg.is_schema())
        .map(|f| (f.file, f.pointer.as_str()))
        .collect();
    let mut found: Vec<(usize, Diagnostic)> = ctx
        .findings
        .iter()
        .filter(|f| {
            f.msg.is_schema()
                || f.pointer.is_empty()
                || !schema_refused.contains(&(f.file, f.pointer.as_str()))
        })
        .map(|f| {
            let diagnostic = Diagnostic {
                severity: if f.msg.is_warning() {
                    Severity::Warning
                } else {
                    Severity::Error
                },
                code: f.msg.code(),
                file: ctx.files[f.file].0.clone(),
                line: f.pos.line,
                column: f.pos.col,
                pointer: f.pointer.clone(),
                message: f.msg.text(lang),
                hint: f.msg.hint(lang),
                source_line: None,
                source_from: 0,
                width: f.width,
            };
            (f.file, diagnostic)
        })
        .collect();
    found.sort_by(|a, b| crate::diagnostics::compare(&a.1, &b.1));
    found.dedup_by(|a, b| a.1 == b.1);
    let mut omitted = ctx.omitted;
    let found = cap_errors(found, &mut omitted);
    let diagnostics = with_source_lines(found, &omitted, &ctx.files, lang);
    let mut desired = ctx.desired;
    desired.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    Outcome {
        diagnostics,
        settings,
        desired,
        lang,
        omitted: omitted.iter().sum(),
    }
}

/// The first [`MAX_ERRORS_PER_FILE`] errors of each file, in the sorted
/// order; the rest are added to the file's count of errors not shown.
fn cap_errors(found: Vec<(usize, Diagnostic)>, omitted: &mut [usize]) -> Vec<(usize, Diagnostic)> {
    let mut kept = vec![0usize; omitted.len()];
    found
        .into_iter()
        .filter(|(file, d)| {
            if !d.is_error() {
                return true;
            }
            if kept[*file] < MAX_ERRORS_PER_FILE {
                kept[*file] += 1;
                true
            } else {
                omitted[*file] += 1;
                false
            }
        })
        .collect()
}

/// The source line of each finding (the part around its column that is
/// shown), found in one pass over each file's text; after the last finding
/// of a file, how many of its errors are not shown.
fn with_source_lines(
    found: Vec<(usize, Diagnostic)>,
    omitted: &[usize],
    files: &[(String, String)],
    lang: Language,
) -> Vec<Diagnostic> {
    let more = |file: usize| {
        let msg = Msg::TooManyErrors {
            omitted: omitted[file],
            shown: MAX_ERRORS_PER_FILE,
        };
        Diagnostic {
            severity: Severity::Error,
            code: msg.code(),
            file: files[file].0.clone(),
            line: 0,
            column: 0,
            pointer: String::new(),
            message: msg.text(lang),
            hint: msg.hint(lang),
            source_line: None,
            source_from: 0,
            width: 0,
        }
    };
    let mut out = Vec::with_capacity(found.len() + 1);
    let mut told = vec![false; files.len()];
    // The file being read: its line starts, and a cursor on the current
    // line (line number, chars passed, bytes passed) that only moves on,
    // since findings come sorted by line and column.
    let mut current: Option<(usize, Vec<usize>)> = None;
    let mut cursor = (0u32, 0usize, 0usize);
    let mut found = found.into_iter().peekable();
    while let Some((file, mut d)) = found.next() {
        if d.line > 0 {
            if current.as_ref().is_none_or(|(f, _)| *f != file) {
                let text = &files[file].1;
                let starts = std::iter::once(0)
                    .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                    .collect();
                current = Some((file, starts));
                cursor = (0, 0, 0);
            }
            let (_, starts) = current.as_ref().expect("set above");
            let text = &files[file].1;
            if let Some(&start) = starts.get(d.line as usize - 1) {
                let end = starts
                    .get(d.line as usize)
                    .map_or(text.len(), |next| next - 1);
                let line = &text[start..end];
                if cursor.0 != d.line {
                    cursor = (d.line, 0, 0);
                }
                let from = crate::diagnostics::window_start(d.column);
                if cursor.1 > from {
                    cursor = (d.line, 0, 0);
                }
                let (_, mut chars, mut bytes) = cursor;
                for ch in line[bytes..].chars() {
                    if chars == from {
                        break;
                    }
                    chars += 1;
                    bytes += ch.len_utf8();
                }
                cursor = (d.line, chars, bytes);
                let shown = if chars == from {
                    line[bytes..]
                        .chars()
                        .take(crate::diagnostics::WINDOW + 1)
                        .collect()
                } else {
                    String::new()
                };
                d.source_line = Some(shown);
                d.source_from = from;
            }
        }
        out.push(d);
        let last_of_file = found.peek().is_none_or(|(next, _)| *next != file);
        if last_of_file && omitted[file] > 0 && !told[file] {
            told[file] = true;
            out.push(more(file));
        }
    }
    for (file, n) in omitted.iter().enumerate() {
        if *n > 0 && !told[file] {
            out.push(more(file));
        }
    }
    out
}

/// Where the value at `pointer` (or its key, when `on_key`) is, and how
/// wide, for a caret.
fn locate(root: &Node, pointer: &str, on_key: bool) -> (Pos, usize) {
    match root.lookup(pointer) {
        Some((_, Some(k))) if on_key => (k.pos, k.name.chars().count().max(1)),
        Some((n, _)) => (n.text_pos(), node_width(n)),
        None => (root.pos, 1),
    }
}

/// Where the value at `pointer` is, and how wide, for a caret.
fn value_pos(root: &Node, pointer: &str) -> (Pos, usize) {
    match root.lookup(pointer) {
        Some((n, _)) => (n.text_pos(), node_width(n)),
        None => (root.pos, 1),
    }
}

/// Width of a node's text for the caret.
fn node_width(n: &Node) -> usize {
    match &n.value {
        Value::Str(s) if n.style != yaml::Style::Block => s.chars().count().max(1),
        Value::Int(i) => i.to_string().len(),
        Value::Bool(b) => b.to_string().len(),
        _ => 1,
    }
}

fn json_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn field_kind(pattern: &str) -> FieldKind {
    match pattern {
        p if p == model::ABBR_PATTERN => FieldKind::Abbr,
        p if p == model::KEY_PATTERN => FieldKind::Key,
        p if p == model::LOCAL_PATTERN => FieldKind::Local,
        p if p == model::QUOTA_PATTERN => FieldKind::Quota,
        p if p == model::DOMAIN_PATTERN => FieldKind::Domain,
        p if p == model::DATE_PATTERN => FieldKind::Date,
        p if p == model::NAME_PATTERN || p == model::ORG_NAME_PATTERN => FieldKind::Name,
        p if p == model::REVIEWER_PATTERN => FieldKind::Reviewer,
        _ => FieldKind::Other,
    }
}

/// The closest allowed key, for "did you mean".
fn suggest(key: &str, allowed: &[String]) -> Option<String> {
    let lower = key.to_lowercase();
    allowed
        .iter()
        .map(|a| (strsim::damerau_levenshtein(&lower, &a.to_lowercase()), a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 3) && *d < a.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a.clone())
}

/// Check every agency file, on as many threads as there are cores (and
/// files); the results come back in file order.
fn check_files(sh: &Shared<'_>, files: &[SourceFile]) -> Vec<(bool, FileDone)> {
    let check = |i: usize| {
        let mut ctx = Ctx::new(sh, i + 1);
        let held = ctx.agency_file(&files[i]);
        (held, ctx.finish())
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len());
    if threads <= 1 {
        return (0..files.len()).map(check).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, (bool, FileDone))> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= files.len() {
                            return mine;
                        }
                        mine.push((i, check(i)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a file's checks never panic"))
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

impl Merged {
    /// Take in one file's results: the rules that span files (unique agency
    /// codes, person ids and addresses) are checked here, in file order.
    fn add(&mut self, mut done: FileDone) {
        let idx = self.files.len();
        let agency_yaml = idx > 0 && done.file.0.ends_with(".yaml");
        self.files.push(done.file);
        self.errors.push(done.errors);
        self.omitted.push(done.omitted);
        self.reviewer_keys.append(&mut done.reviewer_keys);
        if agency_yaml && done.agency_code.is_none() {
            self.unknown_agencies = true;
        }
        if let Some(c) = &done.agency_code {
            self.agency_abbrs.insert(c.abbr.clone(), c.abbr.clone());
            for f in &c.former_abbrs {
                self.former_abbrs.insert(f.clone(), c.abbr.clone());
            }
        }
        if let Some(c) = done.agency_code {
            if let Some(&other) = self.agency_codes.get(&c.code) {
                let other_file = self.files[other].0.clone();
                self.room(c.file);
                done.findings.push(Finding {
                    msg: Msg::DuplicateAgencyCode {
                        code: c.code,
                        other_file,
                    },
                    file: c.file,
                    pos: c.pos,
                    pointer: "/code".into(),
                    width: c.width,
                });
            } else {
                self.agency_codes.insert(c.code, idx);
            }
        }
        // A person id declared in an earlier file: this declaration is
        // reported, and claims no address and asks for no mailbox.
        let mut dropped: std::collections::HashSet<String> = std::collections::HashSet::new();
        for d in done.ids {
            if let Some(&(other, other_line)) = self.person_ids.get(&d.id) {
                dropped.insert(desired::person_key(&d.id));
                if !self.room(d.file) {
                    continue;
                }
                let other_file = self.files[other].0.clone();
                done.findings.push(Finding {
                    msg: Msg::DuplicatePersonId {
                        id: d.id,
                        other_file,
                        other_line,
                    },
                    file: d.file,
                    pos: d.pos,
                    pointer: d.pointer,
                    width: d.width,
                });
            } else {
                self.person_ids.insert(d.id, (d.file, d.line));
            }
        }
        if !dropped.is_empty() {
            let gone = |key: &str| dropped.contains(key);
            done.claims.retain(|(_, c)| !gone(&c.key));
            done.explicit.retain(|e| !gone(&e.key));
            done.desired.retain(|m| !gone(&m.key));
        }
        for (address, claim) in done.claims {
            match self.claims.entry(address) {
                std::collections::hash_map::Entry::Occupied(o) => {
                    self.clashes.push((o.key().clone(), claim));
                }
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(claim);
                }
            }
        }
        self.findings.append(&mut done.findings);
        self.explicit.append(&mut done.explicit);
        self.desired.append(&mut done.desired);
    }
}

impl Merged {
    /// Rules that need the whole repository: unique addresses, and explicit
    /// addresses that are allowed only when the derived one is taken.
    fn cross_checks(&mut self) {
        self.check_reviewers();
        let clashes = std::mem::take(&mut self.clashes);
        let desired = std::mem::take(&mut self.desired);
        let by_key: FastMap<&str, &DesiredMailbox> = if clashes.is_empty() {
            FastMap::default()
        } else {
            desired.iter().map(|m| (m.key.as_str(), m)).collect()
        };
        for (address, claim) in clashes {
            if self.claims[&address].key == claim.key {
                continue; // an alias repeating the mailbox's own address
            }
            if !self.room(claim.file) {
                continue;
            }
            let first = &self.claims[&address];
            let other_file = self.files[first.file].0.clone();
            let other_line = first.pos.line;
            let free = by_key
                .get(claim.key.as_str())
                .and_then(|m| self.free_alternative(&claim, m));
            self.findings.push(Finding {
                msg: Msg::AddressTaken {
                    address: format!("{address}@{}", self.domain),
                    other_file,
                    other_line,
                    free,
                },
                file: claim.file,
                pos: claim.pos,
                pointer: claim.pointer,
                width: claim.width,
            });
        }
        drop(by_key);
        self.desired = desired;
        let explicit = std::mem::take(&mut self.explicit);
        for e in explicit {
            let derived_taken = self.claims.get(&e.derived).is_some_and(|c| c.key != e.key);
            if naming::person_address_conforms(
                &e.explicit,
                &e.derived,
                &e.given_slug,
                &e.abbr,
                derived_taken,
            ) {
                continue;
            }
            self.push(
                Msg::AddressNotConforming {
                    address: e.explicit,
                    expected: e.derived,
                    legacy: e.legacy,
                    person: true,
                },
                e.file,
                e.pos,
                &e.pointer,
                e.width,
            );
        }
    }

    /// Every agency `reviewers.agencies` names is one of the repository's,
    /// by abbreviation or code. Not checked while an agency file cannot be
    /// read (it may declare the agency named).
    fn check_reviewers(&mut self) {
        if self.unknown_agencies {
            return;
        }
        let keys = std::mem::take(&mut self.reviewer_keys);
        for k in keys {
            if self.agency_codes.contains_key(&k.key) || self.agency_abbrs.contains_key(&k.key) {
                continue;
            }
            let now = self.former_abbrs.get(&k.key).cloned();
            let known: Vec<String> = self
                .agency_abbrs
                .keys()
                .chain(self.agency_codes.keys())
                .cloned()
                .collect();
            let suggestion = if now.is_none() {
                let mut known = known;
                known.sort();
                suggest(&k.key, &known)
            } else {
                None
            };
            self.push(
                Msg::UnknownReviewerAgency {
                    key: k.key,
                    now,
                    suggestion,
                },
                k.file,
                k.pos,
                &k.pointer,
                k.width,
            );
        }
    }

    /// A free address to suggest for a person whose derived address clashes.
    fn free_alternative(&self, claim: &Claim, m: &DesiredMailbox) -> Option<String> {
        claim.key.strip_prefix("person/")?;
        let given = m.given_name.clone();
        let taken = |local: &str| self.claims.contains_key(local);
        naming::person_alternatives(&m.display_name, given.as_deref(), &m.agency_abbr, &taken, 1)
            .ok()?
            .into_iter()
            .next()
    }

    fn push(&mut self, msg: Msg, file: usize, pos: Pos, pointer: &str, width: usize) {
        if !msg.is_warning() && !self.room(file) {
            return;
        }
        self.findings.push(Finding {
            msg,
            file,
            pos,
            pointer: pointer.to_string(),
            width,
        });
    }

    /// Whether one more error of `file` is kept; counted either way.
    fn room(&mut self, file: usize) -> bool {
        if self.errors[file] < MAX_ERRORS_PER_FILE {
            self.errors[file] += 1;
            true
        } else {
            self.omitted[file] += 1;
            false
        }
    }
}

impl<'a> Ctx<'a> {
    fn new(sh: &'a Shared<'a>, index: usize) -> Ctx<'a> {
        Ctx {
            sh,
            index,
            file: None,
            findings: Vec::new(),
            claims: Vec::new(),
            explicit: Vec::new(),
            agency_code: None,
            reviewer_keys: Vec::new(),
            person_ids: FastMap::default(),
            ids: Vec::new(),
            desired: Vec::new(),
            errors: 0,
            omitted: 0,
        }
    }

    fn finish(self) -> FileDone {
        FileDone {
            file: self.file.unwrap_or_default(),
            findings: self.findings,
            claims: self.claims,
            explicit: self.explicit,
            agency_code: self.agency_code,
            reviewer_keys: self.reviewer_keys,
            ids: self.ids,
            desired: self.desired,
            errors: self.errors,
            omitted: self.omitted,
        }
    }

    /// Every file adds itself once, at its own index.
    fn add_file(&mut self, path: String, text: String) -> usize {
        debug_assert!(self.file.is_none(), "one file per check");
        self.file = Some((path, text));
        self.index
    }

    fn path(&self) -> String {
        self.file.as_ref().map(|f| f.0.clone()).unwrap_or_default()
    }

    fn push(&mut self, msg: Msg, file: usize, pos: Pos, pointer: &str, width: usize) {
        if !msg.is_warning() {
            if self.errors >= MAX_ERRORS_PER_FILE {
                self.omitted += 1;
                return;
            }
            self.errors += 1;
        }
        self.findings.push(Finding {
            msg,
            file,
            pos,
            pointer: pointer.to_string(),
            width,
        });
    }

    /// A finding about the value at `pointer` (or about its key when `on_key`).
    fn at(&mut self, msg: Msg, file: usize, root: &Node, pointer: &str, on_key: bool) {
        let (pos, width) = locate(root, pointer, on_key);
        self.push(msg, file, pos, pointer, width);
    }

    /// Read a file's text; size, encoding and layout problems become findings.
    fn read_text(&mut self, file: &SourceFile) -> Option<(usize, String)> {
        let msg = match &file.entry {
            Entry::File(bytes) => match std::str::from_utf8(bytes) {
                Ok(t) => {
                    let text = yaml::normalize_text(t).into_owned();
                    let idx = self.add_file(file.path.clone(), text.clone());
                    return Some((idx, text));
                }
                Err(e) => {
                    // Point at the first bad byte's line.
                    let good = &bytes[..e.valid_up_to()];
                    let line = good.iter().filter(|b| **b == b'\n').count() as u32 + 1;
                    let idx = self.add_file(file.path.clone(), String::new());
                    self.push(Msg::NotUtf8, idx, Pos { line, col: 1 }, "", 1);
                    return None;
                }
            },
            Entry::TooLarge(size) => Msg::TooLarge {
                size: *size,
                limit: crate::source::MAX_FILE_SIZE,
            },
            Entry::Symlink => Msg::OutsideLayout { what: "symlink" },
            Entry::Submodule => Msg::OutsideLayout { what: "submodule" },
            Entry::Special => Msg::OutsideLayout { what: "special" },
            Entry::Unreadable(e) => Msg::ReadFailed(e.clone()),
        };
        let idx = self.add_file(file.path.clone(), String::new());
        self.push(msg, idx, Pos::default(), "", 0);
        None
    }

    /// Parse YAML and check it against a schema: findings for both.
    fn parse_and_check(&mut self, idx: usize, text: &str, is_agency: bool) -> Option<(Node, Json)> {
        let parsed = yaml::parse(text);
        for e in &parsed.errors {
            let msg = match &e.kind {
                YamlErrorKind::Syntax(s) => Msg::Syntax(s.clone()),
                YamlErrorKind::DuplicateKey { key, first } => Msg::DuplicateKey {
                    key: key.clone(),
                    first_line: first.line,
                },
                YamlErrorKind::Anchor => Msg::Anchor,
                YamlErrorKind::Alias => Msg::Alias,
                YamlErrorKind::Tag(t) => Msg::Tag(t.clone()),
                YamlErrorKind::TabIndent => Msg::TabIndent,
                YamlErrorKind::ComplexKey => Msg::ComplexKey,
                YamlErrorKind::MultipleDocuments => Msg::MultipleDocuments,
                YamlErrorKind::TooDeep => Msg::TooDeep,
            };
            let width = match &e.kind {
                YamlErrorKind::DuplicateKey { key, .. } => key.chars().count(),
                _ => 1,
            };
            self.push(msg, idx, e.pos, "", width);
        }
        let Some(root) = parsed.root else {
            if parsed.errors.is_empty() {
                self.push(Msg::EmptyDocument, idx, Pos { line: 1, col: 1 }, "", 1);
            }
            return None;
        };
        let json = root.to_json();
        let validator = if is_agency {
            &self.sh.validators.agency
        } else {
            &self.sh.validators.settings
        };
        if validator.is_valid(&json) {
            return Some((root, json));
        }
        let schema = if is_agency {
            &self.sh.agency_schema
        } else {
            &self.sh.settings_schema
        };
        let mut found = Vec::new();
        let mut skipped = 0;
        for err in validator.iter_errors(&json) {
            let pointer = err.instance_path().as_str().to_string();
            found.push(self.schema_finding(&err, &pointer, &root, schema, &mut skipped));
        }
        self.omitted += skipped;
        let found: Vec<(Msg, String, bool)> = found.into_iter().flatten().collect();
        // A misspelled required key is reported once, as the misspelling.
        let misspelled: std::collections::HashSet<(String, String)> = found
            .iter()
            .filter_map(|(m, p, _)| match m {
                Msg::UnknownKey {
                    suggestion: Some(s),
                    ..
                } => Some((
                    p.rsplit_once('/').map_or("", |x| x.0).to_string(),
                    s.clone(),
                )),
                _ => None,
            })
            .collect();
        // In the file's order, so that a file with more errors than are
        // kept keeps its first ones.
        let mut located: Vec<(Pos, usize, Msg, String)> = found
            .into_iter()
            .filter(|(msg, pointer, _)| match msg {
                Msg::MissingKey { key } => !misspelled.contains(&(pointer.clone(), key.clone())),
                _ => true,
            })
            .map(|(msg, pointer, on_key)| {
                let (pos, width) = locate(&root, &pointer, on_key);
                (pos, width, msg, pointer)
            })
            .collect();
        located.sort_by_key(|(pos, ..)| *pos);
        for (pos, width, msg, pointer) in located {
            self.push(msg, idx, pos, &pointer, width);
        }
        Some((root, json))
    }

    fn schema_finding(
        &self,
        err: &jsonschema::ValidationError<'_>,
        pointer: &str,
        root: &Node,
        schema: &Json,
        skipped: &mut usize,
    ) -> Vec<(Msg, String, bool)> {
        use jsonschema::error::ValidationErrorKind as K;
        let instance = err.instance();
        // The key a value is written under: a list's key for its items
        // (`aliases` for `/mailbox/aliases/0`).
        let field = pointer
            .rsplit('/')
            .find(|seg| seg.parse::<usize>().is_err())
            .unwrap_or("")
            .to_string();
        match err.kind() {
            K::AdditionalProperties { unexpected } | K::UnevaluatedProperties { unexpected } => {
                let allowed: std::sync::Arc<[String]> =
                    schema::allowed_keys(schema, pointer).into();
                let key_pointer =
                    |key: &str| format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                // Only the keys that can still be kept are spelled out (and
                // searched for a "did you mean"): the first ones in the file.
                let room = MAX_ERRORS_PER_FILE.saturating_sub(self.errors);
                let mut keys: Vec<(Pos, &String)> = unexpected
                    .iter()
                    .map(|key| (locate(root, &key_pointer(key), true).0, key))
                    .collect();
                if keys.len() > room {
                    *skipped += keys.len() - room;
                    if room > 0 {
                        keys.select_nth_unstable_by_key(room - 1, |(pos, _)| *pos);
                    }
                    keys.truncate(room);
                }
                keys.into_iter()
                    .map(|(_, key)| {
                        let msg = Msg::UnknownKey {
                            key: key.clone(),
                            suggestion: suggest(key, &allowed),
                            allowed: allowed.clone(),
                        };
                        (msg, key_pointer(key), true)
                    })
                    .collect()
            }
            K::Required { property } => {
                let key = property.as_str().unwrap_or_default().to_string();
                vec![(Msg::MissingKey { key }, pointer.to_string(), true)]
            }
            K::Type { kind } => {
                let expected = match kind {
                    jsonschema::error::TypeKind::Single(t) => t.to_string(),
                    jsonschema::error::TypeKind::Multiple(set) => set
                        .iter()
                        .map(|t| t.to_string())
                        .find(|t| t != "null")
                        .unwrap_or_default(),
                };
                let number_like = expected == "string"
                    && matches!(root.lookup(pointer), Some((n, _)) if matches!(n.value, Value::Int(_) | Value::Float(_)));
                vec![(
                    Msg::WrongType {
                        expected,
                        found: json_type(instance),
                        number_like,
                    },
                    pointer.to_string(),
                    false,
                )]
            }
            K::Enum { options } => {
                let allowed = options
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                vec![(
                    Msg::NotAllowed {
                        value: display_value(instance),
                        allowed,
                    },
                    pointer.to_string(),
                    false,
                )]
            }
            K::Constant { expected_value } => vec![(
                Msg::NotAllowed {
                    value: display_value(instance),
                    allowed: vec![display_value(expected_value)],
                },
                pointer.to_string(),
                false,
            )],
            K::Pattern { pattern } => {
                let kind = field_kind(pattern);
                // Names get a finer, character-level check of their own.
                if kind == FieldKind::Name {
                    return Vec::new();
                }
                let value = display_value(instance);
                if kind == FieldKind::Local
                    && let Some((local, _)) = value.split_once('@')
                {
                    let key = if pointer.contains("/aliases/") {
                        "aliases"
                    } else {
                        "address"
                    };
                    return vec![(
                        Msg::AddressWithDomain {
                            local: local.to_string(),
                            key,
                        },
                        pointer.to_string(),
                        false,
                    )];
                }
                // A reviewer is written under its agency's key: name the list.
                let field = if kind == FieldKind::Reviewer {
                    "reviewers".to_string()
                } else {
                    field
                };
                vec![(
                    Msg::BadFormat {
                        field,
                        value,
                        expect: kind,
                    },
                    pointer.to_string(),
                    false,
                )]
            }
            K::Format { .. } => vec![(
                Msg::BadFormat {
                    field,
                    value: display_value(instance),
                    expect: FieldKind::Date,
                },
                pointer.to_string(),
                false,
            )],
            K::AnyOf { context } | K::OneOfNotValid { context } => {
                // `Option<T>` is `anyOf: [T, null]` and documented enums are
                // `oneOf` of constants: report what the real alternatives say.
                let real: Vec<&Vec<jsonschema::ValidationError<'static>>> = context
                    .iter()
                    .filter(|errs| {
                        !errs.iter().all(|e| {
                            matches!(e.kind(), K::Type { kind: jsonschema::error::TypeKind::Single(t) } if t.to_string() == "null")
                        })
                    })
                    .collect();
                let constants: Vec<String> = real
                    .iter()
                    .flat_map(|errs| errs.iter())
                    .filter_map(|e| match e.kind() {
                        K::Constant { expected_value } => Some(display_value(expected_value)),
                        _ => None,
                    })
                    .collect();
                if !constants.is_empty() && constants.len() == real.len() {
                    return vec![(
                        Msg::NotAllowed {
                            value: display_value(instance),
                            allowed: constants,
                        },
                        pointer.to_string(),
                        false,
                    )];
                }
                if let [only] = real.as_slice() {
                    return only
                        .iter()
                        .flat_map(|e| {
                            let p = e.instance_path().as_str().to_string();
                            self.schema_finding(e, &p, root, schema, skipped)
                        })
                        .collect();
                }
                vec![(
                    Msg::SchemaOther {
                        keyword: err.kind().keyword().to_string(),
                        detail: err.to_string(),
                    },
                    pointer.to_string(),
                    false,
                )]
            }
            // Name the whole range the field allows, whichever end was passed.
            K::Minimum { .. }
            | K::Maximum { .. }
            | K::ExclusiveMinimum { .. }
            | K::ExclusiveMaximum { .. } => {
                let here = schema::at(schema, pointer);
                let limit = |key: &str| here.and_then(|s| s.get(key)).map(display_value);
                vec![(
                    Msg::OutOfRange {
                        field,
                        value: display_value(instance),
                        min: limit("minimum"),
                        max: limit("maximum"),
                    },
                    pointer.to_string(),
                    false,
                )]
            }
            K::MinLength { .. } | K::MaxLength { .. } => {
                let here = schema::at(schema, pointer);
                let limit = |key: &str| here.and_then(|s| s.get(key)).and_then(Json::as_u64);
                vec![(
                    Msg::BadLength {
                        field,
                        length: instance.as_str().map_or(0, |t| t.chars().count()),
                        min: limit("minLength"),
                        max: limit("maxLength"),
                    },
                    pointer.to_string(),
                    false,
                )]
            }
            _ => vec![(
                Msg::SchemaOther {
                    keyword: err.kind().keyword().to_string(),
                    detail: err.to_string(),
                },
                pointer.to_string(),
                false,
            )],
        }
    }

    fn settings(&mut self, file: Option<&SourceFile>) -> Option<Settings> {
        let Some(file) = file else {
            let idx = self.add_file(crate::source::SETTINGS_FILE.into(), String::new());
            self.push(Msg::SettingsMissing, idx, Pos::default(), "", 0);
            return None;
        };
        let (idx, text) = self.read_text(file)?;
        let errors = self.errors + self.omitted;
        let (root, json) = self.parse_and_check(idx, &text, false)?;
        let settings: Settings = match serde_json::from_value(json) {
            Ok(settings) => settings,
            Err(e) => {
                // The schema and the types agree; should they ever not, the
                // file is refused here rather than read as nothing.
                if self.errors + self.omitted == errors {
                    self.push(Msg::Undecodable(e.to_string()), idx, Pos::default(), "", 0);
                }
                return None;
            }
        };
        if let Some(r) = &settings.reviewers {
            for key in r.agencies.keys() {
                let pointer = format!(
                    "/reviewers/agencies/{}",
                    key.replace('~', "~0").replace('/', "~1")
                );
                let (pos, width) = match root.lookup(&pointer) {
                    Some((_, Some(k))) => (k.pos, k.name.chars().count().max(1)),
                    Some((n, _)) => (n.text_pos(), node_width(n)),
                    None => (root.pos, 1),
                };
                self.reviewer_keys.push(ReviewerKey {
                    key: key.clone(),
                    file: idx,
                    pos,
                    pointer,
                    width,
                });
            }
        }
        // Mailboxes without a quota get the default: it must fit the maximum.
        if let (Some(default), Some(max)) = (
            model::parse_quota(&settings.policy.default_quota),
            model::parse_quota(&settings.policy.max_quota),
        ) && default > max
        {
            self.at(
                Msg::QuotaOverMax {
                    value: settings.policy.default_quota.clone(),
                    max: settings.policy.max_quota.clone(),
                },
                idx,
                &root,
                "/policy/defaultQuota",
                false,
            );
        }
        for (pointer, value) in [
            ("/policy/defaultQuota", &settings.policy.default_quota),
            ("/policy/maxQuota", &settings.policy.max_quota),
        ] {
            if model::parse_quota(value).is_none() {
                self.at(
                    Msg::QuotaUnreadable {
                        value: value.clone(),
                    },
                    idx,
                    &root,
                    pointer,
                    false,
                );
            }
        }
        Some(settings)
    }

    /// Check one file under `agencies/`. Returns whether it held an agency.
    fn agency_file(&mut self, file: &SourceFile) -> bool {
        if !file.path.ends_with(".yaml") || !matches!(file.entry, Entry::File(_)) {
            if matches!(file.entry, Entry::File(_)) {
                let what = if file.path.ends_with(".yml") {
                    "yml"
                } else {
                    "file"
                };
                let idx = self.add_file(file.path.clone(), String::new());
                self.push(Msg::OutsideLayout { what }, idx, Pos::default(), "", 0);
                return false;
            }
            self.read_text(file);
            return false;
        }
        let Some((idx, text)) = self.read_text(file) else {
            return false;
        };
        let errors = self.errors + self.omitted;
        let Some((root, json)) = self.parse_and_check(idx, &text, true) else {
            return false;
        };
        let Json::Object(mut map) = json else {
            return false;
        };
        // Decode the agency, then each unit and person on its own, so that
        // one broken entry does not hide the findings about the others.
        let units = map.remove("units");
        let people = map.remove("people");
        let agency = match serde_json::from_value::<Agency>(Json::Object(map)) {
            Ok(agency) => agency,
            Err(e) => {
                if self.errors + self.omitted == errors {
                    self.push(Msg::Undecodable(e.to_string()), idx, Pos::default(), "", 0);
                }
                return true;
            }
        };
        let units: Vec<Option<Unit>> = decode_list(units, &self.sh.unit_keys);
        let people: Vec<Option<Person>> = decode_list(people, &self.sh.person_keys);
        self.check_agency(idx, &root, &agency, &units, &people);
        true
    }

    fn check_agency(
        &mut self,
        idx: usize,
        root: &Node,
        agency: &Agency,
        units: &[Option<Unit>],
        people: &[Option<Person>],
    ) {
        if agency.api_version != API_VERSION || agency.kind != "Agency" {
            return;
        }
        let (pos, width) = value_pos(root, "/code");
        self.agency_code = Some(CodeDecl {
            code: agency.code.clone(),
            abbr: agency.abbr.clone(),
            former_abbrs: agency.former_abbrs.iter().map(|a| a.0.clone()).collect(),
            file: idx,
            pos,
            width,
        });
        self.check_org_name(idx, root, "/name", &agency.name);
        for (i, former) in agency.former_abbrs.iter().enumerate() {
            if former.0 == agency.abbr {
                self.at(
                    Msg::FormerAbbrIsCurrent {
                        abbr: former.0.clone(),
                    },
                    idx,
                    root,
                    &format!("/formerAbbrs/{i}"),
                    false,
                );
            }
        }

        // The agency's own mailbox.
        let derived = if agency.agency_type.named_by_place() {
            match naming::commune_local(&agency.name) {
                Ok(expected) => {
                    if expected != agency.abbr {
                        self.at(
                            Msg::CommuneAbbr {
                                abbr: agency.abbr.clone(),
                                expected: expected.clone(),
                            },
                            idx,
                            root,
                            "/abbr",
                            false,
                        );
                    }
                    expected
                }
                Err(_) => agency.abbr.clone(),
            }
        } else {
            agency.abbr.clone()
        };
        let base = MailboxBase {
            agency,
            display_name: nfc_clean(&agency.name),
        };
        self.org_mailbox(
            idx,
            root,
            &base,
            desired::agency_key(&agency.code),
            MailboxKind::Agency,
            None,
            &derived,
            agency.mailbox.as_ref(),
            "/mailbox",
            "",
        );

        let mut unit_codes: HashMap<&str, u32> = HashMap::new();
        for (i, unit) in units.iter().enumerate() {
            let Some(unit) = unit else { continue };
            let pointer = format!("/units/{i}");
            let line = root
                .lookup(&format!("{pointer}/code"))
                .map_or(0, |(n, _)| n.pos.line);
            if let Some(&first_line) = unit_codes.get(unit.code.as_str()) {
                self.at(
                    Msg::DuplicateUnitCode {
                        code: unit.code.clone(),
                        first_line,
                    },
                    idx,
                    root,
                    &format!("{pointer}/code"),
                    false,
                );
                continue;
            }
            unit_codes.insert(&unit.code, line);
            self.check_org_name(idx, root, &format!("{pointer}/name"), &unit.name);
            let base = MailboxBase {
                agency,
                display_name: nfc_clean(&unit.name),
            };
            self.org_mailbox(
                idx,
                root,
                &base,
                desired::unit_key(&agency.code, &unit.code),
                MailboxKind::Unit,
                Some(unit.code.clone()),
                &naming::unit_local(&unit.abbr, &agency.abbr),
                unit.mailbox.as_ref(),
                &format!("{pointer}/mailbox"),
                &pointer,
            );
        }

        let known_units: Vec<String> = units.iter().flatten().map(|u| u.code.clone()).collect();
        for (i, person) in people.iter().enumerate() {
            if let Some(person) = person {
                self.check_person(idx, root, agency, &known_units, i, person);
            }
        }
    }

    /// The mailbox of an agency or a unit.
    #[allow(clippy::too_many_arguments)]
    fn org_mailbox(
        &mut self,
        idx: usize,
        root: &Node,
        base: &MailboxBase<'_>,
        key: String,
        kind: MailboxKind,
        unit_code: Option<String>,
        derived: &str,
        settings: Option<&MailboxSettings>,
        mailbox_pointer: &str,
        decl_pointer: &str,
    ) {
        let default = MailboxSettings::default();
        let m = settings.unwrap_or(&default);
        let local = match &m.address {
            Some(Local(explicit)) => {
                if !explicit.eq_ignore_ascii_case(derived) {
                    self.at(
                        Msg::AddressNotConforming {
                            address: explicit.clone(),
                            expected: derived.to_string(),
                            legacy: m.legacy,
                            person: false,
                        },
                        idx,
                        root,
                        &format!("{mailbox_pointer}/address"),
                        false,
                    );
                }
                explicit.to_ascii_lowercase()
            }
            None => derived.to_string(),
        };
        let claim_pointer = if m.address.is_some() {
            format!("{mailbox_pointer}/address")
        } else if kind == MailboxKind::Agency {
            "/abbr".to_string()
        } else {
            format!("{decl_pointer}/abbr")
        };
        self.claim(&local, &key, idx, root, &claim_pointer);
        let aliases = self.aliases(idx, root, &key, &m.aliases, mailbox_pointer);
        let (status, lock) = self.status(idx, root, m.status, m.lock.as_ref(), mailbox_pointer);
        let quota = self.quota(idx, root, m.quota.as_deref(), mailbox_pointer);
        self.desired.push(DesiredMailbox {
            key,
            kind,
            address: format!("{local}@{}", self.sh.domain),
            aliases,
            display_name: base.display_name.clone(),
            given_name: None,
            surname: None,
            title: None,
            agency_code: base.agency.code.clone(),
            agency_abbr: base.agency.abbr.clone(),
            agency_type: base.agency.agency_type,
            former_abbrs: base
                .agency
                .former_abbrs
                .iter()
                .map(|a| a.0.clone())
                .collect(),
            unit_code,
            status,
            public: true,
            lock,
            quota,
            file: self.path(),
            pointer: if decl_pointer.is_empty() {
                String::new()
            } else {
                decl_pointer.to_string()
            },
        });
    }

    fn check_person(
        &mut self,
        idx: usize,
        root: &Node,
        agency: &Agency,
        known_units: &[String],
        i: usize,
        p: &Person,
    ) {
        let pointer = format!("/people/{i}");
        let key = desired::person_key(&p.id);
        let id_pointer = format!("{pointer}/id");
        let (id_pos, id_width) = value_pos(root, &id_pointer);
        let id_line = root.lookup(&id_pointer).map_or(0, |(n, _)| n.pos.line);
        // A second person with the same id is still checked, but claims no
        // address and asks for no mailbox. (Ids declared in another file
        // are compared when the files are merged.)
        let duplicate = if let Some(&other_line) = self.person_ids.get(&p.id) {
            let other_file = self.path();
            self.push(
                Msg::DuplicatePersonId {
                    id: p.id.clone(),
                    other_file,
                    other_line,
                },
                idx,
                id_pos,
                &id_pointer,
                id_width,
            );
            true
        } else {
            self.person_ids.insert(p.id.clone(), id_line);
            self.ids.push(IdDecl {
                id: p.id.clone(),
                file: idx,
                pointer: id_pointer.clone(),
                line: id_line,
                pos: id_pos,
                width: id_width,
            });
            false
        };

        // The name is folded once; every rule below reads that.
        let name_fold = self.check_person_name(idx, root, &format!("{pointer}/name"), &p.name);
        let given_fold = match &p.given {
            Some(g) => self
                .check_person_name(idx, root, &format!("{pointer}/given"), g)
                .map(Some),
            None => Some(None),
        };
        let parts = match (&name_fold, &given_fold) {
            (Some(n), Some(g)) => Some(naming::person_parts_folded(
                n,
                g.as_deref(),
                &p.name,
                p.given.as_deref(),
            )),
            _ => None,
        };
        if let (Some(g), Some(Err(naming::DeriveError::GivenNotFound { .. }))) = (&p.given, &parts)
        {
            self.at(
                Msg::GivenNotInName {
                    given: g.clone(),
                    name: p.name.clone(),
                },
                idx,
                root,
                &format!("{pointer}/given"),
                false,
            );
        }
        // A title is shown in the directory: the same letters as a name.
        if let Some(title) = &p.title {
            self.check_org_name(idx, root, &format!("{pointer}/title"), title);
        }
        if let Some(unit) = &p.unit
            && !known_units.contains(unit)
        {
            self.at(
                Msg::UnknownUnit {
                    unit: unit.clone(),
                    known: known_units.to_vec(),
                },
                idx,
                root,
                &format!("{pointer}/unit"),
                false,
            );
        }

        let parts = match parts {
            Some(Ok(parts)) => Some(parts),
            Some(Err(naming::DeriveError::GivenNotFound { .. })) | None => None,
            Some(Err(e)) => {
                self.at(
                    Msg::NameUnusable(e.to_string()),
                    idx,
                    root,
                    &format!("{pointer}/name"),
                    false,
                );
                None
            }
        };
        let derived = parts.as_ref().map(|x| x.local(&agency.abbr));
        let local = match (&p.address, &derived) {
            _ if duplicate => None,
            (Some(Local(explicit)), Some(derived)) => {
                if !explicit.eq_ignore_ascii_case(derived) {
                    let given_slug = parts.as_ref().map(|x| x.given.clone()).unwrap_or_default();
                    let ap = format!("{pointer}/address");
                    let (pos, width) = match root.lookup(&ap) {
                        Some((n, _)) => (n.text_pos(), node_width(n)),
                        None => (root.pos, 1),
                    };
                    self.explicit.push(ExplicitAddress {
                        key: key.clone(),
                        explicit: explicit.clone(),
                        derived: derived.clone(),
                        given_slug,
                        abbr: agency.abbr.clone(),
                        legacy: p.legacy,
                        file: idx,
                        pos,
                        pointer: ap,
                        width,
                    });
                }
                Some(explicit.to_ascii_lowercase())
            }
            (Some(Local(explicit)), None) => Some(explicit.to_ascii_lowercase()),
            (None, Some(derived)) => Some(derived.clone()),
            (None, None) => None,
        };
        let claim_pointer = if p.address.is_some() {
            format!("{pointer}/address")
        } else {
            format!("{pointer}/name")
        };
        if let Some(local) = &local {
            self.claim(local, &key, idx, root, &claim_pointer);
        }
        let aliases = if duplicate {
            Vec::new()
        } else {
            self.aliases(idx, root, &key, &p.aliases, &pointer)
        };
        let (status, lock) = self.status(idx, root, p.status, p.lock.as_ref(), &pointer);
        let quota = self.quota(idx, root, p.quota.as_deref(), &pointer);
        let Some(local) = local else { return };
        let display_name = nfc_clean(&p.name);
        let (given_name, surname) = split_name(
            &display_name,
            p.given.as_deref(),
            parts.as_ref().map(|x| x.given_words),
        );
        self.desired.push(DesiredMailbox {
            key,
            kind: MailboxKind::Person,
            address: format!("{local}@{}", self.sh.domain),
            aliases,
            display_name,
            given_name: Some(given_name),
            surname: Some(surname),
            title: p.title.as_ref().map(|t| nfc_clean(t)),
            agency_code: agency.code.clone(),
            agency_abbr: agency.abbr.clone(),
            agency_type: agency.agency_type,
            former_abbrs: agency.former_abbrs.iter().map(|a| a.0.clone()).collect(),
            unit_code: p.unit.clone(),
            status,
            public: p.public,
            lock,
            quota,
            file: self.path(),
            pointer,
        });
    }

    fn claim(&mut self, local: &str, key: &str, idx: usize, root: &Node, pointer: &str) {
        let address = local.to_ascii_lowercase();
        let (pos, width) = match root.lookup(pointer) {
            Some((n, _)) => (n.text_pos(), node_width(n)),
            None => (root.pos, 1),
        };
        let claim = Claim {
            key: key.to_string(),
            file: idx,
            pos,
            pointer: pointer.to_string(),
            width,
        };
        self.claims.push((address, claim));
    }

    fn aliases(
        &mut self,
        idx: usize,
        root: &Node,
        key: &str,
        aliases: &[Local],
        owner_pointer: &str,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for (j, alias) in aliases.iter().enumerate() {
            let local = alias.0.to_ascii_lowercase();
            self.claim(
                &local,
                key,
                idx,
                root,
                &format!("{owner_pointer}/aliases/{j}"),
            );
            out.push(format!("{local}@{}", self.sh.domain));
        }
        out.sort();
        out.dedup();
        out
    }

    fn status(
        &mut self,
        idx: usize,
        root: &Node,
        status: Status,
        lock: Option<&Lock>,
        owner: &str,
    ) -> (Status, Option<Lock>) {
        match (status, lock) {
            (Status::Locked, None) => {
                let p = format!("{owner}/status");
                self.at(Msg::LockMissing, idx, root, &p, false);
            }
            (Status::Active, Some(_)) => {
                self.at(Msg::LockIgnored, idx, root, &format!("{owner}/lock"), true);
            }
            (Status::Locked, Some(lock)) => {
                let p = format!("{owner}/lock/since");
                match NaiveDate::parse_from_str(&lock.since, "%Y-%m-%d") {
                    Ok(since) if since > self.sh.today => {
                        let msg = Msg::LockInFuture {
                            since: lock.since.clone(),
                            today: self.sh.today.to_string(),
                        };
                        self.at(msg, idx, root, &p, false);
                    }
                    Ok(_) => {}
                    Err(_) => {
                        let msg = Msg::BadDate {
                            value: lock.since.clone(),
                        };
                        self.at(msg, idx, root, &p, false);
                    }
                }
            }
            (Status::Active, None) => {}
        }
        let lock = if status == Status::Locked {
            lock.cloned()
        } else {
            None
        };
        (status, lock)
    }

    fn quota(&mut self, idx: usize, root: &Node, quota: Option<&str>, owner: &str) -> u64 {
        let Some(q) = quota else {
            return self.sh.default_quota;
        };
        let p = format!("{owner}/quota");
        match model::parse_quota(q) {
            None => {
                let msg = Msg::QuotaUnreadable {
                    value: q.to_string(),
                };
                self.at(msg, idx, root, &p, false);
                self.sh.default_quota
            }
            Some(bytes) => {
                if let Some(max) = self.sh.max_quota
                    && bytes > max
                {
                    let msg = Msg::QuotaOverMax {
                        value: q.to_string(),
                        max: self.sh.policy.max_quota.clone(),
                    };
                    self.at(msg, idx, root, &p, false);
                }
                bytes
            }
        }
    }

    /// Where a character of a scalar's text is: its column on the line.
    fn char_pos(&self, root: &Node, pointer: &str, position: usize) -> (Pos, usize) {
        match root.lookup(pointer) {
            Some((n, _)) => {
                let p = n.text_pos();
                (
                    Pos {
                        line: p.line,
                        col: p.col + position.saturating_sub(1) as u32,
                    },
                    1,
                )
            }
            None => (root.pos, 1),
        }
    }

    /// Character checks shared by every name: invisible and control
    /// characters are errors, decomposed text a warning. True when clean.
    fn name_notices(&mut self, idx: usize, root: &Node, pointer: &str, name: &str) -> bool {
        let mut ok = true;
        for notice in naming::notices(name) {
            match notice {
                NameNotice::NotNfc => {
                    self.at(Msg::NameNotNfc, idx, root, pointer, false);
                }
                NameNotice::Invisible { ch, position } | NameNotice::Control { ch, position } => {
                    let (pos, width) = self.char_pos(root, pointer, position);
                    self.push(
                        Msg::NameInvisible { ch, position },
                        idx,
                        pos,
                        pointer,
                        width,
                    );
                    ok = false;
                }
            }
        }
        ok
    }

    /// A person's name must fold: only Vietnamese and ASCII letters.
    /// Returns the folded name when it is clean (no finding about it).
    fn check_person_name(
        &mut self,
        idx: usize,
        root: &Node,
        pointer: &str,
        name: &str,
    ) -> Option<String> {
        let clean = self.name_notices(idx, root, pointer, name);
        match naming::fold(name) {
            // Letters, spaces, `'` and `-` only: no digit, no other dash.
            Ok(_) if let Some(err) = naming::person_name_error(name) => {
                let (pos, width) = self.char_pos(root, pointer, err.position);
                self.push(Msg::NameChar { err }, idx, pos, pointer, width);
                None
            }
            Ok(folded) => clean.then_some(folded),
            Err(err) => {
                let (pos, width) = self.char_pos(root, pointer, err.position);
                self.push(Msg::NameChar { err }, idx, pos, pointer, width);
                None
            }
        }
    }

    /// An organisation's name may hold punctuation, but its letters must be
    /// Vietnamese or ASCII ones.
    fn check_org_name(&mut self, idx: usize, root: &Node, pointer: &str, name: &str) {
        self.name_notices(idx, root, pointer, name);
        let letters: String = name
            .chars()
            .map(|c| if ORG_PUNCTUATION.contains(c) { ' ' } else { c })
            .collect();
        if letters.trim().is_empty() {
            return;
        }
        if let Err(err) = naming::fold(&letters) {
            if err.ch.is_none() {
                return;
            }
            let (pos, width) = self.char_pos(root, pointer, err.position);
            self.push(Msg::NameChar { err }, idx, pos, pointer, width);
        }
    }
}

/// Punctuation an organisation's name may hold.
pub const ORG_PUNCTUATION: &str = ",.()&/:;\"–-";

struct MailboxBase<'a> {
    agency: &'a Agency,
    display_name: String,
}

/// Decode each item of a list; an item with unknown keys (already reported)
/// is decoded without them, so the rest of it is still checked.
fn decode_list<T: serde::de::DeserializeOwned>(
    list: Option<Json>,
    known: &[String],
) -> Vec<Option<T>> {
    match list {
        Some(Json::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                // Unknown keys (already reported) are left out first, so
                // that the rest of the item is still checked.
                Json::Object(mut m) => {
                    m.retain(|k, _| known.iter().any(|a| a == k));
                    serde_json::from_value(Json::Object(m)).ok()
                }
                other => serde_json::from_value(other).ok(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn display_value(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// NFC, single spaces, trimmed: the form a name is stored in.
pub fn nfc_clean(s: &str) -> String {
    let already =
        unicode_normalization::is_nfc_quick(s.chars()) == unicode_normalization::IsNormalized::Yes;
    if already && !s.contains(|c: char| c.is_whitespace() && c != ' ') && !s.contains("  ") {
        return s.trim().to_string();
    }
    let nfc: String = s.nfc().collect();
    nfc.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// (given name, the rest) of a display name; with `given` set, those words
/// (the last run of words that folds equal to it).
/// `given_words`: the words of the given name when the address rules
/// found them (the words of the display name are the name's folded tokens).
fn split_name(
    display: &str,
    given: Option<&str>,
    given_words: Option<(usize, usize)>,
) -> (String, String) {
    let words: Vec<&str> = display.split(' ').collect();
    let (from, to) = match given_words.filter(|(_, to)| *to <= words.len()) {
        Some(range) => range,
        None => {
            let folded: Vec<String> = words
                .iter()
                .map(|w| naming::fold(w).unwrap_or_default())
                .collect();
            match given.and_then(|g| naming::fold(g).ok()) {
                Some(g) => {
                    let want: Vec<&str> = g.split(' ').collect();
                    folded
                        .windows(want.len())
                        .rposition(|w| w.iter().zip(&want).all(|(a, b)| a == b))
                        .map_or((words.len() - 1, words.len()), |i| (i, i + want.len()))
                }
                None => (words.len() - 1, words.len()),
            }
        }
    };
    let given_name = words[from..to].join(" ");
    let rest: Vec<&str> = words
        .iter()
        .enumerate()
        .filter(|(i, _)| !(from..to).contains(i))
        .map(|(_, w)| *w)
        .collect();
    let surname = if rest.is_empty() {
        given_name.clone()
    } else {
        rest.join(" ")
    };
    (given_name, surname)
}
