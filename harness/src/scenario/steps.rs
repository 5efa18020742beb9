//! What each step word does. A step returns what it saw (for the timeline) or why it failed.

use std::time::Instant;

use super::model::*;
use super::runner::{error_chain, CaseState, Recorded};
use super::setup::{set_srv, start_capture, start_instance};
use super::words::{describe_server, parse_fault, server_in_state, POLL};
use crate::capture::SynEvent;
use crate::dns::QueryRecord;
use crate::load;
use crate::wait::WaitTimeout;

pub(crate) async fn execute(state: &mut CaseState<'_>, step: &Step) -> Result<String, String> {
    match step {
        Step::Start(s) => start_instance(state, s.instance.get_ref(), s.within.0).await,
        Step::Wait(w) => wait(state, w).await,
        Step::Dns(d) => dns(state, d),
        Step::Capture(c) => capture(state, c).await,
        Step::Api(a) => api(state, a).await,
        Step::Http(h) => http(state, h).await,
        Step::Unix(u) => unix(state, u).await,
        Step::Tcp(t) => {
            let addr = state.role_addr(t.to.get_ref())?;
            let from = state.client_ip(t.from.as_ref())?;
            let timeout = std::time::Duration::from_secs(2);
            let n = load::connect_close(from, addr, t.connect_close, timeout).await;
            Ok(format!(
                "{n} of {} connections opened and closed",
                t.connect_close
            ))
        }
        Step::Exec(e) => exec(state, e).await,
        Step::Sessions(sess) => sessions(state, sess).await,
        Step::Snapshot(snap) => {
            let load = state
                .loads
                .get(&snap.of)
                .ok_or_else(|| format!("no running load {:?}", snap.of))?;
            let snapshot = load.snapshot();
            let open = snapshot.count(None, "open");
            let mut servers: std::collections::BTreeMap<String, (usize, usize)> =
                Default::default();
            for s in &snapshot.sessions {
                let entry = servers
                    .entry(s.server.clone().unwrap_or_else(|| "no banner".into()))
                    .or_default();
                if s.closed_ms.is_none() && s.opened_ms.is_some() {
                    entry.0 += 1;
                } else {
                    entry.1 += 1;
                }
            }
            let detail = format!(
                "{open} open of {}: {}; churn {} tried, {} answered",
                snapshot.sessions.len(),
                servers
                    .iter()
                    .map(|(k, (o, c))| format!("{k} {o} open/{c} closed"))
                    .collect::<Vec<_>>()
                    .join(", "),
                snapshot.churn.attempted,
                snapshot.churn.banners
            );
            state
                .records
                .insert(snap.record.clone(), Recorded::Sessions(snapshot));
            Ok(detail)
        }
        Step::Signal(sig) => signal(state, sig).await,
        Step::Sleep(s) => {
            tokio::time::sleep(s.duration.0).await;
            Ok(format!("slept {} because {}", s.duration, s.because))
        }
        Step::Removable(r) => super::removable::removable(state, r).await,
        Step::Backend(b) => super::backend_step::run(state, b).await,
    }
}

async fn wait(state: &mut CaseState<'_>, w: &Wait) -> Result<String, String> {
    let within = w.within.0;
    let on = w.on.as_ref().map(|o| o.get_ref().as_str());
    if let (Some(server), Some(word)) = (&w.server, &w.state) {
        return wait_server(state, on, server.get_ref(), word.get_ref(), within)
            .await
            .map_err(|e| e.to_string());
    }
    if let (Some(command), Some(contains)) = (&w.api, &w.contains) {
        return wait_api(state, on, command, contains, within)
            .await
            .map_err(|e| e.to_string());
    }
    if let (Some(set), Some(word)) = (&w.servers, &w.state) {
        let observation = w
            .on_timeout
            .as_ref()
            .is_some_and(|o| o.get_ref() == "observation");
        let count = super::count_wait::CountWait {
            on,
            set: set.get_ref(),
            state: word.get_ref(),
            count: w.count,
            within,
            observation,
            record: w.record.as_deref(),
        };
        return super::count_wait::wait_count(state, count).await;
    }
    if let Some(syn) = &w.syn {
        return wait_syns(state, syn, w.count.unwrap_or(1), within)
            .await
            .map_err(|e| e.to_string());
    }
    if let Some(name) = &w.dns_query {
        let dns = state.dns.as_ref().ok_or("no DNS server in this case")?;
        let log = dns.log();
        let wanted = qualify(name, &dns.zone().origin());
        let qtype = w.qtype.clone();
        let what = format!(
            "a DNS query for {wanted}{}",
            qtype
                .as_deref()
                .map(|t| format!(" {t}"))
                .unwrap_or_default()
        );
        let found = log
            .wait_for_since(
                log.len(),
                &what,
                |q: &QueryRecord| {
                    q.name == wanted
                        && qtype
                            .as_deref()
                            .is_none_or(|t| q.qtype.eq_ignore_ascii_case(t))
                },
                within,
            )
            .await
            .map_err(|e| e.to_string())?;
        return Ok(format!("query seen: {found}"));
    }
    Err("nothing to wait for".into())
}

