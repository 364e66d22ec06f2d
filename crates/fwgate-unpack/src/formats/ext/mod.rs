//! ext2, ext3 and ext4 file systems.
//!
//! Written here rather than with the `ext4-view` crate: that crate reads ext2 and ext4 well,
//! but its public API gives neither inode numbers (hard links) nor device numbers, nor a way
//! to stop at the deadline or to learn which blocks it read. The reader follows the kernel:
//! the inode decides what an entry is, devices come from `i_block` in the old or the new
//! encoding, owners carry their high 16 bits, fast symlinks are those without data blocks,
//! htree directories are read linearly (their index blocks look like empty entries), the
//! journal is not replayed (a file system that needs recovery is a problem: the device would
//! replay it), and an incompatible feature it does not handle stops extraction by name.
//!
//! Coverage: the superblock and its copies, descriptor tables, bitmaps, inode tables, the
//! journal and every block a reachable file or directory uses are declared used. Free blocks
//! are left to the engine: zeroed ones (what mke2fs and genext2fs leave) are padding, and
//! anything else there (the remains of a deleted file, still shipped in the image and
//! readable by anyone who has it) is carved and examined or reported like any other gap.

mod disk;

use std::collections::{HashMap, HashSet};
use std::io::Read;

use disk::{Fs, Inode, Map, Superblock, R};

use crate::formats::{bad_name, le16, le32};
use crate::handler::{human_size, Attrs, Handler, Output, Probe};
use crate::source::Source;
use crate::tree::{Device, DeviceKind};
use crate::Result;

/// The ext2/3/4 handler.
pub struct Ext;

impl Handler for Ext {
    fn id(&self) -> &'static str {
        "ext"
    }
    fn description(&self) -> &'static str {
        "ext2/3/4 file system"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[&[0x53, 0xef]]
    }
    fn magic_offset(&self) -> usize {
        1080
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        let h = src.bytes(Superblock::OFFSET, Superblock::SIZE).ok()?;
        let sb = Superblock::parse(&h)?;
        // A mount state and an error policy (genext2fs leaves the policy 0, the default).
        let state = le16(&h, 58)?;
        let errors = le16(&h, 60)?;
        if !(1..=7).contains(&state) || errors > 3 {
            return None;
        }
        let len = sb.blocks.checked_mul(sb.block_size)?;
        let kind = if sb.incompat & 0x40 != 0 {
            "ext4"
        } else if sb.compat & 0x4 != 0 {
            "ext3"
        } else {
            "ext2"
        };
        let info = format!(
            "{kind} file system, {} blocks of {}, {} inodes, {}",
            sb.blocks,
            human_size(sb.block_size),
            sb.inodes,
            human_size(len)
        );
        Some(Probe::new(Some(len), info))
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let h = src
            .exact(Superblock::OFFSET, Superblock::SIZE)
            .map_err(|e| out.malformed(e.to_string()))?;
        let sb = Superblock::parse(&h).ok_or_else(|| out.malformed("superblock changed"))?;
        let bad = sb.unsupported();
        if !bad.is_empty() {
            return Err(out.malformed(format!(
                "uses features this reader does not handle: {}; not extracted",
                bad.join(", ")
            )));
        }
        let groups = sb.groups();
        if u64::from(sb.inodes) != groups.saturating_mul(u64::from(sb.inodes_per_group)) {
            return Err(out.malformed(format!(
                "superblock says {} inodes, but {groups} groups of {} hold {} (the kernel refuses it)",
                sb.inodes,
                sb.inodes_per_group,
                groups.saturating_mul(u64::from(sb.inodes_per_group))
            )));
        }
        let len = sb.blocks.saturating_mul(sb.block_size);
        if len > src.len() {
            out.problem(format!(
                "truncated: the superblock says {} bytes, {} present",
                len,
                src.len()
            ));
        }
        if sb.incompat & disk::INCOMPAT_RECOVER != 0 {
            out.problem(
                "the journal needs recovery: the device replays it on mount, this reader does not; files may differ",
            );
        }
        let consumed = len.min(src.len());
        let mut fs = Fs::new(src.slice(0, consumed), sb);
        let walked = run(&mut fs, out);
        out.used(fs.used.as_slice().to_vec());
        walked?;
        Ok(consumed)
    }
}

