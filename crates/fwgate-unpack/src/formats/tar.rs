//! tar archives: ustar, GNU (`L`/`K` long names and links, base-256 numbers, old-style sparse
//! files) and pax (`path`, `linkpath`, `size`, `uid`, `gid` records, local and global).
//!
//! Read here rather than with the `tar` crate, which the gate cannot bound or account with:
//! it reads a GNU long name or a pax header whole into memory, however large its size field
//! says it is (`read_all`); it stops for good at the first header with a bad checksum; and it
//! does not say where the archive ends (its two zero blocks) or which bytes it skipped. Here
//! every record is bounded, every entry that cannot be extracted is a problem naming it and
//! its offset, and the bytes of skipped entries are left out of the declared ranges so the
//! engine carves them.

use std::io::Read;

use crate::formats::names::{add_range, bad_device, clean, field, octal, Specials};
use crate::handler::{Attrs, Handler, Output, Probe};
use crate::source::Source;
use crate::tree::{Device, DeviceKind};
use crate::Result;

const BLOCK: u64 = 512;
/// Longest GNU long name or link read; GNU tar writes PATH_MAX at most.
const MAX_LONG_NAME: u64 = 64 * 1024;
/// Largest pax header read (xattrs make them longer than names alone).
const MAX_PAX: u64 = 1 << 20;
/// Most segments an old GNU sparse map may list.
const MAX_SPARSE: usize = 1 << 16;

/// The tar handler.
pub struct Tar;

/// Whether the header's checksum holds: the byte sum with the checksum field as spaces,
/// unsigned (POSIX) or signed (old Sun and GNU writers), as GNU tar accepts either.
fn checksum_ok(h: &[u8]) -> bool {
    let Some(stored) = h.get(148..156).and_then(octal) else {
        return false;
    };
    let (mut unsigned, mut signed) = (0u64, 0i64);
    for (i, &b) in h.iter().enumerate().take(BLOCK as usize) {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed)
}

/// A numeric field: octal text, or GNU's base-256 (high bit of the first byte set).
fn number(b: &[u8]) -> Option<u64> {
    match b.first() {
        Some(&first) if first & 0x80 != 0 => {
            if first & 0x40 != 0 {
                return None; // negative
            }
            let mut v = u64::from(first & 0x3f);
            for &c in &b[1..] {
                v = v.checked_mul(256)?.checked_add(u64::from(c))?;
            }
            Some(v)
        }
        _ => octal(b),
    }
}

/// What pax records (local over global) say about the next entry.
#[derive(Default, Clone)]
struct Pax {
    path: Option<Vec<u8>>,
    linkpath: Option<Vec<u8>>,
    size: Option<u64>,
    uid: Option<u32>,
    gid: Option<u32>,
    sparse: bool,
}

impl Pax {
    /// Parses `LEN key=value\n` records, applying them over `self`. Returns what was wrong.
    fn parse(&mut self, mut data: &[u8]) -> std::result::Result<(), String> {
        while !data.is_empty() {
            if data.iter().all(|&b| b == 0) {
                break;
            }
            let sp = data
                .iter()
                .position(|&b| b == b' ')
                .ok_or("a record without a length")?;
            let len: usize = std::str::from_utf8(&data[..sp])
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or("a record length that is not a number")?;
            let rec = data
                .get(sp + 1..len)
                .ok_or("a record that runs past the header")?;
            let rec = rec
                .strip_suffix(b"\n")
                .ok_or("a record without its newline")?;
            let eq = rec
                .iter()
                .position(|&b| b == b'=')
                .ok_or("a record without '='")?;
            let (key, value) = (&rec[..eq], &rec[eq + 1..]);
            let num = || -> std::result::Result<u64, String> {
                std::str::from_utf8(value)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| format!("{} is not a number", String::from_utf8_lossy(key)))
            };
            let id = || -> std::result::Result<u32, String> {
                u32::try_from(num()?).map_err(|_| "an owner id above 2^32".to_string())
            };
            match key {
                b"path" => self.path = Some(value.to_vec()),
                b"linkpath" => self.linkpath = Some(value.to_vec()),
                b"size" => self.size = Some(num()?),
                b"uid" => self.uid = Some(id()?),
                b"gid" => self.gid = Some(id()?),
                k if k.starts_with(b"GNU.sparse.") => self.sparse = true,
                _ => {}
            }
            data = &data[len..];
        }
        Ok(())
    }
}

