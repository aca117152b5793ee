//! The naming rules of the regulation, proved against the shared case files
//! (`tests/cases/fold.tsv`, `slug.tsv`, `names.tsv`) and named rules.

use std::collections::HashSet;
use std::path::PathBuf;

use hopthu::naming::{
    self, DeriveError, NameError, NameErrorKind, NameNotice, commune_local, fold, given_slug,
    notices, person_address_conforms, person_alternatives, person_local, slug, tokens, unit_local,
};
use proptest::prelude::*;
use unicode_normalization::UnicodeNormalization;

use NameErrorKind::{Control, Empty, ForeignLetter, LookAlike, StrayMark, Symbol};

// ---------------------------------------------------------------------------
// Reading the case files

/// Decodes the escapes of the case files, as their header defines them:
/// `\t`, `\n`, `\\`, `\uXXXX`, `\UXXXXXXXX` (lower-case hex, as in the header's
/// regular expression). Any other backslash is a broken case file.
fn decode(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('\\') => out.push('\\'),
            Some(u @ ('u' | 'U')) => {
                let n = if u == 'u' { 4 } else { 8 };
                let hex: String = chars.by_ref().take(n).collect();
                assert!(
                    hex.len() == n
                        && hex
                            .chars()
                            .all(|h| h.is_ascii_digit() || ('a'..='f').contains(&h)),
                    "bad escape \\{u}{hex} in {s:?}"
                );
                let cp = u32::from_str_radix(&hex, 16).unwrap();
                out.push(char::from_u32(cp).unwrap_or_else(|| panic!("bad code point in {s:?}")));
            }
            other => panic!("unknown escape \\{other:?} in {s:?}"),
        }
    }
    out
}

struct Case {
    line: usize,
    /// The first column exactly as written in the file (escaped).
    raw: String,
    /// The first column decoded.
    input: String,
    cols: Vec<String>,
}

fn read_cases(file: &str, columns: usize) -> Vec<Case> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "cases", file]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut cases = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        let cols: Vec<String> = line.split('\t').map(str::to_owned).collect();
        assert_eq!(
            cols.len(),
            columns,
            "{file}:{}: expected {columns} columns: {line:?}",
            i + 1
        );
        cases.push(Case {
            line: i + 1,
            raw: cols[0].clone(),
            input: decode(&cols[0]),
            cols,
        });
    }
    assert!(!cases.is_empty(), "{file} holds no cases");
    cases
}

/// Where a person would point in every rejected input of the case files: the
/// input as written in the file, the 1-based char position of the offending
/// character in the decoded input (0 for an empty name), and the kind.
const REJECTS: &[(&str, usize, NameErrorKind)] = &[
    // Đ does not take a dot below: the mark is left over.
    ("Đ\\u0323", 2, StrayMark),
    // tilde before circumflex: NFC gives ẽ and a stray circumflex.
    ("Nguye\\u0303\\u0302n", 7, StrayMark),
    ("a\\u0301\\u0301", 3, StrayMark),
    ("\\u0301a", 1, StrayMark),
    // e + diaeresis composes into ë: the diaeresis is what makes it foreign.
    ("e\\u0308", 2, ForeignLetter),
    ("ă\\u030c", 2, StrayMark),
    ("Chiềng\\u202eSơn", 7, Control),
    ("", 0, Empty),
    ("\\u200d", 0, Empty),
    ("\\u00a0\\t\\u0020", 0, Empty),
    ("H\\u00b4Mông", 2, Symbol),
    ("Phường \\u0661", 8, Symbol),
    ("Phường \\uff11", 8, LookAlike),
    ("Km²", 3, Symbol),
    ("Nguyễn Văn An.", 14, Symbol),
    ("an@sonla", 3, Symbol),
    ("Sở KH&CN", 6, Symbol),
    ("NguyÔn V\\u00a8n An", 9, Symbol),
    ("\\u041dguyen", 1, LookAlike),
    ("H\\u043e\\u0430", 2, LookAlike),
    ("\\u0412an", 1, LookAlike),
    ("M\\u0456nh", 2, LookAlike),
    ("\\u0441hieng", 1, LookAlike),
    ("Ngu\\u0443en", 4, LookAlike),
    ("\\u039d\\u03b1m", 1, LookAlike),
    ("\\u03a4\\u03b9", 1, LookAlike),
    ("H\\u03bfa", 2, LookAlike),
    ("\\u00d0ặng", 1, LookAlike),
    ("\\u00f0ặng", 1, LookAlike),
    ("\\u0189ặng", 1, LookAlike),
    ("\\u0251n", 1, LookAlike),
    ("\\u01ceNH", 1, LookAlike),
    ("M\\u0131", 2, LookAlike),
    ("\\uff21n", 1, LookAlike),
    ("\\U0001d41an", 1, LookAlike),
    ("Françoise", 5, ForeignLetter),
    ("Nöi", 2, ForeignLetter),
];

