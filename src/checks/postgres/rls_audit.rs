//! `rls_audit`: the row-level-security posture of the exposed schemas, read from the catalog.
//!
//! A fixed number of set-based catalog queries, whatever the number of tables: roles, relations
//! (with privileges, ownership and columns), policies, SECURITY DEFINER functions, server version.
//! Extension-owned objects and system schemas are left out.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::PgHandle;
use super::catalog::{ApiRoles, NameGlob, catalog_error, get, list, missing_roles};
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::{Ctx, KindSpec};
use crate::model::TargetFamily;

/// The catalog queries one audit sends (measured as `catalog_queries`).
const CATALOG_QUERIES: f64 = 5.0;

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

/// One table, view, materialized view or foreign table of the audited schemas.
struct Relation {
    schema: String,
    name: String,
    kind: char,
    rls: bool,
    forced: bool,
    owner: String,
    options: Vec<String>,
    /// Who reaches it (API roles, or PUBLIC when none are configured) → privileges.
    reach: BTreeMap<String, Vec<String>>,
    /// API roles that own it (directly or through membership): they bypass its RLS.
    owned_by: Vec<String>,
    columns: Vec<String>,
}

impl Relation {
    fn subject(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    fn readers(&self) -> Vec<&str> {
        self.reach
            .iter()
            .filter(|(_, privs)| privs.iter().any(|p| p == "SELECT"))
            .map(|(who, _)| who.as_str())
            .collect()
    }

    fn reach_text(&self) -> String {
        self.reach
            .iter()
            .map(|(who, privs)| format!("{who} can {}", privs.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

struct Policy {
    schema: String,
    table: String,
    name: String,
    /// PostgreSQL's command letter: r SELECT, a INSERT, w UPDATE, d DELETE, * ALL.
    command: char,
    permissive: bool,
    using: Option<String>,
    check: Option<String>,
    roles: Vec<String>,
    /// The API roles (or `PUBLIC`) it applies to.
    applies_to: Vec<String>,
}

impl Policy {
    fn subject(&self) -> String {
        format!("{}.{}/{}", self.schema, self.table, self.name)
    }

    fn command_name(&self) -> &'static str {
        match self.command {
            'r' => "SELECT",
            'a' => "INSERT",
            'w' => "UPDATE",
            'd' => "DELETE",
            _ => "ALL",
        }
    }

    fn evidence(&self) -> serde_json::Value {
        json!({
            "command": self.command_name(),
            "permissive": self.permissive,
            "roles": self.roles,
            "using": self.using,
            "with_check": self.check,
        })
    }
}

struct DefinerFunction {
    signature: String,
    fixed_search_path: bool,
    executors: Vec<String>,
}

impl KindSpec for RlsAuditParams {
    fn family(&self) -> Option<TargetFamily> {
        Some(TargetFamily::Postgres)
    }

    fn is_network(&self) -> bool {
        true
    }
}

pub async fn run(params: &RlsAuditParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let (db, timeout) = (ctx.postgres()?, ctx.timeout);
    let mut tx = db.read_only(timeout).await?;
    let result = audit(params, db, &mut tx, timeout).await;
    db.finish(tx).await;
    result
}

async fn audit(
    params: &RlsAuditParams,
    db: &PgHandle,
    conn: &mut PgConnection,
    timeout: std::time::Duration,
) -> CheckOutcome {
    // Existence of the API roles is checked from the roles query itself (one query fewer).
    let roles = ApiRoles {
        names: db.target.api_roles.clone().unwrap_or_default(),
    };
    let schemas = params
        .schemas
        .clone()
        .unwrap_or_else(|| db.target.exposed_schemas.clone());
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

    // Without api_roles only PUBLIC is checked; on a Supabase server that misses the roles that
    // matter, so the same query asks whether the well-known ones exist, to say so.
    let (role_info, unconfigured_supabase) = if roles.configured() {
        let found = read_roles(conn, &roles.names).await?;
        let missing: Vec<String> = roles
            .names
            .iter()
            .filter(|r| !found.contains_key(*r))
            .cloned()
            .collect();
        if let Some(e) = missing_roles(&missing) {
            return Err(e);
        }
        (found, Vec::new())
    } else {
        let found = read_roles(conn, &SUPABASE_API_ROLES.map(String::from)).await?;
        (BTreeMap::new(), found.into_keys().collect::<Vec<_>>())
    };
    // The two big catalog reads run at once when a second connection can share the snapshot.
    let (relations, policies) = match db.read_only_twin(conn, timeout).await {
        Some(mut twin) => {
            let (relations, policies) = tokio::join!(
                read_relations(conn, &schemas, &roles, &role_info),
                read_policies(&mut twin, &schemas, &roles, &role_info)
            );
            db.finish(twin).await;
            (relations?, policies?)
        }
        None => (
            read_relations(conn, &schemas, &roles, &role_info).await?,
            read_policies(conn, &schemas, &roles, &role_info).await?,
        ),
    };
    let functions = read_definer_functions(conn, &schemas, &roles).await?;
    let version: i32 = sqlx::query_scalar("SELECT current_setting('server_version_num')::int")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| catalog_error(&e))?;

    let who = if roles.configured() {
        String::new()
    } else {
        " (no api_roles configured: PUBLIC grants checked)".to_string()
    };
    let mut by_table: BTreeMap<(String, String), Vec<&Policy>> = BTreeMap::new();
    for p in &policies {
        by_table
            .entry((p.schema.clone(), p.table.clone()))
            .or_default()
            .push(p);
    }
    let no_policies = Vec::new();
    let mut findings = Vec::new();
    let on = |rule: Rule| rules.contains(&rule);

    if !unconfigured_supabase.is_empty() {
        findings.push(
            Finding::warn(
                "api_roles",
                format!(
                    "no api_roles configured, so only PUBLIC grants were checked, yet this server has the API role{} {}: set api_roles: [{}] on the target",
                    if unconfigured_supabase.len() == 1 { "" } else { "s" },
                    list(&unconfigured_supabase),
                    unconfigured_supabase.join(", ")
                ),
            )
            .with_evidence(json!({"rule": "api_roles"})),
        );
    }
    if on(Rule::RoleBypass) {
        for (role, info) in &role_info {
            if info.superuser {
                findings.push(
                    Finding::fail(
                        role.as_str(),
                        format!("API role {role} is a superuser: it bypasses every RLS policy"),
                    )
                    .with_evidence(json!({"rule": "role_bypass", "superuser": true})),
                );
            } else if info.bypass {
                findings.push(
                    Finding::fail(
                        role.as_str(),
                        format!("API role {role} has BYPASSRLS: no policy applies to it"),
                    )
                    .with_evidence(json!({"rule": "role_bypass", "bypassrls": true})),
                );
            }
        }
    }

    for rel in &relations {
        let subject = rel.subject();
        let table_policies = by_table
            .get(&(rel.schema.clone(), rel.name.clone()))
            .unwrap_or(&no_policies);
        let is_table = matches!(rel.kind, 'r' | 'p');
        let evidence = |rule: Rule| {
            json!({
                "rule": rule.as_str(),
                "rls_enabled": rel.rls,
                "rls_forced": rel.forced,
                "owner": rel.owner,
                "privileges": rel.reach,
            })
        };
        if is_table {
            if on(Rule::RlsDisabled) && !rel.rls && !rel.reach.is_empty() {
                findings.push(
                    Finding::fail(
                        &subject,
                        format!(
                            "{subject} has row level security disabled: {}{who}",
                            rel.reach_text()
                        ),
                    )
                    .with_evidence(evidence(Rule::RlsDisabled)),
                );
            }
            if on(Rule::PolicyWithoutRls) && !rel.rls && !table_policies.is_empty() {
                let names: Vec<&str> = table_policies.iter().map(|p| p.name.as_str()).collect();
                findings.push(
                    Finding::fail(
                        &subject,
                        format!(
                            "{subject} has {} polic{} ({}) but row level security is disabled, so they do nothing",
                            names.len(),
                            if names.len() == 1 { "y" } else { "ies" },
                            list(&names)
                        ),
                    )
                    .with_evidence(evidence(Rule::PolicyWithoutRls)),
                );
            }
            if on(Rule::RlsNoPolicy) && rel.rls && table_policies.is_empty() {
                findings.push(
                    Finding::warn(
                        &subject,
                        format!(
                            "{subject} has row level security enabled and no policy: every API request is denied"
                        ),
                    )
                    .with_evidence(evidence(Rule::RlsNoPolicy)),
                );
            }
            if on(Rule::ForceRls)
                && sensitive.iter().any(|g| g.matches(&rel.schema, &rel.name))
                && !(rel.rls && rel.forced)
            {
                let state = if rel.rls {
                    "row level security enabled but not forced, so its owner bypasses it"
                } else {
                    "row level security disabled"
                };
                findings.push(
                    Finding::fail(
                        &subject,
                        format!("sensitive table {subject} has {state} (needs ENABLE and FORCE)"),
                    )
                    .with_evidence(evidence(Rule::ForceRls)),
                );
            }
            if on(Rule::SensitiveColumnsExposed) && !rel.rls {
                let readers = rel.readers();
                let columns: Vec<&str> = rel
                    .columns
                    .iter()
                    .map(String::as_str)
                    .filter(|c| is_sensitive_column(c))
                    .collect();
                if !readers.is_empty() && !columns.is_empty() {
                    findings.push(
                        Finding::fail(
                            &subject,
                            format!(
                                "{subject} exposes sensitive column{} {} to {} without row level security{who}",
                                if columns.len() == 1 { "" } else { "s" },
                                list(&columns),
                                list(&readers)
                            ),
                        )
                        .with_evidence(json!({"rule": "sensitive_columns_exposed", "columns": columns, "readers": readers})),
                    );
                }
            }
        }
        if on(Rule::RoleBypass) {
            for role in &rel.owned_by {
                if role_info.get(role).is_some_and(|info| info.superuser) {
                    continue;
                }
                findings.push(
                    Finding::fail(
                        &subject,
                        format!(
                            "API role {role} owns {subject} (owner {}), so it bypasses its row level security and can alter or drop it",
                            rel.owner
                        ),
                    )
                    .with_evidence(json!({"rule": "role_bypass", "role": role, "owner": rel.owner})),
                );
            }
        }
        let readers = rel.readers();
        if on(Rule::SecurityDefinerView) && rel.kind == 'v' && !readers.is_empty() {
            let invoker = rel.options.iter().any(|o| {
                let o = o.to_ascii_lowercase();
                matches!(
                    o.as_str(),
                    "security_invoker=true"
                        | "security_invoker=on"
                        | "security_invoker=1"
                        | "security_invoker=yes"
                )
            });
            if version < 150000 {
                findings.push(
                    Finding::fail(
                        &subject,
                        format!(
                            "view {subject} is readable by {} and runs with its owner's rights ({}): PostgreSQL {} has no security_invoker, so the underlying tables' RLS is bypassed{who}",
                            list(&readers),
                            rel.owner,
                            version / 10000
                        ),
                    )
                    .with_evidence(evidence(Rule::SecurityDefinerView)),
                );
            } else if !invoker {
                findings.push(
                    Finding::fail(
                        &subject,
                        format!(
                            "view {subject} is readable by {} without security_invoker: it reads as its owner {} and bypasses the underlying tables' RLS{who}",
                            list(&readers),
                            rel.owner
                        ),
                    )
                    .with_evidence(evidence(Rule::SecurityDefinerView)),
                );
            }
        }
        if on(Rule::UnprotectedRelation) && matches!(rel.kind, 'm' | 'f') && !readers.is_empty() {
            let what = if rel.kind == 'm' {
                "materialized view"
            } else {
                "foreign table"
            };
            findings.push(
                Finding::warn(
                    &subject,
                    format!(
                        "{what} {subject} is readable by {}, and row level security cannot protect a {what}{who}",
                        list(&readers)
                    ),
                )
                .with_evidence(evidence(Rule::UnprotectedRelation)),
            );
        }
        if is_table && rel.rls {
            findings.extend(policy_findings(
                rel,
                table_policies,
                &rules,
                &params.public_read,
            ));
        }
    }

    if on(Rule::UserMetadataInPolicy) {
        for p in &policies {
            let trusts = [&p.using, &p.check]
                .into_iter()
                .flatten()
                .any(|e| e.contains("user_metadata") || e.contains("raw_user_meta_data"));
            if trusts {
                let subject = p.subject();
                findings.push(
                    Finding::fail(
                        &subject,
                        format!(
                            "policy {subject} trusts user_metadata, which every user can edit about themselves (use app_metadata or a table)"
                        ),
                    )
                    .with_evidence(with_rule(p.evidence(), Rule::UserMetadataInPolicy)),
                );
            }
        }
    }

    if on(Rule::ExposedDefinerFunction) {
        for f in &functions {
            if f.executors.is_empty() {
                continue;
            }
            let finding = if f.fixed_search_path {
                Finding::warn(
                    &f.signature,
                    format!(
                        "SECURITY DEFINER function {} is executable by {}: it runs with its owner's rights{who}",
                        f.signature,
                        list(&f.executors)
                    ),
                )
            } else {
                Finding::fail(
                    &f.signature,
                    format!(
                        "SECURITY DEFINER function {} is executable by {} and has no fixed search_path: a caller can hijack the objects it resolves{who}",
                        f.signature,
                        list(&f.executors)
                    ),
                )
            };
            findings.push(finding.with_evidence(json!({
                "rule": "exposed_definer_function",
                "executable_by": f.executors,
                "fixed_search_path": f.fixed_search_path,
            })));
        }
    }

    let mut obs = Observation {
        findings,
        ..Observation::default()
    };
    obs.measure("relations", relations.len() as f64);
    obs.measure("policies", policies.len() as f64);
    obs.measure("catalog_queries", CATALOG_QUERIES);
    obs.summary = Some(format!(
        "{} relations, {} policies and {} SECURITY DEFINER functions in {} audited against {} rule{}{who}",
        relations.len(),
        policies.len(),
        functions.len(),
        list(&schemas),
        rules.len(),
        if rules.len() == 1 { "" } else { "s" },
    ));
    Ok(obs)
}

/// `permissive_write` and `permissive_read` for a table with RLS enabled.
fn policy_findings(
    rel: &Relation,
    policies: &[&Policy],
    rules: &BTreeSet<Rule>,
    public_read: &[NameGlob],
) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in policies {
        if !p.permissive || p.applies_to.is_empty() {
            continue;
        }
        let subject = p.subject();
        let to = list(&p.applies_to);
        let using_true = p.using.as_deref().is_some_and(always_true);
        let check_true = p.check.as_deref().is_some_and(always_true);
        // What new rows must satisfy: WITH CHECK, or USING when it is missing (UPDATE, ALL).
        // An INSERT policy with neither admits nothing.
        let admits_any_row = match p.command {
            'a' => check_true,
            'w' | '*' => check_true || (p.check.is_none() && using_true),
            _ => false,
        };
        let writes = matches!(p.command, 'a' | 'w' | 'd' | '*');
        if rules.contains(&Rule::PermissiveWrite) && writes {
            let why = if admits_any_row && p.check.is_none() {
                Some(
                    "USING is always true and there is no WITH CHECK, so any row can be written"
                        .to_string(),
                )
            } else if admits_any_row {
                Some("WITH CHECK is always true, so any row can be written".to_string())
            } else if using_true && matches!(p.command, 'w' | 'd' | '*') {
                Some("USING is always true, so every row can be changed".to_string())
            } else {
                None
            };
            if let Some(why) = why {
                out.push(
                    Finding::fail(
                        &subject,
                        format!(
                            "permissive {} policy {subject} for {to}: {why}",
                            p.command_name()
                        ),
                    )
                    .with_evidence(with_rule(p.evidence(), Rule::PermissiveWrite)),
                );
            }
        }
        if rules.contains(&Rule::PermissiveRead)
            && p.command == 'r'
            && using_true
            && !public_read
                .iter()
                .any(|g| g.matches(&rel.schema, &rel.name))
        {
            out.push(
                Finding::warn(
                    &subject,
                    format!(
                        "SELECT policy {subject} lets {to} read every row of {}.{} (list the table in public_read if that is intended)",
                        rel.schema, rel.name
                    ),
                )
                .with_evidence(with_rule(p.evidence(), Rule::PermissiveRead)),
            );
        }
    }
    out
}

fn with_rule(mut evidence: serde_json::Value, rule: Rule) -> serde_json::Value {
    if let Some(map) = evidence.as_object_mut() {
        map.insert("rule".into(), json!(rule.as_str()));
    }
    evidence
}

/// Roles that serve Supabase's Data API.
const SUPABASE_API_ROLES: [&str; 2] = ["anon", "authenticated"];

/// An API role's attributes and memberships, read once so that per-relation and per-policy
/// questions ("does this policy apply to it?", "does it own this?") need no query of their own.
struct RoleInfo {
    superuser: bool,
    bypass: bool,
    /// Roles it is a member of, itself included (policies for them apply to it).
    member_of: BTreeSet<String>,
    /// Roles whose privileges it uses, itself included (owning through them is owning).
    uses: BTreeSet<String>,
}

async fn read_roles(
    conn: &mut PgConnection,
    roles: &[String],
) -> Result<BTreeMap<String, RoleInfo>, CheckError> {
    let rows = sqlx::query(
        "SELECT r.rolname::text AS name, r.rolsuper AS superuser, r.rolbypassrls AS bypass,
                ARRAY(SELECT b.rolname::text FROM pg_roles b WHERE pg_has_role(r.oid, b.oid, 'MEMBER'))::text[] AS member_of,
                ARRAY(SELECT b.rolname::text FROM pg_roles b WHERE pg_has_role(r.oid, b.oid, 'USAGE'))::text[] AS uses
         FROM pg_roles r WHERE r.rolname = ANY($1::text[])",
    )
    .bind(roles)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| catalog_error(&e))?;
    rows.iter()
        .map(|r| {
            Ok((
                get(r, "name")?,
                RoleInfo {
                    superuser: get(r, "superuser")?,
                    bypass: get(r, "bypass")?,
                    member_of: get::<Vec<String>>(r, "member_of")?.into_iter().collect(),
                    uses: get::<Vec<String>>(r, "uses")?.into_iter().collect(),
                },
            ))
        })
        .collect()
}

const RELATIONS_SQL: &str = r#"
SELECT n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS kind,
       c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
       pg_get_userbyid(c.relowner)::text AS owner,
       coalesce(c.reloptions, '{}')::text[] AS options,
       ARRAY(SELECT r.name || ':' || p.priv
             FROM unnest($2::text[]) WITH ORDINALITY AS r(name, i),
                  unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) WITH ORDINALITY AS p(priv, j)
             WHERE CASE WHEN p.priv = 'DELETE' THEN has_table_privilege(r.name, c.oid, p.priv)
                        ELSE has_any_column_privilege(r.name, c.oid, p.priv) END
             ORDER BY r.i, p.j)::text[] AS role_grants,
       CASE WHEN cardinality($2::text[]) = 0 THEN
         ARRAY(SELECT DISTINCT a.privilege_type::text
               FROM (SELECT (aclexplode(c.relacl)).*
                     UNION ALL
                     SELECT (aclexplode(att.attacl)).* FROM pg_attribute att
                     WHERE att.attrelid = c.oid AND att.attacl IS NOT NULL) a
               WHERE a.grantee = 0 AND a.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')
              )::text[]
       ELSE ARRAY[]::text[] END AS public_grants,
       ARRAY(SELECT att.attname::text FROM pg_attribute att
             WHERE att.attrelid = c.oid AND att.attnum > 0 AND NOT att.attisdropped
             ORDER BY att.attnum)::text[] AS columns
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1::text[])
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"#;

