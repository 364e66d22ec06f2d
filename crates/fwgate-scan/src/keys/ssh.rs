//! SSH wire format (RFC 4251 strings and mpints), public key blobs, and OpenSSH's
//! `openssh-key-v1` private key container (PROTOCOL.key in OpenSSH).

use num_bigint::BigUint;

use super::oids::{self, Curve};
use super::{key_id, pkcs, Budget, KeyInfo, Kind};

/// The magic that opens an OpenSSH private key container.
pub const OPENSSH_MAGIC: &[u8] = b"openssh-key-v1\0";

/// A reader of SSH wire values over borrowed bytes.
#[derive(Debug, Clone, Copy)]
pub struct Wire<'a> {
    rest: &'a [u8],
    start_len: usize,
}

impl<'a> Wire<'a> {
    /// A reader at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Wire {
            rest: data,
            start_len: data.len(),
        }
    }

    /// Bytes read so far.
    pub fn consumed(&self) -> usize {
        self.start_len - self.rest.len()
    }

    /// The bytes not read yet.
    pub fn rest_bytes(&self) -> &'a [u8] {
        self.rest
    }

    /// True when everything has been read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// A big-endian u32.
    pub fn u32(&mut self) -> Option<u32> {
        let (head, tail) = self.rest.split_first_chunk::<4>()?;
        self.rest = tail;
        Some(u32::from_be_bytes(*head))
    }

    /// A length-prefixed string.
    pub fn string(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.u32()?).ok()?;
        let (value, tail) = (self.rest.get(..len)?, self.rest.get(len..)?);
        self.rest = tail;
        Some(value)
    }

    /// A non-negative mpint, as its magnitude without leading zero bytes; negative and
    /// non-minimal encodings are refused.
    pub fn mpint(&mut self) -> Option<&'a [u8]> {
        match self.string()? {
            [] => Some(&[]),
            [b, ..] if b & 0x80 != 0 => None,
            [0, next, ..] if next & 0x80 == 0 => None,
            [0] => None,
            [0, rest @ ..] => Some(rest),
            all => Some(all),
        }
    }
}

/// What a public key blob says.
#[derive(Debug, Clone)]
pub struct Public<'a> {
    /// The key type string (`ssh-ed25519`).
    pub kind: &'a [u8],
    /// `RSA`, `EC P-256`, `Ed25519`, …
    pub algorithm: String,
    /// Modulus, prime or curve size.
    pub bits: Option<u32>,
    /// The key id (see [`KeyHit::id`](super::KeyHit::id)).
    pub id: [u8; 32],
    /// The component a private section must repeat: RSA n, DSA p, EC point, Ed25519 key.
    pub main: &'a [u8],
}

fn ec_kind(kind: &[u8]) -> Option<Curve> {
    oids::curve_by_ssh(kind.strip_prefix(b"ecdsa-sha2-")?)
}

/// Parses a whole public key blob (`string type, …`).
pub fn public_blob(blob: &[u8]) -> Option<Public<'_>> {
    let mut w = Wire::new(blob);
    let kind = w.string()?;
    let (algorithm, bits, id, main) = match kind {
        b"ssh-rsa" => {
            let _e = w.mpint()?;
            let n = w.mpint()?;
            let bits = super::der::bits(n);
            if bits < 256 {
                return None;
            }
            ("RSA".to_string(), bits, key_id("rsa", n), n)
        }
        b"ssh-dss" => {
            let (p, _q, _g, y) = (w.mpint()?, w.mpint()?, w.mpint()?, w.mpint()?);
            ("DSA".to_string(), super::der::bits(p), key_id("dsa", y), p)
        }
        b"ssh-ed25519" => {
            let pk = w.string().filter(|k| k.len() == 32)?;
            ("Ed25519".to_string(), 256, key_id("ed25519", pk), pk)
        }
        b"sk-ssh-ed25519@openssh.com" => {
            let pk = w.string().filter(|k| k.len() == 32)?;
            w.string()?;
            ("Ed25519-SK".to_string(), 256, key_id("ed25519-sk", pk), pk)
        }
        b"sk-ecdsa-sha2-nistp256@openssh.com" => {
            let (curve, q) = (w.string()?, w.string()?);
            let c = oids::curve_by_ssh(curve).filter(|c| c.ssh == "nistp256" && c.point_ok(q))?;
            w.string()?;
            (format!("EC {}-SK", c.name), c.bits, key_id("ec-sk", q), q)
        }
        k => {
            let c = ec_kind(k)?;
            let (curve, q) = (w.string()?, w.string()?);
            if curve != c.ssh.as_bytes() || !c.point_ok(q) {
                return None;
            }
            (format!("EC {}", c.name), c.bits, key_id("ec", q), q)
        }
    };
    w.is_empty().then_some(Public {
        kind,
        algorithm,
        bits: Some(bits),
        id,
        main,
    })
}

