//! The naming rules of the regulation: `fold`, `slug`, and the address of
//! every kind of mailbox. Pure functions, no I/O.

use std::fmt;

/// Why a name cannot be folded. `position` is the 1-based index, counted in
/// Unicode scalar values (chars), of the offending character in the input
/// exactly as given (before any normalization), so a diagnostic can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError {
    pub kind: NameErrorKind,
    /// The offending character (`None` for an empty name).
    pub ch: Option<char>,
    /// 1-based char position in the original input (0 for an empty name).
    pub position: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameErrorKind {
    /// Nothing left after trimming and dropping invisible characters.
    Empty,
    /// A letter from another script that looks like a Latin/Vietnamese one
    /// (Cyrillic, Greek, fullwidth, mathematical alphanumerics, ð, Đ look-alikes...).
    LookAlike,
    /// Any other letter that is neither ASCII nor Vietnamese (ç, ë...).
    ForeignLetter,
    /// A control or format character that is not silently dropped (bidi overrides...).
    Control,
    /// A combining mark that does not compose into a Vietnamese letter.
    StrayMark,
    /// Punctuation, digits of other scripts, symbols (`.`, `@`, `²`, `´`...).
    Symbol,
}

/// A finding about a name that `fold` accepts but a person should fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameNotice {
    /// The text is not in NFC (decomposed marks): accepted, suggest NFC.
    NotNfc,
    /// A zero-width or invisible character (ZWSP, ZWNJ, ZWJ, WJ, BOM, soft hyphen)
    /// that fold would drop: an error in a name, with its char and 1-based position.
    Invisible { ch: char, position: usize },
    /// A C0/C1 control character (tab, newline...) inside a name.
    Control { ch: char, position: usize },
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ch {
            Some(c) => write!(f, "{:?} (U+{:04X}) at position {}: {:?}", c, c as u32, self.position, self.kind),
            None => write!(f, "empty name"),
        }
    }
}

/// fold(s): NFC, Vietnamese letters to base Latin, đ -> d, lower case,
/// whitespace runs to one space, trimmed; see tests/cases/fold.tsv.
pub fn fold(s: &str) -> Result<String, NameError> {
    let _ = s;
    todo!()
}

/// slug(s): fold(s) keeping only `[a-z0-9]`; an empty result is an error.
pub fn slug(s: &str) -> Result<String, NameError> {
    let _ = s;
    todo!()
}

/// Notices about a name that fold accepts (NFD, invisible and control characters).
pub fn notices(s: &str) -> Vec<NameNotice> {
    let _ = s;
    todo!()
}
