//! Component identification, the CycloneDX 1.6 SBOM and offline advisory matching, end to
//! end from the CLI on the samples (real Debian armhf binaries) and on crafted trees.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{fwgate, peer, repo, run, sample, stdout};

fn components(target: &Path) -> Vec<serde_json::Value> {
    let o = run(fwgate().args(["components", "--json"]).arg(target));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("components JSON")
}

fn version_of(list: &[serde_json::Value], name: &str) -> Vec<Option<String>> {
    list.iter()
        .filter(|c| c["name"] == name)
        .map(|c| c["version"].as_str().map(String::from))
        .collect()
}

/// A Python with cyclonedx-python-lib (the venv `.ci/run` makes puts one first on PATH).
fn cdx_python() -> Option<PathBuf> {
    let python = peer("python3")?;
    let ok = Command::new(&python)
        .args(["-c", "import cyclonedx.validation.json"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("FWGATE_REQUIRE_PEERS").is_none(),
            "cyclonedx-python-lib is required (FWGATE_REQUIRE_PEERS is set): pip install 'cyclonedx-python-lib[json-validation]'"
        );
        eprintln!("SKIPPED: cyclonedx-python-lib is not installed; the schema was not checked");
        return None;
    }
    Some(python)
}

#[test]
fn hardened_sample_names_each_debian_package_with_its_version() {
    let list = components(&sample("hardened.bin"));
    // The versions Debian 12's package metadata states for the binaries build.sh installed.
    for (name, version) in [
        ("busybox", "1.35.0"),
        ("openssh", "9.2p1"),
        ("dropbear", "2022.83"),
        ("openssl", "3.0.22"),
        ("glibc", "2.36"),
        ("zlib", "1.2.13"),
        ("linux", "4.14.241"),
    ] {
        let found = version_of(&list, name);
        assert!(
            found.contains(&Some(version.to_string())),
            "{name}: {found:?} in {list:#?}"
        );
        // No other version is claimed for it.
        assert!(
            found
                .iter()
                .all(|v| v.is_none() || v.as_deref() == Some(version)),
            "{name}: {found:?}"
        );
    }
    let openssh = list.iter().find(|c| c["name"] == "openssh").unwrap();
    assert_eq!(openssh["distro"]["version"], "9.2p1-2+deb12u10");
    let ev = &openssh["evidence"][0];
    assert!(
        ev["matched"].as_str().unwrap().contains("OpenSSH_9.2p1"),
        "{ev}"
    );
    assert!(ev["offset"].as_u64().unwrap() > 0);
    let busybox = list.iter().find(|c| c["name"] == "busybox").unwrap();
    let applets: Vec<&str> = busybox["applets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        applets.contains(&"ash") && applets.contains(&"wget"),
        "{applets:?}"
    );
    assert!(!applets.contains(&"bogus"));
}

#[test]
fn a_binary_whose_version_string_was_removed_has_no_version() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("usr/sbin")).unwrap();
    // Debian's armhf sshd from the hardened sample, with every "OpenSSH_9." banner erased.
    let x = dir.path().join("x");
    let o = run(fwgate()
        .args(["unpack", "-o"])
        .arg(&x)
        .arg(sample("hardened.bin")));
    assert!(o.status.success());
    let sshd = std::fs::read(x.join("squashfs@0x20000/usr/sbin/sshd")).unwrap();
    let mut stripped = sshd.clone();
    let needle = b"OpenSSH_9.";
    let mut i = 0;
    let mut erased = 0;
    while let Some(n) = stripped[i..]
        .windows(needle.len())
        .position(|w| w == needle)
    {
        stripped[i + n..i + n + needle.len()].fill(b'x');
        i += n + needle.len();
        erased += 1;
    }
    assert!(erased > 0);
    std::fs::write(root.join("usr/sbin/sshd"), &stripped).unwrap();
    let list = components(&root);
    let found = version_of(&list, "openssh");
    assert!(
        found.iter().all(Option::is_none),
        "a version was claimed without its string: {found:?}"
    );
    // And the untouched binary is identified.
    std::fs::write(root.join("usr/sbin/sshd"), &sshd).unwrap();
    assert_eq!(
        version_of(&components(&root), "openssh"),
        vec![Some("9.2p1".to_string())]
    );
}

