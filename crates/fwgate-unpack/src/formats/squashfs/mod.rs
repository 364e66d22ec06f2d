//! SquashFS 4.0 file systems (little-endian; gzip, lzma, lzo, xz, lz4 and zstd blocks).
//!
//! Written here rather than taken from a crate because the gate needs what no SquashFS crate
//! gives: the file system read the way the Linux kernel reads it (the inode decides what an
//! entry is, whatever the directory entry's type says; names that are empty, `.`, `..` or hold
//! a `/` are problems, never path resets), memory bounded by the format (metadata blocks of at
//! most 8 KiB, data blocks of at most the block size, a bounded cache), an iterative walk that
//! no directory depth can overflow, loops detected, the deadline checked per entry, and the
//! exact byte ranges its structures use, so that a superblock claiming more than the tables
//! use cannot hide the rest of an image.

mod data;
mod disk;

use std::collections::{HashMap, HashSet};

use data::{Batch, Job};
use disk::{Fs, MetaReader, Superblock, R};

use crate::formats::{bad_name, le16, le32, le64};
use crate::handler::{human_size, Attrs, Handler, Output, Probe};
use crate::source::Source;
use crate::tree::{Device, DeviceKind};
use crate::Result;

/// The SquashFS handler.
pub struct Squashfs;

impl Handler for Squashfs {
    fn id(&self) -> &'static str {
        "squashfs"
    }
    fn description(&self) -> &'static str {
        "SquashFS 4.0 file system (gzip, lzma, lzo, xz, lz4, zstd)"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[b"hsqs"]
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        let h = src.bytes(0, Superblock::SIZE).ok()?;
        let sb = Superblock::parse(&h)?;
        let info = format!(
            "SquashFS 4.0, {}, {} inodes, block {}, {}",
            sb.comp.name(),
            sb.inodes,
            human_size(sb.block_size.into()),
            human_size(sb.bytes_used)
        );
        Some(Probe::new(Some(sb.bytes_used), info))
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let h = src
            .exact(0, Superblock::SIZE)
            .map_err(|e| out.malformed(e.to_string()))?;
        let sb = Superblock::parse(&h).ok_or_else(|| out.malformed("superblock changed"))?;
        if sb.bytes_used > src.len() {
            out.problem(format!(
                "truncated: superblock says {} bytes, {} present",
                sb.bytes_used,
                src.len()
            ));
        }
        let consumed = sb.bytes_used.min(src.len());
        let mut fs = Fs::new(src.slice(0, consumed), sb);
        if let Err(e) = fs.mark_tables() {
            out.problem(format!("tables: {e}"));
        }
        let walked = walk(&mut fs, out);
        out.used(fs.used.as_slice().to_vec());
        walked?;
        Ok(consumed)
    }
}

/// What an inode is; its type, not the directory entry's, decides.
enum Kind {
    Dir {
        block: u64,
        offset: usize,
        size: u64,
    },
    File(FileInode),
    Symlink(Vec<u8>),
    Special(Device),
}

struct Inode {
    kind: Kind,
    attrs: Attrs,
    number: u32,
    /// The number of names the inode has; above 1 for a hard-linked file.
    nlink: u32,
}

pub(crate) struct FileInode {
    pub(crate) blocks_start: u64,
    pub(crate) fragment: Option<(u32, u32)>,
    pub(crate) size: u64,
    pub(crate) blocks: Vec<u32>,
}

/// Longest symlink target the kernel serves (one page).
const MAX_LINK: usize = 4096;

