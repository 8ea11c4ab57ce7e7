//! `health`: a liveness/readiness endpoint answers the expected status *and* its body says the
//! service (and each named component) is up. Orchestrators read only the status code; a 200
//! whose body says `down` is a failure here.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Deserialize;
use serde_json::Value as Json;

use super::request::{StatusExpect, percentile};
use super::{BODY_CAP_TEXT, BODY_CUT, HttpHandle, error_text, request, subject};
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::params::{DurationParam, keep, truncate};
use crate::checks::params::{HttpMethod, HttpUrl};
use crate::checks::{Ctx, KindSpec};
use crate::model::TargetFamily;
use crate::redact::redact_url;
use crate::vocab::Level;

/// Samples are bounded: this is a probe, not a load test.
const MAX_SAMPLES: u32 = 100;

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthParams {
    pub path: Option<String>,
    pub url: Option<HttpUrl>,
    #[serde(default)]
    pub method: HttpMethod,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default = "ok_status")]
    pub expect_status: StatusExpect,
    /// Components (dependencies) that must be reported and up.
    #[serde(default)]
    pub components: Vec<String>,
    pub max_latency: Option<DurationParam>,
    #[serde(default = "one")]
    pub samples: u32,
}

fn ok_status() -> StatusExpect {
    StatusExpect::code(200)
}

fn one() -> u32 {
    1
}

/// What a health body says about the service or a component.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Health {
    Up,
    Warn,
    Down,
}

/// Reads the status words of the common health libraries: `application/health+json`
/// (pass/warn/fail), Spring Actuator (UP, DOWN, OUT_OF_SERVICE, UNKNOWN), terminus (ok, error,
/// shutting_down), PyPI healthcheck (success, failure), fastapi-health (connected…), ASP.NET Core
/// (Healthy, Degraded, Unhealthy), Go health-go (OK, Partially Available, Unavailable) and
/// alexliesenfeld/health (up, down, unknown), Kubernetes-style `ok`.
pub fn health_word(word: &str) -> Option<Health> {
    match word.trim().to_ascii_lowercase().as_str() {
        "pass" | "ok" | "up" | "healthy" | "alive" | "ready" | "green" | "connected"
        | "success" | "available" => Some(Health::Up),
        "warn" | "warning" | "degraded" | "unknown" | "yellow" | "partially available" => {
            Some(Health::Warn)
        }
        "fail" | "failed" | "failure" | "down" | "error" | "unhealthy" | "out_of_service"
        | "red" | "disconnected" | "unavailable" | "shutting_down" => Some(Health::Down),
        _ => None,
    }
}

/// The overall status a body claims, and its components by name.
#[derive(Debug, Default)]
struct Body {
    status: Option<(String, Option<Health>)>,
    components: Components,
    json: bool,
}

/// The `status` field (any capitalisation: `"Status"` is read too). A status that is not a
/// string (`null`, `["DOWN"]`, `true`) is shown as JSON and is no known word.
fn status_of(value: &Json) -> Option<(String, Option<Health>)> {
    let Json::Object(fields) = value else {
        return None;
    };
    let (_, status) = fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("status"))?;
    Some(match status {
        Json::String(text) => (text.clone(), health_word(text)),
        other => (other.to_string(), None),
    })
}

fn read_body(text: &str) -> Body {
    let Ok(doc @ Json::Object(_)) = serde_json::from_str::<Json>(text) else {
        if let Ok(other) = serde_json::from_str::<Json>(text)
            && !other.is_string()
        {
            // A top-level array, number or literal: JSON, but no status to read.
            return Body {
                status: Some((truncate(&other.to_string(), 60), None)),
                json: true,
                ..Body::default()
            };
        }
        // Plain text: its first word, when it is a status word ("OK", "DOWN: db unreachable").
        let first = text
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .find(|w| !w.is_empty())
            .unwrap_or("");
        let word = health_word(first);
        return Body {
            status: word.map(|w| (first.to_string(), Some(w))),
            ..Body::default()
        };
    };
    let mut body = Body {
        status: status_of(&doc),
        json: true,
        ..Body::default()
    };
    health_json_checks(&doc, &mut body.components);
    home_grown_fields(&doc, &mut body.components);
    actuator_components(&doc, &mut body.components);
    body
}

type Components = BTreeMap<String, Option<(String, Option<Health>)>>;

