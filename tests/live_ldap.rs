//! The LDAP backend against a real (throwaway) slapd, as the reconciler's
//! service account, never the rootDN. Each test is named for the rule it
//! proves: a read is complete or an error; a refused write is reported with
//! the server's reason while the others go on; secrets never show.

#[path = "support/faults.rs"]
mod faults;
#[path = "support/slapd.rs"]
mod slapd;

use faults::{cutting_proxy, fake_server, tlv};

use std::time::{Duration, Instant};

use hopthu::live::ldap::LdapDirectory;
use hopthu::live::{Attrs, ConnectOptions, DirError, Directory, Mod, Selection, Write};
use slapd::{Slapd, SlapdOptions};

/// `n` people `uid=p00000..` under ou=people, for seeding with slapadd.
/// The messages these tests read are the English ones.
fn english() {
    hopthu::i18n::set_process(hopthu::model::Language::En);
}

fn people(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "dn: uid=p{i:05},{people}\nobjectClass: inetOrgPerson\nuid: p{i:05}\n\
                 cn: Person {i}\nsn: {i}\nmail: p{i:05}@sonla.gov.vn\n\n",
                people = slapd::PEOPLE_DN
            )
        })
        .collect()
}

fn with_people(n: usize) -> Slapd {
    Slapd::start_with(SlapdOptions {
        seed_ldif: people(n),
        ..SlapdOptions::default()
    })
}

fn options(slapd: &Slapd) -> ConnectOptions {
    ConnectOptions {
        url: slapd.url(),
        bind_dn: Some(slapd.service_dn().to_string()),
        bind_password: Some(slapd.service_password().to_string()),
        ..ConnectOptions::default()
    }
}

async fn service(slapd: &Slapd) -> LdapDirectory {
    LdapDirectory::connect(&options(slapd))
        .await
        .expect("connect and bind as the service account")
}

fn people_selection(attrs: &[&str]) -> Selection {
    Selection {
        base: slapd::PEOPLE_DN.to_string(),
        any_object_class: vec!["inetOrgPerson".to_string()],
        attrs: attrs.iter().map(|s| s.to_string()).collect(),
    }
}

fn attrs(pairs: &[(&str, &[&str])]) -> Attrs {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
        .collect()
}

fn person_dn(uid: &str) -> String {
    format!("uid={uid},{}", slapd::PEOPLE_DN)
}

fn add_person(uid: &str, password: &str) -> Write {
    Write::Add {
        dn: person_dn(uid),
        attrs: attrs(&[
            ("objectClass", &["inetOrgPerson"]),
            ("uid", &[uid]),
            ("cn", &["Nguyễn Văn An"]),
            ("sn", &["Nguyễn"]),
            ("mail", &[&format!("{uid}@sonla.gov.vn")]),
            ("userPassword", &[password]),
        ]),
    }
}

async fn uuid_of(dir: &mut LdapDirectory, dn: &str) -> String {
    let found = dir
        .read(&Selection {
            base: dn.to_string(),
            any_object_class: vec![],
            attrs: vec!["entryUUID".into()],
        })
        .await
        .expect("read one entry");
    assert_eq!(found.len(), 1, "{found:?}");
    found[0]
        .first("entryUUID")
        .expect("an entryUUID")
        .to_string()
}

#[tokio::test]
async fn a_read_of_more_than_one_page_is_complete() {
    let slapd = with_people(1234);
    let mut dir = service(&slapd).await;
    let entries = dir
        .read(&people_selection(&["mail", "entryUUID"]))
        .await
        .expect("a complete read");
    assert_eq!(entries.len(), 1234);
    let dns: std::collections::HashSet<_> = entries.iter().map(|e| e.dn.to_lowercase()).collect();
    assert_eq!(dns.len(), 1234, "every entry once");
    let e = entries
        .iter()
        .find(|e| e.dn.starts_with("uid=p00042,"))
        .unwrap();
    assert_eq!(e.get("MAIL"), ["p00042@sonla.gov.vn"]);
    assert_eq!(e.first("entryuuid").map(str::len), Some(36));
    // Only what was asked for.
    assert!(e.get("cn").is_empty(), "{e:?}");
    dir.close().await.unwrap();
}