/// Checks a rejection against the table; returns a failure message if wrong.
fn check_reject(file: &str, case: &Case, got: Result<String, NameError>) -> Option<String> {
    let at = format!("{file}:{} {:?}", case.line, case.raw);
    let Some(&(_, position, kind)) = REJECTS.iter().find(|(raw, _, _)| *raw == case.raw) else {
        return Some(format!(
            "{at}: REJECT case missing from the REJECTS table of this test"
        ));
    };
    let err = match got {
        Ok(v) => return Some(format!("{at}: expected REJECT, got {v:?}")),
        Err(e) => e,
    };
    let written = if position == 0 {
        None
    } else {
        case.input.chars().nth(position - 1)
    };
    let want = NameError {
        kind,
        ch: written,
        position,
    };
    if err != want {
        return Some(format!("{at}: expected {want:?}, got {err:?}"));
    }
    // Whatever the table says, ch must be the char at position as written.
    if let Some(ch) = err.ch
        && case.input.chars().nth(err.position - 1) != Some(ch)
    {
        return Some(format!("{at}: {ch:?} is not at position {}", err.position));
    }
    None
}

fn only_slug_chars(folded: &str) -> String {
    folded
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        .collect()
}

fn assert_no_failures(what: &str, failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} {what} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------
// The case files

#[test]
fn every_fold_case_folds_or_is_rejected_at_the_right_character() {
    let mut failures = Vec::new();
    for case in read_cases("fold.tsv", 2) {
        let expected = &case.cols[1];
        let got = fold(&case.input);
        if expected == "REJECT" {
            failures.extend(check_reject("fold.tsv", &case, got));
            continue;
        }
        if got.as_ref() != Ok(expected) {
            failures.push(format!(
                "fold.tsv:{} {:?}: expected {expected:?}, got {got:?}",
                case.line, case.raw
            ));
        }
        // slug is fold keeping [a-z0-9]
        let want_slug = only_slug_chars(expected);
        let got_slug = slug(&case.input);
        let ok = if want_slug.is_empty() {
            matches!(&got_slug, Err(e) if e.kind == Empty)
        } else {
            got_slug.as_ref() == Ok(&want_slug)
        };
        if !ok {
            failures.push(format!(
                "fold.tsv:{} {:?}: slug expected {want_slug:?}, got {got_slug:?}",
                case.line, case.raw
            ));
        }
    }
    assert_no_failures("fold.tsv", failures);
}

#[test]
fn every_slug_case_gives_its_slug_or_is_rejected_at_the_right_character() {
    let mut failures = Vec::new();
    for case in read_cases("slug.tsv", 2) {
        let expected = &case.cols[1];
        let got = slug(&case.input);
        if expected == "REJECT" {
            failures.extend(check_reject("slug.tsv", &case, got));
            continue;
        }
        if got.as_ref() != Ok(expected) {
            failures.push(format!(
                "slug.tsv:{} {:?}: expected {expected:?}, got {got:?}",
                case.line, case.raw
            ));
        }
        let folded = fold(&case.input);
        if folded.as_deref().map(only_slug_chars).as_ref() != Ok(expected) {
            failures.push(format!(
                "slug.tsv:{} {:?}: fold {folded:?} does not give slug {expected:?}",
                case.line, case.raw
            ));
        }
    }
    assert_no_failures("slug.tsv", failures);
}

