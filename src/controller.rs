//! `hopthu controller`: the Kubernetes controller. Each `MailDirectory` is
//! reconciled by the same cycle as `hopthu run` (fetch, verify, validate,
//! plan, apply, record), with its credentials read from Secrets, its result
//! in the resource's status (conditions by Kubernetes conventions) and in
//! Events. Several replicas may run: only the holder of the Lease reads,
//! writes or reports, and its writes stop when the Lease is lost or cannot
//! be renewed in time.

use crate::crd::{Condition, MailDirectory, MailDirectoryStatus};
use crate::run::{CycleSummary, Ended, Overrides, RunConfig, Runner, Shared, State, log};
use crate::tr;
use crate::writer_lock::Fence;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Api, Client, Resource, ResourceExt};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    Kube(#[from] kube::Error),
    Config(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Kube(e) => f.write_str(&tr!("API Kubernetes: {e}", "the Kubernetes API: {e}")),
            Error::Config(e) => f.write_str(e),
        }
    }
}

/// The annotation a webhook (on any replica) sets on every MailDirectory
/// to ask for a cycle now.
pub const REQUESTED_AT: &str = "hopthu.gov.vn/requested-at";

/// What every reconcile shares.
pub struct Context {
    pub client: Client,
    pub shared: Arc<Shared>,
    /// Raised while this replica holds the Lease (and not past its expiry).
    pub fence: Fence,
    /// This replica's name, in Events.
    pub instance: String,
    /// Where each MailDirectory keeps its state, audit log, backups,
    /// reports and initial passwords: `<root>/<namespace>/<name>/`.
    pub state_root: PathBuf,
    /// Where key and CA files taken from Secrets are written for the
    /// libraries that want files (a memory-backed volume).
    pub secrets_dir: PathBuf,
    pub today: Option<chrono::NaiveDate>,
    /// One reconciler per MailDirectory, kept across reconciles (never two
    /// reconciles of one resource at a time: the runtime sees to it).
    pub runners: std::sync::Mutex<HashMap<String, Held>>,
}

/// A MailDirectory's reconciler and when it last ran.
pub struct Held {
    runner: Runner,
    generation: Option<i64>,
    last_cycle: Instant,
    /// The last `requested-at` it answered.
    requested: Option<String>,
    /// The term of the Lease it was made in: after another holder's term,
    /// its memory is stale, and it is made again from the volume.
    term: u64,
}

impl Context {
    pub fn new(client: Client, shared: Arc<Shared>, fence: Fence, instance: String) -> Self {
        Context {
            client,
            shared,
            fence,
            instance,
            state_root: PathBuf::from("/var/lib/hopthu"),
            secrets_dir: std::env::temp_dir().join("hopthu-secrets"),
            today: None,
            runners: std::sync::Mutex::new(HashMap::new()),
        }
    }

    fn runners(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.runners.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn key_of(obj: &MailDirectory) -> (String, String) {
    (obj.namespace().unwrap_or_default(), obj.name_any())
}

/// A value of a Secret of the resource's namespace.
async fn secret_value(
    client: &Client,
    ns: &str,
    name: &str,
    key: &str,
) -> Result<Option<String>, Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let secret = api.get_opt(name).await?.ok_or_else(|| {
        Error::Config(tr!(
            "Secret {ns}/{name} không tồn tại",
            "the Secret {ns}/{name} does not exist"
        ))
    })?;
    let from_data = secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|b| String::from_utf8_lossy(&b.0).into_owned());
    let from_string = secret
        .string_data
        .as_ref()
        .and_then(|d| d.get(key))
        .cloned();
    Ok(from_data
        .or(from_string)
        .map(|v| v.trim_end_matches(['\n', '\r']).to_string()))
}

async fn required(client: &Client, ns: &str, name: &str, key: &str) -> Result<String, Error> {
    secret_value(client, ns, name, key)
        .await?
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            Error::Config(tr!(
                "Secret {ns}/{name} không có `{key}`",
                "the Secret {ns}/{name} has no `{key}`"
            ))
        })
}

/// A secret written for a library that reads files: owner-only, in the
/// memory-backed folder, rewritten on every reconcile.
fn secret_file(dir: &std::path::Path, name: &str, text: &str) -> Result<PathBuf, Error> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::create_dir_all(dir)
        .and_then(|_| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)))
        .map_err(|e| {
            let dir = dir.display();
            Error::Config(tr!(
                "không chuẩn bị được {dir}: {e}",
                "cannot prepare {dir}: {e}"
            ))
        })?;
    let path = dir.join(name);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| cannot_write(&path, &e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| cannot_write(&path, &e))?;
    Ok(path)
}

