//! `schema`: structural guarantees — foreign keys indexed, primary keys present, required
//! indexes and unique keys (idempotency) in place, required tables present.

use serde::{Deserialize, Deserializer, de};
use serde_json::json;
use sqlx::PgConnection;

use super::PgHandle;
use super::catalog::{TableName, catalog_error, get, list};
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::{Ctx, KindSpec};
use crate::target::TargetFamily;

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

/// One index of a named table (or, with `index: None`, a named table without index or one
/// that does not exist).
struct IndexRow {
    /// The table as named in the check, quoted.
    wanted: String,
    found: bool,
    index: Option<String>,
    unique: bool,
    valid: bool,
    partial: bool,
    columns: Vec<String>,
}

/// A foreign key without an index leading with its columns.
struct ForeignKey {
    table: String,
    name: String,
    columns: Vec<String>,
    references: String,
}

/// What the catalog says; a `None` part was not asked for.
struct Facts {
    unindexed_foreign_keys: Option<Vec<ForeignKey>>,
    tables_without_primary_key: Option<Vec<String>>,
    /// The indexes of the tables the check names.
    indexes: Vec<IndexRow>,
}

async fn inspect(params: &SchemaParams, db: &PgHandle, conn: &mut PgConnection) -> CheckOutcome {
    let schemas = params
        .schemas
        .clone()
        .unwrap_or_else(|| db.target.exposed_schemas.clone());
    let default_schema = schemas.first().cloned().unwrap_or_else(|| "public".into());
    let facts = Facts {
        unindexed_foreign_keys: match params.foreign_key_indexes {
            true => Some(read_unindexed_foreign_keys(conn, &schemas).await?),
            false => None,
        },
        tables_without_primary_key: match params.primary_keys {
            true => Some(
                sqlx::query_scalar(NO_PRIMARY_KEY_SQL)
                    .bind(&schemas)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(|e| catalog_error(&e))?,
            ),
            false => None,
        },
        indexes: read_indexes(conn, params, &default_schema).await?,
    };
    Ok(judge(params, &schemas, &default_schema, &facts))
}

async fn read_unindexed_foreign_keys(
    conn: &mut PgConnection,
    schemas: &[String],
) -> Result<Vec<ForeignKey>, CheckError> {
    let rows = sqlx::query(UNINDEXED_FKS_SQL)
        .bind(schemas)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| catalog_error(&e))?;
    rows.iter()
        .map(|row| {
            Ok(ForeignKey {
                table: get(row, "table")?,
                name: get(row, "name")?,
                columns: get(row, "columns")?,
                references: get(row, "references")?,
            })
        })
        .collect()
}

/// The indexes of every table the check names (none asked: no query).
async fn read_indexes(
    conn: &mut PgConnection,
    params: &SchemaParams,
    default_schema: &str,
) -> Result<Vec<IndexRow>, CheckError> {
    let mut wanted: Vec<String> = params
        .tables
        .iter()
        .chain(params.indexes.iter().map(|s| &s.table))
        .chain(params.unique.iter().map(|s| &s.table))
        .map(|t| t.quoted(default_schema))
        .collect();
    wanted.sort();
    wanted.dedup();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(INDEXES_SQL)
        .bind(&wanted)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| catalog_error(&e))?;
    rows.iter()
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
        .collect()
}

