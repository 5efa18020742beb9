//! `matrix.html`: the matrix as one self-contained page (inline CSS and a few lines of inline
//! JavaScript, no external asset), so it can be opened from a CI artifact or a file manager and
//! published as is.
//!
//! Each case is a coloured cell; clicking it opens the case's panel below the table: for every
//! run the timeline (steps with start time, duration and what was seen), the measures, the
//! reason of the outcome, and links to the evidence files. Links are relative to the page, so
//! the page keeps working when the run folder is moved or downloaded as a whole.

use std::fmt::Write as _;
use std::path::Path;

use super::{cells, relative_to, versions, CaseRecord, Cell};
use crate::verdict::Verdict;

const STYLE: &str = r#"
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d2125; }
h1 { font-size: 1.3em; margin: 0 0 .3em; }
.sum { color: #555; margin-bottom: 1em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #c9ced3; padding: .35em .6em; text-align: left; vertical-align: top; }
table.matrix td.cell { padding: 0; text-align: center; min-width: 8em; }
table.matrix td.cell a { display: block; padding: .45em .6em; color: inherit; text-decoration: none; }
table.matrix td.cell a:hover { outline: 2px solid #1d2125; }
.v-pass { background: #c8efcf; }
.v-fail { background: #f7b9b4; }
.v-error { background: #f9d88b; }
.v-no-expectation { background: #dcdfe3; }
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
    let versions = versions(records);
    let cells = cells(records);
    let mut scenarios: Vec<&str> = cells.iter().map(|c| c.scenario.as_str()).collect();
    scenarios.dedup();
    let passed = cells
        .iter()
        .filter(|c| c.verdict() == Verdict::Pass)
        .count();
    let mut run_ids: Vec<&str> = records.iter().map(|r| r.run_id.as_str()).collect();
    run_ids.sort();
    run_ids.dedup();

    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>haprepro matrix {}</title><style>{STYLE}</style><script>{SCRIPT}</script>\
         </head><body>\n<h1>haprepro matrix</h1>\n<div class=\"sum\">run {} &middot; \
         {} case(s), {passed} passed, {} not passing &middot; {} run(s) in all. \
         Click a cell for its timeline, measures and evidence.</div>\n",
        esc(&run_ids.join(", ")),
        esc(&run_ids.join(", ")),
        cells.len(),
        cells.len() - passed,
        records.len()
    );

    out.push_str("<table class=\"matrix\"><thead><tr><th>scenario</th>");
    for v in &versions {
        let _ = write!(out, "<th>{}</th>", esc(v));
    }
    out.push_str("</tr></thead><tbody>\n");
    for s in &scenarios {
        let _ = write!(out, "<tr><th>{}</th>", esc(s));
        for v in &versions {
            match cells.iter().find(|c| c.scenario == *s && &c.version == v) {
                Some(c) => {
                    let verdict = c.verdict();
                    let _ = write!(
                        out,
                        "<td class=\"cell {}\" title=\"{}\"><a href=\"#{}\">{}<br>\
                         <span class=\"m\">{}</span></a></td>",
                        class(verdict),
                        esc(&c.name()),
                        anchor(c),
                        esc(&verdict.to_string()),
                        esc(&c.measured())
                    );
                }
                None => out.push_str("<td></td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");

    for c in &cells {
        case_panel(&mut out, c, dir);
    }
    out.push_str("</body></html>\n");
    out
}

fn case_panel(out: &mut String, c: &Cell, dir: &Path) {
    let verdict = c.verdict();
    let _ = writeln!(
        out,
        "<details class=\"case\" id=\"{}\"><summary><span class=\"{}\">&nbsp;{}&nbsp;</span> \
         {} &mdash; measured {}</summary>",
        anchor(c),
        class(verdict),
        esc(&verdict.to_string()),
        esc(&c.name()),
        esc(&c.measured())
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
        "<div class=\"run\"><div>{}<b class=\"{}\">&nbsp;{}&nbsp;</b> measured <b>{}</b>, \
         expected {} &middot; HAProxy <code>{}</code>, image <code>{}</code> ({}) &middot; \
         run <code>{}</code>, started {} &middot; {:.2}s (setup {:.2}s)</div>\n\
         <div>reason: <span class=\"detail\">{}</span></div>\n",
        if of > 1 {
            format!("run {n}/{of}: ")
        } else {
            String::new()
        },
        class(r.verdict),
        esc(&r.verdict.to_string()),
        esc(&r.outcome.to_string()),
        esc(&expected),
        esc(&r.version),
        esc(&r.image),
        esc(&r.image_source),
        esc(&r.run_id),
        esc(&r.started_at),
        r.wall_ms as f64 / 1000.0,
        r.setup_ms as f64 / 1000.0,
        esc(&r.reason)
    );

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

fn class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "v-pass",
        Verdict::Fail => "v-fail",
        Verdict::Error => "v-error",
        Verdict::NoExpectation => "v-no-expectation",
    }
}

/// An element id from the case name: letters, digits and `-`.
fn anchor(c: &Cell) -> String {
    let id: String = c
        .name()
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
        .collect();
    format!("case-{id}")
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
