//! `hopthu generate`: the generated repository is deterministic, valid, holds
//! the province's real agencies and communes, and `directory/` is exactly
//! what the generator writes with its defaults.

use hopthu::generate::{self, GenerateOptions, GenerateSummary};
use hopthu::model::{Agency, AgencyType};
use hopthu::naming;
use hopthu::schema::Validators;
use hopthu::source::FileSet;
use hopthu::validate::{self, Options, Outcome};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
}

fn gen_into(dir: &Path, people: usize, seed: u64) -> (PathBuf, GenerateSummary) {
    let out = dir.join("repo");
    let opts = GenerateOptions {
        people,
        seed,
        ..GenerateOptions::new(&out)
    };
    let summary = generate::generate(&opts).expect("generates");
    (out, summary)
}

/// Every file under `root`, relative path -> bytes.
fn read_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn validate_repo(root: &Path) -> Outcome {
    let files = FileSet::read_folder(root).unwrap();
    validate::validate(
        &files,
        &Validators::new(),
        &Options {
            lang: None,
            today: today(),
        },
    )
}

/// The agency documents of a repository, decoded with the format's types.
fn agencies(root: &Path) -> Vec<(String, Agency)> {
    read_tree(root)
        .into_iter()
        .filter(|(p, _)| p.starts_with("agencies/"))
        .map(|(p, bytes)| {
            let text = String::from_utf8(bytes).unwrap();
            let parsed = hopthu::yaml::parse(&text);
            assert!(parsed.errors.is_empty(), "{p}: {:?}", parsed.errors);
            let json = parsed.root.unwrap().to_json();
            let agency: Agency =
                serde_json::from_value(json).unwrap_or_else(|e| panic!("{p}: {e}"));
            (p, agency)
        })
        .collect()
}

fn render_diagnostics(o: &Outcome) -> String {
    o.diagnostics
        .iter()
        .take(20)
        .map(|d| format!("{}:{}: {} {}", d.file, d.line, d.code, d.message))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let (ra, sa) = gen_into(a.path(), 800, 7);
    let (rb, sb) = gen_into(b.path(), 800, 7);
    assert_eq!(sa, sb);
    let (ta, tb) = (read_tree(&ra), read_tree(&rb));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (path, bytes) in &ta {
        assert!(bytes == &tb[path], "{path} differs between two runs");
    }
    assert_eq!(ta.len(), sa.files);

    let c = tempfile::tempdir().unwrap();
    let (rc, _) = gen_into(c.path(), 800, 8);
    assert_ne!(read_tree(&rc), ta, "another seed gives other people");
}

#[test]
fn the_generated_repository_validates_clean() {
    let dir = tempfile::tempdir().unwrap();
    let (root, summary) = gen_into(dir.path(), generate::DEFAULT_PEOPLE, generate::DEFAULT_SEED);
    let outcome = validate_repo(&root);
    assert!(
        outcome.diagnostics.is_empty(),
        "{} errors, {} warnings:\n{}",
        outcome.errors(),
        outcome.warnings(),
        render_diagnostics(&outcome)
    );
    assert_eq!(summary.people, generate::DEFAULT_PEOPLE);
    assert_eq!(summary.agencies, 93);
    let people = outcome
        .desired
        .iter()
        .filter(|m| m.kind == hopthu::desired::MailboxKind::Person)
        .count();
    assert_eq!(people, summary.people);
    assert_eq!(
        outcome.desired.len(),
        summary.agencies + summary.units + summary.people
    );
}

