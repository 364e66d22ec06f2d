//! Tests over real keys made by openssl, ssh-keygen and dropbearkey (tests/keys/README.md).

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys/", $name)).as_slice()
    };
}

/// (file, bytes, format, algorithm, bits, encrypted)
type Case = (
    &'static str,
    &'static [u8],
    &'static str,
    &'static str,
    Option<u32>,
    bool,
);

const KEYS: &[Case] = &[
    (
        "rsa1024-pkcs1.pem",
        fixture!("rsa1024-pkcs1.pem"),
        "PEM PKCS#1",
        "RSA",
        Some(1024),
        false,
    ),
    (
        "rsa1024-pkcs1.der",
        fixture!("rsa1024-pkcs1.der"),
        "DER PKCS#1",
        "RSA",
        Some(1024),
        false,
    ),
    (
        "rsa2048-pkcs8.pem",
        fixture!("rsa2048-pkcs8.pem"),
        "PEM PKCS#8",
        "RSA",
        Some(2048),
        false,
    ),
    (
        "sshkeygen-rsa-pem",
        fixture!("sshkeygen-rsa-pem"),
        "PEM PKCS#1",
        "RSA",
        Some(1024),
        false,
    ),
    (
        "rsa1024-pkcs1-legacy-encrypted.pem",
        fixture!("rsa1024-pkcs1-legacy-encrypted.pem"),
        "PEM PKCS#1",
        "RSA",
        None,
        true,
    ),
    (
        "ec-p256-sec1.pem",
        fixture!("ec-p256-sec1.pem"),
        "PEM SEC1",
        "EC P-256",
        Some(256),
        false,
    ),
    (
        "ec-p256-sec1.der",
        fixture!("ec-p256-sec1.der"),
        "DER SEC1",
        "EC P-256",
        Some(256),
        false,
    ),
    (
        "ec-p384-sec1.pem",
        fixture!("ec-p384-sec1.pem"),
        "PEM SEC1",
        "EC P-384",
        Some(384),
        false,
    ),
    (
        "ec-p256-pkcs8.der",
        fixture!("ec-p256-pkcs8.der"),
        "DER PKCS#8",
        "EC P-256",
        Some(256),
        false,
    ),
    (
        "ec-p256-pkcs8-encrypted.pem",
        fixture!("ec-p256-pkcs8-encrypted.pem"),
        "PEM encrypted PKCS#8",
        ENCRYPTED_ALGORITHM,
        None,
        true,
    ),
    (
        "ed25519-pkcs8.pem",
        fixture!("ed25519-pkcs8.pem"),
        "PEM PKCS#8",
        "Ed25519",
        Some(256),
        false,
    ),
    (
        "x25519-pkcs8.pem",
        fixture!("x25519-pkcs8.pem"),
        "PEM PKCS#8",
        "X25519",
        Some(256),
        false,
    ),
    (
        "dsa1024-pkcs8.pem",
        fixture!("dsa1024-pkcs8.pem"),
        "PEM PKCS#8",
        "DSA",
        Some(1024),
        false,
    ),
    (
        "dsa1024-traditional.pem",
        fixture!("dsa1024-traditional.pem"),
        "PEM DSA",
        "DSA",
        Some(1024),
        false,
    ),
    (
        "openssh-ed25519",
        fixture!("openssh-ed25519"),
        "OpenSSH",
        "Ed25519",
        Some(256),
        false,
    ),
    (
        "openssh-ed25519-encrypted",
        fixture!("openssh-ed25519-encrypted"),
        "OpenSSH",
        "Ed25519",
        Some(256),
        true,
    ),
    (
        "openssh-rsa1024",
        fixture!("openssh-rsa1024"),
        "OpenSSH",
        "RSA",
        Some(1024),
        false,
    ),
    (
        "openssh-ecdsa256",
        fixture!("openssh-ecdsa256"),
        "OpenSSH",
        "EC P-256",
        Some(256),
        false,
    ),
    (
        "openssh-dsa",
        fixture!("openssh-dsa"),
        "OpenSSH",
        "DSA",
        Some(1024),
        false,
    ),
    (
        "dropbear_rsa_host_key",
        fixture!("dropbear_rsa_host_key"),
        "Dropbear",
        "RSA",
        Some(1024),
        false,
    ),
    (
        "dropbear_ecdsa_host_key",
        fixture!("dropbear_ecdsa_host_key"),
        "Dropbear",
        "EC P-256",
        Some(256),
        false,
    ),
    (
        "dropbear_ed25519_host_key",
        fixture!("dropbear_ed25519_host_key"),
        "Dropbear",
        "Ed25519",
        Some(256),
        false,
    ),
    (
        "dropbear_dss_host_key",
        fixture!("dropbear_dss_host_key"),
        "Dropbear",
        "DSA",
        Some(1024),
        false,
    ),
    (
        "dropbear-rsa-as-openssh",
        fixture!("dropbear-rsa-as-openssh"),
        "OpenSSH",
        "RSA",
        Some(1024),
        false,
    ),
    (
        "dropbear-ed25519-as-openssh",
        fixture!("dropbear-ed25519-as-openssh"),
        "OpenSSH",
        "Ed25519",
        Some(256),
        false,
    ),
    (
        "bundle.p12",
        fixture!("bundle.p12"),
        "PKCS#12",
        ENCRYPTED_ALGORITHM,
        None,
        true,
    ),
];

