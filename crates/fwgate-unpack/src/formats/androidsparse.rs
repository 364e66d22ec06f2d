//! Android sparse images (`img2simg`, fastboot): a header, then chunks (raw, fill, don't care,
//! CRC32) that expand into the image the device writes, which is the payload. The expansion
//! is streamed, so a fill chunk of any size costs no memory; the jail's limits (file size,
//! expansion ratio) stop a hostile one.
//!
//! Don't-care chunks are blocks the device leaves as they were on flash. They are written as
//! zeros, as `simg2img` writes them (its output is a sparse file whose holes read as zeros),
//! so offsets in the payload are the device's; their contents on a real device are unknown.

use std::io::{self, Read};

use crate::formats::{le16, le32};
use crate::handler::{human_size, Handler, Output, Probe};
use crate::source::Source;
use crate::Result;

const MAGIC: u32 = 0xed26_ff3a;
const RAW: u16 = 0xcac1;
const FILL: u16 = 0xcac2;
const DONT_CARE: u16 = 0xcac3;
const CRC32: u16 = 0xcac4;

#[derive(Debug, Clone, Copy)]
struct Header {
    file_hdr: u64,
    chunk_hdr: u64,
    blk_sz: u64,
    total_blks: u64,
    total_chunks: u32,
}

fn header(src: &Source) -> Option<Header> {
    let h = src.bytes(0, 28).ok()?;
    if le32(&h, 0)? != MAGIC || le16(&h, 4)? != 1 {
        return None;
    }
    let file_hdr = u64::from(le16(&h, 8)?);
    let chunk_hdr = u64::from(le16(&h, 10)?);
    let blk_sz = u64::from(le32(&h, 12)?);
    // libsparse accepts larger headers (it skips the rest); the block size is a multiple of 4.
    if file_hdr < 28 || chunk_hdr < 12 || blk_sz == 0 || !blk_sz.is_multiple_of(4) {
        return None;
    }
    Some(Header {
        file_hdr,
        chunk_hdr,
        blk_sz,
        total_blks: u64::from(le32(&h, 16)?),
        total_chunks: le32(&h, 20)?,
    })
}

enum Fill {
    /// Copy `left` bytes from the source at `at`.
    Raw { at: u64, left: u64 },
    /// Repeat a 4-byte pattern for `left` bytes.
    Pattern {
        word: [u8; 4],
        left: u64,
        phase: usize,
    },
}

/// Streams the expanded image, chunk by chunk.
struct Expand {
    src: Source,
    h: Header,
    pos: u64,
    chunk: u32,
    cur: Option<Fill>,
    crc: crc32fast::Hasher,
    blocks: u64,
    problems: Vec<String>,
    done: bool,
    deadline: std::time::Instant,
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

impl Expand {
    fn next_chunk(&mut self) -> io::Result<bool> {
        if self.chunk >= self.h.total_chunks {
            if self.blocks != self.h.total_blks {
                self.problems.push(format!(
                    "chunks describe {} blocks, the header {}",
                    self.blocks, self.h.total_blks
                ));
            }
            return Ok(false);
        }
        let at = self.pos;
        let c = self.src.bytes(at, 12)?;
        let (Some(kind), Some(blocks), Some(total)) = (le16(&c, 0), le32(&c, 4), le32(&c, 8))
        else {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("chunk {} header at {at:#x} runs past the end", self.chunk),
            ));
        };
        let blocks = u64::from(blocks);
        let total = u64::from(total);
        let data_at = at + self.h.chunk_hdr;
        let data_len = total.checked_sub(self.h.chunk_hdr).ok_or_else(|| {
            bad(format!(
                "chunk {} at {at:#x}: size {total} smaller than its header",
                self.chunk
            ))
        })?;
        let bytes = blocks
            .checked_mul(self.h.blk_sz)
            .ok_or_else(|| bad(format!("chunk {}: block count overflows", self.chunk)))?;
        let want = |n: u64| -> io::Result<()> {
            if data_len != n {
                return Err(bad(format!(
                    "chunk {} at {at:#x}: {data_len} data bytes, its type needs {n}",
                    self.chunk
                )));
            }
            Ok(())
        };
        self.cur = match kind {
            RAW => {
                want(bytes)?;
                if data_at + bytes > self.src.len() {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("raw chunk {} at {at:#x} runs past the end", self.chunk),
                    ));
                }
                Some(Fill::Raw {
                    at: data_at,
                    left: bytes,
                })
            }
            FILL => {
                want(4)?;
                let w = self.src.bytes(data_at, 4)?;
                let word: [u8; 4] = w
                    .get(..4)
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| bad(format!("fill chunk {} runs past the end", self.chunk)))?;
                Some(Fill::Pattern {
                    word,
                    left: bytes,
                    phase: 0,
                })
            }
            DONT_CARE => {
                want(0)?;
                Some(Fill::Pattern {
                    word: [0; 4],
                    left: bytes,
                    phase: 0,
                })
            }
            CRC32 => {
                want(4)?;
                let w = self.src.bytes(data_at, 4)?;
                let stored = le32(&w, 0)
                    .ok_or_else(|| bad(format!("CRC chunk {} runs past the end", self.chunk)))?;
                let have = self.crc.clone().finalize();
                if stored != have {
                    self.problems.push(format!(
                        "CRC32 chunk {} at {at:#x}: {stored:#010x} does not match the image so far ({have:#010x})",
                        self.chunk
                    ));
                }
                None
            }
            k => {
                return Err(bad(format!(
                    "chunk {} at {at:#x}: unknown type {k:#06x}",
                    self.chunk
                )))
            }
        };
        if kind != CRC32 {
            self.blocks = self.blocks.saturating_add(blocks);
        }
        self.pos = data_at + data_len;
        self.chunk += 1;
        Ok(true)
    }
}

