//! One module per container format, registered in [`HANDLERS`].
//!
//! Adding a format: write `formats/NAME.rs` with a unit struct implementing
//! [`Handler`](crate::Handler), add one line to `HANDLERS`, and add a sample for it to
//! `firmware-samples/build.sh`. The tests check that ids are unique and that every handler is
//! exercised by a committed sample.

mod androidsparse;
mod bzip2;
mod cpio;
mod cramfs;
mod elf;
mod erofs;
mod ext;
mod fdt;
mod gzip;
mod ihex;
mod jffs2;
mod lz4;
mod lzma;
mod lzo;
mod names;
mod squashfs;
mod srec;
mod tar;
mod trx;
mod ubi;
mod ubifs;
mod uimage;
mod unsupported;
mod xz;
mod zip;
mod zlib;
mod zstd;

use crate::handler::Handler;
use crate::source::Source;

pub use unsupported::{Recogniser, RECOGNISERS};

/// Every handler fwgate knows, tried in this order when two match at the same offset.
pub static HANDLERS: &[&dyn Handler] = &[
    &uimage::UImage,
    &squashfs::Squashfs,
    &ext::Ext,
    &cramfs::Cramfs,
    &erofs::Erofs,
    &gzip::Gzip,
    &xz::Xz,
    &lzma::Lzma,
    &zstd::Zstd,
    &jffs2::Jffs2,
    &ubi::Ubi,
    &ubifs::Ubifs,
    &fdt::Fdt,
    &trx::Trx,
    &androidsparse::AndroidSparse,
    &bzip2::Bzip2,
    &lz4::Lz4,
    &lzo::Lzop,
    &zlib::Zlib,
    &ihex::IHex,
    &srec::SRec,
    &tar::Tar,
    &cpio::Cpio,
    &zip::Zip,
    &elf::Elf,
];

/// Looks up a handler by id.
pub fn handler(id: &str) -> Option<&'static dyn Handler> {
    HANDLERS.iter().copied().find(|h| h.id() == id)
}

/// How many bytes a stream decoder must produce in a probe's dry run.
pub(crate) const DRY_RUN: usize = 32 * 1024;

/// Most memory a stream decoder may take (liblzma's dictionary, say); a stream that needs
/// more is a problem, not an allocation.
pub(crate) const DECODER_MEMLIMIT: u64 = 128 << 20;

/// How much input a stream probe's dry run may read: plenty for `DRY_RUN` bytes of output,
/// and a bound on the work a false signature costs.
pub(crate) const PROBE_WINDOW: usize = 128 * 1024;

/// The outcome of a stream decoder's bounded dry run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DryRun {
    /// It yielded the bytes asked for, or a complete stream ended cleanly.
    Valid,
    /// The decoder reported an error: not this format.
    Invalid,
    /// The window ran out before the decoder produced anything or failed (a stream that
    /// starts with empty blocks, say): only decoding further can tell.
    Undecided,
}

/// Runs `dec` over a window until it yields `want` bytes, fails or ends. `window_ended` tells
/// whether a clean end came from the stream itself or from the window being cut short.
pub(crate) fn dry_run(mut dec: impl std::io::Read, want: usize, window_is_all: bool) -> DryRun {
    let mut buf = [0u8; 4096];
    let mut got = 0;
    while got < want {
        match dec.read(&mut buf) {
            Ok(0) if got > 0 || window_is_all => return DryRun::Valid,
            Ok(0) => return DryRun::Undecided,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !window_is_all => {
                return if got > 0 {
                    DryRun::Valid
                } else {
                    DryRun::Undecided
                }
            }
            Err(_) => return DryRun::Invalid,
        }
    }
    DryRun::Valid
}

/// A stream decoder over a probe window, for [`dry_run_window`].
pub(crate) type WindowDecoder = for<'a> fn(&'a [u8]) -> Option<Box<dyn std::io::Read + 'a>>;

/// Dry-runs a stream decoder over the candidate's probe window (`skip` header bytes plus
/// [`PROBE_WINDOW`]) until it yields `want` bytes. `None`: the decoder failed, so this is not
/// the format; `Some(None)`: valid; `Some(Some(why))`: the window could not tell.
pub(crate) fn dry_run_window(
    src: &Source,
    skip: usize,
    want: usize,
    decoder: WindowDecoder,
) -> Option<Option<String>> {
    let (window, all) = probe_window(src, skip)?;
    let outcome = dry_run(decoder(&window)?, want, all);
    match outcome {
        DryRun::Invalid => None,
        DryRun::Valid => Some(None),
        DryRun::Undecided => Some(Some(format!(
            "no output from the first {} KiB of the stream",
            window.len() / 1024
        ))),
    }
}

/// The probe window of a stream candidate: its first `PROBE_WINDOW` bytes (plus `extra`), and
/// whether that is all of the file.
pub(crate) fn probe_window(src: &Source, extra: usize) -> Option<(Vec<u8>, bool)> {
    let w = src.bytes(0, PROBE_WINDOW + extra).ok()?;
    let all = w.len() as u64 == src.len();
    Some((w, all))
}

/// The error a payload reader returns once `deadline` (from [`Output::deadline`]) has passed.
///
/// [`Output::deadline`]: crate::handler::Output::deadline
pub(crate) fn past(deadline: std::time::Instant) -> std::io::Result<()> {
    if std::time::Instant::now() > deadline {
        return Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "time budget spent while decoding",
        ));
    }
    Ok(())
}

/// Why a directory entry's name cannot be one path component, if it cannot: empty, `.` or
/// `..`, or holding a `/` or a NUL. File system readers report such an entry and skip it;
/// they never let it reset or climb the path.
pub(crate) fn bad_name(name: &[u8]) -> Option<&'static str> {
    match name {
        [] => Some("an empty name"),
        b"." | b".." => Some("a name that is '.' or '..'"),
        n if n.contains(&b'/') => Some("a name containing '/'"),
        n if n.contains(&0) => Some("a name containing NUL"),
        _ => None,
    }
}

/// Reads a big-endian u32 at `at`, if the bytes are there.
pub(crate) fn be32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads a little-endian u16 at `at`, if the bytes are there.
pub(crate) fn le16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

/// Reads a little-endian u32 at `at`, if the bytes are there.
pub(crate) fn le32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads a little-endian u64 at `at`, if the bytes are there.
pub(crate) fn le64(data: &[u8], at: usize) -> Option<u64> {
    let b = data.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_le_bytes(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_ids_are_unique_and_lowercase() {
        let mut ids: Vec<_> = HANDLERS.iter().map(|h| h.id()).collect();
        for id in &ids {
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
                "{id}"
            );
        }
        ids.sort();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len(), "duplicate handler id");
    }

    #[test]
    fn probes_reject_garbage_and_short_input() {
        let junk: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for h in HANDLERS {
            for magic in h.magics() {
                for cut in [0, 1, magic.len(), 16, 64, 200] {
                    let mut d = vec![0u8; h.magic_offset()];
                    d.extend_from_slice(magic);
                    d.extend_from_slice(&junk);
                    d.truncate(cut);
                    let src = Source::from_bytes(&d);
                    // Must not panic; short or garbage input must not probe as valid.
                    assert!(
                        h.probe(&src).is_none(),
                        "{} accepted {} bytes",
                        h.id(),
                        d.len()
                    );
                }
            }
        }
    }
}
