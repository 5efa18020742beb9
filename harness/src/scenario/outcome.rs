//! Expectations (what the scenario expects per version range) and the outcome of a repeated
//! case; [`crate::verdict`] holds the outcome and verdict types themselves.

pub use crate::verdict::{verdict, Outcome, Verdict};

use crate::haproxy::{HaproxyVersion, VersionRange};

/// The `[expect]` table: ranges in file order, first match wins.
#[derive(Debug, Clone)]
pub struct Expectations(pub Vec<(VersionRange, Outcome)>);

impl Expectations {
    /// The expected outcome for a version, with the range that gave it.
    pub fn for_version(&self, version: &HaproxyVersion) -> Option<(&VersionRange, Outcome)> {
        self.0
            .iter()
            .find(|(range, _)| range.contains(version))
            .map(|(range, outcome)| (range, *outcome))
    }
}

/// The outcome of a case that ran `outcomes.len()` times (a racy bug's `repeat`), with its
/// reason: `crashed` when HAProxy died in any run, else `error` unless every run ran (a run that could not run might have been the one to
/// show the symptom, or not: neither answer is earned), else reproduced if the symptom appeared
/// at least once, not reproduced only if it never did.
pub fn repeated(outcomes: &[Outcome]) -> (Outcome, String) {
    let n = outcomes.len();
    let reproduced = outcomes
        .iter()
        .filter(|o| **o == Outcome::Reproduced)
        .count();
    let errors = outcomes.iter().filter(|o| **o == Outcome::Error).count();
    let crashed = outcomes.iter().filter(|o| **o == Outcome::Crashed).count();
    if n == 0 {
        return (Outcome::Error, "no run".into());
    }
    // A death is a result whatever the other runs did: it is never averaged away.
    if crashed > 0 {
        return (
            Outcome::Crashed,
            format!(
                "HAProxy crashed in {crashed} of {n} runs; symptom in {reproduced}, {errors} could not run"
            ),
        );
    }
    if errors > 0 {
        return (
            Outcome::Error,
            format!(
                "{} of {n} runs ran ({errors} could not run); symptom in {reproduced} of the {} that ran",
                n - errors,
                n - errors
            ),
        );
    }
    let outcome = if reproduced > 0 {
        Outcome::Reproduced
    } else {
        Outcome::NotReproduced
    };
    (
        outcome,
        format!("symptom in {reproduced} of {n} runs (all {n} ran)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Expectations {
        Expectations(vec![
            (
                VersionRange::parse("3.0-dev1..3.0-dev12").unwrap(),
                Outcome::Reproduced,
            ),
            (
                VersionRange::parse("2.2..").unwrap(),
                Outcome::NotReproduced,
            ),
        ])
    }

    #[test]
    fn first_matching_range_wins_and_distro_suffixes_are_ignored() {
        let t = table();
        let dev = HaproxyVersion::parse("3.0-dev7").unwrap();
        assert_eq!(t.for_version(&dev).unwrap().1, Outcome::Reproduced);
        let debian = HaproxyVersion::parse("3.0.11-1+deb13u3").unwrap();
        assert_eq!(t.for_version(&debian).unwrap().1, Outcome::NotReproduced);
        let old = HaproxyVersion::parse("1.8.30").unwrap();
        assert!(t.for_version(&old).is_none());
    }

    #[test]
    fn a_repeated_case_is_an_error_unless_every_run_ran() {
        use Outcome::*;
        let (o, why) = repeated(&[
            Error,
            Error,
            Error,
            Error,
            Error,
            Error,
            Error,
            NotReproduced,
        ]);
        assert_eq!(o, Error);
        assert_eq!(
            why,
            "1 of 8 runs ran (7 could not run); symptom in 0 of the 1 that ran"
        );
        // Even a symptom seen does not outweigh a run that could not run.
        assert_eq!(repeated(&[Reproduced, Error]).0, Error);
        let (o, why) = repeated(&[NotReproduced, Reproduced, NotReproduced]);
        assert_eq!(
            (o, why.as_str()),
            (Reproduced, "symptom in 1 of 3 runs (all 3 ran)")
        );
        assert_eq!(repeated(&[NotReproduced, NotReproduced]).0, NotReproduced);
        assert_eq!(repeated(&[]).0, Error);
        let (o, why) = repeated(&[NotReproduced, Crashed, Error]);
        assert_eq!(o, Crashed);
        assert!(why.starts_with("HAProxy crashed in 1 of 3 runs"), "{why}");
    }

    #[test]
    fn verdicts() {
        use Outcome::*;
        assert_eq!(verdict(Reproduced, Some(Reproduced)), Verdict::Pass);
        assert_eq!(verdict(NotReproduced, Some(Reproduced)), Verdict::Fail);
        assert_eq!(verdict(Reproduced, None), Verdict::NoExpectation);
        assert_eq!(verdict(Error, Some(Reproduced)), Verdict::Error);
    }
}