/// An OpenSSH private key container at the start of `data`; returns the key and the bytes
/// it spans. Unencrypted: check integers equal, the private key repeats the public one (and
/// RSA `p·q = n`, DSA `y = gˣ mod p`, Ed25519 seed → public key), padding 1, 2, 3…
/// Encrypted: bcrypt KDF options and whole cipher blocks.
pub fn openssh(data: &[u8], budget: &mut Budget) -> Option<(KeyInfo, usize)> {
    let mut w = Wire::new(data.strip_prefix(OPENSSH_MAGIC)?);
    let (cipher, kdf, kdf_options) = (w.string()?, w.string()?, w.string()?);
    if w.u32()? != 1 {
        return None;
    }
    let public = public_blob(w.string()?)?;
    let private = w.string()?;
    let encrypted = cipher != b"none";
    if encrypted {
        let mut opts = Wire::new(kdf_options);
        let salt = opts.string()?;
        let rounds = opts.u32()?;
        let cipher_ok = !cipher.is_empty() && cipher.iter().all(|b| b.is_ascii_graphic());
        let shape_ok =
            kdf == b"bcrypt" && (1..=64).contains(&salt.len()) && rounds > 0 && opts.is_empty();
        if !cipher_ok || !shape_ok || private.is_empty() || !private.len().is_multiple_of(8) {
            return None;
        }
    } else if kdf != b"none" || !kdf_options.is_empty() || !private_ok(private, &public, budget) {
        return None;
    }
    let key = KeyInfo {
        kind: Kind::OpenSsh,
        algorithm: public.algorithm,
        bits: public.bits,
        encrypted,
        id: public.id,
    };
    Some((key, OPENSSH_MAGIC.len() + w.consumed()))
}

/// The unencrypted private section: checkint ×2, one key, comment, padding.
fn private_ok(section: &[u8], public: &Public<'_>, budget: &mut Budget) -> bool {
    let mut w = Wire::new(section);
    let (Some(a), Some(b)) = (w.u32(), w.u32()) else {
        return false;
    };
    if a != b || w.string() != Some(public.kind) {
        return false;
    }
    let key_ok = match public.kind {
        b"ssh-ed25519" => {
            let (pk, sk) = (w.string(), w.string());
            pk == Some(public.main) && sk.is_some_and(|sk| ed25519_pair_ok(sk, public.main, budget))
        }
        b"ssh-rsa" => rsa_private(&mut w, public.main, budget),
        b"ssh-dss" => dss_private(&mut w, Some(public.main), budget).is_some(),
        kind if ec_kind(kind).is_some() => {
            let curve = ec_kind(kind);
            let (name, q, d) = (w.string(), w.string(), w.mpint());
            curve.is_some_and(|c| {
                name == Some(c.ssh.as_bytes()) && q == Some(public.main) && scalar_ok(d, c)
            })
        }
        // Security-key types hold a handle, not a secret; the check integers and type suffice.
        _ => true,
    };
    if !key_ok {
        return false;
    }
    if !public.kind.starts_with(b"sk-") {
        if w.string().is_none() {
            return false;
        }
        return padding_ok(w.rest_bytes());
    }
    true
}

