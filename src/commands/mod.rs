//! One file per subcommand; what several of them share lives here: loading the configuration,
//! reading a saved result, the goal of a decision, and writing the reports.

pub mod check;
pub mod completions;
pub mod explain;
pub mod init;
pub mod list;
pub mod merge;
pub mod report;
pub mod schema;
pub mod validate;

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cli::{self, ConfigArgs, DecisionArgs};
use crate::config::{self, Loaded, Source};
use crate::redact::{Redactor, SharedRedactor};
use crate::report::{self as reports, Format, Look};
use crate::selector::Selector;
use crate::{Exit, result, scoring, usage};

pub(crate) fn environment() -> HashMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// Loads the configuration and makes its secrets known to `secrets` (and so to the log).
fn load(
    args: &ConfigArgs,
    env: &HashMap<String, String>,
    secrets: &SharedRedactor,
) -> anyhow::Result<(Source, Loaded)> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let source = config::discover(args.config.as_deref(), env, &cwd);
    tracing::debug!(?source, "configuration");
    let loaded = config::load(&source, env, &cwd)?;
    secrets.replace(Redactor::new(loaded.suite.secrets.clone()));
    Ok((source, loaded))
}

/// `--only`/`--skip` were parsed by clap; their category names and ids are checked once the
/// suite is known: a typo would otherwise select nothing without a word.
fn selectors(
    selected: &[Selector],
    flag: &str,
    suite: &crate::model::Suite,
) -> anyhow::Result<Vec<Selector>> {
    let known: Vec<&str> = suite.categories.iter().map(|c| c.id.as_str()).collect();
    let ids: Vec<&str> = suite.checks.iter().map(|c| c.id.as_str()).collect();
    selected
        .iter()
        .map(|s| {
            s.clone()
                .knowing_categories(&known)
                .and_then(|s| s.knowing_ids(&ids))
                .map_err(|e| usage(format!("{flag} {s}: {e}")))
        })
        .collect()
}

fn read_result(path: &Path) -> anyhow::Result<result::RunResult> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("{}: cannot read: {e}", path.display())))?;
    let result: result::RunResult = serde_json::from_str(&text)
        .map_err(|e| usage(format!("{}: not a ready result: {e}", path.display())))?;
    if result.schema != result::SCHEMA_ID {
        return Err(usage(format!(
            "{}: schema `{}` is not {}",
            path.display(),
            result.schema,
            result::SCHEMA_ID
        )));
    }
    Ok(result)
}

/// The stage and bar to decide for: `--stage` must name a stage; the default is the recorded
/// stage of a saved result, else the last stage.
pub(crate) fn goal<'a>(
    args: &'a DecisionArgs,
    stages: &[&'a str],
    recorded: Option<&'a str>,
) -> anyhow::Result<scoring::Goal<'a>> {
    let stage = match (&args.stage, recorded) {
        (Some(name), _) if stages.contains(&name.as_str()) => name.as_str(),
        (Some(name), _) => {
            return Err(usage(format!(
                "unknown stage `{name}`{}; stages: {}",
                crate::suggest::did_you_mean(name, stages.iter().copied()),
                stages.join(", ")
            )));
        }
        (None, Some(recorded)) => recorded,
        (None, None) => stages.last().copied().unwrap_or_default(),
    };
    if let Some(m) = args.min_score
        && !(0.0..=100.0).contains(&m)
    {
        return Err(usage("--min-score must be from 0 to 100"));
    }
    Ok(scoring::Goal {
        stage,
        min_score: args.min_score,
        fail_on_regression: args.fail_on_regression,
    })
}

pub(crate) fn extra_reports(specs: &[crate::cli::ReportSpec]) -> Vec<(Format, PathBuf)> {
    specs.iter().map(|r| (r.format, r.path.clone())).collect()
}

/// Writes to standard output. A reader that went away (`ready list | head -2`) is not an error:
/// the command ends quietly with its normal exit code.
pub(crate) fn print_stdout(bytes: impl AsRef<[u8]>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes.as_ref()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => written.context("cannot write to standard output"),
    }
}

/// Writes the main report and the extra ones, appends the markdown report to the GitHub step
/// summary when a github report is asked for there, and says how the run ended.
pub(crate) fn emit(
    result: &result::RunResult,
    output: &cli::OutputArgs,
    default_format: Format,
    extra: &[(Format, PathBuf)],
    env: &HashMap<String, String>,
    redactor: &Redactor,
    history: &[result::RunResult],
) -> anyhow::Result<Exit> {
    let format = output.format.unwrap_or(default_format);
    let terminal = output.output.is_none() && std::io::stdout().is_terminal();
    let look = Look {
        color: output
            .color
            .enabled(terminal, |name| env.get(name).cloned()),
        width: terminal_width(terminal),
        all: output.all,
        quiet: output.quiet,
    };
    let main = reports::render_with_history(format, look, result, history, redactor)?;
    match &output.output {
        Some(path) => write_file(path, &main)?,
        None => print_stdout(&main)?,
    }
    for (format, path) in extra {
        let report = reports::render_with_history(*format, Look::PLAIN, result, history, redactor)?;
        write_file(path, &report)?;
    }
    let github = format == Format::Github || extra.iter().any(|(f, _)| *f == Format::Github);
    if github && let Some(summary) = env.get("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let markdown = reports::render(Format::Markdown, Look::PLAIN, result, redactor)?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(summary)
            .with_context(|| format!("cannot open GITHUB_STEP_SUMMARY {summary}"))?;
        file.write_all(&markdown)
            .with_context(|| format!("cannot write GITHUB_STEP_SUMMARY {summary}"))?;
    }
    Ok(if result.decision.go {
        Exit::Go
    } else {
        Exit::NoGo
    })
}

/// The terminal's width when the report goes to one, else 100 columns.
fn terminal_width(terminal: bool) -> u16 {
    let detected = terminal
        .then(|| comfy_table::Table::new().width())
        .flatten();
    detected.filter(|w| *w >= 40).unwrap_or(Look::PLAIN.width)
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
