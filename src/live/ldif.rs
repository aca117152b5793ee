//! The embedded file backend (`ldif:PATH`): the whole directory in one LDIF
//! file (RFC 2849 content records), held in memory, written with LDAP
//! semantics and result codes, and saved atomically once per batch.
//!
//! - A missing file is an empty directory. A present file is parsed whole or
//!   refused (`DirError::File` naming the line); a refused file is never
//!   written over, because no `LdifDirectory` exists for it.
//! - Entries are keyed by their normalized DN (`dn::normalize_dn` rules), so
//!   `cn=a\,b` and `CN=A\2CB` are one entry. The spelling written first is
//!   the one kept and returned.
//! - Naming contexts: an entry may be added when its parent exists, or when
//!   no ancestor of it exists at all (a new root, like a server's suffix
//!   entry). Adding under a missing parent below an existing ancestor is
//!   refused with 32, as a server would.
//! - The backend maintains `entryUUID` (random v4), `creatorsName`,
//!   `createTimestamp`, `modifiersName`, `modifyTimestamp` (the actor is
//!   `cn=hopthu` unless [`LdifDirectory::set_actor`] says otherwise);
//!   callers cannot write them (19). A rename keeps `entryUUID`.
//! - Operational attributes (those, plus `pwdAccountLockedTime`, `pwdReset`
//!   and the other ppolicy/lastbind ones a caller may store) are returned for
//!   `+` or by name, never for `*`, as on a server.
//! - There is no schema: object classes and attribute syntaxes are not
//!   checked beyond "an entry has an objectClass" and "the RDN values are in
//!   the entry". Values compare without regard to case (and to repeated
//!   spaces), except `userPassword` (any attribute named like a password),
//!   `hopthuKey`, `hopthuRecord` and `entryUUID`, which compare exactly.
//! - Values are text: a base64 value that is not UTF-8 makes the file
//!   unreadable (an error naming the line), it is never dropped.
//! - One writer at a time: the file is read at `open` and then only written.
//!
//! The saved file is deterministic: `version: 1`, a header comment, entries
//! parent-first then by normalized DN, `objectClass` first, other user
//! attributes by name, operational ones last in a fixed order, values in the
//! order written, base64 where RFC 2849 requires it (non-ASCII, a leading
//! space, `:` or `<`, a trailing space, control characters), lines folded at
//! 76 columns, and a trailer comment. A file with the header but without the
//! trailer is torn and refused.
//!
//! A file from elsewhere (slapcat, ldapsearch, written by hand) has no
//! header and needs no trailer. It is read when it parses whole: its last
//! line ends with a line break, it holds at least one entry, and the status
//! ldapsearch prints (`search:`/`result:`) says the search succeeded (a
//! `ref:` line, a part of the tree not exported, is refused). An entry
//! without an `entryUUID` (an export without the operational attributes)
//! is given one. The first save writes it in the form above.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::ops::Bound;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::dn;
use super::{Attrs, DirError, LiveEntry, Mod, Selection, Write, WriteError};
use crate::tr;

/// `creatorsName`/`modifiersName` when no bind DN is configured.
pub const DEFAULT_ACTOR: &str = "cn=hopthu";

/// The operational attributes this backend sets itself.
pub const MAINTAINED: [&str; 5] = [
    "entryUUID",
    "creatorsName",
    "createTimestamp",
    "modifiersName",
    "modifyTimestamp",
];

/// Attributes treated as operational: returned for `+` or by name only, and
/// saved last, in this order.
pub const OPERATIONAL: [&str; 20] = [
    "entryUUID",
    "creatorsName",
    "createTimestamp",
    "modifiersName",
    "modifyTimestamp",
    "structuralObjectClass",
    "entryDN",
    "entryCSN",
    "contextCSN",
    "hasSubordinates",
    "subschemaSubentry",
    "pwdPolicySubentry",
    "pwdChangedTime",
    "pwdAccountLockedTime",
    "pwdFailureTime",
    "pwdHistory",
    "pwdGraceUseTime",
    "pwdReset",
    "pwdLastSuccess",
    "authTimestamp",
];

const HEADER: &str = "# hopthu live directory: rewritten whole by hopthu on every change";
const TRAILER: &str = "# end of the hopthu live directory";
const FOLD_AT: usize = 76;
/// Joins reversed normalized RDNs into a map key: sorts below every
/// character a normalized RDN can hold, so a parent sorts before its
/// children and a subtree is one contiguous range.
const KEY_SEP: char = '\u{1}';

type AttrList = Vec<(String, Vec<String>)>;

#[derive(Debug, Clone)]
struct Entry {
    dn: String,
    attrs: AttrList,
}

/// The directory in one LDIF file.
pub struct LdifDirectory {
    path: PathBuf,
    entries: BTreeMap<String, Entry>,
    actor: String,
    fence: Option<crate::writer_lock::Fence>,
}

