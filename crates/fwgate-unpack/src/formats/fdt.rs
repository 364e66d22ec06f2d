//! Flattened device trees (magic 0xd00dfeed) and the FIT images U-Boot boots (`mkimage -f`):
//! the structure block is walked token by token with an explicit path stack (bounded depth,
//! token count and property sizes). Each `/images/<name>` node's data, embedded (`data`) or
//! external (`mkimage -E`: `data-offset` after the tree, or `data-position`, with
//! `data-size`), is a payload named after the node; its `type`, `arch` and `compression` go
//! into the manifest's info. A plain device tree blob holds no payload: it is written as the
//! kernel shows it in /proc/device-tree (a directory per node, a file per property).

use crate::formats::be32;
use crate::handler::{human_size, Handler, Output, Probe};
use crate::source::Source;
use crate::Result;

const MAGIC: [u8; 4] = [0xd0, 0x0d, 0xfe, 0xed];
const HEADER: usize = 40;
const BEGIN_NODE: u32 = 1;
const END_NODE: u32 = 2;
const PROP: u32 = 3;
const NOP: u32 = 4;
const END: u32 = 9;
/// Deepest node nesting accepted (real trees are under 10 deep).
const MAX_DEPTH: usize = 64;
/// Most tokens walked in one tree.
const MAX_TOKENS: usize = 1 << 20;
/// Longest node or property name read.
const MAX_NAME: usize = 256;
/// Longest property value read into memory (strings and numbers; data is sliced, not read).
const MAX_VALUE: u32 = 4096;
/// Most images listed in one FIT.
const MAX_IMAGES: usize = 1024;

/// The header fields the walk needs.
#[derive(Debug, Clone, Copy)]
struct Header {
    total: u64,
    off_struct: u64,
    end_struct: u64,
    off_strings: u64,
    size_strings: u64,
}

fn header(src: &Source) -> Option<Header> {
    let h = src.bytes(0, HEADER).ok()?;
    if h.get(..4)? != MAGIC {
        return None;
    }
    let f = |i: usize| be32(&h, 4 * i).map(u64::from);
    let (total, off_struct, off_strings, off_rsv) = (f(1)?, f(2)?, f(3)?, f(4)?);
    let (version, last_comp) = (f(5)?, f(6)?);
    if !(16..=17).contains(&last_comp) || version < last_comp || version > 64 {
        return None;
    }
    let size_strings = f(8)?;
    // Version 17 gives the structure block's size; before it, it runs to the strings.
    let size_struct = if version >= 17 {
        f(9)?
    } else {
        off_strings.checked_sub(off_struct)?
    };
    let end_struct = off_struct.checked_add(size_struct)?;
    let ok = total >= HEADER as u64
        && off_struct >= HEADER as u64
        && off_struct.is_multiple_of(4)
        && off_rsv.is_multiple_of(8)
        && off_rsv >= HEADER as u64
        && end_struct <= total
        && off_strings.checked_add(size_strings)? <= total;
    ok.then_some(Header {
        total,
        off_struct,
        end_struct,
        off_strings,
        size_strings,
    })
}

/// A bounded cache of the file around the walk, so a token costs no read of its own.
struct Cursor {
    src: Source,
    base: u64,
    buf: Vec<u8>,
}

impl Cursor {
    fn get(&mut self, off: u64, n: usize) -> Option<&[u8]> {
        let inside =
            off >= self.base && off.checked_add(n as u64)? <= self.base + self.buf.len() as u64;
        if !inside {
            self.buf = self.src.bytes(off, n.max(64 * 1024)).ok()?;
            self.base = off;
        }
        let at = usize::try_from(off - self.base).ok()?;
        self.buf.get(at..at.checked_add(n)?)
    }

    fn word(&mut self, off: u64) -> Option<u32> {
        be32(self.get(off, 4)?, 0)
    }

    /// A NUL-terminated string of at most MAX_NAME bytes at `off`, not past `end`, and its
    /// length in bytes (which the lossy conversion may change).
    fn string(&mut self, off: u64, end: u64) -> Option<(String, u64)> {
        let n = usize::try_from(end.checked_sub(off)?)
            .ok()?
            .min(MAX_NAME + 1);
        let b = self.get(off, n)?;
        let len = b.iter().position(|&c| c == 0)?;
        Some((String::from_utf8_lossy(&b[..len]).into_owned(), len as u64))
    }
}

