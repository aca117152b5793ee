//! The throwaway directory server behaves like the province's real one in
//! every way the reconciler depends on. Each test is named for the rule it
//! proves; all of them talk to the server as the service account or as a
//! user, never as the rootDN (which skips limits and policies).

#[path = "support/slapd.rs"]
mod slapd;

use std::collections::HashSet;

use ldap3::adapters::PagedResults;
use ldap3::exop::{PasswordModify, WhoAmI, WhoAmIResp};
use ldap3::{Ldap, LdapConnAsync, LdapError, LdapResult, Mod, Scope, SearchEntry};
use slapd::{Slapd, SlapdOptions};

/// More people than the default size limit of 500.
const MANY: usize = 600;

/// `n` people `uid=p0000..`, each with `mail` and password `password-<i>`.
fn people(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "dn: uid=p{i:04},{people}\nobjectClass: inetOrgPerson\nuid: p{i:04}\n\
                 cn: Person {i}\nsn: {i}\nmail: p{i:04}@sonla.gov.vn\nuserPassword: password-{i}\n\n",
                people = slapd::PEOPLE_DN
            )
        })
        .collect()
}

/// LDIF of one person with extra attribute lines (e.g. `pwdReset: TRUE`).
fn person(uid: &str, password: &str, extra: &str) -> String {
    format!(
        "dn: uid={uid},{people}\nobjectClass: inetOrgPerson\nobjectClass: inetLocalMailRecipient\n\
         uid: {uid}\ncn: {uid}\nsn: {uid}\nmail: {uid}@sonla.gov.vn\n\
         mailLocalAddress: {uid}.alias@sonla.gov.vn\nuserPassword: {password}\n{extra}",
        people = slapd::PEOPLE_DN
    )
}

fn user_dn(uid: &str) -> String {
    format!("uid={uid},{}", slapd::PEOPLE_DN)
}

async fn connect(slapd: &Slapd) -> Ldap {
    let (conn, ldap) = LdapConnAsync::new(&slapd.url())
        .await
        .expect("connect to slapd");
    ldap3::drive!(conn);
    ldap
}

/// A connection bound as `dn`; panics unless the bind succeeds.
async fn bound(slapd: &Slapd, dn: &str, password: &str) -> Ldap {
    let mut ldap = connect(slapd).await;
    ldap.simple_bind(dn, password)
        .await
        .expect("send the bind")
        .success()
        .unwrap_or_else(|e| panic!("bind as {dn}: {e}"));
    ldap
}

async fn as_service(slapd: &Slapd) -> Ldap {
    bound(slapd, slapd.service_dn(), slapd.service_password()).await
}

/// Read a whole paged search: the number of entries and the final result.
async fn paged_count(ldap: &mut Ldap, base: &str, page: i32) -> (usize, LdapResult) {
    let mut stream = ldap
        .streaming_search_with(
            PagedResults::new(page),
            base,
            Scope::Subtree,
            "(objectClass=inetOrgPerson)",
            vec!["mail"],
        )
        .await
        .expect("start the paged search");
    let mut n = 0;
    while let Some(_entry) = stream.next().await.expect("read the paged search") {
        n += 1;
    }
    (n, stream.finish().await)
}

fn rc_of(result: Result<LdapResult, LdapError>) -> u32 {
    result.expect("the server answered").rc
}

#[tokio::test]
async fn service_account_is_not_the_root_dn_and_pages_past_the_size_limit() {
    let slapd = Slapd::start_with(SlapdOptions {
        seed_ldif: people(MANY),
        ..SlapdOptions::default()
    });
    assert_ne!(slapd.service_dn(), slapd.admin_dn());

    let mut ldap = as_service(&slapd).await;
    let (who, _) = ldap.extended(WhoAmI).await.unwrap().success().unwrap();
    let who: WhoAmIResp = who.parse();
    assert_eq!(who.authzid, format!("dn:{}", slapd.service_dn()));

    let (n, result) = paged_count(&mut ldap, slapd.base_dn(), 100).await;
    assert_eq!(result.rc, 0, "{result:?}");
    assert_eq!(n, MANY);
}

#[tokio::test]
async fn ordinary_user_hits_the_size_limit() {
    let slapd = Slapd::start_with(SlapdOptions {
        seed_ldif: people(MANY),
        ..SlapdOptions::default()
    });
    let mut ldap = bound(&slapd, &user_dn("p0001"), "password-1").await;

    let plain = ldap
        .search(
            slapd.people_dn(),
            Scope::Subtree,
            "(objectClass=inetOrgPerson)",
            vec!["mail"],
        )
        .await
        .unwrap();
    assert_eq!(plain.1.rc, 4, "sizeLimitExceeded: {:?}", plain.1);
    assert_eq!(plain.0.len(), 500);

    // Paging does not lift the limit. The stream ends normally (Ok(None))
    // after 500 entries: only the final result says the list is incomplete.
    let (n, result) = paged_count(&mut ldap, slapd.people_dn(), 100).await;
    assert_eq!(result.rc, 4, "{result:?}");
    assert_eq!(n, 500);
}

