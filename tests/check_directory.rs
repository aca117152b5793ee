//! `hopthu check-directory`: the server's password policy against
//! hopthu.yaml, on a real slapd with the ppolicy overlay and on an LDIF file.

#[path = "support/slapd.rs"]
mod slapd;

use std::path::Path;
use std::process::{Command, Output};

fn hopthu(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args(args)
        .current_dir(cwd)
        .env("HOPTHU_TODAY", "2026-12-03")
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

const AGENCY: &str = r#"apiVersion: hopthu/v1
kind: Agency
code: "SL-SKHCN"
abbr: skhcn
type: department
name: Sở Khoa học và Công nghệ
"#;

/// A repository whose password policy is the regulation's (90 days, 8
/// characters), with `extra` settings appended.
fn repo(dir: &Path, max_age_days: u32, extra: &str) {
    std::fs::create_dir_all(dir.join("agencies")).unwrap();
    std::fs::write(
        dir.join("hopthu.yaml"),
        format!(
            "apiVersion: hopthu/v1\ndomain: sonla.gov.vn\npolicy:\n  password:\n    minLength: 8\n    maxAgeDays: {max_age_days}\n{extra}"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("agencies/skhcn.yaml"), AGENCY).unwrap();
}

struct Env {
    s: slapd::Slapd,
    tmp: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let s = slapd::Slapd::start();
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("bind"), s.service_password()).unwrap();
        repo(&tmp.path().join("repo"), 90, "");
        Env { s, tmp }
    }

    fn check(&self, extra: &[&str]) -> Output {
        let url = self.s.url();
        let mut args = vec![
            "check-directory",
            "repo",
            "--live",
            &url,
            "--bind-dn",
            self.s.service_dn(),
            "--bind-password-file",
            "bind",
        ];
        args.extend_from_slice(extra);
        hopthu(&args, self.tmp.path())
    }
}

