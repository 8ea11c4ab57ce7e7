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
use crate::target::TargetFamily;

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

/// Every enforced policy: browsers apply each `Content-Security-Policy` header, and each
/// comma-separated policy within one.
fn policies(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all("content-security-policy")
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("").split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
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

/// A source list that lets any site in: `*` or a bare scheme.
fn allows_any_site(sources: &[&str]) -> bool {
    sources
        .iter()
        .any(|s| matches!(s.to_ascii_lowercase().as_str(), "*" | "https:" | "http:"))
}

/// Browsers ignore `'unsafe-inline'` in a source list that also has a nonce or a hash.
fn allows_inline_scripts(sources: &[&str]) -> bool {
    let lower: Vec<String> = sources.iter().map(|s| s.to_ascii_lowercase()).collect();
    let nonce_or_hash = lower.iter().any(|s| {
        ["'nonce-", "'sha256-", "'sha384-", "'sha512-"]
            .iter()
            .any(|p| s.starts_with(p))
    });
    lower.iter().any(|s| s == "'unsafe-inline'") && !nonce_or_hash
}

/// The sources a directive has in each policy that sets it: a content is allowed only when
/// every one of them allows it.
fn directives<'a>(policies: &[&'a str], names: &[&str]) -> Vec<Vec<&'a str>> {
    policies
        .iter()
        .filter_map(|p| names.iter().find_map(|n| csp_directive(p, n)))
        .collect()
}

/// Each header rule in turn, over the headers of the page the address leads to.
fn check_headers(
    rules: &[Rule],
    headers: &HeaderMap,
    allowed_origins: &[String],
    scored: &mut Scored,
) {
    for rule in rules {
        match rule {
            // Judged from the plain-http probe, not from these headers.
            Rule::HttpsRedirect => {}
            Rule::Hsts => hsts(headers, scored),
            Rule::ContentTypeOptions => content_type_options(headers, scored),
            Rule::Framing => framing(headers, scored),
            Rule::Csp => csp(headers, scored),
            Rule::Cookies => cookies(headers, scored),
            Rule::Cors => cors(headers, allowed_origins, scored),
        }
    }
}

fn hsts(headers: &HeaderMap, scored: &mut Scored) {
    const NAME: &str = "Strict-Transport-Security";
    let Some(hsts) = value(headers, "strict-transport-security") else {
        scored.add(
            20,
            Finding::fail(
                NAME,
                "Strict-Transport-Security is missing: browsers may reach the site over plain \
                 http",
            ),
        );
        return;
    };
    let max_age = hsts.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("max-age")
            .then(|| v.trim().trim_matches('"').parse::<u64>().ok())?
    });
    match max_age {
        Some(0) => scored.add(
            20,
            Finding::fail(
                NAME,
                "Strict-Transport-Security max-age=0 deletes HSTS: browsers may reach the site \
                 over plain http",
            ),
        ),
        None => scored.add(
            20,
            Finding::fail(
                NAME,
                format!("Strict-Transport-Security \"{hsts}\" has no valid max-age"),
            ),
        ),
        Some(age) if age < MIN_HSTS_MAX_AGE => scored.add(
            10,
            Finding::fail(
                NAME,
                format!(
                    "Strict-Transport-Security max-age={age} is under {MIN_HSTS_MAX_AGE} (180 \
                     days)"
                ),
            ),
        ),
        Some(_) => {}
    }
}

fn content_type_options(headers: &HeaderMap, scored: &mut Scored) {
    const NAME: &str = "X-Content-Type-Options";
    match value(headers, "x-content-type-options") {
        Some(v) if v.eq_ignore_ascii_case("nosniff") => {}
        Some(v) => scored.add(
            5,
            Finding::fail(
                NAME,
                format!("X-Content-Type-Options is \"{v}\", expected nosniff"),
            ),
        ),
        None => scored.add(
            5,
            Finding::fail(NAME, "X-Content-Type-Options: nosniff is missing"),
        ),
    }
}

/// Either CSP `frame-ancestors` or `X-Frame-Options: DENY | SAMEORIGIN` stops clickjacking;
/// browsers ignore X-Frame-Options when a CSP sets frame-ancestors.
fn framing(headers: &HeaderMap, scored: &mut Scored) {
    let ancestors = directives(&policies(headers), &["frame-ancestors"]);
    if !ancestors.is_empty() {
        if ancestors.iter().all(|a| allows_any_site(a)) {
            let sources = ancestors[0].join(" ");
            let message = format!(
                "the CSP's frame-ancestors {sources} lets any site frame the page (clickjacking)"
            );
            scored.add(20, Finding::fail("framing", message));
        }
        return;
    }
    let xfo = value(headers, "x-frame-options");
    if xfo.is_some_and(|v| v.eq_ignore_ascii_case("deny") || v.eq_ignore_ascii_case("sameorigin")) {
        return;
    }
    let message = match xfo {
        Some(v) => format!(
            "X-Frame-Options is \"{v}\" (expected DENY or SAMEORIGIN) and the CSP has no \
             frame-ancestors: the page can be framed (clickjacking)"
        ),
        None => "neither X-Frame-Options nor CSP frame-ancestors is set: the page can be framed \
                 (clickjacking)"
            .to_string(),
    };
    scored.add(20, Finding::fail("framing", message));
}

