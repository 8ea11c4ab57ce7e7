//! `ready`: a production-readiness gate. `run` executes one command line and says how it ended;
//! `main` only maps that to the process exit code.

pub mod baseline;
pub mod checks;
pub mod cli;
pub mod config;
pub mod merge;
pub mod model;
pub mod redact;
pub mod report;
pub mod result;
pub mod runner;
pub mod scoring;
pub mod selector;
pub mod waivers;

mod init;
mod logging;

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use comfy_table::{Table, presets};

use cli::{
    CheckArgs, Cli, ColorChoice, Command, ConfigArgs, DecisionArgs, MergeArgs, ReportArgs,
    SchemaKind, SelectArgs,
};
use config::{Loaded, Source};
use redact::Redactor;
use report::Format;
use runner::{Assembly, RunOptions};
use selector::Selector;

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
    logging::init(cli.verbose);
    match dispatch(cli) {
        Ok(exit) => exit,
        Err(e) => {
            let text = logging::redact(&format!("{e:#}"));
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

fn dispatch(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Check(args) => check(&args),
        Command::Validate(args) => validate(&args),
        Command::List(args) => list(&args.config, &args.select),
        Command::Explain { id, config } => explain(&id, &config),
        Command::Report(args) => report(&args),
        Command::Merge(args) => merge(&args),
        Command::Init(args) => init::init(&args),
        Command::Schema { which } => {
            let schema = match which {
                SchemaKind::Result => result::json_schema(),
                SchemaKind::Config => config::schema::json_schema(),
            };
            println!("{}", serde_json::to_string_pretty(&schema)?);
            Ok(Exit::Go)
        }
        Command::Man => {
            let page = clap_mangen::Man::new(<Cli as clap::CommandFactory>::command());
            page.render(&mut std::io::stdout())
                .context("cannot write the man page")?;
            Ok(Exit::Go)
        }
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "ready", &mut std::io::stdout());
            Ok(Exit::Go)
        }
    }
}

fn environment() -> HashMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

fn load(args: &ConfigArgs, env: &HashMap<String, String>) -> anyhow::Result<(Source, Loaded)> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let source = config::discover(args.config.as_deref(), env, &cwd);
    tracing::debug!(?source, "configuration");
    let loaded = config::load(&source, env, &cwd)?;
    logging::set_secrets(Redactor::new(loaded.suite.secrets.clone()));
    Ok((source, loaded))
}

fn selectors(texts: &[String], flag: &str) -> anyhow::Result<Vec<Selector>> {
    texts
        .iter()
        .map(|t| Selector::parse(t).map_err(|e| usage(format!("{flag} {t}: {e}"))))
        .collect()
}

fn validate(args: &ConfigArgs) -> anyhow::Result<Exit> {
    let env = environment();
    let (source, loaded) = load(args, &env)?;
    let suite = &loaded.suite;
    let shown = match source {
        Source::File(p) => p.display().to_string(),
        Source::Builtin => "the built-in suite".into(),
    };
    println!(
        "{shown}: valid, {} checks, {} targets, {} waivers",
        suite.checks.len(),
        suite.targets.len(),
        suite.waivers.len()
    );
    Ok(Exit::Go)
}

fn list(args: &ConfigArgs, select: &SelectArgs) -> anyhow::Result<Exit> {
    let env = environment();
    let (_, loaded) = load(args, &env)?;
    let options = RunOptions {
        only: selectors(&select.only, "--only")?,
        skip: selectors(&select.skip, "--skip")?,
        ..RunOptions::default()
    };
    let mut table = Table::new();
    table.load_style(presets::NOTHING).force_no_tty();
    table.set_header(vec![
        "id", "kind", "target", "category", "severity", "blocker", "tags",
    ]);
    for c in loaded.suite.checks.iter().filter(|c| options.selects(c)) {
        table.add_row(vec![
            c.id.clone(),
            c.kind_name.to_string(),
            c.target.clone().unwrap_or_else(|| "-".into()),
            c.category.clone(),
            c.severity.as_str().to_string(),
            if c.blocker { "yes".into() } else { "no".into() },
            c.tags.join(","),
        ]);
    }
    println!("{table}");
    Ok(Exit::Go)
}

