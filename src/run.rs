//! `hopthu run`: the continuous reconciler, the way Flux and Argo CD run
//! against their repositories. Each cycle fetches the branch, checks the
//! commits' signatures (when asked), validates, plans against the live
//! directory and applies within the safety rules of `apply`, then records
//! what it did: a state file, metrics, and a report answering the request
//! the commit carried.
//!
//! Between cycles it waits for the interval, a webhook, or a signal. A
//! burst of webhooks is one cycle. One writer per directory: a writer lock
//! (an entry in the directory, or a file lock beside an `ldif:` file) is
//! held for as long as the process runs; a second instance waits on
//! standby and writes nothing.

use crate::apply;
use crate::audit::AuditLog;
use crate::git::{CommitInfo, GitSource, Secret};
use crate::live::ConnectOptions;
use crate::metrics::Metrics;
use crate::model::Language;
use crate::plan::Change;
use crate::reconcile::{PlanSettings, Target};
use crate::report::{self, Problem, RunReport};
use crate::schema::Validators;
use crate::signing::AllowedSigners;
use crate::source::FileSet;
use crate::tr;
use crate::validate::{self, Outcome};
use crate::webhook::{self, SeenDeliveries};
use crate::writer_lock::WriterLock;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What to do about changes made by hand in the live directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DriftPolicy {
    /// Put the directory back as the repository says.
    #[default]
    Correct,
    /// Only say so (in the status, the metrics and a report).
    Report,
}

/// Everything `hopthu run` needs, settled from the configuration file and
/// the command line.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub source: GitSource,
    pub interval: Duration,
    /// Check every new first-parent commit's SSH signature against this
    /// allowed-signers file.
    pub allowed_signers: Option<PathBuf>,
    pub connect: ConnectOptions,
    pub base_dn: Option<String>,
    /// `state.json`, `audit.jsonl`, `backups/`, `reports/`, `approvals`.
    pub state_dir: PathBuf,
    /// Remove monthly audit files older than this many days (at least
    /// 180); none keeps them all.
    pub audit_keep_days: Option<u32>,
    /// Initial passwords of new mailboxes (mode 0600).
    pub credentials_out: PathBuf,
    /// Where `/healthz`, `/readyz`, `/metrics`, `/status` and
    /// `POST /hooks/git` are served; none to serve nothing.
    pub listen: Option<std::net::SocketAddr>,
    pub webhook_secret: Option<Secret>,
    pub drift_policy: DriftPolicy,
    /// POST each report as JSON here.
    pub notify_url: Option<String>,
    pub lang: Option<Language>,
    /// How long a writer lock lasts without renewal.
    pub lock_ttl: Duration,
    /// A webhook wakes the loop once no other has come for this long.
    pub webhook_quiet: Duration,
    /// ... or once this long has passed since the first of a burst.
    pub webhook_max_wait: Duration,
    /// One cycle, then exit (for cron, and for tests).
    pub once: bool,
    /// The day dates are compared with; today when none.
    pub today: Option<NaiveDate>,
    /// Who decides that this process may write: none for its own writer
    /// lock; a fence raised and lowered by someone else (the Kubernetes
    /// Lease of the controller).
    pub external_fence: Option<crate::writer_lock::Fence>,
    /// Settings of hopthu.yaml this deployment decides instead.
    pub overrides: Overrides,
    /// Held deletions approved by the deployment (the controller's
    /// `spec.approveDeletes`), besides `hopthu approve`.
    pub approve: Option<String>,
    /// Audit and propose on a schedule: lock and revoke proposals pushed
    /// to the source repository as branches for people to review.
    pub propose: Option<ProposeSchedule>,
}

#[derive(Debug, Clone)]
pub struct ProposeSchedule {
    pub every: Duration,
    /// A login export (`address,last_login`) instead of the directory's
    /// login attribute; read afresh each time.
    pub logins: Option<PathBuf>,
}

impl RunConfig {
    /// The audit log in the state folder, with its retention.
    pub fn audit_log(&self) -> AuditLog {
        let log = AuditLog::new(self.state_dir.join("audit.jsonl"));
        AuditLog {
            keep_days: self.audit_keep_days,
            ..log
        }
    }
}

/// Settings of hopthu.yaml a deployment overrides.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub max_deletes_per_run: Option<u32>,
    pub rename_grace_days: Option<u32>,
    pub layout: Option<crate::layout::LayoutName>,
}

/// What one cycle came to, for a caller that reports it elsewhere (the
/// controller's status and events).
#[derive(Debug, Clone)]
pub struct CycleSummary {
    pub result: report::Result,
    pub commit: Option<String>,
    pub done: usize,
    pub failed: usize,
    pub held: usize,
    pub error: Option<String>,
    /// A report was written: something new happened.
    pub news: bool,
    /// `3 created, 1 renamed` and the like, in the repository's language.
    pub summary: String,
}

/// What the runner remembers between cycles and restarts (`state.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// The exact commit whose desired state was last applied.
    pub last_applied_commit: Option<String>,
    /// When that commit was made (seconds since the epoch).
    pub last_applied_commit_time: Option<i64>,
    pub last_applied_at: Option<String>,
    pub last_attempted_commit: Option<String>,
    /// `applied`, `no-change`, `invalid`, ... (see `report::Result`).
    pub last_result: Option<String>,
    pub last_error: Option<String>,
    /// Deletions waiting for a person's approval.
    #[serde(default)]
    pub held: Vec<Change>,
    pub held_fingerprint: Option<String>,
    pub held_reason: Option<String>,
    /// Changes made by hand, as last seen.
    #[serde(default)]
    pub drift: usize,
    #[serde(default)]
    pub consecutive_failures: u64,
    /// The same actions keep failing: the cycle backs off.
    #[serde(default)]
    pub stalled: bool,
    /// What the last report said, so that an unchanged world is not
    /// reported again every interval.
    pub last_reported: Option<String>,
    /// The history was rewritten and the deletions that followed are not
    /// approved yet: every deletion stays held, whatever commits come next.
    #[serde(default)]
    pub rewrite_pending: bool,
    #[serde(default)]
    pub cycles: u64,
    /// When the scheduled audit last ran, and what it proposed (a branch
    /// name, or nothing new).
    #[serde(default)]
    pub last_proposal_at: Option<String>,
    #[serde(default)]
    pub last_proposal: Option<String>,
}

impl State {
    /// The state of an earlier run; none is a first run. A state file that
    /// cannot be read is an error, not a first run: forgetting the last
    /// applied commit would forget a rewritten history's held deletions.
    pub fn load(dir: &Path) -> Result<State, String> {
        let path = dir.join("state.json");
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                let path = path.display();
                tr!(
                    "{path} bị hỏng ({e}): hãy khôi phục từ bản sao lưu, hoặc xóa tệp để chạy như lần đầu (khi đó các lệnh thu hồi đang tạm giữ sẽ bị quên)",
                    "{path} is damaged ({e}): restore it from a backup, or remove it to start as a first run (held deletions are then forgotten)"
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => {
                let path = path.display();
                Err(tr!("không đọc được {path}: {e}", "cannot read {path}: {e}"))
            }
        }
    }

