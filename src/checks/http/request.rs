//! `http`: one request (or N samples) and what the response must look like.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde_json::Value as Json;

use super::{BODY_CUT, HttpHandle, error_text, request, subject};
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::params::{DurationParam, HttpMethod, HttpUrl, OneOrMany};
use crate::checks::{Ctx, KindSpec};
use crate::redact::redact_url;
use crate::target::TargetFamily;

/// Samples are bounded: this is a probe, not a load test.
const MAX_SAMPLES: u32 = 1000;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpParams {
    #[serde(default)]
    pub method: HttpMethod,
    pub path: Option<String>,
    pub url: Option<HttpUrl>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: Option<Json>,
    #[serde(default)]
    pub expect: HttpExpect,
    #[serde(default = "one")]
    pub samples: u32,
    /// Follow redirects (the default) or judge the first response itself.
    #[serde(default = "yes")]
    pub follow_redirects: bool,
}

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpExpect {
    #[serde(default)]
    pub status: StatusExpect,
    /// Header name → text its value must contain ("" only requires the header).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body_contains: Option<OneOrMany<String>>,
    /// JSON pointer → expected value.
    #[serde(default)]
    pub json: BTreeMap<String, Json>,
    pub max_latency: Option<DurationParam>,
}

/// `200`, `[200, 204]` or `"2xx"`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusExpect(Vec<StatusPattern>);

#[derive(Debug, Clone, Copy, PartialEq)]
enum StatusPattern {
    Code(u16),
    Class(u16),
}

impl Default for StatusExpect {
    fn default() -> Self {
        StatusExpect(vec![StatusPattern::Class(2)])
    }
}

impl StatusExpect {
    /// Exactly one status code.
    pub fn code(code: u16) -> StatusExpect {
        StatusExpect(vec![StatusPattern::Code(code)])
    }

    pub fn matches(&self, status: u16) -> bool {
        self.0.iter().any(|p| match p {
            StatusPattern::Code(c) => *c == status,
            StatusPattern::Class(c) => status / 100 == *c,
        })
    }
}

impl std::fmt::Display for StatusExpect {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|p| match p {
                StatusPattern::Code(c) => c.to_string(),
                StatusPattern::Class(c) => format!("{c}xx"),
            })
            .collect();
        f.write_str(&parts.join(" or "))
    }
}

impl JsonSchema for StatusExpect {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "StatusExpect".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let one = json_schema!({
            "anyOf": [
                { "type": "integer", "minimum": 100, "maximum": 599 },
                { "type": "string", "pattern": "^([1-5]xx|[1-5][0-9][0-9])$" }
            ]
        });
        json_schema!({ "anyOf": [one.clone(), { "type": "array", "items": one, "minItems": 1 }] })
    }
}

impl<'de> Deserialize<'de> for StatusExpect {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(
            untagged,
            expecting = "expected a status code such as 200 or a class such as 2xx"
        )]
        enum One {
            Code(u16),
            Text(String),
        }
        let parse = |one: One| -> Result<StatusPattern, String> {
            match one {
                One::Code(c) if (100..=599).contains(&c) => Ok(StatusPattern::Code(c)),
                One::Code(c) => Err(format!("{c} is not an HTTP status code")),
                One::Text(t) => {
                    let t = t.trim().to_ascii_lowercase();
                    if let Some(class) = t.strip_suffix("xx")
                        && let Ok(class @ 1..=5) = class.parse::<u16>()
                    {
                        return Ok(StatusPattern::Class(class));
                    }
                    t.parse::<u16>()
                        .ok()
                        .filter(|c| (100..=599).contains(c))
                        .map(StatusPattern::Code)
                        .ok_or_else(|| format!("`{t}` is not a status code or class like 2xx"))
                }
            }
        };
        let all = OneOrMany::<One>::deserialize(deserializer)?.into_vec();
        if all.is_empty() {
            return Err(serde::de::Error::custom("status needs at least one code"));
        }
        all.into_iter()
            .map(parse)
            .collect::<Result<Vec<_>, _>>()
            .map(StatusExpect)
            .map_err(serde::de::Error::custom)
    }
}

/// One answered request: the facts the judgement reads.
#[derive(Debug)]
struct Response {
    status: u16,
    /// Where redirects led, when they were followed: shown next to the status.
    redirected_to: Option<String>,
    headers: reqwest::header::HeaderMap,
    body: String,
    /// False when the body was longer than `BODY_CAP_BYTES` and the rest was not read.
    body_complete: bool,
    latency: Duration,
}

impl KindSpec for HttpParams {
    fn family(&self) -> Option<TargetFamily> {
        Some(TargetFamily::Http)
    }

