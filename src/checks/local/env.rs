//! `env`: required environment variables are set, and match a pattern where one is given.

use std::collections::{BTreeMap, HashMap};

use schemars::JsonSchema;
use serde::Deserialize;

use crate::checks::outcome::{CheckOutcome, Finding, Observation};
use crate::checks::params::RegexParam;
use crate::checks::{Ctx, KindSpec};
use crate::target::TargetFamily;

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

impl KindSpec for EnvParams {
    fn family(&self) -> Option<TargetFamily> {
        None
    }
}

/// Required variables are set and not empty; patterned ones match. Values are never shown.
pub async fn run(params: &EnvParams, ctx: &Ctx<'_>) -> CheckOutcome {
    Ok(judge(params, ctx.env))
}

fn judge(params: &EnvParams, env: &HashMap<String, String>) -> Observation {
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
    obs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn an_env_check_must_name_a_variable() {
        let error = EnvParams::deserialize(serde_json::json!({ "vars": [] })).unwrap_err();
        assert_eq!(
            error.to_string(),
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
        let obs = judge(
            &params,
            &env(&[("A", "1"), ("B", ""), ("D", "http://secret-host")]),
        );
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
