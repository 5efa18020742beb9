//! The catalog of offline-buildable images: `images/catalog.toml`, compiled in, with the recipe
//! hash that decides whether a built image is still current.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::ImageError;

/// Bumped when the build procedure itself changes, so every image is rebuilt once.
const RECIPE_VERSION: u32 = 1;
const CATALOG: &str = include_str!("../../../images/catalog.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub mirror: String,
    pub packages: Vec<String>,
    /// What the builder rootfs of source builds holds beside `--variant=buildd`.
    pub builder: BuilderPackages,
    #[serde(rename = "suite")]
    pub suites: Vec<Suite>,
}

/// `[builder]`: the packages of every suite's builder image.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuilderPackages {
    pub packages: Vec<String>,
}

/// One buildable image: a Debian suite and where its haproxy comes from.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    pub name: String,
    /// The suite whose rootfs is the base, when it is not `name` itself (experimental on sid).
    pub base: Option<String>,
    /// The suite to take haproxy from, when it is not the base (`apt-get install -t`).
    pub install_from: Option<String>,
    pub version_hint: String,
    /// The Lua development package a source build of the `full` profile links against: the
    /// one whose library this suite's runtime image has (Debian's haproxy links it).
    /// `liblua5.4-dev` when absent. Not part of the runtime image's recipe.
    pub lua_dev: Option<String>,
}

impl Suite {
    /// The suite whose rootfs holds this one (`sid` for `experimental`).
    pub fn base_suite(&self) -> &str {
        self.base.as_deref().unwrap_or(&self.name)
    }

    pub fn lua_dev(&self) -> &str {
        self.lua_dev.as_deref().unwrap_or("liblua5.4-dev")
    }
}

impl Catalog {
    /// The catalog shipped with this build of haprepro.
    pub fn builtin() -> Catalog {
        Catalog::parse(CATALOG).expect("images/catalog.toml is checked by a unit test")
    }

    pub fn parse(text: &str) -> Result<Catalog, ImageError> {
        toml::from_str(text).map_err(|e| ImageError::Catalog(e.to_string()))
    }

    /// A suite by its name or by its version hint.
    pub fn find(&self, name_or_version: &str) -> Option<&Suite> {
        self.suites
            .iter()
            .find(|s| s.name == name_or_version || s.version_hint == name_or_version)
    }

    /// Names the versions and suites the catalog knows, for error messages.
    pub fn known(&self) -> String {
        self.suites
            .iter()
            .map(|s| format!("{} ({})", s.version_hint, s.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Expands `A..B` items (catalog versions or suites, either end left open) into the catalog
    /// versions from A to B in catalog order, oldest first, so that `bisect --versions
    /// 2.6.12..3.4.7` needs no list typed out; other items are kept as they are.
    pub fn expand(&self, items: &[String]) -> Result<Vec<String>, ImageError> {
        let mut out = Vec::new();
        for item in items {
            let Some((from, to)) = item.split_once("..") else {
                out.push(item.clone());
                continue;
            };
            let position = |end: &str, first: bool| -> Result<usize, ImageError> {
                if end.is_empty() {
                    return Ok(if first { 0 } else { self.suites.len() - 1 });
                }
                self.suites
                    .iter()
                    .position(|s| s.name == end || s.version_hint == end)
                    .ok_or_else(|| {
                        ImageError::Range(format!(
                            "the range {item} names {end:?}, which the catalog does not know; \
                             known: {}",
                            self.known()
                        ))
                    })
            };
            let (a, b) = (position(from.trim(), true)?, position(to.trim(), false)?);
            if a > b {
                return Err(ImageError::Range(format!(
                    "the range {item} runs backwards: the catalog lists {} before {}",
                    self.suites[b].version_hint, self.suites[a].version_hint
                )));
            }
            out.extend(self.suites[a..=b].iter().map(|s| s.version_hint.clone()));
        }
        Ok(out)
    }

    /// A digest of everything that shapes the suite's image: a changed entry means a rebuild.
    pub fn recipe_hash(&self, suite: &Suite) -> String {
        let mut hasher = Sha256::new();
        hasher.update(RECIPE_VERSION.to_le_bytes());
        hasher.update(&self.mirror);
        hasher.update(self.packages.join(","));
        hasher.update(suite.name.as_bytes());
        hasher.update(suite.base.as_deref().unwrap_or("-"));
        hasher.update(suite.install_from.as_deref().unwrap_or("-"));
        hex::encode(&hasher.finalize()[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_expand_in_catalog_order() {
        let catalog = Catalog::builtin();
        let expand = |items: &[&str]| {
            catalog.expand(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(
            expand(&["2.6.12..sid"]).unwrap(),
            ["2.6.12", "3.0.11", "3.2.26"]
        );
        assert_eq!(expand(&["..2.6.12"]).unwrap(), ["2.2.9", "2.6.12"]);
        assert_eq!(expand(&["3.2.26.."]).unwrap(), ["3.2.26", "3.4.7"]);
        assert_eq!(expand(&[".."]).unwrap().len(), 5);
        assert_eq!(expand(&["2.2.9", "x"]).unwrap(), ["2.2.9", "x"]);
        let backwards = expand(&["3.4.7..2.2.9"]).unwrap_err().to_string();
        assert!(backwards.contains("backwards"), "{backwards}");
        let unknown = expand(&["2.2.9..9.9"]).unwrap_err().to_string();
        assert!(unknown.contains("names \"9.9\""), "{unknown}");
    }

    #[test]
    fn builtin_catalog_parses_and_finds_by_name_or_version() {
        let catalog = Catalog::builtin();
        assert_eq!(catalog.suites.len(), 5);
        assert_eq!(catalog.find("bookworm").unwrap().version_hint, "2.6.12");
        assert_eq!(catalog.find("3.4.7").unwrap().name, "experimental");
        assert!(catalog.find("1.8.0").is_none());
    }

    #[test]
    fn recipe_hash_changes_with_the_entry() {
        let catalog = Catalog::builtin();
        let sid = catalog.find("sid").unwrap().clone();
        let mut other = sid.clone();
        other.install_from = Some("experimental".into());
        assert_ne!(catalog.recipe_hash(&sid), catalog.recipe_hash(&other));
        assert_eq!(catalog.recipe_hash(&sid), catalog.recipe_hash(&sid.clone()));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = Catalog::parse(
            "mirror='m'\npackages=[]\n[builder]\npackages=[]\n[[suite]]\nname='x'\nversion_hint='1'\nbse='y'\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("bse"), "{err}");
    }
}
