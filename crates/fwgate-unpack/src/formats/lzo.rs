//! lzop files (the format of `lzop`, and of U-Boot's and the kernel's `-C lzo` images): a
//! header with its own checksum, then blocks of (uncompressed size, compressed size,
//! checksums, LZO1X data) up to a zero size. Blocks are decoded with the `lzo` crate (pure
//! Rust, bounded output); the checksums lzop writes (Adler-32 or CRC32 of either side) are
//! checked as `lzop -d` checks them.

use std::io::{self, Read};

use crate::formats::be32;
use crate::handler::{Handler, Output, Probe};
use crate::source::Source;
use crate::Result;

const MAGIC: [u8; 9] = [0x89, b'L', b'Z', b'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a];
const F_ADLER32_D: u32 = 0x0001;
const F_ADLER32_C: u32 = 0x0002;
const F_H_EXTRA_FIELD: u32 = 0x0040;
const F_CRC32_D: u32 = 0x0100;
const F_CRC32_C: u32 = 0x0200;
const F_H_FILTER: u32 = 0x0800;
const F_H_CRC32: u32 = 0x1000;
/// lzop's own limit on a block's uncompressed size.
const MAX_BLOCK: u32 = 64 << 20;
/// Longest extra header field accepted.
const MAX_EXTRA: u32 = 64 * 1024;

fn adler32(b: &[u8]) -> u32 {
    let mut a = adler2::Adler32::new();
    a.write_slice(b);
    a.checksum()
}

/// What the file header says.
#[derive(Debug)]
struct Header {
    flags: u32,
    method: u8,
    name: String,
    /// Where the first block starts.
    len: u64,
}

fn be16(h: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*h.get(at)?, *h.get(at + 1)?]))
}

/// Parses and checks the header; `Err` names what is wrong with a header that has the magic.
fn header(src: &Source) -> std::result::Result<Header, String> {
    let h = src.bytes(0, 9 + 40 + 255).map_err(|e| e.to_string())?;
    if h.get(..9) != Some(&MAGIC[..]) {
        return Err("no lzop magic".into());
    }
    let short = || "header runs past the end".to_string();
    let version = be16(&h, 9).ok_or_else(short)?;
    let mut at = 13;
    if version >= 0x0940 {
        at += 2; // version needed to extract
    }
    let method = *h.get(at).ok_or_else(short)?;
    at += 1;
    if version >= 0x0940 {
        at += 1; // level
    }
    let flags = be32(&h, at).ok_or_else(short)?;
    at += 4;
    if flags & F_H_FILTER != 0 {
        at += 4;
    }
    at += 8; // mode, mtime (low)
    if version >= 0x0940 {
        at += 4; // mtime (high)
    }
    let name_len = usize::from(*h.get(at).ok_or_else(short)?);
    let name = h.get(at + 1..at + 1 + name_len).ok_or_else(short)?;
    let name = String::from_utf8_lossy(name).into_owned();
    at += 1 + name_len;
    let stored = be32(&h, at).ok_or_else(short)?;
    let body = h.get(9..at).ok_or_else(short)?;
    let sum = if flags & F_H_CRC32 != 0 {
        crc32fast::hash(body)
    } else {
        adler32(body)
    };
    if sum != stored {
        return Err("header checksum does not match".into());
    }
    let mut len = at as u64 + 4;
    if flags & F_H_EXTRA_FIELD != 0 {
        let n = src
            .bytes(len, 4)
            .ok()
            .and_then(|b| be32(&b, 0))
            .ok_or_else(short)?;
        if n > MAX_EXTRA {
            return Err(format!("extra header field of {n} bytes"));
        }
        len += 4 + u64::from(n) + 4;
    }
    Ok(Header {
        flags,
        method,
        name,
        len,
    })
}

