//! `hopthu propose`: the audit's lock and revoke findings as an edit of the
//! desired-state repository, for people to review and merge. The YAML files
//! are edited as text, in place: only the lines of the affected people
//! change, comments, key order and formatting stay. The edit is committed
//! on a new branch made from the base commit's tree (the working tree is
//! never touched), validated before it is committed, and pushed when the
//! repository has the remote.

use crate::lifecycle::{AuditReport, Finding, Proposal};
use crate::model::Language;
use crate::source::{Entry, FileSet};
use crate::tr;
use chrono::NaiveDate;
use git2::{Oid, Repository};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The prefix of proposal branches (`hopthu report` lists the open ones).
pub const BRANCH_PREFIX: &str = "hopthu/propose/";
/// The trailer naming each proposed change in a proposal's commit message.
pub const TRAILER: &str = "Hopthu-Proposal:";

/// One change to one person in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Set `status: locked` with a lock of reason `inactive` since `since`.
    Lock {
        pointer: String,
        since: NaiveDate,
        note: String,
    },
    /// Remove the person.
    Revoke { pointer: String },
    /// Mark the person's explicit address `legacy: true`: a revocation in
    /// the same proposal freed the derived address it was the alternative
    /// to, and a mailbox is not renamed because a colleague left.
    Legacy { pointer: String },
}

impl Edit {
    fn pointer(&self) -> &str {
        match self {
            Edit::Lock { pointer, .. } | Edit::Revoke { pointer } | Edit::Legacy { pointer } => {
                pointer
            }
        }
    }
}

/// Apply edits to one agency file's text. Every edit is checked against
/// the parsed file first; one that cannot be made is an error and the
/// text is left as it was.
pub fn edit_text(text: &str, edits: &[Edit]) -> Result<String, String> {
    let mut ed = crate::yamledit::Editor::new(text)?;
    for e in edits {
        let pointer = e.pointer();
        let at = |m: String| format!("{pointer}: {m}");
        ed.item(pointer).map_err(at)?;
        match e {
            Edit::Revoke { pointer } => ed.remove_item(pointer).map_err(at)?,
            Edit::Legacy { pointer } => ed.set(pointer, "legacy", "true", &[]).map_err(at)?,
            Edit::Lock {
                pointer,
                since,
                note,
            } => {
                if ed.root().lookup(&format!("{pointer}/lock")).is_some() {
                    return Err(at(tr!(
                        "đã có `lock`; hãy sửa bằng tay",
                        "it already has a `lock`; edit it by hand"
                    )));
                }
                let block = [
                    "lock:".to_string(),
                    "  reason: inactive".to_string(),
                    format!("  since: {since}"),
                    format!("  note: {}", crate::yamledit::quoted(note)),
                ];
                ed.set(pointer, "status", "locked", &block).map_err(at)?;
            }
        }
    }
    Ok(ed.finish()?.text)
}

#[derive(Debug, thiserror::Error)]
pub enum ProposeError {
    Git(String),
    Invalid(String),
    Other(String),
}

impl std::fmt::Display for ProposeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProposeError::Git(e) | ProposeError::Other(e) => f.write_str(e),
            ProposeError::Invalid(e) => f.write_str(&tr!(
                "nội dung đề xuất sửa không hợp lệ, chưa commit gì (số dòng là của tệp đã sửa theo đề xuất):\n{e}",
                "the proposed edit does not validate, nothing was committed (line numbers are those of the edited files):\n{e}"
            )),
        }
    }
}

fn no_base(base_rev: &str, e: &git2::Error) -> ProposeError {
    let e = e.message();
    ProposeError::Git(tr!(
        "commit gốc {base_rev}: {e}",
        "the base {base_rev}: {e}"
    ))
}

fn git_err(e: git2::Error) -> ProposeError {
    ProposeError::Git(e.message().to_string())
}

