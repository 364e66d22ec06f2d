//! The extraction driver: find candidates by magic, probe them, extract through the jail,
//! account for every byte range, and recurse into what was extracted.
//!
//! The coverage rule: in the image and in every raw payload (a kernel, a decompressed
//! stream), each byte is examined by a container that *used* it, is padding, or is a
//! problem. A container's declared length never hides bytes: a candidate is skipped only
//! when it lies inside bytes some container's structures used, so whatever a container
//! claims but does not use is probed, carved and accounted like any other gap.

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::coverage::{classify_leaf, Ranges};
use crate::error::error_chain;
use crate::formats::{Recogniser, HANDLERS, RECOGNISERS};
use crate::handler::{Handler, Output, Probe};
use crate::jail::Jail;
use crate::source::Source;
use crate::tree::{NodeKind, Origin, Problem, Region, RegionKind, Subject, Tree, MANIFEST_SCHEMA};
use crate::worker;
use crate::{Limits, Result, UnpackError};

/// A file waiting to be carved.
struct Pending {
    /// Path relative to the root; empty for the image.
    rel: String,
    depth: usize,
    formats: Vec<String>,
    /// A raw payload (or the image): its bytes must all be accounted for.
    raw: bool,
    /// The file, opened, and its candidates, when searched ahead (in parallel with others).
    ready: Option<Searched>,
}

/// A file opened and searched for magics ahead of carving; `None` when it is not a regular
/// file any more (or could not be opened: then the problem is recorded when it is carved).
type Searched = Option<(Source, Result<Found>)>;

/// The candidates of one file, and whether some magic had more hits than are examined.
type Found = (Vec<(u64, Candidate)>, bool);

/// Files searched for magics together, on all cores, before they are carved one by one.
const SEARCH_AHEAD: usize = 16;
/// Bytes of files searched ahead together at most (the first file always is).
const SEARCH_AHEAD_BYTES: u64 = 32 << 20;

struct Run<'p> {
    jail: Jail,
    tree: Tree,
    progress: &'p mut dyn FnMut(&str),
}

/// Unpacks `image` into the new or empty directory `out`, recursively, within `limits`.
///
/// Returns the manifest. Problems with parts of the image (a corrupt container, a refused
/// path, a limit reached, bytes nothing understood) are recorded in [`Tree::problems`] and
/// everything else is still extracted; only failing to read the image or create the output
/// is an `Err`.
pub fn unpack(image: &Path, out: &Path, limits: Limits) -> Result<Tree> {
    unpack_with_progress(image, out, limits, &mut |_| {})
}

/// [`unpack`], calling `progress` with a short message as each file is carved.
pub fn unpack_with_progress(
    image: &Path,
    out: &Path,
    limits: Limits,
    progress: &mut dyn FnMut(&str),
) -> Result<Tree> {
    let src = Source::open(image).map_err(|e| UnpackError::io(image, "open", e))?;
    if src.len() > limits.max_image_bytes {
        return Err(UnpackError::Limit(format!(
            "{}: image is {} bytes, more than the {}-byte limit",
            image.display(),
            src.len(),
            limits.max_image_bytes
        )));
    }
    // The digest is taken through the same open file that is carved, and again at the end:
    // an image that changes while it is unpacked is an error, so the digest is of exactly
    // the bytes that were examined. The first digest is taken on the other core while the
    // image is carved.
    let first = std::thread::spawn({
        let (image, src) = (image.to_path_buf(), src.clone());
        move || Subject::of_source(&image, &src)
    });
    let jail = Jail::create(out, limits)?;
    let tree = Tree {
        schema: MANIFEST_SCHEMA.to_string(),
        root: jail.root().to_path_buf(),
        image: None,
        nodes: Vec::new(),
        regions: Vec::new(),
        problems: Vec::new(),
    };
    let mut run = Run {
        jail,
        tree,
        progress,
    };
    let mut queue = vec![Pending {
        rel: String::new(),
        depth: 0,
        formats: Vec::new(),
        raw: true,
        ready: None,
    }];
    while let Some(mut item) = queue.pop() {
        let (file, path, found) = if item.rel.is_empty() {
            (src.clone(), image.to_path_buf(), None)
        } else {
            if item.ready.is_none() {
                run.search_ahead(&mut item, &mut queue);
            }
            match item.ready.take().flatten() {
                Some((s, found)) => (s, run.jail.root().join(&item.rel), Some(found)),
                None => {
                    // Not a regular file any more, or it could not be opened (a problem).
                    run.open_child(&item.rel);
                    continue;
                }
            }
        };
        (run.progress)(if item.rel.is_empty() {
            "image"
        } else {
            &item.rel
        });
        match run.carve(&file, &path, &item, found) {
            // Depth-first in file order: push in reverse so the first file is carved first.
            Ok(found) => queue.extend(found.into_iter().rev()),
            Err(e) => {
                run.problem(&item.rel, None, None, format!("extraction stopped: {e}"));
                break;
            }
        }
    }
    let subject = first
        .join()
        .map_err(|_| UnpackError::Limit(format!("{}: hashing failed", image.display())))??;
    if Subject::of_source(image, &src)?.sha256 != subject.sha256 {
        return Err(UnpackError::Limit(format!(
            "{}: the image changed while it was being unpacked",
            image.display()
        )));
    }
    run.tree.image = Some(subject);
    run.tree
        .regions
        .sort_by(|a, b| (a.file.as_str(), a.offset).cmp(&(b.file.as_str(), b.offset)));
    Ok(run.tree)
}