#[tokio::test]
async fn star_and_plus_return_user_and_operational_attributes() {
    let slapd = with_people(3);
    let mut dir = service(&slapd).await;
    let entries = dir.read(&people_selection(&["*", "+"])).await.unwrap();
    assert_eq!(entries.len(), 3);
    let names: Vec<&str> = entries[0].attrs.keys().collect();
    println!("attribute names as returned for * +: {names:?}");
    for name in [
        "objectClass",
        "cn",
        "mail",
        "entryUUID",
        "createTimestamp",
        "creatorsName",
    ] {
        assert!(!entries[0].get(name).is_empty(), "{name} in {names:?}");
    }
    // Names are spelled as the server's schema spells them, whatever the request.
    let asked_upper = dir
        .read(&people_selection(&["MAIL", "ENTRYUUID"]))
        .await
        .unwrap();
    let spelled: Vec<&str> = asked_upper[0].attrs.keys().collect();
    println!("attribute names returned for MAIL ENTRYUUID: {spelled:?}");
    assert_eq!(asked_upper[0].get("mail").len(), 1);
}

#[tokio::test]
async fn a_size_limit_is_an_error_never_a_short_list() {
    english();
    let slapd = Slapd::start_with(SlapdOptions {
        seed_ldif: people(120),
        service_size_limit: Some(50),
        ..SlapdOptions::default()
    });
    let mut dir = service(&slapd).await;
    let err = dir.read(&people_selection(&["mail"])).await.unwrap_err();
    match &err {
        DirError::Incomplete { reason, .. } => {
            assert!(reason.contains("sizeLimitExceeded"), "{reason}");
            assert!(reason.contains("after 50 entries"), "{reason}");
        }
        other => panic!("expected Incomplete, got {other:?}"),
    }
    println!("{err}");
}

#[tokio::test]
async fn a_server_killed_before_the_read_is_an_error() {
    let mut slapd = with_people(10);
    let mut dir = service(&slapd).await;
    slapd.kill();
    let err = dir.read(&people_selection(&["mail"])).await.unwrap_err();
    assert!(matches!(err, DirError::Incomplete { .. }), "{err:?}");
    println!("{err}");
    let results = dir.write(vec![add_person("late", "late-pass-1")]).await;
    let e = results[0].as_ref().unwrap_err();
    assert_eq!(e.code, 81, "{e}");
    assert!(!e.message.contains("late-pass-1"));
}

#[tokio::test]
async fn a_connection_dropped_in_the_middle_of_a_paged_read_is_an_error() {
    english();
    let slapd = with_people(2000);
    // About 100 bytes per entry: the cut falls after a page or two.
    let url = cutting_proxy(slapd.port(), 120_000).await;
    let mut dir = LdapDirectory::connect(&ConnectOptions {
        url,
        ..options(&slapd)
    })
    .await
    .unwrap();
    let err = dir
        .read(&people_selection(&["mail", "cn"]))
        .await
        .unwrap_err();
    match &err {
        DirError::Incomplete { reason, .. } => {
            assert!(reason.contains("stopped after"), "{reason}")
        }
        other => panic!("expected Incomplete, got {other:?}"),
    }
    println!("{err}");
}

#[tokio::test]
async fn a_referral_inside_the_tree_is_an_error_not_a_smaller_world() {
    let referral = format!(
        "dn: ou=elsewhere,{people}\nobjectClass: referral\nobjectClass: extensibleObject\n\
         ou: elsewhere\nref: ldap://other.example/ou=elsewhere,{people}\n\n",
        people = slapd::PEOPLE_DN
    );
    let slapd = Slapd::start_with(SlapdOptions {
        seed_ldif: people(5) + &referral,
        ..SlapdOptions::default()
    });
    let mut dir = service(&slapd).await;
    let err = dir.read(&people_selection(&["mail"])).await.unwrap_err();
    match &err {
        DirError::Incomplete { reason, .. } => {
            assert!(reason.contains("other.example"), "{reason}")
        }
        other => panic!("expected Incomplete, got {other:?}"),
    }
    println!("{err}");
}

