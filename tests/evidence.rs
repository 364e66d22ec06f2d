//! The security program's evidence across two releases of a product: `evidence init`, `add`,
//! `status` and the gate's policy (carried-over, stale, missing and waived requirements), and
//! the kind rules (end-of-support notice 60 days ahead, a CRA support period of 5 years).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

fn days(n: i64) -> String {
    (today() + time::Duration::days(n)).to_string()
}

struct Store {
    ev: PathBuf,
    key: PathBuf,
    docs: PathBuf,
}

impl Store {
    /// An evidence directory, a release key and a folder for documents under `tmp`; also
    /// returns the public key.
    fn new(tmp: &Path) -> (Store, PathBuf) {
        let (key, public) = keygen(tmp);
        let docs = tmp.join("docs");
        fs::create_dir(&docs).unwrap();
        (
            Store {
                ev: tmp.join("ev"),
                key,
                docs,
            },
            public,
        )
    }

    fn add(&self, req: &str, kind: &str, release: &str, extra: &[&str]) -> std::process::Output {
        let doc = self.docs.join(format!("{req}-{kind}-{release}.md"));
        fs::write(&doc, format!("# {kind} for {req}, release {release}\n")).unwrap();
        run(fwgate()
            .args(["evidence", "add", req])
            .arg(&doc)
            .args([
                "--kind",
                kind,
                "--release",
                release,
                "--by",
                "psirt@example.com",
            ])
            .arg("--evidence")
            .arg(&self.ev)
            .arg("--key")
            .arg(&self.key)
            .args(extra))
    }

    fn status(&self, release: &str, at: Option<&str>) -> (Option<i32>, Vec<serde_json::Value>) {
        let mut c = fwgate();
        c.args(["evidence", "status", release, "--json", "--evidence"])
            .arg(&self.ev);
        if let Some(at) = at {
            c.args(["--at", at]);
        }
        let o = run(&mut c);
        (
            o.status.code(),
            serde_json::from_slice::<Vec<serde_json::Value>>(&o.stdout).unwrap(),
        )
    }
}

fn state<'a>(lines: &'a [serde_json::Value], id: &str) -> &'a serde_json::Value {
    lines.iter().find(|l| l["id"] == id).unwrap()
}

