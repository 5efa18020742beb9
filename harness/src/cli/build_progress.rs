//! How a source build shows on the terminal: a spinner with the current stage and compile
//! count on a terminal; elsewhere (CI logs, pipes) a plain line per stage, so a long build is
//! never silent and never floods the log with one line per compiled file.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use haprepro::images::BuildEvent;
use indicatif::{ProgressBar, ProgressStyle};

/// Draws [`BuildEvent`]s on stderr.
pub struct BuildProgress {
    terminal: bool,
    bar: Mutex<Option<ProgressBar>>,
    last: Mutex<String>,
}

impl BuildProgress {
    pub fn new() -> BuildProgress {
        BuildProgress {
            terminal: std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
            last: Mutex::new(String::new()),
        }
    }

    pub fn event(&self, event: BuildEvent) {
        let line = format!("{}: {}: {}", event.suite, event.step, event.detail);
        // Compile progress ("make: 12 file(s) compiled") and mmdebstrap's chatter only update
        // the spinner.
        let is_tick = (event.step == "build" && event.detail.starts_with("make:"))
            || (event.step == "rootfs" && !event.detail.starts_with("mmdebstrap"));
        let ends = matches!(event.step.as_str(), "done" | "cached");
        if !self.terminal {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            if !is_tick && *last != line {
                eprintln!("{line}");
                *last = line;
            }
            return;
        }
        let mut bar = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        let current = bar.get_or_insert_with(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed:>3}] {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        if !is_tick {
            current.println(&line);
        }
        current.set_message(line);
        if ends {
            current.finish_and_clear();
            *bar = None;
        }
    }

    /// Clears the spinner (after an error, so the message is not drawn over).
    pub fn finish(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish_and_clear();
        }
    }
}
