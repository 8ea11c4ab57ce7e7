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
use crate::checks::params::{DurationParam, keep};
use crate::checks::params::{HttpMethod, HttpUrl};
use crate::checks::{Ctx, KindSpec};
use crate::redact::redact_url;
use crate::target::TargetFamily;
use crate::vocab::Level;

mod body;

use body::{Body, Health, down_anywhere, read_body};

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

/// How much of a status that is no known word (a JSON array, say) a finding shows.
const UNKNOWN_STATUS_BYTES: usize = 60;

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
        Some((word, None)) => Some(Finding::fail(&body_subject, String::new()).quoting(
            "the health body's status \"",
            word,
            "\" is not a known health status",
            UNKNOWN_STATUS_BYTES,
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
