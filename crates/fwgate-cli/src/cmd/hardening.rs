//! `fwgate hardening`: the binary hardening of every ELF file in an image or a directory, in
//! checksec's words (see fwgate_scan::hardening).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use fwgate_scan::hardening::{self, Hardening, Property};
use fwgate_unpack::NodeKind;
use rayon::prelude::*;
use serde::Serialize;

use crate::args::{HardeningArgs, HardeningFormat};
use crate::progress::Spinner;
use crate::Outcome;

/// The largest file read for analysis; a bigger one is reported, not read.
const MAX_ELF_BYTES: u64 = 1 << 30;

/// A regular file to look at: the path to show and where its bytes are.
struct Candidate {
    shown: String,
    file: PathBuf,
}

/// What became of one ELF file.
struct Checked {
    path: String,
    result: Result<Hardening, String>,
}

pub fn run(a: HardeningArgs) -> Result<Outcome> {
    let (candidates, _guard) = candidates(&a)?;
    let outcomes: Vec<Result<Option<Checked>>> = candidates.par_iter().map(check).collect();
    let mut checked = Vec::new();
    let mut failed = 0usize;
    for o in outcomes {
        match o {
            Ok(Some(c)) => checked.push(c),
            Ok(None) => {}
            Err(e) => {
                failed += 1;
                eprintln!("fwgate: error: {e:#}");
            }
        }
    }
    checked.sort_by(|x, y| x.path.cmp(&y.path));
    let out = match a.format {
        HardeningFormat::Json => {
            let rows: Vec<Row<'_>> = checked.iter().map(Row::of).collect();
            let mut s = serde_json::to_string_pretty(&rows)?;
            s.push('\n');
            s
        }
        HardeningFormat::Text => text(&checked),
    };
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .context("writing to stdout")?;
    anyhow::ensure!(failed == 0, "{failed} file(s) could not be read");
    Ok(Outcome::Pass)
}

/// The regular files of the directory, or of the unpacked image (kept alive by the guard).
fn candidates(a: &HardeningArgs) -> Result<(Vec<Candidate>, Option<tempfile::TempDir>)> {
    if a.target.is_dir() {
        let mut out = Vec::new();
        for entry in walkdir::WalkDir::new(&a.target).follow_links(false) {
            let entry = entry.with_context(|| format!("walking {}", a.target.display()))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry.path().strip_prefix(&a.target).unwrap_or(entry.path());
            out.push(Candidate {
                shown: format!("/{}", rel.to_string_lossy()),
                file: entry.path().to_path_buf(),
            });
        }
        return Ok((out, None));
    }
    let tmp = tempfile::Builder::new()
        .prefix("fwgate-")
        .tempdir()
        .context("creating a temporary directory")?;
    let mut spinner = Spinner::new("unpacking");
    let tree = fwgate_unpack::unpack_with_progress(
        &a.target,
        &tmp.path().join("root"),
        a.limits.limits(),
        &mut |m| spinner.set(m),
    )
    .with_context(|| format!("unpacking {}", a.target.display()))?;
    drop(spinner);
    if !tree.is_complete() {
        eprintln!(
            "fwgate: warning: {} part(s) of the image could not be unpacked; \
             their files are not checked (`fwgate unpack` lists them)",
            tree.problems.len()
        );
    }
    let out = tree
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::File)
        .map(|n| Candidate {
            shown: if n.origin.inner_path.is_empty() {
                format!("/{}", n.path)
            } else {
                n.origin.inner_path.clone()
            },
            file: tree.path_of(n),
        })
        .collect();
    Ok((out, Some(tmp)))
}

/// Reads one file (once) and analyses it when it starts with `\x7fELF`.
fn check(c: &Candidate) -> Result<Option<Checked>> {
    let mut f = File::open(&c.file).with_context(|| format!("{}: open", c.file.display()))?;
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < magic.len() {
        let n = f
            .read(magic.get_mut(got..).unwrap_or_default())
            .with_context(|| format!("{}: read", c.file.display()))?;
        if n == 0 {
            return Ok(None);
        }
        got += n;
    }
    if magic != *b"\x7fELF" {
        return Ok(None);
    }
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let result = if size > MAX_ELF_BYTES {
        Err(format!(
            "{size} bytes: larger than the {MAX_ELF_BYTES} read for analysis"
        ))
    } else {
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        bytes.extend_from_slice(&magic);
        f.take(MAX_ELF_BYTES)
            .read_to_end(&mut bytes)
            .with_context(|| format!("{}: read", c.file.display()))?;
        hardening::analyze(&bytes).map_err(|e| fwgate_unpack::error_chain(&e))
    };
    Ok(Some(Checked {
        path: c.shown.clone(),
        result,
    }))
}

