//! `hopthu request`: an agency's request sheet (the clerk's CSV or Excel
//! list of people to add, change, remove, lock or restore) turned into an
//! edit of that agency's file, in place. Every row is checked first; one
//! row that cannot be understood stops the whole sheet, and each such row
//! is named with its number as the spreadsheet shows it. The edited file
//! is validated with the whole repository before it is written, at once.

use crate::desired::{DesiredMailbox, MailboxKind};
use crate::messages::Msg;
use crate::model::{Agency, Language, Person, Status};
use crate::naming::{self, NameNotice};
use crate::sheet::{self, CellIssue, Row, Table};
use crate::source::{Entry, FileSet};
use crate::validate::{self, Options, Outcome, nfc_clean};
use crate::yamledit::{Editor, quoted, scalar};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// What a row asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Add,
    Change,
    Remove,
    Lock,
    Restore,
}

impl Action {
    /// The clerk's own word for it.
    pub fn word(self, lang: Language) -> &'static str {
        match (self, lang) {
            (Action::Add, Language::Vi) => "Cấp mới",
            (Action::Change, Language::Vi) => "Thay đổi",
            (Action::Remove, Language::Vi) => "Hủy",
            (Action::Lock, Language::Vi) => "Khóa",
            (Action::Restore, Language::Vi) => "Mở khóa",
            (Action::Add, Language::En) => "add",
            (Action::Change, Language::En) => "change",
            (Action::Remove, Language::En) => "remove",
            (Action::Lock, Language::En) => "lock",
            (Action::Restore, Language::En) => "restore",
        }
    }

    fn sign(self) -> char {
        match self {
            Action::Add => '+',
            Action::Change => '~',
            Action::Remove => '-',
            Action::Lock => '!',
            Action::Restore => '^',
        }
    }

    const ALL: [Action; 5] = [
        Action::Add,
        Action::Change,
        Action::Remove,
        Action::Lock,
        Action::Restore,
    ];
}

/// The value of the request column: the words clerks write, compared
/// without case, diacritics or spaces.
pub fn action_of(value: &str) -> Option<Action> {
    Some(match fold_loose(value).as_str() {
        "capmoi" | "taomoi" | "them" | "themmoi" | "moi" | "capmoihopthu" => Action::Add,
        "thaydoi" | "capnhat" | "dieuchinh" | "sua" | "thaydoithongtin" => Action::Change,
        "huy" | "thuhoi" | "xoa" | "huyhopthu" | "thuhoihopthu" => Action::Remove,
        "khoa" | "tamkhoa" | "khoahopthu" => Action::Lock,
        "mokhoa" | "khoiphuc" | "mokhoahopthu" => Action::Restore,
        _ => return None,
    })
}

/// The columns of a request sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Col {
    Name,
    Title,
    Unit,
    Action,
    Id,
    Email,
    Given,
    Note,
    Number,
}

/// Header names (as `fold_loose` gives them) of each column.
const HEADERS: &[(Col, &[&str])] = &[
    (
        Col::Name,
        &[
            "hovaten",
            "hoten",
            "hovatendaydu",
            "hotendaydu",
            "hovatencanbo",
            "hotencanbo",
            "tencanbo",
        ],
    ),
    (Col::Title, &["chucvu", "chucdanh", "chucvuchucdanh"]),
    (
        Col::Unit,
        &[
            "phongban",
            "donvi",
            "bophan",
            "phongbandonvi",
            "phongbanbophan",
            "donvicongtac",
            "phong",
        ],
    ),
    (
        Col::Action,
        &[
            "yeucau",
            "loaiyeucau",
            "noidungyeucau",
            "denghi",
            "loaidenghi",
        ],
    ),
    (
        Col::Id,
        &["ma", "macanbo", "id", "madinhdanh", "manhanvien", "macb"],
    ),
    (
        Col::Email,
        &[
            "email",
            "diachithu",
            "diachiemail",
            "diachihopthu",
            "hopthu",
            "thudientu",
            "diachithudientu",
        ],
    ),
    (Col::Given, &["tengoi"]),
    (Col::Note, &["ghichu", "lydo"]),
    (Col::Number, &["stt", "tt", "sothutu"]),
];

/// Lower case ASCII letters and digits only: marks dropped, `đ` as `d`,
/// everything else gone. How headers, units and request words compare.
pub fn fold_loose(s: &str) -> String {
    s.nfd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| if c == 'đ' || c == 'Đ' { 'd' } else { c })
        .flat_map(char::to_lowercase)
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// The column a header cell names; words in parentheses (`Yêu cầu (Cấp
/// mới/Hủy)`) and marks like `(*)` do not count.
pub fn header_col(cell: &str) -> Option<Col> {
    let mut depth = 0usize;
    let bare: String = cell
        .chars()
        .filter(|c| match c {
            '(' => {
                depth += 1;
                false
            }
            ')' => {
                depth = depth.saturating_sub(1);
                false
            }
            _ => depth == 0,
        })
        .collect();
    let key = fold_loose(&bare);
    HEADERS
        .iter()
        .find(|(_, names)| names.contains(&key.as_str()))
        .map(|(c, _)| *c)
}

/// The header: the first row naming both the name and the request
/// columns (title lines above it are skipped). Its index and the columns.
///
/// A header of two rows, as Vietnamese forms have (`Thông tin cán bộ`
/// merged above `Họ và tên | Chức vụ | Phòng ban`, with `STT` and `Yêu
/// cầu` merged down across both rows, their text in the first), is the
/// second row, with the names of the first row's cells above its empty
/// ones; the data starts below it.
pub fn find_header(rows: &[Row]) -> Option<(usize, HashMap<Col, usize>)> {
    fn add(cols: &mut HashMap<Col, usize>, row: &Row, skip: impl Fn(usize) -> bool) {
        for (j, cell) in &row.cells {
            if !skip(*j)
                && let Some(c) = header_col(cell)
            {
                cols.entry(c).or_insert(*j);
            }
        }
    }
    let whole = |cols: &HashMap<Col, usize>| {
        cols.contains_key(&Col::Name) && cols.contains_key(&Col::Action)
    };
    rows.iter().enumerate().find_map(|(i, row)| {
        let mut cols = HashMap::new();
        add(&mut cols, row, |_| false);
        if whole(&cols) {
            return Some((i, cols));
        }
        let above = i.checked_sub(1).map(|a| &rows[a])?;
        if cols.is_empty() || above.number.checked_add(1) != Some(row.number) {
            return None;
        }
        add(&mut cols, above, |j| !row.cell(j).is_empty());
        whole(&cols).then_some((i, cols))
    })
}

/// Why a row cannot be carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowMsg {
    /// A control character in a cell (`position` counts characters, from 1).
    ControlChar {
        field: Col,
        ch: char,
        position: usize,
    },
    /// A cell holding an Excel error (`#REF!`…), by its name (`B2`).
    CellError {
        cell: String,
        error: String,
    },
    /// A formula saved without its value.
    NoValue {
        cell: String,
    },
    MissingAction,
    UnknownAction(String),
    MissingName,
    /// A name, a given name or a title (`field`) with a character the
    /// validator refuses.
    BadText {
        field: Col,
        msg: String,
    },
    TooLong {
        field: Col,
        max: usize,
    },
    NoAddress(String),
    GivenNotInName {
        given: String,
        name: String,
    },
    UnitNotFound {
        unit: String,
        known: Vec<String>,
    },
    NotFound {
        by: Col,
        value: String,
    },
    Elsewhere {
        value: String,
        agency: String,
    },
    Ambiguous {
        name: String,
        ids: Vec<String>,
    },
    IdAndEmailDiffer {
        id: String,
        email: String,
    },
    NameDiffers {
        sheet: String,
        file: String,
        id: String,
    },
    Duplicate(u32),
    SamePerson(u32),
    NothingToChange,
    AlreadyLocked,
    NotLocked,
    BadId(String),
    IdTaken(String),
    OtherDomain {
        address: String,
        domain: String,
    },
    AddressTaken(String),
    AddressNotConforming {
        address: String,
        expected: String,
    },
    NoFreeAddress,
    NotEditable(String),
}

