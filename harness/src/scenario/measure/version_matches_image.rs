//! `version_matches_image = "info"`: 1 when the version a recorded `show info` reports equals
//! the version read from the image, 0 when not (a mislabelled image).

use serde::Deserialize;

use super::word::{answer, api, Cx, MeasureWord};
use crate::haproxy::{HaproxyVersion, Info};
use crate::scenario::evidence::Evidence;

/// The record of a `show info` answer.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct VersionRecord(pub String);

impl MeasureWord for VersionRecord {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        cx.reads(&self.0, &api("show info"), "a `show info` answer");
    }

    fn compute(&self, ev: &Evidence) -> Result<f64, String> {
        let answer = answer(ev, &self.0)?;
        let info = Info::parse(answer).map_err(|e| e.to_string())?;
        let reported = info.haproxy_version().map_err(|e| e.to_string())?;
        let image = HaproxyVersion::parse(&ev.image_version).map_err(|e| e.to_string())?;
        Ok(if reported == image { 1.0 } else { 0.0 })
    }

    fn record(&self) -> Option<&str> {
        Some(&self.0)
    }
}
