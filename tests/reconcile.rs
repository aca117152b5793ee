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
        // The messages these tests read are the English ones.
        hopthu::i18n::set_process(hopthu::model::Language::En);
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
        self.plan_at(None).await
    }

    /// A plan with `--base-dn`.
    pub async fn plan_at(&self, base: Option<String>) -> Result<(Plan, Directory), ReconcileError> {
        let o = self.desired();
        let settings = o.settings.clone().unwrap();
        let target = Target::new(&settings, self.connect(), base);
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
    // What the rename writes (address, uid, the old address as an alias)
    // is the rename's, not an update of its own.
    assert_eq!(count(&plan, Action::Update), 0, "{:#?}", plan.changes);
    let rename = plan
        .changes
        .iter()
        .find(|c| c.action == Action::Rename)
        .unwrap();
    assert_eq!(rename.from.as_deref(), Some("an2nv.skhcn@sonla.gov.vn"));
    // 180 days (renameGraceDays) from the day of the plan, 2026-12-03.
    assert_eq!(rename.attributes["oldAddressUntil"], "2027-06-01");
    let shown = hopthu::render::human(&plan, hopthu::model::Language::En, false);
    assert!(
        shown.contains("an2nv.skhcn@sonla.gov.vn keeps delivering until 2027-06-01"),
        "{shown}"
    );
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
    let password = env
        .credentials()
        .into_iter()
        .find(|(a, _)| a == "annv.skhcn@sonla.gov.vn")
        .expect("the initial password")
        .1;
    if let Some(slapd) = &env.slapd {
        let dn = env.entry("annv.skhcn@sonla.gov.vn").await.unwrap().dn;
        // Before the lock: the password works, and must be changed first.
        let (bind, search) = login(&slapd.url(), &dn, &password).await;
        assert_eq!((bind, search), (0, Some(50)));
    }
    let (plan, report) = env.apply().await;
    assert_eq!(count(&plan, Action::Lock), 1, "{:#?}", plan.changes);
    assert_eq!(report.failed, 0);
    let e = env
        .entry("annv.skhcn@sonla.gov.vn")
        .await
        .expect("a locked mailbox is still found by its address");
    // ppolicy's lasting lock: it does not end with a pwdLockoutDuration.
    assert_eq!(e.first("pwdAccountLockedTime"), Some("000001010000Z"));
    if let Some(slapd) = &env.slapd {
        // The owner cannot log in; the mail server (the service account)
        // still finds the mailbox by its address, so mail is delivered.
        let (bind, _) = login(&slapd.url(), &e.dn, &password).await;
        assert_eq!(bind, 49, "a locked mailbox cannot log in");
        assert!(
            slapd
                .ldapsearch("(mail=annv.skhcn@sonla.gov.vn)", &["mail"])
                .contains("mail: annv.skhcn@sonla.gov.vn")
        );
    }
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
    // The restore gave a new password, handed out in the credentials file
    // (the old one may be why the mailbox was locked).
    let issued: Vec<String> = env
        .credentials()
        .into_iter()
        .filter(|(a, _)| a == "annv.skhcn@sonla.gov.vn")
        .map(|(_, p)| p)
        .collect();
    assert_eq!(issued.len(), 2, "the initial password, then the restore's");
    let renewed = &issued[1];
    assert_ne!(renewed, &password);
    assert!(
        !std::fs::read_dir(env.tmp.path()).unwrap().any(|f| f
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".pending")),
        "no password left waiting"
    );
    if let Some(slapd) = &env.slapd {
        // Unlocked: the old password no longer works; the new one does,
        // and nothing but a password change is allowed until it is changed.
        let (bind, _) = login(&slapd.url(), &e.dn, &password).await;
        assert_eq!(bind, 49, "the password from before the lock is gone");
        let (bind, search) = login(&slapd.url(), &e.dn, renewed).await;
        assert_eq!((bind, search), (0, Some(50)));
    }
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
            .any(|r| r.action == "delete" && r.key == "person/p2" && r.result == "ok")
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
    // The refused mailbox has no password to hand out.
    let listed: Vec<String> = env.credentials().into_iter().map(|(a, _)| a).collect();
    assert!(listed.contains(&"annv.skhcn@sonla.gov.vn".to_string()));
    assert!(
        !listed.contains(&"hatt.skhcn@sonla.gov.vn".to_string()),
        "{listed:?}"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.tmp.path().join("credentials.tsv"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Still pending: the next plan creates it again.
    let (plan, dir) = env.plan().await.unwrap();
    dir.close().await.unwrap();
    assert_eq!(count(&plan, Action::Create), 1);
    assert_eq!(plan.changes[0].key, "person/p2");
    // Once the way is clear, the next run creates it: one line, one password.
    match kind {
        Kind::Ldap => {
            let s = env.slapd.as_ref().unwrap();
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
                .arg(&blocker)
                .output()
                .unwrap();
            assert!(out.status.success());
        }
        Kind::Ldif => {
            let mut other = env.connect();
            other.bind_dn = Some("cn=admin,dc=sonla,dc=gov,dc=vn".into());
            let mut d = Directory::connect(&other).await.unwrap();
            let r = d
                .write(vec![hopthu::live::Write::Delete {
                    dn: blocker.clone(),
                }])
                .await;
            assert!(r[0].is_ok(), "{r:?}");
        }
    }
    let (_, report) = env.apply().await;
    assert_eq!(report.failed, 0, "{:#?}", report.outcomes);
    let ha: Vec<(String, String)> = env
        .credentials()
        .into_iter()
        .filter(|(a, _)| a == "hatt.skhcn@sonla.gov.vn")
        .collect();
    assert_eq!(ha.len(), 1);
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
    // Another entry holds an address the repository wants, but under
    // another person's name: listed, never taken over.
    add_as_someone_else(
        &env,
        &format!("dn: uid=ha.tran,ou=people,{BASE}\nobjectClass: inetOrgPerson\ncn: Lê Văn Hải\nsn: Lê\nuid: ha.tran\nmail: hatt.skhcn@sonla.gov.vn"),
    )
    .await;
    // A third holds a second address the repository does not declare:
    // adopting it would drop that address, so it is not taken over.
    add_as_someone_else(
        &env,
        &format!("dn: uid=un.lo,ou=people,{BASE}\nobjectClass: inetOrgPerson\ncn: Lò Văn Ún\nsn: Lò\nuid: un.lo\nmail: unlv.skhcn@sonla.gov.vn\nmail: vanthu.skhcn@sonla.gov.vn"),
    )
    .await;
    let uuid = env
        .entry("annv.skhcn@sonla.gov.vn")
        .await
        .unwrap()
        .first("entryUUID")
        .unwrap()
        .to_string();
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN, HA, UN]),
    )]);
    let (plan, dir) = env.plan().await.unwrap();
    dir.close().await.unwrap();
    assert_eq!(plan.conflicts.len(), 3, "not hopthu's until adopted");
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
    assert_eq!(adopted.len(), 3);
    let un = adopted.iter().find(|(a, _)| a.key == "person/p3").unwrap();
    assert!(
        un.0.mismatch
            .as_deref()
            .unwrap()
            .contains("vanthu.skhcn@sonla.gov.vn"),
        "{adopted:?}"
    );
    let an = adopted.iter().find(|(a, _)| a.key == "person/p1").unwrap();
    assert!(an.1.is_none() && an.0.mismatch.is_none(), "{adopted:?}");
    let ha = adopted.iter().find(|(a, _)| a.key == "person/p2").unwrap();
    assert!(
        ha.0.mismatch.as_deref().unwrap().contains("Lê Văn Hải"),
        "{adopted:?}"
    );
    let (plan, report) = env.apply().await;
    assert_eq!(plan.conflicts.len(), 2, "{:#?}", plan.conflicts);
    assert_eq!(plan.conflicts[0].key, "person/p2");
    let un = env.entry("unlv.skhcn@sonla.gov.vn").await.unwrap();
    assert_eq!(
        un.get("mail").len(),
        2,
        "the entry not taken over keeps both addresses"
    );
    assert_eq!(
        env.entry("hatt.skhcn@sonla.gov.vn")
            .await
            .unwrap()
            .first("cn"),
        Some("Lê Văn Hải"),
        "the entry that is not the same person is untouched"
    );
    assert_eq!(count(&plan, Action::Create), 0);
    assert_eq!(count(&plan, Action::Update), 1, "{:#?}", plan.changes);
    assert_eq!(report.failed, 0, "{:#?}", report.outcomes);
    let e = env.entry("annv.skhcn@sonla.gov.vn").await.unwrap();
    assert_eq!(e.first("entryUUID"), Some(uuid.as_str()));
    assert_eq!(e.first("cn"), Some("Nguyễn Văn An"));
    assert!(env.plan().await.unwrap().0.is_empty());
}

