//! File contents: data blocks and tail fragments, decoded on both cores.
//!
//! Reading a block from the image must happen in order (it records the bytes used and goes
//! through one `Fs`), but decoding it is a pure function of its bytes. So files are written in
//! batches: the walk queues them ([`Batch::push`]); when a batch is full its small files'
//! stored blocks are read and decoded on the pool (rayon) in the background, while the batch
//! before it is written, in the order the walk found the files. A large file is streamed
//! instead, [`AHEAD`] blocks at a time, each group decoded in parallel. Memory stays bounded:
//! two batches of at most [`BATCH_BYTES`] of decoded data each, and `AHEAD` blocks of a large
//! file.

use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::rc::Rc;

use rayon::prelude::*;

use super::disk::{Comp, Fs, RawBlock, R, UNCOMPRESSED_BLOCK};
use super::FileInode;
use crate::handler::{Attrs, Output};
use crate::Result;

/// Decoded bytes a batch may hold before it is written.
const BATCH_BYTES: u64 = 24 << 20;
/// Files a batch may hold before it is written.
const BATCH_FILES: usize = 2048;
/// A file larger than this is streamed on its own rather than batched.
const LARGE_FILE: u64 = 4 << 20;
/// Blocks a streamed file reads ahead and decodes together.
const AHEAD: usize = 32;

/// One queued entry, written in queue order.
pub(crate) enum Job {
    File {
        name: String,
        attrs: Attrs,
        inode: FileInode,
    },
    Hardlink {
        name: String,
        target: String,
    },
}

/// Files waiting to be written.
#[derive(Default)]
pub(crate) struct Batch {
    jobs: Vec<Job>,
    /// Decoded bytes the small files and their fragment blocks will take.
    bytes: u64,
    /// The previous batch, read and decoding on the other cores while this one fills; it is
    /// written before this one, so files are written in the order the walk found them.
    decoding: Option<InFlight>,
}

/// A batch whose blocks were read and are being decoded in the background.
struct InFlight {
    jobs: Vec<Job>,
    plans: Vec<Option<Vec<Piece>>>,
    decoded: std::sync::mpsc::Receiver<Vec<R<Vec<u8>>>>,
}

impl Batch {
    /// Queues a file; once the batch is full, starts decoding it and writes the one before.
    pub(crate) fn push(&mut self, fs: &mut Fs, out: &mut Output<'_>, job: Job) -> Result<()> {
        if let Job::File { inode, .. } = &job {
            if inode.size <= LARGE_FILE {
                let tail = if inode.fragment.is_some() {
                    u64::from(fs.sb.block_size)
                } else {
                    0
                };
                self.bytes = self.bytes.saturating_add(inode.size).saturating_add(tail);
            }
        }
        self.jobs.push(job);
        if self.bytes >= BATCH_BYTES || self.jobs.len() >= BATCH_FILES {
            self.cut(fs, out)?;
        }
        Ok(())
    }

    /// Writes every queued file, in order.
    pub(crate) fn flush(&mut self, fs: &mut Fs, out: &mut Output<'_>) -> Result<()> {
        self.cut(fs, out)?;
        match self.decoding.take() {
            Some(last) => last.write(fs, out),
            None => Ok(()),
        }
    }

    /// Reads the queued small files' blocks (in order: reading records the bytes used),
    /// starts decoding them on the pool, and writes the batch decoding before it.
    fn cut(&mut self, fs: &mut Fs, out: &mut Output<'_>) -> Result<()> {
        let jobs = std::mem::take(&mut self.jobs);
        self.bytes = 0;
        let mut plans: Vec<Option<Vec<Piece>>> = Vec::with_capacity(jobs.len());
        let mut reads = Reads::default();
        for job in &jobs {
            match job {
                Job::File { inode, .. } if inode.size <= LARGE_FILE => {
                    out.check_time()?;
                    plans.push(Some(reads.plan(fs, inode)));
                }
                _ => plans.push(None),
            }
        }
        let (send, decoded) = std::sync::mpsc::channel();
        let (comp, bs, raw) = (fs.sb.comp, fs.sb.block_size, reads.raw);
        rayon::spawn(move || {
            let _ = send.send(decode_all(raw, comp, bs));
        });
        let next = InFlight {
            jobs,
            plans,
            decoded,
        };
        match self.decoding.replace(next) {
            Some(previous) => previous.write(fs, out),
            None => Ok(()),
        }
    }
}

