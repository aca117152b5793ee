//! The CI examples in `examples/ci/`: every YAML file parses (with
//! hopthu's own reader, which refuses anchors, tags and duplicate keys), the
//! pipelines have the shape their forge expects, secrets reach commands
//! only through the environment, every hopthu flag they use exists, and the
//! plain git hook refuses an invalid commit in a real repository.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn parse(name: &str) -> Value {
    let text = read(name);
    let parsed = hopthu::yaml::parse(&text);
    assert!(parsed.errors.is_empty(), "{name}: {:?}", parsed.errors);
    parsed
        .root
        .unwrap_or_else(|| panic!("{name} is empty"))
        .to_json()
}

#[test]
fn every_yaml_file_parses() {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml") || n.ends_with(".yaml"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".gitlab-ci.yml",
            "gitea-actions.yml",
            "github-actions.yml",
            "pre-commit-config.yaml"
        ]
    );
    for n in &names {
        assert!(parse(n).is_object(), "{n}");
    }
}

/// Every `run:` script of a workflow, with its step's `env`.
fn workflow_steps(w: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for (name, job) in w["jobs"].as_object().unwrap() {
        assert!(job.get("runs-on").is_some(), "job {name} has no runs-on");
        let steps = job["steps"]
            .as_array()
            .unwrap_or_else(|| panic!("job {name} has no steps"));
        assert!(!steps.is_empty(), "job {name}");
        for s in steps {
            let uses = s.get("uses").is_some();
            let run = s.get("run").is_some();
            assert!(uses != run, "a step is `uses` or `run`: {s}");
            out.push((name.clone(), s));
        }
    }
    out
}

