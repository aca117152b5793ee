//! The file backend (`ldif:PATH`) behaves like the LDAP server where the
//! reconciler depends on it: the same result codes, complete reads or
//! errors, renames that keep the entry; and its file is never torn, never
//! overwritten when unreadable, and saved byte-for-byte the same way.

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use hopthu::live::ldif::LdifDirectory;
use hopthu::live::{
    Attrs, ConnectOptions, DirError, Directory, Mod, Selection, Write, WriteError, normalize_dn,
};

const BASE: &str = "dc=sonla,dc=gov,dc=vn";
const PEOPLE: &str = "ou=people,dc=sonla,dc=gov,dc=vn";

fn attrs(pairs: &[(&str, &[&str])]) -> Attrs {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
        .collect()
}

fn person_dn(uid: &str) -> String {
    format!("uid={uid},{PEOPLE}")
}

fn add_person(uid: &str, cn: &str) -> Write {
    Write::Add {
        dn: person_dn(uid),
        attrs: attrs(&[
            ("objectClass", &["inetOrgPerson", "inetLocalMailRecipient"]),
            ("uid", &[uid]),
            ("cn", &[cn]),
            ("sn", &["x"]),
            ("mail", &[&format!("{uid}@sonla.gov.vn")]),
            ("userPassword", &["{SSHA}c2VjcmV0LWhhc2gtb25seQ=="]),
        ]),
    }
}

fn skeleton() -> Vec<Write> {
    vec![
        Write::Add {
            dn: BASE.into(),
            attrs: attrs(&[
                ("objectClass", &["dcObject", "organization"]),
                ("dc", &["sonla"]),
                ("o", &["Tỉnh Sơn La"]),
            ]),
        },
        Write::Add {
            dn: PEOPLE.into(),
            attrs: attrs(&[
                ("objectClass", &["organizationalUnit"]),
                ("ou", &["people"]),
            ]),
        },
    ]
}

fn all_ok(results: &[Result<(), WriteError>]) {
    for (i, r) in results.iter().enumerate() {
        assert!(r.is_ok(), "write {i}: {r:?}");
    }
}

fn people(attrs: &[&str]) -> Selection {
    Selection {
        base: PEOPLE.into(),
        any_object_class: vec!["inetOrgPerson".into()],
        attrs: attrs.iter().map(|s| s.to_string()).collect(),
    }
}

fn one(dir: &LdifDirectory, dn: &str, attrs: &[&str]) -> hopthu::live::LiveEntry {
    let mut found = dir
        .read(&Selection {
            base: dn.into(),
            any_object_class: vec![],
            attrs: attrs.iter().map(|s| s.to_string()).collect(),
        })
        .unwrap();
    // The read is of the subtree: keep the entry itself.
    found.retain(|e| normalize_dn(&e.dn) == normalize_dn(dn));
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("directory.ldif");
    Fixture { _dir: dir, path }
}

fn populated(path: &Path) -> LdifDirectory {
    let mut dir = LdifDirectory::open(path).unwrap();
    let mut writes = skeleton();
    writes.push(add_person("an.nv", "Nguyễn Văn An"));
    writes.push(add_person("binh.lt", "Lò Thị Bình"));
    all_ok(&dir.write(writes));
    dir
}

#[test]
fn a_missing_file_is_an_empty_directory_without_a_base() {
    let f = fixture();
    let dir = LdifDirectory::open(&f.path).unwrap();
    assert!(dir.is_empty());
    assert!(!dir.exists(BASE));
    let err = dir.read(&people(&["mail"])).unwrap_err();
    assert!(matches!(err, DirError::NoBase { .. }), "{err:?}");
    assert!(!f.path.exists(), "opening creates nothing");
}

#[test]
fn an_emptied_file_a_fifo_or_no_path_is_an_error_not_an_empty_directory() {
    let _en = hopthu::i18n::on_this_thread(hopthu::model::Language::En);
    let f = fixture();
    // hopthu never saves an empty file: one that is empty was emptied by
    // something else, and reading it as "no mailboxes" would plan to
    // create them all again over a lost directory.
    for text in ["", "\n\n  \n"] {
        fs::write(&f.path, text).unwrap();
        let err = LdifDirectory::open(&f.path)
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains("empty") && err.contains("backup"), "{err}");
        assert_eq!(fs::read_to_string(&f.path).unwrap(), text, "left as found");
    }
    let fifo = f.path.with_extension("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let err = LdifDirectory::open(&fifo)
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("not a regular file"), "{err}");
    let err = LdifDirectory::open("").err().expect("refused").to_string();
    assert!(err.contains("ldif:PATH"), "{err}");
}

