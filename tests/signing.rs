//! Release signing end to end, against verifiers fwgate's authors did not write: minisign,
//! OpenSSL (raw Ed25519, SPKI, PKCS#8) and securesystemslib (DSSE); and every way a
//! signature must be refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::*;

/// `fwgate keygen --unencrypted` into `dir`; returns NAME.key, NAME.pub, NAME.pem.
fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let o = run(fwgate().args(["keygen", "--out-dir"]).arg(dir).args([
        "--name",
        name,
        "--unencrypted",
    ]));
    assert!(o.status.success());
    let p = |ext: &str| dir.join(format!("{name}.{ext}"));
    (p("key"), p("pub"), p("pem"))
}

fn verify(image: &Path, key: &Path, extra: &[&str]) -> std::process::Output {
    run(fwgate()
        .arg("verify")
        .arg(image)
        .arg("--key")
        .arg(key)
        .args(extra))
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts a rejection: exit 1 and the reason on stderr.
fn rejected(o: &std::process::Output, reason: &str) {
    assert_eq!(
        o.status.code(),
        Some(1),
        "expected a rejection: {}",
        stderr(o)
    );
    assert!(
        stderr(o).contains(reason),
        "reason {reason:?} not in: {}",
        stderr(o)
    );
}

fn sign_without_gate(image: &Path, key: &Path, extra: &[&str]) {
    let o = run(fwgate()
        .arg("sign")
        .arg(image)
        .arg("--key")
        .arg(key)
        .arg("--without-gate")
        .args(extra));
    assert!(o.status.success(), "{}", stderr(&o));
}

fn id_of(public: &Path) -> String {
    let text = fs::read_to_string(public).unwrap();
    text.lines()
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn key_files_are_private_never_overwritten_and_never_empty_password() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, public, pem) = keygen(tmp.path(), "release");
    assert_eq!(
        fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(fs::read_to_string(&public)
        .unwrap()
        .starts_with("untrusted comment: minisign public key "));
    assert!(fs::read_to_string(&pem)
        .unwrap()
        .starts_with("-----BEGIN PUBLIC KEY-----\n"));
    let again = run(fwgate()
        .args(["keygen", "--out-dir"])
        .arg(tmp.path())
        .args(["--name", "release", "--unencrypted"]));
    assert_eq!(again.status.code(), Some(2));
    let empty = run(fwgate()
        .env("FWGATE_KEY_PASSWORD", "")
        .args(["keygen", "--out-dir"])
        .arg(tmp.path())
        .args(["--name", "empty"]));
    assert_eq!(empty.status.code(), Some(2));
    assert!(stderr(&empty).contains("empty password is refused"));
    assert!(!tmp.path().join("empty.key").exists());

    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let image = sample_copy("clean.bin", tmp.path());
    let o = run(fwgate()
        .arg("sign")
        .arg(&image)
        .arg("--key")
        .arg(&key)
        .arg("--without-gate"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("readable by group or others"));
}

#[test]
fn encrypted_keys_interoperate_with_minisign_both_ways() {
    let Some(minisign) = peer("minisign") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("fw.bin");
    fs::write(&file, b"release payload").unwrap();

    // fwgate's scrypt-encrypted key, used by minisign -S (password on stdin).
    let o = run(fwgate()
        .env("FWGATE_KEY_PASSWORD", "pw-123")
        .args(["keygen", "--out-dir"])
        .arg(tmp.path())
        .args(["--name", "enc"]));
    assert!(o.status.success());
    let mut child = Command::new(&minisign)
        .arg("-S")
        .arg("-s")
        .arg(tmp.path().join("enc.key"))
        .arg("-m")
        .arg(&file)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"pw-123\n").unwrap();
    assert!(
        child.wait().unwrap().success(),
        "minisign could not decrypt fwgate's key"
    );
    assert!(verify(&file, &tmp.path().join("enc.pub"), &[])
        .status
        .success());

    // A wrong password is refused before anything is signed; so is an empty one.
    fs::remove_file(tmp.path().join("fw.bin.minisig")).unwrap();
    for (pw, why) in [("nope", "wrong password"), ("", "empty password")] {
        let o = run(fwgate()
            .env("FWGATE_KEY_PASSWORD", pw)
            .arg("sign")
            .arg(&file)
            .arg("--without-gate")
            .arg("--key")
            .arg(tmp.path().join("enc.key")));
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains(why), "{}", stderr(&o));
        assert!(!tmp.path().join("fw.bin.minisig").exists());
    }

    // minisign's own unencrypted key, used by fwgate sign, checked by minisign -V.
    let o = run(Command::new(&minisign)
        .args(["-G", "-W", "-p"])
        .arg(tmp.path().join("m.pub"))
        .arg("-s")
        .arg(tmp.path().join("m.key")));
    assert!(o.status.success());
    sign_without_gate(&file, &tmp.path().join("m.key"), &[]);
    let o = run(Command::new(&minisign)
        .arg("-Vm")
        .arg(&file)
        .arg("-p")
        .arg(tmp.path().join("m.pub")));
    assert!(o.status.success());
    assert!(stdout(&o).contains("gate:none (signed without a gate)"));
}