#[test]
fn two_releases_carry_fresh_evidence_over_and_name_every_gap() {
    let tmp = tempfile::tempdir().unwrap();
    let (s, public) = Store::new(tmp.path());
    let o = run(fwgate().args(["evidence", "init"]).arg(&s.ev));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Trimmed with a recorded reason.
    let policy = s.ev.join("policy.toml");
    let text = fs::read_to_string(&policy).unwrap().replace(
        "id = \"DL-10\"\n",
        "id = \"DL-10\"\nwaived = \"no end of security updates is decided for this product yet\"\nwaived_by = \"cto@example.com\"\n",
    );
    fs::write(&policy, text).unwrap();
    // A waiver without an owner is refused.
    let bad = fs::read_to_string(&policy)
        .unwrap()
        .replace("waived_by = \"cto@example.com\"\n", "");
    fs::write(s.ev.join("bad.toml"), &bad).unwrap();

    let (code, lines) = s.status("1.0", None);
    assert_eq!(code, Some(1));
    assert_eq!(lines.len(), 12);
    assert_eq!(state(&lines, "DL-3")["state"], "missing");
    assert!(state(&lines, "DL-3")["fix"]
        .as_str()
        .unwrap()
        .starts_with("fwgate gate IMAGE --release 1.0"));
    assert_eq!(state(&lines, "DL-10")["state"], "waived");
    assert!(state(&lines, "DL-10")["why"]
        .as_str()
        .unwrap()
        .contains("cto@example.com"));
    assert!(state(&lines, "DL-2")["fix"]
        .as_str()
        .unwrap()
        .contains("fwgate evidence add DL-2 FILE --kind threat-model --release 1.0"));

    // Release 1.0: the documents, then the gate records DL-3 and DL-4 itself.
    let image = tmp.path().join("acme-1.0.bin");
    fs::copy(sample("clean.bin"), &image).unwrap();
    for (req, kind, extra) in [
        ("DL-1", "security-spec", vec![]),
        ("DL-2", "threat-model", vec!["--date", &days(-300)]),
        ("DL-5", "remediation-record", vec![]),
        ("DL-6", "remediation-record", vec![]),
        (
            "DL-7",
            "vulnerability-monitoring",
            vec!["--date", &days(-10)],
        ),
        ("DL-8", "disclosure-policy", vec![]),
        ("DL-9", "update-notice", vec![]),
        ("DL-11", "training-record", vec!["--date", &days(-600)]),
        ("DL-A", "assessment-report", vec!["--date", &days(-100)]),
    ] {
        let extra: Vec<&str> = extra.iter().map(|x| x.as_ref()).collect();
        let o = s.add(req, kind, "1.0", &extra);
        assert!(
            o.status.success(),
            "{req}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let o = run(fwgate()
        .arg("gate")
        .arg(&image)
        .args(["--release", "1.0", "--key"])
        .arg(&s.key)
        .arg("--evidence")
        .arg(&s.ev));
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let (code, lines) = s.status("1.0", None);
    assert_eq!(code, Some(0), "{lines:#?}");
    assert!(lines
        .iter()
        .all(|l| l["state"] == "satisfied" || l["id"] == "DL-10"));

    // Release 1.1, eleven months on: per-release evidence is missing, the threat model and the
    // training are stale, the rest carries over.
    let later = days(330);
    let (code, lines) = s.status("1.1", Some(&later));
    assert_eq!(code, Some(1));
    for id in ["DL-1", "DL-3", "DL-4", "DL-9"] {
        assert_eq!(state(&lines, id)["state"], "missing", "{id}");
    }
    for id in ["DL-2", "DL-7", "DL-11"] {
        assert_eq!(
            state(&lines, id)["state"],
            "stale",
            "{id}: {:#}",
            state(&lines, id)
        );
    }
    for id in ["DL-5", "DL-6", "DL-8", "DL-A"] {
        assert_eq!(state(&lines, id)["state"], "satisfied", "{id}");
    }

    // The gate fails release 1.1 and lists each gap with the command that fills it.
    let image11 = tmp.path().join("acme-1.1.bin");
    fs::copy(sample("hardened.bin"), &image11).unwrap();
    let o = run(fwgate()
        .arg("gate")
        .arg(&image11)
        .args(["--release", "1.1", "--key"])
        .arg(&s.key)
        .arg("--evidence")
        .arg(&s.ev));
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("DL-1 (")
            && out
                .contains("fix: fwgate evidence add DL-1 FILE --kind security-spec --release 1.1"),
        "{out}"
    );
    assert!(
        !out.contains("DL-3 ("),
        "the gate recorded DL-3 itself: {out}"
    );
    assert!(!tmp.path().join("acme-1.1.bin.minisig").exists());

    // Everything was signed as it was recorded.
    let o = run(fwgate()
        .args(["evidence", "verify"])
        .arg(&s.ev)
        .arg("--key")
        .arg(&public));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // A waiver without an owner is not a waiver.
    fs::rename(s.ev.join("bad.toml"), &policy).unwrap();
    let o = run(fwgate()
        .args(["evidence", "status", "1.0", "--evidence"])
        .arg(&s.ev));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("DL-10: a waiver needs a reason"));
}

