use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use ready::cli::Cli;

fn main() -> ExitCode {
    // A shell asking for completions (`_READY_COMPLETE=bash ready -- WORDS…`) is answered here.
    clap_complete::CompleteEnv::with_factory(Cli::command)
        .var(ready::COMPLETE_VAR)
        .complete();
    ExitCode::from(ready::run(Cli::parse()) as u8)
}
