//! The plan: what must change in the live directory for it to match the
//! desired state. Pure: two complete reads in, an ordered list of actions
//! out, and no I/O. The apply carries out exactly what is here.

use crate::desired::DesiredMailbox;
use crate::layout::{self, Layout};
use crate::live::{Attrs, LiveEntry, Mod, Write};
use crate::model::Status;
use crate::tr;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The entry hopthu keeps its own records in, under the base DN.
pub const STATE_RDN: &str = "cn=hopthu-state";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Rename,
    Update,
    Lock,
    Unlock,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Rename => "rename",
            Action::Update => "update",
            Action::Lock => "lock",
            Action::Unlock => "unlock",
            Action::Delete => "delete",
        }
    }
}

/// One action on one mailbox, as reviewers read it. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub action: Action,
    pub key: String,
    pub address: String,
    /// The old address of a rename.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub from: Option<String>,
    /// Create: the values written. Update: `{"from": [...], "to": [...]}` per
    /// changed attribute. Lock: the reason and the date.
    #[serde(default)]
    pub attributes: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub create: usize,
    pub rename: usize,
    pub update: usize,
    pub lock: usize,
    pub unlock: usize,
    pub delete: usize,
}

impl Summary {
    fn count(changes: &[Change]) -> Summary {
        let mut s = Summary::default();
        for c in changes {
            match c.action {
                Action::Create => s.create += 1,
                Action::Rename => s.rename += 1,
                Action::Update => s.update += 1,
                Action::Lock => s.lock += 1,
                Action::Unlock => s.unlock += 1,
                Action::Delete => s.delete += 1,
            }
        }
        s
    }

    pub fn total(&self) -> usize {
        self.create + self.rename + self.update + self.lock + self.unlock + self.delete
    }
}

/// A desired mailbox the plan cannot reach without touching what is not
/// hopthu's: reported, and nothing is done about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub key: String,
    pub address: String,
    /// The entry in the way.
    pub dn: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprints {
    /// Of the desired state (mailboxes and the settings the plan reads).
    pub desired: String,
    /// Of the live entries the plan read (last-login times excluded).
    pub live: String,
}

impl Fingerprints {
    /// The one string a person approves.
    pub fn combined(&self) -> String {
        short_hash(&format!("{}\n{}", self.desired, self.live))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub summary: Summary,
    /// Deletions waiting for a person's approval (`--approve-deletes`).
    pub held: Vec<Change>,
    /// What `--approve-deletes` must name to release exactly `held`.
    #[serde(rename = "heldFingerprint", default)]
    pub held_fingerprint: Option<String>,
    /// Why they are held: `too-many` (over `policy.maxDeletesPerRun`),
    /// `all-managed` (every mailbox hopthu manages would go) or
    /// `history-rewritten` (the git history was rewritten).
    #[serde(rename = "heldReason", default)]
    pub held_reason: Option<String>,
    pub conflicts: Vec<Conflict>,
    /// Entries created before any mailbox: the base, containers, hopthu's state.
    pub setup: Vec<String>,
    pub fingerprint: String,
    pub inputs: Fingerprints,
    #[serde(skip)]
    pub(crate) work: Work,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.setup.is_empty()
    }

    /// Leave these mailboxes as they are: every action on their keys goes
    /// (changes made by hand that `driftPolicy: report` only reports).
    /// Held deletions that remain get the fingerprint of what remains.
    pub fn drop_keys(&mut self, keys: &HashSet<String>) {
        if keys.is_empty() {
            return;
        }
        let gone = |k: &str| keys.contains(k);
        self.changes.retain(|c| !gone(&c.key));
        self.held.retain(|c| !gone(&c.key));
        let w = &mut self.work;
        w.creates.retain(|(k, _)| !gone(k));
        w.renames.retain(|(k, _, _)| !gone(k));
        w.modifies.retain(|(k, _)| !gone(k));
        w.restores.retain(|(k, _)| !gone(k));
        w.deletes.retain(|(k, _, _)| !gone(k));
        w.held_deletes.retain(|(k, _, _)| !gone(k));
        self.summary = Summary::count(&self.changes);
        if w.held_deletes.is_empty() {
            self.held_fingerprint = None;
            self.held_reason = None;
        } else {
            self.held_fingerprint = Some(held_fingerprint(&w.held_deletes));
        }
    }
}

impl Plan {
    /// The plan as `apply --approve-deletes` carries it out: the held
    /// deletions released among the changes, nothing held. For showing.
    pub fn with_held_released(&self) -> Plan {
        let mut p = self.clone();
        p.changes.append(&mut p.held);
        p.summary = Summary::count(&p.changes);
        p.held_fingerprint = None;
        p.held_reason = None;
        p
    }
}

/// What `--approve-deletes` must name to release exactly these deletions:
/// their keys and the entries' UUIDs.
fn held_fingerprint(held: &[(String, Write, LiveEntry)]) -> String {
    let ids: Vec<String> = held
        .iter()
        .map(|(k, _, e)| format!("{k} {}", e.first("entryUUID").unwrap_or_default()))
        .collect();
    short_hash(&ids.join("\n"))
}

/// The writes behind the changes, in the order they must be sent.
#[derive(Debug, Clone, Default)]
pub struct Work {
    pub setup: Vec<Write>,
    /// Renames in waves: a rename into a DN another renamed entry leaves
    /// goes in a later wave than that one.
    pub renames: Vec<(String, Write, RenameTarget)>,
    pub deletes: Vec<(String, Write, LiveEntry)>,
    pub creates: Vec<(String, CreateSpec)>,
    pub modifies: Vec<(String, Write)>,
    /// Unlocks (restores): the apply gives each a new password that must
    /// be changed at the next login. (key, address)
    pub restores: Vec<(String, String)>,
    pub held_deletes: Vec<(String, Write, LiveEntry)>,
    pub state_dn: String,
    pub managed_after: usize,
    /// What hopthu's state entry says now.
    pub state_records: Vec<String>,
    pub recorded_managed: usize,
    pub layout: crate::layout::LayoutName,
}

