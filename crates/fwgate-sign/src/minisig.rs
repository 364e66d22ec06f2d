//! minisign signatures: prehashed (`ED`, BLAKE2b-512 of the file) with a signed trusted
//! comment, as `minisign -S` writes and `minisign -V` checks.

use std::io::{Read, Seek, SeekFrom};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::Signer;

use crate::digest::FileDigests;
use crate::error::{format, Result, SignError};
use crate::key::{KeyId, PublicKey, SecretKey, SIG_ALG};

const SIG_ALG_HASHED: &[u8; 2] = b"ED";

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
    /// A legacy (non-prehashed) signature.
    pub legacy: bool,
    /// SHA-256 of the bytes verified, lowercase hex.
    pub sha256: String,
}

/// A parsed `.minisig` file.
#[derive(Debug, Clone)]
pub struct Minisig {
    /// True for a legacy `Ed` signature over the whole file; false for `ED` (prehashed).
    pub legacy: bool,
    /// The signing key's id.
    pub key_id: KeyId,
    signature: [u8; 64],
    /// The trusted comment (signed with the global signature).
    pub trusted_comment: String,
    global: [u8; 64],
}

fn decode_sig(b64: &str, what: &'static str) -> Result<Vec<u8>> {
    B64.decode(b64.trim())
        .map_err(|e| format(what, e.to_string()))
}

impl Minisig {
    /// Parses the four lines of a `.minisig` file. The algorithm comes from the signature's
    /// own two-byte field, whatever its key id.
    pub fn parse(sig_text: &str) -> Result<Minisig> {
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
        let legacy = match &raw[..2] {
            a if a == SIG_ALG_HASHED => false,
            a if a == SIG_ALG => true,
            a => {
                return Err(format(
                    "signature",
                    format!(
                        "unknown signature algorithm {:?}",
                        String::from_utf8_lossy(a)
                    ),
                ))
            }
        };
        let mut key_id = [0u8; 8];
        key_id.copy_from_slice(&raw[2..10]);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&raw[10..74]);
        let tc = tc_line
            .strip_prefix("trusted comment: ")
            .ok_or_else(|| format("signature", "third line is not 'trusted comment: ...'"))?;
        let global: [u8; 64] = decode_sig(global_line, "signature")?
            .try_into()
            .map_err(|_| format("signature", "global signature is not 64 bytes"))?;
        Ok(Minisig {
            legacy,
            key_id: KeyId(key_id),
            signature,
            trusted_comment: tc.to_string(),
            global,
        })
    }

    /// Checks the trusted comment's signature (it covers the file signature and the comment).
    fn check_comment(&self, key: &PublicKey) -> Result<()> {
        let global = crate::raw::check_signature(&self.global)
            .map_err(|_| SignError::BadSignature("the trusted comment was altered".into()))?;
        let mut msg = self.signature.to_vec();
        msg.extend_from_slice(self.trusted_comment.as_bytes());
        key.key
            .verify_strict(&msg, &global)
            .map_err(|_| SignError::BadSignature("the trusted comment was altered".into()))
    }

    fn check_key(&self, key: &PublicKey) -> Result<()> {
        if self.key_id != key.id {
            return Err(SignError::WrongKey {
                sig: self.key_id.to_string(),
                key: key.id.to_string(),
            });
        }
        Ok(())
    }
}

/// Verifies a `.minisig` over the content of `src`, streamed. A prehashed signature is checked
/// against the file's BLAKE2b-512; a legacy one over the file itself, only with `allow_legacy`.
pub fn verify<R: Read + Seek>(
    key: &PublicKey,
    sig_text: &str,
    src: &mut R,
    allow_legacy: bool,
) -> Result<Verified> {
    let sig = Minisig::parse(sig_text)?;
    sig.check_key(key)?;
    if sig.legacy && !allow_legacy {
        return Err(SignError::Legacy);
    }
    // The signature's form, then the comment (small, and an altered one is the clearer
    // reason), then the file.
    crate::raw::check_signature(&sig.signature)?;
    sig.check_comment(key)?;
    let sha256 = if sig.legacy {
        crate::raw::verify_stream(key, &sig.signature, src)?
    } else {
        let parsed = crate::raw::check_signature(&sig.signature)?;
        src.seek(SeekFrom::Start(0)).map_err(read_err)?;
        let d = FileDigests::compute(src).map_err(read_err)?;
        key.key
            .verify_strict(&d.blake2b, &parsed)
            .map_err(|_| SignError::BadSignature("the file does not match the signature".into()))?;
        d.sha256
    };
    Ok(Verified {
        trusted_comment: sig.trusted_comment,
        key_id: key.id.to_string(),
        legacy: sig.legacy,
        sha256,
    })
}

fn read_err(e: std::io::Error) -> SignError {
    SignError::Io {
        path: "<image>".into(),
        op: "read for verification",
        source: e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn digests(b: &[u8]) -> FileDigests {
        FileDigests::compute(&mut &b[..]).unwrap()
    }

    #[test]
    fn sign_verify_and_tamper() {
        let sk = SecretKey::generate().unwrap();
        let pk = sk.public();
        let d = digests(b"firmware");
        let sig = sign(&sk, &d, "timestamp:1\tfile:fw.bin").unwrap();
        let v = verify(&pk, &sig, &mut Cursor::new(b"firmware"), false).unwrap();
        assert_eq!(v.trusted_comment, "timestamp:1\tfile:fw.bin");
        assert_eq!(v.sha256, d.sha256);
        assert!(matches!(
            verify(&pk, &sig, &mut Cursor::new(b"firmwarE"), false),
            Err(SignError::BadSignature(_))
        ));
        let altered = sig.replace("file:fw.bin", "file:other.bin");
        assert!(matches!(
            verify(&pk, &altered, &mut Cursor::new(b"firmware"), false),
            Err(SignError::BadSignature(_))
        ));
        let other = SecretKey::generate().unwrap().public();
        assert!(matches!(
            verify(&other, &sig, &mut Cursor::new(b"firmware"), false),
            Err(SignError::WrongKey { .. })
        ));
    }

    /// A legacy signature as `minisign -Sl` writes it, made here for any key id.
    fn legacy(sk: &SecretKey, content: &[u8], tc: &str) -> String {
        let sig = sk.key.sign(content).to_bytes();
        let mut msg = sig.to_vec();
        msg.extend_from_slice(tc.as_bytes());
        let global = sk.key.sign(&msg).to_bytes();
        let mut line = SIG_ALG.to_vec();
        line.extend_from_slice(&sk.id.0);
        line.extend_from_slice(&sig);
        format!(
            "untrusted comment: x\n{}\ntrusted comment: {tc}\n{}\n",
            B64.encode(line),
            B64.encode(global)
        )
    }

    #[test]
    fn legacy_is_recognised_by_its_algorithm_for_any_key_id() {
        for _ in 0..16 {
            let sk = SecretKey::generate().unwrap();
            let sig = legacy(&sk, b"old firmware", "timestamp:1");
            assert!(Minisig::parse(&sig).unwrap().legacy);
            assert!(matches!(
                verify(&sk.public(), &sig, &mut Cursor::new(b"old firmware"), false),
                Err(SignError::Legacy)
            ));
            let v = verify(&sk.public(), &sig, &mut Cursor::new(b"old firmware"), true).unwrap();
            assert!(v.legacy);
            assert!(verify(&sk.public(), &sig, &mut Cursor::new(b"old firmwarE"), true).is_err());
        }
    }
}
