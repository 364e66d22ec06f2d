//! The manifest of an extraction: every node written, where it came from, and what went wrong.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Result, UnpackError};

/// Schema id written into every manifest.
pub const MANIFEST_SCHEMA: &str = "fwgate.manifest/v1";

/// A file that was examined: its name, size and digest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Subject {
    /// File name (no directories).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
}

impl Subject {
    /// Describes `bytes`, read from `path`.
    pub fn of_bytes(path: &Path, bytes: &[u8]) -> Subject {
        Subject {
            name: file_name(path),
            size: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(bytes)),
        }
    }

    /// Hashes the bytes of `src`, read from `path`, as a stream.
    pub fn of_source(path: &Path, src: &crate::source::Source) -> Result<Subject> {
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut at = 0u64;
        loop {
            let n = src
                .read_at(at, &mut buf)
                .map_err(|e| UnpackError::io(path, "read", e))?;
            if n == 0 {
                break;
            }
            at += n as u64;
            h.update(&buf[..n]);
        }
        Ok(Subject {
            name: file_name(path),
            size: at,
            sha256: hex::encode(h.finalize()),
        })
    }

    /// Hashes the file at `path` as a stream.
    pub fn of_file(path: &Path) -> Result<Subject> {
        let src =
            crate::source::Source::open(path).map_err(|e| UnpackError::io(path, "open", e))?;
        Subject::of_source(path, &src)
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What kind of file system object a node is.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum NodeKind {
    /// A regular file.
    #[default]
    File,
    /// A directory.
    Dir,
    /// A symbolic link (stored, never followed).
    Symlink,
    /// A device, pipe or socket: recorded, not created.
    Special,
}

/// Where a node came from: the container that held it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Origin {
    /// The file the container was found in, relative to the output root; empty for the image.
    pub parent: String,
    /// Formats from the image down to this node's container, outermost first.
    pub formats: Vec<String>,
    /// Offset of the container inside `parent`.
    pub offset: u64,
    /// The node's path inside its container, e.g. `/etc/shadow` in a root file system.
    pub inner_path: String,
}

/// What a special node is: recorded in the manifest, never created.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceKind {
    /// A character device.
    Char,
    /// A block device.
    Block,
    /// A named pipe.
    Fifo,
    /// A Unix socket.
    Socket,
}

/// A device, pipe or socket as its container recorded it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Device {
    /// What it is.
    #[serde(rename = "type")]
    pub kind: DeviceKind,
    /// Major device number (0 for pipes and sockets).
    pub major: u32,
    /// Minor device number (0 for pipes and sockets).
    pub minor: u32,
}

impl Device {
    /// Splits a Linux `dev_t` as the kernel encodes it (`new_encode_dev`: 12 bits of major,
    /// 20 of minor, interleaved), the form SquashFS, cpio, ext and JFFS2 store.
    pub fn from_linux(kind: DeviceKind, rdev: u32) -> Device {
        Device {
            kind,
            major: (rdev >> 8) & 0xfff,
            minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
        }
    }
}

/// One extracted file system object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Node {
    /// Path relative to the output root.
    pub path: String,
    /// What it is.
    pub kind: NodeKind,
    /// Size in bytes (files), 0 otherwise.
    pub size: u64,
    /// SHA-256 of the content (files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Permission bits as the container recorded them, set-id and sticky bits included
    /// (the extracted copy never carries set-id bits).
    pub mode: u32,
    /// Owner id as the container recorded it; `None` when the format records none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// Group id as the container recorded it; `None` when the format records none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// For a file that is another name of an earlier one (a hard link): that node's path.
    /// The content is the same file's, so it is not carved again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardlink: Option<String>,
    /// For a special node: which kind and its device numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Device>,
    /// Link target (symlinks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// True when extraction of this file stopped early (see the tree's problems).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
    /// True for the raw payload of a wrapper or stream (a kernel, a decompressed stream)
    /// rather than a file the device sees by name; its bytes are accounted like the image's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub raw: bool,
    /// The container that held it.
    pub origin: Origin,
}

/// What a byte range of a carved file turned out to be.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RegionKind {
    /// A container that a handler recognised.
    Container {
        /// Handler id.
        format: String,
        /// The handler's one-line description of what it saw.
        info: String,
    },
    /// Erased flash or alignment padding: every byte is `byte`.
    Padding {
        /// The fill byte (usually 0xff or 0x00).
        byte: u8,
    },
    /// Data no container format explains, in a raw payload that was identified as a leaf the
    /// scanner reads as it is (text, an ELF file, a Linux kernel).
    Data {
        /// What the payload was identified as.
        what: String,
    },
    /// A format fwgate recognises but cannot extract: a problem.
    Unsupported {
        /// Recogniser id.
        format: String,
        /// What the recogniser saw.
        info: String,
    },
    /// Bytes no handler recognised: a problem in the image and in raw payloads.
    Unknown {
        /// Shannon entropy in bits per byte (0–8): near 8 is compressed or encrypted.
        entropy: f64,
    },
}