fn col_word(c: Col, lang: Language) -> &'static str {
    match (c, lang) {
        (Col::Name, Language::Vi) => "Họ và tên",
        (Col::Title, Language::Vi) => "Chức vụ",
        (Col::Unit, Language::Vi) => "Phòng ban",
        (Col::Action, Language::Vi) => "Yêu cầu",
        (Col::Id, Language::Vi) => "Mã",
        (Col::Email, Language::Vi) => "Email",
        (Col::Given, Language::Vi) => "Tên gọi",
        (Col::Note, Language::Vi) => "Ghi chú",
        (Col::Number, Language::Vi) => "STT",
        (Col::Name, Language::En) => "name (Họ và tên)",
        (Col::Title, Language::En) => "title (Chức vụ)",
        (Col::Unit, Language::En) => "unit (Phòng ban)",
        (Col::Action, Language::En) => "request (Yêu cầu)",
        (Col::Id, Language::En) => "id (Mã)",
        (Col::Email, Language::En) => "address (Email)",
        (Col::Given, Language::En) => "given name (Tên gọi)",
        (Col::Note, Language::En) => "note (Ghi chú)",
        (Col::Number, Language::En) => "number (STT)",
    }
}

fn accepted_actions(lang: Language) -> &'static str {
    match lang {
        Language::Vi => "Cấp mới, Thay đổi (Cập nhật), Hủy (Thu hồi), Khóa, Mở khóa (Khôi phục)",
        Language::En => {
            "Cấp mới (add), Thay đổi or Cập nhật (change), Hủy or Thu hồi (remove), Khóa (lock), Mở khóa or Khôi phục (restore)"
        }
    }
}

impl RowMsg {
    pub fn text(&self, lang: Language) -> String {
        use Language::{En, Vi};
        match (self, lang) {
            (
                RowMsg::ControlChar {
                    field,
                    ch,
                    position,
                },
                _,
            ) => {
                let field = col_word(*field, lang);
                let ch = format!("U+{:04X}", *ch as u32);
                crate::i18n::with(lang, || {
                    crate::tr!(
                        "{field}: ký tự điều khiển {ch} ở vị trí {position}",
                        "{field}: the control character {ch} at position {position}"
                    )
                })
            }
            (RowMsg::CellError { cell, error }, _) => crate::i18n::with(lang, || {
                crate::tr!(
                    "ô {cell} chứa lỗi {error}",
                    "the cell {cell} holds the error {error}"
                )
            }),
            (RowMsg::NoValue { cell }, _) => crate::i18n::with(lang, || {
                crate::tr!(
                    "ô {cell} là công thức chưa có giá trị (hãy mở và lưu lại bằng Excel)",
                    "the cell {cell} is a formula without a value (open the file in Excel and save it again)"
                )
            }),
            (RowMsg::MissingAction, Vi) => format!(
                "thiếu yêu cầu (cột Yêu cầu): ghi một trong {}",
                accepted_actions(lang)
            ),
            (RowMsg::MissingAction, En) => format!(
                "no request (the Yêu cầu column): write one of {}",
                accepted_actions(lang)
            ),
            (RowMsg::UnknownAction(v), Vi) => format!(
                "không hiểu yêu cầu `{v}`: ghi một trong {}",
                accepted_actions(lang)
            ),
            (RowMsg::UnknownAction(v), En) => format!(
                "unknown request `{v}`: write one of {}",
                accepted_actions(lang)
            ),
            (RowMsg::MissingName, Vi) => "thiếu họ và tên".into(),
            (RowMsg::MissingName, En) => "no name (Họ và tên)".into(),
            (RowMsg::BadText { field, msg }, _) => format!("{}: {msg}", col_word(*field, lang)),
            (RowMsg::TooLong { field, max }, Vi) => {
                format!("{}: dài quá {max} ký tự", col_word(*field, lang))
            }
            (RowMsg::TooLong { field, max }, En) => {
                format!("{}: longer than {max} characters", col_word(*field, lang))
            }
            (RowMsg::NoAddress(e), _) => e.clone(),
            (RowMsg::GivenNotInName { given, name }, _) => Msg::GivenNotInName {
                given: given.clone(),
                name: name.clone(),
            }
            .text(lang),
            (RowMsg::UnitNotFound { unit, known }, Vi) => format!(
                "cơ quan không có phòng ban `{unit}`; {}",
                if known.is_empty() {
                    "cơ quan chưa khai báo phòng ban nào (units)".to_string()
                } else {
                    format!("các phòng ban: {}", known.join("; "))
                }
            ),
            (RowMsg::UnitNotFound { unit, known }, En) => format!(
                "the agency has no unit `{unit}`; {}",
                if known.is_empty() {
                    "it declares no units".to_string()
                } else {
                    format!("its units: {}", known.join("; "))
                }
            ),
            (RowMsg::NotFound { by, value }, Vi) => format!(
                "không tìm thấy người có {} `{value}` trong cơ quan",
                match by {
                    Col::Id => "mã",
                    Col::Email => "địa chỉ",
                    _ => "tên",
                }
            ),
            (RowMsg::NotFound { by, value }, En) => format!(
                "no person of the agency has the {} `{value}`",
                match by {
                    Col::Id => "id",
                    Col::Email => "address",
                    _ => "name",
                }
            ),
            (RowMsg::Elsewhere { value, agency }, Vi) => {
                format!("`{value}` thuộc cơ quan `{agency}`, không phải cơ quan của bảng này")
            }
            (RowMsg::Elsewhere { value, agency }, En) => {
                format!("`{value}` belongs to the agency `{agency}`, not to this sheet's agency")
            }
            (RowMsg::Ambiguous { name, ids }, Vi) => format!(
                "có {} người tên `{name}` (mã {}): ghi thêm cột Mã hoặc Email",
                ids.len(),
                ids.join(", ")
            ),
            (RowMsg::Ambiguous { name, ids }, En) => format!(
                "{} people are named `{name}` (ids {}): fill in the Mã or Email column",
                ids.len(),
                ids.join(", ")
            ),
            (RowMsg::IdAndEmailDiffer { id, email }, Vi) => {
                format!("mã `{id}` và địa chỉ `{email}` là của hai người khác nhau")
            }
            (RowMsg::IdAndEmailDiffer { id, email }, En) => {
                format!("the id `{id}` and the address `{email}` belong to different people")
            }
            (RowMsg::NameDiffers { sheet, file, id }, Vi) => {
                format!("tên trong bảng là `{sheet}` nhưng người có mã `{id}` tên là `{file}`")
            }
            (RowMsg::NameDiffers { sheet, file, id }, En) => {
                format!("the sheet says `{sheet}` but the person with id `{id}` is `{file}`")
            }
            (RowMsg::Duplicate(r), Vi) => format!("trùng với dòng {r}"),
            (RowMsg::Duplicate(r), En) => format!("the same as row {r}"),
            (RowMsg::SamePerson(r), Vi) => format!("dòng {r} đã có yêu cầu cho người này"),
            (RowMsg::SamePerson(r), En) => format!("row {r} already asks for this person"),
            (RowMsg::NothingToChange, Vi) => {
                "không có gì để thay đổi: chức vụ, phòng ban và tên đã như trong bảng".into()
            }
            (RowMsg::NothingToChange, En) => {
                "nothing to change: the title, unit and name are already those of the sheet".into()
            }
            (RowMsg::AlreadyLocked, Vi) => "hộp thư đang bị khóa".into(),
            (RowMsg::AlreadyLocked, En) => "the mailbox is locked already".into(),
            (RowMsg::NotLocked, Vi) => "hộp thư không bị khóa".into(),
            (RowMsg::NotLocked, En) => "the mailbox is not locked".into(),
            (RowMsg::BadId(id), Vi) => format!(
                "mã `{id}` không dùng được: chỉ chữ không dấu, số, `.`, `_`, `-`, tối đa 64 ký tự"
            ),
            (RowMsg::BadId(id), En) => format!(
                "the id `{id}` cannot be used: ASCII letters, digits, `.`, `_`, `-`, at most 64"
            ),
            (RowMsg::IdTaken(id), Vi) => format!("mã `{id}` đã có người dùng"),
            (RowMsg::IdTaken(id), En) => format!("the id `{id}` is taken"),
            (RowMsg::OtherDomain { address, domain }, Vi) => {
                format!("địa chỉ `{address}` không thuộc miền {domain}")
            }
            (RowMsg::OtherDomain { address, domain }, En) => {
                format!("the address `{address}` is not in {domain}")
            }
            (RowMsg::AddressTaken(a), Vi) => format!("địa chỉ `{a}` đã có người dùng"),
            (RowMsg::AddressTaken(a), En) => format!("the address `{a}` is taken"),
            (RowMsg::AddressNotConforming { address, expected }, Vi) => format!(
                "địa chỉ `{address}` không theo quy tắc đặt tên; theo quy tắc là `{expected}` (để trống cột Email để hopthu tự tạo)"
            ),
            (RowMsg::AddressNotConforming { address, expected }, En) => format!(
                "the address `{address}` does not follow the naming rules; the rules give `{expected}` (leave Email empty and hopthu makes it)"
            ),
            (RowMsg::NoFreeAddress, Vi) => {
                "không còn địa chỉ trống theo quy tắc cho tên này".into()
            }
            (RowMsg::NoFreeAddress, En) => {
                "no free address is left by the rules for this name".into()
            }
            (RowMsg::NotEditable(why), Vi) => {
                format!("không sửa tự động được người này trong tệp ({why})")
            }
            (RowMsg::NotEditable(why), En) => {
                format!("this person cannot be edited automatically in the file ({why})")
            }
        }
    }
}

