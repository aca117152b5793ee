//! No input makes the validator panic: arbitrary bytes and arbitrary YAML,
//! as a repository's settings file and as an agency file.

use hopthu::schema::Validators;
use hopthu::source::{Entry, FileSet, SourceFile};
use hopthu::validate::{Options, validate};
use proptest::prelude::*;
use std::sync::OnceLock;

fn validators() -> &'static Validators {
    static V: OnceLock<Validators> = OnceLock::new();
    V.get_or_init(Validators::new)
}

fn run(settings: Vec<u8>, agency: Vec<u8>) {
    let files = FileSet {
        settings: Some(SourceFile {
            path: "hopthu.yaml".into(),
            entry: Entry::File(settings),
        }),
        agencies: vec![SourceFile {
            path: "agencies/a.yaml".into(),
            entry: Entry::File(agency),
        }],
    };
    let o = validate(
        &files,
        validators(),
        &Options {
            lang: None,
            today: chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
        },
    );
    for d in &o.diagnostics {
        let _ = hopthu::diagnostics::render_human(d, true, o.lang);
        let _ = hopthu::diagnostics::render_github(d);
    }
    let _ = hopthu::diagnostics::render_json(&o.diagnostics);
}

const SETTINGS: &[u8] = b"apiVersion: hopthu/v1\ndomain: sonla.gov.vn\n";

/// YAML-ish text built from the format's own keys and awkward values.
fn yamlish() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "apiVersion",
        "kind",
        "code",
        "abbr",
        "type",
        "name",
        "people",
        "units",
        "id",
        "address",
        "status",
        "lock",
        "reason",
        "since",
        "quota",
        "aliases",
        "legacy",
        "given",
        "mailbox",
        "formerAbbrs",
        "unit",
        "x",
        "",
    ]);
    let value = prop::sample::select(vec![
        "hopthu/v1",
        "Agency",
        "\"03646\"",
        "03646",
        "ward",
        "Phường Tô Hiệu",
        "Nguyễn Văn An",
        "N\u{443}yen",
        "\"a\u{200b}b\"",
        "locked",
        "active",
        "2026-10-01",
        "2099-01-01",
        "9999TiB",
        "2GiB",
        "[]",
        "{}",
        "[a, b]",
        "&a x",
        "*a",
        "!!binary x",
        "|\n  block",
        "~",
        "true",
        "1e309",
        "- x",
        "'",
        "\"",
        ": :",
        "\t",
        "annv.skhcn@sonla.gov.vn",
        "{reason: inactive, since: 2026-10-01}",
        "- id: p1\n    name: Lò Văn Ún",
    ]);
    let line = (0usize..4, key, value)
        .prop_map(|(indent, k, v)| format!("{}{k}: {v}", "  ".repeat(indent)));
    let item = prop_oneof![
        line,
        (0usize..3, "[ -~\u{a0}-\u{1ef9}]{0,20}")
            .prop_map(|(i, s)| format!("{}- {s}", "  ".repeat(i))),
    ];
    prop::collection::vec(item, 0..30).prop_map(|l| l.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        run(SETTINGS.to_vec(), bytes.clone());
        run(bytes, b"apiVersion: hopthu/v1\n".to_vec());
    }

    #[test]
    fn arbitrary_yaml_never_panics(text in yamlish()) {
        let agency = format!("apiVersion: hopthu/v1\nkind: Agency\ncode: \"1\"\nabbr: a\ntype: ward\nname: Phường A\n{text}");
        run(SETTINGS.to_vec(), agency.into_bytes());
        run(text.clone().into_bytes(), text.into_bytes());
    }

    #[test]
    fn arbitrary_unicode_text_never_panics(text in "\\PC{0,200}") {
        run(SETTINGS.to_vec(), text.into_bytes());
    }
}
