//! Spreadsheets as clerks send them, read into rows of text: CSV (UTF-8
//! with or without a BOM, or UTF-16 as Excel's "Unicode text"; `,`, `;` or
//! tab between cells) and Excel workbooks (XLSX, by `calamine`). Each row
//! keeps the number Excel shows for it, and each cell its column, so a
//! message can name them.
//!
//! A file is small, but a workbook unpacks, and a sheet may declare a
//! million rows: only the cells that hold something are kept, and a
//! workbook that unpacks to more than [`MAX_UNPACKED`] bytes, or a sheet
//! with more than [`MAX_ROWS`] rows, [`MAX_COLUMNS`] columns or
//! [`MAX_CELLS`] cells holding data, is refused.

use std::collections::{BTreeMap, HashSet};
use std::io::{Cursor, Read};
use std::path::Path;

/// Larger files are refused before they are read.
pub const MAX_SHEET_SIZE: u64 = 20 * 1024 * 1024;
/// A workbook unpacking to more is refused before its cells are read.
pub const MAX_UNPACKED: u64 = 50 * 1024 * 1024;
/// Rows holding data, in one sheet (or one reading of a CSV file).
pub const MAX_ROWS: usize = 100_000;
/// Columns holding data, in one sheet.
pub const MAX_COLUMNS: usize = 200;
/// Cells holding data, in one sheet.
pub const MAX_CELLS: usize = 1_000_000;

/// A row holding data: its number as the spreadsheet shows it (1-based),
/// its cells with text, trimmed, by column (0 for A), and the cells that
/// hold no text the clerk wrote (an error, a formula never computed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    pub number: u32,
    pub cells: BTreeMap<usize, String>,
    pub issues: BTreeMap<usize, CellIssue>,
}

/// A cell whose value cannot be read as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CellIssue {
    /// An Excel error (`#REF!`, `#N/A`…), as Excel shows it.
    Error(String),
    /// A formula saved without its value (written by a program, never
    /// opened in Excel).
    NoValue,
}

impl Row {
    pub fn new(number: u32) -> Row {
        Row {
            number,
            ..Row::default()
        }
    }
    pub fn cell(&self, i: usize) -> &str {
        self.cells.get(&i).map_or("", String::as_str)
    }
    pub fn issue(&self, i: usize) -> Option<&CellIssue> {
        self.issues.get(&i)
    }
    pub fn is_blank(&self) -> bool {
        self.cells.is_empty() && self.issues.is_empty()
    }
}

