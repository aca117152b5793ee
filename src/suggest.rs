//! `hopthu suggest`: the address the rules give a new person, whether it is
//! already taken in the repository, and free alternatives when it is.

use crate::desired::DesiredMailbox;
use crate::naming::{self, DeriveError};
use serde::Serialize;
use std::collections::HashSet;

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Suggestion {
    /// `local@domain`
    pub address: String,
    pub taken: bool,
    /// Free addresses (`local@domain`) that also follow the rules, best first;
    /// empty when the derived one is free.
    pub alternatives: Vec<String>,
}

/// Every local part in use (addresses and aliases), lower case.
pub fn locals_in_use(mailboxes: &[DesiredMailbox]) -> HashSet<String> {
    mailboxes
        .iter()
        .flat_map(|m| std::iter::once(&m.address).chain(m.aliases.iter()))
        .map(|a| a.split('@').next().unwrap_or(a).to_ascii_lowercase())
        .collect()
}

pub fn suggest(
    name: &str,
    given: Option<&str>,
    agency_abbr: &str,
    domain: &str,
    in_use: &HashSet<String>,
    count: usize,
) -> Result<Suggestion, DeriveError> {
    let local = naming::person_local(name, given, agency_abbr)?;
    let taken = in_use.contains(&local);
    let alternatives = if taken {
        let is_taken = |l: &str| in_use.contains(l);
        naming::person_alternatives(name, given, agency_abbr, &is_taken, count)?
            .into_iter()
            .map(|l| format!("{l}@{domain}"))
            .collect()
    } else {
        Vec::new()
    };
    Ok(Suggestion {
        address: format!("{local}@{domain}"),
        taken,
        alternatives,
    })
}