pub struct ProposeOptions<'a> {
    /// The folder holding hopthu.yaml, inside a git working tree.
    pub root: &'a Path,
    /// The commit to build on (a branch, a tag, a commit; default HEAD).
    pub base: Option<&'a str>,
    /// The branch to make (default `hopthu/propose/<today>`, numbered when taken).
    pub branch: Option<&'a str>,
    /// The remote to push to when it exists (default `origin`); None: no push.
    pub remote: Option<&'a str>,
    pub auth: crate::git::GitAuth,
    pub today: NaiveDate,
    pub lang: Language,
    pub author: (String, String),
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Proposed {
    /// None when there was nothing new to propose.
    pub branch: Option<String>,
    pub commit: Option<String>,
    pub base: String,
    pub pushed_to: Option<String>,
    /// (finding, done) — what the commit does.
    pub changes: Vec<Finding>,
    /// Findings already proposed on an open branch: (branch, finding).
    pub already: Vec<(String, Finding)>,
    /// Findings that could not be turned into an edit, and why.
    pub skipped: Vec<(Finding, String)>,
    /// Addresses kept as they are, marked `legacy: true`, because a
    /// revocation here freed the derived address they were chosen against:
    /// (address, file).
    pub kept_legacy: Vec<(String, String)>,
    /// The pull-request description.
    pub summary: String,
}

/// An open proposal branch: its name, its tip, and the (action, key) pairs
/// its commits propose.
pub type OpenProposal = (String, Oid, Vec<(String, String)>);

/// Keys with actions already proposed on open branches (not merged into
/// `base`), by the trailers of their commits.
pub fn open_proposals(repo: &Repository, base: Oid) -> Result<Vec<OpenProposal>, ProposeError> {
    let mut out = Vec::new();
    let mut seen: HashSet<Oid> = HashSet::new();
    for b in repo.branches(None).map_err(git_err)? {
        let (b, _) = b.map_err(git_err)?;
        let Some(name) = b.name().ok().flatten().map(str::to_string) else {
            continue;
        };
        let short = name
            .split_once('/')
            .filter(|_| b.get().is_remote())
            .map(|(_, n)| n)
            .unwrap_or(&name);
        if !short.starts_with(BRANCH_PREFIX) {
            continue;
        }
        let Some(tip) = b.get().target() else {
            continue;
        };
        if tip == base || repo.graph_descendant_of(base, tip).unwrap_or(false) || !seen.insert(tip)
        {
            continue; // merged (or the same commit seen through another ref)
        }
        let mut walk = repo.revwalk().map_err(git_err)?;
        walk.push(tip).map_err(git_err)?;
        let _ = walk.hide(base);
        let mut items = Vec::new();
        for oid in walk.flatten() {
            let Ok(c) = repo.find_commit(oid) else {
                continue;
            };
            for line in c.message().unwrap_or("").lines() {
                if let Some(rest) = line.strip_prefix(TRAILER) {
                    let mut parts = rest.split_whitespace();
                    if let (Some(action), Some(key)) = (parts.next(), parts.next()) {
                        items.push((action.to_string(), key.to_string()));
                    }
                }
            }
        }
        out.push((name, tip, items));
    }
    out.sort();
    Ok(out)
}

fn note_for(f: &Finding, today: NaiveDate, lang: Language) -> String {
    match lang {
        Language::Vi => format!("{}; hopthu kiểm tra ngày {today}", f.message),
        Language::En => format!("{}; hopthu audit of {today}", f.message),
    }
}

/// The repository's files at the base commit (what the audit checks and
/// the proposal edits), and the commit.
pub fn base_files(root: &Path, base: Option<&str>) -> Result<(FileSet, String), ProposeError> {
    let (repo, git_path) = open(root)?;
    let base_rev = base.unwrap_or("HEAD");
    let commit = repo
        .revparse_single(base_rev)
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| no_base(base_rev, &e))?;
    let files = crate::git::files_at(&repo, commit.id(), &git_path)
        .map_err(|e| ProposeError::Git(e.to_string()))?;
    Ok((files, commit.id().to_string()))
}

