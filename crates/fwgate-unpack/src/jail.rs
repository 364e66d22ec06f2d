//! The one place that writes extracted files: everything lands below the jail's root.
//!
//! Container paths are treated as relative to the container's directory: leading `/` is
//! dropped, `.` is ignored, and `..` is refused. Parent directories are created one component
//! at a time and each existing component must be a real directory, never a link, so a link
//! planted by one entry cannot redirect a later write. Files are created with `O_EXCL`
//! (`create_new`), which also refuses to write through a dangling link. Links are created as
//! they are spelled and never followed by fwgate.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::limits::Budget;
use crate::{Result, UnpackError};

/// A directory that extraction cannot leave, with the budget that bounds it.
#[derive(Debug)]
pub struct Jail {
    root: PathBuf,
    pub(crate) budget: Budget,
    /// Bytes the current container may still write (its expansion-ratio allowance).
    scope_left: u64,
    /// Directories (relative to the root) known to be real directories made by the jail.
    dirs: HashSet<String>,
}

/// The longest path the system resolves; longer ones cannot be written out.
const PATH_MAX: usize = 4096;

/// A path cut to a readable length for messages: its start and its end.
pub(crate) fn shorten(path: &str) -> String {
    const KEEP: usize = 96;
    if path.len() <= 2 * KEEP + 3 {
        return path.to_string();
    }
    let head = path.char_indices().nth(KEEP).map_or(path.len(), |(i, _)| i);
    let tail = path
        .char_indices()
        .rev()
        .nth(KEEP - 1)
        .map_or(0, |(i, _)| i);
    format!(
        "{}...{} ({} bytes)",
        &path[..head],
        &path[tail..],
        path.len()
    )
}

/// A regular file written into the jail.
#[derive(Debug)]
pub struct Written {
    /// Path relative to the jail root.
    pub rel: String,
    /// Bytes written.
    pub size: u64,
    /// SHA-256 of the bytes written, lowercase hex.
    pub sha256: String,
    /// Why writing stopped before the end of the data, if it did; the partial file is kept.
    pub stopped: Option<UnpackError>,
}

impl Jail {
    /// Creates the jail at `root`, which must not exist or be an empty directory.
    pub fn create(root: &Path, limits: crate::Limits) -> Result<Jail> {
        if root.exists() {
            let mut entries =
                fs::read_dir(root).map_err(|e| UnpackError::io(root, "read directory", e))?;
            if entries.next().is_some() {
                return Err(UnpackError::OutputNotEmpty(root.to_path_buf()));
            }
        } else {
            fs::create_dir_all(root).map_err(|e| UnpackError::io(root, "create directory", e))?;
        }
        let root = root
            .canonicalize()
            .map_err(|e| UnpackError::io(root, "resolve", e))?;
        Ok(Jail {
            root,
            budget: Budget::new(limits),
            scope_left: u64::MAX,
            dirs: HashSet::new(),
        })
    }

    /// A jail over an existing root, for a worker process that writes one container's files
    /// under a directory the parent chose, with the parent's budget so far.
    pub(crate) fn attach(root: &Path, budget: Budget) -> Jail {
        Jail {
            root: root.to_path_buf(),
            budget,
            scope_left: u64::MAX,
            dirs: HashSet::new(),
        }
    }

    /// The absolute root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Limits further writes of the current container to `bytes`.
    pub(crate) fn set_scope(&mut self, bytes: u64) {
        self.scope_left = bytes;
    }

    /// Turns a container-supplied path, relative to `base` (itself relative to the root), into
    /// a clean relative path. Refuses `..` and empty names.
    pub fn clean(base: &str, name: &str) -> Result<String> {
        let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
        let depth = parts.len();
        for comp in Path::new(name).components() {
            match comp {
                Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
                Component::ParentDir => {
                    return Err(UnpackError::Escape {
                        path: name.to_string(),
                        reason: "contains '..'",
                    })
                }
                Component::Normal(p) => match p.to_str() {
                    Some(s) => parts.push(s),
                    None => {
                        return Err(UnpackError::Escape {
                            path: name.to_string(),
                            reason: "name is not UTF-8",
                        })
                    }
                },
            }
        }
        if parts.len() == depth && !name.trim_matches('/').is_empty() {
            return Err(UnpackError::Escape {
                path: name.to_string(),
                reason: "empty name",
            });
        }
        Ok(parts.join("/"))
    }

