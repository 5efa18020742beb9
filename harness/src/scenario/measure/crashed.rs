//! `crashed = "haproxy"`: 1 when the instance died during the case (see
//! [`HaproxyExit::is_crash`]), 0 when it lived to the end. The measure of a scenario whose
//! symptom is the crash itself; with it in `reproduced_if`, a death measures `reproduced`.

use serde::Deserialize;
use toml::Spanned;

use super::word::{Cx, MeasureWord};
use crate::report::HaproxyExit;
use crate::scenario::evidence::Evidence;

/// An HAProxy instance of the topology.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct CrashedInstance(pub Spanned<String>);

impl MeasureWord for CrashedInstance {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        instance(cx, &self.0);
    }

    fn compute(&self, ev: &Evidence) -> Result<f64, String> {
        Ok(if death(ev, self.0.get_ref()).is_some() {
            1.0
        } else {
            0.0
        })
    }

    fn names_a_crash(&self) -> bool {
        true
    }
}

/// The instance a crash measure names must be an HAProxy instance of the topology.
pub(crate) fn instance(cx: &mut Cx<'_, '_, '_>, name: &Spanned<String>) {
    let field = cx.field.clone();
    cx.c.role(cx.names.instances, name, &field);
}

/// The instance's death, if it died.
pub(crate) fn death<'a>(ev: &'a Evidence, instance: &str) -> Option<&'a HaproxyExit> {
    ev.exits
        .iter()
        .find(|e| e.instance == instance && e.is_crash())
}
