//! `hopthu plan` and `hopthu apply` as operators run them: the README's main
//! job, secrets that never leave the credentials file, and a run killed half
//! way that the next run completes.

#[path = "support/slapd.rs"]
mod slapd;

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn hopthu(args: &[&str], cwd: &Path) -> Output {
    hopthu_on("2026-12-03", args, cwd)
}

fn hopthu_on(day: &str, args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args(args)
        .current_dir(cwd)
        .env("HOPTHU_TODAY", day)
        .env("NO_COLOR", "1")
        .env_remove("HOPTHU_BIND_PASSWORD")
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

fn reference() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("directory")
        .display()
        .to_string()
}

#[test]
fn the_main_job_reconciles_the_reference_directory_then_has_nothing_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let live = format!("ldif:{}", t.join("live.ldif").display());
    let args = [
        "apply",
        &reference(),
        "--live",
        &live,
        "--yes",
        "--credentials-out",
        "credentials.tsv",
    ];
    let first = hopthu(&args, t);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let out = text(&first);
    assert!(out.contains("Kế hoạch: tạo mới 2780, đổi tên 0"), "{out}");
    assert!(out.contains("2780 thành công, 0 thất bại"), "{out}");
    let second = hopthu(&args, t);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    assert!(
        text(&second).contains("Không có gì thay đổi"),
        "{}",
        text(&second)
    );
    let plan = hopthu(
        &["plan", &reference(), "--live", &live, "--detailed-exitcode"],
        t,
    );
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));

    // No secret anywhere but the credentials file.
    let creds = std::fs::read_to_string(t.join("credentials.tsv")).unwrap();
    let passwords: Vec<&str> = creds.lines().filter_map(|l| l.split('\t').nth(1)).collect();
    assert_eq!(passwords.len(), 2780);
    let json = hopthu(
        &["plan", &reference(), "--live", &live, "--format", "json"],
        t,
    );
    let mut haystack = text(&first) + &text(&second) + &text(&json);
    haystack += &std::fs::read_to_string(t.join(".hopthu/audit.jsonl")).unwrap();
    haystack += &std::fs::read_to_string(t.join("live.ldif")).unwrap();
    for p in passwords {
        assert!(!haystack.contains(p), "a password leaked");
    }
}

#[test]
fn apply_without_a_credentials_file_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let live = format!("ldif:{}", tmp.path().join("live.ldif").display());
    let o = hopthu(
        &["apply", &reference(), "--live", &live, "--yes"],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("--credentials-out"), "{}", text(&o));
    assert!(!tmp.path().join("live.ldif").exists());
}