/// Fully qualified, lowercase, with the trailing dot, as the DNS query log writes names.
pub(crate) fn qualify(name: &str, origin: &str) -> String {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let origin = origin.trim_end_matches('.').to_ascii_lowercase();
    if name == origin || name.ends_with(&format!(".{origin}")) {
        format!("{name}.")
    } else {
        format!("{name}.{origin}.")
    }
}

async fn wait_api(
    state: &CaseState<'_>,
    on: Option<&str>,
    command: &str,
    contains: &str,
    within: std::time::Duration,
) -> Result<String, WaitTimeout> {
    let started = Instant::now();
    let timeout = |last_seen: String| WaitTimeout {
        what: format!("`{command}` answering with {contains:?}"),
        waited: started.elapsed(),
        last_seen,
    };
    let api = &state.instance(on).map_err(timeout)?.api;
    crate::wait::poll(within, POLL, move || async move {
        match api.command(command).await {
            Ok(answer) if answer.contains(contains) => Ok(format!(
                "after {:?}: {}",
                started.elapsed(),
                first_lines(&answer, 3)
            )),
            Ok(answer) => Err(first_lines(&answer, 3)),
            Err(e) => Err(e.to_string()),
        }
    })
    .await
    .map_err(timeout)
}

async fn wait_server(
    state: &CaseState<'_>,
    on: Option<&str>,
    server: &str,
    word: &str,
    within: std::time::Duration,
) -> Result<String, WaitTimeout> {
    let started = Instant::now();
    let timeout = |last_seen: String| WaitTimeout {
        what: format!("server {server} in state {word}"),
        waited: started.elapsed(),
        last_seen,
    };
    let (backend, _) = server.split_once('/').unwrap_or((server, ""));
    let instance = state.instance(on).map_err(timeout)?;
    let api = &instance.api;
    let (polls, case_start, name) = (&state.server_polls, state.started, &instance.name);
    crate::wait::poll(within, POLL, move || async move {
        let servers = api
            .show_servers_state(Some(backend))
            .await
            .map_err(|e| e.to_string())?;
        let s = servers
            .iter()
            .find(|s| s.id() == server)
            .ok_or_else(|| format!("no server {server} in show servers state"))?;
        let seen = describe_server(s);
        super::timeline::note_poll(polls, case_start, name, server, s, &seen);
        if server_in_state(s, word) {
            Ok(format!("{seen} after {:?}", started.elapsed()))
        } else {
            Err(seen)
        }
    })
    .await
    .map_err(timeout)
}

/// Whether a SYN matches; a role without an address in this case matches nothing (never
/// everything).
pub(crate) fn syn_matches(
    ips: &std::collections::BTreeMap<String, std::net::Ipv4Addr>,
    m: &SynMatch,
    syn: &SynEvent,
) -> bool {
    let is = |r: &Option<toml::Spanned<String>>, addr: std::net::IpAddr| {
        r.as_ref()
            .is_none_or(|r| ips.get(r.get_ref()).is_some_and(|ip| addr == *ip))
    };
    is(&m.from, syn.src.ip())
        && is(&m.to, syn.dst.ip())
        && m.dst_port.is_none_or(|p| syn.dst.port() == p)
}