#[test]
fn sign_requires_a_passing_gate_for_this_exact_image() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, public, _) = keygen(tmp.path(), "release");
    let ev = tmp.path().join("ev");
    let clean = sample_copy("clean.bin", tmp.path());
    let router = sample_copy("router.bin", tmp.path());
    let sign = |image: &Path| {
        run(fwgate()
            .arg("sign")
            .arg(image)
            .arg("--key")
            .arg(&key)
            .arg("--evidence")
            .arg(&ev)
            .args(["--release", "3.1"]))
    };

    // No evidence at all.
    let o = sign(&clean);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no gate evidence"), "{}", stderr(&o));
    assert!(
        !ev.exists(),
        "signing must not create an evidence directory"
    );

    // A failing gate: refused.
    let o = run(fwgate().arg("gate").arg(&router).arg("--evidence").arg(&ev));
    assert_eq!(o.status.code(), Some(1));
    let o = sign(&router);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("failed; not signed"), "{}", stderr(&o));
    assert!(!tmp.path().join("router.bin.minisig").exists());

    // A passing gate (run without a key): signed, and the comment says so.
    let o = run(fwgate().arg("gate").arg(&clean).arg("--evidence").arg(&ev));
    assert_eq!(o.status.code(), Some(0));
    let o = sign(&clean);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = {
        let o = run(fwgate().args(["scan", "--format", "json"]).arg(&clean));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let ruleset = report["ruleset_digest"].as_str().unwrap();
    let v = verify(&clean, &public, &[]);
    assert!(v.status.success());
    // Router's gate recorded DL-3, DL-4 and DL-6 as #1 to #3.
    assert!(
        stdout(&v).contains(&format!(
            "gate:passed\truleset:sha256:{ruleset}\tevidence:DL-3#4"
        )),
        "{}",
        stdout(&v)
    );

    // The same name with other bytes has no gate of its own.
    let mut bytes = fs::read(&clean).unwrap();
    bytes.push(0);
    fs::write(&clean, bytes).unwrap();
    let o = sign(&clean);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no gate evidence"), "{}", stderr(&o));

    // A ledger that does not verify vouches for nothing.
    let ledger = ev.join("ledger.jsonl");
    let text = fs::read_to_string(&ledger).unwrap();
    fs::write(&ledger, text.replacen("\"seq\":1", "\"seq\":7", 1)).unwrap();
    let o = sign(&router);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("does not verify"), "{}", stderr(&o));
}

