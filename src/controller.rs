//! `hopthu controller`: the Kubernetes controller. Each `MailDirectory` is
//! reconciled by the same cycle as `hopthu run` (fetch, verify, validate,
//! plan, apply, record), with its credentials read from Secrets, its result
//! in the resource's status (conditions by Kubernetes conventions) and in
//! Events. Several replicas may run: only the holder of the Lease writes,
//! and a lost Lease stops writing at once.

use crate::crd::{Condition, MailDirectory, MailDirectoryStatus};
use crate::run::{CycleSummary, Ended, Overrides, RunConfig, Runner, Shared, State, log};
use crate::writer_lock::Fence;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Api, Client, Resource, ResourceExt};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("{0}")]
    Config(String),
}

/// What every reconcile shares.
pub struct Context {
    pub client: Client,
    pub shared: Arc<Shared>,
    pub recorder: Recorder,
    /// Raised while this replica holds the Lease.
    pub fence: Fence,
    /// Where each MailDirectory keeps its state, audit log, backups,
    /// reports and initial passwords: `<root>/<namespace>/<name>/`.
    pub state_root: PathBuf,
    /// Where key and CA files taken from Secrets are written for the
    /// libraries that want files (a memory-backed volume).
    pub secrets_dir: PathBuf,
    pub today: Option<chrono::NaiveDate>,
    /// One reconciler per MailDirectory, kept across reconciles.
    pub runners: tokio::sync::Mutex<HashMap<String, Held>>,
    /// Counts webhooks: a reconcile after a new one runs a cycle at once.
    pub webhooks: AtomicU64,
}

/// A MailDirectory's reconciler and when it last ran.
pub struct Held {
    runner: Runner,
    generation: Option<i64>,
    last_cycle: Instant,
    webhooks: u64,
}

impl Context {
    pub fn new(
        client: Client,
        shared: Arc<Shared>,
        fence: Fence,
        instance: Option<String>,
    ) -> Self {
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: "hopthu".into(),
                instance,
            },
        );
        Context {
            client,
            shared,
            recorder,
            fence,
            state_root: PathBuf::from("/var/lib/hopthu"),
            secrets_dir: std::env::temp_dir().join("hopthu-secrets"),
            today: None,
            runners: tokio::sync::Mutex::new(HashMap::new()),
            webhooks: AtomicU64::new(0),
        }
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
    let secret = api
        .get_opt(name)
        .await?
        .ok_or_else(|| Error::Config(format!("the Secret {ns}/{name} does not exist")))?;
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
        .ok_or_else(|| Error::Config(format!("the Secret {ns}/{name} has no `{key}`")))
}

