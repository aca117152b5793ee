//! The audit log: one JSON line per action carried out (or refused), appended
//! and never truncated, so what was done to which mailbox, when and from
//! which revision can always be told.
//!
//! Rotation by month (UTC, from each record's own `time`). The configured
//! path (`audit.jsonl`) is always the current file. When a record of a new
//! month is appended while the current file holds records of an earlier
//! month, the current file first becomes a monthly file beside it, named for
//! the month of its newest record: `audit.2026-11.jsonl`. A monthly file is
//! never overwritten: when the month's name is taken by another file, the
//! next free `audit.2026-11.1.jsonl`, `audit.2026-11.2.jsonl`... is used.
//!
//! The move is a hard link to the monthly name (which fails, rather than
//! replaces, when the name exists), then the removal of the current name.
//! A crash between the two leaves one file under two names; the next
//! rotation sees that the monthly name is the same file and only removes
//! the current name, and `read` counts that file once. Nothing is copied,
//! so nothing can be half copied. Where hard links are refused (some
//! network file systems), a rename to a name checked to be free is used.
//!
//! Retention: monthly files are kept for ever unless `keep_days` is set;
//! then a monthly file whose newest record is older than that many days is
//! removed after a rotation (or by [`AuditLog::prune`]). Fewer than
//! [`MIN_KEEP_DAYS`] days are refused: the regulation keeps the log at
//! least six months. The current file is never pruned.

use crate::tr;
use chrono::{DateTime, Datelike as _, Utc};
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The regulation: the audit log is kept at least six months.
pub const MIN_KEEP_DAYS: u32 = 180;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// RFC 3339, UTC.
    pub time: String,
    /// `create`, `rename`, `update`, `lock`, `unlock`, `delete` (the plan's
    /// actions), `adopt`, or `setup` (the base, containers and hopthu's
    /// own records).
    pub action: String,
    pub key: String,
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub from: Option<String>,
    /// `ok` or `failed`.
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub revision: Option<String>,
}

impl AuditRecord {
    pub fn new(
        action: &str,
        key: &str,
        address: &str,
        from: Option<&str>,
        error: Option<&str>,
        revision: Option<&str>,
    ) -> AuditRecord {
        AuditRecord {
            time: String::new(),
            action: action.to_string(),
            key: key.to_string(),
            address: address.to_string(),
            from: from.map(str::to_string),
            result: if error.is_some() { "failed" } else { "ok" }.to_string(),
            error: error.map(str::to_string),
            revision: revision.map(str::to_string),
        }
        .at(Utc::now())
    }

    /// The same record, made at `time` (for imports and tests).
    pub fn at(mut self, time: DateTime<Utc>) -> AuditRecord {
        self.time = time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        self
    }

    /// The record's time, when it parses.
    pub fn timestamp(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.time)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// `(year, month)` of the record's time, UTC.
    fn month(&self) -> Option<Month> {
        self.timestamp().map(|t| Month(t.year(), t.month()))
    }

    pub fn is_ok(&self) -> bool {
        self.result == "ok"
    }
}

/// A calendar month, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month(pub i32, pub u32);

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.0, self.1)
    }
}

impl Month {
    fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        let m: u32 = m.parse().ok()?;
        (1..=12).contains(&m).then_some(Month(y.parse().ok()?, m))
    }
}

/// One monthly file of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthlyFile {
    pub path: PathBuf,
    pub month: Month,
    /// 0 for `audit.2026-11.jsonl`, N for `audit.2026-11.N.jsonl`.
    pub seq: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    TooShort(u32),
    Io(#[from] std::io::Error),
}

impl std::fmt::Display for RetentionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            RetentionError::TooShort(n) => tr!(
                "nhật ký phải được lưu ít nhất {MIN_KEEP_DAYS} ngày (sáu tháng, theo quy định); {n} là quá ít",
                "the audit log must be kept at least {MIN_KEEP_DAYS} days (six months, by the regulation); {n} is too few"
            ),
            RetentionError::Io(e) => tr!(
                "không dọn được nhật ký: {e}",
                "cannot prune the audit log: {e}"
            ),
        };
        f.write_str(&text)
    }
}