    fn needs_target(&self) -> bool {
        self.url.is_none()
    }
}

pub async fn run(params: &HttpParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let http = ctx.http()?;
    let url = http.resolve(params.path.as_deref(), params.url.as_ref())?;
    let shown = redact_url(url.as_str());
    let method = params.method.0.clone();
    let subject = subject(&method, &url);
    let mut samples = Samples::new(params.samples.clamp(1, MAX_SAMPLES));
    for _ in 0..samples.total {
        let response = send(http, &method, &url, params)
            .await
            .map_err(|e| CheckError::new(format!("{} {shown}: {e}", method.as_str())))?;
        samples.add(&params.expect, &subject, response);
    }
    let mut obs = samples.judge(&params.expect, &subject);
    if http.insecure_tls && url.scheme() == "https" {
        obs.findings.push(Finding::warn(
            url.host_str().unwrap_or_default(),
            "TLS certificate verification is off for this target (insecure_tls: true)",
        ));
    }
    Ok(obs)
}

async fn send(
    http: &HttpHandle,
    method: &reqwest::Method,
    url: &url::Url,
    params: &HttpParams,
) -> Result<Response, String> {
    let client = if params.follow_redirects {
        &http.client
    } else {
        &http.no_redirect
    };
    let mut request = request(client, method, url, &params.headers);
    request = match &params.body {
        None => request,
        Some(Json::String(text)) => request.body(text.clone()),
        Some(json) => request.json(json),
    };
    let started = Instant::now();
    let response = request.send().await.map_err(|e| error_text(&e))?;
    let status = response.status().as_u16();
    let redirected_to = (response.url() != url).then(|| shown_location(url, response.url()));
    let headers = response.headers().clone();
    let body = super::read_body(response)
        .await
        .map_err(|e| error_text(&e))?;
    Ok(Response {
        status,
        redirected_to,
        headers,
        body: body.text,
        body_complete: body.complete,
        latency: started.elapsed(),
    })
}

/// Where a redirect led: the path on the same origin, else the URL without credentials.
fn shown_location(from: &url::Url, to: &url::Url) -> String {
    if from.origin() == to.origin() {
        to.path().to_string()
    } else {
        redact_url(to.as_str())
    }
}

/// "200", or "200 after a redirect to /login" when redirects were followed.
fn answered(response: &Response) -> String {
    match &response.redirected_to {
        Some(to) => format!("{} after a redirect to {to}", response.status),
        None => response.status.to_string(),
    }
}

/// What the samples showed, in memory that does not grow with their bodies: how the first one
/// answered, the findings of the first one that failed, how many failed, and every latency.
struct Samples {
    total: u32,
    first_answered: Option<String>,
    failed: u32,
    /// The first failed sample (from 1) and its findings.
    first_failure: Option<(u32, Vec<Finding>)>,
    latencies: Vec<f64>,
}

impl Samples {
    fn new(total: u32) -> Samples {
        Samples {
            total,
            first_answered: None,
            failed: 0,
            first_failure: None,
            latencies: Vec::with_capacity(total as usize),
        }
    }

    /// Judges one response as it arrives (status, headers, body, JSON), and keeps only what
    /// the verdict needs.
    fn add(&mut self, expect: &HttpExpect, subject: &str, response: Response) {
        let number = self.latencies.len() as u32 + 1;
        self.latencies.push(response.latency.as_secs_f64() * 1000.0);
        self.first_answered
            .get_or_insert_with(|| answered(&response));
        let who = if self.total > 1 {
            format!("sample {number} of {}", self.total)
        } else {
            subject.to_string()
        };
        let findings = response_findings(expect, subject, &who, &response);
        if findings.is_empty() {
            return;
        }
        self.failed += 1;
        self.first_failure.get_or_insert((number, findings));
    }

    /// The findings of the first failed sample (with several samples: which one, and how many
    /// failed), the latency at the 95th percentile, and the summary.
    fn judge(mut self, expect: &HttpExpect, subject: &str) -> Observation {
        let mut obs = Observation::default();
        let (total, failed) = (self.total, self.failed);
        if let Some((number, findings)) = self.first_failure.take() {
            obs.findings.extend(findings.into_iter().map(|mut f| {
                if total > 1 {
                    f.message = format!("{}; {failed} of {total} samples failed", f.message);
                    if let Some(map) = f.evidence.as_object_mut() {
                        map.insert("sample".into(), number.into());
                        map.insert("samples_failed".into(), failed.into());
                    }
                }
                f
            }));
        }
        self.latencies.sort_by(f64::total_cmp);
        let p95 = measure_latency(&mut obs, &self.latencies);
        obs.findings
            .extend(latency_finding(expect, subject, self.latencies.len(), p95));
        let answered = self.first_answered.unwrap_or_default();
        obs.summary = Some(if total > 1 {
            format!("{subject} answered {answered} ({total} samples, p95 {p95:.0} ms)")
        } else {
            format!("{subject} answered {answered} in {p95:.0} ms")
        });
        obs
    }
}

