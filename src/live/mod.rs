//! The live directory: what the mail server's directory holds now, read
//! completely or not at all, and written one operation at a time. Two
//! backends behind one interface, chosen by URL: `ldap://`/`ldaps://` (a real
//! server, through ldap3) and `ldif:PATH` (one LDIF file, embedded).
//!
//! This layer knows entries and attributes only; what a mailbox looks like
//! in a given mail server's layout lives in `layout.rs`.

use crate::tr;
use smallvec::SmallVec;
use std::borrow::Cow;
use std::collections::BTreeMap;

pub mod dn;
pub mod ldap;
pub mod ldif;

pub use dn::normalize_dn;

/// Attribute values by attribute name. Names keep the spelling the server
/// (or the file) returned; compare them with `eq_ignore_ascii_case`.
pub type Attrs = BTreeMap<String, Vec<String>>;

/// One entry as read, operational attributes included when asked for
/// (`entryUUID`, `creatorsName`, `createTimestamp`, `pwdAccountLockedTime`,
/// `authTimestamp`...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveEntry {
    pub dn: String,
    pub attrs: EntryAttrs,
}

impl LiveEntry {
    pub fn new(dn: impl Into<String>, attrs: impl Into<EntryAttrs>) -> LiveEntry {
        LiveEntry {
            dn: dn.into(),
            attrs: attrs.into(),
        }
    }

    /// The values of an attribute, its name compared without regard to case.
    pub fn get(&self, name: &str) -> &[String] {
        self.attrs.get(name).unwrap_or(&[])
    }

    pub fn first(&self, name: &str) -> Option<&str> {
        self.get(name).first().map(String::as_str)
    }
}

/// The attributes of an entry as read: compact, because a plan holds every
/// mailbox of a province at once. The names the reconciler asks for are
/// shared, not copied into each entry, and a single value (most of them)
/// is kept without a list around it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EntryAttrs(Vec<(Cow<'static, str>, SmallVec<[String; 1]>)>);

/// Attribute names read for every mailbox, shared by all entries.
const KNOWN_NAMES: &[&str] = &[
    "objectClass",
    "mail",
    "uid",
    "cn",
    "sn",
    "givenName",
    "displayName",
    "title",
    "ou",
    "departmentNumber",
    "mailLocalAddress",
    "shadowAddress",
    "hopthuKey",
    "hopthuQuota",
    "hopthuRecord",
    "hopthuSavedService",
    "mailQuota",
    "accountStatus",
    "enabledService",
    "entryUUID",
    "creatorsName",
    "createTimestamp",
    "modifyTimestamp",
    "modifiersName",
    "pwdAccountLockedTime",
    "pwdFailureTime",
    "pwdReset",
    "pwdChangedTime",
    "pwdLastSuccess",
    "authTimestamp",
    "userPassword",
    "description",
    "entryCSN",
    "structuralObjectClass",
    "subschemaSubentry",
    "hasSubordinates",
    "entryDN",
];

fn name_of(name: &str) -> Cow<'static, str> {
    match KNOWN_NAMES.iter().find(|k| **k == name) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(name.to_string()),
    }
}

impl EntryAttrs {
    pub fn new() -> EntryAttrs {
        EntryAttrs::default()
    }

