//! lz4 streams: the frame format (magic 0x184D2204, with its block and content checksums and
//! content size, concatenated frames and skippable frames 0x184D2A5x) and the legacy format
//! (0x184C2102, 8 MiB blocks) that `lz4 -l` writes and the kernel's initramfs decompressor
//! reads.
//!
//! The frame layer is ours (lz4_flex's frame decoder reads on past the last frame and fails
//! on whatever follows it, which would hide where the stream ends); the blocks are decoded
//! by lz4_flex's safe decoder into buffers bounded by the format's block sizes.

use std::hash::Hasher as _;
use std::io::{self, Read};

use crate::formats::{dry_run, le32, DryRun, PROBE_WINDOW};
use crate::handler::{Handler, Output, Probe};
use crate::source::Source;
use crate::Result;

const FRAME_MAGIC: u32 = 0x184D_2204;
const LEGACY_MAGIC: u32 = 0x184C_2102;
/// Skippable frames: 0x184D2A50 ..= 0x184D2A5F.
const SKIPPABLE_MASK: u32 = 0xFFFF_FFF0;
const SKIPPABLE: u32 = 0x184D_2A50;
/// The legacy format's uncompressed block size.
const LEGACY_BLOCK: usize = 8 << 20;
/// How much history a linked block may refer to.
const WINDOW: usize = 64 * 1024;
/// Most skippable frames read in a row before giving up on a candidate in a probe.
const MAX_SKIPPABLE: usize = 64;

/// LZ4_compressBound: the largest compressed size of `n` bytes.
fn compress_bound(n: usize) -> usize {
    n + n / 255 + 16
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn eof(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, msg.into())
}

/// A parsed frame descriptor.
#[derive(Debug, Clone, Copy)]
struct Frame {
    independent: bool,
    block_checksum: bool,
    content_checksum: bool,
    content_size: Option<u64>,
    block_max: usize,
    /// A dictionary id is set: the frame cannot be decoded without that dictionary.
    dict: bool,
    /// Length of magic + descriptor.
    header: u64,
}

/// Parses a frame descriptor (after the magic) and checks its header checksum.
fn frame_header(h: &[u8]) -> Option<std::result::Result<Frame, String>> {
    let flg = *h.get(4)?;
    let bd = *h.get(5)?;
    if flg >> 6 != 1 || flg & 0x02 != 0 || bd & 0x8f != 0 || !(4..=7).contains(&(bd >> 4)) {
        return Some(Err(
            "frame descriptor has reserved bits set or a bad version".into(),
        ));
    }
    let has_size = flg & 0x08 != 0;
    let has_dict = flg & 0x01 != 0;
    let end = 6 + if has_size { 8 } else { 0 } + if has_dict { 4 } else { 0 };
    let hc = *h.get(end)?;
    if (twox_hash::XxHash32::oneshot(0, h.get(4..end)?) >> 8) as u8 != hc {
        return Some(Err("frame descriptor checksum does not match".into()));
    }
    let content_size = if has_size {
        let b = h.get(6..14)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(u64::from_le_bytes(a))
    } else {
        None
    };
    Some(Ok(Frame {
        independent: flg & 0x20 != 0,
        block_checksum: flg & 0x10 != 0,
        content_checksum: flg & 0x04 != 0,
        content_size,
        block_max: 1usize << (8 + 2 * usize::from(bd >> 4)),
        dict: has_dict,
        header: end as u64 + 1,
    }))
}

#[derive(Debug)]
enum State {
    /// Expecting a magic (the first, or after a complete frame).
    Magic {
        first: bool,
    },
    /// Inside a frame.
    Frame(Frame),
    /// Inside a legacy stream.
    Legacy,
    Done,
}

/// Decodes a sequence of lz4 frames (or one legacy stream) from a window, stopping before
/// the first bytes that do not continue it; [`Lz4Stream::end`] tells where that is.
pub(crate) struct Lz4Stream {
    src: Source,
    pos: u64,
    state: State,
    out: Vec<u8>,
    at: usize,
    hist: Vec<u8>,
    content: twox_hash::XxHash32,
    produced: u64,
    frames: u32,
    deadline: Option<std::time::Instant>,
}

impl Lz4Stream {
    pub(crate) fn new(src: Source, deadline: Option<std::time::Instant>) -> Lz4Stream {
        Lz4Stream {
            src,
            pos: 0,
            state: State::Magic { first: true },
            out: Vec::new(),
            at: 0,
            hist: Vec::new(),
            content: twox_hash::XxHash32::with_seed(0),
            produced: 0,
            frames: 0,
            deadline,
        }
    }

    /// Where the stream ended (valid once `read` returned 0).
    pub(crate) fn end(&self) -> u64 {
        self.pos
    }

    fn word(&self, at: u64) -> io::Result<Option<u32>> {
        let b = self.src.bytes(at, 4)?;
        Ok(le32(&b, 0))
    }