#[test]
fn notices_and_support_periods_are_held_to_their_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let (s, _) = Store::new(tmp.path());
    let o = run(fwgate().args(["evidence", "init"]).arg(&s.ev).args([
        "--catalog",
        "ftc-dlink-2019",
        "--catalog",
        "cra-2024",
    ]));
    assert!(o.status.success());
    // 45 days' notice is not 60.
    assert!(s
        .add(
            "DL-10",
            "end-of-support-notice",
            "1.0",
            &["--published", &days(0), "--ends", &days(45)]
        )
        .status
        .success());
    let (_, lines) = s.status("1.0", None);
    assert_eq!(state(&lines, "DL-10")["state"], "stale");
    assert!(state(&lines, "DL-10")["why"]
        .as_str()
        .unwrap()
        .contains("45 day(s)"));
    s.add(
        "DL-10",
        "end-of-support-notice",
        "1.0",
        &["--published", &days(0), "--ends", &days(90)],
    );
    let (_, lines) = s.status("1.0", None);
    assert_eq!(state(&lines, "DL-10")["state"], "satisfied");

    // A CRA support period: month and year, at least five years.
    let short = format!("{}-06", today().year() + 3);
    s.add("CRA-13.8", "support-period", "1.0", &["--ends", &short]);
    let (_, lines) = s.status("1.0", None);
    assert_eq!(state(&lines, "CRA-13.8")["state"], "stale");
    assert!(state(&lines, "CRA-13.8")["why"]
        .as_str()
        .unwrap()
        .contains("less than 5 years"));
    s.add("CRA-13.8", "support-period", "1.0", &["--ends", "someday"]);
    let (_, lines) = s.status("1.0", None);
    assert!(state(&lines, "CRA-13.8")["why"]
        .as_str()
        .unwrap()
        .contains("month and year"));
    let long = format!("{}-12", today().year() + 6);
    s.add("CRA-13.8", "support-period", "1.0", &["--ends", &long]);
    let (_, lines) = s.status("1.0", None);
    assert_eq!(state(&lines, "CRA-13.8")["state"], "satisfied");
    // Every requirement of both catalogs is judged.
    assert_eq!(lines.len(), 12 + 35);
    // Unknown kinds and requirements are refused.
    assert_eq!(s.add("DL-2", "vibes", "1.0", &[]).status.code(), Some(2));
    assert_eq!(
        s.add("DL-99", "threat-model", "1.0", &[]).status.code(),
        Some(2)
    );
}

/// An evidence directory with a passing gate of clean.bin as release 1.0 (no policy file: the
/// gate requires its own evidence) and one attached document.
fn released(tmp: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (key, public) = keygen(tmp);
    let ev = tmp.join("ev");
    let image = tmp.join("acme.bin");
    fs::copy(sample("clean.bin"), &image).unwrap();
    let o = run(fwgate()
        .arg("gate")
        .arg(&image)
        .args([
            "--release",
            "1.0",
            "--manufacturer",
            "Acme Networks",
            "--key",
        ])
        .arg(&key)
        .arg("--evidence")
        .arg(&ev));
    assert_eq!(o.status.code(), Some(0));
    let doc = tmp.join("threat-model.md");
    fs::write(&doc, "# Threat model <script>alert(1)</script>\n").unwrap();
    let o = run(fwgate()
        .args(["evidence", "add", "DL-2"])
        .arg(&doc)
        .args([
            "--kind",
            "threat-model",
            "--release",
            "1.0",
            "--by",
            "Ann <ann@example.com>",
            "--evidence",
        ])
        .arg(&ev)
        .arg("--key")
        .arg(&key));
    assert!(o.status.success());
    (ev, key, public)
}

