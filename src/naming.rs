//! The naming rules of the regulation: `fold`, `slug`, and the address of
//! every kind of mailbox. Pure functions, no I/O.
//!
//! `fold` follows the policy written in the header of `tests/cases/fold.tsv`:
//!
//! 1. Unicode NFC;
//! 2. drop the invisible characters ZWSP, ZWNJ, ZWJ, WJ, BOM and soft hyphen;
//! 3. U+2018, U+2019 and U+02BC become `'`; U+2010..=U+2015 and U+2212 become `-`;
//! 4. every run of Unicode whitespace becomes one space, and the ends are trimmed;
//! 5. every remaining character must be ASCII `[A-Za-z0-9 '-]` or one of the
//!    146 precomposed Vietnamese letters (the 72 vowels of `a ă â e ê i o ô ơ
//!    u ư y` with each of the six tones, and `đ`, in both cases); anything
//!    else rejects the whole name (look-alike letters are never folded);
//! 6. marks are stripped, `đ` becomes `d`, and the result is lower case.
//!
//! NFC is applied cluster by cluster (a character and the combining marks that
//! follow it), so that a rejected character can be traced back to the character
//! a person typed and its position in the text as written.

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::is_nfc;

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

impl NameErrorKind {
    /// A short description of the kind, for people who file requests.
    pub fn describe(self) -> &'static str {
        match self {
            NameErrorKind::Empty => "the name is empty",
            NameErrorKind::LookAlike => {
                "a letter from another script that only looks like a Vietnamese or Latin one"
            }
            NameErrorKind::ForeignLetter => "a letter that is not used in Vietnamese",
            NameErrorKind::Control => "an invisible control or format character",
            NameErrorKind::StrayMark => {
                "an accent mark that does not belong to any Vietnamese letter"
            }
            NameErrorKind::Symbol => "a symbol or punctuation that is not allowed in a name",
        }
    }
}

impl fmt::Display for NameErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ch {
            Some(c) => write!(
                f,
                "{:?} (U+{:04X}) at position {}: {}",
                c, c as u32, self.position, self.kind
            ),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl std::error::Error for NameError {}

impl NameError {
    fn empty() -> Self {
        NameError {
            kind: NameErrorKind::Empty,
            ch: None,
            position: 0,
        }
    }
}

/// The precomposed Vietnamese letters beyond ASCII, grouped by the ASCII
/// letter they fold to (66 vowels and `đ`, lower and upper case: 134 chars).
const VIETNAMESE_LETTERS: [(char, &str); 7] = [
    ('a', "àáảãạăằắẳẵặâầấẩẫậÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬ"),
    ('e', "èéẻẽẹêềếểễệÈÉẺẼẸÊỀẾỂỄỆ"),
    ('i', "ìíỉĩịÌÍỈĨỊ"),
    ('o', "òóỏõọôồốổỗộơờớởỡợÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢ"),
    ('u', "ùúủũụưừứửữựÙÚỦŨỤƯỪỨỬỮỰ"),
    ('y', "ỳýỷỹỵỲÝỶỸỴ"),
    ('d', "đĐ"),
];

/// The ASCII letter a precomposed non-ASCII Vietnamese letter folds to.
fn vietnamese_base(c: char) -> Option<char> {
    VIETNAMESE_LETTERS
        .iter()
        .find(|(_, letters)| letters.contains(c))
        .map(|(base, _)| *base)
}

/// Every non-ASCII Vietnamese letter `fold` accepts (134 chars).
pub fn vietnamese_letters() -> impl Iterator<Item = char> {
    VIETNAMESE_LETTERS
        .iter()
        .flat_map(|(_, letters)| letters.chars())
}

/// Zero-width and invisible characters that `fold` drops.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
    )
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{02BC}')
}

fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}')
}

