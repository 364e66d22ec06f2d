//! Raw (PureEdDSA, RFC 8032) Ed25519 signatures over a whole file, streamed: the 64 bytes that
//! `openssl pkeyutl -sign -rawin` writes and `openssl pkeyutl -verify -rawin` checks, and what
//! legacy `minisign -Sl` signatures are.
//!
//! Ed25519 reads the message twice when signing (once for the nonce, once for the challenge),
//! so a file is streamed twice. That is safe on a file someone else can write: the nonce is
//! hedged (its prefix is fresh randomness, so one nonce is never used for two messages, even
//! if the file changes between the reads, which with RFC 8032's deterministic nonce would
//! give the key away), and the signature is valid for what the second read saw, whose
//! SHA-256 is returned for the caller to hold against the digest it expects.

use std::cell::RefCell;
use std::io::{Read, Seek, SeekFrom};

use ed25519_dalek::hazmat::{raw_sign_byupdate, ExpandedSecretKey};
use ed25519_dalek::{Signature, SignatureError, VerifyingKey};
use sha2::{Digest as _, Sha512};
use zeroize::Zeroizing;

use crate::digest::{read_with, Algorithms, FileDigests};
use crate::error::{format, Result, SignError};
use crate::key::{PublicKey, SecretKey};

/// A raw signature and what its two reads saw.
#[derive(Debug, Clone)]
pub struct RawSigned {
    /// The 64-byte Ed25519 signature.
    pub signature: [u8; 64],
    /// Both digests of the first read (the nonce's), computed alongside it.
    pub first: FileDigests,
    /// SHA-256 of the second read: the bytes the signature is valid for.
    pub signed_sha256: String,
}

fn rewind(src: &mut (impl Read + Seek)) -> std::io::Result<()> {
    src.seek(SeekFrom::Start(0)).map(|_| ())
}

/// Signs the whole content of `src`, computing on the way the file's SHA-256 and BLAKE2b-512
/// (on other cores, while this one runs SHA-512), so a caller needs no read of its own.
pub fn sign_stream(key: &SecretKey, src: &mut (impl Read + Seek)) -> Result<RawSigned> {
    let seed = key.seed();
    let mut expanded = ExpandedSecretKey::from(&*seed);
    let prefix = Zeroizing::new({
        let mut p = [0u8; 32];
        getrandom::getrandom(&mut p).map_err(|e| SignError::Random(e.to_string()))?;
        p
    });
    expanded.hash_prefix = *prefix;
    let public = key.public();
    let src = RefCell::new(src);
    let reads: RefCell<Vec<FileDigests>> = RefCell::new(Vec::new());
    let failure: RefCell<Option<std::io::Error>> = RefCell::new(None);
    let sig = raw_sign_byupdate::<Sha512, _>(
        &expanded,
        |ctx: &mut Sha512| {
            let mut src = src.borrow_mut();
            let which = if reads.borrow().is_empty() {
                Algorithms::Both
            } else {
                Algorithms::Sha256
            };
            let r =
                rewind(&mut **src).and_then(|()| read_with(&mut **src, which, |b| ctx.update(b)));
            match r {
                Ok(d) => {
                    reads.borrow_mut().push(d);
                    Ok(())
                }
                Err(e) => {
                    *failure.borrow_mut() = Some(e);
                    Err(SignatureError::new())
                }
            }
        },
        &public.key,
    );
    if let Some(e) = failure.into_inner() {
        return Err(SignError::Io {
            path: "<image>".into(),
            op: "read for signing",
            source: e,
        });
    }
    let sig = sig.map_err(|e| format("signature", e.to_string()))?;
    let mut reads = reads.into_inner();
    let (Some(second), Some(first)) = (reads.pop(), reads.pop()) else {
        return Err(format(
            "signature",
            "the signer did not read the file twice",
        ));
    };
    Ok(RawSigned {
        signature: sig.to_bytes(),
        first,
        signed_sha256: second.sha256,
    })
}

/// Verifies a raw Ed25519 signature over the whole content of `src`, strictly: the signature's
/// `s` must be canonical and its `R` neither non-canonical nor of small order. Returns the
/// SHA-256 of what it verified.
pub fn verify_stream(key: &PublicKey, sig: &[u8], src: &mut (impl Read + Seek)) -> Result<String> {
    let sig = check_signature(sig)?;
    let mut v = key
        .key
        .verify_stream(&sig)
        .map_err(|_| bad("non-canonical signature (s is not reduced)"))?;
    let d = rewind(src)
        .and_then(|()| read_with(src, Algorithms::Sha256, |b| v.update(b)))
        .map_err(|e| SignError::Io {
            path: "<image>".into(),
            op: "read for verification",
            source: e,
        })?;
    v.finalize_and_verify()
        .map_err(|_| bad("the file does not match the signature"))?;
    Ok(d.sha256)
}

fn bad(why: &str) -> SignError {
    SignError::BadSignature(why.to_string())
}

