//! What a case keeps when HAProxy died: its last words (`crash.txt`), its core and a backtrace
//! where they can be had, and `crash.md`, a report a maintainer can paste into a HAProxy issue.
//!
//! Nothing here can fail the case: a missing core, no `gdb`, no symbols are each said in the
//! record of the exit, in words, because the crash itself is the result.

use std::fmt::Write as _;
use std::path::Path;

use crate::report::{CaseRecord, HaproxyExit};

use crate::scenario::case::CaseState;

/// How far after a step's start Docker's time of an exit may still be the step before's.
const BOUNDARY_MS: u64 = 50;

/// Signals whose default action dumps a core.
const CORE_SIGNALS: &[i32] = &[3, 4, 5, 6, 7, 8, 11, 24, 25, 31];

/// The evidence file of an exit's last words: `crash.txt`, or `crash-<instance>.txt` when the
/// case has several instances.
pub(crate) fn crash_file(state: &CaseState<'_>, instance: &str) -> String {
    if state.live.instances.len() > 1 {
        format!("crash-{instance}.txt")
    } else {
        "crash.txt".into()
    }
}

/// How each HAProxy of the case ended: the watchers settle (a death seen by the API but not
/// yet by Docker), each exit is placed in time among the steps, and a dead one's last words
/// and core are kept.
pub(crate) async fn exits(state: &mut CaseState<'_>, record: &CaseRecord) -> Vec<HaproxyExit> {
    let apis: Vec<(String, crate::haproxy::RuntimeApi)> = state
        .live
        .instances
        .iter()
        .filter(|i| i.container.is_some())
        .map(|i| (i.name.clone(), i.api.clone()))
        .collect();
    state.live.watch.settle(&apis).await;
    let mut exits = state.live.watch.stop();
    place_in_time(&mut exits, record);
    keep_last_words(state, &mut exits).await;
    exits
}

/// Places each exit at Docker's own time of it and names the step running then: the harness
/// may learn of a death a step later (the step that found the runtime API gone), but the case
/// is about the step that killed it.
fn place_in_time(exits: &mut [HaproxyExit], record: &CaseRecord) {
    for exit in exits.iter_mut() {
        let Some(at) = exit
            .finished_at
            .as_deref()
            .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
        else {
            continue;
        };
        let Ok(since_epoch) = at.duration_since(std::time::UNIX_EPOCH) else {
            continue;
        };
        let Some(at_ms) = (since_epoch.as_millis() as u64).checked_sub(record.started_unix_ms)
        else {
            continue;
        };
        exit.at_ms = at_ms;
        let Some(pos) = record
            .steps
            .iter()
            .rposition(|s| s.at_ms <= at_ms && s.index > 0)
        else {
            continue;
        };
        let step = &record.steps[pos];
        let previous = record.steps[..pos].last().filter(|p| p.index > 0);
        // Docker stamps the exit a few milliseconds after the death: one that close to a
        // step's start may belong to the step before.
        exit.during = match previous {
            Some(p) if at_ms - step.at_ms < BOUNDARY_MS => format!(
                "the end of step {} ({}) or the start of step {} ({})",
                p.index, p.action, step.index, step.action
            ),
            _ => format!("step {} ({})", step.index, step.action),
        };
    }
}

/// Keeps each death's output as `crash.txt` and its core (moved from the instance's shared
/// folder, where the kernel wrote it) as `core-<instance>`, then a backtrace from the core.
async fn keep_last_words(state: &mut CaseState<'_>, exits: &mut [HaproxyExit]) {
    for exit in exits.iter_mut().filter(|e| e.is_crash()) {
        let file = crash_file(state, &exit.instance);
        let mut text = format!(
            "# {} ({}) during {}, {} ms into the case\n",
            exit.instance,
            exit.how(),
            exit.during,
            exit.at_ms
        );
        for line in &exit.last_lines {
            text.push_str(line);
            text.push('\n');
        }
        state.write_evidence(&file, text);
        let Some(instance) = state
            .live
            .instances
            .iter()
            .find(|i| i.name == exit.instance)
        else {
            continue;
        };
        let sock_dir = instance.sock_dir.clone();
        let core_name = format!("core-{}", exit.instance);
        // Instance names are plain (checked at load); never a path out of the folder.
        if let Err(e) = crate::scenario::contain::evidence_file_name(&core_name) {
            exit.core = Some(format!("no core kept: {e}"));
            continue;
        }
        let dest = state.evidence_dir.join(&core_name);
        let signal = exit.signal;
        let found = tokio::task::spawn_blocking(move || move_core(&sock_dir, &dest))
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
        exit.core = Some(match found {
            Ok(Some(size)) => {
                state.kept.evidence.push(core_name.clone());
                format!("{core_name} ({:.1} MB)", size as f64 / 1e6)
            }
            Ok(None) => no_core_reason(signal),
            Err(e) => format!("no core kept: {e}"),
        });
        exit.backtrace = Some(
            if exit.core.as_deref().is_some_and(|c| c.starts_with("core-")) {
                super::backtrace::from_core(state, exit, &core_name).await
            } else {
                "no backtrace: no core".into()
            },
        );
    }
}

/// Moves the first `core*` file of the instance's shared folder into the evidence folder.
fn move_core(sock_dir: &Path, dest: &Path) -> Result<Option<u64>, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let entries = std::fs::read_dir(sock_dir).map_err(|e| e.to_string())?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with("core") {
            continue;
        }
        // Never follow a link the container may have planted: opened as what it is now
        // (`O_NOFOLLOW`), then copied from that handle only if it is a regular file.
        let Ok(mut core) = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(entry.path())
        else {
            continue;
        };
        let meta = core.metadata().map_err(|e| e.to_string())?;
        if !meta.file_type().is_file() {
            continue;
        }
        let mut out = std::fs::File::create(dest).map_err(|e| format!("copy core: {e}"))?;
        std::io::copy(&mut core, &mut out).map_err(|e| format!("copy core: {e}"))?;
        let _ = std::fs::remove_file(entry.path());
        return Ok(Some(meta.len()));
    }
    Ok(None)
}

