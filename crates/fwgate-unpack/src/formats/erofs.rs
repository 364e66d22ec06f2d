//! EROFS, uncompressed: superblock (with its CRC32C when the flag says), compact and
//! extended inodes, the flat-plain and flat-inline (tail-packed) layouts, directories,
//! symlinks, devices, owners and hard links (one inode, several names).
//!
//! Hand-written (no Rust crate reads EROFS), read as the kernel's `fs/erofs/` does: an inode
//! is found by its nid, its mode decides what it is, names are bounded by the next entry's
//! name offset. Compressed and chunk-based files are problems naming the file (not decoded
//! yet), as are incompatible features that change where plain data lives. The walk uses an
//! explicit stack; a directory reached twice is a problem.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use crate::coverage::Ranges;
use crate::formats::{bad_name, le16, le32, le64};
use crate::handler::{human_size, Attrs, Handler, Output, Probe};
use crate::source::Source;
use crate::tree::{Device, DeviceKind};
use crate::Result;

/// The EROFS handler.
pub struct Erofs;

const SB_OFFSET: u64 = 1024;
const SB_SIZE: usize = 128;
const FEATURE_SB_CHKSUM: u32 = 0x1;
/// Incompatible features that change where uncompressed data lives.
const INCOMPAT_BAD: &[(u32, &str)] = &[(0x8, "device_table"), (0x20, "fragments")];
/// Longest symlink target the kernel serves.
const MAX_LINK: u64 = 4096;

#[derive(Debug, Clone, Copy)]
struct Super {
    checksum: u32,
    compat: u32,
    block_bits: u32,
    root_nid: u64,
    inodes: u64,
    blocks: u64,
    meta_blkaddr: u64,
    incompat: u32,
}

impl Super {
    fn parse(h: &[u8]) -> Option<Super> {
        if le32(h, 0)? != 0xe0f5_e1e2 {
            return None;
        }
        let s = Super {
            checksum: le32(h, 4)?,
            compat: le32(h, 8)?,
            block_bits: u32::from(*h.get(12)?),
            root_nid: u64::from(le16(h, 14)?),
            inodes: le64(h, 16)?,
            blocks: u64::from(le32(h, 36)?),
            meta_blkaddr: u64::from(le32(h, 40)?),
            incompat: le32(h, 80)?,
        };
        // The kernel supports blocks of 512 bytes up to the page size.
        ((9..=16).contains(&s.block_bits) && s.blocks > 0).then_some(s)
    }

    fn block_size(&self) -> u64 {
        1 << self.block_bits
    }
}

/// CRC32C (Castagnoli), as the kernel's `crc32c(~0, …)`: no final inversion.
fn crc32c(seed: u32, data: &[u8]) -> u32 {
    let mut crc = seed;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
        }
    }
    crc
}

