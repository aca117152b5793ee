//! Files written so that a crash never leaves one half written: a temporary
//! file beside the target, synced, then renamed over it. A device or a pipe
//! named as the target (`--out /dev/stdout`) is written into, never
//! replaced: a rename over `/dev/null` would take the machine's null device
//! away from every other program.

use std::io::Write as _;
use std::path::Path;

pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // The system's own folders (`/dev/stdout`, `/dev/fd/1`, `/proc/...`):
    // what is there is written into, never renamed over or created.
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let system = std::fs::canonicalize(parent).is_ok_and(|p| {
        (p.starts_with("/dev") && !p.starts_with("/dev/shm")) || p.starts_with("/proc")
    });
    // What the path leads to (through links): a terminal, a pipe or a
    // device is written into as it is; a disk is never written to.
    let target = std::fs::metadata(path);
    if let Ok(m) = &target {
        use std::os::unix::fs::FileTypeExt as _;
        let t = m.file_type();
        if t.is_block_device() || t.is_socket() {
            let shown = path.display();
            return Err(std::io::Error::other(crate::tr!(
                "{shown} là một thiết bị đĩa hoặc socket: không ghi vào đó",
                "{shown} is a disk device or a socket: not written to"
            )));
        }
        if system || t.is_char_device() || t.is_fifo() {
            // Appending: what the process wrote there before stays.
            let mut f = std::fs::OpenOptions::new().append(true).open(path)?;
            return f.write_all(bytes);
        }
    } else if system {
        let shown = path.display();
        return Err(std::io::Error::other(crate::tr!(
            "{shown} không có: hopthu không tạo tệp trong thư mục của hệ thống",
            "{shown} does not exist: hopthu makes no file in the system's folders"
        )));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(
        ".{name}.tmp-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The rename itself is durable once the folder is synced.
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipe_named_as_the_target_is_written_into_and_stays_a_pipe() {
        use std::os::unix::fs::FileTypeExt as _;
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("out");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        write_atomic(&link, b"bao cao\n").unwrap();
        assert_eq!(reader.join().unwrap(), b"bao cao\n");
        let m = std::fs::symlink_metadata(&fifo).unwrap();
        assert!(m.file_type().is_fifo(), "still a pipe");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        // A regular file is replaced whole, as before.
        let plain = tmp.path().join("plain");
        std::fs::write(&plain, "old").unwrap();
        write_atomic(&plain, b"new").unwrap();
        assert_eq!(std::fs::read(&plain).unwrap(), b"new");
    }

    #[test]
    fn the_standard_output_named_as_a_path_is_written_into_not_replaced() {
        // This test's own standard output may be a file, a pipe or a
        // terminal: each is written into, and /dev/stdout stays a link.
        write_atomic(Path::new("/dev/stdout"), b"").unwrap();
        let m = std::fs::symlink_metadata("/dev/stdout").unwrap();
        assert!(m.file_type().is_symlink(), "/dev/stdout is still a link");
        let e = write_atomic(Path::new("/dev/hopthu-no-such-device"), b"x").unwrap_err();
        assert!(e.to_string().contains("/dev/hopthu-no-such-device"), "{e}");
        assert!(!Path::new("/dev/hopthu-no-such-device").exists());
    }

    #[test]
    fn the_null_device_is_written_into_not_replaced() {
        use std::os::unix::fs::FileTypeExt as _;
        write_atomic(Path::new("/dev/null"), b"x").unwrap();
        let m = std::fs::symlink_metadata("/dev/null").unwrap();
        assert!(m.file_type().is_char_device());
    }
}
