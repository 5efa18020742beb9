//! A case's timeline as a picture: what the DNS server answered, which state HAProxy gave its
//! servers, where HAProxy's SYNs went, what the clients got, and the steps, on one time axis
//! with the windows the measures were taken over. It is how a person sees why a bug happened:
//! the port-0 SYNs right after the A record came back, the client that kept reaching the
//! backup after the primaries went UP.
//!
//! [`Timeline`] is the data (`timeline.json` in the case folder, written by the runner from
//! its evidence); [`svg`] draws it (`timeline.svg` beside it, and inline in `matrix.html`).
//! The picture is plain SVG with `<title>` tooltips, no script and no external font, so it
//! works in the page, opened alone, and in a CI artifact viewer. Dense lanes are thinned to one
//! mark per pixel and kind (the tooltip counts what it stands for), so a case with thousands
//! of packets draws in a few kilobytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::html::esc;

/// The data, in the case folder.
pub const JSON_FILE: &str = "timeline.json";
/// The picture, in the case folder.
pub const SVG_FILE: &str = "timeline.svg";

/// Everything the picture shows, in milliseconds since the case started.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Timeline {
    /// The end of the axis: the case's last event.
    pub end_ms: u64,
    #[serde(default)]
    pub steps: Vec<StepSpan>,
    #[serde(default)]
    pub dns: Vec<DnsMark>,
    #[serde(default)]
    pub servers: Vec<ServerMark>,
    /// Whether a SYN capture ran (the port-0 lane is drawn, empty or not, when it did).
    #[serde(default)]
    pub captured: bool,
    #[serde(default)]
    pub syns: Vec<SynMark>,
    #[serde(default)]
    pub requests: Vec<RequestMark>,
    #[serde(default)]
    pub sessions: Vec<SessionSpan>,
    #[serde(default)]
    pub windows: Vec<Window>,
    /// HAProxy instances that exited while the case ran.
    #[serde(default)]
    pub exits: Vec<ExitMark>,
}

/// An instance's exit: a death, or a failure to start.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExitMark {
    pub at_ms: u64,
    pub instance: String,
    pub crash: bool,
    /// `haproxy SIGILL: BUG_ON(...) at src/cli.c:12`.
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepSpan {
    pub index: usize,
    pub action: String,
    pub at_ms: u64,
    pub end_ms: u64,
    pub ok: bool,
    pub detail: String,
}

/// A query that reached the DNS server, and what it was answered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DnsMark {
    pub at_ms: u64,
    /// The name without the zone's trailing dot (`app.svc.test`).
    pub name: String,
    pub qtype: String,
    /// As the query log words it: `NOERROR 1 answer`, `NXDOMAIN`, `dropped (fault)`.
    pub answer: String,
}

/// A server's state at a moment: a poll of `show servers state`, or a line of HAProxy's log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerMark {
    pub at_ms: u64,
    /// `be/app1`, prefixed by the instance (`hapA: be/app1`) when the case has several.
    pub server: String,
    /// `UP`, `DOWN`, `MAINT`, `RMAINT` (maintenance from resolution), or `log` for a log line
    /// that names the server without saying its state.
    pub state: String,
    /// `poll` or `log`.
    pub from: String,
    /// For polls: the last poll of the run of polls that saw this same state (a wait polls
    /// every 25 ms; the run is kept as its first and last poll).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<u64>,
    /// What was seen (the poll's fields, the log line).
    pub text: String,
}

/// A SYN from HAProxy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SynMark {
    pub at_ms: u64,
    /// The destination, by role where it is one (`web1:8000`), else the address.
    pub to: String,
    pub port: u16,
}

/// An HTTP request of a client, and who answered it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestMark {
    pub at_ms: u64,
    pub end_ms: u64,
    /// Who sent it (`c1`, or `harness`), and to where.
    pub client: String,
    /// The backend that answered (its name in the answer), if one did.
    pub server: Option<String>,
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// A long-lived client session: which server it reached, and when and how it ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionSpan {
    /// The load it belongs to (the `sessions` step's record) and its number in it.
    #[serde(default)]
    pub load: String,
    #[serde(default)]
    pub id: u32,
    pub server: Option<String>,
    pub opened_ms: Option<u64>,
    pub closed_ms: Option<u64>,
    pub closed_how: Option<String>,
}

/// The part of the case a measure was taken over.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Window {
    pub measure: String,
    pub value: Option<f64>,
    pub from_ms: u64,
    pub to_ms: u64,
    /// What it counted, in words (`SYNs of the capture`, `record c1_after`).
    pub over: String,
    /// Whether the symptom condition uses it.
    pub symptom: bool,
}

