//! Edits of a YAML file's text in place: the lines of the items and keys
//! that change are rewritten, every other byte of the file (comments, key
//! order, quoting, blank lines, line ends) stays as it was. Positions come
//! from the positioned reader (`yaml.rs`); an edit that cannot be made
//! safely (flow style, a value over several lines) is refused with the
//! reason, and the text is never half edited. `propose` (locks and
//! revocations) and `request` (a clerk's sheet) edit agency files with it.

use crate::tr;
use crate::yaml::{Node, Style, Value};
use std::collections::{HashMap, HashSet};

/// The lines of the item a pointer names in a block sequence: the first
/// line (holding its `-`), the last line (trailing blank and comment lines
/// are not the item's), and the column of its keys (0-based, in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub first: usize,
    pub last: usize,
    pub col: usize,
}

fn leading_spaces(line: &str) -> usize {
    line.chars().take_while(|c| *c == ' ').count()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// The byte offset of a 0-based character column in a line.
fn byte_at(line: &str, col: usize) -> usize {
    line.char_indices()
        .nth(col)
        .map(|(i, _)| i)
        .unwrap_or(line.len())
}

/// Double-quoted YAML text.
pub fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A string as YAML text: plain when it reads back as exactly that string
/// (`Nguyễn Văn An`), double-quoted otherwise (`"03646"`, `"true"`, `"a: b"`).
pub fn scalar(s: &str) -> String {
    let plain_ok = !s.is_empty()
        && s.trim() == s
        && !s.contains(|c: char| c.is_control() || c == '#')
        && !s.contains(": ")
        && !s.ends_with(':')
        && !s.starts_with(|c: char| "-?:,[]{}&*!|>%@`'\"".contains(c))
        && {
            let parsed = crate::yaml::parse(&format!("k: {s}\n"));
            parsed.errors.is_empty()
                && parsed
                    .root
                    .as_ref()
                    .and_then(|r| r.get("k"))
                    .and_then(Node::as_str)
                    == Some(s)
        };
    if plain_ok { s.to_string() } else { quoted(s) }
}

/// The end (a byte offset in `rest`) of a scalar written on one line and
/// starting at the beginning of `rest`.
fn scalar_end(rest: &str, style: Style) -> Option<usize> {
    let mut chars = rest.char_indices();
    match (style, rest.chars().next()) {
        (Style::Quoted, Some('"')) => {
            chars.next();
            let mut escaped = false;
            for (i, c) in chars {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => return Some(i + 1),
                    _ => {}
                }
            }
            None
        }
        (Style::Quoted, Some('\'')) => {
            chars.next();
            let mut it = chars.peekable();
            while let Some((i, c)) = it.next() {
                if c == '\'' {
                    if it.peek().map(|(_, c)| *c) == Some('\'') {
                        it.next();
                    } else {
                        return Some(i + 1);
                    }
                }
            }
            None
        }
        (Style::Plain, _) => {
            let end = rest.find(" #").unwrap_or(rest.len());
            Some(rest[..end].trim_end().len())
        }
        _ => None,
    }
}

/// One replacement: the lines `start..end` of the original text (empty
/// for an insertion before `start`) become `lines`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    pub start: usize,
    pub end: usize,
    pub lines: Vec<String>,
}

/// A file being edited. Edits are collected against the original text and
/// made together by `finish`.
pub struct Editor<'a> {
    bom: bool,
    lines: Vec<&'a str>,
    eol: &'static str,
    trailing_newline: bool,
    root: Node,
    patches: Vec<Patch>,
    /// List pointer -> items removed from it.
    emptied: HashMap<String, usize>,
    /// Lists that get new items.
    appended: HashSet<String>,
}

/// The text after the edits and the edits themselves (for a diff).
#[derive(Debug, Clone)]
pub struct Edited {
    pub text: String,
    pub old_lines: Vec<String>,
    pub patches: Vec<Patch>,
}

