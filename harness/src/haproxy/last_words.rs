//! HAProxy's last words: what it prints when it dies, read from the end of its output.
//!
//! HAProxy announces its own deaths: a `BUG_ON()` or `ABORT_NOW()` prints `FATAL: bug condition
//! "..." matched at src/file.c:123` (2.4 and later), the watchdog prints a thread dump (`Thread
//! N is about to kill the process`), and both add a `call trace(N):` of `| 0x... [..]:
//! symbol+0x..` lines on Linux builds. A plain segfault prints nothing of its own; in
//! master-worker mode the master says `Current worker (N) exited with code 139 (Segmentation
//! fault)`. The parser keeps what it recognises and never fails: an unknown death still has
//! its exit code and its last lines.

use serde::{Deserialize, Serialize};

/// What the dying output says, as far as it is recognised.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastWords {
    /// The condition of a `BUG_ON()` (or the text of an `ABORT_NOW()`), as printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// `src/file.c:123`, where the condition matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The watchdog (or a `debug dev panic`) killed the process after a thread dump.
    #[serde(default)]
    pub panic: bool,
    /// The frames of the first `call trace`, as printed (`main+0x1a2/0x3c0`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub call_trace: Vec<String>,
    /// A line naming the fatal signal, by HAProxy's master or a shell (`Segmentation fault`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_line: Option<String>,
}

/// Frames that are HAProxy's crash machinery, not where the crash came from.
const MACHINERY: &[&str] = &[
    "ha_backtrace_to_stderr",
    "ha_dump_backtrace",
    "ha_panic",
    "ha_thread_dump",
    "ha_thread_dump_one",
    "ha_thread_dump_fill",
    "ha_thread_dump_all_to_trash",
    "ha_stuck_warning",
    "ha_crash_now",
    "debug_handler",
    "wdt_handler",
    "abort",
    "raise",
    "__pthread_kill",
    "pthread_kill",
    "gsignal",
    "__restore_rt",
    "__abort_",
    "complain",
];

impl LastWords {
    /// Reads HAProxy's output (the whole of it, or its end).
    pub fn parse(output: &str) -> LastWords {
        let mut words = LastWords::default();
        let mut in_trace = false;
        let mut traces = 0;
        for line in output.lines() {
            let line = strip_timestamp(line);
            if let Some((condition, location)) = bug_condition(line) {
                if words.condition.is_none() {
                    words.condition = Some(condition);
                    words.location = location;
                }
            }
            if line.contains("is about to kill the process") {
                words.panic = true;
            }
            if line.contains("call trace(") {
                traces += 1;
                in_trace = traces == 1 && words.call_trace.is_empty();
                continue;
            }
            if in_trace {
                match frame(line) {
                    Some(f) => {
                        words.call_trace.push(f);
                        continue;
                    }
                    None => in_trace = false,
                }
            }
            if words.signal_line.is_none() && names_a_fatal_signal(line) {
                words.signal_line = Some(without_log_prefix(line).to_string());
            }
        }
        words
    }

    /// The first frame that is not HAProxy's crash machinery: where to start reading. A frame
    /// whose symbol HAProxy resolved with its size (`cli_io_handler+0x443/0x7aa`) is preferred
    /// to a bare offset from the nearest exported one (`main+0xdd458`, a static function).
    pub fn first_frame(&self) -> Option<&str> {
        let ours = |f: &&String| {
            let symbol = f.split('+').next().unwrap_or(f);
            !MACHINERY.iter().any(|m| symbol.starts_with(m))
        };
        self.call_trace
            .iter()
            .filter(ours)
            .find(|f| f.contains('/'))
            .or_else(|| self.call_trace.iter().find(ours))
            .or(self.call_trace.first())
            .map(String::as_str)
    }

    /// One line for a matrix cell or a timeline mark: the condition and where, the panic and
    /// its first frame, or the signal line.
    pub fn headline(&self) -> Option<String> {
        if let Some(condition) = &self.condition {
            return Some(match &self.location {
                Some(at) => format!("BUG_ON({condition}) at {at}"),
                None => format!("BUG_ON({condition})"),
            });
        }
        if self.panic {
            return Some(match self.first_frame() {
                Some(f) => format!("watchdog panic in {f}"),
                None => "watchdog panic".to_string(),
            });
        }
        if let Some(f) = self.first_frame() {
            return Some(format!("crashed in {f}"));
        }
        self.signal_line.clone()
    }

