//! Crafted images an attacker could hand the gate, each built with the real tools (mke2fs,
//! mkfs.jffs2, mkfs.cramfs, tar, mksquashfs) around a root file system that ships an empty
//! root password and starts telnetd. For every one the gate must not PASS, and its output
//! must name the cause: either the planted problem itself (the part was examined after all)
//! or the part that could not be examined.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// A root file system with the two planted problems and an inert file `etc/a`.
fn rootfs(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    fs::create_dir_all(root.join("etc/init.d")).unwrap();
    fs::write(root.join("etc/a"), "x\n").unwrap();
    fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    fs::write(root.join("etc/shadow"), "root::19000:0:99999:7:::\n").unwrap();
    fs::write(
        root.join("etc/init.d/rcS"),
        "#!/bin/sh\n/usr/sbin/telnetd -l /bin/sh &\n",
    )
    .unwrap();
    root
}

/// The first 128 KiB of the clean sample: a real mkimage kernel and erased-flash padding.
fn kernel_prefix() -> Vec<u8> {
    fs::read(sample("clean.bin")).unwrap()[..0x20000].to_vec()
}

/// Runs `tool args…`, or returns `None` when the tool is missing (a failure in CI).
fn make(tool: &str, args: &[&std::ffi::OsStr]) -> Option<()> {
    let path = peer(tool)?;
    let o = run(Command::new(path).args(args));
    assert!(o.status.success(), "{tool} failed");
    Some(())
}

fn squashfs(dir: &Path, root: &Path, name: &str, extra: &[&str]) -> Option<Vec<u8>> {
    let out = dir.join(name);
    let mut args: Vec<&std::ffi::OsStr> = vec![
        root.as_os_str(),
        out.as_os_str(),
        "-noappend".as_ref(),
        "-all-root".as_ref(),
        "-no-progress".as_ref(),
        "-quiet".as_ref(),
    ];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    make("mksquashfs", &args)?;
    Some(fs::read(out).unwrap())
}

/// Gates `image` (written into `dir`) and returns its exit code and stdout.
fn gate(dir: &Path, image: &[u8], extra: &[&str]) -> (Option<i32>, String) {
    let path = dir.join("fw.bin");
    fs::write(&path, image).unwrap();
    let o = run(fwgate()
        .arg("gate")
        .arg(&path)
        .arg("--evidence")
        .arg(dir.join("ev"))
        .args(extra));
    let text = format!("{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
    // Evidence is written whatever the verdict.
    assert!(dir.join("ev").exists(), "no evidence written");
    (o.status.code(), text)
}

/// True when `handler`'s probe validates the header of `data` but cannot decide.
fn undecided(handler: &str, data: &[u8]) -> bool {
    let h = fwgate_unpack::handler(handler).unwrap();
    h.probe(&fwgate_unpack::Source::from_bytes(data))
        .is_some_and(|p| p.undecided.is_some())
}

/// Runs each recipe (`tool`, a `sh -c` line writing `$OUT` from `$ROOT`, a needle) with its
/// real tool around the planted root, puts the part after a kernel, and calls `check` with the
/// recipe, its needle and the gate's exit code and output. A recipe whose tool is missing is
/// skipped (or fails in CI, see `peer`).
fn gate_each(recipes: &[(&str, &str, &str)], check: impl Fn(&str, &str, Option<i32>, &str)) {
    let tmp = tempfile::tempdir().unwrap();
    let root = rootfs(tmp.path());
    for (i, (tool, recipe, needle)) in recipes.iter().enumerate() {
        if peer(tool).is_none() {
            continue;
        }
        let dir = tmp.path().join(format!("case{i}"));
        fs::create_dir_all(&dir).unwrap();
        let out = dir.join("part.bin");
        let o = run(Command::new("sh")
            .arg("-c")
            .arg(recipe)
            .env("ROOT", &root)
            .env("OUT", &out));
        assert!(o.status.success(), "{recipe}");
        let mut image = kernel_prefix();
        image.extend(fs::read(&out).unwrap());
        let (code, text) = gate(&dir, &image, &[]);
        check(recipe, needle, code, &text);
    }
}

fn assert_fails(code: Option<i32>, text: &str, needles: &[&str]) {
    assert_eq!(code, Some(1), "the gate did not fail:\n{text}");
    assert!(!text.contains("gate      PASS"), "{text}");
    for n in needles {
        assert!(text.contains(n), "output does not name {n:?}:\n{text}");
    }
}

fn pad_to(image: &mut Vec<u8>, align: usize) {
    while !image.len().is_multiple_of(align) {
        image.push(0xff);
    }
}

#[test]
fn ext2_root_after_a_kernel_is_extracted_and_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let root = rootfs(tmp.path());
    let img = tmp.path().join("root.ext2");
    let Some(()) = make(
        "mke2fs",
        &[
            "-q".as_ref(),
            "-F".as_ref(),
            "-t".as_ref(),
            "ext2".as_ref(),
            "-d".as_ref(),
            root.as_os_str(),
            img.as_os_str(),
            "1024".as_ref(),
        ],
    ) else {
        return;
    };
    let mut image = kernel_prefix();
    image.extend(fs::read(&img).unwrap());
    let (code, text) = gate(tmp.path(), &image, &[]);
    // ext is extracted now: what the planted root holds is found.
    assert_fails(
        code,
        &text,
        &["FWG-CRED-001", "ext@0x20000/etc/shadow", "FWG-SVC-002"],
    );
}

