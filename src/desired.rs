//! The desired mailboxes, by key: what a valid repository asks the live
//! directory to hold. Produced by the validator, consumed by the plan.

use crate::model::{AgencyType, Lock, Status};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MailboxKind {
    Agency,
    Unit,
    Person,
}

/// One mailbox as the repository declares it, every value normalized
/// (addresses lower case ASCII, names NFC, quotas in bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesiredMailbox {
    /// `agency/<code>`, `unit/<agency code>/<unit code>` or `person/<id>`.
    pub key: String,
    pub kind: MailboxKind,
    /// `local@domain`, lower case.
    pub address: String,
    /// Full addresses, lower case, sorted.
    pub aliases: Vec<String>,
    /// The name as people read it (NFC, single spaces).
    pub display_name: String,
    /// For people: the given name and the rest of the name.
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub title: Option<String>,
    pub agency_code: String,
    pub agency_abbr: String,
    pub agency_type: AgencyType,
    /// Earlier abbreviations of the agency.
    pub former_abbrs: Vec<String>,
    pub unit_code: Option<String>,
    pub status: Status,
    /// A person listed in the public directory (`public: true`); agency and
    /// unit mailboxes always are. Not part of the plan or its fingerprint:
    /// it changes nothing in the live directory.
    #[serde(skip)]
    pub public: bool,
    pub lock: Option<Lock>,
    pub quota: u64,
    /// Where it is declared: file and JSON pointer.
    pub file: String,
    pub pointer: String,
}

pub fn agency_key(code: &str) -> String {
    format!("agency/{code}")
}

pub fn unit_key(agency_code: &str, unit_code: &str) -> String {
    format!("unit/{agency_code}/{unit_code}")
}

pub fn person_key(id: &str) -> String {
    format!("person/{id}")
}
