//! End to end: `fwgate hardening` on real binaries built here with `cc` (hardened and not,
//! dynamic and static, stripped and not, with RPATH and RUNPATH), on a SquashFS image holding
//! them, on the committed router sample, and against checksec (ci/checksec-agree.sh).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

const SOURCE: &str = r#"
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    char buf[16];
    strcpy(buf, argc > 1 ? argv[1] : "x");
    printf("%s %d\n", buf, argc);
    return 0;
}
"#;

const LIBRARY: &str = "int twice(int x) { return 2 * x; }\n";

/// Builds the test binaries into `dir/usr/{bin,lib}`; false when `cc` cannot build them.
fn build(dir: &Path) -> bool {
    let Some(cc) = peer("cc") else { return false };
    std::fs::create_dir_all(dir.join("usr/bin")).unwrap();
    std::fs::create_dir_all(dir.join("usr/lib")).unwrap();
    let src = dir.join("main.c");
    std::fs::write(&src, SOURCE).unwrap();
    let lib = dir.join("lib.c");
    std::fs::write(&lib, LIBRARY).unwrap();
    let hard = "-fstack-protector-all -D_FORTIFY_SOURCE=2 -O2 -fPIE -pie -Wl,-z,relro,-z,now";
    let soft = "-fno-stack-protector -U_FORTIFY_SOURCE -O0 -no-pie -z execstack -Wl,-z,norelro";
    let builds: [(&str, String, &Path); 6] = [
        ("usr/bin/hardened", hard.to_string(), &src),
        (
            "usr/bin/soft",
            format!("{soft} -Wl,--disable-new-dtags,-rpath,/opt/old"),
            &src,
        ),
        ("usr/bin/stripped", format!("{hard} -s"), &src),
        (
            "usr/bin/static",
            "-static -fstack-protector-all -O2".to_string(),
            &src,
        ),
        (
            "usr/bin/static-stripped",
            "-static -fstack-protector-all -O2 -s".to_string(),
            &src,
        ),
        (
            "usr/lib/libtwice.so",
            "-shared -fPIC -Wl,-z,relro -Wl,--enable-new-dtags,-rpath,$ORIGIN".to_string(),
            &lib,
        ),
    ];
    for (out, flags, src) in builds {
        let o = run(Command::new(&cc)
            .args(flags.split(' '))
            .arg("-o")
            .arg(dir.join(out))
            .arg(src));
        assert!(o.status.success(), "cc {flags} failed");
    }
    std::fs::remove_file(&src).unwrap();
    std::fs::remove_file(&lib).unwrap();
    // Not ELF: must not be listed.
    std::fs::write(dir.join("usr/bin/script"), "#!/bin/sh\necho hi\n").unwrap();
    true
}

/// `fwgate hardening TARGET --format json`, by path.
fn json(target: &Path) -> BTreeMap<String, Value> {
    let o = run(fwgate()
        .arg("hardening")
        .arg(target)
        .args(["--format", "json"]));
    assert_eq!(o.status.code(), Some(0));
    let rows: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    let paths: Vec<&str> = rows.iter().map(|r| r["path"].as_str().unwrap()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "rows are sorted by path");
    rows.into_iter()
        .map(|r| (r["path"].as_str().unwrap().to_string(), r))
        .collect()
}

fn assert_props(row: &Value, expected: &[(&str, &str)]) {
    for (key, want) in expected {
        assert_eq!(row[*key], *want, "{key} of {}: {row:#}", row["path"]);
    }
}