#[test]
fn flash_roots_after_a_kernel_are_extracted_and_checked() {
    // JFFS2, UBIFS and UBI are extracted: the gate fails on what the root holds (an empty
    // root password), found inside the extracted file system.
    let recipes: &[(&str, &str, &str)] = &[
        ("mkfs.jffs2", "mkfs.jffs2 -l -e 0x10000 -r \"$ROOT\" -o \"$OUT\"", "[jffs2@0x"),
        ("mkfs.jffs2", "mkfs.jffs2 -b -r \"$ROOT\" -o \"$OUT\"", "[jffs2@0x"),
        ("mkfs.ubifs", "mkfs.ubifs -q -r \"$ROOT\" -m 2048 -e 129024 -c 64 -o \"$OUT\"", "[ubifs@0x"),
        (
            "ubinize",
            "mkfs.ubifs -q -r \"$ROOT\" -m 2048 -e 129024 -c 64 -o \"$OUT.ubifs\" && printf '[rootfs]\\nmode=ubi\\nimage=%s\\nvol_id=0\\nvol_type=dynamic\\nvol_name=rootfs\\nvol_flags=autoresize\\n' \"$OUT.ubifs\" > \"$OUT.ini\" && ubinize -o \"$OUT\" -m 2048 -p 128KiB \"$OUT.ini\"",
            "/rootfs.extracted/ubifs@0x0/etc/shadow",
        ),
    ];
    gate_each(recipes, |_, needle, code, text| {
        assert_fails(code, text, &[needle, "empty-password"]);
    });
}

#[test]
fn cramfs_root_after_a_kernel_is_extracted_and_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let root = rootfs(tmp.path());
    let img = tmp.path().join("root.cramfs");
    let Some(()) = make("mkfs.cramfs", &[root.as_os_str(), img.as_os_str()]) else {
        return;
    };
    let mut image = kernel_prefix();
    image.extend(fs::read(&img).unwrap());
    let (code, text) = gate(tmp.path(), &image, &[]);
    // CramFS is extracted now: what the planted root holds is found.
    assert_fails(
        code,
        &text,
        &["FWG-CRED-001", "cramfs@0x20000/etc/shadow", "FWG-SVC-002"],
    );
}

#[test]
fn a_rootfs_tar_gz_is_extracted_and_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let root = rootfs(tmp.path());
    let img = tmp.path().join("rootfs.tar.gz");
    let Some(()) = make(
        "tar",
        &[
            "-C".as_ref(),
            root.as_os_str(),
            "-czf".as_ref(),
            img.as_os_str(),
            ".".as_ref(),
        ],
    ) else {
        return;
    };
    let (code, text) = gate(tmp.path(), &fs::read(&img).unwrap(), &[]);
    // The planted root's empty root password and telnetd -l, found inside gzip and tar.
    assert_fails(code, &text, &["FWG-CRED-001", "FWG-SVC-002", "tar@0x0"]);
    assert!(!text.contains("cannot extract"), "{text}");
}

