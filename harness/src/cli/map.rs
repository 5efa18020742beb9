//! `haprepro map SCENARIO[,...] --src CLONE [--src CLONE ...] --versions SET [--explain]`: every
//! version of a set built and run (a `haprepro matrix` over it), then per scenario variant the
//! versions in order with their measured outcome, every boundary between adjacent versions
//! marked, and with `--explain` each boundary bisected to its commit (a `haprepro bisect`
//! between the two tags). Written as `map.json`, `map.md` and `map.html` in `results/map-<id>/`.
//!
//! The map is made of the commands a user would run by hand, each as a child process with its
//! own output shown: what they write (matrix.json, bisect.json) is what the map reads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use super::exit;
use super::run::CaseArgs;
use haprepro::images::source::version_set;

#[derive(clap::Args)]
pub struct MapArgs {
    /// Scenarios to map (comma-separated).
    #[arg(value_delimiter = ',', required = true)]
    scenarios: Vec<String>,
    /// HAProxy clones (repeatable: a mainline clone and branch clones, their tags merged).
    #[arg(long, required = true, value_name = "DIR")]
    src: Vec<String>,
    /// The versions: tags, ranges in HAProxy's order (v3.0-dev0..v3.0.0), patterns (v3.1-dev*),
    /// newest-tag; comma-separated.
    #[arg(long, required = true, value_delimiter = ',', value_name = "SET")]
    versions: Vec<String>,
    /// Bisect every boundary to the commit that made it (first bad or first fixed).
    #[arg(long)]
    explain: bool,
    /// With --explain: runs of each named commit and of its parent that confirm it (and a
    /// build of the later end with the commit reverted); 0 skips the confirmation.
    #[arg(long, default_value_t = 3, value_name = "N")]
    confirm: usize,
    /// The most versions a map builds; a larger set is refused before anything is built.
    #[arg(long, default_value_t = 40, value_name = "N")]
    max_builds: usize,
    /// Cases run at once.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    #[command(flatten)]
    case: CaseArgs,
}

/// One version of a strip.
#[derive(Debug, Serialize)]
struct Cell {
    version: String,
    outcome: String,
    /// The case's evidence folder.
    evidence: Option<String>,
}

/// A change of outcome between two adjacent measured versions.
#[derive(Debug, Serialize)]
struct Boundary {
    from: String,
    to: String,
    before: String,
    after: String,
    /// Versions between the two that could not be measured (`error`).
    unmeasured_between: Vec<String>,
    /// The commit that made it, from `--explain`'s bisect.
    commit: Option<Explained>,
    /// Why there is no commit (no `--explain`, ends in two clones, the bisect failed).
    unexplained: Option<String>,
}

#[derive(Debug, Serialize)]
struct Explained {
    kind: String,
    hash: String,
    subject: String,
    /// The bisect's folder (bisect.md, bisect.json, each step's evidence).
    bisect: String,
    /// Whether the re-runs (and the revert, where it applies) agree with the bisect.
    confirmed: Option<bool>,
    /// What the confirmation measured, in words.
    confirmation: Option<String>,
}

#[derive(Debug, Serialize)]
struct Strip {
    /// `scenario` or `scenario/variant`.
    case: String,
    cells: Vec<Cell>,
    boundaries: Vec<Boundary>,
    /// The one-line answer.
    answer: String,
}

#[derive(Debug, Serialize)]
struct MapRecord {
    versions: Vec<String>,
    clones: Vec<String>,
    strips: Vec<Strip>,
}

fn definite(outcome: &str) -> bool {
    matches!(outcome, "reproduced" | "not-reproduced" | "crashed")
}

