//! Differential and hostile-input tests of the tar, cpio and zip handlers: each committed sample in
//! firmware-samples/formats/ is extracted by fwgate and by the format's reference tool and
//! compared by sha256; crafted samples must be refused or reported, never extracted outside
//! the output directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::fidelity::{assert_same_tree, reference};
use fwgate_unpack::{unpack, Limits, NodeKind, Tree};

fn sample(name: &str) -> PathBuf {
    common::sample(&format!("formats/{name}"))
        .canonicalize()
        .unwrap()
}

/// Extracts `path` with fwgate into `dir/out`.
fn ours(path: &Path, dir: &Path) -> Tree {
    unpack(path, &dir.join("out"), Limits::default()).unwrap()
}

/// The committed sample `name`, extracted by fwgate (with no problem) and by the reference
/// tool (`args`, with `{}` standing for the sample's path, run in an empty directory): the
/// same tree. Returns how many paths were compared, or `None` when the tool is missing.
fn differential(name: &str, base: &str, tool: &str, args: &[&str]) -> Option<usize> {
    let tmp = tempfile::tempdir().unwrap();
    let path = sample(name);
    let p = path.to_str().unwrap();
    let args: Vec<&str> = args
        .iter()
        .map(|a| if *a == "{}" { p } else { a })
        .collect();
    let theirs = tmp.path().join("ref");
    reference(tool, &args, &theirs)?;
    let tree = ours(&path, tmp.path());
    assert!(tree.problems.is_empty(), "{name}: {:#?}", tree.problems);
    assert_same_tree(&tree, base, &theirs, name);
    Some(common::fidelity::listing(&theirs).len())
}

#[test]
fn tar_samples_match_gnu_tar() {
    for name in ["gnu.tar", "pax.tar", "ustar.tar"] {
        let Some(n) = differential(name, "tar@0x0", "tar", &["--numeric-owner", "-xf", "{}"])
        else {
            return;
        };
        assert!(n >= 28, "{name}: {n} paths");
    }
}

#[test]
fn cpio_samples_match_gnu_cpio() {
    for name in ["newc.cpio", "crc.cpio", "odc.cpio", "bin.cpio"] {
        let Some(n) = differential(
            name,
            "cpio@0x0",
            "cpio",
            &["-idm", "--quiet", "--no-absolute-filenames", "-F", "{}"],
        ) else {
            return;
        };
        assert!(n >= 28, "{name}: {n} paths");
    }
}

#[test]
fn archive_samples_keep_owners_modes_links_and_devices() {
    for (name, base) in [
        ("gnu.tar", "tar@0x0"),
        ("pax.tar", "tar@0x0"),
        ("newc.cpio", "cpio@0x0"),
        ("odc.cpio", "cpio@0x0"),
        ("bin.cpio", "cpio@0x0"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let tree = ours(&sample(name), tmp.path());
        let node = |p: &str| {
            tree.nodes
                .iter()
                .find(|n| n.path == format!("{base}/{p}"))
                .unwrap_or_else(|| panic!("{name}: {p} missing"))
        };
        assert_eq!(node("bin/suid-helper").mode, 0o4755, "{name}");
        assert_eq!(node("tmp").mode, 0o1777, "{name}");
        let cgi = node("www/cgi-bin/status.cgi");
        assert_eq!((cgi.uid, cgi.gid), (Some(1000), Some(1000)), "{name}");
        let hard = node("etc/passwd.hardlink");
        assert!(
            hard.hardlink.is_some() || node("etc/passwd").hardlink.is_some(),
            "{name}"
        );
        if common::fidelity::is_root() {
            let console = node("dev/console");
            assert_eq!(console.kind, NodeKind::Special, "{name}");
            let d = console.device.unwrap();
            assert_eq!((d.major, d.minor), (5, 1), "{name}");
            let mtd = node("dev/mtdblock0").device.unwrap();
            assert_eq!((mtd.major, mtd.minor), (31, 0), "{name}");
        }
        if name == "pax.tar" || name == "gnu.tar" {
            let big = node("usr/lib/big-owner");
            assert_eq!((big.uid, big.gid), (Some(3_000_000), Some(3_000_001)));
            assert!(node("usr/lib/long-target").link.as_deref().unwrap().len() > 100);
        }
    }
}

// ---- crafted tar archives -------------------------------------------------------------

/// A ustar header for `name` (type `kind`, `size` bytes, link target `link`) with a valid
/// checksum.
fn tar_header(name: &str, kind: u8, size: usize, link: &str) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    h
}

