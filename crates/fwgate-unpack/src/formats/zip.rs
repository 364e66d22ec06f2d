//! zip archives, read from the central directory the way unzip reads them: stored, deflate,
//! zstd and xz entries, zip64, Unix modes and symlinks from the external attributes, owners
//! from the Info-ZIP `ux`/`Ux` extra fields, Info-ZIP Unicode path names.
//!
//! Written here rather than with the `zip` crate, because the gate needs what the crate does
//! not expose: each entry's local header compared field by field with its central-directory
//! record (a disagreement is a parser differential between extractors), the byte extent of
//! every entry so that entries sharing bytes (Fifield's overlapping-entry bomb) are reported,
//! and the exact ranges the structures use, so that a comment, a prefix or bytes between
//! entries are carved instead of vanishing inside the archive's length. Decompression is
//! flate2's, liblzma's and zstd's, each bounded by the declared size and the jail's budget.

use std::collections::BTreeMap;
use std::io::Read;

use crate::formats::names::{add_range, clean};
use crate::formats::{le16, le32, le64, DECODER_MEMLIMIT};
use crate::handler::{human_size, Attrs, Handler, Output, Probe};
use crate::source::Source;
use crate::Result;

const LOCAL: &[u8; 4] = b"PK\x03\x04";
const CENTRAL: &[u8; 4] = b"PK\x01\x02";
const END: &[u8; 4] = b"PK\x05\x06";
const END64: &[u8; 4] = b"PK\x06\x06";
const LOCATOR64: &[u8; 4] = b"PK\x06\x07";
const DESCRIPTOR: &[u8; 4] = b"PK\x07\x08";
/// Most entries read from the central directory.
const MAX_ENTRIES: u64 = 1 << 20;
/// Most local headers walked forward to find the central directory (a probe's bound); a
/// larger archive is found from the end of the window, as unzip finds it.
const MAX_WALK: u64 = 4096;
/// Longest symlink target read (the kernel's PATH_MAX).
const MAX_LINK: u64 = 4096;
/// The end record (22 bytes) and the longest comment it may carry.
const END_SEARCH: u64 = 22 + 0xffff;

/// The zip handler.
pub struct Zip;

/// Where the archive's central directory and end records are.
#[derive(Debug, Clone)]
struct Layout {
    /// Offset of the end-of-central-directory record.
    end: u64,
    /// Length of the comment after it.
    comment: u64,
    /// Where the central directory is, and its length.
    cd: u64,
    cd_size: u64,
    entries: u64,
    /// The zip64 end record and locator, when present: (offset, length).
    zip64: Option<(u64, u64)>,
    /// What to add to a stated offset to find the bytes in this window (an archive whose
    /// offsets count bytes before it, as a self-extractor's do).
    delta: i128,
}

impl Layout {
    fn consumed(&self) -> u64 {
        self.end + 22 + self.comment
    }
    fn at(&self, stated: u64) -> Option<u64> {
        u64::try_from(i128::from(stated) + self.delta).ok()
    }
}

