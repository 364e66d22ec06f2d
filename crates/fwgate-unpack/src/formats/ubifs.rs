//! UBIFS file systems (the payload of a UBI volume, or bare): superblock, master node, the
//! index B-tree from its root, and the inode, directory entry and data nodes it leads to
//! (none, lzo, zlib and zstd data, the compressors mkfs.ubifs writes).
//!
//! Written here because no maintained Rust crate reads UBIFS. It reads what the kernel's
//! committed index holds (fs/ubifs/tnc.c): every node's CRC is checked, the index is walked
//! with an explicit stack, bounded in depth and refusing a node reached twice (a loop), and
//! the tree is built from the root inode with inode types, owners, modes, hard links,
//! symlinks and devices from the inode nodes. The journal (nodes written after the last
//! commit) is replayed over the index as the kernel does at mount: the log's REF nodes name
//! the bud LEBs, whose nodes apply in sequence order (deletions and truncations included).
//! Extended attributes are counted and reported. Memory holds the index's leaves (positions and
//! small inode fields); file data is read from the image one 4 KiB block at a time.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;

use crate::formats::{bad_name, le16, le32, le64};
use crate::handler::{human_size, Attrs, Handler, Output, Probe};
use crate::source::Source;
use crate::tree::{Device, DeviceKind};
use crate::Result;

const MAGIC: [u8; 4] = [0x31, 0x18, 0x10, 0x06];
const CH: usize = 24;
const SB_SIZE: usize = 4096;
const MST_SIZE: usize = 512;
const INO: u8 = 0;
const DATA: u8 = 1;
const DENT: u8 = 2;
const XENT: u8 = 3;
const PAD: u8 = 5;
/// Size of a padding node (its header and length).
const PAD_NODE: usize = 28;
const SB: u8 = 6;
const MST: u8 = 7;
const REF: u8 = 8;
const IDX: u8 = 9;
const CS: u8 = 10;
const TRUN: u8 = 4;
const ORPH: u8 = 11;
const BLOCK: u64 = 4096;
const MIN_LEB: u32 = 15 * 1024;
const MAX_LEB: u32 = 16 << 20;
/// The kernel's UBIFS_MAX_LEVELS.
const MAX_LEVELS: u16 = 512;
const FLG_ENCRYPTION: u32 = 8;
const FLG_AUTHENTICATION: u32 = 16;
const XATTR_FL: u32 = 0x20;
/// Most index leaves kept.
const MAX_LEAVES: usize = 8 << 20;

/// UBIFS's CRC, as UBI's: seeded with all ones, not inverted.
fn crc(b: &[u8]) -> u32 {
    !crc32fast::hash(b)
}

/// A node's type and length when its common header and CRC check out.
fn node(b: &[u8]) -> Option<(u8, usize)> {
    if b.get(..4)? != MAGIC {
        return None;
    }
    let len = le32(b, 16)? as usize;
    let body = b.get(8..len)?;
    (len >= CH && le32(b, 4)? == crc(body)).then(|| (b[20], len))
}

/// The superblock fields the reader uses.
#[derive(Debug, Clone, Copy)]
struct Super {
    flags: u32,
    leb_size: u32,
    leb_cnt: u32,
    log_lebs: u32,
    lpt_lebs: u32,
    default_compr: u16,
}

fn superblock(b: &[u8]) -> Option<Super> {
    let (t, len) = node(b)?;
    let s = Super {
        flags: le32(b, 28)?,
        leb_size: le32(b, 36)?,
        leb_cnt: le32(b, 40)?,
        log_lebs: le32(b, 56)?,
        lpt_lebs: le32(b, 60)?,
        default_compr: le16(b, 84)?,
    };
    let min_io = le32(b, 32)?;
    (t == SB
        && len == SB_SIZE
        && (MIN_LEB..=MAX_LEB).contains(&s.leb_size)
        && s.leb_cnt >= 1
        && min_io.is_power_of_two()
        && s.log_lebs >= 1)
        .then_some(s)
}

fn compr_name(c: u16) -> &'static str {
    match c {
        0 => "none",
        1 => "lzo",
        2 => "zlib",
        3 => "zstd",
        _ => "unknown",
    }
}

/// The UBIFS handler.
pub struct Ubifs;

