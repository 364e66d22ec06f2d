//! ext2/3/4 on-disk structures, read the way the Linux kernel reads them (`fs/ext4/`):
//! superblock, group descriptors (32 and 64 bit), inodes, block maps with indirect blocks,
//! extent trees, inline data. Every block a structure or a file uses is recorded so that the
//! engine can carve what the file system does not use.

use std::collections::HashMap;
use std::rc::Rc;

use crate::coverage::Ranges;
use crate::formats::{le16, le32};
use crate::source::Source;

/// What went wrong reading the file system, as a sentence.
pub type R<T> = std::result::Result<T, String>;

/// Incompatible features this reader handles; any other one stops extraction.
const INCOMPAT_OK: &[(u32, &str)] = &[
    (0x2, "filetype"),
    (0x4, "needs_recovery"),
    (0x40, "extent"),
    (0x80, "64bit"),
    (0x100, "mmp"),
    (0x200, "flex_bg"),
    (0x400, "ea_inode"),
    (0x2000, "metadata_csum_seed"),
    (0x4000, "large_dir"),
    (0x8000, "inline_data"),
];
const INCOMPAT_NAMES: &[(u32, &str)] = &[
    (0x1, "compression"),
    (0x8, "journal_dev"),
    (0x10, "meta_bg"),
    (0x1000, "dirdata"),
    (0x10000, "encrypt"),
    (0x20000, "casefold"),
];
/// Read-only-compatible features that change where data lives (clusters).
const RO_COMPAT_BAD: &[(u32, &str)] = &[(0x200, "bigalloc")];

pub const INCOMPAT_FILETYPE: u32 = 0x2;
pub const INCOMPAT_RECOVER: u32 = 0x4;
const INCOMPAT_64BIT: u32 = 0x80;
const INCOMPAT_MMP: u32 = 0x100;
pub const INCOMPAT_INLINE: u32 = 0x8000;
const RO_COMPAT_SPARSE_SUPER: u32 = 0x1;
const COMPAT_HAS_JOURNAL: u32 = 0x4;
const COMPAT_RESIZE_INODE: u32 = 0x10;
const COMPAT_SPARSE_SUPER2: u32 = 0x200;
const COMPAT_ORPHAN_FILE: u32 = 0x1000;

/// Inode flags the reader looks at.
pub const FLAG_EXTENTS: u32 = 0x8_0000;
pub const FLAG_INLINE: u32 = 0x1000_0000;
pub const FLAG_HUGE_FILE: u32 = 0x4_0000;

/// The deepest extent tree the kernel accepts (`EXT4_MAX_EXTENT_DEPTH`).
const MAX_EXTENT_DEPTH: u16 = 5;
/// Extent tree nodes read for one file at most.
const MAX_EXTENT_NODES: usize = 1 << 16;

/// The superblock fields the reader uses.
#[derive(Debug, Clone)]
pub struct Superblock {
    pub inodes: u32,
    pub blocks: u64,
    pub first_data_block: u64,
    pub block_size: u64,
    pub blocks_per_group: u64,
    pub inodes_per_group: u32,
    pub inode_size: u64,
    pub first_ino: u32,
    pub compat: u32,
    pub incompat: u32,
    pub ro_compat: u32,
    pub desc_size: u64,
    pub reserved_gdt: u64,
    pub journal_inum: u32,
    pub backup_bgs: [u64; 2],
    pub mmp_block: u64,
    /// Inodes that hold file-system structures (journal, quota, orphan file).
    pub structure_inodes: Vec<u32>,
}

impl Superblock {
    /// Where the superblock starts and how long it is.
    pub const OFFSET: u64 = 1024;
    pub const SIZE: usize = 1024;

