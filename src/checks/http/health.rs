//! `health`: a liveness/readiness endpoint answers the expected status *and* its body says the
//! service (and each named component) is up. Orchestrators read only the status code; a 200
//! whose body says `down` is a failure here.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Deserialize;
use serde_json::Value as Json;

use super::request::{StatusExpect, percentile};
use super::{error_text, request, subject};
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::params::{DurationParam, truncate};
use crate::checks::params::{HttpMethod, HttpUrl};
use crate::checks::{Ctx, KindSpec};
use crate::model::TargetFamily;
use crate::redact::redact_url;

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

/// Reads a status word of `application/health+json` (pass/warn/fail and the aliases ok, up,
/// down, error) or Spring Actuator (UP, DOWN, OUT_OF_SERVICE, UNKNOWN).
pub fn health_word(word: &str) -> Option<Health> {
    match word.trim().to_ascii_lowercase().as_str() {
        "pass" | "ok" | "up" | "healthy" | "alive" | "ready" | "green" | "connected" => {
            Some(Health::Up)
        }
        "warn" | "warning" | "degraded" | "unknown" | "yellow" => Some(Health::Warn),
        "fail" | "failed" | "down" | "error" | "unhealthy" | "out_of_service" | "red"
        | "disconnected" => Some(Health::Down),
        _ => None,
    }
}

/// The overall status a body claims, and its components by name.
#[derive(Debug, Default)]
struct Body {
    status: Option<(String, Option<Health>)>,
    components: BTreeMap<String, Option<(String, Option<Health>)>>,
    json: bool,
}

fn status_of(value: &Json) -> Option<(String, Option<Health>)> {
    let text = value.get("status")?.as_str()?;
    Some((text.to_string(), health_word(text)))
}

