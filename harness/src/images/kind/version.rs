//! `--version` (`--versions` in `matrix` and `bisect`): a catalog image built offline from a
//! Debian suite, named by its version (`3.0.11`) or its suite (`trixie`).

use super::{Flag, ImageSource, Kind, Values};
use crate::images::{list_built, short_version, Catalog, ImageError, ResolvedImage};
use crate::runtime::Engine;

pub const KIND: Kind = Kind {
    one: Flag {
        long: "version",
        value_name: "VERSION",
        help: "A catalog version or Debian suite, built offline (`haprepro images list`)",
        values: Values::One,
    },
    columns: Some(Flag {
        long: "versions",
        value_name: "VERSIONS",
        help: "Catalog versions or suites (comma-separated; `A..B` for a range of the catalog); \
               every catalog version by default. Images that are missing are built first",
        values: Values::List,
    }),
    candidates: Some(Flag {
        long: "versions",
        value_name: "VERSIONS",
        help: "Catalog versions in order, oldest first (comma-separated), at least two; `A..B` \
               is the catalog's versions from A to B (`2.6.12..3.4.7`, `..3.0.11`). With --src \
               (and no --good/--bad): a set of the clone's tags (`v3.0-dev0..v3.0.0`, \
               `v3.1-dev*`), each built when the bisect probes it",
        values: Values::List,
    }),
    builds: false,
    parse: |value, _| Ok(ImageSource::Catalog(value.to_string())),
};

/// The built catalog image of a version or suite; one of the catalog not built yet, or not in
/// the catalog at all, is an error that says what to do.
pub(super) async fn resolve(engine: &Engine, wanted: &str) -> Result<ResolvedImage, ImageError> {
    let built = list_built(engine).await?;
    let found = built
        .iter()
        .find(|b| b.suite == wanted || b.version == wanted || short_version(&b.version) == wanted);
    if let Some(image) = found {
        return Ok(ResolvedImage {
            id: String::new(),
            reference: image.reference.clone(),
            binary: None,
            version: image.version.clone(),
            source: format!("Debian {} (built offline)", image.suite),
        });
    }
    let catalog = Catalog::builtin();
    match catalog.find(wanted) {
        Some(suite) => Err(ImageError::NotBuilt {
            wanted: wanted.to_string(),
            suite: suite.name.clone(),
        }),
        None => {
            // Each suite once: the version measured in its image where it is built, the
            // catalog's hint otherwise.
            let known: Vec<String> = catalog
                .suites
                .iter()
                .map(|s| match built.iter().find(|b| b.suite == s.name) {
                    Some(b) => format!("{} ({}, built)", short_version(&b.version), s.name),
                    None => format!("{} ({})", s.version_hint, s.name),
                })
                .collect();
            Err(ImageError::UnknownVersion {
                wanted: wanted.to_string(),
                known: known.join(", "),
            })
        }
    }
}
