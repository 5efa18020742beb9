//! What a new scenario needs beyond the shipped ones, on a real HAProxy: a template loop that
//! makes 20 backends, and count waits over their servers, one met and one that times out as an
//! observation the measures read.

use haprepro::scenario::Outcome;

use crate::support::run_written;

const SCENARIO: &str = r#"name = "many-backends"
summary = "20 backends from one template loop, counted"

[expect]
"*" = "not-reproduced"

[topology]
backends = [{ name = "web1", mode = "tcp", port = 8000 }]
dns = { zone = "svc.test", records = [{ name = "app", a = ["web1"] }] }
haproxy = { config = "haproxy.cfg" }

[[step]]
wait = { servers = "be*/srv1", state = "UP", within = "10s", record = "up" }
[[step]]
wait = { servers = ["be1/srv1", "be2/srv1", "be3/srv1"], state = "MAINT", within = "300ms", record = "maint", on_timeout = "observation" }

[observe]
reproduced_if = "came_up < 20"
valid_if = ["wanted == 20", "in_maint == 0", "maint_timed_out == 1", "maint_total == 3"]

[observe.measure]
came_up = { counted = { record = "up" } }
wanted = { counted = { record = "up", value = "wanted" } }
in_maint = { counted = { record = "maint" } }
maint_total = { counted = { record = "maint", value = "total" } }
maint_timed_out = { counted = { record = "maint", value = "timed_out" } }
"#;

const TEMPLATE: &str = "global
    log stdout format raw local0
    stats socket ipv4@0.0.0.0:{{ api.port }} level admin

resolvers dns
    nameserver ns1 {{ dns.addr }}
    hold valid 10s

defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s

{{ for i in 1..=20 }}
backend be{{ i }}
    server srv1 app.{{ zone }}:8000 resolvers dns init-addr none check inter 200ms rise 1
{{ end }}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_loop_and_count_waits_on_real_haproxy() {
    let record = run_written("authoring", SCENARIO, TEMPLATE, "3.0.11").await;
    assert_eq!(
        record.outcome,
        Outcome::NotReproduced,
        "{}: {:?}\n{:#?}",
        record.reason,
        record.measures,
        record.steps
    );
    assert_eq!(record.measures["came_up"], 20.0);
    let maint = &record.steps[2];
    assert!(
        maint.ok && maint.detail.contains("0 of 3 server(s)") && maint.detail.contains("deadline"),
        "{maint:?}"
    );
    assert!(record.evidence.iter().any(|e| e == "count-up.json"));
}
