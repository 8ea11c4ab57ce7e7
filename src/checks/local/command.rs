//! `command`: a program (argv, no shell) exits as expected and its output matches.

use std::process::Stdio;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::checks::outcome::{CheckError, CheckOutcome, Cut, Finding, Observation};
use crate::checks::params::{DurationParam, OneOrMany, ScalarText};
use crate::checks::{Ctx, KindSpec};
use crate::target::TargetFamily;
use crate::vocab::human;

/// Bytes of each end of a command's output a finding shows, cut after masking.
const SHOWN_END_BYTES: usize = 1024;

mod capture;

use capture::Capture;

/// How long output is still read after the command exited, from what it left running.
const DRAIN_AFTER_EXIT: std::time::Duration = std::time::Duration::from_millis(200);

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
}

/// Runs argv directly (no shell) in the project directory, in a process group of its own so
/// that nothing it starts outlives the check.
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
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| CheckError::new(format!("cannot run `{program}`: {e}")))?;
    // Dropped when the check ends in any way (exit, its own timeout, the runner's): whatever the
    // command left running in its group is killed then.
    let _group = child.id().map(GroupKiller);
    let mut stdout = Capture::new(&wanted(&params.stdout_contains));
    let mut stderr = Capture::new(&wanted(&params.stderr_not_contains));
    let exchange = exchange(&mut child, &mut stdout, &mut stderr);
    let status = match params.timeout {
        Some(DurationParam(limit)) => {
            tokio::time::timeout(limit, exchange).await.map_err(|_| {
                CheckError::new(format!("`{program}` timed out after {}", human(limit)))
            })?
        }
        None => exchange.await,
    }
    .map_err(|e| CheckError::new(format!("`{program}` failed to run: {e}")))?;
    Ok(judge(params, program, status.code(), &stdout, &stderr))
}

fn wanted(strings: &Option<OneOrMany<String>>) -> Vec<String> {
    strings.clone().map(OneOrMany::into_vec).unwrap_or_default()
}

/// Waits for the command itself to exit while reading its output. Once it has exited, what it
/// started in the background may keep the pipes open: the output is read for a moment longer,
/// then no more.
async fn exchange(
    child: &mut tokio::process::Child,
    stdout: &mut Capture,
    stderr: &mut Capture,
) -> std::io::Result<std::process::ExitStatus> {
    let missing = || std::io::Error::other("its output could not be captured");
    let out_pipe = child.stdout.take().ok_or_else(missing)?;
    let err_pipe = child.stderr.take().ok_or_else(missing)?;
    let reading = async {
        tokio::join!(stdout.read_from(out_pipe), stderr.read_from(err_pipe));
    };
    let mut reading = std::pin::pin!(reading);
    let mut read_all = false;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status?,
            () = &mut reading, if !read_all => read_all = true,
        }
    };
    if !read_all {
        let _ = tokio::time::timeout(DRAIN_AFTER_EXIT, reading).await;
    }
    Ok(status)
}

/// Kills a command's whole process group (the command and everything it started).
struct GroupKiller(u32);

impl Drop for GroupKiller {
    fn drop(&mut self) {
        if let Ok(group) = libc::pid_t::try_from(self.0) {
            // SAFETY: kill(2) with a negative pid signals a process group; it touches no memory.
            // The group is the command's own (`process_group(0)`), never ours.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
        }
    }
}

fn judge(
    params: &CommandParams,
    program: &str,
    code: Option<i32>,
    stdout: &Capture,
    stderr: &Capture,
) -> Observation {
    let evidence = evidence(code, stdout, stderr);
    let cuts = output_cuts(stdout, stderr);
    let mut obs = Observation::default();
    let subject = program;
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
            .cut(&cuts),
        ),
        None => obs.findings.push(
            Finding::fail(subject, format!("`{program}` was killed by a signal"))
                .with_evidence(evidence.clone())
                .cut(&cuts),
        ),
    }
    for (index, wanted) in wanted(&params.stdout_contains).iter().enumerate() {
        if !stdout.contains(index) {
            obs.findings.push(
                Finding::fail(subject, format!("stdout does not contain \"{wanted}\""))
                    .with_evidence(evidence.clone())
                    .cut(&cuts),
            );
        }
    }
    for (index, unwanted) in wanted(&params.stderr_not_contains).iter().enumerate() {
        if stderr.contains(index) {
            obs.findings.push(
                Finding::fail(subject, format!("stderr contains \"{unwanted}\""))
                    .with_evidence(evidence.clone())
                    .cut(&cuts),
            );
        }
    }
    obs.summary = Some(format!(
        "`{program}` exited with {}",
        code.map_or("a signal".into(), |c| c.to_string())
    ));
    obs
}

/// Exit code and the kept output; the exact size of a stream whose middle is not shown.
fn evidence(code: Option<i32>, stdout: &Capture, stderr: &Capture) -> serde_json::Value {
    let mut evidence = json!({
        "exit_code": code,
        "stdout": stdout.text(),
        "stderr": stderr.text(),
    });
    for (name, capture) in [("stdout_bytes", stdout), ("stderr_bytes", stderr)] {
        if capture.total_bytes() > 2 * SHOWN_END_BYTES as u64 {
            evidence[name] = json!(capture.total_bytes());
        }
    }
    evidence
}

/// Each stream shown by its ends, once `evaluate` has masked the secrets in all that was kept.
fn output_cuts(stdout: &Capture, stderr: &Capture) -> [Cut; 2] {
    let ends = |key, capture: &Capture| Cut::EvidenceEnds {
        key,
        head: SHOWN_END_BYTES,
        tail: SHOWN_END_BYTES,
        unread: capture.unread(),
    };
    [ends("stdout", stdout), ends("stderr", stderr)]
}
