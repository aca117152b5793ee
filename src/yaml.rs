//! YAML text -> a small tree whose every node and key knows its position.
//!
//! Built straight from `saphyr-parser` events so that this format's own rules
//! hold at parse time: duplicate keys, anchors, aliases, tags and tab
//! indentation are reported (all of them, not just the first), plain scalars
//! resolve by the YAML 1.2 core schema, and one parse yields both the JSON
//! value the schema checks and the positions its diagnostics point at.

use saphyr_parser::{Event, Parser, ScalarStyle};

/// A position in a file: 1-based line and 1-based column counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Map),
}

/// A mapping's entries in the order written, with an index by key name once
/// it holds more than a few: a mapping of any size is built and searched in
/// linear time, however many keys a file piles into it.
#[derive(Debug, Clone, Default)]
pub struct Map {
    entries: Vec<(Key, Node)>,
    index: Option<std::collections::HashMap<String, usize>>,
}

/// Mappings this small are searched entry by entry.
const MAP_INDEX_FROM: usize = 16;

impl Map {
    pub fn new() -> Map {
        Map::default()
    }

    /// The entry under `name`.
    pub fn find(&self, name: &str) -> Option<&(Key, Node)> {
        match &self.index {
            Some(index) => index.get(name).map(|&i| &self.entries[i]),
            None => self.entries.iter().find(|(k, _)| k.name == name),
        }
    }

    /// Add an entry; the caller has made sure its key is new.
    pub fn push(&mut self, key: Key, node: Node) {
        if let Some(index) = &mut self.index {
            index.insert(key.name.clone(), self.entries.len());
        } else if self.entries.len() + 1 >= MAP_INDEX_FROM {
            let mut index: std::collections::HashMap<String, usize> = self
                .entries
                .iter()
                .enumerate()
                .map(|(i, (k, _))| (k.name.clone(), i))
                .collect();
            index.insert(key.name.clone(), self.entries.len());
            self.index = Some(index);
        }
        self.entries.push((key, node));
    }
}

impl PartialEq for Map {
    fn eq(&self, other: &Map) -> bool {
        self.entries == other.entries
    }
}

impl std::ops::Deref for Map {
    type Target = [(Key, Node)];
    fn deref(&self) -> &[(Key, Node)] {
        &self.entries
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = &'a (Key, Node);
    type IntoIter = std::slice::Iter<'a, (Key, Node)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
    /// The scalar was written in quotes or as a block: its text is exact, and
    /// for a single-line quoted scalar the text starts one column later.
    pub style: Style,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Quoted,
    Block,
    Collection,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum YamlErrorKind {
    /// The text is not YAML; the parser's own words.
    Syntax(String),
    DuplicateKey {
        key: String,
        first: Pos,
    },
    Anchor,
    Alias,
    Tag(String),
    TabIndent,
    /// A mapping key that is not a plain string (a list or a map as a key).
    ComplexKey,
    /// More than one YAML document in a file.
    MultipleDocuments,
    /// Lists and mappings nested deeper than this format ever needs.
    TooDeep,
}

impl std::fmt::Display for YamlErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::tr;
        let text = match self {
            YamlErrorKind::Syntax(s) => tr!("không phải YAML hợp lệ: {s}", "not valid YAML: {s}"),
            YamlErrorKind::DuplicateKey { key, first } => {
                let line = first.line;
                tr!(
                    "khóa `{key}` được viết hai lần (lần đầu ở dòng {line})",
                    "the key `{key}` is written twice (first on line {line})"
                )
            }
            YamlErrorKind::Anchor | YamlErrorKind::Alias => tr!(
                "không chấp nhận neo và tham chiếu YAML (`&`, `*`)",
                "anchors and aliases (`&`, `*`) are not accepted"
            ),
            YamlErrorKind::Tag(t) => tr!(
                "không chấp nhận thẻ (tag) `{t}`",
                "the tag `{t}` is not accepted"
            ),
            YamlErrorKind::TabIndent => tr!(
                "dòng này thụt lề bằng tab: hãy thụt lề bằng dấu cách",
                "a tab indents this line: indent with spaces"
            ),
            YamlErrorKind::ComplexKey => tr!(
                "khóa phải là một chuỗi đơn giản",
                "a key must be plain text"
            ),
            YamlErrorKind::MultipleDocuments => tr!(
                "có nhiều hơn một tài liệu YAML",
                "more than one YAML document"
            ),
            YamlErrorKind::TooDeep => tr!("lồng nhau quá sâu", "nested too deeply"),
        };
        f.write_str(&text)
    }
}

