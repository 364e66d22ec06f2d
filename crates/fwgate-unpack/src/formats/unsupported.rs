//! Formats fwgate recognises but cannot extract yet. A validated hit is a problem naming the
//! format and offset, so an image whose root file system is in one of them never passes as if
//! it had been examined. When a format gains a handler, its recogniser leaves this table.
//!
//! Each check validates more than the magic (a checksum, field ranges, a second signature), so
//! that the same bytes inside an ordinary binary (busybox carries the cpio and tar magics as
//! strings) are not reported.

use crate::formats::{be32, le16, le32, le64};
use crate::source::Source;

/// A format that is detected but not extracted.
pub struct Recogniser {
    /// Stable, short, lowercase id.
    pub id: &'static str,
    /// One line for listings.
    pub description: &'static str,
    /// Byte strings that mark a candidate, `magic_offset` bytes into the structure.
    pub magics: &'static [&'static [u8]],
    /// Where the magic sits inside the structure.
    pub magic_offset: usize,
    /// How many bytes `check` reads from the candidate's start.
    header: usize,
    /// Validates a header: the length it declares (0 when unknown) and a description.
    check: fn(&[u8]) -> Option<(u64, String)>,
    /// A further check over the whole candidate, given what `check` returned.
    deep: Option<DeepCheck>,
}

/// What a recogniser's `check` found: the declared length and a description.
type Found = (u64, String);
/// A check over the whole candidate, given what the header check found.
type DeepCheck = fn(&Source, &Found) -> bool;

impl Recogniser {
    /// Validates the candidate starting at `src`'s first byte.
    pub fn recognise(&self, src: &Source) -> Option<(u64, String)> {
        let h = src.bytes(0, self.header).ok()?;
        let found = (self.check)(&h)?;
        match self.deep {
            Some(deep) if !deep(src, &found) => None,
            _ => Some(found),
        }
    }
}

macro_rules! recogniser {
    ($id:literal, $desc:literal, [$($m:expr),+], $off:expr, $hdr:expr, $check:expr) => {
        recogniser!(@ $id, $desc, [$($m),+], $off, $hdr, $check, None)
    };
    ($id:literal, $desc:literal, [$($m:expr),+], $off:expr, $hdr:expr, $check:expr, $deep:expr) => {
        recogniser!(@ $id, $desc, [$($m),+], $off, $hdr, $check, Some($deep))
    };
    (@ $id:literal, $desc:literal, [$($m:expr),+], $off:expr, $hdr:expr, $check:expr, $deep:expr) => {
        Recogniser {
            id: $id,
            description: $desc,
            magics: &[$($m),+],
            magic_offset: $off,
            header: $hdr,
            check: $check,
            deep: $deep,
        }
    };
}

/// Every recognised-but-unsupported format.
pub static RECOGNISERS: &[Recogniser] = &[
    recogniser!(
        "squashfs-other",
        "SquashFS other than 4.0 little-endian (big-endian, 1.x-3.x, vendor LZMA variants)",
        [b"hsqs", b"sqsh", b"shsq", b"qshs"],
        0,
        96,
        squashfs_other
    ),
    recogniser!("romfs", "romfs file system", [b"-rom1fs-"], 0, 512, romfs),
    recogniser!(
        "7z",
        "7-Zip archive",
        [&[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c]],
        0,
        32,
        seven_zip
    ),
];

fn squashfs_other(h: &[u8]) -> Option<(u64, String)> {
    let magic = h.get(..4)?;
    let le = magic == b"hsqs" || magic == b"shsq";
    let major = if le {
        le16(h, 28)?
    } else {
        u16::from_be_bytes([*h.get(28)?, *h.get(29)?])
    };
    let minor = if le {
        le16(h, 30)?
    } else {
        u16::from_be_bytes([*h.get(30)?, *h.get(31)?])
    };
    if !(1..=4).contains(&major) || minor > 1 || (magic == b"hsqs" && major == 4) {
        return None;
    }
    let used = if major == 4 {
        if le {
            le64(h, 40)?
        } else {
            u64::from_be_bytes(h.get(40..48)?.try_into().ok()?)
        }
    } else {
        0
    };
    let endian = if le { "little" } else { "big" };
    let magic = String::from_utf8_lossy(magic).into_owned();
    Some((
        used,
        format!("SquashFS {major}.x ({endian}-endian, magic \"{magic}\")"),
    ))
}

fn romfs(h: &[u8]) -> Option<(u64, String)> {
    let size = be32(h, 8)?;
    // The big-endian words of the first 512 bytes (or the whole image) sum to zero.
    let n = (size as usize).min(512) & !3;
    let words = h.get(..n)?;
    let sum = words.chunks_exact(4).fold(0u32, |s, w| {
        s.wrapping_add(u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
    });
    (size >= 32 && sum == 0).then(|| (u64::from(size), "romfs file system".into()))
}

fn seven_zip(h: &[u8]) -> Option<(u64, String)> {
    // The start header (next-header offset, size and CRC) carries its own CRC32.
    (crc32fast::hash(h.get(12..32)?) == le32(h, 8)?).then(|| (0, "7-Zip archive".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_distinct_from_handlers() {
        let mut ids: Vec<_> = RECOGNISERS.iter().map(|r| r.id).collect();
        ids.extend(crate::HANDLERS.iter().map(|h| h.id()));
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(n, ids.len());
    }

    #[test]
    fn magics_alone_are_not_enough() {
        // Each short magic followed by junk, at its offset: none validates (magics of six
        // bytes or more are strong enough alone).
        let junk: Vec<u8> = (0..8192u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for r in RECOGNISERS {
            for m in r.magics.iter().filter(|m| m.len() < 6) {
                let mut d = junk.clone();
                d[r.magic_offset..r.magic_offset + m.len()].copy_from_slice(m);
                assert!((r.check)(&d[..r.header.min(d.len())]).is_none(), "{}", r.id);
            }
        }
    }

    #[test]
    fn short_and_empty_input_never_panics() {
        // Found by the recognisers fuzz target: an empty input indexed past its end.
        for r in RECOGNISERS {
            assert!((r.check)(&[]).is_none(), "{}", r.id);
            for m in r.magics {
                for cut in 0..=m.len() {
                    let mut d = vec![0u8; r.magic_offset];
                    d.extend_from_slice(&m[..cut]);
                    let _ = (r.check)(&d);
                }
            }
        }
    }
}
