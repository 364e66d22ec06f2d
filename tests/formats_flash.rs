//! Differential and hostile-input tests of the JFFS2 and UBI/UBIFS handlers: each committed sample in
//! firmware-samples/formats/ is extracted by fwgate and by the format's reference tool and
//! compared by sha256; crafted samples must be refused or reported, never extracted outside
//! the output directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::fidelity::{assert_same_tree, extracted, listing, modes, reference, sha256};
use fwgate_unpack::{unpack, Limits, NodeKind, Tree};

fn sample(name: &str) -> PathBuf {
    common::sample(&format!("formats/{name}"))
}

/// Unpacks `img` into `dir/out`.
fn run(img: &Path, dir: &Path) -> Tree {
    unpack(img, &dir.join("out"), Limits::default()).unwrap()
}

fn problems(tree: &Tree) -> Vec<String> {
    tree.problems.iter().map(|p| p.message.clone()).collect()
}

fn hostile(bytes: &[u8]) -> (tempfile::TempDir, Tree) {
    common::fidelity::unpack_crafted(bytes, Limits::default())
}

fn content(tree: &Tree, path: &str) -> Option<Vec<u8>> {
    let n = tree.nodes.iter().find(|n| n.path == path)?;
    fs::read(tree.path_of(n)).ok()
}

fn has(problems: &[String], what: &str) -> bool {
    problems.iter().any(|p| p.contains(what))
}

/// The kernel's crc32 (reflected 0xedb88320) from `seed`, without inversion.
fn crc32_raw(seed: u32, data: &[u8]) -> u32 {
    let mut c = seed;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xedb8_8320
            } else {
                c >> 1
            };
        }
    }
    c
}

// --- JFFS2 ------------------------------------------------------------------------------

/// jefferson is known to be wrong in four ways, so the comparison covers what it gets right:
/// it keeps one name of a hard-linked inode (the last entry written), it creates no fifos,
/// it does not apply directories' modes (the tree's /tmp is 1777), and it does not apply
/// owners. Everything it extracts must be exactly what fwgate
/// extracted (type, sha256, link target, permission bits with set-id); what it lost must be
/// precisely the fifo and the other hard-link name; the owners come from fwgate's manifest
/// (the tree's www/cgi-bin/status.cgi belongs to 1000:1000).
#[test]
fn jffs2_samples_match_jefferson() {
    let mut first = None;
    for name in ["le.jffs2", "be.jffs2", "rtime.jffs2", "lzo.jffs2"] {
        let img = sample(name);
        let tmp = tempfile::tempdir().unwrap();
        let tree = run(&img, tmp.path());
        assert!(tree.problems.is_empty(), "{name}: {:#?}", problems(&tree));
        let ours = extracted(&tree, "jffs2@0x0");
        assert_eq!(
            ours.owners
                .get("www/cgi-bin/status.cgi")
                .map(String::as_str),
            Some("1000:1000"),
            "{name}"
        );
        let link = tree
            .nodes
            .iter()
            .find(|n| n.path == "jffs2@0x0/etc/passwd.hardlink")
            .unwrap();
        assert_eq!(link.hardlink.as_deref(), Some("jffs2@0x0/etc/passwd"));
        // Every sample holds the same tree, whatever its byte order or compressor.
        match &first {
            None => first = Some(ours.files.clone()),
            Some(f) => assert_eq!(f, &ours.files, "{name} differs from le.jffs2"),
        }
        let theirs_dir = tmp.path().join("ref");
        if reference(
            "jefferson",
            &["-d", theirs_dir.to_str().unwrap(), img.to_str().unwrap()],
            tmp.path(),
        )
        .is_none()
        {
            continue;
        }
        let theirs = listing(&theirs_dir);
        assert!(
            theirs.len() > 20,
            "{name}: jefferson extracted {}",
            theirs.len()
        );
        for (k, v) in &theirs {
            assert_eq!(ours.files.get(k), Some(v), "{name}: {k}");
        }
        let lost: Vec<&str> = ours
            .files
            .keys()
            .filter(|k| !theirs.contains_key(*k))
            .map(String::as_str)
            .collect();
        assert_eq!(lost, ["dev/initctl", "etc/passwd"], "{name}");
        // jefferson creates directories with its default mode: only files' bits compare.
        for (k, m) in modes(&theirs_dir) {
            if !theirs_dir.join(&k).is_dir() {
                assert_eq!(ours.modes.get(&k), Some(&m), "{name}: mode of {k}");
            }
        }
        assert_eq!(ours.modes.get("tmp"), Some(&0o1777), "{name}: sticky /tmp");
    }
}

