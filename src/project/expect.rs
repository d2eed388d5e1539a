//! What a pipeline expects of each run, declared in `pipelines/<name>.toml` (checked after
//! each run by `job::expect`):
//!
//! ```toml
//! [expect]
//! max_age = "36h"     # the newest input file is at most this old (its modification time)
//! rows_min = 1000     # rows read from the pipeline's files (shipped reference data aside)
//! rows_max = 500000
//! on_break = "warn"   # or "fail": the run fails, exits non-zero, and alerts
//! ```

use serde::Deserialize;

use crate::config::Dur;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    pub max_age: Option<Dur>,
    pub rows_min: Option<u64>,
    pub rows_max: Option<u64>,
    #[serde(default)]
    pub on_break: OnBreak,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum OnBreak {
    #[default]
    Warn,
    Fail,
}
