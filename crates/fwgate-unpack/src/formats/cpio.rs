//! cpio archives: newc (`070701`, what the kernel's initramfs unpacker reads), crc (`070702`,
//! newc with a checksum of the data), odc (`070707`) and old binary (0o070707 as a 16-bit word,
//! either byte order), up to `TRAILER!!!`.
//!
//! Written here because the format is small (one fixed header, a name, the data) and no crate
//! reads all four variants with bounded names, hard links resolved the way `cpio -i` and the
//! kernel resolve them, and the offsets the gate must report and account. Hard links: newc
//! stores the data with the last name of an inode and size 0 with the earlier ones; every name
//! becomes the same file, as `cpio -i` makes it. A later name of an inode whose data differs
//! from the first one's is extracted on its own and reported.

use std::collections::BTreeMap;
use std::io::Read;

use crate::formats::names::{add_range, bad_device, clean, Specials};
use crate::handler::{Attrs, Handler, Output, Probe};
use crate::source::Source;
use crate::tree::{Device, DeviceKind, NodeKind};
use crate::Result;

/// Longest name read (the kernel's PATH_MAX).
const MAX_NAME: u64 = 4096;
/// Longest symlink target read (the kernel's PATH_MAX).
const MAX_LINK: u64 = 4096;
/// Most names of not-yet-seen inodes held back (newc hard links before their data).
const MAX_DEFERRED: usize = 65_536;

/// The cpio handler.
pub struct Cpio;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Newc,
    Crc,
    Odc,
    /// Old binary, little-endian words when true.
    Bin(bool),
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Newc => "newc",
            Variant::Crc => "crc",
            Variant::Odc => "odc",
            Variant::Bin(_) => "old binary",
        }
    }
    fn header_len(self) -> u64 {
        match self {
            Variant::Newc | Variant::Crc => 110,
            Variant::Odc => 76,
            Variant::Bin(_) => 26,
        }
    }
    fn align(self) -> u64 {
        match self {
            Variant::Newc | Variant::Crc => 4,
            Variant::Odc => 1,
            Variant::Bin(_) => 2,
        }
    }
    fn of(magic: &[u8]) -> Option<Variant> {
        match magic.get(..6)? {
            b"070701" => Some(Variant::Newc),
            b"070702" => Some(Variant::Crc),
            b"070707" => Some(Variant::Odc),
            [0xc7, 0x71, ..] => Some(Variant::Bin(true)),
            [0x71, 0xc7, ..] => Some(Variant::Bin(false)),
            _ => None,
        }
    }
}

/// One entry header.
#[derive(Debug, Clone)]
struct Header {
    variant: Variant,
    /// The inode: device and number, for hard links.
    inode: (u64, u64, u64),
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    size: u64,
    rdev: Device,
    namesize: u64,
    check: u64,
}

fn align(n: u64, to: u64) -> Option<u64> {
    n.checked_add(to - 1).map(|v| v / to * to)
}

/// Parses the fixed header at the start of `h`; `None` when it is not one.
fn header(h: &[u8]) -> Option<Header> {
    let variant = Variant::of(h)?;
    let h = h.get(..variant.header_len() as usize)?;
    let text = |r: std::ops::Range<usize>, radix: u32| -> Option<u64> {
        let s = std::str::from_utf8(h.get(r)?).ok()?;
        if s.is_empty() || !s.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        u64::from_str_radix(s, radix).ok()
    };
    let kind = |mode: u32| match mode & 0o170000 {
        0o020000 => DeviceKind::Char,
        0o060000 => DeviceKind::Block,
        0o140000 => DeviceKind::Socket,
        _ => DeviceKind::Fifo,
    };
    let id = |v: u64| u32::try_from(v).ok();
    match variant {
        Variant::Newc | Variant::Crc => {
            let f = |i: usize| text(6 + 8 * i..14 + 8 * i, 16);
            let mode = id(f(1)?)?;
            Some(Header {
                variant,
                inode: (f(7)?, f(8)?, f(0)?),
                mode,
                uid: id(f(2)?)?,
                gid: id(f(3)?)?,
                nlink: f(4)?,
                size: f(6)?,
                rdev: Device {
                    kind: kind(mode),
                    major: id(f(9)?)?,
                    minor: id(f(10)?)?,
                },
                namesize: f(11)?,
                check: f(12)?,
            })
        }
        Variant::Odc => {
            let mode = id(text(18..24, 8)?)?;
            Some(Header {
                variant,
                inode: (text(6..12, 8)?, 0, text(12..18, 8)?),
                mode,
                uid: id(text(24..30, 8)?)?,
                gid: id(text(30..36, 8)?)?,
                nlink: text(36..42, 8)?,
                size: text(65..76, 8)?,
                rdev: Device::from_linux(kind(mode), id(text(42..48, 8)?)?),
                namesize: text(59..65, 8)?,
                check: 0,
            })
        }
        Variant::Bin(le) => {
            let w = |i: usize| -> u64 {
                let b = [h[2 * i], h[2 * i + 1]];
                u64::from(if le {
                    u16::from_le_bytes(b)
                } else {
                    u16::from_be_bytes(b)
                })
            };
            let mode = w(3) as u32;
            Some(Header {
                variant,
                inode: (w(1), 0, w(2)),
                mode,
                uid: w(4) as u32,
                gid: w(5) as u32,
                nlink: w(6),
                // Four-byte values are two words, the high one first.
                size: (w(11) << 16) | w(12),
                rdev: Device::from_linux(kind(mode), w(7) as u32),
                namesize: w(10),
                check: 0,
            })
        }
    }
}

