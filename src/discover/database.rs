//! Database facts for `--discover`: one read-only transaction, a fixed handful of catalog
//! queries whatever the size of the schema, always rolled back.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, Row};

use crate::checks::postgres::describe;
use crate::redact::redact_url;

/// What the catalog says about the database the suite is written for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DbFacts {
    /// Roles that serve untrusted clients: `anon`, `authenticated` and the roles PostgREST's
    /// `authenticator` switches to, without superusers and BYPASSRLS roles. Sorted.
    pub api_roles: Vec<ApiRole>,
    /// `pgrst.db_schemas` as set on `authenticator` (`ALTER ROLE authenticator SET …`).
    pub pgrst_schemas: Option<Vec<String>>,
    /// Schemas other than the system ones, sorted, with the API roles that may use them.
    pub schemas: Vec<SchemaFacts>,
    /// Ordinary and partitioned tables outside the system schemas, sorted by schema and name.
    pub tables: Vec<TableFacts>,
    pub cron: Cron,
    /// The first migration history table found, in the `migrations` kind's `auto` order.
    pub history: Option<Tool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiRole {
    pub name: String,
    /// `authenticator` is a member of it (PostgREST switches to it).
    pub via_authenticator: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SchemaFacts {
    pub name: String,
    pub usable_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableFacts {
    pub schema: String,
    pub name: String,
    /// Column names, sorted.
    pub columns: Vec<String>,
    pub has_primary_key: bool,
    pub foreign_keys: usize,
    /// Column sets (sorted) that a valid, non-partial unique index makes unique.
    pub unique: Vec<Vec<String>>,
}

impl TableFacts {
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum Cron {
    #[default]
    Absent,
    /// Installed, but `cron.job` is not readable by the connecting role.
    Unreadable,
    /// Installed; the named jobs, sorted.
    Jobs(Vec<String>),
}

/// The migration tools whose history table the `migrations` kind reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tool {
    Supabase,
    Sqlx,
    Flyway,
    Prisma,
    GolangMigrate,
    Dbmate,
}

impl Tool {
    /// The name the `migrations` kind's `tool` takes.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Supabase => "supabase",
            Tool::Sqlx => "sqlx",
            Tool::Flyway => "flyway",
            Tool::Prisma => "prisma",
            Tool::GolangMigrate => "golang-migrate",
            Tool::Dbmate => "dbmate",
        }
    }

    pub fn table(self) -> &'static str {
        match self {
            Tool::Supabase => "supabase_migrations.schema_migrations",
            Tool::Sqlx => "_sqlx_migrations",
            Tool::Flyway => "flyway_schema_history",
            Tool::Prisma => "_prisma_migrations",
            Tool::GolangMigrate => "schema_migrations (with a dirty column)",
            Tool::Dbmate => "schema_migrations",
        }
    }

    /// The tool's default folder, relative to the project.
    pub fn folder(self) -> &'static str {
        match self {
            Tool::Supabase => "supabase/migrations",
            Tool::Sqlx | Tool::GolangMigrate => "migrations",
            Tool::Flyway => "db/migration",
            Tool::Prisma => "prisma/migrations",
            Tool::Dbmate => "db/migrations",
        }
    }
}

const NOT_SYSTEM: &str = "n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'";

/// Reads the facts; an unreachable database or an unreadable catalog is an error in words,
/// with the URL's password masked.
pub async fn gather(url: &str) -> Result<DbFacts, String> {
    let shown = redact_url(url);
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| format!("invalid PostgreSQL URL {shown}: {e}"))?
        .application_name("ready");
    let mut conn = tokio::time::timeout(
        Duration::from_secs(10),
        PgConnection::connect_with(&options),
    )
    .await
    .map_err(|_| format!("cannot connect to {shown}: no answer within 10s"))?
    .map_err(|e| format!("cannot connect to {shown}: {}", describe(&e)))?;
    let mut tx = conn
        .begin_with("BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(|e| format!("{shown}: {}", describe(&e)))?;
    let facts = read(&mut tx)
        .await
        .map_err(|e| format!("cannot read the catalog of {shown}: {}", describe(&e)));
    let _ = tx.rollback().await;
    let _ = conn.close().await;
    facts
}

async fn read(conn: &mut PgConnection) -> Result<DbFacts, sqlx::Error> {
    sqlx::query("SELECT set_config('statement_timeout', '10s', true)")
        .execute(&mut *conn)
        .await?;
    let api_roles = api_roles(conn).await?;
    let names: Vec<String> = api_roles.iter().map(|r| r.name.clone()).collect();
    Ok(DbFacts {
        pgrst_schemas: pgrst_schemas(conn).await?,
        schemas: schemas(conn, &names).await?,
        tables: tables(conn).await?,
        cron: cron(conn).await?,
        history: history(conn).await?,
        api_roles,
    })
}

