//! How a mailbox looks in a mail server's directory. Each layout is data: a
//! table of names and values, read by one mapping (`to_attrs`, `from_entry`)
//! that every layout shares. Adding a mail server means adding a table.

use crate::desired::{DesiredMailbox, MailboxKind};
use crate::live::{Attrs, LiveEntry};
use crate::model::{LockReason, Status};
use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum LayoutName {
    /// inetOrgPerson + ppolicy + the hopthu schema, mailboxes under `ou=people`.
    #[default]
    Standard,
    /// iRedMail's OpenLDAP backend.
    Iredmail,
}

/// How a lock is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockStyle {
    /// ppolicy: `pwdAccountLockedTime` holds the lock's start; login is
    /// refused, the entry still routes mail.
    PwdAccountLockedTime,
    /// Login services are removed from `enabledService` (and remembered in
    /// `hopthuSavedService`); delivery services stay.
    RemoveServices { services: &'static [&'static str] },
}

/// How "must change the password at the next login" is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MustChange {
    /// ppolicy's `pwdReset: TRUE`.
    PwdReset,
    /// iRedMail's policy daemon reads `shadowLastChange: 0`.
    ShadowLastChangeZero,
}

#[derive(Debug, Clone)]
pub struct Layout {
    pub name: LayoutName,
    /// The entry that holds every mailbox, `{base}` and `{domain}` filled in.
    pub container: &'static str,
    /// Entries to create, parent first, when the container is missing.
    pub container_chain: &'static [(&'static str, &'static [(&'static str, &'static str)])],
    /// The naming attribute of a mailbox entry and how its value is made.
    pub rdn: RdnStyle,
    pub object_classes: &'static [&'static str],
    /// The class every mailbox-like entry of this server has, managed or not.
    pub mailbox_class: &'static str,
    pub alias_attr: &'static str,
    pub quota_attr: &'static str,
    pub lock: LockStyle,
    pub must_change: MustChange,
    /// Attributes with fixed values on every managed mailbox.
    pub fixed: &'static [(&'static str, &'static [&'static str])],
    /// The attribute that says when the mailbox last logged in.
    pub last_login_attr: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RdnStyle {
    /// `uid=<local part>`
    UidLocal,
    /// `mail=<address>`
    Mail,
}

const IREDMAIL_LOGIN: &[&str] = &[
    "imap",
    "imapsecured",
    "imaptls",
    "pop3",
    "pop3secured",
    "pop3tls",
    "smtp",
    "smtpsecured",
    "smtptls",
    "sieve",
    "sievesecured",
    "managesieve",
    "managesievesecured",
    "sogo",
];

pub const STANDARD: Layout = Layout {
    name: LayoutName::Standard,
    container: "ou=people,{base}",
    container_chain: &[(
        "ou=people,{base}",
        &[("objectClass", "organizationalUnit"), ("ou", "people")],
    )],
    rdn: RdnStyle::UidLocal,
    object_classes: &["inetOrgPerson", "inetLocalMailRecipient", "hopthuMailbox"],
    mailbox_class: "inetOrgPerson",
    alias_attr: "mailLocalAddress",
    quota_attr: "hopthuQuota",
    lock: LockStyle::PwdAccountLockedTime,
    must_change: MustChange::PwdReset,
    fixed: &[],
    last_login_attr: "authTimestamp",
};