impl Handler for Erofs {
    fn id(&self) -> &'static str {
        "erofs"
    }
    fn description(&self) -> &'static str {
        "EROFS file system (uncompressed files)"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[&[0xe2, 0xe1, 0xf5, 0xe0]]
    }
    fn magic_offset(&self) -> usize {
        SB_OFFSET as usize
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        let h = src.bytes(SB_OFFSET, SB_SIZE).ok()?;
        let s = Super::parse(&h)?;
        let len = s.blocks.checked_mul(s.block_size())?;
        Some(Probe::new(
            Some(len),
            format!(
                "EROFS, {} inodes, blocks of {}, {}",
                s.inodes,
                human_size(s.block_size()),
                human_size(len)
            ),
        ))
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let h = src
            .exact(SB_OFFSET, SB_SIZE)
            .map_err(|e| out.malformed(e.to_string()))?;
        let s = Super::parse(&h).ok_or_else(|| out.malformed("superblock changed"))?;
        let bad: Vec<&str> = INCOMPAT_BAD
            .iter()
            .filter(|f| s.incompat & f.0 != 0)
            .map(|f| f.1)
            .collect();
        if !bad.is_empty() {
            return Err(out.malformed(format!(
                "uses features this reader does not handle: {}; not extracted",
                bad.join(", ")
            )));
        }
        let bs = s.block_size();
        let len = s.blocks.saturating_mul(bs);
        if len > src.len() {
            out.problem(format!(
                "truncated: the superblock says {len} bytes, {} present",
                src.len()
            ));
        }
        let consumed = len.min(src.len());
        if s.compat & FEATURE_SB_CHKSUM != 0 && bs > SB_OFFSET {
            let mut b = src
                .exact(SB_OFFSET, (bs - SB_OFFSET) as usize)
                .map_err(|e| out.malformed(e.to_string()))?;
            b[4..8].fill(0);
            let crc = crc32c(!0, &b);
            if crc != s.checksum {
                out.problem(format!(
                    "superblock checksum {crc:#010x} differs from the stored {:#010x}: the kernel refuses to mount it",
                    s.checksum
                ));
            }
        }
        let mut fs = Fs {
            src: src.slice(0, consumed),
            sb: s,
            used: Ranges::default(),
        };
        fs.used.add(0, SB_OFFSET + SB_SIZE as u64);
        let walked = walk(&mut fs, out);
        out.used(fs.used.as_slice().to_vec());
        walked?;
        Ok(consumed)
    }
}

type R<T> = std::result::Result<T, String>;

struct Fs {
    src: Source,
    sb: Super,
    used: Ranges,
}

#[derive(Debug, Clone)]
struct Inode {
    nid: u64,
    mode: u32,
    uid: u32,
    gid: u32,
    size: u64,
    nlink: u32,
    layout: u16,
    raw: u32,
    /// Where the inline tail starts (after the inode and its xattrs).
    tail: u64,
}

impl Fs {
    fn read(&mut self, at: u64, n: u64, what: &str) -> R<Vec<u8>> {
        if at.saturating_add(n) > self.src.len() {
            return Err(format!("{what} at {at:#x} lies past the end of the image"));
        }
        let b = self
            .src
            .exact(at, n as usize)
            .map_err(|e| format!("{what}: {e}"))?;
        self.used.add(at, at + n);
        Ok(b)
    }

    fn inode(&mut self, nid: u64) -> R<Inode> {
        let at = self
            .sb
            .meta_blkaddr
            .checked_mul(self.sb.block_size())
            .and_then(|m| m.checked_add(nid.checked_mul(32)?))
            .ok_or_else(|| format!("nid {nid} is out of range"))?;
        let b = self.read(at, 32, "inode")?;
        let format = le16(&b, 0).unwrap_or(0);
        let extended = format & 1 != 0;
        let b = if extended {
            self.read(at, 64, "inode")?
        } else {
            b
        };
        let icount = u64::from(le16(&b, 2).unwrap_or(0));
        let xattrs = if icount == 0 {
            0
        } else {
            12 + (icount - 1) * 4
        };
        let isize = if extended { 64 } else { 32 };
        if xattrs > 0 {
            self.read(at + isize, xattrs, "inline xattrs")?;
        }
        let w = |o| le32(&b, o).unwrap_or(0);
        let h = |o| u32::from(le16(&b, o).unwrap_or(0));
        let (size, uid, gid, nlink) = if extended {
            (le64(&b, 8).unwrap_or(0), w(24), w(28), w(44))
        } else {
            (u64::from(w(8)), h(24), h(26), h(6))
        };
        Ok(Inode {
            nid,
            mode: h(4),
            uid,
            gid,
            size,
            nlink,
            layout: (format >> 1) & 0x7,
            raw: w(16),
            tail: at + isize + xattrs,
        })
    }
}