/// The repository holding `root`, and `root`'s path inside it.
fn open(root: &Path) -> Result<(Repository, String), ProposeError> {
    let root = root
        .canonicalize()
        .map_err(|e| ProposeError::Other(format!("{}: {e}", root.display())))?;
    let repo = Repository::discover(&root).map_err(|e| {
        let (root, e) = (root.display(), e.message());
        ProposeError::Git(tr!(
            "{root} không nằm trong một kho git ({e}); đề xuất được commit lên một nhánh của kho",
            "{root} is not in a git repository ({e}); propose commits on a branch of the repository"
        ))
    })?;
    let workdir = repo
        .workdir()
        .ok_or_else(|| {
            ProposeError::Git(tr!(
                "kho không có cây làm việc (working tree)",
                "the repository has no working tree"
            ))
        })?
        .canonicalize()
        .map_err(|e| ProposeError::Other(e.to_string()))?;
    let git_path = root
        .strip_prefix(&workdir)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default();
    Ok((repo, git_path))
}

/// Make the proposal. `validate` checks a changed file set and returns its
/// outcome (the caller's validator, with the same settings and clock).
pub fn propose(
    report: &AuditReport,
    opts: &ProposeOptions<'_>,
    validate: &dyn Fn(&FileSet) -> crate::validate::Outcome,
) -> Result<Proposed, ProposeError> {
    let (repo, git_path) = open(opts.root)?;
    let base_rev = opts.base.unwrap_or("HEAD");
    let base = repo
        .revparse_single(base_rev)
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| no_base(base_rev, &e))?
        .id();
    let remote = opts.remote.and_then(|name| {
        repo.find_remote(name)
            .ok()
            .and_then(|r| r.url().ok().map(|u| (name.to_string(), u.to_string())))
    });
    let push = |repo: &Repository, branch: &str| -> Result<Option<String>, String> {
        let Some((name, url)) = &remote else {
            return Ok(None);
        };
        crate::git::push_branch(repo, url, &opts.auth, branch)
            .map_err(|why| format!("{name} ({}): {why}", crate::git::redact_url(url)))?;
        Ok(Some(name.clone()))
    };
    propose_in(&repo, &git_path, base, report, opts, validate, &push)
}

/// Push a proposal branch; the name of where it went, none for nowhere.
pub type PushFn<'a> = dyn Fn(&Repository, &str) -> Result<Option<String>, String> + 'a;