pub const IREDMAIL: Layout = Layout {
    name: LayoutName::Iredmail,
    container: "ou=Users,domainName={domain},o=domains,{base}",
    container_chain: &[
        (
            "o=domains,{base}",
            &[("objectClass", "organization"), ("o", "domains")],
        ),
        (
            "domainName={domain},o=domains,{base}",
            &[
                ("objectClass", "mailDomain"),
                ("domainName", "{domain}"),
                ("accountStatus", "active"),
            ],
        ),
        (
            "ou=Users,domainName={domain},o=domains,{base}",
            &[("objectClass", "organizationalUnit"), ("ou", "Users")],
        ),
    ],
    rdn: RdnStyle::Mail,
    object_classes: &[
        "inetOrgPerson",
        "shadowAccount",
        "amavisAccount",
        "mailUser",
        "hopthuMailbox",
    ],
    mailbox_class: "mailUser",
    alias_attr: "shadowAddress",
    quota_attr: "mailQuota",
    lock: LockStyle::RemoveServices {
        services: IREDMAIL_LOGIN,
    },
    must_change: MustChange::ShadowLastChangeZero,
    fixed: &[
        ("accountStatus", &["active"]),
        (
            "enabledService",
            &[
                "mail",
                "deliver",
                "lda",
                "lmtp",
                "internal",
                "doveadm",
                "lib-storage",
                "indexer-worker",
                "dsync",
                "quota-status",
                "imap",
                "imapsecured",
                "imaptls",
                "pop3",
                "pop3secured",
                "pop3tls",
                "smtp",
                "smtpsecured",
                "smtptls",
                "sieve",
                "sievesecured",
                "managesieve",
                "managesievesecured",
                "sogo",
            ],
        ),
    ],
    last_login_attr: "pwdLastSuccess",
};