#[test]
fn a_saved_plan_is_refused_once_an_input_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let repo = t.join("repo");
    copy_dir(Path::new(&reference()), &repo);
    let live = format!("ldif:{}", t.join("live.ldif").display());
    let r = repo.display().to_string();
    let o = hopthu(
        &[
            "plan",
            &r,
            "--live",
            &live,
            "--out",
            "plan.json",
            "--detailed-exitcode",
        ],
        t,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(t.join("plan.json")).unwrap()).unwrap();
    assert_eq!(plan["summary"]["create"], 2780);
    // The repository changes after the plan was made.
    let f = repo.join("agencies/departments/skhcn.yaml");
    let changed = std::fs::read_to_string(&f).unwrap().replace(
        "name: Sở Khoa học và Công nghệ",
        "name: Sở Khoa học, Công nghệ",
    );
    std::fs::write(&f, changed).unwrap();
    let o = hopthu(
        &[
            "apply",
            &r,
            "--live",
            &live,
            "--plan",
            "plan.json",
            "--credentials-out",
            "c.tsv",
            "--lang",
            "en",
        ],
        t,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("repository changed"), "{}", text(&o));
    assert!(!t.join("live.ldif").exists(), "nothing written");
    // A fresh plan applies.
    let o = hopthu(&["plan", &r, "--live", &live, "--out", "plan.json"], t);
    assert_eq!(o.status.code(), Some(0));
    let o = hopthu(
        &[
            "apply",
            &r,
            "--live",
            &live,
            "--plan",
            "plan.json",
            "--credentials-out",
            "c.tsv",
        ],
        t,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

fn copy_dir(from: &Path, to: &Path) {
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

#[test]
fn a_run_killed_half_way_is_completed_by_the_next_run() {
    let s = slapd::Slapd::start();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    std::fs::write(t.join("bind"), s.service_password()).unwrap();
    let url = s.url();
    let args = [
        "apply",
        &reference(),
        "--live",
        &url,
        "--bind-dn",
        s.service_dn(),
        "--bind-password-file",
        "bind",
        "--yes",
        "--credentials-out",
        "c.tsv",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args(args)
        .current_dir(t)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until some mailboxes exist, then kill -9.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let n = s
            .ldapsearch("(hopthuKey=*)", &["dn"])
            .matches("dn: ")
            .count();
        if n > 0 || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = s
        .ldapsearch("(hopthuKey=*)", &["dn"])
        .matches("dn: ")
        .count();
    assert!(
        partial > 0 && partial < 2780,
        "the kill must land mid-run: {partial} made"
    );
    let second = hopthu(&args, t);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    let total = s
        .ldapsearch("(hopthuKey=*)", &["dn"])
        .matches("dn: ")
        .count();
    assert_eq!(total, 2780, "partial run had made {partial}");
    // Every mailbox has exactly one password on record, and it is the one
    // the directory has (the killed run's passwords of mailboxes it did
    // create were kept; those of mailboxes it never made were dropped).
    assert!(!t.join("c.tsv.pending").exists());
    let creds = std::fs::read_to_string(t.join("c.tsv")).unwrap();
    let lines: Vec<(&str, &str)> = creds.lines().map(|l| l.split_once('\t').unwrap()).collect();
    let mut addresses: Vec<&str> = lines.iter().map(|(a, _)| *a).collect();
    addresses.sort();
    addresses.dedup();
    assert_eq!((lines.len(), addresses.len()), (2780, 2780));
    for (address, password) in lines.iter().step_by(97) {
        let uid = address.split('@').next().unwrap();
        let dn = format!("uid={uid},{}", s.people_dn());
        let out = Command::new("ldapwhoami")
            .args(["-x", "-H", &url, "-D", &dn, "-w", password])
            .output()
            .unwrap();
        // 49 is a wrong password; a right one binds (and is then told to
        // change it).
        assert_ne!(
            out.status.code(),
            Some(49),
            "{address}: the password on record is wrong"
        );
    }
    let plan = hopthu(
        &[
            "plan",
            &reference(),
            "--live",
            &url,
            "--bind-dn",
            s.service_dn(),
            "--bind-password-file",
            "bind",
            "--detailed-exitcode",
        ],
        t,
    );
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
}

#[test]
fn with_detailed_exitcode_an_error_is_one_never_two() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let live = format!("ldif:{}", t.join("live.ldif").display());
    // A repository that is not there.
    let o = hopthu(
        &[
            "plan",
            "/nonexistent/repo",
            "--live",
            &live,
            "--detailed-exitcode",
        ],
        t,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // A plan file that cannot be written.
    let o = hopthu(
        &[
            "plan",
            &reference(),
            "--live",
            &live,
            "--out",
            "/nonexistent/dir/plan.json",
            "--detailed-exitcode",
        ],
        t,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // Without the flag, a missing repository is a usage error (2).
    let o = hopthu(&["plan", "/nonexistent/repo", "--live", &live], t);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn a_saved_plan_is_refused_on_a_day_it_would_do_something_else() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let repo = t.join("repo");
    copy_dir(Path::new(&reference()), &repo);
    let r = repo.display().to_string();
    let live = format!("ldif:{}", t.join("live.ldif").display());
    let base = ["--live", &live, "--credentials-out", "c.tsv", "--yes"];
    let o = hopthu(&[&["apply", &r][..], &base[..]].concat(), t);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // The agency's own address changes: a rename, whose old address keeps
    // delivering until a date counted from the day of the apply.
    let f = repo.join("agencies/departments/skhcn.yaml");
    let changed = std::fs::read_to_string(&f).unwrap().replacen(
        "  status: active\n",
        "  status: active\n  address: vanthu.skhcn\n  legacy: true\n",
        1,
    );
    std::fs::write(&f, changed).unwrap();
    let o = hopthu_on(
        "2026-12-03",
        &["plan", &r, "--live", &live, "--out", "plan.json"],
        t,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = hopthu_on(
        "2026-12-05",
        &[
            &["apply", &r, "--plan", "plan.json", "--lang", "en"][..],
            &base[..],
        ]
        .concat(),
        t,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("would not do today"), "{}", text(&o));
    let o = hopthu_on(
        "2026-12-03",
        &[&["apply", &r, "--plan", "plan.json"][..], &base[..]].concat(),
        t,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn nothing_is_written_when_the_audit_log_cannot_be_written() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // The state folder is a file: no log can be kept there.
    std::fs::write(t.join("state"), "not a folder").unwrap();
    let live = format!("ldif:{}", t.join("live.ldif").display());
    let o = hopthu(
        &[
            "apply",
            &reference(),
            "--live",
            &live,
            "--yes",
            "--credentials-out",
            "c.tsv",
            "--state-dir",
            "state",
            "--lang",
            "en",
        ],
        t,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("audit log"), "{}", text(&o));
    assert!(!t.join("live.ldif").exists());
    assert!(!t.join("c.tsv").exists());
}

#[test]
fn the_audit_log_names_the_setup_and_the_revision_of_a_git_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let repo = t.join("repo");
    copy_dir(Path::new(&reference()), &repo);
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .args(args)
            .current_dir(&repo)
            .env("GIT_AUTHOR_NAME", "Văn thư")
            .env("GIT_AUTHOR_EMAIL", "vanthu@sonla.gov.vn")
            .env("GIT_COMMITTER_NAME", "Văn thư")
            .env("GIT_COMMITTER_EMAIL", "vanthu@sonla.gov.vn")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "Danh bạ ban đầu"]);
    let head = git(&["rev-parse", "HEAD"]);
    let live = format!("ldif:{}", t.join("live.ldif").display());
    let r = repo.display().to_string();
    let o = hopthu(
        &[
            "apply",
            &r,
            "--live",
            &live,
            "--yes",
            "--credentials-out",
            "c.tsv",
        ],
        t,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let log = std::fs::read_to_string(t.join(".hopthu/audit.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(records.iter().any(|r| r["action"] == "setup"));
    assert_eq!(
        records.iter().filter(|r| r["action"] == "create").count(),
        2780
    );
    assert!(
        records.iter().all(|r| r["revision"] == head.as_str()),
        "{}",
        &log[..300]
    );
}

#[test]
fn plans_for_reviewers_and_scripts_against_a_server() {
    let s = slapd::Slapd::start();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let repo = t.join("repo");
    std::fs::create_dir_all(repo.join("agencies")).unwrap();
    std::fs::write(
        repo.join("hopthu.yaml"),
        "apiVersion: hopthu/v1\ndomain: sonla.gov.vn\nlanguage: en\n",
    )
    .unwrap();
    std::fs::write(
        repo.join("agencies/skhcn.yaml"),
        "apiVersion: hopthu/v1\nkind: Agency\ncode: \"S01\"\nabbr: skhcn\ntype: department\nname: Sở Khoa học và Công nghệ\npeople:\n  - id: p1\n    name: Nguyễn Văn An\n  - id: p2\n    name: Trần Thị Hà\n",
    )
    .unwrap();
    let r = repo.display().to_string();
    let url = s.url();
    // The bind from the environment: no flag, no file.
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hopthu"))
            .args(args)
            .current_dir(t)
            .env("HOPTHU_TODAY", "2026-12-03")
            .env("NO_COLOR", "1")
            .env("HOPTHU_BIND_DN", s.service_dn())
            .env("HOPTHU_BIND_PASSWORD", s.service_password())
            .output()
            .unwrap()
    };
    let o = run(&["plan", &r, "--live", &url, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let changes = v["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 3);
    for c in changes {
        assert_eq!(c["action"], "create");
        assert!(c["key"].is_string() && c["address"].is_string());
        assert!(c["attributes"].is_object());
        assert!(c.get("from").is_none(), "`from` only on renames");
    }
    for k in ["create", "rename", "update", "lock", "unlock", "delete"] {
        assert!(v["summary"][k].is_u64(), "summary.{k}");
    }
    assert_eq!(v["summary"]["create"], 3);
    assert!(v["held"].as_array().unwrap().is_empty());
    assert!(v["fingerprint"].is_string());
    // A pull-request comment.
    let o = run(&["plan", &r, "--live", &url, "--format", "markdown"]);
    let md = String::from_utf8_lossy(&o.stdout);
    assert!(
        md.contains("```diff") && md.contains("hatt.skhcn@sonla.gov.vn"),
        "{md}"
    );
    // A base DN on the command line that the server does not have.
    let o = run(&["plan", &r, "--live", &url, "--base-dn", "dc=example,dc=org"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("dc=example,dc=org"), "{}", text(&o));
    // Someone else's entry sits where one mailbox goes: that create is
    // refused with the server's words, the others are made, the exit is 1.
    s.ldapadd(&format!(
        "dn: uid=hatt.skhcn,{}\nobjectClass: account\nuid: hatt.skhcn\n",
        s.people_dn()
    ));
    let o = run(&[
        "apply",
        &r,
        "--live",
        &url,
        "--yes",
        "--credentials-out",
        "c.tsv",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("hatt.skhcn@sonla.gov.vn"), "{}", text(&o));
    assert!(text(&o).contains("68: entryAlreadyExists"), "{}", text(&o));
    assert_eq!(
        s.ldapsearch("(hopthuKey=*)", &["dn"])
            .matches("dn: ")
            .count(),
        2
    );
    // Colour only when asked for (or on a terminal).
    let o = run(&["plan", &r, "--live", &url, "--color", "always"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("\u{1b}["));
    let o = run(&["plan", &r, "--live", &url]);
    assert!(!String::from_utf8_lossy(&o.stdout).contains("\u{1b}["));
}

#[test]
fn held_deletions_are_approved_by_the_command_the_plan_prints_and_shown_as_carried_out() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let repo = t.join("kho sở");
    std::fs::create_dir_all(repo.join("agencies")).unwrap();
    std::fs::write(
        repo.join("hopthu.yaml"),
        "apiVersion: hopthu/v1\ndomain: sonla.gov.vn\npolicy:\n  maxDeletesPerRun: 1\n",
    )
    .unwrap();
    let agency = "apiVersion: hopthu/v1\nkind: Agency\ncode: S01\nabbr: skhcn\ntype: department\nname: Sở Khoa học và Công nghệ\npeople:\n  - id: p1\n    name: Nguyễn Văn An\n  - id: p2\n    name: Trần Thị Hà\n  - id: p3\n    name: Lò Văn Minh\n";
    std::fs::write(repo.join("agencies/skhcn.yaml"), agency).unwrap();
    let r = repo.display().to_string();
    let live_path = t.join("live.ldif");
    let live = format!("ldif:{}", live_path.display());
    let o = hopthu(
        &[
            "apply",
            &r,
            "--live",
            &live,
            "--yes",
            "--credentials-out",
            "c.tsv",
        ],
        t,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    std::fs::write(
        repo.join("agencies/skhcn.yaml"),
        agency.split("  - id: p2").next().unwrap(),
    )
    .unwrap();
    let o = hopthu(&["plan", &r, "--live", &live, "--format", "json"], t);
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let fp = plan["heldFingerprint"].as_str().unwrap().to_string();
    let o = hopthu(&["plan", &r, "--live", &live], t);
    let out = text(&o);
    assert!(
        out.contains(&format!(
            "hopthu apply '{r}' --live {live} --approve-deletes {fp}"
        )),
        "the hint is ready to paste: {out}"
    );
    let before = std::fs::read(&live_path).unwrap();
    // Another fingerprint: refused before anything is asked or written.
    let o = hopthu(
        &[
            "apply",
            &r,
            "--live",
            &live,
            "--yes",
            "--credentials-out",
            "c.tsv",
            "--approve-deletes",
            "0123456789ab",
        ],
        t,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("không khớp với các lệnh thu hồi đang tạm giữ"),
        "{}",
        text(&o)
    );
    assert_eq!(
        std::fs::read(&live_path).unwrap(),
        before,
        "nothing written"
    );
    // The right one: the plan shown is the one carried out.
    let o = hopthu(
        &[
            "apply",
            &r,
            "--live",
            &live,
            "--yes",
            "--credentials-out",
            "c.tsv",
            "--approve-deletes",
            &fp,
        ],
        t,
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(!out.contains("TẠM GIỮ"), "{out}");
    assert!(
        out.contains("gồm 2 lệnh thu hồi được phê duyệt bằng --approve-deletes"),
        "{out}"
    );
    assert!(out.contains("thu hồi 2"), "{out}");
    let ldif = std::fs::read_to_string(&live_path).unwrap();
    assert!(ldif.contains("annv.skhcn@sonla.gov.vn"));
    assert!(
        !ldif.contains("hatt.skhcn@sonla.gov.vn") && !ldif.contains("minhlv.skhcn@sonla.gov.vn")
    );
}
