//! Loads and validates a generated suite of 1,000 checks (target: under 100 ms).
//!
//! Run: `cargo bench --bench load_suite` (release build). Prints the median and best of 20 loads
//! and the process's peak resident memory.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

const CHECKS: usize = 1000;
const RUNS: usize = 20;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::write(
        root.join("ready.yaml"),
        "version: 1\nproject: bench\ntargets:\n  db: { postgres: \"postgres://app:${DB_PASSWORD:-pw}@127.0.0.1:5432/app\" }\n  api: { http: \"https://api.example.com\", headers: { apikey: \"${API_KEY:-k}\" } }\nwaivers:\n  - { check: sql.*, subject: public.t1, reason: bench, expires: 2099-01-01 }\ninclude: [checks/*.yaml]\n",
    )
    .expect("write ready.yaml");
    std::fs::create_dir_all(root.join("checks")).expect("checks dir");
    // Ten files of 100 checks, five kinds, one check in five expanded from `for_each`.
    for file in 0..10 {
        let mut text = String::from("checks:\n");
        for i in 0..80 {
            let n = file * 100 + i;
            let (kind, params) = match n % 5 {
                0 => ("sql", "{ query: \"SELECT relname FROM pg_class WHERE relkind = 'r' AND NOT relrowsecurity\", expect: { rows: 0 } }".to_string()),
                1 => ("http", "{ path: /health, expect: { status: \"2xx\", json: { /status: up }, max_latency: 500ms }, samples: 5 }".to_string()),
                2 => ("env", format!("{{ vars: [VAR_{n}], match: {{ VAR_{n}: \"^[a-z]+$\" }} }}")),
                3 => ("file", format!("{{ path: docs/file{n}.md, contains: [\"## Owner\"], max_age: 30d }}")),
                _ => ("command", "{ run: [true], expect_exit: 0, timeout: 5s }".to_string()),
            };
            let target = match kind {
                "sql" => "    target: db\n",
                "http" => "    target: api\n",
                _ => "",
            };
            let _ = write!(
                text,
                "  - id: {kind}.c{n}\n    title: Check {n}\n    category: security\n    severity: high\n    tags: [bench, p{}]\n{target}    timeout: 20s\n    {kind}: {params}\n    remediation: Fix check {n}.\n",
                n % 3
            );
        }
        let items: Vec<String> = (0..20).map(|i| format!("fn{file}x{i}")).collect();
        let _ = write!(
            text,
            "  - id: rate.{{{{item}}}}\n    for_each: [{}]\n    title: \"{{{{item}}}} answers\"\n    category: reliability\n    severity: medium\n    target: api\n    http: {{ path: \"/functions/v1/{{{{item}}}}\", expect: {{ status: [200, 401] }} }}\n",
            items.join(", ")
        );
        std::fs::write(root.join(format!("checks/part{file}.yaml")), text).expect("write checks");
    }

    let env: HashMap<String, String> = HashMap::new();
    let source = ready::config::Source::File(root.join("ready.yaml"));
    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        let loaded =
            ready::config::load(&source, &env, root).expect("the generated suite is valid");
        times.push(started.elapsed());
        assert_eq!(loaded.suite.checks.len(), CHECKS);
    }
    times.sort();
    // The share of the time spent parsing YAML, for reading the figure.
    let texts: Vec<String> = (0..10)
        .map(|f| std::fs::read_to_string(root.join(format!("checks/part{f}.yaml"))).expect("read"))
        .collect();
    let mut parse_times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            for text in &texts {
                ready::config::node::parse_document(text).expect("parses");
            }
            started.elapsed()
        })
        .collect();
    parse_times.sort();
    println!(
        "of which YAML parsing: median {:.1} ms",
        ms(parse_times[RUNS / 2])
    );
    println!(
        "load + validate {CHECKS} checks: median {:.1} ms, best {:.1} ms ({RUNS} runs)",
        ms(times[RUNS / 2]),
        ms(times[0])
    );
    if let Some(peak) = peak_rss_kib() {
        println!("peak resident memory: {:.1} MiB", peak as f64 / 1024.0);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// VmHWM from /proc (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
