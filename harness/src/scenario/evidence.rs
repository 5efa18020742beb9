//! A case's evidence: collected into its folder whatever happened (capture summaries and SYNs,
//! the DNS query log and zone, every backend's connection log, every container's output, what
//! the steps recorded), and kept as [`Evidence`], the read-only view the measures are computed
//! from.
//!
//! Measures never see the running case (containers, sockets, the capture thread): only this.
//! So a measure can be tested without Docker, and it cannot read a count while the capture
//! still adds to it.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use crate::capture::{CaptureSummary, SynEvent};
use crate::dns::QueryRecord;

use super::record::Recorded;
use super::runner::{error_chain, CaseState};

/// What the measures read, once the steps are over.
#[derive(Debug, Default)]
pub(crate) struct Evidence {
    /// Every role's address in this case.
    pub ips: BTreeMap<String, Ipv4Addr>,
    /// The version `haproxy -v` printed in the image.
    pub image_version: String,
    /// Every capture of the case, stopped, in the order they ran.
    pub captures: Vec<CaptureRun>,
    /// What the steps kept, by record name.
    pub records: BTreeMap<String, Recorded>,
    /// Each container's output, by role.
    pub logs: HashMap<String, String>,
    /// The DNS server's query log; `None` when the case ran no DNS server.
    pub dns: Option<DnsLog>,
    /// HAProxy instances that exited while the case ran.
    pub exits: Vec<crate::report::HaproxyExit>,
}

/// One stopped capture: whose SYNs it took, all of them, and what makes them incomplete.
#[derive(Debug, Clone)]
pub(crate) struct CaptureRun {
    /// The role whose SYNs the filter kept.
    pub role: String,
    pub syns: Vec<SynEvent>,
    /// Why the SYNs may be incomplete (packets dropped, a read error); `None` when complete.
    pub problem: Option<String>,
    pub summary: Option<CaptureSummary>,
}

impl CaptureRun {
    /// A stopped capture's SYNs and result, judged: a measure must not count SYNs of a capture
    /// that lost packets or failed.
    pub fn judge(
        role: String,
        syns: Vec<SynEvent>,
        result: Result<CaptureSummary, crate::capture::CaptureError>,
    ) -> CaptureRun {
        let (problem, summary) = match result {
            Err(e) => (
                Some(format!("the capture failed: {}", error_chain(&e))),
                None,
            ),
            Ok(s) => (
                match s.dropped_by_kernel {
                    Some(0) => None,
                    Some(n) => Some(format!(
                        "the kernel dropped {n} packet(s) the capture did not read in time"
                    )),
                    None => Some("libpcap could not tell whether packets were dropped".into()),
                },
                Some(s),
            ),
        };
        CaptureRun {
            role,
            syns,
            problem,
            summary,
        }
    }
}

/// The DNS server's log, with the zone's origin (query names are relative to it in scenarios).
#[derive(Debug, Clone)]
pub(crate) struct DnsLog {
    pub origin: String,
    pub queries: Vec<QueryRecord>,
}

/// Stops what still runs (capture, DNS), writes every piece of evidence into the case's folder
/// and returns what the measures read.
pub(crate) async fn collect_evidence(state: &mut CaseState<'_>) -> Evidence {
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
        exits: Vec::new(),
    }
}