/// Log in as a mailbox's owner: the bind's result code, and (when the
/// bind succeeds) the result code of a search the owner then makes.
async fn login(url: &str, dn: &str, password: &str) -> (u32, Option<u32>) {
    let (conn, mut ldap) = ldap3::LdapConnAsync::new(url).await.unwrap();
    ldap3::drive!(conn);
    let bind = ldap.simple_bind(dn, password).await.unwrap().rc;
    let search = if bind == 0 {
        let r = ldap
            .search(dn, ldap3::Scope::Base, "(objectClass=*)", vec!["cn"])
            .await
            .unwrap();
        Some(r.1.rc)
    } else {
        None
    };
    let _ = ldap.unbind().await;
    (bind, search)
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

async fn a_failed_rename_changes_nothing_else(kind: Kind) {
    let env = Env::new(kind);
    let an2 = (
        "p4",
        "Nguyễn Văn An",
        "address: an2nv.skhcn\ntitle: Chuyên viên",
    );
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN, an2]),
    )]);
    env.apply().await;
    // Someone else's entry sits at the DN the rename needs, with another
    // address (so the plan cannot see it in the way).
    add_as_someone_else(
        &env,
        &format!("dn: uid=annv2.skhcn,ou=people,{BASE}\nobjectClass: inetOrgPerson\ncn: Someone\nsn: Else\nuid: annv2.skhcn\nmail: someone@sonla.gov.vn"),
    )
    .await;
    let moved = (
        "p4",
        "Nguyễn Văn An",
        "address: annv2.skhcn\ntitle: Trưởng phòng",
    );
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN, moved]),
    )]);
    let (plan, report) = env.apply().await;
    assert_eq!(count(&plan, Action::Rename), 1, "{:#?}", plan.changes);
    assert_eq!(report.failed, 2, "{:#?}", report.outcomes);
    let update = report
        .outcomes
        .iter()
        .find(|o| o.action == Action::Update)
        .unwrap();
    assert!(
        update
            .error
            .as_deref()
            .unwrap()
            .contains("rename before it failed")
    );
    // The entry in the way is exactly as it was.
    let other = env.entry("someone@sonla.gov.vn").await.unwrap();
    assert_eq!(other.first("cn"), Some("Someone"));
    assert!(other.get("mailLocalAddress").is_empty());
    assert!(other.get("title").is_empty());
    assert!(other.get("hopthuRecord").is_empty());
    // And p4 is untouched, still at its old address: the next run retries.
    let p4 = env.entry("an2nv.skhcn@sonla.gov.vn").await.unwrap();
    assert_eq!(p4.first("title"), Some("Chuyên viên"));
}