/// Finds the end records: from the local headers forward (an archive followed by other data
/// inside an image), else from the window's end backward, as unzip does.
fn layout(src: &Source) -> std::result::Result<Layout, String> {
    let forward = walk_locals(src).and_then(|cd| {
        let end = skip_central(src, cd)?;
        Some((cd, end))
    });
    let end = match forward {
        Some((_, end)) => end,
        None => find_end_backward(src).ok_or("no end-of-central-directory record")?,
    };
    let e = src.exact(end, 22).map_err(|e| e.to_string())?;
    let comment = u64::from(le16(&e, 20).unwrap_or(0));
    if end + 22 + comment > src.len() {
        return Err("the end record's comment runs past the end".into());
    }
    if le16(&e, 4) != Some(0) || le16(&e, 6) != Some(0) {
        return Err("a split (multi-disk) archive".into());
    }
    let mut entries = u64::from(le16(&e, 10).unwrap_or(0));
    let mut cd_size = u64::from(le32(&e, 12).unwrap_or(0));
    let mut cd_stated = u64::from(le32(&e, 16).unwrap_or(0));
    let mut zip64 = None;
    let mut record_at = end;
    if end >= 20 {
        let l = src.exact(end - 20, 20).map_err(|e| e.to_string())?;
        if l.starts_with(LOCATOR64) {
            // The zip64 end record sits right before its locator, its length in its header.
            let guess = (end - 20)
                .checked_sub(56)
                .ok_or("a zip64 locator too close to the start")?;
            let r = src.exact(guess, 56).map_err(|e| e.to_string())?;
            if !r.starts_with(END64) {
                return Err("the zip64 end record is not where its locator says".into());
            }
            if le64(&r, 4) != Some(44) {
                return Err("a zip64 end record with extensible data".into());
            }
            entries = le64(&r, 32).unwrap_or(0);
            cd_size = le64(&r, 40).unwrap_or(0);
            cd_stated = le64(&r, 48).unwrap_or(0);
            zip64 = Some((guess, end - guess));
            record_at = guess;
        }
    }
    // Where the end record says, when a directory is there (bytes between it and the end
    // record are then left to be carved); else right before the end record, the stated
    // offsets counting bytes before the archive (as a self-extractor's do).
    let stated_fits = cd_stated
        .checked_add(cd_size)
        .is_some_and(|e| e <= record_at)
        && src.bytes(cd_stated, 4).is_ok_and(|s| s == CENTRAL);
    let cd = if stated_fits {
        cd_stated
    } else {
        record_at
            .checked_sub(cd_size)
            .ok_or("a central directory larger than the bytes before its end record")?
    };
    let delta = i128::from(cd) - i128::from(cd_stated);
    if entries > MAX_ENTRIES {
        return Err(format!("{entries} entries (more than {MAX_ENTRIES})"));
    }
    if cd_size > 0 && !src.bytes(cd, 4).is_ok_and(|s| s == CENTRAL) {
        return Err("no central directory where the end record says".into());
    }
    Ok(Layout {
        end,
        comment,
        cd,
        cd_size,
        entries,
        zip64,
        delta,
    })
}

/// Walks local headers from the start; returns where the central directory starts, if the
/// walk reaches it (every entry's size known from its local header).
fn walk_locals(src: &Source) -> Option<u64> {
    let mut pos = 0u64;
    for _ in 0..MAX_WALK {
        let sig = src.bytes(pos, 4).ok()?;
        if sig == CENTRAL {
            return Some(pos);
        }
        if sig != LOCAL {
            return None;
        }
        let h = src.exact(pos, 30).ok()?;
        let flags = le16(&h, 6)?;
        let n = u64::from(le16(&h, 26)?);
        let m = u64::from(le16(&h, 28)?);
        let mut csize = u64::from(le32(&h, 18)?);
        if csize == 0xffff_ffff {
            let extra = src.exact(pos + 30 + n, m as usize).ok()?;
            let z = extra_field(&extra, 0x0001)?;
            csize = le64(z, 8)?;
        }
        if flags & 0x08 != 0 && csize == 0 {
            return None; // sizes only in the data descriptor
        }
        pos = pos.checked_add(30 + n + m)?.checked_add(csize)?;
        if flags & 0x08 != 0 {
            let d = src.bytes(pos, 4).ok()?;
            pos += if d == DESCRIPTOR { 4 } else { 0 } + 12;
        }
    }
    None
}

/// Walks the central directory from `cd`; returns where the end record (or the zip64 end
/// record's locator chain ending in it) starts.
fn skip_central(src: &Source, cd: u64) -> Option<u64> {
    let mut pos = cd;
    for _ in 0..=MAX_WALK {
        let h = src.bytes(pos, 46).ok()?;
        match h.get(..4)? {
            s if s == CENTRAL => {
                let n =
                    u64::from(le16(&h, 28)?) + u64::from(le16(&h, 30)?) + u64::from(le16(&h, 32)?);
                pos = pos.checked_add(46 + n)?;
            }
            s if s == END64 => {
                let size = le64(&h, 4)?;
                pos = pos.checked_add(12)?.checked_add(size)?.checked_add(20)?;
            }
            s if s == END => return Some(pos),
            _ => return None,
        }
    }
    None
}