const WIDTH: f64 = 1000.0;
const LEFT: f64 = 190.0;
const RIGHT: f64 = 16.0;
const LANE: f64 = 16.0;
const GAP: f64 = 4.0;

/// Colours of the servers clients reached, in order of first appearance.
const PALETTE: [&str; 8] = [
    "#3b6fb6", "#e08a1e", "#6a9f3a", "#8d5fb7", "#1f9e9a", "#b5577b", "#7f7f3a", "#4d4d4d",
];

struct Canvas {
    out: String,
    y: f64,
    end_ms: f64,
    axis: Axis,
}

impl Canvas {
    fn x(&self, ms: f64) -> f64 {
        self.axis.x(ms.clamp(0.0, self.end_ms))
    }

    fn section(&mut self, title: &str) {
        self.y += 6.0;
        let _ = write!(
            self.out,
            "<text x=\"4\" y=\"{:.1}\" class=\"sec\">{}</text>",
            self.y + 10.0,
            esc(title)
        );
        self.y += 14.0;
    }

    /// A lane's label and background; returns the lane's top.
    fn lane(&mut self, label: &str, class: &str) -> f64 {
        let top = self.y;
        let _ = write!(
            self.out,
            "<rect x=\"{LEFT}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{LANE}\" class=\"bg\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"lbl {class}\"><title>{}</title>{}</text>",
            WIDTH - LEFT - RIGHT,
            LEFT - 6.0,
            top + LANE - 4.0,
            esc(label),
            // 28 characters fit the label column at 11 px (checked in headless Chromium: 31 did
            // not, "harness → haproxy:8080 requests" lost its first letter); the whole label is
            // the element's title.
            esc(&clip(label, 28))
        );
        self.y += LANE + GAP;
        top
    }
}

/// The picture of a timeline: a self-contained SVG document (`timeline.svg`).
pub fn svg(t: &Timeline) -> String {
    draw(t, true)
}

/// The picture for a page that holds the rules of [`css`] once.
pub fn svg_inline(t: &Timeline) -> String {
    draw(t, false)
}

/// The time axis: linear where things happen, with the long quiet stretches (HAProxy's setup,
/// a wait for a timer) shortened to a fixed width and marked as breaks, so that a burst of
/// requests after a two-second wait is not a few pixels wide.
struct Axis {
    /// `(ms, shown)`: real time and its position on the drawn axis, both increasing.
    points: Vec<(f64, f64)>,
    /// The shortened stretches: `(from_ms, to_ms)`.
    breaks: Vec<(f64, f64)>,
    shown_end: f64,
}

impl Axis {
    fn new(t: &Timeline, end_ms: f64) -> Axis {
        let mut instants = vec![0.0, end_ms];
        let mut add = |ms: u64| instants.push(ms as f64);
        for s in &t.steps {
            add(s.at_ms);
            add(s.end_ms);
        }
        t.dns.iter().for_each(|d| add(d.at_ms));
        for s in &t.servers {
            add(s.at_ms);
            add(s.until_ms.unwrap_or(s.at_ms));
        }
        t.syns.iter().for_each(|s| add(s.at_ms));
        for r in &t.requests {
            add(r.at_ms);
            add(r.end_ms);
        }
        for s in &t.sessions {
            s.opened_ms
                .into_iter()
                .chain(s.closed_ms)
                .for_each(&mut add);
        }
        t.exits.iter().for_each(|e| add(e.at_ms));
        instants.retain(|ms| *ms <= end_ms);
        instants.sort_by(f64::total_cmp);
        instants.dedup();
        // A quiet stretch longer than a tenth of the case (and than 250 ms) is drawn as wide as
        // 3% of the case.
        let quiet = (end_ms / 10.0).max(250.0);
        let shortened = (end_ms * 0.03).max(20.0);
        let mut points = vec![(0.0, 0.0)];
        let mut breaks = Vec::new();
        let mut shown = 0.0;
        for pair in instants.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let d = b - a;
            if d > quiet {
                shown += shortened;
                breaks.push((a, b));
            } else {
                shown += d;
            }
            points.push((b, shown));
        }
        Axis {
            points,
            breaks,
            shown_end: shown.max(1.0),
        }
    }

    fn shown(&self, ms: f64) -> f64 {
        let i = self.points.partition_point(|(t, _)| *t <= ms);
        match (
            i.checked_sub(1).map(|j| self.points[j]),
            self.points.get(i).copied(),
        ) {
            (Some((t0, s0)), Some((t1, s1))) if t1 > t0 => s0 + (ms - t0) / (t1 - t0) * (s1 - s0),
            (Some((_, s0)), _) => s0,
            (None, _) => 0.0,
        }
    }

    fn x(&self, ms: f64) -> f64 {
        LEFT + self.shown(ms) / self.shown_end * (WIDTH - LEFT - RIGHT)
    }

    fn in_break(&self, ms: f64) -> bool {
        self.breaks.iter().any(|(a, b)| ms > *a && ms < *b)
    }
}