fn check_actions(name: &str) {
    let w = parse(name);
    assert!(w["on"].get("pull_request").is_some(), "{name}");
    assert!(w["on"].get("workflow_dispatch").is_some(), "{name}");
    let steps = workflow_steps(&w);
    let runs = |job: &str| -> String {
        steps
            .iter()
            .filter(|(j, _)| j == job)
            .filter_map(|(_, s)| s.get("run").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let review = runs("review");
    assert!(
        review.contains("hopthu diff . --base \"origin/$BASE_REF\" --head HEAD --format markdown"),
        "{name}: {review}"
    );
    assert!(review.contains("hopthu validate ."), "{name}");
    assert!(review.contains("hopthu codeowners . --check"), "{name}");
    assert!(
        runs("plan").contains("hopthu plan . --format markdown"),
        "{name}"
    );
    // The plan job runs only by hand, with the password in its env.
    assert_eq!(
        w["jobs"]["plan"]["if"], "github.event_name == 'workflow_dispatch'",
        "{name}"
    );
    let plan_env = steps
        .iter()
        .find(|(j, s)| {
            j == "plan"
                && s.get("env")
                    .and_then(|e| e.get("HOPTHU_BIND_PASSWORD"))
                    .is_some()
        })
        .unwrap_or_else(|| panic!("{name}: the plan step takes the password from its env"));
    assert_eq!(
        plan_env.1["env"]["HOPTHU_BIND_PASSWORD"],
        "${{ secrets.HOPTHU_BIND_PASSWORD }}"
    );
    // Secrets and event values reach scripts through `env` only: never
    // written into a script, where they would be echoed or injected.
    for (_, s) in &steps {
        if let Some(run) = s.get("run").and_then(Value::as_str) {
            assert!(
                !run.contains("${{"),
                "{name}: an expression in a script: {run}"
            );
            assert!(!run.contains("BIND_PASSWORD"), "{name}: {run}");
        }
    }
}

#[test]
fn the_github_workflow_comments_validates_and_plans_by_hand() {
    check_actions("github-actions.yml");
    let w = parse("github-actions.yml");
    assert_eq!(w["jobs"]["review"]["permissions"]["pull-requests"], "write");
    let steps = workflow_steps(&w);
    let script = steps
        .iter()
        .find_map(|(_, s)| {
            (s.get("uses").and_then(Value::as_str) == Some("actions/github-script@v7"))
                .then(|| s["with"]["script"].as_str().unwrap().to_string())
        })
        .expect("a step comments with actions/github-script");
    assert!(script.contains("hopthu-diff.md") && script.contains("updateComment"));
    let review = read("github-actions.yml");
    assert!(review.contains("hopthu validate . --format github"));
}

#[test]
fn the_gitea_workflow_comments_through_its_api() {
    check_actions("gitea-actions.yml");
    let text = read("gitea-actions.yml");
    assert!(text.contains("$API/issues/$NUMBER/comments"));
    assert!(text.contains("${{ secrets.HOPTHU_GITEA_TOKEN }}"));
    assert!(text.contains("hopthu codeowners . --check --flavor gitea"));
}

#[test]
fn the_gitlab_pipeline_has_a_script_per_job_and_a_protected_plan() {
    let p = parse(".gitlab-ci.yml");
    let stages: Vec<&str> = p["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let reserved = ["stages", "variables", "default", "include", "workflow"];
    let mut jobs = 0;
    for (name, job) in p.as_object().unwrap() {
        if reserved.contains(&name.as_str()) {
            continue;
        }
        jobs += 1;
        let stage = job["stage"].as_str().unwrap();
        assert!(stages.contains(&stage), "{name}: stage {stage}");
        let script = job["script"].as_array().unwrap();
        assert!(!script.is_empty(), "{name}");
        for line in script {
            let line = line.as_str().unwrap();
            assert!(!line.contains("BIND_PASSWORD"), "{name}: {line}");
        }
    }
    assert_eq!(jobs, 4);
    let diff = p["hopthu:diff"]["script"].to_string();
    assert!(diff.contains("hopthu diff . --base"), "{diff}");
    assert!(
        diff.contains("merge_requests/$CI_MERGE_REQUEST_IID/notes"),
        "{diff}"
    );
    assert_eq!(
        p["hopthu:validate"]["artifacts"]["reports"]["codequality"],
        "gl-code-quality-report.json"
    );
    let plan_rules = p["hopthu:plan"]["rules"].to_string();
    assert!(plan_rules.contains("$CI_COMMIT_TAG") && plan_rules.contains("manual"));
}

#[test]
fn the_pre_commit_configuration_has_local_hooks() {
    let c = parse("pre-commit-config.yaml");
    let repo = &c["repos"][0];
    assert_eq!(repo["repo"], "local");
    let hooks = repo["hooks"].as_array().unwrap();
    for h in hooks {
        for key in ["id", "name", "entry", "language"] {
            assert!(h[key].is_string(), "{key} in {h}");
        }
        assert_eq!(h["language"], "system");
        assert_eq!(h["pass_filenames"], false);
    }
    assert_eq!(hooks[0]["entry"], "hopthu diff --base HEAD --head INDEX");
}

/// Every `hopthu SUBCOMMAND ... --flag` in the examples names a subcommand
/// and flags that exist.
#[test]
fn every_hopthu_flag_the_examples_use_exists() {
    let mut checked = 0;
    for name in [
        ".gitlab-ci.yml",
        "gitea-actions.yml",
        "github-actions.yml",
        "pre-commit-config.yaml",
        "pre-commit",
    ] {
        for line in read(name).lines() {
            let line = line.trim_start_matches([' ', '-', '#']);
            let Some(at) = line.find("hopthu ") else {
                continue;
            };
            let words: Vec<&str> = line[at + "hopthu ".len()..].split_whitespace().collect();
            let Some(sub) = words.first() else { continue };
            if !["diff", "validate", "codeowners", "plan"].contains(sub) {
                continue;
            }
            let help = Command::new(env!("CARGO_BIN_EXE_hopthu"))
                .args([sub, "--help"])
                .output()
                .unwrap();
            assert!(help.status.success(), "{name}: hopthu {sub}");
            let help = String::from_utf8_lossy(&help.stdout);
            for flag in words.iter().filter(|w| w.starts_with("--")) {
                let flag = flag.trim_end_matches(['`', ')', ',']);
                assert!(
                    help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
                    "{name}: hopthu {sub} has no {flag}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "{checked}");
}

fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Văn thư")
        .env("GIT_AUTHOR_EMAIL", "vanthu@sonla.gov.vn")
        .env("GIT_COMMITTER_NAME", "Văn thư")
        .env("GIT_COMMITTER_EMAIL", "vanthu@sonla.gov.vn")
        .env("HOPTHU_TODAY", "2026-12-01")
        .env("NO_COLOR", "1")
        .env(
            "PATH",
            format!(
                "{}:{}",
                Path::new(env!("CARGO_BIN_EXE_hopthu"))
                    .parent()
                    .unwrap()
                    .display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()
        .unwrap()
}

fn all(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const AGENCY: &str = "apiVersion: hopthu/v1
kind: Agency
code: S01
abbr: skhcn
type: department
name: Sở Khoa học và Công nghệ
people:
  - id: p1
    name: Nguyễn Văn An
";

#[test]
fn the_git_hook_shows_the_request_and_refuses_an_invalid_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    assert!(git(repo, &["init", "-q", "-b", "main"]).status.success());
    let hook = repo.join(".git/hooks/pre-commit");
    std::fs::copy(dir().join("pre-commit"), &hook).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::create_dir_all(repo.join("agencies")).unwrap();
    std::fs::write(
        repo.join("hopthu.yaml"),
        "apiVersion: hopthu/v1\ndomain: sonla.gov.vn\n",
    )
    .unwrap();
    std::fs::write(repo.join("agencies/skhcn.yaml"), AGENCY).unwrap();

    // The first commit: there is no HEAD yet, everything is new.
    assert!(git(repo, &["add", "-A"]).status.success());
    let o = git(repo, &["commit", "-q", "-m", "Sở Khoa học và Công nghệ"]);
    assert!(o.status.success(), "{}", all(&o));
    assert!(
        all(&o).contains("+ tạo mới   annv.skhcn@sonla.gov.vn"),
        "{}",
        all(&o)
    );

    // A mistake staged: refused, with the file and line.
    std::fs::write(
        repo.join("agencies/skhcn.yaml"),
        format!("{AGENCY}  - id: p2\n    nme: Trần Thị Hà\n"),
    )
    .unwrap();
    assert!(git(repo, &["add", "-A"]).status.success());
    let o = git(repo, &["commit", "-q", "-m", "Thêm cán bộ"]);
    assert!(!o.status.success(), "{}", all(&o));
    let out = all(&o);
    assert!(out.contains("agencies/skhcn.yaml:11:5: lỗi[E020]"), "{out}");
    assert!(
        out.contains("pre-commit: các tệp sắp commit không hợp lệ"),
        "{out}"
    );

    // Fixed on disk but not staged: still refused, the index is what counts.
    std::fs::write(
        repo.join("agencies/skhcn.yaml"),
        format!("{AGENCY}  - id: p2\n    name: Trần Thị Hà\n"),
    )
    .unwrap();
    let o = git(repo, &["commit", "-q", "-m", "Thêm cán bộ"]);
    assert!(!o.status.success(), "{}", all(&o));

    // Staged: accepted, and the new mailbox is shown.
    assert!(git(repo, &["add", "-A"]).status.success());
    let o = git(repo, &["commit", "-q", "-m", "Thêm cán bộ"]);
    assert!(o.status.success(), "{}", all(&o));
    assert!(
        all(&o).contains("+ tạo mới   hatt.skhcn@sonla.gov.vn"),
        "{}",
        all(&o)
    );

    // A commit that does not touch the directory is not checked.
    std::fs::write(repo.join("README.md"), "Danh bạ\n").unwrap();
    assert!(git(repo, &["add", "-A"]).status.success());
    let o = git(repo, &["commit", "-q", "-m", "README"]);
    assert!(o.status.success(), "{}", all(&o));
    assert!(!all(&o).contains("So sánh"), "{}", all(&o));
}

#[test]
fn validate_names_files_from_the_top_of_the_repository_for_ci() {
    let tmp = tempfile::tempdir().unwrap();
    let top = tmp.path();
    assert!(git(top, &["init", "-q", "-b", "main"]).status.success());
    let root = top.join("directory");
    std::fs::create_dir_all(root.join("agencies")).unwrap();
    std::fs::write(
        root.join("hopthu.yaml"),
        "apiVersion: hopthu/v1\ndomain: sonla.gov.vn\n",
    )
    .unwrap();
    std::fs::write(
        root.join("agencies/skhcn.yaml"),
        AGENCY.replace("    name: Nguyễn", "    nme: Nguyễn"),
    )
    .unwrap();
    let run = |format: &str| {
        Command::new(env!("CARGO_BIN_EXE_hopthu"))
            .args(["validate", "directory", "--format", format, "--lang", "en"])
            .current_dir(top)
            .output()
            .unwrap()
    };
    // GitLab's Code Quality report.
    let o = run("gitlab");
    assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["check_name"], "E020");
    assert_eq!(v[0]["severity"], "major");
    assert_eq!(v[0]["location"]["path"], "directory/agencies/skhcn.yaml");
    assert_eq!(v[0]["location"]["lines"]["begin"], 9);
    // GitHub's annotations.
    let o = run("github");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .starts_with("::error file=directory/agencies/skhcn.yaml,line=9,col=5,title=E020::"),
        "{}",
        all(&o)
    );
}
