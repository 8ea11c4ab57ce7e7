//! `rate_limit` with `per:` (per-user and global limits) and lockouts (`reject_statuses`, a
//! request body), against in-process limiters keyed by a header, a query parameter, a bearer
//! token or the account of a login.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};

use crate::common::{Project, check_of, http_server};

/// Fixed-window counters (the window never ends within a test): one per key, and optionally
/// one for every key together.
#[derive(Default)]
struct Counters {
    per_key: Mutex<HashMap<String, u32>>,
    all: Mutex<u32>,
}

impl Counters {
    /// Counts the request, and answers 429 once the key's count or the total is over its limit.
    fn admit(&self, key: &str, per_key: u32, global: Option<u32>) -> Response {
        let count = {
            let mut map = self.per_key.lock().unwrap();
            let n = map.entry(key.to_string()).or_default();
            *n += 1;
            *n
        };
        if count > per_key {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "60")],
                "slow down",
            )
                .into_response();
        }
        if let Some(global) = global {
            let mut all = self.all.lock().unwrap();
            if *all >= global {
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "60")],
                    "busy",
                )
                    .into_response();
            }
            *all += 1;
        }
        (StatusCode::OK, "ok").into_response()
    }
}

fn keyed(
    key: impl Fn(&HeaderMap, &HashMap<String, String>) -> String + Clone + Send + Sync + 'static,
    per_key: u32,
    global: Option<u32>,
) -> axum::routing::MethodRouter {
    let counters = Arc::new(Counters::default());
    any(
        move |headers: HeaderMap, Query(query): Query<HashMap<String, String>>| {
            let (counters, key) = (counters.clone(), key.clone());
            async move { counters.admit(&key(&headers, &query), per_key, global) }
        },
    )
}

fn header_key(
    name: &'static str,
) -> impl Fn(&HeaderMap, &HashMap<String, String>) -> String + Clone {
    move |h, _| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
}

fn limiters() -> Router {
    Router::new()
        .route("/per-user", keyed(header_key("x-user-id"), 10, None))
        .route("/same-for-all", keyed(|_, _| String::new(), 10, None))
        .route(
            "/per-query",
            keyed(|_, q| q.get("user").cloned().unwrap_or_default(), 10, None),
        )
        .route("/per-token", keyed(header_key("authorization"), 10, None))
        .route("/global", keyed(header_key("x-user-id"), 10, Some(30)))
        .route(
            "/loose-global",
            keyed(header_key("x-user-id"), 10, Some(45)),
        )
}

fn project(base: &str, checks: &[(&str, &str)]) -> Project {
    let checks: String = checks
        .iter()
        .map(|(id, params)| {
            format!(
                "  - id: {id}\n    category: security\n    severity: high\n    target: api\n    \
                 rate_limit: {params}\n"
            )
        })
        .collect();
    Project::new(&format!(
        "version: 1\nproject: identities\ntargets:\n  api: {{ http: \"{base}\" }}\nchecks:\n{checks}"
    ))
}

