//! `haprepro new NAME`: a scenario folder to start from, which `haprepro scenarios NAME` (and
//! `haprepro run NAME`) accept as written: a `scenario.toml` whose comments say what each part
//! is for, a `haproxy.cfg` template with the lines every template needs, and a `README.md` to
//! fill in. The scenario it writes is a working experiment (one backend, a DNS name that
//! flaps, health checks counted), so an author changes it step by step from something that runs.

use std::path::{Path, PathBuf};

use clap::Args;

use super::run::CaseArgs;
use super::{exit, CliError, CliResult};

#[derive(Args)]
pub struct NewArgs {
    /// The scenario's name: the folder's name under --scenarios-dir (letters, digits, `-`).
    name: String,
    #[command(flatten)]
    case: CaseArgs,
}

pub fn run(args: NewArgs) -> CliResult {
    let folder = write(&args.case.scenarios_dir(), &args.name)?;
    println!(
        "wrote {}/ (scenario.toml, haproxy.cfg, README.md)",
        folder.display()
    );
    println!(
        "  check it:  haprepro scenarios {}\n  run it:    haprepro run {} --version 3.0.11",
        args.name, args.name
    );
    Ok(exit::OK)
}

/// Writes the folder `<dir>/<name>`, refusing a name that is not a plain folder name or a
/// folder that exists (an author's work is never overwritten).
pub fn write(dir: &Path, name: &str) -> Result<PathBuf, CliError> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-');
    if !valid {
        return Err(CliError::usage(format!(
            "{name:?} is not a scenario name: use lowercase letters, digits and `-` \
             (it becomes the folder's name, the matrix's row and part of container names)"
        )));
    }
    let folder = dir.join(name);
    if folder.exists() {
        return Err(CliError::usage(format!(
            "{} exists already; pick another name or edit it",
            folder.display()
        )));
    }
    let files = [
        ("scenario.toml", SCENARIO.replace("NAME", name)),
        ("haproxy.cfg", HAPROXY_CFG.to_string()),
        ("README.md", README.replace("NAME", name)),
    ];
    let result = std::fs::create_dir_all(&folder).and_then(|_| {
        files
            .iter()
            .try_for_each(|(file, text)| std::fs::write(folder.join(file), text))
    });
    match result {
        Ok(()) => Ok(folder),
        Err(e) => Err(CliError::harness(format!(
            "cannot write {}: {e}",
            folder.display()
        ))),
    }
}

const SCENARIO: &str = r#"# NAME: one bug report turned into an experiment. Declaration order is execution order;
# `haprepro scenarios NAME` checks this file (file:line:column errors) without Docker.
name = "NAME"                              # the folder's name
summary = "What goes wrong, in one line"
refs = []                                  # links: the issue, the commit that broke it, the fix

# The outcome expected per HAProxy version range, first match wins: which versions have the bug.
# Ranges: "3.0-dev1..3.0-dev12", "2.9.0..", "..3.1.7", "*".
[expect]
"*" = "not-reproduced"

[topology]
# Backends run in the harness's world and name themselves in every answer (mode http or tcp).
backends = [{ name = "web1", mode = "tcp", port = 8000 }]
# The DNS server the case controls; `{{ dns.addr }}` in haproxy.cfg points at it.
dns = { zone = "svc.test", records = [{ name = "app", a = ["web1"] }] }
haproxy = { config = "haproxy.cfg" }
# SYNs HAProxy sends, captured from before it starts.
capture = { syn_from = "haproxy" }

# One action per step. Waits are event waits with deadlines, never sleeps.
[[step]]
wait = { server = "be/app1", state = "UP", within = "5s" }

[[step]]
dns = { remove = "app" }                   # the name answers NXDOMAIN from now on
[[step]]
wait = { server = "be/app1", state = "RMAINT", within = "5s" }

[[step]]
dns = { set = "app", a = ["web1"] }        # and comes back
[[step]]
wait = { server = "be/app1", state = "UP", within = "5s" }
[[step]]
wait = { syn = { from = "haproxy", to = "web1" }, count = 3, within = "5s" }

[[step]]
api = { command = "show servers state be", record = "after" }   # kept as evidence

# Measures are numbers taken from the evidence; the symptom is a condition over them.
[observe]
reproduced_if = "syn_to_port_zero >= 1"
valid_if = ["checks_after >= 3"]           # else `error`: the experiment did not run

[observe.measure]
syn_to_port_zero = { syns = { from = "haproxy", dst_port = 0 } }
checks_after = { syns = { from = "haproxy", to = "web1", dst_port = 8000 } }
"#;

const HAPROXY_CFG: &str = r#"# The template: HAProxy's syntax with placeholders in double braces (web1.ip, web1.port,
# dns.addr, api.port, vars.NAME), using the names of scenario.toml.
global
    # HAProxy's log is evidence: to stdout, where the harness reads it.
    log stdout format raw local0
    # Required: the runtime API the harness polls and commands.
    stats socket ipv4@0.0.0.0:{{ api.port }} level admin

resolvers dns
    nameserver ns1 {{ dns.addr }}
    accepted_payload_size 1232
    resolve_retries 1
    timeout resolve 200ms
    timeout retry 200ms
    hold valid 500ms
    hold nx 500ms

defaults
    mode tcp
    log global
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend fe
    bind :8080
    default_backend be

backend be
    server app1 app.{{ zone }}:{{ web1.port }} resolvers dns init-addr none check inter 200ms
"#;

const README: &str = r#"# NAME

What the bug is, in a paragraph: what a user sees, on which versions, and why (the cause, when
known).

- Links: the issue, the commit that introduced it, the fix.
- The recipe: what the steps do, in the order of `scenario.toml`.
- Reproduced if: what the measures show when the bug is there, and why that is the symptom.
- Valid only if: what shows that the experiment exercised the code path at all.
- Evidence: the files a case keeps (`haproxy.log`, `syns.txt`, `dns-queries.log`, `api-*.txt`).
"#;
