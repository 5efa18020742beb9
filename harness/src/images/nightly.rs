//! The nightly's plan: every column the nightly CI runs, one job each. The Debian suites come
//! from the catalog (`images/catalog.toml`); the official `haproxy:<tag>` images and the source
//! build of HAProxy's newest tag from `images/nightly.toml`. `haprepro images catalog --json`
//! prints the plan, and the workflow makes its jobs from that output, so the list lives in one
//! data file that haprepro checks, not in workflow text.
//!
//! Each entry carries a stable id (a job's and an artifact's name: `debian-trixie`,
//! `official-3.2`, `source-newest-tag`) and the arguments its job passes to `haprepro matrix`.
//! An official entry must name a branch HAProxy still maintains (or `latest`): a typo, a branch
//! that does not exist or one past its end of life is an error at its line and column, before
//! a CI job is spent pulling an image that is not there or testing code nobody fixes anymore.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::Catalog;
use crate::position::locate;

/// The nightly list shipped with this build (compiled in, as the catalog is).
const NIGHTLY: &str = include_str!("../../../images/nightly.toml");
/// Its path in the repository, for error messages.
pub const NIGHTLY_FILE: &str = "images/nightly.toml";

/// HAProxy's branches that are maintained, as haproxy.org lists them
/// (<https://www.haproxy.org/#last>). Update with HAProxy's release cycle: a branch added here
/// becomes valid in `official`, one moved to [`ENDED`] makes the list name it as ended. As of
/// December 2026: 2.4 and 3.1 have ended (their official images are frozen), 3.4 is the newest
/// stable and LTS branch (`latest`, `lts`).
pub const MAINTAINED: &[&str] = &["2.6", "2.8", "3.0", "3.2", "3.3", "3.4"];
/// The branch in development, whose official images are tagged `<branch>-dev`.
pub const DEVELOPMENT: &str = "3.5";
/// Tags of the official images that follow a branch rather than name one.
const MOVING: &[&str] = &["latest", "lts"];
/// Branches that existed and are no longer maintained, to say so rather than "unknown".
const ENDED: &[&str] = &[
    "1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8", "1.9", "2.0", "2.1", "2.2",
    "2.3", "2.4", "2.5", "2.7", "2.9", "3.1",
];
/// The `ref` that means "the newest `v*` tag of the clone".
pub const NEWEST_TAG: &str = "newest-tag";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NightlyFile {
    #[serde(default)]
    official: Vec<Spanned<String>>,
    source: Option<SourceEntry>,
}

/// `[source]`: HAProxy built from a clone of its repository.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SourceEntry {
    /// What the job clones.
    pub repository: String,
    /// `newest-tag`, or a ref of the clone.
    #[serde(rename = "ref")]
    pub reference: String,
}

/// The nightly list, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nightly {
    /// Official image tags: maintained branches and `latest`, in file order.
    pub official: Vec<String>,
    pub source: Option<SourceEntry>,
}

/// A nightly list that cannot be used, located like a compiler error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}:{line}:{column}: {field}: {message}", file.display())]
pub struct NightlyError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub field: String,
    pub message: String,
}

impl Nightly {
    /// The list shipped with this build.
    pub fn builtin() -> Nightly {
        Nightly::parse(NIGHTLY, Path::new(NIGHTLY_FILE))
            .expect("images/nightly.toml is checked by a unit test")
    }

    /// Reads a nightly list from a file (a list other than the shipped one).
    pub fn read(path: &Path) -> Result<Nightly, NightlyError> {
        let text = std::fs::read_to_string(path).map_err(|e| NightlyError {
            file: path.to_path_buf(),
            line: 1,
            column: 1,
            field: "file".into(),
            message: format!("cannot read it: {e}"),
        })?;
        Nightly::parse(&text, path)
    }

