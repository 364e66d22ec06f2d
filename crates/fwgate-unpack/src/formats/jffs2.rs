//! JFFS2 flash file systems (both byte orders; none, zero, zlib, rtime, lzo and lzma data).
//!
//! Written here because no maintained Rust crate reads JFFS2. It reads the image the way the
//! Linux kernel mounts it (fs/jffs2/scan.c, readinode.c): nodes are found by scanning in
//! 4-byte steps; a node whose header, node or data CRC fails is skipped (and reported), as the
//! kernel marks it obsolete; the newest version of each data range wins, the newest directory
//! entry per (parent, name) wins and one with inode 0 deletes the name; owners and modes come
//! from the newest inode node. Unknown node types follow the kernel's compatibility bits,
//! reported. Memory is bounded by an index of nodes (offset, version, range): data is read
//! from the image when a file is written, one node at a time.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;

use crate::formats::bad_name;
use crate::handler::{human_size, Attrs, Handler, Output, Probe};
use crate::source::Source;
use crate::tree::{Device, DeviceKind};
use crate::Result;

const MAGIC: u16 = 0x1985;
const OLD_MAGIC: u16 = 0x1984;
const ACCURATE: u16 = 0x2000;
const COMPAT_MASK: u16 = 0xc000;
const INCOMPAT: u16 = 0xc000;
const ROCOMPAT: u16 = 0x8000;
const RWCOMPAT_COPY: u16 = 0x4000;
const DIRENT: u16 = 0xe001;
const INODE: u16 = 0xe002;
const CLEANMARKER: u16 = 0x2003;
const PADDING: u16 = 0x2004;
const SUMMARY: u16 = 0x2006;
const XATTR: u16 = 0xe008;
const XREF: u16 = 0xe009;

const HEADER: usize = 12;
const DIRENT_SIZE: usize = 40;
const INODE_SIZE: usize = 68;
/// Largest node accepted: no erase block is larger.
const MAX_NODE: u32 = 1 << 24;
/// Largest data a node may unpack to (a page; 64 KiB pages exist, 1 MiB is generous).
const MAX_DSIZE: u32 = 1 << 20;
/// Longest symlink target the kernel serves.
const MAX_LINK: u32 = 4096;
/// Most problems reported one by one; the rest are counted.
const MAX_PROBLEMS: usize = 200;
/// Most nodes indexed (an image of 1 GiB of minimal nodes holds fewer).
const MAX_NODES: usize = 16 << 20;

/// JFFS2's CRC: the kernel's `crc32(0, …)`, i.e. CRC-32 without the final inversion.
pub(crate) fn crc(b: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new_with_initial(0xffff_ffff);
    h.update(b);
    !h.finalize()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endian {
    Little,
    Big,
}

impl Endian {
    fn u16(self, b: &[u8], at: usize) -> u16 {
        let x = [
            b.get(at).copied().unwrap_or(0),
            b.get(at + 1).copied().unwrap_or(0),
        ];
        match self {
            Endian::Little => u16::from_le_bytes(x),
            Endian::Big => u16::from_be_bytes(x),
        }
    }
    fn u32(self, b: &[u8], at: usize) -> u32 {
        let mut x = [0u8; 4];
        for (i, v) in x.iter_mut().enumerate() {
            *v = b.get(at + i).copied().unwrap_or(0);
        }
        match self {
            Endian::Little => u32::from_le_bytes(x),
            Endian::Big => u32::from_be_bytes(x),
        }
    }
    fn name(self) -> &'static str {
        match self {
            Endian::Little => "little-endian",
            Endian::Big => "big-endian",
        }
    }
}

/// A node header whose magic and CRC check out: byte order, type and total length.
fn header(b: &[u8]) -> Option<(Endian, u16, u32)> {
    let h = b.get(..HEADER)?;
    let e = match h[..2] {
        [0x85, 0x19] => Endian::Little,
        [0x19, 0x85] => Endian::Big,
        _ => return None,
    };
    (e.u32(h, 8) == crc(&h[..8])).then(|| (e, e.u16(h, 2), e.u32(h, 4)))
}

/// The JFFS2 handler.
pub struct Jffs2;

