//! What a case is, fixed before it starts ([`Case`]), the options every case of a run shares
//! ([`RunOptions`]) and what a case reports as it goes ([`CaseEvent`]): what every stage reads.

use std::path::PathBuf;
use std::time::Instant;

use crate::case_id::CaseId;
use crate::images::ResolvedImage;
use crate::report::{CaseRecord, StepRecord};
use crate::scenario::plan::{Scenario, VariantPlan};

/// Options shared by every case of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub run_id: String,
    /// `results/`; the case writes into `results/<run-id>/<case>/`.
    pub results_dir: PathBuf,
    /// Leave containers and network in place (for debugging).
    pub keep: bool,
    /// What tells this image's column from another of the same version in one run (two
    /// builds of 3.0.11: Debian's and one from source); it joins the case name
    /// (`smoke@3.0.11~src-1a2b3c4d5e6f-minimal`), which names the case folder and containers.
    pub column: Option<String>,
    /// Set by `matrix` per case: its place in the plan, kept in the record.
    pub planned: Option<crate::report::Planned>,
}

/// What a running case reports as it goes, for progress displays.
#[derive(Debug)]
pub enum CaseEvent<'a> {
    Step { case: &'a str, step: &'a StepRecord },
    Done(&'a CaseRecord),
}

/// What a case is, fixed before it starts: every stage reads it.
pub(crate) struct Case<'a> {
    pub scenario: &'a Scenario,
    pub variant: &'a VariantPlan,
    pub image: &'a ResolvedImage,
    pub opts: &'a RunOptions,
    /// `smoke@3.0.11`, `scenario/variant@3.0.11~column#2`: names the case's folder and its
    /// containers.
    pub name: String,
    pub evidence_dir: PathBuf,
    pub started: Instant,
    /// A step (or a Docker call) that never returns ends the case at this deadline, named.
    pub deadline: tokio::time::Instant,
}

impl<'a> Case<'a> {
    pub(crate) fn new(
        scenario: &'a Scenario,
        variant: &'a VariantPlan,
        image: &'a ResolvedImage,
        opts: &'a RunOptions,
        round: Option<(u32, u32)>,
    ) -> Case<'a> {
        let id = case_id(scenario, variant, image, opts, round);
        Case {
            evidence_dir: evidence_dir(opts, &id),
            name: id.to_string(),
            scenario,
            variant,
            image,
            opts,
            started: Instant::now(),
            deadline: tokio::time::Instant::now() + variant.deadline,
        }
    }

    /// Why a stage that did not end by the deadline failed.
    pub(crate) fn overran(&self) -> String {
        format!(
            "the case deadline ({}) passed while it ran; set `deadline` in the scenario if the case needs longer",
            crate::scenario::duration::Dur(self.variant.deadline)
        )
    }
}

pub(crate) fn case_id(
    scenario: &Scenario,
    variant: &VariantPlan,
    image: &ResolvedImage,
    opts: &RunOptions,
    round: Option<(u32, u32)>,
) -> CaseId {
    let id = CaseId::new(
        &scenario.name,
        variant.name.as_deref(),
        &image.version,
        opts.column.as_deref(),
    );
    match round {
        Some((k, _)) => id.round(k),
        None => id,
    }
}

pub(crate) fn evidence_dir(opts: &RunOptions, id: &CaseId) -> PathBuf {
    opts.results_dir.join(&opts.run_id).join(id.folder())
}