fn one_key(name: &str, bytes: &[u8]) -> KeyHit {
    let found = scan(bytes);
    assert_eq!(found.keys.len(), 1, "{name}: {:?}", found.keys);
    assert!(!found.truncated, "{name}");
    found.keys[0].clone()
}

#[test]
fn every_real_key_is_found_with_its_type() {
    for (name, bytes, format, algorithm, bits, encrypted) in KEYS {
        let k = one_key(name, bytes);
        assert_eq!(k.offset, 0, "{name}");
        assert_eq!(
            (k.format, k.algorithm.as_str(), k.bits, k.encrypted),
            (*format, *algorithm, *bits, *encrypted),
            "{name}"
        );
    }
}

#[test]
fn one_key_has_one_id_across_formats() {
    let id = |b: &[u8]| one_key("", b).id;
    assert_eq!(
        id(fixture!("rsa1024-pkcs1.pem")),
        id(fixture!("rsa1024-pkcs1.der"))
    );
    assert_eq!(
        id(fixture!("ec-p256-sec1.pem")),
        id(fixture!("ec-p256-pkcs8.der"))
    );
    assert_eq!(
        id(fixture!("ec-p256-sec1.pem")),
        id(fixture!("ec-p256-sec1.der"))
    );
    assert_eq!(
        id(fixture!("dsa1024-pkcs8.pem")),
        id(fixture!("dsa1024-traditional.pem"))
    );
    assert_eq!(
        id(fixture!("dropbear_rsa_host_key")),
        id(fixture!("dropbear-rsa-as-openssh"))
    );
    assert_eq!(
        id(fixture!("dropbear_ed25519_host_key")),
        id(fixture!("dropbear-ed25519-as-openssh"))
    );
    assert_ne!(
        id(fixture!("rsa1024-pkcs1.pem")),
        id(fixture!("openssh-rsa1024"))
    );
}

#[test]
fn public_keys_and_certificates_are_not_private_keys() {
    for bytes in [
        fixture!("rsa1024-public.pem"),
        fixture!("rsa1024-rsapublic.pem"),
        fixture!("authorized_keys"),
        fixture!("cert-rsa1024-sha1.pem"),
        fixture!("cert-ca-p256.der"),
    ] {
        assert_eq!(private_keys(bytes), Vec::new());
    }
}

