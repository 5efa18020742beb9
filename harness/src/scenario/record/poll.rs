//! The server states a wait's polls saw, for the timeline.

/// A state of a server seen by a wait's poll of `show servers state`.
#[derive(Debug, Clone)]
pub(crate) struct ServerPoll {
    pub at_ms: u64,
    /// The last poll of the run that saw this state.
    pub until_ms: u64,
    pub instance: String,
    pub server: String,
    pub state: &'static str,
    pub text: String,
}

/// Notes what a poll saw: a wait polls every 25 ms, and the picture needs runs of the same
/// state (first and last poll), so a poll that continues a run (same state, within 100 ms of
/// its last poll) extends it.
pub(crate) fn note_poll(
    polls: &std::sync::Mutex<Vec<ServerPoll>>,
    case_start: std::time::Instant,
    instance: &str,
    server: &str,
    seen: &crate::haproxy::ServerState,
    text: &str,
) {
    let word = ["RMAINT", "MAINT", "UP", "DOWN"]
        .into_iter()
        .find(|w| crate::scenario::words::server_in_state(seen, w))
        .unwrap_or("DOWN");
    let at_ms = case_start.elapsed().as_millis() as u64;
    let Ok(mut polls) = polls.lock() else {
        return;
    };
    let last = polls
        .iter_mut()
        .rev()
        .find(|p| p.instance == instance && p.server == server);
    if let Some(run) = last {
        if run.state == word && at_ms.saturating_sub(run.until_ms) <= 100 {
            run.until_ms = at_ms;
            run.text = text.to_string();
            return;
        }
    }
    polls.push(ServerPoll {
        at_ms,
        until_ms: at_ms,
        instance: instance.to_string(),
        server: server.to_string(),
        state: word,
        text: text.to_string(),
    });
}
