//! Before anything is deleted, the whole entry is written to a timestamped
//! LDIF file: a deleted mailbox can be restored with `ldapadd`.

use crate::live::LiveEntry;
use base64::Engine as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Operational attributes a server refuses in an add: left out of backups.
const OPERATIONAL: &[&str] = &[
    "entryuuid",
    "entrycsn",
    "creatorsname",
    "createtimestamp",
    "modifiersname",
    "modifytimestamp",
    "structuralobjectclass",
    "entrydn",
    "subschemasubentry",
    "hassubordinates",
    "authtimestamp",
    "pwdchangedtime",
    "pwdfailuretime",
    "pwdaccountlockedtime",
    "pwdlastsuccess",
];

/// Write the entries to `<dir>/deleted-<UTC timestamp>.ldif`, synced to
/// disk before this returns. The entryUUID is kept as a comment.
pub fn write(dir: &Path, entries: &[&LiveEntry]) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let path = dir.join(format!("deleted-{stamp}.ldif"));
    let mut text = String::from("version: 1\n\n");
    for e in entries {
        if let Some(u) = e.first("entryUUID") {
            text.push_str(&format!("# entryUUID: {u}\n"));
        }
        text.push_str(&line("dn", &e.dn));
        for (k, vals) in e.attrs.iter() {
            if OPERATIONAL.contains(&k.to_ascii_lowercase().as_str()) {
                continue;
            }
            for v in vals {
                text.push_str(&line(k, v));
            }
        }
        text.push('\n');
    }
    let mut f = std::fs::OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(&path)?;
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(path)
}

/// One `name: value` line, base64 when RFC 2849 requires it.
fn line(name: &str, value: &str) -> String {
    let safe = value.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !value.starts_with([' ', ':', '<'])
        && !value.ends_with(' ');
    if safe {
        format!("{name}: {value}\n")
    } else {
        format!(
            "{name}:: {}\n",
            base64::engine::general_purpose::STANDARD.encode(value.as_bytes())
        )
    }
}
