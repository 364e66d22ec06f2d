//! File digests, streamed in constant memory: BLAKE2b-512 (what minisign signs) and SHA-256
//! (what the trusted comment, the attestations and the evidence name), each on its own core.

use std::io::Read;
use std::sync::mpsc::sync_channel;
use std::sync::Arc;

use blake2::{Blake2b512, Digest};
use sha2::Sha256;

/// Bytes read at a time; a few of these are in flight, whatever the file's size.
const CHUNK: usize = 1 << 20;
/// Chunks queued for each hasher before the reader waits.
const QUEUE: usize = 4;

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

impl FileDigests {
    /// Reads `src` to the end and computes both digests.
    pub fn compute(src: &mut dyn Read) -> std::io::Result<FileDigests> {
        Self::compute_some(src, Algorithms::Both)
    }

    /// Reads `src` to the end and computes the digests asked for. With both, each hash runs
    /// on its own thread while this one reads, so the pair costs about as much as the slower.
    pub fn compute_some(src: &mut dyn Read, which: Algorithms) -> std::io::Result<FileDigests> {
        let mut size = 0u64;
        let mut out = FileDigests {
            blake2b: [0; 64],
            sha256: String::new(),
            size: 0,
        };
        match which {
            Algorithms::Sha256 | Algorithms::Blake2b => {
                let mut s = Sha256::new();
                let mut b = Blake2b512::new();
                let mut buf = vec![0u8; CHUNK];
                loop {
                    let n = read_full(src, &mut buf)?;
                    if n == 0 {
                        break;
                    }
                    if which == Algorithms::Sha256 {
                        s.update(&buf[..n]);
                    } else {
                        b.update(&buf[..n]);
                    }
                    size += n as u64;
                }
                if which == Algorithms::Sha256 {
                    out.sha256 = hex::encode(s.finalize());
                } else {
                    out.blake2b = b.finalize().into();
                }
            }
            Algorithms::Both => {
                // Buffers go round: reader → both hashers → back to the reader once both
                // have dropped their handle, so memory stays at QUEUE + 2 chunks and no page
                // is faulted in twice.
                let (tx_s, rx_s) = sync_channel::<Arc<Vec<u8>>>(QUEUE);
                let (tx_b, rx_b) = sync_channel::<Arc<Vec<u8>>>(QUEUE);
                let (tx_free, rx_free) = sync_channel::<Arc<Vec<u8>>>(2 * QUEUE + 4);
                let (sha, blake, read) = std::thread::scope(|scope| {
                    let sha = scope.spawn(move || {
                        let mut h = Sha256::new();
                        for chunk in rx_s {
                            h.update(chunk.as_slice());
                        }
                        h.finalize()
                    });
                    let blake = scope.spawn(move || {
                        let mut h = Blake2b512::new();
                        for chunk in rx_b {
                            h.update(chunk.as_slice());
                            // The last holder hands the buffer back.
                            let _ = tx_free.try_send(chunk);
                        }
                        h.finalize()
                    });
                    let read = (|| -> std::io::Result<()> {
                        let mut spare: Vec<Arc<Vec<u8>>> = Vec::new();
                        loop {
                            spare.extend(rx_free.try_iter());
                            let mut buf = spare
                                .iter()
                                .position(|a| Arc::strong_count(a) == 1)
                                .map(|i| spare.swap_remove(i))
                                .and_then(|a| Arc::try_unwrap(a).ok())
                                .unwrap_or_else(|| vec![0u8; CHUNK]);
                            buf.resize(CHUNK, 0);
                            let n = read_full(src, &mut buf)?;
                            if n == 0 {
                                return Ok(());
                            }
                            buf.truncate(n);
                            size += n as u64;
                            let chunk = Arc::new(buf);
                            // A hasher only stops early by panicking; then stop reading.
                            if tx_s.send(Arc::clone(&chunk)).is_err() || tx_b.send(chunk).is_err() {
                                return Ok(());
                            }
                        }
                    })();
                    drop((tx_s, tx_b));
                    (sha.join(), blake.join(), read)
                });
                read?;
                let (Ok(sha), Ok(blake)) = (sha, blake) else {
                    return Err(std::io::Error::other("a hashing thread failed"));
                };
                out.sha256 = hex::encode(sha);
                out.blake2b = blake.into();
            }
        }
        out.size = size;
        Ok(out)
    }

    /// BLAKE2b-512 as lowercase hex (what `b2sum` prints).
    pub fn blake2b_hex(&self) -> String {
        hex::encode(self.blake2b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_matches_each_alone_across_chunk_boundaries() {
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let both = FileDigests::compute(&mut &data[..]).unwrap();
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
