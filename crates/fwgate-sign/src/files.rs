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
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| io("create", e))?;
    tmp.write_all(bytes).map_err(|e| io("write", e))?;
    tmp.as_file().sync_all().map_err(|e| io("sync", e))?;
    tmp.persist(path).map_err(|e| io("write", e.error))?;
    Ok(())
}
