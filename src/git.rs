//! The desired state from a git repository, the way Flux's source
//! controller gets it: fetched into a local cache (a bare repository, no
//! work tree) and read straight from one commit's tree into the same
//! `FileSet` a folder reads into, so the rules never see where files came
//! from. Symlinks, submodules and files over the size limit are kept as
//! such in the set, and the validator refuses them.

use crate::source::{AGENCIES_DIR, Entry, FileSet, MAX_FILE_SIZE, SETTINGS_FILE, SourceFile};
use crate::tr;
use git2::{FetchOptions, ObjectType, Oid, RemoteCallbacks, Repository, TreeWalkMode};
use std::path::{Path, PathBuf};

/// A secret read from a file or the environment. Never printed.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

/// How to authenticate to the git server.
#[derive(Debug, Clone, Default)]
pub struct GitAuth {
    /// An https token (a personal or deploy access token).
    pub token: Option<Secret>,
    /// The user name sent with the token (`x-access-token` by default;
    /// GitLab wants `oauth2`).
    pub username: Option<String>,
    /// A private key for ssh:// (no passphrase).
    pub ssh_key: Option<PathBuf>,
    /// known_hosts for ssh://: the server's key must be listed there.
    pub known_hosts: Option<PathBuf>,
}

/// Where the desired state lives in git.
#[derive(Debug, Clone)]
pub struct GitSource {
    /// A local path, `file://`, `https://` or `ssh://`.
    pub url: String,
    pub branch: String,
    /// The folder inside the repository that holds `hopthu.yaml` (`""` for the top).
    pub path: String,
    /// The local cache of fetched objects.
    pub cache: PathBuf,
    pub auth: GitAuth,
}

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    Fetch { url: String, reason: String },
    NoBranch { url: String, branch: String },
    NoRevision { url: String, rev: String },
    Cache { path: String, reason: String },
    Read { commit: String, reason: String },
    NoPath { commit: String, path: String },
}

impl std::fmt::Display for GitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            GitError::Fetch { url, reason } => tr!(
                "không tải được {url}: {reason}",
                "cannot fetch {url}: {reason}"
            ),
            GitError::NoBranch { url, branch } => tr!(
                "{url} không có nhánh {branch}",
                "{url} has no branch {branch}"
            ),
            GitError::NoRevision { url, rev } => tr!(
                "{url} không có phiên bản {rev}",
                "{url} has no revision {rev}"
            ),
            GitError::Cache { path, reason } => tr!(
                "bộ nhớ đệm git {path}: {reason}",
                "the git cache {path}: {reason}"
            ),
            GitError::Read { commit, reason } => tr!(
                "không đọc được commit {commit}: {reason}",
                "cannot read commit {commit}: {reason}"
            ),
            GitError::NoPath { commit, path } => tr!(
                "commit {commit} không có thư mục {path}",
                "commit {commit} has no folder {path}"
            ),
        };
        f.write_str(&text)
    }
}

/// One commit, as people read it in a report.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: String,
    /// The first line of the message.
    pub summary: String,
    /// The whole message.
    pub message: String,
    pub author: String,
    /// Seconds since the epoch (the committer's time).
    pub time: i64,
}

/// An URL as it may be printed: without a user, a password or a query
/// (`?access_token=...`) in it.
pub fn redact_url(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or(url);
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some(at) = rest.find('@')
        && !rest[..at].contains('/')
    {
        return format!("{scheme}://{}", &rest[at + 1..]);
    }
    url.to_string()
}

/// A URL reduced to where it goes (`https://chat.example.org/…`): for
/// notification URLs, whose path often holds a token.
pub fn host_only(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split('/').next().unwrap_or(rest);
            let host = host.rsplit('@').next().unwrap_or(host);
            format!("{scheme}://{host}/…")
        }
        None => "…".into(),
    }
}

/// The folder a repository URL names on this machine: a path (absolute or
/// relative) or a `file://` URL. None for a remote (`https://`, `ssh://`,
/// `user@host:path`).
pub fn local_path(url: &str) -> Option<PathBuf> {
    if let Some(p) = url.strip_prefix("file://") {
        return Some(PathBuf::from(p));
    }
    if url.contains("://") {
        return None;
    }
    // scp-like `git@host:path`: a colon before any slash.
    if let Some(colon) = url.find(':')
        && !url[..colon].contains('/')
    {
        return None;
    }
    Some(PathBuf::from(url))
}