#[test]
fn every_commune_and_ward_is_there_with_its_official_code() {
    let csv =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sonla_units.csv"))
            .unwrap();
    // code,name_vi,type,ascii_slug,full_name,...: the first five fields hold no quotes.
    let expected: HashMap<String, (String, String, String)> = csv
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.splitn(6, ',').collect();
            (
                f[0].to_string(),
                (f[2].to_string(), f[3].to_string(), f[4].to_string()),
            )
        })
        .collect();
    assert_eq!(expected.len(), 75);

    let dir = tempfile::tempdir().unwrap();
    let (root, _) = gen_into(dir.path(), 300, 1);
    let mut seen = HashSet::new();
    for (path, a) in agencies(&root) {
        if !a.agency_type.named_by_place() {
            assert!(path.starts_with("agencies/departments/"), "{path}");
            assert_eq!(a.code, format!("SL-{}", a.abbr.to_ascii_uppercase()));
            continue;
        }
        let (kind, slug, full_name) = expected
            .get(&a.code)
            .unwrap_or_else(|| panic!("{path}: {} is not an official code", a.code));
        assert_eq!(&a.name, full_name);
        assert_eq!(&a.abbr, slug, "{full_name}");
        assert_eq!(naming::commune_local(&a.name).unwrap(), *slug);
        let want = if kind == "phường" {
            AgencyType::Ward
        } else {
            AgencyType::Commune
        };
        assert_eq!(a.agency_type, want, "{full_name}");
        assert_eq!(
            path,
            format!("agencies/communes/{}-{}.yaml", a.code, a.abbr)
        );
        let units: Vec<&str> = a.units.iter().map(|u| u.abbr.as_str()).collect();
        let econ = if want == AgencyType::Ward {
            "pkthtdt"
        } else {
            "pkt"
        };
        for u in ["vp", "pvhxh", econ] {
            assert!(units.contains(&u), "{path} lacks {u}");
        }
        // The code stays a string with its leading zero in the file.
        let text = std::fs::read_to_string(root.join(&path)).unwrap();
        assert!(text.contains(&format!("code: \"{}\"\n", a.code)), "{path}");
        seen.insert(a.code.clone());
    }
    assert_eq!(seen.len(), 75);
}

#[test]
fn minority_names_and_family_last_names_occur() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = gen_into(dir.path(), generate::DEFAULT_PEOPLE, generate::DEFAULT_SEED);
    let all = agencies(&root);
    let families: HashMap<&str, &[&str]> = HashMap::from([
        (
            "Thái",
            &["Lò", "Lường", "Quàng", "Cầm", "Tòng", "Vì", "Cà"][..],
        ),
        ("H'Mông", &["Giàng", "Mùa", "Sùng", "Thào", "Vàng"][..]),
        ("Mường", &["Đinh", "Quách", "Bạch", "Hà", "Xa", "Bùi"][..]),
        (
            "Dao",
            &["Triệu", "Bàn", "Đặng", "Lý", "Phùng", "Chảo", "Tẩn"][..],
        ),
    ]);
    let mut commune_people = 0;
    let mut minority_in_communes = 0;
    for (group, names) in &families {
        let n = all
            .iter()
            .flat_map(|(_, a)| &a.people)
            .filter(|p| names.contains(&p.name.split(' ').next().unwrap()))
            .count();
        assert!(n > 0, "no {group} family name");
    }
    for (_, a) in all.iter().filter(|(_, a)| a.agency_type.named_by_place()) {
        for p in &a.people {
            commune_people += 1;
            let first = p.name.split(' ').next().unwrap();
            if families.values().any(|f| f.contains(&first)) {
                minority_in_communes += 1;
            }
        }
    }
    assert!(
        minority_in_communes * 2 > commune_people,
        "communes should be mostly minority names: {minority_in_communes} of {commune_people}"
    );
    let people: Vec<_> = all.iter().flat_map(|(_, a)| &a.people).collect();
    assert!(
        people.iter().any(|p| p.name.contains(" A ")),
        "no H'Mông middle name A"
    );
    let family_last: Vec<_> = people
        .iter()
        .filter(|p| p.given.as_deref().is_some_and(|g| !p.name.ends_with(g)))
        .collect();
    assert!(
        !family_last.is_empty(),
        "no name written family-last with given:"
    );
    assert!(
        people.iter().any(|p| p.name.contains('\'')),
        "no apostrophe name"
    );
    assert!(people.iter().any(|p| p.title.is_some()));
    assert!(people.iter().any(|p| p.lock.is_some()));
    assert!(people.iter().any(|p| p.quota.is_some()));
    assert!(people.iter().any(|p| !p.aliases.is_empty()));
    assert!(people.iter().all(|p| !p.legacy));
}

