//! The province's report (`hopthu report`): per agency, its mailboxes by
//! status (from the repository), the changes of a period (from the audit
//! log) and the proposals still open (branches `hopthu/propose/*` of the
//! repository not merged into HEAD). Rendered as markdown, as CSV, or as
//! one self-contained HTML page with a chart. A plain value: building it
//! reads nothing, rendering it writes nothing.

use crate::audit::AuditRecord;
use crate::audit_query::{AgencyIndex, in_period};
use crate::desired::DesiredMailbox;
use crate::model::{Language, Status};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// The prefix of proposal branches.
pub const PROPOSAL_PREFIX: &str = "hopthu/propose/";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    pub created: usize,
    pub renamed: usize,
    pub locked: usize,
    /// Unlocked: the mailbox restored.
    pub unlocked: usize,
    /// Deleted from the live directory.
    pub revoked: usize,
}

impl Changes {
    pub fn total(&self) -> usize {
        self.created + self.renamed + self.locked + self.unlocked + self.revoked
    }

    fn add(&mut self, o: &Changes) {
        self.created += o.created;
        self.renamed += o.renamed;
        self.locked += o.locked;
        self.unlocked += o.unlocked;
        self.revoked += o.revoked;
    }

    /// Count one record; false for actions that are not counted.
    fn count(&mut self, action: &str) -> bool {
        match action {
            "create" => self.created += 1,
            "rename" => self.renamed += 1,
            "lock" => self.locked += 1,
            "unlock" => self.unlocked += 1,
            "delete" => self.revoked += 1,
            _ => return false,
        }
        true
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgencyRow {
    pub code: String,
    pub abbr: String,
    pub name: String,
    pub active: usize,
    pub locked: usize,
    pub changes: Changes,
}

impl AgencyRow {
    pub fn mailboxes(&self) -> usize {
        self.active + self.locked
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Proposal {
    pub branch: String,
    /// The commit's day (UTC), YYYY-MM-DD.
    pub date: String,
    /// The first line of its message.
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Proposals {
    List {
        open: Vec<Proposal>,
    },
    /// ROOT is not in a git repository (or it cannot be read): why.
    Unavailable {
        reason: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub domain: String,
    pub since: NaiveDate,
    pub until: NaiveDate,
    /// By agency code.
    pub agencies: Vec<AgencyRow>,
    /// Changes whose agency could not be told (a mailbox no longer declared
    /// whose address carries no known abbreviation).
    pub unattributed: Changes,
    pub total: AgencyRow,
    pub proposals: Proposals,
    #[serde(skip)]
    pub lang: Language,
}

/// Build the report from the declared mailboxes, the audit records (only
/// successful ones of the period count) and the proposals.
pub fn build(
    domain: &str,
    desired: &[DesiredMailbox],
    records: &[AuditRecord],
    since: NaiveDate,
    until: NaiveDate,
    proposals: Proposals,
    lang: Language,
) -> Report {
    let index = AgencyIndex::new(desired);
    let mut rows: BTreeMap<String, AgencyRow> = index
        .agencies
        .values()
        .map(|a| {
            (
                a.code.clone(),
                AgencyRow {
                    code: a.code.clone(),
                    abbr: a.abbr.clone(),
                    name: a.name.clone(),
                    active: 0,
                    locked: 0,
                    changes: Changes::default(),
                },
            )
        })
        .collect();
    for m in desired {
        if let Some(row) = rows.get_mut(&m.agency_code) {
            match m.status {
                Status::Active => row.active += 1,
                Status::Locked => row.locked += 1,
            }
        }
    }
    let mut unattributed = Changes::default();
    for r in records
        .iter()
        .filter(|r| r.is_ok() && in_period(r, Some(since), Some(until)))
    {
        let row = index.agency_of(r).and_then(|code| rows.get_mut(&code));
        match row {
            Some(row) => {
                row.changes.count(&r.action);
            }
            None => {
                unattributed.count(&r.action);
            }
        }
    }
    let agencies: Vec<AgencyRow> = rows.into_values().collect();
    let mut total = AgencyRow {
        code: String::new(),
        abbr: String::new(),
        name: match lang {
            Language::Vi => "Toàn tỉnh".into(),
            Language::En => "Province".into(),
        },
        active: 0,
        locked: 0,
        changes: unattributed,
    };
    for a in &agencies {
        total.active += a.active;
        total.locked += a.locked;
        total.changes.add(&a.changes);
    }
    Report {
        domain: domain.to_string(),
        since,
        until,
        agencies,
        unattributed,
        total,
        proposals,
        lang,
    }
}

/// The branches `hopthu/propose/*` (local, or of a remote) of the
/// repository that holds `root`, whose tip HEAD does not contain yet;
/// oldest first.
pub fn open_proposals(root: &Path, lang: Language) -> Proposals {
    let vi = lang == Language::Vi;
    let repo = match git2::Repository::discover(root) {
        Ok(r) => r,
        Err(_) => {
            return Proposals::Unavailable {
                reason: if vi {
                    format!(
                        "{} không nằm trong một kho git: không liệt kê được đề xuất.",
                        root.display()
                    )
                } else {
                    format!(
                        "{} is not in a git repository: proposals cannot be listed.",
                        root.display()
                    )
                },
            };
        }
    };
    let head = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let branches = match repo.branches(None) {
        Ok(b) => b,
        Err(e) => {
            return Proposals::Unavailable {
                reason: format!(
                    "{}: {}",
                    if vi {
                        "không đọc được các nhánh"
                    } else {
                        "cannot read the branches"
                    },
                    e.message()
                ),
            };
        }
    };
    let mut open: BTreeMap<(String, String), Proposal> = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    for b in branches.flatten() {
        let (branch, kind) = b;
        let Ok(Some(name)) = branch.name() else {
            continue;
        };
        // `origin/hopthu/propose/x` is the same proposal as the local one.
        let short = match kind {
            git2::BranchType::Local => name,
            git2::BranchType::Remote => name.split_once('/').map_or(name, |(_, rest)| rest),
        };
        if !short.starts_with(PROPOSAL_PREFIX) {
            continue;
        }
        let Ok(tip) = branch.get().peel_to_commit() else {
            continue;
        };
        if let Some(h) = &head
            && crate::git::descends_from(&repo, h.id(), tip.id())
        {
            continue;
        }
        if !seen.insert((short.to_string(), tip.id())) {
            continue;
        }
        let date = chrono::DateTime::from_timestamp(tip.time().seconds(), 0)
            .map(|t| t.date_naive().to_string())
            .unwrap_or_default();
        let summary = String::from_utf8_lossy(tip.summary_bytes().unwrap_or_default()).into_owned();
        let shown = if kind == git2::BranchType::Local {
            short.to_string()
        } else {
            name.to_string()
        };
        open.insert(
            (date.clone(), shown.clone()),
            Proposal {
                branch: shown,
                date,
                summary,
            },
        );
    }
    Proposals::List {
        open: open.into_values().collect(),
    }
}

struct Words {
    title: &'static str,
    period: &'static str,
    code: &'static str,
    abbr: &'static str,
    agency: &'static str,
    mailboxes: &'static str,
    active: &'static str,
    locked: &'static str,
    created: &'static str,
    renamed: &'static str,
    locked_changes: &'static str,
    unlocked: &'static str,
    revoked: &'static str,
    totals: &'static str,
    by_status: &'static str,
    proposals: &'static str,
    no_proposal: &'static str,
    branch: &'static str,
    date: &'static str,
    summary: &'static str,
    unattributed: &'static str,
    chart_title: &'static str,
    chart_desc: &'static str,
    no_change: &'static str,
}

fn words(lang: Language) -> Words {
    match lang {
        Language::Vi => Words {
            title: "Báo cáo hệ thống thư công vụ",
            period: "Kỳ báo cáo",
            code: "Mã",
            abbr: "Viết tắt",
            agency: "Cơ quan",
            mailboxes: "Hộp thư",
            active: "Đang hoạt động",
            locked: "Đang khóa",
            created: "Tạo mới",
            renamed: "Đổi tên",
            locked_changes: "Bị khóa trong kỳ",
            unlocked: "Mở khóa",
            revoked: "Thu hồi",
            totals: "Tổng hợp toàn tỉnh",
            by_status: "Hộp thư theo trạng thái và thay đổi trong kỳ, theo cơ quan",
            proposals: "Đề xuất đang chờ",
            no_proposal: "Không có đề xuất nào đang chờ.",
            branch: "Nhánh",
            date: "Ngày",
            summary: "Nội dung",
            unattributed: "Thay đổi không xác định được cơ quan",
            chart_title: "Hộp thư theo trạng thái, theo cơ quan",
            chart_desc: "Biểu đồ thanh ngang: mỗi cơ quan một thanh, phần xanh là hộp thư đang hoạt động, phần cam là hộp thư đang khóa; số liệu đầy đủ ở bảng bên dưới.",
            no_change: "Không có thay đổi nào trong kỳ.",
        },
        Language::En => Words {
            title: "Official mail directory report",
            period: "Period",
            code: "Code",
            abbr: "Abbreviation",
            agency: "Agency",
            mailboxes: "Mailboxes",
            active: "Active",
            locked: "Locked",
            created: "Created",
            renamed: "Renamed",
            locked_changes: "Locked in period",
            unlocked: "Unlocked",
            revoked: "Revoked",
            totals: "Province totals",
            by_status: "Mailboxes by status and changes in the period, by agency",
            proposals: "Open proposals",
            no_proposal: "No open proposal.",
            branch: "Branch",
            date: "Date",
            summary: "Summary",
            unattributed: "Changes whose agency cannot be told",
            chart_title: "Mailboxes by status, by agency",
            chart_desc: "Horizontal bar chart: one bar per agency, the green part active mailboxes, the orange part locked ones; the full figures are in the table below.",
            no_change: "No change in the period.",
        },
    }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

impl Report {
    fn row_cells(&self, a: &AgencyRow) -> [String; 11] {
        [
            a.code.clone(),
            a.abbr.clone(),
            a.name.clone(),
            a.mailboxes().to_string(),
            a.active.to_string(),
            a.locked.to_string(),
            a.changes.created.to_string(),
            a.changes.renamed.to_string(),
            a.changes.locked.to_string(),
            a.changes.unlocked.to_string(),
            a.changes.revoked.to_string(),
        ]
    }

    fn headers(&self) -> [&'static str; 11] {
        let w = words(self.lang);
        [
            w.code,
            w.abbr,
            w.agency,
            w.mailboxes,
            w.active,
            w.locked,
            w.created,
            w.renamed,
            w.locked_changes,
            w.unlocked,
            w.revoked,
        ]
    }

    /// Markdown for a pull request or a report to the province.
    pub fn markdown(&self) -> String {
        let w = words(self.lang);
        let mut out = String::new();
        let _ = writeln!(out, "# {} — {}\n", w.title, self.domain);
        let _ = writeln!(out, "{}: {} → {}\n", w.period, self.since, self.until);
        let _ = writeln!(out, "## {}\n", w.totals);
        let t = &self.total;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            w.mailboxes,
            w.active,
            w.locked,
            w.created,
            w.renamed,
            w.locked_changes,
            w.unlocked,
            w.revoked
        );
        out.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            t.mailboxes(),
            t.active,
            t.locked,
            t.changes.created,
            t.changes.renamed,
            t.changes.locked,
            t.changes.unlocked,
            t.changes.revoked
        );
        let _ = writeln!(out, "## {}\n", w.by_status);
        let _ = writeln!(out, "| {} |", self.headers().join(" | "));
        out.push_str("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for a in &self.agencies {
            let cells: Vec<String> = self.row_cells(a).iter().map(|c| md_cell(c)).collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        let mut total_cells = self.row_cells(t);
        total_cells[2] = format!("**{}**", t.name);
        let _ = writeln!(out, "| {} |", total_cells.join(" | "));
        if self.unattributed.total() > 0 {
            let u = &self.unattributed;
            let _ = writeln!(
                out,
                "\n{}: {} {}, {} {}, {} {}, {} {}, {} {}.",
                w.unattributed,
                w.created,
                u.created,
                w.renamed,
                u.renamed,
                w.locked_changes,
                u.locked,
                w.unlocked,
                u.unlocked,
                w.revoked,
                u.revoked
            );
        }
        let _ = writeln!(out, "\n## {}\n", w.proposals);
        match &self.proposals {
            Proposals::Unavailable { reason } => {
                let _ = writeln!(out, "{reason}");
            }
            Proposals::List { open } if open.is_empty() => {
                let _ = writeln!(out, "{}", w.no_proposal);
            }
            Proposals::List { open } => {
                let _ = writeln!(out, "| {} | {} | {} |", w.branch, w.date, w.summary);
                out.push_str("|---|---|---|\n");
                for p in open {
                    let _ = writeln!(
                        out,
                        "| `{}` | {} | {} |",
                        md_cell(&p.branch),
                        p.date,
                        md_cell(&p.summary)
                    );
                }
            }
        }
        out
    }

    /// One row per agency after a header row; UTF-8 with a BOM (so that
    /// spreadsheet programs read the Vietnamese), CRLF line ends.
    pub fn csv(&self) -> String {
        let mut out = String::from("\u{feff}");
        let line = |cells: &[String]| -> String {
            cells
                .iter()
                .map(|c| csv_field(c))
                .collect::<Vec<_>>()
                .join(",")
                + "\r\n"
        };
        let h: Vec<String> = self.headers().iter().map(|s| s.to_string()).collect();
        out.push_str(&line(&h));
        for a in &self.agencies {
            out.push_str(&line(&self.row_cells(a)));
        }
        out
    }

    /// One self-contained page: inline style, an inline SVG chart with a
    /// title and a description, tables with captions and header scopes. No
    /// script, nothing fetched.
    pub fn html(&self) -> String {
        let w = words(self.lang);
        let lang = match self.lang {
            Language::Vi => "vi",
            Language::En => "en",
        };
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{} — {}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<main>\n",
            esc(w.title),
            esc(&self.domain)
        );
        let _ = writeln!(
            out,
            "<h1>{} — {}</h1>\n<p>{}: <time datetime=\"{}\">{}</time> → <time datetime=\"{}\">{}</time></p>",
            esc(w.title),
            esc(&self.domain),
            esc(w.period),
            self.since,
            self.since,
            self.until,
            self.until
        );

        // Totals.
        let t = &self.total;
        let _ = writeln!(
            out,
            "<table class=\"totals\">\n<caption>{}</caption>\n<thead><tr>",
            esc(w.totals)
        );
        for h in [
            w.mailboxes,
            w.active,
            w.locked,
            w.created,
            w.renamed,
            w.locked_changes,
            w.unlocked,
            w.revoked,
        ] {
            let _ = write!(out, "<th scope=\"col\">{}</th>", esc(h));
        }
        out.push_str("</tr></thead>\n<tbody><tr>");
        for v in [
            t.mailboxes(),
            t.active,
            t.locked,
            t.changes.created,
            t.changes.renamed,
            t.changes.locked,
            t.changes.unlocked,
            t.changes.revoked,
        ] {
            let _ = write!(out, "<td>{v}</td>");
        }
        out.push_str("</tr></tbody>\n</table>\n");

        out.push_str(&self.svg_chart());

        // Per agency.
        let _ = writeln!(
            out,
            "<table>\n<caption>{}</caption>\n<thead><tr>",
            esc(w.by_status)
        );
        for h in self.headers() {
            let _ = write!(out, "<th scope=\"col\">{}</th>", esc(h));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for a in &self.agencies {
            let c = self.row_cells(a);
            let _ = write!(out, "<tr><td>{}</td><td>{}</td>", esc(&c[0]), esc(&c[1]));
            let _ = write!(out, "<th scope=\"row\">{}</th>", esc(&c[2]));
            for v in &c[3..] {
                let _ = write!(out, "<td>{}</td>", esc(v));
            }
            out.push_str("</tr>\n");
        }
        let c = self.row_cells(t);
        let _ = write!(
            out,
            "</tbody>\n<tfoot><tr><td></td><td></td><th scope=\"row\">{}</th>",
            esc(&t.name)
        );
        for v in &c[3..] {
            let _ = write!(out, "<td>{}</td>", esc(v));
        }
        out.push_str("</tr></tfoot>\n</table>\n");
        if self.unattributed.total() > 0 {
            let u = &self.unattributed;
            let _ = writeln!(
                out,
                "<p>{}: {} {}, {} {}, {} {}, {} {}, {} {}.</p>",
                esc(w.unattributed),
                esc(w.created),
                u.created,
                esc(w.renamed),
                u.renamed,
                esc(w.locked_changes),
                u.locked,
                esc(w.unlocked),
                u.unlocked,
                esc(w.revoked),
                u.revoked
            );
        }
        if self.total.changes.total() == 0 {
            let _ = writeln!(out, "<p>{}</p>", esc(w.no_change));
        }

        let _ = writeln!(out, "<h2>{}</h2>", esc(w.proposals));
        match &self.proposals {
            Proposals::Unavailable { reason } => {
                let _ = writeln!(out, "<p>{}</p>", esc(reason));
            }
            Proposals::List { open } if open.is_empty() => {
                let _ = writeln!(out, "<p>{}</p>", esc(w.no_proposal));
            }
            Proposals::List { open } => {
                let _ = writeln!(
                    out,
                    "<table>\n<caption>{}</caption>\n<thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead>\n<tbody>",
                    esc(w.proposals),
                    esc(w.branch),
                    esc(w.date),
                    esc(w.summary)
                );
                for p in open {
                    let _ = writeln!(
                        out,
                        "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{}</td></tr>",
                        esc(&p.branch),
                        esc(&p.date),
                        esc(&p.summary)
                    );
                }
                out.push_str("</tbody>\n</table>\n");
            }
        }
        out.push_str("</main>\n</body>\n</html>\n");
        out
    }

    /// Horizontal stacked bars, one per agency: active and locked
    /// mailboxes, with the figures written beside each bar.
    fn svg_chart(&self) -> String {
        let w = words(self.lang);
        const LABEL: usize = 260;
        const BAR: usize = 420;
        const ROW: usize = 22;
        const TOP: usize = 34;
        let max = self
            .agencies
            .iter()
            .map(AgencyRow::mailboxes)
            .max()
            .unwrap_or(0)
            .max(1);
        let height = TOP + ROW * self.agencies.len().max(1) + 10;
        let width = LABEL + BAR + 120;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "<figure>\n<svg role=\"img\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" aria-labelledby=\"chart-title chart-desc\">\n\
             <title id=\"chart-title\">{}</title>\n<desc id=\"chart-desc\">{}</desc>",
            esc(w.chart_title),
            esc(w.chart_desc)
        );
        // Legend.
        let _ = writeln!(
            s,
            "<rect x=\"{LABEL}\" y=\"6\" width=\"14\" height=\"14\" class=\"active\"/><text x=\"{}\" y=\"18\">{}</text>\n\
             <rect x=\"{}\" y=\"6\" width=\"14\" height=\"14\" class=\"locked\"/><text x=\"{}\" y=\"18\">{}</text>",
            LABEL + 20,
            esc(w.active),
            LABEL + 180,
            LABEL + 200,
            esc(w.locked)
        );
        for (i, a) in self.agencies.iter().enumerate() {
            let y = TOP + i * ROW;
            let wa = a.active * BAR / max;
            let wl = a.locked * BAR / max;
            let label = if a.name.is_empty() { &a.code } else { &a.name };
            let _ = writeln!(
                s,
                "<g><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
                 <rect x=\"{LABEL}\" y=\"{y}\" width=\"{wa}\" height=\"{}\" class=\"active\"/>\
                 <rect x=\"{}\" y=\"{y}\" width=\"{wl}\" height=\"{}\" class=\"locked\"/>\
                 <text x=\"{}\" y=\"{}\">{} / {}</text></g>",
                LABEL - 8,
                y + 14,
                esc(&truncate(label, 38)),
                ROW - 6,
                LABEL + wa,
                ROW - 6,
                LABEL + wa + wl + 6,
                y + 14,
                a.active,
                a.locked
            );
        }
        s.push_str("</svg>\n");
        let _ = writeln!(
            s,
            "<figcaption>{}</figcaption>\n</figure>",
            esc(w.chart_title)
        );
        s
    }
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#1b1b1b;background:#fff;margin:0}
main{max-width:1100px;margin:0 auto;padding:1rem 1.5rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem}
table{border-collapse:collapse;margin:1rem 0;width:100%;font-size:.92rem}
caption{text-align:left;font-weight:600;padding:.4rem 0}
th,td{border:1px solid #9a9a9a;padding:.3rem .5rem;text-align:right}
th[scope=row],td:nth-child(1),td:nth-child(2){text-align:left}
thead th{background:#e8eef5}
tfoot th,tfoot td{font-weight:700;background:#f3f3f3}
svg{max-width:100%;height:auto;font-size:12px}
svg text{fill:#1b1b1b}
.active{fill:#1a7f37}.locked{fill:#b35900}
figure{margin:1rem 0}figcaption{font-size:.9rem;color:#444}
";

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

/// Text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// RFC 4180: quoted when it holds a comma, a quote or a line end. A
/// leading `=`, `+`, `-` or `@` is kept from being read as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(
            csv_field("Sở Khoa học, Công nghệ"),
            "\"Sở Khoa học, Công nghệ\""
        );
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("skhcn"), "skhcn");
    }

    #[test]
    fn html_text_is_escaped() {
        assert_eq!(esc("<a href=\"x\">&"), "&lt;a href=&quot;x&quot;&gt;&amp;");
    }
}
