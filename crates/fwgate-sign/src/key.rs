//! minisign key pairs over Ed25519: generation, the public and secret key file formats.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use ed25519_dalek::{SigningKey, VerifyingKey};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{format, Result, SignError};
use crate::kdf;

pub(crate) const SIG_ALG: &[u8; 2] = b"Ed";
const KDF_SCRYPT: &[u8; 2] = b"Sc";
const KDF_NONE: &[u8; 2] = &[0, 0];
const CHK_ALG: &[u8; 2] = b"B2";
/// keynum (8) + secret key (64) + checksum (32): the part that is encrypted.
const KEYNUM_SK: usize = 104;
const SECRET_LEN: usize = 2 + 2 + 2 + 32 + 8 + 8 + KEYNUM_SK;

/// The 8-byte key id minisign puts in keys and signatures.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KeyId(pub [u8; 8]);

impl fmt::Display for KeyId {
    /// As minisign prints it: the little-endian u64 in 16 upper-case hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016X}", u64::from_le_bytes(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A public key, as in a minisign `.pub` file.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PublicKey {
    /// Key id.
    pub id: KeyId,
    pub(crate) key: VerifyingKey,
}

/// A secret signing key. Its bytes are zeroed on drop and never shown by `Debug`.
pub struct SecretKey {
    /// Key id.
    pub id: KeyId,
    pub(crate) key: SigningKey,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({}, <redacted>)", self.id)
    }
}

fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>> {
    let mut b = Zeroizing::new([0u8; N]);
    getrandom::getrandom(b.as_mut()).map_err(|e| SignError::Random(e.to_string()))?;
    Ok(b)
}

fn checksum(keynum: &[u8; 8], sk: &[u8; 64]) -> [u8; 32] {
    let mut h = Blake2b::<U32>::new();
    h.update(SIG_ALG);
    h.update(keynum);
    h.update(sk);
    h.finalize().into()
}

/// Takes the base64 line after an `untrusted comment:` line.
fn payload<'a>(text: &'a str, what: &'static str) -> Result<&'a str> {
    let mut lines = text.lines();
    match lines.next() {
        Some(l) if l.starts_with("untrusted comment:") => {}
        _ => return Err(format(what, "first line is not 'untrusted comment: ...'")),
    }
    lines
        .next()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| format(what, "missing the base64 line"))
}

impl PublicKey {
    /// A public key from its 32 bytes, refusing what a verifier must not trust: a point that
    /// does not decode, a non-canonical encoding (two byte strings for one key), and a weak
    /// (small-order) key, under which forged signatures verify.
    pub fn from_bytes(id: KeyId, bytes: &[u8; 32]) -> Result<PublicKey> {
        let key = VerifyingKey::from_bytes(bytes)
            .map_err(|_| format("public key", "not a valid Ed25519 point"))?;
        if key.to_edwards().compress().as_bytes() != bytes {
            return Err(format(
                "public key",
                "non-canonical Ed25519 point encoding refused",
            ));
        }
        if key.is_weak() {
            return Err(format(
                "public key",
                "weak (small-order) Ed25519 key refused",
            ));
        }
        Ok(PublicKey { id, key })
    }

    /// The 32 bytes of the key.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// The key id fwgate gives a key that came without one (from a PEM or PKCS#8 file): the
    /// first 8 bytes of the SHA-256 of the key, so the same key always gets the same id.
    pub fn derived_id(bytes: &[u8; 32]) -> KeyId {
        use sha2::Digest as _;
        let h = sha2::Sha256::digest(bytes);
        let mut id = [0u8; 8];
        id.copy_from_slice(&h[..8]);
        KeyId(id)
    }

    /// Parses the base64 form (`RW...`), as given to `minisign -P`.
    pub fn from_base64(b64: &str) -> Result<PublicKey> {
        let raw = B64
            .decode(b64.trim())
            .map_err(|e| format("public key", e.to_string()))?;
        if raw.len() != 42 || &raw[..2] != SIG_ALG {
            return Err(format(
                "public key",
                "not a minisign Ed25519 public key (42 bytes starting 'Ed')",
            ));
        }
        let mut id = [0u8; 8];
        id.copy_from_slice(&raw[2..10]);
        let mut pk = [0u8; 32];
        pk.copy_from_slice(&raw[10..42]);
        PublicKey::from_bytes(KeyId(id), &pk)
    }

    /// Parses a public key file in either form fwgate writes: minisign's `NAME.pub`, or the
    /// SPKI PEM `NAME.pem` that OpenSSL reads (its key id is then [`PublicKey::derived_id`]).
    pub fn from_any_text(text: &str) -> Result<PublicKey> {
        if text.trim_start().starts_with("-----BEGIN") {
            crate::pem::public_from_pem(text)
        } else {
            Self::from_file_text(text)
        }
    }