    /// Makes sure every directory above `rel` exists and is a real directory.
    ///
    /// Directories the jail created or checked are remembered, so only the components below
    /// the deepest known one are examined: creating a deep tree costs one check per new
    /// directory, not one per prefix. The jail never removes or replaces a directory, so a
    /// remembered one stays a real directory.
    fn prepare_parent(&mut self, rel: &str) -> Result<PathBuf> {
        if self.root.as_os_str().len() + 1 + rel.len() >= PATH_MAX {
            return Err(UnpackError::Escape {
                path: shorten(rel),
                reason: "the path is longer than the system's PATH_MAX (4096 bytes)",
            });
        }
        let parent = match rel.rfind('/') {
            Some(i) => &rel[..i],
            None => return Ok(self.root.join(rel)),
        };
        // The deepest ancestor already known to be a directory.
        let mut known = parent;
        while !known.is_empty() && !self.dirs.contains(known) {
            known = known.rfind('/').map_or("", |i| &known[..i]);
        }
        if known.len() == parent.len() {
            return Ok(self.root.join(rel));
        }
        let start = if known.is_empty() { 0 } else { known.len() + 1 };
        let ends = parent[start..]
            .match_indices('/')
            .map(|(i, _)| start + i)
            .chain(std::iter::once(parent.len()));
        for end in ends {
            let prefix = &parent[..end];
            let dir = self.root.join(prefix);
            match fs::symlink_metadata(&dir) {
                Ok(m) if m.file_type().is_dir() => {}
                Ok(_) => {
                    return Err(UnpackError::Escape {
                        path: shorten(rel),
                        reason: "a parent is a link or a file",
                    })
                }
                Err(_) => {
                    self.budget.add_entry()?;
                    fs::create_dir(&dir)
                        .map_err(|e| UnpackError::io(shorten(prefix), "create directory", e))?
                }
            }
            self.dirs.insert(prefix.to_string());
        }
        Ok(self.root.join(rel))
    }