    /// Parses and sanity-checks the superblock (`sb` is its 1024 bytes).
    pub fn parse(sb: &[u8]) -> Option<Superblock> {
        let u = |at| le32(sb, at);
        if le16(sb, 56)? != 0xef53 {
            return None;
        }
        let log = u(24)?;
        let rev = u(76)?;
        if log > 6 || rev > 1 {
            return None;
        }
        let block_size = 1024u64 << log;
        let incompat = if rev >= 1 { u(96)? } else { 0 };
        let (first_ino, inode_size) = if rev >= 1 {
            (u(84)?, u64::from(le16(sb, 88)?))
        } else {
            (11, 128)
        };
        let desc_size = if incompat & INCOMPAT_64BIT != 0 {
            u64::from(le16(sb, 0xfe)?)
        } else {
            32
        };
        let blocks_hi = if incompat & INCOMPAT_64BIT != 0 {
            u(0x150)?
        } else {
            0
        };
        let sb_out = Superblock {
            inodes: u(0)?,
            blocks: u64::from(u(4)?) | u64::from(blocks_hi) << 32,
            first_data_block: u64::from(u(20)?),
            block_size,
            blocks_per_group: u64::from(u(32)?),
            inodes_per_group: u(40)?,
            inode_size,
            first_ino,
            compat: if rev >= 1 { u(92)? } else { 0 },
            incompat,
            ro_compat: if rev >= 1 { u(100)? } else { 0 },
            desc_size,
            reserved_gdt: u64::from(le16(sb, 0xce)?),
            journal_inum: u(0xe0)?,
            backup_bgs: [u64::from(u(0x24c)?), u64::from(u(0x250)?)],
            mmp_block: u64::from(u(0x168)?) | u64::from(u(0x16c)?) << 32,
            structure_inodes: Vec::new(),
        };
        let mut s = sb_out;
        let bits = s.block_size * 8;
        let ok = s.inodes > 0
            && s.blocks > 0
            && s.first_data_block == u64::from(block_size == 1024)
            && (8..=bits).contains(&s.blocks_per_group)
            && s.inodes_per_group > 0
            && u64::from(s.inodes_per_group) <= bits
            && s.inode_size.is_power_of_two()
            && (128..=block_size).contains(&s.inode_size)
            && (desc_size == 32
                || (desc_size.is_power_of_two() && (64..=1024).contains(&desc_size)))
            && s.first_ino >= 11
            && s.blocks > s.first_data_block;
        if !ok {
            return None;
        }
        let mut structure = Vec::new();
        if s.compat & COMPAT_HAS_JOURNAL != 0 && s.journal_inum != 0 {
            structure.push(s.journal_inum);
        }
        if s.compat & COMPAT_RESIZE_INODE != 0 {
            structure.push(7);
        }
        for at in [0x240, 0x244, 0x26c] {
            structure.push(u(at)?);
        }
        if s.compat & COMPAT_ORPHAN_FILE != 0 {
            structure.push(u(0x280)?);
        }
        structure.retain(|&n| n != 0 && n != 2);
        s.structure_inodes = structure;
        Some(s)
    }

    /// Number of block groups.
    pub fn groups(&self) -> u64 {
        (self.blocks - self.first_data_block).div_ceil(self.blocks_per_group)
    }

    /// The incompatible (and cluster) features this reader does not handle, by name.
    pub fn unsupported(&self) -> Vec<String> {
        let mut out = Vec::new();
        let known: u32 = INCOMPAT_OK.iter().map(|f| f.0).fold(0, |a, b| a | b);
        for bit in 0..32 {
            let f = 1u32 << bit;
            if self.incompat & f != 0 && known & f == 0 {
                let name = INCOMPAT_NAMES
                    .iter()
                    .find(|n| n.0 == f)
                    .map_or_else(|| format!("incompat bit {f:#x}"), |n| n.1.to_string());
                out.push(name);
            }
        }
        for (f, name) in RO_COMPAT_BAD {
            if self.ro_compat & f != 0 {
                out.push((*name).to_string());
            }
        }
        out
    }

    /// Whether group `g` holds a copy of the superblock and the descriptors.
    fn has_backup(&self, g: u64) -> bool {
        if g == 0 {
            return true;
        }
        if self.compat & COMPAT_SPARSE_SUPER2 != 0 {
            return self.backup_bgs.contains(&g);
        }
        if self.ro_compat & RO_COMPAT_SPARSE_SUPER == 0 || g == 1 {
            return true;
        }
        [3u64, 5, 7].iter().any(|&p| {
            let mut x = p;
            while x < g {
                x = x.saturating_mul(p);
            }
            x == g
        })
    }
}

/// A group descriptor's locations.
#[derive(Debug, Clone, Copy)]
pub struct Group {
    pub inode_table: u64,
    pub block_bitmap: u64,
    pub inode_bitmap: u64,
    pub inode_uninit: bool,
}

