//! PostgreSQL targets and the kinds that read them.
//!
//! Every check runs in its own `READ ONLY` transaction with `statement_timeout` and
//! `lock_timeout` set for that transaction only; the connection says `application_name = ready`.
//! The transaction is always rolled back: no code path here commits.

pub mod audit_log;
pub mod catalog;
pub mod cron_job;
pub mod migrations;
pub mod rls_audit;
pub mod rls_probe;
pub mod role;
pub mod schema;
pub mod sql;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, Postgres, Transaction};
use tokio::sync::OnceCell;

use super::Ctx;
use super::outcome::{CheckError, CheckOutcome};
use crate::redact::redact_url;
use crate::target::PostgresTarget;

/// A connection pool for one target, opened lazily.
pub struct PgHandle {
    pub target: PostgresTarget,
    shown_url: String,
    options: PgConnectOptions,
    pool: PgPool,
    /// The first check to use the target learns whether it answers; the others reuse the answer,
    /// so an unreachable server costs one connect timeout, not one per check.
    reachable: OnceCell<Result<(), String>>,
    /// The check that reports the target's role: the first selected one in definition order,
    /// so the finding lands in the same place whatever order checks finish in.
    role_reporter: String,
    /// The target's name in the configuration (`db`).
    name: String,
}

impl PgHandle {
    pub fn new(
        target: &PostgresTarget,
        max_connections: usize,
        (name, role_reporter): (&str, &str),
    ) -> Result<PgHandle, CheckError> {
        let shown_url = redact_url(&target.url);
        let options = PgConnectOptions::from_str(&target.url)
            .map_err(|e| CheckError::new(format!("invalid PostgreSQL URL {shown_url}: {e}")))?
            .application_name("ready");
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.clamp(1, 64) as u32)
            .acquire_timeout(target.connect_timeout)
            .after_release(|conn, _| Box::pin(leave_as_found(conn)))
            .connect_lazy_with(options.clone());
        Ok(PgHandle {
            target: target.clone(),
            shown_url,
            options,
            pool,
            reachable: OnceCell::new(),
            name: name.to_string(),
            role_reporter: role_reporter.to_string(),
        })
    }

    async fn ensure_reachable(&self) -> Result<(), CheckError> {
        let answer = self
            .reachable
            .get_or_init(|| async {
                let attempt = tokio::time::timeout(
                    self.target.connect_timeout,
                    PgConnection::connect_with(&self.options),
                )
                .await;
                match attempt {
                    Ok(Ok(conn)) => {
                        let _ = conn.close().await;
                        Ok(())
                    }
                    Ok(Err(e)) => Err(format!(
                        "cannot connect to {}: {}",
                        self.shown_url,
                        describe(&e)
                    )),
                    Err(_) => Err(format!(
                        "cannot connect to {}: no answer within {}",
                        self.shown_url,
                        crate::vocab::human(self.target.connect_timeout)
                    )),
                }
            })
            .await;
        answer.clone().map_err(CheckError::new)
    }

    /// Opens the check's read-only transaction with its time limits.
    pub async fn read_only(
        &self,
        timeout: Duration,
    ) -> Result<Transaction<'static, Postgres>, CheckError> {
        self.ensure_reachable().await?;
        let mut tx = self
            .pool
            .begin_with("BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(|e| CheckError::new(format!("{}: {}", self.shown_url, describe(&e))))?;
        set_time_limits(&mut tx, timeout)
            .await
            .map_err(|e| CheckError::new(describe(&e)))?;
        Ok(tx)
    }

    /// A second read-only transaction seeing exactly the snapshot of `tx`, so that a check can
    /// run two catalog queries at once and still read one consistent catalog. `None` (the caller
    /// then queries one after the other) when no connection is free or can be opened right away,
    /// or when the server cannot export snapshots (a standby).
    pub async fn read_only_twin(
        &self,
        tx: &mut PgConnection,
        timeout: Duration,
    ) -> Option<Transaction<'static, Postgres>> {
        let max = self.pool.options().get_max_connections();
        if self.pool.num_idle() == 0 && self.pool.size() >= max {
            return None;
        }
        let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
            .fetch_one(&mut *tx)
            .await
            .ok()?;
        // The identifier is the server's own (hex digits and dashes); check before quoting it.
        if !snapshot.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return None;
        }
        let begin = self
            .pool
            .begin_with("BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
        let mut twin = tokio::time::timeout(Duration::from_secs(1), begin)
            .await
            .ok()?
            .ok()?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "SET TRANSACTION SNAPSHOT '{snapshot}'"
        )))
        .execute(&mut *twin)
        .await
        .ok()?;
        set_time_limits(&mut twin, timeout).await.ok()?;
        Some(twin)
    }

    /// Opens a transaction that may write, for probes that must (`rls_probe`, `audit_log`'s fire
    /// test). Only a target with `allow_writes: true` offers one, and `finish` always rolls it back:
    /// there is no path that commits.
    pub async fn rolled_back_writes(
        &self,
        timeout: Duration,
    ) -> Result<Transaction<'static, Postgres>, CheckError> {
        if !self.target.allow_writes {
            return Err(CheckError::new(
                "this probe writes (always rolled back) and the target does not set allow_writes: true",
            ));
        }
        self.ensure_reachable().await?;
        let mut tx = self
            .pool
            .begin_with("BEGIN TRANSACTION ISOLATION LEVEL READ COMMITTED READ WRITE")
            .await
            .map_err(|e| CheckError::new(format!("{}: {}", self.shown_url, describe(&e))))?;
        set_time_limits(&mut tx, timeout)
            .await
            .map_err(|e| CheckError::new(describe(&e)))?;
        Ok(tx)
    }

    /// Adds the target's role warning (`role`) to the outcome of the reporting check. A check
    /// that could not run keeps its error: the role of an unreachable target is unknown.
    pub async fn with_role_warning(&self, ctx: &Ctx<'_>, outcome: CheckOutcome) -> CheckOutcome {
        let mut obs = outcome?;
        if ctx.check_id == self.role_reporter {
            let facts = match self.read_only(ctx.timeout).await {
                Ok(mut tx) => {
                    let facts = role::gather(&mut tx).await;
                    self.finish(tx).await;
                    facts
                }
                Err(e) => Err(e.0),
            };
            obs.findings.extend(role::judge(&self.name, &facts));
        }
        Ok(obs)
    }

    /// Ends the check's transaction; the connection is then cleaned as it returns to the pool
    /// (`leave_as_found`).
    pub async fn finish(&self, tx: Transaction<'static, Postgres>) {
        let _ = tx.rollback().await;
    }
}

