//! Differential and hostile-input tests of the wrappers and streams (uImage compressions, FIT, TRX, Android sparse, Intel HEX, S-record, zlib, bzip2, lz4, lzo) handlers: each committed sample in
//! firmware-samples/formats/ is extracted by fwgate and by the format's reference tool and
//! compared by sha256; crafted samples must be refused or reported, never extracted outside
//! the output directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::fidelity::{listing, reference, sha256};
use fwgate_unpack::{unpack, Limits, NodeKind, RegionKind, Tree};

fn unpack_clean(path: &Path, out: &Path) -> Tree {
    let tree = unpack(path, out, Limits::default()).unwrap();
    assert!(
        tree.problems.is_empty(),
        "{}: {:#?}",
        path.display(),
        tree.problems
    );
    tree
}

/// The files fwgate wrote directly under `base` (not what was carved out of them), by name.
fn payloads(tree: &Tree, base: &str) -> BTreeMap<String, String> {
    tree.nodes
        .iter()
        .filter(|n| n.kind == NodeKind::File)
        .filter_map(|n| {
            let rel = n.path.strip_prefix(base)?.strip_prefix('/')?;
            (!rel.contains('/')).then(|| {
                (
                    rel.to_string(),
                    format!("file {}", sha256(&fs::read(tree.path_of(n)).unwrap())),
                )
            })
        })
        .collect()
}

/// Asserts that fwgate's payloads under `base` are exactly the reference tool's files in
/// `reference` (same names, same sha256).
fn assert_same_payloads(tree: &Tree, base: &str, reference: &Path, what: &str) {
    let ours = payloads(tree, base);
    let theirs = listing(reference);
    assert!(
        !theirs.is_empty(),
        "{what}: the reference tool extracted nothing"
    );
    assert_eq!(ours, theirs, "{what}");
}

/// Runs `tool args` in `work` (with the sample copied there), then moves each produced file
/// into `dir` under the name fwgate gives it. `None` when the tool is missing.
fn reference_files(
    tool: &str,
    args: &[&str],
    work: &Path,
    produced: &[(&str, &str)],
    dir: &Path,
) -> Option<()> {
    reference(tool, args, work)?;
    fs::create_dir_all(dir).unwrap();
    for (from, to) in produced {
        fs::rename(work.join(from), dir.join(to)).unwrap();
    }
    Some(())
}

fn sample_in(name: &str, dir: &Path) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    let to = dir.join(name);
    fs::copy(common::sample(&format!("formats/{name}")), &to).unwrap();
    to
}

/// The streams: each decompressed by its own tool, compared with fwgate's payload.
#[test]
fn streams_match_their_decompressors() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &[&str], &str, &str)] = &[
        // sample, tool, args, the file it writes, fwgate's container directory
        (
            "shadow.bz2",
            "bunzip2",
            &["-k", "shadow.bz2"],
            "shadow",
            "bzip2@0x0",
        ),
        (
            "shadow.lz4",
            "lz4",
            &["-d", "-q", "shadow.lz4", "out"],
            "out",
            "lz4@0x0",
        ),
        (
            "legacy.lz4",
            "lz4",
            &["-d", "-q", "legacy.lz4", "out"],
            "out",
            "lz4@0x0",
        ),
        (
            "shadow.lzo",
            "lzop",
            &["-d", "-q", "shadow.lzo"],
            "shadow",
            "lzo@0x0",
        ),
    ];
    let mut compared = 0;
    for (i, (name, tool, args, produced, base)) in cases.iter().enumerate() {
        let work = tmp.path().join(format!("w{i}"));
        let img = sample_in(name, &work);
        // lzop stores the file name; the other streams have none.
        let ours_name = if *base == "lzo@0x0" {
            "root.sqfs"
        } else {
            "data"
        };
        let refdir = tmp.path().join(format!("ref{i}"));
        if reference_files(tool, args, &work, &[(produced, ours_name)], &refdir).is_none() {
            continue;
        }
        let tree = unpack_clean(&img, &tmp.path().join(format!("out{i}")));
        assert_same_payloads(&tree, base, &refdir, name);
        compared += 1;
    }
    if compared > 0 {
        assert_eq!(compared, cases.len());
    }
}