async fn a_rename_into_the_address_of_a_deleted_mailbox_follows_the_deletion(kind: Kind) {
    let env = Env::new(kind);
    let an2 = ("p8", "Nguyễn Văn An", "address: annv2.skhcn");
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN, an2, HA]),
    )]);
    env.apply().await;
    let uuid = env
        .entry("annv2.skhcn@sonla.gov.vn")
        .await
        .unwrap()
        .first("entryUUID")
        .unwrap()
        .to_string();
    // p1 leaves; p8 takes the address the rules give (p1's).
    env.set_agencies(&[(
        "a.yaml",
        agency(
            "S01",
            "skhcn",
            "Sở Khoa học và Công nghệ",
            &[("p8", "Nguyễn Văn An", ""), HA],
        ),
    )]);
    let (plan, report) = env.apply().await;
    assert!(plan.conflicts.is_empty(), "{:#?}", plan.conflicts);
    assert_eq!(count(&plan, Action::Delete), 1);
    assert_eq!(count(&plan, Action::Rename), 1);
    assert_eq!(report.failed, 0, "{:#?}", report.outcomes);
    let e = env.entry("annv.skhcn@sonla.gov.vn").await.unwrap();
    assert_eq!(e.first("entryUUID"), Some(uuid.as_str()));
    assert_eq!(e.first("hopthuKey"), Some("person/p8"));
    assert!(env.plan().await.unwrap().0.is_empty());
}

async fn a_rename_into_the_address_of_a_held_deletion_waits(kind: Kind) {
    let env = Env::new(kind);
    let an2 = ("p8", "Nguyễn Văn An", "address: annv2.skhcn");
    let others = [
        ("p5", "Cầm Ún", ""),
        ("p6", "Giàng A Páo", ""),
        ("p7", "Lường Văn Dũng", ""),
    ];
    let mut all = vec![AN, an2, HA];
    all.extend(others);
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &all),
    )]);
    env.apply().await;
    // Four leave (more than maxDeletesPerRun: held); p8 wants p1's address.
    env.set_agencies(&[(
        "a.yaml",
        agency(
            "S01",
            "skhcn",
            "Sở Khoa học và Công nghệ",
            &[("p8", "Nguyễn Văn An", ""), HA],
        ),
    )]);
    let (plan, report) = env.apply().await;
    assert_eq!(plan.held.len(), 4);
    assert_eq!(count(&plan, Action::Rename), 0);
    assert_eq!(plan.conflicts.len(), 1, "{:#?}", plan.conflicts);
    assert_eq!(plan.conflicts[0].key, "person/p8");
    assert!(plan.conflicts[0].reason.contains("held for approval"));
    assert_eq!(report.failed, 0);
    assert!(env.entry("annv2.skhcn@sonla.gov.vn").await.is_some());
    // Approved: the deletions go, and the next run renames.
    let fp = plan.held_fingerprint.clone().unwrap();
    let (_, report) = env.apply_approving(Some(fp)).await;
    assert_eq!(report.failed, 0, "{:#?}", report.outcomes);
    let (plan, report) = env.apply().await;
    assert_eq!(count(&plan, Action::Rename), 1);
    assert_eq!(report.failed, 0);
    assert_eq!(
        env.entry("annv.skhcn@sonla.gov.vn")
            .await
            .unwrap()
            .first("hopthuKey"),
        Some("person/p8")
    );
}