fn cannot_write(path: &std::path::Path, e: &std::io::Error) -> Error {
    let path = path.display();
    Error::Config(tr!(
        "không ghi được {path}: {e}",
        "cannot write {path}: {e}"
    ))
}

/// The run configuration of a MailDirectory, its secrets read.
pub async fn run_config(obj: &MailDirectory, ctx: &Context) -> Result<RunConfig, Error> {
    let (ns, name) = key_of(obj);
    let spec = &obj.spec;
    let secrets = ctx.secrets_dir.join(&ns).join(&name);
    let state_dir = ctx.state_root.join(&ns).join(&name);
    let mut auth = crate::git::GitAuth::default();
    if let Some(r) = &spec.source.secret_ref {
        auth.token = secret_value(&ctx.client, &ns, &r.name, "token")
            .await?
            .map(crate::git::Secret::new);
        auth.username = secret_value(&ctx.client, &ns, &r.name, "username").await?;
        if let Some(key) = secret_value(&ctx.client, &ns, &r.name, "identity").await? {
            auth.ssh_key = Some(secret_file(&secrets, "identity", &(key + "\n"))?);
        }
        if let Some(hosts) = secret_value(&ctx.client, &ns, &r.name, "known_hosts").await? {
            auth.known_hosts = Some(secret_file(&secrets, "known_hosts", &hosts)?);
        }
    }
    let allowed_signers = match &spec.source.verify {
        Some(v) => {
            let text = required(&ctx.client, &ns, &v.secret_ref.name, "allowed_signers").await?;
            Some(secret_file(&secrets, "allowed_signers", &text)?)
        }
        None => None,
    };
    let bind = &spec.directory.bind_secret_ref.name;
    let bind_dn = required(&ctx.client, &ns, bind, "bindDN").await?;
    let password = required(&ctx.client, &ns, bind, "password").await?;
    let ca_file = match &spec.directory.ca_secret_ref {
        Some(r) => {
            let pem = required(&ctx.client, &ns, &r.name, "ca.crt").await?;
            Some(secret_file(&secrets, "ca.crt", &pem)?)
        }
        None => None,
    };
    let interval = crate::run::parse_duration(&spec.source.interval)
        .map_err(|e| Error::Config(format!("spec.source.interval: {e}")))?;
    let policy = spec.policy.clone().unwrap_or_default();
    Ok(RunConfig {
        source: crate::git::GitSource {
            url: spec.source.url.clone(),
            branch: spec.source.branch.clone(),
            path: spec.source.path.clone(),
            cache: state_dir.join("git"),
            auth,
        },
        interval,
        allowed_signers,
        connect: crate::live::ConnectOptions {
            url: spec.directory.url.clone(),
            starttls: spec.directory.starttls,
            ca_file,
            bind_dn: Some(bind_dn),
            bind_password: Some(password),
            concurrency: 64,
        },
        base_dn: spec.directory.base_dn.clone(),
        credentials_out: state_dir.join("credentials.tsv"),
        state_dir,
        audit_keep_days: None,
        listen: None,
        webhook_secret: None,
        drift_policy: match spec.drift_policy {
            Some(crate::crd::DriftPolicySpec::Report) => crate::run::DriftPolicy::Report,
            _ => crate::run::DriftPolicy::Correct,
        },
        notify_url: None,
        lang: None,
        lock_ttl: Duration::from_secs(60),
        webhook_quiet: Duration::from_secs(2),
        webhook_max_wait: Duration::from_secs(30),
        once: true,
        propose: match &policy.propose_every {
            Some(every) => Some(crate::run::ProposeSchedule {
                every: crate::run::parse_duration(every)
                    .map_err(|e| Error::Config(format!("spec.policy.proposeEvery: {e}")))?,
                logins: None,
            }),
            None => None,
        },
        today: ctx.today,
        external_fence: Some(ctx.fence.clone()),
        overrides: Overrides {
            max_deletes_per_run: policy.max_deletes_per_run,
            rename_grace_days: policy.rename_grace_days,
            layout: spec.directory.layout,
        },
        approve: spec.approve_deletes.clone(),
    })
}

