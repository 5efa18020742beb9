//! A count wait's record: what it saw last.

/// What a count wait saw last: kept as a record when the step says `record`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CountTally {
    /// Servers the set matched in the last answer.
    pub total: usize,
    /// How many had to be in the state (all of them unless `count` says).
    pub wanted: usize,
    /// How many were.
    pub matched: usize,
    /// Whether the deadline passed first.
    pub timed_out: bool,
    pub elapsed_ms: u64,
    /// Up to 20 servers not in the state, as seen last.
    pub not_yet: Vec<String>,
}

impl CountTally {
    /// The values a `counted` measure may read.
    pub const VALUES: [&'static str; 4] = ["matched", "wanted", "total", "timed_out"];

    pub fn value(&self, name: &str) -> Option<f64> {
        Some(match name {
            "matched" => self.matched as f64,
            "wanted" => self.wanted as f64,
            "total" => self.total as f64,
            "timed_out" => f64::from(u8::from(self.timed_out)),
            _ => return None,
        })
    }
}
