//! `ready report`: re-render a saved result, recomputing the decision; touches no target.

use crate::cli::ReportArgs;
use crate::redact::Redactor;
use crate::report::Format;
use crate::{Exit, scoring, usage};

use super::{emit, environment, extra_reports, goal, read_result};

pub fn run(args: &ReportArgs) -> anyhow::Result<Exit> {
    let env = environment();
    let mut result = read_result(&args.result)?;
    let stage_names: Vec<String> = result.stages.iter().map(|s| s.name.clone()).collect();
    let names: Vec<&str> = stage_names.iter().map(String::as_str).collect();
    let recorded = result.stage.clone();
    let goal = goal(&args.decision, &names, Some(&recorded))?;
    let extra = extra_reports(&args.output.report);
    scoring::rescore(&mut result, &goal)
        .map_err(|e| usage(format!("{}: {e}", args.result.display())))?;
    // A saved result was redacted when it was written; no configuration is loaded here.
    let history = match &args.history {
        Some(dir) => crate::report::read_history(dir).map_err(|e| usage(e.to_string()))?,
        None => Vec::new(),
    };
    emit(
        &result,
        &args.output,
        Format::Table,
        &extra,
        &env,
        &Redactor::default(),
        &history,
    )
}
