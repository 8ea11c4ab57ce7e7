//! Command-line interface (SPEC §1).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Format;

#[derive(Debug, Parser)]
#[command(name = "ready", version, about = "A production-readiness gate: measured checks, a computed score, a go/no-go decision", after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log what happens to stderr (RUST_LOG works too). Secrets are masked in logs as everywhere.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

pub const EXIT_CODES: &str =
    "Exit codes: 0 GO (or success), 1 NO-GO, 2 configuration or usage error, 3 internal error";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load, validate, run every check, report, decide.
    Check(CheckArgs),
    /// Load and validate only; print every problem as FILE:LINE:COL: message.
    Validate(ConfigArgs),
    /// List the checks that would run.
    List(ListArgs),
    /// Describe a check: its purpose, parameters and remediation.
    Explain {
        /// The check id.
        id: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Print the JSON Schema of the JSON result.
    Schema {
        #[arg(value_enum, default_value = "result")]
        which: SchemaKind,
    },
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaKind {
    /// The `ready.result/v1` JSON result.
    Result,
}

#[derive(Debug, Args, Clone, Default)]
pub struct ConfigArgs {
    /// The project file (default: $READY_CONFIG, ./ready.yaml, ./ready.yml, else the built-in suite).
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// Run only the matching checks: a glob or id:GLOB, tag:NAME, category:NAME, kind:NAME, severity>=LEVEL, blocker.
    #[arg(long, value_name = "SELECTOR")]
    pub only: Vec<String>,
    /// Leave the matching checks out (same selectors as --only).
    #[arg(long, value_name = "SELECTOR")]
    pub skip: Vec<String>,
}

#[derive(Debug, Args, Clone)]
pub struct ListArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub select: SelectArgs,
}

#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    /// The stage to decide for (default: the last stage).
    #[arg(long, value_name = "NAME")]
    pub stage: Option<String>,
    /// Replace the target stage's minimum score.
    #[arg(long, value_name = "N")]
    pub min_score: Option<f64>,
    /// The format of the report on stdout (or --output).
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write the report to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write a report in another format, e.g. --report json=result.json (repeatable).
    #[arg(long, value_name = "FORMAT=PATH")]
    pub report: Vec<String>,
    /// How many checks run at once (default: defaults.concurrency, 16).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Replace every check's timeout, e.g. 30s.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Ignore every waiver.
    #[arg(long)]
    pub no_waivers: bool,
    /// When to colour the table report (NO_COLOR is honoured).
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// Never show the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