fn tar_entry(name: &str, kind: u8, data: &[u8], link: &str) -> Vec<u8> {
    let mut v = tar_header(name, kind, data.len(), link);
    v.extend_from_slice(data);
    v.resize(v.len().div_ceil(512) * 512, 0);
    v
}

fn tar_end(mut v: Vec<u8>) -> Vec<u8> {
    v.extend_from_slice(&[0u8; 1024]);
    v
}

/// Unpacks crafted bytes; returns the tree and the temporary directory.
fn unpack_bytes(bytes: &[u8]) -> (tempfile::TempDir, Tree) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("image.bin");
    fs::write(&path, bytes).unwrap();
    let tree = ours(&path, tmp.path());
    (tmp, tree)
}

fn has_problem(tree: &Tree, needle: &str) -> bool {
    tree.problems.iter().any(|p| p.message.contains(needle))
}

fn inner_paths(tree: &Tree) -> Vec<String> {
    tree.nodes
        .iter()
        .map(|n| n.origin.inner_path.clone())
        .collect()
}

/// Nothing landed outside `out`: no `escape` anywhere near the temporary directory, and no
/// file written through the link to /tmp.
fn assert_contained(tmp: &Path, marker: &str) {
    for p in [
        tmp.join("escape"),
        tmp.parent().unwrap().join("escape"),
        PathBuf::from("/abs/escape"),
        PathBuf::from("/tmp").join(marker),
    ] {
        assert!(!p.exists(), "{} was written", p.display());
    }
    for e in common::fidelity::walk(tmp) {
        if e.ends_with("escape") {
            // The absolute name is rerooted inside the output, never outside it.
            assert!(e.starts_with(tmp.join("out")), "{}", e.display());
        }
    }
}

fn marker(what: &str) -> String {
    format!("fwgate-{what}-{}", std::process::id())
}

#[test]
fn tar_traversal_and_link_escapes_are_refused_and_the_rest_kept() {
    let m = marker("tar");
    let mut v = tar_entry("ok.txt", b'0', b"ok\n", "");
    v.extend(tar_entry("../../escape", b'0', b"evil\n", ""));
    v.extend(tar_entry("/abs/escape", b'0', b"evil\n", ""));
    v.extend(tar_entry("dir", b'2', b"", "/tmp"));
    v.extend(tar_entry(&format!("dir/{m}"), b'0', b"evil\n", ""));
    v.extend(tar_entry("up", b'2', b"", ".."));
    v.extend(tar_entry(&format!("up/{m}"), b'0', b"evil\n", ""));
    v.extend(tar_entry("after.txt", b'0', b"after\n", ""));
    let (tmp, tree) = unpack_bytes(&tar_end(v));
    assert_contained(tmp.path(), &m);
    let paths = inner_paths(&tree);
    for want in ["/ok.txt", "/after.txt", "/dir", "/up"] {
        assert!(paths.iter().any(|p| p == want), "{want}: {paths:?}");
    }
    assert!(has_problem(&tree, "../../escape"), "{:#?}", tree.problems);
    assert!(has_problem(&tree, "abs/escape"), "{:#?}", tree.problems);
    assert!(
        has_problem(&tree, &format!("dir/{m}")),
        "{:#?}",
        tree.problems
    );
    assert!(
        has_problem(&tree, &format!("up/{m}")),
        "{:#?}",
        tree.problems
    );
}

#[test]
fn truncated_tar_keeps_complete_entries_and_names_the_cut_one() {
    let mut v = tar_entry("first.txt", b'0', b"complete\n", "");
    v.extend(tar_entry("second.bin", b'0', &[7u8; 3000], ""));
    v.truncate(512 + 512 + 512 + 1000);
    let (_tmp, tree) = unpack_bytes(&v);
    let first = tree
        .nodes
        .iter()
        .find(|n| n.origin.inner_path == "/first.txt")
        .expect("the complete entry is kept");
    assert_eq!(first.size, 9);
    assert!(
        tree.problems
            .iter()
            .any(|p| p.message.contains("second.bin") && p.message.contains("0x400")),
        "{:#?}",
        tree.problems
    );
}

#[test]
fn tar_header_with_a_bad_checksum_is_reported() {
    let mut v = tar_entry("first.txt", b'0', b"one\n", "");
    let at = v.len();
    v.extend(tar_entry("second.txt", b'0', b"two\n", ""));
    v[at + 148] ^= 0x01; // the stored checksum no longer matches
    let (_tmp, tree) = unpack_bytes(&tar_end(v));
    assert!(inner_paths(&tree).contains(&"/first.txt".to_string()));
    assert!(
        !inner_paths(&tree).contains(&"/second.txt".to_string()),
        "a header that fails its checksum must not be trusted"
    );
    assert!(
        tree.problems
            .iter()
            .any(|p| p.message.contains("bad checksum") && p.message.contains(&format!("{at:#x}"))),
        "{:#?}",
        tree.problems
    );
}