#[derive(Debug, Clone)]
pub struct AuditLog {
    /// The current file; monthly files are kept beside it.
    pub path: PathBuf,
    /// Remove monthly files whose newest record is older than this many
    /// days (at least [`MIN_KEEP_DAYS`]); `None` keeps everything.
    pub keep_days: Option<u32>,
}

/// Refuse a retention shorter than the regulation's.
pub fn check_keep_days(days: u32) -> Result<u32, RetentionError> {
    if days < MIN_KEEP_DAYS {
        Err(RetentionError::TooShort(days))
    } else {
        Ok(days)
    }
}

impl AuditLog {
    pub fn new(path: PathBuf) -> AuditLog {
        AuditLog {
            path,
            keep_days: None,
        }
    }

    /// The same log, pruned to `days` after each rotation (`None`: keep
    /// everything). Fewer than [`MIN_KEEP_DAYS`] days are refused.
    pub fn with_keep_days(mut self, days: Option<u32>) -> Result<AuditLog, RetentionError> {
        self.keep_days = days.map(check_keep_days).transpose()?;
        Ok(self)
    }

    /// Append one record.
    pub fn append(&self, r: &AuditRecord) -> std::io::Result<()> {
        self.append_all(std::slice::from_ref(r))
    }

    /// Whether records can be appended, checked before anything is written
    /// to the directory: an action that cannot be logged is not started.
    pub fn check_writable(&self) -> std::io::Result<()> {
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map(drop)
    }