/// The proposal in a given repository (a working one, or the bare cache of
/// `hopthu run`), from the commit `base` of the files under `git_path`.
pub fn propose_in(
    repo: &Repository,
    git_path: &str,
    base: Oid,
    report: &AuditReport,
    opts: &ProposeOptions<'_>,
    validate: &dyn Fn(&FileSet) -> crate::validate::Outcome,
    push: &PushFn<'_>,
) -> Result<Proposed, ProposeError> {
    if let Some(b) = opts.branch
        && (!b.starts_with(BRANCH_PREFIX)
            || b.len() == BRANCH_PREFIX.len()
            || !git2::Branch::name_is_valid(b).unwrap_or(false))
    {
        return Err(ProposeError::Other(tr!(
            "--branch {b}: nhánh đề xuất phải có tên {BRANCH_PREFIX}<name> (để các lần kiểm tra sau và `hopthu report` tìm thấy)",
            "--branch {b}: a proposal's branch is named {BRANCH_PREFIX}<name> (so that the next audits and `hopthu report` find it)"
        )));
    }
    let base = repo.find_commit(base).map_err(git_err)?;
    let files = crate::git::files_at(repo, base.id(), git_path)
        .map_err(|e| ProposeError::Git(e.to_string()))?;

    // What open branches already propose is not proposed again.
    let open = open_proposals(repo, base.id())?;
    let proposed_on: HashMap<(String, String), String> = open
        .iter()
        .flat_map(|(b, _, items)| items.iter().map(move |i| (i.clone(), b.clone())))
        .collect();
    let mut changes = Vec::new();
    let mut already = Vec::new();
    for f in report.proposals() {
        let action = match f.proposal {
            Some(Proposal::Lock) => "lock",
            Some(Proposal::Revoke) => "revoke",
            None => continue,
        };
        match proposed_on.get(&(action.to_string(), f.key.clone())) {
            Some(b) => already.push((b.clone(), f.clone())),
            None => changes.push(f.clone()),
        }
    }

    // Edits by file.
    let mut by_file: BTreeMap<String, Vec<(Finding, Edit)>> = BTreeMap::new();
    for f in &changes {
        let edit = match f.proposal {
            Some(Proposal::Lock) => Edit::Lock {
                pointer: f.pointer.clone(),
                since: opts.today,
                note: note_for(f, opts.today, opts.lang),
            },
            _ => Edit::Revoke {
                pointer: f.pointer.clone(),
            },
        };
        by_file
            .entry(f.file.clone())
            .or_default()
            .push((f.clone(), edit));
    }
    let mut skipped = Vec::new();
    let mut new_files: HashMap<String, String> = HashMap::new();
    for (file, items) in &by_file {
        let Some(text) = files
            .agencies
            .iter()
            .find(|s| &s.path == file)
            .and_then(|s| match &s.entry {
                Entry::File(b) => std::str::from_utf8(b).ok(),
                _ => None,
            })
        else {
            for (f, _) in items {
                skipped.push((
                    f.clone(),
                    tr!(
                        "{file} không đọc được trong commit gốc",
                        "{file} is not readable in the base commit"
                    ),
                ));
            }
            continue;
        };
        // One failing edit does not stop the others in the file.
        let mut good: Vec<Edit> = Vec::new();
        for (f, e) in items {
            match edit_text(text, std::slice::from_ref(e)) {
                Ok(_) => good.push(e.clone()),
                Err(why) => skipped.push((f.clone(), format!("{file}: {why}"))),
            }
        }
        if good.is_empty() {
            continue;
        }
        let edited =
            edit_text(text, &good).map_err(|e| ProposeError::Other(format!("{file}: {e}")))?;
        new_files.insert(file.clone(), edited);
    }
    let skipped_keys: HashSet<&str> = skipped.iter().map(|(f, _)| f.key.as_str()).collect();
    let changes: Vec<Finding> = changes
        .into_iter()
        .filter(|f| !skipped_keys.contains(f.key.as_str()))
        .collect();

    let mut out = Proposed {
        branch: None,
        commit: None,
        base: base.id().to_string(),
        pushed_to: None,
        changes,
        already,
        skipped,
        kept_legacy: Vec::new(),
        summary: String::new(),
    };
    if out.changes.is_empty() {
        out.summary = summary(report, &out, opts.lang);
        return Ok(out);
    }

    // The edited set must validate and do exactly what was proposed.
    let mut edited = FileSet {
        settings: files.settings.clone(),
        agencies: files.agencies.clone(),
    };
    for s in edited.agencies.iter_mut() {
        if let Some(t) = new_files.get(&s.path) {
            s.entry = Entry::File(t.clone().into_bytes());
        }
    }
    let mut outcome = validate(&edited);
    if !outcome.is_valid() {
        // A revocation frees its derived address; a colleague's explicit
        // alternative to it (tien2hv while tienhv was taken) no longer
        // follows the rule. The colleague keeps the address, marked legacy,
        // rather than losing every other change of the proposal or being
        // renamed by it. Errors the base had already are not this.
        let base_errors: HashSet<(String, String)> = validate(&files)
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| (d.file.clone(), d.pointer.clone()))
            .collect();
        let mut extra: BTreeMap<String, Vec<Edit>> = BTreeMap::new();
        let mut kept = Vec::new();
        for d in outcome
            .diagnostics
            .iter()
            .filter(|d| d.is_error() && d.code == "E040")
        {
            let Some(pointer) = d.pointer.strip_suffix("/address") else {
                continue;
            };
            if base_errors.contains(&(d.file.clone(), d.pointer.clone()))
                || !new_files.contains_key(&d.file)
            {
                continue;
            }
            let Some(m) = outcome
                .desired
                .iter()
                .find(|m| m.file == d.file && m.pointer == pointer)
            else {
                continue;
            };
            extra.entry(d.file.clone()).or_default().push(Edit::Legacy {
                pointer: pointer.to_string(),
            });
            kept.push((m.address.clone(), d.file.clone()));
        }
        if !extra.is_empty() {
            for (file, edits) in &extra {
                let text = &new_files[file];
                let t = edit_text(text, edits)
                    .map_err(|e| ProposeError::Other(format!("{file}: {e}")))?;
                new_files.insert(file.clone(), t);
            }
            for s in edited.agencies.iter_mut() {
                if let Some(t) = new_files.get(&s.path) {
                    s.entry = Entry::File(t.clone().into_bytes());
                }
            }
            outcome = validate(&edited);
            out.kept_legacy = kept;
        }
    }
    if !outcome.is_valid() {
        let text: Vec<String> = outcome
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| {
                format!(
                    "{}:{}:{}: error[{}]: {}",
                    d.file, d.line, d.column, d.code, d.message
                )
            })
            .collect();
        return Err(ProposeError::Invalid(text.join("\n")));
    }
    for f in &out.changes {
        let now = outcome.desired.iter().find(|m| m.key == f.key);
        let ok = match f.proposal {
            Some(Proposal::Lock) => now.is_some_and(|m| m.status == crate::model::Status::Locked),
            _ => now.is_none(),
        };
        if !ok {
            let (address, file) = (&f.address, &f.file);
            return Err(ProposeError::Invalid(tr!(
                "{address} ({file}) không được thay đổi như đề xuất",
                "{address} ({file}) is not changed as proposed"
            )));
        }
    }

    // The commit, on a new branch, from the base tree.
    let base_tree = base.tree().map_err(git_err)?;
    let mut update = git2::build::TreeUpdateBuilder::new();
    for (file, text) in &new_files {
        let blob = repo.blob(text.as_bytes()).map_err(git_err)?;
        let path = if git_path.is_empty() {
            file.clone()
        } else {
            format!("{}/{file}", git_path.trim_end_matches('/'))
        };
        let mode = base_tree
            .get_path(Path::new(&path))
            .map(|e| e.filemode())
            .unwrap_or(0o100644);
        let mode = if mode == 0o100755 {
            git2::FileMode::BlobExecutable
        } else {
            git2::FileMode::Blob
        };
        update.upsert(path.as_str(), blob, mode);
    }
    let tree_id = update.create_updated(repo, &base_tree).map_err(git_err)?;
    let tree = repo.find_tree(tree_id).map_err(git_err)?;
    let sig = git2::Signature::now(&opts.author.0, &opts.author.1).map_err(git_err)?;
    let message = commit_message(&out.changes, &out.kept_legacy, opts.today, opts.lang);
    let commit = repo
        .commit(None, &sig, &sig, &message, &tree, &[&base])
        .map_err(git_err)?;
    let branch = match opts.branch {
        Some(b) => b.to_string(),
        None => {
            let stem = format!("{BRANCH_PREFIX}{}", opts.today);
            let mut name = stem.clone();
            let mut n = 2;
            while repo.find_branch(&name, git2::BranchType::Local).is_ok() {
                name = format!("{stem}-{n}");
                n += 1;
            }
            name
        }
    };
    repo.branch(&branch, &repo.find_commit(commit).map_err(git_err)?, false)
        .map_err(|e| {
            let e = e.message();
            ProposeError::Git(tr!(
                "không tạo được nhánh {branch}: {e}",
                "cannot make the branch {branch}: {e}"
            ))
        })?;
    out.branch = Some(branch.clone());
    out.commit = Some(commit.to_string());

    // A branch that did not reach the remote would keep the finding from
    // being proposed again: it goes, and the next run proposes afresh.
    out.pushed_to = push(repo, &branch).map_err(|why| {
        if let Ok(mut b) = repo.find_branch(&branch, git2::BranchType::Local) {
            let _ = b.delete();
        }
        ProposeError::Git(tr!(
            "không đẩy được nhánh {branch} lên {why}; nhánh đã được xóa ở đây, lần chạy sau sẽ đề xuất lại",
            "the branch {branch} could not be pushed to {why}; it was removed here, the next run proposes again"
        ))
    })?;
    out.summary = summary(report, &out, opts.lang);
    Ok(out)
}

