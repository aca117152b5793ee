//! Distinguished names (RFC 4514): split, parse, and normalize them so that
//! two spellings of one name compare equal.
//!
//! `cn=A\,B , OU=People` and `cn=a\2cb,ou=people` are the same entry: types
//! compare without regard to case, `\,` and `\2C` are the same character,
//! spaces around `=`, `,` and `+` do not count, values compare the way
//! `caseIgnoreMatch` does (case, leading/trailing and repeated spaces, NFC),
//! and the parts of a multi-valued RDN may come in any order. Without a
//! schema a few well-known OIDs (`2.5.4.3`) are mapped to their names; any
//! other OID stays as written.

use crate::tr;
use unicode_normalization::UnicodeNormalization as _;

/// One `type=value` of an RDN, the value unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ava {
    pub attr: String,
    pub value: String,
}

/// Why a string is not a DN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DnError {
    pub dn: String,
    pub reason: String,
}

impl std::fmt::Display for DnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (dn, reason) = (&self.dn, &self.reason);
        f.write_str(&tr!(
            "DN không hợp lệ {dn:?}: {reason}",
            "invalid DN {dn:?}: {reason}"
        ))
    }
}

/// The canonical form of a DN, for comparisons and map keys only (never
/// written anywhere). A string that is not a valid DN normalizes to itself,
/// trimmed and lower-cased, so it can still be compared; use [`parse_dn`] to
/// reject it.
pub fn normalize_dn(dn: &str) -> String {
    match parse_dn(dn) {
        Ok(rdns) => rdns
            .iter()
            .map(|r| normalize_rdn(r))
            .collect::<Vec<_>>()
            .join(","),
        Err(_) => dn.trim().to_lowercase(),
    }
}

/// The canonical form of each RDN of a DN, first (leftmost) first.
pub fn normalized_rdns(dn: &str) -> Result<Vec<String>, DnError> {
    Ok(parse_dn(dn)?.iter().map(|r| normalize_rdn(r)).collect())
}

/// Parse a DN into its RDNs (leftmost first). The empty string is the root
/// DN (no RDN).
pub fn parse_dn(dn: &str) -> Result<Vec<Vec<Ava>>, DnError> {
    split_rdns(dn)?
        .into_iter()
        .map(|raw| parse_rdn(raw).map_err(|reason| err(dn, reason)))
        .collect()
}

/// Parse one RDN (`cn=a+uid=b`).
pub fn parse_rdn(raw: &str) -> Result<Vec<Ava>, String> {
    let mut avas = Vec::new();
    let mut rest = raw;
    loop {
        let (ava, tail) = parse_ava(rest)?;
        avas.push(ava);
        match tail.strip_prefix('+') {
            Some(t) => rest = t,
            None if tail.trim().is_empty() => return Ok(avas),
            None => {
                return Err(tr!(
                    "gặp {tail:?} không mong đợi sau một giá trị",
                    "unexpected {tail:?} after a value"
                ));
            }
        }
    }
}