#[test]
fn a_bundle_is_deterministic_and_checked_by_sha256sum_and_minisign_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let (ev, key, public) = released(tmp.path());
    let bundle = |out: &Path| {
        let o = run(fwgate()
            .args(["evidence", "bundle", "1.0", "-o"])
            .arg(out)
            .arg("--key")
            .arg(&key)
            .arg("--evidence")
            .arg(&ev));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        fs::read(out).unwrap()
    };
    // Without a policy.toml, status judges what the gate requires of itself.
    let o = run(fwgate()
        .args(["evidence", "status", "1.0", "--json", "--evidence"])
        .arg(&ev));
    assert_eq!(o.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["DL-3", "DL-4"]);
    assert!(lines.iter().all(|l| l["state"] == "satisfied"));
    let a = bundle(&tmp.path().join("a.tar"));
    let b = bundle(&tmp.path().join("b.tar"));
    assert_eq!(a, b, "same evidence, same bytes");

    let o = run(fwgate()
        .args(["evidence", "verify"])
        .arg(tmp.path().join("a.tar"))
        .arg("--key")
        .arg(&public));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Another key does not verify it.
    let other = tmp.path().join("other");
    fs::create_dir(&other).unwrap();
    let (_, other_pub) = keygen(&other);
    let o = run(fwgate()
        .args(["evidence", "verify"])
        .arg(tmp.path().join("a.tar"))
        .arg("--key")
        .arg(&other_pub));
    assert_eq!(o.status.code(), Some(1));

    // The auditor's way: tar, minisign and sha256sum, without fwgate.
    let (Some(tar), Some(minisign), Some(sha256sum)) =
        (peer("tar"), peer("minisign"), peer("sha256sum"))
    else {
        return;
    };
    let x = tmp.path().join("x");
    fs::create_dir(&x).unwrap();
    assert!(run(std::process::Command::new(&tar)
        .arg("-xf")
        .arg(tmp.path().join("a.tar"))
        .arg("-C")
        .arg(&x))
    .status
    .success());
    let dir = x.join("evidence-1.0");
    for f in [
        "VERIFY.md",
        "report.html",
        "report.md",
        "ledger.jsonl",
        "checkpoints.jsonl",
        "status.json",
        "catalogs/cra-2024.toml",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let o = run(std::process::Command::new(&minisign)
        .current_dir(&dir)
        .args(["-Vm", "SHA256SUMS", "-p"])
        .arg(&public));
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("release 1.0"));
    let o = run(std::process::Command::new(&sha256sum)
        .current_dir(&dir)
        .args(["-c", "SHA256SUMS"]));
    assert!(o.status.success());
    // VERIFY.md says exactly these commands.
    let how = fs::read_to_string(dir.join("VERIFY.md")).unwrap();
    assert!(
        how.contains("minisign -Vm SHA256SUMS -p release.pub")
            && how.contains("sha256sum -c SHA256SUMS")
    );
    // Any changed byte is caught by both.
    let report = dir.join("report.md");
    let mut bytes = fs::read(&report).unwrap();
    bytes[10] ^= 1;
    fs::write(&report, &bytes).unwrap();
    let o = run(std::process::Command::new(&sha256sum)
        .current_dir(&dir)
        .args(["-c", "SHA256SUMS"]));
    assert!(!o.status.success());
    let mut sums = fs::read(dir.join("SHA256SUMS")).unwrap();
    sums[0] = if sums[0] == b'0' { b'1' } else { b'0' };
    fs::write(dir.join("SHA256SUMS"), &sums).unwrap();
    let o = run(std::process::Command::new(&minisign)
        .current_dir(&dir)
        .args(["-Vm", "SHA256SUMS", "-p"])
        .arg(&public));
    assert!(!o.status.success());

    // fwgate names what changed inside the tar: a ledger byte, an added file.
    let mut tampered = a.clone();
    let at = tampered
        .windows(b"\"outcome\":\"pass\"".len())
        .position(|w| w == b"\"outcome\":\"pass\"")
        .unwrap();
    tampered[at + 11..at + 15].copy_from_slice(b"fail");
    let t = tmp.path().join("t.tar");
    fs::write(&t, &tampered).unwrap();
    let o = run(fwgate()
        .args(["evidence", "verify"])
        .arg(&t)
        .arg("--key")
        .arg(&public));
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("ledger.jsonl: does not match its SHA-256"),
        "{err}"
    );
    let o = run(std::process::Command::new(&tar)
        .arg("-rf")
        .arg(tmp.path().join("b.tar"))
        .arg("-C")
        .arg(&x)
        .arg("evidence-1.0/report.md"));
    assert!(o.status.success());
    let o = run(fwgate()
        .args(["evidence", "verify"])
        .arg(tmp.path().join("b.tar"))
        .arg("--key")
        .arg(&public));
    assert_eq!(
        o.status.code(),
        Some(2),
        "a member twice: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn the_html_report_renders_in_a_real_browser_with_every_requirement() {
    let Some(chromium) = peer("chromium") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (ev, key, _) = released(tmp.path());
    // A policy with all three catalogs, one requirement waived.
    let o = run(fwgate().args(["evidence", "init"]).arg(&ev).args([
        "--catalog",
        "ftc-dlink-2019",
        "--catalog",
        "cra-2024",
        "--catalog",
        "etsi-en-303-645",
    ]));
    assert!(o.status.success());
    let policy = ev.join("policy.toml");
    let text = fs::read_to_string(&policy).unwrap().replace(
        "id = \"DL-10\"\n",
        "id = \"DL-10\"\nwaived = \"end of support not yet decided\"\nwaived_by = \"cto@example.com\"\n",
    );
    fs::write(&policy, text).unwrap();
    let tar = tmp.path().join("b.tar");
    assert!(run(fwgate()
        .args(["evidence", "bundle", "1.0", "-o"])
        .arg(&tar)
        .arg("--key")
        .arg(&key)
        .arg("--evidence")
        .arg(&ev))
    .status
    .success());
    let f = fs::File::open(&tar).unwrap();
    let (_, files) = fwgate_evidence::bundle::read(f).unwrap();
    let html = tmp.path().join("report.html");
    fs::write(&html, &files["report.html"]).unwrap();
    let status: serde_json::Value = serde_json::from_slice(&files["status.json"]).unwrap();
    let reqs = status["requirements"].as_array().unwrap();
    assert_eq!(reqs.len(), 12 + 35 + 69);
    let of = |id: &str| reqs.iter().find(|r| r["id"] == id).unwrap()["state"].clone();
    // The gate's advisory matching covers "no known exploitable vulnerabilities"; its scan is
    // part of the evidence for confidentiality but does not prove it.
    assert_eq!(of("CRA-I-1.2a"), "satisfied");
    assert_eq!(of("CRA-I-1.2e"), "missing");
    // The gate recorded the SBOM (given the manufacturer) and the signature.
    assert_eq!(of("CRA-I-2.1"), "satisfied");
    assert_eq!(of("CRA-VII-8"), "satisfied");
    assert_eq!(of("DL-9"), "satisfied");
    assert_eq!(of("DL-10"), "waived");

    let profile = tmp.path().join("profile");
    let browser = |extra: &[&str]| {
        let o = run(std::process::Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(["--enable-logging=stderr", "--v=0"])
            .args(extra)
            .arg(format!("file://{}", html.display())));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o
    };
    // The DOM as rendered: one row per requirement, with its status; the document's own
    // text (a file name with markup) is shown, not run.
    let o = browser(&["--dump-dom"]);
    let dom = stdout(&o);
    for r in reqs {
        let id = r["id"].as_str().unwrap();
        let row = format!(
            "<tr class=\"{}\" id=\"req-{id}\">",
            r["state"].as_str().unwrap()
        );
        assert!(dom.contains(&row), "{row} not rendered");
    }
    assert!(dom.contains("waived by cto@example.com: end of support not yet decided"));
    assert!(!dom.contains("<script>alert(1)</script>"));
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(!log.contains("CONSOLE"), "console messages: {log}");
    // A screenshot, kept: a page that rendered is not blank.
    let png = tmp.path().join("report.png");
    browser(&[
        &format!("--screenshot={}", png.display()),
        "--window-size=1280,2000",
    ]);
    let bytes = fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 20_000,
        "{} bytes",
        bytes.len()
    );
    if let Ok(dir) = std::env::var("FWGATE_SCREENSHOT_DIR") {
        fs::copy(&png, Path::new(&dir).join("evidence-report.png")).unwrap();
    }
}
