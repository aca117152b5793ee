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
    let _ = hopthu::diagnostics::render_json(&o.diagnostics, o.omitted);
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

/// Agency-like documents whose people are written in many styles:
/// indentations, comments, flow items, a `-` alone on its line, quoted,
/// multi-line and block values, nested locks.
fn people_lists() -> impl Strategy<Value = String> {
    let value = prop::sample::select(vec![
        "A",
        "\"B c\"",
        "'D''e'",
        "F # note",
        "G\n      continued",
        "|\n      block",
        "",
        "[]",
        "{reason: spam}",
        "\n      reason: inactive\n      since: 2026-10-01",
    ]);
    let key = prop::sample::select(vec!["id", "name", "status", "lock", "title", "unit"]);
    let item = (prop::collection::vec((key, value), 1..5), 0usize..4).prop_map(|(kvs, style)| {
        let d = 0;
        let mut seen = std::collections::HashSet::new();
        let kvs: Vec<_> = kvs.into_iter().filter(|(k, _)| seen.insert(*k)).collect();
        let ind = " ".repeat(d);
        let body = |pad: &str| -> Vec<String> {
            kvs.iter()
                .map(|(k, v)| {
                    format!("{pad}{k}: {}", v.replace("\n      ", &format!("\n{pad}  ")))
                        .trim_end()
                        .to_string()
                })
                .collect()
        };
        match style {
            0 => {
                let pad = format!("{ind}  ");
                let mut lines = body(&pad);
                lines[0] = format!("{ind}- {}", lines[0].trim_start());
                lines.join("\n")
            }
            1 => format!("{ind}-\n{}", body(&format!("{ind}  ")).join("\n")),
            2 => format!("{ind}- {{id: f, name: F}}"),
            _ => {
                let pad = format!("{ind}  ");
                let mut lines = body(&pad);
                lines[0] = format!("{ind}- {}", lines[0].trim_start());
                lines.insert(1.min(lines.len()), format!("{pad}# comment"));
                lines.push(String::new());
                lines.join("\n")
            }
        }
    });
    (
        prop::collection::vec(item, 0..4),
        0usize..3,
        any::<bool>(),
        0usize..3,
    )
        .prop_map(|(items, style, units_first, d)| {
            let mut s = String::from("# top\ncode: S01\n");
            let units = "units:\n  - code: vp\n";
            if units_first {
                s.push_str(units);
            }
            match style {
                0 if items.is_empty() => s.push_str("people: []\n"),
                1 if items.is_empty() => {}
                _ => {
                    s.push_str("people:\n");
                    // Every item at the same indentation.
                    for it in &items {
                        for line in it.split('\n') {
                            if !line.is_empty() {
                                s.push_str(&" ".repeat(d));
                            }
                            s.push_str(line);
                            s.push('\n');
                        }
                    }
                }
            }
            s.push_str("# end\n");
            if !units_first {
                s.push_str(units);
            }
            s
        })
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

    #[test]
    fn editing_arbitrary_yaml_never_panics(text in yamlish(), i in 0usize..4, k in 0usize..4) {
        use hopthu::yamledit::Editor;
        let key = ["name", "status", "lock", "title"][k];
        let pointer = format!("/people/{i}");
        for op in 0..4 {
            let Ok(mut e) = Editor::new(&text) else { return Ok(()) };
            let _ = match op {
                0 => e.set(&pointer, key, "x", &["a:".into(), "  b: c".into()]),
                1 => e.remove_key(&pointer, key),
                2 => e.remove_item(&pointer),
                _ => e.append_item("people", &[("id".into(), "p".into()), ("name".into(), "N".into())]),
            };
            let _ = e.append_item("units", &[("code".into(), "u".into())]);
            if let Ok(edited) = e.finish() {
                let _ = edited.unified_diff("a.yaml", 2);
            }
        }
    }

    /// Edits of people lists written every way YAML allows do what they
    /// say, and the result parses.
    #[test]
    fn edits_of_people_lists_do_what_they_say(text in people_lists(), i in 0usize..2, k in 0usize..5, op in 0usize..4) {
        use hopthu::yaml::{parse, Value};
        use hopthu::yamledit::Editor;
        let before = parse(&text);
        prop_assume!(before.errors.is_empty() && before.root.is_some());
        let root = before.root.unwrap();
        let count = |r: &hopthu::yaml::Node| match r.lookup("/people").map(|(n, _)| &n.value) {
            Some(Value::Seq(items)) => items.len(),
            _ => 0,
        };
        let n = count(&root);
        let key = ["name", "status", "lock", "title", "id"][k];
        let pointer = format!("/people/{i}");
        let mut e = Editor::new(&text).unwrap();
        let done = match op {
            0 => e.set(&pointer, key, "x y", &[]),
            1 => e.remove_key(&pointer, key),
            2 => e.remove_item(&pointer),
            _ => e.append_item("people", &[("id".into(), "\"p9\"".into()), ("name".into(), "N".into())]),
        };
        let Ok(edited) = e.finish() else { return Ok(()) };
        let after = parse(&edited.text);
        prop_assert!(after.errors.is_empty(), "{text}\n=>\n{}\n{:?}", edited.text, after.errors);
        let after = after.root.unwrap();
        if done.is_err() {
            prop_assert_eq!(&edited.text, &text);
            return Ok(());
        }
        match op {
            0 => prop_assert_eq!(after.lookup(&format!("{pointer}/{key}")).and_then(|(v, _)| v.as_str()), Some("x y"), "{}", edited.text),
            1 => {
                prop_assert!(after.lookup(&format!("{pointer}/{key}")).is_none(), "{}", edited.text);
                prop_assert_eq!(count(&after), n);
            }
            2 => prop_assert_eq!(count(&after), n - 1, "{}", edited.text),
            _ => {
                prop_assert_eq!(count(&after), n + 1, "{}", edited.text);
                prop_assert_eq!(after.lookup(&format!("/people/{n}/id")).and_then(|(v, _)| v.as_str()), Some("p9"), "{}", edited.text);
            }
        }
        // The other people are as they were.
        if op != 2 {
            for j in 0..n {
                if op < 2 && j == i { continue; }
                prop_assert_eq!(root.lookup(&format!("/people/{j}")).map(|(v, _)| v.to_json()), after.lookup(&format!("/people/{j}")).map(|(v, _)| v.to_json()));
            }
        }
    }

    #[test]
    fn arbitrary_sheets_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400), text in "[ -~\u{a0}-\u{1ef9};,\"\n\r\t]{0,300}") {
        let _ = hopthu::sheet::read_bytes(bytes, None);
        let mut zip = b"PK\x03\x04".to_vec();
        zip.extend(text.as_bytes());
        let _ = hopthu::sheet::read_bytes(zip, Some("x"));
        if let Ok(hopthu::sheet::Table::Csv(readings)) = hopthu::sheet::read_bytes(text.into_bytes(), None) {
            for (_, rows) in readings {
                let _ = hopthu::request::find_header(&rows);
            }
        }
    }
}
