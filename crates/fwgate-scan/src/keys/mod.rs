//! Validated private-key and certificate detection in arbitrary bytes.
//!
//! A header string is not a key: `ssh-keygen` carries `-----BEGIN OPENSSH PRIVATE KEY-----`
//! as a format string. A [`KeyHit`] is reported only when a real key body is there and parses
//! as a key of its type, with its numbers consistent where that can be checked cheaply
//! (RSA `p·q = n`, DSA `y = gˣ mod p`, Ed25519 public key derived from the seed, OpenSSH check
//! integers). Encrypted keys (legacy PEM, encrypted PKCS#8, OpenSSH with a cipher, PKCS#12)
//! are checked for structure only.
//!
//! What is recognised: PEM blocks (PKCS#1, SEC1, DSA, PKCS#8, encrypted PKCS#8, OpenSSH,
//! certificates; CRLF, indentation and C/JSON string literals with `\n` tolerated), raw DER
//! keys anywhere in a file (PKCS#1, SEC1, PKCS#8, encrypted PKCS#8, DSA, PKCS#12), raw
//! `openssh-key-v1` blobs, PuTTY `.ppk` files (v2, v3),
//! Dropbear host keys, and DER X.509 v3 certificates.
//!
//! Cost: one pass of a multi-pattern SIMD search (Teddy, in `aho-corasick`) over the file for
//! all anchors; each anchor is rejected in a few byte comparisons unless a structure follows.
//! Deep parses are charged to a per-file budget, hits are capped ([`MAX_KEYS`],
//! [`MAX_CERTS`]) and a PEM body decodes to at most [`MAX_PEM_DER`] bytes. When a cap or the
//! budget stops the search, [`Found::truncated`] says so.

mod der;
mod dropbear;
mod oids;
mod pem;
mod pkcs;
mod putty;
mod raw;
mod ssh;
mod x509;

use sha2::{Digest, Sha256};

/// At most this many private keys are reported per file.
pub const MAX_KEYS: usize = 64;
/// At most this many certificates are reported per file (a CA bundle holds about 150).
pub const MAX_CERTS: usize = 256;
/// A PEM body decoding to more than this many bytes is not examined.
pub const MAX_PEM_DER: usize = 64 * 1024;

/// The algorithm reported for a key whose type is hidden by encryption.
pub const ENCRYPTED_ALGORITHM: &str = "unknown (encrypted)";

/// A private key found in a file. It carries no key material, only a digest of the public part.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyHit {
    /// Byte offset of the key (its PEM `-----BEGIN`, DER SEQUENCE or Dropbear length prefix).
    pub offset: usize,
    /// The container: `PEM PKCS#1`, `PEM PKCS#8`, `PEM SEC1`, `PEM DSA`,
    /// `PEM encrypted PKCS#8`, `OpenSSH`, `DER PKCS#1`, `DER PKCS#8`, `DER SEC1`, `DER DSA`,
    /// `DER encrypted PKCS#8`, `Dropbear`, `PKCS#12`, `PuTTY`.
    pub format: &'static str,
    /// `RSA`, `DSA`, `EC P-256`, `Ed25519`, `X25519`, … or [`ENCRYPTED_ALGORITHM`].
    pub algorithm: String,
    /// RSA modulus or DSA prime size, curve size; `None` when encryption hides it.
    pub bits: Option<u32>,
    /// Legacy PEM `Proc-Type: 4,ENCRYPTED`, encrypted PKCS#8, OpenSSH with a cipher, PKCS#12.
    pub encrypted: bool,
    /// A stable identifier: SHA-256 over a tag and the public part (RSA modulus, DSA `y`, EC
    /// point, Ed25519 public key), so one key gets one id in every format; over the whole
    /// structure when no public part is at hand (encrypted, X25519, EC without its point).
    pub id: [u8; 32],
}

impl std::fmt::Debug for KeyHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyHit")
            .field("offset", &self.offset)
            .field("format", &self.format)
            .field("algorithm", &self.algorithm)
            .field("bits", &self.bits)
            .field("encrypted", &self.encrypted)
            .field("id", &hex::encode(&self.id[..8]))
            .finish()
    }
}