/// A place where some handler's or recogniser's magic appears.
#[derive(Clone, Copy)]
enum Candidate {
    Handler(&'static dyn Handler),
    Recogniser(&'static Recogniser),
}

/// At most this many undecided probes are decoded in full per file; past that they are
/// reported, so a file of crafted headers cannot make the engine decode it many times over.
const MAX_UNDECIDED: usize = 64;

impl Run<'_> {
    fn problem(&mut self, file: &str, format: Option<&str>, offset: Option<u64>, message: String) {
        self.tree.problems.push(Problem {
            file: file.to_string(),
            format: format.map(str::to_string),
            offset,
            message,
            key: None,
        });
    }

    /// Opens and searches `item` and the next files on the queue (those carved next) in
    /// parallel, so that both cores search while carving stays in order. The group is
    /// bounded by [`SEARCH_AHEAD`] files and [`SEARCH_AHEAD_BYTES`] (a file has at most about
    /// one candidate per byte, so that bounds the candidates held too).
    fn search_ahead(&mut self, item: &mut Pending, queue: &mut [Pending]) {
        let root = self.jail.root().to_path_buf();
        let jail = &self.jail;
        let size = |p: &Pending| fs::symlink_metadata(root.join(&p.rel)).map_or(0, |m| m.len());
        let mut bytes = size(item);
        let mut group: Vec<&mut Pending> = vec![item];
        for p in queue.iter_mut().rev() {
            if group.len() >= SEARCH_AHEAD || p.ready.is_some() || p.rel.is_empty() {
                break;
            }
            bytes = bytes.saturating_add(size(p));
            if bytes > SEARCH_AHEAD_BYTES {
                break;
            }
            group.push(p);
        }
        use rayon::prelude::*;
        group.par_iter_mut().for_each(|p| {
            let path = root.join(&p.rel);
            p.ready = Some(match fs::symlink_metadata(&path) {
                Ok(m) if m.is_file() => Source::open(&path).ok().map(|s| {
                    let found = candidates(&s, jail);
                    (s, found)
                }),
                _ => None,
            });
        });
    }

    /// Opens an extracted file for carving (never loaded whole).
    fn open_child(&mut self, rel: &str) -> Option<Source> {
        let path = self.jail.root().join(rel);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => match Source::open(&path) {
                Ok(s) => Some(s),
                Err(e) => {
                    self.problem(rel, None, None, format!("not examined: {e}"));
                    None
                }
            },
            _ => None,
        }
    }

