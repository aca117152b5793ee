//! The language of the messages meant for people: errors, log lines,
//! Kubernetes Events and status messages. Vietnamese unless told
//! otherwise.
//!
//! The command line sets it once for the process: from `--lang`, else
//! from `language` in hopthu.yaml once the repository is read. `hopthu
//! run` follows its configured language, else the repository's. The
//! controller reconciles several repositories in one process: each
//! reconcile runs in a [`scope`] of its own, and what the cycle learns
//! (the repository's language) stays in that scope.
//!
//! Messages pick their text with [`tr!`](crate::tr) or [`t`]:
//!
//! ```
//! use hopthu::{i18n, model::Language, tr};
//! let n = 3;
//! i18n::with(Language::En, || {
//!     assert_eq!(tr!("{n} hộp thư", "{n} mailbox(es)"), "3 mailbox(es)");
//! });
//! assert_eq!(
//!     i18n::with(Language::Vi, || tr!("{n} hộp thư", "{n} mailbox(es)")),
//!     "3 hộp thư"
//! );
//! ```

use crate::model::Language;
use std::cell::Cell;
use std::sync::atomic::{AtomicU8, Ordering};

const VI: u8 = 0;
const EN: u8 = 1;

static PROCESS: AtomicU8 = AtomicU8::new(VI);

thread_local! {
    /// Set by [`with`] for the closure it runs.
    static THREAD: Cell<Option<Language>> = const { Cell::new(None) };
}

tokio::task_local! {
    /// Set by [`scope`] for the future it runs.
    static TASK: Cell<Language>;
}

fn to_u8(l: Language) -> u8 {
    match l {
        Language::Vi => VI,
        Language::En => EN,
    }
}

/// The language messages are written in here and now: that of the
/// innermost [`with`], else of the [`scope`] (a task of its own), else of
/// the process.
pub fn current() -> Language {
    if let Some(l) = THREAD.with(Cell::get) {
        return l;
    }
    if let Ok(l) = TASK.try_with(Cell::get) {
        return l;
    }
    match PROCESS.load(Ordering::Relaxed) {
        EN => Language::En,
        _ => Language::Vi,
    }
}

/// The language of the messages from now on: within a [`scope`], for the
/// rest of it; elsewhere, for the whole process.
pub fn set(lang: Language) {
    if TASK.try_with(|c| c.set(lang)).is_ok() {
        return;
    }
    PROCESS.store(to_u8(lang), Ordering::Relaxed);
}

/// The language of the whole process, whatever scope this is in.
pub fn set_process(lang: Language) {
    PROCESS.store(to_u8(lang), Ordering::Relaxed);
}

/// Run `f` with messages in `lang` on this thread (a blocking task takes
/// the language of the task that started it this way).
pub fn with<R>(lang: Language, f: impl FnOnce() -> R) -> R {
    let _here = on_this_thread(lang);
    f()
}

/// Messages in `lang` on this thread until the guard is dropped: for
/// blocking work (a thread of its own, `spawn_blocking`), never held
/// across an `.await`.
pub fn on_this_thread(lang: Language) -> ThreadLanguage {
    ThreadLanguage(THREAD.with(|c| c.replace(Some(lang))))
}

/// Puts the thread's language back as it was when dropped.
pub struct ThreadLanguage(Option<Language>);

impl Drop for ThreadLanguage {
    fn drop(&mut self) {
        THREAD.with(|c| c.set(self.0));
    }
}

/// Run `fut` with messages in `lang`; [`set`] within it changes only its
/// own language. Tasks it spawns start from the process's language.
pub async fn scope<F: std::future::Future>(lang: Language, fut: F) -> F::Output {
    TASK.scope(Cell::new(lang), fut).await
}

/// `fut` with the language of here and now, for a task spawned from here
/// (a spawned task does not inherit its parent's [`scope`]).
pub fn carry<F: std::future::Future>(fut: F) -> impl std::future::Future<Output = F::Output> {
    scope(current(), fut)
}

/// The Vietnamese or the English text, as the current language says.
pub fn t(vi: impl Into<String>, en: impl Into<String>) -> String {
    match current() {
        Language::Vi => vi.into(),
        Language::En => en.into(),
    }
}

/// `tr!("… {x} …", "… {x} …", args…)`: `format!` of the Vietnamese or the
/// English text, as the current language says; only that one is built.
#[macro_export]
macro_rules! tr {
    ($vi:literal, $en:literal $(,)?) => {
        match $crate::i18n::current() {
            $crate::model::Language::Vi => ::std::format!($vi),
            $crate::model::Language::En => ::std::format!($en),
        }
    };
    ($vi:literal, $en:literal, $($args:tt)+) => {
        match $crate::i18n::current() {
            $crate::model::Language::Vi => ::std::format!($vi, $($args)+),
            $crate::model::Language::En => ::std::format!($en, $($args)+),
        }
    };
}