pub async fn run(args: MapArgs) -> i32 {
    let usage = |message: String| {
        eprintln!("error: {message}");
        exit::USAGE
    };
    let mut clones = Vec::new();
    for src in &args.src {
        let dir = PathBuf::from(src);
        if !dir.join(".git").exists() && !dir.join("HEAD").is_file() {
            return usage(format!(
                "--src {src} is not a git clone of HAProxy (map works on clones' tags)"
            ));
        }
        match version_set::clone_tags(&dir) {
            Ok(tags) => clones.push((dir, tags)),
            Err(e) => return usage(format!("--src: {e}")),
        }
    }
    let members = match version_set::merge(&clones)
        .and_then(|tags| version_set::expand(&args.versions, &tags))
    {
        Ok(m) => m,
        Err(e) => return usage(format!("--versions: {e}")),
    };
    if members.len() > args.max_builds {
        return usage(format!(
            "--versions names {} versions, more than the {} a map builds at most: \
             narrow the set, or ask for them with --max-builds {}",
            members.len(),
            args.max_builds,
            members.len()
        ));
    }
    let names: Vec<String> = members.iter().map(|m| m.name.clone()).collect();
    let id = format!(
        "map-{}-{:04x}",
        time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year][month][day]-[hour][minute][second]"
            ))
            .unwrap_or_default(),
        rand::random::<u16>()
    );
    let dir = args.case.results_dir.join(&id);
    eprintln!(
        "map {id}: {} over {} version(s): {}",
        args.scenarios.join(", "),
        names.len(),
        names.join(" ")
    );
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot find the haprepro binary itself: {e}");
            return exit::HARNESS;
        }
    };
    let mut matrix = Command::new(&exe);
    matrix
        .args(["matrix", "--scenarios", &args.scenarios.join(",")])
        .args(["--versions", &names.join(",")])
        .args(["--jobs", &args.jobs.to_string()]);
    for src in &args.src {
        matrix.args(["--src", src]);
    }
    matrix
        .arg("--scenarios-dir")
        .arg(args.case.scenarios_dir())
        .arg("--results-dir")
        .arg(dir.join("matrix"));
    let status = match matrix.status() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot run haprepro matrix: {e}");
            return exit::HARNESS;
        }
    };
    if !matches!(status.code(), Some(0) | Some(1)) {
        eprintln!("error: the map's matrix did not run to its end ({status}); nothing mapped");
        return status.code().unwrap_or(exit::HARNESS);
    }
    let records = match read_matrix(&dir.join("matrix")) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::HARNESS;
        }
    };
    let mut strips = strips(&records, &names);
    let mut failed = strips
        .iter()
        .any(|s| s.cells.iter().any(|c| !definite(&c.outcome)));
    for (k, strip) in strips.iter_mut().enumerate() {
        let (scenario, variant) = match strip.case.split_once('/') {
            Some((s, v)) => (s.to_string(), Some(v.to_string())),
            None => (strip.case.clone(), None),
        };
        for (b, boundary) in strip.boundaries.iter_mut().enumerate() {
            if !args.explain {
                boundary.unexplained = Some("not asked (--explain bisects it)".into());
                continue;
            }
            let clone_of = |v: &str| members.iter().find(|m| m.name == v).map(|m| m.clone);
            let (a, z) = (clone_of(&boundary.from), clone_of(&boundary.to));
            if a != z {
                boundary.unexplained = Some(format!(
                    "{} and {} are tags of two clones: bisect them in one clone that has both",
                    boundary.from, boundary.to
                ));
                continue;
            }
            let clone = &args.src[a.unwrap_or(0)];
            let out = dir.join(format!("bisect-{k}-{b}"));
            match explain(
                &exe,
                &args,
                clone,
                &scenario,
                variant.as_deref(),
                boundary,
                &out,
            ) {
                Ok(mut e) => {
                    if args.confirm > 0 {
                        let at = Target {
                            exe: &exe,
                            args: &args,
                            clone,
                            scenario: &scenario,
                            variant: variant.as_deref(),
                        };
                        let (ok, said) = confirm(&at, boundary, &e.hash, &out);
                        failed |= !ok;
                        e.confirmed = Some(ok);
                        e.confirmation = Some(said);
                    }
                    boundary.commit = Some(e);
                }
                Err(why) => {
                    failed = true;
                    boundary.unexplained = Some(why);
                }
            }
        }
        strip.answer = answer(strip);
    }
    let record = MapRecord {
        versions: names,
        clones: args.src.clone(),
        strips,
    };
    if let Err(e) = write(&dir, &record, &args) {
        eprintln!("error: cannot write the map into {}: {e}", dir.display());
        return exit::HARNESS;
    }
    println!();
    for s in &record.strips {
        println!("{}: {}", s.case, s.answer);
    }
    println!("map: {}/map.md, map.html, map.json", dir.display());
    if failed {
        exit::FAILED
    } else {
        exit::OK
    }
}