#[test]
fn the_rejects_table_has_no_stale_entries() {
    let mut used = HashSet::new();
    for file in ["fold.tsv", "slug.tsv"] {
        for case in read_cases(file, 2) {
            if case.cols[1] == "REJECT" {
                used.insert(case.raw);
            }
        }
    }
    for (raw, _, _) in REJECTS {
        assert!(used.contains(*raw), "{raw:?} is no longer a REJECT case");
    }
}

#[test]
fn every_name_gives_the_address_of_the_literal_rule() {
    let mut failures = Vec::new();
    for case in read_cases("names.tsv", 4) {
        let (agency, expected) = (&case.cols[1], &case.cols[2]);
        let got = person_local(&case.input, None, agency);
        if got.as_ref() != Ok(expected) {
            failures.push(format!(
                "names.tsv:{} {:?} @{agency}: expected {expected:?}, got {got:?} ({})",
                case.line, case.raw, case.cols[3]
            ));
        }
    }
    assert_no_failures("names.tsv", failures);
}

// ---------------------------------------------------------------------------
// Folding rules

#[test]
fn y_and_i_spellings_give_different_addresses() {
    assert_eq!(
        person_local("Nguyễn Thị Mỹ", None, "svhttdl").unwrap(),
        "mynt.svhttdl"
    );
    assert_eq!(
        person_local("Nguyễn Thị Mĩ", None, "svhttdl").unwrap(),
        "mint.svhttdl"
    );
    assert_ne!(slug("Quý").unwrap(), slug("Quí").unwrap());
    assert_ne!(slug("Lý").unwrap(), slug("Lí").unwrap());
}

#[test]
fn old_and_new_tone_placement_fold_the_same() {
    assert_eq!(fold("Hòa Bình").unwrap(), fold("Hoà Bình").unwrap());
    assert_eq!(fold("thủy").unwrap(), fold("thuỷ").unwrap());
    assert_eq!(fold("khỏe").unwrap(), "khoe");
    assert_eq!(fold("khoẻ").unwrap(), "khoe");
}

#[test]
fn nfd_input_gives_the_same_address() {
    for case in read_cases("names.tsv", 4) {
        let nfd: String = case.input.nfd().collect();
        let nfc: String = case.input.nfc().collect();
        let agency = &case.cols[1];
        assert_eq!(
            person_local(&nfd, None, agency).unwrap(),
            person_local(&nfc, None, agency).unwrap(),
            "{:?}",
            case.raw
        );
    }
    assert_eq!(
        person_local("Nguye\u{302}\u{303}n Va\u{306}n An", None, "skhcn").unwrap(),
        "annv.skhcn"
    );
    // and the tone mark written before the vowel mark, in canonical order or not
    assert_eq!(fold("Đa\u{323}\u{306}ng").unwrap(), "dang");
    assert_eq!(fold("Đa\u{306}\u{323}ng").unwrap(), "dang");
}

#[test]
fn look_alike_cyrillic_letter_is_rejected_with_its_position() {
    // Cyrillic А (U+0410) in place of the Latin A of "An"
    let err = fold("Nguyễn Văn \u{410}n").unwrap_err();
    assert_eq!(
        err,
        NameError {
            kind: LookAlike,
            ch: Some('\u{410}'),
            position: 12
        }
    );
    assert!(err.to_string().contains("U+0410"), "{err}");
    assert!(err.to_string().contains("position 12"), "{err}");
}

