//! `hopthu diff`: what a pull request asks for, read from two revisions of
//! the repository, without the live directory. Both revisions are
//! validated with the same validator and their desired mailboxes compared
//! by key: new, renamed (same key, another address), locked, unlocked,
//! revoked (the key is gone) and updated (name, title, quota, aliases,
//! unit, agency, public listing, lock details). The comparison is pure; only
//! reading the revisions touches git.

use crate::desired::{DesiredMailbox, MailboxKind};
use crate::diagnostics::{self, Diagnostic};
use crate::model::{Language, Lock, LockReason, Status};
use crate::source::FileSet;
use crate::tr;
use crate::validate::Outcome;
use git2::Repository;
use serde::Serialize;
use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

/// `--head WORKTREE`: the files as they are on disk.
pub const WORKTREE: &str = "WORKTREE";
/// `--head INDEX`: the files as they are staged for the next commit.
pub const INDEX: &str = "INDEX";

/// A markdown comment longer than this is cut (GitHub refuses comments
/// over 65,536 characters).
const MARKDOWN_BUDGET: usize = 60_000;
/// Longer lists are folded in `<details>` in markdown.
const FOLD_ROWS: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("{root} is not in a git repository: {reason}")]
    NotARepository { root: String, reason: String },
    #[error("unknown revision `{rev}` (--{which}) in {repo}: {reason}")]
    UnknownRevision {
        which: &'static str,
        rev: String,
        repo: String,
        reason: String,
    },
    #[error("{0}")]
    Read(String),
}

impl DiffError {
    /// The message for people, in their language.
    pub fn text(&self, lang: Language) -> String {
        match (self, lang) {
            (DiffError::NotARepository { root, reason }, Language::Vi) => {
                format!("{root} không nằm trong một kho git: {reason}")
            }
            (
                DiffError::UnknownRevision {
                    which,
                    rev,
                    repo,
                    reason,
                },
                Language::Vi,
            ) => format!("không tìm thấy phiên bản `{rev}` (--{which}) trong kho {repo}: {reason}"),
            (DiffError::Read(why), Language::Vi) => format!("không đọc được kho: {why}"),
            (e, Language::En) => e.to_string(),
        }
    }
}

/// One of the two revisions compared.
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Side {
    /// As given: a branch, a tag, a commit, `WORKTREE` or `INDEX`.
    pub rev: String,
    /// The commit it resolved to; none for the work tree and the index.
    pub commit: Option<String>,
    /// The revision has no repository at ROOT's path (it is being created,
    /// or removed): it counts as empty.
    pub missing: bool,
    pub valid: bool,
    pub errors: usize,
    pub warnings: usize,
    pub mailboxes: usize,
}

impl Side {
    fn label(&self) -> String {
        match &self.commit {
            Some(c) if !c.starts_with(&self.rev) => format!("{} ({})", self.rev, &c[..7]),
            Some(c) => c[..7].to_string(),
            None => self.rev.clone(),
        }
    }
}

/// The git repository holding ROOT, and ROOT's path inside it.
pub struct Source {
    repo: Repository,
    /// `/`-separated, empty when ROOT is the repository's top folder.
    pub prefix: String,
    root: std::path::PathBuf,
}

impl Source {
    pub fn open(root: &Path) -> Result<Source, DiffError> {
        let canonical = root.canonicalize().map_err(|e| DiffError::NotARepository {
            root: root.display().to_string(),
            reason: e.to_string(),
        })?;
        let repo = Repository::discover(&canonical).map_err(|e| DiffError::NotARepository {
            root: root.display().to_string(),
            reason: e.message().to_string(),
        })?;
        let workdir = repo
            .workdir()
            .and_then(|w| w.canonicalize().ok())
            .ok_or_else(|| DiffError::NotARepository {
                root: root.display().to_string(),
                reason: "the repository has no working tree".into(),
            })?;
        let prefix = canonical
            .strip_prefix(&workdir)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        Ok(Source {
            repo,
            prefix,
            root: root.to_path_buf(),
        })
    }

