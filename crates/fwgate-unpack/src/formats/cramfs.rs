//! CramFS (both byte orders): superblock, CRC (when the version-2 flag is set), inodes,
//! zlib blocks behind a block pointer table, holes, symlinks and devices.
//!
//! Hand-written (no maintained Rust crate reads CramFS), and read the way the kernel's
//! `fs/cramfs/inode.c` does: the root directory sits right after the superblock, names lose
//! their NUL padding, a device's number is its size field in the old 8:8 encoding, a zero-length
//! block is a hole, and the kernel does not check the CRC (a wrong one is a problem here,
//! since it means the image was altered after mkfs). The walk uses an explicit stack; a
//! directory whose entries lie inside the superblock, outside the image or in a directory
//! already entered is a problem, and so is a block pointer table that goes backwards.

use std::collections::HashSet;
use std::io::Read;

use crate::coverage::Ranges;
use crate::formats::bad_name;
use crate::handler::{human_size, Attrs, Handler, Output, Probe};
use crate::source::Source;
use crate::tree::{Device, DeviceKind};
use crate::Result;

/// The CramFS handler.
pub struct Cramfs;

/// Superblock plus root inode.
const SUPER: u64 = 76;
/// Data block size: the page size of the device (4 KiB on every CramFS target we know).
const BLOCK: u64 = 4096;
/// Flags the kernel supports (`CRAMFS_SUPPORTED_FLAGS`) minus extended block pointers,
/// which this reader does not handle.
const FLAGS_OK: u32 = 0xff | 0x100 | 0x200 | 0x400;
const FLAG_VERSION_2: u32 = 0x1;
const FLAG_EXT_BLOCK_POINTERS: u32 = 0x800;
const FLAG_SHIFTED_ROOT: u32 = 0x400;
/// Most compressed bytes one block may take (the kernel's bound, rounded up).
const MAX_COMPRESSED: u64 = BLOCK * 2;

#[derive(Debug, Clone, Copy)]
struct Super {
    le: bool,
    size: u64,
    flags: u32,
    crc: u32,
    files: u32,
}

impl Super {
    fn parse(h: &[u8]) -> Option<Super> {
        let le = match h.get(..4)? {
            [0x45, 0x3d, 0xcd, 0x28] => true,
            [0x28, 0xcd, 0x3d, 0x45] => false,
            _ => return None,
        };
        if h.get(16..32)? != b"Compressed ROMFS" {
            return None;
        }
        let w = |at| word(h, at, le);
        let s = Super {
            le,
            size: u64::from(w(4)?),
            flags: w(8)?,
            crc: w(32)?,
            files: w(44)?,
        };
        (s.size >= SUPER).then_some(s)
    }
}

fn word(h: &[u8], at: usize, le: bool) -> Option<u32> {
    let b: [u8; 4] = h.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if le {
        u32::from_le_bytes(b)
    } else {
        u32::from_be_bytes(b)
    })
}

/// A CramFS inode (12 bytes): mode, 16-bit uid, 24-bit size, 8-bit gid, name length in
/// 4-byte units, and the offset (in 4-byte units) of the data or of the directory entries.
#[derive(Debug, Clone, Copy)]
struct Inode {
    mode: u32,
    uid: u32,
    size: u64,
    gid: u32,
    name_len: usize,
    offset: u64,
}

impl Inode {
    fn parse(b: &[u8], le: bool) -> Option<Inode> {
        let (a, s, c) = (word(b, 0, le)?, word(b, 4, le)?, word(b, 8, le)?);
        // C bitfields: the first field takes the low bits on a little-endian host and the
        // high bits on a big-endian one.
        Some(if le {
            Inode {
                mode: a & 0xffff,
                uid: a >> 16,
                size: u64::from(s & 0xff_ffff),
                gid: s >> 24,
                name_len: (c & 0x3f) as usize * 4,
                offset: u64::from(c >> 6) * 4,
            }
        } else {
            Inode {
                mode: a >> 16,
                uid: a & 0xffff,
                size: u64::from(s >> 8),
                gid: s & 0xff,
                name_len: (c >> 26) as usize * 4,
                offset: u64::from(c & 0x3ff_ffff) * 4,
            }
        })
    }
}

