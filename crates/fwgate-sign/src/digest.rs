//! File digests, streamed in constant memory: BLAKE2b-512 (what minisign signs) and SHA-256
//! (what the trusted comment, the attestations and the evidence name).
//!
//! One thread reads; each digest runs on a thread of its own, fed the same reference-counted
//! chunks, so reading overlaps hashing and two digests cost about as much as the slower one.
//! A caller can ride along on the reading thread (raw Ed25519 signing feeds SHA-512 there).
//! BLAKE2b comes from `blake2b_simd` (AVX2 when the CPU has it: about twice the portable
//! `blake2` crate); SHA-256 from `sha2`, which uses the SHA extensions when present.

use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use sha2::{Digest, Sha256};

/// Bytes read at a time; a few of these are in flight, whatever the file's size.
const CHUNK: usize = 1 << 20;
/// Chunks queued for each hasher before the reader waits.
const QUEUE: usize = 4;
/// Buffers in circulation at most: the queues, one in each hasher's hands, one being read.
const BUFFERS: usize = 2 * QUEUE + 3;

/// Which digests to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithms {
    /// SHA-256 only.
    Sha256,
    /// BLAKE2b-512 only.
    Blake2b,
    /// Both, in one read of the file.
    Both,
}

impl Algorithms {
    fn sha256(self) -> bool {
        self != Algorithms::Blake2b
    }
    fn blake2b(self) -> bool {
        self != Algorithms::Sha256
    }
}

/// Digests of a file computed in one pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigests {
    /// BLAKE2b-512 (zero when not asked for).
    pub blake2b: [u8; 64],
    /// SHA-256, lowercase hex (empty when not asked for).
    pub sha256: String,
    /// Bytes read.
    pub size: u64,
}

fn read_full(src: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match src.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

type Chunk = Arc<Vec<u8>>;

/// A hashing thread's loop: chunks into `state`; the last holder of a chunk hands its buffer
/// back to the reader.
fn hasher<H>(
    rx: Receiver<Chunk>,
    free: SyncSender<Vec<u8>>,
    mut state: H,
    update: impl Fn(&mut H, &[u8]),
) -> H {
    for chunk in rx {
        update(&mut state, chunk.as_slice());
        if let Some(buf) = Arc::into_inner(chunk) {
            let _ = free.try_send(buf);
        }
    }
    state
}

/// Reads `src` to the end once, computing the digests in `which` on their own threads and
/// handing every chunk, in order, to `along` on this one.
pub(crate) fn read_with(
    src: &mut dyn Read,
    which: Algorithms,
    mut along: impl FnMut(&[u8]),
) -> std::io::Result<FileDigests> {
    // Room for every buffer, so handing one back never fails (and nothing is freed).
    let (tx_free, rx_free) = sync_channel::<Vec<u8>>(BUFFERS);
    let (tx_s, rx_s) = sync_channel::<Chunk>(QUEUE);
    let (tx_b, rx_b) = sync_channel::<Chunk>(QUEUE);
    let mut size = 0u64;
    let (sha, blake, read) = std::thread::scope(|scope| {
        let sha = which.sha256().then(|| {
            let free = tx_free.clone();
            scope.spawn(move || hasher(rx_s, free, Sha256::new(), |h, b| h.update(b)).finalize())
        });
        let blake = which.blake2b().then(|| {
            let free = tx_free.clone();
            scope.spawn(move || {
                let state = blake2b_simd::Params::new().hash_length(64).to_state();
                hasher(rx_b, free, state, |h, b| {
                    h.update(b);
                })
                .finalize()
            })
        });
        drop(tx_free);
        let (tx_s, tx_b) = (
            which.sha256().then_some(tx_s),
            which.blake2b().then_some(tx_b),
        );
        let read = (|| -> std::io::Result<()> {
            // Buffers go round (reader → hashers → back), so the same few pages are reused
            // and memory stays at a handful of chunks for any size of file.
            let mut spare: Option<Vec<u8>> = None;
            let mut made = 0;
            loop {
                let mut buf = match spare.take().or_else(|| rx_free.try_recv().ok()) {
                    Some(b) => b,
                    None if made < BUFFERS => {
                        made += 1;
                        vec![0u8; CHUNK]
                    }
                    None => rx_free
                        .recv()
                        .map_err(|_| std::io::Error::other("a hashing thread failed"))?,
                };
                buf.resize(CHUNK, 0);
                let n = read_full(src, &mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                buf.truncate(n);
                size += n as u64;
                let chunk = Arc::new(buf);
                // A hasher only stops early by panicking; the join below reports it.
                for tx in [&tx_s, &tx_b].into_iter().flatten() {
                    if tx.send(Arc::clone(&chunk)).is_err() {
                        return Ok(());
                    }
                }
                along(chunk.as_slice());
                spare = Arc::into_inner(chunk);
            }
        })();
        drop((tx_s, tx_b));
        (sha.map(|h| h.join()), blake.map(|h| h.join()), read)
    });
    read?;
    let failed = || std::io::Error::other("a hashing thread failed");
    let mut out = FileDigests {
        blake2b: [0; 64],
        sha256: String::new(),
        size,
    };
    if let Some(sha) = sha {
        out.sha256 = hex::encode(sha.map_err(|_| failed())?);
    }
    if let Some(blake) = blake {
        out.blake2b
            .copy_from_slice(blake.map_err(|_| failed())?.as_bytes());
    }
    Ok(out)
}

impl FileDigests {
    /// Reads `src` to the end and computes both digests.
    pub fn compute(src: &mut dyn Read) -> std::io::Result<FileDigests> {
        Self::compute_some(src, Algorithms::Both)
    }

    /// Reads `src` to the end and computes the digests asked for.
    pub fn compute_some(src: &mut dyn Read, which: Algorithms) -> std::io::Result<FileDigests> {
        read_with(src, which, |_| {})
    }

    /// BLAKE2b-512 as lowercase hex (what `b2sum` prints).
    pub fn blake2b_hex(&self) -> String {
        hex::encode(self.blake2b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blake2::Blake2b512;

    #[test]
    fn one_pass_matches_each_alone_across_chunk_boundaries() {
        for len in [
            0,
            1,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            3 * CHUNK + 17,
            20 * CHUNK + 3,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let mut along = Vec::new();
            let both = read_with(&mut &data[..], Algorithms::Both, |b| {
                along.extend_from_slice(b)
            })
            .unwrap();
            assert_eq!(along, data, "the rider sees every byte in order");
            assert_eq!(both.size, len as u64);
            assert_eq!(both.sha256, hex::encode(Sha256::digest(&data)));
            assert_eq!(
                both.blake2b.as_slice(),
                Blake2b512::digest(&data).as_slice()
            );
            let s = FileDigests::compute_some(&mut &data[..], Algorithms::Sha256).unwrap();
            assert_eq!(s.sha256, both.sha256);
            let b = FileDigests::compute_some(&mut &data[..], Algorithms::Blake2b).unwrap();
            assert_eq!(b.blake2b, both.blake2b);
        }
    }

    #[test]
    fn a_read_error_is_reported() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0 == 0 {
                    return Err(std::io::Error::other("disk on fire"));
                }
                self.0 -= 1;
                buf[0] = 1;
                Ok(1)
            }
        }
        let err = FileDigests::compute(&mut Failing(5)).unwrap_err();
        assert!(err.to_string().contains("disk on fire"));
    }
}
