//! `ready merge`: combine shard results into one, score and decision recomputed.

use crate::cli::MergeArgs;
use crate::redact::Redactor;
use crate::report::Format;
use crate::{Exit, merge, scoring, usage};

use super::{emit, environment, extra_reports, goal, read_result};

pub fn run(args: &MergeArgs) -> anyhow::Result<Exit> {
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
    let extra = extra_reports(&args.output.report);
    scoring::rescore(&mut merged, &goal).map_err(usage)?;
    // Saved results were redacted when they were written; no configuration is loaded here.
    emit(
        &merged,
        &args.output,
        Format::Json,
        &extra,
        &env,
        &Redactor::default(),
        &[],
    )
}