/// Where a rename goes, and in which wave of renames.
#[derive(Debug, Clone)]
pub struct RenameTarget {
    pub dn: String,
    pub wave: u32,
}

/// A create waits for its password, made at apply time and never planned.
#[derive(Debug, Clone)]
pub struct CreateSpec {
    pub dn: String,
    pub attrs: Attrs,
    pub address: String,
    pub status: Status,
}

pub struct Input<'a> {
    pub desired: &'a [DesiredMailbox],
    pub domain: &'a str,
    pub base_dn: &'a str,
    pub layout: &'static Layout,
    pub max_deletes: usize,
    pub grace_days: u32,
    /// Who hopthu is in the directory (its bind DN, or the file's writer).
    pub identity: &'a str,
    /// May the plan create the base entry (the embedded file directory)?
    pub may_create_base: bool,
    /// Hold every deletion for approval (the git history was rewritten).
    pub hold_all_deletes: bool,
    pub today: NaiveDate,
}

/// What the live directory holds, read completely.
pub struct Live {
    pub entries: Vec<LiveEntry>,
    pub base_exists: bool,
    /// The layout's containers that exist (as read), by DN.
    pub containers: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    NoBase(String),
    MissingManaged {
        expected: usize,
    },
    WrongBase {
        managed: usize,
        state_dn: String,
        base: String,
    },
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            PlanError::NoBase(base) => tr!(
                "base DN {base} không có trong thư mục đang chạy: hãy kiểm tra `directory.baseDN` hoặc --base-dn",
                "the base DN {base} does not exist in the live directory: check `directory.baseDN` or --base-dn"
            ),
            PlanError::MissingManaged { expected } => tr!(
                "thư mục đang chạy không trả về hộp thư nào do hopthu quản lý, nhưng bản ghi của hopthu nói có {expected}: lần đọc có vẻ không đầy đủ (tài khoản bind không đọc được gì, hoặc base DN sai); không ghi gì",
                "the live directory returned no mailbox hopthu manages, but its records say {expected} were there: the read looks incomplete (a bind that can read nothing, or a wrong base DN); nothing is written"
            ),
            PlanError::WrongBase {
                managed,
                state_dn,
                base,
            } => tr!(
                "thư mục đang chạy có {managed} hộp thư do hopthu quản lý, nhưng không có bản ghi của hopthu tại {state_dn}: base DN {base} không phải là base DN hopthu quản lý (hãy kiểm tra `directory.baseDN` hoặc --base-dn); không ghi gì",
                "the live directory holds {managed} mailbox(es) hopthu manages, but not hopthu's records at {state_dn}: the base DN {base} is not the one hopthu manages (check `directory.baseDN` or --base-dn); nothing is written"
            ),
        };
        f.write_str(&text)
    }
}

pub use crate::live::normalize_dn;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn short_hash(s: &str) -> String {
    let d = Sha256::digest(s.as_bytes());
    hex(&d[..16])
}

/// Attributes whose changes do not make a plan stale: they move whenever
/// someone logs in or mistypes a password.
const VOLATILE: &[&str] = &[
    "authtimestamp",
    "pwdlastsuccess",
    "pwdfailuretime",
    "modifytimestamp",
    "modifiersname",
    "entrycsn",
    "contextcsn",
];

/// `f` over fixed-size chunks of `items`, on every core; results in order.
/// The chunk size, not the number of cores, decides what each call sees,
/// so results are the same on every machine.
fn chunked<T: Sync, R: Send>(items: &[T], size: usize, f: impl Fn(&[T]) -> R + Sync) -> Vec<R> {
    let chunks: Vec<&[T]> = items.chunks(size.max(1)).collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(chunks.len());
    if threads <= 1 {
        return chunks.into_iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(c) = chunks.get(i) else {
                            return mine;
                        };
                        mine.push((i, f(c)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a fingerprint worker panicked"))
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

const FINGERPRINT_CHUNK: usize = 4096;

fn live_fingerprint(entries: &[LiveEntry]) -> String {
    // One digest per entry, sorted, then a digest of those: the order the
    // server returned entries in does not matter, and no big text is built.
    // A server returns the same entry the same way each time, so its DN and
    // values are hashed as they came.
    let digest = |e: &LiveEntry| -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(e.dn.as_bytes());
        for (k, v) in e.attrs.iter() {
            if VOLATILE.iter().any(|x| x.eq_ignore_ascii_case(k)) {
                continue;
            }
            h.update([2]);
            h.update(k.as_bytes());
            for x in v {
                h.update([1]);
                h.update(x.as_bytes());
            }
        }
        h.finalize().into()
    };
    let mut digests: Vec<[u8; 32]> = chunked(entries, FINGERPRINT_CHUNK, |c| {
        c.iter().map(digest).collect::<Vec<_>>()
    })
    .concat();
    digests.sort_unstable();
    let mut h = Sha256::new();
    for d in &digests {
        h.update(d);
    }
    hex(&h.finalize()[..16])
}

/// Feeds what serde writes straight into a hash.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn desired_fingerprint(input: &Input<'_>) -> String {
    // The mailboxes in their order, a chunk at a time on every core.
    let parts = chunked(input.desired, FINGERPRINT_CHUNK, |c| {
        let mut w = HashWriter(Sha256::new());
        let _ = serde_json::to_writer(&mut w, c);
        <[u8; 32]>::from(w.0.finalize())
    });
    let mut w = HashWriter(Sha256::new());
    for p in &parts {
        w.0.update(p);
    }
    w.0.update(
        format!(
            "\n{}\n{}\n{:?}\n{}\n{}",
            input.domain, input.base_dn, input.layout.name, input.max_deletes, input.grace_days
        )
        .as_bytes(),
    );
    hex(&w.0.finalize()[..16])
}

/// Grace records on an entry: `grace <address> <until YYYY-MM-DD>`.
fn grace_records(e: &LiveEntry) -> Vec<(String, NaiveDate)> {
    e.get("hopthuRecord")
        .iter()
        .filter_map(|r| {
            let mut it = r.split(' ');
            match (it.next(), it.next(), it.next()) {
                (Some("grace"), Some(addr), Some(until)) => {
                    NaiveDate::parse_from_str(until, "%Y-%m-%d")
                        .ok()
                        .map(|d| (addr.to_ascii_lowercase(), d))
                }
                _ => None,
            }
        })
        .collect()
}

/// Records in hopthu's state entry.
fn state_records<'e>(state: Option<&'e LiveEntry>, word: &str) -> Vec<&'e str> {
    state
        .map(|s| {
            s.get("hopthuRecord")
                .iter()
                .filter_map(|r| r.strip_prefix(word).and_then(|x| x.strip_prefix(' ')))
                .collect()
        })
        .unwrap_or_default()
}

