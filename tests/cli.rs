//! The `hopthu` command as people and pipelines call it: exit codes, output
//! formats, languages.

use std::path::Path;
use std::process::{Command, Output};

fn hopthu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args(args)
        .env("HOPTHU_TODAY", "2026-12-03")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

const SETTINGS: &str = "apiVersion: hopthu/v1\ndomain: sonla.gov.vn\n";
const AGENCY: &str = "apiVersion: hopthu/v1\nkind: Agency\ncode: \"S01\"\nabbr: skhcn\ntype: department\nname: Sở Khoa học và Công nghệ\npeople:\n  - id: p1\n    name: Nguyễn Văn An\n";

fn repo(agency: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hopthu.yaml"), SETTINGS).unwrap();
    std::fs::create_dir(dir.path().join("agencies")).unwrap();
    std::fs::write(dir.path().join("agencies/skhcn.yaml"), agency).unwrap();
    dir
}

fn path(d: &tempfile::TempDir) -> &str {
    d.path().to_str().unwrap()
}

#[test]
fn a_valid_repository_exits_zero_with_a_summary() {
    let d = repo(AGENCY);
    let o = hopthu(&["validate", path(&d)]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(
        stdout(&o).trim(),
        "Hợp lệ: 1 cơ quan, 2 hộp thư; 0 cảnh báo."
    );
}

#[test]
fn an_invalid_repository_exits_one_with_located_errors() {
    let d = repo(&AGENCY.replace("name: Nguyễn", "nme: Nguyễn"));
    let o = hopthu(&["validate", path(&d), "--lang", "en"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.starts_with(
            "agencies/skhcn.yaml:9:5: error[E020]: unknown key `nme`; did you mean `name`?"
        ),
        "{out}"
    );
    assert!(
        out.contains("9 |     nme: Nguyễn Văn An\n  |     ^^^\n"),
        "{out}"
    );
}

#[test]
fn a_missing_root_or_an_unreadable_tree_exits_two() {
    let o = hopthu(&["validate", "/nonexistent/repository"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/repository"));
    let d = repo(AGENCY);
    std::fs::remove_dir_all(d.path().join("agencies")).unwrap();
    std::fs::write(d.path().join("agencies"), "not a folder").unwrap();
    let o = hopthu(&["validate", path(&d)]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let o = hopthu(&["validate", "--format", "xml", path(&d)]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn json_output_has_the_documented_shape() {
    let d = repo(&AGENCY.replace("Nguyễn Văn An", "Nguyễn Văn An\n    address: x.skhcn"));
    let o = hopthu(&["validate", "--format", "json", path(&d)]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"], 1);
    assert_eq!(v["warnings"], 0);
    let d0 = &v["diagnostics"][0];
    assert_eq!(d0["severity"], "error");
    assert_eq!(d0["code"], "E040");
    assert_eq!(d0["file"], "agencies/skhcn.yaml");
    assert_eq!(d0["line"], 10);
    assert_eq!(d0["column"], 14);
    assert_eq!(d0["pointer"], "/people/0/address");
    assert!(d0["message"].as_str().unwrap().contains("annv.skhcn"));
}

#[test]
fn github_output_is_workflow_annotations() {
    let d = repo(&AGENCY.replace("name: Nguyễn", "nme: Nguyễn"));
    let o = hopthu(&["validate", "--format", "github", "--lang", "en", path(&d)]);
    let out = stdout(&o);
    assert!(
        out.starts_with("::error file=agencies/skhcn.yaml,line=9,col=5,title=E020::unknown key `nme`; did you mean `name`?"),
        "{out}"
    );
}

#[test]
fn suggest_prints_the_address_first_and_json_on_request() {
    let d = repo(AGENCY);
    let o = hopthu(&[
        "suggest",
        "--agency",
        "skhcn",
        "--root",
        path(&d),
        "Trần Thị Hà",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o).lines().next(), Some("hatt.skhcn@sonla.gov.vn"));
    let o = hopthu(&[
        "suggest",
        "--agency",
        "skhcn",
        "--root",
        path(&d),
        "--format",
        "json",
        "Ngô Văn An",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["address"], "annv.skhcn@sonla.gov.vn");
    assert_eq!(v["taken"], true);
    let alts = v["alternatives"].as_array().unwrap();
    assert!(!alts.is_empty());
    for a in alts {
        let a = a.as_str().unwrap();
        assert!(
            a.starts_with("an")
                && a.ends_with(".skhcn@sonla.gov.vn")
                && a != "annv.skhcn@sonla.gov.vn",
            "{a}"
        );
    }
    let o = hopthu(&[
        "suggest",
        "--agency",
        "snv",
        "--root",
        path(&d),
        "--given",
        "H'Hen",
        "--format",
        "json",
        "H'Hen Niê",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["address"], "hhenn.snv@sonla.gov.vn");
    assert_eq!(v["taken"], false);
    assert_eq!(v["alternatives"], serde_json::json!([]));
}

#[test]
fn suggest_refuses_a_name_it_cannot_fold() {
    let d = repo(AGENCY);
    let o = hopthu(&[
        "suggest",
        "--agency",
        "skhcn",
        "--root",
        path(&d),
        "N\u{443}yen Van An",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("U+0443"));
}

#[test]
fn suggest_refuses_an_invisible_character_naming_its_position() {
    let d = repo(AGENCY);
    let o = hopthu(&[
        "suggest",
        "--agency",
        "skhcn",
        "--root",
        path(&d),
        "--lang",
        "en",
        "Nguyễn\u{200B} Văn An",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("U+200B") && err.contains("position 7"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn suggest_warns_about_an_agency_the_repository_does_not_have() {
    let d = repo(&AGENCY.replace("abbr: skhcn", "abbr: skhcn\nformerAbbrs: [skhdt]"));
    // A typo: the nearest abbreviation is named, the address is still given.
    let o = hopthu(&[
        "suggest",
        "--agency",
        "skhc",
        "--root",
        path(&d),
        "--lang",
        "en",
        "Lò Văn Hùng",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o).lines().next(), Some("hunglv.skhc@sonla.gov.vn"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("warning") && err.contains("did you mean: skhcn"),
        "{err}"
    );
    // A former abbreviation: the current one is named.
    let o = hopthu(&[
        "suggest",
        "--agency",
        "skhdt",
        "--root",
        path(&d),
        "Lò Văn Hùng",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cảnh báo") && err.contains("--agency skhcn"),
        "{err}"
    );
}

#[test]
fn schema_prints_both_schemas_or_one() {
    let o = hopthu(&["schema"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["agency.schema.json"]["title"], "Agency");
    assert_eq!(v["settings.schema.json"]["title"], "hopthu.yaml");
    let o = hopthu(&["schema", "agency"]);
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/agency.schema.json"),
    )
    .unwrap();
    assert_eq!(stdout(&o), committed);
}

#[test]
fn warnings_alone_exit_zero() {
    let d = repo(&AGENCY.replace(
        "name: Nguyễn Văn An\n",
        "name: Nguyễn Văn An\n    address: an.nguyen\n    legacy: true\n",
    ));
    let o = hopthu(&["validate", path(&d), "--lang", "en"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(out.contains("warning[W040]"), "{out}");
}

#[test]
fn suggest_says_when_the_repository_has_errors() {
    let d = repo(&AGENCY.replace("name: Nguyễn Văn An", "nme: Nguyễn Văn An"));
    let o = hopthu(&[
        "suggest",
        "--agency",
        "skhcn",
        "--root",
        path(&d),
        "--lang",
        "en",
        "Lò Văn Hùng",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o).lines().next(), Some("hunglv.skhcn@sonla.gov.vn"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("1 error(s)") && err.contains("hopthu validate"),
        "{err}"
    );
}

#[test]
fn the_examples_are_what_the_readme_says() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let o = hopthu(&["validate", root.join("tohieu").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = hopthu(&[
        "validate",
        root.join("broken").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let codes: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["E020", "E046", "E047", "E030", "E041"]);
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `args`, then `--lang en` when `english`.
fn in_lang(args: &[&str], english: bool) -> Output {
    let mut all = args.to_vec();
    if english {
        all.extend(["--lang", "en"]);
    }
    hopthu(&all)
}

#[test]
fn errors_and_logs_are_vietnamese_by_default_and_english_with_lang_en() {
    let d = repo(AGENCY);
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().to_str().unwrap();
    let live = format!("ldif:{t}/live.ldif");
    let state = format!("{t}/state");
    for english in [false, true] {
        let pick = |vi: &'static str, en: &'static str| if english { en } else { vi };

        // A repository folder that is not there.
        let o = in_lang(&["validate", "/nonexistent/repository"], english);
        assert_eq!(o.status.code(), Some(2));
        let want = pick(
            "hopthu: không đọc được kho /nonexistent/repository: ",
            "hopthu: cannot read the repository /nonexistent/repository: ",
        );
        assert!(stderr(&o).starts_with(want), "{}", stderr(&o));

        // A directory server that does not answer.
        let o = in_lang(&["plan", path(&d), "--live", "ldap://127.0.0.1:1"], english);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let want = pick(
            "không kết nối được tới ldap://127.0.0.1:1",
            "cannot connect to ldap://127.0.0.1:1",
        );
        assert!(stderr(&o).contains(want), "{}", stderr(&o));

        // A plan that creates mailboxes, and no file for their passwords.
        let o = in_lang(
            &[
                "apply",
                path(&d),
                "--live",
                &live,
                "--yes",
                "--state-dir",
                &state,
            ],
            english,
        );
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let want = pick(
            "hopthu: kế hoạch này tạo mới hoặc khôi phục 2 hộp thư: hãy chỉ định tệp nhận mật khẩu mới của chúng bằng --credentials-out FILE; chưa ghi gì",
            "hopthu: this plan creates or restores 2 mailbox(es): name a file for their new passwords with --credentials-out FILE; nothing was written",
        );
        assert!(stderr(&o).contains(want), "{}", stderr(&o));
        assert!(!tmp.path().join("live.ldif").exists(), "nothing written");

        // `hopthu run` against a repository that does not exist: its log.
        let o = in_lang(
            &[
                "run",
                "--git",
                &format!("{t}/no-such-repo.git"),
                "--live",
                &live,
                "--state-dir",
                &state,
                "--once",
            ],
            english,
        );
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let want = pick(
            "hopthu: không tải được kho: ",
            "hopthu: cannot fetch the repository: ",
        );
        assert!(stderr(&o).contains(want), "{}", stderr(&o));
        assert!(
            stderr(&o).contains(pick("; chưa áp dụng gì", "; nothing applied")),
            "{}",
            stderr(&o)
        );
    }

    // Without --lang, `language: en` in hopthu.yaml decides once the
    // repository is read; --lang wins over it.
    std::fs::write(
        d.path().join("hopthu.yaml"),
        format!("{SETTINGS}language: en\n"),
    )
    .unwrap();
    let o = hopthu(&["plan", path(&d), "--live", "ldap://127.0.0.1:1"]);
    assert!(
        stderr(&o).contains("cannot connect to ldap://127.0.0.1:1"),
        "{}",
        stderr(&o)
    );
    let o = hopthu(&[
        "plan",
        path(&d),
        "--live",
        "ldap://127.0.0.1:1",
        "--lang",
        "vi",
    ]);
    assert!(
        stderr(&o).contains("không kết nối được tới ldap://127.0.0.1:1"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn suggest_refuses_a_digit_in_a_name_naming_its_position() {
    let d = repo(AGENCY);
    for (lang, want) in [
        ("vi", "tên chứa ký tự `3` (U+0033) ở vị trí 8"),
        ("en", "the name holds `3` (U+0033) at position 8"),
    ] {
        let o = hopthu(&[
            "suggest",
            "--agency",
            "skhcn",
            "--root",
            path(&d),
            "--lang",
            lang,
            "Lò Văn 3",
        ]);
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "{err}");
        assert!(o.stdout.is_empty(), "{}", stdout(&o));
    }
    let o = hopthu(&[
        "suggest",
        "--agency",
        "skhcn",
        "--domain",
        "sonla.gov.vn",
        "--given",
        "Hen2",
        "Hen2 Niê",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty(), "{}", stdout(&o));
}

#[test]
fn a_policy_value_out_of_range_fails_validate_plan_and_audit_alike() {
    for (key, value) in [
        ("renameGraceDays", "4294967295"),
        ("inactiveLockDays", "4294967296"),
        ("maxDeletesPerRun", "4294967296"),
    ] {
        let d = repo(AGENCY);
        let settings = format!("{SETTINGS}policy:\n  {key}: {value}\n");
        std::fs::write(d.path().join("hopthu.yaml"), settings).unwrap();
        let want = format!(
            "hopthu.yaml:4:{}: error[E025]: `{key}` must be from",
            key.len() + 5
        );
        let live = format!("ldif:{}", d.path().join("live.ldif").display());
        for args in [
            vec!["validate", path(&d)],
            vec!["plan", path(&d), "--live", &live],
            vec!["audit", path(&d), "--live", &live],
        ] {
            let mut args = args.clone();
            args.extend(["--lang", "en"]);
            let o = hopthu(&args);
            assert_eq!(o.status.code(), Some(1), "{args:?}");
            let all = format!("{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
            assert!(all.contains(&want), "{args:?}: {all}");
            assert!(!all.contains("panicked"), "{all}");
        }
    }
}
