//! Collecting a case's evidence into its folder, whatever happened: capture summary and SYNs,
//! the DNS query log and zone, every backend's connection log, every container's output, and what the steps recorded.

use super::runner::{error_chain, CaseState, Recorded};

pub(crate) async fn collect_evidence(state: &mut CaseState<'_>) {
    if let Some(cap) = state.capture.take() {
        state.past_syns.extend(cap.syns());
        match cap.stop() {
            Ok(summary) => {
                let json = serde_json::to_string_pretty(&summary).unwrap_or_default();
                state.write_evidence("capture-summary.json", json);
            }
            Err(e) => state.write_evidence("capture-error.txt", error_chain(&e)),
        }
    }
    let syns: String = state.past_syns.iter().map(|s| format!("{s}\n")).collect();
    if !syns.is_empty() {
        state.write_evidence("syns.txt", syns);
    }
    if let Some(dns) = state.dns.take() {
        state.write_evidence("dns-queries.log", dns.log().to_text());
        state.write_evidence("dns-zone.txt", dns.zone().snapshot());
        state.dns_queries = dns.log().entries();
        dns.shutdown().await;
    }
    // Each backend's connections: a line each in `<name>.log`, every field in the JSON.
    let logs: Vec<(String, crate::backend::ConnectionLog)> = state
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
        state.logs.insert(name, text);
    }
    for c in state.containers.clone() {
        if let Ok(logs) = state.sandbox.logs(&c).await {
            state.write_evidence(&format!("{}.log", c.role), &logs);
            state.logs.insert(c.role.clone(), logs);
        }
    }
    let records: Vec<(String, Recorded)> = state.records.clone().into_iter().collect();
    for (name, rec) in records {
        match rec {
            Recorded::Api { command, answer } => {
                state.write_evidence(&format!("api-{name}.txt"), format!("> {command}\n{answer}"))
            }
            Recorded::Http(exchanges) => state.write_evidence(
                &format!("http-{name}.json"),
                serde_json::to_string_pretty(&exchanges).unwrap_or_default(),
            ),
            Recorded::Start { .. } => {}
            Recorded::Sessions(snapshot) => state.write_evidence(
                &format!("sessions-{name}.json"),
                serde_json::to_string_pretty(&snapshot).unwrap_or_default(),
            ),
            Recorded::Unix(tally) => state.write_evidence(
                &format!("unix-{name}.json"),
                serde_json::to_string_pretty(&tally).unwrap_or_default(),
            ),
        }
    }
}
