//! Real captures on `lo`: real SYNs sent by this process, no mocks. Other tests may use `lo` at
//! the same time, so every assertion matches on the ports and addresses the test itself used.

use super::*;

use std::net::{Ipv4Addr, Ipv6Addr, TcpListener};
use std::time::Instant;

use etherparse::PacketBuilder;

/// A savefile path unique to this test process and test.
struct TempPcap(PathBuf);

impl TempPcap {
    fn new(name: &str) -> TempPcap {
        TempPcap(std::env::temp_dir().join(format!(
            "haprepro-capture-{}-{name}.pcap",
            std::process::id()
        )))
    }
}

impl Drop for TempPcap {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// SYNs on `lo` to `dst`, whatever the source.
fn lo_syns_to(dst: IpAddr) -> String {
    format!("({}) and dst host {dst}", syn_filter(None))
}

/// Connects from a known local address to `dst`; returns the local address (the SYN's source)
/// and whether the connection was accepted.
async fn connect_from_known_port(dst: SocketAddr) -> (SocketAddr, bool) {
    let socket = match dst {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .expect("tcp socket");
    let any = SocketAddr::new(dst.ip(), 0);
    socket.bind(any).expect("bind to an ephemeral port");
    let local = socket.local_addr().expect("local addr");
    let connected = tokio::time::timeout(Duration::from_secs(5), socket.connect(dst))
        .await
        .expect("connect neither succeeded nor failed within 5 s")
        .is_ok();
    (local, connected)
}

async fn port_zero_syn_is_seen(lo: IpAddr, name: &str) {
    let pcap = TempPcap::new(name);
    let cap = Capture::start("lo", &lo_syns_to(lo), &pcap.0).expect("start capture on lo");

    let (local, connected) = connect_from_known_port(SocketAddr::new(lo, 0)).await;
    assert!(!connected, "a connection to port 0 must be refused");

    let syn = cap
        .wait_for_syn(
            "our SYN to port 0",
            |e| e.src == local && e.dst.port() == 0,
            Duration::from_secs(5),
        )
        .await
        .expect("Linux sends a real SYN to port 0 and the capture sees it");
    assert_eq!(syn.dst, SocketAddr::new(lo, 0));
    assert!(syn.at <= SystemTime::now());

    let summary = cap.stop().expect("stop");
    assert!(summary.syns >= 1, "{summary:?}");
    assert!(summary.packets >= summary.syns, "{summary:?}");
}

#[tokio::test]
async fn syn_to_port_zero_is_seen_ipv4() {
    port_zero_syn_is_seen(Ipv4Addr::LOCALHOST.into(), "port0-v4").await;
}

#[tokio::test]
async fn syn_to_port_zero_is_seen_ipv6() {
    port_zero_syn_is_seen(Ipv6Addr::LOCALHOST.into(), "port0-v6").await;
}

#[tokio::test]
async fn ordinary_connection_is_seen_with_its_port_and_not_as_port_zero() {
    let pcap = TempPcap::new("ordinary");
    let lo = IpAddr::from(Ipv4Addr::LOCALHOST);
    let cap = Capture::start("lo", &lo_syns_to(lo), &pcap.0).expect("start capture on lo");
    let listener = TcpListener::bind((lo, 0)).expect("listen");
    let port = listener.local_addr().expect("listener addr").port();

    let (local, connected) = connect_from_known_port(SocketAddr::new(lo, port)).await;
    assert!(connected);

    let syn = cap
        .wait_for_syn(
            "our SYN to the listener",
            |e| e.src == local,
            Duration::from_secs(5),
        )
        .await
        .expect("the SYN of an accepted connection is seen");
    assert_eq!(syn.dst, SocketAddr::new(lo, port));

    // The detector does not fire for it: waiting for a port-0 SYN from our socket times out,
    // and says what it saw last.
    let err = cap
        .wait_for_syn(
            "our SYN to port 0",
            |e| e.src == local && e.dst.port() == 0,
            Duration::from_millis(300),
        )
        .await
        .expect_err("no SYN of ours went to port 0");
    assert_eq!(err.what, "our SYN to port 0");
    assert_eq!(err.waited, Duration::from_millis(300));
    assert!(err.last_seen.contains(" -> "), "{}", err.last_seen);
    assert!(
        !cap.syns()
            .iter()
            .any(|e| e.src == local && e.dst.port() == 0),
        "{:?}",
        cap.syns()
    );
    cap.stop().expect("stop");
}

#[tokio::test]
async fn subscribers_get_syns_as_they_happen() {
    let pcap = TempPcap::new("subscribe");
    let lo = IpAddr::from(Ipv4Addr::LOCALHOST);
    let cap = Capture::start("lo", &lo_syns_to(lo), &pcap.0).expect("start capture on lo");
    let mut feed = cap.subscribe();

    let (local, _) = connect_from_known_port(SocketAddr::new(lo, 0)).await;

    let got = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let e = feed.recv().await.expect("feed open");
            if e.src == local {
                return e;
            }
        }
    })
    .await
    .expect("our SYN arrives on the feed");
    assert_eq!(got.dst.port(), 0);
    cap.stop().expect("stop");
}

