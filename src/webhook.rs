//! Push notifications from the git server. A webhook only wakes the
//! reconciler: its body is never read for desired state. GitHub and Gitea
//! (and Forgejo) sign the body with HMAC-SHA256 (`X-Hub-Signature-256:
//! sha256=<hex>`, `X-Gitea-Signature: <hex>`); GitLab sends the shared
//! token itself (`X-Gitlab-Token`). A delivery id seen before is a replay.

use crate::tr;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::VecDeque;

/// Bigger bodies are refused (413) before they are checked.
pub const MAX_BODY: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    GitHub,
    GitLab,
    Gitea,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub provider: Provider,
    pub id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    Unsigned,
    BadSignature,
    Replayed,
    NoSecret,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&match self {
            Refusal::Unsigned => tr!(
                "yêu cầu không có chữ ký hoặc token",
                "the request carries no signature or token"
            ),
            Refusal::BadSignature => tr!(
                "chữ ký hoặc token không đúng",
                "the signature or token is wrong"
            ),
            Refusal::Replayed => tr!(
                "lần gửi này đã được nhận trước đó",
                "this delivery was already received"
            ),
            Refusal::NoSecret => tr!(
                "chưa cấu hình khóa bí mật cho webhook",
                "no webhook secret is configured"
            ),
        })
    }
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn hmac_ok(secret: &[u8], body: &[u8], hex_sig: &str) -> bool {
    let Some(sig) = hex_decode(hex_sig.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// Compare two secrets in time that does not depend on where they differ:
/// both are tagged under one key and the tags compared in constant time.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let mac = || Hmac::<Sha256>::new_from_slice(b"hopthu webhook token").expect("any key");
    let mut m = mac();
    m.update(a);
    let tag = m.finalize().into_bytes();
    let mut m = mac();
    m.update(b);
    m.verify_slice(&tag).is_ok()
}

/// Check a request. `header` returns a header's value by its name (any case).
pub fn verify(
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
    secret: Option<&[u8]>,
) -> Result<Delivery, Refusal> {
    let Some(secret) = secret.filter(|s| !s.is_empty()) else {
        return Err(Refusal::NoSecret);
    };
    if let Some(sig) = header("x-hub-signature-256") {
        let Some(hex) = sig.trim().strip_prefix("sha256=") else {
            return Err(Refusal::BadSignature);
        };
        return if hmac_ok(secret, body, hex) {
            Ok(Delivery {
                provider: Provider::GitHub,
                id: header("x-github-delivery"),
            })
        } else {
            Err(Refusal::BadSignature)
        };
    }
    if let Some(sig) = header("x-gitea-signature").or_else(|| header("x-forgejo-signature")) {
        return if hmac_ok(secret, body, &sig) {
            Ok(Delivery {
                provider: Provider::Gitea,
                id: header("x-gitea-delivery").or_else(|| header("x-forgejo-delivery")),
            })
        } else {
            Err(Refusal::BadSignature)
        };
    }
    if let Some(token) = header("x-gitlab-token") {
        return if same_secret(token.as_bytes(), secret) {
            Ok(Delivery {
                provider: Provider::GitLab,
                id: header("x-gitlab-event-uuid").or_else(|| header("idempotency-key")),
            })
        } else {
            Err(Refusal::BadSignature)
        };
    }
    Err(Refusal::Unsigned)
}

/// The delivery ids seen lately, to refuse a replayed request.
#[derive(Debug, Default)]
pub struct SeenDeliveries {
    ids: VecDeque<String>,
}

impl SeenDeliveries {
    const KEEP: usize = 4096;

    /// Record `id`; false when it was seen before.
    pub fn first_time(&mut self, id: &str) -> bool {
        if self.ids.iter().any(|x| x == id) {
            return false;
        }
        if self.ids.len() >= Self::KEEP {
            self.ids.pop_front();
        }
        self.ids.push_back(id.to_string());
        true
    }
}

/// `sha256=<hex>` of a body, as GitHub sends it (for tests and tools).
pub fn github_signature(secret: &[u8], body: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("any key");
    m.update(body);
    let tag = m.finalize().into_bytes();
    format!(
        "sha256={}",
        tag.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let v: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        move |name| {
            v.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        }
    }

    const SECRET: &[u8] = b"s3cret-of-the-it-centre";
    const BODY: &[u8] = br#"{"ref":"refs/heads/main"}"#;

    #[test]
    fn github_signatures() {
        let good = github_signature(SECRET, BODY);
        let h = headers(&[("X-Hub-Signature-256", &good), ("X-GitHub-Delivery", "d1")]);
        assert_eq!(
            verify(&h, BODY, Some(SECRET)),
            Ok(Delivery {
                provider: Provider::GitHub,
                id: Some("d1".into())
            })
        );
        let bad = github_signature(b"other", BODY);
        let h = headers(&[("X-Hub-Signature-256", &bad)]);
        assert_eq!(verify(&h, BODY, Some(SECRET)), Err(Refusal::BadSignature));
        // The body changed after signing.
        let h = headers(&[("X-Hub-Signature-256", &good)]);
        assert_eq!(verify(&h, b"{}", Some(SECRET)), Err(Refusal::BadSignature));
    }

    #[test]
    fn gitea_and_gitlab() {
        let sig = github_signature(SECRET, BODY);
        let hex = sig.strip_prefix("sha256=").unwrap();
        let h = headers(&[("X-Gitea-Signature", hex)]);
        assert_eq!(
            verify(&h, BODY, Some(SECRET)).unwrap().provider,
            Provider::Gitea
        );
        let h = headers(&[("X-Gitlab-Token", "s3cret-of-the-it-centre")]);
        assert_eq!(
            verify(&h, BODY, Some(SECRET)).unwrap().provider,
            Provider::GitLab
        );
        let h = headers(&[("X-Gitlab-Token", "s3cret-of-the-it-centrE")]);
        assert_eq!(verify(&h, BODY, Some(SECRET)), Err(Refusal::BadSignature));
    }

    #[test]
    fn unsigned_and_unconfigured_are_refused() {
        let h = headers(&[]);
        assert_eq!(verify(&h, BODY, Some(SECRET)), Err(Refusal::Unsigned));
        let h = headers(&[("X-Gitlab-Token", "")]);
        assert_eq!(verify(&h, BODY, None), Err(Refusal::NoSecret));
    }

    #[test]
    fn a_delivery_is_taken_once() {
        let mut seen = SeenDeliveries::default();
        assert!(seen.first_time("a"));
        assert!(seen.first_time("b"));
        assert!(!seen.first_time("a"));
    }
}