#[test]
fn a_linked_file_is_followed_and_the_link_kept() {
    let f = fixture();
    drop(populated(&f.path));
    let link = f.path.with_extension("link.ldif");
    std::os::unix::fs::symlink(&f.path, &link).unwrap();
    let mut dir = LdifDirectory::open(&link).unwrap();
    all_ok(&dir.write(vec![add_person("cuong.tv", "Trần Văn Cường")]));
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        fs::read_to_string(&f.path)
            .unwrap()
            .contains("uid=cuong.tv")
    );
}

#[tokio::test]
async fn a_url_with_a_password_in_it_is_refused_without_echoing_it() {
    let err = Directory::connect(&ConnectOptions {
        url: "ldap://admin:S3cret!pw@127.0.0.1:1".into(),
        ..ConnectOptions::default()
    })
    .await
    .err()
    .expect("refused")
    .to_string();
    assert!(err.contains("--bind-password-file"), "{err}");
    assert!(!err.contains("S3cret"), "{err}");
}

#[test]
fn the_reconciler_creates_the_base_then_reads_it() {
    let f = fixture();
    let mut dir = populated(&f.path);
    let found = dir.read(&people(&["mail", "cn"])).unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].dn, person_dn("an.nv"));
    assert_eq!(found[0].get("CN"), ["Nguyễn Văn An"]);
    assert!(
        found[0].get("userPassword").is_empty(),
        "only what was asked"
    );
    // An object class filter that matches nothing is an empty, complete read.
    let none = dir
        .read(&Selection {
            any_object_class: vec!["hopthuMailbox".into()],
            ..people(&["mail"])
        })
        .unwrap();
    assert!(none.is_empty());
    // And the data is on disk for the next process.
    let again = LdifDirectory::open(&f.path).unwrap();
    assert_eq!(
        again.read(&people(&["*", "+"])).unwrap(),
        dir.read(&people(&["*", "+"])).unwrap()
    );
    // A base that does not exist.
    let err = dir
        .read(&Selection {
            base: format!("ou=nothere,{BASE}"),
            ..people(&["mail"])
        })
        .unwrap_err();
    assert!(matches!(err, DirError::NoBase { .. }), "{err:?}");
    let r = dir.write(vec![]);
    assert!(r.is_empty());
}

#[test]
fn result_codes_are_the_servers() {
    let f = fixture();
    let mut dir = populated(&f.path);
    let results = dir.write(vec![
        add_person("an.nv", "again"),
        Write::Add {
            dn: format!("uid=x,ou=missing,{BASE}"),
            attrs: attrs(&[("objectClass", &["account"]), ("uid", &["x"])]),
        },
        Write::Modify {
            dn: person_dn("nobody"),
            mods: vec![Mod::Replace("cn".into(), vec!["x".into()])],
        },
        Write::Rename {
            dn: person_dn("nobody"),
            new_rdn: "uid=somebody".into(),
            new_superior: None,
        },
        Write::Delete {
            dn: person_dn("nobody"),
        },
        Write::Delete { dn: PEOPLE.into() },
        Write::Rename {
            dn: person_dn("an.nv"),
            new_rdn: "uid=binh.lt".into(),
            new_superior: None,
        },
        Write::Modify {
            dn: person_dn("an.nv"),
            mods: vec![Mod::Replace("entryUUID".into(), vec!["x".into()])],
        },
        Write::Add {
            dn: "not a dn".into(),
            attrs: attrs(&[("objectClass", &["top"])]),
        },
        Write::Add {
            dn: person_dn("noclass"),
            attrs: attrs(&[("uid", &["noclass"])]),
        },
        Write::Add {
            dn: person_dn("norDN"),
            attrs: attrs(&[("objectClass", &["account"]), ("uid", &["other"])]),
        },
        Write::Modify {
            dn: person_dn("an.nv"),
            mods: vec![Mod::Delete("uid".into(), vec![])],
        },
        Write::Rename {
            dn: PEOPLE.into(),
            new_rdn: "ou=people".into(),
            new_superior: Some(person_dn("an.nv")),
        },
    ]);
    let codes: Vec<u32> = results
        .iter()
        .map(|r| r.as_ref().unwrap_err().code)
        .collect();
    assert_eq!(codes, [68, 32, 32, 32, 32, 66, 68, 19, 34, 65, 64, 67, 53]);
    for r in &results {
        println!("{}", r.as_ref().unwrap_err());
    }
}

