//! Intel HEX: text records (`:LLAAAATT<data>CC`) with checksums, extended segment (02) and
//! linear (04) addresses, assembled into a binary payload as `objcopy -I ihex -O binary`
//! does: from the lowest address, gaps filled with zeros. Overlapping records and an address
//! span larger than [`MAX_SPAN`] are problems.
//!
//! The assembler ([`assemble`]) is shared with the Motorola S-record reader: both list their
//! data records (address, where the line is), then stream the image by re-reading each line,
//! so memory is bounded by the record count, not by the addresses.

use std::io::{self, BufRead, Read};

use crate::handler::{Handler, Output, Probe};
use crate::source::Source;
use crate::Result;

/// Longest record line accepted (255 data bytes in hex, address, type, checksum, CR LF).
pub(crate) const MAX_LINE: usize = 600;
/// Most data records in one file (a 16 MiB image in 16-byte records).
pub(crate) const MAX_RECORDS: usize = 1 << 20;
/// Largest address span assembled into one payload; beyond it, the records are written as
/// separate segments (objcopy would write a file that large).
pub(crate) const MAX_SPAN: u64 = 64 << 20;
/// Valid records in a row a probe wants (unless the file ends first).
pub(crate) const PROBE_RECORDS: usize = 3;

/// A data record: its load address, length, and where its line is in the container.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DataRecord {
    pub addr: u64,
    pub len: u64,
    pub line_at: u64,
    pub line_no: usize,
}

/// What a record line holds, for the readers of both formats.
#[derive(Debug)]
pub(crate) enum Line {
    /// Data bytes for `addr` (relative to the current base, which the reader applies).
    Data { addr: u64, data: Vec<u8> },
    /// A record that sets the address base (`ihex` 02/04).
    Base(u64),
    /// The end-of-file or termination record.
    End,
    /// Any other valid record (header, start address, count).
    Other,
}

pub(crate) fn hex_bytes(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.chunks_exact(2)
        .map(|p| {
            let d = |c: u8| (c as char).to_digit(16);
            Some((d(p[0])? * 16 + d(p[1])?) as u8)
        })
        .collect()
}

/// Parses one Intel HEX line (without its line ending).
pub(crate) fn parse(line: &[u8]) -> std::result::Result<Line, &'static str> {
    let body = line.strip_prefix(b":").ok_or("no ':'")?;
    let b = hex_bytes(body).ok_or("not hex digits")?;
    if b.len() < 5 || b.len() != usize::from(b[0]) + 5 {
        return Err("length byte does not match the record");
    }
    if b.iter().fold(0u8, |s, &x| s.wrapping_add(x)) != 0 {
        return Err("checksum does not match");
    }
    let addr = u64::from(u16::from_be_bytes([b[1], b[2]]));
    let data = &b[4..b.len() - 1];
    match (b[3], data.len()) {
        (0, _) => Ok(Line::Data {
            addr,
            data: data.to_vec(),
        }),
        (1, 0) => Ok(Line::End),
        (2, 2) => Ok(Line::Base(
            u64::from(u16::from_be_bytes([data[0], data[1]])) << 4,
        )),
        (4, 2) => Ok(Line::Base(
            u64::from(u16::from_be_bytes([data[0], data[1]])) << 16,
        )),
        (3, 4) | (5, 4) => Ok(Line::Other),
        _ => Err("unknown record type or wrong length for its type"),
    }
}

/// A record parser for [`probe_records`] and [`read_records`].
pub(crate) type Parser = fn(&[u8]) -> std::result::Result<Line, &'static str>;

/// Strips a trailing CR LF or LF.
fn trim(line: &[u8]) -> &[u8] {
    let l = line.strip_suffix(b"\n").unwrap_or(line);
    l.strip_suffix(b"\r").unwrap_or(l)
}