impl Handler for Jffs2 {
    fn id(&self) -> &'static str {
        "jffs2"
    }
    fn description(&self) -> &'static str {
        "JFFS2 flash file system (both byte orders; zlib, rtime, lzo, lzma)"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[
            &[0x85, 0x19, 0x01, 0xe0],
            &[0x85, 0x19, 0x02, 0xe0],
            &[0x85, 0x19, 0x03, 0x20],
            &[0x19, 0x85, 0xe0, 0x01],
            &[0x19, 0x85, 0xe0, 0x02],
            &[0x19, 0x85, 0x20, 0x03],
        ]
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        let b = src.bytes(0, INODE_SIZE).ok()?;
        let (e, t, len) = header(&b)?;
        let ok = match t {
            CLEANMARKER => len >= HEADER as u32 && len <= MAX_NODE,
            DIRENT => b.len() >= DIRENT_SIZE && e.u32(&b, 32) == crc(&b[..32]),
            INODE => b.len() >= INODE_SIZE && e.u32(&b, 64) == crc(&b[..60]),
            _ => false,
        };
        ok.then(|| Probe::new(None, format!("JFFS2 file system ({})", e.name())))
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let head = src
            .bytes(0, HEADER)
            .map_err(|e| out.malformed(e.to_string()))?;
        let (endian, _, _) = header(&head).ok_or_else(|| out.malformed("no node header"))?;
        let mut fs = Scan {
            src,
            e: endian,
            nodes: Vec::new(),
            inodes: HashMap::new(),
            dirents: HashMap::new(),
            used: Vec::new(),
            problems: 0,
            xattrs: 0,
            end: 0,
        };
        let scanned = fs.scan(out);
        let used = merge(std::mem::take(&mut fs.used));
        out.used(used);
        scanned?;
        let walked = fs.walk(out);
        if fs.problems > MAX_PROBLEMS {
            out.problem(format!(
                "{} more node problems not listed one by one",
                fs.problems - MAX_PROBLEMS
            ));
        }
        walked?;
        Ok(fs.end)
    }
}

/// A data node in the index: where it is and what range of which inode it holds.
#[derive(Debug, Clone, Copy)]
struct DataNode {
    ino: u32,
    version: u32,
    /// Offset of the node in the image.
    at: u64,
    offset: u32,
    dsize: u32,
    csize: u32,
    compr: u8,
}

/// The newest inode node of an inode.
#[derive(Debug, Clone, Copy)]
struct Meta {
    node: DataNode,
    mode: u32,
    uid: u32,
    gid: u32,
    isize: u32,
}

#[derive(Debug, Clone, Copy)]
struct Dirent {
    version: u32,
    ino: u32,
    at: u64,
}

struct Scan<'s> {
    src: &'s Source,
    e: Endian,
    nodes: Vec<DataNode>,
    inodes: HashMap<u32, Meta>,
    dirents: HashMap<(u32, Vec<u8>), Dirent>,
    used: Vec<(u64, u64)>,
    problems: usize,
    xattrs: usize,
    /// End of the last node (4-byte aligned).
    end: u64,
}

fn align4(n: u64) -> u64 {
    n.saturating_add(3) & !3
}

