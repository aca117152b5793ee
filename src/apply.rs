//! The apply: carries out a plan against the live directory, in order
//! (setup, renames, deletions after their backup, creations, changes),
//! records every action in the audit log, and reports what failed and why.
//! A failed action is not marked done: the next plan holds it again.

use crate::audit::{AuditLog, AuditRecord};
use crate::live::{Directory, LiveEntry, Mod, Write, WriteError};
use crate::model::PasswordPolicy;
use crate::password;
use crate::plan::{Action, Change, Plan};
use crate::tr;
use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;

pub struct Options {
    /// Where the initial passwords go (mode 0600); required when the plan creates.
    pub credentials_out: Option<PathBuf>,
    /// Deleted entries are written here first, one timestamped LDIF per run.
    pub backup_dir: PathBuf,
    pub audit: AuditLog,
    /// Releases held deletions when it names the plan's `heldFingerprint`.
    pub approve_deletes: Option<String>,
    /// The source revision (a git commit), recorded in the audit log.
    pub revision: Option<String>,
    pub password_policy: PasswordPolicy,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    pub action: Action,
    pub key: String,
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    pub outcomes: Vec<Outcome>,
    pub failed: usize,
    pub done: usize,
    /// Deletions still held (not approved).
    pub held: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
    /// Set when records could not be appended to the audit log (they were
    /// printed on stderr instead): the run ends in failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    NoCredentialsFile(usize),
    WrongApproval { given: String, expected: String },
    NothingHeld,
    Setup(String),
    Io(String),
}

impl std::fmt::Display for ApplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            ApplyError::NoCredentialsFile(n) => tr!(
                "kế hoạch này tạo mới hoặc khôi phục {n} hộp thư: hãy chỉ định tệp nhận mật khẩu mới của chúng bằng --credentials-out FILE; chưa ghi gì",
                "this plan creates or restores {n} mailbox(es): name a file for their new passwords with --credentials-out FILE; nothing was written"
            ),
            ApplyError::WrongApproval { given, expected } => tr!(
                "--approve-deletes {given} không khớp với các lệnh thu hồi đang tạm giữ ({expected}); chưa ghi gì",
                "--approve-deletes {given} does not match the held deletions ({expected}); nothing was written"
            ),
            ApplyError::NothingHeld => tr!(
                "đã cho --approve-deletes nhưng kế hoạch này không tạm giữ lệnh thu hồi nào; chưa ghi gì",
                "--approve-deletes was given but this plan holds no deletions; nothing was written"
            ),
            ApplyError::Setup(e) => tr!(
                "không chuẩn bị được thư mục: {e}; không ghi gì thêm",
                "cannot prepare the directory: {e}; nothing else was written"
            ),
            ApplyError::Io(e) => e.clone(),
        };
        f.write_str(&text)
    }
}

/// Whether `--approve-deletes` (when given) releases the plan's held
/// deletions: exactly their fingerprint does; another one, or one given
/// when nothing is held, is an error and nothing is written.
pub fn check_approval(given: Option<&str>, plan: &Plan) -> Result<bool, ApplyError> {
    match (given, plan.held_fingerprint.as_deref()) {
        (Some(given), Some(expected)) if given == expected => Ok(true),
        (Some(given), Some(expected)) => Err(ApplyError::WrongApproval {
            given: given.to_string(),
            expected: expected.to_string(),
        }),
        (Some(_), None) => Err(ApplyError::NothingHeld),
        (None, _) => Ok(false),
    }
}

