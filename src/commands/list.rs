//! `ready list`: the checks that would run, one line each.

use comfy_table::{Table, presets};

use crate::Exit;
use crate::cli::{ConfigArgs, SelectArgs};
use crate::redact::SharedRedactor;
use crate::runner::RunOptions;

use super::{environment, load, selectors};

pub fn run(
    args: &ConfigArgs,
    select: &SelectArgs,
    secrets: &SharedRedactor,
) -> anyhow::Result<Exit> {
    let env = environment();
    let (_, loaded) = load(args, &env, secrets)?;
    let options = RunOptions {
        only: selectors(&select.only, "--only", &loaded.suite)?,
        skip: selectors(&select.skip, "--skip", &loaded.suite)?,
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
            c.kind_name().to_string(),
            c.target.clone().unwrap_or_else(|| "-".into()),
            c.category.clone(),
            c.severity.as_str().to_string(),
            if c.blocker { "yes".into() } else { "no".into() },
            c.tags.join(","),
        ]);
    }
    super::print_stdout(format!("{table}\n"))?;
    Ok(Exit::Go)
}
