//! PEM blocks (RFC 7468, with RFC 1421 headers) as they appear in files, scripts, source code
//! and binaries: `-----BEGIN L-----`, optional `Name: value` headers, base64, `-----END L-----`.
//!
//! Line breaks may be LF, CRLF, or the two characters `\n` / `\r` of a string literal; quotes,
//! backslashes, commas and semicolons at line ends (C, JSON, shell) are ignored. Anything
//! else that is not base64 inside the body rejects the block.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use memchr::memmem;

use super::{dropbear, pkcs, ssh, Budget, KeyInfo, Kind, MAX_PEM_DER};

const BEGIN: &[u8] = b"-----BEGIN ";
const DASHES: &[u8] = b"-----";
/// The longest label accepted (`ENCRYPTED PRIVATE KEY` is 21).
const MAX_LABEL: usize = 40;
/// The most base64 text a body may hold: MAX_PEM_DER decoded, plus line breaks and quoting.
const MAX_BODY_TEXT: usize = MAX_PEM_DER / 3 * 4 * 2;

const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One decoded PEM block.
#[derive(Debug)]
pub struct Block<'a> {
    /// The label between `BEGIN ` and the dashes.
    pub label: &'a [u8],
    /// The decoded body.
    pub der: Vec<u8>,
    /// Offset just past `-----END L-----`.
    pub end: usize,
    /// `Proc-Type: 4,ENCRYPTED` was present.
    pub proc_encrypted: bool,
    /// The `DEK-Info:` value, trimmed.
    pub dek_info: Option<&'a [u8]>,
}

/// The block whose `-----BEGIN ` is at `at`, or `None` when it is not a complete, decodable
/// block with a matching END line.
pub fn block(content: &[u8], at: usize) -> Option<Block<'_>> {
    let after = at.checked_add(BEGIN.len())?;
    let head = content.get(after..)?;
    let label_len = memmem::find(
        head.get(..head.len().min(MAX_LABEL + DASHES.len()))?,
        DASHES,
    )?;
    let label = head.get(..label_len)?;
    if label.is_empty()
        || !label
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b' ')
    {
        return None;
    }
    let body_start = after + label_len + DASHES.len();
    let rest = content.get(body_start..)?;
    let window = rest.get(..rest.len().min(MAX_BODY_TEXT))?;
    let body_len = memmem::find(window, DASHES)?;
    let end_line = rest.get(body_len..)?;
    let end_len = b"-----END ".len() + label.len() + DASHES.len();
    let end_ok = end_line
        .strip_prefix(b"-----END ".as_slice())
        .and_then(|r| r.strip_prefix(label))
        .is_some_and(|r| r.starts_with(DASHES));
    if !end_ok {
        return None;
    }
    let Body {
        text,
        encrypted: proc_encrypted,
        dek: dek_info,
    } = body(rest.get(..body_len)?)?;
    if text.is_empty() {
        return None;
    }
    let der = ENGINE.decode(&text).ok()?;
    if der.is_empty() || der.len() > MAX_PEM_DER {
        return None;
    }
    Some(Block {
        label,
        der,
        end: body_start + body_len + end_len,
        proc_encrypted,
        dek_info,
    })
}

/// A body's base64 text and RFC 1421 headers.
struct Body<'a> {
    text: Vec<u8>,
    encrypted: bool,
    dek: Option<&'a [u8]>,
}

/// Splits the body into lines, reads headers, and gathers the base64 characters.
fn body(raw: &[u8]) -> Option<Body<'_>> {
    let mut text = Vec::with_capacity(raw.len());
    let (mut encrypted, mut dek) = (false, None);
    for line in lines(raw) {
        let line = trim(line);
        if line.is_empty() {
            continue;
        }
        if line.contains(&b':') {
            if !text.is_empty() {
                return None;
            }
            let (name, value) = line.split_at(line.iter().position(|b| *b == b':')?);
            let value = trim(value.get(1..)?);
            match name {
                b"Proc-Type" => encrypted = value.ends_with(b"ENCRYPTED"),
                b"DEK-Info" => dek = Some(value),
                _ => {}
            }
            continue;
        }
        if !line
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        {
            return None;
        }
        text.extend_from_slice(line);
    }
    Some(Body {
        text,
        encrypted,
        dek,
    })
}

/// Lines split at LF, CR, and the two-character escapes `\n` and `\r`.
fn lines(raw: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = raw;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut i = 0;
        while let Some(b) = rest.get(i) {
            let escape = *b == b'\\' && matches!(rest.get(i + 1), Some(b'n' | b'r'));
            if *b == b'\n' || *b == b'\r' || escape {
                let line = rest.get(..i);
                rest = rest
                    .get(i + if escape { 2 } else { 1 }..)
                    .unwrap_or_default();
                return line;
            }
            i += 1;
        }
        let line = rest;
        rest = &[];
        Some(line)
    })
}