/// Sorts and joins adjacent ranges.
fn merge(mut r: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    r.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(r.len().min(1024));
    for (a, b) in r {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

impl Scan<'_> {
    fn report(&mut self, out: &mut Output<'_>, msg: String) {
        self.problems += 1;
        if self.problems <= MAX_PROBLEMS {
            out.problem(msg);
        }
    }

    /// Scans the image node by node, indexing inode and dirent nodes.
    fn scan(&mut self, out: &mut Output<'_>) -> Result<()> {
        let len = self.src.len();
        let mut pos = 0u64;
        let mut chunk: Vec<u8> = Vec::new();
        let mut chunk_at = 0u64;
        let mut steps = 0u32;
        while pos.saturating_add(HEADER as u64) <= len {
            steps = steps.wrapping_add(1);
            if steps.is_multiple_of(1024) {
                out.check_time()?;
            }
            // Headers are read from a 64 KiB window that follows the scan.
            let rel = pos.wrapping_sub(chunk_at);
            if pos < chunk_at || rel + HEADER as u64 > chunk.len() as u64 {
                chunk = self
                    .src
                    .bytes(pos, 64 * 1024)
                    .map_err(|e| out.malformed(e.to_string()))?;
                chunk_at = pos;
            }
            let rel = (pos - chunk_at) as usize;
            let h = chunk.get(rel..rel + HEADER).unwrap_or(&[]);
            let magic = self.e.u16(h, 0);
            if magic != MAGIC {
                if magic == OLD_MAGIC {
                    self.report(out, format!("{pos:#x}: node with the old JFFS1-era magic 0x1984; the kernel skips it"));
                } else if magic == MAGIC.swap_bytes() && header(h).is_some() {
                    self.report(out, format!("{pos:#x}: node in the other byte order than the file system's ({}); the kernel skips it", self.e.name()));
                }
                pos += 4;
                continue;
            }
            let Some((_, ntype, totlen)) = header(h) else {
                self.report(
                    out,
                    format!("{pos:#x}: node header CRC mismatch; the kernel skips it"),
                );
                pos += 4;
                continue;
            };
            let node_end = pos.saturating_add(u64::from(totlen));
            if (totlen as usize) < HEADER || totlen > MAX_NODE || node_end > len {
                self.report(out, format!("{pos:#x}: node of {totlen} bytes runs past the image ({len:#x}) or is impossible; skipped"));
                pos += 4;
                continue;
            }
            let accepted = if ntype & ACCURATE == 0 {
                // Obsoleted on flash: the kernel ignores it; it is file system space.
                true
            } else {
                match ntype {
                    DIRENT => self.dirent(out, pos, totlen)?,
                    INODE => self.inode(out, pos, totlen)?,
                    CLEANMARKER | PADDING | SUMMARY => true,
                    XATTR | XREF => {
                        self.xattrs += 1;
                        if self.xattrs == 1 {
                            out.problem(format!(
                                "{pos:#x}: extended attribute nodes (xattr/xref) are not extracted"
                            ));
                        }
                        true
                    }
                    t => {
                        let what = match t & COMPAT_MASK {
                            INCOMPAT => {
                                "an INCOMPAT node type: the kernel refuses to mount the file system"
                            }
                            ROCOMPAT => {
                                "an ROCOMPAT node type: the kernel mounts the file system read-only"
                            }
                            RWCOMPAT_COPY => {
                                "an RWCOMPAT_COPY node type the kernel keeps without reading it"
                            }
                            _ => "an RWCOMPAT_DELETE node type the kernel deletes",
                        };
                        self.report(out, format!("{pos:#x}: node type {t:#06x} is {what}; its contents are not extracted"));
                        true
                    }
                }
            };
            let next = align4(node_end).min(len);
            if accepted {
                self.used.push((pos, next));
                self.end = self.end.max(next);
                pos = next;
            } else {
                pos += 4;
            }
        }
        Ok(())
    }

    fn dirent(&mut self, out: &mut Output<'_>, pos: u64, totlen: u32) -> Result<bool> {
        let e = self.e;
        let b = self.read(out, pos, (totlen as usize).min(DIRENT_SIZE + 255))?;
        if b.len() < DIRENT_SIZE || e.u32(&b, 32) != crc(&b[..32]) {
            self.report(
                out,
                format!("{pos:#x}: directory entry node CRC mismatch; the kernel skips it"),
            );
            return Ok(false);
        }
        let nsize = usize::from(b[28]);
        let Some(name) = b.get(DIRENT_SIZE..DIRENT_SIZE + nsize) else {
            self.report(
                out,
                format!("{pos:#x}: directory entry name runs past its node"),
            );
            return Ok(false);
        };
        if e.u32(&b, 36) != crc(name) {
            self.report(
                out,
                format!("{pos:#x}: directory entry name CRC mismatch; the kernel skips it"),
            );
            return Ok(false);
        }
        let pino = e.u32(&b, 12);
        let d = Dirent {
            version: e.u32(&b, 16),
            ino: e.u32(&b, 20),
            at: pos,
        };
        match self.dirents.get(&(pino, name.to_vec())) {
            Some(old) if old.version > d.version => {}
            Some(old) if old.version == d.version => {
                let msg = format!(
                    "{pos:#x}: directory entry {:?} in inode {pino} has the same version ({}) as the one at {:#x}; the first one is kept",
                    String::from_utf8_lossy(name),
                    d.version,
                    old.at
                );
                self.report(out, msg);
            }
            _ => {
                if self.dirents.len() >= MAX_NODES {
                    return Err(out.malformed("more directory entries than fwgate indexes"));
                }
                self.dirents.insert((pino, name.to_vec()), d);
            }
        }
        Ok(true)
    }

    fn inode(&mut self, out: &mut Output<'_>, pos: u64, totlen: u32) -> Result<bool> {
        let e = self.e;
        let b = self.read(out, pos, INODE_SIZE)?;
        if b.len() < INODE_SIZE || e.u32(&b, 64) != crc(&b[..60]) {
            self.report(
                out,
                format!("{pos:#x}: inode node CRC mismatch; the kernel skips it"),
            );
            return Ok(false);
        }
        let n = DataNode {
            ino: e.u32(&b, 12),
            version: e.u32(&b, 16),
            at: pos,
            offset: e.u32(&b, 44),
            csize: e.u32(&b, 48),
            dsize: e.u32(&b, 52),
            compr: b[56],
        };
        if n.ino == 0 || u64::from(n.csize) + INODE_SIZE as u64 > u64::from(totlen) {
            self.report(out, format!("{pos:#x}: inode node for inode {} holds {} bytes of data in a node of {totlen}; skipped", n.ino, n.csize));
            return Ok(false);
        }
        if n.dsize > MAX_DSIZE {
            self.report(
                out,
                format!(
                    "{pos:#x}: inode {} node unpacks to {} bytes (at most {MAX_DSIZE}); skipped",
                    n.ino, n.dsize
                ),
            );
            return Ok(false);
        }
        // The kernel checks the data CRC before it uses a node, and drops the node if it fails.
        let data_crc = e.u32(&b, 60);
        let data = self.read(out, pos + INODE_SIZE as u64, n.csize as usize)?;
        if crc(&data) != data_crc {
            self.report(out, format!("{pos:#x}: inode {} data CRC mismatch (version {}, bytes {}..{}); the kernel drops the node", n.ino, n.version, n.offset, u64::from(n.offset) + u64::from(n.dsize)));
            return Ok(false);
        }
        let meta = Meta {
            node: n,
            mode: e.u32(&b, 20),
            uid: u32::from(e.u16(&b, 24)),
            gid: u32::from(e.u16(&b, 26)),
            isize: e.u32(&b, 28),
        };
        match self.inodes.get(&n.ino) {
            Some(old) if old.node.version > n.version => {}
            Some(old) if old.node.version == n.version => {}
            _ => {
                self.inodes.insert(n.ino, meta);
            }
        }
        if let Some(same) = self
            .nodes
            .iter()
            .rev()
            .take(64)
            .find(|o| o.ino == n.ino && o.version == n.version && n.dsize > 0 && o.dsize > 0)
        {
            let msg = format!(
                "{pos:#x}: inode {} node claims version {} like the node at {:#x}; the first one found is kept",
                n.ino, n.version, same.at
            );
            self.report(out, msg);
            return Ok(true);
        }
        if self.nodes.len() >= MAX_NODES {
            return Err(out.malformed("more data nodes than fwgate indexes"));
        }
        self.nodes.push(n);
        Ok(true)
    }

    fn read(&self, out: &Output<'_>, at: u64, n: usize) -> Result<Vec<u8>> {
        self.src
            .bytes(at, n)
            .map_err(|e| out.malformed(e.to_string()))
    }

    /// Builds the tree from the root (inode 1) with an explicit stack.
    fn walk(&mut self, out: &mut Output<'_>) -> Result<()> {
        let mut children: BTreeMap<u32, Vec<(Vec<u8>, u32)>> = BTreeMap::new();
        for ((pino, name), d) in &self.dirents {
            if d.ino != 0 {
                children
                    .entry(*pino)
                    .or_default()
                    .push((name.clone(), d.ino));
            }
        }
        for list in children.values_mut() {
            list.sort();
        }
        let mut by_ino: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            by_ino.entry(n.ino).or_default().push(i);
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
            for (name, ino) in list {
                out.check_time()?;
                let shown = String::from_utf8_lossy(name);
                let child = format!("{path}/{shown}");
                if let Some(why) = bad_name(name) {
                    out.problem(format!(
                        "{path}/: directory entry with {why} ({shown:?}); not extracted"
                    ));
                    continue;
                }
                named.insert(*ino);
                let Some(meta) = self.inodes.get(ino).copied() else {
                    out.problem(format!(
                        "{child}: names inode {ino}, which has no valid inode node"
                    ));
                    continue;
                };
                let attrs = Attrs::new(meta.mode, meta.uid, meta.gid);
                match meta.mode & 0o170000 {
                    0o040000 => {
                        out.dir(&child, attrs)?;
                        if visited.insert(*ino) {
                            stack.push((*ino, child));
                        } else {
                            out.problem(format!("{child}: directory inode {ino} reached a second time (a loop or a hard-linked directory); not entered again"));
                        }
                    }
                    0o100000 => {
                        if let Some(first) = linked.get(ino) {
                            out.hardlink(&child, first)?;
                            continue;
                        }
                        linked.insert(*ino, child.clone());
                        let nodes = by_ino.get(ino).map(Vec::as_slice).unwrap_or(&[]);
                        let mut r =
                            FileReader::new(self.src, self.e, &self.nodes, nodes, meta.isize);
                        out.file(&child, &mut r, attrs)?;
                    }
                    0o120000 => {
                        if meta.node.dsize > MAX_LINK {
                            out.problem(format!(
                                "{child}: symlink target of {} bytes",
                                meta.node.dsize
                            ));
                            continue;
                        }
                        match node_data(self.src, self.e, &meta.node) {
                            Ok(t) => match String::from_utf8(t) {
                                Ok(t) => out.symlink(&child, &t, attrs)?,
                                Err(_) => {
                                    out.problem(format!("{child}: symlink target is not UTF-8"))
                                }
                            },
                            Err(e) => out.problem(format!("{child}: symlink target: {e}")),
                        }
                    }
                    fmt @ (0o020000 | 0o060000 | 0o010000 | 0o140000) => {
                        let kind = match fmt {
                            0o020000 => DeviceKind::Char,
                            0o060000 => DeviceKind::Block,
                            0o010000 => DeviceKind::Fifo,
                            _ => DeviceKind::Socket,
                        };
                        let data = if matches!(kind, DeviceKind::Char | DeviceKind::Block) {
                            match node_data(self.src, self.e, &meta.node) {
                                Ok(d) => d,
                                Err(e) => {
                                    out.problem(format!("{child}: device number: {e}"));
                                    continue;
                                }
                            }
                        } else {
                            Vec::new()
                        };
                        let device = match data.len() {
                            0 => Device::from_linux(kind, 0),
                            // The old 16-bit form (major << 8 | minor).
                            2 => {
                                let v = self.e.u16(&data, 0);
                                Device {
                                    kind,
                                    major: u32::from(v >> 8),
                                    minor: u32::from(v & 0xff),
                                }
                            }
                            4 => Device::from_linux(kind, self.e.u32(&data, 0)),
                            n => {
                                out.problem(format!(
                                    "{child}: device data of {n} bytes (2 or 4 expected)"
                                ));
                                continue;
                            }
                        };
                        out.special(&child, device, attrs)?;
                    }
                    m => out.problem(format!(
                        "{child}: inode {ino} has an unknown file type (mode {m:#o})"
                    )),
                }
            }
        }
        let mut orphans: Vec<_> = by_ino
            .iter()
            .filter(|(ino, _)| !named.contains(ino))
            .map(|(ino, n)| (*ino, n.len()))
            .collect();
        orphans.sort_unstable();
        if let Some((ino, _)) = orphans.first() {
            let bytes: u64 = orphans
                .iter()
                .flat_map(|(i, _)| by_ino.get(i).into_iter().flatten())
                .filter_map(|&i| self.nodes.get(i))
                .map(|n| u64::from(n.dsize))
                .sum();
            out.problem(format!(
                "{} inodes (first: {ino}) have data nodes ({}) but no name: deleted or orphaned; the kernel drops them at mount; not extracted",
                orphans.len(),
                human_size(bytes)
            ));
        }
        Ok(())
    }
}