#[test]
fn the_position_counts_characters_as_written_not_as_normalized() {
    // three more chars before the look-alike when the name is written in NFD
    let err = fold("Nguye\u{302}\u{303}n Va\u{306}n \u{410}n").unwrap_err();
    assert_eq!((err.ch, err.position), (Some('\u{410}'), 15));
    // dropped invisible characters still count
    let err = fold("\u{FEFF}An\u{200B} B\u{3B1}").unwrap_err();
    assert_eq!((err.kind, err.ch, err.position), (LookAlike, Some('α'), 7));
}

#[test]
fn latin_letters_that_imitate_vietnamese_ones_are_look_alikes() {
    for (name, ch) in [
        ("\u{D0}ặng", 'Ð'),
        ("\u{189}ặng", 'Ɖ'),
        ("\u{F0}ặng", 'ð'),
        ("Ph\u{1CE}m", 'ǎ'),
        ("\u{251}n", 'ɑ'),
    ] {
        let err = fold(name).unwrap_err();
        assert_eq!((err.kind, err.ch), (LookAlike, Some(ch)), "{name:?}");
    }
    // the real Đ folds
    assert_eq!(fold("Đặng").unwrap(), "dang");
}

#[test]
fn foreign_letters_are_rejected_not_folded() {
    let err = fold("Françoise").unwrap_err();
    assert_eq!(
        (err.kind, err.ch, err.position),
        (ForeignLetter, Some('ç'), 5)
    );
    let err = fold("Zoë").unwrap_err();
    assert_eq!(
        (err.kind, err.ch, err.position),
        (ForeignLetter, Some('ë'), 3)
    );
}

#[test]
fn an_accent_that_belongs_to_no_vietnamese_letter_is_a_stray_mark() {
    let err = fold("Nguye\u{303}\u{302}n").unwrap_err();
    assert_eq!(
        (err.kind, err.ch, err.position),
        (StrayMark, Some('\u{302}'), 7)
    );
    // a mark after an invisible joiner attaches to nothing
    let err = fold("Ne\u{200D}\u{301}").unwrap_err();
    assert_eq!(
        (err.kind, err.ch, err.position),
        (StrayMark, Some('\u{301}'), 4)
    );
}

#[test]
fn bidi_override_is_rejected_as_a_control_character() {
    let err = fold("An\u{202E}Bình").unwrap_err();
    assert_eq!(
        (err.kind, err.ch, err.position),
        (Control, Some('\u{202E}'), 3)
    );
}

#[test]
fn whitespace_of_every_kind_becomes_one_space() {
    assert_eq!(
        fold(" \u{A0}Chiềng\t\u{2003}\n Sơn\u{3000} ").unwrap(),
        "chieng son"
    );
    assert_eq!(
        tokens("  Nguyễn \u{202F} Văn  An ").unwrap(),
        ["nguyen", "van", "an"]
    );
}

#[test]
fn curly_apostrophes_and_dashes_become_ascii() {
    assert_eq!(fold("H\u{2019}Mông").unwrap(), "h'mong");
    assert_eq!(fold("H\u{2BC}Mông").unwrap(), "h'mong");
    assert_eq!(fold("Lao\u{2212}Việt").unwrap(), "lao-viet");
    assert_eq!(fold("Lao\u{2010}Việt").unwrap(), "lao-viet");
    assert_eq!(fold("H`Mông").unwrap_err().kind, Symbol);
}

#[test]
fn an_empty_name_is_an_error_without_a_position() {
    for name in ["", "   ", "\u{200B}\u{AD}", "\t\n"] {
        assert_eq!(
            fold(name).unwrap_err(),
            NameError {
                kind: Empty,
                ch: None,
                position: 0
            },
            "{name:?}"
        );
    }
    // fold keeps apostrophes and hyphens, but a slug of nothing else is empty
    assert_eq!(fold("' -").unwrap(), "' -");
    assert_eq!(slug("' -").unwrap_err().kind, Empty);
}

// ---------------------------------------------------------------------------
// Notices