struct Jffs2(Vec<u8>);

impl Jffs2 {
    fn node(&mut self, ntype: u16, body: &[u8]) -> &mut Self {
        let totlen = (12 + body.len()) as u32;
        let mut h = Vec::new();
        h.extend_from_slice(&0x1985u16.to_le_bytes());
        h.extend_from_slice(&ntype.to_le_bytes());
        h.extend_from_slice(&totlen.to_le_bytes());
        let c = crc32_raw(0, &h);
        h.extend_from_slice(&c.to_le_bytes());
        self.0.extend_from_slice(&h);
        self.0.extend_from_slice(body);
        while !self.0.len().is_multiple_of(4) {
            self.0.push(0xff);
        }
        self
    }

    /// A directory entry; `corrupt` spoils its node CRC.
    fn dirent(
        &mut self,
        pino: u32,
        version: u32,
        ino: u32,
        name: &str,
        corrupt: bool,
    ) -> &mut Self {
        let start = self.0.len();
        self.node(0xe001, &vec![0u8; 28 + name.len()]);
        let n = &mut self.0[start..];
        n[12..16].copy_from_slice(&pino.to_le_bytes());
        n[16..20].copy_from_slice(&version.to_le_bytes());
        n[20..24].copy_from_slice(&ino.to_le_bytes());
        n[28] = name.len() as u8;
        n[29] = 0;
        let c = crc32_raw(0, &n[..32]) ^ u32::from(corrupt);
        n[32..36].copy_from_slice(&c.to_le_bytes());
        let nc = crc32_raw(0, name.as_bytes());
        n[36..40].copy_from_slice(&nc.to_le_bytes());
        n[40..40 + name.len()].copy_from_slice(name.as_bytes());
        self
    }

    /// An inode node with uncompressed data at `offset`.
    fn inode(
        &mut self,
        ino: u32,
        version: u32,
        mode: u32,
        isize: u32,
        offset: u32,
        data: &[u8],
    ) -> &mut Self {
        let start = self.0.len();
        self.node(0xe002, &vec![0u8; 56 + data.len()]);
        let n = &mut self.0[start..];
        let put = |n: &mut [u8], at: usize, v: u32| n[at..at + 4].copy_from_slice(&v.to_le_bytes());
        put(n, 12, ino);
        put(n, 16, version);
        put(n, 20, mode);
        put(n, 28, isize);
        put(n, 44, offset);
        put(n, 48, data.len() as u32);
        put(n, 52, data.len() as u32);
        n[68..68 + data.len()].copy_from_slice(data);
        put(n, 60, crc32_raw(0, data));
        let c = crc32_raw(0, &n[..60]);
        put(n, 64, c);
        self
    }
}

