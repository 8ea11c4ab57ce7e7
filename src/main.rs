use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    ExitCode::from(ready::run(ready::cli::Cli::parse()) as u8)
}
