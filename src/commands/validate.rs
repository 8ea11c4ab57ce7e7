//! `ready validate`: load the configuration and say what it holds.

use crate::Exit;
use crate::cli::ConfigArgs;
use crate::config::Source;
use crate::redact::SharedRedactor;

use super::{environment, load};

pub fn run(args: &ConfigArgs, secrets: &SharedRedactor) -> anyhow::Result<Exit> {
    let env = environment();
    let (source, loaded) = load(args, &env, secrets)?;
    let suite = &loaded.suite;
    let shown = match source {
        Source::File(p) => p.display().to_string(),
        Source::Builtin => "the built-in suite".into(),
    };
    super::print_stdout(format!(
        "{shown}: valid, {} checks, {} targets, {} waivers\n",
        suite.checks.len(),
        suite.targets.len(),
        suite.waivers.len()
    ))?;
    Ok(Exit::Go)
}