async fn two_mailboxes_swapping_addresses_are_reported_not_half_done(kind: Kind) {
    let env = Env::new(kind);
    let an2 = ("p2", "Nguyễn Văn An", "address: annv2.skhcn");
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN, an2]),
    )]);
    env.apply().await;
    let before = env.entries().await.len();
    env.set_agencies(&[(
        "a.yaml",
        agency(
            "S01",
            "skhcn",
            "Sở Khoa học và Công nghệ",
            &[
                ("p1", "Nguyễn Văn An", "address: annv2.skhcn"),
                ("p2", "Nguyễn Văn An", "address: annv.skhcn"),
            ],
        ),
    )]);
    let (plan, report) = env.apply().await;
    assert_eq!(count(&plan, Action::Rename), 0, "{:#?}", plan.changes);
    assert_eq!(plan.conflicts.len(), 2, "{:#?}", plan.conflicts);
    assert!(plan.conflicts.iter().all(|c| c.reason.contains("swap")));
    assert_eq!(report.failed, 0);
    assert_eq!(env.entries().await.len(), before);
    assert_eq!(
        env.entry("annv.skhcn@sonla.gov.vn")
            .await
            .unwrap()
            .first("hopthuKey"),
        Some("person/p1")
    );
}

async fn an_old_address_in_its_grace_period_yields_to_a_new_mailbox(kind: Kind) {
    let env = Env::new(kind);
    let an2 = ("p4", "Nguyễn Văn An", "address: an2nv.skhcn");
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN, an2]),
    )]);
    env.apply().await;
    // p4 moves to annv2; its old address keeps delivering to it for a while.
    let moved = ("p4", "Nguyễn Văn An", "address: annv2.skhcn");
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN, moved]),
    )]);
    env.apply().await;
    let p4 = env.entry("annv2.skhcn@sonla.gov.vn").await.unwrap();
    assert!(
        p4.get("mailLocalAddress")
            .iter()
            .any(|a| a == "an2nv.skhcn@sonla.gov.vn")
    );
    // A new colleague is given that old address: p4 gives it up.
    let p5 = ("p5", "Nguyễn Văn An", "address: an2nv.skhcn");
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN, moved, p5]),
    )]);
    let (plan, report) = env.apply().await;
    assert_eq!(count(&plan, Action::Create), 1);
    assert_eq!(count(&plan, Action::Update), 1, "{:#?}", plan.changes);
    assert_eq!(report.failed, 0, "{:#?}", report.outcomes);
    let holders: Vec<String> = env
        .entries()
        .await
        .into_iter()
        .filter(|e| {
            e.get("mail")
                .iter()
                .chain(e.get("mailLocalAddress").iter())
                .any(|a| a.eq_ignore_ascii_case("an2nv.skhcn@sonla.gov.vn"))
        })
        .map(|e| e.first("hopthuKey").unwrap_or_default().to_string())
        .collect();
    assert_eq!(holders, ["person/p5"]);
    assert!(env.plan().await.unwrap().0.is_empty());
}

async fn a_wrong_base_dn_is_an_error_not_a_second_tree(kind: Kind) {
    let env = Env::new(kind);
    env.set_agencies(&[(
        "a.yaml",
        agency("S01", "skhcn", "Sở Khoa học và Công nghệ", &[AN, HA]),
    )]);
    env.apply().await;
    let before = env.entries().await.len();
    // A child of the real base: hopthu's mailboxes are there, its records are not.
    let child = format!("ou=people,{BASE}");
    let err = env.plan_at(Some(child)).await.err().expect("refused");
    assert!(
        err.to_string().contains("not the one hopthu manages"),
        "{err}"
    );
    // A parent of it that does not exist: never created.
    let err = env
        .plan_at(Some("dc=gov,dc=vn".into()))
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert_eq!(env.entries().await.len(), before);
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
    a_failed_rename_changes_nothing_else,
    a_rename_into_the_address_of_a_deleted_mailbox_follows_the_deletion,
    a_rename_into_the_address_of_a_held_deletion_waits,
    two_mailboxes_swapping_addresses_are_reported_not_half_done,
    an_old_address_in_its_grace_period_yields_to_a_new_mailbox,
    a_wrong_base_dn_is_an_error_not_a_second_tree,
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
