//! One writer per directory: two `hopthu run` against the same directory
//! never both apply. For an LDAP server the lock is an entry of its own
//! (`cn=hopthu-lock,<base>`) that names its holder and when the hold ends,
//! taken and renewed by compare-and-swap (an LDAP modify that deletes the
//! exact old value fails when someone else changed it); for an `ldif:` file
//! it is an OS file lock beside the file. In Kubernetes the Lease takes this
//! role.
//!
//! A holder that cannot renew in time lowers its `Fence` at once: every
//! write not yet sent is refused, so a lost lock stops writing.

use crate::live::{Attrs, ConnectOptions, Directory, Mod, Write};
use crate::tr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

pub const LOCK_RDN: &str = "cn=hopthu-lock";

/// Raised while this process may write; lowered the moment it may not.
/// A fence may also carry a deadline (a Lease's expiry as the API server
/// recorded it): past it, the fence is down whatever the flag says, so a
/// holder cut off from the API server stops writing before another can
/// take over.
#[derive(Debug, Clone)]
pub struct Fence(Arc<FenceInner>);

#[derive(Debug)]
struct FenceInner {
    up: AtomicBool,
    /// Milliseconds since the epoch; 0 for no deadline.
    until: AtomicI64,
    /// How many times the fence was raised: a new term of holding.
    terms: AtomicU64,
}

impl Fence {
    pub fn new(up: bool) -> Fence {
        Fence(Arc::new(FenceInner {
            up: AtomicBool::new(up),
            until: AtomicI64::new(0),
            terms: AtomicU64::new(u64::from(up)),
        }))
    }

    pub fn is_up(&self) -> bool {
        let until = self.0.until.load(Ordering::SeqCst);
        self.0.up.load(Ordering::SeqCst)
            && (until == 0 || chrono::Utc::now().timestamp_millis() < until)
    }

