//! Package databases: dpkg's and opkg's status files, the packager's word on what is
//! installed in which version.

use serde::{Deserialize, Serialize};

use super::Source;

/// One installed package.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Package {
    /// Binary package name.
    pub name: String,
    /// Full version.
    pub version: String,
    /// Source package (dpkg `Source:` without its version).
    pub source: Option<String>,
    /// Architecture.
    pub architecture: Option<String>,
    /// Maintainer.
    pub maintainer: Option<String>,
    /// Licence (opkg `License:`), split on ` or `/`,`.
    pub license: Vec<String>,
    /// Offset of the stanza in the file.
    pub offset: u64,
}

/// A parsed status file.
#[derive(Debug, Clone)]
pub struct PackageDb {
    /// dpkg or opkg.
    pub kind: Source,
    /// Device path of the file.
    pub path: String,
    /// Installed packages.
    pub packages: Vec<Package>,
}

/// True for the status files fwgate reads (device path without the leading `/`).
pub fn is_database(path: &str) -> bool {
    kind_of(path).is_some()
}

fn kind_of(path: &str) -> Option<Source> {
    if path == "var/lib/dpkg/status" || path.starts_with("var/lib/dpkg/status.d/") {
        return Some(Source::Dpkg);
    }
    let opkg = [
        "usr/lib/opkg/status",
        "var/lib/opkg/status",
        "usr/lib/ipkg/status",
        "var/lib/ipkg/status",
    ];
    if opkg.contains(&path)
        || (path.starts_with("usr/lib/opkg/info/") && path.ends_with(".control"))
    {
        return Some(Source::Opkg);
    }
    None
}

/// Parses the Debian-control stanzas of a status file. Packages that are not installed
/// (dpkg `Status:` other than `install ok installed`, or opkg's `not-installed`) are left
/// out; a stanza without a name or version is skipped.
pub fn parse(path: &str, content: &[u8]) -> Option<PackageDb> {
    let kind = kind_of(path)?;
    let text = String::from_utf8_lossy(content);
    let mut packages = Vec::new();
    let mut offset = 0usize;
    for stanza in text.split("\n\n") {
        let at = offset;
        offset += stanza.len() + 2;
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in stanza.lines() {
            if line.starts_with([' ', '\t']) {
                continue; // continuation of a multi-line field
            }
            if let Some((k, v)) = line.split_once(':') {
                fields.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let get = |k: &str| {
            fields
                .iter()
                .find(|(f, _)| f == k)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let (Some(name), Some(version)) = (get("package"), get("version")) else {
            continue;
        };
        if let Some(status) = get("status") {
            let installed = match kind {
                Source::Dpkg => status.ends_with(" installed") && status.starts_with("install "),
                _ => status.contains("installed") && !status.contains("not-installed"),
            };
            if !installed {
                continue;
            }
        } else if kind == Source::Dpkg && path == "var/lib/dpkg/status" {
            continue;
        }
        packages.push(Package {
            name,
            version,
            source: get("source")
                .map(|s| s.split_whitespace().next().unwrap_or_default().to_string()),
            architecture: get("architecture"),
            maintainer: get("maintainer"),
            license: get("license")
                .map(|l| {
                    l.split([',', '/'])
                        .flat_map(|p| p.split(" or "))
                        .map(|p| p.trim().to_string())
                        .filter(|p| !p.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            offset: at as u64,
        });
    }
    Some(PackageDb {
        kind,
        path: path.to_string(),
        packages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_status_lists_installed_packages_only() {
        let s = b"Package: dropbear-bin\nStatus: install ok installed\nArchitecture: armhf\nSource: dropbear (2022.83-1)\nVersion: 2022.83-1+deb12u1\nDescription: x\n multi\n\nPackage: telnetd\nStatus: deinstall ok config-files\nVersion: 0.17-44\n";
        let db = parse("var/lib/dpkg/status", s).unwrap();
        assert_eq!(db.packages.len(), 1);
        let p = &db.packages[0];
        assert_eq!(p.name, "dropbear-bin");
        assert_eq!(p.source.as_deref(), Some("dropbear"));
        assert_eq!(p.version, "2022.83-1+deb12u1");
    }

    #[test]
    fn opkg_status_and_control_files() {
        let s = b"Package: dropbear\nVersion: 2020.81-2\nStatus: install user installed\nLicense: MIT\n\nPackage: x\nVersion: 1\nStatus: install ok not-installed\n";
        let db = parse("usr/lib/opkg/status", s).unwrap();
        assert_eq!(db.packages.len(), 1);
        assert_eq!(db.packages[0].license, vec!["MIT".to_string()]);
        assert!(is_database("usr/lib/opkg/info/busybox.control"));
        assert!(!is_database("etc/status"));
    }
}
