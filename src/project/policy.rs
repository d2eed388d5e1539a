//! How `lantern serve` runs a pipeline: `[policy]` in `pipelines/<name>.toml` (the daemon that
//! follows it is `serve`).

use std::time::Duration;

use serde::Deserialize;

use crate::config::Dur;

/// How `lantern serve` runs one pipeline (`[policy]` in `pipelines/<name>.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// A tick while this pipeline's previous run is still going: `skip` (recorded) or `queue`
    /// (run once when it ends).
    pub overlap: Overlap,
    /// Ticks missed while `lantern serve` was not running: `skip` (recorded), `once` or `each`.
    pub missed: Missed,
    /// Further attempts after a failed run.
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one, up to `retry_max_delay`.
    pub retry_delay: Dur,
    pub retry_max_delay: Dur,
    /// A run still going after this is stopped and recorded as abandoned.
    pub timeout: Dur,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            overlap: Overlap::Skip,
            missed: Missed::Once,
            retries: 2,
            retry_delay: Dur(Duration::from_secs(60)),
            retry_max_delay: Dur(Duration::from_secs(1800)),
            timeout: Dur(Duration::from_secs(6 * 3600)),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum Overlap {
    Skip,
    Queue,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum Missed {
    Skip,
    Once,
    Each,
}