#[test]
fn hostile_jffs2_is_reported_and_the_rest_kept() {
    let mut j = Jffs2(Vec::new());
    j.node(0x2003, &[])
        // A directory that is its own child: a loop.
        .dirent(1, 1, 2, "a", false)
        .inode(2, 1, 0o40755, 0, 0, &[])
        .dirent(2, 2, 2, "self", false)
        // Two nodes claim the same range with the same version: the first found is kept.
        .dirent(1, 3, 3, "f", false)
        .inode(3, 1, 0o100644, 4, 0, b"AAAA")
        .inode(3, 1, 0o100644, 4, 0, b"BBBB")
        // A node whose CRC fails: skipped, like the kernel.
        .dirent(1, 4, 4, "bad", true)
        .inode(4, 1, 0o100644, 3, 0, b"bad")
        // Traversal in a name.
        .dirent(1, 5, 5, "../evil", false)
        .inode(5, 1, 0o100644, 4, 0, b"evil")
        // An ordinary file, kept.
        .dirent(1, 6, 6, "good", false)
        .inode(6, 1, 0o100600, 5, 0, b"hello");
    // Newer data for part of "good", and a deleted name.
    j.inode(6, 2, 0o100600, 5, 1, b"E")
        .dirent(1, 7, 7, "gone", false)
        .inode(7, 1, 0o100644, 1, 0, b"x")
        .dirent(1, 8, 0, "gone", false);
    // A node whose length runs past the end of the image.
    let at = j.0.len();
    j.dirent(1, 9, 6, "cut", false);
    j.0[at + 4..at + 8].copy_from_slice(&0x1000u32.to_le_bytes());
    let c = crc32_raw(0, &j.0[at..at + 8]);
    j.0[at + 8..at + 12].copy_from_slice(&c.to_le_bytes());

    let (_tmp, tree) = hostile(&j.0);
    let p = problems(&tree);
    assert!(has(&p, "reached a second time"), "{p:#?}");
    assert!(has(&p, "claims version 1"), "{p:#?}");
    assert!(has(&p, "directory entry node CRC mismatch"), "{p:#?}");
    assert!(has(&p, "runs past the image"), "{p:#?}");
    assert!(
        has(&p, "a name that is '.' or '..'") || has(&p, "a name containing '/'"),
        "{p:#?}"
    );
    assert_eq!(content(&tree, "jffs2@0x0/f").as_deref(), Some(&b"AAAA"[..]));
    assert_eq!(
        content(&tree, "jffs2@0x0/good").as_deref(),
        Some(&b"hEllo"[..])
    );
    let paths: Vec<&str> = tree.nodes.iter().map(|n| n.path.as_str()).collect();
    assert!(
        !paths
            .iter()
            .any(|p| p.ends_with("/bad") || p.ends_with("/gone") || p.contains("evil")),
        "{paths:?}"
    );
    assert!(paths.contains(&"jffs2@0x0/a"), "{paths:?}");
}

// --- UBI and UBIFS -------------------------------------------------------------------------

/// ubireader_extract_files into `dir`; it applies modes and owners only with
/// `--keep-permissions`, which needs root: elsewhere only contents are compared.
fn ubireader_matches(tree: &Tree, base: &str, img: &Path, tmp: &Path, what: &str) {
    let dir = tmp.join(format!("ref-{}", what.replace(' ', "-")));
    let mut args = vec!["-o", dir.to_str().unwrap()];
    if common::fidelity::is_root() {
        args.push("-k");
    }
    args.push(img.to_str().unwrap());
    if reference("ubireader_extract_files", &args, tmp).is_none() {
        return;
    }
    if common::fidelity::is_root() {
        assert_same_tree(tree, base, &dir, what);
    } else {
        assert_eq!(extracted(tree, base).files, listing(&dir), "{what}");
    }
}

#[test]
fn ubifs_sample_matches_ubireader() {
    let img = sample("ubifs.img");
    let tmp = tempfile::tempdir().unwrap();
    let tree = run(&img, tmp.path());
    assert!(tree.problems.is_empty(), "{:#?}", problems(&tree));
    ubireader_matches(&tree, "ubifs@0x0", &img, tmp.path(), "ubifs.img");
}

/// ubireader_extract_files fails on ubi.img as a whole (its "data" volume is SquashFS, which
/// it tries to read as UBIFS), so the volumes are compared with ubireader_extract_images
/// (sha256 of each volume image), and the rootfs volume's files with
/// ubireader_extract_files run on the volume image it wrote.
#[test]
fn ubi_volumes_match_ubireader() {
    let img = sample("ubi.img");
    let tmp = tempfile::tempdir().unwrap();
    let tree = run(&img, tmp.path());
    assert!(tree.problems.is_empty(), "{:#?}", problems(&tree));
    let network = content(&tree, "ubi@0x0/data.extracted/squashfs@0x0/conf/network");
    assert_eq!(
        network.as_deref(),
        Some(&b"wan=dhcp\nadmin_pass=admin\n"[..])
    );
    let vols = tmp.path().join("vols");
    if reference(
        "ubireader_extract_images",
        &["-o", vols.to_str().unwrap(), img.to_str().unwrap()],
        tmp.path(),
    )
    .is_none()
    {
        return;
    }
    let dir = vols.join("ubi.img");
    for vol in ["rootfs", "data"] {
        let theirs = fs::read(dir.join(format!("img-1_vol-{vol}.ubifs"))).unwrap();
        let ours = content(&tree, &format!("ubi@0x0/{vol}")).unwrap();
        assert_eq!(sha256(&ours), sha256(&theirs), "volume {vol}");
    }
    ubireader_matches(
        &tree,
        "ubi@0x0/rootfs.extracted/ubifs@0x0",
        &dir.join("img-1_vol-rootfs.ubifs"),
        tmp.path(),
        "ubi.img rootfs",
    );
}

