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