#[tokio::test]
async fn a_wrong_base_is_no_base() {
    let slapd = with_people(5);
    let mut dir = service(&slapd).await;
    for base in [
        "ou=nothere,dc=sonla,dc=gov,dc=vn",
        "ou=people,dc=sonla,dc=gov,dc=com",
    ] {
        let err = dir
            .read(&Selection {
                base: base.into(),
                ..people_selection(&["mail"])
            })
            .await
            .unwrap_err();
        assert!(matches!(err, DirError::NoBase { .. }), "{base}: {err:?}");
    }
    assert!(dir.exists(slapd.people_dn()).await.unwrap());
    assert!(
        !dir.exists("ou=nothere,dc=sonla,dc=gov,dc=vn")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_wrong_bind_password_is_refused_and_never_shown() {
    let slapd = Slapd::start();
    let password = "Wrong-Secret-7731";
    let err = LdapDirectory::connect(&ConnectOptions {
        bind_password: Some(password.into()),
        ..options(&slapd)
    })
    .await
    .err()
    .expect("the bind is refused");
    assert!(matches!(err, DirError::Bind { .. }), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("49"), "{shown}");
    assert!(!shown.contains(password), "{shown}");
    println!("{err}");

    // Without a password there is no silent anonymous bind either.
    let err = LdapDirectory::connect(&ConnectOptions {
        bind_password: None,
        ..options(&slapd)
    })
    .await
    .err()
    .expect("refused");
    assert!(matches!(err, DirError::Bind { .. }), "{err:?}");
    let shown = format!("{:?}", options(&slapd));
    assert!(!shown.contains(slapd.service_password()), "{shown}");
}

#[tokio::test]
async fn a_bind_that_can_read_nothing_is_no_base_not_an_empty_world() {
    let slapd = with_people(5);
    let mut anonymous = LdapDirectory::connect(&ConnectOptions {
        url: slapd.url(),
        ..ConnectOptions::default()
    })
    .await
    .unwrap();
    let err = anonymous
        .read(&people_selection(&["mail"]))
        .await
        .unwrap_err();
    assert!(matches!(err, DirError::NoBase { .. }), "{err:?}");
}

#[tokio::test]
async fn a_server_that_is_not_there_is_a_connect_error() {
    let mut slapd = Slapd::start();
    let url = slapd.url();
    slapd.kill();
    let err = Directory::connect(&ConnectOptions {
        url,
        ..options(&slapd)
    })
    .await
    .err()
    .expect("no server");
    assert!(matches!(err, DirError::Connect { .. }), "{err:?}");
}

async fn add_many(slapd: &Slapd, n: usize) -> Duration {
    let mut dir = service(slapd).await;
    let writes: Vec<Write> = (0..n)
        .map(|i| add_person(&format!("n{i:05}"), &format!("initial-Pass-{i}")))
        .collect();
    let start = Instant::now();
    let results = dir.write(writes).await;
    let took = start.elapsed();
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{} failed, first: {}",
        failed.len(),
        failed[0]
    );
    assert_eq!(results.len(), n);
    let read = dir.read(&people_selection(&["uid"])).await.unwrap();
    assert_eq!(read.len(), n);
    took
}

#[tokio::test]
async fn five_hundred_adds_in_one_batch_all_succeed() {
    let slapd = Slapd::start();
    let took = add_many(&slapd, 500).await;
    println!("500 adds in one write call: {took:?}");
}

#[tokio::test]
async fn ten_thousand_adds_in_one_batch_all_succeed() {
    let slapd = Slapd::start();
    let took = add_many(&slapd, 10_000).await;
    println!("10000 adds in one write call: {took:?}");
}

#[tokio::test]
async fn one_refused_add_is_reported_and_the_others_go_on() {
    let slapd = with_people(1);
    let mut dir = service(&slapd).await;
    let secret = "Dup-Secret-5521";
    let mut writes: Vec<Write> = (0..20)
        .map(|i| add_person(&format!("ok{i:02}"), "ok-Pass-123"))
        .collect();
    // p00000 exists already.
    writes.insert(7, add_person("p00000", secret));
    let results = dir.write(writes).await;
    assert_eq!(results.len(), 21);
    for (i, r) in results.iter().enumerate() {
        if i == 7 {
            let e = r.as_ref().unwrap_err();
            assert_eq!(e.code, 68, "{e}");
            assert!(e.message.contains("entryAlreadyExists"), "{e}");
            assert!(!format!("{e} {e:?}").contains(secret));
            println!("the refused add: {e}");
        } else {
            r.as_ref().unwrap();
        }
    }
    for i in 0..20 {
        assert!(dir.exists(&person_dn(&format!("ok{i:02}"))).await.unwrap());
    }
}

#[tokio::test]
async fn an_entry_refused_for_its_content_never_shows_its_password() {
    let slapd = Slapd::start();
    let mut dir = service(&slapd).await;
    let secret = "Schema-Secret-8812";
    let results = dir
        .write(vec![
            // inetOrgPerson requires sn.
            Write::Add {
                dn: person_dn("nosn"),
                attrs: attrs(&[
                    ("objectClass", &["inetOrgPerson"]),
                    ("uid", &["nosn"]),
                    ("cn", &["x"]),
                    ("userPassword", &[secret]),
                ]),
            },
            // An attribute type the schema does not know.
            Write::Modify {
                dn: slapd.service_dn().to_string(),
                mods: vec![
                    Mod::Replace("userPassword".into(), vec![secret.into()]),
                    Mod::Add("noSuchAttributeType".into(), vec![secret.into()]),
                ],
            },
        ])
        .await;
    for r in &results {
        let e = r.as_ref().unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(secret), "{shown}");
        println!("refused: {e}");
    }
    assert_eq!(results[0].as_ref().unwrap_err().code, 65);
    assert_eq!(results[1].as_ref().unwrap_err().code, 17);
}