pub async fn apply(dir: &mut Directory, plan: &Plan, opts: &Options) -> Result<Report, ApplyError> {
    let work = &plan.work;
    let mut deletes = work.deletes.clone();
    let mut held = work.held_deletes.len();
    if check_approval(opts.approve_deletes.as_deref(), plan)? {
        deletes.extend(work.held_deletes.iter().cloned());
        held = 0;
    }
    // Nothing is written that cannot be logged.
    opts.audit.check_writable().map_err(|e| {
        let path = opts.audit.path.display();
        ApplyError::Io(tr!(
            "không ghi được nhật ký {path}: {e}; chưa ghi gì",
            "cannot write the audit log {path}: {e}; nothing was written"
        ))
    })?;
    let new_passwords = work.creates.len() + work.restores.len();
    if new_passwords > 0 && opts.credentials_out.is_none() {
        return Err(ApplyError::NoCredentialsFile(new_passwords));
    }
    // Passwords of a run killed while creating: those of mailboxes that
    // exist now (this plan does not create them again) are good.
    if let Some(p) = &opts.credentials_out {
        let creating: std::collections::HashSet<&str> = work
            .creates
            .iter()
            .map(|(_, c)| c.address.as_str())
            .chain(work.restores.iter().map(|(_, a)| a.as_str()))
            .collect();
        recover_pending(p, &creating).map_err(|e| {
            let path = pending_path(p);
            let path = path.display();
            ApplyError::Io(tr!(
                "không lấy lại được mật khẩu của lần chạy bị ngắt trong {path}: {e}; chưa ghi gì",
                "cannot recover the passwords of an interrupted run in {path}: {e}; nothing was written"
            ))
        })?;
    }
    let mut credentials = match &opts.credentials_out {
        Some(p) if new_passwords > 0 => Some(open_private(p).map_err(|e| {
            let path = p.display();
            ApplyError::Io(tr!(
                "không mở được tệp mật khẩu {path}: {e}",
                "cannot open the credentials file {path}: {e}"
            ))
        })?),
        _ => None,
    };

    // Changes by key and action, to report each write's result on them.
    let mut by_key: HashMap<(&str, Action), &Change> = HashMap::new();
    for c in plan.changes.iter().chain(plan.held.iter()) {
        by_key.insert((c.key.as_str(), c.action), c);
    }
    let mut report = Report {
        held,
        ..Report::default()
    };
    let record =
        |report: &mut Report, key: &str, actions: &[Action], result: &Result<(), String>| {
            for a in actions {
                let Some(c) = by_key.get(&(key, *a)) else {
                    continue;
                };
                let error = result.as_ref().err().cloned();
                if error.is_some() {
                    report.failed += 1;
                } else {
                    report.done += 1;
                }
                report.outcomes.push(Outcome {
                    action: c.action,
                    key: c.key.clone(),
                    address: c.address.clone(),
                    from: c.from.clone(),
                    error,
                });
            }
        };

    // The audit log gets each phase's records in one write, as soon as the
    // phase's results are in.
    let mut logged = 0usize;
    let flush = |report: &mut Report, logged: &mut usize| {
        let records: Vec<AuditRecord> = report.outcomes[*logged..]
            .iter()
            .map(|o| {
                AuditRecord::new(
                    o.action.as_str(),
                    &o.key,
                    &o.address,
                    o.from.as_deref(),
                    o.error.as_deref(),
                    opts.revision.as_deref(),
                )
            })
            .collect();
        if let Err(e) = opts.audit.append_all(&records) {
            report.audit_error = Some(e.to_string());
        }
        *logged = report.outcomes.len();
    };

    // 1. The base, the containers, hopthu's own state entry.
    if !work.setup.is_empty() {
        let results = dir.write(work.setup.clone()).await;
        let records: Vec<AuditRecord> = work
            .setup
            .iter()
            .zip(&results)
            .map(|(w, r)| {
                let error = r.as_ref().err().map(|e| e.to_string());
                AuditRecord::new(
                    "setup",
                    w.dn(),
                    "",
                    None,
                    error.as_deref(),
                    opts.revision.as_deref(),
                )
            })
            .collect();
        if let Err(e) = opts.audit.append_all(&records) {
            report.audit_error = Some(e.to_string());
        }
        if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
            return Err(ApplyError::Setup(e.to_string()));
        }
    }

    // 2. Deletions first, each only after its entry is safely in the backup:
    //    they free the addresses that renames and creations may take.
    if !deletes.is_empty() {
        // The plan read only what it compares; the backup needs the whole
        // entry, so each one is read again, all of it.
        let mut whole: Vec<LiveEntry> = Vec::with_capacity(deletes.len());
        let mut unreadable: Vec<(String, String)> = Vec::new();
        for (key, _, e) in &deletes {
            let sel = crate::live::Selection {
                base: e.dn.clone(),
                any_object_class: Vec::new(),
                attrs: vec!["*".into(), "entryUUID".into()],
            };
            match dir.read(&sel).await {
                Ok(found) => match found
                    .into_iter()
                    .find(|f| crate::live::normalize_dn(&f.dn) == crate::live::normalize_dn(&e.dn))
                {
                    Some(f) => whole.push(f),
                    None => unreadable.push((
                        key.clone(),
                        tr!("mục này không còn nữa", "the entry is gone"),
                    )),
                },
                Err(err) => unreadable.push((key.clone(), err.to_string())),
            }
        }
        for (key, why) in &unreadable {
            record(
                &mut report,
                key,
                &[Action::Delete],
                &Err(tr!(
                    "chưa thu hồi: không đọc được mục để sao lưu: {why}",
                    "not deleted: cannot read the entry for its backup: {why}"
                )),
            );
        }
        deletes.retain(|(k, _, _)| !unreadable.iter().any(|(u, _)| u == k));
        let entries: Vec<&LiveEntry> = whole.iter().collect();
        match (!entries.is_empty()).then(|| crate::backup::write(&opts.backup_dir, &entries)) {
            None => {}
            Some(Ok(path)) => {
                report.backup = Some(path.display().to_string());
                let writes: Vec<Write> = deletes.iter().map(|(_, w, _)| w.clone()).collect();
                let results = dir.write(writes).await;
                for ((key, _, _), r) in deletes.iter().zip(results) {
                    record(
                        &mut report,
                        key,
                        &[Action::Delete],
                        &r.map_err(|e| e.to_string()),
                    );
                }
            }
            Some(Err(e)) => {
                let msg = tr!(
                    "chưa thu hồi: không ghi được bản sao lưu: {e}",
                    "not deleted: the backup could not be written: {e}"
                );
                for (key, _, _) in &deletes {
                    record(&mut report, key, &[Action::Delete], &Err(msg.clone()));
                }
            }
        }
    }

    flush(&mut report, &mut logged);

    // 3. Renames, wave by wave: a rename into a DN another renamed entry
    //    leaves goes after it. A key whose rename failed gets no other
    //    change: its modify would land on whatever sits at the new DN.
    let mut failed_renames: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut waves: Vec<u32> = work.renames.iter().map(|(_, _, t)| t.wave).collect();
    waves.dedup();
    for wave in waves {
        let batch: Vec<&(String, Write, crate::plan::RenameTarget)> = work
            .renames
            .iter()
            .filter(|(_, _, t)| t.wave == wave)
            .collect();
        let results = dir
            .write(batch.iter().map(|(_, w, _)| w.clone()).collect())
            .await;
        for ((key, _, _), r) in batch.into_iter().zip(results) {
            if r.is_err() {
                failed_renames.insert(key.as_str());
            }
            record(
                &mut report,
                key,
                &[Action::Rename],
                &r.map_err(|e| e.to_string()),
            );
        }
    }

    flush(&mut report, &mut logged);

    // 4. Changes to existing mailboxes: attributes, locks, unlocks. They
    //    come before creations: an old address a mailbox gives up may be
    //    the address of a new one.
    type Keyed<'w> = Vec<&'w (String, Write)>;
    let (skipped, modifies): (Keyed<'_>, Keyed<'_>) = work
        .modifies
        .iter()
        .partition(|(k, _)| failed_renames.contains(k.as_str()));
    for (key, _) in skipped {
        record(
            &mut report,
            key,
            &[Action::Update, Action::Lock, Action::Unlock],
            &Err(tr!(
                "chưa làm: lệnh đổi tên trước nó thất bại (sẽ thử lại ở lần chạy sau)",
                "not done: the rename before it failed (retried on the next run)"
            )),
        );
    }
    // A restore (locked to active) gives the mailbox a new password that
    // must be changed at the next login: whoever held the old one may be
    // why it was locked. Staged like the passwords of creations.
    let restoring: HashMap<&str, &str> = work
        .restores
        .iter()
        .map(|(k, a)| (k.as_str(), a.as_str()))
        .collect();
    let mut lines = String::new();
    let mut each: Vec<Option<std::ops::Range<usize>>> = Vec::with_capacity(modifies.len());
    let mut writes = Vec::with_capacity(modifies.len());
    for (key, w) in &modifies {
        let mut w = w.clone();
        let address = restoring.get(key.as_str());
        match (&mut w, address) {
            (Write::Modify { mods, .. }, Some(address)) => {
                let secret = password::generate(&opts.password_policy);
                mods.insert(
                    0,
                    crate::live::Mod::Replace("userPassword".into(), vec![password::ssha(&secret)]),
                );
                let start = lines.len();
                lines.push_str(&format!("{address}\t{}\n", secret.expose()));
                each.push(Some(start..lines.len()));
            }
            _ => each.push(None),
        }
        writes.push(w);
    }
    let pending = opts.credentials_out.as_deref().map(pending_path);
    if !lines.is_empty()
        && let Some(p) = &pending
    {
        write_private(p, lines.as_bytes()).map_err(|e| {
            let path = p.display();
            ApplyError::Io(tr!(
                "không ghi được mật khẩu vào {path}: {e}; chưa khôi phục hộp thư nào",
                "cannot write the passwords to {path}: {e}; no mailbox was restored"
            ))
        })?;
    }
    let results = dir.write(writes).await;
    if !lines.is_empty() {
        let restored: String = each
            .iter()
            .zip(&results)
            .filter_map(|(range, r)| range.as_ref().filter(|_| r.is_ok()))
            .map(|range| &lines[range.clone()])
            .collect();
        if let Some(f) = credentials.as_mut() {
            f.write_all(restored.as_bytes())
                .and_then(|_| f.sync_all())
                .map_err(|e| {
                    let path = pending
                        .as_deref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    ApplyError::Io(tr!(
                        "không ghi được tệp mật khẩu: {e}; mật khẩu của các hộp thư vừa khôi phục vẫn nằm trong {path}",
                        "cannot write the credentials file: {e}; the passwords of the mailboxes just restored stay in {path}"
                    ))
                })?;
        }
        if let Some(p) = &pending {
            let _ = std::fs::remove_file(p);
        }
    }
    drop(lines);
    for ((key, _), r) in modifies.into_iter().zip(results) {
        let own = [Action::Update, Action::Lock, Action::Unlock];
        let shown = own.iter().any(|a| by_key.contains_key(&(key.as_str(), *a)));
        match (shown, r) {
            (true, r) => record(&mut report, key, &own, &r.map_err(|e| e.to_string())),
            // The attributes a rename carries (its address, its old one kept
            // as an alias): a failure is the rename's.
            (false, Err(e)) => record(
                &mut report,
                key,
                &[Action::Rename],
                &Err(tr!(
                    "đã đổi tên, nhưng chưa ghi được các thuộc tính: {e}",
                    "renamed, but its attributes were not written: {e}"
                )),
            ),
            (false, Ok(())) => {}
        }
    }

    flush(&mut report, &mut logged);

    // 5. Creations, each with a new password that must be changed at the
    //    first login. The passwords reach a pending file beside the
    //    credentials file before the entries exist, so a crash never leaves
    //    a mailbox whose password is lost; once the server has answered,
    //    the created ones move to the credentials file.
    if !work.creates.is_empty() {
        let mut writes = Vec::with_capacity(work.creates.len());
        let mut lines = String::new();
        let mut each: Vec<std::ops::Range<usize>> = Vec::with_capacity(work.creates.len());
        for (_, spec) in &work.creates {
            let secret = password::generate(&opts.password_policy);
            let mut attrs = spec.attrs.clone();
            let layout = crate::layout::Layout::get(work.layout);
            attrs.extend(layout.create_extras(&password::ssha(&secret), spec.status));
            let start = lines.len();
            lines.push_str(&format!("{}\t{}\n", spec.address, secret.expose()));
            each.push(start..lines.len());
            writes.push(Write::Add {
                dn: spec.dn.clone(),
                attrs,
            });
        }
        let pending = opts.credentials_out.as_deref().map(pending_path);
        if let Some(p) = &pending {
            write_private(p, lines.as_bytes()).map_err(|e| {
                let path = p.display();
                ApplyError::Io(tr!(
                    "không ghi được mật khẩu vào {path}: {e}; chưa tạo mới hộp thư nào",
                    "cannot write the passwords to {path}: {e}; no mailbox was created"
                ))
            })?;
        }
        let results = dir.write(writes).await;
        // A mailbox that was not created has no password to hand out.
        let created: String = each
            .iter()
            .zip(&results)
            .filter(|(_, r)| r.is_ok())
            .map(|(range, _)| &lines[range.clone()])
            .collect();
        if let Some(f) = credentials.as_mut() {
            f.write_all(created.as_bytes())
                .and_then(|_| f.sync_all())
                .map_err(|e| {
                    let path = pending
                        .as_deref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    ApplyError::Io(tr!(
                        "không ghi được tệp mật khẩu: {e}; mật khẩu của các hộp thư vừa tạo mới vẫn nằm trong {path}",
                        "cannot write the credentials file: {e}; the passwords of the mailboxes just created stay in {path}"
                    ))
                })?;
        }
        if let Some(p) = &pending {
            let _ = std::fs::remove_file(p);
        }
        drop(created);
        drop(lines);
        for ((key, _), r) in work.creates.iter().zip(results) {
            record(
                &mut report,
                key,
                &[Action::Create],
                &r.map_err(|e| e.to_string()),
            );
        }
    }

    flush(&mut report, &mut logged);

    // 6. How many mailboxes hopthu manages now: a later read that finds
    //    none of them is incomplete, never "everything was deleted".
    let done_deletes = report
        .outcomes
        .iter()
        .filter(|o| o.action == Action::Delete && o.error.is_none())
        .count();
    let failed_creates = report
        .outcomes
        .iter()
        .filter(|o| o.action == Action::Create && o.error.is_some())
        .count();
    let managed = (work.managed_after + work.deletes.len())
        .saturating_sub(done_deletes)
        .saturating_sub(failed_creates);
    if managed != work.recorded_managed || !work.setup.is_empty() {
        let results = dir
            .write(vec![Write::Modify {
                dn: work.state_dn.clone(),
                mods: vec![Mod::Replace(
                    "hopthuRecord".into(),
                    state_values(&work.state_records, managed),
                )],
            }])
            .await;
        if let Some(Err(e)) = results.first() {
            eprintln!(
                "{}",
                tr!(
                    "cảnh báo: hopthu không cập nhật được bản ghi của chính nó: {e}",
                    "warning: hopthu could not update its own records: {e}"
                )
            );
        }
    }
    Ok(report)
}