    /// Append records with one write and one sync per month they fall in
    /// (one, nearly always), rotating first when a month begins. A log that
    /// cannot be written is said loudly on stderr, with the records
    /// themselves (the actions they describe have already happened), and
    /// the error is returned so that the run ends in failure. A rotation
    /// that fails is only warned about: the records still go to the
    /// current file, and the next append tries again.
    pub fn append_all(&self, records: &[AuditRecord]) -> std::io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let lines: Vec<String> = records
            .iter()
            .map(|r| {
                serde_json::to_string(r)
                    .map(|l| l + "\n")
                    .unwrap_or_default()
            })
            .collect();
        let mut rotated = false;
        let result = (|| -> std::io::Result<()> {
            if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
            let mut start = 0;
            while start < records.len() {
                let month = records[start].month();
                let end = start
                    + records[start..]
                        .iter()
                        .take_while(|r| r.month() == month)
                        .count();
                if let Some(m) = month {
                    match self.rotate_before(m) {
                        Ok(r) => rotated |= r,
                        Err(e) => {
                            let path = self.path.display();
                            eprintln!(
                                "{}",
                                tr!(
                                    "cảnh báo: không xoay vòng được nhật ký {path}: {e}; các bản ghi vẫn ở trong tệp đó",
                                    "warning: cannot rotate the audit log {path}: {e}; the records stay in it"
                                )
                            )
                        }
                    }
                }
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?;
                f.write_all(lines[start..end].concat().as_bytes())?;
                f.sync_data()?;
                start = end;
            }
            Ok(())
        })();
        if let Err(e) = &result {
            let path = self.path.display();
            eprintln!(
                "{}\n{}",
                tr!(
                    "lỗi: không ghi thêm được vào nhật ký {path}: {e}",
                    "error: cannot append to the audit log {path}: {e}"
                ),
                lines.concat()
            );
        }
        if rotated && let Some(days) = self.keep_days {
            let now = records
                .iter()
                .filter_map(AuditRecord::timestamp)
                .max()
                .unwrap_or_else(Utc::now);
            if let Err(e) = self.prune(now, days) {
                eprintln!("{}: {e}", tr!("cảnh báo", "warning"));
            }
        }
        result
    }

    /// Before a record of `month` is appended: when the current file holds
    /// records of an earlier month, move it to its monthly name. Whether it
    /// moved.
    fn rotate_before(&self, month: Month) -> std::io::Result<bool> {
        match oldest_month(&self.path)? {
            Some(oldest) if oldest < month => {}
            _ => return Ok(false),
        }
        // Lossily: a damaged byte spoils only its line, not the rotation.
        let bytes = std::fs::read(&self.path)?;
        let text = String::from_utf8_lossy(&bytes);
        let newest = text
            .lines()
            .filter_map(|l| serde_json::from_str::<AuditRecord>(l).ok())
            .filter_map(|r| r.month())
            .max()
            .unwrap_or(month);
        self.move_to_monthly(newest)?;
        Ok(true)
    }

    /// Hard-link the current file to the first free monthly name, then
    /// remove the current name. See the module's comment for crashes.
    fn move_to_monthly(&self, month: Month) -> std::io::Result<()> {
        let current = std::fs::metadata(&self.path)?;
        for seq in 0..10_000 {
            let target = self.monthly_path(month, seq);
            match std::fs::hard_link(&self.path, &target) {
                Ok(()) => sync_dir(&self.path),
                // An earlier rotation that stopped after its link.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if !same_file(&target, &current) {
                        continue;
                    }
                }
                Err(e) => {
                    // No hard links here: rename, to a name seen free.
                    if std::fs::symlink_metadata(&target).is_ok() {
                        if !same_file(&target, &current) {
                            continue;
                        }
                    } else {
                        std::fs::rename(&self.path, &target).map_err(|r| {
                            std::io::Error::new(
                                r.kind(),
                                tr!("{e}; rồi khi đổi tên: {r}", "{e}; then rename: {r}"),
                            )
                        })?;
                        sync_dir(&self.path);
                        return Ok(());
                    }
                }
            }
            std::fs::remove_file(&self.path)?;
            sync_dir(&self.path);
            return Ok(());
        }
        let path = self.path.display();
        Err(std::io::Error::other(tr!(
            "không còn tên tệp tháng {month} nào trống bên cạnh {path}",
            "no free monthly name for {month} beside {path}"
        )))
    }

    /// `audit.2026-11.jsonl` (seq 0) or `audit.2026-11.<seq>.jsonl`.
    pub fn monthly_path(&self, month: Month, seq: u32) -> PathBuf {
        let (stem, ext) = self.stem_ext();
        let name = if seq == 0 {
            format!("{stem}.{month}{ext}")
        } else {
            format!("{stem}.{month}.{seq}{ext}")
        };
        self.path.with_file_name(name)
    }

    /// The file name split at its last dot: (`audit`, `.jsonl`).
    fn stem_ext(&self) -> (String, String) {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match name.rfind('.') {
            Some(i) if i > 0 => (name[..i].to_string(), name[i..].to_string()),
            _ => (name, String::new()),
        }
    }

    /// The monthly files beside the current one, oldest month first.
    pub fn monthly_files(&self) -> std::io::Result<Vec<MonthlyFile>> {
        let dir = match self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(d) => d.to_path_buf(),
            None => PathBuf::from("."),
        };
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let (stem, ext) = self.stem_ext();
        let prefix = format!("{stem}.");
        let mut out = Vec::new();
        for e in entries {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(middle) = name
                .strip_prefix(&prefix)
                .and_then(|r| r.strip_suffix(ext.as_str()))
            else {
                continue;
            };
            let (month, seq) = match middle.split_once('.') {
                None => (Month::parse(middle), Some(0)),
                Some((m, n)) => (
                    Month::parse(m),
                    n.parse::<u32>()
                        .ok()
                        .filter(|s| *s > 0 && !n.starts_with('0')),
                ),
            };
            // A folder or a pipe under a month's name holds no records (and
            // opening a pipe would wait for ever): not a monthly file.
            if !std::fs::metadata(dir.join(&name)).is_ok_and(|m| m.is_file()) {
                continue;
            }
            if let (Some(month), Some(seq)) = (month, seq) {
                out.push(MonthlyFile {
                    path: dir.join(&name),
                    month,
                    seq,
                });
            }
        }
        out.sort_by_key(|f| (f.month, f.seq));
        Ok(out)
    }

    /// Every record of the monthly files and the current one, in time
    /// order (records of one time in the order they were written; lines
    /// that do not parse are skipped). A file under two names (a rotation
    /// stopped half way) is read once.
    pub fn read(&self) -> std::io::Result<Vec<AuditRecord>> {
        Ok(self.read_counting()?.0)
    }

    /// Whether there is any log here at all (the current file or a month).
    pub fn exists(&self) -> bool {
        self.path.exists() || self.monthly_files().is_ok_and(|v| !v.is_empty())
    }

    /// Every record, and how many lines were not records (damaged, or not
    /// JSON): a reader says so rather than showing a shorter history as if
    /// it were whole. Bytes that are not UTF-8 spoil only their own line.
    pub fn read_counting(&self) -> std::io::Result<(Vec<AuditRecord>, usize)> {
        let r = self.read_where(|_| true)?;
        Ok((r.records, r.damaged))
    }

    /// The records `keep` accepts, in time order, and the lines that were
    /// not records (damaged, not JSON, or a time that is no time), with
    /// where the first of them are. The files are read a line at a time,
    /// so only the records kept are held in memory, however long the log
    /// has grown; a line longer than any record is damaged, not read whole.
    pub fn read_where(
        &self,
        mut keep: impl FnMut(&AuditRecord) -> bool,
    ) -> std::io::Result<LogRead> {
        // The current file is opened first: if a rotation links it to a
        // monthly name meanwhile, that name is recognised as the same file
        // below. It is read last, its records being the newest.
        let mut seen = Vec::new();
        let current = match std::fs::metadata(&self.path) {
            Ok(m) if !m.is_file() => {
                let path = self.path.display();
                return Err(std::io::Error::other(tr!(
                    "{path} không phải là một tệp nhật ký (là thư mục, thiết bị hoặc ống dẫn)",
                    "{path} is not a log file (a folder, a device or a pipe)"
                )));
            }
            Ok(_) => match std::fs::File::open(&self.path) {
                Ok(f) => {
                    if let Ok(m) = f.metadata() {
                        seen.push(file_id(&m));
                    }
                    Some(f)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(e),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let mut out = LogRead::default();
        for f in self.monthly_files()? {
            match std::fs::File::open(&f.path) {
                Ok(file) => {
                    let id = file.metadata().map(|m| file_id(&m)).ok();
                    if id.is_some_and(|id| seen.contains(&id)) {
                        continue;
                    }
                    seen.extend(id);
                    parse_stream(file, &f.path, &mut keep, &mut out)
                        .map_err(|e| in_file(&f.path, e))?;
                }
                // Pruned meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(in_file(&f.path, e)),
            }
        }
        if let Some(f) = current {
            parse_stream(f, &self.path, &mut keep, &mut out)?;
        }
        // A stable sort: files are read oldest first, lines in order.
        out.records.sort_by_cached_key(|r| r.timestamp());
        Ok(out)
    }

    /// Remove the monthly files whose newest record is older than
    /// `keep_days` days before `now`; the files removed. Fewer than
    /// [`MIN_KEEP_DAYS`] days are refused. A file with no record whose time
    /// can be read is kept: its age cannot be told.
    pub fn prune(
        &self,
        now: DateTime<Utc>,
        keep_days: u32,
    ) -> Result<Vec<PathBuf>, RetentionError> {
        check_keep_days(keep_days)?;
        // A retention longer than dates reach keeps everything.
        let limit = now
            .checked_sub_days(chrono::Days::new(u64::from(keep_days)))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let current = std::fs::metadata(&self.path).ok();
        let mut removed = Vec::new();
        for f in self.monthly_files()? {
            // The current file under a second name is not an old month.
            if current.as_ref().is_some_and(|c| same_file(&f.path, c)) {
                continue;
            }
            let file = match std::fs::File::open(&f.path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            // The newest time in the file; no record is held.
            let mut newest = None;
            parse_stream(
                file,
                &f.path,
                &mut |r: &AuditRecord| {
                    newest = newest.max(r.timestamp());
                    false
                },
                &mut LogRead::default(),
            )
            .map_err(|e| in_file(&f.path, e))?;
            if newest.is_some_and(|t| t < limit) {
                std::fs::remove_file(&f.path)?;
                removed.push(f.path);
            }
        }
        if !removed.is_empty() {
            sync_dir(&self.path);
        }
        Ok(removed)
    }
}

/// The longest line read as a record; a longer one is damaged (a record
/// is well under a kilobyte).
const MAX_LINE: usize = 1 << 20;
/// How many damaged lines are named, file and line.
const DAMAGED_NAMED: usize = 5;

/// What a read of the log found.
#[derive(Debug, Default)]
pub struct LogRead {
    pub records: Vec<AuditRecord>,
    /// Lines that are not records.
    pub damaged: usize,
    /// Where the first of them are: `path:line`.
    pub damaged_at: Vec<String>,
}

fn in_file(path: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// The records of one file, a line at a time; `keep` chooses which are
/// held. Bytes that are not UTF-8 spoil only their own line; a line over
/// [`MAX_LINE`] is skipped to its end without being held.
fn parse_stream(
    file: std::fs::File,
    path: &Path,
    keep: &mut impl FnMut(&AuditRecord) -> bool,
    out: &mut LogRead,
) -> std::io::Result<()> {
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let mut line = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        let (ended, too_long) = read_line_bounded(&mut reader, &mut line)?;
        if ended && line.is_empty() {
            return Ok(());
        }
        number += 1;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if !too_long && text.is_empty() {
            if ended {
                return Ok(());
            }
            continue;
        }
        let record = if too_long {
            None
        } else {
            serde_json::from_str::<AuditRecord>(text)
                .ok()
                .filter(|r| r.timestamp().is_some())
        };
        match record {
            Some(r) => {
                if keep(&r) {
                    out.records.push(r);
                }
            }
            None => {
                out.damaged += 1;
                if out.damaged_at.len() < DAMAGED_NAMED {
                    out.damaged_at.push(format!("{}:{number}", path.display()));
                }
            }
        }
        if ended {
            return Ok(());
        }
    }
}

/// One line into `line` (without its newline), at most [`MAX_LINE`] bytes
/// kept; the rest of a longer line is read and dropped. Whether the file
/// ended, and whether the line was too long.
fn read_line_bounded(
    reader: &mut impl std::io::BufRead,
    line: &mut Vec<u8>,
) -> std::io::Result<(bool, bool)> {
    let mut too_long = false;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok((true, too_long));
        }
        let (chunk, found) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        if !too_long {
            if line.len() + chunk.len() > MAX_LINE {
                too_long = true;
                line.clear();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        let used = found.unwrap_or(buf.len());
        reader.consume(used);
        if found.is_some() {
            return Ok((false, too_long));
        }
    }
}

/// The month of the first record in the file that has a readable time.
fn oldest_month(path: &Path) -> std::io::Result<Option<Month>> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    use std::io::BufRead as _;
    // Read a line at a time, lossily: a damaged byte spoils only its line.
    let mut reader = std::io::BufReader::new(f);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(None);
        }
        if let Some(m) = serde_json::from_str::<AuditRecord>(String::from_utf8_lossy(&line).trim())
            .ok()
            .and_then(|r| r.month())
        {
            return Ok(Some(m));
        }
    }
}

fn file_id(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt as _;
    (m.dev(), m.ino())
}

fn same_file(path: &Path, other: &std::fs::Metadata) -> bool {
    std::fs::metadata(path).is_ok_and(|m| file_id(&m) == file_id(other))
}

/// Make a link, rename or removal in the log's folder durable.
fn sync_dir(path: &Path) {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monthly_names_parse_back() {
        let log = AuditLog::new(PathBuf::from("/x/audit.jsonl"));
        assert_eq!(
            log.monthly_path(Month(2026, 11), 0),
            PathBuf::from("/x/audit.2026-11.jsonl")
        );
        assert_eq!(
            log.monthly_path(Month(2026, 11), 2),
            PathBuf::from("/x/audit.2026-11.2.jsonl")
        );
        let bare = AuditLog::new(PathBuf::from("audit"));
        assert_eq!(
            bare.monthly_path(Month(2027, 1), 0),
            PathBuf::from("audit.2027-01")
        );
        assert_eq!(Month::parse("2026-13"), None);
        assert_eq!(Month::parse("2026-1"), None);
        assert_eq!(Month::parse("2026-01"), Some(Month(2026, 1)));
    }
}
