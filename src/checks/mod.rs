//! The check kinds: a closed set, dispatched with `match`.

pub mod http;
pub mod local;
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
    Http(http::request::HttpParams),
    Env(local::EnvParams),
    File(local::FileParams),
    Command(local::CommandParams),
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
        "http",
        "env",
        "file",
        "command",
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
            "http" => params.parse().map(Kind::Http),
            "env" => params.parse().map(Kind::Env),
            "file" => params.parse().map(Kind::File),
            "command" => params.parse().map(Kind::Command),
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
            Kind::Http(_) => "http",
            Kind::Env(_) => "env",
            Kind::File(_) => "file",
            Kind::Command(_) => "command",
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
            Kind::Sql(_) => Some(TargetFamily::Postgres),
            Kind::Http(_)
            | Kind::Health(_)
            | Kind::RateLimit(_)
            | Kind::SecurityHeaders(_)
            | Kind::WebhookSignature(_)
            | Kind::Tls(_) => Some(TargetFamily::Http),
            Kind::Env(_) | Kind::File(_) | Kind::Command(_) => None,
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
        (kind, _) => Err(CheckError::new(format!(
            "a `{}` check needs a {} target",
            kind.name(),
            kind.family().map_or("matching", |f| f.as_str())
        ))),
    }
}
