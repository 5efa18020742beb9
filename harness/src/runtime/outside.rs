//! Telling HAProxy's own death from a container stopped from outside the case.
//!
//! A daemon that stops or restarts (and a `docker stop` or `kill` by hand) ends HAProxy's
//! container with a signal, which looks like any other death. Docker logs every signal it sends
//! as a `kill` event; haprepro counts the ones it asked for itself (a `signal` or `reload`
//! step), so a watcher that sees an exit can ask Docker whether more were sent than that. Such
//! an exit says nothing of HAProxy, and is reported as the harness problem it is.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard};

static SENT: LazyLock<Mutex<HashMap<String, usize>>> = LazyLock::new(Default::default);

/// The signals haprepro sent, per container ID.
pub(crate) fn lock_sent() -> MutexGuard<'static, HashMap<String, usize>> {
    SENT.lock().unwrap_or_else(|e| e.into_inner())
}

/// How many signals haprepro sent to `container` through Docker.
pub fn signals_sent(container: &str) -> usize {
    lock_sent().get(container).copied().unwrap_or(0)
}

/// Why an exit of `container` was not HAProxy's, given the signals Docker logged for it
/// during the case (`kill` events): `None` when haprepro sent them all.
pub fn stopped_from_outside(container: &str, logged: &[String]) -> Option<String> {
    let ours = signals_sent(container);
    if logged.len() <= ours {
        return None;
    }
    Some(format!(
        "Docker sent signal {} to the container, and haprepro sent {ours} of the {} it logged: \
         the Docker daemon was stopped or restarted, or someone ran `docker stop`/`docker kill` \
         on it. Nothing of this case is a result of HAProxy's; run it again.",
        logged.last().map(String::as_str).unwrap_or("?"),
        logged.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_signals_beyond_haprepros_own_are_from_outside() {
        let id = "c0ffee-outside-test";
        assert!(stopped_from_outside(id, &[]).is_none());
        let docker_stop = vec!["15".to_string()];
        let why = stopped_from_outside(id, &docker_stop).unwrap();
        assert!(why.contains("signal 15"), "{why}");
        *lock_sent().entry(id.into()).or_default() += 1;
        assert!(stopped_from_outside(id, &docker_stop).is_none());
        let then_stopped = vec!["10".to_string(), "15".to_string()];
        assert!(stopped_from_outside(id, &then_stopped).is_some());
    }
}
