//! `rls_probe`: row-level security as it behaves, not as the catalog says. As an API role with
//! given JWT claims, inside a transaction that is always rolled back: no foreign row is visible;
//! as `anon` nothing is; with `allow_writes`, foreign rows cannot be updated and a row claiming
//! another subject cannot be inserted.

use serde::{Deserialize, Deserializer, de};
use serde_json::json;
use sqlx::PgConnection;

use super::catalog::{TableName, api_roles, catalog_error, get, quote_ident};
use super::{PgHandle, describe};
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::{Ctx, KindSpec};
use crate::target::TargetFamily;

/// The owner written into a foreign row when the probe must insert one.
const DEFAULT_OTHER_SUBJECT: &str = "00000000-0000-4000-8000-00000000f0e1";

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RlsProbeParams {
    pub table: TableName,
    pub owner_column: String,
    /// Default: the target's first API role.
    pub role: Option<String>,
    pub claims: Claims,
    pub other_subject: Option<String>,
}

/// JWT claims as a JSON object whose `sub` (a string) is the probing user.
#[derive(Debug, Clone)]
pub struct Claims {
    pub json: serde_json::Value,
    pub sub: String,
}

impl schemars::JsonSchema for Claims {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Claims".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "description": "JWT claims; `sub` is the probing user",
            "properties": { "sub": { "type": "string", "minLength": 1 } },
            "required": ["sub"]
        })
    }
}

impl<'de> Deserialize<'de> for Claims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = serde_json::Value::deserialize(deserializer)?;
        let sub = match json.get("sub") {
            Some(serde_json::Value::String(s)) if !s.is_empty() => s.clone(),
            Some(_) => return Err(de::Error::custom("claims.sub must be a non-empty string")),
            None if json.is_object() => {
                return Err(de::Error::custom(
                    "claims need a `sub`: the subject whose rows the probe may see",
                ));
            }
            None => {
                return Err(de::Error::custom(
                    "claims must be a mapping, such as { sub: … }",
                ));
            }
        };
        Ok(Claims { json, sub })
    }
}

impl KindSpec for RlsProbeParams {
    fn family(&self) -> Option<TargetFamily> {
        Some(TargetFamily::Postgres)
    }
}

pub async fn run(params: &RlsProbeParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let (db, timeout) = (ctx.postgres()?, ctx.timeout);
    let mut tx = if db.target.allow_writes {
        db.rolled_back_writes(timeout).await?
    } else {
        db.read_only(timeout).await?
    };
    let result = probe(params, db, &mut tx).await;
    db.finish(tx).await;
    result
}

/// How one probing statement ended.
#[derive(Debug)]
enum Answer<T> {
    Done(T),
    /// A permission or row-level-security refusal, with PostgreSQL's message.
    Refused(String),
    /// Neither done nor refused: the error as the user reads it, and whether a constraint (not
    /// row level security) stopped the statement.
    Failed {
        message: String,
        constraint: bool,
    },
}

/// The probed table, as the catalog describes it.
struct Table {
    /// Quoted for SQL.
    sql: String,
    /// `schema.table`, as messages name it.
    shown: String,
    /// The owner column's SQL type, to cast the probe's values to.
    column_type: String,
}

/// Who probes, as the messages name them.
struct Prober<'a> {
    role: &'a str,
    sub: &'a str,
    owner_column: &'a str,
    /// The owner written into a forged row.
    other: &'a str,
    shown: &'a str,
}

impl Prober<'_> {
    fn subject(&self) -> String {
        format!("{}/{}", self.shown, self.role)
    }
}

