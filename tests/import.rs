//! `hopthu import` against a real slapd loaded with a messy directory of
//! the kind a province runs before hopthu: DNs named by cn, names in NFD,
//! two people with the same name, addresses the rules would not give,
//! aliases, locks, quotas, a family-last name, entries outside any agency,
//! another domain, a name with a look-alike letter. The repository it
//! writes validates, and after `--adopt` the first plan is empty.

#[path = "support/slapd.rs"]
mod slapd;

use std::path::Path;
use std::process::{Command, Output};

fn hopthu(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args(args)
        .current_dir(cwd)
        .env("HOPTHU_TODAY", "2026-12-04")
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

const PEOPLE: &str = "ou=people,dc=sonla,dc=gov,dc=vn";

fn entry(rdn: &str, mail: &str, cn: &str, extra: &str) -> String {
    format!(
        "dn: {rdn},{PEOPLE}\nobjectClass: inetOrgPerson\nobjectClass: inetLocalMailRecipient\nobjectClass: hopthuMailbox\ncn: {cn}\nsn: {cn}\nmail: {mail}\nuserPassword: {{SSHA}}x\n{}\n",
        if extra.is_empty() {
            String::new()
        } else {
            format!("{extra}\n")
        }
    )
}

fn messy() -> String {
    let nfd_ha = "Tra\u{302}\u{300}n Thi\u{323} Ha\u{300}";
    [
        entry("uid=skhcn", "skhcn@sonla.gov.vn", "Sở Khoa học và Công nghệ", ""),
        entry("uid=vp.skhcn", "vp.skhcn@sonla.gov.vn", "Văn phòng", ""),
        entry(
            "cn=Nguyen Van An",
            "annv.skhcn@sonla.gov.vn",
            "Nguyễn Văn An",
            "title: Giám đốc\nou: Văn phòng\nmailLocalAddress: giamdoc.skhcn@sonla.gov.vn\nhopthuQuota: 5368709120",
        ),
        entry("cn=Nguyen Van An 2", "annv2.skhcn@sonla.gov.vn", "Nguyễn Văn An", ""),
        entry("uid=hatt.skhcn", "hatt.skhcn@sonla.gov.vn", nfd_ha, &format!("displayName: {nfd_ha}")),
        entry("uid=minh.lo", "minh.lo.skhcn@sonla.gov.vn", "Lò Văn Minh", "pwdAccountLockedTime: 20261001000000Z"),
        entry("uid=ymoane.skhcn", "ymoane.skhcn@sonla.gov.vn", "Y Moan Êban", "givenName: Y Moan"),
        entry("uid=an.cyr", "anx.skhcn@sonla.gov.vn", "Nguyễn Văn \u{410}n", ""),
        entry(
            "uid=hoapt.skhcn",
            "hoapt.skhcn@sonla.gov.vn",
            "Phạm Thị Hoa",
            "mail: vanthu.skhcn@sonla.gov.vn",
        ),
        entry("uid=tohieu", "tohieu@sonla.gov.vn", "Phường Tô Hiệu", ""),
        entry("uid=bavc.tohieu", "bavc.tohieu@sonla.gov.vn", "Cầm Văn Ba", ""),
        entry("uid=admin", "admin@sonla.gov.vn", "Quản trị hệ thống", ""),
        entry("uid=other", "someone@gmail.com", "Người ngoài", ""),
    ]
    .concat()
}

#[test]
fn a_messy_directory_becomes_a_valid_repository_and_the_first_plan_is_empty() {
    let s = slapd::Slapd::start_with(slapd::SlapdOptions {
        seed_ldif: messy(),
        ..Default::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    std::fs::write(t.join("bind"), s.service_password()).unwrap();
    let url = s.url();
    let live = [
        "--live",
        url.as_str(),
        "--bind-dn",
        s.service_dn(),
        "--bind-password-file",
        "bind",
    ];
    let mut args = vec![
        "import",
        "--out",
        "repo",
        "--domain",
        "sonla.gov.vn",
        "--adopt",
    ];
    args.extend(live);
    let o = hopthu(&args, t);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("đang đọc"), "progress is shown: {out}");
    assert!(out.contains("2 cơ quan, 1 đơn vị, 7 người"), "{out}");
    assert!(
        out.contains("admin@sonla.gov.vn"),
        "outside any agency: {out}"
    );
    assert!(out.contains("someone@gmail.com"), "another domain: {out}");
    assert!(
        out.contains("không có gì phải làm"),
        "the first plan is empty: {out}"
    );

    let repo = t.join("repo");
    let skhcn = std::fs::read_to_string(repo.join("agencies/skhcn.yaml")).unwrap();
    // The look-alike letter left the person out, with the validator's words.
    assert!(!skhcn.contains("anx"), "{skhcn}");
    assert!(
        out.contains("anx.skhcn@sonla.gov.vn") || out.contains("an-cyr"),
        "{out}"
    );
    // Names NFC; the derived address needs no `address`; legacy marked.
    assert!(
        skhcn.contains("- id: hatt.skhcn\n  name: \"Trần Thị Hà\"\n- "),
        "{skhcn}"
    );
    assert!(
        skhcn.contains("  address: minh.lo.skhcn\n  legacy: true\n"),
        "{skhcn}"
    );
    assert!(
        skhcn.contains("  name: \"Nguyễn Văn An\"\n  address: annv2.skhcn\n"),
        "{skhcn}"
    );
    assert!(skhcn.contains("  given: \"Y Moan\"\n"), "{skhcn}");
    assert!(
        skhcn.contains(
            "  unit: vp\n  title: \"Giám đốc\"\n  quota: \"5GiB\"\n  aliases:\n  - giamdoc.skhcn\n"
        ),
        "{skhcn}"
    );
    assert!(
        skhcn.contains(
            "  status: locked\n  lock:\n    reason: requested\n    since: \"2026-10-01\""
        ),
        "{skhcn}"
    );
    let tohieu = std::fs::read_to_string(repo.join("agencies/tohieu.yaml")).unwrap();
    assert!(tohieu.contains("type: ward\n"), "{tohieu}");

    let o = hopthu(&["validate", "repo"], t);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut args = vec!["plan", "repo", "--detailed-exitcode"];
    args.extend(live);
    let o = hopthu(&args, t);
    assert_eq!(o.status.code(), Some(0), "an empty plan: {}", text(&o));
    // The entries are hopthu's now, at the layout's DNs, their mail kept.
    let an = s.ldapsearch("(mail=annv.skhcn@sonla.gov.vn)", &["hopthuKey", "ou"]);
    assert!(an.contains(&format!("dn: uid=annv.skhcn,{PEOPLE}")), "{an}");
    assert!(an.contains("hopthuKey: person/"), "{an}");
    // A second `mail` keeps delivering, as an alias.
    assert!(
        skhcn.contains(
            "- id: hoapt.skhcn\n  name: \"Phạm Thị Hoa\"\n  aliases:\n  - vanthu.skhcn\n"
        ),
        "{skhcn}"
    );
    let hoa = s.ldapsearch(
        "(mail=hoapt.skhcn@sonla.gov.vn)",
        &["mail", "mailLocalAddress"],
    );
    assert!(
        hoa.contains("mailLocalAddress: vanthu.skhcn@sonla.gov.vn"),
        "{hoa}"
    );
    // What was left out stays as it was.
    let admin = s.ldapsearch("(mail=admin@sonla.gov.vn)", &["hopthuKey"]);
    assert!(!admin.contains("hopthuKey"), "{admin}");
    // The adoption and the alignment are in the audit log.
    let log = std::fs::read_to_string(t.join(".hopthu/audit.jsonl")).unwrap();
    assert!(log.contains("\"action\":\"adopt\""), "{log}");
}

#[test]
fn an_import_never_writes_into_a_folder_that_holds_something_or_after_a_bad_read() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    std::fs::create_dir_all(t.join("repo")).unwrap();
    std::fs::write(t.join("repo/notes.txt"), "giữ nguyên").unwrap();
    let o = hopthu(
        &[
            "import",
            "--out",
            "repo",
            "--domain",
            "sonla.gov.vn",
            "--live",
            "ldif:live.ldif",
        ],
        t,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("đã có nội dung"), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(t.join("repo/notes.txt")).unwrap(),
        "giữ nguyên"
    );
    // A directory that cannot be read: nothing is written.
    std::fs::write(t.join("bad.ldif"), "this is not LDIF\n").unwrap();
    let o = hopthu(
        &[
            "import",
            "--out",
            "fresh",
            "--domain",
            "sonla.gov.vn",
            "--live",
            "ldif:bad.ldif",
        ],
        t,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!t.join("fresh").exists());
}

#[test]
fn importing_what_hopthu_wrote_gives_back_the_same_mailboxes() {
    // The reference repository applied to a file directory, imported back:
    // every mailbox is there again, and the plan of the import is empty.
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("directory");
    let o = hopthu(
        &[
            "apply",
            reference.to_str().unwrap(),
            "--live",
            "ldif:live.ldif",
            "--yes",
            "--credentials-out",
            "c.tsv",
        ],
        t,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = hopthu(
        &[
            "import",
            "--out",
            "back",
            "--domain",
            "sonla.gov.vn",
            "--live",
            "ldif:live.ldif",
            "--adopt",
        ],
        t,
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("93 cơ quan, 287 đơn vị, 2400 người"), "{out}");
    assert!(out.contains("0 mục không nhập"), "{out}");
    assert!(out.contains("không có gì phải làm"), "{out}");
}

#[test]
fn a_domain_that_is_not_one_is_refused_before_anything_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    for d in ["bad domain", "", "sonla"] {
        let o = hopthu(
            &[
                "import",
                "--out",
                "repo",
                "--domain",
                d,
                "--live",
                "ldif:live.ldif",
            ],
            tmp.path(),
        );
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains("không phải là tên miền"), "{}", text(&o));
        assert!(!tmp.path().join("repo").exists());
    }
}