    fn exact(&self, at: u64, n: usize) -> io::Result<Vec<u8>> {
        let b = self.src.bytes(at, n)?;
        if b.len() < n {
            return Err(eof(format!(
                "{n} bytes at {at:#x} run past the end of the stream"
            )));
        }
        Ok(b)
    }

    /// Reads the next magic; false when the stream has ended before it.
    fn next_magic(&mut self, first: bool) -> io::Result<bool> {
        let mut skipped = 0;
        loop {
            let Some(magic) = self.word(self.pos)? else {
                if first {
                    return Err(eof("no lz4 magic"));
                }
                return Ok(false);
            };
            if magic & SKIPPABLE_MASK == SKIPPABLE {
                let Some(n) = self.word(self.pos + 4)? else {
                    return Err(eof("skippable frame size runs past the end"));
                };
                let end = self.pos + 8 + u64::from(n);
                if end > self.src.len() {
                    return Err(eof("skippable frame runs past the end"));
                }
                self.pos = end;
                skipped += 1;
                if skipped > MAX_SKIPPABLE {
                    if first {
                        return Err(bad("only skippable frames"));
                    }
                    // A long run of empty frames: the stream ends here, the rest is carved.
                    return Ok(false);
                }
                continue;
            }
            if magic == FRAME_MAGIC {
                let h = self.src.bytes(self.pos, 19)?;
                match frame_header(&h) {
                    None => return Err(eof("frame descriptor runs past the end")),
                    Some(Err(e)) => {
                        if first {
                            return Err(bad(e));
                        }
                        // What follows a complete frame is not a frame: the stream ended.
                        return Ok(false);
                    }
                    Some(Ok(f)) if f.dict => {
                        return Err(bad(format!(
                            "frame at {:#x} needs a dictionary (dictionary id set), which fwgate does not have",
                            self.pos
                        )));
                    }
                    Some(Ok(f)) => {
                        self.pos += f.header;
                        self.hist.clear();
                        self.content = twox_hash::XxHash32::with_seed(0);
                        self.produced = 0;
                        self.frames += 1;
                        self.state = State::Frame(f);
                        return Ok(true);
                    }
                }
            }
            if magic == LEGACY_MAGIC && first {
                self.pos += 4;
                self.state = State::Legacy;
                return Ok(true);
            }
            if first {
                return Err(bad("not an lz4 stream"));
            }
            return Ok(false);
        }
    }

    /// Decodes the next block of a frame into `self.out`; false at the frame's end mark.
    fn frame_block(&mut self, f: Frame) -> io::Result<bool> {
        let word = self
            .word(self.pos)?
            .ok_or_else(|| eof("block size runs past the end"))?;
        if word == 0 {
            self.pos += 4;
            if f.content_checksum {
                let want = self
                    .word(self.pos)?
                    .ok_or_else(|| eof("content checksum runs past the end"))?;
                self.pos += 4;
                if self.content.finish_32() != want {
                    return Err(bad("content checksum does not match"));
                }
            }
            if let Some(size) = f.content_size {
                if size != self.produced {
                    return Err(bad(format!(
                        "frame declares {size} bytes of content, decoded {}",
                        self.produced
                    )));
                }
            }
            return Ok(false);
        }
        let stored = word & 0x8000_0000 != 0;
        let len = (word & 0x7fff_ffff) as usize;
        if len > f.block_max {
            return Err(bad(format!(
                "block of {len} bytes exceeds the frame's maximum of {}",
                f.block_max
            )));
        }
        let data = self.exact(self.pos + 4, len)?;
        let mut next = self.pos + 4 + len as u64;
        if f.block_checksum {
            let want = self
                .word(next)?
                .ok_or_else(|| eof("block checksum runs past the end"))?;
            if twox_hash::XxHash32::oneshot(0, &data) != want {
                return Err(bad(format!(
                    "block checksum at {:#x} does not match",
                    self.pos
                )));
            }
            next += 4;
        }
        if stored {
            self.out = data;
        } else {
            self.out.resize(f.block_max, 0);
            let n = if f.independent || self.hist.is_empty() {
                lz4_flex::block::decompress_into(&data, &mut self.out)
            } else {
                lz4_flex::block::decompress_into_with_dict(&data, &mut self.out, &self.hist)
            }
            .map_err(|e| bad(format!("block at {:#x}: {e}", self.pos)))?;
            self.out.truncate(n);
        }
        if !f.independent {
            self.hist.extend_from_slice(&self.out);
            let cut = self.hist.len().saturating_sub(WINDOW);
            self.hist.drain(..cut);
        }
        self.content.write(&self.out);
        self.produced = self.produced.saturating_add(self.out.len() as u64);
        self.pos = next;
        Ok(true)
    }

