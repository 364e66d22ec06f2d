//! A strict DER reader over borrowed bytes: definite, minimal lengths and single-byte tags.
//!
//! Hand-written because the detector needs what the RustCrypto types do not give together:
//! the exact byte extent of a structure found at an arbitrary offset inside a binary, and one
//! walker for PKCS#1, SEC1, DSA, PKCS#8 (any algorithm, any encryption scheme, including
//! PKCS#12 PBE that `pkcs8`/`pkcs5` reject) and PFX. Every read is bounds-checked; nothing
//! allocates.

/// INTEGER.
pub const INTEGER: u8 = 0x02;
/// BIT STRING.
pub const BIT_STRING: u8 = 0x03;
/// OCTET STRING.
pub const OCTET_STRING: u8 = 0x04;
/// OBJECT IDENTIFIER.
pub const OID: u8 = 0x06;
/// SEQUENCE (constructed).
pub const SEQUENCE: u8 = 0x30;
/// `[0]` constructed, context-specific.
pub const CTX0: u8 = 0xa0;
/// `[1]` constructed, context-specific.
pub const CTX1: u8 = 0xa1;
/// `[1]` primitive, context-specific (PKCS#8 v2 public key).
pub const CTX1_PRIM: u8 = 0x81;

/// One element: its tag, its contents and its whole encoded length.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    /// The identifier octet.
    pub tag: u8,
    /// The contents octets.
    pub value: &'a [u8],
    /// Header plus contents, in bytes.
    pub len: usize,
}

/// Reads the element at the start of `input`, or `None` when it is not strict DER or is cut off.
pub fn read(input: &[u8]) -> Option<Tlv<'_>> {
    let (tag, header, len) = header(input)?;
    let end = header.checked_add(len)?;
    Some(Tlv {
        tag,
        value: input.get(header..end)?,
        len: end,
    })
}

/// Decodes an element header: (tag, header length, contents length). High tag numbers
/// (`0x1f`), indefinite lengths and non-minimal lengths are refused; lengths over 16 MiB too.
pub fn header(input: &[u8]) -> Option<(u8, usize, usize)> {
    let tag = *input.first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let first = *input.get(1)?;
    if first < 0x80 {
        return Some((tag, 2, usize::from(first)));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 3 {
        return None;
    }
    let bytes = input.get(2..2 + n)?;
    if bytes.first() == Some(&0) {
        return None;
    }
    let len = bytes
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    if len < 0x80 {
        return None;
    }
    Some((tag, 2 + n, len))
}

/// The elements of a constructed value, read one after another.
#[derive(Debug, Clone, Copy)]
pub struct Seq<'a> {
    rest: &'a [u8],
}

impl<'a> Seq<'a> {
    /// A reader over the contents of a constructed element.
    pub fn new(contents: &'a [u8]) -> Self {
        Seq { rest: contents }
    }

    /// The contents of `input` when it is exactly one element with `tag`.
    pub fn whole(input: &'a [u8], tag: u8) -> Option<Self> {
        let tlv = read(input)?;
        (tlv.tag == tag && tlv.len == input.len()).then_some(Seq::new(tlv.value))
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// True when every element has been read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next element, whatever its tag.
    pub fn next_tlv(&mut self) -> Option<Tlv<'a>> {
        let tlv = read(self.rest)?;
        self.rest = self.rest.get(tlv.len..)?;
        Some(tlv)
    }

    /// The tag of the next element, without reading it.
    pub fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The contents of the next element, which must carry `tag`.
    pub fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        if self.peek_tag()? != tag {
            return None;
        }
        Some(self.next_tlv()?.value)
    }

    /// The contents of the next element when it carries `tag`; nothing is read otherwise.
    pub fn optional(&mut self, tag: u8) -> Option<&'a [u8]> {
        if self.peek_tag() == Some(tag) {
            self.next_tlv().map(|t| t.value)
        } else {
            None
        }
    }

    /// A positive INTEGER, as its magnitude without leading zero bytes (zero gives `[]`).
    pub fn uint(&mut self) -> Option<&'a [u8]> {
        uint(self.expect(INTEGER)?)
    }

    /// A small non-negative INTEGER (version numbers).
    pub fn small_uint(&mut self) -> Option<u64> {
        let mag = self.uint()?;
        if mag.len() > 8 {
            return None;
        }
        Some(mag.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }
}

/// The magnitude of a DER INTEGER's contents, refusing negative and non-minimal encodings.
pub fn uint(contents: &[u8]) -> Option<&[u8]> {
    match contents {
        [] => None,
        [b, ..] if b & 0x80 != 0 => None,
        [0] => Some(&[]),
        [0, next, ..] if next & 0x80 == 0 => None,
        [0, rest @ ..] => Some(rest),
        all => Some(all),
    }
}

/// The number of significant bits of a big-endian magnitude without leading zero bytes.
pub fn bits(magnitude: &[u8]) -> u32 {
    let Some(first) = magnitude.first() else {
        return 0;
    };
    let len = u32::try_from(magnitude.len()).unwrap_or(u32::MAX / 8);
    len.saturating_sub(1).saturating_mul(8) + (8 - first.leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let short = [0x04, 0x02, 0xaa, 0xbb, 0xff];
        let t = read(&short).unwrap();
        assert_eq!((t.tag, t.value, t.len), (4, &[0xaa, 0xbb][..], 4));
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([7u8; 0x80]);
        assert_eq!(read(&long).unwrap().value.len(), 0x80);
    }

    #[test]
    fn refuses_indefinite_non_minimal_and_truncated() {
        assert!(read(&[0x30, 0x80, 0, 0]).is_none());
        assert!(read(&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5]).is_none());
        assert!(read(&[0x04, 0x82, 0x00, 0x90]).is_none());
        assert!(read(&[0x04, 0x05, 1, 2]).is_none());
        assert!(read(&[0x1f, 0x01, 0x00]).is_none());
        assert!(read(&[]).is_none());
    }

    #[test]
    fn integers_must_be_positive_and_minimal() {
        assert_eq!(uint(&[0x00, 0x80]), Some(&[0x80][..]));
        assert_eq!(uint(&[0x00]), Some(&[][..]));
        assert_eq!(uint(&[0x00, 0x7f]), None);
        assert_eq!(uint(&[0x80]), None);
        assert_eq!(uint(&[]), None);
        assert_eq!(bits(&[0x01, 0x00]), 9);
        assert_eq!(bits(&[0x80; 128]), 1024);
        assert_eq!(bits(&[]), 0);
    }
}
