//! Requirement catalogs (data in `rules/catalog/`), compiled in: the FTC's order against
//! D-Link (2019), the EU Cyber Resilience Act (Regulation (EU) 2024/2847) and ETSI EN 303 645
//! V3.1.3. A product's policy selects catalogs and requirements from them.

use serde::{Deserialize, Serialize};

/// The catalogs compiled in: repository path and text.
const SOURCES: [(&str, &str); 3] = [
    (
        "rules/catalog/ftc-dlink-2019.toml",
        include_str!("../../../rules/catalog/ftc-dlink-2019.toml"),
    ),
    (
        "rules/catalog/cra-2024.toml",
        include_str!("../../../rules/catalog/cra-2024.toml"),
    ),
    (
        "rules/catalog/etsi-en-303-645.toml",
        include_str!("../../../rules/catalog/etsi-en-303-645.toml"),
    ),
];

/// The kinds of evidence a requirement can name (`evidence = [...]` in a catalog, `--kind`
/// of `fwgate evidence add`).
pub const EVIDENCE_KINDS: [&str; 25] = [
    "security-spec",
    "threat-model",
    "risk-assessment",
    "static-analysis",
    "vulnerability-scan",
    "sbom",
    "pen-test",
    "fuzzing",
    "sarif",
    "remediation-record",
    "vulnerability-monitoring",
    "disclosure-policy",
    "security-txt",
    "update-notice",
    "support-period",
    "end-of-support-notice",
    "signature",
    "attestation",
    "training-record",
    "assessment-report",
    "technical-documentation",
    "conformity-declaration",
    "user-information",
    "incident-report",
    "other",
];

/// The D-Link catalog's path in the repository and its text, as compiled in.
pub fn catalog_source() -> (&'static str, &'static str) {
    SOURCES[0]
}

/// One requirement of a catalog.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// Permanent id, e.g. `DL-3`, `CRA-I-1.2a`, `EN-5.1-1`.
    pub id: String,
    /// Where the text says it, e.g. `Annex I Part I (2)(a)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clause: Option<String>,
    /// What must be true.
    pub title: String,
    /// How often an assessor expects evidence.
    pub cadence: String,
    /// True when every release needs its own evidence.
    pub per_release: bool,
    /// Kinds of evidence that satisfy it ([`EVIDENCE_KINDS`]).
    #[serde(default)]
    pub evidence: Vec<String>,
    /// True when fwgate produces the evidence itself.
    #[serde(default)]
    pub automatic: bool,
    /// How old evidence may be, in days, by default (a policy may set its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_days: Option<u32>,
    /// IEC 62443-4-1 practices it maps to.
    pub iec62443: Vec<String>,
    /// EN 303 645's provision status: `M`, `R`, `M C`, `R C`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// What a catalog is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CatalogMeta {
    /// Id, the file's stem: `ftc-dlink-2019`, `cra-2024`, `etsi-en-303-645`.
    pub id: String,
    /// What it encodes.
    pub title: String,
    /// The edition or text encoded.
    pub edition: String,
    /// Where that text is published.
    pub source: String,
}

/// One catalog: what it is, where it came from, and its requirements.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// Its header.
    pub meta: CatalogMeta,
    /// Repository path.
    pub path: &'static str,
    /// The file's text (hashed into policies and bundles).
    pub text: &'static str,
    /// Requirements, in file order.
    pub requirements: Vec<Requirement>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    catalog: CatalogMeta,
    requirement: Vec<Requirement>,
}

fn parse(path: &'static str, text: &'static str) -> Result<Catalog, crate::EvidenceError> {
    let err = |m: String| crate::EvidenceError::Catalog(format!("{path}: {m}"));
    let file: CatalogFile = toml::from_str(text).map_err(|e| err(e.message().to_string()))?;
    let mut seen = std::collections::BTreeSet::new();
    for r in &file.requirement {
        if !seen.insert(r.id.as_str()) {
            return Err(err(format!("requirement {} twice", r.id)));
        }
        if let Some(k) = r
            .evidence
            .iter()
            .find(|k| !EVIDENCE_KINDS.contains(&k.as_str()))
        {
            return Err(err(format!("{}: unknown evidence kind {k:?}", r.id)));
        }
    }
    Ok(Catalog {
        meta: file.catalog,
        path,
        text,
        requirements: file.requirement,
    })
}

/// Every catalog compiled in.
pub fn catalogs() -> Result<Vec<Catalog>, crate::EvidenceError> {
    SOURCES.iter().map(|(p, t)| parse(p, t)).collect()
}

/// The catalog with id `id`.
pub fn catalog_by_id(id: &str) -> Result<Catalog, crate::EvidenceError> {
    catalogs()?
        .into_iter()
        .find(|c| c.meta.id == id)
        .ok_or_else(|| {
            let ids: Vec<String> = catalogs()
                .map(|cs| cs.into_iter().map(|c| c.meta.id).collect())
                .unwrap_or_default();
            crate::EvidenceError::Catalog(format!(
                "no catalog {id:?} (there are: {})",
                ids.join(", ")
            ))
        })
}

/// The FTC v. D-Link (2019) catalog's requirements.
pub fn catalog() -> Result<Vec<Requirement>, crate::EvidenceError> {
    Ok(catalog_by_id("ftc-dlink-2019")?.requirements)
}

/// Looks up one requirement in any catalog.
pub fn requirement(id: &str) -> Result<Requirement, crate::EvidenceError> {
    catalogs()?
        .into_iter()
        .flat_map(|c| c.requirements)
        .find(|r| r.id == id)
        .ok_or_else(|| {
            crate::EvidenceError::Catalog(format!("no requirement {id} in the catalogs"))
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn catalog_has_the_orders_requirements() {
        let c = super::catalog().unwrap();
        let ids: Vec<_> = c.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "DL-1", "DL-2", "DL-3", "DL-4", "DL-5", "DL-6", "DL-7", "DL-8", "DL-9", "DL-10",
                "DL-11", "DL-A"
            ]
        );
        assert!(super::requirement("DL-3").unwrap().per_release);
    }

    #[test]
    fn every_catalog_parses_with_unique_ids_across_catalogs() {
        let cs = super::catalogs().unwrap();
        assert_eq!(cs.len(), 3);
        let mut all = std::collections::BTreeSet::new();
        for c in &cs {
            assert!(c.path.ends_with(&format!("{}.toml", c.meta.id)));
            for r in &c.requirements {
                assert!(all.insert(r.id.clone()), "{} twice", r.id);
                assert!(!r.title.is_empty() && !r.cadence.is_empty());
            }
        }
        let cra = super::catalog_by_id("cra-2024").unwrap();
        // Annex I Part I (1) and (2)(a)-(m), Part II (1)-(8), Annex VII 1-8.
        for id in [
            "CRA-I-1.1",
            "CRA-I-1.2a",
            "CRA-I-1.2m",
            "CRA-I-2.1",
            "CRA-I-2.8",
            "CRA-VII-8",
        ] {
            assert!(cra.requirements.iter().any(|r| r.id == id), "{id}");
        }
        let en = super::catalog_by_id("etsi-en-303-645").unwrap();
        assert!(en.requirements.iter().any(|r| r.id == "EN-5.0-1"));
        assert!(en.requirements.iter().all(|r| r.status.is_some()));
        assert!(super::catalog_by_id("nope").is_err());
    }
}
