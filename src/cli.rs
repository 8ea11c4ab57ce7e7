//! Command-line interface (SPEC §1).

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::ArgValueCandidates;

use crate::commands::completions;

use crate::report::Format;
use crate::selector::{Selector, Shard};

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
    /// Load and validate only; print every problem as FILE:LINE:COL: message, with its source.
    Validate(ValidateArgs),
    /// List the checks that would run.
    List(ListArgs),
    /// Describe a check: its purpose, parameters and remediation.
    Explain {
        /// The check id.
        #[arg(add = ArgValueCandidates::new(completions::check_ids))]
        id: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Re-render a saved JSON result in any format, recomputing the decision; touches no target.
    Report(ReportArgs),
    /// Combine shard results (`check --shard I/N`) into one result, score and decision recomputed.
    Merge(MergeArgs),
    /// Write a commented ready.yaml and checks/ for a profile.
    Init(InitArgs),
    /// Run the demo suite on a throwaway wallet app with known holes (no configuration needed).
    Demo(DemoArgs),
    /// Print the JSON Schema of the configuration files or of the JSON result.
    Schema {
        #[arg(value_enum, default_value = "result")]
        which: SchemaKind,
    },
    /// Print the script that registers shell completions (check ids included).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff): the top page, or one subcommand's with all its flags.
    Man(ManArgs),
}

#[derive(Debug, Args, Clone)]
pub struct ManArgs {
    /// The subcommand whose page to print, e.g. `check` (default: the top page, which lists them).
    #[arg(value_name = "COMMAND", value_parser = subcommand_name, conflicts_with = "out")]
    pub command: Option<String>,
    /// Write every page into DIR instead: ready.1 and one per subcommand (ready-check.1, …).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaKind {
    /// ready.yaml and check files.
    Config,
    /// The `ready.result/v1` JSON result.
    Result,
    /// What `ready validate --format json` prints.
    Diagnostics,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    /// Supabase: PostgreSQL with RLS for anon/authenticated, edge functions over HTTP.
    Supabase,
    /// A PostgreSQL database.
    Postgres,
    /// HTTP services.
    Http,
    /// A service with PostgreSQL, Redis and S3-compatible storage (MinIO).
    Backend,
}

#[derive(Debug, Args, Clone)]
pub struct InitArgs {
    #[arg(long, value_enum, default_value = "postgres")]
    pub profile: Profile,
    /// Write the suite from what is there: the database at DATABASE_URL and the service at
    /// READY_HTTP_URL (read-only), and the project folder (instead of a profile).
    #[arg(long, conflicts_with = "profile")]
    pub discover: bool,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
    /// Print what would change (a unified diff, or the files when none exists) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The directory to write into.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

/// How the decision is taken.
#[derive(Debug, Args, Clone, Default)]
pub struct DecisionArgs {
    /// The stage to decide for (default: the last stage).
    #[arg(long, value_name = "NAME")]
    pub stage: Option<String>,
    /// Replace the target stage's minimum score.
    #[arg(long, value_name = "N")]
    pub min_score: Option<f64>,
    /// Any regression against the baseline is a NO-GO.
    #[arg(long)]
    pub fail_on_regression: bool,
}

/// Where and how the report is written.
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// The format of the report on stdout (or --output) [default: table; json for merge].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the report to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write a report in another format, e.g. --report json=result.json (repeatable).
    #[arg(long, value_name = "FORMAT=PATH")]
    pub report: Vec<ReportSpec>,
    /// When to colour the table report and the -v log (NO_COLOR, TERM=dumb, CLICOLOR_FORCE and
    /// FORCE_COLOR are honoured).
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// List the passing checks too (the table report counts them in one line).
    #[arg(long)]
    pub all: bool,
    /// Print the verdict line alone (table report).
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// A result written by `ready check --format json`.
    pub result: PathBuf,
    /// A folder of earlier JSON results: the HTML report adds score trends and failing-since.
    #[arg(long, value_name = "DIR")]
    pub history: Option<PathBuf>,
    #[command(flatten)]
    pub decision: DecisionArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args, Clone)]
pub struct MergeArgs {
    /// The shard results.
    #[arg(required = true)]
    pub results: Vec<PathBuf>,
    #[command(flatten)]
    pub decision: DecisionArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args, Clone, Default)]
pub struct ConfigArgs {
    /// The project file (default: $READY_CONFIG, ./ready.yaml, ./ready.yml, else the built-in suite).
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// `text`: each problem with its source line, on stderr; `json`: one document on stdout.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ValidateFormat,
    /// When to colour the text (NO_COLOR, TERM=dumb, CLICOLOR_FORCE and FORCE_COLOR are honoured).
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    Text,
    Json,
}