/// The last end record in the window's final 64 KiB, whose comment ends inside it.
fn find_end_backward(src: &Source) -> Option<u64> {
    let len = src.len();
    // The usual case, an archive without a comment, costs one 22-byte read.
    let at = len.checked_sub(22)?;
    if src.bytes(at, 22).ok()?.get(..4) == Some(END) && src.bytes(at + 20, 2).ok()? == [0, 0] {
        return Some(at);
    }
    let from = len.saturating_sub(END_SEARCH);
    let tail = src.bytes(from, (len - from) as usize).ok()?;
    let mut i = tail.len().checked_sub(22)?;
    loop {
        if tail.get(i..i + 4) == Some(END) {
            let comment = usize::from(le16(&tail, i + 20)?);
            if i + 22 + comment <= tail.len() {
                return Some(from + i as u64);
            }
        }
        i = i.checked_sub(1)?;
    }
}

/// The data of extra field `id` in a list of extra fields.
fn extra_field(extra: &[u8], id: u16) -> Option<&[u8]> {
    let mut at = 0;
    while at + 4 <= extra.len() {
        let tag = le16(extra, at)?;
        let n = usize::from(le16(extra, at + 2)?);
        let data = extra.get(at + 4..at + 4 + n)?;
        if tag == id {
            return Some(data);
        }
        at += 4 + n;
    }
    None
}

/// One central-directory record.
struct Central {
    made_by: u16,
    /// Version needed to extract (tens and units, e.g. 45 for 4.5).
    needed: u16,
    flags: u16,
    method: u16,
    crc: u32,
    csize: u64,
    usize: u64,
    local: u64,
    ext_attr: u32,
    name: Vec<u8>,
    extra: Vec<u8>,
    /// Bytes the record takes.
    len: u64,
}

fn central(src: &Source, at: u64) -> std::result::Result<Central, String> {
    let h = src.exact(at, 46).map_err(|e| e.to_string())?;
    if !h.starts_with(CENTRAL) {
        return Err("no central-directory record signature".into());
    }
    let r16 = |o| u64::from(le16(&h, o).unwrap_or(0));
    let r32 = |o| u64::from(le32(&h, o).unwrap_or(0));
    let (n, m, k) = (r16(28), r16(30), r16(32));
    let name = src.exact(at + 46, n as usize).map_err(|e| e.to_string())?;
    let extra = src
        .exact(at + 46 + n, m as usize)
        .map_err(|e| e.to_string())?;
    let mut c = Central {
        made_by: r16(4) as u16,
        needed: r16(6) as u16 & 0xff,
        flags: r16(8) as u16,
        method: r16(10) as u16,
        crc: r32(16) as u32,
        csize: r32(20),
        usize: r32(24),
        local: r32(42),
        ext_attr: r32(38) as u32,
        name,
        extra,
        len: 46 + n + m + k,
    };
    if r16(34) != 0 && r16(34) != 0xffff {
        return Err("an entry on another disk (a split archive)".into());
    }
    // Zip64: the 8-byte values, in this order, for each field that is all ones.
    if c.usize == 0xffff_ffff || c.csize == 0xffff_ffff || c.local == 0xffff_ffff {
        let z = extra_field(&c.extra, 0x0001).ok_or("zip64 sizes without a zip64 extra field")?;
        let mut at = 0;
        for v in [&mut c.usize, &mut c.csize, &mut c.local] {
            if *v == 0xffff_ffff {
                *v = le64(z, at).ok_or("a zip64 extra field too short")?;
                at += 8;
            }
        }
    }
    Ok(c)
}

/// Owners from the Info-ZIP Unix extra fields: `ux` (0x7875, any width), `Ux` (0x7855,
/// 16-bit, local header only) or the old `UX` (0x5855).
fn owners(extra: &[u8]) -> Option<(u32, u32)> {
    if let Some(d) = extra_field(extra, 0x7875) {
        let n = usize::from(*d.get(1)?);
        let uid = d.get(2..2 + n)?;
        let m = usize::from(*d.get(2 + n)?);
        let gid = d.get(3 + n..3 + n + m)?;
        let num = |b: &[u8]| -> Option<u32> {
            if b.len() > 4 && b[4..].iter().any(|&x| x != 0) {
                return None;
            }
            Some(
                b.iter()
                    .take(4)
                    .rev()
                    .fold(0u32, |a, &x| (a << 8) | u32::from(x)),
            )
        };
        return Some((num(uid)?, num(gid)?));
    }
    if let Some(d) = extra_field(extra, 0x7855) {
        return Some((u32::from(le16(d, 0)?), u32::from(le16(d, 2)?)));
    }
    let d = extra_field(extra, 0x5855)?;
    Some((u32::from(le16(d, 8)?), u32::from(le16(d, 10)?)))
}

