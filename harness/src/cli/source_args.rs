//! The command-line options of image sources, shared by `run`, `check`, `matrix` and `bisect`:
//! [`SourceArgs`] puts each kind's flag of [`ImageSource::KINDS`] into a command, in the form
//! the command's [`Shape`] takes (`run --version V`, `matrix --versions A,B`, `bisect --images
//! A,B`), with the build options of `--src`, and reads them back once.

use std::marker::PhantomData;

use clap::{Arg, ArgAction, ArgGroup, ArgMatches, Args, Command, FromArgMatches};
use haprepro::images::kind::{src, Flag, Kind, Values};
use haprepro::images::{BuildOptions, ImageSource, Profile};
use haprepro::scenario::Scenario;

use super::CliError;

/// What a command takes of each kind: which of a kind's flags it has, and how they are grouped.
pub trait Shape {
    fn flag(kind: &Kind) -> Option<Flag>;
    /// The command, its flags of the kinds (`ids`) grouped as it needs.
    fn group(cmd: Command, ids: Vec<&'static str>) -> Command;
}

/// `run` and `check`: one source, of exactly one kind.
pub struct One;
/// `matrix`: columns of the kinds that can be one, any number each.
pub struct Columns;
/// `bisect`: candidates in order, of the kinds that can be, at least one flag given.
pub struct Candidates;

impl Shape for One {
    fn flag(kind: &Kind) -> Option<Flag> {
        Some(kind.one)
    }
    fn group(cmd: Command, ids: Vec<&'static str>) -> Command {
        cmd.group(ArgGroup::new("source").args(ids).required(true))
    }
}

impl Shape for Columns {
    fn flag(kind: &Kind) -> Option<Flag> {
        kind.columns
    }
    fn group(cmd: Command, _: Vec<&'static str>) -> Command {
        cmd
    }
}

impl Shape for Candidates {
    fn flag(kind: &Kind) -> Option<Flag> {
        kind.candidates
    }
    fn group(cmd: Command, ids: Vec<&'static str>) -> Command {
        cmd.group(
            ArgGroup::new("candidates")
                .args(ids)
                .required(true)
                .multiple(true),
        )
    }
}

/// The image sources given to a command: each kind's values as given, and the build options.
pub struct SourceArgs<S> {
    given: Vec<(&'static Kind, Vec<String>)>,
    pub build: BuildOptions,
    shape: PhantomData<S>,
}

fn arg(flag: Flag) -> Arg {
    let arg = Arg::new(flag.long)
        .long(flag.long)
        .value_name(flag.value_name)
        .help(flag.help)
        .value_parser(clap::value_parser!(String));
    match flag.values {
        Values::One => arg.action(ArgAction::Set),
        Values::List => arg.action(ArgAction::Append).value_delimiter(','),
        Values::Repeated => arg.action(ArgAction::Append),
    }
}

impl<S: Shape> Args for SourceArgs<S> {
    fn augment_args(cmd: Command) -> Command {
        let flags: Vec<Flag> = ImageSource::KINDS
            .iter()
            .filter_map(|k| S::flag(k))
            .collect();
        let cmd = flags.iter().fold(cmd, |cmd, f| cmd.arg(arg(*f)));
        let cmd = S::group(cmd, flags.iter().map(|f| f.long).collect());
        BuildOptions::augment_args(cmd)
    }
    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl<S: Shape> FromArgMatches for SourceArgs<S> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let given = ImageSource::KINDS
            .into_iter()
            .filter_map(|kind| {
                let values = matches.get_many::<String>(S::flag(kind)?.long)?;
                Some((kind, values.cloned().collect()))
            })
            .collect();
        Ok(SourceArgs {
            given,
            build: BuildOptions::from_arg_matches(matches)?,
            shape: PhantomData,
        })
    }
    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl<S: Shape> SourceArgs<S> {
    /// The values given to a kind's flag, in order; `None` when the flag was not given.
    pub fn given(&self, kind: &Kind) -> Option<&[String]> {
        self.given
            .iter()
            .find(|(k, _)| k.is(kind))
            .map(|(_, v)| v.as_slice())
    }

    /// The first value given to a kind's flag (the only one of a single-valued flag).
    pub fn first(&self, kind: &Kind) -> Option<&str> {
        self.given(kind)?.first().map(String::as_str)
    }

    /// The kinds given, but for those the command treats itself, with their flag and values.
    pub fn others<'a>(
        &'a self,
        handled: &'a [&Kind],
    ) -> impl Iterator<Item = (&'static Kind, Flag, &'a [String])> + 'a {
        self.given.iter().filter_map(move |(kind, values)| {
            let flag = S::flag(kind)?;
            (!handled.iter().any(|h| h.is(kind))).then_some((*kind, flag, values.as_slice()))
        })
    }

