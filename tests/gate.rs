//! End to end: the fwgate CLI over the committed sample images.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::*;

/// `fwgate gate IMAGE --key KEY --release 2.4.1 --evidence DIR`.
fn gate(image: &Path, key: &Path, evidence: &Path) -> Command {
    let mut c = fwgate();
    c.arg("gate").arg(image).arg("--key").arg(key);
    c.args(["--release", "2.4.1"])
        .arg("--evidence")
        .arg(evidence);
    c
}

/// Every problem build.sh plants in router.bin, with where it is (rule id order), and the
/// one its real Debian busybox-static brings (a static, non-PIE build).
const PLANTED: [(&str, &str); 12] = [
    ("FWG-CRED-001", "/etc/shadow:3"),
    ("FWG-CRED-002", "/etc/shadow:1"),
    ("FWG-CRED-005", "/etc/shadow:1"),
    ("FWG-CRED-010", "/www/cgi-bin/sync.cgi:4"),
    ("FWG-ELF-003", "/bin/busybox"),
    ("FWG-KEY-001", "/etc/dropbear/dropbear_ed25519_host_key"),
    ("FWG-KEY-001", "/etc/ssl/private/server.key:1"),
    ("FWG-SEC-002", "/etc/config/cloud.json:3"),
    ("FWG-SVC-001", "/etc/init.d/rcS:9"),
    ("FWG-SVC-002", "/etc/init.d/rcS:9"),
    ("FWG-SVC-006", "/etc/inittab:4"),
    ("FWG-SVC-012", "/etc/init.d/rcS:7"),
];

#[test]
fn router_fails_the_gate_for_the_planted_problems_and_is_not_signed() {
    let tmp = tempfile::tempdir().unwrap();
    let image = sample_copy("router.bin", tmp.path());
    let (key, _) = keygen(tmp.path());
    let evidence = tmp.path().join("evidence");
    let sarif = tmp.path().join("out.sarif");
    let o = run(gate(&image, &key, &evidence).arg("--sarif").arg(&sarif));
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    // Each planted problem, found where it was planted, for the right reason.
    for (rule, place) in PLANTED {
        assert!(
            out.split("\n\n").any(|block| {
                let mut lines = block.lines();
                lines.next().is_some_and(|l| l.contains(rule))
                    && lines
                        .next()
                        .is_some_and(|l| l.contains(&format!("at       {place}")))
            }),
            "{rule} not at {place}"
        );
    }
    assert!(out.contains("account 'guest' has an empty password"));
    assert!(out.contains("account 'root' has a well-known default password"));
    assert!(out.contains("gate      FAIL"));
    assert!(
        !tmp.path().join("router.bin.minisig").exists(),
        "a failing image must not be signed"
    );

    // DL-3 evidence: a failing record bound to this image's digest, with its report.
    let ledger = fs::read_to_string(evidence.join("ledger.jsonl")).unwrap();
    let recs: Vec<serde_json::Value> = ledger
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // DL-4 from the same scan follows it (router.bin's components match no advisory), then
    // DL-6 (the first release: nothing fixed yet); a failed gate signs nothing, so no DL-9.
    assert_eq!(recs.len(), 3);
    let dl4 = &recs[1];
    assert_eq!(dl4["requirement"], "DL-4");
    assert_eq!(dl4["outcome"], "pass");
    assert_eq!(dl4["subject"]["sha256"], sha256_file(&image));
    assert_eq!(recs[2]["requirement"], "DL-6");
    let rec = &recs[0];
    assert_eq!(rec["requirement"], "DL-3");
    assert_eq!(rec["outcome"], "fail");
    assert_eq!(rec["release"], "2.4.1");
    assert_eq!(rec["subject"]["sha256"], sha256_file(&image));
    let report_path = evidence.join(rec["artifacts"][0]["path"].as_str().unwrap());
    assert_eq!(
        sha256_file(&report_path),
        rec["artifacts"][0]["sha256"].as_str().unwrap()
    );
    assert!(run(fwgate().args(["evidence", "verify"]).arg(&evidence))
        .status
        .success());

    // SARIF for code scanning: every planted problem, fingerprints, no secret.
    let s: serde_json::Value = serde_json::from_slice(&fs::read(&sarif).unwrap()).unwrap();
    assert_eq!(s["version"], "2.1.0");
    let results = s["runs"][0]["results"].as_array().unwrap();
    let mut ids: Vec<&str> = results
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, PLANTED.map(|(id, _)| id));
    for r in results {
        assert_eq!(
            r["partialFingerprints"]["fwgateFingerprint/v1"]
                .as_str()
                .unwrap()
                .len(),
            64
        );
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
    }
    let rules = s["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(
        rules
            .iter()
            .all(|r| r["properties"]["security-severity"].is_string()
                && r["help"]["text"].is_string())
    );
}

