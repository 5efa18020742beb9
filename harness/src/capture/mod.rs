//! Packet capture: the evidence that HAProxy put a packet on the wire, not just that it said so.
//!
//! Some bugs only show on the wire (health checks sent to TCP port 0 after a DNS flap): the
//! runtime API reports the configured port while the SYNs go elsewhere. A [`Capture`] opens
//! libpcap on an interface (in real use the Docker bridge `br-xxxxxxxxxxxx` of the case network)
//! with a BPF filter, writes every captured packet to a pcap savefile for the evidence folder
//! (Wireshark opens it), and decodes TCP SYNs (SYN set, ACK clear) into [`SynEvent`]s as they
//! happen, so a scenario step can wait for "a SYN to port 0" with a deadline instead of sleeping.
//!
//! Design choices:
//! - libpcap reads block, so the capture runs on its own `std::thread`, never on a tokio worker.
//!   It uses immediate mode (each packet is delivered at once, not when a buffer fills).
//!   [`Capture::stop`] is prompt because of `pcap_breakloop`, which wakes the blocked read: on
//!   Linux (libpcap 1.10, TPACKET_V3) the read timeout does not fire on an idle interface, so the
//!   timeout is only a fallback for other platforms.
//! - The savefile is flushed before each SYN is announced, at most every [`FLUSH_EVERY`] for
//!   other packets, and at stop, so it is useful even if the process dies, and a waiter that
//!   saw a SYN finds it in the file, without a write per packet of other traffic.
//! - [`Capture::start`] returns only after the handle is active, the filter set and the savefile
//!   open: a packet sent after `start` returns is in the kernel buffer and will be read.
//! - The interface is opened in promiscuous mode: a Linux bridge hands frames forwarded between
//!   two of its ports (container to container) to its own interface, where libpcap listens, only
//!   when it is promiscuous.
//! - Waiting is event driven: the capture thread bumps a `watch` counter for every SYN, and
//!   [`Capture::wait_for_syn`] rescans the new SYNs when it changes, so nothing is missed between
//!   "look at what was seen" and "wait for more", and a slow waiter never loses events.
//! - All pcap calls of haprepro live in this module; link-layer decoding is in `decode`.

mod decode;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pcap::{Active, Linktype, Savefile};
use tokio::sync::{broadcast, watch};

use crate::wait::WaitTimeout;

/// How long one blocking read may last before the capture thread checks whether it should stop
/// (where libpcap honours it; see the module docs).
const READ_TIMEOUT_MS: i32 = 100;
/// Longest time captured packets may sit in the savefile's buffer while more packets arrive.
const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// Kernel buffer for captured packets; generous so bursts (load steps) are not dropped.
const BUFFER_BYTES: i32 = 8 << 20;
/// Most packets read from the kernel buffer after a stop request (more than it can hold).
const DRAIN_AT_MOST: usize = 1 << 20;
/// How many SYNs a [`Capture::subscribe`] receiver may fall behind before it sees `Lagged`.
const SUBSCRIBER_CAPACITY: usize = 4096;

/// A TCP connection attempt seen on the wire: a segment with SYN set and ACK clear.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SynEvent {
    /// When libpcap captured it (kernel timestamp).
    pub at: SystemTime,
    /// Who is connecting.
    pub src: SocketAddr,
    /// Where to: `dst.port() == 0` is the port-0 health-check bug.
    pub dst: SocketAddr,
}

impl fmt::Display for SynEvent {
    /// `10.0.0.3:40212 -> 10.0.0.4:8000 at 2025-01-01T12:00:00.123456Z`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} -> {} at {}",
            self.src,
            self.dst,
            humantime::format_rfc3339_micros(self.at)
        )
    }
}

/// What a finished capture did, for the case report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CaptureSummary {
    /// The interface captured on.
    pub interface: String,
    /// The BPF filter applied.
    pub filter: String,
    /// Packets captured and written to the savefile.
    pub packets: u64,
    /// TCP SYNs (without ACK) among them.
    pub syns: u64,
    /// The savefile.
    pub pcap_path: PathBuf,
    /// Packets the kernel dropped because the capture did not keep up; `None` when libpcap could
    /// not tell. Non-zero means the capture (and any "no SYN seen") is incomplete.
    pub dropped_by_kernel: Option<u32>,
}