fn commit_message(
    changes: &[Finding],
    kept: &[(String, String)],
    today: NaiveDate,
    lang: Language,
) -> String {
    let locks = changes
        .iter()
        .filter(|f| f.proposal == Some(Proposal::Lock))
        .count();
    let revokes = changes.len() - locks;
    let mut s = match lang {
        Language::Vi => {
            format!("Đề xuất khóa {locks}, thu hồi {revokes} hộp thư (kiểm tra ngày {today})\n\n")
        }
        Language::En => format!(
            "Propose to lock {locks} and revoke {revokes} mailbox(es) (audit of {today})\n\n"
        ),
    };
    for f in changes {
        s.push_str(&format!(
            "- {} {}: {}\n",
            crate::lifecycle::proposal_word(f.proposal, lang),
            f.address,
            f.message
        ));
    }
    for (address, _) in kept {
        s.push_str(&kept_line(address, lang));
        s.push('\n');
    }
    s.push('\n');
    for f in changes {
        let action = if f.proposal == Some(Proposal::Lock) {
            "lock"
        } else {
            "revoke"
        };
        s.push_str(&format!("{TRAILER} {action} {}\n", f.key));
    }
    s
}

fn kept_line(address: &str, lang: Language) -> String {
    match lang {
        Language::Vi => format!(
            "- giữ nguyên {address} (đánh dấu legacy: true): địa chỉ theo quy tắc mà nó thay thế được giải phóng khi thu hồi"
        ),
        Language::En => format!(
            "- keep {address} as it is (marked legacy: true): the derived address it stood in for is freed by a revocation"
        ),
    }
}