#[test]
fn one_refused_write_does_not_stop_the_others_and_they_are_saved() {
    let f = fixture();
    let mut dir = populated(&f.path);
    let results = dir.write(vec![
        add_person("c1", "C Một"),
        add_person("an.nv", "duplicate"),
        add_person("c2", "C Hai"),
    ]);
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    let e = results[1].as_ref().unwrap_err();
    assert_eq!(e.code, 68);
    assert!(e.message.starts_with("entryAlreadyExists"), "{e}");
    let reopened = LdifDirectory::open(&f.path).unwrap();
    assert!(reopened.exists(&person_dn("c1")) && reopened.exists(&person_dn("c2")));
    assert_eq!(reopened.read(&people(&["uid"])).unwrap().len(), 4);
}

#[test]
fn operational_attributes_are_maintained_and_only_returned_when_asked() {
    let f = fixture();
    let mut dir = Directory::connect(&ConnectOptions {
        url: format!("ldif:{}", f.path.display()),
        bind_dn: Some("cn=hopthu,ou=system,dc=sonla,dc=gov,dc=vn".into()),
        ..ConnectOptions::default()
    })
    .await_sync()
    .unwrap();
    let mut writes = skeleton();
    writes.push(add_person("an.nv", "Nguyễn Văn An"));
    all_ok(&dir.write(writes).await_sync());
    let Directory::Ldif(mut dir) = dir else {
        panic!("ldif: is the file backend")
    };

    let star = one(&dir, &person_dn("an.nv"), &["*"]);
    assert!(star.get("entryUUID").is_empty(), "{star:?}");
    assert_eq!(star.get("mail"), ["an.nv@sonla.gov.vn"]);
    let plus = one(&dir, &person_dn("an.nv"), &["+"]);
    assert!(plus.get("mail").is_empty());
    let uuid = plus.first("entryUUID").unwrap().to_string();
    assert_eq!(uuid.len(), 36);
    assert_eq!(&uuid[14..15], "4", "{uuid}");
    assert_eq!(
        plus.first("creatorsName"),
        Some("cn=hopthu,ou=system,dc=sonla,dc=gov,dc=vn")
    );
    assert_eq!(plus.first("modifiersName"), plus.first("creatorsName"));
    let created = plus.first("createTimestamp").unwrap().to_string();
    assert_eq!(created.len(), 15);
    assert!(created.ends_with('Z'));
    let names: Vec<&str> = plus.attrs.keys().collect();
    println!("`+` returns {names:?}");

    // A stored ppolicy attribute is operational too; by name, any case.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    dir.set_actor("cn=admin");
    all_ok(&dir.write(vec![Write::Modify {
        dn: person_dn("an.nv"),
        mods: vec![Mod::Replace(
            "pwdAccountLockedTime".into(),
            vec!["20250101000000Z".into()],
        )],
    }]));
    let star = one(&dir, &person_dn("an.nv"), &["*"]);
    assert!(star.get("pwdAccountLockedTime").is_empty());
    let named = one(
        &dir,
        &person_dn("an.nv"),
        &["PWDACCOUNTLOCKEDTIME", "entryuuid"],
    );
    assert_eq!(named.get("pwdAccountLockedTime"), ["20250101000000Z"]);
    assert_eq!(named.first("entryUUID"), Some(uuid.as_str()));
    let after = one(&dir, &person_dn("an.nv"), &["+"]);
    assert_eq!(after.first("createTimestamp"), Some(created.as_str()));
    assert_eq!(
        after.first("creatorsName"),
        Some("cn=hopthu,ou=system,dc=sonla,dc=gov,dc=vn")
    );
    assert_eq!(after.first("modifiersName"), Some("cn=admin"));
    assert!(after.first("modifyTimestamp").unwrap() > created.as_str());
    // 1.1: no attributes at all.
    assert!(one(&dir, &person_dn("an.nv"), &["1.1"]).attrs.is_empty());
}

