//! The format-handler extension point: one file per format in `formats/`, one line in
//! [`crate::formats::HANDLERS`].

use std::io::Read;

use crate::error::error_chain;
use crate::jail::Jail;
use crate::source::Source;
use crate::tree::{Device, Node, NodeKind, Origin, Problem};
use crate::{Result, UnpackError};

/// What a successful probe learned about a candidate container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Length of the container in bytes, when its header says; `None` when only extracting it
    /// tells (compressed streams).
    pub len: Option<u64>,
    /// One line for the manifest, e.g. `uImage "Linux" arm kernel, gzip, 1.2 MiB`.
    pub info: String,
    /// Set when the header validated but the bounded dry run could not decide (no output and
    /// no error inside the window, or a header field longer than the probe reads). The engine
    /// then decodes the candidate in full; if that fails, it is a problem, never a skip.
    pub undecided: Option<String>,
}

impl Probe {
    /// A decided probe.
    pub fn new(len: Option<u64>, info: impl Into<String>) -> Probe {
        Probe {
            len,
            info: info.into(),
            undecided: None,
        }
    }
}

/// A container format fwgate can recognise and extract.
///
/// `probe` is pure: it validates a candidate (header fields, checksums, a dry run of the
/// decoder) and never writes. `extract` writes only through [`Output`], which confines every
/// path to the container's own directory inside the jail.
///
/// Both read the candidate through a [`Source`] that starts at its first byte and runs to the
/// end of the carved file: read headers and tables with bounded [`Source::bytes`] calls and
/// stream contents, never the whole window. A handler whose structures leave holes inside the
/// length it returns (a file system whose superblock claims more than its tables use) says
/// which bytes it used with [`Output::used`]; the engine carves the rest like any other gap.
pub trait Handler: Sync {
    /// Stable, short, lowercase id (`uimage`, `squashfs`); used in paths and manifests.
    fn id(&self) -> &'static str;
    /// One line for `--help`-style listings.
    fn description(&self) -> &'static str;
    /// Byte strings that mark a candidate; `magic_offset` bytes into the structure.
    fn magics(&self) -> &'static [&'static [u8]];
    /// Where the magic sits inside the structure (0 for most formats).
    fn magic_offset(&self) -> usize {
        0
    }
    /// Whether `extract` runs in the worker process when the engine has one. Only a handler
    /// whose whole extraction is safe Rust with memory and stack bounded by construction (no
    /// C library, no allocation sized by the input, no recursion) may say `false`, to spare
    /// the cost of a process per container.
    fn isolate(&self) -> bool {
        true
    }
    /// Whether the format is a leaf looked for only inside what nothing names (the image and
    /// raw payloads), past their first byte: never inside a file the device sees by name, and
    /// never at offset 0, where the carved file is this format itself and is read as it is.
    fn raw_only(&self) -> bool {
        false
    }
    /// Whether the magic counts only at the start of a line (offset 0 or after `\n`): record
    /// formats in text (Intel HEX, S-record), whose one-byte magics are common in any text.
    fn line_start(&self) -> bool {
        false
    }
    /// Checks whether `src` (starting at the candidate's first byte) is this format.
    fn probe(&self, src: &Source) -> Option<Probe>;
    /// Extracts the container that starts at `src`'s first byte. Returns the bytes it
    /// consumed: the end of the container, relative to its start.
    fn extract(&self, src: &Source, probe: &Probe, out: &mut Output<'_>) -> Result<u64>;
}

/// The metadata a container records for an entry: permission bits (set-id and sticky bits
/// included) and, where the format has them, owner and group ids. A bare `u32` converts to
/// the mode alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attrs {
    /// Permission bits (`0o7777`).
    pub mode: u32,
    /// Owner id, when the format records one.
    pub uid: Option<u32>,
    /// Group id, when the format records one.
    pub gid: Option<u32>,
}

impl Attrs {
    /// Mode, owner and group.
    pub fn new(mode: u32, uid: u32, gid: u32) -> Attrs {
        Attrs {
            mode: mode & 0o7777,
            uid: Some(uid),
            gid: Some(gid),
        }
    }
}

impl From<u32> for Attrs {
    fn from(mode: u32) -> Attrs {
        Attrs {
            mode: mode & 0o7777,
            ..Attrs::default()
        }
    }
}