/// Whether `src` starts with [`PROBE_RECORDS`] valid records in a row (or fewer, ended by the
/// end record). Reads at most a few KiB.
pub(crate) fn probe_records(src: &Source, parse: Parser) -> Option<usize> {
    let head = src.bytes(0, PROBE_RECORDS * (MAX_LINE + 2)).ok()?;
    let all = head.len() as u64 == src.len();
    let mut n = 0;
    for line in head.split_inclusive(|&b| b == b'\n').take(PROBE_RECORDS) {
        // A line cut by the window is not judged; the file's last line needs no newline.
        if !line.ends_with(b"\n") && !all {
            return None;
        }
        match parse(trim(line)).ok()? {
            Line::End => return (n > 0).then_some(n),
            _ => n += 1,
        }
    }
    (n == PROBE_RECORDS).then_some(n)
}

/// The records of a file, read up to its end record or its first line that is not a valid
/// record; `end` is where the container ends.
pub(crate) struct Records {
    pub data: Vec<DataRecord>,
    pub end: u64,
}

/// Reads the record lines from the start of `src`; bad lines and a missing end record are
/// problems, and end the container.
pub(crate) fn read_records(src: &Source, parse: Parser, out: &mut Output<'_>) -> Result<Records> {
    let mut r = src.reader(0);
    let mut data = Vec::new();
    let mut base = 0u64;
    let mut line = Vec::new();
    let mut line_no = 0usize;
    loop {
        if line_no.is_multiple_of(4096) {
            out.check_time()?;
        }
        let at = r.position();
        line.clear();
        let n = (&mut r)
            .take(MAX_LINE as u64 + 2)
            .read_until(b'\n', &mut line)
            .map_err(|e| out.malformed(e.to_string()))?;
        if n == 0 {
            out.problem(format!("no end record after line {line_no}"));
            return Ok(Records { data, end: at });
        }
        line_no += 1;
        let parsed = match parse(trim(&line)) {
            Ok(p) => p,
            Err(why) => {
                out.problem(format!(
                    "line {line_no} (offset {at:#x}) is not a valid record ({why}); the file ends before it"
                ));
                return Ok(Records { data, end: at });
            }
        };
        match parsed {
            Line::Data { addr, data: d } => {
                if data.len() >= MAX_RECORDS {
                    out.problem(format!(
                        "more than {MAX_RECORDS} data records; the rest were not read"
                    ));
                    return Ok(Records { data, end: at });
                }
                if !d.is_empty() {
                    data.push(DataRecord {
                        addr: base + addr,
                        len: d.len() as u64,
                        line_at: at,
                        line_no,
                    });
                }
            }
            Line::Base(b) => base = b,
            Line::End => {
                return Ok(Records {
                    data,
                    end: r.position(),
                })
            }
            Line::Other => {}
        }
    }
}

/// Streams one segment of sorted, non-overlapping records as a binary image.
struct Image {
    src: Source,
    parse: Parser,
    recs: Vec<DataRecord>,
    next: usize,
    /// Address of the next byte to emit.
    addr: u64,
    buf: Vec<u8>,
    at: usize,
}