fn run(fs: &mut Fs, out: &mut Output<'_>) -> Result<()> {
    let mut alive = || out_time_ok(out);
    if let Err(e) = fs.mark_groups(&mut alive) {
        out.check_time()?;
        return Err(out.malformed(e));
    }
    structures(fs, out)?;
    walk(fs, out)
}

fn out_time_ok(out: &Output<'_>) -> bool {
    out.check_time().is_ok()
}

/// Declares the structure inodes' blocks used (journal, quota, orphan file, resize inode),
/// and reports reserved inodes that hold data this reader does not extract.
fn structures(fs: &mut Fs, out: &mut Output<'_>) -> Result<()> {
    let list = fs.sb.structure_inodes.clone();
    for n in list {
        out.check_time()?;
        let ino = match fs.inode(n) {
            Ok(i) => i,
            Err(e) => {
                out.problem(format!("structure inode {n}: {e}"));
                continue;
            }
        };
        if n == 7 {
            fs.mark_resize_inode(&ino);
            continue;
        }
        let mut alive = || out_time_ok(out);
        if let Err(e) = fs.mark_inode_blocks(&ino, &mut alive) {
            out.check_time()?;
            out.problem(format!("structure inode {n}: {e}"));
        }
    }
    // Reserved inodes come before the first ordinary one (11 in every mke2fs); a superblock
    // claiming more is not believed past 64.
    let reserved = fs.sb.first_ino.min(fs.sb.inodes).min(64);
    for n in (1..reserved).filter(|n| ![2, 7, 11].contains(n)) {
        if fs.sb.structure_inodes.contains(&n) {
            continue;
        }
        if let Ok(ino) = fs.inode(n) {
            if ino.size != 0 || ino.sectors != 0 {
                out.problem(format!(
                    "reserved inode {n} holds {} bytes of data; not extracted",
                    ino.size
                ));
            }
        }
    }
    Ok(())
}

/// Longest symlink target the kernel serves (one page).
const MAX_LINK: u64 = 4096;
/// Largest directory listed (the kernel's large_dir limit is far above any firmware's).
const MAX_DIR_BYTES: u64 = 256 << 20;

