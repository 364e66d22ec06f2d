//! The fuzz targets' bodies, run on stable over seeds cut from the committed samples plus
//! deterministic mutations (bounded: a few hundred inputs per handler). A panic here is a
//! bug: in production the engine would catch it, but a handler must not panic at all.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use fwgate_unpack::fuzz;

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../firmware-samples")
            .join(name),
    )
    .unwrap()
}

/// A seed for each handler, cut from the samples at the offsets their manifests give.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let router = sample("router.bin");
    let legacy = sample("legacy.bin");
    let kernel_len = u32::from_be_bytes(router[12..16].try_into().unwrap()) as usize;
    let lzma_len = u32::from_be_bytes(legacy[12..16].try_into().unwrap()) as usize;
    vec![
        ("uimage", router[..64 + kernel_len].to_vec()),
        ("gzip", router[64..64 + kernel_len].to_vec()),
        ("lzma", legacy[64..64 + lzma_len].to_vec()),
        ("squashfs", router[0x20000..].to_vec()),
        ("squashfs", legacy[0x20000..].to_vec()),
    ]
}

#[test]
fn every_handler_survives_mutated_samples() {
    let tmp = tempfile::tempdir().unwrap();
    let mut validated = 0;
    let mut n = 0;
    for (i, (id, seed)) in seeds().into_iter().enumerate() {
        assert!(
            fuzz::handler(id, &seed, &make_dir(tmp.path(), n)),
            "{id} seed"
        );
        for m in fuzz::mutations(&seed, 150, i as u64 + 1) {
            n += 1;
            validated += usize::from(fuzz::handler(id, &m, &make_dir(tmp.path(), n)));
        }
    }
    // The mutations are not all rejected by the probes: extraction is exercised too.
    assert!(validated > 100, "{validated}");
}

#[test]
fn xz_survives_mutations() {
    let tmp = tempfile::tempdir().unwrap();
    // The xz stream inside the samples' SquashFS (etc/config/factory-defaults.xz) is
    // compressed twice; a fresh one is simpler to cut out.
    let seed = xz_stream(b"lan_ipaddr=192.168.1.1\nwifi_ssid=Acme-Setup\n");
    for (n, m) in fuzz::mutations(&seed, 300, 7).enumerate() {
        fuzz::handler("xz", &m, &make_dir(tmp.path(), n));
    }
}

#[test]
fn zstd_survives_mutations() {
    let tmp = tempfile::tempdir().unwrap();
    let seed = zstd::bulk::compress(
        b"lan_ipaddr=192.168.1.1\nwifi_ssid=Acme-Setup\n"
            .repeat(50)
            .as_slice(),
        19,
    )
    .unwrap();
    assert!(fuzz::handler("zstd", &seed, &make_dir(tmp.path(), 0)));
    for (n, m) in fuzz::mutations(&seed, 300, 8).enumerate() {
        fuzz::handler("zstd", &m, &make_dir(tmp.path(), n + 1));
    }
}

#[test]
fn recognisers_survive_mutations() {
    let router = sample("router.bin");
    for (i, chunk) in router.chunks(64 * 1024).enumerate().take(8) {
        for m in fuzz::mutations(chunk, 40, i as u64 + 100) {
            fuzz::recognisers(&m);
        }
    }
}

fn make_dir(root: &std::path::Path, n: usize) -> PathBuf {
    let d = root.join(format!("{n}"));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn xz_stream(data: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    liblzma::read::XzEncoder::new(data, 6)
        .read_to_end(&mut out)
        .unwrap();
    out
}