pub fn plan(input: &Input<'_>, live: &Live) -> Result<Plan, PlanError> {
    let layout = input.layout;
    let base = input.base_dn;
    let state_dn = format!("{STATE_RDN},{base}");
    let state_norm = normalize_dn(&state_dn);
    let identity = normalize_dn(input.identity);

    if !live.base_exists && !input.may_create_base {
        return Err(PlanError::NoBase(base.to_string()));
    }

    let state = live.entries.iter().find(|e| {
        e.get("objectClass")
            .iter()
            .any(|c| c.eq_ignore_ascii_case("hopthuState"))
            && normalize_dn(&e.dn) == state_norm
    });
    let adopted: HashSet<String> = state_records(state, "adopted")
        .into_iter()
        .map(|u| u.to_ascii_lowercase())
        .collect();
    let expected_managed: usize = state_records(state, "managed")
        .first()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);

    // Sort the live entries: hopthu's own (created by it or adopted, with a
    // key) by key; everything else only blocks addresses.
    let mut managed: HashMap<&str, &LiveEntry> = HashMap::with_capacity(live.entries.len());
    let mut duplicate_keys: Vec<(&LiveEntry, String)> = Vec::new();
    let mut foreign: HashMap<String, &LiveEntry> = HashMap::new();
    let same_dn =
        |a: &str, norm_b: &str| a.eq_ignore_ascii_case(norm_b) || normalize_dn(a) == norm_b;
    for e in &live.entries {
        let has_class = |c: &str| {
            e.get("objectClass")
                .iter()
                .any(|x| x.eq_ignore_ascii_case(c))
        };
        if !has_class(layout.mailbox_class) {
            continue;
        }
        let owned = e
            .first("creatorsName")
            .is_some_and(|c| same_dn(c, &identity))
            || e.first("entryUUID")
                .is_some_and(|u| adopted.contains(&u.to_ascii_lowercase()));
        match (owned, e.first("hopthuKey")) {
            (true, Some(key)) => {
                if managed.contains_key(key) {
                    duplicate_keys.push((e, key.to_string()));
                } else {
                    managed.insert(key, e);
                }
            }
            _ => {
                let alias_attr = layout.alias_attr;
                for a in e.get("mail").iter().chain(e.get(alias_attr).iter()) {
                    foreign.insert(a.to_ascii_lowercase(), e);
                }
            }
        }
    }
    if managed.is_empty() && expected_managed > 0 {
        return Err(PlanError::MissingManaged {
            expected: expected_managed,
        });
    }
    // hopthu writes its records before its first mailbox: mailboxes of its
    // own without them under this base mean the base is not the one it
    // manages (a parent or a child of it), and a plan from here would copy
    // or move everything.
    if state.is_none() && !managed.is_empty() {
        return Err(PlanError::WrongBase {
            managed: managed.len(),
            state_dn,
            base: base.to_string(),
        });
    }

    let mut work = Work {
        state_dn: state_dn.clone(),
        state_records: state
            .map(|s| s.get("hopthuRecord").to_vec())
            .unwrap_or_default(),
        recorded_managed: expected_managed,
        layout: layout.name,
        ..Work::default()
    };
    let mut setup = Vec::new();
    let exists = |dn: &str| {
        let n = normalize_dn(dn);
        live.containers.iter().any(|c| normalize_dn(c) == n)
    };
    if !live.base_exists {
        work.setup.push(Write::Add {
            dn: base.to_string(),
            attrs: base_entry(base, input.domain),
        });
        setup.push(base.to_string());
    }
    for (tpl, attrs) in layout.container_chain {
        let dn = layout::fill_template(tpl, base, input.domain);
        if !exists(&dn) {
            let mut a = Attrs::new();
            for (k, v) in *attrs {
                a.entry(k.to_string())
                    .or_default()
                    .push(layout::fill_template(v, base, input.domain));
            }
            work.setup.push(Write::Add {
                dn: dn.clone(),
                attrs: a,
            });
            setup.push(dn);
        }
    }
    if state.is_none() {
        let mut a = Attrs::new();
        a.insert("objectClass".into(), vec!["hopthuState".into()]);
        a.insert("cn".into(), vec!["hopthu-state".into()]);
        a.insert(
            "description".into(),
            vec!["hopthu: records of the mail directory reconciler".into()],
        );
        work.setup.push(Write::Add {
            dn: state_dn.clone(),
            attrs: a,
        });
        setup.push(state_dn.clone());
    }

    let mut changes: Vec<Change> = Vec::new();
    let mut conflicts: Vec<Conflict> = Vec::new();
    for (e, key) in &duplicate_keys {
        conflicts.push(Conflict {
            key: key.clone(),
            address: e.first("mail").unwrap_or_default().to_string(),
            dn: e.dn.clone(),
            reason: tr!(
                "một mục thứ hai mang cùng mã hopthuKey này; hopthu quản lý mục thứ nhất và để nguyên mục này",
                "a second entry carries this key; hopthu manages the first and leaves this one alone"
            ),
        });
    }
    let desired_keys: HashSet<&str> = input.desired.iter().map(|m| m.key.as_str()).collect();
    // Every address the desired state gives out: an old address kept for a
    // grace period yields to a mailbox that is now given it.
    let wanted: HashSet<&str> = input
        .desired
        .iter()
        .flat_map(|m| {
            std::iter::once(m.address.as_str()).chain(m.aliases.iter().map(String::as_str))
        })
        .collect();
    let grace_until = add_days(input.today, input.grace_days);

    // Each desired mailbox is compared on its own: the work is split over
    // the machine's cores and put back together in the repository's order.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = input.desired.len().div_ceil(threads).max(1);
    // The fingerprints of both inputs are taken alongside, on every core.
    let (parts, inputs): (Vec<Part>, Fingerprints) = std::thread::scope(|scope| {
        let handles: Vec<_> = input
            .desired
            .chunks(chunk)
            .map(|ms| {
                let managed = &managed;
                let foreign = &foreign;
                let wanted = &wanted;
                let lang = crate::i18n::current();
                scope.spawn(move || {
                    crate::i18n::with(lang, || {
                        plan_chunk(input, ms, managed, foreign, wanted, grace_until)
                    })
                })
            })
            .collect();
        let parts = handles
            .into_iter()
            .map(|h| h.join().expect("a plan worker panicked"))
            .collect();
        (
            parts,
            Fingerprints {
                desired: desired_fingerprint(input),
                live: live_fingerprint(&live.entries),
            },
        )
    });
    for part in parts {
        changes.extend(part.changes);
        conflicts.extend(part.conflicts);
        work.creates.extend(part.work.creates);
        work.renames.extend(part.work.renames);
        work.modifies.extend(part.work.modifies);
        work.restores.extend(part.work.restores);
    }

    // Managed entries no longer desired: deletions.
    let mut deletes: Vec<(Change, Write, LiveEntry)> = managed
        .iter()
        .filter(|(k, _)| !desired_keys.contains(*k))
        .map(|(k, e)| {
            (
                Change {
                    action: Action::Delete,
                    key: k.to_string(),
                    address: e.first("mail").unwrap_or_default().to_ascii_lowercase(),
                    from: None,
                    attributes: BTreeMap::new(),
                },
                Write::Delete { dn: e.dn.clone() },
                (*e).clone(),
            )
        })
        .collect();
    deletes.sort_by(|a, b| a.0.key.cmp(&b.0.key));
    let mut held = Vec::new();
    let mut held_fingerprint = None;
    // Deleting every mailbox hopthu manages is never routine, however few
    // they are: it is what an emptied repository or a wrong path looks like.
    let all_managed = !deletes.is_empty() && deletes.len() == managed.len();
    let held_reason = if input.hold_all_deletes && !deletes.is_empty() {
        Some("history-rewritten")
    } else if deletes.len() > input.max_deletes {
        Some("too-many")
    } else if all_managed {
        Some("all-managed")
    } else {
        None
    };
    if held_reason.is_some() {
        for (c, w, e) in deletes {
            held.push(c.clone());
            work.held_deletes.push((c.key, w, e));
        }
        held_fingerprint = Some(self::held_fingerprint(&work.held_deletes));
    } else {
        for (c, w, e) in deletes {
            work.deletes.push((c.key.clone(), w, e));
            changes.push(c);
        }
    }

    order_moves(&managed, &mut work, &mut changes, &mut conflicts);

    changes.sort_by(|a, b| (order(a.action), &a.key).cmp(&(order(b.action), &b.key)));
    let summary = Summary::count(&changes);
    work.managed_after = managed.len() + work.creates.len() - work.deletes.len();
    Ok(Plan {
        fingerprint: inputs.combined(),
        inputs,
        changes,
        summary,
        held,
        held_fingerprint,
        held_reason: held_reason.map(str::to_string),
        conflicts,
        setup,
        work,
    })
}

