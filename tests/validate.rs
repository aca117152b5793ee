//! The rules of `hopthu validate`, one test per rule, on small repositories
//! written to temporary folders.

use hopthu::diagnostics::{Diagnostic, Severity};
use hopthu::model::Language;
use hopthu::schema::Validators;
use hopthu::source::FileSet;
use hopthu::validate::{Options, Outcome, validate};
use std::path::Path;

const SETTINGS: &str = "apiVersion: hopthu/v1\ndomain: sonla.gov.vn\nlanguage: en\n";

fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
}

fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

fn check_dir(dir: &Path) -> Outcome {
    let files = FileSet::read_folder(dir).unwrap();
    validate(
        &files,
        &Validators::new(),
        &Options {
            lang: Some(Language::En),
            today: today(),
        },
    )
}

fn check(agency: &str) -> Outcome {
    let dir = repo(&[("hopthu.yaml", SETTINGS), ("agencies/a.yaml", agency)]);
    check_dir(dir.path())
}

fn agency(body: &str) -> String {
    format!(
        "apiVersion: hopthu/v1\nkind: Agency\ncode: \"S01\"\nabbr: skhcn\ntype: department\nname: Sở Khoa học và Công nghệ\n{body}"
    )
}

fn find<'a>(o: &'a Outcome, code: &str) -> &'a Diagnostic {
    o.diagnostics
        .iter()
        .find(|d| d.code == code)
        .unwrap_or_else(|| panic!("no {code} in {:#?}", o.diagnostics))
}

fn codes(o: &Outcome) -> Vec<&'static str> {
    o.diagnostics.iter().map(|d| d.code).collect()
}

#[test]
fn a_clean_repository_is_valid_and_yields_every_mailbox() {
    let o = check(&agency(
        "units:\n  - code: vp\n    abbr: vp\n    name: Văn phòng Sở\npeople:\n  - id: p1\n    name: Nguyễn Văn An\n    unit: vp\n",
    ));
    assert!(o.diagnostics.is_empty(), "{:#?}", o.diagnostics);
    let addrs: Vec<&str> = o.desired.iter().map(|m| m.address.as_str()).collect();
    assert_eq!(
        addrs,
        [
            "skhcn@sonla.gov.vn",
            "annv.skhcn@sonla.gov.vn",
            "vp.skhcn@sonla.gov.vn"
        ]
    );
    let keys: Vec<&str> = o.desired.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(keys, ["agency/S01", "person/p1", "unit/S01/vp"]);
    let person = &o.desired[1];
    assert_eq!(person.given_name.as_deref(), Some("An"));
    assert_eq!(person.surname.as_deref(), Some("Nguyễn Văn"));
    assert_eq!(person.quota, 2 << 30);
}

#[test]
fn yaml_syntax_errors_point_at_their_line() {
    let o = check("apiVersion: hopthu/v1\nkind: [Agency\ncode: x\n");
    let d = find(&o, "E010");
    assert_eq!(d.file, "agencies/a.yaml");
    assert!(d.line >= 2, "{d:?}");
}

#[test]
fn duplicate_keys_are_errors() {
    let o = check(&agency("abbr: other\n"));
    let d = find(&o, "E011");
    assert_eq!((d.line, d.column), (7, 1));
    assert!(d.message.contains("first on line 4"), "{}", d.message);
}

#[test]
fn anchors_and_aliases_are_refused() {
    let o = check(&agency(
        "units:\n  - &u\n    code: vp\n    abbr: vp\n    name: VP\n  - *u\n",
    ));
    assert_eq!(codes(&o).iter().filter(|c| **c == "E012").count(), 2);
}

#[test]
fn tabs_used_for_indentation_are_errors() {
    let o = check(&agency("people:\n\t- id: p1\n"));
    let d = find(&o, "E013");
    assert_eq!((d.line, d.column), (8, 1));
}

#[test]
fn files_over_five_mebibytes_are_refused_unread() {
    let big = format!("{}\n# {}\n", agency(""), "x".repeat(5 * 1024 * 1024));
    let o = check(&big);
    assert_eq!(codes(&o), ["E003"]);
}

#[test]
fn stray_files_links_and_nested_repositories_are_outside_the_layout() {
    let dir = repo(&[
        ("hopthu.yaml", SETTINGS),
        ("agencies/a.yaml", &agency("")),
        ("agencies/b.yml", "x: 1\n"),
        ("agencies/notes.txt", "x"),
        ("agencies/sub/.git", "gitdir: ../x"),
        ("README.md", "a repository may hold other files at its root"),
    ]);
    std::os::unix::fs::symlink(
        dir.path().join("agencies/a.yaml"),
        dir.path().join("agencies/link.yaml"),
    )
    .unwrap();
    let o = check_dir(dir.path());
    let outside: Vec<&str> = o
        .diagnostics
        .iter()
        .filter(|d| d.code == "E004")
        .map(|d| d.file.as_str())
        .collect();
    assert_eq!(
        outside,
        [
            "agencies/b.yml",
            "agencies/link.yaml",
            "agencies/notes.txt",
            "agencies/sub"
        ]
    );
}

