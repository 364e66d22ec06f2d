//! The extraction driver: find candidates by magic, probe them, extract through the jail,
//! account for every byte range, and recurse into what was extracted.

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use crate::error::error_chain;
use crate::formats::HANDLERS;
use crate::handler::{Handler, Output};
use crate::jail::Jail;
use crate::tree::{NodeKind, Origin, Problem, Region, RegionKind, Subject, Tree, MANIFEST_SCHEMA};
use crate::{Limits, Result, UnpackError};

/// A file waiting to be carved.
struct Pending {
    /// Path relative to the root; empty for the image.
    rel: String,
    depth: usize,
    formats: Vec<String>,
}

struct Run<'p> {
    jail: Jail,
    tree: Tree,
    progress: &'p mut dyn FnMut(&str),
}

/// Unpacks `image` into the new or empty directory `out`, recursively, within `limits`.
///
/// Returns the manifest. Problems with parts of the image (a corrupt container, a refused
/// path, a limit reached) are recorded in [`Tree::problems`] and everything else is still
/// extracted; only failing to read the image or create the output is an `Err`.
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
    let size = fs::metadata(image)
        .map_err(|e| UnpackError::io(image, "open", e))?
        .len();
    if size > limits.max_file_bytes {
        return Err(UnpackError::Limit(format!(
            "{}: image is {size} bytes, more than the {}-byte limit",
            image.display(),
            limits.max_file_bytes
        )));
    }
    // Read once; the digest is of exactly the bytes that are unpacked and scanned.
    let data = fs::read(image).map_err(|e| UnpackError::io(image, "read", e))?;
    let subject = Subject::of_bytes(image, &data);
    let jail = Jail::create(out, limits)?;
    let tree = Tree {
        schema: MANIFEST_SCHEMA.to_string(),
        root: jail.root().to_path_buf(),
        image: Some(subject),
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
    }];
    let mut first = true;
    while let Some(item) = queue.pop() {
        let bytes;
        let data: &[u8] = if first {
            &data
        } else {
            match run.read_child(&item.rel) {
                Some(b) => {
                    bytes = b;
                    &bytes
                }
                None => continue,
            }
        };
        (run.progress)(if item.rel.is_empty() {
            "image"
        } else {
            &item.rel
        });
        match run.carve(data, &item) {
            Ok(found) => {
                let recognised =
                    run.tree.regions.iter().any(|r| {
                        r.file.is_empty() && matches!(r.kind, RegionKind::Container { .. })
                    });
                if first && !recognised {
                    run.problem(
                        "",
                        None,
                        None,
                        "no known container format found in the image; nothing was extracted"
                            .into(),
                    );
                }
                // Depth-first in file order: push in reverse so the first file is carved first.
                queue.extend(found.into_iter().rev());
            }
            Err(e) => {
                run.problem(&item.rel, None, None, format!("extraction stopped: {e}"));
                break;
            }
        }
        first = false;
    }
    run.tree
        .regions
        .sort_by(|a, b| (a.file.as_str(), a.offset).cmp(&(b.file.as_str(), b.offset)));
    Ok(run.tree)
}