/// A zlib stream in the middle of a blob: python3's zlib finds where it starts by trying
/// each offset, decodes it and says where it ends; fwgate must agree on all three.
#[test]
fn zlib_mid_file_matches_python_zlib() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("w");
    let img = sample_in("shadow.zlib", &work);
    let script = r#"
import sys, zlib
d = open("shadow.zlib", "rb").read()
for at in range(len(d) - 1):
    o = zlib.decompressobj()
    try:
        out = o.decompress(d[at:])
    except zlib.error:
        continue
    if o.eof:
        open("data", "wb").write(out)
        open("range", "w").write("%d %d" % (at, len(d) - len(o.unused_data)))
        break
"#;
    let refdir = tmp.path().join("ref");
    if reference_files(
        "python3",
        &["-c", script],
        &work,
        &[("data", "data")],
        &refdir,
    )
    .is_none()
    {
        return;
    }
    let range = fs::read_to_string(work.join("range")).unwrap();
    let (at, end): (u64, u64) = {
        let mut v = range.split(' ').map(|s| s.parse().unwrap());
        (v.next().unwrap(), v.next().unwrap())
    };
    let tree = unpack_clean(&img, &tmp.path().join("out"));
    assert_same_payloads(&tree, &format!("zlib@{at:#x}"), &refdir, "zlib");
    let region = tree
        .regions
        .iter()
        .find(|r| matches!(&r.kind, RegionKind::Container { format, .. } if format == "zlib"))
        .unwrap();
    assert_eq!((region.offset, region.offset + region.length), (at, end));
}

/// uImages of every compression: dumpimage's payload is fwgate's `kernel`, and the
/// compressor's own tool decodes it to what fwgate carved out of it.
#[test]
fn uimages_of_every_compression_match_dumpimage_and_the_decompressor() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &[&str], &str, &str)] = &[
        // compression, decompressor, args on `kernel`, what it writes, fwgate's name
        ("none", "", &[], "", ""),
        ("bzip2", "bunzip2", &["-k", "-c", "kernel"], "", "data"),
        ("lzma", "lzma", &["-d", "-k", "-c", "kernel"], "", "data"),
        (
            "lzo",
            "lzop",
            &["-d", "-q", "-f", "-o", "dec", "kernel"],
            "dec",
            "root.sqfs",
        ),
        ("lz4", "lz4", &["-d", "-q", "kernel", "dec"], "dec", "data"),
        (
            "zstd",
            "zstd",
            &["-d", "-q", "kernel", "-o", "dec"],
            "dec",
            "data",
        ),
    ];
    let mut compared = 0;
    for (comp, tool, args, produced, ours) in cases {
        let work = tmp.path().join(format!("w-{comp}"));
        let name = format!("uimage-{comp}.bin");
        let img = sample_in(&name, &work);
        let refdir = tmp.path().join(format!("ref-{comp}"));
        let Some(()) = reference_files(
            "dumpimage",
            &["-T", "kernel", "-p", "0", "-o", "kernel", &name],
            &work,
            &[],
            &refdir,
        ) else {
            return;
        };
        fs::copy(work.join("kernel"), refdir.join("kernel")).unwrap();
        let tree = unpack_clean(&img, &tmp.path().join(format!("out-{comp}")));
        assert_same_payloads(&tree, "uimage@0x0", &refdir, &name);
        let info = tree
            .regions
            .iter()
            .find_map(|r| match &r.kind {
                RegionKind::Container { format, info } if format == "uimage" => Some(info.clone()),
                _ => None,
            })
            .unwrap();
        assert!(info.contains(&format!("{comp} compression")), "{info}");
        compared += 1;
        if tool.is_empty() || common::peer(tool).is_none() {
            continue;
        }
        // Tools that write to stdout are not used: each case writes a file.
        if produced.is_empty() {
            // bunzip2 -c / lzma -c: run through sh to capture stdout into a file.
            let cmd = format!("{tool} {} > dec", args.join(" "));
            if reference("sh", &["-c", &cmd], &work).is_none() {
                continue;
            }
        } else if reference(tool, args, &work).is_none() {
            continue;
        }
        let inner = tmp.path().join(format!("ref-{comp}-inner"));
        fs::create_dir_all(&inner).unwrap();
        fs::rename(work.join("dec"), inner.join(ours)).unwrap();
        let id = if *comp == "lzo" { "lzo" } else { comp };
        assert_same_payloads(
            &tree,
            &format!("uimage@0x0/kernel.extracted/{id}@0x0"),
            &inner,
            &format!("{name} decoded"),
        );
    }
    if compared > 0 {
        assert_eq!(compared, cases.len());
    }
}