#[tokio::test]
async fn wait_times_out_with_no_syn() {
    let pcap = TempPcap::new("timeout");
    // Nobody on this machine sends from this documentation address over `lo`.
    let filter = syn_filter(Some(IpAddr::from([192, 0, 2, 123])));
    let cap = Capture::start("lo", &filter, &pcap.0).expect("start capture on lo");
    let started = Instant::now();
    let err = cap
        .wait_for_syn("any SYN", |_| true, Duration::from_millis(200))
        .await
        .expect_err("nothing matches the filter");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(err.last_seen, "no SYN");
    assert!(
        err.to_string().contains("any SYN"),
        "the message names the wait: {err}"
    );
    let summary = cap.stop().expect("stop");
    assert_eq!(summary.syns, 0);
}

#[tokio::test]
async fn savefile_holds_every_captured_packet() {
    let pcap = TempPcap::new("savefile");
    let lo = IpAddr::from(Ipv4Addr::LOCALHOST);
    let listener = TcpListener::bind((lo, 0)).expect("listen");
    let port = listener.local_addr().expect("listener addr").port();
    // Everything on this connection's port, not only SYNs: handshake, data, teardown.
    let filter = format!("tcp and host {lo} and port {port}");
    let cap = Capture::start("lo", &filter, &pcap.0).expect("start capture on lo");

    let (local, connected) = connect_from_known_port(SocketAddr::new(lo, port)).await;
    assert!(connected);
    cap.wait_for_syn("our SYN", |e| e.src == local, Duration::from_secs(5))
        .await
        .expect("our SYN");
    let summary = cap.stop().expect("stop");
    assert_eq!(summary.interface, "lo");
    assert_eq!(summary.filter, filter);
    assert_eq!(summary.pcap_path, pcap.0);
    assert_eq!(summary.dropped_by_kernel, Some(0));
    // At least SYN and SYN-ACK, but only the SYN counts as one.
    assert!(summary.packets >= 2, "{summary:?}");
    assert_eq!(summary.syns, 1, "{summary:?}");

    let mut file = pcap::Capture::from_file(&pcap.0).expect("the savefile opens");
    let linktype = file.get_datalink();
    assert_eq!(linktype, Linktype::ETHERNET, "Linux lo reports Ethernet");
    let mut in_file = 0u64;
    let mut syns_in_file = Vec::new();
    loop {
        match file.next_packet() {
            Ok(packet) => {
                in_file += 1;
                syns_in_file.extend(decode::tcp_syn(linktype, packet.data));
            }
            Err(pcap::Error::NoMorePackets) => break,
            Err(e) => panic!("reading the savefile: {e}"),
        }
    }
    assert_eq!(in_file, summary.packets);
    assert_eq!(syns_in_file, vec![(local, SocketAddr::new(lo, port))]);
}

