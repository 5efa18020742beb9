//! `instance_ready = "hapB"`: 1 when an instance started by a `start` step became ready, 0
//! when it did not.

use serde::Deserialize;
use toml::Spanned;

use super::word::{Cx, MeasureWord};
use crate::scenario::evidence::Evidence;
use crate::scenario::record::RecordKind;
use crate::scenario::record::Recorded;

/// An instance with `start = "step"`.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct InstanceName(pub Spanned<String>);

impl MeasureWord for InstanceName {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        let i = &self.0;
        if !cx.names.step_started.contains(i.get_ref()) {
            cx.error_here_at(
                i.span(),
                format!("{:?} is not an instance with start = \"step\"", i.get_ref()),
            );
        } else if !matches!(
            cx.flow.records.get(i.get_ref()),
            Some((RecordKind::Start, _))
        ) {
            cx.error_here_at(i.span(), format!("no start step starts {:?}", i.get_ref()));
        }
    }

    fn compute(&self, ev: &Evidence) -> Result<f64, String> {
        match ev.records.get(self.0.get_ref()) {
            Some(Recorded::Start { ready, .. }) => Ok(if *ready { 1.0 } else { 0.0 }),
            _ => Err(format!("{} was never started by a step", self.0.get_ref())),
        }
    }
}
