//! The `removable` step: asks whether a server could be deleted now, in HAProxy's own terms
//! where the version has them (`wait ... srv-removable`, 3.0 and later here) and from
//! `show stat` where it does not, so one scenario reads the same on every version. Which way was
//! used is decided by HAProxy's answer ("Unknown command"), never by its version string.

use std::time::{Duration, Instant};

use serde::Deserialize;
use toml::Spanned;

use super::word::{first_lines, Cx, Run, Word};
use crate::haproxy::{RuntimeApi, StatRow};
use crate::scenario::duration::Dur;
use crate::scenario::record::RecordKind;
use crate::scenario::record::Recorded;
use crate::scenario::case::CaseState;
use crate::scenario::words::POLL;
use crate::scenario::problem::Problem;

/// Whether a server could be removed now: in maintenance, with no connection, queue or stream
/// left. HAProxy answers it itself with `wait <within> srv-removable` where the version has that
/// command (3.0 and later here); elsewhere `show stat` is polled (MAINT, scur 0, qcur 0). An
/// observation, not a wait: the answer is recorded either way and the case goes on.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemovableStep {
    /// `backend/server`.
    pub server: Spanned<String>,
    #[serde(default)]
    pub on: Option<Spanned<String>>,
    /// How long HAProxy may take to get there.
    #[serde(default = "default_removable_within")]
    pub within: Dur,
    /// The record's first line reads `removable=1` or `removable=0`, then how it was asked.
    pub record: String,
}

fn default_removable_within() -> Dur {
    Dur(Duration::from_millis(200))
}

impl Word for RemovableStep {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        cx.at_most_time(
            "step.removable.within",
            self.within.0,
            crate::scenario::bounds::DURATION,
        );
        cx.instance(&self.on, "step.removable.on");
        let target = cx.target(&self.on);
        cx.server(
            target,
            self.server.get_ref(),
            self.server.span(),
            "step.removable.server",
        );
        cx.record(&self.record, RecordKind::Removable);
    }

    fn describe(&self) -> String {
        format!("removable {} (within {})", self.server.get_ref(), self.within)
    }

    /// `wait ... srv-removable` (within + the API's timeout), or show stat polled.
    fn budget(&self) -> Duration {
        self.within.0 * 2 + crate::haproxy::DEFAULT_TIMEOUT
    }

    fn record(&self) -> Option<&str> {
        Some(&self.record)
    }
}

impl Run for RemovableStep {
    async fn run(&self, state: &mut CaseState<'_>) -> Result<String, Problem> {
        Ok(removable(state, self).await?)
    }
}

async fn removable(state: &mut CaseState<'_>, step: &RemovableStep) -> Result<String, String> {
    let server = step.server.get_ref();
    let within = step.within.0;
    let api = &state
        .instance(step.on.as_ref().map(|o| o.get_ref().as_str()))?
        .api;
    let started = Instant::now();
    let command = format!("wait {}ms srv-removable {server}", within.as_millis());
    // `wait` answers only when done or timed out: give the client that long and more. `raw`,
    // because "Unknown command" is an answer here, not an error.
    let answer = api
        .clone()
        .with_timeout(within + crate::haproxy::DEFAULT_TIMEOUT)
        .raw(&command)
        .await
        .map_err(|e| e.to_string())?;
    let polled = answer.contains("Unknown command");
    let (removable, seen) = if polled {
        poll_stat(api, server, within).await
    } else {
        // "Done." once removable; "Failed. ..." (not in maintenance, no such server) or a
        // timeout otherwise.
        let done = answer.trim_start().starts_with("Done");
        (done, first_lines(answer.trim(), 2))
    };
    let via = if polled { "show stat" } else { "wait" };
    let elapsed = started.elapsed();
    let summary = format!(
        "removable={} via={via} after_ms={}",
        u8::from(removable),
        elapsed.as_millis()
    );
    state.kept.records.insert(
        step.record.clone(),
        Recorded::Api {
            command: if polled {
                format!("{command} (Unknown command, so show stat, polled)")
            } else {
                command.clone()
            },
            answer: format!("{summary}\n{seen}\n"),
        },
    );
    Ok(format!(
        "{server} {} after {elapsed:?} (asked with `{}`): {seen}",
        if removable {
            "removable"
        } else {
            "NOT removable"
        },
        if polled { "show stat" } else { &command },
    ))
}

/// For versions without `wait`: polls until the server is in maintenance with no current
/// session and no queue, or `within` passes; returns the verdict and the row last seen.
async fn poll_stat(api: &RuntimeApi, server: &str, within: Duration) -> (bool, String) {
    let (backend, name) = server.split_once('/').unwrap_or((server, ""));
    let polled = crate::wait::poll(within, POLL, move || async move {
        let rows = api.show_stat().await.map_err(|e| e.to_string())?;
        let row = StatRow::find(&rows, backend, name)
            .ok_or_else(|| format!("no server {server} in show stat"))?;
        let seen = format!(
            "status={} scur={} qcur={}",
            row.status,
            row.scur
                .map(|n| n.to_string())
                .unwrap_or_else(|| "-".into()),
            row.get("qcur").unwrap_or("-")
        );
        if idle_in_maintenance(row) {
            Ok(seen)
        } else {
            Err(seen)
        }
    })
    .await;
    match polled {
        Ok(seen) => (true, seen),
        Err(seen) => (false, seen),
    }
}

/// `srv-removable` as `show stat` can tell it: in maintenance (set by an operator or by DNS)
/// with no current session and nothing queued.
fn idle_in_maintenance(row: &StatRow) -> bool {
    row.status.starts_with("MAINT") && row.scur == Some(0) && row.get("qcur").unwrap_or("0") == "0"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::haproxy::fixtures;

    #[test]
    fn only_idle_servers_in_maintenance_count_as_removable_on_every_version() {
        for dir in fixtures::dirs() {
            let rows = StatRow::parse_all(&fixtures::read(dir, "show-stat")).unwrap();
            let row = |server| StatRow::find(&rows, "be", server).unwrap();
            assert!(!idle_in_maintenance(row("s1")), "{dir}: s1 is UP");
            assert!(!idle_in_maintenance(row("s2")), "{dir}: s2 is DOWN");
            assert!(
                idle_in_maintenance(row("s3")),
                "{dir}: s3 is MAINT and idle"
            );
            assert!(
                idle_in_maintenance(row("app1")),
                "{dir}: app1 is in maintenance for resolution"
            );
            let mut busy = row("s3").clone();
            busy.scur = Some(2);
            assert!(!idle_in_maintenance(&busy), "{dir}: s3 with sessions");
        }
    }
}