fn explain(id: &str, args: &ConfigArgs) -> anyhow::Result<Exit> {
    let env = environment();
    let (_, loaded) = load(args, &env)?;
    let suite = &loaded.suite;
    let Some(c) = suite.checks.iter().find(|c| c.id == id) else {
        let mut close: Vec<&str> = suite
            .checks
            .iter()
            .map(|c| c.id.as_str())
            .filter(|c| c.contains(id) || id.contains(*c))
            .take(5)
            .collect();
        close.sort_unstable();
        let hint = if close.is_empty() {
            String::new()
        } else {
            format!(" (similar: {})", close.join(", "))
        };
        return Err(usage(format!(
            "no check with id `{id}`{hint}; `ready list` shows them all"
        )));
    };
    let mut out = String::new();
    out.push_str(&format!("{} — {}\n\n", c.id, c.title));
    out.push_str(&format!("kind:        {}\n", c.kind_name));
    out.push_str(&format!(
        "target:      {}\n",
        c.target.as_deref().unwrap_or("-")
    ));
    out.push_str(&format!("category:    {}\n", c.category));
    out.push_str(&format!(
        "severity:    {} (weight {})\n",
        c.severity.as_str(),
        c.weight
    ));
    out.push_str(&format!(
        "blocker:     {}\n",
        if c.blocker { "yes" } else { "no" }
    ));
    if !c.tags.is_empty() {
        out.push_str(&format!("tags:        {}\n", c.tags.join(", ")));
    }
    out.push_str(&format!(
        "timeout:     {}\n",
        checks::local::human(c.timeout)
    ));
    out.push_str(&format!("defined at:  {}\n", c.defined_at));
    for (title, text) in [("Description", &c.description), ("Rationale", &c.rationale)] {
        if let Some(text) = text {
            out.push_str(&format!(
                "\n{title}\n  {}\n",
                text.trim().replace('\n', "\n  ")
            ));
        }
    }
    let params = serde_saphyr::to_string(&c.params).unwrap_or_else(|_| c.params.to_string());
    out.push_str(&format!(
        "\nParameters ({})\n  {}\n",
        c.kind_name,
        params.trim_end().replace('\n', "\n  ")
    ));
    if let Some(fix) = &c.remediation {
        out.push_str(&format!(
            "\nRemediation\n  {}\n",
            fix.trim().replace('\n', "\n  ")
        ));
    }
    for missing in &c.unresolved {
        out.push_str(&format!(
            "\nNote: {missing}; the check will be `error` until it is.\n"
        ));
    }
    print!("{}", logging::redact(&out));
    Ok(Exit::Go)
}

fn check(args: &CheckArgs) -> anyhow::Result<Exit> {
    let env = environment();
    let (_, loaded) = load(&args.config, &env)?;
    let suite = &loaded.suite;
    let stage_names: Vec<&str> = suite.stages.iter().map(|s| s.name.as_str()).collect();
    let goal = goal(&args.decision, &stage_names, None)?;
    let extra_reports = extra_reports(&args.output.report)?;
    let timeout = match &args.timeout {
        Some(t) => {
            Some(checks::params::parse_duration(t).map_err(|e| usage(format!("--timeout: {e}")))?)
        }
        None => None,
    };
    if args.concurrency == Some(0) {
        return Err(usage("--concurrency must be at least 1"));
    }
    let shard = args
        .shard
        .as_deref()
        .map(runner::Shard::parse)
        .transpose()
        .map_err(usage)?;
    let baseline = args.baseline.as_deref().map(read_result).transpose()?;
    let options = RunOptions {
        concurrency: args.concurrency,
        timeout,
        only: selectors(&args.select.only, "--only")?,
        skip: selectors(&args.select.skip, "--skip")?,
        no_waivers: args.no_waivers,
        progress: !args.no_progress && std::io::stderr().is_terminal() && !env.contains_key("CI"),
        shard,
    };

    let started_at = chrono::Utc::now();
    let clock = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let executed = runtime.block_on(runner::execute(&loaded, &env, &options));
    // Pools close with the runtime: no connection outlives the run.
    drop(runtime);
    let redactor = logging::redactor();
    let result = runner::assemble(
        executed,
        &Assembly {
            suite,
            options: &options,
            goal: goal.clone(),
            started_at,
            duration: clock.elapsed(),
            redactor: &redactor,
            baseline: baseline.as_ref(),
        },
    );
    emit(
        &result,
        &args.output,
        Format::Table,
        &extra_reports,
        &env,
        &[],
    )
}

