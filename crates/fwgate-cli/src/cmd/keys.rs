//! `fwgate keygen`, `fwgate sign`, `fwgate verify`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use fwgate_sign::{FileDigests, PublicKey, SecretKey, Zeroizing};

use crate::args::{KeygenArgs, SignArgs, VerifyArgs};
use crate::Outcome;

/// The environment variable an encrypted key's password is read from when set.
pub const PASSWORD_ENV: &str = "FWGATE_KEY_PASSWORD";

fn password(prompt: &str, confirm: bool) -> fwgate_sign::Result<Zeroizing<Vec<u8>>> {
    if let Ok(p) = std::env::var(PASSWORD_ENV) {
        return Ok(Zeroizing::new(p.into_bytes()));
    }
    let ask = |p: &str| rpassword::prompt_password(p).map(|s| Zeroizing::new(s.into_bytes()));
    let io = |e| fwgate_sign::SignError::Io {
        path: PathBuf::from("/dev/tty"),
        op: "read password (or set FWGATE_KEY_PASSWORD)",
        source: e,
    };
    let first = ask(prompt).map_err(io)?;
    if confirm {
        let again = ask("Password (again): ").map_err(io)?;
        if *again != *first {
            return Err(fwgate_sign::SignError::BadPassword);
        }
    }
    Ok(first)
}

pub fn keygen(a: KeygenArgs) -> Result<Outcome> {
    if a.name.is_empty() || a.name.contains('/') {
        bail!("--name must be a plain file name");
    }
    fs::create_dir_all(&a.out_dir).with_context(|| format!("{}: create", a.out_dir.display()))?;
    let key_path = a.out_dir.join(format!("{}.key", a.name));
    let pub_path = a.out_dir.join(format!("{}.pub", a.name));
    for p in [&key_path, &pub_path] {
        if p.exists() {
            bail!(
                "{} already exists; refusing to overwrite a key",
                p.display()
            );
        }
    }
    let sk = SecretKey::generate()?;
    let pw = if a.unencrypted {
        None
    } else {
        Some(password("Password for the new key: ", true)?)
    };
    let text = sk.to_file_text(pw.as_ref().map(|p| p.as_slice()))?;
    fwgate_sign::write_new(&key_path, text.as_bytes(), 0o600)?;
    fwgate_sign::write_new(&pub_path, sk.public().to_file_text().as_bytes(), 0o644)?;
    println!("key id      {}", sk.id);
    println!(
        "secret key  {} (mode 0600{})",
        key_path.display(),
        if a.unencrypted {
            ", unencrypted"
        } else {
            ", scrypt-encrypted"
        }
    );
    println!("public key  {}", pub_path.display());
    println!("verify with minisign -Vm IMAGE -p {}", pub_path.display());
    Ok(Outcome::Pass)
}

pub fn load_secret(path: &Path) -> Result<SecretKey> {
    let text = fwgate_sign::read_secret(path)?;
    SecretKey::from_file_text(&text, || {
        password(&format!("Password for {}: ", path.display()), false)
    })
    .with_context(|| format!("{}: loading secret key", path.display()))
}

fn digests(image: &Path) -> Result<FileDigests> {
    let mut f = fs::File::open(image).with_context(|| format!("{}: open", image.display()))?;
    FileDigests::compute(&mut f).with_context(|| format!("{}: read", image.display()))
}

fn sig_path(image: &Path, explicit: Option<&Path>) -> PathBuf {
    explicit.map(Path::to_path_buf).unwrap_or_else(|| {
        let mut s = image.as_os_str().to_owned();
        s.push(".minisig");
        PathBuf::from(s)
    })
}

/// Signs `image` with `key`; returns the signature path and the trusted comment.
/// With `expect_sha256`, refuses to sign unless the file still has that digest (the gate
/// passes the digest of the bytes it scanned, so a file swapped meanwhile is never signed).
pub fn sign_image(
    image: &Path,
    key: &SecretKey,
    release: Option<&str>,
    output: Option<&Path>,
    expect_sha256: Option<&str>,
) -> Result<(PathBuf, String)> {
    let d = digests(image)?;
    if let Some(expected) = expect_sha256 {
        if d.sha256 != expected {
            bail!(
                "{}: the file changed after it was scanned (sha256 {} now, {expected} scanned); not signed",
                image.display(),
                d.sha256
            );
        }
    }
    let name = image
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name: String = name
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut tc = format!("timestamp:{now}\tfile:{name}");
    if let Some(v) = release {
        let v: String = v.chars().filter(|c| !c.is_control()).collect();
        tc.push_str(&format!("\tversion:{v}"));
    }
    tc.push_str(&format!("\tsha256:{}\thashed", d.sha256));
    let text = fwgate_sign::sign(key, &d, &tc)?;
    let path = sig_path(image, output);
    super::write_atomic(&path, text.as_bytes())?;
    Ok((path, tc))
}

pub fn sign(a: SignArgs) -> Result<Outcome> {
    let key = load_secret(&a.key)?;
    let (path, tc) = sign_image(
        &a.image,
        &key,
        a.release.as_deref(),
        a.output.as_deref(),
        None,
    )?;
    println!("signed      {} with key {}", a.image.display(), key.id);
    println!("signature   {}", path.display());
    println!("trusted     {tc}");
    Ok(Outcome::Pass)
}

pub fn verify(a: VerifyArgs) -> Result<Outcome> {
    let pk_text = fs::read_to_string(&a.key)
        .with_context(|| format!("{}: read public key", a.key.display()))?;
    let pk = PublicKey::from_file_text(&pk_text)
        .with_context(|| format!("{}: public key", a.key.display()))?;
    let path = sig_path(&a.image, a.sig.as_deref());
    let sig =
        fs::read_to_string(&path).with_context(|| format!("{}: read signature", path.display()))?;
    let d = digests(&a.image)?;
    let legacy = if sig.lines().nth(1).is_some_and(|l| l.starts_with("RWQ")) {
        Some(super::read(&a.image)?)
    } else {
        None
    };
    match fwgate_sign::verify(&pk, &d, &sig, legacy.as_deref()) {
        Ok(v) => {
            println!(
                "signature OK: {} signed by key {}",
                a.image.display(),
                v.key_id
            );
            println!("trusted comment: {}", v.trusted_comment);
            Ok(Outcome::Pass)
        }
        Err(
            e @ (fwgate_sign::SignError::BadSignature(_) | fwgate_sign::SignError::WrongKey { .. }),
        ) => {
            eprintln!("fwgate: {}: {e}", a.image.display());
            Ok(Outcome::PolicyFailed)
        }
        Err(e) => Err(e).with_context(|| format!("{}: signature", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_changed_after_scanning_is_not_signed() {
        let tmp = tempfile::tempdir().unwrap();
        let image = tmp.path().join("fw.bin");
        fs::write(&image, b"scanned bytes").unwrap();
        let scanned = digests(&image).unwrap().sha256;
        fs::write(&image, b"swapped bytes").unwrap();
        let key = SecretKey::generate().unwrap();
        let err = sign_image(&image, &key, None, None, Some(&scanned)).unwrap_err();
        assert!(
            format!("{err:#}").contains("changed after it was scanned"),
            "{err:#}"
        );
        assert!(!tmp.path().join("fw.bin.minisig").exists());
        fs::write(&image, b"scanned bytes").unwrap();
        sign_image(&image, &key, None, None, Some(&scanned)).unwrap();
        assert!(tmp.path().join("fw.bin.minisig").exists());
    }
}