/// A secret written for a library that reads files: owner-only, in the
/// memory-backed folder, rewritten on every reconcile.
fn secret_file(dir: &std::path::Path, name: &str, text: &str) -> Result<PathBuf, Error> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::create_dir_all(dir)
        .and_then(|_| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)))
        .map_err(|e| Error::Config(format!("cannot prepare {}: {e}", dir.display())))?;
    let path = dir.join(name);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::Config(format!("cannot write {}: {e}", path.display())))?;
    f.write_all(text.as_bytes())
        .map_err(|e| Error::Config(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
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
        "standby" => (false, "Standby"),
        _ => (false, "ReconcileFailed"),
    };
    let message = match (ready, cycle) {
        (true, Some(c)) if !c.summary.is_empty() => c.summary.clone(),
        (true, _) => format!(
            "commit {} applied",
            short(state.last_applied_commit.as_deref())
        ),
        (false, _) if result == "held" => format!(
            "{} deletion(s) wait for approval ({}): set spec.approveDeletes to {}",
            state.held.len(),
            state.held_reason.as_deref().unwrap_or("too-many"),
            state.held_fingerprint.as_deref().unwrap_or("")
        ),
        (false, _) => state.last_error.clone().unwrap_or_else(|| reason.into()),
    };
    let stalled = state.stalled || state.consecutive_failures >= 5;
    let prev_or = prev;
    MailDirectoryStatus {
        conditions: vec![
            condition(prev_or, "Ready", ready, reason, message, generation, now),
            condition(
                prev_or,
                "Reconciling",
                false,
                "Idle",
                "waiting for the next interval, commit or webhook".into(),
                generation,
                now,
            ),
            condition(
                prev_or,
                "Stalled",
                stalled,
                if stalled {
                    "RepeatedFailures"
                } else {
                    "Progressing"
                },
                if stalled {
                    format!(
                        "{} cycles in a row failed: {}",
                        state.consecutive_failures,
                        state.last_error.as_deref().unwrap_or("")
                    )
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

/// The status as the API server stores it, compared without the times of
/// conditions that did not change: an unchanged world patches nothing.
fn same_status(a: &MailDirectoryStatus, b: &MailDirectoryStatus) -> bool {
    a == b
}

async fn patch_status(
    obj: &MailDirectory,
    status: &MailDirectoryStatus,
    ctx: &Context,
) -> Result<(), Error> {
    if obj.status.as_ref().is_some_and(|s| same_status(s, status)) {
        return Ok(());
    }
    let (ns, name) = key_of(obj);
    let api: Api<MailDirectory> = Api::namespaced(ctx.client.clone(), &ns);
    let patch = serde_json::json!({ "status": status });
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

async fn event(ctx: &Context, obj: &MailDirectory, warning: bool, reason: &str, note: String) {
    let ev = Event {
        type_: if warning {
            EventType::Warning
        } else {
            EventType::Normal
        },
        reason: reason.into(),
        // Events hold at most 1 kB of note.
        note: Some(note.chars().take(1000).collect()),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&ev, &obj.object_ref(&())).await {
        log(&format!("cannot publish an event: {e}"));
    }
}

/// Reconcile one MailDirectory.
pub async fn reconcile(obj: Arc<MailDirectory>, ctx: Arc<Context>) -> Result<Action, Error> {
    let (ns, name) = key_of(&obj);
    let key = format!("{ns}/{name}");
    // Only the holder of the Lease reads, writes, or patches anything.
    if !ctx.fence.is_up() {
        return Ok(Action::requeue(Duration::from_secs(15)));
    }
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let generation = obj.meta().generation;
    if obj.spec.suspend {
        let mut status = obj.status.clone().unwrap_or_default();
        status.conditions = vec![
            condition(
                obj.status.as_ref(),
                "Ready",
                false,
                "Suspended",
                "spec.suspend is set: nothing is read or written".into(),
                generation,
                &now,
            ),
            condition(
                obj.status.as_ref(),
                "Reconciling",
                false,
                "Suspended",
                String::new(),
                generation,
                &now,
            ),
            condition(
                obj.status.as_ref(),
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
    let webhooks = ctx.webhooks.load(Ordering::SeqCst);
    {
        let runners = ctx.runners.lock().await;
        if let Some(h) = runners.get(&key) {
            // Woken by its own status patch (or a resync) before its time,
            // with the same spec: nothing asked for a cycle, and nothing
            // is read (not even its Secrets).
            let state = h.runner.state();
            let wait = if state.consecutive_failures > 0 {
                crate::run::backoff(state.consecutive_failures, h.runner.cfg.interval)
            } else {
                h.runner.cfg.interval
            };
            let due = h.last_cycle + wait;
            if h.generation == generation && h.webhooks == webhooks && Instant::now() < due {
                return Ok(Action::requeue(due - Instant::now()));
            }
        }
    }
    let cfg = match run_config(&obj, &ctx).await {
        Ok(c) => c,
        Err(e) => {
            let state = State {
                last_result: Some("failed".into()),
                last_error: Some(e.to_string()),
                consecutive_failures: 5,
                last_applied_commit: obj
                    .status
                    .as_ref()
                    .and_then(|s| s.last_applied_commit.clone()),
                ..State::default()
            };
            let mut status = status_after(
                obj.status.as_ref(),
                generation,
                &state,
                None,
                &BTreeMap::new(),
                &now,
            );
            status.conditions[0].reason = "ConfigurationError".into();
            if !obj.status.as_ref().is_some_and(|s| same_status(s, &status)) {
                event(&ctx, &obj, true, "ConfigurationError", e.to_string()).await;
            }
            patch_status(&obj, &status, &ctx).await?;
            return Ok(Action::requeue(Duration::from_secs(60)));
        }
    };
    let interval = cfg.interval;
    let mut runners = ctx.runners.lock().await;
    let held = match runners.remove(&key) {
        Some(mut h) => {
            h.runner.cfg = cfg;
            h
        }
        None => {
            let mut runner = Runner::new(cfg, ctx.shared.clone()).map_err(Error::Config)?;
            runner.seed(
                obj.status
                    .as_ref()
                    .and_then(|s| s.last_applied_commit.clone()),
            );
            Held {
                runner,
                generation,
                last_cycle: Instant::now(),
                webhooks,
            }
        }
    };
    let mut held = held;
    let ended = held.runner.cycle().await;
    held.generation = generation;
    held.last_cycle = Instant::now();
    held.webhooks = webhooks;
    let state = held.runner.state().clone();
    let cycle = held.runner.last.clone();
    let mailboxes = held.runner.mailboxes.clone();
    let requeue = match ended {
        Ended::Failed => crate::run::backoff(state.consecutive_failures, interval),
        _ => interval,
    };
    runners.insert(key, held);
    drop(runners);

    if ended == Ended::Standby {
        // The Lease moved while this cycle began: the new holder reports.
        return Ok(Action::requeue(Duration::from_secs(15)));
    }
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
                event(
                    &ctx,
                    &obj,
                    true,
                    "DeletionsHeld",
                    status.conditions[0].message.clone(),
                )
                .await
            }
            other => {
                let reason = status.conditions[0].reason.clone();
                let note = match (&c.error, other) {
                    (Some(e), _) => format!("commit {commit}: {e}"),
                    (None, _) => format!("commit {commit}: {}", other.as_str()),
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
    log(&format!("reconcile: {err}"));
    Action::requeue(Duration::from_secs(30))
}

/// Keep the fence raised exactly while the Lease is held.
pub fn follow_lease(mut leader: tokio::sync::watch::Receiver<bool>, fence: Fence) {
    tokio::spawn(async move {
        loop {
            let held = *leader.borrow_and_update();
            if fence.is_up() != held {
                log(if held {
                    "this replica holds the Lease: it writes"
                } else {
                    "this replica does not hold the Lease: it writes nothing"
                });
            }
            fence.set(held);
            if leader.changed().await.is_err() {
                fence.set(false);
                return;
            }
        }
    });
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
    let client = Client::try_default()
        .await
        .map_err(|e| format!("cannot reach the Kubernetes API: {e}"))?;
    let shared = Arc::new(Shared::new(cfg.webhook_secret.clone()));
    let fence = Fence::new(false);
    let lease = kube_lease_manager::LeaseManagerBuilder::new(client.clone(), &cfg.lease_name)
        .with_namespace(&cfg.lease_namespace)
        .with_identity(&cfg.identity)
        .with_duration(15)
        .with_grace(5)
        .build()
        .await
        .map_err(|e| format!("cannot prepare the Lease: {e}"))?;
    let (leader, _lease_task) = lease.watch().await;
    follow_lease(leader, fence.clone());
    let mut ctx = Context::new(
        client.clone(),
        shared.clone(),
        fence,
        Some(cfg.identity.clone()),
    );
    ctx.state_root = cfg.state_root;
    ctx.secrets_dir = cfg.secrets_dir;
    let ctx = Arc::new(ctx);
    if let Some(addr) = cfg.listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        log(&format!(
            "serving /healthz, /readyz, /metrics, /status and /hooks/git on {addr}"
        ));
        tokio::spawn(crate::serve::serve(listener, shared.clone()));
    }
    // A webhook wakes every MailDirectory, once per burst.
    let (tx, rx) = tokio::sync::mpsc::channel::<()>(1);
    let hooks = ctx.clone();
    tokio::spawn(async move {
        loop {
            hooks.shared.wake.notified().await;
            if hooks.shared.stopping.load(Ordering::SeqCst) {
                return;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
            hooks.webhooks.fetch_add(1, Ordering::SeqCst);
            let _ = tx.try_send(());
        }
    });
    let trigger = tokio_stream::wrappers::ReceiverStream::new(rx);
    let api: Api<MailDirectory> = match &cfg.namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    };
    log("watching MailDirectory resources");
    let stop = shared.clone();
    kube::runtime::Controller::new(api, kube::runtime::watcher::Config::default())
        .reconcile_all_on(trigger)
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
            log("stopping: the reconciles in flight finish first");
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
    log("stopped");
    Ok(())
}
