//! The scan: one multi-pattern search for every anchor, then a cheap check at each anchor and
//! a full parse where the check passes. A hit's bytes are not searched again, so a PKCS#8
//! key does not also report the PKCS#1 key inside it.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};

use super::der;
use super::{dropbear, pem, pkcs, putty, ssh, x509, Budget, Found, KeyInfo, MAX_CERTS, MAX_KEYS};

/// What each anchor announces.
#[derive(Debug, Clone, Copy)]
enum Anchor {
    /// `-----BEGIN `.
    Pem,
    /// `02 01 v`: a DER INTEGER version `v` right after a SEQUENCE header.
    Version(u8),
    /// A Dropbear key type string after its length; `3` zero bytes precede the match.
    Dropbear,
    /// `openssh-key-v1\0`.
    OpenSsh,
    /// `a0 03 02 01 02`: X.509 v3 `[0] version`, 8 bytes or fewer into the certificate.
    CertV3,
    /// `PuTTY-User-Key-File-`.
    Putty,
    /// A PKCS#5 or PKCS#12 password-based encryption OID: maybe an EncryptedPrivateKeyInfo.
    Pbe,
}

const ANCHORS: &[(&[u8], Anchor)] = &[
    (b"-----BEGIN ", Anchor::Pem),
    (b"\x02\x01\x00", Anchor::Version(0)),
    (b"\x02\x01\x01", Anchor::Version(1)),
    (b"\x02\x01\x03", Anchor::Version(3)),
    (b"\x07ssh-rsa", Anchor::Dropbear),
    (b"\x07ssh-dss", Anchor::Dropbear),
    (b"\x0bssh-ed25519", Anchor::Dropbear),
    (b"\x13ecdsa-sha2-nistp", Anchor::Dropbear),
    (ssh::OPENSSH_MAGIC, Anchor::OpenSsh),
    (putty::MAGIC, Anchor::Putty),
    (b"\xa0\x03\x02\x01\x02", Anchor::CertV3),
    // 1.2.840.113549.1.5.* (PBES1, PBES2) and 1.2.840.113549.1.12.1.* (PKCS#12 PBE).
    (b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x05", Anchor::Pbe),
    (b"\x06\x0a\x2a\x86\x48\x86\xf7\x0d\x01\x0c\x01", Anchor::Pbe),
];

fn searcher() -> Option<&'static AhoCorasick> {
    static AC: OnceLock<Option<AhoCorasick>> = OnceLock::new();
    AC.get_or_init(|| {
        // Leftmost semantics let aho-corasick use its SIMD (Teddy) prefilter: several GB/s
        // against 0.3 GB/s with standard semantics. No anchor is a prefix of another, so
        // the matches are the same.
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(ANCHORS.iter().map(|(p, _)| p))
            .ok()
    })
    .as_ref()
}

struct State {
    found: Found,
    budget: Budget,
    /// Bytes before this offset belong to a hit and are not searched again.
    covered: usize,
}

impl State {
    /// True (and the result marked truncated) when no more keys can be reported.
    fn keys_full(&mut self) -> bool {
        let full = self.found.keys.len() >= MAX_KEYS;
        self.found.truncated |= full;
        full
    }

    fn key(&mut self, key: KeyInfo, offset: usize, len: usize, pem: bool) {
        if self.found.keys.len() >= MAX_KEYS {
            self.found.truncated = true;
        } else {
            self.found.keys.push(key.hit(offset, pem));
        }
        self.covered = offset.saturating_add(len);
    }
}

/// Runs every recogniser over `content`.
pub fn scan(content: &[u8]) -> Found {
    let Some(ac) = searcher() else {
        return Found {
            truncated: true,
            ..Found::default()
        };
    };
    let mut st = State {
        found: Found::default(),
        budget: Budget::new(content.len()),
        covered: 0,
    };
    for m in ac.find_iter(content) {
        let at = m.start();
        if at < st.covered {
            continue;
        }
        if st.budget.exhausted {
            break;
        }
        let Some((_, anchor)) = ANCHORS.get(m.pattern().as_usize()) else {
            continue;
        };
        if !matches!(anchor, Anchor::Pem | Anchor::CertV3) && st.keys_full() {
            continue;
        }
        match *anchor {
            Anchor::Pem => pem_block(content, at, &mut st),
            Anchor::Version(v) => der_key(content, at, v, &mut st),
            Anchor::Dropbear => {
                let Some(start) = at
                    .checked_sub(3)
                    .filter(|s| content.get(*s..at) == Some(&[0, 0, 0][..]))
                else {
                    continue;
                };
                if let Some((key, len)) = content
                    .get(start..)
                    .and_then(|d| dropbear::key(d, &mut st.budget))
                {
                    st.key(key, start, len, false);
                }
            }
            Anchor::OpenSsh => {
                if let Some((key, len)) = content
                    .get(at..)
                    .and_then(|d| ssh::openssh(d, &mut st.budget))
                {
                    st.key(key, at, len, false);
                }
            }
            Anchor::Putty => {
                if let Some((key, len)) = content
                    .get(at..)
                    .and_then(|d| putty::key(d, &mut st.budget))
                {
                    st.key(key, at, len, false);
                }
            }
            Anchor::CertV3 => der_cert(content, at, &mut st),
            Anchor::Pbe => der_encrypted(content, at, &mut st),
        }
    }
    st.found.truncated |= st.budget.exhausted;
    st.found
}

