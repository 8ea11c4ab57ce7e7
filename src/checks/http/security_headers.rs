//! `security_headers`: the response headers that protect browsers (HSTS, nosniff, framing, CSP,
//! cookie flags, CORS with credentials) and the redirect from `http://` to `https://`, with a
//! 0–100 score in the manner of the HTTP Observatory (penalties per weakness).

use std::collections::BTreeMap;

use reqwest::header::HeaderMap;
use serde::Deserialize;

use super::{HttpHandle, error_text, request, subject};
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::params::{HttpMethod, HttpUrl};
use crate::checks::{Ctx, KindSpec};
use crate::model::TargetFamily;

/// HSTS must ask for at least 180 days.
pub const MIN_HSTS_MAX_AGE: u64 = 15_552_000;
/// An origin no real deployment allows: reflecting it means reflecting any origin.
pub const PROBE_ORIGIN: &str = "https://ready-probe.invalid";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    HttpsRedirect,
    Hsts,
    ContentTypeOptions,
    Framing,
    Csp,
    Cookies,
    Cors,
}

impl Rule {
    pub const ALL: [Rule; 7] = [
        Rule::HttpsRedirect,
        Rule::Hsts,
        Rule::ContentTypeOptions,
        Rule::Framing,
        Rule::Csp,
        Rule::Cookies,
        Rule::Cors,
    ];
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityHeadersParams {
    pub path: Option<String>,
    pub url: Option<HttpUrl>,
    #[serde(default)]
    pub method: HttpMethod,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Default: every rule.
    pub rules: Option<Vec<Rule>>,
    /// Origins that may be reflected with credentials.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

/// Findings with the score penalty each one costs.
struct Scored {
    findings: Vec<Finding>,
    penalty: u32,
}

impl Scored {
    fn add(&mut self, penalty: u32, finding: Finding) {
        self.penalty += penalty;
        self.findings.push(finding);
    }
}

fn value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .map(|v| v.to_str().unwrap_or("\u{fffd}").trim())
}

/// The sources of one CSP directive (`script-src`, falling back to `default-src`).
fn csp_directive<'a>(policy: &'a str, name: &str) -> Option<Vec<&'a str>> {
    policy.split(';').find_map(|d| {
        let mut parts = d.split_whitespace();
        parts
            .next()
            .filter(|n| n.eq_ignore_ascii_case(name))
            .map(|_| parts.collect())
    })
}

