//! Helpers shared by the end-to-end tests: the built binary, samples, real peer tools.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod fidelity;

pub fn fwgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fwgate"))
}

/// `fwgate keygen` of an unencrypted key named `release` in `dir`: (secret, minisign public).
pub fn keygen(dir: &Path) -> (PathBuf, PathBuf) {
    let o = run(fwgate().args(["keygen", "--out-dir"]).arg(dir).args([
        "--name",
        "release",
        "--unencrypted",
    ]));
    assert!(o.status.success());
    (dir.join("release.key"), dir.join("release.pub"))
}

pub fn bin_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_fwgate"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../firmware-samples")
        .join(name)
}

pub fn repo(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// Copies a sample into `dir` (so signatures and outputs land in a temporary place).
pub fn sample_copy(name: &str, dir: &Path) -> PathBuf {
    let to = dir.join(name);
    std::fs::copy(sample(name), &to).unwrap();
    to
}

pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("spawn");
    eprintln!(
        "$ {cmd:?}\n--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn sha256_file(p: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(p).unwrap()))
}

/// A real peer tool (minisign, openssl). On a developer machine without it, the calling
/// test prints why and passes; where FWGATE_REQUIRE_PEERS is set (`.ci/run` sets it) a
/// missing peer fails the test, so CI can never skip interoperability silently.
pub fn peer(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("FWGATE_REQUIRE_PEERS").is_none(),
            "{name} is required (FWGATE_REQUIRE_PEERS is set): apt-get install {name}"
        );
        eprintln!("SKIPPED: {name} is not installed; interoperability with it was not checked");
    }
    found
}
