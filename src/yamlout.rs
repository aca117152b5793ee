//! JSON values written as block YAML, for the manifests hopthu prints
//! (`hopthu crd`). Strings are written plain only when YAML cannot read
//! them as anything else; otherwise double-quoted, JSON style (which YAML
//! reads the same way).

use serde_json::Value;
use std::fmt::Write as _;

/// Append `v` at `indent` spaces, as the value of a mapping key or a list
/// item that has just been written (without its line end).
pub fn write(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, val) in m {
                let _ = write!(out, "{}{}:", " ".repeat(indent), scalar_key(k));
                value_after_key(out, val, indent);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for item in a {
                let _ = write!(out, "{}-", " ".repeat(indent));
                item_value(out, item, indent);
            }
        }
        other => {
            let _ = writeln!(out, "{}{}", " ".repeat(indent), inline(other));
        }
    }
}

fn value_after_key(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write(out, v, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write(out, v, indent);
        }
        other => {
            let _ = writeln!(out, " {}", inline(other));
        }
    }
}

/// A list item: a mapping starts on the dash's line.
fn item_value(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            let mut first = true;
            for (k, val) in m {
                if first {
                    let _ = write!(out, " {}:", scalar_key(k));
                    first = false;
                } else {
                    let _ = write!(out, "{}{}:", " ".repeat(indent + 2), scalar_key(k));
                }
                value_after_key(out, val, indent + 2);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write(out, v, indent + 2);
        }
        other => {
            let _ = writeln!(out, " {}", inline(other));
        }
    }
}

fn inline(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

fn scalar_key(k: &str) -> String {
    scalar(k)
}

/// A string as YAML reads it back: plain when safe, quoted otherwise.
fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).expect("a string serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back_the_same() {
        let v = serde_json::json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "x", "labels": {"app.kubernetes.io/name": "hopthu"}},
            "data": {
                "yes": "no",
                "n": "10",
                "empty": "",
                "text": "a: b\nline two",
                "list": [1, true, null, "Sơn La", {"a": [], "b": {}}, [1, 2]],
                "nested": [{"name": "a", "value": {"x": 1}}, {"name": "b"}]
            }
        });
        let mut out = String::new();
        write(&mut out, &v, 0);
        let parsed = crate::yaml::parse(&out);
        assert!(parsed.errors.is_empty(), "{:?}\n{out}", parsed.errors);
        assert_eq!(parsed.root.unwrap().to_json(), v, "{out}");
    }
}
