//! `crash_signal = "haproxy"`: the number of the signal that killed the instance (11 for
//! SIGSEGV, 6 for SIGABRT, 4 for SIGILL, which a `BUG_ON()` raises on recent versions), 0 when
//! it did not die of a signal (or did not die).

use serde::Deserialize;
use toml::Spanned;

use super::crashed::{death, instance};
use super::word::{Cx, MeasureWord};
use crate::scenario::evidence::Evidence;

#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct SignalOf(pub Spanned<String>);

impl MeasureWord for SignalOf {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        instance(cx, &self.0);
    }

    fn compute(&self, ev: &Evidence) -> Result<f64, String> {
        Ok(death(ev, self.0.get_ref())
            .and_then(|d| d.signal)
            .unwrap_or(0) as f64)
    }

    fn names_a_crash(&self) -> bool {
        true
    }
}