fn pem_block(content: &[u8], at: usize, st: &mut State) {
    let Some(block) = pem::block(content, at) else {
        return;
    };
    let len = block.end.saturating_sub(at);
    if pem::is_certificate(block.label) {
        if !st.budget.bytes(block.der.len()) {
            return;
        }
        if let Some((cert, _)) = x509::certificate(&block.der, at) {
            push_cert(st, cert);
        }
        st.covered = block.end;
    } else if st.keys_full() {
        st.covered = block.end;
    } else if let Some(key) = pem::private_key(&block, &mut st.budget) {
        st.key(key, at, len, true);
    }
}

fn push_cert(st: &mut State, cert: super::CertHit) {
    if st.found.certs.len() >= MAX_CERTS {
        st.found.truncated = true;
    } else {
        st.found.certs.push(cert);
    }
}

/// The SEQUENCE whose header ends exactly at `at`, as (start, whole element).
fn sequence_ending_at(content: &[u8], at: usize) -> Option<(usize, &[u8])> {
    (2..=5).find_map(|h| {
        let start = at.checked_sub(h)?;
        let (tag, header, len) = der::header(content.get(start..)?)?;
        if tag != der::SEQUENCE || header != h {
            return None;
        }
        Some((start, content.get(start..at.checked_add(len)?)?))
    })
}

/// A raw DER key whose version INTEGER `v` is at `at`.
fn der_key(content: &[u8], at: usize, version: u8, st: &mut State) {
    let next = content.get(at + 3).copied();
    let plausible = matches!(
        (version, next),
        (0, Some(0x02 | 0x30)) | (1, Some(0x04 | 0x30)) | (3, Some(0x30))
    );
    if !plausible {
        return;
    }
    let Some((start, der)) = sequence_ending_at(content, at) else {
        return;
    };
    let b = &mut st.budget;
    let key = match (version, next) {
        (0, Some(0x02)) => pkcs::pkcs1(der, b).or_else(|| pkcs::dsa(der, b)),
        (0 | 1, Some(0x30)) => pkcs::pkcs8(der, pkcs::Origin::Raw, b),
        (1, _) => pkcs::sec1(der, None),
        (3, _) => pkcs::pkcs12(der),
        _ => None,
    };
    if let Some(key) = key {
        st.key(key, start, der.len(), false);
    }
}

/// A raw DER EncryptedPrivateKeyInfo whose algorithm OID is at `at`:
/// `30 L… 30 L… 06 …`.
fn der_encrypted(content: &[u8], at: usize, st: &mut State) {
    let Some((inner, _)) = sequence_ending_at(content, at) else {
        return;
    };
    let Some((start, der)) = sequence_ending_at(content, inner) else {
        return;
    };
    if let Some(key) = pkcs::encrypted_pkcs8(der) {
        st.key(key, start, der.len(), false);
    }
}

/// A raw DER X.509 v3 certificate whose `[0] version` is at `at`:
/// `30 L… 30 L… a0 03 02 01 02`, with two- to four-byte headers.
fn der_cert(content: &[u8], at: usize, st: &mut State) {
    for outer_h in [4usize, 3] {
        for inner_h in [4usize, 3] {
            let Some(start) = at.checked_sub(outer_h + inner_h) else {
                continue;
            };
            let Some((tag, h, len)) = content.get(start..).and_then(der::header) else {
                continue;
            };
            let Some((itag, ih, _)) = content.get(start + h..).and_then(der::header) else {
                continue;
            };
            if tag != der::SEQUENCE || itag != der::SEQUENCE || h != outer_h || ih != inner_h {
                continue;
            }
            let Some(der) = content.get(start..start.saturating_add(h).saturating_add(len)) else {
                continue;
            };
            if !st.budget.bytes(der.len()) {
                return;
            }
            if let Some((cert, used)) = x509::certificate(der, start) {
                push_cert(st, cert);
                st.covered = start + used;
                return;
            }
        }
    }
}
