//! A stopped capture, kept for the measures.

use crate::capture::{CaptureSummary, SynEvent};

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
                Some(format!(
                    "the capture failed: {}",
                    crate::scenario::problem::error_chain(&e)
                )),
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
