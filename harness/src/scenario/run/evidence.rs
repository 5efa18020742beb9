//! The evidence stage: stops what still runs (capture, DNS), writes every piece of evidence into
//! the case's folder and hands the measures a read-only [`Evidence`]. What the steps kept moves
//! into it: later stages (the timeline) read the evidence, never the emptied state.

use crate::scenario::case::CaseState;
use crate::scenario::evidence::{DnsLog, Evidence};

/// Stops what still runs (capture, DNS), writes every piece of evidence into the case's folder
/// and returns what the measures read.
pub(crate) async fn collect(
    state: &mut CaseState<'_>,
    exits: Vec<crate::report::HaproxyExit>,
) -> Evidence {
    state.stop_capture().await;
    let summaries: Vec<serde_json::Value> = state
        .kept
        .captures
        .iter()
        .map(|c| {
            serde_json::json!({
                "role": c.role,
                "syns": c.syns.len(),
                "summary": c.summary,
                "problem": c.problem,
            })
        })
        .collect();
    if !summaries.is_empty() {
        let json = serde_json::to_string_pretty(&summaries).unwrap_or_default();
        state.write_evidence("capture-summary.json", json);
    }
    let syns: String = state
        .kept
        .captures
        .iter()
        .flat_map(|c| &c.syns)
        .map(|s| format!("{s}\n"))
        .collect();
    if !syns.is_empty() {
        state.write_evidence("syns.txt", syns);
    }
    let mut dns_log = None;
    if let Some(dns) = state.live.dns.take() {
        state.write_evidence("dns-queries.log", dns.log().to_text());
        state.write_evidence("dns-zone.txt", dns.zone().snapshot());
        dns_log = Some(DnsLog {
            origin: dns.zone().origin(),
            queries: dns.log().entries(),
        });
        dns.shutdown().await;
    }
    // Each backend's connections: a line each in `<name>.log`, every field in the JSON.
    let logs: Vec<(String, crate::backend::ConnectionLog)> = state
        .live
        .backends
        .iter()
        .map(|b| (b.name().to_string(), b.log()))
        .collect();
    for (name, log) in logs {
        let text = log.to_text();
        state.write_evidence(&format!("{name}.log"), &text);
        let json = serde_json::json!({ "events": log.events(), "connections": log.connections() });
        state.write_evidence(
            &format!("{name}-connections.json"),
            serde_json::to_string_pretty(&json).unwrap_or_default(),
        );
        state.kept.logs.insert(name, text);
    }
    for c in state.live.containers.clone() {
        if let Ok(logs) = state.live.sandbox.logs(&c).await {
            state.write_evidence(&format!("{}.log", c.role), &logs);
            state.kept.logs.insert(c.role.clone(), logs);
        }
    }
    let records = std::mem::take(&mut state.kept.records);
    for (name, rec) in &records {
        if let Some((file, contents)) = rec.evidence_file(name) {
            state.write_evidence(&file, contents);
        }
    }
    state.flush_evidence().await;
    Evidence {
        ips: state.ips.clone(),
        image_version: state.image.version.clone(),
        captures: std::mem::take(&mut state.kept.captures),
        records,
        logs: std::mem::take(&mut state.kept.logs),
        dns: dns_log,
        exits,
    }
}
