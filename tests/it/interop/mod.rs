//! Interoperability: real third-party implementations from PyPI and npm (rate limiters, login
//! lockouts, webhook verifiers, health libraries, helmet and cors) and certificates made with the
//! `openssl` CLI, started on loopback and probed by the `ready` binary, with the exact verdicts
//! asserted.
//! The apps are under `tests/interop/`; `tests/interop/setup.sh` installs their pinned
//! dependencies. Each test starts its own servers (in parallel) and kills them when it ends.

mod certs;
mod keyed;
mod lockout;
mod sarif_multitool;
mod servers;
mod verdicts;

use std::path::Path;

use self::certs::{new_key, openssl, openssl_ca, openssl_leaf};
use self::servers::{Server, node, python};
use crate::common::{self, Project, check_of, status_of};

/// A Stripe endpoint secret, used as is.
const STRIPE_SECRET: &str = "whsec_interop-stripe-7c1e5a";
/// A Standard Webhooks / svix secret: `whsec_` + base64 of the key.
const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// A GitHub webhook secret.
const GH_SECRET: &str = "interop-github-secret-52b9";

/// A suite with one target per server (`name: base URL`) and the given checks.
fn suite(targets: &[(&str, &Server)], checks: &[String]) -> Project {
    let targets: String = targets
        .iter()
        .map(|(name, server)| format!("  {name}: {{ http: \"{}\" }}\n", server.base))
        .collect();
    Project::new(&format!(
        "version: 1\nproject: interop\ntargets:\n{targets}checks:\n{}",
        checks.concat()
    ))
}

fn check(id: &str, target: &str, kind: &str, params: &str) -> String {
    format!(
        "  - id: {id}\n    category: security\n    severity: high\n    target: {target}\n    {kind}: {params}\n"
    )
}

