//! xz streams, decoded with liblzma under a memory limit.

use liblzma::bufread::XzDecoder;
use liblzma::stream::Stream;

use crate::formats::{dry_run_window, DECODER_MEMLIMIT, DRY_RUN};
use crate::handler::{Handler, Output, Probe};
use crate::source::Source;
use crate::{Result, UnpackError};

/// The xz handler.
pub struct Xz;

/// An xz decoder that refuses streams needing more than [`DECODER_MEMLIMIT`] (a crafted
/// dictionary size would otherwise allocate it).
pub(crate) fn decoder<R: std::io::BufRead>(r: R) -> Result<XzDecoder<R>> {
    let stream = Stream::new_stream_decoder(DECODER_MEMLIMIT, 0)
        .map_err(|e| UnpackError::Limit(format!("xz decoder: {e}")))?;
    Ok(XzDecoder::new_stream(r, stream))
}

impl Handler for Xz {
    fn id(&self) -> &'static str {
        "xz"
    }
    fn description(&self) -> &'static str {
        "xz compressed stream"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[&[0xfd, b'7', b'z', b'X', b'Z', 0x00]]
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        // Stream header: magic, two flag bytes (first must be zero), CRC32 of the flags.
        let h = src.bytes(0, 12).ok()?;
        let flags = h.get(6..8)?;
        let crc = h.get(8..12)?;
        if flags[0] != 0 || crc32fast::hash(flags).to_le_bytes() != crc {
            return None;
        }
        let undecided = dry_run_window(src, 0, DRY_RUN, |w| Some(Box::new(decoder(w).ok()?)))?;
        Some(Probe {
            len: None,
            info: "xz".to_string(),
            undecided,
        })
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let mut dec = decoder(src.reader(0))?;
        out.payload("data", &mut dec)?;
        Ok(dec.into_inner().position())
    }
}