#[test]
fn raw_signatures_and_spki_keys_interoperate_with_openssl_both_ways() {
    let Some(openssl) = peer("openssl") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (key, public, pem) = keygen(tmp.path(), "release");
    let ev = tmp.path().join("ev");
    let image = sample_copy("clean.bin", tmp.path());
    let o = run(fwgate()
        .arg("gate")
        .arg(&image)
        .arg("--key")
        .arg(&key)
        .arg("--raw")
        .arg("--evidence")
        .arg(&ev));
    assert!(o.status.success());
    let sig = tmp.path().join("clean.bin.sig");
    assert_eq!(fs::metadata(&sig).unwrap().len(), 64);
    let openssl_verify = |image: &Path, pem: &Path, sig: &Path| {
        run(Command::new(&openssl)
            .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
            .arg(pem)
            .arg("-rawin")
            .arg("-in")
            .arg(image)
            .arg("-sigfile")
            .arg(sig))
        .status
        .success()
    };
    assert!(
        openssl_verify(&image, &pem, &sig),
        "OpenSSL rejected fwgate's raw signature"
    );
    let v = verify(&image, &pem, &[]);
    assert!(v.status.success());
    assert!(stdout(&v).contains("raw Ed25519"), "{}", stdout(&v));
    // The .pem and the .pub of one key name the same key id.
    assert!(stdout(&v).contains(&id_of(&public)));
    // OpenSSL reads the SPKI file as the same key as the minisign .pub.
    let o = run(Command::new(&openssl)
        .args(["pkey", "-pubin", "-in"])
        .arg(&pem)
        .args(["-noout", "-text"]));
    assert!(o.status.success() && stdout(&o).contains("ED25519 Public-Key"));

    // OpenSSL's key and signature, checked by fwgate.
    let okey = tmp.path().join("openssl.key");
    let opub = tmp.path().join("openssl.pem");
    assert!(run(Command::new(&openssl)
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&okey))
    .status
    .success());
    assert!(run(Command::new(&openssl)
        .args(["pkey", "-pubout", "-in"])
        .arg(&okey)
        .arg("-out")
        .arg(&opub))
    .status
    .success());
    let osig = tmp.path().join("by-openssl.sig");
    assert!(run(Command::new(&openssl)
        .args(["pkeyutl", "-sign", "-rawin", "-inkey"])
        .arg(&okey)
        .arg("-in")
        .arg(&image)
        .arg("-out")
        .arg(&osig))
    .status
    .success());
    let osig_s = osig.to_str().unwrap();
    assert!(verify(&image, &opub, &["--sig", osig_s]).status.success());
    rejected(&verify(&image, &pem, &["--sig", osig_s]), "does not match");

    // Tampering: the image, the signature.
    let mut bad_sig = fs::read(&sig).unwrap();
    bad_sig[40] ^= 1;
    let bad = tmp.path().join("bad.sig");
    fs::write(&bad, &bad_sig).unwrap();
    assert!(!openssl_verify(&image, &pem, &bad));
    assert_eq!(
        verify(&image, &pem, &["--sig", bad.to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
    let mut bytes = fs::read(&image).unwrap();
    bytes[4096] ^= 1;
    fs::write(&image, bytes).unwrap();
    assert!(!openssl_verify(&image, &pem, &sig));
    rejected(&verify(&image, &pem, &[]), "does not match the signature");
}

#[test]
fn pkcs8_export_and_import_interoperate_with_openssl() {
    let Some(openssl) = peer("openssl") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (key, public, pem) = keygen(tmp.path(), "release");
    let p8 = tmp.path().join("release.p8.pem");
    let export = |out: &Path, pw: &str| {
        run(fwgate()
            .env("FWGATE_EXPORT_PASSWORD", pw)
            .args(["key", "export", "--pkcs8", "--key"])
            .arg(&key)
            .arg("-o")
            .arg(out))
    };
    let o = export(&tmp.path().join("empty.p8"), "");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("empty password"));
    assert!(export(&p8, "export pass 1").status.success());
    assert_eq!(
        fs::metadata(&p8).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(fs::read_to_string(&p8)
        .unwrap()
        .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    // OpenSSL decrypts it, and it is the same key as NAME.pem.
    let o = run(Command::new(&openssl).args(["pkey", "-in"]).arg(&p8).args([
        "-passin",
        "pass:export pass 1",
        "-pubout",
    ]));
    assert!(
        o.status.success(),
        "openssl pkey could not read fwgate's PKCS#8"
    );
    assert_eq!(stdout(&o), fs::read_to_string(&pem).unwrap());
    assert!(
        !run(Command::new(&openssl).args(["pkey", "-in"]).arg(&p8).args([
            "-passin",
            "pass:wrong",
            "-pubout"
        ]))
        .status
        .success()
    );

    // Back in, with its key id: the same .pub as before.
    let back = tmp.path().join("back");
    let o = run(fwgate()
        .env("FWGATE_IMPORT_PASSWORD", "export pass 1")
        .args(["key", "import"])
        .arg(&p8)
        .arg("--out-dir")
        .arg(&back)
        .args(["--name", "release", "--unencrypted"]));
    assert!(o.status.success());
    assert_eq!(
        fs::read_to_string(back.join("release.pub")).unwrap(),
        fs::read_to_string(&public).unwrap()
    );

    // OpenSSL's encrypted key in, used by fwgate, its signature checked by OpenSSL's own
    // public key; and an unencrypted DER key.
    let okey = tmp.path().join("ossl.pem");
    assert!(run(Command::new(&openssl)
        .args([
            "genpkey",
            "-algorithm",
            "ed25519",
            "-aes-256-cbc",
            "-pass",
            "pass:ossl pw",
            "-out"
        ])
        .arg(&okey))
    .status
    .success());
    let opub = tmp.path().join("ossl.pub.pem");
    assert!(run(Command::new(&openssl)
        .args(["pkey", "-passin", "pass:ossl pw", "-pubout", "-in"])
        .arg(&okey)
        .arg("-out")
        .arg(&opub))
    .status
    .success());
    let wrong = run(fwgate()
        .env("FWGATE_IMPORT_PASSWORD", "not it")
        .args(["key", "import"])
        .arg(&okey)
        .arg("--out-dir")
        .arg(&back)
        .args(["--name", "nope", "--unencrypted"]));
    assert_eq!(wrong.status.code(), Some(2));
    assert!(stderr(&wrong).contains("wrong password"));
    let o = run(fwgate()
        .env("FWGATE_IMPORT_PASSWORD", "ossl pw")
        .args(["key", "import"])
        .arg(&okey)
        .arg("--out-dir")
        .arg(&back)
        .args(["--name", "ossl", "--unencrypted"]));
    assert!(o.status.success());
    assert_eq!(
        fs::read_to_string(back.join("ossl.pem")).unwrap(),
        fs::read_to_string(&opub).unwrap()
    );
    let file = tmp.path().join("fw.bin");
    fs::write(&file, b"signed with an imported key").unwrap();
    sign_without_gate(&file, &back.join("ossl.key"), &["--raw"]);
    assert!(run(Command::new(&openssl)
        .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
        .arg(&opub)
        .arg("-rawin")
        .arg("-in")
        .arg(&file)
        .arg("-sigfile")
        .arg(tmp.path().join("fw.bin.sig")))
    .status
    .success());
    let der = tmp.path().join("plain.der");
    assert!(run(Command::new(&openssl)
        .args([
            "genpkey",
            "-algorithm",
            "ed25519",
            "-outform",
            "DER",
            "-out"
        ])
        .arg(&der))
    .status
    .success());
    assert!(run(fwgate()
        .args(["key", "import"])
        .arg(&der)
        .arg("--out-dir")
        .arg(&back)
        .args(["--name", "der", "--unencrypted"]))
    .status
    .success());
}

/// A Python with securesystemslib (the venv `.ci/run` makes puts one first on PATH).
fn dsse_python() -> Option<PathBuf> {
    let python = peer("python3")?;
    let ok = Command::new(&python)
        .args(["-c", "import securesystemslib.dsse, cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("FWGATE_REQUIRE_PEERS").is_none(),
            "securesystemslib is required (FWGATE_REQUIRE_PEERS is set): pip install 'securesystemslib[crypto]'"
        );
        eprintln!("SKIPPED: securesystemslib is not installed; DSSE interop was not checked");
        return None;
    }
    Some(python)
}

#[test]
fn attestations_verify_with_securesystemslib_and_state_the_verdict() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, public, pem) = keygen(tmp.path(), "release");
    let ev = tmp.path().join("ev");
    let gate = |image: &Path| {
        run(fwgate()
            .arg("gate")
            .arg(image)
            .arg("--key")
            .arg(&key)
            .args(["--release", "5.0.2", "--product", "acme router"])
            .arg("--evidence")
            .arg(&ev))
    };
    let clean = sample_copy("clean.bin", tmp.path());
    assert!(gate(&clean).status.success());
    let att = tmp.path().join("clean.bin.intoto.jsonl");
    let text = fs::read_to_string(&att).unwrap();
    let envelopes: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(envelopes.len(), 2);
    let statement = |env: &serde_json::Value| -> serde_json::Value {
        assert_eq!(env["payloadType"], "application/vnd.in-toto+json");
        serde_json::from_slice(&B64.decode(env["payload"].as_str().unwrap()).unwrap()).unwrap()
    };
    let vsa = statement(&envelopes[0]);
    assert_eq!(vsa["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        vsa["predicateType"],
        "https://slsa.dev/verification_summary/v1"
    );
    assert_eq!(vsa["subject"][0]["name"], "clean.bin");
    assert_eq!(vsa["subject"][0]["digest"]["sha256"], sha256_file(&clean));
    let p = &vsa["predicate"];
    assert_eq!(p["verificationResult"], "PASSED");
    assert_eq!(p["resourceUri"], "pkg:generic/acme%20router@5.0.2");
    assert!(p["verifier"]["id"].as_str().unwrap().contains("fwgate"));
    assert!(p["timeVerified"].as_str().unwrap().ends_with('Z'));
    let levels: Vec<&str> = p["verifiedLevels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(levels.contains(&"FWGATE_RELEASE_POLICY_MET"), "{levels:?}");
    assert!(levels.iter().all(|l| !l.starts_with("SLSA_")));
    // The policy and the inputs are named by digest, and those files are in the evidence.
    for d in [&p["policy"], &p["inputAttestations"][0]] {
        let path = ev.join(d["uri"].as_str().unwrap());
        assert_eq!(sha256_file(&path), d["digest"]["sha256"].as_str().unwrap());
    }
    let tests = statement(&envelopes[1]);
    assert_eq!(
        tests["predicateType"],
        "https://in-toto.io/attestation/test-result/v0.1"
    );
    let t = &tests["predicate"];
    let passed = t["passedTests"].as_array().unwrap();
    assert!(passed
        .iter()
        .any(|n| n.as_str().unwrap().starts_with("FWG-CRED-002 ")));
    assert!(t["failedTests"].as_array().unwrap().is_empty());
    assert_eq!(t["result"], "WARNED", "clean.bin has one low finding");

    let att_s = att.to_str().unwrap();
    let v = verify(&clean, &public, &["--attestation", att_s]);
    assert!(v.status.success(), "{}", stderr(&v));
    assert!(stdout(&v).contains("verdict: PASSED"));

    if let Some(python) = dsse_python() {
        let o = run(Command::new(&python)
            .arg(repo("tests/peers/dsse_verify.py"))
            .arg(&att)
            .arg(&pem)
            .arg(&clean));
        assert!(
            o.status.success(),
            "securesystemslib rejected fwgate's envelopes"
        );
        assert_eq!(stdout(&o).matches(": OK ").count(), 2);
    }

    // A failing image gets a signed FAILED verdict (and no signature).
    let router = sample_copy("router.bin", tmp.path());
    assert_eq!(gate(&router).status.code(), Some(1));
    assert!(!tmp.path().join("router.bin.minisig").exists());
    let ratt = tmp.path().join("router.bin.intoto.jsonl");
    let v = verify(&router, &public, &["--attestation", ratt.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(1));
    assert!(stdout(&v).contains("verdict: FAILED"));
    assert!(
        stdout(&v).contains("failed: FWG-CRED-001"),
        "{}",
        stdout(&v)
    );

    // Another image's attestation, a forged payload, another key: refused.
    let o = verify(&clean, &public, &["--attestation", ratt.to_str().unwrap()]);
    rejected(&o, "not this image");
    let forged_vsa = serde_json::to_vec(&{
        let mut v = statement(
            &serde_json::from_str(fs::read_to_string(&ratt).unwrap().lines().next().unwrap())
                .unwrap(),
        );
        v["predicate"]["verificationResult"] = "PASSED".into();
        v
    })
    .unwrap();
    let mut env: serde_json::Value =
        serde_json::from_str(fs::read_to_string(&ratt).unwrap().lines().next().unwrap()).unwrap();
    env["payload"] = B64.encode(&forged_vsa).into();
    let forged = tmp.path().join("forged.intoto.jsonl");
    fs::write(&forged, format!("{env}\n")).unwrap();
    rejected(
        &verify(
            &router,
            &public,
            &["--attestation", forged.to_str().unwrap()],
        ),
        "altered or signed by another key",
    );
    if let Some(python) = dsse_python() {
        let o = run(Command::new(&python)
            .arg(repo("tests/peers/dsse_verify.py"))
            .arg(&forged)
            .arg(&pem)
            .arg(&router));
        assert_eq!(
            o.status.code(),
            Some(1),
            "securesystemslib accepted a forged payload"
        );
    }
    let (_, other, _) = keygen(tmp.path(), "other");
    rejected(
        &verify(&clean, &other, &["--attestation", att_s]),
        "not by the given public key",
    );
}

#[test]
fn rotation_and_revocation_are_followed_from_a_pinned_root() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (root_key, root_pub, _) = keygen(dir, "root");
    let trust = dir.join("trust");
    let trust_s = trust.to_str().unwrap();
    let image = sample_copy("clean.bin", dir);

    // An old signature by the root, made before the rotation.
    sign_without_gate(&image, &root_key, &[]);
    let before = dir.join("before.minisig");
    fs::copy(dir.join("clean.bin.minisig"), &before).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));

    let o = run(fwgate()
        .args(["key", "rotate", "--old"])
        .arg(&root_key)
        .args(["--new-name", "rel2", "--unencrypted", "--trust", trust_s]));
    assert!(o.status.success(), "{}", stderr(&o));
    let rel2_key = dir.join("rel2.key");
    let rel2_id = id_of(&dir.join("rel2.pub"));
    let statement = fs::read_dir(&trust)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .unwrap();
    // The rotation statement is a plain minisign-signed file.
    if let Some(minisign) = peer("minisign") {
        assert!(run(Command::new(&minisign)
            .arg("-Vm")
            .arg(&statement)
            .arg("-p")
            .arg(&root_pub))
        .status
        .success());
    }

    // The new key's signature: unknown without the trust directory, trusted with it.
    sign_without_gate(&image, &rel2_key, &[]);
    rejected(
        &verify(&image, &root_pub, &[]),
        "not by the given public key",
    );
    let o = verify(&image, &root_pub, &["--trust", trust_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains(&rel2_id));

    // The rotated-away root: its earlier signature still verifies, a new one does not.
    let before_s = before.to_str().unwrap();
    assert!(
        verify(&image, &root_pub, &["--trust", trust_s, "--sig", before_s])
            .status
            .success()
    );
    sign_without_gate(&image, &root_key, &[]);
    rejected(
        &verify(&image, &root_pub, &["--trust", trust_s]),
        "rotated away",
    );

    // Revoked: refused with the reason although the bytes verify.
    sign_without_gate(&image, &rel2_key, &[]);
    let o = run(fwgate()
        .args(["key", "revoke", "--key"])
        .arg(&root_key)
        .args([
            "--revoke",
            &rel2_id,
            "--reason",
            "laptop stolen",
            "--trust",
            trust_s,
        ]));
    assert!(o.status.success(), "{}", stderr(&o));
    rejected(
        &verify(&image, &root_pub, &["--trust", trust_s]),
        "which is revoked (laptop stolen)",
    );
    if let Some(minisign) = peer("minisign") {
        assert!(run(Command::new(&minisign)
            .arg("-Vm")
            .arg(trust.join("revoked.json"))
            .arg("-p")
            .arg(&root_pub))
        .status
        .success());
    }

    // Removing the revocation from the list breaks its signature: an error, not a pass.
    let list = trust.join("revoked.json");
    let text = fs::read_to_string(&list).unwrap();
    fs::write(&list, text.replace(&rel2_id, "0000000000000000")).unwrap();
    let o = verify(&image, &root_pub, &["--trust", trust_s]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("does not verify"), "{}", stderr(&o));
    // So does deleting its signature.
    fs::write(&list, text).unwrap();
    fs::remove_file(trust.join("revoked.json.minisig")).unwrap();
    let o = verify(&image, &root_pub, &["--trust", trust_s]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("no signature beside it"),
        "{}",
        stderr(&o)
    );
}

/// Decodes the signature line of a .minisig, applies `f`, re-encodes.
fn edit_sig_line(text: &str, f: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut raw = B64.decode(&lines[1]).unwrap();
    f(&mut raw);
    lines[1] = B64.encode(raw);
    lines.join("\n") + "\n"
}

#[test]
fn every_rejection_names_its_reason_and_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, public, _) = keygen(tmp.path(), "release");
    let image = sample_copy("clean.bin", tmp.path());
    sign_without_gate(&image, &key, &[]);
    let sig = tmp.path().join("clean.bin.minisig");
    let good = fs::read_to_string(&sig).unwrap();
    let alt = tmp.path().join("alt.minisig");
    let with_sig = |text: &str| {
        fs::write(&alt, text).unwrap();
        verify(&image, &public, &["--sig", alt.to_str().unwrap()])
    };
    assert!(with_sig(&good).status.success());

    // Trusted comment edited.
    rejected(
        &with_sig(&good.replace("gate:none", "gate:passed")),
        "trusted comment was altered",
    );
    // Non-canonical signature: s + l encodes the same scalar.
    let l: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let malleated = edit_sig_line(&good, |raw| {
        let mut carry = 0u16;
        for i in 0..32 {
            let v = u16::from(raw[42 + i]) + u16::from(l[i]) + carry;
            raw[42 + i] = v as u8;
            carry = v >> 8;
        }
    });
    rejected(&with_sig(&malleated), "non-canonical");
    // Legacy algorithm field on a prehashed signature: refused as legacy first.
    let legacy_field = edit_sig_line(&good, |raw| raw[1] = b'd');
    rejected(&with_sig(&legacy_field), "legacy");
    // An unknown algorithm.
    rejected(
        &with_sig(&edit_sig_line(&good, |raw| raw[0] = b'X')),
        "unknown signature algorithm",
    );
    // A signature for another file name.
    let renamed = tmp.path().join("other.bin");
    fs::copy(&image, &renamed).unwrap();
    fs::copy(&sig, tmp.path().join("other.bin.minisig")).unwrap();
    rejected(
        &verify(&renamed, &public, &[]),
        "signature is for file 'clean.bin', not 'other.bin'",
    );
    // Wrong key.
    let (_, other, _) = keygen(tmp.path(), "other");
    rejected(&verify(&image, &other, &[]), "not by the given public key");
    // A weak (small-order) public key.
    let mut weak = b"Ed".to_vec();
    weak.extend_from_slice(&[7; 8]);
    let mut point = [0u8; 32];
    point[0] = 1;
    weak.extend_from_slice(&point);
    let weak_pub = tmp.path().join("weak.pub");
    fs::write(
        &weak_pub,
        format!(
            "untrusted comment: minisign public key\n{}\n",
            B64.encode(weak)
        ),
    )
    .unwrap();
    rejected(&verify(&image, &weak_pub, &[]), "weak (small-order)");
    // The image changed.
    let mut bytes = fs::read(&image).unwrap();
    bytes[0] ^= 1;
    fs::write(&image, bytes).unwrap();
    rejected(
        &verify(&image, &public, &[]),
        "does not match the signature",
    );
}

