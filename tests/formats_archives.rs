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

#[test]
fn zip_samples_match_unzip() {
    for name in ["deflate.zip", "stored.zip", "zip64.zip"] {
        let Some(n) = differential(name, "zip@0x0", "unzip", &["-q", "-K", "-X", "{}"]) else {
            return;
        };
        assert!(n >= 24, "{name}: {n} paths");
        let tmp = tempfile::tempdir().unwrap();
        let tree = ours(&sample(name), tmp.path());
        let link = tree
            .nodes
            .iter()
            .find(|n| n.path == "zip@0x0/bin/rcS-rel")
            .unwrap();
        assert_eq!(link.kind, NodeKind::Symlink, "{name}: zip -y stores links");
        let suid = tree
            .nodes
            .iter()
            .find(|n| n.path == "zip@0x0/bin/suid-helper")
            .unwrap();
        assert_eq!(suid.mode, 0o4755, "{name}");
        let cgi = tree
            .nodes
            .iter()
            .find(|n| n.path == "zip@0x0/www/cgi-bin/status.cgi")
            .unwrap();
        assert_eq!(
            (cgi.uid, cgi.gid),
            (Some(1000), Some(1000)),
            "{name}: ux extra field"
        );
    }
}

// ---- crafted zip archives -------------------------------------------------------------

/// One zip entry to craft: the name in both headers, the stored bytes, the method, the
/// uncompressed size and CRC, the Unix mode and general-purpose flags.
#[derive(Clone)]
struct ZipEntry {
    name: String,
    local_name: Option<String>,
    data: Vec<u8>,
    method: u16,
    size: u32,
    crc: u32,
    mode: u32,
    flags: u16,
    /// Bytes no record describes, written before the local header.
    before: Vec<u8>,
}

fn zentry(name: &str, content: &[u8]) -> ZipEntry {
    ZipEntry {
        name: name.into(),
        local_name: None,
        data: content.to_vec(),
        method: 0,
        size: content.len() as u32,
        crc: crc32fast::hash(content),
        mode: 0o100644,
        flags: 0,
        before: Vec::new(),
    }
}

fn deflated(name: &str, content: &[u8]) -> ZipEntry {
    use std::io::Write;
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(content).unwrap();
    ZipEntry {
        data: e.finish().unwrap(),
        method: 8,
        ..zentry(name, content)
    }
}

/// Local headers and data, then a central directory whose records point at `offsets`
/// (`None`: at each entry's own local header), then the end record with `comment`.
fn zip_bytes(entries: &[ZipEntry], cd: &[(usize, Option<u32>)], comment: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    let mut locals = Vec::new();
    for e in entries {
        v.extend_from_slice(&e.before);
        locals.push(v.len() as u32);
        let name = e.local_name.as_deref().unwrap_or(&e.name);
        v.extend_from_slice(b"PK\x03\x04");
        v.extend_from_slice(&20u16.to_le_bytes());
        v.extend_from_slice(&e.flags.to_le_bytes());
        v.extend_from_slice(&e.method.to_le_bytes());
        v.extend_from_slice(&[0u8; 4]);
        v.extend_from_slice(&e.crc.to_le_bytes());
        v.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
        v.extend_from_slice(&e.size.to_le_bytes());
        v.extend_from_slice(&(name.len() as u16).to_le_bytes());
        v.extend_from_slice(&0u16.to_le_bytes());
        v.extend_from_slice(name.as_bytes());
        v.extend_from_slice(&e.data);
    }
    let cd_at = v.len() as u32;
    for &(i, at) in cd {
        let e = &entries[i];
        v.extend_from_slice(b"PK\x01\x02");
        v.extend_from_slice(&0x031eu16.to_le_bytes()); // made on Unix
        v.extend_from_slice(&20u16.to_le_bytes());
        v.extend_from_slice(&e.flags.to_le_bytes());
        v.extend_from_slice(&e.method.to_le_bytes());
        v.extend_from_slice(&[0u8; 4]);
        v.extend_from_slice(&e.crc.to_le_bytes());
        v.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
        v.extend_from_slice(&e.size.to_le_bytes());
        v.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
        v.extend_from_slice(&[0u8; 8]); // extra, comment, disk, internal attributes
        v.extend_from_slice(&(e.mode << 16).to_le_bytes());
        v.extend_from_slice(&at.unwrap_or(locals[i]).to_le_bytes());
        v.extend_from_slice(e.name.as_bytes());
    }
    let cd_size = v.len() as u32 - cd_at;
    v.extend_from_slice(b"PK\x05\x06\0\0\0\0");
    v.extend_from_slice(&(cd.len() as u16).to_le_bytes());
    v.extend_from_slice(&(cd.len() as u16).to_le_bytes());
    v.extend_from_slice(&cd_size.to_le_bytes());
    v.extend_from_slice(&cd_at.to_le_bytes());
    v.extend_from_slice(&(comment.len() as u16).to_le_bytes());
    v.extend_from_slice(comment);
    v
}

