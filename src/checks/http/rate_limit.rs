//! `rate_limit`: a bounded burst must be answered with 429 (not later than the configured limit
//! allows), with a valid `Retry-After` and at least one consistent family of rate-limit headers,
//! and the limit must lift again after `Retry-After`.
//!
//! The burst reuses connections (`concurrency` of them, each sending its next request as soon as
//! the previous one is answered) and stops at the first rejection: the point is to observe the
//! limiter, not to load the service.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use serde::{Deserialize, Deserializer, de};

use super::{HttpHandle, error_text, request, subject};
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::params::DurationParam;
use crate::checks::params::{HttpMethod, HttpUrl};
use crate::checks::{Ctx, KindSpec};
use crate::model::TargetFamily;
use crate::vocab::human;

/// The most requests one check may ever send (SPEC §6).
pub const HARD_CAP: u32 = 10_000;
const DEFAULT_MAX_REQUESTS: u32 = 500;
const MAX_CONCURRENCY: u32 = 256;

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitParams {
    pub path: Option<String>,
    pub url: Option<HttpUrl>,
    #[serde(default)]
    pub method: HttpMethod,
    /// Requests allowed per `window`; the first rejection must come by then (plus tolerance).
    pub limit: Option<u64>,
    pub window: Option<DurationParam>,
    /// Extra requests a token bucket may serve at once on top of `limit`.
    #[serde(default)]
    pub burst: u64,
    #[serde(default = "default_concurrency")]
    pub concurrency: Concurrency,
    #[serde(default)]
    pub max_requests: MaxRequests,
    #[serde(default = "too_many")]
    pub expect_status: u16,
    #[serde(default)]
    pub retry_after: RetryAfterRule,
    #[serde(default)]
    pub headers: HeadersParam,
    #[serde(default)]
    pub reset: bool,
    #[serde(default = "default_max_wait")]
    pub max_wait: DurationParam,
}

fn too_many() -> u16 {
    429
}
fn default_concurrency() -> Concurrency {
    Concurrency(32)
}
fn default_max_wait() -> DurationParam {
    DurationParam(Duration::from_secs(65))
}

/// Connections used for the burst: 1 to 256.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Concurrency(pub u32);

impl schemars::JsonSchema for Concurrency {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Concurrency".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "integer", "minimum": 1, "maximum": 256 })
    }
}

impl<'de> Deserialize<'de> for Concurrency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u32::deserialize(d)? {
            n @ 1..=MAX_CONCURRENCY => Ok(Concurrency(n)),
            n => Err(de::Error::custom(format!(
                "concurrency {n} is out of range: 1 to {MAX_CONCURRENCY}"
            ))),
        }
    }
}

/// The request budget: at most the hard cap of 10,000.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaxRequests(pub u32);

impl Default for MaxRequests {
    fn default() -> Self {
        MaxRequests(DEFAULT_MAX_REQUESTS)
    }
}

impl schemars::JsonSchema for MaxRequests {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "MaxRequests".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "integer", "minimum": 1, "maximum": 10000 })
    }
}

impl<'de> Deserialize<'de> for MaxRequests {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u32::deserialize(d)? {
            n @ 1..=HARD_CAP => Ok(MaxRequests(n)),
            n => Err(de::Error::custom(format!(
                "max_requests {n} is out of range: 1 to {HARD_CAP} (the hard cap)"
            ))),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RetryAfterRule {
    /// The rejection must carry a valid `Retry-After`.
    #[default]
    Required,
    /// When present it must be valid.
    Optional,
}

/// Which family of rate-limit headers must be present.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FamilyRule {
    #[default]
    Any,
    Ietf,
    Ratelimit,
    XRatelimit,
    None,
}

/// `headers:` is the family rule (`any`, `ietf`, `ratelimit`, `x-ratelimit`, `none`); a mapping
/// instead gives request headers to send (the family rule is then `any`).
#[derive(Debug, Clone, Default)]
pub struct HeadersParam {
    pub rule: FamilyRule,
    pub request: BTreeMap<String, String>,
}

impl schemars::JsonSchema for HeadersParam {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HeadersParam".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "description": "a header family rule, or request headers to send", "anyOf": [{ "enum": ["any", "ietf", "ratelimit", "x-ratelimit", "none"] }, { "type": "object", "additionalProperties": { "type": "string" } }] })
    }
}