/// Why a capture could not start or did not finish cleanly.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The interface does not exist (a Docker network that is gone, a typo).
    #[error("no network interface {interface:?} to capture on; available: {}", available.join(", "))]
    NoSuchInterface {
        /// The interface asked for.
        interface: String,
        /// The interfaces libpcap can capture on right now.
        available: Vec<String>,
        /// libpcap's error.
        #[source]
        source: pcap::Error,
    },
    /// The process may not open a packet socket.
    #[error(
        "not permitted to capture on {interface:?}: capture needs root or CAP_NET_RAW+CAP_NET_ADMIN, \
         e.g. `sudo setcap cap_net_raw,cap_net_admin=eip <binary>` or run as root"
    )]
    PermissionDenied {
        /// The interface asked for.
        interface: String,
        /// libpcap's error.
        #[source]
        source: pcap::Error,
    },
    /// libpcap could not compile the BPF filter.
    #[error("bad capture filter {filter:?}: {message}")]
    BadFilter {
        /// The filter as given.
        filter: String,
        /// libpcap's compiler message (the whole cause, so no `source`).
        message: String,
    },
    /// The pcap savefile could not be created (missing folder, permissions).
    #[error("cannot write the capture file {}", path.display())]
    SavefileNotWritable {
        /// The savefile path.
        path: PathBuf,
        /// libpcap's error.
        #[source]
        source: pcap::Error,
    },
    /// libpcap takes file names as UTF-8 C strings.
    #[error("capture file path {} is not valid UTF-8", path.display())]
    SavefilePathNotUtf8 {
        /// The savefile path.
        path: PathBuf,
    },
    /// Opening the interface failed for another reason (interface down, libpcap trouble).
    #[error("cannot capture on {interface:?}")]
    Open {
        /// The interface asked for.
        interface: String,
        /// libpcap's error.
        #[source]
        source: pcap::Error,
    },
    /// Reading packets failed after the capture had started (e.g. the interface was removed);
    /// packets up to then are in the savefile.
    #[error("capture on {interface:?} failed while running")]
    Read {
        /// The interface captured on.
        interface: String,
        /// libpcap's error.
        #[source]
        source: pcap::Error,
    },
    /// Flushing the savefile at stop failed (disk full?); the file may be incomplete.
    #[error("cannot flush the capture file {}", path.display())]
    Flush {
        /// The savefile path.
        path: PathBuf,
        /// libpcap's error.
        #[source]
        source: pcap::Error,
    },
    /// The capture thread could not be started.
    #[error("cannot start the capture thread")]
    Spawn(#[source] std::io::Error),
    /// The capture thread panicked (a bug in haprepro).
    #[error("the capture thread on {interface:?} panicked")]
    ThreadPanicked {
        /// The interface captured on.
        interface: String,
    },
}

/// BPF for TCP SYNs without ACK (connection attempts, not their answers), over IPv4 and IPv6,
/// optionally only those sent by `from`.
///
/// libpcap's `tcp[tcpflags]` only reaches IPv4; for IPv6 the flags byte is addressed from the
/// fixed header (next header TCP, no extension headers, which is what TCP stacks send).
pub fn syn_filter(from: Option<IpAddr>) -> String {
    const V4: &str = "(ip and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn)";
    const V6: &str = "(ip6 and ip6[6] == 6 and ip6[53] & 0x12 == 0x02)";
    match from {
        None => format!("{V4} or {V6}"),
        Some(IpAddr::V4(a)) => format!("src host {a} and {V4}"),
        Some(IpAddr::V6(a)) => format!("src host {a} and {V6}"),
    }
}

/// What the capture thread and the handles share.
struct Shared {
    /// Every SYN so far, in capture order.
    syns: Mutex<Vec<SynEvent>>,
    /// Live feed for [`Capture::subscribe`].
    feed: broadcast::Sender<SynEvent>,
    /// Number of SYNs so far; bumped after each push, for [`Capture::wait_for_syn`].
    count: watch::Sender<usize>,
    /// Why the capture thread stopped early, if it did.
    failure: Mutex<Option<String>>,
}

impl Shared {
    fn syns(&self) -> MutexGuard<'_, Vec<SynEvent>> {
        self.syns.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, event: SynEvent) {
        let count = {
            let mut syns = self.syns();
            syns.push(event.clone());
            syns.len()
        };
        // No subscriber is fine: the event is kept in `syns`.
        let _ = self.feed.send(event);
        self.count.send_replace(count);
    }

    fn fail(&self, why: String) {
        *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(why);
        // Wake waiters so they can report it (they will still wait until their deadline).
        self.count.send_modify(|_| {});
    }

    /// The last SYN in words, for [`WaitTimeout::last_seen`].
    fn last_seen(&self) -> String {
        let seen = {
            let syns = self.syns();
            match syns.last() {
                None => "no SYN".to_owned(),
                Some(last) => format!("{last} ({} SYNs in all)", syns.len()),
            }
        };
        match &*self.failure.lock().unwrap_or_else(PoisonError::into_inner) {
            None => seen,
            Some(why) => format!("{seen}; the capture stopped early: {why}"),
        }
    }
}