impl<'a> Editor<'a> {
    /// Read a file's text. A file that does not parse cleanly is not edited.
    pub fn new(text: &'a str) -> Result<Editor<'a>, String> {
        let parsed = crate::yaml::parse(text);
        let root = match parsed.root {
            Some(r) if parsed.errors.is_empty() => r,
            _ => return Err(tr!("tệp không phân tích được", "the file does not parse")),
        };
        let (bom, body) = match text.strip_prefix('\u{feff}') {
            Some(b) => (true, b),
            None => (false, text),
        };
        Ok(Editor {
            bom,
            lines: body.lines().collect(),
            eol: if text.contains("\r\n") { "\r\n" } else { "\n" },
            trailing_newline: text.ends_with('\n'),
            root,
            patches: Vec::new(),
            emptied: HashMap::new(),
            appended: HashSet::new(),
        })
    }

    pub fn root(&self) -> &Node {
        &self.root
    }

    fn line(&self, i: usize) -> Result<&'a str, String> {
        self.lines
            .get(i)
            .copied()
            .ok_or_else(|| tr!("một vị trí nằm ngoài tệp", "a position outside the file"))
    }

    /// The last line of a block that starts on line `from` and holds the
    /// lines after it indented at least `min` (blank and comment lines
    /// inside count, trailing ones do not).
    fn block_end(&self, from: usize, min: usize) -> usize {
        let mut last = from;
        for (i, l) in self.lines.iter().enumerate().skip(from + 1) {
            if is_blank_or_comment(l) {
                continue;
            }
            if leading_spaces(l) >= min {
                last = i;
            } else {
                break;
            }
        }
        last
    }

    /// The lines of the mapping item at `pointer` in a block list.
    pub fn item(&self, pointer: &str) -> Result<Span, String> {
        let (node, _) = self
            .root
            .lookup(pointer)
            .ok_or_else(|| format!("{pointer} is not in the file"))?;
        if !matches!(node.value, Value::Map(_)) {
            return Err(format!("{pointer} is not a mapping"));
        }
        let line = node.pos.line as usize - 1;
        let col = node.pos.col as usize - 1;
        let text = self.line(line)?;
        let before: String = text.chars().take(col).collect();
        if text.chars().nth(col) == Some('{') {
            return Err(tr!(
                "mục này viết theo kiểu flow ({{...}}); hãy sửa bằng tay",
                "it is written in flow style ({{...}}); edit it by hand"
            ));
        }
        let first = if before.trim_end().ends_with('-') {
            line
        } else if before.trim().is_empty() && line > 0 && self.lines[line - 1].trim() == "-" {
            line - 1
        } else {
            return Err(tr!(
                "mục này không phải là một phần tử của danh sách dạng khối",
                "it is not an item of a block list"
            ));
        };
        Ok(Span {
            first,
            last: self.block_end(line, col),
            col,
        })
    }

    fn push(&mut self, start: usize, end: usize, lines: Vec<String>) {
        self.patches.push(Patch { start, end, lines });
    }

    /// Remove the item at `pointer` (`/people/3`) and its lines.
    pub fn remove_item(&mut self, pointer: &str) -> Result<(), String> {
        let span = self.item(pointer)?;
        self.push(span.first, span.last + 1, Vec::new());
        let list = pointer.rsplit_once('/').map(|(l, _)| l).unwrap_or("");
        *self.emptied.entry(list.to_string()).or_default() += 1;
        Ok(())
    }

    /// Set `key` of the item at `pointer` to `value` (YAML text, see
    /// [`scalar`]), then the lines `below` (indented from the key's column)
    /// right under it. An existing key keeps its line and whatever follows
    /// its value (a comment); a missing one goes after the item's last line.
    pub fn set(
        &mut self,
        pointer: &str,
        key: &str,
        value: &str,
        below: &[String],
    ) -> Result<(), String> {
        let span = self.item(pointer)?;
        let ind = " ".repeat(span.col);
        let (node, _) = self.root.lookup(pointer).expect("checked");
        let Value::Map(entries) = &node.value else {
            unreachable!("checked")
        };
        let mut added: Vec<String> = below.iter().map(|l| format!("{ind}{l}")).collect();
        match entries.iter().find(|(k, _)| k.name == key) {
            Some((k, v)) if v.value == Value::Null => {
                // `key:` with nothing after it (but perhaps a comment).
                let l = k.pos.line as usize - 1;
                let old = self.line(l)?;
                let kstart = byte_at(old, k.pos.col as usize - 1);
                let after = old[kstart..].split_once(':').map_or("", |(_, a)| a).trim();
                if !(after.is_empty() || after.starts_with('#') || after == "~" || after == "null")
                {
                    return Err(tr!(
                        "`{key}` của mục này không nằm trên một dòng; hãy sửa bằng tay",
                        "its `{key}` is not on one line; edit it by hand"
                    ));
                }
                let comment = old[kstart..].find(" #").map(|i| &old[kstart + i..]);
                let mut lines = vec![format!(
                    "{}{key}: {value}{}",
                    &old[..kstart],
                    comment.unwrap_or("")
                )];
                lines.append(&mut added);
                self.push(l, l + 1, lines);
            }
            Some((k, v)) => {
                if k.pos.line != v.pos.line
                    || matches!(v.value, Value::Map(_) | Value::Seq(_))
                    || v.style == Style::Block
                {
                    return Err(tr!(
                        "`{key}` của mục này không nằm trên một dòng; hãy sửa bằng tay",
                        "its `{key}` is not on one line; edit it by hand"
                    ));
                }
                let l = k.pos.line as usize - 1;
                let old = self.line(l)?;
                let start = byte_at(old, v.pos.col as usize - 1);
                let len = scalar_end(&old[start..], v.style)
                    .filter(|len| match (&v.value, v.style) {
                        // A plain string that goes on below its line.
                        (Value::Str(s), Style::Plain) => old[start..start + len] == *s,
                        _ => true,
                    })
                    .ok_or_else(|| {
                        tr!(
                            "`{key}` của mục này không nằm trên một dòng; hãy sửa bằng tay",
                            "its `{key}` is not on one line; edit it by hand"
                        )
                    })?;
                let mut lines = vec![format!("{}{value}{}", &old[..start], &old[start + len..])];
                lines.append(&mut added);
                self.push(l, l + 1, lines);
            }
            None => {
                let mut lines = vec![format!("{ind}{key}: {value}")];
                lines.append(&mut added);
                self.push(span.last + 1, span.last + 1, lines);
            }
        }
        Ok(())
    }

