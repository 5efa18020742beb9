//! Building the catalog images a run needs before it starts, so `haprepro matrix` and the
//! tests work on a fresh clone without a separate `images build` step.
//!
//! Only images that are missing are built, never ones that exist (even from an older recipe:
//! `haprepro images build` refreshes those on request), so a second run does no image work
//! beyond one listing. Concurrent callers (the integration tests run in parallel, and several
//! `haprepro` processes may start at once) build each image once: the build holds an exclusive
//! `flock` on a file in the images work folder, and whoever gets it next lists again and finds
//! the images built.

use std::time::{Duration, Instant};

use super::catalog::{Catalog, Suite};
use super::{list_built, short_version, BuildEvent, BuiltImage, ImageError};
use crate::runtime::Engine;

/// What [`ensure`] did.
#[derive(Debug, Clone, Default)]
pub struct Ensured {
    /// Suites built by this call, with the version measured in each.
    pub built: Vec<(String, String)>,
    /// Suites whose image was built from an older recipe: used as they are.
    pub outdated: Vec<String>,
    /// Time spent on images (listing, waiting for another builder, building).
    pub spent: Duration,
}

/// Which catalog suites `wanted` needs that have no image on this machine (an image of the
/// suite from an older recipe counts as there). `wanted` names versions or suites; names the
/// catalog does not know are bad input, unless a built image answers to them.
pub fn missing(
    catalog: &Catalog,
    built: &[BuiltImage],
    wanted: &[String],
) -> Result<Vec<Suite>, ImageError> {
    let mut out: Vec<Suite> = Vec::new();
    for w in wanted {
        let has_image = built
            .iter()
            .any(|b| &b.suite == w || &b.version == w || &short_version(&b.version) == w);
        match catalog.find(w) {
            Some(suite) => {
                let suite_built = built.iter().any(|b| b.suite == suite.name);
                if !has_image && !suite_built && !out.iter().any(|s| s.name == suite.name) {
                    out.push(suite.clone());
                }
            }
            None if has_image => {}
            None => {
                return Err(ImageError::UnknownVersion {
                    wanted: w.clone(),
                    known: catalog.known(),
                })
            }
        }
    }
    Ok(out)
}

/// Makes sure every catalog image `wanted` names exists (and, `with_base`, an image to run
/// backends and clients in), building the missing ones (all at once, suites in parallel) under
/// the build lock. `announce` hears the suites about to be built, `progress` the build's
/// events; neither is called when nothing is missing.
pub async fn ensure(
    engine: &Engine,
    wanted: &[String],
    with_base: bool,
    announce: &(dyn Fn(&[String]) + Sync),
    progress: &(dyn Fn(BuildEvent) + Sync),
) -> Result<Ensured, ImageError> {
    let started = Instant::now();
    let catalog = Catalog::builtin();
    let built = list_built(engine).await?;
    let with_base_suite = |built: &[BuiltImage]| {
        let mut wanted = wanted.to_vec();
        if with_base {
            wanted.extend(base_suite_needed(&catalog, built));
        }
        wanted
    };
    let wanted = &with_base_suite(&built);
    let outdated = |built: &[BuiltImage]| {
        built
            .iter()
            .filter(|b| !b.current && wanted_suite(&catalog, wanted, &b.suite))
            .map(|b| b.suite.clone())
            .collect::<Vec<_>>()
    };
    if missing(&catalog, &built, wanted)?.is_empty() {
        return Ok(Ensured {
            outdated: outdated(&built),
            spent: started.elapsed(),
            ..Ensured::default()
        });
    }
    // An exclusive lock on `<images work folder>/build.lock`, released when dropped.
    let _lock = super::build_lock::acquire(super::catalog_lock_path(), &|_| {}).await?;
    // Another process (or test) may have built them while this one waited for the lock.
    let built = list_built(engine).await?;
    let wanted = &with_base_suite(&built);
    let todo = missing(&catalog, &built, wanted)?;
    let names: Vec<String> = todo.iter().map(|s| s.name.clone()).collect();
    let mut ensured = Ensured {
        outdated: outdated(&built),
        ..Ensured::default()
    };
    if !names.is_empty() {
        announce(&names);
        for (suite, result) in super::build_locked(engine, &names, false, progress).await? {
            ensured.built.push((suite, result?));
        }
    }
    ensured.spent = started.elapsed();
    Ok(ensured)
}

/// The catalog suite to build so that [`super::base_image`] finds an image (cases with
/// backends or clients run them in it), or `None` when it already does: the host's Debian
/// suite when the catalog has it, else the newest suite that is not `experimental`.
pub fn base_suite_needed(catalog: &Catalog, built: &[BuiltImage]) -> Option<String> {
    if std::env::var_os("HAPREPRO_BASE_IMAGE").is_some() {
        return None;
    }
    if built.iter().any(|b| b.suite != "experimental") {
        return None;
    }
    super::host_suite()
        .filter(|h| catalog.find(h).is_some())
        .or_else(|| {
            catalog
                .suites
                .iter()
                .rfind(|s| s.name != "experimental")
                .map(|s| s.name.clone())
        })
}

fn wanted_suite(catalog: &Catalog, wanted: &[String], suite: &str) -> bool {
    wanted
        .iter()
        .any(|w| catalog.find(w).map(|s| s.name.as_str()) == Some(suite) || w == suite)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built(suite: &str, version: &str, current: bool) -> BuiltImage {
        BuiltImage {
            suite: suite.into(),
            version: version.into(),
            reference: format!("haprepro/haproxy:suite-{suite}"),
            current,
            size: 0,
        }
    }

    fn names(suites: Vec<Suite>) -> Vec<String> {
        suites.into_iter().map(|s| s.name).collect()
    }

    #[test]
    fn only_suites_without_any_image_are_missing() {
        let catalog = Catalog::builtin();
        let have = [
            built("trixie", "3.0.11-1+deb13u4", true),
            built("sid", "3.2.26-1", false),
        ];
        let wanted: Vec<String> = ["3.0.11", "trixie", "3.2.26", "2.2.9", "bullseye", "3.4.7"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            names(missing(&catalog, &have, &wanted).unwrap()),
            ["bullseye", "experimental"]
        );
    }

    #[test]
    fn a_built_image_answers_to_its_measured_version_and_unknown_names_are_refused() {
        let catalog = Catalog::builtin();
        // trixie moved on to 3.0.12: the image still answers to the catalog's hint and to
        // what it measured.
        let have = [built("trixie", "3.0.12-1", true)];
        let wanted = vec!["3.0.12".to_string(), "3.0.11".to_string()];
        assert!(missing(&catalog, &have, &wanted).unwrap().is_empty());
        let err = missing(&catalog, &have, &["9.9.9".to_string()]).unwrap_err();
        assert!(matches!(err, ImageError::UnknownVersion { .. }), "{err}");
    }
}