fn draw(t: &Timeline, with_style: bool) -> String {
    let end_ms = (t.end_ms.max(1)) as f64;
    let mut c = Canvas {
        out: String::new(),
        y: 24.0,
        end_ms,
        axis: Axis::new(t, end_ms),
    };
    steps_lane(&mut c, t);
    exit_lanes(&mut c, t);
    dns_lanes(&mut c, t);
    server_lanes(&mut c, t);
    syn_lanes(&mut c, t);
    client_lanes(&mut c, t);
    window_lanes(&mut c, t);
    let height = c.y + 6.0;
    let mut out = String::with_capacity(c.out.len() + 2048);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" viewBox=\"0 0 {WIDTH} \
         {height:.0}\" width=\"{WIDTH}\" height=\"{height:.0}\" font-family=\"sans-serif\" \
         font-size=\"11\">"
    );
    if with_style {
        let _ = write!(out, "<style>{}</style>", css());
    }
    axis(&mut out, &c, height);
    out.push_str(&c.out);
    out.push_str("</svg>");
    out
}

/// The picture's CSS, every rule under `.timeline` (the SVG's class), so that in a page the
/// rules of many pictures (written once, see [`css`]) touch nothing else.
const SVG_RULES: &[(&str, &str)] = &[
    (".bg", "fill:#f4f5f7"),
    (".sec", "font-weight:bold;fill:#1d2125"),
    (".lbl", "text-anchor:end;fill:#333"),
    (".lbl.bad", "fill:#c0262d;font-weight:bold"),
    (".ax", "stroke:#d5d8dc;stroke-width:1"),
    (".brk", "fill:#e9ebee;fill-opacity:.7"),
    (".axt", "fill:#666;font-size:10px;text-anchor:middle"),
    (".st", "fill:#8a94a6"),
    (".st.even", "fill:#aab2c0"),
    (".st.err", "fill:#c0262d"),
    (".stt", "fill:#fff;font-size:9px"),
    (".ok", "fill:#3f9b4f"),
    (".nodata", "fill:#b9c1c9"),
    (".nx", "fill:#ef8a17"),
    (".fail", "fill:#c0262d"),
    (".drop", "fill:#7b3fb0"),
    (".UP", "fill:#3f9b4f"),
    (".DOWN", "fill:#c0262d"),
    (".MAINT", "fill:#7d8590"),
    (".RMAINT", "fill:#ef8a17"),
    (".log", "fill:#1d2125"),
    (".syn", "fill:#3b6fb6"),
    (".syn0", "fill:#e0161e"),
    (".win", "fill:#3b6fb6;fill-opacity:.18;stroke:#3b6fb6"),
    (".win.sym", "fill:#e0161e;fill-opacity:.16;stroke:#e0161e"),
    (".band.sym", "fill:#e0161e;fill-opacity:.06"),
    (".wt", "fill:#1d2125;font-size:10px"),
    (".eof", "fill:#555"),
    (".rst", "fill:#c0262d"),
];

/// The CSS of every timeline picture, for a page that inlines several.
pub fn css() -> String {
    SVG_RULES
        .iter()
        .map(|(selector, rule)| format!(".timeline {selector}{{{rule}}}"))
        .collect()
}

fn axis(out: &mut String, c: &Canvas, height: f64) {
    let step = nice_step(c.axis.shown_end);
    let mut ms = 0.0;
    let mut last_x = f64::NEG_INFINITY;
    while ms <= c.end_ms + 0.5 {
        let x = c.x(ms);
        if !c.axis.in_break(ms) && x - last_x >= 34.0 {
            let _ = write!(
                out,
                "<line x1=\"{x:.1}\" y1=\"14\" x2=\"{x:.1}\" y2=\"{:.0}\" class=\"ax\"/>\
                 <text x=\"{x:.1}\" y=\"11\" class=\"axt\">{}</text>",
                height - 4.0,
                seconds(ms)
            );
            last_x = x;
        }
        ms += step;
    }
    // Each shortened stretch: hatched across the lanes, its real length on the axis.
    for (a, b) in &c.axis.breaks {
        let (x1, x2) = (c.x(*a), c.x(*b));
        let _ = write!(
            out,
            "<rect x=\"{x1:.1}\" y=\"14\" width=\"{:.1}\" height=\"{:.0}\" class=\"brk\">\
             <title>{} with nothing to show, shortened</title></rect>\
             <text x=\"{:.1}\" y=\"22\" class=\"axt\">≈{}</text>",
            x2 - x1,
            height - 18.0,
            seconds(b - a),
            (x1 + x2) / 2.0,
            seconds((b - a).round())
        );
    }
}