async fn read_relations(
    conn: &mut PgConnection,
    schemas: &[String],
    roles: &ApiRoles,
    role_info: &BTreeMap<String, RoleInfo>,
) -> Result<Vec<Relation>, CheckError> {
    let rows = sqlx::query(RELATIONS_SQL)
        .bind(schemas)
        .bind(&roles.names)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| catalog_error(&e))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut reach: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if roles.configured() {
            for grant in get::<Vec<String>>(row, "role_grants")? {
                if let Some((role, privilege)) = grant.rsplit_once(':') {
                    reach
                        .entry(role.to_string())
                        .or_default()
                        .push(privilege.to_string());
                }
            }
        } else {
            let mut public: Vec<String> = get(row, "public_grants")?;
            let order = ["SELECT", "INSERT", "UPDATE", "DELETE"];
            public.sort_by_key(|p| order.iter().position(|o| o == p));
            if !public.is_empty() {
                reach.insert("PUBLIC".into(), public);
            }
        }
        let kind: String = get(row, "kind")?;
        let owner: String = get(row, "owner")?;
        let owned_by = roles
            .names
            .iter()
            .filter(|r| {
                role_info
                    .get(*r)
                    .is_some_and(|info| info.uses.contains(&owner))
            })
            .cloned()
            .collect();
        out.push(Relation {
            schema: get(row, "schema")?,
            name: get(row, "name")?,
            kind: kind.chars().next().unwrap_or('r'),
            rls: get(row, "rls")?,
            forced: get(row, "forced")?,
            owner,
            options: get(row, "options")?,
            reach,
            owned_by,
            columns: get(row, "columns")?,
        });
    }
    Ok(out)
}