impl Handler for Ubifs {
    fn id(&self) -> &'static str {
        "ubifs"
    }
    fn description(&self) -> &'static str {
        "UBIFS file system (lzo, zlib, zstd)"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[&MAGIC]
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        let s = superblock(&src.bytes(0, SB_SIZE).ok()?)?;
        let len = u64::from(s.leb_cnt) * u64::from(s.leb_size);
        Some(Probe::new(
            Some(len),
            format!(
                "UBIFS, {} LEBs of {}, {}",
                s.leb_cnt,
                human_size(s.leb_size.into()),
                compr_name(s.default_compr)
            ),
        ))
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let s = src
            .bytes(0, SB_SIZE)
            .ok()
            .as_deref()
            .and_then(superblock)
            .ok_or_else(|| out.malformed("superblock changed"))?;
        let want = u64::from(s.leb_cnt) * u64::from(s.leb_size);
        if want > src.len() {
            out.problem(format!(
                "truncated: the superblock says {} LEBs ({want} bytes), {} bytes present",
                s.leb_cnt,
                src.len()
            ));
        }
        let consumed = want.min(src.len());
        let mut fs = Fs {
            src: src.slice(0, consumed),
            s,
            used: Vec::new(),
        };
        let used = fs.mark_used(out);
        let used = match used {
            Ok(u) => u,
            Err(e) => {
                out.used(std::mem::take(&mut fs.used));
                return Err(e);
            }
        };
        out.used(used.clone());
        if s.flags & (FLG_AUTHENTICATION | FLG_ENCRYPTION) != 0 {
            return Err(out.malformed(
                "authenticated or encrypted UBIFS is not supported; its files were not examined",
            ));
        }
        let m = fs.master(out)?;
        let (root_lnum, root_offs, root_len) = m.root;
        let mut leaves = fs.index(out, root_lnum, root_offs, root_len)?;
        fs.replay(out, &mut leaves, m.log_lnum, m.cmt_no)?;
        fs.build(out, leaves)?;
        Ok(consumed)
    }
}

/// What the master node says.
struct Master {
    cmt_no: u64,
    log_lnum: u32,
    /// The index root: LEB, offset, length.
    root: (u32, u32, u32),
}

struct Fs {
    src: Source,
    s: Super,
    used: Vec<(u64, u64)>,
}

/// What the index leads to.
#[derive(Default)]
struct Leaves {
    inodes: HashMap<u32, Inode>,
    dents: HashMap<(u32, Vec<u8>), u64>,
    data: HashMap<u32, BTreeMap<u32, (u64, usize)>>,
    xents: usize,
}

struct Inode {
    size: u64,
    nlink: u32,
    attrs: Attrs,
    mode: u32,
    flags: u32,
    data: Vec<u8>,
}

impl Fs {
    fn leb(&self) -> u64 {
        u64::from(self.s.leb_size)
    }

    /// Reads and checks the node at (lnum, offs) whose length is `len`.
    fn read_node(&self, lnum: u32, offs: u32, len: u32) -> std::result::Result<Vec<u8>, String> {
        if u64::from(offs) + u64::from(len) > self.leb() || lnum >= self.s.leb_cnt {
            return Err(format!(
                "node at LEB {lnum}:{offs} of {len} bytes lies outside the file system"
            ));
        }
        let at = u64::from(lnum) * self.leb() + u64::from(offs);
        let b = self
            .src
            .bytes(at, len as usize)
            .map_err(|e| e.to_string())?;
        match node(&b) {
            Some((_, l)) if l == len as usize => Ok(b),
            Some((_, l)) => Err(format!(
                "node at LEB {lnum}:{offs} is {l} bytes, the index says {len}"
            )),
            None => Err(format!("node at LEB {lnum}:{offs}: bad magic or CRC")),
        }
    }

