//! Extraction of the committed sample images, made by mkimage, gzip and mksquashfs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use fwgate_unpack::{unpack, Limits, NodeKind, RegionKind, Tree, HANDLERS};

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../firmware-samples")
        .join(name)
}

fn unpack_sample(name: &str) -> (tempfile::TempDir, Tree) {
    let tmp = tempfile::tempdir().unwrap();
    let tree = unpack(&sample(name), &tmp.path().join("out"), Limits::default()).unwrap();
    (tmp, tree)
}

fn node<'t>(tree: &'t Tree, inner: &str) -> &'t fwgate_unpack::Node {
    tree.nodes
        .iter()
        .find(|n| {
            n.origin.inner_path == inner
                && n.origin.formats.last().map(String::as_str) == Some("squashfs")
        })
        .unwrap_or_else(|| panic!("{inner} not extracted"))
}

#[test]
fn router_image_unpacks_through_uimage_gzip_and_squashfs() {
    let (_tmp, tree) = unpack_sample("router.bin");
    assert!(tree.is_complete(), "{:#?}", tree.problems);

    // The image divides into a uImage, 0xff padding and a squashfs, with nothing unknown.
    let top: Vec<_> = tree.regions.iter().filter(|r| r.file.is_empty()).collect();
    let kinds: Vec<String> = top
        .iter()
        .map(|r| match &r.kind {
            RegionKind::Container { format, .. } => format.clone(),
            RegionKind::Padding { byte } => format!("pad-{byte:02x}"),
            RegionKind::Unknown { .. } => "unknown".into(),
            RegionKind::Data { .. } => "data".into(),
            RegionKind::Unsupported { format, .. } => format!("unsupported-{format}"),
        })
        .collect();
    // mksquashfs pads the file system to 4 KiB with zeros.
    assert_eq!(
        kinds,
        ["uimage", "pad-ff", "squashfs", "pad-00"],
        "{top:#?}"
    );
    assert_eq!(top[2].offset, 0x20000);

    // The kernel came out of the uImage and then out of gzip.
    let kernel = tree
        .nodes
        .iter()
        .find(|n| n.origin.formats == ["uimage", "gzip"])
        .expect("gzip'd kernel extracted from the uImage");
    // build.sh: a banner line, 96 KiB of "code", 64 KiB of zeros.
    let banner = "Linux version 4.14.241 (builder@acme) (gcc version 8.4.0) #1 SMP PREEMPT\n";
    assert_eq!(kernel.size, (banner.len() + 98304 + 65536) as u64);
    let head = std::fs::read(tree.path_of(kernel)).unwrap();
    assert!(head.starts_with(banner.as_bytes()));

    // The root file system, with busybox as Debian built it and its applet links.
    let busybox = node(&tree, "/bin/busybox");
    assert_eq!(busybox.kind, NodeKind::File);
    let bytes = std::fs::read(tree.path_of(busybox)).unwrap();
    assert_eq!(&bytes[..4], b"\x7fELF");
    assert_eq!(bytes[18], 40, "EM_ARM");
    let sh = node(&tree, "/bin/sh");
    assert_eq!(sh.kind, NodeKind::Symlink);
    assert_eq!(sh.link.as_deref(), Some("busybox"));
    assert_eq!(node(&tree, "/etc/shadow").kind, NodeKind::File);
    assert_eq!(
        node(&tree, "/etc/ssl/private/server.key").kind,
        NodeKind::File
    );

    // Factory defaults inside the root file system were xz-compressed: squashfs -> xz.
    let defaults = tree
        .nodes
        .iter()
        .find(|n| n.origin.formats == ["squashfs", "xz"])
        .expect("xz nested in squashfs");
    let text = std::fs::read_to_string(tree.path_of(defaults)).unwrap();
    assert!(text.contains("lan_ipaddr=192.168.1.1"), "{text}");
}

/// Every committed sample: the images, then one per format under `formats/`.
fn all_samples() -> Vec<String> {
    let mut names: Vec<String> = ["router.bin", "clean.bin", "legacy.bin", "hardened.bin"]
        .map(String::from)
        .to_vec();
    if let Ok(dir) = std::fs::read_dir(sample("formats")) {
        let mut more: Vec<String> = dir
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with(".md"))
            .map(|n| format!("formats/{n}"))
            .collect();
        more.sort();
        names.extend(more);
    }
    names
}

