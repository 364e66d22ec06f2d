//! Legacy U-Boot images (`mkimage`): a 64-byte big-endian header with CRC32s, then the payload.
//! Multi-file images (`-T multi`) carry a zero-terminated table of sizes before their parts.

use crate::formats::be32;
use crate::handler::{human_size, Handler, Output, Probe};
use crate::source::Source;
use crate::Result;

const HEADER: usize = 64;
const TYPE_MULTI: u8 = 4;

/// The U-Boot legacy image handler.
pub struct UImage;

fn os_name(v: u8) -> &'static str {
    match v {
        5 => "linux",
        17 => "u-boot",
        _ => "other-os",
    }
}

fn arch_name(v: u8) -> &'static str {
    match v {
        2 => "arm",
        3 => "x86",
        5 => "mips",
        6 => "mips64",
        7 => "powerpc",
        22 => "arm64",
        26 => "riscv",
        _ => "other-arch",
    }
}

fn type_name(v: u8) -> &'static str {
    match v {
        1 => "standalone",
        2 => "kernel",
        3 => "ramdisk",
        TYPE_MULTI => "multi",
        5 => "firmware",
        6 => "script",
        7 => "filesystem",
        8 => "flat_dt",
        _ => "other-type",
    }
}

fn comp_name(v: u8) -> &'static str {
    match v {
        0 => "none",
        1 => "gzip",
        2 => "bzip2",
        3 => "lzma",
        4 => "lzo",
        5 => "lz4",
        6 => "zstd",
        _ => "unknown-compression",
    }
}

/// The image name from the header: up to 32 bytes, NUL-terminated.
fn header_name(h: &[u8]) -> String {
    let raw = &h[32..64];
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end]).into_owned()
}

impl Handler for UImage {
    fn id(&self) -> &'static str {
        "uimage"
    }
    fn description(&self) -> &'static str {
        "U-Boot legacy image (mkimage), single or multi-file"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[&[0x27, 0x05, 0x19, 0x56]]
    }
    /// A fixed header and a table of at most MAX_PARTS sizes, streamed: bounded by design.
    fn isolate(&self) -> bool {
        false
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        let h = src.bytes(0, HEADER).ok()?;
        let h = h.get(..HEADER)?;
        let stored = be32(h, 4)?;
        let mut copy = [0u8; HEADER];
        copy.copy_from_slice(h);
        copy[4..8].fill(0);
        if crc32fast::hash(&copy) != stored {
            return None;
        }
        let size = u64::from(be32(h, 12)?);
        let info = format!(
            "uImage \"{}\" {} {} {}, {} compression, {}",
            header_name(h),
            os_name(h[28]),
            arch_name(h[29]),
            type_name(h[30]),
            comp_name(h[31]),
            human_size(size)
        );
        Some(Probe::new(Some(HEADER as u64 + size), info))
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let h = src
            .exact(0, HEADER)
            .map_err(|e| out.malformed(e.to_string()))?;
        let declared = u64::from(be32(&h, 12).unwrap_or(0));
        let available = src.len() - HEADER as u64;
        let size = declared.min(available);
        let payload = src.slice(HEADER as u64, size);
        if declared > available {
            out.problem(format!(
                "truncated: header declares {declared} payload bytes, {available} present; kept what is there"
            ));
        } else if crc_of(&payload).ok() != be32(&h, 24) {
            out.problem("payload CRC32 does not match the header; extracted anyway");
        }
        if h[30] == TYPE_MULTI {
            extract_multi(&payload, out)?;
        } else {
            check_compression(h[31], &payload, out);
            out.payload(type_name(h[30]), &mut payload.reader(0))?;
        }
        Ok(HEADER as u64 + size)
    }
}

/// The handler that decodes what a compression field names, by id.
fn comp_handler(v: u8) -> Option<&'static str> {
    match v {
        1 => Some("gzip"),
        2 => Some("bzip2"),
        3 => Some("lzma"),
        4 => Some("lzo"),
        5 => Some("lz4"),
        6 => Some("zstd"),
        _ => None,
    }
}

/// The payload is written raw and carved, so the handler for its compression finds it at
/// offset 0, as the bootloader decompresses it. A payload that the named handler does not
/// accept there (a wrong or unknown field, a format U-Boot reads and fwgate does not) is a
/// problem: the bootloader would fail to decompress it, or the carve would read it as
/// something other than what boots.
fn check_compression(comp: u8, payload: &Source, out: &mut Output<'_>) {
    if comp == 0 {
        return;
    }
    let Some(id) = comp_handler(comp) else {
        out.problem(format!(
            "unknown compression field {comp}: the payload is carved as it is"
        ));
        return;
    };
    let found = crate::formats::handler(id).is_some_and(|h| h.probe(payload).is_some());
    if !found {
        out.problem(format!(
            "compression field says {id}, but the payload does not start with a {id} stream that fwgate can decode; the bootloader would not boot it as it is"
        ));
    }
}

