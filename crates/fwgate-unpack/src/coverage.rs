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

/// What a raw payload in which no container was found is, when it is a leaf the scanner reads
/// as it is: an ELF file, a Linux kernel (its version banner, or an ARM zImage header), or
/// text. `None`: unknown data.
pub fn classify_leaf(src: &Source) -> Option<&'static str> {
    let head = src.bytes(0, TEXT_SAMPLE).ok()?;
    if head.starts_with(b"\x7fELF") {
        return Some("ELF file");
    }
    // ARM zImage: magic 0x016f2818 at 0x24 (either byte order).
    if let Some(m) = head.get(0x24..0x28) {
        if m == [0x18, 0x28, 0x6f, 0x01] || m == [0x01, 0x6f, 0x28, 0x18] {
            return Some("Linux kernel (ARM zImage)");
        }
    }
    if is_text(&head) {
        return Some("text");
    }
    if has_linux_banner(src) {
        return Some("Linux kernel");
    }
    None
}

/// UTF-8, mostly printable, no NUL: what a configuration file or script looks like.
fn is_text(b: &[u8]) -> bool {
    if b.is_empty() || b.contains(&0) {
        return false;
    }
    // A sample may end inside a character; anything else invalid is not text.
    if let Err(e) = std::str::from_utf8(b) {
        if e.error_len().is_some() {
            return false;
        }
    }
    let printable = b
        .iter()
        .filter(|&&c| c >= 0x20 || matches!(c, b'\n' | b'\r' | b'\t' | 0x0c))
        .count();
    printable * 100 >= b.len() * 97
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
    fn text_needs_printable_bytes_and_no_nul() {
        assert!(is_text(b"lan_ipaddr=192.168.1.1\nwifi=1\n"));
        assert!(!is_text(b"abc\0def"));
        assert!(!is_text(&[0x80u8; 100]));
    }
}
