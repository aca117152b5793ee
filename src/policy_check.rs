//! `hopthu check-directory`: does the server's password policy (the
//! OpenLDAP ppolicy entry that applies to mailboxes) say what `hopthu.yaml`
//! says? Expiry (`pwdMaxAge` against `maxAgeDays`), the minimum length, the
//! change at first login and the lockout are required; a few settings that
//! quietly defeat them are warnings. Reads only.

use crate::layout::LayoutName;
use crate::live::{DirError, Directory, LiveEntry, Selection, normalize_dn};
use crate::model::{Language, PasswordPolicy};
use serde::Serialize;
use std::fmt::Write as _;

/// hopthu's initial passwords are never shorter than this (password.rs).
const GENERATED_MIN: u32 = 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The server does not enforce what hopthu.yaml says.
    Mismatch,
    /// Worth a look; not counted as a mismatch.
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub attribute: &'static str,
    /// What hopthu.yaml asks for, as the attribute would hold it.
    pub expected: String,
    /// What the policy entry holds; none when the attribute is absent.
    pub found: Option<String>,
    pub ok: bool,
    pub severity: Severity,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub policy_dn: String,
    pub layout: LayoutName,
    pub checks: Vec<Check>,
}

impl Outcome {
    pub fn mismatches(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| !c.ok && c.severity == Severity::Mismatch)
            .count()
    }
    pub fn warnings(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| !c.ok && c.severity == Severity::Warning)
            .count()
    }
}

/// Why no policy could be compared.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    Dir(#[from] DirError),
    NotFound { dn: String },
    NotAPolicy { dn: String },
    NoneUnder { base: String, iredmail: bool },
    Several { base: String, dns: Vec<String> },
}

impl std::fmt::Display for FindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text(crate::i18n::current()))
    }
}

impl FindError {
    /// The error in the operator's language.
    pub fn text(&self, lang: Language) -> String {
        let iredmail_note = |vi: bool| {
            if vi {
                " Bố cục iredmail không dùng ppolicy của OpenLDAP: iRedMail đặt quy tắc mật khẩu trong cấu hình của iRedAdmin/iRedAPD và buộc đổi mật khẩu qua shadowLastChange, nên máy chủ không có mục chính sách nào để so; hãy đối chiếu các cấu hình đó bằng tay."
            } else {
                " The iredmail layout uses no OpenLDAP ppolicy: iRedMail keeps its password rules in iRedAdmin/iRedAPD settings and forces a change through shadowLastChange, so the server holds no policy entry to compare; check those settings by hand."
            }
        };
        match (self, lang) {
            (FindError::Dir(e), _) => crate::i18n::with(lang, || e.to_string()),
            (FindError::NotFound { dn }, Language::Vi) => {
                format!("không có mục chính sách {dn} (hoặc không đọc được)")
            }
            (FindError::NotFound { dn }, Language::En) => {
                format!("the policy entry {dn} does not exist (or cannot be read)")
            }
            (FindError::NotAPolicy { dn }, Language::Vi) => {
                format!(
                    "{dn} không phải là một chính sách mật khẩu (không có objectClass pwdPolicy)"
                )
            }
            (FindError::NotAPolicy { dn }, Language::En) => {
                format!("{dn} is not a password policy (no objectClass pwdPolicy)")
            }
            (FindError::NoneUnder { base, iredmail }, Language::Vi) => format!(
                "không có chính sách mật khẩu nào (objectClass pwdPolicy) dưới {base}: máy chủ không áp dụng quy định về mật khẩu.{}",
                if *iredmail { iredmail_note(true) } else { "" }
            ),
            (FindError::NoneUnder { base, iredmail }, Language::En) => format!(
                "no password policy (objectClass pwdPolicy) under {base}{}",
                if *iredmail {
                    format!(".{}", iredmail_note(false))
                } else {
                    String::new()
                }
            ),
            (FindError::Several { base, dns }, Language::Vi) => format!(
                "có nhiều chính sách mật khẩu dưới {base} nhưng không có cái nào tên cn=default: {}; hãy chỉ ra chính sách áp dụng cho hộp thư bằng --policy-dn",
                dns.join("; ")
            ),
            (FindError::Several { base, dns }, Language::En) => format!(
                "several password policies under {base}, none named cn=default: {}; say which one applies to mailboxes with --policy-dn",
                dns.join("; ")
            ),
        }
    }
}