    /// Written atomically: a crash never leaves it half written.
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        crate::fsutil::write_atomic(&dir.join("state.json"), text.as_bytes())
    }
}

/// Where the runner is, for `/status`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    #[serde(flatten)]
    pub state: State,
    pub ready: bool,
    /// `starting`, `reconciling`, `idle`, `standby`, `backing-off`, `stopping`.
    pub phase: String,
    pub last_cycle_at: Option<String>,
    pub next_cycle_at: Option<String>,
    /// Why this instance does not write (another holds the writer lock).
    pub standby: Option<String>,
}

/// What the loop, the HTTP endpoints and the signal handler share.
pub struct Shared {
    pub metrics: Metrics,
    pub status: Mutex<Status>,
    /// In the controller: each resource's status, by `namespace/name`,
    /// which `/status` shows instead of the runner's own.
    pub resources: Mutex<BTreeMap<String, serde_json::Value>>,
    /// Raised by a webhook or a signal.
    pub wake: tokio::sync::Notify,
    /// When the last valid webhook came.
    pub last_hook: Mutex<Option<Instant>>,
    pub seen: Mutex<SeenDeliveries>,
    pub webhook_secret: Option<Secret>,
    pub stopping: AtomicBool,
}

impl Shared {
    pub fn new(webhook_secret: Option<Secret>) -> Shared {
        Shared {
            metrics: Metrics::default(),
            status: Mutex::new(Status {
                phase: "starting".into(),
                ..Status::default()
            }),
            resources: Mutex::new(BTreeMap::new()),
            wake: tokio::sync::Notify::new(),
            last_hook: Mutex::new(None),
            seen: Mutex::new(SeenDeliveries::default()),
            webhook_secret,
            stopping: AtomicBool::new(false),
        }
    }

    fn status(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ask the loop to stop after the cycle in flight.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One line on stderr per event, with the time; never a secret.
pub fn log(msg: &str) {
    eprintln!("{} hopthu: {msg}", now_rfc3339());
}

/// `30s`, `5m`, `1h`, `2h30m`, or plain seconds; from 1 s to 30 days.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let bad = || {
        tr!(
            "`{s}` không phải là khoảng thời gian (hãy viết 30s, 5m, 1h)",
            "`{s}` is not a duration (write 30s, 5m, 1h)"
        )
    };
    let total = if let Ok(n) = s.parse::<u64>() {
        n
    } else {
        let mut total = 0u64;
        let mut num = String::new();
        for c in s.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let n: u64 = num.parse().map_err(|_| bad())?;
            num.clear();
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                _ => return Err(bad()),
            };
            total = n
                .checked_mul(unit)
                .and_then(|x| total.checked_add(x))
                .ok_or_else(bad)?;
        }
        if !num.is_empty() {
            return Err(bad());
        }
        total
    };
    if !(1..=30 * 24 * 3600).contains(&total) {
        return Err(tr!(
            "`{s}`: khoảng thời gian phải từ 1s đến 30 ngày (720h)",
            "`{s}`: a duration from 1s to 30 days (720h)"
        ));
    }
    Ok(Duration::from_secs(total))
}

/// What a fetch gives a cycle: the commit and its files, whether its
/// signatures hold, and whether the history was rewritten since the last
/// applied commit. Git's objects never leave the blocking thread.
struct Fetched {
    commit: CommitInfo,
    files: FileSet,
    /// A commit that is unsigned or badly signed, and why.
    unverified: Option<crate::signing::VerifyError>,
    /// The new head does not descend from the last applied commit.
    rewritten: bool,
    /// The files of the last applied commit, when it is still there.
    previous: Option<FileSet>,
}

fn fetch(
    source: &GitSource,
    last_applied: Option<&str>,
    signers: Option<&AllowedSigners>,
) -> Result<Fetched, String> {
    use crate::git::GitError;
    let attempt = || -> Result<Fetched, GitError> {
        let (repo, head) = source.fetch()?;
        read_fetched(source, &repo, head, last_applied, signers)
    };
    match attempt() {
        // A cache that cannot be read (damaged, objects missing) is only a
        // copy: it is thrown away and the repository fetched from scratch.
        Err(e @ (GitError::Read { .. } | GitError::Cache { .. })) if source.forget_cache() => {
            log(&tr!(
                "không đọc được bộ nhớ đệm git ({e}); tải lại từ đầu",
                "the git cache could not be read ({e}); fetching from scratch"
            ));
            attempt().map_err(|e| e.to_string())
        }
        other => other.map_err(|e| e.to_string()),
    }
}

fn read_fetched(
    source: &GitSource,
    repo: &git2::Repository,
    head: git2::Oid,
    last_applied: Option<&str>,
    signers: Option<&AllowedSigners>,
) -> Result<Fetched, crate::git::GitError> {
    let commit = crate::git::commit_info(repo, head)?;
    let files = crate::git::files_at(repo, head, &source.path)?;
    let last = last_applied.and_then(|id| git2::Oid::from_str(id).ok());
    let last_known = last.filter(|oid| repo.find_commit(*oid).is_ok());
    let rewritten = match (last, last_known) {
        (None, _) => false,
        // The last applied commit is gone from the fetched history.
        (Some(_), None) => true,
        (Some(_), Some(oid)) => !crate::git::descends_from(repo, head, oid),
    };
    let unverified = match signers {
        None => None,
        Some(signers) => {
            let since = if rewritten { None } else { last_known };
            let commits = crate::git::first_parent_since(repo, head, since)?;
            commits
                .iter()
                .find_map(|oid| signers.verify_commit(repo, *oid).err())
        }
    };
    let previous = last_known
        .filter(|oid| *oid != head)
        .and_then(|oid| crate::git::files_at(repo, oid, &source.path).ok());
    Ok(Fetched {
        commit,
        files,
        unverified,
        rewritten,
        previous,
    })
}

/// How a cycle ended, for the loop's timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Done, or nothing to do: wait for the interval.
    Fine,
    /// Something failed: back off, then try again.
    Failed,
    /// Another instance writes: wait for the interval.
    Standby,
}

/// The approvals a person gave with `hopthu approve FINGERPRINT`.
pub fn approvals_file(state_dir: &Path) -> PathBuf {
    state_dir.join("approvals")
}

/// Record an approval of held deletions for the runner to pick up: only
/// the deletions the runner holds now, named by their fingerprint.
pub fn approve(state_dir: &Path, fingerprint: &str) -> Result<(), String> {
    let state_file = state_dir.join("state.json");
    let state: State = match std::fs::read(&state_file) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| {
            let path = state_file.display();
            tr!("không đọc được {path}: {e}", "{path} cannot be read: {e}")
        })?,
        Err(_) => {
            let dir = state_dir.display();
            return Err(tr!(
                "{dir} không phải thư mục trạng thái của hopthu run (không có state.json): hãy cho --state-dir của tiến trình hopthu run",
                "{dir} is not the state folder of a hopthu run (it has no state.json): give the runner's --state-dir"
            ));
        }
    };
    match &state.held_fingerprint {
        Some(fp) if fp == fingerprint => {}
        Some(fp) => {
            let n = state.held.len();
            return Err(tr!(
                "tiến trình hopthu run hiện đang tạm giữ các lệnh thu hồi khác ({n} lệnh, mã {fp}); chưa phê duyệt gì",
                "the runner holds other deletions now ({n} of them, fingerprint {fp}); nothing approved"
            ));
        }
        None => {
            return Err(tr!(
                "tiến trình hopthu run hiện không tạm giữ lệnh thu hồi nào; chưa phê duyệt gì",
                "the runner holds no deletions now; nothing approved"
            ));
        }
    }
    record_approval(state_dir, fingerprint).map_err(|e| {
        let dir = state_dir.display();
        tr!(
            "không ghi được việc phê duyệt vào {dir}: {e}",
            "cannot record the approval in {dir}: {e}"
        )
    })
}

