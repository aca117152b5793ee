//! Where the desired state comes from: the files of a repository, read into a
//! `FileSet` that the validator checks. A folder today; a git revision reads
//! into the same shape, so the rules never see where files came from.

use std::fs;
use std::io::Read;
use std::path::Path;

/// Larger files are refused before they are read.
pub const MAX_FILE_SIZE: u64 = 5 * 1024 * 1024;

pub const SETTINGS_FILE: &str = "hopthu.yaml";
pub const AGENCIES_DIR: &str = "agencies";

#[derive(Debug, Clone)]
pub enum Entry {
    /// A regular file's bytes.
    File(Vec<u8>),
    TooLarge(u64),
    Symlink,
    Submodule,
    /// A FIFO, a socket or a device: never opened.
    Special,
    Unreadable(String),
}

#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Relative to the root, `/`-separated.
    pub path: String,
    pub entry: Entry,
}

#[derive(Debug, Default)]
pub struct FileSet {
    /// `hopthu.yaml`, when present.
    pub settings: Option<SourceFile>,
    /// Everything found under `agencies/`, sorted by path.
    pub agencies: Vec<SourceFile>,
}

impl FileSet {
    /// Read a folder. Only a missing or unreadable root is an error here;
    /// problems with single files are kept in the set and reported by the
    /// validator together with everything else.
    pub fn read_folder(root: &Path) -> std::io::Result<FileSet> {
        let meta = fs::metadata(root)?;
        if !meta.is_dir() {
            return Err(std::io::Error::new(std::io::ErrorKind::NotADirectory, {
                let root = root.display();
                crate::tr!("{root} không phải là thư mục", "{root} is not a folder")
            }));
        }
        let mut set = FileSet::default();
        let settings_path = root.join(SETTINGS_FILE);
        if let Ok(m) = fs::symlink_metadata(&settings_path) {
            set.settings = Some(SourceFile {
                path: SETTINGS_FILE.into(),
                entry: if m.is_dir() {
                    Entry::Unreadable(crate::tr!(
                        "hopthu.yaml là một thư mục; nó phải là một tệp",
                        "hopthu.yaml is a folder; it must be a file"
                    ))
                } else {
                    read_entry(&settings_path)
                },
            });
        }
        let agencies = root.join(AGENCIES_DIR);
        if fs::symlink_metadata(&agencies).is_ok() {
            walk(&agencies, AGENCIES_DIR, &mut set.agencies);
        }
        set.agencies.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(set)
    }
}

fn read_entry(path: &Path) -> Entry {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => return Entry::Unreadable(e.to_string()),
    };
    if meta.file_type().is_symlink() {
        return Entry::Symlink;
    }
    if meta.is_dir() {
        return Entry::Submodule;
    }
    // A FIFO, a socket or a device would block the read or never end.
    if !meta.is_file() {
        return Entry::Special;
    }
    if meta.len() > MAX_FILE_SIZE {
        return Entry::TooLarge(meta.len());
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    match fs::File::open(path).and_then(|f| f.take(MAX_FILE_SIZE + 1).read_to_end(&mut buf)) {
        Ok(n) if n as u64 > MAX_FILE_SIZE => Entry::TooLarge(n as u64),
        Ok(_) => Entry::File(buf),
        Err(e) => Entry::Unreadable(e.to_string()),
    }
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<SourceFile>) {
    let meta = match fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) => {
            out.push(SourceFile {
                path: rel.into(),
                entry: Entry::Unreadable(e.to_string()),
            });
            return;
        }
    };
    if meta.file_type().is_symlink() {
        out.push(SourceFile {
            path: rel.into(),
            entry: Entry::Symlink,
        });
        return;
    }
    // A nested repository (a submodule or a clone) is not part of this one.
    if dir.join(".git").exists() {
        out.push(SourceFile {
            path: rel.into(),
            entry: Entry::Submodule,
        });
        return;
    }
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            out.push(SourceFile {
                path: rel.into(),
                entry: Entry::Unreadable(e.to_string()),
            });
            return;
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let rel = format!("{rel}/{name}");
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, &rel, out),
            _ => out.push(SourceFile {
                entry: read_entry(&path),
                path: rel,
            }),
        }
    }
}