#[test]
fn stop_is_prompt_on_a_quiet_interface() {
    let pcap = TempPcap::new("prompt");
    let filter = syn_filter(Some(IpAddr::from([192, 0, 2, 124])));
    let cap = Capture::start("lo", &filter, &pcap.0).expect("start capture on lo");
    let started = Instant::now();
    let summary = cap.stop().expect("stop");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "stop took {:?}",
        started.elapsed()
    );
    assert_eq!(summary.packets, 0);
    // Dropping without stop also ends the thread and leaves a valid (empty) savefile.
    let cap = Capture::start("lo", &filter, &pcap.0).expect("start capture on lo");
    drop(cap);
    let mut file = pcap::Capture::from_file(&pcap.0).expect("the savefile opens");
    assert_eq!(file.next_packet().err(), Some(pcap::Error::NoMorePackets));
}

#[test]
fn bad_filter_names_the_filter_and_libpcaps_message() {
    let pcap = TempPcap::new("badfilter");
    let filter = "tcp and port banana";
    let err = Capture::start("lo", filter, &pcap.0)
        .err()
        .expect("the filter is rejected");
    let CaptureError::BadFilter {
        filter: ref f,
        ref message,
    } = err
    else {
        panic!("expected BadFilter, got {err:?}");
    };
    assert_eq!(f, filter);
    assert!(!message.is_empty());
    assert!(!message.starts_with("libpcap error"), "{message}");
    let text = err.to_string();
    assert!(
        text.contains(filter) && text.contains(message.as_str()),
        "{text}"
    );
}

#[test]
fn unknown_interface_lists_the_available_ones() {
    let pcap = TempPcap::new("nosuchif");
    let err = Capture::start("hapr-nope0", &syn_filter(None), &pcap.0)
        .err()
        .expect("no such interface");
    let CaptureError::NoSuchInterface {
        ref interface,
        ref available,
        ..
    } = err
    else {
        panic!("expected NoSuchInterface, got {err:?}");
    };
    assert_eq!(interface, "hapr-nope0");
    assert!(available.iter().any(|i| i == "lo"), "{available:?}");
    let text = err.to_string();
    assert!(text.contains("hapr-nope0") && text.contains("lo"), "{text}");
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn unwritable_savefile_names_the_path() {
    let path = Path::new("/nonexistent-haprepro-dir/capture.pcap");
    let err = Capture::start("lo", &syn_filter(None), path)
        .err()
        .expect("the folder does not exist");
    assert!(
        matches!(&err, CaptureError::SavefileNotWritable { path: p, .. } if p == path),
        "{err:?}"
    );
    assert!(err.to_string().contains(path.to_str().unwrap_or_default()));
}

#[test]
fn permission_errors_are_recognised_by_their_words() {
    for msg in [
        "socket: Operation not permitted",
        "Attempt to create packet socket failed - CAP_NET_RAW may be required",
        "You don't have permission to capture on that device (socket: Operation not permitted)",
    ] {
        let err = open_error("br-0123456789ab", pcap::Error::PcapError(msg.to_owned()));
        assert!(
            matches!(err, CaptureError::PermissionDenied { .. }),
            "{msg}: {err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("CAP_NET_RAW") && text.contains("setcap"),
            "{text}"
        );
        assert!(
            !text.contains(msg),
            "the cause is not printed twice: {text}"
        );
    }
    let other = open_error("lo", pcap::Error::PcapError("something else".to_owned()));
    assert!(matches!(other, CaptureError::Open { .. }), "{other:?}");
}

/// Frames through the compiled BPF, the way the kernel would apply it.
fn frame(ipv6: bool, syn: bool, ack: bool, src_last: u8) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    let mut tcp = if ipv6 {
        let mut src = [0u8; 16];
        src[0] = 0xfd;
        src[15] = src_last;
        let mut dst = src;
        dst[15] = 4;
        eth.ipv6(src, dst, 64).tcp(40000, 0, 1, 64240)
    } else {
        eth.ipv4([10, 0, 0, src_last], [10, 0, 0, 4], 64)
            .tcp(40000, 0, 1, 64240)
    };
    if syn {
        tcp = tcp.syn();
    }
    if ack {
        tcp = tcp.ack(1);
    }
    let mut out = Vec::new();
    tcp.write(&mut out, &[]).expect("build frame");
    out
}