/// Network timeouts for every fetch of the process: a git server that
/// stops answering fails the fetch (and the cycle retries later) instead of
/// hanging it for ever.
pub fn set_timeouts() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: libgit2's global options must not be set while another
        // thread uses libgit2; `call_once` runs this before the first fetch
        // of the process (every fetch goes through `fetch_refspecs`, which
        // calls this first), and never again.
        unsafe {
            let _ = git2::opts::set_server_connect_timeout_in_milliseconds(15_000);
            let _ = git2::opts::set_server_timeout_in_milliseconds(60_000);
        }
    });
}

impl GitSource {
    /// The URL libgit2 is given: a local folder made absolute (libgit2
    /// does not take relative paths), checked to exist.
    fn fetch_url(&self) -> Result<String, GitError> {
        let Some(path) = local_path(&self.url) else {
            return Ok(self.url.clone());
        };
        match std::fs::canonicalize(&path) {
            Ok(p) => Ok(p.display().to_string()),
            Err(e) => Err(GitError::Fetch {
                url: self.url.clone(),
                reason: unreadable_folder(&path, &e),
            }),
        }
    }

    fn cache_path(&self) -> PathBuf {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(self.url.as_bytes());
        let name: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        self.cache.join(name)
    }

    /// Throw the cache of this URL away (it is only a copy): the next fetch
    /// starts from scratch. True when there was one.
    pub fn forget_cache(&self) -> bool {
        std::fs::remove_dir_all(self.cache_path()).is_ok()
    }