async fn api_roles(conn: &mut PgConnection) -> Result<Vec<ApiRole>, sqlx::Error> {
    let rows = sqlx::query(
        "WITH via AS (
           SELECT m.roleid FROM pg_auth_members m JOIN pg_roles a ON a.oid = m.member
           WHERE a.rolname = 'authenticator')
         SELECT r.rolname::text AS name, r.oid IN (SELECT roleid FROM via) AS via_authenticator
         FROM pg_roles r
         WHERE (r.rolname IN ('anon', 'authenticated') OR r.oid IN (SELECT roleid FROM via))
           AND NOT r.rolsuper AND NOT r.rolbypassrls
         ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ApiRole {
                name: row.try_get("name")?,
                via_authenticator: row.try_get("via_authenticator")?,
            })
        })
        .collect()
}

/// The database-specific setting wins over the role-wide one, as PostgreSQL applies them.
async fn pgrst_schemas(conn: &mut PgConnection) -> Result<Option<Vec<String>>, sqlx::Error> {
    let setting: Option<String> = sqlx::query_scalar(
        "SELECT substr(cfg, length('pgrst.db_schemas=') + 1)
         FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole, unnest(s.setconfig) cfg
         WHERE r.rolname = 'authenticator' AND cfg LIKE 'pgrst.db\\_schemas=%'
           AND s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
         ORDER BY s.setdatabase DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(setting.map(|s| split_schemas(&s)))
}

/// `public, api` → `[public, api]`, quotes and blanks removed.
pub fn split_schemas(setting: &str) -> Vec<String> {
    setting
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

async fn schemas(
    conn: &mut PgConnection,
    roles: &[String],
) -> Result<Vec<SchemaFacts>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT n.nspname::text AS name,
                array(SELECT r FROM unnest($1::text[]) r
                      WHERE has_schema_privilege(r, n.oid, 'USAGE') ORDER BY r) AS usable_by
         FROM pg_namespace n WHERE {NOT_SYSTEM} ORDER BY 1"
    )))
    .bind(roles)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(SchemaFacts {
                name: row.try_get("name")?,
                usable_by: row.try_get("usable_by")?,
            })
        })
        .collect()
}

async fn tables(conn: &mut PgConnection) -> Result<Vec<TableFacts>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT n.nspname::text AS schema, c.relname::text AS name,
           array(SELECT a.attname::text FROM pg_attribute a
                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                 ORDER BY 1) AS columns,
           EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')
             AS has_primary_key,
           (SELECT count(*) FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'f')
             AS foreign_keys,
           array(SELECT (SELECT string_agg(a.attname, ',' ORDER BY a.attname) FROM pg_attribute a
                         WHERE a.attrelid = c.oid AND a.attnum = ANY (i.indkey))
                 FROM pg_index i
                 WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid AND i.indpred IS NULL
                 ORDER BY 1) AS unique_sets
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {NOT_SYSTEM}
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                           WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                             AND d.deptype = 'e')
         ORDER BY 1, 2"
    )))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let unique: Vec<Option<String>> = row.try_get("unique_sets")?;
            let foreign_keys: i64 = row.try_get("foreign_keys")?;
            Ok(TableFacts {
                schema: row.try_get("schema")?,
                name: row.try_get("name")?,
                columns: row.try_get("columns")?,
                has_primary_key: row.try_get("has_primary_key")?,
                foreign_keys: usize::try_from(foreign_keys).unwrap_or(0),
                unique: unique
                    .into_iter()
                    .flatten()
                    .map(|cols| cols.split(',').map(str::to_string).collect())
                    .collect(),
            })
        })
        .collect()
}

async fn cron(conn: &mut PgConnection) -> Result<Cron, sqlx::Error> {
    let state: Option<bool> = sqlx::query_scalar(
        "SELECT to_regclass('cron.job') IS NOT NULL
                AND has_table_privilege('cron.job', 'SELECT')
         FROM pg_extension WHERE extname = 'pg_cron'",
    )
    .fetch_optional(&mut *conn)
    .await?;
    match state {
        None => Ok(Cron::Absent),
        Some(false) => Ok(Cron::Unreadable),
        Some(true) => {
            let jobs: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT jobname::text FROM cron.job WHERE jobname IS NOT NULL ORDER BY 1",
            )
            .fetch_all(&mut *conn)
            .await?;
            Ok(Cron::Jobs(jobs))
        }
    }
}

async fn history(conn: &mut PgConnection) -> Result<Option<Tool>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL AS supabase,
                to_regclass('_sqlx_migrations') IS NOT NULL AS sqlx,
                to_regclass('flyway_schema_history') IS NOT NULL AS flyway,
                to_regclass('_prisma_migrations') IS NOT NULL AS prisma,
                to_regclass('schema_migrations') IS NOT NULL AS schema_migrations,
                EXISTS (SELECT 1 FROM pg_attribute
                        WHERE attrelid = to_regclass('schema_migrations')
                          AND attname = 'dirty' AND NOT attisdropped) AS dirty",
    )
    .fetch_one(&mut *conn)
    .await?;
    let found = |column: &str| row.try_get::<bool, _>(column);
    Ok(if found("supabase")? {
        Some(Tool::Supabase)
    } else if found("sqlx")? {
        Some(Tool::Sqlx)
    } else if found("flyway")? {
        Some(Tool::Flyway)
    } else if found("prisma")? {
        Some(Tool::Prisma)
    } else if found("dirty")? {
        Some(Tool::GolangMigrate)
    } else if found("schema_migrations")? {
        Some(Tool::Dbmate)
    } else {
        None
    })
}