#[test]
fn secrets_never_appear_in_any_output() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("x");
    let mut outputs = Vec::new();
    let router = sample("router.bin");
    for format in ["text", "json", "sarif"] {
        let args = ["scan", router.to_str().unwrap(), "--format", format];
        let o = if format == "json" {
            run(fwgate().args(args).arg("--workdir").arg(&work))
        } else {
            run(fwgate().args(args))
        };
        assert_eq!(o.status.code(), Some(1));
        outputs.push(stdout(&o));
    }
    // The planted secrets as they are in the image.
    let shadow = fs::read_to_string(work.join("squashfs@0x20000/etc/shadow")).unwrap();
    let root_hash = shadow
        .lines()
        .next()
        .unwrap()
        .split(':')
        .nth(1)
        .unwrap()
        .to_string();
    let key = fs::read_to_string(work.join("squashfs@0x20000/etc/ssl/private/server.key")).unwrap();
    let key_line = key.lines().nth(1).unwrap().to_string();
    for out in &outputs {
        assert!(!out.contains(&root_hash), "password hash printed");
        assert!(!out.contains(&key_line), "private key material printed");
        assert!(!out.contains(":admin"), "cracked password printed");
    }
}

#[test]
fn clean_image_passes_and_its_signature_verifies_with_minisign() {
    let tmp = tempfile::tempdir().unwrap();
    let image = sample_copy("clean.bin", tmp.path());
    let (key, public) = keygen(tmp.path());
    let o = run(&mut gate(&image, &key, &tmp.path().join("ev")));
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(
        out.contains("findings  0 critical, 0 high, 0 medium, 1 low, 0 info"),
        "{out}"
    );
    assert!(out.contains("gate      PASS"));
    let sig = tmp.path().join("clean.bin.minisig");
    let text = fs::read_to_string(&sig).unwrap();
    assert!(
        text.contains(&format!("sha256:{}", sha256_file(&image))) && text.contains("version:2.4.1")
    );

    assert!(
        run(fwgate().arg("verify").arg(&image).arg("--key").arg(&public))
            .status
            .success()
    );
    if let Some(minisign) = peer("minisign") {
        let o = run(Command::new(&minisign)
            .arg("-Vm")
            .arg(&image)
            .arg("-p")
            .arg(&public));
        assert!(o.status.success(), "minisign rejected fwgate's signature");
        assert!(stdout(&o).contains("file:clean.bin"));
        // A changed image no longer verifies, for minisign and for fwgate.
        let mut bytes = fs::read(&image).unwrap();
        bytes[1000] ^= 1;
        fs::write(&image, bytes).unwrap();
        assert!(!run(Command::new(&minisign)
            .arg("-Vm")
            .arg(&image)
            .arg("-p")
            .arg(&public))
        .status
        .success());
        assert_eq!(
            run(fwgate().arg("verify").arg(&image).arg("--key").arg(&public))
                .status
                .code(),
            Some(1)
        );
    }
}