#[test]
fn every_sample_sbom_validates_against_cyclonedx_1_6_and_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let mut samples: Vec<PathBuf> = ["router.bin", "clean.bin", "legacy.bin", "hardened.bin"]
        .iter()
        .map(|s| sample(s))
        .collect();
    let mut formats: Vec<PathBuf> = std::fs::read_dir(repo("firmware-samples/formats"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    formats.sort();
    samples.extend(formats);
    let mut files = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        let out = dir.path().join(format!("{i}.cdx.json"));
        let o = run(fwgate()
            .args([
                "sbom",
                "--manufacturer",
                "Acme Networks",
                "--contact",
                "psirt@acme.example",
            ])
            .args(["--release", "1.0.0", "--reproducible", "-o"])
            .arg(&out)
            .arg(s));
        assert!(
            o.status.success(),
            "{}: {}",
            s.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.stdout.is_empty(), "-o: nothing on stdout");
        files.push(out);
    }
    // Same image, same bytes; to stdout when no -o.
    let again = run(fwgate()
        .args([
            "sbom",
            "--manufacturer",
            "Acme Networks",
            "--contact",
            "psirt@acme.example",
        ])
        .args(["--release", "1.0.0", "--reproducible"])
        .arg(sample("hardened.bin")));
    assert_eq!(again.stdout, std::fs::read(&files[3]).unwrap());
    let doc: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(doc["specVersion"], "1.6");
    assert!(doc.get("vulnerabilities").is_none());
    let image = &doc["metadata"]["component"];
    assert_eq!(image["name"], "hardened.bin");
    assert_eq!(image["hashes"][0]["alg"], "SHA-512");
    // Without --reproducible, a fresh serial number.
    let fresh = run(fwgate()
        .args(["sbom", "--manufacturer", "Acme Networks"])
        .arg(sample("hardened.bin")));
    let fresh: serde_json::Value = serde_json::from_slice(&fresh.stdout).unwrap();
    assert_ne!(fresh["serialNumber"], doc["serialNumber"]);
    if let Some(python) = cdx_python() {
        let o = run(Command::new(python)
            .arg(repo("tests/peers/cdx_validate.py"))
            .args(&files));
        assert!(o.status.success(), "{}", stdout(&o));
    }
}

fn write_advisory(dir: &Path, id: &str, purl: &str, fixed: &str, applets: Option<&[&str]>) {
    let mut affected = serde_json::json!({
        "package": {"ecosystem": "Generic", "name": "x", "purl": purl},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
    });
    if let Some(a) = applets {
        affected["ecosystem_specific"] = serde_json::json!({"applets": a});
    }
    let doc = serde_json::json!({
        "schema_version": "1.6.0", "id": id, "modified": "2026-01-01T00:00:00Z",
        "summary": format!("test advisory {id}"),
        "affected": [affected],
        "database_specific": {"severity": "HIGH"},
    });
    std::fs::write(
        dir.join(format!("{id}.json")),
        serde_json::to_vec(&doc).unwrap(),
    )
    .unwrap();
}

#[test]
fn busybox_advisories_match_only_when_the_applet_is_compiled_in() {
    let adv = tempfile::tempdir().unwrap();
    write_advisory(
        adv.path(),
        "TEST-ASH",
        "pkg:generic/busybox",
        "1.36.0",
        Some(&["ash"]),
    );
    write_advisory(
        adv.path(),
        "TEST-NOAPPLET",
        "pkg:generic/busybox",
        "1.36.0",
        Some(&["fakeapplet"]),
    );
    write_advisory(
        adv.path(),
        "TEST-FIXED",
        "pkg:generic/busybox",
        "1.35.0",
        None,
    );
    let vex = adv.path().join("out.vex.json");
    let o = run(fwgate()
        .args(["vulns", "--no-builtin", "--json", "--advisories"])
        .arg(adv.path())
        .arg("-o")
        .arg(&vex)
        .arg(sample("clean.bin")));
    assert_eq!(
        o.status.code(),
        Some(1),
        "a high match fails: {}",
        stdout(&o)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<&str> = v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["TEST-ASH"], "{v:#}");
    let not: Vec<&str> = v["not_affected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(not, ["TEST-NOAPPLET"]);
    assert_eq!(v["matches"][0]["fixed"], "1.36.0");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&vex).unwrap()).unwrap();
    let states: Vec<&str> = doc["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["analysis"]["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["in_triage", "not_affected"]);
    if let Some(python) = cdx_python() {
        let o = run(Command::new(python)
            .arg(repo("tests/peers/cdx_validate.py"))
            .arg("--vex")
            .arg(&vex));
        assert!(o.status.success(), "{}", stdout(&o));
    }
}