/// The condition `type_` of `prev`, kept with its transition time when its
/// status did not change.
fn condition(
    prev: Option<&MailDirectoryStatus>,
    type_: &str,
    status: bool,
    reason: &str,
    message: String,
    generation: Option<i64>,
    now: &str,
) -> Condition {
    let status = if status { "True" } else { "False" }.to_string();
    let since = prev
        .and_then(|p| p.conditions.iter().find(|c| c.type_ == type_))
        .filter(|c| c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| now.to_string());
    Condition {
        type_: type_.into(),
        status,
        reason: reason.into(),
        message,
        last_transition_time: since,
        observed_generation: generation,
    }
}

/// The status after a cycle: what the runner's state says, by Kubernetes
/// conventions. Pure, so that tests read it as the API server would get it.
pub fn status_after(
    prev: Option<&MailDirectoryStatus>,
    generation: Option<i64>,
    state: &State,
    cycle: Option<&CycleSummary>,
    mailboxes: &BTreeMap<String, usize>,
    now: &str,
) -> MailDirectoryStatus {
    let result = state.last_result.as_deref().unwrap_or("unknown");
    let (ready, reason) = match result {
        "applied" => (true, "Applied"),
        "no-change" => (true, "UpToDate"),
        "held" => (false, "DeletionsHeld"),
        "invalid" => (false, "InvalidCommit"),
        "unverified" => (false, "UnverifiedCommit"),
        "conflicts" => (false, "Conflicts"),
        "drift-reported" => (false, "DriftReported"),
        "partly-applied" => (false, "ActionsFailed"),
        "configuration" => (false, "ConfigurationError"),
        _ => (false, "ReconcileFailed"),
    };
    let message = match (ready, cycle) {
        (true, Some(c)) if !c.summary.is_empty() => c.summary.clone(),
        (true, _) => {
            let commit = short(state.last_applied_commit.as_deref());
            tr!("đã áp dụng commit {commit}", "commit {commit} applied")
        }
        (false, _) if result == "held" => {
            let n = state.held.len();
            let why = state.held_reason.as_deref().unwrap_or("too-many");
            let fp = state.held_fingerprint.as_deref().unwrap_or("");
            tr!(
                "{n} lệnh thu hồi đang chờ phê duyệt ({why}): đặt spec.approveDeletes thành {fp}",
                "{n} deletion(s) wait for approval ({why}): set spec.approveDeletes to {fp}"
            )
        }
        (false, _) => state.last_error.clone().unwrap_or_else(|| reason.into()),
    };
    // Stalled: no progress without a person (a commit that is invalid or
    // not signed, a wrong setting), or the same failure again and again.
    let needs_person = matches!(result, "invalid" | "unverified" | "configuration");
    let stalled = needs_person || state.stalled || state.consecutive_failures >= 5;
    let stalled_reason = match result {
        "invalid" => "InvalidCommit",
        "unverified" => "UnverifiedCommit",
        "configuration" => "ConfigurationError",
        _ => "RepeatedFailures",
    };
    let stalled_message = if needs_person {
        state.last_error.clone().unwrap_or_default()
    } else {
        let n = state.consecutive_failures;
        let e = state.last_error.as_deref().unwrap_or("");
        tr!(
            "{n} chu kỳ liên tiếp thất bại: {e}",
            "{n} cycles in a row failed: {e}"
        )
    };
    MailDirectoryStatus {
        conditions: vec![
            condition(prev, "Ready", ready, reason, message, generation, now),
            condition(
                prev,
                "Reconciling",
                false,
                "Idle",
                tr!(
                    "đang chờ chu kỳ kế tiếp, commit mới hoặc webhook",
                    "waiting for the next interval, commit or webhook"
                ),
                generation,
                now,
            ),
            condition(
                prev,
                "Stalled",
                stalled,
                if stalled {
                    stalled_reason
                } else {
                    "Progressing"
                },
                if stalled {
                    stalled_message
                } else {
                    String::new()
                },
                generation,
                now,
            ),
        ],
        observed_generation: generation,
        last_applied_commit: state.last_applied_commit.clone(),
        last_attempted_commit: state.last_attempted_commit.clone(),
        mailboxes: mailboxes
            .iter()
            .map(|(k, v)| (k.clone(), *v as u64))
            .collect(),
        held_deletions: state.held.len() as u64,
        held_fingerprint: state.held_fingerprint.clone(),
        held_reason: state.held_reason.clone(),
        drift: state.drift as u64,
        last_error: state.last_error.clone(),
    }
}