impl Handler for Cramfs {
    fn id(&self) -> &'static str {
        "cramfs"
    }
    fn description(&self) -> &'static str {
        "CramFS file system (zlib, both byte orders)"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[&[0x45, 0x3d, 0xcd, 0x28], &[0x28, 0xcd, 0x3d, 0x45]]
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        let h = src.bytes(0, SUPER as usize).ok()?;
        let s = Super::parse(&h)?;
        let root = Inode::parse(h.get(64..76)?, s.le)?;
        if root.mode & 0o170000 != 0o040000 {
            return None;
        }
        let endian = if s.le { "little" } else { "big" };
        Some(Probe::new(
            Some(s.size),
            format!(
                "CramFS ({endian}-endian), {} files, {}",
                s.files,
                human_size(s.size)
            ),
        ))
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let h = src
            .exact(0, SUPER as usize)
            .map_err(|e| out.malformed(e.to_string()))?;
        let s = Super::parse(&h).ok_or_else(|| out.malformed("superblock changed"))?;
        if s.flags & FLAG_EXT_BLOCK_POINTERS != 0 {
            return Err(out.malformed(
                "uses extended block pointers (uncompressed or direct blocks), which this reader does not handle; not extracted",
            ));
        }
        if s.flags & !FLAGS_OK != 0 {
            return Err(out.malformed(format!(
                "flags {:#x} include features the kernel does not support",
                s.flags
            )));
        }
        if s.size > src.len() {
            out.problem(format!(
                "truncated: the superblock says {} bytes, {} present",
                s.size,
                src.len()
            ));
        }
        let consumed = s.size.min(src.len());
        let src = src.slice(0, consumed);
        if s.flags & FLAG_VERSION_2 != 0 {
            match crc(&src, out) {
                Ok(c) if c == s.crc => {}
                Ok(c) => out.problem(format!(
                    "CRC {c:#010x} of the image differs from the superblock's {:#010x}: altered after mkfs.cramfs (the kernel does not check it)",
                    s.crc
                )),
                Err(e) => out.problem(format!("CRC not checked: {e}")),
            }
        }
        let root = Inode::parse(&h[64..76], s.le).ok_or_else(|| out.malformed("root inode"))?;
        if root.mode & 0o170000 != 0o040000 {
            return Err(out.malformed("the root inode is not a directory"));
        }
        if root.offset != 0 && s.flags & FLAG_SHIFTED_ROOT == 0 && root.offset != SUPER {
            return Err(out.malformed(format!(
                "root directory at {:#x}, not right after the superblock (the kernel refuses it)",
                root.offset
            )));
        }
        let mut fs = Fs {
            src,
            le: s.le,
            used: Ranges::default(),
        };
        fs.used.add(0, SUPER);
        let walked = walk(&mut fs, root, out);
        out.used(fs.used.as_slice().to_vec());
        walked?;
        Ok(consumed)
    }
}

/// The image's CRC-32 with the superblock's CRC field read as zero.
fn crc(src: &Source, out: &Output<'_>) -> Result<u32> {
    let mut h = crc32fast::Hasher::new();
    let mut r = src.reader(0);
    let mut buf = vec![0u8; 64 * 1024];
    let mut at = 0u64;
    loop {
        out.check_time()?;
        let n = r.read(&mut buf).map_err(|e| out.malformed(e.to_string()))?;
        if n == 0 {
            break;
        }
        let chunk = &mut buf[..n];
        for i in 32..36u64 {
            if (at..at + n as u64).contains(&i) {
                chunk[(i - at) as usize] = 0;
            }
        }
        h.update(chunk);
        at += n as u64;
    }
    Ok(h.finalize())
}

struct Fs {
    src: Source,
    le: bool,
    used: Ranges,
}

impl Fs {
    /// `n` bytes at `at`, recorded as used; outside the image or inside the superblock is
    /// an error.
    fn read(&mut self, at: u64, n: u64, what: &str) -> std::result::Result<Vec<u8>, String> {
        if at < SUPER || at.saturating_add(n) > self.src.len() {
            return Err(format!(
                "{what} at {at:#x}..{:#x} lies outside the image's data ({SUPER:#x}..{:#x})",
                at.saturating_add(n),
                self.src.len()
            ));
        }
        let b = self
            .src
            .exact(at, n as usize)
            .map_err(|e| format!("{what}: {e}"))?;
        self.used.add(at, at + n);
        Ok(b)
    }
}

fn walk(fs: &mut Fs, root: Inode, out: &mut Output<'_>) -> Result<()> {
    let mut visited = HashSet::new();
    let mut stack = vec![(root, String::new())];
    while let Some((dir, path)) = stack.pop() {
        out.check_time()?;
        let shown = if path.is_empty() { "/" } else { &path }.to_string();
        if dir.size == 0 {
            continue;
        }
        if !visited.insert(dir.offset) {
            out.problem(format!(
                "directory {shown}: its entries at {:#x} were listed already (a directory cycle); not entered again",
                dir.offset
            ));
            continue;
        }
        let mut at = dir.offset;
        let end = dir.offset.saturating_add(dir.size);
        while at < end {
            out.check_time()?;
            let head = match fs.read(at, 12, "directory entry") {
                Ok(h) => h,
                Err(e) => {
                    out.problem(format!("directory {shown}: {e}; the rest not listed"));
                    break;
                }
            };
            let Some(ino) = Inode::parse(&head, fs.le) else {
                break;
            };
            let name = match fs.read(at + 12, ino.name_len as u64, "name") {
                Ok(n) => n,
                Err(e) => {
                    out.problem(format!("directory {shown}: {e}; the rest not listed"));
                    break;
                }
            };
            at += 12 + ino.name_len as u64;
            let trimmed = name.len() - name.iter().rev().take_while(|&&c| c == 0).count();
            let name = &name[..trimmed];
            if let Some(why) = bad_name(name) {
                out.problem(format!(
                    "directory {shown}: entry with {why} ({:?}); not extracted",
                    String::from_utf8_lossy(name)
                ));
                continue;
            }
            let child = format!("{path}/{}", String::from_utf8_lossy(name));
            entry(fs, ino, child, &mut stack, out)?;
        }
        if at > end {
            out.problem(format!(
                "directory {shown}: its last entry runs past the directory's size"
            ));
        }
    }
    Ok(())
}