#[test]
fn a_missing_settings_file_is_an_error() {
    let dir = repo(&[("agencies/a.yaml", &agency(""))]);
    let o = check_dir(dir.path());
    assert_eq!(find(&o, "E005").file, "hopthu.yaml");
}

#[test]
fn misspelled_keys_get_did_you_mean() {
    let o = check(&agency(
        "people:\n  - id: p1\n    name: Nguyễn Văn An\n    adress: annv.skhcn\n",
    ));
    let d = find(&o, "E020");
    assert!(
        d.message.contains("did you mean `address`"),
        "{}",
        d.message
    );
    assert_eq!((d.line, d.column, d.width), (10, 5, 6));
    assert_eq!(d.pointer, "/people/0/adress");
    // The rest of the person is still checked: the derived address is claimed.
    assert_eq!(o.desired.len(), 2);
}

#[test]
fn missing_keys_wrong_types_and_unknown_values_are_schema_errors() {
    let o = check("apiVersion: hopthu/v1\nkind: Agency\ncode: 03646\nabbr: tohieu\ntype: phuong\n");
    assert!(find(&o, "E021").message.contains("`name`"));
    let t = find(&o, "E022");
    assert_eq!(t.line, 3);
    assert!(t.hint.as_deref().unwrap().contains("\"03646\""), "{t:?}");
    let e = find(&o, "E023");
    assert!(e.message.contains("`ward`"), "{}", e.message);
}

#[test]
fn person_addresses_must_follow_the_rule() {
    let o = check(&agency(
        "people:\n  - id: p1\n    name: Nguyễn Văn An\n    address: nguyenvanan.skhcn\n",
    ));
    let d = find(&o, "E040");
    assert_eq!((d.line, d.column), (10, 14));
    assert!(d.message.contains("annv.skhcn"), "{}", d.message);
}

#[test]
fn a_legacy_address_is_only_a_warning() {
    let o = check(&agency(
        "people:\n  - id: p1\n    name: Nguyễn Văn An\n    address: nguyenvanan\n    legacy: true\n",
    ));
    assert_eq!(codes(&o), ["W040"]);
    assert!(o.is_valid());
    assert_eq!(o.desired[1].address, "nguyenvanan@sonla.gov.vn");
}

#[test]
fn an_explicit_address_is_allowed_when_the_derived_one_is_taken() {
    let people = "people:\n  - id: p1\n    name: Nguyễn Văn An\n  - id: p2\n    name: Ngô Văn An\n    address: an2nv.skhcn\n";
    let o = check(&agency(people));
    assert!(o.diagnostics.is_empty(), "{:#?}", o.diagnostics);
    // ...but not when it is free.
    let o = check(&agency(
        "people:\n  - id: p2\n    name: Ngô Văn An\n    address: an2nv.skhcn\n",
    ));
    assert_eq!(codes(&o), ["E040"]);
    // ...and it must keep the given name and the agency.
    let o = check(&agency(
        "people:\n  - id: p1\n    name: Nguyễn Văn An\n  - id: p2\n    name: Ngô Văn An\n    address: binh.skhcn\n",
    ));
    assert_eq!(codes(&o), ["E040"]);
}

#[test]
fn two_people_deriving_the_same_address_collide_with_a_free_suggestion() {
    let o = check(&agency(
        "people:\n  - id: p1\n    name: Nguyễn Văn An\n  - id: p2\n    name: Ngô Văn An\n",
    ));
    let d = find(&o, "E042");
    assert_eq!(d.line, 11);
    assert!(
        d.message.contains("annv.skhcn@sonla.gov.vn"),
        "{}",
        d.message
    );
    assert!(
        d.hint.as_deref().unwrap().contains("address: an2nv.skhcn"),
        "{d:?}"
    );
}

#[test]
fn addresses_and_aliases_are_unique_ignoring_case_across_files() {
    let dir = repo(&[
        ("hopthu.yaml", SETTINGS),
        (
            "agencies/a.yaml",
            &agency("people:\n  - id: p1\n    name: Nguyễn Văn An\n    aliases: [VP.STC]\n"),
        ),
        (
            "agencies/b.yaml",
            "apiVersion: hopthu/v1\nkind: Agency\ncode: S02\nabbr: stc\ntype: department\nname: Sở Tài chính\nunits:\n  - code: vp\n    abbr: vp\n    name: Văn phòng\n",
        ),
    ]);
    let o = check_dir(dir.path());
    let d = find(&o, "E042");
    assert_eq!(d.file, "agencies/b.yaml");
    assert!(d.message.contains("agencies/a.yaml:10"), "{}", d.message);
}