impl Layout {
    pub fn get(name: LayoutName) -> &'static Layout {
        match name {
            LayoutName::Standard => &STANDARD,
            LayoutName::Iredmail => &IREDMAIL,
        }
    }

    pub fn container_dn(&self, base: &str, domain: &str) -> String {
        fill(self.container, base, domain)
    }

    /// The DN a mailbox with this address has.
    pub fn dn_for(&self, address: &str, base: &str, domain: &str) -> String {
        format!(
            "{},{}",
            self.rdn_for(address),
            self.container_dn(base, domain)
        )
    }

    pub fn rdn_for(&self, address: &str) -> String {
        match self.rdn {
            RdnStyle::UidLocal => format!("uid={}", escape_rdn_value(local(address))),
            RdnStyle::Mail => format!("mail={}", escape_rdn_value(address)),
        }
    }

    /// The attributes hopthu owns on a mailbox it manages: a plan compares
    /// exactly these, and leaves every other attribute alone.
    pub fn managed_attrs(&self) -> Vec<&'static str> {
        let mut v = vec![
            "mail",
            "uid",
            "cn",
            "sn",
            "givenName",
            "displayName",
            "title",
            "ou",
            "departmentNumber",
            "hopthuKey",
            self.alias_attr,
            self.quota_attr,
        ];
        v.extend(
            self.fixed
                .iter()
                .map(|(a, _)| *a)
                .filter(|a| *a != "enabledService"),
        );
        v
    }

    /// The desired managed attributes of a mailbox, normalized; `aliases`
    /// are the full alias list (declared plus those kept during a rename's
    /// grace period).
    pub fn to_attrs(&self, m: &DesiredMailbox, aliases: &[String]) -> Attrs {
        let mut a = Attrs::new();
        let mut put = |k: &str, v: Vec<String>| {
            if !v.is_empty() {
                a.insert(k.to_string(), v);
            }
        };
        put("mail", vec![m.address.clone()]);
        put("uid", vec![local(&m.address).to_string()]);
        put("cn", vec![m.display_name.clone()]);
        put(
            "sn",
            vec![m.surname.clone().unwrap_or_else(|| m.display_name.clone())],
        );
        if let Some(g) = &m.given_name {
            put("givenName", vec![g.clone()]);
        }
        put("displayName", vec![m.display_name.clone()]);
        if let Some(t) = &m.title {
            put("title", vec![t.clone()]);
        }
        put("ou", vec![m.agency_abbr.clone()]);
        if let Some(u) = &m.unit_code {
            put("departmentNumber", vec![u.clone()]);
        }
        put("hopthuKey", vec![m.key.clone()]);
        let mut al: Vec<String> = aliases.to_vec();
        al.sort();
        al.dedup();
        put(self.alias_attr, al);
        put(self.quota_attr, vec![m.quota.to_string()]);
        for (k, vals) in self.fixed {
            if *k != "enabledService" {
                put(k, vals.iter().map(|s| s.to_string()).collect());
            }
        }
        a
    }

    /// Whether a live entry already holds exactly what `to_attrs` would
    /// write, compared the way `from_entry` normalizes: the plan's fast
    /// path, with no allocation for the usual single values. It agrees with
    /// comparing `to_attrs` and `from_entry` (checked in debug builds).
    pub fn matches(&self, m: &DesiredMailbox, aliases: &[String], e: &LiveEntry) -> bool {
        let one = |name: &str, want: Option<&str>| -> bool {
            let have = e.get(name);
            match want {
                None => have.is_empty(),
                Some(w) => !have.is_empty() && have.iter().all(|h| value_eq(name, h, w)),
            }
        };
        let quota = m.quota.to_string();
        let surname = m.surname.as_deref().unwrap_or(&m.display_name);
        one("mail", Some(&m.address))
            && one("uid", Some(local(&m.address)))
            && one("cn", Some(&m.display_name))
            && one("sn", Some(surname))
            && one("givenName", m.given_name.as_deref())
            && one("displayName", Some(&m.display_name))
            && one("title", m.title.as_deref())
            && one("ou", Some(&m.agency_abbr))
            && one("departmentNumber", m.unit_code.as_deref())
            && one("hopthuKey", Some(&m.key))
            && one(self.quota_attr, Some(&quota))
            && same_set(
                self.alias_attr,
                aliases.iter().map(String::as_str),
                e.get(self.alias_attr),
            )
            && self
                .fixed
                .iter()
                .filter(|(k, _)| *k != "enabledService")
                .all(|(k, vals)| same_set(k, vals.iter().copied(), e.get(k)))
    }

    /// The managed attributes of a live entry, normalized the same way.
    pub fn from_entry(&self, e: &LiveEntry) -> Attrs {
        let mut a = Attrs::new();
        for name in self.managed_attrs() {
            let vals = e.get(name);
            if vals.is_empty() {
                continue;
            }
            let mut v: Vec<String> = vals.iter().map(|x| normalize_value(name, x)).collect();
            v.sort();
            v.dedup();
            a.insert(name.to_string(), v);
        }
        a
    }

    /// The values written when a mailbox is created, beyond `to_attrs`.
    pub fn create_extras(&self, password_hash: &str, status: Status) -> Attrs {
        let mut a = Attrs::new();
        a.insert(
            "objectClass".into(),
            self.object_classes.iter().map(|s| s.to_string()).collect(),
        );
        a.insert("userPassword".into(), vec![password_hash.to_string()]);
        match self.must_change {
            MustChange::PwdReset => {
                a.insert("pwdReset".into(), vec!["TRUE".into()]);
            }
            MustChange::ShadowLastChangeZero => {
                a.insert("shadowLastChange".into(), vec!["0".into()]);
            }
        }
        if let Some((_, services)) = self.fixed.iter().find(|(k, _)| *k == "enabledService") {
            let kept: Vec<String> = services
                .iter()
                .filter(|s| status == Status::Active || !self.is_login_service(s))
                .map(|s| s.to_string())
                .collect();
            a.insert("enabledService".into(), kept);
            if status == Status::Locked {
                a.insert(
                    "hopthuSavedService".into(),
                    services
                        .iter()
                        .filter(|s| self.is_login_service(s))
                        .map(|s| s.to_string())
                        .collect(),
                );
            }
        }
        if status == Status::Locked && self.lock == LockStyle::PwdAccountLockedTime {
            a.insert("pwdAccountLockedTime".into(), vec![LOCKED_FOR_GOOD.into()]);
        }
        a
    }

    fn is_login_service(&self, s: &str) -> bool {
        match self.lock {
            LockStyle::RemoveServices { services } => {
                services.iter().any(|x| x.eq_ignore_ascii_case(s))
            }
            LockStyle::PwdAccountLockedTime => false,
        }
    }

    /// Whether a live entry is locked, in this layout's terms.
    pub fn is_locked(&self, e: &LiveEntry) -> bool {
        match self.lock {
            LockStyle::PwdAccountLockedTime => !e.get("pwdAccountLockedTime").is_empty(),
            LockStyle::RemoveServices { services } => {
                let enabled = e.get("enabledService");
                !services
                    .iter()
                    .any(|s| enabled.iter().any(|x| x.eq_ignore_ascii_case(s)))
            }
        }
    }

    /// Changes that lock an entry: login refused, mail still delivered.
    pub fn lock_mods(&self, e: &LiveEntry) -> Vec<crate::live::Mod> {
        use crate::live::Mod;
        match self.lock {
            LockStyle::PwdAccountLockedTime => {
                vec![Mod::Replace(
                    "pwdAccountLockedTime".into(),
                    vec![LOCKED_FOR_GOOD.into()],
                )]
            }
            LockStyle::RemoveServices { services } => {
                let enabled = e.get("enabledService");
                let removed: Vec<String> = enabled
                    .iter()
                    .filter(|x| services.iter().any(|s| s.eq_ignore_ascii_case(x)))
                    .cloned()
                    .collect();
                if removed.is_empty() {
                    return Vec::new();
                }
                vec![
                    Mod::Delete("enabledService".into(), removed.clone()),
                    Mod::Replace("hopthuSavedService".into(), removed),
                ]
            }
        }
    }

    /// Changes that unlock an entry and force a password change at the next login.
    pub fn unlock_mods(&self, e: &LiveEntry) -> Vec<crate::live::Mod> {
        use crate::live::Mod;
        let mut mods = match self.lock {
            LockStyle::PwdAccountLockedTime => {
                let mut m = vec![Mod::Delete("pwdAccountLockedTime".into(), vec![])];
                if !e.get("pwdFailureTime").is_empty() {
                    m.push(Mod::Delete("pwdFailureTime".into(), vec![]));
                }
                m
            }
            LockStyle::RemoveServices { services } => {
                let saved: Vec<String> = e.get("hopthuSavedService").to_vec();
                let restore = if saved.is_empty() {
                    services.iter().map(|s| s.to_string()).collect()
                } else {
                    saved
                };
                let mut m = vec![Mod::Add("enabledService".into(), restore)];
                if !e.get("hopthuSavedService").is_empty() {
                    m.push(Mod::Delete("hopthuSavedService".into(), vec![]));
                }
                m
            }
        };
        mods.push(match self.must_change {
            MustChange::PwdReset => Mod::Replace("pwdReset".into(), vec!["TRUE".into()]),
            MustChange::ShadowLastChangeZero => {
                Mod::Replace("shadowLastChange".into(), vec!["0".into()])
            }
        });
        mods
    }

    /// The operational and state attributes a plan reads besides `*`.
    pub fn read_attrs(&self) -> Vec<String> {
        // Only what the plan compares or decides on: reading every
        // attribute of every mailbox would cost time and memory for nothing
        // (a deletion re-reads its entry whole for the backup).
        let mut v: Vec<String> = self.managed_attrs().iter().map(|s| s.to_string()).collect();
        v.extend(
            [
                "objectClass",
                "hopthuRecord",
                "hopthuSavedService",
                "enabledService",
                "entryUUID",
                "creatorsName",
                "pwdAccountLockedTime",
                "pwdFailureTime",
                "pwdReset",
                // For `hopthu audit`: either login attribute (hopthu.yaml
                // may choose the other one) and when the entry was made.
                "authTimestamp",
                "pwdLastSuccess",
                "createTimestamp",
                self.last_login_attr,
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        v.sort();
        v.dedup();
        v
    }
}

/// The value of `pwdAccountLockedTime` for a lock: ppolicy's lasting,
/// administrative lock. A dated lock would end by itself wherever the
/// server's policy has a `pwdLockoutDuration`; this one ends only when hopthu
/// unlocks. The lock's date stays in the repository (`lock.since`).
pub const LOCKED_FOR_GOOD: &str = "000001010000Z";

/// Lock reasons have no LDAP attribute of their own; they live in the
/// desired state and in the audit log.
pub fn reason_word(r: LockReason) -> &'static str {
    match r {
        LockReason::Inactive => "inactive",
        LockReason::Compromised => "compromised",
        LockReason::Spam => "spam",
        LockReason::Violation => "violation",
        LockReason::Requested => "requested",
    }
}