#[test]
fn multi_file_uimage_matches_dumpimage() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("w");
    let img = sample_in("multi.uimage", &work);
    let refdir = tmp.path().join("ref");
    for p in ["0", "1"] {
        let out = format!("part-{p}");
        if reference_files(
            "dumpimage",
            &["-T", "multi", "-p", p, "-o", &out, "multi.uimage"],
            &work,
            &[(&out, &out)],
            &refdir,
        )
        .is_none()
        {
            return;
        }
    }
    let tree = unpack_clean(&img, &tmp.path().join("out"));
    assert_same_payloads(&tree, "uimage@0x0", &refdir, "multi.uimage");
}

/// FIT images, embedded and external data: dumpimage -T flat_dt writes each image.
#[test]
fn fit_images_match_dumpimage() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["fit.itb", "fit-external.itb"] {
        let work = tmp.path().join(format!("w-{name}"));
        let img = sample_in(name, &work);
        let refdir = tmp.path().join(format!("ref-{name}"));
        for (p, node) in [("0", "kernel"), ("1", "ramdisk")] {
            if reference_files(
                "dumpimage",
                &["-T", "flat_dt", "-p", p, "-o", node, name],
                &work,
                &[(node, node)],
                &refdir,
            )
            .is_none()
            {
                return;
            }
        }
        let tree = unpack_clean(&img, &tmp.path().join(format!("out-{name}")));
        assert_same_payloads(&tree, "fdt@0x0", &refdir, name);
        let info = tree
            .regions
            .iter()
            .find_map(|r| match &r.kind {
                RegionKind::Container { format, info } if format == "fdt" => Some(info.clone()),
                _ => None,
            })
            .unwrap();
        assert!(
            info.contains("kernel (type kernel, arch arm, compression none)")
                && info.contains("ramdisk (type ramdisk, arch arm, compression gzip)"),
            "{info}"
        );
        // The whole file is accounted for: the tree, and the external data after it.
        let end = tree
            .regions
            .iter()
            .filter(|r| r.file.is_empty())
            .map(|r| r.offset + r.length)
            .max();
        assert_eq!(end, Some(fs::metadata(&img).unwrap().len()), "{name}");
    }
}

/// A plain device tree: no payload; its nodes and properties written as the kernel shows
/// them in /proc/device-tree. dtc reads that directory back (`-I fs`) into the same tree as
/// it reads from the blob (both sorted).
#[test]
fn plain_dtb_is_written_as_proc_device_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("w");
    let img = sample_in("plain.dtb", &work);
    if reference(
        "dtc",
        &[
            "-q",
            "-s",
            "-I",
            "dtb",
            "-O",
            "dts",
            "-o",
            "blob.dts",
            "plain.dtb",
        ],
        &work,
    )
    .is_none()
    {
        return;
    }
    let tree = unpack_clean(&img, &tmp.path().join("out"));
    assert!(tree.nodes.iter().all(|n| !n.raw), "{:#?}", tree.nodes);
    let dir = tree.root.join("fdt@0x0");
    let dir = dir.to_str().unwrap();
    reference(
        "dtc",
        &["-q", "-s", "-I", "fs", "-O", "dts", "-o", "fs.dts", dir],
        &work,
    )
    .unwrap();
    let blob = fs::read_to_string(work.join("blob.dts")).unwrap();
    assert_eq!(fs::read_to_string(work.join("fs.dts")).unwrap(), blob);
    let nodes = blob.lines().filter(|l| l.trim_end().ends_with('{')).count();
    let info = match &tree.regions[0].kind {
        RegionKind::Container { format, info } if format == "fdt" => info.clone(),
        k => panic!("{k:?}"),
    };
    assert!(
        info.contains(&format!("device tree blob, {nodes} nodes")),
        "{info}"
    );
}