/// Every expectation on one response: status, headers, body, JSON. `who` names the response
/// in the status message: the subject, or "sample 2 of 5"; other messages are prefixed with it
/// when it is a sample.
fn response_findings(
    expect: &HttpExpect,
    subject: &str,
    who: &str,
    response: &Response,
) -> Vec<Finding> {
    let mut findings: Vec<Finding> = status_finding(expect, subject, who, response)
        .into_iter()
        .collect();
    let mut rest = header_findings(expect, subject, response);
    rest.extend(body_findings(expect, subject, response));
    rest.extend(json_findings(expect, subject, response));
    if who != subject {
        for f in &mut rest {
            f.message = format!("{who}: {}", f.message);
        }
    }
    findings.extend(rest);
    findings
}

fn status_finding(
    expect: &HttpExpect,
    subject: &str,
    who: &str,
    response: &Response,
) -> Option<Finding> {
    if expect.status.matches(response.status) {
        return None;
    }
    let hint = if response.redirected_to.is_some() {
        " (set follow_redirects: false to judge the redirect itself)"
    } else {
        ""
    };
    let message = format!(
        "{who} answered {}, expected {}{hint}",
        answered(response),
        expect.status
    );
    Some(
        Finding::fail(subject, message)
            .with_evidence(body_evidence(response))
            .cut(&[BODY_CUT]),
    )
}

fn header_findings(expect: &HttpExpect, subject: &str, response: &Response) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (name, wanted) in &expect.headers {
        match response.headers.get(name).map(|v| v.to_str().unwrap_or("")) {
            None => findings.push(Finding::fail(subject, format!("header {name} is missing"))),
            Some(value) if !value.contains(wanted.as_str()) => findings.push(Finding::fail(
                subject,
                format!("header {name} is \"{value}\", expected it to contain \"{wanted}\""),
            )),
            Some(_) => {}
        }
    }
    findings
}

fn body_findings(expect: &HttpExpect, subject: &str, response: &Response) -> Vec<Finding> {
    let wanted = expect
        .body_contains
        .clone()
        .map(OneOrMany::into_vec)
        .unwrap_or_default();
    wanted
        .into_iter()
        .filter(|wanted| !response.body.contains(wanted))
        .map(|wanted| {
            let message = if response.body_complete {
                format!("the body does not contain \"{wanted}\"")
            } else {
                format!(
                    "the first {} of the body do not contain \"{wanted}\" (the rest was not read)",
                    CAP_TEXT
                )
            };
            Finding::fail(subject, message)
                .with_evidence(body_evidence(response))
                .cut(&[BODY_CUT])
        })
        .collect()
}

fn json_findings(expect: &HttpExpect, subject: &str, response: &Response) -> Vec<Finding> {
    if expect.json.is_empty() {
        return Vec::new();
    }
    if !response.body_complete {
        return vec![
            Finding::fail(
                subject,
                format!("the body is larger than {CAP_TEXT}: the rest was not read, so its JSON cannot be checked"),
            )
            .with_evidence(body_evidence(response)),
        ];
    }
    let doc = match serde_json::from_str::<Json>(&response.body) {
        Ok(doc) => doc,
        Err(e) => {
            return vec![
                Finding::fail(subject, format!("the body is not JSON: {e}"))
                    .with_evidence(body_evidence(response))
                    .cut(&[BODY_CUT]),
            ];
        }
    };
    let mut findings = Vec::new();
    for (pointer, wanted) in &expect.json {
        match doc.pointer(pointer) {
            None => findings.push(Finding::fail(
                subject,
                format!("JSON field {pointer} is missing"),
            )),
            Some(actual) if !same_json(actual, wanted) => findings.push(Finding::fail(
                subject,
                format!("JSON field {pointer} is {actual}, expected {wanted}"),
            )),
            Some(_) => {}
        }
    }
    findings
}

/// JSON equality where numbers compare by value: `1` matches `1.0`, at any depth.
fn same_json(actual: &Json, wanted: &Json) -> bool {
    match (actual, wanted) {
        (Json::Number(a), Json::Number(b)) => a.as_f64() == b.as_f64() && a.as_f64().is_some(),
        (Json::Array(a), Json::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_json(a, b))
        }
        (Json::Object(a), Json::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => actual == wanted,
    }
}