fn csp(headers: &HeaderMap, scored: &mut Scored) {
    const NAME: &str = "Content-Security-Policy";
    let policies = policies(headers);
    if policies.is_empty() {
        let report_only = value(headers, "content-security-policy-report-only")
            .map(|_| " (only Content-Security-Policy-Report-Only, which enforces nothing)")
            .unwrap_or("");
        scored.add(
            25,
            Finding::fail(
                NAME,
                format!("Content-Security-Policy is missing{report_only}"),
            ),
        );
        return;
    }
    let scripts = directives(&policies, &["script-src", "default-src"]);
    if !scripts.is_empty() && scripts.iter().all(|s| allows_inline_scripts(s)) {
        scored.add(
            10,
            Finding::warn(
                NAME,
                "the CSP allows 'unsafe-inline' scripts: it does not stop injected inline \
                 scripts (XSS)",
            ),
        );
    }
    let defaults = directives(&policies, &["default-src"]);
    if !defaults.is_empty() && defaults.iter().all(|d| allows_any_site(d)) {
        let sources = defaults[0].join(" ");
        scored.add(
            10,
            Finding::warn(
                NAME,
                format!(
                    "the CSP's default-src {sources} allows content from any site: list the \
                     sources the page needs"
                ),
            ),
        );
    }
}

/// One finding per cookie missing a flag; each missing flag costs its penalty once.
fn cookies(headers: &HeaderMap, scored: &mut Scored) {
    let mut lacking = [
        ("Secure", 20, false),
        ("HttpOnly", 10, false),
        ("SameSite", 5, false),
    ];
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
        for (flag, _, lacks) in &mut lacking {
            if !has(&flag.to_ascii_lowercase()) {
                missing.push(*flag);
                *lacks = true;
            }
        }
        if !missing.is_empty() {
            scored.findings.push(Finding::fail(
                format!("cookie {name}"),
                format!("cookie {name} is set without {}", missing.join(", ")),
            ));
        }
    }
    for (_, penalty, lacks) in lacking {
        scored.penalty += penalty * u32::from(lacks);
    }
}

/// Credentials must never go with a wildcard or with a reflected foreign origin.
fn cors(headers: &HeaderMap, allowed_origins: &[String], scored: &mut Scored) {
    let allow_origin = value(headers, "access-control-allow-origin");
    let credentials = value(headers, "access-control-allow-credentials")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let reflected =
        allow_origin == Some(PROBE_ORIGIN) && !allowed_origins.iter().any(|o| o == PROBE_ORIGIN);
    if allow_origin == Some("*") && credentials {
        scored.add(
            50,
            Finding::fail(
                "CORS",
                "Access-Control-Allow-Origin: * comes with Access-Control-Allow-Credentials: true",
            ),
        );
    } else if reflected && credentials {
        scored.add(
            50,
            Finding::fail(
                "CORS",
                format!(
                    "the foreign Origin {PROBE_ORIGIN} is reflected with \
                     Access-Control-Allow-Credentials: true: any site can read responses with \
                     the user's credentials"
                ),
            ),
        );
    } else if reflected {
        scored.add(
            10,
            Finding::warn(
                "CORS",
                format!(
                    "the foreign Origin {PROBE_ORIGIN} is reflected in \
                     Access-Control-Allow-Origin (without credentials)"
                ),
            ),
        );
    }
}

impl KindSpec for SecurityHeadersParams {
    fn family(&self) -> Option<TargetFamily> {
        Some(TargetFamily::Http)
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
        let plain = probe_plain_http(http, &method, &url, params).await?;
        https_redirect(&plain, &mut scored);
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

/// What the `http://` form of the address answered, without following redirects.
#[derive(Debug, PartialEq)]
enum PlainHttp {
    /// Nothing listens for plain http.
    NoAnswer { shown: String, error: String },
    Answered {
        shown: String,
        status: u16,
        location: Option<String>,
        /// The scheme the `Location` leads to, resolved against the address.
        leads_to: Option<String>,
    },
}

async fn probe_plain_http(
    http: &HttpHandle,
    method: &reqwest::Method,
    url: &url::Url,
    params: &SecurityHeadersParams,
) -> Result<PlainHttp, CheckError> {
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
            let error = error_text(&e);
            return Ok(PlainHttp::NoAnswer { shown, error });
        }
        Err(e) => return Err(CheckError::new(format!("{shown}: {}", error_text(&e)))),
    };
    let location = value(response.headers(), "location").map(str::to_string);
    let leads_to = location
        .as_deref()
        .and_then(|l| plain.join(l).ok())
        .map(|u| u.scheme().to_string());
    Ok(PlainHttp::Answered {
        shown,
        status: response.status().as_u16(),
        location,
        leads_to,
    })
}