/// TRX: no Debian tool reads it; unblob's TRX extractor (the peer venv) is the reference.
#[test]
fn trx_partitions_match_unblob() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("w");
    let img = sample_in("trx.bin", &work);
    if reference("unblob", &["-d", "1", "-e", "x", "trx.bin"], &work).is_none() {
        return;
    }
    let refdir = tmp.path().join("ref");
    fs::create_dir_all(&refdir).unwrap();
    for i in 0..2 {
        fs::rename(
            work.join(format!("x/trx.bin_extract/part{i}")),
            refdir.join(format!("part-{i}")),
        )
        .unwrap();
    }
    let tree = unpack_clean(&img, &tmp.path().join("out"));
    assert_same_payloads(&tree, "trx@0x0", &refdir, "trx.bin");
}

#[test]
fn android_sparse_matches_simg2img() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("w");
    let img = sample_in("sparse.simg", &work);
    let refdir = tmp.path().join("ref");
    if reference_files(
        "simg2img",
        &["sparse.simg", "raw.img"],
        &work,
        &[("raw.img", "image")],
        &refdir,
    )
    .is_none()
    {
        return;
    }
    let tree = unpack_clean(&img, &tmp.path().join("out"));
    assert_same_payloads(&tree, "androidsparse@0x0", &refdir, "sparse.simg");
}

#[test]
fn hex_records_match_objcopy() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, input, base) in [
        ("rcs.hex", "ihex", "ihex@0x0"),
        ("rcs.srec", "srec", "srec@0x0"),
    ] {
        let work = tmp.path().join(format!("w-{name}"));
        let img = sample_in(name, &work);
        let refdir = tmp.path().join(format!("ref-{name}"));
        if reference_files(
            "objcopy",
            &["-I", input, "-O", "binary", name, "data"],
            &work,
            &[("data", "data")],
            &refdir,
        )
        .is_none()
        {
            return;
        }
        let tree = unpack_clean(&img, &tmp.path().join(format!("out-{name}")));
        assert_same_payloads(&tree, base, &refdir, name);
    }
}

// --- hostile inputs, crafted here ------------------------------------------------------------

use common::fidelity::unpack_crafted as hostile;

fn has_problem(tree: &Tree, format: &str, needle: &str) -> bool {
    tree.problems
        .iter()
        .any(|p| p.format.as_deref() == Some(format) && p.message.contains(needle))
}

