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
            let record = run_variant($scenario, None, version).await;
            assert_pass(&record);
            crate::lanes::check(&record);
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
            let record = run_variant($scenario, Some(variant), version).await;
            assert_pass(&record);
            crate::lanes::check(&record);
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
scenario_test!(show_pools_match_crash, "show-pools-match-crash");

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

/// What `haprepro new` writes is a working experiment: it runs and passes as written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_scenario_runs_as_written() {
    let dir = std::env::temp_dir().join(format!("haprepro-new-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let haprepro = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_haprepro"))
            .args(args)
            .arg("--scenarios-dir")
            .arg(&dir)
            .arg("--results-dir")
            .arg(crate::support::workspace().join("results"))
            .output()
            .expect("the haprepro binary runs")
    };
    let made = haprepro(&["new", "fresh"]);
    assert_eq!(made.status.code(), Some(0), "{made:?}");
    // The tests' own image check first: `run` would build a missing image too, but silently
    // under the test harness.
    let engine = haprepro::runtime::Engine::connect().await.expect("Docker");
    crate::support::ensure_images(&engine).await;
    let ran = haprepro(&["run", "fresh", "--version", "3.0.11"]);
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&ran.stdout);
    assert_eq!(
        ran.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    assert!(stdout.contains("=> PASS"), "{stdout}");
}
