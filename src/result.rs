//! The JSON result, schema `ready.result/v1` (SPEC §5). Reports render from it and `report`
//! reads it back, so it carries everything the decision is computed from.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::redact::Redactor;
use crate::selector::CheckFacts;
use crate::vocab::{Level, Severity, Status};

pub const SCHEMA_ID: &str = "ready.result/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "ready run result",
    description = "The result of `ready check`, schema ready.result/v1"
)]
pub struct RunResult {
    /// Always `ready.result/v1`.
    pub schema: String,
    pub ready_version: String,
    pub project: String,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    /// The stage the decision is taken for.
    pub stage: String,
    pub decision: Decision,
    /// 0–100, the category-weighted mean of category scores; null when nothing was scored.
    pub score: Option<f64>,
    /// The score with waived checks counted as failed.
    pub score_without_waivers: Option<f64>,
    /// 0–100: the share of selected checks that produced evidence (pass, warn, fail or waived).
    pub coverage: f64,
    /// True when `--only` or `--skip` left checks out.
    pub partial: bool,
    pub counts: Counts,
    pub categories: Vec<CategoryResult>,
    pub stages: Vec<StageResult>,
    /// In definition order.
    pub checks: Vec<CheckResult>,
    pub waivers: Vec<WaiverResult>,
    /// Checks that passed in the baseline and fail or error now (`--baseline`).
    pub regressions: Vec<Regression>,
    /// Fingerprints of failing or warning findings absent from the baseline.
    #[serde(default)]
    pub new_findings: Vec<String>,
    /// The baseline this run was compared with.
    #[serde(default)]
    pub baseline: Option<BaselineSummary>,
    /// A hash of the configuration files (sha256, hex), to tell runs of the same suite apart.
    #[serde(default)]
    pub config_hash: Option<String>,
    /// The targets by name and family; never their URLs.
    #[serde(default)]
    pub targets: Vec<TargetSummary>,
    /// `I/N` when this result is one shard of a suite (`--shard`).
    #[serde(default)]
    pub shard: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BaselineSummary {
    pub started_at: DateTime<Utc>,
    pub score: Option<f64>,
    pub score_without_waivers: Option<f64>,
    pub go: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TargetSummary {
    pub name: String,
    /// `postgres` or `http`.
    pub kind: String,
    /// Why its checks were skipped when the built-in suite found no configuration for it
    /// (`target `db` is not configured: set DATABASE_URL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_configured: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Decision {
    pub go: bool,
    /// The highest stage met together with every stage before it.
    pub reached: Option<String>,
    pub reasons: Vec<String>,
    /// Ids of the checks that keep the target stage from being met.
    pub blockers: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Counts {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub error: usize,
    pub skip: usize,
    pub waived: usize,
}

impl Counts {
    pub fn add(&mut self, status: Status) {
        match status {
            Status::Pass => self.pass += 1,
            Status::Warn => self.warn += 1,
            Status::Fail => self.fail += 1,
            Status::Error => self.error += 1,
            Status::Skip => self.skip += 1,
            Status::Waived => self.waived += 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CategoryResult {
    pub id: String,
    pub title: String,
    pub weight: f64,
    /// Null when no check of the category was scored.
    pub score: Option<f64>,
    pub counts: Counts,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StageResult {
    pub name: String,
    pub min_score: f64,
    /// The selectors whose checks must pass, warn or be waived.
    pub require: Vec<String>,
    pub met: bool,
    /// Why the stage is not met: the score, and each required check that is not verified.
    pub unmet: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckResult {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub target: Option<String>,
    pub category: String,
    pub severity: Severity,
    pub weight: f64,
    pub blocker: bool,
    pub tags: Vec<String>,
    pub status: Status,
    pub message: String,
    pub duration_ms: u64,
    pub findings: Vec<FindingResult>,
    pub measurements: BTreeMap<String, f64>,
    pub remediation: Option<String>,
    /// False when `--only`/`--skip` left the check out of this run.
    #[serde(default = "selected_default")]
    pub selected: bool,
    /// `FILE:LINE` of the check's definition, for CI annotations that point at it.
    #[serde(default)]
    pub defined_at: Option<String>,
}

fn selected_default() -> bool {
    true
}

impl RunResult {
    /// A copy with the texts a check or the configuration wrote passed through `redactor`: the
    /// project, the check messages, the findings and the fingerprints that name them.
    pub fn redacted(&self, redactor: &Redactor) -> RunResult {
        let mut result = self.clone();
        result.project = redactor.redact(&result.project);
        result.checks.iter_mut().for_each(|c| c.redact(redactor));
        for fingerprint in &mut result.new_findings {
            *fingerprint = redactor.redact(fingerprint);
        }
        result
    }
}

impl CheckResult {
    /// Masks the secrets in the message and the findings.
    pub fn redact(&mut self, redactor: &Redactor) {
        self.message = redactor.redact(&self.message);
        for f in &mut self.findings {
            f.subject = redactor.redact(&f.subject);
            f.message = redactor.redact(&f.message);
            f.fingerprint = redactor.redact(&f.fingerprint);
            redactor.redact_json(&mut f.evidence);
        }
    }

    /// The file and line of the definition, when known.
    pub fn definition(&self) -> Option<(&str, u32)> {
        let (file, line) = self.defined_at.as_deref()?.rsplit_once(':')?;
        Some((file, line.parse().ok()?))
    }

    pub fn facts(&self) -> CheckFacts<'_> {
        CheckFacts {
            id: &self.id,
            kind: &self.kind,
            category: &self.category,
            severity: self.severity,
            blocker: self.blocker,
            tags: &self.tags,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FindingResult {
    pub subject: String,
    pub message: String,
    pub level: Level,
    /// `check_id:subject`, stable across runs.
    pub fingerprint: String,
    pub waived: bool,
    pub evidence: serde_json::Value,
    /// The migration statement that created or last changed the object the finding is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// A line of a file in the project: where a finding's cause is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Location {
    pub file: String,
    /// 1-based: the line the statement starts on.
    pub line: u32,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WaiverState {
    /// Applied to at least one finding of this run.
    Active,
    /// Applied, and it lapses within 14 days.
    Expiring,
    /// Past its date: not applied.
    Expired,
    /// Matched no failing finding in this run.
    Unused,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WaiverResult {
    pub check: String,
    pub subject: Option<String>,
    pub reason: String,
    pub expires: NaiveDate,
    pub approved_by: Option<String>,
    pub ticket: Option<String>,
    pub state: WaiverState,
}

/// A check that passed in the baseline and fails or errors now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Regression {
    pub check: String,
    pub before: Status,
    pub now: Status,
}

/// `check:subject`, and `check:subject#rule` for a finding of one of several rules.
pub fn fingerprint(check_id: &str, subject: &str, rule: Option<&str>) -> String {
    match rule {
        Some(rule) => format!("{check_id}:{subject}#{rule}"),
        None => format!("{check_id}:{subject}"),
    }
}

/// The JSON Schema of the result, as printed by `ready schema result`.
pub fn json_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(RunResult)).unwrap_or_default();
    if let Some(obj) = schema.as_object_mut() {
        obj.insert("$id".into(), serde_json::Value::String(SCHEMA_ID.into()));
    }
    schema
}