/// Reads an uncompressed file: full blocks from its block address, then (inline layout) the
/// tail right after the inode.
struct FileReader<'f> {
    fs: &'f mut Fs,
    ino: Inode,
    pos: u64,
    buf: Vec<u8>,
    at: usize,
}

impl FileReader<'_> {
    fn refill(&mut self) -> R<()> {
        let bs = self.fs.sb.block_size();
        let want = (self.ino.size - self.pos).min(bs);
        let index = self.pos / bs;
        let full = self.ino.size / bs;
        let data = if self.ino.layout == 2 && index == full {
            // The tail may not cross a block boundary (the kernel refuses it).
            if (self.ino.tail % bs) + want > bs {
                return Err("its inline tail crosses a block boundary".into());
            }
            self.fs.read(self.ino.tail, want, "inline tail")?
        } else {
            let block = u64::from(self.ino.raw)
                .checked_add(index)
                .filter(|b| *b < self.fs.sb.blocks)
                .ok_or_else(|| format!("data block {index} lies outside the file system"))?;
            self.fs.read(block * bs, want, "data block")?
        };
        self.pos += want;
        self.buf = data;
        self.at = 0;
        Ok(())
    }
}

impl Read for FileReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at >= self.buf.len() {
            if self.pos >= self.ino.size {
                return Ok(0);
            }
            self.refill().map_err(std::io::Error::other)?;
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn reader(fs: &mut Fs, ino: Inode) -> R<FileReader<'_>> {
    match ino.layout {
        0 | 2 => Ok(FileReader {
            fs,
            ino,
            pos: 0,
            buf: Vec::new(),
            at: 0,
        }),
        1 | 3 => Err("is compressed, which this reader does not decode yet; not extracted".into()),
        4 => Err("is chunk-based, which this reader does not handle; not extracted".into()),
        l => Err(format!("has unknown data layout {l}; not extracted")),
    }
}

/// Lists a directory: per block, `nameoff / 12` entries of 12 bytes, each name running to
/// the next entry's name offset (the last to the first NUL or the block's end).
fn entries(fs: &mut Fs, dir: &Inode, out: &mut Output<'_>) -> R<Vec<(String, u64)>> {
    let bs = fs.sb.block_size() as usize;
    let max = out.limits().max_entries;
    let mut list = Vec::new();
    let mut r = reader(fs, dir.clone())?;
    loop {
        if out.check_time().is_err() {
            return Err("deadline reached".into());
        }
        let mut b = Vec::with_capacity(bs);
        (&mut r)
            .take(bs as u64)
            .read_to_end(&mut b)
            .map_err(|e| e.to_string())?;
        if b.is_empty() {
            break;
        }
        let first = usize::from(le16(&b, 8).unwrap_or(0));
        if first < 12 || first % 12 != 0 || first > b.len() {
            return Err(format!("a directory block's first name offset is {first}"));
        }
        let n = first / 12;
        for i in 0..n {
            let nid = le64(&b, i * 12).unwrap_or(0);
            let from = usize::from(le16(&b, i * 12 + 8).unwrap_or(0));
            let to = if i + 1 < n {
                usize::from(le16(&b, i * 12 + 20).unwrap_or(0))
            } else {
                let rest = b.get(from..).unwrap_or(&[]);
                from + rest.iter().position(|&c| c == 0).unwrap_or(rest.len())
            };
            let Some(name) = b.get(from..to).filter(|_| from >= first) else {
                return Err(format!("entry {i} of a block has names at {from}..{to}"));
            };
            if name == b"." || name == b".." {
                continue;
            }
            if let Some(why) = bad_name(name) {
                out.problem(format!(
                    "directory nid {}: entry with {why} ({:?}); not extracted",
                    dir.nid,
                    String::from_utf8_lossy(name)
                ));
                continue;
            }
            list.push((String::from_utf8_lossy(name).into_owned(), nid));
        }
        if list.len() as u64 > max {
            return Err("more entries than the entry limit".into());
        }
        if b.len() < bs {
            break;
        }
    }
    Ok(list)
}

