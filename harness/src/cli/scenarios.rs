//! `haprepro scenarios`: what the scenario folders hold (each case, its repeat count and its
//! expectation per version range), with every file checked as a run would check it. Needs no
//! Docker, so a scenario author gets the file:line:column errors in a second.

use clap::Args;
use haprepro::scenario;

use super::run::CaseArgs;
use super::{exit, CliError, CliResult};

#[derive(Args)]
pub struct ScenariosArgs {
    /// Only these scenarios (comma-separated); all by default.
    #[arg(value_delimiter = ',')]
    names: Vec<String>,
    #[command(flatten)]
    case: CaseArgs,
}

pub fn run(args: ScenariosArgs) -> CliResult {
    let dir = args.case.scenarios_dir();
    let names = if args.names.is_empty() {
        scenario::list(&dir)
    } else {
        args.names.clone()
    };
    if names.is_empty() {
        return Err(CliError::usage(format!("no scenario in {}", dir.display())));
    }
    let (mut cases, mut invalid) = (0, 0);
    for name in &names {
        let scenario = match super::run::load_scenario(name, &dir) {
            Ok(s) => s,
            Err(e) => {
                // Said at once, and the other scenarios still listed.
                e.display_to_stderr();
                invalid += 1;
                continue;
            }
        };
        println!("{}: {}", scenario.name, scenario.raw.summary);
        for r in &scenario.raw.refs {
            println!("  ref {r}");
        }
        for variant in &scenario.variants {
            cases += 1;
            let expect: Vec<String> = variant
                .expectations
                .0
                .iter()
                .map(|(range, outcome)| format!("{range} = {outcome}"))
                .collect();
            println!(
                "  {:<28} {:<10} expect {}",
                variant.name.as_deref().unwrap_or("(the scenario)"),
                if variant.repeat > 1 {
                    format!("x{}", variant.repeat)
                } else {
                    String::new()
                },
                expect.join("; ")
            );
        }
    }
    println!(
        "\n{} scenario(s) in {}: {cases} case(s) per version{}",
        names.len() - invalid,
        dir.display(),
        if invalid > 0 {
            format!("; {invalid} could not be loaded (errors above)")
        } else {
            String::new()
        }
    );
    // The verdict of a listing: bad input when any scenario could not be loaded.
    Ok(if invalid > 0 { exit::USAGE } else { exit::OK })
}
