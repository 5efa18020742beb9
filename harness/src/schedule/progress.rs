//! The terminal display of a run of jobs.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::report::{self, CaseRecord};
use crate::scenario::Verdict;

/// The terminal display: on a terminal, one spinner line per running case (its current step)
/// above an overall bar; elsewhere (CI logs, pipes) a plain line as each case starts and ends.
pub(super) struct Progress {
    multi: Option<MultiProgress>,
    overall: Option<ProgressBar>,
}

impl Progress {
    pub(super) fn new(total: usize) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress {
                multi: None,
                overall: None,
            };
        }
        let multi = MultiProgress::new();
        let overall = multi.add(ProgressBar::new(total as u64));
        overall.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} case(s) done, {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        overall.enable_steady_tick(Duration::from_millis(200));
        Progress {
            multi: Some(multi),
            overall: Some(overall),
        }
    }

    pub(super) fn start(&self, label: &str) -> Option<ProgressBar> {
        match (&self.multi, &self.overall) {
            (Some(multi), Some(overall)) => {
                let bar = multi.insert_before(overall, ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:<40} {elapsed:>4} {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(label.to_string());
                bar.set_message("setup");
                bar.enable_steady_tick(Duration::from_millis(120));
                Some(bar)
            }
            _ => {
                eprintln!("start  {label}");
                None
            }
        }
    }

    pub(super) fn step(&self, bar: &Option<ProgressBar>, _label: &str, step: &report::StepRecord) {
        if let Some(bar) = bar {
            bar.set_message(format!(
                "#{} {} {}",
                step.index,
                if step.ok { "ok" } else { "ERR" },
                step.action
            ));
        }
    }

    pub(super) fn done(&self, bar: &Option<ProgressBar>, label: &str, r: &CaseRecord) {
        if r.harness_error.is_some() {
            // The run stops and says why once, for all cases.
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            return;
        }
        let line = format!(
            "{:<8} {label:<40} measured {:<15} {:>5.1}s  {}",
            r.verdict.to_string(),
            r.outcome.to_string(),
            r.wall_ms as f64 / 1000.0,
            if r.verdict == Verdict::Pass {
                String::new()
            } else {
                format!("{} ({})", r.reason, r.evidence_dir.display())
            }
        );
        if let Some(bar) = bar {
            bar.finish_and_clear();
            if let Some(multi) = &self.multi {
                multi.remove(bar);
            }
        }
        if let Some(overall) = &self.overall {
            overall.inc(1);
        }
        self.line(line);
    }

    pub(super) fn line(&self, line: String) {
        match &self.multi {
            Some(multi) => {
                if multi.println(&line).is_err() {
                    eprintln!("{line}");
                }
            }
            None => eprintln!("{line}"),
        }
    }

    pub(super) fn finish(&self) {
        if let Some(overall) = &self.overall {
            overall.finish_and_clear();
        }
    }
}