fn uimage(kind: u8, comp: u8, declared: u32, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(&[0x27, 0x05, 0x19, 0x56]);
    h[12..16].copy_from_slice(&declared.to_be_bytes());
    h[24..28].copy_from_slice(&crc32fast::hash(payload).to_be_bytes());
    h[28] = 5;
    h[29] = 2;
    h[30] = kind;
    h[31] = comp;
    h[32..36].copy_from_slice(b"test");
    let crc = crc32fast::hash(&h);
    h[4..8].copy_from_slice(&crc.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

#[test]
fn truncated_uimage_keeps_what_is_there() {
    let payload = b"root::0:0:99999:7:::\n".repeat(4);
    let (_t, tree) = hostile(&uimage(2, 0, 1 << 20, &payload), Limits::default());
    assert!(
        has_problem(&tree, "uimage", "truncated"),
        "{:#?}",
        tree.problems
    );
    let p = tree
        .problems
        .iter()
        .find(|p| p.message.contains("truncated"))
        .unwrap();
    assert_eq!(p.offset, Some(0));
    let kernel = tree
        .nodes
        .iter()
        .find(|n| n.path == "uimage@0x0/kernel")
        .unwrap();
    assert_eq!(kernel.size, payload.len() as u64);
}

#[test]
fn uimage_whose_compression_field_lies_is_a_problem() {
    // Says bzip2, holds plain text: the bootloader would fail; fwgate says so.
    let payload = b"#!/bin/sh\n/usr/sbin/telnetd -l /bin/sh\n";
    let (_t, tree) = hostile(
        &uimage(2, 2, payload.len() as u32, payload),
        Limits::default(),
    );
    assert!(
        has_problem(&tree, "uimage", "compression field says bzip2"),
        "{:#?}",
        tree.problems
    );
}

/// A minimal flattened device tree writer for crafted trees.
struct Fdt {
    structs: Vec<u8>,
    strings: Vec<u8>,
}

impl Fdt {
    fn new() -> Fdt {
        Fdt {
            structs: Vec::new(),
            strings: Vec::new(),
        }
    }
    fn word(&mut self, w: u32) {
        self.structs.extend_from_slice(&w.to_be_bytes());
    }
    fn begin(&mut self, name: &str) {
        self.word(1);
        self.structs.extend_from_slice(name.as_bytes());
        self.structs.push(0);
        while !self.structs.len().is_multiple_of(4) {
            self.structs.push(0);
        }
    }
    fn end(&mut self) {
        self.word(2);
    }
    fn prop(&mut self, name: &str, value: &[u8]) {
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(name.as_bytes());
        self.strings.push(0);
        self.word(3);
        self.word(value.len() as u32);
        self.word(off);
        self.structs.extend_from_slice(value);
        while !self.structs.len().is_multiple_of(4) {
            self.structs.push(0);
        }
    }
    fn finish(mut self) -> Vec<u8> {
        self.word(9);
        let off_rsv = 40u32;
        let off_struct = off_rsv + 16;
        let off_strings = off_struct + self.structs.len() as u32;
        let total = off_strings + self.strings.len() as u32;
        let mut out = Vec::new();
        for w in [
            0xd00d_feed,
            total,
            off_struct,
            off_strings,
            off_rsv,
            17,
            16,
            0,
            self.strings.len() as u32,
            self.structs.len() as u32,
        ] {
            out.extend_from_slice(&u32::to_be_bytes(w));
        }
        out.extend_from_slice(&[0u8; 16]);
        out.extend_from_slice(&self.structs);
        out.extend_from_slice(&self.strings);
        out
    }
}

#[test]
fn fit_with_external_data_past_the_end_is_a_problem_and_the_rest_is_kept() {
    let mut f = Fdt::new();
    f.begin("");
    f.prop("description", b"hostile\0");
    f.begin("images");
    f.begin("kernel");
    f.prop("type", b"kernel\0");
    f.prop("data-offset", &0x10_0000u32.to_be_bytes());
    f.prop("data-size", &64u32.to_be_bytes());
    f.end();
    f.begin("ramdisk");
    f.prop("type", b"ramdisk\0");
    f.prop("data", b"#!/bin/sh\n/usr/sbin/telnetd -l /bin/sh\n");
    f.end();
    f.begin("../../escape");
    f.prop("data", b"outside?\n");
    f.end();
    f.end();
    f.end();
    let (_t, tree) = hostile(&f.finish(), Limits::default());
    assert!(
        has_problem(&tree, "fdt", "image kernel: data at"),
        "{:#?}",
        tree.problems
    );
    assert!(tree
        .nodes
        .iter()
        .any(|n| n.path == "fdt@0x0/ramdisk" && n.size == 39));
}

#[test]
fn deeply_nested_device_tree_is_refused_without_recursion() {
    let mut f = Fdt::new();
    f.begin("");
    for i in 0..100_000 {
        f.begin(&format!("n{}", i % 10));
    }
    for _ in 0..100_000 {
        f.end();
    }
    f.end();
    let (_t, tree) = hostile(&f.finish(), Limits::default());
    assert!(
        has_problem(&tree, "fdt", "nested deeper than"),
        "{:#?}",
        tree.problems
    );
}

/// A TRX v1 header over `body` with offsets, the CFE CRC valid.
fn trx(len: u32, offsets: [u32; 3], body: &[u8]) -> Vec<u8> {
    let mut tail = Vec::new();
    tail.extend_from_slice(&0u16.to_le_bytes());
    tail.extend_from_slice(&1u16.to_le_bytes());
    for o in offsets {
        tail.extend_from_slice(&o.to_le_bytes());
    }
    tail.extend_from_slice(body);
    let crc = !crc32fast::hash(&tail);
    let mut out = b"HDR0".to_vec();
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&tail);
    out
}

#[test]
fn trx_partition_past_the_length_is_a_problem() {
    let body = b"#!/bin/sh\n/usr/sbin/telnetd -l /bin/sh\n\0";
    let len = 28 + body.len() as u32;
    let (_t, tree) = hostile(&trx(len, [28, 0x4000_0000, 0], body), Limits::default());
    assert!(
        has_problem(&tree, "trx", "partition 1 starts at 0x40000000"),
        "{:#?}",
        tree.problems
    );
    assert!(tree.nodes.iter().any(|n| n.path == "trx@0x0/part-0"));
    // A corrupted byte: CFE would refuse it.
    let mut bad = trx(len, [28, 0, 0], body);
    bad[40] ^= 1;
    let (_t, tree) = hostile(&bad, Limits::default());
    assert!(has_problem(&tree, "trx", "CRC32"), "{:#?}", tree.problems);
}

#[test]
fn sparse_fill_beyond_the_limits_is_a_limit_problem_without_a_huge_allocation() {
    let mut d = Vec::new();
    d.extend_from_slice(&0xed26_ff3au32.to_le_bytes());
    d.extend_from_slice(&1u16.to_le_bytes());
    d.extend_from_slice(&0u16.to_le_bytes());
    d.extend_from_slice(&28u16.to_le_bytes());
    d.extend_from_slice(&12u16.to_le_bytes());
    for v in [4096u32, 0xffff_ffff, 2, 0] {
        d.extend_from_slice(&v.to_le_bytes());
    }
    // A fill chunk of 2^32-1 blocks of 4 KiB (16 TiB), then a don't-care chunk.
    d.extend_from_slice(&0xcac2u16.to_le_bytes());
    d.extend_from_slice(&0u16.to_le_bytes());
    d.extend_from_slice(&0xffff_ffffu32.to_le_bytes());
    d.extend_from_slice(&16u32.to_le_bytes());
    d.extend_from_slice(&0x5a5a_5a5au32.to_le_bytes());
    d.extend_from_slice(&0xcac3u16.to_le_bytes());
    d.extend_from_slice(&0u16.to_le_bytes());
    d.extend_from_slice(&1u32.to_le_bytes());
    d.extend_from_slice(&12u32.to_le_bytes());
    let limits = Limits {
        max_file_bytes: 8 << 20,
        ..Limits::default()
    };
    let (_t, tree) = hostile(&d, limits);
    assert!(
        tree.problems
            .iter()
            .any(|p| p.format.as_deref() == Some("androidsparse")
                && (p.message.contains("larger than") || p.message.contains("expands more than"))),
        "{:#?}",
        tree.problems
    );
}

/// An Intel HEX record with its checksum.
fn ihex(kind: u8, addr: u16, data: &[u8]) -> String {
    let mut b = vec![data.len() as u8, (addr >> 8) as u8, addr as u8, kind];
    b.extend_from_slice(data);
    let sum = b.iter().fold(0u8, |s, &x| s.wrapping_add(x));
    b.push(sum.wrapping_neg());
    format!(":{}\n", hex::encode_upper(b))
}

#[test]
fn ihex_overlapping_records_are_a_problem() {
    let mut s = String::new();
    s += &ihex(0, 0x0000, b"0123456789abcdef");
    s += &ihex(0, 0x0008, b"OVERLAP!");
    s += &ihex(0, 0x0010, b"ghijklmnopqrstuv");
    s += &ihex(1, 0, b"");
    let (_t, tree) = hostile(s.as_bytes(), Limits::default());
    assert!(
        has_problem(&tree, "ihex", "overlaps"),
        "{:#?}",
        tree.problems
    );
    let data = tree
        .nodes
        .iter()
        .find(|n| n.path == "ihex@0x0/data")
        .unwrap();
    assert_eq!(
        fs::read(tree.path_of(data)).unwrap(),
        b"0123456789abcdefghijklmnopqrstuv"
    );
}

#[test]
fn ihex_with_a_4_gib_span_is_not_assembled_into_one_file() {
    let mut s = String::new();
    s += &ihex(0, 0x0000, b"low data........");
    s += &ihex(4, 0, &[0xff, 0xff]);
    s += &ihex(0, 0xfff0, b"high data.......");
    s += &ihex(1, 0, b"");
    let (_t, tree) = hostile(s.as_bytes(), Limits::default());
    assert!(
        has_problem(&tree, "ihex", "addresses span"),
        "{:#?}",
        tree.problems
    );
    let sizes: Vec<_> = tree
        .nodes
        .iter()
        .filter(|n| n.path.starts_with("ihex@0x0/"))
        .map(|n| (n.path.as_str(), n.size))
        .collect();
    assert_eq!(
        sizes,
        [("ihex@0x0/data@0x0", 16), ("ihex@0x0/data@0xfffffff0", 16)]
    );
}

#[test]
fn random_text_is_not_taken_for_hex_records() {
    let text =
        b"key:value\n:not hex at all\nS1 is a sensor\nroot:x:0:0:root:/root:/bin/sh\n:1000000\n";
    let (_t, tree) = hostile(text, Limits::default());
    assert!(
        !tree
            .regions
            .iter()
            .any(|r| matches!(&r.kind, RegionKind::Container { .. })),
        "{:#?}",
        tree.regions
    );
}

#[test]
fn bzip2_bomb_is_a_limit_problem() {
    let Some(bz) = common::peer("bzip2") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let zeros = tmp.path().join("zeros");
    fs::write(&zeros, vec![0u8; 64 << 20]).unwrap();
    let o = std::process::Command::new(bz)
        .args(["-9", "-c"])
        .arg(&zeros)
        .output()
        .unwrap();
    assert!(o.status.success());
    let bomb = o.stdout;
    assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
    let (_t, tree) = hostile(&bomb, Limits::default());
    assert!(
        tree.problems.iter().any(
            |p| p.format.as_deref() == Some("bzip2") && p.message.contains("expands more than")
        ),
        "{:#?}",
        tree.problems
    );
}

/// Deterministic bytes that compress somewhat (text-like runs with noise).
fn semi_random(n: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9u32;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            if i % 7 < 4 {
                b"firmware "[i % 9]
            } else {
                (x >> 24) as u8
            }
        })
        .collect()
}

