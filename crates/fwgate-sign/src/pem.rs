//! Keys in the forms OpenSSL, HSM import tools and signing servers read: the public key as
//! SubjectPublicKeyInfo PEM (RFC 8410), the secret key as PKCS#8, encrypted with PBES2.

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePublicKey, EncodePublicKey};
use pkcs8::der::Decode;
use pkcs8::pkcs5::pbes2;
use pkcs8::{EncryptedPrivateKeyInfo, PrivateKeyInfo};
use zeroize::Zeroizing;

use crate::error::{format, Result, SignError};
use crate::key::{KeyId, PublicKey, SecretKey};

/// PBKDF2-HMAC-SHA256 iterations for keys fwgate exports (OWASP's 2023 figure).
pub const EXPORT_PBKDF2_ITERATIONS: u32 = 600_000;
/// Most PBKDF2 iterations fwgate runs for a key it imports (a hostile file could ask for 2^32).
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// Most scrypt memory (128 · r · N bytes) fwgate spends on a key it imports.
const MAX_SCRYPT_BYTES: u64 = 1 << 30;
/// Ed25519's object identifier (RFC 8410).
const ED25519_OID: &str = "1.3.101.112";

/// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`), as `openssl pkey -pubout` writes.
pub fn public_to_pem(pk: &PublicKey) -> Result<String> {
    pk.key
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| format("public key", format!("SPKI encoding: {e}")))
}

/// Reads an SPKI PEM public key; it gets the key id [`PublicKey::derived_id`].
pub fn public_from_pem(text: &str) -> Result<PublicKey> {
    let key = ed25519_dalek::VerifyingKey::from_public_key_pem(text.trim()).map_err(|e| {
        format(
            "public key",
            format!("not an Ed25519 SubjectPublicKeyInfo PEM: {e}"),
        )
    })?;
    let bytes = key.to_bytes();
    PublicKey::from_bytes(PublicKey::derived_id(&bytes), &bytes)
}

/// The secret key as encrypted PKCS#8 PEM (`-----BEGIN ENCRYPTED PRIVATE KEY-----`):
/// PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, the scheme `openssl pkcs8 -topk8 -v2
/// aes-256-cbc` writes and every PKCS#8 reader supports. It is PKCS#8 v1, the seed alone, as
/// `openssl genpkey` writes: OpenSSL 3.0 and pyca/cryptography refuse v2 (RFC 5958) with the
/// public key appended.
pub fn secret_to_pkcs8_pem(sk: &SecretKey, password: &[u8]) -> Result<Zeroizing<String>> {
    if password.is_empty() {
        return Err(SignError::EmptyPassword);
    }
    let salt = random::<16>()?;
    let iv = random::<16>()?;
    let params = pbes2::Parameters::pbkdf2_sha256_aes256cbc(EXPORT_PBKDF2_ITERATIONS, &salt, &iv)
        .map_err(|e| format("secret key", format!("PBES2 parameters: {e}")))?;
    let seed = sk.seed();
    let mut inner = Zeroizing::new([0u8; 34]);
    inner[0] = 0x04;
    inner[1] = 0x20;
    inner[2..].copy_from_slice(seed.as_ref());
    let oid = pkcs8::ObjectIdentifier::new_unwrap(ED25519_OID);
    let info = PrivateKeyInfo::new(
        pkcs8::AlgorithmIdentifierRef {
            oid,
            parameters: None,
        },
        inner.as_ref(),
    );
    let doc = info
        .encrypt_with_params(params, password)
        .map_err(|e| format("secret key", format!("PKCS#8 encryption: {e}")))?;
    let pem = doc
        .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
        .map_err(|e| format("secret key", format!("PEM encoding: {e}")))?;
    Ok(pem)
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| SignError::Random(e.to_string()))?;
    Ok(b)
}

