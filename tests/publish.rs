//! `hopthu publish`: the public directory. What is listed and what never
//! is, the CSV and vCard files as other programs read them, and the page
//! searched in headless Chromium as a person would.

use hopthu::desired::MailboxKind;
use hopthu::publish::{self, Entry, Listing};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const TODAY: &str = "2026-12-03";

fn hopthu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args(args)
        .env("HOPTHU_TODAY", TODAY)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

const SETTINGS: &str = "apiVersion: hopthu/v1\ndomain: sonla.gov.vn\n";

/// Two secrets that live only in lock notes: no output may hold them.
const NOTE_AGENCY: &str = "Ghi chú nội bộ KHÔNG-CÔNG-KHAI-1";
const NOTE_PERSON: &str = "Đăng nhập bất thường KHÔNG-CÔNG-KHAI-2";

const SKHCN: &str = r#"apiVersion: hopthu/v1
kind: Agency
code: "S01"
abbr: skhcn
type: department
name: Sở Khoa học và Công nghệ
mailbox:
  status: locked
  lock: {reason: requested, since: "2026-01-05", note: "Ghi chú nội bộ KHÔNG-CÔNG-KHAI-1"}
units:
  - code: ql
    abbr: pqlkh
    name: 'Phòng Quản lý khoa học, công nghệ "và" đổi mới'
people:
  - id: p1
    name: Nguyễn Thị Hương
    title: Giám đốc Sở
    public: true
  - id: p2
    name: Trần Văn Bình
    unit: ql
    title: Trưởng phòng
    public: true
    status: locked
    lock: {reason: compromised, since: "2026-02-01", note: "Đăng nhập bất thường KHÔNG-CÔNG-KHAI-2"}
  - id: p3
    name: Lê Văn Kín
    unit: ql
"#;

const STC: &str = r#"apiVersion: hopthu/v1
kind: Agency
code: "S02"
abbr: stc
type: department
name: Sở Tài chính
units:
  - code: ns
    abbr: ns
    name: Phòng Ngân sách
people:
  - id: p4
    name: Đặng Văn Khoa
    title: Giám đốc Sở
    public: true
  - id: p5
    name: Phạm Thị Mai
    unit: ns
    public: false
"#;

const TOHIEU: &str = r#"apiVersion: hopthu/v1
kind: Agency
code: "03646"
abbr: tohieu
type: ward
name: Phường Tô Hiệu
people:
  - id: p6
    name: Lò Thị Ún
    title: Chủ tịch UBND phường
    public: true
"#;

/// The names listed from the fixture, and those that must never be.
const LISTED: [&str; 8] = [
    "Sở Khoa học và Công nghệ",
    "Nguyễn Thị Hương",
    "Trần Văn Bình",
    "Sở Tài chính",
    "Phòng Ngân sách",
    "Đặng Văn Khoa",
    "Phường Tô Hiệu",
    "Lò Thị Ún",
];
const UNLISTED: [&str; 4] = ["Lê Văn Kín", "kinlv", "Phạm Thị Mai", "maipt"];

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hopthu.yaml"), SETTINGS).unwrap();
    std::fs::create_dir(dir.path().join("agencies")).unwrap();
    for (name, text) in [("skhcn", SKHCN), ("stc", STC), ("tohieu", TOHIEU)] {
        std::fs::write(dir.path().join(format!("agencies/{name}.yaml")), text).unwrap();
    }
    dir
}

/// Publish `root` into `out`; the command must succeed.
fn publish_into(root: &Path, out: &Path) -> String {
    let o = hopthu(&[
        "publish",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    stdout
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// A CSV file read the RFC 4180 way: quoted fields, doubled quotes, CRLF.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => assert_eq!(chars.next(), Some('\n'), "CR without LF"),
            (false, '\n') => panic!("a line end without CR"),
            (false, c) => field.push(c),
        }
        if !quoted && c == '\r' {
            row.push(std::mem::take(&mut field));
            rows.push(std::mem::take(&mut row));
        }
    }
    assert!(row.is_empty() && field.is_empty(), "the last line ends");
    rows
}