async fn probe(params: &RlsProbeParams, db: &PgHandle, conn: &mut PgConnection) -> CheckOutcome {
    let (role, table, anon_exists) = resolve(params, db, conn).await?;
    let p = Prober {
        role: &role,
        sub: &params.claims.sub,
        owner_column: &params.owner_column,
        other: params
            .other_subject
            .as_deref()
            .unwrap_or(DEFAULT_OTHER_SUBJECT),
        shown: &table.shown,
    };
    let mut obs = Observation::default();
    let foreign_rows = ensure_foreign_rows(db, conn, &table, &p).await?;
    obs.measure("foreign_rows", foreign_rows);

    let (sql, col, sub) = (&table.sql, quote_ident(p.owner_column), p.sub);
    let claims = params.claims.json.to_string();
    let mut checked = Vec::new();
    let count_sql = format!(
        "SELECT count(*) FILTER (WHERE {col}::text IS DISTINCT FROM $1), count(*) FROM {sql}"
    );
    let read = count_as(conn, p.role, &claims, sub, &count_sql, sub).await?;
    judge_read(&p, read, &mut obs, &mut checked)?;
    if anon_exists && p.role != "anon" {
        let anon_sql =
            format!("SELECT count(*) FILTER (WHERE $1::text IS NULL), count(*) FROM {sql}");
        let read = count_as(conn, "anon", r#"{"role":"anon"}"#, "", &anon_sql, "").await?;
        judge_anon_read(&p, read, &mut obs, &mut checked)?;
    }
    if db.target.allow_writes {
        let update =
            format!("UPDATE {sql} SET {col} = {col} WHERE {col}::text IS DISTINCT FROM $1");
        let answer = execute_as(conn, p.role, &claims, sub, &update, sub).await?;
        judge_update(&p, answer, &mut obs, &mut checked);
        let insert = format!(
            "INSERT INTO {sql} ({col}) VALUES ($1::text::{})",
            table.column_type
        );
        let answer = execute_as(conn, p.role, &claims, sub, &insert, p.other).await?;
        judge_insert(&p, answer, &mut obs, &mut checked);
    }
    obs.summary = Some(format!("{}: {}", p.shown, checked.join("; ")));
    Ok(obs)
}

/// The role to probe as, the table (which must exist with its owner column), and whether an
/// `anon` role exists; an error names what is missing.
async fn resolve(
    params: &RlsProbeParams,
    db: &PgHandle,
    conn: &mut PgConnection,
) -> Result<(String, Table, bool), CheckError> {
    let roles = api_roles(conn, db).await?;
    let role = params
        .role
        .clone()
        .or_else(|| roles.names.first().cloned())
        .ok_or_else(|| {
            CheckError::new("no role to probe as: set `role` or the target's api_roles")
        })?;
    let default_schema = db
        .target
        .exposed_schemas
        .first()
        .cloned()
        .unwrap_or_else(|| "public".into());
    let table_sql = params.table.quoted(&default_schema);
    let shown = match &params.table.schema {
        Some(_) => params.table.to_string(),
        None => format!("{default_schema}.{}", params.table.name),
    };
    let facts = sqlx::query(
        "SELECT (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                 WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped) AS column_type,
                to_regclass($1) IS NOT NULL AS table_exists,
                EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $3) AS role_exists,
                EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') AS anon_exists",
    )
    .bind(&table_sql)
    .bind(&params.owner_column)
    .bind(&role)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| catalog_error(&e))?;
    if !get::<bool>(&facts, "role_exists")? {
        return Err(CheckError::new(format!(
            "role `{role}` does not exist on the server"
        )));
    }
    if !get::<bool>(&facts, "table_exists")? {
        return Err(CheckError::new(format!("table {shown} does not exist")));
    }
    let Some(column_type): Option<String> = get(&facts, "column_type")? else {
        return Err(CheckError::new(format!(
            "{shown} has no column `{}`",
            params.owner_column
        )));
    };
    let anon_exists = get(&facts, "anon_exists")?;
    let table = Table {
        sql: table_sql,
        shown,
        column_type,
    };
    Ok((role, table, anon_exists))
}