/// A tick interval giving 5 to 12 ticks.
fn nice_step(end_ms: f64) -> f64 {
    for step in [
        50.0, 100.0, 200.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0, 20000.0, 30000.0,
        60000.0,
    ] {
        if end_ms / step <= 12.0 {
            return step;
        }
    }
    120000.0
}

fn seconds(ms: f64) -> String {
    let s = ms / 1000.0;
    if (s - s.round()).abs() < 1e-9 {
        format!("{s:.0}s")
    } else if ((s * 10.0) - (s * 10.0).round()).abs() < 1e-9 {
        format!("{s:.1}s")
    } else {
        format!("{s:.2}s")
    }
}

fn at(ms: u64) -> String {
    format!("{:.3}s", ms as f64 / 1000.0)
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// Marks thinned to one per pixel column and class: each drawn mark carries how many it stands
/// for and the first one's tooltip.
struct Thin {
    marks: BTreeMap<(i64, String), (f64, usize, String)>,
}

impl Thin {
    fn new() -> Thin {
        Thin {
            marks: BTreeMap::new(),
        }
    }

    fn add(&mut self, x: f64, class: &str, title: String) {
        let entry = self
            .marks
            .entry((x.round() as i64, class.to_string()))
            .or_insert((x, 0, title));
        entry.1 += 1;
    }

    /// Draws ticks `h` high from `top` (a triangle above them for `mark_above` classes).
    fn draw(self, out: &mut String, top: f64, h: f64) {
        for ((_, class), (x, n, title)) in self.marks {
            let more = if n > 1 {
                format!(" (and {} more here)", n - 1)
            } else {
                String::new()
            };
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"2\" height=\"{h:.1}\" class=\"{class}\">\
                 <title>{}{more}</title></rect>",
                x - 1.0,
                esc(&title)
            );
        }
    }
}

/// A lane per instance that exited, its exit marked and worded: a death is what the case is
/// about, so it comes right under the steps.
fn exit_lanes(c: &mut Canvas, t: &Timeline) {
    if t.exits.is_empty() {
        return;
    }
    c.section("HAProxy exits");
    for e in &t.exits {
        let top = c.lane(
            &format!("{} {}", e.instance, if e.crash { "died" } else { "exited" }),
            if e.crash { "bad" } else { "" },
        );
        let x = c.x(e.at_ms as f64);
        let _ = write!(
            c.out,
            "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"4\" height=\"{LANE}\" class=\"{}\">\
             <title>{} {}</title></rect><text x=\"{:.1}\" y=\"{:.1}\" class=\"wt\">{}</text>",
            x - 2.0,
            if e.crash { "fail" } else { "MAINT" },
            at(e.at_ms),
            esc(&e.text),
            (x + 6.0).clamp(LEFT, WIDTH - RIGHT - 200.0),
            top + LANE - 4.0,
            esc(&clip(&e.text, 90))
        );
    }
}

fn steps_lane(c: &mut Canvas, t: &Timeline) {
    if t.steps.is_empty() {
        return;
    }
    c.section("steps");
    let top = c.lane("scenario steps", "");
    for s in &t.steps {
        let (x1, x2) = (c.x(s.at_ms as f64), c.x(s.end_ms as f64));
        let w = (x2 - x1).max(2.0);
        let _ = write!(
            c.out,
            "<rect x=\"{x1:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" class=\"st{}\" \
             stroke=\"#fff\" stroke-width=\"1\"><title>#{} {} ({} to {}){}: {}</title></rect>",
            top + 1.0,
            LANE - 2.0,
            if !s.ok {
                " err"
            } else if s.index % 2 == 0 {
                " even"
            } else {
                ""
            },
            s.index,
            esc(&s.action),
            at(s.at_ms),
            at(s.end_ms),
            if s.ok { "" } else { " FAILED" },
            esc(&clip(&s.detail, 300))
        );
        if w >= 14.0 {
            let _ = write!(
                c.out,
                "<text x=\"{:.1}\" y=\"{:.1}\" class=\"stt\">#{}</text>",
                x1 + 2.0,
                top + LANE - 4.0,
                s.index
            );
        }
    }
}

