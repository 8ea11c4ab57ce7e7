//! The HTTP probe kinds (`health`, `rate_limit`, `security_headers`, `webhook_signature`)
//! against real servers started in-process: correct ones, and each kind of broken one.
//! One file per kind: `rate_limit` (with nginx `limit_req`), `security_headers`,
//! `webhook_signature`; `health`, the built-in suite and what every kind shares are here.

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

mod rate_limit;
mod security_headers;
mod webhook_signature;

use self::rate_limit::MINUTE;
pub(crate) use self::rate_limit::{Headers, limited, limiter, nginx_with};
use self::webhook_signature::{Flaw, github};
pub(crate) use self::webhook_signature::{GH_SECRET, webhook_app};

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
