//! The scheduler keeps the checks that disturb a target (a rate-limit burst, forged webhook
//! deliveries) apart from its other checks, so that a latency check measures the service, not
//! the burst beside it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::get;

use crate::common::{HttpServer, Project, check_of, http_server, status_of};
use crate::http_probes::{GH_SECRET, Headers, limited, limiter, webhook_app};

/// Every request the server handled: its path, when it started and when it ended.
type Log = Arc<Mutex<Vec<(String, Instant, Instant)>>>;

/// A server whose `/slow` answers in 5 ms, but in 200 ms for a second after any request to another
/// path: a burst or a delivery loads it, as it would a real service.
fn disturbed_server() -> (HttpServer, Log) {
    let log: Log = Arc::default();
    let disturbed_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    let (limits, _) = limited(vec![(
        "/limited",
        limiter(20, Duration::from_secs(1), Headers::X),
    )]);
    let slow_disturbed = disturbed_at.clone();
    let slow = get(move || {
        let last = *slow_disturbed.lock().unwrap();
        let loaded = last.is_some_and(|at| at.elapsed() < Duration::from_secs(1));
        async move {
            let ms = if loaded { 200 } else { 5 };
            tokio::time::sleep(Duration::from_millis(ms)).await;
            "ok"
        }
    });
    let logged = log.clone();
    let app = limits
        .merge(webhook_app())
        .route("/slow", slow)
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let (log, disturbed) = (logged.clone(), disturbed_at.clone());
                async move {
                    let path = request.uri().path().to_string();
                    let started = Instant::now();
                    if path != "/slow" {
                        *disturbed.lock().unwrap() = Some(started);
                    }
                    let response = next.run(request).await;
                    log.lock().unwrap().push((path, started, Instant::now()));
                    response
                }
            },
        ));
    (http_server(app), log)
}

const IDS: [&str; 4] = ["latency-a", "latency-b", "burst", "webhook"];

/// Two latency checks with a tight p95, a rate-limit burst and a webhook check, at the default
/// concurrency, on one target.
fn mixed_suite(base: &str) -> Project {
    let check = |id: &str, kind: &str, params: &str| {
        format!(
            "  - id: {id}\n    category: reliability\n    severity: high\n    target: api\n    {kind}: {params}\n"
        )
    };
    let latency = "{ path: /slow, samples: 20, expect: { status: 200, max_latency: 150ms } }";
    let checks = [
        check(IDS[0], "http", latency),
        check(IDS[1], "http", latency),
        check(
            IDS[2],
            "rate_limit",
            "{ path: /limited, limit: 20, window: 1s, headers: x-ratelimit }",
        ),
        check(
            IDS[3],
            "webhook_signature",
            "{ path: /gh/good, scheme: hmac-sha256, secret: \"env:GH_SECRET\" }",
        ),
    ];
    Project::new(&format!(
        "version: 1\nproject: scheduling\ntargets:\n  api: {{ http: \"{base}\" }}\nchecks:\n{}",
        checks.concat()
    ))
}

fn statuses(project: &Project) -> Vec<String> {
    let out = project.ready(&["check", "--format", "json"], &[("GH_SECRET", GH_SECRET)]);
    let result = out.json();
    IDS.iter()
        .map(|id| {
            let status = status_of(&result, id).to_string();
            if status != "pass" {
                eprintln!("{}", check_of(&result, id));
            }
            status
        })
        .collect()
}

#[test]
fn a_mixed_suite_gives_the_same_statuses_ten_times() {
    for run in 1..=10 {
        // A fresh server each run: its limiter's bucket is full and no load is left from the last
        // run's burst, as a pause of the limiter's window (1s) would leave it, without the wait.
        let (server, _) = disturbed_server();
        let project = mixed_suite(&server.base);
        assert_eq!(statuses(&project), ["pass"; 4], "run {run}");
    }
}

#[test]
fn no_latency_request_overlaps_a_burst_or_a_delivery() {
    let (server, log) = disturbed_server();
    assert_eq!(statuses(&mixed_suite(&server.base)), ["pass"; 4]);
    let log = log.lock().unwrap();
    let (latency, disturbing): (Vec<_>, Vec<_>) = log.iter().partition(|(p, _, _)| p == "/slow");
    assert_eq!(latency.len(), 40);
    assert!(disturbing.iter().any(|(p, _, _)| p == "/limited"));
    assert!(disturbing.iter().any(|(p, _, _)| p == "/gh/good"));
    for (_, start, end) in &latency {
        for (path, d_start, d_end) in &disturbing {
            assert!(
                end <= d_start || d_end <= start,
                "a latency request overlapped a request to {path}"
            );
        }
    }
}
