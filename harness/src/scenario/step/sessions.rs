//! `sessions = { to = "haproxy:9000", count = 100, record = "load" }`: long-lived TCP sessions
//! exchanging a line every `every`, plus a churn of short connections; they run until the case
//! ends, and a `snapshot` keeps their state at a moment.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::word::{Cx, Run, Word};
use crate::scenario::problem::Problem;
use crate::load;
use crate::scenario::bounds;
use crate::scenario::duration::Dur;
use crate::scenario::record::RecordKind;
use crate::scenario::case::CaseState;

/// Starts long-lived TCP sessions that exchange a line every `every`, plus a churn of short
/// connections; the step ends once all sessions are connected (within `within`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsStep {
    /// `role:port`.
    pub to: Spanned<String>,
    /// A client of the topology to connect from; the gateway address otherwise.
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    pub count: u32,
    #[serde(default = "default_every")]
    pub every: Dur,
    /// New short connections per second.
    #[serde(default)]
    pub churn: u32,
    /// Also wait until this many sessions got their server's banner.
    #[serde(default)]
    pub banners: Option<u32>,
    /// `false`: return at once, while the sessions are still connecting (for steps that must
    /// race the connects).
    #[serde(default = "super::word::default_true")]
    pub wait: bool,
    pub record: String,
    #[serde(default = "super::word::default_within")]
    pub within: Dur,
}

fn default_every() -> Dur {
    Dur(Duration::from_millis(50))
}

impl Word for SessionsStep {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        let s = self;
        cx.at_most(
            "step.sessions.churn",
            u64::from(s.churn),
            u64::from(bounds::CHURN),
        );
        cx.at_most_time("step.sessions.within", s.within.0, bounds::DURATION);
        if let Some(b) = s.banners {
            cx.at_most("step.sessions.banners", u64::from(b), u64::from(s.count));
        }
        if s.every.0 < Duration::from_millis(1) {
            cx.error("step.sessions.every", "at least 1ms");
        }
        cx.role_port(&s.to, "step.sessions.to");
        if let Some(from) = &s.from {
            cx.client(from, "step.sessions.from");
        }
        if s.count > load::sessions::MAX_SESSIONS {
            cx.error(
                "step.sessions.count",
                format!("at most {}", load::sessions::MAX_SESSIONS),
            );
        }
        cx.record(&s.record, RecordKind::Load);
    }

    fn describe(&self) -> String {
        format!(
            "{} sessions to {} every {}{}",
            self.count,
            self.to.get_ref(),
            self.every,
            if self.churn > 0 {
                format!(", churn {}/s", self.churn)
            } else {
                String::new()
            }
        )
    }

    /// Connects, then banners: each waits up to `within`.
    fn budget(&self) -> Duration {
        self.within.0 * 2
    }

    fn record(&self) -> Option<&str> {
        Some(&self.record)
    }
}

impl Run for SessionsStep {
    async fn run(&self, state: &mut CaseState<'_>) -> Result<String, Problem> {
        let sess = self;
        let spec = load::sessions::LoadSpec {
            from: state.client_ip(sess.from.as_ref())?,
            to: state.role_addr(sess.to.get_ref())?,
            count: sess.count,
            every: sess.every.0,
            churn_per_second: sess.churn,
        };
        let load = load::sessions::SessionLoad::start(spec, state.started);
        if !sess.wait {
            state.live.loads.insert(sess.record.clone(), load);
            return Ok(format!(
                "{} sessions connecting; churn {}/s",
                sess.count, sess.churn
            ));
        }
        let opened = load.wait_opened(sess.count as usize, sess.within.0).await;
        let banners = match (opened, sess.banners) {
            (Ok(_), Some(n)) => Some(load.wait_banners(n as usize, sess.within.0).await),
            _ => None,
        };
        state.live.loads.insert(sess.record.clone(), load);
        match (opened, banners) {
            (Err(n), _) => Err(format!(
                "only {n} of {} sessions connected within {}",
                sess.count, sess.within
            ).into()),
            (Ok(_), Some(Err(n))) => Err(format!(
                "only {n} of {} sessions got their server's banner within {}",
                sess.banners.unwrap_or_default(),
                sess.within
            ).into()),
            (Ok(n), Some(Ok(b))) => Ok(format!(
                "{n} sessions connected, {b} with a banner; churn {}/s",
                sess.churn
            )),
            (Ok(n), None) => Ok(format!("{n} sessions connected; churn {}/s", sess.churn)),
        }
    }
}