#[test]
fn a_decoy_squashfs_claiming_the_rest_of_the_image_hides_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = rootfs(tmp.path());
    let decoy_root = tmp.path().join("decoy");
    fs::create_dir_all(decoy_root.join("etc")).unwrap();
    fs::write(decoy_root.join("etc/hostname"), "decoy\n").unwrap();
    let Some(decoy) = squashfs(tmp.path(), &decoy_root, "decoy.sqfs", &[]) else {
        return;
    };
    let real = squashfs(tmp.path(), &root, "real.sqfs", &[]).unwrap();
    let mut image = kernel_prefix();
    let at = image.len();
    image.extend(&decoy);
    pad_to(&mut image, 0x10000);
    image.extend(&real);
    // The decoy's superblock now claims every byte to the end of the image.
    let claimed = (image.len() - at) as u64;
    image[at + 40..at + 48].copy_from_slice(&claimed.to_le_bytes());
    let (code, text) = gate(tmp.path(), &image, &[]);
    assert_fails(code, &text, &["FWG-CRED-001", "FWG-SVC-001"]);
}

/// A gzip member around `payload`: the given header flags and name, then deflate data that
/// starts with `empty` empty stored blocks.
fn gzip(payload: &[u8], name: Option<&[u8]>, empty: usize) -> Vec<u8> {
    let mut out = vec![
        0x1f,
        0x8b,
        0x08,
        if name.is_some() { 0x08 } else { 0 },
        0,
        0,
        0,
        0,
        0,
        3,
    ];
    if let Some(n) = name {
        out.extend_from_slice(n);
        out.push(0);
    }
    for _ in 0..empty {
        // BFINAL=0, BTYPE=00, aligned; LEN=0, NLEN=0xffff.
        out.extend_from_slice(&[0x00, 0x00, 0x00, 0xff, 0xff]);
    }
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(payload).unwrap();
    out.extend(enc.finish().unwrap());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out
}

#[test]
fn a_gzip_stream_that_starts_with_empty_blocks_is_decoded_not_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let root = rootfs(tmp.path());
    let Some(real) = squashfs(tmp.path(), &root, "real.sqfs", &[]) else {
        return;
    };
    // 150 KB of empty stored blocks: more than the probe's dry-run window.
    let gz = gzip(&real, None, 30_000);
    assert!(
        undecided("gzip", &gz),
        "the probe alone should not be able to decide"
    );
    if let Some(gunzip) = peer("gzip") {
        let path = tmp.path().join("t.gz");
        fs::write(&path, &gz).unwrap();
        assert!(run(Command::new(gunzip).arg("-t").arg(&path))
            .status
            .success());
    }
    let mut image = kernel_prefix();
    image.extend(gz);
    let (code, text) = gate(tmp.path(), &image, &[]);
    assert_fails(code, &text, &["FWG-CRED-001"]);
}

#[test]
fn a_gzip_header_with_a_long_name_is_decoded_not_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let root = rootfs(tmp.path());
    let Some(real) = squashfs(tmp.path(), &root, "real.sqfs", &[]) else {
        return;
    };
    let gz = gzip(&real, Some(&[b'n'; 3000]), 0);
    assert!(
        undecided("gzip", &gz),
        "the probe alone should not be able to decide"
    );
    let mut image = kernel_prefix();
    image.extend(gz);
    let (code, text) = gate(tmp.path(), &image, &[]);
    assert_fails(code, &text, &["FWG-CRED-001"]);
}

/// A root SquashFS with uncompressed metadata, so that tests can edit entries in place.
fn plain_squashfs(dir: &Path) -> Option<Vec<u8>> {
    let root = rootfs(dir);
    squashfs(dir, &root, "plain.sqfs", &["-noI", "-noD", "-noF", "-noX"])
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("pattern in the image")
}

#[test]
fn a_directory_entry_typed_as_a_pipe_over_a_file_inode_is_read_as_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(mut fs_img) = plain_squashfs(tmp.path()) else {
        return;
    };
    // The entry for "shadow": type 2 (file), name size 5; the kernel opens the inode.
    let at = find(&fs_img, b"\x02\x00\x05\x00shadow");
    fs_img[at] = 6; // a named pipe
    let mut image = kernel_prefix();
    image.extend(fs_img);
    let (code, text) = gate(tmp.path(), &image, &[]);
    assert_fails(code, &text, &["FWG-CRED-001"]);
}

#[test]
fn an_entry_named_slash_is_a_problem_and_resets_no_path() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(mut fs_img) = plain_squashfs(tmp.path()) else {
        return;
    };
    // "etc/a" is the first entry of /etc; rename it "/".
    let at = find(&fs_img, b"\x02\x00\x00\x00a");
    fs_img[at + 4] = b'/';
    let mut image = kernel_prefix();
    image.extend(fs_img);
    let (code, text) = gate(tmp.path(), &image, &[]);
    // Later entries of /etc still land in etc/: the shadow file is found there.
    assert_fails(
        code,
        &text,
        &["a name containing '/'", "FWG-CRED-001", "/etc/shadow"],
    );
}