    /// Whether the output alone shows a crash (not a plain exit).
    pub fn shows_crash(&self) -> bool {
        self.condition.is_some()
            || self.panic
            || !self.call_trace.is_empty()
            || self.signal_line.is_some()
    }
}

/// `[ALERT]    (1) : Current worker ...` without its level and pid.
fn without_log_prefix(line: &str) -> &str {
    let line = line.trim();
    match line.split_once(") : ") {
        Some((prefix, rest)) if prefix.starts_with('[') => rest,
        _ => line,
    }
}

/// Docker's `--timestamps` prefix, when the output was read with it.
fn strip_timestamp(line: &str) -> &str {
    match line.split_once(' ') {
        Some((stamp, rest))
            if stamp.len() >= 20 && stamp.as_bytes()[4] == b'-' && stamp.contains('T') =>
        {
            rest
        }
        _ => line,
    }
}

/// `FATAL: bug condition "p->x == NULL" matched at src/cli.c:123` (with an optional message
/// after it on newer versions).
fn bug_condition(line: &str) -> Option<(String, Option<String>)> {
    let at = line.find("bug condition \"")?;
    let rest = &line[at + "bug condition \"".len()..];
    let (condition, location) = match rest.rfind("\" matched at ") {
        Some(end) => {
            let location = rest[end + "\" matched at ".len()..]
                .split_whitespace()
                .next()
                .map(|l| l.trim_end_matches([',', ':', '.']).to_string());
            (rest[..end].to_string(), location)
        }
        None => (rest.trim_end_matches('"').to_string(), None),
    };
    Some((condition, location))
}

/// A line of a `call trace`: `| 0x55d1c2a3 [48 8b 45 f8]: main+0x1a2/0x3c0`, or its older form
/// without the bytes. The symbol part, or the address when the build has no symbols.
fn frame(line: &str) -> Option<String> {
    let t = line.trim_start();
    let t = t.strip_prefix('|').unwrap_or(t).trim_start();
    if !t.starts_with("0x") {
        return None;
    }
    let address = t.split_whitespace().next().unwrap_or(t);
    match t.rsplit_once("]: ").or_else(|| t.split_once(": ")) {
        Some((_, symbol)) if !symbol.trim().is_empty() => Some(symbol.trim().to_string()),
        _ => Some(address.trim_end_matches(':').to_string()),
    }
}

fn names_a_fatal_signal(line: &str) -> bool {
    const TEXTS: &[&str] = &[
        "Segmentation fault",
        "Aborted",
        "Illegal instruction",
        "Bus error",
        "Floating point exception",
        "Trace/breakpoint trap",
    ];
    TEXTS.iter().any(|t| line.contains(t))
}

/// A signal's name from its number, for the signals that end a process.
pub fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        31 => "SIGSYS",
        _ => return None,
    })
}

/// The signal a container's exit code says killed its main process (the shell convention,
/// 128 + N, which Docker follows), if any.
pub fn signal_of_exit_code(code: i64) -> Option<i32> {
    (129..=128 + 64)
        .contains(&code)
        .then(|| (code - 128) as i32)
}