/// The name unzip uses: the Info-ZIP Unicode path (0x7075) when its CRC matches the stored
/// name, else the stored name.
fn entry_name(c: &Central) -> Vec<u8> {
    if let Some(d) = extra_field(&c.extra, 0x7075) {
        if d.first() == Some(&1) && le32(d, 1) == Some(crc32fast::hash(&c.name)) {
            return d[5..].to_vec();
        }
    }
    c.name.clone()
}

fn method_name(m: u16) -> &'static str {
    match m {
        0 => "stored",
        8 => "deflate",
        9 => "deflate64",
        12 => "bzip2",
        14 => "lzma",
        93 => "zstd",
        95 => "xz",
        98 => "PPMd",
        99 => "AES-encrypted",
        _ => "unknown",
    }
}

impl Handler for Zip {
    fn id(&self) -> &'static str {
        "zip"
    }
    fn description(&self) -> &'static str {
        "zip archive (stored, deflate, zstd, xz; zip64)"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[LOCAL]
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        let h = src.exact(0, 30).ok()?;
        // A plausible local header first (the magic alone occurs in binaries): a known
        // version and method, a name without control characters.
        let version = le16(&h, 4)?;
        let method = le16(&h, 8)?;
        let n = usize::from(le16(&h, 26)?);
        let name = src.bytes(30, n).ok()?;
        if version > 63
            || !matches!(method, 0 | 8 | 9 | 12 | 14 | 93 | 95 | 98 | 99)
            || !(1..=4096).contains(&n)
            || name.len() != n
            || name.iter().any(|&c| c < 0x20 || c == 0x7f)
        {
            return None;
        }
        let l = layout(src).ok()?;
        // The central directory must describe an entry here (local offset 0 once shifted).
        if l.cd_size == 0 {
            return None;
        }
        let first = central(src, l.cd).ok()?;
        if l.at(first.local) != Some(0) {
            return None;
        }
        Some(Probe::new(
            Some(l.consumed()),
            format!(
                "zip archive, {} entries, {}",
                l.entries,
                human_size(l.consumed())
            ),
        ))
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let l = layout(src).map_err(|e| out.malformed(e))?;
        if l.delta != 0 {
            out.problem(format!(
                "the archive's offsets are shifted by {} bytes (data before or inside it); read as unzip does",
                l.delta
            ));
        }
        let mut used = Vec::new();
        let walked = entries(src, &l, out, &mut used);
        // The central directory and the end records; the comment is left to be carved.
        let mut tail = vec![(l.cd, l.cd + l.cd_size)];
        if let Some((a, n)) = l.zip64 {
            tail.push((a, a + n));
        }
        tail.push((l.end, l.end + 22));
        for (a, b) in tail {
            used.push((a, b));
        }
        used.sort_unstable();
        let mut merged = Vec::new();
        for (a, b) in used {
            add_range(&mut merged, a, b);
        }
        out.used(merged);
        walked?;
        Ok(l.consumed())
    }
}

/// Reads every central-directory record and extracts its entry.
fn entries(
    src: &Source,
    l: &Layout,
    out: &mut Output<'_>,
    used: &mut Vec<(u64, u64)>,
) -> Result<()> {
    let cd_end = l.cd + l.cd_size;
    let mut pos = l.cd;
    let mut count = 0u64;
    // Extents of the entries extracted so far (local header to end of data, disjoint),
    // by start, for overlaps.
    let mut extents: BTreeMap<u64, (u64, String)> = BTreeMap::new();
    while pos < cd_end {
        out.check_time()?;
        let c = match central(src, pos) {
            Ok(c) => c,
            Err(e) => {
                out.problem(format!(
                    "central directory record at offset {pos:#x}: {e}; the rest of the directory is not read"
                ));
                break;
            }
        };
        pos += c.len;
        count += 1;
        if count > MAX_ENTRIES {
            out.problem(format!(
                "more than {MAX_ENTRIES} entries; the rest not read"
            ));
            break;
        }
        if let Some((a, b, name)) = entry(src, l, out, &c, &extents)? {
            used.push((a, b));
            extents.insert(a, (b, name));
        }
    }
    if pos > cd_end {
        out.problem("the last central directory record runs past the directory's stated size");
    }
    if count != l.entries {
        out.problem(format!(
            "the end record says {} entries, the central directory holds {count}",
            l.entries
        ));
    }
    Ok(())
}

