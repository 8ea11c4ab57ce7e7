//! What a target is once its definition is read: its family and how to reach it. A leaf module
//! (it imports nothing of the crate), so the kinds can use it without depending on the model.

use std::time::Duration;

#[derive(Debug, Clone)]
pub enum TargetKind {
    Postgres(PostgresTarget),
    Http(HttpTarget),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetFamily {
    Postgres,
    Http,
}

impl TargetFamily {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetFamily::Postgres => "postgres",
            TargetFamily::Http => "http",
        }
    }
}

#[derive(Debug, Clone)]
pub struct PostgresTarget {
    /// Holds the password: print only `crate::redact::redact_url` of it.
    pub url: String,
    pub api_roles: Option<Vec<String>>,
    pub exposed_schemas: Vec<String>,
    pub allow_writes: bool,
    pub connect_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct HttpTarget {
    pub base_url: url::Url,
    /// Values may be secrets (API keys): never printed.
    pub headers: Vec<(String, String)>,
    pub insecure_tls: bool,
}
