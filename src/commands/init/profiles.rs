//! The profiles of `ready init`: targets, the built-in check files each starts from, and the
//! checks written for it (`checks/supabase.yaml`, `checks/backend.yaml`).

use std::path::Path;

use super::{ProjectFile, Waiver};
use crate::cli::Profile;
use crate::config::BUILTIN_FILES;
use crate::discover::plan::{self, CheckFile, Generated};
use crate::discover::repository;
use crate::discover::yaml::Yaml;

pub(super) struct ProfileFiles {
    pub project: ProjectFile,
    pub builtin: Vec<(&'static str, &'static str)>,
    pub generated: Vec<CheckFile>,
}

const INTRO: &str =
    "# ready: production-readiness checks for this project. `ready check` runs them;
# `ready validate` checks this file; `ready explain ID` describes a check.
";

const POSTGRES_TARGET: &str = "  db:
    # A connection URL; its password is never printed (postgres://app:***@host/db).
    postgres: ${DATABASE_URL}
";

const SUPABASE_ROLES: &str =
    "    # Roles that serve untrusted clients, and the schemas they reach through the API.
    api_roles: [anon, authenticated]
    exposed_schemas: [public]
    # Behaviour probes that write run only with allow_writes: true, and are always rolled back.
    allow_writes: false
";

