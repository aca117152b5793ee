//! A failed read is not an empty world: every way a read of the live
//! directory can come back short stops the plan with an error, and nothing
//! is written.

#[path = "support/slapd.rs"]
mod slapd;

use hopthu::live::ConnectOptions;
use hopthu::reconcile::{self, PlanSettings, ReconcileError, Target};
use hopthu::schema::Validators;
use hopthu::source::FileSet;
use hopthu::validate::{Options, validate};
use slapd::{Slapd, SlapdOptions};

const SETTINGS: &str = "apiVersion: hopthu/v1\ndomain: sonla.gov.vn\n";

fn repo(people: usize) -> (tempfile::TempDir, hopthu::validate::Outcome) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("agencies")).unwrap();
    std::fs::write(dir.path().join("hopthu.yaml"), SETTINGS).unwrap();
    let mut text = String::from(
        "apiVersion: hopthu/v1\nkind: Agency\ncode: \"S01\"\nabbr: skhcn\ntype: department\nname: Sở Khoa học và Công nghệ\npeople:\n",
    );
    for i in 0..people {
        text.push_str(&format!(
            "  - id: p{i}\n    name: Nguyễn Văn An\n    address: an{i}x.skhcn\n    legacy: true\n"
        ));
    }
    std::fs::write(dir.path().join("agencies/a.yaml"), text).unwrap();
    let o = validate(
        &FileSet::read_folder(dir.path()).unwrap(),
        &Validators::new(),
        &Options {
            lang: None,
            today: chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
        },
    );
    assert!(o.is_valid(), "{:#?}", o.diagnostics);
    (dir, o)
}

/// The messages these tests read are the English ones.
fn english() {
    hopthu::i18n::set_process(hopthu::model::Language::En);
}

fn service(s: &Slapd) -> ConnectOptions {
    ConnectOptions {
        url: s.url(),
        bind_dn: Some(s.service_dn().into()),
        bind_password: Some(s.service_password().into()),
        concurrency: 32,
        ..ConnectOptions::default()
    }
}

async fn plan(
    o: &hopthu::validate::Outcome,
    connect: ConnectOptions,
    base: Option<&str>,
) -> Result<hopthu::plan::Plan, ReconcileError> {
    let settings = o.settings.clone().unwrap();
    let target = Target::new(&settings, connect, base.map(str::to_string));
    let ps = PlanSettings {
        settings: &settings,
        today: chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
        hold_all_deletes: false,
    };
    reconcile::plan_against(&o.desired, &ps, &target)
        .await
        .map(|(p, _)| p)
}

