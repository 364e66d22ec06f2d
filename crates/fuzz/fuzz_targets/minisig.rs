//! minisign public keys and signature files.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = fwgate_sign::PublicKey::from_file_text(text);
    let key = fwgate_sign::SecretKey::generate().unwrap().public();
    let digests = fwgate_sign::FileDigests::compute(&mut &b"firmware"[..]).unwrap();
    let _ = fwgate_sign::verify(&key, &digests, text, Some(b"firmware"));
});