/// Signals that mean a crash, not a stop asked for: a fault, an abort, a trap.
pub fn is_crash_signal(signal: i32) -> bool {
    matches!(signal, 4 | 5 | 6 | 7 | 8 | 11 | 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bug_on_gives_its_condition_location_and_first_frame() {
        let out = "[NOTICE]   (1) : haproxy version is 3.0.11\n\
            \n\
            FATAL: bug condition \"strcmp(args[1], \"crash\") == 0\" matched at src/cli.c:1234\n\
              call trace(12):\n\
              | 0x55c0a1b2c3d4 [48 8d 35 ee 3a 2d 00]: ha_backtrace_to_stderr+0x3d/0x81\n\
              | 0x55c0a1b2c400 [0f 0b 66 2e 0f 1f 84]: cli_parse_echo+0x21/0x80\n\
              | 0x55c0a1b2c500 [85 c0 0f 85 a1 00 00]: cli_io_handler+0x4a3/0x1400\n\
            [ALERT]    (1) : Current worker (8) exited with code 132 (Illegal instruction)\n";
        let w = LastWords::parse(out);
        assert_eq!(
            w.condition.as_deref(),
            Some("strcmp(args[1], \"crash\") == 0")
        );
        assert_eq!(w.location.as_deref(), Some("src/cli.c:1234"));
        assert_eq!(w.call_trace.len(), 3);
        assert_eq!(w.first_frame(), Some("cli_parse_echo+0x21/0x80"));
        assert_eq!(
            w.headline().unwrap(),
            "BUG_ON(strcmp(args[1], \"crash\") == 0) at src/cli.c:1234"
        );
        assert!(w.signal_line.unwrap().contains("Illegal instruction"));
    }

    #[test]
    fn a_segfault_seen_by_the_master_is_its_signal_line() {
        let out = "[NOTICE]   (1) : Loading success.\n\
            [ALERT]    (1) : Current worker (8) exited with code 139 (Segmentation fault)\n\
            [ALERT]    (1) : exit-on-failure: killing every processes with SIGTERM\n";
        let w = LastWords::parse(out);
        assert!(w.shows_crash());
        assert_eq!(
            w.headline().unwrap(),
            "Current worker (8) exited with code 139 (Segmentation fault)"
        );
    }

    #[test]
    fn a_watchdog_panic_names_the_first_frame_that_is_not_the_dump() {
        let out = "Thread 1 is about to kill the process.\n\
            *>Thread 1 : id=0x7f stuck=1 prof=0 harmless=0 isolated=0\n\
                         call trace(9):\n\
                         | 0x5612 [eb fe 90 90]: ha_panic+0x10/0x20\n\
                         | 0x5613 [eb fe 90 90]: debug_handler+0x10/0x20\n\
                         | 0x5614 [eb fe 90 90]: process_stream+0x10/0x20\n";
        let w = LastWords::parse(out);
        assert!(w.panic);
        assert_eq!(
            w.headline().unwrap(),
            "watchdog panic in process_stream+0x10/0x20"
        );
    }

    #[test]
    fn a_quiet_exit_shows_no_crash() {
        let w = LastWords::parse("[NOTICE]   (1) : haproxy version is 3.0.11\nbye\n");
        assert!(!w.shows_crash());
        assert_eq!(w.headline(), None);
    }

    /// Real output of 3.0.11 (the test repository's commit with a `BUG_ON()` in `show
    /// version`, and Debian's build whose worker got SIGSEGV), as Docker kept it.
    #[test]
    fn real_deaths_of_3_0_11() {
        let w = LastWords::parse(&crate::haproxy::fixtures::read("3.0.11", "crash-bug-on"));
        assert_eq!(
            w.condition.as_deref(),
            Some("strcmp(args[2], \"crash\") == 0")
        );
        assert_eq!(w.location.as_deref(), Some("src/cli.c:1895"));
        assert_eq!(w.call_trace.len(), 9, "{w:?}");
        assert_eq!(w.first_frame(), Some("cli_io_handler+0x443/0x7aa"));
        let w = LastWords::parse(&crate::haproxy::fixtures::read(
            "3.0.11",
            "crash-worker-segv",
        ));
        assert_eq!(
            w.headline().as_deref(),
            Some("Current worker (8) exited with code 139 (Segmentation fault)")
        );
        assert!(w.condition.is_none() && !w.panic);
    }

    #[test]
    fn exit_codes_name_signals() {
        assert_eq!(signal_of_exit_code(139), Some(11));
        assert_eq!(signal_of_exit_code(1), None);
        assert_eq!(signal_of_exit_code(128), None);
        assert_eq!(signal_name(11), Some("SIGSEGV"));
        assert!(is_crash_signal(6) && !is_crash_signal(15));
    }
}