/// Reads the inode at reference `r` (metadata block offset << 16 | offset in the block).
fn inode(fs: &mut Fs, r: u64, max_blocks: u64) -> R<Inode> {
    let pos = fs.sb.inode_table.saturating_add(r >> 16);
    if pos >= fs.sb.dir_table {
        return Err(format!(
            "inode reference {r:#x} points outside the inode table"
        ));
    }
    let mut m = fs.meta_reader(pos, (r & 0xffff) as usize)?;
    let h = m.read(fs, 16)?;
    let itype = le16(&h, 0).unwrap_or(0);
    let mode = u32::from(le16(&h, 2).unwrap_or(0));
    // The kernel refuses an inode whose owner indexes lie outside the id table.
    let mut owner = [0u32; 2];
    for (i, (what, at)) in [("uid", 4), ("gid", 6)].into_iter().enumerate() {
        let index = le16(&h, at).unwrap_or(0);
        if index >= fs.sb.id_count {
            return Err(format!(
                "inode {r:#x}: {what} index {index} is outside the id table ({} ids)",
                fs.sb.id_count
            ));
        }
        owner[i] = fs.ids.get(usize::from(index)).copied().unwrap_or(0);
    }
    let attrs = Attrs::new(mode, owner[0], owner[1]);
    let mut nlink = 1;
    let number = le32(&h, 12).unwrap_or(0);
    if number == 0 || number > fs.sb.inodes {
        return Err(format!(
            "inode {r:#x} has number {number}, outside 1..={} (corrupt)",
            fs.sb.inodes
        ));
    }
    let kind = match itype {
        1 => {
            let b = m.read(fs, 16)?;
            Kind::Dir {
                block: le32(&b, 0).unwrap_or(0).into(),
                offset: le16(&b, 10).unwrap_or(0).into(),
                size: u64::from(le16(&b, 8).unwrap_or(0)),
            }
        }
        8 => {
            let b = m.read(fs, 24)?;
            Kind::Dir {
                block: le32(&b, 8).unwrap_or(0).into(),
                offset: le16(&b, 18).unwrap_or(0).into(),
                size: le32(&b, 4).unwrap_or(0).into(),
            }
        }
        2 | 9 => {
            let (start, frag, frag_off, size) = if itype == 2 {
                let b = m.read(fs, 16)?;
                (
                    u64::from(le32(&b, 0).unwrap_or(0)),
                    le32(&b, 4).unwrap_or(0),
                    le32(&b, 8).unwrap_or(0),
                    u64::from(le32(&b, 12).unwrap_or(0)),
                )
            } else {
                let b = m.read(fs, 40)?;
                nlink = le32(&b, 24).unwrap_or(1);
                (
                    le64(&b, 0).unwrap_or(0),
                    le32(&b, 28).unwrap_or(0),
                    le32(&b, 32).unwrap_or(0),
                    le64(&b, 8).unwrap_or(0),
                )
            };
            let bs = u64::from(fs.sb.block_size);
            let fragment = (frag != u32::MAX).then_some((frag, frag_off));
            let count = if fragment.is_some() {
                size / bs
            } else {
                size.div_ceil(bs)
            };
            if count > max_blocks {
                return Err(format!(
                    "file of {size} bytes is larger than the per-file limit"
                ));
            }
            let list = read_words(&mut m, fs, count as usize)?;
            Kind::File(FileInode {
                blocks_start: start,
                fragment,
                size,
                blocks: list,
            })
        }
        3 | 10 => {
            let b = m.read(fs, 8)?;
            let n = le32(&b, 4).unwrap_or(0) as usize;
            if n > MAX_LINK {
                return Err(format!(
                    "symlink target of {n} bytes (the kernel serves at most {MAX_LINK})"
                ));
            }
            Kind::Symlink(m.read(fs, n)?)
        }
        4..=7 | 11..=14 => {
            let kind = match itype {
                4 | 11 => DeviceKind::Block,
                5 | 12 => DeviceKind::Char,
                6 | 13 => DeviceKind::Fifo,
                _ => DeviceKind::Socket,
            };
            let b = m.read(
                fs,
                if itype <= 5 || (11..=12).contains(&itype) {
                    8
                } else {
                    4
                },
            )?;
            nlink = le32(&b, 0).unwrap_or(1);
            Kind::Special(Device::from_linux(kind, le32(&b, 4).unwrap_or(0)))
        }
        t => return Err(format!("inode {r:#x} has unknown type {t}")),
    };
    Ok(Inode {
        kind,
        attrs,
        number,
        nlink,
    })
}

