//! Every message hopthu shows about a desired-state repository, in Vietnamese
//! and English, with its stable code. Rules produce a `Msg`; the language is
//! chosen only when it is rendered.

use crate::model::Language;
use crate::naming::{NameError, NameErrorKind};

#[derive(Debug, Clone)]
pub enum Msg {
    ReadFailed(String),
    NotUtf8,
    TooLarge {
        size: u64,
        limit: u64,
    },
    OutsideLayout {
        what: &'static str,
    },
    SettingsMissing,
    NoAgencies,
    /// A file's errors past the first `shown`: counted, not listed.
    TooManyErrors {
        omitted: usize,
        shown: usize,
    },
    Syntax(String),
    DuplicateKey {
        key: String,
        first_line: u32,
    },
    Anchor,
    Alias,
    Tag(String),
    TabIndent,
    MultipleDocuments,
    ComplexKey,
    EmptyDocument,
    TooDeep,
    UnknownKey {
        key: String,
        suggestion: Option<String>,
        /// Shared by every unknown key of one mapping.
        allowed: std::sync::Arc<[String]>,
    },
    MissingKey {
        key: String,
    },
    WrongType {
        expected: String,
        found: &'static str,
        number_like: bool,
    },
    NotAllowed {
        value: String,
        allowed: Vec<String>,
    },
    BadFormat {
        field: String,
        value: String,
        expect: FieldKind,
    },
    /// A number outside the range the field allows (the schema's limits).
    OutOfRange {
        field: String,
        value: String,
        min: Option<String>,
        max: Option<String>,
    },
    /// Text shorter or longer than the field allows, in characters.
    BadLength {
        field: String,
        length: usize,
        min: Option<u64>,
        max: Option<u64>,
    },
    /// Any other rule of the schema: its keyword, and the validator's words.
    SchemaOther {
        keyword: String,
        detail: String,
    },
    /// A file the schema accepts but whose values cannot be read.
    Undecodable(String),
    NameChar {
        err: NameError,
    },
    NameInvisible {
        ch: char,
        position: usize,
    },
    NameNotNfc,
    AddressNotConforming {
        address: String,
        expected: String,
        legacy: bool,
        /// A person's address (the rules allow another form when the
        /// derived one is taken); an agency's or unit's has one form only.
        person: bool,
    },
    AddressWithDomain {
        local: String,
        /// Where it is written: `address` or `aliases`.
        key: &'static str,
    },
    AddressTaken {
        address: String,
        other_file: String,
        other_line: u32,
        free: Option<String>,
    },
    DuplicateAgencyCode {
        code: String,
        other_file: String,
    },
    DuplicatePersonId {
        id: String,
        other_file: String,
        other_line: u32,
    },
    DuplicateUnitCode {
        code: String,
        first_line: u32,
    },
    UnknownUnit {
        unit: String,
        known: Vec<String>,
    },
    LockMissing,
    LockIgnored,
    LockInFuture {
        since: String,
        today: String,
    },
    BadDate {
        value: String,
    },
    QuotaUnreadable {
        value: String,
    },
    QuotaOverMax {
        value: String,
        max: String,
    },
    GivenNotInName {
        given: String,
        name: String,
    },
    CommuneAbbr {
        abbr: String,
        expected: String,
    },
    FormerAbbrIsCurrent {
        abbr: String,
    },
    NameUnusable(String),
    /// `reviewers.agencies` names no agency of the repository.
    UnknownReviewerAgency {
        key: String,
        /// The current abbreviation, when `key` is a former one.
        now: Option<String>,
        /// The nearest abbreviation or code, for "did you mean".
        suggestion: Option<String>,
    },
}

/// What a string field is expected to look like, for pattern messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Abbr,
    Key,
    Local,
    Quota,
    Domain,
    Date,
    Name,
    Reviewer,
    Other,
}

fn quote_list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn char_desc(c: char) -> String {
    if c.is_control() || c.is_whitespace() || !c.is_alphanumeric() && (c as u32) > 0x7f {
        format!("U+{:04X}", c as u32)
    } else {
        format!("`{c}` (U+{:04X})", c as u32)
    }
}

