//! `hopthu diff`: what a pull request asks for, between two revisions of a
//! real git repository made with the `git` command, without the live
//! directory: new, renamed, locked, unlocked, revoked and updated
//! mailboxes, the head's validation results, the work tree and the index
//! as heads, and revisions that do not exist.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TODAY: &str = "2026-12-01";

fn hopthu(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args(args)
        .current_dir(cwd)
        .env("HOPTHU_TODAY", TODAY)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn all(o: &Output) -> String {
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
    assert!(o.status.success(), "git {args:?}: {}", all(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const SETTINGS: &str = "apiVersion: hopthu/v1
domain: sonla.gov.vn
language: vi
policy:
  renameGraceDays: 90
";

const BASE: &str = "apiVersion: hopthu/v1
kind: Agency
code: S01
abbr: skhcn
type: department
name: Sở Khoa học và Công nghệ
units:
  - code: vp
    abbr: vp
    name: Văn phòng
people:
  - id: p1
    name: Nguyễn Văn An
    title: Phó Giám đốc
  - id: p2
    name: Trần Thị Hà
  - id: p3
    name: Lò Văn Minh
    status: locked
    lock: {reason: inactive, since: 2026-10-01}
  - id: p4
    name: Hoàng Thị Lan
  - id: p5
    name: Lê Văn Bình
";

/// Every kind of change at once: p1's title, p2's name (and so her
/// address), p3 restored, p4 locked on request, p5 gone, p6 new.
const HEAD: &str = "apiVersion: hopthu/v1
kind: Agency
code: S01
abbr: skhcn
type: department
name: Sở Khoa học và Công nghệ
units:
  - code: vp
    abbr: vp
    name: Văn phòng
people:
  - id: p1
    name: Nguyễn Văn An
    title: Giám đốc
  - id: p2
    name: Trần Thị Hạnh
  - id: p3
    name: Lò Văn Minh
  - id: p4
    name: Hoàng Thị Lan
    status: locked
    lock: {reason: requested, since: 2026-11-20, note: nghỉ thai sản}
  - id: p6
    name: Đặng Văn Cường
    unit: vp
";

struct Repo {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Repo {
    /// A repository whose `main` holds BASE.
    fn new() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("repo");
        std::fs::create_dir_all(dir.join("agencies")).unwrap();
        git(&dir, &["init", "-q", "-b", "main"]);
        let repo = Repo { _tmp: tmp, dir };
        repo.write("hopthu.yaml", SETTINGS);
        repo.write("agencies/skhcn.yaml", BASE);
        repo.commit("Sở Khoa học và Công nghệ");
        repo
    }
    fn write(&self, path: &str, text: &str) {
        let p = self.dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    fn commit(&self, message: &str) {
        git(&self.dir, &["add", "-A"]);
        git(&self.dir, &["commit", "-q", "-m", message]);
    }
    /// A branch `request` off main with `agencies/skhcn.yaml` replaced.
    fn request(&self, agency: &str) {
        git(&self.dir, &["checkout", "-q", "-b", "request"]);
        self.write("agencies/skhcn.yaml", agency);
        self.commit("Yêu cầu thay đổi hộp thư");
    }
    fn diff(&self, args: &[&str]) -> Output {
        let mut all = vec!["diff"];
        all.extend_from_slice(args);
        hopthu(&all, &self.dir)
    }
}

/// The line of `text` holding `needle` (1-based).
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn every_kind_of_change_is_listed_in_the_terminal_revocations_first() {
    let repo = Repo::new();
    repo.request(HEAD);
    let o = repo.diff(&["--base", "main"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    assert!(out.starts_with("So sánh main ("), "{out}");
    let revoked = "⚠ thu hồi   binhlv.skhcn@sonla.gov.vn  Lê Văn Bình, skhcn  (person/p5)";
    let created = "+ tạo mới   cuongdv.skhcn@sonla.gov.vn  Đặng Văn Cường, skhcn  (person/p6)";
    let renamed = "~ đổi tên   hanhtt.skhcn@sonla.gov.vn ← hatt.skhcn@sonla.gov.vn  Trần Thị Hạnh, skhcn  (person/p2)";
    let locked = "! khóa      lanht.skhcn@sonla.gov.vn  Hoàng Thị Lan, skhcn  (person/p4)";
    let unlocked = "~ mở khóa   minhlv.skhcn@sonla.gov.vn  Lò Văn Minh, skhcn  (person/p3)";
    let updated = "~ cập nhật  annv.skhcn@sonla.gov.vn  Nguyễn Văn An, skhcn  (person/p1)";
    let at = |line: &str| {
        out.find(line)
            .unwrap_or_else(|| panic!("missing {line:?} in\n{out}"))
    };
    assert!(at(revoked) < at(created), "revocations come first:\n{out}");
    assert!(at(created) < at(renamed) && at(renamed) < at(locked));
    assert!(at(locked) < at(unlocked) && at(unlocked) < at(updated));
    assert!(
        out.contains("hatt.skhcn@sonla.gov.vn vẫn nhận thư thêm 90 ngày (policy.renameGraceDays)"),
        "{out}"
    );
    assert!(
        out.contains("requested (theo đề nghị), từ 2026-11-20"),
        "{out}"
    );
    assert!(
        out.contains("đã khóa vì inactive (không sử dụng), từ 2026-10-01"),
        "{out}"
    );
    assert!(
        out.contains("chức vụ: \"Phó Giám đốc\" → \"Giám đốc\""),
        "{out}"
    );
    // The rename is also an update of the name it comes from.
    assert!(
        out.contains("tên: \"Trần Thị Hà\" → \"Trần Thị Hạnh\""),
        "{out}"
    );
    assert!(
        out.contains(
            "Yêu cầu: thu hồi 1, tạo mới 1, đổi tên 1, khóa 1, mở khóa 1, cập nhật 2. Bản mới: hợp lệ, 0 cảnh báo."
        ),
        "{out}"
    );

    // The same in English, and the head given explicitly.
    let o = repo.diff(&["--base", "main", "--head", "request", "--lang", "en"]);
    let en = stdout(&o);
    assert_eq!(o.status.code(), Some(0));
    assert!(en.starts_with("Comparing main ("), "{en}");
    assert!(
        en.contains("⚠ revoked   binhlv.skhcn@sonla.gov.vn  Lê Văn Bình, skhcn  (person/p5)"),
        "{en}"
    );
    assert!(
        en.contains(
            "hatt.skhcn@sonla.gov.vn keeps delivering for 90 days (policy.renameGraceDays)"
        ),
        "{en}"
    );
    assert!(
        en.contains(
            "Changes: 1 revoked, 1 new, 1 renamed, 1 locked, 1 unlocked, 2 updated. Head: valid, 0 warning(s)."
        ),
        "{en}"
    );
}

#[test]
fn markdown_is_a_pull_request_comment_with_a_table_per_kind() {
    let repo = Repo::new();
    repo.request(HEAD);
    let o = repo.diff(&["--base", "main", "--format", "markdown"]);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    let md = stdout(&o);
    assert!(
        md.starts_with("### hopthu: thay đổi hộp thư trong yêu cầu này\n"),
        "{md}"
    );
    assert!(md.contains("So sánh `main ("), "{md}");
    assert!(
        md.contains(
            "**⚠️ thu hồi 1** · tạo mới 1 · đổi tên 1 · khóa 1 · mở khóa 1 · cập nhật 2 · ✅ hợp lệ, 0 cảnh báo"
        ),
        "{md}"
    );
    for row in [
        "| `binhlv.skhcn@sonla.gov.vn` | Lê Văn Bình | `skhcn` | `person/p5` |",
        "| `cuongdv.skhcn@sonla.gov.vn` | Đặng Văn Cường | `skhcn` |",
        "| `hatt.skhcn@sonla.gov.vn` → `hanhtt.skhcn@sonla.gov.vn` | Trần Thị Hạnh | `skhcn` | nhận thư thêm 90 ngày |",
        "| `lanht.skhcn@sonla.gov.vn` | Hoàng Thị Lan | `skhcn` | requested (theo đề nghị) | 2026-11-20 |",
        "| `minhlv.skhcn@sonla.gov.vn` | Lò Văn Minh | `skhcn` | inactive (không sử dụng) | 2026-10-01 |",
        "| `annv.skhcn@sonla.gov.vn` | Nguyễn Văn An | `skhcn` | chức vụ: \"Phó Giám đốc\" → \"Giám đốc\" |",
    ] {
        assert!(md.contains(row), "missing {row:?} in\n{md}");
    }
    let heading = |h: &str| {
        md.find(h)
            .unwrap_or_else(|| panic!("missing heading {h:?} in\n{md}"))
    };
    assert!(heading("#### ⚠️ Thu hồi: hộp thư sẽ bị xóa (1)") < heading("#### Tạo mới (1)"));
    assert!(heading("#### Đổi tên (1)") < heading("#### Khóa (1)"));
    assert!(heading("#### Mở khóa (khôi phục) (1)") < heading("#### Cập nhật (2)"));
    assert!(
        md.contains("Địa chỉ cũ vẫn nhận thư thêm 90 ngày (`policy.renameGraceDays`)"),
        "{md}"
    );
    assert!(
        md.contains("#### ✅ Kiểm tra bản mới: hợp lệ, 0 cảnh báo"),
        "{md}"
    );
    assert!(
        !md.contains("<details>"),
        "short lists are not folded:\n{md}"
    );

    // English.
    let md = stdout(&repo.diff(&["--base", "main", "--format", "markdown", "--lang", "en"]));
    assert!(
        md.starts_with("### hopthu: mailbox changes in this request\n"),
        "{md}"
    );
    assert!(
        md.contains("**⚠️ 1 revoked** · 1 new · 1 renamed · 1 locked · 1 unlocked · 2 updated · ✅ valid, 0 warning(s)"),
        "{md}"
    );
    assert!(
        md.contains("| Old → new address | Name | Agency | Old address |"),
        "{md}"
    );
    assert!(md.contains("delivers 90 more days"), "{md}");
}

#[test]
fn json_is_for_machines() {
    let repo = Repo::new();
    repo.request(HEAD);
    let o = repo.diff(&["--base", "main", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["summary"],
        serde_json::json!({"revoked": 1, "created": 1, "renamed": 1, "locked": 1, "unlocked": 1, "updated": 2})
    );
    assert_eq!(v["base"]["rev"], "main");
    assert_eq!(v["base"]["commit"].as_str().unwrap().len(), 40);
    assert_eq!(v["head"]["valid"], true);
    assert_eq!(v["renameGraceDays"], 90);
    assert_eq!(v["revoked"][0]["key"], "person/p5");
    assert_eq!(v["renamed"][0]["from"], "hatt.skhcn@sonla.gov.vn");
    assert_eq!(v["renamed"][0]["address"], "hanhtt.skhcn@sonla.gov.vn");
    assert_eq!(v["locked"][0]["lock"]["reason"], "requested");
    assert_eq!(v["locked"][0]["lock"]["note"], "nghỉ thai sản");
    assert_eq!(v["unlocked"][0]["lock"]["since"], "2026-10-01");
    let p1 = v["updated"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "person/p1")
        .unwrap();
    assert_eq!(
        p1["changes"],
        serde_json::json!([{"field": "title", "from": "Phó Giám đốc", "to": "Giám đốc"}])
    );
    assert_eq!(v["diagnostics"], serde_json::json!([]));
}

#[test]
fn an_invalid_head_lists_its_errors_with_file_and_line_and_exits_1() {
    let repo = Repo::new();
    let broken = HEAD.replace("    name: Đặng Văn Cường", "    nme: Đặng Văn Cường");
    repo.request(&broken);
    let line = line_of(&broken, "nme: Đặng Văn Cường");
    let o = repo.diff(&["--base", "main", "--format", "markdown"]);
    assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    let md = stdout(&o);
    assert!(
        md.contains("❌ không hợp lệ: 1 lỗi, 0 cảnh báo"),
        "the misspelled key, reported once (not as a missing name too):\n{md}"
    );
    let row = format!(
        "| ❌ | `agencies/skhcn.yaml:{line}:5` | E020 | khóa không hợp lệ `nme`; có phải ý bạn là `name`?"
    );
    assert!(md.contains(&row), "missing {row:?} in\n{md}");
    assert!(
        md.contains("bản mới có lỗi: các thay đổi dưới đây chỉ gồm những gì đọc được"),
        "{md}"
    );
    // The errors come before the changes, which are still listed.
    assert!(md.find("#### ❌ Kiểm tra bản mới").unwrap() < md.find("#### Đổi tên (1)").unwrap());
    // p5 is gone from a file with errors: whether it is revoked cannot be
    // told, and it is not listed as revoked.
    assert!(!md.contains("binhlv.skhcn"), "{md}");
    assert!(md.contains("agencies/skhcn.yaml: có lỗi,"), "{md}");

    let o = repo.diff(&["--base", "main", "--lang", "en"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "agencies/skhcn.yaml:{line}:5: error[E020]: unknown key `nme`; did you mean `name`?"
        )),
        "{out}"
    );
    assert!(
        out.contains("Head: invalid: 1 error(s), 0 warning(s)."),
        "{out}"
    );

    // A base that is itself invalid is said so; the head being valid, the
    // exit code is 0.
    git(&repo.dir, &["checkout", "-q", "-b", "fix"]);
    repo.write("agencies/skhcn.yaml", HEAD);
    repo.commit("Sửa lỗi");
    let o = repo.diff(&["--base", "request", "--head", "fix", "--lang", "en"]);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    let out = stdout(&o);
    assert!(
        out.contains("note: the base request (") && out.contains("is itself invalid (1 error(s))"),
        "{out}"
    );
}

#[test]
fn an_unknown_revision_is_named_and_exits_2() {
    let repo = Repo::new();
    let o = repo.diff(&["--base", "no-such-branch"]);
    assert_eq!(o.status.code(), Some(2), "{}", all(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("không tìm thấy phiên bản `no-such-branch` (--base)"),
        "{err}"
    );
    assert!(o.stdout.is_empty());

    let o = repo.diff(&["--base", "main", "--head", "v9", "--lang", "en"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown revision `v9` (--head)"), "{err}");

    // Outside a git repository.
    let plain = tempfile::tempdir().unwrap();
    let o = hopthu(&["diff", "--base", "main", "--lang", "en"], plain.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("is not in a git repository"),
        "{}",
        all(&o)
    );
}

#[test]
fn the_work_tree_and_the_index_are_heads_too() {
    let repo = Repo::new();
    // Nothing committed since: HEAD against main is empty.
    let o = repo.diff(&["--base", "main"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stdout(&o).contains("Không có thay đổi hộp thư nào."),
        "{}",
        stdout(&o)
    );

    // A change staged, another only on disk.
    let staged = BASE.replace("    title: Phó Giám đốc\n", "    title: Giám đốc\n");
    repo.write("agencies/skhcn.yaml", &staged);
    git(&repo.dir, &["add", "agencies/skhcn.yaml"]);
    let on_disk = staged.replace("  - id: p5\n    name: Lê Văn Bình\n", "");
    repo.write("agencies/skhcn.yaml", &on_disk);

    let out = stdout(&repo.diff(&["--base", "HEAD", "--head", "WORKTREE"]));
    assert!(
        out.contains("So sánh HEAD (") && out.contains(") → WORKTREE"),
        "{out}"
    );
    assert!(
        out.contains("(person/p5)") && out.contains("chức vụ:"),
        "{out}"
    );

    let out = stdout(&repo.diff(&["--base", "HEAD", "--head", "INDEX"]));
    assert!(out.contains("chức vụ:"), "{out}");
    assert!(
        !out.contains("(person/p5)"),
        "the index has p5 still:\n{out}"
    );

    // HEAD itself has neither.
    let out = stdout(&repo.diff(&["--base", "main"]));
    assert!(out.contains("Không có thay đổi hộp thư nào."), "{out}");
}

#[test]
fn a_repository_in_a_folder_of_the_git_repository_names_files_from_the_top() {
    let tmp = tempfile::tempdir().unwrap();
    let top = tmp.path().join("top");
    std::fs::create_dir_all(&top).unwrap();
    git(&top, &["init", "-q", "-b", "main"]);
    std::fs::write(top.join("README.md"), "Danh bạ thư công vụ\n").unwrap();
    git(&top, &["add", "-A"]);
    git(&top, &["commit", "-q", "-m", "README"]);
    // The directory arrives in a pull request, with a mistake.
    let dir = top.join("directory");
    std::fs::create_dir_all(dir.join("agencies")).unwrap();
    std::fs::write(dir.join("hopthu.yaml"), SETTINGS).unwrap();
    let broken = BASE.replace("    title: Phó Giám đốc", "    titel: Phó Giám đốc");
    std::fs::write(dir.join("agencies/skhcn.yaml"), &broken).unwrap();
    git(&top, &["add", "-A"]);
    git(&top, &["commit", "-q", "-m", "Danh bạ"]);

    let o = hopthu(
        &[
            "diff",
            "directory",
            "--base",
            "HEAD~1",
            "--format",
            "markdown",
            "--lang",
            "en",
        ],
        &top,
    );
    assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    let md = stdout(&o);
    assert!(
        md.contains("has no repository at this path: every mailbox is new"),
        "{md}"
    );
    let line = line_of(&broken, "titel:");
    assert!(
        md.contains(&format!("`directory/agencies/skhcn.yaml:{line}:5`")),
        "{md}"
    );
    assert!(
        md.contains("#### New (7)"),
        "the agency, its unit and five people:\n{md}"
    );

    // Run from inside the folder, the same.
    let o = hopthu(&["diff", "--base", "HEAD~1", "--format", "json"], &dir);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["base"]["missing"], true);
    assert_eq!(v["created"][0]["file"], "directory/agencies/skhcn.yaml");
}

#[test]
fn an_old_address_another_mailbox_takes_has_no_grace_and_long_lists_fold() {
    let repo = Repo::new();
    // Hà becomes Hạnh; a new Trần Thị Hà takes hatt at once.
    let mut head = BASE.replace("    name: Trần Thị Hà\n", "    name: Trần Thị Hạnh\n");
    head.push_str("  - id: p7\n    name: Trần Thị Hà\n");
    // And 55 new people: the list is folded.
    let middles = ["Văn", "Thị", "Đức", "Minh", "Hữu", "Quang", "Ngọc", "Bá"];
    let givens = ["An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hùng"];
    let mut n = 0;
    'outer: for m in middles {
        for g in givens {
            if n == 55 {
                break 'outer;
            }
            head.push_str(&format!("  - id: n{n}\n    name: Phạm {m} {g}\n"));
            n += 1;
        }
    }
    repo.request(&head);
    let o = repo.diff(&["--base", "main", "--format", "markdown", "--lang", "en"]);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    let md = stdout(&o);
    assert!(
        md.contains("| `hatt.skhcn@sonla.gov.vn` → `hanhtt.skhcn@sonla.gov.vn` | Trần Thị Hạnh | `skhcn` | goes to `person/p7` at once |"),
        "{md}"
    );
    assert!(md.contains("<details><summary>New (56)</summary>"), "{md}");
    assert!(md.contains("</details>"), "{md}");

    let out = stdout(&repo.diff(&["--base", "main", "--lang", "en"]));
    assert!(
        out.contains("hatt.skhcn@sonla.gov.vn goes to person/p7 at once (no grace period)"),
        "{out}"
    );
}

#[test]
fn more_revocations_than_the_policy_allows_are_said_to_be_held() {
    let repo = Repo::new();
    // Every person removed: five revocations, over a limit of 3.
    let settings = format!("{SETTINGS}  maxDeletesPerRun: 3\n");
    git(&repo.dir, &["checkout", "-q", "-b", "request"]);
    repo.write("hopthu.yaml", &settings);
    let head = BASE.split("people:").next().unwrap().to_string() + "people: []\n";
    repo.write("agencies/skhcn.yaml", &head);
    repo.commit("Thu hồi");
    let o = repo.diff(&["--base", "main", "--format", "markdown"]);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    let md = stdout(&o);
    assert!(md.contains("**⚠️ thu hồi 5**"), "{md}");
    assert!(
        md.contains("5 lệnh thu hồi, nhiều hơn policy.maxDeletesPerRun (3)"),
        "{md}"
    );
}