/// A byte range of a file that was carved into containers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Region {
    /// The carved file, relative to the output root; empty for the image.
    pub file: String,
    /// Start offset.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
    /// What it is.
    #[serde(flatten)]
    pub kind: RegionKind,
}

/// Something that could not be extracted. Extraction goes on past it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Problem {
    /// The file concerned, relative to the output root; empty for the image.
    pub file: String,
    /// The format being extracted, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Offset of the container inside `file`, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// What went wrong.
    pub message: String,
    /// For problems a policy may accept by name (an unknown region): `sha256:<hex>` of exactly
    /// the bytes concerned, so that accepting it accepts those bytes and nothing else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// The result of an extraction: the manifest written by `fwgate unpack --json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tree {
    /// Always [`MANIFEST_SCHEMA`].
    pub schema: String,
    /// Absolute output directory.
    pub root: PathBuf,
    /// The image that was unpacked; `None` when a directory was scanned as is.
    pub image: Option<Subject>,
    /// Every node, in extraction order.
    pub nodes: Vec<Node>,
    /// How the image and each carved file divide into containers, padding and unknown bytes.
    pub regions: Vec<Region>,
    /// What could not be extracted.
    pub problems: Vec<Problem>,
}

impl Tree {
    /// True when nothing was left unextracted because of an error or a limit.
    pub fn is_complete(&self) -> bool {
        self.problems.is_empty()
    }

    /// The absolute path of a node.
    pub fn path_of(&self, node: &Node) -> PathBuf {
        self.root.join(&node.path)
    }

    /// Describes an already-extracted directory (e.g. a root file system from the build) as a
    /// tree, without following links.
    pub fn from_dir(dir: &Path) -> Result<Tree> {
        let root = dir
            .canonicalize()
            .map_err(|e| UnpackError::io(dir, "resolve", e))?;
        let mut tree = Tree {
            schema: MANIFEST_SCHEMA.to_string(),
            root: root.clone(),
            image: None,
            nodes: Vec::new(),
            regions: Vec::new(),
            problems: Vec::new(),
        };
        for entry in walkdir::WalkDir::new(&root)
            .follow_links(false)
            .sort_by_file_name()
        {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let file = e
                        .path()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    tree.problems.push(Problem {
                        file,
                        format: None,
                        offset: None,
                        message: e.to_string(),
                        key: None,
                    });
                    continue;
                }
            };
            let Ok(rel) = entry.path().strip_prefix(&root) else {
                continue;
            };
            let rel = rel.to_string_lossy().into_owned();
            if rel.is_empty() {
                continue;
            }
            let meta = match entry.metadata() {
                Ok(m) => m,
                Err(e) => {
                    tree.problems.push(Problem {
                        file: rel,
                        format: None,
                        offset: None,
                        message: e.to_string(),
                        key: None,
                    });
                    continue;
                }
            };
            let ft = meta.file_type();
            let (kind, sha256, link) = if ft.is_file() {
                match Subject::of_file(entry.path()) {
                    Ok(s) => (NodeKind::File, Some(s.sha256), None),
                    Err(e) => {
                        tree.problems.push(Problem {
                            file: rel,
                            format: None,
                            offset: None,
                            message: e.to_string(),
                            key: None,
                        });
                        continue;
                    }
                }
            } else if ft.is_dir() {
                (NodeKind::Dir, None, None)
            } else if ft.is_symlink() {
                let target = fs::read_link(entry.path()).ok();
                (
                    NodeKind::Symlink,
                    None,
                    target.map(|t| t.to_string_lossy().into_owned()),
                )
            } else {
                (NodeKind::Special, None, None)
            };
            let inner_path = format!("/{rel}");
            let device = if kind == NodeKind::Special {
                use std::os::unix::fs::FileTypeExt;
                let kind = if ft.is_char_device() {
                    DeviceKind::Char
                } else if ft.is_block_device() {
                    DeviceKind::Block
                } else if ft.is_fifo() {
                    DeviceKind::Fifo
                } else {
                    DeviceKind::Socket
                };
                let rdev = meta.rdev();
                Some(Device {
                    kind,
                    major: ((rdev >> 8) & 0xfff) as u32 | ((rdev >> 32) & !0xfff) as u32,
                    minor: (rdev & 0xff) as u32 | ((rdev >> 12) & !0xff) as u32,
                })
            } else {
                None
            };
            tree.nodes.push(Node {
                size: if kind == NodeKind::File {
                    meta.len()
                } else {
                    0
                },
                path: rel,
                kind,
                sha256,
                mode: meta.permissions().mode() & 0o7777,
                uid: Some(meta.uid()),
                gid: Some(meta.gid()),
                device,
                link,
                origin: Origin {
                    inner_path,
                    ..Origin::default()
                },
                ..Node::default()
            });
        }
        Ok(tree)
    }
}