    /// Remove `key` of the item at `pointer` with its value's lines; a key
    /// that is not there is no edit.
    pub fn remove_key(&mut self, pointer: &str, key: &str) -> Result<(), String> {
        let span = self.item(pointer)?;
        let (node, _) = self.root.lookup(pointer).expect("checked");
        let Value::Map(entries) = &node.value else {
            unreachable!("checked")
        };
        let Some((k, _)) = entries.iter().find(|(k, _)| k.name == key) else {
            return Ok(());
        };
        let l = k.pos.line as usize - 1;
        let col = k.pos.col as usize - 1;
        if l == span.first && self.line(l)?.trim_start().starts_with('-') {
            return Err(tr!(
                "`{key}` nằm trên dòng có `-` của mục; hãy sửa bằng tay",
                "its `{key}` is on the line of the item's `-`; edit it by hand"
            ));
        }
        let last = self.block_end(l, col + 1);
        self.push(l, last + 1, Vec::new());
        Ok(())
    }

    /// Append an item to the block list under the top-level `key`, with
    /// the given keys and values (YAML text) in order, indented like the
    /// items already there (or like the file's other lists). A missing
    /// key, or an empty `[]`, becomes a block list.
    pub fn append_item(&mut self, key: &str, fields: &[(String, String)]) -> Result<(), String> {
        if fields.is_empty() {
            return Err(tr!("một mục không có khóa nào", "an item with no keys"));
        }
        let Value::Map(top) = &self.root.value else {
            return Err(tr!(
                "tệp không phải là một ánh xạ (mapping)",
                "the file is not a mapping"
            ));
        };
        let make = |dash: usize, gap: usize| -> Vec<String> {
            fields
                .iter()
                .enumerate()
                .map(|(i, (k, v))| {
                    if i == 0 {
                        format!("{}-{}{k}: {v}", " ".repeat(dash), " ".repeat(gap - 1))
                    } else {
                        format!("{}{k}: {v}", " ".repeat(dash + gap))
                    }
                })
                .collect()
        };
        let pointer = format!("/{key}");
        match top.iter().find(|(k, _)| k.name == key) {
            Some((k, v)) => {
                let kl = k.pos.line as usize - 1;
                let kcol = k.pos.col as usize - 1;
                let items = match &v.value {
                    Value::Seq(items) => Some(items),
                    Value::Null => None,
                    _ => return Err(format!("`{key}` is not a list")),
                };
                let flow = items.is_some()
                    && self
                        .line(v.pos.line as usize - 1)?
                        .chars()
                        .nth(v.pos.col as usize - 1)
                        == Some('[');
                match items {
                    Some(items) if !flow && !items.is_empty() => {
                        let last = &items[items.len() - 1];
                        let line = last.pos.line as usize - 1;
                        let text = self.line(line)?;
                        let col = last.pos.col as usize - 1;
                        let before: String = text.chars().take(col).collect();
                        let (first, dash) = if before.trim_end().ends_with('-') {
                            (line, before.trim_end().chars().count() - 1)
                        } else if before.trim().is_empty()
                            && line > 0
                            && self.lines[line - 1].trim() == "-"
                        {
                            (line - 1, leading_spaces(self.lines[line - 1]))
                        } else {
                            return Err(format!("`{key}` is not a block list"));
                        };
                        let gap = if matches!(last.value, Value::Map(_))
                            && first == line
                            && text.chars().nth(col) != Some('{')
                            && col > dash + 1
                        {
                            col - dash
                        } else {
                            2
                        };
                        let end = self.block_end(line, dash + 1);
                        self.push(end + 1, end + 1, make(dash, gap));
                    }
                    Some(items) if !items.is_empty() => {
                        return Err(format!(
                            "`{key}` is written in flow style ([...]); edit it by hand"
                        ));
                    }
                    _ => {
                        // `key: []` or `key:` with nothing: the key's line
                        // loses its value and keeps its comment.
                        let old = self.line(kl)?;
                        let comment = old
                            .find(" #")
                            .filter(|i| *i > byte_at(old, kcol))
                            .map(|i| &old[i..])
                            .unwrap_or("");
                        let mut lines =
                            vec![format!("{}{key}:{comment}", &old[..byte_at(old, kcol)])];
                        lines.extend(make(kcol + self.list_indent(), 2));
                        self.push(kl, kl + 1, lines);
                    }
                }
            }
            None => {
                // The top-level keys' column (a file may indent them all).
                let base = (self.root.pos.col as usize).saturating_sub(1);
                let mut lines = vec![format!("{}{key}:", " ".repeat(base))];
                lines.extend(make(base + self.list_indent(), 2));
                let n = self.lines.len();
                self.push(n, n, lines);
            }
        }
        self.appended.insert(pointer);
        Ok(())
    }