/// What one worker of the plan found.
#[derive(Default)]
struct Part {
    changes: Vec<Change>,
    conflicts: Vec<Conflict>,
    work: Work,
}

fn plan_chunk(
    input: &Input<'_>,
    desired: &[DesiredMailbox],
    managed: &HashMap<&str, &LiveEntry>,
    foreign: &HashMap<String, &LiveEntry>,
    wanted: &HashSet<&str>,
    grace_until: NaiveDate,
) -> Part {
    let layout = input.layout;
    let base = input.base_dn;
    let mut part = Part::default();
    let (changes, conflicts, work) = (&mut part.changes, &mut part.conflicts, &mut part.work);
    for m in desired {
        let live_entry = managed.get(m.key.as_str()).copied();
        // Addresses this mailbox needs that something not hopthu's holds.
        let blocked: Vec<&LiveEntry> = std::iter::once(&m.address)
            .chain(m.aliases.iter())
            .filter_map(|a| foreign.get(a).copied())
            .collect();
        if let Some(b) = blocked.first() {
            conflicts.push(Conflict {
                key: m.key.clone(),
                address: m.address.clone(),
                dn: b.dn.clone(),
                reason: tr!(
                    "một mục không do hopthu quản lý đang giữ địa chỉ này; hãy tiếp nhận nó bằng `hopthu adopt` hoặc giải phóng địa chỉ",
                    "an entry hopthu does not manage holds this address; adopt it with `hopthu adopt` or free the address"
                ),
            });
            continue;
        }
        match live_entry {
            None => {
                let attrs = layout.to_attrs(m, &m.aliases);
                let dn = layout.dn_for(&m.address, base, input.domain);
                let mut shown: BTreeMap<String, serde_json::Value> = attrs
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::json!(v)))
                    .collect();
                if m.status == Status::Locked {
                    shown.insert("status".into(), serde_json::json!("locked"));
                }
                changes.push(Change {
                    action: Action::Create,
                    key: m.key.clone(),
                    address: m.address.clone(),
                    from: None,
                    attributes: shown,
                });
                work.creates.push((
                    m.key.clone(),
                    CreateSpec {
                        dn,
                        attrs,
                        address: m.address.clone(),
                        status: m.status,
                    },
                ));
            }
            Some(e) => diff_existing(input, m, e, wanted, grace_until, changes, work),
        }
    }

    part
}