impl Msg {
    pub fn code(&self) -> &'static str {
        use Msg::*;
        match self {
            ReadFailed(_) => "E001",
            NotUtf8 => "E002",
            TooLarge { .. } => "E003",
            OutsideLayout { .. } => "E004",
            SettingsMissing => "E005",
            NoAgencies => "W006",
            TooManyErrors { .. } => "E009",
            Syntax(_) => "E010",
            DuplicateKey { .. } => "E011",
            Anchor | Alias => "E012",
            TabIndent => "E013",
            MultipleDocuments => "E014",
            Tag(_) => "E015",
            ComplexKey | EmptyDocument | TooDeep => "E016",
            UnknownKey { .. } => "E020",
            MissingKey { .. } => "E021",
            WrongType { .. } => "E022",
            NotAllowed { .. } => "E023",
            BadFormat { .. } => "E024",
            OutOfRange { .. } | BadLength { .. } | SchemaOther { .. } | Undecodable(_) => "E025",
            NameChar { .. } => "E030",
            NameInvisible { .. } => "E031",
            NameNotNfc => "W032",
            NameUnusable(_) => "E033",
            AddressNotConforming { legacy: false, .. } => "E040",
            AddressNotConforming { legacy: true, .. } => "W040",
            AddressWithDomain { .. } => "E041",
            AddressTaken { .. } => "E042",
            DuplicateAgencyCode { .. } => "E043",
            DuplicatePersonId { .. } => "E044",
            DuplicateUnitCode { .. } => "E045",
            UnknownUnit { .. } => "E046",
            LockMissing => "E047",
            LockIgnored => "W048",
            LockInFuture { .. } | BadDate { .. } => "E049",
            QuotaUnreadable { .. } => "E050",
            QuotaOverMax { .. } => "E051",
            GivenNotInName { .. } => "E052",
            CommuneAbbr { .. } => "E053",
            FormerAbbrIsCurrent { .. } => "W054",
            UnknownReviewerAgency { .. } => "E055",
        }
    }

    /// Findings of the schema check (E02x and the address-with-domain hint).
    pub fn is_schema(&self) -> bool {
        self.code().starts_with("E02") || self.code() == "E041"
    }

    pub fn is_warning(&self) -> bool {
        self.code().starts_with('W')
    }

    pub fn text(&self, lang: Language) -> String {
        use Language::*;
        use Msg::*;
        match (self, lang) {
            (ReadFailed(e), Vi) => format!("không đọc được tệp: {e}"),
            (ReadFailed(e), En) => format!("cannot read the file: {e}"),
            (NotUtf8, Vi) => "tệp không phải văn bản UTF-8".into(),
            (NotUtf8, En) => "the file is not UTF-8 text".into(),
            (TooLarge { size, limit }, Vi) => {
                format!("tệp quá lớn: {size} byte, tối đa {limit} byte")
            }
            (TooLarge { size, limit }, En) => {
                format!("the file is too large: {size} bytes, at most {limit}")
            }
            (OutsideLayout { what }, Vi) => format!(
                "{} không thuộc cấu trúc kho: trong `agencies/` chỉ có tệp `.yaml`",
                match *what {
                    "symlink" => "liên kết tượng trưng (symlink)",
                    "submodule" => "submodule",
                    "yml" => "tệp `.yml`",
                    "special" => "tệp đặc biệt (FIFO, socket hoặc thiết bị)",
                    _ => "tệp này",
                }
            ),
            (OutsideLayout { what }, En) => format!(
                "{} is outside the layout: `agencies/` holds only `.yaml` files",
                match *what {
                    "symlink" => "a symbolic link",
                    "submodule" => "a submodule",
                    "yml" => "a `.yml` file",
                    "special" => "a special file (a FIFO, a socket or a device)",
                    _ => "this file",
                }
            ),
            (SettingsMissing, Vi) => "thiếu tệp cấu hình `hopthu.yaml` ở thư mục gốc".into(),
            (SettingsMissing, En) => "`hopthu.yaml` is missing at the repository root".into(),
            (TooManyErrors { omitted, shown }, Vi) => {
                format!("… và {omitted} lỗi khác trong tệp này (chỉ hiện {shown} lỗi đầu tiên)")
            }
            (TooManyErrors { omitted, shown }, En) => {
                format!(
                    "… and {omitted} more errors in this file (only the first {shown} are shown)"
                )
            }
            (NoAgencies, Vi) => "không có cơ quan nào trong `agencies/`".into(),
            (NoAgencies, En) => "there is no agency under `agencies/`".into(),
            (Syntax(e), Vi) => format!("lỗi cú pháp YAML: {e}"),
            (Syntax(e), En) => format!("YAML syntax error: {e}"),
            (DuplicateKey { key, first_line }, Vi) => {
                format!("khóa `{key}` bị lặp (đã có ở dòng {first_line})")
            }
            (DuplicateKey { key, first_line }, En) => {
                format!("duplicate key `{key}` (first on line {first_line})")
            }
            (Anchor, Vi) => "không dùng neo YAML (`&`) trong định dạng này".into(),
            (Anchor, En) => "YAML anchors (`&`) are not used in this format".into(),
            (Alias, Vi) => "không dùng bí danh YAML (`*`) trong định dạng này".into(),
            (Alias, En) => "YAML aliases (`*`) are not used in this format".into(),
            (Tag(t), Vi) => format!("không dùng thẻ YAML `{t}` trong định dạng này"),
            (Tag(t), En) => format!("the YAML tag `{t}` is not used in this format"),
            (TabIndent, Vi) => "thụt lề bằng ký tự tab".into(),
            (TabIndent, En) => "tab used for indentation".into(),
            (MultipleDocuments, Vi) => "mỗi tệp chỉ chứa một tài liệu (một cơ quan)".into(),
            (MultipleDocuments, En) => "a file holds one document (one agency)".into(),
            (ComplexKey, Vi) => "khóa phải là một chuỗi đơn giản".into(),
            (ComplexKey, En) => "a key must be a plain string".into(),
            (TooDeep, Vi) => format!("lồng nhau quá sâu (quá {} cấp)", crate::yaml::MAX_DEPTH),
            (TooDeep, En) => format!("nested too deeply (over {} levels)", crate::yaml::MAX_DEPTH),
            (EmptyDocument, Vi) => "tệp rỗng: không có nội dung".into(),
            (EmptyDocument, En) => "the file is empty".into(),
            (
                UnknownKey {
                    key, suggestion, ..
                },
                Vi,
            ) => match suggestion {
                Some(s) => format!("khóa không hợp lệ `{key}`; có phải ý bạn là `{s}`?"),
                None => format!("khóa không hợp lệ `{key}`"),
            },
            (
                UnknownKey {
                    key, suggestion, ..
                },
                En,
            ) => match suggestion {
                Some(s) => format!("unknown key `{key}`; did you mean `{s}`?"),
                None => format!("unknown key `{key}`"),
            },
            (MissingKey { key }, Vi) => format!("thiếu khóa bắt buộc `{key}`"),
            (MissingKey { key }, En) => format!("missing required key `{key}`"),
            (
                WrongType {
                    expected, found, ..
                },
                Vi,
            ) => format!("cần {}, nhưng đây là {}", type_vi(expected), type_vi(found)),
            (
                WrongType {
                    expected, found, ..
                },
                En,
            ) => {
                format!("expected {}, found {}", type_en(expected), type_en(found))
            }
            (NotAllowed { value, allowed }, Vi) => {
                format!(
                    "giá trị `{value}` không hợp lệ; chọn một trong: {}",
                    quote_list(allowed)
                )
            }
            (NotAllowed { value, allowed }, En) => {
                format!(
                    "`{value}` is not allowed; use one of {}",
                    quote_list(allowed)
                )
            }
            (BadFormat { field, value, .. }, Vi) => {
                format!("`{field}` không đúng dạng: `{value}`")
            }
            (BadFormat { field, value, .. }, En) => {
                format!("`{field}` has the wrong form: `{value}`")
            }
            (
                OutOfRange {
                    field,
                    value,
                    min,
                    max,
                },
                Vi,
            ) => match (min, max) {
                (Some(min), Some(max)) => {
                    format!("`{field}` phải từ {min} đến {max}, không phải {value}")
                }
                (Some(min), None) => format!("`{field}` phải từ {min} trở lên, không phải {value}"),
                (None, Some(max)) => format!("`{field}` tối đa là {max}, không phải {value}"),
                (None, None) => format!("`{field}` nằm ngoài khoảng cho phép: {value}"),
            },
            (
                OutOfRange {
                    field,
                    value,
                    min,
                    max,
                },
                En,
            ) => match (min, max) {
                (Some(min), Some(max)) => {
                    format!("`{field}` must be from {min} to {max}, not {value}")
                }
                (Some(min), None) => format!("`{field}` must be at least {min}, not {value}"),
                (None, Some(max)) => format!("`{field}` must be at most {max}, not {value}"),
                (None, None) => format!("`{field}` is out of range: {value}"),
            },
            (
                BadLength {
                    field,
                    length,
                    min,
                    max,
                },
                Vi,
            ) => match (min, max) {
                (_, Some(max)) if (*length as u64) > *max => {
                    format!("`{field}` dài {length} ký tự, tối đa {max} ký tự")
                }
                (Some(min), _) => {
                    format!("`{field}` dài {length} ký tự, cần ít nhất {min} ký tự")
                }
                _ => format!("`{field}` có độ dài không hợp lệ: {length} ký tự"),
            },
            (
                BadLength {
                    field,
                    length,
                    min,
                    max,
                },
                En,
            ) => match (min, max) {
                (_, Some(max)) if (*length as u64) > *max => {
                    format!("`{field}` is {length} characters long, at most {max}")
                }
                (Some(min), _) => {
                    format!("`{field}` is {length} characters long, at least {min}")
                }
                _ => format!("`{field}` has a length that is not allowed: {length} characters"),
            },
            (SchemaOther { keyword, .. }, Vi) => {
                format!("giá trị không đáp ứng quy tắc `{keyword}` của lược đồ")
            }
            (SchemaOther { detail, .. }, En) => format!("invalid: {detail}"),
            (Undecodable(_), Vi) => {
                "tệp không đọc được theo định dạng hopthu/v1 dù khớp lược đồ".into()
            }
            (Undecodable(e), En) => {
                format!(
                    "the file cannot be read as format hopthu/v1 although it fits the schema: {e}"
                )
            }
            (NameChar { err }, Vi) => match err.ch {
                Some(c) => format!(
                    "tên chứa ký tự {} ở vị trí {}: {}",
                    char_desc(c),
                    err.position,
                    kind_vi(err.kind)
                ),
                None => "tên rỗng".into(),
            },
            (NameChar { err }, En) => match err.ch {
                Some(c) => format!(
                    "the name holds {} at position {}: {}",
                    char_desc(c),
                    err.position,
                    kind_en(err.kind)
                ),
                None => "the name is empty".into(),
            },
            (NameInvisible { ch, position }, Vi) => {
                format!("tên chứa ký tự ẩn {} ở vị trí {}", char_desc(*ch), position)
            }
            (NameInvisible { ch, position }, En) => format!(
                "the name holds the invisible character {} at position {}",
                char_desc(*ch),
                position
            ),
            (NameNotNfc, Vi) => "tên được viết ở dạng dấu tách rời (NFD)".into(),
            (NameNotNfc, En) => "the name is written in decomposed form (NFD)".into(),
            (NameUnusable(e), Vi) => format!("không tạo được địa chỉ từ tên: {e}"),
            (NameUnusable(e), En) => format!("no address can be derived from the name: {e}"),
            (
                AddressNotConforming {
                    address,
                    expected,
                    legacy,
                    ..
                },
                Vi,
            ) => {
                if *legacy {
                    format!(
                        "địa chỉ cũ `{address}` không theo quy tắc (quy tắc cho `{expected}`); được giữ vì `legacy: true`"
                    )
                } else {
                    format!(
                        "địa chỉ `{address}` không theo quy tắc đặt tên; theo quy tắc là `{expected}`"
                    )
                }
            }
            (
                AddressNotConforming {
                    address,
                    expected,
                    legacy,
                    ..
                },
                En,
            ) => {
                if *legacy {
                    format!(
                        "legacy address `{address}` does not follow the rules (they give `{expected}`); kept because of `legacy: true`"
                    )
                } else {
                    format!(
                        "the address `{address}` does not follow the naming rules; they give `{expected}`"
                    )
                }
            }
            (AddressWithDomain { local, .. }, Vi) => {
                format!("chỉ ghi phần trước `@`: `{local}`")
            }
            (AddressWithDomain { local, .. }, En) => {
                format!("write only the part before `@`: `{local}`")
            }
            (
                AddressTaken {
                    address,
                    other_file,
                    other_line,
                    ..
                },
                Vi,
            ) => format!("địa chỉ `{address}` đã được dùng ở {other_file}:{other_line}"),
            (
                AddressTaken {
                    address,
                    other_file,
                    other_line,
                    ..
                },
                En,
            ) => format!("the address `{address}` is already used at {other_file}:{other_line}"),
            (DuplicateAgencyCode { code, other_file }, Vi) => {
                format!("mã cơ quan `{code}` đã dùng trong {other_file}")
            }
            (DuplicateAgencyCode { code, other_file }, En) => {
                format!("agency code `{code}` is already used in {other_file}")
            }
            (
                DuplicatePersonId {
                    id,
                    other_file,
                    other_line,
                },
                Vi,
            ) => {
                format!("mã người `{id}` đã dùng ở {other_file}:{other_line}")
            }
            (
                DuplicatePersonId {
                    id,
                    other_file,
                    other_line,
                },
                En,
            ) => {
                format!("person id `{id}` is already used at {other_file}:{other_line}")
            }
            (DuplicateUnitCode { code, first_line }, Vi) => {
                format!("mã đơn vị `{code}` bị lặp (đã có ở dòng {first_line})")
            }
            (DuplicateUnitCode { code, first_line }, En) => {
                format!("unit code `{code}` is used twice (first on line {first_line})")
            }
            (UnknownUnit { unit, .. }, Vi) => {
                format!("đơn vị `{unit}` không có trong `units` của cơ quan này")
            }
            (UnknownUnit { unit, .. }, En) => {
                format!("unit `{unit}` is not among this agency's `units`")
            }
            (LockMissing, Vi) => "hộp thư bị khóa phải có `lock` (lý do và ngày)".into(),
            (LockMissing, En) => "a locked mailbox needs `lock` (a reason and a date)".into(),
            (LockIgnored, Vi) => "`lock` bị bỏ qua vì `status` là `active`".into(),
            (LockIgnored, En) => "`lock` is ignored while `status` is `active`".into(),
            (LockInFuture { since, today }, Vi) => {
                format!("ngày khóa {since} ở tương lai (hôm nay là {today})")
            }
            (LockInFuture { since, today }, En) => {
                format!("the lock date {since} is in the future (today is {today})")
            }
            (BadDate { value }, Vi) => format!("ngày không có thật: `{value}`"),
            (BadDate { value }, En) => format!("no such date: `{value}`"),
            (QuotaUnreadable { value }, Vi) => format!("không đọc được dung lượng `{value}`"),
            (QuotaUnreadable { value }, En) => format!("cannot read the quota `{value}`"),
            (QuotaOverMax { value, max }, Vi) => {
                format!("dung lượng {value} vượt mức tối đa {max} (`policy.maxQuota`)")
            }
            (QuotaOverMax { value, max }, En) => {
                format!("quota {value} exceeds the maximum {max} (`policy.maxQuota`)")
            }
            (GivenNotInName { given, name }, Vi) => {
                format!("tên gọi `{given}` không có trong họ tên `{name}`")
            }
            (GivenNotInName { given, name }, En) => {
                format!("the given name `{given}` is not part of the name `{name}`")
            }
            (CommuneAbbr { abbr, expected }, Vi) => format!(
                "tên viết tắt của xã/phường phải là tên không dấu, viết liền: `{expected}`, không phải `{abbr}`"
            ),
            (CommuneAbbr { abbr, expected }, En) => format!(
                "a commune's or ward's abbreviation is its name without diacritics or spaces: `{expected}`, not `{abbr}`"
            ),
            (FormerAbbrIsCurrent { abbr }, Vi) => {
                format!("`{abbr}` là tên viết tắt hiện tại, không phải tên cũ")
            }
            (FormerAbbrIsCurrent { abbr }, En) => {
                format!("`{abbr}` is the current abbreviation, not a former one")
            }
            (UnknownReviewerAgency { key, .. }, Vi) => {
                format!("`reviewers.agencies` nêu cơ quan `{key}`, không có trong kho")
            }
            (UnknownReviewerAgency { key, .. }, En) => {
                format!("`reviewers.agencies` names `{key}`, which is no agency of the repository")
            }
        }
    }

    pub fn hint(&self, lang: Language) -> Option<String> {
        use Language::*;
        use Msg::*;
        Some(match (self, lang) {
            (TooManyErrors { .. }, Vi) => "sửa các lỗi trên rồi kiểm tra lại".into(),
            (TooManyErrors { .. }, En) => "fix the errors above and validate again".into(),
            (TabIndent, Vi) => "thay tab bằng dấu cách (2 dấu cách mỗi cấp)".into(),
            (TabIndent, En) => "indent with spaces (2 per level)".into(),
            (Anchor | Alias, Vi) => "viết đầy đủ giá trị thay vì tham chiếu".into(),
            (Anchor | Alias, En) => "write the value out in full instead of referring to it".into(),
            (DuplicateKey { key, .. }, Vi) => format!("xóa một trong hai dòng `{key}:`"),
            (DuplicateKey { key, .. }, En) => format!("remove one of the `{key}:` lines"),
            (UnknownKey { allowed, .. }, Vi) if !allowed.is_empty() => {
                format!("các khóa hợp lệ ở đây: {}", quote_list(allowed))
            }
            (UnknownKey { allowed, .. }, En) if !allowed.is_empty() => {
                format!("keys allowed here: {}", quote_list(allowed))
            }
            (WrongType { expected, found: "null", .. }, Vi) if expected == "array" => {
                "danh sách rỗng viết là `[]`, ví dụ `people: []`".into()
            }
            (WrongType { expected, found: "null", .. }, En) if expected == "array" => {
                "write an empty list as `[]`, e.g. `people: []`".into()
            }
            (WrongType { number_like: true, .. }, Vi) => {
                "đặt giá trị trong dấu ngoặc kép, ví dụ \"03646\", để giữ số 0 ở đầu".into()
            }
            (WrongType { number_like: true, .. }, En) => {
                "put the value in quotes, for example \"03646\", to keep leading zeros".into()
            }
            (BadFormat { expect, .. }, _) => return format_hint(*expect, lang),
            (NameChar { err }, Vi) if err.kind == NameErrorKind::LookAlike => {
                "ký tự này trông giống chữ Latinh nhưng thuộc bảng chữ khác; hãy gõ lại bằng bàn phím tiếng Việt".into()
            }
            (NameChar { err }, En) if err.kind == NameErrorKind::LookAlike => {
                "this letter looks Latin but belongs to another script; type it again with a Vietnamese keyboard".into()
            }
            (NameChar { err }, Vi) if err.ch.is_some_and(|c| c.is_ascii_digit()) => {
                "tên người chỉ gồm chữ cái, dấu cách, `'` và `-`: không có chữ số".into()
            }
            (NameChar { err }, En) if err.ch.is_some_and(|c| c.is_ascii_digit()) => {
                "a person's name holds letters, spaces, `'` and `-` only: no digits".into()
            }
            (NameInvisible { .. }, Vi) => "xóa ký tự ẩn này (thường do sao chép từ web hoặc Word)".into(),
            (NameInvisible { .. }, En) => {
                "delete this invisible character (usually pasted from a web page or Word)".into()
            }
            (NameNotNfc, Vi) => "gõ lại tên ở dạng dựng sẵn (NFC), ví dụ bằng Unikey với bảng mã Unicode dựng sẵn".into(),
            (NameNotNfc, En) => "retype the name in composed form (NFC)".into(),
            (AddressNotConforming { expected, legacy: false, person: true, .. }, Vi) => format!(
                "xóa dòng `address` để dùng `{expected}`; nếu địa chỉ đó đã có người dùng, hãy chọn địa chỉ bắt đầu bằng tên gọi và kết thúc bằng tên cơ quan; địa chỉ cũ có từ trước thì thêm `legacy: true`"
            ),
            (AddressNotConforming { expected, legacy: false, person: true, .. }, En) => format!(
                "remove `address` to use `{expected}`; if that one is taken, pick one that starts with the given name and ends with the agency; an address that predates the rules takes `legacy: true`"
            ),
            (AddressNotConforming { expected, legacy: false, person: false, .. }, Vi) => format!(
                "xóa dòng `address` để dùng `{expected}`; địa chỉ cũ có từ trước thì thêm `legacy: true`"
            ),
            (AddressNotConforming { expected, legacy: false, person: false, .. }, En) => format!(
                "remove `address` to use `{expected}`; an address that predates the rules takes `legacy: true`"
            ),
            (AddressTaken { free: Some(f), .. }, Vi) => format!("dùng địa chỉ còn trống, ví dụ `address: {f}`"),
            (AddressTaken { free: Some(f), .. }, En) => format!("use a free address, for example `address: {f}`"),
            (UnknownUnit { known, .. }, Vi) if !known.is_empty() => {
                format!("các đơn vị đã khai báo: {}", quote_list(known))
            }
            (UnknownUnit { known, .. }, En) if !known.is_empty() => {
                format!("declared units: {}", quote_list(known))
            }
            (LockMissing, Vi) => "thêm `lock: {reason: inactive, since: YYYY-MM-DD}`".into(),
            (LockMissing, En) => "add `lock: {reason: inactive, since: YYYY-MM-DD}`".into(),
            (QuotaUnreadable { .. }, Vi) => "viết như `2GiB`, `500MiB`, `10GB`".into(),
            (QuotaUnreadable { .. }, En) => "write it like `2GiB`, `500MiB`, `10GB`".into(),
            (GivenNotInName { .. }, Vi) => "`given` phải là (các) chữ có trong `name`, ví dụ `H'Hen` cho `H'Hen Niê`".into(),
            (GivenNotInName { .. }, En) => "`given` must be word(s) of `name`, e.g. `H'Hen` for `H'Hen Niê`".into(),
            (AddressWithDomain { local, key: "aliases" }, _) => format!("- {local}"),
            (AddressWithDomain { local, .. }, _) => format!("address: {local}"),
            (SettingsMissing, Vi) => "tạo `hopthu.yaml` với `apiVersion: hopthu/v1` và `domain`".into(),
            (SettingsMissing, En) => "create `hopthu.yaml` with `apiVersion: hopthu/v1` and `domain`".into(),
            (OutsideLayout { what: "yml" | "file" }, Vi) => "đổi tên thành `.yaml` hoặc chuyển tệp ra khỏi `agencies/`".into(),
            (OutsideLayout { what: "yml" | "file" }, En) => "rename it to `.yaml` or move it out of `agencies/`".into(),
            (OutsideLayout { what: "symlink" }, Vi) => "thay liên kết bằng chính tệp đó (kho chỉ nhận tệp thường)".into(),
            (OutsideLayout { what: "symlink" }, En) => "replace the link with the file itself (the repository takes regular files only)".into(),
            (UnknownReviewerAgency { now: Some(now), .. }, Vi) => {
                format!("đây là tên viết tắt cũ; cơ quan nay là `{now}`")
            }
            (UnknownReviewerAgency { now: Some(now), .. }, En) => {
                format!("this is a former abbreviation; the agency is now `{now}`")
            }
            (UnknownReviewerAgency { suggestion: Some(s), .. }, Vi) => {
                format!("có phải ý bạn là `{s}`?")
            }
            (UnknownReviewerAgency { suggestion: Some(s), .. }, En) => {
                format!("did you mean `{s}`?")
            }
            (UnknownReviewerAgency { .. }, Vi) => {
                "dùng tên viết tắt (`skhcn`) hoặc mã (`\"03646\"`) của một cơ quan trong `agencies/`".into()
            }
            (UnknownReviewerAgency { .. }, En) => {
                "use the abbreviation (`skhcn`) or the code (`\"03646\"`) of an agency under `agencies/`".into()
            }
            (OutsideLayout { .. }, Vi) => "xóa nó khỏi `agencies/`".into(),
            (OutsideLayout { .. }, En) => "remove it from `agencies/`".into(),
            _ => return None,
        })
    }
}

