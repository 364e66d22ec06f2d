//! SquashFS 4.0 on-disk structures, read the way the Linux kernel reads them
//! (`fs/squashfs/`): metadata blocks of at most 8 KiB, inodes by reference, the inode's type
//! deciding what an entry is, and every byte read recorded so that the engine can carve what
//! the structures did not use.

use std::collections::HashMap;
use std::io::Read;
use std::rc::Rc;

use crate::coverage::Ranges;
use crate::formats::{le16, le32, le64, xz, DECODER_MEMLIMIT};
use crate::source::Source;

/// A metadata block holds at most this many bytes, compressed or not (the format's limit).
pub const METADATA_SIZE: usize = 8192;
/// A table pointer meaning "absent".
pub const NONE: u64 = u64::MAX;
/// The bit of a block's size word that marks it stored uncompressed.
pub const UNCOMPRESSED_BLOCK: u32 = 1 << 24;
/// Decompressed metadata kept in memory at most; past it the cache starts again.
const CACHE_BYTES: usize = 16 << 20;

/// What went wrong reading the file system, as a sentence.
pub type Error = String;
/// Results of this module.
pub type R<T> = std::result::Result<T, Error>;

/// Block compressors the handler decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comp {
    Gzip,
    Lzma,
    Lzo,
    Xz,
    Lz4,
    Zstd,
}

impl Comp {
    pub fn from_id(id: u16) -> Option<Comp> {
        Some(match id {
            1 => Comp::Gzip,
            2 => Comp::Lzma,
            3 => Comp::Lzo,
            4 => Comp::Xz,
            5 => Comp::Lz4,
            6 => Comp::Zstd,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Comp::Gzip => "gzip",
            Comp::Lzma => "lzma",
            Comp::Lzo => "lzo",
            Comp::Xz => "xz",
            Comp::Lz4 => "lz4",
            Comp::Zstd => "zstd",
        }
    }

    /// Decompresses one block into at most `cap` bytes; more is an error.
    pub fn decompress(self, data: &[u8], cap: usize) -> R<Vec<u8>> {
        let mut out = Vec::with_capacity(cap.min(1 << 20));
        let limited = |r: &mut dyn Read, out: &mut Vec<u8>| {
            r.take(cap as u64 + 1)
                .read_to_end(out)
                .map_err(|e| e.to_string())
        };
        match self {
            Comp::Gzip => limited(&mut flate2::read::ZlibDecoder::new(data), &mut out)?,
            Comp::Xz => {
                let mut d = xz::decoder(data).map_err(|e| e.to_string())?;
                limited(&mut d, &mut out)?
            }
            Comp::Lzma => {
                let stream = liblzma::stream::Stream::new_lzma_decoder(DECODER_MEMLIMIT)
                    .map_err(|e| e.to_string())?;
                let mut d = liblzma::bufread::XzDecoder::new_stream(data, stream);
                limited(&mut d, &mut out)?
            }
            Comp::Lz4 => {
                out.resize(cap, 0);
                let n =
                    lz4_flex::block::decompress_into(data, &mut out).map_err(|e| e.to_string())?;
                out.truncate(n);
                n
            }
            Comp::Zstd => {
                let mut d = zstd::bulk::Decompressor::new().map_err(|e| e.to_string())?;
                d.decompress_to_buffer(data, &mut out)
                    .map_err(|e| e.to_string())?
            }
            Comp::Lzo => {
                out.resize(cap, 0);
                let n = lzo::decompress_into(data, &mut out).map_err(|e| e.to_string())?;
                out.truncate(n);
                n
            }
        };
        if out.len() > cap {
            return Err(format!("a block decompresses to more than {cap} bytes"));
        }
        Ok(out)
    }
}

/// The superblock fields the reader uses.
#[derive(Debug, Clone)]
pub struct Superblock {
    pub inodes: u32,
    pub block_size: u32,
    pub frag_count: u32,
    pub comp: Comp,
    pub flags: u16,
    pub id_count: u16,
    pub root_inode: u64,
    pub bytes_used: u64,
    pub id_table: u64,
    pub xattr_table: u64,
    pub inode_table: u64,
    pub dir_table: u64,
    pub frag_table: u64,
    pub export_table: u64,
}

/// Superblock flag: a compressor-options metadata block follows the superblock.
const COMPRESSOR_OPTIONS: u16 = 0x0400;
/// Superblock flag: an export (NFS) table is present.
const EXPORTABLE: u16 = 0x0080;

impl Superblock {
    pub const SIZE: usize = 96;

