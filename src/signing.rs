//! Commit verification: a commit is applied only when it carries a valid
//! SSH signature (`gpg.format = ssh`) by a key listed in an allowed-signers
//! file, the format `ssh-keygen -Y verify` and git use. Verified here in
//! Rust, with no external program.

use crate::tr;
use git2::{Oid, Repository};

/// One line of an allowed-signers file.
#[derive(Debug, Clone)]
struct Signer {
    principals: Vec<String>,
    namespaces: Option<Vec<String>>,
    /// Seconds since the epoch.
    valid_after: Option<i64>,
    valid_before: Option<i64>,
    cert_authority: bool,
    key: ssh_key::PublicKey,
}

#[derive(Debug, Clone, Default)]
pub struct AllowedSigners {
    signers: Vec<Signer>,
}

/// Who signed a commit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verified {
    pub principal: String,
    /// `SHA256:...`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    Unsigned(String),
    NotSsh(String),
    Malformed { commit: String, reason: String },
    UnknownKey { commit: String, fingerprint: String },
    BadSignature { commit: String, principal: String },
    NotAllowed { commit: String, principal: String },
    Read { commit: String, reason: String },
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            VerifyError::Unsigned(commit) => tr!(
                "commit {commit} chưa được ký",
                "commit {commit} is not signed"
            ),
            VerifyError::NotSsh(commit) => tr!(
                "commit {commit} mang chữ ký không phải chữ ký SSH (chỉ chấp nhận chữ ký SSH)",
                "commit {commit} carries a signature that is not an SSH signature (only SSH signatures are accepted)"
            ),
            VerifyError::Malformed { commit, reason } => tr!(
                "commit {commit}: không đọc được chữ ký: {reason}",
                "commit {commit}: the signature cannot be read: {reason}"
            ),
            VerifyError::UnknownKey {
                commit,
                fingerprint,
            } => tr!(
                "commit {commit} được ký bằng {fingerprint}, một khóa không có trong danh sách người ký được phép (allowed signers)",
                "commit {commit} is signed by {fingerprint}, a key that is not in the allowed signers"
            ),
            VerifyError::BadSignature { commit, principal } => tr!(
                "commit {commit}: chữ ký của {principal} không khớp với commit (bị sửa sau khi ký?)",
                "commit {commit}: the signature by {principal} does not match the commit (altered after signing?)"
            ),
            VerifyError::NotAllowed { commit, principal } => tr!(
                "commit {commit}: khóa của {principal} không được phép ký vào thời điểm của commit, hoặc không được phép ký cho git",
                "commit {commit}: the key of {principal} is not allowed to sign at the commit's time, or not for git"
            ),
            VerifyError::Read { commit, reason } => tr!(
                "không đọc được commit {commit}: {reason}",
                "cannot read commit {commit}: {reason}"
            ),
        };
        f.write_str(&text)
    }
}

const KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// Split a line into fields, keeping quoted parts (`namespaces="git,file"`)
/// whole.
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Split `namespaces="git,file",valid-after="20260101"` at the commas
/// that are outside quotes.
fn split_options(field: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for c in field.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                out.last_mut().expect("never empty").push(c);
            }
            ',' if !quoted => out.push(String::new()),
            c => out.last_mut().expect("never empty").push(c),
        }
    }
    out
}

/// `YYYYMMDD[HHMM[SS]][Z]`, local time unless `Z`; read as UTC here.
fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim_matches('"').trim_end_matches(['Z', 'z']);
    let padded = match s.len() {
        8 => format!("{s}000000"),
        12 => format!("{s}00"),
        14 => s.to_string(),
        _ => return None,
    };
    chrono::NaiveDateTime::parse_from_str(&padded, "%Y%m%d%H%M%S")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