    /// Refuses build options given without a kind they apply to: the message of exit 2.
    pub fn build_without_source(&self) -> Result<(), String> {
        if self.build.any() && !self.given.iter().any(|(k, _)| k.builds) {
            return Err(src::NEED_SRC.into());
        }
        Ok(())
    }

    /// The source one value of a kind names, with the build options.
    pub fn parse(&self, kind: &Kind, value: &str) -> Result<ImageSource, String> {
        (kind.parse)(value, &self.build)
    }
}

impl SourceArgs<One> {
    /// The one source given, with `--src`'s build options; an error message and exit 2 when
    /// they do not fit together.
    pub fn source(&self) -> Result<ImageSource, CliError> {
        let source = self
            .build_without_source()
            .and_then(|()| match &self.given[..] {
                [(kind, values)] => self.parse(kind, values.first().map_or("", |v| v.as_str())),
                _ => unreachable!("clap's group takes exactly one source"),
            });
        source.map_err(CliError::usage)
    }
}

/// Refuses a source build whose profile lacks a feature the scenario requires, before any
/// build: exit 2, naming the profile that has it.
pub fn check_requires(scenario: &Scenario, source: &ImageSource) -> Result<(), CliError> {
    let ImageSource::Source(spec) = source else {
        return Ok(());
    };
    let required = scenario.requires();
    let lacking = spec.profile.lacks(&required);
    if lacking.is_empty() {
        return Ok(());
    }
    let hint = match Profile::providing(&required) {
        Some(p) => format!("build with --profile {p}"),
        None => "no build profile has them all".to_string(),
    };
    Err(CliError::usage(format!(
        "scenario {} requires {}, which the {} build profile lacks: {hint}",
        scenario.name,
        lacking.join(", "),
        spec.profile
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli<S: Shape + Send + Sync + 'static> {
        #[command(flatten)]
        source: SourceArgs<S>,
    }

    fn parse<S: Shape + Send + Sync + 'static>(args: &[&str]) -> Result<Cli<S>, clap::Error> {
        Cli::<S>::try_parse_from(std::iter::once("haprepro").chain(args.iter().copied()))
    }

    #[test]
    fn run_takes_exactly_one_source_of_one_kind() {
        let cli = parse::<One>(&["--official", "3.2"]).expect("one source");
        assert_eq!(
            cli.source.source().ok(),
            Some(ImageSource::Official("3.2".into()))
        );
        assert!(parse::<One>(&[]).is_err());
        assert!(parse::<One>(&["--version", "3.0.11", "--official", "3.2"]).is_err());
        assert!(parse::<One>(&["--versions", "3.0.11"]).is_err());
        let cli = parse::<One>(&["--version", "3.0.11", "--ref", "x"]).expect("parses");
        assert_eq!(
            cli.source.source().map_err(|e| e.exit_code()),
            Err(crate::cli::exit::USAGE)
        );
    }

    #[test]
    fn matrix_and_bisect_take_their_kinds_lists() {
        use haprepro::images::kind::{image, official, version};
        let cli = parse::<Columns>(&["--versions", "3.0.11,3.2.26", "--official", "latest"])
            .expect("columns");
        assert_eq!(
            cli.source.given(&version::KIND),
            Some(&["3.0.11".to_string(), "3.2.26".to_string()][..])
        );
        let others: Vec<_> = cli.source.others(&[&version::KIND]).collect();
        assert_eq!(others.len(), 1);
        assert_eq!(others[0].1.long, official::KIND.one.long);
        assert!(parse::<Columns>(&["--image", "x"]).is_err());
        let cli = parse::<Candidates>(&["--images", "a,b"]).expect("candidates");
        assert_eq!(cli.source.given(&image::KIND).map(|v| v.len()), Some(2));
        assert!(parse::<Candidates>(&[]).is_err());
    }
}