async fn apply_all(o: &hopthu::validate::Outcome, connect: ConnectOptions, tmp: &std::path::Path) {
    let settings = o.settings.clone().unwrap();
    let target = Target::new(&settings, connect, None);
    let ps = PlanSettings {
        settings: &settings,
        today: chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
        hold_all_deletes: false,
    };
    let (p, mut dir) = reconcile::plan_against(&o.desired, &ps, &target)
        .await
        .unwrap();
    let opts = hopthu::apply::Options {
        credentials_out: Some(tmp.join("creds")),
        backup_dir: tmp.join("backups"),
        audit: hopthu::audit::AuditLog::new(tmp.join("audit.jsonl")),
        approve_deletes: None,
        revision: None,
        password_policy: Default::default(),
    };
    let r = hopthu::apply::apply(&mut dir, &p, &opts).await.unwrap();
    assert_eq!(r.failed, 0, "{:#?}", r.outcomes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_size_limit_hit_mid_read_stops_the_plan() {
    let (_tmp, o) = repo(3);
    let mut seed = String::new();
    for i in 0..80 {
        seed.push_str(&format!(
            "dn: uid=u{i},{}\nobjectClass: inetOrgPerson\ncn: U{i}\nsn: U\nuid: u{i}\nmail: u{i}@sonla.gov.vn\n\n",
            slapd::PEOPLE_DN
        ));
    }
    let limited = Slapd::start_with(SlapdOptions {
        service_size_limit: Some(50),
        seed_ldif: seed,
        ..SlapdOptions::default()
    });
    let err = plan(&o, service(&limited), None).await.unwrap_err();
    assert!(matches!(err, ReconcileError::Directory(_)), "{err}");
    assert_eq!(
        limited
            .ldapsearch("(objectClass=inetOrgPerson)", &["dn"])
            .matches("dn: ")
            .count(),
        80
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_gone_is_an_error_not_an_empty_directory() {
    let (_tmp, o) = repo(3);
    let mut s = Slapd::start();
    let connect = service(&s);
    s.kill();
    let err = plan(&o, connect, None).await.unwrap_err();
    assert!(matches!(err, ReconcileError::Directory(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_base_dn_is_an_error() {
    let (_tmp, o) = repo(3);
    let s = Slapd::start();
    let err = plan(&o, service(&s), Some("dc=sonla,dc=gov,dc=xx"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("dc=sonla,dc=gov,dc=xx"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bind_that_can_read_nothing_is_an_error() {
    let (_tmp, o) = repo(3);
    let s = Slapd::start();
    s.ldapadd(&format!(
        "dn: uid=clerk,{}\nobjectClass: inetOrgPerson\ncn: Clerk\nsn: Clerk\nuid: clerk\nuserPassword: clerk-pass-1A!\n",
        s.people_dn()
    ));
    let clerk = ConnectOptions {
        url: s.url(),
        bind_dn: Some(format!("uid=clerk,{}", s.people_dn())),
        bind_password: Some("clerk-pass-1A!".into()),
        ..ConnectOptions::default()
    };
    let err = plan(&o, clerk, None).await.unwrap_err();
    assert!(err.to_string().contains("dc=sonla,dc=gov,dc=vn"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_managed_mailboxes_where_the_records_expect_some_is_an_error() {
    let (tmp, o) = repo(5);
    let s = Slapd::start();
    apply_all(&o, service(&s), tmp.path()).await;
    // Someone moves every mailbox out of sight (an ACL change, a restore
    // into another tree): hopthu must not read that as "delete them all".
    let mut uids: Vec<String> = (0..5).map(|i| format!("an{i}x.skhcn")).collect();
    uids.push("skhcn".into());
    for uid in uids {
        let out = std::process::Command::new("ldapdelete")
            .args([
                "-x",
                "-H",
                &s.url(),
                "-D",
                s.admin_dn(),
                "-w",
                s.admin_password(),
            ])
            .arg(format!("uid={uid},{}", s.people_dn()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let err = plan(&o, service(&s), None).await.unwrap_err();
    assert!(err.to_string().contains("6"), "{err}");
}

#[path = "support/faults.rs"]
mod faults;

/// How many entries the server holds, counted as its administrator.
fn entries(s: &Slapd) -> usize {
    s.ldapsearch("(objectClass=*)", &["dn"])
        .matches("dn: ")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_dropped_mid_read_stops_the_plan_and_the_apply() {
    english();
    let (tmp, o) = repo(3);
    let mut seed = String::new();
    for i in 0..2000 {
        seed.push_str(&format!(
            "dn: uid=u{i},{}\nobjectClass: inetOrgPerson\ncn: U{i}\nsn: U\nuid: u{i}\nmail: u{i}@sonla.gov.vn\n\n",
            slapd::PEOPLE_DN
        ));
    }
    let s = Slapd::start_with(SlapdOptions {
        seed_ldif: seed,
        ..SlapdOptions::default()
    });
    let before = entries(&s);
    // The plan, through a connection cut after a page or two of answers.
    let url = faults::cutting_proxy(s.port(), 120_000).await;
    let err = plan(&o, ConnectOptions { url, ..service(&s) }, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("stopped after"), "{err}");
    // The command an operator runs: exit 1, and not one write.
    let url = faults::cutting_proxy(s.port(), 120_000).await;
    std::fs::write(tmp.path().join("bind"), s.service_password()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args(["apply", tmp.path().to_str().unwrap(), "--live", &url])
        .args(["--bind-dn", s.service_dn(), "--bind-password-file"])
        .arg(tmp.path().join("bind"))
        .args(["--yes", "--credentials-out"])
        .arg(tmp.path().join("c.tsv"))
        .arg("--state-dir")
        .arg(tmp.path().join("state"))
        .args(["--lang", "en"])
        .env("HOPTHU_TODAY", "2026-12-03")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("stopped after"), "{text}");
    assert_eq!(entries(&s), before, "nothing written");
    assert!(!tmp.path().join("c.tsv").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_time_limit_hit_mid_read_stops_the_plan() {
    use faults::tlv;
    english();
    let (_tmp, o) = repo(3);
    // One entry, then "time limit exceeded" (3): a server under load that
    // gave up part way.
    let url = faults::fake_server(|id| {
        let attrs = tlv(
            0x30,
            &tlv(
                0x30,
                &[
                    tlv(0x04, b"objectClass"),
                    tlv(0x31, &tlv(0x04, b"inetOrgPerson")),
                ]
                .concat(),
            ),
        );
        let entry = tlv(
            0x64,
            &[tlv(0x04, b"uid=u1,ou=people,dc=sonla,dc=gov,dc=vn"), attrs].concat(),
        );
        let done = tlv(0x65, &[0x0a, 1, 3, 4, 0, 4, 0]);
        [
            tlv(0x30, &[&[2, 1, id][..], &entry].concat()),
            tlv(0x30, &[&[2, 1, id][..], &done].concat()),
        ]
        .concat()
    })
    .await;
    let connect = ConnectOptions {
        url,
        bind_dn: Some("cn=hopthu,ou=system,dc=sonla,dc=gov,dc=vn".into()),
        bind_password: Some("x-pass".into()),
        ..ConnectOptions::default()
    };
    let err = plan(&o, connect, None).await.unwrap_err();
    assert!(matches!(err, ReconcileError::Directory(_)), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("incomplete") && text.contains("timeLimitExceeded"),
        "{text}"
    );
}
