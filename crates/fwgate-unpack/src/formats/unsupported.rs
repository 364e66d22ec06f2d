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
        "ext",
        "ext2/3/4 file system",
        [&[0x53, 0xef]],
        1080,
        2048,
        ext
    ),
    recogniser!(
        "jffs2",
        "JFFS2 flash file system",
        [
            &[0x85, 0x19, 0x01, 0xe0],
            &[0x85, 0x19, 0x02, 0xe0],
            &[0x85, 0x19, 0x03, 0x20],
            &[0x19, 0x85, 0xe0, 0x01],
            &[0x19, 0x85, 0xe0, 0x02],
            &[0x19, 0x85, 0x20, 0x03]
        ],
        0,
        12,
        jffs2
    ),
    recogniser!(
        "cramfs",
        "CramFS file system",
        [&[0x45, 0x3d, 0xcd, 0x28], &[0x28, 0xcd, 0x3d, 0x45]],
        0,
        64,
        cramfs
    ),
    recogniser!("ubi", "UBI flash image", [b"UBI#"], 0, 64, ubi),
    recogniser!(
        "ubifs",
        "UBIFS file system",
        [&[0x31, 0x18, 0x10, 0x06]],
        0,
        4096,
        ubifs
    ),
    recogniser!(
        "squashfs-other",
        "SquashFS other than 4.0 little-endian (big-endian, 1.x-3.x, vendor LZMA variants)",
        [b"hsqs", b"sqsh", b"shsq", b"qshs"],
        0,
        96,
        squashfs_other
    ),
    recogniser!(
        "erofs",
        "EROFS file system",
        [&[0xe2, 0xe1, 0xf5, 0xe0]],
        1024,
        1040,
        erofs
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
    recogniser!("bzip2", "bzip2 stream", [b"BZh"], 0, 10, bzip2),
    recogniser!(
        "lz4",
        "lz4 stream (frame or legacy)",
        [&[0x04, 0x22, 0x4d, 0x18], &[0x02, 0x21, 0x4c, 0x18]],
        0,
        19,
        lz4
    ),
    recogniser!(
        "lzop",
        "lzop (LZO) stream",
        [&[0x89, b'L', b'Z', b'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a]],
        0,
        64 + 256,
        lzop
    ),
    recogniser!(
        "android-sparse",
        "Android sparse image",
        [&[0x3a, 0xff, 0x26, 0xed]],
        0,
        28,
        android_sparse
    ),
    recogniser!("trx", "Broadcom TRX firmware header", [b"HDR0"], 0, 28, trx),
];

fn ext(h: &[u8]) -> Option<(u64, String)> {
    let sb = h.get(1024..1024 + 100)?;
    let inodes = le32(sb, 0)?;
    let blocks = le32(sb, 4)?;
    let first = le32(sb, 20)?;
    let log = le32(sb, 24)?;
    let per_group = le32(sb, 32)?;
    let inodes_per_group = le32(sb, 40)?;
    let state = le16(sb, 58)?;
    let errors = le16(sb, 60)?;
    let rev = le32(sb, 76)?;
    let ok = inodes > 0
        && blocks > 0
        && first <= 1
        && log <= 6
        && per_group > 0
        && per_group % 8 == 0
        && inodes_per_group > 0
        && (1..=7).contains(&state)
        && (1..=3).contains(&errors)
        && rev <= 1;
    ok.then(|| {
        let bs = 1024u64 << log;
        (
            u64::from(blocks) * bs,
            format!("ext2/3/4 file system, {blocks} blocks of {bs} bytes"),
        )
    })
}

/// JFFS2's header CRC: the kernel's `crc32(0, …)`, i.e. CRC-32 without the final inversion.
fn jffs2_crc(b: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new_with_initial(0xffff_ffff);
    h.update(b);
    !h.finalize()
}

fn jffs2(h: &[u8]) -> Option<(u64, String)> {
    let le = h.first() == Some(&0x85);
    let rd = |at| if le { le32(h, at) } else { be32(h, at) };
    let totlen = rd(4)?;
    let crc = rd(8)?;
    let endian = if le { "little" } else { "big" };
    ((12..1 << 24).contains(&totlen) && jffs2_crc(&h[..8]) == crc)
        .then(|| (0, format!("JFFS2 file system ({endian}-endian)")))
}

fn cramfs(h: &[u8]) -> Option<(u64, String)> {
    let le = h.first() == Some(&0x45);
    let size = if le { le32(h, 4)? } else { be32(h, 4)? };
    (h.get(16..32)? == b"Compressed ROMFS").then(|| (u64::from(size), "CramFS file system".into()))
}

fn ubi(h: &[u8]) -> Option<(u64, String)> {
    let version = *h.get(4)?;
    let crc = be32(h, 60)?;
    // The erase-counter header's CRC: the kernel's crc32 seeded with all ones, not inverted.
    let ok = version == 1 && !crc32fast::hash(h.get(..60)?) == crc;
    ok.then(|| (0, "UBI flash image".into()))
}

fn ubifs(h: &[u8]) -> Option<(u64, String)> {
    let crc = le32(h, 4)?;
    let len = le32(h, 16)? as usize;
    let node = *h.get(20)?;
    let group = *h.get(21)?;
    // The node's CRC (UBI's: seeded with all ones, not inverted) covers bytes 8..len.
    let body = h.get(8..len)?;
    (len >= 24 && node <= 11 && group <= 2 && !crc32fast::hash(body) == crc)
        .then(|| (0, "UBIFS file system".into()))
}

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

fn erofs(h: &[u8]) -> Option<(u64, String)> {
    let bits = *h.get(1024 + 12)?;
    (9..=16)
        .contains(&bits)
        .then(|| (0, "EROFS file system".into()))
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

fn adler32(b: &[u8]) -> u32 {
    let (mut a, mut s) = (1u32, 0u32);
    for &x in b {
        a = (a + u32::from(x)) % 65521;
        s = (s + a) % 65521;
    }
    (s << 16) | a
}

/// An lzop file header, validated by its own checksum (busybox carries the magic alone).
fn lzop(h: &[u8]) -> Option<(u64, String)> {
    let be16 =
        |at: usize| -> Option<u16> { Some(u16::from_be_bytes([*h.get(at)?, *h.get(at + 1)?])) };
    let version = be16(9)?;
    let mut at = 13;
    if version >= 0x0940 {
        at += 2;
    }
    let method = *h.get(at)?;
    at += 1;
    if version >= 0x0940 {
        at += 1;
    }
    let flags = be32(h, at)?;
    at += 4;
    if flags & 0x800 != 0 {
        at += 4;
    }
    at += 8; // mode, mtime low
    if version >= 0x0940 {
        at += 4;
    }
    let name_len = usize::from(*h.get(at)?);
    at += 1 + name_len;
    let stored = be32(h, at)?;
    let body = h.get(9..at)?;
    let sum = if flags & 0x1000 != 0 {
        crc32fast::hash(body)
    } else {
        adler32(body)
    };
    (matches!(method, 1..=3) && sum == stored).then(|| (0, "lzop stream".into()))
}

fn bzip2(h: &[u8]) -> Option<(u64, String)> {
    let level = *h.get(3)?;
    let block = h.get(4..10)?;
    let ok = (b'1'..=b'9').contains(&level)
        && (block == [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]
            || block == [0x17, 0x72, 0x45, 0x38, 0x50, 0x90]);
    ok.then(|| (0, "bzip2 stream".into()))
}

fn lz4(h: &[u8]) -> Option<(u64, String)> {
    if *h.first()? == 0x02 {
        let first = le32(h, 4)?;
        return (first > 0 && first < 1 << 24).then(|| (0, "lz4 legacy stream".into()));
    }
    // Frame descriptor: FLG, BD, optional content size and dictionary id, then a header
    // checksum (the second byte of its xxh32): the magic alone is an immediate in liblz4.
    let flg = *h.get(4)?;
    let bd = *h.get(5)?;
    let ok = flg >> 6 == 1 && flg & 0x02 == 0 && bd & 0x8f == 0 && (4..=7).contains(&(bd >> 4));
    let end = 6 + if flg & 0x08 != 0 { 8 } else { 0 } + if flg & 0x01 != 0 { 4 } else { 0 };
    let hc = *h.get(end)?;
    (ok && (xxh32(&h[4..end], 0) >> 8) as u8 == hc).then(|| (0, "lz4 frame stream".into()))
}

/// XXH32, for the lz4 frame header checksum.
fn xxh32(data: &[u8], seed: u32) -> u32 {
    const P1: u32 = 2_654_435_761;
    const P2: u32 = 2_246_822_519;
    const P3: u32 = 3_266_489_917;
    const P4: u32 = 668_265_263;
    const P5: u32 = 374_761_393;
    let word = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let round = |acc: u32, x: u32| {
        acc.wrapping_add(x.wrapping_mul(P2))
            .rotate_left(13)
            .wrapping_mul(P1)
    };
    let mut rest = data;
    let mut h = if data.len() >= 16 {
        let mut v = [
            seed.wrapping_add(P1).wrapping_add(P2),
            seed.wrapping_add(P2),
            seed,
            seed.wrapping_sub(P1),
        ];
        while rest.len() >= 16 {
            for (i, lane) in v.iter_mut().enumerate() {
                *lane = round(*lane, word(&rest[4 * i..]));
            }
            rest = &rest[16..];
        }
        v[0].rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18))
    } else {
        seed.wrapping_add(P5)
    };
    h = h.wrapping_add(data.len() as u32);
    while rest.len() >= 4 {
        h = h
            .wrapping_add(word(rest).wrapping_mul(P3))
            .rotate_left(17)
            .wrapping_mul(P4);
        rest = &rest[4..];
    }
    for &b in rest {
        h = h
            .wrapping_add(u32::from(b).wrapping_mul(P5))
            .rotate_left(11)
            .wrapping_mul(P1);
    }
    h ^= h >> 15;
    h = h.wrapping_mul(P2);
    h ^= h >> 13;
    h = h.wrapping_mul(P3);
    h ^ (h >> 16)
}

fn android_sparse(h: &[u8]) -> Option<(u64, String)> {
    let ok = le16(h, 4)? == 1 && le16(h, 8)? == 28 && le16(h, 10)? == 12;
    ok.then(|| (0, "Android sparse image".into()))
}

fn trx(h: &[u8]) -> Option<(u64, String)> {
    let len = le32(h, 4)?;
    let version = le16(h, 14)?;
    (len >= 28 && matches!(version, 1 | 2)).then(|| {
        (
            u64::from(len),
            format!("TRX v{version} firmware, {len} bytes"),
        )
    })
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

    #[test]
    fn xxh32_matches_the_reference_values() {
        assert_eq!(xxh32(b"", 0), 0x02cc_5d05);
        assert_eq!(xxh32(b"abc", 0), 0x32d1_53ff);
        assert_eq!(
            xxh32(b"Nobody inspects the spammish repetition", 0),
            0xe229_3b2f
        );
    }
}
