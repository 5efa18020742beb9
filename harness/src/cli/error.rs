//! Why a command stopped before its verdict, as a value: what kind of problem it is (bad input,
//! a harness that cannot work, a failure), what to say on stderr, and nothing printed yet.
//! Commands return it with `?`; `cli::main` alone prints it and turns its kind into the exit
//! code (docs/verdicts.md, "Exit codes"), or, for `check`, into `git bisect run`'s codes.

use std::error::Error;
use std::fmt::Display;

use super::exit;

/// What a command that ran to its end exits with: its verdict (0 all passed, 1 a case failed;
/// `check`'s 0, 1, 125 or 129).
pub type Verdict = i32;

/// A command's result: its verdict, or why it stopped.
pub type CliResult = Result<Verdict, CliError>;

/// The kinds of problem, each an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bad usage or input: nothing was started (2; `check`: 128).
    Usage,
    /// The harness itself could not work: Docker, images, capture, the results folder (3;
    /// `check`: 129).
    Harness,
    /// The work ran and its answer is a failure (1), said on stderr rather than in a table.
    Failed,
    /// Only `check`: this build cannot be judged (125, `git bisect run` skips it).
    Untestable,
}

/// What is said on stderr.
#[derive(Debug)]
enum Message {
    /// `error: {line}` for each line.
    Lines(Vec<String>),
    /// `error: {e}` and its causes, as "Caused by:" lines.
    Chain(Box<dyn Error + Send + Sync + 'static>),
}

/// A command's problem: its kind, its message, and what follows the message.
#[derive(Debug)]
pub struct CliError {
    kind: Kind,
    message: Message,
    /// Lines printed after the message as they are ("  Nothing was started.").
    notes: Vec<String>,
    /// An exit code to pass on instead of the kind's (a child `haprepro` that stopped).
    code: Option<i32>,
    /// For `check`: what its exit line adds to the reason ("; no usable HAProxy from ...").
    context: String,
}

impl CliError {
    fn new(kind: Kind, message: Message) -> Self {
        CliError {
            kind,
            message,
            notes: Vec::new(),
            code: None,
            context: String::new(),
        }
    }

    /// A problem of this kind, said as one `error: ` line (the text may hold more lines).
    pub fn says(kind: Kind, message: impl Display) -> Self {
        CliError::new(kind, Message::Lines(vec![message.to_string()]))
    }

    /// Bad input, said as `error: {message}`.
    pub fn usage(message: impl Display) -> Self {
        CliError::says(Kind::Usage, message)
    }

    /// A harness problem, said as `error: {message}`.
    pub fn harness(message: impl Display) -> Self {
        CliError::says(Kind::Harness, message)
    }

    /// A failure, said as `error: {message}`.
    pub fn failed(message: impl Display) -> Self {
        CliError::says(Kind::Failed, message)
    }

    /// A problem said as several `error: ` lines (a scenario file's errors, one each).
    pub fn lines(kind: Kind, lines: impl IntoIterator<Item = impl Display>) -> Self {
        CliError::new(
            kind,
            Message::Lines(lines.into_iter().map(|l| l.to_string()).collect()),
        )
    }

    /// A problem of this kind said as the error and its chain of causes.
    pub fn of(kind: Kind, err: impl Error + Send + Sync + 'static) -> Self {
        CliError::new(kind, Message::Chain(Box::new(err)))
    }

    /// The same, with a line printed after the message as it is.
    pub fn note(mut self, line: impl Display) -> Self {
        self.notes.push(line.to_string());
        self
    }

    /// The same, exiting with `code` (a child's) instead of the kind's.
    pub fn code(mut self, code: i32) -> Self {
        self.code = Some(code);
        self
    }

    /// The same, with what `check`'s exit line adds to its reason.
    pub fn context(mut self, context: impl Display) -> Self {
        self.context = context.to_string();
        self
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// What `check`'s exit line adds to its reason.
    pub fn check_context(&self) -> &str {
        &self.context
    }

    /// The exit code of every command but `check` (docs/verdicts.md, "Exit codes").
    pub fn exit_code(&self) -> i32 {
        self.code.unwrap_or(match self.kind {
            Kind::Usage => exit::USAGE,
            Kind::Harness => exit::HARNESS,
            Kind::Failed | Kind::Untestable => exit::FAILED,
        })
    }

    /// Prints the message and its notes on stderr.
    pub fn display_to_stderr(&self) {
        match &self.message {
            Message::Lines(lines) => {
                for line in lines {
                    eprintln!("error: {line}");
                }
            }
            Message::Chain(err) => report_error(err.as_ref()),
        }
        for line in &self.notes {
            eprintln!("{line}");
        }
    }
}

/// Prints an error with its chain of causes, as "Caused by:" lines.
pub fn report_error(err: &(dyn Error + 'static)) {
    eprintln!("error: {err}");
    for (i, cause) in haprepro::causes::of(err).enumerate() {
        if i == 0 {
            eprintln!("\nCaused by:");
        }
        eprintln!("    {cause}");
    }
}

/// An image that could not be had: bad input (an unknown version, a ref that does not exist, a
/// patch that does not apply) or else a harness problem.
impl From<haprepro::images::ImageError> for CliError {
    fn from(e: haprepro::images::ImageError) -> Self {
        let kind = if e.is_bad_input() {
            Kind::Usage
        } else {
            Kind::Harness
        };
        CliError::of(kind, e)
    }
}

/// Docker and the case networks: a bad `HAPREPRO_SUBNETS` is bad input, the rest the harness's.
impl From<haprepro::runtime::RuntimeError> for CliError {
    fn from(e: haprepro::runtime::RuntimeError) -> Self {
        use haprepro::runtime::subnets::SubnetError;
        use haprepro::runtime::RuntimeError;
        let kind = match e {
            RuntimeError::Subnets(SubnetError::Invalid { .. }) => Kind::Usage,
            _ => Kind::Harness,
        };
        CliError::of(kind, e)
    }
}

/// Packet capture that this process may not open: the harness's.
impl From<haprepro::capture::CaptureError> for CliError {
    fn from(e: haprepro::capture::CaptureError) -> Self {
        CliError::of(Kind::Harness, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_its_documented_exit_code() {
        assert_eq!(CliError::usage("x").exit_code(), exit::USAGE);
        assert_eq!(CliError::harness("x").exit_code(), exit::HARNESS);
        assert_eq!(CliError::failed("x").exit_code(), exit::FAILED);
        assert_eq!(
            CliError::harness("a child matrix stopped")
                .code(130)
                .exit_code(),
            130,
            "a child's own code is passed on"
        );
    }

    #[test]
    fn a_bad_subnet_range_is_usage_and_any_other_runtime_error_the_harness() {
        use haprepro::runtime::RuntimeError;
        let missing = RuntimeError::ImageMissing {
            image: "haprepro/haproxy:trixie".into(),
        };
        assert_eq!(CliError::from(missing).kind(), Kind::Harness);
        let invalid = RuntimeError::Subnets(haprepro::runtime::subnets::SubnetError::Invalid {
            value: "10.213.0.0".into(),
            reason: "no /N".into(),
        });
        assert_eq!(CliError::from(invalid).kind(), Kind::Usage);
    }
}