#[test]
fn modify_replaces_adds_and_deletes_values() {
    let f = fixture();
    let mut dir = populated(&f.path);
    let dn = person_dn("an.nv");
    all_ok(&dir.write(vec![Write::Modify {
        dn: dn.clone(),
        mods: vec![
            Mod::Replace("CN".into(), vec!["Nguyễn Văn Ân".into()]),
            Mod::Add(
                "mailLocalAddress".into(),
                vec!["an@sonla.gov.vn".into(), "an.nguyen@sonla.gov.vn".into()],
            ),
            Mod::Delete("mail".into(), vec!["AN.NV@sonla.gov.vn".into()]),
            Mod::Add("description".into(), vec!["to go".into()]),
            Mod::Delete("description".into(), vec![]),
            Mod::Add("title".into(), vec![]),
        ],
    }]));
    let e = one(&dir, &dn, &["*"]);
    // The spelling first written stays.
    assert_eq!(e.attrs.get("cn").unwrap(), &["Nguyễn Văn Ân"]);
    assert_eq!(
        e.get("mailLocalAddress"),
        ["an@sonla.gov.vn", "an.nguyen@sonla.gov.vn"]
    );
    assert!(e.get("mail").is_empty());
    assert!(e.get("description").is_empty());
    assert!(e.get("title").is_empty());

    let results = dir.write(vec![
        // All or nothing: the first change is not kept.
        Write::Modify {
            dn: dn.clone(),
            mods: vec![
                Mod::Replace("cn".into(), vec!["changed".into()]),
                Mod::Delete(
                    "mailLocalAddress".into(),
                    vec!["absent@sonla.gov.vn".into()],
                ),
            ],
        },
        Write::Modify {
            dn: dn.clone(),
            mods: vec![Mod::Add(
                "mailLocalAddress".into(),
                vec!["AN@sonla.gov.vn".into()],
            )],
        },
        Write::Modify {
            dn: dn.clone(),
            mods: vec![Mod::Delete("nothere".into(), vec![])],
        },
        // userPassword compares exactly: another case is another value.
        Write::Modify {
            dn: dn.clone(),
            mods: vec![Mod::Add(
                "userPassword".into(),
                vec!["{SSHA}C2VJCMV0LWHHC2GTB25SEQ==".into()],
            )],
        },
    ]);
    let codes: Vec<Option<u32>> = results
        .iter()
        .map(|r| r.as_ref().err().map(|e| e.code))
        .collect();
    assert_eq!(codes, [Some(16), Some(20), Some(16), None]);
    assert_eq!(one(&dir, &dn, &["cn"]).get("cn"), ["Nguyễn Văn Ân"]);
    assert_eq!(
        one(&dir, &dn, &["userPassword"]).get("userPassword").len(),
        2
    );
}

#[test]
fn rename_and_move_keep_the_entry_uuid_and_carry_the_subtree() {
    let f = fixture();
    let mut dir = populated(&f.path);
    let uuid = |dir: &LdifDirectory, dn: &str| {
        one(dir, dn, &["entryUUID"])
            .first("entryUUID")
            .unwrap()
            .to_string()
    };
    let an = uuid(&dir, &person_dn("an.nv"));
    let people_uuid = uuid(&dir, PEOPLE);

    all_ok(&dir.write(vec![Write::Rename {
        dn: person_dn("an.nv"),
        new_rdn: "uid=an.nguyen".into(),
        new_superior: None,
    }]));
    assert!(!dir.exists(&person_dn("an.nv")));
    assert_eq!(uuid(&dir, &person_dn("an.nguyen")), an);
    assert_eq!(
        one(&dir, &person_dn("an.nguyen"), &["uid"]).get("uid"),
        ["an.nguyen"]
    );

    all_ok(&dir.write(vec![Write::Add {
        dn: format!("ou=moved,{BASE}"),
        attrs: attrs(&[("objectClass", &["organizationalUnit"]), ("ou", &["moved"])]),
    }]));
    all_ok(&dir.write(vec![Write::Rename {
        dn: person_dn("an.nguyen"),
        new_rdn: "uid=an.nv2".into(),
        new_superior: Some(format!("ou=moved,{BASE}")),
    }]));
    let moved = format!("uid=an.nv2,ou=moved,{BASE}");
    assert_eq!(uuid(&dir, &moved), an);

    // Renaming a container moves its entries with it.
    all_ok(&dir.write(vec![Write::Rename {
        dn: PEOPLE.into(),
        new_rdn: "ou=staff".into(),
        new_superior: None,
    }]));
    let staff = format!("ou=staff,{BASE}");
    assert_eq!(uuid(&dir, &staff), people_uuid);
    assert!(dir.exists(&format!("uid=binh.lt,{staff}")));
    assert!(!dir.exists(&person_dn("binh.lt")));
    let reopened = LdifDirectory::open(&f.path).unwrap();
    assert!(reopened.exists(&format!("uid=binh.lt,{staff}")));
    assert_eq!(uuid(&reopened, &moved), an);
}