async fn wait_syns(
    state: &CaseState<'_>,
    m: &SynMatch,
    count: u32,
    within: std::time::Duration,
) -> Result<String, WaitTimeout> {
    let started = Instant::now();
    let what = format!("{count} SYN(s) matching {}", describe_syn_match(m));
    let Some(capture) = state.capture.as_ref().map(|c| &c.capture) else {
        return Err(WaitTimeout {
            what,
            waited: started.elapsed(),
            last_seen: "no capture is running (add [topology.capture] or a capture step)".into(),
        });
    };
    let ips = &state.ips;
    let (seen, last) = capture
        .wait_for_syns(
            &what,
            capture.seen(),
            |syn| syn_matches(ips, m, syn),
            count as usize,
            within,
        )
        .await?;
    Ok(format!(
        "{seen} SYN(s) after {:?}; last: {}",
        started.elapsed(),
        last.map(|s| s.to_string()).unwrap_or_default()
    ))
}

pub(crate) fn describe_syn_match(m: &SynMatch) -> String {
    let mut parts = Vec::new();
    if let Some(f) = &m.from {
        parts.push(format!("from {}", f.get_ref()));
    }
    if let Some(t) = &m.to {
        parts.push(format!("to {}", t.get_ref()));
    }
    if let Some(p) = m.dst_port {
        parts.push(format!("port {p}"));
    }
    if parts.is_empty() {
        "any".into()
    } else {
        parts.join(" ")
    }
}

fn dns(state: &mut CaseState<'_>, d: &DnsStep) -> Result<String, String> {
    let dns = state.dns.as_ref().ok_or("no DNS server in this case")?;
    let zone = dns.zone();
    if let Some(name) = &d.set {
        if let Some(a) = &d.a {
            let addrs = a
                .iter()
                .map(|r| state.role_ip(r.get_ref()))
                .collect::<Result<Vec<_>, _>>()?;
            zone.set_a(name, addrs.clone());
            return Ok(format!("{name} A {addrs:?}"));
        }
        if let Some(srv) = &d.srv {
            set_srv(state, &zone, name, srv)?;
            return Ok(format!("{name} SRV -> {} target(s)", srv.len()));
        }
    }
    if let Some(name) = &d.remove {
        zone.remove(name);
        return Ok(format!("{name} removed: NXDOMAIN from now on"));
    }
    if let Some(name) = &d.fault {
        let kind = d.kind.as_ref().ok_or("a fault needs a kind")?;
        let fault = parse_fault(kind.get_ref(), d.delay.map(|d| d.0))?;
        let client = match &d.client {
            Some(c) => Some(std::net::IpAddr::V4(state.role_ip(c.get_ref())?)),
            None => None,
        };
        zone.set_fault(name, fault, client);
        return Ok(format!(
            "{name}: {fault}{}",
            client.map(|c| format!(" for {c}")).unwrap_or_default()
        ));
    }
    if let Some(name) = &d.clear {
        zone.clear_fault(name);
        return Ok(format!("{name}: faults cleared"));
    }
    Err("nothing to do".into())
}

async fn capture(state: &mut CaseState<'_>, c: &CaptureStep) -> Result<String, String> {
    if c.stop == Some(true) {
        let summary = state
            .stop_capture()
            .await
            .ok_or("no capture is running")??;
        return Ok(format!(
            "stopped: {} packets, {} SYNs",
            summary.packets, summary.syns
        ));
    }
    let from = c.from.as_ref().ok_or("capture needs from")?;
    start_capture(state, from.get_ref()).await?;
    Ok(format!(
        "capturing SYNs from {} on {}",
        from.get_ref(),
        state.sandbox.network().bridge
    ))
}

async fn api(state: &mut CaseState<'_>, a: &ApiStep) -> Result<String, String> {
    let on = a.on.as_ref().map(|o| o.get_ref().as_str());
    let answer = state
        .instance(on)?
        .api
        .command(&a.command)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(wanted) = &a.expect_contains {
        if !answer.contains(wanted.as_str()) {
            return Err(format!(
                "answer does not contain {wanted:?}: {}",
                first_lines(&answer, 5)
            ));
        }
    }
    let detail = first_lines(&answer, 2);
    if let Some(name) = &a.record {
        state.records.insert(
            name.clone(),
            Recorded::Api {
                command: a.command.clone(),
                answer,
            },
        );
    }
    Ok(detail)
}

