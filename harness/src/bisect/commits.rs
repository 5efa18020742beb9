//! Bisection over the commits of a git checkout: the first-parent commits of `good..bad`,
//! probed by building each one ([`crate::images::source`]) and running the case.
//!
//! Two stages when that is cheaper: release tags between the ends are bisected first (they are
//! likelier to build, and likelier to be built already), then the commits between the two tags
//! whose outcomes differ. A candidate measured in the first stage is never measured again: the
//! second stage's ends come from memory. The choice is made on the worst case, in builds: a
//! stage-one probe of a tag whose image exists costs no build. Two stages are used only when
//! their worst case is not worse than one stage's, so the `ceil(log2 N) + 2` budget holds.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::Path;
use std::rc::Rc;

use super::{bisect_ahead, max_probes, BisectError};
use crate::images::source::git::{self, Commit};
use crate::images::ImageError;
use crate::scenario::Outcome;

/// The candidates of a commit bisection: the good end, then every first-parent commit after it
/// up to the bad end, oldest first.
#[derive(Debug, Clone)]
pub struct CommitRange {
    pub commits: Vec<Commit>,
    /// Release tags on candidates strictly between the ends, by candidate index.
    pub tags: BTreeMap<usize, Vec<String>>,
}

/// Why a range cannot be bisected.
#[derive(Debug, thiserror::Error)]
pub enum RangeError {
    #[error(transparent)]
    Git(#[from] ImageError),
    #[error("{old} ({old_hash}) is not an ancestor of {new} ({new_hash}): the old end must come first in history")]
    NotAncestor {
        old: String,
        old_hash: String,
        new: String,
        new_hash: String,
    },
    #[error("{old} and {new} are the same commit: there is nothing between them")]
    Empty { old: String, new: String },
}

/// Resolves the two ends and lists the candidates between them.
pub async fn range(dir: &Path, old: &str, new: &str) -> Result<CommitRange, RangeError> {
    let old_hash = git::commit_of(dir, old).await?;
    let new_hash = git::commit_of(dir, new).await?;
    if old_hash == new_hash {
        return Err(RangeError::Empty {
            old: old.into(),
            new: new.into(),
        });
    }
    if !git::is_ancestor(dir, &old_hash, &new_hash).await {
        return Err(RangeError::NotAncestor {
            old: old.into(),
            old_hash,
            new: new.into(),
            new_hash,
        });
    }
    let mut commits = vec![Commit {
        subject: git::subject_of(dir, &old_hash).await?,
        hash: old_hash,
    }];
    commits.extend(git::first_parent_range(dir, &commits[0].hash, &new_hash).await?);
    let by_commit = git::tags_by_commit(dir).await?;
    let last = commits.len() - 1;
    let tags = commits
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 0 && *i != last)
        .filter_map(|(i, c)| by_commit.get(&c.hash).map(|t| (i, t.clone())))
        .collect();
    Ok(CommitRange { commits, tags })
}

/// How a bisection over `n` candidates will proceed, and its worst case in builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The stage-one candidates (both ends and the tags), or `None` for one stage.
    pub tag_stage: Option<Vec<usize>>,
    /// Worst-case builds of one stage over every commit.
    pub one_stage_builds: usize,
    /// Worst-case builds with the tag stage first, when there are tags.
    pub two_stage_builds: Option<usize>,
}

/// Chooses one or two stages. `built(i)` says whether candidate `i`'s image exists already.
pub fn plan(n: usize, tags: &[usize], built: &dyn Fn(usize) -> bool) -> Plan {
    let cost = |points: &[usize]| -> usize {
        // Worst case: every probe of the list, minus those already built (ends included).
        let probes = max_probes(points.len());
        let free = points.iter().filter(|i| built(**i)).count();
        probes.saturating_sub(free.min(probes))
    };
    let all: Vec<usize> = (0..n).collect();
    let one_stage_builds = cost(&all);
    if tags.is_empty() || n < 3 {
        return Plan {
            tag_stage: None,
            one_stage_builds,
            two_stage_builds: None,
        };
    }
    let mut points = vec![0];
    points.extend(tags.iter().copied().filter(|&i| i > 0 && i < n - 1));
    points.push(n - 1);
    let widest = points.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(1);
    // Stage two's ends are measured in stage one: only its middle probes can cost a build.
    let stage_two = max_probes(widest + 1).saturating_sub(2);
    let two = cost(&points) + stage_two;
    Plan {
        tag_stage: (two <= one_stage_builds).then_some(points),
        one_stage_builds,
        two_stage_builds: Some(two),
    }
}

