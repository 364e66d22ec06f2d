//! gzip streams (RFC 1952), decoded with flate2.

use flate2::bufread::GzDecoder;

use crate::formats::{dry_run_window, DRY_RUN};
use crate::handler::{Handler, Output, Probe};
use crate::source::Source;
use crate::Result;

const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
/// Longest stored file name or comment accepted; a real one is short, and looking further
/// would make every false signature cost a scan to the end of the file.
const MAX_STRING: usize = 1024;

/// A parsed member header.
#[derive(Debug, PartialEq, Eq)]
enum Header<'a> {
    /// The offset of the deflate data and the stored file name.
    Parsed(usize, Option<&'a [u8]>),
    /// Valid fixed fields, but a name or comment longer than the probe reads: only the
    /// decoder, which reads it to its end, can tell.
    LongString,
}

/// Parses a gzip member header. Bounded work whatever the input.
fn header(data: &[u8]) -> Option<Header<'_>> {
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
    // Some(Ok(s)): the string; Some(Err(())): no NUL within MAX_STRING bytes.
    let string = |at: &mut usize| -> Option<std::result::Result<&[u8], ()>> {
        let s = data.get(*at..)?;
        match s.iter().take(MAX_STRING).position(|&b| b == 0) {
            Some(len) => {
                *at += len + 1;
                Some(Ok(&s[..len]))
            }
            None if s.len() > MAX_STRING => Some(Err(())),
            None => None,
        }
    };
    let name = if flags & FNAME != 0 {
        match string(&mut at)? {
            Ok(s) => Some(s),
            Err(()) => return plausible(h).then_some(Header::LongString),
        }
    } else {
        None
    };
    if flags & FCOMMENT != 0 && string(&mut at)?.is_err() {
        return plausible(h).then_some(Header::LongString);
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    (at < data.len()).then_some(Header::Parsed(at, name))
}

/// The bytes `header` may need: the fixed part, then only as much of the optional fields as
/// the flags announce (a false signature costs a 12-byte read, not 67 KB).
fn header_bytes(src: &Source) -> std::io::Result<Vec<u8>> {
    let fixed = src.bytes(0, 12)?;
    let Some(&flags) = fixed.get(3) else {
        return Ok(fixed);
    };
    let mut need = 10;
    if flags & FEXTRA != 0 {
        let xlen = fixed
            .get(10..12)
            .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
        need += 2 + usize::from(xlen);
    }
    for f in [FNAME, FCOMMENT] {
        if flags & f != 0 {
            need += MAX_STRING + 1;
        }
    }
    // Room for the header CRC and the first byte of deflate data.
    src.bytes(0, need + 3)
}

/// The fixed header fields a real compressor writes: XFL 0, 2 or 4 and a known OS byte.
fn plausible(h: &[u8]) -> bool {
    matches!(h[8], 0 | 2 | 4) && (h[9] <= 13 || h[9] == 255)
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
    /// flate2's Rust backend (miniz_oxide) decodes with a fixed 32 KiB window and no
    /// recursion; the header parse is ours and bounded. Nothing here grows with the input.
    fn isolate(&self) -> bool {
        false
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        // The header is checked first with bounded work; then flate2 dry-runs the member over
        // a bounded window, checking the CRC32 and size trailer if the stream ends inside it.
        let head = header_bytes(src).ok()?;
        let (body, name) = match header(&head)? {
            Header::Parsed(body, name) => (body, name),
            Header::LongString => {
                return Some(Probe {
                    len: None,
                    info: "gzip".into(),
                    undecided: Some(format!(
                        "stored name or comment longer than {MAX_STRING} bytes"
                    )),
                })
            }
        };
        let undecided = dry_run_window(src, body, DRY_RUN, |w| Some(Box::new(GzDecoder::new(w))))?;
        let info = match name {
            Some(n) => format!("gzip \"{}\"", String::from_utf8_lossy(n)),
            None => "gzip".to_string(),
        };
        Some(Probe {
            len: None,
            info,
            undecided,
        })
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        // The stored name, reduced to its last component; "data" when there is none.
        let head = header_bytes(src).unwrap_or_default();
        let name = match header(&head) {
            Some(Header::Parsed(_, Some(n))) => {
                let n = String::from_utf8_lossy(n);
                n.rsplit('/').next().unwrap_or("").to_string()
            }
            _ => String::new(),
        };
        let name = if name.is_empty() || name == "." || name == ".." {
            "data".to_string()
        } else {
            name
        };
        let mut dec = GzDecoder::new(src.reader(0));
        out.payload(&name, &mut dec)?;
        Ok(dec.into_inner().position())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_parsing_is_bounded() {
        // FNAME set and no NUL for a megabyte: rejected after MAX_STRING bytes.
        // FNAME set and no NUL for a megabyte: undecided after MAX_STRING bytes, so the
        // decoder gets to read it; with implausible fixed fields, rejected.
        let mut d = vec![0x1f, 0x8b, 0x08, FNAME, 0, 0, 0, 0, 0, 3];
        d.extend(std::iter::repeat_n(b'a', 1 << 20));
        assert_eq!(header(&d), Some(Header::LongString));
        d[9] = 77;
        assert_eq!(header(&d), None);
        // A real name.
        let mut d = vec![0x1f, 0x8b, 0x08, FNAME, 0, 0, 0, 0, 0, 3];
        d.extend_from_slice(b"vmlinux\0\x03\x00");
        assert_eq!(header(&d), Some(Header::Parsed(18, Some(&b"vmlinux"[..]))));
    }
}