    /// Creates the directory `rel` (and its parents).
    pub fn mkdir(&mut self, rel: &str) -> Result<()> {
        if rel.is_empty() {
            return Ok(());
        }
        let path = self.prepare_parent(rel)?;
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_dir() => Ok(()),
            Ok(_) => Err(UnpackError::Escape {
                path: rel.to_string(),
                reason: "exists and is not a directory",
            }),
            Err(_) => {
                self.budget.add_entry()?;
                fs::create_dir(&path)
                    .map_err(|e| UnpackError::io(shorten(rel), "create directory", e))?;
                self.dirs.insert(rel.to_string());
                Ok(())
            }
        }
    }

    /// Creates the symbolic link `rel` pointing at `target`, which is stored, never followed.
    pub fn symlink(&mut self, rel: &str, target: &str) -> Result<()> {
        let path = self.prepare_parent(rel)?;
        self.budget.add_entry()?;
        std::os::unix::fs::symlink(target, &path)
            .map_err(|e| UnpackError::io(&path, "create link", e))
    }

    /// Makes `rel` a hard link of `existing`, a regular file this jail wrote (a link, never
    /// followed).
    pub fn hardlink(&mut self, existing: &str, rel: &str) -> Result<()> {
        let from = self.root.join(existing);
        match fs::symlink_metadata(&from) {
            Ok(m) if m.file_type().is_file() => {}
            _ => {
                return Err(UnpackError::Escape {
                    path: existing.to_string(),
                    reason: "hard-link target is not a regular file in the output",
                })
            }
        }
        let path = self.prepare_parent(rel)?;
        self.budget.add_entry()?;
        fs::hard_link(&from, &path).map_err(|e| UnpackError::io(&path, "create hard link", e))
    }

    /// Writes a new regular file `rel` from `src`, within the budget. Only the permission bits
    /// `0o755` of `mode` are kept (never set-id bits). Once the file exists it is kept even if
    /// writing stops early; [`Written::stopped`] says why.
    pub fn write(&mut self, rel: &str, src: &mut dyn Read, mode: u32) -> Result<Written> {
        self.budget.check_time()?;
        let path = self.prepare_parent(rel)?;
        self.budget.add_entry()?;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode((mode & 0o755) | 0o600)
            .open(&path)
            .map_err(|e| UnpackError::io(&path, "create file", e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut size = 0u64;
        let stopped = loop {
            let n = match src.read(&mut buf) {
                Ok(0) => break None,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => break Some(UnpackError::io(rel, "decode", e)),
            };
            if let Err(e) = self.charge(rel, size, n as u64) {
                break Some(e);
            }
            size += n as u64;
            hasher.update(&buf[..n]);
            if let Err(e) = file.write_all(&buf[..n]) {
                break Some(UnpackError::io(&path, "write", e));
            }
        };
        Ok(Written {
            rel: rel.to_string(),
            size,
            sha256: hex::encode(hasher.finalize()),
            stopped,
        })
    }

    /// Accounts `n` more bytes for a file that has `size` so far, or says which bound it breaks.
    fn charge(&mut self, rel: &str, size: u64, n: u64) -> Result<()> {
        self.budget.check_time()?;
        let limits = &self.budget.limits;
        if size + n > limits.max_file_bytes {
            return Err(UnpackError::Limit(format!(
                "{rel}: file larger than {} bytes",
                limits.max_file_bytes
            )));
        }
        if self.budget.bytes + n > limits.max_total_bytes {
            return Err(UnpackError::Limit(format!(
                "more than {} bytes extracted in total",
                limits.max_total_bytes
            )));
        }
        if n > self.scope_left {
            return Err(UnpackError::Limit(format!(
                "{rel}: container expands more than {}x its size",
                limits.max_ratio
            )));
        }
        self.scope_left -= n;
        self.budget.bytes += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jail() -> (tempfile::TempDir, Jail) {
        let tmp = tempfile::tempdir().unwrap();
        let j = Jail::create(&tmp.path().join("out"), crate::Limits::default()).unwrap();
        (tmp, j)
    }

    #[test]
    fn clean_strips_root_and_refuses_dotdot() {
        assert_eq!(Jail::clean("a", "/etc/passwd").unwrap(), "a/etc/passwd");
        assert_eq!(Jail::clean("", "./x/./y").unwrap(), "x/y");
        assert!(matches!(
            Jail::clean("a", "../../etc"),
            Err(UnpackError::Escape { .. })
        ));
        assert!(matches!(
            Jail::clean("a", "x/../../y"),
            Err(UnpackError::Escape { .. })
        ));
        assert_eq!(Jail::clean("a", "/").unwrap(), "a");
    }

    #[test]
    fn refuses_to_write_through_a_link() {
        let (tmp, mut j) = jail();
        let outside = tmp.path().join("outside");
        fs::create_dir(&outside).unwrap();
        j.symlink("evil", outside.to_str().unwrap()).unwrap();
        let err = j.write("evil/pwned", &mut &b"x"[..], 0o644).unwrap_err();
        assert!(matches!(err, UnpackError::Escape { .. }), "{err}");
        // A link to a file outside, then a file of the same name: O_EXCL refuses.
        j.symlink("f", outside.join("target").to_str().unwrap())
            .unwrap();
        assert!(j.write("f", &mut &b"x"[..], 0o644).is_err());
        assert!(!outside.join("pwned").exists() && !outside.join("target").exists());
    }

    #[test]
    fn enforces_byte_budget_and_keeps_partial_file() {
        let tmp = tempfile::tempdir().unwrap();
        let limits = crate::Limits {
            max_total_bytes: 100_000,
            ..Default::default()
        };
        let mut j = Jail::create(&tmp.path().join("out"), limits).unwrap();
        let big = vec![7u8; 200_000];
        let w = j.write("big", &mut &big[..], 0o644).unwrap();
        assert!(
            matches!(w.stopped, Some(UnpackError::Limit(_))),
            "{:?}",
            w.stopped
        );
        assert!(j.root().join("big").metadata().unwrap().len() <= 100_000);
    }

    #[test]
    fn strips_setuid_bits() {
        let (_tmp, mut j) = jail();
        j.write("suid", &mut &b"x"[..], 0o4755).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = j
            .root()
            .join("suid")
            .metadata()
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7000, 0);
    }
}