#[test]
fn headers_without_a_body_are_not_keys() {
    // What ssh-keygen, sshd and libcrypto carry: the markers as strings, with no key between.
    let strings: &[u8] = b"\0-----BEGIN OPENSSH PRIVATE KEY-----\n\0-----END OPENSSH PRIVATE KEY-----\n\0\
        -----BEGIN %s PRIVATE KEY-----\n\0-----END %s PRIVATE KEY-----\0openssh-key-v1\0\0\0\0\x04none\
        \0-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: %s\n\n-----END RSA PRIVATE KEY-----";
    assert_eq!(scan(strings), Found::default());
}

fn decode(b64: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

/// `bytes` with `junk` bytes of noise before and after.
fn embed(bytes: &[u8], junk: usize) -> Vec<u8> {
    let mut out: Vec<u8> = (0..junk)
        .map(|i| u8::try_from(i * 7 % 251).unwrap())
        .collect();
    out.extend_from_slice(bytes);
    out.extend((0..junk).map(|i| u8::try_from(i * 13 % 241).unwrap()));
    out
}

#[test]
fn keys_embedded_in_binaries_are_found_at_their_offset() {
    for (name, bytes, format, ..) in KEYS {
        let k = one_key(name, &embed(bytes, 1001));
        assert_eq!((k.offset, k.format), (1001, *format), "{name}");
    }
}

#[test]
fn pem_in_c_source_and_with_crlf_is_found() {
    let pem = std::str::from_utf8(fixture!("ec-p256-sec1.pem")).unwrap();
    let c_source: String = pem.lines().map(|l| format!("    \"{l}\\n\"\n")).collect();
    let c_source = format!("static const char key[] =\n{c_source};\n");
    assert_eq!(one_key("c", c_source.as_bytes()).algorithm, "EC P-256");
    let json = format!("{{\"key\": \"{}\"}}", pem.replace('\n', "\\n"));
    assert_eq!(one_key("json", json.as_bytes()).offset, 9);
    let crlf = pem.replace('\n', "\r\n");
    assert_eq!(one_key("crlf", crlf.as_bytes()).format, "PEM SEC1");
}

#[test]
fn damaged_keys_are_not_keys() {
    // A byte of d (offset 200), of p (300), of qInv (450) changed: p·q = n or CRT fails.
    for at in [200, 300, 450] {
        let mut der = fixture!("rsa1024-pkcs1.der").to_vec();
        der[at] ^= 1;
        assert_eq!(private_keys(&der), Vec::new(), "byte {at}");
    }
    // An Ed25519 seed changed: it no longer derives the stored public key.
    let mut db = fixture!("dropbear_ed25519_host_key").to_vec();
    db[20] ^= 1;
    assert_eq!(private_keys(&db), Vec::new());
    // A DSA x changed: y = g^x mod p fails.
    let mut dss = fixture!("dropbear_dss_host_key").to_vec();
    let last = dss.len() - 3;
    dss[last] ^= 1;
    assert_eq!(private_keys(&dss), Vec::new());
    // A PEM body cut short.
    let pem = fixture!("rsa2048-pkcs8.pem");
    let mut cut = pem[..400].to_vec();
    cut.extend_from_slice(b"\n-----END PRIVATE KEY-----\n");
    assert_eq!(private_keys(&cut), Vec::new());
    // The OpenSSH check integers differ.
    let text = std::str::from_utf8(fixture!("openssh-ed25519")).unwrap();
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut blob = decode(&b64);
    let mut w = ssh::Wire::new(&blob[ssh::OPENSSH_MAGIC.len()..]);
    let _ = (
        w.string(),
        w.string(),
        w.string(),
        w.u32(),
        w.string(),
        w.u32(),
    );
    let check = ssh::OPENSSH_MAGIC.len() + w.consumed();
    assert!(ssh::openssh(&blob, &mut Budget::new(0)).is_some());
    blob[check] ^= 0x55;
    assert!(ssh::openssh(&blob, &mut Budget::new(0)).is_none());
}

#[test]
fn damaged_putty_and_legacy_encrypted_keys_are_not_keys() {
    // The fourth private line of the RSA key holds bytes of p.
    let text = std::str::from_utf8(fixture!("putty-rsa1024.ppk")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let private = lines
        .iter()
        .position(|l| l.starts_with("Private-Lines"))
        .unwrap();
    let mut damaged = lines.clone();
    let line = damaged[private + 4].replacen(|c: char| c.is_ascii_alphanumeric(), "+", 1);
    assert_ne!(line, lines[private + 4]);
    damaged[private + 4] = &line;
    assert_eq!(private_keys(damaged.join("\n").as_bytes()), Vec::new());
    assert_eq!(private_keys(lines.join("\n").as_bytes()).len(), 1);
    // Legacy encryption with an IV that is not hex, or ciphertext not in whole blocks.
    let legacy = std::str::from_utf8(fixture!("rsa1024-pkcs1-legacy-encrypted.pem")).unwrap();
    let dek = legacy.lines().find(|l| l.starts_with("DEK-Info")).unwrap();
    assert_eq!(
        private_keys(legacy.replace(dek, "DEK-Info: AES-128-CBC,XYZ").as_bytes()),
        Vec::new()
    );
    let body_line = legacy.lines().nth(4).unwrap();
    assert_eq!(
        private_keys(legacy.replacen(body_line, &body_line[..60], 1).as_bytes()),
        Vec::new()
    );
}

#[test]
fn raw_openssh_blob_and_unusual_pem_labels_are_found() {
    let text = std::str::from_utf8(fixture!("openssh-ecdsa256")).unwrap();
    let blob = decode(
        &text
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>(),
    );
    let k = one_key("raw openssh", &embed(&blob, 500));
    assert_eq!(
        (k.format, k.offset, k.algorithm.as_str()),
        ("OpenSSH", 500, "EC P-256")
    );
    let any = std::str::from_utf8(fixture!("ed25519-pkcs8.pem"))
        .unwrap()
        .replace("PRIVATE KEY", "ANY PRIVATE KEY");
    assert_eq!(one_key("any", any.as_bytes()).algorithm, "Ed25519");
}

#[test]
fn a_pkcs8_key_is_reported_once_not_also_its_inner_pkcs1() {
    let text = std::str::from_utf8(fixture!("rsa2048-pkcs8.pem")).unwrap();
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = decode(&b64);
    let k = one_key("pkcs8 der", &embed(&der, 33));
    assert_eq!((k.format, k.offset), ("DER PKCS#8", 33));
}

#[test]
fn many_keys_are_capped_and_flagged() {
    let one = fixture!("ec-p256-sec1.der");
    let many: Vec<u8> = std::iter::repeat_n(one, MAX_KEYS + 10)
        .flatten()
        .copied()
        .collect();
    let found = scan(&many);
    assert_eq!(found.keys.len(), MAX_KEYS);
    assert!(found.truncated);
    assert_eq!(found.keys[1].offset, one.len());
}

#[test]
fn near_miss_floods_spend_the_budget_and_say_so() {
    let mut bad = fixture!("dropbear_ed25519_host_key").to_vec();
    bad[20] ^= 1;
    let flood = [
        bad.repeat(600),
        fixture!("dropbear_ed25519_host_key").to_vec(),
    ]
    .concat();
    let found = scan(&flood);
    assert!(found.keys.is_empty());
    assert!(found.truncated);
    let few = [
        bad.repeat(10),
        fixture!("dropbear_ed25519_host_key").to_vec(),
    ]
    .concat();
    let found = scan(&few);
    assert_eq!((found.keys.len(), found.truncated), (1, false));
}

#[test]
fn certificates_report_subject_expiry_ca_and_weakness() {
    let leaf = certificates(fixture!("cert-rsa1024-sha1.pem"));
    assert_eq!(leaf.len(), 1);
    let leaf = &leaf[0];
    assert_eq!(leaf.subject, "CN=fwgate test device, O=Example");
    assert_eq!(leaf.key, "RSA 1024");
    assert!(!leaf.is_ca);
    assert_eq!(
        leaf.weak,
        ["RSA key of 1024 bits", "sha1WithRSAEncryption signature"]
    );
    assert!(leaf.not_after_unix > 1_700_000_000);
    let ca = certificates(fixture!("cert-ca-p256.pem"));
    let der = certificates(&embed(fixture!("cert-ca-p256.der"), 77));
    assert_eq!(ca.len(), 1);
    assert_eq!(der.len(), 1);
    assert!(ca[0].is_ca);
    assert_eq!((ca[0].key.as_str(), ca[0].weak.len()), ("EC P-256", 0));
    assert_eq!((der[0].offset, der[0].id), (77, ca[0].id));
    assert!(leaf.not_after_unix < ca[0].not_after_unix);
}

#[test]
fn a_ca_bundle_yields_every_certificate() {
    let bundle = [
        fixture!("cert-ca-p256.pem"),
        fixture!("cert-rsa1024-sha1.pem"),
        fixture!("cert-ca-p256.pem"),
    ]
    .concat();
    let certs = certificates(&bundle);
    assert_eq!(
        certs.iter().map(|c| c.is_ca).collect::<Vec<_>>(),
        [true, false, true]
    );
    assert_eq!(certs[1].offset, fixture!("cert-ca-p256.pem").len());
}

/// The stable-toolchain twin of the fuzz target: truncations and byte flips of every
/// fixture must not panic (and a truncated key must not parse as a longer one).
#[test]
fn mutations_never_panic() {
    for (name, bytes, ..) in KEYS {
        for cut in 0..bytes.len() {
            let found = scan(&bytes[..cut]);
            assert!(
                found.keys.iter().all(|k| k.offset < cut),
                "{name} cut {cut}"
            );
        }
        let mut m = bytes.to_vec();
        for i in (0..m.len()).step_by(3) {
            m[i] ^= 0xa5;
            let _ = scan(&m);
            m[i] ^= 0xa5;
        }
    }
}

/// Scans the files of real packages for private keys: every hit is a false positive. Also
/// plants a key inside the largest file, which must then be found (once, at its offset).
/// Set FWGATE_REAL_BINARIES to a directory (see tests/keys/real-binaries.sh); skipped otherwise.
#[test]
fn real_binaries_have_no_private_keys() {
    let Some(dir) = std::env::var_os("FWGATE_REAL_BINARIES") else {
        eprintln!("FWGATE_REAL_BINARIES not set: skipped");
        return;
    };
    let mut stack = vec![std::path::PathBuf::from(dir)];
    let (mut files, mut bytes, mut certs, mut hits) = (0usize, 0usize, 0usize, Vec::new());
    let mut largest = Vec::new();
    let started = std::time::Instant::now();
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().flatten().map(|e| e.path()));
        } else if meta.is_file() {
            let data = std::fs::read(&p).unwrap();
            files += 1;
            bytes += data.len();
            let found = scan(&data);
            certs += found.certs.len();
            hits.extend(found.keys.into_iter().map(|k| (p.clone(), k)));
            if data.len() > largest.len() {
                largest = data;
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "real binaries: {files} files, {bytes} bytes, {} private-key hits, {certs} certificates, {:.0} MB/s",
        hits.len(),
        bytes as f64 / 1e6 / secs
    );
    assert!(files > 0);
    assert!(hits.is_empty(), "{hits:?}");
    let middle = largest.len() / 2;
    let planted = [
        &largest[..middle],
        fixture!("dropbear_ed25519_host_key"),
        &largest[middle..],
    ]
    .concat();
    let keys = private_keys(&planted);
    assert_eq!(
        keys.iter()
            .map(|k| (k.offset, k.format))
            .collect::<Vec<_>>(),
        [(middle, "Dropbear")]
    );
}
