//! The reconciler's behaviour, the same suite against a real slapd (as the
//! service account, with ppolicy, lastbind and limits) and against the
//! embedded LDIF file directory.

#[path = "support/slapd.rs"]
mod slapd;

use hopthu::apply::{self, Report};
use hopthu::audit::AuditLog;
use hopthu::live::{ConnectOptions, Directory, LiveEntry, Selection};
use hopthu::plan::{Action, Plan};
use hopthu::reconcile::{self, PlanSettings, ReconcileError, Target};
use hopthu::schema::Validators;
use hopthu::source::FileSet;
use hopthu::validate::{Options, validate};
use std::path::PathBuf;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Ldap,
    Ldif,
}

pub struct Env {
    pub kind: Kind,
    pub slapd: Option<slapd::Slapd>,
    pub tmp: tempfile::TempDir,
}

pub const BASE: &str = "dc=sonla,dc=gov,dc=vn";

const SETTINGS: &str =
    "apiVersion: hopthu/v1\ndomain: sonla.gov.vn\nlanguage: en\npolicy:\n  maxDeletesPerRun: 3\n";

pub fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
}

/// An agency file: `people` are `(id, name, extra YAML lines)`.
pub fn agency(code: &str, abbr: &str, name: &str, people: &[(&str, &str, &str)]) -> String {
    let mut s = format!(
        "apiVersion: hopthu/v1\nkind: Agency\ncode: \"{code}\"\nabbr: {abbr}\ntype: department\nname: {name}\nunits:\n  - code: vp\n    abbr: vp\n    name: Văn phòng\npeople:{}\n",
        if people.is_empty() { " []" } else { "" }
    );
    for (id, n, extra) in people {
        s.push_str(&format!("  - id: {id}\n    name: {n}\n"));
        for line in extra.lines() {
            s.push_str(&format!("    {line}\n"));
        }
    }
    s
}

impl Env {
    pub fn new(kind: Kind) -> Env {
        let slapd = (kind == Kind::Ldap).then(slapd::Slapd::start);
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("repo/agencies")).unwrap();
        std::fs::write(tmp.path().join("repo/hopthu.yaml"), SETTINGS).unwrap();
        Env { kind, slapd, tmp }
    }

    pub fn repo(&self) -> PathBuf {
        self.tmp.path().join("repo")
    }

    /// Replace the agency files of the repository.
    pub fn set_agencies(&self, files: &[(&str, String)]) {
        let dir = self.repo().join("agencies");
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }

    pub fn connect(&self) -> ConnectOptions {
        match &self.slapd {
            Some(s) => ConnectOptions {
                url: s.url(),
                bind_dn: Some(s.service_dn().to_string()),
                bind_password: Some(s.service_password().to_string()),
                concurrency: 32,
                ..ConnectOptions::default()
            },
            None => ConnectOptions {
                url: format!("ldif:{}", self.tmp.path().join("live.ldif").display()),
                concurrency: 32,
                ..ConnectOptions::default()
            },
        }
    }

    pub fn desired(&self) -> hopthu::validate::Outcome {
        let files = FileSet::read_folder(&self.repo()).unwrap();
        let o = validate(
            &files,
            &Validators::new(),
            &Options {
                lang: None,
                today: today(),
            },
        );
        assert!(o.is_valid(), "{:#?}", o.diagnostics);
        o
    }

    pub async fn plan(&self) -> Result<(Plan, Directory), ReconcileError> {
        let o = self.desired();
        let settings = o.settings.clone().unwrap();
        let target = Target::new(&settings, self.connect(), None);
        reconcile::plan_against(
            &o.desired,
            &PlanSettings {
                settings: &settings,
                today: today(),
                hold_all_deletes: false,
            },
            &target,
        )
        .await
    }

    pub fn opts(&self, approve: Option<String>) -> apply::Options {
        apply::Options {
            credentials_out: Some(self.tmp.path().join("credentials.tsv")),
            backup_dir: self.tmp.path().join("state/backups"),
            audit: AuditLog::new(self.tmp.path().join("state/audit.jsonl")),
            approve_deletes: approve,
            revision: Some("test".into()),
            password_policy: Default::default(),
        }
    }

    /// Plan and apply; returns the plan that was applied and the report.
    pub async fn apply(&self) -> (Plan, Report) {
        self.apply_approving(None).await
    }

    pub async fn apply_approving(&self, approve: Option<String>) -> (Plan, Report) {
        let (plan, mut dir) = self.plan().await.expect("plan");
        let report = apply::apply(&mut dir, &plan, &self.opts(approve))
            .await
            .expect("apply");
        dir.close().await.unwrap();
        (plan, report)
    }

    /// Every mailbox entry, read as the service account.
    pub async fn entries(&self) -> Vec<LiveEntry> {
        let mut dir = Directory::connect(&self.connect()).await.unwrap();
        let e = dir
            .read(&Selection {
                base: BASE.into(),
                any_object_class: vec!["inetOrgPerson".into()],
                attrs: vec![
                    "*".into(),
                    "entryUUID".into(),
                    "pwdAccountLockedTime".into(),
                    "pwdReset".into(),
                ],
            })
            .await;
        dir.close().await.unwrap();
        match e {
            Ok(e) => e,
            Err(hopthu::live::DirError::NoBase { .. }) => Vec::new(),
            Err(e) => panic!("{e}"),
        }
    }

    pub async fn entry(&self, address: &str) -> Option<LiveEntry> {
        self.entries().await.into_iter().find(|e| {
            e.first("mail")
                .is_some_and(|m| m.eq_ignore_ascii_case(address))
        })
    }

    pub fn credentials(&self) -> Vec<(String, String)> {
        std::fs::read_to_string(self.tmp.path().join("credentials.tsv"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(a, p)| (a.to_string(), p.to_string()))
            .collect()
    }
}

