//! Initial and reset passwords: drawn from the operating system's CSPRNG,
//! always meeting `policy.password`, stored only as a salted hash.

use crate::model::PasswordPolicy;
use base64::Engine as _;
use rand::seq::SliceRandom;
use rand::{Rng, TryRngCore};
use sha1::{Digest, Sha1};

const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const DIGIT: &[u8] = b"23456789";

/// A secret that never prints itself.
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

/// A new password meeting the policy: at least 14 characters (or the
/// policy's minimum, if longer), one of each required class. Look-alike
/// letters (I, l, O, 0, 1) are left out so it can be read over the phone.
pub fn generate(policy: &PasswordPolicy) -> Secret {
    let mut rng = rand::rngs::OsRng.unwrap_err();
    let len = (policy.min_length as usize).max(14);
    let specials: Vec<u8> = policy
        .specials
        .bytes()
        .filter(|b| b.is_ascii_graphic())
        .collect();
    let mut classes: Vec<&[u8]> = Vec::new();
    if policy.require_upper {
        classes.push(UPPER);
    }
    if policy.require_lower {
        classes.push(LOWER);
    }
    if policy.require_digit {
        classes.push(DIGIT);
    }
    if !specials.is_empty() {
        classes.push(&specials);
    }
    let all: Vec<u8> = [UPPER, LOWER, DIGIT, &specials].concat();
    let mut out: Vec<u8> = classes
        .iter()
        .map(|c| c[rng.random_range(0..c.len())])
        .collect();
    while out.len() < len {
        out.push(all[rng.random_range(0..all.len())]);
    }
    out.shuffle(&mut rng);
    let s = String::from_utf8(out).expect("ASCII");
    debug_assert!(meets(policy, &s));
    Secret(s)
}

/// Whether a password meets the policy (the server does not check the
/// passwords an administrator sets, so hopthu checks its own).
pub fn meets(policy: &PasswordPolicy, p: &str) -> bool {
    p.chars().count() >= policy.min_length as usize
        && (!policy.require_upper || p.chars().any(|c| c.is_ascii_uppercase()))
        && (!policy.require_lower || p.chars().any(|c| c.is_ascii_lowercase()))
        && (!policy.require_digit || p.chars().any(|c| c.is_ascii_digit()))
        && (policy.specials.is_empty() || p.chars().any(|c| policy.specials.contains(c)))
}

/// `{SSHA}`: base64(SHA-1(password + salt) + salt) with an 8-byte random salt.
pub fn ssha(secret: &Secret) -> String {
    let mut salt = [0u8; 8];
    rand::rngs::OsRng.unwrap_err().fill(&mut salt);
    let mut h = Sha1::new();
    h.update(secret.expose().as_bytes());
    h.update(salt);
    let mut bytes = h.finalize().to_vec();
    bytes.extend_from_slice(&salt);
    format!(
        "{{SSHA}}{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_always_meet_the_policy() {
        let p = PasswordPolicy::default();
        for _ in 0..2000 {
            let s = generate(&p);
            assert!(meets(&p, s.expose()), "{}", s.expose());
        }
        let strict = PasswordPolicy {
            min_length: 24,
            specials: "#".into(),
            ..PasswordPolicy::default()
        };
        let s = generate(&strict);
        assert!(s.expose().len() >= 24 && s.expose().contains('#'));
    }

    #[test]
    fn the_policy_check_refuses_each_missing_class() {
        let p = PasswordPolicy::default();
        assert!(meets(&p, "Abcdef1!"));
        assert!(!meets(&p, "Abcde1!"));
        assert!(!meets(&p, "abcdef1!"));
        assert!(!meets(&p, "ABCDEF1!"));
        assert!(!meets(&p, "Abcdefg!"));
        assert!(!meets(&p, "Abcdefg1"));
    }

    #[test]
    fn ssha_is_salted_and_verifiable() {
        let s = Secret("Abcdef1!".into());
        let a = ssha(&s);
        let b = ssha(&s);
        assert_ne!(a, b);
        let raw = base64::engine::general_purpose::STANDARD
            .decode(a.strip_prefix("{SSHA}").unwrap())
            .unwrap();
        let (digest, salt) = raw.split_at(20);
        let mut h = Sha1::new();
        h.update(b"Abcdef1!");
        h.update(salt);
        assert_eq!(h.finalize().as_slice(), digest);
        assert_eq!(format!("{s:?}"), "<secret>");
    }
}
