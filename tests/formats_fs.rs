//! Differential and hostile-input tests of the ext2/3/4, CramFS and EROFS handlers: each committed sample in
//! firmware-samples/formats/ is extracted by fwgate and by the format's reference tool and
//! compared by sha256; crafted samples must be refused or reported, never extracted outside
//! the output directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::fidelity::{assert_same_tree, extracted, listing, modes, reference};
use fwgate_unpack::{unpack, Limits, NodeKind, Tree};

fn sample(name: &str) -> PathBuf {
    common::sample(&format!("formats/{name}"))
}

/// Unpacks `image` into `dir/out`.
fn unpack_into(image: &Path, dir: &Path) -> Tree {
    unpack(image, &dir.join("out"), Limits::default()).unwrap()
}

fn problems(tree: &Tree) -> String {
    tree.problems
        .iter()
        .map(|p| p.message.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

// --- ext2/3/4 against debugfs ---------------------------------------------------------------

/// What `debugfs -R "stat PATH"` says of one inode: its number, mode (with set-id bits),
/// owner and, for a device, its number.
#[derive(Debug, PartialEq, Eq)]
struct Stat {
    inode: u64,
    mode: u32,
    owner: String,
    device: Option<(u32, u32)>,
    size: u64,
    inline: bool,
}

fn debugfs_stat(debugfs: &Path, image: &Path, path: &str) -> Stat {
    let o = Command::new(debugfs)
        .arg("-R")
        .arg(format!("stat \"{path}\""))
        .arg(image)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let field = |name: &str| -> Option<String> {
        let at = text.find(name)? + name.len();
        text[at..].split_whitespace().next().map(str::to_string)
    };
    let device = field("Device major/minor number:").map(|d| {
        let (a, b) = d.split_once(':').unwrap();
        (a.parse().unwrap(), b.parse().unwrap())
    });
    Stat {
        inode: field("Inode:")
            .unwrap_or_else(|| panic!("{path}: {text}"))
            .parse()
            .unwrap(),
        mode: u32::from_str_radix(&field("Mode:").unwrap(), 8).unwrap(),
        owner: format!("{}:{}", field("User:").unwrap(), field("Group:").unwrap()),
        device,
        size: field("Size:").unwrap().parse().unwrap(),
        inline: text.contains("Size of inline data"),
    }
}

/// Compares fwgate's extraction of an ext image with debugfs: contents, types and link
/// targets with `rdump` (which makes no device nodes and drops set-id bits), then every
/// node's mode, owner, device number and inode (hard links) with `stat`.
fn ext_matches_debugfs(name: &str) {
    ext_image_matches_debugfs(&sample(name), name);
}

fn ext_image_matches_debugfs(image: &Path, name: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let image = image.to_path_buf();
    let tree = unpack_into(&image, tmp.path());
    assert!(tree.is_complete(), "{name}: {}", problems(&tree));
    let base = "ext@0x0";
    let rd = tmp.path().join("rdump");
    fs::create_dir_all(&rd).unwrap();
    let Some(()) = reference(
        "debugfs",
        &[
            "-R",
            &format!("rdump / {}", rd.display()),
            image.to_str().unwrap(),
        ],
        tmp.path(),
    ) else {
        return;
    };
    let debugfs = common::peer("debugfs").unwrap();
    // debugfs 1.47 dumps an inline-data file as its whole inline area (60 bytes and more),
    // not the i_size bytes the kernel serves: cut its copy to the size `stat` gives.
    for n in tree.nodes.iter().filter(|n| n.kind == NodeKind::File) {
        let st = debugfs_stat(&debugfs, &image, &n.origin.inner_path);
        let copy = rd.join(n.origin.inner_path.trim_start_matches('/'));
        if st.inline && fs::metadata(&copy).unwrap().len() > st.size {
            fs::OpenOptions::new()
                .write(true)
                .open(&copy)
                .unwrap()
                .set_len(st.size)
                .unwrap();
        }
    }
    let ours = extracted(&tree, base);
    let theirs = listing(&rd);
    let files: BTreeMap<_, _> = ours
        .files
        .iter()
        .filter(|(_, v)| *v != "special")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(files, theirs, "{name}: contents, types and link targets");
    assert!(files.len() >= 20, "{name}: only {} entries", files.len());

    let mut inodes: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut specials = 0;
    for n in &tree.nodes {
        let Some(rel) = n.path.strip_prefix(base).and_then(|r| r.strip_prefix('/')) else {
            continue;
        };
        let st = debugfs_stat(&debugfs, &image, &n.origin.inner_path);
        if n.kind != NodeKind::Symlink {
            assert_eq!(n.mode, st.mode, "{name}: mode of {rel}");
        }
        assert_eq!(
            format!("{}:{}", n.uid.unwrap(), n.gid.unwrap()),
            st.owner,
            "{name}: owner of {rel}"
        );
        if n.kind == NodeKind::Special {
            specials += 1;
            let d = n.device.unwrap();
            if let Some(dev) = st.device {
                assert_eq!((d.major, d.minor), dev, "{name}: device {rel}");
            }
        }
        if n.kind == NodeKind::File {
            inodes.entry(st.inode).or_default().push(rel.to_string());
            let first = n.hardlink.clone().unwrap_or_else(|| n.path.clone());
            groups.entry(first).or_default().push(rel.to_string());
        }
    }
    let mut a: Vec<_> = inodes.into_values().collect();
    let mut b: Vec<_> = groups.into_values().collect();
    a.sort();
    b.sort();
    assert_eq!(a, b, "{name}: hard links (files sharing an inode)");
    assert!(a.iter().any(|g| g.len() == 2), "{name}: no hard link seen");
    if common::fidelity::is_root() {
        assert_eq!(specials, 3, "{name}: the device nodes and the fifo");
    }
}

#[test]
fn ext2_matches_debugfs() {
    ext_matches_debugfs("ext2.img");
}

#[test]
fn ext2_by_genext2fs_matches_debugfs() {
    ext_matches_debugfs("ext2-genext2fs.img");
}

#[test]
fn ext3_matches_debugfs() {
    ext_matches_debugfs("ext3.img");
}

#[test]
fn ext4_matches_debugfs() {
    ext_matches_debugfs("ext4.img");
}

/// A tree that exercises the ext layouts: a directory of 300 entries (an htree), a file that
/// needs double-indirect blocks at 1 KiB, a sparse file, a slow symlink, owners above 65535,
/// a device number in the new encoding, set-id bits, a hard link.
fn ext_rich_tree(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(root.join("many")).unwrap();
    fs::create_dir_all(root.join("dev")).unwrap();
    fs::create_dir_all(root.join("etc")).unwrap();
    for i in 0..300 {
        fs::write(
            root.join(format!("many/entry-with-a-longish-name-{i:03}")),
            format!("{i}\n"),
        )
        .unwrap();
    }
    let big: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    fs::write(root.join("big"), &big).unwrap();
    let sparse = fs::File::create(root.join("sparse")).unwrap();
    sparse.set_len(1 << 20).unwrap();
    drop(sparse);
    fs::OpenOptions::new()
        .append(true)
        .open(root.join("sparse"))
        .map(|mut f| std::io::Write::write_all(&mut f, b"tail\n"))
        .unwrap()
        .unwrap();
    std::os::unix::fs::symlink("a/".repeat(50) + "target", root.join("slow-link")).unwrap();
    fs::write(root.join("etc/shadow"), "root::19000:0:99999:7:::\n").unwrap();
    fs::hard_link(root.join("etc/shadow"), root.join("etc/shadow.bak")).unwrap();
    fs::write(root.join("suid"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(root.join("suid"), fs::Permissions::from_mode(0o4755)).unwrap();
    if common::fidelity::is_root() {
        std::os::unix::fs::chown(root.join("big"), Some(70_000), Some(70_001)).unwrap();
        for (name, kind, major, minor) in [
            ("console", "c", 5, 1),
            ("wide", "c", 300, 70_000),
            ("mtd", "b", 31, 0),
        ] {
            let o = Command::new("mknod")
                .arg(root.join("dev").join(name))
                .args([kind, &major.to_string(), &minor.to_string()])
                .status()
                .unwrap();
            assert!(o.success());
        }
    }
}

/// mke2fs and genext2fs images of the rich tree, in several layouts, against debugfs.
#[test]
fn ext_layouts_made_by_mke2fs_and_genext2fs_match_debugfs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    ext_rich_tree(&root);
    let r = root.to_str().unwrap();
    let cases: &[(&str, &[&str])] = &[
        (
            "mke2fs",
            &["-t", "ext2", "-b", "1024", "-d", r, "IMG", "8192"],
        ),
        (
            "mke2fs",
            &[
                "-t",
                "ext2",
                "-b",
                "4096",
                "-O",
                "^dir_index",
                "-d",
                r,
                "IMG",
                "2048",
            ],
        ),
        (
            "mke2fs",
            &["-t", "ext3", "-b", "4096", "-d", r, "IMG", "4096"],
        ),
        ("mke2fs", &["-t", "ext4", "-d", r, "IMG", "4096"]),
        (
            "mke2fs",
            &[
                "-t",
                "ext4",
                "-b",
                "1024",
                "-O",
                "inline_data,^has_journal",
                "-I",
                "512",
                "-d",
                r,
                "IMG",
                "8192",
            ],
        ),
        (
            "mke2fs",
            &[
                "-t",
                "ext4",
                "-b",
                "2048",
                "-O",
                "^64bit,^flex_bg,^metadata_csum",
                "-d",
                r,
                "IMG",
                "4096",
            ],
        ),
        ("genext2fs", &["-b", "4096", "-N", "512", "-d", r, "IMG"]),
    ];
    for (i, (tool, args)) in cases.iter().enumerate() {
        let Some(exe) = common::peer(tool) else {
            return;
        };
        let img = tmp.path().join(format!("case{i}.img"));
        let args: Vec<&str> = args
            .iter()
            .map(|a| {
                if *a == "IMG" {
                    img.to_str().unwrap()
                } else {
                    a
                }
            })
            .collect();
        let mut cmd = Command::new(exe);
        if *tool == "mke2fs" {
            cmd.args(["-q", "-F"]);
        }
        let o = cmd.args(&args).output().unwrap();
        assert!(
            o.status.success(),
            "{tool} {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        ext_image_matches_debugfs(&img, &format!("{tool} {args:?}"));
    }
}

/// The samples divide into the file system and zero padding (its free blocks), nothing
/// unknown: the used ranges leave only free blocks to the engine.
#[test]
fn ext_free_blocks_are_padding_and_nothing_else() {
    for name in ["ext2.img", "ext3.img", "ext4.img", "ext2-genext2fs.img"] {
        let tmp = tempfile::tempdir().unwrap();
        let tree = unpack_into(&sample(name), tmp.path());
        let kinds: Vec<String> = tree
            .regions
            .iter()
            .filter(|r| r.file.is_empty())
            .map(|r| format!("{:?}", r.kind))
            .collect();
        assert!(
            kinds.iter().any(|k| k.contains("Padding")),
            "{name}: {kinds:?}"
        );
        assert!(
            kinds
                .iter()
                .all(|k| k.contains("Padding") || k.contains("Container")),
            "{name}: {kinds:?}"
        );
    }
}

// --- CramFS against fsck.cramfs -------------------------------------------------------------

fn cramfs_matches_fsck(name: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let image = sample(name);
    let tree = unpack_into(&image, tmp.path());
    assert!(tree.is_complete(), "{name}: {}", problems(&tree));
    let x = tmp.path().join("x");
    let Some(()) = reference(
        "fsck.cramfs",
        &[
            &format!("--extract={}", x.display()),
            image.to_str().unwrap(),
        ],
        tmp.path(),
    ) else {
        return;
    };
    assert_same_tree(&tree, "cramfs@0x0", &x, name);
    let ours = extracted(&tree, "cramfs@0x0");
    assert!(ours.files.len() >= 20, "{name}: {}", ours.files.len());
    // The 8-bit gid: 1000 is stored as 232.
    assert_eq!(ours.owners["www/cgi-bin/status.cgi"], "1000:232");
}

/// mkfs.cramfs (both byte orders) and mkfs.erofs images of the rich tree against their
/// reference extractors: many entries, a large file, a sparse file, a slow symlink.
#[test]
fn cramfs_and_erofs_of_a_rich_tree_match_their_tools() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    ext_rich_tree(&root);
    let r = root.to_str().unwrap();
    let cases: &[(&str, &[&str], &str, &str)] = &[
        (
            "mkfs.cramfs",
            &["-N", "little", r, "IMG"],
            "fsck.cramfs",
            "cramfs@0x0",
        ),
        (
            "mkfs.cramfs",
            &["-N", "big", r, "IMG"],
            "fsck.cramfs",
            "cramfs@0x0",
        ),
        (
            "mkfs.erofs",
            &["--quiet", "IMG", r],
            "fsck.erofs",
            "erofs@0x0",
        ),
    ];
    for (i, (tool, args, check, base)) in cases.iter().enumerate() {
        let Some(exe) = common::peer(tool) else {
            return;
        };
        let img = tmp.path().join(format!("case{i}.img"));
        let args: Vec<&str> = args
            .iter()
            .map(|a| {
                if *a == "IMG" {
                    img.to_str().unwrap()
                } else {
                    a
                }
            })
            .collect();
        let o = Command::new(exe).args(&args).output().unwrap();
        assert!(
            o.status.success(),
            "{tool} {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let dir = tmp.path().join(format!("case{i}"));
        let tree = unpack_into(&img, &dir);
        assert!(tree.is_complete(), "{tool} {args:?}: {}", problems(&tree));
        let x = dir.join("x");
        let Some(()) = reference(
            check,
            &[&format!("--extract={}", x.display()), img.to_str().unwrap()],
            &dir,
        ) else {
            return;
        };
        let ours = extracted(&tree, base);
        assert_eq!(ours.files, listing(&x), "{tool} {args:?}");
        assert!(ours.files.len() > 300);
        let theirs = modes(&x);
        for (k, v) in &ours.modes {
            // fsck.erofs clears set-id bits when it sets the owner.
            assert_eq!(v & 0o1777, theirs[k] & 0o1777, "{tool}: mode of {k}");
        }
        assert_eq!(ours.modes["suid"], 0o4755, "{tool}");
    }
}

#[test]
fn cramfs_little_endian_matches_fsck_cramfs() {
    cramfs_matches_fsck("cramfs.img");
}

#[test]
fn cramfs_big_endian_matches_fsck_cramfs() {
    cramfs_matches_fsck("cramfs-be.img");
}

// --- hostile images, crafted from the samples -----------------------------------------------

fn le16(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

/// Where the ext directory entry named `name` starts (its inode field).
fn ext_entry(img: &[u8], name: &str) -> usize {
    let n = name.as_bytes();
    (8..img.len() - n.len())
        .find(|&p| {
            &img[p..p + n.len()] == n && img[p - 2] as usize == n.len() && le32(img, p - 8) != 0
        })
        .unwrap_or_else(|| panic!("no entry {name}"))
        - 8
}

/// Where inode `n` of an ext image starts.
fn ext_inode(img: &[u8], n: u32) -> usize {
    let sb = 1024;
    let bs = 1024usize << le32(img, sb + 24);
    let isize = le16(img, sb + 88);
    let ipg = le32(img, sb + 40);
    let desc = if le32(img, sb + 96) & 0x80 != 0 {
        le16(img, sb + 0xfe)
    } else {
        32
    };
    let first = le32(img, sb + 20) as usize;
    let g = ((n - 1) / ipg) as usize;
    let table = le32(img, (first + 1) * bs + g * desc + 8) as usize;
    table * bs + ((n - 1) % ipg) as usize * isize
}

fn unpack_crafted(bytes: &[u8]) -> (tempfile::TempDir, Tree) {
    common::fidelity::unpack_crafted(bytes, Limits::default())
}

fn has_node(tree: &Tree, inner: &str) -> bool {
    tree.nodes.iter().any(|n| n.origin.inner_path == inner)
}

fn assert_problem(tree: &Tree, words: &[&str]) {
    let all = problems(tree);
    assert!(
        tree.problems
            .iter()
            .any(|p| words.iter().all(|w| p.message.contains(w))),
        "no problem with {words:?} in:\n{all}"
    );
}

#[test]
fn ext_directory_loop_is_a_problem_and_the_rest_is_kept() {
    let mut img = fs::read(sample("ext2.img")).unwrap();
    let e = ext_entry(&img, "deep");
    put32(&mut img, e, 2); // /usr/lib/deep -> the root directory
    let (_t, tree) = unpack_crafted(&img);
    assert_problem(&tree, &["/usr/lib/deep", "second time"]);
    assert!(has_node(&tree, "/etc/passwd") && has_node(&tree, "/usr/lib/libfake.so"));
}

#[test]
fn ext_block_pointer_past_the_image_is_a_problem() {
    let mut img = fs::read(sample("ext2.img")).unwrap();
    let ino = le32(&img, ext_entry(&img, "inittab"));
    let at = ext_inode(&img, ino);
    put32(&mut img, at + 0x28, 0x00ff_ffff);
    let (_t, tree) = unpack_crafted(&img);
    assert_problem(&tree, &["inittab", "outside the file system"]);
    assert!(has_node(&tree, "/etc/passwd") && has_node(&tree, "/etc/shadow"));
}

/// libfake.so's extent root in the ext4 sample, rewritten by `patch`.
fn ext4_with_extents(patch: impl FnOnce(&mut Vec<u8>, usize)) -> Tree {
    let mut img = fs::read(sample("ext4.img")).unwrap();
    let ino = le32(&img, ext_entry(&img, "libfake.so"));
    let at = ext_inode(&img, ino) + 0x28;
    assert_eq!(le16(&img, at), 0xf30a, "libfake.so has extents");
    patch(&mut img, at);
    let (_t, tree) = unpack_crafted(&img);
    assert!(has_node(&tree, "/etc/passwd") && has_node(&tree, "/usr/lib/deep/er/numbers.txt"));
    tree
}

#[test]
fn ext_extent_tree_that_loops_is_a_problem() {
    let tree = ext4_with_extents(|img, root| {
        // Root of depth 2 -> block 300, an index node of depth 1 pointing at itself.
        let x = 300usize;
        put16(img, root + 2, 1);
        put16(img, root + 6, 2);
        put32(img, root + 12, 0);
        put32(img, root + 16, x as u32);
        put16(img, root + 20, 0);
        let b = x * 1024;
        for (i, v) in [0xf30a, 1, 84, 1].iter().enumerate() {
            put16(img, b + i * 2, *v);
        }
        put32(img, b + 12, 0);
        put32(img, b + 16, x as u32);
        put16(img, b + 20, 0);
    });
    assert_problem(&tree, &["libfake.so", "loop"]);
}

#[test]
fn ext_extent_tree_too_deep_is_a_problem() {
    let tree = ext4_with_extents(|img, root| put16(img, root + 6, 6));
    assert_problem(&tree, &["libfake.so", "too deep"]);
}

#[test]
fn ext_superblock_with_a_huge_inode_count_is_refused() {
    let mut img = fs::read(sample("ext2.img")).unwrap();
    put32(&mut img, 1024, 0xffff_ffff);
    let (_t, tree) = unpack_crafted(&img);
    assert_problem(&tree, &["inodes"]);
    assert!(!has_node(&tree, "/etc/passwd"));
}

#[test]
fn ext_superblock_with_a_huge_block_size_is_not_read() {
    let mut img = fs::read(sample("ext2.img")).unwrap();
    put32(&mut img, 1024 + 24, 20);
    let (_t, tree) = unpack_crafted(&img);
    assert!(!tree.is_complete(), "the bytes must not pass as examined");
    assert!(!has_node(&tree, "/etc/passwd"));
}

#[test]
fn ext_unsupported_incompatible_feature_is_named() {
    let mut img = fs::read(sample("ext2.img")).unwrap();
    let f = le32(&img, 1024 + 96);
    put32(&mut img, 1024 + 96, f | 0x10); // meta_bg
    let (_t, tree) = unpack_crafted(&img);
    assert_problem(&tree, &["meta_bg"]);
}

/// The entry named by `path` in a little-endian CramFS image: where its inode starts.
fn cramfs_entry(img: &[u8], path: &str) -> usize {
    let (mut size, mut off) = (
        (le32(img, 68) & 0xff_ffff) as usize,
        (le32(img, 72) >> 6) as usize * 4,
    );
    let mut found = 0;
    for part in path.trim_start_matches('/').split('/') {
        let mut at = off;
        loop {
            assert!(at < off + size, "no {part} in {path}");
            let nl = (le32(img, at + 8) & 0x3f) as usize * 4;
            let name = &img[at + 12..at + 12 + nl];
            let name = &name[..name.iter().position(|&c| c == 0).unwrap_or(nl)];
            if name == part.as_bytes() {
                found = at;
                size = (le32(img, at + 4) & 0xff_ffff) as usize;
                off = (le32(img, at + 8) >> 6) as usize * 4;
                break;
            }
            at += 12 + nl;
        }
    }
    found
}

fn cramfs_set_offset(img: &mut [u8], entry: usize, offset: u32) {
    let w = le32(img, entry + 8);
    put32(img, entry + 8, (w & 0x3f) | (offset / 4) << 6);
}

#[test]
fn cramfs_directory_inside_the_superblock_is_a_problem() {
    let mut img = fs::read(sample("cramfs.img")).unwrap();
    let e = cramfs_entry(&img, "/etc");
    cramfs_set_offset(&mut img, e, 16);
    let (_t, tree) = unpack_crafted(&img);
    assert_problem(&tree, &["/etc", "outside the image's data"]);
    assert_problem(&tree, &["CRC"]);
    assert!(has_node(&tree, "/usr/lib/libfake.so"));
}

#[test]
fn cramfs_directory_cycle_is_a_problem() {
    let mut img = fs::read(sample("cramfs.img")).unwrap();
    let e = cramfs_entry(&img, "/usr/lib/deep");
    cramfs_set_offset(&mut img, e, 76); // the root directory's entries
    let (_t, tree) = unpack_crafted(&img);
    assert_problem(&tree, &["/usr/lib/deep", "cycle"]);
    assert!(has_node(&tree, "/etc/passwd") && has_node(&tree, "/usr/lib/libfake.so"));
}

#[test]
fn cramfs_decreasing_block_table_is_a_problem() {
    let mut img = fs::read(sample("cramfs.img")).unwrap();
    let e = cramfs_entry(&img, "/usr/lib/libfake.so");
    let table = (le32(&img, e + 8) >> 6) as usize * 4;
    let first = le32(&img, table);
    put32(&mut img, table + 4, first - 8);
    let (_t, tree) = unpack_crafted(&img);
    assert_problem(&tree, &["libfake.so", "decreasing"]);
    assert!(has_node(&tree, "/etc/passwd") && has_node(&tree, "/usr/lib/deep/er/numbers.txt"));
}

// --- EROFS against fsck.erofs ---------------------------------------------------------------

#[test]
fn erofs_matches_fsck_erofs() {
    let tmp = tempfile::tempdir().unwrap();
    let image = sample("erofs.img");
    let tree = unpack_into(&image, tmp.path());
    assert!(tree.is_complete(), "{}", problems(&tree));
    let x = tmp.path().join("x");
    let Some(()) = reference(
        "fsck.erofs",
        &[
            &format!("--extract={}", x.display()),
            image.to_str().unwrap(),
        ],
        tmp.path(),
    ) else {
        return;
    };
    // fsck.erofs (1.5) clears set-id bits when it extracts (it changes the owner after the
    // mode): compare everything else, and the set-id bit with the inode's own mode.
    let ours = extracted(&tree, "erofs@0x0");
    assert_eq!(ours.files, listing(&x), "contents, types and link targets");
    assert!(ours.files.len() >= 20, "{}", ours.files.len());
    let theirs = modes(&x);
    for (k, v) in &ours.modes {
        assert_eq!(v & 0o1777, theirs[k] & 0o1777, "mode of {k}");
    }
    let img = fs::read(&image).unwrap();
    let nid = {
        // dump.erofs names the inode: read its mode from the image directly.
        let o = Command::new("dump.erofs")
            .args(["--path=/bin/suid-helper"])
            .arg(&image)
            .output();
        o.ok().and_then(|o| {
            let t = String::from_utf8_lossy(&o.stdout).into_owned();
            let at = t.find("NID: ")? + 5;
            t[at..].split_whitespace().next()?.parse::<usize>().ok()
        })
    };
    if let Some(nid) = nid {
        assert_eq!(le16(&img, nid * 32 + 4) & 0o7777, 0o4755);
    }
    assert_eq!(ours.modes["bin/suid-helper"], 0o4755);
    if common::fidelity::is_root() {
        assert_eq!(ours.owners, common::fidelity::owners(&x), "owners");
    }
    let link = tree
        .nodes
        .iter()
        .find(|n| n.origin.inner_path == "/etc/passwd.hardlink")
        .unwrap();
    assert!(link.hardlink.is_some(), "one inode, two names: a hard link");
}

/// Where the entry `i` of the /usr/lib directory of the EROFS sample is: its names, sorted
/// and packed after five 12-byte entries, are `...deeplibfake.sozero-length`.
fn erofs_usr_lib_entry(img: &[u8], i: usize) -> usize {
    let names = b"...deeplibfake.sozero-length";
    let at = img.windows(names.len()).position(|w| w == names).unwrap();
    let start = at - 5 * 12;
    assert_eq!(le16(img, start + 8), 60, "the first name offset");
    start + i * 12
}

#[test]
fn erofs_directory_loop_and_nid_past_the_image_are_problems() {
    let mut img = fs::read(sample("erofs.img")).unwrap();
    let root = le16(&img, 1024 + 14) as u64;
    // /usr/lib/deep -> the root directory; /usr/lib/zero-length -> a nid past the image.
    let deep = erofs_usr_lib_entry(&img, 2);
    img[deep..deep + 8].copy_from_slice(&root.to_le_bytes());
    let zero = erofs_usr_lib_entry(&img, 4);
    img[zero..zero + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let (_t, tree) = unpack_crafted(&img);
    assert_problem(&tree, &["/usr/lib/deep", "second time"]);
    assert_problem(&tree, &["/usr/lib/zero-length"]);
    assert!(has_node(&tree, "/etc/passwd") && has_node(&tree, "/usr/lib/libfake.so"));
}

#[test]
fn erofs_bad_checksum_and_compressed_file_are_problems() {
    let mut img = fs::read(sample("erofs.img")).unwrap();
    img[1024 + 64] ^= 0x20; // the volume name: covered by the superblock checksum
                            // libfake.so's inode says "compressed" (layout 1): a problem naming it, not garbage.
    let e = erofs_usr_lib_entry(&img, 3);
    let nid = u64::from_le_bytes(img[e..e + 8].try_into().unwrap()) as usize;
    let f = le16(&img, nid * 32);
    put16(&mut img, nid * 32, ((f & !0xe) | (1 << 1)) as u16);
    let (_t, tree) = unpack_crafted(&img);
    assert_problem(&tree, &["checksum"]);
    assert_problem(&tree, &["libfake.so", "compressed"]);
    assert!(has_node(&tree, "/etc/passwd"));
}

/// Bytes in the boot sector (before the superblock, in block 0 with 4 KiB blocks) are not
/// the file system's: they are carved and reported, not hidden by the ext container.
#[test]
fn ext_boot_sector_bytes_are_not_hidden() {
    let Some(mke2fs) = common::peer("mke2fs") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("fs.img");
    let o = Command::new(mke2fs)
        .args(["-q", "-F", "-t", "ext4", "-b", "4096"])
        .arg(&img)
        .arg("1024")
        .output()
        .unwrap();
    assert!(o.status.success());
    let mut bytes = fs::read(&img).unwrap();
    let noise: Vec<u8> = (0..600u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    bytes[..600].copy_from_slice(&noise);
    let (_t, tree) = unpack_crafted(&bytes);
    assert!(
        has_node(&tree, "/lost+found"),
        "the file system is still read"
    );
    assert!(
        tree.problems
            .iter()
            .any(|p| p.message.contains("not explained")),
        "{}",
        problems(&tree)
    );
}
