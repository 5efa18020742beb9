//! What a commit bisection leaves in `results/<run>/`: `bisect.json` (every step, the plan and
//! the answer) and `bisect.md` (the same for a person, with links to each step's evidence,
//! relative to the file).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::images::source::git::Commit;
use crate::scenario::Outcome;

/// One candidate built and run.
#[derive(Debug, Clone, Serialize)]
pub struct BisectStep {
    /// 1-based, in the order run.
    pub step: usize,
    /// 1: the tag stage; 2: the commits.
    pub stage: usize,
    /// Its index among the candidates (0 is the old end).
    pub candidate: usize,
    pub commit: String,
    pub subject: String,
    pub tags: Vec<String>,
    pub build: StepBuild,
    pub outcome: Outcome,
    pub reason: String,
    /// How HAProxy died, when it did: the signal and the condition or first frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crash: Option<String>,
    /// The version `haproxy -v` printed, when the build gave an image.
    pub version: Option<String>,
    /// The case's evidence folder, when the case ran.
    pub evidence: Option<PathBuf>,
    /// The case's own wall time (not the build's).
    pub run_ms: u64,
}

/// How a step's image was obtained.
#[derive(Debug, Clone, Serialize)]
pub struct StepBuild {
    /// The image existed with the same cache key: no build.
    pub cached: bool,
    pub ms: u64,
    pub image: Option<String>,
    pub log: Option<PathBuf>,
    /// Why there is no image (the build failed): the step is skipped.
    pub error: Option<String>,
}

/// The answer: the first commit whose outcome differs from the old end's.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    /// `first bad` (a regression) or `first fixed` (`--fixed`).
    pub kind: String,
    pub commit: Commit,
    /// The last commit known to behave like the old end.
    pub last_same: Commit,
    /// Commits between the two that could not be measured: the change may be at any of them.
    pub untested: Vec<Commit>,
}

/// The plan of a bisection, for the record.
#[derive(Debug, Clone, Serialize)]
pub struct PlanRecord {
    pub candidates: usize,
    pub tags_between: usize,
    pub stages: usize,
    pub one_stage_worst_builds: usize,
    pub two_stage_worst_builds: Option<usize>,
}

/// `bisect.json`.
#[derive(Debug, Clone, Serialize)]
pub struct BisectRecord {
    pub run_id: String,
    pub scenario: String,
    pub variant: Option<String>,
    pub source: String,
    pub old: String,
    pub new: String,
    pub fixed: bool,
    pub repeat: u32,
    pub plan: PlanRecord,
    pub steps: Vec<BisectStep>,
    pub answer: Option<Answer>,
    /// Why there is no answer.
    pub error: Option<String>,
    pub builds: usize,
    pub runs: usize,
    pub wall_ms: u64,
}

/// Writes `bisect.json` and `bisect.md` into `dir`.
pub fn write(dir: &Path, record: &BisectRecord) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(record).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("bisect.json"), json)?;
    std::fs::write(dir.join("bisect.md"), markdown(dir, record))
}

fn short(hash: &str) -> &str {
    &hash[..12.min(hash.len())]
}

/// `bisect.md`: the answer, then a table of every step.
pub fn markdown(dir: &Path, r: &BisectRecord) -> String {
    let mut md = format!(
        "# bisect {}{} over {}\n\n{} `{}` ({}) .. `{}` ({}), {} candidate(s), {} stage(s); {} build(s), {} run(s), {:.0}s.\n\n",
        r.scenario,
        r.variant
            .as_deref()
            .map(|v| format!("/{v}"))
            .unwrap_or_default(),
        r.source,
        if r.fixed { "Fix search" } else { "Regression search" },
        r.old,
        if r.fixed { "reproduces" } else { "does not reproduce" },
        r.new,
        if r.fixed { "does not" } else { "reproduces" },
        r.plan.candidates,
        r.plan.stages,
        r.builds,
        r.runs,
        r.wall_ms as f64 / 1000.0
    );
    match (&r.answer, &r.error) {
        (Some(a), _) => {
            md.push_str(&format!(
                "**{}: `{}` {}**  \n(the one before, `{}` {}, still behaves like `{}`)\n\n",
                a.kind,
                a.commit.hash,
                a.commit.subject,
                short(&a.last_same.hash),
                a.last_same.subject,
                r.old
            ));
            if !a.untested.is_empty() {
                md.push_str("Not exact: these commits in between could not be measured, the change may be at any of them:\n\n");
                for c in &a.untested {
                    md.push_str(&format!("- `{}` {}\n", short(&c.hash), c.subject));
                }
                md.push('\n');
            }
        }
        (None, Some(e)) => md.push_str(&format!("**No answer**: {e}\n\n")),
        (None, None) => {}
    }
    md.push_str("| step | stage | commit | subject | build | HAProxy | outcome | evidence |\n|---|---|---|---|---|---|---|---|\n");
    for s in &r.steps {
        let build = match (&s.build.error, s.build.cached) {
            (Some(_), _) => "failed".to_string(),
            (None, true) => "cached".to_string(),
            (None, false) => format!("{:.1}s", s.build.ms as f64 / 1000.0),
        };
        let evidence = match (&s.evidence, &s.build.log) {
            (Some(e), _) => {
                let rel = e.strip_prefix(dir).unwrap_or(e);
                format!("[{}]({})", rel.display(), rel.display())
            }
            (None, Some(log)) => format!("build log `{}`", log.display()),
            (None, None) => "-".into(),
        };
        md.push_str(&format!(
            "| {} | {} | `{}`{} | {} | {} | {} | {} | {} |\n",
            s.step,
            s.stage,
            short(&s.commit),
            if s.tags.is_empty() {
                String::new()
            } else {
                format!(" ({})", s.tags.join(", "))
            },
            s.subject.replace('|', "\\|"),
            build,
            s.version.as_deref().unwrap_or("-"),
            match &s.crash {
                Some(c) => format!("{} ({})", s.outcome, c.replace('|', "\\|")),
                None => s.outcome.to_string(),
            },
            evidence
        ));
    }
    md
}