#[test]
fn an_oversized_metadata_block_is_a_problem_not_an_allocation() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(mut fs_img) = plain_squashfs(tmp.path()) else {
        return;
    };
    let inode_table = u64::from_le_bytes(fs_img[64..72].try_into().unwrap()) as usize;
    // An uncompressed block claiming 32 KiB: four times the format's limit.
    fs_img[inode_table..inode_table + 2].copy_from_slice(&0xffffu16.to_le_bytes());
    let mut image = kernel_prefix();
    image.extend(fs_img);
    let (code, text) = gate(tmp.path(), &image, &[]);
    assert_fails(code, &text, &["metadata block", "claims 32767 bytes"]);
}

#[test]
fn unknown_bytes_fail_the_gate_until_accepted_by_their_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let mut image = fs::read(sample("clean.bin")).unwrap();
    // Sixteen "encrypted" bytes in the erased-flash padding after the kernel.
    let blob: Vec<u8> = (0u8..16).map(|i| i.wrapping_mul(97) ^ 0x5a).collect();
    image[0x1f000..0x1f010].copy_from_slice(&blob);
    let (code, text) = gate(tmp.path(), &image, &[]);
    assert_fails(code, &text, &["0x1f000", "not explained by any format"]);
    let key = format!(
        "sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&blob))
    );
    assert!(text.contains(&key), "{text}");
    let (code, text) = gate(tmp.path(), &image, &["--accept", &key]);
    assert_eq!(code, Some(0), "{text}");
}

#[test]
fn the_deadline_covers_password_cracking() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    fs::create_dir_all(root.join("etc")).unwrap();
    // bcrypt cost 12, the most expensive cost fwgate tries: ~50 guesses cost seconds each.
    let hash = "$2b$12$abcdefghijklmnopqrstuuOeZ2hQ32AyBh8ZYFFLfYoUxWKOV2GcS";
    for i in 0..10 {
        let dir = root.join(format!("overlay{i}/etc"));
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join("shadow"),
            format!("root:{hash}:19000:0:99999:7:::\n"),
        )
        .unwrap();
    }
    fs::write(
        root.join("etc/shadow"),
        format!("root:{hash}:19000:0:99999:7:::\n"),
    )
    .unwrap();
    let Some(fs_img) = squashfs(tmp.path(), &root, "slow.sqfs", &[]) else {
        return;
    };
    let mut image = kernel_prefix();
    image.extend(fs_img);
    let (code, text) = gate(tmp.path(), &image, &["--timeout", "3"]);
    assert_fails(code, &text, &["deadline (--timeout) was reached"]);
}

#[test]
fn thousands_of_nested_directories_end_by_themselves_with_evidence() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("deep");
    fs::create_dir_all(&root).unwrap();
    // 3 000 levels, deeper than PATH_MAX lets a path name: made one chdir at a time
    // (mksquashfs keeps the first ~2 000).
    let Some(python) = peer("python3") else {
        return;
    };
    let o = run(Command::new(python)
        .arg("-c")
        .arg("import os\nfor i in range(3000):\n    os.mkdir('d'); os.chdir('d')\n")
        .current_dir(&root));
    assert!(o.status.success());
    let Some(fs_img) = squashfs(tmp.path(), &root, "deep.sqfs", &[]) else {
        return;
    };
    let mut image = kernel_prefix();
    image.extend(fs_img);
    let (code, text) = gate(tmp.path(), &image, &[]);
    // What cannot be written out is a problem naming the cause; nothing crashes.
    assert_fails(code, &text, &["PATH_MAX"]);
}

#[test]
fn a_parser_that_crashes_is_a_problem_and_the_rest_is_still_examined() {
    let tmp = tempfile::tempdir().unwrap();
    let image = sample_copy("router.bin", tmp.path());
    let o = run(fwgate()
        .env("FWGATE_WORKER_FAULT", "abort:squashfs")
        .arg("gate")
        .arg(&image)
        .arg("--evidence")
        .arg(tmp.path().join("ev")));
    let text = stdout(&o);
    assert_fails(
        o.status.code(),
        &text,
        &["squashfs at 0x20000", "worker aborted"],
    );
    // The kernel before the crashed container was still unpacked, and evidence written.
    assert!(text.contains("uimage x1"), "{text}");
    assert!(tmp.path().join("ev/ledger.jsonl").exists());
}

