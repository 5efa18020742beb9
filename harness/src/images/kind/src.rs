//! `--src DIR|TARBALL|debian:SUITE`: HAProxy built from source ([`crate::images::source`]),
//! with the build options that say how ([`BuildOptions`]: `--ref`, `--patch`, ...).

use std::path::PathBuf;

use super::{Flag, ImageSource, Kind, Values};
use crate::images::{source, BuildEvent, ImageError, Profile, ResolvedImage, SourceSpec};
use crate::runtime::Engine;

pub const KIND: Kind = Kind {
    one: Flag {
        long: "src",
        value_name: "DIR|TARBALL|debian:SUITE",
        help: "HAProxy built from source: a git checkout (with --ref), a release tarball, or \
               debian:SUITE (Debian's source package); see images/README.md",
        values: Values::One,
    },
    columns: Some(Flag {
        long: "src",
        value_name: "DIR|TARBALL|debian:SUITE",
        help: "A source to build and run beside the catalog versions: with a git checkout, the \
               --versions items that are not catalog versions are its refs or sets of its tags \
               (`--src ~/haproxy --versions 3.0.11,v3.0-dev12,v3.1-dev*,v3.0-dev0..v3.0.0`); a \
               tarball or debian:SUITE is one more column. Repeatable with checkouts (mainline \
               and branch clones such as haproxy-3.0): their tags are merged into one ordered \
               list",
        values: Values::Repeated,
    }),
    candidates: Some(Flag {
        long: "src",
        value_name: "DIR",
        help: "A HAProxy git checkout: bisect the first-parent commits of --good..--bad, \
               building each (the checkout is never touched)",
        values: Values::One,
    }),
    builds: true,
    parse: |src, build| build.spec(src).map(|s| ImageSource::Source(Box::new(s))),
};

/// What build options given without `--src` are told.
pub const NEED_SRC: &str =
    "--ref, --patch, --profile, --debian-patches and --build-suite need --src";

/// How a `--src` source is built.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct BuildOptions {
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

impl BuildOptions {
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

pub(super) async fn resolve(
    engine: &Engine,
    spec: &SourceSpec,
    progress: &(dyn Fn(BuildEvent) + Sync),
) -> Result<ResolvedImage, ImageError> {
    Ok(source::build(engine, spec, progress).await?.image)
}
