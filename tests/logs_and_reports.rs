//! The audit log kept at least six months (rotated by month, pruned only
//! past the retention, nothing lost on a crash), `hopthu log` and the
//! province's `hopthu report`.

#[path = "support/gitrepo.rs"]
mod gitrepo;

use chrono::{DateTime, TimeZone, Utc};
use hopthu::audit::{AuditLog, AuditRecord};
use std::path::Path;
use std::process::{Command, Output};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn rec(time: &str, action: &str, key: &str, address: &str) -> AuditRecord {
    AuditRecord::new(action, key, address, None, None, Some("abc123")).at(at(time))
}

fn renamed(time: &str, key: &str, address: &str, from: &str) -> AuditRecord {
    AuditRecord::new("rename", key, address, Some(from), None, None).at(at(time))
}

fn lines(path: &Path) -> Vec<AuditRecord> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_record_of_a_new_month_moves_the_old_month_to_its_own_file() {
    let tmp = tempfile::tempdir().unwrap();
    let log = AuditLog::new(tmp.path().join("audit.jsonl"));
    let nov = [
        rec(
            "2026-11-10T08:00:00Z",
            "create",
            "person/p-1",
            "annv.skhcn@sonla.gov.vn",
        ),
        rec(
            "2026-11-30T23:59:59Z",
            "lock",
            "person/p-1",
            "annv.skhcn@sonla.gov.vn",
        ),
    ];
    log.append(&nov[0]).unwrap();
    log.append(&nov[1]).unwrap();
    assert_eq!(names(tmp.path()), ["audit.jsonl"], "one month: one file");
    // 00:00 UTC on the first of December is December (07:00 in Sơn La).
    let dec = rec(
        "2026-12-01T00:00:00Z",
        "unlock",
        "person/p-1",
        "annv.skhcn@sonla.gov.vn",
    );
    log.append(&dec).unwrap();
    assert_eq!(names(tmp.path()), ["audit.2026-11.jsonl", "audit.jsonl"]);
    assert_eq!(lines(&tmp.path().join("audit.2026-11.jsonl")), nov);
    assert_eq!(lines(&tmp.path().join("audit.jsonl")), vec![dec.clone()]);
    let all = log.read().unwrap();
    assert_eq!(all, [nov[0].clone(), nov[1].clone(), dec]);
}

#[test]
fn records_of_several_months_in_one_append_each_go_to_their_month() {
    let tmp = tempfile::tempdir().unwrap();
    let log = AuditLog::new(tmp.path().join("audit.jsonl"));
    let batch = [
        rec(
            "2026-10-31T10:00:00Z",
            "create",
            "person/p-1",
            "a.skhcn@sonla.gov.vn",
        ),
        rec(
            "2026-11-01T10:00:00Z",
            "create",
            "person/p-2",
            "b.skhcn@sonla.gov.vn",
        ),
    ];
    log.append_all(&batch).unwrap();
    assert_eq!(names(tmp.path()), ["audit.2026-10.jsonl", "audit.jsonl"]);
    assert_eq!(log.read().unwrap(), batch);
}

#[test]
fn a_monthly_file_already_there_is_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let log = AuditLog::new(tmp.path().join("audit.jsonl"));
    // November's file is there already (an earlier rotation, a restore
    // from backup...), and the current file holds November too.
    let earlier = rec(
        "2026-11-02T08:00:00Z",
        "create",
        "person/p-1",
        "a.skhcn@sonla.gov.vn",
    );
    let monthly = tmp.path().join("audit.2026-11.jsonl");
    std::fs::write(&monthly, serde_json::to_string(&earlier).unwrap() + "\n").unwrap();
    let later = rec(
        "2026-11-20T08:00:00Z",
        "create",
        "person/p-2",
        "b.skhcn@sonla.gov.vn",
    );
    log.append(&later).unwrap();
    let dec = rec(
        "2026-12-03T08:00:00Z",
        "create",
        "person/p-3",
        "c.skhcn@sonla.gov.vn",
    );
    log.append(&dec).unwrap();
    assert_eq!(
        names(tmp.path()),
        [
            "audit.2026-11.1.jsonl",
            "audit.2026-11.jsonl",
            "audit.jsonl"
        ]
    );
    assert_eq!(lines(&monthly), vec![earlier.clone()], "left as it was");
    assert_eq!(
        lines(&tmp.path().join("audit.2026-11.1.jsonl")),
        vec![later.clone()]
    );
    assert_eq!(log.read().unwrap(), [earlier, later, dec]);
}