fn count(plan: &Plan, a: Action) -> usize {
    plan.changes.iter().filter(|c| c.action == a).count()
}

const AN: (&str, &str, &str) = ("p1", "Nguyễn Văn An", "");
const HA: (&str, &str, &str) = ("p2", "Trần Thị Hà", "");
const UN: (&str, &str, &str) = ("p3", "Lò Văn Ún", "");

async fn a_fresh_apply_creates_everything_and_the_next_plan_is_empty(kind: Kind) {
    let env = Env::new(kind);
    env.set_agencies(&[(
        "skhcn.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN, HA, UN]),
    )]);
    let (plan, report) = env.apply().await;
    assert_eq!(plan.summary.create, 5, "{:#?}", plan.changes);
    assert_eq!(report.failed, 0, "{:#?}", report.outcomes);
    let (again, _) = env.plan().await.unwrap();
    assert!(again.is_empty(), "{:#?}", again.changes);
    let an = env.entry("annv.skhcn@sonla.gov.vn").await.unwrap();
    assert_eq!(an.first("hopthuKey"), Some("person/p1"));
    assert_eq!(an.first("cn"), Some("Nguyễn Văn An"));
    assert_eq!(an.first("pwdReset"), Some("TRUE"));
    let password = an.first("userPassword").unwrap();
    assert!(
        password.starts_with("{SSHA}"),
        "stored only as a salted hash"
    );
    let creds = env.credentials();
    assert_eq!(creds.len(), 5);
    assert!(creds.iter().all(|(_, p)| !password.contains(p.as_str())));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(env.tmp.path().join("credentials.tsv"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

async fn a_changed_address_is_a_rename_that_keeps_the_entry(kind: Kind) {
    let env = Env::new(kind);
    let people = [AN, ("p4", "Ngô Văn An", "address: an2nv.skhcn")];
    env.set_agencies(&[(
        "skhcn.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &people),
    )]);
    env.apply().await;
    let before = env.entry("an2nv.skhcn@sonla.gov.vn").await.unwrap();
    let people = [AN, ("p4", "Ngô Văn An", "address: annv2.skhcn")];
    env.set_agencies(&[(
        "skhcn.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &people),
    )]);
    let (plan, report) = env.apply().await;
    assert_eq!(count(&plan, Action::Rename), 1, "{:#?}", plan.changes);
    assert_eq!(
        count(&plan, Action::Create) + count(&plan, Action::Delete),
        0
    );
    assert_eq!(report.failed, 0, "{:#?}", report.outcomes);
    let after = env.entry("annv2.skhcn@sonla.gov.vn").await.unwrap();
    assert_eq!(after.first("entryUUID"), before.first("entryUUID"));
    assert!(
        after
            .get("mailLocalAddress")
            .iter()
            .any(|a| a == "an2nv.skhcn@sonla.gov.vn"),
        "the old address still delivers: {:?}",
        after.get("mailLocalAddress")
    );
    assert!(env.plan().await.unwrap().0.is_empty());
}

async fn an_agency_abbreviation_change_renames_all_its_mailboxes(kind: Kind) {
    let env = Env::new(kind);
    env.set_agencies(&[(
        "s.yaml",
        agency("S01", "stttt", "Sở Thông tin và Truyền thông", &[AN, HA]),
    )]);
    env.apply().await;
    let uuids: Vec<(String, String)> = env
        .entries()
        .await
        .iter()
        .map(|e| {
            (
                e.first("hopthuKey").unwrap().to_string(),
                e.first("entryUUID").unwrap().to_string(),
            )
        })
        .collect();
    let renamed =
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN, HA]).replace("formerAbbrs", "x");
    let renamed = renamed.replace(
        "type: department\n",
        "type: department\nformerAbbrs: [stttt]\n",
    );
    env.set_agencies(&[("s.yaml", renamed)]);
    let (plan, report) = env.apply().await;
    assert_eq!(count(&plan, Action::Rename), 4, "{:#?}", plan.changes);
    assert_eq!(
        count(&plan, Action::Create) + count(&plan, Action::Delete),
        0
    );
    assert_eq!(report.failed, 0, "{:#?}", report.outcomes);
    for (key, uuid) in uuids {
        let e = env
            .entries()
            .await
            .into_iter()
            .find(|e| e.first("hopthuKey") == Some(key.as_str()))
            .unwrap();
        assert_eq!(e.first("entryUUID"), Some(uuid.as_str()), "{key}");
        assert!(
            e.first("mail").unwrap().ends_with("skhcn@sonla.gov.vn"),
            "{key}"
        );
    }
    assert!(env.entry("hatt.skhcn@sonla.gov.vn").await.is_some());
    assert!(env.plan().await.unwrap().0.is_empty());
}

async fn a_person_moved_to_another_agency_is_renamed_not_recreated(kind: Kind) {
    let env = Env::new(kind);
    env.set_agencies(&[
        (
            "a.yaml",
            agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN, HA]),
        ),
        ("b.yaml", agency("S02", "stc", "Sở Tài chính", &[UN])),
    ]);
    env.apply().await;
    let uuid = env
        .entry("hatt.skhcn@sonla.gov.vn")
        .await
        .unwrap()
        .first("entryUUID")
        .unwrap()
        .to_string();
    env.set_agencies(&[
        (
            "a.yaml",
            agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN]),
        ),
        ("b.yaml", agency("S02", "stc", "Sở Tài chính", &[UN, HA])),
    ]);
    let (plan, report) = env.apply().await;
    assert_eq!(count(&plan, Action::Rename), 1, "{:#?}", plan.changes);
    assert_eq!(
        count(&plan, Action::Create) + count(&plan, Action::Delete),
        0
    );
    assert_eq!(report.failed, 0);
    let moved = env.entry("hatt.stc@sonla.gov.vn").await.unwrap();
    assert_eq!(moved.first("entryUUID"), Some(uuid.as_str()));
    assert_eq!(moved.first("ou"), Some("stc"));
}

