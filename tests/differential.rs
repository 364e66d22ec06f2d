//! Differential tests of the SquashFS reader against the reference tool: images made by
//! mksquashfs with every compressor and layout option, extracted by unsquashfs and by fwgate,
//! compared file by file (type, content, link target, permission bits). Then deterministic
//! mutations of one image: wherever fwgate reports no problem, its extraction must be exactly
//! unsquashfs's; wherever unsquashfs recovered a file that fwgate did not, fwgate must have
//! reported a problem. fwgate may never diverge silently.
//!
//! Needs squashfs-tools; without it the tests say SKIPPED and pass, except where
//! FWGATE_REQUIRE_PEERS is set (CI), where they fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::fidelity::{assert_same_tree, extracted, listing};
use fwgate_unpack::{unpack, Limits};

/// Deterministic pseudo-random bytes (compressible only a little).
fn noise(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// A tree that exercises the format: sizes around block and fragment boundaries, a sparse
/// file, empty files and directories, hard links, symlinks of every kind, set-id bits, long
/// and non-ASCII names, and a directory of 300 entries (more than one directory header).
fn rich_tree(root: &Path) {
    fs::create_dir_all(root.join("etc/init.d")).unwrap();
    fs::create_dir_all(root.join("usr/lib/deep/er/still")).unwrap();
    fs::create_dir_all(root.join("empty")).unwrap();
    fs::create_dir_all(root.join("many")).unwrap();
    for (i, n) in [
        0usize, 1, 4095, 4096, 4097, 131_071, 131_072, 131_073, 300_000,
    ]
    .iter()
    .enumerate()
    {
        fs::write(root.join(format!("usr/lib/f{n}")), noise(*n, i as u32)).unwrap();
    }
    fs::write(root.join("usr/lib/zeros"), vec![0u8; 200_000]).unwrap();
    let sparse = fs::File::create(root.join("usr/lib/sparse")).unwrap();
    sparse.set_len(1 << 20).unwrap();
    drop(sparse);
    fs::write(root.join("etc/shadow"), "root:!:19000:0:99999:7:::\n").unwrap();
    fs::set_permissions(root.join("etc/shadow"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(root.join("etc/init.d/rcS"), "#!/bin/sh\necho up\n").unwrap();
    fs::set_permissions(
        root.join("etc/init.d/rcS"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    fs::write(root.join("usr/lib/suid"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(
        root.join("usr/lib/suid"),
        fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    fs::hard_link(root.join("etc/shadow"), root.join("etc/shadow.hard")).unwrap();
    std::os::unix::fs::symlink("../etc/shadow", root.join("usr/rel-link")).unwrap();
    std::os::unix::fs::symlink("/etc/init.d/rcS", root.join("usr/abs-link")).unwrap();
    std::os::unix::fs::symlink("nowhere/at/all", root.join("usr/dangling")).unwrap();
    fs::write(root.join("usr/lib/deep/er/still/x"), "deep\n").unwrap();
    fs::write(root.join(format!("usr/{}", "n".repeat(255))), "long\n").unwrap();
    fs::write(root.join("usr/ünïcødé"), "utf8\n").unwrap();
    for i in 0..300 {
        fs::write(root.join(format!("many/e{i:03}")), format!("{i}\n")).unwrap();
    }
}

fn mksquashfs(root: &Path, out: &Path, opts: &[&str]) -> bool {
    let Some(mk) = common::peer("mksquashfs") else {
        return false;
    };
    let o = Command::new(mk)
        .arg(root)
        .arg(out)
        .args(["-noappend", "-no-progress", "-quiet"])
        .args([
            "-p",
            "dev/console c 600 0 0 5 1",
            "-p",
            "run/pipe i 644 0 0 f",
        ])
        .args(opts)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "mksquashfs {opts:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    true
}

/// unsquashfs into `dir`; `None` when it failed outright or timed out.
fn unsquashfs(image: &Path, dir: &Path) -> Option<bool> {
    let us = common::peer("unsquashfs")?;
    let o = Command::new("timeout")
        .arg("20")
        .arg(us)
        .args(["-no-progress", "-q", "-d"])
        .arg(dir)
        .arg(image)
        .output()
        .unwrap();
    Some(o.status.success())
}

#[test]
fn every_compressor_and_layout_matches_unsquashfs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    rich_tree(&root);
    let layouts: &[&[&str]] = &[
        &[],
        &["-no-fragments"],
        &["-always-use-fragments"],
        &["-noI", "-noD", "-noF", "-noX"],
        &["-b", "4096", "-no-xattrs"],
        &["-b", "1M", "-no-exports"],
        &["-no-duplicates", "-no-hardlinks"],
    ];
    let mut compared = 0;
    for comp in ["gzip", "xz", "lzma", "lz4", "zstd", "lzo"] {
        for (i, layout) in layouts.iter().enumerate() {
            // Every layout with gzip and xz; the others with the default layout.
            if i > 0 && !matches!(comp, "gzip" | "xz") {
                continue;
            }
            let img = tmp.path().join(format!("{comp}-{i}.sqfs"));
            let mut opts = vec!["-comp", comp];
            opts.extend_from_slice(layout);
            if !mksquashfs(&root, &img, &opts) {
                return;
            }
            let reference = tmp.path().join(format!("ref-{comp}-{i}"));
            assert_eq!(unsquashfs(&img, &reference), Some(true));
            let out = tmp.path().join(format!("out-{comp}-{i}"));
            let tree = unpack(&img, &out, Limits::default()).unwrap();
            assert!(
                tree.problems.is_empty(),
                "{comp} {layout:?}: {:#?}",
                tree.problems
            );
            assert_same_tree(
                &tree,
                "squashfs@0x0",
                &reference,
                &format!("{comp} {layout:?}"),
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 7 + 7 + 4);
}

#[test]
fn mutated_images_never_diverge_silently_from_unsquashfs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    rich_tree(&root);
    let img = tmp.path().join("base.sqfs");
    if !mksquashfs(&root, &img, &["-comp", "gzip", "-noI", "-noF"]) {
        return;
    }
    let base = fs::read(&img).unwrap();
    let (mut agreed, mut reported) = (0, 0);
    // FWGATE_MUTATIONS=N explores more (outside CI); every divergence found became a fix.
    let count: u64 = std::env::var("FWGATE_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    for n in 0..count {
        // Spread over the whole image, denser in the metadata at its end.
        let at = if n % 2 == 0 {
            (n.wrapping_mul(7919) % base.len() as u64) as usize
        } else {
            base.len() - 1 - (n.wrapping_mul(131) % (base.len() as u64 / 4)) as usize
        };
        let mut m = base.clone();
        m[at] ^= [0x01, 0x80, 0xff, 0x10][n as usize % 4];
        let path = tmp.path().join(format!("m{n}.sqfs"));
        fs::write(&path, &m).unwrap();
        let out = tmp.path().join(format!("m{n}-out"));
        let tree = unpack(&path, &out, Limits::default()).unwrap();
        let reference = tmp.path().join(format!("m{n}-ref"));
        let ok = unsquashfs(&path, &reference);
        let files = extracted(&tree, "squashfs@0x0").files;
        let theirs = if reference.exists() {
            listing(&reference)
        } else {
            BTreeMap::new()
        };
        if tree.problems.is_empty() {
            // No problem reported: fwgate must have read exactly what the tool reads.
            if ok != Some(true) {
                fs::write("/tmp/fwgate-divergent.sqfs", &m).unwrap();
            }
            assert_eq!(ok, Some(true), "mutation {n} at {at:#x}: fwgate saw no problem, unsquashfs failed (image in /tmp/fwgate-divergent.sqfs)");
            let differ: Vec<_> = files
                .keys()
                .chain(theirs.keys())
                .filter(|k| files.get(*k) != theirs.get(*k))
                .map(|k| {
                    format!(
                        "{k}: fwgate {:?}, unsquashfs {:?}",
                        files.get(k),
                        theirs.get(k)
                    )
                })
                .collect();
            if !differ.is_empty() {
                fs::write("/tmp/fwgate-divergent.sqfs", &m).unwrap();
            }
            assert!(
                differ.is_empty(),
                "mutation {n} at {at:#x} (image in /tmp/fwgate-divergent.sqfs): {differ:#?}"
            );
            agreed += 1;
        } else {
            reported += 1;
        }
    }
    eprintln!("{agreed} mutations read identically by both, {reported} reported as problems");
    // The mutations reach both outcomes, so the comparison above is exercised.
    assert!(
        agreed > 0 && reported > 0,
        "{agreed} agreed, {reported} reported"
    );
}