fn format_hint(kind: FieldKind, lang: Language) -> Option<String> {
    use FieldKind::*;
    use Language::*;
    Some(match (kind, lang) {
        (Abbr, Vi) => "chỉ chữ thường không dấu và chữ số, không dấu cách, ví dụ `skhcn`".into(),
        (Abbr, En) => "lower-case letters without diacritics and digits only, e.g. `skhcn`".into(),
        (Key, Vi) => "chữ cái, chữ số, `.`, `_`, `-`; tối đa 64 ký tự".into(),
        (Key, En) => "letters, digits, `.`, `_`, `-`; at most 64 characters".into(),
        (Local, Vi) => {
            "phần trước `@`: chữ không dấu, chữ số, `.`, `_`, `-`, ví dụ `annv.skhcn`".into()
        }
        (Local, En) => {
            "the part before `@`: ASCII letters, digits, `.`, `_`, `-`, e.g. `annv.skhcn`".into()
        }
        (Quota, Vi) => "viết như `2GiB`, `500MiB`, `10GB`".into(),
        (Quota, En) => "write it like `2GiB`, `500MiB`, `10GB`".into(),
        (Domain, Vi) => "tên miền viết thường, ví dụ `sonla.gov.vn`".into(),
        (Domain, En) => "a lower-case domain such as `sonla.gov.vn`".into(),
        (Date, Vi) => "ngày dạng YYYY-MM-DD, ví dụ `2026-10-01`".into(),
        (Date, En) => "a date as YYYY-MM-DD, e.g. `2026-10-01`".into(),
        (Name, Vi) => "chỉ chữ tiếng Việt, dấu cách, `'` và `-`".into(),
        (Name, En) => "Vietnamese letters, spaces, `'` and `-` only".into(),
        (Reviewer, Vi) => {
            "viết `@tên-người-dùng`, `@tổ-chức/nhóm` hoặc một địa chỉ e-mail, ví dụ `@sonla/ttcntt`"
                .into()
        }
        (Reviewer, En) => {
            "write `@user`, `@org/team` or an e-mail address, e.g. `@sonla/ttcntt`".into()
        }
        (Other, _) => return None,
    })
}

