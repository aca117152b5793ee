//! `hopthu codeowners`: CODEOWNERS written from `reviewers` in
//! hopthu.yaml, agencies found by the file that declares them; an agency
//! the mapping names that the repository does not have is a validation
//! error; `--check` finds a file that no longer matches.

use std::path::Path;
use std::process::{Command, Output};

fn hopthu(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args(args)
        .current_dir(cwd)
        .env("HOPTHU_TODAY", "2026-12-01")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn all(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const SETTINGS: &str = "apiVersion: hopthu/v1
domain: sonla.gov.vn
language: vi
reviewers:
  default: [\"@sonla/ttcntt\"]
  agencies:
    skhcn: [\"@nguyenvana\", \"@sonla/skhcn\"]
    \"03646\": [vanthu.tohieu@sonla.gov.vn, \"@sonla/ttcntt\"]
";

const SKHCN: &str = "apiVersion: hopthu/v1
kind: Agency
code: SL-SKHCN
abbr: skhcn
type: department
name: Sở Khoa học và Công nghệ
formerAbbrs: [stttt]
people:
  - id: p1
    name: Nguyễn Văn An
";

const TOHIEU: &str = "apiVersion: hopthu/v1
kind: Agency
code: \"03646\"
abbr: tohieu
type: ward
name: Phường Tô Hiệu
";

const SNV: &str = "apiVersion: hopthu/v1
kind: Agency
code: SL-SNV
abbr: snv
type: department
name: Sở Nội vụ
";

fn repo(root: &Path, settings: &str) {
    std::fs::create_dir_all(root.join("agencies/departments")).unwrap();
    std::fs::create_dir_all(root.join("agencies/communes")).unwrap();
    std::fs::write(root.join("hopthu.yaml"), settings).unwrap();
    std::fs::write(root.join("agencies/departments/skhcn.yaml"), SKHCN).unwrap();
    std::fs::write(root.join("agencies/departments/snv.yaml"), SNV).unwrap();
    std::fs::write(root.join("agencies/communes/03646 tohieu.yaml"), TOHIEU).unwrap();
}

#[test]
fn codeowners_maps_each_agency_file_to_its_reviewers() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    repo(&root, SETTINGS);
    let o = hopthu(&["codeowners", "--lang", "en"], &root);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    assert!(
        all(&o)
            .contains("2 agencies with reviewers of their own, 1 reviewed by the default owners"),
        "{}",
        all(&o)
    );
    // The file is in the repository's language (`language: vi`), whatever
    // --lang the messages are in.
    let text = std::fs::read_to_string(root.join("CODEOWNERS")).unwrap();
    assert_eq!(
        text,
        "# CODEOWNERS: ai duyệt thay đổi của từng tệp trong kho hộp thư.
# Tệp này do `hopthu codeowners` viết từ mục `reviewers` của hopthu.yaml:
# hãy sửa mục đó rồi chạy lại `hopthu codeowners`, đừng sửa tệp này.
# (Dòng cuối cùng khớp với một tệp quyết định người duyệt tệp đó.)

* @sonla/ttcntt
/hopthu.yaml @sonla/ttcntt
/schema/ @sonla/ttcntt

# Phường Tô Hiệu (tohieu)
/agencies/communes/03646\\ tohieu.yaml vanthu.tohieu@sonla.gov.vn @sonla/ttcntt

# Sở Khoa học và Công nghệ (skhcn)
/agencies/departments/skhcn.yaml @nguyenvana @sonla/skhcn

# 1 cơ quan khác chưa có người duyệt riêng: người duyệt mặc định duyệt tệp của họ.
"
    );
    let o = hopthu(&["codeowners", "--check"], &root);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    assert!(
        all(&o).contains("CODEOWNERS khớp với hopthu.yaml."),
        "{}",
        all(&o)
    );

    // Gitea reads regular expressions.
    let o = hopthu(&["codeowners", "--flavor", "gitea", "--out", "-"], &root);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    let gitea = String::from_utf8_lossy(&o.stdout);
    for line in [
        ".* @sonla/ttcntt\n",
        "hopthu\\.yaml @sonla/ttcntt\n",
        "schema/.* @sonla/ttcntt\n",
        "agencies/communes/03646\\ tohieu\\.yaml vanthu.tohieu@sonla.gov.vn @sonla/ttcntt\n",
        "agencies/departments/skhcn\\.yaml @nguyenvana @sonla/skhcn\n",
    ] {
        assert!(gitea.contains(line), "missing {line:?} in\n{gitea}");
    }
}

#[test]
fn check_finds_drift_and_a_missing_file() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    repo(&root, SETTINGS);
    let o = hopthu(&["codeowners", "--check", "--lang", "en"], &root);
    assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    assert!(all(&o).contains("CODEOWNERS is missing"), "{}", all(&o));

    assert_eq!(hopthu(&["codeowners"], &root).status.code(), Some(0));
    // A reviewer is added to hopthu.yaml, and CODEOWNERS is not written again.
    let changed = SETTINGS.replace(
        "    skhcn: [\"@nguyenvana\", \"@sonla/skhcn\"]\n",
        "    skhcn: [\"@nguyenvana\", \"@sonla/skhcn\"]\n    snv: [\"@sonla/snv\"]\n",
    );
    std::fs::write(root.join("hopthu.yaml"), changed).unwrap();
    let o = hopthu(&["codeowners", "--check", "--lang", "en"], &root);
    assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    assert!(
        all(&o).contains("CODEOWNERS differs from `reviewers` in hopthu.yaml (from line 16)"),
        "{}",
        all(&o)
    );
    assert_eq!(hopthu(&["codeowners"], &root).status.code(), Some(0));
    let o = hopthu(&["codeowners", "--check"], &root);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    let text = std::fs::read_to_string(root.join("CODEOWNERS")).unwrap();
    assert!(
        text.contains("# Sở Nội vụ (snv)\n/agencies/departments/snv.yaml @sonla/snv\n"),
        "{text}"
    );
}

#[test]
fn the_file_goes_where_the_forge_reads_it_from_the_top_of_the_git_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let top = tmp.path().join("top");
    let root = top.join("directory");
    repo(&root, SETTINGS);
    let o = Command::new("git")
        .args(["init", "-q", "-b", "main"])
        .current_dir(&top)
        .output()
        .unwrap();
    assert!(o.status.success());
    // A CODEOWNERS GitHub already reads in .github/ is the one replaced.
    std::fs::create_dir_all(top.join(".github")).unwrap();
    std::fs::write(top.join(".github/CODEOWNERS"), "* @someone\n").unwrap();
    let o = hopthu(&["codeowners", "directory"], &top);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    assert!(!top.join("CODEOWNERS").exists());
    let text = std::fs::read_to_string(top.join(".github/CODEOWNERS")).unwrap();
    assert!(text.contains("\n* @sonla/ttcntt\n"), "{text}");
    assert!(
        text.contains("\n/directory/hopthu.yaml @sonla/ttcntt\n/directory/schema/ @sonla/ttcntt\n"),
        "{text}"
    );
    assert!(
        text.contains("\n/directory/agencies/departments/skhcn.yaml @nguyenvana @sonla/skhcn\n"),
        "{text}"
    );
    // GitLab's first place is the top folder.
    let o = hopthu(&["codeowners", "--flavor", "gitlab"], &root);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
    assert!(top.join("CODEOWNERS").is_file());
}

#[test]
fn an_agency_the_repository_does_not_have_is_an_error_with_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let settings = SETTINGS.replace(
        "  agencies:\n",
        "  agencies:\n    skhcm: [\"@x\"]\n    stttt: [\"@y\"]\n    sxyz: [\"@z\"]\n    snv: [nguyenvana]\n",
    );
    repo(&root, &settings);
    let line = |needle: &str| settings.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let o = hopthu(&["validate", "--lang", "en"], &root);
    assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    let out = all(&o);
    for expected in [
        format!(
            "hopthu.yaml:{}:5: error[E055]: `reviewers.agencies` names `skhcm`, which is no agency of the repository",
            line("skhcm")
        ),
        "= hint: did you mean `skhcn`?".to_string(),
        format!(
            "hopthu.yaml:{}:5: error[E055]: `reviewers.agencies` names `stttt`",
            line("stttt")
        ),
        "= hint: this is a former abbreviation; the agency is now `skhcn`".to_string(),
        format!("hopthu.yaml:{}:5: error[E055]", line("sxyz")),
        "hint: use the abbreviation (`skhcn`) or the code (`\"03646\"`) of an agency under `agencies/`"
            .to_string(),
        format!(
            "hopthu.yaml:{}:11: error[E024]: `reviewers` has the wrong form: `nguyenvana`",
            line("nguyenvana]")
        ),
        "hint: write `@user`, `@org/team` or an e-mail address".to_string(),
    ] {
        assert!(out.contains(&expected), "missing {expected:?} in\n{out}");
    }
    // In Vietnamese by default.
    let out = all(&hopthu(&["validate"], &root));
    assert!(
        out.contains("lỗi[E055]: `reviewers.agencies` nêu cơ quan `skhcm`, không có trong kho"),
        "{out}"
    );
    // And codeowners writes nothing for an invalid repository.
    let o = hopthu(&["codeowners"], &root);
    assert_eq!(o.status.code(), Some(1));
    assert!(!root.join("CODEOWNERS").exists());
}

