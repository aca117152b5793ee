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
    // Entries were left out (listed below): exit 1, the rest is written and
    // adopted.
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("đang đọc"), "progress is shown: {out}");
    // The server's naming contexts were looked at for entries outside the
    // base (there are none).
    assert!(!out.contains("ngoài base DN"), "{out}");
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

fn ldif_entry(dn: &str, mail: &str, cn: &str, extra: &str) -> String {
    format!(
        "dn: {dn}\nobjectClass: inetOrgPerson\nuid: {}\ncn: {cn}\nsn: x\nmail: {mail}\n{extra}\n",
        mail.split('@').next().unwrap()
    )
}

/// A directory as `ldapsearch -x` exports it: comments, entries without
/// operational attributes, the outcome of the search; no end line of
/// hopthu's.
fn export(people: &[String]) -> String {
    format!(
        "# extended LDIF\n#\n# LDAPv3\n# base <dc=sonla,dc=gov,dc=vn> with scope subtree\n#\n\n\
         dn: dc=sonla,dc=gov,dc=vn\nobjectClass: dcObject\nobjectClass: organization\ndc: sonla\no: Son La\n\n\
         dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n\
         {}\
         # search result\nsearch: 2\nresult: 0 Success\n\n# numEntries: {}\n",
        people.concat(),
        people.len() + 2
    )
}

fn person(uid: &str, cn: &str, extra: &str) -> String {
    ldif_entry(
        &format!("uid={uid},{PEOPLE}"),
        &format!("{uid}@sonla.gov.vn"),
        cn,
        extra,
    )
}

fn import_ldif(t: &Path, file: &str, extra: &[&str]) -> Output {
    let live = format!("ldif:{file}");
    let mut args = vec![
        "import",
        "--out",
        "repo",
        "--domain",
        "sonla.gov.vn",
        "--live",
        live.as_str(),
    ];
    args.extend(extra);
    hopthu(&args, t)
}

#[test]
fn a_servers_export_without_hopthus_end_line_is_imported_and_adopted() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    std::fs::write(
        t.join("export.ldif"),
        export(&[
            person("skhcn", "Sở Khoa học và Công nghệ", ""),
            person("vp.skhcn", "Văn phòng", ""),
            person("annv.skhcn", "Nguyễn Văn An", "ou: Văn phòng\n"),
        ]),
    )
    .unwrap();
    let o = import_ldif(t, "export.ldif", &["--adopt"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("1 cơ quan, 1 đơn vị, 1 người"), "{out}");
    assert!(out.contains("0 mục không nhập"), "{out}");
    assert!(out.contains("không có gì phải làm"), "{out}");
    // Written once: hopthu's own form from now on.
    let saved = std::fs::read_to_string(t.join("export.ldif")).unwrap();
    assert!(saved.contains("# hopthu live directory"), "{saved}");
    assert!(
        saved
            .trim_end()
            .ends_with("# end of the hopthu live directory"),
        "{saved}"
    );
    let mut args = vec![
        "plan",
        "repo",
        "--detailed-exitcode",
        "--live",
        "ldif:export.ldif",
    ];
    let o = hopthu(&args, t);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // A cut of that file is now told by the missing end line.
    let cut = saved.rfind("\ndn: ").unwrap() + 1;
    std::fs::write(t.join("export.ldif"), &saved[..cut]).unwrap();
    args.push("--lang");
    args.push("en");
    let o = hopthu(&args, t);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("torn"), "{}", text(&o));
}