#[test]
fn the_curated_store_finds_nothing_that_debian_fixed_on_the_hardened_sample() {
    let o = run(fwgate()
        .args(["vulns", "--json"])
        .arg(sample("hardened.bin")));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<&str> = v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    // Upstream 9.2p1 and 2.36 are in these ranges; Debian's entries decide for its builds.
    for fixed_by_debian in ["CVE-2024-6387", "CVE-2023-38408", "CVE-2023-4911"] {
        assert!(!ids.contains(&fixed_by_debian), "{ids:?}");
        assert!(v["not_affected"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["id"] == fixed_by_debian && n["state"] == "resolved"));
    }
}

#[test]
fn package_databases_state_versions_and_advisories_match_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("usr/lib/opkg")).unwrap();
    std::fs::write(
        root.join("usr/lib/opkg/status"),
        "Package: dropbear\nVersion: 2020.81-2\nStatus: install user installed\nArchitecture: mipsel_24kc\nLicense: MIT\n\nPackage: libustream-wolfssl\nVersion: 2022-01-16-868fd881-1\nStatus: install user installed\n\nPackage: old\nVersion: 1.0\nStatus: install user not-installed\n",
    )
    .unwrap();
    let list = components(&root);
    let dropbear = list
        .iter()
        .find(|c| c["name"] == "dropbear")
        .expect("dropbear");
    assert_eq!(dropbear["version"], "2020.81-2");
    assert_eq!(dropbear["purl"], "pkg:generic/dropbear@2020.81");
    assert_eq!(dropbear["evidence"][0]["method"], "opkg");
    assert!(list.iter().any(|c| c["name"] == "libustream-wolfssl"));
    assert!(!list.iter().any(|c| c["name"] == "old"));
    let o = run(fwgate().args(["vulns", "--json"]).arg(&root));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<&str> = v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"CVE-2021-36369"), "{ids:?}");
    assert!(!ids.contains(&"CVE-2016-7406"), "fixed in 2016.74: {ids:?}");
    assert_eq!(o.status.code(), Some(1));
}

fn product_release(dir: &Path, name: &str, packages: &str) -> PathBuf {
    let root = dir.join(name);
    std::fs::create_dir_all(root.join("usr/lib/opkg")).unwrap();
    std::fs::write(root.join("usr/lib/opkg/status"), packages).unwrap();
    // A release image made by the real tool, when it is here.
    match peer("mksquashfs") {
        Some(mksquashfs) => {
            let img = dir.join(format!("{name}.sqfs"));
            let o = run(Command::new(mksquashfs).arg(&root).arg(&img).args([
                "-noappend",
                "-all-root",
                "-quiet",
                "-no-progress",
            ]));
            assert!(o.status.success());
            img
        }
        None => root,
    }
}

#[test]
fn diff_and_recheck_across_two_releases_of_a_product() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = product_release(
        dir.path(),
        "acme-1.0",
        "Package: dropbear\nVersion: 2020.81-2\nStatus: install user installed\n\nPackage: dnsmasq\nVersion: 2.80-1\nStatus: install user installed\n",
    );
    let v2 = product_release(
        dir.path(),
        "acme-1.1",
        "Package: dropbear\nVersion: 2022.82-1\nStatus: install user installed\n\nPackage: dnsmasq\nVersion: 2.80-1\nStatus: install user installed\n\nPackage: miniupnpd\nVersion: 2.3.3-1\nStatus: install user installed\n",
    );
    let o = run(fwgate().args(["diff", "--json"]).arg(&v1).arg(&v2));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        d["components"]["added"],
        serde_json::json!(["miniupnpd 2.3.3-1"])
    );
    assert_eq!(
        d["components"]["changed"],
        serde_json::json!(["dropbear 2020.81-2 -> 2022.82-1"])
    );
    let fixed = d["vulnerabilities"]["fixed"].as_array().unwrap();
    assert!(
        fixed
            .iter()
            .any(|v| v.as_str().unwrap().starts_with("CVE-2021-36369 ")),
        "{d:#}"
    );
    // dnsmasq 2.80 is affected in both releases (DNSpooq): neither new nor fixed.
    assert!(!fixed
        .iter()
        .any(|v| v.as_str().unwrap().starts_with("CVE-2020-25681")));

    // The released SBOMs, rechecked when a new advisory appears.
    let sboms = dir.path().join("sboms");
    std::fs::create_dir(&sboms).unwrap();
    for (img, name) in [(&v1, "acme-1.0.cdx.json"), (&v2, "acme-1.1.cdx.json")] {
        let o = run(fwgate()
            .args(["sbom", "--manufacturer", "Acme", "--reproducible", "-o"])
            .arg(sboms.join(name))
            .arg(img));
        assert!(o.status.success());
    }
    let adv = dir.path().join("adv");
    std::fs::create_dir(&adv).unwrap();
    let recheck = |adv: &Path| {
        run(fwgate()
            .args(["vulns", "recheck"])
            .arg(&sboms)
            .arg("--advisories")
            .arg(adv))
    };
    // First run: what the releases shipped with is recorded (and named).
    let first = recheck(&adv);
    assert_eq!(first.status.code(), Some(1), "{}", stdout(&first));
    let again = recheck(&adv);
    assert_eq!(
        again.status.code(),
        Some(0),
        "nothing new: {}",
        stdout(&again)
    );
    // A new advisory for dropbear before 2022.83: only release 1.1 is newly affected (1.0
    // too, but 2020.81 is also below it: both are named).
    write_advisory(
        &adv,
        "TEST-DROPBEAR-2026",
        "pkg:generic/dropbear",
        "2022.83",
        None,
    );
    let third = recheck(&adv);
    assert_eq!(third.status.code(), Some(1));
    let text = stdout(&third);
    assert!(
        text.contains("acme-1.1") && text.contains("TEST-DROPBEAR-2026"),
        "{text}"
    );
    assert_eq!(text.matches("NEWLY AFFECTED").count(), 2, "{text}");
    assert_eq!(recheck(&adv).status.code(), Some(0));
}

