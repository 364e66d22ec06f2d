//! The whole engine: carving, every handler and recogniser, recursion, accounting.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let tmp = tempfile::tempdir().unwrap();
    let image = tmp.path().join("fw.bin");
    std::fs::write(&image, data).unwrap();
    let _ = fwgate_unpack::unpack(&image, &tmp.path().join("out"), fwgate_unpack::fuzz::limits());
});