#[tokio::test]
async fn service_size_limit_hit_is_reported_not_a_short_list() {
    let slapd = Slapd::start_with(SlapdOptions {
        seed_ldif: people(300),
        service_size_limit: Some(100),
        ..SlapdOptions::default()
    });
    let mut ldap = as_service(&slapd).await;
    // As for a user: a normal end of stream, then rc 4 from finish().
    let (n, result) = paged_count(&mut ldap, slapd.base_dn(), 50).await;
    assert_eq!(result.rc, 4, "{result:?}");
    assert_eq!(n, 100);
}

#[tokio::test]
async fn locked_mailbox_cannot_log_in_but_still_receives_mail() {
    let slapd = Slapd::start();
    slapd.ldapadd(&person(
        "locked",
        "locked-pass-1",
        "pwdAccountLockedTime: 000001010000Z\n",
    ));

    let err = slapd
        .bind_ok(&user_dn("locked"), "locked-pass-1")
        .unwrap_err();
    assert!(err.contains("(49)"), "{err}");
    assert!(err.contains("Account locked"), "{err}");
    let mut ldap = connect(&slapd).await;
    let bind = ldap.simple_bind(&user_dn("locked"), "locked-pass-1").await;
    assert_eq!(rc_of(bind), 49);

    let mut service = as_service(&slapd).await;
    for filter in [
        "(mail=locked@sonla.gov.vn)",
        "(mailLocalAddress=locked.alias@sonla.gov.vn)",
    ] {
        let (found, _) = service
            .search(slapd.base_dn(), Scope::Subtree, filter, vec!["mail"])
            .await
            .unwrap()
            .success()
            .unwrap();
        assert_eq!(found.len(), 1, "{filter}");
    }
}

#[tokio::test]
async fn service_account_locks_and_unlocks() {
    let slapd = Slapd::start();
    slapd.ldapadd(&person("clerk", "clerk-pass-1", ""));
    let dn = user_dn("clerk");
    slapd.bind_ok(&dn, "clerk-pass-1").unwrap();

    let mut service = as_service(&slapd).await;
    let lock = Mod::Add("pwdAccountLockedTime", HashSet::from(["000001010000Z"]));
    service
        .modify(&dn, vec![lock])
        .await
        .unwrap()
        .success()
        .unwrap();
    assert!(
        slapd
            .bind_ok(&dn, "clerk-pass-1")
            .unwrap_err()
            .contains("(49)")
    );

    let unlock = Mod::Delete("pwdAccountLockedTime", HashSet::new());
    service
        .modify(&dn, vec![unlock])
        .await
        .unwrap()
        .success()
        .unwrap();
    slapd.bind_ok(&dn, "clerk-pass-1").unwrap();
}