/// Foreign rows must exist, or "none visible" proves nothing: counts them, and with
/// `allow_writes` inserts one (rolled back with the check) when there is none.
async fn ensure_foreign_rows(
    db: &PgHandle,
    conn: &mut PgConnection,
    table: &Table,
    p: &Prober<'_>,
) -> Result<f64, CheckError> {
    let (sql, shown, col) = (&table.sql, &table.shown, quote_ident(p.owner_column));
    let foreign: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {sql} WHERE {col}::text IS DISTINCT FROM $1"
    )))
    .bind(p.sub)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        CheckError::new(format!(
            "cannot count the rows of {shown}: {}",
            describe(&e)
        ))
    })?;
    if foreign > 0 {
        return Ok(foreign as f64);
    }
    if !db.target.allow_writes {
        return Err(CheckError::new(format!(
            "cannot verify: no foreign rows in {shown} (none whose {} is not {}); set allow_writes: true on the target to let the probe insert one (always rolled back)",
            p.owner_column, p.sub
        )));
    }
    let insert = format!(
        "INSERT INTO {sql} ({col}) VALUES ($1::text::{})",
        table.column_type
    );
    sqlx::query(sqlx::AssertSqlSafe(insert))
        .bind(p.other)
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            CheckError::new(format!(
                "cannot verify: no foreign rows in {shown}, and inserting one (owner {}) failed: {}",
                p.other,
                describe(&e)
            ))
        })?;
    Ok(1.0)
}

/// Reading as the probing role: no foreign row may be visible.
fn judge_read(
    p: &Prober,
    answer: Answer<(i64, i64)>,
    obs: &mut Observation,
    checked: &mut Vec<String>,
) -> Result<(), CheckError> {
    let (role, sub, shown) = (p.role, p.sub, p.shown);
    match answer {
        Answer::Done((foreign_visible, visible)) => {
            obs.measure("visible_rows", visible as f64);
            obs.measure("foreign_rows_visible", foreign_visible as f64);
            if foreign_visible > 0 {
                obs.findings.push(
                    Finding::fail(
                        p.subject(),
                        format!(
                            "as {role} with sub {sub}, {foreign_visible} of {visible} visible rows of {shown} belong to another {}",
                            p.owner_column
                        ),
                    )
                    .with_evidence(json!({"role": role, "sub": sub, "foreign_rows_visible": foreign_visible, "visible_rows": visible})),
                );
            }
            checked.push(format!("{role} sees {visible} rows, none foreign"));
        }
        Answer::Refused(why) => checked.push(format!("{role} cannot read {shown} ({why})")),
        Answer::Failed { message, .. } => {
            return Err(CheckError::new(format!(
                "cannot verify: reading {shown} as {role} failed: {message}"
            )));
        }
    }
    Ok(())
}

/// Reading as `anon` (not signed in): no row may be visible.
fn judge_anon_read(
    p: &Prober,
    answer: Answer<(i64, i64)>,
    obs: &mut Observation,
    checked: &mut Vec<String>,
) -> Result<(), CheckError> {
    let shown = p.shown;
    match answer {
        Answer::Done((_, visible)) => {
            if visible > 0 {
                obs.findings.push(Finding::fail(
                    format!("{shown}/anon"),
                    format!("as anon (not signed in), {visible} rows of {shown} are visible"),
                ));
            }
            checked.push(format!("anon sees {visible} rows"));
        }
        Answer::Refused(why) => checked.push(format!("anon cannot read it ({why})")),
        Answer::Failed { message, .. } => {
            return Err(CheckError::new(format!(
                "cannot verify: reading {shown} as anon failed: {message}"
            )));
        }
    }
    Ok(())
}

/// Updating other subjects' rows as the probing role must change none.
fn judge_update(p: &Prober, answer: Answer<u64>, obs: &mut Observation, checked: &mut Vec<String>) {
    match answer {
        Answer::Done(changed) if changed > 0 => obs.findings.push(Finding::fail(
            p.subject(),
            format!(
                "as {} with sub {}, an UPDATE changed {changed} rows of {} owned by others",
                p.role, p.sub, p.shown
            ),
        )),
        Answer::Done(_) => checked.push("UPDATE of foreign rows affects none".into()),
        Answer::Refused(why) => checked.push(format!("UPDATE refused ({why})")),
        Answer::Failed { message, .. } => obs.findings.push(Finding::warn(
            p.subject(),
            format!("the UPDATE probe failed without a verdict: {message}"),
        )),
    }
}

