//! Coverage accounting: sets of byte ranges, and what a raw payload with no container in it
//! is (a leaf the scanner reads as it is, or unknown data).

use crate::source::Source;

/// A set of half-open byte ranges, kept sorted and merged.
#[derive(Debug, Default, Clone)]
pub struct Ranges(Vec<(u64, u64)>);

impl Ranges {
    /// Adds `[from, to)`.
    pub fn add(&mut self, from: u64, to: u64) {
        if to <= from {
            return;
        }
        let i = self.0.partition_point(|&(_, b)| b < from);
        let mut j = i;
        let (mut lo, mut hi) = (from, to);
        while j < self.0.len() && self.0[j].0 <= hi {
            lo = lo.min(self.0[j].0);
            hi = hi.max(self.0[j].1);
            j += 1;
        }
        self.0.splice(i..j, [(lo, hi)]);
    }

    /// Adds every range of `other`.
    pub fn extend(&mut self, other: &Ranges) {
        for &(a, b) in &other.0 {
            self.add(a, b);
        }
    }

    /// True when `at` lies in some range.
    pub fn contains(&self, at: u64) -> bool {
        let i = self.0.partition_point(|&(_, b)| b <= at);
        self.0.get(i).is_some_and(|&(a, _)| a <= at)
    }

    /// True when no range was added.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ranges of `[0, len)` not in the set.
    pub fn gaps(&self, len: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut at = 0;
        for &(a, b) in &self.0 {
            if a >= len {
                break;
            }
            if a > at {
                out.push((at, a));
            }
            at = at.max(b);
        }
        if at < len {
            out.push((at, len));
        }
        out
    }

    /// The ranges, sorted and disjoint.
    pub fn as_slice(&self) -> &[(u64, u64)] {
        &self.0
    }
}

/// How much of a payload is read to decide whether it is text.
const TEXT_SAMPLE: usize = 64 * 1024;

/// A raw payload identified as a leaf the scanner reads as it is, and how far it extends:
/// bytes past `extent` are accounted like any other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leaf {
    /// What it is, for the manifest.
    pub what: &'static str,
    /// Where the leaf ends (its own headers say so, or the whole payload).
    pub extent: u64,
}

/// What a raw payload is, when it is a leaf: an ELF file (up to the end its headers give), a
/// Linux kernel (an ARM zImage or arm64 Image up to its stated size; any payload with the
/// version banner, but only when it was `decompressed` into memory, where no flash partition
/// can point into it), or text. `None`: unknown data.
pub fn classify_leaf(src: &Source, decompressed: bool) -> Option<Leaf> {
    let head = src.bytes(0, TEXT_SAMPLE).ok()?;
    let len = src.len();
    let leaf = |what, extent: u64| (extent > 0 && extent <= len).then_some(Leaf { what, extent });
    if head.starts_with(b"\x7fELF") {
        return leaf("ELF file", elf_extent(src)?);
    }
    // ARM zImage: magic 0x016f2818 at 0x24, then its start and end addresses.
    let le32 = |at: usize| {
        head.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if head.get(0x24..0x28) == Some(&[0x18, 0x28, 0x6f, 0x01]) {
        let (start, end) = (le32(0x28)?, le32(0x2c)?);
        return leaf(
            "Linux kernel (ARM zImage)",
            u64::from(end.checked_sub(start)?),
        );
    }
    // arm64 Image: "ARM\x64" at 0x38, image size at 0x10 (0 in kernels before 3.17).
    if head.get(0x38..0x3c) == Some(b"ARM\x64") {
        let size = head
            .get(0x10..0x18)
            .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))?;
        if size > 0 {
            return leaf("Linux kernel (arm64 Image)", size);
        }
    }
    // Text, but not hex records (Intel HEX, Motorola S-record): those encode a binary, which
    // the ihex and srec handlers decode; records they could not decode are not plain text.
    if is_text(&head) && !is_hex_records(&head) {
        return leaf("text", len);
    }
    if decompressed && has_linux_banner(src) {
        return leaf("Linux kernel", len);
    }
    None
}