const POLICIES_SQL: &str = r#"
SELECT n.nspname::text AS schema, c.relname::text AS "table", p.polname::text AS name,
       p.polcmd::text AS command, p.polpermissive AS permissive,
       pg_get_expr(p.polqual, p.polrelid) AS using_expr,
       pg_get_expr(p.polwithcheck, p.polrelid) AS check_expr,
       ARRAY(SELECT CASE WHEN pr = 0 THEN 'public' ELSE pg_get_userbyid(pr)::text END
             FROM unnest(p.polroles) AS pr)::text[] AS roles
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1::text[])
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2, 3
"#;

async fn read_policies(
    conn: &mut PgConnection,
    schemas: &[String],
    roles: &ApiRoles,
    role_info: &BTreeMap<String, RoleInfo>,
) -> Result<Vec<Policy>, CheckError> {
    let rows = sqlx::query(POLICIES_SQL)
        .bind(schemas)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| catalog_error(&e))?;
    rows.iter()
        .map(|row| {
            let command: String = get(row, "command")?;
            let policy_roles: Vec<String> = get(row, "roles")?;
            let for_public = policy_roles.iter().any(|r| r == "public");
            let applies_to = if roles.configured() {
                roles
                    .names
                    .iter()
                    .filter(|r| {
                        for_public
                            || role_info.get(*r).is_some_and(|info| {
                                policy_roles.iter().any(|p| info.member_of.contains(p))
                            })
                    })
                    .cloned()
                    .collect()
            } else if for_public {
                vec!["PUBLIC".to_string()]
            } else {
                Vec::new()
            };
            Ok(Policy {
                schema: get(row, "schema")?,
                table: get(row, "table")?,
                name: get(row, "name")?,
                command: command.chars().next().unwrap_or('*'),
                permissive: get(row, "permissive")?,
                using: get(row, "using_expr")?,
                check: get(row, "check_expr")?,
                roles: policy_roles,
                applies_to,
            })
        })
        .collect()
}