    /// The values of `name`, compared without regard to case.
    pub fn get(&self, name: &str) -> Option<&[String]> {
        // Servers return the schema's spelling, which callers mostly use.
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .or_else(|| self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
            .map(|(_, v)| v.as_slice())
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Add values to `name` (a name met again, in another case, merges).
    pub fn push(&mut self, name: &str, values: impl IntoIterator<Item = String>) {
        match self
            .0
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            Some((_, v)) => v.extend(values),
            None => self.0.push((name_of(name), values.into_iter().collect())),
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_ref())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v.as_slice()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Attrs> for EntryAttrs {
    fn from(a: Attrs) -> EntryAttrs {
        EntryAttrs(
            a.into_iter()
                .map(|(k, v)| (name_of(&k), SmallVec::from_vec(v)))
                .collect(),
        )
    }
}

/// Which entries a read returns: those with any of these object classes
/// (compared without regard to case). Rendered as an LDAP filter for a
/// server, evaluated directly by the file backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub base: String,
    pub any_object_class: Vec<String>,
    /// Attributes to return; `*` and `+` are allowed (all user / all
    /// operational attributes).
    pub attrs: Vec<String>,
}

impl Selection {
    pub fn ldap_filter(&self) -> String {
        match self.any_object_class.as_slice() {
            [] => "(objectClass=*)".to_string(),
            [one] => format!("(objectClass={})", escape_filter(one)),
            many => format!(
                "(|{})",
                many.iter()
                    .map(|c| format!("(objectClass={})", escape_filter(c)))
                    .collect::<String>()
            ),
        }
    }
}

/// RFC 4515 escaping of a filter value.
pub fn escape_filter(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mod {
    /// Replace every value (an empty list removes the attribute).
    Replace(String, Vec<String>),
    Add(String, Vec<String>),
    /// Remove these values (an empty list removes the attribute).
    Delete(String, Vec<String>),
}

/// One write. Secrets (`userPassword`) may appear in `Add` and `Modify`
/// values: a `Write` is never logged or printed as it is.
#[derive(Clone, PartialEq, Eq)]
pub enum Write {
    Add {
        dn: String,
        attrs: Attrs,
    },
    Modify {
        dn: String,
        mods: Vec<Mod>,
    },
    /// Modify DN: the entry and its entryUUID stay.
    Rename {
        dn: String,
        new_rdn: String,
        new_superior: Option<String>,
    },
    Delete {
        dn: String,
    },
}

impl Write {
    /// The DN the write is sent to.
    pub fn dn(&self) -> &str {
        match self {
            Write::Add { dn, .. }
            | Write::Modify { dn, .. }
            | Write::Rename { dn, .. }
            | Write::Delete { dn } => dn,
        }
    }
}

impl std::fmt::Debug for Write {
    /// Names the operation and its DN only: values may hold secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Write::Add { dn, .. } => write!(f, "Add({dn})"),
            Write::Modify { dn, mods } => write!(f, "Modify({dn}, {} change(s))", mods.len()),
            Write::Rename {
                dn,
                new_rdn,
                new_superior,
            } => write!(f, "Rename({dn} -> {new_rdn}, {new_superior:?})"),
            Write::Delete { dn } => write!(f, "Delete({dn})"),
        }
    }
}

/// Why a read or a connection failed. A failed read never yields a partial
/// list: callers must stop with no writes.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    Connect {
        url: String,
        reason: String,
    },
    Bind {
        dn: String,
        reason: String,
    },
    /// The read stopped before the end: a dropped connection, a size or
    /// time limit, a referral, an error code from the server.
    Incomplete {
        base: String,
        reason: String,
    },
    NoBase {
        base: String,
    },
    File {
        path: String,
        reason: String,
    },
    Other(String),
}

impl std::fmt::Display for DirError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            DirError::Connect { url, reason } => tr!(
                "không kết nối được tới {url}: {reason}",
                "cannot connect to {url}: {reason}"
            ),
            DirError::Bind { dn, reason } => tr!(
                "bind với {dn} bị từ chối: {reason}",
                "the bind as {dn} was refused: {reason}"
            ),
            DirError::Incomplete { base, reason } => tr!(
                "lần đọc {base} không đầy đủ: {reason}",
                "the read of {base} is incomplete: {reason}"
            ),
            DirError::NoBase { base } => tr!(
                "base DN {base} không tồn tại hoặc không đọc được",
                "the base DN {base} does not exist or cannot be read"
            ),
            DirError::File { path, reason } => tr!(
                "tệp thư mục {path}: {reason}",
                "the directory file {path}: {reason}"
            ),
            DirError::Other(e) => e.clone(),
        };
        f.write_str(&text)
    }
}

/// A refused write: the server's result code and its own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteError {
    pub code: u32,
    pub message: String,
}

/// The RFC 4511 name of an LDAP result code (`entryAlreadyExists` for 68),
/// or `resultCode N` for a number it does not know. Codes 80 and up are
/// the client's own (81 serverDown, 85 timeout): hopthu uses them for
/// failures that are not a server's answer.
pub fn result_code_name(code: u32) -> std::borrow::Cow<'static, str> {
    let name = match code {
        0 => "success",
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        7 => "authMethodNotSupported",
        8 => "strongerAuthRequired",
        10 => "referral",
        11 => "adminLimitExceeded",
        12 => "unavailableCriticalExtension",
        13 => "confidentialityRequired",
        16 => "noSuchAttribute",
        17 => "undefinedAttributeType",
        18 => "inappropriateMatching",
        19 => "constraintViolation",
        20 => "attributeOrValueExists",
        21 => "invalidAttributeSyntax",
        32 => "noSuchObject",
        33 => "aliasProblem",
        34 => "invalidDNSyntax",
        36 => "aliasDereferencingProblem",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        54 => "loopDetect",
        64 => "namingViolation",
        65 => "objectClassViolation",
        66 => "notAllowedOnNonLeaf",
        67 => "notAllowedOnRDN",
        68 => "entryAlreadyExists",
        69 => "objectClassModsProhibited",
        71 => "affectsMultipleDSAs",
        80 => "other",
        81 => "serverDown",
        85 => "timeout",
        88 => "userCancelled",
        _ => return std::borrow::Cow::Owned(format!("resultCode {code}")),
    };
    std::borrow::Cow::Borrowed(name)
}