/// Reads and unpacks one data node's data.
fn node_data(src: &Source, e: Endian, n: &DataNode) -> std::result::Result<Vec<u8>, String> {
    let _ = e;
    let data = src
        .bytes(n.at + INODE_SIZE as u64, n.csize as usize)
        .map_err(|e| e.to_string())?;
    let want = n.dsize as usize;
    let out = match n.compr {
        0 => {
            if data.len() != want {
                return Err(format!(
                    "uncompressed node holds {} bytes of {want}",
                    data.len()
                ));
            }
            data
        }
        1 => vec![0u8; want],
        2 => rtime(&data, want)?,
        6 => limited(&mut flate2::read::ZlibDecoder::new(&data[..]), want)?,
        7 => {
            let mut o = vec![0u8; want];
            let got = lzo::decompress_into(&data, &mut o).map_err(|e| e.to_string())?;
            o.truncate(got);
            o
        }
        8 => lzma(&data, want)?,
        3 | 5 => return Err("rubin compression is not supported".into()),
        c => return Err(format!("unknown compression {c}")),
    };
    if out.len() != want {
        return Err(format!(
            "node data unpacks to {} bytes, the node says {want}",
            out.len()
        ));
    }
    Ok(out)
}

fn limited(r: &mut dyn Read, want: usize) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(want);
    r.take(want as u64)
        .read_to_end(&mut out)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// The kernel's jffs2 lzma (OpenWrt's): raw LZMA1, lc=0 lp=0 pb=0, 8 KiB dictionary, the
