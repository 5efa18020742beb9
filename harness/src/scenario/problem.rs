//! Harness problems: failures that are the harness's or the machine's (Docker gone, no capture
//! permission, an image not built), told apart from a scenario's own failures so that a run
//! stops on the first one and says what to do, instead of marking every case `error`.

/// How a record's reason shows a harness problem: `setup: harness problem: Docker ...`.
const HARNESS_PROBLEM: &str = "harness problem: ";

/// Errors that every case would hit, whatever its scenario: Docker is gone, an image the
/// harness needs is missing, capture or adding addresses to the case bridge is not permitted,
/// no subnet of `HAPREPRO_SUBNETS` is free (or the variable is bad).
fn is_harness_problem(e: &(dyn std::error::Error + 'static)) -> bool {
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

/// An error with its causes on one line, for records.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    crate::causes::one_line(e)
}

/// An error as a step's or a stage's problem: a harness problem when it is one (see
/// [`is_harness_problem`]), else the case's, with its causes on one line.
pub(crate) fn problem(e: &(dyn std::error::Error + 'static)) -> Problem {
    let text = error_chain(e);
    if is_harness_problem(e) {
        Problem::Harness(text)
    } else {
        Problem::Case(text)
    }
}

/// What went wrong in a step or a stage: the case's own failure (the experiment did not run as
/// written) or a harness problem (the same for every case: stop the run and say what to do).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Problem {
    Case(String),
    Harness(String),
}

impl Problem {
    /// The harness problem's text, for the record's `harness_error`; `None` for the case's own.
    pub(crate) fn harness_problem(&self) -> Option<String> {
        match self {
            Problem::Harness(text) => Some(text.clone()),
            Problem::Case(_) => None,
        }
    }
}

/// A step's own failure, written as text (`format!`, `ok_or_else`): the case's.
impl From<String> for Problem {
    fn from(text: String) -> Problem {
        Problem::Case(text)
    }
}

impl From<&str> for Problem {
    fn from(text: &str) -> Problem {
        Problem::Case(text.to_string())
    }
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

    /// A failure of the case as a whole, not of one stage.
    pub(crate) fn of_case(problem: Problem) -> Failure {
        Failure {
            during: None,
            problem,
        }
    }

    /// The harness problem, for the record's `harness_error`.
    pub(crate) fn harness_problem(&self) -> Option<String> {
        self.problem.harness_problem()
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
