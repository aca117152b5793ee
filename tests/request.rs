//! `hopthu request`: an agency's request sheet (CSV or Excel, as clerks
//! fill them) edited into the agency's file in place. Rows it cannot
//! understand are named with their row number and nothing is written.

use std::path::Path;
use std::process::{Command, Output};

fn hopthu(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hopthu"))
        .args(args)
        .current_dir(cwd)
        .env("HOPTHU_TODAY", "2026-12-03")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const SETTINGS: &str = "apiVersion: hopthu/v1\ndomain: sonla.gov.vn\nlanguage: vi\n";

/// A small agency written the way clerks write: comments, aligned
/// comments, a comment after the list.
const AGENCY: &str = r#"# Sở Khoa học và Công nghệ: hộp thư cán bộ
apiVersion: hopthu/v1
kind: Agency
code: "S01"
abbr: skhcn
type: department
name: Sở Khoa học và Công nghệ
units:
  - code: vp        # Văn phòng
    abbr: vp
    name: Văn phòng Sở
  - code: kh
    abbr: kh
    name: Phòng Kế hoạch - Tài chính
people:
  # Lãnh đạo
  - id: "p-000001"
    name: Nguyễn Văn An   # giám đốc
    title: Giám đốc
  - id: "p-000002"
    name: Trần Thị Hà
    title: Chuyên viên    # tạm thời
    unit: vp
  - id: "p-000003"
    name: Lò Văn Minh
    unit: kh
# hết danh sách
"#;

/// Another agency: its ids count when new ones are made.
const OTHER: &str = r#"apiVersion: hopthu/v1
kind: Agency
code: "S02"
abbr: snv
type: department
name: Sở Nội vụ
people:
  - id: "p-000007"
    name: Nguyễn Văn An
"#;

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hopthu.yaml"), SETTINGS).unwrap();
    std::fs::create_dir(dir.path().join("agencies")).unwrap();
    std::fs::write(dir.path().join("agencies/skhcn.yaml"), AGENCY).unwrap();
    std::fs::write(dir.path().join("agencies/snv.yaml"), OTHER).unwrap();
    dir
}

fn agency_file(d: &tempfile::TempDir) -> String {
    std::fs::read_to_string(d.path().join("agencies/skhcn.yaml")).unwrap()
}