impl AllowedSigners {
    /// Read an allowed-signers file. A line that cannot be read is an error
    /// naming the line: a trust list is not something to half read.
    pub fn parse(text: &str) -> Result<AllowedSigners, String> {
        let mut signers = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let f = fields(line);
            let line_no = n + 1;
            let err = |why: &str| tr!("dòng {line_no}: {why}", "line {line_no}: {why}");
            let Some(principals) = f.first() else {
                continue;
            };
            let mut i = 1;
            let mut signer_opts: (Option<Vec<String>>, Option<i64>, Option<i64>, bool) =
                (None, None, None, false);
            if f.get(i).is_some_and(|x| !KEY_TYPES.contains(&x.as_str())) {
                for opt in split_options(&f[i]) {
                    let opt = opt.as_str();
                    let (k, v) = opt.split_once('=').unwrap_or((opt, ""));
                    match k.to_ascii_lowercase().as_str() {
                        "cert-authority" => signer_opts.3 = true,
                        "namespaces" => {
                            signer_opts.0 = Some(
                                v.trim_matches('"')
                                    .split(',')
                                    .map(|s| s.trim().to_string())
                                    .collect(),
                            )
                        }
                        "valid-after" => {
                            signer_opts.1 = Some(parse_time(v).ok_or_else(|| {
                                err(&tr!(
                                    "valid-after {v} không phải là thời điểm",
                                    "valid-after {v} is not a time"
                                ))
                            })?)
                        }
                        "valid-before" => {
                            signer_opts.2 = Some(parse_time(v).ok_or_else(|| {
                                err(&tr!(
                                    "valid-before {v} không phải là thời điểm",
                                    "valid-before {v} is not a time"
                                ))
                            })?)
                        }
                        other => {
                            return Err(err(&tr!(
                                "tùy chọn không nhận ra {other}",
                                "unknown option {other}"
                            )));
                        }
                    }
                }
                if let Some(ns) = &signer_opts.0
                    && ns.iter().any(|s| s.is_empty())
                {
                    return Err(err(&tr!("một namespace rỗng", "an empty namespace")));
                }
                i += 1;
            }
            let (Some(kind), Some(blob)) = (f.get(i), f.get(i + 1)) else {
                return Err(err(&tr!(
                    "cần có: principals [options] key-type key",
                    "expected: principals [options] key-type key"
                )));
            };
            let key = ssh_key::PublicKey::from_openssh(&format!("{kind} {blob}")).map_err(|e| {
                err(&tr!(
                    "không đọc được khóa: {e}",
                    "the key cannot be read: {e}"
                ))
            })?;
            signers.push(Signer {
                principals: principals
                    .trim_matches('"')
                    .split(',')
                    .map(str::to_string)
                    .collect(),
                namespaces: signer_opts.0,
                valid_after: signer_opts.1,
                valid_before: signer_opts.2,
                cert_authority: signer_opts.3,
                key,
            });
        }
        Ok(AllowedSigners { signers })
    }

    pub fn is_empty(&self) -> bool {
        self.signers.is_empty()
    }

    /// Check one commit's signature.
    pub fn verify_commit(&self, repo: &Repository, oid: Oid) -> Result<Verified, VerifyError> {
        let commit = oid.to_string();
        let (sig, data) = match repo.extract_signature(&oid, None) {
            Ok(x) => x,
            Err(e) if e.code() == git2::ErrorCode::NotFound => {
                return Err(VerifyError::Unsigned(commit));
            }
            Err(e) => {
                return Err(VerifyError::Read {
                    commit,
                    reason: e.message().to_string(),
                });
            }
        };
        let sig_text = String::from_utf8_lossy(&sig);
        if !sig_text.contains("BEGIN SSH SIGNATURE") {
            return Err(VerifyError::NotSsh(commit));
        }
        let sshsig = ssh_key::SshSig::from_pem(sig_text.trim().as_bytes()).map_err(|e| {
            VerifyError::Malformed {
                commit: commit.clone(),
                reason: e.to_string(),
            }
        })?;
        let time = repo
            .find_commit(oid)
            .map(|c| c.committer().when().seconds())
            .map_err(|e| VerifyError::Read {
                commit: commit.clone(),
                reason: e.message().to_string(),
            })?;
        let signer_key = ssh_key::PublicKey::from(sshsig.public_key().clone());
        let fingerprint = signer_key.fingerprint(ssh_key::HashAlg::Sha256).to_string();
        let candidates: Vec<&Signer> = self
            .signers
            .iter()
            .filter(|s| !s.cert_authority && s.key.key_data() == sshsig.public_key())
            .collect();
        let Some(first) = candidates.first() else {
            return Err(VerifyError::UnknownKey {
                commit,
                fingerprint,
            });
        };
        let principal = first.principals.join(",");
        if sshsig.namespace() != "git" {
            return Err(VerifyError::NotAllowed { commit, principal });
        }
        signer_key
            .verify("git", &data, &sshsig)
            .map_err(|_| VerifyError::BadSignature {
                commit: commit.clone(),
                principal: principal.clone(),
            })?;
        let allowed = candidates.iter().find(|s| {
            s.namespaces
                .as_ref()
                .is_none_or(|ns| ns.iter().any(|n| n == "git" || n == "*"))
                && s.valid_after.is_none_or(|t| time >= t)
                && s.valid_before.is_none_or(|t| time <= t)
        });
        match allowed {
            Some(s) => Ok(Verified {
                principal: s.principals.join(","),
                fingerprint,
            }),
            None => Err(VerifyError::NotAllowed { commit, principal }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

    #[test]
    fn allowed_signers_lines() {
        let text = format!(
            "# reviewers of the IT centre\n\
             an@sonla.gov.vn {KEY} laptop\n\
             \"binh@sonla.gov.vn,*@stttt.sonla.gov.vn\" namespaces=\"git,file\",valid-after=\"20260101\" {KEY}\n"
        );
        let s = AllowedSigners::parse(&text).unwrap();
        assert_eq!(s.signers.len(), 2);
        assert_eq!(s.signers[0].principals, ["an@sonla.gov.vn"]);
        assert_eq!(
            s.signers[1].namespaces.as_deref(),
            Some(&["git".to_string(), "file".to_string()][..])
        );
        assert_eq!(s.signers[1].valid_after, parse_time("20260101"));
    }

    #[test]
    fn a_line_that_cannot_be_read_names_its_number() {
        use crate::model::Language;
        let text = format!("{KEY}\nan@x ssh-ed25519 !!!\n");
        let e = crate::i18n::with(Language::En, || AllowedSigners::parse(&text)).unwrap_err();
        assert!(e.starts_with("line 1:"), "{e}");
        let e = crate::i18n::with(Language::Vi, || AllowedSigners::parse(&text)).unwrap_err();
        assert!(e.starts_with("dòng 1:"), "{e}");
        let bogus = "an@x bogus=1 ssh-ed25519 AAAA\n";
        let e = crate::i18n::with(Language::En, || AllowedSigners::parse(bogus)).unwrap_err();
        assert!(e.contains("unknown option"), "{e}");
    }
}