impl Handler for Tar {
    fn id(&self) -> &'static str {
        "tar"
    }
    fn description(&self) -> &'static str {
        "tar archive (ustar, GNU, pax)"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[b"ustar"]
    }
    fn magic_offset(&self) -> usize {
        257
    }
    fn probe(&self, src: &Source) -> Option<Probe> {
        let h = src.bytes(0, BLOCK as usize).ok()?;
        if h.len() < BLOCK as usize || !checksum_ok(&h) {
            return None;
        }
        let kind = match h.get(257..265)? {
            b"ustar  \0" => "GNU tar archive",
            b"ustar\x0000" => "POSIX tar archive",
            _ => "tar archive",
        };
        Some(Probe::new(None, kind))
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let mut used = Vec::new();
        let walked = walk(src, out, &mut used);
        out.used(used);
        walked
    }
}

/// The entries' metadata as the headers before it and its own header give it.
struct Entry {
    at: u64,
    kind: u8,
    name: String,
    link: Option<String>,
    size: u64,
    attrs: Attrs,
    device: (u32, u32),
    header: Vec<u8>,
    sparse: bool,
    /// The stored name ends with `/`.
    slash: bool,
}

/// Walks the headers from the start; returns the bytes consumed.
fn walk(src: &Source, out: &mut Output<'_>, used: &mut Vec<(u64, u64)>) -> Result<u64> {
    let len = src.len();
    let mut pos = 0u64;
    let mut global = Pax::default();
    let mut local: Option<Pax> = None;
    let mut long_name: Option<Vec<u8>> = None;
    let mut long_link: Option<Vec<u8>> = None;
    let mut specials = Specials::default();
    loop {
        out.check_time()?;
        let h = src
            .bytes(pos, BLOCK as usize)
            .map_err(|e| out.malformed(e.to_string()))?;
        if h.len() < BLOCK as usize {
            out.problem(if h.is_empty() {
                format!("the archive ends at offset {pos:#x} without its end-of-archive blocks")
            } else {
                format!("truncated: a header at offset {pos:#x} is cut short")
            });
            return Ok(len);
        }
        if h.iter().all(|&b| b == 0) {
            let next = src
                .bytes(pos + BLOCK, BLOCK as usize)
                .map_err(|e| out.malformed(e.to_string()))?;
            if long_name.is_some() || long_link.is_some() || local.is_some() {
                out.problem(format!(
                    "the archive ends at offset {pos:#x} right after a long-name or pax record, which describes no entry"
                ));
            }
            if next.len() == BLOCK as usize && next.iter().all(|&b| b == 0) {
                add_range(used, pos, pos + 2 * BLOCK);
                return Ok(pos + 2 * BLOCK);
            }
            // GNU tar: "A lone zero block"; what follows is carved by the engine.
            out.problem(format!(
                "a lone zero block at offset {pos:#x} ends the archive"
            ));
            add_range(used, pos, pos + BLOCK);
            return Ok(pos + BLOCK);
        }
        if !checksum_ok(&h) {
            // The rest is carved: a valid header further on is found as another archive.
            out.problem(format!(
                "the header at offset {pos:#x} has a bad checksum; the archive is not read past it"
            ));
            return Ok(pos);
        }
        let Some(size) = number(&h[124..136]) else {
            out.problem(format!(
                "the header at offset {pos:#x} has an unreadable size; the archive is not read past it"
            ));
            return Ok(pos);
        };
        let kind = h[156];
        let pax = local.clone().unwrap_or_default();
        // Extension records describe the next entry; their size is their own.
        let size = if matches!(kind, b'x' | b'g' | b'L' | b'K') {
            size
        } else {
            pax.size.or(global.size).unwrap_or(size)
        };
        let data = pos + BLOCK;
        let Some(next) = size
            .checked_add(BLOCK - 1)
            .map(|s| s & !(BLOCK - 1))
            .and_then(|s| data.checked_add(s))
        else {
            out.problem(format!(
                "the header at offset {pos:#x} declares an impossible size"
            ));
            return Ok(pos);
        };
        add_range(used, pos, data);
        let present = len.saturating_sub(data).min(size);
        let truncated = present < size;
        let record = |out: &mut Output<'_>, max: u64, what: &str| -> Option<Vec<u8>> {
            if size > max {
                out.problem(format!(
                    "{what} at offset {pos:#x} of {size} bytes (more than {max}); ignored"
                ));
                return None;
            }
            match src.exact(data, size as usize) {
                Ok(b) => Some(b),
                Err(e) => {
                    out.problem(format!("{what} at offset {pos:#x}: {e}"));
                    None
                }
            }
        };
        match kind {
            b'L' | b'K' => {
                let what = if kind == b'L' {
                    "a GNU long name"
                } else {
                    "a GNU long link"
                };
                if let Some(b) = record(out, MAX_LONG_NAME, what) {
                    add_range(used, data, data + size);
                    let v = field(&b).to_vec();
                    if kind == b'L' {
                        long_name = Some(v);
                    } else {
                        long_link = Some(v);
                    }
                }
            }
            b'x' | b'g' => {
                if let Some(b) = record(out, MAX_PAX, "a pax header") {
                    let mut p = if kind == b'x' {
                        local.take().unwrap_or_default()
                    } else {
                        global.clone()
                    };
                    match p.parse(&b) {
                        Ok(()) => {
                            add_range(used, data, data + size);
                            if kind == b'x' {
                                local = Some(p);
                            } else {
                                global = p;
                            }
                        }
                        Err(e) => out.problem(format!(
                            "the pax header at offset {pos:#x} has {e}; ignored"
                        )),
                    }
                }
            }
            _ => {
                let raw_name = pax
                    .path
                    .clone()
                    .or_else(|| global.path.clone())
                    .or(long_name.take())
                    .unwrap_or_else(|| header_name(&h));
                let raw_link = pax
                    .linkpath
                    .clone()
                    .or_else(|| global.linkpath.clone())
                    .or(long_link.take())
                    .unwrap_or_else(|| field(&h[157..257]).to_vec());
                let (name, why) = clean(&raw_name);
                if let Some(why) = why {
                    out.problem(format!("{name} (offset {pos:#x}): {why}"));
                }
                let slash = raw_name.ends_with(b"/");
                // Numeric fields tar -x cannot read are problems (it fails the entry too).
                let mut bad = Vec::new();
                let mut num = |what: &'static str, r: std::ops::Range<usize>| -> u32 {
                    match number(&h[r]).and_then(|v| u32::try_from(v).ok()) {
                        Some(v) => v,
                        None => {
                            bad.push(what);
                            0
                        }
                    }
                };
                let mode = num("mode", 100..108);
                let uid = match pax.uid.or(global.uid) {
                    Some(u) => u,
                    None => num("uid", 108..116),
                };
                let gid = match pax.gid.or(global.gid) {
                    Some(g) => g,
                    None => num("gid", 116..124),
                };
                let device = (num("devmajor", 329..337), num("devminor", 337..345));
                if number(&h[136..148]).is_none() {
                    bad.push("mtime");
                }
                if !bad.is_empty() {
                    out.problem(format!(
                        "{name} (offset {pos:#x}): unreadable {} field(s); read as 0",
                        bad.join(", ")
                    ));
                }
                let entry = Entry {
                    at: pos,
                    kind,
                    link: Some(String::from_utf8_lossy(&raw_link).into_owned()),
                    size,
                    attrs: Attrs::new(mode, uid, gid),
                    device,
                    sparse: pax.sparse || global.sparse,
                    name,
                    header: h,
                    slash,
                };
                if truncated {
                    out.problem(format!(
                        "truncated: {} at offset {pos:#x} declares {size} bytes, {present} present",
                        entry.name
                    ));
                }
                let dir = entry.slash || matches!(kind, b'5' | b'D' | b'V');
                if entry.name.is_empty() && !dir {
                    out.problem(format!(
                        "an entry with an empty name at offset {pos:#x}; not extracted"
                    ));
                } else if let Some(why) = specials.blocks(&entry.name) {
                    out.problem(format!("{why} (offset {pos:#x})"));
                } else if entry_out(src, out, &entry, &mut specials)? {
                    add_range(used, data, data + present);
                }
                local = None;
            }
        }
        if truncated {
            return Ok(len);
        }
        // The padding of the last data block: zeros, or bytes left for the engine to carve.
        let pad_at = data + size;
        if next > pad_at {
            let pad = src
                .bytes(pad_at, (next - pad_at) as usize)
                .map_err(|e| out.malformed(e.to_string()))?;
            if pad.iter().all(|&b| b == 0) {
                add_range(used, pad_at, next);
            }
        }
        pos = next;
    }
}