    /// The files of a revision: a commit-ish, `WORKTREE` or `INDEX`.
    pub fn read(&self, rev: &str, which: &'static str) -> Result<(FileSet, Side), DiffError> {
        let mut side = Side {
            rev: rev.to_string(),
            ..Side::default()
        };
        let no_path = |side: &mut Side| {
            side.missing = true;
            Ok((FileSet::default(), side.clone()))
        };
        if rev == WORKTREE {
            if !self.root.join(crate::source::SETTINGS_FILE).exists()
                && !self.root.join(crate::source::AGENCIES_DIR).exists()
            {
                return no_path(&mut side);
            }
            let files = FileSet::read_folder(&self.root)
                .map_err(|e| DiffError::Read(format!("{}: {e}", self.root.display())))?;
            return Ok((files, side));
        }
        let read_err = |e: crate::git::GitError| DiffError::Read(e.to_string());
        let tree = if rev == INDEX {
            let mut index = self
                .repo
                .index()
                .map_err(|e| DiffError::Read(format!("the index: {}", e.message())))?;
            let oid = index
                .write_tree()
                .map_err(|e| DiffError::Read(format!("the index: {}", e.message())))?;
            self.repo
                .find_tree(oid)
                .map_err(|e| DiffError::Read(format!("the index: {}", e.message())))?
        } else {
            // A repository with no commit yet: its HEAD is empty.
            if rev == "HEAD"
                && self
                    .repo
                    .head()
                    .is_err_and(|e| e.code() == git2::ErrorCode::UnbornBranch)
            {
                return no_path(&mut side);
            }
            let commit = self
                .repo
                .revparse_single(rev)
                .and_then(|o| o.peel_to_commit())
                .map_err(|e| DiffError::UnknownRevision {
                    which,
                    rev: rev.to_string(),
                    repo: self
                        .repo
                        .workdir()
                        .unwrap_or(self.repo.path())
                        .display()
                        .to_string(),
                    reason: match e.code() {
                        git2::ErrorCode::NotFound => tr!(
                            "không có nhánh, thẻ hay commit nào tên như vậy",
                            "no branch, tag or commit has that name"
                        ),
                        git2::ErrorCode::Ambiguous => tr!(
                            "nhiều commit bắt đầu như vậy; hãy ghi dài hơn",
                            "several commits start like that; write more of it"
                        ),
                        _ if e.class() == git2::ErrorClass::Object => {
                            tr!("đó không phải là một commit", "that is not a commit")
                        }
                        _ => e.message().to_string(),
                    },
                })?;
            side.commit = Some(commit.id().to_string());
            commit
                .tree()
                .map_err(|e| DiffError::Read(e.message().to_string()))?
        };
        match crate::git::files_in_tree(&self.repo, &tree, rev, &self.prefix) {
            Ok(files) => Ok((files, side)),
            Err(crate::git::GitError::NoPath { .. }) => no_path(&mut side),
            Err(e) => Err(read_err(e)),
        }
    }
}

/// One attribute that changes.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldChange {
    pub field: &'static str,
    pub from: Json,
    pub to: Json,
}

/// One mailbox the pull request changes.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub key: String,
    pub kind: MailboxKind,
    /// The address in the head (in the base for a revocation).
    pub address: String,
    /// A rename's old address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    pub name: String,
    /// The agency's abbreviation.
    pub agency: String,
    /// Where it is declared (in the base for a revocation), from the top of
    /// the git repository.
    pub file: String,
    /// A lock: the new one; for an unlock, the one lifted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock: Option<Lock>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
    /// A rename whose old address another mailbox of the head takes (its
    /// key): it stops delivering here at once, with no grace period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_address_to: Option<String>,
}

/// Mailboxes of the base whose file has errors in the head: whether they
/// are kept cannot be told until the file is fixed.
#[derive(Debug, Clone, Serialize)]
pub struct NotCompared {
    pub file: String,
    pub mailboxes: usize,
}

#[derive(Debug, Clone, Copy, Serialize, Default, PartialEq, Eq)]
pub struct Summary {
    pub revoked: usize,
    pub created: usize,
    pub renamed: usize,
    pub locked: usize,
    pub unlocked: usize,
    pub updated: usize,
}

impl Summary {
    pub fn total(&self) -> usize {
        self.revoked + self.created + self.renamed + self.locked + self.unlocked + self.updated
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrDiff {
    pub base: Side,
    pub head: Side,
    /// False when the head's `hopthu.yaml` cannot be read: then nothing is
    /// compared.
    pub compared: bool,
    /// The base's `hopthu.yaml` cannot be read: every mailbox of the head
    /// is shown as new.
    pub base_unreadable: bool,
    pub summary: Summary,
    pub revoked: Vec<Entry>,
    pub created: Vec<Entry>,
    pub renamed: Vec<Entry>,
    pub locked: Vec<Entry>,
    pub unlocked: Vec<Entry>,
    pub updated: Vec<Entry>,
    pub not_compared: Vec<NotCompared>,
    /// From the head's policy (the base's, or the default, when it has none).
    pub rename_grace_days: u32,
    pub max_deletes_per_run: u32,
    /// The head's validation results.
    pub diagnostics: Vec<Diagnostic>,
    #[serde(skip)]
    pub lang: Language,
}

impl PrDiff {
    pub fn head_valid(&self) -> bool {
        self.head.valid
    }
}

fn joined(prefix: &str, file: &str) -> String {
    if prefix.is_empty() {
        file.to_string()
    } else {
        format!("{prefix}/{file}")
    }
}

/// A quota in the format's own notation, with the unit that gives the
/// smallest number (`2GiB`, `10GB`).
pub fn quota_text(bytes: u64) -> String {
    const UNITS: [(u64, &str); 8] = [
        (1 << 40, "TiB"),
        (1_000_000_000_000, "TB"),
        (1 << 30, "GiB"),
        (1_000_000_000, "GB"),
        (1 << 20, "MiB"),
        (1_000_000, "MB"),
        (1 << 10, "KiB"),
        (1_000, "KB"),
    ];
    UNITS
        .iter()
        .filter(|(size, _)| bytes >= *size && bytes.is_multiple_of(*size))
        .min_by_key(|(size, _)| bytes / size)
        .map_or_else(
            || format!("{bytes}B"),
            |(size, unit)| format!("{}{unit}", bytes / size),
        )
}

fn opt(s: &Option<String>) -> Json {
    s.as_ref().map_or(Json::Null, |v| Json::from(v.as_str()))
}

/// What changes between two declarations of one mailbox, beyond its
/// address and its status.
fn field_changes(b: &DesiredMailbox, h: &DesiredMailbox) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut push = |field: &'static str, from: Json, to: Json| {
        if from != to {
            out.push(FieldChange { field, from, to });
        }
    };
    push(
        "name",
        Json::from(b.display_name.as_str()),
        Json::from(h.display_name.as_str()),
    );
    push("title", opt(&b.title), opt(&h.title));
    push(
        "quota",
        Json::from(quota_text(b.quota)),
        Json::from(quota_text(h.quota)),
    );
    push("aliases", json!(b.aliases), json!(h.aliases));
    push("unit", opt(&b.unit_code), opt(&h.unit_code));
    if b.agency_code != h.agency_code {
        push(
            "agency",
            Json::from(b.agency_abbr.as_str()),
            Json::from(h.agency_abbr.as_str()),
        );
    }
    if b.kind == MailboxKind::Person {
        push("public", Json::from(b.public), Json::from(h.public));
    }
    if b.status == Status::Locked && h.status == Status::Locked && b.lock != h.lock {
        push("lock", json!(b.lock), json!(h.lock));
    }
    out
}

