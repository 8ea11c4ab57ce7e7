//! `rls_probe`: row-level security as it behaves, not as the catalog says. As an API role with
//! given JWT claims, inside a transaction that is always rolled back: no foreign row is visible;
//! as `anon` nothing is; with `allow_writes`, foreign rows cannot be updated and a row claiming
//! another subject cannot be inserted.

use serde::{Deserialize, Deserializer, de};
use serde_json::json;
use sqlx::PgConnection;
use sqlx::postgres::PgQueryResult;

use super::catalog::{TableName, api_roles, catalog_error, quote_ident};
use super::{PgHandle, describe};
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::{Ctx, KindSpec};
use crate::model::TargetFamily;

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

    fn is_network(&self) -> bool {
        true
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
enum Attempt {
    Done(PgQueryResult),
    Counted(i64, i64),
    Refused(String),
    Failed(sqlx::Error),
}

async fn probe(params: &RlsProbeParams, db: &PgHandle, conn: &mut PgConnection) -> CheckOutcome {
    let roles = api_roles(conn, db).await?;
    let role = match params.role.clone().or_else(|| roles.names.first().cloned()) {
        Some(r) => r,
        None => {
            return Err(CheckError::new(
                "no role to probe as: set `role` or the target's api_roles",
            ));
        }
    };
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
    let get_bool = |name: &str| -> Result<bool, CheckError> { super::catalog::get(&facts, name) };
    if !get_bool("role_exists")? {
        return Err(CheckError::new(format!(
            "role `{role}` does not exist on the server"
        )));
    }
    if !get_bool("table_exists")? {
        return Err(CheckError::new(format!("table {shown} does not exist")));
    }
    let Some(column_type): Option<String> = super::catalog::get(&facts, "column_type")? else {
        return Err(CheckError::new(format!(
            "{shown} has no column `{}`",
            params.owner_column
        )));
    };
    let anon_exists = get_bool("anon_exists")?;
    let sub = &params.claims.sub;
    let col = quote_ident(&params.owner_column);
    let other = params
        .other_subject
        .as_deref()
        .unwrap_or(DEFAULT_OTHER_SUBJECT);
    let mut obs = Observation::default();

    // Foreign rows must exist, or "none visible" proves nothing.
    let foreign: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {table_sql} WHERE {col}::text IS DISTINCT FROM $1"
    )))
    .bind(sub)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        CheckError::new(format!(
            "cannot count the rows of {shown}: {}",
            describe(&e)
        ))
    })?;
    let mut seeded = false;
    if foreign == 0 {
        if !db.target.allow_writes {
            return Err(CheckError::new(format!(
                "cannot verify: no foreign rows in {shown} (none whose {} is not {sub}); set allow_writes: true on the target to let the probe insert one (always rolled back)",
                params.owner_column
            )));
        }
        let insert = format!("INSERT INTO {table_sql} ({col}) VALUES ($1::text::{column_type})");
        sqlx::query(sqlx::AssertSqlSafe(insert))
            .bind(other)
            .execute(&mut *conn)
            .await
            .map_err(|e| {
                CheckError::new(format!(
                    "cannot verify: no foreign rows in {shown}, and inserting one (owner {other}) failed: {}",
                    describe(&e)
                ))
            })?;
        seeded = true;
    }
    obs.measure("foreign_rows", if seeded { 1.0 } else { foreign as f64 });

    let claims_text = params.claims.json.to_string();
    let count_sql = format!(
        "SELECT count(*) FILTER (WHERE {col}::text IS DISTINCT FROM $1), count(*) FROM {table_sql}"
    );
    let mut checked = Vec::new();

    match as_role(
        conn,
        &role,
        &claims_text,
        sub,
        Probe::Count(&count_sql, sub),
    )
    .await?
    {
        Attempt::Counted(foreign_visible, visible) => {
            obs.measure("visible_rows", visible as f64);
            obs.measure("foreign_rows_visible", foreign_visible as f64);
            if foreign_visible > 0 {
                obs.findings.push(
                    Finding::fail(
                        format!("{shown}/{role}"),
                        format!(
                            "as {role} with sub {sub}, {foreign_visible} of {visible} visible rows of {shown} belong to another {}",
                            params.owner_column
                        ),
                    )
                    .with_evidence(json!({"role": role, "sub": sub, "foreign_rows_visible": foreign_visible, "visible_rows": visible})),
                );
            }
            checked.push(format!("{role} sees {visible} rows, none foreign"));
        }
        Attempt::Refused(why) => checked.push(format!("{role} cannot read {shown} ({why})")),
        Attempt::Failed(e) => {
            return Err(CheckError::new(format!(
                "cannot verify: reading {shown} as {role} failed: {}",
                describe(&e)
            )));
        }
        Attempt::Done(_) => unreachable_attempt()?,
    }

    if anon_exists && role != "anon" {
        let anon_sql =
            format!("SELECT count(*) FILTER (WHERE $1::text IS NULL), count(*) FROM {table_sql}");
        match as_role(
            conn,
            "anon",
            r#"{"role":"anon"}"#,
            "",
            Probe::Count(&anon_sql, ""),
        )
        .await?
        {
            Attempt::Counted(_, visible) => {
                if visible > 0 {
                    obs.findings.push(Finding::fail(
                        format!("{shown}/anon"),
                        format!("as anon (not signed in), {visible} rows of {shown} are visible"),
                    ));
                }
                checked.push(format!("anon sees {visible} rows"));
            }
            Attempt::Refused(why) => checked.push(format!("anon cannot read it ({why})")),
            Attempt::Failed(e) => {
                return Err(CheckError::new(format!(
                    "cannot verify: reading {shown} as anon failed: {}",
                    describe(&e)
                )));
            }
            Attempt::Done(_) => unreachable_attempt()?,
        }
    }

    if db.target.allow_writes {
        let update =
            format!("UPDATE {table_sql} SET {col} = {col} WHERE {col}::text IS DISTINCT FROM $1");
        match as_role(conn, &role, &claims_text, sub, Probe::Execute(&update, sub)).await? {
            Attempt::Done(done) if done.rows_affected() > 0 => obs.findings.push(Finding::fail(
                format!("{shown}/{role}"),
                format!(
                    "as {role} with sub {sub}, an UPDATE changed {} rows of {shown} owned by others",
                    done.rows_affected()
                ),
            )),
            Attempt::Done(_) => checked.push("UPDATE of foreign rows affects none".into()),
            Attempt::Refused(why) => checked.push(format!("UPDATE refused ({why})")),
            Attempt::Failed(e) => obs.findings.push(Finding::warn(
                format!("{shown}/{role}"),
                format!("the UPDATE probe failed without a verdict: {}", describe(&e)),
            )),
            Attempt::Counted(..) => unreachable_attempt()?,
        }
        let insert = format!("INSERT INTO {table_sql} ({col}) VALUES ($1::text::{column_type})");
        match as_role(conn, &role, &claims_text, sub, Probe::Execute(&insert, other)).await? {
            Attempt::Done(_) => obs.findings.push(Finding::fail(
                format!("{shown}/{role}"),
                format!(
                    "as {role} with sub {sub}, an INSERT of a row with {} = {other} was accepted",
                    params.owner_column
                ),
            )),
            Attempt::Refused(why) => checked.push(format!("foreign INSERT refused ({why})")),
            // Row level security is checked before NOT NULL and CHECK constraints: a constraint
            // error means the policy let the forged row through.
            Attempt::Failed(e) if is_constraint_error(&e) => obs.findings.push(Finding::fail(
                format!("{shown}/{role}"),
                format!(
                    "as {role} with sub {sub}, an INSERT with {} = {other} passed row level security and was stopped only by a constraint: {}",
                    params.owner_column,
                    describe(&e)
                ),
            )),
            Attempt::Failed(e) => checked.push(format!("foreign INSERT refused ({})", describe(&e))),
            Attempt::Counted(..) => unreachable_attempt()?,
        }
    }
    obs.summary = Some(format!("{shown}: {}", checked.join("; ")));
    Ok(obs)
}