const FUNCTIONS_SQL: &str = r#"
SELECT n.nspname::text || '.' || p.proname::text || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS signature,
       EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) AS s WHERE s LIKE 'search\_path=%') AS fixed_search_path,
       CASE WHEN cardinality($2::text[]) = 0
            THEN CASE WHEN EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS a
                                   WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')
                      THEN ARRAY['PUBLIC'] ELSE ARRAY[]::text[] END
            ELSE ARRAY(SELECT r.name FROM unnest($2::text[]) WITH ORDINALITY AS r(name, i)
                       WHERE has_function_privilege(r.name, p.oid, 'EXECUTE') ORDER BY r.i)::text[]
       END AS executors
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = ANY($1::text[])
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND p.prosecdef
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
ORDER BY 1
"#;

async fn read_definer_functions(
    conn: &mut PgConnection,
    schemas: &[String],
    roles: &ApiRoles,
) -> Result<Vec<DefinerFunction>, CheckError> {
    let rows = sqlx::query(FUNCTIONS_SQL)
        .bind(schemas)
        .bind(&roles.names)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| catalog_error(&e))?;
    rows.iter()
        .map(|row| {
            Ok(DefinerFunction {
                signature: get(row, "signature")?,
                fixed_search_path: get(row, "fixed_search_path")?,
                executors: get(row, "executors")?,
            })
        })
        .collect()
}