/// A cell's name as Excel shows it: `B2`.
pub fn cell_name(col: usize, row: u32) -> String {
    let mut letters = Vec::new();
    let mut n = col + 1;
    while n > 0 {
        letters.push(b'A' + ((n - 1) % 26) as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    format!("{}{row}", String::from_utf8_lossy(&letters))
}

/// The errors Excel shows in a cell (and writes as text into a CSV file).
const EXCEL_ERRORS: &[&str] = &[
    "#NULL!",
    "#DIV/0!",
    "#VALUE!",
    "#REF!",
    "#NAME?",
    "#NUM!",
    "#N/A",
    "#GETTING_DATA",
    "#SPILL!",
    "#CALC!",
    "#FIELD!",
    "#BLOCKED!",
    "#CONNECT!",
    "#BUSY!",
    "#UNKNOWN!",
];

/// What was read: the rows of one sheet, or the candidate readings of a
/// CSV file (one per separator, the caller keeps the one it understands).
#[derive(Debug, Clone)]
pub enum Table {
    Workbook { sheet: String, rows: Vec<Row> },
    Csv(Vec<(char, Vec<Row>)>),
}

/// Which bound a sheet passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Rows,
    Columns,
    Cells,
}

/// Workbooks that are not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Excel 97-2003 (`.xls`), or a workbook with a password (Excel keeps
    /// both in the same container).
    Xls,
    /// OpenDocument (`.ods`).
    Ods,
    /// Excel binary workbook (`.xlsb`).
    Xlsb,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetError {
    Io(String),
    TooLarge(u64),
    /// A workbook unpacking to more than [`MAX_UNPACKED`].
    Unpacked,
    /// A sheet (`None`: a CSV file) with too much data.
    TooBig {
        sheet: Option<String>,
        limit: Limit,
    },
    /// Neither a workbook nor text.
    NotSpreadsheet,
    Unsupported(Format),
    /// A workbook the reader refused, with its words.
    BadWorkbook(String),
    NoSuchSheet {
        name: String,
        sheets: Vec<String>,
    },
    NoSheets,
    /// `--sheet` given with a CSV file.
    SheetOfCsv(String),
}

impl SheetError {
    pub fn text(&self, lang: crate::model::Language) -> String {
        use crate::model::Language::{En, Vi};
        use crate::tr;
        match (self, lang) {
            (SheetError::Io(e), _) => e.clone(),
            (SheetError::TooLarge(n), Vi) => format!(
                "tệp quá lớn ({n} byte, tối đa {MAX_SHEET_SIZE}); bảng yêu cầu thường chỉ vài chục KB"
            ),
            (SheetError::TooLarge(n), En) => format!(
                "the file is too large ({n} bytes, at most {MAX_SHEET_SIZE}); request sheets are a few dozen KB"
            ),
            (SheetError::Unpacked, _) => {
                let mib = MAX_UNPACKED / (1024 * 1024);
                crate::i18n::with(lang, || {
                    tr!(
                        "bảng tính giải nén ra hơn {mib} MiB (tối đa {mib} MiB); bảng yêu cầu thường chỉ vài chục KB",
                        "the workbook unpacks to more than {mib} MiB (at most {mib} MiB); request sheets are a few dozen KB"
                    )
                })
            }
            (SheetError::TooBig { sheet, limit }, _) => crate::i18n::with(lang, || {
                let what = match sheet {
                    Some(s) => tr!("trang tính `{s}`", "the sheet `{s}`"),
                    None => tr!("tệp CSV", "the CSV file"),
                };
                let (max, unit) = match limit {
                    Limit::Rows => (MAX_ROWS, tr!("dòng", "rows")),
                    Limit::Columns => (MAX_COLUMNS, tr!("cột", "columns")),
                    Limit::Cells => (MAX_CELLS, tr!("ô", "cells")),
                };
                tr!(
                    "{what} có hơn {max} {unit} có dữ liệu (tối đa {max}); bảng yêu cầu thường chỉ vài trăm dòng: chép các dòng cần gửi sang một tệp mới",
                    "{what} has more than {max} {unit} holding data (at most {max}); request sheets have a few hundred rows: copy the rows to send into a new file"
                )
            }),
            (SheetError::NotSpreadsheet, Vi) => "không phải bảng tính: cần tệp Excel (.xlsx) hoặc CSV (UTF-8); trong Excel chọn Lưu thành > \"CSV UTF-8\" hoặc \"Excel Workbook\"".into(),
            (SheetError::NotSpreadsheet, En) => "not a spreadsheet: give an Excel workbook (.xlsx) or a CSV file (UTF-8); in Excel use Save As > \"CSV UTF-8\" or \"Excel Workbook\"".into(),
            (SheetError::Unsupported(f), _) => crate::i18n::with(lang, || match f {
                Format::Xls => tr!(
                    "tệp Excel 97-2003 (.xls) hoặc tệp có mật khẩu không đọc được: mở bằng Excel (bỏ mật khẩu nếu có) rồi Lưu thành > \"Excel Workbook (.xlsx)\"",
                    "an Excel 97-2003 workbook (.xls) or a workbook with a password cannot be read: open it in Excel (remove any password) and Save As > \"Excel Workbook (.xlsx)\""
                ),
                Format::Ods => tr!(
                    "tệp OpenDocument (.ods) không đọc được: mở bằng LibreOffice rồi Lưu thành > \"Excel 2007-365 (.xlsx)\"",
                    "an OpenDocument spreadsheet (.ods) cannot be read: open it in LibreOffice and Save As > \"Excel 2007-365 (.xlsx)\""
                ),
                Format::Xlsb => tr!(
                    "tệp Excel nhị phân (.xlsb) không đọc được: mở bằng Excel rồi Lưu thành > \"Excel Workbook (.xlsx)\"",
                    "an Excel binary workbook (.xlsb) cannot be read: open it in Excel and Save As > \"Excel Workbook (.xlsx)\""
                ),
            }),
            (SheetError::BadWorkbook(e), Vi) => format!("không đọc được bảng tính: {e}"),
            (SheetError::BadWorkbook(e), En) => format!("the workbook cannot be read: {e}"),
            (SheetError::NoSuchSheet { name, sheets }, Vi) => format!(
                "không có trang tính `{name}`; các trang: {}",
                sheets.join(", ")
            ),
            (SheetError::NoSuchSheet { name, sheets }, En) => format!(
                "there is no sheet `{name}`; the sheets: {}",
                sheets.join(", ")
            ),
            (SheetError::NoSheets, Vi) => "bảng tính không có trang nào".into(),
            (SheetError::NoSheets, En) => "the workbook has no sheet".into(),
            (SheetError::SheetOfCsv(name), _) => crate::i18n::with(lang, || {
                tr!(
                    "--sheet `{name}`: tệp CSV chỉ có một trang, không có trang nào để chọn; bỏ --sheet",
                    "--sheet `{name}`: a CSV file has a single sheet, there is none to choose; leave --sheet out"
                )
            }),
        }
    }
}

/// Read a file. `sheet` names a workbook's sheet (the first by default);
/// a CSV file has one, and `sheet` is refused for it.
pub fn read(path: &Path, sheet: Option<&str>) -> Result<Table, SheetError> {
    // The caller names the file: these say only what is wrong with it.
    let meta = std::fs::metadata(path).map_err(|e| SheetError::Io(e.to_string()))?;
    if !meta.is_file() {
        return Err(SheetError::Io(crate::tr!(
            "không phải là một tệp (là thư mục hoặc thiết bị)",
            "not a file (a folder or a device)"
        )));
    }
    if meta.len() > MAX_SHEET_SIZE {
        return Err(SheetError::TooLarge(meta.len()));
    }
    let bytes = std::fs::read(path).map_err(|e| SheetError::Io(e.to_string()))?;
    read_bytes(bytes, sheet)
}

pub fn read_bytes(bytes: Vec<u8>, sheet: Option<&str>) -> Result<Table, SheetError> {
    const ZIP: &[u8] = b"PK\x03\x04";
    const OLE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
    if bytes.starts_with(OLE) {
        return Err(SheetError::Unsupported(Format::Xls));
    }
    if bytes.starts_with(ZIP) {
        return workbook(bytes, sheet);
    }
    let text = decode_text(&bytes).ok_or(SheetError::NotSpreadsheet)?;
    if let Some(name) = sheet {
        return Err(SheetError::SheetOfCsv(name.to_string()));
    }
    // A reading with too much data is not the one; when every reading
    // has, the file is refused.
    let mut readings = Vec::new();
    let mut too_big = None;
    for sep in [',', ';', '\t'] {
        match parse_csv(&text, sep) {
            Ok(rows) => readings.push((sep, rows)),
            Err(limit) => {
                too_big.get_or_insert(limit);
            }
        }
    }
    match (readings.is_empty(), too_big) {
        (true, Some(limit)) => Err(SheetError::TooBig { sheet: None, limit }),
        _ => Ok(Table::Csv(readings)),
    }
}

/// UTF-8 (a BOM is fine) or UTF-16 with its BOM. Text with a NUL, or
/// where control characters are more than one in twenty, is binary; a few
/// control characters (pasted from another program) are the rows' errors.
fn decode_text(bytes: &[u8]) -> Option<String> {
    let text = if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        utf16(rest, u16::from_le_bytes)?
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        utf16(rest, u16::from_be_bytes)?
    } else {
        let t = std::str::from_utf8(bytes).ok()?;
        t.strip_prefix('\u{feff}').unwrap_or(t).to_string()
    };
    let (mut chars, mut controls) = (0usize, 0usize);
    for c in text.chars() {
        if c == '\0' {
            return None;
        }
        chars += 1;
        if c.is_control() && !matches!(c, '\n' | '\r' | '\t') {
            controls += 1;
        }
    }
    (controls * 20 <= chars).then_some(text)
}

