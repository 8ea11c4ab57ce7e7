//! `schema`: structural guarantees — foreign keys indexed, primary keys present, required
//! indexes and unique keys (idempotency) in place, required tables present.

use serde::{Deserialize, Deserializer, de};
use serde_json::json;
use sqlx::PgConnection;

use super::PgHandle;
use super::catalog::{TableName, catalog_error, get, list};
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::{Ctx, KindSpec};
use crate::model::TargetFamily;

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchemaParams {
    #[serde(default = "yes")]
    pub foreign_key_indexes: bool,
    #[serde(default = "yes")]
    pub primary_keys: bool,
    #[serde(default)]
    pub indexes: Vec<ColumnsSpec>,
    #[serde(default)]
    pub unique: Vec<ColumnsSpec>,
    #[serde(default)]
    pub tables: Vec<TableName>,
    /// Where foreign keys and primary keys are looked at, and where unqualified names live.
    /// Default: the target's `exposed_schemas`.
    pub schemas: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

/// `table(col, …)` or `schema.table(col, …)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnsSpec {
    pub table: TableName,
    pub columns: Vec<String>,
}

impl ColumnsSpec {
    pub fn parse(text: &str) -> Result<ColumnsSpec, String> {
        let wrong = || format!("`{text}` is not `table(column, …)`");
        let (table, rest) = text.trim().split_once('(').ok_or_else(wrong)?;
        let inner = rest.trim().strip_suffix(')').ok_or_else(wrong)?;
        let columns: Vec<String> = inner.split(',').map(|c| c.trim().to_string()).collect();
        if columns
            .iter()
            .any(|c| c.is_empty() || c.contains(['(', ')']))
        {
            return Err(wrong());
        }
        Ok(ColumnsSpec {
            table: TableName::parse(table)?,
            columns,
        })
    }
}

impl std::fmt::Display for ColumnsSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}({})", self.table, self.columns.join(", "))
    }
}

crate::checks::params::text_schema!(ColumnsSpec, "ColumnsSpec", "`table(column, …)`");

impl<'de> Deserialize<'de> for ColumnsSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ColumnsSpec::parse(&text).map_err(de::Error::custom)
    }
}

impl KindSpec for SchemaParams {
    fn family(&self) -> Option<TargetFamily> {
        Some(TargetFamily::Postgres)
    }

    fn is_network(&self) -> bool {
        true
    }
}

pub async fn run(params: &SchemaParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let (db, timeout) = (ctx.postgres()?, ctx.timeout);
    let mut tx = db.read_only(timeout).await?;
    let result = inspect(params, db, &mut tx).await;
    db.finish(tx).await;
    result
}

const UNINDEXED_FKS_SQL: &str = r#"
SELECT n.nspname::text || '.' || c.relname::text AS "table", con.conname::text AS name,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, i)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
             ORDER BY k.i)::text[] AS columns,
       (SELECT rn.nspname::text || '.' || r.relname::text FROM pg_class r
        JOIN pg_namespace rn ON rn.oid = r.relnamespace WHERE r.oid = con.confrelid) AS "references"
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE con.contype = 'f' AND con.conparentid = 0 AND n.nspname = ANY($1::text[])
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  AND NOT EXISTS (
        SELECT 1 FROM pg_index i
        WHERE i.indrelid = con.conrelid AND i.indisvalid AND i.indislive AND i.indpred IS NULL
          AND (SELECT array_agg(k.attnum ORDER BY k.o)
               FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, o)
               WHERE k.o <= cardinality(con.conkey)) = con.conkey)
ORDER BY 1, 2
"#;

