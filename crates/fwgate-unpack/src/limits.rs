//! Bounds on what an extraction may consume.

use std::time::{Duration, Instant};

use serde::Serialize;

/// Bounds on one extraction. Every bound is checked while writing, so a hostile image is stopped
/// at the bound, not after it.
#[derive(Debug, Clone, Serialize)]
pub struct Limits {
    /// How deep containers may nest (the image itself is depth 0).
    pub max_depth: usize,
    /// Total bytes written to the output directory.
    pub max_total_bytes: u64,
    /// Largest single file written.
    pub max_file_bytes: u64,
    /// Largest image accepted. It is read by position, never loaded, so this only bounds
    /// the work (an eMMC dump of many GiB is fine).
    pub max_image_bytes: u64,
    /// Number of files, directories and links created.
    pub max_entries: u64,
    /// Largest ratio of bytes written by one decompressor to the bytes it consumed.
    pub max_ratio: u64,
    /// Wall-clock budget for the whole extraction.
    #[serde(serialize_with = "secs")]
    pub timeout: Duration,
    /// When set, the instant the budget ends (so that unpacking and scanning share one
    /// deadline); otherwise `timeout` from the start of the extraction.
    #[serde(skip)]
    pub deadline: Option<Instant>,
    /// When set, every container is extracted in a limited worker process (see
    /// [`crate::worker`]); otherwise in this process, under a panic guard only.
    #[serde(skip)]
    pub worker: Option<crate::worker::WorkerSpec>,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 8,
            max_total_bytes: 4 << 30,
            max_file_bytes: 1 << 30,
            max_image_bytes: 64 << 30,
            max_entries: 200_000,
            max_ratio: 1000,
            timeout: Duration::from_secs(600),
            deadline: None,
            worker: None,
        }
    }
}

/// What has been consumed so far against a [`Limits`].
#[derive(Debug)]
pub(crate) struct Budget {
    pub limits: Limits,
    pub deadline: Instant,
    pub bytes: u64,
    pub entries: u64,
}

impl Budget {
    pub fn new(limits: Limits) -> Self {
        Budget {
            deadline: limits
                .deadline
                .unwrap_or_else(|| Instant::now() + limits.timeout),
            limits,
            bytes: 0,
            entries: 0,
        }
    }

    pub fn check_time(&self) -> crate::Result<()> {
        if Instant::now() > self.deadline {
            return Err(crate::UnpackError::Limit(format!(
                "time budget of {}s (--timeout) spent",
                self.limits.timeout.as_secs()
            )));
        }
        Ok(())
    }

    pub fn add_entry(&mut self) -> crate::Result<()> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(crate::UnpackError::Limit(format!(
                "more than {} entries",
                self.limits.max_entries
            )));
        }
        Ok(())
    }
}