/// The stored name: the ustar prefix and name, or the name alone (GNU and old headers use the
/// prefix's bytes for other fields).
fn header_name(h: &[u8]) -> Vec<u8> {
    let name = field(&h[0..100]);
    if &h[257..263] == b"ustar\0" {
        let prefix = field(&h[345..500]);
        if !prefix.is_empty() {
            let mut v = prefix.to_vec();
            v.push(b'/');
            v.extend_from_slice(name);
            return v;
        }
    }
    name.to_vec()
}

/// Writes one entry. Returns whether its data bytes were used (extracted).
fn entry_out(
    src: &Source,
    out: &mut Output<'_>,
    e: &Entry,
    specials: &mut Specials,
) -> Result<bool> {
    let data = e.at + BLOCK;
    let body = || src.slice(data, e.size);
    let link = e.link.as_deref().unwrap_or("");
    let dev = |kind| Device {
        kind,
        major: e.device.0,
        minor: e.device.1,
    };
    let no_data = |out: &mut Output<'_>, what: &str| {
        if e.size > 0 {
            out.problem(format!(
                "{}: a {what} carrying {} bytes of data (offset {:#x}), which tar -x ignores; not extracted",
                e.name, e.size, e.at
            ));
        }
    };
    match e.kind {
        _ if e.sparse => {
            out.problem(format!(
                "{}: a pax sparse file (offset {:#x}); not extracted",
                e.name, e.at
            ));
            return Ok(false);
        }
        b'0' | 0 | b'7' if e.slash => {
            // Old archives mark a directory by a trailing slash alone.
            out.dir(&e.name, e.attrs)?;
            no_data(out, "directory");
            return Ok(e.size == 0);
        }
        b'0' | 0 | b'7' => out.file(&e.name, &mut body().reader(0), e.attrs)?,
        b'1' => {
            let (target, _) = clean(link.as_bytes());
            out.hardlink(&e.name, &target)?;
            no_data(out, "hard link");
            return Ok(e.size == 0);
        }
        b'2' => {
            out.symlink(&e.name, link, e.attrs)?;
            no_data(out, "symbolic link");
            return Ok(e.size == 0);
        }
        b'3' | b'4' | b'6' => {
            let kind = match e.kind {
                b'3' => DeviceKind::Char,
                b'4' => DeviceKind::Block,
                _ => DeviceKind::Fifo,
            };
            if let Some(why) = bad_device(&dev(kind)).filter(|_| kind != DeviceKind::Fifo) {
                out.problem(format!("{} (offset {:#x}): {why}", e.name, e.at));
            }
            out.special(&e.name, dev(kind), e.attrs)?;
            specials.add(&e.name);
            no_data(out, "device or pipe");
            return Ok(e.size == 0);
        }
        b'5' | b'D' => {
            // A GNU dumpdir ('D') lists the directory's names in its data: only metadata.
            out.dir(&e.name, e.attrs)?;
            if e.kind == b'5' {
                no_data(out, "directory");
                return Ok(e.size == 0);
            }
        }
        b'S' => match sparse_map(e) {
            Ok((map, real)) => {
                let mut r = Sparse {
                    data: body().reader(0),
                    map,
                    next: 0,
                    pos: 0,
                    real,
                };
                out.file(&e.name, &mut r, e.attrs)?;
            }
            Err(why) => {
                out.problem(format!(
                    "{}: GNU sparse file (offset {:#x}): {why}; not extracted",
                    e.name, e.at
                ));
                return Ok(false);
            }
        },
        b'V' => {} // a GNU volume label: a name for the archive, no member
        k => {
            // GNU tar extracts members of unknown types as regular files, and warns.
            out.problem(format!(
                "{}: unknown entry type {:?} (offset {:#x}); extracted as a regular file, as tar -x does",
                e.name,
                char::from(k),
                e.at
            ));
            out.file(&e.name, &mut body().reader(0), e.attrs)?;
        }
    }
    Ok(true)
}