/// The policy entry: `policy_dn` when given; else `cn=default,ou=policies,
/// <base>` when it is a policy; else the only (or the `cn=default`) pwdPolicy
/// entry under the base.
pub async fn find_policy(
    dir: &mut Directory,
    base: &str,
    policy_dn: Option<&str>,
    layout: LayoutName,
) -> Result<LiveEntry, FindError> {
    if let Some(dn) = policy_dn {
        let e = read_one(dir, dn)
            .await?
            .ok_or_else(|| FindError::NotFound { dn: dn.to_string() })?;
        return if is_policy(&e) {
            Ok(e)
        } else {
            Err(FindError::NotAPolicy { dn: dn.to_string() })
        };
    }
    let default = format!("cn=default,ou=policies,{base}");
    if let Some(e) = read_one(dir, &default).await?
        && is_policy(&e)
    {
        return Ok(e);
    }
    if !dir.exists(base).await? {
        return Err(DirError::NoBase {
            base: base.to_string(),
        }
        .into());
    }
    let mut all = dir
        .read(&Selection {
            base: base.to_string(),
            any_object_class: vec!["pwdPolicy".into()],
            attrs: vec!["*".into()],
        })
        .await?;
    match all.len() {
        0 => Err(FindError::NoneUnder {
            base: base.to_string(),
            iredmail: layout == LayoutName::Iredmail,
        }),
        1 => Ok(all.remove(0)),
        _ => {
            let named_default: Vec<usize> = all
                .iter()
                .enumerate()
                .filter(|(_, e)| {
                    e.get("cn")
                        .iter()
                        .any(|c| c.eq_ignore_ascii_case("default"))
                })
                .map(|(i, _)| i)
                .collect();
            if let [i] = named_default.as_slice() {
                return Ok(all.swap_remove(*i));
            }
            Err(FindError::Several {
                base: base.to_string(),
                dns: all.into_iter().map(|e| e.dn).collect(),
            })
        }
    }
}

/// The entry at `dn`, or none when there is none.
async fn read_one(dir: &mut Directory, dn: &str) -> Result<Option<LiveEntry>, DirError> {
    if !dir.exists(dn).await? {
        return Ok(None);
    }
    let wanted = normalize_dn(dn);
    let entries = dir
        .read(&Selection {
            base: dn.to_string(),
            any_object_class: vec![],
            attrs: vec!["*".into()],
        })
        .await?;
    Ok(entries.into_iter().find(|e| normalize_dn(&e.dn) == wanted))
}

fn is_policy(e: &LiveEntry) -> bool {
    e.get("objectClass")
        .iter()
        .any(|c| c.eq_ignore_ascii_case("pwdPolicy"))
}

fn number(e: &LiveEntry, attr: &str) -> Option<u64> {
    e.first(attr).and_then(|v| v.trim().parse().ok())
}

fn boolean(e: &LiveEntry, attr: &str) -> Option<bool> {
    e.first(attr).map(|v| v.trim().eq_ignore_ascii_case("TRUE"))
}

fn days(seconds: u64) -> String {
    if seconds.is_multiple_of(86_400) {
        format!("{}", seconds / 86_400)
    } else {
        format!("{:.1}", seconds as f64 / 86_400.0)
    }
}

