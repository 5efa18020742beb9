//! `haprepro reference`: the step and measure reference in Markdown, written from the word
//! registries (`docs/reference.md` is this output, checked by a unit test). Needs no Docker.

use clap::Args;

use super::{exit, CliResult};

#[derive(Args)]
pub struct ReferenceArgs {}

pub fn run(_: ReferenceArgs) -> CliResult {
    print!("{}", haprepro::scenario::reference::markdown());
    Ok(exit::OK)
}
