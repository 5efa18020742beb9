//! `matrix.html`: the matrix as one self-contained page (inline CSS and a few lines of inline
//! JavaScript, no external asset), so it can be opened from a CI artifact or a file manager and
//! published as is.
//!
//! A row per scenario variant, a column per HAProxy build in version order (its measured
//! version and source in the header). A cell's colour is the measured outcome (reproduced, not
//! reproduced, error), so "which versions have this bug" reads at a glance; the verdict against
//! the scenario's expectation is a mark on the cell (✓, FAIL, ?), and a cell of several runs
//! shows how many reproduced. Clicking a cell opens the case's panel below the table: for every
//! run the timeline (steps with start time, duration and what was seen), the measures, the
//! reason of the outcome, and links to the evidence files. Links are relative to the page, so
//! the page keeps working when the run folder is moved or downloaded as a whole.

use std::fmt::Write as _;
use std::path::Path;

use super::{cell_at, cells, columns, relative_to, rows, CaseRecord, Cell, Column};
use crate::verdict::{Outcome, Verdict};

const STYLE: &str = r#"
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d2125; }
h1 { font-size: 1.3em; margin: 0 0 .3em; }
.sum { color: #555; margin-bottom: 1em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #c9ced3; padding: .35em .6em; text-align: left; vertical-align: top; }
table.matrix th.col { text-align: center; min-width: 8.5em; }
table.matrix th.col .v { font-size: 1.1em; }
table.matrix th.col .b { font-weight: normal; font-size: .78em; color: #555; }
table.matrix th.row { font-weight: 600; white-space: nowrap; }
table.matrix th.row .var { font-weight: normal; color: #444; }
table.matrix td.cell { padding: 0; text-align: center; position: relative; }
table.matrix td.cell a { display: block; padding: .5em .6em; color: inherit; text-decoration: none; }
table.matrix td.cell a:hover { outline: 2px solid #1d2125; outline-offset: -2px; }
.o-reproduced { background: #d64541; color: #fff; }
.o-not-reproduced { background: #a8dcb0; color: #133d1b; }
.o-crashed { background: #4b2267; color: #fff; }
.crash { display: block; font-size: .72em; font-weight: normal; max-width: 16em; margin: .15em auto 0; overflow-wrap: anywhere; }
.o-error { background: repeating-linear-gradient(135deg, #f6dc8a 0 6px, #efcf6a 6px 12px); color: #4a3b00; }
.rate { display: block; font-size: .85em; }
.mk { display: inline-block; margin-top: .15em; padding: 0 .35em; border-radius: 3px; font-size: .8em; font-weight: 700; }
.mk-pass { background: rgba(255,255,255,.75); color: #185c26; }
.mk-fail { background: #111; color: #fff; }
.mk-no-expectation { background: #fff; color: #555; border: 1px dashed #555; }
.mk-error { background: rgba(255,255,255,.6); color: #6b5500; }
td.cell.v-fail { box-shadow: inset 0 0 0 3px #111; }
.legend { margin: .6em 0 1em; font-size: .9em; }
.sw { display: inline-block; padding: .1em .5em; margin-right: .3em; border-radius: 3px; }
.legend .mk { margin-right: .2em; }
.legend .item { margin-right: 1.2em; white-space: nowrap; }
.m { font-size: .85em; color: #333; }
details.case { margin: 1em 0; border: 1px solid #c9ced3; border-radius: 4px; }
details.case > summary { padding: .5em .8em; cursor: pointer; font-weight: 600; }
details.case[open] > summary { border-bottom: 1px solid #c9ced3; }
details.case:target { box-shadow: 0 0 0 3px #4a90d9; }
.run { padding: .6em .8em; }
.run + .run { border-top: 1px dashed #c9ced3; }
.run table { margin: .4em 0; font-size: .92em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.err td { background: #fde3e1; }
code, .detail { font-family: ui-monospace, monospace; font-size: .9em; }
.detail { white-space: pre-wrap; word-break: break-word; }
ul.ev { margin: .3em 0; padding-left: 1.3em; }
.tl { overflow-x: auto; margin: .5em 0; }
.tl svg { max-width: 100%; height: auto; }
"#;

const SCRIPT: &str = r#"
function openTarget() {
  var id = decodeURIComponent(location.hash.slice(1));
  var el = id && document.getElementById(id);
  if (el && el.tagName === 'DETAILS') { el.open = true; el.scrollIntoView(); }
}
window.addEventListener('hashchange', openTarget);
window.addEventListener('DOMContentLoaded', openTarget);
"#;

/// The page for `records`, to be written into `dir` (evidence links are relative to it).
pub fn page(records: &[CaseRecord], dir: &Path) -> String {
    let columns = columns(records);
    let cells = cells(records);
    let passed = cells
        .iter()
        .filter(|c| c.verdict() == Verdict::Pass)
        .count();
    let count = |o: Outcome| cells.iter().filter(|c| c.outcome() == o).count();
    let mut run_ids: Vec<&str> = records.iter().map(|r| r.run_id.as_str()).collect();
    run_ids.sort();
    run_ids.dedup();

    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>haprepro matrix {}</title><style>{STYLE}{}</style><script>{SCRIPT}</script>\
         </head><body>\n<h1>haprepro matrix</h1>\n<div class=\"sum\">run {} &middot; \
         {} case(s): {} reproduced, {} not reproduced, {} crashed, {} error &middot; {passed} as expected, \
         {} not &middot; {} run(s) in all. Click a cell for its timeline, measures and \
         evidence.</div>\n",
        esc(&run_ids.join(", ")),
        super::timeline::css(),
        esc(&run_ids.join(", ")),
        cells.len(),
        count(Outcome::Reproduced),
        count(Outcome::NotReproduced),
        count(Outcome::Crashed),
        count(Outcome::Error),
        cells.len() - passed,
        records.len()
    );
    out.push_str(LEGEND);

    out.push_str("<table class=\"matrix\"><thead><tr><th>scenario / variant</th>");
    for c in &columns {
        let _ = write!(
            out,
            "<th class=\"col\" title=\"{}\"><div class=\"v\">{}</div><div class=\"b\">{}</div>\
             <div class=\"b\">{}</div></th>",
            esc(&c.image),
            esc(&c.version),
            esc(&c.full),
            esc(&c.source)
        );
    }
    out.push_str("</tr></thead><tbody>\n");
    for row in rows(records) {
        let title = match row.split_once('/') {
            Some((s, v)) => format!("{}<span class=\"var\">/{}</span>", esc(s), esc(v)),
            None => esc(&row),
        };
        let _ = write!(out, "<tr><th class=\"row\">{title}</th>");
        for column in &columns {
            match cell_at(&cells, &row, column) {
                Some(c) => matrix_cell(&mut out, c, &columns),
                None => out.push_str("<td></td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");

    for c in &cells {
        case_panel(&mut out, c, &columns, dir);
    }
    out.push_str("</body></html>\n");
    out
}

const LEGEND: &str = "<div class=\"legend\">\
    <span class=\"item\"><span class=\"sw o-reproduced\">reproduced</span>the bug's symptom was measured</span>\
    <span class=\"item\"><span class=\"sw o-not-reproduced\">not reproduced</span>the steps ran, no symptom</span>\
    <span class=\"item\"><span class=\"sw o-crashed\">crashed</span>HAProxy died (its signal or condition under the word)</span>\
    <span class=\"item\"><span class=\"sw o-error\">error</span>the experiment could not run</span>\
    <span class=\"item\"><b>k/n</b> runs that reproduced</span><br>\
    <span class=\"item\"><span class=\"mk mk-pass\">&#10003;</span>as the scenario expects for this version</span>\
    <span class=\"item\"><span class=\"mk mk-fail\">FAIL</span>not as expected</span>\
    <span class=\"item\"><span class=\"mk mk-no-expectation\">?</span>no expectation for this version</span>\
    </div>\n";

fn matrix_cell(out: &mut String, c: &Cell, columns: &[Column]) {
    let outcome = c.outcome();
    let verdict = c.verdict();
    let rate = c
        .rate()
        .map(|(k, n)| format!("<span class=\"rate\">{k}/{n} runs</span>"))
        .unwrap_or_default();
    let crash = c
        .crash()
        .map(|words| format!("<span class=\"crash\">{}</span>", esc(&short(&words, 70))))
        .unwrap_or_default();
    let _ = write!(
        out,
        "<td class=\"cell {} {}\" title=\"{}: measured {}; {}\"><a href=\"#{}\">{}{rate}{crash}\
         {}</a></td>",
        outcome_class(outcome),
        class(verdict),
        esc(&c.name()),
        esc(&c.measured()),
        esc(&verdict.to_string()),
        anchor(c, columns),
        super::matrix::outcome_words(outcome),
        mark(verdict)
    );
}

/// The verdict's mark, as HTML.
fn mark(verdict: Verdict) -> String {
    let (class, text) = match verdict {
        Verdict::Pass => ("mk-pass", "&#10003;"),
        Verdict::Fail => ("mk-fail", "FAIL"),
        Verdict::NoExpectation => ("mk-no-expectation", "?"),
        Verdict::Error => ("mk-error", "not run"),
    };
    format!("<br><span class=\"mk {class}\">{text}</span>")
}

fn outcome_class(o: Outcome) -> &'static str {
    match o {
        Outcome::Reproduced => "o-reproduced",
        Outcome::NotReproduced => "o-not-reproduced",
        Outcome::Crashed => "o-crashed",
        Outcome::Error => "o-error",
    }
}

fn case_panel(out: &mut String, c: &Cell, columns: &[Column], dir: &Path) {
    let verdict = c.verdict();
    let _ = writeln!(
        out,
        "<details class=\"case\" id=\"{}\"><summary><span class=\"sw {}\">&nbsp;{}&nbsp;</span> \
         {} {} &mdash; {} &middot; HAProxy {}</summary>",
        anchor(c, columns),
        outcome_class(c.outcome()),
        esc(&c.measured()),
        esc(&c.name()),
        mark(verdict).trim_start_matches("<br>"),
        esc(&verdict.to_string()),
        esc(&c.column.full)
    );
    for (i, r) in c.runs.iter().enumerate() {
        run_section(out, r, i + 1, c.runs.len(), dir);
    }
    out.push_str("</details>\n");
}

fn run_section(out: &mut String, r: &CaseRecord, n: usize, of: usize, dir: &Path) {
    let expected = match (&r.expected, &r.expected_range) {
        (Some(o), Some(range)) => format!("{o} (range {range})"),
        (Some(o), None) => o.to_string(),
        _ => "nothing: no [expect] range covers this version".into(),
    };
    let _ = write!(
        out,
        "<div class=\"run\"><div>{}measured <b class=\"sw {}\">&nbsp;{}&nbsp;</b>, \
         expected {} {} &middot; HAProxy <code>{}</code>, image <code>{}</code> ({}) &middot; \
         run <code>{}</code>, started {} &middot; {:.2}s (setup {:.2}s)</div>\n\
         <div>reason: <span class=\"detail\">{}</span></div>\n",
        if of > 1 {
            format!("run {n}/{of}: ")
        } else {
            String::new()
        },
        outcome_class(r.outcome),
        esc(&r.outcome.to_string()),
        esc(&expected),
        mark(r.verdict).trim_start_matches("<br>"),
        esc(&r.version),
        esc(&r.image),
        esc(&r.image_source),
        esc(&r.run_id),
        esc(&r.started_at),
        r.wall_ms as f64 / 1000.0,
        r.setup_ms as f64 / 1000.0,
        esc(&r.reason)
    );

    for e in r.haproxy_exit.iter() {
        let _ =
            write!(
            out,
            "<div class=\"died\"><b class=\"sw {}\">&nbsp;{} {}&nbsp;</b> at {:.2}s, during {}{}{}\
             <pre class=\"detail\">{}</pre></div>",
            if e.is_crash() { "o-crashed" } else { "o-error" },
            esc(&e.instance),
            if e.is_crash() { "died" } else { "exited while starting" },
            e.at_ms as f64 / 1000.0,
            esc(&e.during),
            e.last_words
                .headline()
                .map(|h| format!(": <code>{}</code>", esc(&h)))
                .unwrap_or_else(|| format!(" ({})", esc(&e.how()))),
            [e.core.as_deref(), e.backtrace.as_deref()]
                .into_iter()
                .flatten()
                .map(|t| format!(" &middot; {}", esc(t)))
                .collect::<String>(),
            esc(&e.last_lines[e.last_lines.len().saturating_sub(12)..].join("\n"))
        );
        out.push('\n');
    }

    if let Some(svg) = timeline_of(r) {
        out.push_str("<div class=\"tl\">");
        out.push_str(&svg);
        out.push_str("</div>\n");
    }

    out.push_str(
        "<table><thead><tr><th>#</th><th>at</th><th>took</th><th></th><th>step</th>\
         <th>detail</th></tr></thead><tbody>\n",
    );
    for s in &r.steps {
        let _ = writeln!(
            out,
            "<tr{}><td class=\"num\">{}</td><td class=\"num\">{:.2}s</td>\
             <td class=\"num\">{}ms</td><td>{}</td><td>{}</td><td class=\"detail\">{}</td></tr>",
            if s.ok { "" } else { " class=\"err\"" },
            s.index,
            s.at_ms as f64 / 1000.0,
            s.elapsed_ms,
            if s.ok { "ok" } else { "ERR" },
            esc(&s.action),
            esc(&s.detail)
        );
    }
    out.push_str("</tbody></table>\n");

    if !r.measures.is_empty() {
        out.push_str("<table><thead><tr><th>measure</th><th>value</th></tr></thead><tbody>");
        for (name, value) in &r.measures {
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td class=\"num\">{value}</td></tr>",
                esc(name)
            );
        }
        out.push_str("</tbody></table>\n");
    }

    let folder = relative_to(&r.evidence_dir, dir);
    let _ = write!(
        out,
        "<div>evidence in <a href=\"{}\"><code>{}</code></a>:</div><ul class=\"ev\">",
        esc(&href(&folder)),
        esc(&folder.display().to_string())
    );
    let mut files = r.evidence.clone();
    if !files.iter().any(|f| f == "case.json") {
        files.push("case.json".into());
    }
    for f in &files {
        let _ = write!(
            out,
            "<li><a href=\"{}\">{}</a></li>",
            esc(&href(&folder.join(f))),
            esc(f)
        );
    }
    out.push_str("</ul></div>\n");
}

/// The case's timeline picture, drawn from its `timeline.json` (cases recorded before
/// timelines existed have none).
fn timeline_of(r: &CaseRecord) -> Option<String> {
    let text = std::fs::read_to_string(r.evidence_dir.join(super::timeline::JSON_FILE)).ok()?;
    let timeline: super::timeline::Timeline = serde_json::from_str(&text).ok()?;
    Some(super::timeline::svg_inline(&timeline))
}

fn class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "v-pass",
        Verdict::Fail => "v-fail",
        Verdict::Error => "v-error",
        Verdict::NoExpectation => "v-no-expectation",
    }
}

/// An element id from the case name: letters, digits and `-`; with the column's position when
/// two columns share a version (a Debian and an official build of it).
fn anchor(c: &Cell, columns: &[Column]) -> String {
    let id: String = c
        .name()
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
        .collect();
    let shared = columns.iter().filter(|k| k.version == c.version).count() > 1;
    match columns.iter().position(|k| *k == c.column) {
        Some(i) if shared => format!("case-{id}-{i}"),
        _ => format!("case-{id}"),
    }
}

/// A relative URL: `/` separators, and the characters that would end or confuse a URL
/// percent-encoded.
fn href(path: &Path) -> String {
    let mut out = String::new();
    for (i, part) in path.components().enumerate() {
        if i > 0 {
            out.push('/');
        }
        for b in part.as_os_str().to_string_lossy().bytes() {
            if b.is_ascii_alphanumeric() || b"-._~+@".contains(&b) {
                out.push(b as char);
            } else {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Escapes text for HTML content and attribute values.
/// At most `n` characters, with an ellipsis when cut.
fn short(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}