fn entry(m: &DesiredMailbox, prefix: &str) -> Entry {
    Entry {
        key: m.key.clone(),
        kind: m.kind,
        address: m.address.clone(),
        from: None,
        name: m.display_name.clone(),
        agency: m.agency_abbr.clone(),
        file: joined(prefix, &m.file),
        lock: None,
        changes: Vec::new(),
        old_address_to: None,
    }
}

fn side_counts(side: &mut Side, o: &Outcome) {
    side.errors = o.errors();
    side.warnings = o.warnings();
    side.valid = o.is_valid();
    side.mailboxes = o.desired.len();
}

/// Compare two validated revisions. `prefix` is ROOT's path inside the git
/// repository, put before every file named.
pub fn compare(
    base: &Outcome,
    head: &Outcome,
    mut base_side: Side,
    mut head_side: Side,
    prefix: &str,
) -> PrDiff {
    side_counts(&mut base_side, base);
    side_counts(&mut head_side, head);
    let policy = head
        .settings
        .as_ref()
        .or(base.settings.as_ref())
        .map(|s| s.policy.clone())
        .unwrap_or_default();
    let mut diagnostics = head.diagnostics.clone();
    for d in &mut diagnostics {
        d.file = joined(prefix, &d.file);
    }
    let mut diff = PrDiff {
        compared: head.settings.is_some(),
        base_unreadable: !base_side.missing && base.settings.is_none(),
        base: base_side,
        head: head_side,
        summary: Summary::default(),
        revoked: Vec::new(),
        created: Vec::new(),
        renamed: Vec::new(),
        locked: Vec::new(),
        unlocked: Vec::new(),
        updated: Vec::new(),
        not_compared: Vec::new(),
        rename_grace_days: policy.rename_grace_days,
        max_deletes_per_run: policy.max_deletes_per_run,
        diagnostics,
        lang: head.lang,
    };
    if !diff.compared {
        return diff;
    }
    let empty: Vec<DesiredMailbox> = Vec::new();
    let base_boxes = if base.settings.is_some() {
        &base.desired
    } else {
        &empty
    };
    let head_by_key: HashMap<&str, &DesiredMailbox> =
        head.desired.iter().map(|m| (m.key.as_str(), m)).collect();
    let base_by_key: HashMap<&str, &DesiredMailbox> =
        base_boxes.iter().map(|m| (m.key.as_str(), m)).collect();
    // Who holds each address in the head: a rename's old address given to
    // another mailbox goes at once.
    let mut holders: HashMap<&str, &DesiredMailbox> = HashMap::new();
    for m in &head.desired {
        holders.insert(m.address.as_str(), m);
        for a in &m.aliases {
            holders.entry(a.as_str()).or_insert(m);
        }
    }
    let files_with_errors: HashSet<&str> = head
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.file.as_str())
        .collect();
    let mut not_compared: BTreeMap<String, usize> = BTreeMap::new();

    for b in base_boxes {
        let Some(h) = head_by_key.get(b.key.as_str()) else {
            if files_with_errors.contains(b.file.as_str()) {
                *not_compared.entry(joined(prefix, &b.file)).or_default() += 1;
            } else {
                diff.revoked.push(entry(b, prefix));
            }
            continue;
        };
        if b.address != h.address {
            let mut e = entry(h, prefix);
            e.from = Some(b.address.clone());
            e.old_address_to = holders
                .get(b.address.as_str())
                .filter(|other| other.key != h.key)
                .map(|other| other.key.clone());
            diff.renamed.push(e);
        }
        match (b.status, h.status) {
            (Status::Active, Status::Locked) => {
                let mut e = entry(h, prefix);
                e.lock = h.lock.clone();
                diff.locked.push(e);
            }
            (Status::Locked, Status::Active) => {
                let mut e = entry(h, prefix);
                e.lock = b.lock.clone();
                diff.unlocked.push(e);
            }
            _ => {}
        }
        let changes = field_changes(b, h);
        if !changes.is_empty() {
            let mut e = entry(h, prefix);
            e.changes = changes;
            diff.updated.push(e);
        }
    }
    for h in &head.desired {
        if !base_by_key.contains_key(h.key.as_str()) {
            let mut e = entry(h, prefix);
            if h.status == Status::Locked {
                e.lock = h.lock.clone();
            }
            diff.created.push(e);
        }
    }
    for list in [
        &mut diff.revoked,
        &mut diff.created,
        &mut diff.renamed,
        &mut diff.locked,
        &mut diff.unlocked,
        &mut diff.updated,
    ] {
        list.sort_by(|a, b| (&a.agency, &a.address, &a.key).cmp(&(&b.agency, &b.address, &b.key)));
    }
    diff.not_compared = not_compared
        .into_iter()
        .map(|(file, mailboxes)| NotCompared { file, mailboxes })
        .collect();
    diff.summary = Summary {
        revoked: diff.revoked.len(),
        created: diff.created.len(),
        renamed: diff.renamed.len(),
        locked: diff.locked.len(),
        unlocked: diff.unlocked.len(),
        updated: diff.updated.len(),
    };
    diff
}

