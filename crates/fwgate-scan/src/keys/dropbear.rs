//! Dropbear's private key files (`dropbearkey -f F`, `/etc/dropbear/dropbear_*_host_key`):
//! SSH wire values with no container. Layouts from Dropbear's `buf_put_*_priv_key`:
//! `ssh-rsa` e n d p q; `ssh-dss` p q g y x; `ssh-ed25519` string(seed ‖ public);
//! `ecdsa-sha2-nistpN` string curve, string Q, mpint d.

use super::oids;
use super::ssh::{self, Wire};
use super::{key_id, Budget, KeyInfo, Kind};

/// The Dropbear key at the start of `data` and the bytes it spans, when its numbers agree:
/// RSA `p·q = n`, DSA `y = gˣ mod p`, Ed25519 public key derived from the seed, ECDSA point
/// and scalar of the curve's size.
pub fn key(data: &[u8], budget: &mut Budget) -> Option<(KeyInfo, usize)> {
    let mut w = Wire::new(data);
    let kind = w.string()?;
    let (algorithm, bits, id) = match kind {
        b"ssh-rsa" => {
            let (_e, n, _d, p, q) = (w.mpint()?, w.mpint()?, w.mpint()?, w.mpint()?, w.mpint()?);
            let e_ok = _e.last().is_some_and(|b| b & 1 == 1);
            if !e_ok || !ssh::rsa_factors_ok(n, p, q, budget) {
                return None;
            }
            ("RSA".to_string(), super::der::bits(n), key_id("rsa", n))
        }
        b"ssh-dss" => {
            let mut look = w;
            let p = look.mpint()?;
            let y = ssh::dss_private(&mut w, None, budget)?;
            ("DSA".to_string(), super::der::bits(p), key_id("dsa", y))
        }
        b"ssh-ed25519" => {
            let secret = w.string()?;
            let public = secret.get(32..)?;
            if secret.len() != 64 || !ssh::ed25519_pair_ok(secret, public, budget) {
                return None;
            }
            ("Ed25519".to_string(), 256, key_id("ed25519", public))
        }
        k => {
            let curve = oids::curve_by_ssh(k.strip_prefix(b"ecdsa-sha2-")?)?;
            let (name, q, d) = (w.string()?, w.string()?, w.mpint());
            if name != curve.ssh.as_bytes()
                || q.first() != Some(&4)
                || !curve.point_ok(q)
                || !ssh::scalar_ok(d, curve)
            {
                return None;
            }
            (format!("EC {}", curve.name), curve.bits, key_id("ec", q))
        }
    };
    let info = KeyInfo {
        kind: Kind::Dropbear,
        algorithm,
        bits: Some(bits),
        encrypted: false,
        id,
    };
    Some((info, w.consumed()))
}