    /// Finds, probes and extracts the containers in one file. Returns the files it extracted.
    /// An `Err` is a global limit: the whole extraction stops.
    fn carve(
        &mut self,
        src: &Source,
        path: &Path,
        item: &Pending,
        searched: Option<Result<Found>>,
    ) -> Result<Vec<Pending>> {
        let base = if item.rel.is_empty() {
            String::new()
        } else {
            format!("{}.extracted", item.rel)
        };
        let at_max_depth = item.depth >= self.jail.budget.limits.max_depth;
        // Bytes some container's structures used; candidates there belong to that container.
        let mut used = Ranges::default();
        // Bytes accounted for as containers or as recognised-but-unsupported problems.
        let mut covered = Ranges::default();
        let mut found = Vec::new();
        let mut undecided = 0usize;
        let (candidates, capped) = match searched {
            Some(f) => f?,
            None => candidates(src, &self.jail)?,
        };
        if capped {
            self.problem(
                &item.rel,
                None,
                None,
                format!("more than {MAX_HITS_PER_MAGIC} occurrences of one signature (or {MAX_CANDIDATES} in all); only the first were examined"),
            );
        }
        for (n, (start, cand)) in candidates.into_iter().enumerate() {
            if n % 64 == 0 {
                self.jail.budget.check_time()?;
            }
            if used.contains(start) {
                continue;
            }
            let handler = match cand {
                Candidate::Recogniser(r) => {
                    if let Some((len, info)) = r.recognise(&src.from(start)) {
                        let end = start.saturating_add(len.max(1)).min(src.len());
                        self.tree.problems.push(Problem {
                            file: item.rel.clone(),
                            format: Some(r.id.to_string()),
                            offset: Some(start),
                            message: format!(
                                "{info}: fwgate recognises this format but cannot extract it yet, so its contents were not examined"
                            ),
                            key: None,
                        });
                        self.tree.regions.push(Region {
                            file: item.rel.clone(),
                            offset: start,
                            length: end - start,
                            kind: RegionKind::Unsupported {
                                format: r.id.to_string(),
                                info,
                            },
                        });
                        covered.add(start, end);
                    }
                    continue;
                }
                Candidate::Handler(h) if h.raw_only() && (!item.raw || start == 0) => continue,
                Candidate::Handler(h) => h,
            };
            let window = src.from(start);
            let Some(probe) = handler.probe(&window) else {
                continue;
            };
            if at_max_depth {
                self.problem(
                    &item.rel,
                    Some(handler.id()),
                    Some(start),
                    format!(
                        "{} not extracted: nesting deeper than {}",
                        probe.info, self.jail.budget.limits.max_depth
                    ),
                );
                break;
            }
            if let Some(why) = &probe.undecided {
                undecided += 1;
                if undecided > MAX_UNDECIDED {
                    if undecided == MAX_UNDECIDED + 1 {
                        self.problem(
                            &item.rel,
                            Some(handler.id()),
                            Some(start),
                            format!("more than {MAX_UNDECIDED} candidates whose probe could not decide ({why}); the rest were not decoded"),
                        );
                    }
                    continue;
                }
            }
            match self.extract(handler, &window, path, &probe, item, &base)? {
                Extracted::Ok {
                    consumed,
                    used: ranges,
                    files,
                } => {
                    let end = start.saturating_add(consumed).min(src.len());
                    self.tree.regions.push(Region {
                        file: item.rel.clone(),
                        offset: start,
                        length: end - start,
                        kind: RegionKind::Container {
                            format: handler.id().to_string(),
                            info: probe.info,
                        },
                    });
                    match ranges {
                        None => used.add(start, end),
                        Some(ranges) => {
                            for (a, b) in ranges {
                                let b = start.saturating_add(b).min(end);
                                used.add(start.saturating_add(a).min(b), b);
                            }
                        }
                    }
                    found.extend(files);
                }
                Extracted::Failed { files } => found.extend(files),
            }
        }
        covered.extend(&used);
        if item.rel.is_empty() && used.is_empty() {
            self.problem(
                "",
                None,
                None,
                "no known container format found in the image; nothing was extracted".into(),
            );
        }
        if item.raw {
            self.account(src, item, &covered)?;
        } else if !covered.is_empty() {
            self.account_quietly(src, &item.rel, &covered);
        }
        Ok(found)
    }

