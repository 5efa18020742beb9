//! The small vocabularies steps are written in: server state words and DNS fault kinds.

use std::time::Duration;

use crate::dns::Fault;
use crate::haproxy::ServerState;

/// How often a runtime API state is polled while waiting for it.
pub(crate) const POLL: Duration = Duration::from_millis(25);

/// `UP`, `DOWN`, `MAINT`, `RMAINT`, or one of them after `!`: `(negated, word)`.
pub(crate) fn parse_state_word(word: &str) -> Option<(bool, &str)> {
    let (negated, word) = match word.strip_prefix('!') {
        Some(w) => (true, w),
        None => (false, word),
    };
    ["UP", "DOWN", "MAINT", "RMAINT"]
        .contains(&word)
        .then_some((negated, word))
}

/// Whether a server is in the state a wait asks for.
pub(crate) fn server_in_state(server: &ServerState, word: &str) -> bool {
    let Some((negated, word)) = parse_state_word(word) else {
        return false;
    };
    let admin = server.srv_admin_state;
    let is = match word {
        "UP" => server.is_up(),
        "DOWN" => !server.is_up() && !admin.maint(),
        "MAINT" => admin.maint(),
        "RMAINT" => admin.resolution_maint(),
        _ => false,
    };
    is != negated
}

/// A server's state in words, for timelines and timeouts.
pub(crate) fn describe_server(s: &ServerState) -> String {
    format!(
        "{} addr={} port={} op={:?} admin={}",
        s.id(),
        s.srv_addr.as_deref().unwrap_or("-"),
        s.srv_port
            .map(|p| p.to_string())
            .unwrap_or_else(|| "-".into()),
        s.srv_op_state,
        s.srv_admin_state
    )
}

/// `nxdomain`, `servfail`, `refused`, `drop`, `truncate`, `delay` (with a duration).
pub(crate) fn parse_fault(kind: &str, delay: Option<Duration>) -> Result<Fault, String> {
    Ok(match kind {
        "nxdomain" => Fault::NxDomain,
        "servfail" => Fault::ServFail,
        "refused" => Fault::Refused,
        "drop" => Fault::Drop,
        "truncate" => Fault::Truncate,
        "delay" => Fault::Delay(delay.ok_or("kind = \"delay\" needs delay = \"<duration>\"")?),
        other => {
            return Err(format!(
                "unknown fault {other:?}: expected nxdomain, servfail, refused, drop, truncate or delay"
            ))
        }
    })
}

/// Fully qualified, lowercase, with the trailing dot, as the DNS query log writes names.
pub(crate) fn qualify(name: &str, origin: &str) -> String {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let origin = origin.trim_end_matches('.').to_ascii_lowercase();
    if name == origin || name.ends_with(&format!(".{origin}")) {
        format!("{name}.")
    } else {
        format!("{name}.{origin}.")
    }
}
