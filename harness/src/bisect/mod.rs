//! Bisection: the first candidate (a version, an image) whose measured outcome differs from
//! the first candidate's.
//!
//! The search is a pure function over an ordered list and a `measure` callback, so it is the
//! same whether candidates are catalog versions, image references or anything a test makes up,
//! and the algorithm is tested without Docker. The two ends are measured first: if they agree
//! there is nothing to find (an error, not a guess). Then each probe halves the interval
//! between the last candidate known to behave like the first and the first known to differ:
//! `ceil(log2(N - 1))` probes after the two ends.
//!
//! A probe whose outcome is `error` (the experiment could not run) says nothing about the bug;
//! like `git bisect skip`, that candidate is set aside and the nearest untested one is probed
//! instead. If only skipped candidates remain between the two known ones, the answer names them
//! all: the first different one is one of them or the known different one.
//!
//! As with `git bisect`, the answer is *a* change of outcome: if outcomes flip more than once
//! along the list, the one found is not necessarily the earliest.

pub mod commits;
pub mod record;

use std::collections::BTreeSet;
use std::future::Future;

use crate::scenario::Outcome;

/// One measured candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// Index in the candidate list.
    pub index: usize,
    pub outcome: Outcome,
}

/// What a bisection found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bisection {
    /// The first candidate's outcome.
    pub reference: Outcome,
    /// Every measurement, in the order made.
    pub probes: Vec<Probe>,
    /// The last candidate known to give `reference`.
    pub last_same: usize,
    /// The first candidate known to give the other outcome.
    pub first_different: usize,
    /// Candidates between the two that could not be measured (`error`): the change may be at
    /// any of them. Empty when the answer is exact.
    pub untested: Vec<usize>,
}

impl Bisection {
    /// True when no skipped candidate leaves the answer open.
    pub fn is_exact(&self) -> bool {
        self.untested.is_empty()
    }
}

/// Why there is no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BisectError {
    #[error("bisect needs at least two candidates, got {0}")]
    TooFew(usize),
    #[error("the {which} candidate could not be measured (outcome error), so there is nothing to compare against")]
    EndFailed { which: &'static str, index: usize },
    #[error("both ends measured {outcome}: there is no change of outcome to find between them\n  Widen the list, or check that the scenario's symptom can be seen on one of the ends.")]
    EndsAgree { outcome: Outcome },
    #[error(
        "the {which} end measured {measured}, where a {what} bisect needs {expected} there{hint}"
    )]
    WrongEnd {
        which: &'static str,
        what: &'static str,
        expected: Outcome,
        measured: Outcome,
        hint: &'static str,
    },
}

/// The most probes [`bisect`] makes for `n` candidates when none of them errs: both ends, then
/// `ceil(log2(n - 1))`.
pub fn max_probes(n: usize) -> usize {
    if n < 2 {
        return n;
    }
    let gaps = n - 1;
    2 + (usize::BITS - (gaps - 1).leading_zeros()) as usize
}

/// Finds the first candidate whose outcome differs from the first one's. `measure` gets the
/// index and the candidate and runs the experiment; it is called once per probe, one at a time.
pub async fn bisect<C, F, Fut>(candidates: &[C], measure: F) -> Result<Bisection, BisectError>
where
    F: FnMut(usize, &C) -> Fut,
    Fut: Future<Output = Outcome>,
{
    bisect_ahead(candidates, measure, |_| {}).await
}

