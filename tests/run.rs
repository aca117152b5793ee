//! `hopthu run` against real git repositories in temporary folders and a
//! real slapd (or the embedded LDIF directory): invalid and unsigned
//! commits apply nothing, a force-push holds its deletions, a run killed
//! half way is completed, webhooks wake it (once per burst) and only when
//! signed, and its endpoints say what it did.

#[path = "support/gitrepo.rs"]
mod gitrepo;
#[path = "support/slapd.rs"]
mod slapd;

use gitrepo::{GitRepo, Signer};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const SETTINGS: &str =
    "apiVersion: hopthu/v1\ndomain: sonla.gov.vn\nlanguage: en\npolicy:\n  maxDeletesPerRun: 10\n";

/// An agency file with these people (`(id, name)`).
fn agency(people: &[(&str, &str)]) -> String {
    let mut s = String::from(
        "apiVersion: hopthu/v1\nkind: Agency\ncode: \"S01\"\nabbr: skhcn\ntype: department\nname: Sở Khoa học và Công nghệ\nunits:\n  - code: vp\n    abbr: vp\n    name: Văn phòng\npeople:",
    );
    if people.is_empty() {
        s.push_str(" []\n");
    } else {
        s.push('\n');
    }
    for (id, name) in people {
        s.push_str(&format!("  - id: {id}\n    name: {name}\n"));
    }
    s
}

const P: [(&str, &str); 5] = [
    ("p1", "Nguyễn Văn An"),
    ("p2", "Trần Thị Hà"),
    ("p3", "Lò Văn Ún"),
    ("p4", "Cầm Thị Xuân"),
    ("p5", "Giàng A Páo"),
];

struct World {
    tmp: tempfile::TempDir,
    git: GitRepo,
    slapd: Option<slapd::Slapd>,
}

impl World {
    fn new(with_slapd: bool) -> World {
        let tmp = tempfile::tempdir().unwrap();
        let git = GitRepo::new(&tmp.path().join("repo"));
        git.write("hopthu.yaml", SETTINGS);
        let slapd = with_slapd.then(slapd::Slapd::start);
        if let Some(s) = &slapd {
            std::fs::write(tmp.path().join("bind"), s.service_password()).unwrap();
        }
        World { tmp, git, slapd }
    }

    fn state(&self) -> PathBuf {
        self.tmp.path().join("state")
    }

    fn live_args(&self) -> Vec<String> {
        match &self.slapd {
            Some(s) => vec![
                "--live".into(),
                s.url(),
                "--bind-dn".into(),
                s.service_dn().into(),
                "--bind-password-file".into(),
                self.tmp.path().join("bind").display().to_string(),
            ],
            None => vec![
                "--live".into(),
                format!("ldif:{}", self.tmp.path().join("live.ldif").display()),
            ],
        }
    }

