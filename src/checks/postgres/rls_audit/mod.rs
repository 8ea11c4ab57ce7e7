//! `rls_audit`: the row-level-security posture of the exposed schemas, read from the catalog.
//!
//! `catalog` reads the facts in a fixed number of queries, `rules` judges them with one plain
//! function per rule, and `run` turns the findings into the observation.

mod catalog;
mod patterns;
mod rules;

use std::collections::BTreeSet;

use serde::Deserialize;
use sqlx::PgConnection;

use super::PgHandle;
use super::catalog::{NameGlob, list};
use crate::checks::outcome::{CheckOutcome, Finding, Observation};
use crate::checks::{Ctx, KindSpec};
use crate::target::TargetFamily;
use catalog::{CATALOG_QUERIES, Catalog};
use rules::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    RlsDisabled,
    PolicyWithoutRls,
    RlsNoPolicy,
    PermissiveWrite,
    PermissiveRead,
    ForceRls,
    RoleBypass,
    SecurityDefinerView,
    UnprotectedRelation,
    ExposedDefinerFunction,
    UserMetadataInPolicy,
    SensitiveColumnsExposed,
}

impl Rule {
    pub const ALL: [Rule; 12] = [
        Rule::RlsDisabled,
        Rule::PolicyWithoutRls,
        Rule::RlsNoPolicy,
        Rule::PermissiveWrite,
        Rule::PermissiveRead,
        Rule::ForceRls,
        Rule::RoleBypass,
        Rule::SecurityDefinerView,
        Rule::UnprotectedRelation,
        Rule::ExposedDefinerFunction,
        Rule::UserMetadataInPolicy,
        Rule::SensitiveColumnsExposed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::RlsDisabled => "rls_disabled",
            Rule::PolicyWithoutRls => "policy_without_rls",
            Rule::RlsNoPolicy => "rls_no_policy",
            Rule::PermissiveWrite => "permissive_write",
            Rule::PermissiveRead => "permissive_read",
            Rule::ForceRls => "force_rls",
            Rule::RoleBypass => "role_bypass",
            Rule::SecurityDefinerView => "security_definer_view",
            Rule::UnprotectedRelation => "unprotected_relation",
            Rule::ExposedDefinerFunction => "exposed_definer_function",
            Rule::UserMetadataInPolicy => "user_metadata_in_policy",
            Rule::SensitiveColumnsExposed => "sensitive_columns_exposed",
        }
    }
}

pub const DEFAULT_SENSITIVE: &[&str] = &[
    "wallet*",
    "payment*",
    "transaction*",
    "invoice*",
    "ledger*",
    "refund*",
    "subscription*",
    "balance*",
    "payout*",
    "*_transactions",
];

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RlsAuditParams {
    /// Default: every rule.
    pub rules: Option<Vec<Rule>>,
    /// Default: the target's `exposed_schemas`.
    pub schemas: Option<Vec<String>>,
    pub sensitive: Option<Vec<NameGlob>>,
    #[serde(default)]
    pub public_read: Vec<NameGlob>,
}

impl KindSpec for RlsAuditParams {
    fn family(&self) -> Option<TargetFamily> {
        Some(TargetFamily::Postgres)
    }
}

pub async fn run(params: &RlsAuditParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let (db, timeout) = (ctx.postgres()?, ctx.timeout);
    let mut tx = db.read_only(timeout).await?;
    let result = audit(params, db, &mut tx, timeout).await;
    db.finish(tx).await;
    result
}

/// Read → rules → observation.
async fn audit(
    params: &RlsAuditParams,
    db: &PgHandle,
    conn: &mut PgConnection,
    timeout: std::time::Duration,
) -> CheckOutcome {
    let schemas = params
        .schemas
        .clone()
        .unwrap_or_else(|| db.target.exposed_schemas.clone());
    let settings = settings(params);
    let catalog = catalog::read(db, conn, &schemas, timeout).await?;
    let findings = rules::findings(&catalog, &settings);
    Ok(observation(&catalog, &settings, &schemas, findings))
}

/// The parameters with their defaults: every rule, the built-in sensitive tables.
fn settings(params: &RlsAuditParams) -> Settings {
    let rules: BTreeSet<Rule> = params
        .rules
        .clone()
        .unwrap_or_else(|| Rule::ALL.to_vec())
        .into_iter()
        .collect();
    let sensitive = match &params.sensitive {
        Some(globs) => globs.clone(),
        None => DEFAULT_SENSITIVE
            .iter()
            .map(|g| NameGlob::new(g).expect("built-in globs are valid"))
            .collect(),
    };
    Settings {
        rules,
        sensitive,
        public_read: params.public_read.clone(),
    }
}

fn observation(
    catalog: &Catalog,
    settings: &Settings,
    schemas: &[String],
    findings: Vec<Finding>,
) -> Observation {
    let mut obs = Observation {
        findings,
        ..Observation::default()
    };
    obs.measure("relations", catalog.relations.len() as f64);
    obs.measure("policies", catalog.policies.len() as f64);
    obs.measure("catalog_queries", CATALOG_QUERIES);
    let rules = settings.rules.len();
    obs.summary = Some(format!(
        "{} relations, {} policies and {} SECURITY DEFINER functions in {} audited against {} rule{}{}",
        catalog.relations.len(),
        catalog.policies.len(),
        catalog.functions.len(),
        list(schemas),
        rules,
        if rules == 1 { "" } else { "s" },
        catalog.privileges_note(),
    ));
    obs
}
