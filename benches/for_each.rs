//! Loads and validates one check expanded by `for_each` over 10,000 items (goal: under 1 s;
//! expansion used to be quadratic, 45 s).
//!
//! Run: `cargo bench --bench for_each` (release build). Prints the median and best of 5 loads.

use std::collections::HashMap;
use std::time::{Duration, Instant};

const ITEMS: usize = 10_000;
const RUNS: usize = 5;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let items: Vec<String> = (0..ITEMS).map(|i| format!("fn{i}")).collect();
    let yaml = format!(
        "version: 1\nproject: bench\ntargets:\n  api: {{ http: \"https://api.example.com\" }}\nchecks:\n  - id: edge.{{{{item}}}}\n    for_each: [{}]\n    title: \"{{{{item}}}} answers\"\n    category: reliability\n    severity: medium\n    target: api\n    http: {{ path: \"/functions/v1/{{{{item}}}}\", expect: {{ status: [200, 401] }} }}\n",
        items.join(", ")
    );
    std::fs::write(root.join("ready.yaml"), yaml).expect("write ready.yaml");

    let env: HashMap<String, String> = HashMap::new();
    let source = ready::config::Source::File(root.join("ready.yaml"));
    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        let loaded =
            ready::config::load(&source, &env, root).expect("the generated suite is valid");
        times.push(started.elapsed());
        assert_eq!(loaded.suite.checks.len(), ITEMS);
    }
    times.sort();
    println!(
        "load + validate a for_each of {ITEMS} items: median {:.1} ms, best {:.1} ms ({RUNS} runs)",
        ms(times[RUNS / 2]),
        ms(times[0])
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
