//! The LDAP backend (`ldap://`, `ldaps://`, StartTLS), through ldap3.
//!
//! - One connection, bound once (simple bind, or anonymous without a bind
//!   DN). Connection and every operation have a time limit ([`TIMEOUT`]).
//! - A read is a subtree search paged [`PAGE_SIZE`] entries at a time with
//!   the paged-results control. Each page's result code is checked (ldap3's
//!   paging adapter only surfaces the last page's): a size or time limit, a
//!   referral, a dropped connection or any other code fails the whole read,
//!   never a short list. The search runs in its own task, so that a panic in
//!   ldap3's parsers on a malformed answer fails the read, not the process.
//! - Entries are parsed here, not with `SearchEntry::construct` (which
//!   panics on a malformed entry and reorders binary values): a value that
//!   is not UTF-8 fails the read and names the attribute.
//! - Writes go out many at a time on the one connection (cloned handles,
//!   at most `concurrency` in flight); one result per write, in order.
//! - Error texts are built here from result codes, server texts and
//!   ldap3's error kinds, never from requests: no password can leak through
//!   them, and any `userPassword` value (or bind password) that a server
//!   echoed back is blanked out.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ldap3::controls::{Control, ControlType, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, LdapResult, ResultEntry, Scope};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{ConnectOptions, DirError, LiveEntry, Mod, Selection, Write, WriteError};
use crate::tr;

/// Time limit of the connection, the bind, and each operation (for a
/// search: the wait for each answer).
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// Entries per page of a read.
pub const PAGE_SIZE: i32 = 500;
/// Writes in flight when `ConnectOptions::concurrency` is 0.
pub const DEFAULT_CONCURRENCY: usize = 64;

/// Client-side result codes (RFC 4511 leaves 80+ to clients; these are
/// OpenLDAP's numbers) for write failures that are not a server's answer.
const CODE_OTHER: u32 = 80;
const CODE_SERVER_DOWN: u32 = 81;
/// Why a write was refused before it was sent.
pub fn not_the_writer() -> String {
    tr!(
        "chưa gửi: tiến trình hopthu này không còn giữ khóa ghi (một tiến trình khác đang ghi)",
        "not sent: this hopthu no longer holds the writer lock (another instance writes now)"
    )
}
const CODE_TIMEOUT: u32 = 85;

/// A bound connection to an LDAP server.
pub struct LdapDirectory {
    ldap: Ldap,
    url: String,
    concurrency: usize,
    /// Why the connection ended, once it has.
    lost: Arc<Mutex<Option<String>>>,
    /// Lowered when this process may no longer write (a lost writer lock).
    fence: Option<crate::writer_lock::Fence>,
}

impl LdapDirectory {
    /// Connect (TLS as the URL and `starttls` say, trusting `ca_file` if
    /// given, the system's CAs otherwise) and bind.
    pub async fn connect(opts: &ConnectOptions) -> Result<LdapDirectory, DirError> {
        let url = opts.url.clone();
        let fail = |reason: String| DirError::Connect {
            url: url.clone(),
            reason,
        };
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(TIMEOUT)
            .set_starttls(opts.starttls);
        if let Some(ca) = &opts.ca_file {
            settings = settings.set_config(tls_config(ca).map_err(fail)?);
        }
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &opts.url)
            .await
            .map_err(|e| fail(describe(&e)))?;

        let lost = Arc::new(Mutex::new(None));
        let lost_by_driver = lost.clone();
        tokio::spawn(crate::i18n::carry(async move {
            // The driver in a task of its own: a panic there (ldap3 on a
            // malformed answer) ends the connection and is reported as such.
            let why = match tokio::spawn(conn.drive()).await {
                Ok(Ok(())) => tr!("kết nối đã đóng", "the connection was closed"),
                Ok(Err(e)) => {
                    let e = describe(&e);
                    tr!("kết nối bị lỗi: {e}", "the connection failed: {e}")
                }
                Err(_) => malformed_answer(),
            };
            *lost_by_driver.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
        }));