/// Format (Cf) characters and invisible fillers, other than the dropped ones.
fn is_format_or_filler(c: char) -> bool {
    matches!(
        c,
        '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{115F}'..='\u{1160}'
            | '\u{180E}'
            | '\u{200E}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2061}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// Letters (and digits) that imitate Latin or Vietnamese ones: other scripts
/// with Latin-shaped letters, fullwidth and mathematical forms, and Latin
/// letters that pass for Vietnamese ones at a glance (ð/Ð/Ɖ/Ɗ for Đ, ǎ for ă,
/// ě for ê, ı for i, ɑ for a...).
fn is_look_alike(c: char) -> bool {
    matches!(
        c,
        // Latin letters that imitate Vietnamese ones
        '\u{00D0}' | '\u{00F0}' // Ð ð
            | '\u{0189}' | '\u{018A}' // Ɖ Ɗ
            | '\u{011A}' | '\u{011B}' // Ě ě
            | '\u{0131}' | '\u{0237}' | '\u{017F}' // ı ȷ ſ
            | '\u{01CD}'..='\u{01D4}' // Ǎ ǎ Ǐ ǐ Ǒ ǒ Ǔ ǔ
            | '\u{0200}'..='\u{0217}' // double grave, inverted breve
            // IPA, superscript letters, phonetic extensions, small capitals
            | '\u{0250}'..='\u{02B8}'
            | '\u{1D00}'..='\u{1DBF}'
            // Greek, Coptic, Cyrillic, Armenian, Cherokee, Lisu
            | '\u{0370}'..='\u{03FF}'
            | '\u{1F00}'..='\u{1FFF}'
            | '\u{2C80}'..='\u{2CFF}'
            | '\u{0400}'..='\u{052F}'
            | '\u{1C80}'..='\u{1C8F}'
            | '\u{A640}'..='\u{A69F}'
            | '\u{0530}'..='\u{058F}'
            | '\u{13A0}'..='\u{13FF}'
            | '\u{AB70}'..='\u{ABBF}'
            | '\u{A4D0}'..='\u{A4FF}'
            // letterlike symbols, Roman numerals, circled letters
            | '\u{2100}'..='\u{214F}'
            | '\u{2160}'..='\u{2188}'
            | '\u{24B6}'..='\u{24E9}'
            // fullwidth digits and letters
            | '\u{FF10}'..='\u{FF19}'
            | '\u{FF21}'..='\u{FF3A}'
            | '\u{FF41}'..='\u{FF5A}'
            // mathematical alphanumerics, squared/circled letters
            | '\u{1D400}'..='\u{1D7FF}'
            | '\u{1F130}'..='\u{1F189}'
    ) && !c.is_ascii()
}

/// The kind of error for a character (after NFC) that `fold` does not accept.
fn kind_of(c: char) -> NameErrorKind {
    if is_combining_mark(c) {
        NameErrorKind::StrayMark
    } else if c.is_control() || is_format_or_filler(c) {
        NameErrorKind::Control
    } else if is_look_alike(c) {
        NameErrorKind::LookAlike
    } else if c.is_alphabetic() && !('\u{02B9}'..='\u{02FF}').contains(&c) {
        NameErrorKind::ForeignLetter
    } else {
        NameErrorKind::Symbol
    }
}

/// What one character of NFC text becomes in the folded name.
enum Piece {
    Char(char),
    Space,
    Drop,
}

fn fold_char(c: char) -> Result<Piece, NameErrorKind> {
    if is_invisible(c) {
        Ok(Piece::Drop)
    } else if is_apostrophe(c) {
        Ok(Piece::Char('\''))
    } else if is_dash(c) {
        Ok(Piece::Char('-'))
    } else if c.is_whitespace() {
        Ok(Piece::Space)
    } else if c.is_ascii_alphanumeric() {
        Ok(Piece::Char(c.to_ascii_lowercase()))
    } else if let Some(base) = vietnamese_base(c) {
        Ok(Piece::Char(base))
    } else {
        Err(kind_of(c))
    }
}

/// Splits text into clusters: a character that is not a combining mark and
/// the combining marks after it (text may start with marks and no base).
/// Yields the 1-based char position of the cluster's first char and its text.
fn clusters(s: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut chars = s.char_indices().peekable();
    let mut position = 0;
    std::iter::from_fn(move || {
        let (start, first) = chars.next()?;
        position += 1;
        let at = position;
        let mut end = start + first.len_utf8();
        while let Some(&(b, c)) = chars.peek() {
            if !is_combining_mark(c) {
                break;
            }
            end = b + c.len_utf8();
            position += 1;
            chars.next();
        }
        Some((at, &s[start..end]))
    })
}

/// Folds one cluster, or finds the character a person should fix: the first
/// character of the cluster (as written) at which the NFC of the cluster so
/// far holds a character fold does not accept.
fn fold_cluster(start: usize, text: &str, out: &mut Vec<Piece>) -> Result<(), NameError> {
    // One character that no normalization changes (every ASCII character,
    // and precomposed Vietnamese letters): fold it as it is.
    let mut it = text.chars();
    if let (Some(c), None) = (it.next(), it.next())
        && (c.is_ascii()
            || unicode_normalization::is_nfc_quick(std::iter::once(c))
                == unicode_normalization::IsNormalized::Yes)
    {
        return match fold_char(c) {
            Ok(p) => {
                out.push(p);
                Ok(())
            }
            Err(_) => Err(locate(start, text)),
        };
    }
    let before = out.len();
    for c in text.nfc() {
        match fold_char(c) {
            Ok(p) => out.push(p),
            Err(_) => {
                out.truncate(before);
                return Err(locate(start, text));
            }
        }
    }
    Ok(())
}

fn locate(start: usize, text: &str) -> NameError {
    let mut last = None;
    for (i, (b, ch)) in text.char_indices().enumerate() {
        let prefix = &text[..b + ch.len_utf8()];
        if let Some(kind) = prefix.nfc().find_map(|c| fold_char(c).err()) {
            return NameError {
                kind,
                ch: Some(ch),
                position: start + i,
            };
        }
        last = Some((i, ch));
    }
    // Unreachable when the whole cluster was rejected; point at its end.
    let (i, ch) = last.unwrap_or((0, '\u{FFFD}'));
    NameError {
        kind: text
            .nfc()
            .find_map(|c| fold_char(c).err())
            .unwrap_or(NameErrorKind::Symbol),
        ch: Some(ch),
        position: start + i,
    }
}

/// fold(s): NFC, Vietnamese letters to base Latin, đ -> d, lower case,
/// whitespace runs to one space, trimmed; see tests/cases/fold.tsv.
///
/// The result holds only `[a-z0-9 '-]`, with single spaces and no space at
/// either end. A rejected name reports its first offending character as
/// written, with its 1-based char position in `s`.
pub fn fold(s: &str) -> Result<String, NameError> {
    let mut pieces = Vec::with_capacity(s.len());
    for (start, text) in clusters(s) {
        fold_cluster(start, text, &mut pieces)?;
    }
    let mut out = String::with_capacity(pieces.len());
    let mut space = false;
    for p in pieces {
        match p {
            Piece::Drop => {}
            Piece::Space => space = !out.is_empty(),
            Piece::Char(c) => {
                if space {
                    out.push(' ');
                    space = false;
                }
                out.push(c);
            }
        }
    }
    if out.is_empty() {
        return Err(NameError::empty());
    }
    Ok(out)
}

fn keep_slug_chars(folded: &str) -> String {
    folded
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        .collect()
}

/// slug(s): fold(s) keeping only `[a-z0-9]`; an empty result is an error.
pub fn slug(s: &str) -> Result<String, NameError> {
    let out = keep_slug_chars(&fold(s)?);
    if out.is_empty() {
        return Err(NameError::empty());
    }
    Ok(out)
}

/// The first character a person's name may not hold although `fold` takes
/// it: a person's name is letters, spaces, apostrophes and `-` only, so a
/// digit or another dash (U+2013...) is refused here (organisation names
/// may hold both). Invisible and control characters are left to
/// [`notices`]. The position counts the chars of `s` from 1.
pub fn person_name_error(s: &str) -> Option<NameError> {
    s.chars()
        .enumerate()
        .find(|(_, c)| {
            !(c.is_ascii_alphabetic()
                || c.is_whitespace()
                || is_invisible(*c)
                || c.is_control()
                || "'-\u{2019}\u{2BC}\u{2018}".contains(*c)
                || vietnamese_base(*c).is_some()
                || is_combining_mark(*c))
        })
        .map(|(i, ch)| NameError {
            kind: NameErrorKind::Symbol,
            ch: Some(ch),
            position: i + 1,
        })
}

/// Notices about a name that fold accepts (NFD, invisible and control characters).
///
/// `NotNfc` comes first when it applies; the others follow in text order.
pub fn notices(s: &str) -> Vec<NameNotice> {
    let mut found = Vec::new();
    if !is_nfc(s) {
        found.push(NameNotice::NotNfc);
    }
    for (i, ch) in s.chars().enumerate() {
        let position = i + 1;
        if is_invisible(ch) {
            found.push(NameNotice::Invisible { ch, position });
        } else if ch.is_control() {
            found.push(NameNotice::Control { ch, position });
        }
    }
    found
}

/// The folded tokens of a full name: `fold(name)` split on spaces.
pub fn tokens(name: &str) -> Result<Vec<String>, NameError> {
    Ok(fold(name)?.split(' ').map(str::to_owned).collect())
}

/// Why a person's address cannot be derived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeriveError {
    /// The full name cannot be folded.
    BadName(NameError),
    /// The given name written apart from the full name cannot be folded.
    BadGiven(NameError),
    /// The given name written apart is not among the tokens of the full name.
    GivenNotFound { given: String, name: String },
    /// The full name has no letters or digits.
    EmptyName,
}

impl fmt::Display for DeriveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeriveError::BadName(e) => write!(f, "the name cannot be used: {e}"),
            DeriveError::BadGiven(e) => write!(f, "the given name cannot be used: {e}"),
            DeriveError::GivenNotFound { given, name } => write!(
                f,
                "the given name {given:?} is not one of the words of the name {name:?}"
            ),
            DeriveError::EmptyName => write!(f, "the name is empty"),
        }
    }
}

