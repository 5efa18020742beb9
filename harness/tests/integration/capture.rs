//! The SYN detector on a real case network: a container that connects to port 0 is seen doing
//! so, an ordinary connection is seen with its own port and is not counted as port 0. This is
//! what makes a "no SYN to port 0" verdict mean something.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use haprepro::capture::{syn_filter, Capture};
use haprepro::runtime::{ContainerSpec, Engine, Sandbox};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_syn_to_port_zero_between_containers_is_detected() {
    let engine = Engine::connect()
        .await
        .unwrap_or_else(|e| panic!("{e}\n(this test needs a Docker daemon)"));
    let base = haprepro::images::base_image(&engine)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let backend = haprepro::backend::locate().unwrap_or_else(|e| panic!("{e}"));
    let run = format!("test-{}", haprepro::runtime::new_run_id());
    let sandbox = Sandbox::create(&engine, &run, "capture-self-test")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let target = sandbox
        .start(ContainerSpec {
            role: "target".into(),
            image: base.clone(),
            entrypoint: Some(vec![haprepro::backend::CONTAINER_PATH.into()]),
            cmd: [
                "--name",
                "target",
                "--mode",
                "tcp",
                "--listen",
                "0.0.0.0:8000",
            ]
            .map(String::from)
            .to_vec(),
            binds: vec![format!(
                "{}:{}:ro",
                backend.display(),
                haprepro::backend::CONTAINER_PATH
            )],
            ..Default::default()
        })
        .await
        .expect("target container");
    let pcap = std::env::temp_dir().join(format!("{run}.pcap"));
    let capture = Capture::start(&sandbox.network().bridge, &syn_filter(None), &pcap)
        .unwrap_or_else(|e| panic!("{e}"));
    let ip = target.ip;
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
}