#[test]
fn a_rotation_stopped_half_way_loses_nothing_and_counts_nothing_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let log = AuditLog::new(tmp.path().join("audit.jsonl"));
    let nov = rec(
        "2026-11-20T08:00:00Z",
        "create",
        "person/p-1",
        "a.skhcn@sonla.gov.vn",
    );
    log.append(&nov).unwrap();
    // The crash: the monthly name was linked, the current one not removed.
    std::fs::hard_link(log.path.clone(), tmp.path().join("audit.2026-11.jsonl")).unwrap();
    assert_eq!(
        log.read().unwrap(),
        vec![nov.clone()],
        "one file under two names"
    );
    let dec = rec(
        "2026-12-01T01:00:00Z",
        "delete",
        "person/p-1",
        "a.skhcn@sonla.gov.vn",
    );
    log.append(&dec).unwrap();
    assert_eq!(names(tmp.path()), ["audit.2026-11.jsonl", "audit.jsonl"]);
    assert_eq!(
        lines(&tmp.path().join("audit.2026-11.jsonl")),
        vec![nov.clone()]
    );
    assert_eq!(lines(&log.path), vec![dec.clone()]);
    assert_eq!(log.read().unwrap(), [nov, dec]);
}

#[test]
fn a_damaged_byte_stops_neither_the_rotation_nor_the_pruning() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let log = AuditLog::new(d.join("audit.jsonl"))
        .with_keep_days(Some(180))
        .unwrap();
    let nov = rec(
        "2026-11-10T08:00:00Z",
        "create",
        "person/p-1",
        "annv.skhcn@sonla.gov.vn",
    );
    // A line damaged by a disk or a hand edit, between two records.
    let mut bytes = b"\xff\xfe damaged\n".to_vec();
    bytes.extend_from_slice((serde_json::to_string(&nov).unwrap() + "\n").as_bytes());
    std::fs::write(d.join("audit.jsonl"), &bytes).unwrap();
    // An old month, damaged too, past the retention.
    let mut old = b"\xc3 broken\n".to_vec();
    old.extend_from_slice(
        (serde_json::to_string(&rec(
            "2026-01-05T00:00:00Z",
            "create",
            "person/p-2",
            "b.skhcn@sonla.gov.vn",
        ))
        .unwrap()
            + "\n")
            .as_bytes(),
    );
    std::fs::write(d.join("audit.2026-01.jsonl"), &old).unwrap();
    let dec = rec(
        "2026-12-01T00:00:00Z",
        "lock",
        "person/p-1",
        "annv.skhcn@sonla.gov.vn",
    );
    log.append(&dec).unwrap();
    assert_eq!(
        names(d),
        ["audit.2026-11.jsonl", "audit.jsonl"],
        "November moved to its own file, January (past 180 days) pruned"
    );
    assert_eq!(
        std::fs::read(d.join("audit.2026-11.jsonl")).unwrap(),
        bytes,
        "moved whole, damaged line kept"
    );
    let (all, damaged) = log.read_counting().unwrap();
    assert_eq!(all, [nov, dec]);
    assert_eq!(damaged, 1);
}

#[test]
fn reading_with_a_filter_keeps_only_what_it_accepts() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let log = AuditLog::new(d.join("audit.jsonl"));
    month_file(
        d,
        "audit.2026-10.jsonl",
        &["2026-10-01T00:00:00Z", "2026-10-02T00:00:00Z"],
    );
    month_file(d, "audit.jsonl", &["2026-11-01T00:00:00Z"]);
    std::fs::write(d.join("audit.2026-09.jsonl"), "not a record\n").unwrap();
    let read = log
        .read_where(|r| r.time.starts_with("2026-10-02") || r.time.starts_with("2026-11"))
        .unwrap();
    assert_eq!(
        read.records
            .iter()
            .map(|r| r.time.as_str())
            .collect::<Vec<_>>(),
        ["2026-10-02T00:00:00Z", "2026-11-01T00:00:00Z"]
    );
    assert_eq!(
        read.damaged, 1,
        "damaged lines are counted whatever the filter"
    );
    assert_eq!(
        read.damaged_at,
        [format!("{}:1", d.join("audit.2026-09.jsonl").display())]
    );
}

