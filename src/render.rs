//! Plans and apply reports as people read them: coloured `+ ~ -` lines in a
//! terminal, markdown in a pull-request comment. JSON is the plan itself.

use crate::apply::Report;
use crate::model::Language;
use crate::plan::{Action, Change, Plan};
use std::fmt::Write as _;

struct Paint {
    green: &'static str,
    yellow: &'static str,
    red: &'static str,
    cyan: &'static str,
    bold: &'static str,
    off: &'static str,
    /// Before each change: two spaces on a terminal, none in a diff block
    /// (whose lines must start with the sign).
    indent: &'static str,
}

fn paint(color: bool) -> Paint {
    if color {
        Paint {
            green: "\x1b[32m",
            yellow: "\x1b[33m",
            red: "\x1b[31m",
            cyan: "\x1b[36m",
            bold: "\x1b[1m",
            off: "\x1b[0m",
            indent: "  ",
        }
    } else {
        Paint {
            green: "",
            yellow: "",
            red: "",
            cyan: "",
            bold: "",
            off: "",
            indent: "  ",
        }
    }
}

fn sign(a: Action) -> &'static str {
    match a {
        Action::Create => "+",
        Action::Delete => "-",
        Action::Lock => "!",
        _ => "~",
    }
}

pub(crate) fn word(a: Action, lang: Language) -> &'static str {
    match (a, lang) {
        (Action::Create, Language::Vi) => "tạo mới",
        (Action::Rename, Language::Vi) => "đổi tên",
        (Action::Update, Language::Vi) => "cập nhật",
        (Action::Lock, Language::Vi) => "khóa",
        (Action::Unlock, Language::Vi) => "mở khóa",
        (Action::Delete, Language::Vi) => "thu hồi",
        (a, Language::En) => a.as_str(),
    }
}

fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Array(a) if a.len() == 1 => value_text(&a[0]),
        serde_json::Value::Array(a) => format!(
            "[{}]",
            a.iter().map(value_text).collect::<Vec<_>>().join(", ")
        ),
        serde_json::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn change_lines(out: &mut String, c: &Change, lang: Language, p: &Paint) {
    let color = match c.action {
        Action::Create => p.green,
        Action::Delete => p.red,
        Action::Lock | Action::Unlock => p.cyan,
        _ => p.yellow,
    };
    let _ = write!(
        out,
        "{}{color}{} {:<9}{} {}",
        p.indent,
        sign(c.action),
        word(c.action, lang),
        p.off,
        c.address
    );
    if let Some(from) = &c.from {
        let _ = write!(out, " ← {from}");
    }
    let _ = writeln!(out, "  ({})", c.key);
    if c.action == Action::Create
        && c.attributes.get("status").and_then(|v| v.as_str()) == Some("locked")
    {
        let _ = writeln!(
            out,
            "      {}",
            match lang {
                Language::Vi => "tạo ở trạng thái khóa",
                Language::En => "created locked",
            }
        );
    }
    if let (Action::Rename, Some(until)) = (
        c.action,
        c.attributes.get("oldAddressUntil").and_then(|v| v.as_str()),
    ) {
        let from = c.from.as_deref().unwrap_or_default();
        let _ = writeln!(
            out,
            "      {}",
            match lang {
                Language::Vi => format!("{from} vẫn nhận thư đến hết {until}"),
                Language::En => format!("{from} keeps delivering until {until}"),
            }
        );
    }
    if c.action == Action::Unlock {
        let _ = writeln!(
            out,
            "      {}",
            match lang {
                Language::Vi =>
                    "khôi phục: mật khẩu mới (vào tệp mật khẩu), phải đổi khi đăng nhập lần đầu",
                Language::En =>
                    "restore: a new password (to the credentials file), to be changed at the next login",
            }
        );
    }
    if c.action == Action::Update || c.action == Action::Lock {
        for (k, v) in &c.attributes {
            match (v.get("from"), v.get("to")) {
                (Some(f), Some(t)) => {
                    let _ = writeln!(out, "      {k}: {} → {}", value_text(f), value_text(t));
                }
                _ => {
                    let _ = writeln!(out, "      {k}: {}", value_text(v));
                }
            }
        }
    }
}

