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

use crate::dns::QueryRecord;

use super::record::{CaptureRun, Recorded};

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

/// The DNS server's log, with the zone's origin (query names are relative to it in scenarios).
#[derive(Debug, Clone)]
pub(crate) struct DnsLog {
    pub origin: String,
    pub queries: Vec<QueryRecord>,
}