    /// Runs one handler's extraction under the expansion-ratio scope and a panic guard.
    fn extract(
        &mut self,
        handler: &'static dyn Handler,
        window: &Source,
        path: &Path,
        probe: &Probe,
        item: &Pending,
        base: &str,
    ) -> Result<Extracted> {
        let start = window.offset();
        let mut formats = item.formats.clone();
        formats.push(handler.id().to_string());
        let dir = Jail::clean(base, &format!("{}@{:#x}", handler.id(), start))?;
        let region_len = probe.len.unwrap_or(window.len()).min(window.len());
        let ratio = self.jail.budget.limits.max_ratio;
        let scope = region_len.max(4096).saturating_mul(ratio);
        let origin = Origin {
            parent: item.rel.clone(),
            formats: formats.clone(),
            offset: start,
            inner_path: String::new(),
        };
        let worker = self
            .jail
            .budget
            .limits
            .worker
            .clone()
            .filter(|_| handler.isolate());
        let (result, nodes, problems, used) = match worker {
            Some(spec) => {
                // The worker reads the very file this process hashed and carves, not
                // whatever the name points at by then.
                let reopen = window.reopen_path();
                let r = worker::extract(
                    &spec,
                    &mut self.jail,
                    reopen.as_deref().unwrap_or(path),
                    start,
                    handler.id(),
                    probe,
                    &dir,
                    &origin,
                    scope,
                )?;
                (r.result, r.nodes, r.problems, r.used)
            }
            None => {
                self.jail.set_scope(scope);
                let mut out = Output::new(&mut self.jail, dir, origin, handler.id());
                let result = catch_unwind(AssertUnwindSafe(|| {
                    handler.extract(window, probe, &mut out)
                }))
                .map_err(|_| ());
                let (nodes, problems, used) = (out.nodes, out.problems, out.used);
                self.jail.set_scope(u64::MAX);
                (result, nodes, problems, used)
            }
        };
        let files: Vec<Pending> = nodes
            .iter()
            .filter(|n| n.kind == NodeKind::File && n.hardlink.is_none())
            .map(|n| Pending {
                rel: n.path.clone(),
                depth: item.depth + 1,
                formats: formats.clone(),
                raw: n.raw,
                ready: None,
            })
            .collect();
        self.tree.nodes.extend(nodes);
        self.tree.problems.extend(problems);
        let undecided = probe
            .undecided
            .as_deref()
            .map(|w| format!(" (the probe could not decide: {w})"))
            .unwrap_or_default();
        match result {
            Ok(Ok(consumed)) => Ok(Extracted::Ok {
                consumed: consumed.max(1),
                used,
                files,
            }),
            Ok(Err(e @ UnpackError::Limit(_))) => {
                self.problem(&item.rel, Some(handler.id()), Some(start), e.to_string());
                Err(e)
            }
            Ok(Err(e)) => {
                // The problem names file, format and offset itself.
                let message = match &e {
                    UnpackError::Malformed { message, .. } => message.clone(),
                    e => error_chain(e),
                };
                self.problem(
                    &item.rel,
                    Some(handler.id()),
                    Some(start),
                    format!("{message}{undecided}"),
                );
                Ok(Extracted::Failed { files })
            }
            Err(_) => {
                self.problem(
                    &item.rel,
                    Some(handler.id()),
                    Some(start),
                    format!(
                        "the parser failed on malformed data (internal panic caught){undecided}"
                    ),
                );
                Ok(Extracted::Failed { files })
            }
        }
    }