// ---------------------------------------------------------------------------
// Words

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Revoked,
    Created,
    Renamed,
    Locked,
    Unlocked,
    Updated,
}

const KINDS: [Kind; 6] = [
    Kind::Revoked,
    Kind::Created,
    Kind::Renamed,
    Kind::Locked,
    Kind::Unlocked,
    Kind::Updated,
];

impl Kind {
    fn entries(self, d: &PrDiff) -> &[Entry] {
        match self {
            Kind::Revoked => &d.revoked,
            Kind::Created => &d.created,
            Kind::Renamed => &d.renamed,
            Kind::Locked => &d.locked,
            Kind::Unlocked => &d.unlocked,
            Kind::Updated => &d.updated,
        }
    }

    /// The word in a line of the terminal output and in the counts.
    fn word(self, lang: Language) -> &'static str {
        match (self, lang) {
            (Kind::Revoked, Language::Vi) => "thu hồi",
            (Kind::Created, Language::Vi) => "tạo mới",
            (Kind::Renamed, Language::Vi) => "đổi tên",
            (Kind::Locked, Language::Vi) => "khóa",
            (Kind::Unlocked, Language::Vi) => "mở khóa",
            (Kind::Updated, Language::Vi) => "cập nhật",
            (Kind::Revoked, Language::En) => "revoked",
            (Kind::Created, Language::En) => "new",
            (Kind::Renamed, Language::En) => "renamed",
            (Kind::Locked, Language::En) => "locked",
            (Kind::Unlocked, Language::En) => "unlocked",
            (Kind::Updated, Language::En) => "updated",
        }
    }

    fn heading(self, lang: Language) -> &'static str {
        match (self, lang) {
            (Kind::Revoked, Language::Vi) => "⚠️ Thu hồi: hộp thư sẽ bị xóa",
            (Kind::Created, Language::Vi) => "Tạo mới",
            (Kind::Renamed, Language::Vi) => "Đổi tên",
            (Kind::Locked, Language::Vi) => "Khóa",
            (Kind::Unlocked, Language::Vi) => "Mở khóa (khôi phục)",
            (Kind::Updated, Language::Vi) => "Cập nhật",
            (Kind::Revoked, Language::En) => "⚠️ Revoked: these mailboxes will be deleted",
            (Kind::Created, Language::En) => "New",
            (Kind::Renamed, Language::En) => "Renamed",
            (Kind::Locked, Language::En) => "Locked",
            (Kind::Unlocked, Language::En) => "Unlocked (restored)",
            (Kind::Updated, Language::En) => "Updated",
        }
    }

    fn sign(self) -> &'static str {
        match self {
            Kind::Revoked => "⚠",
            Kind::Created => "+",
            Kind::Locked => "!",
            _ => "~",
        }
    }
}

fn reason_text(r: LockReason, lang: Language) -> String {
    let word = crate::layout::reason_word(r);
    match lang {
        Language::En => word.to_string(),
        Language::Vi => {
            let gloss = match r {
                LockReason::Inactive => "không sử dụng",
                LockReason::Compromised => "lộ mật khẩu",
                LockReason::Spam => "phát tán thư rác",
                LockReason::Violation => "vi phạm quy chế",
                LockReason::Requested => "theo đề nghị",
            };
            format!("{word} ({gloss})")
        }
    }
}