fn report(args: &ReportArgs) -> anyhow::Result<Exit> {
    let env = environment();
    let mut result = read_result(&args.result)?;
    let stage_names: Vec<String> = result.stages.iter().map(|s| s.name.clone()).collect();
    let names: Vec<&str> = stage_names.iter().map(String::as_str).collect();
    let recorded = result.stage.clone();
    let goal = goal(&args.decision, &names, Some(&recorded))?;
    let extra = extra_reports(&args.output.report)?;
    scoring::rescore(&mut result, &goal)
        .map_err(|e| usage(format!("{}: {e}", args.result.display())))?;
    let history = match &args.history {
        Some(dir) => report::read_history(dir).map_err(|e| usage(e.to_string()))?,
        None => Vec::new(),
    };
    emit(&result, &args.output, Format::Table, &extra, &env, &history)
}

fn merge(args: &MergeArgs) -> anyhow::Result<Exit> {
    let env = environment();
    let results = args
        .results
        .iter()
        .map(|p| read_result(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut merged = merge::merge(results).map_err(usage)?;
    let stage_names: Vec<String> = merged.stages.iter().map(|s| s.name.clone()).collect();
    let names: Vec<&str> = stage_names.iter().map(String::as_str).collect();
    let recorded = merged.stage.clone();
    let goal = goal(&args.decision, &names, Some(&recorded))?;
    let extra = extra_reports(&args.output.report)?;
    scoring::rescore(&mut merged, &goal).map_err(usage)?;
    emit(&merged, &args.output, Format::Json, &extra, &env, &[])
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
fn goal<'a>(
    args: &'a DecisionArgs,
    stages: &[&'a str],
    recorded: Option<&'a str>,
) -> anyhow::Result<scoring::Goal<'a>> {
    let stage = match (&args.stage, recorded) {
        (Some(name), _) if stages.contains(&name.as_str()) => name.as_str(),
        (Some(name), _) => {
            return Err(usage(format!(
                "unknown stage `{name}`; stages: {}",
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

fn extra_reports(specs: &[String]) -> anyhow::Result<Vec<(Format, PathBuf)>> {
    specs
        .iter()
        .map(|spec| {
            let (format, path) = spec.split_once('=').ok_or_else(|| usage(format!("--report {spec}: write FORMAT=PATH, e.g. json=result.json")))?;
            let format = Format::parse(format).ok_or_else(|| usage(format!("--report {spec}: unknown format `{format}` (table, json, markdown, junit, github, html)")))?;
            Ok((format, PathBuf::from(path)))
        })
        .collect()
}

/// Writes the main report and the extra ones, appends the markdown report to the GitHub step
/// summary when a github report is asked for there, and says how the run ended.
fn emit(
    result: &result::RunResult,
    output: &cli::OutputArgs,
    default_format: Format,
    extra: &[(Format, PathBuf)],
    env: &HashMap<String, String>,
    history: &[result::RunResult],
) -> anyhow::Result<Exit> {
    let format = output.format.unwrap_or(default_format);
    let color = match output.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            output.output.is_none()
                && std::io::stdout().is_terminal()
                && env.get("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let main = report::render_with_history(format, color, result, history)?;
    match &output.output {
        Some(path) => write_file(path, &main)?,
        None => std::io::stdout()
            .write_all(&main)
            .context("cannot write the report")?,
    }
    for (format, path) in extra {
        write_file(
            path,
            &report::render_with_history(*format, false, result, history)?,
        )?;
    }
    let github = format == Format::Github || extra.iter().any(|(f, _)| *f == Format::Github);
    if github && let Some(summary) = env.get("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let markdown = report::render(Format::Markdown, false, result)?;
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

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
