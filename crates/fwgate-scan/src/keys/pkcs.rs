//! DER private-key structures: PKCS#1 RSA, SEC1 EC, OpenSSL DSA, PKCS#8 (plain and
//! encrypted) and PKCS#12. Each parser takes exactly one encoded structure and returns what
//! it found only when the whole structure parses and the numbers are consistent.

use num_bigint::BigUint;

use super::der::{self, Seq};
use super::oids::{self, Curve};
use super::{key_id, Budget, KeyInfo, Kind, ENCRYPTED_ALGORITHM};

/// Largest RSA modulus and DSA prime accepted, in bits (bounds the bignum work).
const MAX_RSA_BITS: u32 = 16_384;
const MAX_DSA_BITS: u32 = 4_096;

/// Where a structure came from: PEM names its type, raw bytes do not, so raw candidates are
/// held to known algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Inside a PEM block whose label says what it is.
    Pem,
    /// Found by an anchor in raw bytes.
    Raw,
}

fn info(kind: Kind, algorithm: impl Into<String>, bits: Option<u32>, id: [u8; 32]) -> KeyInfo {
    KeyInfo {
        kind,
        algorithm: algorithm.into(),
        bits,
        encrypted: false,
        id,
    }
}

/// PKCS#1 RSAPrivateKey: version, n, e, d, p, q, dP, dQ, qInv (and other primes in v1).
/// For two-prime keys `p * q == n` must hold.
pub fn pkcs1(der: &[u8], budget: &mut Budget) -> Option<KeyInfo> {
    let mut s = Seq::whole(der, der::SEQUENCE)?;
    let version = s.small_uint()?;
    let n = s.uint()?;
    let e = s.uint()?;
    let mut rest = [&[][..]; 6];
    for slot in &mut rest {
        *slot = s.uint()?;
    }
    let [d, p, q, dp, dq, qinv] = rest;
    let bits = der::bits(n);
    let e_ok = e.last().is_some_and(|b| b & 1 == 1) && der::bits(e) >= 2;
    let sizes_ok = (256..=MAX_RSA_BITS).contains(&bits)
        && e_ok
        && [d, p, q, dp, dq, qinv].iter().all(|v| !v.is_empty())
        && der::bits(d) <= bits;
    if !sizes_ok {
        return None;
    }
    match version {
        0 if s.is_empty() => {
            if !budget.bignum() || !rsa_consistent(n, [d, p, q, dp, dq, qinv]) {
                return None;
            }
        }
        1 => {
            s.expect(der::SEQUENCE)?;
            if !s.is_empty() {
                return None;
            }
        }
        _ => return None,
    }
    Some(info(Kind::Pkcs1, "RSA", Some(bits), key_id("rsa", n)))
}

/// `p·q = n` and the CRT values agree with `d`: `dP = d mod (p−1)`, `dQ = d mod (q−1)`,
/// `qInv·q ≡ 1 (mod p)`. Any changed byte of the private part breaks one of them.
fn rsa_consistent(n: &[u8], [d, p, q, dp, dq, qinv]: [&[u8]; 6]) -> bool {
    let [n, d, p, q, dp, dq, qinv] = [n, d, p, q, dp, dq, qinv].map(BigUint::from_bytes_be);
    let one = BigUint::from(1u8);
    if p <= one || q <= one || &p * &q != n {
        return false;
    }
    let (p1, q1) = (&p - &one, &q - &one);
    &d % &p1 == dp && &d % &q1 == dq && (&qinv * &q) % &p == one
}

/// OpenSSL's DSA private key: SEQUENCE { 0, p, q, g, y, x } with `y == g^x mod p`.
pub fn dsa(der: &[u8], budget: &mut Budget) -> Option<KeyInfo> {
    let mut s = Seq::whole(der, der::SEQUENCE)?;
    if s.small_uint()? != 0 {
        return None;
    }
    let (p, q, g) = (s.uint()?, s.uint()?, s.uint()?);
    let (y, x) = (s.uint()?, s.uint()?);
    if !s.is_empty() {
        return None;
    }
    let y = dsa_check(p, q, g, x, Some(y), budget)?;
    Some(info(
        Kind::Dsa,
        "DSA",
        Some(der::bits(p)),
        key_id("dsa", &y),
    ))
}