/// Refuses key-derivation parameters that would take unbounded time or memory.
fn check_kdf(info: &EncryptedPrivateKeyInfo<'_>) -> Result<()> {
    let pkcs8::pkcs5::EncryptionScheme::Pbes2(p) = &info.encryption_algorithm else {
        return Err(format(
            "secret key",
            "PKCS#8 encrypted with PBES1 (DES or RC2) is refused; re-encrypt it with PBES2 (openssl pkcs8 -topk8 -v2 aes-256-cbc)",
        ));
    };
    match &p.kdf {
        pbes2::Kdf::Pbkdf2(k) if k.iteration_count > MAX_PBKDF2_ITERATIONS => Err(format(
            "secret key",
            format!(
                "PBKDF2 iteration count {} is more than fwgate runs ({MAX_PBKDF2_ITERATIONS})",
                k.iteration_count
            ),
        )),
        pbes2::Kdf::Scrypt(s) => {
            let bytes = 128u64
                .saturating_mul(u64::from(s.block_size))
                .saturating_mul(s.cost_parameter)
                .saturating_mul(u64::from(s.parallelization.max(1)));
            if bytes > MAX_SCRYPT_BYTES {
                Err(format(
                    "secret key",
                    format!(
                        "scrypt parameters need {bytes} bytes of memory, more than fwgate allows"
                    ),
                ))
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

fn from_info(info: &PrivateKeyInfo<'_>, id: Option<KeyId>) -> Result<SecretKey> {
    if info.algorithm.oid.to_string() != ED25519_OID {
        return Err(format(
            "secret key",
            format!(
                "PKCS#8 key of algorithm {}, not Ed25519 ({ED25519_OID})",
                info.algorithm.oid
            ),
        ));
    }
    let seed: [u8; 32] = match info.private_key {
        [0x04, 0x20, rest @ ..] => rest
            .try_into()
            .map_err(|_| format("secret key", "Ed25519 private key is not 32 bytes"))?,
        _ => return Err(format("secret key", "malformed Ed25519 private key")),
    };
    let seed = Zeroizing::new(seed);
    let probe = SecretKey::from_seed(&seed, KeyId([0; 8]));
    let public = *probe.public().as_bytes();
    if let Some(given) = info.public_key {
        if given != public {
            return Err(format(
                "secret key",
                "the PKCS#8 file's public key does not match its secret key",
            ));
        }
    }
    Ok(SecretKey::from_seed(
        &seed,
        id.unwrap_or_else(|| PublicKey::derived_id(&public)),
    ))
}

/// Reads a PKCS#8 secret key, PEM or DER, encrypted (`password` is called) or not. The key
/// gets the id `id`, or [`PublicKey::derived_id`].
pub fn secret_from_pkcs8(
    bytes: &[u8],
    id: Option<KeyId>,
    password: impl FnOnce() -> Result<Zeroizing<Vec<u8>>>,
) -> Result<SecretKey> {
    let (label, der) = match std::str::from_utf8(bytes) {
        Ok(text) if text.trim_start().starts_with("-----BEGIN") => {
            let (label, der) = pkcs8::der::pem::decode_vec(text.trim().as_bytes())
                .map_err(|e| format("secret key", format!("PEM: {e}")))?;
            (Some(label.to_string()), Zeroizing::new(der))
        }
        _ => (None, Zeroizing::new(bytes.to_vec())),
    };
    let encrypted = match label.as_deref() {
        Some("ENCRYPTED PRIVATE KEY") => true,
        Some("PRIVATE KEY") => false,
        Some(other) => {
            return Err(format(
                "secret key",
                format!("PEM block '{other}' is not a PKCS#8 private key"),
            ))
        }
        None => EncryptedPrivateKeyInfo::from_der(&der).is_ok(),
    };
    if encrypted {
        let info = EncryptedPrivateKeyInfo::from_der(&der)
            .map_err(|e| format("secret key", format!("encrypted PKCS#8: {e}")))?;
        check_kdf(&info)?;
        let pw = password()?;
        if pw.is_empty() {
            return Err(SignError::EmptyPassword);
        }
        let plain = info
            .decrypt(pw.as_slice())
            .map_err(|_| SignError::BadPassword)?;
        let inner =
            PrivateKeyInfo::from_der(plain.as_bytes()).map_err(|_| SignError::BadPassword)?;
        from_info(&inner, id)
    } else {
        let info = PrivateKeyInfo::from_der(&der)
            .map_err(|e| format("secret key", format!("PKCS#8: {e}")))?;
        from_info(&info, id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spki_round_trip_keeps_the_key() {
        let sk = SecretKey::generate().unwrap();
        let pem = public_to_pem(&sk.public()).unwrap();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
        let back = public_from_pem(&pem).unwrap();
        assert_eq!(back.as_bytes(), sk.public().as_bytes());
        assert_eq!(back.id, PublicKey::derived_id(sk.public().as_bytes()));
        assert_eq!(PublicKey::from_any_text(&pem).unwrap(), back);
    }

    #[test]
    fn pkcs8_round_trip_wrong_password_and_empty_password() {
        let sk = SecretKey::generate().unwrap();
        let pem = secret_to_pkcs8_pem(&sk, b"hunter2 hunter2").unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let back = secret_from_pkcs8(pem.as_bytes(), Some(sk.id), || {
            Ok(Zeroizing::new(b"hunter2 hunter2".to_vec()))
        })
        .unwrap();
        assert_eq!(back.public(), sk.public());
        let bad = secret_from_pkcs8(pem.as_bytes(), None, || Ok(Zeroizing::new(b"x".to_vec())));
        assert!(matches!(bad, Err(SignError::BadPassword)), "{bad:?}");
        assert!(matches!(
            secret_to_pkcs8_pem(&sk, b""),
            Err(SignError::EmptyPassword)
        ));
        let empty = secret_from_pkcs8(pem.as_bytes(), None, || Ok(Zeroizing::new(Vec::new())));
        assert!(matches!(empty, Err(SignError::EmptyPassword)));
    }

    #[test]
    fn rejects_non_pkcs8_pem_and_garbage() {
        let e = secret_from_pkcs8(
            b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
            None,
            || panic!(),
        );
        assert!(e.is_err());
        assert!(secret_from_pkcs8(b"\x30\x03\x02\x01", None, || panic!()).is_err());
    }
}
