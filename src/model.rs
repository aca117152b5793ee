//! The desired-state format, v1 (`shared/spec/directory-format.md`), as Rust
//! types. The JSON Schema in `schema/` is generated from these types, so the
//! patterns below are the ones clerks' editors check while they type.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const API_VERSION: &str = "hopthu/v1";

/// An agency's abbreviation, a unit's abbreviation: lower case ASCII, no spaces.
pub const ABBR_PATTERN: &str = r"^[a-z0-9]+$";
/// Agency codes, unit codes and person ids: stable keys, never reused.
pub const KEY_PATTERN: &str = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";
/// The part of an address before `@`: ASCII only.
pub const LOCAL_PATTERN: &str = r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$";
pub const QUOTA_PATTERN: &str = r"^[0-9]+(?:\.[0-9]+)? ?(?:B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$";
pub const DOMAIN_PATTERN: &str = r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$";
pub const DATE_PATTERN: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$";
/// A reviewer as code-owner files name one: `@user`, `@org/team` (GitLab:
/// `@group/subgroup`) or an e-mail address.
pub const REVIEWER_PATTERN: &str = concat!(
    r"^(?:@[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?:/[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)*",
    r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+)$"
);
/// A person's or an organisation's name: ASCII and Vietnamese letters (also
/// in decomposed form), digits for organisation names, spaces, apostrophes
/// and hyphens. Look-alike letters from other scripts do not match.
pub const NAME_PATTERN: &str = concat!(
    r"^[A-Za-z '\u2019\u02BC\u2018\-\u00A0",
    "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ",
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴĐ",
    r"\u0300\u0301\u0302\u0303\u0306\u0309\u031B\u0323]+$"
);
/// An agency's or a unit's name: the letters of a person's name, digits and
/// the punctuation official names use.
pub const ORG_NAME_PATTERN: &str = concat!(
    r"^[A-Za-z0-9 ,.()&/:;\x22\u2013'\u2019\u02BC\u2018\-\u00A0",
    "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ",
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴĐ",
    r"\u0300\u0301\u0302\u0303\u0306\u0309\u031B\u0323]+$"
);

/// `hopthu.yaml`: the settings of a desired-state repository.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(
    title = "hopthu.yaml",
    description = "Settings of a hopthu desired-state repository"
)]
pub struct Settings {
    /// Always `hopthu/v1`.
    #[schemars(extend("const" = "hopthu/v1"))]
    pub api_version: String,
    /// Every address is `<local>@<domain>`.
    #[schemars(regex(pattern = DOMAIN_PATTERN))]
    pub domain: String,
    /// The language of messages for people.
    #[serde(default)]
    pub language: Language,
    #[serde(default)]
    pub policy: Policy,
    /// Where the mailboxes live in the mail server's directory.
    #[serde(default)]
    pub directory: DirectorySettings,
    /// Who reviews changes, per agency: `hopthu codeowners` writes the
    /// repository's CODEOWNERS file from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewers: Option<Reviewers>,
}

/// Reviewers of pull requests: the default owners, and each agency's own.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Reviewers {
    /// Owners of everything no agency entry names: every file, `hopthu.yaml`
    /// and `schema/`.
    #[serde(default)]
    pub default: Vec<Reviewer>,
    /// An agency, by its abbreviation (`skhcn`) or its code (`"03646"`), to
    /// the reviewers of the file that declares it.
    #[serde(default)]
    pub agencies: BTreeMap<String, Vec<Reviewer>>,
}

/// `@user`, `@org/team` or an e-mail address.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(transparent)]
pub struct Reviewer(#[schemars(regex(pattern = REVIEWER_PATTERN))] pub String);

/// The live directory's shape: which mail server layout, under which base DN.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DirectorySettings {
    /// `standard` (inetOrgPerson + ppolicy + the hopthu schema) or `iredmail`.
    #[serde(default)]
    pub layout: crate::layout::LayoutName,
    /// The base DN; when absent it is made from the domain
    /// (`sonla.gov.vn` -> `dc=sonla,dc=gov,dc=vn`). `--base-dn` overrides it.
    #[serde(rename = "baseDN")]
    pub base_dn: Option<String>,
    /// Where the last login of a mailbox is read from: `authTimestamp` (the
    /// lastbind overlay) or `pwdLastSuccess` (ppolicy). When absent, the
    /// layout's own: `authTimestamp` for `standard`, `pwdLastSuccess` for
    /// `iredmail`. `hopthu audit --logins FILE` reads an export instead.
    pub last_login: Option<LastLogin>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub enum LastLogin {
    #[serde(rename = "authTimestamp")]
    AuthTimestamp,
    #[serde(rename = "pwdLastSuccess")]
    PwdLastSuccess,
}

impl LastLogin {
    pub fn attribute(self) -> &'static str {
        match self {
            LastLogin::AuthTimestamp => "authTimestamp",
            LastLogin::PwdLastSuccess => "pwdLastSuccess",
        }
    }
}

