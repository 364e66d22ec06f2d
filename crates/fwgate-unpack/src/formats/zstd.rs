//! zstd frames (RFC 8878), decoded with the reference library under a window limit.
//!
//! The magic 0xFD2FB528 is also an immediate in every binary that links libzstd, so the
//! probe checks the frame header and dry-runs the decoder rather than trusting the magic.

use crate::formats::{dry_run_window, DRY_RUN};
use crate::handler::{Handler, Output, Probe};
use crate::source::Source;
use crate::{Result, UnpackError};

/// Largest window accepted: 2^27 bytes (128 MiB), zstd's own default limit for decoders.
const WINDOW_LOG_MAX: u32 = 27;

/// The zstd handler.
pub struct Zstd;

fn decoder<'a, R: std::io::BufRead + 'a>(
    r: R,
) -> std::io::Result<zstd::stream::read::Decoder<'a, R>> {
    let mut d = zstd::stream::read::Decoder::with_buffer(r)?.single_frame();
    d.window_log_max(WINDOW_LOG_MAX)?;
    Ok(d)
}

impl Handler for Zstd {
    fn id(&self) -> &'static str {
        "zstd"
    }
    fn description(&self) -> &'static str {
        "zstd compressed frame"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[&[0x28, 0xb5, 0x2f, 0xfd]]
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        // Frame header descriptor: the reserved bit is zero.
        let h = src.bytes(0, 6).ok()?;
        if h.get(4)? & 0x08 != 0 {
            return None;
        }
        let undecided = dry_run_window(src, 0, DRY_RUN, |w| Some(Box::new(decoder(w).ok()?)))?;
        Some(Probe {
            len: None,
            info: "zstd".to_string(),
            undecided,
        })
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let mut dec =
            decoder(src.reader(0)).map_err(|e| UnpackError::Limit(format!("zstd decoder: {e}")))?;
        out.payload("data", &mut dec)?;
        Ok(dec.finish().position())
    }
}
