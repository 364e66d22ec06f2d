//! PuTTY private key files (`.ppk`, versions 2 and 3): text headers around two base64 blobs,
//! the SSH public key and the private fields (PuTTY's `sshpubk.c`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::ssh::{self, Wire};
use super::{oids, pkcs, Budget, KeyInfo, Kind, MAX_PEM_DER};

/// The text that opens a PuTTY key file.
pub const MAGIC: &[u8] = b"PuTTY-User-Key-File-";
/// Most base64 lines a blob may span (PuTTY writes 64 characters a line).
const MAX_LINES: usize = MAX_PEM_DER / 48;

/// The PuTTY key at the start of `data` and the bytes it spans. Unencrypted: the private
/// fields must agree with the public key (RSA `p·q = n`, DSA `y = gˣ mod p`, Ed25519 seed →
/// public key). Encrypted (`aes256-cbc`): whole cipher blocks.
pub fn key(data: &[u8], budget: &mut Budget) -> Option<(KeyInfo, usize)> {
    let mut lines = Lines {
        rest: data,
        used: 0,
    };
    let first = lines.next()?.strip_prefix(MAGIC)?;
    let (version, kind) = header(first)?;
    if !matches!(version, b"2" | b"3") {
        return None;
    }
    let encryption = value(lines.next()?, b"Encryption")?;
    let encrypted = match encryption {
        b"none" => false,
        b"aes256-cbc" => true,
        _ => return None,
    };
    value(lines.next()?, b"Comment")?;
    let first = lines.next()?;
    let public = blob(first, &mut lines, b"Public-Lines")?;
    // Version 3 puts Key-Derivation and its Argon2 parameters before Private-Lines.
    let mut line = lines.next()?;
    for _ in 0..8 {
        if line.starts_with(b"Private-Lines:") {
            break;
        }
        header(line)?;
        line = lines.next()?;
    }
    let private = blob(line, &mut lines, b"Private-Lines")?;
    let mac = value(lines.next()?, b"Private-MAC")?;
    if !matches!(mac.len(), 40 | 64) || !mac.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let parsed = ssh::public_blob(&public)?;
    if parsed.kind != kind {
        return None;
    }
    let ok = if encrypted {
        !private.is_empty() && private.len().is_multiple_of(16)
    } else {
        private_ok(&private, &public, budget)
    };
    if !ok {
        return None;
    }
    let info = KeyInfo {
        kind: Kind::Putty,
        algorithm: parsed.algorithm,
        bits: parsed.bits,
        encrypted,
        id: parsed.id,
    };
    Some((info, lines.used))
}

/// The private fields of an unencrypted key against its public blob.
fn private_ok(private: &[u8], public: &[u8], budget: &mut Budget) -> bool {
    let mut pubw = Wire::new(public);
    let mut w = Wire::new(private);
    let kind = pubw.string();
    match kind {
        Some(b"ssh-ed25519") => {
            let (pk, seed) = (pubw.string(), w.string());
            match (pk, seed) {
                (Some(pk), Some(seed)) if seed.len() == 32 => {
                    ssh::ed25519_pair_ok(&[seed, pk].concat(), pk, budget)
                }
                _ => false,
            }
        }
        Some(b"ssh-rsa") => {
            let (_e, n) = (pubw.mpint(), pubw.mpint());
            let (_d, p, q) = (w.mpint(), w.mpint(), w.mpint());
            match (n, p, q) {
                (Some(n), Some(p), Some(q)) => ssh::rsa_factors_ok(n, p, q, budget),
                _ => false,
            }
        }
        Some(b"ssh-dss") => {
            let vals = (
                pubw.mpint(),
                pubw.mpint(),
                pubw.mpint(),
                pubw.mpint(),
                w.mpint(),
            );
            match vals {
                (Some(p), Some(q), Some(g), Some(y), Some(x)) => {
                    pkcs::dsa_check(p, q, g, x, Some(y), budget).is_some()
                }
                _ => false,
            }
        }
        Some(k) => {
            let curve = k.strip_prefix(b"ecdsa-sha2-").and_then(oids::curve_by_ssh);
            curve.is_some_and(|c| ssh::scalar_ok(w.mpint(), c))
        }
        None => false,
    }
}

/// `N: value` → (N, value) for the first line (`2: ssh-rsa`).
fn header(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|b| *b == b':')?;
    Some((
        line.get(..colon)?,
        line.get(colon + 1..)?.strip_prefix(b" ")?,
    ))
}

/// The value of a `Name: value` line named `name`.
fn value<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let (n, v) = header(line)?;
    (n == name).then_some(v)
}

/// `Name: N` (the line given) followed by N lines of base64, decoded.
fn blob(first: &[u8], lines: &mut Lines<'_>, name: &[u8]) -> Option<Vec<u8>> {
    let count: usize = std::str::from_utf8(value(first, name)?)
        .ok()?
        .parse()
        .ok()?;
    if count == 0 || count > MAX_LINES {
        return None;
    }
    let mut text = Vec::new();
    for _ in 0..count {
        let line = lines.next()?;
        if line.len() > 128 {
            return None;
        }
        text.extend_from_slice(line);
    }
    STANDARD.decode(&text).ok()
}

/// Lines split at LF with a CR before it dropped; `used` counts the bytes consumed.
struct Lines<'a> {
    rest: &'a [u8],
    used: usize,
}

impl<'a> Lines<'a> {
    fn next(&mut self) -> Option<&'a [u8]> {
        let nl = memchr::memchr(b'\n', self.rest.get(..self.rest.len().min(4096))?);
        let (line, step) = match nl {
            Some(i) => (self.rest.get(..i)?, i + 1),
            None if !self.rest.is_empty() && self.rest.len() <= 4096 => {
                (self.rest, self.rest.len())
            }
            None => return None,
        };
        self.rest = self.rest.get(step..)?;
        self.used += step;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }
}
