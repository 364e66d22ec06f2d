//! Private-key and certificate detection over arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let found = fwgate_scan::keys::scan(data);
    assert!(found.keys.len() <= fwgate_scan::keys::MAX_KEYS);
    assert!(found.certs.len() <= fwgate_scan::keys::MAX_CERTS);
    assert!(found.keys.iter().all(|k| k.offset < data.len()));
});