#[test]
fn dns_compare_the_way_a_server_compares_them() {
    let f = fixture();
    let mut dir = populated(&f.path);
    assert!(dir.exists("UID=An.NV , OU=People,DC=SonLa,dc=gov,dc=vn"));
    all_ok(&dir.write(vec![Write::Add {
        dn: format!("cn=Nguyen\\2C Van,{PEOPLE}"),
        attrs: attrs(&[
            ("objectClass", &["person"]),
            ("cn", &["Nguyen, Van"]),
            ("sn", &["N"]),
        ]),
    }]));
    let r = dir.write(vec![Write::Add {
        dn: format!("cn=nguyen\\, van,{PEOPLE}"),
        attrs: attrs(&[
            ("objectClass", &["person"]),
            ("cn", &["nguyen, van"]),
            ("sn", &["N"]),
        ]),
    }]);
    assert_eq!(r[0].as_ref().unwrap_err().code, 68);
    // The spelling first written is the one returned.
    let e = one(&dir, &format!("CN=NGUYEN\\, VAN,{PEOPLE}"), &["cn"]);
    assert_eq!(e.dn, format!("cn=Nguyen\\2C Van,{PEOPLE}"));
    assert_eq!(
        normalize_dn(&e.dn),
        normalize_dn(&format!("cn=nguyen\\, van , {PEOPLE}"))
    );
    // An escaped comma is not a level of the tree.
    assert!(!dir.exists(&format!("cn=Nguyen,{PEOPLE}")));
    assert_ne!(
        normalize_dn("cn=a\\,ou=b,dc=x"),
        normalize_dn("cn=a,ou=b,dc=x")
    );
}

#[test]
fn a_torn_or_garbage_file_is_an_error_naming_the_line_and_is_not_overwritten() {
    let _en = hopthu::i18n::on_this_thread(hopthu::model::Language::En);
    let f = fixture();
    drop(populated(&f.path));
    let whole = fs::read_to_string(&f.path).unwrap();

    // Torn at a record boundary: only the trailer tells.
    let cut = whole.rfind("\ndn: ").unwrap() + 1;
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "torn at a record boundary",
            whole[..cut].to_string(),
            "torn",
        ),
        (
            "torn mid-line",
            whole[..whole.len() / 2].to_string(),
            "line",
        ),
        ("garbage", "this is not LDIF\n".into(), "line 1"),
        (
            "html",
            "<html><body>502 Bad Gateway</body></html>\n".into(),
            "line 1",
        ),
        (
            "bad base64",
            format!("dn: {BASE}\nobjectClass: top\ncn:: ***\n"),
            "line 3",
        ),
        (
            "binary value",
            format!(
                "dn: {BASE}\nobjectClass: top\n\njpegPhoto:: {}\n",
                base64::engine::general_purpose::STANDARD.encode([0xff, 0xd8, 0xff])
            ),
            "line 4",
        ),
        (
            "two dn lines",
            format!("dn: {BASE}\nobjectClass: top\ndn: {PEOPLE}\n"),
            "line 3",
        ),
        (
            "change record",
            format!("dn: {BASE}\nchangetype: delete\n"),
            "line 2",
        ),
        (
            "duplicate entry",
            format!(
                "dn: {BASE}\nobjectClass: top\n\ndn: DC=SonLa,dc=gov,dc=vn\nobjectClass: top\n"
            ),
            "line 4",
        ),
        (
            "bad DN",
            "dn: not a dn\nobjectClass: top\n".into(),
            "line 1",
        ),
        ("lone continuation", " continued\n".into(), "line 1"),
    ];
    for (what, text, expect) in cases {
        fs::write(&f.path, &text).unwrap();
        let err = match LdifDirectory::open(&f.path) {
            Err(e) => e,
            Ok(_) => panic!("{what}: accepted"),
        };
        let shown = err.to_string();
        assert!(matches!(err, DirError::File { .. }), "{what}: {err:?}");
        assert!(shown.contains(expect), "{what}: {shown}");
        assert_eq!(
            fs::read_to_string(&f.path).unwrap(),
            text,
            "{what}: the file was touched"
        );
        // The same through the URL.
        let err = Directory::connect(&ConnectOptions {
            url: format!("ldif:{}", f.path.display()),
            ..ConnectOptions::default()
        })
        .await_sync()
        .err()
        .expect("refused");
        assert!(matches!(err, DirError::File { .. }), "{what}: {err:?}");
        println!("{what}: {shown}");
    }
}