#[test]
fn legacy_minisign_signatures_need_allow_legacy() {
    let Some(minisign) = peer("minisign") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("fw.bin");
    fs::write(&file, vec![0x5a; 300_000]).unwrap();
    // Several keys: the algorithm field decides, whatever the key id's base64 starts with.
    for n in 0..3 {
        let (pk, sk) = (
            tmp.path().join(format!("m{n}.pub")),
            tmp.path().join(format!("m{n}.key")),
        );
        assert!(run(Command::new(&minisign)
            .args(["-G", "-W", "-p"])
            .arg(&pk)
            .arg("-s")
            .arg(&sk))
        .status
        .success());
        let _ = fs::remove_file(tmp.path().join("fw.bin.minisig"));
        assert!(run(Command::new(&minisign)
            .args(["-S", "-l", "-s"])
            .arg(&sk)
            .arg("-m")
            .arg(&file))
        .status
        .success());
        rejected(&verify(&file, &pk, &[]), "--allow-legacy");
        let o = verify(&file, &pk, &["--allow-legacy"]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains("legacy"));
        let mut bytes = fs::read(&file).unwrap();
        bytes[150_000] ^= 1;
        let changed = tmp.path().join("changed");
        fs::create_dir_all(&changed).unwrap();
        let cf = changed.join("fw.bin");
        fs::write(&cf, bytes).unwrap();
        fs::copy(
            tmp.path().join("fw.bin.minisig"),
            changed.join("fw.bin.minisig"),
        )
        .unwrap();
        rejected(&verify(&cf, &pk, &["--allow-legacy"]), "does not match");
    }
}