/// The order the apply carries actions out in, and plans show them in:
/// deletions free addresses, renames move into them, changes drop old
/// addresses that new mailboxes take, creations come last.
fn order(a: Action) -> u8 {
    match a {
        Action::Delete => 0,
        Action::Rename => 1,
        Action::Update => 2,
        Action::Lock => 3,
        Action::Unlock => 4,
        Action::Create => 5,
    }
}

/// Creations and renames go to DNs that other mailboxes of hopthu's may
/// hold now. Each one is checked against the entry there:
/// - deleted in this plan: the deletion goes first, nothing to do;
/// - renamed away in this plan: this rename waits for that one (waves);
/// - staying (its deletion is held, or it keeps the address): the action
///   waits, reported as a conflict, with every other action on its key;
/// - mailboxes that swap addresses: reported, never half done.
fn order_moves(
    managed: &HashMap<&str, &LiveEntry>,
    work: &mut Work,
    changes: &mut Vec<Change>,
    conflicts: &mut Vec<Conflict>,
) {
    if work.renames.is_empty() && work.creates.is_empty() {
        return;
    }
    let occupant: HashMap<String, &str> = managed
        .iter()
        .map(|(k, e)| (normalize_dn(&e.dn), *k))
        .collect();
    let deleted: HashSet<&str> = work.deletes.iter().map(|(k, _, _)| k.as_str()).collect();
    let held: HashMap<&str, ()> = work
        .held_deletes
        .iter()
        .map(|(k, _, _)| (k.as_str(), ()))
        .collect();
    let renaming: HashMap<String, String> = work
        .renames
        .iter()
        .map(|(k, _, t)| (k.clone(), normalize_dn(&t.dn)))
        .collect();
    // Who is in the way of whom: key -> the key holding its target now.
    let mut waits_for: HashMap<String, String> = HashMap::new();
    let mut blocked: Vec<(String, String, String)> = Vec::new(); // (key, holder, why)
    let targets = work
        .renames
        .iter()
        .map(|(k, _, t)| (k.clone(), normalize_dn(&t.dn)))
        .chain(
            work.creates
                .iter()
                .map(|(k, c)| (k.clone(), normalize_dn(&c.dn))),
        )
        .collect::<Vec<_>>();
    for (key, target) in targets {
        let Some(&holder) = occupant.get(&target) else {
            continue;
        };
        if holder == key || deleted.contains(holder) {
            continue;
        }
        if renaming.contains_key(holder) {
            waits_for.insert(key, holder.to_string());
        } else if held.contains_key(holder) {
            blocked.push((
                key,
                holder.to_string(),
                tr!(
                    "lệnh thu hồi hộp thư đó đang tạm giữ, chờ phê duyệt",
                    "its deletion is held for approval"
                ),
            ));
        } else {
            blocked.push((
                key,
                holder.to_string(),
                tr!("nó vẫn giữ địa chỉ này", "it keeps this address"),
            ));
        }
    }
    // Waves: one more than the rename waited for; a cycle is a swap.
    let mut wave: HashMap<String, u32> = HashMap::new();
    for key in renaming.keys() {
        let mut chain = vec![key.clone()];
        let mut cur = key.clone();
        let found = loop {
            if let Some(&w) = wave.get(&cur) {
                break Some(w);
            }
            match waits_for.get(&cur) {
                None => break Some(0),
                Some(next) if chain.contains(next) => break None,
                Some(next) => {
                    chain.push(next.clone());
                    cur = next.clone();
                }
            }
        };
        match found {
            Some(mut w) => {
                // `cur` has wave w; every key before it in the chain waits
                // for the one after it.
                let stop = chain
                    .iter()
                    .position(|k| *k == cur)
                    .unwrap_or(chain.len() - 1);
                wave.insert(cur.clone(), w);
                for k in chain[..stop].iter().rev() {
                    w += 1;
                    wave.insert(k.clone(), w);
                }
            }
            None => {
                for k in &chain {
                    if !blocked.iter().any(|(b, _, _)| b == k) {
                        let holder = waits_for.get(k).cloned().unwrap_or_default();
                        blocked.push((
                            k.clone(),
                            holder,
                            tr!(
                                "hai hộp thư đổi địa chỉ cho nhau; hãy đặt cho một hộp thư địa chỉ mới trước, rồi trao địa chỉ của nó cho hộp thư kia trong một thay đổi thứ hai",
                                "the two mailboxes swap addresses; give one of them a new address first, then the other its address in a second change"
                            ),
                        ));
                    }
                }
            }
        }
    }
    // A create into a DN a renamed entry leaves waits for nothing: creations
    // come after every rename. A create or rename whose holder is blocked
    // itself cannot go either.
    loop {
        let more: Vec<(String, String, String)> = waits_for
            .iter()
            .filter(|(k, h)| {
                blocked.iter().any(|(b, _, _)| b == *h) && !blocked.iter().any(|(b, _, _)| b == *k)
            })
            .map(|(k, h)| {
                (
                    k.clone(),
                    h.clone(),
                    tr!(
                        "hộp thư đang chiếm địa chỉ đó chưa thể chuyển đi",
                        "the mailbox in the way cannot move yet"
                    ),
                )
            })
            .collect();
        if more.is_empty() {
            break;
        }
        blocked.extend(more);
    }
    for (k, _, t) in work.renames.iter_mut() {
        t.wave = wave.get(k).copied().unwrap_or(0);
    }
    if blocked.is_empty() {
        work.renames.sort_by_key(|(_, _, t)| t.wave);
        return;
    }
    let is_blocked = |k: &str| blocked.iter().any(|(b, _, _)| b == k);
    for (key, holder, why) in &blocked {
        let address = changes
            .iter()
            .find(|c| c.key == *key && matches!(c.action, Action::Create | Action::Rename))
            .map(|c| c.address.clone())
            .unwrap_or_default();
        let dn = managed
            .get(holder.as_str())
            .map(|e| e.dn.clone())
            .unwrap_or_default();
        conflicts.push(Conflict {
            key: key.clone(),
            address,
            dn,
            reason: tr!(
                "hộp thư {holder} đang giữ địa chỉ này: {why}; chưa làm gì với hộp thư này cho đến lúc đó",
                "the mailbox {holder} holds this address now: {why}; nothing is done for this mailbox until then"
            ),
        });
    }
    changes.retain(|c| !(is_blocked(&c.key) && c.action != Action::Delete));
    work.renames.retain(|(k, _, _)| !is_blocked(k));
    work.creates.retain(|(k, _)| !is_blocked(k));
    work.modifies.retain(|(k, _)| !is_blocked(k));
    work.restores.retain(|(k, _)| !is_blocked(k));
    work.renames.sort_by_key(|(_, _, t)| t.wave);
}