/// Compresses `data` with `tool args` (reading stdin, writing stdout); `None` without it.
fn compress(tool: &str, args: &[&str], data: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let exe = common::peer(tool)?;
    let mut child = std::process::Command::new(exe)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&data).unwrap());
    let o = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert!(o.status.success(), "{tool} {args:?}");
    Some(o.stdout)
}

/// The lz4 variants the samples do not show: linked blocks, block checksums, content size,
/// no content checksum, 64 KiB blocks, concatenated frames with a skippable frame between,
/// and a legacy stream of more than one 8 MiB block. Each must decode to its input, and the
/// container must end where the stream does (trailing bytes are carved, not swallowed).
#[test]
fn lz4_variants_decode_to_their_input() {
    let small = semi_random(300_000);
    let big = semi_random(9 << 20);
    let variants: &[(&[&str], &Vec<u8>)] = &[
        (&["-B4", "-BD", "-BX", "--content-size"], &small),
        (&["-B4", "--no-frame-crc"], &small),
        (&["-B7", "-BD"], &small),
        (&["-l"], &big),
    ];
    for (args, input) in variants {
        let mut a = vec!["-q", "-c"];
        a.extend_from_slice(args);
        let Some(mut z) = compress("lz4", &a, input) else {
            return;
        };
        let end = z.len() as u64;
        z.extend_from_slice(&[0xffu8; 64]);
        let tmp = tempfile::tempdir().unwrap();
        let img = tmp.path().join("img");
        fs::write(&img, &z).unwrap();
        let tree = unpack(&img, &tmp.path().join("out"), Limits::default()).unwrap();
        let data = tree
            .nodes
            .iter()
            .find(|n| n.path == "lz4@0x0/data")
            .unwrap_or_else(|| panic!("{args:?}: {:#?}", tree.problems));
        assert_eq!(
            sha256(&fs::read(tree.path_of(data)).unwrap()),
            sha256(input),
            "{args:?}: {:#?}",
            tree.problems
        );
        let region = &tree.regions[0];
        assert_eq!((region.offset, region.length), (0, end), "{args:?}");
    }
    // Two frames with a skippable frame between them read as one stream, as lz4 -d does.
    let (Some(a), Some(b)) = (
        compress("lz4", &["-q", "-c"], b"first frame\n"),
        compress("lz4", &["-q", "-c"], b"second frame\n"),
    ) else {
        return;
    };
    let mut z = a;
    z.extend_from_slice(&0x184d_2a53u32.to_le_bytes());
    z.extend_from_slice(&4u32.to_le_bytes());
    z.extend_from_slice(b"skip");
    z.extend_from_slice(&b);
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("img");
    fs::write(&img, &z).unwrap();
    let tree = unpack(&img, &tmp.path().join("out"), Limits::default()).unwrap();
    let data = tree
        .nodes
        .iter()
        .find(|n| n.path == "lz4@0x0/data")
        .unwrap();
    assert_eq!(
        fs::read(tree.path_of(data)).unwrap(),
        b"first frame\nsecond frame\n"
    );
    assert_eq!(tree.regions[0].length, z.len() as u64);
}

