//! `hopthu codeowners`: the repository's CODEOWNERS file, written from
//! `reviewers` in `hopthu.yaml`. The default owners own every file
//! (`*`), `hopthu.yaml` and `schema/`; each agency named in
//! `reviewers.agencies` (by abbreviation or code) owns the file that
//! declares it. Pure: the caller reads the repository and writes the file.

use crate::desired::{DesiredMailbox, MailboxKind};
use crate::model::{Language, Reviewers};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "CODEOWNERS";

/// Whose CODEOWNERS syntax to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Gitignore-like patterns; the last matching line wins.
    Github,
    /// As GitHub's (GitLab reads the same lines).
    Gitlab,
    /// Go regular expressions matching the whole path; every matching line
    /// adds its owners.
    Gitea,
}

impl Flavor {
    /// Where the forge looks for the file, in its order.
    fn locations(self) -> &'static [&'static str] {
        match self {
            Flavor::Github => &[".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"],
            Flavor::Gitlab => &["CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS"],
            Flavor::Gitea => &["CODEOWNERS", "docs/CODEOWNERS", ".gitea/CODEOWNERS"],
        }
    }
}

/// The file to write when none is given: the one the forge already reads
/// (the first of its locations that exists), or `CODEOWNERS` at the top of
/// the repository.
pub fn default_path(top: &Path, flavor: Flavor) -> PathBuf {
    flavor
        .locations()
        .iter()
        .map(|l| top.join(l))
        .find(|p| p.is_file())
        .unwrap_or_else(|| top.join(FILE_NAME))
}

/// The top folder of the git repository holding `root` (ROOT itself
/// outside git), and ROOT's path inside it (`/`-separated, empty at the top).
pub fn repository_top(root: &Path) -> std::io::Result<(PathBuf, String)> {
    let canonical = root.canonicalize()?;
    let top = git2::Repository::discover(&canonical)
        .ok()
        .and_then(|r| r.workdir().and_then(|w| w.canonicalize().ok()));
    Ok(match top {
        Some(top) if canonical.starts_with(&top) => {
            let prefix = canonical
                .strip_prefix(&top)
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            (top, prefix)
        }
        _ => (canonical, String::new()),
    })
}

/// What was written, for the message after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    pub text: String,
    /// Agencies with reviewers of their own.
    pub owned: usize,
    /// Agencies reviewed by the default owners only.
    pub default_only: usize,
}