/// `2 created, 1 renamed` (only what is not zero); empty for nothing.
pub fn summary_counts(s: &crate::plan::Summary, lang: Language) -> String {
    let parts: [(usize, &str, &str); 6] = [
        (s.create, "tạo mới", "created"),
        (s.rename, "đổi tên", "renamed"),
        (s.update, "cập nhật", "updated"),
        (s.lock, "khóa", "locked"),
        (s.unlock, "mở khóa", "unlocked"),
        (s.delete, "thu hồi", "deleted"),
    ];
    parts
        .iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, vi, en)| match lang {
            Language::Vi => format!("{vi} {n}"),
            Language::En => format!("{n} {en}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn summary_line(plan: &Plan, lang: Language) -> String {
    let s = &plan.summary;
    let held = plan.held.len();
    match lang {
        Language::Vi => format!(
            "Kế hoạch: tạo mới {}, đổi tên {}, cập nhật {}, khóa {}, mở khóa {}, thu hồi {}{}.",
            s.create,
            s.rename,
            s.update,
            s.lock,
            s.unlock,
            s.delete,
            if held > 0 {
                format!(" (và {held} lệnh thu hồi đang tạm giữ)")
            } else {
                String::new()
            }
        ),
        Language::En => format!(
            "Plan: {} to create, {} to rename, {} to update, {} to lock, {} to unlock, {} to delete{}.",
            s.create,
            s.rename,
            s.update,
            s.lock,
            s.unlock,
            s.delete,
            if held > 0 {
                format!(" (and {held} deletions held)")
            } else {
                String::new()
            }
        ),
    }
}

/// The command that releases held deletions, as the operator can paste it.
fn approve_command(plan: &Plan, command: Option<&str>) -> String {
    let fp = plan.held_fingerprint.as_deref().unwrap_or_default();
    match command {
        Some(c) => format!("{c} --approve-deletes {fp}"),
        None => format!("hopthu apply ROOT --live URL --approve-deletes {fp}"),
    }
}

pub fn human(plan: &Plan, lang: Language, color: bool) -> String {
    human_with(plan, lang, color, None)
}

/// `human`, naming in the hint about held deletions the exact command
/// (`hopthu apply directory --live ldif:live.ldif --yes`) that approves them.
pub fn human_with(plan: &Plan, lang: Language, color: bool, apply_command: Option<&str>) -> String {
    let p = paint(color);
    let mut out = String::new();
    if !plan.setup.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            match lang {
                Language::Vi => "Chuẩn bị thư mục:",
                Language::En => "Directory setup:",
            }
        );
        for dn in &plan.setup {
            let _ = writeln!(out, "  {}+ {dn}{}", p.green, p.off);
        }
    }
    for c in &plan.changes {
        change_lines(&mut out, c, lang, &p);
    }
    if !plan.conflicts.is_empty() {
        let _ = writeln!(
            out,
            "\n{}{}{}",
            p.red,
            match lang {
                Language::Vi => "LỖI: các hộp thư sau không thể xử lý (không thay đổi gì):",
                Language::En => "ERROR: these mailboxes cannot be reconciled (left untouched):",
            },
            p.off
        );
        for c in &plan.conflicts {
            let _ = writeln!(out, "  {} ({}): {}: {}", c.address, c.key, c.dn, c.reason);
        }
    }
    if !plan.held.is_empty() {
        let cmd = approve_command(plan, apply_command);
        let _ = writeln!(
            out,
            "\n{}{}{}",
            p.red,
            match lang {
                Language::Vi => format!(
                    "⚠ TẠM GIỮ {} lệnh thu hồi hộp thư ({}): chưa xóa gì. Kiểm tra danh sách rồi phê duyệt bằng:\n    {cmd}",
                    plan.held.len(),
                    held_reason(plan, lang)
                ),
                Language::En => format!(
                    "⚠ HELD: {} deletions ({}): nothing is deleted. Review them, then approve with:\n    {cmd}",
                    plan.held.len(),
                    held_reason(plan, lang)
                ),
            },
            p.off
        );
        for c in &plan.held {
            let _ = writeln!(out, "  {}- {}{} ({})", p.red, c.address, p.off, c.key);
        }
    }
    if plan.is_empty() && plan.held.is_empty() && plan.conflicts.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            match lang {
                Language::Vi => "Không có gì thay đổi: thư mục đã khớp với kho.",
                Language::En => "No changes: the directory matches the repository.",
            }
        );
    } else {
        let _ = writeln!(out, "\n{}{}{}", p.bold, summary_line(plan, lang), p.off);
    }
    out
}

fn held_reason(plan: &Plan, lang: Language) -> &'static str {
    held_reason_words(plan.held_reason.as_deref(), lang)
}