/// What a FIT's `/images/<name>` node says.
#[derive(Debug, Default, Clone)]
struct Image {
    name: String,
    /// Embedded data: (offset, length) in the file.
    data: Option<(u64, u64)>,
    data_offset: Option<u64>,
    data_position: Option<u64>,
    data_size: Option<u64>,
    kind: Option<String>,
    arch: Option<String>,
    compression: Option<String>,
    /// Its `hash-N` subnodes: algorithm and value, as U-Boot checks them before booting.
    hashes: Vec<(String, Option<String>, Option<Vec<u8>>)>,
}

/// What a walk of the tree found.
#[derive(Debug, Default)]
struct Walk {
    nodes: usize,
    description: Option<String>,
    /// Whether the root has an `/images` node (a FIT).
    fit: bool,
    images: Vec<Image>,
    /// Why the walk stopped early, if it did.
    error: Option<String>,
}

fn value_string(v: &[u8]) -> String {
    let end = v.iter().position(|&c| c == 0).unwrap_or(v.len());
    String::from_utf8_lossy(&v[..end]).into_owned()
}

fn value_u32(v: &[u8]) -> Option<u64> {
    (v.len() == 4).then(|| be32(v, 0).map(u64::from))?
}

/// What the walk shows its visitor: a node (its path below the root), or a property of the
/// node at a path (name, offset and length of its value).
enum Event<'a> {
    Node(&'a [String]),
    Prop(&'a [String], &'a str, u64, u64),
}