#[test]
fn fail_on_threshold_and_directory_scans() {
    let tmp = tempfile::tempdir().unwrap();
    // Only criticals block: the router still has two.
    let o = run(fwgate().args([
        "scan",
        sample("router.bin").to_str().unwrap(),
        "--fail-on",
        "critical",
        "--format",
        "json",
    ]));
    assert_eq!(o.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["schema"], "fwgate.report/v1");
    assert_eq!(report["findings"].as_array().unwrap().len(), PLANTED.len());
    assert_eq!(
        run(fwgate().args(["scan", sample("clean.bin").to_str().unwrap()]))
            .status
            .code(),
        Some(0)
    );

    // `unpack`, then `scan DIR` on the result finds the same problems.
    let out = tmp.path().join("out");
    let manifest = tmp.path().join("manifest.json");
    let o = run(fwgate()
        .arg("unpack")
        .arg(sample("router.bin"))
        .arg("-o")
        .arg(&out)
        .arg("--json")
        .arg(&manifest));
    assert!(o.status.success());
    assert!(stdout(&o).contains("squashfs  SquashFS 4.0, xz"));
    let m: serde_json::Value = serde_json::from_slice(&fs::read(&manifest).unwrap()).unwrap();
    assert_eq!(m["schema"], "fwgate.manifest/v1");
    assert!(m["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["origin"]["inner_path"] == "/bin/busybox"));
    let o = run(fwgate().arg("scan").arg(&out).args(["--format", "json"]));
    assert_eq!(o.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["target"]["kind"], "directory");
    assert_eq!(report["findings"].as_array().unwrap().len(), PLANTED.len());
}

#[test]
fn usage_and_tool_errors_exit_2_and_name_the_file() {
    assert_eq!(run(fwgate().arg("scan")).status.code(), Some(2));
    assert_eq!(
        run(fwgate().args(["scan", "x", "--fail-on", "severe"]))
            .status
            .code(),
        Some(2)
    );
    let o = run(fwgate().args(["scan", "/nonexistent/fw.bin"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/fw.bin"));
    let o = run(fwgate().arg("--help"));
    assert!(o.status.success() && stdout(&o).contains("gate"));
}

#[test]
fn unrecognised_image_fails_instead_of_passing_silently() {
    let tmp = tempfile::tempdir().unwrap();
    let junk = tmp.path().join("junk.bin");
    fs::write(&junk, vec![0x42u8; 65536]).unwrap();
    let o = run(fwgate()
        .arg("gate")
        .arg(&junk)
        .arg("--evidence")
        .arg(tmp.path().join("ev")));
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("no known container format"));
}

#[test]
fn tampered_evidence_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, public) = keygen(tmp.path());
    let ev = tmp.path().join("ev");
    for name in ["router.bin", "clean.bin"] {
        run(&mut gate(&sample(name), &key, &ev));
    }
    let verify = |with_key: bool| {
        let mut c = fwgate();
        c.args(["evidence", "verify"]).arg(&ev);
        if with_key {
            c.arg("--key").arg(&public);
        }
        let o = run(&mut c);
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let o = run(fwgate()
        .args(["evidence", "verify"])
        .arg(&ev)
        .arg("--key")
        .arg(&public));
    assert!(o.status.success());
    assert!(
        stdout(&o).contains("every record signed (through #7)"),
        "{}",
        stdout(&o)
    );
    let ledger = ev.join("ledger.jsonl");
    let original = fs::read_to_string(&ledger).unwrap();

    // An insider turns the failed gate of record 1 into a pass, stores a forged report under
    // its new digest and recomputes the chain: the signed checkpoints name both records.
    let lines: Vec<&str> = original.lines().collect();
    let mut first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(first["outcome"], "fail");
    let forged = b"{\"findings\":[]}";
    let digest = hex_sha256(forged);
    fs::write(ev.join(format!("artifacts/sha256-{digest}.json")), forged).unwrap();
    first["outcome"] = "pass".into();
    first["artifacts"][0]["path"] = format!("artifacts/sha256-{digest}.json").into();
    first["artifacts"][0]["sha256"] = digest.into();
    // The chain recomputed over every record after it (DL-3 and DL-4 of both gates).
    let mut text = String::new();
    let mut prev = None::<String>;
    for (i, l) in lines.iter().enumerate() {
        let mut r: serde_json::Value = if i == 0 {
            first.clone()
        } else {
            serde_json::from_str(l).unwrap()
        };
        if let Some(p) = &prev {
            r["prev"] = p.clone().into();
        }
        let line = serde_json::to_string(&r).unwrap();
        prev = Some(hex_sha256(line.as_bytes()));
        text.push_str(&line);
        text.push('\n');
    }
    fs::write(&ledger, text).unwrap();
    let (code, err) = verify(true);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("record 1: changed since checkpoint 1"),
        "{err}"
    );
    assert!(
        err.contains("record 2: changed since checkpoint 2"),
        "{err}"
    );
    // Without the key the recomputed chain cannot be told from the real one; the checkpoint
    // heads still can.
    assert_eq!(verify(false).0, Some(1));
    // The gate refuses to append to it, and signing refuses to trust it.
    let o = run(&mut gate(&sample("clean.bin"), &key, &ev));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("refusing to append"));

    // Dropping the last record.
    fs::write(
        &ledger,
        format!("{}\n", lines[..lines.len() - 1].join("\n")),
    )
    .unwrap();
    let (code, err) = verify(true);
    assert_eq!(code, Some(1));
    assert!(err.contains("truncated"), "{err}");
    fs::write(&ledger, &original).unwrap();
    assert_eq!(verify(true).0, Some(0));
}

fn hex_sha256(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

#[test]
fn rules_self_test_from_the_repository_directory() {
    let o = run(fwgate()
        .args(["rules", "test", "--rules"])
        .arg(repo("rules")));
    assert!(o.status.success());
    assert!(stdout(&o).contains("all pass"));
}

#[test]
fn committed_samples_match_their_sha256sums() {
    let Some(sha256sum) = peer("sha256sum") else {
        return;
    };
    let o = run(Command::new(sha256sum)
        .args(["-c", "SHA256SUMS"])
        .current_dir(repo("firmware-samples")));
    assert!(o.status.success());
    let listed = std::fs::read_to_string(repo("firmware-samples/SHA256SUMS"))
        .unwrap()
        .lines()
        .count();
    assert!(listed > 4, "{listed}");
    assert_eq!(stdout(&o).matches(": OK").count(), listed);
}

/// Every sample under firmware-samples/formats/ (but the plain device tree) holds the same
/// small root file system (`make_tree` in build.sh), whose /etc/shadow gives root an empty
/// password and whose rcS
/// starts `telnetd -l /bin/sh`. Whatever the container (and however deep it nests), the scan
/// must see through it to both, with nothing left unexamined.
#[test]
fn every_format_sample_is_seen_through_by_the_scan() {
    let mut names: Vec<_> = std::fs::read_dir(repo("firmware-samples/formats"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".md"))
        .collect();
    names.sort();
    assert!(names.len() >= 20, "{names:?}");
    for name in names {
        let image = repo(&format!("firmware-samples/formats/{name}"));
        let o = run(fwgate().arg("scan").arg(&image).args(["--format", "json"]));
        if name == "plain.dtb" {
            // A device tree holds no file system: examined completely, nothing to find.
            assert_eq!(o.status.code(), Some(0), "{name}");
            continue;
        }
        assert_eq!(o.status.code(), Some(1), "{name}");
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(report["problems"], serde_json::json!([]), "{name}");
        let found = |rule: &str, path: &str| {
            report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["rule_id"] == rule && f["location"]["inner_path"] == path)
        };
        assert!(
            found("FWG-CRED-001", "/etc/shadow"),
            "{name}: empty root password"
        );
        assert!(
            found("FWG-SVC-002", "/etc/init.d/rcS"),
            "{name}: telnetd -l"
        );
    }
}

#[test]
fn hardened_image_with_openssh_dropbear_and_a_ca_bundle_passes() {
    // Real Debian armhf binaries: sshd, ssh-keygen and dropbearconvert carry the PEM headers
    // of private keys as format strings; libcrypto the magics of every key format; the image
    // has a CA bundle, authorized_keys, yescrypt, /lib as a link to usr/lib and a set-uid
    // ssh-keysign. None of that is a finding at or above high.
    let tmp = tempfile::tempdir().unwrap();
    let image = sample_copy("hardened.bin", tmp.path());
    let o = run(fwgate()
        .args(["gate", "--release", "1.0.0", "--json"])
        .arg(tmp.path().join("report.json"))
        .arg("--evidence")
        .arg(tmp.path().join("ev"))
        .arg(&image));
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let report: serde_json::Value =
        serde_json::from_slice(&fs::read(tmp.path().join("report.json")).unwrap()).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .all(|f| ["info", "low", "medium"].contains(&f["severity"].as_str().unwrap())),
        "{findings:#?}"
    );
    assert!(report["problems"].as_array().unwrap().is_empty());
    // It was really read: the binaries, the libraries behind the /lib link, the boot files.
    assert!(report["coverage"]["files_scanned"].as_u64().unwrap() >= 25);
    assert!(findings.iter().any(|f| f["rule_id"] == "FWG-FS-001"
        && f["location"]["inner_path"] == "/usr/lib/openssh/ssh-keysign"));
}
