//! Positional reads of a file, so that large images and children are never loaded whole.
//!
//! A [`Source`] is a window `[start, start + len)` onto an open file. Handlers read headers
//! and tables with [`Source::bytes`] (bounded by the caller) and stream contents with
//! [`Source::reader`]; memory is bounded by what a handler asks for, not by the input.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

/// A read-only window onto a file (or, for tests and fuzzing, bytes in memory).
#[derive(Debug, Clone)]
pub struct Source {
    backing: Backing,
    start: u64,
    len: u64,
}

#[derive(Debug, Clone)]
enum Backing {
    File(Arc<File>),
    Memory(Arc<[u8]>),
}

impl Source {
    /// Opens the whole file at `path`.
    pub fn open(path: &Path) -> io::Result<Source> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(Source {
            backing: Backing::File(Arc::new(file)),
            start: 0,
            len,
        })
    }

    /// A source over bytes in memory.
    pub fn from_bytes(bytes: &[u8]) -> Source {
        Source {
            backing: Backing::Memory(bytes.into()),
            start: 0,
            len: bytes.len() as u64,
        }
    }

    /// A path that opens exactly this file (the same inode, even if its name was replaced
    /// since), for a worker process of this one: `/proc/PID/fd/N` on Linux.
    pub fn reopen_path(&self) -> Option<std::path::PathBuf> {
        use std::os::fd::AsRawFd;
        match &self.backing {
            Backing::File(f) => {
                let p = std::path::PathBuf::from(format!(
                    "/proc/{}/fd/{}",
                    std::process::id(),
                    f.as_raw_fd()
                ));
                p.exists().then_some(p)
            }
            Backing::Memory(_) => None,
        }
    }

    /// Where the window starts in the file.
    pub fn offset(&self) -> u64 {
        self.start
    }

    /// Length of the window in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when the window holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The window `[off, off + len)` of this window, clamped to its end.
    pub fn slice(&self, off: u64, len: u64) -> Source {
        let off = off.min(self.len);
        Source {
            backing: self.backing.clone(),
            start: self.start + off,
            len: len.min(self.len - off),
        }
    }

    /// The window from `off` to the end.
    pub fn from(&self, off: u64) -> Source {
        self.slice(off, u64::MAX)
    }

    /// Reads into `buf` at `off`; returns how many bytes were read (fewer at the end).
    pub fn read_at(&self, off: u64, buf: &mut [u8]) -> io::Result<usize> {
        if off >= self.len {
            return Ok(0);
        }
        let want = (buf.len() as u64).min(self.len - off) as usize;
        let file = match &self.backing {
            Backing::File(f) => f,
            Backing::Memory(m) => {
                let at = (self.start + off) as usize;
                buf[..want].copy_from_slice(&m[at..at + want]);
                return Ok(want);
            }
        };
        let mut got = 0;
        while got < want {
            match file.read_at(&mut buf[got..want], self.start + off + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(got)
    }

    /// Up to `n` bytes at `off` (fewer at the end of the window). `n` is the caller's bound.
    pub fn bytes(&self, off: u64, n: usize) -> io::Result<Vec<u8>> {
        let n = (n as u64).min(self.len.saturating_sub(off)) as usize;
        let mut buf = vec![0u8; n];
        let got = self.read_at(off, &mut buf)?;
        buf.truncate(got);
        Ok(buf)
    }

    /// Exactly `n` bytes at `off`, or an `UnexpectedEof` error.
    pub fn exact(&self, off: u64, n: usize) -> io::Result<Vec<u8>> {
        let b = self.bytes(off, n)?;
        if b.len() < n {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{n} bytes at offset {off:#x} run past the end ({:#x})",
                    self.len
                ),
            ));
        }
        Ok(b)
    }

    /// A buffered reader of the window from `off` to its end; [`SourceReader::position`] tells
    /// how far it has read.
    pub fn reader(&self, off: u64) -> SourceReader {
        SourceReader {
            src: self.clone(),
            pos: off.min(self.len),
            buf: Vec::new(),
            at: 0,
        }
    }
}

/// A buffered sequential reader over a [`Source`].
#[derive(Debug)]
pub struct SourceReader {
    src: Source,
    pos: u64,
    buf: Vec<u8>,
    at: usize,
}

const READ_CHUNK: usize = 64 * 1024;

impl SourceReader {
    /// Offset in the window of the next byte `read` returns.
    pub fn position(&self) -> u64 {
        self.pos - (self.buf.len() - self.at) as u64
    }
}

impl io::BufRead for SourceReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at >= self.buf.len() {
            self.buf.resize(READ_CHUNK, 0);
            let n = self.src.read_at(self.pos, &mut self.buf)?;
            self.buf.truncate(n);
            self.pos += n as u64;
            self.at = 0;
        }
        Ok(&self.buf[self.at..])
    }

    fn consume(&mut self, amt: usize) {
        self.at = (self.at + amt).min(self.buf.len());
    }
}

impl Read for SourceReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = io::BufRead::fill_buf(self)?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        io::BufRead::consume(self, n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, Write};

    #[test]
    fn windows_and_readers_stay_inside() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"0123456789").unwrap();
        let s = Source::open(f.path()).unwrap();
        let w = s.slice(2, 5);
        assert_eq!(w.bytes(0, 100).unwrap(), b"23456");
        assert_eq!(w.from(3).bytes(0, 100).unwrap(), b"56");
        assert!(w.exact(4, 2).is_err());
        let mut r = w.reader(1);
        let mut out = String::new();
        r.read_to_string(&mut out).unwrap();
        assert_eq!(out, "3456");
        assert_eq!(r.position(), 5);
        let mut r = w.reader(0);
        r.fill_buf().unwrap();
        r.consume(2);
        assert_eq!(r.position(), 2);
        assert_eq!(s.slice(20, 5).len(), 0);
    }
}