#[test]
fn without_reviewers_there_is_nothing_to_write() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    repo(&root, "apiVersion: hopthu/v1\ndomain: sonla.gov.vn\n");
    let o = hopthu(&["codeowners", "--lang", "en"], &root);
    assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    assert!(
        all(&o).contains("hopthu.yaml has no `reviewers`"),
        "{}",
        all(&o)
    );
    assert!(!root.join("CODEOWNERS").exists());
}

#[test]
fn a_file_among_the_agency_files_is_refused_and_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    repo(root, SETTINGS);
    let o = hopthu(
        &[
            "codeowners",
            ".",
            "--out",
            "agencies/CODEOWNERS",
            "--lang",
            "en",
        ],
        root,
    );
    assert_eq!(o.status.code(), Some(2), "{}", all(&o));
    assert!(
        all(&o).contains("inside the repository's agencies/ folder"),
        "{}",
        all(&o)
    );
    assert!(!root.join("agencies/CODEOWNERS").exists());
    // Nor a report.
    let o = hopthu(&["report", ".", "--out", "agencies/r.md"], root);
    assert_eq!(o.status.code(), Some(2), "{}", all(&o));
    assert!(
        all(&o).contains("nằm trong thư mục agencies/"),
        "{}",
        all(&o)
    );
    assert!(!root.join("agencies/r.md").exists());
    let o = hopthu(&["validate", "."], root);
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
}