/// application/health+json: "checks": {"db:connections": [{"status": "pass", …}], …}
fn health_json_checks(doc: &Json, components: &mut Components) {
    let Some(Json::Object(checks)) = doc.get("checks") else {
        return;
    };
    for (key, entries) in checks {
        let name = key.split(':').next().unwrap_or(key).to_string();
        let list = match entries {
            Json::Array(items) => items.iter().collect::<Vec<_>>(),
            other => vec![other],
        };
        // A component is as healthy as its worst measurement.
        let worst = list
            .iter()
            .filter_map(|e| status_of(e))
            .max_by_key(|(_, h)| match h {
                Some(Health::Up) => 0,
                Some(Health::Warn) => 1,
                None => 2,
                Some(Health::Down) => 3,
            });
        components.insert(name.clone(), worst.clone());
        if name != *key {
            components.insert(key.clone(), worst);
        }
    }
}

/// Home-grown bodies: {"status": "ok", "db": "up", "cache": {"status": "down"}}.
fn home_grown_fields(doc: &Json, components: &mut Components) {
    let Json::Object(fields) = doc else {
        return;
    };
    for (name, value) in fields {
        let reported = match value {
            Json::String(word) => health_word(word).map(|h| (word.clone(), Some(h))),
            Json::Object(_) => status_of(value),
            _ => None,
        };
        if let Some(reported) = reported
            && !name.eq_ignore_ascii_case("status")
        {
            components.insert(name.clone(), Some(reported));
        }
    }
}

/// Spring Actuator: "components" (Boot 2.2+) or "details" (older), nested one level.
fn actuator_components(doc: &Json, components: &mut Components) {
    for field in ["components", "details"] {
        let Some(Json::Object(listed)) = doc.get(field) else {
            continue;
        };
        for (name, value) in listed {
            components
                .entry(name.clone())
                .or_insert_with(|| status_of(value));
            if let Some(Json::Object(nested)) = value.get("components") {
                for (inner, value) in nested {
                    components
                        .entry(format!("{name}.{inner}"))
                        .or_insert_with(|| status_of(value));
                }
            }
        }
    }
}

/// What the samples showed: the facts the judgement reads.
#[derive(Debug, Default)]
struct Samples {
    /// One per sample, in order.
    statuses: Vec<u16>,
    /// Milliseconds, sorted.
    latencies: Vec<f64>,
    /// The first response's body and `Content-Type`.
    body: String,
    content_type: String,
    /// False when the first body was longer than the cap and the rest was not read.
    complete: bool,
}