#[test]
fn agency_codes_and_person_ids_are_unique() {
    let dir = repo(&[
        ("hopthu.yaml", SETTINGS),
        (
            "agencies/a.yaml",
            &agency("people:\n  - id: p1\n    name: Nguyễn Văn An\n"),
        ),
        (
            "agencies/b.yaml",
            "apiVersion: hopthu/v1\nkind: Agency\ncode: \"S01\"\nabbr: stc\ntype: department\nname: Sở Tài chính\npeople:\n  - id: p1\n    name: Lò Văn Ún\n",
        ),
    ]);
    let o = check_dir(dir.path());
    assert!(find(&o, "E043").message.contains("agencies/a.yaml"));
    let d = find(&o, "E044");
    assert_eq!((d.file.as_str(), d.line), ("agencies/b.yaml", 8));
    assert_eq!(d.pointer, "/people/0/id");
    assert!(d.message.contains("agencies/a.yaml"), "{}", d.message);
    // The second p1 asks for no mailbox: the first keeps the key.
    let p1: Vec<_> = o.desired.iter().filter(|m| m.key == "person/p1").collect();
    assert_eq!(p1.len(), 1);
    assert_eq!(p1[0].address, "annv.skhcn@sonla.gov.vn");
}

#[test]
fn unit_references_must_exist() {
    let o = check(&agency(
        "units:\n  - code: vp\n    abbr: vp\n    name: Văn phòng\npeople:\n  - id: p1\n    name: Nguyễn Văn An\n    unit: kt\n",
    ));
    let d = find(&o, "E046");
    assert_eq!(d.line, 14);
    assert!(d.hint.as_deref().unwrap().contains("`vp`"));
}

#[test]
fn a_locked_mailbox_needs_a_reason_and_a_date_not_in_the_future() {
    let o = check(&agency(
        "people:\n  - id: p1\n    name: Nguyễn Văn An\n    status: locked\n",
    ));
    assert_eq!(codes(&o), ["E047"]);
    let o = check(&agency(
        "people:\n  - id: p1\n    name: Nguyễn Văn An\n    status: locked\n    lock:\n      reason: inactive\n      since: 2027-01-01\n",
    ));
    let d = find(&o, "E049");
    assert!(d.message.contains("2026-12-03"), "{}", d.message);
    let o = check(&agency(
        "people:\n  - id: p1\n    name: Nguyễn Văn An\n    status: locked\n    lock:\n      reason: inactive\n      since: 2026-02-30\n",
    ));
    assert!(
        codes(&o).contains(&"E049") || codes(&o).contains(&"E024"),
        "{:?}",
        codes(&o)
    );
    let o = check(&agency(
        "people:\n  - id: p1\n    name: Nguyễn Văn An\n    status: locked\n    lock:\n      reason: bored\n      since: 2026-10-01\n",
    ));
    assert_eq!(codes(&o), ["E023"]);
    let o = check(&agency(
        "people:\n  - id: p1\n    name: Nguyễn Văn An\n    status: locked\n    lock: {reason: inactive, since: 2026-10-01}\n",
    ));
    assert!(o.diagnostics.is_empty(), "{:#?}", o.diagnostics);
    assert_eq!(o.desired[1].status, hopthu::model::Status::Locked);
}

#[test]
fn quotas_parse_and_stay_within_the_maximum() {
    let o = check(&agency(
        "people:\n  - id: p1\n    name: Nguyễn Văn An\n    quota: 60GiB\n  - id: p2\n    name: Lò Văn Ún\n    quota: lots\n  - id: p3\n    name: Cầm Ún\n    quota: 500MiB\n",
    ));
    assert_eq!(find(&o, "E051").line, 10);
    assert_eq!(find(&o, "E024").line, 13);
    let p3 = o.desired.iter().find(|m| m.key == "person/p3").unwrap();
    assert_eq!(p3.quota, 500 << 20);
}

#[test]
fn look_alike_letters_are_errors_naming_the_character_and_its_position() {
    // "Nguyễn" with a Cyrillic "у" (U+0443) as its second letter.
    let o = check(&agency(
        "people:\n  - id: p1\n    name: N\u{443}yễn Văn An\n",
    ));
    let d = find(&o, "E030");
    assert_eq!((d.line, d.column), (9, 12));
    assert!(
        d.message.contains("U+0443") && d.message.contains("position 2"),
        "{}",
        d.message
    );
    assert!(o.desired.iter().all(|m| m.key != "person/p1"));
}