fn read_matrix(dir: &Path) -> Result<Vec<serde_json::Value>, String> {
    let path = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|run| run.path().join("matrix.json"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "the map's matrix wrote no matrix.json under {}",
                dir.display()
            )
        })?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The strips of a matrix's records, each version in the set's order, with its boundaries.
fn strips(records: &[serde_json::Value], versions: &[String]) -> Vec<Strip> {
    let mut by_case: BTreeMap<String, BTreeMap<String, (String, Option<String>)>> = BTreeMap::new();
    for r in records {
        let Some((case, version)) = r["provenance"]["planned"]["item"]
            .as_str()
            .and_then(|i| i.split_once('@'))
        else {
            continue;
        };
        let version = version.split(' ').next().unwrap_or(version);
        by_case.entry(case.to_string()).or_default().insert(
            version.to_string(),
            (
                r["outcome"].as_str().unwrap_or("error").to_string(),
                r["evidence_dir"].as_str().map(str::to_string),
            ),
        );
    }
    by_case
        .into_iter()
        .map(|(case, outcomes)| {
            let cells: Vec<Cell> = versions
                .iter()
                .map(|v| {
                    let (outcome, evidence) = outcomes
                        .get(v)
                        .cloned()
                        .unwrap_or_else(|| ("missing".into(), None));
                    Cell {
                        version: v.clone(),
                        outcome,
                        evidence,
                    }
                })
                .collect();
            let boundaries = boundaries(&cells);
            Strip {
                case,
                cells,
                boundaries,
                answer: String::new(),
            }
        })
        .collect()
}

/// Changes of outcome between consecutive measured versions.
fn boundaries(cells: &[Cell]) -> Vec<Boundary> {
    let mut out = Vec::new();
    let mut last: Option<&Cell> = None;
    let mut between = Vec::new();
    for c in cells {
        if !definite(&c.outcome) {
            between.push(c.version.clone());
            continue;
        }
        if let Some(prev) = last {
            if prev.outcome != c.outcome {
                out.push(Boundary {
                    from: prev.version.clone(),
                    to: c.version.clone(),
                    before: prev.outcome.clone(),
                    after: c.outcome.clone(),
                    unmeasured_between: between.clone(),
                    commit: None,
                    unexplained: None,
                });
            }
        }
        between.clear();
        last = Some(c);
    }
    out
}

