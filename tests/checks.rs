//! The checks judge the device as it boots, not the bytes as stored: crafted images built with
//! the real mksquashfs, each hiding one problem the way an evasive vendor build (or an
//! attacker) would, must fail the gate with the finding at its line. And the other way: what a
//! hardened image legitimately carries must not be a finding.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use common::*;

/// A small root file system: BusyBox-style layout, locked accounts, a harmless rcS.
fn base(root: &Path) {
    for d in [
        "bin",
        "sbin",
        "etc/init.d",
        "usr/sbin",
        "usr/share",
        "tmp",
        "www/cgi-bin",
    ] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    write(root, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644);
    write(root, "etc/shadow", "root:!:19000:0:99999:7:::\n", 0o600);
    write(root, "etc/inittab", "::sysinit:/etc/init.d/rcS\n", 0o644);
    write(
        root,
        "etc/init.d/rcS",
        "#!/bin/sh\nmount -t proc proc /proc\n",
        0o755,
    );
}

fn write(root: &Path, rel: &str, content: &str, mode: u32) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, content).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
}

/// Packs `root` with mksquashfs; `None` (test passes, says why) without it.
fn squash(root: &Path, out: &Path) -> Option<PathBuf> {
    let mksquashfs = peer("mksquashfs")?;
    let img = out.join("image.sqfs");
    let o = run(std::process::Command::new(mksquashfs)
        .arg(root)
        .arg(&img)
        .args([
            "-noappend",
            "-all-root",
            "-no-progress",
            "-quiet",
            "-comp",
            "gzip",
        ]));
    assert!(o.status.success());
    Some(img)
}

/// Scans `img`: (exit code, report).
fn scan(img: &Path) -> (i32, serde_json::Value) {
    let o = run(fwgate().args(["scan", "--format", "json"]).arg(img));
    let report = serde_json::from_slice(&o.stdout).unwrap();
    (o.status.code().unwrap(), report)
}

/// Builds the image `plant` makes of the base root and scans it.
fn crafted(plant: impl FnOnce(&Path)) -> Option<(i32, serde_json::Value)> {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    base(&root);
    plant(&root);
    let img = squash(&root, tmp.path())?;
    Some(scan(&img))
}

/// The (rule, device path, line) of every finding.
fn found(report: &serde_json::Value) -> Vec<(String, String, Option<u64>)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["location"]["inner_path"].as_str().unwrap().to_string(),
                f["location"]["line"].as_u64(),
            )
        })
        .collect()
}

fn has(report: &serde_json::Value, rule: &str, path: &str, line: Option<u64>) -> bool {
    found(report)
        .iter()
        .any(|(r, p, l)| r == rule && p == path && *l == line)
}

#[test]
fn the_base_image_passes() {
    let Some((code, report)) = crafted(|_| {}) else {
        return;
    };
    assert_eq!(code, 0, "{report:#}");
    assert!(found(&report).is_empty());
}

#[test]
fn a_hash_sign_inside_a_test_is_not_a_comment() {
    let Some((code, r)) = crafted(|root| {
        write(
            root,
            "etc/init.d/rcS",
            "#!/bin/sh\nmount -t proc proc /proc\n[ $# -ge 0 ] && /usr/sbin/telnetd -l /bin/sh\n",
            0o755,
        )
    }) else {
        return;
    };
    assert_eq!(code, 1);
    assert!(
        has(&r, "FWG-SVC-002", "/etc/init.d/rcS", Some(3)),
        "{:?}",
        found(&r)
    );
}

#[test]
fn a_nul_byte_in_a_comment_does_not_hide_the_script() {
    let Some((code, r)) = crafted(|root| {
        write(
            root,
            "etc/init.d/rcS",
            "#!/bin/sh\n# build \0 tag\n/usr/sbin/telnetd -p 23 &\n",
            0o755,
        )
    }) else {
        return;
    };
    assert_eq!(code, 1);
    assert!(
        has(&r, "FWG-SVC-001", "/etc/init.d/rcS", Some(3)),
        "{:?}",
        found(&r)
    );
}