#[test]
fn syn_filter_passes_syns_only_over_ipv4_and_ipv6() {
    let dead = pcap::Capture::dead(Linktype::ETHERNET).expect("dead capture");
    let any = dead.compile(&syn_filter(None), true).expect("compiles");
    for ipv6 in [false, true] {
        assert!(any.filter(&frame(ipv6, true, false, 3)), "SYN, ipv6={ipv6}");
        assert!(
            !any.filter(&frame(ipv6, true, true, 3)),
            "SYN-ACK, ipv6={ipv6}"
        );
        assert!(
            !any.filter(&frame(ipv6, false, true, 3)),
            "ACK, ipv6={ipv6}"
        );
    }

    let from_v4 = dead
        .compile(&syn_filter(Some(IpAddr::from([10, 0, 0, 3]))), true)
        .expect("compiles");
    assert!(from_v4.filter(&frame(false, true, false, 3)));
    assert!(
        !from_v4.filter(&frame(false, true, false, 5)),
        "other source"
    );
    assert!(!from_v4.filter(&frame(true, true, false, 3)), "IPv6");

    let v6: IpAddr = "fd00::3".parse().expect("address");
    let from_v6 = dead.compile(&syn_filter(Some(v6)), true).expect("compiles");
    assert!(from_v6.filter(&frame(true, true, false, 3)));
    assert!(
        !from_v6.filter(&frame(true, true, false, 5)),
        "other source"
    );
    assert!(!from_v6.filter(&frame(true, true, true, 3)), "SYN-ACK");

    // The same filters compile for the other link types the capture decodes (a dead handle
    // takes DLT values: DLT_RAW is 12 on Linux, not LINKTYPE_RAW's 101).
    for linktype in [Linktype::LINUX_SLL, Linktype::LINUX_SLL2, Linktype(12)] {
        let dead = pcap::Capture::dead(linktype).expect("dead capture");
        for from in [None, Some(v6), Some(IpAddr::from([10, 0, 0, 3]))] {
            dead.compile(&syn_filter(from), true)
                .unwrap_or_else(|e| panic!("{linktype:?} {from:?}: {e}"));
        }
    }
}

#[test]
fn syn_event_reads_as_words() {
    let e = SynEvent {
        at: UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456),
        src: "10.0.0.3:40212".parse().expect("addr"),
        dst: "10.0.0.4:8000".parse().expect("addr"),
    };
    assert_eq!(
        e.to_string(),
        "10.0.0.3:40212 -> 10.0.0.4:8000 at 2023-11-14T22:13:20.123456Z"
    );
}

/// Drops every effective capability of the calling thread (Linux keeps capabilities per thread;
/// the permitted set is kept, and the thread ends right after, so the process is unaffected).
fn drop_effective_capabilities_of_this_thread() {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget/capset with a v3 header read/write exactly two `Data` structs.
    unsafe {
        assert_eq!(
            libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()),
            0,
            "capget"
        );
        for d in &mut data {
            d.effective = 0;
        }
        assert_eq!(
            libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()),
            0,
            "capset"
        );
    }
}

