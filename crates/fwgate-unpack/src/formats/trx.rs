//! Broadcom TRX firmware ("HDR0"): a little-endian header with the length, a CRC32 and up to
//! three (v1) or four (v2) partition offsets; each partition (loader, kernel, root file
//! system) is a payload. The CRC is checked as the CFE bootloader checks it: CRC-32 seeded
//! with all ones and not inverted, over the header from the flags field to the length.

use std::io::Read;

use crate::formats::{le16, le32};
use crate::handler::{human_size, Handler, Output, Probe};
use crate::source::Source;
use crate::Result;

/// The fixed part of the header (magic, length, CRC, flags, version).
const FIXED: usize = 16;
/// Where the CRC's coverage starts: the flags field.
const CRC_FROM: u64 = 12;

/// The parsed header.
struct Header {
    len: u64,
    crc: u32,
    version: u16,
    size: u64,
    offsets: Vec<u32>,
}

fn header(src: &Source) -> Option<Header> {
    let h = src.bytes(0, FIXED + 16).ok()?;
    if h.get(..4)? != b"HDR0" {
        return None;
    }
    let len = u64::from(le32(&h, 4)?);
    let crc = le32(&h, 8)?;
    let version = le16(&h, 14)?;
    let count = match version {
        1 => 3,
        2 => 4,
        _ => return None,
    };
    let size = (FIXED + 4 * count) as u64;
    let offsets: Vec<u32> = (0..count)
        .map(|i| le32(&h, FIXED + 4 * i))
        .collect::<Option<_>>()?;
    // At least one partition where a header can have one (others are checked on extraction).
    let plausible = offsets
        .iter()
        .any(|&o| u64::from(o) >= size && u64::from(o) < len);
    (len >= size && plausible).then_some(Header {
        len,
        crc,
        version,
        size,
        offsets,
    })
}

/// CFE's CRC-32 of a window: the standard polynomial, seeded with all ones, not inverted.
fn cfe_crc(src: &Source) -> std::io::Result<u32> {
    let mut h = crc32fast::Hasher::new();
    let mut r = src.reader(0);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(!h.finalize())
}

/// The TRX handler.
pub struct Trx;

impl Handler for Trx {
    fn id(&self) -> &'static str {
        "trx"
    }
    fn description(&self) -> &'static str {
        "Broadcom TRX firmware (v1, v2), one payload per partition"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[b"HDR0"]
    }
    /// A fixed header, a streamed CRC and slices of the input: bounded by design.
    fn isolate(&self) -> bool {
        false
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        let h = header(src)?;
        let parts = h.offsets.iter().filter(|&&o| o != 0).count();
        Some(Probe::new(
            Some(h.len),
            format!(
                "TRX v{} firmware, {}, {parts} partitions",
                h.version,
                human_size(h.len)
            ),
        ))
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let h = header(src).ok_or_else(|| out.malformed("not a TRX header"))?;
        let len = h.len.min(src.len());
        if h.len > src.len() {
            out.problem(format!(
                "truncated: header declares {} bytes, {} present; kept what is there",
                h.len,
                src.len()
            ));
        } else {
            match cfe_crc(&src.slice(CRC_FROM, len - CRC_FROM)) {
                Ok(c) if c == h.crc => {}
                Ok(c) => out.problem(format!(
                    "CRC32 {c:#010x} does not match the header's {:#010x}: CFE would refuse to boot this image; extracted anyway",
                    h.crc
                )),
                Err(e) => return Err(out.malformed(e.to_string())),
            }
        }
        // Each partition runs to the next one that starts after it, or to the length.
        let mut starts: Vec<u64> = Vec::new();
        for (i, &o) in h.offsets.iter().enumerate() {
            let o = u64::from(o);
            if o == 0 {
                continue;
            }
            if o < h.size {
                out.problem(format!(
                    "partition {i} starts at {o:#x}, inside the {}-byte header; not extracted",
                    h.size
                ));
                continue;
            }
            if o >= len {
                out.problem(format!(
                    "partition {i} starts at {o:#x}, past the image's {len:#x} bytes; not extracted"
                ));
                continue;
            }
            starts.push(o);
        }
        let mut used = vec![(0, h.size)];
        for (i, &o) in h.offsets.iter().enumerate() {
            let o = u64::from(o);
            if o < h.size || o >= len {
                continue;
            }
            let end = starts
                .iter()
                .copied()
                .filter(|&s| s > o)
                .min()
                .unwrap_or(len);
            out.payload(&format!("part-{i}"), &mut src.slice(o, end - o).reader(0))?;
            used.push((o, end));
        }
        out.used(used);
        Ok(len)
    }
}