/// Extracts one entry; returns its extent when its bytes were used.
fn entry(
    src: &Source,
    l: &Layout,
    out: &mut Output<'_>,
    c: &Central,
    extents: &BTreeMap<u64, (u64, String)>,
) -> Result<Option<(u64, u64, String)>> {
    let (name, why) = clean(&entry_name(c));
    let shown = if name.is_empty() {
        "(empty name)"
    } else {
        &name
    };
    if let Some(why) = why {
        out.problem(format!("{shown}: {why}"));
    }
    let Some(local) = l.at(c.local) else {
        out.problem(format!(
            "{shown}: its local header offset lies before the archive; not extracted"
        ));
        return Ok(None);
    };
    let h = match src.exact(local, 30) {
        Ok(h) if h.starts_with(LOCAL) => h,
        _ => {
            out.problem(format!(
                "{shown}: no local header at offset {local:#x}; not extracted"
            ));
            return Ok(None);
        }
    };
    let n = u64::from(le16(&h, 26).unwrap_or(0));
    let m = u64::from(le16(&h, 28).unwrap_or(0));
    let lname = src.exact(local + 30, n as usize).unwrap_or_default();
    let lextra = src.exact(local + 30 + n, m as usize).unwrap_or_default();
    let data = local + 30 + n + m;
    let Some(end) = data.checked_add(c.csize).filter(|&e| e <= src.len()) else {
        out.problem(format!(
            "{shown}: truncated: {} bytes of data at offset {data:#x} run past the end; not extracted",
            c.csize
        ));
        return Ok(None);
    };
    // A local header that says something else than the directory: another extractor
    // (or a streaming one) reads another archive.
    let mut differ = Vec::new();
    if lname != c.name {
        differ.push(format!("name {:?}", String::from_utf8_lossy(&lname)));
    }
    if le16(&h, 8) != Some(c.method) {
        differ.push(format!("method {}", le16(&h, 8).unwrap_or(0)));
    }
    let lflags = le16(&h, 6).unwrap_or(0);
    if lflags != c.flags {
        differ.push(format!(
            "flags ({lflags:#06x}, the directory {:#06x})",
            c.flags
        ));
    }
    if le16(&h, 6).unwrap_or(0) & 0x08 == 0 {
        let mut lc = u64::from(le32(&h, 18).unwrap_or(0));
        let mut lu = u64::from(le32(&h, 22).unwrap_or(0));
        if lc == 0xffff_ffff || lu == 0xffff_ffff {
            let z = extra_field(&lextra, 0x0001).unwrap_or(&[]);
            lu = le64(z, 0).unwrap_or(lu);
            lc = le64(z, 8).unwrap_or(lc);
        }
        if le32(&h, 14) != Some(c.crc) {
            differ.push("CRC".into());
        }
        if lc != c.csize || lu != c.usize {
            differ.push(format!("sizes ({lc} compressed, {lu} uncompressed)"));
        }
    }
    if !differ.is_empty() {
        out.problem(format!(
            "{shown}: the local header at offset {local:#x} disagrees with the central directory on {} (a parser differential); extracted as the central directory says",
            differ.join(", ")
        ));
    }
    // The stored extents are disjoint: only the last one starting before this end can
    // overlap it.
    if let Some((a, (b, other))) = extents
        .range(..end.max(local + 1))
        .next_back()
        .filter(|(_, (b, _))| *b > local)
    {
        out.problem(format!(
            "{shown}: its bytes {local:#x}..{end:#x} overlap those of {other} ({a:#x}..{b:#x}): entries sharing data (an overlapping-entry zip bomb); not extracted"
        ));
        return Ok(None);
    }
    // The data descriptor after the data, when the entry has one.
    let mut extent_end = end;
    if c.flags & 0x08 != 0 {
        let d = src.bytes(end, 4).unwrap_or_default();
        let size = if c.csize >= 0xffff_ffff || c.usize >= 0xffff_ffff {
            16
        } else {
            8
        };
        extent_end = end + if d == DESCRIPTOR { 4 } else { 0 } + 4 + size;
        extent_end = extent_end.min(src.len());
    }
    let extent = Some((local, extent_end, shown.to_string()));
    if c.needed > 63 {
        // Beyond the latest specification (6.3): unzip refuses it, another tool may not.
        out.problem(format!(
            "{shown}: needs version {}.{} of the format to extract (the specification ends at 6.3); extracted anyway",
            c.needed / 10,
            c.needed % 10
        ));
    }
    if c.flags & 0x41 != 0 || c.method == 99 {
        out.problem(format!("{shown}: encrypted; not extracted"));
        return Ok(None);
    }
    // Unix mode from the external attributes of entries made on Unix.
    let unix = c.made_by >> 8 == 3;
    let st = if unix { c.ext_attr >> 16 } else { 0 };
    let dir = name.is_empty() || c.name.ends_with(b"/") || st & 0o170000 == 0o040000;
    let mode = if st != 0 {
        st & 0o7777
    } else if dir {
        0o755
    } else {
        0o644
    };
    let (uid, gid) = owners(&c.extra)
        .or_else(|| owners(&lextra))
        .unwrap_or((0, 0));
    let attrs = if owners(&c.extra).or_else(|| owners(&lextra)).is_some() {
        Attrs::new(mode, uid, gid)
    } else {
        Attrs::from(mode)
    };
    if dir {
        out.dir(&name, attrs)?;
        if c.usize > 0 {
            out.problem(format!(
                "{shown}: a directory entry carrying {} bytes of data; not extracted",
                c.usize
            ));
        }
        return Ok(extent);
    }
    let body = src.slice(data, c.csize);
    let mut reader = match decoder(c.method, body.reader(0)) {
        Ok(r) => Checked {
            inner: r,
            left: c.usize,
            crc: crc32fast::Hasher::new(),
        },
        Err(why) => {
            out.problem(format!(
                "{shown}: compression method {} ({}) {why}; not extracted",
                c.method,
                method_name(c.method)
            ));
            return Ok(None);
        }
    };
    match st & 0o170000 {
        0o120000 => {
            if c.usize > MAX_LINK {
                out.problem(format!(
                    "{shown}: a symbolic link target of {} bytes (more than {MAX_LINK}); not extracted",
                    c.usize
                ));
                return Ok(None);
            }
            let mut target = Vec::new();
            if let Err(e) = (&mut reader).take(MAX_LINK).read_to_end(&mut target) {
                out.problem(format!("{shown}: symbolic link target: {e}; not extracted"));
                return Ok(None);
            }
            match String::from_utf8(target) {
                Ok(t) if !t.contains('\0') => out.symlink(&name, &t, attrs)?,
                _ => {
                    out.problem(format!(
                        "{shown}: symbolic link target is not UTF-8 text; not extracted"
                    ));
                    return Ok(None);
                }
            }
        }
        // A pipe's mode: what `zip - -` records for data read from standard input.
        0 | 0o100000 | 0o010000 => out.file(&name, &mut reader, attrs)?,
        t => {
            // unzip makes a regular file of anything else.
            out.problem(format!(
                "{shown}: file type {t:#o} in the external attributes; extracted as a regular file, as unzip does"
            ));
            out.file(&name, &mut reader, attrs)?;
        }
    }
    let written = c.usize - reader.left;
    if reader.left > 0 {
        out.problem(format!(
            "{shown}: {written} of the {} bytes declared could be decoded",
            c.usize
        ));
    } else {
        let mut more = [0u8; 1];
        if matches!(reader.inner.read(&mut more), Ok(n) if n > 0) {
            out.problem(format!(
                "{shown}: the data decodes to more than the {} bytes declared; kept those",
                c.usize
            ));
        }
        if reader.crc.clone().finalize() != c.crc {
            out.problem(format!(
                "{shown}: CRC-32 does not match the central directory's; extracted anyway"
            ));
        }
    }
    Ok(extent)
}