const PEB: usize = 2048;

/// A LEB to write: volume, LEB number, sequence number, volume type, used_ebs, data.
type Leb<'a> = (u32, u32, u64, u8, u32, &'a [u8]);

/// One UBI PEB: EC header, VID header for (vol, lnum), data.
fn peb(vid: Option<Leb<'_>>) -> Vec<u8> {
    let mut p = vec![0xffu8; PEB];
    let mut ec = vec![0u8; 64];
    ec[..4].copy_from_slice(b"UBI#");
    ec[4] = 1;
    ec[16..20].copy_from_slice(&64u32.to_be_bytes());
    ec[20..24].copy_from_slice(&128u32.to_be_bytes());
    ec[24..28].copy_from_slice(&7u32.to_be_bytes());
    let c = crc32_raw(!0, &ec[..60]);
    ec[60..].copy_from_slice(&c.to_be_bytes());
    p[..64].copy_from_slice(&ec);
    if let Some((vol, lnum, sqnum, vtype, used_ebs, data)) = vid {
        let mut v = vec![0u8; 64];
        v[..4].copy_from_slice(b"UBI!");
        v[4] = 1;
        v[5] = vtype;
        v[8..12].copy_from_slice(&vol.to_be_bytes());
        v[12..16].copy_from_slice(&lnum.to_be_bytes());
        if vtype == 2 {
            v[20..24].copy_from_slice(&(data.len() as u32).to_be_bytes());
            v[24..28].copy_from_slice(&used_ebs.to_be_bytes());
            v[32..36].copy_from_slice(&crc32_raw(!0, data).to_be_bytes());
        }
        v[40..48].copy_from_slice(&sqnum.to_be_bytes());
        let c = crc32_raw(!0, &v[..60]);
        v[60..].copy_from_slice(&c.to_be_bytes());
        p[64..128].copy_from_slice(&v);
        p[128..128 + data.len()].copy_from_slice(data);
    }
    p
}

fn vtbl() -> Vec<u8> {
    let mut t = Vec::new();
    for i in 0..11u32 {
        let mut r = vec![0u8; 172];
        let (reserved, vtype, name): (u32, u8, &str) = match i {
            0 => (2, 1, "vol"),
            1 => (5, 2, "st"),
            _ => (0, 0, ""),
        };
        r[..4].copy_from_slice(&reserved.to_be_bytes());
        r[4..8].copy_from_slice(&1u32.to_be_bytes());
        r[12] = vtype;
        r[14..16].copy_from_slice(&(name.len() as u16).to_be_bytes());
        r[16..16 + name.len()].copy_from_slice(name.as_bytes());
        let c = crc32_raw(!0, &r[..168]);
        r[168..].copy_from_slice(&c.to_be_bytes());
        t.extend_from_slice(&r);
    }
    t
}

#[test]
fn hostile_ubi_is_reported_and_the_rest_kept() {
    let table = vtbl();
    let layout = 0x7fff_efff;
    let mut img = Vec::new();
    img.extend(peb(Some((layout, 0, 1, 1, 0, &table))));
    img.extend(peb(Some((layout, 1, 2, 1, 0, &table))));
    // Two PEBs claim LEB 0 of "vol" with the same sequence number: the first is used.
    img.extend(peb(Some((0, 0, 10, 1, 0, &[b'A'; 64]))));
    img.extend(peb(Some((0, 0, 10, 1, 0, &[b'B'; 64]))));
    // The static volume says 3 LEBs; the image holds one.
    img.extend(peb(Some((1, 0, 11, 2, 3, b"static data"))));
    // A LEB beyond the volume's reserved PEBs.
    img.extend(peb(Some((0, 7, 12, 1, 0, &[b'C'; 64]))));
    img.extend(peb(None));
    let (_tmp, tree) = hostile(&img);
    let p = problems(&tree);
    assert!(has(&p, "same sequence number"), "{p:#?}");
    assert!(has(&p, "LEB 1 of 3 is not in the image"), "{p:#?}");
    assert!(has(&p, "beyond its 2 reserved PEBs"), "{p:#?}");
    let vol = content(&tree, "ubi@0x0/vol").unwrap();
    assert_eq!(&vol[..64], &[b'A'; 64][..]);
    assert_eq!(vol.len(), PEB - 128);
    assert_eq!(
        content(&tree, "ubi@0x0/st").as_deref(),
        Some(&b"static data"[..])
    );
}