/// The operating system's and the network's own words inside a message
/// (`No such file or directory (os error 2)`), in Vietnamese when that is
/// the language: the errors of files and connections come worded in
/// English from the system. The error code stays, for whoever searches it.
pub fn system_words(text: &str) -> String {
    if current() != Language::Vi {
        return text.to_string();
    }
    const WORDS: &[(&str, &str)] = &[
        ("No such file or directory", "không có tệp hoặc thư mục này"),
        ("Permission denied", "không có quyền truy cập"),
        ("Is a directory", "là một thư mục"),
        ("Not a directory", "không phải thư mục"),
        ("File exists", "tệp đã có"),
        ("No space left on device", "hết chỗ trên đĩa"),
        ("Read-only file system", "hệ thống tệp chỉ đọc"),
        ("Directory not empty", "thư mục không trống"),
        ("Too many open files", "mở quá nhiều tệp"),
        ("Connection refused", "kết nối bị từ chối"),
        ("Connection reset by peer", "kết nối bị phía bên kia cắt"),
        ("Connection timed out", "hết thời gian chờ kết nối"),
        ("Network is unreachable", "không tới được mạng"),
        ("No route to host", "không có đường tới máy chủ"),
        ("Broken pipe", "đường ống bị đóng"),
        ("Operation timed out", "hết thời gian chờ"),
        (
            "stream did not contain valid UTF-8",
            "nội dung không phải UTF-8",
        ),
        ("failed to fill whole buffer", "tệp kết thúc sớm"),
        ("entity not found", "không tìm thấy"),
    ];
    let mut out = text.to_string();
    for (en, vi) in WORDS {
        if out.contains(en) {
            out = out.replace(en, vi);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_systems_words_are_said_in_vietnamese() {
        let e = std::io::Error::from_raw_os_error(2);
        let text = format!("/tmp/x.csv: {e}");
        assert_eq!(
            with(Language::Vi, || system_words(&text)),
            "/tmp/x.csv: không có tệp hoặc thư mục này (os error 2)"
        );
        assert_eq!(with(Language::En, || system_words(&text)), text);
    }

    #[test]
    fn vietnamese_unless_told_otherwise() {
        let n = 2;
        let vi = with(Language::Vi, || tr!("{n} hộp thư bị khóa", "{n} locked"));
        assert_eq!(vi, "2 hộp thư bị khóa");
        let en = with(Language::En, || tr!("{n} hộp thư bị khóa", "{n} locked"));
        assert_eq!(en, "2 locked");
        assert_eq!(with(Language::En, || t("có", "yes")), "yes");
        // Nested: the innermost wins, and the outer comes back after it.
        with(Language::En, || {
            assert_eq!(with(Language::Vi, current), Language::Vi);
            assert_eq!(current(), Language::En);
        });
    }

    #[test]
    fn errors_speak_the_language_of_where_they_are_shown() {
        let e = crate::apply::ApplyError::NoCredentialsFile(3);
        assert_eq!(
            with(Language::Vi, || e.to_string()),
            "kế hoạch này tạo mới hoặc khôi phục 3 hộp thư: hãy chỉ định tệp nhận mật khẩu mới của chúng bằng --credentials-out FILE; chưa ghi gì"
        );
        assert_eq!(
            with(Language::En, || e.to_string()),
            "this plan creates or restores 3 mailbox(es): name a file for their new passwords with --credentials-out FILE; nothing was written"
        );
        let e = crate::live::DirError::NoBase {
            base: "dc=sonla,dc=gov,dc=vn".into(),
        };
        assert_eq!(
            with(Language::Vi, || e.to_string()),
            "base DN dc=sonla,dc=gov,dc=vn không tồn tại hoặc không đọc được"
        );
        assert_eq!(
            with(Language::En, || e.to_string()),
            "the base DN dc=sonla,dc=gov,dc=vn does not exist or cannot be read"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_scope_keeps_its_language_to_itself() {
        let one = tokio::spawn(scope(Language::En, async {
            assert_eq!(current(), Language::En);
            tokio::task::yield_now().await;
            set(Language::Vi);
            tokio::task::yield_now().await;
            current()
        }));
        let two = tokio::spawn(scope(Language::En, async {
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            current()
        }));
        assert_eq!(one.await.unwrap(), Language::Vi);
        assert_eq!(two.await.unwrap(), Language::En);
        // A blocking task carries it with `with`.
        let lang = scope(Language::En, async {
            let l = current();
            tokio::task::spawn_blocking(move || with(l, current))
                .await
                .unwrap()
        })
        .await;
        assert_eq!(lang, Language::En);
    }
}