fn value_text(v: &Json) -> String {
    match v {
        Json::Null => "—".into(),
        Json::String(s) => format!("\"{s}\""),
        Json::Array(a) => format!(
            "[{}]",
            a.iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Json::Object(o) => {
            // A lock: reason and date.
            let reason = o.get("reason").and_then(Json::as_str).unwrap_or_default();
            let since = o.get("since").and_then(Json::as_str).unwrap_or_default();
            format!("{reason} {since}")
        }
        other => other.to_string(),
    }
}

fn field_word(field: &str, lang: Language) -> &str {
    match (field, lang) {
        ("name", Language::Vi) => "tên",
        ("title", Language::Vi) => "chức vụ",
        ("quota", Language::Vi) => "dung lượng",
        ("aliases", Language::Vi) => "bí danh",
        ("unit", Language::Vi) => "đơn vị",
        ("agency", Language::Vi) => "cơ quan",
        ("public", Language::Vi) => "danh bạ công khai",
        ("lock", Language::Vi) => "khóa",
        (f, _) => f,
    }
}

fn change_text(c: &FieldChange, lang: Language) -> String {
    format!(
        "{}: {} → {}",
        field_word(c.field, lang),
        value_text(&c.from),
        value_text(&c.to)
    )
}

fn grace_text(from: &str, e: &Entry, days: u32, lang: Language) -> String {
    match (&e.old_address_to, lang) {
        (Some(to), Language::Vi) => {
            format!("{from} chuyển ngay cho {to} (không có thời gian ân hạn)")
        }
        (Some(to), Language::En) => {
            format!("{from} goes to {to} at once (no grace period)")
        }
        (None, Language::Vi) => {
            format!("{from} vẫn nhận thư thêm {days} ngày (policy.renameGraceDays)")
        }
        (None, Language::En) => {
            format!("{from} keeps delivering for {days} days (policy.renameGraceDays)")
        }
    }
}

/// `thu hồi 1, tạo mới 2, …` with every kind, zeros included.
pub fn counts_line(d: &PrDiff, lang: Language) -> String {
    let parts: Vec<String> = KINDS
        .iter()
        .map(|k| {
            let n = k.entries(d).len();
            match lang {
                Language::Vi => format!("{} {n}", k.word(lang)),
                Language::En => format!("{n} {}", k.word(lang)),
            }
        })
        .collect();
    parts.join(", ")
}

fn validation_line(d: &PrDiff, lang: Language) -> String {
    let h = &d.head;
    match (h.valid, lang) {
        (true, Language::Vi) => format!("hợp lệ, {} cảnh báo", h.warnings),
        (true, Language::En) => format!("valid, {} warning(s)", h.warnings),
        (false, Language::Vi) => format!("không hợp lệ: {} lỗi, {} cảnh báo", h.errors, h.warnings),
        (false, Language::En) => {
            format!("invalid: {} error(s), {} warning(s)", h.errors, h.warnings)
        }
    }
}

/// Notes about the comparison itself: a base that is missing or invalid,
/// files not compared, deletions that will be held.
fn notes(d: &PrDiff, lang: Language) -> Vec<String> {
    let mut out = Vec::new();
    let base = d.base.label();
    if !d.compared {
        out.push(match lang {
            Language::Vi => "không đọc được hopthu.yaml của bản mới: chưa so sánh được gì".into(),
            Language::En => "the head's hopthu.yaml cannot be read: nothing is compared".into(),
        });
    }
    if d.compared && !d.head.valid {
        out.push(match lang {
            Language::Vi => {
                "bản mới có lỗi: các thay đổi dưới đây chỉ gồm những gì đọc được".into()
            }
            Language::En => "the head has errors: the changes below are what could be read".into(),
        });
    }
    if d.base.missing {
        out.push(match lang {
            Language::Vi => format!("{base} chưa có kho ở thư mục này: mọi hộp thư đều là mới"),
            Language::En => {
                format!("{base} has no repository at this path: every mailbox is new")
            }
        });
    } else if d.base_unreadable {
        out.push(match lang {
            Language::Vi => format!(
                "không đọc được hopthu.yaml của {base}: mọi hộp thư của bản mới được coi là mới"
            ),
            Language::En => format!(
                "the hopthu.yaml of {base} cannot be read: every mailbox of the head is shown as new"
            ),
        });
    } else if !d.base.valid {
        out.push(match lang {
            Language::Vi => format!(
                "bản gốc {base} cũng không hợp lệ ({} lỗi): so sánh với những gì đọc được",
                d.base.errors
            ),
            Language::En => format!(
                "the base {base} is itself invalid ({} error(s)): compared with what could be read",
                d.base.errors
            ),
        });
    }
    for n in &d.not_compared {
        out.push(match lang {
            Language::Vi => format!(
                "{}: có lỗi, {} hộp thư của tệp này chưa so sánh được (sửa lỗi để biết có bị thu hồi không)",
                n.file, n.mailboxes
            ),
            Language::En => format!(
                "{}: has errors; {} mailbox(es) of this file are not compared (fix it to see whether they are revoked)",
                n.file, n.mailboxes
            ),
        });
    }
    if d.revoked.len() > d.max_deletes_per_run as usize {
        out.push(match lang {
            Language::Vi => format!(
                "{} lệnh thu hồi, nhiều hơn policy.maxDeletesPerRun ({}): khi áp dụng sẽ bị tạm giữ đến khi được phê duyệt",
                d.revoked.len(),
                d.max_deletes_per_run
            ),
            Language::En => format!(
                "{} revocations, more than policy.maxDeletesPerRun ({}): they will be held at apply until approved",
                d.revoked.len(),
                d.max_deletes_per_run
            ),
        });
    }
    out
}

// ---------------------------------------------------------------------------
// Terminal

pub fn text(d: &PrDiff, lang: Language, color: bool) -> String {
    let (red, green, yellow, cyan, bold, off) = if color {
        (
            "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[36m", "\x1b[1m", "\x1b[0m",
        )
    } else {
        ("", "", "", "", "", "")
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        match lang {
            Language::Vi => format!("So sánh {} → {}", d.base.label(), d.head.label()),
            Language::En => format!("Comparing {} → {}", d.base.label(), d.head.label()),
        }
    );
    for n in notes(d, lang) {
        let _ = writeln!(
            out,
            "{yellow}{}: {n}{off}",
            match lang {
                Language::Vi => "lưu ý",
                Language::En => "note",
            }
        );
    }
    let _ = writeln!(out);
    for kind in KINDS {
        let paint = match kind {
            Kind::Revoked => red,
            Kind::Created => green,
            Kind::Locked | Kind::Unlocked => cyan,
            _ => yellow,
        };
        for e in kind.entries(d) {
            let _ = write!(
                out,
                "{paint}{} {:<9}{off} {}",
                kind.sign(),
                kind.word(lang),
                e.address
            );
            if let Some(from) = &e.from {
                let _ = write!(out, " ← {from}");
            }
            let _ = writeln!(out, "  {}, {}  ({})", e.name, e.agency, e.key);
            match kind {
                Kind::Renamed => {
                    let from = e.from.as_deref().unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "      {}",
                        grace_text(from, e, d.rename_grace_days, lang)
                    );
                }
                Kind::Locked | Kind::Created | Kind::Unlocked => {
                    if let Some(l) = &e.lock {
                        let what = match (kind, lang) {
                            (Kind::Created, Language::Vi) => "tạo ở trạng thái khóa: ",
                            (Kind::Created, Language::En) => "created locked: ",
                            (Kind::Unlocked, Language::Vi) => "đã khóa vì ",
                            (Kind::Unlocked, Language::En) => "was locked for ",
                            _ => "",
                        };
                        let _ = writeln!(
                            out,
                            "      {what}{}, {} {}",
                            reason_text(l.reason, lang),
                            match lang {
                                Language::Vi => "từ",
                                Language::En => "since",
                            },
                            l.since
                        );
                    }
                }
                Kind::Updated => {
                    for c in &e.changes {
                        let _ = writeln!(out, "      {}", change_text(c, lang));
                    }
                }
                Kind::Revoked => {}
            }
        }
    }
    if d.summary.total() == 0 && d.compared {
        let _ = writeln!(
            out,
            "{}",
            match lang {
                Language::Vi => "Không có thay đổi hộp thư nào.",
                Language::En => "No mailbox changes.",
            }
        );
    }
    if !d.diagnostics.is_empty() {
        let _ = writeln!(out);
        for diag in &d.diagnostics {
            let _ = writeln!(out, "{}", diagnostics::render_human(diag, color, lang));
        }
    }
    let _ = writeln!(
        out,
        "\n{bold}{}{off}",
        match lang {
            Language::Vi => format!(
                "Yêu cầu: {}. Bản mới: {}.",
                counts_line(d, lang),
                validation_line(d, lang)
            ),
            Language::En => format!(
                "Changes: {}. Head: {}.",
                counts_line(d, lang),
                validation_line(d, lang)
            ),
        }
    );
    out
}