#[tokio::test]
async fn forced_password_change_allows_bind_but_refuses_search() {
    let slapd = Slapd::start();
    slapd.ldapadd(&person("newbie", "first-pass-1", "pwdReset: TRUE\n"));
    let dn = user_dn("newbie");

    slapd.bind_ok(&dn, "first-pass-1").unwrap();
    let mut ldap = bound(&slapd, &dn, "first-pass-1").await;
    let search = ldap
        .search(
            slapd.people_dn(),
            Scope::Subtree,
            "(uid=newbie)",
            vec!["cn"],
        )
        .await
        .unwrap();
    assert_eq!(search.1.rc, 50, "{:?}", search.1);

    // The user changes their own password; then the directory opens up.
    ldap.extended(PasswordModify {
        user_id: None,
        old_pass: Some("first-pass-1"),
        new_pass: Some("chosen-pass-2"),
    })
    .await
    .unwrap()
    .success()
    .unwrap();
    let mut ldap = bound(&slapd, &dn, "chosen-pass-2").await;
    let (found, _) = ldap
        .search(
            slapd.people_dn(),
            Scope::Subtree,
            "(uid=newbie)",
            vec!["cn"],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(found.len(), 1);
    assert!(slapd.bind_ok(&dn, "first-pass-1").is_err());
}

#[tokio::test]
async fn service_account_sets_password_and_forces_a_change() {
    let slapd = Slapd::start();
    slapd.ldapadd(&person("clerk", "clerk-pass-1", ""));
    let dn = user_dn("clerk");

    let mut service = as_service(&slapd).await;
    let reset = vec![
        Mod::Replace("userPassword", HashSet::from(["reset-pass-3"])),
        Mod::Replace("pwdReset", HashSet::from(["TRUE"])),
    ];
    service.modify(&dn, reset).await.unwrap().success().unwrap();

    assert!(slapd.bind_ok(&dn, "clerk-pass-1").is_err());
    let mut ldap = bound(&slapd, &dn, "reset-pass-3").await;
    let search = ldap
        .search(slapd.people_dn(), Scope::Subtree, "(uid=clerk)", vec!["cn"])
        .await
        .unwrap();
    assert_eq!(search.1.rc, 50, "{:?}", search.1);
}

#[tokio::test]
async fn anonymous_reads_nothing_and_users_see_no_secrets() {
    let slapd = Slapd::start();
    slapd.ldapadd(&person(
        "locked",
        "locked-pass-1",
        "pwdAccountLockedTime: 000001010000Z\n",
    ));
    slapd.ldapadd(&person("reader", "reader-pass-1", ""));

    let mut anonymous = connect(&slapd).await;
    for base in [slapd.base_dn(), slapd.people_dn()] {
        let result = anonymous
            .search(base, Scope::Subtree, "(objectClass=*)", vec!["*"])
            .await
            .unwrap();
        assert!(result.0.is_empty(), "anonymous read {base}");
    }

    let mut reader = bound(&slapd, &user_dn("reader"), "reader-pass-1").await;
    let (found, _) = reader
        .search(
            slapd.people_dn(),
            Scope::Subtree,
            "(uid=locked)",
            vec!["mail", "userPassword", "pwdAccountLockedTime"],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(found.len(), 1, "the address book is readable");
    let entry = SearchEntry::construct(found.into_iter().next().unwrap());
    assert!(entry.attrs.contains_key("mail"), "{entry:?}");
    assert!(!entry.attrs.contains_key("userPassword"), "{entry:?}");
    assert!(!entry.bin_attrs.contains_key("userPassword"), "{entry:?}");
    assert!(
        !entry.attrs.contains_key("pwdAccountLockedTime"),
        "{entry:?}"
    );

    let system = reader
        .search(slapd.base_dn(), Scope::Subtree, "(cn=hopthu)", vec!["cn"])
        .await
        .unwrap();
    assert!(system.0.is_empty(), "users cannot see the service account");
}

#[tokio::test]
async fn successful_bind_records_auth_timestamp() {
    let slapd = Slapd::start();
    slapd.ldapadd(&person("clerk", "clerk-pass-1", ""));
    let before = slapd.ldapsearch("(uid=clerk)", &["authTimestamp"]);
    assert!(!before.contains("authTimestamp"), "{before}");

    assert!(slapd.bind_ok(&user_dn("clerk"), "wrong-pass").is_err());
    let failed = slapd.ldapsearch("(uid=clerk)", &["authTimestamp"]);
    assert!(!failed.contains("authTimestamp"), "{failed}");

    slapd.bind_ok(&user_dn("clerk"), "clerk-pass-1").unwrap();
    let after = slapd.ldapsearch("(uid=clerk)", &["authTimestamp"]);
    assert!(after.contains("authTimestamp: "), "{after}");
}

#[tokio::test]
async fn killed_server_fails_the_search_instead_of_returning_less() {
    let mut slapd = Slapd::start_with(SlapdOptions {
        seed_ldif: people(MANY),
        ..SlapdOptions::default()
    });
    let mut ldap = as_service(&slapd).await;
    let mut stream = ldap
        .streaming_search_with(
            PagedResults::new(50),
            slapd.base_dn(),
            Scope::Subtree,
            "(objectClass=inetOrgPerson)",
            vec!["mail"],
        )
        .await
        .unwrap();
    let mut n = 0;
    while n < 60 {
        stream.next().await.unwrap().expect("an entry");
        n += 1;
    }

    slapd.kill();
    let end = loop {
        match stream.next().await {
            Ok(Some(_)) => n += 1,
            Ok(None) => break Ok(stream.finish().await),
            Err(e) => break Err(e),
        }
    };
    assert!(n < MANY, "{n}");
    // The stream ends in an error, never in Ok(None) with part of the list.
    end.expect_err("a dead server is an error, not a short list");

    let again = ldap
        .search(slapd.base_dn(), Scope::Subtree, "(mail=*)", vec!["mail"])
        .await;
    assert!(again.is_err(), "search on a dead connection: {again:?}");
    assert!(LdapConnAsync::new(&slapd.url()).await.is_err());
}

#[tokio::test]
async fn restart_keeps_data_and_port() {
    let mut slapd = Slapd::start();
    let port = slapd.port();
    slapd.ldapadd(&person("kept", "kept-pass-1", ""));

    slapd.stop();
    assert!(!slapd.is_running());
    assert!(
        slapd
            .bind_ok(slapd.service_dn(), slapd.service_password())
            .is_err()
    );
    slapd.restart();
    assert_eq!(slapd.port(), port);
    assert!(
        slapd
            .ldapsearch("(uid=kept)", &["uid"])
            .contains("uid: kept")
    );

    // Committed writes survive a crash too.
    slapd.ldapadd(&person("crash", "crash-pass-1", ""));
    slapd.kill();
    slapd.restart();
    assert!(
        slapd
            .ldapsearch("(uid=crash)", &["uid"])
            .contains("uid: crash")
    );
    slapd.bind_ok(&user_dn("crash"), "crash-pass-1").unwrap();
    slapd
        .bind_ok(slapd.service_dn(), slapd.service_password())
        .unwrap();
}

#[tokio::test]
async fn project_schema_loads() {
    let slapd = Slapd::start();
    let mut service = as_service(&slapd).await;
    let dn = user_dn("st-000123");
    let entry = vec![
        (
            "objectClass",
            HashSet::from(["inetOrgPerson", "hopthuMailbox"]),
        ),
        ("uid", HashSet::from(["st-000123"])),
        ("cn", HashSet::from(["Lò Văn Thành"])),
        ("sn", HashSet::from(["Lò"])),
        ("mail", HashSet::from(["thanh.lv@sonla.gov.vn"])),
        ("hopthuKey", HashSet::from(["person/st-000123"])),
        ("hopthuQuota", HashSet::from(["1073741824"])),
        ("hopthuSavedService", HashSet::from(["imap", "pop3"])),
    ];
    service.add(&dn, entry).await.unwrap().success().unwrap();

    let state = vec![
        ("objectClass", HashSet::from(["hopthuState"])),
        ("cn", HashSet::from(["state"])),
        ("hopthuRecord", HashSet::from(["owned person/st-000123"])),
    ];
    let state_dn = format!("cn=state,ou=system,{}", slapd.base_dn());
    service
        .add(&state_dn, state)
        .await
        .unwrap()
        .success()
        .unwrap();

    let count = |filter: &'static str| {
        let mut service = service.clone();
        let base = slapd.base_dn();
        async move {
            let (found, _) = service
                .search(base, Scope::Subtree, filter, vec!["1.1"])
                .await
                .unwrap()
                .success()
                .unwrap();
            found.len()
        }
    };
    assert_eq!(count("(hopthuKey=person/st-000123)").await, 1);
    assert_eq!(count("(hopthuKey=PERSON/ST-000123)").await, 0, "exact");
    assert_eq!(count("(hopthuQuota>=1000000)").await, 1);
    assert_eq!(count("(hopthuRecord=owned person/st-000123)").await, 1);

    let second_key = Mod::Add("hopthuKey", HashSet::from(["person/other"]));
    let rc = rc_of(service.modify(&dn, vec![second_key]).await);
    assert_eq!(rc, 19, "hopthuKey is single-valued: constraintViolation");
}

#[tokio::test]
async fn starts_without_ppolicy_and_lastbind() {
    let slapd = Slapd::start_with(SlapdOptions {
        ppolicy: false,
        lastbind: false,
        ..SlapdOptions::default()
    });
    slapd.ldapadd(&person("plain", "plain-pass-1", ""));
    slapd.bind_ok(&user_dn("plain"), "plain-pass-1").unwrap();
    slapd
        .bind_ok(slapd.service_dn(), slapd.service_password())
        .unwrap();
    assert!(
        !slapd
            .ldapsearch("(objectClass=pwdPolicy)", &["cn"])
            .contains("dn:")
    );
}

#[test]
#[should_panic(expected = "slapadd of the seed failed")]
fn broken_seed_stops_the_test_with_slapadd_output() {
    Slapd::start_with(SlapdOptions {
        seed_ldif:
            "dn: uid=orphan,ou=nowhere,dc=sonla,dc=gov,dc=vn\nobjectClass: account\nuid: orphan\n"
                .into(),
        ..SlapdOptions::default()
    });
}

#[test]
#[should_panic(expected = "slapd did not restart: PortTaken")]
fn restart_fails_loudly_when_the_port_is_taken() {
    let mut slapd = Slapd::start();
    slapd.stop();
    let _squatter = std::net::TcpListener::bind(("127.0.0.1", slapd.port())).unwrap();
    slapd.restart();
}
