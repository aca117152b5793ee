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

/// Why no address can be suggested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuggestError {
    Derive(DeriveError),
    /// An invisible or control character, at a position counted from 1.
    Invisible {
        ch: char,
        position: usize,
    },
    /// The repository has no agency with this abbreviation.
    UnknownAgency {
        abbr: String,
        /// The agency that used it before, or the nearest abbreviations.
        now: Option<String>,
        nearest: Vec<String>,
    },
}

impl From<DeriveError> for SuggestError {
    fn from(e: DeriveError) -> SuggestError {
        SuggestError::Derive(e)
    }
}

impl SuggestError {
    pub fn text(&self, lang: crate::model::Language) -> String {
        use crate::model::Language::{En, Vi};
        match (self, lang) {
            (SuggestError::Derive(e), lang) => {
                use crate::messages::Msg;
                use naming::DeriveError as D;
                match e {
                    D::BadName(err) | D::BadGiven(err) => {
                        Msg::NameChar { err: err.clone() }.text(lang)
                    }
                    D::GivenNotFound { given, name } => Msg::GivenNotInName {
                        given: given.clone(),
                        name: name.clone(),
                    }
                    .text(lang),
                    D::EmptyName => match lang {
                        Vi => "tên rỗng".into(),
                        En => "the name is empty".into(),
                    },
                }
            }
            (SuggestError::Invisible { ch, position }, Vi) => format!(
                "tên có ký tự ẩn hoặc ký tự điều khiển U+{:04X} ở vị trí {position}; hãy gõ lại tên",
                *ch as u32
            ),
            (SuggestError::Invisible { ch, position }, En) => format!(
                "the name holds an invisible or control character U+{:04X} at position {position}; type the name again",
                *ch as u32
            ),
            (
                SuggestError::UnknownAgency {
                    abbr,
                    now: Some(now),
                    ..
                },
                Vi,
            ) => format!(
                "`{abbr}` là tên viết tắt cũ; cơ quan này nay là `{now}`: dùng --agency {now}"
            ),
            (
                SuggestError::UnknownAgency {
                    abbr,
                    now: Some(now),
                    ..
                },
                En,
            ) => format!(
                "`{abbr}` is a former abbreviation; the agency is now `{now}`: use --agency {now}"
            ),
            (SuggestError::UnknownAgency { abbr, nearest, .. }, Vi) => format!(
                "không có cơ quan nào viết tắt là `{abbr}` trong kho{}",
                if nearest.is_empty() {
                    String::new()
                } else {
                    format!("; có phải: {}?", nearest.join(", "))
                }
            ),
            (SuggestError::UnknownAgency { abbr, nearest, .. }, En) => format!(
                "no agency of the repository has the abbreviation `{abbr}`{}",
                if nearest.is_empty() {
                    String::new()
                } else {
                    format!("; did you mean: {}?", nearest.join(", "))
                }
            ),
        }
    }
}

/// Check that `abbr` names an agency of the repository.
pub fn check_agency(mailboxes: &[DesiredMailbox], abbr: &str) -> Result<(), SuggestError> {
    let mut known: Vec<&str> = mailboxes.iter().map(|m| m.agency_abbr.as_str()).collect();
    known.sort_unstable();
    known.dedup();
    if known.contains(&abbr) {
        return Ok(());
    }
    let now = mailboxes
        .iter()
        .find(|m| m.former_abbrs.iter().any(|f| f == abbr))
        .map(|m| m.agency_abbr.clone());
    let mut nearest: Vec<(usize, &str)> = known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(abbr, k), *k))
        .filter(|(d, _)| *d <= 2)
        .collect();
    nearest.sort();
    Err(SuggestError::UnknownAgency {
        abbr: abbr.to_string(),
        now,
        nearest: nearest
            .into_iter()
            .take(3)
            .map(|(_, k)| k.to_string())
            .collect(),
    })
}

pub fn suggest(
    name: &str,
    given: Option<&str>,
    agency_abbr: &str,
    domain: &str,
    in_use: &HashSet<String>,
    count: usize,
) -> Result<Suggestion, SuggestError> {
    for text in std::iter::once(name).chain(given) {
        for notice in naming::notices(text) {
            if let naming::NameNotice::Invisible { ch, position }
            | naming::NameNotice::Control { ch, position } = notice
            {
                return Err(SuggestError::Invisible { ch, position });
            }
        }
    }
    // A person's name holds no digit (the validator's rule): such a name
    // would give an address no valid repository can hold.
    for (text, is_given) in [(Some(name), false), (given, true)] {
        if let Some(err) = text.and_then(|t| {
            naming::fold(t).ok()?;
            naming::person_name_error(t)
        }) {
            return Err(SuggestError::Derive(if is_given {
                DeriveError::BadGiven(err)
            } else {
                DeriveError::BadName(err)
            }));
        }
    }
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