/// uncompressed size known from the node. Decoded as an lzma-alone stream with that header.
fn lzma(data: &[u8], want: usize) -> std::result::Result<Vec<u8>, String> {
    let mut stream = Vec::with_capacity(data.len() + 13);
    stream.push(0); // (pb * 5 + lp) * 9 + lc
    stream.extend_from_slice(&0x2000u32.to_le_bytes());
    stream.extend_from_slice(&(want as u64).to_le_bytes());
    stream.extend_from_slice(data);
    let s = liblzma::stream::Stream::new_lzma_decoder(crate::formats::DECODER_MEMLIMIT)
        .map_err(|e| e.to_string())?;
    limited(
        &mut liblzma::bufread::XzDecoder::new_stream(&stream[..], s),
        want,
    )
}

/// The kernel's rtime decompressor, bounded to `want` bytes of output.
fn rtime(data: &[u8], want: usize) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(want);
    let mut positions = [0usize; 256];
    let mut pos = 0;
    while out.len() < want {
        let (Some(&value), Some(&repeat)) = (data.get(pos), data.get(pos + 1)) else {
            return Err("rtime data ends early".into());
        };
        pos += 2;
        out.push(value);
        let start = positions[usize::from(value)];
        positions[usize::from(value)] = out.len();
        for back in start..start + usize::from(repeat) {
            let Some(&b) = out.get(back) else {
                return Err("rtime back-reference outside the output".into());
            };
            if out.len() >= want {
                return Err("rtime data unpacks past the node's size".into());
            }
            out.push(b);
        }
    }
    Ok(out)
}