/// A decoder for an entry's data, or why there is none.
fn decoder<'a>(
    method: u16,
    r: crate::source::SourceReader,
) -> std::result::Result<Box<dyn Read + 'a>, &'static str> {
    match method {
        0 => Ok(Box::new(r)),
        8 => Ok(Box::new(flate2::bufread::DeflateDecoder::new(r))),
        93 => {
            let mut d = zstd::stream::read::Decoder::with_buffer(r)
                .map_err(|_| "could not start a decoder")?;
            d.window_log_max(27)
                .map_err(|_| "could not bound the decoder")?;
            Ok(Box::new(d))
        }
        95 => {
            let stream = liblzma::stream::Stream::new_stream_decoder(DECODER_MEMLIMIT, 0)
                .map_err(|_| "could not start a decoder")?;
            Ok(Box::new(liblzma::bufread::XzDecoder::new_stream(r, stream)))
        }
        _ => Err("is not supported"),
    }
}

/// Reads at most the declared size, computing the CRC-32.
struct Checked<'a> {
    inner: Box<dyn Read + 'a>,
    left: u64,
    crc: crc32fast::Hasher,
}

impl Read for Checked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = (buf.len() as u64).min(self.left) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = self.inner.read(&mut buf[..want])?;
        self.crc.update(&buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-entry archive made on Unix: `data` stored with `method`, `plain` its content.
    fn archive(method: u16, name: &str, data: &[u8], plain: &[u8]) -> Vec<u8> {
        let crc = crc32fast::hash(plain);
        let mut v = Vec::new();
        v.extend_from_slice(LOCAL);
        v.extend_from_slice(&63u16.to_le_bytes());
        v.extend_from_slice(&0u16.to_le_bytes());
        v.extend_from_slice(&method.to_le_bytes());
        v.extend_from_slice(&[0; 4]);
        v.extend_from_slice(&crc.to_le_bytes());
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(&(plain.len() as u32).to_le_bytes());
        v.extend_from_slice(&(name.len() as u16).to_le_bytes());
        v.extend_from_slice(&0u16.to_le_bytes());
        v.extend_from_slice(name.as_bytes());
        v.extend_from_slice(data);
        let cd = v.len() as u32;
        v.extend_from_slice(CENTRAL);
        v.extend_from_slice(&0x033fu16.to_le_bytes());
        v.extend_from_slice(&63u16.to_le_bytes());
        v.extend_from_slice(&0u16.to_le_bytes());
        v.extend_from_slice(&method.to_le_bytes());
        v.extend_from_slice(&[0; 4]);
        v.extend_from_slice(&crc.to_le_bytes());
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(&(plain.len() as u32).to_le_bytes());
        v.extend_from_slice(&(name.len() as u16).to_le_bytes());
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&(0o100644u32 << 16).to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(name.as_bytes());
        let size = v.len() as u32 - cd;
        v.extend_from_slice(END);
        v.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
        v.extend_from_slice(&size.to_le_bytes());
        v.extend_from_slice(&cd.to_le_bytes());
        v.extend_from_slice(&0u16.to_le_bytes());
        v
    }

    fn unpacked(bytes: &[u8]) -> (tempfile::TempDir, crate::Tree) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a.zip");
        std::fs::write(&path, bytes).unwrap();
        let tree = crate::unpack(&path, &tmp.path().join("out"), crate::Limits::default()).unwrap();
        (tmp, tree)
    }

    #[test]
    fn zstd_and_xz_entries_decode() {
        let plain = b"lan_ipaddr=192.168.1.1\n".repeat(50);
        let zst = zstd::bulk::compress(&plain, 3).unwrap();
        let mut xz = Vec::new();
        liblzma::read::XzEncoder::new(&plain[..], 6)
            .read_to_end(&mut xz)
            .unwrap();
        for (method, data) in [(93u16, zst), (95, xz)] {
            let (_tmp, tree) = unpacked(&archive(method, "etc/config", &data, &plain));
            let node = tree
                .nodes
                .iter()
                .find(|n| n.origin.inner_path == "/etc/config")
                .unwrap_or_else(|| panic!("method {method}: {:#?}", tree.problems));
            assert_eq!(std::fs::read(tree.path_of(node)).unwrap(), plain);
            assert!(
                !tree
                    .problems
                    .iter()
                    .any(|p| p.format.as_deref() == Some("zip")),
                "{:#?}",
                tree.problems
            );
        }
    }

    #[test]
    fn a_crc_mismatch_and_a_short_stream_are_reported() {
        let mut bytes = archive(0, "f", b"abcd", b"abcd");
        bytes[30 + 1] = b'X'; // the stored data no longer matches its CRC
        let (_tmp, tree) = unpacked(&bytes);
        assert!(
            tree.problems.iter().any(|p| p.message.contains("CRC-32")),
            "{:#?}",
            tree.problems
        );
    }
}
