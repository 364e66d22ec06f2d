//! Object identifiers (as DER contents octets) and named curves the detector knows.

/// rsaEncryption, 1.2.840.113549.1.1.1.
pub const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// RSASSA-PSS, 1.2.840.113549.1.1.10.
pub const RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
/// id-ecPublicKey, 1.2.840.10045.2.1.
pub const EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// id-dsa, 1.2.840.10040.4.1.
pub const DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];
/// id-Ed25519, 1.3.101.112.
pub const ED25519: &[u8] = &[0x2b, 0x65, 0x70];
/// id-X25519, 1.3.101.110.
pub const X25519: &[u8] = &[0x2b, 0x65, 0x6e];
/// id-Ed448, 1.3.101.113.
pub const ED448: &[u8] = &[0x2b, 0x65, 0x71];
/// id-X448, 1.3.101.111.
pub const X448: &[u8] = &[0x2b, 0x65, 0x6f];
/// PKCS#7 data, 1.2.840.113549.1.7.1.
pub const PKCS7_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];

/// A named elliptic curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Curve {
    /// Display name, e.g. `P-256`.
    pub name: &'static str,
    /// Field size in bits.
    pub bits: u32,
    /// Its OID's contents octets.
    pub oid: &'static [u8],
    /// The SSH name (`nistp256`), empty when SSH has none.
    pub ssh: &'static str,
}

impl Curve {
    /// Bytes of a scalar or coordinate.
    pub fn bytes(&self) -> usize {
        usize::try_from(self.bits.div_ceil(8)).unwrap_or(usize::MAX)
    }

    /// Whether `point` has the length of an uncompressed (`04 X Y`) or compressed
    /// (`02|03 X`) SEC1 point on this curve.
    pub fn point_ok(&self, point: &[u8]) -> bool {
        match point.first() {
            Some(4) => point.len() == 1 + 2 * self.bytes(),
            Some(2 | 3) => point.len() == 1 + self.bytes(),
            _ => false,
        }
    }
}

const fn c(name: &'static str, bits: u32, oid: &'static [u8], ssh: &'static str) -> Curve {
    Curve {
        name,
        bits,
        oid,
        ssh,
    }
}

/// The curves recognised, by OID and SSH name.
pub const CURVES: &[Curve] = &[
    c(
        "P-256",
        256,
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
        "nistp256",
    ),
    c("P-384", 384, &[0x2b, 0x81, 0x04, 0x00, 0x22], "nistp384"),
    c("P-521", 521, &[0x2b, 0x81, 0x04, 0x00, 0x23], "nistp521"),
    c("P-224", 224, &[0x2b, 0x81, 0x04, 0x00, 0x21], ""),
    c(
        "P-192",
        192,
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x01],
        "",
    ),
    c("secp256k1", 256, &[0x2b, 0x81, 0x04, 0x00, 0x0a], ""),
    c(
        "brainpoolP256r1",
        256,
        &[0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07],
        "",
    ),
    c(
        "brainpoolP384r1",
        384,
        &[0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0b],
        "",
    ),
    c(
        "brainpoolP512r1",
        512,
        &[0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0d],
        "",
    ),
    c(
        "SM2",
        256,
        &[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d],
        "",
    ),
];

/// The curve with this OID.
pub fn curve_by_oid(oid: &[u8]) -> Option<Curve> {
    CURVES.iter().find(|c| c.oid == oid).copied()
}

/// The curve with this SSH name (`nistp256`).
pub fn curve_by_ssh(name: &[u8]) -> Option<Curve> {
    CURVES
        .iter()
        .find(|c| !c.ssh.is_empty() && c.ssh.as_bytes() == name)
        .copied()
}