impl<'de> Deserialize<'de> for HeadersParam {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Rule(String),
            Request(BTreeMap<String, String>),
        }
        match Form::deserialize(d)? {
            Form::Request(request) => Ok(HeadersParam {
                rule: FamilyRule::Any,
                request,
            }),
            Form::Rule(text) => {
                let rule = match text.as_str() {
                    "any" => FamilyRule::Any,
                    "ietf" => FamilyRule::Ietf,
                    "ratelimit" => FamilyRule::Ratelimit,
                    "x-ratelimit" => FamilyRule::XRatelimit,
                    "none" => FamilyRule::None,
                    other => {
                        return Err(de::Error::custom(format!(
                            "unknown header family `{other}`; expected one of: any, ietf, \
                             ratelimit, x-ratelimit, none (or a mapping of request headers)"
                        )));
                    }
                };
                Ok(HeadersParam {
                    rule,
                    request: BTreeMap::new(),
                })
            }
        }
    }
}

/// The three families of rate-limit headers in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Family {
    /// `RateLimit` / `RateLimit-Policy` structured fields (draft-ietf-httpapi-ratelimit-headers).
    Ietf,
    /// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (earlier drafts).
    Ratelimit,
    /// `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (GitHub, nginx modules, …).
    XRatelimit,
}

impl Family {
    const ALL: [Family; 3] = [Family::Ietf, Family::Ratelimit, Family::XRatelimit];

    fn name(self) -> &'static str {
        match self {
            Family::Ietf => "RateLimit/RateLimit-Policy",
            Family::Ratelimit => "RateLimit-Limit/-Remaining/-Reset",
            Family::XRatelimit => "X-RateLimit-Limit/-Remaining/-Reset",
        }
    }
}

/// What one response's headers of one family say.
#[derive(Debug, Clone, Default, PartialEq)]
struct FamilyValues {
    limit: Option<u64>,
    remaining: Option<u64>,
    /// The first header of the family that could not be parsed, and why.
    error: Option<String>,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"))
}

/// Leading whole number of a header value (`100`, `100, 100;w=60`).
fn leading_number(name: &str, value: &str) -> Result<u64, String> {
    let digits: String = value
        .trim()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .map_err(|_| format!("{name} \"{value}\" is not a number"))
}

/// Members of a structured-field list or dictionary: (bare item or key, value, parameters).
fn sf_members(value: &str) -> Vec<(String, Option<String>, BTreeMap<String, String>)> {
    let mut members = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut parts = Vec::new();
    for c in value.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    for part in parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let mut pieces = part.split(';').map(str::trim);
        let head = pieces.next().unwrap_or("");
        let params = pieces
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
            .collect();
        match head.split_once('=') {
            Some((key, val)) if !head.starts_with('"') => members.push((
                key.trim().to_string(),
                Some(val.trim().trim_matches('"').to_string()),
                params,
            )),
            _ => members.push((head.trim_matches('"').to_string(), None, params)),
        }
    }
    members
}