fn check_built(rows: &BTreeMap<String, Value>) {
    assert_eq!(
        rows.keys().collect::<Vec<_>>(),
        [
            "/usr/bin/hardened",
            "/usr/bin/soft",
            "/usr/bin/static",
            "/usr/bin/static-stripped",
            "/usr/bin/stripped",
            "/usr/lib/libtwice.so",
        ]
    );
    let hardened = &rows["/usr/bin/hardened"];
    assert_props(
        hardened,
        &[
            ("relro", "full"),
            ("canary", "yes"),
            ("nx", "yes"),
            ("pie", "yes"),
            ("rpath", "no"),
            ("runpath", "no"),
            ("stripped", "no"),
            ("symbols", "yes"),
            ("fortify_source", "yes"),
            ("arch", "x86_64"),
            ("elf_type", "pie"),
        ],
    );
    assert!(
        hardened["fortified"].as_u64().unwrap() >= 2,
        "strcpy and printf"
    );
    assert!(
        hardened["dangerous"].as_array().unwrap().is_empty(),
        "strcpy became __strcpy_chk"
    );
    let soft = &rows["/usr/bin/soft"];
    assert_props(
        soft,
        &[
            ("relro", "no"),
            ("canary", "no"),
            ("nx", "no"),
            ("pie", "no"),
            ("rpath", "yes"),
            ("rpath_value", "/opt/old"),
            ("runpath", "no"),
            ("fortify_source", "no"),
            ("elf_type", "exec"),
        ],
    );
    assert_eq!(soft["dangerous"], serde_json::json!(["strcpy"]));
    assert!(soft["reasons"]["nx"]
        .as_str()
        .unwrap()
        .contains("executable stack"));
    assert_props(
        &rows["/usr/bin/stripped"],
        &[
            ("stripped", "yes"),
            ("symbols", "no"),
            ("canary", "yes"),
            ("fortify_source", "yes"),
        ],
    );
    assert_props(
        &rows["/usr/bin/static"],
        &[("canary", "yes"), ("stripped", "no"), ("pie", "no")],
    );
    assert_eq!(rows["/usr/bin/static"]["static"], true);
    let blind = &rows["/usr/bin/static-stripped"];
    assert_props(
        blind,
        &[("canary", "unknown"), ("fortify_source", "unknown")],
    );
    assert_eq!(
        blind["reasons"]["canary"],
        "stripped static binary: no symbols to look for the canary"
    );
    assert_props(
        &rows["/usr/lib/libtwice.so"],
        &[
            ("pie", "dso"),
            ("runpath", "yes"),
            ("runpath_value", "$ORIGIN"),
            ("rpath", "no"),
        ],
    );
}

#[test]
fn each_property_of_binaries_built_by_cc() {
    let tmp = tempfile::tempdir().unwrap();
    if !build(tmp.path()) {
        return;
    }
    check_built(&json(tmp.path()));
}

#[test]
fn the_text_table_is_aligned_and_explains_unknowns() {
    let tmp = tempfile::tempdir().unwrap();
    if !build(tmp.path()) {
        return;
    }
    let o = run(fwgate().arg("hardening").arg(tmp.path()));
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("RELRO"), "{out}");
    // Every row starts its PATH column where the header's does.
    let col = lines[0].rfind("PATH").unwrap();
    for l in &lines[1..7] {
        assert_eq!(l.find("/usr/"), Some(col), "misaligned: {l}");
    }
    assert!(lines[1].starts_with("full ") && lines[1].ends_with("/usr/bin/hardened"));
    assert!(out.contains("6 ELF file(s)"));
    assert!(out.contains(
        "/usr/bin/static-stripped: canary unknown: stripped static binary: no symbols to look for the canary"
    ));
    assert!(out.contains("/usr/bin/soft: imports strcpy"));
    assert!(!out.contains("/usr/bin/script"));
}

#[test]
fn an_image_is_unpacked_and_its_files_named_by_their_path_inside() {
    let o = run(fwgate()
        .arg("hardening")
        .arg(sample("router.bin"))
        .args(["--format", "json"]));
    assert_eq!(o.status.code(), Some(0));
    let rows: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    let busybox = rows.iter().find(|r| r["path"] == "/bin/busybox").unwrap();
    assert_props(
        busybox,
        &[("arch", "arm"), ("pie", "no"), ("canary", "unknown")],
    );

    // The cc-built tree inside a SquashFS reads as the tree itself.
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    if !build(&tree) {
        return;
    }
    let Some(mksquashfs) = peer("mksquashfs") else {
        return;
    };
    let image = tmp.path().join("fw.sqfs");
    assert!(run(Command::new(mksquashfs).arg(&tree).arg(&image).args([
        "-noappend",
        "-all-root",
        "-quiet"
    ]))
    .status
    .success());
    let from_image = json(&image);
    check_built(&from_image);
    let from_dir = json(&tree);
    for (path, row) in &from_dir {
        assert_eq!(from_image[path]["relro"], row["relro"], "{path}");
        assert_eq!(from_image[path]["fortified"], row["fortified"], "{path}");
    }
}