impl LdifDirectory {
    /// Load the file; a missing file is an empty directory.
    pub fn open(path: impl AsRef<Path>) -> Result<LdifDirectory, DirError> {
        let given = path.as_ref();
        if given.as_os_str().is_empty() {
            return Err(DirError::File {
                path: String::new(),
                reason: tr!(
                    "chưa nêu tên tệp: hãy viết ldif:PATH",
                    "no file named: write ldif:PATH"
                ),
            });
        }
        // A link is followed: the file it names is the one kept up to date.
        let path = match fs::symlink_metadata(given) {
            Ok(m) if m.file_type().is_symlink() => {
                fs::canonicalize(given).map_err(|e| DirError::File {
                    path: given.display().to_string(),
                    reason: tr!(
                        "liên kết tới một tệp không truy cập được: {e}",
                        "a link to a file that cannot be reached: {e}"
                    ),
                })?
            }
            _ => given.to_path_buf(),
        };
        // Saves go beside the file: its folder must be there.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            return Err(DirError::File {
                path: path.display().to_string(),
                reason: {
                    let dir = dir.display();
                    tr!(
                        "thư mục {dir} không tồn tại",
                        "the folder {dir} does not exist"
                    )
                },
            });
        }
        let entries = load(&path)?;
        Ok(LdifDirectory {
            path,
            entries,
            actor: DEFAULT_ACTOR.to_string(),
            fence: None,
        })
    }

    /// The DN recorded in `creatorsName` and `modifiersName`.
    pub fn set_actor(&mut self, dn: &str) {
        self.actor = dn.to_string();
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many entries the directory holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry at or under `sel.base` with one of the object classes.
    /// The base must exist: an empty directory has no base (`NoBase`).
    pub fn read(&self, sel: &Selection) -> Result<Vec<LiveEntry>, DirError> {
        let no_base = || DirError::NoBase {
            base: sel.base.clone(),
        };
        let base = key_of(&sel.base).map_err(|_| no_base())?;
        if !self.entries.contains_key(&base) {
            return Err(no_base());
        }
        let mut out = Vec::new();
        for (_, e) in self.subtree(&base) {
            let wanted = sel.any_object_class.is_empty()
                || values(&e.attrs, "objectClass").iter().any(|oc| {
                    sel.any_object_class
                        .iter()
                        .any(|w| w.eq_ignore_ascii_case(oc))
                });
            if wanted {
                out.push(LiveEntry {
                    dn: e.dn.clone(),
                    attrs: project(&e.attrs, &sel.attrs).into(),
                });
            }
        }
        Ok(out)
    }

    pub fn exists(&self, dn: &str) -> bool {
        key_of(dn).is_ok_and(|k| self.entries.contains_key(&k))
    }

    /// The DNs of the file's top entries (those whose parent it does not
    /// hold), as a server lists its naming contexts.
    pub fn naming_contexts(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter(|(k, _)| {
                !k.rsplit_once(KEY_SEP)
                    .is_some_and(|(parent, _)| self.entries.contains_key(parent))
            })
            .map(|(_, e)| e.dn.clone())
            .collect()
    }

    /// Apply the writes in order, then save the file once, atomically. If
    /// the save fails, every write of the batch reports it, and the memory
    /// is reloaded from the file (which still holds the state before).
    /// Refuse every later write once `fence` is lowered.
    pub fn set_fence(&mut self, fence: crate::writer_lock::Fence) {
        self.fence = Some(fence);
    }

    pub fn write(&mut self, writes: Vec<Write>) -> Vec<Result<(), WriteError>> {
        if self.fence.as_ref().is_some_and(|f| !f.is_up()) {
            let refused = WriteError::new(80, &crate::live::ldap::not_the_writer());
            return writes.iter().map(|_| Err(refused.clone())).collect();
        }
        let snapshot = self.entries.clone();
        let now = chrono::Utc::now().format("%Y%m%d%H%M%SZ").to_string();
        let results: Vec<Result<(), WriteError>> =
            writes.iter().map(|w| self.apply(w, &now)).collect();
        if !results.iter().any(Result::is_ok) {
            return results;
        }
        match save(&self.path, &render(&self.entries)) {
            Ok(()) => results,
            Err(e) => {
                self.entries = load(&self.path).unwrap_or(snapshot);
                let failed = WriteError::new(80, &{
                    let path = self.path.display();
                    tr!(
                        "không lưu được tệp thư mục {path} ({e}); không lệnh ghi nào của đợt này được giữ lại",
                        "the directory file {path} could not be saved ({e}); no write of this batch was kept"
                    )
                });
                results
                    .into_iter()
                    .map(|r| r.and(Err(failed.clone())))
                    .collect()
            }
        }
    }

    fn subtree<'a>(&'a self, base: &'a str) -> impl Iterator<Item = (&'a String, &'a Entry)> + 'a {
        let prefix = format!("{base}{KEY_SEP}");
        self.entries
            .range::<str, _>((Bound::Included(base), Bound::Unbounded))
            .take_while(move |(k, _)| k.as_str() == base || k.starts_with(&prefix))
    }

    fn has_children(&self, key: &str) -> bool {
        let prefix = format!("{key}{KEY_SEP}");
        self.entries
            .range::<str, _>((Bound::Excluded(key), Bound::Unbounded))
            .next()
            .is_some_and(|(k, _)| k.starts_with(&prefix))
    }

    fn apply(&mut self, w: &Write, now: &str) -> Result<(), WriteError> {
        match w {
            Write::Add { dn, attrs } => self.add(dn, attrs, now),
            Write::Modify { dn, mods } => self.modify(dn, mods, now),
            Write::Rename {
                dn,
                new_rdn,
                new_superior,
            } => self.rename(dn, new_rdn, new_superior.as_deref(), now),
            Write::Delete { dn } => self.delete(dn),
        }
    }

    fn add(&mut self, dn: &str, attrs: &Attrs, now: &str) -> Result<(), WriteError> {
        let rdns = dn::parse_dn(dn).map_err(|e| WriteError::new(34, &e.to_string()))?;
        if rdns.is_empty() {
            return Err(WriteError::new(53, "cannot add an entry with an empty DN"));
        }
        let norm = dn::normalized_rdns(dn).expect("parsed above");
        let key = key_from(&norm);
        if self.entries.contains_key(&key) {
            return Err(WriteError::new(68, &format!("{dn} already exists")));
        }
        let parent_exists = norm.len() > 1 && self.entries.contains_key(&key_from(&norm[1..]));
        if norm.len() > 1 && !parent_exists {
            let ancestor =
                (2..norm.len()).any(|i| self.entries.contains_key(&key_from(&norm[i..])));
            if ancestor {
                return Err(WriteError::new(
                    32,
                    &format!("the parent of {dn} does not exist"),
                ));
            }
        }
        let mut list: AttrList = Vec::new();
        for (name, vals) in attrs {
            check_name(name)?;
            if is_maintained(name) {
                return Err(no_user_modification(name));
            }
            if vals.is_empty() {
                continue;
            }
            check_distinct(name, vals)?;
            match list.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
                Some((_, existing)) => {
                    for v in vals {
                        if existing.iter().any(|x| same_value(name, x, v)) {
                            return Err(WriteError::new(
                                20,
                                &format!("{name}: value provided more than once"),
                            ));
                        }
                        existing.push(v.clone());
                    }
                }
                None => list.push((name.clone(), vals.clone())),
            }
        }
        if values(&list, "objectClass").is_empty() {
            return Err(WriteError::new(65, "no objectClass attribute"));
        }
        for ava in &rdns[0] {
            if !values(&list, &ava.attr)
                .iter()
                .any(|v| same_value(&ava.attr, v, &ava.value))
            {
                return Err(WriteError::new(
                    64,
                    &format!("naming attribute '{}' is not present in entry", ava.attr),
                ));
            }
        }
        list.push(("entryUUID".into(), vec![new_uuid()]));
        list.push(("creatorsName".into(), vec![self.actor.clone()]));
        list.push(("createTimestamp".into(), vec![now.to_string()]));
        list.push(("modifiersName".into(), vec![self.actor.clone()]));
        list.push(("modifyTimestamp".into(), vec![now.to_string()]));
        self.entries.insert(
            key,
            Entry {
                dn: dn.trim().to_string(),
                attrs: list,
            },
        );
        Ok(())
    }

    fn modify(&mut self, dn: &str, mods: &[Mod], now: &str) -> Result<(), WriteError> {
        let key = self.existing_key(dn)?;
        let entry = &self.entries[&key];
        let mut attrs = entry.attrs.clone();
        for m in mods {
            let name = match m {
                Mod::Replace(n, _) | Mod::Add(n, _) | Mod::Delete(n, _) => n,
            };
            check_name(name)?;
            if is_maintained(name) {
                return Err(no_user_modification(name));
            }
            let pos = attrs.iter().position(|(n, _)| n.eq_ignore_ascii_case(name));
            match m {
                Mod::Replace(_, vals) => {
                    check_distinct(name, vals)?;
                    match (pos, vals.is_empty()) {
                        (Some(i), true) => {
                            attrs.remove(i);
                        }
                        (None, true) => {}
                        (Some(i), false) => attrs[i].1 = vals.clone(),
                        (None, false) => attrs.push((name.clone(), vals.clone())),
                    }
                }
                Mod::Add(_, vals) => {
                    if vals.is_empty() {
                        continue;
                    }
                    check_distinct(name, vals)?;
                    let i = match pos {
                        Some(i) => i,
                        None => {
                            attrs.push((name.clone(), Vec::new()));
                            attrs.len() - 1
                        }
                    };
                    for v in vals {
                        if attrs[i].1.iter().any(|x| same_value(name, x, v)) {
                            return Err(WriteError::new(
                                20,
                                &format!("modify/add: {name}: value already exists"),
                            ));
                        }
                        attrs[i].1.push(v.clone());
                    }
                }
                Mod::Delete(_, vals) => {
                    let Some(i) = pos else {
                        return Err(WriteError::new(
                            16,
                            &format!("modify/delete: {name}: no such attribute"),
                        ));
                    };
                    if vals.is_empty() {
                        attrs.remove(i);
                        continue;
                    }
                    for v in vals {
                        let Some(j) = attrs[i].1.iter().position(|x| same_value(name, x, v)) else {
                            return Err(WriteError::new(
                                16,
                                &format!("modify/delete: {name}: no such value"),
                            ));
                        };
                        attrs[i].1.remove(j);
                    }
                    if attrs[i].1.is_empty() {
                        attrs.remove(i);
                    }
                }
            }
        }
        if values(&attrs, "objectClass").is_empty() {
            return Err(WriteError::new(65, "no objectClass attribute"));
        }
        let rdns = dn::parse_dn(&entry.dn).map_err(|e| WriteError::new(34, &e.to_string()))?;
        if let Some(first) = rdns.first() {
            for ava in first {
                if !values(&attrs, &ava.attr)
                    .iter()
                    .any(|v| same_value(&ava.attr, v, &ava.value))
                {
                    return Err(WriteError::new(
                        67,
                        &format!("{}: cannot remove the value of the RDN", ava.attr),
                    ));
                }
            }
        }
        set_one(&mut attrs, "modifiersName", &self.actor);
        set_one(&mut attrs, "modifyTimestamp", now);
        self.entries.get_mut(&key).expect("found above").attrs = attrs;
        Ok(())
    }

    fn rename(
        &mut self,
        dn: &str,
        new_rdn: &str,
        new_superior: Option<&str>,
        now: &str,
    ) -> Result<(), WriteError> {
        let old_key = self.existing_key(dn)?;
        let bad_rdn = |why: &str| WriteError::new(34, &format!("new RDN {new_rdn:?}: {why}"));
        let raw = dn::split_rdns(new_rdn).map_err(|e| bad_rdn(&e.reason))?;
        if raw.len() != 1 {
            return Err(bad_rdn("must be exactly one RDN"));
        }
        let new_avas = dn::parse_rdn(raw[0]).map_err(|e| bad_rdn(&e))?;
        let entry = self.entries[&old_key].clone();
        let parent = match new_superior {
            Some(sup) => {
                let sup_norm =
                    dn::normalized_rdns(sup).map_err(|e| WriteError::new(34, &e.to_string()))?;
                let sup_key = key_from(&sup_norm);
                if !sup_norm.is_empty() && !self.entries.contains_key(&sup_key) {
                    return Err(WriteError::new(
                        32,
                        &format!("the new superior {sup} does not exist"),
                    ));
                }
                if sup_key == old_key || sup_key.starts_with(&format!("{old_key}{KEY_SEP}")) {
                    return Err(WriteError::new(53, "cannot move an entry below itself"));
                }
                (!sup_norm.is_empty()).then(|| sup.trim().to_string())
            }
            None => dn::parent_dn(&entry.dn).expect("stored DNs parse"),
        };
        let new_dn = match &parent {
            Some(p) => format!("{},{p}", raw[0]),
            None => raw[0].to_string(),
        };
        let new_key = key_of(&new_dn).map_err(|e| WriteError::new(34, &e.to_string()))?;
        if new_key != old_key && self.entries.contains_key(&new_key) {
            return Err(WriteError::new(68, &format!("{new_dn} already exists")));
        }

        // deleteoldrdn: the old RDN values go, the new ones are added.
        let old_avas = dn::parse_dn(&entry.dn).expect("stored DNs parse").remove(0);
        let mut attrs = entry.attrs.clone();
        let in_new = |a: &dn::Ava| {
            new_avas.iter().any(|n| {
                n.attr.eq_ignore_ascii_case(&a.attr) && same_value(&a.attr, &n.value, &a.value)
            })
        };
        for old in old_avas.iter().filter(|a| !in_new(a)) {
            if let Some(i) = attrs
                .iter()
                .position(|(n, _)| n.eq_ignore_ascii_case(&old.attr))
            {
                attrs[i].1.retain(|v| !same_value(&old.attr, v, &old.value));
                if attrs[i].1.is_empty() {
                    attrs.remove(i);
                }
            }
        }
        for new in &new_avas {
            check_name(&new.attr)?;
            match attrs
                .iter_mut()
                .find(|(n, _)| n.eq_ignore_ascii_case(&new.attr))
            {
                Some((_, vals)) => {
                    if !vals.iter().any(|v| same_value(&new.attr, v, &new.value)) {
                        vals.push(new.value.clone());
                    }
                }
                None => attrs.push((new.attr.clone(), vec![new.value.clone()])),
            }
        }
        set_one(&mut attrs, "modifiersName", &self.actor);
        set_one(&mut attrs, "modifyTimestamp", now);

        // Move the entry and everything under it.
        let old_depth = dn::split_rdns(&entry.dn).expect("stored DNs parse").len();
        let moved: Vec<String> = self.subtree(&old_key).map(|(k, _)| k.clone()).collect();
        let mut renamed = Vec::with_capacity(moved.len());
        for k in moved {
            let mut e = self.entries.remove(&k).expect("listed above");
            if k == old_key {
                e.dn = new_dn.clone();
                e.attrs = attrs.clone();
            } else {
                let parts = dn::split_rdns(&e.dn).expect("stored DNs parse");
                let own = parts.len() - old_depth;
                e.dn = format!("{},{new_dn}", parts[..own].join(","));
            }
            renamed.push(e);
        }
        for e in renamed {
            let k = key_of(&e.dn).expect("built from valid parts");
            self.entries.insert(k, e);
        }
        Ok(())
    }

    fn delete(&mut self, dn: &str) -> Result<(), WriteError> {
        let key = self.existing_key(dn)?;
        if self.has_children(&key) {
            return Err(WriteError::new(66, &format!("{dn} has children")));
        }
        self.entries.remove(&key);
        Ok(())
    }

    fn existing_key(&self, dn: &str) -> Result<String, WriteError> {
        let key = key_of(dn).map_err(|e| WriteError::new(34, &e.to_string()))?;
        if self.entries.contains_key(&key) {
            Ok(key)
        } else {
            Err(WriteError::new(32, &format!("{dn} does not exist")))
        }
    }
}

