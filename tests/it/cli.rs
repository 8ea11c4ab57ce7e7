//! The `ready` binary end to end, as a new user runs it.

use crate::common;

use crate::common::{PG_PASSWORD, Project, check_of, http_server, postgres};
use axum::Router;
use axum::routing::get;
use chrono::{Duration as Days, Utc};
use serde_json::json;

const LEDGER: &str = "
CREATE TABLE ledger (entry text PRIMARY KEY, amount numeric NOT NULL);
INSERT INTO ledger VALUES ('tx-1', 10), ('tx-2', -4), ('tx-3', -9), ('tx-4', 3);
";

const HEADER_SECRET: &str = "hdr-secret-7Q2xK9";

/// The scenario of issue 2: a sql check finding two rows, an http check against a live server,
/// a waiver that expired last month, a check against an unreachable database, and a JSON report.
fn scenario(db_url: &str, replica_url: &str, api: &str) -> String {
    let expired = (Utc::now() - Days::days(31)).format("%Y-%m-%d");
    format!(
        r#"version: 1
project: Payments
targets:
  db: {{ postgres: "{db_url}" }}
  replica: {{ postgres: "{replica_url}", connect_timeout: 2s }}
  api:
    http: "{api}"
    headers: {{ apikey: "${{API_KEY}}" }}
waivers:
  - check: ledger.negative
    reason: legacy refunds, cleaned up in Q3
    expires: {expired}
    approved_by: alice
    ticket: FIN-12
include: [checks/*.yaml]
"#
    )
}

const CHECKS: &str = r#"checks:
  - id: ledger.negative
    title: No ledger entry is negative
    category: security
    severity: critical
    blocker: true
    target: db
    sql: { query: "SELECT entry, amount FROM ledger WHERE amount < 0 ORDER BY entry" }
    remediation: Reverse the negative entries with compensating transactions.
  - id: api.health
    title: The API answers its health endpoint
    category: reliability
    severity: high
    target: api
    http: { path: /health, expect: { status: 200, json: { /status: up } } }
  - id: replica.reachable
    title: The replica answers
    category: database
    severity: medium
    target: replica
    sql: { query: "SELECT 1", expect: { rows: 1 } }
  - id: env.app
    title: APP_ENV is set
    category: operations
    severity: low
    env: { vars: [APP_ENV] }
"#;

fn api() -> common::HttpServer {
    http_server(Router::new().route(
        "/health",
        get(|| async { axum::Json(json!({"status": "up"})) }),
    ))
}

fn dead_url() -> String {
    format!(
        "postgres://postgres:{PG_PASSWORD}@127.0.0.1:{}/replica",
        common::free_port()
    )
}

const ENV: &[(&str, &str)] = &[("API_KEY", HEADER_SECRET), ("APP_ENV", "production")];

#[test]
fn the_issue_scenario_scores_by_hand_and_goes_once_fixed() {
    let db = postgres().fresh_db(LEDGER);
    let server = api();
    let p = Project::new(&scenario(&db.url, &dead_url(), &server.base));
    p.write("checks/main.yaml", CHECKS);

    let run = p.ready(
        &[
            "check",
            "--color",
            "never",
            "--report",
            "json=out/result.json",
        ],
        ENV,
    );
    assert_eq!(run.code, 1, "NO-GO exits 1: {}\n{}", run.stdout, run.stderr);
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("out/result.json")).unwrap()).unwrap();
    common::assert_valid_result(&result);

    let ledger = check_of(&result, "ledger.negative");
    assert_eq!(
        ledger["status"], "fail",
        "the expired waiver is not applied"
    );
    let subjects: Vec<&str> = ledger["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["tx-2", "tx-3"]);
    assert_eq!(ledger["findings"][0]["message"], "tx-2: amount=-4");
    assert_eq!(check_of(&result, "api.health")["status"], "pass");
    assert_eq!(check_of(&result, "replica.reachable")["status"], "error");
    assert_eq!(check_of(&result, "env.app")["status"], "pass");

    // security 0/10 (w30), reliability 7.5/7.5 (w25), database 0/5 (w20), operations 2.5/2.5 (w10)
    // → (0 + 2500 + 0 + 1000) / 85 = 41.18
    assert_eq!(result["score"], json!(41.18));
    assert_eq!(result["score_without_waivers"], json!(41.18));
    assert_eq!(result["coverage"], json!(75.0));
    assert_eq!(
        result["counts"],
        json!({"pass": 2, "warn": 0, "fail": 1, "error": 1, "skip": 0, "waived": 0})
    );
    assert_eq!(result["waivers"][0]["state"], "expired");
    assert_eq!(result["decision"]["go"], false);
    assert_eq!(result["decision"]["reached"], serde_json::Value::Null);
    assert_eq!(result["decision"]["blockers"], json!(["ledger.negative"]));
    assert_eq!(result["stage"], "production");

    // The table report names the decision, the blocker with its fix, and the expired waiver.
    assert!(
        run.stdout
            .starts_with(" NO-GO  Payments for production · reached: none"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("fix: Reverse the negative entries"));
    assert!(
        run.stdout
            .contains("EXPIRED (not applied) ledger.negative until")
    );
    for text in [
        &run.stdout,
        &run.stderr,
        &std::fs::read_to_string(p.path("out/result.json")).unwrap(),
    ] {
        assert!(!text.contains(PG_PASSWORD), "password leaked");
        assert!(!text.contains(HEADER_SECRET), "header value leaked");
    }

    // Fix everything: the ledger, and the replica pointed at a live server.
    common::exec(&db.admin_url, "DELETE FROM ledger WHERE amount < 0").unwrap();
    std::fs::write(
        p.path("ready.yaml"),
        scenario(&db.url, &db.url, &server.base),
    )
    .unwrap();
    let run = p.ready(&["check", "--format", "json"], ENV);
    assert_eq!(run.code, 0, "GO exits 0: {}", run.stdout);
    let result = run.json();
    assert_eq!(result["score"], json!(100.0));
    assert_eq!(result["decision"]["go"], true);
    assert_eq!(result["decision"]["reached"], "production");
}

#[test]
fn the_table_report_snapshot() {
    let db = postgres().fresh_db(LEDGER);
    let server = api();
    let mut config = scenario(&db.url, &dead_url(), &server.base);
    let today = Utc::now().date_naive();
    let soon = (today + Days::days(5)).format("%Y-%m-%d").to_string();
    config.push_str(&format!(
        "  - {{ check: replica.*, reason: replica rebuilt this week, expires: 2099-01-01 }}\n  - {{ check: ledger.*, subject: tx-3, reason: disputed, expires: {soon}, ticket: FIN-13 }}\n"
    ));
    let config = config.replace("include: [checks/*.yaml]\n", "");
    let config = format!("{config}include: [checks/*.yaml]\n");
    let p = Project::new(&config);
    p.write("checks/main.yaml", CHECKS);
    let run = p.ready(&["check", "--color", "never", "--stage", "beta"], ENV);
    assert_eq!(run.code, 1);
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    settings.add_filter(&regex_escape(&soon), "[IN-5-DAYS]");
    settings.add_filter(r"\d{4}-\d{2}-\d{2}", "[DATE]");
    settings.add_filter(r"in \d+ ms", "in [N] ms");
    settings.bind(|| insta::assert_snapshot!("table_report", run.stdout));
}

fn regex_escape(text: &str) -> String {
    text.replace('-', r"\-")
}

#[test]
fn validate_reports_every_mistake_with_line_and_column() {
    let p = Project::new(
        "version: 1\ntargets:\n  db: { postgres: \"postgres://u@h/d\" }\nwaivers:\n  - check: nope.*\n    expires: someday\ninclude: [checks/*.yaml]\n",
    );
    p.write(
        "checks/a.yaml",
        "checks:\n  - id: A.Bad\n    category: securty\n    severity: high\n    target: db\n    sql: { query: select 1, expect: { rows: -1 } }\n  - id: b\n    category: security\n    severity: low\n    timeout: soon\n    env: { vars: [X] }\n    file: { path: x }\n  - id: b\n    category: security\n    severity: low\n    target: db\n    http: { path: / }\n",
    );
    let run = p.ready(&["validate"], &[]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "");
    // Each line is followed by its source snippet (tests/it/validate.rs pins those).
    let lines: Vec<String> = common::diagnostic_lines(&run.stderr)
        .into_iter()
        .map(|l| l.replace(&format!("{}/", p.dir.path().display()), ""))
        .collect();
    assert_eq!(
        lines,
        [
            "checks/a.yaml:2:9: check id `A.Bad` must match [a-z0-9][a-z0-9._-]* [invalid-value]",
            "checks/a.yaml:3:15: unknown category `securty` (did you mean `security`?); known: security, reliability, database, observability, operations [unknown-category]",
            "checks/a.yaml:6:45: a row count cannot be negative (in `sql` of check `A.Bad`) [invalid-value]",
            "checks/a.yaml:10:14: malformed duration `soon`: expected number at 0 (write e.g. 500ms, 10s, 26h) [invalid-value]",
            "checks/a.yaml:12:5: check `b` has two kinds (`env` and `file`): a check has exactly one [kind-count]",
            "checks/a.yaml:13:9: duplicate check id `b` (first defined at checks/a.yaml:7:9) [duplicate-id]",
            "checks/a.yaml:16:13: target `db` is a postgres target; a `http` check needs a http target [unknown-target]",
            "ready.yaml:5:5: a waiver needs `reason` [missing-key]",
            "ready.yaml:5:12: waiver names no existing check: `nope.*` [unknown-check]",
            "ready.yaml:6:14: `expires` must be a date written YYYY-MM-DD [invalid-value]",
        ]
    );
    // `check` refuses the same file with the same exit code.
    assert_eq!(p.ready(&["check"], &[]).code, 2);
}

#[test]
fn yaml_syntax_errors_have_a_position() {
    let p = Project::new("version: 1\nchecks:\n  - id: a\n    category: [security\n");
    let run = p.ready(&["validate"], &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with(&format!("{}/ready.yaml:", p.dir.path().display())),
        "{}",
        run.stderr
    );
    let lines = common::diagnostic_lines(&run.stderr);
    assert!(
        lines.len() == 1 && lines[0].ends_with("[syntax]"),
        "{}",
        run.stderr
    );
}

#[test]
fn valid_files_validate_list_and_explain() {
    let db = postgres().fresh_db(LEDGER);
    let p = Project::new(&scenario(&db.url, &dead_url(), "https://api.example.com"));
    p.write("checks/main.yaml", CHECKS);
    let run = p.ready(&["validate"], ENV);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .ends_with("ready.yaml: valid, 4 checks, 3 targets, 1 waivers\n"),
        "{}",
        run.stdout
    );

    let run = p.ready(&["list", "--only", "kind:sql"], ENV);
    assert_eq!(run.code, 0);
    let rows: Vec<Vec<&str>> = run
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec![
                "id", "kind", "target", "category", "severity", "blocker", "tags"
            ],
            vec![
                "ledger.negative",
                "sql",
                "db",
                "security",
                "critical",
                "yes"
            ],
            vec![
                "replica.reachable",
                "sql",
                "replica",
                "database",
                "medium",
                "no"
            ],
        ]
    );

    let run = p.ready(&["explain", "ledger.negative"], ENV);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout
            .starts_with("ledger.negative — No ledger entry is negative\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("severity:    critical (weight 10)"));
    assert!(run.stdout.contains("Parameters (sql)\n  query: SELECT entry, amount FROM ledger WHERE amount < 0 ORDER BY entry"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("Remediation\n  Reverse the negative entries")
    );

    let run = p.ready(&["explain", "ledger"], ENV);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "no check with id `ledger` (similar: ledger.negative); `ready list` shows them all\n"
    );
}

#[test]
fn selection_makes_a_partial_run_that_cannot_go_without_its_blockers() {
    let db = postgres().fresh_db("CREATE TABLE ledger (entry text, amount numeric);");
    let server = api();
    let p = Project::new(&scenario(&db.url, &db.url, &server.base));
    p.write("checks/main.yaml", CHECKS);
    let run = p.ready(
        &[
            "check",
            "--format",
            "json",
            "--only",
            "tag:none",
            "--only",
            "category:reliability",
            "--skip",
            "ledger.*",
        ],
        ENV,
    );
    let result = run.json();
    assert_eq!(result["partial"], true);
    assert_eq!(check_of(&result, "api.health")["status"], "pass");
    let ledger = check_of(&result, "ledger.negative");
    assert_eq!(
        (ledger["status"].as_str(), ledger["selected"].as_bool()),
        (Some("skip"), Some(false))
    );
    assert_eq!(result["coverage"], json!(100.0));
    assert_eq!(result["decision"]["go"], false);
    assert_eq!(result["decision"]["blockers"], json!(["ledger.negative"]));
    assert_eq!(run.code, 1);

    // Without the blocker requirement and with a lower bar, the same selection can go.
    let run = p.ready(
        &[
            "check",
            "--format",
            "json",
            "--only",
            "api.*",
            "--stage",
            "beta",
            "--min-score",
            "50",
            "--no-waivers",
        ],
        ENV,
    );
    assert_eq!(
        run.json()["decision"]["go"],
        false,
        "beta still requires the unselected blocker"
    );
    let run = p.ready(&["check", "--only", "x", "--stage", "gamma"], ENV);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "unknown stage `gamma`; stages: beta, production\n"
    );
    let run = p.ready(&["check", "--only", "severity>=urgent"], ENV);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("unknown severity `urgent`"));
}

#[test]
fn unset_variables_make_checks_error_naming_them() {
    let p = Project::new(
        "targets:\n  db: { postgres: \"${DATABASE_URL}\" }\nchecks:\n  - id: q\n    category: database\n    severity: low\n    target: db\n    sql: { query: select 1 }\n  - id: c\n    category: operations\n    severity: low\n    command: { run: [\"${LINTER:?set LINTER to the linter binary}\"] }\n",
    );
    let run = p.ready(&["check", "--format", "json"], &[]);
    assert_eq!(run.code, 1);
    let result = run.json();
    assert_eq!(check_of(&result, "q")["status"], "error");
    assert_eq!(
        check_of(&result, "q")["message"],
        "target `db`: environment variable DATABASE_URL is not set"
    );
    assert_eq!(
        check_of(&result, "c")["message"],
        "cannot run: environment variable LINTER is not set: set LINTER to the linter binary"
    );
}

#[test]
fn secrets_never_appear_in_any_output() {
    let db = postgres().fresh_db(LEDGER);
    let server = api();
    let p = Project::new(&scenario(&db.url, &dead_url(), &server.base));
    p.write("checks/main.yaml", CHECKS);
    let runs = [
        p.ready(&["check", "--color", "always", "-v"], ENV),
        p.ready(
            &[
                "check",
                "--format",
                "json",
                "-v",
                "--report",
                "table=t.txt",
                "--report",
                "json=r.json",
                "--report",
                "markdown=m.md",
                "--report",
                "junit=j.xml",
                "--report",
                "github=g.txt",
            ],
            ENV,
        ),
        p.ready(
            &["check", "--format", "github", "--baseline", "r.json"],
            ENV,
        ),
        p.ready(&["report", "r.json", "--format", "markdown"], ENV),
        p.ready(&["validate", "-v"], ENV),
        p.ready(&["list"], ENV),
        p.ready(&["explain", "api.health"], ENV),
    ];
    let written = ["t.txt", "r.json", "m.md", "j.xml", "g.txt"]
        .map(|f| std::fs::read_to_string(p.path(f)).unwrap());
    assert!(
        runs[0].stderr.contains("DEBUG"),
        "-v logs: {}",
        runs[0].stderr
    );
    for text in runs
        .iter()
        .flat_map(|r| [&r.stdout, &r.stderr])
        .chain(written.iter())
    {
        assert!(!text.contains(PG_PASSWORD), "password leaked in: {text}");
        assert!(
            !text.contains(HEADER_SECRET),
            "header value leaked in: {text}"
        );
    }
}

#[test]
fn schema_and_completions() {
    let p = Project::new("");
    let run = p.ready(&["schema", "result"], &[]);
    assert_eq!(run.code, 0);
    let schema = run.json();
    assert_eq!(schema["$id"], "ready.result/v1");
    assert!(jsonschema::validator_for(&schema).is_ok());
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = p.ready(&["completions", shell], &[]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(
            run.stdout.contains("_READY_COMPLETE") && run.stdout.contains(shell),
            "{shell}: the script asks ready itself: {}",
            run.stdout
        );
    }
    let bash = p.ready(&["completions", "bash"], &[]).stdout;
    assert!(
        bash.contains(r#"_READY_COMPLETE="bash""#) && bash.contains(r#"-- "${words[@]}""#),
        "{bash}"
    );
}

/// What the bash script asks: `_READY_COMPLETE=bash ready -- WORDS…` with the word's index.
fn complete(p: &Project, words: &[&str]) -> Vec<String> {
    let index = (words.len() - 1).to_string();
    let mut args = vec!["--"];
    args.extend(words);
    let run = p.ready(
        &args,
        &[
            ("_READY_COMPLETE", "bash"),
            ("_CLAP_COMPLETE_INDEX", &index),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // With nothing typed yet, the flags are offered too: only the values are compared.
    run.stdout
        .lines()
        .filter(|w| !w.starts_with('-'))
        .map(str::to_string)
        .collect()
}

#[test]
fn completions_offer_the_check_ids_of_the_configuration() {
    let check = |id: &str| {
        format!(
            "  - id: {id}\n    category: operations\n    severity: low\n    tags: [nightly]\n    env: {{ vars: [X] }}\n"
        )
    };
    let p = Project::new(&format!("checks:\n{}{}", check("api.up"), check("api.tls")));
    p.write("other.yaml", &format!("checks:\n{}", check("elsewhere")));
    assert_eq!(
        complete(&p, &["ready", "explain", ""]),
        ["api.up", "api.tls"]
    );
    assert_eq!(complete(&p, &["ready", "explain", "api.t"]), ["api.tls"]);
    assert_eq!(
        complete(&p, &["ready", "explain", "-c", "other.yaml", ""]),
        ["elsewhere"]
    );
    assert_eq!(
        complete(&p, &["ready", "check", "--only", "tag:"]),
        ["tag:nightly"]
    );
    let skip = complete(&p, &["ready", "list", "--skip", ""]);
    assert_eq!(skip[..2], ["api.up", "api.tls"]);
    assert!(skip.contains(&"kind:http".to_string()), "{skip:?}");
    // A configuration with errors offers nothing rather than failing the shell.
    p.write("ready.yaml", "checks: [");
    assert_eq!(
        complete(&p, &["ready", "explain", ""]),
        Vec::<String>::new()
    );
}

#[test]
fn man_pages_for_each_subcommand() {
    let p = Project::new("");
    let run = p.ready(&["man", "check"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(".TH ready-check 1"), "{}", run.stdout);
    assert!(run.stdout.contains("\\-\\-fail\\-on\\-regression"));
    let run = p.ready(&["man", "chek"], &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("no subcommand `chek` (did you mean `check`?)"),
        "{}",
        run.stderr
    );
    let run = p.ready(&["man", "--out", "man/man1"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut pages: Vec<String> = std::fs::read_dir(p.path("man/man1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    assert_eq!(
        pages,
        [
            "ready-check.1",
            "ready-completions.1",
            "ready-demo.1",
            "ready-explain.1",
            "ready-init.1",
            "ready-list.1",
            "ready-man.1",
            "ready-merge.1",
            "ready-report.1",
            "ready-schema.1",
            "ready-validate.1",
            "ready.1",
        ]
    );
}

#[test]
fn the_built_in_suite_skips_what_is_not_configured() {
    let dir = tempfile::tempdir().unwrap();
    let p = Project { dir };
    std::fs::remove_file(p.path("ready.yaml")).ok();
    let run = p.ready(&["check", "--format", "json"], &[]);
    let result = run.json();
    common::assert_valid_result(&result);
    let check = check_of(&result, "postgres.supported-version");
    assert_eq!(check["status"], "skip");
    assert_eq!(
        check["message"],
        "target `db` is not configured: set DATABASE_URL"
    );
    assert_eq!(
        result["decision"]["go"], false,
        "nothing verified is never GO"
    );
    for check in result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["target"] == "api")
    {
        assert_eq!(check["status"], "skip", "{check}");
        assert_eq!(
            check["message"],
            "target `api` is not configured: set READY_HTTP_URL"
        );
    }

    let db = postgres().fresh_db("");
    let run = p.ready(
        &["check", "--format", "json", "--only", "kind:sql"],
        &[("DATABASE_URL", &db.url)],
    );
    let result = run.json();
    for id in [
        "postgres.supported-version",
        "postgres.invalid-indexes",
        "postgres.connection-headroom",
    ] {
        assert_eq!(
            check_of(&result, id)["status"],
            "pass",
            "{}",
            check_of(&result, id)
        );
    }
    assert!(!run.stdout.contains(PG_PASSWORD));
}

#[test]
fn exit_codes_in_the_readme_match_the_code() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for (code, meaning) in [
        (0, "GO"),
        (1, "NO-GO"),
        (2, "configuration or usage error"),
        (3, "internal error"),
    ] {
        let row = format!("| {code} | {meaning}");
        assert!(
            readme.contains(&row),
            "README lacks the exit code row `{row}`"
        );
    }
    assert_eq!(ready::Exit::Go as u8, 0);
    assert_eq!(ready::Exit::NoGo as u8, 1);
    assert_eq!(ready::Exit::Usage as u8, 2);
    assert_eq!(ready::Exit::Internal as u8, 3);
}

#[test]
fn secret_looking_variables_in_check_parameters_are_masked() {
    let p = Project::new(
        "checks:\n  - id: echo\n    category: operations\n    severity: low\n    command: { run: [echo, \"token=${DEPLOY_TOKEN} region=${REGION}\"], stdout_contains: nothing }\n",
    );
    let run = p.ready(
        &["check", "--format", "json"],
        &[("DEPLOY_TOKEN", "dt-9bX2-secret"), ("REGION", "eu-west-1")],
    );
    let result = run.json();
    let evidence = &check_of(&result, "echo")["findings"][0]["evidence"]["stdout"];
    assert_eq!(evidence, "token=*** region=eu-west-1\n");
    assert!(!run.stdout.contains("dt-9bX2-secret"));
}

#[test]
fn misspelt_selectors_and_durations_are_usage_errors_with_a_suggestion() {
    let p = Project::new(
        "checks:\n  - id: home\n    category: operations\n    severity: low\n    env: { vars: [HOME] }\n",
    );
    let run = p.ready(&["check", "--only", "kind:htpp"], &[]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: invalid value 'kind:htpp' for '--only <SELECTOR>': unknown kind `htpp` (did you mean `http`?)\n\nFor more information, try '--help'.\n"
    );
    let run = p.ready(&["check", "--timeout", "soon"], &[]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: invalid value 'soon' for '--timeout <DURATION>': malformed duration `soon`: expected number at 0 (write e.g. 500ms, 10s, 26h)\n\nFor more information, try '--help'.\n"
    );
    // Category names are known once the configuration is read.
    let run = p.ready(&["list", "--skip", "category:securty"], &[]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "--skip category:securty: unknown category `securty` (did you mean `security`?); known: security, reliability, database, observability, operations\n"
    );
}

#[test]
fn includes_outside_the_project_are_errors_that_quote_nothing() {
    let outside = tempfile::tempdir().unwrap();
    let secret = "root:$6$hash-of-the-root-password:19000:0:99999:7:::";
    std::fs::write(outside.path().join("shadow"), secret).unwrap();
    std::fs::write(outside.path().join("sibling.yaml"), secret).unwrap();
    let p = Project::new("version: 1\ninclude: [checks/*.yaml]\n");
    p.write("checks/ok.yaml", "checks: []\n");
    std::os::unix::fs::symlink(
        outside.path().join("sibling.yaml"),
        p.path("checks/link.yaml"),
    )
    .unwrap();
    let shadow = outside.path().join("shadow");
    let escape = format!(
        "../{}/sibling.yaml",
        outside.path().file_name().unwrap().to_str().unwrap()
    );
    std::fs::write(
        p.path("ready.yaml"),
        format!(
            "version: 1\ninclude: [checks/*.yaml, \"{}\", \"{escape}\"]\n",
            shadow.display()
        ),
    )
    .unwrap();
    let run = p.ready(&["validate"], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let project = p.dir.path().canonicalize().unwrap();
    let shown_escape = p.dir.path().join(&escape);
    assert_eq!(
        common::diagnostic_lines(&run.stderr),
        [
            format!(
                "{}:2:11: include `checks/*.yaml` resolves to {} outside the project directory {}: move the file into the project (symlinks are followed) [include]",
                p.path("ready.yaml").display(),
                p.path("checks/link.yaml").display(),
                project.display()
            ),
            format!(
                "{}:2:26: include `{}` is an absolute path: includes are paths inside the project directory, relative to it [include]",
                p.path("ready.yaml").display(),
                shadow.display()
            ),
            format!(
                "{}:2:{}: include `{escape}` resolves to {} outside the project directory {}: move the file into the project (symlinks are followed) [include]",
                p.path("ready.yaml").display(),
                30 + shadow.display().to_string().len(),
                shown_escape.display(),
                project.display()
            ),
        ]
    );
    assert!(!run.stderr.contains("hash-of-the-root") && !run.stdout.contains("hash-of-the-root"));
}

/// `ready ARGS…` with its standard output closed before it writes (`ready list | head -0`).
fn with_stdout_closed(project: &Project, args: &[&str]) -> (i32, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ready"))
        .args(args)
        .current_dir(project.dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_ends_every_command_quietly_with_its_normal_exit_code() {
    let config = "checks:\n  - id: fails\n    category: operations\n    severity: low\n    command: { run: [\"false\"] }\n";
    let p = Project::new(config);
    for args in [
        &["list"][..],
        &["validate"],
        &["explain", "fails"],
        &["schema", "config"],
        &["completions", "bash"],
        &["man"],
        &["check", "--format", "json"],
        &["check", "--format", "table"],
    ] {
        let normal = p.ready(args, &[]).code;
        assert_eq!(
            with_stdout_closed(&p, args),
            (normal, String::new()),
            "{args:?}"
        );
    }
}