impl std::error::Error for DeriveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DeriveError::BadName(e) | DeriveError::BadGiven(e) => Some(e),
            _ => None,
        }
    }
}

/// A person's name split the way the regulation reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonParts {
    /// slug of the given name.
    pub given: String,
    /// slugs of the other tokens (never empty strings), in order.
    pub others: Vec<String>,
    /// The words `[from, to)` of the name that form the given name.
    pub given_words: (usize, usize),
}

impl PersonParts {
    pub fn initials(&self) -> String {
        self.others
            .iter()
            .filter_map(|t| t.chars().next())
            .collect()
    }

    /// `<given><initials>.<abbr>`.
    pub fn local(&self, agency_abbr: &str) -> String {
        format!(
            "{}{}.{}",
            self.given,
            self.initials(),
            agency_abbr.to_ascii_lowercase()
        )
    }
}

fn person_parts(name: &str, given: Option<&str>) -> Result<PersonParts, DeriveError> {
    let folded = fold(name).map_err(|e| match e.kind {
        NameErrorKind::Empty => DeriveError::EmptyName,
        _ => DeriveError::BadName(e),
    })?;
    let folded_given = match given {
        Some(g) => Some(fold(g).map_err(DeriveError::BadGiven)?),
        None => None,
    };
    person_parts_folded(&folded, folded_given.as_deref(), name, given)
}