fn ietf_values(headers: &HeaderMap) -> Option<FamilyValues> {
    let policy = header(headers, "ratelimit-policy");
    let state = header(headers, "ratelimit");
    if policy.is_none() && state.is_none() {
        return None;
    }
    let mut values = FamilyValues::default();
    let number = |name: &str, text: &str| -> Result<u64, String> {
        text.parse()
            .map_err(|_| format!("{name} has a non-numeric value \"{text}\""))
    };
    if let Some(policy) = policy {
        // `"default";q=100;w=60` (draft 8+) or `100;w=60` (draft 7).
        let first = sf_members(policy).into_iter().next();
        let quota = first.as_ref().and_then(|(item, _, params)| {
            params
                .get("q")
                .cloned()
                .or_else(|| item.parse::<u64>().ok().map(|_| item.clone()))
        });
        match quota {
            Some(q) => match number("RateLimit-Policy", &q) {
                Ok(q) => values.limit = Some(q),
                Err(e) => values.error = Some(e),
            },
            None => {
                values.error = Some(format!(
                    "RateLimit-Policy \"{policy}\" has no quota (q=) to read"
                ))
            }
        }
    }
    if let Some(state) = state {
        // `"default";r=50;t=30` (draft 8+) or `limit=100, remaining=50, reset=30` (draft 7).
        let members = sf_members(state);
        let dict: BTreeMap<&str, &str> = members
            .iter()
            .filter_map(|(k, v, _)| Some((k.as_str(), v.as_deref()?)))
            .collect();
        let remaining = dict
            .get("remaining")
            .map(|s| s.to_string())
            .or_else(|| members.first().and_then(|(_, _, p)| p.get("r").cloned()));
        match remaining {
            Some(r) => match number("RateLimit", &r) {
                Ok(r) => values.remaining = Some(r),
                Err(e) => values.error = values.error.take().or(Some(e)),
            },
            None => {
                values.error = values.error.take().or(Some(format!(
                    "RateLimit \"{state}\" has no remaining count (r= or remaining=)"
                )))
            }
        }
        if values.limit.is_none()
            && let Some(limit) = dict.get("limit")
        {
            match number("RateLimit", limit) {
                Ok(l) => values.limit = Some(l),
                Err(e) => values.error = values.error.take().or(Some(e)),
            }
        }
    }
    Some(values)
}

fn split_values(headers: &HeaderMap, prefix: &str) -> Option<FamilyValues> {
    let limit = header(headers, &format!("{prefix}-limit"));
    let remaining = header(headers, &format!("{prefix}-remaining"));
    let reset = header(headers, &format!("{prefix}-reset"));
    if limit.is_none() && remaining.is_none() && reset.is_none() {
        return None;
    }
    let display = |suffix: &str| {
        if prefix.starts_with('x') {
            format!("X-RateLimit-{suffix}")
        } else {
            format!("RateLimit-{suffix}")
        }
    };
    let mut values = FamilyValues::default();
    let mut errors = Vec::new();
    match limit.map(|v| leading_number(&display("Limit"), v)) {
        Some(Ok(n)) => values.limit = Some(n),
        Some(Err(e)) => errors.push(e),
        None => errors.push(format!("{} is missing", display("Limit"))),
    }
    match remaining.map(|v| leading_number(&display("Remaining"), v)) {
        Some(Ok(n)) => values.remaining = Some(n),
        Some(Err(e)) => errors.push(e),
        None => errors.push(format!("{} is missing", display("Remaining"))),
    }
    if let Some(reset) = reset
        && reset.trim().parse::<f64>().map_or(true, |r| r < 0.0)
    {
        errors.push(format!(
            "{} \"{reset}\" is not a number of seconds",
            display("Reset")
        ));
    }
    values.error = errors.into_iter().next();
    Some(values)
}

fn family_values(headers: &HeaderMap) -> BTreeMap<Family, FamilyValues> {
    let mut out = BTreeMap::new();
    for family in Family::ALL {
        let values = match family {
            Family::Ietf => ietf_values(headers),
            Family::Ratelimit => split_values(headers, "ratelimit"),
            Family::XRatelimit => split_values(headers, "x-ratelimit"),
        };
        if let Some(v) = values {
            out.insert(family, v);
        }
    }
    out
}

/// `Retry-After`: delta-seconds or an HTTP-date; the number of seconds it asks to wait.
fn retry_after_seconds(value: &str) -> Result<f64, String> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Ok(seconds as f64);
    }
    match chrono::DateTime::parse_from_rfc2822(value) {
        Ok(date) => Ok(
            (date.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds() as f64
                / 1000.0,
        ),
        Err(_) => Err(format!(
            "Retry-After \"{value}\" is neither delta-seconds nor an HTTP-date"
        )),
    }
}

/// One answered request of the burst.
struct Answer {
    /// Position in sending order, from 0.
    seq: u32,
    status: u16,
    families: BTreeMap<Family, FamilyValues>,
    retry_after: Option<String>,
}

