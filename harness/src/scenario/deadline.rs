//! The per-case deadline: how long a case may take at most, derived from its steps' own
//! timeouts so that a step that never returns (an `exec` that hangs, a stuck Docker call) ends
//! the case as `error` naming that step, instead of hanging a whole matrix.
//!
//! Each step's budget is the longest it can take when everything it waits for times out, plus
//! a margin for the calls around it; the case's deadline adds the setup's and the evidence's.
//! A scenario (or variant) may set its own: `deadline = "3m"`.

use std::time::Duration;

/// Setup: containers created and started, HAProxy ready (10 s), on a loaded Docker.
const SETUP: Duration = Duration::from_secs(60);
/// Margin around each step: the calls and bookkeeping beyond its own waits.
const MARGIN: Duration = Duration::from_secs(2);
/// A command run in a container (the Docker exec timeout).
pub(crate) const EXEC: Duration = crate::runtime::EXEC_TIMEOUT;

/// A case's deadline: setup, every step's budget (the longest it can take when all it waits
/// for times out, its word says) with the margin around it, and the evidence collected after
/// them.
pub(crate) fn derive(budgets: impl IntoIterator<Item = Duration>) -> Duration {
    budgets
        .into_iter()
        .map(|b| MARGIN + b)
        .fold(SETUP * 2, |sum, b| sum.saturating_add(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::Step;

    fn step(text: &str) -> Step {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn the_deadline_covers_every_wait_timing_out() {
        let steps = [
            step(r#"wait = { server = "be/s1", state = "UP", within = "30s" }"#),
            step(r#"sleep = { for = "5s", because = "x" }"#),
            step(r#"unix = { socket = "m", command = "x", within = "2s", repeat = 10 }"#),
        ];
        let d = derive(steps.iter().map(|s| s.word().budget()));
        assert!(d >= Duration::from_secs(30 + 5 + 20) + SETUP, "{d:?}");
        assert!(
            d <= Duration::from_secs(30 + 5 + 20 + 6) + SETUP * 2,
            "{d:?}"
        );
    }
}
