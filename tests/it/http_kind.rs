//! The `http` kind against real in-process servers.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::{Project, check_of, http_server, status_of};
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::json;

fn app() -> Router {
    let flaky = Arc::new(AtomicU32::new(0));
    Router::new()
        .route(
            "/health",
            get(|| async {
                (
                    [("content-type", "application/json"), ("x-version", "1.4.2")],
                    r#"{"status":"up","db":{"ok":true}}"#,
                )
            }),
        )
        .route(
            "/down",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "maintenance") }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(150)).await;
                "late"
            }),
        )
        .route(
            "/hang",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "never"
            }),
        )
        .route(
            "/auth",
            get(|headers: HeaderMap| async move {
                match headers.get("apikey").and_then(|v| v.to_str().ok()) {
                    Some("k-live-123456") => (StatusCode::OK, "welcome"),
                    _ => (StatusCode::UNAUTHORIZED, "no key"),
                }
            }),
        )
        .route("/echo", post(|body: String| async move { body }))
        .route(
            "/old",
            get(|| async { axum::response::Redirect::to("/login") }),
        )
        .route(
            "/login",
            get(|| async { ([("content-type", "application/json")], r#"{"n": 1.0}"#) }),
        )
        .route(
            "/flaky",
            get(move || {
                let n = flaky.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n.is_multiple_of(2) {
                        StatusCode::OK
                    } else {
                        StatusCode::BAD_GATEWAY
                    }
                }
            }),
        )
}

fn project(base: &str, checks: &str) -> Project {
    Project::new(&format!(
        "targets:\n  api:\n    http: \"{base}\"\n    headers: {{ apikey: \"${{API_KEY}}\" }}\nchecks:\n{checks}"
    ))
}

fn http_check(id: &str, params: &str) -> String {
    format!(
        "  - id: {id}\n    category: reliability\n    severity: high\n    target: api\n    http: {params}\n"
    )
}

#[test]
fn status_headers_json_and_body_pass() {
    let server = http_server(app());
    let checks = [
        http_check("health", "{ path: /health, expect: { status: 200, headers: { x-version: \"1.4\" }, json: { /status: up, /db/ok: true }, body_contains: status } }"),
        http_check("auth", "{ path: /auth, expect: { status: \"2xx\", body_contains: [welcome] } }"),
        http_check("post", "{ method: post, path: /echo, body: { order: 7 }, expect: { json: { /order: 7 } } }"),
    ]
    .concat();
    let run = project(&server.base, &checks).ready(
        &["check", "--format", "json"],
        &[("API_KEY", "k-live-123456")],
    );
    let result = run.json();
    common::assert_valid_result(&result);
    for id in ["health", "auth", "post"] {
        assert_eq!(status_of(&result, id), "pass", "{}", check_of(&result, id));
    }
    assert!(check_of(&result, "health")["measurements"]["latency_ms"].is_number());
    assert!(!run.stdout.contains("k-live-123456"));
}

#[test]
fn mismatches_fail_with_exact_findings() {
    let server = http_server(app());
    let checks = [
        http_check("down", "{ path: /down, expect: { status: [200, 204] } }"),
        http_check("fields", "{ path: /health, expect: { headers: { x-version: \"2.\", x-missing: \"\" }, json: { /status: down, /nope: 1 }, body_contains: degraded } }"),
        http_check("nojson", "{ path: /down, expect: { status: 503, json: { /status: up } } }"),
    ]
    .concat();
    let result = project(&server.base, &checks)
        .ready(&["check", "--format", "json"], &[("API_KEY", "x")])
        .json();
    let down = check_of(&result, "down");
    assert_eq!(down["status"], "fail");
    assert_eq!(down["findings"][0]["subject"], "GET /down");
    assert_eq!(
        down["findings"][0]["message"],
        "GET /down answered 503, expected 200 or 204"
    );
    assert_eq!(
        down["findings"][0]["evidence"],
        json!({"status": 503, "body": "maintenance"})
    );
    let messages: Vec<&str> = check_of(&result, "fields")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "header x-missing is missing",
            "header x-version is \"1.4.2\", expected it to contain \"2.\"",
            "the body does not contain \"degraded\"",
            "JSON field /nope is missing",
            "JSON field /status is \"up\", expected \"down\"",
        ]
    );
    let nojson = check_of(&result, "nojson");
    assert_eq!(nojson["findings"].as_array().unwrap().len(), 1);
    assert!(
        nojson["findings"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("the body is not JSON")
    );
}