impl Read for Expand {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.done {
                return Ok(0);
            }
            let n = match &mut self.cur {
                Some(Fill::Raw { at, left }) if *left > 0 => {
                    let want = buf.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                    let n = self.src.read_at(*at, &mut buf[..want])?;
                    if n == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "raw chunk cut short",
                        ));
                    }
                    *at += n as u64;
                    *left -= n as u64;
                    n
                }
                Some(Fill::Pattern { word, left, phase }) if *left > 0 => {
                    let n = buf.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                    for b in &mut buf[..n] {
                        *b = word[*phase];
                        *phase = (*phase + 1) % 4;
                    }
                    *left -= n as u64;
                    n
                }
                _ => {
                    crate::formats::past(self.deadline)?;
                    if !self.next_chunk()? {
                        self.done = true;
                    }
                    continue;
                }
            };
            self.crc.update(&buf[..n]);
            return Ok(n);
        }
    }
}

/// The Android sparse image handler.
pub struct AndroidSparse;

impl Handler for AndroidSparse {
    fn id(&self) -> &'static str {
        "androidsparse"
    }
    fn description(&self) -> &'static str {
        "Android sparse image, expanded into the image the device writes"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[&[0x3a, 0xff, 0x26, 0xed]]
    }
    /// A fixed header and a streamed expansion with a constant-size state: bounded by design.
    fn isolate(&self) -> bool {
        false
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        let h = header(src)?;
        // The first chunk header must have a known type.
        let c = src.bytes(h.file_hdr, 2).ok()?;
        if h.total_chunks > 0 && !matches!(le16(&c, 0)?, RAW | FILL | DONT_CARE | CRC32) {
            return None;
        }
        Some(Probe::new(
            None,
            format!(
                "Android sparse image, {} chunks, {} expanded",
                h.total_chunks,
                human_size(h.total_blks.saturating_mul(h.blk_sz))
            ),
        ))
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let h = header(src).ok_or_else(|| out.malformed("not an Android sparse header"))?;
        let mut x = Expand {
            src: src.clone(),
            h,
            pos: h.file_hdr,
            chunk: 0,
            cur: None,
            crc: crc32fast::Hasher::new(),
            blocks: 0,
            problems: Vec::new(),
            done: false,
            deadline: out.deadline(),
        };
        let result = out.payload("image", &mut x);
        for p in std::mem::take(&mut x.problems) {
            out.problem(p);
        }
        result?;
        Ok(x.pos.max(h.file_hdr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: u16, blocks: u32, data: &[u8]) -> Vec<u8> {
        let mut c = kind.to_le_bytes().to_vec();
        c.extend_from_slice(&[0, 0]);
        c.extend_from_slice(&blocks.to_le_bytes());
        c.extend_from_slice(&(12 + data.len() as u32).to_le_bytes());
        c.extend_from_slice(data);
        c
    }

    fn image(chunks: &[Vec<u8>], blocks: u32) -> Vec<u8> {
        let mut d = MAGIC.to_le_bytes().to_vec();
        for v in [1u16, 0, 28, 12] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        for v in [4u32, blocks, chunks.len() as u32, 0] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        for c in chunks {
            d.extend_from_slice(c);
        }
        d
    }

    fn expand(d: &[u8]) -> (Vec<u8>, Vec<String>) {
        let src = Source::from_bytes(d);
        let h = header(&src).unwrap();
        let mut x = Expand {
            src,
            h,
            pos: h.file_hdr,
            chunk: 0,
            cur: None,
            crc: crc32fast::Hasher::new(),
            blocks: 0,
            problems: Vec::new(),
            done: false,
            deadline: std::time::Instant::now() + std::time::Duration::from_secs(60),
        };
        let mut v = Vec::new();
        x.read_to_end(&mut v).unwrap();
        (v, x.problems)
    }

    #[test]
    fn chunks_expand_with_dont_care_as_zeros_and_crc_checked() {
        let want = b"abcd\0\0\0\0\x5a\x5b\x5a\x5b\x5a\x5b\x5a\x5b";
        let crc = crc32fast::hash(want).to_le_bytes();
        let d = image(
            &[
                chunk(RAW, 1, b"abcd"),
                chunk(DONT_CARE, 1, b""),
                chunk(FILL, 2, &[0x5a, 0x5b, 0x5a, 0x5b]),
                chunk(CRC32, 0, &crc),
            ],
            4,
        );
        assert_eq!(expand(&d), (want.to_vec(), vec![]));
        let d = image(&[chunk(RAW, 1, b"abcd"), chunk(CRC32, 0, &[0; 4])], 1);
        let (v, problems) = expand(&d);
        assert_eq!(v, b"abcd");
        assert!(problems[0].contains("does not match"), "{problems:?}");
    }
}
