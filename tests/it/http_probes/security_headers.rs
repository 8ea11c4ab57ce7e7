//! `security_headers` against an in-process app with each weakness.

use super::*;

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
