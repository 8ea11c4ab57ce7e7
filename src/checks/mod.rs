//! The check kinds: a closed set, dispatched with `match`.

pub mod backup;
pub mod http;
pub mod local;
pub mod network;
pub mod outcome;
pub mod params;
pub mod postgres;

use std::collections::HashMap;
use std::path::PathBuf;

use crate::config::node::{Node, NodeError};
use crate::model::TargetFamily;
use outcome::{CheckError, CheckOutcome};

#[derive(Debug, Clone)]
pub enum Kind {
    Sql(postgres::sql::SqlParams),
    RlsAudit(postgres::rls_audit::RlsAuditParams),
    RlsProbe(postgres::rls_probe::RlsProbeParams),
    AuditLog(postgres::audit_log::AuditLogParams),
    Schema(postgres::schema::SchemaParams),
    Migrations(postgres::migrations::MigrationsParams),
    CronJob(postgres::cron_job::CronJobParams),
    Http(http::request::HttpParams),
    Env(local::EnvParams),
    File(local::FileParams),
    Command(local::CommandParams),
    Secret(local::secret::SecretParams),
    Coverage(local::coverage::CoverageParams),
    Backup(backup::BackupParams),
    DefaultCredentials(network::default_credentials::CredentialsParams),
    Health(http::health::HealthParams),
    RateLimit(http::rate_limit::RateLimitParams),
    SecurityHeaders(http::security_headers::SecurityHeadersParams),
    WebhookSignature(http::webhook_signature::WebhookParams),
    Tls(http::tls::TlsParams),
}

impl Kind {
    /// Every kind key a check may hold.
    pub const NAMES: &[&str] = &[
        "sql",
        "rls_audit",
        "rls_probe",
        "audit_log",
        "schema",
        "migrations",
        "cron_job",
        "http",
        "env",
        "file",
        "command",
        "secret",
        "coverage",
        "backup",
        "default_credentials",
        "health",
        "rate_limit",
        "security_headers",
        "webhook_signature",
        "tls",
    ];

