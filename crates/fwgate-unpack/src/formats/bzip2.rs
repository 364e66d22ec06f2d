//! bzip2 streams, decoded with the `bzip2` crate on its pure-Rust backend (libbz2-rs-sys).
//!
//! Multi-stream files are read as bunzip2 reads them: after a stream ends, another one
//! follows if the next bytes are a bzip2 stream header; anything else ends the container
//! (bunzip2 ignores it as trailing garbage; the engine carves it).

use std::io::{self, Read};

use bzip2::bufread::BzDecoder;

use crate::formats::{dry_run_window, DRY_RUN};
use crate::handler::{Handler, Output, Probe};
use crate::source::{Source, SourceReader};
use crate::Result;

/// The block magic (pi) and the end-of-stream magic (sqrt pi) of an empty stream.
const BLOCK_MAGIC: [u8; 6] = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
const EOS_MAGIC: [u8; 6] = [0x17, 0x72, 0x45, 0x38, 0x50, 0x90];

/// Whether `h` starts with a bzip2 stream header: `BZh`, a level, then a block or the
/// end-of-stream marker.
fn stream_header(h: &[u8]) -> bool {
    h.len() >= 10
        && &h[..3] == b"BZh"
        && (b'1'..=b'9').contains(&h[3])
        && (h[4..10] == BLOCK_MAGIC || h[4..10] == EOS_MAGIC)
}

/// One bzip2 stream after another, as bunzip2 decodes a file.
struct MultiStream {
    src: Source,
    dec: Option<BzDecoder<SourceReader>>,
    /// Where the last complete stream ended.
    end: u64,
    deadline: std::time::Instant,
}

impl Read for MultiStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(dec) = self.dec.as_mut() else {
                return Ok(0);
            };
            let n = dec.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // This stream ended: does another one follow?
            crate::formats::past(self.deadline)?;
            let Some(dec) = self.dec.take() else {
                return Ok(0);
            };
            // The reader's position is in the whole window, not from where it started.
            self.end = dec.into_inner().position();
            if stream_header(&self.src.bytes(self.end, 10)?) {
                self.dec = Some(BzDecoder::new(self.src.reader(self.end)));
            }
        }
    }
}

/// The bzip2 handler.
pub struct Bzip2;

impl Handler for Bzip2 {
    fn id(&self) -> &'static str {
        "bzip2"
    }
    fn description(&self) -> &'static str {
        "bzip2 compressed stream (multi-stream as bunzip2 reads it)"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[b"BZh"]
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        let h = src.bytes(0, 10).ok()?;
        if !stream_header(&h) {
            return None;
        }
        // A bzip2 block (up to 900 kB of input) yields nothing until it is whole: a window
        // that ends inside the first block is undecided, and the engine decodes it in full.
        let undecided = dry_run_window(src, 0, DRY_RUN, |w| Some(Box::new(BzDecoder::new(w))))?;
        Some(Probe {
            len: None,
            info: format!("bzip2, {}00k blocks", char::from(h[3])),
            undecided,
        })
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let mut dec = MultiStream {
            src: src.clone(),
            dec: Some(BzDecoder::new(src.reader(0))),
            end: 0,
            deadline: out.deadline(),
        };
        out.payload("data", &mut dec)?;
        if let Some(d) = dec.dec.take() {
            // The decoder stopped with an error (recorded by the write): what it read is
            // this container's.
            return Ok(d.into_inner().position().max(10));
        }
        Ok(dec.end.max(10))
    }
}