    /// Accounts for every byte of a raw file: gaps between what was covered are padding, data
    /// of an identified leaf, or unknown — a problem with its offset, size and entropy.
    fn account(&mut self, src: &Source, item: &Pending, covered: &Ranges) -> Result<()> {
        // A raw payload that is itself a leaf (text, ELF, kernel) is read by the scanner as
        // it is, up to the leaf's own end; the image itself is never a leaf: all of its bytes
        // must be explained.
        let leaf = if item.rel.is_empty() {
            None
        } else {
            let decompressed = matches!(
                item.formats.last().map(String::as_str),
                Some("gzip" | "xz" | "lzma" | "zstd" | "bzip2" | "lz4" | "lzo" | "zlib")
            );
            classify_leaf(src, decompressed)
        };
        let mut gaps = Vec::new();
        for (a, b) in covered.gaps(src.len()) {
            match leaf {
                Some(l) if a < l.extent && l.extent < b => {
                    gaps.extend([(a, l.extent), (l.extent, b)])
                }
                _ => gaps.push((a, b)),
            }
        }
        for (gap_from, gap_to) in gaps {
            self.jail.budget.check_time()?;
            let pieces = match split_gap(src, gap_from, gap_to) {
                Ok(p) => p,
                Err(e) => {
                    self.problem(
                        &item.rel,
                        None,
                        Some(gap_from),
                        format!("not examined: {e}"),
                    );
                    continue;
                }
            };
            for (from, to, fill) in pieces {
                let inside = leaf.filter(|l| to <= l.extent);
                let kind = match (fill, inside) {
                    (Some(byte), _) => RegionKind::Padding { byte },
                    (None, Some(l)) => RegionKind::Data {
                        what: l.what.to_string(),
                    },
                    (None, None) => {
                        let stats = match gap_stats(src, from, to) {
                            Ok(s) => s,
                            Err(e) => {
                                self.problem(
                                    &item.rel,
                                    None,
                                    Some(from),
                                    format!("not examined: {e}"),
                                );
                                continue;
                            }
                        };
                        self.unknown(item, from, to, &stats);
                        RegionKind::Unknown {
                            entropy: (stats.entropy * 100.0).round() / 100.0,
                        }
                    }
                };
                self.tree.regions.push(Region {
                    file: item.rel.clone(),
                    offset: from,
                    length: to - from,
                    kind,
                });
            }
        }
        Ok(())
    }

    /// Records an unknown region as a problem that names it and the key to accept it by.
    fn unknown(&mut self, item: &Pending, from: u64, to: u64, stats: &GapStats) {
        let what = if item.rel.is_empty() {
            "the image"
        } else {
            "this payload"
        };
        self.tree.problems.push(Problem {
            file: item.rel.clone(),
            format: None,
            offset: Some(from),
            message: format!(
                "{} bytes at {from:#x}..{to:#x} of {what} are not explained by any format fwgate understands (entropy {:.2} bits/byte){}; accept exactly these bytes with --accept {}",
                to - from,
                stats.entropy,
                if stats.entropy > 7.5 { ", likely compressed or encrypted" } else { "" },
                stats.key
            ),
            key: Some(stats.key.clone()),
        });
    }

    /// For files the device sees by name: records the gaps between embedded containers in
    /// the manifest, without problems (the scanner reads the whole file).
    fn account_quietly(&mut self, src: &Source, file: &str, covered: &Ranges) {
        for (from, to) in covered.gaps(src.len()) {
            let kind = match gap_stats(src, from, to) {
                Ok(GapStats {
                    fill: Some(byte), ..
                }) => RegionKind::Padding { byte },
                Ok(s) => RegionKind::Unknown {
                    entropy: (s.entropy * 100.0).round() / 100.0,
                },
                Err(_) => continue,
            };
            self.tree.regions.push(Region {
                file: file.to_string(),
                offset: from,
                length: to - from,
                kind,
            });
        }
    }
}

enum Extracted {
    Ok {
        consumed: u64,
        used: Option<Vec<(u64, u64)>>,
        files: Vec<Pending>,
    },
    Failed {
        files: Vec<Pending>,
    },
}

/// Runs of 0x00 or 0xff at least this long inside a gap are padding of their own, so that an
/// unknown island in erased flash is reported at its own offset and size.
const MIN_PAD: u64 = 64;
/// At most this many unknown islands are told apart in one gap; the rest is one region.
const MAX_ISLANDS: usize = 64;