    /// Reads the parameters under a kind key; `None` when `name` is not a kind.
    pub fn parse(name: &str, params: &Node) -> Option<Result<Kind, NodeError>> {
        Some(match name {
            "sql" => params.parse().map(Kind::Sql),
            "rls_audit" => params.parse().map(Kind::RlsAudit),
            "rls_probe" => params.parse().map(Kind::RlsProbe),
            "audit_log" => params.parse().map(Kind::AuditLog),
            "schema" => params.parse().map(Kind::Schema),
            "migrations" => params.parse().map(Kind::Migrations),
            "cron_job" => params.parse().map(Kind::CronJob),
            "http" => params.parse().map(Kind::Http),
            "env" => params.parse().map(Kind::Env),
            "file" => params.parse().map(Kind::File),
            "command" => params.parse().map(Kind::Command),
            "secret" => params.parse().map(Kind::Secret),
            "coverage" => params.parse().map(Kind::Coverage),
            "backup" => params.parse().map(Kind::Backup),
            "default_credentials" => params.parse().map(Kind::DefaultCredentials),
            "health" => params.parse().map(Kind::Health),
            "rate_limit" => params.parse().map(Kind::RateLimit),
            "security_headers" => params.parse().map(Kind::SecurityHeaders),
            "webhook_signature" => params.parse().map(Kind::WebhookSignature),
            "tls" => params.parse().map(Kind::Tls),
            _ => return None,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Kind::Sql(_) => "sql",
            Kind::RlsAudit(_) => "rls_audit",
            Kind::RlsProbe(_) => "rls_probe",
            Kind::AuditLog(_) => "audit_log",
            Kind::Schema(_) => "schema",
            Kind::Migrations(_) => "migrations",
            Kind::CronJob(_) => "cron_job",
            Kind::Http(_) => "http",
            Kind::Env(_) => "env",
            Kind::File(_) => "file",
            Kind::Command(_) => "command",
            Kind::Secret(_) => "secret",
            Kind::Coverage(_) => "coverage",
            Kind::Backup(_) => "backup",
            Kind::DefaultCredentials(_) => "default_credentials",
            Kind::Health(_) => "health",
            Kind::RateLimit(_) => "rate_limit",
            Kind::SecurityHeaders(_) => "security_headers",
            Kind::WebhookSignature(_) => "webhook_signature",
            Kind::Tls(_) => "tls",
        }
    }

    /// The family of target the kind needs; `None` for local kinds.
    pub fn family(&self) -> Option<TargetFamily> {
        match self {
            Kind::Sql(_)
            | Kind::RlsAudit(_)
            | Kind::RlsProbe(_)
            | Kind::AuditLog(_)
            | Kind::Schema(_)
            | Kind::Migrations(_)
            | Kind::CronJob(_) => Some(TargetFamily::Postgres),
            // Only the `wal_archiving` source reads a server; the others are local artefacts.
            Kind::Backup(p) => matches!(p.source, backup::Source::WalArchiving(_))
                .then_some(TargetFamily::Postgres),
            Kind::Http(_)
            | Kind::Health(_)
            | Kind::RateLimit(_)
            | Kind::SecurityHeaders(_)
            | Kind::WebhookSignature(_)
            | Kind::Tls(_) => Some(TargetFamily::Http),
            Kind::Env(_)
            | Kind::File(_)
            | Kind::Command(_)
            | Kind::Secret(_)
            | Kind::Coverage(_) => None,
            Kind::DefaultCredentials(p) => p.uses_target().then_some(TargetFamily::Postgres),
        }
    }

    /// The target a kind names in its own parameters (`backup: { wal_archiving: db }`), used when
    /// the check has no `target:`.
    pub fn implied_target(&self) -> Option<&str> {
        match self {
            Kind::Backup(p) => match &p.source {
                backup::Source::WalArchiving(w) => w.target.as_deref(),
                _ => None,
            },
            _ => None,
        }
    }

    /// A target is optional when the check can name its own address (`http` with `url:`).
    pub fn needs_target(&self) -> bool {
        match self {
            Kind::Http(p) => p.url.is_none(),
            Kind::Health(p) => p.url.is_none(),
            Kind::RateLimit(p) => p.url.is_none(),
            Kind::SecurityHeaders(p) => p.url.is_none(),
            Kind::WebhookSignature(p) => p.url.is_none(),
            Kind::Tls(p) => p.url.is_none() && p.host.is_none(),
            other => other.family().is_some(),
        }
    }

    /// Whether `retries` applies: only probes over the network can be flaky.
    pub fn is_network(&self) -> bool {
        self.family().is_some()
    }
}

/// A target as the runner holds it: connected lazily, shared by the checks that use it.
pub enum Connection {
    Postgres(Box<postgres::PgHandle>),
    Http(http::HttpHandle),
}

/// What every check may use besides its target.
pub struct Context {
    pub env: HashMap<String, String>,
    /// Relative paths in checks resolve against the directory of the configuration.
    pub base_dir: PathBuf,
    /// For `http` checks with their own `url:` and no target.
    pub standalone_http: http::HttpHandle,
}

/// Runs one check against its connected target.
pub async fn run(
    kind: &Kind,
    connection: Option<&Connection>,
    context: &Context,
    timeout: std::time::Duration,
) -> CheckOutcome {
    match (kind, connection) {
        (Kind::Sql(p), Some(Connection::Postgres(db))) => postgres::sql::run(p, db, timeout).await,
        (Kind::RlsAudit(p), Some(Connection::Postgres(db))) => {
            postgres::rls_audit::run(p, db, timeout).await
        }
        (Kind::RlsProbe(p), Some(Connection::Postgres(db))) => {
            postgres::rls_probe::run(p, db, timeout).await
        }
        (Kind::AuditLog(p), Some(Connection::Postgres(db))) => {
            postgres::audit_log::run(p, db, timeout).await
        }
        (Kind::Schema(p), Some(Connection::Postgres(db))) => {
            postgres::schema::run(p, db, timeout).await
        }
        (Kind::Migrations(p), Some(Connection::Postgres(db))) => {
            postgres::migrations::run(p, db, &context.base_dir, timeout).await
        }
        (Kind::CronJob(p), Some(Connection::Postgres(db))) => {
            postgres::cron_job::run(p, db, timeout).await
        }
        (Kind::Http(p), Some(Connection::Http(client))) => http::request::run(p, client).await,
        (Kind::Http(p), None) => http::request::run(p, &context.standalone_http).await,
        (Kind::Health(p), Some(Connection::Http(client))) => http::health::run(p, client).await,
        (Kind::Health(p), None) => http::health::run(p, &context.standalone_http).await,
        (Kind::RateLimit(p), Some(Connection::Http(client))) => {
            http::rate_limit::run(p, client).await
        }
        (Kind::RateLimit(p), None) => http::rate_limit::run(p, &context.standalone_http).await,
        (Kind::SecurityHeaders(p), Some(Connection::Http(client))) => {
            http::security_headers::run(p, client).await
        }
        (Kind::SecurityHeaders(p), None) => {
            http::security_headers::run(p, &context.standalone_http).await
        }
        (Kind::WebhookSignature(p), Some(Connection::Http(client))) => {
            http::webhook_signature::run(p, client, &context.env).await
        }
        (Kind::WebhookSignature(p), None) => {
            http::webhook_signature::run(p, &context.standalone_http, &context.env).await
        }
        (Kind::Tls(p), Some(Connection::Http(client))) => http::tls::run(p, client, timeout).await,
        (Kind::Tls(p), None) => http::tls::run(p, &context.standalone_http, timeout).await,
        (Kind::Env(p), _) => local::run_env(p, &context.env),
        (Kind::File(p), _) => local::run_file(p, &context.base_dir).await,
        (Kind::Command(p), _) => local::run_command(p, &context.base_dir).await,
        (Kind::Secret(p), _) => local::secret::run(p, &context.env, &context.base_dir),
        (Kind::Coverage(p), _) => local::coverage::run(p, &context.base_dir).await,
        (Kind::DefaultCredentials(p), Some(Connection::Postgres(db))) => {
            network::default_credentials::run(p, Some(db)).await
        }
        (Kind::DefaultCredentials(p), _) => network::default_credentials::run(p, None).await,
        (Kind::Backup(p), connection) => backup::run(p, connection, context, timeout).await,
        (kind, _) => Err(CheckError::new(format!(
            "a `{}` check needs a {} target",
            kind.name(),
            kind.family().map_or("matching", |f| f.as_str())
        ))),
    }
}