async fn lock_and_unlock(kind: Kind) {
    let env = Env::new(kind);
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN]),
    )]);
    env.apply().await;
    let locked = [(
        "p1",
        "Nguyễn Văn An",
        "status: locked\nlock: {reason: inactive, since: 2026-10-01}",
    )];
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &locked),
    )]);
    let (plan, report) = env.apply().await;
    assert_eq!(count(&plan, Action::Lock), 1, "{:#?}", plan.changes);
    assert_eq!(report.failed, 0);
    let e = env
        .entry("annv.skhcn@sonla.gov.vn")
        .await
        .expect("a locked mailbox is still found by its address");
    assert_eq!(e.first("pwdAccountLockedTime"), Some("20261001000000Z"));
    assert!(env.plan().await.unwrap().0.is_empty());
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN]),
    )]);
    let (plan, report) = env.apply().await;
    assert_eq!(count(&plan, Action::Unlock), 1);
    assert_eq!(report.failed, 0);
    let e = env.entry("annv.skhcn@sonla.gov.vn").await.unwrap();
    assert!(e.get("pwdAccountLockedTime").is_empty());
    assert_eq!(
        e.first("pwdReset"),
        Some("TRUE"),
        "an unlocked mailbox must change its password"
    );
    assert!(env.plan().await.unwrap().0.is_empty());
}