fn month_file(dir: &Path, name: &str, times: &[&str]) {
    let text: String = times
        .iter()
        .map(|t| {
            serde_json::to_string(&rec(t, "create", "person/p-1", "a.skhcn@sonla.gov.vn")).unwrap()
                + "\n"
        })
        .collect();
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn the_audit_log_is_kept_at_least_six_months() {
    let tmp = tempfile::tempdir().unwrap();
    let log = AuditLog::new(tmp.path().join("audit.jsonl"));
    month_file(tmp.path(), "audit.2025-06.jsonl", &["2025-06-30T10:00:00Z"]);
    let now = Utc.with_ymd_and_hms(2026, 12, 15, 0, 0, 0).unwrap();
    let e = log.prune(now, 179).unwrap_err().to_string();
    assert!(e.contains("180") && e.contains("179"), "{e}");
    assert!(log.clone().with_keep_days(Some(90)).is_err());
    assert!(log.clone().with_keep_days(Some(180)).is_ok());
    assert_eq!(
        names(tmp.path()),
        ["audit.2025-06.jsonl"],
        "nothing removed"
    );
}

#[test]
fn pruning_removes_only_the_months_older_than_the_retention() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let log = AuditLog::new(d.join("audit.jsonl"));
    // 180 days before 2026-12-15 is 2026-06-18.
    month_file(
        d,
        "audit.2025-12.jsonl",
        &["2025-12-01T00:00:00Z", "2025-12-31T23:00:00Z"],
    );
    month_file(
        d,
        "audit.2026-06.jsonl",
        &["2026-06-01T00:00:00Z", "2026-06-17T23:00:00Z"],
    );
    month_file(
        d,
        "audit.2026-06.1.jsonl",
        &["2026-06-01T00:00:00Z", "2026-06-20T00:00:00Z"],
    );
    month_file(d, "audit.2026-11.jsonl", &["2026-11-03T00:00:00Z"]);
    std::fs::write(d.join("audit.2026-01.jsonl"), "not a record\n").unwrap();
    month_file(d, "audit.jsonl", &["2026-01-05T00:00:00Z"]);
    std::fs::write(d.join("other.2020-01.jsonl"), "{}\n").unwrap();
    let now = Utc.with_ymd_and_hms(2026, 12, 15, 0, 0, 0).unwrap();
    let removed = log.prune(now, 180).unwrap();
    assert_eq!(removed.len(), 2, "{removed:?}");
    assert_eq!(
        names(d),
        [
            // Its age cannot be told: kept.
            "audit.2026-01.jsonl",
            // Its newest record is 178 days old.
            "audit.2026-06.1.jsonl",
            "audit.2026-11.jsonl",
            // The current file is never pruned.
            "audit.jsonl",
            "other.2020-01.jsonl",
        ]
    );
}

#[test]
fn with_a_retention_a_rotation_prunes_the_months_past_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    month_file(d, "audit.2025-01.jsonl", &["2025-01-10T00:00:00Z"]);
    month_file(d, "audit.2026-10.jsonl", &["2026-10-10T00:00:00Z"]);
    let log = AuditLog::new(d.join("audit.jsonl"))
        .with_keep_days(Some(365))
        .unwrap();
    log.append(&rec(
        "2026-11-05T00:00:00Z",
        "create",
        "person/p-1",
        "a.skhcn@sonla.gov.vn",
    ))
    .unwrap();
    assert_eq!(names(d).len(), 3, "no rotation, no pruning: {:?}", names(d));
    log.append(&rec(
        "2026-12-05T00:00:00Z",
        "create",
        "person/p-2",
        "b.skhcn@sonla.gov.vn",
    ))
    .unwrap();
    assert_eq!(
        names(d),
        ["audit.2026-10.jsonl", "audit.2026-11.jsonl", "audit.jsonl"]
    );
}

// ---- the command line -------------------------------------------------

