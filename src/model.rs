//! The validated suite: what `config` builds and the runner executes. Every value here has been
//! checked; nothing downstream re-validates.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::checks::Kind;
use crate::selector::Selector;
use crate::vocab::Severity;

pub use crate::target::{HttpTarget, PostgresTarget, TargetFamily, TargetKind};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeverityWeights {
    pub critical: f64,
    pub high: f64,
    pub medium: f64,
    pub low: f64,
}

impl Default for SeverityWeights {
    fn default() -> Self {
        SeverityWeights {
            critical: 10.0,
            high: 7.5,
            medium: 5.0,
            low: 2.5,
        }
    }
}

impl SeverityWeights {
    pub fn of(&self, severity: Severity) -> f64 {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Category {
    pub id: String,
    pub title: String,
    pub weight: f64,
}

#[derive(Debug, Clone)]
pub struct Stage {
    pub name: String,
    pub min_score: f64,
    pub require: Vec<Selector>,
}

#[derive(Debug, Clone)]
pub struct Waiver {
    /// Compiled once, when the configuration is read.
    pub check: glob::Pattern,
    pub subject: Option<glob::Pattern>,
    pub reason: String,
    /// The waiver lapses at the end of this day, UTC.
    pub expires: NaiveDate,
    pub approved_by: Option<String>,
    pub ticket: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    pub timeout: Duration,
    pub concurrency: usize,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            timeout: Duration::from_secs(10),
            concurrency: 16,
        }
    }
}

/// Where a target stands before any check runs.
#[derive(Debug, Clone)]
pub enum TargetState {
    Ready(TargetKind),
    /// Its definition needs an environment variable that is unset: checks using it are `error`.
    Unresolved(String),
    /// The built-in suite found no configuration for it: checks using it are `skip`.
    NotConfigured(String),
}

#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub family: TargetFamily,
    pub state: TargetState,
    /// How many checks may talk to this target at once.
    pub concurrency: usize,
}

#[derive(Debug, Clone)]
pub struct Check {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub rationale: Option<String>,
    pub category: String,
    pub severity: Severity,
    pub weight: f64,
    pub blocker: bool,
    pub tags: Vec<String>,
    pub target: Option<String>,
    pub timeout: Duration,
    pub retries: u32,
    pub remediation: Option<String>,
    pub state: CheckState,
    /// The parameters as written, for `explain` (values from the environment masked).
    pub params: serde_json::Value,
    /// `file:line` of the definition, for `explain`.
    pub defined_at: String,
}

impl Check {
    /// The kind key the check was written with (`sql`, `http`, …).
    pub fn kind_name(&self) -> &'static str {
        match &self.state {
            CheckState::Ready(kind) => kind.name(),
            CheckState::Unresolved { kind_name, .. } => kind_name,
        }
    }

    /// What keeps the check from running, if anything.
    pub fn unresolved(&self) -> &[String] {
        match &self.state {
            CheckState::Ready(_) => &[],
            CheckState::Unresolved { missing, .. } => missing,
        }
    }
}

/// Whether a check can run: its parameters are read, or unset environment variables keep it
/// from running (it is then `error`, naming them).
#[derive(Debug, Clone)]
pub enum CheckState {
    Ready(Box<Kind>),
    Unresolved {
        kind_name: &'static str,
        /// One sentence per unset variable; never empty.
        missing: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Suite {
    pub project: String,
    /// Where the suite came from: a config path, or "built-in".
    pub source: String,
    pub targets: BTreeMap<String, Target>,
    pub categories: Vec<Category>,
    pub severity_weights: SeverityWeights,
    pub stages: Vec<Stage>,
    pub defaults: Defaults,
    pub checks: Vec<Check>,
    pub waivers: Vec<Waiver>,
    /// Secret values found while loading (passwords, header values): scrubbed from all output.
    pub secrets: Vec<String>,
    /// sha256 (hex) of the configuration files as read.
    pub config_hash: String,
}

pub fn default_categories() -> Vec<Category> {
    [
        ("security", "Security", 30.0),
        ("reliability", "Reliability", 25.0),
        ("database", "Database", 20.0),
        ("observability", "Observability", 15.0),
        ("operations", "Operations", 10.0),
    ]
    .into_iter()
    .map(|(id, title, weight)| Category {
        id: id.into(),
        title: title.into(),
        weight,
    })
    .collect()
}

pub fn default_stages() -> Vec<Stage> {
    vec![
        Stage {
            name: "beta".into(),
            min_score: 88.0,
            require: vec![Selector::Blocker],
        },
        Stage {
            name: "production".into(),
            min_score: 93.0,
            require: vec![Selector::Blocker, Selector::SeverityAtLeast(Severity::High)],
        },
    ]
}