const LEB: usize = 15360;

/// A UBIFS node: common header (type, length, CRC) around `body`.
fn ubifs_node(t: u8, body: &[u8]) -> Vec<u8> {
    ubifs_node_sq(t, 0, body)
}

/// A UBIFS node with a sequence number.
fn ubifs_node_sq(t: u8, sqnum: u64, body: &[u8]) -> Vec<u8> {
    let mut n = vec![0u8; 24];
    n[8..16].copy_from_slice(&sqnum.to_le_bytes());
    n[..4].copy_from_slice(&[0x31, 0x18, 0x10, 0x06]);
    n[16..20].copy_from_slice(&((24 + body.len()) as u32).to_le_bytes());
    n[20] = t;
    n.extend_from_slice(body);
    let c = crc32_raw(!0, &n[8..]);
    n[4..8].copy_from_slice(&c.to_le_bytes());
    n
}

fn key(inum: u32, ktype: u32, val: u32) -> [u8; 8] {
    let mut k = [0u8; 8];
    k[..4].copy_from_slice(&inum.to_le_bytes());
    k[4..].copy_from_slice(&((ktype << 29) | val).to_le_bytes());
    k
}

fn ino_node(inum: u32, mode: u32, size: u64, nlink: u32) -> Vec<u8> {
    let mut b = vec![0u8; 160 - 24];
    b[..8].copy_from_slice(&key(inum, 0, 0));
    b[24..32].copy_from_slice(&size.to_le_bytes());
    b[68..72].copy_from_slice(&nlink.to_le_bytes());
    b[80..84].copy_from_slice(&mode.to_le_bytes());
    ubifs_node(0, &b)
}

