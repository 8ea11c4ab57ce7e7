//! `webhook_signature` against in-process receivers of each scheme, correct and flawed.

use super::*;

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
pub(super) enum Flaw {
    None,
    AcceptsUnsigned,
    Reserializes,
    IgnoresTimestamp,
}

pub(super) fn github(h: &HeaderMap, body: &[u8], flaw: Flaw) -> StatusCode {
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
