//! `show proc` on the master CLI: the master, its current workers, the old workers a reload
//! left finishing their connections, and programs.
//!
//! Versions differ: 2.2 prints a `<relative PID>` column that 2.5 and later dropped, 2.5 and
//! later print the master's reload count as `0 [failed: 0]` (a value with spaces), and where an
//! old worker is listed depends on the version (a `# old workers` section, or the `# workers`
//! section with a higher reload count than the new one). The parser reads the header for the
//! columns, takes the section a line is in, and keeps the reload count as its first number, so
//! a `reload` step can tell the new worker from the old ones by PID on every version.

use super::parse::ParseError;

const COMMAND: &str = "show proc";

/// Which section of `show proc` a process was listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcKind {
    Master,
    Worker,
    /// Listed under `# old workers`: left by a reload, finishing its connections.
    OldWorker,
    Program,
}

/// One line of `show proc`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Proc {
    pub pid: u32,
    pub kind: ProcKind,
    /// The `<type>` column as printed (`master`, `worker`).
    pub type_word: String,
    /// The reload count (its first number: `0 [failed: 0]` reads 0).
    pub reloads: u32,
    pub uptime: String,
    pub version: String,
}

/// The answer of `show proc`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProcList {
    pub procs: Vec<Proc>,
}

impl ProcList {
    /// Parses `show proc` output: a `#<PID>` header, then lines under `# <section>` marks.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((_, header)) = lines.next() else {
            return Err(ParseError::new(COMMAND, 1, "empty answer"));
        };
        if !header.starts_with("#<PID>") {
            return Err(ParseError::new(
                COMMAND,
                1,
                format!("expected the `#<PID>` header, found {header:?}"),
            ));
        }
        let relative_pid = header.contains("<relative PID>");
        let mut section = ProcKind::Master;
        let mut procs = Vec::new();
        for (i, line) in lines {
            if let Some(mark) = line.strip_prefix('#') {
                section = match mark.trim() {
                    "workers" => ProcKind::Worker,
                    "old workers" => ProcKind::OldWorker,
                    "programs" | "old programs" => ProcKind::Program,
                    other => {
                        return Err(ParseError::new(
                            COMMAND,
                            i + 1,
                            format!("unknown section {other:?}"),
                        ))
                    }
                };
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let bad = |what: &str| ParseError::new(COMMAND, i + 1, format!("{what} in {line:?}"));
            let pid = words
                .first()
                .and_then(|w| w.parse().ok())
                .ok_or_else(|| bad("no PID"))?;
            let type_word = words.get(1).ok_or_else(|| bad("no type"))?.to_string();
            let mut rest = words[2..].iter().copied().peekable();
            if relative_pid {
                // An old worker's reads `[was: 1]`.
                let first = rest.next().ok_or_else(|| bad("no relative PID"))?;
                if first.starts_with('[') && !first.ends_with(']') {
                    for w in rest.by_ref() {
                        if w.ends_with(']') {
                            break;
                        }
                    }
                }
            }
            let reloads = rest
                .next()
                .and_then(|w| w.parse().ok())
                .ok_or_else(|| bad("no reload count"))?;
            // `[failed: 0]` after the master's count.
            skip_bracket(&mut rest);
            let uptime = rest.next().ok_or_else(|| bad("no uptime"))?.to_string();
            let version = rest.next().map(|w| w.to_string()).unwrap_or_default();
            let kind = match (section, type_word.as_str()) {
                (_, "master") => ProcKind::Master,
                (ProcKind::Master, _) => ProcKind::Worker,
                (s, _) => s,
            };
            procs.push(Proc {
                pid,
                kind,
                type_word,
                reloads,
                uptime,
                version,
            });
        }
        if !procs.iter().any(|p| p.kind == ProcKind::Master) {
            return Err(ParseError::new(COMMAND, 2, "no master line"));
        }
        Ok(Self { procs })
    }

    /// The workers listed as current (under `# workers`).
    pub fn workers(&self) -> impl Iterator<Item = &Proc> {
        self.procs.iter().filter(|p| p.kind == ProcKind::Worker)
    }

    /// Every worker, current or old.
    pub fn all_workers(&self) -> impl Iterator<Item = &Proc> {
        self.procs
            .iter()
            .filter(|p| matches!(p.kind, ProcKind::Worker | ProcKind::OldWorker))
    }

    pub fn master(&self) -> Option<&Proc> {
        self.procs.iter().find(|p| p.kind == ProcKind::Master)
    }
}

/// Skips a bracketed value's words (`[was:`, `1]`) when the next word opens one.
fn skip_bracket<'a>(words: &mut std::iter::Peekable<impl Iterator<Item = &'a str>>) {
    let Some(first) = words.peek() else {
        return;
    };
    if !first.starts_with('[') {
        return;
    }
    for w in words.by_ref() {
        if w.ends_with(']') {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::haproxy::fixtures;

    #[test]
    fn every_version_lists_its_master_and_one_worker_at_start() {
        for dir in fixtures::dirs() {
            let list = ProcList::parse(&fixtures::read(dir, "master-show-proc"))
                .unwrap_or_else(|e| panic!("{dir}: {e}"));
            let master = list.master().unwrap();
            assert_eq!(master.pid, 1, "{dir}");
            assert_eq!(master.reloads, 0, "{dir}");
            let workers: Vec<_> = list.workers().collect();
            assert_eq!(workers.len(), 1, "{dir}: {list:?}");
            assert!(workers[0].pid > 1, "{dir}");
            assert!(workers[0].version.starts_with(dir), "{dir}: {workers:?}");
            assert!(workers[0].uptime.starts_with("0d"), "{dir}");
        }
    }

    #[test]
    fn after_a_reload_every_version_lists_the_new_worker_and_the_old_one_as_old() {
        for dir in fixtures::dirs() {
            let text = fixtures::read(dir, "master-show-proc-after-reload");
            let list = ProcList::parse(&text).unwrap_or_else(|e| panic!("{dir}: {e}"));
            assert_eq!(list.master().unwrap().reloads, 1, "{dir}");
            let current: Vec<u32> = list.workers().map(|p| p.pid).collect();
            let old: Vec<&Proc> = list
                .procs
                .iter()
                .filter(|p| p.kind == ProcKind::OldWorker)
                .collect();
            assert_eq!(current, vec![12], "{dir}: {list:?}");
            assert_eq!(old.len(), 1, "{dir}: {list:?}");
            assert!(old[0].pid < 12 && old[0].reloads == 1, "{dir}: {old:?}");
            assert_eq!(list.all_workers().count(), 2, "{dir}");
            assert!(old[0].version.starts_with(dir), "{dir}: {old:?}");
        }
    }

    #[test]
    fn bad_answers_are_errors_not_empty_lists() {
        assert!(ProcList::parse("").is_err());
        assert!(ProcList::parse("Unknown command.\n").is_err());
        assert!(ProcList::parse("#<PID> <type> <reloads>\nx master 0 0d\n").is_err());
        assert!(
            ProcList::parse("#<PID> <type> <reloads> <uptime>\n# workers\n12 worker 0 0d\n")
                .is_err()
        );
    }
}