/// Runs as a connection goes back to the pool. Rolling back undoes `SET`, but not what outlives a
/// transaction: session advisory locks, `PREPARE`d statements, cursors `WITH HOLD`, `LISTEN`,
/// temporary tables. `DISCARD ALL` drops all of them, so the next check starts on a fresh session.
/// sqlx's own statements go first (it would otherwise use names the server no longer knows). A
/// connection that cannot be cleaned is closed (`false`), never reused.
async fn leave_as_found(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    let cleaned = async {
        conn.clear_cached_statements().await?;
        sqlx::raw_sql("DISCARD ALL").execute(&mut *conn).await
    };
    Ok(cleaned.await.is_ok())
}

/// A database error as the user needs it: PostgreSQL's own message and SQLSTATE, no URL.
pub fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("{} (SQLSTATE {code})", db.message()),
            None => db.message().to_string(),
        },
        sqlx::Error::PoolTimedOut => "no free connection to the database in time".into(),
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the server closed the connection without answering: check that the host and port \
             are a PostgreSQL server's, and the server's log for why it hung up"
                .into()
        }
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Tls(tls) => match tls.downcast_ref::<rustls::Error>() {
            Some(rustls::Error::InvalidCertificate(cert)) => format!(
                "TLS: the server's certificate is rejected: {}",
                crate::checks::http::tls::certificate_problem(cert)
            ),
            _ => format!("TLS: {tls}"),
        },
        sqlx::Error::Protocol(message)
            if message.starts_with("unexpected response from SSLRequest") =>
        {
            "the server does not speak the PostgreSQL protocol (it answered the TLS request with \
             something else): check the host and port"
                .into()
        }
        // sqlx appends its source position, `(module:line)`, to protocol errors.
        sqlx::Error::Protocol(message) => format!(
            "the server broke the PostgreSQL protocol: {}",
            message
                .rsplit_once(" (")
                .map_or(message.as_str(), |(text, _)| text)
        ),
        other => other.to_string(),
    }
}

/// The check's timeout as the transaction's `statement_timeout` and `lock_timeout`: a query or a
/// lock wait never outlives the check.
async fn set_time_limits(tx: &mut PgConnection, timeout: Duration) -> Result<(), sqlx::Error> {
    let ms = format!("{}ms", timeout.as_millis().max(1));
    sqlx::query(
        "SELECT set_config('statement_timeout', $1, true), set_config('lock_timeout', $1, true)",
    )
    .bind(&ms)
    .execute(tx)
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn connection_failures_are_sentences_without_sqlx_internals() {
        let eof = sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "expected to read 5 bytes, got 0 bytes at EOF",
        ));
        assert_eq!(
            describe(&eof),
            "the server closed the connection without answering: check that the host and port are a PostgreSQL server's, and the server's log for why it hung up"
        );
        let not_postgres = sqlx::Error::Protocol(
            "unexpected response from SSLRequest: 0x48 (sqlx_postgres::connection::tls:95)".into(),
        );
        assert_eq!(
            describe(&not_postgres),
            "the server does not speak the PostgreSQL protocol (it answered the TLS request with something else): check the host and port"
        );
        let odd = sqlx::Error::Protocol(
            "unknown message type: 'x' (sqlx_postgres::connection::stream:120)".into(),
        );
        assert_eq!(
            describe(&odd),
            "the server broke the PostgreSQL protocol: unknown message type: 'x'"
        );
    }
}