fn zip_of(entries: &[ZipEntry]) -> Vec<u8> {
    let cd: Vec<_> = (0..entries.len()).map(|i| (i, None)).collect();
    zip_bytes(entries, &cd, b"")
}

#[test]
fn zip_crafted_entries_are_read_from_the_central_directory() {
    // The builder itself: a plain archive extracts with no problem.
    let (_tmp, tree) = unpack_bytes(&zip_of(&[
        zentry("a.txt", b"a\n"),
        deflated("b.txt", b"bbbb\n"),
    ]));
    assert!(tree.problems.is_empty(), "{:#?}", tree.problems);
    assert_eq!(inner_paths(&tree), ["/a.txt", "/b.txt"]);
}

#[test]
fn zip_traversal_and_link_escapes_are_refused_and_the_rest_kept() {
    let m = marker("zip");
    let link = ZipEntry {
        mode: 0o120777,
        ..zentry("dir", b"/tmp")
    };
    let up = ZipEntry {
        mode: 0o120777,
        ..zentry("up", b"..")
    };
    let (tmp, tree) = unpack_bytes(&zip_of(&[
        zentry("ok.txt", b"ok\n"),
        zentry("../../escape", b"evil\n"),
        zentry("/abs/escape", b"evil\n"),
        link,
        zentry(&format!("dir/{m}"), b"evil\n"),
        up,
        zentry(&format!("up/{m}"), b"evil\n"),
        zentry("after.txt", b"after\n"),
    ]));
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
fn zip_bomb_is_stopped_by_the_expansion_limit() {
    let bomb = deflated("bomb.bin", &vec![0u8; 8 << 20]);
    let bytes = zip_of(&[zentry("first.txt", b"first\n"), bomb]);
    assert!(bytes.len() < 16 * 1024, "{} bytes", bytes.len());
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("bomb.zip");
    fs::write(&path, &bytes).unwrap();
    let limits = Limits {
        max_ratio: 50,
        ..Limits::default()
    };
    let tree = unpack(&path, &tmp.path().join("out"), limits).unwrap();
    assert!(
        has_problem(&tree, "expands more than 50x"),
        "{:#?}",
        tree.problems
    );
    let written: u64 = tree.nodes.iter().map(|n| n.size).sum();
    assert!(
        written <= 50 * bytes.len().max(4096) as u64,
        "{written} bytes written"
    );
    assert!(inner_paths(&tree).contains(&"/first.txt".to_string()));
}

#[test]
fn overlapping_zip_entries_are_reported() {
    // Fifield's non-recursive bomb: many central records, one local entry's data.
    let e = deflated("shared.bin", &vec![b'x'; 100_000]);
    let cd = [(0, Some(0)), (0, Some(0)), (0, Some(0))];
    let mut entries = vec![e.clone()];
    entries[0].name = "shared.bin".into();
    let bytes = zip_bytes(&entries, &cd, b"");
    let (_tmp, tree) = unpack_bytes(&bytes);
    assert!(has_problem(&tree, "overlap"), "{:#?}", tree.problems);
    let copies = tree.nodes.iter().filter(|n| n.size == 100_000).count();
    assert_eq!(copies, 1, "the shared bytes are extracted once");
}

#[test]
fn zip_local_header_disagreeing_with_the_directory_is_reported() {
    let liar = ZipEntry {
        local_name: Some("innocent.txt".into()),
        ..zentry("etc/shadow", b"root::0:0:::\n")
    };
    let (_tmp, tree) = unpack_bytes(&zip_of(&[liar, zentry("b.txt", b"b\n")]));
    assert!(
        has_problem(&tree, "disagrees with the central directory"),
        "{:#?}",
        tree.problems
    );
    assert!(has_problem(&tree, "innocent.txt"), "{:#?}", tree.problems);
    assert!(inner_paths(&tree).contains(&"/etc/shadow".to_string()));
    assert!(inner_paths(&tree).contains(&"/b.txt".to_string()));
}

#[test]
fn encrypted_and_unsupported_zip_entries_are_problems_naming_them() {
    let secret = ZipEntry {
        flags: 1,
        ..zentry("secret.bin", b"\x01\x02\x03 encrypted bytes")
    };
    let bz = ZipEntry {
        method: 12,
        ..zentry("packed.bz2", b"BZh91AY&SY not really")
    };
    let (_tmp, tree) = unpack_bytes(&zip_of(&[secret, bz, zentry("plain.txt", b"plain\n")]));
    assert!(
        tree.problems
            .iter()
            .any(|p| p.message.contains("secret.bin") && p.message.contains("encrypted")),
        "{:#?}",
        tree.problems
    );
    assert!(
        tree.problems
            .iter()
            .any(|p| p.message.contains("packed.bz2") && p.message.contains("bzip2")),
        "{:#?}",
        tree.problems
    );
    assert!(inner_paths(&tree).contains(&"/plain.txt".to_string()));
}

#[test]
fn zip_comment_and_hidden_bytes_between_entries_stay_accounted() {
    let a = zentry("a.txt", b"a\n");
    let hidden_at = 30 + a.name.len() + a.data.len();
    let b = ZipEntry {
        before: vec![0x5a; 64],
        ..zentry("b.txt", b"b\n")
    };
    let comment = b"vendor build 1234 secret=hunter2";
    let fixed = zip_bytes(&[a, b], &[(0, None), (1, None)], comment);
    let (_tmp, tree) = unpack_bytes(&fixed);
    assert_eq!(
        inner_paths(&tree),
        ["/a.txt", "/b.txt"],
        "{:#?}",
        tree.problems
    );
    let comment_at = (fixed.len() - comment.len()) as u64;
    let covered_by_other = |at: u64| {
        tree.regions.iter().any(|r| {
            r.file.is_empty()
                && r.offset <= at
                && at < r.offset + r.length
                && !matches!(r.kind, fwgate_unpack::RegionKind::Container { .. })
        })
    };
    assert!(
        covered_by_other(comment_at),
        "comment not carved: {:#?}",
        tree.regions
    );
    assert!(
        covered_by_other(hidden_at as u64),
        "hidden bytes not carved: {:#?}",
        tree.regions
    );
}

/// The same entry in the crc variant (`070702`), with `check` as its checksum.
fn as_crc(mut entry: Vec<u8>, check: u32) -> Vec<u8> {
    entry[..6].copy_from_slice(b"070702");
    entry[102..110].copy_from_slice(format!("{check:08x}").as_bytes());
    entry
}

#[test]
fn cpio_crc_checksums_are_checked() {
    let data = b"checked data\n";
    let sum = data.iter().map(|&b| u32::from(b)).sum::<u32>();
    let trailer = as_crc(newc("TRAILER!!!", 0, b"", 0, 1, None), 0);
    let mut good = as_crc(newc("good.txt", 0o100644, data, 1, 1, None), sum);
    good.extend_from_slice(&trailer);
    let (_tmp, tree) = unpack_bytes(&good);
    assert!(tree.problems.is_empty(), "{:#?}", tree.problems);
    assert_eq!(inner_paths(&tree), ["/good.txt"]);
    let mut bad = as_crc(newc("bad.txt", 0o100644, data, 1, 1, None), sum + 1);
    bad.extend_from_slice(&trailer);
    let (_tmp, tree) = unpack_bytes(&bad);
    assert!(
        tree.problems
            .iter()
            .any(|p| p.message.contains("bad.txt") && p.message.contains("checksum")),
        "{:#?}",
        tree.problems
    );
}

#[test]
fn tar_pax_records_override_the_header() {
    // A pax header giving the size, the owner and a long path of the next entry, whose own
    // header says size 0: the data is the pax size's (as GNU tar reads it).
    let path = format!("deep/{}", "p".repeat(150));
    let recs = [
        "size=5".to_string(),
        "uid=4000000".to_string(),
        "gid=42".to_string(),
        format!("path={path}"),
    ];
    let mut pax = String::new();
    for r in recs {
        // The length counts itself, the space, the record and the newline.
        let mut n = r.len() + 3;
        while format!("{n} {r}\n").len() != n {
            n += 1;
        }
        pax.push_str(&format!("{n} {r}\n"));
    }
    let mut v = tar_entry("PaxHeaders/x", b'x', pax.as_bytes(), "");
    let mut file = tar_header("short", b'0', 0, "");
    file.extend_from_slice(b"12345");
    file.resize(1024, 0);
    v.extend(file);
    v.extend(tar_entry("after.txt", b'0', b"after\n", ""));
    let (_tmp, tree) = unpack_bytes(&tar_end(v));
    assert!(tree.problems.is_empty(), "{:#?}", tree.problems);
    let n = tree
        .nodes
        .iter()
        .find(|n| n.origin.inner_path == format!("/{path}"))
        .unwrap_or_else(|| panic!("{:?}", inner_paths(&tree)));
    assert_eq!(fs::read(tree.path_of(n)).unwrap(), b"12345");
    assert_eq!((n.uid, n.gid), (Some(4_000_000), Some(42)));
    assert!(inner_paths(&tree).contains(&"/after.txt".to_string()));
}

#[test]
fn zip_after_other_data_is_extracted_and_the_prefix_carved() {
    let mut bytes = vec![0x11u8; 3000];
    bytes.extend(zip_of(&[zentry("a.txt", b"a\n")]));
    let (_tmp, tree) = unpack_bytes(&bytes);
    let a = tree
        .nodes
        .iter()
        .find(|n| n.origin.inner_path == "/a.txt")
        .expect("the archive after the prefix is extracted");
    assert_eq!(a.path, "zip@0xbb8/a.txt");
    assert!(tree
        .regions
        .iter()
        .any(|r| r.file.is_empty() && r.offset == 0 && r.length == 3000));
}

/// Offsets of the metadata in `data`: the headers each format's magic marks.
fn header_offsets(data: &[u8], magic: &[u8], back: usize) -> Vec<usize> {
    data.windows(magic.len())
        .enumerate()
        .filter(|(_, w)| *w == magic)
        .filter_map(|(i, _)| i.checked_sub(back))
        .collect()
}

/// Runs a reference extractor on a mutated archive in `dir`; whether it succeeded.
fn reference_run(tool: &str, args: &[&str], dir: &Path) -> bool {
    fs::create_dir_all(dir).unwrap();
    std::process::Command::new("timeout")
        .arg("20")
        .arg(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
        .status
        .success()
}

/// A sample to mutate: its name, base, header magic, the magic's offset in the header, the
/// header's length, the reference tool and its arguments.
type Case<'a> = (
    &'a str,
    &'a str,
    &'a [u8],
    usize,
    usize,
    &'a str,
    &'a [&'a str],
);

