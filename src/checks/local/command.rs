//! `command`: a program (argv, no shell) exits as expected and its output matches.

use std::process::Stdio;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::checks::outcome::{CheckError, CheckOutcome, Cut, Finding, Observation};
use crate::checks::params::{DurationParam, OneOrMany, ScalarText, keep};
use crate::checks::{Ctx, KindSpec};
use crate::model::TargetFamily;
use crate::vocab::human;

/// At most this much of a command's output goes into evidence.
const OUTPUT_EVIDENCE_BYTES: usize = 2048;
const OUTPUT_CUTS: &[Cut] = &[
    Cut::Evidence("stdout", OUTPUT_EVIDENCE_BYTES),
    Cut::Evidence("stderr", OUTPUT_EVIDENCE_BYTES),
];

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandParams {
    pub run: Vec<ScalarText>,
    #[serde(default)]
    pub expect_exit: i32,
    pub stdout_contains: Option<OneOrMany<String>>,
    pub stderr_not_contains: Option<OneOrMany<String>>,
    pub timeout: Option<DurationParam>,
}

impl KindSpec for CommandParams {
    fn family(&self) -> Option<TargetFamily> {
        None
    }

    fn is_network(&self) -> bool {
        false
    }
}

/// Runs argv directly (no shell) in the project directory.
pub async fn run(params: &CommandParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let argv: Vec<&str> = params.run.iter().map(|a| a.0.as_str()).collect();
    let Some((program, args)) = argv.split_first() else {
        return Err(CheckError::new(
            "`run` is empty: give the program and its arguments",
        ));
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .current_dir(ctx.base_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command
        .spawn()
        .map_err(|e| CheckError::new(format!("cannot run `{program}`: {e}")))?;
    let output = match params.timeout {
        Some(DurationParam(limit)) => tokio::time::timeout(limit, child.wait_with_output())
            .await
            .map_err(|_| {
                CheckError::new(format!("`{program}` timed out after {}", human(limit)))
            })?,
        None => child.wait_with_output().await,
    }
    .map_err(|e| CheckError::new(format!("`{program}` failed to run: {e}")))?;

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let code = output.status.code();
    let evidence = json!({
        "exit_code": code,
        "stdout": keep(&stdout),
        "stderr": keep(&stderr),
    });
    let mut obs = Observation::default();
    let subject = *program;
    match code {
        Some(c) if c == params.expect_exit => {}
        Some(c) => obs.findings.push(
            Finding::fail(
                subject,
                format!(
                    "`{program}` exited with {c}, expected {}",
                    params.expect_exit
                ),
            )
            .with_evidence(evidence.clone())
            .cut(OUTPUT_CUTS),
        ),
        None => obs.findings.push(
            Finding::fail(subject, format!("`{program}` was killed by a signal"))
                .with_evidence(evidence.clone())
                .cut(OUTPUT_CUTS),
        ),
    }
    for wanted in params
        .stdout_contains
        .clone()
        .map(OneOrMany::into_vec)
        .unwrap_or_default()
    {
        if !stdout.contains(&wanted) {
            obs.findings.push(
                Finding::fail(subject, format!("stdout does not contain \"{wanted}\""))
                    .with_evidence(evidence.clone())
                    .cut(OUTPUT_CUTS),
            );
        }
    }
    for unwanted in params
        .stderr_not_contains
        .clone()
        .map(OneOrMany::into_vec)
        .unwrap_or_default()
    {
        if stderr.contains(&unwanted) {
            obs.findings.push(
                Finding::fail(subject, format!("stderr contains \"{unwanted}\""))
                    .with_evidence(evidence.clone())
                    .cut(OUTPUT_CUTS),
            );
        }
    }
    obs.summary = Some(format!(
        "`{program}` exited with {}",
        code.map_or("a signal".into(), |c| c.to_string())
    ));
    Ok(obs)
}
