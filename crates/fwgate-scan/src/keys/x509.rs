//! X.509 certificates, parsed with `x509-parser`: subject, expiry, CA flag, key, weaknesses.

use sha2::{Digest, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::der::{self, Seq};
use super::{oids, CertHit};

/// The subject is cut to this many bytes.
const MAX_SUBJECT: usize = 512;

/// Signature algorithms reported as weak, by OID contents octets.
const WEAK_SIGNATURES: &[(&[u8], &str)] = &[
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x02],
        "md2WithRSAEncryption",
    ),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x03],
        "md4WithRSAEncryption",
    ),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x04],
        "md5WithRSAEncryption",
    ),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05],
        "sha1WithRSAEncryption",
    ),
    (&[0x2b, 0x0e, 0x03, 0x02, 0x1d], "sha1WithRSASignature"),
    (
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01],
        "ecdsa-with-SHA1",
    ),
    (&[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x03], "dsa-with-sha1"),
];

/// The certificate at the start of `der` and the bytes it spans (trailing bytes, such as
/// OpenSSL's trusted-certificate auxiliary data, are left alone).
pub fn certificate(der: &[u8], offset: usize) -> Option<(CertHit, usize)> {
    let (rest, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let used = der.len().checked_sub(rest.len())?;
    let raw = der.get(..used)?;
    let (key, mut weak) = describe_key(cert.public_key());
    let sig = cert.signature_algorithm.algorithm.as_bytes();
    if let Some((_, name)) = WEAK_SIGNATURES.iter().find(|(oid, _)| *oid == sig) {
        weak.push(format!("{name} signature"));
    }
    let hit = CertHit {
        offset,
        subject: subject(&cert),
        not_after_unix: cert.validity().not_after.timestamp(),
        is_ca: cert.is_ca(),
        key,
        weak,
        id: Sha256::digest(raw).into(),
    };
    Some((hit, used))
}

fn subject(cert: &X509Certificate<'_>) -> String {
    let mut s: String = cert
        .subject()
        .to_string()
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.len() > MAX_SUBJECT {
        let mut cut = MAX_SUBJECT;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// `RSA 2048`-style text for the subject key, and its weaknesses.
fn describe_key(spki: &SubjectPublicKeyInfo<'_>) -> (String, Vec<String>) {
    let oid = spki.algorithm.algorithm.as_bytes();
    let key_bytes: &[u8] = &spki.subject_public_key.data;
    let params = spki.algorithm.parameters.as_ref().map(|p| p.data);
    let mut weak = Vec::new();
    let key = if oid == oids::RSA || oid == oids::RSA_PSS {
        let bits = Seq::whole(key_bytes, der::SEQUENCE)
            .and_then(|mut s| s.uint())
            .map_or(0, der::bits);
        if bits < 2048 {
            weak.push(format!("RSA key of {bits} bits"));
        }
        let name = if oid == oids::RSA { "RSA" } else { "RSA-PSS" };
        format!("{name} {bits}")
    } else if oid == oids::EC {
        match params.and_then(oids::curve_by_oid) {
            Some(c) => {
                if c.bits < 224 {
                    weak.push(format!("EC key of {} bits", c.bits));
                }
                format!("EC {}", c.name)
            }
            None => "EC (unknown curve)".to_string(),
        }
    } else if oid == oids::DSA {
        let bits = params.and_then(|p| Seq::new(p).uint()).map_or(0, der::bits);
        weak.push("DSA key".to_string());
        format!("DSA {bits}")
    } else if oid == oids::ED25519 {
        "Ed25519".to_string()
    } else if oid == oids::ED448 {
        "Ed448".to_string()
    } else {
        format!("unknown ({})", spki.algorithm.algorithm)
    };
    (key, weak)
}