#[test]
fn zero_width_and_control_characters_are_errors() {
    let o = check(&agency(
        "people:\n  - id: p1\n    name: \"Nguyễn\u{200b} Văn An\"\n",
    ));
    let d = find(&o, "E031");
    assert!(
        d.message.contains("U+200B") && d.message.contains("position 7"),
        "{}",
        d.message
    );
    assert_eq!(d.column, 12 + 6);
    let o = check(&agency(
        "people:\n  - id: p1\n    name: \"Nguyễn\\tVăn An\"\n",
    ));
    assert!(codes(&o).contains(&"E031"), "{:?}", codes(&o));
}

#[test]
fn decomposed_names_are_accepted_with_a_warning() {
    let o = check(&agency(
        "people:\n  - id: p1\n    name: Nguye\u{302}\u{303}n Va\u{306}n An\n",
    ));
    assert_eq!(codes(&o), ["W032"]);
    assert!(o.is_valid());
    let p = &o.desired[1];
    assert_eq!(p.address, "annv.skhcn@sonla.gov.vn");
    assert_eq!(p.display_name, "Nguyễn Văn An");
}

#[test]
fn organisation_names_may_hold_punctuation_but_not_look_alikes() {
    let o = check(&agency(
        "units:\n  - code: kt\n    abbr: pkthtdt\n    name: \"Phòng Kinh tế, Hạ tầng và Đô thị (phường)\"\n",
    ));
    assert!(o.diagnostics.is_empty(), "{:#?}", o.diagnostics);
    let o = check(&agency(
        "units:\n  - code: kt\n    abbr: kt\n    name: Phòng Kinh t\u{435}\n",
    ));
    assert_eq!(codes(&o), ["E030"]);
}

#[test]
fn communes_and_wards_take_their_address_from_their_name() {
    let ward = "apiVersion: hopthu/v1\nkind: Agency\ncode: \"03646\"\nabbr: tohieu\ntype: ward\nname: Phường Tô Hiệu\nunits:\n  - code: vp\n    abbr: vp\n    name: Văn phòng HĐND và UBND\n";
    let o = check(ward);
    assert!(o.diagnostics.is_empty(), "{:#?}", o.diagnostics);
    assert_eq!(o.desired[0].address, "tohieu@sonla.gov.vn");
    assert_eq!(o.desired[1].address, "vp.tohieu@sonla.gov.vn");
    let o = check(&ward.replace("abbr: tohieu", "abbr: th"));
    let d = find(&o, "E053");
    assert!(d.message.contains("`tohieu`"), "{}", d.message);
}

#[test]
fn family_last_names_use_the_given_name_written_apart() {
    let o = check(&agency(
        "people:\n  - id: p1\n    name: H'Hen Niê\n    given: H'Hen\n  - id: p2\n    name: Y Moan Êban\n    given: Moan\n  - id: p3\n    name: Lò Văn Ún\n    given: Bình\n",
    ));
    let addr = |k: &str| {
        o.desired
            .iter()
            .find(|m| m.key == k)
            .map(|m| m.address.clone())
    };
    assert_eq!(
        addr("person/p1").as_deref(),
        Some("hhenn.skhcn@sonla.gov.vn")
    );
    assert_eq!(
        addr("person/p2").as_deref(),
        Some("moanye.skhcn@sonla.gov.vn")
    );
    assert_eq!(find(&o, "E052").line, 16);
    let o = check(&agency(
        "people:\n  - id: p1\n    name: Y Moan Êban\n    given: Y Moan\n",
    ));
    assert!(o.diagnostics.is_empty(), "{:#?}", o.diagnostics);
    assert_eq!(o.desired[1].address, "ymoane.skhcn@sonla.gov.vn");
    assert_eq!(o.desired[1].given_name.as_deref(), Some("Y Moan"));
    assert_eq!(o.desired[1].surname.as_deref(), Some("Êban"));
}

#[test]
fn an_address_written_with_its_domain_gets_a_hint() {
    let o = check(&agency(
        "people:\n  - id: p1\n    name: Nguyễn Văn An\n    address: annv.skhcn@sonla.gov.vn\n",
    ));
    let d = find(&o, "E041");
    assert_eq!(d.hint.as_deref(), Some("address: annv.skhcn"));
}

#[test]
fn every_finding_is_reported_in_one_run() {
    let o = check(&agency(
        "people:\n  - id: p1\n    name: N\u{443}yen\n  - id: p2\n    name: Lò Văn Ún\n    status: locked\n  - id: p3\n    name: Cầm Ún\n    quota: 99TiB\n    unit: x\n",
    ));
    let mut c = codes(&o);
    c.sort();
    assert_eq!(c, ["E030", "E046", "E047", "E051"]);
}