fn fill(template: &str, base: &str, domain: &str) -> String {
    template.replace("{base}", base).replace("{domain}", domain)
}

pub fn fill_template(template: &str, base: &str, domain: &str) -> String {
    fill(template, base, domain)
}

fn local(address: &str) -> &str {
    address.split('@').next().unwrap_or(address)
}

/// Values compare the way the directory's matching rules do: addresses and
/// keys-like ASCII attributes without regard to case, names as NFC text.
pub fn normalize_value(attr: &str, v: &str) -> String {
    use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};
    let is = |names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(attr));
    match () {
        _ if is(&[
            "mail",
            "uid",
            "mailLocalAddress",
            "shadowAddress",
            "ou",
            "departmentNumber",
            "accountStatus",
        ]) =>
        {
            v.trim().to_ascii_lowercase()
        }
        _ if is(&["hopthuKey"]) => v.to_string(),
        _ if is(&["hopthuQuota", "mailQuota"]) => {
            v.trim().trim_start_matches('0').to_string().max_if_empty()
        }
        _ => {
            // Most values are already NFC with single spaces: keep them as they are.
            let spaced = v.starts_with(char::is_whitespace)
                || v.ends_with(char::is_whitespace)
                || v.contains("  ")
                || v.contains(|c: char| c.is_whitespace() && c != ' ');
            if !spaced && (v.is_ascii() || is_nfc_quick(v.chars()) == IsNormalized::Yes) {
                return v.to_string();
            }
            let n: String = v.nfc().collect();
            n.split_whitespace().collect::<Vec<_>>().join(" ")
        }
    }
}

