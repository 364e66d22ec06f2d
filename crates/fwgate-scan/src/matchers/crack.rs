//! Password hash schemes outside crypt(3) that device images carry: Apache's apr1-md5 and
//! `{SHA}` (htpasswd), and Mosquitto's salted SHA-512 and PBKDF2 (`mosquitto_passwd`).
//! Hand-written because no maintained crate verifies them; each is a few lines over the
//! RustCrypto digests and checked against the reference tools' output in the tests.

use base64::Engine as _;
use md5::{Digest as _, Md5};
use sha2::Sha512;

const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn to64(out: &mut String, mut v: u32, n: usize) {
    for _ in 0..n {
        out.push(char::from(ITOA64[(v & 0x3f) as usize]));
        v >>= 6;
    }
}

/// md5-crypt with Apache's `$apr1$` magic: `$apr1$salt$hash`.
pub(crate) fn apr1(pw: &[u8], salt: &[u8]) -> String {
    const MAGIC: &[u8] = b"$apr1$";
    let salt = &salt[..salt.len().min(8)];
    let alt = Md5::new()
        .chain_update(pw)
        .chain_update(salt)
        .chain_update(pw)
        .finalize();
    let mut ctx = Md5::new()
        .chain_update(pw)
        .chain_update(MAGIC)
        .chain_update(salt);
    let mut left = pw.len();
    while left > 0 {
        let n = left.min(16);
        ctx.update(&alt[..n]);
        left -= n;
    }
    let mut i = pw.len();
    while i > 0 {
        if i & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&pw[..pw.len().min(1)]);
        }
        i >>= 1;
    }
    let mut fin = ctx.finalize();
    for r in 0..1000 {
        let mut c = Md5::new();
        if r & 1 == 1 {
            c.update(pw);
        } else {
            c.update(fin);
        }
        if r % 3 != 0 {
            c.update(salt);
        }
        if r % 7 != 0 {
            c.update(pw);
        }
        if r & 1 == 1 {
            c.update(fin);
        } else {
            c.update(pw);
        }
        fin = c.finalize();
    }
    let f = |i: usize| u32::from(fin[i]);
    let mut out = String::from("$apr1$");
    out.push_str(&String::from_utf8_lossy(salt));
    out.push('$');
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        to64(&mut out, (f(a) << 16) | (f(b) << 8) | f(c), 4);
    }
    to64(&mut out, f(11), 2);
    out
}

/// True when `pw` matches an htpasswd/Mosquitto hash of a scheme this module knows; `None`
/// when the hash is not one of them (or malformed).
pub(crate) fn verify(pw: &str, hash: &str) -> Option<bool> {
    let b64 = base64::engine::general_purpose::STANDARD;
    if let Some(rest) = hash.strip_prefix("$apr1$") {
        let salt = rest.split('$').next()?;
        return Some(apr1(pw.as_bytes(), salt.as_bytes()) == hash);
    }
    if let Some(d) = hash.strip_prefix("{SHA}") {
        let want = b64.decode(d).ok()?;
        return Some(sha1::Sha1::digest(pw.as_bytes()).as_slice() == want.as_slice());
    }
    let mut parts = hash.split('$').skip(1);
    match parts.next()? {
        // mosquitto 1.x: $6$base64(salt)$base64(sha512(password || salt)).
        "6" => {
            let salt = b64.decode(parts.next()?).ok()?;
            let want = b64.decode(parts.next()?).ok()?;
            let got = Sha512::new()
                .chain_update(pw)
                .chain_update(&salt)
                .finalize();
            Some(got.as_slice() == want.as_slice())
        }
        // mosquitto 2.x: $7$iterations$base64(salt)$base64(pbkdf2-hmac-sha512).
        "7" => {
            let rounds: u32 = parts.next()?.parse().ok()?;
            if rounds == 0 || rounds > MAX_PBKDF2_ROUNDS {
                return None;
            }
            let salt = b64.decode(parts.next()?).ok()?;
            let want = b64.decode(parts.next()?).ok()?;
            if want.is_empty() || want.len() > 64 {
                return None;
            }
            let mut got = vec![0u8; want.len()];
            pbkdf2::pbkdf2_hmac::<Sha512>(pw.as_bytes(), &salt, rounds, &mut got);
            Some(got == want)
        }
        _ => None,
    }
}

/// Highest PBKDF2 iteration count tried (mosquitto's default is 101).
pub(crate) const MAX_PBKDF2_ROUNDS: u32 = 100_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_outputs() {
        // openssl passwd -apr1 -salt abcdefgh admin
        assert_eq!(
            apr1(b"admin", b"abcdefgh"),
            "$apr1$abcdefgh$mMZnMi5KMcUTRCidnJ3Px0"
        );
        assert_eq!(
            verify("admin", "$apr1$abcdefgh$mMZnMi5KMcUTRCidnJ3Px0"),
            Some(true)
        );
        assert_eq!(
            verify("admiN", "$apr1$abcdefgh$mMZnMi5KMcUTRCidnJ3Px0"),
            Some(false)
        );
        // htpasswd -s: {SHA} + base64(sha1)
        assert_eq!(
            verify("admin", "{SHA}0DPiKuNIrrVmD8IUCuw1hQxNqZc="),
            Some(true)
        );
        // mosquitto_passwd 1.x and 2.x formats (computed with Python's hashlib)
        let m6 = "$6$MDEyMzQ1Njc4OWFiY2RlZg==$nge90KoQcgS261Kff3wzKJCHzFXPvaaS3zyhhA5g23gt05k7bdwdj9YzY/wAw7St0cDgFmT0OsPCY/MvR+EPzA==";
        let m7 = "$7$101$MDEyMzQ1Njc4OWFiY2RlZg==$vwZXSnw+niRte5e5T8y2NNuAsUUOxyyYbKRIUIC7uE8xVwvVHvJ5/mfPlJWCiLDom7CeyaUUGC5+mf91xbY5Wg==";
        assert_eq!(verify("admin", m6), Some(true));
        assert_eq!(verify("admin", m7), Some(true));
        assert_eq!(verify("root", m7), Some(false));
        assert_eq!(verify("admin", "$7$999999999$AA==$AA=="), None);
        assert_eq!(verify("admin", "$apr1"), None);
    }
}