fn key_from(norm_rdns: &[String]) -> String {
    let mut key = String::new();
    for (i, r) in norm_rdns.iter().rev().enumerate() {
        if i > 0 {
            key.push(KEY_SEP);
        }
        key.push_str(r);
    }
    key
}

fn key_of(dn: &str) -> Result<String, dn::DnError> {
    Ok(key_from(&dn::normalized_rdns(dn)?))
}

fn values<'a>(attrs: &'a AttrList, name: &str) -> &'a [String] {
    attrs
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
        .unwrap_or(&[])
}

fn set_one(attrs: &mut AttrList, name: &str, value: &str) {
    match attrs.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        Some((_, v)) => *v = vec![value.to_string()],
        None => attrs.push((name.to_string(), vec![value.to_string()])),
    }
}

/// The attribute name without options (`userCertificate;binary`).
fn base_name(name: &str) -> &str {
    name.split(';').next().unwrap_or(name)
}

fn is_maintained(name: &str) -> bool {
    MAINTAINED
        .iter()
        .any(|m| m.eq_ignore_ascii_case(base_name(name)))
}

fn operational_rank(name: &str) -> Option<usize> {
    OPERATIONAL
        .iter()
        .position(|m| m.eq_ignore_ascii_case(base_name(name)))
}

fn case_exact(name: &str) -> bool {
    let n = base_name(name).to_ascii_lowercase();
    n.contains("password") || matches!(n.as_str(), "hopthukey" | "hopthurecord" | "entryuuid")
}

