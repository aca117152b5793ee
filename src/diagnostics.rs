//! Diagnostics: what is wrong, where, and what to do about it; rendered like
//! rustc for people, as JSON for tools and as GitHub workflow annotations.

use serde::Serialize;
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: &'static str,
    /// Relative to the repository root, `/`-separated.
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// JSON pointer into the document (`/people/3/address`), empty for the file.
    pub pointer: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The offending source line, for the caret display: from its char
    /// `source_from` on (a very long line is kept only around the column).
    #[serde(skip)]
    pub source_line: Option<String>,
    #[serde(skip)]
    pub source_from: usize,
    /// How many characters the caret underlines.
    #[serde(skip)]
    pub width: usize,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Sort by file, position and code so output is stable run to run.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(compare);
}

/// The order of [`sort`].
pub fn compare(a: &Diagnostic, b: &Diagnostic) -> std::cmp::Ordering {
    (&a.file, a.line, a.column, a.code, &a.message)
        .cmp(&(&b.file, b.line, b.column, b.code, &b.message))
}

/// How many characters of a source line are shown around the column.
pub const WINDOW: usize = 120;

/// The first character (counted from 0) of a source line shown for a
/// finding at `column`: a long line is shown as a window around it.
pub fn window_start(column: u32) -> usize {
    (column.saturating_sub(1) as usize).saturating_sub(WINDOW / 2)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Github,
    /// A GitLab Code Quality report.
    Gitlab,
}

/// Human output, rustc-like, with the source line and a caret.
pub fn render_human(d: &Diagnostic, color: bool, lang: crate::model::Language) -> String {
    let (sev, paint) = match (d.severity, lang) {
        (Severity::Error, crate::model::Language::Vi) => ("lỗi", "\x1b[1;31m"),
        (Severity::Error, crate::model::Language::En) => ("error", "\x1b[1;31m"),
        (Severity::Warning, crate::model::Language::Vi) => ("cảnh báo", "\x1b[1;33m"),
        (Severity::Warning, crate::model::Language::En) => ("warning", "\x1b[1;33m"),
    };
    let (on, blue, bold, off) = if color {
        (paint, "\x1b[1;34m", "\x1b[1m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    let mut out = String::new();
    let loc = if d.line > 0 {
        format!("{}:{}:{}", d.file, d.line, d.column)
    } else {
        d.file.clone()
    };
    let _ = writeln!(
        out,
        "{bold}{loc}:{off} {on}{sev}[{}]{off}{bold}: {}{off}",
        d.code, d.message
    );
    if let Some(src) = &d.source_line {
        let num = d.line.to_string();
        let pad = " ".repeat(num.len());
        // Very long lines are shown as a window around the column.
        let col = d.column.saturating_sub(1) as usize;
        let skip = window_start(d.column);
        // The text held may start later than the line does.
        let from = skip.saturating_sub(d.source_from);
        let mut shown: String = src
            .chars()
            .skip(from)
            .take(WINDOW)
            .map(|c| if c == '\t' { ' ' } else { c })
            .collect();
        let mut lead_len = col - skip;
        if skip > 0 {
            shown.insert(0, '…');
            lead_len += 1;
        }
        if src.chars().nth(from + WINDOW).is_some() {
            shown.push('…');
        }
        let lead: String = " ".repeat(lead_len);
        let _ = writeln!(out, "{blue}{pad} |{off}");
        let _ = writeln!(out, "{blue}{num} |{off} {shown}");
        let _ = writeln!(
            out,
            "{blue}{pad} |{off} {lead}{on}{}{off}",
            "^".repeat(d.width.max(1))
        );
        if let Some(h) = &d.hint {
            let label = match lang {
                crate::model::Language::Vi => "gợi ý",
                crate::model::Language::En => "hint",
            };
            let _ = writeln!(out, "{blue}{pad} ={off} {bold}{label}:{off} {h}");
        }
    } else if let Some(h) = &d.hint {
        let label = match lang {
            crate::model::Language::Vi => "gợi ý",
            crate::model::Language::En => "hint",
        };
        let _ = writeln!(out, "  = {bold}{label}:{off} {h}");
    }
    out
}

/// A GitHub Actions workflow command (`::error file=..::message`).
pub fn render_github(d: &Diagnostic) -> String {
    fn esc_data(s: &str) -> String {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    }
    fn esc_prop(s: &str) -> String {
        esc_data(s).replace(':', "%3A").replace(',', "%2C")
    }
    let level = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut msg = d.message.clone();
    if let Some(h) = &d.hint {
        msg.push_str(" — ");
        msg.push_str(h);
    }
    let mut props = format!("file={}", esc_prop(&d.file));
    if d.line > 0 {
        let _ = write!(props, ",line={},col={}", d.line, d.column);
    }
    let _ = write!(props, ",title={}", esc_prop(d.code));
    format!("::{level} {props}::{}", esc_data(&msg))
}

/// A GitLab Code Quality report (a JSON array of issues), shown in the
/// merge request when the job saves it as `artifacts:reports:codequality`.
/// `prefix` is ROOT's path from the top of the repository.
pub fn render_gitlab(diags: &[Diagnostic], prefix: &str) -> String {
    use sha2::{Digest, Sha256};
    let issues: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            let path = if prefix.is_empty() {
                d.file.clone()
            } else {
                format!("{prefix}/{}", d.file)
            };
            let mut description = d.message.clone();
            if let Some(h) = &d.hint {
                description.push_str(" — ");
                description.push_str(h);
            }
            let fingerprint = Sha256::digest(
                format!(
                    "{}\0{path}\0{}\0{}\0{}",
                    d.code, d.line, d.column, d.message
                )
                .as_bytes(),
            );
            serde_json::json!({
                "description": description,
                "check_name": d.code,
                "fingerprint": fingerprint.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                "severity": if d.is_error() { "major" } else { "minor" },
                "location": {"path": path, "lines": {"begin": d.line.max(1)}},
            })
        })
        .collect();
    serde_json::to_string_pretty(&issues).expect("issues serialize")
}

