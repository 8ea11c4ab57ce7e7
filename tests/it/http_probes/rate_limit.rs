//! `rate_limit` against in-process limiters (each header family, each broken one) and nginx
//! `limit_req`.

use super::*;

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

pub(super) const MINUTE: Duration = Duration::from_secs(60);

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
