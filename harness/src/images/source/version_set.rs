//! Version sets over HAProxy clones: `--versions` items that name many tags at once. A range
//! in HAProxy's version order (`v3.0-dev0..v3.0.0`, both ends included, either may be left
//! out), a glob (`v3.1-dev*`), `newest-tag`, or one ref (a tag, a branch, a commit), comma-
//! separated and mixed. With several clones (HAProxy's mainline repository and a repository
//! per stable branch, such as haproxy-3.0.git, where the point releases are tagged) their tags
//! are merged into one ordered list, each tag built from the clone that has it.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use crate::haproxy::HaproxyVersion;

/// A tag of one of the clones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub name: String,
    /// The commit it points at (peeled: an annotated tag's commit, not the tag object).
    pub commit: String,
    /// The index of the clone it was found in (the first that has it).
    pub clone: usize,
}

/// One version of a set: a ref and the clone to build it from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub clone: usize,
}

/// Why a set cannot be made: bad input, said before anything is built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SetError(pub String);

/// The version of a tag in HAProxy's scheme (`v3.0-dev12`, `v3.0.11`), if it is one.
pub fn tag_version(name: &str) -> Option<HaproxyVersion> {
    HaproxyVersion::parse(name.strip_prefix('v')?).ok()
}

/// Orders tags in HAProxy's version order; tags outside the scheme go last, by name.
fn order(a: &str, b: &str) -> Ordering {
    match (tag_version(a), tag_version(b)) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// The tags of a clone: (name, peeled commit).
pub fn clone_tags(dir: &Path) -> Result<Vec<(String, String)>, SetError> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "for-each-ref",
            "--format=%(refname:strip=2) %(objectname) %(*objectname)",
            "refs/tags",
        ])
        .output()
        .map_err(|e| SetError(format!("git for-each-ref in {}: {e}", dir.display())))?;
    if !out.status.success() {
        return Err(SetError(format!(
            "{}: git could not list its tags: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let name = parts.next()?.to_string();
            let object = parts.next()?;
            let peeled = parts.next().unwrap_or(object);
            Some((name, peeled.to_string()))
        })
        .collect())
}