fn read_body(text: &str) -> Body {
    let Ok(doc @ Json::Object(_)) = serde_json::from_str::<Json>(text) else {
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
    // application/health+json: "checks": {"db:connections": [{"status": "pass", …}], …}
    if let Some(Json::Object(checks)) = doc.get("checks") {
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
            body.components.insert(name.clone(), worst.clone());
            if name != *key {
                body.components.insert(key.clone(), worst);
            }
        }
    }
    // Home-grown bodies: {"status": "ok", "db": "up", "cache": {"status": "down"}}.
    if let Json::Object(fields) = &doc {
        for (name, value) in fields {
            let reported = match value {
                Json::String(word) => health_word(word).map(|h| (word.clone(), Some(h))),
                Json::Object(_) => status_of(value),
                _ => None,
            };
            if let Some(reported) = reported
                && name != "status"
            {
                body.components.insert(name.clone(), Some(reported));
            }
        }
    }
    // Spring Actuator: "components" (Boot 2.2+) or "details" (older), nested one level.
    for field in ["components", "details"] {
        if let Some(Json::Object(components)) = doc.get(field) {
            for (name, value) in components {
                body.components
                    .entry(name.clone())
                    .or_insert_with(|| status_of(value));
                if let Some(Json::Object(nested)) = value.get("components") {
                    for (inner, value) in nested {
                        body.components
                            .entry(format!("{name}.{inner}"))
                            .or_insert_with(|| status_of(value));
                    }
                }
            }
        }
    }
    body
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
    let shown = redact_url(url.as_str());
    let method = params.method.0.clone();
    let samples = params.samples.clamp(1, MAX_SAMPLES);
    let subject = subject(&method, &url);

    let mut statuses = Vec::new();
    let mut latencies = Vec::new();
    let mut first: Option<(reqwest::header::HeaderMap, String)> = None;
    for _ in 0..samples {
        let started = Instant::now();
        let response = request(&http.client, &method, &url, &params.headers)
            .send()
            .await
            .map_err(|e| CheckError::new(format!("{subject} ({shown}): {}", error_text(&e))))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .map_err(|e| CheckError::new(format!("{subject} ({shown}): {}", error_text(&e))))?;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        statuses.push(status);
        if first.is_none() {
            first = Some((headers, text));
        }
    }
    let (headers, text) = first.unwrap_or_default();
    let evidence = serde_json::json!({"status": statuses[0], "body": truncate(&text, 1024)});

    let mut obs = Observation::default();
    let bad: Vec<u16> = statuses
        .iter()
        .copied()
        .filter(|s| !params.expect_status.matches(*s))
        .collect();
    if let Some(status) = bad.first() {
        let message = if samples == 1 {
            format!(
                "{subject} answered {status}, expected {}",
                params.expect_status
            )
        } else {
            format!(
                "{} of {samples} responses answered other than {} (first: {status})",
                bad.len(),
                params.expect_status
            )
        };
        obs.findings
            .push(Finding::fail(&subject, message).with_evidence(evidence.clone()));
    }

    let body = read_body(&text);
    let body_subject = format!("{subject} body");
    match &body.status {
        Some((word, Some(Health::Down))) => obs.findings.push(
            Finding::fail(
                &body_subject,
                format!(
                    "{subject} answered {} but its body says the service is \"{word}\"",
                    statuses[0]
                ),
            )
            .with_evidence(evidence.clone()),
        ),
        Some((word, Some(Health::Warn))) => obs.findings.push(
            Finding::warn(&body_subject, format!("the health body says \"{word}\""))
                .with_evidence(evidence.clone()),
        ),
        Some((word, None)) => obs.findings.push(
            Finding::fail(
                &body_subject,
                format!("the health body's status \"{word}\" is not a known health status"),
            )
            .with_evidence(evidence.clone()),
        ),
        _ => {}
    }

    for name in &params.components {
        let component = format!("{subject} component {name}");
        match body.components.get(name) {
            None if !body.json => obs.findings.push(
                Finding::fail(
                    &component,
                    format!("component {name} is not reported: the body is not JSON"),
                )
                .with_evidence(evidence.clone()),
            ),
            None => {
                let known: Vec<&str> = body.components.keys().map(String::as_str).collect();
                let known = if known.is_empty() {
                    "the body lists no components".to_string()
                } else {
                    format!("reported: {}", known.join(", "))
                };
                obs.findings.push(Finding::fail(
                    &component,
                    format!("component {name} is not reported ({known})"),
                ));
            }
            Some(None) => obs.findings.push(Finding::fail(
                &component,
                format!("component {name} is reported without a status"),
            )),
            Some(Some((_, Some(Health::Up)))) => {}
            Some(Some((word, Some(Health::Warn)))) => obs.findings.push(Finding::warn(
                &component,
                format!("component {name} is \"{word}\""),
            )),
            Some(Some((word, _))) => obs.findings.push(Finding::fail(
                &component,
                format!("component {name} is \"{word}\""),
            )),
        }
    }

    latencies.sort_by(f64::total_cmp);
    let p95 = percentile(&latencies, 95.0);
    obs.measure("latency_ms", (p95 * 10.0).round() / 10.0);
    if let Some(DurationParam(limit)) = params.max_latency {
        let limit_ms = limit.as_secs_f64() * 1000.0;
        if p95 > limit_ms {
            let which = if samples > 1 {
                format!("p95 latency over {samples} samples")
            } else {
                "latency".to_string()
            };
            obs.findings.push(Finding::fail(
                format!("{subject} latency"),
                format!("{which} {p95:.0} ms is over the limit of {limit_ms:.0} ms"),
            ));
        }
    }
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let said = match &body.status {
        Some((word, _)) => format!(", body status \"{word}\""),
        None if content_type.is_empty() => String::new(),
        None => format!(" ({content_type}, no status in the body)"),
    };
    obs.summary = Some(format!(
        "{subject} answered {}{said} in {p95:.0} ms",
        statuses[0]
    ));
    Ok(obs)
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
}
