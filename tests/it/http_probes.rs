//! The HTTP probe kinds (`health`, `rate_limit`, `security_headers`, `webhook_signature`)
//! against real servers started in-process: correct ones, and each kind of broken one.

use crate::common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{Project, check_of, http_server, status_of};
use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};

fn project(base: &str, checks: &str) -> Project {
    Project::new(&format!(
        "version: 1\nproject: http-probes\ntargets:\n  api: {{ http: \"{base}\" }}\nchecks:\n{checks}"
    ))
}

fn check(id: &str, kind: &str, params: &str) -> String {
    format!(
        "  - id: {id}\n    category: security\n    severity: high\n    target: api\n    {kind}: {params}\n"
    )
}

fn run(p: &Project, env: &[(&str, &str)]) -> (serde_json::Value, common::Run) {
    let out = p.ready(&["check", "--format", "json"], env);
    let result = out.json();
    common::assert_valid_result(&result);
    (result, out)
}

fn messages(result: &serde_json::Value, id: &str) -> Vec<(String, String)> {
    check_of(result, id)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["level"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn fail(m: &str) -> (String, String) {
    ("fail".into(), m.into())
}

fn warn(m: &str) -> (String, String) {
    ("warn".into(), m.into())
}

fn respond(status: u16, content_type: &str, body: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", content_type.to_string())],
        body.to_string(),
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// health

fn health_app() -> Router {
    let hj = "application/health+json";
    Router::new()
        .route("/hj/pass", get(move || async move { respond(200, hj, r#"{"status":"pass","checks":{"db:connections":[{"status":"pass"}]}}"#) }))
        .route("/hj/warn", get(move || async move { respond(200, hj, r#"{"status":"warn","checks":{"db:connections":[{"status":"warn"}]}}"#) }))
        .route("/hj/fail", get(move || async move { respond(503, hj, r#"{"status":"fail"}"#) }))
        .route("/act/up", get(|| async { respond(200, "application/json", r#"{"status":"UP","components":{"db":{"status":"UP"},"redis":{"status":"UP"}}}"#) }))
        .route("/act/down", get(|| async { respond(503, "application/json", r#"{"status":"DOWN","components":{"db":{"status":"DOWN"},"redis":{"status":"UP"}}}"#) }))
        .route("/lying", get(|| async { respond(200, "text/plain", "DOWN: database unreachable") }))
        .route("/plain", get(|| async { respond(200, "text/plain", "OK") }))
        .route("/slow", get(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "OK"
        }))
}

#[test]
fn health_reads_status_codes_and_bodies() {
    let server = http_server(health_app());
    let checks = [
        check("hj-pass", "health", "{ path: /hj/pass, components: [db] }"),
        check("hj-warn", "health", "{ path: /hj/warn, components: [db] }"),
        check("hj-fail", "health", "{ path: /hj/fail }"),
        check(
            "act-up",
            "health",
            "{ path: /act/up, components: [db, redis], samples: 3, max_latency: 2s }",
        ),
        check(
            "act-down",
            "health",
            "{ path: /act/down, components: [db, redis] }",
        ),
        check(
            "act-missing",
            "health",
            "{ path: /act/up, components: [kafka] }",
        ),
        check("lying", "health", "{ path: /lying }"),
        check("plain", "health", "{ path: /plain }"),
        check(
            "plain-components",
            "health",
            "{ path: /plain, components: [db] }",
        ),
    ]
    .concat();
    let (result, out) = run(&project(&server.base, &checks), &[]);
    assert_eq!(out.code, 1);
    for id in ["hj-pass", "act-up", "plain"] {
        assert_eq!(status_of(&result, id), "pass", "{}", check_of(&result, id));
    }
    assert_eq!(
        check_of(&result, "plain")["message"]
            .as_str()
            .unwrap()
            .split(" in ")
            .next()
            .unwrap(),
        "GET /plain answered 200, body status \"OK\""
    );
    assert_eq!(status_of(&result, "hj-warn"), "warn");
    assert_eq!(
        messages(&result, "hj-warn"),
        [
            warn("the health body says \"warn\""),
            warn("component db is \"warn\"")
        ]
    );
    assert_eq!(
        messages(&result, "hj-fail"),
        [
            fail("GET /hj/fail answered 503, expected 200"),
            fail("GET /hj/fail answered 503 but its body says the service is \"fail\""),
        ]
    );
    assert_eq!(
        messages(&result, "act-down"),
        [
            fail("GET /act/down answered 503, expected 200"),
            fail("GET /act/down answered 503 but its body says the service is \"DOWN\""),
            fail("component db is \"DOWN\""),
        ]
    );
    assert_eq!(
        check_of(&result, "act-down")["findings"][2]["subject"],
        "GET /act/down component db"
    );
    assert_eq!(
        messages(&result, "act-missing"),
        [fail(
            "component kafka is not reported (reported: db, redis)"
        )]
    );
    assert_eq!(
        messages(&result, "lying"),
        [fail(
            "GET /lying answered 200 but its body says the service is \"DOWN\""
        )]
    );
    assert_eq!(
        messages(&result, "plain-components"),
        [fail("component db is not reported: the body is not JSON")]
    );
    for id in [
        "hj-fail",
        "act-down",
        "act-missing",
        "lying",
        "plain-components",
    ] {
        assert_eq!(status_of(&result, id), "fail", "{id}");
    }
}

/// A body past the 1 MiB cap: plain text is judged on what was read and says the rest was not
/// read; JSON cannot be parsed cut, so it fails saying so.
#[test]
fn a_health_body_past_the_cap_says_it_was_not_read_further() {
    let big = |start: &str| format!("{start}{}", " ".repeat(2 << 20));
    let (ok, json) = (big("OK "), big(r#"{"status":"UP","pad":""#));
    let app = Router::new()
        .route(
            "/big-text",
            get(move || async move { respond(200, "text/plain", &ok) }),
        )
        .route(
            "/big-json",
            get(move || async move { respond(200, "application/json", &json) }),
        );
    let server = http_server(app);
    let checks = [
        check("text", "health", "{ path: /big-text }"),
        check("json", "health", "{ path: /big-json }"),
    ]
    .concat();
    let (result, _) = run(&project(&server.base, &checks), &[]);
    let text = check_of(&result, "text");
    assert_eq!(text["status"], "pass", "{text}");
    assert!(
        text["message"]
            .as_str()
            .unwrap()
            .ends_with(" ms; the body was not read past 1 MiB"),
        "{text}"
    );
    assert_eq!(status_of(&result, "json"), "fail");
    assert_eq!(
        messages(&result, "json"),
        [fail(
            "GET /big-json answered a JSON body larger than 1 MiB: it was not read past 1 MiB, so its status cannot be checked"
        )]
    );
}

#[test]
fn health_errors_when_unreachable_or_slow() {
    let server = http_server(health_app());
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    let checks = format!(
        "  - id: down\n    category: reliability\n    severity: high\n    health: {{ url: \"{dead}/health\" }}\n\
         - id: slow\n    category: reliability\n    severity: high\n    target: api\n    timeout: 300ms\n    health: {{ path: /slow }}\n"
    )
    .replace("\n- id", "\n  - id");
    let (result, _) = run(&project(&server.base, &checks), &[]);
    let down = check_of(&result, "down");
    assert_eq!(down["status"], "error");
    let message = down["message"].as_str().unwrap();
    assert!(
        message.starts_with("GET /health (http://127.0.0.1:") && message.contains("cannot connect"),
        "{message}"
    );
    assert_eq!(check_of(&result, "slow")["status"], "error");
    assert_eq!(
        check_of(&result, "slow")["message"],
        "timed out after 300ms"
    );
}

// ---------------------------------------------------------------------------------------------
// rate_limit

#[derive(Clone, Copy, PartialEq)]
enum Remaining {
    Counted,
    Stuck,
    CountsUp,
}

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Headers {
    None,
    Ietf,
    Draft,
    X,
}

/// A token bucket: `capacity` tokens, refilled at `capacity` per `window`.
struct Bucket {
    capacity: f64,
    window: Duration,
    tokens: f64,
    last: Instant,
}

pub(crate) struct Limiter {
    bucket: Mutex<Bucket>,
    headers: Headers,
    /// What the headers claim the limit is (a broken limiter may lie).
    advertised: u32,
    /// What the headers claim remains: the bucket's count, or a broken counter.
    remaining: Remaining,
    reject: u16,
    retry_after: bool,
    requests: AtomicU32,
}

pub(crate) fn limiter(capacity: u32, window: Duration, headers: Headers) -> Limiter {
    Limiter {
        bucket: Mutex::new(Bucket {
            capacity: f64::from(capacity),
            window,
            tokens: f64::from(capacity),
            last: Instant::now(),
        }),
        headers,
        advertised: capacity,
        remaining: Remaining::Counted,
        reject: 429,
        retry_after: true,
        requests: AtomicU32::new(0),
    }
}

impl Limiter {
    fn handle(&self) -> Response {
        let n = self.requests.fetch_add(1, Ordering::SeqCst);
        let (allowed, remaining, retry) = {
            let mut b = self.bucket.lock().unwrap();
            let now = Instant::now();
            let rate = b.capacity / b.window.as_secs_f64();
            b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * rate).min(b.capacity);
            b.last = now;
            let allowed = if b.tokens >= 1.0 {
                b.tokens -= 1.0;
                true
            } else {
                false
            };
            let retry = ((1.0 - b.tokens) / rate).ceil().max(1.0) as u64;
            (allowed, b.tokens.floor() as u32, retry)
        };
        let remaining = match self.remaining {
            Remaining::Counted => remaining,
            Remaining::Stuck => self.advertised - 1,
            Remaining::CountsUp => n,
        };
        let mut h = HeaderMap::new();
        let limit = self.advertised;
        let reset = retry.to_string();
        match self.headers {
            Headers::None => {}
            Headers::Ietf => {
                h.insert(
                    "ratelimit-policy",
                    HeaderValue::from_str(&format!("\"default\";q={limit};w=60")).unwrap(),
                );
                h.insert(
                    "ratelimit",
                    HeaderValue::from_str(&format!("\"default\";r={remaining};t={reset}")).unwrap(),
                );
            }
            Headers::Draft | Headers::X => {
                let prefix = if self.headers == Headers::X {
                    "x-ratelimit"
                } else {
                    "ratelimit"
                };
                h.insert(
                    axum::http::HeaderName::from_bytes(format!("{prefix}-limit").as_bytes())
                        .unwrap(),
                    limit.into(),
                );
                h.insert(
                    axum::http::HeaderName::from_bytes(format!("{prefix}-remaining").as_bytes())
                        .unwrap(),
                    remaining.into(),
                );
                h.insert(
                    axum::http::HeaderName::from_bytes(format!("{prefix}-reset").as_bytes())
                        .unwrap(),
                    HeaderValue::from_str(&reset).unwrap(),
                );
            }
        }
        if allowed {
            return (StatusCode::OK, h, "ok").into_response();
        }
        if self.retry_after {
            h.insert("retry-after", HeaderValue::from_str(&reset).unwrap());
        }
        (StatusCode::from_u16(self.reject).unwrap(), h, "slow down").into_response()
    }
}

pub(crate) fn limited(routes: Vec<(&str, Limiter)>) -> (Router, Vec<Arc<Limiter>>) {
    let mut app = Router::new();
    let mut all = Vec::new();
    for (path, l) in routes {
        let l = Arc::new(l);
        all.push(l.clone());
        app = app.route(
            path,
            any(move || {
                let l = l.clone();
                async move { l.handle() }
            }),
        );
    }
    (app, all)
}

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn rate_limit_accepts_each_header_family() {
    let (app, limiters) = limited(vec![
        ("/x", limiter(20, MINUTE, Headers::X)),
        ("/ietf", limiter(20, MINUTE, Headers::Ietf)),
        ("/draft", limiter(20, MINUTE, Headers::Draft)),
    ]);
    let server = http_server(app);
    let checks = [
        check(
            "x",
            "rate_limit",
            "{ path: /x, limit: 20, window: 60s, headers: x-ratelimit }",
        ),
        check(
            "ietf",
            "rate_limit",
            "{ path: /ietf, limit: 20, window: 60s, headers: ietf }",
        ),
        check(
            "draft",
            "rate_limit",
            "{ path: /draft, limit: 20, window: 60s, concurrency: 1 }",
        ),
    ]
    .concat();
    let (result, out) = run(&project(&server.base, &checks), &[]);
    for id in ["x", "ietf", "draft"] {
        let c = check_of(&result, id);
        assert_eq!(c["status"], "pass", "{c}");
        assert_eq!(c["measurements"]["served"], 20.0, "{c}");
        assert_eq!(c["measurements"]["first_limited_at"], 21.0, "{c}");
        assert_eq!(c["measurements"]["retry_after_s"], 3.0);
    }
    assert_eq!(
        check_of(&result, "draft")["message"],
        "GET /draft served 20 requests, then answered 429 (limit 20 per 1m)"
    );
    assert_eq!(limiters[2].requests.load(Ordering::SeqCst), 21);
    assert_eq!(out.code, 0, "{}", out.stdout);
}

#[test]
fn rate_limit_names_every_broken_limiter() {
    let never = limiter(1_000_000, MINUTE, Headers::None);
    let mut no_retry = limiter(20, MINUTE, Headers::X);
    no_retry.retry_after = false;
    // Serves 30 where 20 are promised (and advertised).
    let mut late = limiter(30, MINUTE, Headers::X);
    late.advertised = 20;
    let mut unavailable = limiter(20, MINUTE, Headers::None);
    unavailable.reject = 503;
    let bare = limiter(20, MINUTE, Headers::None);
    let mut lying = limiter(20, MINUTE, Headers::X);
    lying.advertised = 50;
    let mut stuck = limiter(20, MINUTE, Headers::Draft);
    stuck.remaining = Remaining::Stuck;
    let mut counts_up = limiter(20, MINUTE, Headers::Ietf);
    counts_up.remaining = Remaining::CountsUp;
    let (app, limiters) = limited(vec![
        ("/never", never),
        ("/no-retry", no_retry),
        ("/late", late),
        ("/unavailable", unavailable),
        ("/bare", bare),
        ("/lying", lying),
        ("/budget", limiter(1_000_000, MINUTE, Headers::X)),
        ("/stuck", stuck),
        ("/counts-up", counts_up),
    ]);
    let server = http_server(app);
    let checks = [
        check(
            "never",
            "rate_limit",
            "{ path: /never, limit: 20, window: 60s }",
        ),
        check(
            "no-retry",
            "rate_limit",
            "{ path: /no-retry, limit: 20, window: 60s }",
        ),
        check(
            "late",
            "rate_limit",
            "{ path: /late, limit: 20, window: 60s, concurrency: 1 }",
        ),
        check(
            "unavailable",
            "rate_limit",
            "{ path: /unavailable, limit: 20, window: 60s, concurrency: 1 }",
        ),
        check(
            "bare",
            "rate_limit",
            "{ path: /bare, limit: 20, window: 60s }",
        ),
        check(
            "lying",
            "rate_limit",
            "{ path: /lying, limit: 20, window: 60s }",
        ),
        check(
            "family",
            "rate_limit",
            "{ path: /no-retry, limit: 20, headers: ietf, retry_after: optional }",
        ),
        check(
            "budget",
            "rate_limit",
            "{ path: /budget, max_requests: 50 }",
        ),
        check("stuck", "rate_limit", "{ path: /stuck, limit: 20 }"),
        check(
            "counts-up",
            "rate_limit",
            "{ path: /counts-up, limit: 20, concurrency: 1 }",
        ),
    ]
    .concat();
    let (result, out) = run(&project(&server.base, &checks), &[]);
    assert_eq!(out.code, 1);
    assert_eq!(
        messages(&result, "never"),
        [
            fail("sent 41 requests (limit 20 per 1m) and none was answered 429 (41× 200)"),
            fail(
                "no rate-limit headers in any response: none of RateLimit/RateLimit-Policy, RateLimit-Limit/-Remaining/-Reset or X-RateLimit-Limit/-Remaining/-Reset"
            ),
        ]
    );
    assert_eq!(limiters[0].requests.load(Ordering::SeqCst), 41);
    // One subject per aspect, so that each can be waived on its own.
    let subjects = |id: &str| -> Vec<String> {
        check_of(&result, id)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["subject"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        subjects("never"),
        ["GET /never", "GET /never rate-limit headers"]
    );
    assert_eq!(subjects("no-retry"), ["GET /no-retry Retry-After"]);
    assert_eq!(
        messages(&result, "no-retry"),
        [fail(
            "the 429 response has no Retry-After header: clients cannot tell when to retry"
        )]
    );
    assert_eq!(
        messages(&result, "late"),
        [fail(
            "the first 429 came at request 31 after 30 served requests (limit 20 per 1m): expected by request 23 (limit + 10%)"
        )]
    );
    assert_eq!(
        check_of(&result, "late")["measurements"]["first_limited_at"],
        31.0
    );
    assert_eq!(
        messages(&result, "unavailable"),
        [
            fail(
                "the limiter answered 503 instead of 429 at request 21: clients read 503 as an outage, not as a signal to slow down (nginx limit_req answers 503 unless `limit_req_status 429;` is set)"
            ),
            fail(
                "no rate-limit headers in any response: none of RateLimit/RateLimit-Policy, RateLimit-Limit/-Remaining/-Reset or X-RateLimit-Limit/-Remaining/-Reset"
            ),
        ]
    );
    assert_eq!(limiters[3].requests.load(Ordering::SeqCst), 21);
    assert_eq!(
        messages(&result, "bare"),
        [fail(
            "no rate-limit headers in any response: none of RateLimit/RateLimit-Policy, RateLimit-Limit/-Remaining/-Reset or X-RateLimit-Limit/-Remaining/-Reset"
        )]
    );
    assert_eq!(
        messages(&result, "lying"),
        [fail(
            "X-RateLimit-Limit/-Remaining/-Reset headers give a limit of 50, the check expects 20"
        )]
    );
    assert_eq!(
        messages(&result, "family"),
        [fail(
            "no RateLimit/RateLimit-Policy headers in any response (found X-RateLimit-Limit/-Remaining/-Reset)"
        )]
    );
    assert_eq!(
        messages(&result, "budget"),
        [fail("sent 50 requests and none was answered 429 (50× 200)")]
    );
    assert_eq!(
        limiters[6].requests.load(Ordering::SeqCst),
        50,
        "never more than max_requests"
    );
    assert_eq!(
        messages(&result, "stuck"),
        [fail(
            "RateLimit-Remaining stays at 19 throughout the burst: the headers do not count requests"
        )]
    );
    assert_eq!(
        messages(&result, "counts-up"),
        [fail(
            "the remaining count in RateLimit rose from about 2 to about 17 within the burst: the headers do not track the limit"
        )]
    );
}

#[test]
fn rate_limit_waits_for_the_reset() {
    let (app, _) = limited(vec![(
        "/fast",
        limiter(5, Duration::from_secs(1), Headers::X),
    )]);
    let server = http_server(app);
    let checks = [
        check("reset", "rate_limit", "{ path: /fast, limit: 5, window: 1s, burst: 1, concurrency: 1, reset: true }"),
        check("too-long", "rate_limit", "{ path: /fast, limit: 5, window: 1s, burst: 1, concurrency: 1, reset: true, max_wait: 500ms }"),
    ]
    .concat();
    let (result, _) = run(&project(&server.base, &checks), &[]);
    let reset = check_of(&result, "reset");
    assert_eq!(reset["status"], "pass", "{reset}");
    assert_eq!(reset["measurements"]["retry_after_s"], 1.0);
    assert_eq!(
        messages(&result, "too-long"),
        [warn(
            "the reset was not verified: Retry-After asks for 1s, more than max_wait 500ms"
        )]
    );
}

/// The wait for the reset (Retry-After 3s) is longer than the check's timeout (1s): the timeout
/// covers the wait, so the burst is judged instead of ending as "timed out after 1s".
#[test]
fn rate_limit_reset_waits_beyond_the_check_timeout() {
    let (app, _) = limited(vec![(
        "/slow-reset",
        limiter(5, Duration::from_secs(15), Headers::X),
    )]);
    let server = http_server(app);
    let p = project(
        &server.base,
        &check(
            "reset",
            "rate_limit",
            "{ path: /slow-reset, limit: 5, window: 15s, concurrency: 1, reset: true, max_wait: 5s }",
        )
        .replace("    rate_limit:", "    timeout: 1s\n    rate_limit:"),
    );
    let (result, _) = run(&p, &[]);
    let reset = check_of(&result, "reset");
    assert_eq!(reset["status"], "pass", "{reset}");
    assert_eq!(
        reset["message"],
        "GET /slow-reset served 5 requests, then answered 429 (limit 5 per 15s)"
    );
    assert_eq!(reset["measurements"]["retry_after_s"], 3.0);
}

#[test]
fn rate_limit_budget_is_capped_in_the_configuration() {
    let p = project(
        "http://127.0.0.1:9",
        &check("big", "rate_limit", "{ path: /x, max_requests: 20000 }"),
    );
    let out = p.ready(&["validate"], &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(
            "ready.yaml:10:43: max_requests 20000 is out of range: 1 to 10000 (the hard cap)"
        ),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// security_headers

fn headers_app() -> Router {
    Router::new()
        .route(
            "/good",
            get(|headers: HeaderMap| async move {
                let mut h = HeaderMap::new();
                h.insert(
                    "strict-transport-security",
                    HeaderValue::from_static("max-age=31536000; includeSubDomains"),
                );
                h.insert(
                    "x-content-type-options",
                    HeaderValue::from_static("nosniff"),
                );
                h.insert(
                    "content-security-policy",
                    HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"),
                );
                h.insert(
                    "set-cookie",
                    HeaderValue::from_static("sid=abc; Path=/; Secure; HttpOnly; SameSite=Lax"),
                );
                if headers
                    .get("origin")
                    .is_some_and(|o| o == "https://app.example")
                {
                    h.insert(
                        "access-control-allow-origin",
                        HeaderValue::from_static("https://app.example"),
                    );
                    h.insert(
                        "access-control-allow-credentials",
                        HeaderValue::from_static("true"),
                    );
                }
                (h, "hello")
            }),
        )
        .route(
            "/weak",
            get(|headers: HeaderMap| async move {
                let mut h = HeaderMap::new();
                h.insert(
                    "strict-transport-security",
                    HeaderValue::from_static("max-age=3600"),
                );
                h.insert(
                    "content-security-policy",
                    HeaderValue::from_static(
                        "default-src 'self'; script-src 'self' 'unsafe-inline'",
                    ),
                );
                h.insert(
                    "x-frame-options",
                    HeaderValue::from_static("ALLOW-FROM https://x.example"),
                );
                h.append("set-cookie", HeaderValue::from_static("sid=abc; Path=/"));
                h.append(
                    "set-cookie",
                    HeaderValue::from_static("theme=dark; Secure; HttpOnly; SameSite=Strict"),
                );
                if let Some(origin) = headers.get("origin") {
                    h.insert("access-control-allow-origin", origin.clone());
                    h.insert(
                        "access-control-allow-credentials",
                        HeaderValue::from_static("true"),
                    );
                }
                (h, "hello")
            }),
        )
        .route(
            "/wildcard",
            get(|| async {
                (
                    [
                        ("access-control-allow-origin", "*"),
                        ("access-control-allow-credentials", "true"),
                    ],
                    "hello",
                )
            }),
        )
        .route(
            "/redirect",
            get(|| async {
                (
                    StatusCode::MOVED_PERMANENTLY,
                    [("location", "https://secure.example/")],
                    "",
                )
            }),
        )
        .route(
            "/to-http",
            get(|| async { (StatusCode::FOUND, [("location", "/good")], "") }),
        )
}

#[test]
fn security_headers_name_each_weakness() {
    let server = http_server(headers_app());
    let no_redirect = "[hsts, content_type_options, framing, csp, cookies, cors]";
    let checks = [
        check("good", "security_headers", &format!("{{ path: /good, rules: {no_redirect}, allowed_origins: [\"https://app.example\"] }}")),
        check("weak", "security_headers", &format!("{{ path: /weak, rules: {no_redirect} }}")),
        check("wildcard", "security_headers", "{ path: /wildcard, rules: [cors] }"),
        check("redirect", "security_headers", "{ path: /redirect, rules: [https_redirect] }"),
        check("plain", "security_headers", "{ path: /good, rules: [https_redirect, hsts] }"),
        check("to-http", "security_headers", "{ path: /to-http, rules: [https_redirect] }"),
    ]
    .concat();
    let (result, _) = run(&project(&server.base, &checks), &[]);
    let good = check_of(&result, "good");
    assert_eq!(good["status"], "pass", "{good}");
    assert_eq!(good["measurements"]["header_score"], 100.0);
    assert_eq!(
        good["message"],
        "GET /good answered 200 over http; 6 rules checked, header score 100/100"
    );
    let weak = check_of(&result, "weak");
    assert_eq!(weak["status"], "fail");
    assert_eq!(weak["measurements"]["header_score"], 0.0);
    assert_eq!(
        messages(&result, "weak"),
        [
            fail("Strict-Transport-Security max-age=3600 is under 15552000 (180 days)"),
            fail("X-Content-Type-Options: nosniff is missing"),
            fail(
                "X-Frame-Options is \"ALLOW-FROM https://x.example\" (expected DENY or SAMEORIGIN) and the CSP has no frame-ancestors: the page can be framed (clickjacking)"
            ),
            warn(
                "the CSP allows 'unsafe-inline' scripts: it does not stop injected inline scripts (XSS)"
            ),
            fail("cookie sid is set without Secure, HttpOnly, SameSite"),
            fail(
                "the foreign Origin https://ready-probe.invalid is reflected with Access-Control-Allow-Credentials: true: any site can read responses with the user's credentials"
            ),
        ]
    );
    assert_eq!(weak["findings"][4]["subject"], "cookie sid");
    assert_eq!(
        messages(&result, "wildcard"),
        [fail(
            "Access-Control-Allow-Origin: * comes with Access-Control-Allow-Credentials: true"
        )]
    );
    assert_eq!(status_of(&result, "redirect"), "pass");
    let plain = check_of(&result, "plain");
    assert_eq!(
        messages(&result, "plain"),
        [fail(&format!(
            "{}/good answered 200 instead of redirecting to https://",
            server.base
        ))]
    );
    assert_eq!(plain["measurements"]["header_score"], 80.0);
    assert_eq!(
        messages(&result, "to-http"),
        [fail(&format!(
            "{}/to-http redirects (302) to /good instead of an https:// URL",
            server.base
        ))]
    );
}

// ---------------------------------------------------------------------------------------------
// webhook_signature

pub(crate) const GH_SECRET: &str = "gh-webhook-s3cret-7d1e";
const STRIPE_SECRET: &str = "whsec_stripe-s3cret-19af";
/// `whsec_` + base64 of 24 bytes.
const SW_SECRET: &str = "whsec_c2VjcmV0LWtleS1mb3ItcmVhZHktdGVzdHM=";

fn mac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn verdict(ok: bool) -> StatusCode {
    if ok {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[derive(Clone, Copy)]
enum Flaw {
    None,
    AcceptsUnsigned,
    Reserializes,
    IgnoresTimestamp,
}

fn github(h: &HeaderMap, body: &[u8], flaw: Flaw) -> StatusCode {
    let sig = header(h, "x-hub-signature-256");
    if sig.is_empty() {
        return verdict(matches!(flaw, Flaw::AcceptsUnsigned));
    }
    let signed = match flaw {
        Flaw::Reserializes => match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(v) => serde_json::to_vec(&v).unwrap(),
            Err(_) => return StatusCode::BAD_REQUEST,
        },
        _ => body.to_vec(),
    };
    verdict(
        sig == format!(
            "sha256={}",
            hex::encode(mac(GH_SECRET.as_bytes(), &[&signed]))
        ),
    )
}

fn stripe(h: &HeaderMap, body: &[u8], flaw: Flaw) -> StatusCode {
    let sig = header(h, "stripe-signature");
    let mut t = None;
    let mut v1 = None;
    for part in sig.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = Some(v),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return StatusCode::BAD_REQUEST;
    };
    if !matches!(flaw, Flaw::IgnoresTimestamp) && (now() - t).abs() > 300 {
        return StatusCode::BAD_REQUEST;
    }
    let ts = t.to_string();
    verdict(v1 == hex::encode(mac(STRIPE_SECRET.as_bytes(), &[ts.as_bytes(), b".", body])))
}

fn standard(h: &HeaderMap, body: &[u8], flaw: Flaw) -> StatusCode {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(SW_SECRET.trim_start_matches("whsec_")).unwrap();
    let (id, ts, sig) = (
        header(h, "webhook-id"),
        header(h, "webhook-timestamp"),
        header(h, "webhook-signature"),
    );
    let Ok(t) = ts.parse::<i64>() else {
        return StatusCode::BAD_REQUEST;
    };
    if !matches!(flaw, Flaw::IgnoresTimestamp) && (now() - t).abs() > 300 {
        return StatusCode::BAD_REQUEST;
    }
    let expected = format!(
        "v1,{}",
        b64.encode(mac(&key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]))
    );
    verdict(sig.split(' ').any(|s| s == expected))
}

pub(crate) fn webhook_app() -> Router {
    type Receiver = fn(&HeaderMap, &[u8], Flaw) -> StatusCode;
    let mut app = Router::new();
    let routes: [(&str, Receiver, Flaw); 7] = [
        ("/gh/good", github, Flaw::None),
        ("/gh/unsigned", github, Flaw::AcceptsUnsigned),
        ("/gh/reserialize", github, Flaw::Reserializes),
        ("/stripe/good", stripe, Flaw::None),
        ("/stripe/replay", stripe, Flaw::IgnoresTimestamp),
        ("/sw/good", standard, Flaw::None),
        ("/sw/replay", standard, Flaw::IgnoresTimestamp),
    ];
    for (path, receiver, flaw) in routes {
        app = app.route(
            path,
            axum::routing::post(move |h: HeaderMap, body: Bytes| async move {
                receiver(&h, &body, flaw)
            }),
        );
    }
    app
}

#[test]
fn webhook_receivers_per_scheme() {
    let server = http_server(webhook_app());
    let checks = [
        check(
            "gh-good",
            "webhook_signature",
            "{ path: /gh/good, scheme: hmac-sha256, secret: \"env:GH_SECRET\" }",
        ),
        check(
            "gh-no-secret",
            "webhook_signature",
            "{ path: /gh/good, scheme: hmac-sha256 }",
        ),
        check(
            "gh-unsigned",
            "webhook_signature",
            "{ path: /gh/unsigned, scheme: hmac-sha256, secret: \"env:GH_SECRET\" }",
        ),
        check(
            "gh-reserialize",
            "webhook_signature",
            "{ path: /gh/reserialize, scheme: hmac-sha256, secret: \"env:GH_SECRET\" }",
        ),
        check(
            "stripe-good",
            "webhook_signature",
            "{ path: /stripe/good, scheme: stripe, secret: \"env:STRIPE_SECRET\" }",
        ),
        check(
            "stripe-replay",
            "webhook_signature",
            "{ path: /stripe/replay, scheme: stripe, secret: \"env:STRIPE_SECRET\" }",
        ),
        check(
            "sw-good",
            "webhook_signature",
            "{ path: /sw/good, scheme: standard-webhooks, secret: \"env:SW_SECRET\" }",
        ),
        check(
            "sw-replay",
            "webhook_signature",
            "{ path: /sw/replay, scheme: standard-webhooks, secret: \"env:SW_SECRET\" }",
        ),
        check(
            "nothing-there",
            "webhook_signature",
            "{ path: /missing, scheme: stripe }",
        ),
        check(
            "unset",
            "webhook_signature",
            "{ path: /gh/good, scheme: hmac-sha256, secret: \"env:NOT_SET_ANYWHERE\" }",
        ),
    ]
    .concat();
    let env = [
        ("GH_SECRET", GH_SECRET),
        ("STRIPE_SECRET", STRIPE_SECRET),
        ("SW_SECRET", SW_SECRET),
    ];
    let (result, out) = run(&project(&server.base, &checks), &env);
    for (id, forged) in [("gh-good", 5), ("stripe-good", 6), ("sw-good", 6)] {
        let c = check_of(&result, id);
        assert_eq!(c["status"], "pass", "{c}");
        assert_eq!(
            c["message"],
            format!(
                "POST /{} rejected all {forged} forged deliveries and accepted a correctly signed one",
                id.replace("-good", "/good")
            )
        );
    }
    assert_eq!(status_of(&result, "gh-no-secret"), "warn");
    assert_eq!(
        messages(&result, "gh-no-secret"),
        [warn(
            "positive control not run: without `secret` an endpoint that rejects everything passes too"
        )]
    );
    assert_eq!(
        messages(&result, "gh-unsigned"),
        [fail(
            "an unsigned delivery was accepted (200): forged webhooks get processed"
        )]
    );
    assert_eq!(
        check_of(&result, "gh-unsigned")["findings"][0]["subject"],
        "POST /gh/unsigned unsigned"
    );
    assert_eq!(
        messages(&result, "gh-reserialize"),
        [fail(
            "a correctly signed delivery was rejected with 401: real deliveries would be refused (wrong secret, or verifying a re-serialised body instead of the raw bytes?)"
        )]
    );
    for id in ["stripe-replay", "sw-replay"] {
        assert_eq!(
            messages(&result, id),
            [fail(
                "a delivery timestamped 360s ago (tolerance 300s) was accepted (200): forged webhooks get processed"
            )],
            "{id}"
        );
    }
    let nothing = check_of(&result, "nothing-there");
    assert_eq!(nothing["status"], "error");
    assert_eq!(
        nothing["message"],
        "POST /missing answered 404/405 to every delivery: no webhook receiver there (wrong path or method?)"
    );
    let unset = check_of(&result, "unset");
    assert_eq!(unset["status"], "error");
    assert_eq!(
        unset["message"],
        "the webhook secret env:NOT_SET_ANYWHERE is not set: the positive control cannot run"
    );
    for secret in [GH_SECRET, STRIPE_SECRET, SW_SECRET] {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "secret leaked"
        );
    }
}

#[test]
fn webhook_literal_secret_is_a_configuration_error() {
    let p = project(
        "http://127.0.0.1:9",
        &check(
            "lit",
            "webhook_signature",
            "{ path: /gh, scheme: stripe, secret: whsec_literal-in-file }",
        ),
    );
    let out = p.ready(&["validate"], &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("ready.yaml:10:61: `secret` must name where the secret is"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("whsec_literal-in-file"),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// the built-in suite

#[test]
fn builtin_suite_probes_the_api_from_the_environment() {
    let (limited_app, _) = limited(vec![("/", limiter(10, MINUTE, Headers::X))]);
    let app = limited_app
        .route(
            "/health",
            get(|| async { respond(200, "application/health+json", r#"{"status":"pass"}"#) }),
        )
        .route(
            "/webhook",
            axum::routing::post(|h: HeaderMap, body: Bytes| async move {
                github(&h, &body, Flaw::None)
            }),
        );
    let server = http_server(app);
    let empty = Project::new("");
    std::fs::remove_file(empty.path("ready.yaml")).unwrap();
    let out = empty.ready(
        &["check", "--only", "http.*", "--format", "json"],
        &[("READY_HTTP_URL", &server.base)],
    );
    let result = out.json();
    common::assert_valid_result(&result);
    assert_eq!(
        status_of(&result, "http.health"),
        "pass",
        "{}",
        check_of(&result, "http.health")
    );
    assert_eq!(
        status_of(&result, "http.rate-limit.get"),
        "pass",
        "{}",
        check_of(&result, "http.rate-limit.get")
    );
    assert_eq!(
        status_of(&result, "http.rate-limit.post"),
        "pass",
        "{}",
        check_of(&result, "http.rate-limit.post")
    );
    assert_eq!(status_of(&result, "http.webhook-signature"), "warn");
    let tls = check_of(&result, "http.tls");
    assert_eq!(tls["status"], "error");
    assert!(
        tls["message"]
            .as_str()
            .unwrap()
            .ends_with("is not an https:// URL: there is no TLS to check (give `host`)"),
        "{tls}"
    );
    let headers = check_of(&result, "http.security-headers");
    assert_eq!(headers["status"], "fail");
    // The base URL has no password, so it is shown; the burst may have emptied the bucket
    // before this request, so the status is 200 or 429.
    let first = headers["findings"][0]["message"].as_str().unwrap();
    assert!(
        first.starts_with(&format!("{}/ answered ", server.base))
            && first.ends_with(" instead of redirecting to https://"),
        "{first}"
    );
}

#[test]
fn unreachable_and_slow_endpoints_are_errors_for_every_kind() {
    let server = http_server(Router::new().route(
        "/slow",
        any(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "late"
        }),
    ));
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    let mut checks = String::new();
    for (kind, params) in [
        ("rate_limit", "max_requests: 10"),
        ("security_headers", "rules: [hsts]"),
        ("webhook_signature", "scheme: stripe"),
    ] {
        checks += &format!(
            "  - id: dead-{kind}\n    category: security\n    severity: high\n    {kind}: {{ url: \"{dead}/x\", {params} }}\n"
        );
        checks += &format!(
            "  - id: slow-{kind}\n    category: security\n    severity: high\n    target: api\n    timeout: 300ms\n    {kind}: {{ path: /slow, {params} }}\n"
        );
    }
    let (result, _) = run(&project(&server.base, &checks), &[]);
    for kind in ["rate_limit", "security_headers", "webhook_signature"] {
        let dead = check_of(&result, &format!("dead-{kind}"));
        assert_eq!(dead["status"], "error", "{dead}");
        assert!(
            dead["message"].as_str().unwrap().contains("cannot connect"),
            "{dead}"
        );
        let slow = check_of(&result, &format!("slow-{kind}"));
        assert_eq!(slow["status"], "error", "{slow}");
        assert_eq!(slow["message"], "timed out after 300ms", "{slow}");
    }
}

// ---------------------------------------------------------------------------------------------
// a stock web server's own limiter: nginx limit_req

/// nginx started for one test from the local binary, stopped when dropped.
pub(crate) struct Nginx {
    child: std::process::Child,
    pub(crate) base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const NGINX_ZONES: [&str; 6] = [
    "default", "strict", "loose-1", "loose-32", "tight-1", "tight-32",
];

fn nginx(locations: &str) -> Nginx {
    nginx_with("", locations)
}

/// nginx with `zones` (more `limit_req_zone` lines) besides one per `NGINX_ZONES` entry.
pub(crate) fn nginx_with(zones: &str, locations: &str) -> Nginx {
    let binary = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .expect("nginx is not installed (.ci/run installs nginx-light)");
    let dir = tempfile::Builder::new()
        .prefix("ready-nginx-")
        .tempdir()
        .unwrap();
    let root = dir.path().display().to_string();
    std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
    for zone in NGINX_ZONES {
        std::fs::create_dir_all(dir.path().join("www").join(zone)).unwrap();
        std::fs::write(dir.path().join("www").join(zone).join("index.html"), "ok").unwrap();
    }
    let port = common::free_port();
    // One zone (and one folder to serve) per location, so that each check meets a fresh limiter.
    let zones: String = NGINX_ZONES
        .iter()
        .map(|z| format!("limit_req_zone $binary_remote_addr zone={z}:1m rate=10r/m;\n"))
        .chain([zones.to_string()])
        .collect();
    let temp_paths: String = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
        .iter()
        .map(|t| format!("{t}_temp_path {root}/tmp;\n"))
        .collect();
    std::fs::write(
        dir.path().join("nginx.conf"),
        format!(
            "daemon off;\nmaster_process off;\npid {root}/nginx.pid;\nevents {{ worker_connections 256; }}\n\
             http {{\naccess_log off;\n{temp_paths}\
             {zones}\
             server {{\nlisten 127.0.0.1:{port};\nroot {root}/www;\n{locations}\n}}\n}}\n"
        ),
    )
    .unwrap();
    let child = std::process::Command::new(binary)
        .args(["-e", "stderr", "-p", &root, "-c"])
        .arg(dir.path().join("nginx.conf"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nginx did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Nginx {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    }
}

#[test]
fn nginx_limit_req_is_judged_as_configured() {
    let server = nginx(
        "location /default/ { limit_req zone=default burst=5 nodelay; }\n\
         location /strict/ { limit_req zone=strict burst=5 nodelay; limit_req_status 429; }",
    );
    let checks = [
        check(
            "default",
            "rate_limit",
            "{ path: /default/, limit: 6, window: 60s, concurrency: 1 }",
        ),
        check(
            "strict",
            "rate_limit",
            "{ path: /strict/, limit: 6, window: 60s, concurrency: 1 }",
        ),
    ]
    .concat();
    let (result, _) = run(&project(&server.base, &checks), &[]);
    let no_headers = "no rate-limit headers in any response: none of RateLimit/RateLimit-Policy, RateLimit-Limit/-Remaining/-Reset or X-RateLimit-Limit/-Remaining/-Reset";
    // rate=10r/m with burst=5 nodelay serves 1 + 5, then rejects: with 503 unless told otherwise.
    assert_eq!(
        messages(&result, "default"),
        [
            fail(
                "the limiter answered 503 instead of 429 at request 7: clients read 503 as an outage, not as a signal to slow down (nginx limit_req answers 503 unless `limit_req_status 429;` is set)"
            ),
            fail(no_headers),
        ]
    );
    assert_eq!(
        messages(&result, "strict"),
        [
            fail("the 429 response has no Retry-After header: clients cannot tell when to retry"),
            fail(no_headers),
        ]
    );
    assert_eq!(
        check_of(&result, "strict")["measurements"]["first_limited_at"],
        7.0
    );
    assert_eq!(check_of(&result, "strict")["measurements"]["served"], 6.0);
}

/// nginx serves 20 (1 + burst 19) and rejects the rest: one connection or 32, the verdict, the
/// message and the measurements are the same, counted from what nginx served.
#[test]
fn nginx_limit_req_gets_one_verdict_at_any_concurrency() {
    let location = |zone: &str| {
        format!(
            "location /{zone}/ {{ limit_req zone={zone} burst=19 nodelay; limit_req_status 429; \
             add_header Retry-After 6 always; add_header X-RateLimit-Limit 20 always; }}\n"
        )
    };
    let server = nginx(
        &NGINX_ZONES[2..]
            .iter()
            .map(|z| location(z))
            .collect::<String>(),
    );
    let checks: String = [("loose", 15), ("tight", 20)]
        .iter()
        .flat_map(|(name, limit)| {
            [1, 32].map(|c| {
                check(
                    &format!("{name}-{c}"),
                    "rate_limit",
                    &format!(
                        "{{ path: /{name}-{c}/, limit: {limit}, window: 60s, concurrency: {c}, headers: none }}"
                    ),
                )
            })
        })
        .collect();
    let (result, _) = run(&project(&server.base, &checks), &[]);
    for c in [1, 32] {
        let loose = check_of(&result, &format!("loose-{c}"));
        assert_eq!(loose["status"], "fail", "{loose}");
        assert_eq!(
            messages(&result, &format!("loose-{c}")),
            [fail(
                "the first 429 came at request 21 after 20 served requests (limit 15 per 1m): expected by request 18 (limit + 10%)"
            )]
        );
        let tight = check_of(&result, &format!("tight-{c}"));
        assert_eq!(tight["status"], "pass", "{tight}");
        assert_eq!(
            tight["message"],
            format!("GET /tight-{c}/ served 20 requests, then answered 429 (limit 20 per 1m)")
        );
        for name in ["loose", "tight"] {
            let m = &check_of(&result, &format!("{name}-{c}"))["measurements"];
            assert_eq!(
                *m,
                serde_json::json!({"served": 20.0, "first_limited_at": 21.0, "retry_after_s": 6.0}),
                "{name}-{c}"
            );
        }
    }
}

#[test]
fn target_headers_and_check_headers_are_sent() {
    const KEY: &str = "anon-key-5e1f0c";
    let (limited_app, _) = limited(vec![("/limited", limiter(5, MINUTE, Headers::X))]);
    // Every route answers 401 without the target's key and the check's own header.
    let app = limited_app
        .route(
            "/health",
            get(|| async { respond(200, "application/health+json", r#"{"status":"pass"}"#) }),
        )
        .layer(axum::middleware::from_fn(
            |request: axum::extract::Request, next: axum::middleware::Next| async move {
                let allowed = {
                    let h = request.headers();
                    h.get("apikey").is_some_and(|v| v == KEY)
                        && h.get("x-probe").is_some_and(|v| v == "ready")
                };
                if allowed {
                    next.run(request).await
                } else {
                    StatusCode::UNAUTHORIZED.into_response()
                }
            },
        ));
    let server = http_server(app);
    let config = format!(
        "targets:\n  api: {{ http: \"{}\", headers: {{ apikey: \"{KEY}\" }} }}\nchecks:\n{}{}",
        server.base,
        check(
            "health",
            "health",
            "{ path: /health, headers: { x-probe: ready } }"
        ),
        check(
            "limit",
            "rate_limit",
            "{ path: /limited, limit: 5, headers: { x-probe: ready } }"
        ),
    );
    let (result, out) = run(&Project::new(&config), &[]);
    assert_eq!(
        status_of(&result, "health"),
        "pass",
        "{}",
        check_of(&result, "health")
    );
    assert_eq!(
        status_of(&result, "limit"),
        "pass",
        "{}",
        check_of(&result, "limit")
    );
    assert!(!out.stdout.contains(KEY));
}

#[test]
fn webhook_header_body_and_rejection_statuses_are_configurable() {
    // A GitHub-style receiver on its own header name that answers 422 to bad signatures.
    let app = Router::new().route(
        "/custom",
        axum::routing::post(|h: HeaderMap, body: Bytes| async move {
            let sig = header(&h, "x-signature");
            let good = format!(
                "sha256={}",
                hex::encode(mac(GH_SECRET.as_bytes(), &[&body]))
            );
            if sig == good && body.as_ref() == b"ping=1" {
                StatusCode::NO_CONTENT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            }
        }),
    );
    let server = http_server(app);
    let params = "{ path: /custom, scheme: hmac-sha256, header: X-Signature, secret: \"env:GH_SECRET\", body: \"ping=1\"";
    let checks = [
        check(
            "custom",
            "webhook_signature",
            &format!("{params}, reject_status: 422 }}"),
        ),
        check(
            "default-statuses",
            "webhook_signature",
            &format!("{params} }}"),
        ),
    ]
    .concat();
    let (result, _) = run(&project(&server.base, &checks), &[("GH_SECRET", GH_SECRET)]);
    assert_eq!(
        status_of(&result, "custom"),
        "pass",
        "{}",
        check_of(&result, "custom")
    );
    let unsigned = messages(&result, "default-statuses");
    assert_eq!(unsigned.len(), 5, "{unsigned:?}");
    assert_eq!(
        unsigned[0],
        fail("an unsigned delivery was answered 422, expected a rejection with 400, 401, 403")
    );
}