/// Where the entry's data and the next header start, relative to the entry.
fn layout(h: &Header) -> Option<(u64, u64)> {
    let a = h.variant.align();
    let data = align(h.variant.header_len().checked_add(h.namesize)?, a)?;
    let next = align(data.checked_add(h.size)?, a)?;
    Some((data, next))
}

/// Reads the header and name of the entry at `at`: the header, the name's bytes (without its
/// NUL), or why it cannot be read.
fn entry_at(src: &Source, at: u64) -> std::result::Result<(Header, Vec<u8>), String> {
    let h = src.bytes(at, 110).map_err(|e| e.to_string())?;
    let Some(variant) = Variant::of(&h) else {
        return Err(if h.is_empty() {
            "the archive ends without its TRAILER!!! entry".into()
        } else {
            "no cpio header where the previous entry ends".into()
        });
    };
    if (h.len() as u64) < variant.header_len() {
        return Err("truncated: the header is cut short".into());
    }
    let hd = header(&h).ok_or("a header with fields that are not numbers")?;
    if hd.namesize < 2 || hd.namesize > MAX_NAME {
        return Err(format!(
            "a name size of {} (1..{MAX_NAME} bytes with its NUL)",
            hd.namesize
        ));
    }
    let name = src
        .exact(at + variant.header_len(), hd.namesize as usize)
        .map_err(|_| "truncated: the name is cut short".to_string())?;
    match name.split_last() {
        Some((0, name)) if !name.contains(&0) => Ok((hd, name.to_vec())),
        _ => Err("a name that is not NUL-terminated".into()),
    }
}

impl Handler for Cpio {
    fn id(&self) -> &'static str {
        "cpio"
    }
    fn description(&self) -> &'static str {
        "cpio archive (newc, crc, odc, old binary)"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[
            b"070701",
            b"070702",
            b"070707",
            &[0xc7, 0x71],
            &[0x71, 0xc7],
        ]
    }
    fn probe(&self, src: &Source) -> Option<Probe> {
        // A header-shaped run of bytes inside a binary (busybox and libcrypto carry the
        // magics) is not an archive: the first entry must be the trailer or be followed by
        // another valid header where it says.
        let (h, name) = entry_at(src, 0).ok()?;
        if h.variant == Variant::Bin(true) || h.variant == Variant::Bin(false) {
            let t = h.mode & 0o170000;
            if !matches!(t >> 12, 0o01 | 0o02 | 0o04 | 0o06 | 0o10 | 0o12 | 0o14)
                || !(1..1000).contains(&h.nlink)
            {
                return None;
            }
        }
        if name != b"TRAILER!!!" {
            let (_, next) = layout(&h)?;
            let (h2, _) = entry_at(src, next).ok()?;
            if h2.variant != h.variant {
                return None;
            }
        }
        Some(Probe::new(
            None,
            format!("cpio archive ({})", h.variant.name()),
        ))
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let mut used = Vec::new();
        let walked = walk(src, out, &mut used);
        out.used(used);
        walked
    }
}

/// A hard-linked inode: its key and the names held back until its data comes.
type Inode = (u64, u64, u64);

struct Links {
    /// Inodes extracted: the first name, and its size and SHA-256 as written.
    done: BTreeMap<Inode, (String, u64, Option<String>)>,
    /// newc names of size 0 whose data comes with a later name.
    deferred: BTreeMap<Inode, Vec<(String, Attrs)>>,
    held: usize,
    specials: Specials,
}