/// The end of an ELF file as its headers give it: the furthest of the program header
/// table, the segments' file contents and the section header table.
pub(crate) fn elf_extent(src: &Source) -> Option<u64> {
    let h = src.bytes(0, 64).ok()?;
    let wide = *h.get(4)? == 2;
    let be = *h.get(5)? == 2;
    let rd = |b: &[u8], at: usize, n: usize| -> Option<u64> {
        let s = b.get(at..at + n)?;
        let mut v = 0u64;
        for i in 0..n {
            let byte = if be { s[i] } else { s[n - 1 - i] };
            v = (v << 8) | u64::from(byte);
        }
        Some(v)
    };
    let (phoff, shoff, phentsize, phnum, shentsize, shnum) = if wide {
        (
            rd(&h, 32, 8)?,
            rd(&h, 40, 8)?,
            rd(&h, 54, 2)?,
            rd(&h, 56, 2)?,
            rd(&h, 58, 2)?,
            rd(&h, 60, 2)?,
        )
    } else {
        (
            rd(&h, 28, 4)?,
            rd(&h, 32, 4)?,
            rd(&h, 42, 2)?,
            rd(&h, 44, 2)?,
            rd(&h, 46, 2)?,
            rd(&h, 48, 2)?,
        )
    };
    let mut end = shoff.checked_add(shentsize.checked_mul(shnum)?)?;
    end = end.max(phoff.checked_add(phentsize.checked_mul(phnum)?)?);
    // At most 65 535 entries of at most 64 bytes are meaningful; read no more than that.
    let table_len = phentsize.min(64) * phnum;
    let table = src.bytes(phoff, table_len as usize).ok()?;
    if phentsize > 64 {
        return None;
    }
    for i in 0..phnum as usize {
        let e = table.get(i * phentsize as usize..)?;
        let (off, filesz) = if wide {
            (rd(e, 8, 8)?, rd(e, 32, 8)?)
        } else {
            (rd(e, 4, 4)?, rd(e, 16, 4)?)
        };
        end = end.max(off.checked_add(filesz)?);
    }
    Some(end)
}

/// Mostly printable, no NUL: what a configuration file, a script or a changelog looks like.
/// UTF-8, or an 8-bit charset (Latin-1 changelogs and man pages) with few high bytes: random
/// or compressed data has a NUL or a control byte in every few hundred.
fn is_text(b: &[u8]) -> bool {
    if b.is_empty() || b.contains(&0) {
        return false;
    }
    // A sample may end inside a character; anything else invalid must be a rare 8-bit byte.
    if let Err(e) = std::str::from_utf8(b) {
        if e.error_len().is_some() {
            let high = b.iter().filter(|&&c| c >= 0x80).count();
            if high * 100 > b.len() * 5 {
                return false;
            }
        }
    }
    let printable = b
        .iter()
        .filter(|&&c| c >= 0x20 || matches!(c, b'\n' | b'\r' | b'\t' | 0x0c))
        .count();
    printable * 100 >= b.len() * 97
}