fn messages(result: &serde_json::Value, id: &str) -> Vec<(String, String, String)> {
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

fn fail(subject: &str, message: &str) -> (String, String, String) {
    ("fail".into(), subject.into(), message.into())
}

const TOKEN_A: &str = "tok-alpha-4f1c9e2d7b";
const TOKEN_B: &str = "tok-bravo-8a3e5d1f0c";

#[test]
fn per_user_and_global_limits_are_told_apart() {
    let server = http_server(limiters());
    let params = |path: &str, extra: &str| {
        format!("{{ path: {path}, limit: 10, window: 60s, headers: none, {extra} }}")
    };
    let checks = [
        (
            "per-user",
            params("/per-user", "per: { header: X-User-Id }"),
        ),
        (
            "same-for-all",
            params("/same-for-all", "per: { header: X-User-Id }"),
        ),
        (
            "per-query",
            params("/per-query", "per: { query: user }, concurrency: 1"),
        ),
        (
            "per-token",
            params("/per-token", "per: { bearer: [env:TOKEN_A, env:TOKEN_B] }"),
        ),
        (
            "global",
            params("/global", "per: { header: X-User-Id }, global_limit: 30"),
        ),
        (
            "loose-global",
            params(
                "/loose-global",
                "per: { header: X-User-Id }, global_limit: 30",
            ),
        ),
        ("no-per", params("/global", "global_limit: 30")),
        (
            "spent",
            params(
                "/per-user",
                "per: { header: X-User-Id }, max_requests: 11, concurrency: 1",
            ),
        ),
    ];
    let checks: Vec<(&str, &str)> = checks.iter().map(|(id, p)| (*id, p.as_str())).collect();
    let out = project(&server.base, &checks).ready(
        &["check", "--format", "json"],
        &[("TOKEN_A", TOKEN_A), ("TOKEN_B", TOKEN_B)],
    );
    let result = out.json();
    for (id, path) in [
        ("per-user", "/per-user"),
        ("per-query", "/per-query"),
        ("per-token", "/per-token"),
    ] {
        let c = check_of(&result, id);
        assert_eq!(c["status"], "pass", "{c}");
        assert_eq!(
            c["message"],
            format!(
                "GET {path} served 10 requests, then answered 429 (limit 10 per 1m); a second \
                 identity was still served"
            )
        );
    }
    assert_eq!(
        messages(&result, "same-for-all"),
        [fail(
            "GET /same-for-all per-user",
            "the limit is global: a second identity was refused right after the first was \
             limited (answered 429)"
        )]
    );
    let global = check_of(&result, "global");
    assert_eq!(global["status"], "pass", "{global}");
    assert_eq!(
        global["message"],
        "GET /global served 10 requests, then answered 429 (limit 10 per 1m); a second identity \
         was still served; 7 identities together were served 30, then answered 429 (global \
         limit 30 per 1m)"
    );
    assert_eq!(global["measurements"]["global_served"], 30.0);
    assert_eq!(
        messages(&result, "loose-global"),
        [fail(
            "GET /loose-global global",
            "the first 429 to the identities together came at request 46 after 45 served \
             requests (global limit 30 per 1m): expected by request 34 (global limit + 10%)"
        )]
    );
    let no_per = check_of(&result, "no-per");
    assert_eq!(no_per["status"], "error");
    assert_eq!(
        no_per["message"],
        "`global_limit` needs `per` (a header, query parameter, JSON field or bearer tokens that \
         tell the identities apart)"
    );
    assert_eq!(
        messages(&result, "spent"),
        [(
            "warn".to_string(),
            "GET /per-user per-user".to_string(),
            "the per-user limit was not verified: the first identity's burst spent all 11 \
             requests of max_requests"
                .to_string()
        )]
    );
    for token in [TOKEN_A, TOKEN_B] {
        assert!(!out.stdout.contains(token) && !out.stderr.contains(token));
    }
}

// ---------------------------------------------------------------------------------------------
// lockout: a login that locks an account after 5 failed attempts

#[derive(Clone, Copy)]
enum Lockout {
    PerAccount,
    Never,
    /// Every account locked once 5 attempts failed, whichever accounts they were for.
    Global,
}

fn login(lockout: Lockout) -> axum::routing::MethodRouter {
    let failures: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    post(
        move |headers: HeaderMap, body: axum::Json<serde_json::Value>| {
            let failures = failures.clone();
            async move {
                if headers.get("x-client").is_none_or(|v| v != "mobile") {
                    return (StatusCode::BAD_REQUEST, "which client?").into_response();
                }
                let account = match lockout {
                    Lockout::Global => String::new(),
                    _ => body["username"].as_str().unwrap_or_default().to_string(),
                };
                let mut failures = failures.lock().unwrap();
                let n = failures.entry(account).or_default();
                if *n >= 5 && !matches!(lockout, Lockout::Never) {
                    return (StatusCode::LOCKED, "account locked").into_response();
                }
                *n += 1;
                (StatusCode::UNAUTHORIZED, "wrong password").into_response()
            }
        },
    )
}

#[test]
fn a_lockout_is_verified_per_account() {
    let app = Router::new()
        .route("/login/locks", login(Lockout::PerAccount))
        .route("/login/never", login(Lockout::Never))
        .route("/login/global", login(Lockout::Global));
    let server = http_server(app);
    let params = |path: &str| {
        format!(
            "{{ path: {path}, method: POST, body: {{ username: alice, password: wrong }}, \
             limit: 5, reject_statuses: [429, 423, 403], headers: {{ X-Client: mobile }}, \
             header_family: none, retry_after: optional, per: {{ json: /username }} }}"
        )
    };
    let checks = [
        ("locks", params("/login/locks")),
        ("never", params("/login/never")),
        ("global", params("/login/global")),
    ];
    let checks: Vec<(&str, &str)> = checks.iter().map(|(id, p)| (*id, p.as_str())).collect();
    let result = project(&server.base, &checks)
        .ready(&["check", "--format", "json"], &[])
        .json();
    let locks = check_of(&result, "locks");
    assert_eq!(locks["status"], "pass", "{locks}");
    assert_eq!(
        locks["message"],
        "POST /login/locks served 5 requests, then answered 423 (limit 5); a second identity was \
         still served"
    );
    assert_eq!(locks["measurements"]["served"], 5.0);
    assert_eq!(
        messages(&result, "never"),
        [fail(
            "POST /login/never",
            "sent 11 requests (limit 5) and none was answered 429, 423 or 403 (11× 401)"
        )]
    );
    assert_eq!(
        messages(&result, "global"),
        [fail(
            "POST /login/global per-user",
            "the limit is global: a second identity was refused right after the first was \
             limited (answered 423)"
        )]
    );
}

// ---------------------------------------------------------------------------------------------
// nginx limit_req keyed by a header: `limit_req_zone $http_x_user_id`

/// nginx serves each X-User-Id 1 + 5 (burst) and, on /keyed-global/, every user together 1 + 19;
/// /by-address/ is keyed by the client address, the same for every identity.
#[test]
fn nginx_limit_req_keyed_by_a_header_is_per_user() {
    let zones = "limit_req_zone $http_x_user_id zone=user-a:1m rate=10r/m;\n\
                 limit_req_zone $http_x_user_id zone=user-b:1m rate=10r/m;\n\
                 limit_req_zone $http_x_user_id zone=user-c:1m rate=10r/m;\n\
                 limit_req_zone $server_addr zone=everyone-b:1m rate=10r/m;\n\
                 limit_req_zone $server_addr zone=everyone-c:1m rate=10r/m;\n";
    let location = |path: &str, limits: &str| {
        format!(
            "location /{path}/ {{ {limits} limit_req_status 429; add_header Retry-After 6 always; \
             try_files /default/index.html =404; }}\n"
        )
    };
    let locations = [
        location("keyed", "limit_req zone=user-a burst=5 nodelay;"),
        location(
            "keyed-global",
            "limit_req zone=user-b burst=5 nodelay; limit_req zone=everyone-b burst=19 nodelay;",
        ),
        location(
            "keyed-looser-global",
            "limit_req zone=user-c burst=5 nodelay; limit_req zone=everyone-c burst=19 nodelay;",
        ),
        location("by-address", "limit_req zone=strict burst=5 nodelay;"),
    ]
    .concat();
    let server = crate::http_probes::nginx_with(zones, &locations);
    let params = |path: &str, extra: &str| {
        format!(
            "{{ path: /{path}/, limit: 6, window: 60s, headers: none, per: {{ header: X-User-Id }}{extra} }}"
        )
    };
    let checks = [
        ("keyed", params("keyed", "")),
        ("keyed-global", params("keyed-global", ", global_limit: 20")),
        (
            "looser",
            params("keyed-looser-global", ", global_limit: 15"),
        ),
        ("by-address", params("by-address", "")),
    ];
    let checks: Vec<(&str, &str)> = checks.iter().map(|(id, p)| (*id, p.as_str())).collect();
    let result = project(&server.base, &checks)
        .ready(&["check", "--format", "json"], &[])
        .json();
    let keyed = check_of(&result, "keyed");
    assert_eq!(keyed["status"], "pass", "{keyed}");
    assert_eq!(
        keyed["message"],
        "GET /keyed/ served 6 requests, then answered 429 (limit 6 per 1m); a second identity was \
         still served"
    );
    let global = check_of(&result, "keyed-global");
    assert_eq!(global["status"], "pass", "{global}");
    assert_eq!(
        global["message"],
        "GET /keyed-global/ served 6 requests, then answered 429 (limit 6 per 1m); a second \
         identity was still served; 8 identities together were served 20, then answered 429 \
         (global limit 20 per 1m)"
    );
    assert_eq!(
        messages(&result, "looser"),
        [fail(
            "GET /keyed-looser-global/ global",
            "the first 429 to the identities together came at request 21 after 20 served \
             requests (global limit 15 per 1m): expected by request 18 (global limit + 10%)"
        )]
    );
    assert_eq!(
        messages(&result, "by-address"),
        [fail(
            "GET /by-address/ per-user",
            "the limit is global: a second identity was refused right after the first was \
             limited (answered 429)"
        )]
    );
}
