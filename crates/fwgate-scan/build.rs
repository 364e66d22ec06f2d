//! Embeds the workspace's `rules/` directory so an installed `fwgate` carries its rules.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, base: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, base, out);
        } else if let Ok(rel) = path.strip_prefix(base) {
            out.push((rel.to_string_lossy().replace('\\', "/"), path.clone()));
        }
    }
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let rules = manifest.join("../../rules");
    // A directory here makes cargo rerun the script when any file below it changes.
    println!("cargo:rerun-if-changed={}", rules.display());
    let mut files = Vec::new();
    collect(&rules, &rules, &mut files);
    files.sort();
    let mut src = String::from("/// Files under `rules/`, relative path and bytes.\npub static EMBEDDED: &[(&str, &[u8])] = &[\n");
    for (rel, path) in files {
        let abs = path.canonicalize().unwrap_or(path);
        let _ = writeln!(
            src,
            "    ({rel:?}, include_bytes!({:?})),",
            abs.display().to_string()
        );
    }
    src.push_str("];\n");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap_or_default()).join("embedded_rules.rs");
    if let Err(e) = fs::write(&out, src) {
        println!("cargo:warning=cannot write {}: {e}", out.display());
    }
}