    /// The cache folder of this URL (one bare repository per URL).
    fn cache_repo(&self) -> Result<Repository, GitError> {
        let path = self.cache_path();
        let err = |e: &dyn std::fmt::Display| GitError::Cache {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        std::fs::create_dir_all(&path).map_err(|e| err(&e))?;
        match Repository::open_bare(&path) {
            Ok(r) => Ok(r),
            Err(_) => Repository::init_bare(&path).map_err(|e| err(&e)),
        }
    }

    fn fetch_refspecs(&self, repo: &Repository, refspecs: &[String]) -> Result<(), GitError> {
        set_timeouts();
        let shown = redact_url(&self.url);
        let fail = |e: git2::Error| GitError::Fetch {
            url: shown.clone(),
            reason: clean_git_message(&e),
        };
        let url = self.fetch_url()?;
        let mut remote = repo.remote_anonymous(&url).map_err(fail)?;
        let mut opts = FetchOptions::new();
        opts.remote_callbacks(callbacks(&self.auth, &self.url));
        opts.download_tags(git2::AutotagOption::None);
        // A redirect would carry the fetch (and its credentials) to a host
        // nobody configured: give the repository's own URL instead.
        opts.follow_redirects(git2::RemoteRedirect::None);
        opts.prune(git2::FetchPrune::On);
        remote
            .fetch(refspecs, Some(&mut opts), None)
            .map_err(fail)?;
        Ok(())
    }

    /// The cache, with the open proposal branches of the source fetched
    /// into `refs/remotes/origin/hopthu/propose/*` (those gone from the
    /// source are gone here too).
    pub fn fetch_proposals(&self) -> Result<Repository, GitError> {
        let repo = self.cache_repo()?;
        let p = crate::propose::BRANCH_PREFIX;
        self.fetch_refspecs(
            &repo,
            &[format!("+refs/heads/{p}*:refs/remotes/origin/{p}*")],
        )?;
        Ok(repo)
    }

    /// Push a branch of the cache to the source.
    pub fn push(&self, repo: &Repository, branch: &str) -> Result<(), String> {
        push_branch(repo, &self.url, &self.auth, branch)
    }

    /// Fetch the branch; the commit at its head.
    pub fn fetch(&self) -> Result<(Repository, Oid), GitError> {
        let repo = self.cache_repo()?;
        let local = format!("refs/hopthu/heads/{}", self.branch);
        self.fetch_refspecs(&repo, &[format!("+refs/heads/{}:{local}", self.branch)])?;
        let oid = repo.refname_to_id(&local).map_err(|_| GitError::NoBranch {
            url: redact_url(&self.url),
            branch: self.branch.clone(),
        })?;
        Ok((repo, oid))
    }

    /// Fetch every branch and tag, then find `rev` (a branch, a tag, a
    /// commit id, or anything `git rev-parse` takes).
    pub fn fetch_rev(&self, rev: &str) -> Result<(Repository, Oid), GitError> {
        let repo = self.cache_repo()?;
        self.fetch_refspecs(
            &repo,
            &[
                "+refs/heads/*:refs/hopthu/heads/*".to_string(),
                "+refs/tags/*:refs/hopthu/tags/*".to_string(),
            ],
        )?;
        let candidates = [
            format!("refs/hopthu/heads/{rev}"),
            format!("refs/hopthu/tags/{rev}"),
            rev.to_string(),
        ];
        let found = candidates.iter().find_map(|c| {
            repo.revparse_single(c)
                .and_then(|o| o.peel_to_commit())
                .map(|c| c.id())
                .ok()
        });
        if let Some(oid) = found {
            return Ok((repo, oid));
        }
        // A commit no branch holds (a pull request's head): ask for it by name.
        if self
            .fetch_refspecs(&repo, &[format!("+{rev}:refs/hopthu/rev")])
            .is_ok()
            && let Ok(oid) = repo.refname_to_id("refs/hopthu/rev")
        {
            return Ok((repo, oid));
        }
        Err(GitError::NoRevision {
            url: redact_url(&self.url),
            rev: rev.to_string(),
        })
    }
}

fn unreadable_folder(path: &Path, e: &std::io::Error) -> String {
    let path = path.display();
    tr!(
        "không đọc được thư mục {path}: {e}",
        "the folder {path} cannot be read: {e}"
    )
}

/// libgit2's words, without a URL's user or password should one be in them.
fn clean_git_message(e: &git2::Error) -> String {
    let msg = e.message().to_string();
    msg.split_whitespace()
        .map(|w| {
            if w.contains("://") {
                redact_url(w)
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Push a local branch to `url` under the same name. A ref the server
/// refuses (a hook, a protected name) is an error, not a silent success.
pub fn push_branch(
    repo: &Repository,
    url: &str,
    auth: &GitAuth,
    branch: &str,
) -> Result<(), String> {
    set_timeouts();
    let target = match local_path(url) {
        Some(p) => std::fs::canonicalize(&p)
            .map(|p| p.display().to_string())
            .map_err(|e| unreadable_folder(&p, &e))?,
        None => url.to_string(),
    };
    // A repository with a work tree on this machine (a clone someone works
    // in): libgit2 cannot push into one, so the repository fetches the
    // branch instead, which is what a push would leave there.
    if local_path(url).is_some()
        && let Ok(work) = Repository::open(&target)
        && !work.is_bare()
    {
        return fetch_into_work_repository(repo, &work, branch);
    }
    let mut remote = repo
        .remote_anonymous(&target)
        .map_err(|e| clean_git_message(&e))?;
    let refused = std::cell::RefCell::new(None::<String>);
    let mut cb = callbacks(auth, url);
    cb.push_update_reference(|_, status| {
        if let Some(s) = status {
            *refused.borrow_mut() = Some(s.to_string());
        }
        Ok(())
    });
    let mut opts = git2::PushOptions::new();
    opts.remote_callbacks(cb);
    opts.follow_redirects(git2::RemoteRedirect::None);
    let spec = format!("refs/heads/{branch}:refs/heads/{branch}");
    let pushed = remote
        .push(&[spec.as_str()], Some(&mut opts))
        .map_err(|e| clean_git_message(&e));
    drop(opts);
    match pushed.err().or_else(|| refused.borrow().clone()) {
        Some(why) => Err(why),
        None => Ok(()),
    }
}

/// `branch` of `repo` brought into `work` (a repository with a work tree)
/// under the same name, as a push would: a new branch only, never the one
/// checked out, never over a branch that is there already.
fn fetch_into_work_repository(
    repo: &Repository,
    work: &Repository,
    branch: &str,
) -> Result<(), String> {
    let name = format!("refs/heads/{branch}");
    if work.find_reference(&name).is_ok() {
        return Err(tr!(
            "nhánh {branch} đã có trong kho nguồn",
            "the branch {branch} is in the source repository already"
        ));
    }
    let from = repo.path().display().to_string();
    let mut remote = work
        .remote_anonymous(&from)
        .map_err(|e| clean_git_message(&e))?;
    let mut opts = FetchOptions::new();
    opts.download_tags(git2::AutotagOption::None);
    opts.update_fetchhead(false);
    remote
        .fetch(&[format!("{name}:{name}")], Some(&mut opts), None)
        .map_err(|e| clean_git_message(&e))?;
    let (want, got) = (repo.refname_to_id(&name), work.refname_to_id(&name));
    match (want, got) {
        (Ok(a), Ok(b)) if a == b => Ok(()),
        _ => Err(tr!(
            "nhánh {branch} không tới được kho nguồn",
            "the branch {branch} did not reach the source repository"
        )),
    }
}

fn callbacks<'a>(auth: &'a GitAuth, url: &'a str) -> RemoteCallbacks<'a> {
    let mut cb = RemoteCallbacks::new();
    // libgit2 asks again after a refused credential; answer once, then stop.
    let mut asked = 0;
    let home = host_of(url);
    cb.credentials(move |asked_url, user_from_url, allowed| {
        // Credentials go only to the host the repository is on: never to
        // another host a redirect points at.
        if host_of(asked_url) != home {
            let other = host_of(asked_url).unwrap_or_default();
            return Err(git2::Error::from_str(&tr!(
                "máy chủ chuyển hopthu sang một máy khác ({other}); không gửi thông tin xác thực tới đó",
                "the server sent hopthu to another host ({other}); no credentials are sent there"
            )));
        }
        asked += 1;
        if asked > 1 {
            return Err(git2::Error::from_str(&tr!(
                "máy chủ từ chối thông tin xác thực (hãy kiểm tra token hoặc khóa SSH)",
                "the server refused the credentials (check the token or the key)"
            )));
        }
        if allowed.contains(git2::CredentialType::SSH_KEY)
            && let Some(key) = &auth.ssh_key
        {
            return git2::Cred::ssh_key(user_from_url.unwrap_or("git"), None, key, None);
        }
        if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT)
            && let Some(token) = &auth.token
        {
            if !asked_url.starts_with("https://") {
                return Err(git2::Error::from_str(&tr!(
                    "token chỉ được gửi qua https://, không bao giờ gửi dạng không mã hóa",
                    "a token is sent only over https://, never in clear"
                )));
            }
            let user = auth
                .username
                .as_deref()
                .or(user_from_url)
                .unwrap_or("x-access-token");
            return git2::Cred::userpass_plaintext(user, token.expose());
        }
        Err(git2::Error::from_str(&tr!(
            "máy chủ yêu cầu thông tin xác thực: hãy cung cấp token (https) hoặc khóa SSH (ssh)",
            "the server asks for credentials: give a token (https) or a key (ssh)"
        )))
    });
    let known_hosts = auth.known_hosts.clone();
    let port = ssh_port(url);
    cb.certificate_check(move |cert, host| {
        let Some(hostkey) = cert.as_hostkey() else {
            // An X.509 certificate: the TLS library's own checks decide.
            return Ok(git2::CertificateCheckStatus::CertificatePassthrough);
        };
        let Some(key) = hostkey.hostkey() else {
            return Err(git2::Error::from_str(&tr!(
                "máy chủ ssh không gửi khóa máy chủ (host key)",
                "the ssh server sent no host key"
            )));
        };
        let Some(path) = &known_hosts else {
            return Err(git2::Error::from_str(&tr!(
                "ssh:// cần tệp known_hosts (--git-known-hosts) để kiểm tra khóa của máy chủ",
                "ssh:// needs a known_hosts file (--git-known-hosts) to check the server's key"
            )));
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            let path = path.display();
            git2::Error::from_str(&tr!(
                "không đọc được {path}: {e}",
                "cannot read {path}: {e}"
            ))
        })?;
        match crate::known_hosts::check(&text, host, port, key) {
            crate::known_hosts::Verdict::Known => Ok(git2::CertificateCheckStatus::CertificateOk),
            crate::known_hosts::Verdict::Revoked => {
                let path = path.display();
                Err(git2::Error::from_str(&tr!(
                    "khóa máy chủ của {host} bị đánh dấu @revoked trong {path}",
                    "the host key of {host} is marked @revoked in {path}"
                )))
            }
            crate::known_hosts::Verdict::Unknown => {
                let path = path.display();
                Err(git2::Error::from_str(&tr!(
                    "khóa máy chủ của {host} không có trong {path}: máy chủ có thể đã bị giả mạo",
                    "the host key of {host} is not in {path}: the server may not be who it says"
                )))
            }
        }
    });
    cb
}

/// The host (and port) of a URL, in lower case; none for a local path.
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://").map(|(_, r)| r)?;
    let authority = rest.split('/').next()?;
    let host = authority.rsplit('@').next()?;
    Some(host.to_ascii_lowercase())
}

/// The port of an `ssh://` URL (22 when none is written).
fn ssh_port(url: &str) -> u16 {
    url.strip_prefix("ssh://")
        .and_then(|rest| {
            let authority = rest.split('/').next()?;
            let host = authority.rsplit('@').next()?;
            let (_, port) = host.rsplit_once(':')?;
            port.parse().ok()
        })
        .unwrap_or(22)
}

/// The revision a repository folder is at, for the audit log: the commit
/// of its HEAD, with `-dirty` when files differ from it. None outside git.
pub fn folder_revision(root: &Path) -> Option<String> {
    let repo = Repository::discover(root).ok()?;
    let head = repo.head().ok()?.peel_to_commit().ok()?.id().to_string();
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true).include_ignored(false);
    let dirty = repo
        .statuses(Some(&mut opts))
        .map(|s| !s.is_empty())
        .unwrap_or(false);
    Some(if dirty { format!("{head}-dirty") } else { head })
}

/// What a commit says of itself.
pub fn commit_info(repo: &Repository, oid: Oid) -> Result<CommitInfo, GitError> {
    let c = repo.find_commit(oid).map_err(|e| GitError::Read {
        commit: oid.to_string(),
        reason: e.message().to_string(),
    })?;
    let author = c.author();
    Ok(CommitInfo {
        id: oid.to_string(),
        summary: String::from_utf8_lossy(c.summary_bytes().unwrap_or_default()).into_owned(),
        message: String::from_utf8_lossy(c.message_bytes())
            .trim_end()
            .to_string(),
        author: format!(
            "{} <{}>",
            author.name().unwrap_or(""),
            author.email().unwrap_or("")
        ),
        time: c.time().seconds(),
    })
}

/// Whether `commit` has `ancestor` in its history (or is it).
pub fn descends_from(repo: &Repository, commit: Oid, ancestor: Oid) -> bool {
    commit == ancestor || repo.graph_descendant_of(commit, ancestor).unwrap_or(false)
}

/// The first-parent commits from `head` back to `since` (not included),
/// newest first. When `since` is not on that line (a rewritten history),
/// the walk stops where the new line meets the old history; with no
/// `since`, only `head`.
pub fn first_parent_since(
    repo: &Repository,
    head: Oid,
    since: Option<Oid>,
) -> Result<Vec<Oid>, GitError> {
    let read = |e: git2::Error| GitError::Read {
        commit: head.to_string(),
        reason: e.message().to_string(),
    };
    let Some(since) = since else {
        return Ok(vec![head]);
    };
    let stop = if repo.find_commit(since).is_ok() {
        repo.merge_base(head, since).ok()
    } else {
        None
    };
    let mut out = Vec::new();
    let mut cur = Some(head);
    while let Some(oid) = cur {
        if Some(oid) == stop || oid == since {
            break;
        }
        out.push(oid);
        let c = repo.find_commit(oid).map_err(read)?;
        cur = c.parent_id(0).ok();
        if stop.is_none() && cur.is_none() {
            break;
        }
    }
    Ok(out)
}

/// Read the repository's files at `commit`, under `path`.
pub fn files_at(repo: &Repository, commit: Oid, path: &str) -> Result<FileSet, GitError> {
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(|e| GitError::Read {
            commit: commit.to_string(),
            reason: e.message().to_string(),
        })?;
    files_in_tree(repo, &tree, &commit.to_string(), path)
}

/// Read the files of `tree` under `path`; `label` names the tree in errors
/// (a commit, or the index).
pub fn files_in_tree(
    repo: &Repository,
    tree: &git2::Tree<'_>,
    label: &str,
    path: &str,
) -> Result<FileSet, GitError> {
    let commit = label;
    let read = |e: git2::Error| GitError::Read {
        commit: commit.to_string(),
        reason: e.message().to_string(),
    };
    let tree = tree.clone();
    let path = path.trim_matches('/');
    let root = if path.is_empty() || path == "." {
        tree
    } else {
        let entry = tree
            .get_path(Path::new(path))
            .map_err(|_| GitError::NoPath {
                commit: commit.to_string(),
                path: path.to_string(),
            })?;
        if entry.kind() != Some(ObjectType::Tree) {
            return Err(GitError::NoPath {
                commit: commit.to_string(),
                path: path.to_string(),
            });
        }
        repo.find_tree(entry.id()).map_err(read)?
    };
    let odb = repo.odb().map_err(read)?;
    let entry_of = |mode: i32, id: Oid| -> Entry {
        match mode {
            0o120000 => Entry::Symlink,
            0o160000 => Entry::Submodule,
            0o040000 => Entry::Submodule,
            _ => match odb.read_header(id) {
                Ok((size, _)) if size as u64 > MAX_FILE_SIZE => Entry::TooLarge(size as u64),
                Ok(_) => match repo.find_blob(id) {
                    Ok(b) => Entry::File(b.content().to_vec()),
                    Err(e) => Entry::Unreadable(e.message().to_string()),
                },
                Err(e) => Entry::Unreadable(e.message().to_string()),
            },
        }
    };
    let mut set = FileSet::default();
    if let Some(e) = root.get_name(SETTINGS_FILE) {
        set.settings = Some(SourceFile {
            path: SETTINGS_FILE.into(),
            entry: entry_of(e.filemode(), e.id()),
        });
    }
    if let Some(e) = root.get_name(AGENCIES_DIR) {
        if e.kind() != Some(ObjectType::Tree) {
            set.agencies.push(SourceFile {
                path: AGENCIES_DIR.into(),
                entry: entry_of(e.filemode(), e.id()),
            });
        } else {
            let sub = repo.find_tree(e.id()).map_err(read)?;
            let mut failed = None;
            sub.walk(TreeWalkMode::PreOrder, |dir, e| {
                if e.kind() == Some(ObjectType::Tree) {
                    return git2::TreeWalkResult::Ok;
                }
                let name = String::from_utf8_lossy(e.name_bytes());
                let rel = format!("{AGENCIES_DIR}/{dir}{name}");
                let entry = entry_of(e.filemode(), e.id());
                if let Entry::Unreadable(why) = &entry {
                    failed.get_or_insert_with(|| why.clone());
                }
                set.agencies.push(SourceFile { path: rel, entry });
                git2::TreeWalkResult::Ok
            })
            .map_err(read)?;
            // A tree whose objects are missing is a truncated clone: stop,
            // rather than validate (and later apply) what happens to be there.
            if let Some(why) = failed {
                return Err(GitError::Read {
                    commit: commit.to_string(),
                    reason: tr!(
                        "bộ nhớ đệm thiếu đối tượng git: {why}",
                        "objects are missing from the cache: {why}"
                    ),
                });
            }
        }
    }
    if let Some(SourceFile {
        entry: Entry::Unreadable(why),
        ..
    }) = &set.settings
    {
        return Err(GitError::Read {
            commit: commit.to_string(),
            reason: tr!(
                "bộ nhớ đệm thiếu đối tượng git: {why}",
                "objects are missing from the cache: {why}"
            ),
        });
    }
    set.agencies.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_printed_without_their_credentials() {
        assert_eq!(
            redact_url("https://oauth2:glpat-abc@git.sonla.gov.vn/x.git"),
            "https://git.sonla.gov.vn/x.git"
        );
        assert_eq!(
            redact_url("ssh://git@git.sonla.gov.vn:2222/x.git"),
            "ssh://git.sonla.gov.vn:2222/x.git"
        );
        assert_eq!(redact_url("/srv/git/x.git"), "/srv/git/x.git");
        assert_eq!(
            redact_url("https://git.sonla.gov.vn/a@b/x.git"),
            "https://git.sonla.gov.vn/a@b/x.git"
        );
        assert_eq!(
            redact_url("https://git.sonla.gov.vn/x.git?access_token=abc"),
            "https://git.sonla.gov.vn/x.git"
        );
        assert_eq!(
            host_only("https://chat.sonla.gov.vn/hooks/T0/B1/secret"),
            "https://chat.sonla.gov.vn/…"
        );
        assert_eq!(
            host_of("https://u:p@Git.X:8443/a"),
            Some("git.x:8443".into())
        );
        assert_eq!(host_of("/srv/x.git"), None);
    }

    #[test]
    fn ssh_ports() {
        assert_eq!(ssh_port("ssh://git@host:2222/x.git"), 2222);
        assert_eq!(ssh_port("ssh://git@host/x.git"), 22);
        assert_eq!(ssh_port("/srv/x.git"), 22);
    }
}
