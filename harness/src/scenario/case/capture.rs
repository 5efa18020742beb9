//! The case's one running capture: started by the setup or a `capture` step, stopped (and
//! judged) before the next one starts and before the evidence is read.

use std::net::IpAddr;

use crate::capture::{self, Capture};
use crate::scenario::problem::{problem, Problem};
use crate::scenario::record::CaptureRun;

use super::state::{CaseState, LiveCapture};

impl CaseState<'_> {
    /// Stops the running capture, if any, keeping its SYNs (read after it stopped) and what
    /// makes them incomplete; returns the capture's summary or why it failed.
    pub(crate) async fn stop_capture(
        &mut self,
    ) -> Option<Result<crate::capture::CaptureSummary, String>> {
        let live = self.live.capture.take()?;
        // Joining the capture thread blocks: not on an async worker.
        let capture = live.capture;
        let (syns, result) = tokio::task::spawn_blocking(move || capture.finish())
            .await
            .unwrap_or_else(|e| {
                (
                    Vec::new(),
                    Err(crate::capture::CaptureError::Spawn(std::io::Error::other(
                        e.to_string(),
                    ))),
                )
            });
        let run = CaptureRun::judge(live.role, syns, result);
        let answer = match (&run.summary, &run.problem) {
            (Some(s), _) => Ok(s.clone()),
            (None, problem) => Err(problem.clone().unwrap_or_default()),
        };
        self.kept.captures.push(run);
        Some(answer)
    }
}

pub(crate) async fn start_capture(state: &mut CaseState<'_>, from: &str) -> Result<(), Problem> {
    if let Some(Err(e)) = state.stop_capture().await {
        return Err(e.into());
    }
    let n = state
        .kept
        .evidence
        .iter()
        .filter(|e| e.ends_with(".pcap"))
        .count();
    let name = if n == 0 {
        "capture.pcap".to_string()
    } else {
        format!("capture-{}.pcap", n + 1)
    };
    let ip = state.role_ip(from)?;
    let filter = capture::syn_filter(Some(IpAddr::V4(ip)));
    let interface = state.live.sandbox.network().bridge.clone();
    let path = state.evidence_dir.join(&name);
    // Opening libpcap blocks (it activates the handle): not on an async worker.
    let cap = tokio::task::spawn_blocking(move || Capture::start(&interface, &filter, &path))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| problem(&e))?;
    state.kept.evidence.push(name);
    state.live.capture = Some(LiveCapture {
        role: from.to_string(),
        capture: cap,
    });
    Ok(())
}
