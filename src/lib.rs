//! `ready`: a production-readiness gate. `run` executes one command line and says how it ended;
//! `main` only maps that to the process exit code.

pub mod baseline;
pub mod checks;
pub mod cli;
pub mod config;
pub mod evaluate;
pub mod locations;
pub mod merge;
pub mod model;
pub mod redact;
pub mod report;
pub mod result;
pub mod runner;
pub mod scoring;
pub mod selector;
pub mod suggest;
pub mod target;
pub mod vocab;
pub mod waivers;

mod commands;
mod demo;
mod discover;
mod logging;

use std::io::IsTerminal;

use cli::{Cli, Command};
use redact::SharedRedactor;

pub use commands::completions::COMPLETE_VAR;

/// How a command ended; the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// GO, or the command succeeded.
    Go = 0,
    /// NO-GO.
    NoGo = 1,
    /// The configuration or the command line is wrong.
    Usage = 2,
    /// Something else went wrong.
    Internal = 3,
}

/// A problem the user can fix in the configuration or the command line (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(String);

fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

pub fn run(cli: Cli) -> Exit {
    // The run's secrets as they become known; the log writer and error messages mask them.
    let secrets = SharedRedactor::default();
    let log_color = cli
        .command
        .color()
        .enabled(std::io::stderr().is_terminal(), |name| {
            std::env::var(name).ok()
        });
    logging::init(cli.verbose, log_color, secrets.clone());
    match dispatch(cli, &secrets) {
        Ok(exit) => exit,
        Err(e) => {
            let text = secrets.redact(&format!("{e:#}"));
            if e.downcast_ref::<UsageError>().is_some()
                || e.downcast_ref::<config::diagnostic::Diagnostics>()
                    .is_some()
            {
                eprint!("{text}");
                if !text.ends_with('\n') {
                    eprintln!();
                }
                Exit::Usage
            } else {
                eprintln!("ready: internal error: {text}");
                Exit::Internal
            }
        }
    }
}

fn dispatch(cli: Cli, secrets: &SharedRedactor) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Check(args) => commands::check::run(&args, secrets),
        Command::Validate(args) => commands::validate::run(&args, secrets),
        Command::List(args) => commands::list::run(&args.config, &args.select, secrets),
        Command::Explain { id, config } => commands::explain::run(&id, &config, secrets),
        Command::Report(args) => commands::report::run(&args),
        Command::Merge(args) => commands::merge::run(&args),
        Command::Init(args) => commands::init::run(&args),
        Command::Schema { which } => commands::schema::run(which),
        Command::Man(args) => commands::completions::man(&args),
        Command::Completions { shell } => commands::completions::run(shell),
        Command::Demo(args) => demo::run(&args, secrets),
    }
}
