//! Key files on disk: created 0600 with `O_EXCL`, refused when group- or world-readable.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::{Result, SignError};

/// Writes a new file (never overwrites) with the given mode.
pub fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| SignError::Io {
            path: path.to_path_buf(),
            op: "create (refusing to overwrite)",
            source: e,
        })?;
    f.write_all(contents).map_err(|e| SignError::Io {
        path: path.to_path_buf(),
        op: "write",
        source: e,
    })?;
    f.sync_all().map_err(|e| SignError::Io {
        path: path.to_path_buf(),
        op: "sync",
        source: e,
    })
}

/// Reads a secret key file, refusing one that group or others can read.
pub fn read_secret(path: &Path) -> Result<Zeroizing<String>> {
    let meta = fs::metadata(path).map_err(|e| SignError::Io {
        path: path.to_path_buf(),
        op: "open secret key",
        source: e,
    })?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(SignError::InsecurePermissions(path.to_path_buf()));
    }
    let text = fs::read_to_string(path).map_err(|e| SignError::Io {
        path: path.to_path_buf(),
        op: "read secret key",
        source: e,
    })?;
    Ok(Zeroizing::new(text))
}

/// Writes `bytes` to `path` atomically: a new temporary file beside it (created with
/// `O_EXCL` under a random name, so nothing planted there is followed), then a rename.
///
/// A destination that exists and is not a regular file or a directory — `/dev/null`,
/// `/dev/stdout`, a pipe — is written to, not renamed over: renaming onto `/dev/null` as root
/// replaces the device with a regular file, and every later reader of "nothing" reads what
/// was written there.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let io = |op, e| SignError::Io {
        path: path.to_path_buf(),
        op,
        source: e,
    };
    if fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        let mut f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| io("open", e))?;
        return f.write_all(bytes).map_err(|e| io("write", e));
    }
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| io("create", e))?;
    tmp.write_all(bytes).map_err(|e| io("write", e))?;
    tmp.as_file().sync_all().map_err(|e| io("sync", e))?;
    tmp.persist(path).map_err(|e| io("write", e.error))?;
    Ok(())
}

#[cfg(test)]
mod special_files {
    #![allow(clippy::unwrap_used)]

    #[test]
    fn a_device_or_pipe_destination_is_written_to_not_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        // A FIFO stands for /dev/null or /dev/stdout: it must stay what it is.
        let fifo = tmp.path().join("out");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(&fifo).unwrap())
        };
        super::write_atomic(&fifo, b"report").unwrap();
        assert_eq!(reader.join().unwrap(), b"report");
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo());
        // /dev/null itself stays a device.
        super::write_atomic(std::path::Path::new("/dev/null"), b"x").unwrap();
        assert!(std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
    }
}