/// A visitor of the walk; an error stops it.
type Visit<'v> = &'v mut dyn FnMut(Event<'_>) -> Result<()>;

/// Walks the structure block: explicit stack, bounded by MAX_DEPTH and MAX_TOKENS.
fn walk(src: &Source, h: &Header, visit: Visit<'_>) -> Result<Walk> {
    let mut c = Cursor {
        src: src.clone(),
        base: 0,
        buf: Vec::new(),
    };
    let mut w = Walk::default();
    let mut path: Vec<String> = Vec::new();
    let mut pos = h.off_struct;
    let strings_end = h.off_strings + h.size_strings;
    let fail = |w: &mut Walk, msg: String| w.error = Some(msg);
    for _ in 0..MAX_TOKENS {
        let Some(token) = c.word(pos) else {
            fail(
                &mut w,
                format!("structure block runs past the end at {pos:#x}"),
            );
            return Ok(w);
        };
        if pos + 4 > h.end_struct {
            fail(
                &mut w,
                format!("token at {pos:#x} outside the structure block"),
            );
            return Ok(w);
        }
        pos += 4;
        match token {
            BEGIN_NODE => {
                let Some((name, raw_len)) = c.string(pos, h.end_struct) else {
                    fail(
                        &mut w,
                        format!("node name at {pos:#x} is not terminated within {MAX_NAME} bytes"),
                    );
                    return Ok(w);
                };
                pos += (raw_len + 1 + 3) & !3;
                if path.len() >= MAX_DEPTH {
                    fail(
                        &mut w,
                        format!("nodes nested deeper than {MAX_DEPTH} at {pos:#x}"),
                    );
                    return Ok(w);
                }
                w.nodes += 1;
                if path.len() == 1 && name == "images" {
                    w.fit = true;
                }
                if path.len() == 2 && path[1] == "images" {
                    if w.images.len() >= MAX_IMAGES {
                        fail(&mut w, format!("more than {MAX_IMAGES} images"));
                        return Ok(w);
                    }
                    w.images.push(Image {
                        name: name.clone(),
                        ..Image::default()
                    });
                }
                if path.len() == 3 && path[1] == "images" && name.starts_with("hash") {
                    if let Some(img) = w.images.last_mut() {
                        if img.hashes.len() < 16 {
                            img.hashes.push((name.clone(), None, None));
                        }
                    }
                }
                path.push(name);
                visit(Event::Node(&path[1..]))?;
            }
            END_NODE => {
                if path.pop().is_none() {
                    fail(&mut w, format!("unbalanced end of node at {:#x}", pos - 4));
                    return Ok(w);
                }
            }
            PROP => {
                let (Some(len), Some(nameoff)) = (c.word(pos), c.word(pos + 4)) else {
                    fail(&mut w, format!("property at {pos:#x} runs past the end"));
                    return Ok(w);
                };
                let at = pos + 8;
                let end = at + u64::from(len);
                if end > h.end_struct {
                    fail(
                        &mut w,
                        format!(
                            "property at {pos:#x} of {len} bytes runs past the structure block"
                        ),
                    );
                    return Ok(w);
                }
                pos = (end + 3) & !3;
                let Some(name) = h
                    .off_strings
                    .checked_add(u64::from(nameoff))
                    .filter(|&o| o < strings_end)
                    .and_then(|o| c.string(o, strings_end))
                    .map(|(s, _)| s)
                else {
                    fail(&mut w, format!("property at {:#x} names no string", at - 8));
                    return Ok(w);
                };
                let value = |c: &mut Cursor| {
                    if len > MAX_VALUE {
                        None
                    } else {
                        c.get(at, len as usize).map(<[u8]>::to_vec)
                    }
                };
                if path.len() == 1 && name == "description" {
                    w.description = value(&mut c).map(|v| value_string(&v));
                }
                visit(Event::Prop(&path[1..], &name, at, u64::from(len)))?;
                let in_hash = path.len() == 4 && path[1] == "images" && path[3].starts_with("hash");
                if let (true, Some(h)) = (
                    in_hash,
                    w.images.last_mut().and_then(|i| i.hashes.last_mut()),
                ) {
                    match name.as_str() {
                        "algo" => h.1 = value(&mut c).map(|v| value_string(&v)),
                        "value" => h.2 = value(&mut c),
                        _ => {}
                    }
                }
                let in_image = path.len() == 3 && path[1] == "images";
                if let (true, Some(img)) = (in_image, w.images.last_mut()) {
                    match name.as_str() {
                        "data" => img.data = Some((at, u64::from(len))),
                        "data-offset" => {
                            img.data_offset = value(&mut c).and_then(|v| value_u32(&v))
                        }
                        "data-position" => {
                            img.data_position = value(&mut c).and_then(|v| value_u32(&v))
                        }
                        "data-size" => img.data_size = value(&mut c).and_then(|v| value_u32(&v)),
                        "type" => img.kind = value(&mut c).map(|v| value_string(&v)),
                        "arch" => img.arch = value(&mut c).map(|v| value_string(&v)),
                        "compression" => img.compression = value(&mut c).map(|v| value_string(&v)),
                        _ => {}
                    }
                }
            }
            NOP => {}
            END => {
                if !path.is_empty() {
                    fail(
                        &mut w,
                        format!("end of the structure block inside node {}", path.join("/")),
                    );
                }
                return Ok(w);
            }
            t => {
                fail(&mut w, format!("unknown token {t:#x} at {:#x}", pos - 4));
                return Ok(w);
            }
        }
    }
    fail(&mut w, format!("more than {MAX_TOKENS} tokens"));
    Ok(w)
}

/// Whether a node or property name can be a file name: no `/`, not `.` or `..`, not empty.
fn plain_name(n: &str) -> bool {
    !n.is_empty() && n != "." && n != ".." && !n.contains('/') && !n.contains('\0')
}

/// Writes a plain device tree the way the kernel shows it in /proc/device-tree: a directory
/// per node, a file per property holding its raw value.
fn write_tree(src: &Source, h: &Header, out: &mut Output<'_>) -> Result<Walk> {
    let mut visit = |e: Event<'_>| -> Result<()> {
        out.check_time()?;
        let (path, prop) = match e {
            Event::Node(path) => (path, None),
            Event::Prop(path, name, at, len) => (path, Some((name, at, len))),
        };
        if let Some(bad) = path.iter().find(|n| !plain_name(n)) {
            if prop.is_none() {
                out.problem(format!(
                    "node named {bad:?} cannot be a directory; not extracted"
                ));
            }
            return Ok(());
        }
        let dir = path.join("/");
        match prop {
            None => out.dir(&dir, 0o555),
            Some((name, _, _)) if !plain_name(name) => {
                out.problem(format!(
                    "{dir}: property named {name:?} cannot be a file; not extracted"
                ));
                Ok(())
            }
            Some((name, at, len)) => {
                let file = if dir.is_empty() {
                    name.to_string()
                } else {
                    format!("{dir}/{name}")
                };
                out.file(&file, &mut src.slice(at, len).reader(0), 0o444)
            }
        }
    };
    walk(src, h, &mut visit)
}

fn info(w: &Walk, h: &Header) -> String {
    if !w.fit {
        return format!(
            "device tree blob, {} nodes, {}",
            w.nodes,
            human_size(h.total)
        );
    }
    let images: Vec<String> = w
        .images
        .iter()
        .map(|i| {
            let f = |s: &Option<String>| s.clone().unwrap_or_else(|| "?".into());
            format!(
                "{} (type {}, arch {}, compression {})",
                i.name,
                f(&i.kind),
                f(&i.arch),
                f(&i.compression)
            )
        })
        .collect();
    format!(
        "FIT image \"{}\": {}",
        w.description.clone().unwrap_or_default(),
        images.join(", ")
    )
}

