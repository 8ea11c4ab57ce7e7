//! `ready validate`: load the configuration and say what it holds, or every problem in it.

use std::io::IsTerminal;

use anyhow::Context as _;

use crate::Exit;
use crate::cli::{ValidateArgs, ValidateFormat};
use crate::config::diagnostic::{Diagnostics, Report};
use crate::config::{self, Source, snippet};
use crate::redact::{Redactor, SharedRedactor};

use super::environment;

pub fn run(args: &ValidateArgs, secrets: &SharedRedactor) -> anyhow::Result<Exit> {
    let env = environment();
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let source = config::discover(args.config.config.as_deref(), &env, &cwd);
    let (diags, summary) = match config::load(&source, &env, &cwd) {
        Ok(loaded) => {
            secrets.replace(Redactor::new(loaded.suite.secrets.clone()));
            let suite = &loaded.suite;
            let shown = match &source {
                Source::File(p) => p.display().to_string(),
                Source::Builtin => "the built-in suite".into(),
            };
            let summary = format!(
                "{shown}: valid, {} checks, {} targets, {} waivers\n",
                suite.checks.len(),
                suite.targets.len(),
                suite.waivers.len()
            );
            (loaded.warnings, Some(summary))
        }
        Err(diags) => (diags, None),
    };
    match args.format {
        ValidateFormat::Json => {
            let json = serde_json::to_string_pretty(&Report::new(&diags))?;
            super::print_stdout(format!("{json}\n"))?;
        }
        ValidateFormat::Text => print_text(args, &env, &diags, summary.as_deref())?,
    }
    Ok(if diags.has_errors() {
        Exit::Usage
    } else {
        Exit::Go
    })
}

/// The diagnostics with their snippets on stderr, the summary of a valid suite on stdout.
fn print_text(
    args: &ValidateArgs,
    env: &std::collections::HashMap<String, String>,
    diags: &Diagnostics,
    summary: Option<&str>,
) -> anyhow::Result<()> {
    let color = args.color.enabled(std::io::stderr().is_terminal(), |name| {
        env.get(name).cloned()
    });
    eprint!("{}", snippet::render(diags, color));
    match summary {
        Some(summary) => super::print_stdout(summary),
        None => Ok(()),
    }
}