fn check_headers(
    rules: &[Rule],
    headers: &HeaderMap,
    allowed_origins: &[String],
    scored: &mut Scored,
) {
    let csp = value(headers, "content-security-policy");
    for rule in rules {
        match rule {
            Rule::HttpsRedirect => {}
            Rule::Hsts => match value(headers, "strict-transport-security") {
                None => scored.add(
                    20,
                    Finding::fail(
                        "Strict-Transport-Security",
                        "Strict-Transport-Security is missing: browsers may reach the site over \
                         plain http",
                    ),
                ),
                Some(hsts) => {
                    let max_age = hsts.split(';').find_map(|p| {
                        let (k, v) = p.trim().split_once('=')?;
                        k.trim()
                            .eq_ignore_ascii_case("max-age")
                            .then(|| v.trim().trim_matches('"').parse::<u64>().ok())?
                    });
                    match max_age {
                        None => scored.add(
                            20,
                            Finding::fail(
                                "Strict-Transport-Security",
                                format!(
                                    "Strict-Transport-Security \"{hsts}\" has no valid max-age"
                                ),
                            ),
                        ),
                        Some(age) if age < MIN_HSTS_MAX_AGE => scored.add(
                            10,
                            Finding::fail(
                                "Strict-Transport-Security",
                                format!(
                                    "Strict-Transport-Security max-age={age} is under \
                                     {MIN_HSTS_MAX_AGE} (180 days)"
                                ),
                            ),
                        ),
                        Some(_) => {}
                    }
                }
            },
            Rule::ContentTypeOptions => match value(headers, "x-content-type-options") {
                Some(v) if v.eq_ignore_ascii_case("nosniff") => {}
                Some(v) => scored.add(
                    5,
                    Finding::fail(
                        "X-Content-Type-Options",
                        format!("X-Content-Type-Options is \"{v}\", expected nosniff"),
                    ),
                ),
                None => scored.add(
                    5,
                    Finding::fail(
                        "X-Content-Type-Options",
                        "X-Content-Type-Options: nosniff is missing",
                    ),
                ),
            },
            Rule::Framing => {
                let ancestors = csp.and_then(|p| csp_directive(p, "frame-ancestors"));
                let xfo = value(headers, "x-frame-options");
                let xfo_ok = xfo.is_some_and(|v| {
                    v.eq_ignore_ascii_case("deny") || v.eq_ignore_ascii_case("sameorigin")
                });
                if ancestors.is_none() && !xfo_ok {
                    let message = match xfo {
                        Some(v) => format!(
                            "X-Frame-Options is \"{v}\" (expected DENY or SAMEORIGIN) and the CSP \
                             has no frame-ancestors: the page can be framed (clickjacking)"
                        ),
                        None => "neither X-Frame-Options nor CSP frame-ancestors is set: the page \
                                 can be framed (clickjacking)"
                            .to_string(),
                    };
                    scored.add(20, Finding::fail("framing", message));
                }
            }
            Rule::Csp => match csp {
                None => {
                    let report_only = value(headers, "content-security-policy-report-only")
                        .map(|_| " (only Content-Security-Policy-Report-Only, which enforces nothing)")
                        .unwrap_or("");
                    scored.add(
                        25,
                        Finding::fail(
                            "Content-Security-Policy",
                            format!("Content-Security-Policy is missing{report_only}"),
                        ),
                    );
                }
                Some(policy) => {
                    let scripts = csp_directive(policy, "script-src")
                        .or_else(|| csp_directive(policy, "default-src"));
                    if scripts.is_some_and(|s| {
                        s.iter().any(|v| v.eq_ignore_ascii_case("'unsafe-inline'"))
                    }) {
                        scored.add(
                            10,
                            Finding::warn(
                                "Content-Security-Policy",
                                "the CSP allows 'unsafe-inline' scripts: it does not stop injected \
                                 inline scripts (XSS)",
                            ),
                        );
                    }
                }
            },
            Rule::Cookies => {
                let mut lacks_secure = false;
                let mut lacks_http_only = false;
                let mut lacks_same_site = false;
                for cookie in headers.get_all("set-cookie") {
                    let text = cookie.to_str().unwrap_or("");
                    let mut parts = text.split(';').map(str::trim);
                    let name = parts
                        .next()
                        .and_then(|p| p.split_once('='))
                        .map_or("?", |(n, _)| n.trim());
                    let attributes: Vec<String> = parts.map(|a| a.to_ascii_lowercase()).collect();
                    let has = |a: &str| {
                        attributes
                            .iter()
                            .any(|x| x == a || x.starts_with(&format!("{a}=")))
                    };
                    let mut missing = Vec::new();
                    if !has("secure") {
                        missing.push("Secure");
                        lacks_secure = true;
                    }
                    if !has("httponly") {
                        missing.push("HttpOnly");
                        lacks_http_only = true;
                    }
                    if !has("samesite") {
                        missing.push("SameSite");
                        lacks_same_site = true;
                    }
                    if !missing.is_empty() {
                        scored.findings.push(Finding::fail(
                            format!("cookie {name}"),
                            format!("cookie {name} is set without {}", missing.join(", ")),
                        ));
                    }
                }
                scored.penalty += 20 * u32::from(lacks_secure)
                    + 10 * u32::from(lacks_http_only)
                    + 5 * u32::from(lacks_same_site);
            }
            Rule::Cors => {
                let allow_origin = value(headers, "access-control-allow-origin");
                let credentials = value(headers, "access-control-allow-credentials")
                    .is_some_and(|v| v.eq_ignore_ascii_case("true"));
                let allowed = allowed_origins.iter().any(|o| o == PROBE_ORIGIN);
                match allow_origin {
                    Some("*") if credentials => scored.add(
                        50,
                        Finding::fail(
                            "CORS",
                            "Access-Control-Allow-Origin: * comes with \
                             Access-Control-Allow-Credentials: true",
                        ),
                    ),
                    Some(origin) if origin == PROBE_ORIGIN && !allowed && credentials => scored
                        .add(
                            50,
                            Finding::fail(
                                "CORS",
                                format!(
                                    "the foreign Origin {PROBE_ORIGIN} is reflected with \
                                 Access-Control-Allow-Credentials: true: any site can read \
                                 responses with the user's credentials"
                                ),
                            ),
                        ),
                    Some(origin) if origin == PROBE_ORIGIN && !allowed => scored.add(
                        10,
                        Finding::warn(
                            "CORS",
                            format!(
                                "the foreign Origin {PROBE_ORIGIN} is reflected in \
                                 Access-Control-Allow-Origin (without credentials)"
                            ),
                        ),
                    ),
                    _ => {}
                }
            }
        }
    }
}