fn state_values(kept: &[String], managed: usize) -> Vec<String> {
    let mut v: Vec<String> = kept
        .iter()
        .filter(|r| !r.starts_with("managed "))
        .cloned()
        .collect();
    v.push(format!("managed {managed}"));
    v
}

/// Where the passwords of the creations in flight wait for the server's
/// answer: beside the credentials file, as private.
pub fn pending_path(credentials: &std::path::Path) -> PathBuf {
    let name = credentials
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "credentials".into());
    credentials.with_file_name(format!("{name}.pending"))
}

/// A pending file left by a run that was killed: its lines for mailboxes
/// that exist now go to the credentials file; the others (never created,
/// and created again by this plan with new passwords) go.
fn recover_pending(
    credentials: &std::path::Path,
    creating: &std::collections::HashSet<&str>,
) -> std::io::Result<()> {
    let pending = pending_path(credentials);
    let text = match std::fs::read_to_string(&pending) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let good: String = text
        .split_inclusive('\n')
        .filter(|l| {
            l.split('\t')
                .next()
                .is_some_and(|a| !a.is_empty() && !creating.contains(a))
        })
        .collect();
    if !good.is_empty() {
        let mut f = open_private(credentials)?;
        f.write_all(good.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::remove_file(&pending)
}

/// Write a file readable only by its owner, and make it durable.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Open (or create) a file readable only by its owner, for appending.
fn open_private(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(f)
}

/// The server's words for a refused write, without any value it was sent.
pub fn describe(e: &WriteError) -> String {
    e.to_string()
}