/// Bisects one boundary with `haprepro bisect` and reads its answer.
fn explain(
    exe: &Path,
    args: &MapArgs,
    clone: &str,
    scenario: &str,
    variant: Option<&str>,
    boundary: &Boundary,
    out: &Path,
) -> Result<Explained, String> {
    let mut cmd = Command::new(exe);
    cmd.args(["bisect", scenario, "--src", clone]).args([
        "--good",
        &boundary.from,
        "--bad",
        &boundary.to,
    ]);
    if let Some(v) = variant {
        cmd.args(["--variant", v]);
    }
    if boundary.before != "not-reproduced" && boundary.after == "not-reproduced" {
        cmd.arg("--fixed");
    }
    cmd.arg("--scenarios-dir")
        .arg(args.case.scenarios_dir())
        .arg("--results-dir")
        .arg(out);
    eprintln!(
        "map: bisecting {scenario}{} between {} ({}) and {} ({})",
        variant.map(|v| format!("/{v}")).unwrap_or_default(),
        boundary.from,
        boundary.before,
        boundary.to,
        boundary.after
    );
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run haprepro bisect: {e}"))?;
    let json = std::fs::read_dir(out)
        .into_iter()
        .flatten()
        .flatten()
        .map(|run| run.path().join("bisect.json"))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("the bisect gave no answer ({status}); its output is above"))?;
    let text = std::fs::read_to_string(&json).map_err(|e| format!("{}: {e}", json.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", json.display()))?;
    let answer = &value["answer"];
    let hash = answer["commit"]["hash"]
        .as_str()
        .ok_or_else(|| format!("the bisect found no commit ({})", json.display()))?;
    Ok(Explained {
        confirmed: None,
        confirmation: None,
        kind: answer["kind"].as_str().unwrap_or("").to_string(),
        hash: hash.to_string(),
        subject: answer["commit"]["subject"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        bisect: json
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    })
}

/// What a confirmation runs against.
struct Target<'a> {
    exe: &'a Path,
    args: &'a MapArgs,
    clone: &'a str,
    scenario: &'a str,
    variant: Option<&'a str>,
}

impl Target<'_> {
    /// `haprepro matrix` of the scenario on `refs` of the clone: the outcomes of the variant,
    /// per ref, or why there are none.
    fn measure(
        &self,
        refs: &[&str],
        extra: &[&str],
        out: &Path,
    ) -> Result<BTreeMap<String, Vec<String>>, String> {
        let status = Command::new(self.exe)
            .args(["matrix", "--scenarios", self.scenario, "--src", self.clone])
            .args(["--versions", &refs.join(",")])
            .args(extra)
            .arg("--scenarios-dir")
            .arg(self.args.case.scenarios_dir())
            .arg("--results-dir")
            .arg(out)
            .status()
            .map_err(|e| format!("cannot run haprepro matrix: {e}"))?;
        let records = read_matrix(out).map_err(|e| format!("{e} ({status})"))?;
        let case = match self.variant {
            Some(v) => format!("{}/{v}", self.scenario),
            None => self.scenario.to_string(),
        };
        let mut by_ref: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in &records {
            let Some((c, item)) = r["provenance"]["planned"]["item"]
                .as_str()
                .and_then(|i| i.split_once('@'))
            else {
                continue;
            };
            if c == case {
                let item = item.split(' ').next().unwrap_or(item).to_string();
                by_ref
                    .entry(item)
                    .or_default()
                    .push(r["outcome"].as_str().unwrap_or("error").to_string());
            }
        }
        Ok(by_ref)
    }
}

/// Confirms a named commit as syzbot does: the commit and its parent, run `--confirm` times
/// each, must measure the two sides of the boundary every time; and the later end rebuilt with
/// the commit reverted, where the revert applies, must measure like the earlier end.
fn confirm(at: &Target<'_>, b: &Boundary, commit: &str, out: &Path) -> (bool, String) {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(at.clone)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
    };
    let Some(parent) = git(&["rev-parse", &format!("{commit}^")]).map(|p| p.trim().to_string())
    else {
        return (
            false,
            format!("not confirmed: {commit} has no parent to compare with"),
        );
    };
    let n = at.args.confirm.to_string();
    let runs = match at.measure(&[commit, &parent], &["--repeat", &n], &out.join("confirm")) {
        Ok(r) => r,
        Err(e) => {
            return (
                false,
                format!("not confirmed: the re-runs did not run: {e}"),
            )
        }
    };
    let tally = |r: &str, want: &str| {
        let got = runs.get(r).cloned().unwrap_or_default();
        (got.iter().filter(|o| *o == want).count(), got.len())
    };
    let (c_same, c_all) = tally(commit, &b.after);
    let (p_same, p_all) = tally(&parent, &b.before);
    let short = |h: &str| h[..12.min(h.len())].to_string();
    let mut said = format!(
        "{} measured {} {c_same}/{c_all}, its parent {} measured {} {p_same}/{p_all}",
        short(commit),
        b.after,
        short(&parent),
        b.before
    );
    let mut ok = c_all > 0 && c_same == c_all && p_all > 0 && p_same == p_all;
    // The revert: the diff from the commit to its parent, on the later end.
    let revert = out.join("revert.patch");
    match git(&["diff", "--no-color", commit, &parent]) {
        Some(d) if !d.is_empty() && std::fs::write(&revert, &d).is_ok() => {
            let patch = revert.display().to_string();
            match at.measure(&[&b.to], &["--patch", &patch], &out.join("revert")) {
                Ok(r) => {
                    let got = r
                        .get(&b.to)
                        .and_then(|o| o.first())
                        .cloned()
                        .unwrap_or_else(|| "nothing".into());
                    if definite(&got) {
                        said.push_str(&format!("; {} with it reverted measured {got}", b.to));
                        ok &= got == b.before;
                    } else {
                        said.push_str(&format!(
                            "; {} with it reverted could not be measured ({got}: the revert may \
                             not apply there; not checked)",
                            b.to
                        ));
                    }
                }
                Err(_) => said.push_str(&format!(
                    "; the revert does not apply to {} (not checked)",
                    b.to
                )),
            }
        }
        _ => said.push_str("; no revert to try (an empty diff)"),
    }
    let verdict = if ok { "confirmed" } else { "not confirmed" };
    (ok, format!("{verdict}: {said}"))
}

