//! The rule-file parser and compiler (one rule file with the default-credentials data).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let files = vec![
        ("credentials/FWG-CRED-002.toml".to_string(), data.to_vec()),
        ("data/default-credentials.txt".to_string(), b"root:admin\n".to_vec()),
    ];
    let _ = fwgate_scan::RuleSet::from_sources(files);
});
