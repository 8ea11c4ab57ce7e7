//! Issue 11: verdicts that were wrong against real implementations, each pinned with the
//! corrected verdict.

use super::*;

/// The findings of a check whose subject ends with `subject`.
fn findings_on(result: &serde_json::Value, id: &str, subject: &str) -> Vec<(String, String)> {
    check_of(result, id)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["subject"].as_str().unwrap().ends_with(subject))
        .map(|f| {
            (
                f["level"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// helmet: every CSP header, frame-ancestors *, nonces, default-src *, HSTS max-age=0

/// One helmet route checked with every header rule but the redirect.
fn helmet_route(path: &str) -> serde_json::Value {
    let web = node("helmet_cors", &[], &[]).wait();
    run(
        &suite(&[("web", &web)], &[headers_check("route", path, "")]),
        &[],
    )
}

#[test]
fn framing_protected_by_a_second_csp_header_passes() {
    // Browsers enforce every Content-Security-Policy header: the second one forbids framing.
    let result = helmet_route("/two-csp");
    assert!(findings_on(&result, "route", "framing").is_empty());
    assert_status(&result, "route", "pass");
    assert_eq!(measurement(&result, "route", "header_score"), 100.0);
}

#[test]
fn frame_ancestors_star_fails_framing() {
    // frame-ancestors * lets any site frame the page.
    let result = helmet_route("/frame-any");
    let framing = findings_on(&result, "route", "framing");
    assert!(
        framing.len() == 1 && framing[0].0 == "fail" && framing[0].1.contains("frame-ancestors *"),
        "{framing:?}"
    );
    assert_eq!(measurement(&result, "route", "header_score"), 80.0);
}

#[test]
fn unsafe_inline_next_to_a_nonce_passes() {
    // Browsers ignore 'unsafe-inline' when a nonce or hash is present.
    let result = helmet_route("/nonce");
    assert!(messages(&result, "route").is_empty());
    assert_status(&result, "route", "pass");
    assert_eq!(measurement(&result, "route", "header_score"), 100.0);
}

#[test]
fn default_src_star_warns() {
    let result = helmet_route("/default-any");
    let csp = findings_on(&result, "route", "Content-Security-Policy");
    assert!(
        csp.len() == 1 && csp[0].0 == "warn" && csp[0].1.contains("default-src *"),
        "{csp:?}"
    );
    assert_status(&result, "route", "warn");
}

#[test]
fn hsts_max_age_0_costs_like_a_missing_header() {
    // max-age=0 deletes HSTS: it costs what a missing header costs (20), not 10.
    let result = helmet_route("/hsts-zero");
    let hsts = findings_on(&result, "route", "Strict-Transport-Security");
    assert!(
        hsts.len() == 1 && hsts[0].0 == "fail" && hsts[0].1.contains("max-age=0"),
        "{hsts:?}"
    );
    assert_eq!(measurement(&result, "route", "header_score"), 80.0);
}

// ---------------------------------------------------------------------------------------------
// openssl: self-signed certificates of every sort, days to expiry

#[test]
fn self_signed_openssl_certificates_are_called_self_signed() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // `openssl req -x509` marks the certificate as a CA unless told otherwise; both kinds are
    // common, with RSA and EC keys.
    let variants = [
        ("rsa-ca", false, ""),
        ("ec-ca", true, ""),
        ("rsa-leaf", false, "basicConstraints=critical,CA:FALSE"),
        ("ec-leaf", true, "basicConstraints=critical,CA:FALSE"),
    ];
    for (name, ec, constraints) in variants {
        let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
        let mut args = vec![
            "req",
            "-x509",
            "-nodes",
            "-days",
            "90",
            "-subj",
            "/CN=localhost",
        ];
        args.extend_from_slice(new_key(ec));
        args.extend_from_slice(&["-addext", "subjectAltName=DNS:localhost"]);
        if !constraints.is_empty() {
            args.extend_from_slice(&["-addext", constraints]);
        }
        args.extend_from_slice(&["-keyout", key.as_str(), "-out", pem.as_str()]);
        openssl(dir, &args);
    }
    let starting = variants.map(|(name, _, _)| tls_server(dir, name));
    let running = starting.map(|s| s.wait());
    let mut checks: Vec<String> = variants
        .iter()
        .zip(&running)
        .map(|((name, _, _), server)| tls_check(name, server))
        .collect();
    checks.push(format!(
        "  - {{ id: https-get, category: security, severity: high, http: {{ url: \"https://localhost:{}/\" }} }}\n",
        running[0].port
    ));
    let project = Project::new(&format!("version: 1\nchecks:\n{}", checks.concat()));
    let result = run(&project, &[]);
    // Before: CaUsedAsEndEntity, UnsupportedSignatureAlgorithmForPublicKeyContext {…}, or
    // "names an issuer (CN=localhost) that did not sign it".
    for (name, _, _) in variants {
        assert_eq!(
            messages(&result, name),
            [fail(
                "the certificate is self-signed (CN=localhost): no client trusts it"
            )],
            "{name}"
        );
    }
    // The http kind's TLS errors read the same way, without rustls internals.
    assert_status(&result, "https-get", "error");
    let https = message(&result, "https-get");
    assert!(
        https.contains("self-signed") && !https.contains("Other") && !https.contains('{'),
        "{https}"
    );
}

#[test]
fn an_expired_certificate_s_days_to_expiry_agrees_with_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    openssl_ca(dir, "ca");
    openssl_leaf(dir, "ca", "expired", "localhost", -60, -(10 * 24 + 1));
    let expired = tls_server(dir, "expired").wait();
    let project = Project::new(&format!(
        "version: 1\nchecks:\n{}",
        tls_check("expired", &expired)
    ));
    let ca = dir.join("ca.pem").display().to_string();
    let result = run(&project, &[("SSL_CERT_FILE", &ca)]);
    // Expired 10 days and an hour ago: "(10 days ago)" and days_to_expiry -10 (was -11).
    let found = messages(&result, "expired");
    assert!(found[0].1.ends_with(" UTC (10 days ago)"), "{found:?}");
    assert_eq!(measurement(&result, "expired", "days_to_expiry"), -10.0);
}

// ---------------------------------------------------------------------------------------------
// webhook verifiers: a crash on a forgery, a receiver verifying a re-serialised body

#[test]
fn python_standardwebhooks_and_svix_crashing_on_a_malformed_signature_warn() {
    let env = [("WEBHOOK_SECRET", SW_SECRET)];
    let starting = [
        python("standardwebhooks_app", &[], &env),
        python("svix_app", &[], &env),
    ];
    let [sw, svix] = starting.map(|s| s.wait());
    let checks = [
        webhook(
            "standardwebhooks-python",
            "sw",
            "standard-webhooks",
            "SW_SECRET",
            "",
        ),
        webhook("svix-python", "svix", "standard-webhooks", "SW_SECRET", ""),
    ];
    let project = suite(&[("sw", &sw), ("svix", &svix)], &checks);
    let result = run(&project, &[("SW_SECRET", SW_SECRET)]);
    // Both libraries raise binascii.Error (not their verification error) on a malformed header,
    // so the documented handler answers 500: the forgery was not processed. That is a `warn`
    // asking for a 400, not the critical `fail` of an accepted forgery.
    for id in ["standardwebhooks-python", "svix-python"] {
        assert_status(&result, id, "warn");
        let found = messages(&result, id);
        assert_eq!(found.len(), 1, "{id}: {found:?}");
        assert_eq!(found[0].0, "warn", "{id}: {found:?}");
        assert!(
            found[0].1.contains("malformed") && found[0].1.contains("500"),
            "{id}: {found:?}"
        );
    }
}

#[test]
fn a_receiver_verifying_python_json_dumps_of_the_body_fails() {
    let stripe = python("stripe_app", &[], &[("WEBHOOK_SECRET", STRIPE_SECRET)]).wait();
    let checks = [check(
        "reserialised",
        "stripe",
        "webhook_signature",
        "{ path: /reserialised, scheme: stripe, secret: \"env:STRIPE_SECRET\" }",
    )];
    let project = suite(&[("stripe", &stripe)], &checks);
    let result = run(&project, &[("STRIPE_SECRET", STRIPE_SECRET)]);
    // json.dumps re-serialised the old probe body to the same bytes, so the broken receiver
    // passed; the probe body now changes under json.dumps as under JSON.stringify.
    assert_eq!(
        messages(&result, "reserialised"),
        [fail(
            "a correctly signed delivery was rejected with 400: real deliveries would be refused (wrong secret, or verifying a re-serialised body instead of the raw bytes?)"
        )]
    );
}

// ---------------------------------------------------------------------------------------------
// health libraries: PyPI healthcheck's words, fastapi-health's components

#[test]
fn pypi_healthcheck_success_passes_and_failure_fails() {
    let healthcheck = python("healthcheck_app", &[], &[]).wait();
    let checks = [
        check("up", "healthcheck", "health", "{ path: /healthcheck }"),
        check(
            "down",
            "healthcheck",
            "health",
            "{ path: /healthcheck/down }",
        ),
    ];
    let result = run(&suite(&[("healthcheck", &healthcheck)], &checks), &[]);
    // {"status": "success"} is PyPI healthcheck's up; "failure" its down.
    assert_status(&result, "up", "pass");
    assert!(
        message(&result, "up")
            .starts_with("GET /healthcheck answered 200, body status \"success\""),
        "{}",
        message(&result, "up")
    );
    assert_eq!(
        messages(&result, "down"),
        [
            fail("GET /healthcheck/down answered 500, expected 200"),
            fail("GET /healthcheck/down answered 500 but its body says the service is \"failure\""),
        ]
    );
}

#[test]
fn fastapi_health_with_a_down_component_fails() {
    let fastapi = python("fastapi_health_app", &[], &[]).wait();
    let checks = [check(
        "cache-down",
        "fastapi",
        "health",
        "{ path: /health/cache-down }",
    )];
    let result = run(&suite(&[("fastapi", &fastapi)], &checks), &[]);
    // 200 with {"database":"connected","cache":{"status":"down"}}: the cache is down.
    assert_status(&result, "cache-down", "fail");
    let found = messages(&result, "cache-down");
    assert!(
        found
            .iter()
            .any(|(level, m)| level == "fail" && m.contains("cache") && m.contains("\"down\"")),
        "{found:?}"
    );
}
