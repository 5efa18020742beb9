//! Waiting on events with a deadline.
//!
//! Every wait in haprepro is for something HAProxy does (a state on the runtime API, a DNS query,
//! a packet), never a fixed sleep. When the deadline passes, the error says what was awaited and
//! what was last seen, so a failed case explains itself.

use std::time::Duration;

/// A wait whose deadline passed before its event happened.
#[derive(Debug, Clone, thiserror::Error, serde::Serialize)]
#[error("timed out after {waited:?} waiting for {what}; last seen: {last_seen}")]
pub struct WaitTimeout {
    /// What the wait was for, in words ("server be/app1 in state UP").
    pub what: String,
    /// How long it waited.
    pub waited: Duration,
    /// The last observation before the deadline, in words ("be/app1 MAINT (resolution)").
    pub last_seen: String,
}