/// Splits a gap into padding runs and the unknown islands between them: `(from, to,
/// Some(fill))` for padding, `None` for an island. A gap of one repeated byte is padding.
fn split_gap(src: &Source, from: u64, to: u64) -> std::io::Result<Vec<(u64, u64, Option<u8>)>> {
    let mut out = Vec::new();
    let mut islands = 0;
    let mut island = from;
    // The current run of a padding byte: (byte, start).
    let mut run: Option<(u8, u64)> = None;
    let mut first: Option<u8> = None;
    let mut uniform = true;
    let mut buf = vec![0u8; ((to - from) as usize).min(256 * 1024)];
    let mut at = from;
    let close = |out: &mut Vec<_>,
                 island: &mut u64,
                 islands: &mut usize,
                 run: Option<(u8, u64)>,
                 end: u64| {
        if let Some((b, start)) = run {
            if end - start >= MIN_PAD && *islands < MAX_ISLANDS {
                if *island < start {
                    out.push((*island, start, None));
                    *islands += 1;
                }
                out.push((start, end, Some(b)));
                *island = end;
            }
        }
    };
    while at < to {
        let want = ((to - at) as usize).min(buf.len());
        let n = src.read_at(at, &mut buf[..want])?;
        if n == 0 {
            break;
        }
        let mut i = 0;
        while i < n {
            let x = buf[i];
            let pos = at + i as u64;
            let f = *first.get_or_insert(x);
            uniform &= x == f;
            if run.is_some_and(|(b, _)| b == x) {
                // The rest of the run, a block at a time (erased flash is most of a dump).
                i += run_len(&buf[i..n], x);
                continue;
            }
            close(&mut out, &mut island, &mut islands, run, pos);
            run = matches!(x, 0x00 | 0xff).then_some((x, pos));
            i += 1;
        }
        at += n as u64;
    }
    if uniform {
        return Ok(first.map(|b| vec![(from, to, Some(b))]).unwrap_or_default());
    }
    close(&mut out, &mut island, &mut islands, run, to);
    if island < to {
        out.push((island, to, None));
    }
    // A short island of nothing but 0x00 and 0xff (the seam between two kinds of padding) is
    // padding too.
    for piece in &mut out {
        if piece.2.is_none() && piece.1 - piece.0 <= MIN_PAD {
            let b = src.bytes(piece.0, (piece.1 - piece.0) as usize)?;
            if b.iter().all(|&x| x == 0x00 || x == 0xff) {
                let ff = b.iter().filter(|&&x| x == 0xff).count();
                piece.2 = Some(if ff * 2 >= b.len() { 0xff } else { 0x00 });
            }
        }
    }
    Ok(out)
}

/// How many bytes at the start of `s` are `b`.
fn run_len(s: &[u8], b: u8) -> usize {
    let blocks = s
        .chunks_exact(64)
        .take_while(|c| c.iter().all(|&y| y == b))
        .count();
    let at = blocks * 64;
    at + s[at..].iter().take_while(|&&y| y == b).count()
}

struct GapStats {
    /// `Some(b)` when every byte is `b`.
    fill: Option<u8>,
    entropy: f64,
    /// `sha256:<hex>` of the bytes.
    key: String,
}

/// Reads a gap once: whether it is one repeated byte, its entropy and its digest.
fn gap_stats(src: &Source, from: u64, to: u64) -> std::io::Result<GapStats> {
    let mut counts = [0u64; 256];
    let mut h = Sha256::new();
    let mut buf = vec![0u8; ((to - from) as usize).min(256 * 1024)];
    let mut at = from;
    while at < to {
        let want = ((to - at) as usize).min(buf.len());
        let n = src.read_at(at, &mut buf[..want])?;
        if n == 0 {
            break;
        }
        for &b in &buf[..n] {
            counts[b as usize] += 1;
        }
        h.update(&buf[..n]);
        at += n as u64;
    }
    let total: u64 = counts.iter().sum();
    let nonzero: Vec<(usize, u64)> = counts
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(b, &c)| (b, c))
        .collect();
    let fill = match nonzero.as_slice() {
        [(b, _)] => Some(*b as u8),
        _ => None,
    };
    let entropy = nonzero
        .iter()
        .map(|&(_, c)| {
            let p = c as f64 / total as f64;
            -p * p.log2()
        })
        .sum();
    Ok(GapStats {
        fill,
        entropy,
        key: format!("sha256:{}", hex::encode(h.finalize())),
    })
}