fn padding_ok(pad: &[u8]) -> bool {
    pad.len() < 16
        && pad
            .iter()
            .enumerate()
            .all(|(i, b)| usize::from(*b) == i + 1)
}

/// OpenSSH RSA private: n e d iqmp p q, with n equal to the public modulus and `p·q = n`.
fn rsa_private(w: &mut Wire<'_>, n_pub: &[u8], budget: &mut Budget) -> bool {
    let vals: Option<[&[u8]; 6]> = (|| {
        Some([
            w.mpint()?,
            w.mpint()?,
            w.mpint()?,
            w.mpint()?,
            w.mpint()?,
            w.mpint()?,
        ])
    })();
    let Some([n, _e, _d, _iqmp, p, q]) = vals else {
        return false;
    };
    n == n_pub && rsa_factors_ok(n, p, q, budget)
}

/// `p·q = n` for a modulus within the size bounds.
pub fn rsa_factors_ok(n: &[u8], p: &[u8], q: &[u8], budget: &mut Budget) -> bool {
    let bits = super::der::bits(n);
    (256..=16_384).contains(&bits)
        && !p.is_empty()
        && !q.is_empty()
        && budget.bignum()
        && BigUint::from_bytes_be(p) * BigUint::from_bytes_be(q) == BigUint::from_bytes_be(n)
}

/// DSA private in SSH order p q g y x; returns y after checking `y = gˣ mod p`.
pub fn dss_private<'a>(
    w: &mut Wire<'a>,
    p_pub: Option<&[u8]>,
    budget: &mut Budget,
) -> Option<&'a [u8]> {
    let (p, q, g, y, x) = (w.mpint()?, w.mpint()?, w.mpint()?, w.mpint()?, w.mpint()?);
    if p_pub.is_some_and(|pp| pp != p) {
        return None;
    }
    pkcs::dsa_check(p, q, g, x, Some(y), budget)?;
    Some(y)
}

/// An EC private scalar: present, non-zero, no longer than the curve.
pub fn scalar_ok(d: Option<&[u8]>, curve: Curve) -> bool {
    d.is_some_and(|d| !d.is_empty() && d.len() <= curve.bytes())
}

/// Ed25519 secret as SSH stores it: seed (32) ‖ public key (32), the public key derived
/// from the seed.
pub fn ed25519_pair_ok(secret: &[u8], public: &[u8], budget: &mut Budget) -> bool {
    let Some((seed, pk)) = secret.split_first_chunk::<32>() else {
        return false;
    };
    if pk != public || !budget.bignum() {
        return false;
    }
    let derived = ed25519_dalek::SigningKey::from_bytes(seed)
        .verifying_key()
        .to_bytes();
    pk.len() == 32 && pk == public && derived == pk
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpint_refuses_negative_and_padding() {
        let enc = |v: &[u8]| {
            let mut out = u32::try_from(v.len()).unwrap().to_be_bytes().to_vec();
            out.extend_from_slice(v);
            out
        };
        assert_eq!(Wire::new(&enc(&[0x00, 0x80])).mpint(), Some(&[0x80][..]));
        assert_eq!(Wire::new(&enc(&[0x80])).mpint(), None);
        assert_eq!(Wire::new(&enc(&[0x00, 0x01])).mpint(), None);
        assert_eq!(Wire::new(&enc(&[])).mpint(), Some(&[][..]));
        assert_eq!(Wire::new(&[0, 0, 0, 9, 1]).string(), None);
    }

    #[test]
    fn padding_must_count_up() {
        assert!(padding_ok(&[1, 2, 3]));
        assert!(padding_ok(&[]));
        assert!(!padding_ok(&[1, 3]));
        assert!(!padding_ok(&[0]));
    }
}
