//! Advisory stores: reading OSV exports (directories, JSON files, zip archives as osv.dev
//! publishes them) and `fwgate vulns import`, which keeps a team's store as plain files with
//! a log of every import (the record of monitoring for DL-7).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fwgate_scan::components::advisory::{self, Osv, Store};
use sha2::{Digest, Sha256};

use crate::args::ImportArgs;
use crate::Outcome;

/// The import log inside a store: one JSON line per import.
pub const IMPORT_LOG: &str = "IMPORTS.jsonl";

/// True when `path` is a zip archive (by its first bytes, whatever its name).
fn is_zip(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    path.is_file()
        && std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut magic))
            .is_ok()
        && &magic == b"PK\x03\x04"
}

/// The records of one source, each with its JSON.
fn records(source: &Path) -> Result<Vec<(Osv, serde_json::Value)>> {
    let mut out = Vec::new();
    if is_zip(source) {
        // An export is downloaded input: it is opened by the same bounded, jailed unpacker
        // as a firmware image, and a part it cannot read fails the import.
        let tmp = tempfile::Builder::new()
            .prefix("fwgate-osv-")
            .tempdir()
            .context("creating a temporary directory")?;
        let tree = fwgate_unpack::unpack(
            source,
            &tmp.path().join("root"),
            fwgate_unpack::Limits::default(),
        )
        .with_context(|| format!("{}: reading the zip archive", source.display()))?;
        if let Some(p) = tree.problems.first() {
            anyhow::bail!(
                "{}: {} part(s) of the archive could not be read, first {}: {}",
                source.display(),
                tree.problems.len(),
                p.file,
                p.message
            );
        }
        let mut files: Vec<&fwgate_unpack::Node> = tree
            .nodes
            .iter()
            .filter(|n| n.kind == fwgate_unpack::NodeKind::File && n.path.ends_with(".json"))
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        for n in files {
            let bytes = std::fs::read(tree.path_of(n))
                .with_context(|| format!("{}: {}", source.display(), n.path))?;
            let name = format!(
                "{}!/{}",
                source.display(),
                n.origin.inner_path.trim_start_matches('/')
            );
            out.extend(advisory::records_of(&name, &bytes).map_err(anyhow::Error::msg)?);
        }
        return Ok(out);
    }
    let mut files = Vec::new();
    if source.is_dir() {
        let mut stack = vec![source.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).with_context(|| format!("{}", d.display()))? {
                let e = e?;
                let p = e.path();
                // Links are not followed: a link to a parent directory would walk forever.
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "json") {
                    files.push(p);
                }
            }
        }
        files.sort();
    } else {
        files.push(source.to_path_buf());
    }
    for p in files {
        let bytes = advisory::read_bounded(&p).map_err(anyhow::Error::msg)?;
        out.extend(
            advisory::records_of(&p.display().to_string(), &bytes).map_err(anyhow::Error::msg)?,
        );
    }
    Ok(out)
}

/// Adds the advisories at `paths` (store directories, OSV JSON files, zip exports) to `store`.
pub fn load_into(store: &mut Store, paths: &[PathBuf]) -> Result<()> {
    for path in paths {
        let n = if is_zip(path) {
            let r = records(path)?;
            let n = r.len();
            store.advisories.extend(r.into_iter().map(|(o, _)| o));
            n
        } else {
            store
                .add_path(path)
                .map_err(|e| anyhow::anyhow!("advisories: {e}"))?
        };
        eprintln!("fwgate: {n} advisories from {}", path.display());
    }
    Ok(())
}

/// SHA-256 of a file, or of a directory's records.
fn source_digest(source: &Path, records: &[(Osv, serde_json::Value)]) -> Result<String> {
    if source.is_file() {
        let mut f = std::fs::File::open(source).with_context(|| source.display().to_string())?;
        let mut h = Sha256::new();
        std::io::copy(&mut f, &mut h).with_context(|| source.display().to_string())?;
        return Ok(hex::encode(h.finalize()));
    }
    let s = Store {
        advisories: records.iter().map(|(o, _)| o.clone()).collect(),
    };
    Ok(s.digest())
}

/// `fwgate vulns import SOURCE… --store DIR`.
pub fn import(a: ImportArgs) -> Result<Outcome> {
    // Everything is read and checked before anything is written: a bad export leaves the
    // store as it was.
    let mut sources = Vec::new();
    for s in &a.sources {
        let r = records(s).with_context(|| format!("importing {}", s.display()))?;
        let digest = source_digest(s, &r)?;
        sources.push((s, r, digest));
    }
    std::fs::create_dir_all(&a.store)
        .with_context(|| format!("{}: creating the store", a.store.display()))?;
    let mut log = String::new();
    for (source, recs, digest) in sources {
        let (mut added, mut updated, mut unchanged, mut withdrawn) = (0usize, 0usize, 0, 0);
        for (osv, value) in &recs {
            if osv.withdrawn.is_some() {
                withdrawn += 1;
            }
            let path = a.store.join(format!("{}.json", osv.id));
            let mut bytes = serde_json::to_vec_pretty(value)?;
            bytes.push(b'\n');
            match std::fs::read(&path) {
                Ok(old) if old == bytes => {
                    unchanged += 1;
                    continue;
                }
                Ok(_) => updated += 1,
                Err(_) => added += 1,
            }
            super::write_atomic(&path, &bytes)?;
        }
        let now = time::OffsetDateTime::now_utc();
        let entry = serde_json::json!({
            "imported_at": now.replace_nanosecond(0).unwrap_or(now).format(&time::format_description::well_known::Rfc3339)?,
            "source": source.display().to_string(),
            "source_sha256": digest,
            "records": recs.len(),
            "added": added,
            "updated": updated,
            "unchanged": unchanged,
            "withdrawn": withdrawn,
            "tool": format!("fwgate {}", env!("CARGO_PKG_VERSION")),
        });
        log.push_str(&serde_json::to_string(&entry)?);
        log.push('\n');
        println!(
            "imported  {}: {} records ({added} new, {updated} updated, {unchanged} unchanged, {withdrawn} withdrawn)",
            source.display(),
            recs.len()
        );
    }
    let mut store = Store::default();
    store
        .add_dir(&a.store)
        .map_err(|e| anyhow::anyhow!("reading back the store: {e}"))?;
    let path = a.store.join(IMPORT_LOG);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("{}: import log", path.display()))?;
    f.write_all(log.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("{}: import log", path.display()))?;
    println!(
        "store     {}: {} records, digest {}",
        a.store.display(),
        store.advisories.len(),
        store.digest()
    );
    Ok(Outcome::Pass)
}