/// What a commit bisection found, in candidate indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitBisection {
    pub reference: Outcome,
    pub last_same: usize,
    pub first_different: usize,
    /// Candidates between the two that could not be measured (skipped).
    pub untested: Vec<usize>,
    /// Every candidate measured, with the stage (1 or 2) that asked, in order.
    pub measured: Vec<(usize, usize, Outcome)>,
}

/// Runs the bisection. `expected_old` is the outcome the old end must have (`NotReproduced`
/// for a regression, `Reproduced` for a fix); `measure(candidate, stage)` builds and runs one
/// candidate and is called at most once per candidate.
pub async fn run<F, Fut>(
    n: usize,
    plan: &Plan,
    expected_old: Outcome,
    measure: F,
) -> Result<CommitBisection, BisectError>
where
    F: FnMut(usize, usize) -> Fut,
    Fut: Future<Output = Outcome>,
{
    run_ahead(n, plan, expected_old, measure, |_| {}).await
}

/// [`run`], telling `ahead` before each measurement which candidates (indices) the next one
/// may be, so that they can be built while this one runs.
pub async fn run_ahead<F, Fut>(
    n: usize,
    plan: &Plan,
    expected_old: Outcome,
    measure: F,
    ahead: impl Fn(&[usize]),
) -> Result<CommitBisection, BisectError>
where
    F: FnMut(usize, usize) -> Fut,
    Fut: Future<Output = Outcome>,
{
    if n < 2 {
        return Err(BisectError::TooFew(n));
    }
    let memo: Rc<RefCell<HashMap<usize, Outcome>>> = Rc::default();
    let order: Rc<RefCell<Vec<(usize, usize, Outcome)>>> = Rc::default();
    let measure = RefCell::new(measure);
    let probe = |candidate: usize, stage: usize| {
        let known = memo.borrow().get(&candidate).copied();
        let fresh = match known {
            Some(_) => None,
            None => Some((measure.borrow_mut())(candidate, stage)),
        };
        let (memo, order) = (memo.clone(), order.clone());
        async move {
            match (known, fresh) {
                (Some(o), _) => o,
                (None, Some(fut)) => {
                    let o = fut.await;
                    memo.borrow_mut().insert(candidate, o);
                    order.borrow_mut().push((candidate, stage, o));
                    o
                }
                (None, None) => unreachable!(),
            }
        }
    };
    // The old end first: a wrong direction stops here, before the other end is built.
    let first_stage = if plan.tag_stage.is_some() { 1 } else { 2 };
    let old = probe(0, first_stage).await;
    if old == Outcome::Error {
        return Err(BisectError::EndFailed {
            which: "old (good)",
            index: 0,
        });
    }
    // Looking for a fix, a crash is the bad old end too: the fix is where it stops.
    let bad_old = expected_old == Outcome::Reproduced && old == Outcome::Crashed;
    if old != expected_old && !bad_old {
        let fix = expected_old == Outcome::Reproduced;
        return Err(BisectError::WrongEnd {
            which: "old",
            what: if fix { "--fixed" } else { "regression" },
            expected: expected_old,
            measured: old,
            hint: if fix {
                "; without --fixed, bisect looks for a regression"
            } else {
                "; to find the commit that fixed it, add --fixed"
            },
        });
    }
    let not_measured = |next: &[&usize]| {
        let wanted: Vec<usize> = next
            .iter()
            .map(|&&i| i)
            .filter(|i| !memo.borrow().contains_key(i))
            .collect();
        if !wanted.is_empty() {
            ahead(&wanted);
        }
    };
    let (lo, hi) = match &plan.tag_stage {
        Some(points) => {
            let b = bisect_ahead(points, |_, &i| probe(i, 1), not_measured).await?;
            (points[b.last_same], points[b.first_different])
        }
        None => (0, n - 1),
    };
    let span: Vec<usize> = (lo..=hi).collect();
    let b = bisect_ahead(&span, |_, &i| probe(i, 2), not_measured).await?;
    let measured = order.borrow().clone();
    Ok(CommitBisection {
        reference: b.reference,
        last_same: span[b.last_same],
        first_different: span[b.first_different],
        untested: b.untested.iter().map(|&i| span[i]).collect(),
        measured,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bisect::tests::regression_at as regression;
    use Outcome::*;

    async fn bisect_list(outcomes: &[Outcome], tags: &[usize]) -> (CommitBisection, Vec<usize>) {
        let p = plan(outcomes.len(), tags, &|_| false);
        let calls = RefCell::new(Vec::new());
        let b = run(outcomes.len(), &p, outcomes[0], |i, _| {
            calls.borrow_mut().push(i);
            let o = outcomes[i];
            async move { o }
        })
        .await
        .unwrap();
        (b, calls.into_inner())
    }

    #[tokio::test]
    async fn every_boundary_within_the_budget_with_or_without_tags() {
        for n in 2..=33 {
            for first_bad in 1..n {
                for tags in [vec![], vec![n / 2], (1..n).step_by(4).collect::<Vec<_>>()] {
                    let (b, calls) = bisect_list(&regression(n, first_bad), &tags).await;
                    assert_eq!((b.last_same, b.first_different), (first_bad - 1, first_bad));
                    let budget = (usize::BITS - (n - 1).leading_zeros()) as usize + 2;
                    assert!(
                        calls.len() <= budget,
                        "n={n} bad={first_bad} tags={tags:?}: {calls:?}"
                    );
                    let mut unique = calls.clone();
                    unique.sort();
                    unique.dedup();
                    assert_eq!(unique.len(), calls.len(), "measured twice: {calls:?}");
                }
            }
        }
    }

    #[test]
    fn tags_first_only_when_no_more_expensive() {
        // 64 commits, a tag every 8: 3 + 3 probes after the ends vs 6: equal, so tags first.
        let tags: Vec<usize> = (8..63).step_by(8).collect();
        let p = plan(64, &tags, &|_| false);
        assert!(p.tag_stage.is_some(), "{p:?}");
        assert!(p.two_stage_builds.unwrap() <= p.one_stage_builds);
        // A lone tag next to an end saves nothing and costs a probe.
        let p = plan(64, &[1], &|_| false);
        assert_eq!(p.tag_stage, None, "{p:?}");
        // Already-built tags are free.
        let p = plan(64, &[1, 2, 3], &|i| i <= 3);
        assert!(p.two_stage_builds.is_some());
    }

    #[tokio::test]
    async fn a_fix_and_a_wrong_direction() {
        let fixed = [Reproduced, Reproduced, NotReproduced, NotReproduced];
        let p = plan(4, &[], &|_| false);
        let b = run(4, &p, Reproduced, |i, _| {
            let o = fixed[i];
            async move { o }
        })
        .await
        .unwrap();
        assert_eq!(b.first_different, 2);
        let calls = RefCell::new(0);
        let err = run(4, &p, NotReproduced, |i, _| {
            *calls.borrow_mut() += 1;
            let o = fixed[i];
            async move { o }
        })
        .await
        .unwrap_err();
        assert!(matches!(err, BisectError::WrongEnd { .. }), "{err}");
        assert!(err.to_string().contains("--fixed"), "{err}");
        assert_eq!(
            calls.into_inner(),
            1,
            "the other end is not built after a wrong old end"
        );
    }

    #[tokio::test]
    async fn a_commit_that_does_not_build_is_skipped() {
        let mut outcomes = regression(9, 5);
        outcomes[4] = Error;
        let (b, _) = bisect_list(&outcomes, &[]).await;
        assert_eq!((b.last_same, b.first_different), (3, 5));
        assert_eq!(b.untested, [4]);
    }
}