#[tokio::test]
async fn modify_replaces_adds_and_deletes_values() {
    let slapd = Slapd::start();
    let mut dir = service(&slapd).await;
    let dn = person_dn("mod");
    assert!(dir.write(vec![add_person("mod", "mod-Pass-1")]).await[0].is_ok());
    let results = dir
        .write(vec![Write::Modify {
            dn: dn.clone(),
            mods: vec![
                Mod::Replace("cn".into(), vec!["Lò Văn Mạnh".into()]),
                Mod::Add(
                    "mail".into(),
                    vec!["second@sonla.gov.vn".into(), "third@sonla.gov.vn".into()],
                ),
                Mod::Delete("mail".into(), vec!["mod@sonla.gov.vn".into()]),
                Mod::Add("description".into(), vec!["to go".into()]),
                Mod::Delete("description".into(), vec![]),
                Mod::Add("title".into(), vec![]),
            ],
        }])
        .await;
    results[0].as_ref().unwrap();
    let e = &dir
        .read(&Selection {
            base: dn.clone(),
            any_object_class: vec![],
            attrs: vec!["*".into()],
        })
        .await
        .unwrap()[0];
    assert_eq!(e.get("cn"), ["Lò Văn Mạnh"]);
    let mut mail = e.get("mail").to_vec();
    mail.sort();
    assert_eq!(mail, ["second@sonla.gov.vn", "third@sonla.gov.vn"]);
    assert!(e.get("description").is_empty());

    // Deleting a value that is not there is refused, and changes nothing.
    let results = dir
        .write(vec![Write::Modify {
            dn: dn.clone(),
            mods: vec![
                Mod::Replace("cn".into(), vec!["changed".into()]),
                Mod::Delete("mail".into(), vec!["absent@sonla.gov.vn".into()]),
            ],
        }])
        .await;
    assert_eq!(results[0].as_ref().unwrap_err().code, 16);
    let missing = dir
        .write(vec![Write::Modify {
            dn: person_dn("nobody"),
            mods: vec![Mod::Replace("cn".into(), vec!["x".into()])],
        }])
        .await;
    assert_eq!(missing[0].as_ref().unwrap_err().code, 32);
}

#[tokio::test]
async fn rename_and_move_keep_the_entry_uuid() {
    let slapd = Slapd::start();
    let mut dir = service(&slapd).await;
    let moved = format!("ou=moved,{}", slapd.base_dn());
    let results = dir
        .write(vec![
            add_person("old", "old-Pass-1"),
            Write::Add {
                dn: moved.clone(),
                attrs: attrs(&[("objectClass", &["organizationalUnit"]), ("ou", &["moved"])]),
            },
        ])
        .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let uuid = uuid_of(&mut dir, &person_dn("old")).await;

    let r = dir
        .write(vec![Write::Rename {
            dn: person_dn("old"),
            new_rdn: "uid=new".into(),
            new_superior: None,
        }])
        .await;
    r[0].as_ref().unwrap();
    assert_eq!(uuid_of(&mut dir, &person_dn("new")).await, uuid);
    assert!(!dir.exists(&person_dn("old")).await.unwrap());

    let r = dir
        .write(vec![Write::Rename {
            dn: person_dn("new"),
            new_rdn: "uid=newer".into(),
            new_superior: Some(moved.clone()),
        }])
        .await;
    r[0].as_ref().unwrap();
    let there = format!("uid=newer,{moved}");
    assert_eq!(uuid_of(&mut dir, &there).await, uuid);
    let e = &dir
        .read(&Selection {
            base: there.clone(),
            any_object_class: vec![],
            attrs: vec!["uid".into()],
        })
        .await
        .unwrap()[0];
    // deleteoldrdn: the old naming value is gone.
    assert_eq!(e.get("uid"), ["newer"]);

    // Onto an existing entry: refused.
    dir.write(vec![add_person("taken", "taken-Pass-1")]).await[0]
        .as_ref()
        .unwrap();
    let r = dir
        .write(vec![Write::Rename {
            dn: there,
            new_rdn: "uid=taken".into(),
            new_superior: Some(slapd.people_dn().to_string()),
        }])
        .await;
    assert_eq!(r[0].as_ref().unwrap_err().code, 68);
}