fn validates(d: &tempfile::TempDir) {
    let o = hopthu(&["validate", "."], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn a_csv_sheet_adds_with_collisions_resolved_changes_and_removes_keeping_comments() {
    let d = repo();
    std::fs::write(
        d.path().join("de-nghi.csv"),
        "DANH SÁCH ĐỀ NGHỊ CẤP HỘP THƯ,,,,\n\
         STT,Họ và tên,Chức vụ,Phòng ban,Yêu cầu\n\
         1,Nguyễn Văn An,Chuyên viên,Văn phòng Sở,Cấp mới\n\
         2,Nguyễn Văn An,,Phòng Kế hoạch - Tài chính,Cấp mới\n\
         ,,,,\n\
         3,Trần Thị Hà,Phó Chánh Văn phòng,kh,Thay đổi\n\
         4,Lò Văn Minh,,,Hủy\n",
    )
    .unwrap();
    let o = hopthu(&["request", "--agency", "skhcn", "de-nghi.csv"], d.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        agency_file(&d),
        AGENCY
            .replace(
                "    title: Chuyên viên    # tạm thời\n    unit: vp\n",
                "    title: Phó Chánh Văn phòng    # tạm thời\n    unit: kh\n"
            )
            .replace(
                "  - id: \"p-000003\"\n    name: Lò Văn Minh\n    unit: kh\n",
                "  - id: \"p-000008\"\n    name: Nguyễn Văn An\n    title: Chuyên viên\n    unit: vp\n    address: an2nv.skhcn\n  - id: \"p-000009\"\n    name: Nguyễn Văn An\n    unit: kh\n    address: annv2.skhcn\n"
            )
    );
    let out = stdout(&o);
    assert_eq!(
        out,
        "agencies/skhcn.yaml theo de-nghi.csv:\n\
         \x20 + Cấp mới   an2nv.skhcn@sonla.gov.vn  Nguyễn Văn An (p-000008), Chuyên viên, vp  [dòng 3]\n\
         \x20 + Cấp mới   annv2.skhcn@sonla.gov.vn  Nguyễn Văn An (p-000009), kh  [dòng 4]\n\
         \x20 ~ Thay đổi  hatt.skhcn@sonla.gov.vn  Trần Thị Hà (p-000002): chức vụ: Chuyên viên → Phó Chánh Văn phòng; phòng ban: vp → kh  [dòng 6]\n\
         \x20 - Hủy       minhlv.skhcn@sonla.gov.vn  Lò Văn Minh (p-000003)  [dòng 7]\n\
         Đã ghi agencies/skhcn.yaml: cấp mới 2, thay đổi 1, hủy 1, khóa 0, mở khóa 0.\n"
    );
    validates(&d);
    // The same sheet again: the people are there already.
    let o = hopthu(&["request", "--agency", "skhcn", "de-nghi.csv"], d.path());
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("de-nghi.csv:7: không tìm thấy người có tên `Lò Văn Minh`"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn an_xlsx_sheet_with_a_title_row_changes_by_id_removes_by_address_and_adds() {
    let d = repo();
    let path = d.path().join("yeu-cau.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Bìa").unwrap();
    ws.write_string(0, 0, "Không phải trang này").unwrap();
    let ws = wb.add_worksheet();
    ws.set_name("Đề nghị").unwrap();
    ws.write_string(0, 0, "DANH SÁCH ĐỀ NGHỊ CẤP, THAY ĐỔI, HỦY HỘP THƯ")
        .unwrap();
    let header = [
        "STT",
        "Họ và tên",
        "Mã cán bộ",
        "Chức vụ",
        "Đơn vị",
        "Loại yêu cầu",
        "Địa chỉ thư",
        "Ghi chú",
    ];
    for (c, h) in header.iter().enumerate() {
        ws.write_string(2, c as u16, *h).unwrap();
    }
    let rows: [[&str; 8]; 4] = [
        [
            "1",
            "Trần Thị Hà",
            "p-000002",
            "Phó Chánh Văn phòng",
            "Phòng Kế hoạch - Tài chính",
            "Cập nhật",
            "",
            "",
        ],
        [
            "2",
            "Lò Văn Minh",
            "",
            "",
            "",
            "Thu hồi",
            "minhlv.skhcn@sonla.gov.vn",
            "nghỉ hưu",
        ],
        [
            "3",
            "Hoàng Thị Lan",
            "",
            "Chuyên viên",
            "vp",
            "Cấp mới",
            "",
            "",
        ],
        [
            "4",
            "Nguyễn Văn An",
            "",
            "",
            "",
            "Khóa",
            "",
            "đi học dài hạn",
        ],
    ];
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 3;
        ws.write_number(r, 0, row[0].parse::<f64>().unwrap())
            .unwrap();
        for (c, v) in row.iter().enumerate().skip(1) {
            if !v.is_empty() {
                ws.write_string(r, c as u16, *v).unwrap();
            }
        }
    }
    wb.save(&path).unwrap();

    // The first sheet has no header: said plainly, exit 2.
    let o = hopthu(&["request", "--agency", "skhcn", "yeu-cau.xlsx"], d.path());
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("không tìm thấy dòng tiêu đề có cột `Họ và tên` và cột `Yêu cầu`"),
        "{}",
        stderr(&o)
    );

    let o = hopthu(
        &[
            "request",
            "--agency",
            "S01",
            "--sheet",
            "Đề nghị",
            "yeu-cau.xlsx",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        agency_file(&d),
        AGENCY
            .replace(
                "    name: Nguyễn Văn An   # giám đốc\n    title: Giám đốc\n",
                "    name: Nguyễn Văn An   # giám đốc\n    title: Giám đốc\n    status: locked\n    lock:\n      reason: requested\n      since: 2026-12-03\n      note: \"đi học dài hạn\"\n"
            )
            .replace(
                "    title: Chuyên viên    # tạm thời\n    unit: vp\n",
                "    title: Phó Chánh Văn phòng    # tạm thời\n    unit: kh\n"
            )
            .replace(
                "  - id: \"p-000003\"\n    name: Lò Văn Minh\n    unit: kh\n",
                "  - id: \"p-000008\"\n    name: Hoàng Thị Lan\n    title: Chuyên viên\n    unit: vp\n"
            )
    );
    let out = stdout(&o);
    assert!(
        out.contains(
            "lanht.skhcn@sonla.gov.vn  Hoàng Thị Lan (p-000008), Chuyên viên, vp  [dòng 6]"
        ),
        "{out}"
    );
    assert!(
        out.contains("! Khóa      annv.skhcn@sonla.gov.vn  Nguyễn Văn An (p-000001)  [dòng 7]"),
        "{out}"
    );
    validates(&d);

    // Restore, in English, as JSON.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["Họ tên", "Yêu cầu"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "Nguyễn Văn An").unwrap();
    ws.write_string(1, 1, "Khôi phục").unwrap();
    wb.save(&path).unwrap();
    let o = hopthu(
        &[
            "request",
            "--agency",
            "skhcn",
            "yeu-cau.xlsx",
            "--format",
            "json",
            "--lang",
            "en",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["written"], true);
    assert_eq!(v["changes"][0]["action"], "restore");
    assert_eq!(v["changes"][0]["row"], 2);
    assert_eq!(v["changes"][0]["address"], "annv.skhcn@sonla.gov.vn");
    assert!(agency_file(&d).contains(
        "    name: Nguyễn Văn An   # giám đốc\n    title: Giám đốc\n    status: active\n  - id: \"p-000002\""
    ));
    validates(&d);
}

#[test]
fn a_semicolon_csv_with_a_bom_from_excel_is_read() {
    let d = repo();
    std::fs::write(
        d.path().join("excel.csv"),
        "\u{feff}Họ và tên;Tên gọi;Phòng ban;Yêu cầu\r\nH'Hen Niê;H'Hen;VĂN PHÒNG SỞ;Cấp mới\r\n",
    )
    .unwrap();
    let o = hopthu(&["request", "--agency", "skhcn", "excel.csv"], d.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o)
            .contains("+ Cấp mới   hhenn.skhcn@sonla.gov.vn  H'Hen Niê (p-000008), vp  [dòng 2]"),
        "{}",
        stdout(&o)
    );
    assert!(
        agency_file(&d).ends_with(
            "    unit: kh\n  - id: \"p-000008\"\n    name: H'Hen Niê\n    given: H'Hen\n    unit: vp\n# hết danh sách\n"
        ),
        "{}",
        agency_file(&d)
    );
    validates(&d);
}

#[test]
fn bad_rows_are_each_named_with_their_row_and_nothing_is_written() {
    let d = repo();
    std::fs::write(
        d.path().join("sai.csv"),
        "Danh sách đề nghị\n\
         Họ và tên,Phòng ban,Yêu cầu\n\
         Phạm Văn Bình,,Xin cấp\n\
         ,vp,Cấp mới\n\
         Phạm Văn Cường,Phòng Tổ chức,Cấp mới\n\
         Hoàng Văn Dũng,,Hủy\n\
         \u{41d}oàng Thị Lan,,Cấp mới\n\
         Vũ Thị Mai,vp,Cấp mới\n\
         Vũ Thị Mai,vp,Cấp mới\n\
         Lê Văn B2,,Cấp mới\n",
    )
    .unwrap();
    let o = hopthu(&["request", "--agency", "skhcn", "sai.csv"], d.path());
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(agency_file(&d), AGENCY);
    assert_eq!(
        stdout(&o),
        "sai.csv:3: không hiểu yêu cầu `Xin cấp`: ghi một trong Cấp mới, Thay đổi (Cập nhật), Hủy (Thu hồi), Khóa, Mở khóa (Khôi phục)\n\
         sai.csv:4: thiếu họ và tên\n\
         sai.csv:5: cơ quan không có phòng ban `Phòng Tổ chức`; các phòng ban: Văn phòng Sở (vp); Phòng Kế hoạch - Tài chính (kh)\n\
         sai.csv:6: không tìm thấy người có tên `Hoàng Văn Dũng` trong cơ quan\n\
         sai.csv:7: Họ và tên: tên chứa ký tự `Н` (U+041D) ở vị trí 1: chữ giống chữ Latinh nhưng thuộc bảng chữ khác\n\
         sai.csv:9: trùng với dòng 8\n\
         sai.csv:10: Họ và tên: tên chứa ký tự `2` (U+0032) ở vị trí 9: ký hiệu không dùng trong tên\n\
         Không ghi gì: 7 dòng có lỗi; sửa bảng rồi chạy lại.\n"
    );

    // In English, as JSON: the same rows.
    let o = hopthu(
        &[
            "request", "--agency", "skhcn", "sai.csv", "--lang", "en", "--format", "json",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let rows: Vec<u64> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, [3, 4, 5, 6, 7, 9, 10]);
    assert_eq!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .split(':')
            .next(),
        Some("unknown request `Xin cấp`")
    );
    assert_eq!(v["written"], false);
    assert_eq!(agency_file(&d), AGENCY);
}

#[test]
fn people_named_alike_need_an_id_and_a_change_of_name_is_a_new_address() {
    let d = repo();
    std::fs::write(
        d.path().join("a.csv"),
        "Họ và tên,Phòng ban,Yêu cầu\nNguyễn Văn An,kh,Cấp mới\n",
    )
    .unwrap();
    let o = hopthu(&["request", "--agency", "skhcn", "a.csv"], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // Two An now: a removal by name alone is ambiguous; with the unit it is not.
    std::fs::write(
        d.path().join("b.csv"),
        "Họ và tên,Phòng ban,Yêu cầu\nNguyễn Văn An,,Hủy\n",
    )
    .unwrap();
    let o = hopthu(&["request", "--agency", "skhcn", "b.csv"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout(&o).lines().next().unwrap(),
        "b.csv:2: có 2 người tên `Nguyễn Văn An` (mã p-000001, p-000008): ghi thêm cột Mã hoặc Email"
    );
    // A name changed by id: the address the new name gives.
    std::fs::write(
        d.path().join("c.csv"),
        "Mã,Họ và tên,Yêu cầu\np-000002,Trần Thị Hải,Thay đổi\n",
    )
    .unwrap();
    let o = hopthu(
        &["request", "--agency", "skhcn", "c.csv", "--dry-run"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("~ Thay đổi  hatt.skhcn@sonla.gov.vn  Trần Thị Hải (p-000002): họ tên: Trần Thị Hà → Trần Thị Hải; địa chỉ: hatt.skhcn@sonla.gov.vn → haitt.skhcn@sonla.gov.vn  [dòng 2]"),
        "{out}"
    );
    assert!(
        out.contains("-    name: Trần Thị Hà\n+    name: Trần Thị Hải\n"),
        "{out}"
    );
    assert_eq!(agency_file(&d).matches("Trần Thị Hà").count(), 1);
}

#[test]
fn a_dry_run_prints_the_diff_and_writes_nothing() {
    let d = repo();
    std::fs::write(
        d.path().join("r.csv"),
        "Họ và tên,Chức vụ,Yêu cầu\nTrần Thị Hà,Chánh Văn phòng,Thay đổi\n",
    )
    .unwrap();
    let o = hopthu(
        &["request", "--agency", "skhcn", "r.csv", "--dry-run"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(agency_file(&d), AGENCY);
    assert!(
        stdout(&o).contains(
            "--- a/agencies/skhcn.yaml\n+++ b/agencies/skhcn.yaml\n@@ -20,5 +20,5 @@\n   - id: \"p-000002\"\n     name: Trần Thị Hà\n-    title: Chuyên viên    # tạm thời\n+    title: Chánh Văn phòng    # tạm thời\n     unit: vp\n   - id: \"p-000003\"\n"
        ),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).ends_with(
            "Chạy thử: cấp mới 0, thay đổi 1, hủy 0, khóa 0, mở khóa 0; chưa ghi gì vào agencies/skhcn.yaml.\n"
        ),
        "{}",
        stdout(&o)
    );
}

#[test]
fn what_is_not_a_spreadsheet_or_an_agency_is_refused_with_exit_two() {
    let d = repo();
    std::fs::write(
        d.path().join("anh.xlsx"),
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01",
    )
    .unwrap();
    let o = hopthu(&["request", "--agency", "skhcn", "anh.xlsx"], d.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("anh.xlsx: không phải bảng tính"),
        "{}",
        stderr(&o)
    );
    std::fs::write(d.path().join("hong.xlsx"), b"PK\x03\x04 broken").unwrap();
    let o = hopthu(
        &["request", "--agency", "skhcn", "hong.xlsx", "--lang", "en"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("hong.xlsx: the workbook cannot be read"),
        "{}",
        stderr(&o)
    );
    std::fs::write(d.path().join("r.csv"), "Họ và tên,Yêu cầu\n").unwrap();
    let o = hopthu(&["request", "--agency", "skhcnn", "r.csv"], d.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("không có cơ quan nào viết tắt là `skhcnn`"),
        "{}",
        stderr(&o)
    );
    assert_eq!(agency_file(&d), AGENCY);
}

/// A workbook written by hand: one sheet, `Trang1`, holding `sheet_data`
/// (for what a program other than Excel writes: errors, formulas saved
/// without their values).
fn xlsx_by_hand(sheet_data: &str) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    let files = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#.to_string(),
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_string(),
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Trang1" sheetId="1" r:id="rId1"/></sheets></workbook>"#.to_string(),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#.to_string(),
        ),
        (
            "xl/worksheets/sheet1.xml",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{sheet_data}</sheetData></worksheet>"#
            ),
        ),
    ];
    for (name, text) in files {
        zip.start_file(name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// An inline text cell.
fn text_cell(r: &str, t: &str) -> String {
    format!(r#"<c r="{r}" t="inlineStr"><is><t>{t}</t></is></c>"#)
}

#[test]
fn a_cell_at_the_sheets_last_row_and_column_is_not_a_grid_to_allocate() {
    let d = repo();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "Họ và tên").unwrap();
    ws.write_string(0, 1, "Yêu cầu").unwrap();
    ws.write_string(1, 0, "Hoàng Thị Lan").unwrap();
    ws.write_string(1, 1, "Cấp mới").unwrap();
    // XFD1048576: the sheet declares 1048576 rows of 16384 columns.
    ws.write_string(1_048_575, 16_383, "x").unwrap();
    wb.save(d.path().join("xa.xlsx")).unwrap();
    assert!(std::fs::metadata(d.path().join("xa.xlsx")).unwrap().len() < 10_000);
    let o = hopthu(
        &["request", "--agency", "skhcn", "xa.xlsx", "--dry-run"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("lanht.skhcn@sonla.gov.vn  Hoàng Thị Lan (p-000008)  [dòng 2]"),
        "{}",
        stdout(&o)
    );

    // Data in more columns than a request sheet has: refused, with the
    // sheet and the bound, exit 2.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Đề nghị").unwrap();
    ws.write_string(0, 0, "Họ và tên").unwrap();
    ws.write_string(0, 1, "Yêu cầu").unwrap();
    for c in 2..=200u16 {
        ws.write_string(1, c, "x").unwrap();
    }
    wb.save(d.path().join("rong.xlsx")).unwrap();
    let o = hopthu(&["request", "--agency", "skhcn", "rong.xlsx"], d.path());
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o)
            .contains("rong.xlsx: trang tính `Đề nghị` có hơn 200 cột có dữ liệu (tối đa 200)"),
        "{}",
        stderr(&o)
    );
    let o = hopthu(
        &["request", "--agency", "skhcn", "rong.xlsx", "--lang", "en"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(
            "rong.xlsx: the sheet `Đề nghị` has more than 200 columns holding data (at most 200)"
        ),
        "{}",
        stderr(&o)
    );
    assert_eq!(agency_file(&d), AGENCY);
}

#[test]
fn a_control_character_in_a_csv_cell_is_the_rows_error() {
    let d = repo();
    std::fs::write(
        d.path().join("ctl.csv"),
        "STT,Họ và tên,Chức vụ,Phòng ban,Yêu cầu\n\
         1,Nguyễn\x07 Văn An,,vp,Cấp mới\n\
         2,Hoàng Thị Lan,Chuyên\u{85}viên,vp,Cấp mới\n\
         3,Lò Văn Minh,,,Hủy\n",
    )
    .unwrap();
    let o = hopthu(&["request", "--agency", "skhcn", "ctl.csv"], d.path());
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        stdout(&o),
        "ctl.csv:2: Họ và tên: ký tự điều khiển U+0007 ở vị trí 7\n\
         ctl.csv:3: Chức vụ: ký tự điều khiển U+0085 ở vị trí 7\n\
         Không ghi gì: 2 dòng có lỗi; sửa bảng rồi chạy lại.\n"
    );
    assert_eq!(agency_file(&d), AGENCY);
    let o = hopthu(
        &["request", "--agency", "skhcn", "ctl.csv", "--lang", "en"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).starts_with(
            "ctl.csv:2: name (Họ và tên): the control character U+0007 at position 7\n"
        ),
        "{}",
        stdout(&o)
    );
    // Binary is still not a sheet.
    std::fs::write(
        d.path().join("nul.csv"),
        "Họ và tên,Yêu cầu\nNguyễn\0 Văn An,Cấp mới\n",
    )
    .unwrap();
    let o = hopthu(&["request", "--agency", "skhcn", "nul.csv"], d.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("nul.csv: không phải bảng tính"),
        "{}",
        stderr(&o)
    );
    assert_eq!(agency_file(&d), AGENCY);
}

#[test]
fn excel_errors_and_formulas_without_a_value_are_named_with_their_cell() {
    let d = repo();
    let sheet = [
        format!(
            r#"<row r="1">{}{}{}</row>"#,
            text_cell("A1", "STT"),
            text_cell("B1", "Họ và tên"),
            text_cell("C1", "Yêu cầu")
        ),
        // An error, and a formula saved by a program that never computed it.
        format!(
            r#"<row r="2"><c r="A2"><v>1</v></c><c r="B2" t="e"><v>#REF!</v></c>{}</row>"#,
            text_cell("C2", "Cấp mới")
        ),
        format!(
            r#"<row r="3"><c r="A3"><v>2</v></c><c r="B3"><f>VLOOKUP(A3,DanhSach!A:B,2,0)</f></c>{}</row>"#,
            text_cell("C3", "Cấp mới")
        ),
        format!(
            r#"<row r="4"><c r="A4"><v>3</v></c>{}<c r="C4" t="e"><v>#N/A</v></c></row>"#,
            text_cell("B4", "Hoàng Thị Lan")
        ),
        // A formula in the row's number only: a blank row of a template.
        r#"<row r="5"><c r="A5"><f>ROW()-1</f></c></row>"#.to_string(),
    ]
    .concat();
    std::fs::write(d.path().join("loi.xlsx"), xlsx_by_hand(&sheet)).unwrap();
    let o = hopthu(&["request", "--agency", "skhcn", "loi.xlsx"], d.path());
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        stdout(&o),
        "loi.xlsx:2: ô B2 chứa lỗi #REF!\n\
         loi.xlsx:3: ô B3 là công thức chưa có giá trị (hãy mở và lưu lại bằng Excel)\n\
         loi.xlsx:4: ô C4 chứa lỗi #N/A\n\
         Không ghi gì: 3 dòng có lỗi; sửa bảng rồi chạy lại.\n"
    );
    let o = hopthu(
        &[
            "request", "--agency", "skhcn", "loi.xlsx", "--lang", "en", "--format", "json",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["errors"][0]["row"], 2);
    assert_eq!(
        v["errors"][0]["message"],
        "the cell B2 holds the error #REF!"
    );
    assert_eq!(v["errors"][1]["row"], 3);
    assert_eq!(
        v["errors"][1]["message"],
        "the cell B3 is a formula without a value (open the file in Excel and save it again)"
    );
    assert_eq!(agency_file(&d), AGENCY);
}

#[test]
fn a_sheet_named_for_a_csv_file_is_refused() {
    let d = repo();
    std::fs::write(
        d.path().join("r.csv"),
        "Họ và tên,Yêu cầu\nHoàng Thị Lan,Cấp mới\n",
    )
    .unwrap();
    let o = hopthu(
        &[
            "request",
            "--agency",
            "skhcn",
            "--sheet",
            "Đề nghị",
            "r.csv",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains(
            "r.csv: --sheet `Đề nghị`: tệp CSV chỉ có một trang, không có trang nào để chọn; bỏ --sheet"
        ),
        "{}",
        stderr(&o)
    );
    assert_eq!(agency_file(&d), AGENCY);
}

#[test]
fn a_header_of_two_rows_with_merged_cells_is_read() {
    let d = repo();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let f = rust_xlsxwriter::Format::new();
    ws.merge_range(0, 0, 0, 4, "DANH SÁCH ĐỀ NGHỊ CẤP HỘP THƯ", &f)
        .unwrap();
    // STT and Yêu cầu span both header rows; Thông tin cán bộ spans the
    // three columns below it.
    ws.merge_range(2, 0, 3, 0, "STT", &f).unwrap();
    ws.merge_range(2, 1, 2, 3, "Thông tin cán bộ", &f).unwrap();
    ws.merge_range(2, 4, 3, 4, "Yêu cầu", &f).unwrap();
    for (c, h) in ["Họ và tên", "Chức vụ", "Phòng ban"].iter().enumerate() {
        ws.write_string(3, c as u16 + 1, *h).unwrap();
    }
    ws.write_number(4, 0, 1).unwrap();
    for (c, v) in ["Hoàng Thị Lan", "Chuyên viên", "vp", "Cấp mới"]
        .iter()
        .enumerate()
    {
        ws.write_string(4, c as u16 + 1, *v).unwrap();
    }
    ws.write_number(5, 0, 2).unwrap();
    ws.write_string(5, 1, "Lò Văn Minh").unwrap();
    ws.write_string(5, 4, "Hủy").unwrap();
    wb.save(d.path().join("hai-dong.xlsx")).unwrap();
    let o = hopthu(&["request", "--agency", "skhcn", "hai-dong.xlsx"], d.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        stdout(&o),
        "agencies/skhcn.yaml theo hai-dong.xlsx:\n\
         \x20 + Cấp mới   lanht.skhcn@sonla.gov.vn  Hoàng Thị Lan (p-000008), Chuyên viên, vp  [dòng 5]\n\
         \x20 - Hủy       minhlv.skhcn@sonla.gov.vn  Lò Văn Minh (p-000003)  [dòng 6]\n\
         Đã ghi agencies/skhcn.yaml: cấp mới 1, thay đổi 0, hủy 1, khóa 0, mở khóa 0.\n"
    );
    validates(&d);
}