fn judge(
    params: &SchemaParams,
    schemas: &[String],
    default_schema: &str,
    facts: &Facts,
) -> Observation {
    let mut obs = Observation::default();
    let mut done = Vec::new();
    if let Some(keys) = &facts.unindexed_foreign_keys {
        obs.findings.extend(keys.iter().map(unindexed_foreign_key));
        obs.measure("unindexed_foreign_keys", keys.len() as f64);
        done.push("foreign keys indexed".to_string());
    }
    if let Some(tables) = &facts.tables_without_primary_key {
        obs.findings.extend(tables.iter().map(|table| {
            Finding::fail(
                table,
                format!(
                    "{table} has no primary key: rows cannot be addressed or replicated reliably"
                ),
            )
        }));
        obs.measure("tables_without_primary_key", tables.len() as f64);
        done.push("primary keys".to_string());
    }
    let named = Named {
        rows: &facts.indexes,
        default_schema,
    };
    for table in &params.tables {
        if !named.exists(table) {
            obs.findings.push(Finding::fail(
                table.to_string(),
                format!("required table {table} does not exist"),
            ));
        }
    }
    obs.findings.extend(
        params
            .indexes
            .iter()
            .filter_map(|s| missing_index(&named, s)),
    );
    obs.findings.extend(
        params
            .unique
            .iter()
            .filter_map(|s| missing_unique(&named, s)),
    );
    if !params.tables.is_empty() {
        done.push(format!("{} required tables", params.tables.len()));
    }
    if !params.indexes.is_empty() {
        done.push(format!("{} required indexes", params.indexes.len()));
    }
    if !params.unique.is_empty() {
        done.push(format!("{} unique keys", params.unique.len()));
    }
    obs.summary = Some(format!("checked {} in {}", list(&done), list(schemas)));
    obs
}

fn unindexed_foreign_key(fk: &ForeignKey) -> Finding {
    let ForeignKey {
        table,
        name,
        columns,
        references,
    } = fk;
    Finding::fail(
        format!("{table}/{name}"),
        format!(
            "foreign key {name} on {table}({}) → {references} has no index leading with those columns: deletes and joins on {references} scan {table}",
            columns.join(", ")
        ),
    )
    .with_evidence(json!({"table": table, "constraint": name, "columns": columns, "references": references}))
}

/// The named tables' indexes, looked up by the names the check wrote.
struct Named<'a> {
    rows: &'a [IndexRow],
    default_schema: &'a str,
}

impl Named<'_> {
    fn exists(&self, table: &TableName) -> bool {
        let q = table.quoted(self.default_schema);
        self.rows.iter().any(|r| r.wanted == q && r.found)
    }

    fn indexes_of(&self, table: &TableName) -> impl Iterator<Item = &IndexRow> {
        let q = table.quoted(self.default_schema);
        self.rows
            .iter()
            .filter(move |r| r.wanted == q && r.index.is_some())
    }
}

/// `indexes`: a valid index leads with the columns.
fn missing_index(named: &Named, spec: &ColumnsSpec) -> Option<Finding> {
    let subject = spec.to_string();
    if !named.exists(&spec.table) {
        return Some(Finding::fail(
            &subject,
            format!(
                "{} does not exist, so it has no index on ({})",
                spec.table,
                spec.columns.join(", ")
            ),
        ));
    }
    let candidates: Vec<&IndexRow> = named
        .indexes_of(&spec.table)
        .filter(|r| r.columns.starts_with(&spec.columns))
        .collect();
    if candidates.iter().any(|r| r.valid) {
        return None;
    }
    let note = unusable_note(&candidates);
    Some(
        Finding::fail(
            &subject,
            format!(
                "no valid index on {} leads with ({}){note}",
                spec.table,
                spec.columns.join(", ")
            ),
        )
        .with_evidence(
            json!({"candidates": candidates.iter().map(|r| &r.index).collect::<Vec<_>>()}),
        ),
    )
}