    pub fn parse(text: &str, file: &Path) -> Result<Nightly, NightlyError> {
        let at = |offset: usize, field: &str, message: String| {
            let (line, column) = locate(text, offset);
            NightlyError {
                file: file.to_path_buf(),
                line,
                column,
                field: field.to_string(),
                message,
            }
        };
        let raw: NightlyFile = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            at(offset, "toml", e.message().trim().to_string())
        })?;
        let mut official: Vec<String> = Vec::new();
        for entry in &raw.official {
            let tag = entry.get_ref().trim();
            let offset = entry.span().start;
            if let Err(message) = check_branch(tag) {
                return Err(at(offset, "official", message));
            }
            if official.iter().any(|t| t == tag) {
                return Err(at(offset, "official", format!("{tag:?} is listed twice")));
            }
            official.push(tag.to_string());
        }
        if let Some(source) = &raw.source {
            if source.reference.trim().is_empty() || source.repository.trim().is_empty() {
                let offset = text.find("[source]").unwrap_or(0);
                return Err(at(
                    offset,
                    "source",
                    format!(
                        "`repository` and `ref` must name something (`ref = \"{NEWEST_TAG}\"` \
                         for the newest tag)"
                    ),
                ));
            }
        }
        Ok(Nightly {
            official,
            source: raw.source,
        })
    }
}

/// An official entry is a maintained branch `X.Y`, the development branch's `X.Y-dev`, or
/// `latest`/`lts`; the message says which ones are.
fn check_branch(tag: &str) -> Result<(), String> {
    let maintained = || {
        format!(
            "maintained: {}; in development: {DEVELOPMENT}-dev; and `latest`, `lts`",
            MAINTAINED.join(", ")
        )
    };
    if MOVING.contains(&tag)
        || MAINTAINED.contains(&tag)
        || tag.strip_suffix("-dev") == Some(DEVELOPMENT)
    {
        return Ok(());
    }
    if let Some(branch) = tag.strip_suffix("-dev") {
        return Err(format!(
            "{branch} is not the branch in development ({DEVELOPMENT}); {}. If HAProxy's \
             branches changed, update DEVELOPMENT in harness/src/images/nightly.rs",
            maintained()
        ));
    }
    let is_branch = tag
        .split_once('.')
        .is_some_and(|(a, b)| is_number(a) && is_number(b));
    let message = if ENDED.contains(&tag) {
        format!(
            "HAProxy {tag} is no longer maintained (end of life): no nightly for it; {}",
            maintained()
        )
    } else if is_branch {
        format!("HAProxy has no branch {tag}; {}", maintained())
    } else {
        format!(
            "{tag:?} is not a branch (`X.Y`, as `3.2`) nor `latest`; {}",
            maintained()
        )
    };
    Err(format!(
        "{message}. If HAProxy's branches changed, update MAINTAINED in \
         harness/src/images/nightly.rs (https://www.haproxy.org/#last)"
    ))
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// What kind of column an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A catalog image, built offline from a Debian suite.
    Debian,
    /// An official `haproxy:<tag>` image, pulled.
    Official,
    /// HAProxy built from a clone of its repository.
    Source,
}

/// One column of the nightly: one CI job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanEntry {
    /// Stable across nights and unique: the job's and its results artifact's name
    /// (`debian-trixie`, `official-3.2`, `source-newest-tag`).
    pub id: String,
    pub kind: Kind,
    /// The suite, the tag, or the source's ref as the list gives it.
    pub name: String,
    /// What the column is, in words.
    pub label: String,
    /// The Debian suite's catalog version hint; the ref resolved in the clone for a source.
    pub version: Option<String>,
    /// For a source: the repository to clone.
    pub repository: Option<String>,
    /// For a source: where the job's clone is (the folder `--src` names).
    pub checkout: Option<String>,
    /// What the job passes to `haprepro matrix`; `None` for a source whose ref could not be
    /// resolved (no clone given).
    pub matrix_args: Option<Vec<String>>,
}