fn diff_existing(
    input: &Input<'_>,
    m: &DesiredMailbox,
    e: &LiveEntry,
    wanted: &HashSet<&str>,
    grace_until: NaiveDate,
    changes: &mut Vec<Change>,
    work: &mut Work,
) {
    let layout = input.layout;
    let live_addr = e.first("mail").unwrap_or_default().to_ascii_lowercase();
    let renamed = live_addr != m.address;

    // Aliases: the declared ones, the old addresses still in their grace
    // period, and the old address of a rename made now.
    let ours = |a: &str| a == m.address || m.aliases.iter().any(|x| x == a);
    let given_out = |a: &str| !ours(a) && wanted.contains(a);
    let mut graces: Vec<(String, NaiveDate)> = grace_records(e)
        .into_iter()
        .filter(|(a, until)| *until >= input.today && *a != m.address && !given_out(a))
        .collect();
    if renamed && !live_addr.is_empty() {
        graces.retain(|(a, _)| *a != live_addr);
        if !given_out(&live_addr) {
            graces.push((live_addr.clone(), grace_until));
        }
    }
    graces.sort();
    let mut aliases: Vec<String> = m.aliases.clone();
    aliases.extend(graces.iter().map(|(a, _)| a.clone()));
    let mut want_records: Vec<String> = graces
        .iter()
        .map(|(a, d)| format!("grace {a} {}", d.format("%Y-%m-%d")))
        .collect();
    // Records of other kinds on the entry are kept as they are.
    want_records.extend(
        e.get("hopthuRecord")
            .iter()
            .filter(|r| !r.starts_with("grace "))
            .cloned(),
    );
    want_records.sort();
    let mut have_records: Vec<String> = e.get("hopthuRecord").to_vec();
    have_records.sort();

    let mut diff: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let mut mods: Vec<Mod> = Vec::new();
    // Most mailboxes are in sync: say so without building both sides.
    let in_sync = layout.matches(m, &aliases, e) && want_records == have_records;
    if !in_sync || cfg!(debug_assertions) {
        let mut want = layout.to_attrs(m, &aliases);
        if !want_records.is_empty() {
            want.insert("hopthuRecord".into(), want_records);
        }
        for (k, v) in want.iter_mut() {
            *v = v.iter().map(|x| layout::normalize_value(k, x)).collect();
            v.sort();
            v.dedup();
        }
        let mut have = layout.from_entry(e);
        if !have_records.is_empty() {
            have.insert("hopthuRecord".into(), have_records);
        }
        let names: std::collections::BTreeSet<&String> = want.keys().chain(have.keys()).collect();
        for name in names {
            let w = want.get(name).cloned().unwrap_or_default();
            let h = have.get(name).cloned().unwrap_or_default();
            if w != h {
                diff.insert(name.clone(), serde_json::json!({"from": h, "to": w}));
                mods.push(Mod::Replace(name.clone(), w));
            }
        }
        debug_assert_eq!(
            in_sync,
            diff.is_empty(),
            "the fast comparison disagrees with the full one for {}: {diff:?}",
            m.key
        );
    }
    // The naming attribute of a rename moves with the modify-DN.
    // The entry moves when its address changed, or when it is not where the
    // layout puts it (an adopted entry with another naming attribute).
    let want_dn = layout.dn_for(&m.address, input.base_dn, input.domain);
    let mut dn = e.dn.clone();
    if !e.dn.eq_ignore_ascii_case(&want_dn) && normalize_dn(&e.dn) != normalize_dn(&want_dn) {
        let new_rdn = layout.rdn_for(&m.address);
        let new_parent = layout.container_dn(input.base_dn, input.domain);
        let old_parent = crate::live::dn::parent_dn(&e.dn)
            .ok()
            .flatten()
            .unwrap_or_default();
        let superior =
            (normalize_dn(&old_parent) != normalize_dn(&new_parent)).then_some(new_parent.clone());
        work.renames.push((
            m.key.clone(),
            Write::Rename {
                dn: e.dn.clone(),
                new_rdn: new_rdn.clone(),
                new_superior: superior,
            },
            RenameTarget {
                dn: want_dn.clone(),
                wave: 0,
            },
        ));
        dn = want_dn.clone();
        if !renamed {
            diff.insert(
                "dn".into(),
                serde_json::json!({"from": [e.dn], "to": [want_dn]}),
            );
        }
    }
    if renamed {
        // What a rename writes beyond its new DN (the address, the uid, the
        // old address kept as an alias and its record) belongs to it: the
        // update shows only what else changed.
        let mut attributes = BTreeMap::new();
        if graces.iter().any(|(a, _)| *a == live_addr) {
            attributes.insert(
                "oldAddressUntil".into(),
                serde_json::json!(grace_until.format("%Y-%m-%d").to_string()),
            );
        }
        for implied in ["mail", "uid", "hopthuRecord", layout.alias_attr] {
            let only_the_rename = implied != layout.alias_attr || {
                // The alias list changed only by the old address joining.
                let from = diff
                    .get(implied)
                    .and_then(|d| d.get("from"))
                    .and_then(|v| v.as_array())
                    .map(|a| a.len())
                    .unwrap_or(0);
                let to = diff
                    .get(implied)
                    .and_then(|d| d.get("to"))
                    .and_then(|v| v.as_array())
                    .map(|a| a.len())
                    .unwrap_or(0);
                to == from + 1
                    && diff
                        .get(implied)
                        .and_then(|d| d.get("to"))
                        .and_then(|v| v.as_array())
                        .is_some_and(|a| a.iter().any(|x| x == &serde_json::json!(live_addr)))
            };
            if only_the_rename {
                diff.remove(implied);
            }
        }
        changes.push(Change {
            action: Action::Rename,
            key: m.key.clone(),
            address: m.address.clone(),
            from: Some(live_addr.clone()),
            attributes,
        });
    }
    if !diff.is_empty() {
        changes.push(Change {
            action: Action::Update,
            key: m.key.clone(),
            address: m.address.clone(),
            from: None,
            attributes: diff,
        });
    }
    let locked_now = layout.is_locked(e);
    match (m.status, locked_now) {
        (Status::Locked, false) => {
            let mut a = BTreeMap::new();
            if let Some(l) = &m.lock {
                a.insert(
                    "reason".into(),
                    serde_json::json!(layout::reason_word(l.reason)),
                );
                a.insert("since".into(), serde_json::json!(l.since));
            }
            changes.push(Change {
                action: Action::Lock,
                key: m.key.clone(),
                address: m.address.clone(),
                from: None,
                attributes: a,
            });
            mods.extend(layout.lock_mods(e));
        }
        (Status::Active, true) => {
            changes.push(Change {
                action: Action::Unlock,
                key: m.key.clone(),
                address: m.address.clone(),
                from: None,
                attributes: BTreeMap::new(),
            });
            mods.extend(layout.unlock_mods(e));
            work.restores.push((m.key.clone(), m.address.clone()));
        }
        _ => {}
    }
    if !mods.is_empty() {
        work.modifies
            .push((m.key.clone(), Write::Modify { dn, mods }));
    }
}