    /// Declares the bytes UBIFS structures use: the nodes of every LEB (scanned from its start
    /// until the first byte that is not a valid node) and the LPT area's written bytes. Also
    /// reports a journal not yet committed and orphans.
    fn mark_used(&mut self, out: &mut Output<'_>) -> Result<Vec<(u64, u64)>> {
        let leb = self.leb();
        let lebs = self.src.len() / leb;
        let lpt_first = 3 + u64::from(self.s.log_lebs);
        let lpt_end = lpt_first + u64::from(self.s.lpt_lebs);
        let mut orphans = 0usize;
        for l in 0..lebs {
            out.check_time()?;
            let base = l * leb;
            let data = self
                .src
                .bytes(base, leb as usize)
                .map_err(|e| out.malformed(e.to_string()))?;
            if (lpt_first..lpt_end).contains(&l) {
                if let Some(last) = data.iter().rposition(|&b| b != 0xff) {
                    self.used.push((base, base + last as u64 + 1));
                }
                continue;
            }
            let mut pos = 0usize;
            while pos + CH <= data.len() {
                // Space too short for a padding node is filled with UBIFS_PADDING_BYTE.
                let fill = data[pos..]
                    .iter()
                    .take(PAD_NODE)
                    .take_while(|&&b| b == 0xce)
                    .count();
                if fill > 0 && fill < PAD_NODE {
                    self.used
                        .push((base + pos as u64, base + (pos + fill) as u64));
                    pos += fill;
                    continue;
                }
                let Some((t, len)) = node(&data[pos..]) else {
                    break;
                };
                let mut end = pos + len;
                if t == PAD {
                    end = end.saturating_add(le32(&data, pos + CH).unwrap_or(0) as usize);
                }
                let end = (end.saturating_add(7) & !7).min(data.len());
                if t == ORPH {
                    orphans += len.saturating_sub(CH + 8) / 8;
                }
                self.used.push((base + pos as u64, base + end as u64));
                pos = end;
            }
        }
        if orphans > 0 {
            out.problem(format!(
                "{orphans} orphan inodes are listed (deleted while open); the kernel removes them at mount"
            ));
        }
        let mut used = std::mem::take(&mut self.used);
        used.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for (a, b) in used {
            match merged.last_mut() {
                Some(m) if a <= m.1 => m.1 = m.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        Ok(merged)
    }

    /// The newest valid master node of LEBs 1 and 2: the index root.
    fn master(&self, out: &mut Output<'_>) -> Result<Master> {
        let mut best: Option<(u64, Vec<u8>)> = None;
        let mut copies = Vec::new();
        for l in 1..=2u64 {
            let data = self
                .src
                .bytes(l * self.leb(), self.leb() as usize)
                .map_err(|e| out.malformed(e.to_string()))?;
            let mut pos = 0;
            let mut last = None;
            while pos + CH <= data.len() {
                let Some((t, len)) = node(&data[pos..]) else {
                    break;
                };
                if t == MST && len == MST_SIZE {
                    last = Some(data[pos..pos + len].to_vec());
                }
                pos = (pos + len + 7) & !7;
            }
            if let Some(m) = last {
                let sq = le64(&m, 8).unwrap_or(0);
                copies.push(m.clone());
                if best.as_ref().is_none_or(|b| sq > b.0) {
                    best = Some((sq, m));
                }
            }
        }
        let Some((_, m)) = best else {
            return Err(out.malformed("no valid master node in LEB 1 or 2"));
        };
        if copies.len() == 2 && copies[0][CH..] != copies[1][CH..] {
            out.problem("the two master LEBs disagree; the newest master node is used");
        } else if copies.len() == 1 {
            out.problem("only one master LEB holds a valid master node");
        }
        Ok(Master {
            cmt_no: le64(&m, 32).unwrap_or(0),
            log_lnum: le32(&m, 44).unwrap_or(0),
            root: (
                le32(&m, 48).unwrap_or(0),
                le32(&m, 52).unwrap_or(0),
                le32(&m, 56).unwrap_or(0),
            ),
        })
    }

    /// Walks the index from the root with an explicit stack, collecting its leaves.
    fn index(&self, out: &mut Output<'_>, lnum: u32, offs: u32, len: u32) -> Result<Leaves> {
        let mut leaves = Leaves::default();
        let mut seen: HashSet<(u32, u32)> = HashSet::new();
        // (lnum, offs, len, the level the parent expects, or None for the root)
        let mut stack = vec![(lnum, offs, len, None::<u16>)];
        let mut count = 0usize;
        while let Some((lnum, offs, len, want)) = stack.pop() {
            out.check_time()?;
            if !seen.insert((lnum, offs)) {
                out.problem(format!(
                    "index node at LEB {lnum}:{offs} is reached a second time (a loop in the index); not read again"
                ));
                continue;
            }
            let b = match self.read_node(lnum, offs, len) {
                Ok(b) => b,
                Err(e) => {
                    out.problem(format!("index: {e}; the subtree under it is lost"));
                    continue;
                }
            };
            if b[20] != IDX {
                out.problem(format!(
                    "index: LEB {lnum}:{offs} is node type {}, not an index node",
                    b[20]
                ));
                continue;
            }
            let children = usize::from(le16(&b, 24).unwrap_or(0));
            let level = le16(&b, 26).unwrap_or(0);
            if level >= MAX_LEVELS || want.is_some_and(|w| w != level) {
                out.problem(format!(
                    "index node at LEB {lnum}:{offs} has level {level}, its parent expects {want:?}; skipped"
                ));
                continue;
            }
            for i in 0..children {
                let at = 28 + i * 20;
                let Some(br) = b.get(at..at + 20) else {
                    out.problem(format!(
                        "index node at LEB {lnum}:{offs} lists {children} branches that do not fit in it"
                    ));
                    break;
                };
                let (cl, co, cn) = (
                    le32(br, 0).unwrap_or(0),
                    le32(br, 4).unwrap_or(0),
                    le32(br, 8).unwrap_or(0),
                );
                if level > 0 {
                    stack.push((cl, co, cn, Some(level - 1)));
                    continue;
                }
                count += 1;
                if count > MAX_LEAVES {
                    return Err(out.malformed("more index entries than fwgate reads"));
                }
                let key_type = (le32(br, 16).unwrap_or(0) >> 29) as u8;
                self.leaf(out, &mut leaves, cl, co, cn, key_type);
            }
        }
        Ok(leaves)
    }

    fn leaf(&self, out: &mut Output<'_>, leaves: &mut Leaves, l: u32, o: u32, n: u32, key: u8) {
        let b = match self.read_node(l, o, n) {
            Ok(b) => b,
            Err(e) => {
                out.problem(format!("index leaf: {e}"));
                return;
            }
        };
        let t = b[20];
        if t != key {
            out.problem(format!(
                "LEB {l}:{o}: the index key says type {key}, the node is type {t}; skipped"
            ));
            return;
        }
        self.apply(out, leaves, &b, l, o, n);
    }

    /// Applies one leaf node (from the index, or replayed from the journal in sequence
    /// order) to what the file system holds.
    fn apply(&self, out: &mut Output<'_>, leaves: &mut Leaves, b: &[u8], l: u32, o: u32, n: u32) {
        let t = b[20];
        let inum = le32(b, 24).unwrap_or(0);
        match t {
            INO if le32(b, 92) == Some(0) => {
                // nlink 0 (journal): the inode and everything keyed by it are deleted.
                leaves.inodes.remove(&inum);
                leaves.data.remove(&inum);
                leaves.dents.retain(|k, _| k.0 != inum);
            }
            TRUN => {
                let new_size = le64(b, 48).unwrap_or(0);
                let keep = new_size.div_ceil(BLOCK);
                if let Some(blocks) = leaves.data.get_mut(&inum) {
                    blocks.retain(|&blk, _| u64::from(blk) < keep);
                }
            }
            INO => {
                let data_len = le32(b, 112).unwrap_or(0) as usize;
                let mode = le32(b, 104).unwrap_or(0);
                let xattrs = le32(b, 116).unwrap_or(0);
                leaves.xents += xattrs as usize;
                leaves.inodes.insert(
                    inum,
                    Inode {
                        size: le64(b, 48).unwrap_or(0),
                        nlink: le32(b, 92).unwrap_or(0),
                        attrs: Attrs::new(
                            mode,
                            le32(b, 96).unwrap_or(0),
                            le32(b, 100).unwrap_or(0),
                        ),
                        mode,
                        flags: le32(b, 108).unwrap_or(0),
                        data: b.get(160..160 + data_len).unwrap_or(&[]).to_vec(),
                    },
                );
            }
            DENT => {
                let nlen = usize::from(le16(b, 50).unwrap_or(0));
                let Some(name) = b.get(56..56 + nlen) else {
                    out.problem(format!(
                        "LEB {l}:{o}: directory entry name runs past its node"
                    ));
                    return;
                };
                let target = le64(b, 40).unwrap_or(0);
                if target == 0 {
                    // A deletion entry (journal): the name is gone.
                    leaves.dents.remove(&(inum, name.to_vec()));
                } else {
                    leaves.dents.insert((inum, name.to_vec()), target);
                }
            }
            DATA => {
                let block = le32(b, 28).unwrap_or(0) & 0x1fff_ffff;
                let at = u64::from(l) * self.leb() + u64::from(o);
                leaves
                    .data
                    .entry(inum)
                    .or_default()
                    .insert(block, (at, n as usize));
            }
            XENT => {}
            _ => {}
        }
    }

    /// Replays the journal the way the kernel does at mount (fs/ubifs/replay.c): the log,
    /// from the master's log LEB, starts with the commit's CS node and lists the bud LEBs
    /// (REF nodes) written since; their nodes are applied over the index in sequence order.
    fn replay(
        &self,
        out: &mut Output<'_>,
        leaves: &mut Leaves,
        log_lnum: u32,
        cmt_no: u64,
    ) -> Result<()> {
        let first = 3u32;
        let end = first.saturating_add(self.s.log_lebs);
        if !(first..end).contains(&log_lnum) {
            out.problem(format!(
                "the master's log LEB {log_lnum} is outside the log; the journal is not replayed"
            ));
            return Ok(());
        }
        let mut cs_sqnum: Option<u64> = None;
        let mut buds: Vec<(u32, u32)> = Vec::new();
        let mut l = log_lnum;
        'log: for _ in 0..self.s.log_lebs {
            out.check_time()?;
            let data = self
                .src
                .bytes(u64::from(l) * self.leb(), self.leb() as usize)
                .map_err(|e| out.malformed(e.to_string()))?;
            let mut pos = 0;
            while pos + CH <= data.len() {
                let Some((t, len)) = node(&data[pos..]) else {
                    break;
                };
                let sq = le64(&data, pos + 8).unwrap_or(0);
                match cs_sqnum {
                    None if t == CS && le64(&data, pos + CH) == Some(cmt_no) => cs_sqnum = Some(sq),
                    None => {
                        out.problem(format!("the log at LEB {l} does not start with commit {cmt_no}'s CS node; the journal is not replayed"));
                        return Ok(());
                    }
                    Some(cs) if sq < cs => break 'log,
                    Some(_) if t == REF => {
                        buds.push((
                            le32(&data, pos + CH).unwrap_or(0),
                            le32(&data, pos + CH + 4).unwrap_or(0),
                        ));
                    }
                    Some(_) if t == CS => break 'log,
                    Some(_) => {
                        out.problem(format!("node type {t} in the log at LEB {l}:{pos}; the rest of the log is not replayed"));
                        break 'log;
                    }
                }
                pos = (pos + len + 7) & !7;
            }
            l = if l + 1 >= end { first } else { l + 1 };
            if l == log_lnum {
                break;
            }
        }
        let Some(cs) = cs_sqnum else {
            return Ok(());
        };
        let mut nodes: Vec<(u64, u32, u32, u32)> = Vec::new();
        for (bl, bo) in &buds {
            out.check_time()?;
            if *bl >= self.s.leb_cnt || u64::from(*bo) >= self.leb() {
                out.problem(format!(
                    "the log references bud LEB {bl}:{bo}, outside the file system"
                ));
                continue;
            }
            let data = self
                .src
                .bytes(u64::from(*bl) * self.leb(), self.leb() as usize)
                .map_err(|e| out.malformed(e.to_string()))?;
            let mut pos = *bo as usize;
            while pos + CH <= data.len() {
                let fill = data[pos..]
                    .iter()
                    .take(PAD_NODE)
                    .take_while(|&&b| b == 0xce)
                    .count();
                if fill > 0 && fill < PAD_NODE {
                    pos += fill;
                    continue;
                }
                let Some((t, len)) = node(&data[pos..]) else {
                    if data[pos..].iter().any(|&b| b != 0xff) {
                        out.problem(format!("bud LEB {bl}: bytes at offset {pos} are not a valid node; the rest of the bud is not replayed"));
                    }
                    break;
                };
                let sq = le64(&data, pos + 8).unwrap_or(0);
                if t == PAD {
                    pos = pos
                        .saturating_add(len)
                        .saturating_add(le32(&data, pos + CH).unwrap_or(0) as usize);
                    pos = pos.saturating_add(7) & !7;
                    continue;
                }
                if sq > cs && matches!(t, INO | DATA | DENT | XENT | TRUN) {
                    if nodes.len() >= MAX_LEAVES {
                        return Err(out.malformed("more journal nodes than fwgate reads"));
                    }
                    nodes.push((sq, *bl, pos as u32, len as u32));
                }
                pos = (pos + len + 7) & !7;
            }
        }
        nodes.sort_unstable();
        for w in nodes.windows(2) {
            if w[0].0 == w[1].0 {
                out.problem(format!(
                    "two journal nodes share sequence number {}",
                    w[0].0
                ));
                break;
            }
        }
        for &(_, bl, bo, len) in &nodes {
            out.check_time()?;
            match self.read_node(bl, bo, len) {
                Ok(b) => self.apply(out, leaves, &b, bl, bo, len),
                Err(e) => out.problem(format!("journal: {e}")),
            }
        }
        Ok(())
    }

    /// Writes the tree from the root inode (1), depth-first with an explicit stack.
    fn build(&self, out: &mut Output<'_>, mut lv: Leaves) -> Result<()> {
        let mut children: HashMap<u32, Vec<(Vec<u8>, u64)>> = HashMap::new();
        for ((parent, name), inum) in std::mem::take(&mut lv.dents) {
            children.entry(parent).or_default().push((name, inum));
        }
        for c in children.values_mut() {
            c.sort();
        }
        if lv.xents > 0 {
            out.problem(format!(
                "{} extended attributes are not extracted",
                lv.xents
            ));
        }
        if !lv.inodes.contains_key(&1) {
            return Err(out.malformed("the index holds no root inode"));
        }
        let mut visited: HashSet<u32> = HashSet::from([1]);
        let mut named: HashSet<u32> = HashSet::from([1]);
        let mut linked: HashMap<u32, String> = HashMap::new();
        let mut stack = vec![(1u32, String::new())];
        while let Some((dir, path)) = stack.pop() {
            out.check_time()?;
            let Some(list) = children.get(&dir) else {
                continue;
            };
            for (name, inum) in list {
                out.check_time()?;
                let shown = String::from_utf8_lossy(name);
                let child = format!("{path}/{shown}");
                if let Some(why) = bad_name(name) {
                    out.problem(format!(
                        "{path}/: directory entry with {why} ({shown:?}); not extracted"
                    ));
                    continue;
                }
                let Ok(ino) = u32::try_from(*inum) else {
                    out.problem(format!("{child}: inode number {inum} is out of range"));
                    continue;
                };
                named.insert(ino);
                let Some(node) = lv.inodes.get(&ino) else {
                    out.problem(format!(
                        "{child}: names inode {ino}, which the index does not hold"
                    ));
                    continue;
                };
                match node.mode & 0o170000 {
                    0o040000 => {
                        out.dir(&child, node.attrs)?;
                        if visited.insert(ino) {
                            stack.push((ino, child));
                        } else {
                            out.problem(format!("{child}: directory inode {ino} reached a second time (a loop or a hard-linked directory); not entered again"));
                        }
                    }
                    0o100000 => {
                        if let Some(first) = linked.get(&ino) {
                            out.hardlink(&child, first)?;
                            continue;
                        }
                        if node.nlink > 1 {
                            linked.insert(ino, child.clone());
                        }
                        let blocks = lv.data.remove(&ino).unwrap_or_default();
                        let mut r = FileReader {
                            src: &self.src,
                            blocks: blocks.into_iter().collect(),
                            size: node.size,
                            pos: 0,
                            next: 0,
                            buf: Vec::new(),
                            buf_at: 0,
                        };
                        out.file(&child, &mut r, node.attrs)?;
                    }
                    0o120000 => match String::from_utf8(node.data.clone()) {
                        Ok(t) => out.symlink(&child, &t, node.attrs)?,
                        Err(_) => out.problem(format!("{child}: symlink target is not UTF-8")),
                    },
                    fmt @ (0o020000 | 0o060000 | 0o010000 | 0o140000) => {
                        let kind = match fmt {
                            0o020000 => DeviceKind::Char,
                            0o060000 => DeviceKind::Block,
                            0o010000 => DeviceKind::Fifo,
                            _ => DeviceKind::Socket,
                        };
                        let rdev = match node.data.len() {
                            0 => 0,
                            4 | 8 => le32(&node.data, 0).unwrap_or(0),
                            n => {
                                out.problem(format!("{child}: device data of {n} bytes"));
                                continue;
                            }
                        };
                        out.special(&child, Device::from_linux(kind, rdev), node.attrs)?;
                    }
                    m => out.problem(format!("{child}: unknown file type (mode {m:#o})")),
                }
            }
        }
        let mut lost: Vec<u32> = lv
            .inodes
            .iter()
            .filter(|(i, n)| !named.contains(i) && n.flags & XATTR_FL == 0)
            .map(|(i, _)| *i)
            .collect();
        lost.sort_unstable();
        if let Some(first) = lost.first() {
            out.problem(format!(
                "{} inodes (first: {first}) are in the index but no directory entry names them; not extracted",
                lost.len()
            ));
        }
        Ok(())
    }
}

/// Unpacks one data node into its block.
fn block(b: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let size = le32(b, 40).unwrap_or(0) as usize;
    let compr = le16(b, 44).unwrap_or(0);
    if size as u64 > BLOCK {
        return Err(format!("data node of {size} bytes (a block is {BLOCK})"));
    }
    let data = b.get(48..).unwrap_or(&[]);
    let mut out = Vec::with_capacity(size);
    match compr {
        0 => out.extend_from_slice(data),
        1 => {
            out.resize(size, 0);
            let n = lzo::decompress_into(data, &mut out).map_err(|e| e.to_string())?;
            out.truncate(n);
        }
        2 => {
            flate2::read::DeflateDecoder::new(data)
                .take(size as u64)
                .read_to_end(&mut out)
                .map_err(|e| e.to_string())?;
        }
        3 => {
            let mut d = zstd::bulk::Decompressor::new().map_err(|e| e.to_string())?;
            out = d.decompress(data, size).map_err(|e| e.to_string())?;
        }
        c => return Err(format!("unknown compression {c}")),
    }
    if out.len() != size {
        return Err(format!(
            "data node unpacks to {} bytes, it says {size}",
            out.len()
        ));
    }
    Ok(out)
}

/// A file's bytes: its data nodes by block number, zeros in holes, cut at the inode's size.
struct FileReader<'s> {
    src: &'s Source,
    blocks: Vec<(u32, (u64, usize))>,
    size: u64,
    pos: u64,
    next: usize,
    buf: Vec<u8>,
    /// File offset of `buf`'s first byte.
    buf_at: u64,
}

