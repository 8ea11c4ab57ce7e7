//! `audit_log`: the audit table exists, change triggers cover the audited tables, nobody but its
//! owner can rewrite history, and (optionally) the triggers really fire. Each concern reads its
//! facts and judges them in its own module.

mod coverage;
mod fire_test;
mod immutability;

use serde::Deserialize;
use sqlx::PgConnection;

use super::PgHandle;
use super::catalog::{NameGlob, TableName, api_roles, catalog_error, get, list, quote_ident};
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::{Ctx, KindSpec};
use crate::target::TargetFamily;

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

/// The audit table found.
pub struct AuditTable {
    oid: i64,
    /// `schema.name`.
    name: String,
    owner: String,
    rls: bool,
    forced: bool,
}

/// A table whose changes must be audited.
pub struct AuditedTable {
    /// `schema.name`.
    name: String,
    /// The column the fire test sets to itself; `None` when it has none it can set.
    first_column: Option<String>,
    /// (name, tgtype, tgenabled)
    triggers: Vec<(String, i32, char)>,
}

impl KindSpec for AuditLogParams {
    fn family(&self) -> Option<TargetFamily> {
        Some(TargetFamily::Postgres)
    }
}

pub async fn run(params: &AuditLogParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let (db, timeout) = (ctx.postgres()?, ctx.timeout);
    let mut tx = db.read_only(timeout).await?;
    let result = inspect(params, db, &mut tx).await;
    db.finish(tx).await;
    let (mut obs, audit, audited) = result?;
    if params.fire_test {
        match &audit {
            Some(audit) => {
                let mut tx = db.rolled_back_writes(timeout).await?;
                let result = fire_test::run(&mut tx, audit, &audited, &mut obs).await;
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
    let audit = read_audit_table(conn, params.table.as_ref()).await?;
    match &audit {
        None => obs.findings.push(no_audit_table(params.table.as_ref())),
        Some(table) if params.immutable => {
            let writers = immutability::read_writers(conn, table, &roles.names).await?;
            obs.findings
                .extend(immutability::judge(table, &roles.names, &writers));
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
        let audit_oid = audit.as_ref().map_or(0, |t| t.oid);
        let tables = coverage::read_tables(conn, &schemas, audit_oid).await?;
        let (audited, findings) = coverage::judge(tables, &params.tables, &schemas, &operations);
        obs.findings.extend(findings);
        audited
    };
    obs.measure("audited_tables", audited.len() as f64);
    obs.summary = Some(summary(
        audit.as_ref(),
        audited.len(),
        &operations,
        params.immutable,
    ));
    Ok((obs, audit, audited))
}

/// The audit table the check names, or the first of the usual ones that exists.
async fn read_audit_table(
    conn: &mut PgConnection,
    wanted: Option<&TableName>,
) -> Result<Option<AuditTable>, CheckError> {
    let candidates: Vec<String> = match wanted {
        Some(t) => vec![sql_name(t)],
        None => DEFAULT_TABLES
            .iter()
            .map(|t| sql_name(&TableName::parse(t).expect("valid built-in names")))
            .collect(),
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
    row.map(|r| -> Result<AuditTable, CheckError> {
        Ok(AuditTable {
            oid: get(&r, "oid")?,
            name: get(&r, "name")?,
            owner: get(&r, "owner")?,
            rls: get(&r, "rls")?,
            forced: get(&r, "forced")?,
        })
    })
    .transpose()
}

fn no_audit_table(wanted: Option<&TableName>) -> Finding {
    match wanted {
        Some(t) => Finding::fail(t.to_string(), format!("the audit table {t} does not exist")),
        None => Finding::fail(
            "audit_log",
            format!("no audit table: none of {} exists", list(DEFAULT_TABLES)),
        ),
    }
}

fn summary(
    audit: Option<&AuditTable>,
    audited: usize,
    operations: &[Operation],
    immutable: bool,
) -> String {
    match audit {
        Some(t) => format!(
            "audit table {}; {audited} table(s) covered for {}{}",
            t.name,
            list(&operations.iter().map(|o| o.sql()).collect::<Vec<_>>()),
            if immutable { "; immutable" } else { "" },
        ),
        None => "no audit table".into(),
    }
}

/// A name for `to_regclass`: quoted, unqualified names resolved through the search path.
fn sql_name(table: &TableName) -> String {
    match &table.schema {
        Some(s) => format!("{}.{}", quote_ident(s), quote_ident(&table.name)),
        None => quote_ident(&table.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_audit_table_is_named() {
        let named = TableName::parse("audit.events").unwrap();
        assert_eq!(
            no_audit_table(Some(&named)).message,
            "the audit table audit.events does not exist"
        );
        let usual = no_audit_table(None);
        assert_eq!(usual.subject, "audit_log");
        assert_eq!(
            usual.message,
            "no audit table: none of audit_log, audit.record_version and audit.logged_actions exists"
        );
        assert_eq!(sql_name(&named), "\"audit\".\"events\"");
    }
}