    /// Parses a `.pub` file.
    pub fn from_file_text(text: &str) -> Result<PublicKey> {
        Self::from_base64(payload(text, "public key")?)
    }

    /// The base64 form.
    pub fn to_base64(&self) -> String {
        let mut raw = Vec::with_capacity(42);
        raw.extend_from_slice(SIG_ALG);
        raw.extend_from_slice(&self.id.0);
        raw.extend_from_slice(self.key.as_bytes());
        B64.encode(raw)
    }

    /// The `.pub` file, readable by `minisign -V -p`.
    pub fn to_file_text(&self) -> String {
        format!(
            "untrusted comment: minisign public key {}\n{}\n",
            self.id,
            self.to_base64()
        )
    }
}

impl SecretKey {
    /// A fresh key pair from the operating system's randomness. Its key id is
    /// [`PublicKey::derived_id`] (minisign's are random; any 8 bytes will do), so the
    /// minisign `.pub` and the SPKI `.pem` of a key fwgate made name the same id.
    pub fn generate() -> Result<SecretKey> {
        let seed = random::<32>()?;
        let key = SigningKey::from_bytes(&seed);
        Ok(SecretKey {
            id: PublicKey::derived_id(key.verifying_key().as_bytes()),
            key,
        })
    }

    /// A key from its 32-byte seed (the Ed25519 secret key of RFC 8032), with key id `id`.
    pub fn from_seed(seed: &[u8; 32], id: KeyId) -> SecretKey {
        SecretKey {
            id,
            key: SigningKey::from_bytes(seed),
        }
    }