impl WriteError {
    /// `name: text`, or the code's name alone when there is no text.
    pub fn new(code: u32, text: &str) -> WriteError {
        let name = result_code_name(code);
        let message = if text.trim().is_empty() {
            name.into_owned()
        } else {
            format!("{name}: {}", text.trim())
        };
        WriteError { code, message }
    }
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LDAP result {}: {}", self.code, self.message)
    }
}

/// How to reach a live directory.
#[derive(Clone, Default)]
pub struct ConnectOptions {
    /// `ldap://host:port`, `ldaps://host:port` or `ldif:PATH`.
    pub url: String,
    pub starttls: bool,
    /// PEM file of the CA that signed the server's certificate.
    pub ca_file: Option<std::path::PathBuf>,
    pub bind_dn: Option<String>,
    /// Never printed: Debug is implemented by hand.
    pub bind_password: Option<String>,
    /// Operations in flight at once on the one connection.
    pub concurrency: usize,
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("url", &self.url)
            .field("starttls", &self.starttls)
            .field("ca_file", &self.ca_file)
            .field("bind_dn", &self.bind_dn)
            .field(
                "bind_password",
                &self.bind_password.as_ref().map(|_| "<secret>"),
            )
            .finish()
    }
}

/// What a live directory backend does for the reconciler. Each backend
/// (an LDAP server, the embedded LDIF file) implements it; `Directory`
/// picks one by URL and hands every call to it.
#[allow(async_fn_in_trait)]
pub trait Backend {
    /// Every selected entry under the base: complete, or an error.
    async fn read(&mut self, sel: &Selection) -> Result<Vec<LiveEntry>, DirError>;
    /// Whether an entry exists (for base DNs and containers).
    async fn exists(&mut self, dn: &str) -> Result<bool, DirError>;
    /// One result per write, in order; the writes of a batch do not depend
    /// on each other.
    async fn write(&mut self, writes: Vec<Write>) -> Vec<Result<(), WriteError>>;
    /// The roots of the trees the directory holds (a server's
    /// `namingContexts`), for looking outside the base.
    async fn naming_contexts(&mut self) -> Result<Vec<String>, DirError>;
    /// A directory with no entry at all, whose base hopthu may create.
    fn holds_nothing(&self) -> bool;
    /// Refuse every write not yet sent once `fence` is lowered.
    fn set_fence(&mut self, fence: crate::writer_lock::Fence);
    async fn close(self) -> Result<(), DirError>;
}

impl Backend for ldap::LdapDirectory {
    async fn read(&mut self, sel: &Selection) -> Result<Vec<LiveEntry>, DirError> {
        ldap::LdapDirectory::read(self, sel).await
    }
    async fn exists(&mut self, dn: &str) -> Result<bool, DirError> {
        ldap::LdapDirectory::exists(self, dn).await
    }
    async fn write(&mut self, writes: Vec<Write>) -> Vec<Result<(), WriteError>> {
        ldap::LdapDirectory::write(self, writes).await
    }
    async fn naming_contexts(&mut self) -> Result<Vec<String>, DirError> {
        ldap::LdapDirectory::naming_contexts(self).await
    }
    /// A server's base is made by its administrator, never by hopthu.
    fn holds_nothing(&self) -> bool {
        false
    }
    fn set_fence(&mut self, fence: crate::writer_lock::Fence) {
        ldap::LdapDirectory::set_fence(self, fence)
    }
    async fn close(self) -> Result<(), DirError> {
        ldap::LdapDirectory::close(self).await
    }
}

impl Backend for ldif::LdifDirectory {
    async fn read(&mut self, sel: &Selection) -> Result<Vec<LiveEntry>, DirError> {
        ldif::LdifDirectory::read(self, sel)
    }
    async fn exists(&mut self, dn: &str) -> Result<bool, DirError> {
        Ok(ldif::LdifDirectory::exists(self, dn))
    }
    async fn write(&mut self, writes: Vec<Write>) -> Vec<Result<(), WriteError>> {
        ldif::LdifDirectory::write(self, writes)
    }
    async fn naming_contexts(&mut self) -> Result<Vec<String>, DirError> {
        Ok(ldif::LdifDirectory::naming_contexts(self))
    }
    fn holds_nothing(&self) -> bool {
        self.is_empty()
    }
    fn set_fence(&mut self, fence: crate::writer_lock::Fence) {
        ldif::LdifDirectory::set_fence(self, fence)
    }
    async fn close(self) -> Result<(), DirError> {
        Ok(())
    }
}

/// A connected live directory: the backend its URL names.
pub enum Directory {
    Ldap(ldap::LdapDirectory),
    Ldif(ldif::LdifDirectory),
}