/// The segments of an old GNU sparse file, as its header lists them (four at most; longer
/// maps continue in extension blocks, which are not read). Returns the map and the file's
/// real size.
fn sparse_map(e: &Entry) -> std::result::Result<(Vec<(u64, u64)>, u64), String> {
    let real = number(&e.header[483..495]).ok_or("an unreadable real size")?;
    let mut map = Vec::new();
    let mut push = |entries: &[u8], count: usize| -> std::result::Result<(), String> {
        for i in 0..count {
            let b = &entries[i * 24..i * 24 + 24];
            if b[0] == 0 {
                break;
            }
            let off = number(&b[..12]).ok_or("an unreadable sparse offset")?;
            let n = number(&b[12..]).ok_or("an unreadable sparse length")?;
            let prev_end = map.last().map_or(0, |&(o, l): &(u64, u64)| o + l);
            if off < prev_end || off.checked_add(n).is_none_or(|end| end > real) {
                return Err("sparse segments out of order or past the real size".into());
            }
            if n == 0 {
                continue;
            }
            if map.len() >= MAX_SPARSE {
                return Err(format!("more than {MAX_SPARSE} sparse segments"));
            }
            map.push((off, n));
        }
        Ok(())
    };
    if e.header[482] != 0 {
        // The extension blocks shift the data and the next header: not read (yet).
        return Err("a sparse map longer than four segments (extension blocks)".into());
    }
    push(&e.header[386..482], 4)?;
    let stored: u64 = map.iter().map(|&(_, n)| n).sum();
    if stored != e.size {
        return Err(format!(
            "the map lists {stored} bytes of data, the header {}",
            e.size
        ));
    }
    Ok((map, real))
}

/// Reads a sparse file: zeros between the stored segments.
struct Sparse {
    data: crate::source::SourceReader,
    map: Vec<(u64, u64)>,
    next: usize,
    pos: u64,
    real: u64,
}

impl Read for Sparse {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.pos >= self.real || buf.is_empty() {
                return Ok(0);
            }
            let (off, n) = self.map.get(self.next).copied().unwrap_or((self.real, 0));
            if self.pos < off {
                let k = (off - self.pos).min(buf.len() as u64) as usize;
                buf[..k].fill(0);
                self.pos += k as u64;
                return Ok(k);
            }
            // Segments are in order and inside the real size (checked), so the position
            // is inside this one or at its end.
            let left = (off + n).saturating_sub(self.pos);
            if left == 0 {
                self.next += 1;
                continue;
            }
            let k = left.min(buf.len() as u64) as usize;
            let got = self.data.read(&mut buf[..k])?;
            if got == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.pos += got as u64;
            return Ok(got);
        }
    }
}
