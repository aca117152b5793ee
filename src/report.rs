//! The result report of a commit the continuous runner took up: the answer
//! to the request that the commit carried. What was done, what failed and
//! why, what waits for approval, or why nothing was applied (an invalid or
//! unverified commit). Written as markdown and JSON into a reports folder,
//! and optionally POSTed as JSON to a notification URL. Never holds a secret.

use crate::apply::Outcome;
use crate::git::CommitInfo;
use crate::model::Language;
use crate::plan::{Change, Summary};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Result {
    /// Every planned action was carried out.
    Applied,
    /// Applied, but some actions were refused (they are retried).
    PartlyApplied,
    /// The commit asked for nothing the directory did not already have.
    NoChange,
    /// Nothing was done: deletions wait for a person's approval.
    Held,
    /// The repository at this commit breaks the rules: nothing applied.
    Invalid,
    /// A commit is unsigned or badly signed: nothing applied.
    Unverified,
    /// The plan found entries in the way that hopthu does not own.
    Conflicts,
    /// The live directory was changed by hand and `driftPolicy: report`.
    DriftReported,
    /// The cycle stopped on an error (fetch, read, plan): nothing applied.
    Failed,
}

impl Result {
    pub fn as_str(self) -> &'static str {
        match self {
            Result::Applied => "applied",
            Result::PartlyApplied => "partly-applied",
            Result::NoChange => "no-change",
            Result::Held => "held",
            Result::Invalid => "invalid",
            Result::Unverified => "unverified",
            Result::Conflicts => "conflicts",
            Result::DriftReported => "drift-reported",
            Result::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// RFC 3339, UTC.
    pub time: String,
    pub commit: CommitInfo,
    pub result: Result,
    #[serde(default)]
    pub summary: Summary,
    /// What was carried out, and what was refused with the server's words.
    #[serde(default)]
    pub outcomes: Vec<Outcome>,
    /// Deletions waiting for a person's approval, and what releases them.
    #[serde(default)]
    pub held: Vec<Change>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub held_fingerprint: Option<String>,
    /// Why deletions are held: `history-rewritten`, `too-many` or `all-managed`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub held_reason: Option<String>,
    /// The command that approves the held deletions.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub approve_with: Option<String>,
    /// Validation errors (an invalid commit).
    #[serde(default)]
    pub problems: Vec<Problem>,
    /// Changes made by hand in the directory (drift).
    #[serde(default)]
    pub drift: Vec<Change>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub backup: Option<String>,
    pub language: Language,
}

fn t(lang: Language, vi: &'static str, en: &'static str) -> &'static str {
    match lang {
        Language::Vi => vi,
        Language::En => en,
    }
}

fn result_text(r: Result, lang: Language) -> &'static str {
    match r {
        Result::Applied => t(lang, "Đã thực hiện xong", "Applied"),
        Result::PartlyApplied => t(
            lang,
            "Đã thực hiện một phần (phần lỗi sẽ được thử lại)",
            "Partly applied (what failed is retried)",
        ),
        Result::NoChange => t(lang, "Không có gì cần thay đổi", "Nothing to change"),
        Result::Held => t(
            lang,
            "Chưa thu hồi: các lệnh thu hồi đang chờ phê duyệt",
            "Nothing deleted: the deletions wait for approval",
        ),
        Result::Invalid => t(
            lang,
            "Không thực hiện: yêu cầu có lỗi",
            "Not applied: the request has errors",
        ),
        Result::Unverified => t(
            lang,
            "Không thực hiện: commit chưa được ký hợp lệ",
            "Not applied: a commit is not validly signed",
        ),
        Result::Conflicts => t(
            lang,
            "Thực hiện một phần: có hộp thư không do hopthu quản lý chắn địa chỉ",
            "Partly applied: mailboxes hopthu does not manage hold wanted addresses",
        ),
        Result::DriftReported => t(
            lang,
            "Thư mục đã bị sửa tay; chỉ báo cáo, không sửa lại",
            "The directory was changed by hand; reported, not corrected",
        ),
        Result::Failed => t(lang, "Không thực hiện: lỗi", "Not applied: an error"),
    }
}

