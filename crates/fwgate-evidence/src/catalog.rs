//! The requirement catalog (data in `rules/catalog/`), compiled in.

use serde::{Deserialize, Serialize};

const FTC_DLINK: &str = include_str!("../../../rules/catalog/ftc-dlink-2019.toml");

/// The catalog file's path in the repository and its text, as compiled in.
pub fn catalog_source() -> (&'static str, &'static str) {
    ("rules/catalog/ftc-dlink-2019.toml", FTC_DLINK)
}

/// One requirement of the software security program.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// Permanent id, e.g. `DL-3`.
    pub id: String,
    /// What the order requires.
    pub title: String,
    /// How often an assessor expects evidence.
    pub cadence: String,
    /// True when every planned release needs its own evidence.
    pub per_release: bool,
    /// IEC 62443-4-1 practices it maps to.
    pub iec62443: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    requirement: Vec<Requirement>,
}

/// The FTC v. D-Link (2019) catalog.
pub fn catalog() -> Result<Vec<Requirement>, crate::EvidenceError> {
    let file: CatalogFile = toml::from_str(FTC_DLINK).map_err(|e| {
        crate::EvidenceError::Catalog(format!(
            "rules/catalog/ftc-dlink-2019.toml: {}",
            e.message()
        ))
    })?;
    Ok(file.requirement)
}

/// Looks up one requirement.
pub fn requirement(id: &str) -> Result<Requirement, crate::EvidenceError> {
    catalog()?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| crate::EvidenceError::Catalog(format!("no requirement {id} in the catalog")))
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
}