/// Intel HEX (`:LLAAAATT…`) or Motorola S-record (`S1…`) lines: most non-empty lines are
/// records of hex digits.
fn is_hex_records(b: &[u8]) -> bool {
    let lines: Vec<&[u8]> = b
        .split(|&c| c == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
        .take(64)
        .collect();
    let record = |l: &[u8]| {
        let rest = match l {
            [b':', rest @ ..] => rest,
            [b'S', d, rest @ ..] if d.is_ascii_digit() => rest,
            _ => return false,
        };
        rest.len() >= 8 && rest.iter().all(u8::is_ascii_hexdigit)
    };
    let records = lines.iter().filter(|l| record(l)).count();
    !lines.is_empty() && records * 10 >= lines.len() * 9
}

/// Looks for `Linux version N.` anywhere in the payload, in chunks.
fn has_linux_banner(src: &Source) -> bool {
    const NEEDLE: &[u8] = b"Linux version ";
    let finder = memchr::memmem::Finder::new(NEEDLE);
    let chunk = 4 << 20;
    let mut at = 0u64;
    while at < src.len() {
        let Ok(buf) = src.bytes(at, chunk + 32) else {
            return false;
        };
        for pos in finder.find_iter(&buf) {
            if buf
                .get(pos + NEEDLE.len())
                .is_some_and(|c| c.is_ascii_digit())
            {
                return true;
            }
        }
        if buf.len() <= chunk {
            break;
        }
        at += chunk as u64;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_and_gap() {
        let mut r = Ranges::default();
        r.add(10, 20);
        r.add(30, 40);
        r.add(15, 31);
        r.add(50, 60);
        r.add(5, 5);
        assert_eq!(r.as_slice(), [(10, 40), (50, 60)]);
        assert!(r.contains(10) && r.contains(39) && !r.contains(40) && !r.contains(9));
        assert_eq!(r.gaps(70), [(0, 10), (40, 50), (60, 70)]);
        assert_eq!(r.gaps(45), [(0, 10), (40, 45)]);
        r.add(0, 100);
        assert_eq!(r.as_slice(), [(0, 100)]);
        assert!(r.gaps(100).is_empty());
    }

    #[test]
    fn hex_records_are_not_text_leaves() {
        assert!(is_hex_records(
            b":10010000214601360121470136007EFE09D2190140\r\n:00000001FF\r\n"
        ));
        assert!(is_hex_records(b"S00F000068656C6C6F202020202000003C\nS11F00007C0802A6900100049421FFF07C6C1B787C8C23783C6000003863000026\n"));
        assert!(!is_hex_records(b"lan_ipaddr=192.168.1.1\nwifi=1\n"));
        let src = Source::from_bytes(b":10010000214601360121470136007EFE09D2190140\n:00000001FF\n");
        assert_eq!(classify_leaf(&src, true), None);
    }

    #[test]
    fn text_needs_printable_bytes_and_no_nul() {
        assert!(is_text(b"lan_ipaddr=192.168.1.1\nwifi=1\n"));
        assert!(!is_text(b"abc\0def"));
        assert!(!is_text(&[0x80u8; 100]));
        // A Latin-1 changelog (Debian's vsftpd): a few 8-bit bytes in plain text.
        let mut latin1 = b"  * Fixed by J".to_vec();
        latin1.push(0xf8);
        latin1.extend_from_slice(b"rgen in the ftpd listener.\n".repeat(4).as_slice());
        assert!(is_text(&latin1));
        // Random bytes never pass: control bytes and too many high bytes.
        let noise: Vec<u8> = (1..2000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8 | 1)
            .collect();
        assert!(!is_text(&noise));
    }
}

#[cfg(test)]
mod leaf_tests {
    use super::*;

    #[test]
    fn a_kernel_banner_makes_a_leaf_only_of_decompressed_memory() {
        let mut d = b"\x00\x01Linux version 4.14.241 (b@h)\x00".to_vec();
        d.extend((0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
        let src = Source::from_bytes(&d);
        assert_eq!(
            classify_leaf(&src, true).map(|l| l.what),
            Some("Linux kernel")
        );
        assert_eq!(classify_leaf(&src, false), None);
    }

    #[test]
    fn zimage_and_elf_leaves_end_where_their_headers_say() {
        let mut z = vec![0u8; 0x40];
        z[0x24..0x28].copy_from_slice(&[0x18, 0x28, 0x6f, 0x01]);
        z[0x28..0x2c].copy_from_slice(&0u32.to_le_bytes());
        z[0x2c..0x30].copy_from_slice(&0x30u32.to_le_bytes());
        z.extend([0xaa; 0x20]);
        let l = classify_leaf(&Source::from_bytes(&z), false).unwrap();
        assert_eq!((l.what, l.extent), ("Linux kernel (ARM zImage)", 0x30));
        // A 32-bit little-endian ELF: one segment of 0x100 bytes at 0x80, no sections.
        let mut e = vec![0u8; 0x200];
        e[..6].copy_from_slice(b"\x7fELF\x01\x01");
        e[28..32].copy_from_slice(&52u32.to_le_bytes()); // e_phoff
        e[42..44].copy_from_slice(&32u16.to_le_bytes()); // e_phentsize
        e[44..46].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        e[52 + 4..52 + 8].copy_from_slice(&0x80u32.to_le_bytes()); // p_offset
        e[52 + 16..52 + 20].copy_from_slice(&0x100u32.to_le_bytes()); // p_filesz
        let l = classify_leaf(&Source::from_bytes(&e), false).unwrap();
        assert_eq!((l.what, l.extent), ("ELF file", 0x180));
    }
}
