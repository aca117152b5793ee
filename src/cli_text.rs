//! Command-line mistakes (an unknown flag, a missing argument, a value
//! that is not one of the choices) said in the user's language: clap
//! words its errors in English only. Help pages (`--help`) stay as clap
//! writes them.

use crate::model::Language;
use clap::error::{ContextKind, ContextValue, ErrorKind};

fn ctx(e: &clap::Error, kind: ContextKind) -> Option<String> {
    match e.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => Some(v.join(", ")),
        ContextValue::StyledStr(s) => Some(s.to_string()),
        ContextValue::StyledStrs(v) => Some(
            v.iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ContextValue::Number(n) => Some(n.to_string()),
        ContextValue::Bool(b) => Some(b.to_string()),
        ContextValue::None => None,
        _ => None,
    }
}

fn quoted_list(e: &clap::Error, kind: ContextKind) -> Option<String> {
    match e.get(kind)? {
        ContextValue::Strings(v) => Some(
            v.iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ContextValue::String(s) => Some(format!("`{s}`")),
        _ => ctx(e, kind).map(|s| format!("`{s}`")),
    }
}

/// Why a value did not parse, in the user's language where the reason is
/// a known one (dates above all).
fn value_reason(source: &str, lang: Language) -> String {
    let date = [
        "input is out of range",
        "input contains invalid characters",
        "premature end of input",
        "trailing input",
        "input is not enough for unique date and time",
    ];
    if date.iter().any(|d| source.contains(d)) {
        return match lang {
            Language::Vi => "không phải một ngày có thật dạng YYYY-MM-DD".into(),
            Language::En => format!("not a real day written YYYY-MM-DD ({source})"),
        };
    }
    if source.contains("invalid digit") || source.contains("number too large") {
        return match lang {
            Language::Vi => "không phải một số nguyên dương hợp lệ".into(),
            Language::En => format!("not a valid whole number ({source})"),
        };
    }
    source.to_string()
}

/// The message for a command-line mistake, without the usage lines.
pub fn message(e: &clap::Error, lang: Language) -> Option<String> {
    let vi = lang == Language::Vi;
    let arg = ctx(e, ContextKind::InvalidArg).unwrap_or_default();
    let value = ctx(e, ContextKind::InvalidValue).unwrap_or_default();
    let mut text = match e.kind() {
        ErrorKind::InvalidValue => {
            let valid = quoted_list(e, ContextKind::ValidValue);
            let mut t = if value.is_empty() {
                if vi {
                    format!("{arg} cần một giá trị")
                } else {
                    format!("{arg} needs a value")
                }
            } else if vi {
                format!("giá trị `{value}` không hợp lệ cho {arg}")
            } else {
                format!("invalid value `{value}` for {arg}")
            };
            if let Some(v) = valid {
                t += &if vi {
                    format!("; các giá trị được nhận: {v}")
                } else {
                    format!("; possible values: {v}")
                };
            }
            t
        }
        ErrorKind::ValueValidation => {
            let source = std::error::Error::source(e)
                .map(|s| s.to_string())
                .unwrap_or_default();
            let why = value_reason(&source, lang);
            if vi {
                format!("giá trị `{value}` không hợp lệ cho {arg}: {why}")
            } else {
                format!("invalid value `{value}` for {arg}: {why}")
            }
        }
        ErrorKind::UnknownArgument => {
            if vi {
                format!("không có tùy chọn {arg}")
            } else {
                format!("there is no option {arg}")
            }
        }
        ErrorKind::InvalidSubcommand => {
            let cmd = ctx(e, ContextKind::InvalidSubcommand).unwrap_or_default();
            if vi {
                format!("không có lệnh `{cmd}`")
            } else {
                format!("there is no command `{cmd}`")
            }
        }
        ErrorKind::MissingRequiredArgument => {
            let missing = ctx(e, ContextKind::InvalidArg).unwrap_or_default();
            if vi {
                format!("thiếu tham số bắt buộc: {missing}")
            } else {
                format!("a required argument is missing: {missing}")
            }
        }
        ErrorKind::MissingSubcommand => {
            if vi {
                "hãy chọn một lệnh (xem `hopthu --help`)".to_string()
            } else {
                "choose a command (see `hopthu --help`)".to_string()
            }
        }
        ErrorKind::ArgumentConflict => {
            let prior = ctx(e, ContextKind::PriorArg).unwrap_or_default();
            if vi {
                format!("không dùng {arg} cùng với {prior}")
            } else {
                format!("{arg} cannot be used with {prior}")
            }
        }
        ErrorKind::TooManyValues | ErrorKind::WrongNumberOfValues | ErrorKind::TooFewValues => {
            if vi {
                format!("số giá trị cho {arg} không đúng")
            } else {
                format!("the wrong number of values for {arg}")
            }
        }
        ErrorKind::NoEquals => {
            if vi {
                format!("{arg} cần dạng {arg}=GIÁ_TRỊ")
            } else {
                format!("{arg} needs the form {arg}=VALUE")
            }
        }
        ErrorKind::InvalidUtf8 => {
            if vi {
                "tham số không phải UTF-8".to_string()
            } else {
                "an argument is not UTF-8".to_string()
            }
        }
        _ => return None,
    };
    let suggestion = ctx(e, ContextKind::SuggestedArg)
        .or_else(|| ctx(e, ContextKind::SuggestedSubcommand))
        .or_else(|| ctx(e, ContextKind::SuggestedValue));
    if let Some(s) = suggestion {
        text += &if vi {
            format!(" (có phải ý bạn là `{s}`?)")
        } else {
            format!(" (did you mean `{s}`?)")
        };
    }
    Some(text)
}

/// The language asked for on the command line (`--lang en`, `--lang=en`),
/// before the command line is understood: a mistake in it is said in that
/// language. Vietnamese otherwise.
pub fn language_of_args(args: &[std::ffi::OsString]) -> Language {
    let mut it = args.iter().map(|a| a.to_string_lossy());
    while let Some(a) = it.next() {
        let v = if a == "--lang" {
            it.next().map(|v| v.into_owned())
        } else {
            a.strip_prefix("--lang=").map(str::to_string)
        };
        if let Some(v) = v {
            return if v == "en" {
                Language::En
            } else {
                Language::Vi
            };
        }
        if a == "--" {
            break;
        }
    }
    Language::Vi
}

/// The whole text for a command-line mistake: the message, the usage line,
/// where to read more. None for what clap should show itself (help pages,
/// the version).
pub fn render(e: &clap::Error, lang: Language) -> Option<String> {
    let m = message(e, lang)?;
    let vi = lang == Language::Vi;
    let mut out = format!("{}: {m}\n", if vi { "lỗi" } else { "error" });
    if let Some(usage) = ctx(e, ContextKind::Usage) {
        let usage = usage.trim();
        let usage = usage.strip_prefix("Usage:").unwrap_or(usage).trim();
        out += &format!("\n{} {usage}\n", if vi { "Cách dùng:" } else { "Usage:" });
    }
    out += if vi {
        "\nXem thêm bằng --help.\n"
    } else {
        "\nFor more information, try --help.\n"
    };
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    #[command(name = "hopthu")]
    struct Args {
        #[arg(long)]
        since: Option<chrono::NaiveDate>,
        #[arg(long, value_parser = ["table", "json"])]
        format: Option<String>,
        #[arg(long)]
        lang: Option<String>,
    }

    fn err(args: &[&str]) -> clap::Error {
        Args::try_parse_from(args).unwrap_err()
    }

    #[test]
    fn mistakes_are_said_in_vietnamese_unless_english_is_asked() {
        let e = err(&["hopthu", "--since", "2026-02-30"]);
        let vi = render(&e, Language::Vi).unwrap();
        assert!(
            vi.starts_with("lỗi: giá trị `2026-02-30` không hợp lệ cho --since <SINCE>: không phải một ngày có thật dạng YYYY-MM-DD\n"),
            "{vi}"
        );
        let en = render(&e, Language::En).unwrap();
        assert!(
            en.starts_with("error: invalid value `2026-02-30` for --since <SINCE>: not a real day"),
            "{en}"
        );

        let vi = render(&err(&["hopthu", "--format", "jsn"]), Language::Vi).unwrap();
        assert!(vi.contains("giá trị `jsn` không hợp lệ cho --format <FORMAT>; các giá trị được nhận: `table`, `json`"), "{vi}");
        assert!(vi.contains("có phải ý bạn là `json`?"), "{vi}");

        let vi = render(&err(&["hopthu", "--sinse", "x"]), Language::Vi).unwrap();
        assert!(
            vi.starts_with("lỗi: không có tùy chọn --sinse (có phải ý bạn là `--since`?)"),
            "{vi}"
        );
    }

    #[test]
    fn a_missing_argument_shows_the_usage() {
        #[derive(Parser, Debug)]
        #[command(name = "hopthu")]
        struct Needs {
            #[arg(long)]
            live: String,
        }
        let e = Needs::try_parse_from(["hopthu"]).unwrap_err();
        let vi = render(&e, Language::Vi).unwrap();
        assert!(
            vi.starts_with("lỗi: thiếu tham số bắt buộc: --live <LIVE>\n"),
            "{vi}"
        );
        assert!(vi.contains("\nCách dùng: hopthu --live <LIVE>\n"), "{vi}");
    }

    #[test]
    fn help_is_left_to_clap() {
        assert!(render(&err(&["hopthu", "--help"]), Language::Vi).is_none());
    }

    #[test]
    fn the_language_is_found_before_the_command_line_is_understood() {
        let args = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert_eq!(
            language_of_args(&args(&["hopthu", "log", "--lang", "en"])),
            Language::En
        );
        assert_eq!(
            language_of_args(&args(&["hopthu", "log", "--lang=en"])),
            Language::En
        );
        assert_eq!(
            language_of_args(&args(&["hopthu", "log", "--bogus"])),
            Language::Vi
        );
        assert_eq!(
            language_of_args(&args(&["hopthu", "--", "--lang", "en"])),
            Language::Vi
        );
    }
}