#[test]
fn advisory_matches_are_scan_findings_that_fail_the_gate_until_triaged() {
    let dir = tempfile::tempdir().unwrap();
    let img = product_release(
        dir.path(),
        "acme-2.0",
        "Package: dropbear\nVersion: 2020.81-2\nStatus: install user installed\n\nPackage: zlib\nVersion: 1.3.1-1\nStatus: install user installed\n",
    );
    let sarif = dir.path().join("r.sarif");
    let scan = |extra: &[&str]| {
        let o = run(fwgate()
            .arg("scan")
            .arg(&img)
            .args(["--format", "json"])
            .args(extra));
        let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (o.status.code(), r)
    };
    let (code, r) = scan(&[]);
    assert_eq!(code, Some(1), "a high advisory match fails the scan");
    let vulns: Vec<&serde_json::Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "FWG-VULN-001")
        .collect();
    // Dropbear's keyboard-interactive flaw (CVE-2021-36369, high) and Terrapin (medium, fixed
    // in 2024.84) both apply to 2020.81; zlib 1.3.1 has neither of its curated advisories.
    let mut ids: Vec<&str> = vulns
        .iter()
        .map(|f| f["advisory"]["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        ["CVE-2021-36369", "CVE-2023-48795"],
        "{:#}",
        r["findings"]
    );
    let terrapin = vulns
        .iter()
        .find(|f| f["advisory"]["id"] == "CVE-2023-48795")
        .unwrap();
    assert_eq!(terrapin["severity"], "medium");
    let f = vulns
        .iter()
        .find(|f| f["advisory"]["id"] == "CVE-2021-36369")
        .unwrap();
    assert_eq!(f["advisory"]["id"], "CVE-2021-36369");
    assert_eq!(f["advisory"]["fixed"], "2022.82");
    assert_eq!(f["severity"], "high");
    assert_eq!(f["location"]["inner_path"], "/usr/lib/opkg/status");
    assert_eq!(f["advisory"]["evidence"][0]["method"], "opkg");
    assert!(r["advisories"]["records"].as_u64().unwrap() >= 28);
    // Only the scan's own threshold decides: at critical it passes.
    assert_eq!(scan(&["--fail-on", "critical"]).0, Some(0));
    // Triaged: a suppression with reason, owner and expiry stops it failing, and it stays
    // in the report.
    let supp = dir.path().join("s.toml");
    std::fs::write(
        &supp,
        "[[suppress]]\nrule = \"FWG-VULN-001\"\nreason = \"keyboard-interactive auth is disabled in this build\"\nowner = \"psirt@example.com\"\nexpires = 2099-01-01\n",
    )
    .unwrap();
    let (code, r) = scan(&["--suppressions", supp.to_str().unwrap()]);
    assert_eq!(code, Some(0));
    assert!(r["findings"].as_array().unwrap().iter().any(
        |f| f["rule_id"] == "FWG-VULN-001" && f["suppression"]["owner"] == "psirt@example.com"
    ));
    // SARIF carries the advisory, and GitHub's ingestion rules accept it.
    let o = run(fwgate()
        .arg("scan")
        .arg(&img)
        .args(["--format", "sarif", "-o"])
        .arg(&sarif));
    assert_eq!(o.status.code(), Some(1));
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    let result = s["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["ruleId"] == "FWG-VULN-001")
        .unwrap();
    assert_eq!(result["properties"]["advisory"]["id"], "CVE-2021-36369");
    assert_eq!(result["level"], "error");
    if peer("Sarif.Multitool").is_some() {
        let o = run(Command::new("bash")
            .arg(repo("ci/sarif-validate.sh"))
            .arg(&sarif));
        assert!(o.status.success(), "{}", stdout(&o));
    }
    // The gate fails the image for it, and names it.
    if img.is_file() {
        let o = run(fwgate()
            .arg("gate")
            .arg(&img)
            .arg("--evidence")
            .arg(dir.path().join("evidence")));
        assert_eq!(o.status.code(), Some(1));
        assert!(stdout(&o).contains("CVE-2021-36369"), "{}", stdout(&o));
    }
}

#[test]
fn vulns_import_reads_an_osv_zip_export_into_a_store_the_gate_uses() {
    let zip = match peer("zip") {
        Some(z) => z,
        None => return,
    };
    let dir = tempfile::tempdir().unwrap();
    let img = product_release(
        dir.path(),
        "acme-3.0",
        "Package: dnsmasq\nVersion: 2.89-1\nStatus: install user installed\n\nPackage: dropbear\nVersion: 2020.81-2\nStatus: install user installed\n",
    );
    let export = dir.path().join("export");
    std::fs::create_dir(&export).unwrap();
    write_advisory(
        &export,
        "TEST-DNSMASQ-2026",
        "pkg:generic/dnsmasq",
        "2.91",
        None,
    );
    // The same vulnerability as a curated record, under another database's id: one finding.
    let mut dup: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo("rules/advisories/CVE-2021-36369.json")).unwrap(),
    )
    .unwrap();
    dup["id"] = "OSV-TEST-36369".into();
    dup["aliases"] = serde_json::json!(["CVE-2021-36369"]);
    std::fs::write(
        export.join("OSV-TEST-36369.json"),
        serde_json::to_vec(&dup).unwrap(),
    )
    .unwrap();
    let all = dir.path().join("all.zip");
    let o = run(Command::new(&zip)
        .current_dir(&export)
        .arg("-q")
        .arg(&all)
        .args(["TEST-DNSMASQ-2026.json", "OSV-TEST-36369.json"]));
    assert!(o.status.success());
    let store = dir.path().join("store");
    let import = || {
        run(fwgate()
            .args(["vulns", "import", "--store"])
            .arg(&store)
            .arg(&all))
    };
    let o = import();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).contains("2 records (2 new"), "{}", stdout(&o));
    assert!(store.join("TEST-DNSMASQ-2026.json").is_file());
    let o = import();
    assert!(stdout(&o).contains("2 unchanged"), "{}", stdout(&o));
    let log = std::fs::read_to_string(store.join("IMPORTS.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "one line per import: {log}");
    assert_eq!(lines[0]["records"], 2);
    assert_eq!(lines[0]["added"], 2);
    assert_eq!(lines[1]["unchanged"], 2);
    assert_eq!(lines[0]["source_sha256"].as_str().unwrap().len(), 64);
    assert!(lines[0]["imported_at"].as_str().unwrap().ends_with('Z'));

    // A malformed record anywhere in an export: nothing is written, and the file is named.
    std::fs::write(export.join("BAD.json"), br#"{"id": "../../etc/passwd"}"#).unwrap();
    let bad = dir.path().join("bad.zip");
    let o = run(Command::new(&zip)
        .current_dir(&export)
        .arg("-q")
        .arg(&bad)
        .args(["TEST-DNSMASQ-2026.json", "BAD.json"]));
    assert!(o.status.success());
    let o = run(fwgate()
        .args(["vulns", "import", "--store"])
        .arg(&store)
        .arg(&bad));
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("BAD.json") && err.contains("not an OSV id"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(store.join("IMPORTS.jsonl")).unwrap(),
        log
    );

    // The scan matches against the store: the imported dnsmasq advisory, and the dropbear
    // vulnerability once although two records name it.
    let o = run(fwgate()
        .arg("scan")
        .arg(&img)
        .args(["--format", "json", "--advisories"])
        .arg(&store));
    assert_eq!(o.status.code(), Some(1));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut ids: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["advisory"]["id"].as_str())
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        ["CVE-2021-36369", "CVE-2023-48795", "TEST-DNSMASQ-2026"],
        "{:#}",
        r["findings"]
    );
    // The zip export is read directly too.
    let o = run(fwgate()
        .args(["vulns", "--json", "--advisories"])
        .arg(&all)
        .arg(&img));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["id"] == "TEST-DNSMASQ-2026"));
}