/// What the capture thread hands back when it ends.
struct ThreadEnd {
    packets: u64,
    dropped_by_kernel: Option<u32>,
    read_error: Option<pcap::Error>,
    flush_error: Option<pcap::Error>,
}

/// Whether this process may capture at all: opens (and closes) a capture on the loopback
/// interface, which needs the same privileges as one on a case bridge. Lets a run refuse to
/// start, with the fix named, instead of every case failing in its setup.
pub fn check_permission() -> Result<(), CaptureError> {
    pcap::Capture::from_device("lo")
        .and_then(|inactive| inactive.timeout(1).open())
        .map(drop)
        .map_err(|e| open_error("lo", e))
}

/// A running capture; stop it with [`Capture::stop`] to get the summary (dropping it stops it
/// too, and flushes the savefile, but discards the summary and any error).
pub struct Capture {
    interface: String,
    filter: String,
    pcap_path: PathBuf,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    breaker: pcap::BreakLoop,
    thread: Option<JoinHandle<ThreadEnd>>,
}

impl Capture {
    /// Starts capturing on `interface` with the BPF `filter`, writing every packet to `pcap_path`
    /// (created or truncated; its folder must exist). Returns once the capture is active, so
    /// nothing sent after `start` returns is missed.
    pub fn start(interface: &str, filter: &str, pcap_path: &Path) -> Result<Capture, CaptureError> {
        let path_str = pcap_path
            .to_str()
            .ok_or_else(|| CaptureError::SavefilePathNotUtf8 {
                path: pcap_path.to_owned(),
            })?;

        let mut cap = pcap::Capture::from_device(interface)
            .and_then(|inactive| {
                inactive
                    // The `any` device cannot be promiscuous; libpcap warns, the crate fails.
                    .promisc(interface != "any")
                    .immediate_mode(true)
                    .timeout(READ_TIMEOUT_MS)
                    .buffer_size(BUFFER_BYTES)
                    .open()
            })
            .map_err(|e| open_error(interface, e))?;

        cap.filter(filter, true)
            .map_err(|e| CaptureError::BadFilter {
                filter: filter.to_owned(),
                message: pcap_message(&e),
            })?;

        let savefile =
            cap.savefile(path_str)
                .map_err(|source| CaptureError::SavefileNotWritable {
                    path: pcap_path.to_owned(),
                    source,
                })?;

        let (feed, _) = broadcast::channel(SUBSCRIBER_CAPACITY);
        let shared = Arc::new(Shared {
            syns: Mutex::new(Vec::new()),
            feed,
            count: watch::Sender::new(0),
            failure: Mutex::new(None),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let breaker = cap.breakloop_handle();
        let linktype = cap.get_datalink();

        let thread = std::thread::Builder::new()
            .name(format!("capture-{interface}"))
            .spawn({
                let shared = Arc::clone(&shared);
                let stop = Arc::clone(&stop);
                move || run(cap, savefile, linktype, &shared, &stop)
            })
            .map_err(CaptureError::Spawn)?;

        Ok(Capture {
            interface: interface.to_owned(),
            filter: filter.to_owned(),
            pcap_path: pcap_path.to_owned(),
            shared,
            stop,
            breaker,
            thread: Some(thread),
        })
    }

    /// All SYNs seen so far, in capture order.
    pub fn syns(&self) -> Vec<SynEvent> {
        self.shared.syns().clone()
    }

    /// SYNs from now on, as they are captured. A receiver more than a few thousand SYNs behind
    /// gets `RecvError::Lagged`; [`Capture::syns`] always has them all.
    pub fn subscribe(&self) -> broadcast::Receiver<SynEvent> {
        self.shared.feed.subscribe()
    }

    /// The first SYN, already seen or still to come, for which `pred` holds; `what` names it for
    /// the timeout error ("a SYN from haproxy to port 0"). Waits on capture events, never polls.
    pub async fn wait_for_syn(
        &self,
        what: &str,
        pred: impl Fn(&SynEvent) -> bool,
        within: Duration,
    ) -> Result<SynEvent, WaitTimeout> {
        let deadline = tokio::time::Instant::now() + within;
        let mut count = self.shared.count.subscribe();
        let mut scanned = 0;
        loop {
            // Mark the count seen before scanning: a SYN pushed after the scan changes it again.
            count.borrow_and_update();
            {
                let syns = self.shared.syns();
                if let Some(found) = syns[scanned..].iter().find(|e| pred(e)) {
                    return Ok(found.clone());
                }
                scanned = syns.len();
            }
            match tokio::time::timeout_at(deadline, count.changed()).await {
                Ok(Ok(())) => continue,
                // The sender lives in `self.shared`, so it cannot be closed while we hold `self`;
                // treat it like the deadline anyway rather than spin.
                Ok(Err(_)) | Err(_) => {
                    return Err(WaitTimeout {
                        what: what.to_owned(),
                        waited: within,
                        last_seen: self.shared.last_seen(),
                    });
                }
            }
        }
    }

    /// How many SYNs were seen so far: the `since` of [`Capture::wait_for_syns`].
    pub fn seen(&self) -> usize {
        self.shared.syns().len()
    }

    /// Waits until `count` SYNs seen after the first `since` satisfy `pred`; returns how many
    /// matched and the last SYN seen. Scans the kept list, so no SYN is lost however far the
    /// waiter falls behind; the timeout says how many matched.
    pub async fn wait_for_syns(
        &self,
        what: &str,
        since: usize,
        pred: impl Fn(&SynEvent) -> bool,
        count: usize,
        within: Duration,
    ) -> Result<(usize, Option<SynEvent>), WaitTimeout> {
        let deadline = tokio::time::Instant::now() + within;
        let mut changes = self.shared.count.subscribe();
        let mut scanned = since;
        let mut matched = 0;
        let mut last = None;
        loop {
            changes.borrow_and_update();
            {
                let syns = self.shared.syns();
                for syn in syns.iter().skip(scanned) {
                    if pred(syn) {
                        matched += 1;
                    }
                    last = Some(syn.clone());
                }
                scanned = scanned.max(syns.len());
            }
            if matched >= count {
                return Ok((matched, last));
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) | Err(_) => {
                    return Err(WaitTimeout {
                        what: what.to_owned(),
                        waited: within,
                        last_seen: format!(
                            "{matched} of {count} matching; last SYN: {}",
                            self.shared.last_seen()
                        ),
                    });
                }
            }
        }
    }

    /// Stops the capture thread, flushes and closes the savefile, and says what was captured.
    pub fn stop(self) -> Result<CaptureSummary, CaptureError> {
        self.finish().1
    }

    /// [`Capture::stop`], and every SYN captured, read once the thread has stopped: a SYN that
    /// arrives while the capture is being stopped is in the savefile and in this list alike.
    pub fn finish(mut self) -> (Vec<SynEvent>, Result<CaptureSummary, CaptureError>) {
        let end = self.halt();
        let all = self.shared.syns().clone();
        let summary = self.summary(end, all.len() as u64);
        (all, summary)
    }

    fn summary(&self, end: Option<ThreadEnd>, syns: u64) -> Result<CaptureSummary, CaptureError> {
        let end = end.ok_or_else(|| CaptureError::ThreadPanicked {
            interface: self.interface.clone(),
        })?;
        if let Some(source) = end.read_error {
            return Err(CaptureError::Read {
                interface: self.interface.clone(),
                source,
            });
        }
        if let Some(source) = end.flush_error {
            return Err(CaptureError::Flush {
                path: self.pcap_path.clone(),
                source,
            });
        }
        Ok(CaptureSummary {
            interface: self.interface.clone(),
            filter: self.filter.clone(),
            packets: end.packets,
            syns,
            pcap_path: self.pcap_path.clone(),
            dropped_by_kernel: end.dropped_by_kernel,
        })
    }

    /// Tells the thread to stop, wakes it, and waits for it; `None` if it panicked or was
    /// already joined.
    fn halt(&mut self) -> Option<ThreadEnd> {
        let thread = self.thread.take()?;
        self.stop.store(true, Ordering::Release);
        self.breaker.breakloop();
        thread.join().ok()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.halt();
    }
}

/// The capture thread: read, save, decode, until told to stop or reading fails.
fn run(
    mut cap: pcap::Capture<Active>,
    mut savefile: Savefile,
    linktype: Linktype,
    shared: &Shared,
    stop: &AtomicBool,
) -> ThreadEnd {
    let mut packets = 0u64;
    let mut read_error = None;
    let mut flush_error = None;
    let mut flushed = Instant::now();
    let mut flush = |savefile: &mut Savefile, flushed: &mut Instant| {
        if let Err(e) = savefile.flush() {
            flush_error.get_or_insert(e);
        }
        *flushed = Instant::now();
    };
    let keep = |packet: pcap::Packet<'_>, savefile: &mut Savefile, packets: &mut u64| {
        savefile.write(&packet);
        *packets += 1;
        if let Some((src, dst)) = decode::tcp_syn(linktype, packet.data) {
            let at = timestamp(&packet.header.ts);
            shared.record(SynEvent { at, src, dst });
        }
    };
    while !stop.load(Ordering::Acquire) {
        match cap.next_packet() {
            Ok(packet) => {
                savefile.write(&packet);
                packets += 1;
                let syn = decode::tcp_syn(linktype, packet.data);
                // Before announcing a SYN, always: whoever waited for it finds it on disk (an
                // idle interface gives no later moment to flush on Linux). Other packets are
                // flushed at most every FLUSH_EVERY.
                if syn.is_some() || flushed.elapsed() >= FLUSH_EVERY {
                    flush(&mut savefile, &mut flushed);
                }
                if let Some((src, dst)) = syn {
                    let at = timestamp(&packet.header.ts);
                    shared.record(SynEvent { at, src, dst });
                }
            }
            // Idle (where the timeout fires): a good moment to get the savefile onto disk.
            Err(pcap::Error::TimeoutExpired) => flush(&mut savefile, &mut flushed),
            // What a live read returns after `pcap_breakloop`.
            Err(pcap::Error::NoMorePackets) => break,
            Err(e) => {
                if !stop.load(Ordering::Acquire) {
                    shared.fail(pcap_message(&e));
                    read_error = Some(e);
                }
                break;
            }
        }
    }
    // Asked to stop: what the kernel already holds was sent before the stop, so it belongs to
    // this capture. Read it without blocking (bounded: the buffer holds at most BUFFER_BYTES).
    if read_error.is_none() {
        match cap.setnonblock() {
            Ok(mut nonblocking) => {
                // A breakloop that no read consumed yet ends the first read: skip it once.
                let mut woken = false;
                for _ in 0..DRAIN_AT_MOST {
                    match nonblocking.next_packet() {
                        Ok(packet) => keep(packet, &mut savefile, &mut packets),
                        Err(pcap::Error::NoMorePackets) if !woken => woken = true,
                        Err(_) => break,
                    }
                }
                cap = nonblocking;
            }
            Err(e) => {
                shared.fail(pcap_message(&e));
                read_error = Some(e);
                return ThreadEnd {
                    packets,
                    dropped_by_kernel: None,
                    read_error,
                    flush_error,
                };
            }
        }
    }
    flush(&mut savefile, &mut flushed);
    // Closes the file.
    drop(savefile);
    let dropped_by_kernel = cap.stats().ok().map(|s| s.dropped);
    ThreadEnd {
        packets,
        dropped_by_kernel,
        read_error,
        flush_error,
    }
}