/// One JSON object: checksec's keys and words, then what fwgate adds.
#[derive(Serialize)]
struct Row<'a> {
    path: &'a str,
    relro: &'static str,
    canary: &'static str,
    nx: &'static str,
    pie: &'static str,
    rpath: &'static str,
    runpath: &'static str,
    symbols: &'static str,
    stripped: &'static str,
    fortify_source: &'static str,
    #[serde(flatten)]
    more: Option<More<'a>>,
    reasons: BTreeMap<&'static str, &'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct More<'a> {
    fortified: u32,
    fortifiable: u32,
    arch: &'a str,
    bits: u8,
    endian: &'static str,
    elf_type: &'static str,
    #[serde(rename = "static")]
    static_: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    interpreter: Option<&'a str>,
    section_headers: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    rpath_value: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    runpath_value: Option<&'a str>,
    dangerous: &'a [&'static str],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
}

/// The properties in checksec's order, with their JSON keys.
fn properties(h: &Hardening) -> [(&'static str, &Property); 8] {
    [
        ("relro", &h.relro),
        ("canary", &h.canary),
        ("nx", &h.nx),
        ("pie", &h.pie),
        ("rpath", &h.rpath),
        ("runpath", &h.runpath),
        ("stripped", &h.stripped),
        ("fortify_source", &h.fortify_source),
    ]
}

impl<'a> Row<'a> {
    fn of(c: &'a Checked) -> Row<'a> {
        let h = match &c.result {
            Ok(h) => h,
            Err(e) => {
                let u = "unknown";
                return Row {
                    path: &c.path,
                    relro: u,
                    canary: u,
                    nx: u,
                    pie: u,
                    rpath: u,
                    runpath: u,
                    symbols: u,
                    stripped: u,
                    fortify_source: u,
                    more: None,
                    reasons: BTreeMap::new(),
                    error: Some(e),
                };
            }
        };
        let reasons = properties(h)
            .into_iter()
            .filter_map(|(k, p)| p.reason.as_deref().map(|r| (k, r)))
            .collect();
        Row {
            path: &c.path,
            relro: h.relro.status.as_str(),
            canary: h.canary.status.as_str(),
            nx: h.nx.status.as_str(),
            pie: h.pie.status.as_str(),
            rpath: h.rpath.status.as_str(),
            runpath: h.runpath.status.as_str(),
            symbols: match h.stripped.status {
                hardening::Status::Yes => "no",
                _ => "yes",
            },
            stripped: h.stripped.status.as_str(),
            fortify_source: h.fortify_source.status.as_str(),
            more: Some(More {
                fortified: h.fortified,
                fortifiable: h.fortifiable,
                arch: &h.arch,
                bits: h.bits,
                endian: h.endian,
                elf_type: h.elf_type,
                static_: h.static_,
                interpreter: h.interpreter.as_deref(),
                section_headers: h.section_headers,
                rpath_value: h.rpath_value.as_deref(),
                runpath_value: h.runpath_value.as_deref(),
                dangerous: &h.dangerous,
                notes: &h.notes,
            }),
            reasons,
            error: None,
        }
    }
}

/// An aligned table, then the reasons for every `unknown` and the risky imports.
fn text(checked: &[Checked]) -> String {
    const HEAD: [&str; 10] = [
        "RELRO", "CANARY", "NX", "PIE", "RPATH", "RUNPATH", "STRIPPED", "FORTIFY", "ARCH", "PATH",
    ];
    let mut rows: Vec<[String; 10]> = vec![HEAD.map(str::to_string)];
    let mut after = Vec::new();
    for c in checked {
        match &c.result {
            Ok(h) => {
                let p = properties(h);
                let s = |i: usize| p.get(i).map_or("", |(_, p)| p.status.as_str()).to_string();
                rows.push([
                    s(0),
                    s(1),
                    s(2),
                    s(3),
                    s(4),
                    s(5),
                    s(6),
                    s(7),
                    h.arch.clone(),
                    c.path.clone(),
                ]);
                for (k, prop) in p {
                    if let (hardening::Status::Unknown, Some(r)) = (prop.status, &prop.reason) {
                        after.push(format!("{}: {k} unknown: {r}", c.path));
                    }
                }
                if !h.dangerous.is_empty() {
                    after.push(format!("{}: imports {}", c.path, h.dangerous.join(", ")));
                }
            }
            Err(e) => after.push(format!("{}: not analysed: {e}", c.path)),
        }
    }
    let mut width = [0usize; 10];
    for r in &rows {
        for (w, cell) in width.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (i, (cell, w)) in r.iter().zip(width).enumerate() {
            if i + 1 == r.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(&format!("{} ELF file(s)\n", checked.len()));
    for a in after {
        out.push_str(&a);
        out.push('\n');
    }
    out
}