    /// Parses and sanity-checks a superblock; `None` when it is not SquashFS 4.0 LE.
    pub fn parse(h: &[u8]) -> Option<Superblock> {
        if h.get(..4)? != b"hsqs" || le16(h, 28)? != 4 || le16(h, 30)? != 0 {
            return None;
        }
        let block_size = le32(h, 12)?;
        let block_log = le16(h, 22)?;
        let sb = Superblock {
            inodes: le32(h, 4)?,
            block_size,
            frag_count: le32(h, 16)?,
            comp: Comp::from_id(le16(h, 20)?)?,
            flags: le16(h, 24)?,
            id_count: le16(h, 26)?,
            root_inode: le64(h, 32)?,
            bytes_used: le64(h, 40)?,
            id_table: le64(h, 48)?,
            xattr_table: le64(h, 56)?,
            inode_table: le64(h, 64)?,
            dir_table: le64(h, 72)?,
            frag_table: le64(h, 80)?,
            export_table: le64(h, 88)?,
        };
        let valid = (4096..=1 << 20).contains(&block_size)
            && block_size.is_power_of_two()
            && u32::from(block_log) == block_size.trailing_zeros()
            && sb.inodes > 0
            && sb.bytes_used >= Superblock::SIZE as u64
            && sb.inode_table >= Superblock::SIZE as u64
            && sb.inode_table < sb.dir_table
            && sb.dir_table < sb.bytes_used
            && sb.id_table < sb.bytes_used;
        valid.then_some(sb)
    }
}

/// The file system being read: the source, the superblock, a bounded cache of decompressed
/// metadata blocks, and every byte range read so far.
pub struct Fs {
    pub src: Source,
    pub sb: Superblock,
    pub used: Ranges,
    /// The id table (owners and groups), once `mark_tables` read it.
    pub ids: Vec<u32>,
    cache: HashMap<u64, (Rc<[u8]>, u64)>,
    cache_bytes: usize,
}

impl Fs {
    pub fn new(src: Source, sb: Superblock) -> Fs {
        let mut used = Ranges::default();
        used.add(0, Superblock::SIZE as u64);
        Fs {
            src,
            sb,
            used,
            ids: Vec::new(),
            cache: HashMap::new(),
            cache_bytes: 0,
        }
    }

    /// Reads `n` raw bytes at `pos` (inside the file system) and records them as used.
    pub fn raw(&mut self, pos: u64, n: usize) -> R<Vec<u8>> {
        if pos.saturating_add(n as u64) > self.sb.bytes_used {
            return Err(format!(
                "{n} bytes at {pos:#x} lie past the file system's end ({:#x})",
                self.sb.bytes_used
            ));
        }
        let b = self.src.exact(pos, n).map_err(|e| e.to_string())?;
        self.used.add(pos, pos + n as u64);
        Ok(b)
    }

    /// The metadata block at `pos`: its decompressed bytes and the position of the next one.
    pub fn meta(&mut self, pos: u64) -> R<(Rc<[u8]>, u64)> {
        if let Some((b, next)) = self.cache.get(&pos) {
            return Ok((Rc::clone(b), *next));
        }
        let h = self.raw(pos, 2)?;
        let h = u16::from_le_bytes([h[0], h[1]]);
        let size = usize::from(h & 0x7fff);
        if size == 0 || size > METADATA_SIZE {
            return Err(format!(
                "metadata block at {pos:#x} claims {size} bytes (the format allows 1 to {METADATA_SIZE})"
            ));
        }
        let raw = self.raw(pos + 2, size)?;
        let data: Rc<[u8]> = if h & 0x8000 != 0 {
            raw.into()
        } else {
            self.sb
                .comp
                .decompress(&raw, METADATA_SIZE)
                .map_err(|e| format!("metadata block at {pos:#x}: {e}"))?
                .into()
        };
        let next = pos + 2 + size as u64;
        if self.cache_bytes + data.len() > CACHE_BYTES {
            self.cache.clear();
            self.cache_bytes = 0;
        }
        self.cache_bytes += data.len();
        self.cache.insert(pos, (Rc::clone(&data), next));
        Ok((data, next))
    }

    /// A reader of the metadata stream that starts `offset` bytes into the block at `pos`.
    pub fn meta_reader(&mut self, pos: u64, offset: usize) -> R<MetaReader> {
        let (block, next) = self.meta(pos)?;
        if offset > block.len() {
            return Err(format!(
                "offset {offset} is past the end of the metadata block at {pos:#x}"
            ));
        }
        Ok(MetaReader {
            block,
            at: offset,
            next,
        })
    }

    /// Reads a lookup table: `count` entries of `entry` bytes, in metadata blocks listed by an
    /// index of u64 pointers at `index`. Only marks the bytes as used and checks them; returns
    /// the decoded entries when `keep`.
    pub fn table(&mut self, index: u64, count: u64, entry: u64, keep: bool) -> R<Vec<u8>> {
        let bytes = count.saturating_mul(entry);
        let blocks = bytes.div_ceil(METADATA_SIZE as u64);
        if blocks.saturating_mul(8) > self.sb.bytes_used {
            return Err(format!("a table of {count} entries cannot fit"));
        }
        let ptrs = self.raw(index, blocks as usize * 8)?;
        let mut out = Vec::new();
        for p in ptrs.chunks_exact(8) {
            let pos = u64::from_le_bytes(p.try_into().map_err(|_| "short pointer")?);
            let (b, _) = self.meta(pos)?;
            if keep {
                out.extend_from_slice(&b);
            }
        }
        Ok(out)
    }