fn record_approval(state_dir: &Path, fingerprint: &str) -> std::io::Result<()> {
    let path = approvals_file(state_dir);
    let mut list: Vec<String> = std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .filter(|l| !l.trim().is_empty())
        .collect();
    if !list.iter().any(|l| l == fingerprint) {
        list.push(fingerprint.to_string());
    }
    std::fs::create_dir_all(state_dir)?;
    crate::fsutil::write_atomic(&path, (list.join("\n") + "\n").as_bytes())
}

fn take_approval(state_dir: &Path, fingerprint: &str) -> bool {
    let path = approvals_file(state_dir);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return false;
    };
    if !text.lines().any(|l| l.trim() == fingerprint) {
        return false;
    }
    let rest: String = text
        .lines()
        .filter(|l| l.trim() != fingerprint && !l.trim().is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    let _ = crate::fsutil::write_atomic(&path, rest.as_bytes());
    true
}

/// The allowed signers a configuration names, read and checked.
fn load_signers(cfg: &RunConfig) -> Result<Option<AllowedSigners>, String> {
    let Some(path) = &cfg.allowed_signers else {
        return Ok(None);
    };
    let shown = path.display();
    let text = read_small(path).map_err(|e| {
        tr!(
            "không đọc được danh sách người ký được phép {shown}: {e}",
            "cannot read the allowed signers {shown}: {e}"
        )
    })?;
    let s = AllowedSigners::parse(&text).map_err(|e| {
        tr!(
            "danh sách người ký được phép {shown}: {e}",
            "the allowed signers {shown}: {e}"
        )
    })?;
    if s.is_empty() {
        return Err(tr!(
            "danh sách người ký được phép {shown} không có khóa nào: không commit nào được áp dụng",
            "the allowed signers {shown} lists no key: no commit could be applied"
        ));
    }
    Ok(Some(s))
}

/// The `language` hopthu.yaml names, read before the validation (which
/// says it again): for the messages about a commit that is not validated.
fn declared_language(files: &FileSet) -> Option<Language> {
    let Some(crate::source::SourceFile {
        entry: crate::source::Entry::File(bytes),
        ..
    }) = &files.settings
    else {
        return None;
    };
    let root = crate::yaml::parse(std::str::from_utf8(bytes).ok()?).root?;
    match root.lookup("/language")?.0.as_str()? {
        "vi" => Some(Language::Vi),
        "en" => Some(Language::En),
        _ => None,
    }
}

/// One directory's reconciler across cycles: what `hopthu run` loops on,
/// and what the Kubernetes controller keeps per `MailDirectory`.
pub struct Runner {
    pub cfg: RunConfig,
    shared: Arc<Shared>,
    state: State,
    signers: Option<AllowedSigners>,
    validators: Arc<Validators>,
    lock: Option<WriterLock>,
    /// What the last cycle came to.
    pub last: Option<CycleSummary>,
    /// Mailboxes the repository declared at the last valid commit, by status.
    pub mailboxes: BTreeMap<String, usize>,
    /// The repository's language, once a commit was read.
    repo_lang: Option<Language>,
}

