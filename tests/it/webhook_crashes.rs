//! `webhook_signature` when the receiver answers a forged delivery with a 5xx: a `warn` when the
//! crash tells it apart from processing, a `fail` when the positive control shows it does not.

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use crate::common::{Project, check_of, http_server};

const SECRET: &str = "crash-webhook-s3cret-42";

#[derive(Clone, Copy)]
enum Crash {
    /// Verifies, and crashes on a header it cannot parse (Python `standardwebhooks`, `svix`).
    OnMalformedHeader,
    /// Handles an unparseable header as if it were signed, then fails with the same body.
    ProcessesMalformedHeader,
    /// Verifies nothing, and every delivery crashes while it is processed.
    Always,
}

fn receive(headers: &HeaderMap, body: &[u8], crash: Crash) -> axum::response::Response {
    use hmac::{KeyInit, Mac};
    let processed = r#"{"received": true}"#;
    if let Crash::Always = crash {
        return (StatusCode::INTERNAL_SERVER_ERROR, "processing failed").into_response();
    }
    let Some(signature) = headers.get("x-hub-signature-256") else {
        return (StatusCode::UNAUTHORIZED, "unsigned").into_response();
    };
    let Some(hex_mac) = signature
        .to_str()
        .ok()
        .and_then(|s| s.strip_prefix("sha256="))
        .and_then(|h| hex::decode(h).ok())
    else {
        return match crash {
            Crash::ProcessesMalformedHeader => {
                (StatusCode::INTERNAL_SERVER_ERROR, processed).into_response()
            }
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response(),
        };
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    match mac.verify_slice(&hex_mac) {
        Ok(()) => (StatusCode::OK, processed).into_response(),
        Err(_) => (StatusCode::UNAUTHORIZED, "bad signature").into_response(),
    }
}

fn app() -> Router {
    let mut app = Router::new();
    for (path, crash) in [
        ("/on-malformed", Crash::OnMalformedHeader),
        ("/processes-malformed", Crash::ProcessesMalformedHeader),
        ("/always", Crash::Always),
    ] {
        app = app.route(
            path,
            axum::routing::post(move |h: HeaderMap, body: Bytes| async move {
                receive(&h, &body, crash)
            }),
        );
    }
    app
}

fn findings(result: &serde_json::Value, id: &str) -> Vec<(String, String, String)> {
    check_of(result, id)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let text = |k: &str| f[k].as_str().unwrap().to_string();
            (text("level"), text("subject"), text("message"))
        })
        .collect()
}

#[test]
fn a_crash_is_a_failure_only_when_the_signed_delivery_shows_it_was_processed() {
    let server = http_server(app());
    let check = |id: &str| {
        format!(
            "  - id: {id}\n    category: security\n    severity: critical\n    target: api\n    \
             webhook_signature: {{ path: /{id}, scheme: hmac-sha256, secret: \"env:HOOK_SECRET\" }}\n"
        )
    };
    let project = Project::new(&format!(
        "version: 1\nproject: webhook-crashes\ntargets:\n  api: {{ http: \"{}\" }}\nchecks:\n{}",
        server.base,
        ["on-malformed", "processes-malformed", "always"]
            .map(check)
            .concat()
    ));
    let result = project
        .ready(&["check", "--format", "json"], &[("HOOK_SECRET", SECRET)])
        .json();
    let malformed = "a delivery with a malformed signature header";
    let row = |level: &str, subject: &str, message: String| {
        (level.to_string(), subject.to_string(), message)
    };
    assert_eq!(check_of(&result, "on-malformed")["status"], "warn");
    assert_eq!(
        findings(&result, "on-malformed"),
        [row(
            "warn",
            "POST /on-malformed malformed-header",
            format!("{malformed} was rejected by crashing (500): answer 400")
        )]
    );
    assert_eq!(check_of(&result, "processes-malformed")["status"], "fail");
    assert_eq!(
        findings(&result, "processes-malformed"),
        [row(
            "fail",
            "POST /processes-malformed malformed-header",
            format!(
                "{malformed} was answered 500 with the body the correctly signed delivery got \
                 (200): it was processed, then failed"
            )
        )]
    );
    let always = findings(&result, "always");
    let as_signed = "was answered 500, as the correctly signed delivery was: the crash does not \
                     show that the forgery was rejected rather than processed";
    assert_eq!(always.len(), 6, "{always:?}");
    assert_eq!(
        always[0],
        row(
            "fail",
            "POST /always unsigned",
            format!("an unsigned delivery {as_signed}")
        )
    );
    assert_eq!(
        always[5],
        row(
            "fail",
            "POST /always correctly-signed",
            "a correctly signed delivery was rejected with 500: real deliveries would be refused \
             (wrong secret, or verifying a re-serialised body instead of the raw bytes?)"
                .to_string()
        )
    );
    assert!(
        always[..5]
            .iter()
            .all(|(level, _, m)| level == "fail" && m.ends_with(as_signed))
    );
}
