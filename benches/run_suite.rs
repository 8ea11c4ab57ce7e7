//! Runs a suite of 1,000 checks and reports wall time and peak memory (target: under 64 MB).
//!
//! Run: `cargo bench --bench run_suite`. 400 `http` checks go to an in-process server whose
//! endpoint answers after 20 ms; 300 `env` and 300 `file` checks run locally.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let app = axum::Router::new().route(
        "/work",
        axum::routing::get(|| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            axum::Json(serde_json::json!({"status": "up"}))
        }),
    );
    runtime.spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = format!(
        "targets:\n  api: {{ http: \"{base}\", concurrency: 64 }}\ndefaults: {{ concurrency: 64 }}\nchecks:\n"
    );
    for i in 0..1000 {
        let (kind, params, target) = match i % 10 {
            0..=3 => (
                "http",
                "{ path: /work, expect: { json: { /status: up } } }".to_string(),
                "    target: api\n",
            ),
            4..=6 => ("env", "{ vars: [HOME] }".to_string(), ""),
            _ => (
                "file",
                format!("{{ path: f{}.txt, contains: [ok] }}", i % 50),
                "",
            ),
        };
        let _ = write!(
            config,
            "  - id: c{i}\n    category: reliability\n    severity: medium\n{target}    {kind}: {params}\n"
        );
    }
    for i in 0..50 {
        std::fs::write(dir.path().join(format!("f{i}.txt")), "ok\n").expect("write file");
    }
    std::fs::write(dir.path().join("ready.yaml"), config).expect("write config");

    let env: HashMap<String, String> = std::env::vars().collect();
    let source = ready::config::Source::File(dir.path().join("ready.yaml"));
    let started = Instant::now();
    let loaded = ready::config::load(&source, &env, dir.path())
        .unwrap_or_else(|e| panic!("invalid suite:\n{e}"));
    let options = ready::runner::RunOptions::default();
    let secrets = ready::redact::SharedRedactor::default();
    let executed = runtime.block_on(ready::runner::execute(&loaded, &env, &options, &secrets));
    let elapsed = started.elapsed();
    let result = ready::evaluate::assemble(
        executed,
        &ready::evaluate::Assembly {
            suite: &loaded.suite,
            options: &options,
            goal: ready::scoring::Goal {
                stage: "production",
                min_score: None,
                fail_on_regression: false,
            },
            started_at: chrono::Utc::now(),
            duration: elapsed,
            redactor: &ready::redact::Redactor::default(),
            baseline: None,
            locations: &ready::locations::Locations::default(),
        },
    );
    let json = serde_json::to_vec(&result).expect("serialize");
    assert_eq!(result.counts.pass, 1000, "every check passes");
    println!(
        "1000 checks (400 http at 20 ms each, 64 at a time): {:.0} ms; JSON result {} KiB",
        elapsed.as_secs_f64() * 1000.0,
        json.len() / 1024
    );
    if let Some(peak) = peak_rss_kib() {
        println!(
            "peak resident memory (server included): {:.1} MiB",
            peak as f64 / 1024.0
        );
    }
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