fn hopthu(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args(args)
        .current_dir(cwd)
        .env("HOPTHU_TODAY", "2026-12-20")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const SETTINGS: &str = "apiVersion: hopthu/v1\ndomain: sonla.gov.vn\n";

const SKHCN: &str = r#"apiVersion: hopthu/v1
kind: Agency
code: "SL-SKHCN"
abbr: skhcn
type: department
name: Sở Khoa học và Công nghệ
formerAbbrs: [stttt]
units:
  - code: vp
    abbr: vp
    name: Văn phòng Sở
people:
  - id: "p-1"
    name: Nguyễn Văn An
  - id: "p-2"
    name: Lò Thị Bình
    status: locked
    lock:
      reason: inactive
      since: 2026-11-01
"#;

const TOHIEU: &str = r#"apiVersion: hopthu/v1
kind: Agency
code: "03646"
abbr: tohieu
type: ward
name: Phường Tô Hiệu
mailbox:
  status: locked
  lock:
    reason: requested
    since: 2026-10-01
people:
  - id: "p-3"
    name: Cầm Văn Dũng
"#;

/// A small repository: Sở KH&CN (3 active, 1 locked) and Phường Tô Hiệu
/// (1 active, 1 locked).
fn fixture(dir: &Path) {
    std::fs::create_dir_all(dir.join("agencies")).unwrap();
    std::fs::write(dir.join("hopthu.yaml"), SETTINGS).unwrap();
    std::fs::write(dir.join("agencies/skhcn.yaml"), SKHCN).unwrap();
    std::fs::write(dir.join("agencies/tohieu.yaml"), TOHIEU).unwrap();
}

/// The audit log of the fixture: November in its monthly file, December
/// in the current one.
fn audit_fixture(state: &Path) -> Vec<AuditRecord> {
    let log = AuditLog::new(state.join("audit.jsonl"));
    let failed = AuditRecord::new(
        "create",
        "person/p-3",
        "dungcv.tohieu@sonla.gov.vn",
        None,
        Some("LDAP result 50: insufficientAccessRights"),
        None,
    )
    .at(at("2026-12-10T05:00:00Z"));
    let records = vec![
        rec(
            "2026-11-30T23:00:00Z",
            "create",
            "person/p-1",
            "annv.skhcn@sonla.gov.vn",
        ),
        rec(
            "2026-12-01T00:00:00Z",
            "create",
            "person/p-1",
            "annv.skhcn@sonla.gov.vn",
        ),
        renamed(
            "2026-12-05T03:00:00Z",
            "person/p-2",
            "binhlt.skhcn@sonla.gov.vn",
            "binhlt.stttt@sonla.gov.vn",
        ),
        rec(
            "2026-12-06T03:00:00Z",
            "lock",
            "person/p-2",
            "binhlt.skhcn@sonla.gov.vn",
        ),
        rec(
            "2026-12-06T04:00:00Z",
            "update",
            "person/p-2",
            "binhlt.skhcn@sonla.gov.vn",
        ),
        rec(
            "2026-12-07T03:00:00Z",
            "lock",
            "agency/03646",
            "tohieu@sonla.gov.vn",
        ),
        rec(
            "2026-12-08T03:00:00Z",
            "unlock",
            "person/p-3",
            "dungcv.tohieu@sonla.gov.vn",
        ),
        // No longer declared: its agency comes from its address.
        rec(
            "2026-12-09T03:00:00Z",
            "delete",
            "person/p-9",
            "cuongnv.tohieu@sonla.gov.vn",
        ),
        failed,
        rec(
            "2026-12-20T23:59:59Z",
            "create",
            "unit/SL-SKHCN/vp",
            "vp.skhcn@sonla.gov.vn",
        ),
        rec(
            "2026-12-21T00:00:00Z",
            "create",
            "person/p-4",
            "dungnv.skhcn@sonla.gov.vn",
        ),
    ];
    for r in &records {
        log.append(r).unwrap();
    }
    assert!(state.join("audit.2026-11.jsonl").exists());
    records
}

fn log_json(args: &[&str], cwd: &Path) -> Vec<AuditRecord> {
    let mut all = vec!["log", "--format", "json"];
    all.extend_from_slice(args);
    let o = hopthu(&all, cwd);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)))
}

fn times(rs: &[AuditRecord]) -> Vec<&str> {
    rs.iter().map(|r| &r.time[..10]).collect()
}

#[test]
fn hopthu_log_reads_every_month_where_apply_writes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let records = audit_fixture(&t.join(".hopthu"));
    assert_eq!(log_json(&[], t), records);
    let o = hopthu(
        &["log", "--since", "2026-12-06", "--until", "2026-12-06"],
        t,
    );
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o);
    assert!(
        out.contains("Thời gian (UTC)") && out.contains("Thao tác"),
        "{out}"
    );
    assert!(out.contains("khóa") && out.contains("cập nhật"), "{out}");
    assert!(out.contains("2 bản ghi."), "{out}");
    let o = hopthu(&["log", "--lang", "en", "--result", "failed"], t);
    let out = text(&o);
    assert!(out.contains("Action") && out.contains("failed"), "{out}");
    assert!(out.contains("error: LDAP result 50"), "{out}");
    assert!(out.contains("1 record."), "{out}");
}