/// A row that cannot be carried out, with the reason in the report's
/// language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub row: u32,
    #[serde(skip)]
    pub msg: RowMsg,
    pub message: String,
}

/// One field a change sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: &'static str,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// What one row does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Done {
    pub row: u32,
    pub action: Action,
    pub id: String,
    pub name: String,
    /// The person's address (`local@domain`), before any change.
    pub address: String,
    /// The address after the change, when it changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

/// What `hopthu request` did, or would do.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The sheet as given on the command line.
    pub sheet: String,
    /// The workbook's sheet read, or the CSV separator.
    pub read: String,
    pub agency: String,
    /// The agency's file, relative to the repository.
    pub file: String,
    pub dry_run: bool,
    pub written: bool,
    pub changes: Vec<Done>,
    pub errors: Vec<RowError>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub diff: String,
    #[serde(skip)]
    pub lang: Language,
}

/// Why nothing was done, before any row was read or after they all were.
#[derive(Debug)]
pub enum RequestError {
    /// A file that cannot be read, a sheet that is not one, an agency the
    /// repository does not have (exit 2).
    Usage(String),
    /// An invalid repository, or an edit that would make it invalid (exit 1).
    Invalid(String),
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestError::Usage(s) | RequestError::Invalid(s) => f.write_str(s),
        }
    }
}

pub struct Request<'a> {
    pub root: &'a Path,
    /// The agency's abbreviation or code.
    pub agency: &'a str,
    pub sheet: &'a Path,
    pub sheet_name: Option<&'a str>,
    pub dry_run: bool,
    pub lang: Option<Language>,
    pub today: NaiveDate,
}

/// Read, check, edit, validate and (unless a dry run or a bad row) write.
pub fn run(req: &Request<'_>) -> Result<Report, RequestError> {
    let files = FileSet::read_folder(req.root)
        .map_err(|e| RequestError::Usage(format!("{}: {e}", req.root.display())))?;
    let validators = crate::schema::Validators::new();
    let options = Options {
        lang: req.lang,
        today: req.today,
    };
    let outcome = validate::validate(&files, &validators, &options);
    let lang = outcome.lang;
    let vi = lang == Language::Vi;
    if !outcome.is_valid() {
        let mut s: String = outcome
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| crate::diagnostics::render_human(d, false, lang) + "\n")
            .collect();
        s.push_str(&if vi {
            format!(
                "Kho có {} lỗi: sửa trước (hopthu validate), chưa ghi gì.",
                outcome.errors()
            )
        } else {
            format!(
                "The repository has {} error(s): fix them first (hopthu validate); nothing was written.",
                outcome.errors()
            )
        });
        return Err(RequestError::Invalid(s));
    }
    let agency_mb =
        find_agency(&outcome.desired, req.agency).map_err(|e| RequestError::Usage(e.text(lang)))?;
    let file = agency_mb.file.clone();
    let original: Vec<u8> = files
        .agencies
        .iter()
        .find(|f| f.path == file)
        .and_then(|f| match &f.entry {
            Entry::File(b) => Some(b.clone()),
            _ => None,
        })
        .ok_or_else(|| RequestError::Usage(format!("{file}: not readable")))?;
    let text = std::str::from_utf8(&original)
        .map_err(|e| RequestError::Usage(format!("{file}: {e}")))?
        .to_string();

    let shown = req.sheet.display().to_string();
    let table = sheet::read(req.sheet, req.sheet_name)
        .map_err(|e| RequestError::Usage(format!("{shown}: {}", e.text(lang))))?;
    let (read, rows, header, cols) = pick_reading(table).map_err(|first| {
        RequestError::Usage(format!(
            "{shown}: {}",
            if vi {
                format!(
                    "không tìm thấy dòng tiêu đề có cột `Họ và tên` và cột `Yêu cầu`{}",
                    first
                        .map(|f| format!("; dòng đầu tiên có chữ: {f}"))
                        .unwrap_or_default()
                )
            } else {
                format!(
                    "no header row with a `Họ và tên` (name) column and a `Yêu cầu` (request) column{}",
                    first
                        .map(|f| format!("; the first row with text: {f}"))
                        .unwrap_or_default()
                )
            }
        ))
    })?;

    let settings = outcome.settings.as_ref().expect("a valid repository");
    let mut planner = Planner::new(
        &outcome,
        &settings.domain,
        &agency_mb.agency_code,
        &text,
        req.today,
        lang,
    )
    .map_err(|e| RequestError::Usage(format!("{file}: {e}")))?;
    let mut editor = Editor::new(&text).map_err(|e| RequestError::Usage(format!("{file}: {e}")))?;
    let data = &rows[header + 1..];
    planner.rows(data, &cols, &mut editor);

    let mut report = Report {
        sheet: shown,
        read,
        agency: agency_mb.agency_abbr.clone(),
        file: file.clone(),
        dry_run: req.dry_run,
        written: false,
        changes: planner.done,
        errors: planner.errors,
        diff: String::new(),
        lang,
    };
    if !report.errors.is_empty() || report.changes.is_empty() {
        return Ok(report);
    }
    let edited = editor
        .finish()
        .map_err(|e| RequestError::Invalid(format!("{file}: {e}")))?;

    // The edited file with the rest of the repository: valid, and doing
    // what the report says.
    let mut set = FileSet {
        settings: files.settings.clone(),
        agencies: files.agencies.clone(),
    };
    for f in set.agencies.iter_mut() {
        if f.path == file {
            f.entry = Entry::File(edited.text.clone().into_bytes());
        }
    }
    let after = validate::validate(&set, &validators, &options);
    if !after.is_valid() {
        let mut s: String = after
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| crate::diagnostics::render_human(d, false, lang) + "\n")
            .collect();
        s.push_str(if vi {
            "Tệp sau khi sửa không hợp lệ; chưa ghi gì."
        } else {
            "The edited file would not be valid; nothing was written."
        });
        return Err(RequestError::Invalid(s));
    }
    check_result(&report.changes, &after.desired).map_err(|why| {
        RequestError::Invalid(if vi {
            format!("{file}: kết quả không như yêu cầu ({why}); chưa ghi gì.")
        } else {
            format!("{file}: the result is not what the sheet asks ({why}); nothing was written.")
        })
    })?;
    report.diff = edited.unified_diff(&file, 2);
    if req.dry_run {
        return Ok(report);
    }
    let path = req.root.join(&file);
    // Someone else's edit since the read is not overwritten.
    let now = std::fs::read(&path)
        .map_err(|e| RequestError::Usage(format!("{}: {e}", path.display())))?;
    if now != original {
        return Err(RequestError::Usage(if vi {
            format!("{file} vừa bị sửa trong lúc đọc bảng; chạy lại lệnh")
        } else {
            format!("{file} changed while the sheet was read; run the command again")
        }));
    }
    crate::fsutil::write_atomic(&path, edited.text.as_bytes())
        .map_err(|e| RequestError::Usage(format!("{}: {e}", path.display())))?;
    report.written = true;
    Ok(report)
}

