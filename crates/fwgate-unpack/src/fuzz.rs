//! Entry points for fuzz targets (`crates/fuzz`, cargo-fuzz on nightly) and for the stable
//! mutation tests: each runs one piece of the unpacker on arbitrary bytes *without* the
//! engine's panic guard, so that a panic is a crash the fuzzer sees.

use crate::handler::Output;
use crate::jail::Jail;
use crate::source::Source;
use crate::tree::Origin;
use crate::{Limits, HANDLERS, RECOGNISERS};

/// Limits small enough for a fuzzer's iteration rate.
pub fn limits() -> Limits {
    Limits {
        max_total_bytes: 64 << 20,
        max_file_bytes: 16 << 20,
        max_entries: 10_000,
        timeout: std::time::Duration::from_secs(10),
        ..Limits::default()
    }
}

/// Probes `data` with the handler `id` and, if it validates, extracts it into a fresh
/// directory under `scratch` (which must exist). Returns whether the probe validated.
pub fn handler(id: &str, data: &[u8], scratch: &std::path::Path) -> bool {
    let Some(h) = HANDLERS.iter().find(|h| h.id() == id) else {
        return false;
    };
    let src = Source::from_bytes(data);
    let Some(probe) = h.probe(&src) else {
        return false;
    };
    let Ok(mut jail) = Jail::create(&scratch.join("out"), limits()) else {
        return true;
    };
    let mut out = Output::new(&mut jail, format!("{id}@0x0"), Origin::default(), h.id());
    let _ = h.extract(&src, &probe, &mut out);
    true
}

/// Runs every recogniser on `data`.
pub fn recognisers(data: &[u8]) -> usize {
    let src = Source::from_bytes(data);
    RECOGNISERS
        .iter()
        .filter(|r| r.recognise(&src).is_some())
        .count()
}

/// `n` deterministic mutations of `seed` (bit flips, boundary bytes and words, truncation,
/// duplicated and deleted chunks), for fuzz-style tests that run on stable in bounded time.
pub fn mutations(seed: &[u8], n: usize, salt: u64) -> impl Iterator<Item = Vec<u8>> + '_ {
    let mut x = salt.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n).map(move |_| {
        let mut d = seed.to_vec();
        for _ in 0..1 + next() % 4 {
            if d.is_empty() {
                d.push(next() as u8);
                continue;
            }
            let at = (next() % d.len() as u64) as usize;
            match next() % 8 {
                0 | 1 => d[at] ^= 1 << (next() % 8),
                2 => d[at] = [0x00, 0xff, 0x7f, 0x80][(next() % 4) as usize],
                3 => {
                    let v: u32 =
                        [0, 1, 0x7fff_ffff, 0xffff_ffff, 0x8000, 0x1_0000][(next() % 6) as usize];
                    let end = (at + 4).min(d.len());
                    d[at..end].copy_from_slice(&v.to_le_bytes()[..end - at]);
                }
                4 => d.truncate(at),
                5 => {
                    let len = ((next() % 256) as usize).min(d.len() - at);
                    let chunk = d[at..at + len].to_vec();
                    d.splice(at..at, chunk);
                }
                6 => {
                    let len = ((next() % 256) as usize).min(d.len() - at);
                    d.drain(at..at + len);
                }
                _ => d.insert(at, next() as u8),
            }
        }
        d
    })
}
