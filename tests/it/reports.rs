//! The human and CI reports rendered from fixed results: escaping, the terminal layout, the
//! GitHub workflow commands, JUnit and SARIF.

use serde_json::Value;

use crate::common::{Project, Run};

fn sample() -> Value {
    let path = format!(
        "{}/fixtures/results/sample.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `ready report` of `result` with `args` (a format, flags) and `env`.
fn report(result: &Value, args: &[&str], env: &[(&str, &str)]) -> Run {
    let p = Project::new("");
    p.write("result.json", &result.to_string());
    let mut all = vec!["report", "result.json"];
    all.extend_from_slice(args);
    p.ready(&all, env)
}

#[test]
fn control_characters_from_the_data_are_escaped_in_every_human_format() {
    let mut result = sample();
    let hostile = "\u{1b}[2J\u{1b}]0;owned\u{7}x\r\u{202E}gpj";
    result["checks"][0]["title"] = Value::from(format!("title {hostile}"));
    result["checks"][0]["message"] = Value::from(format!("message {hostile}"));
    result["checks"][0]["findings"][0]["message"] = Value::from(format!("row {hostile}"));
    for format in ["table", "markdown", "github"] {
        let run = report(&result, &["--format", format, "--color", "never"], &[]);
        assert_eq!(run.code, 1, "{format}: {}", run.stderr);
        for raw in ['\u{1b}', '\u{7}', '\r', '\u{202E}'] {
            assert!(
                !run.stdout.contains(raw),
                "{format} prints {raw:?} raw:\n{}",
                run.stdout
            );
        }
        assert!(
            run.stdout
                .contains(r"\u{1b}[2J\u{1b}]0;owned\u{7}x\r\u{202e}gpj"),
            "{format} shows the escapes:\n{}",
            run.stdout
        );
    }
}

fn table(result: &Value, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut all = vec!["--format", "table"];
    all.extend_from_slice(args);
    let run = report(result, &all, env);
    assert_eq!(run.code, 1, "{}", run.stderr);
    run.stdout
}

fn check_mut<'a>(result: &'a mut Value, id: &str) -> &'a mut Value {
    let checks = result["checks"].as_array_mut().unwrap();
    checks.iter_mut().find(|c| c["id"] == id).unwrap()
}

#[test]
fn the_verdict_is_the_last_line_and_quiet_prints_it_alone() {
    let verdict = "NO-GO for production · score 30.1 < 93 · 2 blockers failed";
    let out = table(&sample(), &["--color", "never"], &[]);
    assert_eq!(out.lines().last(), Some(verdict), "{out}");
    let quiet = table(&sample(), &["--color", "never", "--quiet"], &[]);
    assert_eq!(quiet, format!("{verdict}\n"));
    let go = report(
        &sample(),
        &["--quiet", "--min-score", "30", "--stage", "beta"],
        &[],
    );
    assert_eq!(
        go.stdout,
        "NO-GO for beta · score 30.1 ≥ 30 · 2 blockers failed\n"
    );
}

#[test]
fn passing_checks_are_counted_unless_all_and_failures_come_first() {
    let out = table(&sample(), &["--color", "never"], &[]);
    assert!(
        out.contains("  2 checks pass (--all lists them)\n"),
        "{out}"
    );
    assert!(!out.contains("api.health"), "{out}");
    let rows = [
        " FAIL    rls.enabled ⛔",
        " FAIL    backup.fresh ⛔",
        " ERROR   replica.lag ",
        " WARN    api.latency ",
        " WAIVED  audit.immutable ",
    ];
    let at: Vec<usize> = rows
        .iter()
        .map(|row| out.find(row).unwrap_or_else(|| panic!("{row}: {out}")))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{out}");
    let all = table(&sample(), &["--color", "never", "--all"], &[]);
    assert!(all.contains(" PASS    api.health "), "{all}");
    assert!(!all.contains("--all lists them"), "{all}");
}

#[test]
fn blockers_other_required_checks_and_checks_not_run_are_told_apart() {
    let mut result = sample();
    // api.health (high, not a blocker) is required by production's severity>=high.
    check_mut(&mut result, "api.health")["status"] = Value::from("fail");
    let backup = check_mut(&mut result, "backup.fresh");
    backup["status"] = Value::from("skip");
    backup["selected"] = Value::from(false);
    backup["findings"] = Value::Array(vec![]);
    let out = table(&result, &["--color", "never"], &[]);
    let blockers = out.split("Blockers\n").nth(1).unwrap();
    let (blockers, also) = blockers
        .split_once("Also required for production\n")
        .unwrap();
    assert!(blockers.contains("✗ rls.enabled [fail]"), "{out}");
    assert!(
        !blockers.contains("api.health") && !blockers.contains("backup.fresh"),
        "{out}"
    );
    assert!(also.starts_with("  ✗ api.health [fail] "), "{out}");
    assert!(
        out.contains("\n1 required check not run (--only/--skip): backup.fresh\n"),
        "{out}"
    );
    assert!(!out.contains("backup.fresh was not run"), "{out}");
    assert_eq!(
        out.lines().last(),
        Some(
            "NO-GO for production · score 23.5 < 93 · 1 blocker failed · 1 required check not \
             verified · 1 required check not run"
        ),
        "{out}"
    );
}

#[test]
fn without_a_terminal_no_line_is_wider_than_100_columns() {
    let mut result = sample();
    let long = "a very long message from the database ".repeat(12);
    check_mut(&mut result, "replica.lag")["message"] = Value::from(long.clone());
    check_mut(&mut result, "rls.enabled")["findings"][0]["message"] = Value::from(long);
    let out = table(&result, &["--color", "never", "--all"], &[]);
    for line in out.lines() {
        assert!(
            line.chars().count() <= 100,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    assert!(
        out.contains("a very long message from the database a very"),
        "{out}"
    );
}

#[test]
fn colour_is_forced_by_the_environment_and_removed_by_never_even_in_the_log() {
    let forced = report(&sample(), &["--format", "table"], &[("FORCE_COLOR", "1")]);
    assert!(forced.stdout.contains("\u{1b}["), "{}", forced.stdout);
    let forced = report(
        &sample(),
        &["--format", "table"],
        &[("CLICOLOR_FORCE", "1")],
    );
    assert!(forced.stdout.contains("\u{1b}["), "{}", forced.stdout);
    let piped = report(&sample(), &["--format", "table"], &[("TERM", "dumb")]);
    assert!(!piped.stdout.contains('\u{1b}'), "{}", piped.stdout);

    let p = Project::new("");
    let env = [("FORCE_COLOR", "1")];
    let logged = p.ready(&["-v", "check"], &env);
    assert!(logged.stderr.contains("\u{1b}[2m"), "{}", logged.stderr);
    let never = p.ready(&["-v", "check", "--color", "never"], &env);
    assert!(!never.stderr.is_empty());
    assert!(!never.stderr.contains('\u{1b}'), "{}", never.stderr);
    assert!(!never.stdout.contains('\u{1b}'), "{}", never.stdout);
}
