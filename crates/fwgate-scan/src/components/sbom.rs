//! A CycloneDX 1.6 SBOM of the identified components, meeting BSI TR-03183-2 v2.1.
//!
//! The image is the primary component (`metadata.component`); each identified component
//! carries name, version (omitted when unknown, never guessed), purl and CPE, supplier,
//! licences, the SHA-512 of its deployable file, the `bsi:component:*` properties and its
//! evidence (CycloneDX 1.6 `evidence.identity` and `evidence.occurrences`). No
//! vulnerability data (TR-03183-2 §3.1): that goes in a separate VEX document.

use serde_json::{json, Value};

use super::{Component, Source};
use crate::Report;

/// Who made the SBOM and for which release.
#[derive(Debug, Clone, Default)]
pub struct SbomOptions {
    /// The manufacturer (TR-03183-2: creator of the SBOM), e.g. `Acme Networks GmbH`.
    pub manufacturer: String,
    /// Its web address or e-mail (TR-03183-2 asks for one of them).
    pub contact: Option<String>,
    /// The release version of the image.
    pub release: Option<String>,
    /// SHA-512 of the image file.
    pub image_sha512: Option<String>,
    /// `urn:uuid:…`.
    pub serial: String,
    /// RFC 3339.
    pub timestamp: String,
}

/// SPDX ids written as `license.id` (the schema checks ids against the SPDX list); any
/// other licence string is written as a name.
const SPDX_IDS: &[&str] = &[
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "LGPL-2.0-or-later",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "MIT",
    "ISC",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSD-4-Clause",
    "Apache-2.0",
    "OpenSSL",
    "Zlib",
    "curl",
    "MPL-2.0",
    "X11",
    "SSH-OpenSSH",
];

fn licenses(list: &[String]) -> Value {
    Value::Array(
        list.iter()
            .map(|l| {
                if SPDX_IDS.contains(&l.as_str()) {
                    json!({"license": {"id": l, "acknowledgement": "declared"}})
                } else {
                    json!({"license": {"name": l, "acknowledgement": "declared"}})
                }
            })
            .collect(),
    )
}

fn prop(name: &str, value: impl Into<String>) -> Value {
    json!({"name": name, "value": value.into()})
}

/// A bom-ref that is the same for the same component in the same place.
pub fn bom_ref(c: &Component) -> String {
    let place = c
        .files
        .first()
        .map(|f| f.path.clone())
        .or_else(|| c.evidence.first().map(|e| format!("{}{}", c.root, e.file)))
        .unwrap_or_default();
    format!(
        "{}@{}:{}",
        c.id,
        c.version.as_deref().unwrap_or("unknown"),
        place
    )
}

fn kind(c: &Component) -> &'static str {
    match c.id.as_str() {
        "linux" => "operating-system",
        "u-boot" => "firmware",
        _ if c.files.iter().any(|f| f.inner_path.contains(".so")) => "library",
        "openssl" | "zlib" | "glibc" | "musl" | "uclibc" => "library",
        _ => "application",
    }
}

fn component(c: &Component) -> Value {
    let mut o = serde_json::Map::new();
    o.insert("type".into(), json!(kind(c)));
    o.insert("bom-ref".into(), json!(bom_ref(c)));
    o.insert("name".into(), json!(c.name));
    o.insert("purl".into(), json!(c.purl));
    if let Some(ver) = &c.version {
        o.insert("version".into(), json!(ver));
    }
    if let Some(s) = &c.supplier {
        o.insert("supplier".into(), json!({"name": s}));
    }
    if let Some(cpe) = &c.cpe {
        o.insert("cpe".into(), json!(cpe));
    }
    if !c.licenses.is_empty() {
        o.insert("licenses".into(), licenses(&c.licenses));
    }
    let file = c.files.first();
    if let Some(f) = file {
        o.insert(
            "hashes".into(),
            json!([{"alg": "SHA-512", "content": f.sha512}, {"alg": "SHA-256", "content": f.sha256}]),
        );
    }
    let filename = match file {
        Some(f) => f
            .inner_path
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string(),
        None => c.name.clone(),
    };
    let mut props = vec![
        prop("bsi:component:filename", filename),
        prop(
            "bsi:component:executable",
            if file.is_some_and(|f| f.executable) {
                "executable"
            } else {
                "non-executable"
            },
        ),
        prop("bsi:component:archive", "no archive"),
        prop(
            "bsi:component:structured",
            if file.is_some() {
                "unstructured"
            } else {
                "structured"
            },
        ),
        prop(
            "fwgate:source",
            match c.source {
                Source::Dpkg => "dpkg",
                Source::Opkg => "opkg",
                Source::Binary => "binary",
            },
        ),
    ];
    if c.version.is_none() {
        props.push(prop(
            "fwgate:version",
            "unknown: no version string in the file",
        ));
    }
    if let Some(d) = &c.distro {
        props.push(prop("fwgate:distro", format!("{} {}", d.name, d.version)));
    }
    for f in &c.files {
        props.push(prop("fwgate:file", f.inner_path.clone()));
    }
    if let Some(applets) = &c.applets {
        props.push(prop("fwgate:busybox:applets", applets.join(",")));
    }
    for m in &c.markers {
        props.push(prop("fwgate:marker", m.clone()));
    }
    props.push(prop("fwgate:id", c.id.clone()));
    o.insert("properties".into(), Value::Array(props));
    let technique = match c.source {
        Source::Binary => "binary-analysis",
        _ => "manifest-analysis",
    };
    o.insert(
        "evidence".into(),
        json!({
            "identity": [{
                "field": if c.version.is_some() { "version" } else { "name" },
                "confidence": 1.0,
                "methods": c.evidence.iter().map(|e| json!({
                    "technique": if e.method == "banner" || e.method == "presence" { "binary-analysis" } else { technique },
                    "confidence": if e.method == "presence" { 0.5 } else { 1.0 },
                    "value": format!("{} at {}+{:#x}: {}", e.method, e.file, e.offset, e.matched),
                })).collect::<Vec<_>>(),
            }],
            "occurrences": c.evidence.iter().map(|e| json!({
                "location": e.file,
                "offset": e.offset,
                "additionalContext": e.matched,
            })).collect::<Vec<_>>(),
        }),
    );
    Value::Object(o)
}