fn short(id: Option<&str>) -> String {
    id.map(|s| s[..s.len().min(12)].to_string())
        .unwrap_or_default()
}

/// Server-side apply of the whole status as hopthu owns it: a field it
/// no longer sets (an error that went away) is removed, and an unchanged
/// status is not sent at all.
async fn patch_status(
    obj: &MailDirectory,
    status: &MailDirectoryStatus,
    ctx: &Context,
) -> Result<(), Error> {
    let (ns, name) = key_of(obj);
    if let Ok(mut r) = ctx.shared.resources.lock() {
        r.insert(
            format!("{ns}/{name}"),
            serde_json::to_value(status).unwrap_or_default(),
        );
    }
    if obj.status.as_ref() == Some(status) {
        return Ok(());
    }
    let api: Api<MailDirectory> = Api::namespaced(ctx.client.clone(), &ns);
    let patch = serde_json::json!({
        "apiVersion": "hopthu.gov.vn/v1alpha1",
        "kind": "MailDirectory",
        "status": status,
    });
    api.patch_status(
        &name,
        &PatchParams::apply("hopthu").force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
}

/// An Event of its own for each batch and each failure (never merged into
/// an earlier one that says something else).
async fn event(ctx: &Context, obj: &MailDirectory, warning: bool, reason: &str, note: String) {
    use k8s_openapi::api::events::v1::Event;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
    let (ns, name) = key_of(obj);
    let ev = Event {
        metadata: ObjectMeta {
            generate_name: Some(format!("{name}.")),
            namespace: Some(ns.clone()),
            ..ObjectMeta::default()
        },
        event_time: Some(MicroTime(k8s_openapi::jiff::Timestamp::now())),
        action: Some("Reconcile".into()),
        reason: Some(reason.into()),
        // Events hold at most 1 kB of note.
        note: Some(note.chars().take(1000).collect()),
        type_: Some(if warning { "Warning" } else { "Normal" }.into()),
        regarding: Some(obj.object_ref(&())),
        reporting_controller: Some("hopthu.gov.vn/controller".into()),
        reporting_instance: Some(ctx.instance.clone()),
        ..Event::default()
    };
    let api: Api<Event> = Api::namespaced(ctx.client.clone(), &ns);
    if let Err(e) = api.create(&kube::api::PostParams::default(), &ev).await {
        log(&tr!(
            "không gửi được Event: {e}",
            "cannot publish an event: {e}"
        ));
    }
}

/// A status and an Event for what keeps a resource from even starting a
/// cycle (a Secret missing, a damaged state file); the Event once.
async fn report_blocked(obj: &MailDirectory, ctx: &Context, why: String) -> Result<Action, Error> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let state = State {
        last_result: Some("configuration".into()),
        last_error: Some(why.clone()),
        last_applied_commit: obj
            .status
            .as_ref()
            .and_then(|s| s.last_applied_commit.clone()),
        last_attempted_commit: obj
            .status
            .as_ref()
            .and_then(|s| s.last_attempted_commit.clone()),
        ..State::default()
    };
    let mailboxes: BTreeMap<String, usize> = obj
        .status
        .as_ref()
        .map(|s| {
            s.mailboxes
                .iter()
                .map(|(k, v)| (k.clone(), *v as usize))
                .collect()
        })
        .unwrap_or_default();
    let status = status_after(
        obj.status.as_ref(),
        obj.meta().generation,
        &state,
        None,
        &mailboxes,
        &now,
    );
    if obj.status.as_ref().and_then(|s| s.last_error.as_deref()) != Some(why.as_str()) {
        event(ctx, obj, true, "ConfigurationError", why).await;
    }
    patch_status(obj, &status, ctx).await?;
    Ok(Action::requeue(Duration::from_secs(60)))
}

/// Reconcile one MailDirectory. Its messages (log lines, Events, the
/// status) are in its repository's language once a cycle has read it;
/// Vietnamese before.
pub async fn reconcile(obj: Arc<MailDirectory>, ctx: Arc<Context>) -> Result<Action, Error> {
    let (ns, name) = key_of(&obj);
    let key = format!("{ns}/{name}");
    let lang = ctx
        .runners()
        .get(&key)
        .and_then(|h| h.runner.lang())
        .unwrap_or_else(crate::i18n::current);
    crate::i18n::scope(lang, reconcile_in(obj, ctx, key)).await
}