/// The pull-request description: what changes and why, what was left.
pub fn summary(report: &AuditReport, p: &Proposed, lang: Language) -> String {
    use std::fmt::Write as _;
    let vi = lang == Language::Vi;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## {} {}\n",
        if vi {
            "Đề xuất theo kiểm tra ngày"
        } else {
            "Proposal from the audit of"
        },
        report.today
    );
    if p.changes.is_empty() {
        let _ = writeln!(
            s,
            "{}\n",
            if vi {
                "Không có gì mới để đề xuất."
            } else {
                "Nothing new to propose."
            }
        );
    } else {
        let _ = writeln!(
            s,
            "{}\n",
            if vi {
                format!(
                    "Quy định: khóa hộp thư không đăng nhập {} ngày; thu hồi hộp thư bị khóa {} ngày mà không có yêu cầu khôi phục. Người duyệt kiểm tra từng dòng; hộp thư cần giữ thì bỏ dòng đó khỏi yêu cầu trước khi hợp nhất.",
                    report.inactive_lock_days, report.revoke_after_lock_days
                )
            } else {
                format!(
                    "The rule: lock a mailbox with no login for {} days; revoke a mailbox locked for {} days without a restore request. Reviewers check each line; drop the change of a mailbox that must stay before merging.",
                    report.inactive_lock_days, report.revoke_after_lock_days
                )
            }
        );
        let _ = writeln!(
            s,
            "| {} |\n|---|---|---|---|---|",
            if vi {
                "Đề xuất | Địa chỉ | Cơ quan | Chi tiết | Tệp"
            } else {
                "Change | Address | Agency | Evidence | File"
            }
        );
        for f in &p.changes {
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {} | `{}` |",
                crate::lifecycle::proposal_word(f.proposal, lang),
                f.address,
                crate::lifecycle::md_cell(&f.agency),
                crate::lifecycle::md_cell(&f.message),
                f.file
            );
        }
        for (address, file) in &p.kept_legacy {
            let _ = writeln!(s, "{} (`{file}`)", kept_line(&format!("`{address}`"), lang));
        }
        s.push('\n');
    }
    if !p.already.is_empty() {
        let _ = writeln!(
            s,
            "{}\n",
            if vi {
                "### Đã đề xuất ở nhánh đang mở"
            } else {
                "### Already proposed on an open branch"
            }
        );
        for (b, f) in &p.already {
            let _ = writeln!(s, "- `{}`: `{b}`", f.address);
        }
        s.push('\n');
    }
    if !p.skipped.is_empty() {
        let _ = writeln!(
            s,
            "{}\n",
            if vi {
                "### Không sửa được tự động"
            } else {
                "### Not edited automatically"
            }
        );
        for (f, why) in &p.skipped {
            let _ = writeln!(s, "- `{}`: {}", f.address, crate::lifecycle::md_cell(why));
        }
        s.push('\n');
    }
    let others: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.proposal.is_none())
        .collect();
    if !others.is_empty() {
        let _ = writeln!(
            s,
            "{}\n",
            if vi {
                "### Cần người xem xét (không đề xuất tự động)"
            } else {
                "### For a person to decide (not proposed)"
            }
        );
        for f in others {
            let _ = writeln!(
                s,
                "- {} `{}`: {}",
                f.kind.word(lang),
                f.address,
                crate::lifecycle::md_cell(&f.message)
            );
        }
        s.push('\n');
    }
    s
}

