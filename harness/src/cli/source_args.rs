//! The command-line options of source builds, shared by `run`, `check`, `matrix` and
//! `bisect`: `--src` names the source (in [`super::run::SourceArgs`]), these say how to build it.

use std::path::PathBuf;

use clap::Args;
use haprepro::images::{ImageSource, Profile, SourceSpec};
use haprepro::scenario::Scenario;

use super::exit;

/// How a `--src` source is built.
#[derive(Args, Debug, Clone, Default)]
pub struct BuildOpts {
    /// With --src DIR: the tag, branch or commit to build (HEAD by default). The tree is taken
    /// with `git archive`; the checkout is never touched.
    #[arg(long = "ref", value_name = "REF")]
    pub reference: Option<String>,
    /// A patch to apply on top of the source with `patch -p1`; repeatable, applied in order.
    #[arg(long = "patch", value_name = "FILE")]
    pub patches: Vec<PathBuf>,
    /// With --src debian:SUITE: also apply Debian's patch series (debian/patches/series).
    #[arg(long)]
    pub debian_patches: bool,
    /// Build profile: minimal (no SSL/Lua/PCRE/zlib; the default) or full (OpenSSL, PCRE2,
    /// zlib, Lua, Prometheus exporter).
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<Profile>,
    /// The Debian suite whose builder compiles the source and whose runtime image runs it
    /// (trixie by default; a debian:SUITE source uses its own suite).
    #[arg(long, value_name = "SUITE")]
    pub build_suite: Option<String>,
}

impl BuildOpts {
    /// Whether any option was given, so one given without `--src` can be refused.
    pub fn any(&self) -> bool {
        self.reference.is_some()
            || !self.patches.is_empty()
            || self.debian_patches
            || self.profile.is_some()
            || self.build_suite.is_some()
    }

    /// The source `--src SRC` names, built as these options say; an error message otherwise.
    pub fn spec(&self, src: &str) -> Result<SourceSpec, String> {
        let mut spec = SourceSpec::parse(src, self.reference.as_deref())?;
        for p in &self.patches {
            if !p.is_file() {
                return Err(format!("--patch {}: no such file", p.display()));
            }
        }
        if self.debian_patches && !src.starts_with("debian:") {
            return Err(
                "--debian-patches applies Debian's patch series: it needs --src debian:SUITE"
                    .into(),
            );
        }
        spec.patches = self.patches.clone();
        spec.debian_patches = self.debian_patches;
        spec.profile = self.profile.unwrap_or_default();
        spec.suite = self.build_suite.clone();
        Ok(spec)
    }
}

/// Refuses a source build whose profile lacks a feature the scenario requires, before any
/// build: exit 2, naming the profile that has it.
pub fn check_requires(scenario: &Scenario, source: &ImageSource) -> Result<(), i32> {
    let ImageSource::Source(spec) = source else {
        return Ok(());
    };
    let required = scenario.requires();
    let lacking = spec.profile.lacks(&required);
    if lacking.is_empty() {
        return Ok(());
    }
    let hint = match Profile::providing(&required) {
        Some(p) => format!("build with --profile {p}"),
        None => "no build profile has them all".to_string(),
    };
    eprintln!(
        "error: scenario {} requires {}, which the {} build profile lacks: {hint}",
        scenario.name,
        lacking.join(", "),
        spec.profile
    );
    Err(exit::USAGE)
}