impl RunReport {
    pub fn markdown(&self) -> String {
        let lang = self.language;
        let mut out = String::new();
        let short = &self.commit.id[..self.commit.id.len().min(12)];
        let _ = writeln!(out, "## hopthu: {}\n", result_text(self.result, lang));
        let _ = writeln!(
            out,
            "{} `{short}` — {} ({})\n",
            t(lang, "Yêu cầu", "Request"),
            self.commit.summary,
            self.commit.author
        );
        if let Some(e) = &self.error {
            let _ = writeln!(out, "**{}**: {e}\n", t(lang, "Lỗi", "Error"));
        }
        if !self.problems.is_empty() {
            let _ = writeln!(
                out,
                "{}\n",
                t(lang, "Cần sửa trong kho:", "To fix in the repository:")
            );
            for p in &self.problems {
                let _ = write!(
                    out,
                    "- `{}:{}:{}` {}: {}",
                    p.file, p.line, p.column, p.code, p.message
                );
                if let Some(h) = &p.hint {
                    let _ = write!(out, " ({h})");
                }
                out.push('\n');
            }
            out.push('\n');
        }
        let done: Vec<&Outcome> = self.outcomes.iter().filter(|o| o.error.is_none()).collect();
        let failed: Vec<&Outcome> = self.outcomes.iter().filter(|o| o.error.is_some()).collect();
        if !done.is_empty() {
            let _ = writeln!(
                out,
                "| {} | {} | |",
                t(lang, "việc", "action"),
                t(lang, "hộp thư", "mailbox")
            );
            let _ = writeln!(out, "|---|---|---|");
            for o in &done {
                let _ = writeln!(
                    out,
                    "| {} | `{}` | {} |",
                    crate::render::word(o.action, lang),
                    o.address,
                    o.from
                        .as_deref()
                        .map(|f| format!("← `{f}`"))
                        .unwrap_or_default()
                );
            }
            out.push('\n');
        }
        if !failed.is_empty() {
            let _ = writeln!(
                out,
                "**{}**\n",
                t(
                    lang,
                    "Không thực hiện được (sẽ thử lại):",
                    "Failed (retried next time):"
                )
            );
            for o in &failed {
                let _ = writeln!(
                    out,
                    "- {} `{}`: {}",
                    crate::render::word(o.action, lang),
                    o.address,
                    o.error.as_deref().unwrap_or_default()
                );
            }
            out.push('\n');
        }
        if !self.held.is_empty() {
            let why = match self.held_reason.as_deref() {
                Some("history-rewritten") => t(
                    lang,
                    "lịch sử git đã bị viết lại (force-push)",
                    "the git history was rewritten (force-push)",
                ),
                Some("all-managed") => t(
                    lang,
                    "kế hoạch thu hồi mọi hộp thư hopthu quản lý",
                    "the plan deletes every mailbox hopthu manages",
                ),
                _ => t(
                    lang,
                    "nhiều hơn số lệnh thu hồi cho phép mỗi lần",
                    "more than the deletions allowed per run",
                ),
            };
            let _ = writeln!(
                out,
                "**{} {} ({why}):**\n",
                self.held.len(),
                t(
                    lang,
                    "lệnh thu hồi đang tạm giữ, chờ phê duyệt",
                    "deletions held for approval"
                ),
            );
            for c in &self.held {
                let _ = writeln!(out, "- `{}` ({})", c.address, c.key);
            }
            if let Some(cmd) = &self.approve_with {
                let _ = writeln!(
                    out,
                    "\n{} `{cmd}`",
                    t(lang, "Phê duyệt bằng:", "Approve with:")
                );
            }
            out.push('\n');
        }
        if !self.drift.is_empty() {
            let _ = writeln!(
                out,
                "**{}:**\n",
                t(
                    lang,
                    "Khác biệt do sửa tay trong thư mục",
                    "Changed by hand in the directory"
                )
            );
            for c in &self.drift {
                let _ = writeln!(
                    out,
                    "- {} `{}` ({})",
                    crate::render::word(c.action, lang),
                    c.address,
                    c.key
                );
            }
            out.push('\n');
        }
        if let Some(b) = &self.backup {
            let _ = writeln!(
                out,
                "{} `{b}`\n",
                t(
                    lang,
                    "Sao lưu các hộp thư đã thu hồi:",
                    "Backup of the deleted mailboxes:"
                )
            );
        }
        let _ = writeln!(out, "_{}: {}_", t(lang, "Thời điểm", "Time"), self.time);
        out
    }

    /// Write `<dir>/<time>-<commit>.json` and `.md`, each atomically.
    pub fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        // Reports sort by when they were written, to the millisecond.
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%3fZ").to_string();
        let short = &self.commit.id[..self.commit.id.len().min(12)];
        let base = dir.join(format!("{stamp}-{short}"));
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        crate::fsutil::write_atomic(&base.with_extension("json"), json.as_bytes())?;
        crate::fsutil::write_atomic(&base.with_extension("md"), self.markdown().as_bytes())?;
        Ok(base.with_extension("md"))
    }
}

/// POST the report as JSON. Failures are the caller's to log: a report
/// that cannot be delivered never stops the reconciler.
pub async fn notify(url: &str, report: &RunReport) -> std::result::Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let host = crate::git::host_only(url);
    let resp = client.post(url).json(report).send().await.map_err(|e| {
        let e = e.without_url();
        crate::tr!(
            "không gửi được báo cáo tới {host}: {e}",
            "cannot send the report to {host}: {e}"
        )
    })?;
    let status = resp.status();
    if !status.is_success() {
        return Err(crate::tr!(
            "{host} trả lời {status} cho báo cáo",
            "{host} answered {status} to the report"
        ));
    }
    Ok(())
}