impl Runner {
    /// Check the configuration's files, and load the state of an earlier run.
    pub fn new(cfg: RunConfig, shared: Arc<Shared>) -> Result<Runner, String> {
        let signers = load_signers(&cfg)?;
        let dir = cfg.state_dir.display();
        std::fs::create_dir_all(&cfg.state_dir)
            .map_err(|e| tr!("không tạo được {dir}: {e}", "cannot create {dir}: {e}"))?;
        cfg.audit_log().check_writable().map_err(|e| {
            tr!(
                "không ghi được nhật ký trong {dir}: {e}",
                "cannot write the audit log in {dir}: {e}"
            )
        })?;
        let state = State::load(&cfg.state_dir)?;
        if let Some(t) = state.last_applied_commit_time {
            shared.metrics.set_last_applied_commit_time(t);
        }
        shared.status().state = state.clone();
        Ok(Runner {
            validators: Arc::new(Validators::new()),
            cfg,
            shared,
            state,
            signers,
            lock: None,
            last: None,
            mailboxes: BTreeMap::new(),
            repo_lang: None,
        })
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// The language of its messages: the configured one, else the
    /// repository's once a commit was read.
    pub fn lang(&self) -> Option<Language> {
        self.cfg.lang.or(self.repo_lang)
    }

    /// Take new settings (a changed resource, rotated Secrets): the
    /// allowed signers are read again.
    pub fn reconfigure(&mut self, cfg: RunConfig) -> Result<(), String> {
        self.signers = load_signers(&cfg)?;
        self.cfg = cfg;
        Ok(())
    }

    /// Start from what someone else remembers (the controller's status)
    /// when this process has no state of its own.
    pub fn seed(&mut self, last_applied_commit: Option<String>) {
        if self.state.last_applied_commit.is_none() && last_applied_commit.is_some() {
            self.state.last_applied_commit = last_applied_commit;
        }
    }

    /// Let go of the writer lock, for the next holder.
    pub async fn release(&mut self) {
        if let Some(lock) = self.lock.take() {
            lock.release().await;
        }
    }

    fn today(&self) -> NaiveDate {
        self.cfg
            .today
            .unwrap_or_else(|| chrono::Local::now().date_naive())
    }

    fn save(&mut self) {
        if let Err(e) = self.state.save(&self.cfg.state_dir) {
            log(&tr!(
                "không lưu được tệp trạng thái: {e}",
                "cannot save the state file: {e}"
            ));
        }
        let mut st = self.shared.status();
        st.state = self.state.clone();
    }

    /// The writer lock, taken when this instance has none.
    async fn ensure_lock(&mut self, base_dn: &str) -> Result<(), crate::writer_lock::LockError> {
        if let Some(fence) = &self.cfg.external_fence {
            return if fence.is_up() {
                Ok(())
            } else {
                Err(crate::writer_lock::LockError::Held {
                    holder: tr!(
                        "một bản sao (replica) khác (đang giữ Lease)",
                        "another replica (it holds the Lease)"
                    ),
                    until: tr!("khi nó trả lại", "it lets go"),
                })
            };
        }
        if let Some(lock) = &self.lock {
            if lock.fence.is_up() {
                return Ok(());
            }
            log(&tr!(
                "đã mất khóa ghi: ngừng ghi; đang lấy lại khóa",
                "the writer lock was lost: writing stopped; taking it again"
            ));
            if let Some(lock) = self.lock.take() {
                lock.release().await;
            }
        }
        match WriterLock::acquire(&self.cfg.connect, base_dn, self.cfg.lock_ttl).await {
            Ok(lock) => {
                self.lock = Some(lock);
                self.shared.status().standby = None;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    pub async fn cycle(&mut self) -> Ended {
        if let Some(l) = self.lang() {
            crate::i18n::set(l);
        }
        let started = Instant::now();
        self.last = None;
        self.shared.status().phase = "reconciling".into();
        self.state.cycles += 1;
        let (result, ended) = self.cycle_inner().await;
        let seconds = started.elapsed().as_secs_f64();
        self.shared
            .metrics
            .cycle(result, seconds, chrono::Utc::now().timestamp());
        match ended {
            Ended::Failed => {
                self.state.consecutive_failures += 1;
            }
            Ended::Fine => {
                self.state.consecutive_failures = 0;
                self.shared.metrics.set_ready(true);
                self.shared.status().ready = true;
            }
            Ended::Standby => {}
        }
        self.shared
            .metrics
            .set_consecutive_failures(self.state.consecutive_failures);
        self.shared.status().last_cycle_at = Some(now_rfc3339());
        // A replica that lost its Lease mid-cycle leaves the state to the
        // new holder.
        if self.cfg.external_fence.as_ref().is_none_or(|f| f.is_up()) {
            self.save();
        }
        ended
    }

    async fn cycle_inner(&mut self) -> (&'static str, Ended) {
        // 1. Fetch, read the commit's tree, check signatures: git is
        //    blocking work, done off the async threads.
        let source = self.cfg.source.clone();
        let last = self.state.last_applied_commit.clone();
        let signers = self.signers.clone();
        let lang = crate::i18n::current();
        let fetched = tokio::task::spawn_blocking(move || {
            crate::i18n::with(lang, || fetch(&source, last.as_deref(), signers.as_ref()))
        })
        .await
        .unwrap_or_else(|e| Err(tr!("lần tải bị lỗi: {e}", "the fetch failed: {e}")));
        let fetched = match fetched {
            Ok(f) => f,
            Err(e) => {
                log(&tr!(
                    "không tải được kho: {e}; chưa áp dụng gì",
                    "cannot fetch the repository: {e}; nothing applied"
                ));
                self.last = Some(CycleSummary {
                    result: report::Result::Failed,
                    commit: None,
                    done: 0,
                    failed: 0,
                    held: 0,
                    error: Some(tr!(
                        "không tải được kho: {e}",
                        "cannot fetch the repository: {e}"
                    )),
                    news: self.state.last_error.as_deref() != Some(e.as_str()),
                    summary: String::new(),
                });
                self.state.last_error = Some(e);
                self.state.last_result = Some(report::Result::Failed.as_str().into());
                return ("failed", Ended::Failed);
            }
        };
        let commit = fetched.commit.clone();
        let short = &commit.id[..commit.id.len().min(12)];
        self.state.last_attempted_commit = Some(commit.id.clone());
        // The repository's language, as soon as its files are here.
        if self.cfg.lang.is_none()
            && let Some(l) = declared_language(&fetched.files)
        {
            self.repo_lang = Some(l);
            crate::i18n::set(l);
        }

        // 2. Signatures.
        if let Some(why) = fetched.unverified.as_ref().map(|e| e.to_string()) {
            log(&tr!(
                "commit {short}: {why}; chưa áp dụng gì",
                "commit {short}: {why}; nothing applied"
            ));
            let lang = self.lang().unwrap_or_else(crate::i18n::current);
            let mut r = self.report(&commit, report::Result::Unverified, lang);
            r.error = Some(why.clone());
            self.state.last_error = Some(why.clone());
            self.finish(r).await;
            return ("unverified", Ended::Fine);
        }

        // 3. Validation.
        let today = self.today();
        let lang = self.cfg.lang;
        let validators = self.validators.clone();
        let files = fetched.files;
        let outcome = tokio::task::spawn_blocking(move || {
            validate::validate(&files, &validators, &validate::Options { lang, today })
        })
        .await
        .expect("validation never panics");
        let lang = outcome.lang;
        // From here on, the messages are in the repository's language
        // (or the configured one).
        self.repo_lang = Some(lang);
        crate::i18n::set(lang);
        if !outcome.is_valid() || outcome.settings.is_none() {
            let n = outcome.errors();
            log(&tr!(
                "commit {short} không hợp lệ ({n} lỗi); chưa áp dụng gì",
                "commit {short} is invalid ({n} error(s)); nothing applied"
            ));
            let mut r = self.report(&commit, report::Result::Invalid, lang);
            r.problems = problems(&outcome);
            self.state.last_error = Some(tr!(
                "commit {short} không hợp lệ: {n} lỗi",
                "commit {short} is invalid: {n} error(s)"
            ));
            self.finish(r).await;
            return ("invalid", Ended::Fine);
        }
        let mut settings = outcome.settings.clone().expect("valid");
        let o = &self.cfg.overrides;
        if let Some(n) = o.max_deletes_per_run {
            settings.policy.max_deletes_per_run = n;
        }
        if let Some(n) = o.rename_grace_days {
            settings.policy.rename_grace_days = n;
        }
        if let Some(l) = o.layout {
            settings.directory.layout = l;
        }
        let target = Target::new(
            &settings,
            self.cfg.connect.clone(),
            self.cfg.base_dn.clone(),
        );

        // 4. One writer.
        match self.ensure_lock(&target.base_dn).await {
            Ok(()) => {}
            Err(e @ crate::writer_lock::LockError::Held { .. }) => {
                log(&tr!("chờ (standby): {e}", "standby: {e}"));
                let mut st = self.shared.status();
                st.standby = Some(e.to_string());
                st.phase = "standby".into();
                return ("standby", Ended::Standby);
            }
            Err(e) => {
                log(&tr!(
                    "commit {short}: {e}; chưa áp dụng gì",
                    "commit {short}: {e}; nothing applied"
                ));
                self.state.last_error = Some(e.to_string());
                self.state.last_result = Some(report::Result::Failed.as_str().into());
                return ("failed", Ended::Failed);
            }
        }

        // 5. Plan.
        let ps = PlanSettings {
            settings: &settings,
            today,
            hold_all_deletes: fetched.rewritten || self.state.rewrite_pending,
        };
        let (mut plan, mut dir) =
            match crate::reconcile::plan_against(&outcome.desired, &ps, &target).await {
                Ok(x) => x,
                Err(e) => {
                    log(&tr!(
                        "commit {short}: {e}; chưa áp dụng gì",
                        "commit {short}: {e}; nothing applied"
                    ));
                    let mut r = self.report(&commit, report::Result::Failed, lang);
                    r.error = Some(e.to_string());
                    self.state.last_error = Some(e.to_string());
                    self.finish(r).await;
                    return ("failed", Ended::Failed);
                }
            };

        // 6. Drift: changes the repository did not ask for. On the commit
        //    last applied, every change is one; on a new commit, those of
        //    mailboxes the commit did not touch.
        let same_commit = self.state.last_applied_commit.as_deref() == Some(commit.id.as_str());
        let untouched: Option<HashSet<String>> = if same_commit {
            None
        } else {
            fetched.previous.as_ref().map(|prev| {
                let old = validate::validate(
                    prev,
                    &self.validators,
                    &validate::Options {
                        lang: Some(lang),
                        today,
                    },
                );
                unchanged_keys(&old, &outcome)
            })
        };
        let drift: Vec<Change> = plan
            .changes
            .iter()
            .filter(|c| same_commit || untouched.as_ref().is_some_and(|u| u.contains(&c.key)))
            .cloned()
            .collect();
        self.state.drift = drift.len();
        self.shared.metrics.set_drift(drift.len());
        if !drift.is_empty() && self.cfg.drift_policy == DriftPolicy::Report {
            let keys: HashSet<String> = drift.iter().map(|c| c.key.clone()).collect();
            plan.drop_keys(&keys);
            let n = drift.len();
            log(&tr!(
                "{n} thay đổi do sửa tay trong thư mục; chỉ báo cáo, không sửa lại (driftPolicy: report)",
                "{n} change(s) made by hand in the directory; reported, not corrected (driftPolicy: report)"
            ));
        }

        // 7. Apply, within the safety rules.
        let approved = plan.held_fingerprint.clone().filter(|fp| {
            self.cfg.approve.as_deref() == Some(fp.as_str())
                || take_approval(&self.cfg.state_dir, fp)
        });
        if let Some(fp) = &approved {
            log(&tr!(
                "các lệnh thu hồi tạm giữ {fp} đã được phê duyệt: đang thực hiện",
                "held deletions {fp} approved: releasing them"
            ));
        }
        let nothing = plan.is_empty() && (plan.held.is_empty() || approved.is_none());
        let mut applied: Option<apply::Report> = None;
        if !nothing {
            if let Some(fence) = &self.cfg.external_fence {
                dir.set_fence(fence.clone());
            } else if let Some(lock) = &self.lock {
                dir.set_fence(lock.fence.clone());
            }
            let opts = apply::Options {
                credentials_out: Some(self.cfg.credentials_out.clone()),
                backup_dir: self.cfg.state_dir.join("backups"),
                audit: self.cfg.audit_log(),
                approve_deletes: approved.clone(),
                revision: Some(commit.id.clone()),
                password_policy: settings.policy.password.clone(),
            };
            match apply::apply(&mut dir, &plan, &opts).await {
                Ok(r) => applied = Some(r),
                Err(e) => {
                    let _ = dir.close().await;
                    log(&format!("commit {short}: {e}"));
                    let mut r = self.report(&commit, report::Result::Failed, lang);
                    r.error = Some(e.to_string());
                    self.state.last_error = Some(e.to_string());
                    self.finish(r).await;
                    return ("failed", Ended::Failed);
                }
            }
        }
        let _ = dir.close().await;

        // 8. Record.
        let failed = applied.as_ref().map_or(0, |r| r.failed);
        let done = applied.as_ref().map_or(0, |r| r.done);
        if let Some(r) = &applied {
            for o in &r.outcomes {
                self.shared
                    .metrics
                    .action(o.action.as_str(), o.error.is_none());
            }
        }
        let held_now = applied.as_ref().map_or(plan.held.len(), |r| r.held);
        let (held, held_fingerprint, held_reason) = if held_now > 0 {
            (
                plan.held.clone(),
                plan.held_fingerprint.clone(),
                plan.held_reason.clone(),
            )
        } else {
            (Vec::new(), None, None)
        };
        self.shared.metrics.set_held(held.len());
        // A rewritten history keeps every deletion held until a person has
        // approved them (or the deletions went away by themselves).
        if fetched.rewritten || self.state.rewrite_pending {
            self.state.rewrite_pending = !held.is_empty();
        }
        self.mailboxes = by_status(&outcome);
        self.shared.metrics.set_mailboxes(self.mailboxes.clone());
        let result = if failed > 0 {
            report::Result::PartlyApplied
        } else if !plan.conflicts.is_empty() {
            report::Result::Conflicts
        } else if !drift.is_empty() && self.cfg.drift_policy == DriftPolicy::Report {
            report::Result::DriftReported
        } else if done > 0 {
            report::Result::Applied
        } else if !held.is_empty() {
            report::Result::Held
        } else {
            report::Result::NoChange
        };
        let approve_with = held_fingerprint.as_ref().map(|fp| {
            format!(
                "hopthu approve {fp} --state-dir {}",
                self.cfg.state_dir.display()
            )
        });
        if let Some(cmd) = &approve_with {
            let n = held.len();
            let why =
                crate::render::held_reason_words(held_reason.as_deref(), crate::i18n::current());
            log(&tr!(
                "commit {short}: TẠM GIỮ {n} lệnh thu hồi ({why}), chưa xóa gì; phê duyệt bằng: {cmd}",
                "commit {short}: {n} deletion(s) HELD ({why}), nothing deleted; approve with: {cmd}"
            ));
        }
        // The commit counts as applied once every action it asked for was
        // carried out (held deletions wait for a person, not for hopthu).
        if failed == 0 {
            self.state.last_applied_commit = Some(commit.id.clone());
            self.state.last_applied_commit_time = Some(commit.time);
            self.state.last_applied_at = Some(now_rfc3339());
            self.shared
                .metrics
                .set_last_applied_commit_time(commit.time);
        }
        self.state.stalled = failed > 0 && self.state.consecutive_failures + 1 >= STALLED_AFTER;
        self.state.held = held.clone();
        self.state.held_fingerprint = held_fingerprint.clone();
        self.state.held_reason = held_reason.clone();
        self.state.last_error = applied
            .as_ref()
            .and_then(|r| r.audit_error.clone())
            .or_else(|| {
                (failed > 0).then(|| {
                    tr!(
                        "{failed} việc thất bại; sẽ thử lại",
                        "{failed} action(s) failed; retried"
                    )
                })
            });
        if done > 0 || failed > 0 {
            let n = held.len();
            log(&tr!(
                "commit {short}: xong {done} việc, {failed} thất bại, {n} tạm giữ",
                "commit {short}: {done} action(s) done, {failed} failed, {n} held"
            ));
        } else if self.cfg.once && held.is_empty() {
            log(&tr!(
                "commit {short}: không có gì thay đổi, thư mục đã khớp với kho",
                "commit {short}: nothing to change, the directory matches the repository"
            ));
        }
        let mut r = self.report(&commit, result, lang);
        r.summary = plan.summary.clone();
        if let Some(a) = &applied {
            r.outcomes = a.outcomes.clone();
            r.backup = a.backup.clone();
        }
        r.held = held;
        r.held_fingerprint = held_fingerprint;
        r.held_reason = held_reason;
        r.approve_with = approve_with;
        r.drift = drift;
        r.error = self.state.last_error.clone();
        if failed == 0 {
            self.scheduled_proposal(&outcome, &target, &commit.id, today)
                .await;
        }
        self.finish(r).await;
        if failed > 0 {
            ("partly-applied", Ended::Failed)
        } else {
            (result.as_str(), Ended::Fine)
        }
    }

    /// When due, audit the live directory against the commit just applied
    /// and push lock and revoke proposals to the source as a branch. Its
    /// failures are logged and retried at the next due time; they never
    /// fail the cycle (the directory is as git says).
    async fn scheduled_proposal(
        &mut self,
        outcome: &validate::Outcome,
        target: &Target,
        commit: &str,
        today: NaiveDate,
    ) {
        let Some(sched) = self.cfg.propose.clone() else {
            return;
        };
        let due = match self
            .state
            .last_proposal_at
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        {
            Some(last) => {
                let since = chrono::Utc::now().signed_duration_since(last);
                since.to_std().is_ok_and(|d| d >= sched.every)
            }
            None => true,
        };
        if !due {
            return;
        }
        self.state.last_proposal_at = Some(now_rfc3339());
        let logins = match &sched.logins {
            None => None,
            Some(p) => {
                let name = p.display().to_string();
                let read = read_small(p)
                    .map_err(|e| {
                        tr!(
                            "không đọc được tệp đăng nhập {name}: {e}",
                            "cannot read the login export {name}: {e}"
                        )
                    })
                    .and_then(|t| {
                        crate::lifecycle::read_logins_csv(&name, &t, today).map_err(|errs| {
                            errs.iter()
                                .map(|e| e.to_string())
                                .collect::<Vec<_>>()
                                .join("; ")
                        })
                    });
                match read {
                    Ok(l) => Some((name, l)),
                    Err(e) => {
                        log(&scheduled_audit_failed(&e));
                        self.state.last_proposal = Some(format!("failed: {e}"));
                        return;
                    }
                }
            }
        };
        let records = AuditLog::new(self.cfg.state_dir.join("audit.jsonl"))
            .read()
            .unwrap_or_default();
        let restored = crate::lifecycle::restores_from_log(&records);
        let report = match crate::lifecycle::audit_live(
            outcome,
            target,
            today,
            logins.as_ref().map(|(n, l)| (n.as_str(), l)),
            &restored,
        )
        .await
        {
            Ok(r) => r,
            Err(e) => {
                log(&scheduled_audit_failed(&e.to_string()));
                self.state.last_proposal = Some(format!("failed: {e}"));
                return;
            }
        };
        let findings = report.findings.len();
        let source = self.cfg.source.clone();
        let validators = self.validators.clone();
        let lang = outcome.lang;
        let domain = outcome
            .settings
            .as_ref()
            .map(|s| s.domain.clone())
            .unwrap_or_default();
        let commit = commit.to_string();
        let summaries = self.cfg.state_dir.join("proposals");
        let in_lang = crate::i18n::current();
        let done =
            tokio::task::spawn_blocking(move || -> Result<crate::propose::Proposed, String> {
                let _lang = crate::i18n::on_this_thread(in_lang);
                let repo = source.fetch_proposals().map_err(|e| e.to_string())?;
                let base = git2::Oid::from_str(&commit).map_err(|e| e.to_string())?;
                let opts = crate::propose::ProposeOptions {
                    root: Path::new(""),
                    base: None,
                    branch: None,
                    remote: None,
                    auth: source.auth.clone(),
                    today,
                    lang,
                    author: ("hopthu".into(), format!("hopthu@{domain}")),
                };
                let check = |set: &crate::source::FileSet| {
                    validate::validate(
                        set,
                        &validators,
                        &validate::Options {
                            lang: Some(lang),
                            today,
                        },
                    )
                };
                // The branch lives on the source only: once pushed (or not),
                // the cache's copy goes, and the next audit sees the source's.
                let push = |repo: &git2::Repository, branch: &str| {
                    let pushed = source.push(repo, branch);
                    if let Ok(mut b) = repo.find_branch(branch, git2::BranchType::Local) {
                        let _ = b.delete();
                    }
                    pushed.map(|_| Some(crate::git::redact_url(&source.url)))
                };
                let p = crate::propose::propose_in(
                    &repo,
                    &source.path,
                    base,
                    &report,
                    &opts,
                    &check,
                    &push,
                )
                .map_err(|e| e.to_string())?;
                if let Some(b) = &p.branch {
                    let file = summaries.join(format!("{}.md", b.replace('/', "_")));
                    let _ = std::fs::create_dir_all(&summaries);
                    let _ = crate::fsutil::write_atomic(&file, p.summary.as_bytes());
                }
                Ok(p)
            })
            .await
            .unwrap_or_else(|e| Err(tr!("lần đề xuất bị lỗi: {e}", "the proposal failed: {e}")));
        match done {
            Ok(p) => match &p.branch {
                Some(b) => {
                    let n = p.changes.len();
                    log(&tr!(
                        "kiểm tra định kỳ: {findings} phát hiện; đã đề xuất {n} thay đổi ở nhánh {b}",
                        "scheduled audit: {findings} finding(s); proposed {n} change(s) on the branch {b}"
                    ));
                    self.state.last_proposal = Some(b.clone());
                }
                None => {
                    log(&tr!(
                        "kiểm tra định kỳ: {findings} phát hiện; không có gì mới để đề xuất",
                        "scheduled audit: {findings} finding(s); nothing new to propose"
                    ));
                    self.state.last_proposal = None;
                }
            },
            Err(e) => {
                log(&tr!("kiểm tra định kỳ: {e}", "scheduled audit: {e}"));
                self.state.last_proposal = Some(format!("failed: {e}"));
            }
        }
    }

    fn report(&self, commit: &CommitInfo, result: report::Result, lang: Language) -> RunReport {
        RunReport {
            time: now_rfc3339(),
            commit: commit.clone(),
            result,
            summary: Default::default(),
            outcomes: Vec::new(),
            held: Vec::new(),
            held_fingerprint: None,
            held_reason: None,
            approve_with: None,
            problems: Vec::new(),
            drift: Vec::new(),
            error: None,
            backup: None,
            language: lang,
        }
    }

    /// Keep the result, and write and send the report when it says
    /// something new: a new commit, actions carried out, a new problem.
    async fn finish(&mut self, r: RunReport) {
        self.state.last_result = Some(r.result.as_str().into());
        let done = r.outcomes.iter().filter(|o| o.error.is_none()).count();
        let failed = r.outcomes.len() - done;
        self.last = Some(CycleSummary {
            result: r.result,
            commit: Some(r.commit.id.clone()),
            done,
            failed,
            held: r.held.len(),
            error: r.error.clone(),
            news: false,
            summary: crate::render::summary_counts(&r.summary, r.language),
        });
        // What a report says, in short: the same again is not news.
        let said = format!(
            "{} {} {} {} {:?} {}",
            r.commit.id,
            r.result.as_str(),
            r.held_fingerprint.as_deref().unwrap_or(""),
            r.drift.len(),
            r.error,
            r.problems.len()
        );
        let new_commit = self
            .state
            .last_reported
            .as_deref()
            .is_none_or(|last| !last.starts_with(&r.commit.id));
        let news = new_commit
            // Something was done (drift corrected, a retry that worked).
            || r.outcomes.iter().any(|o| o.error.is_none())
            // A new problem or a new hold on the same commit; "nothing to
            // change" after the commit was reported is not news.
            || (r.result != report::Result::NoChange
                && self.state.last_reported.as_deref() != Some(&said));
        if !news {
            return;
        }
        self.state.last_reported = Some(said);
        if let Some(l) = &mut self.last {
            l.news = true;
        }
        match r.write(&self.cfg.state_dir.join("reports")) {
            Ok(path) => {
                let path = path.display();
                log(&tr!("báo cáo: {path}", "report: {path}"))
            }
            Err(e) => log(&tr!(
                "không ghi được báo cáo: {e}",
                "cannot write the report: {e}"
            )),
        }
        if let Some(url) = &self.cfg.notify_url
            && let Err(e) = report::notify(url, &r).await
        {
            log(&e);
        }
    }
}

fn scheduled_audit_failed(e: &str) -> String {
    tr!(
        "kiểm tra định kỳ: {e}; chưa đề xuất gì",
        "scheduled audit: {e}; nothing proposed"
    )
}

/// After this many cycles in a row with failed actions, the runner says it
/// is stalled (and keeps backing off) instead of retrying hot.
const STALLED_AFTER: u64 = 5;

/// The wait after `failures` failed cycles in a row: 5 s, doubling, at most
/// the interval (and at most 10 minutes).
pub fn backoff(failures: u64, interval: Duration) -> Duration {
    let exp = failures.saturating_sub(1).min(10) as u32;
    let wait = Duration::from_secs(5) * 2u32.pow(exp);
    wait.min(interval).min(Duration::from_secs(600))
}

/// Keys whose desired mailbox is the same in both outcomes.
fn unchanged_keys(old: &Outcome, new: &Outcome) -> HashSet<String> {
    let before: HashMap<&str, &crate::desired::DesiredMailbox> =
        old.desired.iter().map(|m| (m.key.as_str(), m)).collect();
    new.desired
        .iter()
        .filter(|m| {
            before
                .get(m.key.as_str())
                .is_some_and(|o| same_mailbox(o, m))
        })
        .map(|m| m.key.clone())
        .collect()
}

/// The same mailbox, wherever in the repository it is declared.
fn same_mailbox(a: &crate::desired::DesiredMailbox, b: &crate::desired::DesiredMailbox) -> bool {
    let mut a = a.clone();
    a.file = b.file.clone();
    a.pointer = b.pointer.clone();
    a == *b
}

fn problems(o: &Outcome) -> Vec<Problem> {
    o.diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| Problem {
            file: d.file.clone(),
            line: d.line,
            column: d.column,
            code: d.code.to_string(),
            message: d.message.clone(),
            hint: d.hint.clone(),
        })
        .collect()
}

fn by_status(o: &Outcome) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for d in &o.desired {
        let s = match d.status {
            crate::model::Status::Active => "active",
            crate::model::Status::Locked => "locked",
        };
        *m.entry(s.to_string()).or_insert(0) += 1;
    }
    m
}

/// Run until stopped (or one cycle with `once`). Returns the exit code.
pub async fn run(cfg: RunConfig) -> Result<u8, String> {
    if let Some(l) = cfg.lang {
        crate::i18n::set(l);
    }
    let shared = Arc::new(Shared::new(cfg.webhook_secret.clone()));
    let once = cfg.once;
    let listen = cfg.listen;
    let has_secret = cfg.webhook_secret.is_some();
    let mut runner = Runner::new(cfg, shared.clone())?;
    let server = match listen {
        Some(addr) if !once => {
            let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                tr!(
                    "không lắng nghe được trên {addr}: {e}",
                    "cannot listen on {addr}: {e}"
                )
            })?;
            let at = listener.local_addr().map_err(|e| e.to_string())?;
            let note = if !has_secret {
                tr!(
                    " (webhook trả lời 404: chưa cấu hình khóa bí mật)",
                    " (the webhook answers 404: no secret is configured)"
                )
            } else {
                String::new()
            };
            log(&tr!(
                "phục vụ /healthz, /readyz, /metrics, /status và /hooks/git trên {at}{note}",
                "serving /healthz, /readyz, /metrics, /status and /hooks/git on {at}{note}"
            ));
            Some(tokio::spawn(crate::serve::serve(listener, shared.clone())))
        }
        _ => None,
    };
    spawn_signal_handler(shared.clone());

