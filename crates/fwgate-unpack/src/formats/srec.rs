//! Motorola S-records (`S0` header, `S1`/`S2`/`S3` data with 16/24/32-bit addresses, `S5`/`S6`
//! counts, `S7`/`S8`/`S9` termination), checksums checked, assembled into a binary payload
//! as `objcopy -I srec -O binary` does (the assembler is Intel HEX's).

use crate::formats::ihex::{assemble, hex_bytes, probe_records, read_records, Line};
use crate::handler::{Handler, Output, Probe};
use crate::source::Source;
use crate::Result;

/// Parses one S-record line (without its line ending).
fn parse(line: &[u8]) -> std::result::Result<Line, &'static str> {
    let (kind, body) = match line {
        [b'S', k, rest @ ..] if k.is_ascii_digit() => (k - b'0', rest),
        _ => return Err("no 'S' and record type"),
    };
    let b = hex_bytes(body).ok_or("not hex digits")?;
    if b.is_empty() || b.len() != usize::from(b[0]) + 1 {
        return Err("count byte does not match the record");
    }
    if !b.iter().fold(0u8, |s, &x| s.wrapping_add(x)) != 0 {
        return Err("checksum does not match");
    }
    let addr_len = match kind {
        0 | 1 | 5 | 9 => 2,
        2 | 6 | 8 => 3,
        3 | 7 => 4,
        _ => return Err("unknown record type"),
    };
    let fields = &b[1..b.len() - 1];
    if fields.len() < addr_len {
        return Err("record shorter than its address");
    }
    let addr = fields[..addr_len]
        .iter()
        .fold(0u64, |a, &x| (a << 8) | u64::from(x));
    let data = &fields[addr_len..];
    match kind {
        1..=3 => Ok(Line::Data {
            addr,
            data: data.to_vec(),
        }),
        7..=9 => Ok(Line::End),
        _ => Ok(Line::Other),
    }
}

/// The S-record handler.
pub struct SRec;

impl Handler for SRec {
    fn id(&self) -> &'static str {
        "srec"
    }
    fn description(&self) -> &'static str {
        "Motorola S-records, assembled as objcopy -O binary does"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[b"S0", b"S1", b"S2", b"S3"]
    }
    fn line_start(&self) -> bool {
        true
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        let h = src.bytes(0, 10).ok()?;
        if h.len() < 10 || !h[2..].iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        probe_records(src, parse)?;
        Some(Probe::new(None, "Motorola S-record"))
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
        assert!(matches!(
            parse(b"S1137AF00A0A0D0000000000000000000000000061"),
            Ok(Line::Data { addr: 0x7af0, .. })
        ));
        assert!(parse(b"S1137AF00A0A0D0000000000000000000000000062").is_err());
        assert!(matches!(parse(b"S9030000FC"), Ok(Line::End)));
    }
}