impl KindSpec for HealthParams {
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

pub async fn run(params: &HealthParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let http = ctx.http()?;
    let url = http.resolve(params.path.as_deref(), params.url.as_ref())?;
    let method = params.method.0.clone();
    let subject = subject(&method, &url);
    let samples = sample(params, http, &method, &url, &subject).await?;
    Ok(judge(params, &subject, &samples))
}

async fn sample(
    params: &HealthParams,
    http: &HttpHandle,
    method: &reqwest::Method,
    url: &url::Url,
    subject: &str,
) -> Result<Samples, CheckError> {
    let shown = redact_url(url.as_str());
    let failed =
        |e: reqwest::Error| CheckError::new(format!("{subject} ({shown}): {}", error_text(&e)));
    let mut samples = Samples::default();
    for _ in 0..params.samples.clamp(1, MAX_SAMPLES) {
        let started = Instant::now();
        let response = request(&http.client, method, url, &params.headers)
            .send()
            .await
            .map_err(failed)?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        // The cap keeps memory flat; a health body is judged by its start (status, JSON).
        let body = super::read_body(response).await.map_err(failed)?;
        samples
            .latencies
            .push(started.elapsed().as_secs_f64() * 1000.0);
        if samples.statuses.is_empty() {
            samples.body = body.text;
            samples.complete = body.complete;
            samples.content_type = content_type;
        }
        samples.statuses.push(status);
    }
    samples.latencies.sort_by(f64::total_cmp);
    Ok(samples)
}

fn judge(params: &HealthParams, subject: &str, samples: &Samples) -> Observation {
    let first = samples.statuses[0];
    let evidence = serde_json::json!({"status": first, "body": keep(&samples.body)});
    let with_evidence = |f: Finding| f.with_evidence(evidence.clone()).cut(&[BODY_CUT]);
    let body = read_body(&samples.body);
    let mut obs = Observation::default();
    obs.findings
        .extend(status_finding(params, subject, &samples.statuses).map(with_evidence));
    if let Some(capped) = capped_json_finding(subject, samples) {
        // Cut JSON does not parse: nothing in it can be judged.
        obs.findings.push(with_evidence(capped));
        obs.findings
            .extend(latency(params, subject, samples, &mut obs.measurements));
        obs.summary = Some(format!(
            "{subject} answered {first}{}",
            not_read_note(samples)
        ));
        return obs;
    }
    obs.findings.extend(
        body_finding(subject, first, &body).map(|f| with_evidence(unread_noted(f, samples))),
    );
    obs.findings
        .extend(invalid_json_finding(subject, samples).map(with_evidence));
    for name in &params.components {
        obs.findings
            .extend(component_finding(subject, name, &body, &evidence));
    }
    if !matches!(body.status, Some((_, Some(Health::Down)))) {
        let named = |path: &String| params.components.contains(path);
        for (path, word) in down_anywhere(&samples.body)
            .iter()
            .filter(|(p, _)| !named(p))
        {
            obs.findings.push(with_evidence(Finding::fail(
                format!("{subject} component {path}"),
                format!("component {path} is \"{word}\""),
            )));
        }
    }
    obs.findings
        .extend(latency(params, subject, samples, &mut obs.measurements));
    let p95 = percentile(&samples.latencies, 95.0);
    let said = match &body.status {
        Some((word, _)) => format!(", body status \"{word}\""),
        None if samples.content_type.is_empty() => String::new(),
        None => format!(" ({}, no status in the body)", samples.content_type),
    };
    obs.summary = Some(format!(
        "{subject} answered {first}{said} in {p95:.0} ms{}",
        not_read_note(samples)
    ));
    obs
}

/// The p95 latency measured, and a finding when it is over the limit.
fn latency(
    params: &HealthParams,
    subject: &str,
    samples: &Samples,
    measurements: &mut BTreeMap<String, f64>,
) -> Option<Finding> {
    let p95 = percentile(&samples.latencies, 95.0);
    measurements.insert("latency_ms".into(), (p95 * 10.0).round() / 10.0);
    latency_finding(params, subject, samples.statuses.len(), p95)
}

/// A JSON body longer than the cap: what was read is cut JSON, so the check cannot tell what
/// the service says about itself.
fn capped_json_finding(subject: &str, samples: &Samples) -> Option<Finding> {
    let looks_json = samples.content_type.to_ascii_lowercase().contains("json")
        || samples.body.trim_start().starts_with(['{', '[']);
    if samples.complete || !looks_json {
        return None;
    }
    Some(Finding::fail(
        format!("{subject} body"),
        format!(
            "{subject} answered a JSON body larger than {BODY_CAP_TEXT}: it was not read past {BODY_CAP_TEXT}, so its status cannot be checked"
        ),
    ))
}

/// "; the body was not read past 1 MiB" when the body was longer than the cap.
fn not_read_note(samples: &Samples) -> String {
    if samples.complete {
        String::new()
    } else {
        format!("; the body was not read past {BODY_CAP_TEXT}")
    }
}

/// A finding judged on a capped body says that the rest was not read.
fn unread_noted(mut finding: Finding, samples: &Samples) -> Finding {
    finding.message.push_str(&not_read_note(samples));
    finding
}

/// A JSON content type whose body does not parse: a broken or truncated answer.
fn invalid_json_finding(subject: &str, samples: &Samples) -> Option<Finding> {
    let media = samples.content_type.to_ascii_lowercase();
    if !media.contains("json") {
        return None;
    }
    let error = serde_json::from_str::<Json>(&samples.body).err()?;
    Some(Finding::fail(
        format!("{subject} body"),
        format!(
            "{subject} answered {} but its body is not valid JSON ({error})",
            samples.content_type
        ),
    ))
}

/// Every component below the top level whose status is a down word, by its path of keys
/// (`cache`, `db.primary`), leaving out the containers `components`, `details` and `checks`.
fn down_anywhere(text: &str) -> Vec<(String, String)> {
    fn walk(value: &Json, path: &str, found: &mut Vec<(String, String)>) {
        match value {
            Json::Object(fields) => {
                for (key, inner) in fields {
                    let is_status = key.eq_ignore_ascii_case("status");
                    let here = match key.as_str() {
                        _ if is_status => path.to_string(),
                        "components" | "details" | "checks" => path.to_string(),
                        _ if path.is_empty() => key.clone(),
                        _ => format!("{path}.{key}"),
                    };
                    if let Json::String(word) = inner
                        && health_word(word) == Some(Health::Down)
                        && !here.is_empty()
                        && !found.iter().any(|(p, _)| *p == here)
                    {
                        found.push((here.clone(), word.clone()));
                    }
                    walk(inner, &here, found);
                }
            }
            Json::Array(items) => items.iter().for_each(|item| walk(item, path, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    if let Ok(doc) = serde_json::from_str::<Json>(text) {
        walk(&doc, "", &mut found);
    }
    found
}

fn status_finding(params: &HealthParams, subject: &str, statuses: &[u16]) -> Option<Finding> {
    let bad: Vec<u16> = statuses
        .iter()
        .copied()
        .filter(|s| !params.expect_status.matches(*s))
        .collect();
    let status = bad.first()?;
    let expected = &params.expect_status;
    let message = if statuses.len() == 1 {
        format!("{subject} answered {status}, expected {expected}")
    } else {
        format!(
            "{} of {} responses answered other than {expected} (first: {status})",
            bad.len(),
            statuses.len()
        )
    };
    Some(Finding::fail(subject, message))
}

/// The service's own status in the body: down fails, degraded warns, an unknown word fails.
fn body_finding(subject: &str, status: u16, body: &Body) -> Option<Finding> {
    let body_subject = format!("{subject} body");
    match &body.status {
        Some((word, Some(Health::Down))) => Some(Finding::fail(
            &body_subject,
            format!("{subject} answered {status} but its body says the service is \"{word}\""),
        )),
        Some((word, Some(Health::Warn))) => Some(Finding::warn(
            &body_subject,
            format!("the health body says \"{word}\""),
        )),
        Some((word, None)) => Some(Finding::fail(
            &body_subject,
            format!("the health body's status \"{word}\" is not a known health status"),
        )),
        _ => None,
    }
}

fn component_finding(subject: &str, name: &str, body: &Body, evidence: &Json) -> Option<Finding> {
    let component = format!("{subject} component {name}");
    let (level, message) = match body.components.get(name) {
        None if !body.json => {
            return Some(
                Finding::fail(
                    &component,
                    format!("component {name} is not reported: the body is not JSON"),
                )
                .with_evidence(evidence.clone()),
            );
        }
        None => {
            let known: Vec<&str> = body.components.keys().map(String::as_str).collect();
            let known = if known.is_empty() {
                "the body lists no components".to_string()
            } else {
                format!("reported: {}", known.join(", "))
            };
            (
                Level::Fail,
                format!("component {name} is not reported ({known})"),
            )
        }
        Some(None) => (
            Level::Fail,
            format!("component {name} is reported without a status"),
        ),
        Some(Some((_, Some(Health::Up)))) => return None,
        Some(Some((word, Some(Health::Warn)))) => {
            (Level::Warn, format!("component {name} is \"{word}\""))
        }
        Some(Some((word, _))) => (Level::Fail, format!("component {name} is \"{word}\"")),
    };
    Some(match level {
        Level::Fail => Finding::fail(component, message),
        Level::Warn => Finding::warn(component, message),
    })
}

fn latency_finding(
    params: &HealthParams,
    subject: &str,
    samples: usize,
    p95: f64,
) -> Option<Finding> {
    let DurationParam(limit) = params.max_latency?;
    let limit_ms = limit.as_secs_f64() * 1000.0;
    if p95 <= limit_ms {
        return None;
    }
    let which = if samples > 1 {
        format!("p95 latency over {samples} samples")
    } else {
        "latency".to_string()
    };
    Some(Finding::fail(
        format!("{subject} latency"),
        format!("{which} {p95:.0} ms is over the limit of {limit_ms:.0} ms"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_in_each_format() {
        let b = read_body(
            r#"{"status":"pass","checks":{"db:connections":[{"status":"pass"},{"status":"warn"}]}}"#,
        );
        assert_eq!(b.status.unwrap().1, Some(Health::Up));
        assert_eq!(b.components["db"].clone().unwrap().1, Some(Health::Warn));
        let b = read_body(
            r#"{"status":"UP","components":{"db":{"status":"DOWN"},"redis":{"status":"UP"}}}"#,
        );
        assert_eq!(b.components["db"].clone().unwrap().1, Some(Health::Down));
        assert_eq!(
            read_body("DOWN: db unreachable").status.unwrap().1,
            Some(Health::Down)
        );
        assert_eq!(read_body("OK").status.unwrap().1, Some(Health::Up));
        assert!(read_body("<html>hello</html>").status.is_none());
        let b = read_body(
            r#"{"status":"ok","database":"connected","cache":{"status":"down"},"version":"1.2"}"#,
        );
        assert_eq!(
            b.components["database"].clone().unwrap().1,
            Some(Health::Up)
        );
        assert_eq!(b.components["cache"].clone().unwrap().1, Some(Health::Down));
        assert!(!b.components.contains_key("version"));
    }

    fn params(components: &[&str], max_latency_ms: Option<u64>) -> HealthParams {
        HealthParams {
            path: None,
            url: None,
            method: HttpMethod::default(),
            headers: BTreeMap::new(),
            expect_status: StatusExpect::code(200),
            components: components.iter().map(|c| c.to_string()).collect(),
            max_latency: max_latency_ms
                .map(|ms| DurationParam(std::time::Duration::from_millis(ms))),
            samples: 1,
        }
    }

    fn samples(statuses: &[u16], body: &str, latencies: &[f64]) -> Samples {
        Samples {
            statuses: statuses.to_vec(),
            latencies: latencies.to_vec(),
            body: body.into(),
            content_type: if body.starts_with(['{', '[']) {
                "application/json".into()
            } else {
                "text/plain".into()
            },
            complete: true,
        }
    }

    /// A body past the cap is judged on what was read, and says the rest was not read; cut
    /// JSON cannot be judged at all and fails.
    #[test]
    fn a_body_past_the_cap_says_it_was_not_read_further() {
        let p = params(&["db"], None);
        let capped = |body: &str| Samples {
            complete: false,
            ..samples(&[200], body, &[1.0])
        };
        let obs = judge(
            &p,
            "GET /h",
            &capped(&format!("{{\"status\":\"UP\",\"pad\":\"{}", "x".repeat(64))),
        );
        let found: Vec<(Level, &str)> = obs
            .findings
            .iter()
            .map(|f| (f.level, f.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [(
                Level::Fail,
                "GET /h answered a JSON body larger than 1 MiB: it was not read past 1 MiB, so its status cannot be checked"
            )]
        );
        assert_eq!(
            obs.summary.as_deref(),
            Some("GET /h answered 200; the body was not read past 1 MiB")
        );
        let p = params(&[], None);
        let obs = judge(&p, "GET /h", &capped("DOWN: db unreachable ........"));
        assert_eq!(
            obs.findings[0].message,
            "GET /h answered 200 but its body says the service is \"DOWN\"; the body was not read past 1 MiB"
        );
        let obs = judge(&p, "GET /h", &capped("OK ........"));
        assert!(obs.findings.is_empty());
        assert_eq!(
            obs.summary.as_deref(),
            Some(
                "GET /h answered 200, body status \"OK\" in 1 ms; the body was not read past 1 MiB"
            )
        );
    }

    #[test]
    fn each_library_s_words_read_as_up_degraded_or_down() {
        let cases = [
            ("UP", Health::Up),                    // Spring Actuator
            ("OUT_OF_SERVICE", Health::Down),      // Spring Actuator
            ("pass", Health::Up),                  // health+json
            ("warn", Health::Warn),                // health+json
            ("fail", Health::Down),                // health+json
            ("ok", Health::Up),                    // terminus, Kubernetes
            ("shutting_down", Health::Down),       // terminus
            ("success", Health::Up),               // PyPI healthcheck
            ("failure", Health::Down),             // PyPI healthcheck
            ("connected", Health::Up),             // fastapi-health conditions
            ("Healthy", Health::Up),               // ASP.NET Core
            ("Degraded", Health::Warn),            // ASP.NET Core
            ("Unhealthy", Health::Down),           // ASP.NET Core
            ("Partially Available", Health::Warn), // hellofresh/health-go
            ("Unavailable", Health::Down),         // hellofresh/health-go
            ("unknown", Health::Warn),             // alexliesenfeld/health
        ];
        for (word, health) in cases {
            assert_eq!(health_word(word), Some(health), "{word}");
        }
        assert_eq!(health_word("splendid"), None);
    }

    #[test]
    fn broken_or_odd_bodies_fail() {
        let p = params(&[], None);
        let judged = |body: &str| {
            let obs = judge(&p, "GET /h", &samples(&[200], body, &[1.0]));
            obs.findings
                .iter()
                .map(|f| (f.level, f.message.clone()))
                .collect::<Vec<_>>()
        };
        let truncated = judged(r#"{"status":"DOWN","#);
        assert_eq!(truncated.len(), 1, "{truncated:?}");
        assert!(
            truncated[0]
                .1
                .starts_with("GET /h answered application/json but its body is not valid JSON (")
        );
        for (body, shown) in [
            (r#"{"status":null}"#, "null"),
            (r#"{"status":["DOWN"]}"#, "[\"DOWN\"]"),
            (r#"{"status":true}"#, "true"),
            (r#"["DOWN"]"#, "[\"DOWN\"]"),
        ] {
            assert_eq!(
                judged(body),
                [(
                    Level::Fail,
                    format!("the health body's status \"{shown}\" is not a known health status")
                )],
                "{body}"
            );
        }
        assert_eq!(
            judged(r#"{"Status":"DOWN"}"#),
            [(
                Level::Fail,
                "GET /h answered 200 but its body says the service is \"DOWN\"".to_string()
            )]
        );
        assert_eq!(
            judged(r#"{"status":"splendid"}"#),
            [(
                Level::Fail,
                "the health body's status \"splendid\" is not a known health status".to_string()
            )]
        );
    }

    #[test]
    fn a_component_down_anywhere_fails() {
        let p = params(&[], None);
        for (body, path, word) in [
            (
                r#"{"database":"connected","cache":{"status":"down"}}"#,
                "cache",
                "down",
            ),
            (
                r#"{"status":"UP","components":{"db":{"status":"DOWN"},"disk":{"status":"UP"}}}"#,
                "db",
                "DOWN",
            ),
            (
                r#"{"status":"pass","checks":{"db:ping":[{"status":"fail"}]}}"#,
                "db:ping",
                "fail",
            ),
        ] {
            let obs = judge(&p, "GET /h", &samples(&[200], body, &[1.0]));
            assert_eq!(
                messages(&obs),
                [(
                    Level::Fail,
                    format!("component {path} is \"{word}\"").as_str()
                )],
                "{body}"
            );
        }
    }

    fn messages(obs: &Observation) -> Vec<(Level, &str)> {
        obs.findings
            .iter()
            .map(|f| (f.level, f.message.as_str()))
            .collect()
    }

    #[test]
    fn a_200_whose_body_says_down_fails() {
        let obs = judge(
            &params(&[], None),
            "GET /health",
            &samples(&[200], r#"{"status":"DOWN"}"#, &[12.0]),
        );
        assert_eq!(
            messages(&obs),
            [(
                Level::Fail,
                "GET /health answered 200 but its body says the service is \"DOWN\""
            )]
        );
        assert_eq!(obs.findings[0].evidence["status"], 200);
        assert_eq!(
            obs.summary.unwrap(),
            "GET /health answered 200, body status \"DOWN\" in 12 ms"
        );
    }

    #[test]
    fn unexpected_statuses_are_counted_over_samples() {
        let obs = judge(
            &params(&[], None),
            "GET /health",
            &samples(&[200, 503, 503], "OK", &[1.0, 2.0, 3.0]),
        );
        assert_eq!(
            obs.findings[0].message,
            "2 of 3 responses answered other than 200 (first: 503)"
        );
    }

    #[test]
    fn components_must_be_reported_and_up() {
        let body = r#"{"status":"UP","components":{"db":{"status":"UP"},"cache":{"status":"UNKNOWN"},"mq":{}}}"#;
        let obs = judge(
            &params(&["db", "cache", "mq", "search"], None),
            "GET /h",
            &samples(&[200], body, &[1.0]),
        );
        assert_eq!(
            messages(&obs),
            [
                (Level::Warn, "component cache is \"UNKNOWN\""),
                (Level::Fail, "component mq is reported without a status"),
                (
                    Level::Fail,
                    "component search is not reported (reported: cache, db, mq)"
                ),
            ]
        );
        let plain = judge(
            &params(&["db"], None),
            "GET /h",
            &samples(&[200], "OK", &[1.0]),
        );
        assert_eq!(
            plain.findings[0].message,
            "component db is not reported: the body is not JSON"
        );
    }

    #[test]
    fn latency_is_judged_at_the_95th_percentile() {
        let latencies: Vec<f64> = (1..=20).map(f64::from).collect();
        let mut p = params(&[], Some(10));
        p.samples = 20;
        let obs = judge(&p, "GET /h", &samples(&[200; 20], "OK", &latencies));
        assert_eq!(
            messages(&obs),
            [(
                Level::Fail,
                "p95 latency over 20 samples 19 ms is over the limit of 10 ms"
            )]
        );
        assert_eq!(obs.findings[0].subject, "GET /h latency");
        assert_eq!(obs.measurements["latency_ms"], 19.0);
    }
}
