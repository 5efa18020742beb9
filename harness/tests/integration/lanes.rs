//! What the timeline's lanes hold, for the cases whose lanes tell their story: each lane is
//! compared with the case's own measures (the same events counted by another path), so an
//! empty lane (as the client lane once was in every case: the records were read after the
//! evidence had taken them) fails here.

use haprepro::report::timeline::{Timeline, JSON_FILE};
use haprepro::report::CaseRecord;

/// Checks the lanes of `record`'s timeline where its scenario has a lane to check.
pub fn check(record: &CaseRecord) {
    let path = record.evidence_dir.join(JSON_FILE);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let t: Timeline = serde_json::from_str(&text).expect("timeline.json parses");
    let m = |name: &str| record.measures[name] as usize;
    match (record.scenario.as_str(), record.variant.as_deref()) {
        ("smoke", _) => {
            // The client lane: every answered request, by the server that answered it.
            let by = |server: &str| {
                t.requests
                    .iter()
                    .filter(|r| r.server.as_deref() == Some(server))
                    .count()
            };
            assert_eq!(
                t.requests.len(),
                4,
                "smoke sends 4 requests: {:?}",
                t.requests
            );
            assert_eq!(
                by("web1") + by("web2"),
                m("answered_by_backend"),
                "{:?}",
                t.requests
            );
            assert!(by("web1") >= 1 && by("web2") >= 1, "{:?}", t.requests);
            assert!(t
                .requests
                .iter()
                .all(|r| r.client.starts_with("harness → haproxy:8080")));
        }
        ("backup-sticks-after-dns-startup", Some("sticky")) => {
            let c1_on_backup = t
                .requests
                .iter()
                .filter(|r| r.client.starts_with("c1 →") && r.server.as_deref() == Some("backup"))
                .count();
            assert_eq!(
                c1_on_backup,
                m("c1_window_on_backup") + m("c1_after_on_backup"),
                "c1's requests on the backup: {:?}",
                t.requests
            );
            assert!(c1_on_backup >= 1);
        }
        ("dns-flap-check-port-zero", _) => {
            // The SYN lane: the health checks to the servers' real port.
            let to_8000 = t.syns.iter().filter(|s| s.port == 8000).count();
            assert!(t.captured, "the capture lane is drawn");
            assert_eq!(to_8000, m("syn_to_8000"), "{:?}", t.syns);
            assert_eq!(
                t.syns.iter().filter(|s| s.port == 0).count(),
                m("syn_to_port_zero")
            );
        }
        ("shutdown-sessions-leaves-connections", Some("established")) => {
            // The session lane: the load's connections, each on a server or none.
            let open_before = m("s1_open_before") + m("s2_open_before");
            assert!(
                t.sessions.len() >= open_before && open_before >= 50,
                "{} sessions in the lane, {open_before} open before the shutdown",
                t.sessions.len()
            );
            assert!(t.sessions.iter().all(|s| s.load == "load"));
            assert!(t.sessions.iter().any(|s| s.server.as_deref() == Some("s1")));
        }
        _ => {}
    }
}
