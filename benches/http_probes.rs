//! HTTP probe benchmarks, run on demand with `cargo bench --bench http_probes`:
//!
//! 1. the burst rate of `rate_limit` on loopback (target: at least 10,000 requests/s), against a
//!    server that serves 9,999 requests and then answers 429;
//! 2. 200 `health` checks against endpoints that each take 200 ms (target: close to 200 ms in
//!    total, not 200 × 200 ms).
//!
//! Each runs the built `ready` binary end to end, as a user would, and prints its figures.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

fn serve(app: Router) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

fn ready(dir: &std::path::Path, args: &[&str]) -> (Duration, serde_json::Value) {
    let started = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ready"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let result = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (elapsed, result)
}

fn burst_rate() {
    let served = Arc::new(AtomicU32::new(0));
    let counter = served.clone();
    let base = serve(Router::new().route(
        "/burst",
        get(move || {
            let counter = counter.clone();
            async move {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let remaining = 9_999u32.saturating_sub(n + 1).to_string();
                let status = if n < 9_999 {
                    StatusCode::OK
                } else {
                    StatusCode::TOO_MANY_REQUESTS
                };
                (
                    status,
                    [
                        ("x-ratelimit-limit", "9999".to_string()),
                        ("x-ratelimit-remaining", remaining),
                        ("retry-after", "60".to_string()),
                    ],
                    "ok",
                )
            }
        }),
    ));
    let dir = tempfile::tempdir().unwrap();
    for concurrency in [32, 64] {
        served.store(0, Ordering::Relaxed);
        std::fs::write(
            dir.path().join("ready.yaml"),
            format!(
                "targets:\n  api: {{ http: \"{base}\" }}\nchecks:\n  - id: burst\n    category: security\n    \
                 severity: high\n    target: api\n    timeout: 60s\n    rate_limit: {{ path: /burst, limit: 9999, \
                 max_requests: 10000, concurrency: {concurrency} }}\n"
            ),
        )
        .unwrap();
        let (elapsed, result) = ready(dir.path(), &["check", "--format", "json"]);
        let check = &result["checks"][0];
        assert_eq!(check["status"], "pass", "{check}");
        assert_eq!(
            served.load(Ordering::Relaxed),
            10_000,
            "the budget is a hard limit"
        );
        let m = &check["measurements"];
        // The check's own duration: the burst, and nothing else of the run.
        let check_ms = check["duration_ms"].as_f64().unwrap().max(1.0);
        println!(
            "rate_limit burst, concurrency {concurrency}: 10000 requests, {} served, {:.0} \
             requests/s over the check's {check_ms} ms (whole run {:.0} ms)",
            m["served"],
            10_000.0 / check_ms * 1000.0,
            elapsed.as_secs_f64() * 1000.0
        );
    }
}

fn concurrent_health() {
    let base = serve(Router::new().route(
        "/health/{n}",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            (
                [("content-type", "application/health+json")],
                r#"{"status":"pass"}"#,
            )
        }),
    ));
    let mut config = format!(
        "defaults: {{ concurrency: 200 }}\ntargets:\n  api: {{ http: \"{base}\", concurrency: 200 }}\nchecks:\n"
    );
    for n in 0..200 {
        writeln!(
            config,
            "  - {{ id: h{n}, category: reliability, severity: low, target: api, health: {{ path: /health/{n} }} }}"
        )
        .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ready.yaml"), config).unwrap();
    for _ in 0..3 {
        let (elapsed, result) = ready(dir.path(), &["check", "--format", "json"]);
        assert_eq!(result["counts"]["pass"], 200, "{}", result["counts"]);
        println!(
            "200 health checks of 200 ms each: run {} ms (duration_ms), process {:.0} ms",
            result["duration_ms"],
            elapsed.as_secs_f64() * 1000.0
        );
    }
}

fn main() {
    burst_rate();
    concurrent_health();
}