fn unreachable_attempt() -> Result<(), CheckError> {
    Err(CheckError::new(
        "internal: probe answered with the wrong shape",
    ))
}

fn is_constraint_error(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("23")))
}

enum Probe<'a> {
    /// A query returning (foreign rows, all rows), with its bind parameter.
    Count(&'a str, &'a str),
    Execute(&'a str, &'a str),
}

/// Runs one statement as `role` with the claims set, inside a savepoint that is rolled back (so
/// the role, the settings and any change are undone, and a failure does not end the probe).
async fn as_role(
    conn: &mut PgConnection,
    role: &str,
    claims: &str,
    sub: &str,
    probe: Probe<'_>,
) -> Result<Attempt, CheckError> {
    let fatal = |e: sqlx::Error| CheckError::new(describe(&e));
    sqlx::raw_sql("SAVEPOINT ready_probe")
        .execute(&mut *conn)
        .await
        .map_err(fatal)?;
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
    let attempt = match setup {
        Err(e) => {
            let _ = sqlx::raw_sql("ROLLBACK TO SAVEPOINT ready_probe")
                .execute(&mut *conn)
                .await;
            return Err(CheckError::new(format!(
                "cannot switch to role {role}: {} (the connecting user must be a member of it)",
                describe(&e)
            )));
        }
        Ok(_) => match probe {
            Probe::Count(sql, bind) => {
                match sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql.to_string()))
                    .bind(bind)
                    .fetch_one(&mut *conn)
                    .await
                {
                    Ok((foreign, all)) => Attempt::Counted(foreign, all),
                    Err(e) => refused_or_failed(e),
                }
            }
            Probe::Execute(sql, bind) => {
                match sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                    .bind(bind)
                    .execute(&mut *conn)
                    .await
                {
                    Ok(done) => Attempt::Done(done),
                    Err(e) => refused_or_failed(e),
                }
            }
        },
    };
    sqlx::raw_sql("ROLLBACK TO SAVEPOINT ready_probe")
        .execute(&mut *conn)
        .await
        .map_err(fatal)?;
    Ok(attempt)
}

/// Permission and row-level-security refusals are answers; anything else is not.
fn refused_or_failed(e: sqlx::Error) -> Attempt {
    if let sqlx::Error::Database(db) = &e
        && db.code().as_deref() == Some("42501")
        && (db.message().contains("row-level security") || db.message().contains("for table"))
    {
        return Attempt::Refused(db.message().to_string());
    }
    Attempt::Failed(e)
}
