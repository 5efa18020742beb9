//! The `haprepro` command line: argument parsing and terminal output only; the work is in the
//! library.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
