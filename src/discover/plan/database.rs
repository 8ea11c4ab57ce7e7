//! Facts of the database → its target and checks.

use super::{Generated, TargetPlan, count};
use crate::checks::postgres::catalog::list;
use crate::discover::database::{Cron, DbFacts, TableFacts, Tool};
use crate::discover::repository::{MigrationDir, RepoFacts};
use crate::discover::yaml::Yaml;

/// Schemas of the platform, not of the application: never scanned for money or idempotency.
const PLATFORM_SCHEMAS: &[&str] = &[
    "_analytics",
    "_realtime",
    "auth",
    "cron",
    "extensions",
    "graphql",
    "graphql_public",
    "net",
    "pgbouncer",
    "pgsodium",
    "pgsodium_masks",
    "realtime",
    "storage",
    "supabase_functions",
    "supabase_migrations",
    "vault",
];

/// Column words that mark a table holding money or identity.
const MONEY_WORDS: &[&str] = &[
    "amount", "balance", "currency", "iban", "ledger", "payment", "payout", "refund", "price",
];
const IDENTITY_COLUMNS: &[&str] = &[
    "date_of_birth",
    "national_id",
    "passport_number",
    "ssn",
    "tax_id",
];
/// Columns whose values a retried delivery repeats, so a unique constraint must stop doubles.
const IDEMPOTENCY_COLUMNS: &[&str] = &["event_id", "external_id", "idempotency_key", "message_id"];

/// The schemas the API serves: `pgrst.db_schemas`, else `[api] schemas` of the Supabase
/// config, else `public`; only those that exist.
pub(super) fn exposed_schemas(db: &DbFacts, repo: &RepoFacts) -> (Vec<String>, String) {
    let exists = |s: &String| db.schemas.iter().any(|f| &f.name == s);
    let (listed, source) = match (
        &db.pgrst_schemas,
        repo.supabase.as_ref().and_then(|s| s.api_schemas.clone()),
    ) {
        (Some(listed), _) => (listed.clone(), "pgrst.db_schemas of role authenticator"),
        (None, Some(listed)) => (listed, "[api] schemas in supabase/config.toml"),
        (None, None) => (
            vec!["public".to_string()],
            "the default: no pgrst.db_schemas setting",
        ),
    };
    let kept: Vec<String> = listed.iter().filter(|s| exists(s)).cloned().collect();
    let missing: Vec<&String> = listed.iter().filter(|s| !exists(s)).collect();
    let mut why = format!("exposed schemas from {source}: {}", list_or_none(&kept));
    if !missing.is_empty() {
        why.push_str(&format!(
            " ({} listed, but not in the database)",
            list(&missing)
        ));
    }
    (kept, why)
}

fn list_or_none(items: &[impl AsRef<str>]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        list(items)
    }
}

pub(super) fn db_target(db: &DbFacts, exposed: &(Vec<String>, String)) -> TargetPlan {
    let roles: Vec<&str> = db.api_roles.iter().map(|r| r.name.as_str()).collect();
    let via: Vec<&str> = db
        .api_roles
        .iter()
        .filter(|r| r.via_authenticator)
        .map(|r| r.name.as_str())
        .collect();
    let mut why = vec![if roles.is_empty() {
        "no API role (anon, authenticated, or one authenticator switches to) exists".to_string()
    } else {
        format!("API roles that exist: {}", list(&roles))
    }];
    if !via.is_empty() {
        why.push(format!(
            "authenticator (PostgREST) switches to {}",
            list(&via)
        ));
    }
    why.push(exposed.1.clone());
    let reach: Vec<String> = db
        .schemas
        .iter()
        .filter(|s| !s.usable_by.is_empty())
        .map(|s| format!("{} ({})", s.name, s.usable_by.join(", ")))
        .collect();
    if !reach.is_empty() {
        why.push(format!(
            "schemas the API roles can use: {}",
            reach.join(", ")
        ));
    }
    let mut settings = vec![("postgres", Yaml::str("${DATABASE_URL}"))];
    if !roles.is_empty() {
        settings.push(("api_roles", Yaml::strs(&roles)));
    }
    if !exposed.0.is_empty() {
        settings.push(("exposed_schemas", Yaml::strs(&exposed.0)));
    }
    settings.push(("allow_writes", Yaml::Bool(false)));
    TargetPlan {
        name: "db".into(),
        why,
        settings: Yaml::map(settings),
    }
}

fn app_tables(db: &DbFacts) -> impl Iterator<Item = &TableFacts> {
    db.tables
        .iter()
        .filter(|t| !PLATFORM_SCHEMAS.contains(&t.schema.as_str()))
}