impl KindSpec for SecurityHeadersParams {
    fn family(&self) -> Option<TargetFamily> {
        Some(TargetFamily::Http)
    }

    fn is_network(&self) -> bool {
        true
    }

    fn needs_target(&self) -> bool {
        self.url.is_none()
    }
}

pub async fn run(params: &SecurityHeadersParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let http = ctx.http()?;
    let url = http.resolve(params.path.as_deref(), params.url.as_ref())?;
    let method = params.method.0.clone();
    let subject = subject(&method, &url);
    let mut rules = params.rules.clone().unwrap_or_else(|| Rule::ALL.to_vec());
    rules.sort();
    rules.dedup();

    let mut scored = Scored {
        findings: Vec::new(),
        penalty: 0,
    };
    if rules.contains(&Rule::HttpsRedirect) {
        https_redirect(http, &method, &url, params, &mut scored).await?;
    }
    // The headers of the page the address finally leads to (redirects followed).
    let mut answered = None;
    if rules.iter().any(|r| *r != Rule::HttpsRedirect) {
        let mut main = request(&http.client, &method, &url, &params.headers);
        if rules.contains(&Rule::Cors) {
            main = main.header("origin", PROBE_ORIGIN);
        }
        let response = main
            .send()
            .await
            .map_err(|e| CheckError::new(format!("{subject}: {}", error_text(&e))))?;
        answered = Some((
            response.status().as_u16(),
            response.url().scheme().to_string(),
        ));
        check_headers(
            &rules,
            response.headers(),
            &params.allowed_origins,
            &mut scored,
        );
    }

    let score = 100u32.saturating_sub(scored.penalty);
    let mut obs = Observation {
        findings: scored.findings,
        ..Observation::default()
    };
    obs.measure("header_score", f64::from(score));
    let answered = answered
        .map(|(status, scheme)| format!(" answered {status} over {scheme};"))
        .unwrap_or_default();
    obs.summary = Some(format!(
        "{subject}{answered} {} rules checked, header score {score}/100",
        rules.len(),
    ));
    Ok(obs)
}

/// The `http://` form of the address must redirect to an `https://` URL.
async fn https_redirect(
    http: &HttpHandle,
    method: &reqwest::Method,
    url: &url::Url,
    params: &SecurityHeadersParams,
    scored: &mut Scored,
) -> Result<(), CheckError> {
    let mut plain = url.clone();
    if plain.scheme() == "https" {
        // The plain-http service listens on the default port whatever the https port is.
        let _ = plain.set_scheme("http");
        let _ = plain.set_port(None);
    }
    let shown = crate::redact::redact_url(plain.as_str());
    let response = match request(&http.no_redirect, method, &plain, &params.headers)
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) if e.is_connect() => {
            // Nothing answers plain http: there is no insecure page to be redirected from.
            scored.findings.push(Finding::warn(
                "https redirect",
                format!(
                    "{shown} does not answer ({}): no redirect to check",
                    error_text(&e)
                ),
            ));
            return Ok(());
        }
        Err(e) => return Err(CheckError::new(format!("{shown}: {}", error_text(&e)))),
    };
    let status = response.status().as_u16();
    let location = value(response.headers(), "location").map(str::to_string);
    let target = location
        .as_deref()
        .and_then(|l| plain.join(l).ok())
        .map(|u| u.scheme().to_string());
    match (response.status().is_redirection(), target.as_deref()) {
        (true, Some("https")) => {}
        (true, _) => scored.add(
            20,
            Finding::fail(
                "https redirect",
                format!(
                    "{shown} redirects ({status}) to {} instead of an https:// URL",
                    location
                        .as_deref()
                        .unwrap_or("nowhere (no Location header)")
                ),
            ),
        ),
        (false, _) => scored.add(
            20,
            Finding::fail(
                "https redirect",
                format!("{shown} answered {status} instead of redirecting to https://"),
            ),
        ),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_directives() {
        let p = "default-src 'self'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'";
        assert_eq!(
            csp_directive(p, "script-src").unwrap(),
            ["'self'", "'unsafe-inline'"]
        );
        assert_eq!(csp_directive(p, "frame-ancestors").unwrap(), ["'none'"]);
        assert!(csp_directive(p, "img-src").is_none());
    }
}