#[test]
fn only_public_people_are_listed_with_every_agency_and_unit_mailbox() {
    let repo = fixture();
    let out = tempfile::tempdir().unwrap();
    let said = publish_into(repo.path(), &out.path().join("danhba"));
    let out = out.path().join("danhba");
    assert!(
        said.contains("9 hộp thư (3 cơ quan, 2 đơn vị, 4 cá nhân)"),
        "{said}"
    );
    let csv = read(&out, publish::CSV_FILE);
    let rows = parse_csv(csv.strip_prefix('\u{FEFF}').expect("a BOM"));
    assert_eq!(
        rows[0],
        ["Tên", "Chức vụ", "Cơ quan", "Đơn vị", "Thư điện tử", "Loại"]
    );
    let names: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        names,
        [
            "Sở Khoa học và Công nghệ",
            "Nguyễn Thị Hương",
            "Phòng Quản lý khoa học, công nghệ \"và\" đổi mới",
            "Trần Văn Bình",
            "Sở Tài chính",
            "Đặng Văn Khoa",
            "Phòng Ngân sách",
            "Phường Tô Hiệu",
            "Lò Thị Ún",
        ],
        "provincial agencies first; each agency, its leaders, each unit and its people"
    );
    let binh = rows.iter().find(|r| r[0] == "Trần Văn Bình").unwrap();
    assert_eq!(
        binh[1..],
        [
            "Trưởng phòng",
            "Sở Khoa học và Công nghệ",
            "Phòng Quản lý khoa học, công nghệ \"và\" đổi mới",
            "binhtv.skhcn@sonla.gov.vn",
            "Cá nhân"
        ],
        "a locked mailbox still receives mail: listed, unmarked"
    );
}

#[test]
fn nothing_private_is_written() {
    let repo = fixture();
    let out = tempfile::tempdir().unwrap();
    publish_into(repo.path(), out.path());
    let vcf = read(out.path(), publish::VCARD_FILE).replace("\r\n ", "");
    for name in [publish::HTML_FILE, publish::CSV_FILE, publish::VCARD_FILE] {
        let text = read(out.path(), name);
        for text in [text.as_str(), vcf.as_str()] {
            for secret in [NOTE_AGENCY, NOTE_PERSON, "KHÔNG-CÔNG-KHAI"] {
                assert!(
                    !text.contains(secret),
                    "{name} holds the lock note {secret}"
                );
            }
            for word in ["compromised", "requested", "locked", "2026-02-01", "quota"] {
                assert!(!text.contains(word), "{name} holds `{word}`");
            }
            for who in UNLISTED {
                assert!(!text.contains(who), "{name} lists {who}, who is not public");
            }
        }
    }
}

#[test]
fn the_csv_quotes_by_rfc_4180_and_opens_as_utf8_in_excel() {
    let repo = fixture();
    let out = tempfile::tempdir().unwrap();
    publish_into(repo.path(), out.path());
    let bytes = std::fs::read(out.path().join(publish::CSV_FILE)).unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "a UTF-8 BOM");
    let csv = String::from_utf8(bytes).unwrap();
    assert!(
        csv.contains(",\"Phòng Quản lý khoa học, công nghệ \"\"và\"\" đổi mới\",binhtv.skhcn@"),
        "{csv}"
    );
    assert!(csv.ends_with("\r\n") && !csv.replace("\r\n", "").contains('\n'));
    assert_eq!(publish::csv_field("plain"), "plain");
    assert_eq!(publish::csv_field("a,b"), "\"a,b\"");
    assert_eq!(publish::csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(publish::csv_field("two\nlines"), "\"two\nlines\"");
    assert_eq!(
        publish::csv_field("=HYPERLINK(\"x\")"),
        "\"'=HYPERLINK(\"\"x\"\")\"",
        "never a formula"
    );
}

fn entry(name: &str, unit: Option<&str>, title: Option<&str>) -> Entry {
    Entry {
        kind: MailboxKind::Person,
        name: name.into(),
        title: title.map(Into::into),
        agency: "Sở Khoa học và Công nghệ".into(),
        unit: unit.map(Into::into),
        address: "x.skhcn@sonla.gov.vn".into(),
        split_name: None,
    }
}

fn listing(entries: Vec<Entry>) -> Listing {
    Listing {
        domain: "sonla.gov.vn".into(),
        updated: TODAY.parse().unwrap(),
        entries,
    }
}

