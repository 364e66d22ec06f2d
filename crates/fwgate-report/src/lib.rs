//! Renders a scan [`Report`](fwgate_scan::Report) for people and machines: a text summary,
//! the report as JSON, and SARIF 2.1.0 for code-scanning dashboards.
#![forbid(unsafe_code)]

mod sarif;
mod text;

use std::io::Write;
use std::str::FromStr;

use fwgate_scan::Report;

pub use sarif::to_sarif;
pub use text::write_text;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A readable summary.
    Text,
    /// The report as JSON (`fwgate.report/v1`).
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            "sarif" => Ok(Format::Sarif),
            _ => Err(format!("unknown format {s:?} (text, json, sarif)")),
        }
    }
}

/// Errors while rendering.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Writing the output failed.
    #[error("writing the report")]
    Io(#[from] std::io::Error),
    /// Serialising failed.
    #[error("serialising the report")]
    Json(#[from] serde_json::Error),
}

/// Writes `report` in `format` to `out`.
pub fn render(report: &Report, format: Format, out: &mut dyn Write) -> Result<(), ReportError> {
    match format {
        Format::Text => write_text(report, out)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, report)?;
            writeln!(out)?;
        }
        Format::Sarif => {
            serde_json::to_writer_pretty(&mut *out, &to_sarif(report))?;
            writeln!(out)?;
        }
    }
    Ok(())
}
