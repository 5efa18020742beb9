//! The kinds of image source, one file each: what the kind is called on the command line (its
//! flag in each command: [`Kind`]), how a value given to that flag becomes an [`ImageSource`],
//! and how the source becomes an image ([`ImageSource::resolve`]).
//!
//! Every command that takes a source (`run`, `check`, `matrix`, `bisect`) reads the flags from
//! [`ImageSource::KINDS`], so a new kind is its file (a `KIND` and a `resolve`) plus one variant
//! of [`ImageSource`] here, with its arms in the matches below.

pub mod haproxy_bin;
pub mod image;
pub mod official;
pub mod src;
pub mod version;

use std::path::PathBuf;

pub use src::BuildOptions;

use super::{BuildEvent, ImageError, ResolvedImage, SourceSpec};
use crate::runtime::Engine;

/// Where the HAProxy of a case comes from: one variant per kind of source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// A catalog image built offline: a version (`3.0.11`) or a suite name (`trixie`).
    Catalog(String),
    /// The official `haproxy:<tag>` image.
    Official(String),
    /// Any image reference with a `haproxy` on its PATH.
    Reference(String),
    /// A locally built `haproxy` binary, placed into a base image with HAProxy's libraries.
    LocalBinary(PathBuf),
    /// HAProxy built from source (a git ref, a tarball, Debian's source package).
    Source(Box<SourceSpec>),
}

/// A kind of source as the command line knows it: its flag in each command that takes sources,
/// and how one value of that flag becomes a source.
pub struct Kind {
    /// The flag of `run` and `check`, which take one source of one kind.
    pub one: Flag,
    /// The flag of `matrix`'s columns, when the kind can be one: each value a column.
    pub columns: Option<Flag>,
    /// The flag of `bisect`'s candidates, when the kind can be: the values in order.
    pub candidates: Option<Flag>,
    /// Whether the build options (`--ref`, `--patch`, ...) apply to it; given without such a
    /// kind, they are refused.
    pub builds: bool,
    /// The source one value names, or why it cannot be one (bad input).
    pub parse: fn(&str, &BuildOptions) -> Result<ImageSource, String>,
}

impl Kind {
    /// Whether two are the same kind: kinds are told apart by their flag in `run` (each kind's
    /// own, as a test checks).
    pub fn is(&self, other: &Kind) -> bool {
        self.one.long == other.one.long
    }
}

/// A command-line flag of a kind.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    /// `--LONG`; also the argument's id.
    pub long: &'static str,
    pub value_name: &'static str,
    pub help: &'static str,
    pub values: Values,
}

/// How many values a flag takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Values {
    /// One value.
    One,
    /// A comma-separated list (the flag may be repeated too).
    List,
    /// One value each time the flag is given.
    Repeated,
}

impl ImageSource {
    /// Every kind, in the order the commands list their flags.
    pub const KINDS: [&'static Kind; 5] = [
        &version::KIND,
        &official::KIND,
        &image::KIND,
        &haproxy_bin::KIND,
        &src::KIND,
    ];

    /// Finds (or pulls, or assembles, or builds) the image, reading its HAProxy version; a
    /// source build reports its progress to `progress`.
    pub(super) async fn resolve(
        &self,
        engine: &Engine,
        progress: &(dyn Fn(BuildEvent) + Sync),
    ) -> Result<ResolvedImage, ImageError> {
        match self {
            ImageSource::Catalog(wanted) => version::resolve(engine, wanted).await,
            ImageSource::Official(tag) => official::resolve(engine, tag).await,
            ImageSource::Reference(reference) => image::resolve(engine, reference).await,
            ImageSource::LocalBinary(path) => haproxy_bin::resolve(engine, path).await,
            ImageSource::Source(spec) => src::resolve(engine, spec, progress).await,
        }
    }

    /// Whether resolving it may pull from a registry: a matrix resolves those first, so that
    /// a machine without one stops before anything is built.
    pub fn may_pull(&self) -> bool {
        match self {
            ImageSource::Official(_) | ImageSource::Reference(_) => true,
            ImageSource::Catalog(_) | ImageSource::LocalBinary(_) | ImageSource::Source(_) => false,
        }
    }
}

impl std::fmt::Display for ImageSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageSource::Catalog(v) => write!(f, "{v}"),
            ImageSource::Official(t) => write!(f, "haproxy:{t}"),
            ImageSource::Reference(r) => write!(f, "{r}"),
            ImageSource::LocalBinary(p) => write!(f, "{}", p.display()),
            ImageSource::Source(spec) => write!(f, "{spec}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_flags_of_its_own() {
        let mut longs: Vec<&str> = ImageSource::KINDS.iter().map(|k| k.one.long).collect();
        longs.sort();
        longs.dedup();
        assert_eq!(longs.len(), ImageSource::KINDS.len(), "{longs:?}");
        for pick in [|k: &Kind| k.columns, |k: &Kind| k.candidates] {
            let mut longs: Vec<&str> = ImageSource::KINDS
                .iter()
                .filter_map(|k| pick(k))
                .map(|f| f.long)
                .collect();
            let n = longs.len();
            longs.sort();
            longs.dedup();
            assert_eq!(longs.len(), n, "{longs:?}");
        }
    }

    #[test]
    fn a_value_becomes_its_kinds_source() {
        let none = BuildOptions::default();
        for (kind, value, source) in [
            (
                &version::KIND,
                "3.0.11",
                ImageSource::Catalog("3.0.11".into()),
            ),
            (&official::KIND, "3.2", ImageSource::Official("3.2".into())),
            (
                &image::KIND,
                "me/x:1",
                ImageSource::Reference("me/x:1".into()),
            ),
            (
                &haproxy_bin::KIND,
                "./haproxy",
                ImageSource::LocalBinary("./haproxy".into()),
            ),
        ] {
            assert_eq!((kind.parse)(value, &none), Ok(source), "{}", kind.one.long);
        }
        assert!(matches!(
            (src::KIND.parse)("debian:trixie", &none),
            Ok(ImageSource::Source(_))
        ));
        let err = (official::KIND.parse)("a/b", &none).unwrap_err();
        assert!(err.contains("is not an image tag"), "{err}");
        let with_ref = BuildOptions {
            reference: Some("v3.0.0".into()),
            ..BuildOptions::default()
        };
        let err = (src::KIND.parse)("debian:trixie", &with_ref).unwrap_err();
        assert!(err.contains("--src debian:SUITE has none"), "{err}");
    }
}
