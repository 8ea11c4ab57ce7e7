//! The size of the HTML release report for a generated 100-check result (goal: under 200 KB),
//! alone and with ten earlier results as history.
//!
//! Run: `cargo bench --bench html_report [-- PAGE.html]`. Prints the sizes and the render time,
//! and writes the 100-check page to PAGE.html when given, to look at.

use std::time::Instant;

use ready::redact::Redactor;
use ready::report::{Format, Look, render, render_with_history};
use ready::result::{CheckResult, FindingResult, RunResult};
use ready::vocab::Status;

const CHECKS: usize = 100;
const HISTORY: usize = 10;

/// A typical spread: most pass, one in ten fails with three findings and their evidence.
fn status(i: usize) -> Status {
    match i % 20 {
        0 | 10 => Status::Fail,
        5 => Status::Error,
        3 | 13 => Status::Warn,
        7 => Status::Skip,
        17 => Status::Waived,
        _ => Status::Pass,
    }
}

fn check(template: &CheckResult, i: usize) -> CheckResult {
    let mut c = template.clone();
    c.id = format!("{}.{i:03}", ["rls", "http", "backup", "env", "tls"][i % 5]);
    c.title = format!("Generated check number {i} of the benchmark suite");
    c.kind = ["sql", "http", "backup", "env", "tls"][i % 5].into();
    c.category = [
        "security",
        "reliability",
        "database",
        "observability",
        "operations",
    ][i % 5]
        .into();
    c.status = status(i);
    c.message = format!("{}: the measured value is outside its bound", c.id);
    let findings = if matches!(c.status, Status::Pass | Status::Skip) {
        0
    } else {
        3
    };
    c.findings = (0..findings)
        .map(|n| FindingResult {
            subject: format!("public.table_{n}"),
            message: format!("public.table_{n}: rls=off"),
            level: ready::vocab::Level::Fail,
            fingerprint: format!("{}:public.table_{n}", c.id),
            waived: c.status == Status::Waived,
            evidence: serde_json::json!({ "table": format!("public.table_{n}"), "rows": 1200 + n, "roles": ["anon", "authenticated"] }),
            location: None,
        })
        .collect();
    c.measurements = [("latency_ms".to_string(), 120.5 + i as f64)].into();
    c
}

fn result() -> RunResult {
    let text = include_str!("../fixtures/results/sample.json");
    let mut result: RunResult = serde_json::from_str(text).expect("the sample result");
    let template = result.checks[0].clone();
    result.checks = (0..CHECKS).map(|i| check(&template, i)).collect();
    result.config_hash = Some("0f".repeat(32));
    let goal = ready::scoring::Goal {
        stage: "production",
        min_score: None,
        fail_on_regression: false,
    };
    ready::scoring::rescore(&mut result, &goal).expect("rescored");
    result
}

fn main() {
    let current = result();
    let history: Vec<RunResult> = (0..HISTORY)
        .map(|n| {
            let mut earlier = current.clone();
            earlier.started_at -= chrono::Duration::days((HISTORY - n) as i64);
            earlier
        })
        .collect();
    let clock = Instant::now();
    let alone =
        render(Format::Html, Look::PLAIN, &current, &Redactor::default()).expect("rendered");
    let took = clock.elapsed();
    if let Some(path) = std::env::args().nth(1).filter(|a| !a.starts_with('-')) {
        std::fs::write(&path, &alone).expect("write the page");
    }
    let with_history = render_with_history(
        Format::Html,
        Look::PLAIN,
        &current,
        &history,
        &Redactor::default(),
    )
    .expect("rendered");
    println!(
        "{CHECKS} checks: {:.1} KB ({} bytes), rendered in {:.1} ms",
        alone.len() as f64 / 1024.0,
        alone.len(),
        took.as_secs_f64() * 1000.0
    );
    println!(
        "with {HISTORY} earlier results: {:.1} KB ({} bytes)",
        with_history.len() as f64 / 1024.0,
        with_history.len()
    );
}