/// A regular file's bytes: the newest version of each range, zeros in holes, cut at the size
/// of the newest inode node. One node's data in memory at a time.
struct FileReader<'f> {
    src: &'f Source,
    e: Endian,
    nodes: &'f [DataNode],
    /// Disjoint ranges `start -> (end, node index)`, in order.
    frags: Vec<(u64, u64, usize)>,
    size: u64,
    pos: u64,
    next: usize,
    cache: Option<(usize, Vec<u8>)>,
}

impl<'f> FileReader<'f> {
    fn new(src: &'f Source, e: Endian, all: &'f [DataNode], mine: &[usize], size: u32) -> Self {
        let mut order: Vec<usize> = mine
            .iter()
            .copied()
            .filter(|&i| all.get(i).is_some_and(|n| n.dsize > 0))
            .collect();
        // Oldest first, so newer versions overwrite; equal versions keep image order (the
        // kernel keeps the one it found first, so that one is applied last).
        order.sort_by_key(|&i| (all[i].version, std::cmp::Reverse(all[i].at)));
        let mut map: BTreeMap<u64, (u64, usize)> = BTreeMap::new();
        for i in order {
            let n = &all[i];
            let s = u64::from(n.offset);
            let e = s + u64::from(n.dsize);
            let over: Vec<(u64, (u64, usize))> = map
                .range(..e)
                .rev()
                .take_while(|(_, (end, _))| *end > s)
                .map(|(k, v)| (*k, *v))
                .collect();
            for (ks, (ke, ki)) in over {
                map.remove(&ks);
                if ks < s {
                    map.insert(ks, (s, ki));
                }
                if ke > e {
                    map.insert(e, (ke, ki));
                }
            }
            map.insert(s, (e, i));
        }
        FileReader {
            src,
            e,
            nodes: all,
            frags: map.into_iter().map(|(s, (e, i))| (s, e, i)).collect(),
            size: u64::from(size),
            pos: 0,
            next: 0,
            cache: None,
        }
    }
}

