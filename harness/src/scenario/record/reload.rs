//! A `reload` step's record: the old and new workers.

use serde::Serialize;

/// A `reload` step's record.
#[derive(Debug, Clone, Serialize)]
pub struct ReloadLog {
    pub via: String,
    /// Workers listed before the reload.
    pub old_pids: Vec<u32>,
    /// Current workers after it whose PID is new.
    pub new_pids: Vec<u32>,
    /// Old workers still listed (as old) when the new one served.
    pub old_left_running: Vec<u32>,
    /// The PID that answered `show info` on the runtime API once the new worker served.
    pub serving_pid: Option<u32>,
    pub reload_ms: u64,
    /// The master CLI's answer to `reload` (2.2 closes the connection without one).
    pub answer: String,
    pub show_proc_before: String,
    pub show_proc_after: String,
}

impl ReloadLog {
    /// The values a `value` measure may read.
    pub const VALUES: [&'static str; 5] = [
        "old_pid",
        "new_pid",
        "new_workers",
        "old_workers_left",
        "reload_ms",
    ];

    pub fn value(&self, name: &str) -> Option<f64> {
        Some(match name {
            "old_pid" => f64::from(self.old_pids.first().copied().unwrap_or(0)),
            "new_pid" => f64::from(self.new_pids.first().copied().unwrap_or(0)),
            "new_workers" => self.new_pids.len() as f64,
            "old_workers_left" => self.old_left_running.len() as f64,
            "reload_ms" => self.reload_ms as f64,
            _ => return None,
        })
    }
}
