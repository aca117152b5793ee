//! The regulation's lifecycle: `hopthu audit` finds mailboxes without a
//! login for too long, locks older than the rule, mailboxes never used,
//! legacy addresses and drift; `hopthu propose` turns them into a commit
//! on a new branch of a real git repository, edited in place. Clocks are
//! set by the tests (HOPTHU_TODAY); logins come from a real slapd's
//! lastbind overlay or from a CSV export.

#[path = "support/slapd.rs"]
mod slapd;

use std::path::Path;
use std::process::{Command, Output};

fn hopthu(day: &str, args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args(args)
        .current_dir(cwd)
        .env("HOPTHU_TODAY", day)
        .env("NO_COLOR", "1")
        .env_remove("HOPTHU_BIND_PASSWORD")
        .env_remove("HOPTHU_GIT_TOKEN")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Văn thư")
        .env("GIT_AUTHOR_EMAIL", "vanthu@sonla.gov.vn")
        .env("GIT_COMMITTER_NAME", "Văn thư")
        .env("GIT_COMMITTER_EMAIL", "vanthu@sonla.gov.vn")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        text(&o)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const SETTINGS: &str = "apiVersion: hopthu/v1
domain: sonla.gov.vn
language: vi
policy:
  inactiveLockDays: 90
  revokeAfterLockDays: 30
";

/// People with comments, in the shapes clerks write them.
const AGENCY: &str = "# Sở Khoa học và Công nghệ: hộp thư cán bộ
apiVersion: hopthu/v1
kind: Agency
code: S01
abbr: skhcn
type: department
name: Sở Khoa học và Công nghệ
people:
  # Lãnh đạo
  - id: p1
    name: Nguyễn Văn An   # giám đốc
    title: Giám đốc
  - id: p2
    name: Trần Thị Hà
    status: active        # đang công tác
  - id: p3
    name: Lò Văn Minh
    status: locked
    lock:
      reason: inactive
      since: 2026-10-01
  - id: p4
    name: Hoàng Thị Lan

  # Chuyên viên
  - {id: p5, name: Lê Văn Bình}
";

struct Env {
    tmp: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("repo");
        std::fs::create_dir_all(repo.join("agencies")).unwrap();
        std::fs::write(repo.join("hopthu.yaml"), SETTINGS).unwrap();
        std::fs::write(repo.join("agencies/skhcn.yaml"), AGENCY).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        git(&repo, &["add", "."]);
        git(&repo, &["commit", "-q", "-m", "Sở Khoa học và Công nghệ"]);
        Env { tmp }
    }
    fn path(&self) -> &Path {
        self.tmp.path()
    }
    fn repo(&self) -> std::path::PathBuf {
        self.tmp.path().join("repo")
    }
    fn live(&self) -> String {
        format!("ldif:{}", self.path().join("live.ldif").display())
    }
    fn run(&self, day: &str, args: &[&str]) -> Output {
        hopthu(day, args, self.path())
    }
    fn apply(&self, day: &str) {
        let repo = self.repo().display().to_string();
        let live = self.live();
        let o = self.run(
            day,
            &[
                "apply",
                &repo,
                "--live",
                &live,
                "--yes",
                "--credentials-out",
                "credentials.tsv",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    fn logins(&self, csv: &str) -> String {
        let p = self.path().join("logins.csv");
        std::fs::write(&p, csv).unwrap();
        p.display().to_string()
    }
    fn audit_json(&self, day: &str, extra: &[&str]) -> serde_json::Value {
        let repo = self.repo().display().to_string();
        let live = self.live();
        let mut args = vec![
            "audit",
            repo.as_str(),
            "--live",
            live.as_str(),
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let o = self.run(day, &args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    }
}

fn today() -> String {
    chrono::Utc::now().date_naive().to_string()
}

fn days_after(n: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(n)).to_string()
}

/// (kind, address, proposal) of every finding.
fn findings(report: &serde_json::Value) -> Vec<(String, String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["address"].as_str().unwrap().to_string(),
                f["proposal"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

fn f(kind: &str, address: &str, proposal: &str) -> (String, String, String) {
    (
        kind.into(),
        format!("{address}@sonla.gov.vn"),
        proposal.into(),
    )
}

#[test]
fn the_audit_follows_the_rules_with_a_login_export() {
    let env = Env::new();
    env.apply(&today());
    // On the day of the creation nothing is due but the lock of p3, which
    // is older than 30 days: revocation.
    let r = env.audit_json(&today(), &[]);
    assert_eq!(
        findings(&r),
        vec![f("revoke", "minhlv.skhcn", "revoke")],
        "{r:#}"
    );
    assert_eq!(r["findings"][0]["evidence"]["lockedSince"], "2026-10-01");

    // 120 days on: p1 last logged in 100 days before, p2 ten days before,
    // p4 never, p5 exactly on the limit (90 days).
    let day = days_after(120);
    let at = |n: i64| days_after(120 - n);
    let csv = env.logins(&format!(
        "address,last_login\nannv.skhcn@sonla.gov.vn,{}\nhatt.skhcn@sonla.gov.vn,{} 08:30\nbinhlv.skhcn@sonla.gov.vn,{}\nlanht.skhcn@sonla.gov.vn,\nkhongco@sonla.gov.vn,2026-01-01\n",
        at(100),
        at(10),
        at(90),
    ));
    let r = env.audit_json(&day, &["--logins", &csv]);
    assert_eq!(
        findings(&r),
        vec![
            f("inactive", "annv.skhcn", "lock"),
            f("inactive", "binhlv.skhcn", "lock"),
            f("never-used", "lanht.skhcn", "lock"),
            // The agency's own mailbox: reported, never proposed.
            f("never-used", "skhcn", "-"),
            f("revoke", "minhlv.skhcn", "revoke"),
        ],
        "{r:#}"
    );
    let an = &r["findings"][0];
    assert_eq!(an["evidence"]["lastLogin"], at(100));
    assert_eq!(an["evidence"]["days"], 100);
    assert_eq!(an["file"], "agencies/skhcn.yaml");
    assert_eq!(an["pointer"], "/people/0");
    assert!(
        an["message"]
            .as_str()
            .unwrap()
            .contains("không đăng nhập từ"),
        "{an}"
    );
    assert_eq!(
        r["unknownLogins"],
        serde_json::json!(["khongco@sonla.gov.vn"])
    );
    assert_eq!(r["source"]["kind"], "csv");

    // Markdown for a reviewer, English on request.
    let repo = env.repo().display().to_string();
    let live = env.live();
    let o = env.run(
        &day,
        &[
            "audit", &repo, "--live", &live, "--logins", &csv, "--format", "markdown", "--lang",
            "en",
        ],
    );
    let md = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(md.contains("### inactive (2)"), "{md}");
    assert!(
        md.contains("| `annv.skhcn@sonla.gov.vn` | Nguyễn Văn An | skhcn | no login since"),
        "{md}"
    );
    assert!(md.contains("### never used (2)"), "{md}");
    assert!(
        md.contains(
            "| `skhcn@sonla.gov.vn` | Sở Khoa học và Công nghệ | skhcn | never logged in since "
        ),
        "{md}"
    );
    assert!(
        md.contains("(120 days, the rule is 90) | for a person to decide |"),
        "{md}"
    );
}

#[test]
fn a_bad_login_export_is_named_line_by_line_and_nothing_is_checked() {
    let env = Env::new();
    env.apply(&today());
    let csv = env
        .logins("address,last_login\nannv.skhcn@sonla.gov.vn,hôm qua\nnot an address,2026-01-01\n");
    let repo = env.repo().display().to_string();
    let live = env.live();
    let o = env.run(
        &today(),
        &[
            "audit", &repo, "--live", &live, "--logins", &csv, "--lang", "en",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("logins.csv:2: `hôm qua` is not a date"), "{t}");
    assert!(
        t.contains("logins.csv:3: `not an address` is not an address"),
        "{t}"
    );
    assert!(o.stdout.is_empty(), "no findings from a bad export: {t}");
    std::fs::write(
        env.path().join("logins.csv"),
        b"address,last_login\n\xff\xfe,2026\n",
    )
    .unwrap();
    let o = env.run(
        &today(),
        &[
            "audit", &repo, "--live", &live, "--logins", &csv, "--lang", "en",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("is not UTF-8"), "{}", text(&o));
}

#[test]
fn a_restore_starts_the_inactivity_clock_again() {
    let env = Env::new();
    // p1 locked, then restored today: its old login does not count.
    let locked = AGENCY.replace(
        "    title: Giám đốc\n",
        "    title: Giám đốc\n    status: locked\n    lock: {reason: inactive, since: 2026-11-30}\n",
    );
    std::fs::write(env.repo().join("agencies/skhcn.yaml"), &locked).unwrap();
    env.apply(&today());
    std::fs::write(env.repo().join("agencies/skhcn.yaml"), AGENCY).unwrap();
    env.apply(&today());
    let creds = std::fs::read_to_string(env.path().join("credentials.tsv")).unwrap();
    assert_eq!(
        creds
            .lines()
            .filter(|l| l.starts_with("annv.skhcn@"))
            .count(),
        2,
        "the restore's new password is handed out"
    );
    let csv = env.logins(&format!(
        "address,last_login\nannv.skhcn@sonla.gov.vn,{}\n",
        days_after(-400)
    ));
    let r = env.audit_json(
        &days_after(30),
        &["--logins", &csv, "--state-dir", ".hopthu"],
    );
    assert!(
        !findings(&r).iter().any(|x| x.1.starts_with("annv")),
        "restored 30 days ago: {r:#}"
    );
    let r = env.audit_json(&days_after(95), &["--logins", &csv]);
    let an = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["address"] == "annv.skhcn@sonla.gov.vn")
        .expect("95 days after the restore without a login");
    assert_eq!(an["evidence"]["restored"], today());
    // The message says the days count from the restore, not the login.
    let msg = an["message"].as_str().unwrap();
    assert!(
        msg.contains(&format!("khôi phục ngày {}, đã 95 ngày", today())),
        "{msg}"
    );
}

#[test]
fn legacy_addresses_and_drift_are_reported_for_a_person_to_decide() {
    let env = Env::new();
    let with_legacy = AGENCY.replace(
        "    name: Trần Thị Hà\n",
        "    name: Trần Thị Hà\n    address: ha.tran.skhcn\n    legacy: true\n",
    );
    std::fs::write(env.repo().join("agencies/skhcn.yaml"), &with_legacy).unwrap();
    env.apply(&today());
    // Someone adds a person by hand to git without applying: drift.
    let more = with_legacy.replace(
        "  - id: p4\n",
        "  - id: p6\n    name: Quàng Văn Dũng\n  - id: p4\n",
    );
    std::fs::write(env.repo().join("agencies/skhcn.yaml"), more).unwrap();
    let r = env.audit_json(&today(), &[]);
    let got = findings(&r);
    assert!(got.contains(&f("legacy", "ha.tran.skhcn", "-")), "{got:?}");
    assert!(
        got.iter()
            .any(|x| x.0 == "drift" && x.1.starts_with("dungqv")),
        "{got:?}"
    );
}

#[test]
fn the_live_login_attribute_is_read_from_slapd() {
    let s = slapd::Slapd::start();
    let env = Env::new();
    std::fs::write(env.path().join("bind"), s.service_password()).unwrap();
    let repo = env.repo().display().to_string();
    let url = s.url();
    let live: Vec<&str> = vec![
        "--live",
        &url,
        "--bind-dn",
        s.service_dn(),
        "--bind-password-file",
        "bind",
    ];
    let mut args = vec![
        "apply",
        repo.as_str(),
        "--yes",
        "--credentials-out",
        "credentials.tsv",
    ];
    args.extend(&live);
    let o = env.run(&today(), &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // An logs in (lastbind writes authTimestamp); nobody else does.
    let creds = std::fs::read_to_string(env.path().join("credentials.tsv")).unwrap();
    let password = creds
        .lines()
        .find_map(|l| l.strip_prefix("annv.skhcn@sonla.gov.vn\t"))
        .unwrap()
        .to_string();
    let dn = format!("uid=annv.skhcn,{}", s.people_dn());
    let dn = if s.bind_ok(&dn, &password).is_ok() {
        dn
    } else {
        let found = s.ldapsearch("(mail=annv.skhcn@sonla.gov.vn)", &["dn"]);
        let dn = found
            .lines()
            .find_map(|l| l.strip_prefix("dn: "))
            .unwrap()
            .to_string();
        s.bind_ok(&dn, &password).unwrap();
        dn
    };
    assert!(!dn.is_empty());
    let audit = |day: &str| {
        let mut args = vec!["audit", repo.as_str(), "--format", "json"];
        args.extend(&live);
        let o = env.run(day, &args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let r = audit(&days_after(100));
    assert_eq!(r["source"]["name"], "authTimestamp");
    let got = findings(&r);
    assert!(got.contains(&f("inactive", "annv.skhcn", "lock")), "{r:#}");
    assert!(
        got.contains(&f("never-used", "hatt.skhcn", "lock")),
        "{r:#}"
    );
    let an = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["address"] == "annv.skhcn@sonla.gov.vn")
        .unwrap();
    assert_eq!(an["evidence"]["lastLogin"], today());
    let r = audit(&days_after(10));
    assert_eq!(
        findings(&r),
        vec![f("revoke", "minhlv.skhcn", "revoke")],
        "{r:#}"
    );
}

#[test]
fn a_proposal_edits_only_the_affected_lines_on_a_new_branch_and_pushes_it() {
    let env = Env::new();
    let remote = env.path().join("remote.git");
    git(
        env.path(),
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            remote.to_str().unwrap(),
        ],
    );
    git(
        &env.repo(),
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    git(&env.repo(), &["push", "-q", "origin", "main"]);
    env.apply(&today());
    let day = days_after(120);
    let csv = env.logins(&format!(
        "address,last_login\nannv.skhcn@sonla.gov.vn,{}\nhatt.skhcn@sonla.gov.vn,{}\nbinhlv.skhcn@sonla.gov.vn,{}\n",
        days_after(1),
        days_after(119),
        days_after(2),
    ));
    // An uncommitted edit in the working tree is not the proposal's.
    std::fs::write(env.repo().join("scratch.txt"), "nháp").unwrap();
    let repo = env.repo().display().to_string();
    let live = env.live();
    let o = env.run(
        &day,
        &[
            "propose",
            &repo,
            "--live",
            &live,
            "--logins",
            &csv,
            "--summary-out",
            "pr.md",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let branch = format!("hopthu/propose/{day}");
    assert!(
        text(&o).contains(&format!("đã tạo nhánh {branch}")),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("đẩy lên origin"), "{}", text(&o));

    // The working tree and main are untouched.
    assert_eq!(
        std::fs::read_to_string(env.repo().join("agencies/skhcn.yaml")).unwrap(),
        AGENCY
    );
    assert_eq!(
        git(&env.repo(), &["rev-parse", "main"]),
        git(&env.repo(), &["rev-parse", &format!("{branch}~1")])
    );
    // The branch is on the remote.
    let remote_tip = git(&remote, &["rev-parse", &branch]);
    assert_eq!(remote_tip, git(&env.repo(), &["rev-parse", &branch]));

    // Exactly these lines changed: An and Lan locked, Minh revoked, Bình
    // (flow style) left for a person with the reason.
    let edited = git(
        &env.repo(),
        &["show", &format!("{branch}:agencies/skhcn.yaml")],
    );
    let note_an = format!(
        "không đăng nhập từ {} (119 ngày, quy định 90 ngày); hopthu kiểm tra ngày {day}",
        days_after(1)
    );
    let expected = AGENCY
        .replace(
            "    title: Giám đốc\n",
            &format!(
                "    title: Giám đốc\n    status: locked\n    lock:\n      reason: inactive\n      since: {day}\n      note: \"{note_an}\"\n"
            ),
        )
        .replace(
            "  - id: p3\n    name: Lò Văn Minh\n    status: locked\n    lock:\n      reason: inactive\n      since: 2026-10-01\n",
            "",
        );
    let lan_note_start =
        "    name: Hoàng Thị Lan\n    status: locked\n    lock:\n      reason: inactive\n";
    assert!(edited.contains(lan_note_start), "{edited}");
    let without_lan: String = {
        let i = edited.find(lan_note_start).unwrap() + "    name: Hoàng Thị Lan\n".len();
        let rest = &edited[i..];
        let j = rest.find("\n\n").unwrap();
        format!("{}{}", &edited[..i], &rest[j + 1..])
    };
    assert_eq!(without_lan, expected);
    // Bình's line is as it was.
    assert!(
        edited.contains("  - {id: p5, name: Lê Văn Bình}\n"),
        "{edited}"
    );

    // The summary, fit for the pull request.
    let pr = std::fs::read_to_string(env.path().join("pr.md")).unwrap();
    assert!(pr.contains("| khóa | `annv.skhcn@sonla.gov.vn` |"), "{pr}");
    assert!(
        pr.contains("| thu hồi | `minhlv.skhcn@sonla.gov.vn` |"),
        "{pr}"
    );
    assert!(pr.contains("`binhlv.skhcn@sonla.gov.vn`: agencies/skhcn.yaml: /people/4: mục này viết theo kiểu flow"), "{pr}");
    // The commit says what it does, with a trailer per change.
    let msg = git(&env.repo(), &["log", "-1", "--format=%B", &branch]);
    assert!(
        msg.starts_with("Đề xuất khóa 2, thu hồi 1 hộp thư"),
        "{msg}"
    );
    assert!(msg.contains("Hopthu-Proposal: lock person/p1\n"), "{msg}");
    assert!(msg.contains("Hopthu-Proposal: revoke person/p3\n"), "{msg}");
    assert_eq!(
        git(&env.repo(), &["log", "-1", "--format=%an <%ae>", &branch]).trim(),
        "hopthu <hopthu@sonla.gov.vn>"
    );

    // The edited repository validates.
    git(&env.repo(), &["stash", "-u", "-q"]);
    git(&env.repo(), &["checkout", "-q", &branch]);
    let o = env.run(&day, &["validate", &repo]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    git(&env.repo(), &["checkout", "-q", "main"]);

    // The same findings the next day: already proposed, no new branch.
    let next = days_after(121);
    let o = env.run(
        &next,
        &[
            "propose", &repo, "--live", &live, "--logins", &csv, "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["branch"], serde_json::Value::Null, "{j:#}");
    assert_eq!(j["already"].as_array().unwrap().len(), 3, "{j:#}");
    assert!(
        text(&o).contains("không có gì mới để đề xuất"),
        "{}",
        text(&o)
    );
    let branches = git(&env.repo(), &["branch", "--list", "hopthu/propose/*"]);
    assert_eq!(branches.lines().count(), 1, "{branches}");

    // Merged and applied: An is locked in the live directory, Minh gone.
    git(&env.repo(), &["merge", "-q", "--ff-only", &branch]);
    env.apply(&day);
    let ldif = std::fs::read_to_string(env.path().join("live.ldif")).unwrap();
    assert!(!ldif.contains("minhlv.skhcn@sonla.gov.vn"), "revoked");
    let r = env.audit_json(&day, &["--logins", &csv]);
    assert!(
        !findings(&r)
            .iter()
            .any(|x| x.2 != "-" && (x.1.starts_with("annv") || x.1.starts_with("minhlv"))),
        "{r:#}"
    );
}

#[test]
fn propose_outside_a_git_repository_or_with_nothing_due_writes_nothing() {
    let env = Env::new();
    env.apply(&today());
    let plain = env.path().join("plain");
    std::fs::create_dir_all(plain.join("agencies")).unwrap();
    std::fs::write(plain.join("hopthu.yaml"), SETTINGS).unwrap();
    std::fs::write(plain.join("agencies/skhcn.yaml"), AGENCY).unwrap();
    let live = env.live();
    let o = env.run(
        &today(),
        &[
            "propose",
            plain.to_str().unwrap(),
            "--live",
            &live,
            "--lang",
            "en",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("is not in a git repository"),
        "{}",
        text(&o)
    );

    // Nothing due but Minh's revocation, with no remote: a local branch.
    let repo = env.repo().display().to_string();
    let o = env.run(&today(), &["propose", &repo, "--live", &live]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("chưa đẩy lên"), "{}", text(&o));
    let list = git(&env.repo(), &["branch", "--list", "hopthu/propose/*"]);
    assert_eq!(list.lines().count(), 1, "{list}");
}

#[test]
fn the_continuous_runner_proposes_on_a_schedule_and_not_twice() {
    let env = Env::new();
    let day = days_after(120);
    let csv = env.logins(&format!(
        "address,last_login\nannv.skhcn@sonla.gov.vn,{}\nhatt.skhcn@sonla.gov.vn,{}\n",
        days_after(1),
        days_after(119),
    ));
    // The source: a server's bare repository.
    let source = env.path().join("source.git");
    git(
        env.path(),
        &[
            "clone",
            "-q",
            "--bare",
            &env.repo().display().to_string(),
            source.to_str().unwrap(),
        ],
    );
    let repo = source.display().to_string();
    let live = env.live();
    let once = || {
        env.run(
            &day,
            &[
                "run",
                "--git",
                &repo,
                "--branch",
                "main",
                "--state-dir",
                "state",
                "--live",
                &live,
                "--propose-every",
                "1s",
                "--logins",
                &csv,
                "--once",
                "--lang",
                "en",
            ],
        )
    };
    let o = once();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let branch = format!("hopthu/propose/{day}");
    assert!(
        text(&o).contains(&format!("on the branch {branch}")),
        "{}",
        text(&o)
    );
    // The branch is on the source repository, with what the audit found.
    let edited = git(&source, &["show", &format!("{branch}:agencies/skhcn.yaml")]);
    assert!(
        edited.contains(
            "    title: Giám đốc\n    status: locked\n    lock:\n      reason: inactive\n"
        ),
        "{edited}"
    );
    assert!(!edited.contains("Lò Văn Minh"), "{edited}");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.path().join("state/state.json")).unwrap())
            .unwrap();
    assert_eq!(state["lastProposal"], branch.as_str());
    let summaries: Vec<_> = std::fs::read_dir(env.path().join("state/proposals"))
        .unwrap()
        .collect();
    assert_eq!(summaries.len(), 1);

    // Due again: the open branch on the source already proposes it all.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let o = once();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("nothing new to propose"), "{}", text(&o));
    let list = git(&source, &["branch", "--list", "hopthu/propose/*"]);
    assert_eq!(list.lines().count(), 1, "{list}");

    // The reviewers close it without merging (the branch is deleted): the
    // next audit proposes again.
    git(&source, &["branch", "-D", &branch]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let o = once();
    assert!(
        text(&o).contains(&format!("on the branch {branch}")),
        "{}",
        text(&o)
    );
}

#[test]
fn a_directory_that_cannot_be_read_proposes_nothing() {
    let env = Env::new();
    let repo = env.repo().display().to_string();
    // Nothing listens there; then a file that is not LDIF.
    for live in ["ldap://127.0.0.1:1".to_string(), {
        std::fs::write(
            env.path().join("torn.ldif"),
            "dn: uid=x\nthis is not LDIF\n",
        )
        .unwrap();
        format!("ldif:{}", env.path().join("torn.ldif").display())
    }] {
        let o = env.run(&days_after(400), &["propose", &repo, "--live", &live]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let o = env.run(&days_after(400), &["audit", &repo, "--live", &live]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(o.stdout.is_empty(), "no findings from a failed read");
    }
    let list = git(&env.repo(), &["branch", "--list", "hopthu/propose/*"]);
    assert!(list.is_empty(), "{list}");
}

#[test]
fn a_proposal_that_cannot_be_pushed_leaves_no_branch_behind_and_a_bad_branch_name_is_refused() {
    let env = Env::new();
    env.apply(&today());
    let gone = env.path().join("no-such-remote.git");
    git(
        &env.repo(),
        &["remote", "add", "origin", gone.to_str().unwrap()],
    );
    let repo = env.repo().display().to_string();
    let live = env.live();
    let o = env.run(&today(), &["propose", &repo, "--live", &live]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("không đẩy được nhánh"), "{}", text(&o));
    let list = git(&env.repo(), &["branch", "--list", "hopthu/propose/*"]);
    assert!(list.is_empty(), "{list}");
    // The remote is there now: the same finding is proposed again.
    git(
        env.path(),
        &["init", "-q", "--bare", gone.to_str().unwrap()],
    );
    let o = env.run(&today(), &["propose", &repo, "--live", &live]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("đẩy lên origin"), "{}", text(&o));

    for bad in [
        "refs/heads/main",
        "main",
        "hopthu/propose/",
        "hopthu/propose/a..b",
    ] {
        let o = env.run(
            &today(),
            &[
                "propose",
                &repo,
                "--live",
                &live,
                "--branch",
                bad,
                "--no-push",
            ],
        );
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o));
        assert!(text(&o).contains("hopthu/propose/<name>"), "{}", text(&o));
    }
    let o = env.run(
        &today(),
        &[
            "propose",
            &repo,
            "--live",
            &live,
            "--summary-out",
            "/nonexistent/dir/pr.md",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn a_revocation_that_frees_a_derived_address_keeps_the_colleagues_alternative_as_legacy() {
    let env = Env::new();
    // Two people named Hà Văn Tiến: the second was given the alternative
    // tien2hv because tienhv was taken. The first, locked long ago, is due
    // for revocation: his address is freed, and tien2hv no longer follows
    // the rule on its own.
    let agency = "apiVersion: hopthu/v1
kind: Agency
code: S02
abbr: sgddt
type: department
name: Sở Giáo dục và Đào tạo
people:
  - id: t1
    name: Hà Văn Tiến
    status: locked
    lock:
      reason: inactive
      since: 2026-01-05
  - id: t2
    name: Hà Văn Tiến
    address: tien2hv.sgddt   # tienhv.sgddt đã có người dùng
";
    std::fs::write(env.repo().join("agencies/sgddt.yaml"), agency).unwrap();
    git(&env.repo(), &["add", "."]);
    git(
        &env.repo(),
        &["commit", "-q", "-m", "Sở Giáo dục và Đào tạo"],
    );
    env.apply(&today());
    let repo = env.repo().display().to_string();
    let live = env.live();
    let o = env.run(
        &today(),
        &[
            "propose",
            &repo,
            "--live",
            &live,
            "--no-push",
            "--lang",
            "en",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("keep `tien2hv.sgddt@sonla.gov.vn` as it is (marked legacy: true)"),
        "{out}"
    );
    let branch = format!("hopthu/propose/{}", today());
    let edited = git(
        &env.repo(),
        &["show", &format!("{branch}:agencies/sgddt.yaml")],
    );
    assert_eq!(
        edited,
        "apiVersion: hopthu/v1
kind: Agency
code: S02
abbr: sgddt
type: department
name: Sở Giáo dục và Đào tạo
people:
  - id: t2
    name: Hà Văn Tiến
    address: tien2hv.sgddt   # tienhv.sgddt đã có người dùng
    legacy: true
"
    );
    let message = git(&env.repo(), &["log", "-1", "--format=%B", &branch]);
    assert!(
        message.contains("Hopthu-Proposal: revoke person/t1"),
        "{message}"
    );
    assert!(
        message.contains("keep tien2hv.sgddt@sonla.gov.vn"),
        "{message}"
    );
    // The branch validates: a reviewer can merge it as it is.
    git(&env.repo(), &["checkout", "-q", &branch]);
    let o = env.run(&today(), &["validate", &repo]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}