impl Read for FileReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        while self.frags.get(self.next).is_some_and(|f| f.1 <= self.pos) {
            self.next += 1;
        }
        let room = (buf.len() as u64).min(self.size - self.pos);
        match self.frags.get(self.next).copied() {
            Some((s, e, i)) if s <= self.pos => {
                if self.cache.as_ref().map(|c| c.0) != Some(i) {
                    let node = self
                        .nodes
                        .get(i)
                        .copied()
                        .ok_or_else(|| std::io::Error::other("node index"))?;
                    let d = node_data(self.src, self.e, &node).map_err(|m| {
                        std::io::Error::other(format!("data node at {:#x}: {m}", node.at))
                    })?;
                    self.cache = Some((i, d));
                }
                let (_, data) = self
                    .cache
                    .as_ref()
                    .ok_or_else(|| std::io::Error::other("cache"))?;
                let base = u64::from(self.nodes[i].offset);
                let from = (self.pos - base) as usize;
                let n = room.min(e - self.pos) as usize;
                let part = data
                    .get(from..from + n)
                    .ok_or_else(|| std::io::Error::other("node data shorter than its range"))?;
                buf[..n].copy_from_slice(part);
                self.pos += n as u64;
                Ok(n)
            }
            next => {
                // A hole up to the next range or the end.
                let until = next.map_or(self.size, |f| f.0.min(self.size));
                let n = room.min(until - self.pos) as usize;
                buf[..n].fill(0);
                self.pos += n as u64;
                Ok(n)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtime_round_trip_of_a_known_stream() {
        // "aaaa": 'a' then a repeat of 3 from position 0... the kernel's encoder emits
        // value, repeat pairs: ('a', 0) then ('a', 2) reproduces "aaaa".
        assert_eq!(rtime(&[b'a', 0, b'a', 2], 4).unwrap(), b"aaaa");
        assert!(rtime(&[b'a', 200], 4).is_err());
        assert!(rtime(b"a", 4).is_err());
    }

    #[test]
    fn lzma_uses_the_kernel_parameters() {
        let mut opts = liblzma::stream::LzmaOptions::new_preset(6).unwrap();
        opts.dict_size(0x2000)
            .literal_context_bits(0)
            .literal_position_bits(0)
            .position_bits(0);
        let mut f = liblzma::stream::Filters::new();
        f.lzma1(&opts);
        let s = liblzma::stream::Stream::new_raw_encoder(&f).unwrap();
        let plain: Vec<u8> = (0..3000u32).map(|i| (i % 7) as u8 + b'a').collect();
        let mut enc = liblzma::read::XzEncoder::new_stream(&plain[..], s);
        let mut packed = Vec::new();
        enc.read_to_end(&mut packed).unwrap();
        assert_eq!(lzma(&packed, plain.len()).unwrap(), plain);
    }
}