/// The nightly's entries: the catalog's suites (oldest first), the official tags (in the list's
/// order), then the source build. `source_ref` is the source's ref resolved in the clone at
/// `checkout` (`None`: not resolved, the entry has no `matrix_args`).
pub fn plan(
    catalog: &Catalog,
    nightly: &Nightly,
    checkout: Option<&str>,
    source_ref: Option<&str>,
) -> Vec<PlanEntry> {
    let mut entries: Vec<PlanEntry> = catalog
        .suites
        .iter()
        .map(|s| PlanEntry {
            id: format!("debian-{}", s.name),
            kind: Kind::Debian,
            name: s.name.clone(),
            label: format!(
                "Debian {} (built offline), HAProxy {}",
                s.name, s.version_hint
            ),
            version: Some(s.version_hint.clone()),
            repository: None,
            checkout: None,
            matrix_args: Some(vec!["--versions".into(), s.name.clone()]),
        })
        .collect();
    entries.extend(nightly.official.iter().map(|tag| PlanEntry {
        id: format!("official-{tag}"),
        kind: Kind::Official,
        name: tag.clone(),
        label: format!("official image haproxy:{tag}"),
        version: None,
        repository: None,
        checkout: None,
        matrix_args: Some(vec!["--official".into(), tag.clone()]),
    }));
    if let Some(source) = &nightly.source {
        let resolved = source_ref.map(str::to_string);
        let matrix_args = match (checkout, &resolved) {
            (Some(dir), Some(r)) => Some(vec![
                "--src".into(),
                dir.to_string(),
                "--versions".into(),
                r.clone(),
            ]),
            _ => None,
        };
        entries.push(PlanEntry {
            id: format!("source-{}", slug(&source.reference)),
            kind: Kind::Source,
            name: source.reference.clone(),
            label: match &resolved {
                Some(r) => format!("built from source: {} {r}", source.repository),
                None => format!(
                    "built from source: {} {} (unresolved)",
                    source.repository, source.reference
                ),
            },
            version: resolved,
            repository: Some(source.repository.clone()),
            checkout: checkout.map(str::to_string),
            matrix_args,
        });
    }
    entries
}