    /// Decodes the next legacy block; false at the stream's end (the end of the input, a new
    /// magic, or a word that cannot be a block size: `lz4 -d` stops there too).
    fn legacy_block(&mut self) -> io::Result<bool> {
        let Some(len) = self.word(self.pos)? else {
            return Ok(false);
        };
        let len = len as usize;
        if len == 0 || len > compress_bound(LEGACY_BLOCK) {
            return Ok(false);
        }
        let data = self.exact(self.pos + 4, len)?;
        self.out.resize(LEGACY_BLOCK, 0);
        let n = lz4_flex::block::decompress_into(&data, &mut self.out)
            .map_err(|e| bad(format!("legacy block at {:#x}: {e}", self.pos)))?;
        self.out.truncate(n);
        self.pos += 4 + len as u64;
        Ok(true)
    }

    fn fill(&mut self) -> io::Result<bool> {
        loop {
            if let Some(d) = self.deadline {
                crate::formats::past(d)?;
            }
            self.out.clear();
            self.at = 0;
            match self.state {
                State::Done => return Ok(false),
                State::Magic { first } => {
                    if !self.next_magic(first)? {
                        self.state = State::Done;
                    }
                }
                State::Frame(f) => {
                    if !self.frame_block(f)? {
                        self.state = State::Magic { first: false };
                    } else if !self.out.is_empty() {
                        return Ok(true);
                    }
                }
                State::Legacy => {
                    if !self.legacy_block()? {
                        self.state = State::Done;
                    } else if !self.out.is_empty() {
                        return Ok(true);
                    }
                }
            }
        }
    }
}

impl Read for Lz4Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at >= self.out.len() && !self.fill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The lz4 handler.
pub struct Lz4;

impl Handler for Lz4 {
    fn id(&self) -> &'static str {
        "lz4"
    }
    fn description(&self) -> &'static str {
        "lz4 stream (frame format with skippable frames, or legacy)"
    }
    /// The magics without their first byte (0x04 frame, 0x02 legacy, 0x50-0x5f skippable),
    /// so that sixteen skippable-frame magics cost one pattern; the probe checks that byte.
    fn magics(&self) -> &'static [&'static [u8]] {
        &[
            &[0x22, 0x4d, 0x18],
            &[0x21, 0x4c, 0x18],
            &[0x2a, 0x4d, 0x18],
        ]
    }
    fn magic_offset(&self) -> usize {
        1
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        let h = src.bytes(0, 8).ok()?;
        let magic = le32(&h, 0)?;
        if magic != FRAME_MAGIC && magic != LEGACY_MAGIC && magic & SKIPPABLE_MASK != SKIPPABLE {
            return None;
        }
        let legacy = magic == LEGACY_MAGIC;
        if magic == FRAME_MAGIC {
            let h = src.bytes(0, 19).ok()?;
            if let Some(Ok(f)) = frame_header(&h) {
                if f.dict {
                    // Valid, but not decodable here: extraction reports it.
                    return Some(Probe::new(None, "lz4 frame stream needing a dictionary"));
                }
            }
        }
        if legacy {
            // The first block size must be one the format can hold.
            let first = le32(&h, 4)? as usize;
            if first == 0 || first > compress_bound(LEGACY_BLOCK) {
                return None;
            }
        }
        // Legacy blocks are up to 8 MiB of input: give the dry run room for a whole first
        // block of a modest stream, and the frame format its largest block.
        let window = src.slice(0, (PROBE_WINDOW as u64) * 4);
        let all = window.len() == src.len();
        let undecided = match dry_run(Lz4Stream::new(window, None), 4096, all) {
            DryRun::Invalid => return None,
            DryRun::Valid => None,
            DryRun::Undecided => Some("no output from the first 512 KiB of the stream".into()),
        };
        let info = if legacy {
            "lz4 legacy stream".to_string()
        } else {
            "lz4 frame stream".to_string()
        };
        Some(Probe {
            len: None,
            info,
            undecided,
        })
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let mut dec = Lz4Stream::new(src.clone(), Some(out.deadline()));
        out.payload("data", &mut dec)?;
        Ok(dec.end().max(4))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_stream_ends_at_a_new_magic_or_an_impossible_block_size() {
        let block = lz4_flex::block::compress(b"hello hello hello hello hello");
        let mut d = LEGACY_MAGIC.to_le_bytes().to_vec();
        d.extend_from_slice(&(block.len() as u32).to_le_bytes());
        d.extend_from_slice(&block);
        let end = d.len() as u64;
        d.extend_from_slice(&LEGACY_MAGIC.to_le_bytes());
        d.extend_from_slice(b"trailing");
        let mut s = Lz4Stream::new(Source::from_bytes(&d), None);
        let mut v = Vec::new();
        s.read_to_end(&mut v).unwrap();
        assert_eq!(v, b"hello hello hello hello hello");
        assert_eq!(s.end(), end);
        assert!(Lz4.probe(&Source::from_bytes(&d)).is_some());
    }
}