    /// The 32-byte seed.
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.key.to_bytes())
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey {
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// The secret key file, readable by `minisign -S -s`. With a password the key is encrypted
    /// with scrypt (N = 2^20, r = 8, p = 1, as minisign does); without, it is stored in clear.
    pub fn to_file_text(&self, password: Option<&[u8]>) -> Result<Zeroizing<String>> {
        if password.is_some_and(<[u8]>::is_empty) {
            return Err(SignError::EmptyPassword);
        }
        let mut raw = Zeroizing::new(Vec::with_capacity(SECRET_LEN));
        raw.extend_from_slice(SIG_ALG);
        raw.extend_from_slice(if password.is_some() {
            KDF_SCRYPT
        } else {
            KDF_NONE
        });
        raw.extend_from_slice(CHK_ALG);
        let salt = random::<32>()?;
        raw.extend_from_slice(salt.as_ref());
        raw.extend_from_slice(&kdf::OPSLIMIT.to_le_bytes());
        raw.extend_from_slice(&kdf::MEMLIMIT.to_le_bytes());
        let sk = Zeroizing::new(self.key.to_keypair_bytes());
        raw.extend_from_slice(&self.id.0);
        raw.extend_from_slice(sk.as_ref());
        raw.extend_from_slice(&checksum(&self.id.0, &sk));
        if let Some(pw) = password {
            let stream = kdf::stream(pw, &salt, kdf::OPSLIMIT, kdf::MEMLIMIT, KEYNUM_SK)?;
            for (b, s) in raw[SECRET_LEN - KEYNUM_SK..].iter_mut().zip(stream.iter()) {
                *b ^= s;
            }
        }
        let comment = if password.is_some() {
            "minisign encrypted secret key"
        } else {
            "minisign secret key (unencrypted)"
        };
        Ok(Zeroizing::new(format!(
            "untrusted comment: {comment}\n{}\n",
            B64.encode(&raw)
        )))
    }

    /// True when the key file text holds an encrypted key (a password will be asked for).
    pub fn is_encrypted(text: &str) -> Result<bool> {
        let raw = Zeroizing::new(
            B64.decode(payload(text, "secret key")?)
                .map_err(|e| format("secret key", e.to_string()))?,
        );
        Ok(raw.get(2..4) == Some(KDF_SCRYPT.as_slice()))
    }

    /// Parses a secret key file; `password` is called only if the key is encrypted.
    pub fn from_file_text(
        text: &str,
        password: impl FnOnce() -> Result<Zeroizing<Vec<u8>>>,
    ) -> Result<SecretKey> {
        let mut raw = Zeroizing::new(
            B64.decode(payload(text, "secret key")?)
                .map_err(|e| format("secret key", e.to_string()))?,
        );
        if raw.len() != SECRET_LEN {
            return Err(format(
                "secret key",
                format!("{} bytes, expected {SECRET_LEN}", raw.len()),
            ));
        }
        if &raw[..2] != SIG_ALG || &raw[4..6] != CHK_ALG {
            return Err(format("secret key", "not a minisign Ed25519 secret key"));
        }
        let kdf_alg = [raw[2], raw[3]];
        if &kdf_alg == KDF_SCRYPT {
            let mut salt = [0u8; 32];
            salt.copy_from_slice(&raw[6..38]);
            let le = |at: usize| u64::from_le_bytes(raw[at..at + 8].try_into().unwrap_or([0; 8]));
            let (ops, mem) = (le(38), le(46));
            let pw = password()?;
            // An empty password protects nothing; a key that needs one was not made by fwgate
            // (keygen refuses it) and is refused rather than used as if it were protected.
            if pw.is_empty() {
                return Err(SignError::EmptyPassword);
            }
            let stream = kdf::stream(&pw, &salt, ops, mem, KEYNUM_SK)?;
            for (b, s) in raw[SECRET_LEN - KEYNUM_SK..].iter_mut().zip(stream.iter()) {
                *b ^= s;
            }
        } else if &kdf_alg != KDF_NONE {
            return Err(format("secret key", "unknown key derivation algorithm"));
        }
        let body = &raw[SECRET_LEN - KEYNUM_SK..];
        let mut id = [0u8; 8];
        id.copy_from_slice(&body[..8]);
        let mut sk = Zeroizing::new([0u8; 64]);
        sk.copy_from_slice(&body[8..72]);
        let encrypted = &kdf_alg == KDF_SCRYPT;
        // minisign 0.11 writes unencrypted keys with a zeroed checksum; the key-pair check
        // below still catches corruption of those.
        let unchecked = !encrypted && body[72..104].iter().all(|&b| b == 0);
        if !unchecked && checksum(&id, &sk) != body[72..104] {
            return Err(if encrypted {
                SignError::BadPassword
            } else {
                format("secret key", "checksum mismatch: the file is corrupt")
            });
        }
        let key = SigningKey::from_keypair_bytes(&sk)
            .map_err(|_| format("secret key", "public half does not match the secret half"))?;
        raw.zeroize();
        Ok(SecretKey { id: KeyId(id), key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unencrypted_round_trip_and_redacted_debug() {
        let sk = SecretKey::generate().unwrap();
        let text = sk.to_file_text(None).unwrap();
        assert!(!SecretKey::is_encrypted(&text).unwrap());
        let back = SecretKey::from_file_text(&text, || panic!("no password needed")).unwrap();
        assert_eq!(back.public(), sk.public());
        let dbg = format!("{sk:?}");
        assert!(dbg.contains("redacted") && !dbg.contains(&hex(&sk.key.to_bytes())));
        let pk = PublicKey::from_file_text(&sk.public().to_file_text()).unwrap();
        assert_eq!(pk, sk.public());
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn encrypted_round_trip_and_wrong_password() {
        let sk = SecretKey::generate().unwrap();
        let text = sk.to_file_text(Some(b"correct horse")).unwrap();
        assert!(SecretKey::is_encrypted(&text).unwrap());
        let ok = SecretKey::from_file_text(&text, || Ok(Zeroizing::new(b"correct horse".to_vec())))
            .unwrap();
        assert_eq!(ok.public(), sk.public());
        let bad =
            SecretKey::from_file_text(&text, || Ok(Zeroizing::new(b"battery staple".to_vec())));
        assert!(matches!(bad, Err(SignError::BadPassword)));
    }

    #[test]
    fn reads_minisign_unencrypted_key_with_zero_checksum() {
        // Written by `minisign -G -W` (0.11): KDF none, zero salt, limits and checksum.
        let text = "untrusted comment: minisign encrypted secret key\nRWQAAEIyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAlwANDol/w6vOELuMpp4yTpd124GLBI/+KAoe3MIIvXDM6FRG0CQOEYu8t2mOrFOIZtIYC2lJSabNI0WOMElTLEn/T7FTDXm3AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let sk = SecretKey::from_file_text(text, || panic!("not encrypted")).unwrap();
        assert_eq!(sk.id.to_string(), "ABC37F890E0D0097");
        // Flip one bit of the secret half: the key pair no longer matches.
        let mut raw = B64.decode(text.lines().nth(1).unwrap()).unwrap();
        raw[70] ^= 1; // inside the 32-byte seed (bytes 62..94)
        let bad = format!("untrusted comment: x\n{}\n", B64.encode(raw));
        assert!(SecretKey::from_file_text(&bad, || panic!()).is_err());
    }

    #[test]
    fn rejects_weak_public_key() {
        // The identity point (small order) with key id 0.
        let mut raw = b"Ed".to_vec();
        raw.extend_from_slice(&[0; 8]);
        let mut id_point = [0u8; 32];
        id_point[0] = 1;
        raw.extend_from_slice(&id_point);
        let err = PublicKey::from_base64(&B64.encode(raw)).unwrap_err();
        assert!(err.to_string().contains("weak"), "{err}");
    }
}