#[test]
fn invisible_characters_are_dropped_by_fold_but_noticed() {
    let name = "Chi\u{200B}ềng\u{AD} Sơn\u{2060}";
    assert_eq!(fold(name).unwrap(), "chieng son");
    assert_eq!(
        notices(name),
        vec![
            NameNotice::Invisible {
                ch: '\u{200B}',
                position: 4
            },
            NameNotice::Invisible {
                ch: '\u{AD}',
                position: 8
            },
            NameNotice::Invisible {
                ch: '\u{2060}',
                position: 13
            },
        ]
    );
}

#[test]
fn tab_and_newline_are_noticed_as_control_characters() {
    assert_eq!(
        notices("Chiềng\tSơn\n"),
        vec![
            NameNotice::Control {
                ch: '\t',
                position: 7
            },
            NameNotice::Control {
                ch: '\n',
                position: 11
            },
        ]
    );
}

#[test]
fn decomposed_text_is_noticed_as_not_nfc() {
    assert_eq!(notices("Nguye\u{302}\u{303}n"), vec![NameNotice::NotNfc]);
    assert_eq!(notices("Nguyễn Văn An"), vec![]);
}

// ---------------------------------------------------------------------------
// Addresses

#[test]
fn the_regulations_own_example() {
    assert_eq!(
        person_local("Nguyễn Văn An", None, "skhcn").unwrap(),
        "annv.skhcn"
    );
    assert_eq!(given_slug("Nguyễn Văn An", None).unwrap(), "an");
}

#[test]
fn a_given_name_written_apart_is_found_among_the_tokens() {
    // Ê Đê and Jrai names are written family-last
    assert_eq!(
        person_local("H'Hen Niê", Some("H'Hen"), "snv").unwrap(),
        "hhenn.snv"
    );
    assert_eq!(
        person_local("Y Moan Êban", Some("Moan"), "snv").unwrap(),
        "moanye.snv"
    );
    assert_eq!(
        person_local("Ksor H'Bơ Khăp", Some("Khăp"), "snv").unwrap(),
        "khapkh.snv"
    );
    // the given name matches after folding, whatever apostrophe or case is used
    assert_eq!(
        person_local("H'Hen Niê", Some("h\u{2019}hen"), "snv").unwrap(),
        "hhenn.snv"
    );
    assert_eq!(given_slug("H'Hen Niê", Some("H'Hen")).unwrap(), "hhen");
}

#[test]
fn a_given_name_of_two_words_is_kept_whole() {
    assert_eq!(
        person_local("Nguyễn Thị Minh Khai", Some("Minh Khai"), "snv").unwrap(),
        "minhkhaint.snv"
    );
}

#[test]
fn a_given_name_not_in_the_name_is_an_error_naming_it() {
    let err = person_local("H'Hen Niê", Some("Hen"), "snv").unwrap_err();
    assert!(
        matches!(&err, DeriveError::GivenNotFound { given, .. } if given == "Hen"),
        "{err:?}"
    );
    assert!(err.to_string().contains("Hen"), "{err}");
}

#[test]
fn a_bad_or_empty_name_gives_no_address() {
    let err = person_local("Nguyễn Văn \u{410}n", None, "skhcn").unwrap_err();
    assert!(
        matches!(&err, DeriveError::BadName(e) if e.position == 12 && e.kind == LookAlike),
        "{err:?}"
    );
    assert_eq!(
        person_local("  ", None, "skhcn").unwrap_err(),
        DeriveError::EmptyName
    );
    assert_eq!(
        person_local("' -", None, "skhcn").unwrap_err(),
        DeriveError::EmptyName
    );
    assert!(matches!(
        person_local("Nguyễn Văn An", Some("\u{410}n"), "skhcn").unwrap_err(),
        DeriveError::BadGiven(_)
    ));
}

#[test]
fn initials_come_from_the_slug_of_each_token() {
    // H'Bơ -> h, Âu -> a, and a lone hyphen gives no initial
    assert_eq!(
        person_local("Âu H'Bơ - Lan", None, "syt").unwrap(),
        "lanah.syt"
    );
    assert_eq!(tokens("Âu H’Bơ - Lan").unwrap(), ["au", "h'bo", "-", "lan"]);
}

