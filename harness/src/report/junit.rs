//! `junit.xml`: the matrix for CI servers, one testcase per scenario x version.
//!
//! The classname is the scenario and the name the version, so a CI's test view groups a
//! scenario's versions together. A case that measured the wrong outcome (or had no expectation
//! for its version) is a `failure`; a case that could not run is an `error`, as JUnit separates
//! "the assertion did not hold" from "the test could not run". The text says what was measured,
//! what was expected, why, and where the evidence is.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{cells, CaseRecord, Cell};
use crate::verdict::Verdict;

/// The JUnit XML of a matrix: one test suite per scenario.
pub fn xml(records: &[CaseRecord]) -> Result<String, quick_junit::SerializeError> {
    let run_ids: std::collections::BTreeSet<&str> =
        records.iter().map(|r| r.run_id.as_str()).collect();
    let mut report = Report::new(format!(
        "haprepro {}",
        run_ids.into_iter().collect::<Vec<_>>().join(",")
    ));
    let cells = cells(records);
    let mut suites: Vec<TestSuite> = Vec::new();
    for cell in &cells {
        if suites.last().map(|s| s.name.as_str()) != Some(cell.scenario.as_str()) {
            suites.push(TestSuite::new(cell.scenario.clone()));
        }
        if let Some(suite) = suites.last_mut() {
            suite.add_test_case(test_case(cell));
        }
    }
    report.add_test_suites(suites);
    report.to_string()
}

fn test_case(cell: &Cell) -> TestCase {
    let status = match cell.verdict() {
        Verdict::Pass => TestCaseStatus::success(),
        verdict => {
            let kind = if verdict == Verdict::Error {
                NonSuccessKind::Error
            } else {
                NonSuccessKind::Failure
            };
            let mut status = TestCaseStatus::non_success(kind);
            if cell.outcome() == crate::verdict::Outcome::Crashed {
                status.set_type(format!("{verdict}: crashed"));
            } else {
                status.set_type(verdict.to_string());
            }
            status.set_message(failure_message(cell));
            if let Some(r) = cell.representative() {
                status.set_description(timeline(r));
            }
            status
        }
    };
    let mut case = TestCase::new(cell.version.clone(), status);
    case.set_classname(cell.scenario.clone());
    case.set_time(Duration::from_millis(
        cell.runs.iter().map(|r| r.wall_ms).sum(),
    ));
    if let Some(r) = cell.representative() {
        case.set_system_out(format!(
            "image {} ({}), HAProxy {}\nevidence: {}\n",
            r.image,
            r.image_source,
            r.version,
            r.evidence_dir.display()
        ));
        let died: Vec<String> = r
            .haproxy_exit
            .iter()
            .filter(|e| e.is_crash())
            .map(|e| {
                format!(
                    "HAProxy died: {}\n{}",
                    e.headline(),
                    e.last_lines.join("\n")
                )
            })
            .collect();
        if !died.is_empty() {
            case.set_system_err(died.join("\n"));
        }
    }
    case
}

/// `measured reproduced, expected not-reproduced (range *): <reason>; evidence <dir>`.
pub fn failure_message(cell: &Cell) -> String {
    let Some(r) = cell.representative() else {
        return "no run recorded".into();
    };
    let expected = match (&r.expected, &r.expected_range) {
        (Some(o), Some(range)) => format!("expected {o} (range {range})"),
        (Some(o), None) => format!("expected {o}"),
        _ => "no [expect] range covers this version".into(),
    };
    let runs = if cell.runs.len() > 1 {
        format!(
            " [{} runs: {}; this one started {}]",
            cell.runs.len(),
            cell.measured(),
            r.started_at
        )
    } else {
        String::new()
    };
    format!(
        "measured {}, {expected}: {}{runs}; evidence {}",
        r.outcome,
        r.reason,
        r.evidence_dir.display()
    )
}

/// The steps as text: `  1.20s ok  #4 wait be/app1 RMAINT  438ms  detail`.
fn timeline(r: &CaseRecord) -> String {
    let mut out = String::new();
    for s in &r.steps {
        out.push_str(&format!(
            "{:>7.2}s {} #{:<2} {} ({}ms) {}\n",
            s.at_ms as f64 / 1000.0,
            if s.ok { "ok " } else { "ERR" },
            s.index,
            s.action,
            s.elapsed_ms,
            s.detail
        ));
    }
    for (name, value) in &r.measures {
        out.push_str(&format!("measure {name} = {value}\n"));
    }
    out
}