/// The columns that make a table hold money or identity, sorted.
pub fn sensitive_columns(table: &TableFacts) -> Vec<&str> {
    table
        .columns
        .iter()
        .map(String::as_str)
        .filter(|c| IDENTITY_COLUMNS.contains(c) || c.split('_').any(|w| MONEY_WORDS.contains(&w)))
        .collect()
}

/// Idempotency-like columns that no unique index covers.
pub fn loose_idempotency_columns(table: &TableFacts) -> Vec<&str> {
    table
        .columns
        .iter()
        .map(String::as_str)
        .filter(|c| IDEMPOTENCY_COLUMNS.contains(c))
        .filter(|c| !table.unique.iter().any(|set| set.iter().any(|u| u == c)))
        .collect()
}

fn columns_phrase(columns: &[&str]) -> String {
    match columns {
        [one] if one.starts_with(['a', 'e', 'i', 'o', 'u']) => format!("an {one} column"),
        [one] => format!("a {one} column"),
        many => format!("{} columns", list(many)),
    }
}

pub(super) fn database_checks(
    db: &DbFacts,
    exposed: &(Vec<String>, String),
    notes: &mut Vec<String>,
) -> Vec<Generated> {
    let sensitive: Vec<(&TableFacts, Vec<&str>)> = app_tables(db)
        .map(|t| (t, sensitive_columns(t)))
        .filter(|(_, cols)| !cols.is_empty())
        .collect();
    let mut checks = vec![rls_check(db, &exposed.0, &sensitive)];
    checks.extend(audit_check(&sensitive));
    checks.extend(keys_check(db, &exposed.0));
    checks.extend(idempotency_check(db));
    match &db.cron {
        Cron::Absent => {}
        Cron::Unreadable => notes.push(
            "pg_cron is installed but cron.job is not readable by the connecting role: no cron_job check".into(),
        ),
        Cron::Jobs(jobs) if jobs.is_empty() => {
            notes.push("pg_cron is installed but has no named job: no cron_job check".into());
        }
        Cron::Jobs(jobs) => checks.push(
            Generated::new(
                "db.cron-jobs",
                "The pg_cron jobs are active, succeed and run on time",
                "cron_job",
                Yaml::map(vec![("jobs", Yaml::strs(jobs))]),
            )
            .on("db", "operations", "high")
            .because(format!("pg_cron is installed with {}: {}", count(jobs.len(), "named job"), list(jobs))),
        ),
    }
    checks
}

fn rls_check(
    db: &DbFacts,
    exposed: &[String],
    sensitive: &[(&TableFacts, Vec<&str>)],
) -> Generated {
    let in_exposed: Vec<&(&TableFacts, Vec<&str>)> = sensitive
        .iter()
        .filter(|(t, _)| exposed.contains(&t.schema))
        .collect();
    let params = if in_exposed.is_empty() {
        Yaml::Map(vec![])
    } else {
        let names: Vec<String> = in_exposed.iter().map(|(t, _)| t.qualified()).collect();
        Yaml::map(vec![("sensitive", Yaml::strs(&names))])
    };
    let mut check = Generated::new(
        "db.rls",
        "Row level security protects every table the API can reach",
        "rls_audit",
        params,
    )
    .on("db", "security", "critical");
    check.blocker = true;
    check = check.because(if db.api_roles.is_empty() {
        format!(
            "the exposed schemas ({}) are judged by their grants to PUBLIC: no API role exists",
            list_or_none(exposed)
        )
    } else {
        format!(
            "the API roles reach the exposed schemas: {}",
            list_or_none(exposed)
        )
    });
    for (table, columns) in in_exposed {
        check = check.because(format!(
            "table {} has {}: row level security must be enabled and forced",
            table.qualified(),
            columns_phrase(columns)
        ));
    }
    check
}

fn audit_check(sensitive: &[(&TableFacts, Vec<&str>)]) -> Option<Generated> {
    if sensitive.is_empty() {
        return None;
    }
    let names: Vec<String> = sensitive.iter().map(|(t, _)| t.qualified()).collect();
    let mut schemas: Vec<&str> = sensitive.iter().map(|(t, _)| t.schema.as_str()).collect();
    schemas.dedup();
    let mut check = Generated::new(
        "db.audit-log",
        "Tables that hold money or identity are audited into an immutable log",
        "audit_log",
        Yaml::map(vec![
            ("tables", Yaml::strs(&names)),
            ("schemas", Yaml::strs(&schemas)),
        ]),
    )
    .on("db", "security", "high");
    for (table, columns) in sensitive {
        check = check.because(format!(
            "table {} has {}",
            table.qualified(),
            columns_phrase(columns)
        ));
    }
    Some(check)
}