/// The rows of the first reading with a header (a workbook's sheet, or the
/// CSV separator that gives one; the one naming the most columns), or the
/// first row with text when none has.
#[allow(clippy::type_complexity)]
fn pick_reading(
    table: Table,
) -> Result<(String, Vec<Row>, usize, HashMap<Col, usize>), Option<String>> {
    let readings: Vec<(String, Vec<Row>)> = match table {
        Table::Workbook { sheet, rows } => vec![(sheet, rows)],
        Table::Csv(r) => r
            .into_iter()
            .map(|(sep, rows)| {
                (
                    match sep {
                        '\t' => "tab".to_string(),
                        c => c.to_string(),
                    },
                    rows,
                )
            })
            .collect(),
    };
    let first = readings.first().and_then(|(_, rows)| {
        rows.iter().find(|r| !r.is_blank()).map(|r| {
            let t: String = r.cells.values().cloned().collect::<Vec<_>>().join(" | ");
            t.chars().take(80).collect()
        })
    });
    let mut best: Option<(String, Vec<Row>, usize, HashMap<Col, usize>)> = None;
    for (read, rows) in readings {
        if let Some((h, cols)) = find_header(&rows)
            && best.as_ref().is_none_or(|b| b.3.len() < cols.len())
        {
            best = Some((read, rows, h, cols));
        }
    }
    best.ok_or(first)
}

/// The agency named by `arg`: its abbreviation (any case) or its code.
fn find_agency<'a>(
    desired: &'a [DesiredMailbox],
    arg: &str,
) -> Result<&'a DesiredMailbox, crate::suggest::SuggestError> {
    let agencies = || desired.iter().filter(|m| m.kind == MailboxKind::Agency);
    if let Some(m) = agencies().find(|m| m.agency_abbr.eq_ignore_ascii_case(arg.trim())) {
        return Ok(m);
    }
    if let Some(m) = agencies().find(|m| m.agency_code == arg.trim()) {
        return Ok(m);
    }
    let abbr = arg.trim().to_ascii_lowercase();
    crate::suggest::check_agency(desired, &abbr)?;
    Err(crate::suggest::SuggestError::UnknownAgency {
        abbr,
        now: None,
        nearest: Vec::new(),
    })
}