/// Column names that hold secrets or payment data, matched on whole `_`-separated words.
fn is_sensitive_column(name: &str) -> bool {
    const WORDS: &[&[&str]] = &[
        &["password"],
        &["passwd"],
        &["pwd"],
        &["token"],
        &["api", "key"],
        &["apikey"],
        &["secret"],
        &["private", "key"],
        &["card", "number"],
        &["cardnumber"],
        &["cvv"],
        &["cvc"],
        &["iban"],
        &["account", "number"],
        &["routing", "number"],
        &["ssn"],
        &["pin"],
    ];
    let lower = name.to_ascii_lowercase();
    let words: Vec<&str> = lower.split(['_', '-']).collect();
    WORDS.iter().any(|pattern| {
        words
            .windows(pattern.len())
            .any(|w| w.iter().zip(pattern.iter()).all(|(a, b)| a == b))
    })
}

/// Whether a policy expression, as `pg_get_expr` prints it, is true whatever the row: `true`,
/// `(true)`, `1 = 1`, `'a'::text = 'a'::text`, `NOT false`, or an OR with such a branch. A column
/// compared with something (`is_active = true`) is never always true.
pub fn always_true(expr: &str) -> bool {
    let e = strip_parens(expr.trim());
    if let Some(parts) = split_top(e, " OR ") {
        return parts.iter().any(|p| always_true(p));
    }
    if let Some(parts) = split_top(e, " AND ") {
        return parts.iter().all(|p| always_true(p));
    }
    let compact = compact(e);
    let compact = strip_bool_cast(&compact);
    if matches!(
        compact,
        "true" | "'t'" | "'true'" | "'on'" | "'yes'" | "'1'" | "'y'" | "notfalse"
    ) {
        return true;
    }
    if let Some(rest) = compact.strip_prefix("not") {
        return always_false(rest);
    }
    match split_equality(compact) {
        Some((a, b)) => a == b && is_constant(a),
        None => false,
    }
}