    let url = crate::git::redact_url(&runner.cfg.source.url);
    let branch = &runner.cfg.source.branch;
    let path = if runner.cfg.source.path.is_empty() {
        "."
    } else {
        &runner.cfg.source.path
    };
    let every = runner.cfg.interval.as_secs();
    let live = crate::git::redact_url(&runner.cfg.connect.url);
    log(&tr!(
        "theo dõi {url} ({branch}, {path}) mỗi {every}s; ghi vào {live}",
        "watching {url} ({branch}, {path}) every {every}s; writing to {live}"
    ));
    let mut code = 0u8;
    loop {
        let ended = runner.cycle().await;
        if runner.cfg.once {
            // A single cycle that could not do its work (an error, or
            // another instance writing) is a failure for the script that
            // asked for it.
            code = u8::from(ended != Ended::Fine);
            break;
        }
        if shared.stopping() {
            break;
        }
        let wait = match ended {
            Ended::Failed => {
                let w = backoff(runner.state.consecutive_failures, runner.cfg.interval);
                shared.status().phase = if runner.state.stalled {
                    "stalled".into()
                } else {
                    "backing-off".into()
                };
                w
            }
            Ended::Standby => runner.cfg.interval,
            Ended::Fine => {
                shared.status().phase = "idle".into();
                runner.cfg.interval
            }
        };
        shared.status().next_cycle_at = Some(
            (chrono::Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default())
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
        wait_for_next(&shared, wait, &runner.cfg).await;
        if shared.stopping() {
            break;
        }
    }
    shared.status().phase = "stopping".into();
    runner.release().await;
    shared.stop();
    if let Some(s) = server {
        let _ = s.await;
    }
    log(&tr!("đã dừng", "stopped"));
    Ok(code)
}

/// Sleep until the interval passes, a webhook burst settles, or a signal.
async fn wait_for_next(shared: &Shared, wait: Duration, cfg: &RunConfig) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => return,
            _ = shared.wake.notified() => {}
        }
        if shared.stopping() {
            return;
        }
        let first = shared
            .last_hook
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let Some(first) = first else { continue };
        // A push rarely comes alone: wait for the burst to settle, so that
        // it costs one cycle, not one per push.
        let started = Instant::now();
        let mut last = first;
        loop {
            let quiet_until = last + cfg.webhook_quiet;
            let now = Instant::now();
            if now >= quiet_until || now.duration_since(started) >= cfg.webhook_max_wait {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(quiet_until - now) => {}
                _ = shared.wake.notified() => {}
            }
            if shared.stopping() {
                return;
            }
            if let Some(t) = shared
                .last_hook
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
            {
                last = t;
            }
        }
        return;
    }
}

