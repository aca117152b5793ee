//! Validation speed and memory: `cargo bench --bench validate`.
//!
//! Generates repositories of 10,000 and 100,000 people, then measures, each
//! in its own process so that peak memory is that stage's own:
//! - `parse`: read every file and parse its YAML (the baseline);
//! - `validate`: everything `hopthu validate` does.
//!
//! Target: validate / parse <= 2.0 and peak memory <= 300 MB at 100,000.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn peak_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn stage(mode: &str, root: &Path) {
    let start = Instant::now();
    let files = hopthu::source::FileSet::read_folder(root).expect("read");
    match mode {
        "parse" => {
            let mut nodes = 0usize;
            for f in &files.agencies {
                if let hopthu::source::Entry::File(bytes) = &f.entry {
                    let text = std::str::from_utf8(bytes).expect("utf-8");
                    let parsed = hopthu::yaml::parse(text);
                    nodes += usize::from(parsed.root.is_some());
                }
            }
            assert!(nodes > 0);
        }
        // Breakdown stages, for finding where validation spends its time.
        "json" | "schema" => {
            let v = hopthu::schema::Validators::new();
            let mut ok = 0usize;
            for f in &files.agencies {
                if let hopthu::source::Entry::File(bytes) = &f.entry {
                    let text = std::str::from_utf8(bytes).expect("utf-8");
                    let parsed = hopthu::yaml::parse(text);
                    let json = parsed.root.expect("a document").to_json();
                    ok += usize::from(mode == "json" || v.agency.is_valid(&json));
                }
            }
            assert!(ok > 0);
        }
        "validate" => {
            let v = hopthu::schema::Validators::new();
            let o = hopthu::validate::validate(
                &files,
                &v,
                &hopthu::validate::Options {
                    lang: None,
                    today: chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
                },
            );
            assert!(o.is_valid(), "the generated repository must be valid");
        }
        _ => panic!("unknown stage {mode}"),
    }
    println!("{:.3} {:.1}", start.elapsed().as_secs_f64(), peak_mb());
}

fn run(mode: &str, root: &Path) -> (f64, f64) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--stage", mode, root.to_str().unwrap()])
        .output()
        .expect("run a stage");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace();
    (
        it.next().unwrap().parse().unwrap(),
        it.next().unwrap().parse().unwrap(),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --all-targets` runs bench binaries too: only `cargo bench`
    // (which passes --bench) runs the measurements.
    if !args.iter().any(|a| a == "--bench" || a == "--stage") {
        println!("run with: cargo bench --bench validate");
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--stage") {
        stage(&args[i + 1], Path::new(&args[i + 2]));
        return;
    }
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    println!("people    parse s   validate s   ratio   parse MB   validate MB");
    for people in [10_000usize, 100_000] {
        let root = data.join(format!("people-{people}"));
        if !root.join("hopthu.yaml").exists() {
            hopthu::generate::generate(&hopthu::generate::GenerateOptions {
                out: root.clone(),
                people,
                seed: 2025,
                domain: "sonla.gov.vn".into(),
                force: true,
            })
            .expect("generate");
        }
        let best = |mode: &str| {
            (0..5)
                .map(|_| run(mode, &root))
                .fold((f64::MAX, 0.0f64), |(t, m), (t2, m2)| {
                    (t.min(t2), m.max(m2))
                })
        };
        let (pt, pm) = best("parse");
        let (vt, vm) = best("validate");
        println!(
            "{people:<9} {pt:<9.3} {vt:<12.3} {:<7.2} {pm:<10.1} {vm:.1}",
            vt / pt
        );
    }
}