/// Why no core was found, as far as the host can tell.
fn no_core_reason(signal: Option<i32>) -> String {
    if let Some(sig) = signal {
        if !CORE_SIGNALS.contains(&sig) {
            return format!("no core: signal {sig} does not dump one");
        }
    }
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    let pattern = pattern.trim();
    if let Some(program) = pattern.strip_prefix('|') {
        format!(
            "no core: the host's kernel.core_pattern pipes cores to another program ({program}); \
             set it to a plain file name (`sysctl kernel.core_pattern=core`) to keep them"
        )
    } else if pattern.contains('/') {
        format!(
            "no core: the host's kernel.core_pattern writes to {pattern}, outside the container's \
             working directory; set it to a plain file name (`sysctl kernel.core_pattern=core`)"
        )
    } else {
        "no core was written (HAProxy may have made itself non-dumpable: `set-dumpable` in its \
         global section keeps it dumpable after a setuid)"
            .into()
    }
}

/// Writes `crash.md`: what a HAProxy issue asks for, in its order.
pub(crate) async fn write_report(state: &mut CaseState<'_>, record: &CaseRecord) {
    let Some(exit) = record.haproxy_exit.iter().find(|e| e.is_crash()) else {
        return;
    };
    let engine = state.live.sandbox.engine().clone();
    let image = state.image.to_run();
    // A source build's `haproxy -vv` was kept beside its binary when it was built.
    let kept_vv = state
        .image
        .binary
        .as_ref()
        .and_then(|b| b.parent())
        .and_then(crate::images::source::binary_cache::read)
        .and_then(|c| c.vv());
    let vv = match kept_vv {
        Some(vv) => vv,
        None => match engine
            .run_once(image, &["haproxy", "-vv"], Default::default())
            .await
        {
            Ok((_, out)) => out,
            Err(e) => format!("(haproxy -vv could not be run: {e})"),
        },
    };
    let labels = state.image.labels(&engine).await;
    let mut md = String::new();
    let _ = writeln!(md, "# HAProxy crash: {}\n", exit.headline());
    let _ = writeln!(
        md,
        "Reproduced by haprepro, scenario `{}`{} on HAProxy {} ({}). {} ({}) during {}, {} ms into the case.\n",
        record.scenario,
        record
            .variant
            .as_ref()
            .map(|v| format!(", variant `{v}`"))
            .unwrap_or_default(),
        record.version,
        record.image_source,
        exit.instance,
        exit.how(),
        exit.during,
        exit.at_ms
    );
    let _ = writeln!(
        md,
        "## Reproduce\n\n```sh\n{}\n```\n",
        command(record, &labels)
    );
    let _ = writeln!(
        md,
        "## Output of `haproxy -vv`\n\n```\n{}\n```\n",
        vv.trim_end()
    );
    let config_file = super::setup::config_file(state.live.instances.len(), &exit.instance);
    let config = std::fs::read_to_string(state.evidence_dir.join(&config_file))
        .unwrap_or_else(|e| format!("({config_file} not kept: {e})"));
    let _ = writeln!(md, "## Configuration\n\n```\n{}\n```\n", config.trim_end());
    let _ = writeln!(md, "## Steps up to the crash\n");
    for step in &record.steps {
        let _ = writeln!(
            md,
            "{}. `{}` at {} ms: {}{}",
            step.index,
            step.action,
            step.at_ms,
            if step.ok { "" } else { "**failed**: " },
            step.detail
        );
    }
    let words = &exit.last_words;
    let _ = writeln!(md, "\n## What HAProxy said\n");
    if let Some(c) = &words.condition {
        let _ = writeln!(
            md,
            "Condition: `{c}` at `{}`\n",
            words.location.as_deref().unwrap_or("?")
        );
    }
    let _ = writeln!(md, "```\n{}\n```\n", exit.last_lines.join("\n"));
    let _ = writeln!(md, "## Backtrace\n");
    let backtrace = exit.backtrace.clone().unwrap_or_default();
    match std::fs::read_to_string(state.evidence_dir.join(&backtrace)) {
        Ok(text) => {
            let _ = writeln!(md, "```\n{}\n```", text.trim_end());
        }
        Err(_) if !words.call_trace.is_empty() => {
            let _ = writeln!(
                md,
                "HAProxy's own call trace (no core backtrace: {backtrace}):\n\n```\n{}\n```",
                words.call_trace.join("\n")
            );
        }
        Err(_) => {
            let _ = writeln!(md, "{backtrace}");
        }
    }
    if let Some(core) = &exit.core {
        let _ = writeln!(md, "\nCore: {core}.");
    }
    state.write_evidence("crash.md", md);
}

/// The one command that runs this case again.
fn command(record: &CaseRecord, labels: &std::collections::HashMap<String, String>) -> String {
    let variant = record
        .variant
        .as_ref()
        .map(|v| format!(" --variant {v}"))
        .unwrap_or_default();
    let source = match labels.get("haprepro.src.commit") {
        Some(commit) => format!("--src HAPROXY_CLONE --ref {commit}"),
        None if record.image.starts_with("haprepro/haproxy:")
            && !record.image.contains(":src-") =>
        {
            format!(
                "--version {}",
                crate::images::short_version(&record.version)
            )
        }
        None => format!("--image {}", record.image),
    };
    format!("haprepro run {}{variant} {source}", record.scenario)
}