/// This format nests five levels; anything far deeper is refused before it
/// can exhaust the stack.
pub const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub kind: YamlErrorKind,
    pub pos: Pos,
}

/// The parsed document (None when the file holds no document or could not be
/// parsed) and every problem found.
pub struct Parsed {
    pub root: Option<Node>,
    pub errors: Vec<YamlError>,
}

fn pos_of(m: &saphyr_parser::Marker) -> Pos {
    Pos {
        line: m.line() as u32,
        col: m.col() as u32 + 1,
    }
}

/// Strip a BOM and make line ends LF, keeping lines and columns intact.
pub fn normalize_text(text: &str) -> std::borrow::Cow<'_, str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('\r') {
        std::borrow::Cow::Owned(text.replace("\r\n", "\n"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Lines whose indentation holds a tab: YAML forbids it and editors hide it.
fn tab_indents(text: &str) -> Vec<Pos> {
    let mut out = Vec::new();
    let mut in_block_scalar = false;
    let mut block_indent = 0usize;
    for (i, line) in text.split('\n').enumerate() {
        let indent: usize = line.chars().take_while(|c| *c == ' ').count();
        if in_block_scalar {
            if line.trim().is_empty() || indent > block_indent {
                continue;
            }
            in_block_scalar = false;
        }
        let lead: String = line
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        if let Some(k) = lead.chars().position(|c| c == '\t')
            && lead.len() < line.len()
        {
            out.push(Pos {
                line: i as u32 + 1,
                col: k as u32 + 1,
            });
        }
        let t = line.trim_end();
        if t.ends_with('|')
            || t.ends_with('>')
            || t.ends_with("|-")
            || t.ends_with(">-")
            || t.ends_with("|+")
            || t.ends_with(">+")
        {
            in_block_scalar = true;
            block_indent = indent;
        }
    }
    out
}

/// Resolve a plain scalar by the YAML 1.2 core schema.
fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let b = s.as_bytes();
    let digits = |t: &[u8]| !t.is_empty() && t.iter().all(u8::is_ascii_digit);
    let unsigned = b
        .strip_prefix(b"-")
        .or_else(|| b.strip_prefix(b"+"))
        .unwrap_or(b);
    if digits(unsigned) {
        if let Ok(i) = s.parse::<i64>() {
            return Value::Int(i);
        }
        return s
            .parse::<f64>()
            .map(Value::Float)
            .unwrap_or(Value::Str(s.into()));
    }
    if let Some(h) = s.strip_prefix("0x")
        && !h.is_empty()
        && h.bytes().all(|c| c.is_ascii_hexdigit())
    {
        return i64::from_str_radix(h, 16)
            .map(Value::Int)
            .unwrap_or(Value::Str(s.into()));
    }
    if let Some(o) = s.strip_prefix("0o")
        && !o.is_empty()
        && o.bytes().all(|c| (b'0'..=b'7').contains(&c))
    {
        return i64::from_str_radix(o, 8)
            .map(Value::Int)
            .unwrap_or(Value::Str(s.into()));
    }
    if is_core_float(unsigned)
        && let Ok(f) = s.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::Str(s.to_string())
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_core_float(b: &[u8]) -> bool {
    let mut i = 0;
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    let mut dot = false;
    if i < b.len() && b[i] == b'.' {
        dot = true;
        i += 1;
        let f = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i - f;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if !dot && int_digits > 0 && i == b.len() {
        return false; // an integer, not a float
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let e = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == e {
            return false;
        }
    }
    i == b.len()
}

enum Frame {
    Seq(Pos, Vec<Node>),
    Map(Pos, Map, Option<Key>),
}

/// Parse one YAML document with positions. Never panics on any input.
pub fn parse(text: &str) -> Parsed {
    let text = normalize_text(text);
    let mut errors: Vec<YamlError> = tab_indents(&text)
        .into_iter()
        .map(|pos| YamlError {
            kind: YamlErrorKind::TabIndent,
            pos,
        })
        .collect();
    let tab_lines: Vec<u32> = errors.iter().map(|e| e.pos.line).collect();
    // The parser can panic on some malformed inputs; a panic must not take
    // the validator down, so it becomes a syntax error.
    let result = std::panic::catch_unwind(|| build(&text));
    match result {
        Ok((root, mut errs)) => {
            errs.retain(|e| {
                !(matches!(e.kind, YamlErrorKind::Syntax(_)) && tab_lines.contains(&e.pos.line))
            });
            errors.extend(errs);
            Parsed { root, errors }
        }
        Err(_) => {
            errors.push(YamlError {
                kind: YamlErrorKind::Syntax("the YAML parser could not read this file".into()),
                pos: Pos { line: 1, col: 1 },
            });
            Parsed { root: None, errors }
        }
    }
}

fn build(text: &str) -> (Option<Node>, Vec<YamlError>) {
    let mut errors = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;
    let parser = Parser::new_from_str(text);
    for item in parser {
        let (event, span) = match item {
            Ok(x) => x,
            Err(e) => {
                let m = e.marker();
                errors.push(YamlError {
                    kind: YamlErrorKind::Syntax(e.info().to_string()),
                    pos: Pos {
                        line: m.line().max(1) as u32,
                        col: m.col() as u32 + 1,
                    },
                });
                return (None, errors);
            }
        };
        let pos = pos_of(&span.start);
        let node = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents == 2 {
                    errors.push(YamlError {
                        kind: YamlErrorKind::MultipleDocuments,
                        pos,
                    });
                }
                continue;
            }
            Event::Alias(_) => {
                errors.push(YamlError {
                    kind: YamlErrorKind::Alias,
                    pos,
                });
                Node {
                    value: Value::Null,
                    pos,
                    style: Style::Plain,
                }
            }
            Event::Scalar(s, style, anchor, tag) => {
                if anchor != 0 {
                    errors.push(YamlError {
                        kind: YamlErrorKind::Anchor,
                        pos,
                    });
                }
                let mut forced_str = false;
                if let Some(t) = tag {
                    if t.handle == "tag:yaml.org,2002:" && t.suffix == "str" {
                        forced_str = true;
                    } else {
                        errors.push(YamlError {
                            kind: YamlErrorKind::Tag(format!("{}{}", t.handle, t.suffix)),
                            pos,
                        });
                    }
                }
                let (value, style) = match style {
                    ScalarStyle::Plain if !forced_str => (resolve_plain(&s), Style::Plain),
                    ScalarStyle::Plain => (Value::Str(s.into_owned()), Style::Plain),
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                        (Value::Str(s.into_owned()), Style::Quoted)
                    }
                    _ => (Value::Str(s.into_owned()), Style::Block),
                };
                Node { value, pos, style }
            }
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                if anchor != 0 {
                    errors.push(YamlError {
                        kind: YamlErrorKind::Anchor,
                        pos,
                    });
                }
                if let Some(t) = tag {
                    errors.push(YamlError {
                        kind: YamlErrorKind::Tag(format!("{}{}", t.handle, t.suffix)),
                        pos,
                    });
                }
                if stack.len() >= MAX_DEPTH {
                    errors.push(YamlError {
                        kind: YamlErrorKind::TooDeep,
                        pos,
                    });
                    return (None, errors);
                }
                if matches!(event, Event::SequenceStart(..)) {
                    stack.push(Frame::Seq(pos, Vec::new()));
                } else {
                    // A map used as a key: reported, its content is ignored.
                    if let Some(Frame::Map(_, _, None)) = stack.last() {
                        errors.push(YamlError {
                            kind: YamlErrorKind::ComplexKey,
                            pos,
                        });
                    }
                    stack.push(Frame::Map(pos, Map::new(), None));
                }
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(p, items)) => Node {
                    value: Value::Seq(items),
                    pos: p,
                    style: Style::Collection,
                },
                _ => continue,
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(p, entries, _)) => Node {
                    value: Value::Map(entries),
                    pos: p,
                    style: Style::Collection,
                },
                _ => continue,
            },
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {
                continue;
            }
        };
        // Attach the finished node to its parent.
        match stack.last_mut() {
            None => {
                if root.is_none() {
                    root = Some(node);
                }
            }
            Some(Frame::Seq(_, items)) => items.push(node),
            Some(Frame::Map(_, entries, pending)) => match pending.take() {
                None => {
                    let name = match node.value {
                        Value::Str(s) => s,
                        Value::Null => String::new(),
                        Value::Bool(b) => b.to_string(),
                        Value::Int(i) => i.to_string(),
                        Value::Float(f) => f.to_string(),
                        Value::Seq(_) | Value::Map(_) => {
                            errors.push(YamlError {
                                kind: YamlErrorKind::ComplexKey,
                                pos: node.pos,
                            });
                            String::from("?")
                        }
                    };
                    if let Some((first, _)) = entries.find(&name) {
                        errors.push(YamlError {
                            kind: YamlErrorKind::DuplicateKey {
                                key: name.clone(),
                                first: first.pos,
                            },
                            pos: node.pos,
                        });
                        // Keep the first; the duplicate's value is dropped below.
                        *pending = Some(Key {
                            name: String::from("\u{0}duplicate"),
                            pos: node.pos,
                        });
                    } else {
                        *pending = Some(Key {
                            name,
                            pos: node.pos,
                        });
                    }
                }
                Some(key) => {
                    if key.name != "\u{0}duplicate" {
                        entries.push(key, node);
                    }
                }
            },
        }
    }
    (root, errors)
}