/// Inserting a row owned by another subject as the probing role must be refused.
fn judge_insert(p: &Prober, answer: Answer<u64>, obs: &mut Observation, checked: &mut Vec<String>) {
    let (role, sub, column, other) = (p.role, p.sub, p.owner_column, p.other);
    match answer {
        Answer::Done(_) => obs.findings.push(Finding::fail(
            p.subject(),
            format!(
                "as {role} with sub {sub}, an INSERT of a row with {column} = {other} was accepted"
            ),
        )),
        Answer::Refused(why) => checked.push(format!("foreign INSERT refused ({why})")),
        // Row level security is checked before NOT NULL and CHECK constraints: a constraint
        // error means the policy let the forged row through.
        Answer::Failed {
            message,
            constraint: true,
        } => obs.findings.push(Finding::fail(
            p.subject(),
            format!(
                "as {role} with sub {sub}, an INSERT with {column} = {other} passed row level security and was stopped only by a constraint: {message}"
            ),
        )),
        Answer::Failed { message, .. } => {
            checked.push(format!("foreign INSERT refused ({message})"))
        }
    }
}

/// A counting query (foreign rows, all rows) run as `role`.
async fn count_as(
    conn: &mut PgConnection,
    role: &str,
    claims: &str,
    sub: &str,
    sql: &str,
    bind: &str,
) -> Result<Answer<(i64, i64)>, CheckError> {
    enter_role(conn, role, claims, sub).await?;
    let result = sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql.to_string()))
        .bind(bind)
        .fetch_one(&mut *conn)
        .await;
    leave_role(conn).await?;
    Ok(answer(result))
}

/// A writing statement run as `role`; done, it says how many rows it affected.
async fn execute_as(
    conn: &mut PgConnection,
    role: &str,
    claims: &str,
    sub: &str,
    sql: &str,
    bind: &str,
) -> Result<Answer<u64>, CheckError> {
    enter_role(conn, role, claims, sub).await?;
    let result = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .bind(bind)
        .execute(&mut *conn)
        .await
        .map(|done| done.rows_affected());
    leave_role(conn).await?;
    Ok(answer(result))
}

/// Opens a savepoint and becomes `role` with the claims set; `leave_role` rolls back to the
/// savepoint, so the role, the settings and any change are undone, and a failure does not end
/// the probe.
async fn enter_role(
    conn: &mut PgConnection,
    role: &str,
    claims: &str,
    sub: &str,
) -> Result<(), CheckError> {
    sqlx::raw_sql("SAVEPOINT ready_probe")
        .execute(&mut *conn)
        .await
        .map_err(|e| CheckError::new(describe(&e)))?;
    let setup = async {
        sqlx::query(
            "SELECT set_config('request.jwt.claims', $1, true),
                    set_config('request.jwt.claim.sub', $2, true),
                    set_config('request.jwt.claim.role', $3, true)",
        )
        .bind(claims)
        .bind(sub)
        .bind(role)
        .execute(&mut *conn)
        .await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "SET LOCAL ROLE {}",
            quote_ident(role)
        )))
        .execute(&mut *conn)
        .await
    }
    .await;
    if let Err(e) = setup {
        let _ = sqlx::raw_sql("ROLLBACK TO SAVEPOINT ready_probe")
            .execute(&mut *conn)
            .await;
        return Err(CheckError::new(format!(
            "cannot switch to role {role}: {} (the connecting user must be a member of it)",
            describe(&e)
        )));
    }
    Ok(())
}

async fn leave_role(conn: &mut PgConnection) -> Result<(), CheckError> {
    sqlx::raw_sql("ROLLBACK TO SAVEPOINT ready_probe")
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(|e| CheckError::new(describe(&e)))
}