#[test]
fn a_line_continuation_does_not_split_the_program_name() {
    let Some((code, r)) = crafted(|root| {
        write(
            root,
            "etc/init.d/rcS",
            "#!/bin/sh\n/usr/sbin/tel\\\nnetd -l /bin/sh &\n",
            0o755,
        )
    }) else {
        return;
    };
    assert_eq!(code, 1);
    assert!(
        has(&r, "FWG-SVC-002", "/etc/init.d/rcS", Some(2)),
        "{:?}",
        found(&r)
    );
}

#[test]
fn symlinked_boot_and_account_files_are_read_where_the_device_reads_them() {
    let Some((code, r)) = crafted(|root| {
        // /etc/init.d is a link to a vendor directory; /etc/shadow a link to a defaults file.
        fs::remove_dir_all(root.join("etc/init.d")).unwrap();
        write(root, "usr/share/boot/rcS", "#!/bin/sh\ntelnetd &\n", 0o755);
        symlink("../usr/share/boot", root.join("etc/init.d")).unwrap();
        fs::remove_file(root.join("etc/shadow")).unwrap();
        write(
            root,
            "usr/share/defaults/shadow",
            "root::19000::::::\n",
            0o600,
        );
        symlink("/usr/share/defaults/shadow", root.join("etc/shadow")).unwrap();
    }) else {
        return;
    };
    assert_eq!(code, 1);
    assert!(
        has(&r, "FWG-SVC-001", "/etc/init.d/rcS", Some(2)),
        "{:?}",
        found(&r)
    );
    assert!(
        has(&r, "FWG-CRED-001", "/etc/shadow", Some(1)),
        "{:?}",
        found(&r)
    );
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "FWG-CRED-001")
        .unwrap();
    assert_eq!(f["location"]["stored_path"], "/usr/share/defaults/shadow");
}

#[test]
fn an_unknown_hash_format_is_not_checked_and_fails_the_gate() {
    let Some((code, r)) = crafted(|root| {
        write(
            root,
            "etc/shadow",
            "root:$7$CU..../....saltsaltsalt$hashhashhashhashhashhashhashhashhashhash:19000::::::\n",
            0o600,
        )
    }) else {
        return;
    };
    assert_eq!(code, 1, "not checked must fail: {r:#}");
    assert!(found(&r).is_empty());
    let problems = r["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p["message"]
            .as_str()
            .unwrap()
            .contains("scrypt hashes cannot be cracked")),
        "{problems:?}"
    );
}

#[test]
fn vendor_layouts_and_serial_consoles() {
    let Some((code, r)) = crafted(|root| {
        write(
            root,
            "etc_ro/inittab",
            "::sysinit:/etc_ro/rcS\nttyS1::respawn:-/bin/sh\n",
            0o644,
        );
        write(
            root,
            "etc_ro/rcS",
            "#!/bin/sh\nudpsvd -vE 0 69 tftpd /tmp &\n",
            0o755,
        );
    }) else {
        return;
    };
    assert_eq!(code, 1);
    assert!(
        has(&r, "FWG-SVC-006", "/etc_ro/inittab", Some(2)),
        "{:?}",
        found(&r)
    );
    assert!(
        has(&r, "FWG-SVC-004", "/etc_ro/rcS", Some(2)),
        "{:?}",
        found(&r)
    );
}

#[test]
fn only_the_start_path_of_an_init_script_counts_once_per_service() {
    let Some((code, r)) = crafted(|root| {
        write(
            root,
            "etc/init.d/S50remote",
            "#!/bin/sh\nstart() {\n  telnetd -p 23\n  telnetd -p 2323\n}\ncase \"$1\" in\n  start) start ;;\n  stop) killall telnetd; killall ftpd ;;\nesac\n",
            0o755,
        );
        write(
            root,
            "etc/init.d/S60old",
            "#!/bin/sh\nold_ftp() { ftpd -w /; }\ncase \"$1\" in\n  stop) killall ftpd ;;\nesac\n",
            0o755,
        );
    }) else {
        return;
    };
    assert_eq!(code, 1);
    let svc: Vec<_> = found(&r)
        .into_iter()
        .filter(|(rule, _, _)| rule.starts_with("FWG-SVC"))
        .collect();
    assert_eq!(
        svc,
        [(
            "FWG-SVC-001".to_string(),
            "/etc/init.d/S50remote".to_string(),
            Some(3)
        )]
    );
}

