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

/// Seeds for every handler: each container the committed samples hold (in the image or in
/// an extracted file), cut out at the offset and length the manifest gives; at most two per
/// handler and 1 MiB each.
fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../firmware-samples");
    let mut names = vec![dir.join("router.bin"), dir.join("legacy.bin")];
    if let Ok(rd) = std::fs::read_dir(dir.join("formats")) {
        let mut more: Vec<PathBuf> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_none_or(|e| e != "md"))
            .collect();
        more.sort();
        names.extend(more);
    }
    let mut per: std::collections::BTreeMap<String, usize> = Default::default();
    let mut out = Vec::new();
    for image in names {
        let tmp = tempfile::tempdir().unwrap();
        let tree = fwgate_unpack::unpack(
            &image,
            &tmp.path().join("o"),
            fwgate_unpack::Limits::default(),
        )
        .unwrap();
        for r in &tree.regions {
            let fwgate_unpack::RegionKind::Container { format, .. } = &r.kind else {
                continue;
            };
            let n = per.entry(format.clone()).or_default();
            if *n >= 2 || r.length > 1 << 20 {
                continue;
            }
            let file = if r.file.is_empty() {
                image.clone()
            } else {
                tree.root.join(&r.file)
            };
            let bytes = std::fs::read(file).unwrap();
            let (a, b) = (r.offset as usize, (r.offset + r.length) as usize);
            out.push((format.clone(), bytes[a..b.min(bytes.len())].to_vec()));
            *n += 1;
        }
    }
    out
}

#[test]
fn every_handler_survives_mutated_samples() {
    let tmp = tempfile::tempdir().unwrap();
    let seeds = seeds();
    for h in fwgate_unpack::HANDLERS {
        assert!(
            seeds.iter().any(|(id, _)| id == h.id()),
            "no seed for handler {}",
            h.id()
        );
    }
    let mut validated = 0;
    let mut n = 0;
    for (i, (id, seed)) in seeds.iter().enumerate() {
        assert!(
            fuzz::handler(id, seed, &make_dir(tmp.path(), n)),
            "{id} seed"
        );
        for m in fuzz::mutations(seed, 150, i as u64 + 1) {
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