async fn a_deletion_is_backed_up_first(kind: Kind) {
    let env = Env::new(kind);
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN, HA]),
    )]);
    env.apply().await;
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN]),
    )]);
    let (plan, report) = env.apply().await;
    assert_eq!(count(&plan, Action::Delete), 1);
    assert_eq!(report.failed, 0);
    assert!(env.entry("hatt.skhcn@sonla.gov.vn").await.is_none());
    let backup = std::fs::read_to_string(report.backup.as_ref().expect("a backup")).unwrap();
    assert!(backup.contains("mail: hatt.skhcn@sonla.gov.vn"), "{backup}");
    assert!(backup.contains("hopthuKey: person/p2"), "{backup}");
    let audit = AuditLog::new(env.tmp.path().join("state/audit.jsonl"))
        .read()
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|r| r.action == Action::Delete && r.key == "person/p2" && r.result == "ok")
    );
}

async fn too_many_deletions_are_held_until_approved(kind: Kind) {
    let env = Env::new(kind);
    let people = [AN, HA, UN, ("p4", "Cầm Ún", ""), ("p5", "Giàng A Páo", "")];
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &people),
    )]);
    env.apply().await;
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN]),
    )]);
    let (plan, report) = env.apply().await;
    assert_eq!(plan.held.len(), 4);
    assert_eq!(count(&plan, Action::Delete), 0);
    assert_eq!(report.held, 4);
    assert_eq!(env.entries().await.len(), 7, "nothing deleted while held");
    let fp = plan.held_fingerprint.clone().unwrap();
    let (plan2, mut dir) = env.plan().await.unwrap();
    let wrong = apply::apply(&mut dir, &plan2, &env.opts(Some("0000".into()))).await;
    assert!(wrong.is_err());
    let (_, report) = env.apply_approving(Some(fp)).await;
    assert_eq!(report.failed, 0);
    assert_eq!(
        report
            .outcomes
            .iter()
            .filter(|o| o.action == Action::Delete)
            .count(),
        4
    );
    assert_eq!(env.entries().await.len(), 3);
}

async fn emptying_the_repository_holds_every_deletion(kind: Kind) {
    // Three mailboxes, fewer than maxDeletesPerRun: an emptied repository
    // (a wrong path, a bad merge) still deletes nothing until approved.
    let env = Env::new(kind);
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN]),
    )]);
    env.apply().await;
    env.set_agencies(&[]);
    let (plan, report) = env.apply().await;
    assert_eq!(plan.held.len(), 3);
    assert_eq!(plan.held_reason.as_deref(), Some("all-managed"));
    assert_eq!(report.held, 3);
    assert_eq!(env.entries().await.len(), 3, "nothing deleted while held");
    let shown = hopthu::render::human(&plan, hopthu::model::Language::En, false);
    assert!(
        shown.contains("deletes every mailbox hopthu manages"),
        "{shown}"
    );
    let fp = plan.held_fingerprint.clone().unwrap();
    let (_, report) = env.apply_approving(Some(fp)).await;
    assert_eq!(report.failed, 0);
    assert!(env.entries().await.is_empty());
}

async fn entries_hopthu_does_not_own_are_never_touched(kind: Kind) {
    let env = Env::new(kind);
    // A mailbox someone made by hand, holding an address the repository wants.
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[]),
    )]);
    env.apply().await;
    let mut attrs = hopthu::live::Attrs::new();
    attrs.insert(
        "objectClass".into(),
        vec!["inetOrgPerson".into(), "hopthuMailbox".into()],
    );
    attrs.insert("cn".into(), vec!["Hand made".into()]);
    attrs.insert("uid".into(), vec!["handmade".into()]);
    attrs.insert("sn".into(), vec!["Hand".into()]);
    attrs.insert("mail".into(), vec!["annv.skhcn@sonla.gov.vn".into()]);
    // Even a copied key does not make it hopthu's.
    attrs.insert("hopthuKey".into(), vec!["person/p9".into()]);
    let foreign_dn = format!("uid=handmade,ou=people,{BASE}");
    let r = match kind {
        Kind::Ldap => {
            env.slapd.as_ref().unwrap().ldapadd(&format!(
                "dn: {foreign_dn}\nobjectClass: inetOrgPerson\nobjectClass: hopthuMailbox\ncn: Hand made\nsn: Hand\nuid: handmade\nmail: annv.skhcn@sonla.gov.vn\nhopthuKey: person/p9\n"
            ));
            vec![Ok(())]
        }
        Kind::Ldif => {
            // Written under another identity than hopthu's.
            let mut other = env.connect();
            other.bind_dn = Some("cn=admin,dc=sonla,dc=gov,dc=vn".into());
            let mut d2 = Directory::connect(&other).await.unwrap();
            let r = d2
                .write(vec![hopthu::live::Write::Add {
                    dn: foreign_dn.clone(),
                    attrs,
                }])
                .await;
            d2.close().await.unwrap();
            r
        }
    };
    assert!(r.iter().all(|x| x.is_ok()), "{r:?}");
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN]),
    )]);
    let (plan, report) = env.apply().await;
    assert_eq!(plan.conflicts.len(), 1, "{:#?}", plan);
    assert_eq!(plan.conflicts[0].key, "person/p1");
    assert_eq!(count(&plan, Action::Create), 0);
    assert_eq!(
        count(&plan, Action::Delete),
        0,
        "the hand-made entry is not hopthu's to delete"
    );
    assert_eq!(report.failed, 0);
    let e = env.entry("annv.skhcn@sonla.gov.vn").await.unwrap();
    assert_eq!(e.first("cn"), Some("Hand made"));
}