#[test]
fn without_capabilities_the_error_says_how_to_grant_them() {
    let pcap = TempPcap::new("noperm");
    let path = pcap.0.clone();
    let err = std::thread::spawn(move || {
        drop_effective_capabilities_of_this_thread();
        Capture::start("lo", &syn_filter(None), &path).err()
    })
    .join()
    .expect("thread")
    .expect("a packet socket needs CAP_NET_RAW");
    assert!(
        matches!(err, CaptureError::PermissionDenied { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("setcap cap_net_raw,cap_net_admin=eip"),
        "{text}"
    );
}

/// The scenario runner holds a capture across `.await`s and may spawn the wait.
#[test]
fn capture_and_its_wait_can_cross_threads() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let pcap = TempPcap::new("sendsync");
    let filter = syn_filter(Some(IpAddr::from([192, 0, 2, 125])));
    let cap = Capture::start("lo", &filter, &pcap.0).expect("start capture on lo");
    send_sync(&cap);
    let port = 8000;
    let wait = cap.wait_for_syn("x", move |e| e.dst.port() == port, Duration::ZERO);
    send(&wait);
    drop(wait);
    cap.stop().expect("stop");
}

#[tokio::test]
async fn savefile_is_flushed_while_the_capture_runs() {
    let pcap = TempPcap::new("flushing");
    let lo = IpAddr::from(Ipv4Addr::LOCALHOST);
    let cap = Capture::start("lo", &lo_syns_to(lo), &pcap.0).expect("start capture on lo");
    let (first, _) = connect_from_known_port(SocketAddr::new(lo, 0)).await;
    cap.wait_for_syn("first SYN", |e| e.src == first, Duration::from_secs(5))
        .await
        .expect("first SYN");
    // No pause: a SYN is on disk before it is announced, however soon after the last flush.
    let (second, _) = connect_from_known_port(SocketAddr::new(lo, 0)).await;
    cap.wait_for_syn("second SYN", |e| e.src == second, Duration::from_secs(5))
        .await
        .expect("second SYN");

    let mut file = pcap::Capture::from_file(&pcap.0).expect("the savefile opens mid-capture");
    let mut sources = Vec::new();
    while let Ok(packet) = file.next_packet() {
        sources.extend(decode::tcp_syn(Linktype::ETHERNET, packet.data).map(|(src, _)| src));
    }
    assert!(
        sources.contains(&first) && sources.contains(&second),
        "{sources:?}"
    );
    cap.stop().expect("stop");
}

/// SYNs sent right before the stop, with nobody waiting for them: the list `finish` returns
/// and the savefile hold the same SYNs, all of them.
#[tokio::test]
async fn finish_counts_what_the_savefile_holds_even_syns_sent_just_before() {
    let pcap = TempPcap::new("finish");
    let lo = IpAddr::from(Ipv4Addr::LOCALHOST);
    let listener = TcpListener::bind((lo, 0)).expect("listen");
    let port = listener.local_addr().expect("listener addr").port();
    let filter = format!("tcp and dst host {lo} and dst port {port}");
    let cap = Capture::start("lo", &filter, &pcap.0).expect("start capture on lo");
    let mut sent = Vec::new();
    for _ in 0..20 {
        let (local, connected) = connect_from_known_port(SocketAddr::new(lo, port)).await;
        assert!(connected);
        sent.push(local);
    }
    let (syns, summary) = cap.finish();
    let summary = summary.expect("stop");
    assert_eq!(summary.dropped_by_kernel, Some(0));
    assert_eq!(syns.len() as u64, summary.syns);
    let mut file = pcap::Capture::from_file(&pcap.0).expect("the savefile opens");
    let linktype = file.get_datalink();
    let mut syns_in_file = Vec::new();
    while let Ok(packet) = file.next_packet() {
        syns_in_file.extend(decode::tcp_syn(linktype, packet.data).map(|(src, _)| src));
    }
    let listed: Vec<SocketAddr> = syns.iter().map(|s| s.src).collect();
    assert_eq!(listed, syns_in_file, "the list and the savefile differ");
    assert_eq!(listed, sent, "every SYN sent before the stop is counted");
}

/// A count wait scans the kept SYNs: those seen before it started (after `since`) count, and a
/// timeout says how many matched.
#[tokio::test]
async fn a_count_wait_counts_from_since_and_says_how_many_at_the_deadline() {
    let pcap = TempPcap::new("count");
    let lo = IpAddr::from(Ipv4Addr::LOCALHOST);
    let listener = TcpListener::bind((lo, 0)).expect("listen");
    let port = listener.local_addr().expect("listener addr").port();
    let filter = format!("tcp and dst host {lo} and dst port {port}");
    let cap = Capture::start("lo", &filter, &pcap.0).expect("start capture on lo");
    for _ in 0..3 {
        connect_from_known_port(SocketAddr::new(lo, port)).await;
    }
    let to_port = |e: &SynEvent| e.dst.port() == port;
    let (n, last) = cap
        .wait_for_syns("3 SYNs", 0, to_port, 3, Duration::from_secs(5))
        .await
        .expect("three SYNs");
    assert_eq!(n, 3);
    assert!(last.is_some());
    let since = cap.seen();
    let err = cap
        .wait_for_syns("2 more", since, to_port, 2, Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(err.last_seen.contains("0 of 2 matching"), "{err}");
    cap.stop().expect("stop");
}