/// An X.509 certificate found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertHit {
    /// Byte offset of the certificate (its PEM `-----BEGIN` or DER SEQUENCE).
    pub offset: usize,
    /// The subject name, RFC 4514 style (`CN=…, O=…`), at most 512 bytes.
    pub subject: String,
    /// notAfter, seconds since the Unix epoch.
    pub not_after_unix: i64,
    /// basicConstraints cA is true.
    pub is_ca: bool,
    /// The subject key: `RSA 2048`, `EC P-256`, `Ed25519`, `DSA 1024`, …
    pub key: String,
    /// Weaknesses: `RSA key of 1024 bits`, `DSA key`, `EC key of 192 bits`,
    /// `sha1WithRSAEncryption signature`, …
    pub weak: Vec<String>,
    /// SHA-256 of the certificate's DER (its usual fingerprint).
    pub id: [u8; 32],
}

/// Everything found in one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// Validated private keys, in file order.
    pub keys: Vec<KeyHit>,
    /// Parsed certificates, in file order.
    pub certs: Vec<CertHit>,
    /// True when a cap or the work budget stopped the search before the end of the file.
    pub truncated: bool,
}

/// Every validated private key in `content` (at most [`MAX_KEYS`]).
pub fn private_keys(content: &[u8]) -> Vec<KeyHit> {
    scan(content).keys
}

/// Every certificate in `content`, PEM or DER (at most [`MAX_CERTS`]).
pub fn certificates(content: &[u8]) -> Vec<CertHit> {
    scan(content).certs
}

/// Keys and certificates in `content`, in one pass.
pub fn scan(content: &[u8]) -> Found {
    raw::scan(content)
}

/// The container a key was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pkcs1,
    Sec1,
    Dsa,
    Pkcs8,
    EncryptedPkcs8,
    Pkcs12,
    OpenSsh,
    Dropbear,
    Putty,
}

impl Kind {
    fn format(self, pem: bool) -> &'static str {
        match (self, pem) {
            (Kind::Pkcs1, true) => "PEM PKCS#1",
            (Kind::Pkcs1, false) => "DER PKCS#1",
            (Kind::Sec1, true) => "PEM SEC1",
            (Kind::Sec1, false) => "DER SEC1",
            (Kind::Dsa, true) => "PEM DSA",
            (Kind::Dsa, false) => "DER DSA",
            (Kind::Pkcs8, true) => "PEM PKCS#8",
            (Kind::Pkcs8, false) => "DER PKCS#8",
            (Kind::EncryptedPkcs8, true) => "PEM encrypted PKCS#8",
            (Kind::EncryptedPkcs8, false) => "DER encrypted PKCS#8",
            (Kind::Pkcs12, _) => "PKCS#12",
            (Kind::OpenSsh, _) => "OpenSSH",
            (Kind::Dropbear, _) => "Dropbear",
            (Kind::Putty, _) => "PuTTY",
        }
    }
}

/// A key as a parser sees it, before its offset and container are known.
#[derive(Debug, Clone)]
struct KeyInfo {
    kind: Kind,
    algorithm: String,
    bits: Option<u32>,
    encrypted: bool,
    id: [u8; 32],
}

impl KeyInfo {
    fn hit(self, offset: usize, pem: bool) -> KeyHit {
        KeyHit {
            offset,
            format: self.kind.format(pem),
            algorithm: self.algorithm,
            bits: self.bits,
            encrypted: self.encrypted,
            id: self.id,
        }
    }
}

/// SHA-256 over `fwgate-key-id-v1`, a family tag and the public material.
fn key_id(family: &str, material: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"fwgate-key-id-v1\0");
    h.update(family.as_bytes());
    h.update([0]);
    h.update(material);
    h.finalize().into()
}

/// Work allowed for one file beyond the anchor search: bignum checks and bytes given to deep
/// parsers (certificates). Hostile input can hold many near-miss candidates; this keeps the
/// cost linear with a small constant.
#[derive(Debug)]
struct Budget {
    bignum: u32,
    bytes: usize,
    exhausted: bool,
}

impl Budget {
    fn new(content_len: usize) -> Self {
        Budget {
            bignum: 512,
            bytes: content_len.saturating_mul(2).saturating_add(1 << 20),
            exhausted: false,
        }
    }

    /// Takes one bignum check (RSA product, DSA exponentiation, Ed25519 derivation).
    fn bignum(&mut self) -> bool {
        if self.bignum == 0 {
            self.exhausted = true;
            return false;
        }
        self.bignum -= 1;
        true
    }

    /// Takes `n` bytes of deep parsing.
    fn bytes(&mut self, n: usize) -> bool {
        match self.bytes.checked_sub(n) {
            Some(left) => {
                self.bytes = left;
                true
            }
            None => {
                self.exhausted = true;
                false
            }
        }
    }
}

#[cfg(test)]
mod tests;
