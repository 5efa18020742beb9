//! The server against real clients: hickory-resolver (UDP and TCP configured separately) for
//! what a resolver library sees, and raw DNS messages over UDP and TCP for what it hides
//! (header bits, the additional and authority sections).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::Resolver;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::*;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// How long a client waits for an answer that should come; long enough for a loaded CI machine.
const ANSWER_TIMEOUT: Duration = Duration::from_millis(1000);
/// How long a client waits for an answer that should never come.
const SILENCE: Duration = Duration::from_millis(300);

async fn server() -> DnsServer {
    DnsServer::start(LOCALHOST, 0, "svc.test")
        .await
        .expect("start DNS server")
}

fn ip4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// A resolver that asks only `server`, over `protocol` only, once, without a cache.
fn resolver(
    server: SocketAddr,
    protocol: Protocol,
    timeout: Duration,
) -> Resolver<TokioRuntimeProvider> {
    let mut conn = match protocol {
        Protocol::Udp => ConnectionConfig::udp(),
        Protocol::Tcp => ConnectionConfig::tcp(),
    };
    conn.port = server.port();
    let ns = NameServerConfig::new(server.ip(), true, vec![conn]);
    let mut opts = ResolverOpts::default();
    opts.cache_size = 0;
    opts.attempts = 1;
    opts.timeout = timeout;
    opts.try_tcp_on_error = false;
    opts.use_hosts_file = ResolveHosts::Never;
    Resolver::builder_with_config(
        ResolverConfig::from_name_servers(vec![ns]),
        TokioRuntimeProvider::default(),
    )
    .with_options(opts)
    .build()
    .expect("build resolver")
}

async fn resolve_a(
    r: &Resolver<TokioRuntimeProvider>,
    name: &str,
) -> Result<Vec<Ipv4Addr>, hickory_resolver::net::NetError> {
    let lookup = r.lookup(name, RecordType::A).await?;
    let mut ips: Vec<Ipv4Addr> = lookup
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect();
    ips.sort();
    Ok(ips)
}

fn query_bytes(name: &str, qtype: RecordType) -> (u16, Vec<u8>) {
    let mut msg = Message::query();
    msg.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    (msg.metadata.id, msg.to_vec().unwrap())
}

/// One raw query over UDP; `None` if no answer came within `wait`.
async fn udp(server: SocketAddr, name: &str, qtype: RecordType, wait: Duration) -> Option<Message> {
    let sock = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let (id, bytes) = query_bytes(name, qtype);
    sock.send_to(&bytes, server).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(wait, sock.recv(&mut buf))
        .await
        .ok()?
        .unwrap();
    let msg = Message::from_vec(&buf[..n]).unwrap();
    assert_eq!(msg.metadata.id, id);
    Some(msg)
}

async fn tcp_send(stream: &mut TcpStream, name: &str, qtype: RecordType) -> u16 {
    let (id, bytes) = query_bytes(name, qtype);
    stream.write_u16(bytes.len() as u16).await.unwrap();
    stream.write_all(&bytes).await.unwrap();
    id
}

async fn tcp_recv(stream: &mut TcpStream) -> Message {
    let len = stream.read_u16().await.unwrap();
    let mut buf = vec![0u8; len as usize];
    stream.read_exact(&mut buf).await.unwrap();
    Message::from_vec(&buf).unwrap()
}

/// One raw query over a fresh TCP connection.
async fn tcp(server: SocketAddr, name: &str, qtype: RecordType) -> Message {
    let mut stream = TcpStream::connect(server).await.unwrap();
    let id = tcp_send(&mut stream, name, qtype).await;
    let msg = tokio::time::timeout(ANSWER_TIMEOUT, tcp_recv(&mut stream))
        .await
        .expect("TCP answer in time");
    assert_eq!(msg.metadata.id, id);
    msg
}

fn srv(port: u16, target: &str) -> SrvTarget {
    SrvTarget {
        priority: 0,
        weight: 10,
        port,
        target: target.to_string(),
    }
}

