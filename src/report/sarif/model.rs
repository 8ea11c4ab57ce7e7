//! The parts of SARIF 2.1.0 that `ready` writes, as typed serde structs. Names follow the
//! specification's objects (§3); absent options and empty lists are left out, as SARIF wants.
//! `tests/sarif-schema-2.1.0.json` (the OASIS schema) checks the output in the tests.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The `id` of the OASIS SARIF 2.1.0 schema (errata 01).
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// §3.13 `sarifLog`.
#[derive(Debug, Serialize)]
pub struct Log {
    #[serde(rename = "$schema")]
    pub schema: &'static str,
    pub version: &'static str,
    pub runs: Vec<Run>,
}

/// §3.14 `run`.
#[derive(Debug, Serialize)]
pub struct Run {
    pub tool: Tool,
    pub invocations: Vec<Invocation>,
    pub results: Vec<SarifResult>,
    pub properties: RunProperties,
}

/// What a consumer may want of the decision without reading the `ready.result/v1` document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunProperties {
    pub project: String,
    pub stage: String,
    /// `GO` or `NO-GO`.
    pub decision: &'static str,
    pub go: bool,
    pub reached: Option<String>,
    pub reasons: Vec<String>,
    pub blockers: Vec<String>,
    pub score: Option<f64>,
    pub score_without_waivers: Option<f64>,
    pub coverage: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
}

/// §3.18 `tool`.
#[derive(Debug, Serialize)]
pub struct Tool {
    pub driver: ToolComponent,
}

/// §3.19 `toolComponent`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolComponent {
    pub name: &'static str,
    pub version: &'static str,
    pub semantic_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub information_uri: Option<String>,
    pub rules: Vec<ReportingDescriptor>,
}

/// §3.49 `reportingDescriptor`: one per check with a result.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportingDescriptor {
    pub id: String,
    pub short_description: Message,
    /// GitHub code scanning requires it.
    pub full_description: Message,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<Message>,
    /// An absolute URI (§3.49.12).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help_uri: Option<String>,
    pub default_configuration: ReportingConfiguration,
    pub properties: RuleProperties,
}

/// GitHub filters code-scanning alerts by `tags`.
#[derive(Debug, Serialize)]
pub struct RuleProperties {
    pub tags: Vec<String>,
    pub kind: String,
    pub category: String,
    pub severity: &'static str,
    pub blocker: bool,
}

/// §3.50 `reportingConfiguration`.
#[derive(Debug, Serialize)]
pub struct ReportingConfiguration {
    pub level: Level,
}

/// §3.27.10 `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
    Note,
}

/// §3.11 `message` (plain text only; §3.12's `multiformatMessageString` has the same shape).
#[derive(Debug, Serialize)]
pub struct Message {
    pub text: String,
}

/// §3.20 `invocation`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    pub execution_successful: bool,
    pub start_time_utc: DateTime<Utc>,
    pub end_time_utc: DateTime<Utc>,
}

/// §3.27 `result`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    pub rule_id: String,
    pub rule_index: usize,
    pub level: Level,
    pub message: Message,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<Location>,
    pub partial_fingerprints: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suppressions: Vec<Suppression>,
    pub properties: ResultProperties,
}

#[derive(Debug, Serialize)]
pub struct ResultProperties {
    /// The check's status: `fail`, `error` or `waived`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub evidence: serde_json::Value,
}

/// §3.28 `location`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub physical_location: PhysicalLocation,
}

/// §3.29 `physicalLocation`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalLocation {
    pub artifact_location: ArtifactLocation,
    pub region: Region,
}

/// §3.4 `artifactLocation`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactLocation {
    pub uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri_base_id: Option<&'static str>,
}

/// §3.30 `region`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    pub start_line: u32,
}

/// §3.35 `suppression`: a waiver, kept outside the checked files.
#[derive(Debug, Serialize)]
pub struct Suppression {
    pub kind: SuppressionKind,
    pub status: SuppressionStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SuppressionKind {
    External,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SuppressionStatus {
    Accepted,
}

/// `partialFingerprints` key for `ready`'s finding fingerprint (`check_id:subject`).
pub const FINGERPRINT_KEY: &str = "readyFinding/v1";
