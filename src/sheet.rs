//! Spreadsheets as clerks send them, read into rows of text: CSV (UTF-8
//! with or without a BOM, or UTF-16 as Excel's "Unicode text"; `,`, `;` or
//! tab between cells) and workbooks (XLSX, and XLS or ODS, by `calamine`).
//! Each row keeps the number Excel shows for it, so a message can name it.

use std::io::Cursor;
use std::path::Path;

/// Larger files are refused before they are read.
pub const MAX_SHEET_SIZE: u64 = 20 * 1024 * 1024;

/// A row: its number as the spreadsheet shows it (1-based), and its cells,
/// trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub number: u32,
    pub cells: Vec<String>,
}

impl Row {
    pub fn cell(&self, i: usize) -> &str {
        self.cells.get(i).map_or("", String::as_str)
    }
    pub fn is_blank(&self) -> bool {
        self.cells.iter().all(|c| c.is_empty())
    }
}

/// What was read: the rows of one sheet, or the candidate readings of a
/// CSV file (one per separator, the caller keeps the one it understands).
#[derive(Debug, Clone)]
pub enum Table {
    Workbook { sheet: String, rows: Vec<Row> },
    Csv(Vec<(char, Vec<Row>)>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetError {
    Io(String),
    TooLarge(u64),
    /// Neither a workbook nor text.
    NotSpreadsheet,
    /// A workbook the reader refused, with its words.
    BadWorkbook(String),
    NoSuchSheet {
        name: String,
        sheets: Vec<String>,
    },
    NoSheets,
}

impl SheetError {
    pub fn text(&self, lang: crate::model::Language) -> String {
        use crate::model::Language::{En, Vi};
        match (self, lang) {
            (SheetError::Io(e), _) => e.clone(),
            (SheetError::TooLarge(n), Vi) => format!(
                "tệp quá lớn ({n} byte, tối đa {MAX_SHEET_SIZE}); bảng yêu cầu thường chỉ vài chục KB"
            ),
            (SheetError::TooLarge(n), En) => format!(
                "the file is too large ({n} bytes, at most {MAX_SHEET_SIZE}); request sheets are a few dozen KB"
            ),
            (SheetError::NotSpreadsheet, Vi) => "không phải bảng tính: cần tệp Excel (.xlsx) hoặc CSV (UTF-8); trong Excel chọn Lưu thành > \"CSV UTF-8\" hoặc \"Excel Workbook\"".into(),
            (SheetError::NotSpreadsheet, En) => "not a spreadsheet: give an Excel workbook (.xlsx) or a CSV file (UTF-8); in Excel use Save As > \"CSV UTF-8\" or \"Excel Workbook\"".into(),
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
        }
    }
}

/// Read a file. `sheet` names a workbook's sheet (the first by default);
/// a CSV file has one.
pub fn read(path: &Path, sheet: Option<&str>) -> Result<Table, SheetError> {
    let meta =
        std::fs::metadata(path).map_err(|e| SheetError::Io(format!("{}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(SheetError::Io(format!("{}: not a file", path.display())));
    }
    if meta.len() > MAX_SHEET_SIZE {
        return Err(SheetError::TooLarge(meta.len()));
    }
    let bytes =
        std::fs::read(path).map_err(|e| SheetError::Io(format!("{}: {e}", path.display())))?;
    read_bytes(bytes, sheet)
}

pub fn read_bytes(bytes: Vec<u8>, sheet: Option<&str>) -> Result<Table, SheetError> {
    const ZIP: &[u8] = b"PK\x03\x04";
    const OLE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
    if bytes.starts_with(ZIP) || bytes.starts_with(OLE) {
        return workbook(bytes, sheet);
    }
    let text = decode_text(&bytes).ok_or(SheetError::NotSpreadsheet)?;
    Ok(Table::Csv(
        [',', ';', '\t']
            .into_iter()
            .map(|d| (d, parse_csv(&text, d)))
            .collect(),
    ))
}

/// UTF-8 (a BOM is fine) or UTF-16 with its BOM; text with NUL or other
/// control bytes a CSV never holds is not text.
fn decode_text(bytes: &[u8]) -> Option<String> {
    let text = if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        utf16(rest, u16::from_le_bytes)?
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        utf16(rest, u16::from_be_bytes)?
    } else {
        let t = std::str::from_utf8(bytes).ok()?;
        t.strip_prefix('\u{feff}').unwrap_or(t).to_string()
    };
    let binary = text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
    (!binary).then_some(text)
}

fn utf16(bytes: &[u8], f: fn([u8; 2]) -> u16) -> Option<String> {
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| f([c[0], c[1]])).collect();
    String::from_utf16(&units).ok()
}

/// RFC 4180 records: quoted cells may hold separators, quotes (doubled)
/// and line breaks. A record's number counts records, as Excel numbers
/// rows, not lines.
pub fn parse_csv(text: &str, sep: char) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut cells: Vec<String> = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut started = false; // the record has any character
    let mut chars = text.chars().peekable();
    fn finish_row(cells: &mut Vec<String>, rows: &mut Vec<Row>) {
        let number = rows.len() as u32 + 1;
        rows.push(Row {
            number,
            cells: std::mem::take(cells),
        });
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
            c if c == sep => cells.push(std::mem::take(&mut cell).trim().to_string()),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                cells.push(std::mem::take(&mut cell).trim().to_string());
                finish_row(&mut cells, &mut rows);
                started = false;
            }
            c => cell.push(c),
        }
    }
    if started || quoted || !cell.is_empty() {
        cells.push(cell.trim().to_string());
        finish_row(&mut cells, &mut rows);
    }
    rows
}