#[test]
fn hard_coded_web_credentials_and_tokens_are_found() {
    let Some((code, r)) = crafted(|root| {
        write(
            root,
            "www/cgi-bin/sync.cgi",
            "#!/bin/sh\necho 'Content-Type: text/plain'\nwget -q --header='Authorization: Basic YWRtaW46QWNtZTIwMTkh' http://127.0.0.1/cfg\n",
            0o755,
        );
        write(
            root,
            "etc/cloud.json",
            "{\n  \"endpoint\": \"https://iot.acme.example\",\n  \"api_key\": \"q7Xv2LmP9sKd4RtY8wZb3NcF\"\n}\n",
            0o644,
        );
    }) else {
        return;
    };
    assert_eq!(code, 1);
    assert!(
        has(&r, "FWG-CRED-010", "/www/cgi-bin/sync.cgi", Some(3)),
        "{:?}",
        found(&r)
    );
    assert!(
        has(&r, "FWG-SEC-002", "/etc/cloud.json", Some(3)),
        "{:?}",
        found(&r)
    );
    let text = serde_json::to_string(&r).unwrap();
    assert!(
        !text.contains("QWNtZTIwMTkh") && !text.contains("q7Xv2LmP9sKd4RtY8wZb3NcF"),
        "secrets must never be printed"
    );
}

#[test]
fn permissions_come_from_the_image() {
    let Some((code, r)) = crafted(|root| {
        fs::set_permissions(root.join("etc/shadow"), fs::Permissions::from_mode(0o644)).unwrap();
        fs::create_dir_all(root.join("var/spool")).unwrap();
        fs::set_permissions(root.join("var/spool"), fs::Permissions::from_mode(0o777)).unwrap();
        fs::create_dir_all(root.join("var/tmp")).unwrap();
        fs::set_permissions(root.join("var/tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    }) else {
        return;
    };
    assert_eq!(code, 1);
    assert!(
        has(&r, "FWG-FS-004", "/etc/shadow", None),
        "{:?}",
        found(&r)
    );
    assert!(has(&r, "FWG-FS-003", "/var/spool", None), "{:?}", found(&r));
    assert!(!has(&r, "FWG-FS-003", "/var/tmp", None));
}

#[test]
fn an_account_file_made_at_run_time_is_not_checked_until_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    base(&root);
    // The device reads /etc/shadow from tmpfs, written by a boot script: not in the image.
    fs::remove_file(root.join("etc/shadow")).unwrap();
    symlink("/tmp/shadow", root.join("etc/shadow")).unwrap();
    // Links to run-time files no rule reads are ordinary.
    symlink("/tmp/resolv.conf", root.join("etc/resolv.conf")).unwrap();
    let Some(img) = squash(&root, tmp.path()) else {
        return;
    };
    let (code, r) = scan(&img);
    assert_eq!(code, 1, "{r:#}");
    let problems = r["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["key"], "link:/etc/shadow");
    assert!(problems[0]["message"]
        .as_str()
        .unwrap()
        .contains("FWG-CRED-001"));
    let o = run(fwgate()
        .args(["scan", "--accept", "link:/etc/shadow"])
        .arg(&img));
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn a_boot_directory_made_at_run_time_is_not_checked_until_accepted() {
    let Some((code, r)) = crafted(|root| {
        fs::remove_dir_all(root.join("etc/init.d")).unwrap();
        symlink("/var/run/init.d", root.join("etc/init.d")).unwrap();
        write(root, "etc/inittab", "::sysinit:/bin/sh /etc/rc\n", 0o644);
    }) else {
        return;
    };
    assert_eq!(code, 1, "{r:#}");
    let problems = r["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p["key"] == "link:/etc/init.d"),
        "{problems:?}"
    );
}

#[test]
fn a_compressor_magic_in_front_of_a_script_does_not_hide_it() {
    let Some((code, r)) = crafted(|root| {
        write(
            root,
            "www/cgi-bin/cloud.cgi",
            "\u{1f}\u{8b}\n#!/bin/sh\nCLOUD_PASSWORD='s3cr3t-cloud'\n",
            0o755,
        );
    }) else {
        return;
    };
    assert_eq!(code, 0, "a medium finding does not fail");
    assert!(
        has(&r, "FWG-CRED-009", "/www/cgi-bin/cloud.cgi", Some(3)),
        "{:?}",
        found(&r)
    );
}