// ---- crafted cpio archives ------------------------------------------------------------

/// A newc entry (`070701`), padded.
fn newc(name: &str, mode: u32, data: &[u8], ino: u32, nlink: u32, size: Option<usize>) -> Vec<u8> {
    let size = size.unwrap_or(data.len());
    let mut v = format!(
        "070701{ino:08x}{mode:08x}{:08x}{:08x}{nlink:08x}{:08x}{size:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        name.len() + 1,
        0
    )
    .into_bytes();
    v.extend_from_slice(name.as_bytes());
    v.push(0);
    v.resize(v.len().div_ceil(4) * 4, 0);
    v.extend_from_slice(data);
    v.resize(v.len().div_ceil(4) * 4, 0);
    v
}

fn cpio_end(mut v: Vec<u8>) -> Vec<u8> {
    v.extend(newc("TRAILER!!!", 0, b"", 0, 1, None));
    v
}

#[test]
fn cpio_traversal_and_link_escapes_are_refused_and_the_rest_kept() {
    let m = marker("cpio");
    let mut v = newc("ok.txt", 0o100644, b"ok\n", 1, 1, None);
    v.extend(newc("../../escape", 0o100644, b"evil\n", 2, 1, None));
    v.extend(newc("/abs/escape", 0o100644, b"evil\n", 3, 1, None));
    v.extend(newc("dir", 0o120777, b"/tmp", 4, 1, None));
    v.extend(newc(&format!("dir/{m}"), 0o100644, b"evil\n", 5, 1, None));
    v.extend(newc("after.txt", 0o100644, b"after\n", 6, 1, None));
    let (tmp, tree) = unpack_bytes(&cpio_end(v));
    assert_contained(tmp.path(), &m);
    let paths = inner_paths(&tree);
    for want in ["/ok.txt", "/after.txt", "/dir"] {
        assert!(paths.iter().any(|p| p == want), "{want}: {paths:?}");
    }
    assert!(has_problem(&tree, "../../escape"), "{:#?}", tree.problems);
    assert!(has_problem(&tree, "abs/escape"), "{:#?}", tree.problems);
    assert!(
        has_problem(&tree, &format!("dir/{m}")),
        "{:#?}",
        tree.problems
    );
}

#[test]
fn truncated_cpio_keeps_complete_entries_and_names_the_cut_one() {
    let mut v = newc("first.txt", 0o100644, b"complete\n", 1, 1, None);
    let at = v.len();
    v.extend(newc("second.bin", 0o100644, &[7u8; 3000], 2, 1, None));
    v.truncate(at + 200);
    let (_tmp, tree) = unpack_bytes(&v);
    assert!(inner_paths(&tree).contains(&"/first.txt".to_string()));
    assert!(
        tree.problems
            .iter()
            .any(|p| p.message.contains("second.bin") && p.message.contains(&format!("{at:#x}"))),
        "{:#?}",
        tree.problems
    );
}

#[test]
fn cpio_size_larger_than_the_file_is_reported() {
    let mut v = newc("first.txt", 0o100644, b"complete\n", 1, 1, None);
    v.extend(newc("liar.bin", 0o100644, b"short", 2, 1, Some(1 << 30)));
    let (_tmp, tree) = unpack_bytes(&v);
    assert!(inner_paths(&tree).contains(&"/first.txt".to_string()));
    assert!(
        tree.problems
            .iter()
            .any(|p| p.message.contains("liar.bin") && p.message.contains("1073741824 bytes")),
        "{:#?}",
        tree.problems
    );
}

#[test]
fn newc_hard_links_share_the_data_of_the_last_name() {
    let mut v = newc("a", 0o100644, b"", 9, 3, None);
    v.extend(newc("b", 0o100644, b"", 9, 3, None));
    v.extend(newc("c", 0o100644, b"shared\n", 9, 3, None));
    let (_tmp, tree) = unpack_bytes(&cpio_end(v));
    assert!(tree.problems.is_empty(), "{:#?}", tree.problems);
    for name in ["/a", "/b", "/c"] {
        let n = tree
            .nodes
            .iter()
            .find(|n| n.origin.inner_path == name)
            .unwrap_or_else(|| panic!("{name}"));
        assert_eq!(fs::read(tree.path_of(n)).unwrap(), b"shared\n", "{name}");
    }
}