#[test]
fn a_commune_address_leaves_out_the_kind_of_commune() {
    assert_eq!(commune_local("Phường Tô Hiệu").unwrap(), "tohieu");
    assert_eq!(commune_local("Xã Chiềng Sơn").unwrap(), "chiengson");
    assert_eq!(commune_local("XÃ CHIỀNG SƠN").unwrap(), "chiengson");
    assert_eq!(commune_local("Thị trấn Ít Ong").unwrap(), "itong");
    assert_eq!(commune_local("Đặc khu Cô Tô").unwrap(), "coto");
    // only a leading kind word is left out
    assert_eq!(commune_local("Tô Hiệu").unwrap(), "tohieu");
    assert_eq!(commune_local("Xã Xa Lộc").unwrap(), "xaloc");
    assert_eq!(commune_local("Phường").unwrap(), "phuong");
    assert_eq!(commune_local("Xã \u{3B1}").unwrap_err().position, 4);
}

#[test]
fn a_unit_address_is_the_unit_then_the_agency() {
    assert_eq!(unit_local("vp", "tohieu"), "vp.tohieu");
    assert_eq!(unit_local("VP", "SKHCN"), "vp.skhcn");
}

// ---------------------------------------------------------------------------
// Alternatives when the derived address is taken

fn taken_set(locals: &[&str]) -> impl Fn(&str) -> bool {
    let set: HashSet<String> = locals.iter().map(|s| s.to_string()).collect();
    move |l: &str| set.contains(l)
}

#[test]
fn alternatives_start_with_the_spec_examples_shortest_first() {
    let taken = taken_set(&["annv.skhcn"]);
    let alts = person_alternatives("Nguyễn Văn An", None, "skhcn", &taken, 5).unwrap();
    assert_eq!(
        alts,
        [
            "an2nv.skhcn",
            "annv2.skhcn",
            "an3nv.skhcn",
            "annv3.skhcn",
            "an4nv.skhcn"
        ]
    );
}

#[test]
fn alternatives_skip_addresses_already_taken() {
    let taken = taken_set(&["annv.skhcn", "an2nv.skhcn", "annv3.skhcn"]);
    let alts = person_alternatives("Ngô Văn An", None, "skhcn", &taken, 3).unwrap();
    assert_eq!(alts, ["annv2.skhcn", "an3nv.skhcn", "an4nv.skhcn"]);
}

#[test]
fn alternatives_hold_the_given_name_and_the_agency_and_conform() {
    let taken = taken_set(&["hhenn.snv", "hhen2n.snv"]);
    let alts = person_alternatives("H'Hen Niê", Some("H'Hen"), "snv", &taken, 500).unwrap();
    let unique: HashSet<&String> = alts.iter().collect();
    assert_eq!(unique.len(), alts.len(), "duplicates in {alts:?}");
    // 98 numbers in two places, one spelled-out name, minus the one taken
    assert_eq!(alts.len(), 98 * 2 + 1 - 1);
    for (i, a) in alts.iter().enumerate() {
        assert!(a.starts_with("hhen") && a.ends_with(".snv"), "{a}");
        assert!(!taken(a), "{a} is taken");
        assert!(
            person_address_conforms(a, "hhenn.snv", "hhen", "snv", true),
            "{a} does not conform"
        );
        if i > 0 {
            assert!(alts[i - 1].len() <= a.len(), "not shortest first: {alts:?}");
        }
    }
    assert!(alts.contains(&"hhenn99.snv".to_string()));
    assert!(
        !alts
            .iter()
            .any(|a| a.contains("100") || a.contains("hhen1n"))
    );
    assert_eq!(alts.last().unwrap(), "hhennie.snv");
}

#[test]
fn alternatives_spell_out_a_name_when_every_number_is_taken() {
    let taken = |l: &str| l == "annv.skhcn" || l.chars().any(|c| c.is_ascii_digit());
    let alts = person_alternatives("Nguyễn Văn An", None, "skhcn", &taken, 5).unwrap();
    assert_eq!(alts, ["annvan.skhcn", "annguyenv.skhcn"]);
}

