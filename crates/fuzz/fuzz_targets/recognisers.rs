//! The recognisers of formats fwgate detects but does not extract.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fwgate_unpack::fuzz::recognisers(data);
});