/// What `ldapsearch -x -b BASE` prints: comments, the entries, and the
/// outcome of the search. No hopthu header, no end line, no entryUUID.
fn ldapsearch_export(result: &str) -> String {
    format!(
        "# extended LDIF\n#\n# LDAPv3\n# base <{BASE}> with scope subtree\n\
         # filter: (objectclass=*)\n# requesting: ALL\n#\n\n\
         # sonla.gov.vn\ndn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\n\
         dc: sonla\no: Son La\n\n\
         # people, sonla.gov.vn\ndn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: uid=an.nv,{PEOPLE}\nobjectClass: inetOrgPerson\nuid: an.nv\n\
         cn:: {}\nsn: x\nmail: an.nv@sonla.gov.vn\n\n\
         # search result\nsearch: 2\nresult: {result}\n\n\
         # numResponses: 4\n# numEntries: 3\n",
        base64::engine::general_purpose::STANDARD.encode("Nguyễn Văn An")
    )
}

/// What `slapcat` prints: entries only, operational attributes included.
fn slapcat_export() -> String {
    format!(
        "dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: sonla\no: Son La\n\
         entryUUID: 0b6e8a7c-1111-4c3e-9a55-6f0e5d1c2a01\ncreatorsName: cn=admin,{BASE}\n\
         createTimestamp: 20240101000000Z\n\n\
         dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\
         entryUUID: 0b6e8a7c-2222-4c3e-9a55-6f0e5d1c2a02\n\n\
         dn: uid=an.nv,{PEOPLE}\nobjectClass: inetOrgPerson\nuid: an.nv\ncn: An\nsn: x\n\
         description: a description long enough that the exporting tool folded it\n  onto a second line\n\
         mail: an.nv@sonla.gov.vn\nentryUUID: 0b6e8a7c-3333-4c3e-9a55-6f0e5d1c2a03\n\n"
    )
}

#[test]
fn an_export_from_a_server_is_read_without_an_end_line_and_is_hopthus_after_the_first_save() {
    let _en = hopthu::i18n::on_this_thread(hopthu::model::Language::En);
    let f = fixture();
    for (what, text) in [
        ("ldapsearch", ldapsearch_export("0 Success")),
        ("slapcat", slapcat_export()),
        ("ldapsearch -LLL, CRLF", {
            let t = ldapsearch_export("0 Success");
            let body: String = t
                .lines()
                .filter(|l| {
                    !l.starts_with('#') && !l.starts_with("search:") && !l.starts_with("result:")
                })
                .map(|l| format!("{l}\r\n"))
                .collect();
            body
        }),
    ] {
        fs::write(&f.path, &text).unwrap();
        let mut dir = match LdifDirectory::open(&f.path) {
            Ok(d) => d,
            Err(e) => panic!("{what}: refused: {e}"),
        };
        let an = one(&dir, &person_dn("an.nv"), &["*", "+"]);
        assert_eq!(an.get("mail"), ["an.nv@sonla.gov.vn"], "{what}");
        // Every entry has an entryUUID, as on a server: the export's, or
        // one given at the first read.
        let uuid = an.first("entryUUID").expect("an entryUUID").to_string();
        if what == "slapcat" {
            assert_eq!(uuid, "0b6e8a7c-3333-4c3e-9a55-6f0e5d1c2a03");
        }
        assert_eq!(
            fs::read_to_string(&f.path).unwrap(),
            text,
            "{what}: read only"
        );

        // The first write saves it in hopthu's own form, the UUID kept.
        all_ok(&dir.write(vec![add_person("binh.lt", "Lò Thị Bình")]));
        let saved = fs::read_to_string(&f.path).unwrap();
        assert!(
            saved.starts_with("version: 1\n# hopthu live directory"),
            "{what}: {saved}"
        );
        assert!(
            saved
                .trim_end()
                .ends_with("# end of the hopthu live directory"),
            "{what}: {saved}"
        );
        let again = LdifDirectory::open(&f.path).unwrap();
        assert_eq!(
            one(&again, &person_dn("an.nv"), &["entryUUID"]).first("entryUUID"),
            Some(uuid.as_str()),
            "{what}"
        );
        // From now on a cut at a record boundary is told by the end line.
        let cut = saved.rfind("\ndn: ").unwrap() + 1;
        fs::write(&f.path, &saved[..cut]).unwrap();
        let err = LdifDirectory::open(&f.path)
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains("torn"), "{what}: {err}");
    }
}