/// `normalize_value(attr, a) == normalize_value(attr, b)`, without
/// allocating in the usual cases.
pub fn value_eq(attr: &str, a: &str, b: &str) -> bool {
    use unicode_normalization::{IsNormalized, is_nfc_quick};
    // The same text normalizes the same way.
    if a == b {
        return true;
    }
    let is = |names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(attr));
    if is(&[
        "mail",
        "uid",
        "mailLocalAddress",
        "shadowAddress",
        "ou",
        "departmentNumber",
        "accountStatus",
    ]) {
        return a.trim().eq_ignore_ascii_case(b.trim());
    }
    if is(&["hopthuKey"]) {
        return a == b;
    }
    let clean = |v: &str| {
        !(v.starts_with(char::is_whitespace)
            || v.ends_with(char::is_whitespace)
            || v.contains("  ")
            || v.contains(|c: char| c.is_whitespace() && c != ' '))
            && (v.is_ascii() || is_nfc_quick(v.chars()) == IsNormalized::Yes)
    };
    if !is(&["hopthuQuota", "mailQuota"]) && clean(a) && clean(b) {
        return a == b;
    }
    normalize_value(attr, a) == normalize_value(attr, b)
}

/// Two lists of values hold the same set, compared as the directory does.
fn same_set<'a>(attr: &str, want: impl Iterator<Item = &'a str>, have: &[String]) -> bool {
    let mut w: Vec<String> = want.map(|v| normalize_value(attr, v)).collect();
    if w.is_empty() && have.is_empty() {
        return true;
    }
    let mut h: Vec<String> = have.iter().map(|v| normalize_value(attr, v)).collect();
    w.sort();
    w.dedup();
    h.sort();
    h.dedup();
    w == h
}

trait ZeroIfEmpty {
    fn max_if_empty(self) -> String;
}

impl ZeroIfEmpty for String {
    fn max_if_empty(self) -> String {
        if self.is_empty() { "0".into() } else { self }
    }
}

/// RFC 4514 escaping of an attribute value in a DN.
pub fn escape_rdn_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let n = v.chars().count();
    for (i, c) in v.chars().enumerate() {
        match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i + 1 == n => out.push_str("\\ "),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

/// Whether a desired mailbox is one of an agency's or a unit's (not a person's).
pub fn is_org(m: &DesiredMailbox) -> bool {
    m.kind != MailboxKind::Person
}