async fn reconcile_in(
    obj: Arc<MailDirectory>,
    ctx: Arc<Context>,
    key: String,
) -> Result<Action, Error> {
    // Only the holder of the Lease reads, writes or reports anything.
    if !ctx.fence.is_up() {
        return Ok(Action::requeue(Duration::from_secs(15)));
    }
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let generation = obj.meta().generation;
    let term = ctx.fence.term();
    let requested = obj.annotations().get(REQUESTED_AT).cloned();
    if obj.spec.suspend {
        let prev = obj.status.as_ref();
        let mut status = prev.cloned().unwrap_or_default();
        status.conditions = vec![
            condition(
                prev,
                "Ready",
                false,
                "Suspended",
                tr!(
                    "spec.suspend đang bật: không đọc hay ghi gì",
                    "spec.suspend is set: nothing is read or written"
                ),
                generation,
                &now,
            ),
            condition(
                prev,
                "Reconciling",
                false,
                "Suspended",
                String::new(),
                generation,
                &now,
            ),
            condition(
                prev,
                "Stalled",
                false,
                "Suspended",
                String::new(),
                generation,
                &now,
            ),
        ];
        status.observed_generation = generation;
        patch_status(&obj, &status, &ctx).await?;
        return Ok(Action::await_change());
    }
    // Woken by its own status patch (or a resync) before its time, with
    // the same spec and no new request: nothing is read or done.
    if let Some(h) = ctx.runners().get(&key)
        && h.term == term
        && h.generation == generation
        && h.requested == requested
    {
        let state = h.runner.state();
        let wait = if state.consecutive_failures > 0 {
            crate::run::backoff(state.consecutive_failures, h.runner.cfg.interval)
        } else {
            h.runner.cfg.interval
        };
        let due = h.last_cycle + wait;
        if Instant::now() < due {
            return Ok(Action::requeue(due - Instant::now()));
        }
    }
    // A changed spec: say that work is under way.
    if obj.status.as_ref().and_then(|s| s.observed_generation) != generation
        && let Some(prev) = obj.status.as_ref()
    {
        let mut status = prev.clone();
        status.conditions.retain(|c| c.type_ != "Reconciling");
        status.conditions.push(condition(
            Some(prev),
            "Reconciling",
            true,
            "SpecChanged",
            {
                let g = generation.unwrap_or(0);
                tr!(
                    "đang đồng bộ theo spec mới (generation {g})",
                    "generation {g} is being reconciled"
                )
            },
            prev.observed_generation,
            &now,
        ));
        patch_status(&obj, &status, &ctx).await?;
    }
    let cfg = match run_config(&obj, &ctx).await {
        Ok(c) => c,
        Err(Error::Config(why)) => return report_blocked(&obj, &ctx, why).await,
        Err(e) => return Err(e),
    };
    let interval = cfg.interval;
    // The runner, out of the map while it works: other resources go on.
    let previous = ctx.runners().remove(&key).filter(|h| h.term == term);
    let mut held = match previous {
        Some(mut h) => match h.runner.reconfigure(cfg) {
            Ok(()) => h,
            Err(why) => return report_blocked(&obj, &ctx, why).await,
        },
        None => {
            let mut runner = match Runner::new(cfg, ctx.shared.clone()) {
                Ok(r) => r,
                Err(why) => return report_blocked(&obj, &ctx, why).await,
            };
            runner.seed(
                obj.status
                    .as_ref()
                    .and_then(|s| s.last_applied_commit.clone()),
            );
            Held {
                runner,
                generation,
                last_cycle: Instant::now(),
                requested: requested.clone(),
                term,
            }
        }
    };
    let ended = held.runner.cycle().await;
    // The Lease went while the cycle ran: the new holder reports; what this
    // one remembers is stale.
    if !ctx.fence.is_up() || ctx.fence.term() != term || ended == Ended::Standby {
        return Ok(Action::requeue(Duration::from_secs(15)));
    }
    held.generation = generation;
    held.last_cycle = Instant::now();
    held.requested = requested;
    let state = held.runner.state().clone();
    let cycle = held.runner.last.clone();
    let mailboxes = held.runner.mailboxes.clone();
    ctx.runners().insert(key, held);
    let requeue = match ended {
        Ended::Failed => crate::run::backoff(state.consecutive_failures, interval),
        _ => interval,
    };
    let status = status_after(
        obj.status.as_ref(),
        generation,
        &state,
        cycle.as_ref(),
        &mailboxes,
        &now,
    );
    if let Some(c) = &cycle
        && c.news
    {
        let commit = short(c.commit.as_deref());
        match c.result {
            crate::report::Result::Applied => {
                event(
                    &ctx,
                    &obj,
                    false,
                    "Applied",
                    format!("commit {commit}: {}", c.summary),
                )
                .await
            }
            crate::report::Result::NoChange => {}
            crate::report::Result::Held => {
                let note = status.conditions[0].message.clone();
                event(&ctx, &obj, true, "DeletionsHeld", note).await
            }
            other => {
                let reason = status.conditions[0].reason.clone();
                let note = match &c.error {
                    Some(e) => format!("commit {commit}: {e}"),
                    None => format!("commit {commit}: {}", other.as_str()),
                };
                event(&ctx, &obj, true, &reason, note).await
            }
        }
    }
    patch_status(&obj, &status, &ctx).await?;
    Ok(Action::requeue(requeue))
}

