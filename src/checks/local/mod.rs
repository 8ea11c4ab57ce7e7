//! Kinds that look at the machine `ready` runs on: environment variables, files, commands.

pub mod coverage;
pub mod secret;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::params::{DurationParam, OneOrMany, RegexParam, ScalarText, truncate};

/// At most this much of a command's output goes into evidence.
const OUTPUT_EVIDENCE_BYTES: usize = 2048;

/// Read as `RawEnvParams`, then checked to name at least one variable.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(try_from = "RawEnvParams")]
pub struct EnvParams {
    pub vars: Vec<String>,
    pub patterns: BTreeMap<String, RegexParam>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawEnvParams {
    #[serde(default)]
    vars: Vec<String>,
    #[serde(default, rename = "match")]
    patterns: BTreeMap<String, RegexParam>,
}

impl TryFrom<RawEnvParams> for EnvParams {
    type Error = String;
    /// A check that names no variable would verify nothing and pass: refuse it.
    fn try_from(raw: RawEnvParams) -> Result<Self, String> {
        if raw.vars.is_empty() && raw.patterns.is_empty() {
            return Err("name at least one variable in `vars` or `match`".into());
        }
        Ok(EnvParams {
            vars: raw.vars,
            patterns: raw.patterns,
        })
    }
}

/// Required variables are set and not empty; patterned ones match. Values are never shown.
pub fn run_env(params: &EnvParams, env: &HashMap<String, String>) -> CheckOutcome {
    let mut obs = Observation::default();
    let mut names: Vec<&String> = params.vars.iter().collect();
    names.extend(params.patterns.keys().filter(|n| !params.vars.contains(n)));
    for name in &names {
        match env.get(name.as_str()) {
            None => obs
                .findings
                .push(Finding::fail(*name, format!("{name} is not set"))),
            Some(v) if v.is_empty() => obs
                .findings
                .push(Finding::fail(*name, format!("{name} is set but empty"))),
            Some(v) => {
                if let Some(RegexParam(re)) = params.patterns.get(name.as_str())
                    && !re.is_match(v)
                {
                    obs.findings.push(Finding::fail(
                        *name,
                        format!("{name} does not match /{}/ (value not shown)", re.as_str()),
                    ));
                }
            }
        }
    }
    obs.summary = Some(format!("{} variable(s) set as required", names.len()));
    Ok(obs)
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileParams {
    pub path: String,
    #[serde(default = "yes")]
    pub exists: bool,
    #[serde(default)]
    pub contains: Vec<String>,
    pub max_age: Option<DurationParam>,
}

fn yes() -> bool {
    true
}

/// The file exists (or must not), is fresh enough, and holds each required text. Its content is
/// never shown: it may hold secrets.
pub async fn run_file(params: &FileParams, base_dir: &Path) -> CheckOutcome {
    let path = base_dir.join(&params.path);
    let shown = params.path.as_str();
    let mut obs = Observation::default();
    let meta = match tokio::fs::metadata(&path).await {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(CheckError::new(format!("cannot read {shown}: {e}"))),
    };
    let Some(meta) = meta else {
        if params.exists {
            obs.findings
                .push(Finding::fail(shown, format!("{shown} does not exist")));
        } else {
            obs.summary = Some(format!("{shown} does not exist, as required"));
        }
        return Ok(obs);
    };
    if !params.exists {
        obs.findings
            .push(Finding::fail(shown, format!("{shown} exists and must not")));
        return Ok(obs);
    }
    if let Some(DurationParam(max_age)) = params.max_age {
        let age = meta
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .unwrap_or_default();
        obs.measure("age_s", age.as_secs() as f64);
        if age > max_age {
            obs.findings.push(Finding::fail(
                shown,
                format!(
                    "{shown} was last modified {} ago, more than {}",
                    human(age),
                    human(max_age)
                ),
            ));
        }
    }
    if !params.contains.is_empty() {
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|e| CheckError::new(format!("cannot read {shown}: {e}")))?;
        let text = String::from_utf8_lossy(&bytes);
        for wanted in &params.contains {
            if !text.contains(wanted.as_str()) {
                obs.findings.push(Finding::fail(
                    shown,
                    format!("{shown} does not contain \"{wanted}\""),
                ));
            }
        }
    }
    obs.summary = Some(format!("{shown} exists"));
    Ok(obs)
}

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

/// Runs argv directly (no shell) in the project directory.
pub async fn run_command(params: &CommandParams, base_dir: &Path) -> CheckOutcome {
    let argv: Vec<&str> = params.run.iter().map(|a| a.0.as_str()).collect();
    let Some((program, args)) = argv.split_first() else {
        return Err(CheckError::new(
            "`run` is empty: give the program and its arguments",
        ));
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .current_dir(base_dir)
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
        "stdout": truncate(&stdout, OUTPUT_EVIDENCE_BYTES),
        "stderr": truncate(&stderr, OUTPUT_EVIDENCE_BYTES),
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
            .with_evidence(evidence.clone()),
        ),
        None => obs.findings.push(
            Finding::fail(subject, format!("`{program}` was killed by a signal"))
                .with_evidence(evidence.clone()),
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
                    .with_evidence(evidence.clone()),
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
                    .with_evidence(evidence.clone()),
            );
        }
    }
    obs.summary = Some(format!(
        "`{program}` exited with {}",
        code.map_or("a signal".into(), |c| c.to_string())
    ));
    Ok(obs)
}

/// `20days`, `3h 12m`, `5m 3s`, `250ms`: durations as people write them, to the precision that
/// matters — hours past a day, minutes past an hour — so that an age measured a second later
/// reads the same.
pub fn human(d: Duration) -> String {
    let nearest =
        |unit: u64| Duration::from_secs((d.as_secs_f64() / unit as f64).round() as u64 * unit);
    let rounded = if d >= Duration::from_secs(86_400) {
        nearest(3600)
    } else if d >= Duration::from_secs(3600) {
        nearest(60)
    } else if d >= Duration::from_secs(1) {
        nearest(1)
    } else {
        Duration::from_millis(d.as_millis() as u64)
    };
    humantime::format_duration(rounded).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_show_the_precision_that_matters() {
        assert_eq!(human(Duration::from_secs(20 * 86_400 + 1)), "20days");
        assert_eq!(
            human(Duration::from_secs(3 * 3600 + 12 * 60 + 29)),
            "3h 12m"
        );
        assert_eq!(human(Duration::from_millis(303_600)), "5m 4s");
        assert_eq!(human(Duration::from_millis(250)), "250ms");
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn an_env_check_must_name_a_variable() {
        let node = crate::config::node::parse_document("vars: []\n").unwrap();
        assert_eq!(
            node.parse::<EnvParams>().unwrap_err().message,
            "name at least one variable in `vars` or `match`"
        );
    }

    #[test]
    fn env_reports_missing_empty_and_mismatched_without_values() {
        let params = EnvParams {
            vars: vec!["A".into(), "B".into(), "C".into()],
            patterns: BTreeMap::from([(
                "D".to_string(),
                RegexParam(regex::Regex::new("^https://").unwrap()),
            )]),
        };
        let obs = run_env(
            &params,
            &env(&[("A", "1"), ("B", ""), ("D", "http://secret-host")]),
        )
        .unwrap();
        let messages: Vec<_> = obs.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "B is set but empty",
                "C is not set",
                "D does not match /^https:/// (value not shown)"
            ]
        );
        assert!(!format!("{obs:?}").contains("secret-host"));
    }
}
