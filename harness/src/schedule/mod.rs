//! Running many cases: the jobs of a run (a scenario variant on an image, perhaps one of
//! `--repeat N`), run a few at a time with a progress display, the shards of a case list, and a
//! matrix plan's items. `matrix` and `bench` run their cases here; `bisect` names its
//! candidates' runs here; the map reads its matrices' plan items here.
//!
//! Scheduling: each case has a network, a /24, a bridge and a DNS server of its own (on its
//! gateway address), so cases share no host resource today and `--jobs` is the only limit. If a
//! scenario ever needs something of the host's (a fixed host port, a sysctl outside its network
//! namespace), it must run alone: that would be a flag of the scenario file, honoured here by
//! taking all `--jobs` permits of the semaphore for that case. No scenario needs it yet.

mod job;
mod plan_item;
mod progress;
mod shard;

pub use crate::case_id::CaseId;
pub use job::{numbered_run_id, run_jobs, Job};
pub use plan_item::PlanItem;
pub use shard::{shard_cases, Shard};