#[test]
fn a_followed_redirect_is_said_and_can_be_turned_off() {
    let server = http_server(app());
    let checks = [
        http_check("followed", "{ path: /old, expect: { status: 303 } }"),
        http_check(
            "judged",
            "{ path: /old, follow_redirects: false, expect: { status: 303 } }",
        ),
        http_check("float", "{ path: /login, expect: { json: { /n: 1 } } }"),
    ]
    .concat();
    let result = project(&server.base, &checks)
        .ready(&["check", "--format", "json"], &[("API_KEY", "x")])
        .json();
    let followed = check_of(&result, "followed");
    assert_eq!(followed["status"], "fail");
    assert_eq!(
        followed["findings"][0]["message"],
        "GET /old answered 200 after a redirect to /login, expected 303 (set follow_redirects: false to judge the redirect itself)"
    );
    assert_eq!(
        status_of(&result, "judged"),
        "pass",
        "{}",
        check_of(&result, "judged")
    );
    assert_eq!(
        status_of(&result, "float"),
        "pass",
        "{}",
        check_of(&result, "float")
    );
}

#[test]
fn samples_report_percentiles_and_latency_limits_apply_to_p95() {
    let server = http_server(app());
    let checks = [
        http_check(
            "fast",
            "{ path: /health, samples: 20, expect: { max_latency: 2s } }",
        ),
        http_check(
            "slow",
            "{ path: /slow, samples: 3, expect: { max_latency: 50ms } }",
        ),
        http_check(
            "flaky",
            "{ path: /flaky, samples: 5, expect: { status: 200 } }",
        ),
    ]
    .concat();
    let result = project(&server.base, &checks)
        .ready(&["check", "--format", "json"], &[("API_KEY", "x")])
        .json();
    let fast = check_of(&result, "fast");
    assert_eq!(fast["status"], "pass");
    let m = fast["measurements"].as_object().unwrap();
    assert_eq!(
        m.keys().collect::<Vec<_>>(),
        ["max_ms", "p50_ms", "p95_ms", "p99_ms"]
    );
    assert!(m["p50_ms"].as_f64().unwrap() <= m["p95_ms"].as_f64().unwrap());
    let slow = check_of(&result, "slow");
    assert_eq!(slow["status"], "fail");
    let message = slow["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("p95 latency ") && message.ends_with(" ms is over the limit of 50 ms"),
        "{message}"
    );
    let flaky = check_of(&result, "flaky");
    // 200 and 502 by turns: every sample is judged, not only the first.
    assert_eq!(flaky["status"], "fail");
    assert_eq!(
        flaky["findings"][0]["message"],
        "sample 2 of 5 answered 502, expected 200; 2 of 5 samples failed"
    );
    assert_eq!(flaky["findings"][0]["evidence"]["sample"], 2);
}