/// Permission and row-level-security refusals are answers; anything else is a failure.
fn answer<T>(result: Result<T, sqlx::Error>) -> Answer<T> {
    let e = match result {
        Ok(done) => return Answer::Done(done),
        Err(e) => e,
    };
    if let sqlx::Error::Database(db) = &e {
        let code = db.code();
        if code.as_deref() == Some("42501")
            && (db.message().contains("row-level security") || db.message().contains("for table"))
        {
            return Answer::Refused(db.message().to_string());
        }
        if code.is_some_and(|c| c.starts_with("23")) {
            return Answer::Failed {
                message: describe(&e),
                constraint: true,
            };
        }
    }
    Answer::Failed {
        message: describe(&e),
        constraint: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prober() -> Prober<'static> {
        Prober {
            role: "authenticated",
            sub: "alice",
            owner_column: "owner_id",
            other: "bob",
            shown: "public.wallets",
        }
    }

    #[test]
    fn foreign_rows_visible_fail_and_refusals_pass() {
        let (mut obs, mut checked) = (Observation::default(), Vec::new());
        judge_read(&prober(), Answer::Done((2, 5)), &mut obs, &mut checked).unwrap();
        assert_eq!(obs.findings[0].subject, "public.wallets/authenticated");
        assert_eq!(
            obs.findings[0].message,
            "as authenticated with sub alice, 2 of 5 visible rows of public.wallets belong to another owner_id"
        );
        assert_eq!(obs.measurements["foreign_rows_visible"], 2.0);

        let (mut obs, mut checked) = (Observation::default(), Vec::new());
        let refused = Answer::Refused("permission denied for table wallets".into());
        judge_read(&prober(), refused, &mut obs, &mut checked).unwrap();
        assert!(obs.findings.is_empty());
        assert_eq!(
            checked,
            ["authenticated cannot read public.wallets (permission denied for table wallets)"]
        );
        let failed = Answer::Failed {
            message: "boom".into(),
            constraint: false,
        };
        let err = judge_read(&prober(), failed, &mut obs, &mut checked).unwrap_err();
        assert_eq!(
            err.0,
            "cannot verify: reading public.wallets as authenticated failed: boom"
        );
    }

    #[test]
    fn anon_must_see_nothing() {
        let (mut obs, mut checked) = (Observation::default(), Vec::new());
        judge_anon_read(&prober(), Answer::Done((0, 3)), &mut obs, &mut checked).unwrap();
        assert_eq!(obs.findings[0].subject, "public.wallets/anon");
        assert_eq!(checked, ["anon sees 3 rows"]);
    }

    #[test]
    fn writes_to_foreign_rows_must_be_refused() {
        let (mut obs, mut checked) = (Observation::default(), Vec::new());
        judge_update(&prober(), Answer::Done(0), &mut obs, &mut checked);
        judge_insert(
            &prober(),
            Answer::Refused("new row violates row-level security policy".into()),
            &mut obs,
            &mut checked,
        );
        assert!(obs.findings.is_empty());
        assert_eq!(checked.len(), 2);

        judge_update(&prober(), Answer::Done(4), &mut obs, &mut checked);
        let constraint = Answer::Failed {
            message: "null value in column \"balance\" (SQLSTATE 23502)".into(),
            constraint: true,
        };
        judge_insert(&prober(), constraint, &mut obs, &mut checked);
        let messages: Vec<&str> = obs.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "as authenticated with sub alice, an UPDATE changed 4 rows of public.wallets owned by others",
                "as authenticated with sub alice, an INSERT with owner_id = bob passed row level security and was stopped only by a constraint: null value in column \"balance\" (SQLSTATE 23502)",
            ]
        );
        let other = Answer::Failed {
            message: "invalid input syntax for type uuid".into(),
            constraint: false,
        };
        judge_insert(&prober(), other, &mut obs, &mut checked);
        assert_eq!(
            checked.last().unwrap(),
            "foreign INSERT refused (invalid input syntax for type uuid)"
        );
    }
}