impl Run<'_> {
    fn problem(&mut self, file: &str, format: Option<&str>, offset: Option<u64>, message: String) {
        self.tree.problems.push(Problem {
            file: file.to_string(),
            format: format.map(str::to_string),
            offset,
            message,
        });
    }

    /// Loads an extracted file for carving, if it is not too large.
    fn read_child(&mut self, rel: &str) -> Option<Vec<u8>> {
        let path = self.jail.root().join(rel);
        let max = self.jail.budget.limits.max_file_bytes;
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() && m.len() <= max => match fs::read(&path) {
                Ok(b) => Some(b),
                Err(e) => {
                    self.problem(rel, None, None, format!("not examined: {e}"));
                    None
                }
            },
            Ok(m) if m.is_file() => {
                self.problem(
                    rel,
                    None,
                    None,
                    format!(
                        "not examined for containers: {} bytes is over the limit",
                        m.len()
                    ),
                );
                None
            }
            _ => None,
        }
    }

    /// Finds, probes and extracts the containers in one file. Returns the files it extracted.
    /// An `Err` is a global limit: the whole extraction stops.
    fn carve(&mut self, data: &[u8], item: &Pending) -> Result<Vec<Pending>> {
        let base = if item.rel.is_empty() {
            String::new()
        } else {
            format!("{}.extracted", item.rel)
        };
        let at_max_depth = item.depth >= self.jail.budget.limits.max_depth;
        let mut claimed: Vec<(u64, u64)> = Vec::new();
        let mut found = Vec::new();
        let mut cursor = 0usize;
        let (candidates, capped) = candidates(data);
        if capped {
            self.problem(
                &item.rel,
                None,
                None,
                format!("more than {MAX_HITS_PER_MAGIC} occurrences of one signature; only the first were examined"),
            );
        }
        for (n, (start, handler)) in candidates.into_iter().enumerate() {
            if start < cursor {
                continue;
            }
            if n % 256 == 0 {
                self.jail.budget.check_time()?;
            }
            let Some(probe) = handler.probe(&data[start..]) else {
                continue;
            };
            if at_max_depth {
                self.problem(
                    &item.rel,
                    Some(handler.id()),
                    Some(start as u64),
                    format!(
                        "{} not extracted: nesting deeper than {}",
                        probe.info, self.jail.budget.limits.max_depth
                    ),
                );
                break;
            }
            let mut formats = item.formats.clone();
            formats.push(handler.id().to_string());
            let dir = Jail::clean(&base, &format!("{}@{:#x}", handler.id(), start))?;
            let region_len = probe.len.unwrap_or((data.len() - start) as u64);
            let ratio = self.jail.budget.limits.max_ratio;
            self.jail
                .set_scope(region_len.max(4096).saturating_mul(ratio));
            let origin = Origin {
                parent: item.rel.clone(),
                formats: formats.clone(),
                offset: start as u64,
                inner_path: String::new(),
            };
            let mut out = Output {
                jail: &mut self.jail,
                base: dir,
                origin,
                nodes: Vec::new(),
                problems: Vec::new(),
                format: handler.id(),
            };
            let result = catch_unwind(AssertUnwindSafe(|| {
                handler.extract(&data[start..], &probe, &mut out)
            }));
            let (nodes, problems) = (out.nodes, out.problems);
            self.jail.set_scope(u64::MAX);
            for node in nodes.iter().filter(|n| n.kind == NodeKind::File) {
                found.push(Pending {
                    rel: node.path.clone(),
                    depth: item.depth + 1,
                    formats: formats.clone(),
                });
            }
            self.tree.nodes.extend(nodes);
            self.tree.problems.extend(problems);
            let consumed = match result {
                Ok(Ok(consumed)) => consumed.max(1),
                Ok(Err(e @ UnpackError::Limit(_))) => {
                    self.problem(
                        &item.rel,
                        Some(handler.id()),
                        Some(start as u64),
                        e.to_string(),
                    );
                    return Err(e);
                }
                Ok(Err(e)) => {
                    self.problem(
                        &item.rel,
                        Some(handler.id()),
                        Some(start as u64),
                        error_chain(&e),
                    );
                    probe.len.unwrap_or(1)
                }
                Err(_) => {
                    self.problem(&item.rel, Some(handler.id()), Some(start as u64), "the parser failed on malformed data (internal panic caught); region skipped".into());
                    probe.len.unwrap_or(1)
                }
            };
            let end = (start as u64)
                .saturating_add(consumed)
                .min(data.len() as u64);
            self.tree.regions.push(Region {
                file: item.rel.clone(),
                offset: start as u64,
                length: end - start as u64,
                kind: RegionKind::Container {
                    format: handler.id().to_string(),
                    info: probe.info,
                },
            });
            claimed.push((start as u64, end));
            cursor = end as usize;
        }
        if !claimed.is_empty() || item.rel.is_empty() {
            self.account_gaps(data, &item.rel, &claimed);
        }
        Ok(found)
    }

    /// Records the bytes between containers as padding or unknown data.
    fn account_gaps(&mut self, data: &[u8], file: &str, claimed: &[(u64, u64)]) {
        let mut at = 0u64;
        let push = |tree: &mut Tree, from: u64, to: u64| {
            if to <= from {
                return;
            }
            let bytes = &data[from as usize..to as usize];
            let kind = match bytes.first() {
                Some(&b) if bytes.iter().all(|&x| x == b) => RegionKind::Padding { byte: b },
                _ => RegionKind::Unknown,
            };
            tree.regions.push(Region {
                file: file.to_string(),
                offset: from,
                length: to - from,
                kind,
            });
        };
        for &(start, end) in claimed {
            push(&mut self.tree, at, start);
            at = end;
        }
        push(&mut self.tree, at, data.len() as u64);
    }
}

/// At most this many occurrences of one magic are examined per file, so that a file made of
/// repeated signatures cannot exhaust memory.
const MAX_HITS_PER_MAGIC: usize = 1 << 18;

/// Every offset where some handler's magic appears, with the handler, in offset order; and
/// whether some magic had more occurrences than are examined.
fn candidates(data: &[u8]) -> (Vec<(usize, &'static dyn Handler)>, bool) {
    let mut out = Vec::new();
    let mut capped = false;
    for (order, handler) in HANDLERS.iter().enumerate() {
        for magic in handler.magics() {
            let mut hits = memchr::memmem::find_iter(data, magic);
            for pos in hits.by_ref().take(MAX_HITS_PER_MAGIC) {
                if let Some(start) = pos.checked_sub(handler.magic_offset()) {
                    out.push((start, order));
                }
            }
            capped |= hits.next().is_some();
        }
    }
    out.sort_unstable();
    out.dedup();
    let out = out
        .into_iter()
        .map(|(start, order)| (start, HANDLERS[order]))
        .collect();
    (out, capped)
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
            messages.iter().any(|m| m.contains("no known container")),
            "{messages:?}"
        );
    }
}