#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// Run only the matching checks: a glob or id:GLOB, tag:NAME, category:NAME, kind:NAME, severity>=LEVEL, blocker.
    #[arg(long, value_name = "SELECTOR", add = ArgValueCandidates::new(completions::selectors))]
    pub only: Vec<Selector>,
    /// Leave the matching checks out (same selectors as --only).
    #[arg(long, value_name = "SELECTOR", add = ArgValueCandidates::new(completions::selectors))]
    pub skip: Vec<Selector>,
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
    #[command(flatten)]
    pub decision: DecisionArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Compare with a saved result: regressions and new findings.
    #[arg(long, value_name = "RESULT.json")]
    pub baseline: Option<PathBuf>,
    /// Run only a deterministic share of the checks, e.g. 2/4 (merge the shards with `ready merge`).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// How many checks run at once (default: defaults.concurrency, 16).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Replace every check's timeout, e.g. 30s.
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
    /// Ignore every waiver.
    #[arg(long)]
    pub no_waivers: bool,
    /// Never show the progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// The migration folder whose statements findings point at (besides `migrations` checks').
    #[arg(long, value_name = "DIR")]
    pub migrations: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    /// Run the same app with every hole closed: the gate moves to GO.
    #[arg(long)]
    pub fixed: bool,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Never show the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

impl Command {
    /// The `--color` of a command that reports, for the log as for the report.
    pub fn color(&self) -> ColorChoice {
        let output = match self {
            Command::Check(a) => &a.output,
            Command::Report(a) => &a.output,
            Command::Merge(a) => &a.output,
            Command::Demo(a) => &a.output,
            Command::Validate(a) => return a.color,
            _ => return ColorChoice::Auto,
        };
        output.color
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour an output: `always`/`never` as asked; for `auto`, CLICOLOR_FORCE or
    /// FORCE_COLOR force colour, NO_COLOR and TERM=dumb remove it, else colour on a terminal.
    pub fn enabled(self, terminal: bool, var: impl Fn(&str) -> Option<String>) -> bool {
        let set = |name: &str| var(name).is_some_and(|v| !v.is_empty() && v != "0");
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto if set("CLICOLOR_FORCE") || set("FORCE_COLOR") => true,
            ColorChoice::Auto => {
                terminal && !set("NO_COLOR") && var("TERM").is_none_or(|t| t != "dumb")
            }
        }
    }
}

/// `--report FORMAT=PATH`: one more report, written to a file.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSpec {
    pub format: Format,
    pub path: PathBuf,
}

impl FromStr for ReportSpec {
    type Err = String;

    fn from_str(spec: &str) -> Result<ReportSpec, String> {
        let (format, path) = spec
            .split_once('=')
            .ok_or("write FORMAT=PATH, e.g. json=result.json")?;
        let format = Format::parse(format).ok_or_else(|| {
            let known: Vec<String> = <Format as clap::ValueEnum>::value_variants()
                .iter()
                .filter_map(clap::ValueEnum::to_possible_value)
                .map(|v| v.get_name().to_string())
                .collect();
            format!("unknown format `{format}` ({})", known.join(", "))
        })?;
        Ok(ReportSpec {
            format,
            path: PathBuf::from(path),
        })
    }
}

/// `ready man COMMAND`: the name of one of `ready`'s subcommands.
fn subcommand_name(text: &str) -> Result<String, String> {
    let command = <Cli as clap::CommandFactory>::command();
    let names: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
    if names.contains(&text) {
        return Ok(text.to_string());
    }
    Err(format!(
        "no subcommand `{text}`{}; one of: {}",
        crate::suggest::did_you_mean(text, names.iter().copied()),
        names.join(", ")
    ))
}

/// `--timeout`: a duration with a unit.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    crate::checks::params::parse_duration(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_follows_the_flag_then_the_environment_then_the_terminal() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(ColorChoice::Auto.enabled(true, env(&[("TERM", "xterm")])));
        assert!(!ColorChoice::Auto.enabled(true, env(&[("TERM", "dumb")])));
        assert!(!ColorChoice::Auto.enabled(true, env(&[("NO_COLOR", "1")])));
        assert!(!ColorChoice::Auto.enabled(false, env(&[])));
        assert!(ColorChoice::Auto.enabled(false, env(&[("CLICOLOR_FORCE", "1")])));
        assert!(ColorChoice::Auto.enabled(false, env(&[("FORCE_COLOR", "true")])));
        assert!(!ColorChoice::Auto.enabled(false, env(&[("FORCE_COLOR", "0")])));
        assert!(!ColorChoice::Never.enabled(true, env(&[("FORCE_COLOR", "1")])));
        assert!(ColorChoice::Always.enabled(false, env(&[("TERM", "dumb")])));
    }

    #[test]
    fn report_specs_and_timeouts_parse() {
        assert_eq!(
            "json=out/r.json".parse::<ReportSpec>(),
            Ok(ReportSpec {
                format: Format::Json,
                path: "out/r.json".into()
            })
        );
        assert_eq!(
            "json".parse::<ReportSpec>().unwrap_err(),
            "write FORMAT=PATH, e.g. json=result.json"
        );
        assert!(
            "yaml=x"
                .parse::<ReportSpec>()
                .unwrap_err()
                .starts_with("unknown format `yaml`")
        );
        assert_eq!(parse_timeout("30s"), Ok(Duration::from_secs(30)));
        assert!(parse_timeout("soon").is_err());
    }
}