    /// How far the file indents a top-level list's `-` from its key (2 when
    /// it has no other block list to go by).
    fn list_indent(&self) -> usize {
        let Value::Map(top) = &self.root.value else {
            return 2;
        };
        for (k, v) in top {
            if let Value::Seq(items) = &v.value
                && let Some(first) = items.first()
            {
                let line = first.pos.line as usize - 1;
                let Some(text) = self.lines.get(line) else {
                    continue;
                };
                let col = first.pos.col as usize - 1;
                let before: String = text.chars().take(col).collect();
                if before.trim_end().ends_with('-') && line != k.pos.line as usize - 1 {
                    let dash = before.trim_end().chars().count() - 1;
                    return dash.saturating_sub(k.pos.col as usize - 1);
                }
            }
        }
        2
    }

    /// Make the edits. Two edits of the same lines are an error, and the
    /// text is left as it was.
    pub fn finish(mut self) -> Result<Edited, String> {
        // A list whose every item went stays a list: `people: []`.
        for (list, removed) in std::mem::take(&mut self.emptied) {
            if self.appended.contains(&list) {
                continue;
            }
            let Some((node, Some(key))) = self.root.lookup(&list) else {
                continue;
            };
            let Value::Seq(items) = &node.value else {
                continue;
            };
            if items.len() != removed {
                continue;
            }
            let l = key.pos.line as usize - 1;
            let old = self.line(l)?;
            let start = byte_at(old, key.pos.col as usize - 1);
            let line = format!("{}{}: []", &old[..start], key.name);
            self.push(l, l + 1, vec![line]);
        }
        let mut patches = std::mem::take(&mut self.patches);
        // Insertions before a replacement at the same line; otherwise in
        // the order they were asked for.
        patches.sort_by_key(|p| (p.start, p.end > p.start));
        for w in patches.windows(2) {
            if w[1].start < w[0].end {
                return Err(tr!(
                    "hai chỗ sửa chạm vào cùng các dòng",
                    "two edits touch the same lines"
                ));
            }
        }
        let mut out: Vec<&str> = Vec::with_capacity(self.lines.len());
        let mut at = 0;
        for p in &patches {
            out.extend(&self.lines[at..p.start]);
            out.extend(p.lines.iter().map(String::as_str));
            at = p.end;
        }
        out.extend(&self.lines[at.min(self.lines.len())..]);
        let mut s = String::new();
        if self.bom {
            s.push('\u{feff}');
        }
        s.push_str(&out.join(self.eol));
        if self.trailing_newline || (self.lines.is_empty() && !out.is_empty()) {
            s.push_str(self.eol);
        }
        Ok(Edited {
            text: s,
            old_lines: self.lines.iter().map(|l| l.to_string()).collect(),
            patches,
        })
    }
}

