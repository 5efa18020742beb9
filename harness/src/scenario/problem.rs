//! Harness problems: failures that are the harness's or the machine's (Docker gone, no capture
//! permission, an image not built), told apart from a scenario's own failures so that a run
//! stops on the first one and says what to do, instead of marking every case `error`.

/// Marks, at the start of an error's text, a failure that is the harness's and not the
/// scenario's (see [`is_harness_problem`]). Errors reach the record as text, through
/// [`error_chain`]; the mark is how the kind survives that.
pub const HARNESS_PROBLEM: &str = "harness problem: ";

/// Errors that every case would hit, whatever its scenario: Docker is gone, an image the
/// harness needs is missing, capture or adding addresses to the case bridge is not permitted,
/// no subnet of `HAPREPRO_SUBNETS` is free (or the variable is bad).
pub fn is_harness_problem(e: &(dyn std::error::Error + 'static)) -> bool {
    use crate::capture::CaptureError;
    use crate::images::ImageError;
    use crate::runtime::RuntimeError;
    let runtime = |r: &RuntimeError| {
        matches!(
            r,
            RuntimeError::DockerUnavailable { .. }
                | RuntimeError::ImageMissing { .. }
                | RuntimeError::Address(crate::runtime::AddrError::Privilege { .. })
                | RuntimeError::Subnets(_)
        )
    };
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(r) = err.downcast_ref::<RuntimeError>() {
            if runtime(r) {
                return true;
            }
        }
        match err.downcast_ref::<ImageError>() {
            Some(ImageError::NotBuilt { .. } | ImageError::MmdebstrapMissing) => return true,
            // Transparent: its source() skips the runtime error it wraps.
            Some(ImageError::Runtime(r)) if runtime(r) => return true,
            _ => {}
        }
        if let Some(CaptureError::PermissionDenied { .. }) = err.downcast_ref::<CaptureError>() {
            return true;
        }
        if let Some(crate::runtime::AddrError::Privilege { .. }) = err.downcast_ref() {
            return true;
        }
        current = err.source();
    }
    false
}

/// The harness problem a failure's text carries (after `setup: ` or `step N: `), if any.
pub(crate) fn harness_problem(reason: &str) -> Option<String> {
    reason
        .find(HARNESS_PROBLEM)
        .map(|at| reason[at + HARNESS_PROBLEM.len()..].to_string())
}

/// An error with its causes on one line, for records; a harness problem begins with
/// [`HARNESS_PROBLEM`].
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let text = crate::causes::one_line(e);
    if is_harness_problem(e) {
        format!("{HARNESS_PROBLEM}{text}")
    } else {
        text
    }
}

/// What went wrong in a step or a stage: the case's own failure (the experiment did not run as
/// written) or a harness problem (the same for every case: stop the run and say what to do).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Problem {
    Case(String),
    Harness(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Case(text) => f.write_str(text),
            Problem::Harness(text) => write!(f, "{HARNESS_PROBLEM}{text}"),
        }
    }
}

/// Why a case ends as `error`: the problem and where it happened (`setup`, `step 3 (api ...)`,
/// `measure`), which the record's reason shows first.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    /// `None`: the case as a whole (a container stopped from outside it).
    pub during: Option<String>,
    pub problem: Problem,
}

impl Failure {
    pub(crate) fn new(during: impl Into<String>, problem: Problem) -> Failure {
        Failure {
            during: Some(during.into()),
            problem,
        }
    }

    /// A failure from an error's text, where a harness problem is marked with
    /// [`HARNESS_PROBLEM`] (see [`error_chain`]); what comes before the mark joins `during`.
    pub(crate) fn from_text(during: &str, text: String) -> Failure {
        match text.find(HARNESS_PROBLEM) {
            None => Failure::new(during, Problem::Case(text)),
            Some(0) => Failure::new(
                during,
                Problem::Harness(text[HARNESS_PROBLEM.len()..].into()),
            ),
            Some(at) => Failure::new(
                format!("{during}: {}", text[..at].trim_end_matches(": ")),
                Problem::Harness(text[at + HARNESS_PROBLEM.len()..].into()),
            ),
        }
    }

    /// A failure of the case as a whole, not of one stage.
    pub(crate) fn of_case(problem: Problem) -> Failure {
        Failure {
            during: None,
            problem,
        }
    }

    /// The harness problem, for the record's `harness_error`.
    pub(crate) fn harness_problem(&self) -> Option<String> {
        match &self.problem {
            Problem::Harness(text) => Some(text.clone()),
            Problem::Case(_) => None,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.during {
            Some(during) => write!(f, "{during}: {}", self.problem),
            None => write!(f, "{}", self.problem),
        }
    }
}