/// Where a handler writes: a directory in the jail, with problems and nodes recorded.
pub struct Output<'a> {
    pub(crate) jail: &'a mut Jail,
    pub(crate) base: String,
    pub(crate) origin: Origin,
    pub(crate) nodes: Vec<Node>,
    pub(crate) problems: Vec<Problem>,
    pub(crate) format: &'static str,
    /// Byte ranges (relative to the container) its structures used; `None`: all it consumed.
    pub(crate) used: Option<Vec<(u64, u64)>>,
    /// Regular files written so far, by inner path: the node a hard link names (the latest
    /// of that name), found in constant time however many links an archive holds.
    files: std::collections::HashMap<String, usize>,
}

impl<'a> Output<'a> {
    /// An output writing under `base` in `jail`, for a container of `format` found at
    /// `origin`.
    pub(crate) fn new(
        jail: &'a mut Jail,
        base: String,
        origin: Origin,
        format: &'static str,
    ) -> Output<'a> {
        Output {
            jail,
            base,
            origin,
            nodes: Vec::new(),
            problems: Vec::new(),
            format,
            used: None,
            files: std::collections::HashMap::new(),
        }
    }
}

impl Output<'_> {
    fn node(&self, rel: String, name: &str, kind: NodeKind, attrs: Attrs) -> Node {
        let mut origin = self.origin.clone();
        origin.inner_path = inner_path(name);
        Node {
            path: rel,
            kind,
            mode: attrs.mode,
            uid: attrs.uid,
            gid: attrs.gid,
            origin,
            ..Node::default()
        }
    }

    /// Records a problem with one entry and goes on.
    pub fn problem(&mut self, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.origin.parent.clone(),
            format: Some(self.format.to_string()),
            offset: Some(self.origin.offset),
            message: message.into(),
            key: None,
        });
    }

    /// An error naming this container's file, format and offset.
    pub fn malformed(&self, message: impl Into<String>) -> UnpackError {
        UnpackError::Malformed {
            file: self.origin.parent.clone(),
            format: self.format,
            offset: self.origin.offset,
            message: message.into(),
        }
    }

    /// Declares the byte ranges, relative to the container's start, that its own structures
    /// used. Bytes it consumed outside them are carved and accounted like any gap.
    pub fn used(&mut self, ranges: Vec<(u64, u64)>) {
        self.used = Some(ranges);
    }

    /// The limits this extraction runs under.
    pub fn limits(&self) -> &crate::Limits {
        &self.jail.budget.limits
    }

    /// Fails with a limit error once the deadline has passed; call it in loops that input
    /// drives.
    pub fn check_time(&self) -> Result<()> {
        self.jail.budget.check_time()
    }

    /// When the time budget ends: for a reader that `payload` drives (which cannot call
    /// [`Output::check_time`] while the write borrows the output) and that may loop over
    /// input without producing bytes.
    pub fn deadline(&self) -> std::time::Instant {
        self.jail.budget.deadline
    }

    /// Runs `f`, turning a refused path into a recorded problem (the entry is skipped).
    fn guarded(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Self, String) -> Result<()>,
    ) -> Result<()> {
        match Jail::clean(&self.base, name) {
            Ok(rel) => match f(self, rel) {
                Err(e @ UnpackError::Escape { .. }) | Err(e @ UnpackError::Io { .. }) => {
                    self.problem(error_chain(&e));
                    Ok(())
                }
                other => other,
            },
            Err(e) => {
                self.problem(e.to_string());
                Ok(())
            }
        }
    }

    /// Writes a regular file named `name` (a path inside the container).
    pub fn file(&mut self, name: &str, src: &mut dyn Read, attrs: impl Into<Attrs>) -> Result<()> {
        self.write(name, src, attrs.into(), false)
    }

    /// Records `name` as another name (a hard link) of the file `target`, a path inside this
    /// container written before. The extracted copy is a hard link inside the jail; the node
    /// names the first path, and its content is not carved a second time. A target that was
    /// not extracted is a problem.
    pub fn hardlink(&mut self, name: &str, target: &str) -> Result<()> {
        let want = inner_path(target);
        let Some(first) = self
            .files
            .get(&want)
            .and_then(|&i| self.nodes.get(i))
            .cloned()
        else {
            self.problem(format!(
                "{}: hard link to {want}, which this container does not hold as a regular file before it; not extracted",
                inner_path(name)
            ));
            return Ok(());
        };
        self.guarded(name, |out, rel| {
            out.jail.hardlink(&first.path, &rel)?;
            let mut node = first.clone();
            node.origin.inner_path = inner_path(name);
            node.hardlink = Some(first.hardlink.clone().unwrap_or(first.path));
            node.path = rel;
            out.files
                .insert(node.origin.inner_path.clone(), out.nodes.len());
            out.nodes.push(node);
            Ok(())
        })
    }

    /// Writes the raw payload of a wrapper or a compressed stream (a kernel, a decompressed
    /// stream): not a file the device sees by name, so every byte of it must be accounted for
    /// like the image's own.
    pub fn payload(&mut self, name: &str, src: &mut dyn Read) -> Result<()> {
        self.write(name, src, Attrs::from(0o644), true)
    }

    fn write(&mut self, name: &str, src: &mut dyn Read, attrs: Attrs, raw: bool) -> Result<()> {
        self.guarded(name, |out, rel| {
            let w = out.jail.write(&rel, src, attrs.mode)?;
            let mut node = out.node(rel, name, NodeKind::File, attrs);
            node.raw = raw;
            node.size = w.size;
            node.sha256 = Some(w.sha256);
            node.partial = w.stopped.is_some();
            out.files
                .insert(node.origin.inner_path.clone(), out.nodes.len());
            out.nodes.push(node);
            match w.stopped {
                None => Ok(()),
                Some(e @ UnpackError::Limit(_)) => Err(e),
                Some(e) => {
                    out.problem(format!(
                        "{name}: kept the first {} bytes: {}",
                        w.size,
                        error_chain(&e)
                    ));
                    Ok(())
                }
            }
        })
    }

    /// Creates a directory named `name`.
    pub fn dir(&mut self, name: &str, attrs: impl Into<Attrs>) -> Result<()> {
        let attrs = attrs.into();
        self.guarded(name, |out, rel| {
            if rel == out.base {
                return Ok(());
            }
            out.jail.mkdir(&rel)?;
            let node = out.node(rel, name, NodeKind::Dir, attrs);
            out.nodes.push(node);
            Ok(())
        })
    }

    /// Creates a symbolic link named `name` with the given target (never followed).
    pub fn symlink(&mut self, name: &str, target: &str, attrs: impl Into<Attrs>) -> Result<()> {
        let attrs = attrs.into();
        self.guarded(name, |out, rel| {
            out.jail.symlink(&rel, target)?;
            let mut node = out.node(rel, name, NodeKind::Symlink, attrs);
            node.link = Some(target.to_string());
            out.nodes.push(node);
            Ok(())
        })
    }

    /// Records a device, pipe or socket without creating it.
    pub fn special(&mut self, name: &str, device: Device, attrs: impl Into<Attrs>) -> Result<()> {
        let attrs = attrs.into();
        self.guarded(name, |out, rel| {
            out.jail.budget.add_entry()?;
            let mut node = out.node(rel, name, NodeKind::Special, attrs);
            node.device = Some(device);
            out.nodes.push(node);
            Ok(())
        })
    }
}