/// The person ids' style: `<prefix><digits>`, the most common one of the
/// agency (or of the repository), `p-` and six digits when there is none.
fn id_style<'a>(ids: impl Iterator<Item = &'a str>) -> Option<(String, usize)> {
    let mut counts: HashMap<(String, usize), usize> = HashMap::new();
    for id in ids {
        let digits = id.chars().rev().take_while(char::is_ascii_digit).count();
        if digits == 0 || digits > 18 {
            continue;
        }
        let prefix = &id[..id.len() - digits];
        *counts.entry((prefix.to_string(), digits)).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .map(|(k, _)| k)
}

fn valid_key(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The cells of one row, by column.
struct Cells {
    row: u32,
    action: String,
    name: String,
    title: String,
    unit: String,
    id: String,
    email: String,
    given: String,
    note: String,
}

struct Planner<'a> {
    lang: Language,
    domain: String,
    agency: Agency,
    /// Whether the file writes ids in quotes.
    quote_ids: bool,
    desired: &'a [DesiredMailbox],
    /// Every local part in use: addresses and aliases of the repository,
    /// and those given to rows before.
    in_use: HashSet<String>,
    /// Every person id of the repository, and those given to rows before.
    ids: HashSet<String>,
    id_prefix: String,
    id_width: usize,
    next_id: u64,
    today: NaiveDate,
    /// Appends wait until every other edit is made.
    adds: Vec<Vec<(String, String)>>,
    done: Vec<Done>,
    errors: Vec<RowError>,
    seen_rows: HashMap<String, u32>,
    seen_people: HashMap<usize, u32>,
}

impl<'a> Planner<'a> {
    fn new(
        outcome: &'a Outcome,
        domain: &str,
        agency_code: &str,
        text: &str,
        today: NaiveDate,
        lang: Language,
    ) -> Result<Planner<'a>, String> {
        let parsed = crate::yaml::parse(text);
        let root = parsed.root.ok_or("the file does not parse")?;
        let agency: Agency = serde_json::from_value(root.to_json()).map_err(|e| e.to_string())?;
        debug_assert_eq!(agency.code, agency_code);
        let quote_ids = match root.lookup("/people/0/id") {
            Some((n, _)) => n.style == crate::yaml::Style::Quoted,
            None => true,
        };
        let desired = &outcome.desired;
        let ids: HashSet<String> = desired
            .iter()
            .filter_map(|m| m.key.strip_prefix("person/"))
            .map(str::to_string)
            .collect();
        let (id_prefix, id_width) = id_style(agency.people.iter().map(|p| p.id.as_str()))
            .or_else(|| id_style(ids.iter().map(String::as_str)))
            .unwrap_or(("p-".into(), 6));
        let next_id = ids
            .iter()
            .filter_map(|id| id.strip_prefix(id_prefix.as_str()))
            .filter(|d| !d.is_empty() && d.len() <= 18 && d.bytes().all(|b| b.is_ascii_digit()))
            .filter_map(|d| d.parse::<u64>().ok())
            .max()
            .map_or(1, |n| n + 1);
        Ok(Planner {
            lang,
            domain: domain.to_string(),
            agency,
            quote_ids,
            desired,
            in_use: crate::suggest::locals_in_use(desired),
            ids,
            id_prefix,
            id_width,
            next_id,
            today,
            adds: Vec::new(),
            done: Vec::new(),
            errors: Vec::new(),
            seen_rows: HashMap::new(),
            seen_people: HashMap::new(),
        })
    }

    fn rows(&mut self, rows: &[Row], cols: &HashMap<Col, usize>, editor: &mut Editor<'_>) {
        let get = |row: &Row, c: Col| cols.get(&c).map_or("", |i| row.cell(*i)).to_string();
        // The columns read, left to right (the row's number is not).
        let mut read: Vec<(Col, usize)> = cols
            .iter()
            .filter(|(c, _)| **c != Col::Number)
            .map(|(c, i)| (*c, *i))
            .collect();
        read.sort_by_key(|(_, i)| *i);
        for row in rows {
            let cells = Cells {
                row: row.number,
                action: get(row, Col::Action),
                name: get(row, Col::Name),
                title: get(row, Col::Title),
                unit: get(row, Col::Unit),
                id: get(row, Col::Id),
                email: get(row, Col::Email),
                given: get(row, Col::Given),
                note: get(row, Col::Note),
            };
            // A row with nothing in the columns read (a numbered empty
            // line of a template) is blank.
            if read
                .iter()
                .all(|(_, i)| row.cell(*i).is_empty() && row.issue(*i).is_none())
            {
                continue;
            }
            // A cell that holds no text, or a control character, is the
            // row's error before anything else is checked.
            let before = self.errors.len();
            for (col, i) in &read {
                let msg = match row.issue(*i) {
                    Some(CellIssue::Error(error)) => RowMsg::CellError {
                        cell: sheet::cell_name(*i, row.number),
                        error: error.clone(),
                    },
                    Some(CellIssue::NoValue) => RowMsg::NoValue {
                        cell: sheet::cell_name(*i, row.number),
                    },
                    None => match row
                        .cell(*i)
                        .chars()
                        .enumerate()
                        .find(|(_, c)| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
                    {
                        Some((at, ch)) => RowMsg::ControlChar {
                            field: *col,
                            ch,
                            position: at + 1,
                        },
                        None => continue,
                    },
                };
                self.error(row.number, msg);
            }
            if self.errors.len() > before {
                continue;
            }
            let before = self.errors.len();
            self.row(&cells, editor);
            debug_assert!(
                self.errors.len() > before || self.done.last().is_some_and(|d| d.row == cells.row)
            );
        }
        let adds = std::mem::take(&mut self.adds);
        for fields in adds {
            if let Err(why) = editor.append_item("people", &fields) {
                // The file's `people` is not a block list: every add fails alike.
                let rows: Vec<u32> = self
                    .done
                    .iter()
                    .filter(|d| d.action == Action::Add)
                    .map(|d| d.row)
                    .collect();
                for row in rows {
                    self.error(row, RowMsg::NotEditable(why.clone()));
                }
                return;
            }
        }
    }

    fn error(&mut self, row: u32, msg: RowMsg) {
        let message = msg.text(self.lang);
        self.errors.push(RowError { row, msg, message });
    }

    /// A person's name, given name or title as the validator checks them:
    /// invisible and control characters, letters of other scripts. The
    /// clean text (NFC, single spaces), or the errors.
    fn text_field(&mut self, row: u32, field: Col, value: &str, org: bool) -> Option<String> {
        let mut ok = true;
        for n in naming::notices(value) {
            if let NameNotice::Invisible { ch, position } | NameNotice::Control { ch, position } = n
            {
                let msg = Msg::NameInvisible { ch, position }.text(self.lang);
                self.error(row, RowMsg::BadText { field, msg });
                ok = false;
                break;
            }
        }
        if !ok {
            return None;
        }
        let letters: String = if org {
            value
                .chars()
                .map(|c| {
                    if validate::ORG_PUNCTUATION.contains(c) {
                        ' '
                    } else {
                        c
                    }
                })
                .collect()
        } else {
            value.to_string()
        };
        if let Err(err) = naming::fold(&letters)
            && (err.ch.is_some() || !org)
        {
            let msg = Msg::NameChar { err }.text(self.lang);
            self.error(row, RowMsg::BadText { field, msg });
            return None;
        }
        let clean = nfc_clean(value);
        // A person's name holds letters, spaces, apostrophes and hyphens
        // only (the schema's pattern): no digits, no other dashes.
        if !org && let Some(err) = naming::person_name_error(&clean) {
            let msg = Msg::NameChar { err }.text(self.lang);
            self.error(row, RowMsg::BadText { field, msg });
            return None;
        }
        if clean.chars().count() > 200 {
            self.error(row, RowMsg::TooLong { field, max: 200 });
            return None;
        }
        Some(clean)
    }

    fn unit_code(&self, cell: &str) -> Result<String, RowMsg> {
        let want = fold_loose(cell);
        self.agency
            .units
            .iter()
            .find(|u| {
                fold_loose(&u.name) == want
                    || u.abbr.eq_ignore_ascii_case(cell.trim())
                    || u.code.eq_ignore_ascii_case(cell.trim())
            })
            .map(|u| u.code.clone())
            .ok_or_else(|| RowMsg::UnitNotFound {
                unit: cell.to_string(),
                known: self
                    .agency
                    .units
                    .iter()
                    .map(|u| format!("{} ({})", u.name, u.abbr))
                    .collect(),
            })
    }

    fn full(&self, local: &str) -> String {
        format!("{local}@{}", self.domain)
    }

    /// The local part a person has now.
    fn local_of(&self, p: &Person) -> String {
        let key = crate::desired::person_key(&p.id);
        self.desired
            .iter()
            .find(|m| m.key == key)
            .map(|m| m.address.split('@').next().unwrap_or("").to_string())
            .unwrap_or_default()
    }

    fn row(&mut self, c: &Cells, editor: &mut Editor<'_>) {
        let row = c.row;
        let action = if c.action.is_empty() {
            Err(RowMsg::MissingAction)
        } else {
            action_of(&c.action).ok_or_else(|| RowMsg::UnknownAction(c.action.clone()))
        };
        // The same row twice is a mistake, whatever it asks.
        let same = format!(
            "{}|{}|{}|{}|{}|{}|{}",
            fold_loose(&c.action),
            naming::fold(&c.name).unwrap_or_else(|_| c.name.clone()),
            fold_loose(&c.unit),
            fold_loose(&c.title),
            c.id,
            c.email.to_lowercase(),
            fold_loose(&c.given)
        );
        if let Some(first) = self.seen_rows.get(&same) {
            self.error(row, RowMsg::Duplicate(*first));
            return;
        }
        self.seen_rows.insert(same, row);

        let before = self.errors.len();
        let action = action.map_err(|m| self.error(row, m)).ok();
        let name = if c.name.is_empty() {
            self.error(row, RowMsg::MissingName);
            None
        } else {
            self.text_field(row, Col::Name, &c.name, false)
        };
        let given = if c.given.is_empty() {
            Some(None)
        } else {
            self.text_field(row, Col::Given, &c.given, false).map(Some)
        };
        let title = if c.title.is_empty() {
            Some(None)
        } else {
            self.text_field(row, Col::Title, &c.title, true).map(Some)
        };
        let unit = if c.unit.is_empty() {
            None
        } else {
            match self.unit_code(&c.unit) {
                Ok(u) => Some(u),
                Err(m) => {
                    self.error(row, m);
                    None
                }
            }
        };
        if c.note.chars().count() > 1000 {
            self.error(
                row,
                RowMsg::TooLong {
                    field: Col::Note,
                    max: 1000,
                },
            );
        }
        let (Some(action), Some(name), Some(given), Some(title)) = (action, name, given, title)
        else {
            return;
        };
        if self.errors.len() > before {
            return;
        }
        let result = match action {
            Action::Add => self.add(c, name, given, title, unit),
            _ => self.existing(c, action, name, given, title, unit, editor),
        };
        match result {
            Ok(done) => self.done.push(done),
            Err(m) => self.error(row, m),
        }
    }

    fn add(
        &mut self,
        c: &Cells,
        name: String,
        given: Option<String>,
        title: Option<String>,
        unit: Option<String>,
    ) -> Result<Done, RowMsg> {
        let abbr = self.agency.abbr.clone();
        let lang = self.lang;
        let derived =
            naming::person_local(&name, given.as_deref(), &abbr).map_err(|e| match e {
                naming::DeriveError::GivenNotFound { given, name } => {
                    RowMsg::GivenNotInName { given, name }
                }
                e => RowMsg::NoAddress(crate::suggest::SuggestError::Derive(e).text(lang)),
            })?;
        let derived_taken = self.in_use.contains(&derived);
        let local = if c.email.is_empty() {
            if derived_taken {
                let in_use = &self.in_use;
                let taken = |l: &str| in_use.contains(l);
                naming::person_alternatives(&name, given.as_deref(), &abbr, &taken, 1)
                    .ok()
                    .and_then(|v| v.into_iter().next())
                    .ok_or(RowMsg::NoFreeAddress)?
            } else {
                derived.clone()
            }
        } else {
            let local = self.local_in_domain(&c.email)?;
            if self.in_use.contains(&local) {
                return Err(RowMsg::AddressTaken(self.full(&local)));
            }
            let given_slug = naming::given_slug(&name, given.as_deref()).unwrap_or_default();
            if !naming::person_address_conforms(&local, &derived, &given_slug, &abbr, derived_taken)
            {
                let in_use = &self.in_use;
                let taken = |l: &str| in_use.contains(l);
                let expected = if derived_taken {
                    naming::person_alternatives(&name, given.as_deref(), &abbr, &taken, 1)
                        .ok()
                        .and_then(|v| v.into_iter().next())
                        .unwrap_or(derived.clone())
                } else {
                    derived.clone()
                };
                return Err(RowMsg::AddressNotConforming {
                    address: self.full(&local),
                    expected: self.full(&expected),
                });
            }
            local
        };
        let id = if c.id.is_empty() {
            loop {
                let id = format!(
                    "{}{:0width$}",
                    self.id_prefix,
                    self.next_id,
                    width = self.id_width
                );
                self.next_id += 1;
                if !self.ids.contains(&id) {
                    break id;
                }
            }
        } else if !valid_key(&c.id) {
            return Err(RowMsg::BadId(c.id.clone()));
        } else if self.ids.contains(&c.id) {
            return Err(RowMsg::IdTaken(c.id.clone()));
        } else {
            c.id.clone()
        };
        self.ids.insert(id.clone());
        self.in_use.insert(local.clone());
        let mut fields = vec![
            (
                "id".to_string(),
                if self.quote_ids {
                    quoted(&id)
                } else {
                    scalar(&id)
                },
            ),
            ("name".to_string(), scalar(&name)),
        ];
        if let Some(g) = &given {
            fields.push(("given".into(), scalar(g)));
        }
        if let Some(t) = &title {
            fields.push(("title".into(), scalar(t)));
        }
        if let Some(u) = &unit {
            fields.push(("unit".into(), scalar(u)));
        }
        if local != derived {
            fields.push(("address".into(), scalar(&local)));
        }
        self.adds.push(fields);
        Ok(Done {
            row: c.row,
            action: Action::Add,
            id,
            name,
            address: self.full(&local),
            new_address: None,
            unit,
            title,
            fields: Vec::new(),
        })
    }

    /// The local part of an address written in the sheet, in the domain.
    fn local_in_domain(&self, email: &str) -> Result<String, RowMsg> {
        let e = email
            .trim()
            .trim_start_matches("mailto:")
            .to_ascii_lowercase();
        let (local, domain) = e.split_once('@').unwrap_or((&e, &self.domain));
        if !domain.eq_ignore_ascii_case(&self.domain) {
            return Err(RowMsg::OtherDomain {
                address: email.to_string(),
                domain: self.domain.clone(),
            });
        }
        Ok(local.to_string())
    }

    /// The person a row is about: by id, by address, or by name (with the
    /// unit when several share it and the row does not move anyone).
    fn find(&self, c: &Cells, action: Action, name: &str) -> Result<usize, RowMsg> {
        let people = &self.agency.people;
        let elsewhere = |key: &str, value: &str| -> Option<RowMsg> {
            self.desired
                .iter()
                .find(|m| m.key == key && m.agency_code != self.agency.code)
                .map(|m| RowMsg::Elsewhere {
                    value: value.to_string(),
                    agency: m.agency_abbr.clone(),
                })
        };
        let by_id =
            if c.id.is_empty() {
                None
            } else {
                match people.iter().position(|p| p.id == c.id) {
                    Some(i) => Some(i),
                    None => {
                        return Err(elsewhere(&crate::desired::person_key(&c.id), &c.id)
                            .unwrap_or(RowMsg::NotFound {
                                by: Col::Id,
                                value: c.id.clone(),
                            }));
                    }
                }
            };
        let by_email = if c.email.is_empty() {
            None
        } else {
            let local = self.local_in_domain(&c.email)?;
            let full = self.full(&local);
            let m = self.desired.iter().find(|m| {
                m.kind == MailboxKind::Person && (m.address == full || m.aliases.contains(&full))
            });
            match m {
                Some(m) if m.agency_code != self.agency.code => {
                    return Err(RowMsg::Elsewhere {
                        value: c.email.clone(),
                        agency: m.agency_abbr.clone(),
                    });
                }
                Some(m) => {
                    let id = m.key.strip_prefix("person/").unwrap_or("");
                    people.iter().position(|p| p.id == id)
                }
                None => {
                    return Err(RowMsg::NotFound {
                        by: Col::Email,
                        value: c.email.clone(),
                    });
                }
            }
        };
        match (by_id, by_email) {
            (Some(a), Some(b)) if a != b => {
                return Err(RowMsg::IdAndEmailDiffer {
                    id: c.id.clone(),
                    email: c.email.clone(),
                });
            }
            (Some(i), _) | (None, Some(i)) => {
                let p = &people[i];
                let same = naming::fold(name).ok() == naming::fold(&p.name).ok();
                if action != Action::Change && !same {
                    return Err(RowMsg::NameDiffers {
                        sheet: name.to_string(),
                        file: p.name.clone(),
                        id: p.id.clone(),
                    });
                }
                return Ok(i);
            }
            (None, None) => {}
        }
        let key = name.to_lowercase();
        let mut found: Vec<usize> = people
            .iter()
            .enumerate()
            .filter(|(_, p)| nfc_clean(&p.name).to_lowercase() == key)
            .map(|(i, _)| i)
            .collect();
        if found.len() > 1
            && action != Action::Change
            && !c.unit.is_empty()
            && let Ok(unit) = self.unit_code(&c.unit)
        {
            found.retain(|i| people[*i].unit.as_deref() == Some(unit.as_str()));
        }
        match found[..] {
            [i] => Ok(i),
            [] => Err(RowMsg::NotFound {
                by: Col::Name,
                value: name.to_string(),
            }),
            _ => Err(RowMsg::Ambiguous {
                name: name.to_string(),
                ids: found.iter().map(|i| people[*i].id.clone()).collect(),
            }),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn existing(
        &mut self,
        c: &Cells,
        action: Action,
        name: String,
        given: Option<String>,
        title: Option<String>,
        unit: Option<String>,
        editor: &mut Editor<'_>,
    ) -> Result<Done, RowMsg> {
        let i = self.find(c, action, &name)?;
        if let Some(first) = self.seen_people.get(&i) {
            return Err(RowMsg::SamePerson(*first));
        }
        self.seen_people.insert(i, c.row);
        let p = self.agency.people[i].clone();
        let pointer = format!("/people/{i}");
        editor
            .item(&pointer)
            .map_err(|why| RowMsg::NotEditable(why.to_string()))?;
        let local = self.local_of(&p);
        let mut done = Done {
            row: c.row,
            action,
            id: p.id.clone(),
            name: p.name.clone(),
            address: self.full(&local),
            new_address: None,
            unit: p.unit.clone(),
            title: p.title.clone(),
            fields: Vec::new(),
        };
        let edit = |r: Result<(), String>| r.map_err(RowMsg::NotEditable);
        match action {
            Action::Add => unreachable!("added elsewhere"),
            Action::Remove => edit(editor.remove_item(&pointer))?,
            Action::Lock => {
                if p.status == Status::Locked {
                    return Err(RowMsg::AlreadyLocked);
                }
                let mut block = vec![
                    "lock:".to_string(),
                    "  reason: requested".to_string(),
                    format!("  since: {}", self.today),
                ];
                if !c.note.is_empty() {
                    block.push(format!("  note: {}", quoted(&nfc_clean(&c.note))));
                }
                if p.lock.is_some() {
                    edit(editor.remove_key(&pointer, "lock"))?;
                }
                edit(editor.set(&pointer, "status", "locked", &block))?;
            }
            Action::Restore => {
                if p.status != Status::Locked {
                    return Err(RowMsg::NotLocked);
                }
                edit(editor.set(&pointer, "status", "active", &[]))?;
                edit(editor.remove_key(&pointer, "lock"))?;
            }
            Action::Change => {
                let by_key = !c.id.is_empty() || !c.email.is_empty();
                let mut sets: Vec<(&'static str, String)> = Vec::new();
                let mut removes: Vec<&'static str> = Vec::new();
                let new_name = (by_key && name != nfc_clean(&p.name)).then(|| name.clone());
                let new_given = given.filter(|g| Some(g) != p.given.as_ref());
                if let Some(n) = &new_name {
                    sets.push(("name", scalar(n)));
                    done.fields.push(FieldChange {
                        field: "name",
                        from: Some(p.name.clone()),
                        to: Some(n.clone()),
                    });
                }
                if let Some(g) = &new_given {
                    sets.push(("given", scalar(g)));
                    done.fields.push(FieldChange {
                        field: "given",
                        from: p.given.clone(),
                        to: Some(g.clone()),
                    });
                }
                if new_name.is_some() || new_given.is_some() {
                    let n = new_name.as_deref().unwrap_or(&p.name);
                    let g = new_given.as_deref().or(p.given.as_deref());
                    if let Some(new_local) =
                        self.readdress(&p, &local, n, g, &mut sets, &mut removes)?
                    {
                        done.fields.push(FieldChange {
                            field: "address",
                            from: Some(self.full(&local)),
                            to: Some(self.full(&new_local)),
                        });
                        done.new_address = Some(self.full(&new_local));
                    }
                    done.name = n.to_string();
                }
                if let Some(t) = title
                    && p.title.as_deref().map(nfc_clean) != Some(t.clone())
                {
                    sets.push(("title", scalar(&t)));
                    done.fields.push(FieldChange {
                        field: "title",
                        from: p.title.clone(),
                        to: Some(t.clone()),
                    });
                    done.title = Some(t);
                }
                if let Some(u) = unit
                    && p.unit.as_ref() != Some(&u)
                {
                    sets.push(("unit", scalar(&u)));
                    done.fields.push(FieldChange {
                        field: "unit",
                        from: p.unit.clone(),
                        to: Some(u.clone()),
                    });
                    done.unit = Some(u);
                }
                if sets.is_empty() && removes.is_empty() {
                    return Err(RowMsg::NothingToChange);
                }
                for (k, v) in &sets {
                    edit(editor.set(&pointer, k, v, &[]))?;
                }
                for k in &removes {
                    edit(editor.remove_key(&pointer, k))?;
                }
            }
        }
        Ok(done)
    }

    /// The address after a change of name: kept while it still follows the
    /// rules (or is a legacy one), else the one the new name derives (or
    /// the first free alternative, written as `address`). The new local
    /// part when it changes.
    fn readdress(
        &mut self,
        p: &Person,
        local: &str,
        name: &str,
        given: Option<&str>,
        sets: &mut Vec<(&'static str, String)>,
        removes: &mut Vec<&'static str>,
    ) -> Result<Option<String>, RowMsg> {
        let abbr = self.agency.abbr.clone();
        let lang = self.lang;
        let derived = naming::person_local(name, given, &abbr).map_err(|e| match e {
            naming::DeriveError::GivenNotFound { given, name } => {
                RowMsg::GivenNotInName { given, name }
            }
            e => RowMsg::NoAddress(crate::suggest::SuggestError::Derive(e).text(lang)),
        })?;
        if p.legacy && p.address.is_some() {
            return Ok(None);
        }
        let derived_taken = derived != local && self.in_use.contains(&derived);
        let given_slug = naming::given_slug(name, given).unwrap_or_default();
        if naming::person_address_conforms(local, &derived, &given_slug, &abbr, derived_taken) {
            // Still right; a derived address stays derived.
            if p.address.is_none() && derived != local {
                sets.push(("address", scalar(local)));
            }
            return Ok(None);
        }
        let new_local = if !derived_taken {
            if p.address.is_some() {
                removes.push("address");
            }
            derived
        } else {
            let in_use = &self.in_use;
            let taken = |l: &str| in_use.contains(l);
            let alt = naming::person_alternatives(name, given, &abbr, &taken, 1)
                .ok()
                .and_then(|v| v.into_iter().next())
                .ok_or(RowMsg::NoFreeAddress)?;
            sets.push(("address", scalar(&alt)));
            alt
        };
        self.in_use.insert(new_local.clone());
        Ok(Some(new_local))
    }
}

/// The validated result holds what the report says: new people at their
/// addresses, removed ones gone, changes made.
fn check_result(changes: &[Done], desired: &[DesiredMailbox]) -> Result<(), String> {
    let by_key: HashMap<&str, &DesiredMailbox> =
        desired.iter().map(|m| (m.key.as_str(), m)).collect();
    for d in changes {
        let key = crate::desired::person_key(&d.id);
        let m = by_key.get(key.as_str());
        let ok = match (d.action, m) {
            (Action::Remove, m) => m.is_none(),
            (_, None) => false,
            (Action::Add, Some(m)) => {
                m.address == d.address
                    && m.display_name == d.name
                    && m.unit_code == d.unit
                    && m.title == d.title
            }
            (Action::Change, Some(m)) => {
                m.address == *d.new_address.as_ref().unwrap_or(&d.address)
                    && m.display_name == nfc_clean(&d.name)
                    && m.unit_code == d.unit
                    && m.title.as_deref() == d.title.as_deref().map(nfc_clean).as_deref()
            }
            (Action::Lock, Some(m)) => m.status == Status::Locked,
            (Action::Restore, Some(m)) => m.status == Status::Active,
        };
        if !ok {
            return Err(format!("{} {}", d.action.word(Language::En), key));
        }
    }
    Ok(())
}

impl Report {
    /// Exit code: 0 done (or nothing to do), 1 rows with errors.
    pub fn exit_code(&self) -> u8 {
        if self.errors.is_empty() { 0 } else { 1 }
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serializes")
    }

    pub fn text(&self) -> String {
        use std::fmt::Write as _;
        let vi = self.lang == Language::Vi;
        let mut s = String::new();
        if !self.errors.is_empty() {
            let mut errors = self.errors.clone();
            errors.sort_by_key(|e| e.row);
            for e in &errors {
                let _ = writeln!(s, "{}:{}: {}", self.sheet, e.row, e.message);
            }
            let mut rows: Vec<u32> = errors.iter().map(|e| e.row).collect();
            rows.dedup();
            let _ = writeln!(
                s,
                "{}",
                if vi {
                    format!(
                        "Không ghi gì: {} dòng có lỗi; sửa bảng rồi chạy lại.",
                        rows.len()
                    )
                } else {
                    format!(
                        "Nothing was written: {} row(s) with errors; fix the sheet and run again.",
                        rows.len()
                    )
                }
            );
            return s;
        }
        if self.changes.is_empty() {
            let _ = writeln!(
                s,
                "{}",
                if vi {
                    format!("{}: bảng không có yêu cầu nào; không sửa gì.", self.sheet)
                } else {
                    format!(
                        "{}: the sheet asks for nothing; nothing changed.",
                        self.sheet
                    )
                }
            );
            return s;
        }
        let _ = writeln!(
            s,
            "{}",
            if vi {
                format!("{} theo {}:", self.file, self.sheet)
            } else {
                format!("{} from {}:", self.file, self.sheet)
            }
        );
        let width = Action::ALL
            .iter()
            .map(|a| a.word(self.lang).chars().count())
            .max()
            .unwrap_or(0);
        for d in &self.changes {
            let word = d.action.word(self.lang);
            let pad = " ".repeat(width - word.chars().count());
            let mut line = format!(
                "  {} {word}{pad}  {}  {} ({})",
                d.action.sign(),
                d.address,
                d.name,
                d.id
            );
            if d.action == Action::Add {
                let extra: Vec<&str> = [d.title.as_deref(), d.unit.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect();
                if !extra.is_empty() {
                    let _ = write!(line, ", {}", extra.join(", "));
                }
            }
            if !d.fields.is_empty() {
                let parts: Vec<String> = d
                    .fields
                    .iter()
                    .map(|f| {
                        format!(
                            "{}: {} → {}",
                            field_word(f.field, self.lang),
                            f.from.as_deref().unwrap_or("—"),
                            f.to.as_deref().unwrap_or("—")
                        )
                    })
                    .collect();
                let _ = write!(line, ": {}", parts.join("; "));
            }
            let _ = writeln!(s, "{line}  [{} {}]", if vi { "dòng" } else { "row" }, d.row);
        }
        if self.dry_run && !self.diff.is_empty() {
            s.push('\n');
            s.push_str(&self.diff);
            s.push('\n');
        }
        let counts: Vec<String> = Action::ALL
            .iter()
            .map(|a| {
                let n = self.changes.iter().filter(|d| d.action == *a).count();
                format!("{} {n}", a.word(self.lang).to_lowercase())
            })
            .collect();
        let _ = writeln!(
            s,
            "{}",
            match (vi, self.written) {
                (true, true) => format!("Đã ghi {}: {}.", self.file, counts.join(", ")),
                (true, false) => format!(
                    "Chạy thử: {}; chưa ghi gì vào {}.",
                    counts.join(", "),
                    self.file
                ),
                (false, true) => format!("Wrote {}: {}.", self.file, counts.join(", ")),
                (false, false) => format!(
                    "Dry run: {}; nothing was written to {}.",
                    counts.join(", "),
                    self.file
                ),
            }
        );
        s
    }
}

fn field_word(f: &str, lang: Language) -> &str {
    match (f, lang) {
        ("name", Language::Vi) => "họ tên",
        ("given", Language::Vi) => "tên gọi",
        ("title", Language::Vi) => "chức vụ",
        ("unit", Language::Vi) => "phòng ban",
        ("address", Language::Vi) => "địa chỉ",
        (f, _) => f,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: u32, cells: &[&str]) -> Row {
        let mut row = Row::new(n);
        for (i, c) in cells.iter().enumerate() {
            if !c.is_empty() {
                row.cells.insert(i, c.to_string());
            }
        }
        row
    }

    #[test]
    fn headers_are_found_below_a_title_whatever_their_case_marks_and_spaces() {
        let rows = vec![
            row(1, &["DANH SÁCH ĐỀ NGHỊ CẤP HỘP THƯ"]),
            row(2, &[]),
            row(
                3,
                &[
                    "STT",
                    "HỌ  VÀ TÊN (*)",
                    "Chức  vụ",
                    "Đơn vị",
                    "Loại yêu cầu (Cấp mới/Hủy)",
                    "Địa chỉ thư",
                    "Ghi chú",
                ],
            ),
        ];
        let (i, cols) = find_header(&rows).unwrap();
        assert_eq!(i, 2);
        assert_eq!(cols[&Col::Number], 0);
        assert_eq!(cols[&Col::Name], 1);
        assert_eq!(cols[&Col::Title], 2);
        assert_eq!(cols[&Col::Unit], 3);
        assert_eq!(cols[&Col::Action], 4);
        assert_eq!(cols[&Col::Email], 5);
        assert_eq!(cols[&Col::Note], 6);
        assert!(find_header(&rows[..2]).is_none());
    }

    #[test]
    fn a_header_of_two_rows_takes_the_names_merged_down_from_the_first() {
        let rows = vec![
            row(1, &["DANH SÁCH ĐỀ NGHỊ CẤP HỘP THƯ"]),
            row(3, &["STT", "Thông tin cán bộ", "", "", "Yêu cầu"]),
            row(4, &["", "Họ và tên", "Chức vụ", "Phòng ban", ""]),
            row(5, &["1", "Nguyễn Văn An", "", "vp", "Cấp mới"]),
        ];
        let (i, cols) = find_header(&rows).unwrap();
        assert_eq!(i, 2);
        assert_eq!(cols[&Col::Number], 0);
        assert_eq!(cols[&Col::Name], 1);
        assert_eq!(cols[&Col::Title], 2);
        assert_eq!(cols[&Col::Unit], 3);
        assert_eq!(cols[&Col::Action], 4);
        // Only from the row just above, and only above empty cells.
        assert!(find_header(&[rows[1].clone(), row(5, &["", "Họ và tên"])]).is_none());
        assert!(
            find_header(&[
                row(1, &["", "", "Yêu cầu"]),
                row(2, &["", "Họ và tên", "Ghi chú"])
            ])
            .is_none()
        );
    }

    #[test]
    fn request_words_are_read_as_clerks_write_them() {
        assert_eq!(action_of("Cấp mới"), Some(Action::Add));
        assert_eq!(action_of(" CẤP MỚI "), Some(Action::Add));
        assert_eq!(action_of("Cập nhật"), Some(Action::Change));
        assert_eq!(action_of("Huỷ"), Some(Action::Remove));
        assert_eq!(action_of("Thu hồi"), Some(Action::Remove));
        assert_eq!(action_of("Khoá"), Some(Action::Lock));
        assert_eq!(action_of("Mở khóa"), Some(Action::Restore));
        assert_eq!(action_of("Khôi phục"), Some(Action::Restore));
        assert_eq!(action_of("Xin cấp"), None);
    }

    #[test]
    fn ids_follow_the_most_common_style() {
        assert_eq!(
            id_style(["p-000001", "p-000002", "st-000123"].into_iter()),
            Some(("p-".into(), 6))
        );
        assert_eq!(id_style(["a", "b"].into_iter()), None);
        assert!(valid_key("p-000123"));
        assert!(!valid_key("-p"));
        assert!(!valid_key("Mã 1"));
    }
}
