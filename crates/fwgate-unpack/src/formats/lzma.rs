//! lzma-alone streams (`lzma`, LZMA-compressed uImage kernels and squashfs blocks), decoded
//! with liblzma under a memory limit.
//!
//! The 13-byte header has no magic: properties byte, dictionary size, uncompressed size. The
//! engine looks for the properties and dictionary sizes real encoders write (`5d` with a
//! power-of-two dictionary); the probe checks the fields and dry-runs the decoder.

use liblzma::bufread::XzDecoder;
use liblzma::stream::Stream;

use crate::formats::{dry_run_window, le32, le64, DECODER_MEMLIMIT, DRY_RUN};
use crate::handler::{human_size, Handler, Output, Probe};
use crate::source::Source;
use crate::{Result, UnpackError};

/// The lzma-alone handler.
pub struct Lzma;

fn decoder<R: std::io::BufRead>(r: R) -> Result<XzDecoder<R>> {
    let stream = Stream::new_lzma_decoder(DECODER_MEMLIMIT)
        .map_err(|e| UnpackError::Limit(format!("lzma decoder: {e}")))?;
    Ok(XzDecoder::new_stream(r, stream))
}

/// Largest uncompressed size taken as real (above it, only "unknown" is).
const MAX_SIZE: u64 = 1 << 34;

impl Handler for Lzma {
    fn id(&self) -> &'static str {
        "lzma"
    }
    fn description(&self) -> &'static str {
        "lzma-alone compressed stream"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        // Properties 0x5d (lc=3 lp=0 pb=2, what every encoder defaults to), then the low
        // bytes of a dictionary size of 64 KiB .. 64 MiB.
        &[
            &[0x5d, 0x00, 0x00, 0x01, 0x00],
            &[0x5d, 0x00, 0x00, 0x02, 0x00],
            &[0x5d, 0x00, 0x00, 0x04, 0x00],
            &[0x5d, 0x00, 0x00, 0x08, 0x00],
            &[0x5d, 0x00, 0x00, 0x10, 0x00],
            &[0x5d, 0x00, 0x00, 0x20, 0x00],
            &[0x5d, 0x00, 0x00, 0x40, 0x00],
            &[0x5d, 0x00, 0x00, 0x80, 0x00],
            &[0x5d, 0x00, 0x00, 0x00, 0x01],
            &[0x5d, 0x00, 0x00, 0x00, 0x02],
            &[0x5d, 0x00, 0x00, 0x00, 0x04],
        ]
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        let h = src.bytes(0, 13).ok()?;
        let dict = le32(&h, 1)?;
        let size = le64(&h, 5)?;
        if !dict.is_power_of_two() || !(size == u64::MAX || (1..MAX_SIZE).contains(&size)) {
            return None;
        }
        // With a known size, a stream shorter than the dry run ends cleanly.
        let want = if size == u64::MAX {
            DRY_RUN
        } else {
            DRY_RUN.min(size as usize)
        };
        let undecided = dry_run_window(src, 0, want, |w| Some(Box::new(decoder(w).ok()?)))?;
        let info = if size == u64::MAX {
            format!("lzma, dictionary {}", human_size(dict.into()))
        } else {
            format!(
                "lzma, dictionary {}, {} uncompressed",
                human_size(dict.into()),
                human_size(size)
            )
        };
        Some(Probe {
            len: None,
            info,
            undecided,
        })
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let mut dec = decoder(src.reader(0))?;
        out.payload("data", &mut dec)?;
        Ok(dec.into_inner().position())
    }
}