#[tokio::test]
async fn delete_removes_a_leaf_and_refuses_a_parent() {
    let slapd = with_people(2);
    let mut dir = service(&slapd).await;
    let r = dir
        .write(vec![
            Write::Delete {
                dn: person_dn("p00000"),
            },
            Write::Delete {
                dn: slapd.people_dn().to_string(),
            },
            Write::Delete {
                dn: person_dn("nobody"),
            },
        ])
        .await;
    r[0].as_ref().unwrap();
    assert_eq!(r[1].as_ref().unwrap_err().code, 66);
    assert_eq!(r[2].as_ref().unwrap_err().code, 32);
    assert!(!dir.exists(&person_dn("p00000")).await.unwrap());
    assert!(dir.exists(&person_dn("p00001")).await.unwrap());
}

#[tokio::test]
async fn starttls_and_ldaps_with_the_ca_file() {
    let slapd = Slapd::start_with(SlapdOptions {
        seed_ldif: people(3),
        tls: true,
        ..SlapdOptions::default()
    });
    for (url, starttls) in [(slapd.url(), true), (slapd.ldaps_url(), false)] {
        let mut dir = LdapDirectory::connect(&ConnectOptions {
            url: url.clone(),
            starttls,
            ca_file: Some(slapd.ca_file()),
            ..options(&slapd)
        })
        .await
        .unwrap_or_else(|e| panic!("{url} starttls={starttls}: {e}"));
        assert_eq!(
            dir.read(&people_selection(&["mail"])).await.unwrap().len(),
            3
        );
        dir.close().await.unwrap();
    }
    // A certificate from a CA that is not trusted is refused.
    let err = LdapDirectory::connect(&ConnectOptions {
        url: slapd.ldaps_url(),
        ..options(&slapd)
    })
    .await
    .err()
    .expect("an untrusted certificate");
    assert!(matches!(err, DirError::Connect { .. }), "{err:?}");
    println!("{err}");
}

// A fake server for malformed answers -------------------------------------

async fn read_from(url: String) -> DirError {
    let mut dir = LdapDirectory::connect(&ConnectOptions {
        url,
        bind_dn: Some("cn=hopthu".into()),
        bind_password: Some("x-pass".into()),
        ..ConnectOptions::default()
    })
    .await
    .unwrap();
    dir.read(&people_selection(&["mail"])).await.unwrap_err()
}

#[tokio::test]
async fn a_malformed_paging_control_fails_the_read_not_the_process() {
    english();
    // SearchResultDone (success) with a paged-results control whose value is
    // an empty sequence: ldap3's control parser panics on it.
    let url = fake_server(|id| {
        let control = tlv(
            0x30,
            &[
                tlv(0x04, b"1.2.840.113556.1.4.319"),
                tlv(0x04, &[0x30, 0x00]),
            ]
            .concat(),
        );
        let done = tlv(0x65, &[0x0a, 1, 0, 4, 0, 4, 0]);
        tlv(
            0x30,
            &[&[2, 1, id][..], &done, &tlv(0xa0, &control)].concat(),
        )
    })
    .await;
    let err = read_from(url).await;
    match &err {
        DirError::Incomplete { reason, .. } => assert!(reason.contains("malformed"), "{reason}"),
        other => panic!("expected Incomplete, got {other:?}"),
    }
    println!("{err}");
}

#[tokio::test]
async fn a_malformed_answer_that_kills_the_connection_fails_the_read() {
    // An answer to the search with a BindResponse: ldap3's connection
    // driver panics on it and the connection ends.
    let url = fake_server(|id| {
        tlv(
            0x30,
            &[&[2, 1, id][..], &tlv(0x61, &[0x0a, 1, 0, 4, 0, 4, 0])].concat(),
        )
    })
    .await;
    let err = read_from(url).await;
    assert!(matches!(err, DirError::Incomplete { .. }), "{err:?}");
    println!("{err}");
}
