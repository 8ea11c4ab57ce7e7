//! `audit_log`: the audit table exists, change triggers cover the audited tables, nobody but its
//! owner can rewrite history, and (optionally) the triggers really fire.

use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::catalog::{NameGlob, TableName, api_roles, catalog_error, get, list, quote_ident};
use super::{PgHandle, describe};
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};

const DEFAULT_TABLES: &[&str] = &["audit_log", "audit.record_version", "audit.logged_actions"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Insert,
    Update,
    Delete,
    Truncate,
}

impl Operation {
    const ALL: [Operation; 4] = [
        Operation::Insert,
        Operation::Update,
        Operation::Delete,
        Operation::Truncate,
    ];

    fn sql(self) -> &'static str {
        match self {
            Operation::Insert => "INSERT",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Truncate => "TRUNCATE",
        }
    }

    /// Its bit in `pg_trigger.tgtype`.
    fn trigger_bit(self) -> i32 {
        match self {
            Operation::Insert => 4,
            Operation::Delete => 8,
            Operation::Update => 16,
            Operation::Truncate => 32,
        }
    }
}

const TRIGGER_ROW: i32 = 1;
const TRIGGER_BEFORE: i32 = 2;
const TRIGGER_INSTEAD: i32 = 64;

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditLogParams {
    /// Default: the first found of `audit_log`, `audit.record_version`, `audit.logged_actions`.
    pub table: Option<TableName>,
    /// Tables whose changes must be audited (globs over `table` or `schema.table`).
    #[serde(default)]
    pub tables: Vec<NameGlob>,
    pub operations: Option<Vec<Operation>>,
    #[serde(default = "yes")]
    pub immutable: bool,
    #[serde(default)]
    pub fire_test: bool,
    /// Where `tables` are looked for. Default: the target's `exposed_schemas`.
    pub schemas: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

struct AuditTable {
    oid: i64,
    name: String,
    owner: String,
}

struct AuditedTable {
    name: String,
    first_column: Option<String>,
    /// (name, tgtype, tgenabled)
    triggers: Vec<(String, i32, char)>,
}

pub async fn run(
    params: &AuditLogParams,
    db: &PgHandle,
    timeout: std::time::Duration,
) -> CheckOutcome {
    let mut tx = db.read_only(timeout).await?;
    let result = inspect(params, db, &mut tx).await;
    db.finish(tx).await;
    let (mut obs, audit, audited) = result?;
    if params.fire_test {
        match &audit {
            Some(audit) => {
                let mut tx = db.rolled_back_writes(timeout).await?;
                let result = fire_test(&mut tx, audit, &audited, &mut obs).await;
                db.finish(tx).await;
                result?;
            }
            None => obs.summary = Some("no audit table, so no fire test".into()),
        }
    }
    Ok(obs)
}

async fn inspect(
    params: &AuditLogParams,
    db: &PgHandle,
    conn: &mut PgConnection,
) -> Result<(Observation, Option<AuditTable>, Vec<AuditedTable>), CheckError> {
    let roles = api_roles(conn, db).await?;
    let mut obs = Observation::default();
    let candidates: Vec<String> = match &params.table {
        Some(t) => vec![sql_name(t)],
        None => DEFAULT_TABLES
            .iter()
            .map(|t| sql_name(&TableName::parse(t).expect("valid built-in names")))
            .collect(),
    };
    let shown_candidates = match &params.table {
        Some(t) => t.to_string(),
        None => format!("none of {} exists", list(DEFAULT_TABLES)),
    };
    let row = sqlx::query(
        "SELECT c.oid::int8 AS oid, n.nspname::text || '.' || c.relname::text AS name,
                pg_get_userbyid(c.relowner)::text AS owner,
                c.relrowsecurity AS rls, c.relforcerowsecurity AS forced
         FROM unnest($1::text[]) WITH ORDINALITY AS w(name, i)
         JOIN pg_class c ON c.oid = to_regclass(w.name)
         JOIN pg_namespace n ON n.oid = c.relnamespace
         ORDER BY w.i LIMIT 1",
    )
    .bind(&candidates)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| catalog_error(&e))?;
    let audit = match &row {
        Some(r) => Some((
            AuditTable {
                oid: get(r, "oid")?,
                name: get(r, "name")?,
                owner: get(r, "owner")?,
            },
            get::<bool>(r, "rls")?,
            get::<bool>(r, "forced")?,
        )),
        None => None,
    };
    match &audit {
        None => obs.findings.push(Finding::fail(
            params
                .table
                .as_ref()
                .map_or("audit_log".to_string(), |t| t.to_string()),
            match &params.table {
                Some(t) => format!("the audit table {t} does not exist"),
                None => format!("no audit table: {shown_candidates}"),
            },
        )),
        Some((table, rls, forced)) if params.immutable => {
            immutability(conn, table, *rls, *forced, &roles.names, &mut obs).await?;
        }
        Some(_) => {}
    }

    let operations = params
        .operations
        .clone()
        .unwrap_or_else(|| Operation::ALL.to_vec());
    let schemas = params
        .schemas
        .clone()
        .unwrap_or_else(|| db.target.exposed_schemas.clone());
    let audited = if params.tables.is_empty() {
        Vec::new()
    } else {
        coverage(
            conn,
            &params.tables,
            &schemas,
            audit.as_ref().map_or(0, |(t, ..)| t.oid),
            &operations,
            &mut obs,
        )
        .await?
    };
    obs.measure("audited_tables", audited.len() as f64);
    obs.summary = Some(match &audit {
        Some((t, ..)) => format!(
            "audit table {t_name}; {} table(s) covered for {}{}",
            audited.len(),
            list(&operations.iter().map(|o| o.sql()).collect::<Vec<_>>()),
            if params.immutable { "; immutable" } else { "" },
            t_name = t.name
        ),
        None => "no audit table".into(),
    });
    Ok((obs, audit.map(|(t, ..)| t), audited))
}