impl Directory {
    pub async fn connect(opts: &ConnectOptions) -> Result<Directory, DirError> {
        if let Some(path) = opts.url.strip_prefix("ldif:") {
            let mut dir = ldif::LdifDirectory::open(path)?;
            if let Some(dn) = &opts.bind_dn {
                dir.set_actor(dn);
            }
            Ok(Directory::Ldif(dir))
        } else if opts.url.starts_with("ldap://") || opts.url.starts_with("ldaps://") {
            let rest = opts.url.split_once("://").map_or("", |(_, r)| r);
            if rest
                .split('/')
                .next()
                .is_some_and(|host| host.contains('@'))
            {
                // Never echo the URL: what precedes `@` may be a password.
                return Err(DirError::Other(tr!(
                    "URL của thư mục chứa tên người dùng hoặc mật khẩu trước `@`: hãy cho bind DN bằng --bind-dn và mật khẩu trong một tệp (--bind-password-file) hoặc HOPTHU_BIND_PASSWORD",
                    "the directory URL holds a user or password before `@`: give the bind DN with --bind-dn and the password in a file (--bind-password-file) or HOPTHU_BIND_PASSWORD"
                )));
            }
            Ok(Directory::Ldap(ldap::LdapDirectory::connect(opts).await?))
        } else {
            let url = &opts.url;
            Err(DirError::Other(tr!(
                "URL thư mục không nhận ra được {url:?}: hãy dùng ldap://HOST, ldaps://HOST hoặc ldif:PATH",
                "unknown directory URL {url:?}: use ldap://HOST, ldaps://HOST or ldif:PATH"
            )))
        }
    }

    pub async fn read(&mut self, sel: &Selection) -> Result<Vec<LiveEntry>, DirError> {
        match self {
            Directory::Ldap(d) => Backend::read(d, sel).await,
            Directory::Ldif(d) => Backend::read(d, sel).await,
        }
    }

    /// The roots of the trees the directory holds (a server's
    /// `namingContexts` in its root DSE; a file's top entries).
    pub async fn naming_contexts(&mut self) -> Result<Vec<String>, DirError> {
        match self {
            Directory::Ldap(d) => Backend::naming_contexts(d).await,
            Directory::Ldif(d) => Backend::naming_contexts(d).await,
        }
    }

    /// Every selected entry outside `base` (neither it nor under it), from
    /// the other trees the directory holds and from a tree above the base.
    pub async fn read_outside(
        &mut self,
        base: &str,
        sel: &Selection,
    ) -> Result<Vec<LiveEntry>, DirError> {
        let Ok(base_rdns) = dn::normalized_rdns(base) else {
            return Ok(Vec::new());
        };
        let under = |dn: &str, top: &[String]| {
            dn::normalized_rdns(dn).is_ok_and(|r| r.len() >= top.len() && r.ends_with(top))
        };
        let mut out = Vec::new();
        for context in self.naming_contexts().await? {
            // A tree inside the base was read with it.
            if context.trim().is_empty() || under(&context, &base_rdns) {
                continue;
            }
            let part = Selection {
                base: context,
                ..sel.clone()
            };
            out.extend(
                self.read(&part)
                    .await?
                    .into_iter()
                    .filter(|e| !under(&e.dn, &base_rdns)),
            );
        }
        Ok(out)
    }

    /// An embedded file directory with no entry at all: the only kind of
    /// directory hopthu creates a base in. A file that holds entries under
    /// another base means the base DN is wrong, not missing.
    pub fn holds_nothing(&self) -> bool {
        match self {
            Directory::Ldap(d) => Backend::holds_nothing(d),
            Directory::Ldif(d) => Backend::holds_nothing(d),
        }
    }

    pub async fn exists(&mut self, dn: &str) -> Result<bool, DirError> {
        match self {
            Directory::Ldap(d) => Backend::exists(d, dn).await,
            Directory::Ldif(d) => Backend::exists(d, dn).await,
        }
    }

    /// Many writes in flight where the backend can. The file backend makes
    /// the whole batch durable with one atomic rename at the end.
    pub async fn write(&mut self, writes: Vec<Write>) -> Vec<Result<(), WriteError>> {
        match self {
            Directory::Ldap(d) => Backend::write(d, writes).await,
            Directory::Ldif(d) => Backend::write(d, writes).await,
        }
    }

    pub fn set_fence(&mut self, fence: crate::writer_lock::Fence) {
        match self {
            Directory::Ldap(d) => Backend::set_fence(d, fence),
            Directory::Ldif(d) => Backend::set_fence(d, fence),
        }
    }

    pub async fn close(self) -> Result<(), DirError> {
        match self {
            Directory::Ldap(d) => Backend::close(d).await,
            Directory::Ldif(d) => Backend::close(d).await,
        }
    }
}