    /// Reads and checks the tables the kernel consults besides inodes and directories (ids,
    /// fragments, export, xattrs, compressor options), so their bytes count as used.
    pub fn mark_tables(&mut self) -> R<()> {
        let sb = self.sb.clone();
        if sb.flags & COMPRESSOR_OPTIONS != 0 {
            self.meta(Superblock::SIZE as u64)?;
        }
        let ids = self.table(sb.id_table, sb.id_count.into(), 4, true)?;
        self.ids = ids
            .chunks_exact(4)
            .take(sb.id_count.into())
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if sb.frag_count > 0 && sb.frag_table != NONE {
            self.table(sb.frag_table, sb.frag_count.into(), 16, false)?;
        }
        if sb.flags & EXPORTABLE != 0 && sb.export_table != NONE {
            self.table(sb.export_table, sb.inodes.into(), 8, false)?;
        }
        if sb.xattr_table != NONE {
            let h = self.raw(sb.xattr_table, 16)?;
            let kv_start = le64(&h, 0).unwrap_or(0);
            let ids = le32(&h, 8).unwrap_or(0);
            let blocks = (u64::from(ids) * 16).div_ceil(METADATA_SIZE as u64);
            let ptrs = self.raw(sb.xattr_table + 16, blocks as usize * 8)?;
            let first_id_block = ptrs
                .get(..8)
                .map(|p| u64::from_le_bytes([p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]]))
                .unwrap_or(sb.xattr_table);
            for p in ptrs.chunks_exact(8) {
                let pos = u64::from_le_bytes([p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]]);
                self.meta(pos)?;
            }
            // The key/value blocks run from kv_start up to the first id block.
            let mut pos = kv_start;
            while pos < first_id_block {
                let (_, next) = self.meta(pos)?;
                pos = next;
            }
        }
        Ok(())
    }

    /// The fragment table entry `index`: the fragment block's position and size word.
    pub fn fragment(&mut self, index: u32) -> R<(u64, u32)> {
        if index >= self.sb.frag_count {
            return Err(format!(
                "fragment {index} does not exist ({} fragments)",
                self.sb.frag_count
            ));
        }
        let per_block = (METADATA_SIZE / 16) as u32;
        let ptr = self.raw(self.sb.frag_table + 8 * u64::from(index / per_block), 8)?;
        let pos = le64(&ptr, 0).unwrap_or(0);
        let mut r = self.meta_reader(pos, 16 * (index % per_block) as usize)?;
        let e = r.read(self, 16)?;
        Ok((le64(&e, 0).unwrap_or(0), le32(&e, 8).unwrap_or(0)))
    }

    /// Reads one data or fragment block as stored: `word` is its on-disk size with bit 24
    /// meaning "stored uncompressed". Decode it with [`Fs::decode`] (which needs no `&mut`,
    /// so blocks decode in parallel).
    pub fn block_raw(&mut self, pos: u64, word: u32) -> R<RawBlock> {
        // As the kernel reads it: every bit but the "uncompressed" one is size, so stray
        // high bits make the block too large rather than being ignored.
        let size = (word & !UNCOMPRESSED_BLOCK) as usize;
        if size > self.sb.block_size as usize {
            return Err(format!(
                "block at {pos:#x} is {size} bytes on disk, more than the block size"
            ));
        }
        let data = self.raw(pos, size)?;
        Ok(RawBlock {
            pos,
            data,
            compressed: word & UNCOMPRESSED_BLOCK == 0,
        })
    }
}

/// A data or fragment block as stored.
pub struct RawBlock {
    pub pos: u64,
    pub data: Vec<u8>,
    pub compressed: bool,
}

impl RawBlock {
    /// The block's bytes: at most one block of `block_size`.
    pub fn decode(self, comp: Comp, block_size: u32) -> R<Vec<u8>> {
        if self.compressed {
            comp.decompress(&self.data, block_size as usize)
                .map_err(|e| format!("block at {:#x}: {e}", self.pos))
        } else {
            Ok(self.data)
        }
    }
}

/// A sequential reader over metadata blocks.
pub struct MetaReader {
    block: Rc<[u8]>,
    at: usize,
    next: u64,
}

impl MetaReader {
    /// Reads exactly `n` bytes, crossing into following blocks as needed.
    pub fn read(&mut self, fs: &mut Fs, n: usize) -> R<Vec<u8>> {
        let mut out = Vec::with_capacity(n.min(METADATA_SIZE));
        while out.len() < n {
            if self.at >= self.block.len() {
                let (b, next) = fs.meta(self.next)?;
                self.block = b;
                self.next = next;
                self.at = 0;
            }
            let take = (n - out.len()).min(self.block.len() - self.at);
            out.extend_from_slice(&self.block[self.at..self.at + take]);
            self.at += take;
        }
        Ok(out)
    }
}