#[test]
fn a_parser_that_never_returns_is_stopped_at_the_deadline() {
    let tmp = tempfile::tempdir().unwrap();
    let image = sample_copy("router.bin", tmp.path());
    let o = run(fwgate()
        .env("FWGATE_WORKER_FAULT", "spin:squashfs")
        .arg("gate")
        .arg(&image)
        .args(["--timeout", "2", "--evidence"])
        .arg(tmp.path().join("ev")));
    assert_fails(
        o.status.code(),
        &stdout(&o),
        &["time budget of 2s (--timeout) spent in the squashfs parser at 0x20000"],
    );
    assert!(tmp.path().join("ev/ledger.jsonl").exists());
}

#[test]
fn the_worker_memory_limit_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let image = sample_copy("router.bin", tmp.path());
    // factory-defaults.xz was made with xz -9: decoding it needs a 64 MiB dictionary.
    let o = run(fwgate()
        .arg("gate")
        .arg(&image)
        .args(["--worker-memory-mib", "48", "--evidence"])
        .arg(tmp.path().join("ev")));
    assert_fails(
        o.status.code(),
        &stdout(&o),
        &["factory-defaults.xz", "allocate memory"],
    );
}

/// Each format fwgate recognises but cannot extract yet, made by its real tool around the
/// planted root: the gate must fail and name the format. `sh -c` runs the recipe with $ROOT
/// (the root directory) and $OUT (the file to write); the first word is the tool it needs.
#[test]
fn every_recognised_format_made_by_its_tool_is_named_and_fails() {
    let recipes: &[(&str, &str, &str)] = &[
        ("7z", "7z a -bd -bso0 \"$OUT\" \"$ROOT\"", "7-Zip archive"),
        (
            "genromfs",
            "genromfs -d \"$ROOT\" -f \"$OUT\"",
            "romfs file system",
        ),
        // Archives, ext, EROFS, JFFS2, UBI, UBIFS and every compressed stream are extracted (see the
        // tests above, flash_roots_after_a_kernel_are_extracted_and_checked and
        // tests/formats_*.rs).
    ];
    gate_each(recipes, |_, needle, code, text| {
        assert_fails(code, text, &[needle, "cannot extract"]);
    });
}

/// Each archive format fwgate extracts, made by its real tool around the planted root after
/// a kernel: the gate must fail on what the root holds (its empty root password, telnetd -l),
/// found inside the archive, with nothing left unextracted.
#[test]
fn every_archive_made_by_its_tool_is_extracted_and_checked() {
    let recipes: &[(&str, &str, &str)] = &[
        (
            "cpio",
            "cd \"$ROOT\" && find . | cpio -o -H newc > \"$OUT\" 2>/dev/null",
            "cpio@0x",
        ),
        (
            "cpio",
            "cd \"$ROOT\" && find . | cpio -o -H crc > \"$OUT\" 2>/dev/null",
            "cpio@0x",
        ),
        (
            "cpio",
            "cd \"$ROOT\" && find . | cpio -o -H odc > \"$OUT\" 2>/dev/null",
            "cpio@0x",
        ),
        (
            "cpio",
            "cd \"$ROOT\" && find . | cpio -o -H bin > \"$OUT\" 2>/dev/null",
            "cpio@0x",
        ),
        ("tar", "tar -C \"$ROOT\" -cf \"$OUT\" .", "tar@0x"),
        (
            "tar",
            "tar -C \"$ROOT\" --format=pax -cf \"$OUT\" .",
            "tar@0x",
        ),
        ("zip", "cd \"$ROOT\" && zip -qr \"$OUT\" .", "zip@0x"),
        (
            "zstd",
            "tar -C \"$ROOT\" -cf - . | zstd -q > \"$OUT\"",
            "tar@0x",
        ),
    ];
    gate_each(recipes, |recipe, needle, code, text| {
        assert_fails(code, text, &[needle, "FWG-CRED-001", "FWG-SVC-002"]);
        assert!(!text.contains("cannot extract"), "{recipe}: {text}");
    });
}