    pub fn set(&self, up: bool) {
        let was = self.0.up.swap(up, Ordering::SeqCst);
        if up && !was {
            self.0.terms.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The fence stays up until `until` at most (milliseconds since the
    /// epoch), unless extended again.
    pub fn hold_until(&self, until: i64) {
        self.0.until.store(until.max(1), Ordering::SeqCst);
    }

    /// The current term of holding: it changes each time the fence is
    /// raised again after being down. What was learned in an earlier term
    /// (another holder wrote since) is stale.
    pub fn term(&self) -> u64 {
        self.0.terms.load(Ordering::SeqCst)
    }
}

impl Default for Fence {
    fn default() -> Fence {
        Fence::new(true)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    Held {
        holder: String,
        until: String,
    },
    /// Another instance swapped the record first.
    Taken(String),
    Failed(String),
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            LockError::Held { holder, until } => tr!(
                "một tiến trình hopthu khác đang giữ khóa ghi của thư mục này ({holder}, đến {until}); tiến trình này không ghi",
                "another hopthu holds the writer lock of this directory ({holder}, until {until}); this one does not write"
            ),
            LockError::Taken(e) => tr!(
                "khóa ghi: một tiến trình khác đã giành được khóa trước ({e})",
                "the writer lock: another instance took the lock first ({e})"
            ),
            LockError::Failed(e) => tr!("khóa ghi: {e}", "the writer lock: {e}"),
        };
        f.write_str(&text)
    }
}

/// A held writer lock. Dropping it stops the renewal; `release` also
/// gives the lock up at once for the next holder.
pub struct WriterLock {
    pub fence: Fence,
    kind: Kind,
}

enum Kind {
    File(#[allow(dead_code)] std::fs::File),
    Ldap {
        renew: tokio::task::JoinHandle<()>,
        stop: Arc<tokio::sync::Notify>,
        dn: String,
        connect: ConnectOptions,
        id: String,
        value: Arc<std::sync::Mutex<String>>,
    },
}

/// Who this process is, for the lock's holder field.
pub fn holder_id() -> String {
    let host = hostname();
    format!(
        "{host}/{}/{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// A holder on this host whose process is gone (killed, or crashed): its
/// lock is stale now, not when its time runs out, so a restarted hopthu
/// takes over at once.
fn is_dead_here(holder: &str) -> bool {
    let mut parts = holder.split('/');
    let (Some(host), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    host == hostname()
        && pid.parse::<u32>().is_ok_and(|p| p != std::process::id())
        && !Path::new(&format!("/proc/{pid}")).exists()
}

fn record(id: &str, until: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "holder {id} until {}",
        until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

fn parse_record(v: &str) -> Option<(String, chrono::DateTime<chrono::Utc>)> {
    let rest = v.strip_prefix("holder ")?;
    let (id, until) = rest.rsplit_once(" until ")?;
    let until = chrono::DateTime::parse_from_rfc3339(until).ok()?;
    Some((id.to_string(), until.with_timezone(&chrono::Utc)))
}

impl WriterLock {
    /// Take the lock of the directory `connect` names, or say who holds it.
    pub async fn acquire(
        connect: &ConnectOptions,
        base_dn: &str,
        ttl: Duration,
    ) -> Result<WriterLock, LockError> {
        if let Some(path) = connect.url.strip_prefix("ldif:") {
            return Self::acquire_file(path);
        }
        let id = holder_id();
        let dn = format!("{LOCK_RDN},{base_dn}");
        let mut dir = Directory::connect(connect)
            .await
            .map_err(|e| LockError::Failed(e.to_string()))?;
        let value = take(&mut dir, &dn, &id, ttl, None).await;
        let _ = dir.close().await;
        let value = value?;
        let fence = Fence::new(true);
        let stop = Arc::new(tokio::sync::Notify::new());
        let current = Arc::new(std::sync::Mutex::new(value));
        let renew = tokio::spawn(crate::i18n::carry(renew_loop(
            connect.clone(),
            dn.clone(),
            id.clone(),
            ttl,
            fence.clone(),
            stop.clone(),
            current.clone(),
        )));
        Ok(WriterLock {
            fence,
            kind: Kind::Ldap {
                renew,
                stop,
                dn,
                connect: connect.clone(),
                id,
                value: current,
            },
        })
    }

    fn acquire_file(path: &str) -> Result<WriterLock, LockError> {
        if path.is_empty() {
            return Err(LockError::Failed(tr!(
                "chưa nêu tên tệp: hãy viết ldif:PATH",
                "no file named: write ldif:PATH"
            )));
        }
        // One lock per file, however it is named: through a link, the lock
        // sits beside the file the link names.
        let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.into());
        if let Ok(m) = std::fs::metadata(&target)
            && !m.is_file()
        {
            let target = target.display();
            return Err(LockError::Failed(tr!(
                "{target} không phải tệp thông thường",
                "{target} is not a regular file"
            )));
        }
        let lock_path = format!("{}.lock", target.display());
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| {
                LockError::Failed(tr!(
                    "không mở được {lock_path}: {e}",
                    "cannot open {lock_path}: {e}"
                ))
            })?;
        match f.try_lock() {
            Ok(()) => Ok(WriterLock {
                fence: Fence::new(true),
                kind: Kind::File(f),
            }),
            Err(std::fs::TryLockError::WouldBlock) => Err(LockError::Held {
                holder: tr!(
                    "tiến trình đang giữ {lock_path}",
                    "the process that holds {lock_path}"
                ),
                until: tr!("khi nó dừng", "it stops"),
            }),
            Err(std::fs::TryLockError::Error(e)) => Err(LockError::Failed(tr!(
                "không khóa được {lock_path}: {e}",
                "cannot lock {lock_path}: {e}"
            ))),
        }
    }

    /// Give the lock up now, so that another instance may take it at once.
    pub async fn release(self) {
        self.fence.set(false);
        if let Kind::Ldap {
            renew,
            stop,
            dn,
            connect,
            id,
            value,
        } = self.kind
        {
            stop.notify_one();
            let _ = renew.await;
            let old = value.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if let Ok(mut dir) = Directory::connect(&connect).await {
                let expired = record(&id, chrono::DateTime::UNIX_EPOCH);
                let _ = cas(&mut dir, &dn, &old, &expired).await;
                let _ = dir.close().await;
            }
        }
    }
}

async fn cas(dir: &mut Directory, dn: &str, old: &str, new: &str) -> Result<(), String> {
    let r = dir
        .write(vec![Write::Modify {
            dn: dn.to_string(),
            mods: vec![
                Mod::Delete("description".into(), vec![old.to_string()]),
                Mod::Add("description".into(), vec![new.to_string()]),
            ],
        }])
        .await;
    match r.into_iter().next() {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(e.to_string()),
        None => Err(no_answer()),
    }
}

fn no_answer() -> String {
    tr!("không có trả lời", "no answer")
}

/// Take or renew: create the entry, or swap an expired (or our own) record
/// for a new one.
async fn take(
    dir: &mut Directory,
    dn: &str,
    id: &str,
    ttl: Duration,
    ours: Option<&str>,
) -> Result<String, LockError> {
    let now = chrono::Utc::now();
    let until = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::seconds(60));
    let new = record(id, until);
    if ours.is_none() {
        let mut attrs = Attrs::new();
        attrs.insert("objectClass".into(), vec!["applicationProcess".into()]);
        attrs.insert("cn".into(), vec!["hopthu-lock".into()]);
        attrs.insert("description".into(), vec![new.clone()]);
        match dir
            .write(vec![Write::Add {
                dn: dn.to_string(),
                attrs,
            }])
            .await
            .into_iter()
            .next()
        {
            Some(Ok(())) => return Ok(new),
            Some(Err(e)) if e.code == 68 => {}
            Some(Err(e)) => {
                return Err(LockError::Failed(tr!(
                    "không tạo được {dn}: {e}",
                    "cannot create {dn}: {e}"
                )));
            }
            None => return Err(LockError::Failed(no_answer())),
        }
    }
    let sel = crate::live::Selection {
        base: dn.to_string(),
        any_object_class: Vec::new(),
        attrs: vec!["description".into()],
    };
    let entries = dir
        .read(&sel)
        .await
        .map_err(|e| LockError::Failed(e.to_string()))?;
    let current = entries
        .iter()
        .find(|e| crate::live::normalize_dn(&e.dn) == crate::live::normalize_dn(dn))
        .and_then(|e| e.first("description").map(str::to_string));
    let Some(current) = current else {
        return Err(LockError::Failed(tr!(
            "{dn} không chứa bản ghi khóa nào",
            "{dn} holds no lock record"
        )));
    };
    let free = match parse_record(&current) {
        Some((holder, until)) => holder == id || until < now || is_dead_here(&holder),
        None => true,
    };
    if !free {
        let (holder, until) = parse_record(&current).expect("parsed above");
        return Err(LockError::Held {
            holder,
            until: until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
    }
    cas(dir, dn, &current, &new)
        .await
        .map_err(LockError::Taken)?;
    Ok(new)
}

async fn renew_loop(
    connect: ConnectOptions,
    dn: String,
    id: String,
    ttl: Duration,
    fence: Fence,
    stop: Arc<tokio::sync::Notify>,
    current: Arc<std::sync::Mutex<String>>,
) {
    let every = ttl / 3;
    let mut held_until = tokio::time::Instant::now() + ttl;
    loop {
        tokio::select! {
            _ = stop.notified() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let old = current.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let renewed = async {
            let mut dir = Directory::connect(&connect)
                .await
                .map_err(|e| LockError::Failed(e.to_string()))?;
            let r = take(&mut dir, &dn, &id, ttl, Some(&old)).await;
            let _ = dir.close().await;
            r
        };
        match tokio::time::timeout(every, renewed).await {
            Ok(Ok(v)) => {
                *current.lock().unwrap_or_else(|p| p.into_inner()) = v;
                held_until = tokio::time::Instant::now() + ttl;
            }
            Ok(Err(e)) => {
                eprintln!(
                    "hopthu: {}",
                    tr!(
                        "không gia hạn được khóa ghi: {e}",
                        "cannot renew the writer lock: {e}"
                    )
                );
                if tokio::time::Instant::now() + every >= held_until {
                    fence.set(false);
                }
                if matches!(e, LockError::Held { .. } | LockError::Taken(_)) {
                    fence.set(false);
                    return;
                }
            }
            Err(_) => {
                if tokio::time::Instant::now() + every >= held_until {
                    fence.set(false);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fence_goes_down_at_its_deadline_and_counts_its_terms() {
        let f = Fence::new(true);
        assert!(f.is_up());
        assert_eq!(f.term(), 1);
        let now = chrono::Utc::now().timestamp_millis();
        f.hold_until(now + 60_000);
        assert!(f.is_up());
        f.hold_until(now - 1);
        assert!(!f.is_up(), "past its deadline");
        f.hold_until(now + 60_000);
        f.set(false);
        assert!(!f.is_up());
        f.set(true);
        f.set(true);
        assert_eq!(f.term(), 2, "raised once more");
    }

    #[test]
    fn records_round_trip() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-12-04T05:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let r = record("host/1/abcd", t);
        assert_eq!(r, "holder host/1/abcd until 2026-12-04T05:00:00Z");
        assert_eq!(parse_record(&r), Some(("host/1/abcd".into(), t)));
    }
}
