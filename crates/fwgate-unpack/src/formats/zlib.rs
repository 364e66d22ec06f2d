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

/// Checks the first deflate block's header the way inflate does before it decodes anything:
/// a block type other than 3, a stored block's length and its complement, a dynamic block's
/// code counts and a complete code-length code. Random bytes fail here seven times out of
/// eight, before a decoder is set up.
fn first_block_plausible(d: &[u8]) -> bool {
    let bit = |i: usize| d.get(i / 8).map(|b| u32::from(b >> (i % 8)) & 1);
    let bits = |at: usize, n: usize| -> Option<u32> {
        (0..n).try_fold(0u32, |v, k| Some(v | bit(at + k)? << k))
    };
    let Some(btype) = bits(1, 2) else {
        return false;
    };
    match btype {
        0 => {
            // LEN and NLEN, byte-aligned after the three header bits.
            match (d.get(1..3), d.get(3..5)) {
                (Some(l), Some(n)) => l[0] == !n[0] && l[1] == !n[1],
                _ => false,
            }
        }
        1 => true,
        2 => {
            let (Some(hlit), Some(hdist), Some(hclen)) = (bits(3, 5), bits(8, 5), bits(13, 4))
            else {
                return false;
            };
            if hlit > 29 || hdist > 29 {
                return false;
            }
            // The code-length code must be complete (Kraft sum exactly 2^7).
            let mut kraft = 0u32;
            for k in 0..(hclen as usize + 4) {
                match bits(17 + 3 * k, 3) {
                    Some(0) => {}
                    Some(len) => kraft += 1 << (7 - len),
                    None => return false,
                }
            }
            kraft == 128
        }
        _ => false,
    }
}

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
        if cmf & 0x0f != 8
            || cmf >> 4 > 7
            || !(u16::from(cmf) << 8 | u16::from(flg)).is_multiple_of(31)
        {
            return None;
        }
        if flg & 0x20 != 0 {
            return None;
        }
        if !first_block_plausible(h.get(2..)?) {
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