/// The class of a DNS answer: a record, an empty answer, NXDOMAIN, an error code, no answer.
pub fn dns_class(answer: &str) -> &'static str {
    let a = answer.to_ascii_uppercase();
    if a.contains("DROPPED") {
        "drop"
    } else if a.contains("NXDOMAIN") {
        "nx"
    } else if a.contains("SERVFAIL") || a.contains("REFUSED") || a.contains("TRUNC") {
        "fail"
    } else if a.contains("NODATA") || a.contains(" 0 ANSWERS") {
        "nodata"
    } else {
        "ok"
    }
}

fn dns_lanes(c: &mut Canvas, t: &Timeline) {
    if t.dns.is_empty() {
        return;
    }
    c.section("DNS: queries by answer (green record, grey empty, orange NXDOMAIN, red error, purple dropped; ▼ fault)");
    let mut names: Vec<(&str, &str)> = t
        .dns
        .iter()
        .map(|d| (d.name.as_str(), d.qtype.as_str()))
        .collect();
    names.sort();
    names.dedup();
    for (name, qtype) in names {
        let top = c.lane(&format!("{qtype} {name}"), "");
        let mut thin = Thin::new();
        let mut faults = Thin::new();
        for d in t.dns.iter().filter(|d| d.name == name && d.qtype == qtype) {
            let x = c.x(d.at_ms as f64);
            let title = format!("{} {} {} -> {}", at(d.at_ms), d.qtype, d.name, d.answer);
            if d.answer.contains("fault") || d.answer.starts_with("delayed") {
                faults.add(x, "fail", title.clone());
            }
            thin.add(x, dns_class(&d.answer), title);
        }
        thin.draw(&mut c.out, top + 3.0, LANE - 3.0);
        for ((_, _), (x, _, title)) in faults.marks {
            let _ = write!(
                c.out,
                "<path d=\"M{:.1} {:.1}h6l-3 4z\" class=\"fail\"><title>fault: {}</title></path>",
                x - 3.0,
                top - 1.0,
                esc(&title)
            );
        }
    }
}

fn server_lanes(c: &mut Canvas, t: &Timeline) {
    if t.servers.is_empty() {
        return;
    }
    c.section("HAProxy's servers (polls: bars; log lines: ◆)");
    let mut servers: Vec<&str> = Vec::new();
    for s in &t.servers {
        if !servers.contains(&s.server.as_str()) {
            servers.push(&s.server);
        }
    }
    servers.sort();
    for server in servers {
        let top = c.lane(server, "");
        let mut polls: Vec<&ServerMark> = t
            .servers
            .iter()
            .filter(|s| s.server == server && s.from == "poll")
            .collect();
        polls.sort_by_key(|p| p.at_ms);
        // A run of polls is a bar; a bar reaches the next run when the polling went on
        // (the next poll came within 100 ms), so a change of state shows as where it happened.
        for (i, p) in polls.iter().enumerate() {
            let until = p.until_ms.unwrap_or(p.at_ms);
            let end = match polls.get(i + 1) {
                Some(next) if next.at_ms.saturating_sub(until) <= 100 => next.at_ms,
                _ => until.max(p.at_ms + 25),
            };
            let (x1, x2) = (c.x(p.at_ms as f64), c.x(end as f64));
            let _ = write!(
                c.out,
                "<rect x=\"{x1:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" class=\"{}\">\
                 <title>{} to {}: {} (polled): {}</title></rect>",
                top + 4.0,
                (x2 - x1).max(2.0),
                LANE - 8.0,
                state_class(&p.state),
                at(p.at_ms),
                at(until),
                esc(&p.state),
                esc(&p.text)
            );
        }
        let mut logs = Thin::new();
        for l in t
            .servers
            .iter()
            .filter(|s| s.server == server && s.from == "log")
        {
            logs.add(
                c.x(l.at_ms as f64),
                state_class(&l.state),
                format!("{} log: {}", at(l.at_ms), l.text),
            );
        }
        for ((_, class), (x, n, title)) in logs.marks {
            let _ = write!(
                c.out,
                "<path d=\"M{x:.1} {:.1}l4 5l-4 5l-4-5z\" class=\"{class}\" stroke=\"#fff\" \
                 stroke-width=\".8\"><title>{}{}</title></path>",
                top + 3.0,
                esc(&title),
                if n > 1 {
                    format!(" (and {} more lines here)", n - 1)
                } else {
                    String::new()
                }
            );
        }
    }
}