fn read_words(m: &mut MetaReader, fs: &mut Fs, n: usize) -> R<Vec<u32>> {
    let b = m.read(fs, n * 4)?;
    Ok(b.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// Walks the tree from the root inode, depth-first with an explicit stack, writing every
/// entry through `out`. Problems with one entry or directory are recorded and the walk goes
/// on; only a global limit stops it.
fn walk(fs: &mut Fs, out: &mut Output<'_>) -> Result<()> {
    let max_blocks = out.limits().max_file_bytes / u64::from(fs.sb.block_size) + 1;
    let root_ref = fs.sb.root_inode;
    let root = match inode(fs, root_ref, max_blocks) {
        Ok(Inode {
            kind:
                Kind::Dir {
                    block,
                    offset,
                    size,
                },
            ..
        }) => (block, offset, size),
        Ok(_) => return Err(out.malformed("the root inode is not a directory")),
        Err(e) => return Err(out.malformed(format!("root inode: {e}"))),
    };
    let mut visited = HashSet::from([root_ref]);
    // Hard-linked files: inode number to the first path extracted.
    let mut linked: HashMap<u32, String> = HashMap::new();
    let mut batch = Batch::default();
    let mut stack = vec![(root, String::new())];
    while let Some(((block, offset, size), path)) = stack.pop() {
        out.check_time()?;
        let shown = if path.is_empty() { "/" } else { &path };
        if let Err(e) = list(
            fs,
            out,
            block,
            offset,
            size,
            &path,
            &mut |fs, out, name, r, number| {
                out.check_time()?;
                let child = format!("{path}/{name}");
                let node = match inode(fs, r, max_blocks) {
                    Ok(n) => n,
                    Err(e) => {
                        out.problem(format!("{child}: {e}"));
                        return Ok(());
                    }
                };
                // The kernel caches inodes by the number the entry states: an entry whose
                // number is another inode's may be served that inode's file instead.
                if i64::from(node.number) != number {
                    out.problem(format!(
                        "{child}: the directory entry says inode {number}, the inode says {}; the kernel may serve another file here",
                        node.number
                    ));
                    return Ok(());
                }
                match node.kind {
                    Kind::Dir {
                        block,
                        offset,
                        size,
                    } => {
                        out.dir(&child, node.attrs)?;
                        if visited.insert(r) {
                            stack.push(((block, offset, size), child));
                        } else {
                            out.problem(format!(
                            "{child}: directory inode reached a second time (a loop or a hard-linked directory); not entered again"
                        ));
                        }
                    }
                    Kind::File(f) => {
                        // Written in batches whose blocks decode in parallel, in this order.
                        let job = if let Some(first) = linked.get(&node.number) {
                            Job::Hardlink {
                                name: child,
                                target: first.clone(),
                            }
                        } else {
                            if node.nlink > 1 {
                                linked.insert(node.number, child.clone());
                            }
                            Job::File {
                                name: child,
                                attrs: node.attrs,
                                inode: f,
                            }
                        };
                        batch.push(fs, out, job)?;
                    }
                    Kind::Symlink(target) => match String::from_utf8(target) {
                        Ok(t) => out.symlink(&child, &t, node.attrs)?,
                        Err(_) => out.problem(format!("{child}: symlink target is not UTF-8")),
                    },
                    Kind::Special(device) => out.special(&child, device, node.attrs)?,
                }
                Ok(())
            },
        ) {
            match e {
                ListError::Fs(e) => out.problem(format!("directory {shown}: {e}")),
                ListError::Stop(e) => return Err(e),
            }
        }
    }
    batch.flush(fs, out)
}

enum ListError {
    Fs(String),
    Stop(crate::UnpackError),
}

/// Called with each entry's name, inode reference and the inode number the entry states.
type Visit<'v> = dyn FnMut(&mut Fs, &mut Output<'_>, &str, u64, i64) -> Result<()> + 'v;

/// Streams one directory listing, calling `visit` with each valid name and inode reference.
fn list(
    fs: &mut Fs,
    out: &mut Output<'_>,
    block: u64,
    offset: usize,
    size: u64,
    path: &str,
    visit: &mut Visit<'_>,
) -> std::result::Result<(), ListError> {
    // The stored size counts 3 bytes the kernel's `.` and `..` take.
    let mut left = size.saturating_sub(3);
    if left == 0 {
        return Ok(());
    }
    let pos = fs.sb.dir_table.saturating_add(block);
    let mut m = fs.meta_reader(pos, offset).map_err(ListError::Fs)?;
    let take = |m: &mut MetaReader,
                fs: &mut Fs,
                left: &mut u64,
                n: usize|
     -> std::result::Result<Vec<u8>, ListError> {
        if (n as u64) > *left {
            return Err(ListError::Fs("listing runs past its stated size".into()));
        }
        *left -= n as u64;
        m.read(fs, n).map_err(ListError::Fs)
    };
    let mut prev: Option<Vec<u8>> = None;
    while left > 0 {
        let h = take(&mut m, fs, &mut left, 12)?;
        let count = le32(&h, 0).unwrap_or(0) as u64 + 1;
        let start = u64::from(le32(&h, 4).unwrap_or(0));
        let base = i64::from(le32(&h, 8).unwrap_or(0));
        if count > 256 {
            return Err(ListError::Fs(format!(
                "directory header lists {count} entries (the format allows 256)"
            )));
        }
        for _ in 0..count {
            let e = take(&mut m, fs, &mut left, 8)?;
            let off = u64::from(le16(&e, 0).unwrap_or(0));
            let delta = i64::from(le16(&e, 2).unwrap_or(0) as i16);
            let number = base + delta;
            let name_len = usize::from(le16(&e, 6).unwrap_or(0)) + 1;
            let name = take(&mut m, fs, &mut left, name_len)?;
            // mksquashfs sorts entries, and the kernel's lookup stops at the first entry
            // whose name sorts after the one it wants: out of order, the device may not find
            // what a listing shows.
            if prev.as_ref().is_some_and(|p| *p >= name) {
                out.problem(format!(
                    "{}: directory entries out of order at {:?}: the kernel's lookup may not find some of them",
                    if path.is_empty() { "/" } else { path },
                    String::from_utf8_lossy(&name)
                ));
            }
            prev = Some(name.clone());
            if let Some(why) = bad_name(&name) {
                out.problem(format!(
                    "{}: directory entry with {why} ({:?}); not extracted",
                    if path.is_empty() { "/" } else { path },
                    String::from_utf8_lossy(&name)
                ));
                continue;
            }
            let name = String::from_utf8_lossy(&name).into_owned();
            visit(fs, out, &name, (start << 16) | off, number).map_err(ListError::Stop)?;
        }
    }
    Ok(())
}