/// The tags of every clone in one list, in HAProxy's version order. A clone without tags, or a
/// tag at two different commits in two clones, is an error naming them.
pub fn merge(clones: &[(PathBuf, Vec<(String, String)>)]) -> Result<Vec<Tag>, SetError> {
    let mut all: Vec<Tag> = Vec::new();
    for (i, (dir, tags)) in clones.iter().enumerate() {
        if tags.is_empty() {
            return Err(SetError(format!(
                "{} has no tags (a shallow clone, or one made with --no-tags?)\n  Fetch them: \
                 `git -C {} fetch --tags`",
                dir.display(),
                dir.display()
            )));
        }
        for (name, commit) in tags {
            match all.iter().find(|t| t.name == *name) {
                Some(t) if t.commit != *commit => {
                    return Err(SetError(format!(
                        "the tag {name} is at {} in {} and at {} in {}: one tag, two commits \
                         (is one of them not HAProxy's repository?)",
                        short(&t.commit),
                        clones[t.clone].0.display(),
                        short(commit),
                        dir.display()
                    )))
                }
                Some(_) => {}
                None => all.push(Tag {
                    name: name.clone(),
                    commit: commit.clone(),
                    clone: i,
                }),
            }
        }
    }
    all.sort_by(|a, b| order(&a.name, &b.name));
    Ok(all)
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

/// The members of `items` over `tags` (merged and ordered), in the order given, each once.
pub fn expand(items: &[String], tags: &[Tag]) -> Result<Vec<Member>, SetError> {
    let mut out: Vec<Member> = Vec::new();
    let push = |m: Member, out: &mut Vec<Member>| {
        if !out.iter().any(|o| o.name == m.name) {
            out.push(m);
        }
    };
    let member = |t: &Tag| Member {
        name: t.name.clone(),
        clone: t.clone,
    };
    for item in items {
        let item = item.trim();
        if item == super::super::nightly::NEWEST_TAG {
            let newest = tags
                .iter()
                .rev()
                .find(|t| tag_version(&t.name).is_some())
                .ok_or_else(|| {
                    SetError(
                        "newest-tag: no tag in HAProxy's version scheme (vX.Y-devN, vX.Y.Z)".into(),
                    )
                })?;
            push(member(newest), &mut out);
        } else if let Some((from, to)) = item.split_once("..") {
            let end = |e: &str| -> Result<Option<HaproxyVersion>, SetError> {
                if e.is_empty() {
                    return Ok(None);
                }
                tag_version(e).map(Some).ok_or_else(|| {
                    SetError(format!(
                        "the range {item} ends at {e:?}, which is not in HAProxy's version \
                         scheme (vX.Y-devN, vX.Y.Z): a range runs in version order, so both \
                         ends must be versions"
                    ))
                })
            };
            let (lo, hi) = (end(from.trim())?, end(to.trim())?);
            if let (Some(lo), Some(hi)) = (&lo, &hi) {
                if lo > hi {
                    return Err(SetError(format!(
                        "the range {item} runs backwards: {} comes before {} in HAProxy's \
                         version order",
                        to.trim(),
                        from.trim()
                    )));
                }
            }
            let inside: Vec<&Tag> = tags
                .iter()
                .filter(|t| {
                    tag_version(&t.name).is_some_and(|v| {
                        lo.as_ref().is_none_or(|lo| v >= *lo)
                            && hi.as_ref().is_none_or(|hi| v <= *hi)
                    })
                })
                .collect();
            if inside.is_empty() {
                return Err(SetError(format!(
                    "the range {item} matches no tag{}",
                    nearest(tags, from.trim())
                )));
            }
            for t in inside {
                push(member(t), &mut out);
            }
        } else if item.contains(['*', '?']) {
            let matched: Vec<&Tag> = tags.iter().filter(|t| glob(item, &t.name)).collect();
            if matched.is_empty() {
                let stem = item.split(['*', '?']).next().unwrap_or("");
                return Err(SetError(format!(
                    "the pattern {item} matches no tag{}",
                    nearest(tags, stem)
                )));
            }
            for t in matched {
                push(member(t), &mut out);
            }
        } else if let Some(t) = tags.iter().find(|t| t.name == item) {
            push(member(t), &mut out);
        } else {
            // A branch or a commit: built from the first clone, which resolves it (or says
            // that it cannot).
            push(
                Member {
                    name: item.to_string(),
                    clone: 0,
                },
                &mut out,
            );
        }
    }
    Ok(out)
}

/// `; nearest tags: ...` for a pattern that matched nothing: the tags sharing the longest
/// prefix with `near`.
fn nearest(tags: &[Tag], near: &str) -> String {
    let common = |t: &Tag| {
        t.name
            .chars()
            .zip(near.chars())
            .take_while(|(a, b)| a == b)
            .count()
    };
    let best = tags.iter().map(common).max().unwrap_or(0);
    let close: Vec<&str> = tags
        .iter()
        .filter(|t| common(t) == best)
        .map(|t| t.name.as_str())
        .collect();
    match close.as_slice() {
        [] => "; the clones have no tags".into(),
        list if list.len() > 8 => format!(
            "; nearest tags: {}, ... {}",
            list[..4].join(", "),
            list[list.len() - 3..].join(", ")
        ),
        list => format!("; nearest tags: {}", list.join(", ")),
    }
}

/// `*` (any run of characters) and `?` (one character), as the shell matches names.
fn glob(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clone(dir: &str, tags: &[(&str, &str)]) -> (PathBuf, Vec<(String, String)>) {
        (
            PathBuf::from(dir),
            tags.iter()
                .map(|(n, c)| (n.to_string(), c.to_string()))
                .collect(),
        )
    }

    fn names(members: &[Member]) -> Vec<&str> {
        members.iter().map(|m| m.name.as_str()).collect()
    }

    fn mainline_and_3_0() -> Vec<Tag> {
        merge(&[
            clone(
                "haproxy",
                &[
                    ("v2.9.0", "a0"),
                    ("v3.0-dev1", "a1"),
                    ("v3.0-dev10", "a10"),
                    ("v3.0-dev2", "a2"),
                    ("v3.0.0", "b0"),
                    ("v3.1-dev1", "c1"),
                    ("v3.1-dev12", "c12"),
                    ("v3.1.0", "d0"),
                    ("not-a-version", "zz"),
                ],
            ),
            clone(
                "haproxy-3.0",
                &[
                    ("v3.0.0", "b0"),
                    ("v3.0.1", "b1"),
                    ("v3.0.11", "b11"),
                    ("v3.0.2", "b2"),
                ],
            ),
        ])
        .unwrap()
    }

    #[test]
    fn tags_of_two_clones_merge_in_haproxys_order() {
        let tags = mainline_and_3_0();
        let order: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            order,
            [
                "v2.9.0",
                "v3.0-dev1",
                "v3.0-dev2",
                "v3.0-dev10",
                "v3.0.0",
                "v3.0.1",
                "v3.0.2",
                "v3.0.11",
                "v3.1-dev1",
                "v3.1-dev12",
                "v3.1.0",
                "not-a-version"
            ]
        );
        // v3.0.0 is in both, at the same commit: taken from the first clone.
        assert_eq!(tags.iter().find(|t| t.name == "v3.0.0").unwrap().clone, 0);
        assert_eq!(tags.iter().find(|t| t.name == "v3.0.11").unwrap().clone, 1);
    }

    #[test]
    fn ranges_globs_newest_tag_and_refs() {
        let tags = mainline_and_3_0();
        let set = |items: &[&str]| {
            let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
            expand(&items, &tags)
        };
        assert_eq!(
            names(&set(&["v3.0-dev2..v3.0.0"]).unwrap()),
            ["v3.0-dev2", "v3.0-dev10", "v3.0.0"]
        );
        // Every 3.0 release, from the branch clone.
        let releases = set(&["v3.0.0..v3.0.99"]).unwrap();
        assert_eq!(names(&releases), ["v3.0.0", "v3.0.1", "v3.0.2", "v3.0.11"]);
        assert_eq!(releases[3].clone, 1);
        assert_eq!(
            names(&set(&["v3.1-dev*"]).unwrap()),
            ["v3.1-dev1", "v3.1-dev12"]
        );
        assert_eq!(names(&set(&["v3.0.1?"]).unwrap()), ["v3.0.11"]);
        assert_eq!(names(&set(&["newest-tag"]).unwrap()), ["v3.1.0"]);
        assert_eq!(
            names(&set(&["v3.1-dev12.."]).unwrap()),
            ["v3.1-dev12", "v3.1.0"]
        );
        // Lists mix, in the order given, each version once; other refs pass as they are.
        assert_eq!(
            names(&set(&["v3.1.0", "v3.0.1..v3.0.2", "v3.0.2", "master", "1a2b3c4"]).unwrap()),
            ["v3.1.0", "v3.0.1", "v3.0.2", "master", "1a2b3c4"]
        );
    }

    #[test]
    fn a_set_that_names_nothing_or_outside_the_scheme_says_so() {
        let tags = mainline_and_3_0();
        let err = |items: &[&str]| {
            let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
            expand(&items, &tags).unwrap_err().0
        };
        let e = err(&["v3.2-dev*"]);
        assert!(
            e.contains("matches no tag") && e.contains("nearest tags: v3."),
            "{e}"
        );
        let e = err(&["v2.0.0..v2.1.0"]);
        assert!(e.contains("the range v2.0.0..v2.1.0 matches no tag"), "{e}");
        let e = err(&["master..v3.0.0"]);
        assert!(e.contains("not in HAProxy's version scheme"), "{e}");
        let e = err(&["v3.1.0..v3.0.0"]);
        assert!(e.contains("runs backwards"), "{e}");
    }

    #[test]
    fn one_tag_at_two_commits_or_a_clone_without_tags_is_an_error() {
        let e = merge(&[
            clone("haproxy", &[("v3.0.0", "aaaa")]),
            clone("haproxy-3.0", &[("v3.0.0", "bbbb")]),
        ])
        .unwrap_err()
        .0;
        assert!(
            e.contains("v3.0.0 is at aaaa in haproxy and at bbbb in haproxy-3.0"),
            "{e}"
        );
        let e = merge(&[clone("haproxy", &[]), clone("x", &[("v1.0.0", "a")])])
            .unwrap_err()
            .0;
        assert!(
            e.contains("haproxy has no tags") && e.contains("fetch --tags"),
            "{e}"
        );
    }

    #[test]
    fn globs_match_as_the_shell_does() {
        assert!(glob("v3.1-dev*", "v3.1-dev12"));
        assert!(glob("*", "anything"));
        assert!(glob("v3.?.0", "v3.1.0"));
        assert!(!glob("v3.1-dev*", "v3.10-dev1"));
        assert!(!glob("v3.?.0", "v3.10.0"));
        assert!(glob("v*-dev*", "v3.0-dev3"));
    }
}