fn walk(fs: &mut Fs, out: &mut Output<'_>) -> Result<()> {
    let root = fs
        .inode(fs.sb.root_nid)
        .map_err(|e| out.malformed(format!("root inode: {e}")))?;
    if root.mode & 0o170000 != 0o040000 {
        return Err(out.malformed("the root inode is not a directory"));
    }
    let mut visited = HashSet::from([root.nid]);
    let mut linked: HashMap<u64, String> = HashMap::new();
    let mut stack = vec![(root, String::new())];
    while let Some((dir, path)) = stack.pop() {
        out.check_time()?;
        let shown = if path.is_empty() { "/" } else { &path }.to_string();
        let list = match entries(fs, &dir, out) {
            Ok(l) => l,
            Err(e) => {
                out.check_time()?;
                out.problem(format!("directory {shown}: {e}"));
                continue;
            }
        };
        for (name, nid) in list {
            out.check_time()?;
            let child = format!("{path}/{name}");
            let ino = match fs.inode(nid) {
                Ok(i) => i,
                Err(e) => {
                    out.problem(format!("{child}: {e}"));
                    continue;
                }
            };
            let attrs = Attrs::new(ino.mode, ino.uid, ino.gid);
            match ino.mode & 0o170000 {
                0o040000 => {
                    out.dir(&child, attrs)?;
                    if visited.insert(nid) {
                        stack.push((ino, child));
                    } else {
                        out.problem(format!(
                            "{child}: directory nid {nid} reached a second time (a loop or a hard-linked directory); not entered again"
                        ));
                    }
                }
                0o100000 => {
                    if let Some(first) = linked.get(&nid) {
                        out.hardlink(&child, first)?;
                        continue;
                    }
                    if ino.size > out.limits().max_file_bytes {
                        out.problem(format!(
                            "{child}: {} bytes, more than the per-file limit; not extracted",
                            ino.size
                        ));
                        continue;
                    }
                    let nlink = ino.nlink;
                    match reader(fs, ino) {
                        Ok(mut r) => {
                            if nlink > 1 {
                                linked.insert(nid, child.clone());
                            }
                            out.file(&child, &mut r, attrs)?;
                        }
                        Err(e) => out.problem(format!("{child}: {e}")),
                    }
                }
                0o120000 => {
                    let target = if ino.size == 0 || ino.size > MAX_LINK {
                        Err(format!("target of {} bytes", ino.size))
                    } else {
                        reader(fs, ino).and_then(|mut r| {
                            let mut v = Vec::new();
                            r.read_to_end(&mut v).map_err(|e| e.to_string())?;
                            String::from_utf8(v).map_err(|_| "target is not UTF-8".to_string())
                        })
                    };
                    match target {
                        Ok(t) if !t.contains('\0') => out.symlink(&child, &t, attrs)?,
                        Ok(_) => out.problem(format!("{child}: symlink target holds NUL")),
                        Err(e) => out.problem(format!("{child}: symlink {e}")),
                    }
                }
                t @ (0o020000 | 0o060000) => {
                    let kind = if t == 0o020000 {
                        DeviceKind::Char
                    } else {
                        DeviceKind::Block
                    };
                    out.special(&child, Device::from_linux(kind, ino.raw), attrs)?;
                }
                0o010000 => out.special(&child, Device::from_linux(DeviceKind::Fifo, 0), attrs)?,
                0o140000 => {
                    out.special(&child, Device::from_linux(DeviceKind::Socket, 0), attrs)?
                }
                t => out.problem(format!(
                    "{child}: unknown file type {:#o}; not extracted",
                    t >> 12
                )),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_reference_value() {
        // CRC-32C of "123456789" is 0xe3069283 (after the final inversion).
        assert_eq!(!crc32c(!0, b"123456789"), 0xe306_9283);
    }
}