impl Read for FileReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.size || out.is_empty() {
            return Ok(0);
        }
        let blk = self.pos / BLOCK;
        if !(self.buf_at <= self.pos && self.pos < self.buf_at + BLOCK && !self.buf.is_empty()) {
            while self
                .blocks
                .get(self.next)
                .is_some_and(|b| u64::from(b.0) < blk)
            {
                self.next += 1;
            }
            self.buf = match self.blocks.get(self.next) {
                Some(&(n, (at, len))) if u64::from(n) == blk => {
                    let b = self.src.bytes(at, len)?;
                    let mut d = block(&b)
                        .map_err(|e| std::io::Error::other(format!("block {n} at {at:#x}: {e}")))?;
                    d.resize(BLOCK as usize, 0);
                    d
                }
                _ => vec![0u8; BLOCK as usize],
            };
            self.buf_at = blk * BLOCK;
        }
        let from = (self.pos - self.buf_at) as usize;
        let n = out
            .len()
            .min(BLOCK as usize - from)
            .min((self.size - self.pos) as usize);
        out[..n].copy_from_slice(&self.buf[from..from + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A data node's bytes (the CRC is not checked by `block`).
    fn data_node(compr: u16, size: u32, payload: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; 48];
        b[40..44].copy_from_slice(&size.to_le_bytes());
        b[44..46].copy_from_slice(&compr.to_le_bytes());
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn blocks_unpack_with_each_mkfs_compressor() {
        let plain: Vec<u8> = (0..4096u32).map(|i| (i % 13) as u8).collect();
        let size = plain.len() as u32;
        assert_eq!(block(&data_node(0, size, &plain)).unwrap(), plain);
        let z = zstd::bulk::compress(&plain, 3).unwrap();
        assert_eq!(block(&data_node(3, size, &z)).unwrap(), plain);
        let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        d.write_all(&plain).unwrap();
        let raw = d.finish().unwrap();
        assert_eq!(block(&data_node(2, size, &raw)).unwrap(), plain);
        // A block claiming more than 4 KiB, a short one and an unknown compressor are errors.
        assert!(block(&data_node(0, 8192, &plain)).is_err());
        assert!(block(&data_node(3, size + 1, &z)).is_err());
        assert!(block(&data_node(9, size, &plain)).is_err());
    }
}