/// Where `--summary-out` defaults to, inside the state folder.
pub fn default_summary_path(state_dir: &Path, today: NaiveDate) -> PathBuf {
    state_dir.join(format!("proposal-{today}.md"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(pointer: &str) -> Edit {
        Edit::Lock {
            pointer: pointer.into(),
            since: NaiveDate::from_ymd_opt(2026, 12, 4).unwrap(),
            note: "không đăng nhập \"90\" ngày".into(),
        }
    }

    const DOC: &str = "code: S01 # mã\npeople:\n  - id: a   # đầu\n    name: A\n    status: active # ghi chú\n\n  # giữa\n  - id: b\n    name: B\n    aliases:\n      - bb\n  -\n    id: c\n    name: C\nunits: []\n";

    #[test]
    fn a_lock_changes_the_status_line_and_adds_the_lock_below_it() {
        let out = edit_text(DOC, &[lock("/people/0")]).unwrap();
        assert_eq!(
            out,
            DOC.replace(
                "    status: active # ghi chú\n",
                "    status: locked # ghi chú\n    lock:\n      reason: inactive\n      since: 2026-12-04\n      note: \"không đăng nhập \\\"90\\\" ngày\"\n"
            )
        );
        let parsed = crate::yaml::parse(&out);
        assert!(parsed.errors.is_empty());
        let root = parsed.root.unwrap();
        assert_eq!(
            root.lookup("/people/0/lock/note").unwrap().0.as_str(),
            Some("không đăng nhập \"90\" ngày")
        );
    }

    #[test]
    fn a_lock_without_a_status_goes_after_the_item_and_a_revoke_removes_only_its_lines() {
        let out = edit_text(
            DOC,
            &[
                lock("/people/1"),
                Edit::Revoke {
                    pointer: "/people/2".into(),
                },
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            DOC.replace(
                "      - bb\n  -\n    id: c\n    name: C\n",
                "      - bb\n    status: locked\n    lock:\n      reason: inactive\n      since: 2026-12-04\n      note: \"không đăng nhập \\\"90\\\" ngày\"\n"
            )
        );
        // Comments between items stay.
        let out = edit_text(
            DOC,
            &[Edit::Revoke {
                pointer: "/people/0".into(),
            }],
        )
        .unwrap();
        assert_eq!(
            out,
            DOC.replace(
                "  - id: a   # đầu\n    name: A\n    status: active # ghi chú\n",
                ""
            )
        );
    }

    #[test]
    fn the_last_person_revoked_leaves_an_empty_list_and_line_endings_stay() {
        let doc = "code: S01\r\npeople:\r\n  - id: a\r\n    name: A\r\n";
        let out = edit_text(
            doc,
            &[Edit::Revoke {
                pointer: "/people/0".into(),
            }],
        )
        .unwrap();
        assert_eq!(out, "code: S01\r\npeople: []\r\n");
        let out = edit_text(doc, &[lock("/people/0")]).unwrap();
        assert!(
            out.contains("    name: A\r\n    status: locked\r\n    lock:\r\n"),
            "{out:?}"
        );
    }

    #[test]
    fn what_cannot_be_edited_safely_is_refused_and_the_text_kept() {
        let en =
            |text: &str| crate::i18n::with(Language::En, || edit_text(text, &[lock("/people/0")]));
        let flow = "people:\n  - {id: a, name: A}\n";
        assert!(en(flow).unwrap_err().contains("flow style ({...})"));
        let locked =
            "people:\n  - id: a\n    name: A\n    lock: {reason: spam, since: 2026-01-01}\n";
        assert!(en(locked).unwrap_err().contains("already has a `lock`"));
        assert!(
            crate::i18n::with(Language::Vi, || edit_text(locked, &[lock("/people/0")]))
                .unwrap_err()
                .contains("đã có `lock`")
        );
        assert!(edit_text("people: [\n", &[lock("/people/0")]).is_err());
        assert!(edit_text(DOC, &[lock("/people/9")]).is_err());
    }
}