/// An inode, with the fields the reader uses.
#[derive(Debug, Clone)]
pub struct Inode {
    pub number: u32,
    pub mode: u16,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub links: u16,
    pub flags: u32,
    /// 512-byte sectors (or blocks, with the huge-file flag) the inode holds.
    pub sectors: u64,
    pub block: [u8; 60],
    pub file_acl: u64,
    /// The in-inode extended attribute area (after the extra fields).
    pub xattrs: Vec<u8>,
}

impl Inode {
    pub fn kind(&self) -> u16 {
        self.mode & 0xf000
    }

    fn word(&self, i: usize) -> u32 {
        le32(&self.block, i * 4).unwrap_or(0)
    }

    /// The `system.data` extended attribute's value (inline data past the first 60 bytes).
    pub fn inline_tail(&self) -> Option<&[u8]> {
        let x = &self.xattrs;
        if le32(x, 0)? != 0xea02_0000 {
            return None;
        }
        let base = 4usize;
        let mut at = base;
        while at + 16 <= x.len() {
            let name_len = usize::from(x[at]);
            let index = x[at + 1];
            if name_len == 0 && index == 0 && le32(x, at)? == 0 {
                break;
            }
            let value_off = usize::from(le16(x, at + 2)?);
            let value_size = le32(x, at + 8)? as usize;
            let name = x.get(at + 16..at + 16 + name_len)?;
            if index == 7 && name == b"data" {
                let from = base.checked_add(value_off)?;
                return x.get(from..from.checked_add(value_size)?);
            }
            at = (at + 16 + name_len + 3) & !3;
        }
        None
    }
}

/// One extent: `len` blocks from logical block `logical` at physical block `physical`.
#[derive(Debug, Clone, Copy)]
pub struct Extent {
    pub logical: u64,
    pub len: u64,
    pub physical: u64,
    pub unwritten: bool,
}

/// How an inode's logical blocks map to the device.
pub enum Map {
    /// Twelve direct pointers, then single, double and triple indirect blocks.
    Blocks([u32; 15]),
    /// Extents, sorted by logical block, not overlapping.
    Extents(Vec<Extent>),
    /// The data itself, in the inode.
    Inline(Vec<u8>),
}

/// The file system being read: the source, the superblock, caches, and the bytes used.
pub struct Fs {
    pub src: Source,
    pub sb: Superblock,
    pub used: Ranges,
    groups: HashMap<u64, Group>,
    indirect: HashMap<u64, Rc<Vec<u32>>>,
}

impl Fs {
    pub fn new(src: Source, sb: Superblock) -> Fs {
        let mut used = Ranges::default();
        used.add(
            Superblock::OFFSET,
            Superblock::OFFSET + Superblock::SIZE as u64,
        );
        Fs {
            src,
            sb,
            used,
            groups: HashMap::new(),
            indirect: HashMap::new(),
        }
    }

    /// Reads block `b` whole, recording it as used.
    pub fn block(&mut self, b: u64) -> R<Vec<u8>> {
        if b >= self.sb.blocks || b == 0 {
            return Err(format!(
                "block {b} lies outside the file system ({} blocks)",
                self.sb.blocks
            ));
        }
        let bs = self.sb.block_size;
        let at = b.saturating_mul(bs);
        let data = self
            .src
            .exact(at, bs as usize)
            .map_err(|_| format!("block {b} lies past the end of the image"))?;
        self.used.add(at, at + bs);
        Ok(data)
    }

    /// Records blocks `[b, b + n)` as used, without reading them.
    fn mark(&mut self, b: u64, n: u64) {
        let bs = self.sb.block_size;
        let end = b.saturating_add(n).min(self.sb.blocks);
        if b < end {
            let len = self.src.len();
            self.used.add(
                b.saturating_mul(bs).min(len),
                end.saturating_mul(bs).min(len),
            );
        }
    }

