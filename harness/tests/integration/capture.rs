//! The SYN detector on a real case network: a container that connects to port 0 of an address
//! the harness holds on the bridge is seen doing so, an ordinary connection is seen with its own port and is not counted as port 0. This is
//! what makes a "no SYN to port 0" verdict mean something.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use haprepro::backend::{Backend, Behaviour, Mode};
use haprepro::capture::{syn_filter, Capture};
use haprepro::runtime::{ContainerSpec, Engine, Sandbox};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_syn_to_port_zero_between_containers_is_detected() {
    let engine = Engine::connect()
        .await
        .unwrap_or_else(|e| panic!("{e}\n(this test needs a Docker daemon)"));
    let base = crate::support::base_image(&engine).await;
    let run = format!("test-{}", haprepro::runtime::new_run_id());
    let sandbox = Sandbox::create(&engine, &run, "capture-self-test")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The target is a backend of the harness process, on an address of the bridge: the SYNs
    // cross the bridge to the host, as HAProxy's SYNs to its backends do.
    let ip = sandbox
        .add_address("target")
        .unwrap_or_else(|e| panic!("{e}"));
    let target = Backend::start(
        "target",
        Mode::Tcp,
        SocketAddr::new(IpAddr::V4(ip), 8000),
        Behaviour::default(),
        std::time::Instant::now(),
    )
    .expect("target backend");
    let pcap = std::env::temp_dir().join(format!("{run}.pcap"));
    let capture = Capture::start(&sandbox.network().bridge, &syn_filter(None), &pcap)
        .unwrap_or_else(|e| panic!("{e}"));
    let script = format!(
        "(exec 3<>/dev/tcp/{ip}/0) 2>/dev/null; (exec 3<>/dev/tcp/{ip}/8000) 2>/dev/null; sleep 30"
    );
    let client = sandbox
        .start(ContainerSpec {
            role: "client".into(),
            image: base,
            entrypoint: Some(vec!["bash".into(), "-c".into(), script]),
            ..Default::default()
        })
        .await
        .expect("client container");

    let to = |port| SocketAddr::new(IpAddr::V4(ip), port);
    let within = Duration::from_secs(10);
    let zero = capture
        .wait_for_syn("a SYN to the target's port 0", |s| s.dst == to(0), within)
        .await;
    let ordinary = capture
        .wait_for_syn(
            "a SYN to the target's port 8000",
            |s| s.dst == to(8000),
            within,
        )
        .await;
    let syns = capture.syns();
    let summary = capture.stop().expect("capture stops");
    let connections = target.log().connections();
    target.shutdown().await;
    sandbox.teardown().await.expect("teardown");
    let _ = std::fs::remove_file(&pcap);

    let zero = zero.unwrap_or_else(|e| panic!("{e}"));
    let ordinary = ordinary.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(zero.src.ip(), IpAddr::V4(client.ip));
    assert_eq!(ordinary.src.ip(), IpAddr::V4(client.ip));
    let to_zero: Vec<_> = syns.iter().filter(|s| s.dst.port() == 0).collect();
    assert!(
        to_zero
            .iter()
            .all(|s| s.dst == to(0) && s.src.port() == zero.src.port()),
        "only the port-0 attempt may count as port 0: {to_zero:?}"
    );
    assert!(summary.packets >= 2, "{summary:?}");
    assert!(
        connections
            .iter()
            .any(|c| c.peer.ip() == IpAddr::V4(client.ip)),
        "the backend logged the client's connection: {connections:?}"
    );
}