#[test]
fn messages_are_vietnamese_by_default() {
    let dir = repo(&[
        (
            "hopthu.yaml",
            "apiVersion: hopthu/v1\ndomain: sonla.gov.vn\n",
        ),
        ("agencies/a.yaml", &agency("adress: x\n")),
    ]);
    let files = FileSet::read_folder(dir.path()).unwrap();
    let o = validate(
        &files,
        &Validators::new(),
        &Options {
            lang: None,
            today: today(),
        },
    );
    assert_eq!(o.lang, Language::Vi);
    assert!(find(&o, "E020").message.starts_with("khóa không hợp lệ"));
    assert_eq!(o.diagnostics[0].severity, Severity::Error);
}

#[test]
fn bom_and_crlf_files_are_tolerated() {
    let text = format!(
        "\u{feff}{}",
        agency("people:\n  - id: p1\n    name: Nguyễn Văn An\n").replace('\n', "\r\n")
    );
    let o = check(&text);
    assert!(o.diagnostics.is_empty(), "{:#?}", o.diagnostics);
}

#[test]
fn bytes_that_are_not_utf8_are_reported_on_their_line() {
    let dir = repo(&[("hopthu.yaml", SETTINGS)]);
    std::fs::create_dir_all(dir.path().join("agencies")).unwrap();
    std::fs::write(
        dir.path().join("agencies/a.yaml"),
        b"apiVersion: hopthu/v1\nname: Nguy\xe1n\n",
    )
    .unwrap();
    let o = check_dir(dir.path());
    let d = find(&o, "E002");
    assert_eq!(d.line, 2);
}

#[test]
fn unit_codes_are_unique_within_an_agency() {
    let o = check(&agency(
        "units:\n  - code: vp\n    abbr: vp\n    name: Văn phòng\n  - code: vp\n    abbr: tc\n    name: Phòng Tổ chức\n",
    ));
    let d = find(&o, "E045");
    assert_eq!((d.line, d.pointer.as_str()), (11, "/units/1/code"));
}

#[test]
fn a_lock_on_an_active_mailbox_is_a_warning() {
    let o = check(&agency(
        "people:\n  - id: p1\n    name: Nguyễn Văn An\n    lock:\n      reason: inactive\n      since: 2026-10-01\n",
    ));
    assert_eq!(codes(&o), ["W048"]);
    assert!(o.is_valid());
}

#[test]
fn former_abbreviations_must_not_list_the_current_one() {
    let o = check(&agency("formerAbbrs: [skhdt, skhcn]\n"));
    let d = find(&o, "W054");
    assert_eq!(d.pointer, "/formerAbbrs/1");
}

#[test]
fn several_documents_tags_complex_keys_and_deep_nesting_are_refused() {
    let o = check(&format!("{}---\nkind: Agency\n", agency("")));
    assert!(codes(&o).contains(&"E014"), "{:?}", codes(&o));
    let o = check(&agency("units: !custom [a]\n"));
    assert!(codes(&o).contains(&"E015"), "{:?}", codes(&o));
    let o = check(&agency("? [a, b]\n: x\n"));
    assert!(
        codes(&o).contains(&"E015") || codes(&o).contains(&"E016"),
        "{:?}",
        codes(&o)
    );
    let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
    let o = check(&agency(&format!("units: {deep}\n")));
    assert!(codes(&o).contains(&"E016"), "{:?}", codes(&o));
    let o = check("");
    assert!(codes(&o).contains(&"E016"), "{:?}", codes(&o));
}

#[test]
fn yaml_errors_are_reported_even_when_a_top_level_key_is_missing() {
    // No `name`, a duplicate key and an alias: every one is reported.
    let o = check(
        "apiVersion: hopthu/v1\nkind: Agency\ncode: \"S01\"\nabbr: skhcn\nabbr: stc\ntype: &t department\nx: *t\n",
    );
    let c = codes(&o);
    for code in ["E021", "E011", "E012"] {
        assert!(c.contains(&code), "{code} missing from {c:?}");
    }
}

#[test]
fn a_name_no_address_can_be_made_from_is_an_error() {
    let o = check(&agency("people:\n  - id: p1\n    name: \"- -\"\n"));
    let d = find(&o, "E033");
    assert_eq!(d.pointer, "/people/0/name");
}