#[test]
fn an_agency_whose_name_is_refused_keeps_its_people_and_each_entry_left_out_is_listed() {
    for (agency_name, refused) in [
        ("Sở Khoa học và Công nghệ <script>", "`<` (U+003C)"),
        ("Sở Khoa học và Công ngh\u{435}", "`\u{435}` (U+0435)"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        std::fs::write(
            t.join("x.ldif"),
            export(&[
                person("skhcn", agency_name, ""),
                person("annv.skhcn", "Nguyễn Văn An", ""),
                person("anx.skhcn", "Nguyễn Văn \u{410}n", ""),
            ]),
        )
        .unwrap();
        let o = import_ldif(t, "x.ldif", &[]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "{out}");
        assert!(out.contains("1 cơ quan, 0 đơn vị, 1 người"), "{out}");
        assert!(out.contains("1 mục không nhập"), "{out}");
        // The bad person, by its own address and DN.
        assert!(
            out.contains(&format!(
                "  ✗ anx.skhcn@sonla.gov.vn uid=anx.skhcn,{PEOPLE}: agencies/skhcn.yaml: tên chứa ký tự `\u{410}` (U+0410)"
            )),
            "{out}"
        );
        // The agency: imported under a placeholder, flagged for a person.
        assert!(
            out.contains(&format!(
                "  ! skhcn@sonla.gov.vn uid=skhcn,{PEOPLE}: tên \"{agency_name}\" bị từ chối (tên chứa ký tự {refused}"
            )),
            "{out}"
        );
        assert!(out.contains("tạm ghi \"SKHCN\""), "{out}");
        let skhcn = std::fs::read_to_string(t.join("repo/agencies/skhcn.yaml")).unwrap();
        assert!(skhcn.contains("type: department\nname: SKHCN\n"), "{skhcn}");
        assert!(skhcn.contains("- id: annv.skhcn\n"), "{skhcn}");
        assert!(skhcn.starts_with("# yaml-language-server"), "{skhcn}");
        assert!(skhcn.contains("# hopthu import: tên tạm"), "{skhcn}");
        let o = hopthu(&["validate", "repo"], t);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));

        // With --adopt: the people are taken over; the agency's mailbox is
        // not until its names agree, and says so.
        std::fs::remove_dir_all(t.join("repo")).unwrap();
        let o = import_ldif(t, "x.ldif", &["--adopt", "--lang", "en"]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "{out}");
        assert!(
            out.contains(&format!(
                "  ✗ anx.skhcn@sonla.gov.vn uid=anx.skhcn,{PEOPLE}: "
            )),
            "{out}"
        );
        assert!(
            out.contains("1 entries imported with something a person must put right"),
            "{out}"
        );
        assert!(
            out.contains("  ✗ skhcn@sonla.gov.vn: the name in the directory is"),
            "{out}"
        );
        let live = std::fs::read_to_string(t.join("x.ldif")).unwrap();
        assert!(live.contains("hopthuKey: person/annv.skhcn"), "{live}");
        assert!(!live.contains("hopthuKey: agency/"), "{live}");
    }
}

#[test]
fn an_entry_outside_the_base_dn_is_listed_not_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let mut text_of = export(&[
        person("skhcn", "Sở Khoa học và Công nghệ", ""),
        person("annv.skhcn", "Nguyễn Văn An", ""),
    ]);
    text_of.push_str(&format!(
        "\ndn: dc=other,dc=vn\nobjectClass: dcObject\nobjectClass: organization\ndc: other\no: Other\n\n{}{}",
        ldif_entry("uid=a.skhcn,dc=other,dc=vn", "a.skhcn@sonla.gov.vn", "Lê Văn A", ""),
        // Not an address of the domain: not the province's.
        ldif_entry("uid=b,dc=other,dc=vn", "b@other.vn", "Lê Văn B", ""),
    ));
    std::fs::write(t.join("x.ldif"), &text_of).unwrap();
    let o = import_ldif(t, "x.ldif", &[]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("1 cơ quan, 0 đơn vị, 1 người"), "{out}");
    assert!(out.contains("1 mục không nhập"), "{out}");
    assert!(
        out.contains(
            "  ✗ a.skhcn@sonla.gov.vn uid=a.skhcn,dc=other,dc=vn: nằm ngoài base DN dc=sonla,dc=gov,dc=vn"
        ),
        "{out}"
    );
    assert!(!out.contains("b@other.vn"), "{out}");
    std::fs::remove_dir_all(t.join("repo")).unwrap();
    let o = import_ldif(t, "x.ldif", &["--lang", "en"]);
    let out = text(&o);
    assert!(
        out.contains("  ✗ a.skhcn@sonla.gov.vn uid=a.skhcn,dc=other,dc=vn: outside the base DN dc=sonla,dc=gov,dc=vn"),
        "{out}"
    );
    assert!(out.contains("1 entries left out"), "{out}");
}