/// A name for `to_regclass`: quoted, unqualified names resolved through the search path.
fn sql_name(table: &TableName) -> String {
    match &table.schema {
        Some(s) => format!("{}.{}", quote_ident(s), quote_ident(&table.name)),
        None => quote_ident(&table.name),
    }
}

const WRITERS_SQL: &str = r#"
WITH principals AS (
    SELECT r.oid, r.rolname::text AS name, r.rolbypassrls AS bypass, r.rolname = ANY($2::text[]) AS api
    FROM pg_roles r, pg_class c
    WHERE c.oid = $1::oid AND NOT r.rolsuper AND r.oid <> c.relowner
      AND (r.rolcanlogin OR r.rolname = ANY($2::text[]))
)
SELECT p.name AS role, p.bypass, p.api,
       pg_has_role(p.oid, c.relowner, 'USAGE') AS owner_rights,
       ARRAY(SELECT w.priv FROM unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) WITH ORDINALITY AS w(priv, i)
             WHERE CASE WHEN w.priv IN ('INSERT', 'UPDATE') THEN has_any_column_privilege(p.oid, c.oid, w.priv)
                        ELSE has_table_privilege(p.oid, c.oid, w.priv) END
             ORDER BY w.i)::text[] AS privileges,
       ARRAY(SELECT DISTINCT pol.polcmd::text FROM pg_policy pol
             WHERE pol.polrelid = c.oid AND pol.polpermissive
               AND (0 = ANY(pol.polroles)
                    OR EXISTS (SELECT 1 FROM unnest(pol.polroles) AS pr
                               WHERE pr <> 0 AND pg_has_role(p.oid, pr, 'MEMBER'))))::text[] AS policy_commands
