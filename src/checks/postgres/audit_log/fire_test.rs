//! The fire test: inside a rolled-back transaction, touch one row of each audited table and
//! see a new audit row appear.

use sqlx::PgConnection;

use super::{AuditTable, AuditedTable};
use crate::checks::outcome::{CheckError, Finding, Observation};
use crate::checks::postgres::catalog::quote_ident;
use crate::checks::postgres::describe;

/// How touching one row of a table went.
#[derive(Debug)]
pub enum Touch {
    /// The audit table could not be counted, before or after.
    CountFailed(String),
    /// The UPDATE was refused for lack of privilege.
    Refused(String),
    /// The UPDATE failed otherwise (a trigger or constraint error).
    Failed(String),
    /// The table has no row to touch.
    NoRow,
    /// The audit table's row count before and after the UPDATE.
    Counted { before: i64, after: i64 },
}

pub async fn run(
    conn: &mut PgConnection,
    audit: &AuditTable,
    audited: &[AuditedTable],
    obs: &mut Observation,
) -> Result<(), CheckError> {
    let count_sql = format!("SELECT count(*) FROM {}", qualified(&audit.name));
    let mut tested = 0;
    for table in audited {
        let Some(column) = &table.first_column else {
            continue;
        };
        let touch = touch_one(conn, &count_sql, &table.name, column).await?;
        let (finding, exercised) = judge(&table.name, &audit.name, touch)?;
        obs.findings.extend(finding);
        tested += usize::from(exercised);
    }
    obs.measure("fire_tested_tables", tested as f64);
    Ok(())
}

/// `schema.name` quoted; a name without schema is in `public`.
fn qualified(name: &str) -> String {
    let (schema, name) = name.split_once('.').unwrap_or(("public", name));
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

/// Updates one row of `table` (setting `column` to itself) between two counts of the audit
/// table, inside a savepoint that is rolled back.
async fn touch_one(
    conn: &mut PgConnection,
    count_sql: &str,
    table: &str,
    column: &str,
) -> Result<Touch, CheckError> {
    let target = qualified(table);
    let col = quote_ident(column);
    // One row, whatever the table's keys: its ctid within its physical table.
    let touch = format!(
        "WITH one AS (SELECT tableoid, ctid FROM {target} LIMIT 1)
         UPDATE {target} AS t SET {col} = t.{col} FROM one
         WHERE t.tableoid = one.tableoid AND t.ctid = one.ctid"
    );
    let fatal = |e: sqlx::Error| CheckError::new(describe(&e));
    sqlx::raw_sql("SAVEPOINT ready_fire_test")
        .execute(&mut *conn)
        .await
        .map_err(fatal)?;
    let outcome = touch_between_counts(conn, count_sql, &touch).await;
    sqlx::raw_sql("ROLLBACK TO SAVEPOINT ready_fire_test")
        .execute(&mut *conn)
        .await
        .map_err(fatal)?;
    Ok(outcome)
}

async fn touch_between_counts(conn: &mut PgConnection, count_sql: &str, touch: &str) -> Touch {
    let before = match count_rows(conn, count_sql).await {
        Ok(n) => n,
        Err(e) => return Touch::CountFailed(describe(&e)),
    };
    let touched = match sqlx::query(sqlx::AssertSqlSafe(touch.to_string()))
        .execute(&mut *conn)
        .await
    {
        Err(e) if is_permission_error(&e) => return Touch::Refused(describe(&e)),
        Err(e) => return Touch::Failed(describe(&e)),
        Ok(done) => done.rows_affected(),
    };
    match count_rows(conn, count_sql).await {
        Err(e) => Touch::CountFailed(describe(&e)),
        Ok(_) if touched == 0 => Touch::NoRow,
        Ok(after) => Touch::Counted { before, after },
    }
}

async fn count_rows(conn: &mut PgConnection, count_sql: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql.to_string()))
        .fetch_one(&mut *conn)
        .await
}

fn is_permission_error(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("42501"))
}

/// The finding for one table, and whether its trigger was exercised.
pub fn judge(
    table: &str,
    audit: &str,
    touch: Touch,
) -> Result<(Option<Finding>, bool), CheckError> {
    match touch {
        Touch::CountFailed(e) => Err(CheckError::new(format!(
            "fire test: cannot count the rows of {audit}: {e}"
        ))),
        Touch::Refused(e) => Err(CheckError::new(format!(
            "fire test: cannot update {table}: {e}"
        ))),
        Touch::Failed(e) => Ok((
            Some(Finding::fail(
                table,
                format!("fire test: updating a row of {table} failed: {e}"),
            )),
            false,
        )),
        Touch::NoRow => Ok((
            Some(Finding::warn(
                table,
                format!("fire test: {table} has no row to touch, so its trigger was not exercised"),
            )),
            false,
        )),
        Touch::Counted { before, after } if after <= before => Ok((
            Some(Finding::fail(
                table,
                format!("fire test: an UPDATE of one row of {table} added no row to {audit}"),
            )),
            true,
        )),
        Touch::Counted { .. } => Ok((None, true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_touch_must_add_an_audit_row() {
        let judged = |touch| judge("public.orders", "public.audit_log", touch);
        assert_eq!(
            judged(Touch::Counted {
                before: 3,
                after: 4
            })
            .unwrap(),
            (None, true)
        );
        let (silent, exercised) = judged(Touch::Counted {
            before: 3,
            after: 3,
        })
        .unwrap();
        assert!(exercised);
        assert_eq!(
            silent.unwrap().message,
            "fire test: an UPDATE of one row of public.orders added no row to public.audit_log"
        );
        let (empty, exercised) = judged(Touch::NoRow).unwrap();
        assert!(!exercised);
        assert_eq!(empty.unwrap().level, crate::vocab::Level::Warn);
        assert!(
            judged(Touch::Failed("trigger error".into()))
                .unwrap()
                .0
                .is_some()
        );
        assert_eq!(
            judged(Touch::Refused(
                "permission denied for table orders (SQLSTATE 42501)".into()
            ))
            .unwrap_err()
            .0,
            "fire test: cannot update public.orders: permission denied for table orders (SQLSTATE 42501)"
        );
        assert!(judged(Touch::CountFailed("x".into())).is_err());
    }
}
