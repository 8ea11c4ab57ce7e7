//! What a check may use while it runs: its target, the timeout, the project directory, the
//! environment, and a sink for the secret values it reads.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use super::http::HttpHandle;
use super::outcome::CheckError;
use super::postgres::PgHandle;
use crate::redact::SharedRedactor;

/// A target as the runner holds it: connected lazily, shared by the checks that use it.
pub enum Connection {
    Postgres(Box<PgHandle>),
    Http(HttpHandle),
}

/// What every check of a run shares; each check sees it through its own `Ctx`.
pub struct Context {
    pub env: HashMap<String, String>,
    /// Relative paths in checks resolve against the directory of the configuration.
    pub base_dir: PathBuf,
    /// For `http` checks with their own `url:` and no target.
    pub standalone_http: HttpHandle,
}

impl Context {
    /// One check's view: its connected target, its timeout, its secret sink.
    pub fn for_check<'a>(
        &'a self,
        check_id: &'a str,
        target: Option<&'a Connection>,
        timeout: Duration,
        secrets: &'a SecretSink,
    ) -> Ctx<'a> {
        Ctx {
            check_id,
            target,
            standalone_http: &self.standalone_http,
            timeout,
            base_dir: &self.base_dir,
            env: &self.env,
            secrets,
        }
    }
}

/// Everything a kind's `run` may use besides its parameters.
pub struct Ctx<'a> {
    /// The check's id: the first check of a PostgreSQL target also reports the target's role.
    pub check_id: &'a str,
    /// The check's target, connected; `None` for local checks and for `url:` checks.
    pub target: Option<&'a Connection>,
    /// The client of HTTP checks that give their own `url:` and name no target.
    pub standalone_http: &'a HttpHandle,
    /// The check's own budget; the runner also enforces it from outside.
    pub timeout: Duration,
    /// Relative paths in checks resolve against the directory of the configuration.
    pub base_dir: &'a Path,
    pub env: &'a HashMap<String, String>,
    pub secrets: &'a SecretSink,
}

impl Ctx<'_> {
    /// The target's PostgreSQL handle. The loader refuses a check whose target is of another
    /// family (or missing where needed), so the error only keeps a broken invariant fail-closed.
    pub fn postgres(&self) -> Result<&PgHandle, CheckError> {
        match self.target {
            Some(Connection::Postgres(db)) => Ok(db),
            _ => Err(CheckError::new("this check needs a postgres target")),
        }
    }

    /// The target's HTTP client, or the standalone one when the check names no target.
    pub fn http(&self) -> Result<&HttpHandle, CheckError> {
        match self.target {
            Some(Connection::Http(client)) => Ok(client),
            None => Ok(self.standalone_http),
            Some(Connection::Postgres(_)) => {
                Err(CheckError::new("this check needs an http target"))
            }
        }
    }
}

/// Collects the secret values a check reads (the `secret` kind), so that the run masks them in
/// every report and log line. The runner creates one per check.
#[derive(Debug, Default)]
pub struct SecretSink {
    values: Mutex<Vec<String>>,
    /// The run's growing redactor: it learns each value at once, so that a line logged while
    /// the check still runs already masks it.
    seen: SharedRedactor,
}

impl SecretSink {
    pub fn new(seen: SharedRedactor) -> SecretSink {
        SecretSink {
            values: Mutex::default(),
            seen,
        }
    }

    pub fn add(&self, value: String) {
        self.seen.extend([value.clone()]);
        // A poisoned lock still holds the values: losing one would leak it.
        self.values
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(value);
    }

    pub fn into_values(self) -> Vec<String> {
        self.values
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