#[test]
fn hopthu_log_finds_an_address_and_its_former_address() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    audit_fixture(&t.join(".hopthu"));
    // Case does not matter; the former address of a rename counts.
    let old = log_json(&["--address", "BinhLT.stttt@sonla.gov.vn"], t);
    assert_eq!(old.len(), 1);
    assert_eq!(old[0].action, "rename");
    let now = log_json(&["--address", "binhlt.skhcn@sonla.gov.vn"], t);
    assert_eq!(
        now.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
        ["rename", "lock", "update"]
    );
    // A local part alone.
    assert_eq!(log_json(&["--address", "binhlt.stttt"], t).len(), 1);
}

#[test]
fn hopthu_log_filters_by_agency_period_and_action() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let repo = t.join("repo");
    fixture(&repo);
    let r = repo.display().to_string();
    audit_fixture(&t.join(".hopthu"));

    // Without the repository: keys and the abbreviation in addresses.
    let by_code = log_json(&["--agency", "03646"], t);
    assert_eq!(times(&by_code), ["2026-12-07"]);
    let by_abbr = log_json(&["--agency", "tohieu"], t);
    assert_eq!(
        times(&by_abbr),
        ["2026-12-07", "2026-12-08", "2026-12-09", "2026-12-10"]
    );
    // With it: a code finds the agency's people, an abbreviation (even a
    // former one) its code.
    let with_root = log_json(&["--agency", "03646", "--root", &r], t);
    assert_eq!(times(&with_root), times(&by_abbr));
    let former = log_json(&["--agency", "STTTT", "--root", &r], t);
    assert_eq!(former.len(), 7, "{former:?}");
    assert!(
        former
            .iter()
            .all(|r| r.key.contains("p-") || r.key.contains("SL-SKHCN"))
    );

    // Both ends of the period are included, across monthly files.
    let period = log_json(&["--since", "2026-11-30", "--until", "2026-12-01"], t);
    assert_eq!(times(&period), ["2026-11-30", "2026-12-01"]);
    let late = log_json(&["--since", "2026-12-20"], t);
    assert_eq!(times(&late), ["2026-12-20", "2026-12-21"]);

    // Actions, alone or several, with the other filters.
    let locks = log_json(&["--action", "lock"], t);
    assert_eq!(times(&locks), ["2026-12-06", "2026-12-07"]);
    let some = log_json(
        &[
            "--action",
            "lock,unlock",
            "--agency",
            "tohieu",
            "--until",
            "2026-12-07",
        ],
        t,
    );
    assert_eq!(times(&some), ["2026-12-07"]);
    let o = hopthu(&["log", "--action", "explode"], t);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = hopthu(
        &["log", "--since", "2026-12-02", "--until", "2026-12-01"],
        t,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn hopthu_log_prunes_only_with_a_retention_of_six_months_or_more() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let state = t.join(".hopthu");
    std::fs::create_dir_all(&state).unwrap();
    month_file(&state, "audit.2026-01.jsonl", &["2026-01-31T00:00:00Z"]);
    month_file(&state, "audit.2026-11.jsonl", &["2026-11-30T00:00:00Z"]);
    let o = hopthu(&["log", "--prune", "--keep-days", "90"], t);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("180"), "{}", text(&o));
    assert_eq!(names(&state).len(), 2);
    let o = hopthu(&["log", "--prune", "--keep-days", "180", "--lang", "en"], t);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("removed"), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "Removed 1 monthly log file(s) past 180 days.\n",
        "pruning alone does not print the log"
    );
    assert_eq!(names(&state), ["audit.2026-11.jsonl"]);
    // apply refuses too, before reading anything.
    let o = hopthu(
        &[
            "apply",
            ".",
            "--live",
            "ldif:x.ldif",
            "--audit-keep-days",
            "30",
            "--lang",
            "en",
        ],
        t,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("at least 180 days"), "{}", text(&o));
}

// ---- the report ----------------------------------------------------------

