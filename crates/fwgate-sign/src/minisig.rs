//! minisign signatures: prehashed (`ED`, BLAKE2b-512 of the file) with a signed trusted
//! comment, as `minisign -S` writes and `minisign -V` checks.

use std::io::Read;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use blake2::{Blake2b512, Digest};
use ed25519_dalek::{Signature, Signer};
use sha2::Sha256;

use crate::error::{format, Result, SignError};
use crate::key::{KeyId, PublicKey, SecretKey, SIG_ALG};

const SIG_ALG_HASHED: &[u8; 2] = b"ED";

/// Digests of a file computed in one pass: BLAKE2b-512 (what minisign signs) and SHA-256
/// (what the trusted comment and the evidence name).
#[derive(Debug, Clone)]
pub struct FileDigests {
    /// BLAKE2b-512.
    pub blake2b: [u8; 64],
    /// SHA-256, lowercase hex.
    pub sha256: String,
    /// Bytes read.
    pub size: u64,
}

impl FileDigests {
    /// Reads `src` to the end.
    pub fn compute(src: &mut dyn Read) -> std::io::Result<FileDigests> {
        let mut b = Blake2b512::new();
        let mut s = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut size = 0u64;
        loop {
            let n = match src.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            b.update(&buf[..n]);
            s.update(&buf[..n]);
            size += n as u64;
        }
        Ok(FileDigests {
            blake2b: b.finalize().into(),
            sha256: hex::encode(s.finalize()),
            size,
        })
    }
}

/// Signs a file whose digests are `digests`, with `trusted_comment` (one line, signed too).
pub fn sign(key: &SecretKey, digests: &FileDigests, trusted_comment: &str) -> Result<String> {
    if trusted_comment.contains(['\n', '\r']) {
        return Err(format("trusted comment", "must be one line"));
    }
    let sig = key.key.sign(&digests.blake2b).to_bytes();
    let mut global_msg = sig.to_vec();
    global_msg.extend_from_slice(trusted_comment.as_bytes());
    let global = key.key.sign(&global_msg).to_bytes();
    let mut line = Vec::with_capacity(74);
    line.extend_from_slice(SIG_ALG_HASHED);
    line.extend_from_slice(&key.id.0);
    line.extend_from_slice(&sig);
    Ok(format!(
        "untrusted comment: signature from fwgate secret key {}\n{}\ntrusted comment: {}\n{}\n",
        key.id,
        B64.encode(line),
        trusted_comment,
        B64.encode(global)
    ))
}

/// What a valid signature vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The signed trusted comment.
    pub trusted_comment: String,
    /// The signing key's id.
    pub key_id: String,
}

fn decode_sig(b64: &str, what: &'static str) -> Result<Vec<u8>> {
    B64.decode(b64.trim())
        .map_err(|e| format(what, e.to_string()))
}

/// Verifies a `.minisig` text over a file with the given digests (or, for legacy `Ed`
/// signatures, over `legacy_content` when given).
pub fn verify(
    key: &PublicKey,
    digests: &FileDigests,
    sig_text: &str,
    legacy_content: Option<&[u8]>,
) -> Result<Verified> {
    let mut lines = sig_text.lines();
    let (Some(untrusted), Some(sig_line), Some(tc_line), Some(global_line)) =
        (lines.next(), lines.next(), lines.next(), lines.next())
    else {
        return Err(format("signature", "expected 4 lines"));
    };
    if !untrusted.starts_with("untrusted comment:") {
        return Err(format(
            "signature",
            "first line is not 'untrusted comment: ...'",
        ));
    }
    let raw = decode_sig(sig_line, "signature")?;
    if raw.len() != 74 {
        return Err(format(
            "signature",
            format!("{} bytes, expected 74", raw.len()),
        ));
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&raw[2..10]);
    if id != key.id.0 {
        return Err(SignError::WrongKey {
            sig: KeyId(id).to_string(),
            key: key.id.to_string(),
        });
    }
    let sig =
        Signature::from_slice(&raw[10..74]).map_err(|e| format("signature", e.to_string()))?;
    let message: &[u8] = match &raw[..2] {
        a if a == SIG_ALG_HASHED => &digests.blake2b,
        a if a == SIG_ALG => legacy_content.ok_or_else(|| {
            format(
                "signature",
                "legacy (non-prehashed) signature; the file content is needed",
            )
        })?,
        _ => return Err(format("signature", "unknown signature algorithm")),
    };
    key.key
        .verify_strict(message, &sig)
        .map_err(|_| SignError::BadSignature("the file does not match the signature".into()))?;
    let tc = tc_line
        .strip_prefix("trusted comment: ")
        .ok_or_else(|| format("signature", "third line is not 'trusted comment: ...'"))?;
    let global = Signature::from_slice(&decode_sig(global_line, "signature")?)
        .map_err(|e| format("signature", e.to_string()))?;
    let mut global_msg = raw[10..74].to_vec();
    global_msg.extend_from_slice(tc.as_bytes());
    key.key
        .verify_strict(&global_msg, &global)
        .map_err(|_| SignError::BadSignature("the trusted comment was altered".into()))?;
    Ok(Verified {
        trusted_comment: tc.to_string(),
        key_id: key.id.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digests(b: &[u8]) -> FileDigests {
        FileDigests::compute(&mut &b[..]).unwrap()
    }

    #[test]
    fn sign_verify_and_tamper() {
        let sk = SecretKey::generate().unwrap();
        let pk = sk.public();
        let d = digests(b"firmware");
        let sig = sign(&sk, &d, "timestamp:1\tfile:fw.bin").unwrap();
        let v = verify(&pk, &d, &sig, None).unwrap();
        assert_eq!(v.trusted_comment, "timestamp:1\tfile:fw.bin");
        assert!(matches!(
            verify(&pk, &digests(b"firmwarE"), &sig, None),
            Err(SignError::BadSignature(_))
        ));
        let altered = sig.replace("file:fw.bin", "file:other.bin");
        assert!(matches!(
            verify(&pk, &d, &altered, None),
            Err(SignError::BadSignature(_))
        ));
        let other = SecretKey::generate().unwrap().public();
        assert!(matches!(
            verify(&other, &d, &sig, None),
            Err(SignError::WrongKey { .. })
        ));
    }
}
