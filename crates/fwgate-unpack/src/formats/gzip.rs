//! gzip streams (RFC 1952), decoded with flate2.

use std::io::Read;

use flate2::bufread::GzDecoder;

use crate::formats::{decodes, DRY_RUN};
use crate::handler::{Handler, Output, Probe};
use crate::Result;

/// The gzip handler.
pub struct Gzip;

impl Handler for Gzip {
    fn id(&self) -> &'static str {
        "gzip"
    }
    fn description(&self) -> &'static str {
        "gzip compressed stream"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[&[0x1f, 0x8b, 0x08]]
    }

    fn probe(&self, data: &[u8]) -> Option<Probe> {
        // Reserved flag bits must be clear; then a dry run must decode the header and a block.
        if data.len() < 18 || data[3] & 0xe0 != 0 {
            return None;
        }
        if !decodes(GzDecoder::new(data), DRY_RUN) {
            return None;
        }
        let dec = GzDecoder::new(data);
        let name = dec
            .header()
            .and_then(|h| h.filename())
            .map(String::from_utf8_lossy);
        let info = match name {
            Some(n) => format!("gzip \"{n}\""),
            None => "gzip".to_string(),
        };
        Some(Probe { len: None, info })
    }

    fn extract(&self, data: &[u8], _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let mut dec = GzDecoder::new(data);
        // Read one byte first so the header (and its file name) is parsed.
        let mut first = [0u8; 1];
        let got = dec.read(&mut first).unwrap_or(0);
        let name = dec
            .header()
            .and_then(|h| h.filename())
            .map(|n| {
                String::from_utf8_lossy(n)
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .filter(|n| !n.is_empty() && n != "." && n != "..")
            .unwrap_or_else(|| "data".to_string());
        let mut src = (&first[..got]).chain(&mut dec);
        out.file(&name, &mut src, 0o644)?;
        let rest = dec.into_inner().len();
        Ok((data.len() - rest) as u64)
    }
}