/// Walks the tree from the root inode (2) with an explicit stack, writing every entry.
fn walk(fs: &mut Fs, out: &mut Output<'_>) -> Result<()> {
    let max_blocks = out.limits().max_file_bytes / fs.sb.block_size + 1;
    let root = match fs.inode(2) {
        Ok(i) if i.kind() == 0x4000 => i,
        Ok(_) => return Err(out.malformed("the root inode is not a directory")),
        Err(e) => return Err(out.malformed(format!("root inode: {e}"))),
    };
    let mut visited = HashSet::from([2u32]);
    let mut linked: HashMap<u32, String> = HashMap::new();
    let mut stack = vec![(root, String::new())];
    while let Some((dir, path)) = stack.pop() {
        out.check_time()?;
        fs.mark_xattr_block(&dir);
        let shown = if path.is_empty() { "/" } else { &path }.to_string();
        let entries = match entries(fs, out, &dir, max_blocks) {
            Ok(e) => e,
            Err(e) => {
                out.check_time()?;
                out.problem(format!("directory {shown}: {e}"));
                continue;
            }
        };
        for (name, number) in entries {
            out.check_time()?;
            let child = format!("{path}/{name}");
            let ino = match fs.inode(number) {
                Ok(i) => i,
                Err(e) => {
                    out.problem(format!("{child}: {e}"));
                    continue;
                }
            };
            if ino.links == 0 || ino.mode == 0 {
                out.problem(format!(
                    "{child}: the entry names inode {number}, which is deleted (the kernel refuses it)"
                ));
                continue;
            }
            fs.mark_xattr_block(&ino);
            let attrs = Attrs::new(u32::from(ino.mode), ino.uid, ino.gid);
            match ino.kind() {
                0x4000 => {
                    out.dir(&child, attrs)?;
                    if visited.insert(number) {
                        stack.push((ino, child));
                    } else {
                        out.problem(format!(
                            "{child}: directory inode {number} reached a second time (a loop or a hard-linked directory); not entered again"
                        ));
                    }
                }
                0x8000 => {
                    if let Some(first) = linked.get(&number) {
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
                    match fs.map(&ino, max_blocks) {
                        Ok(map) => {
                            linked.insert(number, child.clone());
                            let mut r = FileReader::new(fs, map, ino.size);
                            out.file(&child, &mut r, attrs)?;
                        }
                        Err(e) => out.problem(format!("{child}: {e}; not extracted")),
                    }
                }
                0xa000 => match link_target(fs, &ino, max_blocks) {
                    Ok(t) => out.symlink(&child, &t, attrs)?,
                    Err(e) => out.problem(format!("{child}: symlink {e}")),
                },
                0x2000 | 0x6000 => {
                    let kind = if ino.kind() == 0x2000 {
                        DeviceKind::Char
                    } else {
                        DeviceKind::Block
                    };
                    out.special(&child, device(&ino, kind), attrs)?;
                }
                0x1000 => out.special(&child, Device::from_linux(DeviceKind::Fifo, 0), attrs)?,
                0xc000 => out.special(&child, Device::from_linux(DeviceKind::Socket, 0), attrs)?,
                t => out.problem(format!(
                    "{child}: inode {number} has unknown type {:#o}; not extracted",
                    t >> 12
                )),
            }
        }
    }
    Ok(())
}

/// A device number as the kernel decodes it: `i_block[0]` in the old 8:8 encoding when set,
/// else `i_block[1]` in the new one.
fn device(ino: &Inode, kind: DeviceKind) -> Device {
    let old = le32(&ino.block, 0).unwrap_or(0);
    if old != 0 {
        Device {
            kind,
            major: (old >> 8) & 0xff,
            minor: old & 0xff,
        }
    } else {
        Device::from_linux(kind, le32(&ino.block, 4).unwrap_or(0))
    }
}

/// A symlink's target: in `i_block` for a fast symlink (one with no data blocks), else in
/// its data.
fn link_target(fs: &mut Fs, ino: &Inode, max_blocks: u64) -> R<String> {
    if ino.size == 0 || ino.size > MAX_LINK {
        return Err(format!(
            "target of {} bytes (the kernel serves 1 to {MAX_LINK})",
            ino.size
        ));
    }
    let ea_sectors = if ino.file_acl != 0 {
        fs.sb.block_size / 512
    } else {
        0
    };
    let bytes = if ino.flags & disk::FLAG_INLINE == 0 && ino.sectors.saturating_sub(ea_sectors) == 0
    {
        let n = ino.size as usize;
        if n >= ino.block.len() {
            return Err("is fast but longer than the inode holds".into());
        }
        ino.block[..n].to_vec()
    } else {
        let map = fs.map(ino, max_blocks)?;
        let mut v = Vec::new();
        FileReader::new(fs, map, ino.size)
            .read_to_end(&mut v)
            .map_err(|e| e.to_string())?;
        v
    };
    if bytes.contains(&0) {
        return Err("target holds a NUL byte".into());
    }
    String::from_utf8(bytes).map_err(|_| "target is not UTF-8".to_string())
}

/// Lists a directory linearly, block by block, the way `readdir` does (htree index blocks
/// read as one empty entry; checksum tails have inode 0). `.` and `..` are left out.
fn entries(
    fs: &mut Fs,
    out: &mut Output<'_>,
    dir: &Inode,
    max_blocks: u64,
) -> R<Vec<(String, u32)>> {
    let shown = dir.number;
    let mut list = Vec::new();
    let filetype = fs.sb.incompat & disk::INCOMPAT_FILETYPE != 0;
    let map = fs.map(dir, max_blocks)?;
    let chunks: Vec<Vec<u8>> = match map {
        Map::Inline(data) => {
            // Four bytes of parent inode number, then entries; then the rest in the xattr.
            let head = data.get(4..60).map(<[u8]>::to_vec).unwrap_or_default();
            let tail = data.get(60..).map(<[u8]>::to_vec).unwrap_or_default();
            vec![head, tail]
        }
        map => {
            if dir.size > MAX_DIR_BYTES {
                return Err(format!(
                    "size of {} bytes (more than {MAX_DIR_BYTES} is not a directory this reader lists)",
                    dir.size
                ));
            }
            let bs = fs.sb.block_size as usize;
            let mut r = FileReader::new(fs, map, dir.size);
            let mut corrupt = 0;
            loop {
                if out.check_time().is_err() {
                    return Err("deadline reached".into());
                }
                let mut b = vec![0u8; bs];
                let mut got = 0;
                while got < bs {
                    match r.read(&mut b[got..]) {
                        Ok(0) => break,
                        Ok(n) => got += n,
                        Err(e) => return Err(format!("{e}; the rest not listed")),
                    }
                }
                if got == 0 {
                    break;
                }
                b.truncate(got);
                if !parse_block(&b, filetype, shown, &mut list, out) {
                    corrupt += 1;
                    if corrupt >= 16 {
                        return Err("16 corrupt blocks; the rest not listed".into());
                    }
                }
                if got < bs {
                    break;
                }
                if list.len() as u64 > out.limits().max_entries {
                    return Err("more entries than the entry limit".into());
                }
            }
            Vec::new()
        }
    };
    for c in chunks {
        if !c.is_empty() {
            parse_block(&c, filetype, shown, &mut list, out);
        }
    }
    Ok(list)
}

/// Parses the entries of one directory block into `list`; a corrupt entry ends the block
/// (the kernel refuses the block from there) and is a problem (then `false`).
fn parse_block(
    b: &[u8],
    filetype: bool,
    dir: u32,
    list: &mut Vec<(String, u32)>,
    out: &mut Output<'_>,
) -> bool {
    let mut at = 0usize;
    while at + 8 <= b.len() {
        let number = le32(b, at).unwrap_or(0);
        let mut rec = usize::from(le16(b, at + 4).unwrap_or(0));
        if b.len() == 65536 && (rec == 65535 || rec == 0) {
            rec = 65536;
        }
        let name_len = if filetype {
            usize::from(b[at + 6])
        } else {
            usize::from(le16(b, at + 6).unwrap_or(0))
        };
        if rec < 8 || rec % 4 != 0 || at + rec > b.len() || 8 + name_len > rec {
            out.problem(format!(
                "directory inode {dir}: corrupt entry at byte {at} of a block (record length {rec}, name length {name_len}); the rest of the block not listed"
            ));
            return false;
        }
        let name = &b[at + 8..at + 8 + name_len];
        at += rec;
        if number == 0 || name == b"." || name == b".." {
            continue;
        }
        if let Some(why) = bad_name(name) {
            out.problem(format!(
                "directory inode {dir}: entry with {why} ({:?}); not extracted",
                String::from_utf8_lossy(name)
            ));
            continue;
        }
        list.push((String::from_utf8_lossy(name).into_owned(), number));
    }
    true
}

/// Reads a file's data block by block through its map; holes and unwritten extents read as
/// zeros.
struct FileReader<'f> {
    fs: &'f mut Fs,
    map: Map,
    size: u64,
    pos: u64,
    /// Index of the next extent to look at (extents are sorted).
    cursor: usize,
    buf: Vec<u8>,
    at: usize,
}