fn type_vi(t: &str) -> &'static str {
    match t {
        "string" => "một chuỗi",
        "integer" => "một số nguyên",
        "number" => "một số",
        "boolean" => "true hoặc false",
        "array" => "một danh sách",
        "object" => "một nhóm khóa",
        "null" => "giá trị rỗng",
        _ => "một giá trị khác",
    }
}

fn type_en(t: &str) -> &'static str {
    match t {
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "true or false",
        "array" => "a list",
        "object" => "a mapping",
        "null" => "nothing",
        _ => "another value",
    }
}

fn kind_vi(k: NameErrorKind) -> &'static str {
    match k {
        NameErrorKind::Empty => "tên rỗng",
        NameErrorKind::LookAlike => "chữ giống chữ Latinh nhưng thuộc bảng chữ khác",
        NameErrorKind::ForeignLetter => "chữ không có trong tiếng Việt",
        NameErrorKind::Control => "ký tự điều khiển",
        NameErrorKind::StrayMark => "dấu rời không ghép được vào chữ nào",
        NameErrorKind::Symbol => "ký hiệu không dùng trong tên",
    }
}

fn kind_en(k: NameErrorKind) -> &'static str {
    match k {
        NameErrorKind::Empty => "empty name",
        NameErrorKind::LookAlike => "a look-alike letter from another script",
        NameErrorKind::ForeignLetter => "a letter that is not Vietnamese",
        NameErrorKind::Control => "a control character",
        NameErrorKind::StrayMark => "a mark that combines with no letter",
        NameErrorKind::Symbol => "a symbol not used in names",
    }
}
