//! The fuzz targets for the rule-file, minisign and ledger parsers (`crates/fuzz`), run on
//! stable over real inputs and deterministic mutations of them, bounded. A panic fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;

use common::*;
use fwgate_unpack::fuzz::mutations;

fn rule_sources() -> Vec<(String, Vec<u8>)> {
    let root = repo("rules");
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn rule_files_survive_mutations() {
    let sources = rule_sources();
    assert!(fwgate_scan::RuleSet::from_sources(sources.clone()).is_ok());
    let mut rejected = 0;
    for (i, (path, bytes)) in sources.iter().enumerate() {
        if !path.ends_with(".toml") || path.starts_with("catalog/") {
            continue;
        }
        for m in mutations(bytes, 120, i as u64 + 1) {
            let mut files = sources.clone();
            files[i].1 = m;
            rejected += usize::from(fwgate_scan::RuleSet::from_sources(files).is_err());
        }
    }
    assert!(rejected > 0);
}

#[test]
fn minisign_keys_and_signatures_survive_mutations() {
    let key = fwgate_sign::SecretKey::generate().unwrap();
    let public = key.public();
    let image = fs::read(sample("clean.bin")).unwrap();
    let digests = fwgate_sign::FileDigests::compute(&mut &image[..]).unwrap();
    let sig = fwgate_sign::sign(&key, &digests, "file:clean.bin").unwrap();
    let check = |text: &str, legacy: bool| {
        fwgate_sign::verify(&public, text, &mut std::io::Cursor::new(&image), legacy).is_ok()
    };
    assert!(check(&sig, false));
    let mut verified = 0;
    for m in mutations(sig.as_bytes(), 400, 11) {
        if let Ok(text) = std::str::from_utf8(&m) {
            verified += usize::from(check(text, true));
        }
    }
    // A mutation may only touch the untrusted comment; any other change must not verify.
    assert!(verified < 400);
    for m in mutations(public.to_file_text().as_bytes(), 400, 12) {
        if let Ok(text) = std::str::from_utf8(&m) {
            let _ = fwgate_sign::PublicKey::from_file_text(text);
        }
    }
}

#[test]
fn pem_pkcs8_and_attestations_survive_mutations() {
    let key = fwgate_sign::SecretKey::generate().unwrap();
    let public = key.public();
    let pem = fwgate_sign::pem::public_to_pem(&public).unwrap();
    let mut same = 0;
    for m in mutations(pem.as_bytes(), 300, 13) {
        if let Ok(text) = std::str::from_utf8(&m) {
            if let Ok(k) = fwgate_sign::pem::public_from_pem(text) {
                same += usize::from(k.as_bytes() == public.as_bytes());
            }
        }
    }
    assert!(same < 300);
    let p8 = fwgate_sign::pem::secret_to_pkcs8_pem(&key, b"fuzz password").unwrap();
    for m in mutations(p8.as_bytes(), 300, 14) {
        // The password is never given: parsing alone, and no key-derivation run on input.
        let r = fwgate_sign::pem::secret_from_pkcs8(&m, None, || {
            Err(fwgate_sign::SignError::BadPassword)
        });
        assert!(r.is_err());
    }
    let st = serde_json::json!({"_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "clean.bin", "digest": {"sha256": "00"}}],
        "predicateType": "x", "predicate": {}});
    let env =
        serde_json::to_string(&fwgate_sign::dsse::sign_statement(&key, &st).unwrap()).unwrap();
    let mut verified = 0;
    for m in mutations(env.as_bytes(), 400, 15) {
        if let Ok(text) = std::str::from_utf8(&m) {
            if let Ok(envs) = fwgate_sign::dsse::parse_jsonl(text) {
                verified += envs
                    .iter()
                    .filter(|e| fwgate_sign::dsse::verify_statement(e, &public).is_ok())
                    .count();
            }
        }
    }
    assert!(verified < 400);
}

#[test]
fn ledger_lines_survive_mutations() {
    let tmp = tempfile::tempdir().unwrap();
    let image = sample_copy("clean.bin", tmp.path());
    let ev = tmp.path().join("ev");
    let o = run(fwgate().arg("gate").arg(&image).arg("--evidence").arg(&ev));
    assert_eq!(o.status.code(), Some(0));
    let text = fs::read_to_string(ev.join("ledger.jsonl")).unwrap();
    // DL-3, DL-4 and DL-6.
    assert_eq!(fwgate_evidence::parse_ledger(&text).unwrap().len(), 3);
    for m in mutations(text.as_bytes(), 400, 13) {
        if let Ok(t) = std::str::from_utf8(&m) {
            let _ = fwgate_evidence::parse_ledger(t);
        }
    }
}