const SUPABASE_API: &str = "  api:
    http: ${SUPABASE_URL}
    # Header values are secrets: never printed.
    headers: { apikey: \"${SUPABASE_ANON_KEY}\" }
";

const HTTP_API: &str = "  api:
    # The base URL; each check's path joins onto it.
    http: ${READY_HTTP_URL}
";

/// The built-in check files a profile starts from.
fn builtin_for(profile: Profile) -> Vec<(&'static str, &'static str)> {
    BUILTIN_FILES
        .iter()
        .copied()
        .filter(|(path, _)| {
            let name = path.trim_start_matches("checks/");
            match profile {
                Profile::Supabase => true,
                Profile::Postgres => {
                    name.starts_with("postgres-")
                        || name == "secrets.yaml"
                        || name == "backups.yaml"
                }
                Profile::Http => name.starts_with("http"),
                Profile::Backend => matches!(
                    name,
                    "postgres-basics.yaml"
                        | "postgres-database.yaml"
                        | "secrets.yaml"
                        | "backups.yaml"
                ),
            }
        })
        .collect()
}

pub(super) fn build(profile: Profile, dir: &Path) -> ProfileFiles {
    let (targets, database, generated, waiver) = match profile {
        Profile::Supabase => (
            format!("targets:\n{POSTGRES_TARGET}{SUPABASE_ROLES}{SUPABASE_API}"),
            true,
            vec![supabase_checks(dir)],
            rls_waiver(),
        ),
        Profile::Postgres => (
            format!("targets:\n{POSTGRES_TARGET}"),
            true,
            Vec::new(),
            rls_waiver(),
        ),
        Profile::Http => (
            format!("targets:\n{HTTP_API}"),
            false,
            Vec::new(),
            csp_waiver(),
        ),
        Profile::Backend => (
            format!("targets:\n{POSTGRES_TARGET}{HTTP_API}"),
            true,
            vec![backend_checks()],
            Waiver {
                check: "backups.nightly-dumps".into(),
                subject: Some("monthly:*"),
                reason: "backups began this year: the monthly copies build up until then",
            },
        ),
    };
    ProfileFiles {
        project: ProjectFile {
            intro: INTRO.to_string(),
            project: "my-project".to_string(),
            targets,
            database,
            include: true,
            waiver: Some(waiver),
        },
        builtin: builtin_for(profile),
        generated,
    }
}

fn rls_waiver() -> Waiver {
    Waiver {
        check: "postgres.rls".into(),
        subject: Some("public.spatial_ref_sys"),
        reason: "PostGIS reference table, holds no user data",
    }
}

fn csp_waiver() -> Waiver {
    Waiver {
        check: "http.security-headers".into(),
        subject: Some("Content-Security-Policy"),
        reason: "JSON API, serves no page to browsers",
    }
}

/// The migrations of `supabase_migrations`, and the edge functions found under
/// `supabase/functions` (rate limits for all, signatures for webhook receivers).
fn supabase_checks(dir: &Path) -> CheckFile {
    let migrations = Generated::new(
        "supabase.migrations",
        "Every migration in supabase/migrations is applied",
        "migrations",
        Yaml::map(vec![
            ("tool", Yaml::str("supabase")),
            ("dir", Yaml::str("supabase/migrations")),
        ]),
    )
    .on("db", "database", "high")
    .because(
        "the Supabase CLI records applied migrations in supabase_migrations.schema_migrations",
    );
    let mut notes = Vec::new();
    let mut checks = vec![migrations.blocking()];
    checks.extend(plan::function_checks(
        &repository::functions(&dir.join("supabase/functions")),
        &mut notes,
    ));
    let about = if checks.len() == 1 {
        "Supabase checks. No folder under supabase/functions was found when this was written: run\n`ready init --discover` later to add rate-limit and webhook checks for the edge functions."
    } else {
        "Supabase checks: migrations, and the edge functions found under supabase/functions when\nthis was written (run `ready init --discover` to refresh the list)."
    };
    CheckFile {
        name: "supabase",
        about: about.to_string(),
        checks,
    }
}

const BACKEND_ABOUT: &str = "A service with PostgreSQL, Redis and S3-compatible storage (MinIO, AWS S3, R2): its\nsecrets, stores, migrations, latency and transport. Dated backups with 7 daily / 4 weekly /\n12 monthly retention and restore verification are in checks/backups.yaml (READY_BACKUP_DIR).";

/// A service with PostgreSQL, Redis and S3-compatible storage.
fn backend_checks() -> CheckFile {
    let mut checks = store_checks();
    checks.extend(service_checks());
    CheckFile {
        name: "backend",
        about: BACKEND_ABOUT.to_string(),
        checks,
    }
}

/// Redis, the storage keys and the migrations.
fn store_checks() -> Vec<Generated> {
    vec![
        Generated::new(
            "backend.redis-default-login",
            "Redis refuses clients without a password or with default ones",
            "default_credentials",
            Yaml::map(vec![("redis", Yaml::str("${REDIS_ADDR:-127.0.0.1:6379}"))]),
        )
        .local("security", "critical")
        .because("a Redis without a password serves every key to whoever reaches it"),
        Generated::new(
            "backend.storage-access-key",
            "The storage access key is not the vendor default",
            "secret",
            Yaml::map(vec![
                ("from", Yaml::str("env:S3_ACCESS_KEY")),
                ("min_bytes", Yaml::Int(3)),
                ("min_entropy_bits", Yaml::Int(0)),
            ]),
        )
        .local("security", "critical")
        .because(
            "MinIO starts with minioadmin/minioadmin: the built-in list of defaults refuses it",
        ),
        Generated::new(
            "backend.storage-secret-key",
            "The storage secret key is strong and not the vendor default",
            "secret",
            Yaml::map(vec![
                ("from", Yaml::str("env:S3_SECRET_KEY")),
                ("min_bytes", Yaml::Int(32)),
            ]),
        )
        .local("security", "critical")
        .because("whoever holds the storage keys reads and deletes every object"),
        Generated::new(
            "backend.migrations",
            "Every golang-migrate migration is applied and none is dirty",
            "migrations",
            Yaml::map(vec![
                ("tool", Yaml::str("golang-migrate")),
                ("dir", Yaml::str("migrations")),
            ]),
        )
        .on("db", "database", "high")
        .because("golang-migrate keeps the version and a dirty flag in schema_migrations")
        .blocking(),
    ]
}

/// Latency and transport of the API.
fn service_checks() -> Vec<Generated> {
    vec![
        Generated::new(
            "backend.latency",
            "The service answers within 200 ms at the 95th percentile",
            "http",
            Yaml::map(vec![
                ("path", Yaml::str("${READY_HEALTH_PATH:-/health}")),
                ("samples", Yaml::Int(20)),
                (
                    "expect",
                    Yaml::map(vec![("max_latency", Yaml::str("200ms"))]),
                ),
            ]),
        )
        .on("api", "reliability", "high")
        .because("p95 over 20 requests, one after another"),
        Generated::new(
            "backend.tls",
            "The TLS certificate is valid, trusted, for this host and not about to expire",
            "tls",
            Yaml::Map(vec![]),
        )
        .on("api", "security", "critical")
        .because("READY_HTTP_URL should be the public https address")
        .blocking(),
        Generated::new(
            "backend.hsts-cors",
            "HSTS is set and CORS does not reflect foreign origins",
            "security_headers",
            Yaml::map(vec![
                ("path", Yaml::str("/")),
                ("rules", Yaml::strs(&["hsts", "cors"])),
            ]),
        )
        .on("api", "security", "high")
        .because("an API read by browsers needs HSTS and a strict CORS policy"),
    ]
}