/// CRC32 of a whole window, streamed.
fn crc_of(src: &Source) -> std::io::Result<u32> {
    let mut h = crc32fast::Hasher::new();
    std::io::copy(&mut src.reader(0), &mut HashWriter(&mut h))?;
    Ok(h.finalize())
}

struct HashWriter<'a>(&'a mut crc32fast::Hasher);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.update(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Most parts a multi-file table may list (mkimage's own limit is far lower).
const MAX_PARTS: usize = 4096;

/// Splits a multi-file payload: u32 sizes up to a zero, then each part padded to 4 bytes.
fn extract_multi(payload: &Source, out: &mut Output<'_>) -> Result<()> {
    let table = payload
        .bytes(0, 4 * (MAX_PARTS + 1))
        .map_err(|e| out.malformed(e.to_string()))?;
    let mut sizes = Vec::new();
    let mut at = 0;
    loop {
        let Some(n) = be32(&table, at) else {
            out.problem(if table.len() > 4 * MAX_PARTS {
                format!("multi-file table lists more than {MAX_PARTS} parts")
            } else {
                "multi-file table runs past the payload".to_string()
            });
            return Ok(());
        };
        at += 4;
        if n == 0 {
            break;
        }
        sizes.push(u64::from(n));
    }
    let len = payload.len();
    let mut at = at as u64;
    for (i, n) in sizes.into_iter().enumerate() {
        // Alignment after the previous part may step past the end of a hostile payload.
        at = at.min(len);
        let end = at.saturating_add(n).min(len);
        out.payload(
            &format!("part-{i}"),
            &mut payload.slice(at, end - at).reader(0),
        )?;
        if end - at < n {
            out.problem(format!(
                "part {i} truncated: {n} bytes declared, {} present",
                end - at
            ));
            break;
        }
        at = end.saturating_add(3) & !3;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A uImage header over `payload` with valid CRCs.
    pub(crate) fn image(kind: u8, payload: &[u8]) -> Vec<u8> {
        let mut h = vec![0u8; HEADER];
        h[..4].copy_from_slice(&[0x27, 0x05, 0x19, 0x56]);
        h[12..16].copy_from_slice(&(payload.len() as u32).to_be_bytes());
        h[24..28].copy_from_slice(&crc32fast::hash(payload).to_be_bytes());
        h[28] = 5;
        h[29] = 2;
        h[30] = kind;
        h[32..36].copy_from_slice(b"test");
        let crc = crc32fast::hash(&h);
        h[4..8].copy_from_slice(&crc.to_be_bytes());
        h.extend_from_slice(payload);
        h
    }

    #[test]
    fn probe_checks_header_crc() {
        let img = image(2, b"kernel");
        assert!(UImage.probe(&Source::from_bytes(&img)).is_some());
        let mut bad = img.clone();
        bad[40] ^= 1;
        assert!(UImage.probe(&Source::from_bytes(&bad)).is_none());
    }

    #[test]
    fn hostile_multi_image_table_does_not_panic() {
        let tmp = tempfile::tempdir().unwrap();
        // Table: parts of 5 and 1 bytes, but the payload ends right after the first part
        // (17 bytes), so aligning to the second part (offset 20) steps past the end.
        let mut payload = Vec::new();
        for n in [5u32, 1, 0] {
            payload.extend_from_slice(&n.to_be_bytes());
        }
        payload.extend_from_slice(b"abcde");
        let path = tmp.path().join("multi.bin");
        std::fs::write(&path, image(TYPE_MULTI, &payload)).unwrap();
        let tree = crate::unpack(&path, &tmp.path().join("out"), crate::Limits::default()).unwrap();
        let parts: Vec<_> = tree
            .nodes
            .iter()
            .map(|n| (n.origin.inner_path.as_str(), n.size))
            .collect();
        assert_eq!(parts, [("/part-0", 5), ("/part-1", 0)]);
        assert!(
            tree.problems
                .iter()
                .any(|p| p.message.contains("part 1 truncated")),
            "{:?}",
            tree.problems
        );
        assert!(
            !tree.problems.iter().any(|p| p.message.contains("panic")),
            "{:?}",
            tree.problems
        );
    }
}
