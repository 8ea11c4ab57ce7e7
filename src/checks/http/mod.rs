//! HTTP targets and the kinds that probe them.

pub mod health;
pub mod rate_limit;
pub mod request;
pub mod security_headers;
pub mod tls;
pub mod webhook_signature;

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::outcome::{CheckError, Cut};
use super::params::HttpUrl;
use crate::target::HttpTarget;

/// A response body in a finding's evidence is shown up to 1 KiB, once its secrets are masked.
pub const BODY_CUT: Cut = Cut::Evidence("body", 1024);

/// One client per target: base URL, default headers (secret values), TLS settings.
pub struct HttpHandle {
    pub client: reqwest::Client,
    /// The same client settings without following redirects, for probes that judge the
    /// redirect itself (`security_headers` → `https_redirect`).
    pub no_redirect: reqwest::Client,
    pub base_url: Option<url::Url>,
    pub insecure_tls: bool,
}

impl HttpHandle {
    pub fn for_target(target: &HttpTarget, timeout: Duration) -> Result<HttpHandle, CheckError> {
        let mut headers = HeaderMap::new();
        for (name, value) in &target.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| CheckError::new(format!("invalid header name `{name}`")))?;
            let mut value = HeaderValue::from_str(value).map_err(|_| {
                CheckError::new(format!(
                    "the value of header `{name}` is not a valid header value"
                ))
            })?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let build = |redirects: reqwest::redirect::Policy| {
            builder(timeout)
                .default_headers(headers.clone())
                .danger_accept_invalid_certs(target.insecure_tls)
                .redirect(redirects)
                .build()
                .map_err(|e| {
                    CheckError::new(format!("cannot build HTTP client: {}", error_text(&e)))
                })
        };
        Ok(HttpHandle {
            client: build(reqwest::redirect::Policy::default())?,
            no_redirect: build(reqwest::redirect::Policy::none())?,
            base_url: Some(target.base_url.clone()),
            insecure_tls: target.insecure_tls,
        })
    }

    /// For checks that give a full `url:` and name no target.
    pub fn standalone(timeout: Duration) -> Result<HttpHandle, CheckError> {
        let build = |redirects: reqwest::redirect::Policy| {
            builder(timeout).redirect(redirects).build().map_err(|e| {
                CheckError::new(format!("cannot build HTTP client: {}", error_text(&e)))
            })
        };
        Ok(HttpHandle {
            client: build(reqwest::redirect::Policy::default())?,
            no_redirect: build(reqwest::redirect::Policy::none())?,
            base_url: None,
            insecure_tls: false,
        })
    }

    /// The URL a check addresses: its own `url`, or its `path` joined onto the target's base.
    pub fn resolve(
        &self,
        path: Option<&str>,
        url: Option<&HttpUrl>,
    ) -> Result<url::Url, CheckError> {
        if let Some(HttpUrl(url)) = url {
            return Ok(url.clone());
        }
        let base = self.base_url.as_ref().ok_or_else(|| {
            CheckError::new("no `url` given and the check has no HTTP target to join `path` onto")
        })?;
        let path = path.unwrap_or("");
        // Join as a path under the base: `/v1/` + `health` and `/v1` + `/health` both give
        // `/v1/health`, which is what people mean when the base URL has a path.
        let mut joined = base.clone();
        let (path_part, query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        let base_path = base.path().trim_end_matches('/');
        let tail = path_part.trim_start_matches('/');
        joined.set_path(&format!("{base_path}/{tail}"));
        if query.is_some() {
            joined.set_query(query);
        }
        Ok(joined)
    }
}

/// A request with the check's own headers on top of the target's.
pub fn request(
    client: &reqwest::Client,
    method: &reqwest::Method,
    url: &url::Url,
    headers: &std::collections::BTreeMap<String, String>,
) -> reqwest::RequestBuilder {
    let mut request = client.request(method.clone(), url.clone());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request
}

/// At most this much of a response body is read: enough to parse JSON and quote evidence, and
/// memory stays flat whatever the server sends.
pub const BODY_CAP_BYTES: usize = 1 << 20;
/// `BODY_CAP_BYTES` in words.
pub const BODY_CAP_TEXT: &str = "1 MiB";

/// A response body, read up to `BODY_CAP_BYTES`.
pub struct Body {
    pub text: String,
    /// False when the server sent more than the cap and the rest was not read.
    pub complete: bool,
}

/// Reads a body as a stream and stops at `BODY_CAP_BYTES`.
pub async fn read_body(mut response: reqwest::Response) -> Result<Body, reqwest::Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = BODY_CAP_BYTES - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            return Ok(Body {
                text: String::from_utf8_lossy(&bytes).into_owned(),
                complete: false,
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Body {
        text: String::from_utf8_lossy(&bytes).into_owned(),
        complete: true,
    })
}

/// `GET /health`, the subject of findings about one endpoint.
pub fn subject(method: &reqwest::Method, url: &url::Url) -> String {
    format!("{} {}", method.as_str(), url.path())
}

fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!("ready/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        .pool_max_idle_per_host(64)
}

/// A reqwest error without the URL (it may carry credentials) and with its causes, which hold
/// the useful part ("connection refused", "certificate has expired").
pub fn error_text(e: &reqwest::Error) -> String {
    if let Some(problem) = certificate_rejection(e) {
        return format!("cannot connect: {problem}");
    }
    let mut text = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        String::new()
    };
    let mut source = std::error::Error::source(e);
    let mut seen = Vec::new();
    while let Some(s) = source {
        let part = s.to_string();
        if !part.is_empty() && !seen.contains(&part) && !part.contains("://") {
            seen.push(part);
        }
        source = s.source();
    }
    if let Some(last) = seen.last() {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(last);
    }
    if text.is_empty() {
        let own = e.to_string();
        text = own
            .split(" for url (")
            .next()
            .unwrap_or_default()
            .to_string();
    }
    text
}

/// The TLS verifier's rejection anywhere in the error's causes, in words: rustls' own text is
/// its internal names (`invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))`).
fn certificate_rejection(e: &reqwest::Error) -> Option<String> {
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if let Some((_, debug)) = text.split_once("invalid peer certificate: ") {
            return Some(tls::verdict::certificate_problem_named(debug).to_string());
        }
        source = cause.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle(base: &str) -> HttpHandle {
        HttpHandle {
            client: reqwest::Client::new(),
            no_redirect: reqwest::Client::new(),
            base_url: Some(url::Url::parse(base).unwrap()),
            insecure_tls: false,
        }
    }

    #[test]
    fn paths_join_under_the_base_path() {
        for (base, path, expected) in [
            ("http://h/", "/health", "http://h/health"),
            ("http://h/v1", "health", "http://h/v1/health"),
            (
                "http://h/v1/",
                "/functions/x?probe=1",
                "http://h/v1/functions/x?probe=1",
            ),
        ] {
            assert_eq!(
                handle(base).resolve(Some(path), None).unwrap().as_str(),
                expected
            );
        }
    }
}
