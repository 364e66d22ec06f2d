//! Detect, carve and safely extract firmware containers.
//!
//! [`unpack`] takes an image and an output directory and returns a [`Tree`]: every file,
//! directory and link extracted, the chain of formats it came through, the byte regions of
//! each carved file, and the problems met on the way. Formats are [`Handler`]s listed in
//! [`HANDLERS`]; all writes go through the [`Jail`]; [`Limits`] bound depth, size, count,
//! expansion ratio and time.
#![forbid(unsafe_code)]

mod coverage;
mod engine;
mod error;
pub mod formats;
#[doc(hidden)]
pub mod fuzz;
mod handler;
mod jail;
mod limits;
mod source;
mod tree;
pub mod worker;

pub use engine::{unpack, unpack_with_progress};
pub use error::{error_chain, Result, UnpackError};
pub use formats::{handler, Recogniser, HANDLERS, RECOGNISERS};
pub use handler::{human_size, Attrs, Handler, Output, Probe};
pub use jail::{Jail, Written};
pub use limits::Limits;
pub use source::{Source, SourceReader};
pub use tree::{
    Device, DeviceKind, Node, NodeKind, Origin, Problem, Region, RegionKind, Subject, Tree,
    MANIFEST_SCHEMA,
};