/// Errors of the Kubernetes API: try again after a while.
pub fn error_policy(_obj: Arc<MailDirectory>, err: &Error, _ctx: Arc<Context>) -> Action {
    log(&tr!("đồng bộ: {err}", "reconcile: {err}"));
    Action::requeue(Duration::from_secs(30))
}

/// Keep the fence raised exactly while the Lease is held.
pub fn follow_lease(
    mut leader: tokio::sync::watch::Receiver<bool>,
    fence: Fence,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let held = *leader.borrow_and_update();
            if fence.is_up() != held {
                log(&if held {
                    tr!(
                        "bản sao (replica) này đang giữ Lease: được phép ghi",
                        "this replica holds the Lease: it writes"
                    )
                } else {
                    tr!(
                        "bản sao (replica) này không giữ Lease: không ghi gì",
                        "this replica does not hold the Lease: it writes nothing"
                    )
                });
            }
            fence.set(held);
            if leader.changed().await.is_err() {
                fence.set(false);
                return;
            }
        }
    })
}

/// The Lease's expiry as the API server recorded it, read every 2 s: the
/// fence is down past it, so a holder cut off from the API server stops
/// writing before another replica may take over (the grace is the margin).
pub fn watch_lease_expiry(
    client: Client,
    namespace: String,
    name: String,
    identity: String,
    grace: Duration,
    fence: Fence,
) {
    use k8s_openapi::api::coordination::v1::Lease;
    tokio::spawn(async move {
        let api: Api<Lease> = Api::namespaced(client, &namespace);
        loop {
            if let Ok(Some(lease)) = api.get_opt(&name).await
                && let Some(spec) = lease.spec
                && spec.holder_identity.as_deref() == Some(identity.as_str())
                && let (Some(renewed), Some(secs)) = (spec.renew_time, spec.lease_duration_seconds)
            {
                let until =
                    renewed.0.as_millisecond() + i64::from(secs) * 1000 - grace.as_millis() as i64;
                fence.hold_until(until);
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
}

/// A webhook came (to whichever replica): ask every MailDirectory for a
/// cycle by stamping an annotation. The holder of the Lease sees it.
async fn request_cycles(api: &Api<MailDirectory>) {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let list = match api.list(&Default::default()).await {
        Ok(l) => l,
        Err(e) => {
            log(&tr!(
                "không liệt kê được các MailDirectory cho webhook: {e}",
                "cannot list MailDirectories for a webhook: {e}"
            ));
            return;
        }
    };
    for md in list {
        let patch = serde_json::json!({"metadata": {"annotations": {REQUESTED_AT: now}}});
        let ns = md.namespace().unwrap_or_default();
        let scoped: Api<MailDirectory> = Api::namespaced(api.clone().into_client(), &ns);
        if let Err(e) = scoped
            .patch(
                &md.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            let name = md.name_any();
            log(&tr!(
                "không yêu cầu được {ns}/{name} chạy một chu kỳ: {e}",
                "cannot ask {ns}/{name} for a cycle: {e}"
            ));
        }
    }
}

/// Settings of `hopthu controller`.
pub struct ControllerConfig {
    /// Watch only this namespace (all when none).
    pub namespace: Option<String>,
    pub state_root: PathBuf,
    pub secrets_dir: PathBuf,
    pub listen: Option<std::net::SocketAddr>,
    pub webhook_secret: Option<crate::git::Secret>,
    /// Where the Lease is, and who this replica is.
    pub lease_namespace: String,
    pub lease_name: String,
    pub identity: String,
}

/// Run the controller until SIGTERM.
pub async fn run(cfg: ControllerConfig) -> Result<(), String> {
    use futures::StreamExt;
    let client = Client::try_default().await.map_err(|e| {
        tr!(
            "không kết nối được API Kubernetes: {e}",
            "cannot reach the Kubernetes API: {e}"
        )
    })?;
    let shared = Arc::new(Shared::new(cfg.webhook_secret.clone()));
    // Down until the Lease is held and its expiry read.
    let fence = Fence::new(false);
    fence.hold_until(1);
    let duration = 15;
    let grace = 5;
    let lease = kube_lease_manager::LeaseManagerBuilder::new(client.clone(), &cfg.lease_name)
        .with_namespace(&cfg.lease_namespace)
        .with_identity(&cfg.identity)
        .with_duration(duration)
        .with_grace(grace)
        .build()
        .await
        .map_err(|e| {
            tr!(
                "không chuẩn bị được Lease: {e}",
                "cannot prepare the Lease: {e}"
            )
        })?;
    let (leader, lease_task) = lease.watch().await;
    let follower = follow_lease(leader, fence.clone());
    watch_lease_expiry(
        client.clone(),
        cfg.lease_namespace.clone(),
        cfg.lease_name.clone(),
        cfg.identity.clone(),
        Duration::from_secs(grace),
        fence.clone(),
    );
    let mut ctx = Context::new(client.clone(), shared.clone(), fence, cfg.identity.clone());
    ctx.state_root = cfg.state_root;
    ctx.secrets_dir = cfg.secrets_dir;
    let ctx = Arc::new(ctx);
    let api: Api<MailDirectory> = match &cfg.namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    };
    // Ready once it watches: a standby replica is ready too (it takes
    // webhooks and waits for the Lease), so rollouts go on.
    shared.metrics.set_ready(true);
    shared.status.lock().map(|mut s| s.ready = true).ok();
    if let Some(addr) = cfg.listen {
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            tr!(
                "không lắng nghe được trên {addr}: {e}",
                "cannot listen on {addr}: {e}"
            )
        })?;
        log(&tr!(
            "phục vụ /healthz, /readyz, /metrics, /status và /hooks/git trên {addr}",
            "serving /healthz, /readyz, /metrics, /status and /hooks/git on {addr}"
        ));
        tokio::spawn(crate::serve::serve(listener, shared.clone()));
    }
    // A webhook, on whichever replica it lands, asks every MailDirectory
    // for a cycle, once per burst.
    let hooks = shared.clone();
    let hook_api = api.clone();
    tokio::spawn(async move {
        loop {
            hooks.wake.notified().await;
            if hooks.stopping.load(Ordering::SeqCst) {
                return;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
            request_cycles(&hook_api).await;
        }
    });
    log(&tr!(
        "đang theo dõi các tài nguyên MailDirectory",
        "watching MailDirectory resources"
    ));
    let stop = shared.clone();
    kube::runtime::Controller::new(api, kube::runtime::watcher::Config::default())
        .graceful_shutdown_on(async move {
            use tokio::signal::unix::{SignalKind, signal};
            if let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            log(&tr!(
                "đang dừng: các lượt đồng bộ đang chạy sẽ hoàn tất trước",
                "stopping: the reconciles in flight finish first"
            ));
            stop.stop();
        })
        .run(reconcile, error_policy, ctx)
        .for_each(|r| async move {
            if let Err(e) = r {
                log(&format!("controller: {e}"));
            }
        })
        .await;
    shared.stop();
    // Give the Lease up, for the other replica to take at once.
    follower.abort();
    if let Ok(Ok(manager)) = lease_task.await
        && let Err(e) = manager.release().await
    {
        log(&tr!(
            "không trả lại được Lease: {e}",
            "cannot release the Lease: {e}"
        ));
    }
    log(&tr!("đã dừng", "stopped"));
    Ok(())
}