fn report_repo(t: &Path) -> gitrepo::GitRepo {
    let g = gitrepo::GitRepo::new(&t.join("repo"));
    fixture(&g.dir);
    g.commit("Danh bạ ban đầu");
    // An open proposal.
    g.branch("hopthu/propose/them-cuong");
    g.write("proposals/cuong.txt", "x");
    g.commit_on(
        "hopthu/propose/them-cuong",
        "Đề xuất: cấp hộp thư cho Nguyễn Văn Cường (skhcn)\n\nChi tiết.",
    );
    g.remove("proposals/cuong.txt");
    // A proposal already merged.
    g.branch("hopthu/propose/da-gop");
    g.write("proposals/gop.txt", "x");
    g.commit_on("hopthu/propose/da-gop", "Đề xuất đã gộp");
    g.merge("hopthu/propose/da-gop", "Gộp đề xuất");
    // Not a proposal.
    g.branch("feature/other");
    g
}

#[test]
fn the_report_counts_mailboxes_by_status_and_the_changes_of_the_period() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let g = report_repo(t);
    audit_fixture(&t.join(".hopthu"));
    let r = g.dir.display().to_string();
    // The period: this month up to today (2026-12-01 .. 2026-12-20).
    let o = hopthu(&["report", &r], t);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let md = String::from_utf8(o.stdout).unwrap();
    assert!(md.contains("2026-12-01 → 2026-12-20"), "{md}");
    // code | abbr | name | mailboxes | active | locked | created | renamed | locked | unlocked | revoked
    assert!(
        md.contains(
            "| SL-SKHCN | skhcn | Sở Khoa học và Công nghệ | 4 | 3 | 1 | 2 | 1 | 1 | 0 | 0 |"
        ),
        "{md}"
    );
    assert!(
        md.contains("| 03646 | tohieu | Phường Tô Hiệu | 2 | 1 | 1 | 0 | 0 | 1 | 1 | 1 |"),
        "{md}"
    );
    assert!(md.contains("| 6 | 4 | 2 | 2 | 1 | 2 | 1 | 1 |"), "{md}");
    // Open proposals: the branch not merged, not the merged one.
    assert!(md.contains("Đề xuất đang chờ"), "{md}");
    assert!(
        md.contains("`hopthu/propose/them-cuong`")
            && md.contains("Đề xuất: cấp hộp thư cho Nguyễn Văn Cường (skhcn) |"),
        "{md}"
    );
    assert!(
        !md.contains("da-gop") && !md.contains("feature/other"),
        "{md}"
    );

    // Another period, in English.
    let o = hopthu(
        &[
            "report",
            &r,
            "--since",
            "2026-11-01",
            "--until",
            "2026-11-30",
            "--lang",
            "en",
        ],
        t,
    );
    let md = String::from_utf8(o.stdout).unwrap();
    assert!(md.contains("Open proposals"), "{md}");
    assert!(
        md.contains(
            "| SL-SKHCN | skhcn | Sở Khoa học và Công nghệ | 4 | 3 | 1 | 1 | 0 | 0 | 0 | 0 |"
        ),
        "{md}"
    );
}

#[test]
fn the_report_as_csv_and_as_one_self_contained_page() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let g = report_repo(t);
    audit_fixture(&t.join(".hopthu"));
    let r = g.dir.display().to_string();

    let o = hopthu(&["report", &r, "--format", "csv", "--out", "r.csv"], t);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let csv = std::fs::read(t.join("r.csv")).unwrap();
    assert!(csv.starts_with(&[0xEF, 0xBB, 0xBF]), "a UTF-8 BOM");
    let csv = String::from_utf8(csv[3..].to_vec()).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "a header and one row per agency: {csv}");
    assert!(rows[0].starts_with("Mã,Viết tắt,Cơ quan,Hộp thư"), "{csv}");
    assert_eq!(rows[1], "03646,tohieu,Phường Tô Hiệu,2,1,1,0,0,1,1,1");
    assert_eq!(
        rows[2],
        "SL-SKHCN,skhcn,Sở Khoa học và Công nghệ,4,3,1,2,1,1,0,0"
    );

    let o = hopthu(&["report", &r, "--format", "html", "--out", "r.html"], t);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let html = std::fs::read_to_string(t.join("r.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<html lang=\"vi\">"));
    assert!(html.contains("<svg") && html.contains("<title id=\"chart-title\">"));
    assert!(html.contains("<desc id=\"chart-desc\">"));
    assert!(
        html.contains("<caption>")
            && html.contains("scope=\"col\"")
            && html.contains("scope=\"row\"")
    );
    assert!(html.contains("Phường Tô Hiệu") && html.contains("hopthu/propose/them-cuong"));
    for outside in [
        "http://", "https://", "<script", "src=", "href=", "@import", "url(",
    ] {
        assert!(!html.contains(outside), "{outside} in the page");
    }
}