struct Burst {
    answers: Vec<Answer>,
    first_error: Option<(u32, String)>,
    /// Requests that got no answer (refused, reset, timed out).
    failed: u32,
    elapsed: Duration,
}

fn is_rejection(status: u16, expect: u16) -> bool {
    status == expect || status == 503
}

/// What the burst's workers share.
#[derive(Default)]
struct Shared {
    next: AtomicU32,
    stop: AtomicBool,
    /// Answers in the order they arrived, which is close to the order the server saw them.
    answers: Mutex<Vec<Answer>>,
    first_error: Mutex<Option<(u32, String)>>,
    failed: AtomicU32,
}

async fn burst(
    http: &HttpHandle,
    method: &reqwest::Method,
    url: &url::Url,
    params: &RateLimitParams,
    budget: u32,
) -> Burst {
    let shared = Arc::new(Shared::default());
    let started = Instant::now();
    // One task per connection: polled independently, and spread over the runtime's threads.
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..params.concurrency.0.min(budget).max(1) {
        let shared = shared.clone();
        let client = http.client.clone();
        let (method, url) = (method.clone(), url.clone());
        let headers = params.headers.request.clone();
        let expect = params.expect_status;
        workers.spawn(async move {
            while !shared.stop.load(Ordering::Relaxed) {
                let seq = shared.next.fetch_add(1, Ordering::Relaxed);
                if seq >= budget {
                    break;
                }
                match request(&client, &method, &url, &headers).send().await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let headers = response.headers();
                        let answer = Answer {
                            seq,
                            status,
                            families: family_values(headers),
                            retry_after: header(headers, "retry-after").map(str::to_string),
                        };
                        // Read the body so that the connection is reused.
                        let _ = response.bytes().await;
                        if is_rejection(status, expect) {
                            shared.stop.store(true, Ordering::Relaxed);
                        }
                        lock(&shared.answers).push(answer);
                    }
                    Err(e) => {
                        shared.stop.store(true, Ordering::Relaxed);
                        shared.failed.fetch_add(1, Ordering::Relaxed);
                        lock(&shared.first_error).get_or_insert((seq, error_text(&e)));
                    }
                }
            }
        });
    }
    while workers.join_next().await.is_some() {}
    let elapsed = started.elapsed();
    Burst {
        answers: std::mem::take(&mut *lock(&shared.answers)),
        first_error: lock(&shared.first_error).take(),
        failed: shared.failed.load(Ordering::Relaxed),
        elapsed,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl KindSpec for RateLimitParams {
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

pub async fn run(params: &RateLimitParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let http = ctx.http()?;
    let url = http.resolve(params.path.as_deref(), params.url.as_ref())?;
    let method = params.method.0.clone();
    let subject = subject(&method, &url);
    let expect = params.expect_status;
    let allowance = params.limit.map(|l| l + params.burst);
    let budget = match allowance {
        Some(a) => (2 * a + 1).min(u64::from(params.max_requests.0)) as u32,
        None => params.max_requests.0,
    };

    let burst = burst(http, &method, &url, params, budget).await;
    let mut obs = Observation::default();
    let sent = burst.answers.len() as u32 + burst.failed;
    let seconds = burst.elapsed.as_secs_f64().max(1e-6);
    obs.measure("requests_sent", f64::from(sent));
    obs.measure(
        "requests_per_second",
        (f64::from(sent) / seconds * 10.0).round() / 10.0,
    );

    let mut by_seq: Vec<&Answer> = burst.answers.iter().collect();
    by_seq.sort_by_key(|a| a.seq);
    let rejection = by_seq.iter().find(|a| a.status == expect).copied();
    let wrong_rejection = by_seq
        .iter()
        .find(|a| a.status == 503 && expect != 503)
        .copied();

    if rejection.is_none()
        && wrong_rejection.is_none()
        && let Some((seq, error)) = &burst.first_error
    {
        return Err(CheckError::new(format!(
            "{subject}: request {} of the burst failed: {error}",
            seq + 1
        )));
    }

    let limit_text = match (params.limit, params.window) {
        (Some(l), Some(DurationParam(w))) => format!(" (limit {l} per {})", human(w)),
        (Some(l), None) => format!(" (limit {l})"),
        _ => String::new(),
    };
    let in_flight = u64::from(params.concurrency.0.min(budget));
    let trends = remaining_trends(&burst.answers, expect, in_flight);
    let rose = trends.iter().any(|(_, t)| matches!(t, Trend::Rose { .. }));
    // Set when a rise of the remaining count is explained by a window rollover.
    let mut rollover = false;

    match (rejection, wrong_rejection) {
        (None, Some(wrong)) => {
            obs.measure("first_limited_at", f64::from(wrong.seq + 1));
            obs.findings.push(
                Finding::fail(
                    &subject,
                    format!(
                        "the limiter answered 503 instead of {expect} at request {}: clients \
                         read 503 as an outage, not as a signal to slow down (nginx limit_req \
                         answers 503 unless `limit_req_status {expect};` is set)",
                        wrong.seq + 1
                    ),
                )
                .with_evidence(serde_json::json!({"status": 503, "request": wrong.seq + 1})),
            );
        }
        (None, None) => {
            obs.findings.push(
                Finding::fail(
                    &subject,
                    format!(
                        "sent {sent} requests{limit_text} and none was answered {expect} ({})",
                        status_counts(&burst.answers)
                    ),
                )
                .with_evidence(serde_json::json!({"requests_sent": sent})),
            );
        }
        (Some(limited), _) => {
            let first_at = limited.seq + 1;
            obs.measure("first_limited_at", f64::from(first_at));
            let served_before = by_seq
                .iter()
                .filter(|a| a.seq < limited.seq && !is_rejection(a.status, expect))
                .count() as u64;
            if let Some(allowance) = allowance {
                let tolerated = (allowance as f64 * 1.1).ceil() as u64;
                // A fixed window that rolled over during the burst legitimately serves up to
                // twice the limit; the headers show the rollover (remaining jumps back up).
                rollover = rose && served_before > tolerated && served_before <= 2 * tolerated;
                if served_before > tolerated && !rollover {
                    obs.findings.push(
                        Finding::fail(
                            &subject,
                            format!(
                                "the first {expect} came at request {first_at} after {served_before} \
                                 served requests{limit_text}: expected by request {} (limit + 10%)",
                                tolerated + 1
                            ),
                        )
                        .with_evidence(serde_json::json!({
                            "first_limited_at": first_at,
                            "served_before": served_before,
                            "tolerated": tolerated,
                        })),
                    );
                }
            }
            // Each aspect has its own subject, so that one can be waived without the others.
            retry_after_findings(&mut obs, &format!("{subject} Retry-After"), params, limited);
        }
    }

    let headers_subject = format!("{subject} rate-limit headers");
    header_findings(&mut obs, &headers_subject, params, &burst.answers);
    if params.headers.rule != FamilyRule::None {
        trend_findings(&mut obs, &headers_subject, &trends, rollover);
    }

    if params.reset
        && let Some(limited) = rejection
    {
        reset_findings(
            &mut obs,
            http,
            &method,
            &url,
            &format!("{subject} reset"),
            params,
            limited,
        )
        .await?;
    }

    obs.summary = Some(match rejection {
        Some(limited) => format!(
            "{subject} answered {expect} at request {} of {sent}{limit_text}",
            limited.seq + 1
        ),
        None => format!("{subject}: {sent} requests sent"),
    });
    Ok(obs)
}

fn status_counts(answers: &[Answer]) -> String {
    let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
    for a in answers {
        *counts.entry(a.status).or_default() += 1;
    }
    counts
        .iter()
        .map(|(s, n)| format!("{n}× {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn retry_after_findings(
    obs: &mut Observation,
    subject: &str,
    params: &RateLimitParams,
    limited: &Answer,
) {
    let expect = params.expect_status;
    match &limited.retry_after {
        None if params.retry_after == RetryAfterRule::Required => obs.findings.push(Finding::fail(
            subject,
            format!(
                "the {expect} response has no Retry-After header: clients cannot tell when \
                     to retry"
            ),
        )),
        None => {}
        Some(value) => match retry_after_seconds(value) {
            Err(e) => obs.findings.push(Finding::fail(subject, e)),
            Ok(s) if s <= 0.0 => obs.findings.push(Finding::fail(
                subject,
                format!("Retry-After \"{value}\" asks for no wait at all"),
            )),
            Ok(s) => {
                obs.measure("retry_after_s", s.round());
                if let Some(DurationParam(window)) = params.window
                    && s > window.as_secs_f64()
                {
                    obs.findings.push(Finding::warn(
                        subject,
                        format!(
                            "Retry-After {s:.0}s is longer than the window of {}",
                            human(window)
                        ),
                    ));
                }
            }
        },
    }
}

/// Where the remaining count of a family went during the served part of the burst.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Trend {
    Falls,
    /// The last quarter of the answers shows more remaining than the first quarter.
    Rose {
        from: u64,
        to: u64,
    },
    /// The same value in every answer.
    Constant(u64),
}

/// The trend of each family's remaining count, from the answers in arrival order. Answers
/// arrive slightly out of the server's order (many connections, two clocks), so single values
/// prove nothing: the medians of the first and last quarters are compared, and a rise counts
/// only when it is larger than the number of requests in flight could explain.
fn remaining_trends(answers: &[Answer], expect: u16, in_flight: u64) -> Vec<(Family, Trend)> {
    let median = |values: &[u64]| {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        sorted[sorted.len() / 2]
    };
    Family::ALL
        .into_iter()
        .filter_map(|family| {
            // Served answers only: every rejection rightly says 0.
            let values: Vec<u64> = answers
                .iter()
                .filter(|a| !is_rejection(a.status, expect))
                .filter_map(|a| a.families.get(&family)?.remaining)
                .collect();
            if values.len() < 3 {
                return None;
            }
            if values.iter().all(|v| *v == values[0]) {
                return Some((family, Trend::Constant(values[0])));
            }
            let quarter = (values.len() / 4).max(1);
            let from = median(&values[..quarter]);
            let to = median(&values[values.len() - quarter..]);
            Some((
                family,
                if to > from + in_flight {
                    Trend::Rose { from, to }
                } else {
                    Trend::Falls
                },
            ))
        })
        .collect()
}

fn remaining_header(family: Family) -> &'static str {
    match family {
        Family::Ietf => "the remaining count in RateLimit",
        Family::Ratelimit => "RateLimit-Remaining",
        Family::XRatelimit => "X-RateLimit-Remaining",
    }
}

fn trend_findings(
    obs: &mut Observation,
    subject: &str,
    trends: &[(Family, Trend)],
    rollover: bool,
) {
    for (family, trend) in trends {
        let header = remaining_header(*family);
        match trend {
            Trend::Falls => {}
            Trend::Rose { .. } if rollover => {}
            Trend::Rose { from, to } => obs.findings.push(Finding::fail(
                subject,
                format!(
                    "{header} rose from about {from} to about {to} within the burst: the \
                     headers do not track the limit"
                ),
            )),
            Trend::Constant(value) => obs.findings.push(Finding::fail(
                subject,
                format!(
                    "{header} stays at {value} throughout the burst: the headers do not count \
                     requests"
                ),
            )),
        }
    }
}

fn header_findings(
    obs: &mut Observation,
    subject: &str,
    params: &RateLimitParams,
    answers: &[Answer],
) {
    let rule = params.headers.rule;
    if rule == FamilyRule::None {
        return;
    }
    let present: Vec<Family> = Family::ALL
        .into_iter()
        .filter(|f| answers.iter().any(|a| a.families.contains_key(f)))
        .collect();
    let required = match rule {
        FamilyRule::Ietf => Some(Family::Ietf),
        FamilyRule::Ratelimit => Some(Family::Ratelimit),
        FamilyRule::XRatelimit => Some(Family::XRatelimit),
        FamilyRule::Any | FamilyRule::None => None,
    };
    match required {
        Some(family) if !present.contains(&family) => obs.findings.push(Finding::fail(
            subject,
            format!(
                "no {} headers in any response{}",
                family.name(),
                if present.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (found {})",
                        present
                            .iter()
                            .map(|f| f.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ),
        )),
        None if present.is_empty() => obs.findings.push(Finding::fail(
            subject,
            "no rate-limit headers in any response: none of RateLimit/RateLimit-Policy, \
             RateLimit-Limit/-Remaining/-Reset or X-RateLimit-Limit/-Remaining/-Reset",
        )),
        _ => {}
    }
    for family in present {
        let values: Vec<&FamilyValues> = answers
            .iter()
            .filter_map(|a| a.families.get(&family))
            .collect();
        if let Some(error) = values.iter().find_map(|v| v.error.as_ref()) {
            obs.findings.push(Finding::fail(subject, error.clone()));
            continue;
        }
        if let Some(expected) = params.limit {
            let mut limits: Vec<u64> = values.iter().filter_map(|v| v.limit).collect();
            limits.sort_unstable();
            limits.dedup();
            if let Some(wrong) = limits.iter().find(|l| **l != expected) {
                obs.findings.push(Finding::fail(
                    subject,
                    format!(
                        "{} headers give a limit of {wrong}, the check expects {expected}",
                        family.name()
                    ),
                ));
            }
        }
    }
}

async fn reset_findings(
    obs: &mut Observation,
    http: &HttpHandle,
    method: &reqwest::Method,
    url: &url::Url,
    subject: &str,
    params: &RateLimitParams,
    limited: &Answer,
) -> Result<(), CheckError> {
    let asked = limited
        .retry_after
        .as_deref()
        .and_then(|v| retry_after_seconds(v).ok())
        .filter(|s| *s > 0.0)
        .map(Duration::from_secs_f64)
        .or(params.window.map(|w| w.0));
    let Some(wait) = asked else {
        obs.findings.push(Finding::warn(
            subject,
            "the reset was not verified: no Retry-After and no `window` to wait for",
        ));
        return Ok(());
    };
    let DurationParam(max_wait) = params.max_wait;
    if wait > max_wait {
        obs.findings.push(Finding::warn(
            subject,
            format!(
                "the reset was not verified: Retry-After asks for {}, more than max_wait {}",
                human(wait),
                human(max_wait)
            ),
        ));
        return Ok(());
    }
    // A little past the announced time: the server's clock rounds too.
    tokio::time::sleep(wait + Duration::from_millis(100)).await;
    let response = request(&http.client, method, url, &params.headers.request)
        .send()
        .await
        .map_err(|e| {
            CheckError::new(format!(
                "{subject}: the request after the wait failed: {}",
                error_text(&e)
            ))
        })?;
    let status = response.status().as_u16();
    if is_rejection(status, params.expect_status) {
        obs.findings.push(Finding::fail(
            subject,
            format!(
                "still answered {status} after waiting {} as Retry-After asked: the limit does \
                 not reset",
                human(wait)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn every_family_parses() {
        let v = family_values(&headers(&[
            ("ratelimit-policy", "\"default\";q=100;w=60"),
            ("ratelimit", "\"default\";r=42;t=30"),
            ("x-ratelimit-limit", "100"),
            ("x-ratelimit-remaining", "7"),
            ("x-ratelimit-reset", "1700000000"),
            ("ratelimit-limit", "100, 100;w=60"),
            ("ratelimit-remaining", "abc"),
        ]));
        assert_eq!(
            (v[&Family::Ietf].limit, v[&Family::Ietf].remaining),
            (Some(100), Some(42))
        );
        assert_eq!(v[&Family::XRatelimit].remaining, Some(7));
        assert_eq!(
            v[&Family::Ratelimit].error.as_deref(),
            Some("RateLimit-Remaining \"abc\" is not a number")
        );
        let draft7 = family_values(&headers(&[(
            "ratelimit",
            "limit=100, remaining=50, reset=30",
        )]));
        assert_eq!(draft7[&Family::Ietf].limit, Some(100));
        assert_eq!(draft7[&Family::Ietf].remaining, Some(50));
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(retry_after_seconds("30"), Ok(30.0));
        assert!(retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT").unwrap() < 0.0);
        assert!(retry_after_seconds("soon").is_err());
    }
}