/// Compare the policy entry with hopthu.yaml's password policy. Every
/// required check is listed, the ones that hold too.
pub fn compare(
    entry: &LiveEntry,
    want: &PasswordPolicy,
    layout: LayoutName,
    lang: Language,
) -> Outcome {
    let vi = lang == Language::Vi;
    let mut checks = Vec::new();
    let raw = |a: &str| entry.first(a).map(|v| v.trim().to_string());

    // Expiry.
    let expected_age = u64::from(want.max_age_days) * 86_400;
    let age = number(entry, "pwdMaxAge").unwrap_or(0);
    let ok = age == expected_age;
    let message = if ok {
        if vi {
            format!(
                "mật khẩu hết hạn sau {} ngày, đúng quy định",
                want.max_age_days
            )
        } else {
            format!(
                "passwords expire after {} days, as required",
                want.max_age_days
            )
        }
    } else if age == 0 {
        if vi {
            format!(
                "mật khẩu không bao giờ hết hạn (pwdMaxAge {}); hopthu.yaml (policy.password.maxAgeDays) yêu cầu {} ngày = {expected_age} giây",
                raw("pwdMaxAge").unwrap_or_else(|| "không có".into()),
                want.max_age_days
            )
        } else {
            format!(
                "passwords never expire (pwdMaxAge {}); hopthu.yaml (policy.password.maxAgeDays) asks for {} days = {expected_age} seconds",
                raw("pwdMaxAge").unwrap_or_else(|| "absent".into()),
                want.max_age_days
            )
        }
    } else if vi {
        format!(
            "pwdMaxAge là {age} giây ({} ngày); hopthu.yaml (policy.password.maxAgeDays) yêu cầu {} ngày = {expected_age} giây",
            days(age),
            want.max_age_days
        )
    } else {
        format!(
            "pwdMaxAge is {age} seconds ({} days); hopthu.yaml (policy.password.maxAgeDays) asks for {} days = {expected_age} seconds",
            days(age),
            want.max_age_days
        )
    };
    checks.push(Check {
        attribute: "pwdMaxAge",
        expected: expected_age.to_string(),
        found: raw("pwdMaxAge"),
        ok,
        severity: Severity::Mismatch,
        message,
    });

    // Minimum length.
    let min = number(entry, "pwdMinLength").unwrap_or(0);
    let ok = min >= u64::from(want.min_length);
    let message = match (ok, vi) {
        (true, true) => format!(
            "độ dài tối thiểu {min} ký tự, không thấp hơn {} của hopthu.yaml",
            want.min_length
        ),
        (true, false) => format!(
            "minimum length {min}, not below hopthu.yaml's {}",
            want.min_length
        ),
        (false, true) => format!(
            "pwdMinLength là {}, thấp hơn policy.password.minLength = {} của hopthu.yaml",
            raw("pwdMinLength").unwrap_or_else(|| "không có (0)".into()),
            want.min_length
        ),
        (false, false) => format!(
            "pwdMinLength is {}, below hopthu.yaml's policy.password.minLength = {}",
            raw("pwdMinLength").unwrap_or_else(|| "absent (0)".into()),
            want.min_length
        ),
    };
    checks.push(Check {
        attribute: "pwdMinLength",
        expected: format!(">= {}", want.min_length),
        found: raw("pwdMinLength"),
        ok,
        severity: Severity::Mismatch,
        message,
    });

    // Change at first login; lockout.
    for (attr, vi_ok, en_ok, vi_bad, en_bad) in [
        (
            "pwdMustChange",
            "phải đổi mật khẩu ở lần đăng nhập đầu",
            "the password must be changed at the first login",
            "không buộc đổi mật khẩu ở lần đăng nhập đầu (quy định yêu cầu)",
            "no change of password is required at the first login (the regulation requires one)",
        ),
        (
            "pwdLockout",
            "tài khoản bị khóa sau nhiều lần đăng nhập sai",
            "accounts are locked after repeated failed logins",
            "tài khoản không bị khóa sau nhiều lần đăng nhập sai",
            "accounts are not locked after repeated failed logins",
        ),
    ] {
        let found = boolean(entry, attr).unwrap_or(false);
        let shown = raw(attr);
        let message = match (found, vi) {
            (true, true) => vi_ok.to_string(),
            (true, false) => en_ok.to_string(),
            (false, true) => format!(
                "{vi_bad} ({attr} là {}, cần TRUE)",
                shown.clone().unwrap_or_else(|| "không có".into())
            ),
            (false, false) => format!(
                "{en_bad} ({attr} is {}, TRUE is required)",
                shown.clone().unwrap_or_else(|| "absent".into())
            ),
        };
        checks.push(Check {
            attribute: attr,
            expected: "TRUE".into(),
            found: shown,
            ok: found,
            severity: Severity::Mismatch,
            message,
        });
    }

    // Warnings: settings that quietly defeat the ones above.
    let quality = number(entry, "pwdCheckQuality").unwrap_or(0);
    if quality == 0 {
        checks.push(Check {
            attribute: "pwdCheckQuality",
            expected: "1".into(),
            found: raw("pwdCheckQuality"),
            ok: false,
            severity: Severity::Warning,
            message: if vi {
                "máy chủ không kiểm tra chất lượng mật khẩu (pwdCheckQuality 0): pwdMinLength không được áp dụng khi người dùng đổi mật khẩu".into()
            } else {
                "the server does not check password quality (pwdCheckQuality 0): pwdMinLength is not applied when users change their password".into()
            },
        });
    }
    if boolean(entry, "pwdLockout") == Some(true)
        && number(entry, "pwdMaxFailure").unwrap_or(0) == 0
    {
        checks.push(Check {
            attribute: "pwdMaxFailure",
            expected: ">= 1".into(),
            found: raw("pwdMaxFailure"),
            ok: false,
            severity: Severity::Warning,
            message: if vi {
                "pwdLockout là TRUE nhưng pwdMaxFailure là 0: không bao giờ khóa".into()
            } else {
                "pwdLockout is TRUE but pwdMaxFailure is 0: nothing is ever locked".into()
            },
        });
    }
    if boolean(entry, "pwdMustChange") == Some(true)
        && boolean(entry, "pwdAllowUserChange") == Some(false)
    {
        checks.push(Check {
            attribute: "pwdAllowUserChange",
            expected: "TRUE".into(),
            found: raw("pwdAllowUserChange"),
            ok: false,
            severity: Severity::Warning,
            message: if vi {
                "người dùng phải đổi mật khẩu nhưng không được phép tự đổi (pwdAllowUserChange FALSE)".into()
            } else {
                "users must change their password but may not (pwdAllowUserChange FALSE)".into()
            },
        });
    }
    let generated = u64::from(want.min_length.max(GENERATED_MIN));
    if min > generated {
        checks.push(Check {
            attribute: "pwdMinLength",
            expected: format!("<= {generated}"),
            found: raw("pwdMinLength"),
            ok: false,
            severity: Severity::Warning,
            message: if vi {
                format!(
                    "máy chủ đòi {min} ký tự nhưng hopthu tạo mật khẩu ban đầu {generated} ký tự: hãy tăng policy.password.minLength lên {min}"
                )
            } else {
                format!(
                    "the server requires {min} characters but hopthu makes initial passwords of {generated}: raise policy.password.minLength to {min}"
                )
            },
        });
    }
    if layout == LayoutName::Iredmail {
        checks.push(Check {
            attribute: "layout",
            expected: "standard".into(),
            found: Some("iredmail".into()),
            ok: false,
            severity: Severity::Warning,
            message: if vi {
                "bố cục iredmail không dùng ppolicy: iRedMail buộc đổi mật khẩu qua shadowLastChange và có thể không áp dụng chính sách này".into()
            } else {
                "the iredmail layout does not rely on ppolicy: iRedMail forces a change through shadowLastChange and may not apply this policy".into()
            },
        });
    }
    // A value the server holds but that cannot be read (not a number, not
    // TRUE/FALSE, several values) is a mismatch of its own: reading it as
    // absent or zero would describe a policy the server does not have.
    let numbers = [
        "pwdMaxAge",
        "pwdMinLength",
        "pwdMaxFailure",
        "pwdCheckQuality",
    ];
    let booleans = ["pwdMustChange", "pwdLockout", "pwdAllowUserChange"];
    for attr in numbers.iter().chain(booleans.iter()) {
        let values = entry.get(attr);
        let readable = |v: &String| {
            let v = v.trim();
            if numbers.contains(attr) {
                v.parse::<u64>().is_ok()
            } else {
                v.eq_ignore_ascii_case("TRUE") || v.eq_ignore_ascii_case("FALSE")
            }
        };
        let problem = if values.len() > 1 {
            Some(if vi {
                format!(
                    "{attr} có {} giá trị ({}); chính sách chỉ được có một",
                    values.len(),
                    values.join(", ")
                )
            } else {
                format!(
                    "{attr} holds {} values ({}); a policy has one",
                    values.len(),
                    values.join(", ")
                )
            })
        } else {
            values.first().filter(|v| !readable(v)).map(|v| {
                let kind = if numbers.contains(attr) {
                    if vi {
                        "một số nguyên không âm"
                    } else {
                        "a whole number"
                    }
                } else if vi {
                    "TRUE hoặc FALSE"
                } else {
                    "TRUE or FALSE"
                };
                if vi {
                    format!("{attr} là `{v}`, không đọc được (phải là {kind})")
                } else {
                    format!("{attr} is `{v}`, which cannot be read (it must be {kind})")
                }
            })
        };
        if let Some(message) = problem {
            let found = Some(values.join(", "));
            let expected = checks
                .iter()
                .find(|c| c.attribute == *attr)
                .map(|c| c.expected.clone())
                .unwrap_or_default();
            checks.retain(|c| c.attribute != *attr);
            checks.push(Check {
                attribute: attr,
                expected,
                found,
                ok: false,
                severity: Severity::Mismatch,
                message,
            });
        }
    }
    Outcome {
        policy_dn: entry.dn.clone(),
        layout,
        checks,
    }
}