#[test]
fn alternatives_are_deterministic_and_respect_the_count() {
    let taken = taken_set(&["an.skhcn"]);
    let a = person_alternatives("An", None, "skhcn", &taken, 4).unwrap();
    let b = person_alternatives("An", None, "skhcn", &taken, 4).unwrap();
    assert_eq!(a, b);
    // a one-word name has no initials: an2 is offered once
    assert_eq!(a, ["an2.skhcn", "an3.skhcn", "an4.skhcn", "an5.skhcn"]);
    assert!(
        person_alternatives("An", None, "skhcn", &taken, 0)
            .unwrap()
            .is_empty()
    );
}

// ---------------------------------------------------------------------------
// Explicit addresses

#[test]
fn an_explicit_address_equal_to_the_derived_one_conforms_in_any_case() {
    assert!(person_address_conforms(
        "annv.skhcn",
        "annv.skhcn",
        "an",
        "skhcn",
        false
    ));
    assert!(person_address_conforms(
        "AnNV.SKHCN",
        "annv.skhcn",
        "an",
        "skhcn",
        false
    ));
}

#[test]
fn another_address_conforms_only_when_the_derived_one_is_taken() {
    assert!(!person_address_conforms(
        "an2nv.skhcn",
        "annv.skhcn",
        "an",
        "skhcn",
        false
    ));
    for ok in ["an2nv.skhcn", "annv2.skhcn", "anvnv.skhcn", "AN2NV.skhcn"] {
        assert!(
            person_address_conforms(ok, "annv.skhcn", "an", "skhcn", true),
            "{ok}"
        );
    }
}

#[test]
fn another_address_must_hold_the_given_name_and_the_agency() {
    for bad in [
        "nvan.skhcn",   // given name not first
        "annv.sct",     // another agency
        "annv2.skhcnx", // abbreviation must be the whole last part
        "an.skhcn",     // nothing between given name and agency
        "an-nv.skhcn",  // only [a-z0-9] in between
        "an.nv.skhcn",
        "anñv.skhcn",
        "annv2skhcn",
    ] {
        assert!(
            !person_address_conforms(bad, "annv.skhcn", "an", "skhcn", true),
            "{bad}"
        );
    }
}

// ---------------------------------------------------------------------------
// Properties

fn vietnamese_text() -> impl Strategy<Value = String> {
    let letters: Vec<char> = naming::vietnamese_letters()
        .chain("abcdeghiklmnopqrstuvxyAEIOUY019 '-".chars())
        .collect();
    proptest::collection::vec(proptest::sample::select(letters), 0..24)
        .prop_map(|v| v.into_iter().collect())
}

proptest! {
    #[test]
    fn fold_gives_only_ascii_or_points_at_a_character_of_the_input(s in any::<String>()) {
        match fold(&s) {
            Ok(f) => {
                prop_assert!(f.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == ' ' || c == '\'' || c == '-'), "{f:?}");
                prop_assert!(!f.is_empty() && !f.starts_with(' ') && !f.ends_with(' ') && !f.contains("  "), "{f:?}");
                prop_assert_eq!(fold(&f), Ok(f.clone()));
            }
            Err(e) if e.kind == Empty => prop_assert_eq!((e.ch, e.position), (None, 0)),
            Err(e) => prop_assert_eq!(s.chars().nth(e.position - 1), e.ch),
        }
    }

    #[test]
    fn fold_is_the_same_for_nfc_and_nfd_vietnamese(s in vietnamese_text()) {
        let nfd: String = s.nfd().collect();
        prop_assert_eq!(fold(&nfd), fold(&s));
    }

    #[test]
    fn vietnamese_text_always_folds(s in vietnamese_text()) {
        let folded = fold(&s);
        if s.trim().is_empty() {
            prop_assert_eq!(folded.unwrap_err().kind, Empty);
        } else {
            prop_assert!(folded.is_ok(), "{:?}", folded);
        }
    }
}