/// The order of Ed25519's base point, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// True when the little-endian scalar `s` is below `L` (RFC 8032 §5.1.7 requires it).
fn reduced(s: &[u8]) -> bool {
    for i in (0..32).rev() {
        match s[i].cmp(&L[i]) {
            std::cmp::Ordering::Less => return true,
            std::cmp::Ordering::Greater => return false,
            std::cmp::Ordering::Equal => {}
        }
    }
    false
}

/// Parses 64 signature bytes, refusing an `R` of small order (verify_strict's rule: such a
/// signature can verify for more than one message).
pub(crate) fn check_signature(sig: &[u8]) -> Result<Signature> {
    let bytes: [u8; 64] = sig.try_into().map_err(|_| {
        format(
            "signature",
            format!("{} bytes, a raw Ed25519 signature is 64", sig.len()),
        )
    })?;
    let mut r = [0u8; 32];
    r.copy_from_slice(&bytes[..32]);
    if VerifyingKey::from_bytes(&r).is_ok_and(|p| p.is_weak()) {
        return Err(bad("non-canonical signature (R is of small order)"));
    }
    if !reduced(&bytes[32..]) {
        return Err(bad("non-canonical signature (s is not reduced)"));
    }
    Ok(Signature::from_bytes(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Verifier;
    use sha2::Sha256;
    use std::io::Cursor;

    const CHUNK: usize = 1 << 20;

    #[test]
    fn streamed_signature_is_a_plain_ed25519_signature() {
        let sk = SecretKey::generate().unwrap();
        let data: Vec<u8> = (0..3 * CHUNK + 5).map(|i| i as u8).collect();
        let signed = sign_stream(&sk, &mut Cursor::new(&data)).unwrap();
        let (sig, sha) = (signed.signature, signed.signed_sha256);
        assert_eq!(sha, hex::encode(Sha256::digest(&data)));
        assert_eq!(signed.first.sha256, sha);
        assert_eq!(
            signed.first.blake2b,
            FileDigests::compute(&mut &data[..]).unwrap().blake2b
        );
        // Any Ed25519 verifier of the whole message accepts it.
        sk.public()
            .key
            .verify(&data, &Signature::from_bytes(&sig))
            .unwrap();
        assert_eq!(
            verify_stream(&sk.public(), &sig, &mut Cursor::new(&data)).unwrap(),
            sha
        );
        // Hedged: the same message signed twice gives two different (valid) signatures.
        let again = sign_stream(&sk, &mut Cursor::new(&data)).unwrap().signature;
        assert_ne!(sig, again);
        let mut other = data.clone();
        other[CHUNK] ^= 1;
        assert!(matches!(
            verify_stream(&sk.public(), &sig, &mut Cursor::new(&other)),
            Err(SignError::BadSignature(_))
        ));
    }

    #[test]
    fn non_canonical_s_is_refused() {
        let sk = SecretKey::generate().unwrap();
        let mut sig = sign_stream(&sk, &mut Cursor::new(b"fw")).unwrap().signature;
        // s + l is the same scalar mod l, but not the canonical encoding.
        let mut carry = 0u16;
        for i in 0..32 {
            let v = u16::from(sig[32 + i]) + u16::from(L[i]) + carry;
            sig[32 + i] = v as u8;
            carry = v >> 8;
        }
        let err = verify_stream(&sk.public(), &sig, &mut Cursor::new(b"fw")).unwrap_err();
        assert!(err.to_string().contains("non-canonical"), "{err}");
    }

    #[test]
    fn small_order_r_is_refused() {
        let sk = SecretKey::generate().unwrap();
        let mut sig = [0u8; 64];
        sig[0] = 1; // R = the identity point
        let err = verify_stream(&sk.public(), &sig, &mut Cursor::new(b"fw")).unwrap_err();
        assert!(err.to_string().contains("small order"), "{err}");
    }

    #[test]
    fn a_file_that_changes_between_the_reads_is_signed_as_the_second_read_saw_it() {
        struct Shifty {
            inner: Cursor<Vec<u8>>,
            rewinds: usize,
        }
        impl Read for Shifty {
            fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
                self.inner.read(b)
            }
        }
        impl Seek for Shifty {
            fn seek(&mut self, p: SeekFrom) -> std::io::Result<u64> {
                self.rewinds += 1;
                if self.rewinds == 2 {
                    self.inner.get_mut()[0] ^= 1;
                }
                self.inner.seek(p)
            }
        }
        let sk = SecretKey::generate().unwrap();
        let mut f = Shifty {
            inner: Cursor::new(b"firmware".to_vec()),
            rewinds: 0,
        };
        let signed = sign_stream(&sk, &mut f).unwrap();
        let sig = signed.signature;
        let seen = f.inner.into_inner();
        assert_ne!(seen, b"firmware");
        // The digests name what each read saw, so a caller holding them against each other
        // and the scanned digest refuses the swap (release::sign_image does).
        assert_eq!(signed.signed_sha256, hex::encode(Sha256::digest(&seen)));
        assert_eq!(
            signed.first.sha256,
            hex::encode(Sha256::digest(b"firmware"))
        );
        verify_stream(&sk.public(), &sig, &mut Cursor::new(&seen)).unwrap();
        assert!(verify_stream(&sk.public(), &sig, &mut Cursor::new(b"firmware")).is_err());
    }
}