impl<'f> FileReader<'f> {
    fn new(fs: &'f mut Fs, map: Map, size: u64) -> Self {
        FileReader {
            fs,
            map,
            size,
            pos: 0,
            cursor: 0,
            buf: Vec::new(),
            at: 0,
        }
    }

    fn refill(&mut self) -> R<()> {
        let bs = self.fs.sb.block_size;
        let want = (self.size - self.pos).min(bs) as usize;
        let l = self.pos / bs;
        let physical = match &self.map {
            Map::Inline(data) => {
                let from = self.pos as usize;
                let end = self.size as usize;
                let got = data.get(from..end).ok_or_else(|| {
                    format!(
                        "inline data holds {} bytes, the size says {}",
                        data.len(),
                        self.size
                    )
                })?;
                self.buf = got.to_vec();
                self.at = 0;
                self.pos = self.size;
                return Ok(());
            }
            Map::Blocks(w) => {
                let w = *w;
                Some(self.fs.lookup(&w, l)?).filter(|&p| p != 0)
            }
            Map::Extents(list) => {
                while list
                    .get(self.cursor)
                    .is_some_and(|e| e.logical.saturating_add(e.len) <= l)
                {
                    self.cursor += 1;
                }
                list.get(self.cursor)
                    .filter(|e| e.logical <= l && !e.unwritten)
                    .map(|e| e.physical.saturating_add(l - e.logical))
            }
        };
        let mut data = match physical {
            Some(p) => self.fs.block(p)?,
            None => vec![0u8; bs as usize],
        };
        data.truncate(want);
        self.pos += want as u64;
        self.buf = data;
        self.at = 0;
        Ok(())
    }
}

impl Read for FileReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at >= self.buf.len() {
            if self.pos >= self.size {
                return Ok(0);
            }
            self.refill().map_err(std::io::Error::other)?;
            if self.buf.is_empty() {
                return Ok(0);
            }
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