fn utf16(bytes: &[u8], f: fn([u8; 2]) -> u16) -> Option<String> {
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| f([c[0], c[1]])).collect();
    String::from_utf16(&units).ok()
}

/// The rows, columns and cells holding data, counted as they are read.
#[derive(Default)]
struct Tally {
    rows: HashSet<u32>,
    columns: HashSet<usize>,
    cells: usize,
}

impl Tally {
    fn add(&mut self, row: u32, col: usize) -> Result<(), Limit> {
        self.cells += 1;
        if self.cells > MAX_CELLS {
            return Err(Limit::Cells);
        }
        if self.rows.insert(row) && self.rows.len() > MAX_ROWS {
            return Err(Limit::Rows);
        }
        if self.columns.insert(col) && self.columns.len() > MAX_COLUMNS {
            return Err(Limit::Columns);
        }
        Ok(())
    }
}

/// RFC 4180 records: quoted cells may hold separators, quotes (doubled)
/// and line breaks. A record's number counts records, as Excel numbers
/// rows, not lines. Only records holding data are kept; a cell holding
/// exactly an Excel error (`#REF!`, as Excel writes it into a CSV file) is
/// that error.
pub fn parse_csv(text: &str, sep: char) -> Result<Vec<Row>, Limit> {
    let mut rows = Vec::new();
    let mut tally = Tally::default();
    let mut row = Row::new(1);
    let mut col = 0usize;
    let mut cell = String::new();
    let mut quoted = false;
    let mut started = false; // the record has any character
    let mut chars = text.chars().peekable();
    let mut end_cell = |row: &mut Row, col: &mut usize, cell: &mut String| -> Result<(), Limit> {
        let value = std::mem::take(cell);
        let value = value.trim();
        if !value.is_empty() {
            tally.add(row.number, *col)?;
            if EXCEL_ERRORS.contains(&value) {
                row.issues.insert(*col, CellIssue::Error(value.to_string()));
            } else {
                row.cells.insert(*col, value.to_string());
            }
        }
        *col += 1;
        Ok(())
    };
    fn end_row(row: &mut Row, col: &mut usize, rows: &mut Vec<Row>) {
        let next = Row::new(row.number.saturating_add(1));
        let done = std::mem::replace(row, next);
        if !done.is_blank() {
            rows.push(done);
        }
        *col = 0;
    }
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cell.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cell.push(c);
            }
            continue;
        }
        started = true;
        match c {
            '"' if cell.trim().is_empty() => {
                cell.clear();
                quoted = true;
            }
            c if c == sep => end_cell(&mut row, &mut col, &mut cell)?,
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                end_cell(&mut row, &mut col, &mut cell)?;
                end_row(&mut row, &mut col, &mut rows);
                started = false;
            }
            c => cell.push(c),
        }
    }
    if started || quoted || !cell.is_empty() {
        end_cell(&mut row, &mut col, &mut cell)?;
        end_row(&mut row, &mut col, &mut rows);
    }
    Ok(rows)
}