#[test]
fn the_report_of_a_folder_outside_git_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let repo = t.join("repo");
    fixture(&repo);
    let o = hopthu(&["report", &repo.display().to_string(), "--lang", "en"], t);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let md = String::from_utf8(o.stdout).unwrap();
    assert!(md.contains("is not in a git repository"), "{md}");
    assert!(
        md.contains("| 6 | 4 | 2 | 0 | 0 | 0 | 0 | 0 |"),
        "no audit log, no change: {md}"
    );
}

#[test]
fn a_missing_or_damaged_log_is_said_not_shown_as_a_short_history() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let o = hopthu(&["log", "--audit-log", "nowhere/audit.jsonl"], t);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("không có nhật ký tại nowhere/audit.jsonl"),
        "{}",
        text(&o)
    );
    let good = serde_json::to_string(&rec(
        "2026-12-01T00:00:00Z",
        "create",
        "person/p1",
        "annv.skhcn@sonla.gov.vn",
    ))
    .unwrap();
    let mut bytes = format!("{good}\n{{\"time\":\"2026-12-02T00:00:00Z\",\"act\n").into_bytes();
    bytes.extend_from_slice(b"\xff\xfe garbage\n");
    bytes.extend_from_slice(format!("{}\n", good.replace("p1", "p2")).as_bytes());
    std::fs::write(t.join("audit.jsonl"), bytes).unwrap();
    let o = hopthu(
        &["log", "--audit-log", "audit.jsonl", "--format", "json"],
        t,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let shown: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown.len(), 2, "a bad byte spoils only its own line");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("2 dòng của nhật ký"),
        "{}",
        text(&o)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("audit.jsonl:2, audit.jsonl:3;"),
        "the damaged lines are named: {}",
        text(&o)
    );
}

#[test]
fn odd_files_and_impossible_times_in_the_log_are_said_not_waited_on() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let state = t.join("st");
    std::fs::create_dir_all(&state).unwrap();
    let good = serde_json::to_string(&rec(
        "2026-12-01T00:00:00Z",
        "create",
        "person/p1",
        "annv.skhcn@sonla.gov.vn",
    ))
    .unwrap();
    // A time that does not exist, and a line of 2 MiB with no record in it.
    let mut current = format!("{good}\n{}\n", good.replace("2026-12-01", "2026-13-45"));
    current.push_str(&"x".repeat(2 << 20));
    current.push('\n');
    std::fs::write(state.join("audit.jsonl"), current).unwrap();
    // A folder and a pipe under months' names hold no records; a pipe
    // opened for reading would wait for a writer for ever.
    std::fs::create_dir(state.join("audit.2026-11.jsonl")).unwrap();
    let fifo = state.join("audit.2026-10.jsonl");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let o = hopthu(&["log", "--state-dir", "st", "--format", "json"], t);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let shown: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown.len(), 1, "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("2 dòng"),
        "{}",
        text(&o)
    );
    // A device as the log: refused, not read until memory runs out.
    let o = hopthu(&["log", "--audit-log", "/dev/zero", "--lang", "en"], t);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("/dev/zero is not a log file"),
        "{}",
        text(&o)
    );
    // The report says when it has no log to count from.
    let repo = t.join("repo");
    fixture(&repo);
    let o = hopthu(
        &[
            "report",
            &repo.display().to_string(),
            "--state-dir",
            "nowhere",
            "--lang",
            "en",
        ],
        t,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("there is no audit log at nowhere/audit.jsonl"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_retention_longer_than_dates_reach_keeps_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let log = AuditLog::new(tmp.path().join("audit.jsonl"));
    month_file(tmp.path(), "audit.2025-06.jsonl", &["2025-06-30T10:00:00Z"]);
    let now = Utc.with_ymd_and_hms(2026, 12, 15, 0, 0, 0).unwrap();
    assert_eq!(
        log.prune(now, u32::MAX).unwrap(),
        Vec::<std::path::PathBuf>::new()
    );
    assert_eq!(names(tmp.path()), ["audit.2025-06.jsonl"]);
}