/// Why deletions are held (`too-many`, `all-managed`,
/// `history-rewritten`), in words.
pub fn held_reason_words(reason: Option<&str>, lang: Language) -> &'static str {
    match (reason, lang) {
        (Some("history-rewritten"), Language::Vi) => {
            "lịch sử git đã bị viết lại: mọi lệnh thu hồi cần phê duyệt"
        }
        (Some("history-rewritten"), Language::En) => {
            "the git history was rewritten: every deletion needs approval"
        }
        (Some("all-managed"), Language::Vi) => "kế hoạch thu hồi mọi hộp thư hopthu quản lý",
        (Some("all-managed"), Language::En) => "the plan deletes every mailbox hopthu manages",
        (_, Language::Vi) => "nhiều hơn policy.maxDeletesPerRun",
        (_, Language::En) => "more than policy.maxDeletesPerRun",
    }
}

pub fn markdown(plan: &Plan, lang: Language) -> String {
    let mut out = String::new();
    let title = match lang {
        Language::Vi => "### hopthu: kế hoạch thay đổi hộp thư",
        Language::En => "### hopthu: mailbox plan",
    };
    let _ = writeln!(out, "{title}\n");
    let s = &plan.summary;
    let heads = match lang {
        Language::Vi => [
            "Tạo mới",
            "Đổi tên",
            "Cập nhật",
            "Khóa",
            "Mở khóa",
            "Thu hồi",
        ],
        Language::En => ["Create", "Rename", "Update", "Lock", "Unlock", "Delete"],
    };
    let _ = writeln!(out, "| {} |", heads.join(" | "));
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} |\n",
        s.create, s.rename, s.update, s.lock, s.unlock, s.delete
    );
    if !plan.held.is_empty() {
        let _ = writeln!(
            out,
            "> **⚠ {}** `{}`\n",
            match lang {
                Language::Vi => format!(
                    "Tạm giữ {} lệnh thu hồi ({}), cần phê duyệt:",
                    plan.held.len(),
                    held_reason(plan, lang)
                ),
                Language::En => format!(
                    "{} deletions held for approval ({}):",
                    plan.held.len(),
                    held_reason(plan, lang)
                ),
            },
            approve_command(plan, None)
        );
    }
    for c in &plan.conflicts {
        let _ = writeln!(out, "- ❌ `{}` ({}): {}", c.address, c.key, c.reason);
    }
    if !plan.changes.is_empty() || !plan.held.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{}</summary>\n",
            match lang {
                Language::Vi => "Chi tiết",
                Language::En => "Details",
            }
        );
        let _ = writeln!(out, "```diff");
        let p = Paint {
            indent: "",
            ..paint(false)
        };
        for c in &plan.changes {
            change_lines(&mut out, c, lang, &p);
        }
        if !plan.held.is_empty() {
            let _ = writeln!(
                out,
                "# {}",
                match lang {
                    Language::Vi => "tạm giữ, chờ phê duyệt (chưa xóa):",
                    Language::En => "held for approval (not deleted):",
                }
            );
            for c in &plan.held {
                let _ = writeln!(
                    out,
                    "! {:<9} {}  ({})",
                    word(c.action, lang),
                    c.address,
                    c.key
                );
            }
        }
        let _ = writeln!(out, "```\n</details>");
    }
    if plan.is_empty() && plan.held.is_empty() && plan.conflicts.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            match lang {
                Language::Vi => "Không có gì thay đổi.",
                Language::En => "No changes.",
            }
        );
    }
    out
}

pub fn report_human(r: &Report, lang: Language) -> String {
    let mut out = String::new();
    for o in r.outcomes.iter().filter(|o| o.error.is_some()) {
        let _ = writeln!(
            out,
            "{} {} {} ({}): {}",
            match lang {
                Language::Vi => "THẤT BẠI",
                Language::En => "FAILED",
            },
            word(o.action, lang),
            o.address,
            o.key,
            o.error.as_deref().unwrap_or_default()
        );
    }
    if let Some(b) = &r.backup {
        let _ = writeln!(
            out,
            "{} {b}",
            match lang {
                Language::Vi => "Bản sao lưu các hộp thư đã thu hồi:",
                Language::En => "Backup of the deleted entries:",
            }
        );
    }
    let _ = writeln!(
        out,
        "{}",
        match lang {
            Language::Vi => format!(
                "Áp dụng xong: {} thành công, {} thất bại{}.",
                r.done,
                r.failed,
                if r.held > 0 {
                    format!(", {} lệnh thu hồi đang tạm giữ", r.held)
                } else {
                    String::new()
                }
            ),
            Language::En => format!(
                "Apply complete: {} done, {} failed{}.",
                r.done,
                r.failed,
                if r.held > 0 {
                    format!(", {} deletions held", r.held)
                } else {
                    String::new()
                }
            ),
        }
    );
    out
}