/// Checks DSA domain sizes and `x`, and returns `y = g^x mod p` (equal to `y` when given).
pub fn dsa_check(
    p: &[u8],
    q: &[u8],
    g: &[u8],
    x: &[u8],
    y: Option<&[u8]>,
    budget: &mut Budget,
) -> Option<Vec<u8>> {
    let p_bits = der::bits(p);
    let q_bits = der::bits(q);
    if !(512..=MAX_DSA_BITS).contains(&p_bits)
        || ![160, 224, 256].contains(&q_bits)
        || der::bits(g) > p_bits
        || x.is_empty()
        || der::bits(x) > q_bits
        || !budget.bignum()
    {
        return None;
    }
    let p = BigUint::from_bytes_be(p);
    let x = BigUint::from_bytes_be(x);
    if x >= BigUint::from_bytes_be(q) {
        return None;
    }
    let y_calc = BigUint::from_bytes_be(g).modpow(&x, &p).to_bytes_be();
    match y {
        Some(y) if y != y_calc.as_slice() => None,
        _ => Some(y_calc),
    }
}

/// SEC1 ECPrivateKey: SEQUENCE { 1, OCTET STRING d, [0] curve OPTIONAL, [1] point OPTIONAL }.
/// `outer` is the curve named by an enclosing PKCS#8 AlgorithmIdentifier.
pub fn sec1(der: &[u8], outer: Option<Curve>) -> Option<KeyInfo> {
    let mut s = Seq::whole(der, der::SEQUENCE)?;
    if s.small_uint()? != 1 {
        return None;
    }
    let d = s.expect(der::OCTET_STRING)?;
    let inner = match s.optional(der::CTX0) {
        Some(params) => Some(oids::curve_by_oid(Seq::whole(params, der::OID)?.rest())?),
        None => None,
    };
    let curve = match (inner, outer) {
        (Some(a), Some(b)) if a != b => return None,
        (Some(c), _) | (None, Some(c)) => c,
        (None, None) => return None,
    };
    let point = match s.optional(der::CTX1) {
        Some(v) => Some(bit_string(Seq::whole(v, der::BIT_STRING)?.rest())?),
        None => None,
    };
    if !s.is_empty() || d.is_empty() || d.len() > curve.bytes() || d.iter().all(|b| *b == 0) {
        return None;
    }
    if point.is_some_and(|p| !curve.point_ok(p)) {
        return None;
    }
    let id = match point {
        Some(p) => key_id("ec", p),
        None => key_id("der", der),
    };
    Some(info(
        Kind::Sec1,
        format!("EC {}", curve.name),
        Some(curve.bits),
        id,
    ))
}

fn bit_string(contents: &[u8]) -> Option<&[u8]> {
    match contents {
        [0, rest @ ..] => Some(rest),
        _ => None,
    }
}

/// PKCS#8 PrivateKeyInfo / OneAsymmetricKey (v1 and v2); the inner key is parsed too.
pub fn pkcs8(der: &[u8], origin: Origin, budget: &mut Budget) -> Option<KeyInfo> {
    let mut s = Seq::whole(der, der::SEQUENCE)?;
    let version = s.small_uint()?;
    let mut alg = Seq::new(s.expect(der::SEQUENCE)?);
    let oid = alg.expect(der::OID)?;
    let params = alg.next_tlv();
    let private = s.expect(der::OCTET_STRING)?;
    let _attributes = s.optional(der::CTX0);
    let public = s.optional(der::CTX1_PRIM).and_then(bit_string);
    if version > 1 || !alg.is_empty() || !s.is_empty() || (version == 0 && public.is_some()) {
        return None;
    }
    let mut key = match oid {
        o if o == oids::RSA || o == oids::RSA_PSS => pkcs1(private, budget)?,
        o if o == oids::EC => {
            let params = params?;
            if params.tag != der::OID {
                return None;
            }
            sec1(private, Some(oids::curve_by_oid(params.value)?))?
        }
        o if o == oids::ED25519 => ed25519(private, public, budget)?,
        o if o == oids::DSA => {
            let mut dom = Seq::new(params.filter(|t| t.tag == der::SEQUENCE)?.value);
            let (p, q, g) = (dom.uint()?, dom.uint()?, dom.uint()?);
            let x = Seq::whole(private, der::INTEGER).and_then(|x| der::uint(x.rest()))?;
            let y = dsa_check(p, q, g, x, None, budget)?;
            info(Kind::Dsa, "DSA", Some(der::bits(p)), key_id("dsa", &y))
        }
        o if o == oids::X25519 => octets(private, 32, "X25519", 256, der)?,
        o if o == oids::X448 => octets(private, 56, "X448", 448, der)?,
        o if o == oids::ED448 => octets(private, 57, "Ed448", 456, der)?,
        _ if origin == Origin::Pem && !private.is_empty() => info(
            Kind::Pkcs8,
            format!("unknown (OID {})", oid_text(oid)),
            None,
            key_id("der", der),
        ),
        _ => return None,
    };
    key.kind = Kind::Pkcs8;
    Some(key)
}