/// Decodes the blocks of an lzop file one at a time.
struct Blocks {
    src: Source,
    flags: u32,
    pos: u64,
    out: Vec<u8>,
    at: usize,
    done: bool,
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

impl Blocks {
    fn word(&self, at: u64) -> io::Result<u32> {
        let b = self.src.bytes(at, 4)?;
        be32(&b, 0).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("block header at {at:#x} runs past the end"),
            )
        })
    }

    fn next(&mut self) -> io::Result<bool> {
        let at = self.pos;
        let dst_len = self.word(at)?;
        if dst_len == 0 {
            self.pos += 4;
            return Ok(false);
        }
        if dst_len > MAX_BLOCK {
            return Err(bad(format!(
                "block at {at:#x}: {dst_len} bytes uncompressed, more than lzop's {MAX_BLOCK}"
            )));
        }
        let src_len = self.word(at + 4)?;
        if src_len > dst_len {
            return Err(bad(format!(
                "block at {at:#x}: compressed size {src_len} exceeds its uncompressed size {dst_len}"
            )));
        }
        let mut p = at + 8;
        let mut take = |want: bool| -> io::Result<Option<u32>> {
            if !want {
                return Ok(None);
            }
            let v = self.word(p)?;
            p += 4;
            Ok(Some(v))
        };
        let d_adler = take(self.flags & F_ADLER32_D != 0)?;
        let d_crc = take(self.flags & F_CRC32_D != 0)?;
        let compressed = src_len < dst_len;
        let c_adler = take(compressed && self.flags & F_ADLER32_C != 0)?;
        let c_crc = take(compressed && self.flags & F_CRC32_C != 0)?;
        let data = self.src.bytes(p, src_len as usize)?;
        if data.len() < src_len as usize {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("block at {at:#x} runs past the end"),
            ));
        }
        if c_adler.is_some_and(|c| c != adler32(&data))
            || c_crc.is_some_and(|c| c != crc32fast::hash(&data))
        {
            return Err(bad(format!(
                "block at {at:#x}: checksum of the compressed data does not match"
            )));
        }
        if compressed {
            self.out.resize(dst_len as usize, 0);
            let n = lzo::decompress_into(&data, &mut self.out)
                .map_err(|e| bad(format!("block at {at:#x}: LZO1X: {e:?}")))?;
            if n != dst_len as usize {
                return Err(bad(format!(
                    "block at {at:#x}: decoded {n} bytes, header says {dst_len}"
                )));
            }
        } else {
            self.out = data;
        }
        if d_adler.is_some_and(|c| c != adler32(&self.out))
            || d_crc.is_some_and(|c| c != crc32fast::hash(&self.out))
        {
            return Err(bad(format!(
                "block at {at:#x}: checksum of the uncompressed data does not match"
            )));
        }
        self.pos = p + u64::from(src_len);
        self.at = 0;
        Ok(true)
    }
}

impl Read for Blocks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at >= self.out.len() {
            if self.done {
                return Ok(0);
            }
            if !self.next()? {
                self.done = true;
                self.out.clear();
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The lzop handler.
pub struct Lzop;

impl Handler for Lzop {
    fn id(&self) -> &'static str {
        "lzo"
    }
    fn description(&self) -> &'static str {
        "lzop file (LZO1X blocks with checksums)"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[&MAGIC]
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        // A nine-byte magic and a header checksum: that is as strong as a dry run.
        let h = header(src).ok()?;
        let name = if h.name.is_empty() {
            String::new()
        } else {
            format!(" \"{}\"", h.name)
        };
        Some(Probe::new(None, format!("lzop{name}, method {}", h.method)))
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let h = header(src).map_err(|e| out.malformed(e))?;
        if !matches!(h.method, 1..=3) {
            // NRV or zlib methods of lzop builds with UCL: valid, but not LZO1X.
            return Err(out.malformed(format!(
                "compression method {} is not LZO1X; fwgate cannot decode it, so the contents were not examined",
                h.method
            )));
        }
        let name = h.name.rsplit('/').next().unwrap_or("").to_string();
        let name = if name.is_empty() || name == "." || name == ".." {
            "data".to_string()
        } else {
            name
        };
        if h.flags & F_H_FILTER != 0 {
            out.problem("lzop filter flag set: the data was filtered before compression and is written unfiltered");
        }
        let mut blocks = Blocks {
            src: src.clone(),
            flags: h.flags,
            pos: h.len,
            out: Vec::new(),
            at: 0,
            done: false,
        };
        out.payload(&name, &mut blocks)?;
        if !blocks.done {
            // Stopped at a bad block (recorded by the write): the rest is carved.
            return Ok(blocks.pos.max(h.len));
        }
        Ok(blocks.pos)
    }
}