fn cause(b: &Boundary) -> String {
    match &b.commit {
        Some(c) => format!(" ({} {:?})", &c.hash[..12.min(c.hash.len())], c.subject),
        None => String::new(),
    }
}

/// The strip in one line: where the outcome starts and ends, with the commits found.
fn answer(strip: &Strip) -> String {
    let measured: Vec<&Cell> = strip
        .cells
        .iter()
        .filter(|c| definite(&c.outcome))
        .collect();
    let (Some(first), Some(last)) = (measured.first(), measured.last()) else {
        return "nothing measured".into();
    };
    if strip.boundaries.is_empty() {
        return format!(
            "{} from {} to {} (no change in the set)",
            first.outcome, first.version, last.version
        );
    }
    let mut parts = Vec::new();
    let mut start = first.version.clone();
    let mut start_cause = String::new();
    for b in &strip.boundaries {
        parts.push(format!(
            "{} from {start}{start_cause} to {}",
            b.before, b.from
        ));
        start = b.to.clone();
        start_cause = cause(b);
    }
    let tail = strip.boundaries.last().expect("not empty");
    if tail.after == "not-reproduced" && tail.before != "not-reproduced" {
        parts.push(format!("fixed in {}{start_cause}", tail.to));
    } else {
        parts.push(format!(
            "{} from {start}{start_cause} to {}",
            tail.after, last.version
        ));
    }
    parts.join("; ")
}

fn write(dir: &Path, record: &MapRecord, args: &MapArgs) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?;
    haprepro::report::write_atomic(&dir.join("map.json"), &json)?;
    haprepro::report::write_atomic(&dir.join("map.md"), markdown(record, args).as_bytes())?;
    haprepro::report::write_atomic(&dir.join("map.html"), html(record).as_bytes())
}

fn markdown(r: &MapRecord, args: &MapArgs) -> String {
    let mut md = String::from("# haprepro map\n\n");
    for s in &r.strips {
        md.push_str(&format!("- **{}**: {}\n", s.case, s.answer));
    }
    md.push_str(&format!(
        "\nClones: {}. Versions, in HAProxy's order: {}.\n\nReproduce one version: `haprepro run {} --src {} --ref <tag>`{}.\n",
        r.clones.join(", "),
        r.versions.join(" "),
        args.scenarios.join(","),
        r.clones.first().map(String::as_str).unwrap_or("CLONE"),
        if args.explain { "" } else { "; bisect a boundary with `--explain`" }
    ));
    for s in &r.strips {
        md.push_str(&format!(
            "\n## {}\n\n| version | outcome |\n|---|---|\n",
            s.case
        ));
        for c in &s.cells {
            md.push_str(&format!("| {} | {} |\n", c.version, c.outcome));
        }
        for b in &s.boundaries {
            md.push_str(&format!(
                "\nBoundary {} ({}) → {} ({}){}: {}\n",
                b.from,
                b.before,
                b.to,
                b.after,
                if b.unmeasured_between.is_empty() {
                    String::new()
                } else {
                    format!(", unmeasured between: {}", b.unmeasured_between.join(" "))
                },
                match (&b.commit, &b.unexplained) {
                    (Some(c), _) => format!(
                        "{}: {} {:?} (bisect: {}){}",
                        c.kind,
                        c.hash,
                        c.subject,
                        c.bisect,
                        c.confirmation
                            .as_ref()
                            .map(|t| format!("; {t}"))
                            .unwrap_or_default()
                    ),
                    (None, Some(why)) => why.clone(),
                    (None, None) => String::new(),
                }
            ));
        }
    }
    md
}