#[test]
fn collisions_get_an_explicit_address_by_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let (root, summary) = gen_into(dir.path(), generate::DEFAULT_PEOPLE, generate::DEFAULT_SEED);
    assert!(summary.collisions >= 1);
    let mut explicit = Vec::new();
    for (_, a) in agencies(&root) {
        for p in &a.people {
            if let Some(addr) = &p.address {
                let derived = naming::person_local(&p.name, p.given.as_deref(), &a.abbr).unwrap();
                let given = naming::given_slug(&p.name, p.given.as_deref()).unwrap();
                explicit.push((p.clone(), addr.0.clone(), derived, given, a.abbr.clone()));
            }
        }
    }
    assert_eq!(explicit.len(), summary.collisions);
    let outcome = validate_repo(&root);
    assert_eq!(outcome.errors(), 0, "{}", render_diagnostics(&outcome));
    // Who holds each address or alias.
    let mut owner: HashMap<String, String> = HashMap::new();
    for m in &outcome.desired {
        for a in std::iter::once(&m.address).chain(&m.aliases) {
            let local = a.strip_suffix("@sonla.gov.vn").unwrap().to_string();
            assert!(owner.insert(local, m.key.clone()).is_none(), "{a} twice");
        }
    }
    for (p, addr, derived, given, abbr) in &explicit {
        let id = &p.id;
        let key = format!("person/{id}");
        assert_eq!(
            owner.get(addr),
            Some(&key),
            "{id} holds its explicit address"
        );
        let holder = owner
            .get(derived)
            .unwrap_or_else(|| panic!("{id}: {derived} is not taken"));
        assert_ne!(
            holder, &key,
            "{id}: its derived address is taken by someone else"
        );
        assert!(
            naming::person_address_conforms(addr, derived, given, abbr, true),
            "{id}: {addr}"
        );
        // And it is the first free one the rule offers.
        let first = naming::person_alternatives(
            &p.name,
            p.given.as_deref(),
            abbr,
            &|l: &str| owner.get(l).is_some_and(|k| k != &key),
            1,
        )
        .unwrap();
        assert_eq!(first.first(), Some(addr), "{id}");
    }
}

#[test]
fn the_reference_directory_is_what_the_generator_writes() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("directory");
    let dir = tempfile::tempdir().unwrap();
    let (fresh, _) = gen_into(dir.path(), generate::DEFAULT_PEOPLE, generate::DEFAULT_SEED);
    let want = read_tree(&fresh);
    let have = read_tree(&committed);
    let hint = "regenerate it: cargo run -- generate --out directory --force";
    for path in want.keys() {
        assert!(
            have.contains_key(path),
            "directory/{path} is missing; {hint}"
        );
    }
    for (path, bytes) in &have {
        let Some(w) = want.get(path) else {
            panic!("directory/{path} is not generated; {hint}");
        };
        assert!(
            bytes == w,
            "directory/{path} differs from the generator's output; {hint}"
        );
    }
}

#[test]
fn an_existing_folder_is_replaced_only_when_asked_and_only_if_a_repository() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("repo");
    let mut opts = GenerateOptions {
        people: 50,
        ..GenerateOptions::new(&out)
    };
    generate::generate(&opts).unwrap();
    let err = generate::generate(&opts).unwrap_err().to_string();
    assert!(err.contains("--force"), "{err}");
    opts.force = true;
    std::fs::write(out.join("agencies/stray.txt"), "x").unwrap();
    generate::generate(&opts).unwrap();
    assert!(
        !out.join("agencies/stray.txt").exists(),
        "the old tree is replaced, not merged"
    );
    // No temporary folders are left next to it.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["repo".to_string()]);

    // A folder that is not a repository is never replaced, even with --force.
    let other = dir.path().join("notes");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("important.txt"), "keep").unwrap();
    let opts = GenerateOptions {
        force: true,
        ..GenerateOptions::new(&other)
    };
    assert!(generate::generate(&opts).is_err());
    assert!(other.join("important.txt").exists());

    // An empty folder is fine without --force.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    generate::generate(&GenerateOptions {
        people: 10,
        ..GenerateOptions::new(&empty)
    })
    .unwrap();
    assert!(empty.join("hopthu.yaml").is_file());
}

#[test]
fn large_repositories_stay_valid() {
    let opts = GenerateOptions {
        people: 20_000,
        ..GenerateOptions::new("unused")
    };
    let (files, summary) = generate::render(&opts).unwrap();
    assert_eq!(summary.people, 20_000);
    assert!(summary.collisions > summary.people / 100, "{summary}");
    // Validate the rendered files in memory, as a folder would be read.
    let source = |(path, text): &(String, String)| hopthu::source::SourceFile {
        path: path.clone(),
        entry: hopthu::source::Entry::File(text.clone().into_bytes()),
    };
    let set = FileSet {
        settings: files.iter().find(|(p, _)| p == "hopthu.yaml").map(source),
        agencies: {
            let mut v: Vec<_> = files
                .iter()
                .filter(|(p, _)| p.starts_with("agencies/"))
                .map(source)
                .collect();
            v.sort_by(|a, b| a.path.cmp(&b.path));
            v
        },
    };
    let outcome = validate::validate(
        &set,
        &Validators::new(),
        &Options {
            lang: None,
            today: today(),
        },
    );
    assert!(
        outcome.diagnostics.is_empty(),
        "{}",
        render_diagnostics(&outcome)
    );
    assert_eq!(
        outcome.desired.len(),
        summary.agencies + summary.units + summary.people
    );
}