#[tokio::test]
async fn a_records_set_replace_remove_over_udp() {
    let s = server().await;
    let r = resolver(s.addr(), Protocol::Udp, ANSWER_TIMEOUT);
    s.zone()
        .set_a("app", vec![ip4("10.0.0.2"), ip4("10.0.0.1")]);
    assert_eq!(
        resolve_a(&r, "app.svc.test.").await.unwrap(),
        [ip4("10.0.0.1"), ip4("10.0.0.2")]
    );

    s.zone().set_a("app.svc.test.", vec![ip4("10.0.0.3")]);
    assert_eq!(
        resolve_a(&r, "app.svc.test.").await.unwrap(),
        [ip4("10.0.0.3")]
    );

    s.zone().remove("APP.svc.test");
    let err = resolve_a(&r, "app.svc.test.").await.unwrap_err();
    assert!(err.is_nx_domain(), "expected NXDOMAIN, got {err}");
}

#[tokio::test]
async fn a_records_over_tcp() {
    let s = server().await;
    let r = resolver(s.addr(), Protocol::Tcp, ANSWER_TIMEOUT);
    s.zone().set_a("app", vec![ip4("10.0.0.1")]);
    assert_eq!(
        resolve_a(&r, "app.svc.test.").await.unwrap(),
        [ip4("10.0.0.1")]
    );
    s.zone().remove_type("app", RecordKind::A);
    let err = resolve_a(&r, "app.svc.test.").await.unwrap_err();
    assert!(err.is_nx_domain(), "expected NXDOMAIN, got {err}");
    let log = s.log().entries();
    assert!(log.iter().all(|q| q.protocol == Protocol::Tcp), "{log:?}");
}

#[tokio::test]
async fn aaaa_records_and_nodata_for_other_types() {
    let s = server().await;
    let v6: Ipv6Addr = "fd00::7".parse().unwrap();
    s.zone().set_aaaa("app", vec![v6]);
    let r = resolver(s.addr(), Protocol::Udp, ANSWER_TIMEOUT);
    let lookup = r.lookup("app.svc.test.", RecordType::AAAA).await.unwrap();
    let got: Vec<_> = lookup.answers().iter().map(|r| r.data.clone()).collect();
    assert_eq!(got, [RData::AAAA(v6.into())]);

    // The name exists but has no A: NOERROR, no answers, the SOA in authority, AA set.
    let msg = udp(s.addr(), "app.svc.test.", RecordType::A, ANSWER_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
    assert!(msg.metadata.authoritative);
    assert!(msg.answers.is_empty(), "{msg:?}");
    assert_eq!(msg.authorities.len(), 1);
    assert_eq!(msg.authorities[0].record_type(), RecordType::SOA);
    // Any other type is NODATA too.
    let msg = udp(s.addr(), "app.svc.test.", RecordType::TXT, ANSWER_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
    assert!(msg.answers.is_empty());
}

#[tokio::test]
async fn srv_answer_carries_target_addresses_in_additional() {
    let s = server().await;
    let z = s.zone();
    z.set_a("web1", vec![ip4("10.0.0.1")]);
    z.set_a("web2", vec![ip4("10.0.0.2")]);
    z.set_aaaa("web2", vec!["fd00::2".parse().unwrap()]);
    z.set_srv(
        "_http._tcp.app",
        vec![
            srv(8080, "web1"),
            srv(8081, "web2.svc.test."),
            srv(8082, "gone"),
        ],
    );

    let msg = udp(
        s.addr(),
        "_http._tcp.app.svc.test.",
        RecordType::SRV,
        ANSWER_TIMEOUT,
    )
    .await
    .unwrap();
    assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
    let mut targets: Vec<(u16, String)> = msg
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::SRV(srv) => Some((srv.port, srv.target.to_string())),
            _ => None,
        })
        .collect();
    targets.sort();
    assert_eq!(
        targets,
        [
            (8080, "web1.svc.test.".to_string()),
            (8081, "web2.svc.test.".to_string()),
            (8082, "gone.svc.test.".to_string())
        ]
    );
    let mut additional: Vec<String> = msg
        .additionals
        .iter()
        .map(|r| format!("{} {}", r.name, r.data))
        .collect();
    additional.sort();
    assert_eq!(
        additional,
        [
            "web1.svc.test. 10.0.0.1",
            "web2.svc.test. 10.0.0.2",
            "web2.svc.test. fd00::2"
        ]
    );

    // The resolver library sees the SRV set too.
    let r = resolver(s.addr(), Protocol::Tcp, ANSWER_TIMEOUT);
    let lookup = r
        .lookup("_http._tcp.app.svc.test.", RecordType::SRV)
        .await
        .unwrap();
    assert_eq!(
        lookup
            .answers()
            .iter()
            .filter(|r| r.record_type() == RecordType::SRV)
            .count(),
        3
    );
    let last = s.log().entries().pop().unwrap();
    assert_eq!(last.answer, "NOERROR 3 answers 3 additional");

    // Shrinking the set is seen on the next query.
    z.set_srv("_http._tcp.app", vec![srv(8080, "web1")]);
    let msg = udp(
        s.addr(),
        "_http._tcp.app.svc.test.",
        RecordType::SRV,
        ANSWER_TIMEOUT,
    )
    .await
    .unwrap();
    assert_eq!(msg.answers.len(), 1);
    assert_eq!(msg.additionals.len(), 1);
}