FROM principals p, pg_class c
WHERE c.oid = $1::oid
UNION ALL
SELECT 'PUBLIC', false, true, false,
       ARRAY(SELECT w.priv FROM unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) WITH ORDINALITY AS w(priv, i)
             WHERE EXISTS (SELECT 1 FROM (SELECT (aclexplode(coalesce(c.relacl, acldefault('r', c.relowner)))).*
                                          UNION ALL
                                          SELECT (aclexplode(att.attacl)).* FROM pg_attribute att
                                          WHERE att.attrelid = c.oid AND att.attacl IS NOT NULL) a
                           WHERE a.grantee = 0 AND a.privilege_type = w.priv)
             ORDER BY w.i)::text[],
       ARRAY(SELECT DISTINCT pol.polcmd::text FROM pg_policy pol
             WHERE pol.polrelid = c.oid AND pol.polpermissive AND 0 = ANY(pol.polroles))::text[]
FROM pg_class c
WHERE c.oid = $1::oid
ORDER BY 1
"#;

/// Anyone but the owner who can change or empty the log, or (API roles) forge entries.
async fn immutability(
    conn: &mut PgConnection,
    table: &AuditTable,
    rls: bool,
    forced: bool,
    api: &[String],
    obs: &mut Observation,
) -> Result<(), CheckError> {
    let rows = sqlx::query(WRITERS_SQL)
        .bind(table.oid)
        .bind(api)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| catalog_error(&e))?;
    let audit = &table.name;
    if api.contains(&table.owner) {
        obs.findings.push(Finding::fail(
            audit,
            format!(
                "the audit table {audit} is owned by API role {}, which can rewrite or drop it",
                table.owner
            ),
        ));
    }
    for row in &rows {
        let role: String = get(row, "role")?;
        let bypass: bool = get(row, "bypass")?;
        let is_api: bool = get(row, "api")?;
        let owner_rights: bool = get(row, "owner_rights")?;
        let privileges: Vec<String> = get(row, "privileges")?;
        let policy_commands: Vec<String> = get(row, "policy_commands")?;
        let subject = format!("{audit}/{role}");
        if owner_rights {
            obs.findings.push(Finding::fail(
                &subject,
                format!(
                    "{role} is a member of {}, the owner of the audit table {audit}: it can change or drop the log",
                    table.owner
                ),
            ));
            continue;
        }
        let mut problems = Vec::new();
        let mut rls_only = Vec::new();
        for privilege in &privileges {
            let command = match privilege.as_str() {
                "INSERT" if is_api => "a",
                "UPDATE" => "w",
                "DELETE" => "d",
                "TRUNCATE" => {
                    problems
                        .push("TRUNCATE (row level security does not stop TRUNCATE)".to_string());
                    continue;
                }
                _ => continue,
            };
            let allowed_by_policy = policy_commands.iter().any(|c| c == command || c == "*");
            if rls && !bypass && !allowed_by_policy {
                if !forced {
                    rls_only.push(privilege.clone());
                }
            } else {
                let how = if bypass {
                    " (BYPASSRLS)"
                } else if rls {
                    " (a policy allows it)"
                } else {
                    ""
                };
                let what = if privilege == "INSERT" {
                    "INSERT forged entries".to_string()
                } else {
                    privilege.clone()
                };
                problems.push(format!("{what}{how}"));
            }
        }
        if !problems.is_empty() {
            obs.findings.push(
                Finding::fail(
                    &subject,
                    format!("{role} can {} on the audit table {audit}", list(&problems)),
                )
                .with_evidence(json!({"role": role, "privileges": privileges, "rls_enabled": rls, "rls_forced": forced})),
            );
        }
        if !rls_only.is_empty() {
            obs.findings.push(
                Finding::fail(
                    &subject,
                    format!(
                        "{role} holds {} on the audit table {audit}, held back only by row level security that is not forced: the owner and BYPASSRLS roles skip it (revoke the grants or FORCE ROW LEVEL SECURITY)",
                        list(&rls_only)
                    ),
                )
                .with_evidence(json!({"role": role, "privileges": privileges, "rls_enabled": rls, "rls_forced": forced})),
            );
        }
    }
    Ok(())
}