/// The outcome as an operator reads it: every check, then a verdict.
pub fn render_human(o: &Outcome, lang: Language) -> String {
    let vi = lang == Language::Vi;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}",
        if vi {
            "Chính sách mật khẩu:"
        } else {
            "Password policy:"
        },
        o.policy_dn
    );
    for c in &o.checks {
        let mark = match (c.ok, c.severity) {
            (true, _) => "✓",
            (false, Severity::Mismatch) => "✗",
            (false, Severity::Warning) => "!",
        };
        let _ = writeln!(out, "  {mark} {}: {}", c.attribute, c.message);
        if !c.ok {
            let found = c.found.clone().unwrap_or_else(|| {
                if vi {
                    "(không có)".into()
                } else {
                    "(absent)".into()
                }
            });
            let _ = writeln!(
                out,
                "      {} {}, {} {found}",
                if vi { "cần" } else { "expected" },
                c.expected,
                if vi { "thấy" } else { "found" },
            );
        }
    }
    let (m, w) = (o.mismatches(), o.warnings());
    let _ = writeln!(
        out,
        "{}",
        match (vi, m) {
            (true, 0) => format!("Khớp với hopthu.yaml; {w} cảnh báo."),
            (true, m) => format!("{m} điểm không khớp với hopthu.yaml; {w} cảnh báo."),
            (false, 0) => format!("Matches hopthu.yaml; {w} warning(s)."),
            (false, m) => format!("{m} mismatch(es) with hopthu.yaml; {w} warning(s)."),
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::Attrs;

    fn entry(pairs: &[(&str, &str)]) -> LiveEntry {
        let mut a = Attrs::new();
        for (k, v) in pairs {
            a.entry(k.to_string()).or_default().push(v.to_string());
        }
        LiveEntry::new("cn=default,ou=policies,dc=x", a)
    }

    #[test]
    fn an_absent_max_age_means_passwords_never_expire() {
        let e = entry(&[
            ("objectClass", "pwdPolicy"),
            ("pwdMinLength", "8"),
            ("pwdMustChange", "TRUE"),
            ("pwdLockout", "TRUE"),
            ("pwdMaxFailure", "5"),
            ("pwdCheckQuality", "1"),
        ]);
        let o = compare(
            &e,
            &PasswordPolicy::default(),
            LayoutName::Standard,
            Language::En,
        );
        assert_eq!(o.mismatches(), 1);
        assert_eq!(o.warnings(), 0);
        let bad = o.checks.iter().find(|c| !c.ok).unwrap();
        assert_eq!(bad.attribute, "pwdMaxAge");
        assert!(bad.message.contains("never expire"), "{}", bad.message);
    }

    #[test]
    fn values_that_cannot_be_read_are_mismatches_not_absences() {
        let e = entry(&[
            ("objectClass", "pwdPolicy"),
            ("pwdMaxAge", "abc"),
            ("pwdMinLength", "8"),
            ("pwdMustChange", "yes"),
            ("pwdLockout", "TRUE"),
            ("pwdMaxFailure", "-1"),
            ("pwdCheckQuality", "1"),
            ("pwdCheckQuality", "2"),
        ]);
        let o = compare(
            &e,
            &PasswordPolicy::default(),
            LayoutName::Standard,
            Language::En,
        );
        let bad: Vec<&str> = o
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.attribute)
            .collect();
        for attr in [
            "pwdMaxAge",
            "pwdMustChange",
            "pwdMaxFailure",
            "pwdCheckQuality",
        ] {
            assert!(bad.contains(&attr), "{attr}: {bad:?}");
        }
        let age = o
            .checks
            .iter()
            .find(|c| c.attribute == "pwdMaxAge")
            .unwrap();
        assert!(
            age.message.contains("`abc`, which cannot be read"),
            "{}",
            age.message
        );
        assert!(!o.checks.iter().any(|c| c.message.contains("never expire")));
        let q = o
            .checks
            .iter()
            .find(|c| c.attribute == "pwdCheckQuality")
            .unwrap();
        assert!(q.message.contains("holds 2 values"), "{}", q.message);
        assert!(o.mismatches() >= 4);
    }
}
