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
        // Markdown escapes the backslashes and brackets of the escapes too (they render as is).
        let shown = match format {
            "markdown" => r"\\u{1b}\[2J\\u{1b}\]0;owned\\u{7}x\\r\\u{202e}gpj",
            _ => r"\u{1b}[2J\u{1b}]0;owned\u{7}x\r\u{202e}gpj",
        };
        assert!(
            run.stdout.contains(shown),
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
            "NO-GO for production · score 23.5 < 93 · 1 blocker failed · 1 other required check \
             did not pass · 1 required check not run"
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

/// Checks one line against the GitHub Actions workflow-command grammar for annotations:
/// `::LEVEL [KEY=VALUE{,KEY=VALUE}]::DATA`, property values without raw `:` or `,`, every `%`
/// an escape, `line` a number.
fn assert_workflow_command(line: &str) {
    let grammar = regex::Regex::new(
        r"^::(error|warning|notice)(?: ((?:file|line|endLine|col|endColumn|title)=[^,:]*(?:,(?:file|line|endLine|col|endColumn|title)=[^,:]*)*))?::(.*)$",
    )
    .unwrap();
    let caps = grammar
        .captures(line)
        .unwrap_or_else(|| panic!("not a workflow command: {line}"));
    let escapes = regex::Regex::new(r"%(?:25|0D|0A|3A|2C)").unwrap();
    for part in [caps.get(2).map_or("", |m| m.as_str()), &caps[3]] {
        assert!(
            !escapes.replace_all(part, "").contains('%'),
            "bare %: {line}"
        );
        assert!(!part.contains('\r'), "raw CR: {line}");
    }
    for property in caps.get(2).map_or("", |m| m.as_str()).split(',') {
        if let Some(number) = property.strip_prefix("line=") {
            assert!(
                number.parse::<u32>().is_ok(),
                "line is not a number: {line}"
            );
        }
    }
}

#[test]
fn github_puts_the_verdict_first_then_failures_by_severity_within_the_error_cap() {
    let mut result = sample();
    let template = check_mut(&mut result, "rls.enabled").clone();
    let checks = result["checks"].as_array_mut().unwrap();
    for i in 1..=12 {
        let mut copy = template.clone();
        copy["id"] = Value::from(format!("extra.c{i:02}"));
        copy["blocker"] = Value::from(false);
        checks.push(copy);
    }
    let run = report(&result, &["--format", "github"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    lines.iter().for_each(|l| assert_workflow_command(l));
    assert!(
        lines[0].starts_with(
            "::error title=ready%3A NO-GO for production::NO-GO for production · score "
        ),
        "{}",
        run.stdout
    );
    let errors = lines.iter().filter(|l| l.starts_with("::error ")).count();
    assert_eq!(errors, 10, "{}", run.stdout);
    // 14 critical/high failures: 9 annotated after the verdict, 5 counted.
    assert!(lines[1].contains("title=ready%3A rls.enabled (fail%2C critical)"));
    assert!(lines[9].contains("extra.c08"), "{}", run.stdout);
    assert!(
        lines[10].starts_with("::warning title=ready%3A replica.lag (error%2C medium)::"),
        "{}",
        run.stdout
    );
    assert_eq!(
        lines[11],
        "::notice title=ready%3A 5 more failing checks::Not annotated (GitHub shows 10 errors): \
         extra.c09, extra.c10, extra.c11, extra.c12, backup.fresh"
    );
    assert_eq!(lines.len(), 12, "{}", run.stdout);
}

#[test]
fn github_annotations_point_at_the_check_definition() {
    let p = Project::new("include: [checks/*.yaml]\n");
    p.write(
        "checks/main.yaml",
        "checks:\n  - id: app.env\n    category: operations\n    severity: high\n    env: { vars: [MISSING] }\n",
    );
    let run = p.ready(&["check", "--format", "github"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    lines.iter().for_each(|l| assert_workflow_command(l));
    let annotation = lines
        .iter()
        .find(|l| l.contains("title=ready%3A app.env"))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(
        annotation.starts_with(
            "::error file=checks/main.yaml,line=2,title=ready%3A app.env (fail%2C high)::"
        ),
        "{annotation}"
    );
}

#[test]
fn junit_fails_a_decision_case_on_no_go_and_validates_against_junit_10_xsd() {
    let run = report(&sample(), &["--format", "junit"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let doc = roxmltree::Document::parse(&run.stdout).expect("well-formed XML");
    let decision = doc
        .descendants()
        .find(|n| n.attribute("name") == Some("ready.decision"))
        .expect("a ready.decision test case");
    let failure = decision
        .children()
        .find(|n| n.has_tag_name("failure"))
        .expect("NO-GO fails the decision");
    assert_eq!(
        failure.attribute("message"),
        Some("NO-GO for production · score 30.1 < 93 · 2 blockers failed")
    );
    assert!(
        failure
            .text()
            .unwrap_or_default()
            .contains("production: score 30.1 is below 93")
    );

    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("report.xml");
    std::fs::write(&xml, &run.stdout).unwrap();
    let xsd = format!("{}/tests/junit-10.xsd", env!("CARGO_MANIFEST_DIR"));
    let lint = std::process::Command::new("xmllint")
        .args(["--noout", "--schema", &xsd])
        .arg(&xml)
        .output()
        .expect("xmllint (libxml2-utils, installed by .ci/run)");
    assert!(
        lint.status.success(),
        "{}",
        String::from_utf8_lossy(&lint.stderr)
    );
}