/// The SBOM of `report`'s target.
pub fn document(report: &Report, opts: &SbomOptions) -> Value {
    let image = &report.target.subject;
    let mut image_hashes = Vec::new();
    if let Some(h) = &opts.image_sha512 {
        image_hashes.push(json!({"alg": "SHA-512", "content": h}));
    }
    if !image.sha256.is_empty() {
        image_hashes.push(json!({"alg": "SHA-256", "content": image.sha256}));
    }
    let mut primary = json!({
        "type": "firmware",
        "bom-ref": "image",
        "name": image.name,
        "version": opts.release.clone().unwrap_or_else(|| "unversioned".into()),
        "supplier": {"name": opts.manufacturer},
        "manufacturer": {"name": opts.manufacturer},
        "properties": [
            prop("bsi:component:filename", image.name.clone()),
            prop("bsi:component:executable", "non-executable"),
            prop("bsi:component:archive", "archive"),
            prop("bsi:component:structured", "structured"),
        ],
    });
    if !image_hashes.is_empty() {
        primary["hashes"] = Value::Array(image_hashes);
    }
    let refs: Vec<String> = report.components.iter().map(bom_ref).collect();
    let mut deps = vec![json!({"ref": "image", "dependsOn": refs})];
    for r in &refs {
        deps.push(json!({"ref": r, "dependsOn": []}));
    }
    let mut manufacturer = json!({"name": opts.manufacturer});
    if let Some(c) = &opts.contact {
        if c.contains('@') && !c.contains("://") {
            manufacturer["contact"] = json!([{"email": c}]);
        } else {
            manufacturer["url"] = json!([c]);
        }
    }
    let mut doc = json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": opts.serial,
        "version": 1,
        "metadata": {
            "timestamp": opts.timestamp,
            "lifecycles": [{"phase": "post-build"}],
            "tools": {"components": [{
                "type": "application",
                "name": report.tool.name,
                "version": report.tool.version,
            }]},
            "authors": [{"name": opts.manufacturer}],
            "manufacturer": manufacturer,
            "component": primary,
            "properties": [
                prop("fwgate:ruleset", format!("sha256:{}", report.ruleset_digest)),
            ],
        },
        "components": report.components.iter().map(component).collect::<Vec<_>>(),
        "dependencies": deps,
        "compositions": [
            {
                // The components fwgate's identifiers know: others may ship unlisted.
                "aggregate": "incomplete",
                "assemblies": ["image"],
                "dependencies": ["image"],
            },
        ],
    });
    if !refs.is_empty() {
        // What each component links against is not examined yet.
        if let Some(list) = doc["compositions"].as_array_mut() {
            list.push(json!({"aggregate": "unknown", "dependencies": refs}));
        }
    }
    doc
}

/// The components of an SBOM this module wrote, read back for re-matching (`vulns
/// recheck`): identity, version, distribution build, applets and markers. `None` when the
/// document is not a CycloneDX SBOM.
pub fn read_components(doc: &Value) -> Option<Vec<Component>> {
    if doc.get("bomFormat")?.as_str()? != "CycloneDX" {
        return None;
    }
    let list = doc.get("components")?.as_array()?;
    let mut out = Vec::new();
    for c in list {
        let props: Vec<(&str, &str)> = c
            .get("properties")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| Some((p.get("name")?.as_str()?, p.get("value")?.as_str()?)))
                    .collect()
            })
            .unwrap_or_default();
        let get = |n: &str| {
            props
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
        };
        let name = c
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let version = c.get("version").and_then(Value::as_str).map(String::from);
        let source = match get("fwgate:source").as_deref() {
            Some("dpkg") => Source::Dpkg,
            Some("opkg") => Source::Opkg,
            _ => Source::Binary,
        };
        let upstream_version = match source {
            Source::Binary => None,
            _ => version
                .as_deref()
                .map(|v| super::version::upstream_of_package(v).to_string()),
        };
        let distro = get("fwgate:distro").and_then(|d| {
            let (n, v) = d.split_once(' ')?;
            Some(super::Distro {
                name: n.to_string(),
                source_package: None,
                version: v.to_string(),
            })
        });
        out.push(Component {
            id: get("fwgate:id").unwrap_or_else(|| name.clone()),
            name,
            version,
            upstream_version,
            distro,
            purl: c
                .get("purl")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            cpe: c.get("cpe").and_then(Value::as_str).map(String::from),
            supplier: None,
            licenses: Vec::new(),
            source,
            files: Vec::new(),
            evidence: Vec::new(),
            applets: get("fwgate:busybox:applets")
                .map(|a| a.split(',').map(String::from).collect()),
            root: String::new(),
            markers: props
                .iter()
                .filter(|(k, _)| *k == "fwgate:marker")
                .map(|(_, v)| v.to_string())
                .collect(),
        });
    }
    Some(out)
}