impl Settings {
    /// The base DN of the live directory.
    pub fn base_dn(&self) -> String {
        self.directory.base_dn.clone().unwrap_or_else(|| {
            self.domain
                .split('.')
                .map(|p| format!("dc={p}"))
                .collect::<Vec<_>>()
                .join(",")
        })
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Tiếng Việt
    #[default]
    Vi,
    /// English
    En,
}

/// The most days any period of the policy may last: a hundred years.
pub const MAX_POLICY_DAYS: u32 = 36_500;
/// The most deletions one plan may carry without an approval: more than a
/// province has mailboxes.
pub const MAX_DELETES_PER_RUN: u32 = 1_000_000;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Policy {
    /// No login for this many days: a lock is proposed (at most 36500).
    #[schemars(range(min = 1, max = MAX_POLICY_DAYS))]
    pub inactive_lock_days: u32,
    /// Locked this many days with no restore request: revocation is
    /// proposed (at most 36500).
    #[schemars(range(min = 1, max = MAX_POLICY_DAYS))]
    pub revoke_after_lock_days: u32,
    /// More deletions than this in one plan are held for approval (at most
    /// 1000000).
    #[schemars(range(min = 0, max = MAX_DELETES_PER_RUN))]
    pub max_deletes_per_run: u32,
    /// After a rename, the old address keeps delivering this many days (at
    /// most 36500).
    #[schemars(range(min = 0, max = MAX_POLICY_DAYS))]
    pub rename_grace_days: u32,
    /// Quota of a mailbox that names none.
    #[schemars(regex(pattern = QUOTA_PATTERN))]
    pub default_quota: String,
    /// No mailbox may have more.
    #[schemars(regex(pattern = QUOTA_PATTERN))]
    pub max_quota: String,
    pub password: PasswordPolicy,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            inactive_lock_days: 90,
            revoke_after_lock_days: 30,
            max_deletes_per_run: 10,
            rename_grace_days: 180,
            default_quota: "2GiB".into(),
            max_quota: "50GiB".into(),
            password: PasswordPolicy::default(),
        }
    }
}

/// What initial and reset passwords must satisfy.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct PasswordPolicy {
    #[schemars(range(min = 8, max = 128))]
    pub min_length: u32,
    pub require_upper: bool,
    pub require_lower: bool,
    pub require_digit: bool,
    /// At least one of these characters.
    #[schemars(regex(pattern = r"^[!-/:-@\[-`{-~]*$"))]
    pub specials: String,
    /// A password expires after this many days (at most 36500).
    #[schemars(range(min = 1, max = MAX_POLICY_DAYS))]
    pub max_age_days: u32,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: 8,
            require_upper: true,
            require_lower: true,
            require_digit: true,
            specials: "!@#%$*&".into(),
            max_age_days: 90,
        }
    }
}

/// One agency (sở, ban, ngành, xã, phường): its own mailbox, its units and its people.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(
    title = "Agency",
    description = "One agency of a hopthu desired-state repository"
)]
pub struct Agency {
    /// Always `hopthu/v1`.
    #[schemars(extend("const" = "hopthu/v1"))]
    pub api_version: String,
    /// Always `Agency`.
    #[schemars(extend("const" = "Agency"))]
    pub kind: String,
    /// Stable official identifier, never reused. Write it in quotes ("03646").
    #[schemars(regex(pattern = KEY_PATTERN))]
    pub code: String,
    /// Local part of the agency mailbox: lower case, no diacritics, no spaces.
    #[schemars(regex(pattern = ABBR_PATTERN))]
    pub abbr: String,
    #[serde(rename = "type")]
    pub agency_type: AgencyType,
    /// Official name, Vietnamese with diacritics.
    #[schemars(regex(pattern = ORG_NAME_PATTERN), length(min = 1, max = 200))]
    pub name: String,
    /// Abbreviations this agency used before (renames, mergers).
    #[serde(default)]
    pub former_abbrs: Vec<Abbr>,
    /// The agency's own mailbox: optional overrides.
    #[serde(default)]
    pub mailbox: Option<MailboxSettings>,
    #[serde(default)]
    pub units: Vec<Unit>,
    #[serde(default)]
    pub people: Vec<Person>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(transparent)]
pub struct Abbr(#[schemars(regex(pattern = ABBR_PATTERN))] pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AgencyType {
    /// Sở
    Department,
    /// Ban
    Board,
    /// Văn phòng
    Office,
    /// Xã
    Commune,
    /// Phường
    Ward,
    /// Đơn vị sự nghiệp công lập
    UnitPublic,
}