/// `person_parts` from `fold(name)` and `fold(given)`, for callers that
/// have folded them already (the validator folds each name once).
pub fn person_parts_folded(
    folded_name: &str,
    folded_given: Option<&str>,
    name: &str,
    given: Option<&str>,
) -> Result<PersonParts, DeriveError> {
    let toks: Vec<&str> = folded_name.split(' ').collect();
    let slugs: Vec<String> = toks.iter().map(|t| keep_slug_chars(t)).collect();
    // The tokens [from, to) that form the given name.
    let (from, to) = match folded_given {
        None => {
            let last = slugs
                .iter()
                .rposition(|s| !s.is_empty())
                .ok_or(DeriveError::EmptyName)?;
            (last, last + 1)
        }
        Some(folded) => {
            let want: Vec<&str> = folded.split(' ').collect();
            let from = toks
                .windows(want.len())
                .rposition(|w| w.iter().zip(&want).all(|(a, b)| a == b))
                .ok_or_else(|| DeriveError::GivenNotFound {
                    given: given.unwrap_or(folded).to_owned(),
                    name: name.to_owned(),
                })?;
            (from, from + want.len())
        }
    };
    let given_slug: String = slugs[from..to].concat();
    if given_slug.is_empty() {
        return Err(DeriveError::BadGiven(NameError::empty()));
    }
    let others = slugs
        .into_iter()
        .enumerate()
        .filter(|(i, s)| !(from..to).contains(i) && !s.is_empty())
        .map(|(_, s)| s)
        .collect();
    Ok(PersonParts {
        given: given_slug,
        others,
        given_words: (from, to),
    })
}