/// Multi-stream bzip2 (pbzip2, concatenated files) reads as bunzip2 reads it: every stream,
/// then trailing bytes that are not a stream end the container.
#[test]
fn bzip2_multi_stream_reads_as_bunzip2_does() {
    let (Some(a), Some(b)) = (
        compress("bzip2", &["-c"], b"first stream\n"),
        compress("bzip2", &["-c"], b"second stream\n"),
    ) else {
        return;
    };
    let mut z = a;
    z.extend_from_slice(&b);
    let end = z.len() as u64;
    z.extend_from_slice(&[0u8; 100]);
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("img");
    fs::write(&img, &z).unwrap();
    let tree = unpack(&img, &tmp.path().join("out"), Limits::default()).unwrap();
    assert!(tree.problems.is_empty(), "{:#?}", tree.problems);
    let data = tree
        .nodes
        .iter()
        .find(|n| n.path == "bzip2@0x0/data")
        .unwrap();
    let ours = fs::read(tree.path_of(data)).unwrap();
    assert_eq!(ours, b"first stream\nsecond stream\n");
    assert_eq!(Some(ours), compress("bunzip2", &["-c"], &z));
    assert_eq!(tree.regions[0].length, end);
}

/// U-Boot checks each FIT image's hash before booting it; so does fwgate.
#[test]
fn fit_image_whose_hash_does_not_match_is_a_problem() {
    let mut fit = fs::read(common::sample("formats/fit.itb")).unwrap();
    let at = fit
        .windows(7)
        .position(|w| w == b"telnetd")
        .expect("the kernel image holds rcS");
    fit[at] = b'T';
    let (_t, tree) = hostile(&fit, Limits::default());
    assert!(
        has_problem(&tree, "fdt", "image kernel: hash-1 (crc32) does not match"),
        "{:#?}",
        tree.problems
    );
    // The image is still extracted.
    assert!(tree.nodes.iter().any(|n| n.path == "fdt@0x0/kernel"));
}
