//! xz streams, decoded with liblzma.

use liblzma::bufread::XzDecoder;

use crate::formats::{decodes, DRY_RUN, PROBE_WINDOW};
use crate::handler::{Handler, Output, Probe};
use crate::Result;

/// The xz handler.
pub struct Xz;

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

    fn probe(&self, data: &[u8]) -> Option<Probe> {
        // Stream header: magic, two flag bytes (first must be zero), CRC32 of the flags.
        let flags = data.get(6..8)?;
        let crc = data.get(8..12)?;
        if flags[0] != 0 || crc32fast::hash(flags).to_le_bytes() != crc {
            return None;
        }
        let window = &data[..data.len().min(PROBE_WINDOW)];
        decodes(XzDecoder::new(window), DRY_RUN).then(|| Probe {
            len: None,
            info: "xz".to_string(),
        })
    }

    fn extract(&self, data: &[u8], _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let mut dec = XzDecoder::new(data);
        out.file("data", &mut dec, 0o644)?;
        let rest = dec.into_inner().len();
        Ok((data.len() - rest) as u64)
    }
}
