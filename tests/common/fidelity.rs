//! Comparing fwgate's extraction with a reference tool's, for the differential tests of every
//! format: type, sha256 of the content or the link target, permission bits with set-id, and
//! (where the reference tool ran as root) owners.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use fwgate_unpack::{NodeKind, Tree};

/// Type and content digest or link target of every path under `dir`, relative to it.
pub fn listing(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in walk(dir) {
        let rel = e.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
        let m = fs::symlink_metadata(&e).unwrap();
        let ft = m.file_type();
        let v = if ft.is_symlink() {
            format!("link {}", fs::read_link(&e).unwrap().display())
        } else if ft.is_dir() {
            "dir".to_string()
        } else if ft.is_file() {
            format!("file {}", sha256(&fs::read(&e).unwrap()))
        } else {
            "special".to_string()
        };
        out.insert(rel, v);
    }
    out
}

/// Permission bits (with set-id and sticky bits) of every non-link path under `dir`.
pub fn modes(dir: &Path) -> BTreeMap<String, u32> {
    walk(dir)
        .into_iter()
        .filter_map(|e| {
            let m = fs::symlink_metadata(&e).unwrap();
            (!m.file_type().is_symlink()).then(|| {
                (
                    e.strip_prefix(dir).unwrap().to_string_lossy().into_owned(),
                    m.mode() & 0o7777,
                )
            })
        })
        .collect()
}

/// `uid:gid` of every path under `dir` (links included).
pub fn owners(dir: &Path) -> BTreeMap<String, String> {
    walk(dir)
        .into_iter()
        .map(|e| {
            let m = fs::symlink_metadata(&e).unwrap();
            (
                e.strip_prefix(dir).unwrap().to_string_lossy().into_owned(),
                format!("{}:{}", m.uid(), m.gid()),
            )
        })
        .collect()
}

/// Every path under `dir`, links not followed.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if fs::symlink_metadata(&p).unwrap().is_dir() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

pub fn sha256(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

/// fwgate's view of the container extracted at `base` (e.g. `squashfs@0x0`): the same
/// listing as [`listing`], and the modes and owners, from the manifest (so special files,
/// set-id bits and owners are as recorded, not as the extracting user could apply them).
pub struct Extracted {
    pub files: BTreeMap<String, String>,
    pub modes: BTreeMap<String, u32>,
    pub owners: BTreeMap<String, String>,
}

pub fn extracted(tree: &Tree, base: &str) -> Extracted {
    let mut x = Extracted {
        files: BTreeMap::new(),
        modes: BTreeMap::new(),
        owners: BTreeMap::new(),
    };
    for n in &tree.nodes {
        let Some(rel) = n.path.strip_prefix(base).and_then(|r| r.strip_prefix('/')) else {
            continue;
        };
        let v = match n.kind {
            NodeKind::File => format!("file {}", sha256(&fs::read(tree.path_of(n)).unwrap())),
            NodeKind::Dir => "dir".into(),
            NodeKind::Symlink => format!("link {}", n.link.clone().unwrap_or_default()),
            NodeKind::Special => "special".into(),
        };
        x.files.insert(rel.to_string(), v);
        if n.kind != NodeKind::Symlink {
            x.modes.insert(rel.to_string(), n.mode & 0o7777);
        }
        if let (Some(u), Some(g)) = (n.uid, n.gid) {
            x.owners.insert(rel.to_string(), format!("{u}:{g}"));
        }
    }
    x
}

/// Asserts that fwgate extracted at `base` exactly what the reference tool extracted into
/// `reference`: the same paths, types, contents and link targets, and the same permission
/// bits. Owners are compared where the manifest records them and the test runs as root (the
/// reference tool could apply them). `what` names the case in failures.
pub fn assert_same_tree(tree: &Tree, base: &str, reference: &Path, what: &str) {
    let ours = extracted(tree, base);
    let theirs = listing(reference);
    assert!(
        !theirs.is_empty(),
        "{what}: the reference tool extracted nothing"
    );
    let differ: Vec<String> = ours
        .files
        .keys()
        .chain(theirs.keys())
        .filter(|k| ours.files.get(*k) != theirs.get(*k))
        .map(|k| {
            format!(
                "{k}: fwgate {:?}, reference {:?}",
                ours.files.get(k),
                theirs.get(k)
            )
        })
        .collect();
    assert!(differ.is_empty(), "{what}: {differ:#?}");
    assert_eq!(ours.modes, modes(reference), "{what}: permission bits");
    if is_root() && !ours.owners.is_empty() {
        let theirs = owners(reference);
        for (k, v) in &ours.owners {
            assert_eq!(Some(v), theirs.get(k), "{what}: owner of {k}");
        }
    }
}

pub fn is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Runs a reference extractor (bounded to 60 s); `None` when it is not installed (see
/// [`crate::common::peer`]). Panics when it fails: a committed sample must extract.
pub fn reference(tool: &str, args: &[&str], cwd: &Path) -> Option<()> {
    let exe = super::peer(tool)?;
    fs::create_dir_all(cwd).unwrap();
    let o = Command::new("timeout")
        .arg("60")
        .arg(exe)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{tool} {args:?} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    Some(())
}

/// Unpacks crafted bytes under `limits` into a fresh temporary directory and checks what
/// every hostile-input test needs: nothing was written outside the output directory, every
/// node lies inside it, and no parser panicked.
pub fn unpack_crafted(bytes: &[u8], limits: fwgate_unpack::Limits) -> (tempfile::TempDir, Tree) {
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("crafted.img");
    fs::write(&img, bytes).unwrap();
    let out = tmp.path().join("out");
    let tree = fwgate_unpack::unpack(&img, &out, limits).unwrap();
    let mut top: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(
        top,
        ["crafted.img", "out"],
        "wrote outside the output directory"
    );
    for n in &tree.nodes {
        assert!(tree.path_of(n).starts_with(&out), "{}", n.path);
    }
    for p in &tree.problems {
        assert!(!p.message.contains("panic"), "{p:?}");
    }
    (tmp, tree)
}