fn keys_check(db: &DbFacts, exposed: &[String]) -> Option<Generated> {
    let tables: Vec<&TableFacts> = db
        .tables
        .iter()
        .filter(|t| exposed.contains(&t.schema))
        .collect();
    if tables.is_empty() {
        return None;
    }
    let fks: usize = tables.iter().map(|t| t.foreign_keys).sum();
    let pks = tables.iter().filter(|t| t.has_primary_key).count();
    Some(
        Generated::new(
            "db.keys",
            "Foreign keys are indexed and every table has a primary key",
            "schema",
            Yaml::map(vec![("schemas", Yaml::strs(exposed))]),
        )
        .on("db", "database", "medium")
        .because(format!(
            "{} in {}: {}, {} of them with a primary key",
            count(tables.len(), "table"),
            list(exposed),
            count(fks, "foreign key"),
            pks
        )),
    )
}

fn idempotency_check(db: &DbFacts) -> Option<Generated> {
    let loose: Vec<(&TableFacts, Vec<&str>)> = app_tables(db)
        .map(|t| (t, loose_idempotency_columns(t)))
        .filter(|(_, cols)| !cols.is_empty())
        .collect();
    if loose.is_empty() {
        return None;
    }
    let mut entries = Vec::new();
    let mut why = Vec::new();
    for (table, columns) in &loose {
        for column in columns {
            entries.push(format!("{}({column})", table.qualified()));
            why.push(format!(
                "{}.{column} looks like an idempotency key and no unique index covers it",
                table.qualified()
            ));
        }
    }
    let params = Yaml::map(vec![
        ("foreign_key_indexes", Yaml::Bool(false)),
        ("primary_keys", Yaml::Bool(false)),
        ("unique", Yaml::strs(&entries)),
    ]);
    let mut check = Generated::new(
        "db.idempotency",
        "A retried delivery cannot be stored twice",
        "schema",
        params,
    )
    .on("db", "database", "high");
    check.why = why;
    check.remediation = Some("Add a unique constraint on each key (with the provider's column when ids are per provider), so that a redelivered event is rejected instead of processed twice.".into());
    Some(check)
}

/// `migrations` for the history table found, pointed at the tool's folder; with no table, for
/// the folder found (the check then fails until the tool has applied them).
pub fn migrations_check(
    db: Option<&DbFacts>,
    repo: &RepoFacts,
    notes: &mut Vec<String>,
) -> Option<Generated> {
    let dir_of = |path: &str| repo.migration_dirs.iter().find(|d| d.path == path);
    let (tool, dir, why) = match db.and_then(|d| d.history) {
        Some(tool) => match dir_of(tool.folder()) {
            Some(dir) => (
                tool,
                dir,
                format!("history table {} is in the database", tool.table()),
            ),
            None => {
                notes.push(format!(
                    "the database has {}'s history table {} but the repository has no {} folder: no migrations check",
                    tool.name(), tool.table(), tool.folder()
                ));
                return None;
            }
        },
        None => {
            let dir = repo.migration_dirs.first()?;
            let tool = tool_of_folder(dir, repo.supabase.is_some());
            (
                tool,
                dir,
                format!(
                    "no history table is in the database yet: the check fails until {} has applied them",
                    tool.name()
                ),
            )
        }
    };
    let mut check = Generated::new(
        "db.migrations",
        &format!("Every migration in {} is applied", dir.path),
        "migrations",
        Yaml::map(vec![
            ("tool", Yaml::str(tool.name())),
            ("dir", Yaml::str(dir.path)),
        ]),
    )
    .on("db", "database", "high")
    .because(format!(
        "{} holds {}",
        dir.path,
        count(dir.entries, "migration")
    ))
    .because(why);
    check.blocker = true;
    Some(check)
}

fn tool_of_folder(dir: &MigrationDir, supabase: bool) -> Tool {
    match dir.path {
        "supabase/migrations" if supabase => Tool::Supabase,
        "supabase/migrations" | "db/migrations" => Tool::Dbmate,
        "db/migration" => Tool::Flyway,
        "prisma/migrations" => Tool::Prisma,
        _ if dir.up_files => Tool::GolangMigrate,
        _ => Tool::Sqlx,
    }
}

pub(super) fn default_login() -> Generated {
    Generated::new(
        "db.default-login",
        "The database refuses logins without a password and with default passwords",
        "default_credentials",
        Yaml::map(vec![("postgres", Yaml::Bool(true))]),
    )
    .on("db", "security", "critical")
    .because(
        "every PostgreSQL server: scanners try postgres/postgres and password-less logins first",
    )
}