/// A ref as a job name: letters, digits, `.`, `-`.
fn slug(reference: &str) -> String {
    reference
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// Resolves the source entry's ref in a clone: `newest-tag` becomes the newest `v*` tag (an
/// error names the clone when it has none), any other ref is checked to exist.
pub async fn resolve_source_ref(
    source: &SourceEntry,
    checkout: &Path,
) -> Result<String, super::ImageError> {
    super::source::git::check_repository(checkout).await?;
    if source.reference != NEWEST_TAG {
        super::source::git::commit_of(checkout, &source.reference).await?;
        return Ok(source.reference.clone());
    }
    let tags = super::source::git::tags_by_commit(checkout).await?;
    newest_tag(tags.values().flatten().map(String::as_str))
        .map(str::to_string)
        .ok_or_else(|| super::ImageError::Git {
            dir: checkout.to_path_buf(),
            what: format!("resolve `ref = \"{NEWEST_TAG}\"`"),
            said: "the clone has no v<version> tag (a clone made with --depth has none: \
                   clone with its tags)"
                .into(),
        })
}

/// The newest of `tags` in HAProxy's version order (`v3.4-dev2` after `v3.3.0`, `v3.4.0` after
/// `v3.4-dev12`); tags that are not `v<version>` are ignored.
pub fn newest_tag<'a>(tags: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    tags.into_iter()
        .filter_map(|t| {
            let v = crate::haproxy::HaproxyVersion::parse(t.strip_prefix('v')?).ok()?;
            Some((v, t))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Nightly, NightlyError> {
        Nightly::parse(text, Path::new("nightly.toml"))
    }

    #[test]
    fn the_shipped_list_has_every_maintained_branch_latest_and_a_source() {
        let nightly = Nightly::builtin();
        let mut want: Vec<String> = MAINTAINED.iter().map(|s| s.to_string()).collect();
        want.push(format!("{DEVELOPMENT}-dev"));
        want.push("latest".into());
        assert_eq!(nightly.official, want);
        let source = nightly.source.expect("a [source] entry");
        assert_eq!(source.reference, NEWEST_TAG);
        assert!(source.repository.contains("github.com/haproxy/haproxy"));
    }

    #[test]
    fn an_unknown_or_ended_branch_is_an_error_at_its_line_and_column() {
        for (bad, says) in [
            ("2.5", "no longer maintained"),
            ("2.4", "no longer maintained"),
            ("3.1", "no longer maintained"),
            ("9.9", "has no branch 9.9"),
            ("foo", "not a branch"),
            ("3.3-dev", "not the branch in development (3.5)"),
        ] {
            let text = format!("# list\nofficial = [\"3.2\", \"{bad}\"]\n");
            let err = parse(&text).unwrap_err();
            assert_eq!((err.line, err.column), (2, 20), "{bad}: {err}");
            let shown = err.to_string();
            assert!(
                shown.starts_with("nightly.toml:2:20: official: ") && shown.contains(says),
                "{shown}"
            );
            assert!(shown.contains("maintained: 2.6, 2.8"), "{shown}");
        }
    }

    #[test]
    fn duplicates_unknown_keys_and_empty_sources_are_refused() {
        let twice = parse("official = [\"3.2\", \"3.2\"]").unwrap_err();
        assert!(twice.message.contains("listed twice"), "{twice}");
        let typo = parse("oficial = [\"3.2\"]").unwrap_err();
        assert_eq!(typo.line, 1, "{typo}");
        assert!(typo.to_string().contains("oficial"), "{typo}");
        let empty = parse("[source]\nrepository = \"x\"\nref = \"\"\n").unwrap_err();
        assert_eq!(empty.field, "source", "{empty}");
    }

    #[test]
    fn the_plan_has_one_entry_per_job_with_unique_ids_and_its_matrix_arguments() {
        let catalog = Catalog::builtin();
        let nightly = Nightly::builtin();
        let entries = plan(&catalog, &nightly, Some("haproxy"), Some("v3.4-dev2"));
        assert_eq!(
            entries.len(),
            catalog.suites.len() + nightly.official.len() + 1
        );
        let mut ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), entries.len(), "ids are unique");
        for e in &entries {
            assert!(
                e.id.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.".contains(c)),
                "{}",
                e.id
            );
        }
        let trixie = entries.iter().find(|e| e.id == "debian-trixie").unwrap();
        assert_eq!(
            trixie.matrix_args.as_deref(),
            Some(&["--versions".to_string(), "trixie".to_string()][..])
        );
        let official = entries.iter().find(|e| e.id == "official-3.2").unwrap();
        assert_eq!(official.kind, Kind::Official);
        assert_eq!(
            official.matrix_args.as_deref(),
            Some(&["--official".to_string(), "3.2".to_string()][..])
        );
        let source = entries.last().unwrap();
        assert_eq!(source.id, "source-newest-tag");
        assert_eq!(
            source.matrix_args.as_deref(),
            Some(
                &[
                    "--src".to_string(),
                    "haproxy".to_string(),
                    "--versions".to_string(),
                    "v3.4-dev2".to_string()
                ][..]
            )
        );
        let json = serde_json::to_value(&entries).unwrap();
        assert_eq!(json[0]["kind"], "debian");
        let unresolved = plan(&catalog, &nightly, None, None);
        assert_eq!(unresolved.last().unwrap().matrix_args, None);
    }

    #[test]
    fn the_newest_tag_is_in_haproxys_version_order() {
        let tags = [
            "v3.3.0",
            "v3.3-dev12",
            "v3.4-dev2",
            "v3.4-dev10",
            "v2.9.0",
            "foo",
        ];
        assert_eq!(newest_tag(tags), Some("v3.4-dev10"));
        assert_eq!(newest_tag(["v3.4-dev12", "v3.4.0"]), Some("v3.4.0"));
        assert_eq!(
            newest_tag(["v3.3-dev2", "v3.3-dev12", "v3.3-dev9"]),
            Some("v3.3-dev12")
        );
        assert_eq!(newest_tag(["latest", "x"]), None);
    }
}