/// [`bisect`], telling `ahead` before each measurement which candidates the next one may be
/// (either half's next probe), so that they can be prepared (built) while this one runs.
pub async fn bisect_ahead<C, F, Fut>(
    candidates: &[C],
    mut measure: F,
    mut ahead: impl FnMut(&[&C]),
) -> Result<Bisection, BisectError>
where
    F: FnMut(usize, &C) -> Fut,
    Fut: Future<Output = Outcome>,
{
    let n = candidates.len();
    if n < 2 {
        return Err(BisectError::TooFew(n));
    }
    let mut probes = Vec::new();
    if n >= 2 {
        ahead(&[&candidates[n - 1]]);
    }
    let reference = measure(0, &candidates[0]).await;
    probes.push(Probe {
        index: 0,
        outcome: reference,
    });
    if reference == Outcome::Error {
        return Err(BisectError::EndFailed {
            which: "first",
            index: 0,
        });
    }
    if let Some(first) = next_probe(0, n - 1, &BTreeSet::new()) {
        ahead(&[&candidates[first]]);
    }
    let last = measure(n - 1, &candidates[n - 1]).await;
    probes.push(Probe {
        index: n - 1,
        outcome: last,
    });
    match last {
        Outcome::Error => {
            return Err(BisectError::EndFailed {
                which: "last",
                index: n - 1,
            })
        }
        o if o == reference => return Err(BisectError::EndsAgree { outcome: o }),
        _ => {}
    }

    let (mut lo, mut hi) = (0, n - 1);
    let mut skipped = BTreeSet::new();
    while let Some(mid) = next_probe(lo, hi, &skipped) {
        let next: Vec<&C> = [next_probe(lo, mid, &skipped), next_probe(mid, hi, &skipped)]
            .into_iter()
            .flatten()
            .map(|i| &candidates[i])
            .collect();
        ahead(&next);
        let outcome = measure(mid, &candidates[mid]).await;
        probes.push(Probe {
            index: mid,
            outcome,
        });
        if outcome == Outcome::Error {
            skipped.insert(mid);
        } else if outcome == reference {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(Bisection {
        reference,
        probes,
        last_same: lo,
        first_different: hi,
        untested: skipped.range(lo + 1..hi).copied().collect(),
    })
}

/// The untested candidate strictly between `lo` and `hi` nearest the middle (the lower one on
/// a tie), or none.
fn next_probe(lo: usize, hi: usize, skipped: &BTreeSet<usize>) -> Option<usize> {
    let mid = lo + (hi - lo) / 2;
    (lo + 1..hi)
        .filter(|i| !skipped.contains(i))
        .min_by_key(|i| (i.abs_diff(mid), *i))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::cell::RefCell;
    use Outcome::*;

    /// Bisects a made-up list of outcomes, counting the measurements.
    async fn run(outcomes: &[Outcome]) -> (Result<Bisection, BisectError>, Vec<usize>) {
        let calls = RefCell::new(Vec::new());
        let result = bisect(outcomes, |i, o| {
            calls.borrow_mut().push(i);
            let o = *o;
            async move { o }
        })
        .await;
        (result, calls.into_inner())
    }

    /// Outcomes of `n` candidates whose first `first_bad` do not reproduce and the rest do.
    pub(crate) fn regression_at(n: usize, first_bad: usize) -> Vec<Outcome> {
        (0..n)
            .map(|i| {
                if i < first_bad {
                    NotReproduced
                } else {
                    Reproduced
                }
            })
            .collect()
    }

    #[tokio::test]
    async fn finds_every_boundary_within_the_probe_budget() {
        for n in 2..=40 {
            for first_bad in 1..n {
                let (result, calls) = run(&regression_at(n, first_bad)).await;
                let b = result.unwrap();
                assert_eq!((b.last_same, b.first_different), (first_bad - 1, first_bad));
                assert!(b.is_exact());
                assert_eq!(b.reference, NotReproduced);
                assert!(
                    calls.len() <= max_probes(n),
                    "n={n} first_bad={first_bad}: {} probes > {}",
                    calls.len(),
                    max_probes(n)
                );
                let unique: BTreeSet<_> = calls.iter().collect();
                assert_eq!(unique.len(), calls.len(), "a candidate measured twice");
            }
        }
    }

    /// Every candidate measured after the first was among those `ahead` named just before the
    /// measurement before it (so it could be built while that one ran), and `ahead` never
    /// names more than the two halves' next probes.
    #[tokio::test]
    async fn ahead_names_the_next_candidate_before_it_is_measured() {
        for n in 2..=40 {
            for first_bad in 1..n {
                let outcomes: Vec<(usize, Outcome)> = regression_at(n, first_bad)
                    .into_iter()
                    .enumerate()
                    .collect();
                let events = RefCell::new(Vec::new());
                let result = bisect_ahead(
                    &outcomes,
                    |_, &(i, o)| {
                        events.borrow_mut().push(Err(i));
                        async move { o }
                    },
                    |next: &[&(usize, Outcome)]| {
                        assert!(next.len() <= 2);
                        events
                            .borrow_mut()
                            .push(Ok(next.iter().map(|c| c.0).collect::<Vec<_>>()));
                    },
                )
                .await;
                assert!(result.is_ok());
                let events = events.into_inner();
                // What was announced before a measurement is what may come after it.
                let (mut fresh, mut pending): (Vec<usize>, Option<Vec<usize>>) = (vec![], None);
                for e in &events {
                    match e {
                        Ok(next) => fresh = next.clone(),
                        Err(i) => {
                            if let Some(announced) = &pending {
                                assert!(
                                    announced.contains(i),
                                    "n={n} first_bad={first_bad}: {i} measured, {announced:?} announced ({events:?})"
                                );
                            }
                            pending = Some(std::mem::take(&mut fresh));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn probe_budget_is_two_ends_plus_log2_of_the_gaps() {
        assert_eq!(max_probes(2), 2);
        assert_eq!(max_probes(3), 3);
        assert_eq!(max_probes(5), 4);
        assert_eq!(max_probes(9), 5);
        assert_eq!(max_probes(10), 6);
    }

    #[tokio::test]
    async fn a_fix_is_found_the_same_way() {
        // Reproduced up to index 2, fixed from 3 on.
        let outcomes = [
            Reproduced,
            Reproduced,
            Reproduced,
            NotReproduced,
            NotReproduced,
        ];
        let b = run(&outcomes).await.0.unwrap();
        assert_eq!(b.reference, Reproduced);
        assert_eq!(b.first_different, 3);
    }

    #[tokio::test]
    async fn ends_that_agree_are_an_error_after_measuring_only_the_ends() {
        let (result, calls) = run(&[Reproduced, NotReproduced, Reproduced]).await;
        assert_eq!(
            result.unwrap_err(),
            BisectError::EndsAgree {
                outcome: Reproduced
            }
        );
        assert_eq!(calls, [0, 2]);
        assert_eq!(
            run(&[Reproduced]).await.0.unwrap_err(),
            BisectError::TooFew(1)
        );
    }

    #[tokio::test]
    async fn an_end_that_cannot_run_stops_the_bisection() {
        let (result, calls) = run(&[Error, Reproduced, NotReproduced]).await;
        assert!(matches!(
            result.unwrap_err(),
            BisectError::EndFailed { which: "first", .. }
        ));
        assert_eq!(calls, [0], "the last end is not run after the first failed");
        let (result, _) = run(&[Reproduced, NotReproduced, Error]).await;
        assert!(matches!(
            result.unwrap_err(),
            BisectError::EndFailed { which: "last", .. }
        ));
    }

    #[tokio::test]
    async fn an_error_in_the_middle_is_skipped_like_git_bisect_skip() {
        // 0..=3 good, 4 cannot run, 5.. bad: the probe at 4 is skipped, a neighbour is probed.
        let mut outcomes = regression_at(9, 5);
        outcomes[4] = Error;
        let (result, calls) = run(&outcomes).await;
        let b = result.unwrap();
        assert_eq!((b.last_same, b.first_different), (3, 5));
        assert_eq!(b.untested, [4], "the change may be at 4 or at 5");
        assert!(!b.is_exact());
        assert!(calls.contains(&4));
        assert!(b.probes.iter().any(|p| p.index == 4 && p.outcome == Error));
    }

    #[tokio::test]
    async fn a_skipped_candidate_away_from_the_change_does_not_blur_the_answer() {
        let mut outcomes = regression_at(9, 6);
        outcomes[4] = Error;
        let b = run(&outcomes).await.0.unwrap();
        assert_eq!((b.last_same, b.first_different), (5, 6));
        assert!(b.is_exact());
    }

    #[tokio::test]
    async fn all_middle_candidates_erroring_leaves_the_whole_interval_open() {
        let outcomes = [NotReproduced, Error, Error, Error, Reproduced];
        let b = run(&outcomes).await.0.unwrap();
        assert_eq!((b.last_same, b.first_different), (0, 4));
        assert_eq!(b.untested, [1, 2, 3]);
    }
}