#[test]
fn a_cut_or_failed_export_is_refused_naming_the_line() {
    let _en = hopthu::i18n::on_this_thread(hopthu::model::Language::En);
    let f = fixture();
    let whole = slapcat_export();
    let mail_at = whole.find("mail: an.nv@").unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode("Nguyễn Văn An");
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "cut in the middle of a line",
            whole[..mail_at + 12].to_string(),
            "line 22: the file stops in the middle of this line",
        ),
        (
            "cut in the middle of a base64 value",
            format!(
                "dn: {BASE}\nobjectClass: top\ncn:: {}\n",
                &b64[..b64.len() - 3]
            ),
            "line 3: cn: bad base64",
        ),
        (
            "cut in the middle of a base64 value, at no line end",
            format!("dn: {BASE}\nobjectClass: top\ncn:: {}", &b64[..8]),
            "line 3: the file stops in the middle",
        ),
        (
            "a dangling continuation",
            format!("dn: {BASE}\nobjectClass: top\n\n continued\n"),
            "line 4: a continuation line",
        ),
        (
            "ldapsearch hit its size limit",
            ldapsearch_export("4 Size limit exceeded"),
            "line 30: ldapsearch reported \"4 Size limit exceeded\"",
        ),
        (
            "a referral",
            format!(
                "dn: {BASE}\nobjectClass: top\n\n# search reference\nref: ldap://other/{PEOPLE}??sub\n\n"
            ),
            "line 5: the server referred part of the tree elsewhere",
        ),
        (
            "no entry at all",
            "version: 1\n# exported\n".into(),
            "holds no entry",
        ),
    ];
    for (what, text, expect) in cases {
        fs::write(&f.path, &text).unwrap();
        let err = match LdifDirectory::open(&f.path) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{what}: accepted"),
        };
        assert!(err.contains(expect), "{what}: {err}");
        assert_eq!(
            fs::read_to_string(&f.path).unwrap(),
            text,
            "{what}: touched"
        );
    }

    // A hopthu file with lines added after its end line says where.
    fs::remove_file(&f.path).unwrap();
    drop(populated(&f.path));
    let mut text = fs::read_to_string(&f.path).unwrap();
    let n = text.lines().count() + 2;
    text.push_str(&format!(
        "\ndn: uid=x,{PEOPLE}\nobjectClass: inetOrgPerson\n"
    ));
    fs::write(&f.path, &text).unwrap();
    let err = LdifDirectory::open(&f.path)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains(&format!(
            "line {n}: this line comes after hopthu's last line"
        )),
        "{err}"
    );
}