    /// Group descriptor `g`.
    pub fn group(&mut self, g: u64) -> R<Group> {
        if let Some(d) = self.groups.get(&g) {
            return Ok(*d);
        }
        if g >= self.sb.groups() {
            return Err(format!("group {g} does not exist"));
        }
        let ds = self.sb.desc_size;
        let at = (self.sb.first_data_block + 1)
            .saturating_mul(self.sb.block_size)
            .saturating_add(g.saturating_mul(ds));
        let d = self
            .src
            .exact(at, ds as usize)
            .map_err(|_| format!("descriptor of group {g} lies past the end of the image"))?;
        let hi = |at: usize| {
            if ds >= 64 {
                u64::from(le32(&d, at).unwrap_or(0)) << 32
            } else {
                0
            }
        };
        let lo = |at: usize| u64::from(le32(&d, at).unwrap_or(0));
        let flags = le16(&d, 0x12).unwrap_or(0);
        let group = Group {
            block_bitmap: lo(0) | hi(0x20),
            inode_bitmap: lo(4) | hi(0x24),
            inode_table: lo(8) | hi(0x28),
            inode_uninit: flags & 1 != 0,
        };
        if self.groups.len() < 1 << 16 {
            self.groups.insert(g, group);
        }
        Ok(group)
    }

    /// Records every group's fixed structures as used: superblock copies, descriptor tables
    /// and reserved descriptor blocks, bitmaps, inode tables, and the MMP block.
    pub fn mark_groups(&mut self, check_time: &mut dyn FnMut() -> bool) -> R<()> {
        let bs = self.sb.block_size;
        let groups = self.sb.groups();
        let gdt = groups.saturating_mul(self.sb.desc_size).div_ceil(bs);
        let itable = (u64::from(self.sb.inodes_per_group) * self.sb.inode_size).div_ceil(bs);
        for g in 0..groups {
            if !check_time() {
                return Err("deadline reached while reading group descriptors".into());
            }
            let start = self
                .sb
                .first_data_block
                .saturating_add(g.saturating_mul(self.sb.blocks_per_group));
            if start.saturating_mul(bs) >= self.src.len() {
                // A truncated image: the groups past its end hold nothing to read.
                break;
            }
            if self.sb.has_backup(g) {
                let n = gdt.saturating_add(1 + self.sb.reserved_gdt);
                if g == 0 {
                    // The first 1024 bytes are the boot sector, not the file system's (with
                    // blocks above 1 KiB they share block 0): left to the engine.
                    let len = self.src.len();
                    let end = start.saturating_add(n).saturating_mul(bs).min(len);
                    self.used.add(Superblock::OFFSET.min(end), end);
                } else {
                    self.mark(start, n);
                }
            }
            let d = self.group(g)?;
            self.mark(d.block_bitmap, 1);
            self.mark(d.inode_bitmap, 1);
            self.mark(d.inode_table, itable);
        }
        if self.sb.incompat & INCOMPAT_MMP != 0 {
            self.mark(self.sb.mmp_block, 1);
        }
        Ok(())
    }

    /// Reads inode `n`.
    pub fn inode(&mut self, n: u32) -> R<Inode> {
        if n == 0 || n > self.sb.inodes {
            return Err(format!(
                "inode number {n} is outside 1..={}",
                self.sb.inodes
            ));
        }
        let ipg = self.sb.inodes_per_group;
        let g = u64::from((n - 1) / ipg);
        let index = u64::from((n - 1) % ipg);
        let d = self.group(g)?;
        if d.inode_uninit {
            return Err(format!(
                "inode {n} lies in group {g}, whose inode table is marked uninitialised"
            ));
        }
        let size = self.sb.inode_size;
        let at = d
            .inode_table
            .checked_mul(self.sb.block_size)
            .and_then(|t| t.checked_add(index * size))
            .ok_or_else(|| format!("inode {n}: inode table of group {g} is out of range"))?;
        if d.inode_table >= self.sb.blocks {
            return Err(format!(
                "inode {n}: inode table of group {g} at block {} lies outside the file system",
                d.inode_table
            ));
        }
        let b = self
            .src
            .exact(at, size as usize)
            .map_err(|_| format!("inode {n} lies past the end of the image"))?;
        let w = |at| le32(&b, at).unwrap_or(0);
        let h = |at| le16(&b, at).unwrap_or(0);
        let mut block = [0u8; 60];
        block.copy_from_slice(&b[0x28..0x28 + 60]);
        let extra = if size > 128 { usize::from(h(0x80)) } else { 0 };
        let xattrs = b.get(128 + extra..).map(<[u8]>::to_vec).unwrap_or_default();
        let flags = w(0x20);
        let mut sectors = u64::from(w(0x1c)) | u64::from(h(0x74)) << 32;
        if flags & FLAG_HUGE_FILE != 0 {
            sectors = sectors.saturating_mul(self.sb.block_size / 512);
        }
        Ok(Inode {
            number: n,
            mode: h(0),
            uid: u32::from(h(2)) | u32::from(h(0x78)) << 16,
            gid: u32::from(h(0x18)) | u32::from(h(0x7a)) << 16,
            size: u64::from(w(4)) | u64::from(w(0x6c)) << 32,
            links: h(0x1a),
            flags,
            sectors,
            block,
            file_acl: u64::from(w(0x68)) | u64::from(h(0x76)) << 32,
            xattrs,
        })
    }