fn same_value(name: &str, a: &str, b: &str) -> bool {
    if case_exact(name) {
        a == b
    } else {
        a == b || fold(a) == fold(b)
    }
}

fn fold(v: &str) -> String {
    v.to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ';' || c == '.')
}

fn check_name(name: &str) -> Result<(), WriteError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(WriteError::new(
            17,
            &format!("{name:?} is not an attribute description"),
        ))
    }
}

fn check_distinct(name: &str, vals: &[String]) -> Result<(), WriteError> {
    for (i, v) in vals.iter().enumerate() {
        if vals[..i].iter().any(|x| same_value(name, x, v)) {
            return Err(WriteError::new(
                20,
                &format!("{name}: value #{i} provided more than once"),
            ));
        }
    }
    Ok(())
}

fn no_user_modification(name: &str) -> WriteError {
    WriteError::new(19, &format!("{name}: no user modification allowed"))
}

fn new_uuid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The attributes a read asks for: none listed or `*` = all user
/// attributes, `+` = all operational ones, names = those (any case).
fn project(attrs: &AttrList, want: &[String]) -> Attrs {
    let all_user = want.is_empty() || want.iter().any(|w| w == "*");
    let all_operational = want.iter().any(|w| w == "+");
    let mut out = Attrs::new();
    for (name, vals) in attrs {
        let operational = operational_rank(name).is_some();
        let asked = (operational && all_operational)
            || (!operational && all_user)
            || want.iter().any(|w| w.eq_ignore_ascii_case(name));
        if asked && !vals.is_empty() {
            out.insert(name.clone(), vals.clone());
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Loading

fn load(path: &Path) -> Result<BTreeMap<String, Entry>, DirError> {
    let shown = path.display().to_string();
    // Only a regular file is read (a FIFO or a device would block or never end).
    if let Ok(m) = fs::metadata(path)
        && !m.is_file()
    {
        return Err(DirError::File {
            path: shown,
            reason: tr!("không phải tệp thông thường", "not a regular file"),
        });
    }
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => {
            return Err(DirError::File {
                path: shown,
                reason: tr!("không đọc được: {e}", "cannot read it: {e}"),
            });
        }
    };
    // hopthu never writes an empty file (the base entry is always there):
    // an empty one was emptied by something else, and reading it as an
    // empty directory would plan to create, or delete, everything.
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(DirError::File {
            path: shown,
            reason: tr!(
                "tệp rỗng; hopthu không bao giờ để tệp như vậy. Hãy xóa tệp để bắt đầu một thư mục trống, hoặc khôi phục tệp từ bản sao lưu",
                "the file is empty; hopthu never leaves it so. Remove it to start an empty directory, or restore it from a backup"
            ),
        });
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = upto.iter().filter(|b| **b == b'\n').count() + 1;
        DirError::File {
            path: shown.clone(),
            reason: tr!(
                "dòng {line}: không phải văn bản UTF-8",
                "line {line}: not UTF-8 text"
            ),
        }
    })?;
    let records = parse(&text).map_err(|(line, reason)| DirError::File {
        path: shown.clone(),
        reason: tr!("dòng {line}: {reason}", "line {line}: {reason}"),
    })?;
    let mut entries = BTreeMap::new();
    for rec in records {
        let key = key_of(&rec.dn).map_err(|e| DirError::File {
            path: shown.clone(),
            reason: {
                let line = rec.line;
                tr!("dòng {line}: {e}", "line {line}: {e}")
            },
        })?;
        if entries.contains_key(&key) {
            return Err(DirError::File {
                path: shown,
                reason: {
                    let (line, dn) = (rec.line, &rec.dn);
                    tr!(
                        "dòng {line}: mục thứ hai cùng tên {dn}",
                        "line {line}: a second entry named {dn}"
                    )
                },
            });
        }
        // Every entry of a server has an entryUUID; an export made without
        // the operational attributes lost it. The entry gets one here, kept
        // from the first save, so that it can be adopted like any other.
        let mut attrs = rec.attrs;
        if values(&attrs, "entryUUID").is_empty() {
            attrs.push(("entryUUID".into(), vec![new_uuid()]));
        }
        entries.insert(key, Entry { dn: rec.dn, attrs });
    }
    Ok(entries)
}