/// The base entry of an empty embedded directory (`dc=sonla,dc=gov,dc=vn`).
fn base_entry(base: &str, domain: &str) -> Attrs {
    let mut a = Attrs::new();
    let first = base.split(',').next().unwrap_or_default();
    let (attr, value) = first.split_once('=').unwrap_or(("dc", first));
    if attr.eq_ignore_ascii_case("dc") {
        a.insert(
            "objectClass".into(),
            vec!["dcObject".into(), "organization".into()],
        );
        a.insert("dc".into(), vec![value.to_string()]);
        a.insert("o".into(), vec![domain.to_string()]);
    } else {
        a.insert("objectClass".into(), vec!["organization".into()]);
        a.insert("o".into(), vec![value.to_string()]);
    }
    a
}

/// `days` after `day`, for at most [`crate::model::MAX_POLICY_DAYS`] days
/// (a grace period a deployment sets is not bounded by the schema), and
/// never past the last day a date can be.
pub fn add_days(day: NaiveDate, days: u32) -> NaiveDate {
    let days = days.min(crate::model::MAX_POLICY_DAYS);
    day.checked_add_days(chrono::Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_added_to_a_date_never_overflow() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        assert_eq!(
            add_days(day, 180),
            NaiveDate::from_ymd_opt(2027, 6, 2).unwrap()
        );
        let far = add_days(day, crate::model::MAX_POLICY_DAYS);
        assert_eq!(add_days(day, u32::MAX), far);
        assert_eq!(add_days(NaiveDate::MAX, 1), NaiveDate::MAX);
    }

    #[test]
    fn dns_that_escape_the_same_value_differently_compare_equal() {
        assert_eq!(
            normalize_dn("uid=a\\,b, OU=People ,dc=x"),
            normalize_dn("uid=a\\2Cb,ou=people,DC=X")
        );
        assert_ne!(normalize_dn("uid=a\\,b,dc=x"), normalize_dn("uid=a,b,dc=x"));
        assert_eq!(
            normalize_dn("cn=Nguyễn Văn An,dc=x"),
            "cn=nguyễn văn an,dc=x"
        );
        assert_eq!(normalize_dn("cn=Nguy\\E1\\BB\\85n,dc=x"), "cn=nguyễn,dc=x");
    }
}