#[test]
fn hostile_ubifs_index_loop_is_reported_and_the_journal_replayed() {
    let mut img = vec![0xffu8; LEB * 8];
    // Superblock: LEB 15 KiB, 8 LEBs, 1 log LEB (3), 1 LPT LEB (4), 1 orphan LEB (5).
    let mut sb = vec![0u8; 4096 - 24];
    for (at, v) in [
        (8, 512u32),
        (12, LEB as u32),
        (16, 8),
        (20, 8),
        (32, 1),
        (36, 1),
        (40, 1),
    ] {
        sb[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    let sb = ubifs_node(6, &sb);
    img[..sb.len()].copy_from_slice(&sb);
    // The index: a level-1 root whose first branch is itself, and a level-0 node.
    let mut leaves = Vec::new();
    let mut branches = Vec::new();
    let mut put = |node: Vec<u8>, k: [u8; 8], leaves: &mut Vec<u8>| {
        let off = leaves.len() as u32;
        branches.push((7u32, off, node.len() as u32, k));
        leaves.extend_from_slice(&node);
        while !leaves.len().is_multiple_of(8) {
            leaves.push(0);
        }
    };
    put(ino_node(1, 0o40755, 0, 2), key(1, 0, 0), &mut leaves);
    let mut dent = vec![0u8; 32];
    dent[..8].copy_from_slice(&key(1, 2, 1234));
    dent[16..24].copy_from_slice(&2u64.to_le_bytes());
    dent[26..28].copy_from_slice(&5u16.to_le_bytes());
    dent.extend_from_slice(b"hello\0");
    put(ubifs_node(2, &dent), key(1, 2, 1234), &mut leaves);
    put(ino_node(2, 0o100644, 2, 1), key(2, 0, 0), &mut leaves);
    let mut data = vec![0u8; 24];
    data[..8].copy_from_slice(&key(2, 1, 0));
    data[16..20].copy_from_slice(&2u32.to_le_bytes());
    data.extend_from_slice(b"hi");
    put(ubifs_node(1, &data), key(2, 1, 0), &mut leaves);
    // The journal: a bud right after the committed leaves, listed by a REF node after the
    // commit's CS node in the log (LEB 3). It rewrites "hello", adds "new", and adds then
    // deletes "tmpf".
    let bud_offs = leaves.len();
    let dent_node = |sq: u64, name: &str, inum: u64| {
        let mut d = vec![0u8; 32];
        d[..8].copy_from_slice(&key(1, 2, name.len() as u32));
        d[16..24].copy_from_slice(&inum.to_le_bytes());
        d[26..28].copy_from_slice(&(name.len() as u16).to_le_bytes());
        d.extend_from_slice(name.as_bytes());
        d.push(0);
        ubifs_node_sq(2, sq, &d)
    };
    let data_node = |sq: u64, inum: u32, bytes: &[u8]| {
        let mut d = vec![0u8; 24];
        d[..8].copy_from_slice(&key(inum, 1, 0));
        d[16..20].copy_from_slice(&(bytes.len() as u32).to_le_bytes());
        d.extend_from_slice(bytes);
        ubifs_node_sq(1, sq, &d)
    };
    let with_sq = |mut n: Vec<u8>, sq: u64| {
        n[8..16].copy_from_slice(&sq.to_le_bytes());
        let c = crc32_raw(!0, &n[8..]);
        n[4..8].copy_from_slice(&c.to_le_bytes());
        n
    };
    for n in [
        data_node(10, 2, b"HI"),
        dent_node(11, "new", 3),
        with_sq(ino_node(3, 0o100644, 3, 1), 12),
        data_node(13, 3, b"new"),
        dent_node(14, "tmpf", 4),
        with_sq(ino_node(4, 0o100644, 1, 1), 15),
        data_node(16, 4, b"t"),
        dent_node(17, "tmpf", 0),
        with_sq(ino_node(4, 0o100644, 0, 0), 18),
    ] {
        leaves.extend_from_slice(&n);
        while !leaves.len().is_multiple_of(8) {
            leaves.push(0xce);
        }
    }
    img[7 * LEB..7 * LEB + leaves.len()].copy_from_slice(&leaves);
    let cs = ubifs_node_sq(10, 5, &0u64.to_le_bytes());
    let mut r = vec![0u8; 40];
    r[..4].copy_from_slice(&7u32.to_le_bytes());
    r[4..8].copy_from_slice(&(bud_offs as u32).to_le_bytes());
    r[8..12].copy_from_slice(&1u32.to_le_bytes());
    let reference = ubifs_node_sq(8, 6, &r);
    img[3 * LEB..3 * LEB + cs.len()].copy_from_slice(&cs);
    img[3 * LEB + cs.len()..3 * LEB + cs.len() + reference.len()].copy_from_slice(&reference);
    let idx = |level: u16, br: &[(u32, u32, u32, [u8; 8])]| {
        let mut b = Vec::new();
        b.extend_from_slice(&(br.len() as u16).to_le_bytes());
        b.extend_from_slice(&level.to_le_bytes());
        for (l, o, n, k) in br {
            b.extend_from_slice(&l.to_le_bytes());
            b.extend_from_slice(&o.to_le_bytes());
            b.extend_from_slice(&n.to_le_bytes());
            b.extend_from_slice(k);
        }
        ubifs_node(9, &b)
    };
    let child = idx(0, &branches);
    let root_len = idx(1, &[(6, 0, 0, key(1, 0, 0)); 2]).len() as u32;
    let root = idx(
        1,
        &[
            (6, 0, root_len, key(1, 0, 0)),
            (6, 512, child.len() as u32, key(1, 0, 0)),
        ],
    );
    img[6 * LEB..6 * LEB + root.len()].copy_from_slice(&root);
    img[6 * LEB + 512..6 * LEB + 512 + child.len()].copy_from_slice(&child);
    // Master nodes in LEBs 1 and 2, pointing at the root.
    let mut m = vec![0u8; 512 - 24];
    for (at, v) in [(20, 3u32), (24, 6), (28, 0), (32, root_len)] {
        m[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    let m = ubifs_node(7, &m);
    for l in 1..=2 {
        img[l * LEB..l * LEB + m.len()].copy_from_slice(&m);
    }
    let (_tmp, tree) = hostile(&img);
    let p = problems(&tree);
    assert!(has(&p, "loop in the index"), "{p:#?}");
    // The journal replayed over the index, in sequence order.
    assert_eq!(
        content(&tree, "ubifs@0x0/hello").as_deref(),
        Some(&b"HI"[..])
    );
    assert_eq!(
        content(&tree, "ubifs@0x0/new").as_deref(),
        Some(&b"new"[..])
    );
    assert!(
        tree.nodes.iter().all(|n| !n.path.ends_with("tmpf")),
        "a deleted name was extracted"
    );
    assert!(tree
        .nodes
        .iter()
        .all(|n| n.kind != NodeKind::Dir || n.path.starts_with("ubifs@0x0")));
}