/// Records the latency (percentiles over several samples) and returns the 95th percentile.
fn measure_latency(obs: &mut Observation, sorted: &[f64]) -> f64 {
    let p95 = percentile(sorted, 95.0);
    if sorted.len() > 1 {
        obs.measure("p50_ms", round_ms(percentile(sorted, 50.0)));
        obs.measure("p95_ms", round_ms(p95));
        obs.measure("p99_ms", round_ms(percentile(sorted, 99.0)));
        obs.measure("max_ms", round_ms(*sorted.last().unwrap_or(&0.0)));
    } else {
        obs.measure("latency_ms", round_ms(p95));
    }
    p95
}

fn latency_finding(
    expect: &HttpExpect,
    subject: &str,
    samples: usize,
    p95: f64,
) -> Option<Finding> {
    let DurationParam(limit) = expect.max_latency?;
    let limit_ms = limit.as_secs_f64() * 1000.0;
    if p95 <= limit_ms {
        return None;
    }
    let which = if samples > 1 {
        "p95 latency"
    } else {
        "latency"
    };
    Some(Finding::fail(
        subject,
        format!("{which} {p95:.0} ms is over the limit of {limit_ms:.0} ms"),
    ))
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn round_ms(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
}

/// `BODY_CAP_BYTES` in words.
const CAP_TEXT: &str = "1 MiB";

fn body_evidence(r: &Response) -> Json {
    let mut evidence = serde_json::json!({
        "status": r.status,
        "body": crate::checks::params::keep(&r.body),
    });
    if !r.body_complete {
        evidence["body_read_bytes"] = serde_json::json!(r.body.len());
        evidence["body_complete"] = serde_json::json!(false);
    }
    evidence
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::node::parse_document;

    #[test]
    fn status_forms() {
        let parse = |y: &str| {
            parse_document(&format!("s: {y}"))
                .unwrap()
                .get("s")
                .unwrap()
                .parse::<StatusExpect>()
        };
        assert!(parse("200").unwrap().matches(200));
        assert!(parse("[200, 204]").unwrap().matches(204));
        assert!(parse("\"2xx\"").unwrap().matches(201));
        assert!(!parse("\"2xx\"").unwrap().matches(301));
        assert!(
            parse("700")
                .unwrap_err()
                .message
                .contains("700 is not an HTTP status code")
        );
        assert!(
            parse("\"2yy\"")
                .unwrap_err()
                .message
                .contains("not a status code")
        );
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 95.0), 95.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[7.0], 95.0), 7.0);
    }

    fn response(status: u16, body: &str, ms: u64) -> Response {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        Response {
            status,
            redirected_to: None,
            headers,
            body: body.into(),
            body_complete: true,
            latency: Duration::from_millis(ms),
        }
    }

    fn expect(yaml: &str) -> HttpExpect {
        parse_document(yaml).unwrap().parse().unwrap()
    }

    /// The samples judged as `run` judges them, one at a time.
    fn judge(expect: &HttpExpect, subject: &str, responses: Vec<Response>) -> Observation {
        let mut samples = Samples::new(responses.len() as u32);
        for response in responses {
            samples.add(expect, subject, response);
        }
        samples.judge(expect, subject)
    }

    fn messages(obs: &Observation) -> Vec<&str> {
        obs.findings.iter().map(|f| f.message.as_str()).collect()
    }

    #[test]
    fn a_matching_response_passes_with_its_latency() {
        let obs = judge(
            &expect("status: 200\nheaders: {content-type: json}\njson: {/ok: true}"),
            "GET /x",
            vec![response(200, r#"{"ok": true}"#, 42)],
        );
        assert!(obs.findings.is_empty(), "{:?}", obs.findings);
        assert_eq!(obs.measurements["latency_ms"], 42.0);
        assert_eq!(obs.summary.unwrap(), "GET /x answered 200 in 42 ms");
    }

    #[test]
    fn each_unmet_expectation_is_a_finding() {
        let obs = judge(
            &expect(
                "status: 201\nheaders: {x-request-id: '', content-type: xml}\n\
                 body_contains: [hello]\njson: {/ok: true, /missing: 1}",
            ),
            "POST /x",
            vec![response(200, r#"{"ok": false}"#, 1)],
        );
        assert_eq!(
            messages(&obs),
            [
                "POST /x answered 200, expected 201",
                "header content-type is \"application/json\", expected it to contain \"xml\"",
                "header x-request-id is missing",
                "the body does not contain \"hello\"",
                "JSON field /missing is missing",
                "JSON field /ok is false, expected true",
            ]
        );
        assert_eq!(obs.findings[0].evidence["status"], 200);
        let not_json = judge(
            &expect("json: {/ok: true}"),
            "GET /x",
            vec![response(200, "<html>", 1)],
        );
        assert!(messages(&not_json)[0].starts_with("the body is not JSON"));
    }

    #[test]
    fn a_followed_redirect_is_named_next_to_the_status() {
        let mut redirected = response(200, "", 3);
        redirected.redirected_to = Some("/login".into());
        let obs = judge(&expect("status: 302"), "GET /x", vec![redirected]);
        assert_eq!(
            messages(&obs),
            [
                "GET /x answered 200 after a redirect to /login, expected 302 (set follow_redirects: false to judge the redirect itself)"
            ]
        );
        assert_eq!(
            obs.summary.unwrap(),
            "GET /x answered 200 after a redirect to /login in 3 ms"
        );
    }

    #[test]
    fn json_numbers_match_by_value() {
        let obs = judge(
            &expect("json: {/n: 1, /list: [2], /f: 1.5}"),
            "GET /x",
            vec![response(200, r#"{"n": 1.0, "list": [2.0], "f": 1.5}"#, 1)],
        );
        assert!(obs.findings.is_empty(), "{:?}", obs.findings);
        let obs = judge(
            &expect("json: {/n: 1}"),
            "GET /x",
            vec![response(200, r#"{"n": 1.5}"#, 1)],
        );
        assert_eq!(messages(&obs), ["JSON field /n is 1.5, expected 1"]);
    }

    #[test]
    fn samples_count_statuses_and_judge_the_p95() {
        let responses: Vec<Response> = (1..=20)
            .map(|i| response(if i % 10 == 0 { 503 } else { 200 }, "", i * 10))
            .collect();
        let obs = judge(&expect("max_latency: 150ms"), "GET /x", responses);
        assert_eq!(
            messages(&obs),
            [
                "sample 10 of 20 answered 503, expected 2xx; 2 of 20 samples failed",
                "p95 latency 190 ms is over the limit of 150 ms",
            ]
        );
        assert_eq!(obs.measurements["p50_ms"], 100.0);
        assert_eq!(obs.measurements["max_ms"], 200.0);
        assert_eq!(
            obs.summary.unwrap(),
            "GET /x answered 200 (20 samples, p95 190 ms)"
        );
    }

    /// Every sample is judged, not only the first: a body that changes on the third answer fails,
    /// quoting that sample and counting the samples that failed.
    #[test]
    fn every_sample_is_judged_by_status_and_body() {
        let bodies = [
            r#"{"status":"up"}"#,
            r#"{"status":"up"}"#,
            r#"{"status":"down"}"#,
        ];
        let responses: Vec<Response> = bodies.iter().map(|b| response(200, b, 1)).collect();
        let obs = judge(
            &expect("body_contains: up\njson: {/status: up}"),
            "GET /x",
            responses,
        );
        assert_eq!(
            messages(&obs),
            [
                "sample 3 of 3: the body does not contain \"up\"; 1 of 3 samples failed",
                "sample 3 of 3: JSON field /status is \"down\", expected \"up\"; 1 of 3 samples failed",
            ]
        );
        assert_eq!(obs.findings[0].evidence["sample"], 3);
        assert_eq!(obs.findings[0].evidence["samples_failed"], 1);
        let alternating: Vec<Response> = (0..5)
            .map(|i| response(if i % 2 == 0 { 200 } else { 500 }, "", 1))
            .collect();
        let obs = judge(&expect("status: 200"), "GET /x", alternating);
        assert_eq!(
            messages(&obs),
            ["sample 2 of 5 answered 500, expected 200; 2 of 5 samples failed"]
        );
    }

    #[test]
    fn a_capped_body_says_the_rest_was_not_read() {
        let capped = Response {
            body_complete: false,
            ..response(200, r#"{"ok": true, "items": ["#, 1)
        };
        let obs = judge(
            &expect("body_contains: [done]\njson: {/ok: true}"),
            "GET /big",
            vec![capped],
        );
        assert_eq!(
            messages(&obs),
            [
                "the first 1 MiB of the body do not contain \"done\" (the rest was not read)",
                "the body is larger than 1 MiB: the rest was not read, so its JSON cannot be checked",
            ]
        );
        assert_eq!(obs.findings[0].evidence["body_complete"], false);
        assert_eq!(obs.findings[0].evidence["body_read_bytes"], 23);
    }
}