/// The slug of a person's given name: the last token of the name, or the
/// token(s) of the name that fold equal to `given` when it is written apart
/// (names written family-last, like `H'Hen Niê` with given `H'Hen`).
pub fn given_slug(name: &str, given: Option<&str>) -> Result<String, DeriveError> {
    Ok(person_parts(name, given)?.given)
}

/// The local part of a person's address:
/// `<slug(given)><first letter of each other name token, in order>.<abbr>`.
///
/// Without `given`, the given name is the last token (Nguyễn Văn An at
/// `skhcn` -> `annv.skhcn`). With `given`, it is the run of tokens that folds
/// equal to `fold(given)` (the last such run if it occurs twice), and every
/// other token gives an initial (`H'Hen Niê`, given `H'Hen` -> `hhenn`). The
/// initial of a token is the first char of its slug (`H'Bơ` -> `h`); tokens
/// with an empty slug (a lone `-`) are skipped. The abbreviation is lower-cased.
pub fn person_local(
    name: &str,
    given: Option<&str>,
    agency_abbr: &str,
) -> Result<String, DeriveError> {
    Ok(person_parts(name, given)?.local(agency_abbr))
}

/// Free local parts for a person whose derived address is taken, best first.
///
/// With given slug `g` and initials `i` (Nguyễn Văn An: `an`, `nv`), the
/// candidates are:
///
/// - `g<n>i` (`an2nv`) and `gi<n>` (`annv2`) for `n` in `2..=99`;
/// - `g` followed by the initials with one of them spelled out as its token's
///   whole slug, one candidate per token (`annguyenv`, `annvan`).
///
/// They are ordered by length (shortest first), then by family in the order
/// above, then by `n` or token order: `an2nv`, `annv2`, `an3nv`, `annv3`, ...,
/// `an9nv`, `annv9`, `an10nv`, `annv10`, ..., `annv99`, `annvan`, `annguyenv`.
/// Candidates equal to the derived one or to an earlier candidate are skipped,
/// and `is_taken` is asked about each full local part (`annv2.skhcn`); at most
/// `count` free ones are returned. Every candidate starts with `slug(given)`
/// and ends with `.<abbr>`.
pub fn person_alternatives(
    name: &str,
    given: Option<&str>,
    agency_abbr: &str,
    is_taken: &dyn Fn(&str) -> bool,
    count: usize,
) -> Result<Vec<String>, DeriveError> {
    let parts = person_parts(name, given)?;
    let g = &parts.given;
    let initials = parts.initials();
    let derived = format!("{g}{initials}");

    // (rank, order, candidate)
    let mut candidates: Vec<(usize, usize, String)> = Vec::new();
    for n in 2..=99usize {
        candidates.push((0, n, format!("{g}{n}{initials}")));
        candidates.push((1, n, format!("{g}{initials}{n}")));
    }
    for k in 0..parts.others.len() {
        let middle: String = parts
            .others
            .iter()
            .enumerate()
            .map(|(j, t)| if j == k { t.as_str() } else { &t[..1] })
            .collect();
        candidates.push((2, k, format!("{g}{middle}")));
    }
    // length, then numbers before spelled-out names, then n, then family
    candidates.sort_by_key(|(rank, order, c)| (c.len(), *rank / 2, *order, *rank));

    let abbr = agency_abbr.to_ascii_lowercase();
    let mut seen = std::collections::HashSet::new();
    seen.insert(derived);
    Ok(candidates
        .into_iter()
        .filter(|(_, _, c)| seen.insert(c.clone()))
        .map(|(_, _, c)| format!("{c}.{abbr}"))
        .filter(|local| !is_taken(local))
        .take(count)
        .collect())
}

