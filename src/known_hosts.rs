//! OpenSSH `known_hosts`: is this the key of this host? Plain and hashed
//! (`|1|salt|hash`) host names, `[host]:port`, wildcards, negations and
//! `@revoked` lines, as sshd(8) describes them. `@cert-authority` lines are
//! not supported and never match.

use base64::Engine as _;
use hmac::{Hmac, Mac};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Known,
    Unknown,
    Revoked,
}

/// The names a host is looked up by: `host` on port 22, else `[host]:port`.
fn lookup_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_ascii_lowercase()
    } else {
        format!("[{}]:{port}", host.to_ascii_lowercase())
    }
}

/// `*` and `?` wildcards, as ssh matches host patterns.
fn wildcard(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

fn hashed_matches(entry: &str, name: &str) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    let Some(rest) = entry.strip_prefix("|1|") else {
        return false;
    };
    let Some((salt, hash)) = rest.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (b64.decode(salt), b64.decode(hash)) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.update(name.as_bytes());
    mac.verify_slice(&hash).is_ok()
}

/// Whether a line's host field names this host.
fn hosts_match(field: &str, name: &str) -> bool {
    if field.starts_with("|1|") {
        return hashed_matches(field, name);
    }
    let mut matched = false;
    for p in field.split(',') {
        if let Some(neg) = p.strip_prefix('!') {
            if wildcard(neg, name) {
                return false;
            }
        } else if wildcard(p, name) {
            matched = true;
        }
    }
    matched
}

/// Look `key` (the SSH wire encoding the server sent) up for `host:port`.
pub fn check(text: &str, host: &str, port: u16, key: &[u8]) -> Verdict {
    let name = lookup_name(host, port);
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut known = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let mut first = fields.next().unwrap_or("");
        let marker = first.strip_prefix('@').map(str::to_string);
        if marker.is_some() {
            first = fields.next().unwrap_or("");
        }
        let (Some(_kind), Some(blob)) = (fields.next(), fields.next()) else {
            continue;
        };
        if !hosts_match(first, &name) {
            continue;
        }
        let Ok(blob) = b64.decode(blob) else {
            continue;
        };
        if blob != key {
            continue;
        }
        match marker.as_deref() {
            Some("revoked") => return Verdict::Revoked,
            Some(_) => {}
            None => known = true,
        }
    }
    if known {
        Verdict::Known
    } else {
        Verdict::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

    fn blob() -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(KEY)
            .unwrap()
    }

    #[test]
    fn a_listed_key_is_known_and_another_is_not() {
        let text = format!("git.sonla.gov.vn ssh-ed25519 {KEY}\n");
        assert_eq!(
            check(&text, "git.sonla.gov.vn", 22, &blob()),
            Verdict::Known
        );
        assert_eq!(check(&text, "evil.example", 22, &blob()), Verdict::Unknown);
        let mut other = blob();
        *other.last_mut().unwrap() ^= 1;
        assert_eq!(
            check(&text, "git.sonla.gov.vn", 22, &other),
            Verdict::Unknown
        );
    }

    #[test]
    fn ports_wildcards_negations_and_revocations() {
        let text = format!(
            "[127.0.0.1]:2222 ssh-ed25519 {KEY}\n*.sonla.gov.vn,!bad.sonla.gov.vn ssh-ed25519 {KEY}\n"
        );
        assert_eq!(check(&text, "127.0.0.1", 2222, &blob()), Verdict::Known);
        assert_eq!(check(&text, "127.0.0.1", 22, &blob()), Verdict::Unknown);
        assert_eq!(
            check(&text, "git.sonla.gov.vn", 22, &blob()),
            Verdict::Known
        );
        assert_eq!(
            check(&text, "bad.sonla.gov.vn", 22, &blob()),
            Verdict::Unknown
        );
        let revoked = format!("{text}@revoked * ssh-ed25519 {KEY}\n");
        assert_eq!(
            check(&revoked, "git.sonla.gov.vn", 22, &blob()),
            Verdict::Revoked
        );
    }

    #[test]
    fn hashed_host_names() {
        // |1|base64(salt)|base64(HMAC-SHA1(salt, "git.sonla.gov.vn"))
        let salt = [7u8; 20];
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&salt).unwrap();
        mac.update(b"git.sonla.gov.vn");
        let b64 = base64::engine::general_purpose::STANDARD;
        let line = format!(
            "|1|{}|{} ssh-ed25519 {KEY}\n",
            b64.encode(salt),
            b64.encode(mac.finalize().into_bytes())
        );
        assert_eq!(
            check(&line, "git.sonla.gov.vn", 22, &blob()),
            Verdict::Known
        );
        assert_eq!(
            check(&line, "git2.sonla.gov.vn", 22, &blob()),
            Verdict::Unknown
        );
    }
}