#[test]
fn a_server_whose_policy_says_what_hopthu_yaml_says_passes() {
    let env = Env::new();
    let o = env.check(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains(slapd::DEFAULT_POLICY_DN), "{out}");
    assert!(out.contains("Khớp với hopthu.yaml"), "{out}");
    assert!(!out.contains('✗'), "{out}");
    let o = env.check(&["--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["mismatches"], 0);
    assert_eq!(v["policyDn"], slapd::DEFAULT_POLICY_DN);

    // Expiry after 60 days in hopthu.yaml: the server's 90 do not match.
    repo(&env.tmp.path().join("repo"), 60, "");
    let o = env.check(&["--lang", "en"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("pwdMaxAge is 7776000 seconds (90 days)") && out.contains("5184000"),
        "{out}"
    );
    assert!(out.contains("1 mismatch(es)"), "{out}");
}

#[test]
fn every_mismatch_of_a_weakened_policy_is_listed_with_what_was_expected() {
    let env = Env::new();
    env.s.ldapmodify(&format!(
        "dn: {}\nchangetype: modify\nreplace: pwdMinLength\npwdMinLength: 6\n-\nreplace: pwdMustChange\npwdMustChange: FALSE\n-\nreplace: pwdMaxAge\npwdMaxAge: 0\n-\nreplace: pwdLockout\npwdLockout: FALSE\n-\nreplace: pwdCheckQuality\npwdCheckQuality: 0\n",
        slapd::DEFAULT_POLICY_DN
    ));
    let o = env.check(&[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    for attr in ["pwdMaxAge", "pwdMinLength", "pwdMustChange", "pwdLockout"] {
        assert!(out.contains(&format!("✗ {attr}")), "{attr}: {out}");
    }
    assert!(out.contains("mật khẩu không bao giờ hết hạn"), "{out}");
    assert!(out.contains("4 điểm không khớp"), "{out}");
    assert!(out.contains("! pwdCheckQuality"), "a warning: {out}");

    let o = env.check(&["--lang", "en", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["mismatches"], 4);
    let check = |attr: &str| {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["attribute"] == attr && c["severity"] == "mismatch")
            .unwrap()
            .clone()
    };
    assert_eq!(check("pwdMaxAge")["expected"], "7776000");
    assert_eq!(check("pwdMaxAge")["found"], "0");
    assert!(
        check("pwdMaxAge")["message"]
            .as_str()
            .unwrap()
            .contains("never expire")
    );
    assert_eq!(check("pwdMinLength")["found"], "6");
    assert_eq!(check("pwdMinLength")["expected"], ">= 8");
    assert_eq!(check("pwdMustChange")["found"], "FALSE");
    assert_eq!(check("pwdLockout")["ok"], false);
}

#[test]
fn without_a_policy_to_compare_the_check_stops_with_a_clear_error() {
    let env = Env::new();
    let base = slapd::BASE_DN;
    let o = env.check(&["--policy-dn", &format!("cn=nope,ou=policies,{base}")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("không có mục chính sách cn=nope"),
        "{}",
        text(&o)
    );
    // Only a policy that is not named default, and another: which one?
    env.s.ldapmodify(&format!(
        "dn: {}\nchangetype: delete\n\ndn: cn=strict,ou=policies,{base}\nchangetype: add\nobjectClass: device\nobjectClass: pwdPolicy\ncn: strict\npwdAttribute: userPassword\n",
        slapd::DEFAULT_POLICY_DN
    ));
    let o = env.check(&["--lang", "en"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("several password policies") && out.contains("--policy-dn"),
        "{out}"
    );
    assert!(
        out.contains("cn=strict") && out.contains("cn=service"),
        "{out}"
    );
    // None at all.
    env.s.ldapmodify(&format!(
        "dn: cn=strict,ou=policies,{base}\nchangetype: delete\n\ndn: {}\nchangetype: delete\n",
        slapd::SERVICE_POLICY_DN
    ));
    let o = env.check(&["--lang", "en"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("no password policy (objectClass pwdPolicy) under dc=sonla"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_wrong_password_is_a_connection_error_that_never_shows_the_password() {
    let env = Env::new();
    let wrong = "wrong-secret-7Qz!x";
    std::fs::write(env.tmp.path().join("bind"), wrong).unwrap();
    for lang in ["vi", "en"] {
        let o = env.check(&["--lang", lang]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let out = text(&o);
        assert!(out.contains("invalidCredentials"), "{out}");
        assert!(!out.contains(wrong), "the password leaked: {out}");
    }
}

const LDIF: &str = "dn: dc=sonla,dc=gov,dc=vn
objectClass: dcObject
objectClass: organization
dc: sonla
o: So La

dn: ou=policies,dc=sonla,dc=gov,dc=vn
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,dc=sonla,dc=gov,dc=vn
objectClass: device
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdMaxAge: 7776000
pwdMinLength: 8
pwdMustChange: TRUE
pwdLockout: TRUE
pwdMaxFailure: 5
pwdCheckQuality: 1
";

#[test]
fn the_policy_entry_of_an_ldif_file_is_checked_too() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    repo(&t.join("repo"), 90, "");
    std::fs::write(t.join("live.ldif"), LDIF).unwrap();
    let o = hopthu(&["check-directory", "repo", "--live", "ldif:live.ldif"], t);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    std::fs::write(
        t.join("live.ldif"),
        LDIF.replace("pwdMinLength: 8", "pwdMinLength: 20"),
    )
    .unwrap();
    let o = hopthu(
        &[
            "check-directory",
            "repo",
            "--live",
            "ldif:live.ldif",
            "--lang",
            "en",
        ],
        t,
    );
    // Longer is allowed, but hopthu's initial passwords would be refused.
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("raise policy.password.minLength to 20"),
        "{}",
        text(&o)
    );
}

#[test]
fn the_iredmail_layout_has_no_ppolicy_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    repo(&t.join("repo"), 90, "directory:\n  layout: iredmail\n");
    let base_only: String = LDIF.split("\n\n").next().unwrap().to_string() + "\n";
    std::fs::write(t.join("live.ldif"), base_only).unwrap();
    let o = hopthu(
        &[
            "check-directory",
            "repo",
            "--live",
            "ldif:live.ldif",
            "--lang",
            "en",
        ],
        t,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("no password policy")
            && out.contains("iredmail layout uses no OpenLDAP ppolicy"),
        "{out}"
    );
}