impl InFlight {
    /// Waits for the batch's blocks and writes its files, in order.
    fn write(self, fs: &mut Fs, out: &mut Output<'_>) -> Result<()> {
        let decoded: Vec<R<Rc<[u8]>>> = self
            .decoded
            .recv()
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.map(Rc::from))
            .collect();
        for (job, plan) in self.jobs.into_iter().zip(self.plans) {
            out.check_time()?;
            match job {
                Job::Hardlink { name, target } => out.hardlink(&name, &target)?,
                Job::File { name, attrs, inode } => match plan {
                    Some(pieces) => {
                        let mut r = Decoded::new(pieces, &decoded);
                        out.file(&name, &mut r, attrs)?;
                    }
                    None => {
                        let mut r = Streamed::new(fs, inode);
                        out.file(&name, &mut r, attrs)?;
                    }
                },
            }
        }
        Ok(())
    }
}

/// Decodes stored blocks on all cores.
fn decode_all(raw: Vec<R<RawBlock>>, comp: Comp, bs: u32) -> Vec<R<Vec<u8>>> {
    raw.into_par_iter()
        .map(|r| r.and_then(|b| b.decode(comp, bs)))
        .collect()
}

/// One part of a file's contents.
enum Piece {
    /// `want` bytes of the decoded block read as number `index`.
    Block { index: usize, want: usize },
    /// `want` bytes at `offset` in the fragment block read as number `index`.
    Tail {
        index: usize,
        offset: usize,
        want: usize,
        fragment: u32,
    },
    /// A hole: `want` zero bytes.
    Zeros(usize),
    /// The file cannot be read past here.
    Fail(String),
}

/// Stored blocks read for a batch (in image order), fragment blocks read once each.
#[derive(Default)]
struct Reads {
    raw: Vec<R<RawBlock>>,
    /// Fragment block position to its index in `raw`.
    fragments: HashMap<u64, usize>,
}

impl Reads {
    /// Lists a file's pieces, reading its stored blocks (and its fragment block, once per
    /// batch) from the image.
    fn plan(&mut self, fs: &mut Fs, f: &FileInode) -> Vec<Piece> {
        let bs = u64::from(fs.sb.block_size);
        let mut pieces = Vec::with_capacity(f.blocks.len() + 1);
        let mut left = f.size;
        let mut pos = f.blocks_start;
        let mut next = 0;
        while left > 0 {
            let want = left.min(bs) as usize;
            if let Some(&word) = f.blocks.get(next) {
                next += 1;
                let on_disk = u64::from(word & !UNCOMPRESSED_BLOCK);
                if on_disk == 0 {
                    pieces.push(Piece::Zeros(want));
                } else {
                    self.raw.push(fs.block_raw(pos, word));
                    pieces.push(Piece::Block {
                        index: self.raw.len() - 1,
                        want,
                    });
                    pos = pos.saturating_add(on_disk);
                }
            } else if let Some((fragment, offset)) = f.fragment {
                match fs.fragment(fragment) {
                    Ok((start, word)) => {
                        let index = match self.fragments.get(&start) {
                            Some(&i) => i,
                            None => {
                                self.raw.push(fs.block_raw(start, word));
                                self.fragments.insert(start, self.raw.len() - 1);
                                self.raw.len() - 1
                            }
                        };
                        pieces.push(Piece::Tail {
                            index,
                            offset: offset as usize,
                            want,
                            fragment,
                        });
                    }
                    Err(e) => pieces.push(Piece::Fail(e)),
                }
                break;
            } else {
                pieces.push(Piece::Fail(
                    "the block list ends before the file does".into(),
                ));
                break;
            }
            left -= want as u64;
        }
        pieces
    }

    /// Decodes every block read, on all cores, and waits for them.
    fn decode(self, fs: &Fs) -> Vec<R<Rc<[u8]>>> {
        decode_all(self.raw, fs.sb.comp, fs.sb.block_size)
            .into_iter()
            .map(|r| r.map(Rc::from))
            .collect()
    }
}

/// The bytes of one piece, checked against the length the file needs there.
fn piece_bytes(piece: &Piece, decoded: &[R<Rc<[u8]>>]) -> R<Chunk> {
    match piece {
        Piece::Block { index, want } => {
            let b = decoded
                .get(*index)
                .ok_or("internal: block not read")?
                .as_ref()
                .map_err(Clone::clone)?;
            if b.len() != *want {
                return Err(format!(
                    "a block holds {} bytes where the file needs {want}",
                    b.len()
                ));
            }
            Ok(Chunk::Shared(Rc::clone(b), 0, *want))
        }
        Piece::Tail {
            index,
            offset,
            want,
            fragment,
        } => {
            let b = decoded
                .get(*index)
                .ok_or("internal: fragment not read")?
                .as_ref()
                .map_err(Clone::clone)?;
            if offset.saturating_add(*want) > b.len() {
                return Err(format!(
                    "tail of {want} bytes at offset {offset} lies outside fragment {fragment}"
                ));
            }
            Ok(Chunk::Shared(Rc::clone(b), *offset, *want))
        }
        Piece::Zeros(n) => Ok(Chunk::Zeros(*n)),
        Piece::Fail(e) => Err(e.clone()),
    }
}