fn always_false(compact: &str) -> bool {
    let inner = strip_parens(compact);
    matches!(strip_bool_cast(inner), "false" | "'f'" | "'false'")
}

/// Drops parentheses that enclose the whole expression.
fn strip_parens(mut e: &str) -> &str {
    loop {
        let t = e.trim();
        if t.starts_with('(') && t.ends_with(')') && closing_of_first(t) == Some(t.len() - 1) {
            e = &t[1..t.len() - 1];
        } else {
            return t;
        }
    }
}

fn closing_of_first(text: &str) -> Option<usize> {
    let mut depth = 0i32;
    let mut quoted = false;
    for (i, ch) in text.char_indices() {
        match ch {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits on `sep` outside parentheses and quotes; `None` when it does not occur there.
fn split_top<'a>(text: &'a str, sep: &str) -> Option<Vec<&'a str>> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth -= 1,
            _ if !quoted && depth == 0 && text[i..].starts_with(sep) => {
                parts.push(&text[start..i]);
                i += sep.len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if parts.is_empty() {
        return None;
    }
    parts.push(&text[start..]);
    Some(parts)
}

/// Lower case without whitespace outside quotes.
fn compact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    for ch in text.chars() {
        if ch == '\'' {
            quoted = !quoted;
        }
        if quoted || ch == '\'' {
            out.push(ch);
        } else if !ch.is_whitespace() {
            out.extend(ch.to_lowercase());
        }
    }
    out
}

fn strip_bool_cast(text: &str) -> &str {
    let t = strip_parens(text);
    t.strip_suffix("::boolean")
        .or_else(|| t.strip_suffix("::bool"))
        .map(strip_parens)
        .unwrap_or(t)
}

/// `a=b` at the top level (not `<=`, `>=`, `<>`, `!=`).
fn split_equality(text: &str) -> Option<(&str, &str)> {
    let parts = split_top(text, "=")?;
    if parts.len() != 2 {
        return None;
    }
    let (a, b) = (parts[0], parts[1]);
    if a.ends_with(['<', '>', '!']) {
        return None;
    }
    Some((strip_parens(a), strip_parens(b)))
}

/// A literal number or quoted string, with an optional cast.
fn is_constant(text: &str) -> bool {
    let value = if text.starts_with('\'') {
        text.rfind("'::").map_or(text, |i| &text[..=i])
    } else {
        text.split("::").next().unwrap_or(text)
    };
    let value = strip_parens(value);
    (value.starts_with('\'') && value.ends_with('\'') && value.len() >= 2)
        || (!value.is_empty()
            && value
                .trim_start_matches('-')
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.'))
        || matches!(value, "true" | "false")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn always_true_expressions() {
        for e in [
            "true",
            "(true)",
            "((true))",
            "(1 = 1)",
            "('a'::text = 'a'::text)",
            "NOT false",
            "(true = true)",
            "((auth.uid() = owner_id) OR true)",
            "'t'::boolean",
            "(true AND (2 = 2))",
        ] {
            assert!(always_true(e), "{e}");
        }
        for e in [
            "(is_active = true)",
            "(owner_id = auth.uid())",
            "(1 = 2)",
            "((auth.uid() = owner_id) AND true)",
            "(x >= x)",
            "(id = id)",
            "((select true) = is_public)",
            "('OR true' = note)",
        ] {
            assert!(!always_true(e), "{e}");
        }
    }

    #[test]
    fn sensitive_columns_are_whole_words() {
        for c in [
            "password_hash",
            "api_key",
            "refresh_token",
            "card_number",
            "cvv",
            "iban",
            "account_number",
            "stripe_secret",
        ] {
            assert!(is_sensitive_column(c), "{c}");
        }
        for c in [
            "shipping",
            "tokenizer_kind",
            "description",
            "opinion",
            "keyboard",
        ] {
            assert!(!is_sensitive_column(c), "{c}");
        }
    }
}
