//! The committed JSON Schemas in `schema/` are exactly what the Rust types
//! generate: an editor that checks against them sees the same rules as
//! `hopthu validate`.

#[test]
fn committed_schema_files_match_the_generated_ones() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
    for (name, generated) in hopthu::schema::files() {
        let committed = std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("schema/{name}: {e}; run `hopthu schema --write schema`"));
        assert!(
            committed == generated,
            "schema/{name} differs from the types in src/model.rs; run `hopthu schema --write schema`"
        );
    }
}

#[test]
fn the_agency_schema_accepts_the_spec_example_and_refuses_a_look_alike() {
    let v = hopthu::schema::Validators::new();
    let mut doc = serde_json::json!({
        "apiVersion": "hopthu/v1", "kind": "Agency", "code": "03646", "abbr": "tohieu",
        "type": "ward", "name": "Phường Tô Hiệu", "formerAbbrs": [],
        "mailbox": {"status": "active", "quota": "10GiB"},
        "units": [{"code": "vp", "abbr": "vp", "name": "Văn phòng HĐND và UBND"}],
        "people": [{"id": "st-000123", "name": "Nguyễn Văn An", "unit": "vp",
            "address": "annv.tohieu", "status": "locked",
            "lock": {"reason": "inactive", "since": "2026-10-01", "note": "free text"},
            "quota": "5GiB", "aliases": [], "legacy": false, "given": "An"}]
    });
    assert!(v.agency.is_valid(&doc));
    doc["people"][0]["name"] = "Nguy\u{0435}n Văn An".into();
    assert!(!v.agency.is_valid(&doc));
    doc["people"][0]["name"] = "Nguyễn Văn An".into();
    doc["people"][0]["lock"]["since"] = "2026-13-01".into();
    assert!(!v.agency.is_valid(&doc), "format: date is checked");
}