struct Record {
    line: usize,
    dn: String,
    attrs: AttrList,
}

enum Item {
    Line(usize, String),
    Comment(String),
    Blank,
}

type ParseError = (usize, String);

/// RFC 2849 content records.
fn parse(text: &str) -> Result<Vec<Record>, ParseError> {
    // Physical lines into logical ones (unfolded), comments, blank lines.
    let mut items: Vec<Item> = Vec::new();
    let mut last_line = 0;
    let (mut trailer_seen, mut after_trailer) = (false, None);
    for (i, raw) in text.split('\n').enumerate() {
        let n = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.is_empty() {
            items.push(Item::Blank);
            continue;
        }
        last_line = n;
        if let Some(cont) = line.strip_prefix(' ') {
            match items.last_mut() {
                Some(Item::Line(_, s)) | Some(Item::Comment(s)) => s.push_str(cont),
                _ => {
                    return Err((
                        n,
                        tr!(
                            "một dòng nối tiếp (bắt đầu bằng dấu cách) không nối tiếp dòng nào",
                            "a continuation line (leading space) continues nothing"
                        ),
                    ));
                }
            }
        } else if line.starts_with('#') {
            items.push(Item::Comment(line.to_string()));
        } else {
            if trailer_seen && after_trailer.is_none() {
                after_trailer = Some(n);
            }
            items.push(Item::Line(n, line.to_string()));
        }
        if line == TRAILER {
            trailer_seen = true;
        }
    }

    // A file hopthu wrote must end with its trailer: otherwise it is torn.
    let first_comment = items.iter().find_map(|it| match it {
        Item::Comment(c) => Some(c.as_str()),
        _ => None,
    });
    if first_comment == Some(HEADER) {
        let last = items.iter().rev().find(|it| !matches!(it, Item::Blank));
        if !matches!(last, Some(Item::Comment(c)) if c == TRAILER) {
            // Lines added after the end line by hand are not a cut.
            if let Some(n) = after_trailer {
                return Err((
                    n,
                    tr!(
                        "dòng này nằm sau dòng cuối {TRAILER:?} mà hopthu ghi: hãy chuyển nội dung lên trước dòng đó",
                        "this line comes after hopthu's last line {TRAILER:?}: move what follows it above that line"
                    ),
                ));
            }
            return Err((
                last_line.max(1),
                tr!(
                    "tệp kết thúc trước dòng cuối {TRAILER:?}: tệp không đầy đủ (bị cắt); \
                     hãy khôi phục từ bản sao lưu",
                    "the file ends before its last line {TRAILER:?}: it is incomplete (torn); \
                     restore it from a backup"
                ),
            ));
        }
    } else if !text.ends_with('\n') {
        // A file from elsewhere (an export, a hand-written file) has no end
        // line to tell a cut; a complete one ends with a line break, one cut
        // in the middle of a line does not.
        return Err((
            last_line.max(1),
            tr!(
                "tệp dừng giữa dòng này (không có dấu xuống dòng ở cuối): tệp không đầy đủ (bị cắt); \
                 hãy xuất lại, hoặc thêm dấu xuống dòng nếu dòng này đã đủ",
                "the file stops in the middle of this line (no line break at the end): it is incomplete (cut); \
                 export it again, or add a line break if the line is whole"
            ),
        ));
    }

    let hopthus = first_comment == Some(HEADER);

    // Group into records.
    let mut groups: Vec<Vec<(usize, String)>> = Vec::new();
    let mut current: Vec<(usize, String)> = Vec::new();
    for it in items {
        match it {
            Item::Line(n, s) => current.push((n, s)),
            Item::Comment(_) => {}
            Item::Blank => {
                if !current.is_empty() {
                    groups.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        groups.push(current);
    }

    let mut records = Vec::new();
    for (gi, group) in groups.into_iter().enumerate() {
        let mut lines = group.into_iter().peekable();
        if gi == 0
            && let Some((n, l)) = lines.peek()
            && let Some(v) = l.strip_prefix("version:")
        {
            if v.trim() != "1" {
                let v = v.trim();
                return Err((
                    *n,
                    tr!(
                        "không hỗ trợ phiên bản LDIF {v:?}",
                        "unsupported LDIF version {v:?}"
                    ),
                ));
            }
            lines.next();
            if lines.peek().is_none() {
                continue;
            }
        }
        let (first, l) = lines.next().expect("groups are not empty");
        let (name, dn) = parse_line(first, &l)?;
        // What ldapsearch prints around the entries it found: the outcome
        // of the search (a complete export says `result: 0 Success`) and
        // the parts of the tree it was referred elsewhere for.
        if name.eq_ignore_ascii_case("search") {
            for (n, l) in lines {
                let (name, value) = parse_line(n, &l)?;
                if name.eq_ignore_ascii_case("result")
                    && value.split_whitespace().next() != Some("0")
                {
                    let value = value.trim();
                    return Err((
                        n,
                        tr!(
                            "ldapsearch báo kết quả {value:?}: bản xuất không đầy đủ; hãy xuất lại",
                            "ldapsearch reported {value:?}: the export is incomplete; export it again"
                        ),
                    ));
                }
            }
            continue;
        }
        if name.eq_ignore_ascii_case("ref") {
            return Err((
                first,
                tr!(
                    "máy chủ chuyển một phần cây thư mục sang nơi khác ({dn}): bản xuất không có phần đó",
                    "the server referred part of the tree elsewhere ({dn}): the export does not hold it"
                ),
            ));
        }
        if !name.eq_ignore_ascii_case("dn") {
            return Err((
                first,
                tr!(
                    "một bản ghi phải bắt đầu bằng \"dn:\", không phải {name:?}",
                    "a record must start with \"dn:\", not {name:?}"
                ),
            ));
        }
        dn::parse_dn(&dn).map_err(|e| (first, e.to_string()))?;
        if dn.trim().is_empty() {
            return Err((
                first,
                tr!("một mục có DN rỗng", "an entry with an empty DN"),
            ));
        }
        let mut attrs: AttrList = Vec::new();
        for (n, l) in lines {
            let (name, value) = parse_line(n, &l)?;
            let lower = name.to_ascii_lowercase();
            if lower == "changetype" || lower == "control" {
                return Err((
                    n,
                    tr!(
                        "{name:?}: không hỗ trợ bản ghi thay đổi (change record), chỉ nhận các mục",
                        "{name:?}: change records are not supported, only entries"
                    ),
                ));
            }
            if lower == "dn" {
                return Err((
                    n,
                    tr!(
                        "có \"dn:\" thứ hai trong một bản ghi (thiếu một dòng trống?)",
                        "a second \"dn:\" in one record (a blank line is missing?)"
                    ),
                ));
            }
            match attrs
                .iter_mut()
                .find(|(a, _)| a.eq_ignore_ascii_case(&name))
            {
                Some((_, vals)) => {
                    if vals.iter().any(|v| same_value(&name, v, &value)) {
                        return Err((
                            n,
                            tr!(
                                "{name}: một giá trị lặp lại hai lần",
                                "{name}: the same value twice"
                            ),
                        ));
                    }
                    vals.push(value);
                }
                None => attrs.push((name, vec![value])),
            }
        }
        if attrs.is_empty() {
            return Err((
                first,
                tr!(
                    "mục {dn} không có thuộc tính nào",
                    "the entry {dn} has no attributes"
                ),
            ));
        }
        records.push(Record {
            line: first,
            dn,
            attrs,
        });
    }
    // A file hopthu did not write, without a single entry, is what is left
    // of one cut or emptied: reading it as an empty directory would plan to
    // create everything again.
    if records.is_empty() && !hopthus {
        return Err((
            last_line.max(1),
            tr!(
                "tệp không có mục nào; hopthu không bao giờ để tệp như vậy. Hãy xóa tệp để bắt đầu một thư mục trống, hoặc khôi phục tệp từ bản sao lưu",
                "the file holds no entry; hopthu never leaves it so. Remove it to start an empty directory, or restore it from a backup"
            ),
        ));
    }
    Ok(records)
}

/// `name: value`, `name:: base64` (must be UTF-8 here).
fn parse_line(n: usize, line: &str) -> Result<(String, String), ParseError> {
    let colon = line.find(':').ok_or_else(|| {
        (n, {
            let found = shorten(line);
            tr!(
                "cần \"tên: giá trị\", nhưng gặp {found:?}",
                "expected \"name: value\", found {found:?}"
            )
        })
    })?;
    let name = &line[..colon];
    if !valid_name(name) {
        let shown = shorten(name);
        return Err((
            n,
            tr!(
                "{shown:?} không phải tên thuộc tính",
                "{shown:?} is not an attribute name"
            ),
        ));
    }
    let rest = &line[colon + 1..];
    let value = if let Some(b64) = rest.strip_prefix(':') {
        let bytes = B64.decode(b64.trim_matches(' ')).map_err(|e| {
            (
                n,
                tr!("{name}: base64 sai ({e})", "{name}: bad base64 ({e})"),
            )
        })?;
        String::from_utf8(bytes).map_err(|_| {
            (
                n,
                tr!(
                    "{name}: giá trị là dữ liệu nhị phân (không phải văn bản UTF-8), hopthu không xử lý được",
                    "{name}: the value is binary (not UTF-8 text), which hopthu does not handle"
                ),
            )
        })?
    } else if rest.starts_with('<') {
        return Err((
            n,
            tr!(
                "{name}: không hỗ trợ giá trị theo URL (\":<\")",
                "{name}: values by URL (\":<\") are not supported"
            ),
        ));
    } else {
        rest.trim_start_matches(' ').to_string()
    };
    Ok((name.to_string(), value))
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}...", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

// ---------------------------------------------------------------------------
// Saving

fn render(entries: &BTreeMap<String, Entry>) -> String {
    let mut out = String::new();
    out.push_str("version: 1\n");
    out.push_str(HEADER);
    out.push('\n');
    for e in entries.values() {
        out.push('\n');
        push_value(&mut out, "dn", &e.dn);
        let mut attrs: Vec<&(String, Vec<String>)> = e.attrs.iter().collect();
        attrs.sort_by_key(|(name, _)| {
            let rank = if name.eq_ignore_ascii_case("objectClass") {
                (0, 0)
            } else {
                match operational_rank(name) {
                    Some(r) => (2, r),
                    None => (1, 0),
                }
            };
            (rank, name.to_ascii_lowercase(), name.clone())
        });
        for (name, vals) in attrs {
            for v in vals {
                push_value(&mut out, name, v);
            }
        }
    }
    out.push('\n');
    out.push_str(TRAILER);
    out.push('\n');
    out
}

fn needs_base64(v: &str) -> bool {
    v.starts_with([' ', ':', '<'])
        || v.ends_with(' ')
        || v.chars().any(|c| !c.is_ascii() || c.is_ascii_control())
}

fn push_value(out: &mut String, name: &str, value: &str) {
    let line = if needs_base64(value) {
        format!("{name}:: {}", B64.encode(value.as_bytes()))
    } else if value.is_empty() {
        format!("{name}:")
    } else {
        format!("{name}: {value}")
    };
    fold_into(out, &line);
}

/// Lines longer than 76 characters continue on lines that start with a space.
fn fold_into(out: &mut String, line: &str) {
    let chars: Vec<char> = line.chars().collect();
    let mut first = true;
    let mut rest: &[char] = &chars;
    loop {
        let width = if first { FOLD_AT } else { FOLD_AT - 1 };
        if !first {
            out.push(' ');
        }
        let take = width.min(rest.len());
        out.extend(&rest[..take]);
        out.push('\n');
        rest = &rest[take..];
        first = false;
        if rest.is_empty() {
            break;
        }
    }
}

/// Write `PATH.tmp-<pid>`, fsync it, rename it over `PATH`, fsync the folder.
fn save(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::other(tr!(
            "đường dẫn không chỉ ra tệp nào",
            "the path names no file"
        ))
    })?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // A file someone made read-only is not replaced behind their back
    // (a rename would, whatever its mode).
    if fs::OpenOptions::new().append(true).open(path).is_err() && path.exists() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            tr!(
                "không ghi được tệp (chỉ đọc, hoặc không thuộc quyền của bạn)",
                "the file cannot be written (read-only, or not yours)"
            ),
        ));
    }
    // The file holds password hashes: keep its mode, or owner-only.
    let mode = fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0o600);
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        fs::File::open(&folder)?.sync_all()
    })();
    if result.is_err() && fs::symlink_metadata(&tmp).is_ok_and(|m| m.is_file()) {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_is_at_76_columns() {
        let mut out = String::new();
        let long = "x".repeat(200);
        push_value(&mut out, "description", &long);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.iter().all(|l| l.len() <= 76), "{out}");
        assert_eq!(lines[0].len(), 76);
        assert!(lines[1..].iter().all(|l| l.starts_with(' ')));
        let records = parse(&format!("dn: cn=a\n{out}")).unwrap();
        assert_eq!(records[0].attrs[0].1[0], long);
    }

    #[test]
    fn base64_where_rfc2849_requires_it() {
        for v in [" lead", ":colon", "<lt", "trail ", "Đặng", "a\nb"] {
            assert!(needs_base64(v), "{v:?}");
        }
        for v in ["plain", "a:b", "a<b", "mid space"] {
            assert!(!needs_base64(v), "{v:?}");
        }
    }

    #[test]
    fn uuid_is_version_4() {
        let u = new_uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
    }

    #[test]
    fn keys_put_parents_first_and_subtrees_together() {
        let a = key_of("dc=x").unwrap();
        let b = key_of("ou=a,dc=x").unwrap();
        let c = key_of("uid=z,ou=a,dc=x").unwrap();
        let d = key_of("ou=a b,dc=x").unwrap();
        let mut keys = vec![d.clone(), c.clone(), b.clone(), a.clone()];
        keys.sort();
        assert_eq!(keys, vec![a, b, c, d]);
    }
}