/// `unique`: a valid, complete unique index on exactly the columns (in any order).
fn missing_unique(named: &Named, spec: &ColumnsSpec) -> Option<Finding> {
    let subject = spec.to_string();
    if !named.exists(&spec.table) {
        return Some(Finding::fail(
            &subject,
            format!(
                "{} does not exist, so nothing makes ({}) unique",
                spec.table,
                spec.columns.join(", ")
            ),
        ));
    }
    let sorted = |columns: &[String]| {
        let mut columns = columns.to_vec();
        columns.sort();
        columns
    };
    let wanted = sorted(&spec.columns);
    let candidates: Vec<&IndexRow> = named
        .indexes_of(&spec.table)
        .filter(|r| r.unique && sorted(&r.columns) == wanted)
        .collect();
    if candidates.iter().any(|r| r.valid && !r.partial) {
        return None;
    }
    let note = unusable_note(&candidates);
    Some(
        Finding::fail(
            &subject,
            format!(
                "nothing makes ({}) unique on {}: duplicates (replayed messages, double charges) are accepted{note}",
                spec.columns.join(", "),
                spec.table
            ),
        )
        .with_evidence(json!({"candidates": candidates.iter().map(|r| &r.index).collect::<Vec<_>>()})),
    )
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

    fn row(
        table: &str,
        index: Option<&str>,
        columns: &[&str],
        unique: bool,
        valid: bool,
        partial: bool,
    ) -> IndexRow {
        IndexRow {
            wanted: table.into(),
            found: true,
            index: index.map(String::from),
            unique,
            valid,
            partial,
            columns: columns.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn facts(indexes: Vec<IndexRow>) -> Facts {
        Facts {
            unindexed_foreign_keys: None,
            tables_without_primary_key: None,
            indexes,
        }
    }

    fn params(value: serde_json::Value) -> SchemaParams {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn indexes_must_lead_with_the_columns_and_be_valid() {
        let p = params(
            json!({"indexes": ["payments(provider, created_at)"], "foreign_key_indexes": false, "primary_keys": false}),
        );
        let rows = vec![
            row(
                "\"public\".\"payments\"",
                Some("payments_provider_idx"),
                &["provider", "created_at", "id"],
                false,
                false,
                false,
            ),
            row(
                "\"public\".\"payments\"",
                Some("payments_created_idx"),
                &["created_at", "provider"],
                false,
                true,
                false,
            ),
        ];
        let obs = judge(&p, &["public".into()], "public", &facts(rows));
        assert_eq!(obs.findings.len(), 1);
        assert_eq!(
            obs.findings[0].message,
            "no valid index on payments leads with (provider, created_at) (payments_provider_idx is invalid)"
        );
        assert_eq!(
            obs.summary.as_deref(),
            Some("checked 1 required indexes in public")
        );
    }

    #[test]
    fn unique_keys_need_a_complete_unique_index_on_the_same_columns() {
        let p = params(
            json!({"unique": ["payments(message_id, provider)"], "tables": ["ledger"], "foreign_key_indexes": false, "primary_keys": false}),
        );
        let partial = row(
            "\"public\".\"payments\"",
            Some("payments_msg_key"),
            &["provider", "message_id"],
            true,
            true,
            true,
        );
        let obs = judge(&p, &["public".into()], "public", &facts(vec![partial]));
        let messages: Vec<&str> = obs.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "required table ledger does not exist",
                "nothing makes (message_id, provider) unique on payments: duplicates (replayed messages, double charges) are accepted (payments_msg_key is partial)",
            ]
        );
        let complete = row(
            "\"public\".\"payments\"",
            Some("payments_msg_key"),
            &["provider", "message_id"],
            true,
            true,
            false,
        );
        let ledger = row("\"public\".\"ledger\"", None, &[], false, false, false);
        assert!(
            judge(
                &p,
                &["public".into()],
                "public",
                &facts(vec![complete, ledger])
            )
            .findings
            .is_empty()
        );
    }

    #[test]
    fn foreign_keys_and_primary_keys_are_reported_per_object() {
        let p = params(json!({}));
        let f = Facts {
            unindexed_foreign_keys: Some(vec![ForeignKey {
                table: "public.orders".into(),
                name: "orders_user_fk".into(),
                columns: vec!["user_id".into()],
                references: "public.users".into(),
            }]),
            tables_without_primary_key: Some(vec!["public.events".into()]),
            indexes: Vec::new(),
        };
        let obs = judge(&p, &["public".into()], "public", &f);
        let subjects: Vec<&str> = obs.findings.iter().map(|f| f.subject.as_str()).collect();
        assert_eq!(subjects, ["public.orders/orders_user_fk", "public.events"]);
        assert_eq!(
            obs.summary.as_deref(),
            Some("checked foreign keys indexed and primary keys in public")
        );
    }
}
