//! Raw zlib streams (RFC 1950), anywhere in a file, decoded with flate2; the container ends
//! after the Adler-32 of the data, which the decoder checks.
//!
//! The two-byte magics (0x78 followed by 0x01, 0x5e, 0x9c or 0xda) occur in random data every
//! 16 KiB or so, so the probe is staged to keep a false signature cheap: the header check,
//! then a dry run over 1 KiB (deflate data that is not deflate fails within a few bytes),
//! and only a candidate that survives it gets the full window.

use flate2::bufread::ZlibDecoder;

use crate::formats::{dry_run, dry_run_window, DryRun, DRY_RUN};
use crate::handler::{Handler, Output, Probe};
use crate::source::Source;
use crate::Result;

/// The first, cheap dry-run window.
const QUICK: usize = 1024;

/// The zlib handler.
pub struct Zlib;

fn level(flg: u8) -> &'static str {
    match flg >> 6 {
        0 => "fastest",
        1 => "fast",
        2 => "default",
        _ => "best",
    }
}

impl Handler for Zlib {
    fn id(&self) -> &'static str {
        "zlib"
    }
    fn description(&self) -> &'static str {
        "zlib stream (deflate with a 32 KiB window and an Adler-32)"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[&[0x78, 0x01], &[0x78, 0x5e], &[0x78, 0x9c], &[0x78, 0xda]]
    }
    /// flate2's Rust backend (miniz_oxide): a fixed window, no recursion, nothing sized by
    /// the input.
    fn isolate(&self) -> bool {
        false
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        let h = src.bytes(0, QUICK).ok()?;
        let (&cmf, &flg) = (h.first()?, h.get(1)?);
        // Deflate, a window of at most 32 KiB, the check bits, no preset dictionary.
        if cmf & 0x0f != 8 || cmf >> 4 > 7 || (u16::from(cmf) << 8 | u16::from(flg)) % 31 != 0 {
            return None;
        }
        if flg & 0x20 != 0 {
            return None;
        }
        let all = h.len() as u64 == src.len();
        if dry_run(ZlibDecoder::new(&h[..]), QUICK * 4, all) == DryRun::Invalid {
            return None;
        }
        let undecided = dry_run_window(src, 0, DRY_RUN, |w| Some(Box::new(ZlibDecoder::new(w))))?;
        Some(Probe {
            len: None,
            info: format!("zlib, {} compression", level(flg)),
            undecided,
        })
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let mut dec = ZlibDecoder::new(src.reader(0));
        out.payload("data", &mut dec)?;
        Ok(dec.into_inner().position().max(2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_stream_ends_after_its_adler32_and_random_data_is_cheaply_refused() {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b"root::0:0:99999:7:::\n").unwrap();
        let z = e.finish().unwrap();
        let mut d = z.clone();
        d.extend_from_slice(b"after");
        assert!(Zlib.probe(&Source::from_bytes(&d)).is_some());
        // Random bytes after a valid header: refused.
        let mut x = 0x1234_5678u32;
        let mut refused = 0;
        for _ in 0..200 {
            let mut r = vec![0x78, 0x9c];
            r.extend((0..4096).map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            }));
            if Zlib.probe(&Source::from_bytes(&r)).is_none() {
                refused += 1;
            }
        }
        assert!(refused >= 195, "{refused}");
    }
}