#[test]
fn vcards_escape_commas_semicolons_and_backslashes() {
    let l = listing(vec![entry(
        "A, B; C\\D",
        Some("Phòng Kinh tế; Hạ tầng, Đô thị"),
        Some("Trưởng phòng, kiêm nhiệm"),
    )]);
    let v = publish::vcard(&l).replace("\r\n ", "");
    assert!(v.starts_with("BEGIN:VCARD\r\nVERSION:4.0\r\n"), "{v}");
    assert!(v.contains("\r\nFN:A\\, B\\; C\\\\D\r\n"), "{v}");
    assert!(
        v.contains("\r\nORG:Sở Khoa học và Công nghệ;Phòng Kinh tế\\; Hạ tầng\\, Đô thị\r\n"),
        "{v}"
    );
    assert!(
        v.contains("\r\nTITLE:Trưởng phòng\\, kiêm nhiệm\r\n"),
        "{v}"
    );
    assert!(v.contains("\r\nEMAIL;TYPE=work:x.skhcn@sonla.gov.vn\r\n"));
    assert!(v.ends_with("END:VCARD\r\n"));
}

#[test]
fn vcard_lines_fold_at_75_octets_between_characters() {
    let long = "Nguyễn Thị Hồng Nguyệt Ánh Dương Phương Thảo Quỳnh Hương Ngọc Diễm Lệ Hằng Ưởng";
    let l = listing(vec![entry(long, Some(long), None)]);
    let v = publish::vcard(&l);
    let lines: Vec<&str> = v.split_terminator("\r\n").collect();
    assert!(lines.iter().any(|l| l.starts_with(' ')), "folded: {v}");
    for line in &lines {
        // Each physical line is whole characters (a &str) of at most 75 octets.
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
    }
    // Every fold fills its line: the next character would not have fit.
    for pair in lines.windows(2) {
        if let Some(next) = pair[1].strip_prefix(' ') {
            let c = next.chars().next().unwrap();
            assert!(pair[0].len() + c.len_utf8() > 75, "{pair:?}");
        }
    }
    // Some fold falls where a multi-octet letter would have been split.
    assert!(
        lines
            .windows(2)
            .any(|p| p[1].starts_with(' ') && p[0].len() < 75)
    );
    let unfolded = v.replace("\r\n ", "");
    assert!(unfolded.contains(&format!("\r\nFN:{long}\r\n")));
    assert!(unfolded.contains(&format!("\r\nORG:Sở Khoa học và Công nghệ;{long}\r\n")));
    // Folding by itself: every split point keeps UTF-8 whole.
    for n in 1..200 {
        let s: String = "ỗa".repeat(n);
        let folded = publish::vcard_fold(&format!("FN:{s}"));
        assert!(folded.split_terminator("\r\n").all(|l| l.len() <= 75));
        assert_eq!(folded.replace("\r\n ", ""), format!("FN:{s}\r\n"));
    }
}

#[test]
fn the_page_is_accessible_and_self_contained() {
    let l = listing(vec![entry(
        "Nguyễn <b>An</b>",
        None,
        Some("\"Trưởng\" & phó"),
    )]);
    let html = publish::html(&l);
    for needle in [
        "<html lang=\"vi\">",
        "<title>Danh bạ thư điện tử sonla.gov.vn</title>",
        "<label for=\"q\">",
        "<input id=\"q\" name=\"q\" type=\"search\"",
        "<caption id=\"caption\">",
        "<th scope=\"col\">Tên</th>",
        "<th scope=\"row\">Nguyễn &lt;b&gt;An&lt;/b&gt;</th>",
        "<td>&quot;Trưởng&quot; &amp; phó</td>",
        "aria-live=\"polite\"",
        "<script type=\"application/json\" id=\"data\">",
        "default-src 'none'",
    ] {
        assert!(html.contains(needle), "no {needle}");
    }
    // The data holds no markup: `</script>` cannot end the element early.
    let data = html.split("id=\"data\">").nth(1).unwrap();
    let data = &data[..data.find("</script>").unwrap()];
    assert!(!data.contains('<') && data.contains("Nguy"));
    // Nothing is fetched: no URL, no src, no external style or script.
    for bad in ["http://", "https://", "src=", "<link", "@import", "url("] {
        assert!(!html.contains(bad), "the page holds {bad}");
    }
}