/// A path as a gitignore-like pattern, anchored at the top: characters
/// that patterns give a meaning are escaped.
fn glob_path(path: &str) -> String {
    let mut out = String::from("/");
    for c in path.chars() {
        if matches!(c, ' ' | '*' | '?' | '[' | ']' | '\\' | '#' | '!') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A path as a Go regular expression for Gitea, with its own escapes for
/// spaces and `#`.
fn regex_path(path: &str) -> String {
    let mut out = String::new();
    for c in path.chars() {
        match c {
            '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' => {
                out.push('\\');
                out.push(c);
            }
            // A backslash is escaped for the regexp, then for the file.
            '\\' => out.push_str("\\\\\\\\"),
            ' ' | '#' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

fn join(prefix: &str, path: &str) -> String {
    if prefix.is_empty() {
        path.to_string()
    } else {
        format!("{prefix}/{path}")
    }
}

/// The CODEOWNERS text. `desired` are the mailboxes of a valid repository
/// (its agency mailboxes name each agency's file); `prefix` is ROOT's path
/// inside the git repository.
pub fn render(
    reviewers: &Reviewers,
    desired: &[DesiredMailbox],
    prefix: &str,
    flavor: Flavor,
    lang: Language,
) -> Generated {
    // Each agency: (file, name, abbr, code).
    let agencies: Vec<&DesiredMailbox> = desired
        .iter()
        .filter(|m| m.kind == MailboxKind::Agency)
        .collect();
    // Codes first (they never change), then abbreviations.
    let find = |key: &str| {
        agencies
            .iter()
            .find(|m| m.agency_code == key)
            .or_else(|| agencies.iter().find(|m| m.agency_abbr == key))
    };
    let mut owners: BTreeMap<String, (&DesiredMailbox, Vec<String>)> = BTreeMap::new();
    for (key, list) in &reviewers.agencies {
        let Some(m) = find(key) else { continue };
        let slot = owners
            .entry(m.file.clone())
            .or_insert_with(|| (m, Vec::new()));
        for r in list {
            if !slot.1.contains(&r.0) {
                slot.1.push(r.0.clone());
            }
        }
    }
    owners.retain(|_, (_, list)| !list.is_empty());
    let default: Vec<String> = {
        let mut d: Vec<String> = Vec::new();
        for r in &reviewers.default {
            if !d.contains(&r.0) {
                d.push(r.0.clone());
            }
        }
        d
    };
    let path = |p: &str| match flavor {
        Flavor::Gitea => regex_path(&join(prefix, p)),
        _ => glob_path(&join(prefix, p)),
    };
    let folder = |p: &str| match flavor {
        Flavor::Gitea => format!("{}/.*", regex_path(&join(prefix, p))),
        _ => format!("{}/", glob_path(&join(prefix, p))),
    };
    let mut out = String::new();
    let header = match lang {
        Language::Vi => [
            "# CODEOWNERS: ai duyệt thay đổi của từng tệp trong kho hộp thư.",
            "# Tệp này do `hopthu codeowners` viết từ mục `reviewers` của hopthu.yaml:",
            "# hãy sửa mục đó rồi chạy lại `hopthu codeowners`, đừng sửa tệp này.",
        ],
        Language::En => [
            "# CODEOWNERS: who reviews each file of the mailbox repository.",
            "# Written by `hopthu codeowners` from `reviewers` in hopthu.yaml:",
            "# change that, then run `hopthu codeowners` again; do not edit this file.",
        ],
    };
    for l in header {
        let _ = writeln!(out, "{l}");
    }
    let rule = match (flavor, lang) {
        (Flavor::Gitea, Language::Vi) => {
            "# (Gitea: mẫu là biểu thức chính quy; mọi dòng khớp đều thêm người duyệt.)"
        }
        (Flavor::Gitea, Language::En) => {
            "# (Gitea: patterns are regular expressions; every matching line adds owners.)"
        }
        (_, Language::Vi) => "# (Dòng cuối cùng khớp với một tệp quyết định người duyệt tệp đó.)",
        (_, Language::En) => "# (The last line that matches a file names its owners.)",
    };
    let _ = writeln!(out, "{rule}");
    if !default.is_empty() {
        let owners = default.join(" ");
        let _ = writeln!(out);
        let all = match flavor {
            Flavor::Gitea => ".*",
            _ => "*",
        };
        let _ = writeln!(out, "{all} {owners}");
        let _ = writeln!(out, "{} {owners}", path(crate::source::SETTINGS_FILE));
        let _ = writeln!(out, "{} {owners}", folder("schema"));
    }
    for (file, (m, list)) in &owners {
        let _ = writeln!(out);
        let _ = writeln!(out, "# {} ({})", m.display_name, m.agency_abbr);
        let _ = writeln!(out, "{} {}", path(file), list.join(" "));
    }
    let default_only = agencies.len() - owners.len();
    if default_only > 0 {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{}",
            match (lang, default.is_empty()) {
                (Language::Vi, false) => format!(
                    "# {default_only} cơ quan khác chưa có người duyệt riêng: người duyệt mặc định duyệt tệp của họ."
                ),
                (Language::Vi, true) => format!(
                    "# {default_only} cơ quan khác chưa có người duyệt riêng, và không có người duyệt mặc định."
                ),
                (Language::En, false) => format!(
                    "# {default_only} other agencies have no reviewers of their own: the default owners review their files."
                ),
                (Language::En, true) => format!(
                    "# {default_only} other agencies have no reviewers of their own, and there are no default owners."
                ),
            }
        );
    }
    Generated {
        text: out,
        owned: owners.len(),
        default_only,
    }
}

/// The first line where two texts differ (1-based), for `--check`.
pub fn first_difference(a: &str, b: &str) -> Option<usize> {
    if a == b {
        return None;
    }
    let mut la = a.lines();
    let mut lb = b.lines();
    let mut n = 1;
    loop {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => n += 1,
            (None, None) => return Some(n),
            _ => return Some(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_escaped_for_each_syntax() {
        assert_eq!(glob_path("agencies/sở a.yaml"), "/agencies/sở\\ a.yaml");
        assert_eq!(
            glob_path("agencies/[x]#1.yaml"),
            "/agencies/\\[x\\]\\#1.yaml"
        );
        assert_eq!(regex_path("agencies/a b.yaml"), "agencies/a\\ b\\.yaml");
        assert_eq!(regex_path("x(1)+.yaml"), "x\\(1\\)\\+\\.yaml");
    }

    #[test]
    fn the_first_difference_is_a_line_number() {
        assert_eq!(first_difference("a\nb\n", "a\nb\n"), None);
        assert_eq!(first_difference("a\nb\n", "a\nc\n"), Some(2));
        assert_eq!(first_difference("a\n", "a\nb\n"), Some(2));
    }
}