/// Checks an image's `hash-N` nodes as U-Boot does before it boots the image: a mismatch,
/// a missing value or an algorithm fwgate cannot compute is a problem.
fn check_hashes(img: &Image, data: &Source, out: &mut Output<'_>) -> Result<()> {
    use sha2::Digest;
    for (node, algo, value) in &img.hashes {
        let (Some(algo), Some(value)) = (algo, value) else {
            out.problem(format!("image {}: {node} has no algo or value", img.name));
            continue;
        };
        let mut crc = crc32fast::Hasher::new();
        let mut s1 = sha1::Sha1::new();
        let mut s256 = sha2::Sha256::new();
        let mut s512 = sha2::Sha512::new();
        let mut r = data.reader(0);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            out.check_time()?;
            let n =
                std::io::Read::read(&mut r, &mut buf).map_err(|e| out.malformed(e.to_string()))?;
            if n == 0 {
                break;
            }
            let b = &buf[..n];
            match algo.as_str() {
                "crc32" => crc.update(b),
                "sha1" => s1.update(b),
                "sha256" => s256.update(b),
                "sha512" => s512.update(b),
                _ => break,
            }
        }
        let have: Vec<u8> = match algo.as_str() {
            "crc32" => crc.finalize().to_be_bytes().to_vec(),
            "sha1" => s1.finalize().to_vec(),
            "sha256" => s256.finalize().to_vec(),
            "sha512" => s512.finalize().to_vec(),
            other => {
                out.problem(format!(
                    "image {}: {node} uses hash algorithm {other:?}, which fwgate does not check",
                    img.name
                ));
                continue;
            }
        };
        if &have != value {
            out.problem(format!(
                "image {}: {node} ({algo}) does not match its data: U-Boot would refuse to boot it",
                img.name
            ));
        }
    }
    Ok(())
}

/// The flattened device tree / FIT handler.
pub struct Fdt;

impl Handler for Fdt {
    fn id(&self) -> &'static str {
        "fdt"
    }
    fn description(&self) -> &'static str {
        "flattened device tree; FIT images (embedded or external data) one payload per image"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[&MAGIC]
    }
    /// An explicit stack and bounded reads: no allocation or recursion the input sizes.
    fn isolate(&self) -> bool {
        false
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        let h = header(src)?;
        // The structure block starts with the root node.
        let first = src.bytes(h.off_struct, 8).ok()?;
        if be32(&first, 0)? != BEGIN_NODE || h.total > src.len() && h.total > 1 << 30 {
            return None;
        }
        let w = walk(src, &h, &mut |_| Ok(())).ok()?;
        Some(Probe::new(Some(h.total), info(&w, &h)))
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let h = header(src).ok_or_else(|| out.malformed("not a device tree header"))?;
        let total = h.total.min(src.len());
        if h.total > src.len() {
            out.problem(format!(
                "truncated: header declares {} bytes, {} present",
                h.total,
                src.len()
            ));
        }
        let window = src.slice(0, total);
        let mut w = walk(&window, &h, &mut |_| Ok(()))?;
        if !w.fit {
            // A plain device tree: its nodes and properties, as the kernel shows them.
            w = write_tree(&window, &h, out)?;
        }
        if let Some(e) = &w.error {
            out.problem(format!(
                "structure block: {e}; the nodes after it were not read"
            ));
        }
        let mut used = vec![(0, total)];
        let mut end = total;
        // mkimage -E places external data after the tree, aligned to 4 bytes.
        let external_base = (h.total + 3) & !3;
        for img in &w.images {
            out.check_time()?;
            let (at, size, external) = match (img.data, img.data_position, img.data_offset) {
                (Some((at, len)), _, _) => (at, Some(len), false),
                (None, Some(p), _) => (p, img.data_size, true),
                (None, None, Some(o)) => (external_base + o, img.data_size, true),
                (None, None, None) => {
                    out.problem(format!(
                        "image {}: no data, data-offset or data-position",
                        img.name
                    ));
                    continue;
                }
            };
            let Some(size) = size else {
                out.problem(format!(
                    "image {}: external data without data-size",
                    img.name
                ));
                continue;
            };
            let avail = src.len().saturating_sub(at).min(size);
            if avail < size {
                out.problem(format!(
                    "image {}: data at {at:#x} of {size} bytes runs past the end of the file ({:#x}); kept {avail} bytes",
                    img.name,
                    src.len()
                ));
            }
            if external && avail > 0 {
                used.push((at, at + avail));
                end = end.max(at + avail);
            }
            out.payload(&img.name, &mut src.slice(at, avail).reader(0))?;
            if avail == size {
                check_hashes(img, &src.slice(at, size), out)?;
            }
        }
        out.used(used);
        Ok(end)
    }
}
