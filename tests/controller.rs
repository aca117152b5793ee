//! The Kubernetes controller's reconcile against a mocked API server (at
//! the HTTP level, with tower-test, as kube's own tests do), a real slapd
//! and a real git repository: what it patches into the status, the events
//! it publishes, `suspend`, `Stalled` after repeated failures with backoff,
//! and no writes once the Lease is lost.

#[path = "support/gitrepo.rs"]
mod gitrepo;
#[path = "support/slapd.rs"]
mod slapd;

use base64::Engine as _;
use gitrepo::GitRepo;
use hopthu::controller::{Context, reconcile};
use hopthu::crd::{
    DirectorySpec, LocalObjectReference, MailDirectory, MailDirectorySpec, SourceSpec,
};
use hopthu::run::Shared;
use hopthu::writer_lock::Fence;
use http::{Request, Response};
use kube::client::Body;
use kube::runtime::controller::Action;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the controller made of the API server.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    body: String,
}

/// A fake API server: Secrets from `secrets`, events and status patches
/// accepted and kept.
struct Api {
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Api {
    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn status_patches(&self) -> Vec<serde_json::Value> {
        self.requests()
            .iter()
            .filter(|r| r.method == "PATCH" && r.path.ends_with("/status"))
            .map(|r| serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["status"].clone())
            .collect()
    }

    fn events(&self) -> Vec<serde_json::Value> {
        self.requests()
            .iter()
            .filter(|r| r.path.contains("/events"))
            .map(|r| serde_json::from_str(&r.body).unwrap())
            .collect()
    }

    fn clear(&self) {
        self.seen.lock().unwrap().clear();
    }
}

fn mock(secrets: BTreeMap<String, BTreeMap<String, String>>) -> (kube::Client, Api) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "hopthu");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    tokio::spawn(async move {
        while let Some((request, send)) = handle.next_request().await {
            let method = request.method().to_string();
            let path = request.uri().path().to_string();
            let bytes = http_body_util::BodyExt::collect(request.into_body())
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let body = String::from_utf8_lossy(&bytes).to_string();
            keep.lock().unwrap().push(Seen {
                method: method.clone(),
                path: path.clone(),
                body: body.clone(),
            });
            let (code, answer) = if method == "GET" && path.contains("/secrets/") {
                let name = path.rsplit('/').next().unwrap();
                match secrets.get(name) {
                    Some(data) => {
                        let data: BTreeMap<&String, String> = data
                            .iter()
                            .map(|(k, v)| (k, base64::engine::general_purpose::STANDARD.encode(v)))
                            .collect();
                        (
                            200,
                            serde_json::json!({
                                "apiVersion": "v1", "kind": "Secret",
                                "metadata": {"name": name, "namespace": "hopthu"},
                                "data": data
                            }),
                        )
                    }
                    None => (
                        404,
                        serde_json::json!({
                            "apiVersion": "v1", "kind": "Status", "status": "Failure",
                            "reason": "NotFound", "code": 404,
                            "message": format!("secrets \"{name}\" not found")
                        }),
                    ),
                }
            } else if path.contains("/events") {
                (201, serde_json::from_str(&body).unwrap_or_default())
            } else if method == "PATCH" && path.ends_with("/status") {
                let mut obj = object(spec(""));
                obj.status = serde_json::from_value(
                    serde_json::from_str::<serde_json::Value>(&body).unwrap()["status"].clone(),
                )
                .ok();
                (200, serde_json::to_value(obj).unwrap())
            } else {
                (404, serde_json::json!({"kind": "Status", "code": 404}))
            };
            let response = Response::builder()
                .status(code)
                .body(Body::from(serde_json::to_vec(&answer).unwrap()))
                .unwrap();
            send.send_response(response);
        }
    });
    (client, Api { seen })
}