/// Every handler's and recogniser's magic, searched for in one pass.
struct Magics {
    automaton: aho_corasick::AhoCorasick,
    /// The distinct patterns, in the automaton's order. A record format's magic (Intel HEX,
    /// S-record), which counts only at the start of a line, is searched for as `\n` + magic,
    /// so that its one- or two-byte magic does not stop the search at every `:` of a text.
    distinct: Vec<Vec<u8>>,
    /// For each distinct pattern: (where the structure starts relative to the match, candidate
    /// order) of every handler or recogniser that uses it. Handlers come first in the order.
    targets: Vec<Vec<(i64, usize)>>,
    /// Record formats' magics, which also count at the very start of a file.
    at_start: Vec<(&'static [u8], usize)>,
    longest: usize,
}

impl Magics {
    fn get() -> &'static Magics {
        static MAGICS: std::sync::OnceLock<Magics> = std::sync::OnceLock::new();
        MAGICS.get_or_init(|| {
            let mut distinct: Vec<Vec<u8>> = Vec::new();
            let mut targets: Vec<Vec<(i64, usize)>> = Vec::new();
            let mut at_start = Vec::new();
            let mut add = |m: Vec<u8>, delta: i64, order: usize| {
                let i = match distinct.iter().position(|d| *d == m) {
                    Some(i) => i,
                    None => {
                        distinct.push(m);
                        targets.push(Vec::new());
                        distinct.len() - 1
                    }
                };
                targets[i].push((delta, order));
            };
            for (order, h) in HANDLERS.iter().enumerate() {
                for m in h.magics() {
                    if h.line_start() {
                        at_start.push((*m, order));
                        add([b"\n", *m].concat(), 1, order);
                    } else {
                        add(m.to_vec(), -(h.magic_offset() as i64), order);
                    }
                }
            }
            for (i, r) in RECOGNISERS.iter().enumerate() {
                for m in r.magics {
                    add(m.to_vec(), -(r.magic_offset as i64), HANDLERS.len() + i);
                }
            }
            let longest = distinct.iter().map(|m| m.len()).max().unwrap_or(1);
            #[allow(clippy::expect_used)] // a fixed list of non-empty byte strings
            let automaton = aho_corasick::AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostFirst)
                .build(&distinct)
                .expect("the magic table builds");
            Magics {
                automaton,
                distinct,
                targets,
                at_start,
                longest,
            }
        })
    }
}

/// At most this many occurrences of one magic are examined per file, so that a file made of
/// repeated signatures cannot exhaust memory.
const MAX_HITS_PER_MAGIC: usize = 1 << 18;

/// At most this many candidates are kept per file, whatever the magics (bounded memory).
const MAX_CANDIDATES: usize = 1 << 20;

/// The file is searched for magics in chunks of this size (plus an overlap).
const SCAN_CHUNK: usize = 8 << 20;