#[test]
fn digests_are_checked_by_sha256sum_and_b2sum() {
    let tmp = tempfile::tempdir().unwrap();
    let a = sample_copy("clean.bin", tmp.path());
    let b = sample_copy("router.bin", tmp.path());
    for (alg, tool) in [("sha256", "sha256sum"), ("blake2b512", "b2sum")] {
        let o = run(fwgate().current_dir(tmp.path()).args([
            "digest",
            "--algorithm",
            alg,
            "clean.bin",
            "router.bin",
        ]));
        assert!(o.status.success());
        assert_eq!(stdout(&o).lines().count(), 2);
        if alg == "sha256" {
            assert!(stdout(&o).starts_with(&sha256_file(&a)));
            assert!(stdout(&o).contains(&sha256_file(&b)));
        }
        if let Some(tool) = peer(tool) {
            let sums = tmp.path().join(format!("{alg}.sums"));
            fs::write(&sums, o.stdout).unwrap();
            assert!(run(Command::new(tool)
                .current_dir(tmp.path())
                .arg("-c")
                .arg(&sums))
            .status
            .success());
        }
    }
}

/// Signing streams: a 4 GiB image (sparse, so the test costs no disk) is signed (minisign and
/// raw) and verified under an address-space limit of 1 GiB, which reading it whole could
/// never fit.
#[test]
fn a_4gib_image_is_signed_and_verified_in_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, public, _) = keygen(tmp.path(), "release");
    let image = tmp.path().join("big.img");
    let f = fs::File::create(&image).unwrap();
    f.set_len((4u64 << 30) + 1).unwrap();
    drop(f);
    let limited = |args: &str| {
        let cmd = format!("ulimit -v 1048576 && exec \"$0\" {args}");
        run(Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .arg(env!("CARGO_BIN_EXE_fwgate"))
            .current_dir(tmp.path()))
    };
    let o = limited(&format!(
        "sign big.img --key {} --without-gate --raw",
        key.display()
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = limited(&format!("verify big.img --key {}", public.display()));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        fs::metadata(tmp.path().join("big.img.sig")).unwrap().len(),
        64
    );
}