/// A container path as the manifest records it: one leading `/`.
fn inner_path(name: &str) -> String {
    format!("/{}", name.trim_start_matches('/'))
}

/// Formats a byte count for manifests and messages.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_links_name_the_first_file_through_a_chain_and_refuse_a_missing_one() {
        let tmp = tempfile::tempdir().unwrap();
        let mut jail = Jail::create(&tmp.path().join("out"), crate::Limits::default()).unwrap();
        let mut out = Output::new(&mut jail, "t@0x0".into(), Origin::default(), "t");
        out.file("/etc/passwd", &mut &b"root:x:0:0::/:/bin/sh\n"[..], 0o644)
            .unwrap();
        out.hardlink("/etc/passwd.1", "/etc/passwd").unwrap();
        out.hardlink("/etc/passwd.2", "/etc/passwd.1").unwrap();
        out.hardlink("/etc/shadow", "/etc/nowhere").unwrap();
        let link = |name: &str| {
            out.nodes
                .iter()
                .find(|n| n.origin.inner_path == name)
                .map(|n| n.hardlink.clone())
        };
        assert_eq!(link("/etc/passwd"), Some(None));
        assert_eq!(link("/etc/passwd.1"), Some(Some("t@0x0/etc/passwd".into())));
        assert_eq!(link("/etc/passwd.2"), Some(Some("t@0x0/etc/passwd".into())));
        assert_eq!(link("/etc/shadow"), None);
        assert!(out.problems[0].message.contains("/etc/nowhere"));
        let body = std::fs::read(tmp.path().join("out/t@0x0/etc/passwd.2")).unwrap();
        assert_eq!(body, b"root:x:0:0::/:/bin/sh\n");
    }
}
