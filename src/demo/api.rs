//! The demo's HTTP API, served in-process: a health endpoint, two edge functions, a payments
//! webhook receiver and a home page, with the holes of the variant or without them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hmac::{KeyInit as _, Mac as _};

use super::Variant;

/// Requests each edge function serves per window.
const LIMIT: u32 = 10;
const WINDOW: Duration = Duration::from_secs(60);
/// How old a webhook delivery may be: older ones are replays.
const TOLERANCE_S: u64 = 300;

pub struct Api {
    variant: Variant,
    webhook_secret: String,
    windows: Mutex<HashMap<String, Window>>,
}

impl Api {
    pub fn new(variant: Variant, webhook_secret: String) -> Api {
        Api {
            variant,
            webhook_secret,
            windows: Mutex::new(HashMap::new()),
        }
    }
}

/// Serves the API on a free local port until the runtime stops; returns its base URL.
pub async fn serve(api: Api) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/", get(home))
        .route("/health", get(health))
        .route(
            "/functions/v1/{name}",
            get(edge_function).post(edge_function),
        )
        .route("/webhooks/payments", post(payment_webhook))
        .with_state(Arc::new(api));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!("the demo API stopped: {e}");
        }
    });
    Ok(base)
}

async fn home(State(api): State<Arc<Api>>) -> Response {
    let mut headers = vec![
        (
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
    ];
    if api.variant == Variant::Fixed {
        headers.push((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; frame-ancestors 'none'",
        ));
        headers.push((header::X_FRAME_OPTIONS, "DENY"));
    }
    let mut response = "<!doctype html><title>Wallet</title><h1>Wallet</h1>".into_response();
    for (name, value) in headers {
        response
            .headers_mut()
            .insert(name, value.parse().expect("a valid header value"));
    }
    response
}

async fn health(State(api): State<Arc<Api>>) -> Response {
    let queue = match api.variant {
        Variant::Holes => r#"{"status": "down", "error": "connection refused"}"#,
        Variant::Fixed => r#"{"status": "up"}"#,
    };
    let body = format!(r#"{{"status": "ok", "database": {{"status": "up"}}, "queue": {queue}}}"#);
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `send-money` is rate limited; `exchange-rates` only without holes.
async fn edge_function(State(api): State<Arc<Api>>, Path(name): Path<String>) -> Response {
    let limited = match name.as_str() {
        "send-money" => true,
        "exchange-rates" => api.variant == Variant::Fixed,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let body = (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"ok": true}"#,
    );
    if !limited {
        return body.into_response();
    }
    let admission = {
        let mut windows = api.windows.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        windows
            .entry(name)
            .or_insert(Window {
                started: now,
                used: 0,
            })
            .admit(now)
    };
    let mut response = if admission.allowed {
        body.into_response()
    } else {
        let mut r = StatusCode::TOO_MANY_REQUESTS.into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, admission.reset_s.into());
        r
    };
    let headers = response.headers_mut();
    let policy = format!(r#""default";q={LIMIT};w={}"#, WINDOW.as_secs());
    let state = format!(
        r#""default";r={};t={}"#,
        admission.remaining, admission.reset_s
    );
    for (name, value) in [("ratelimit-policy", policy), ("ratelimit", state)] {
        headers.insert(name, value.parse().expect("a valid header value"));
    }
    response
}

/// A fixed-window limiter for one edge function.
#[derive(Debug)]
struct Window {
    started: Instant,
    used: u32,
}

#[derive(Debug, PartialEq)]
struct Admission {
    allowed: bool,
    remaining: u32,
    /// Seconds until the window resets, at least 1.
    reset_s: u64,
}

impl Window {
    fn admit(&mut self, now: Instant) -> Admission {
        if now.duration_since(self.started) >= WINDOW {
            *self = Window {
                started: now,
                used: 0,
            };
        }
        let reset_s = (WINDOW - now.duration_since(self.started)).as_secs().max(1);
        let allowed = self.used < LIMIT;
        if allowed {
            self.used += 1;
        }
        Admission {
            allowed,
            remaining: LIMIT - self.used,
            reset_s,
        }
    }
}

async fn payment_webhook(State(api): State<Arc<Api>>, headers: HeaderMap, body: Bytes) -> Response {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // With holes the receiver checks the signature but not its age: a captured delivery can be
    // replayed at any time.
    let tolerance = (api.variant == Variant::Fixed).then_some(TOLERANCE_S);
    match verify_stripe(signature, &body, &api.webhook_secret, now, tolerance) {
        Ok(()) => (StatusCode::OK, r#"{"received": true}"#).into_response(),
        Err(Rejection::Malformed) => StatusCode::BAD_REQUEST.into_response(),
        Err(Rejection::BadSignature | Rejection::Stale) => StatusCode::UNAUTHORIZED.into_response(),
    }
}

#[derive(Debug, PartialEq)]
enum Rejection {
    Malformed,
    BadSignature,
    Stale,
}

/// Stripe's scheme: `t=UNIX,v1=HEX` where HEX is the HMAC-SHA256 of `t.body`.
fn verify_stripe(
    header: &str,
    body: &[u8],
    secret: &str,
    now: u64,
    tolerance_s: Option<u64>,
) -> Result<(), Rejection> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(Rejection::Malformed)?;
    let sent: u64 = timestamp.parse().map_err(|_| Rejection::Malformed)?;
    let valid = signatures.iter().any(|s| {
        let Ok(expected) = hex::decode(s) else {
            return false;
        };
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(&expected).is_ok()
    });
    if !valid {
        return Err(Rejection::BadSignature);
    }
    match tolerance_s {
        Some(tolerance) if now.abs_diff(sent) > tolerance => Err(Rejection::Stale),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, t: u64, body: &[u8]) -> String {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn a_replayed_delivery_is_refused_only_with_a_tolerance() {
        let header = sign("whsec", 1_000, b"{}");
        assert_eq!(
            verify_stripe(&header, b"{}", "whsec", 1_100, Some(300)),
            Ok(())
        );
        assert_eq!(
            verify_stripe(&header, b"{}", "whsec", 2_000, Some(300)),
            Err(Rejection::Stale)
        );
        assert_eq!(verify_stripe(&header, b"{}", "whsec", 2_000, None), Ok(()));
    }

    #[test]
    fn forged_and_malformed_deliveries_are_refused() {
        let header = sign("whsec", 1_000, b"{}");
        let check = |h: &str, body: &[u8]| verify_stripe(h, body, "whsec", 1_000, None);
        assert_eq!(check(&header, b"{ }"), Err(Rejection::BadSignature));
        assert_eq!(
            check(&sign("other", 1_000, b"{}"), b"{}"),
            Err(Rejection::BadSignature)
        );
        assert_eq!(check("v1=abcd", b"{}"), Err(Rejection::Malformed));
        assert_eq!(check("", b"{}"), Err(Rejection::Malformed));
    }

    #[test]
    fn the_window_serves_the_limit_then_rejects_until_it_resets() {
        let start = Instant::now();
        let mut window = Window {
            started: start,
            used: 0,
        };
        for served in 1..=LIMIT {
            let a = window.admit(start);
            assert!(a.allowed);
            assert_eq!(a.remaining, LIMIT - served);
        }
        let rejected = window.admit(start + Duration::from_secs(15));
        assert_eq!(
            rejected,
            Admission {
                allowed: false,
                remaining: 0,
                reset_s: 45
            }
        );
        assert!(window.admit(start + WINDOW).allowed);
    }
}