fn html(r: &MapRecord) -> String {
    let colour = |o: &str| match o {
        "reproduced" => "#e05050",
        "not-reproduced" => "#50a050",
        "crashed" => "#9050c0",
        _ => "#d0b020",
    };
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut page = String::from(
        "<!doctype html><meta charset=utf-8><title>haprepro map</title>\
         <style>body{font:14px sans-serif;margin:2em}td{padding:4px 8px;color:#fff;\
         text-align:center}td.b{border-left:4px solid #000}</style><h1>haprepro map</h1>",
    );
    for s in &r.strips {
        page.push_str(&format!(
            "<h2>{}</h2><p>{}</p><table><tr>",
            esc(&s.case),
            esc(&s.answer)
        ));
        for c in &s.cells {
            let edge = s.boundaries.iter().any(|b| b.to == c.version);
            page.push_str(&format!(
                "<td{} style=\"background:{}\" title=\"{}\">{}</td>",
                if edge { " class=b" } else { "" },
                colour(&c.outcome),
                esc(&c.outcome),
                esc(&c.version)
            ));
        }
        page.push_str("</tr></table>");
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(list: &[(&str, &str)]) -> Vec<Cell> {
        list.iter()
            .map(|(v, o)| Cell {
                version: v.to_string(),
                outcome: o.to_string(),
                evidence: None,
            })
            .collect()
    }

    #[test]
    fn boundaries_skip_unmeasured_versions_and_the_answer_reads_as_one_line() {
        let c = cells(&[
            ("v3.0-dev0", "not-reproduced"),
            ("v3.0-dev1", "reproduced"),
            ("v3.0-dev2", "error"),
            ("v3.0-dev3", "reproduced"),
            ("v3.0-dev4", "not-reproduced"),
        ]);
        let b = boundaries(&c);
        assert_eq!(b.len(), 2);
        assert_eq!(
            (b[0].from.as_str(), b[0].to.as_str()),
            ("v3.0-dev0", "v3.0-dev1")
        );
        assert_eq!(
            (b[1].from.as_str(), b[1].to.as_str()),
            ("v3.0-dev3", "v3.0-dev4")
        );
        assert!(b[1].unmeasured_between.is_empty());
        let mut strip = Strip {
            case: "s".into(),
            cells: c,
            boundaries: b,
            answer: String::new(),
        };
        strip.boundaries[0].commit = Some(Explained {
            confirmed: None,
            confirmation: None,
            kind: "first bad".into(),
            hash: "64c9c8e0123456789".into(),
            subject: "BUG".into(),
            bisect: String::new(),
        });
        assert_eq!(
            answer(&strip),
            "not-reproduced from v3.0-dev0 to v3.0-dev0; reproduced from v3.0-dev1 (64c9c8e01234 \"BUG\") to v3.0-dev3; fixed in v3.0-dev4"
        );
        let c = cells(&[("a", "error"), ("v1", "reproduced"), ("v2", "reproduced")]);
        let strip = Strip {
            case: "s".into(),
            boundaries: boundaries(&c),
            cells: c,
            answer: String::new(),
        };
        assert_eq!(
            answer(&strip),
            "reproduced from v1 to v2 (no change in the set)"
        );
    }
}