fn spec(repo: &str) -> MailDirectorySpec {
    MailDirectorySpec {
        source: SourceSpec {
            url: repo.into(),
            branch: "main".into(),
            path: String::new(),
            secret_ref: None,
            interval: "5m".into(),
            verify: None,
        },
        directory: DirectorySpec {
            url: String::new(),
            starttls: false,
            layout: None,
            base_dn: None,
            bind_secret_ref: LocalObjectReference {
                name: "hopthu-bind".into(),
            },
            ca_secret_ref: None,
        },
        policy: None,
        suspend: false,
        drift_policy: None,
        approve_deletes: None,
    }
}

fn object(spec: MailDirectorySpec) -> MailDirectory {
    let mut o = MailDirectory::new("sonla", spec);
    o.metadata.namespace = Some("hopthu".into());
    o.metadata.generation = Some(1);
    o.metadata.uid = Some("7d0c6a3e-0000-4000-8000-000000000001".into());
    o
}

const SETTINGS: &str = "apiVersion: hopthu/v1\ndomain: sonla.gov.vn\nlanguage: en\n";
const AGENCY: &str = "apiVersion: hopthu/v1\nkind: Agency\ncode: \"S01\"\nabbr: skhcn\ntype: department\nname: Sở Khoa học và Công nghệ\npeople:\n  - id: p1\n    name: Nguyễn Văn An\n  - id: p2\n    name: Trần Thị Hà\n    status: locked\n    lock: {reason: inactive, since: 2026-10-01}\n";

struct World {
    tmp: tempfile::TempDir,
    git: GitRepo,
    slapd: slapd::Slapd,
}

impl World {
    fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let git = GitRepo::new(&tmp.path().join("repo"));
        git.write("hopthu.yaml", SETTINGS);
        git.write("agencies/skhcn.yaml", AGENCY);
        git.commit("Sở KH&CN");
        World {
            tmp,
            git,
            slapd: slapd::Slapd::start(),
        }
    }

    fn secrets(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        let mut bind = BTreeMap::new();
        bind.insert("bindDN".into(), self.slapd.service_dn().to_string());
        bind.insert("password".into(), self.slapd.service_password().to_string());
        BTreeMap::from([("hopthu-bind".to_string(), bind)])
    }

    fn object(&self) -> MailDirectory {
        let mut s = spec(&self.git.url());
        s.directory.url = self.slapd.url();
        object(s)
    }

    fn context(&self, client: kube::Client, fence: Fence) -> Arc<Context> {
        let mut ctx = Context::new(
            client,
            Arc::new(Shared::new(None)),
            fence,
            "hopthu-0".into(),
        );
        ctx.state_root = self.tmp.path().join("state");
        ctx.secrets_dir = self.tmp.path().join("secrets");
        ctx.today = chrono::NaiveDate::from_ymd_opt(2026, 12, 3);
        Arc::new(ctx)
    }

    fn mailboxes(&self) -> usize {
        self.slapd
            .ldapsearch("(hopthuKey=*)", &["dn"])
            .matches("dn: ")
            .count()
    }
}