fn walk(src: &Source, out: &mut Output<'_>, used: &mut Vec<(u64, u64)>) -> Result<u64> {
    let len = src.len();
    let mut pos = 0u64;
    let mut links = Links {
        done: BTreeMap::new(),
        deferred: BTreeMap::new(),
        held: 0,
        specials: Specials::default(),
    };
    let mut first: Option<Variant> = None;
    let end = loop {
        out.check_time()?;
        let (h, raw) = match entry_at(src, pos) {
            Ok(e) => e,
            Err(why) => {
                out.problem(format!("entry at offset {pos:#x}: {why}"));
                break if why.starts_with("truncated") {
                    len
                } else {
                    pos
                };
            }
        };
        if *first.get_or_insert(h.variant) != h.variant {
            out.problem(format!(
                "entry at offset {pos:#x} is {} inside a {} archive; the archive is not read past it",
                h.variant.name(),
                first.map_or("", Variant::name)
            ));
            break pos;
        }
        let Some((data_at, next)) = layout(&h) else {
            out.problem(format!(
                "entry at offset {pos:#x} declares an impossible size"
            ));
            break pos;
        };
        add_range(used, pos, pos + data_at);
        if raw == b"TRAILER!!!" {
            break pos + next.min(len - pos);
        }
        let (name, why) = clean(&raw);
        if let Some(why) = why {
            out.problem(format!("{name} (offset {pos:#x}): {why}"));
        }
        let data = pos + data_at;
        let present = len.saturating_sub(data).min(h.size);
        if present < h.size {
            out.problem(format!(
                "truncated: {name} at offset {pos:#x} declares {} bytes, {present} present",
                h.size
            ));
        }
        let body = src.slice(data, present);
        if entry_out(out, &h, &name, &body, pos, &mut links)? {
            add_range(used, data, data + present);
            // Alignment padding: zeros, or bytes left for the engine to carve.
            let pad_at = data + h.size;
            let pad_end = (pos + next).min(len);
            if pad_end > pad_at {
                let pad = src
                    .bytes(pad_at, (pad_end - pad_at) as usize)
                    .map_err(|e| out.malformed(e.to_string()))?;
                if pad.iter().all(|&b| b == 0) {
                    add_range(used, pad_at, pad_end);
                }
            }
        }
        if present < h.size {
            break len;
        }
        pos += next;
    };
    // Names whose data never came: cpio -i (and the kernel) create them empty.
    for (_, names) in std::mem::take(&mut links.deferred) {
        let mut names = names.into_iter();
        if let Some((first, attrs)) = names.next() {
            out.file(&first, &mut std::io::empty(), attrs)?;
            for (n, _) in names {
                out.hardlink(&n, &first)?;
            }
        }
    }
    Ok(end)
}

/// Writes one entry. Returns whether its data was used.
fn entry_out(
    out: &mut Output<'_>,
    h: &Header,
    name: &str,
    body: &Source,
    at: u64,
    links: &mut Links,
) -> Result<bool> {
    let attrs = Attrs::new(h.mode, h.uid, h.gid);
    let no_data = |out: &mut Output<'_>, what: &str| {
        if h.size > 0 {
            out.problem(format!(
                "{name}: a {what} carrying {} bytes of data (offset {at:#x}); not extracted",
                h.size
            ));
        }
        h.size == 0
    };
    if let Some(why) = links.specials.blocks(name) {
        out.problem(format!("{why} (offset {at:#x})"));
        return Ok(false);
    }
    if name.is_empty() && h.mode & 0o170000 != 0o040000 {
        out.problem(format!(
            "an entry with an empty name at offset {at:#x}; not extracted"
        ));
        return Ok(false);
    }
    match h.mode & 0o170000 {
        0o100000 => {
            if h.nlink > 1 {
                return linked_file(out, h, name, body, at, links, attrs);
            }
            write_file(out, h, name, body, at, attrs)?;
            Ok(true)
        }
        0o040000 => {
            out.dir(name, attrs)?;
            Ok(no_data(out, "directory"))
        }
        0o120000 => {
            if h.size > MAX_LINK {
                out.problem(format!(
                    "{name}: a symbolic link target of {} bytes (offset {at:#x}, more than {MAX_LINK}); not extracted",
                    h.size
                ));
                return Ok(false);
            }
            let Ok(target) = body.exact(0, h.size as usize) else {
                // Truncated: reported by the caller.
                return Ok(false);
            };
            match String::from_utf8(target) {
                Ok(t) if !t.contains('\0') => out.symlink(name, &t, attrs)?,
                _ => {
                    out.problem(format!(
                        "{name}: symbolic link target is not UTF-8 text (offset {at:#x}); not extracted"
                    ));
                    return Ok(false);
                }
            }
            Ok(true)
        }
        0o020000 | 0o060000 | 0o010000 | 0o140000 => {
            if let Some(why) = bad_device(&h.rdev) {
                out.problem(format!("{name} (offset {at:#x}): {why}"));
            }
            out.special(name, h.rdev, attrs)?;
            links.specials.add(name);
            Ok(no_data(out, "device, pipe or socket"))
        }
        t => {
            out.problem(format!(
                "{name}: unknown file type {t:#o} (offset {at:#x}); not extracted"
            ));
            Ok(false)
        }
    }
}