#[test]
fn unreachable_and_hanging_services_are_errors_and_retries_apply() {
    let server = http_server(app());
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    let checks = format!(
        "{}{}  - id: dead\n    category: reliability\n    severity: high\n    retries: 1\n    http: {{ url: \"{dead}/health\" }}\n",
        http_check("hang", "{ path: /hang }")
            .replace("    target: api\n", "    target: api\n    timeout: 300ms\n"),
        http_check("hang-retried", "{ path: /hang }").replace(
            "    target: api\n",
            "    target: api\n    timeout: 300ms\n    retries: 2\n"
        ),
    );
    let run = project(&server.base, &checks).ready(
        &["check", "--format", "json", "-v"],
        &[("API_KEY", "k-live-123456")],
    );
    let result = run.json();
    assert_eq!(check_of(&result, "hang")["status"], "error");
    assert_eq!(
        check_of(&result, "hang")["message"],
        "timed out after 300ms"
    );
    // Three attempts of 300ms and two pauses (200ms, 400ms) between them.
    let retried = check_of(&result, "hang-retried");
    assert_eq!(
        (&retried["status"], &retried["message"]),
        (
            &serde_json::json!("error"),
            &serde_json::json!("timed out after 300ms (3 attempts)")
        )
    );
    assert!(
        retried["duration_ms"].as_u64().unwrap() >= 1500,
        "{retried}"
    );
    let dead_check = check_of(&result, "dead");
    assert_eq!(dead_check["status"], "error");
    assert!(
        dead_check["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("GET {dead}/health: cannot connect")),
        "{dead_check}"
    );
    assert!(
        run.stderr.contains("retrying"),
        "retries are logged at -v: {}",
        run.stderr
    );
    assert!(!run.stderr.contains("k-live-123456") && !run.stdout.contains("k-live-123456"));
    assert_eq!(run.code, 1);
}

/// Methods and URLs are read with the configuration: a bad one is a configuration error, found
/// before anything runs.
#[test]
fn bad_methods_and_urls_are_configuration_errors() {
    let checks = format!(
        "{}{}{}",
        http_check("badmethod", "{ method: \"GE T\", path: /health }"),
        http_check("relative", "{ url: /health }"),
        http_check("ftp", "{ url: \"ftp://files.example.com/x\" }"),
    );
    let run = project("http://127.0.0.1:9", &checks).ready(&["validate"], &[("API_KEY", "k")]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    for expected in [
        "invalid HTTP method `GE T` (in `http` of check `badmethod`)",
        "invalid url /health: relative URL without a base (in `http` of check `relative`)",
        "invalid url: the scheme must be http:// or https://, not ftp:// (in `http` of check `ftp`)",
    ] {
        assert!(run.stderr.contains(expected), "{expected}: {}", run.stderr);
    }
}

#[test]
fn a_target_never_sees_more_checks_at_once_than_its_limit() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (now, max) = (in_flight.clone(), peak.clone());
    let app = Router::new().route(
        "/work",
        get(move || {
            let (now, max) = (now.clone(), max.clone());
            async move {
                let current = now.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(current, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(60)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                "done"
            }
        }),
    );
    let server = http_server(app);
    let config = format!(
        "targets:\n  api: {{ http: \"{}\", concurrency: 3 }}\nchecks:\n  - id: w.{{{{item}}}}\n    for_each: [a, b, c, d, e, f, g, h, i, j, k, l]\n    category: reliability\n    severity: low\n    target: api\n    http: {{ path: /work }}\n",
        server.base
    );
    let run =
        Project::new(&config).ready(&["check", "--format", "json", "--concurrency", "16"], &[]);
    let result = run.json();
    assert_eq!(result["counts"]["pass"], 12, "{}", run.stdout);
    assert_eq!(
        peak.load(Ordering::SeqCst),
        3,
        "the target's limit of 3 is reached and never passed"
    );
}

#[test]
fn a_body_past_the_cap_is_not_read_and_the_finding_says_so() {
    // 20 MiB of JSON whose only interesting part is at the end.
    let big = Router::new().route(
        "/big",
        get(|| async {
            let mut body = String::from(r#"{"pad": ""#);
            body.push_str(&"x".repeat(20 << 20));
            body.push_str(r#"", "ok": true, "tail": "done"}"#);
            body
        }),
    );
    let server = http_server(big);
    let checks = http_check(
        "big",
        "{ path: /big, expect: { body_contains: done, json: { /ok: true } } }",
    );
    let result = project(&server.base, &checks)
        .ready(&["check", "--format", "json"], &[("API_KEY", "x")])
        .json();
    let big = check_of(&result, "big");
    let messages: Vec<&str> = big["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "the first 1 MiB of the body do not contain \"done\" (the rest was not read)",
            "the body is larger than 1 MiB: the rest was not read, so its JSON cannot be checked",
        ]
    );
    assert_eq!(big["findings"][0]["evidence"]["body_read_bytes"], 1 << 20);
}
