//! Everything a verifier parses from outside: minisign and PEM public keys, signature files
//! (prehashed and legacy), PKCS#8 secret keys, and DSSE attestation lines.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fwgate_sign::pem::secret_from_pkcs8(data, None, || {
        Err(fwgate_sign::SignError::BadPassword)
    });
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = fwgate_sign::PublicKey::from_any_text(text);
    let key = fwgate_sign::SecretKey::generate().unwrap().public();
    let _ = fwgate_sign::verify(&key, text, &mut std::io::Cursor::new(b"firmware"), true);
    if let Ok(envelopes) = fwgate_sign::dsse::parse_jsonl(text) {
        for e in &envelopes {
            let _ = fwgate_sign::dsse::verify_statement(e, &key);
        }
    }
});