    /// Records the inode's extended attribute block as used.
    pub fn mark_xattr_block(&mut self, ino: &Inode) {
        if ino.file_acl != 0 {
            self.mark(ino.file_acl, 1);
        }
    }

    /// How the inode's data is laid out. `max_blocks` bounds the extents kept.
    pub fn map(&mut self, ino: &Inode, max_blocks: u64) -> R<Map> {
        if ino.flags & FLAG_INLINE != 0 {
            if self.sb.incompat & INCOMPAT_INLINE == 0 {
                return Err("inline-data flag without the inline_data feature".into());
            }
            let mut data = ino.block.to_vec();
            if let Some(tail) = ino.inline_tail() {
                data.extend_from_slice(tail);
            }
            return Ok(Map::Inline(data));
        }
        if ino.flags & FLAG_EXTENTS != 0 {
            return self.extents(ino, max_blocks).map(Map::Extents);
        }
        let mut w = [0u32; 15];
        for (i, x) in w.iter_mut().enumerate() {
            *x = ino.word(i);
        }
        Ok(Map::Blocks(w))
    }

    /// Reads an extent tree with an explicit stack: every node must have the depth its
    /// parent implies (so a loop cannot be followed), at most [`MAX_EXTENT_DEPTH`] levels.
    fn extents(&mut self, ino: &Inode, max_blocks: u64) -> R<Vec<Extent>> {
        let mut out = Vec::new();
        let mut stack: Vec<(Vec<u8>, Option<u16>)> = vec![(ino.block.to_vec(), None)];
        let mut nodes = 0usize;
        while let Some((node, want)) = stack.pop() {
            nodes += 1;
            if nodes > MAX_EXTENT_NODES {
                return Err(format!("extent tree of more than {MAX_EXTENT_NODES} nodes"));
            }
            let h = |at| le16(&node, at).unwrap_or(0);
            if h(0) != 0xf30a {
                return Err("extent node without its magic".into());
            }
            let (entries, max, depth) = (usize::from(h(2)), usize::from(h(4)), h(6));
            if depth > MAX_EXTENT_DEPTH || want.is_some_and(|d| d != depth) {
                return Err(format!(
                    "extent node of depth {depth} where {} was due (a loop or a tree too deep)",
                    want.map_or_else(|| format!("at most {MAX_EXTENT_DEPTH}"), |d| d.to_string())
                ));
            }
            if entries > max || 12 + max * 12 > node.len() {
                return Err(format!("extent node claims {entries} of {max} entries"));
            }
            for i in (0..entries).rev() {
                let e = &node[12 + i * 12..24 + i * 12];
                let logical = u64::from(le32(e, 0).unwrap_or(0));
                if depth == 0 {
                    let raw = u64::from(le16(e, 4).unwrap_or(0));
                    let (len, unwritten) = if raw > 32768 {
                        (raw - 32768, true)
                    } else {
                        (raw, false)
                    };
                    let physical = u64::from(le16(e, 6).unwrap_or(0)) << 32
                        | u64::from(le32(e, 8).unwrap_or(0));
                    if out.len() as u64 > max_blocks {
                        return Err("more extents than the file-size limit allows".into());
                    }
                    out.push(Extent {
                        logical,
                        len,
                        physical,
                        unwritten,
                    });
                } else {
                    let child = u64::from(le32(e, 4).unwrap_or(0))
                        | u64::from(le16(e, 8).unwrap_or(0)) << 32;
                    let b = self.block(child)?;
                    stack.push((b, Some(depth - 1)));
                }
            }
        }
        out.sort_by_key(|e| e.logical);
        for pair in out.windows(2) {
            if pair[0].logical.saturating_add(pair[0].len) > pair[1].logical {
                return Err(format!(
                    "extents overlap at logical block {}",
                    pair[1].logical
                ));
            }
        }
        Ok(out)
    }