#[test]
fn a_failed_save_keeps_the_old_file_and_fails_every_write_of_the_batch() {
    let f = fixture();
    let mut dir = populated(&f.path);
    let before = fs::read(&f.path).unwrap();
    // The temporary file's path is taken by a folder: the save cannot happen.
    let mut tmp = f.path.as_os_str().to_os_string();
    tmp.push(format!(".tmp-{}", std::process::id()));
    fs::create_dir(&tmp).unwrap();

    let results = dir.write(vec![
        add_person("lost1", "Lost One"),
        add_person("an.nv", "duplicate"),
        Write::Delete {
            dn: person_dn("binh.lt"),
        },
    ]);
    for r in &results {
        assert!(r.is_err(), "{results:?}");
    }
    assert_eq!(results[0].as_ref().unwrap_err().code, 80);
    assert_eq!(results[1].as_ref().unwrap_err().code, 68);
    println!("{}", results[0].as_ref().unwrap_err());
    assert_eq!(fs::read(&f.path).unwrap(), before, "the old file is intact");
    // Memory matches the file again: nothing of the batch is visible.
    assert!(!dir.exists(&person_dn("lost1")));
    assert!(dir.exists(&person_dn("binh.lt")));

    fs::remove_dir(&tmp).unwrap();
    all_ok(&dir.write(vec![add_person("lost1", "Lost One")]));
    assert!(
        LdifDirectory::open(&f.path)
            .unwrap()
            .exists(&person_dn("lost1"))
    );
    let leftovers: Vec<_> = fs::read_dir(f.path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[test]
fn a_hand_written_file_is_read_and_every_re_save_is_byte_identical() {
    let f = fixture();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let long = "Phòng Văn hoá, Thể thao và Du lịch huyện Mường La, tỉnh Sơn La — bộ phận một cửa";
    let long_b64 = b64(long);
    let (head, tail) = long_b64.split_at(40);
    let text = format!(
        "# exported by ldapsearch\r\nversion: 1\r\n\r\n\
         dn: {BASE}\r\nobjectClass: dcObject\r\nobjectClass: organization\r\ndc: sonla\r\n\
         o:: {}\r\n\r\n\
         # people\r\n\
         dn: {PEOPLE}\r\nobjectclass: organizationalUnit\r\nou: people\r\n\r\n\
         dn:: {}\r\nobjectClass: inetOrgPerson\r\nuid: hoa.dt\r\ncn:: {}\r\nsn: x\r\n\
         description:: {head}\r\n {tail}\r\n\
         description: a long ASCII description that is folded by the writer at seventy\r\n  six columns\r\n\
         title:: {}\r\ncarLicense:: {}\r\n\r\n",
        b64("Tỉnh Sơn La"),
        b64(&format!("uid=hoa.dt,{PEOPLE}")),
        b64("Đặng Thị Hoà"),
        b64(" leading space"),
        b64("trailing space "),
    );
    fs::write(&f.path, &text).unwrap();
    let mut dir = LdifDirectory::open(&f.path).unwrap();
    let e = one(&dir, &person_dn("hoa.dt"), &["*"]);
    assert_eq!(e.get("cn"), ["Đặng Thị Hoà"]);
    assert_eq!(
        e.get("description"),
        [
            long,
            "a long ASCII description that is folded by the writer at seventy six columns"
        ]
    );
    assert_eq!(e.get("title"), [" leading space"]);
    assert_eq!(e.get("carLicense"), ["trailing space "]);

    // A batch that ends where it started: saved in the canonical form.
    let round = |dir: &mut LdifDirectory| {
        all_ok(&dir.write(vec![
            add_person("tmp", "Tạm"),
            Write::Delete {
                dn: person_dn("tmp"),
            },
        ]));
    };
    round(&mut dir);
    let first = fs::read(&f.path).unwrap();
    let saved = String::from_utf8(first.clone()).unwrap();
    println!("{saved}");
    assert!(saved.lines().all(|l| l.len() <= 76), "folded at 76");
    assert!(saved.is_ascii(), "non-ASCII values are base64");
    assert!(saved.contains(&format!("cn:: {}", b64("Đặng Thị Hoà"))));
    // Parent first, objectClass first.
    let dns: Vec<&str> = saved.lines().filter(|l| l.starts_with("dn")).collect();
    assert_eq!(dns[0], format!("dn: {BASE}"));
    assert_eq!(dns[1], format!("dn: {PEOPLE}"));
    let after_base: Vec<&str> = saved
        .lines()
        .skip_while(|l| !l.starts_with("dn: dc="))
        .collect();
    assert!(after_base[1].starts_with("objectClass: "), "{after_base:?}");

    let mut reopened = LdifDirectory::open(&f.path).unwrap();
    assert_eq!(one(&reopened, &person_dn("hoa.dt"), &["*"]), e);
    round(&mut reopened);
    assert_eq!(
        fs::read(&f.path).unwrap(),
        first,
        "byte-identical after a re-save"
    );
    let mut third = LdifDirectory::open(&f.path).unwrap();
    round(&mut third);
    assert_eq!(fs::read(&f.path).unwrap(), first);
}

#[test]
fn ten_thousand_adds_in_one_batch_are_saved_once() {
    let f = fixture();
    let mut dir = populated(&f.path);
    let writes: Vec<Write> = (0..10_000)
        .map(|i| add_person(&format!("n{i:05}"), &format!("Người {i}")))
        .collect();
    let start = std::time::Instant::now();
    all_ok(&dir.write(writes));
    let took = start.elapsed();
    let start = std::time::Instant::now();
    let reopened = LdifDirectory::open(&f.path).unwrap();
    let loaded = start.elapsed();
    let start = std::time::Instant::now();
    assert_eq!(reopened.read(&people(&["*", "+"])).unwrap().len(), 10_002);
    let read = start.elapsed();
    println!(
        "LDIF: 10000 adds + one save {took:?}; open {loaded:?}; read {read:?}; file {} bytes",
        fs::metadata(&f.path).unwrap().len()
    );
}

#[test]
fn passwords_are_stored_as_the_caller_wrote_them() {
    let f = fixture();
    drop(populated(&f.path));
    let text = fs::read_to_string(&f.path).unwrap();
    assert!(
        text.contains("userPassword: {SSHA}c2VjcmV0LWhhc2gtb25seQ=="),
        "{text}"
    );
    use std::os::unix::fs::PermissionsExt as _;
    let mode = fs::metadata(&f.path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "only the owner reads password hashes");
}

/// Run a future to completion on a small runtime (the file backend never
/// waits, but `Directory` is async).
trait AwaitSync: std::future::Future + Sized {
    fn await_sync(self) -> Self::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(self)
    }
}

impl<F: std::future::Future> AwaitSync for F {}