/// Bytes ready to be copied out.
enum Chunk {
    Shared(Rc<[u8]>, usize, usize),
    Zeros(usize),
}

/// Copies from the front of `chunks` into `buf`; `Ok(0)` once they are exhausted.
fn copy_out(chunks: &mut VecDeque<Chunk>, buf: &mut [u8]) -> usize {
    while let Some(front) = chunks.front_mut() {
        match front {
            Chunk::Shared(b, at, len) if *len > 0 => {
                let n = buf.len().min(*len);
                buf[..n].copy_from_slice(&b[*at..*at + n]);
                *at += n;
                *len -= n;
                return n;
            }
            Chunk::Zeros(len) if *len > 0 => {
                let n = buf.len().min(*len);
                buf[..n].fill(0);
                *len -= n;
                return n;
            }
            _ => {
                chunks.pop_front();
            }
        }
    }
    0
}

/// A small file's contents, from the batch's decoded blocks.
struct Decoded<'d> {
    pieces: VecDeque<Piece>,
    decoded: &'d [R<Rc<[u8]>>],
    ready: VecDeque<Chunk>,
}

impl<'d> Decoded<'d> {
    fn new(pieces: Vec<Piece>, decoded: &'d [R<Rc<[u8]>>]) -> Self {
        Decoded {
            pieces: pieces.into(),
            decoded,
            ready: VecDeque::new(),
        }
    }
}

impl Read for Decoded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = copy_out(&mut self.ready, buf);
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            let Some(piece) = self.pieces.pop_front() else {
                return Ok(0);
            };
            let chunk = piece_bytes(&piece, self.decoded).map_err(std::io::Error::other)?;
            self.ready.push_back(chunk);
        }
    }
}

/// A large file's contents, read and decoded [`AHEAD`] blocks at a time.
struct Streamed<'f> {
    fs: &'f mut Fs,
    inode: FileInode,
    /// Blocks of the inode's list consumed so far, and where the next one is stored.
    next: usize,
    pos: u64,
    left: u64,
    ready: VecDeque<Chunk>,
    failed: Option<String>,
}

impl<'f> Streamed<'f> {
    fn new(fs: &'f mut Fs, inode: FileInode) -> Self {
        Streamed {
            pos: inode.blocks_start,
            left: inode.size,
            fs,
            inode,
            next: 0,
            ready: VecDeque::new(),
            failed: None,
        }
    }

    /// Reads up to `AHEAD` more pieces and decodes their blocks together.
    fn refill(&mut self) -> R<()> {
        let bs = u64::from(self.fs.sb.block_size);
        let mut reads = Reads::default();
        let mut pieces = Vec::new();
        while self.left > 0 && pieces.len() < AHEAD {
            let want = self.left.min(bs) as usize;
            if let Some(&word) = self.inode.blocks.get(self.next) {
                self.next += 1;
                let on_disk = u64::from(word & !UNCOMPRESSED_BLOCK);
                if on_disk == 0 {
                    pieces.push(Piece::Zeros(want));
                } else {
                    reads.raw.push(self.fs.block_raw(self.pos, word));
                    pieces.push(Piece::Block {
                        index: reads.raw.len() - 1,
                        want,
                    });
                    self.pos = self.pos.saturating_add(on_disk);
                }
                self.left -= want as u64;
            } else {
                // The tail, if any, as a small file's would be: one fragment piece.
                let rest = FileInode {
                    blocks_start: self.pos,
                    fragment: self.inode.fragment,
                    size: self.left,
                    blocks: Vec::new(),
                };
                pieces.extend(reads.plan(self.fs, &rest));
                self.left = 0;
            }
        }
        let decoded = reads.decode(self.fs);
        for p in &pieces {
            self.ready.push_back(piece_bytes(p, &decoded)?);
        }
        Ok(())
    }
}

impl Read for Streamed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = copy_out(&mut self.ready, buf);
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            if let Some(e) = &self.failed {
                return Err(std::io::Error::other(e.clone()));
            }
            if self.left == 0 {
                return Ok(0);
            }
            if let Err(e) = self.refill() {
                // What decoded before the failure is still written, then the error.
                self.failed = Some(e);
            }
        }
    }
}