/// Whether a person's explicit local part follows the regulation: it equals
/// the derived one (without regard to case), or the derived one is taken and
/// the explicit one is `<given_slug><one or more of [a-z0-9]>.<agency_abbr>`
/// (without regard to case).
pub fn person_address_conforms(
    explicit: &str,
    derived: &str,
    given_slug: &str,
    agency_abbr: &str,
    derived_taken: bool,
) -> bool {
    if explicit.eq_ignore_ascii_case(derived) {
        return true;
    }
    if !derived_taken || given_slug.is_empty() || agency_abbr.is_empty() {
        return false;
    }
    let explicit = explicit.to_ascii_lowercase();
    let suffix = format!(".{}", agency_abbr.to_ascii_lowercase());
    let Some(rest) = explicit.strip_suffix(&suffix) else {
        return false;
    };
    let Some(middle) = rest.strip_prefix(&given_slug.to_ascii_lowercase()) else {
        return false;
    };
    !middle.is_empty()
        && middle
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// The words before a commune's name that its address leaves out, as folded.
const COMMUNE_PREFIXES: [&str; 4] = ["xa ", "phuong ", "thi tran ", "dac khu "];

/// The local part of a commune or ward: the slug of its name without a
/// leading `Xã`, `Phường`, `Thị trấn` or `Đặc khu` (Phường Tô Hiệu -> `tohieu`).
pub fn commune_local(name: &str) -> Result<String, NameError> {
    let folded = fold(name)?;
    let rest = COMMUNE_PREFIXES
        .iter()
        .find_map(|p| folded.strip_prefix(p))
        .unwrap_or(&folded);
    let out = keep_slug_chars(rest);
    if out.is_empty() {
        return Err(NameError::empty());
    }
    Ok(out)
}

/// The local part of a unit of an agency: `<unit abbr>.<agency abbr>`, lower
/// case (`VP`, `tohieu` -> `vp.tohieu`).
pub fn unit_local(unit_abbr: &str, agency_abbr: &str) -> String {
    format!(
        "{}.{}",
        unit_abbr.to_ascii_lowercase(),
        agency_abbr.to_ascii_lowercase()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_letter_table_is_every_vowel_with_every_tone_and_d_bar() {
        let tones = ["", "\u{300}", "\u{301}", "\u{309}", "\u{303}", "\u{323}"];
        let vowels = [
            "a", "a\u{306}", "a\u{302}", "e", "e\u{302}", "i", "o", "o\u{302}", "o\u{31B}", "u",
            "u\u{31B}", "y",
        ];
        let mut expected: Vec<char> = Vec::new();
        for v in vowels {
            for t in tones {
                let composed: String = format!("{v}{t}").nfc().collect();
                let mut it = composed.chars();
                let c = it.next().unwrap();
                assert!(it.next().is_none(), "{v}{t} does not compose");
                for c in [c, c.to_uppercase().next().unwrap()] {
                    if !c.is_ascii() {
                        expected.push(c);
                    }
                }
            }
        }
        expected.extend(['đ', 'Đ']);
        let mut table: Vec<char> = vietnamese_letters().collect();
        expected.sort();
        table.sort();
        assert_eq!(table.len(), 134);
        assert_eq!(table, expected);
        for c in table {
            let base: String = c
                .to_lowercase()
                .collect::<String>()
                .nfd()
                .next()
                .into_iter()
                .collect();
            let base = if c == 'đ' || c == 'Đ' {
                "d".into()
            } else {
                base
            };
            assert_eq!(vietnamese_base(c).unwrap().to_string(), base, "{c}");
        }
    }

    #[test]
    fn clusters_keep_marks_with_their_base() {
        let got: Vec<(usize, &str)> = clusters("\u{301}ae\u{302}\u{303} x").collect();
        assert_eq!(
            got,
            vec![
                (1, "\u{301}"),
                (2, "a"),
                (3, "e\u{302}\u{303}"),
                (6, " "),
                (7, "x")
            ]
        );
    }
}