/// An entry hopthu can take over: not hopthu's, its `mail` is exactly a
/// desired mailbox's address, and no mailbox of hopthu's has that key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Adoption {
    pub key: String,
    pub address: String,
    pub dn: String,
    pub uuid: String,
    /// Already in hopthu's records (an earlier adoption that did not finish).
    pub recorded: bool,
    /// Why the entry is not taken over although its address matches: its
    /// name is someone else's.
    pub mismatch: Option<String>,
}

/// What `hopthu adopt` would take over, and the writes that do it.
pub fn adoptions(input: &Input<'_>, live: &Live) -> (Vec<Adoption>, Vec<Write>) {
    let layout = input.layout;
    let state_dn = format!("{STATE_RDN},{}", input.base_dn);
    let state_norm = normalize_dn(&state_dn);
    let identity = normalize_dn(input.identity);
    let state = live.entries.iter().find(|e| {
        e.get("objectClass")
            .iter()
            .any(|c| c.eq_ignore_ascii_case("hopthuState"))
            && normalize_dn(&e.dn) == state_norm
    });
    let adopted: HashSet<String> = state_records(state, "adopted")
        .into_iter()
        .map(|u| u.to_ascii_lowercase())
        .collect();
    let owned = |e: &LiveEntry| {
        e.first("creatorsName")
            .is_some_and(|c| normalize_dn(c) == identity)
            || e.first("entryUUID")
                .is_some_and(|u| adopted.contains(&u.to_ascii_lowercase()))
    };
    let managed_keys: HashSet<&str> = live
        .entries
        .iter()
        .filter(|e| owned(e))
        .filter(|e| e.first("hopthuKey").is_some())
        .filter_map(|e| e.first("hopthuKey"))
        .collect();
    let mut found = Vec::new();
    let mut writes = Vec::new();
    for m in input.desired {
        if managed_keys.contains(m.key.as_str()) {
            continue;
        }
        let Some(e) = live.entries.iter().find(|e| {
            !(owned(e) && e.first("hopthuKey").is_some())
                && e.get("objectClass")
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(layout.mailbox_class))
                && e.get("mail")
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(&m.address))
        }) else {
            continue;
        };
        let Some(uuid) = e.first("entryUUID") else {
            continue;
        };
        // The address is not enough: the name must be the same person's or
        // office's (compared without diacritics, case or spacing).
        let same = |a: &str, b: &str| match (crate::naming::fold(a), crate::naming::fold(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => a.trim().eq_ignore_ascii_case(b.trim()),
        };
        let names: Vec<&str> = ["cn", "displayName"]
            .iter()
            .flat_map(|k| e.get(k).iter().map(String::as_str))
            .collect();
        if !names.is_empty() && !names.iter().any(|n| same(n, &m.display_name)) {
            found.push(Adoption {
                key: m.key.clone(),
                address: m.address.clone(),
                dn: e.dn.clone(),
                uuid: uuid.to_string(),
                recorded: false,
                mismatch: Some({
                    let (live, want) = (names[0], &m.display_name);
                    crate::tr!(
                        "tên trong thư mục là \"{live}\", kho ghi \"{want}\"; hãy sửa một trong hai trước",
                        "the name in the directory is \"{live}\", the repository says \"{want}\"; correct one of them first"
                    )
                }),
            });
            continue;
        }
        // Every other address it holds must be declared as an alias, or
        // the plan's `mail` would drop it and its mail stop arriving.
        let undeclared: Vec<&str> = e
            .get("mail")
            .iter()
            .map(String::as_str)
            .filter(|a| !a.eq_ignore_ascii_case(&m.address))
            .filter(|a| !m.aliases.iter().any(|x| x.eq_ignore_ascii_case(a)))
            .collect();
        if !undeclared.is_empty() {
            let list = undeclared.join(", ");
            found.push(Adoption {
                key: m.key.clone(),
                address: m.address.clone(),
                dn: e.dn.clone(),
                uuid: uuid.to_string(),
                recorded: false,
                mismatch: Some(crate::tr!(
                    "mục này còn giữ cả {list}: hãy khai báo trong `aliases` trước, nếu không thư gửi tới đó sẽ không đến nữa",
                    "it also holds {list}: declare it under `aliases` first, or mail to it would stop arriving"
                )),
            });
            continue;
        }
        let mut mods = Vec::new();
        if !e
            .get("objectClass")
            .iter()
            .any(|c| c.eq_ignore_ascii_case("hopthuMailbox"))
        {
            mods.push(Mod::Add("objectClass".into(), vec!["hopthuMailbox".into()]));
        }
        mods.push(Mod::Replace("hopthuKey".into(), vec![m.key.clone()]));
        writes.push(Write::Modify {
            dn: e.dn.clone(),
            mods,
        });
        found.push(Adoption {
            key: m.key.clone(),
            address: m.address.clone(),
            dn: e.dn.clone(),
            uuid: uuid.to_string(),
            recorded: adopted.contains(&uuid.to_ascii_lowercase()),
            mismatch: None,
        });
    }
    (found, writes)
}