fn condition<'a>(status: &'a serde_json::Value, t: &str) -> &'a serde_json::Value {
    status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == t)
        .unwrap_or_else(|| panic!("no {t} condition in {status}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconcile_applies_the_commit_and_reports_it_in_status_and_events() {
    let w = World::new();
    let (client, api) = mock(w.secrets());
    let ctx = w.context(client, Fence::new(true));
    let obj = Arc::new(w.object());
    let action = reconcile(obj.clone(), ctx.clone()).await.unwrap();
    assert_eq!(action, Action::requeue(Duration::from_secs(300)));
    assert_eq!(w.mailboxes(), 3);

    let patches = api.status_patches();
    assert_eq!(patches.len(), 1, "{:#?}", api.requests());
    let status = &patches[0];
    let head = w.git.repo.head().unwrap().target().unwrap().to_string();
    assert_eq!(status["lastAppliedCommit"], head.as_str());
    assert_eq!(status["lastAttemptedCommit"], head.as_str());
    assert_eq!(status["observedGeneration"], 1);
    assert_eq!(status["mailboxes"]["active"], 2);
    assert_eq!(status["mailboxes"]["locked"], 1);
    assert_eq!(status["heldDeletions"], 0);
    let ready = condition(status, "Ready");
    assert_eq!(
        (ready["status"].as_str(), ready["reason"].as_str()),
        (Some("True"), Some("Applied"))
    );
    assert_eq!(ready["message"], "3 created");
    assert_eq!(condition(status, "Reconciling")["status"], "False");
    assert_eq!(condition(status, "Stalled")["status"], "False");

    let events = api.events();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["reason"], "Applied");
    assert_eq!(events[0]["type"], "Normal");
    assert_eq!(events[0]["regarding"]["name"], "sonla");
    assert!(events[0]["note"].as_str().unwrap().contains("3 created"));

    // The bind password never reaches the API server.
    let password = w.slapd.service_password();
    assert!(api.requests().iter().all(|r| !r.body.contains(password)));

    // Triggered again by its own status patch: nothing to do, nothing sent.
    let mut updated = w.object();
    updated.status = serde_json::from_value(status.clone()).ok();
    api.clear();
    let action = reconcile(Arc::new(updated), ctx.clone()).await.unwrap();
    assert!(api.requests().is_empty(), "{:#?}", api.requests());
    assert!(matches!(action, a if a != Action::await_change()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_directory_is_neither_read_nor_written() {
    let w = World::new();
    let (client, api) = mock(w.secrets());
    let ctx = w.context(client, Fence::new(true));
    let mut obj = w.object();
    obj.spec.suspend = true;
    let action = reconcile(Arc::new(obj), ctx).await.unwrap();
    assert_eq!(action, Action::await_change());
    assert_eq!(w.mailboxes(), 0, "nothing written");
    let requests = api.requests();
    assert!(
        requests.iter().all(|r| !r.path.contains("/secrets/")),
        "no Secret read: {requests:#?}"
    );
    let patches = api.status_patches();
    assert_eq!(patches.len(), 1);
    let ready = condition(&patches[0], "Ready");
    assert_eq!(
        (ready["status"].as_str(), ready["reason"].as_str()),
        (Some("False"), Some("Suspended"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_back_off_and_end_stalled() {
    let w = World::new();
    let (client, api) = mock(w.secrets());
    let ctx = w.context(client, Fence::new(true));
    let mut obj = w.object();
    obj.spec.source.url = w.tmp.path().join("no-such-repo").display().to_string();
    let mut waits = Vec::new();
    for round in 0..6 {
        // A webhook asks for a cycle now, whatever the backoff says.
        let mut asked = obj.clone();
        asked.metadata.annotations = Some(BTreeMap::from([(
            hopthu::controller::REQUESTED_AT.to_string(),
            format!("2026-12-04T09:00:0{round}Z"),
        )]));
        waits.push(reconcile(Arc::new(asked), ctx.clone()).await.unwrap());
    }
    let expected: Vec<Action> = [5, 10, 20, 40, 80, 160]
        .iter()
        .map(|s| Action::requeue(Duration::from_secs(*s)))
        .collect();
    assert_eq!(waits, expected, "backoff doubles");
    let last = api.status_patches().pop().unwrap();
    let ready = condition(&last, "Ready");
    assert_eq!(ready["status"], "False");
    assert_eq!(ready["reason"], "ReconcileFailed");
    assert!(ready["message"].as_str().unwrap().contains("no-such-repo"));
    let stalled = condition(&last, "Stalled");
    assert_eq!(
        (stalled["status"].as_str(), stalled["reason"].as_str()),
        (Some("True"), Some("RepeatedFailures"))
    );
    // A warning event for the failure, once (the same failure again is not news).
    let warnings: Vec<_> = api
        .events()
        .into_iter()
        .filter(|e| e["type"] == "Warning")
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert_eq!(warnings[0]["reason"], "ReconcileFailed");
    assert_eq!(w.mailboxes(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_is_said_in_status_and_an_event_without_values() {
    let w = World::new();
    let (client, api) = mock(BTreeMap::new());
    let ctx = w.context(client, Fence::new(true));
    let action = reconcile(Arc::new(w.object()), ctx).await.unwrap();
    assert_eq!(action, Action::requeue(Duration::from_secs(60)));
    let status = api.status_patches().pop().unwrap();
    let ready = condition(&status, "Ready");
    assert_eq!(ready["reason"], "ConfigurationError");
    assert!(
        ready["message"]
            .as_str()
            .unwrap()
            .contains("hopthu/hopthu-bind"),
        "{ready}"
    );
    assert_eq!(api.events()[0]["reason"], "ConfigurationError");
    assert_eq!(w.mailboxes(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_lease_nothing_is_read_written_or_patched() {
    let w = World::new();
    let (client, api) = mock(w.secrets());
    let fence = Fence::new(false);
    let ctx = w.context(client, fence.clone());
    let action = reconcile(Arc::new(w.object()), ctx.clone()).await.unwrap();
    assert_eq!(action, Action::requeue(Duration::from_secs(15)));
    assert!(api.requests().is_empty(), "{:#?}", api.requests());
    assert_eq!(w.mailboxes(), 0);
    // The Lease comes: the replica writes.
    fence.set(true);
    reconcile(Arc::new(w.object()), ctx).await.unwrap();
    assert_eq!(w.mailboxes(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_lost_mid_apply_stops_the_writes_at_once() {
    let w = World::new();
    // The reference directory: 2,780 mailboxes to create.
    let reference = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("directory");
    w.git.remove("agencies/skhcn.yaml");
    copy_dir(&reference, &w.git.dir);
    w.git.commit("Danh bạ Sơn La");
    let (client, api) = mock(w.secrets());
    let fence = Fence::new(true);
    let ctx = w.context(client, fence.clone());
    let obj = Arc::new(w.object());
    let task = tokio::spawn(reconcile(obj, ctx));
    // The moment mailboxes appear, another replica takes the Lease.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while w.mailboxes() == 0 {
        assert!(std::time::Instant::now() < deadline && !task.is_finished());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    fence.set(false);
    let lowered = w.mailboxes();
    task.await.unwrap().unwrap();
    let after = w.mailboxes();
    assert!(
        after < 2780,
        "writes went on after the Lease was lost: {after}"
    );
    // At most the writes already in flight when the fence came down.
    assert!(
        after <= lowered + 64 + 10,
        "{lowered} when lowered, {after} after"
    );
    // And the replica that lost the Lease reports nothing: the new holder does.
    assert!(api.status_patches().is_empty(), "{:#?}", api.requests());
    assert!(api.events().is_empty(), "{:#?}", api.events());
    assert!(
        !w.tmp.path().join("state/hopthu/sonla/state.json").exists(),
        "no state saved over the new holder's"
    );
}

#[test]
fn the_committed_crd_is_the_generated_one() {
    let committed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/kubernetes/crd.yaml"),
    )
    .unwrap();
    assert_eq!(
        committed,
        hopthu::crd::crd_yaml(),
        "run `cargo run -- crd > examples/kubernetes/crd.yaml`"
    );
}

#[test]
fn the_sample_maildirectory_matches_the_crd_schema() {
    let crd: serde_json::Value = {
        let text = hopthu::crd::crd_yaml();
        hopthu::yaml::parse(&text).root.unwrap().to_json()
    };
    let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/kubernetes/maildirectory.yaml"),
    )
    .unwrap();
    let parsed = hopthu::yaml::parse(&text);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    let sample = parsed.root.unwrap().to_json();
    assert_eq!(sample["kind"], "MailDirectory");
    let validator = jsonschema::validator_for(schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sample)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // And what the controller reads of it.
    let obj: MailDirectory = serde_json::from_value(sample).unwrap();
    assert_eq!(obj.spec.directory.bind_secret_ref.name, "hopthu-bind");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[tokio::test]
async fn the_fence_follows_the_lease() {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let fence = Fence::new(true);
    hopthu::controller::follow_lease(rx, fence.clone());
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!fence.is_up(), "not the holder: no writes");
    tx.send(true).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(fence.is_up());
    tx.send(false).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!fence.is_up(), "the Lease lost: writing stops");
    tx.send(true).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(tx);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!fence.is_up(), "the Lease manager gone: writing stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_change_or_a_webhook_starts_a_cycle_at_once() {
    let w = World::new();
    let (client, api) = mock(w.secrets());
    let ctx = w.context(client, Fence::new(true));
    reconcile(Arc::new(w.object()), ctx.clone()).await.unwrap();
    assert_eq!(w.mailboxes(), 3);
    // A new commit: nothing happens before the interval...
    w.git.write(
        "agencies/skhcn.yaml",
        &format!("{AGENCY}  - id: p3\n    name: Lò Văn Ún\n"),
    );
    w.git.commit("Thêm một cán bộ");
    reconcile(Arc::new(w.object()), ctx.clone()).await.unwrap();
    assert_eq!(w.mailboxes(), 3, "not before the interval");
    // ... unless the spec changed (a new generation) ...
    let mut changed = w.object();
    changed.metadata.generation = Some(2);
    changed.spec.drift_policy = Some(hopthu::crd::DriftPolicySpec::Report);
    reconcile(Arc::new(changed), ctx.clone()).await.unwrap();
    assert_eq!(w.mailboxes(), 4);
    let status = api.status_patches().pop().unwrap();
    assert_eq!(status["observedGeneration"], 2);
    // ... or a webhook came.
    w.git.write(
        "agencies/skhcn.yaml",
        &format!("{AGENCY}  - id: p3\n    name: Lò Văn Ún\n  - id: p4\n    name: Cầm Thị Xuân\n"),
    );
    w.git.commit("Thêm một cán bộ nữa");
    let mut same = w.object();
    same.metadata.generation = Some(2);
    same.spec.drift_policy = Some(hopthu::crd::DriftPolicySpec::Report);
    reconcile(Arc::new(same.clone()), ctx.clone())
        .await
        .unwrap();
    assert_eq!(w.mailboxes(), 4);
    same.metadata.annotations = Some(BTreeMap::from([(
        hopthu::controller::REQUESTED_AT.to_string(),
        "2026-12-04T09:00:00Z".to_string(),
    )]));
    reconcile(Arc::new(same), ctx.clone()).await.unwrap();
    assert_eq!(w.mailboxes(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_another_replica_held_the_lease_the_state_is_read_again() {
    let w = World::new();
    let (client, _api) = mock(w.secrets());
    let fence = Fence::new(true);
    let ctx = w.context(client, fence.clone());
    reconcile(Arc::new(w.object()), ctx.clone()).await.unwrap();
    let path = w.tmp.path().join("state/hopthu/sonla/state.json");
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(state["cycles"], 1);
    // Another replica held the Lease meanwhile and ran its own cycles.
    fence.set(false);
    state["cycles"] = 100.into();
    std::fs::write(&path, serde_json::to_vec(&state).unwrap()).unwrap();
    fence.set(true);
    let mut asked = w.object();
    asked.metadata.annotations = Some(BTreeMap::from([(
        hopthu::controller::REQUESTED_AT.to_string(),
        "2026-12-04T09:30:00Z".to_string(),
    )]));
    reconcile(Arc::new(asked), ctx).await.unwrap();
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        state["cycles"], 101,
        "what the other holder saved was read, not overwritten"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_events_are_in_the_repository_language_vietnamese_by_default() {
    let w = World::new();
    // A repository that names no language: Vietnamese.
    w.git
        .write("hopthu.yaml", &SETTINGS.replace("language: en\n", ""));
    w.git.commit("Tiếng Việt");
    let (client, api) = mock(w.secrets());
    let ctx = w.context(client, Fence::new(true));
    reconcile(Arc::new(w.object()), ctx).await.unwrap();
    assert_eq!(w.mailboxes(), 3);
    let status = api.status_patches().pop().unwrap();
    let ready = condition(&status, "Ready");
    assert_eq!(
        ready["reason"], "Applied",
        "the reason stays a machine word"
    );
    assert_eq!(ready["message"], "tạo mới 3");
    assert_eq!(
        condition(&status, "Reconciling")["message"],
        "đang chờ chu kỳ kế tiếp, commit mới hoặc webhook"
    );
    let events = api.events();
    assert!(
        events[0]["note"].as_str().unwrap().ends_with(": tạo mới 3"),
        "{events:#?}"
    );

    // Before any repository is read (a Secret missing): Vietnamese too.
    let (client, api) = mock(BTreeMap::new());
    let ctx = w.context(client, Fence::new(true));
    reconcile(Arc::new(w.object()), ctx).await.unwrap();
    let status = api.status_patches().pop().unwrap();
    let ready = condition(&status, "Ready");
    assert_eq!(ready["reason"], "ConfigurationError");
    assert!(
        ready["message"]
            .as_str()
            .unwrap()
            .starts_with("Secret hopthu/hopthu-bind không tồn tại"),
        "{ready}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proposals_on_a_schedule_reach_the_source_once_and_only_from_the_lease_holder() {
    let w = World::new();
    let (client, _api) = mock(w.secrets());
    let fence = Fence::new(true);
    let ctx = w.context(client, fence.clone());
    let mut obj = w.object();
    obj.spec.policy = Some(hopthu::crd::PolicyOverrides {
        propose_every: Some("1h".into()),
        ..Default::default()
    });
    let proposals = || -> Vec<String> {
        let mut v: Vec<String> = w
            .git
            .repo
            .branches(Some(git2::BranchType::Local))
            .unwrap()
            .map(|b| b.unwrap().0.name().unwrap().unwrap().to_string())
            .filter(|n| n.starts_with("hopthu/propose/"))
            .collect();
        v.sort();
        v
    };
    // Without the Lease: no audit, no branch.
    fence.set(false);
    reconcile(Arc::new(obj.clone()), ctx.clone()).await.unwrap();
    assert!(proposals().is_empty());
    fence.set(true);
    reconcile(Arc::new(obj.clone()), ctx.clone()).await.unwrap();
    assert_eq!(w.mailboxes(), 3);
    // Trần Thị Hà, locked since 2026-10-01, is past the 30 days of the rule
    // on 2026-12-03: her revocation is proposed on the source repository.
    assert_eq!(proposals(), ["hopthu/propose/2026-12-03"]);
    let branch = w
        .git
        .repo
        .find_branch("hopthu/propose/2026-12-03", git2::BranchType::Local)
        .unwrap();
    let commit = branch.get().peel_to_commit().unwrap();
    let blob = commit
        .tree()
        .unwrap()
        .get_path(std::path::Path::new("agencies/skhcn.yaml"))
        .unwrap()
        .to_object(&w.git.repo)
        .unwrap()
        .peel_to_blob()
        .unwrap();
    let edited = String::from_utf8(blob.content().to_vec()).unwrap();
    assert!(edited.contains("Nguyễn Văn An"), "{edited}");
    assert!(!edited.contains("Trần Thị Hà"), "{edited}");
    let head = w.git.repo.head().unwrap().target().unwrap();
    assert_eq!(
        commit.parent_id(0).unwrap(),
        head,
        "proposed on the applied commit"
    );
    assert!(
        commit.message().unwrap().contains("Hopthu-Proposal"),
        "{}",
        commit.message().unwrap()
    );
    // main itself is untouched: git stays the source of truth.
    let main = w
        .git
        .repo
        .find_branch("main", git2::BranchType::Local)
        .unwrap();
    assert_eq!(main.get().target().unwrap(), head);
    // Not due again within the hour: no second branch, no second commit.
    reconcile(Arc::new(obj), ctx).await.unwrap();
    assert_eq!(proposals(), ["hopthu/propose/2026-12-03"]);
    let again = w
        .git
        .repo
        .find_branch("hopthu/propose/2026-12-03", git2::BranchType::Local)
        .unwrap();
    assert_eq!(again.get().target().unwrap(), commit.id());
}