async fn a_refused_operation_is_reported_and_retried(kind: Kind) {
    let env = Env::new(kind);
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[]),
    )]);
    env.apply().await;
    // An entry already sits at the DN one new mailbox needs.
    let blocker = format!("uid=hatt.skhcn,ou=people,{BASE}");
    match kind {
        Kind::Ldap => env.slapd.as_ref().unwrap().ldapadd(&format!(
            "dn: {blocker}\nobjectClass: account\nuid: hatt.skhcn\n"
        )),
        Kind::Ldif => {
            let mut other = env.connect();
            other.bind_dn = Some("cn=admin,dc=sonla,dc=gov,dc=vn".into());
            let mut d = Directory::connect(&other).await.unwrap();
            let mut attrs = hopthu::live::Attrs::new();
            attrs.insert("objectClass".into(), vec!["account".into()]);
            attrs.insert("uid".into(), vec!["hatt.skhcn".into()]);
            let r = d
                .write(vec![hopthu::live::Write::Add {
                    dn: blocker.clone(),
                    attrs,
                }])
                .await;
            assert!(r[0].is_ok());
            d.close().await.unwrap();
        }
    }
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN, HA, UN]),
    )]);
    let (_, report) = env.apply().await;
    assert_eq!(report.failed, 1, "{:#?}", report.outcomes);
    let failed = report.outcomes.iter().find(|o| o.error.is_some()).unwrap();
    assert_eq!(failed.key, "person/p2");
    assert!(
        failed.error.as_ref().unwrap().contains("68"),
        "{:?}",
        failed.error
    );
    assert!(
        env.entry("annv.skhcn@sonla.gov.vn").await.is_some(),
        "the others go on"
    );
    // Still pending: the next plan creates it again.
    let (plan, _) = env.plan().await.unwrap();
    assert_eq!(count(&plan, Action::Create), 1);
    assert_eq!(plan.changes[0].key, "person/p2");
}

async fn a_plan_never_writes(kind: Kind) {
    let env = Env::new(kind);
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN, HA]),
    )]);
    let before = env.entries().await.len();
    for _ in 0..2 {
        let (plan, dir) = env.plan().await.unwrap();
        assert!(plan.summary.create > 0);
        dir.close().await.unwrap();
    }
    if kind == Kind::Ldif {
        assert!(
            !env.tmp.path().join("live.ldif").exists(),
            "no file written by a plan"
        );
    } else {
        assert_eq!(env.entries().await.len(), before);
    }
}