const NO_PRIMARY_KEY_SQL: &str = r#"
SELECT n.nspname::text || '.' || c.relname::text AS "table"
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = ANY($1::text[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conrelid = c.oid AND con.contype = 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1
"#;

/// The named tables that exist, and every index on them with its key columns.
const INDEXES_SQL: &str = r#"
SELECT w.name AS wanted, to_regclass(w.name) IS NOT NULL AS found,
       i.indexrelid::regclass::text AS index, coalesce(i.indisunique, false) AS is_unique,
       coalesce(i.indisvalid AND i.indislive, false) AS valid, i.indpred IS NOT NULL AS partial,
       ARRAY(SELECT coalesce(a.attname::text, '(expression)')
             FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, o)
             LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE k.o <= i.indnkeyatts ORDER BY k.o)::text[] AS columns
FROM unnest($1::text[]) AS w(name)
LEFT JOIN pg_index i ON i.indrelid = to_regclass(w.name)
ORDER BY 1, 3
"#;

struct IndexRow {
    wanted: String,
    found: bool,
    index: Option<String>,
    unique: bool,
    valid: bool,
    partial: bool,
    columns: Vec<String>,
}

async fn inspect(params: &SchemaParams, db: &PgHandle, conn: &mut PgConnection) -> CheckOutcome {
    let schemas = params
        .schemas
        .clone()
        .unwrap_or_else(|| db.target.exposed_schemas.clone());
    let default_schema = schemas.first().cloned().unwrap_or_else(|| "public".into());
    let mut obs = Observation::default();
    let mut done = Vec::new();

    if params.foreign_key_indexes {
        let rows = sqlx::query(UNINDEXED_FKS_SQL)
            .bind(&schemas)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| catalog_error(&e))?;
        for row in &rows {
            let table: String = get(row, "table")?;
            let name: String = get(row, "name")?;
            let columns: Vec<String> = get(row, "columns")?;
            let references: String = get(row, "references")?;
            obs.findings.push(
                Finding::fail(
                    format!("{table}/{name}"),
                    format!(
                        "foreign key {name} on {table}({}) → {references} has no index leading with those columns: deletes and joins on {references} scan {table}",
                        columns.join(", ")
                    ),
                )
                .with_evidence(json!({"table": table, "constraint": name, "columns": columns, "references": references})),
            );
        }
        obs.measure("unindexed_foreign_keys", rows.len() as f64);
        done.push("foreign keys indexed".to_string());
    }

    if params.primary_keys {
        let tables: Vec<String> = sqlx::query_scalar(NO_PRIMARY_KEY_SQL)
            .bind(&schemas)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| catalog_error(&e))?;
        for table in &tables {
            obs.findings.push(Finding::fail(
                table,
                format!(
                    "{table} has no primary key: rows cannot be addressed or replicated reliably"
                ),
            ));
        }
        obs.measure("tables_without_primary_key", tables.len() as f64);
        done.push("primary keys".to_string());
    }

    let mut wanted: Vec<String> = params
        .tables
        .iter()
        .chain(params.indexes.iter().map(|s| &s.table))
        .chain(params.unique.iter().map(|s| &s.table))
        .map(|t| t.quoted(&default_schema))
        .collect();
    wanted.sort();
    wanted.dedup();
    if !wanted.is_empty() {
        let rows = sqlx::query(INDEXES_SQL)
            .bind(&wanted)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| catalog_error(&e))?;
        let rows: Vec<IndexRow> = rows
            .iter()
            .map(|r| {
                Ok(IndexRow {
                    wanted: get(r, "wanted")?,
                    found: get(r, "found")?,
                    index: get(r, "index")?,
                    unique: get(r, "is_unique")?,
                    valid: get(r, "valid")?,
                    partial: get(r, "partial")?,
                    columns: get(r, "columns")?,
                })
            })
            .collect::<Result<_, CheckError>>()?;
        let exists = |table: &TableName| {
            let q = table.quoted(&default_schema);
            rows.iter().any(|r| r.wanted == q && r.found)
        };
        let indexes_of = |table: &TableName| {
            let q = table.quoted(&default_schema);
            rows.iter()
                .filter(move |r| r.wanted == q && r.index.is_some())
                .collect::<Vec<_>>()
        };
        for table in &params.tables {
            if !exists(table) {
                obs.findings.push(Finding::fail(
                    table.to_string(),
                    format!("required table {table} does not exist"),
                ));
            }
        }
        for spec in &params.indexes {
            let subject = spec.to_string();
            if !exists(&spec.table) {
                obs.findings.push(Finding::fail(
                    &subject,
                    format!(
                        "{} does not exist, so it has no index on ({})",
                        spec.table,
                        spec.columns.join(", ")
                    ),
                ));
                continue;
            }
            let leading = |r: &&IndexRow| r.columns.starts_with(&spec.columns);
            let candidates: Vec<&IndexRow> = indexes_of(&spec.table)
                .into_iter()
                .filter(|r| leading(r))
                .collect();
            if !candidates.iter().any(|r| r.valid) {
                let note = unusable_note(&candidates);
                obs.findings.push(
                    Finding::fail(
                        &subject,
                        format!(
                            "no valid index on {} leads with ({}){note}",
                            spec.table,
                            spec.columns.join(", ")
                        ),
                    )
                    .with_evidence(json!({"candidates": candidates.iter().map(|r| &r.index).collect::<Vec<_>>()})),
                );
            }
        }
        for spec in &params.unique {
            let subject = spec.to_string();
            if !exists(&spec.table) {
                obs.findings.push(Finding::fail(
                    &subject,
                    format!(
                        "{} does not exist, so nothing makes ({}) unique",
                        spec.table,
                        spec.columns.join(", ")
                    ),
                ));
                continue;
            }
            let mut wanted_cols = spec.columns.clone();
            wanted_cols.sort();
            let same_columns = |r: &&IndexRow| {
                let mut cols = r.columns.clone();
                cols.sort();
                cols == wanted_cols
            };
            let candidates: Vec<&IndexRow> = indexes_of(&spec.table)
                .into_iter()
                .filter(|r| r.unique && same_columns(r))
                .collect();
            if !candidates.iter().any(|r| r.valid && !r.partial) {
                let note = unusable_note(&candidates);
                obs.findings.push(
                    Finding::fail(
                        &subject,
                        format!(
                            "nothing makes ({}) unique on {}: duplicates (replayed messages, double charges) are accepted{note}",
                            spec.columns.join(", "),
                            spec.table
                        ),
                    )
                    .with_evidence(json!({"candidates": candidates.iter().map(|r| &r.index).collect::<Vec<_>>()})),
                );
            }
        }
        if !params.tables.is_empty() {
            done.push(format!("{} required tables", params.tables.len()));
        }
        if !params.indexes.is_empty() {
            done.push(format!("{} required indexes", params.indexes.len()));
        }
        if !params.unique.is_empty() {
            done.push(format!("{} unique keys", params.unique.len()));
        }
    }
    obs.summary = Some(format!("checked {} in {}", list(&done), list(&schemas)));
    Ok(obs)
}

/// Why the indexes that have the right columns do not count.
fn unusable_note(candidates: &[&IndexRow]) -> String {
    let reasons: Vec<String> = candidates
        .iter()
        .filter_map(|r| {
            let name = r.index.as_deref()?;
            if !r.valid {
                Some(format!("{name} is invalid"))
            } else if r.partial {
                Some(format!("{name} is partial"))
            } else {
                None
            }
        })
        .collect();
    if reasons.is_empty() {
        String::new()
    } else {
        format!(" ({})", list(&reasons))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_specs() {
        let s = ColumnsSpec::parse("billing.payments(provider, message_id)").unwrap();
        assert_eq!(s.table.to_string(), "billing.payments");
        assert_eq!(s.columns, ["provider", "message_id"]);
        assert_eq!(s.to_string(), "billing.payments(provider, message_id)");
        assert!(ColumnsSpec::parse("payments").is_err());
        assert!(ColumnsSpec::parse("payments()").is_err());
        assert!(ColumnsSpec::parse("payments(a, (b))").is_err());
    }
}