fn varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// An xz stream (CRC32 check) of `empty` blocks that decode to nothing, then one LZMA2 block
/// holding `payload`: the xz form of a stream whose first 128 KiB yield no output.
fn xz_with_empty_blocks(payload: &[u8], empty: usize) -> Vec<u8> {
    use liblzma::stream::{Action, Filters, LzmaOptions, Stream};
    let crc = |b: &[u8]| crc32fast::hash(b).to_le_bytes();
    let mut out = vec![0xfd, b'7', b'z', b'X', b'Z', 0, 0, 1];
    out.extend(crc(&[0, 1]));
    // Block header: size byte, flags (one filter), LZMA2 with a dictionary byte, padding.
    let header = |dict: u8| {
        let mut h = vec![2u8, 0x00, 0x21, 0x01, dict, 0, 0, 0];
        let c = crc(&h);
        h.extend(c);
        h
    };
    let mut records = Vec::new();
    for _ in 0..empty {
        out.extend(header(0));
        out.extend([0x00, 0, 0, 0]); // LZMA2 end marker, block padding
        out.extend(crc(&[])); // check of nothing
        records.push((12 + 1 + 4, 0u64));
    }
    let mut lzma2 = Vec::with_capacity(payload.len() + 4096);
    let mut filters = Filters::new();
    filters.lzma2(&LzmaOptions::new_preset(6).unwrap());
    let mut enc = Stream::new_raw_encoder(&filters).unwrap();
    enc.process_vec(payload, &mut lzma2, Action::Finish)
        .unwrap();
    while enc.total_in() < payload.len() as u64 || lzma2.len() == lzma2.capacity() {
        lzma2.reserve(1 << 20);
        enc.process_vec(
            &payload[enc.total_in() as usize..],
            &mut lzma2,
            Action::Finish,
        )
        .unwrap();
    }
    out.extend(header(22)); // 8 MiB dictionary, preset 6's
    out.extend(&lzma2);
    out.extend(std::iter::repeat_n(0u8, (4 - lzma2.len() % 4) % 4));
    out.extend(crc(payload));
    records.push((12 + lzma2.len() as u64 + 4, payload.len() as u64));
    let mut index = vec![0u8];
    varint(records.len() as u64, &mut index);
    for (unpadded, size) in &records {
        varint(*unpadded, &mut index);
        varint(*size, &mut index);
    }
    while index.len() % 4 != 0 {
        index.push(0);
    }
    let c = crc(&index);
    index.extend(c);
    out.extend(&index);
    let mut footer_body = ((index.len() / 4 - 1) as u32).to_le_bytes().to_vec();
    footer_body.extend([0, 1]);
    out.extend(crc(&footer_body));
    out.extend(footer_body);
    out.extend(b"YZ");
    out
}

#[test]
fn an_xz_stream_that_starts_with_empty_blocks_is_decoded_not_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let root = rootfs(tmp.path());
    let Some(real) = squashfs(tmp.path(), &root, "real.sqfs", &[]) else {
        return;
    };
    // 8 000 empty blocks of 20 bytes: 160 KB before the first byte of output.
    let xz = xz_with_empty_blocks(&real, 8_000);
    assert!(
        undecided("xz", &xz),
        "the probe alone should not be able to decide"
    );
    if let Some(xz_tool) = peer("xz") {
        let path = tmp.path().join("t.xz");
        fs::write(&path, &xz).unwrap();
        assert!(run(Command::new(xz_tool).arg("-t").arg(&path))
            .status
            .success());
    }
    let mut image = kernel_prefix();
    image.extend(xz);
    let (code, text) = gate(tmp.path(), &image, &[]);
    assert_fails(code, &text, &["FWG-CRED-001"]);
}

#[test]
fn a_kernel_banner_does_not_make_flash_bytes_a_leaf() {
    let tmp = tempfile::tempdir().unwrap();
    // An uncompressed "kernel" whose payload is a banner and then bytes nothing explains (an
    // unknown file system a partition table could point at).
    let mut payload = b"Linux version 5.10.0 (builder@acme) (gcc 10.2)\n".to_vec();
    payload.extend((0..65_536u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8));
    let data = tmp.path().join("payload");
    fs::write(&data, &payload).unwrap();
    let out = tmp.path().join("uImage");
    let Some(()) = make(
        "mkimage",
        &[
            "-A".as_ref(),
            "arm".as_ref(),
            "-O".as_ref(),
            "linux".as_ref(),
            "-T".as_ref(),
            "kernel".as_ref(),
            "-C".as_ref(),
            "none".as_ref(),
            "-a".as_ref(),
            "0x80008000".as_ref(),
            "-e".as_ref(),
            "0x80008000".as_ref(),
            "-n".as_ref(),
            "k".as_ref(),
            "-d".as_ref(),
            data.as_os_str(),
            out.as_os_str(),
        ],
    ) else {
        return;
    };
    let (code, text) = gate(tmp.path(), &fs::read(&out).unwrap(), &[]);
    assert_fails(code, &text, &["not explained by any format"]);
}