pub(crate) fn first_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut shown = lines
        .iter()
        .take(n)
        .map(|l| match l.char_indices().nth(100) {
            Some((i, _)) => format!("{}…", &l[..i]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" | ");
    if lines.len() > n {
        shown.push_str(&format!(" | ... ({} lines)", lines.len()));
    }
    shown
}

async fn http(state: &mut CaseState<'_>, h: &HttpStep) -> Result<String, String> {
    let to = state.role_addr(h.to.get_ref())?;
    let from = state.client_ip(h.from.as_ref())?;
    let exchanges =
        load::http_requests(from, to, &h.path, h.count, h.timeout.0, state.started).await;
    let mut by_server: std::collections::BTreeMap<String, u32> = Default::default();
    for e in &exchanges {
        let key = match (&e.server, e.status, &e.error) {
            (Some(s), _, _) => s.clone(),
            (None, Some(status), _) => format!("status {status}"),
            (None, None, Some(err)) => format!("failed ({err})"),
            _ => "?".into(),
        };
        *by_server.entry(key).or_default() += 1;
    }
    state
        .records
        .insert(h.record.clone(), Recorded::Http(exchanges));
    Ok(format!(
        "{} request(s): {}",
        h.count,
        by_server
            .iter()
            .map(|(k, v)| format!("{k} x{v}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

async fn unix(state: &mut CaseState<'_>, u: &UnixStep) -> Result<String, String> {
    if let Some(name) = &u.release {
        let closed = state.held.remove(name).map(|v| v.len()).unwrap_or(0);
        return Ok(format!("closed {closed} connection(s) of {name}"));
    }
    let on = u.on.as_ref().map(|o| o.get_ref().as_str());
    let socket = u.socket.as_deref().unwrap_or("master.sock");
    let path = state.instance(on)?.sock_dir.join(socket);
    let mut tally = load::unix::UnixTally::new(&path);
    let mut held = Vec::new();
    if let Some(n) = u.hold.or(u.nonblocking_connects) {
        held = load::unix::hold(&path, n, &mut tally);
    }
    if let (Some(cmd), Some(deadline)) = (&u.command, u.until_answered) {
        let started = Instant::now();
        while tally.answered == 0 && started.elapsed() < deadline.0 {
            let style = load::unix::CommandStyle {
                within: u.within.0,
                read_limit: u.read_bytes,
                half_close: u.half_close,
            };
            load::unix::command(&path, cmd, style, &mut tally).await;
            if tally.answered == 0 {
                tokio::time::sleep(POLL).await;
            }
        }
    } else if let (Some(cmd), true) = (&u.command, u.prompt) {
        let style = load::unix::SessionStyle {
            within: u.within.0,
            commands: u.per_connection.unwrap_or(1),
            read_chunk: u.read_chunk.unwrap_or(16 * 1024),
            read_every: u.read_every.map(|d| d.0).unwrap_or_default(),
        };
        for _ in 0..u.repeat.unwrap_or(1) {
            if let Some(fd) = load::unix::prompt_session(&path, cmd, style, &mut tally).await {
                held.push(fd);
            }
        }
        tally.held += held.len() as u32;
    } else if let Some(cmd) = &u.command {
        for _ in 0..u.repeat.unwrap_or(1) {
            let style = load::unix::CommandStyle {
                within: u.within.0,
                read_limit: u.read_bytes,
                half_close: u.half_close,
            };
            load::unix::command(&path, cmd, style, &mut tally).await;
        }
    }
    let sessions = if u.prompt {
        format!(
            "; prompt mode: {} command(s), {} prompt(s), {} frozen (kept open), {} unserved; answers {}..{} bytes, unread in the socket at most {}..{} bytes",
            tally.commands,
            tally.prompts,
            tally.frozen,
            tally.unserved,
            tally.value("answer_bytes_min").unwrap_or(0.0),
            tally.value("answer_bytes_max").unwrap_or(0.0),
            tally.value("queue_peak_min").unwrap_or(0.0),
            tally.value("queue_peak_max").unwrap_or(0.0),
        )
    } else {
        String::new()
    };
    let detail = format!(
        "{} attempt(s): {} connected, {} answered, {} closed by HAProxy, {} EAGAIN{}{sessions}{}",
        tally.attempts,
        tally.connected,
        tally.answered,
        tally.closed,
        tally.eagain,
        tally
            .first_eagain_at
            .map(|n| format!(" (first at #{n})"))
            .unwrap_or_default(),
        tally
            .errors
            .last()
            .map(|e| format!("; last error: {e}"))
            .unwrap_or_default()
    );
    if let Some(name) = &u.record {
        if !held.is_empty() {
            state.held.entry(name.clone()).or_default().extend(held);
        }
        state.records.insert(name.clone(), Recorded::Unix(tally));
    } else if !held.is_empty() {
        state
            .held
            .entry(format!("#{}", state.held.len()))
            .or_default()
            .extend(held);
    }
    Ok(detail)
}

async fn exec(state: &mut CaseState<'_>, e: &ExecStep) -> Result<String, String> {
    let container = state
        .containers
        .iter()
        .find(|c| &c.role == e.container.get_ref())
        .ok_or_else(|| format!("no container {:?} (not started?)", e.container.get_ref()))?
        .clone();
    let rendered = e
        .command
        .iter()
        .map(|arg| {
            super::template::render(arg, &state.values).map_err(|errors| {
                format!(
                    "in {arg:?}: {}",
                    errors
                        .iter()
                        .map(|e| e.message.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let cmd: Vec<&str> = rendered.iter().map(String::as_str).collect();
    let out = state
        .sandbox
        .exec(&container, &cmd)
        .await
        .map_err(|e| error_chain(&e))?;
    if out.exit_code != 0 {
        return Err(format!(
            "exited {}: {}",
            out.exit_code,
            first_lines(&format!("{}{}", out.stderr, out.stdout), 3)
        ));
    }
    let detail = format!(
        "{} line(s): {}",
        out.stdout.lines().count(),
        first_lines(&out.stdout, 2)
    );
    if let Some(name) = &e.record {
        state.records.insert(
            name.clone(),
            Recorded::Api {
                command: e.command.join(" "),
                answer: out.stdout,
            },
        );
    }
    Ok(detail)
}

async fn signal(state: &mut CaseState<'_>, sig: &SignalStep) -> Result<String, String> {
    let instance = state.instance(Some(sig.to.get_ref()))?;
    let container = instance
        .container
        .clone()
        .ok_or_else(|| format!("{} is not started", sig.to.get_ref()))?;
    let name = sig.signal.trim_start_matches("SIG").to_uppercase();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("bad signal name {:?}", sig.signal));
    }
    match sig.process.as_deref() {
        Some("worker") => {
            let script = format!("pids=$(pgrep -P 1) && kill -{name} $pids && echo $pids");
            let out = state
                .sandbox
                .exec(&container, &["sh", "-c", &script])
                .await
                .map_err(|e| error_chain(&e))?;
            if out.exit_code != 0 {
                return Err(format!("no worker to signal: {}", out.stderr.trim()));
            }
            Ok(format!(
                "SIG{name} sent to worker pid(s) {}",
                out.stdout.trim()
            ))
        }
        _ => {
            state
                .sandbox
                .signal(&container, &format!("SIG{name}"))
                .await
                .map_err(|e| error_chain(&e))?;
            Ok(format!(
                "SIG{name} sent to {}'s main process",
                sig.to.get_ref()
            ))
        }
    }
}

async fn sessions(state: &mut CaseState<'_>, sess: &SessionsStep) -> Result<String, String> {
    let spec = load::sessions::LoadSpec {
        from: state.client_ip(sess.from.as_ref())?,
        to: state.role_addr(sess.to.get_ref())?,
        count: sess.count,
        every: sess.every.0,
        churn_per_second: sess.churn,
    };
    let load = load::sessions::SessionLoad::start(spec, state.started);
    if !sess.wait {
        state.loads.insert(sess.record.clone(), load);
        return Ok(format!(
            "{} sessions connecting; churn {}/s",
            sess.count, sess.churn
        ));
    }
    let opened = load.wait_opened(sess.count as usize, sess.within.0).await;
    let banners = match (opened, sess.banners) {
        (Ok(_), Some(n)) => Some(load.wait_banners(n as usize, sess.within.0).await),
        _ => None,
    };
    state.loads.insert(sess.record.clone(), load);
    match (opened, banners) {
        (Err(n), _) => Err(format!(
            "only {n} of {} sessions connected within {}",
            sess.count, sess.within
        )),
        (Ok(_), Some(Err(n))) => Err(format!(
            "only {n} of {} sessions got their server's banner within {}",
            sess.banners.unwrap_or_default(),
            sess.within
        )),
        (Ok(n), Some(Ok(b))) => Ok(format!(
            "{n} sessions connected, {b} with a banner; churn {}/s",
            sess.churn
        )),
        (Ok(n), None) => Ok(format!("{n} sessions connected; churn {}/s", sess.churn)),
    }
}