/// `ready check --format json` with `env`: it must reach a decision and print a valid result.
fn run(project: &Project, env: &[(&str, &str)]) -> serde_json::Value {
    let out = project.ready(&["check", "--format", "json"], env);
    assert!(
        out.code == 0 || out.code == 1,
        "exit {}: {}\n{}",
        out.code,
        out.stdout,
        out.stderr
    );
    let result = out.json();
    common::assert_valid_result(&result);
    result
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

fn message(result: &serde_json::Value, id: &str) -> String {
    check_of(result, id)["message"]
        .as_str()
        .unwrap()
        .to_string()
}

fn measurement(result: &serde_json::Value, id: &str, name: &str) -> f64 {
    check_of(result, id)["measurements"][name]
        .as_f64()
        .unwrap_or_else(|| panic!("{id} has no measurement {name}"))
}

fn assert_status(result: &serde_json::Value, id: &str, status: &str) {
    assert_eq!(status_of(result, id), status, "{}", check_of(result, id));
}

// ---------------------------------------------------------------------------------------------
// rate limiters: slowapi, Flask-Limiter, express-rate-limit, @fastify/rate-limit

const NO_HEADERS: &str = "no rate-limit headers in any response: none of RateLimit/RateLimit-Policy, RateLimit-Limit/-Remaining/-Reset or X-RateLimit-Limit/-Remaining/-Reset";

#[test]
fn rate_limiters_in_every_header_style_serve_exactly_their_limit() {
    let starting = [
        python("slowapi_app", &[], &[]),
        python("flask_limiter_app", &[], &[]),
        node("express_rate_limit", &[], &[]),
        node("fastify_rate_limit", &[], &[]),
    ];
    let [slowapi, flask, express, fastify] = starting.map(|s| s.wait());
    // One connection, so that "the first 429 at request 21" is what the server did.
    let limit = |path: &str| format!("{{ path: {path}, limit: 20, window: 60s, concurrency: 1 }}");
    let cases = [
        ("slowapi", "slowapi", "/limited"),
        ("flask-limiter", "flask", "/limited"),
        ("erl-draft-6", "express", "/draft-6/a"),
        ("erl-draft-7", "express", "/draft-7/a"),
        ("erl-draft-8", "express", "/draft-8/a"),
        ("erl-legacy", "express", "/legacy/a"),
        ("fastify", "fastify", "/limited"),
        ("fastify-draft", "fastify", "/draft"),
    ];
    let mut checks: Vec<String> = cases
        .iter()
        .map(|(id, target, path)| check(id, target, "rate_limit", &limit(path)))
        .collect();
    checks.push(check(
        "erl-no-headers",
        "express",
        "rate_limit",
        &limit("/none/a"),
    ));
    checks.push(check(
        "erl-looser-than-declared",
        "express",
        "rate_limit",
        "{ path: /draft-7/b, limit: 15, window: 60s, concurrency: 1 }",
    ));
    let project = suite(
        &[
            ("slowapi", &slowapi),
            ("flask", &flask),
            ("express", &express),
            ("fastify", &fastify),
        ],
        &checks,
    );
    let result = run(&project, &[]);
    for (id, _, path) in cases {
        assert_status(&result, id, "pass");
        assert_eq!(
            message(&result, id),
            format!("GET {path} served 20 requests, then answered 429 (limit 20 per 1m)")
        );
        assert_eq!(measurement(&result, id, "served"), 20.0, "{id}");
        let retry = measurement(&result, id, "retry_after_s");
        // Counted down from the window of 60s by its start, some seconds before the 429.
        assert!((50.0..=60.0).contains(&retry), "{id}: Retry-After {retry}");
    }
    assert_eq!(
        messages(&result, "erl-no-headers"),
        [
            fail("the 429 response has no Retry-After header: clients cannot tell when to retry"),
            fail(NO_HEADERS),
        ]
    );
    assert_eq!(
        messages(&result, "erl-looser-than-declared"),
        [
            fail(
                "the first 429 came at request 21 after 20 served requests (limit 15 per 1m): expected by request 18 (limit + 10%)"
            ),
            fail("RateLimit/RateLimit-Policy headers give a limit of 20, the check expects 15"),
        ]
    );
}

/// express-rate-limit serves exactly 20: over one connection or 32, the same verdict, message
/// and measurements, counted from what it served.
#[test]
fn express_rate_limit_gets_one_verdict_at_any_concurrency() {
    let express = node("express_rate_limit", &[], &[]).wait();
    let checks: Vec<String> = [(1, "a", 20), (32, "b", 20), (1, "c", 15)]
        .iter()
        .map(|(c, path, limit)| {
            check(
                path,
                "express",
                "rate_limit",
                &format!(
                    "{{ path: /draft-7/{path}, limit: {limit}, window: 60s, concurrency: {c} }}"
                ),
            )
        })
        .chain([check(
            "d",
            "express",
            "rate_limit",
            "{ path: /legacy/a, limit: 15, window: 60s, concurrency: 32, headers: none }",
        )])
        .collect();
    let result = run(&suite(&[("express", &express)], &checks), &[]);
    for id in ["a", "b"] {
        assert_status(&result, id, "pass");
        assert_eq!(
            message(&result, id),
            format!("GET /draft-7/{id} served 20 requests, then answered 429 (limit 20 per 1m)")
        );
        assert_eq!(measurement(&result, id, "served"), 20.0, "{id}");
        assert_eq!(measurement(&result, id, "first_limited_at"), 21.0, "{id}");
    }
    // The case: 15 declared, 20 served, at one connection and at 32.
    for (id, path) in [("c", "/draft-7/c"), ("d", "/legacy/a")] {
        assert_status(&result, id, "fail");
        assert_eq!(
            messages(&result, id)[0],
            fail(
                "the first 429 came at request 21 after 20 served requests (limit 15 per 1m): expected by request 18 (limit + 10%)"
            ),
            "{path}"
        );
        assert_eq!(measurement(&result, id, "served"), 20.0, "{id}");
    }
}

// ---------------------------------------------------------------------------------------------
// webhook verifiers: stripe (Node and Python), standardwebhooks and svix (Node), @octokit/webhooks

/// The checks on a receiver at `/webhook` of `target`, and any extra parameters.
fn webhook(id: &str, target: &str, scheme: &str, secret_var: &str, extra: &str) -> String {
    check(
        id,
        target,
        "webhook_signature",
        &format!("{{ path: /webhook, scheme: {scheme}, secret: \"env:{secret_var}\"{extra} }}"),
    )
}

#[test]
fn webhook_verifiers_reject_every_forgery_and_accept_the_signed_delivery() {
    let stripe_env = [("WEBHOOK_SECRET", STRIPE_SECRET)];
    let sw_env = [("WEBHOOK_SECRET", SW_SECRET)];
    let starting = [
        python("stripe_app", &[], &stripe_env),
        node("stripe_webhook", &[], &stripe_env),
        node("standardwebhooks_webhook", &[], &sw_env),
        node("svix_webhook", &[], &sw_env),
        node("octokit_webhooks", &[], &[("WEBHOOK_SECRET", GH_SECRET)]),
    ];
    let [stripe_py, stripe_js, sw_js, svix_js, octokit] = starting.map(|s| s.wait());
    let checks = [
        webhook("stripe-python", "stripe_py", "stripe", "STRIPE_SECRET", ""),
        webhook("stripe-node", "stripe_js", "stripe", "STRIPE_SECRET", ""),
        webhook(
            "standardwebhooks-node",
            "sw_js",
            "standard-webhooks",
            "SW_SECRET",
            "",
        ),
        webhook("svix-node", "svix_js", "standard-webhooks", "SW_SECRET", ""),
        // The middleware wants GitHub's event headers on every delivery.
        webhook(
            "octokit",
            "octokit",
            "hmac-sha256",
            "GH_SECRET",
            ", headers: { X-GitHub-Event: ping, X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958 }",
        ),
        check(
            "stripe-node-reserialised",
            "stripe_js",
            "webhook_signature",
            "{ path: /reserialised, scheme: stripe, secret: \"env:STRIPE_SECRET\" }",
        ),
    ];
    let project = suite(
        &[
            ("stripe_py", &stripe_py),
            ("stripe_js", &stripe_js),
            ("sw_js", &sw_js),
            ("svix_js", &svix_js),
            ("octokit", &octokit),
        ],
        &checks,
    );
    let env = [
        ("STRIPE_SECRET", STRIPE_SECRET),
        ("SW_SECRET", SW_SECRET),
        ("GH_SECRET", GH_SECRET),
    ];
    let result = run(&project, &env);
    for (id, forged) in [
        ("stripe-python", 6),
        ("stripe-node", 6),
        ("standardwebhooks-node", 6),
        ("svix-node", 6),
        ("octokit", 5),
    ] {
        assert_status(&result, id, "pass");
        assert_eq!(
            message(&result, id),
            format!(
                "POST /webhook rejected all {forged} forged deliveries and accepted a correctly signed one"
            )
        );
    }
    // JSON.stringify compacts the spaced probe body: the signed delivery no longer verifies.
    assert_eq!(
        messages(&result, "stripe-node-reserialised"),
        [fail(
            "a correctly signed delivery was rejected with 400: real deliveries would be refused (wrong secret, or verifying a re-serialised body instead of the raw bytes?)"
        )]
    );
    let printed = result.to_string();
    for secret in [STRIPE_SECRET, SW_SECRET, GH_SECRET] {
        assert!(!printed.contains(secret), "a secret leaked");
    }
}

// ---------------------------------------------------------------------------------------------
// health libraries: @godaddy/terminus, express-actuator, fastapi-health, PyPI healthcheck

#[test]
fn health_libraries_are_read_as_up_or_down() {
    let starting = [
        node("terminus_health", &[], &[]),
        node("express_actuator", &[], &[]),
        python("fastapi_health_app", &[], &[]),
        python("healthcheck_app", &[], &[]),
    ];
    let [terminus, actuator, fastapi, healthcheck] = starting.map(|s| s.wait());
    let checks = [
        check(
            "terminus",
            "terminus",
            "health",
            "{ path: /healthcheck, components: [database] }",
        ),
        check(
            "terminus-down",
            "terminus",
            "health",
            "{ path: /healthcheck/down }",
        ),
        check(
            "actuator",
            "actuator",
            "health",
            "{ path: /actuator/health }",
        ),
        check("fastapi-health", "fastapi", "health", "{ path: /health }"),
        check(
            "fastapi-health-failing",
            "fastapi",
            "health",
            "{ path: /health/failing }",
        ),
        check(
            "healthcheck-down",
            "healthcheck",
            "health",
            "{ path: /healthcheck/down }",
        ),
    ];
    let project = suite(
        &[
            ("terminus", &terminus),
            ("actuator", &actuator),
            ("fastapi", &fastapi),
            ("healthcheck", &healthcheck),
        ],
        &checks,
    );
    let result = run(&project, &[]);
    for (id, says) in [
        (
            "terminus",
            "GET /healthcheck answered 200, body status \"ok\"",
        ),
        (
            "actuator",
            "GET /actuator/health answered 200, body status \"UP\"",
        ),
        ("fastapi-health", "GET /health answered 200"),
    ] {
        assert_status(&result, id, "pass");
        assert!(
            message(&result, id).starts_with(says),
            "{id}: {}",
            message(&result, id)
        );
    }
    assert_eq!(
        messages(&result, "terminus-down"),
        [
            fail("GET /healthcheck/down answered 503, expected 200"),
            fail("GET /healthcheck/down answered 503 but its body says the service is \"error\""),
        ]
    );
    assert_eq!(
        messages(&result, "fastapi-health-failing"),
        [fail("GET /health/failing answered 503, expected 200")]
    );
    assert_status(&result, "healthcheck-down", "fail");
    assert_eq!(
        messages(&result, "healthcheck-down")[0],
        fail("GET /healthcheck/down answered 500, expected 200")
    );
}

// ---------------------------------------------------------------------------------------------
// helmet and cors

const HEADER_RULES: &str = "[hsts, content_type_options, framing, csp, cookies, cors]";

fn headers_check(id: &str, path: &str, extra: &str) -> String {
    check(
        id,
        "web",
        "security_headers",
        &format!("{{ path: {path}, rules: {HEADER_RULES}{extra} }}"),
    )
}

#[test]
fn helmet_defaults_pass_and_a_reflecting_cors_fails() {
    let web = node("helmet_cors", &[], &[]).wait();
    let checks = [
        headers_check(
            "helmet",
            "/",
            ", allowed_origins: [\"https://app.example\"]",
        ),
        headers_check("cors-reflecting", "/reflecting", ""),
    ];
    let result = run(&suite(&[("web", &web)], &checks), &[]);
    assert_status(&result, "helmet", "pass");
    assert_eq!(
        message(&result, "helmet"),
        "GET / answered 200 over http; 6 rules checked, header score 100/100"
    );
    assert_eq!(
        messages(&result, "cors-reflecting"),
        [fail(
            "the foreign Origin https://ready-probe.invalid is reflected with Access-Control-Allow-Credentials: true: any site can read responses with the user's credentials"
        )]
    );
    assert_eq!(
        measurement(&result, "cors-reflecting", "header_score"),
        50.0
    );
}

// ---------------------------------------------------------------------------------------------
// certificates made with the openssl CLI, served by Python's ssl

/// Python's `ssl` serving `NAME.pem` with `NAME.key` from `dir`.
fn tls_server(dir: &Path, name: &str) -> servers::Starting {
    let cert = dir.join(format!("{name}.pem")).display().to_string();
    let key = dir.join(format!("{name}.key")).display().to_string();
    python("tls_app", &[cert.as_str(), key.as_str()], &[])
}

fn tls_check(id: &str, server: &Server) -> String {
    format!(
        "  - {{ id: {id}, category: security, severity: high, tls: {{ host: localhost, port: {} }} }}\n",
        server.port
    )
}

#[test]
fn openssl_certificates_are_judged_by_dates_trust_and_name() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    openssl_ca(dir, "ca");
    openssl_ca(dir, "foreign-ca");
    openssl_leaf(dir, "ca", "valid", "localhost", -1, 90 * 24 + 1);
    openssl_leaf(dir, "ca", "expired", "localhost", -60, -(10 * 24 + 1));
    openssl_leaf(dir, "ca", "wrong-host", "other.example", -1, 90 * 24 + 1);
    openssl_leaf(dir, "foreign-ca", "untrusted", "localhost", -1, 90 * 24 + 1);
    let starting = ["valid", "expired", "wrong-host", "untrusted"].map(|n| tls_server(dir, n));
    let [valid, expired, wrong_host, untrusted] = starting.map(|s| s.wait());
    let checks = [
        tls_check("valid", &valid),
        tls_check("expired", &expired),
        tls_check("wrong-host", &wrong_host),
        tls_check("untrusted", &untrusted),
        format!(
            "  - {{ id: https-get, category: security, severity: high, http: {{ url: \"https://localhost:{}/\" }} }}\n",
            valid.port
        ),
    ];
    let project = Project::new(&format!("version: 1\nchecks:\n{}", checks.concat()));
    let ca = dir.join("ca.pem").display().to_string();
    let result = run(&project, &[("SSL_CERT_FILE", &ca)]);

    assert_status(&result, "valid", "pass");
    let valid_message = message(&result, "valid");
    assert!(
        valid_message.starts_with(&format!(
            "localhost:{}: TLS 1.3, certificate valid until ",
            valid.port
        )) && valid_message.ends_with("(90 days), issued by CN=interop ca"),
        "{valid_message}"
    );
    assert_eq!(measurement(&result, "valid", "days_to_expiry"), 90.0);
    assert_status(&result, "https-get", "pass");

    let expired = messages(&result, "expired");
    assert!(
        expired.len() == 1
            && expired[0].0 == "fail"
            && expired[0].1.starts_with("the certificate expired on ")
            && expired[0].1.ends_with(" UTC (10 days ago)"),
        "{expired:?}"
    );
    assert_eq!(
        messages(&result, "wrong-host"),
        [fail(
            "the certificate is not valid for localhost (it names other.example)"
        )]
    );
    assert_eq!(
        messages(&result, "untrusted"),
        [fail(
            "the certificate is not trusted: its issuer (CN=interop foreign-ca) chains to no trusted root"
        )]
    );
}