#[test]
fn every_handler_is_exercised_by_a_sample() {
    let mut seen = std::collections::BTreeSet::new();
    for name in all_samples() {
        let (_tmp, tree) = unpack_sample(&name);
        for r in &tree.regions {
            if let RegionKind::Container { format, .. } = &r.kind {
                seen.insert(format.clone());
            }
        }
    }
    for h in HANDLERS {
        assert!(
            seen.contains(h.id()),
            "no sample in firmware-samples/ exercises handler {}",
            h.id()
        );
    }
}

#[test]
fn every_format_sample_unpacks_completely_and_deterministically() {
    for name in all_samples().iter().filter(|n| n.starts_with("formats/")) {
        let tmp = tempfile::tempdir().unwrap();
        let a = unpack(&sample(name), &tmp.path().join("a"), Limits::default()).unwrap();
        assert!(a.is_complete(), "{name}: {:#?}", a.problems);
        assert!(
            a.nodes.iter().any(|n| n.kind == NodeKind::File && !n.raw),
            "{name}: no file extracted"
        );
        // The same image gives the same manifest, wherever it is unpacked.
        let b = unpack(&sample(name), &tmp.path().join("b"), Limits::default()).unwrap();
        let json = |t: &Tree| {
            let mut t = t.clone();
            t.root = PathBuf::new();
            serde_json::to_string(&t).unwrap()
        };
        assert_eq!(json(&a), json(&b), "{name}: manifest differs between runs");
    }
}

#[test]
fn truncated_image_keeps_what_it_can_and_names_the_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let data = std::fs::read(sample("router.bin")).unwrap();
    let cut = tmp.path().join("cut.bin");
    std::fs::write(&cut, &data[..data.len() - 300_000]).unwrap();
    let tree = unpack(&cut, &tmp.path().join("out"), Limits::default()).unwrap();
    assert!(!tree.is_complete());
    let p = tree
        .problems
        .iter()
        .find(|p| p.format.as_deref() == Some("squashfs"))
        .expect("squashfs problem");
    assert_eq!(p.offset, Some(0x20000));
    assert!(p.message.contains("truncated"), "{}", p.message);
    // The kernel before it is still there.
    assert!(tree
        .nodes
        .iter()
        .any(|n| n.origin.formats == ["uimage", "gzip"]));
}

#[test]
fn unrecognised_image_is_a_problem_not_a_silent_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let junk = tmp.path().join("junk.bin");
    std::fs::write(&junk, vec![0x5au8; 10_000]).unwrap();
    let tree = unpack(&junk, &tmp.path().join("out"), Limits::default()).unwrap();
    assert!(tree.nodes.is_empty());
    assert!(
        tree.problems[0].message.contains("no known container"),
        "{:?}",
        tree.problems
    );
}

#[test]
fn refuses_a_non_empty_output_directory() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("keep"), b"x").unwrap();
    let err = unpack(&sample("clean.bin"), tmp.path(), Limits::default()).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
}

#[test]
fn corrupted_squashfs_never_panics_and_keeps_the_kernel() {
    let data = std::fs::read(sample("router.bin")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // Deterministic corruption at 40 places in the SquashFS: superblock, tables, data.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..40 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut bad = data.clone();
        let at = 0x20000
            + if i < 10 {
                (x % 96) as usize
            } else {
                (x % 797_158) as usize
            };
        bad[at] ^= (x >> 32) as u8 | 1;
        let path = tmp.path().join(format!("bad{i}.bin"));
        std::fs::write(&path, &bad).unwrap();
        let tree = unpack(
            &path,
            &tmp.path().join(format!("out{i}")),
            Limits::default(),
        )
        .unwrap();
        assert!(
            tree.nodes
                .iter()
                .any(|n| n.origin.formats == ["uimage", "gzip"]),
            "corruption at {at:#x} lost the kernel"
        );
    }
}
