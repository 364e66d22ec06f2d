//! Password-based encryption of minisign secret keys: scrypt (libsodium's
//! `crypto_pwhash_scryptsalsa208sha256`) keyed by opslimit/memlimit, XORed over the key.

use zeroize::Zeroizing;

use crate::error::{format, Result};

/// minisign's defaults (libsodium's `*_SENSITIVE`): N = 2^20, r = 8, p = 1, 1 GiB of memory.
pub const OPSLIMIT: u64 = 33_554_432;
/// See [`OPSLIMIT`].
pub const MEMLIMIT: u64 = 1_073_741_824;

/// Refuse key files that ask for more memory than this (a hostile file could ask for any).
const MAX_MEMLIMIT: u64 = 4 << 30;

/// libsodium's mapping from (opslimit, memlimit) to scrypt's (log2 N, r, p).
pub fn pick_params(opslimit: u64, memlimit: u64) -> (u8, u32, u32) {
    let ops = opslimit.max(32_768);
    let r = 8u64;
    let first_log2_over = |max_n: u64| (1u8..63).find(|&n| (1u64 << n) > max_n / 2).unwrap_or(63);
    if ops < memlimit / 32 {
        let log_n = first_log2_over(ops / (r * 4));
        (log_n, r as u32, 1)
    } else {
        let log_n = first_log2_over(memlimit / (r * 128));
        let maxrp = ((ops / 4) >> log_n).min(0x3fff_ffff);
        (log_n, r as u32, (maxrp / r).max(1) as u32)
    }
}

/// Derives `len` key-stream bytes from the password.
pub fn stream(
    password: &[u8],
    salt: &[u8; 32],
    opslimit: u64,
    memlimit: u64,
    len: usize,
) -> Result<Zeroizing<Vec<u8>>> {
    if memlimit > MAX_MEMLIMIT {
        return Err(format(
            "secret key",
            format!("scrypt memlimit {memlimit} is larger than fwgate allows"),
        ));
    }
    let (log_n, r, p) = pick_params(opslimit, memlimit);
    let params = scrypt::Params::new(log_n, r, p, 32)
        .map_err(|e| format("secret key", format!("scrypt parameters: {e}")))?;
    let mut out = Zeroizing::new(vec![0u8; len]);
    scrypt::scrypt(password, salt, &params, &mut out)
        .map_err(|e| format("secret key", format!("scrypt: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minisign_defaults_map_to_n20_r8_p1() {
        assert_eq!(pick_params(OPSLIMIT, MEMLIMIT), (20, 8, 1));
        // libsodium's interactive limits: 524288 ops, 16 MiB.
        assert_eq!(pick_params(524_288, 16_777_216), (14, 8, 1));
    }
}