async fn existing_mailboxes_are_adopted_then_managed(kind: Kind) {
    let env = Env::new(kind);
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[]),
    )]);
    env.apply().await;
    let dn = format!("uid=an.nguyen,ou=people,{BASE}");
    let ldif = format!(
        "dn: {dn}\nobjectClass: inetOrgPerson\ncn: NGUYEN VAN AN\nsn: Nguyen\nuid: an.nguyen\nmail: annv.skhcn@sonla.gov.vn\n"
    );
    add_as_someone_else(&env, &ldif).await;
    let uuid = env
        .entry("annv.skhcn@sonla.gov.vn")
        .await
        .unwrap()
        .first("entryUUID")
        .unwrap()
        .to_string();
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN]),
    )]);
    let (plan, dir) = env.plan().await.unwrap();
    dir.close().await.unwrap();
    assert_eq!(plan.conflicts.len(), 1, "not hopthu's until adopted");
    let o = env.desired();
    let settings = o.settings.clone().unwrap();
    let target = Target::new(&settings, env.connect(), None);
    let ps = PlanSettings {
        settings: &settings,
        today: today(),
        hold_all_deletes: false,
    };
    let adopted = reconcile::adopt(&o.desired, &ps, &target, false)
        .await
        .unwrap();
    assert_eq!(adopted.len(), 1);
    assert!(adopted[0].1.is_none(), "{adopted:?}");
    let (plan, report) = env.apply().await;
    assert!(plan.conflicts.is_empty(), "{:#?}", plan.conflicts);
    assert_eq!(count(&plan, Action::Create), 0);
    assert_eq!(count(&plan, Action::Update), 1, "{:#?}", plan.changes);
    assert_eq!(report.failed, 0, "{:#?}", report.outcomes);
    let e = env.entry("annv.skhcn@sonla.gov.vn").await.unwrap();
    assert_eq!(e.first("entryUUID"), Some(uuid.as_str()));
    assert_eq!(e.first("cn"), Some("Nguyễn Văn An"));
    assert!(env.plan().await.unwrap().0.is_empty());
}

/// Add an entry the way a person would, not as hopthu.
async fn add_as_someone_else(env: &Env, ldif: &str) {
    match env.kind {
        Kind::Ldap => env.slapd.as_ref().unwrap().ldapadd(ldif),
        Kind::Ldif => {
            let mut other = env.connect();
            other.bind_dn = Some("cn=admin,dc=sonla,dc=gov,dc=vn".into());
            let mut d = Directory::connect(&other).await.unwrap();
            let mut dn = String::new();
            let mut attrs = hopthu::live::Attrs::new();
            for line in ldif.lines() {
                let (k, v) = line.split_once(": ").unwrap();
                if k == "dn" {
                    dn = v.to_string();
                } else {
                    attrs.entry(k.to_string()).or_default().push(v.to_string());
                }
            }
            let r = d.write(vec![hopthu::live::Write::Add { dn, attrs }]).await;
            assert!(r[0].is_ok(), "{r:?}");
            d.close().await.unwrap();
        }
    }
}

async fn equal_values_written_differently_are_not_changes(kind: Kind) {
    let env = Env::new(kind);
    let people = [AN, ("p2", "Trần Thị Hà", "aliases: [ha.tran, tt.ha]")];
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &people),
    )]);
    env.apply().await;
    // The same values, as another tool might write them back: other case,
    // other order, decomposed text.
    let e = env.entry("hatt.skhcn@sonla.gov.vn").await.unwrap();
    let mut dir = Directory::connect(&env.connect()).await.unwrap();
    let r = dir
        .write(vec![hopthu::live::Write::Modify {
            dn: e.dn.clone(),
            mods: vec![
                hopthu::live::Mod::Replace("mail".into(), vec!["HATT.SKHCN@SONLA.GOV.VN".into()]),
                hopthu::live::Mod::Replace(
                    "mailLocalAddress".into(),
                    vec!["TT.HA@sonla.gov.vn".into(), "ha.tran@sonla.gov.vn".into()],
                ),
                hopthu::live::Mod::Replace(
                    "cn".into(),
                    vec!["Tra\u{302}\u{300}n Thi\u{323} Ha\u{300}".into()],
                ),
            ],
        }])
        .await;
    assert!(r[0].is_ok(), "{r:?}");
    dir.close().await.unwrap();
    let (plan, _) = env.plan().await.unwrap();
    assert!(plan.is_empty(), "{:#?}", plan.changes);
}

async fn every_mail_value_is_ascii(kind: Kind) {
    let env = Env::new(kind);
    let people = [
        ("p1", "Nguye\u{302}\u{303}n Văn Ấn", ""),
        ("p2", "Quàng Thị Ọt", ""),
        ("p3", "H'Hen Niê", "given: H'Hen"),
    ];
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &people),
    )]);
    env.apply().await;
    let entries = env.entries().await;
    assert_eq!(entries.len(), 5);
    for e in entries {
        for v in e.get("mail").iter().chain(e.get("mailLocalAddress")) {
            assert!(v.is_ascii(), "{v}");
        }
    }
    assert!(env.entry("annv.skhcn@sonla.gov.vn").await.is_some());
    assert!(env.entry("otqt.skhcn@sonla.gov.vn").await.is_some());
    assert!(env.entry("hhenn.skhcn@sonla.gov.vn").await.is_some());
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod slapd_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Kind::Ldap).await
                }
            )*
        }
        mod ldif_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Kind::Ldif).await
                }
            )*
        }
    };
}