fn spawn_signal_handler(shared: Arc<Shared>) {
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        log(&tr!(
            "đang dừng: chu kỳ đang chạy sẽ hoàn tất trước (tín hiệu thứ hai sẽ dừng ngay)",
            "stopping: the cycle in flight finishes first (a second signal stops at once)"
        ));
        shared.stop();
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        // Every write is atomic and every action is retried by the next
        // run: stopping now loses nothing but the time of the cycle.
        log(&tr!(
            "đã dừng ngay do tín hiệu thứ hai; lần chạy sau sẽ hoàn tất chu kỳ",
            "stopped at once by a second signal; the next run completes the cycle"
        ));
        std::process::exit(1);
    });
}

/// Check a webhook and wake the loop. Returns the HTTP status.
pub fn handle_webhook(
    shared: &Shared,
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
) -> u16 {
    let secret = shared
        .webhook_secret
        .as_ref()
        .map(|s| s.expose().as_bytes());
    match webhook::verify(header, body, secret) {
        Ok(delivery) => {
            // A replay: the same delivery id, or the same signed body again
            // (the id is not covered by the signature; every push's body
            // differs, naming its commits).
            use sha2::Digest;
            let body_id = format!("body {:x}", sha2::Sha256::digest(body));
            let mut seen = shared.seen.lock().unwrap_or_else(|p| p.into_inner());
            let fresh_id = delivery
                .id
                .as_ref()
                .is_none_or(|id| seen.first_time(&format!("id {id}")));
            if !(fresh_id && seen.first_time(&body_id)) {
                shared.metrics.webhook("replayed");
                return 401;
            }
            drop(seen);
            shared.metrics.webhook("accepted");
            *shared.last_hook.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
            shared.wake.notify_one();
            202
        }
        Err(webhook::Refusal::NoSecret) => {
            shared.metrics.webhook("disabled");
            404
        }
        Err(_) => {
            shared.metrics.webhook("refused");
            401
        }
    }
}