#[test]
fn a_value_of_the_wrong_form_names_its_key_not_its_index() {
    let o = check(&agency(
        "people:\n  - id: p1\n    name: Nguyễn Văn An\n    aliases: [\"an nguyen\"]\n",
    ));
    let d = find(&o, "E024");
    assert_eq!(d.pointer, "/people/0/aliases/0");
    assert!(d.message.contains("aliases"), "{}", d.message);
    assert!(!d.message.contains("`0`"), "{}", d.message);
}

#[test]
fn an_alias_written_with_its_domain_gets_a_list_hint() {
    let o = check(&agency(
        "people:\n  - id: p1\n    name: Nguyễn Văn An\n    aliases: [an@sonla.gov.vn]\n",
    ));
    let d = find(&o, "E041");
    assert_eq!(d.hint.as_deref(), Some("- an"));
}

#[test]
fn an_unreadable_quota_and_a_default_over_the_maximum_are_errors() {
    let o = check(&agency(
        "people:\n  - id: p1\n    name: Nguyễn Văn An\n    quota: 2GiB\n",
    ));
    assert!(o.is_valid(), "{:#?}", o.diagnostics);
    let o = check(&agency(
        "people:\n  - id: p1\n    name: Nguyễn Văn An\n    quota: 3 gigs\n",
    ));
    // The schema's pattern refuses it (E024) and the rule says no more.
    assert_eq!(codes(&o), ["E024"]);
    // A quota the pattern takes but no unit size reads (E050).
    let o = check(&agency(
        "people:\n  - id: p1\n    name: Nguyễn Văn An\n    quota: 99999999999999999999999GiB\n",
    ));
    assert_eq!(codes(&o), ["E050"]);
    let dir = repo(&[
        (
            "hopthu.yaml",
            "apiVersion: hopthu/v1\ndomain: sonla.gov.vn\npolicy:\n  defaultQuota: 80GiB\n  maxQuota: 50GiB\n",
        ),
        ("agencies/a.yaml", &agency("")),
    ]);
    let o = check_dir(dir.path());
    let d = find(&o, "E051");
    assert_eq!(
        (d.file.as_str(), d.pointer.as_str()),
        ("hopthu.yaml", "/policy/defaultQuota")
    );
}

#[test]
fn agency_and_unit_addresses_follow_the_rules_too() {
    let o = check(&agency(
        "mailbox:\n  address: vanphong.skhcn\nunits:\n  - code: vp\n    abbr: vp\n    name: Văn phòng\n    mailbox:\n      address: vanphong\n      legacy: true\n",
    ));
    let e = find(&o, "E040");
    assert_eq!(e.pointer, "/mailbox/address");
    assert!(e.message.contains("`skhcn`"), "{}", e.message);
    assert!(
        !e.hint.as_deref().unwrap_or("").contains("given"),
        "{:?}",
        e.hint
    );
    let w = find(&o, "W040");
    assert_eq!(w.pointer, "/units/0/mailbox/address");
}

#[test]
fn look_alike_letters_in_a_title_are_errors() {
    let o = check(&agency(
        "people:\n  - id: p1\n    name: Nguyễn Văn An\n    title: Giám đốс\n",
    ));
    let d = find(&o, "E030");
    assert_eq!(d.pointer, "/people/0/title");
}

#[test]
fn a_fifo_under_agencies_is_refused_without_being_opened() {
    let dir = repo(&[("hopthu.yaml", SETTINGS), ("agencies/a.yaml", &agency(""))]);
    let fifo = dir.path().join("agencies/b.yaml");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // Opening a FIFO for reading would wait for a writer for ever.
    let o = check_dir(dir.path());
    let d = find(&o, "E004");
    assert_eq!(d.file, "agencies/b.yaml");
    assert!(d.message.contains("special file"), "{}", d.message);
}

#[test]
fn the_language_of_hopthu_yaml_is_used_without_lang() {
    let dir = repo(&[
        ("hopthu.yaml", SETTINGS),
        (
            "agencies/a.yaml",
            &agency("people:\n  - id: p1\n    nme: x\n"),
        ),
    ]);
    let files = FileSet::read_folder(dir.path()).unwrap();
    let o = validate(
        &files,
        &Validators::new(),
        &Options {
            lang: None,
            today: today(),
        },
    );
    assert_eq!(o.lang, Language::En);
    assert!(find(&o, "E020").message.starts_with("unknown key"));
}

#[test]
fn other_schema_limits_are_reported_at_their_value() {
    let long = "x".repeat(1001);
    let o = check(&agency(&format!(
        "people:\n  - id: p1\n    name: Nguyễn Văn An\n    status: locked\n    lock:\n      reason: inactive\n      since: 2026-10-01\n      note: {long}\n"
    )));
    let d = find(&o, "E025");
    assert_eq!(d.pointer, "/people/0/lock/note");
}

