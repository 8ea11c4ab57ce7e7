//! `file`: a file exists (or must not), is recent enough, and holds the required text.

use std::time::SystemTime;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::params::DurationParam;
use crate::checks::{Ctx, KindSpec};
use crate::target::TargetFamily;
use crate::vocab::human;

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

impl KindSpec for FileParams {
    fn family(&self) -> Option<TargetFamily> {
        None
    }
}

/// The file exists (or must not), is fresh enough, and holds each required text. Its content is
/// never shown: it may hold secrets.
pub async fn run(params: &FileParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let path = ctx.base_dir.join(&params.path);
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
