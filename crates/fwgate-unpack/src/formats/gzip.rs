//! gzip streams (RFC 1952), decoded with flate2.

use flate2::bufread::GzDecoder;

use crate::formats::{decodes, DRY_RUN, PROBE_WINDOW};
use crate::handler::{Handler, Output, Probe};
use crate::Result;

const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
/// Longest stored file name or comment accepted; a real one is short, and looking further
/// would make every false signature cost a scan to the end of the file.
const MAX_STRING: usize = 1024;

/// Parses a gzip member header: the offset of the deflate data and the stored file name.
/// Bounded work whatever the input.
fn header(data: &[u8]) -> Option<(usize, Option<&[u8]>)> {
    let h = data.get(..10)?;
    let flags = h[3];
    if h[..3] != [0x1f, 0x8b, 0x08] || flags & 0xe0 != 0 {
        return None;
    }
    let mut at = 10;
    if flags & FEXTRA != 0 {
        let b = data.get(at..at + 2)?;
        at += 2 + usize::from(u16::from_le_bytes([b[0], b[1]]));
    }
    let string = |at: &mut usize| -> Option<&[u8]> {
        let s = data.get(*at..)?;
        let len = s.iter().take(MAX_STRING).position(|&b| b == 0)?;
        *at += len + 1;
        Some(&s[..len])
    };
    let name = if flags & FNAME != 0 {
        Some(string(&mut at)?)
    } else {
        None
    };
    if flags & FCOMMENT != 0 {
        string(&mut at)?;
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    (at < data.len()).then_some((at, name))
}

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
        // The header is checked first with bounded work; then flate2 dry-runs the member over
        // a bounded window, checking the CRC32 and size trailer if the stream ends inside it.
        let (body, name) = header(data)?;
        let window = &data[..data.len().min(body + PROBE_WINDOW)];
        if !decodes(GzDecoder::new(window), DRY_RUN) {
            return None;
        }
        let info = match name {
            Some(n) => format!("gzip \"{}\"", String::from_utf8_lossy(n)),
            None => "gzip".to_string(),
        };
        Some(Probe { len: None, info })
    }

    fn extract(&self, data: &[u8], _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        // The stored name, reduced to its last component; "data" when there is none.
        let name = header(data)
            .and_then(|(_, n)| n)
            .map(|n| {
                let n = String::from_utf8_lossy(n);
                n.rsplit('/').next().unwrap_or("").to_string()
            })
            .filter(|n| !n.is_empty() && n != "." && n != "..")
            .unwrap_or_else(|| "data".to_string());
        let mut dec = GzDecoder::new(data);
        out.file(&name, &mut dec, 0o644)?;
        let rest = dec.into_inner().len();
        Ok((data.len() - rest) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_parsing_is_bounded() {
        // FNAME set and no NUL for a megabyte: rejected after MAX_STRING bytes.
        let mut d = vec![0x1f, 0x8b, 0x08, FNAME, 0, 0, 0, 0, 0, 3];
        d.extend(std::iter::repeat_n(b'a', 1 << 20));
        assert!(header(&d).is_none());
        // A real name.
        let mut d = vec![0x1f, 0x8b, 0x08, FNAME, 0, 0, 0, 0, 0, 3];
        d.extend_from_slice(b"vmlinux\0\x03\x00");
        assert_eq!(header(&d), Some((18, Some(&b"vmlinux"[..]))));
    }
}