impl Edited {
    /// A unified diff of the edit, with `context` lines around each change.
    pub fn unified_diff(&self, label: &str, context: usize) -> String {
        use std::fmt::Write as _;
        // (old line index or none, sign, text) for the whole new file.
        enum Op<'x> {
            Same(usize),
            Del(usize),
            Add(&'x str),
        }
        let mut ops: Vec<Op<'_>> = Vec::new();
        // Adjacent edits read as one change: its removed lines, then its
        // added lines.
        let mut adds: Vec<Op<'_>> = Vec::new();
        let mut at = 0;
        for p in &self.patches {
            if p.start > at {
                ops.append(&mut adds);
                ops.extend((at..p.start).map(Op::Same));
            }
            ops.extend((p.start..p.end).map(Op::Del));
            adds.extend(p.lines.iter().map(|l| Op::Add(l.as_str())));
            at = p.end;
        }
        ops.append(&mut adds);
        ops.extend((at..self.old_lines.len()).map(Op::Same));
        let changed: Vec<usize> = ops
            .iter()
            .enumerate()
            .filter(|(_, o)| !matches!(o, Op::Same(_)))
            .map(|(i, _)| i)
            .collect();
        if changed.is_empty() {
            return String::new();
        }
        let mut s = format!("--- a/{label}\n+++ b/{label}\n");
        // Group changed ops whose gaps are within twice the context.
        let mut groups: Vec<(usize, usize)> = Vec::new();
        for &i in &changed {
            match groups.last_mut() {
                Some((_, end)) if i <= *end + 2 * context + 1 => *end = i,
                _ => groups.push((i, i)),
            }
        }
        // Line numbers (1-based) before each op, old and new.
        let mut old_no = vec![0usize; ops.len() + 1];
        let mut new_no = vec![0usize; ops.len() + 1];
        for (i, o) in ops.iter().enumerate() {
            old_no[i + 1] = old_no[i] + usize::from(!matches!(o, Op::Add(_)));
            new_no[i + 1] = new_no[i] + usize::from(!matches!(o, Op::Del(_)));
        }
        for (first, last) in groups {
            let from = first.saturating_sub(context);
            let to = (last + context + 1).min(ops.len());
            let old_len = old_no[to] - old_no[from];
            let new_len = new_no[to] - new_no[from];
            let start = |n: usize, len: usize| if len == 0 { n } else { n + 1 };
            let _ = writeln!(
                s,
                "@@ -{},{old_len} +{},{new_len} @@",
                start(old_no[from], old_len),
                start(new_no[from], new_len)
            );
            for o in &ops[from..to] {
                let _ = match o {
                    Op::Same(i) => writeln!(s, " {}", self.old_lines[*i]),
                    Op::Del(i) => writeln!(s, "-{}", self.old_lines[*i]),
                    Op::Add(t) => writeln!(s, "+{t}"),
                };
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "# Phường Tô Hiệu\ncode: \"S01\" # mã\nunits:\n  - code: vp\n    name: Văn phòng\npeople:\n  - id: \"a\"   # đầu\n    name: Nguyễn Văn An\n    title: Chuyên viên # ghi chú\n\n  # giữa\n  - id: b\n    name: 'Lò Thị Ún'\n    status: locked\n    lock:\n      reason: inactive\n      since: 2026-10-01\n# cuối\n";

    fn fields(kv: &[(&str, &str)]) -> Vec<(String, String)> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn values_are_replaced_in_their_line_and_comments_stay() {
        let mut e = Editor::new(DOC).unwrap();
        e.set("/people/0", "title", &scalar("Phó Chủ tịch"), &[])
            .unwrap();
        e.set("/people/1", "name", &scalar("Lò Thị Út"), &[])
            .unwrap();
        e.set("/people/0", "unit", "vp", &[]).unwrap();
        let out = e.finish().unwrap().text;
        assert_eq!(
            out,
            DOC.replace(
                "    title: Chuyên viên # ghi chú\n",
                "    title: Phó Chủ tịch # ghi chú\n    unit: vp\n"
            )
            .replace("'Lò Thị Ún'", "Lò Thị Út")
        );
    }

    #[test]
    fn a_key_block_is_removed_and_an_item_appended_at_the_end_of_the_list() {
        let mut e = Editor::new(DOC).unwrap();
        e.remove_key("/people/1", "lock").unwrap();
        e.set("/people/1", "status", "active", &[]).unwrap();
        e.append_item(
            "people",
            &fields(&[("id", "\"c\""), ("name", "Hà Văn Cường")]),
        )
        .unwrap();
        let edited = e.finish().unwrap();
        assert_eq!(
            edited.text,
            DOC.replace(
                "    status: locked\n    lock:\n      reason: inactive\n      since: 2026-10-01\n",
                "    status: active\n  - id: \"c\"\n    name: Hà Văn Cường\n"
            )
        );
        assert_eq!(
            edited.unified_diff("x.yaml", 1),
            "--- a/x.yaml\n+++ b/x.yaml\n@@ -13,6 +13,5 @@\n     name: 'Lò Thị Ún'\n-    status: locked\n-    lock:\n-      reason: inactive\n-      since: 2026-10-01\n+    status: active\n+  - id: \"c\"\n+    name: Hà Văn Cường\n # cuối\n"
        );
    }

    #[test]
    fn an_empty_or_missing_list_becomes_a_block_list() {
        let doc = "code: S01\nunits:\n    - code: vp\npeople: [] # chưa có\n";
        let mut e = Editor::new(doc).unwrap();
        e.append_item("people", &fields(&[("id", "a"), ("name", "A")]))
            .unwrap();
        assert_eq!(
            e.finish().unwrap().text,
            "code: S01\nunits:\n    - code: vp\npeople: # chưa có\n    - id: a\n      name: A\n"
        );
        let doc = "code: S01\r\n";
        let mut e = Editor::new(doc).unwrap();
        e.append_item("people", &fields(&[("id", "a"), ("name", "A")]))
            .unwrap();
        assert_eq!(
            e.finish().unwrap().text,
            "code: S01\r\npeople:\r\n  - id: a\r\n    name: A\r\n"
        );
        // A file whose top-level keys are all indented.
        let mut e = Editor::new("  code: S01\n").unwrap();
        e.append_item("people", &fields(&[("id", "a")])).unwrap();
        assert_eq!(
            e.finish().unwrap().text,
            "  code: S01\n  people:\n    - id: a\n"
        );
    }

    #[test]
    fn removing_every_item_and_adding_one_keeps_a_block_list() {
        let doc = "people:\n- id: a\n  name: A\n";
        let mut e = Editor::new(doc).unwrap();
        e.remove_item("/people/0").unwrap();
        e.append_item("people", &fields(&[("id", "b"), ("name", "B")]))
            .unwrap();
        assert_eq!(e.finish().unwrap().text, "people:\n- id: b\n  name: B\n");
    }

    #[test]
    fn scalars_are_quoted_only_when_they_must_be() {
        assert_eq!(scalar("Nguyễn Văn An"), "Nguyễn Văn An");
        assert_eq!(scalar("H'Hen Niê"), "H'Hen Niê");
        assert_eq!(scalar("'a"), "\"'a\"");
        assert_eq!(scalar("03646"), "\"03646\"");
        assert_eq!(scalar("true"), "\"true\"");
        assert_eq!(scalar("Trưởng phòng: Kinh tế"), "\"Trưởng phòng: Kinh tế\"");
        assert_eq!(scalar("- x"), "\"- x\"");
        assert_eq!(scalar(""), "\"\"");
    }

    #[test]
    fn what_cannot_be_edited_safely_is_refused() {
        crate::i18n::with(crate::model::Language::En, refused)
    }

    fn refused() {
        let doc = "people:\n  - {id: a, name: A}\n  - id: b\n    name: >\n      B\n    title: Phó\n      Giám đốc\n    lock: {reason: spam}\n";
        let mut e = Editor::new(doc).unwrap();
        assert!(
            e.set("/people/0", "title", "x", &[])
                .unwrap_err()
                .contains("flow style")
        );
        assert!(
            e.set("/people/1", "name", "x", &[])
                .unwrap_err()
                .contains("not on one line")
        );
        e.remove_key("/people/1", "lock").unwrap();
        e.remove_item("/people/1").unwrap();
        assert_eq!(e.finish().unwrap_err(), "two edits touch the same lines");
        let flow = "people: [{id: a}]\n";
        let mut e = Editor::new(flow).unwrap();
        assert!(e.append_item("people", &fields(&[("id", "b")])).is_err());
        assert!(Editor::new("people: [\n").is_err());
    }
}