/// A pcap header timestamp as wall-clock time (the capture uses microsecond precision).
fn timestamp(ts: &libc::timeval) -> SystemTime {
    match (u64::try_from(ts.tv_sec), u32::try_from(ts.tv_usec)) {
        (Ok(secs), Ok(usecs)) => {
            UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(u64::from(usecs))
        }
        // Never from a live Linux capture; keep the event rather than invent an error.
        _ => SystemTime::now(),
    }
}

/// libpcap's own words, without the crate's "libpcap error: " prefix.
fn pcap_message(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(msg) => msg.clone(),
        other => other.to_string(),
    }
}

/// Sorts an error from opening an interface by what libpcap said.
fn open_error(interface: &str, source: pcap::Error) -> CaptureError {
    let msg = pcap_message(&source).to_lowercase();
    if msg.contains("no such device") {
        CaptureError::NoSuchInterface {
            interface: interface.to_owned(),
            available: available_interfaces(),
            source,
        }
    } else if msg.contains("permission")
        || msg.contains("not permitted")
        || msg.contains("cap_net_raw")
        || msg.contains("access denied")
    {
        CaptureError::PermissionDenied {
            interface: interface.to_owned(),
            source,
        }
    } else {
        CaptureError::Open {
            interface: interface.to_owned(),
            source,
        }
    }
}

/// Names of the interfaces libpcap can capture on, for the "no such interface" error.
fn available_interfaces() -> Vec<String> {
    match pcap::Device::list() {
        Ok(devices) => devices.into_iter().map(|d| d.name).collect(),
        Err(e) => vec![format!("(libpcap cannot list them: {})", pcap_message(&e))],
    }
}