fn entry(
    fs: &mut Fs,
    ino: Inode,
    child: String,
    stack: &mut Vec<(Inode, String)>,
    out: &mut Output<'_>,
) -> Result<()> {
    let attrs = Attrs::new(ino.mode, ino.uid, ino.gid);
    match ino.mode & 0o170000 {
        0o040000 => {
            out.dir(&child, attrs)?;
            stack.push((ino, child));
        }
        0o100000 => {
            let mut r = FileReader::new(fs, ino);
            out.file(&child, &mut r, attrs)?;
        }
        0o120000 => {
            let mut target = Vec::new();
            let read = FileReader::new(fs, ino).take(4097).read_to_end(&mut target);
            match read {
                Err(e) => out.problem(format!("{child}: symlink target: {e}")),
                Ok(_) if target.len() > 4096 || target.is_empty() || target.contains(&0) => out
                    .problem(format!(
                        "{child}: symlink target is empty, too long or holds NUL"
                    )),
                Ok(_) => match String::from_utf8(target) {
                    Ok(t) => out.symlink(&child, &t, attrs)?,
                    Err(_) => out.problem(format!("{child}: symlink target is not UTF-8")),
                },
            }
        }
        t @ (0o020000 | 0o060000) => {
            let kind = if t == 0o020000 {
                DeviceKind::Char
            } else {
                DeviceKind::Block
            };
            let dev = Device {
                kind,
                major: ((ino.size >> 8) & 0xff) as u32,
                minor: (ino.size & 0xff) as u32,
            };
            out.special(&child, dev, attrs)?;
        }
        0o010000 => out.special(&child, Device::from_linux(DeviceKind::Fifo, 0), attrs)?,
        0o140000 => out.special(&child, Device::from_linux(DeviceKind::Socket, 0), attrs)?,
        t => out.problem(format!(
            "{child}: unknown file type {:#o}; not extracted",
            t >> 12
        )),
    }
    Ok(())
}

/// Reads a file's blocks in order: the pointer table gives each block's end; a block ends
/// where the previous one did for a hole.
struct FileReader<'f> {
    fs: &'f mut Fs,
    ino: Inode,
    blocks: u64,
    next: u64,
    /// Where the next block's compressed data starts.
    start: u64,
    buf: Vec<u8>,
    at: usize,
}

impl<'f> FileReader<'f> {
    fn new(fs: &'f mut Fs, ino: Inode) -> Self {
        let blocks = ino.size.div_ceil(BLOCK);
        FileReader {
            fs,
            ino,
            blocks,
            next: 0,
            start: ino.offset.saturating_add(blocks * 4),
            buf: Vec::new(),
            at: 0,
        }
    }

    fn refill(&mut self) -> std::result::Result<(), String> {
        let i = self.next;
        let want = (self.ino.size - i * BLOCK).min(BLOCK) as usize;
        let p = self.fs.read(self.ino.offset + i * 4, 4, "block pointer")?;
        let end = u64::from(word(&p, 0, self.fs.le).unwrap_or(0));
        if end < self.start {
            return Err(format!(
                "block {i}'s pointer {end:#x} goes back before {:#x} (a decreasing block table)",
                self.start
            ));
        }
        let len = end - self.start;
        let data = if len == 0 {
            vec![0u8; want]
        } else if len > MAX_COMPRESSED {
            return Err(format!("block {i} claims {len} compressed bytes"));
        } else {
            let z = self.fs.read(self.start, len, "compressed block")?;
            let mut d = Vec::with_capacity(want);
            flate2::read::ZlibDecoder::new(&z[..])
                .take(BLOCK + 1)
                .read_to_end(&mut d)
                .map_err(|e| format!("block {i}: {e}"))?;
            d
        };
        if data.len() != want {
            return Err(format!(
                "block {i} holds {} bytes where the file needs {want}",
                data.len()
            ));
        }
        self.start = end;
        self.next += 1;
        self.buf = data;
        self.at = 0;
        Ok(())
    }
}

impl Read for FileReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at >= self.buf.len() {
            if self.next >= self.blocks {
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