fn state_class(state: &str) -> &'static str {
    match state {
        "UP" => "UP",
        "DOWN" => "DOWN",
        "MAINT" => "MAINT",
        "RMAINT" => "RMAINT",
        _ => "log",
    }
}

fn syn_lanes(c: &mut Canvas, t: &Timeline) {
    if !t.captured && t.syns.is_empty() {
        return;
    }
    c.section("SYNs from HAProxy, by destination");
    let mut dests: Vec<&str> = t
        .syns
        .iter()
        .filter(|s| s.port != 0)
        .map(|s| s.to.as_str())
        .collect();
    dests.sort();
    dests.dedup();
    for dest in dests {
        let top = c.lane(&format!("→ {dest}"), "");
        let mut thin = Thin::new();
        for s in t.syns.iter().filter(|s| s.to == dest && s.port != 0) {
            thin.add(
                c.x(s.at_ms as f64),
                "syn",
                format!("{} SYN to {}", at(s.at_ms), s.to),
            );
        }
        thin.draw(&mut c.out, top + 2.0, LANE - 4.0);
    }
    let zero: Vec<&SynMark> = t.syns.iter().filter(|s| s.port == 0).collect();
    let top = c.lane(
        &format!("→ port 0 ({})", zero.len()),
        if zero.is_empty() { "" } else { "bad" },
    );
    let mut thin = Thin::new();
    for s in zero {
        thin.add(
            c.x(s.at_ms as f64),
            "syn0",
            format!("{} SYN to {} (port 0)", at(s.at_ms), s.to),
        );
    }
    thin.draw(&mut c.out, top, LANE);
}

fn client_lanes(c: &mut Canvas, t: &Timeline) {
    if t.requests.is_empty() && t.sessions.is_empty() {
        return;
    }
    // One colour per server the clients reached, in order of first appearance.
    let mut requests: Vec<&RequestMark> = t.requests.iter().collect();
    requests.sort_by_key(|r| r.at_ms);
    let mut servers: Vec<&str> = Vec::new();
    let answered = requests.iter().filter_map(|r| r.server.as_deref());
    for s in answered.chain(t.sessions.iter().filter_map(|s| s.server.as_deref())) {
        if !servers.contains(&s) {
            servers.push(s);
        }
    }
    let colour = |s: &str| {
        servers
            .iter()
            .position(|x| *x == s)
            .map(|i| PALETTE[i % PALETTE.len()])
            .unwrap_or("#4d4d4d")
    };
    let key: Vec<String> = servers.iter().map(|s| format!("■ {s}")).collect();
    c.section("clients: who answered");
    if !servers.is_empty() {
        // The colour key, one coloured word per server.
        let mut x = LEFT;
        let y = c.y + 10.0;
        for (s, k) in servers.iter().zip(&key) {
            let _ = write!(
                c.out,
                "<text x=\"{x:.1}\" y=\"{y:.1}\" fill=\"{}\" font-weight=\"bold\">{}</text>",
                colour(s),
                esc(k)
            );
            x += 14.0 + 6.5 * k.chars().count() as f64;
        }
        c.y += 16.0;
    }
    let mut clients: Vec<&str> = requests.iter().map(|r| r.client.as_str()).collect();
    clients.dedup();
    let mut order: Vec<&str> = Vec::new();
    for cl in clients {
        if !order.contains(&cl) {
            order.push(cl);
        }
    }
    for client in order {
        // The count in the label: requests a millisecond apart share a pixel column and are
        // drawn as one mark (its tooltip says how many), so four requests may show three.
        let n = requests.iter().filter(|r| r.client == client).count();
        let top = c.lane(&format!("{client} ({n})"), "");
        let mut thin: BTreeMap<(i64, String), (f64, usize, String)> = BTreeMap::new();
        for r in requests.iter().filter(|r| r.client == client) {
            let x = c.x(r.at_ms as f64);
            let fill = match (&r.server, &r.error) {
                (Some(s), None) => colour(s).to_string(),
                _ => "#c0262d".to_string(),
            };
            let title = format!(
                "{} {}: {}",
                at(r.at_ms),
                client,
                match (&r.server, r.status, &r.error) {
                    (_, _, Some(e)) => format!("failed: {e}"),
                    (Some(s), Some(st), None) => format!("{st} from {s}"),
                    (None, Some(st), None) => format!("{st} (no server named)"),
                    _ => "no answer".into(),
                }
            );
            let e = thin
                .entry((x.round() as i64, fill))
                .or_insert((x, 0, title));
            e.1 += 1;
        }
        for ((_, fill), (x, n, title)) in thin {
            let _ = write!(
                c.out,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"3\" height=\"{:.1}\" fill=\"{fill}\">\
                 <title>{}{}</title></rect>",
                x - 1.5,
                top + 2.0,
                LANE - 4.0,
                esc(&title),
                if n > 1 {
                    format!(" (and {} more here)", n - 1)
                } else {
                    String::new()
                }
            );
        }
    }
    session_lanes(c, t, &colour);
}

