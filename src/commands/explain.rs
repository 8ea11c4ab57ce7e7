//! `ready explain ID`: what a check verifies, with what, and how to fix it.

use crate::cli::ConfigArgs;
use crate::model::Check;
use crate::redact::SharedRedactor;
use crate::suggest::did_you_mean;
use crate::{Exit, usage};

use super::{environment, load};

pub fn run(id: &str, args: &ConfigArgs, secrets: &SharedRedactor) -> anyhow::Result<Exit> {
    let env = environment();
    let (_, loaded) = load(args, &env, secrets)?;
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
            did_you_mean(id, suite.checks.iter().map(|c| c.id.as_str()))
        } else {
            format!(" (similar: {})", close.join(", "))
        };
        return Err(usage(format!(
            "no check with id `{id}`{hint}; `ready list` shows them all"
        )));
    };
    super::print_stdout(secrets.redact(&describe(c)))?;
    Ok(Exit::Go)
}

/// The check's settings, texts and parameters, as `explain` prints them.
fn describe(c: &Check) -> String {
    let mut out = String::new();
    out.push_str(&format!("{} — {}\n\n", c.id, c.title));
    out.push_str(&format!("kind:        {}\n", c.kind_name()));
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
        crate::vocab::human(c.timeout)
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
        c.kind_name(),
        params.trim_end().replace('\n', "\n  ")
    ));
    if let Some(fix) = &c.remediation {
        out.push_str(&format!(
            "\nRemediation\n  {}\n",
            fix.trim().replace('\n', "\n  ")
        ));
    }
    for missing in c.unresolved() {
        out.push_str(&format!(
            "\nNote: {missing}; the check will be `error` until it is.\n"
        ));
    }
    out
}