/// A curve private key held as OCTET STRING of `len` bytes inside the PKCS#8 privateKey.
fn octets(private: &[u8], len: usize, name: &str, bits: u32, der: &[u8]) -> Option<KeyInfo> {
    let inner = Seq::whole(private, der::OCTET_STRING)?.rest();
    (inner.len() == len).then(|| info(Kind::Pkcs8, name, Some(bits), key_id("der", der)))
}

/// Ed25519 PKCS#8: the seed; the public key is derived, and must match a v2 public key.
fn ed25519(private: &[u8], public: Option<&[u8]>, budget: &mut Budget) -> Option<KeyInfo> {
    let seed: [u8; 32] = Seq::whole(private, der::OCTET_STRING)?
        .rest()
        .try_into()
        .ok()?;
    if !budget.bignum() {
        return None;
    }
    let derived = ed25519_dalek::SigningKey::from_bytes(&seed)
        .verifying_key()
        .to_bytes();
    if public.is_some_and(|p| p != derived) {
        return None;
    }
    Some(info(
        Kind::Pkcs8,
        "Ed25519",
        Some(256),
        key_id("ed25519", &derived),
    ))
}

/// EncryptedPrivateKeyInfo: SEQUENCE { AlgorithmIdentifier, OCTET STRING }. Only the shape
/// can be checked; the ciphertext must be at least one block.
pub fn encrypted_pkcs8(der: &[u8]) -> Option<KeyInfo> {
    let mut s = Seq::whole(der, der::SEQUENCE)?;
    let mut alg = Seq::new(s.expect(der::SEQUENCE)?);
    alg.expect(der::OID)?;
    alg.next_tlv()?;
    let data = s.expect(der::OCTET_STRING)?;
    if !alg.is_empty() || !s.is_empty() || data.len() < 16 || !data.len().is_multiple_of(8) {
        return None;
    }
    let mut key = info(
        Kind::EncryptedPkcs8,
        ENCRYPTED_ALGORITHM,
        None,
        key_id("der", der),
    );
    key.encrypted = true;
    Some(key)
}

/// PFX: SEQUENCE { INTEGER 3, ContentInfo { pkcs7-data, [0] { OCTET STRING } }, MacData? }.
pub fn pkcs12(der: &[u8]) -> Option<KeyInfo> {
    let mut s = Seq::whole(der, der::SEQUENCE)?;
    if s.small_uint()? != 3 {
        return None;
    }
    let mut content = Seq::new(s.expect(der::SEQUENCE)?);
    if content.expect(der::OID)? != oids::PKCS7_DATA {
        return None;
    }
    let mut explicit = Seq::new(content.expect(der::CTX0)?);
    let auth_safe = explicit.expect(der::OCTET_STRING)?;
    Seq::whole(auth_safe, der::SEQUENCE)?;
    let _mac = s.optional(der::SEQUENCE);
    if !content.is_empty() || !explicit.is_empty() || !s.is_empty() {
        return None;
    }
    let mut key = info(Kind::Pkcs12, ENCRYPTED_ALGORITHM, None, key_id("der", der));
    key.encrypted = true;
    Some(key)
}

/// Dotted text of an OID's contents octets (for unknown algorithms).
fn oid_text(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    for b in oid.iter().take(64) {
        acc = (acc << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (acc / 40).min(2);
                arcs.push(first);
                arcs.push(acc - first * 40);
            } else {
                arcs.push(acc);
            }
            acc = 0;
        }
        if acc > u64::MAX >> 8 {
            return "?".into();
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_text_decodes_arcs() {
        assert_eq!(oid_text(oids::RSA), "1.2.840.113549.1.1.1");
        assert_eq!(oid_text(oids::ED25519), "1.3.101.112");
    }

    #[test]
    fn bignum_checks_stop_when_the_budget_is_spent() {
        let der = include_bytes!("../../tests/keys/rsa1024-pkcs1.der");
        let mut budget = Budget::new(0);
        assert!(pkcs1(der, &mut budget).is_some());
        budget.bignum = 0;
        assert!(pkcs1(der, &mut budget).is_none());
        assert!(budget.exhausted);
    }
}