    /// One entry of indirect block `b` (read once, then cached).
    fn indirect(&mut self, b: u32, i: u64) -> R<u32> {
        if b == 0 {
            return Ok(0);
        }
        let key = u64::from(b);
        let words = match self.indirect.get(&key) {
            Some(w) => Rc::clone(w),
            None => {
                let data = self.block(key)?;
                let w: Rc<Vec<u32>> = Rc::new(
                    data.chunks_exact(4)
                        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect(),
                );
                if self.indirect.len() >= 64 {
                    self.indirect.clear();
                }
                self.indirect.insert(key, Rc::clone(&w));
                w
            }
        };
        Ok(words.get(i as usize).copied().unwrap_or(0))
    }

    /// The physical block of logical block `l` in a block map (0: a hole).
    pub fn lookup(&mut self, w: &[u32; 15], l: u64) -> R<u64> {
        let ppb = self.sb.block_size / 4;
        if l < 12 {
            return Ok(u64::from(w[l as usize]));
        }
        let mut l = l - 12;
        if l < ppb {
            return self.indirect(w[12], l).map(u64::from);
        }
        l -= ppb;
        if l < ppb * ppb {
            let a = self.indirect(w[13], l / ppb)?;
            return self.indirect(a, l % ppb).map(u64::from);
        }
        l -= ppb * ppb;
        if l < ppb * ppb * ppb {
            let a = self.indirect(w[14], l / (ppb * ppb))?;
            let b = self.indirect(a, (l / ppb) % ppb)?;
            return self.indirect(b, l % ppb).map(u64::from);
        }
        Err(format!(
            "logical block {l} is beyond what a block map can address"
        ))
    }

    /// Records every block a structure inode (journal, quota, orphan file) uses, without
    /// reading its content.
    pub fn mark_inode_blocks(
        &mut self,
        ino: &Inode,
        check_time: &mut dyn FnMut() -> bool,
    ) -> R<()> {
        self.mark_xattr_block(ino);
        let bs = self.sb.block_size;
        let n = ino.size.div_ceil(bs).min(self.sb.blocks);
        match self.map(ino, self.sb.blocks)? {
            Map::Inline(_) => {}
            Map::Extents(list) => {
                for e in list {
                    self.mark(e.physical, e.len);
                }
            }
            Map::Blocks(w) => {
                for l in 0..n {
                    if l % 1024 == 0 && !check_time() {
                        return Err("deadline reached".into());
                    }
                    let p = self.lookup(&w, l)?;
                    if p != 0 {
                        self.mark(p, 1);
                    }
                }
            }
        }
        Ok(())
    }

    /// Records the resize inode's double-indirect block (the reserved descriptor blocks it
    /// lists are marked with each group).
    pub fn mark_resize_inode(&mut self, ino: &Inode) {
        let dind = u64::from(ino.word(13));
        if dind != 0 {
            self.mark(dind, 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sb(bytes: &mut [u8]) -> Superblock {
        let put = |b: &mut [u8], at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
        put(bytes, 0, 2048); // inodes
        put(bytes, 4, 8192 * 30); // blocks
        put(bytes, 20, 1); // first data block
        put(bytes, 32, 8192); // blocks per group
        put(bytes, 40, 64); // inodes per group
        bytes[56..58].copy_from_slice(&0xef53u16.to_le_bytes());
        put(bytes, 76, 1); // dynamic revision
        put(bytes, 84, 11);
        bytes[88..90].copy_from_slice(&256u16.to_le_bytes());
        put(bytes, 100, RO_COMPAT_SPARSE_SUPER);
        Superblock::parse(bytes).unwrap()
    }

    #[test]
    fn sparse_super_copies_sit_in_groups_0_1_and_powers_of_3_5_7() {
        let mut b = vec![0u8; 1024];
        let s = sb(&mut b);
        let with: Vec<u64> = (0..30).filter(|&g| s.has_backup(g)).collect();
        assert_eq!(with, [0, 1, 3, 5, 7, 9, 25, 27]);
    }

    #[test]
    fn unsupported_features_are_named() {
        let mut b = vec![0u8; 1024];
        b[96..100].copy_from_slice(&(0x2u32 | 0x10 | 0x1_0000 | 0x4000_0000).to_le_bytes());
        let s = sb(&mut b);
        assert_eq!(
            s.unsupported(),
            ["meta_bg", "encrypt", "incompat bit 0x40000000"]
        );
    }
}