/// An interval as written in the configuration file: `5m`, or seconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Interval {
    Text(String),
    Seconds(u64),
}

impl Interval {
    pub fn text(&self) -> String {
        match self {
            Interval::Text(s) => s.clone(),
            Interval::Seconds(n) => n.to_string(),
        }
    }
}

/// Files an operator names (configuration, secrets) are small: larger
/// ones are refused before they are read.
pub fn read_small(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    const LIMIT: u64 = 1024 * 1024;
    let f = std::fs::File::open(path)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::other(tr!(
            "không phải tệp thông thường",
            "not a regular file"
        )));
    }
    let mut text = String::new();
    f.take(LIMIT + 1).read_to_string(&mut text)?;
    if text.len() as u64 > LIMIT {
        return Err(std::io::Error::other(tr!(
            "lớn hơn 1 MiB",
            "larger than 1 MiB"
        )));
    }
    Ok(text)
}

/// A parse error without the value it quotes: a password typed in the
/// wrong place must not end up in a log.
fn without_values(msg: &str) -> String {
    let mut out = String::new();
    let mut rest = msg;
    while let Some(i) = rest.find(" \"") {
        out.push_str(&rest[..i]);
        match rest[i + 2..].find('"') {
            Some(j) => {
                out.push_str(" \"…\"");
                rest = &rest[i + 2 + j + 1..];
            }
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A repository URL that is a relative path on this machine.
fn is_relative_repo_path(u: &str) -> bool {
    !u.starts_with("file://") && crate::git::local_path(u).is_some_and(|p| p.is_relative())
}

/// The configuration file of `hopthu run` (YAML). Every setting can also
/// be given on the command line, which wins. Relative paths are relative
/// to the file's folder.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunFile {
    #[serde(default)]
    pub git: GitFile,
    #[serde(default)]
    pub live: LiveFile,
    pub state_dir: Option<PathBuf>,
    /// Remove monthly audit files older than this many days (at least 180).
    pub audit_keep_days: Option<u32>,
    pub credentials_file: Option<PathBuf>,
    pub listen: Option<String>,
    pub webhook_secret_file: Option<PathBuf>,
    pub drift_policy: Option<DriftPolicy>,
    #[serde(rename = "notifyURL")]
    pub notify_url: Option<String>,
    pub language: Option<Language>,
    /// Audit and propose on a schedule.
    pub propose: Option<ProposeFile>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProposeFile {
    /// How often: `1d`, `12h`, or a number of seconds.
    pub every: Option<Interval>,
    /// A login export `address,last_login` (relative to this file).
    pub logins: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitFile {
    pub url: Option<String>,
    pub branch: Option<String>,
    pub path: Option<String>,
    /// `30s`, `5m`, `1h`, or a number of seconds.
    pub interval: Option<Interval>,
    pub token_file: Option<PathBuf>,
    pub username: Option<String>,
    pub ssh_key_file: Option<PathBuf>,
    pub known_hosts_file: Option<PathBuf>,
    pub cache: Option<PathBuf>,
    /// An allowed-signers file: every commit applied must be signed by one
    /// of its keys.
    pub allowed_signers: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiveFile {
    pub url: Option<String>,
    #[serde(rename = "bindDN")]
    pub bind_dn: Option<String>,
    pub bind_password_file: Option<PathBuf>,
    #[serde(default)]
    pub starttls: bool,
    pub ca_file: Option<PathBuf>,
    #[serde(rename = "baseDN")]
    pub base_dn: Option<String>,
}

impl RunFile {
    /// Read a configuration file: YAML, with the same refusals as the
    /// repository's files (no anchors, no duplicate keys).
    pub fn read(path: &Path) -> Result<RunFile, String> {
        let shown = path.display();
        let text = read_small(path)
            .map_err(|e| tr!("không đọc được {shown}: {e}", "cannot read {shown}: {e}"))?;
        let parsed = crate::yaml::parse(&text);
        if let Some(e) = parsed.errors.first() {
            return Err(format!("{shown}:{}:{}: {}", e.pos.line, e.pos.col, e.kind));
        }
        let Some(root) = parsed.root else {
            return Ok(RunFile::default());
        };
        let mut file: RunFile = serde_json::from_value(root.to_json())
            .map_err(|e| format!("{shown}: {}", without_values(&e.to_string())))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        // A repository on this machine and an `ldif:` file are paths too.
        if let Some(url) = &mut file.git.url
            && is_relative_repo_path(url)
        {
            *url = dir.join(&*url).display().to_string();
        }
        if let Some(u) = &mut file.live.url
            && let Some(p) = u.strip_prefix("ldif:")
            && Path::new(p).is_relative()
            && !p.is_empty()
        {
            *u = format!("ldif:{}", dir.join(p).display());
        }
        let fix = |p: &mut Option<PathBuf>| {
            if let Some(x) = p
                && x.is_relative()
            {
                *x = dir.join(&*x);
            }
        };
        fix(&mut file.state_dir);
        fix(&mut file.credentials_file);
        fix(&mut file.webhook_secret_file);
        fix(&mut file.git.token_file);
        fix(&mut file.git.ssh_key_file);
        fix(&mut file.git.known_hosts_file);
        fix(&mut file.git.cache);
        fix(&mut file.git.allowed_signers);
        fix(&mut file.live.bind_password_file);
        fix(&mut file.live.ca_file);
        if let Some(p) = file.propose.as_mut() {
            fix(&mut p.logins);
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("300").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("2h30m").unwrap(), Duration::from_secs(9000));
        for bad in [
            "",
            "m",
            "5x",
            "0s",
            "0",
            "5m3",
            "-5m",
            "721h",
            "18446744073709551615",
            "6000000000000000h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_interval() {
        let hour = Duration::from_secs(3600);
        let waits: Vec<u64> = (1..=9).map(|n| backoff(n, hour).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 600, 600]);
        assert_eq!(backoff(3, Duration::from_secs(15)), Duration::from_secs(15));
    }
}