    fn args(&self, extra: &[&str]) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "run".into(),
            "--git".into(),
            self.git.url(),
            "--state-dir".into(),
            self.state().display().to_string(),
        ];
        a.extend(self.live_args());
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    }

    /// One cycle: `hopthu run --once`.
    fn once(&self, extra: &[&str]) -> Output {
        let mut args = self.args(extra);
        args.push("--once".into());
        Command::new(env!("CARGO_BIN_EXE_hopthu"))
            .args(&args)
            .env("HOPTHU_TODAY", "2026-12-03")
            .env_remove("HOPTHU_BIND_PASSWORD")
            .output()
            .unwrap()
    }

    fn state_json(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.state().join("state.json")).unwrap()).unwrap()
    }

    /// The reports written so far, oldest first.
    fn reports(&self) -> Vec<serde_json::Value> {
        let dir = self.state().join("reports");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        names.retain(|p| p.extension().is_some_and(|e| e == "json"));
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }

    /// Addresses of the mailboxes hopthu manages in the live directory.
    fn mailboxes(&self) -> Vec<String> {
        let mut v: Vec<String> = match &self.slapd {
            Some(s) => s
                .ldapsearch("(hopthuKey=*)", &["mail"])
                .lines()
                .filter_map(|l| l.strip_prefix("mail: ").map(str::to_string))
                .collect(),
            None => std::fs::read_to_string(self.tmp.path().join("live.ldif"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.strip_prefix("mail: ").map(str::to_string))
                .collect(),
        };
        v.sort();
        v
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn an_invalid_commit_applies_nothing_and_its_report_says_why() {
    let w = World::new(true);
    w.git.write("agencies/skhcn.yaml", &agency(&P[..2]));
    let good = w.git.commit("Cấp hộp thư cho Sở KH&CN");
    let o = w.once(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(w.mailboxes().len(), 4);
    // Nothing new: no second report of the same commit, and the log says
    // the directory matches.
    let o = w.once(&[]);
    assert!(
        text(&o).contains("nothing to change, the directory matches the repository"),
        "{}",
        text(&o)
    );
    assert_eq!(w.reports().len(), 1);
    assert_eq!(w.state_json()["lastResult"], "no-change");
    // A request with a misspelled key and a look-alike letter.
    let broken = agency(&[P[0], P[1], ("p3", "Lò Văn Ún")]).replace("name: Lò", "nme: Lò")
        + "  - id: p6\n    name: Нồ Thị Bình\n";
    w.git.write("agencies/skhcn.yaml", &broken);
    let bad = w.git.commit("Thêm hai cán bộ");
    let o = w.once(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(w.mailboxes().len(), 4, "nothing applied");
    let st = w.state_json();
    assert_eq!(st["lastAppliedCommit"], good.to_string());
    assert_eq!(st["lastAttemptedCommit"], bad.to_string());
    assert_eq!(st["lastResult"], "invalid");
    let reports = w.reports();
    let last = reports.last().unwrap();
    assert_eq!(last["result"], "invalid");
    assert_eq!(last["commit"]["id"], bad.to_string());
    let codes: Vec<&str> = last["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"E020") && codes.contains(&"E030"),
        "{codes:?}"
    );
    // The same invalid commit again: no second report.
    let before = w.reports().len();
    w.once(&[]);
    assert_eq!(w.reports().len(), before);
}

#[test]
fn a_force_push_that_drops_mailboxes_holds_their_deletions() {
    let w = World::new(true);
    w.git.write("agencies/skhcn.yaml", &agency(&P[..1]));
    let first = w.git.commit("Sở KH&CN");
    w.git.write("agencies/skhcn.yaml", &agency(&P));
    w.git.commit("Thêm bốn cán bộ");
    assert_eq!(w.once(&[]).status.code(), Some(0));
    assert_eq!(w.mailboxes().len(), 7);
    // Someone rewrites main: back to the first commit, then a new one that
    // drops two people (fewer than maxDeletesPerRun).
    w.git.set_main(first);
    w.git.write("agencies/skhcn.yaml", &agency(&P[..3]));
    let rewritten = w.git.commit("Sửa lại danh sách");
    let o = w.once(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(w.mailboxes().len(), 7, "no deletion without approval");
    let st = w.state_json();
    assert_eq!(st["heldReason"], "history-rewritten");
    assert_eq!(st["held"].as_array().unwrap().len(), 2);
    assert_eq!(st["lastAppliedCommit"], rewritten.to_string());
    let report = w.reports().pop().unwrap();
    assert_eq!(report["result"], "held");
    assert_eq!(report["heldReason"], "history-rewritten");
    assert!(
        report["approveWith"]
            .as_str()
            .unwrap()
            .contains(w.state().to_str().unwrap()),
        "{report}"
    );
    let md = std::fs::read_dir(w.state().join("reports"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .max()
        .unwrap();
    let md = std::fs::read_to_string(md).unwrap();
    assert!(
        md.contains("force-push") && md.contains("hopthu approve"),
        "{md}"
    );
    // The next cycles hold them still, whatever commits come on top.
    w.once(&[]);
    assert_eq!(w.mailboxes().len(), 7, "still held on the next cycle");
    w.git.write(
        "agencies/skhcn.yaml",
        &agency(&P[..3]).replace("Văn phòng", "Văn phòng Sở"),
    );
    w.git.commit("Đổi tên văn phòng");
    w.once(&[]);
    assert_eq!(w.mailboxes().len(), 7, "still held after a new commit");
    let st = w.state_json();
    assert_eq!(st["heldReason"], "history-rewritten");
    // A damaged state file stops the runner: it must not forget the hold.
    let saved = std::fs::read(w.state().join("state.json")).unwrap();
    std::fs::write(w.state().join("state.json"), "not json").unwrap();
    let o = w.once(&["--lang", "en"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("is damaged"), "{}", text(&o));
    assert_eq!(w.mailboxes().len(), 7);
    std::fs::write(w.state().join("state.json"), saved).unwrap();
    // An approval of something else, or of a folder that is no runner's,
    // is refused.
    let o = Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args([
            "approve",
            "0123456789abcdef0123456789abcdef",
            "--lang",
            "en",
            "--state-dir",
        ])
        .arg(w.state())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("holds other deletions"), "{}", text(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args(["approve", "0123456789abcdef", "--lang", "en", "--state-dir"])
        .arg(w.tmp.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("no state.json"), "{}", text(&o));
    assert!(!w.state().join("approvals").exists());
    // A person approves exactly those: the next cycle deletes them.
    let fp = st["heldFingerprint"].as_str().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args(["approve", fp, "--state-dir"])
        .arg(w.state())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(w.once(&[]).status.code(), Some(0));
    assert_eq!(w.mailboxes().len(), 5);
    assert!(w.state_json()["held"].as_array().unwrap().is_empty());
}

#[test]
fn only_commits_signed_by_an_allowed_key_are_applied() {
    let w = World::new(false);
    let clerk = Signer::new("vanthu@sonla.gov.vn");
    let stranger = Signer::new("someone@example.org");
    let signers = w.tmp.path().join("allowed_signers");
    std::fs::write(
        &signers,
        format!("# reviewers of the IT centre\n{}\n", clerk.allowed_line()),
    )
    .unwrap();
    let verify = ["--allowed-signers", signers.to_str().unwrap()];
    // Signed by an allowed key: applied.
    w.git.write("agencies/skhcn.yaml", &agency(&P[..1]));
    let signed = w.git.commit_signed("Sở KH&CN", &clerk);
    let o = w.once(&verify);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(w.mailboxes().len(), 3);
    assert_eq!(w.state_json()["lastAppliedCommit"], signed.to_string());
    // Unsigned: reported, not applied.
    w.git.write("agencies/skhcn.yaml", &agency(&P[..2]));
    let unsigned = w.git.commit("Thêm một cán bộ");
    w.once(&verify);
    assert_eq!(w.mailboxes().len(), 3);
    let r = w.reports().pop().unwrap();
    assert_eq!(r["result"], "unverified");
    assert!(
        r["error"].as_str().unwrap().contains(&unsigned.to_string()),
        "{r}"
    );
    // Signed on top, by the right key: the unsigned commit below it still
    // keeps the whole line out (every first-parent commit is checked).
    w.git.write("agencies/skhcn.yaml", &agency(&P[..3]));
    w.git.commit_signed("Thêm cán bộ nữa", &clerk);
    w.once(&verify);
    assert_eq!(w.mailboxes().len(), 3);
    assert_eq!(w.reports().pop().unwrap()["result"], "unverified");
    // A fresh line from the last applied commit, signed by a stranger.
    w.git.set_main(signed);
    w.git.write("agencies/skhcn.yaml", &agency(&P[..2]));
    w.git.commit_signed("Thêm một cán bộ", &stranger);
    w.once(&verify);
    assert_eq!(w.mailboxes().len(), 3);
    let r = w.reports().pop().unwrap();
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("not in the allowed signers"),
        "{r}"
    );
    // Signed by the clerk, on the line from the last applied commit: applied.
    w.git.set_main(signed);
    w.git.write("agencies/skhcn.yaml", &agency(&P[..2]));
    let ok = w.git.commit_signed("Thêm một cán bộ", &clerk);
    let o = w.once(&verify);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(w.mailboxes().len(), 4);
    assert_eq!(w.state_json()["lastAppliedCommit"], ok.to_string());
}

#[test]
fn a_merged_pull_request_is_applied_from_the_merge_commit() {
    let w = World::new(false);
    w.git.write("agencies/skhcn.yaml", &agency(&P[..1]));
    w.git.commit("Sở KH&CN");
    assert_eq!(w.once(&[]).status.code(), Some(0));
    w.git.branch("yeu-cau-42");
    w.git.write("agencies/skhcn.yaml", &agency(&P[..3]));
    w.git
        .commit_on("yeu-cau-42", "Cấp hộp thư cho hai cán bộ mới");
    // Not merged yet: nothing to do.
    w.git
        .set_main(w.git.repo.refname_to_id("refs/heads/main").unwrap());
    assert_eq!(w.once(&[]).status.code(), Some(0));
    assert_eq!(w.mailboxes().len(), 3);
    let merge = w.git.merge("yeu-cau-42", "Merge yêu cầu #42");
    assert_eq!(w.once(&[]).status.code(), Some(0));
    assert_eq!(w.mailboxes().len(), 5);
    let r = w.reports().pop().unwrap();
    assert_eq!(r["commit"]["id"], merge.to_string());
    assert_eq!(r["commit"]["summary"], "Merge yêu cầu #42");
    assert_eq!(r["summary"]["create"], 2);
}

#[test]
fn symlinks_and_oversized_files_in_the_commit_apply_nothing() {
    let w = World::new(false);
    w.git.write("agencies/skhcn.yaml", &agency(&P[..1]));
    std::os::unix::fs::symlink("/etc/passwd", w.git.dir.join("agencies/link.yaml")).unwrap();
    w.git.commit("Sở KH&CN");
    w.once(&[]);
    assert!(w.mailboxes().is_empty());
    assert_eq!(w.state_json()["lastResult"], "invalid");
    let r = w.reports().pop().unwrap();
    assert_eq!(r["problems"][0]["code"], "E004");
    // A file over the size limit is refused unread.
    w.git.remove("agencies/link.yaml");
    w.git.write(
        "agencies/huge.yaml",
        &format!("# {}\n", "x".repeat(5 * 1024 * 1024 + 1)),
    );
    w.git.commit("Một tệp quá lớn");
    w.once(&[]);
    assert!(w.mailboxes().is_empty());
    let r = w.reports().pop().unwrap();
    assert_eq!(r["result"], "invalid");
    assert_eq!(r["problems"][0]["code"], "E003");
    assert_eq!(r["problems"][0]["file"], "agencies/huge.yaml");
    // A submodule inside agencies/.
    w.git.remove("agencies/huge.yaml");
    w.git.commit("Bỏ tệp quá lớn");
    w.git.add_submodule("agencies/vendor");
    w.once(&[]);
    assert!(w.mailboxes().is_empty());
    let r = w.reports().pop().unwrap();
    assert_eq!(r["result"], "invalid");
    assert_eq!(r["problems"][0]["file"], "agencies/vendor");
    assert!(
        r["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("submodule"),
        "{r}"
    );
}

#[test]
fn a_configuration_file_holds_every_setting_and_flags_win() {
    let w = World::new(true);
    w.git.write("agencies/skhcn.yaml", &agency(&P[..1]));
    w.git.commit("Sở KH&CN");
    let s = w.slapd.as_ref().unwrap();
    let conf = w.tmp.path().join("etc/hopthu-run.yaml");
    std::fs::create_dir_all(conf.parent().unwrap()).unwrap();
    std::fs::write(w.tmp.path().join("etc/bind"), s.service_password()).unwrap();
    std::fs::write(
        &conf,
        format!(
            "# hopthu run, Sơn La\ngit:\n  url: {}\n  branch: main\n  interval: 10m\nlive:\n  url: {}\n  bindDN: {}\n  bindPasswordFile: bind\nstateDir: ../state\ndriftPolicy: report\nlanguage: vi\n",
            w.git.url(),
            s.url(),
            s.service_dn()
        ),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args(["run", "--config", conf.to_str().unwrap(), "--once"])
        .env("HOPTHU_TODAY", "2026-12-03")
        .env_remove("HOPTHU_BIND_PASSWORD")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(w.mailboxes().len(), 3);
    // Paths are relative to the file: the state is where it says.
    assert_eq!(w.state_json()["lastResult"], "applied");
    let md = std::fs::read_dir(w.state().join("reports"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "md"))
        .unwrap();
    assert!(
        std::fs::read_to_string(md)
            .unwrap()
            .contains("Đã thực hiện xong")
    );
    // A misspelled setting is named.
    std::fs::write(&conf, "git:\n  url: x\n  intervall: 5m\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args(["run", "--config", conf.to_str().unwrap(), "--once"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("intervall"), "{}", text(&o));
}

#[test]
fn a_failed_fetch_writes_nothing_and_says_why() {
    let w = World::new(false);
    let mut args = w.args(&["--once", "--lang", "en"]);
    args[2] = w.tmp.path().join("no-such-repo").display().to_string();
    let o = Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args(&args)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("cannot fetch"), "{}", text(&o));
    assert!(!w.tmp.path().join("live.ldif").exists());
    let st = w.state_json();
    assert_eq!(st["lastResult"], "failed");
    assert!(st["lastError"].as_str().unwrap().contains("no-such-repo"));
    assert_eq!(st["consecutiveFailures"], 1);
}

#[test]
fn changes_made_by_hand_are_corrected_or_only_reported() {
    let w = World::new(true);
    w.git.write("agencies/skhcn.yaml", &agency(&P[..2]));
    w.git.commit("Sở KH&CN");
    assert_eq!(w.once(&[]).status.code(), Some(0));
    let s = w.slapd.as_ref().unwrap();
    let dn = format!("uid=annv.skhcn,{}", s.people_dn());
    s.ldapmodify(&format!(
        "dn: {dn}\nchangetype: modify\nreplace: cn\ncn: Someone Else\n"
    ));
    // Report only: the entry stays as it was changed.
    let o = w.once(&["--drift-policy", "report"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        s.ldapsearch("(uid=annv.skhcn)", &["cn"])
            .contains("cn: Someone Else")
    );
    let st = w.state_json();
    assert_eq!(st["drift"], 1);
    assert_eq!(st["lastResult"], "drift-reported");
    assert_eq!(w.reports().pop().unwrap()["drift"][0]["key"], "person/p1");
    // Correct: put back.
    let o = w.once(&["--drift-policy", "correct"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        !s.ldapsearch("(uid=annv.skhcn)", &["cn"])
            .contains("Someone Else")
    );
    // And a new commit under `report` applies what it asks, not the drift.
    s.ldapmodify(&format!(
        "dn: {dn}\nchangetype: modify\nreplace: cn\ncn: Someone Else\n"
    ));
    w.git.write("agencies/skhcn.yaml", &agency(&P[..3]));
    w.git.commit("Thêm một cán bộ");
    let o = w.once(&["--drift-policy", "report"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(w.mailboxes().len(), 5);
    assert!(
        s.ldapsearch("(uid=annv.skhcn)", &["cn"])
            .contains("cn: Someone Else")
    );
}

/// A free port on loopback (bound, then released for the child).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `hopthu run` in the background, serving on a port of loopback.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(w: &World, extra: &[&str]) -> Server {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut args = w.args(extra);
        args.extend(["--listen".into(), listen.clone()]);
        let child = Command::new(env!("CARGO_BIN_EXE_hopthu"))
            .args(&args)
            .env("HOPTHU_TODAY", "2026-12-03")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(w.tmp.path().join("run.log")).unwrap())
            .spawn()
            .unwrap();
        let base = format!("http://{listen}");
        let s = Server { child, base };
        s.wait_for(|| s.get("/healthz").is_some_and(|(c, _)| c == 200));
        s
    }

    fn wait_for(&self, ok: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ok() {
            assert!(Instant::now() < deadline, "timed out");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn get(&self, path: &str) -> Option<(u16, String)> {
        http("GET", &format!("{}{path}", self.base), &[], b"")
    }

    fn post(&self, path: &str, headers: &[(&str, String)], body: &[u8]) -> u16 {
        http("POST", &format!("{}{path}", self.base), headers, body)
            .map(|(c, _)| c)
            .unwrap_or(0)
    }

    fn cycles(&self) -> f64 {
        let (_, text) = self.get("/metrics").unwrap();
        let lines = text.lines().map(|l| Ok(l.to_string()));
        let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == "hopthu_cycles_total")
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v) => v,
                _ => 0.0,
            })
            .sum()
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 request over a TCP socket of loopback.
fn http(method: &str, url: &str, headers: &[(&str, String)], body: &[u8]) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}")))?;
    let mut s = std::net::TcpStream::connect(host).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).ok()?;
    // A refused body may be cut short by the server: that is its answer.
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    Some((code, body))
}

const SECRET: &str = "webhook-test-secret-3f9a";

fn github_headers(body: &[u8], id: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "X-Hub-Signature-256",
            hopthu::webhook::github_signature(SECRET.as_bytes(), body),
        ),
        ("X-GitHub-Delivery", id.to_string()),
        ("X-GitHub-Event", "push".into()),
    ]
}

#[test]
fn webhooks_are_refused_unless_signed_and_a_burst_is_one_cycle() {
    let w = World::new(false);
    w.git.write("agencies/skhcn.yaml", &agency(&P[..1]));
    w.git.commit("Sở KH&CN");
    std::fs::write(w.tmp.path().join("secret"), SECRET).unwrap();
    let secret = w.tmp.path().join("secret").display().to_string();
    let s = Server::start(&w, &["--interval", "1h", "--webhook-secret-file", &secret]);
    s.wait_for(|| s.get("/readyz").is_some_and(|(c, _)| c == 200));
    assert_eq!(s.cycles(), 1.0);
    let body = br#"{"ref":"refs/heads/main","commits":[{"added":["agencies/x.yaml"]}]}"#;
    // Unsigned, wrongly signed, signed with another secret: 401.
    assert_eq!(s.post("/hooks/git", &[], body), 401);
    assert_eq!(
        s.post(
            "/hooks/git",
            &[("X-Hub-Signature-256", "sha256=00ff".into())],
            body
        ),
        401
    );
    let other = hopthu::webhook::github_signature(b"not-the-secret", body);
    assert_eq!(
        s.post("/hooks/git", &[("X-Hub-Signature-256", other)], body),
        401
    );
    assert_eq!(
        s.post("/hooks/git", &[("X-Gitlab-Token", "wrong".into())], body),
        401
    );
    // Over 1 MiB: 413, before any signature is checked.
    let big = vec![b'x'; 1024 * 1024 + 10];
    assert_eq!(
        s.post("/hooks/git", &github_headers(&big, "big"), &big),
        413
    );
    // A request refused does not wake the loop.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(s.cycles(), 1.0);
    // 100 signed pushes in 10 s: at most two cycles.
    w.git.write("agencies/skhcn.yaml", &agency(&P[..2]));
    w.git.commit("Thêm một cán bộ");
    let start = Instant::now();
    for i in 0..100 {
        let push = format!(r#"{{"ref":"refs/heads/main","after":"{i:040x}"}}"#);
        let push = push.as_bytes();
        let code = s.post("/hooks/git", &github_headers(push, &format!("d-{i}")), push);
        assert_eq!(code, 202);
        let next = start + Duration::from_millis(100 * (i + 1));
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    // A replayed delivery is refused: the same id, or the same signed body
    // under a new id.
    let seventh = format!(r#"{{"ref":"refs/heads/main","after":"{:040x}"}}"#, 7);
    let seventh = seventh.as_bytes();
    assert_eq!(
        s.post("/hooks/git", &github_headers(seventh, "d-7"), seventh),
        401
    );
    assert_eq!(
        s.post("/hooks/git", &github_headers(seventh, "d-new"), seventh),
        401
    );
    assert_eq!(
        s.post("/hooks/git", &github_headers(body, "d-first"), body),
        202
    );
    assert_eq!(
        s.post("/hooks/git", &github_headers(body, "d-again"), body),
        401
    );
    // GitLab's token and Gitea's signature are understood too.
    let gl = br#"{"object_kind":"push","after":"aa"}"#;
    assert_eq!(
        s.post("/hooks/git", &[("X-Gitlab-Token", SECRET.into())], gl),
        202
    );
    let gt = br#"{"ref":"refs/heads/main","after":"bb"}"#;
    let gitea = hopthu::webhook::github_signature(SECRET.as_bytes(), gt)
        .trim_start_matches("sha256=")
        .to_string();
    assert_eq!(
        s.post("/hooks/git", &[("X-Gitea-Signature", gitea)], gt),
        202
    );
    s.wait_for(|| w.mailboxes().len() == 4);
    std::thread::sleep(Duration::from_secs(4));
    let cycles = s.cycles();
    assert!(cycles - 1.0 <= 2.0, "{cycles} cycles in all");
    let (_, metrics) = s.get("/metrics").unwrap();
    assert!(
        metrics.contains("hopthu_webhook_requests_total{result=\"refused\"}"),
        "{metrics}"
    );
    let status = s.terminate();
    assert!(status.success(), "{status:?}");
}

#[test]
fn metrics_parse_as_prometheus_text_and_status_says_what_was_done() {
    let w = World::new(true);
    w.git.write("agencies/skhcn.yaml", &agency(&P[..2]));
    let commit = w.git.commit("Sở KH&CN");
    let s = Server::start(&w, &["--interval", "1h"]);
    // Not ready before the first cycle has ended well.
    s.wait_for(|| s.get("/readyz").is_some_and(|(c, _)| c == 200));
    let (code, metrics) = s.get("/metrics").unwrap();
    assert_eq!(code, 200);
    let scrape = prometheus_parse::Scrape::parse(metrics.lines().map(|l| Ok(l.to_string())))
        .expect("Prometheus text");
    let value = |name: &str, label: Option<(&str, &str)>| -> f64 {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == name)
            .filter(|s| label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) => v,
                prometheus_parse::Value::Untyped(v) => v,
                _ => 0.0,
            })
            .sum()
    };
    assert_eq!(
        value("hopthu_cycles_total", Some(("result", "applied"))),
        1.0
    );
    assert_eq!(
        value("hopthu_actions_total", Some(("action", "create"))),
        4.0
    );
    assert_eq!(value("hopthu_ready", None), 1.0);
    assert_eq!(value("hopthu_held_deletions", None), 0.0);
    let t = w.git.repo.find_commit(commit).unwrap().time().seconds() as f64;
    assert_eq!(
        value("hopthu_last_applied_commit_timestamp_seconds", None),
        t
    );
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "hopthu_cycle_duration_seconds_count"
                || s.metric == "hopthu_cycle_duration_seconds")
    );
    let (_, status) = s.get("/status").unwrap();
    let v: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(v["lastAppliedCommit"], commit.to_string());
    assert_eq!(v["lastResult"], "applied");
    assert_eq!(v["ready"], true);
    assert!(v["lastError"].is_null());
    // No secret in what the endpoints show.
    let password = w.slapd.as_ref().unwrap().service_password();
    assert!(!status.contains(password) && !metrics.contains(password));
    assert!(s.terminate().success());
}

#[test]
fn sigterm_lets_the_cycle_finish_and_exits_zero() {
    let w = World::new(true);
    let people: Vec<(String, String)> = (0..400)
        .map(|i| {
            (
                format!("p{i}"),
                format!("Nguyễn Văn An{}", "h".repeat(i % 3)),
            )
        })
        .collect();
    let mut text = agency(&[]).replace("people: []\n", "people:\n");
    for (i, (id, _)) in people.iter().enumerate() {
        text.push_str(&format!(
            "  - id: {id}\n    name: Lò Văn Ún\n    address: un{i}x.skhcn\n    legacy: true\n"
        ));
    }
    w.git.write("agencies/skhcn.yaml", &text);
    w.git.commit("Bốn trăm hộp thư");
    let s = Server::start(&w, &["--interval", "1h"]);
    // Stop as soon as the first mailboxes appear, mid-cycle.
    s.wait_for(|| !w.mailboxes().is_empty());
    let status = s.terminate();
    assert!(status.success(), "{status:?}");
    // The state file is whole, and says whether the commit was applied.
    let st = w.state_json();
    assert!(st["cycles"].as_u64().unwrap() >= 1);
    let log = std::fs::read_to_string(w.tmp.path().join("run.log")).unwrap();
    assert!(log.contains("stopped"), "{log}");
    // Whatever was not done, the next run does.
    assert_eq!(w.once(&[]).status.code(), Some(0));
    assert_eq!(w.mailboxes().len(), 402);
}

#[test]
fn a_run_killed_mid_cycle_is_completed_after_a_restart() {
    let w = World::new(true);
    let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("directory");
    copy_dir(&reference, &w.git.dir);
    w.git.commit("Danh bạ Sơn La");
    let s = w.slapd.as_ref().unwrap();
    let mut args = w.args(&[]);
    args.push("--once".into());
    let mut child = Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args(&args)
        .env("HOPTHU_TODAY", "2026-12-03")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let count = || {
        s.ldapsearch("(hopthuKey=*)", &["dn"])
            .matches("dn: ")
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while count() == 0 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let partial = count();
    assert!(partial > 0 && partial < 2780, "{partial}");
    let o = w.once(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(count(), 2780, "the partial run had made {partial}");
    let st = w.state_json();
    assert_eq!(st["lastResult"], "applied");
    // And the next cycle has nothing to do.
    w.once(&[]);
    assert_eq!(w.state_json()["lastResult"], "no-change");
}

#[test]
fn two_runners_never_both_write() {
    let w = World::new(false);
    w.git.write("agencies/skhcn.yaml", &agency(&P[..1]));
    w.git.commit("Sở KH&CN");
    let first = Server::start(&w, &["--interval", "1h"]);
    first.wait_for(|| first.get("/readyz").is_some_and(|(c, _)| c == 200));
    // A second instance on the same directory, with its own state.
    let mut args = w.args(&["--once"]);
    let i = args.iter().position(|a| a == "--state-dir").unwrap();
    args[i + 1] = w.tmp.path().join("state2").display().to_string();
    w.git.write("agencies/skhcn.yaml", &agency(&P[..2]));
    w.git.commit("Thêm một cán bộ");
    let o = Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args(&args)
        .env("HOPTHU_TODAY", "2026-12-03")
        .output()
        .unwrap();
    assert!(text(&o).contains("standby"), "{}", text(&o));
    assert_eq!(w.mailboxes().len(), 3, "the second one wrote nothing");
    assert!(first.terminate().success());
}

#[test]
fn reports_are_posted_to_the_notification_url_without_secrets() {
    let w = World::new(true);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hopthu", listener.local_addr().unwrap());
    let got = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 65536];
        loop {
            let n = s.read(&mut chunk).unwrap_or(0);
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if body.len() >= len {
                    s.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                        .unwrap();
                    return body.to_string();
                }
            }
            if n == 0 {
                return text;
            }
        }
    });
    w.git.write("agencies/skhcn.yaml", &agency(&P[..1]));
    let commit = w.git.commit("Sở KH&CN");
    let o = w.once(&["--notify-url", &url]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let body = got.join().unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["commit"]["id"], commit.to_string());
    assert_eq!(v["result"], "applied");
    assert_eq!(v["outcomes"].as_array().unwrap().len(), 3);
    let creds = std::fs::read_to_string(w.state().join("credentials.tsv")).unwrap();
    for line in creds.lines() {
        let password = line.split('\t').nth(1).unwrap();
        assert!(!body.contains(password));
        assert!(!text(&o).contains(password));
    }
    assert!(!body.contains(w.slapd.as_ref().unwrap().service_password()));
}

#[test]
fn validate_plan_and_apply_read_a_git_revision() {
    let w = World::new(false);
    w.git.write("agencies/skhcn.yaml", &agency(&P[..1]));
    let one = w.git.commit("Sở KH&CN");
    w.git.write("agencies/skhcn.yaml", &agency(&P[..3]));
    w.git.commit("Thêm hai cán bộ");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hopthu"))
            .args(args)
            .current_dir(w.tmp.path())
            .env("HOPTHU_TODAY", "2026-12-03")
            .env("XDG_CACHE_HOME", w.tmp.path().join("cache"))
            .output()
            .unwrap()
    };
    let url = w.git.url();
    let o = run(&["validate", "--git", &url, "--rev", &one.to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("3 mailbox"), "{}", text(&o));
    let live = format!("ldif:{}", w.tmp.path().join("live.ldif").display());
    let o = run(&[
        "plan", "--git", &url, "--rev", "main", "--live", &live, "--format", "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["summary"]["create"], 5);
    let o = run(&[
        "apply",
        "--git",
        &url,
        "--rev",
        &one.to_string(),
        "--live",
        &live,
        "--yes",
        "--credentials-out",
        "c.tsv",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let log = std::fs::read_to_string(w.tmp.path().join(".hopthu/audit.jsonl")).unwrap();
    assert!(
        log.contains(&one.to_string()),
        "the audit log names the commit"
    );
    let o = run(&["validate", "--git", &url, "--rev", "no-such-branch"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no-such-branch"), "{}", text(&o));
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
fn an_action_that_keeps_failing_ends_stalled_not_in_a_hot_loop() {
    let w = World::new(true);
    let s = w.slapd.as_ref().unwrap();
    // Someone else's entry where one mailbox must go, with another address:
    // the create is refused by the server every time.
    s.ldapadd(&format!(
        "dn: uid=hatt.skhcn,{}\nobjectClass: account\nuid: hatt.skhcn\n",
        s.people_dn()
    ));
    w.git.write("agencies/skhcn.yaml", &agency(&P[..2]));
    w.git.commit("Sở KH&CN");
    for round in 1..=5 {
        let o = w.once(&[]);
        assert_eq!(o.status.code(), Some(1), "round {round}: {}", text(&o));
        let st = w.state_json();
        assert_eq!(st["consecutiveFailures"], round);
        assert_eq!(st["stalled"], round >= 5, "round {round}");
        assert_eq!(st["lastResult"], "partly-applied");
        assert!(st["lastAppliedCommit"].is_null(), "never wholly applied");
    }
    // Only the first report of the same failure is written, not one per round.
    let partly: Vec<_> = w
        .reports()
        .into_iter()
        .filter(|r| r["result"] == "partly-applied")
        .collect();
    assert_eq!(partly.len(), 1);
    assert!(
        partly[0]["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["error"].as_str().is_some_and(|e| e.contains("68")))
    );
}

#[test]
fn paths_in_the_configuration_file_are_relative_to_it() {
    let w = World::new(false);
    w.git.write("agencies/skhcn.yaml", &agency(&P[..1]));
    w.git.commit("Sở KH&CN");
    let etc = w.tmp.path().join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(
        etc.join("run.yaml"),
        "git:\n  url: ../repo\nlive:\n  url: ldif:live.ldif\nstateDir: state\n",
    )
    .unwrap();
    // Run from somewhere else entirely.
    let o = Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args([
            "run",
            "--config",
            etc.join("run.yaml").to_str().unwrap(),
            "--once",
        ])
        .current_dir("/")
        .env("HOPTHU_TODAY", "2026-12-03")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(etc.join("live.ldif").exists());
    assert!(etc.join("live.ldif.lock").exists());
    assert!(etc.join("state/state.json").exists());
    // A repository folder that is not there is named as such.
    std::fs::write(
        etc.join("run.yaml"),
        "git:\n  url: ../no-such-repo\nlive:\n  url: ldif:live.ldif\nstateDir: state\n",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args([
            "run",
            "--config",
            etc.join("run.yaml").to_str().unwrap(),
            "--once",
            "--lang",
            "en",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("no-such-repo cannot be read"),
        "{}",
        text(&o)
    );
    // An ldif: file in a folder that is not there.
    let o = Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args([
            "plan",
            "--git",
            &w.git.url(),
            "--live",
            "ldif:/nonexistent/dir/live.ldif",
        ])
        .env("XDG_CACHE_HOME", w.tmp.path().join("cache"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("the folder /nonexistent/dir does not exist"),
        "{}",
        text(&o)
    );
}

/// A little HTTP server on loopback that answers every request with
/// `answer` and keeps the requests it saw.
fn http_server(answer: &'static str) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            s.set_read_timeout(Some(Duration::from_secs(5))).ok();
            let mut buf = vec![0u8; 65536];
            let n = s.read(&mut buf).unwrap_or(0);
            keep.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf[..n]).to_string());
            let _ = s.write_all(answer.as_bytes());
        }
    });
    (format!("127.0.0.1:{}", addr.port()), seen)
}

#[test]
fn a_git_token_never_leaves_for_another_host_or_in_clear() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("token"), "glpat-test-token-5c1e").unwrap();
    // A server that sends the client to another host.
    let (other, seen_other) = http_server(
        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    let redirect: &'static str = Box::leak(
        format!(
            "HTTP/1.1 302 Found\r\nLocation: http://localhost:{}/x.git/info/refs?service=git-upload-pack\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            other.split(':').nth(1).unwrap()
        )
        .into_boxed_str(),
    );
    let (first, _) = http_server(redirect);
    // And a plain-http server that asks for credentials.
    let (plain, seen_plain) = http_server(
        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    for host in [&first, &plain] {
        let o = Command::new(env!("CARGO_BIN_EXE_hopthu"))
            .args(["validate", "--git", &format!("http://{host}/x.git")])
            .arg("--git-token-file")
            .arg(tmp.path().join("token"))
            .env("XDG_CACHE_HOME", tmp.path().join("cache"))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(!text(&o).contains("glpat-test-token"), "{}", text(&o));
    }
    for req in seen_other
        .lock()
        .unwrap()
        .iter()
        .chain(seen_plain.lock().unwrap().iter())
    {
        assert!(!req.to_ascii_lowercase().contains("authorization"), "{req}");
    }
}