/// The `http://` form of the address must redirect to an `https://` URL.
fn https_redirect(plain: &PlainHttp, scored: &mut Scored) {
    let (shown, status, location, leads_to) = match plain {
        PlainHttp::NoAnswer { shown, error } => {
            // There is no insecure page to be redirected from.
            scored.findings.push(Finding::warn(
                "https redirect",
                format!("{shown} does not answer ({error}): no redirect to check"),
            ));
            return;
        }
        PlainHttp::Answered {
            shown,
            status,
            location,
            leads_to,
        } => (shown, *status, location, leads_to),
    };
    let message = match ((300..400).contains(&status), leads_to.as_deref()) {
        (true, Some("https")) => return,
        (true, _) => format!(
            "{shown} redirects ({status}) to {} instead of an https:// URL",
            location
                .as_deref()
                .unwrap_or("nowhere (no Location header)")
        ),
        (false, _) => format!("{shown} answered {status} instead of redirecting to https://"),
    };
    scored.add(20, Finding::fail("https redirect", message));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Level;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn scored(rule: Rule, pairs: &[(&'static str, &'static str)]) -> Scored {
        let mut scored = Scored {
            findings: Vec::new(),
            penalty: 0,
        };
        check_headers(&[rule], &headers(pairs), &[], &mut scored);
        scored
    }

    const STRONG: &[(&str, &str)] = &[
        (
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        ),
        ("x-content-type-options", "nosniff"),
        (
            "content-security-policy",
            "default-src 'self'; frame-ancestors 'none'",
        ),
        ("set-cookie", "sid=1; Secure; HttpOnly; SameSite=Lax"),
        ("access-control-allow-origin", "https://app.example.com"),
    ];

    #[test]
    fn strong_headers_cost_nothing() {
        let mut all = Scored {
            findings: Vec::new(),
            penalty: 0,
        };
        check_headers(&Rule::ALL, &headers(STRONG), &[], &mut all);
        assert!(all.findings.is_empty(), "{:?}", all.findings);
        assert_eq!(all.penalty, 0);
    }

    #[test]
    fn hsts_needs_a_long_enough_max_age() {
        assert_eq!(scored(Rule::Hsts, &[]).penalty, 20);
        let short = scored(Rule::Hsts, &[("strict-transport-security", "max-age=600")]);
        assert_eq!(short.penalty, 10);
        assert_eq!(
            short.findings[0].message,
            "Strict-Transport-Security max-age=600 is under 15552000 (180 days)"
        );
        let junk = scored(Rule::Hsts, &[("strict-transport-security", "max-age=soon")]);
        assert!(junk.findings[0].message.ends_with("has no valid max-age"));
        let zero = scored(Rule::Hsts, &[("strict-transport-security", "max-age=0")]);
        assert_eq!(zero.penalty, 20);
        assert_eq!(
            zero.findings[0].message,
            "Strict-Transport-Security max-age=0 deletes HSTS: browsers may reach the site over plain http"
        );
    }

    #[test]
    fn every_csp_header_is_enforced() {
        let two = [
            ("content-security-policy", "default-src 'self'"),
            ("content-security-policy", "frame-ancestors 'none'"),
        ];
        assert_eq!(scored(Rule::Framing, &two).penalty, 0);
        let one_header = [(
            "content-security-policy",
            "default-src 'self', frame-ancestors 'none'",
        )];
        assert_eq!(scored(Rule::Framing, &one_header).penalty, 0);
        // Inline scripts run only when every policy allows them.
        let inline = [
            ("content-security-policy", "script-src 'unsafe-inline'"),
            ("content-security-policy", "script-src 'self'"),
        ];
        assert_eq!(scored(Rule::Csp, &inline).penalty, 0);
    }

    #[test]
    fn frame_ancestors_star_allows_any_site() {
        let any = scored(
            Rule::Framing,
            &[
                ("content-security-policy", "frame-ancestors *"),
                ("x-frame-options", "DENY"),
            ],
        );
        assert_eq!(any.penalty, 20);
        assert_eq!(
            any.findings[0].message,
            "the CSP's frame-ancestors * lets any site frame the page (clickjacking)"
        );
    }

    #[test]
    fn framing_is_stopped_by_either_header() {
        assert_eq!(
            scored(Rule::Framing, &[("x-frame-options", "DENY")]).penalty,
            0
        );
        let allow = scored(Rule::Framing, &[("x-frame-options", "ALLOWALL")]);
        assert_eq!(allow.penalty, 20);
        assert!(
            allow.findings[0]
                .message
                .starts_with("X-Frame-Options is \"ALLOWALL\"")
        );
    }

    #[test]
    fn csp_report_only_and_unsafe_inline() {
        let report_only = scored(
            Rule::Csp,
            &[("content-security-policy-report-only", "default-src 'self'")],
        );
        assert_eq!(report_only.penalty, 25);
        assert!(report_only.findings[0].message.contains("Report-Only"));
        let inline = scored(
            Rule::Csp,
            &[(
                "content-security-policy",
                "script-src 'self' 'unsafe-inline'",
            )],
        );
        assert_eq!(
            (inline.penalty, inline.findings[0].level),
            (10, Level::Warn)
        );
        for policy in [
            "script-src 'self' 'nonce-r4nd0m' 'unsafe-inline'",
            "script-src 'self' 'sha256-abc=' 'unsafe-inline'",
        ] {
            let with_nonce = scored(Rule::Csp, &[("content-security-policy", policy)]);
            assert_eq!(with_nonce.penalty, 0, "{policy}");
        }
    }

    #[test]
    fn default_src_star_warns() {
        let any = scored(
            Rule::Csp,
            &[(
                "content-security-policy",
                "default-src *; script-src 'self'",
            )],
        );
        assert_eq!((any.penalty, any.findings[0].level), (10, Level::Warn));
        assert_eq!(
            any.findings[0].message,
            "the CSP's default-src * allows content from any site: list the sources the page needs"
        );
    }

    #[test]
    fn each_missing_cookie_flag_costs_once() {
        let s = scored(
            Rule::Cookies,
            &[
                ("set-cookie", "a=1; Secure"),
                ("set-cookie", "b=2; secure; HttpOnly"),
            ],
        );
        let messages: Vec<&str> = s.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "cookie a is set without HttpOnly, SameSite",
                "cookie b is set without SameSite"
            ]
        );
        assert_eq!(s.penalty, 10 + 5);
    }

    #[test]
    fn cors_credentials_with_a_wildcard_or_a_reflected_origin_fail() {
        let wildcard = scored(
            Rule::Cors,
            &[
                ("access-control-allow-origin", "*"),
                ("access-control-allow-credentials", "true"),
            ],
        );
        assert_eq!(wildcard.penalty, 50);
        let reflected = scored(Rule::Cors, &[("access-control-allow-origin", PROBE_ORIGIN)]);
        assert_eq!(
            (reflected.penalty, reflected.findings[0].level),
            (10, Level::Warn)
        );
        let mut allowed = Scored {
            findings: Vec::new(),
            penalty: 0,
        };
        let h = headers(&[
            ("access-control-allow-origin", PROBE_ORIGIN),
            ("access-control-allow-credentials", "true"),
        ]);
        check_headers(&[Rule::Cors], &h, &[PROBE_ORIGIN.to_string()], &mut allowed);
        assert!(allowed.findings.is_empty());
    }

    #[test]
    fn the_plain_http_address_must_redirect_to_https() {
        let judge = |plain: PlainHttp| {
            let mut s = Scored {
                findings: Vec::new(),
                penalty: 0,
            };
            https_redirect(&plain, &mut s);
            s
        };
        let answered =
            |status, location: Option<&str>, leads_to: Option<&str>| PlainHttp::Answered {
                shown: "http://h/".into(),
                status,
                location: location.map(str::to_string),
                leads_to: leads_to.map(str::to_string),
            };
        assert!(
            judge(answered(301, Some("https://h/"), Some("https")))
                .findings
                .is_empty()
        );
        let to_http = judge(answered(302, Some("/login"), Some("http")));
        assert_eq!(
            to_http.findings[0].message,
            "http://h/ redirects (302) to /login instead of an https:// URL"
        );
        assert_eq!(to_http.penalty, 20);
        let served = judge(answered(200, None, None));
        assert_eq!(
            served.findings[0].message,
            "http://h/ answered 200 instead of redirecting to https://"
        );
        let silent = judge(PlainHttp::NoAnswer {
            shown: "http://h/".into(),
            error: "cannot connect".into(),
        });
        assert_eq!((silent.penalty, silent.findings[0].level), (0, Level::Warn));
    }

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