const AUDITED_SQL: &str = r#"
SELECT n.nspname::text AS schema, c.relname::text AS name,
       (SELECT a.attname::text FROM pg_attribute a
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
          AND a.attidentity <> 'a'
        ORDER BY a.attnum LIMIT 1) AS first_column,
       ARRAY(SELECT t.tgname::text FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal ORDER BY t.tgname)::text[] AS trigger_names,
       ARRAY(SELECT t.tgtype::int4 FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal ORDER BY t.tgname)::int4[] AS trigger_types,
       ARRAY(SELECT t.tgenabled::text FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal ORDER BY t.tgname)::text[] AS trigger_states
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = ANY($1::text[]) AND c.oid <> $2::oid
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"#;

async fn coverage(
    conn: &mut PgConnection,
    globs: &[NameGlob],
    schemas: &[String],
    audit_oid: i64,
    operations: &[Operation],
    obs: &mut Observation,
) -> Result<Vec<AuditedTable>, CheckError> {
    let rows = sqlx::query(AUDITED_SQL)
        .bind(schemas)
        .bind(audit_oid)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| catalog_error(&e))?;
    let mut audited = Vec::new();
    let mut matched = vec![false; globs.len()];
    for row in &rows {
        let schema: String = get(row, "schema")?;
        let name: String = get(row, "name")?;
        let mut hit = false;
        for (i, g) in globs.iter().enumerate() {
            if g.matches(&schema, &name) {
                matched[i] = true;
                hit = true;
            }
        }
        if !hit {
            continue;
        }
        let names: Vec<String> = get(row, "trigger_names")?;
        let types: Vec<i32> = get(row, "trigger_types")?;
        let states: Vec<String> = get(row, "trigger_states")?;
        audited.push(AuditedTable {
            name: format!("{schema}.{name}"),
            first_column: get(row, "first_column")?,
            triggers: names
                .into_iter()
                .zip(types)
                .zip(states)
                .map(|((n, t), s)| (n, t, s.chars().next().unwrap_or('O')))
                .collect(),
        });
    }
    for (glob, found) in globs.iter().zip(&matched) {
        if !found && glob.is_literal() {
            let shown = glob.0.as_str();
            obs.findings.push(Finding::fail(
                shown,
                format!("audited table {shown} does not exist in {}", list(schemas)),
            ));
        }
    }
    for table in &audited {
        let mut missing = Vec::new();
        for op in operations {
            let covers = |t: i32| {
                let timing_ok = if *op == Operation::Truncate {
                    t & TRIGGER_ROW == 0
                } else {
                    t & TRIGGER_ROW != 0 && t & (TRIGGER_BEFORE | TRIGGER_INSTEAD) == 0
                };
                timing_ok && t & op.trigger_bit() != 0
            };
            let enabled = table
                .triggers
                .iter()
                .any(|(_, t, state)| covers(*t) && matches!(state, 'O' | 'A'));
            if !enabled {
                missing.push(op.sql());
            }
        }
        if !missing.is_empty() {
            let row_ops: Vec<&str> = missing
                .iter()
                .copied()
                .filter(|op| *op != "TRUNCATE")
                .collect();
            let mut needs = Vec::new();
            if !row_ops.is_empty() {
                needs.push(format!(
                    "no enabled AFTER row trigger for {}",
                    list(&row_ops)
                ));
            }
            if missing.contains(&"TRUNCATE") {
                needs.push("no enabled TRUNCATE statement trigger".to_string());
            }
            obs.findings.push(
                Finding::fail(
                    &table.name,
                    format!(
                        "{} is not audited for {}: it has {}",
                        table.name,
                        list(&missing),
                        needs.join(" and ")
                    ),
                )
                .with_evidence(json!({"missing": missing, "triggers": table.triggers.iter().map(|(n, ..)| n).collect::<Vec<_>>()})),
            );
        }
        for (name, _, state) in &table.triggers {
            let why = match state {
                'D' => "is disabled",
                'R' => "fires only in replica mode, so ordinary changes are not audited",
                _ => continue,
            };
            obs.findings.push(Finding::fail(
                format!("{}/{name}", table.name),
                format!("trigger {name} on {} {why}", table.name),
            ));
        }
    }
    Ok(audited)
}

