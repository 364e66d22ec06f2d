//! The POSIX-shell reader for boot scripts: parse any bytes, then walk what runs, and check
//! the reader's documented bounds.
#![no_main]
use fwgate_scan::shell::{self, Entry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let script = shell::parse(data);
    assert!(script.commands.len() <= shell::MAX_COMMANDS);
    assert!(script.notes.len() <= shell::MAX_NOTES + 1);
    for args in [&[][..], &["start"][..], &["stop"][..]] {
        let entry = Entry {
            args: args.iter().map(|a| a.to_string()).collect(),
            implicit: vec!["start".into(), "boot".into()],
        };
        let reached = shell::reachable(&script, &entry);
        assert!(reached.len() <= script.commands.len());
    }
});
