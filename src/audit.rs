//! The audit log: one JSON line per action carried out (or refused), appended
//! and never truncated, so what was done to which mailbox, when and from
//! which revision can always be told.

use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::PathBuf;

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
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            action: action.to_string(),
            key: key.to_string(),
            address: address.to_string(),
            from: from.map(str::to_string),
            result: if error.is_some() { "failed" } else { "ok" }.to_string(),
            error: error.map(str::to_string),
            revision: revision.map(str::to_string),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuditLog {
    pub path: PathBuf,
}

impl AuditLog {
    pub fn new(path: PathBuf) -> AuditLog {
        AuditLog { path }
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

    /// Append records with one write and one sync. A log that cannot be
    /// written is said loudly on stderr, with the records themselves (the
    /// actions they describe have already happened), and the error is
    /// returned so that the run ends in failure.
    pub fn append_all(&self, records: &[AuditRecord]) -> std::io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for r in records {
            if let Ok(line) = serde_json::to_string(r) {
                text.push_str(&line);
                text.push('\n');
            }
        }
        let result = (|| -> std::io::Result<()> {
            if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            f.write_all(text.as_bytes())?;
            f.sync_data()
        })();
        if let Err(e) = &result {
            eprintln!(
                "error: cannot append to the audit log {}: {e}\n{text}",
                self.path.display()
            );
        }
        result
    }

    /// Every record, oldest first (lines that do not parse are skipped).
    pub fn read(&self) -> std::io::Result<Vec<AuditRecord>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }
}