#[tokio::test]
async fn ttl_applies_to_later_answers() {
    let s = server().await;
    s.zone().set_a("app", vec![ip4("10.0.0.1")]);
    let msg = udp(s.addr(), "app.svc.test.", RecordType::A, ANSWER_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(msg.answers[0].ttl, 1, "default TTL");
    s.zone().set_ttl(30);
    let msg = udp(s.addr(), "app.svc.test.", RecordType::A, ANSWER_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(msg.answers[0].ttl, 30);
}

#[tokio::test]
async fn names_match_case_insensitively_and_outside_names_are_refused() {
    let s = server().await;
    s.zone().set_a("App", vec![ip4("10.0.0.1")]);
    let msg = udp(s.addr(), "APP.Svc.TEST.", RecordType::A, ANSWER_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(msg.answers.len(), 1);
    assert!(msg.metadata.authoritative);
    assert_eq!(
        s.log().entries()[0].name,
        "app.svc.test.",
        "logged lowercase"
    );

    let msg = udp(s.addr(), "app.example.", RecordType::A, ANSWER_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(msg.metadata.response_code, ResponseCode::Refused);
    let msg = udp(s.addr(), "nothing.svc.test.", RecordType::A, ANSWER_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(msg.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(msg.authorities[0].record_type(), RecordType::SOA);
}

#[tokio::test]
async fn udp_and_tcp_share_one_port() {
    let s = server().await;
    s.zone().set_a("app", vec![ip4("10.0.0.1")]);
    assert_ne!(s.addr().port(), 0);
    let over_udp = udp(s.addr(), "app.svc.test.", RecordType::A, ANSWER_TIMEOUT)
        .await
        .unwrap();
    let over_tcp = tcp(s.addr(), "app.svc.test.", RecordType::A).await;
    assert_eq!(over_udp.answers, over_tcp.answers);
}

#[tokio::test]
async fn fault_delay_answers_late_without_holding_other_names() {
    const DELAY: Duration = Duration::from_millis(400);
    let s = server().await;
    s.zone().set_a("slow", vec![ip4("10.0.0.1")]);
    s.zone().set_a("fast", vec![ip4("10.0.0.2")]);
    s.zone().set_fault("slow", Fault::Delay(DELAY), None);

    let addr = s.addr();
    let start = Instant::now();
    let slow = tokio::spawn(async move {
        let msg = udp(addr, "slow.svc.test.", RecordType::A, DELAY * 3).await;
        (msg, start.elapsed())
    });
    // Let the slow query arrive first.
    s.log()
        .wait_for(
            "the slow query",
            |q| q.name == "slow.svc.test.",
            ANSWER_TIMEOUT,
        )
        .await
        .unwrap();
    let fast_start = Instant::now();
    let fast = udp(addr, "fast.svc.test.", RecordType::A, ANSWER_TIMEOUT)
        .await
        .unwrap();
    let fast_took = fast_start.elapsed();
    assert_eq!(fast.answers.len(), 1);
    assert!(fast_took < DELAY / 2, "fast query took {fast_took:?}");

    let (slow, took) = slow.await.unwrap();
    let slow = slow.expect("delayed answer arrives");
    assert_eq!(slow.answers.len(), 1);
    assert!(took >= DELAY, "answered after {took:?}, before the delay");
    assert!(
        took < DELAY + Duration::from_millis(300),
        "answered after {took:?}"
    );
    let slow_entry = s
        .log()
        .entries()
        .into_iter()
        .find(|q| q.name == "slow.svc.test.")
        .unwrap();
    assert_eq!(slow_entry.answer, "delayed 400ms then NOERROR 1 answer");
}

#[tokio::test]
async fn fault_delay_over_tcp_does_not_hold_the_connection() {
    const DELAY: Duration = Duration::from_millis(400);
    let s = server().await;
    s.zone().set_a("slow", vec![ip4("10.0.0.1")]);
    s.zone().set_a("fast", vec![ip4("10.0.0.2")]);
    s.zone().set_fault("slow", Fault::Delay(DELAY), None);

    // Two queries pipelined on one connection: the fast one is answered first.
    let mut stream = TcpStream::connect(s.addr()).await.unwrap();
    let start = Instant::now();
    let slow_id = tcp_send(&mut stream, "slow.svc.test.", RecordType::A).await;
    let fast_id = tcp_send(&mut stream, "fast.svc.test.", RecordType::A).await;
    let first = tcp_recv(&mut stream).await;
    let first_took = start.elapsed();
    let second = tcp_recv(&mut stream).await;
    let second_took = start.elapsed();
    assert_eq!(first.metadata.id, fast_id);
    assert!(first_took < DELAY / 2, "fast answer took {first_took:?}");
    assert_eq!(second.metadata.id, slow_id);
    assert!(second_took >= DELAY, "slow answer after {second_took:?}");
}

#[tokio::test]
async fn fault_drop_makes_the_client_time_out() {
    let s = server().await;
    s.zone().set_a("app", vec![ip4("10.0.0.1")]);
    s.zone().set_fault("app", Fault::Drop, None);

    assert!(udp(s.addr(), "app.svc.test.", RecordType::A, SILENCE)
        .await
        .is_none());
    let r = resolver(s.addr(), Protocol::Udp, SILENCE);
    let err = resolve_a(&r, "app.svc.test.").await.unwrap_err();
    assert!(
        matches!(err, hickory_resolver::net::NetError::Timeout),
        "expected a timeout, got {err:?}"
    );
    assert!(s
        .log()
        .entries()
        .iter()
        .all(|q| q.answer == "dropped (fault)"));

    s.zone().clear_fault("app");
    assert_eq!(
        resolve_a(&r, "app.svc.test.").await.unwrap(),
        [ip4("10.0.0.1")]
    );
}

#[tokio::test]
async fn fault_error_codes() {
    let s = server().await;
    s.zone().set_a("app", vec![ip4("10.0.0.1")]);
    for (fault, code, text) in [
        (Fault::ServFail, ResponseCode::ServFail, "SERVFAIL (fault)"),
        (Fault::NxDomain, ResponseCode::NXDomain, "NXDOMAIN (fault)"),
        (Fault::Refused, ResponseCode::Refused, "REFUSED (fault)"),
    ] {
        s.zone().set_fault("app", fault, None);
        for msg in [
            udp(s.addr(), "app.svc.test.", RecordType::A, ANSWER_TIMEOUT)
                .await
                .unwrap(),
            tcp(s.addr(), "app.svc.test.", RecordType::A).await,
        ] {
            assert_eq!(msg.metadata.response_code, code, "{fault}");
            assert!(msg.answers.is_empty(), "{fault}");
        }
        assert_eq!(s.log().entries().pop().unwrap().answer, text);
    }
    // The resolver library sees SERVFAIL as an error.
    s.zone().set_fault("app", Fault::ServFail, None);
    let r = resolver(s.addr(), Protocol::Udp, ANSWER_TIMEOUT);
    assert!(resolve_a(&r, "app.svc.test.").await.is_err());
}

#[tokio::test]
async fn fault_truncate_sets_tc_over_udp_only() {
    let s = server().await;
    s.zone().set_a("app", vec![ip4("10.0.0.1")]);
    s.zone().set_fault("app", Fault::Truncate, None);

    let msg = udp(s.addr(), "app.svc.test.", RecordType::A, ANSWER_TIMEOUT)
        .await
        .unwrap();
    assert!(msg.metadata.truncation, "TC bit over UDP");
    assert!(msg.answers.is_empty());
    let msg = tcp(s.addr(), "app.svc.test.", RecordType::A).await;
    assert!(!msg.metadata.truncation, "no TC over TCP");
    assert_eq!(msg.answers.len(), 1);
}

#[tokio::test]
async fn fault_scoped_to_another_client_does_not_apply() {
    let s = server().await;
    s.zone().set_a("app", vec![ip4("10.0.0.1")]);
    s.zone()
        .set_fault("app", Fault::ServFail, Some("10.9.9.9".parse().unwrap()));
    let msg = udp(s.addr(), "app.svc.test.", RecordType::A, ANSWER_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
    assert_eq!(msg.answers.len(), 1);

    s.zone().set_fault("app", Fault::Refused, Some(LOCALHOST));
    let msg = udp(s.addr(), "app.svc.test.", RecordType::A, ANSWER_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(msg.metadata.response_code, ResponseCode::Refused);
    assert!(s.zone().snapshot().contains("SERVFAIL for client 10.9.9.9"));
}

#[tokio::test]
async fn query_log_records_every_query() {
    let s = server().await;
    s.zone()
        .set_a("app", vec![ip4("10.0.0.1"), ip4("10.0.0.2")]);
    let msg = udp(s.addr(), "app.svc.test.", RecordType::A, ANSWER_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(msg.answers.len(), 2);
    tcp(s.addr(), "missing.svc.test.", RecordType::AAAA).await;

    let log = s.log().entries();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].protocol, Protocol::Udp);
    assert_eq!(log[0].client.ip(), LOCALHOST);
    assert_eq!(log[0].name, "app.svc.test.");
    assert_eq!(log[0].qtype, "A");
    assert_eq!(log[0].answer, "NOERROR 2 answers");
    assert_eq!(log[1].protocol, Protocol::Tcp);
    assert_eq!(log[1].qtype, "AAAA");
    assert_eq!(log[1].answer, "NXDOMAIN");
    assert!(log[0].at <= log[1].at);

    let text = s.log().to_text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].contains("udp 127.0.0.1:"), "{text}");
    assert!(
        lines[0].ends_with("A app.svc.test. -> NOERROR 2 answers"),
        "{text}"
    );
    assert!(
        lines[1].ends_with("AAAA missing.svc.test. -> NXDOMAIN"),
        "{text}"
    );
}

#[tokio::test]
async fn wait_for_returns_on_a_new_query() {
    let s = server().await;
    s.zone().set_a("app", vec![ip4("10.0.0.1")]);
    udp(s.addr(), "app.svc.test.", RecordType::A, ANSWER_TIMEOUT)
        .await
        .unwrap();

    let log = s.log();
    let since = log.len();
    assert_eq!(since, 1);
    let waiter = tokio::spawn(async move {
        log.wait_for_since(
            since,
            "a query for app",
            |q| q.name == "app.svc.test.",
            ANSWER_TIMEOUT,
        )
        .await
    });
    // Let the waiter see the old query and go to sleep before the new one arrives.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        !waiter.is_finished(),
        "the old query must not satisfy the wait"
    );
    let msg = udp(s.addr(), "app.svc.test.", RecordType::A, ANSWER_TIMEOUT)
        .await
        .unwrap();
    let found = waiter
        .await
        .unwrap()
        .expect("wait satisfied by the new query");
    assert_eq!(found.name, "app.svc.test.");
    assert_eq!(s.log().len(), 2);
    assert_eq!(msg.answers.len(), 1);

    // Plain wait_for also counts queries already logged.
    s.log()
        .wait_for("any query", |_| true, Duration::ZERO)
        .await
        .unwrap();
}

#[tokio::test]
async fn wait_for_times_out_with_the_last_query() {
    let s = server().await;
    let err = s
        .log()
        .wait_for("a query", |_| true, Duration::from_millis(50))
        .await
        .unwrap_err();
    assert_eq!(err.last_seen, "no query");

    udp(s.addr(), "other.svc.test.", RecordType::A, ANSWER_TIMEOUT)
        .await
        .unwrap();
    let start = Instant::now();
    let err = s
        .log()
        .wait_for(
            "a query for app",
            |q| q.name == "app.svc.test.",
            Duration::from_millis(100),
        )
        .await
        .unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(100));
    assert_eq!(err.what, "a query for app");
    assert!(err.waited >= Duration::from_millis(100));
    assert!(
        err.last_seen.contains("A other.svc.test. -> NXDOMAIN"),
        "{}",
        err.last_seen
    );
}

#[tokio::test]
async fn bind_error_names_the_address() {
    let s = server().await;
    let err = match DnsServer::start(LOCALHOST, s.addr().port(), "svc.test").await {
        Ok(_) => panic!("second server bound a taken port"),
        Err(e) => e,
    };
    assert!(matches!(err, DnsError::Bind { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&s.addr().to_string()), "{text}");
    assert!(text.contains("using the port"), "{text}");
}

#[tokio::test]
async fn bad_origin_is_rejected() {
    let err = match DnsServer::start(LOCALHOST, 0, "bad..origin").await {
        Ok(_) => panic!("accepted an invalid origin"),
        Err(e) => e,
    };
    assert!(matches!(err, DnsError::Origin { .. }), "{err:?}");
}

#[tokio::test]
async fn shutdown_stops_answering() {
    let s = server().await;
    s.zone().set_a("app", vec![ip4("10.0.0.1")]);
    let addr = s.addr();
    assert!(udp(addr, "app.svc.test.", RecordType::A, ANSWER_TIMEOUT)
        .await
        .is_some());
    s.shutdown().await;
    assert!(udp(addr, "app.svc.test.", RecordType::A, SILENCE)
        .await
        .is_none());
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "TCP still accepting"
    );
}

#[tokio::test]
async fn drop_stops_answering() {
    let s = server().await;
    let addr = s.addr();
    drop(s);
    // The listener tasks are aborted; give the runtime a turn to close the sockets.
    tokio::task::yield_now().await;
    assert!(udp(addr, "app.svc.test.", RecordType::A, SILENCE)
        .await
        .is_none());
}

/// Runs dig, a client that shares no code with hickory, and returns its output.
fn dig(server: SocketAddr, args: &[&str]) -> String {
    let out = std::process::Command::new("dig")
        .arg(format!("@{}", server.ip()))
        .args(["-p", &server.port().to_string(), "+tries=1", "+time=1"])
        .args(args)
        .output()
        .expect("run dig (Debian package dnsutils / bind9-dnsutils)");
    // Columns are tab-aligned; one space between fields keeps the assertions readable.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn dig_sees_aa_flag_srv_additionals_and_tc() {
    let s = server().await;
    let z = s.zone();
    z.set_a("web1", vec![ip4("10.0.0.1")]);
    z.set_srv("_http._tcp.app", vec![srv(8080, "web1")]);
    z.set_ttl(5);
    let addr = s.addr();

    // dig blocks; run it off the runtime's workers so the server keeps answering.
    let out = tokio::task::spawn_blocking(move || {
        dig(addr, &["+tcp", "_http._tcp.app.svc.test.", "SRV"])
    })
    .await
    .unwrap();
    assert!(out.contains("status: NOERROR"), "{out}");
    assert!(out.contains("flags: qr aa"), "{out}");
    // dig sends EDNS, as HAProxy does; the OPT record counts as one additional.
    assert!(
        out.contains("ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 2"),
        "{out}"
    );
    assert!(out.contains("EDNS: version: 0"), "{out}");
    assert!(
        out.contains("\n_http._tcp.app.svc.test. 5 IN SRV 0 10 8080 web1.svc.test.\n"),
        "{out}"
    );
    assert!(out.contains("\nweb1.svc.test. 5 IN A 10.0.0.1\n"), "{out}");

    // An empty non-terminal (records only below it) is NODATA, not NXDOMAIN.
    let out = tokio::task::spawn_blocking(move || dig(addr, &["_tcp.app.svc.test.", "A"]))
        .await
        .unwrap();
    assert!(out.contains("status: NOERROR"), "{out}");
    assert!(out.contains("ANSWER: 0, AUTHORITY: 1"), "{out}");

    z.set_fault("web1", Fault::Truncate, None);
    let out = tokio::task::spawn_blocking(move || {
        dig(addr, &["+notcp", "+ignore", "web1.svc.test.", "A"])
    })
    .await
    .unwrap();
    assert!(out.contains("flags: qr aa tc"), "{out}");
}