/// A regular file with more than one name.
fn linked_file(
    out: &mut Output<'_>,
    h: &Header,
    name: &str,
    body: &Source,
    at: u64,
    links: &mut Links,
    attrs: Attrs,
) -> Result<bool> {
    let key = h.inode;
    let newc = matches!(h.variant, Variant::Newc | Variant::Crc);
    if let Some((first, size, sha)) = links.done.get(&key).cloned() {
        if h.size == 0 && newc {
            out.hardlink(name, &first)?;
            return Ok(true);
        }
        // Data again for an inode already extracted (odc and binary store it with every
        // name): a link when it is the same data, else a file of its own and a problem.
        if size == body.len() && sha.is_some() && same_data(out, sha.as_deref(), body)? {
            out.hardlink(name, &first)?;
            return Ok(true);
        }
        out.problem(format!(
            "{name} (offset {at:#x}) is another name of the inode of {first} but holds different data; extracted as a file of its own (cpio -i would link it to {first})"
        ));
        write_file(out, h, name, body, at, attrs)?;
        return Ok(true);
    }
    if h.size == 0 && newc {
        if links.held >= MAX_DEFERRED {
            out.problem(format!(
                "{name} (offset {at:#x}): more than {MAX_DEFERRED} hard-linked names wait for their data; not extracted"
            ));
            return Ok(true);
        }
        links.held += 1;
        links
            .deferred
            .entry(key)
            .or_default()
            .push((name.to_string(), attrs));
        return Ok(true);
    }
    write_file(out, h, name, body, at, attrs)?;
    // The node just written (none when the jail refused the name).
    let want = format!("/{name}");
    let (size, sha) = out
        .nodes
        .last()
        .filter(|n| n.kind == NodeKind::File && n.origin.inner_path == want)
        .map_or((0, None), |n| (n.size, n.sha256.clone()));
    links.done.insert(key, (name.to_string(), size, sha));
    for (n, _) in links.deferred.remove(&key).unwrap_or_default() {
        out.hardlink(&n, name)?;
    }
    Ok(true)
}

/// Whether `body` holds the bytes whose SHA-256 is `sha`.
fn same_data(out: &Output<'_>, sha: Option<&str>, body: &Source) -> Result<bool> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut r = body.reader(0);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        out.check_time()?;
        let n = r.read(&mut buf).map_err(|e| out.malformed(e.to_string()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(sha == Some(hex::encode(hasher.finalize()).as_str()))
}

/// Writes a regular file, checking the crc variant's checksum as it streams.
fn write_file(
    out: &mut Output<'_>,
    h: &Header,
    name: &str,
    body: &Source,
    at: u64,
    attrs: Attrs,
) -> Result<()> {
    let mut r = Summing {
        inner: body.reader(0),
        sum: 0,
        read: 0,
    };
    out.file(name, &mut r, attrs)?;
    if h.variant == Variant::Crc && r.read == h.size && u64::from(r.sum) != h.check {
        out.problem(format!(
            "{name} (offset {at:#x}): the crc header's checksum {:#010x} does not match the data ({:#010x}); extracted anyway",
            h.check, r.sum
        ));
    }
    Ok(())
}

/// Sums the bytes read (the crc variant's checksum).
struct Summing<R> {
    inner: R,
    sum: u32,
    read: u64,
}

impl<R: Read> Read for Summing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            self.sum = self.sum.wrapping_add(u32::from(b));
        }
        self.read += n as u64;
        Ok(n)
    }
}
