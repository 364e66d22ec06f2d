//! Every handler's probe and extract: the first byte picks the handler.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let handlers = fwgate_unpack::HANDLERS;
    let id = handlers[pick as usize % handlers.len()].id();
    let tmp = tempfile::tempdir().unwrap();
    fwgate_unpack::fuzz::handler(id, rest, tmp.path());
});
