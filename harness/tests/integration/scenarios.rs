//! Every scenario (and each of its variants) on every catalog version, in real containers: one
//! named test per case, so `cargo test dns_flap_check_port_zero::case_3_v3_0_11` picks one.

use rstest::rstest;

use crate::support::{assert_pass, run_variant};

/// One test function per scenario, with a case per catalog version and, for scenarios with
/// variants, a value per variant. The verdict comes from the case's own measurements.
macro_rules! scenario_test {
    ($test:ident, $scenario:literal) => {
        #[rstest]
        #[case::v2_2_9("2.2.9")]
        #[case::v2_6_12("2.6.12")]
        #[case::v3_0_11("3.0.11")]
        #[case::v3_2_26("3.2.26")]
        #[case::v3_4_7("3.4.7")]
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test(#[case] version: &str) {
            assert_pass(&run_variant($scenario, None, version).await);
        }
    };
    ($test:ident, $scenario:literal, [$($variant:literal),+ $(,)?]) => {
        #[rstest]
        #[case::v2_2_9("2.2.9")]
        #[case::v2_6_12("2.6.12")]
        #[case::v3_0_11("3.0.11")]
        #[case::v3_2_26("3.2.26")]
        #[case::v3_4_7("3.4.7")]
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test(#[case] version: &str, #[values($($variant),+)] variant: &str) {
            assert_pass(&run_variant($scenario, Some(variant), version).await);
        }
    };
}

scenario_test!(smoke, "smoke");
scenario_test!(dns_flap_check_port_zero, "dns-flap-check-port-zero");
scenario_test!(
    backup_sticks_after_dns_startup,
    "backup-sticks-after-dns-startup",
    ["sticky", "non-stick"]
);
scenario_test!(
    peers_local_inactive,
    "peers-local-inactive",
    ["local-inactive", "nonlocal-bind", "nonlocal-bind-sysctl"]
);
scenario_test!(
    master_cli_exhaustion,
    "master-cli-exhaustion",
    [
        "5a-idle-clients",
        "5a-no-half-close",
        "5b-stopped-worker",
        "5c-aborted-large-answers",
        "5c-frozen-after-large-answer",
        "5d-close-wait"
    ]
);
scenario_test!(
    shutdown_sessions_leaves_connections,
    "shutdown-sessions-leaves-connections",
    ["established", "connecting", "freeze", "freeze-control"]
);

/// The evidence a verdict rests on is kept: the capture of the port-0 scenario.
#[rstest]
#[case::v3_0_11("3.0.11")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_flap_keeps_its_capture(#[case] version: &str) {
    let record = run_variant("dns-flap-check-port-zero", None, version).await;
    assert_pass(&record);
    assert!(
        record.evidence.iter().any(|e| e == "capture.pcap"),
        "no pcap kept"
    );
    assert!(
        record.measures["syn_to_8000"] >= 3.0,
        "{:?}",
        record.measures
    );
}
