//! Coverage: each audited table has enabled AFTER row triggers for the audited operations (a
//! statement trigger for TRUNCATE), and none of its triggers is disabled.

use serde_json::json;
use sqlx::PgConnection;

use super::{AuditedTable, Operation};
use crate::checks::outcome::{CheckError, Finding};
use crate::checks::postgres::catalog::{NameGlob, catalog_error, get, list};

const TRIGGER_ROW: i32 = 1;
const TRIGGER_BEFORE: i32 = 2;
const TRIGGER_INSTEAD: i32 = 64;

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

/// A table of the audited schemas, with its triggers.
pub struct CatalogTable {
    pub schema: String,
    pub name: String,
    pub table: AuditedTable,
}

/// Every ordinary table of `schemas` but the audit table itself.
pub async fn read_tables(
    conn: &mut PgConnection,
    schemas: &[String],
    audit_oid: i64,
) -> Result<Vec<CatalogTable>, CheckError> {
    let rows = sqlx::query(AUDITED_SQL)
        .bind(schemas)
        .bind(audit_oid)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| catalog_error(&e))?;
    rows.iter()
        .map(|row| {
            let schema: String = get(row, "schema")?;
            let name: String = get(row, "name")?;
            let names: Vec<String> = get(row, "trigger_names")?;
            let types: Vec<i32> = get(row, "trigger_types")?;
            let states: Vec<String> = get(row, "trigger_states")?;
            let table = AuditedTable {
                name: format!("{schema}.{name}"),
                first_column: get(row, "first_column")?,
                triggers: names
                    .into_iter()
                    .zip(types)
                    .zip(states)
                    .map(|((n, t), s)| (n, t, s.chars().next().unwrap_or('O')))
                    .collect(),
            };
            Ok(CatalogTable {
                schema,
                name,
                table,
            })
        })
        .collect()
}

/// The tables the globs name, and the findings: a named table that does not exist, an
/// operation without a trigger, a disabled trigger.
pub fn judge(
    tables: Vec<CatalogTable>,
    globs: &[NameGlob],
    schemas: &[String],
    operations: &[Operation],
) -> (Vec<AuditedTable>, Vec<Finding>) {
    let mut matched = vec![false; globs.len()];
    let mut audited = Vec::new();
    for t in tables {
        let mut hit = false;
        for (i, g) in globs.iter().enumerate() {
            if g.matches(&t.schema, &t.name) {
                matched[i] = true;
                hit = true;
            }
        }
        if hit {
            audited.push(t.table);
        }
    }
    let mut findings = Vec::new();
    for (glob, found) in globs.iter().zip(&matched) {
        if !found && glob.is_literal() {
            let shown = glob.0.as_str();
            findings.push(Finding::fail(
                shown,
                format!("audited table {shown} does not exist in {}", list(schemas)),
            ));
        }
    }
    for table in &audited {
        findings.extend(unaudited_operations(table, operations));
        findings.extend(disabled_triggers(table));
    }
    (audited, findings)
}

/// Whether a trigger of type `tgtype` audits `op`: an AFTER row trigger, or for TRUNCATE a
/// statement trigger.
fn covers(tgtype: i32, op: Operation) -> bool {
    let timing_ok = if op == Operation::Truncate {
        tgtype & TRIGGER_ROW == 0
    } else {
        tgtype & TRIGGER_ROW != 0 && tgtype & (TRIGGER_BEFORE | TRIGGER_INSTEAD) == 0
    };
    timing_ok && tgtype & op.trigger_bit() != 0
}

fn unaudited_operations(table: &AuditedTable, operations: &[Operation]) -> Option<Finding> {
    let missing: Vec<&str> = operations
        .iter()
        .filter(|op| {
            !table
                .triggers
                .iter()
                .any(|(_, t, state)| covers(*t, **op) && matches!(state, 'O' | 'A'))
        })
        .map(|op| op.sql())
        .collect();
    if missing.is_empty() {
        return None;
    }
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
    Some(
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
    )
}

fn disabled_triggers(table: &AuditedTable) -> Vec<Finding> {
    table
        .triggers
        .iter()
        .filter_map(|(name, _, state)| {
            let why = match state {
                'D' => "is disabled",
                'R' => "fires only in replica mode, so ordinary changes are not audited",
                _ => return None,
            };
            Some(Finding::fail(
                format!("{}/{name}", table.name),
                format!("trigger {name} on {} {why}", table.name),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const AFTER_ROW_IUD: i32 = TRIGGER_ROW | 4 | 8 | 16;
    const TRUNCATE_STATEMENT: i32 = 32;

    fn table(name: &str, triggers: &[(&str, i32, char)]) -> CatalogTable {
        CatalogTable {
            schema: "public".into(),
            name: name.into(),
            table: AuditedTable {
                name: format!("public.{name}"),
                first_column: Some("id".into()),
                triggers: triggers
                    .iter()
                    .map(|(n, t, s)| (n.to_string(), *t, *s))
                    .collect(),
            },
        }
    }

    #[test]
    fn triggers_must_be_after_row_or_truncate_statement() {
        assert!(covers(AFTER_ROW_IUD, Operation::Update));
        assert!(!covers(AFTER_ROW_IUD | TRIGGER_BEFORE, Operation::Update));
        assert!(!covers(AFTER_ROW_IUD, Operation::Truncate));
        assert!(covers(TRUNCATE_STATEMENT, Operation::Truncate));
    }

    #[test]
    fn missing_operations_disabled_triggers_and_absent_tables() {
        let tables = vec![
            table(
                "orders",
                &[
                    ("audit_orders", AFTER_ROW_IUD, 'O'),
                    ("audit_trunc", TRUNCATE_STATEMENT, 'D'),
                ],
            ),
            table("notes", &[]),
        ];
        let globs = [
            NameGlob::new("orders").unwrap(),
            NameGlob::new("payments").unwrap(),
        ];
        let (audited, findings) = judge(tables, &globs, &["public".into()], &Operation::ALL);
        assert_eq!(audited.len(), 1);
        let messages: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "audited table payments does not exist in public",
                "public.orders is not audited for TRUNCATE: it has no enabled TRUNCATE statement trigger",
                "trigger audit_trunc on public.orders is disabled",
            ]
        );
    }
}