// ---------------------------------------------------------------------------
// Markdown

/// A table cell: no line breaks, no `|`, no HTML.
fn cell(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Code in a table cell.
fn code(s: &str) -> String {
    format!("`{}`", s.replace('`', "'").replace('|', "\\|"))
}

struct Table<'a> {
    headers: Vec<&'a str>,
    rows: Vec<Vec<String>>,
}

/// Write a table, folded when long; rows past the budget are counted, not
/// written.
fn write_table(out: &mut String, t: &Table<'_>, summary: &str, omitted: &mut usize) {
    let fold = t.rows.len() > FOLD_ROWS;
    if fold {
        let _ = writeln!(out, "<details><summary>{summary}</summary>\n");
    }
    let _ = writeln!(out, "| {} |", t.headers.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(t.headers.len()));
    for (i, r) in t.rows.iter().enumerate() {
        if out.len() > MARKDOWN_BUDGET {
            *omitted += t.rows.len() - i;
            break;
        }
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    if fold {
        let _ = writeln!(out, "\n</details>");
    }
    let _ = writeln!(out);
}

fn diagnostics_md(out: &mut String, d: &PrDiff, lang: Language, omitted: &mut usize) {
    let (status, title) = match lang {
        Language::Vi => (validation_line(d, lang), "Kiểm tra bản mới"),
        Language::En => (validation_line(d, lang), "Validation of the head"),
    };
    let mark = if d.head.valid { "✅" } else { "❌" };
    let _ = writeln!(out, "#### {mark} {title}: {status}\n");
    if d.diagnostics.is_empty() {
        return;
    }
    let headers = match lang {
        Language::Vi => vec!["", "Vị trí", "Mã", "Nội dung"],
        Language::En => vec!["", "Location", "Code", "Message"],
    };
    let hint_word = match lang {
        Language::Vi => "gợi ý",
        Language::En => "hint",
    };
    let rows = d
        .diagnostics
        .iter()
        .map(|g| {
            let loc = if g.line > 0 {
                format!("{}:{}:{}", g.file, g.line, g.column)
            } else {
                g.file.clone()
            };
            let mut msg = cell(&g.message);
            if let Some(h) = &g.hint {
                let _ = write!(msg, "<br>*{hint_word}: {}*", cell(h));
            }
            vec![
                if g.is_error() { "❌" } else { "⚠️" }.to_string(),
                code(&loc),
                g.code.to_string(),
                msg,
            ]
        })
        .collect();
    let summary = match lang {
        Language::Vi => format!("{} kết quả kiểm tra", d.diagnostics.len()),
        Language::En => format!("{} findings", d.diagnostics.len()),
    };
    write_table(out, &Table { headers, rows }, &summary, omitted);
}

pub fn markdown(d: &PrDiff, lang: Language) -> String {
    let mut out = String::new();
    let mut omitted = 0usize;
    let _ = writeln!(
        out,
        "### {}\n",
        match lang {
            Language::Vi => "hopthu: thay đổi hộp thư trong yêu cầu này",
            Language::En => "hopthu: mailbox changes in this request",
        }
    );
    let _ = writeln!(
        out,
        "{} `{}` → `{}`\n",
        match lang {
            Language::Vi => "So sánh",
            Language::En => "Comparing",
        },
        d.base.label(),
        d.head.label()
    );
    // The counts line, revocations first and in bold when there are any.
    let counts: Vec<String> = KINDS
        .iter()
        .map(|k| {
            let n = k.entries(d).len();
            let word = k.word(lang);
            let text = match lang {
                Language::Vi => format!("{word} {n}"),
                Language::En => format!("{n} {word}"),
            };
            if *k == Kind::Revoked && n > 0 {
                format!("**⚠️ {text}**")
            } else {
                text
            }
        })
        .collect();
    let _ = writeln!(
        out,
        "{} · {} {}\n",
        counts.join(" · "),
        if d.head.valid { "✅" } else { "❌" },
        validation_line(d, lang)
    );
    for n in notes(d, lang) {
        let _ = writeln!(out, "> **{}**\n", cell(&n));
    }
    if !d.head.valid {
        diagnostics_md(&mut out, d, lang, &mut omitted);
    }
    let (h_addr, h_name, h_agency) = match lang {
        Language::Vi => ("Địa chỉ", "Tên", "Cơ quan"),
        Language::En => ("Address", "Name", "Agency"),
    };
    for kind in KINDS {
        let entries = kind.entries(d);
        if entries.is_empty() {
            continue;
        }
        let _ = writeln!(out, "#### {} ({})\n", kind.heading(lang), entries.len());
        let base_row = |e: &Entry| vec![code(&e.address), cell(&e.name), code(&e.agency)];
        let table = match kind {
            Kind::Revoked => {
                let _ = writeln!(
                    out,
                    "> {}\n",
                    match lang {
                        Language::Vi =>
                            "Người duyệt: kiểm tra kỹ từng hộp thư; khi áp dụng, hộp thư và thư của nó bị xóa khỏi máy chủ (có bản sao lưu LDIF).",
                        Language::En =>
                            "Reviewers: check each one; at apply the mailbox and its mail are deleted from the server (an LDIF backup is kept).",
                    }
                );
                Table {
                    headers: vec![
                        h_addr,
                        h_name,
                        h_agency,
                        match lang {
                            Language::Vi => "Mã",
                            Language::En => "Key",
                        },
                    ],
                    rows: entries
                        .iter()
                        .map(|e| {
                            let mut r = base_row(e);
                            r.push(code(&e.key));
                            r
                        })
                        .collect(),
                }
            }
            Kind::Renamed => {
                let _ = writeln!(
                    out,
                    "> {}\n",
                    match lang {
                        Language::Vi => format!(
                            "Địa chỉ cũ vẫn nhận thư thêm {} ngày (`policy.renameGraceDays`), trừ khi đã giao cho hộp thư khác.",
                            d.rename_grace_days
                        ),
                        Language::En => format!(
                            "The old address keeps delivering for {} days (`policy.renameGraceDays`), unless another mailbox takes it.",
                            d.rename_grace_days
                        ),
                    }
                );
                Table {
                    headers: match lang {
                        Language::Vi => vec!["Địa chỉ cũ → mới", h_name, h_agency, "Địa chỉ cũ"],
                        Language::En => vec!["Old → new address", h_name, h_agency, "Old address"],
                    },
                    rows: entries
                        .iter()
                        .map(|e| {
                            let from = e.from.as_deref().unwrap_or_default();
                            let grace = match (&e.old_address_to, lang) {
                                (Some(to), Language::Vi) => format!("chuyển ngay cho {}", code(to)),
                                (Some(to), Language::En) => format!("goes to {} at once", code(to)),
                                (None, Language::Vi) => {
                                    format!("nhận thư thêm {} ngày", d.rename_grace_days)
                                }
                                (None, Language::En) => {
                                    format!("delivers {} more days", d.rename_grace_days)
                                }
                            };
                            vec![
                                format!("{} → {}", code(from), code(&e.address)),
                                cell(&e.name),
                                code(&e.agency),
                                grace,
                            ]
                        })
                        .collect(),
                }
            }
            Kind::Locked | Kind::Unlocked | Kind::Created
                if kind != Kind::Created || entries.iter().any(|e| e.lock.is_some()) =>
            {
                let (reason, since) = match (kind, lang) {
                    (Kind::Unlocked, Language::Vi) => ("Lý do đã khóa", "Khóa từ"),
                    (Kind::Unlocked, Language::En) => ("Was locked for", "Locked since"),
                    (_, Language::Vi) => ("Lý do khóa", "Từ ngày"),
                    (_, Language::En) => ("Lock reason", "Since"),
                };
                Table {
                    headers: vec![h_addr, h_name, h_agency, reason, since],
                    rows: entries
                        .iter()
                        .map(|e| {
                            let mut r = base_row(e);
                            match &e.lock {
                                Some(l) => {
                                    r.push(cell(&reason_text(l.reason, lang)));
                                    r.push(cell(&l.since));
                                }
                                None => {
                                    r.push(String::new());
                                    r.push(String::new());
                                }
                            }
                            r
                        })
                        .collect(),
                }
            }
            Kind::Updated => Table {
                headers: vec![
                    h_addr,
                    h_name,
                    h_agency,
                    match lang {
                        Language::Vi => "Thay đổi",
                        Language::En => "Changes",
                    },
                ],
                rows: entries
                    .iter()
                    .map(|e| {
                        let mut r = base_row(e);
                        r.push(
                            e.changes
                                .iter()
                                .map(|c| cell(&change_text(c, lang)))
                                .collect::<Vec<_>>()
                                .join("<br>"),
                        );
                        r
                    })
                    .collect(),
            },
            _ => Table {
                headers: vec![h_addr, h_name, h_agency],
                rows: entries.iter().map(base_row).collect(),
            },
        };
        if kind == Kind::Unlocked {
            let _ = writeln!(
                out,
                "> {}\n",
                match lang {
                    Language::Vi =>
                        "Khi áp dụng, mỗi hộp thư được mở khóa nhận mật khẩu mới (phải đổi khi đăng nhập lần đầu).",
                    Language::En =>
                        "At apply each unlocked mailbox gets a new password (to be changed at the first login).",
                }
            );
        }
        let summary = format!("{} ({})", kind.heading(lang), entries.len());
        write_table(&mut out, &table, &summary, &mut omitted);
    }
    if d.summary.total() == 0 && d.compared {
        let _ = writeln!(
            out,
            "{}\n",
            match lang {
                Language::Vi => "Không có thay đổi hộp thư nào.",
                Language::En => "No mailbox changes.",
            }
        );
    }
    if d.head.valid {
        diagnostics_md(&mut out, d, lang, &mut omitted);
    }
    if omitted > 0 {
        let _ = writeln!(
            out,
            "> {}\n",
            match lang {
                Language::Vi => format!(
                    "… và {omitted} dòng nữa không hiện vì bình luận quá dài; chạy `hopthu diff` để xem đủ."
                ),
                Language::En => format!(
                    "… and {omitted} more rows not shown (the comment would be too long); run `hopthu diff` to see them all."
                ),
            }
        );
    }
    out
}

pub fn json(d: &PrDiff) -> String {
    serde_json::to_string_pretty(d).expect("a diff serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_are_written_in_the_formats_units() {
        assert_eq!(quota_text(2 << 30), "2GiB");
        assert_eq!(quota_text(500 << 20), "500MiB");
        assert_eq!(quota_text(10_000_000_000), "10GB");
        assert_eq!(quota_text(1234), "1234B");
    }

    #[test]
    fn cells_cannot_break_a_table() {
        assert_eq!(cell("a|b\nc<script>"), "a\\|b c&lt;script&gt;");
        assert_eq!(code("a`b"), "`a'b`");
    }
}