/// Removes the section headers of an ELF64 file as `sstrip` does (e_shoff, e_shnum,
/// e_shstrndx zeroed), leaving what the loader reads.
fn sstrip(path: &Path) {
    let mut b = std::fs::read(path).unwrap();
    assert_eq!(b[4], 2, "ELF64");
    b[0x28..0x30].fill(0);
    b[0x3c..0x40].fill(0);
    std::fs::write(path, b).unwrap();
}

#[test]
fn without_section_headers_the_loader_view_gives_the_same_verdicts() {
    let tmp = tempfile::tempdir().unwrap();
    if !build(tmp.path()) {
        return;
    }
    let before = json(tmp.path());
    // cc's default is DT_GNU_HASH alone, which counts no import: they are found through
    // the relocations.
    for f in ["usr/bin/hardened", "usr/bin/soft", "usr/lib/libtwice.so"] {
        sstrip(&tmp.path().join(f));
    }
    let after = json(tmp.path());
    for f in ["/usr/bin/hardened", "/usr/bin/soft"] {
        assert_eq!(after[f]["section_headers"], false);
        for key in [
            "canary",
            "fortify_source",
            "fortified",
            "fortifiable",
            "dangerous",
            "relro",
        ] {
            assert_eq!(after[f][key], before[f][key], "{f} {key}");
        }
    }
    assert_eq!(after["/usr/bin/hardened"]["canary"], "yes");
    // The library imports nothing (no DT_NEEDED): with its .symtab gone, nothing could
    // name a protector, so "no" would be a guess.
    let lib = &after["/usr/lib/libtwice.so"];
    assert_eq!(before["/usr/lib/libtwice.so"]["canary"], "no");
    assert_eq!(lib["canary"], "unknown");
    assert_eq!(
        lib["reasons"]["canary"],
        "stripped library that imports nothing: no symbols to look for the canary"
    );
    assert_eq!(lib["runpath_value"], "$ORIGIN");
}

#[test]
fn a_missing_target_is_a_tool_error() {
    let o = run(fwgate().args(["hardening", "/nonexistent/fw.bin"]));
    assert_eq!(o.status.code(), Some(2));
}

/// Runs ci/checksec-agree.sh on `dir`; it must exit 0. Returns its output.
fn checksec_agree(dir: &Path) -> String {
    let o = run(Command::new("bash")
        .arg(repo("ci/checksec-agree.sh"))
        .arg(dir)
        .env("FWGATE", env!("CARGO_BIN_EXE_fwgate")));
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    out
}

#[test]
fn checksec_agrees_on_binaries_built_by_cc() {
    let Some(_) = peer("checksec") else { return };
    let tmp = tempfile::tempdir().unwrap();
    if !build(tmp.path()) {
        return;
    }
    let out = checksec_agree(tmp.path());
    assert!(out.contains("6 ELF files"), "{out}");
    // The stripped static binary is the only deliberate difference here.
    assert!(out.contains("/usr/bin/static-stripped: canary: checksec no, fwgate unknown"));
    assert!(out.contains("checksec-agree: OK"));
}

#[test]
fn checksec_agrees_on_the_committed_samples_binaries() {
    // Real Debian binaries: armhf OpenSSH, Dropbear, BusyBox, glibc and libcrypto from
    // hardened.bin, and the static armhf busybox of router.bin.
    let Some(_) = peer("checksec") else { return };
    let tmp = tempfile::tempdir().unwrap();
    for name in ["hardened.bin", "router.bin"] {
        let out = tmp.path().join(name);
        let o = run(fwgate().arg("unpack").arg(sample(name)).arg("-o").arg(&out));
        assert!(o.status.success());
    }
    let out = checksec_agree(tmp.path());
    assert!(out.contains("17 ELF files"), "{out}");
    assert!(out.contains("checksec-agree: OK"));
}