/// Split a DN into its raw RDN strings (leftmost first), spelling kept, at
/// unescaped `,` (or the RFC 2253 `;`). Spaces around the separators are
/// trimmed.
pub fn split_rdns(dn: &str) -> Result<Vec<&str>, DnError> {
    if dn.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut chars = dn.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if chars.next().is_none() => {
                return Err(err(
                    dn,
                    tr!(
                        "kết thúc bằng một dấu \\ đứng riêng",
                        "ends with a lone backslash"
                    ),
                ));
            }
            // The guard above consumed the escaped character.
            '\\' => {}
            '"' => quoted = !quoted,
            ',' | ';' if !quoted => {
                out.push(trim_rdn(&dn[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted {
        return Err(err(dn, unbalanced_quote()));
    }
    out.push(trim_rdn(&dn[start..]));
    if let Some(pos) = out.iter().position(|r| r.is_empty()) {
        let n = pos + 1;
        return Err(err(dn, tr!("RDN thứ {n} rỗng", "RDN {n} is empty")));
    }
    Ok(out)
}

/// Trim spaces around a raw RDN, but not an escaped trailing space (`\ `).
fn trim_rdn(s: &str) -> &str {
    let mut t = s.trim_start();
    while t.ends_with(' ') {
        let body = &t[..t.len() - 1];
        let backslashes = body.len() - body.trim_end_matches('\\').len();
        if backslashes % 2 == 1 {
            break;
        }
        t = body;
    }
    t
}

/// The parent of a DN, spelled as in the input (`None` for a one-RDN DN or
/// the root).
pub fn parent_dn(dn: &str) -> Result<Option<String>, DnError> {
    let rdns = split_rdns(dn)?;
    Ok(if rdns.len() <= 1 {
        None
    } else {
        Some(rdns[1..].join(","))
    })
}

/// Escape an attribute value for a DN string (RFC 4514 section 2.4).
pub fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' | '=' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

fn unbalanced_quote() -> String {
    tr!("dấu ngoặc kép không cân đối", "unbalanced quote")
}

fn lone_backslash() -> String {
    tr!("dấu \\ đứng riêng", "lone backslash")
}

fn bad_escape(n: char) -> String {
    tr!("ký tự thoát sai \\{n}", "bad escape \\{n}")
}

fn err(dn: &str, reason: String) -> DnError {
    DnError {
        dn: dn.to_string(),
        reason,
    }
}

fn normalize_rdn(avas: &[Ava]) -> String {
    let mut parts: Vec<String> = avas
        .iter()
        .map(|a| {
            format!(
                "{}={}",
                normalize_type(&a.attr),
                escape_value(&fold_value(&a.value))
            )
        })
        .collect();
    parts.sort();
    parts.join("+")
}

/// Attribute types compare without regard to case; a few OIDs have names.
fn normalize_type(t: &str) -> String {
    let lower = t.to_ascii_lowercase();
    let oid = lower.strip_prefix("oid.").unwrap_or(&lower);
    let named = match oid {
        "2.5.4.3" => "cn",
        "2.5.4.4" => "sn",
        "2.5.4.6" => "c",
        "2.5.4.7" => "l",
        "2.5.4.8" => "st",
        "2.5.4.10" => "o",
        "2.5.4.11" => "ou",
        "0.9.2342.19200300.100.1.1" => "uid",
        "0.9.2342.19200300.100.1.3" => "mail",
        "0.9.2342.19200300.100.1.25" => "dc",
        "commonname" => "cn",
        "surname" => "sn",
        "userid" => "uid",
        "domaincomponent" => "dc",
        "organizationname" => "o",
        "organizationalunitname" => "ou",
        "rfc822mailbox" => "mail",
        _ => return lower,
    };
    named.to_string()
}

/// caseIgnoreMatch, roughly (RFC 4518): NFC, lower case, no leading or
/// trailing spaces, inner runs of spaces as one.
fn fold_value(v: &str) -> String {
    let nfc: String = v.nfc().collect();
    let lower = nfc.to_lowercase();
    lower.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Parse `type=value` up to an unescaped `+` (returned in the tail) or the end.
fn parse_ava(s: &str) -> Result<(Ava, &str), String> {
    let eq = s.find('=').ok_or_else(|| {
        let s = s.trim();
        tr!("{s:?} không có dấu '='", "{s:?} has no '='")
    })?;
    let attr = s[..eq].trim();
    let valid_type = !attr.is_empty()
        && attr
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && attr
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if !valid_type {
        return Err(tr!(
            "{attr:?} không phải là kiểu thuộc tính",
            "{attr:?} is not an attribute type"
        ));
    }
    let raw = &s[eq + 1..];
    let body = raw.trim_start_matches(' ');
    if let Some(hex) = body.strip_prefix('#') {
        // BER-encoded value: kept as written (its hex digits), lower-cased.
        let end = hex.find('+').unwrap_or(hex.len());
        let digits = hex[..end].trim();
        if digits.is_empty()
            || digits.len() % 2 != 0
            || !digits.chars().all(|c| c.is_ascii_hexdigit())
        {
            return Err(tr!("giá trị hex sai #{digits}", "bad hex value #{digits}"));
        }
        let value = format!("#{}", digits.to_ascii_lowercase());
        return Ok((
            Ava {
                attr: attr.to_string(),
                value,
            },
            &hex[end..],
        ));
    }
    if let Some(q) = body.strip_prefix('"') {
        // RFC 2253 quoted value.
        let mut bytes = Vec::new();
        let mut it = q.char_indices();
        while let Some((i, c)) = it.next() {
            match c {
                '"' => {
                    let value = String::from_utf8(bytes)
                        .map_err(|_| tr!("giá trị không phải UTF-8", "value is not UTF-8"))?;
                    let tail = q[i + 1..].trim_start();
                    return Ok((
                        Ava {
                            attr: attr.to_string(),
                            value,
                        },
                        tail,
                    ));
                }
                '\\' => {
                    let (_, n) = it.next().ok_or_else(lone_backslash)?;
                    push_char(&mut bytes, n);
                }
                c => push_char(&mut bytes, c),
            }
        }
        return Err(unbalanced_quote());
    }
    let mut bytes: Vec<u8> = Vec::new();
    // Trailing unescaped spaces are not part of the value.
    let mut significant = 0;
    let mut chars = body.char_indices().peekable();
    let mut end = body.len();
    while let Some((i, c)) = chars.next() {
        match c {
            '+' => {
                end = i;
                break;
            }
            '\\' => {
                let (_, n) = chars.next().ok_or_else(lone_backslash)?;
                if n.is_ascii_hexdigit() {
                    let (_, m) = chars
                        .next()
                        .filter(|(_, m)| m.is_ascii_hexdigit())
                        .ok_or_else(|| bad_escape(n))?;
                    let byte = u8::from_str_radix(&format!("{n}{m}"), 16).expect("two hex digits");
                    bytes.push(byte);
                } else if " \"#+,;<=>\\".contains(n) {
                    push_char(&mut bytes, n);
                } else {
                    return Err(bad_escape(n));
                }
                significant = bytes.len();
            }
            c => {
                push_char(&mut bytes, c);
                if c != ' ' {
                    significant = bytes.len();
                }
            }
        }
    }
    bytes.truncate(significant);
    let value = String::from_utf8(bytes).map_err(|_| {
        tr!(
            "giá trị không phải UTF-8 sau khi bỏ ký tự thoát",
            "value is not UTF-8 after unescaping"
        )
    })?;
    Ok((
        Ava {
            attr: attr.to_string(),
            value,
        },
        &body[end..],
    ))
}

fn push_char(bytes: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &str, b: &str) {
        assert_eq!(normalize_dn(a), normalize_dn(b), "{a:?} vs {b:?}");
    }

    fn differ(a: &str, b: &str) {
        assert_ne!(normalize_dn(a), normalize_dn(b), "{a:?} vs {b:?}");
    }

    #[test]
    fn escaped_comma_and_hex_comma_are_the_same_name() {
        same(
            "cn=Nguyen\\, Van A,ou=people",
            "cn=nguyen\\2c van a,ou=people",
        );
        same(
            "cn=Nguyen\\2C Van A,ou=people",
            "CN=NGUYEN\\, VAN A,OU=PEOPLE",
        );
        assert_eq!(
            normalize_dn("cn=Nguyen\\2C Van A,ou=People"),
            "cn=nguyen\\, van a,ou=people"
        );
    }

    #[test]
    fn spaces_around_separators_do_not_count() {
        same("uid=a , ou = people,dc=x", "uid=a,ou=people,dc=x");
        same(" uid = a ", "uid=a");
        same("cn=a  b", "cn=a b");
    }

    #[test]
    fn types_and_values_compare_without_case() {
        same(
            "UID=Lan.NT,OU=People,DC=SonLa",
            "uid=lan.nt,ou=people,dc=sonla",
        );
        same("2.5.4.3=x,dc=y", "cn=X,DC=Y");
    }

    #[test]
    fn an_escaped_comma_is_not_a_separator() {
        differ("cn=a\\,dc=x,dc=y", "cn=a,dc=x,dc=y");
        assert_eq!(split_rdns("cn=a\\,dc=x,dc=y").unwrap().len(), 2);
        assert_eq!(
            normalized_rdns("cn=a\\,b,dc=y").unwrap(),
            vec!["cn=a\\,b", "dc=y"]
        );
    }

    #[test]
    fn escaped_spaces_are_value_characters_and_trimmed_like_caseignorematch() {
        same("cn=\\ a\\ ,dc=x", "cn=a,dc=x");
        same("cn=a\\20b,dc=x", "cn=a b,dc=x");
    }

    #[test]
    fn multi_valued_rdns_in_any_order() {
        same("cn=a+uid=b,dc=x", "uid=B + cn=A,dc=x");
        differ("cn=a+uid=b,dc=x", "cn=a,uid=b,dc=x");
    }

    #[test]
    fn utf8_hex_escapes_and_nfc() {
        // "Đ" as raw UTF-8, as hex escapes, and "ệ" composed vs decomposed.
        same("cn=Đào,dc=x", "cn=\\c4\\90\\c3\\a0o,dc=x");
        same("cn=Nguy\u{1ec5}n,dc=x", "cn=Nguye\u{302}\u{303}n,dc=x");
    }

    #[test]
    fn special_characters_are_escaped_one_way() {
        same("cn=a\\+b,dc=x", "cn=a\\2bb,dc=x");
        same("cn=\\#1,dc=x", "cn=\\231,dc=x");
        same("cn=a\\=b,dc=x", "cn=a=b,dc=x");
        assert_eq!(normalize_dn("cn=\\231,dc=x"), "cn=\\#1,dc=x");
    }

    #[test]
    fn rfc2253_semicolons_and_quotes() {
        same("cn=a;dc=x", "cn=a,dc=x");
        same("cn=\"a, b\",dc=x", "cn=a\\, b,dc=x");
    }

    #[test]
    fn invalid_dns_are_refused_by_parse() {
        for bad in [
            "cn",
            "=a",
            "cn=a,,dc=x",
            "cn=a\\",
            "cn=a\\zz",
            "c n=a",
            "cn=\"a",
        ] {
            assert!(parse_dn(bad).is_err(), "{bad:?}");
        }
        assert!(parse_dn("").unwrap().is_empty());
    }

    #[test]
    fn parent_keeps_the_spelling() {
        assert_eq!(
            parent_dn("uid=a, OU=People ,dc=x").unwrap().as_deref(),
            Some("OU=People,dc=x")
        );
        assert_eq!(parent_dn("dc=x").unwrap(), None);
        assert_eq!(parent_dn("cn=a\\,b,dc=x").unwrap().as_deref(), Some("dc=x"));
    }

    #[test]
    fn escape_value_round_trips() {
        for v in [
            " lead",
            "trail ",
            "#x",
            "a,b+c",
            "x\\y",
            "a\"b<c>d;e=f",
            "Đặng",
        ] {
            let dn = format!("cn={},dc=x", escape_value(v));
            let parsed = parse_dn(&dn).unwrap();
            assert_eq!(parsed[0][0].value, v, "{dn}");
        }
    }
}