/// Per server the clients' sessions reached: how many were open over time (the filled band,
/// full lane height = the most ever open), and a tick for each close (red: reset).
fn session_lanes(c: &mut Canvas, t: &Timeline, colour: &dyn Fn(&str) -> &'static str) {
    if t.sessions.is_empty() {
        return;
    }
    let mut servers: Vec<Option<&str>> = t.sessions.iter().map(|s| s.server.as_deref()).collect();
    servers.sort();
    servers.dedup();
    for server in servers {
        let of: Vec<&SessionSpan> = t
            .sessions
            .iter()
            .filter(|s| s.server.as_deref() == server)
            .collect();
        let mut events: Vec<(u64, i64)> = Vec::new();
        for s in &of {
            if let Some(o) = s.opened_ms {
                events.push((o, 1));
                if let Some(cl) = s.closed_ms {
                    events.push((cl, -1));
                }
            }
        }
        events.sort();
        let closed = of.iter().filter(|s| s.closed_ms.is_some()).count();
        let name = server.unwrap_or("no server");
        let top = c.lane(&format!("{name}: {} ({closed} closed)", of.len()), "");
        let mut open = 0i64;
        let max = events
            .iter()
            .scan(0i64, |n, (_, d)| {
                *n += d;
                Some(*n)
            })
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let mut path = String::new();
        let mut last_x = c.x(0.0);
        let base = top + LANE;
        let _ = write!(path, "M{last_x:.1} {base:.1}");
        for (ms, d) in &events {
            let x = c.x(*ms as f64);
            let y = base - (open as f64 / max) * (LANE - 1.0);
            let _ = write!(path, "H{x:.1}V");
            open += d;
            let y2 = base - (open as f64 / max) * (LANE - 1.0);
            let _ = write!(path, "{y2:.1}");
            let _ = y;
            last_x = x;
        }
        let _ = write!(path, "H{:.1}V{base:.1}Z", c.x(c.end_ms).max(last_x));
        let fill = server.map(colour).unwrap_or("#4d4d4d");
        let _ = write!(
            c.out,
            "<path d=\"{path}\" fill=\"{fill}\" fill-opacity=\".45\"><title>sessions open on \
             {} (at most {max:.0})</title></path>",
            esc(name)
        );
        let mut closes = Thin::new();
        for s in &of {
            if let Some(cl) = s.closed_ms {
                let how = s.closed_how.as_deref().unwrap_or("closed");
                closes.add(
                    c.x(cl as f64),
                    if how.contains("reset") { "rst" } else { "eof" },
                    format!("{} a session on {name} closed: {how}", at(cl)),
                );
            }
        }
        closes.draw(&mut c.out, top, 5.0);
    }
}