#[test]
fn an_invalid_repository_writes_nothing() {
    let repo = fixture();
    std::fs::write(
        repo.path().join("agencies/stc.yaml"),
        STC.replace("    name: Phạm Thị Mai", "    nme: Phạm Thị Mai"),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let fresh = out.path().join("new");
    let o = hopthu(&[
        "publish",
        repo.path().to_str().unwrap(),
        "--out",
        fresh.to_str().unwrap(),
        "--lang",
        "en",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("error[E020]: unknown key `nme`"), "{err}");
    assert!(err.contains("Invalid: 1 error(s)"), "{err}");
    assert!(!fresh.exists(), "the folder was made");
    // An earlier page stays as it was.
    std::fs::write(out.path().join("index.html"), "earlier").unwrap();
    let o = hopthu(&[
        "publish",
        repo.path().to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(read(out.path(), "index.html"), "earlier");
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 1);
}

#[test]
fn an_out_that_is_a_file_is_refused() {
    let repo = fixture();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("danhba");
    std::fs::write(&file, "a file").unwrap();
    let o = hopthu(&[
        "publish",
        repo.path().to_str().unwrap(),
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("là một tệp, không phải thư mục"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "a file");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    assert!(matches!(
        publish::publish(&file, &listing(vec![])),
        Err(publish::PublishError::NotAFolder(_))
    ));
}

#[test]
fn a_folder_in_the_way_or_an_out_among_the_agency_files_writes_nothing() {
    let repo = fixture();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join("index.html")).unwrap();
    let o = hopthu(&[
        "publish",
        repo.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        1,
        "no CSV or vCard beside it"
    );
    let inside = repo.path().join("agencies/pub");
    let o = hopthu(&[
        "publish",
        repo.path().to_str().unwrap(),
        "--out",
        inside.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("agencies/"));
    assert!(!inside.exists());
}

#[test]
fn publishing_again_replaces_the_files_and_leaves_no_temporary_ones() {
    let repo = fixture();
    let out = tempfile::tempdir().unwrap();
    publish_into(repo.path(), out.path());
    std::fs::write(
        repo.path().join("agencies/tohieu.yaml"),
        TOHIEU.replace("    public: true\n", ""),
    )
    .unwrap();
    let said = publish_into(repo.path(), out.path());
    assert!(said.contains("8 hộp thư"), "{said}");
    assert!(!read(out.path(), publish::HTML_FILE).contains("Lò Thị Ún"));
    let mut names: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["danhba.csv", "danhba.vcf", "index.html"]);
}

// ---------------------------------------------------------------------------
// The page in headless Chromium

/// Chromium, run on a file:// URL with a throwaway profile; its stdout.
fn chromium(home: &Path, args: &[&str], url: &str) -> String {
    let mut cmd = Command::new("chromium");
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-sync",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--hide-scrollbars",
    ])
    .arg(format!(
        "--user-data-dir={}",
        home.join("profile").display()
    ))
    .args(args)
    .arg(url)
    .env("HOME", home)
    .env_remove("DISPLAY")
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => panic!(
            "cannot run chromium ({e}): the page is tested in headless Chromium; \
             install it with `bash scripts/setup.sh`"
        ),
    };
    let id = child.id();
    let deadline = Instant::now() + Duration::from_secs(90);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(o) => {
                let o = o.unwrap();
                assert!(
                    o.status.success(),
                    "chromium failed: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                return String::from_utf8(o.stdout).unwrap();
            }
            Err(_) if Instant::now() > deadline => {
                let _ = Command::new("kill").arg(id.to_string()).status();
                panic!("chromium did not finish in 90 s on {url}");
            }
            Err(_) => {}
        }
    }
}

/// The page after its script ran, as (count text, text of the rows shown).
struct Searched {
    count: String,
    shown: Vec<String>,
    total: usize,
}

fn search(home: &Path, page: &Path, query: &str) -> Searched {
    let mut url = format!("file://{}", page.display());
    if !query.is_empty() {
        let q: String = query
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        url = format!("{url}?q={q}");
    }
    let dom = chromium(home, &["--dump-dom"], &url);
    let body = &dom[dom.find("<tbody>").expect("a table body")..];
    let mut shown = Vec::new();
    let mut total = 0;
    for chunk in body.split("<tr").skip(1) {
        let (tag, rest) = chunk.split_once('>').unwrap();
        let cells = &rest[..rest.find("</tr>").unwrap()];
        total += 1;
        if !tag.contains("hidden") {
            shown.push(strip_tags(cells));
        }
    }
    let count = dom.split("id=\"count\"").nth(1).expect("the count");
    let count = count[count.find('>').unwrap() + 1..count.find("</p>").unwrap()].to_string();
    Searched {
        count,
        shown,
        total,
    }
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_page_searches_without_diacritics_in_chromium() {
    let repo = fixture();
    let out = tempfile::tempdir().unwrap();
    publish_into(repo.path(), out.path());
    let page = out.path().join(publish::HTML_FILE);
    let home = tempfile::tempdir().unwrap();

    let all = search(home.path(), &page, "");
    assert_eq!((all.total, all.shown.len()), (9, 9));
    assert_eq!(all.count, "9 hộp thư");
    for name in LISTED {
        assert!(
            all.shown.iter().any(|r| r.contains(name)),
            "{name} is listed"
        );
    }

    // An agency, typed without diacritics: its mailbox, its unit and its
    // public people; not "Đặng Văn Khoa" of Sở Tài chính ("hoc" is missing).
    let s = search(home.path(), &page, "so khoa hoc");
    assert_eq!(s.shown.len(), 4, "{:?}", s.shown);
    assert!(
        s.shown
            .iter()
            .all(|r| r.contains("Sở Khoa học và Công nghệ"))
    );
    for other in ["Sở Tài chính", "Phường Tô Hiệu", "Đặng Văn Khoa"] {
        assert!(!s.shown.iter().any(|r| r.contains(other)), "{other} shown");
    }
    assert_eq!(s.count, "Tìm thấy 4 / 9 hộp thư");

    // Part of an address.
    let s = search(home.path(), &page, "ns.stc");
    assert_eq!(s.shown.len(), 1, "{:?}", s.shown);
    assert!(s.shown[0].contains("Phòng Ngân sách") && s.shown[0].contains("ns.stc@sonla.gov.vn"));
    assert_eq!(s.count, "Tìm thấy 1 / 9 hộp thư");

    // A person's name without diacritics, any case, words in any order
    // (đ folds to d).
    let s = search(home.path(), &page, "NGUYEN huong Thi");
    assert_eq!(s.shown.len(), 1, "{:?}", s.shown);
    assert!(s.shown[0].contains("Nguyễn Thị Hương") && s.shown[0].contains("Giám đốc Sở"));
    let s = search(home.path(), &page, "khoa dang");
    assert_eq!(s.shown.len(), 1, "{:?}", s.shown);
    assert!(s.shown[0].contains("Đặng Văn Khoa"));

    let s = search(home.path(), &page, "không có ai");
    assert!(s.shown.is_empty());
    assert_eq!(s.count, "Không tìm thấy hộp thư nào khớp với “không có ai”");

    // Without JavaScript the page as written is what shows: every row,
    // a note in place of the search box that could not work.
    let html = read(out.path(), publish::HTML_FILE);
    assert_eq!(html.matches("<tr").count(), 10);
    assert!(
        !html.contains("<tr hidden")
            && html.contains("<form id=\"search\" role=\"search\" hidden>")
    );
    assert!(html.contains("<noscript>"));
}

#[test]
fn the_reference_directory_publishes_and_searches_in_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("directory");
    let out: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("publish");
    let _ = std::fs::remove_dir_all(&out);
    let said = publish_into(&root, &out);
    assert!(
        said.contains("957 hộp thư (93 cơ quan, 287 đơn vị, 577 cá nhân)"),
        "{said}"
    );
    let csv = read(&out, publish::CSV_FILE);
    assert_eq!(parse_csv(&csv[3..]).len(), 1 + 957);
    let vcf = read(&out, publish::VCARD_FILE);
    assert_eq!(vcf.matches("BEGIN:VCARD\r\n").count(), 957);
    assert_eq!(vcf.matches("KIND:individual\r\n").count(), 577);

    let page = out.join(publish::HTML_FILE);
    let home = tempfile::tempdir().unwrap();
    let s = search(home.path(), &page, "so khoa hoc");
    assert_eq!(s.total, 957);
    assert!(!s.shown.is_empty());
    assert!(
        s.shown
            .iter()
            .all(|r| r.contains("Sở Khoa học và Công nghệ")),
        "{:?}",
        s.shown
    );
    assert_eq!(s.count, format!("Tìm thấy {} / 957 hộp thư", s.shown.len()));

    // A screenshot for people to look at.
    let shot = out.join("danhba.png");
    chromium(
        home.path(),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,900",
        ],
        &format!("file://{}?q=so%20khoa%20hoc", page.display()),
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.len() > 10_000 && png.starts_with(b"\x89PNG\r\n\x1a\n"));
    println!("screenshot: {}", shot.display());
    println!("page: {}", page.display());
}