/// Byte mutations of one sample's headers: wherever fwgate reports no problem, the reference
/// tool must succeed and extract exactly what fwgate extracted. fwgate may never diverge
/// silently.
#[test]
fn mutated_archive_headers_never_diverge_silently_from_the_reference_tools() {
    let tar: &[&str] = &["--numeric-owner", "-xf", "{}"];
    let cpio: &[&str] = &["-idm", "--quiet", "--no-absolute-filenames", "-F", "{}"];
    let unzip: &[&str] = &["-q", "-K", "-X", "{}"];
    let cases: &[Case] = &[
        ("ustar.tar", "tar@0x0", b"ustar\0", 257, 512, "tar", tar),
        ("gnu.tar", "tar@0x0", b"ustar  \0", 257, 512, "tar", tar),
        ("pax.tar", "tar@0x0", b"ustar\0", 257, 512, "tar", tar),
        ("newc.cpio", "cpio@0x0", b"070701", 0, 110, "cpio", cpio),
        ("crc.cpio", "cpio@0x0", b"070702", 0, 110, "cpio", cpio),
        ("odc.cpio", "cpio@0x0", b"070707", 0, 76, "cpio", cpio),
        ("bin.cpio", "cpio@0x0", &[0xc7, 0x71], 0, 26, "cpio", cpio),
        (
            "deflate.zip",
            "zip@0x0",
            b"PK\x01\x02",
            0,
            46,
            "unzip",
            unzip,
        ),
        (
            "stored.zip",
            "zip@0x0",
            b"PK\x03\x04",
            0,
            30,
            "unzip",
            unzip,
        ),
        ("zip64.zip", "zip@0x0", b"PK\x01\x02", 0, 46, "unzip", unzip),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let mut summary = Vec::new();
    // FWGATE_MUTATIONS=N explores more (outside CI).
    let count: usize = std::env::var("FWGATE_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    for &(name, base, magic, back, span, tool, args) in cases {
        if common::peer(tool).is_none() {
            return;
        }
        let seed = fs::read(sample(name)).unwrap();
        let heads = header_offsets(&seed, magic, back);
        assert!(heads.len() > 10, "{name}");
        let (mut agreed, mut reported) = (0, 0);
        for n in 0..count {
            let head = heads[n * 7 % heads.len()];
            let at = head + (n * 37 + n / 3) % span;
            let mut m = seed.clone();
            m[at] ^= [0x01, 0x20, 0x08, 0x40][n % 4];
            if tool == "tar" && n % 2 == 0 {
                // Half the tar mutations get a valid checksum again, so that what the header
                // says, not its checksum, is compared.
                let h = &mut m[head..head + 512];
                h[148..156].fill(b' ');
                let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
                h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
            }
            let dir = tmp.path().join(format!("{name}-{n}"));
            fs::create_dir_all(&dir).unwrap();
            let path = dir.join(name);
            fs::write(&path, &m).unwrap();
            let tree = ours(&path, &dir);
            let p = path.to_str().unwrap();
            let args: Vec<&str> = args
                .iter()
                .map(|a| if *a == "{}" { p } else { a })
                .collect();
            let theirs = dir.join("ref");
            let ok = reference_run(tool, &args, &theirs);
            if !tree.problems.is_empty() {
                reported += 1;
                continue;
            }
            let files = common::fidelity::extracted(&tree, base).files;
            let listing = common::fidelity::listing(&theirs);
            let differ: Vec<_> = files
                .keys()
                .chain(listing.keys())
                .filter(|k| files.get(*k) != listing.get(*k))
                // A directory the archive does not list but a member's path implies: both
                // create it; only members are nodes in fwgate's manifest.
                .filter(|k| {
                    !(!files.contains_key(*k)
                        && listing.get(*k).map(String::as_str) == Some("dir")
                        && files.keys().any(|f| f.starts_with(&format!("{k}/"))))
                })
                .map(|k| {
                    format!(
                        "{k}: fwgate {:?}, {tool} {:?}",
                        files.get(k),
                        listing.get(k)
                    )
                })
                .collect();
            if !ok || !differ.is_empty() {
                fs::write("/tmp/fwgate-divergent-archive", &m).unwrap();
            }
            assert!(ok, "{name} mutated at {at:#x}: fwgate saw no problem, {tool} failed (in /tmp/fwgate-divergent-archive)");
            assert!(
                differ.is_empty(),
                "{name} mutated at {at:#x} (in /tmp/fwgate-divergent-archive): {differ:#?}"
            );
            agreed += 1;
        }
        summary.push(format!("{name}: {agreed} agreed, {reported} reported"));
        // The mutations reach both outcomes, so the comparison above is exercised.
        assert!(
            reported > 0 && agreed > 0,
            "{name}: {agreed} agreed, {reported} reported"
        );
    }
    eprintln!("{summary:?}");
}

#[test]
fn members_under_or_over_a_device_are_problems() {
    // A device cannot hold files, nor can a second member take its name silently.
    let mut c = newc("dev", 0o040755, b"", 1, 2, None);
    c.extend(newc("dev/sda", 0o060660, b"", 2, 1, None));
    c.extend(newc("dev/sda/evil", 0o100644, b"x\n", 3, 1, None));
    c.extend(newc("dev/sda", 0o100644, b"shadowed\n", 4, 1, None));
    c.extend(newc("ok", 0o100644, b"ok\n", 5, 1, None));
    let (_tmp, tree) = unpack_bytes(&cpio_end(c));
    assert!(
        has_problem(&tree, "dev/sda/evil: dev/sda is a device"),
        "{:#?}",
        tree.problems
    );
    assert!(
        has_problem(&tree, "dev/sda: a second member"),
        "{:#?}",
        tree.problems
    );
    assert!(inner_paths(&tree).contains(&"/ok".to_string()));
    let mut t = tar_entry("fifo", b'6', b"", "");
    t.extend(tar_entry("fifo/x", b'0', b"x\n", ""));
    let (_tmp, tree) = unpack_bytes(&tar_end(t));
    assert!(
        has_problem(&tree, "fifo/x: fifo is a device"),
        "{:#?}",
        tree.problems
    );
}