fn window_lanes(c: &mut Canvas, t: &Timeline) {
    if t.windows.is_empty() {
        return;
    }
    c.section("measures, over the part of the case they count (red: the symptom's)");
    let lanes_top = 24.0;
    let mut bands = String::new();
    for w in &t.windows {
        let top = c.lane(&w.measure, "");
        let (x1, x2) = (c.x(w.from_ms as f64), c.x(w.to_ms as f64));
        let width = (x2 - x1).max(2.0);
        let sym = if w.symptom { " sym" } else { "" };
        let value = w.value.map(|v| format!(" = {v}")).unwrap_or_default();
        // The value beside the bar where there is room, else inside it, else before it.
        let (label_x, anchor) = if x2 + 60.0 < WIDTH {
            (x2 + 4.0, "start")
        } else if width > 60.0 {
            (x1 + 4.0, "start")
        } else {
            (x1 - 4.0, "end")
        };
        let _ = write!(
            c.out,
            "<rect x=\"{x1:.1}\" y=\"{:.1}\" width=\"{width:.1}\" height=\"{:.1}\" \
             class=\"win{sym}\"><title>{}{value}: {} from {} to {}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"wt\" text-anchor=\"{}\">{}</text>",
            top + 2.0,
            LANE - 4.0,
            esc(&w.measure),
            esc(&w.over),
            at(w.from_ms),
            at(w.to_ms),
            label_x,
            top + LANE - 4.0,
            anchor,
            esc(value.trim_start_matches(' '))
        );
        if w.symptom && width < WIDTH - LEFT - RIGHT - 1.0 {
            let _ = write!(
                bands,
                "<rect x=\"{x1:.1}\" y=\"{lanes_top}\" width=\"{width:.1}\" height=\"{:.1}\" \
                 class=\"band sym\"/>",
                top - lanes_top
            );
        }
    }
    c.out.insert_str(0, &bands);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Timeline {
        Timeline {
            end_ms: 3000,
            steps: vec![StepSpan {
                index: 1,
                action: "wait be/app1 UP".into(),
                at_ms: 800,
                end_ms: 900,
                ok: true,
                detail: "be/app1 <up>".into(),
            }],
            dns: (0..10)
                .map(|i| DnsMark {
                    at_ms: i * 200,
                    name: "app.svc.test".into(),
                    qtype: "A".into(),
                    answer: if i < 5 {
                        "NOERROR 1 answer"
                    } else {
                        "NXDOMAIN"
                    }
                    .into(),
                })
                .collect(),
            servers: vec![
                ServerMark {
                    at_ms: 800,
                    server: "be/app1".into(),
                    state: "UP".into(),
                    from: "poll".into(),
                    until_ms: Some(1200),
                    text: "op=Running".into(),
                },
                ServerMark {
                    at_ms: 1500,
                    server: "be/app1".into(),
                    state: "RMAINT".into(),
                    from: "log".into(),
                    until_ms: None,
                    text: "Server be/app1 is going DOWN for maintenance (DNS NX status)".into(),
                },
            ],
            captured: true,
            syns: (0..5000)
                .map(|i| SynMark {
                    at_ms: i % 3000,
                    to: "web1:8000".into(),
                    port: if i == 17 { 0 } else { 8000 },
                })
                .collect(),
            requests: vec![RequestMark {
                at_ms: 2000,
                end_ms: 2010,
                client: "c1".into(),
                server: Some("backup".into()),
                status: Some(200),
                error: None,
            }],
            sessions: vec![SessionSpan {
                load: "load".into(),
                id: 0,
                server: Some("s1".into()),
                opened_ms: Some(100),
                closed_ms: Some(2500),
                closed_how: Some("reset".into()),
            }],
            windows: vec![Window {
                measure: "syn_to_port_zero".into(),
                value: Some(1.0),
                from_ms: 0,
                to_ms: 3000,
                over: "SYNs of the capture".into(),
                symptom: true,
            }],
            exits: vec![ExitMark {
                at_ms: 2900,
                instance: "haproxy".into(),
                crash: true,
                text: "haproxy SIGILL: BUG_ON(x < y) at src/cli.c:12".into(),
            }],
        }
    }

    #[test]
    fn every_lane_is_drawn_and_text_is_escaped() {
        let svg = svg(&sample());
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>"));
        for lane in [
            "scenario steps",
            "A app.svc.test",
            "be/app1",
            "→ web1:8000",
            "→ port 0 (1)",
            "c1 (1)",
            "s1: 1 (1 closed)",
            "syn_to_port_zero",
            "haproxy died",
            "BUG_ON(x &lt; y) at src/cli.c:12",
        ] {
            assert!(svg.contains(lane), "{lane}");
        }
        assert!(svg.contains("be/app1 &lt;up&gt;"));
        assert!(svg.contains("class=\"syn0\""), "the port-0 SYN is red");
        assert!(svg.contains("class=\"lbl bad\""), "and its lane says so");
        assert!(svg.contains("class=\"nx\"") && svg.contains("class=\"ok\""));
    }

    #[test]
    fn dense_lanes_are_thinned_to_a_mark_per_pixel() {
        let svg = svg(&sample());
        // 5000 SYNs over ~800 pixels.
        let syn_marks = svg.matches("class=\"syn\"").count();
        assert!(syn_marks <= 810, "{syn_marks}");
        assert!(svg.contains("more here"));
        assert!(svg.len() < 200_000, "{}", svg.len());
    }

    #[test]
    fn dns_answers_have_a_class_each() {
        assert_eq!(dns_class("NOERROR 1 answer"), "ok");
        assert_eq!(dns_class("NOERROR 0 answers (NODATA)"), "nodata");
        assert_eq!(dns_class("NXDOMAIN"), "nx");
        assert_eq!(dns_class("SERVFAIL (fault)"), "fail");
        assert_eq!(dns_class("dropped (fault)"), "drop");
        assert_eq!(dns_class("delayed 500ms then NOERROR 1 answer"), "ok");
    }
}