impl Node {
    /// The JSON value of this node, for the schema and for typed decoding.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.find(key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The node at a JSON pointer (`/people/3/address`) and, when the last
    /// step was a mapping key, that key. `None` when the path does not exist.
    pub fn lookup(&self, pointer: &str) -> Option<(&Node, Option<&Key>)> {
        let mut node = self;
        let mut key = None;
        if pointer.is_empty() {
            return Some((node, None));
        }
        for raw in pointer.strip_prefix('/')?.split('/') {
            let token: std::borrow::Cow<'_, str> = if raw.contains('~') {
                raw.replace("~1", "/").replace("~0", "~").into()
            } else {
                raw.into()
            };
            match &node.value {
                Value::Map(entries) => {
                    let (k, v) = entries.find(&token)?;
                    key = Some(k);
                    node = v;
                }
                Value::Seq(items) => {
                    node = items.get(token.parse::<usize>().ok()?)?;
                    key = None;
                }
                _ => return None,
            }
        }
        Some((node, key))
    }

    /// Where the text of this scalar starts: one column in for a single-line
    /// quoted scalar.
    pub fn text_pos(&self) -> Pos {
        match self.style {
            Style::Quoted => Pos {
                line: self.pos.line,
                col: self.pos.col + 1,
            },
            _ => self.pos,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errs(text: &str) -> Vec<YamlErrorKind> {
        parse(text).errors.into_iter().map(|e| e.kind).collect()
    }

    #[test]
    fn positions_of_keys_and_values() {
        let p = parse("a: 1\nb:\n  - x: \"y\"\n");
        let root = p.root.unwrap();
        let (n, k) = root.lookup("/b/0/x").unwrap();
        assert_eq!(k.unwrap().pos, Pos { line: 3, col: 5 });
        assert_eq!(n.pos, Pos { line: 3, col: 8 });
        assert_eq!(n.text_pos(), Pos { line: 3, col: 9 });
        assert_eq!(n.as_str(), Some("y"));
    }

    #[test]
    fn duplicate_keys_are_reported_and_the_first_kept() {
        let p = parse("a: 1\nb: 2\na: 3\n");
        assert_eq!(
            p.errors[0].kind,
            YamlErrorKind::DuplicateKey {
                key: "a".into(),
                first: Pos { line: 1, col: 1 }
            }
        );
        assert_eq!(p.errors[0].pos, Pos { line: 3, col: 1 });
        assert_eq!(
            p.root.unwrap().to_json(),
            serde_json::json!({"a": 1, "b": 2})
        );
    }

    #[test]
    fn keys_of_a_large_mapping_are_found_by_name() {
        let mut text = String::new();
        for i in 0..1000 {
            text.push_str(&format!("k{i}: {i}\n"));
        }
        text.push_str("k500: again\nk999: again\n");
        let p = parse(&text);
        let dups: Vec<(String, u32)> = p
            .errors
            .iter()
            .map(|e| match &e.kind {
                YamlErrorKind::DuplicateKey { key, first } => (key.clone(), first.line),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            dups,
            [("k500".to_string(), 501), ("k999".to_string(), 1000)]
        );
        let root = p.root.unwrap();
        assert_eq!(root.get("k0").unwrap().value, Value::Int(0));
        assert_eq!(root.get("k999").unwrap().value, Value::Int(999));
        assert_eq!(root.lookup("/k700").unwrap().1.unwrap().pos.line, 701);
        assert!(root.get("k1000").is_none());
        let Value::Map(m) = &root.value else { panic!() };
        assert_eq!(m.len(), 1000);
        assert_eq!(m[3].0.name, "k3");
    }

    #[test]
    fn anchors_and_aliases_are_refused() {
        let e = errs("a: &x [1, 2]\nb: *x\n");
        assert!(e.contains(&YamlErrorKind::Anchor));
        assert!(e.contains(&YamlErrorKind::Alias));
    }

    #[test]
    fn a_billion_laughs_does_not_expand() {
        let text = "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: [*c, *c, *c]\n";
        let p = parse(text);
        assert!(p.errors.iter().any(|e| e.kind == YamlErrorKind::Alias));
        assert!(p.root.unwrap().to_json().to_string().len() < 100);
    }

    #[test]
    fn tab_indentation_is_reported_on_its_line() {
        let p = parse("a:\n\tb: 1\n");
        assert_eq!(p.errors[0].kind, YamlErrorKind::TabIndent);
        assert_eq!(p.errors[0].pos, Pos { line: 2, col: 1 });
        // A tab inside a value is not indentation.
        assert!(errs("a: \"x\ty\"\n").is_empty());
    }

    #[test]
    fn core_schema_scalars() {
        let j = parse("a: 03646\nb: \"03646\"\nc: yes\nd: ~\ne: 1.5\nf: 2026-10-01\ng: 0x1F\n")
            .root
            .unwrap()
            .to_json();
        assert_eq!(
            j,
            serde_json::json!({"a": 3646, "b": "03646", "c": "yes", "d": null, "e": 1.5, "f": "2026-10-01", "g": 31})
        );
    }

    #[test]
    fn bom_and_crlf_are_tolerated() {
        let p = parse("\u{feff}a: 1\r\nb: x\r\n");
        assert!(p.errors.is_empty());
        assert_eq!(
            p.root.unwrap().to_json(),
            serde_json::json!({"a": 1, "b": "x"})
        );
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let p = parse("a: [1, 2\nb: 3\n");
        assert!(matches!(p.errors[0].kind, YamlErrorKind::Syntax(_)));
        assert!(p.errors[0].pos.line >= 1);
        assert!(p.root.is_none());
    }

    #[test]
    fn deep_nesting_is_refused_without_exhausting_the_stack() {
        let text = "- ".repeat(100_000) + "x\n";
        let p = parse(&text);
        assert!(p.errors.iter().any(|e| e.kind == YamlErrorKind::TooDeep));
        let text = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&text).root.is_none());
    }

    #[test]
    fn a_second_document_is_reported() {
        assert!(errs("a: 1\n---\nb: 2\n").contains(&YamlErrorKind::MultipleDocuments));
    }
}
