//! Starting a HAProxy instance and waiting until it is ready: the setup's and the `start`
//! step's shared code.

use std::time::{Duration, Instant};

use crate::scenario::problem::{problem, Problem};
use crate::scenario::record::Recorded;
use crate::scenario::words::POLL;

use super::state::{CaseState, Instance};

/// Starts an instance declared with `start = "step"`; its failure to become ready is recorded,
/// not raised: for some scenarios it is the symptom.
pub(crate) async fn start_instance(
    state: &mut CaseState<'_>,
    name: &str,
    within: Duration,
) -> Result<String, Problem> {
    let index = state
        .live
        .instances
        .iter()
        .position(|i| i.name == name)
        .ok_or_else(|| format!("no instance {name:?}"))?;
    let spec = state.live.instances[index].spec.clone();
    let container = state
        .live
        .sandbox
        .start(spec)
        .await
        .map_err(|e| problem(&e))?;
    state
        .live
        .watch
        .watch(state.live.sandbox.engine(), name, &container.id);
    state.live.instances[index].container = Some(container.clone());
    state.live.containers.push(container);
    let result = wait_haproxy_ready(state, &state.live.instances[index], within).await;
    let (ready, detail) = match result {
        Ok(info) => {
            state.live.watch.mark_ready(name);
            (true, format!("{name} {} ready", info.version))
        }
        Err(e) => (false, format!("{name} did not become ready: {e}")),
    };
    state
        .kept
        .records
        .insert(name.to_string(), Recorded::Start { ready });
    Ok(detail)
}

pub(crate) async fn wait_haproxy_ready(
    state: &CaseState<'_>,
    instance: &Instance,
    within: Duration,
) -> Result<crate::haproxy::Info, String> {
    let deadline = Instant::now() + within;
    let container = instance
        .container
        .as_ref()
        .ok_or_else(|| format!("{} is not started", instance.name))?;
    // A short timeout per attempt: a container that died takes its address with it, and a
    // connect to it would otherwise hang for the API's whole timeout.
    let api = instance
        .api
        .clone()
        .with_timeout(Duration::from_millis(500));
    loop {
        let last = match api.show_info().await {
            Ok(info) if !instance.master_cli => return Ok(info),
            // The master binds its CLI after the worker is up: wait for both.
            Ok(info) => match master_answers(&instance.sock_dir).await {
                Ok(()) => return Ok(info),
                Err(e) => format!("worker ready; master CLI: {e}"),
            },
            Err(e) => e.to_string(),
        };
        // The runtime API refusing may mean HAProxy died on its config: say so at once.
        state
            .live
            .sandbox
            .ensure_running(container)
            .await
            .map_err(|e| e.to_string())?;
        if Instant::now() >= deadline {
            return Err(format!(
                "{}'s runtime API did not answer within {within:?}; last: {last}",
                instance.name
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn master_answers(sock_dir: &std::path::Path) -> Result<(), String> {
    let path = sock_dir.join("master.sock");
    let mut tally = crate::load::unix::UnixTally::new(&path);
    let style = crate::load::unix::CommandStyle {
        within: Duration::from_millis(500),
        read_limit: None,
        half_close: true,
    };
    crate::load::unix::command(&path, "show proc", style, &mut tally).await;
    if tally.answered == 1 {
        Ok(())
    } else {
        Err(tally.errors.pop().unwrap_or_else(|| "no answer".into()))
    }
}