on_both_backends!(
    a_fresh_apply_creates_everything_and_the_next_plan_is_empty,
    a_changed_address_is_a_rename_that_keeps_the_entry,
    an_agency_abbreviation_change_renames_all_its_mailboxes,
    a_person_moved_to_another_agency_is_renamed_not_recreated,
    lock_and_unlock,
    a_deletion_is_backed_up_first,
    too_many_deletions_are_held_until_approved,
    emptying_the_repository_holds_every_deletion,
    entries_hopthu_does_not_own_are_never_touched,
    a_refused_operation_is_reported_and_retried,
    a_plan_never_writes,
    existing_mailboxes_are_adopted_then_managed,
    equal_values_written_differently_are_not_changes,
    every_mail_value_is_ascii,
);

/// The iRedMail layout, on the file backend (iRedMail's schema is not part
/// of Debian's slapd): its DNs and attributes, and a lock that keeps mail
/// flowing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_iredmail_layout_locks_by_removing_login_services() {
    let env = Env::new(Kind::Ldif);
    std::fs::write(
        env.repo().join("hopthu.yaml"),
        format!("{SETTINGS}directory:\n  layout: iredmail\n"),
    )
    .unwrap();
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN]),
    )]);
    let (plan, report) = env.apply().await;
    assert_eq!(report.failed, 0, "{:#?}", report.outcomes);
    assert!(
        plan.setup
            .iter()
            .any(|dn| dn == "ou=Users,domainName=sonla.gov.vn,o=domains,dc=sonla,dc=gov,dc=vn")
    );
    let read = |env: &Env| {
        let c = env.connect();
        async move {
            let mut d = Directory::connect(&c).await.unwrap();
            let e = d
                .read(&Selection {
                    base: BASE.into(),
                    any_object_class: vec!["mailUser".into()],
                    attrs: vec!["*".into()],
                })
                .await
                .unwrap();
            d.close().await.unwrap();
            e.into_iter()
                .find(|e| e.first("mail") == Some("annv.skhcn@sonla.gov.vn"))
                .unwrap()
        }
    };
    let e = read(&env).await;
    assert_eq!(
        e.dn,
        "mail=annv.skhcn@sonla.gov.vn,ou=Users,domainName=sonla.gov.vn,o=domains,dc=sonla,dc=gov,dc=vn"
    );
    assert_eq!(e.first("accountStatus"), Some("active"));
    assert_eq!(e.first("mailQuota"), Some(&*(2u64 << 30).to_string()));
    assert_eq!(
        e.first("shadowLastChange"),
        Some("0"),
        "must change the password"
    );
    assert!(e.get("enabledService").iter().any(|s| s == "imap"));

    let locked = [(
        "p1",
        "Nguyễn Văn An",
        "status: locked\nlock: {reason: spam, since: 2026-11-01}",
    )];
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &locked),
    )]);
    let (plan, report) = env.apply().await;
    assert_eq!(count(&plan, Action::Lock), 1);
    assert_eq!(report.failed, 0);
    let e = read(&env).await;
    assert_eq!(
        e.first("accountStatus"),
        Some("active"),
        "a locked mailbox still receives mail"
    );
    let services = e.get("enabledService");
    assert!(services.iter().any(|s| s == "deliver") && services.iter().any(|s| s == "lmtp"));
    assert!(
        !services
            .iter()
            .any(|s| s == "imap" || s == "smtp" || s == "pop3"),
        "{services:?}"
    );
    assert!(e.get("hopthuSavedService").iter().any(|s| s == "imap"));
    assert!(env.plan().await.unwrap().0.is_empty());

    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN]),
    )]);
    let (plan, _) = env.apply().await;
    assert_eq!(count(&plan, Action::Unlock), 1);
    let e = read(&env).await;
    assert!(e.get("enabledService").iter().any(|s| s == "imap"));
    assert!(e.get("hopthuSavedService").is_empty());
    assert_eq!(e.first("shadowLastChange"), Some("0"));
    assert!(env.plan().await.unwrap().0.is_empty());
}