fn workbook(bytes: Vec<u8>, sheet: Option<&str>) -> Result<Table, SheetError> {
    use calamine::{Data, Reader};
    // The reader is given untrusted files: a panic in it is a file it
    // cannot read, not a crash.
    let sheet = sheet.map(str::to_string);
    let result = std::panic::catch_unwind(move || -> Result<Table, SheetError> {
        let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
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
        let range = book
            .worksheet_range(&name)
            .map_err(|e| SheetError::BadWorkbook(e.to_string()))?;
        let (row0, col0) = range.start().unwrap_or((0, 0));
        let rows = range
            .rows()
            .enumerate()
            .map(|(i, cells)| Row {
                number: row0 + i as u32 + 1,
                cells: std::iter::repeat_n(String::new(), col0 as usize)
                    .chain(cells.iter().map(|c| match c {
                        Data::Empty | Data::Error(_) => String::new(),
                        Data::String(s) => s.trim().to_string(),
                        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => {
                            format!("{}", *f as i64)
                        }
                        other => other.to_string().trim().to_string(),
                    }))
                    .collect(),
            })
            .collect();
        Ok(Table::Workbook { sheet: name, rows })
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

    fn cells(rows: &[Row]) -> Vec<(u32, Vec<&str>)> {
        rows.iter()
            .map(|r| (r.number, r.cells.iter().map(String::as_str).collect()))
            .collect()
    }

    #[test]
    fn csv_cells_may_hold_quotes_separators_and_line_breaks() {
        let rows = parse_csv(
            "Họ tên;Ghi chú\r\n\"Lò Văn A\";\"dòng 1\ndòng 2; \"\"x\"\"\"\r\n\r\n B ;",
            ';',
        );
        assert_eq!(
            cells(&rows),
            vec![
                (1, vec!["Họ tên", "Ghi chú"]),
                (2, vec!["Lò Văn A", "dòng 1\ndòng 2; \"x\""]),
                (3, vec![""]),
                (4, vec!["B", ""]),
            ]
        );
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
        assert!(matches!(
            read_bytes(b"PK\x03\x04 not a zip".to_vec(), None),
            Err(SheetError::BadWorkbook(_))
        ));
    }
}