fn settings_with(policy: &str) -> Outcome {
    let dir = repo(&[
        (
            "hopthu.yaml",
            &format!(
                "apiVersion: hopthu/v1\ndomain: sonla.gov.vn\nlanguage: en\npolicy:\n{policy}"
            ),
        ),
        ("agencies/a.yaml", &agency("")),
    ]);
    check_dir(dir.path())
}

#[test]
fn a_mapping_of_many_keys_is_checked_and_its_errors_capped_per_file() {
    let mut text = agency("");
    for i in 0..20_000 {
        text.push_str(&format!("k{i}: 1\n"));
    }
    let o = check(&text);
    let max = hopthu::validate::MAX_ERRORS_PER_FILE;
    let unknown: Vec<&Diagnostic> = o.diagnostics.iter().filter(|d| d.code == "E020").collect();
    assert_eq!(unknown.len(), max);
    // The first ones, in the file's order, each with its own line.
    assert_eq!(unknown[0].line, 7);
    assert_eq!(unknown[0].source_line.as_deref(), Some("k0: 1"));
    assert_eq!(unknown[max - 1].source_line.as_deref(), Some("k999: 1"));
    let more = find(&o, "E009");
    assert_eq!(
        more.message,
        format!(
            "… and {} more errors in this file (only the first {max} are shown)",
            20_000 - max
        )
    );
    assert_eq!(o.diagnostics.last().unwrap().code, "E009");
    assert_eq!(o.errors(), 20_000);
    let json: serde_json::Value =
        serde_json::from_str(&hopthu::diagnostics::render_json(&o.diagnostics, o.omitted)).unwrap();
    assert_eq!(json["errors"], 20_000);
    assert_eq!(json["valid"], false);
}

#[test]
fn keys_written_many_times_are_each_reported_once_up_to_the_limit() {
    let mut text = agency("");
    for _ in 0..5_000 {
        text.push_str("abbr: x\n");
    }
    let o = check(&text);
    let dups = o.diagnostics.iter().filter(|d| d.code == "E011").count();
    assert_eq!(dups, hopthu::validate::MAX_ERRORS_PER_FILE);
    assert!(find(&o, "E011").message.contains("first on line 4"));
    assert_eq!(o.errors(), 5_000);
}

#[test]
fn many_people_with_one_name_are_reported_up_to_the_limit() {
    let mut people = String::from("people:\n");
    for i in 0..3_000 {
        people.push_str(&format!("  - id: p{i}\n    name: Nguyễn Văn An\n"));
    }
    let o = check(&agency(&people));
    let taken: Vec<&Diagnostic> = o.diagnostics.iter().filter(|d| d.code == "E042").collect();
    assert_eq!(taken.len(), hopthu::validate::MAX_ERRORS_PER_FILE);
    assert!(taken[0].hint.as_deref().unwrap().contains("an2nv.skhcn"));
    assert_eq!(o.errors(), 2_999);
    // Warnings are never capped: a valid repository keeps every one.
    let mut people = String::from("people:\n");
    for i in 0..1_500 {
        people.push_str(&format!("  - id: p{i}\n    name: Ca\u{300}m U\u{301}n\n    address: un{i}.skhcn\n    legacy: true\n"));
    }
    let o = check(&agency(&people));
    assert!(o.is_valid(), "{:#?}", &o.diagnostics[..3]);
    assert_eq!(o.warnings(), 3_000);
}

#[test]
fn a_long_line_is_shown_around_each_column() {
    // One line, flow style, thousands of unknown keys.
    let keys: Vec<String> = (0..3_000).map(|i| format!("k{i}: 1")).collect();
    let text = format!(
        "{{apiVersion: hopthu/v1, kind: Agency, code: \"S01\", abbr: skhcn, type: department, name: Sở Khoa học và Công nghệ, {}}}\n",
        keys.join(", ")
    );
    let o = check(&text);
    let unknown: Vec<&Diagnostic> = o.diagnostics.iter().filter(|d| d.code == "E020").collect();
    assert_eq!(unknown.len(), hopthu::validate::MAX_ERRORS_PER_FILE);
    for d in [unknown[0], unknown[500], unknown[999]] {
        let shown = hopthu::diagnostics::render_human(d, false, Language::En);
        let key = d.message.split('`').nth(1).unwrap();
        let lines: Vec<&str> = shown.lines().collect();
        let caret = lines[3].chars().position(|c| c == '^').unwrap();
        let under: String = lines[2].chars().skip(caret).collect();
        assert!(under.starts_with(&format!("{key}: 1")), "{shown}");
        assert!(lines[2].chars().count() < 140, "{shown}");
    }
}