        if let Some(dn) = &opts.bind_dn {
            let password = opts.bind_password.as_deref().unwrap_or("");
            let refused = |reason: String| DirError::Bind {
                dn: dn.clone(),
                reason,
            };
            if password.is_empty() {
                return Err(refused(tr!(
                    "chưa có mật khẩu (mật khẩu rỗng sẽ thành bind ẩn danh)",
                    "no password given (an empty password would make an anonymous bind)"
                )));
            }
            let res = ldap
                .with_timeout(TIMEOUT)
                .simple_bind(dn, password)
                .await
                .map_err(|e| fail(describe(&e)))?;
            if res.rc != 0 {
                let e = WriteError::new(res.rc, &res.text).to_string();
                return Err(refused(redact(&e, &[password])));
            }
        }
        Ok(LdapDirectory {
            ldap,
            url: opts.url.clone(),
            concurrency: if opts.concurrency == 0 {
                DEFAULT_CONCURRENCY
            } else {
                opts.concurrency
            },
            lost,
            fence: None,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every selected entry under the base, complete, or an error.
    pub async fn read(&mut self, sel: &Selection) -> Result<Vec<LiveEntry>, DirError> {
        let ldap = self.ldap.clone();
        let owned = sel.clone();
        let task = tokio::spawn(crate::i18n::carry(
            async move { paged_read(ldap, &owned).await },
        ));
        let result = match task.await {
            Ok(r) => r,
            Err(e) => Err(DirError::Incomplete {
                base: sel.base.clone(),
                reason: if e.is_panic() {
                    malformed_answer()
                } else {
                    tr!("lần đọc đã bị hủy", "the read was cancelled")
                },
            }),
        };
        result.map_err(|e| self.explain(e))
    }

    /// Whether an entry exists (a base-scope search; 32 is "no").
    pub async fn exists(&mut self, dn: &str) -> Result<bool, DirError> {
        let fail = |reason: String| DirError::Incomplete {
            base: dn.to_string(),
            reason,
        };
        let mut ldap = self.ldap.clone();
        let res = ldap
            .with_timeout(TIMEOUT)
            .search(dn, Scope::Base, "(objectClass=*)", vec!["1.1"])
            .await
            .map_err(|e| self.explain(fail(describe(&e))))?;
        match res.1.rc {
            0 => Ok(!res.0.is_empty()),
            32 => Ok(false),
            rc => Err(fail(WriteError::new(rc, &res.1.text).message)),
        }
    }

    /// The `namingContexts` of the root DSE.
    pub async fn naming_contexts(&mut self) -> Result<Vec<String>, DirError> {
        let fail = |reason: String| DirError::Incomplete {
            base: String::new(),
            reason,
        };
        let mut ldap = self.ldap.clone();
        let ldap3::SearchResult(entries, res) = ldap
            .with_timeout(TIMEOUT)
            .search("", Scope::Base, "(objectClass=*)", vec!["namingContexts"])
            .await
            .map_err(|e| self.explain(fail(describe(&e))))?;
        if res.rc != 0 {
            return Err(fail(WriteError::new(res.rc, &res.text).message));
        }
        let mut out = Vec::new();
        for e in entries {
            let e = entry_from(e).map_err(fail)?;
            out.extend(e.get("namingContexts").iter().cloned());
        }
        Ok(out)
    }

    /// Carry out the writes, up to `concurrency` at once; one result per
    /// write, in input order. A refused write does not stop the others.
    pub async fn write(&mut self, writes: Vec<Write>) -> Vec<Result<(), WriteError>> {
        let n = writes.len();
        let limit = Arc::new(Semaphore::new(self.concurrency));
        let mut tasks = JoinSet::new();
        let mut index_of = std::collections::HashMap::new();
        for (i, w) in writes.into_iter().enumerate() {
            let permit = limit.clone().acquire_owned().await.expect("never closed");
            let ldap = self.ldap.clone();
            let fence = self.fence.clone();
            let handle = tasks.spawn(crate::i18n::carry(async move {
                let r = match fence {
                    Some(f) if !f.is_up() => Err(WriteError::new(CODE_OTHER, &not_the_writer())),
                    _ => write_one(ldap, w).await,
                };
                drop(permit);
                (i, r)
            }));
            index_of.insert(handle.id(), i);
        }
        let mut results: Vec<Option<Result<(), WriteError>>> = vec![None; n];
        while let Some(done) = tasks.join_next_with_id().await {
            match done {
                Ok((_, (i, r))) => results[i] = Some(r),
                Err(e) => {
                    if let Some(&i) = index_of.get(&e.id()) {
                        results[i] = Some(Err(WriteError::new(CODE_OTHER, &malformed_answer())));
                    }
                }
            }
        }
        let lost = self.lost_reason();
        results
            .into_iter()
            .map(|r| {
                let r = r.unwrap_or_else(|| {
                    Err(WriteError::new(
                        CODE_OTHER,
                        &tr!(
                            "lệnh ghi chưa được thực hiện",
                            "the write was not carried out"
                        ),
                    ))
                });
                r.map_err(|mut e| {
                    if e.code == CODE_SERVER_DOWN
                        && let Some(why) = &lost
                    {
                        e.message = format!("{} ({why})", e.message);
                    }
                    e
                })
            })
            .collect()
    }

    /// Refuse every write not yet sent once `fence` is lowered.
    pub fn set_fence(&mut self, fence: crate::writer_lock::Fence) {
        self.fence = Some(fence);
    }

    /// Unbind and close the connection.
    pub async fn close(mut self) -> Result<(), DirError> {
        self.ldap.unbind().await.map_err(|e| {
            let (url, e) = (&self.url, describe(&e));
            DirError::Other(tr!("unbind khỏi {url}: {e}", "unbind from {url}: {e}"))
        })
    }

    fn lost_reason(&self) -> Option<String> {
        self.lost.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Add why the connection ended to an error that came from it.
    fn explain(&self, e: DirError) -> DirError {
        match (e, self.lost_reason()) {
            (DirError::Incomplete { base, reason }, Some(why)) => DirError::Incomplete {
                base,
                reason: format!("{reason} ({why})"),
            },
            (e, _) => e,
        }
    }
}

async fn paged_read(ldap: Ldap, sel: &Selection) -> Result<Vec<LiveEntry>, DirError> {
    let incomplete = |reason: String| DirError::Incomplete {
        base: sel.base.clone(),
        reason,
    };
    let filter = sel.ldap_filter();
    let attrs: Vec<&str> = sel.attrs.iter().map(String::as_str).collect();
    let mut entries = Vec::new();
    let mut cookie: Vec<u8> = Vec::new();
    for page in 1.. {
        let mut handle = ldap.clone();
        handle
            .with_controls(PagedResults {
                size: PAGE_SIZE,
                cookie: std::mem::take(&mut cookie),
            })
            .with_timeout(TIMEOUT);
        let mut stream = handle
            .streaming_search(&sel.base, Scope::Subtree, &filter, attrs.clone())
            .await
            .map_err(|e| incomplete(describe(&e)))?;
        loop {
            let item = match stream.next().await {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(e) => {
                    let _ = stream.finish().await;
                    let (n, e) = (entries.len(), describe(&e));
                    return Err(incomplete(tr!(
                        "câu trả lời dừng lại sau {n} mục: {e}",
                        "the answer stopped after {n} entries: {e}"
                    )));
                }
            };
            if item.is_ref() {
                let _ = stream.finish().await;
                let urls = referral_urls(item);
                return Err(incomplete(tr!(
                    "máy chủ chuyển một phần cây thư mục sang máy chủ khác ({urls})",
                    "the server refers part of the tree to another server ({urls})"
                )));
            }
            if item.is_intermediate() {
                continue;
            }
            entries.push(entry_from(item).map_err(incomplete)?);
        }
        let res = stream.finish().await;
        check_search_result(&res, sel, entries.len())?;
        let paged = res.ctrls.iter().find_map(|c| match c {
            Control(Some(ControlType::PagedResults), raw) => Some(raw.parse::<PagedResults>()),
            _ => None,
        });
        match paged {
            Some(p) if !p.cookie.is_empty() => cookie = p.cookie,
            Some(_) => return Ok(entries),
            // A server that ignores paging answered the whole search at
            // once, and said so with result code 0.
            None if page == 1 => return Ok(entries),
            None => {
                return Err(incomplete(tr!(
                    "máy chủ ngừng phân trang sau trang {page}",
                    "the server stopped paging after page {page}"
                )));
            }
        }
    }
    unreachable!("the page loop returns")
}

fn check_search_result(res: &LdapResult, sel: &Selection, got: usize) -> Result<(), DirError> {
    let incomplete = |reason: String| {
        Err(DirError::Incomplete {
            base: sel.base.clone(),
            reason,
        })
    };
    let server = WriteError::new(res.rc, &res.text).to_string();
    match res.rc {
        0 => Ok(()),
        32 => Err(DirError::NoBase {
            base: sel.base.clone(),
        }),
        4 | 3 | 11 => incomplete(tr!(
            "máy chủ dừng lại sau {got} mục ({server}): \
             hãy bỏ giới hạn số mục (size limit) và thời gian (time limit) của tài khoản hopthu dùng để bind",
            "the server stopped after {got} entries ({server}): \
             lift the size and time limits of the account hopthu binds as"
        )),
        10 => {
            let refs = res.refs.join(" ");
            incomplete(tr!(
                "máy chủ chuyển lệnh tìm kiếm sang {refs} ({server})",
                "the server refers the search to {refs} ({server})"
            ))
        }
        88 => incomplete(tr!(
            "lệnh tìm kiếm bị dừng sau {got} mục",
            "the search was ended after {got} entries"
        )),
        _ => incomplete(tr!(
            "lệnh tìm kiếm thất bại sau {got} mục ({server})",
            "the search failed after {got} entries ({server})"
        )),
    }
}

fn referral_urls(item: ResultEntry) -> String {
    item.0
        .expect_constructed()
        .map(|parts| {
            parts
                .into_iter()
                .filter_map(|t| t.expect_primitive())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// A SearchResultEntry, parsed without panics; values must be UTF-8.
fn entry_from(item: ResultEntry) -> Result<LiveEntry, String> {
    let malformed = || {
        tr!(
            "một mục sai định dạng trong câu trả lời của máy chủ",
            "a malformed entry in the server's answer"
        )
    };
    let mut parts = item
        .0
        .expect_constructed()
        .ok_or_else(malformed)?
        .into_iter();
    let dn = parts
        .next()
        .and_then(|t| t.expect_primitive())
        .ok_or_else(malformed)?;
    let dn = String::from_utf8(dn).map_err(|_| {
        tr!(
            "một mục có DN không phải UTF-8",
            "an entry whose DN is not UTF-8"
        )
    })?;
    let list = parts
        .next()
        .and_then(|t| t.expect_constructed())
        .ok_or_else(malformed)?;
    let mut attrs = crate::live::EntryAttrs::new();
    for partial in list {
        let mut it = partial
            .expect_constructed()
            .ok_or_else(malformed)?
            .into_iter();
        let name = it
            .next()
            .and_then(|t| t.expect_primitive())
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(malformed)?;
        let raw = it
            .next()
            .and_then(|t| t.expect_constructed())
            .ok_or_else(malformed)?;
        let mut vals = Vec::with_capacity(raw.len());
        for v in raw {
            let bytes = v.expect_primitive().ok_or_else(malformed)?;
            let text = String::from_utf8(bytes).map_err(|_| {
                tr!(
                    "{dn}: thuộc tính {name} có giá trị nhị phân (không phải UTF-8); \
                     hopthu chỉ đọc văn bản: hãy bỏ {name} khỏi các thuộc tính được đọc",
                    "{dn}: attribute {name} has a binary (non-UTF-8) value; \
                     hopthu reads text only: leave {name} out of the attributes read"
                )
            })?;
            vals.push(text);
        }
        if vals.is_empty() {
            continue;
        }
        attrs.push(&name, vals);
    }
    Ok(LiveEntry { dn, attrs })
}

async fn write_one(mut ldap: Ldap, w: Write) -> Result<(), WriteError> {
    let secrets = secrets_of(&w);
    ldap.with_timeout(TIMEOUT);
    let sent = match w {
        Write::Add { dn, attrs } => {
            let list: Vec<(String, HashSet<String>)> = attrs
                .into_iter()
                .filter(|(_, vals)| !vals.is_empty())
                .map(|(name, vals)| (name, vals.into_iter().collect()))
                .collect();
            ldap.add(&dn, list).await
        }
        Write::Modify { dn, mods } => {
            let list: Vec<ldap3::Mod<String>> = mods
                .into_iter()
                .filter_map(|m| match m {
                    Mod::Replace(n, v) => Some(ldap3::Mod::Replace(n, v.into_iter().collect())),
                    // Adding no values changes nothing (ldap3 refuses it).
                    Mod::Add(_, v) if v.is_empty() => None,
                    Mod::Add(n, v) => Some(ldap3::Mod::Add(n, v.into_iter().collect())),
                    Mod::Delete(n, v) => Some(ldap3::Mod::Delete(n, v.into_iter().collect())),
                })
                .collect();
            ldap.modify(&dn, list).await
        }
        Write::Rename {
            dn,
            new_rdn,
            new_superior,
        } => {
            ldap.modifydn(&dn, &new_rdn, true, new_superior.as_deref())
                .await
        }
        Write::Delete { dn } => ldap.delete(&dn).await,
    };
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    match sent {
        Ok(res) if res.rc == 0 => Ok(()),
        Ok(res) => {
            let mut e = WriteError::new(res.rc, &res.text);
            e.message = redact(&e.message, &secrets);
            Err(e)
        }
        Err(err) => {
            let code = client_code(&err);
            let mut message = redact(&describe(&err), &secrets);
            if code == CODE_SERVER_DOWN || code == CODE_TIMEOUT {
                // The request may have reached the server: only a new read tells.
                message.push_str(&tr!(
                    "; máy chủ có thể đã hoặc chưa thực hiện lệnh này",
                    "; the server may or may not have carried it out"
                ));
            }
            Err(WriteError { code, message })
        }
    }
}

/// Values that must never be shown: those of any password attribute.
fn secrets_of(w: &Write) -> Vec<String> {
    let secret = |name: &str| name.to_ascii_lowercase().contains("password");
    match w {
        Write::Add { attrs, .. } => attrs
            .iter()
            .filter(|(n, _)| secret(n))
            .flat_map(|(_, v)| v.iter().cloned())
            .collect(),
        Write::Modify { mods, .. } => mods
            .iter()
            .flat_map(|m| match m {
                Mod::Replace(n, v) | Mod::Add(n, v) | Mod::Delete(n, v) if secret(n) => v.clone(),
                _ => Vec::new(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Blank out every occurrence of a secret.
fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(s, "<secret>");
    }
    out
}

fn client_code(e: &LdapError) -> u32 {
    match e {
        LdapError::LdapResult { result } => result.rc,
        LdapError::Timeout { .. } => CODE_TIMEOUT,
        LdapError::Io { .. }
        | LdapError::OpSend { .. }
        | LdapError::ResultRecv { .. }
        | LdapError::IdScrubSend { .. }
        | LdapError::MiscSend { .. }
        | LdapError::EndOfStream => CODE_SERVER_DOWN,
        _ => CODE_OTHER,
    }
}

/// An ldap3 error in words, built from its kind only: some kinds carry the
/// request (with its values) inside, and must never be printed as they are.
fn describe(e: &LdapError) -> String {
    match e {
        LdapError::Io { source } => tr!("lỗi I/O: {source}", "I/O error: {source}"),
        LdapError::Timeout { .. } => {
            let s = TIMEOUT.as_secs();
            tr!("không có trả lời trong {s} giây", "no answer within {s} s")
        }
        LdapError::OpSend { .. }
        | LdapError::ResultRecv { .. }
        | LdapError::IdScrubSend { .. }
        | LdapError::MiscSend { .. }
        | LdapError::EndOfStream => tr!(
            "kết nối tới máy chủ đã đóng",
            "the connection to the server is closed"
        ),
        LdapError::LdapResult { result } => WriteError::new(result.rc, &result.text).message,
        LdapError::Rustls { source } => format!("TLS: {source}"),
        LdapError::DNSName { source } => {
            tr!("tên máy chủ TLS: {source}", "TLS server name: {source}")
        }
        LdapError::UrlParsing { source } => tr!("URL sai: {source}", "bad URL: {source}"),
        LdapError::UnknownScheme(s) => {
            tr!(
                "không nhận ra giao thức URL {s:?}",
                "unknown URL scheme {s:?}"
            )
        }
        LdapError::FilterParsing => tr!("bộ lọc tìm kiếm sai", "bad search filter"),
        LdapError::AddNoValues => tr!(
            "một thuộc tính không có giá trị",
            "an attribute without values"
        ),
        // The remaining kinds carry no request data.
        other => other.to_string(),
    }
}

fn malformed_answer() -> String {
    tr!(
        "thư viện LDAP gặp lỗi vì câu trả lời sai định dạng từ máy chủ",
        "the LDAP client failed on a malformed answer from the server"
    )
}

/// A rustls configuration trusting the CA certificates of a PEM file.
fn tls_config(ca: &Path) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let shown = ca.display();
    let mut roots = rustls::RootCertStore::empty();
    let bad = |e: &dyn std::fmt::Display| tr!("tệp CA {shown}: {e}", "CA file {shown}: {e}");
    let certs = CertificateDer::pem_file_iter(ca).map_err(|e| bad(&e))?;
    for cert in certs {
        let cert = cert.map_err(|e| bad(&e))?;
        roots.add(cert).map_err(|e| bad(&e))?;
    }
    if roots.is_empty() {
        return Err(tr!(
            "tệp CA {shown}: không có chứng chỉ nào",
            "CA file {shown}: no certificate in it"
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_blanked_in_messages() {
        let w = Write::Add {
            dn: "uid=a,dc=x".into(),
            attrs: [
                ("userPassword".to_string(), vec!["s3cret-Pw".to_string()]),
                ("cn".to_string(), vec!["a".to_string()]),
            ]
            .into_iter()
            .collect(),
        };
        let secrets = secrets_of(&w);
        assert_eq!(secrets, vec!["s3cret-Pw"]);
        let s: Vec<&str> = secrets.iter().map(String::as_str).collect();
        assert_eq!(
            redact("userPassword: value s3cret-Pw invalid", &s),
            "userPassword: value <secret> invalid"
        );
    }

    #[test]
    fn closed_connection_errors_never_print_the_request() {
        let lang = crate::model::Language::En;
        assert_eq!(
            crate::i18n::with(lang, || describe(&LdapError::EndOfStream)),
            "the connection to the server is closed"
        );
        assert_eq!(client_code(&LdapError::EndOfStream), CODE_SERVER_DOWN);
    }
}