fn trim(line: &[u8]) -> &[u8] {
    let junk = |b: &u8| matches!(b, b' ' | b'\t' | b'"' | b'\'' | b'\\' | b',' | b';');
    let start = line.iter().position(|b| !junk(b)).unwrap_or(line.len());
    let end = line.iter().rposition(|b| !junk(b)).map_or(start, |e| e + 1);
    line.get(start..end).unwrap_or_default()
}

/// What kind of object a label names.
pub fn is_certificate(label: &[u8]) -> bool {
    matches!(
        label,
        b"CERTIFICATE" | b"X509 CERTIFICATE" | b"TRUSTED CERTIFICATE"
    )
}

/// The private key in a block, validated against its label.
pub fn private_key(block: &Block<'_>, budget: &mut Budget) -> Option<KeyInfo> {
    let der = block.der.as_slice();
    if block.proc_encrypted {
        return legacy_encrypted(block);
    }
    match block.label {
        b"RSA PRIVATE KEY" => pkcs::pkcs1(der, budget),
        b"EC PRIVATE KEY" => pkcs::sec1(der, None),
        b"DSA PRIVATE KEY" => pkcs::dsa(der, budget),
        b"PRIVATE KEY" => pkcs::pkcs8(der, pkcs::Origin::Pem, budget),
        b"ENCRYPTED PRIVATE KEY" => pkcs::encrypted_pkcs8(der),
        b"OPENSSH PRIVATE KEY" => ssh::openssh(der, budget).map(|(k, _)| k),
        label if label.ends_with(b"PRIVATE KEY") => pkcs::pkcs8(der, pkcs::Origin::Pem, budget)
            .or_else(|| pkcs::pkcs1(der, budget))
            .or_else(|| pkcs::sec1(der, None))
            .or_else(|| pkcs::dsa(der, budget))
            .or_else(|| pkcs::encrypted_pkcs8(der))
            .or_else(|| ssh::openssh(der, budget).map(|(k, _)| k))
            .or_else(|| dropbear::key(der, budget).map(|(k, _)| k)),
        _ => None,
    }
}

/// RFC 1421 encryption: the body is ciphertext. Plausible when DEK-Info names a cipher and an
/// IV in hex, and the ciphertext is whole blocks of at least 48 bytes.
fn legacy_encrypted(block: &Block<'_>) -> Option<KeyInfo> {
    let dek = block.dek_info?;
    let comma = dek.iter().position(|b| *b == b',')?;
    let (cipher, iv) = (dek.get(..comma)?, trim(dek.get(comma + 1..)?));
    let iv_ok = matches!(iv.len(), 16 | 32) && iv.iter().all(u8::is_ascii_hexdigit);
    let len = block.der.len();
    if cipher.is_empty() || !iv_ok || len < 48 || !len.is_multiple_of(8) {
        return None;
    }
    let (kind, algorithm) = match block.label {
        b"RSA PRIVATE KEY" => (Kind::Pkcs1, "RSA"),
        b"EC PRIVATE KEY" => (Kind::Sec1, "EC"),
        b"DSA PRIVATE KEY" => (Kind::Dsa, "DSA"),
        l if l.ends_with(b"PRIVATE KEY") => (Kind::Pkcs1, super::ENCRYPTED_ALGORITHM),
        _ => return None,
    };
    Some(KeyInfo {
        kind,
        algorithm: algorithm.into(),
        bits: None,
        encrypted: true,
        id: super::key_id("der", &block.der),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_on_real_and_escaped_breaks() {
        let got: Vec<&[u8]> = lines(b"ab\r\ncd\\nef\\r\\ngh").collect();
        assert_eq!(got, [&b"ab"[..], b"", b"cd", b"ef", b"", b"gh"]);
    }

    #[test]
    fn trim_drops_quoting_only() {
        assert_eq!(trim(b"  \"QUJD+/==\\n\",  "), b"QUJD+/==\\n");
        assert_eq!(trim(b"\"\""), b"");
    }

    #[test]
    fn header_only_block_and_format_string_are_not_blocks() {
        let text = b"-----BEGIN OPENSSH PRIVATE KEY-----\n\0-----END OPENSSH PRIVATE KEY-----\n";
        assert!(block(text, 0).is_none());
        let fmt = b"-----BEGIN %s PRIVATE KEY-----\nQUJD\n-----END %s PRIVATE KEY-----\n";
        assert!(block(fmt, 0).is_none());
    }

    #[test]
    fn mismatched_end_label_is_refused() {
        let text = b"-----BEGIN PRIVATE KEY-----\nQUJD\n-----END RSA PRIVATE KEY-----\n";
        assert!(block(text, 0).is_none());
        let good = b"-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n";
        let b = block(good, 0).unwrap();
        assert_eq!((b.der.as_slice(), b.end), (&b"ABC"[..], good.len() - 1));
    }
}
