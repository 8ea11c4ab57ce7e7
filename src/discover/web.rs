//! HTTP facts for `--discover`: a handful of GETs for the health endpoint, nothing else.

use std::time::Duration;

use crate::checks::http::{HttpHandle, error_text};

/// The paths tried, in this order; the first that answers 2xx is the health endpoint.
pub const HEALTH_PATHS: &[&str] = &[
    "/health",
    "/healthz",
    "/readyz",
    "/livez",
    "/api/health",
    "/actuator/health",
    "/status",
    "/healthcheck",
];

#[derive(Debug, Clone, PartialEq)]
pub struct WebFacts {
    /// The variable that names the service: `READY_HTTP_URL`, or `SUPABASE_URL` in a Supabase
    /// project without it.
    pub variable: &'static str,
    pub https: bool,
    /// The first of `HEALTH_PATHS` that answered 2xx.
    pub health: Option<String>,
    /// Why nothing could be asked (the service did not answer), in words.
    pub unreachable: Option<String>,
}

pub async fn gather(variable: &'static str, base: &url::Url) -> WebFacts {
    let https = base.scheme() == "https";
    let mut facts = WebFacts {
        variable,
        https,
        health: None,
        unreachable: None,
    };
    let handle = match HttpHandle::standalone(Duration::from_secs(5)) {
        Ok(handle) => handle,
        Err(e) => {
            facts.unreachable = Some(e.0);
            return facts;
        }
    };
    for path in HEALTH_PATHS {
        let mut url = base.clone();
        url.set_path(&format!("{}{path}", base.path().trim_end_matches('/')));
        url.set_query(None);
        match handle.client.get(url).send().await {
            Ok(response) if response.status().is_success() => {
                facts.health = Some(path.to_string());
                break;
            }
            Ok(_) => {}
            Err(e) => {
                facts.unreachable = Some(error_text(&e));
                break;
            }
        }
    }
    facts
}