#[test]
fn policy_day_counts_and_deletions_have_a_maximum_named_at_their_line() {
    for (key, value, range) in [
        ("inactiveLockDays", "4294967296", "from 1 to 36500"),
        ("revokeAfterLockDays", "36501", "from 1 to 36500"),
        ("renameGraceDays", "4294967295", "from 0 to 36500"),
        ("maxDeletesPerRun", "4294967296", "from 0 to 1000000"),
        ("renameGraceDays", "-1", "from 0 to 36500"),
        (
            "inactiveLockDays",
            "99999999999999999999",
            "from 1 to 36500",
        ),
    ] {
        let o = settings_with(&format!("  {key}: {value}\n"));
        let d = find(&o, "E025");
        assert_eq!(
            (d.file.as_str(), d.line, d.column),
            ("hopthu.yaml", 5, key.len() as u32 + 5)
        );
        assert_eq!(d.pointer, format!("/policy/{key}"));
        assert!(
            d.message
                .starts_with(&format!("`{key}` must be {range}, not ")),
            "{}",
            d.message
        );
        assert_eq!(o.errors(), 1, "{:#?}", o.diagnostics);
    }
    let o = settings_with("  password:\n    maxAgeDays: 4294967296\n");
    let d = find(&o, "E025");
    assert_eq!(
        (d.line, d.pointer.as_str()),
        (6, "/policy/password/maxAgeDays")
    );
    assert_eq!(
        d.message,
        "`maxAgeDays` must be from 1 to 36500, not 4294967296"
    );
    // The largest values are fine.
    let o = settings_with(
        "  inactiveLockDays: 36500\n  revokeAfterLockDays: 36500\n  renameGraceDays: 36500\n  maxDeletesPerRun: 1000000\n  password:\n    maxAgeDays: 36500\n",
    );
    assert!(o.is_valid(), "{:#?}", o.diagnostics);
    assert_eq!(o.settings.unwrap().policy.rename_grace_days, 36500);
}

#[test]
fn range_and_length_limits_read_in_vietnamese_by_default() {
    let dir = repo(&[
        (
            "hopthu.yaml",
            "apiVersion: hopthu/v1\ndomain: sonla.gov.vn\npolicy:\n  renameGraceDays: -1\n  password:\n    minLength: 4\n",
        ),
        (
            "agencies/a.yaml",
            &agency(&format!(
                "people:\n  - id: p1\n    name: Nguyễn Văn An\n    title: {}\n",
                "x".repeat(201)
            )),
        ),
    ]);
    let files = FileSet::read_folder(dir.path()).unwrap();
    let o = validate(
        &files,
        &Validators::new(),
        &Options {
            lang: None,
            today: today(),
        },
    );
    let messages: Vec<&str> = o
        .diagnostics
        .iter()
        .filter(|d| d.code == "E025")
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "`title` dài 201 ký tự, tối đa 200 ký tự",
            "`renameGraceDays` phải từ 0 đến 36500, không phải -1",
            "`minLength` phải từ 8 đến 128, không phải 4",
        ]
    );
    for m in messages {
        assert!(
            !m.contains("less than") && !m.contains("longer than"),
            "{m}"
        );
    }
}

#[test]
fn digits_in_a_persons_name_are_errors_at_their_character() {
    let o = check(&agency(
        "people:\n  - id: p1\n    name: Nguyễn Văn An2\n  - id: p2\n    name: H'Hen Niê\n    given: H'Hen1\n  - id: p3\n    name: Lò Văn–Ún\n",
    ));
    let names: Vec<&Diagnostic> = o.diagnostics.iter().filter(|d| d.code == "E030").collect();
    assert_eq!(names.len(), 3, "{:#?}", o.diagnostics);
    assert_eq!((names[0].line, names[0].column), (9, 24));
    assert_eq!(
        names[0].message,
        "the name holds `2` (U+0032) at position 14: a symbol not used in names"
    );
    assert!(names[0].hint.as_deref().unwrap().contains("no digits"));
    assert_eq!(names[1].pointer, "/people/1/given");
    assert!(names[1].message.contains("`1` (U+0031) at position 6"));
    assert_eq!(names[2].pointer, "/people/2/name");
    assert!(
        names[2].message.contains("U+2013 at position 7"),
        "{}",
        names[2].message
    );
    // No mailbox is asked for a name that is refused.
    assert!(o.desired.iter().all(|m| m.key != "person/p1"));
    // Organisation names may hold digits.
    let o = check(
        "apiVersion: hopthu/v1\nkind: Agency\ncode: \"W01\"\nabbr: \"1\"\ntype: ward\nname: Phường 1\nunits:\n  - code: t12\n    abbr: to12\n    name: Tổ 12\n",
    );
    assert!(o.is_valid(), "{:#?}", o.diagnostics);
}