#[derive(Serialize)]
pub struct Report<'a> {
    pub valid: bool,
    pub errors: usize,
    pub warnings: usize,
    pub diagnostics: &'a [Diagnostic],
}

/// `omitted`: errors found but not listed (a file's errors past the first
/// thousand, which one E009 diagnostic stands for); they count.
pub fn render_json(diags: &[Diagnostic], omitted: usize) -> String {
    let listed = diags.iter().filter(|d| d.is_error()).count();
    let told = diags.iter().filter(|d| d.code == "E009").count();
    let report = Report {
        valid: listed == 0,
        errors: listed - told + omitted,
        warnings: diags.len() - listed,
        diagnostics: diags,
    };
    serde_json::to_string_pretty(&report).expect("diagnostics serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Language;

    fn sample() -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code: "E040",
            file: "agencies/skhcn.yaml".into(),
            line: 12,
            column: 14,
            pointer: "/people/3/address".into(),
            message: "the address does not follow the rules".into(),
            hint: Some("write `annv.skhcn`".into()),
            source_line: Some("    address: anv.skhcn".into()),
            source_from: 0,
            width: 8,
        }
    }

    #[test]
    fn human_output_points_a_caret_at_the_value() {
        let s = render_human(&sample(), false, Language::En);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(
            lines[0],
            "agencies/skhcn.yaml:12:14: error[E040]: the address does not follow the rules"
        );
        assert_eq!(lines[2], "12 |     address: anv.skhcn");
        assert_eq!(lines[3], "   |              ^^^^^^^^");
        assert_eq!(lines[4], "   = hint: write `annv.skhcn`");
    }

    #[test]
    fn a_line_held_from_its_window_shows_as_the_whole_line_does() {
        let line: String = (0..400)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        for column in [1u32, 50, 61, 62, 200, 341, 399, 400, 450] {
            let mut whole = sample();
            whole.column = column;
            whole.source_line = Some(line.clone());
            let from = window_start(column);
            let mut held = whole.clone();
            held.source_line = Some(line.chars().skip(from).take(WINDOW + 1).collect());
            held.source_from = from;
            assert_eq!(
                render_human(&held, false, Language::En),
                render_human(&whole, false, Language::En),
                "column {column}"
            );
        }
    }

    #[test]
    fn github_annotations_escape_their_properties() {
        let mut d = sample();
        d.message = "a, b: 100%\nnext".into();
        d.hint = None;
        assert_eq!(
            render_github(&d),
            "::error file=agencies/skhcn.yaml,line=12,col=14,title=E040::a, b: 100%25%0Anext"
        );
    }

    #[test]
    fn gitlab_code_quality_issues_name_the_file_from_the_top() {
        let v: serde_json::Value =
            serde_json::from_str(&render_gitlab(&[sample()], "directory")).unwrap();
        assert_eq!(v[0]["check_name"], "E040");
        assert_eq!(v[0]["severity"], "major");
        assert_eq!(v[0]["location"]["path"], "directory/agencies/skhcn.yaml");
        assert_eq!(v[0]["location"]["lines"]["begin"], 12);
        assert_eq!(v[0]["fingerprint"].as_str().unwrap().len(), 64);
        assert_eq!(
            v[0]["description"],
            "the address does not follow the rules — write `annv.skhcn`"
        );
    }

    #[test]
    fn json_report_counts_errors_and_warnings() {
        let mut w = sample();
        w.severity = Severity::Warning;
        let v: serde_json::Value = serde_json::from_str(&render_json(&[sample(), w], 0)).unwrap();
        assert_eq!(v["valid"], false);
        assert_eq!(v["errors"], 1);
        assert_eq!(v["warnings"], 1);
        assert_eq!(v["diagnostics"][0]["pointer"], "/people/3/address");
        assert_eq!(v["diagnostics"][0]["line"], 12);
    }
}