fn is_permission_error(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("42501"))
}

/// Inside the rolled-back transaction: touch one row of each audited table and see a new audit
/// row appear.
async fn fire_test(
    conn: &mut PgConnection,
    audit: &AuditTable,
    audited: &[AuditedTable],
    obs: &mut Observation,
) -> Result<(), CheckError> {
    let audit_sql = {
        let (schema, name) = audit
            .name
            .split_once('.')
            .unwrap_or(("public", &audit.name));
        format!("{}.{}", quote_ident(schema), quote_ident(name))
    };
    let count_sql = format!("SELECT count(*) FROM {audit_sql}");
    let mut tested = 0;
    for table in audited {
        let Some(column) = &table.first_column else {
            continue;
        };
        let (schema, name) = table
            .name
            .split_once('.')
            .unwrap_or(("public", &table.name));
        let target = format!("{}.{}", quote_ident(schema), quote_ident(name));
        let col = quote_ident(column);
        // One row, whatever the table's keys: its ctid within its physical table.
        let touch = format!(
            "WITH one AS (SELECT tableoid, ctid FROM {target} LIMIT 1)
             UPDATE {target} AS t SET {col} = t.{col} FROM one
             WHERE t.tableoid = one.tableoid AND t.ctid = one.ctid"
        );
        sqlx::raw_sql("SAVEPOINT ready_fire_test")
            .execute(&mut *conn)
            .await
            .map_err(|e| CheckError::new(describe(&e)))?;
        let before: Result<i64, _> = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql.clone()))
            .fetch_one(&mut *conn)
            .await;
        let touched = match &before {
            Ok(_) => Some(
                sqlx::query(sqlx::AssertSqlSafe(touch))
                    .execute(&mut *conn)
                    .await,
            ),
            Err(_) => None,
        };
        let after: Option<Result<i64, _>> = match &touched {
            Some(Ok(_)) => Some(
                sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql.clone()))
                    .fetch_one(&mut *conn)
                    .await,
            ),
            _ => None,
        };
        sqlx::raw_sql("ROLLBACK TO SAVEPOINT ready_fire_test")
            .execute(&mut *conn)
            .await
            .map_err(|e| CheckError::new(describe(&e)))?;
        match (before, touched, after) {
            (Err(e), ..) | (_, _, Some(Err(e))) => {
                return Err(CheckError::new(format!(
                    "fire test: cannot count the rows of {}: {}",
                    audit.name,
                    describe(&e)
                )));
            }
            (_, Some(Err(e)), _) if is_permission_error(&e) => {
                return Err(CheckError::new(format!(
                    "fire test: cannot update {}: {}",
                    table.name,
                    describe(&e)
                )));
            }
            (_, Some(Err(e)), _) => obs.findings.push(Finding::fail(
                &table.name,
                format!(
                    "fire test: updating a row of {} failed: {}",
                    table.name,
                    describe(&e)
                ),
            )),
            (_, Some(Ok(done)), _) if done.rows_affected() == 0 => {
                obs.findings.push(Finding::warn(
                    &table.name,
                    format!(
                        "fire test: {} has no row to touch, so its trigger was not exercised",
                        table.name
                    ),
                ))
            }
            (Ok(before), _, Some(Ok(after))) if after <= before => {
                tested += 1;
                obs.findings.push(Finding::fail(
                    &table.name,
                    format!(
                        "fire test: an UPDATE of one row of {} added no row to {}",
                        table.name, audit.name
                    ),
                ));
            }
            _ => tested += 1,
        }
    }
    obs.measure("fire_tested_tables", tested as f64);
    Ok(())
}