/// Every offset where some handler's or recogniser's magic appears, in offset order (handlers
/// before recognisers at the same offset); and whether some magic had more occurrences than
/// are examined. Reads the file in chunks.
fn candidates(src: &Source, jail: &Jail) -> Result<Found> {
    let magics = Magics::get();
    let overlap = magics.longest.saturating_sub(1);
    let mut hits = vec![0usize; magics.targets.len()];
    let mut out: Vec<(u64, usize)> = Vec::new();
    let mut capped = false;
    // Sized to the file: most carved files are small, and zeroing a full chunk for each of
    // thousands of them would cost more than searching them.
    let size = usize::try_from(src.len()).unwrap_or(usize::MAX);
    let mut buf = vec![0u8; size.min(SCAN_CHUNK) + overlap];
    let mut at = 0u64;
    while at < src.len() {
        jail.budget.check_time()?;
        let n = src
            .read_at(at, &mut buf)
            .map_err(|e| UnpackError::io("image", "read", e))?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        if at == 0 {
            for &(m, order) in &magics.at_start {
                if chunk.starts_with(m) {
                    out.push((0, order));
                }
            }
        }
        // A match must start inside this chunk's own part (not the overlap), so none is seen
        // twice.
        let own = if at + (n as u64) < src.len() {
            n - overlap.min(n)
        } else {
            n
        };
        // One pass finds the leftmost place where some magic starts; every magic is then
        // compared there, and the search goes on from the next byte, so that magics that
        // overlap or share a start are all seen.
        let mut from = 0;
        while let Some(m) = magics
            .automaton
            .find(aho_corasick::Input::new(chunk).span(from..n))
        {
            let pos = m.start();
            if pos >= own {
                break;
            }
            from = pos + 1;
            for (i, magic) in magics.distinct.iter().enumerate() {
                if !chunk[pos..].starts_with(magic) {
                    continue;
                }
                if hits[i] >= MAX_HITS_PER_MAGIC || out.len() >= MAX_CANDIDATES {
                    capped = true;
                    continue;
                }
                hits[i] += 1;
                for &(delta, order) in &magics.targets[i] {
                    if let Some(start) = (at + pos as u64).checked_add_signed(delta) {
                        out.push((start, order));
                    }
                }
            }
        }
        if own == 0 {
            break;
        }
        at += own as u64;
    }
    out.sort_unstable();
    out.dedup();
    let out = out
        .into_iter()
        .map(|(start, order)| {
            let c = match HANDLERS.get(order) {
                Some(h) => Candidate::Handler(*h),
                None => Candidate::Recogniser(&RECOGNISERS[order - HANDLERS.len()]),
            };
            (start, c)
        })
        .collect();
    Ok((out, capped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_of_repeated_signatures_is_bounded_and_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("magic.bin");
        // 300 000 gzip signatures (flags 0x1f: every optional field), none valid.
        std::fs::write(&path, [0x1f, 0x8b, 0x08].repeat(300_000)).unwrap();
        let tree = unpack(&path, &tmp.path().join("out"), Limits::default()).unwrap();
        assert!(tree.nodes.is_empty());
        let messages: Vec<_> = tree.problems.iter().map(|p| p.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("only the first were examined")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("not explained by any format")),
            "{messages:?}"
        );
    }

    #[test]
    fn gaps_split_into_padding_and_islands() {
        let mut d = vec![0xffu8; 1000];
        d[500..510].copy_from_slice(b"0123456789");
        d[600] = 0x00; // a short run of another fill byte: a seam, padding too
        let src = Source::from_bytes(&d);
        assert_eq!(
            split_gap(&src, 0, 1000).unwrap(),
            [
                (0, 500, Some(0xff)),
                (500, 510, None),
                (510, 600, Some(0xff)),
                (600, 601, Some(0x00)),
                (601, 1000, Some(0xff))
            ]
        );
        assert_eq!(split_gap(&src, 0, 400).unwrap(), [(0, 400, Some(0xff))]);
        // A short seam of mixed 0x00/0xff between two runs is padding.
        let mut seam = vec![0x00u8; 100];
        seam.extend([0xff, 0x00, 0xff]);
        seam.extend([0xffu8; 100]);
        let pieces = split_gap(&Source::from_bytes(&seam), 0, seam.len() as u64).unwrap();
        assert!(pieces.iter().all(|p| p.2.is_some()), "{pieces:?}");
        let mixed = [0x00u8, 0xff, 0x00, 0xff, 0x00, 0xff];
        assert!(split_gap(&Source::from_bytes(&mixed), 0, 6)
            .unwrap()
            .iter()
            .all(|p| p.2.is_some()));
        let one = Source::from_bytes(&[0x42u8; 100]);
        assert_eq!(split_gap(&one, 0, 100).unwrap(), [(0, 100, Some(0x42))]);
        // Islands past the cap stay one region.
        let many: Vec<u8> = (0..200 * 65)
            .map(|i| if i % 65 == 0 { 1 } else { 0 })
            .collect();
        let pieces = split_gap(&Source::from_bytes(&many), 0, many.len() as u64).unwrap();
        assert_eq!(
            pieces.iter().filter(|p| p.2.is_none()).count(),
            MAX_ISLANDS + 1
        );
        assert_eq!(pieces.last().unwrap().1, many.len() as u64);
    }

    #[test]
    fn magics_across_chunk_boundaries_are_found_once() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.bin");
        let mut data = vec![0u8; SCAN_CHUNK + 4096];
        // An xz magic straddling the first chunk's end, and one inside the overlap.
        let m = [0xfd, b'7', b'z', b'X', b'Z', 0x00];
        data[SCAN_CHUNK - 3..SCAN_CHUNK + 3].copy_from_slice(&m);
        data[SCAN_CHUNK + 100..SCAN_CHUNK + 106].copy_from_slice(&m);
        std::fs::write(&path, &data).unwrap();
        let src = Source::open(&path).unwrap();
        let jail = Jail::create(&tmp.path().join("out"), Limits::default()).unwrap();
        let (c, _) = candidates(&src, &jail).unwrap();
        let xz: Vec<u64> = c
            .iter()
            .filter(|(_, c)| matches!(c, Candidate::Handler(h) if h.id() == "xz"))
            .map(|(s, _)| *s)
            .collect();
        assert_eq!(xz, [SCAN_CHUNK as u64 - 3, SCAN_CHUNK as u64 + 100]);
    }
}
