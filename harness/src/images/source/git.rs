//! The git questions source builds and commit bisection ask of a checkout, through the `git`
//! program. Nothing here writes to the checkout: no checkout, no worktree, no stash; the tree of
//! a commit leaves as `git archive` output.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::super::ImageError;

/// A commit of the checkout, as bisect prints it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Commit {
    pub hash: String,
    pub subject: String,
}

/// Runs `git -C dir ARGS` and returns its stdout, or its stderr as the error.
async fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, GitFailure> {
    let out = tokio::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => GitFailure::Missing,
            _ => GitFailure::Said(e.to_string()),
        })?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(GitFailure::Said(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

enum GitFailure {
    Missing,
    Said(String),
}

impl GitFailure {
    fn into_error(self, dir: &Path, what: &str) -> ImageError {
        match self {
            GitFailure::Missing => ImageError::GitMissing,
            GitFailure::Said(said) => ImageError::Git {
                dir: dir.to_path_buf(),
                what: what.to_string(),
                said,
            },
        }
    }
}

async fn text(dir: &Path, args: &[&str], what: &str) -> Result<String, ImageError> {
    git(dir, args)
        .await
        .map(|o| String::from_utf8_lossy(&o).trim().to_string())
        .map_err(|f| f.into_error(dir, what))
}

/// Checks that `dir` is a git checkout (a work tree or a bare repository).
pub async fn check_repository(dir: &Path) -> Result<(), ImageError> {
    if !dir.is_dir() {
        return Err(ImageError::SourceMissing {
            path: dir.to_path_buf(),
        });
    }
    match git(dir, &["rev-parse", "--git-dir"]).await {
        Ok(_) => Ok(()),
        Err(GitFailure::Missing) => Err(ImageError::GitMissing),
        Err(GitFailure::Said(said)) => Err(ImageError::NotGitRepository {
            dir: dir.to_path_buf(),
            said,
        }),
    }
}

/// The full hash of the commit `reference` names, or an error naming the ref.
pub async fn commit_of(dir: &Path, reference: &str) -> Result<String, ImageError> {
    check_repository(dir).await?;
    let spec = format!("{reference}^{{commit}}");
    match git(dir, &["rev-parse", "--verify", "--quiet", &spec]).await {
        Ok(out) => Ok(String::from_utf8_lossy(&out).trim().to_string()),
        Err(GitFailure::Missing) => Err(ImageError::GitMissing),
        Err(GitFailure::Said(_)) => Err(ImageError::UnknownRef {
            dir: dir.to_path_buf(),
            reference: reference.to_string(),
        }),
    }
}

/// The tree hash of a commit: what decides whether two commits build the same HAProxy.
pub async fn tree_of(dir: &Path, commit: &str) -> Result<String, ImageError> {
    text(
        dir,
        &["rev-parse", &format!("{commit}^{{tree}}")],
        "read the tree of a commit",
    )
    .await
}

pub async fn subject_of(dir: &Path, commit: &str) -> Result<String, ImageError> {
    text(
        dir,
        &["log", "-1", "--format=%s", commit],
        "read a commit's subject",
    )
    .await
}

/// `git describe --tags` of a commit (`v3.0-dev12-5-g1a2b3c`), for a VERSION file that
/// `git archive` did not fill in; `None` when no tag is reachable.
pub async fn describe(dir: &Path, commit: &str) -> Option<String> {
    text(dir, &["describe", "--tags", commit], "describe")
        .await
        .ok()
        .filter(|s| !s.is_empty())
}

/// `git archive --format=tar COMMIT`: the commit's tree as a tar stream, the checkout untouched.
pub async fn archive(dir: &Path, commit: &str) -> Result<Vec<u8>, ImageError> {
    git(dir, &["archive", "--format=tar", commit])
        .await
        .map_err(|f| f.into_error(dir, "git archive"))
}

/// The commits after `old` up to and including `new`, oldest first, following first parents
/// only (the order a mainline's history was made in: merges count as one step).
pub async fn first_parent_range(
    dir: &Path,
    old: &str,
    new: &str,
) -> Result<Vec<Commit>, ImageError> {
    let range = format!("{old}..{new}");
    let out = text(
        dir,
        &[
            "log",
            "--first-parent",
            "--reverse",
            "--format=%H %s",
            &range,
        ],
        "list the commits of a range",
    )
    .await?;
    Ok(out
        .lines()
        .filter_map(|l| {
            let (hash, subject) = l.split_once(' ').unwrap_or((l, ""));
            (!hash.is_empty()).then(|| Commit {
                hash: hash.to_string(),
                subject: subject.to_string(),
            })
        })
        .collect())
}

/// Whether `ancestor` is an ancestor of (or equal to) `descendant`.
pub async fn is_ancestor(dir: &Path, ancestor: &str, descendant: &str) -> bool {
    git(dir, &["merge-base", "--is-ancestor", ancestor, descendant])
        .await
        .is_ok()
}

/// The tags of the checkout by the commit they point at (annotated tags peeled).
pub async fn tags_by_commit(dir: &Path) -> Result<HashMap<String, Vec<String>>, ImageError> {
    let out = text(
        dir,
        &[
            "for-each-ref",
            "refs/tags",
            "--format=%(objectname) %(*objectname) %(refname:short)",
        ],
        "list tags",
    )
    .await?;
    let mut tags: HashMap<String, Vec<String>> = HashMap::new();
    for line in out.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        let (commit, name) = match parts.as_slice() {
            [object, peeled, name] if !peeled.is_empty() => (*peeled, *name),
            [object, _, name] => (*object, *name),
            [object, name] => (*object, *name),
            _ => continue,
        };
        tags.entry(commit.to_string())
            .or_default()
            .push(name.to_string());
    }
    Ok(tags)
}

/// A path as the user wrote it, with `~` expanded.
pub fn expand_home(path: &str) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(rest))
            .unwrap_or_else(|| PathBuf::from(path)),
        None => PathBuf::from(path),
    }
}
