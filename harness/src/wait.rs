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

/// Asks `observe` every `every` until it answers `Ok`, or `within` (from the call) has passed
/// after an answer; on timeout, returns what the last answer said, for the caller's error. The
/// one polling loop behind the runtime API and TCP waits.
pub async fn poll<T, Fut>(
    within: Duration,
    every: Duration,
    mut observe: impl FnMut() -> Fut,
) -> Result<T, String>
where
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let started = std::time::Instant::now();
    loop {
        match observe().await {
            Ok(value) => return Ok(value),
            Err(last_seen) if started.elapsed() >= within => return Err(last_seen),
            Err(_) => tokio::time::sleep(every).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[tokio::test]
    async fn poll_returns_the_first_ok_or_the_last_thing_seen() {
        let tries = Cell::new(0);
        let found = poll(Duration::from_secs(5), Duration::from_millis(1), || async {
            tries.set(tries.get() + 1);
            if tries.get() == 3 {
                Ok("third")
            } else {
                Err(format!("try {}", tries.get()))
            }
        })
        .await;
        assert_eq!((found, tries.get()), (Ok("third"), 3));

        let tries = Cell::new(0);
        let missed: Result<(), String> = poll(
            Duration::from_millis(30),
            Duration::from_millis(5),
            || async {
                tries.set(tries.get() + 1);
                Err(format!("try {}", tries.get()))
            },
        )
        .await;
        assert_eq!(missed, Err(format!("try {}", tries.get())));
        assert!(tries.get() >= 2, "it polled again before giving up");
    }
}