impl AgencyType {
    /// Communes and wards take their address from their name.
    pub fn named_by_place(self) -> bool {
        matches!(self, AgencyType::Commune | AgencyType::Ward)
    }
}

/// Overrides for an agency's or a unit's own mailbox.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MailboxSettings {
    #[serde(default)]
    pub status: Status,
    pub lock: Option<Lock>,
    #[schemars(regex(pattern = QUOTA_PATTERN))]
    pub quota: Option<String>,
    /// Extra local parts that also deliver here.
    #[serde(default)]
    pub aliases: Vec<Local>,
    /// The local part, when it differs from the derived one.
    pub address: Option<Local>,
    /// A grandfathered address that predates the rules.
    #[serde(default)]
    pub legacy: bool,
}

/// A phòng, ban or đơn vị trực thuộc, with its own mailbox `<abbr>.<agency abbr>`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Unit {
    /// Stable within the agency (key: `<agency code>/<unit code>`).
    #[schemars(regex(pattern = KEY_PATTERN))]
    pub code: String,
    #[schemars(regex(pattern = ABBR_PATTERN))]
    pub abbr: String,
    #[schemars(regex(pattern = ORG_NAME_PATTERN), length(min = 1, max = 200))]
    pub name: String,
    #[serde(default)]
    pub mailbox: Option<MailboxSettings>,
}

/// A person with a mailbox.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Person {
    /// Stable person key, unique in the whole repository.
    #[schemars(regex(pattern = KEY_PATTERN))]
    pub id: String,
    /// Full name as written: family, middle name(s), given name.
    #[schemars(regex(pattern = NAME_PATTERN), length(min = 1, max = 200))]
    pub name: String,
    /// A `units[].code` of this agency.
    #[schemars(regex(pattern = KEY_PATTERN))]
    pub unit: Option<String>,
    /// Local part of the address; derived from the name when absent.
    pub address: Option<Local>,
    #[serde(default)]
    pub status: Status,
    /// Required when status is locked.
    pub lock: Option<Lock>,
    #[schemars(regex(pattern = QUOTA_PATTERN))]
    pub quota: Option<String>,
    /// Extra local parts that also deliver here.
    #[serde(default)]
    pub aliases: Vec<Local>,
    /// A grandfathered address that predates the rules.
    #[serde(default)]
    pub legacy: bool,
    /// Which part of the name is the given name, for names written family-last.
    #[schemars(regex(pattern = NAME_PATTERN))]
    pub given: Option<String>,
    /// Optional job title (chức vụ), shown in the directory.
    #[schemars(length(max = 200))]
    pub title: Option<String>,
    /// Listed in the public directory (`hopthu publish`) with name, title,
    /// agency, unit and address. Without `public: true` a person is not listed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[schemars(extend("default" = false))]
    pub public: bool,
}

/// The part of an address before `@`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(transparent)]
pub struct Local(#[schemars(regex(pattern = LOCAL_PATTERN))] pub String);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Active,
    /// Cannot log in; still receives mail.
    Locked,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Lock {
    pub reason: LockReason,
    /// The day the lock started (YYYY-MM-DD), not in the future.
    #[schemars(regex(pattern = DATE_PATTERN), extend("format" = "date"))]
    pub since: String,
    #[schemars(length(max = 1000))]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LockReason {
    Inactive,
    Compromised,
    Spam,
    Violation,
    Requested,
}

/// Parse a quota such as `2GiB`, `500 MB` or `10GB` into bytes.
pub fn parse_quota(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = s.split_at(split);
    let unit = unit.trim();
    let mult: u64 = match unit {
        "B" => 1,
        "KB" => 1000,
        "MB" => 1000_u64.pow(2),
        "GB" => 1000_u64.pow(3),
        "TB" => 1000_u64.pow(4),
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        _ => return None,
    };
    if num.is_empty() || num.starts_with('.') || num.matches('.').count() > 1 {
        return None;
    }
    let v: f64 = num.parse().ok()?;
    let bytes = v * mult as f64;
    if !bytes.is_finite() || bytes > u64::MAX as f64 / 2.0 {
        return None;
    }
    Some(bytes.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_parse_in_binary_and_decimal_units() {
        assert_eq!(parse_quota("2GiB"), Some(2 << 30));
        assert_eq!(parse_quota("500 MB"), Some(500_000_000));
        assert_eq!(parse_quota("1.5GiB"), Some(3 << 29));
        assert_eq!(parse_quota("10"), None);
        assert_eq!(parse_quota("GiB"), None);
        assert_eq!(parse_quota("2 GiBs"), None);
        assert_eq!(parse_quota("99999999999999TiB"), None);
    }
}