impl Read for Image {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.at >= self.buf.len() {
            let Some(rec) = self.recs.get(self.next).copied() else {
                return Ok(0);
            };
            self.at = 0;
            if rec.addr > self.addr {
                let gap = (rec.addr - self.addr).min(64 * 1024) as usize;
                self.buf.clear();
                self.buf.resize(gap, 0);
                self.addr += gap as u64;
            } else {
                let line = self.src.bytes(rec.line_at, MAX_LINE + 2)?;
                let line = line.split(|&b| b == b'\n').next().unwrap_or(&[]);
                match (self.parse)(trim(line)) {
                    Ok(Line::Data { data, .. }) => self.buf = data,
                    _ => {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("line {} changed while reading", rec.line_no),
                        ))
                    }
                }
                self.addr += rec.len;
                self.next += 1;
            }
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Writes the records as `objcopy -O binary` lays them out: sorted by address from the
/// lowest, gaps zero-filled. A record that overlaps an earlier one is a problem and left
/// out; a span over [`MAX_SPAN`] is a problem, and each run of records within it becomes its
/// own payload (`data@0xADDR`).
pub(crate) fn assemble(
    src: &Source,
    parse: Parser,
    mut recs: Vec<DataRecord>,
    out: &mut Output<'_>,
) -> Result<()> {
    if recs.is_empty() {
        out.problem("no data records");
        return Ok(());
    }
    // Stable: records at the same address keep their file order, so the first one wins.
    recs.sort_by_key(|r| r.addr);
    let mut kept: Vec<DataRecord> = Vec::with_capacity(recs.len());
    let mut end = 0u64;
    let mut overlaps = 0usize;
    for r in recs {
        if !kept.is_empty() && r.addr < end {
            overlaps += 1;
            if overlaps <= 16 {
                out.problem(format!(
                    "line {}: record at {:#x} overlaps data already loaded up to {end:#x}; left out",
                    r.line_no, r.addr
                ));
            }
            continue;
        }
        end = r.addr + r.len;
        kept.push(r);
    }
    if overlaps > 16 {
        out.problem(format!("{overlaps} overlapping records in all; left out"));
    }
    let low = kept.first().map_or(0, |r| r.addr);
    let split = end - low > MAX_SPAN;
    if split {
        out.problem(format!(
            "addresses span {:#x}..{end:#x}, more than {} MiB: not assembled into one image; each run of records is its own payload",
            low,
            MAX_SPAN >> 20
        ));
    }
    let mut segments: Vec<Vec<DataRecord>> = Vec::new();
    for r in kept {
        let start_new = match segments.last().and_then(|s| s.first().zip(s.last())) {
            None => true,
            Some((first, last)) => {
                split && (r.addr > last.addr + last.len || r.addr + r.len - first.addr > MAX_SPAN)
            }
        };
        if start_new {
            segments.push(Vec::new());
        }
        if let Some(s) = segments.last_mut() {
            s.push(r);
        }
    }
    for (i, seg) in segments.into_iter().enumerate() {
        out.check_time()?;
        let addr = seg.first().map_or(0, |r| r.addr);
        let name = if i == 0 && !split {
            "data".to_string()
        } else {
            format!("data@{addr:#x}")
        };
        let mut img = Image {
            src: src.clone(),
            parse,
            recs: seg,
            next: 0,
            addr,
            buf: Vec::new(),
            at: 0,
        };
        out.payload(&name, &mut img)?;
    }
    Ok(())
}

/// The Intel HEX handler.
pub struct IHex;

impl Handler for IHex {
    fn id(&self) -> &'static str {
        "ihex"
    }
    fn description(&self) -> &'static str {
        "Intel HEX records, assembled as objcopy -O binary does"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[b":"]
    }
    fn line_start(&self) -> bool {
        true
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        // Every ':' in every text is a candidate: the first record's fixed fields are
        // checked on 11 bytes before more is read.
        let h = src.bytes(0, 11).ok()?;
        if h.len() < 11 || !h[1..].iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        probe_records(src, parse)?;
        Some(Probe::new(None, "Intel HEX"))
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let recs = read_records(src, parse, out)?;
        assemble(&src.slice(0, recs.end), parse, recs.data, out)?;
        Ok(recs.end.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_parse_with_checksums() {
        assert!(matches!(parse(b":00000001FF"), Ok(Line::End)));
        assert!(matches!(
            parse(b":020000040800F2"),
            Ok(Line::Base(0x0800_0000))
        ));
        assert!(matches!(
            parse(b":0300300002337A1E"),
            Ok(Line::Data { addr: 0x30, .. })
        ));
        assert!(parse(b":0300300002337A1F").is_err());
        assert!(parse(b":03003000").is_err());
    }
}