/// The workbook's kind and unpacked size, before the reader opens it: an
/// archive that unpacks to more than [`MAX_UNPACKED`] is refused, however
/// it declares its sizes.
fn check_archive(bytes: &[u8]) -> Result<(), SheetError> {
    let bad = |e: &dyn std::fmt::Display| SheetError::BadWorkbook(e.to_string());
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| bad(&e))?;
    if zip.index_for_name("xl/workbook.bin").is_some() {
        return Err(SheetError::Unsupported(Format::Xlsb));
    }
    if zip.index_for_name("content.xml").is_some()
        && zip.index_for_name("xl/workbook.xml").is_none()
    {
        return Err(SheetError::Unsupported(Format::Ods));
    }
    let mut left = MAX_UNPACKED;
    for i in 0..zip.len() {
        let mut file = zip.by_index(i).map_err(|e| bad(&e))?;
        let n = std::io::copy(&mut (&mut file).take(left + 1), &mut std::io::sink())
            .map_err(|e| bad(&e))?;
        if n > left {
            return Err(SheetError::Unpacked);
        }
        left -= n;
    }
    Ok(())
}

fn workbook(bytes: Vec<u8>, sheet: Option<&str>) -> Result<Table, SheetError> {
    use calamine::{Data, DataRef, Reader};
    // The readers are given untrusted files: a panic in one is a file it
    // cannot read, not a crash.
    let sheet = sheet.map(str::to_string);
    let result = std::panic::catch_unwind(move || -> Result<Table, SheetError> {
        check_archive(&bytes)?;
        let mut book: calamine::Xlsx<_> = calamine::Xlsx::new(Cursor::new(bytes))
            .map_err(|e| SheetError::BadWorkbook(e.to_string()))?;
        let names = book.sheet_names();
        let name = match sheet {
            Some(want) => names
                .iter()
                .find(|n| **n == want)
                .or_else(|| {
                    names
                        .iter()
                        .find(|n| n.trim().eq_ignore_ascii_case(want.trim()))
                })
                .cloned()
                .ok_or(SheetError::NoSuchSheet {
                    name: want,
                    sheets: names.clone(),
                })?,
            None => names.first().cloned().ok_or(SheetError::NoSheets)?,
        };
        // Cell by cell, as the sheet holds them: the size it declares is
        // never allocated.
        let bad = |e: calamine::XlsxError| SheetError::BadWorkbook(e.to_string());
        let mut cells = book.worksheet_cells_reader(&name).map_err(bad)?;
        let mut tally = Tally::default();
        let mut rows: BTreeMap<u32, Row> = BTreeMap::new();
        while let Some(c) = cells.next_cell_with_formula_metadata().map_err(bad)? {
            let (r, col) = (c.pos.0, c.pos.1 as usize);
            let number = r.saturating_add(1);
            enum Got {
                Text(String),
                Issue(CellIssue),
            }
            let got = match c.value {
                DataRef::Empty if c.formula.is_some() => Got::Issue(CellIssue::NoValue),
                DataRef::Empty => continue,
                DataRef::Error(e) => Got::Issue(CellIssue::Error(e.to_string())),
                DataRef::String(s) => Got::Text(s.trim().to_string()),
                DataRef::SharedString(s) => Got::Text(s.trim().to_string()),
                DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => {
                    Got::Text(format!("{}", f as i64))
                }
                other => Got::Text(Data::from(other).to_string().trim().to_string()),
            };
            if matches!(&got, Got::Text(t) if t.is_empty()) {
                continue;
            }
            tally.add(number, col).map_err(|limit| SheetError::TooBig {
                sheet: Some(name.clone()),
                limit,
            })?;
            let row = rows.entry(number).or_insert_with(|| Row::new(number));
            match got {
                Got::Text(t) => {
                    row.issues.remove(&col);
                    row.cells.insert(col, t);
                }
                Got::Issue(i) => {
                    row.cells.remove(&col);
                    row.issues.insert(col, i);
                }
            }
        }
        Ok(Table::Workbook {
            sheet: name,
            rows: rows.into_values().collect(),
        })
    });
    result.unwrap_or_else(|_| {
        Err(SheetError::BadWorkbook(
            "the reader stopped on this file".into(),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(rows: &[Row]) -> Vec<(u32, Vec<(usize, &str)>)> {
        rows.iter()
            .map(|r| {
                (
                    r.number,
                    r.cells.iter().map(|(c, v)| (*c, v.as_str())).collect(),
                )
            })
            .collect()
    }

    /// A workbook of one sheet, `xl/worksheets/sheet1.xml`'s `sheetData`
    /// as given, with `extra` files beside it.
    fn xlsx(sheet_data: &str, extra: &[(&str, &[u8])]) -> Vec<u8> {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let files: [(&str, &str); 5] = [
            (
                "[Content_Types].xml",
                r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
            ),
            (
                "_rels/.rels",
                r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
            ),
            (
                "xl/workbook.xml",
                r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Trang1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
            ),
            (
                "xl/_rels/workbook.xml.rels",
                r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
            ),
            ("xl/worksheets/sheet1.xml", ""),
        ];
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, text) in files {
            zip.start_file(name, options).unwrap();
            if name == "xl/worksheets/sheet1.xml" {
                write!(
                    zip,
                    r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData>{sheet_data}</sheetData></worksheet>"#
                )
                .unwrap();
            } else {
                zip.write_all(text.as_bytes()).unwrap();
            }
        }
        for (name, bytes) in extra {
            zip.start_file(*name, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn csv_cells_may_hold_quotes_separators_and_line_breaks() {
        let rows = parse_csv(
            "Họ tên;Ghi chú\r\n\"Lò Văn A\";\"dòng 1\ndòng 2; \"\"x\"\"\"\r\n\r\n ; B ;#REF!",
            ';',
        )
        .unwrap();
        assert_eq!(
            cells(&rows),
            vec![
                (1, vec![(0, "Họ tên"), (1, "Ghi chú")]),
                (2, vec![(0, "Lò Văn A"), (1, "dòng 1\ndòng 2; \"x\"")]),
                (4, vec![(1, "B")]),
            ]
        );
        assert_eq!(rows[2].issue(2), Some(&CellIssue::Error("#REF!".into())));
    }

    #[test]
    fn text_is_utf8_with_or_without_a_bom_or_utf16_and_binary_is_refused() {
        assert_eq!(decode_text("\u{feff}a,b".as_bytes()).unwrap(), "a,b");
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("Hà\tB".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode_text(&le).unwrap(), "Hà\tB");
        assert!(decode_text(b"\x89PNG\r\n\x1a\n\0\0").is_none());
        assert!(decode_text(b"\xC3\x28").is_none());
        assert!(decode_text(b"Ho ten,Yeu cau\n\0").is_none());
        assert!(decode_text(b"\x01\x02\x03\x04\x05\x06\x07\x08 text").is_none());
        // A control character pasted into a cell is the row's error.
        let text = "STT,Họ và tên,Yêu cầu\n1,Nguyễn\x07 Văn\u{85} An,Cấp mới\n";
        assert_eq!(decode_text(text.as_bytes()).unwrap(), text);
        assert!(matches!(
            read_bytes(b"PK\x03\x04 not a zip".to_vec(), None),
            Err(SheetError::BadWorkbook(_))
        ));
    }

    #[test]
    fn a_sheet_is_chosen_in_a_workbook_only_and_old_formats_are_refused_by_name() {
        assert_eq!(
            read_bytes(b"Ho ten,Yeu cau\n".to_vec(), Some("Trang1")).unwrap_err(),
            SheetError::SheetOfCsv("Trang1".into())
        );
        let mut xls = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
        xls.resize(512, 0);
        assert_eq!(
            read_bytes(xls, None).unwrap_err(),
            SheetError::Unsupported(Format::Xls)
        );
        let ods = {
            use std::io::Write;
            let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
            let options = zip::write::SimpleFileOptions::default();
            zip.start_file("mimetype", options).unwrap();
            zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
                .unwrap();
            zip.start_file("content.xml", options).unwrap();
            zip.write_all(b"<office:document-content/>").unwrap();
            zip.finish().unwrap().into_inner()
        };
        assert_eq!(
            read_bytes(ods, None).unwrap_err(),
            SheetError::Unsupported(Format::Ods)
        );
        let text = SheetError::Unsupported(Format::Xls).text(crate::model::Language::En);
        assert!(
            text.starts_with("an Excel 97-2003 workbook (.xls)"),
            "{text}"
        );
    }

    #[test]
    fn a_cell_at_the_last_row_and_column_is_read_without_the_grid() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "Họ và tên").unwrap();
        ws.write_string(0, 1, "Yêu cầu").unwrap();
        ws.write_string(1, 0, "Nguyễn Văn An").unwrap();
        ws.write_string(1, 1, "Cấp mới").unwrap();
        ws.write_string(1_048_575, 16_383, "x").unwrap();
        let Table::Workbook { sheet, rows } =
            read_bytes(wb.save_to_buffer().unwrap(), None).unwrap()
        else {
            panic!("a workbook")
        };
        assert_eq!(sheet, "Sheet1");
        assert_eq!(
            cells(&rows),
            vec![
                (1, vec![(0, "Họ và tên"), (1, "Yêu cầu")]),
                (2, vec![(0, "Nguyễn Văn An"), (1, "Cấp mới")]),
                (1_048_576, vec![(16_383, "x")]),
            ]
        );
        assert_eq!(cell_name(16_383, 1_048_576), "XFD1048576");
        assert_eq!(cell_name(0, 1), "A1");
        assert_eq!(cell_name(25, 2), "Z2");
        assert_eq!(cell_name(26, 3), "AA3");
    }

    #[test]
    fn errors_and_formulas_never_computed_are_told_apart_from_text() {
        let bytes = xlsx(
            r#"<row r="1"><c r="A1" t="inlineStr"><is><t>Họ và tên</t></is></c></row><row r="2"><c r="A2" t="e"><v>#REF!</v></c><c r="B2"><f>C2&amp;"x"</f></c><c r="C2" t="str"><f>"a"</f><v>a</v></c><c r="D2"><f t="shared" si="0" ref="D2:D3">1+1</f><v>2</v></c></row><row r="3"><c r="D3"><f t="shared" si="0"/></c></row>"#,
            &[],
        );
        let Table::Workbook { rows, .. } = read_bytes(bytes, None).unwrap() else {
            panic!("a workbook")
        };
        assert_eq!(rows[1].issue(0), Some(&CellIssue::Error("#REF!".into())));
        assert_eq!(rows[1].issue(1), Some(&CellIssue::NoValue));
        assert_eq!(rows[1].cell(2), "a");
        assert_eq!(rows[1].cell(3), "2");
        assert_eq!(rows[2].issue(3), Some(&CellIssue::NoValue));
    }

    #[test]
    fn sheets_with_too_much_data_are_refused_with_the_bound_they_pass() {
        let wide: String = (0..=MAX_COLUMNS)
            .map(|c| {
                format!(
                    r#"<c r="{}" t="inlineStr"><is><t>x</t></is></c>"#,
                    cell_name(c, 1)
                )
            })
            .collect();
        assert_eq!(
            read_bytes(xlsx(&format!(r#"<row r="1">{wide}</row>"#), &[]), None).unwrap_err(),
            SheetError::TooBig {
                sheet: Some("Trang1".into()),
                limit: Limit::Columns
            }
        );
        let long = "a\n".repeat(MAX_ROWS + 1);
        assert_eq!(parse_csv(&long, ',').unwrap_err(), Limit::Rows);
        assert_eq!(
            read_bytes(long.into_bytes(), None).unwrap_err(),
            SheetError::TooBig {
                sheet: None,
                limit: Limit::Rows
            }
        );
        // Blank lines and empty cells are not data.
        let blank = ",,,\n".repeat(MAX_ROWS + 1) + "Họ và tên,Yêu cầu\n";
        assert_eq!(parse_csv(&blank, ',').unwrap().len(), 1);
    }

    #[test]
    fn a_workbook_unpacking_to_more_than_the_bound_is_refused_before_it_is_read() {
        let zeros = vec![0u8; (MAX_UNPACKED + 1) as usize];
        let bytes = xlsx("", &[("xl/media/image1.bin", &zeros)]);
        assert!((bytes.len() as u64) < MAX_SHEET_SIZE);
        assert_eq!(read_bytes(bytes, None).unwrap_err(), SheetError::Unpacked);
    }
}
