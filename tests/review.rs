//! Reviewed findings: suppressions and baselines from the CLI, the SARIF GitHub code scanning
//! ingests (validated with Microsoft's SARIF Multitool), and `fwgate rules explain`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::path::Path;

use common::*;

fn scan_json(image: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let o = run(fwgate()
        .arg("scan")
        .arg(image)
        .args(["--format", "json"])
        .args(extra));
    (
        o.status.code().unwrap(),
        serde_json::from_slice(&o.stdout).unwrap(),
    )
}

/// Suppresses every planted problem of router.bin but the console shell; one entry expired.
const SUPPRESSIONS: &str = r#"
[[suppress]]
rule = "FWG-CRED-*"
reason = "never matches: rule ids are not globs"
owner = "qa@acme.example"
expires = 2099-01-01

[[suppress]]
rule = "FWG-SVC-006"
path = "/etc/inittab"
reason = "lab units only; production builds drop the console line"
owner = "platform@acme.example"
expires = 2020-01-31
"#;

#[test]
fn suppressions_accept_reviewed_findings_until_they_expire() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, plain) = scan_json(&sample("router.bin"), &[]);
    let mut entries = String::from(SUPPRESSIONS);
    // Accept every finding at or above high except the console shell, by evidence hash.
    for f in plain["findings"].as_array().unwrap() {
        if f["rule_id"] != "FWG-SVC-006" {
            entries.push_str(&format!(
                "\n[[suppress]]\nrule = {}\nevidence = {}\nreason = \"reviewed\"\nowner = \"sec@acme.example\"\nexpires = 2099-12-31\n",
                f["rule_id"], f["fingerprint"]
            ));
        }
    }
    let file = tmp.path().join("suppressions.toml");
    fs::write(&file, entries).unwrap();
    let (code, r) = scan_json(
        &sample("router.bin"),
        &["--suppressions", file.to_str().unwrap()],
    );
    // The expired entry does not suppress the console shell: still a failure.
    assert_eq!(code, 1);
    let findings = r["findings"].as_array().unwrap();
    assert_eq!(
        findings.len(),
        plain["findings"].as_array().unwrap().len(),
        "suppressed findings stay in the report"
    );
    let active: Vec<_> = findings
        .iter()
        .filter(|f| f["suppression"].is_null())
        .collect();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["rule_id"], "FWG-SVC-006");
    assert!(r["notes"][0]
        .as_str()
        .unwrap()
        .contains("expired on 2020-01-31"));
    let s = &findings
        .iter()
        .find(|f| !f["suppression"].is_null())
        .unwrap()["suppression"];
    assert_eq!(s["owner"], "sec@acme.example");

    // Without the expired entry, everything is reviewed: the scan passes.
    let text = fs::read_to_string(&file)
        .unwrap()
        .replace("expires = 2020-01-31", "expires = 2099-01-31");
    fs::write(&file, text).unwrap();
    let (code, _) = scan_json(
        &sample("router.bin"),
        &["--suppressions", file.to_str().unwrap()],
    );
    assert_eq!(code, 0);

    // A suppression without an owner is refused before anything is scanned.
    fs::write(
        &file,
        "[[suppress]]\nrule = \"FWG-SVC-006\"\nreason = \"r\"\nexpires = 2099-01-01\n",
    )
    .unwrap();
    let o = run(fwgate()
        .arg("scan")
        .arg(sample("router.bin"))
        .arg("--suppressions")
        .arg(&file));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("owner"));
}

#[test]
fn a_baseline_fails_only_new_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join("old.json");
    let o = run(fwgate()
        .arg("scan")
        .arg(sample("router.bin"))
        .args(["--format", "json", "-o"])
        .arg(&old));
    assert_eq!(o.status.code(), Some(1));
    let (code, r) = scan_json(
        &sample("router.bin"),
        &["--baseline", old.to_str().unwrap()],
    );
    assert_eq!(code, 0, "nothing is new against its own report");
    assert!(r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["baseline"] == "unchanged"));
    // Against the clean image's report, every router finding is new.
    let clean = tmp.path().join("clean.json");
    run(fwgate()
        .arg("scan")
        .arg(sample("clean.bin"))
        .args(["--format", "json", "-o"])
        .arg(&clean));
    let (code, r) = scan_json(
        &sample("router.bin"),
        &["--baseline", clean.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    assert!(r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["baseline"] == "new"));
}

#[test]
fn sarif_validates_with_the_sarif_multitool_and_github_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let supp = tmp.path().join("s.toml");
    fs::write(
        &supp,
        "[[suppress]]\nrule = \"FWG-SVC-001\"\nreason = \"r\"\nowner = \"o@example.com\"\nexpires = 2099-01-01\n",
    )
    .unwrap();
    let old = tmp.path().join("old.json");
    run(fwgate()
        .arg("scan")
        .arg(sample("clean.bin"))
        .args(["--format", "json", "-o"])
        .arg(&old));
    let mut files = Vec::new();
    for (name, image, extra) in [
        (
            "router",
            "router.bin",
            vec![
                "--suppressions",
                supp.to_str().unwrap(),
                "--baseline",
                old.to_str().unwrap(),
            ],
        ),
        ("clean", "clean.bin", vec![]),
        ("hardened", "hardened.bin", vec![]),
    ] {
        let out = tmp.path().join(format!("{name}.sarif"));
        run(fwgate()
            .arg("scan")
            .arg(sample(image))
            .args(["--format", "sarif", "-o"])
            .arg(&out)
            .args(&extra));
        let s: serde_json::Value = serde_json::from_slice(&fs::read(&out).unwrap()).unwrap();
        assert_eq!(s["version"], "2.1.0");
        files.push(out);
    }
    let router: serde_json::Value = serde_json::from_slice(&fs::read(&files[0]).unwrap()).unwrap();
    let results = router["runs"][0]["results"].as_array().unwrap();
    assert!(results
        .iter()
        .any(|r| r["suppressions"][0]["status"] == "accepted"));
    // The clean image shares one finding with the router (Debian's non-PIE busybox-static).
    let unchanged: Vec<_> = results
        .iter()
        .filter(|r| r["baselineState"] == "unchanged")
        .collect();
    assert_eq!(unchanged.len(), 1);
    assert_eq!(unchanged[0]["ruleId"], "FWG-ELF-003");
    assert!(
        results
            .iter()
            .filter(|r| r["baselineState"] == "new")
            .count()
            >= 9
    );
    if peer("Sarif.Multitool").is_none() {
        return;
    }
    let o = run(std::process::Command::new("bash")
        .arg(repo("ci/sarif-validate.sh"))
        .args(&files));
    assert!(o.status.success());
    assert_eq!(stdout(&o).matches(": valid").count(), 3);
}

#[test]
fn rules_explain_prints_the_whole_rule() {
    let o = run(fwgate().args(["rules", "explain", "FWG-SVC-001"]));
    assert!(o.status.success());
    let out = stdout(&o);
    for part in [
        "telnetd-at-boot",
        "What it finds",
        "Why it matters",
        "How to fix it",
        "**/etc/inittab",
        "no finding",
        "CWE-319",
    ] {
        assert!(out.contains(part), "{part} missing:\n{out}");
    }
    let o = run(fwgate().args(["rules", "explain", "console-root-shell"]));
    assert!(stdout(&o).starts_with("FWG-SVC-006"));
    let o = run(fwgate().args(["rules", "explain", "FWG-NOPE-999"]));
    assert_eq!(o.status.code(), Some(2));
}
