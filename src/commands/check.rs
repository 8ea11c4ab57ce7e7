//! `ready check`: run the checks, evaluate them, report and decide.

use std::io::IsTerminal;
use std::time::Instant;

use anyhow::Context as _;

use crate::cli::CheckArgs;
use crate::config::Source;
use crate::evaluate::{self, Assembly};
use crate::locations::{self, Locations};
use crate::model::{Suite, TargetState};
use crate::redact::SharedRedactor;
use crate::report::Format;
use crate::runner::{self, RunOptions};
use crate::{Exit, usage};

use super::{emit, environment, extra_reports, goal, load, read_result, selectors};

pub fn run(args: &CheckArgs, secrets: &SharedRedactor) -> anyhow::Result<Exit> {
    let env = environment();
    let (source, loaded) = load(&args.config, &env, secrets)?;
    let suite = &loaded.suite;
    if source == Source::Builtin
        && !args.output.quiet
        && let Some(text) = first_run(suite)
    {
        eprint!("{text}");
    }
    let stage_names: Vec<&str> = suite.stages.iter().map(|s| s.name.as_str()).collect();
    let goal = goal(&args.decision, &stage_names, None)?;
    let extra_reports = extra_reports(&args.output.report);
    if args.concurrency == Some(0) {
        return Err(usage("--concurrency must be at least 1"));
    }
    let baseline = args.baseline.as_deref().map(read_result).transpose()?;
    let options = RunOptions {
        concurrency: args.concurrency,
        timeout: args.timeout,
        only: selectors(&args.select.only, "--only", suite)?,
        skip: selectors(&args.select.skip, "--skip", suite)?,
        no_waivers: args.no_waivers,
        progress: !args.no_progress && std::io::stderr().is_terminal() && !env.contains_key("CI"),
        shard: args.shard,
    };

    let started_at = chrono::Utc::now();
    let clock = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let executed = runtime.block_on(runner::execute(&loaded, &env, &options, secrets));
    // Pools close with the runtime: no connection outlives the run.
    drop(runtime);
    let folders = locations::folders(suite, &loaded.base_dir, args.migrations.as_deref());
    let cwd = std::env::current_dir().ok();
    let locations = Locations::read(&folders, cwd.as_deref());
    let redactor = evaluate::redactor(suite, &executed);
    secrets.replace(redactor.clone());
    let result = evaluate::assemble(
        executed,
        &Assembly {
            suite,
            options: &options,
            goal: goal.clone(),
            started_at,
            duration: clock.elapsed(),
            redactor: &redactor,
            baseline: baseline.as_ref(),
            locations: &locations,
        },
    );
    emit(
        &result,
        &args.output,
        Format::Table,
        &extra_reports,
        &env,
        &redactor,
        &[],
    )
}

/// What a first run without configuration needs to know, when none of the built-in suite's
/// targets is configured: which variable each target waits for, and where to go next.
fn first_run(suite: &Suite) -> Option<String> {
    let reasons: Vec<&str> = suite
        .targets
        .values()
        .map(|t| match &t.state {
            TargetState::NotConfigured(reason) => Some(reason.as_str()),
            _ => None,
        })
        .collect::<Option<_>>()
        .filter(|r: &Vec<&str>| !r.is_empty())?;
    let mut text = String::from(
        "No ready.yaml here (and no --config or READY_CONFIG): running the built-in suite.\n",
    );
    for reason in reasons {
        text.push_str(&format!("  {reason}\n"));
    }
    text.push_str(
        "Next steps:\n  ready init   write a ready.yaml and checks/ for this project\n  \
         ready demo   see a whole run on throwaway targets that ready starts itself\n\n",
    );
    Some(text)
}
