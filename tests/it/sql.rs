//! The `sql` kind against a real PostgreSQL.

use crate::common;

use crate::common::{PG_PASSWORD, Project, check_of, exec, postgres, status_of};
use crate::postgres_security::{BAD, GOOD, fixture};
use serde_json::json;

const SCHEMA: &str = "
CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance numeric);
INSERT INTO accounts VALUES (1, 'alice', 10.50), (2, 'bob', -3), (3, 'carol', -7.25);
";

fn project(url: &str, checks: &str) -> Project {
    Project::new(&format!(
        "version: 1\nproject: sql-tests\ntargets:\n  db: {{ postgres: \"{url}\" }}\nchecks:\n{checks}"
    ))
}

fn sql_check(id: &str, params: &str) -> String {
    format!(
        "  - id: {id}\n    category: database\n    severity: high\n    target: db\n    sql: {params}\n"
    )
}

#[test]
fn each_returned_row_is_a_finding() {
    let db = postgres().fresh_db(SCHEMA);
    let p = project(
        &db.url,
        &sql_check(
            "neg",
            "{ query: \"SELECT owner, balance FROM accounts WHERE balance < 0 ORDER BY id\" }",
        ),
    );
    let run = p.ready(&["check", "--format", "json"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let result = run.json();
    common::assert_valid_result(&result);
    let check = check_of(&result, "neg");
    assert_eq!(check["status"], "fail");
    assert_eq!(check["message"], "bob: balance=-3 (+1 more)");
    assert_eq!(check["measurements"], json!({"rows": 2.0}));
    assert_eq!(
        check["findings"],
        json!([
            {"subject": "bob", "message": "bob: balance=-3", "level": "fail", "fingerprint": "neg:bob", "waived": false, "evidence": {"owner": "bob", "balance": "-3"}},
            {"subject": "carol", "message": "carol: balance=-7.25", "level": "fail", "fingerprint": "neg:carol", "waived": false, "evidence": {"owner": "carol", "balance": "-7.25"}},
        ])
    );
}

#[test]
fn passing_queries_and_value_comparisons() {
    let db = postgres().fresh_db(SCHEMA);
    let checks = [
        sql_check(
            "none",
            "{ query: \"SELECT owner FROM accounts WHERE balance > 1000\" }",
        ),
        sql_check(
            "range",
            "{ query: \"SELECT * FROM accounts\", expect: { rows: { min: 1, max: 3 } } }",
        ),
        sql_check(
            "sum",
            "{ query: \"SELECT sum(balance) FROM accounts\", expect: { value: 0.25 } }",
        ),
        sql_check(
            "bool",
            "{ query: \"SELECT count(*) = 3 FROM accounts\", expect: { value: true } }",
        ),
        sql_check(
            "text",
            "{ query: \"SELECT owner FROM accounts WHERE id = 1;\", expect: { value: alice } }",
        ),
    ]
    .concat();
    let run = project(&db.url, &checks).ready(&["check", "--format", "json"], &[]);
    let result = run.json();
    for id in ["none", "range", "sum", "bool", "text"] {
        assert_eq!(
            status_of(&result, id),
            "pass",
            "{id}: {}",
            check_of(&result, id)
        );
    }
    assert_eq!(
        check_of(&result, "sum")["message"],
        "the query returned 0.25, expected 0.25"
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[test]
fn wrong_counts_and_values_fail_with_the_numbers() {
    let db = postgres().fresh_db(SCHEMA);
    let checks = [
        sql_check(
            "few",
            "{ query: \"SELECT * FROM accounts\", expect: { rows: { max: 2 } } }",
        ),
        sql_check(
            "val",
            "{ query: \"SELECT count(*) FROM accounts\", expect: { value: 5 } }",
        ),
        sql_check(
            "many",
            "{ query: \"SELECT id FROM accounts\", expect: { value: 1 } }",
        ),
    ]
    .concat();
    let result = project(&db.url, &checks)
        .ready(&["check", "--format", "json"], &[])
        .json();
    assert_eq!(
        check_of(&result, "few")["message"],
        "the query returned 3 rows, expected at most 2"
    );
    assert_eq!(
        check_of(&result, "val")["message"],
        "the query returned 3, expected 5"
    );
    assert_eq!(
        check_of(&result, "many")["message"],
        "the query returned 3 rows, expected exactly one with the value"
    );
    for id in ["few", "val", "many"] {
        assert_eq!(status_of(&result, id), "fail");
    }
}

#[test]
fn writes_are_refused_by_the_read_only_transaction() {
    let db = postgres().fresh_db(SCHEMA);
    let checks = [
        sql_check(
            "insert",
            "{ query: \"INSERT INTO accounts VALUES (9, 'mallory', 1e9)\" }",
        ),
        sql_check("smuggled", "{ query: \"SELECT 1; DELETE FROM accounts\" }"),
        sql_check(
            "cte",
            "{ query: \"WITH d AS (DELETE FROM accounts RETURNING id) SELECT id FROM d\" }",
        ),
    ]
    .concat();
    let result = project(&db.url, &checks)
        .ready(&["check", "--format", "json"], &[])
        .json();
    let insert = check_of(&result, "insert");
    assert_eq!(insert["status"], "error");
    assert!(
        insert["message"]
            .as_str()
            .unwrap()
            .contains("read-only transaction"),
        "{insert}"
    );
    assert_eq!(status_of(&result, "smuggled"), "error");
    assert!(
        check_of(&result, "smuggled")["message"]
            .as_str()
            .unwrap()
            .contains("cannot insert multiple commands")
    );
    assert_eq!(status_of(&result, "cte"), "error");
    assert_eq!(
        common::query_text(&db.admin_url, "SELECT count(*)::text FROM accounts"),
        "3"
    );
}

#[test]
fn sql_errors_timeouts_and_unreachable_servers_are_errors() {
    let db = postgres().fresh_db(SCHEMA);
    let dead = format!(
        "postgres://postgres:{PG_PASSWORD}@127.0.0.1:{}/nothing",
        common::free_port()
    );
    let config = format!(
        "targets:\n  db: {{ postgres: \"{}\" }}\n  dead: {{ postgres: \"{dead}\", connect_timeout: 2s }}\nchecks:\n{}{}{}",
        db.url,
        sql_check("typo", "{ query: \"SELECT * FROM acounts\" }"),
        "  - id: slow\n    category: database\n    severity: low\n    target: db\n    timeout: 300ms\n    sql: { query: \"SELECT pg_sleep(5)\" }\n",
        "  - id: down\n    category: database\n    severity: low\n    target: dead\n    sql: { query: \"SELECT 1\" }\n",
    );
    let run = Project::new(&config).ready(&["check", "--format", "json"], &[]);
    let result = run.json();
    let typo = check_of(&result, "typo");
    assert_eq!(typo["status"], "error");
    assert_eq!(
        typo["message"],
        "query failed: relation \"acounts\" does not exist (SQLSTATE 42P01)"
    );
    let slow = check_of(&result, "slow");
    assert_eq!(slow["status"], "error");
    assert!(
        slow["message"] == "timed out after 300ms"
            || slow["message"]
                .as_str()
                .unwrap()
                .contains("canceling statement due to statement timeout"),
        "{slow}"
    );
    let down = check_of(&result, "down");
    assert_eq!(down["status"], "error");
    let message = down["message"].as_str().unwrap();
    assert!(
        message.starts_with("cannot connect to postgres://postgres:***@127.0.0.1:"),
        "{message}"
    );
    for out in [&run.stdout, &run.stderr] {
        assert!(!out.contains(PG_PASSWORD), "password leaked: {out}");
    }
    assert_eq!(run.code, 1);
}

#[test]
fn every_check_runs_read_only_with_its_limits_and_name() {
    let db = postgres().fresh_db("");
    let query = "SELECT current_setting('application_name') || ',' || current_setting('transaction_read_only') || ',' || current_setting('statement_timeout') || ',' || current_setting('lock_timeout')";
    let config = format!(
        "targets:\n  db: {{ postgres: \"{}\" }}\nchecks:\n  - id: session\n    category: database\n    severity: low\n    target: db\n    timeout: 7s\n    sql: {{ query: \"{query}\", expect: {{ value: \"ready,on,7s,7s\" }} }}\n",
        db.url
    );
    let result = Project::new(&config)
        .ready(&["check", "--format", "json"], &[])
        .json();
    assert_eq!(
        check_of(&result, "session")["status"],
        "pass",
        "{}",
        check_of(&result, "session")
    );
}

/// Checks share pooled connections: what one leaves in its session (a session advisory lock, a
/// prepared statement) must be gone before the next check, here forced onto the same connection.
#[test]
fn no_session_state_leaks_from_one_check_to_the_next() {
    let db = postgres().fresh_db(
        "CREATE FUNCTION leave_state() RETURNS int LANGUAGE plpgsql AS $$
         BEGIN PERFORM pg_advisory_lock(4242); EXECUTE 'PREPARE p AS SELECT 1'; RETURN 1; END $$;",
    );
    let checks = [
        sql_check(
            "dirty",
            "{ query: \"SELECT leave_state()\", expect: { value: 1 } }",
        ),
        sql_check(
            "locks",
            "{ query: \"SELECT objid::text FROM pg_locks WHERE locktype = 'advisory'\" }",
        ),
        sql_check(
            "again",
            "{ query: \"SELECT leave_state()\", expect: { value: 1 } }",
        ),
    ]
    .concat();
    let config = format!(
        "version: 1\nproject: sql-tests\ntargets:\n  db: {{ postgres: \"{}\", concurrency: 1 }}\nchecks:\n{checks}",
        db.url
    );
    let result = Project::new(&config)
        .ready(&["check", "--format", "json"], &[])
        .json();
    for id in ["dirty", "locks", "again"] {
        assert_eq!(status_of(&result, id), "pass", "{}", check_of(&result, id));
    }
}

/// A query that checks nothing is refused: at load when the text shows it, else at run time.
#[test]
fn queries_that_check_nothing_are_configuration_errors() {
    let bad = [
        "\"\"",
        "\"-- nothing\"",
        "\";\"",
        "COMMIT",
        "ROLLBACK",
        "COMMIT AND CHAIN",
        "BEGIN",
        "\"SET search_path = x\"",
    ];
    let mut checks: String = bad
        .iter()
        .enumerate()
        .map(|(i, q)| sql_check(&format!("q{i}"), &format!("{{ query: {q} }}")))
        .collect();
    checks.push_str(&sql_check(
        "unbounded",
        "{ query: \"SELECT 1\", expect: { rows: {} } }",
    ));
    let p = project("postgres://u@127.0.0.1/d", &checks);
    let run = p.ready(&["validate"], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let lines = common::diagnostic_lines(&run.stderr);
    let no_rows = |word: &str| {
        format!(
            "`{word}` returns no rows: a `sql` query must be a statement that returns rows (SELECT, WITH, VALUES, TABLE, SHOW or EXPLAIN)"
        )
    };
    let empty = "the query is empty: write a statement that returns rows (e.g. SELECT …)";
    let expected = [
        empty.to_string(),
        empty.to_string(),
        empty.to_string(),
        no_rows("COMMIT"),
        no_rows("ROLLBACK"),
        no_rows("COMMIT"),
        no_rows("BEGIN"),
        no_rows("SET"),
        "`rows: {}` sets no bound: give `min`, `max` or both, or a number".to_string(),
    ];
    assert_eq!(lines.len(), expected.len(), "{}", run.stderr);
    for (line, (i, message)) in lines.iter().zip(expected.iter().enumerate()) {
        let id = if i < bad.len() {
            format!("q{i}")
        } else {
            "unbounded".into()
        };
        assert!(
            line.ends_with(&format!(
                "{message} (in `sql` of check `{id}`) [invalid-value]"
            )),
            "{line}"
        );
    }
}

#[test]
fn a_statement_without_columns_is_an_error_and_integers_compare_exactly() {
    let db = postgres().fresh_db(SCHEMA);
    let checks = [
        sql_check("no_columns", "{ query: \"SELECT FROM accounts\" }"),
        sql_check(
            "near",
            "{ query: \"SELECT 9007199254740993\", expect: { value: 9007199254740992 } }",
        ),
        sql_check(
            "exact",
            "{ query: \"SELECT 9007199254740993\", expect: { value: 9007199254740993 } }",
        ),
    ]
    .concat();
    let result = project(&db.url, &checks)
        .ready(&["check", "--format", "json"], &[])
        .json();
    let none = check_of(&result, "no_columns");
    assert_eq!(none["status"], "error");
    assert_eq!(
        none["message"],
        "the query returns no columns, so there is nothing to check: a `sql` query must return rows with at least one column"
    );
    assert_eq!(status_of(&result, "near"), "fail");
    assert_eq!(
        check_of(&result, "near")["message"],
        "the query returned 9007199254740993, expected 9007199254740992"
    );
    assert_eq!(status_of(&result, "exact"), "pass");
}

/// `samples` and `expect.max_latency`: a fast query passes with its percentiles, a slow one
/// fails with them (50 ms sleeps against a 10 ms limit: far apart, whatever the machine's load).
#[test]
fn query_latency_is_judged_on_the_p95_of_its_samples() {
    let db = postgres().fresh_db(SCHEMA);
    let checks = [
        sql_check(
            "fast",
            "{ query: \"SELECT id FROM accounts\", samples: 5, expect: { rows: 3, max_latency: 5s } }",
        ),
        sql_check(
            "slow",
            "{ query: \"SELECT pg_sleep(0.05)\", samples: 3, expect: { max_latency: 10ms } }",
        ),
        sql_check(
            "broken",
            "{ query: \"SELECT * FROM acounts\", samples: 3, expect: { max_latency: 1s } }",
        ),
    ]
    .concat();
    let run = project(&db.url, &checks).ready(&["check", "--format", "json"], &[]);
    let result = run.json();
    common::assert_valid_result(&result);
    let fast = check_of(&result, "fast");
    assert_eq!(fast["status"], "pass", "{fast}");
    let keys: Vec<&String> = fast["measurements"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["max_ms", "p50_ms", "p95_ms", "rows"]);
    assert!(
        fast["message"].as_str().unwrap().starts_with(
            "the query returned 3 rows, expected exactly 3; p95 latency over 5 samples "
        ),
        "{fast}"
    );
    let slow = check_of(&result, "slow");
    assert_eq!(slow["status"], "fail", "{slow}");
    let finding = &slow["findings"][0];
    assert_eq!(finding["subject"], "latency");
    let shape = regex::Regex::new(
        r"^p95 latency over 3 samples is (\d+\.\d) ms, over the limit of 10 ms \(p50 \d+\.\d ms, p95 (\d+\.\d) ms, max \d+\.\d ms\)$",
    )
    .unwrap();
    let message = finding["message"].as_str().unwrap();
    let caps = shape
        .captures(message)
        .unwrap_or_else(|| panic!("{message}"));
    assert_eq!(caps[1], caps[2]);
    assert_eq!(
        finding["evidence"],
        json!({"samples": 3, "max_latency_ms": 10.0})
    );
    let m = &slow["measurements"];
    assert!(m["p50_ms"].as_f64().unwrap() >= 50.0, "{m}");
    assert!(
        m["p95_ms"].as_f64().unwrap() >= m["p50_ms"].as_f64().unwrap(),
        "{m}"
    );
    assert!(
        m["max_ms"].as_f64().unwrap() >= m["p95_ms"].as_f64().unwrap(),
        "{m}"
    );
    let broken = check_of(&result, "broken");
    assert_eq!(broken["status"], "error");
    assert_eq!(
        broken["message"],
        "query failed: relation \"acounts\" does not exist (SQLSTATE 42P01)"
    );
}

#[test]
fn samples_and_max_latency_are_validated_at_load() {
    let checks = [
        sql_check("none", "{ query: \"SELECT 1\", samples: 0 }"),
        sql_check(
            "unitless",
            "{ query: \"SELECT 1\", expect: { max_latency: 100 } }",
        ),
    ]
    .concat();
    let run = project("postgres://u@127.0.0.1/d", &checks).ready(&["validate"], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let lines = common::diagnostic_lines(&run.stderr);
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert!(
        lines[0].ends_with(
            "samples must be between 1 and 1000, not 0 (in `sql` of check `none`) [invalid-value]"
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].ends_with(
            "a duration needs a unit, such as 30s or 500ms (in `sql` of check `unitless`) [invalid-value]"
        ),
        "{}",
        lines[1]
    );
}

/// Once per run and target, on the first check in definition order that uses it, a role that can
/// do more than read is a `warn` finding; a role that can only read gets none.
#[test]
fn a_role_that_can_do_more_than_read_is_reported_once_per_target() {
    let db = postgres().fresh_db(SCHEMA);
    exec_admin_once();
    let checks = [
        sql_check("first", "{ query: \"SELECT 1\", expect: { rows: 1 } }"),
        sql_check("second", "{ query: \"SELECT 1\", expect: { rows: 1 } }"),
    ]
    .concat();
    let run_as = |url: &str| {
        project(url, &checks)
            .ready(&["check", "--format", "json"], &[])
            .json()
    };
    let result = run_as(&db.admin_url);
    assert_eq!(status_of(&result, "first"), "warn");
    assert_eq!(
        check_of(&result, "first")["findings"][0]["subject"],
        "target db: role postgres"
    );
    assert_eq!(
        check_of(&result, "first")["message"],
        "role postgres is a superuser: read-only transactions do not stop it from writing files, running programs or ending sessions; connect as a role that can only read, e.g. one granted pg_read_all_data and pg_monitor (see docs/least-privilege.md)"
    );
    assert_eq!(status_of(&result, "second"), "pass");
    let as_role = |role: &str| {
        db.admin_url.replacen(
            &format!("postgres:{PG_PASSWORD}@"),
            &format!("{role}:role-pw-5@"),
            1,
        )
    };
    let result = run_as(&as_role("ready_test_signaller"));
    assert_eq!(
        check_of(&result, "first")["message"],
        "role ready_test_signaller holds pg_signal_backend: read-only transactions do not stop it from writing files, running programs or ending sessions; connect as a role that can only read, e.g. one granted pg_read_all_data and pg_monitor (see docs/least-privilege.md)"
    );
    for (role, held) in [
        ("ready_test_file_writer", "pg_write_server_files"),
        ("ready_test_program_runner", "pg_execute_server_program"),
    ] {
        let result = run_as(&as_role(role));
        assert_eq!(status_of(&result, "first"), "warn");
        assert_eq!(status_of(&result, "second"), "pass");
        assert_eq!(
            check_of(&result, "first")["message"],
            format!(
                "role {role} holds {held}: read-only transactions do not stop it from writing files, running programs or ending sessions; connect as a role that can only read, e.g. one granted pg_read_all_data and pg_monitor (see docs/least-privilege.md)"
            )
        );
    }
    let result = run_as(&as_role("ready_test_reader"));
    for id in ["first", "second"] {
        assert_eq!(status_of(&result, id), "pass", "{}", check_of(&result, id));
    }
    // The tests' default role (docs/least-privilege.sql) is not reported either.
    assert_eq!(status_of(&run_as(&db.url), "first"), "pass");
}

fn exec_admin_once() {
    static ROLES: std::sync::Once = std::sync::Once::new();
    ROLES.call_once(|| {
        common::exec(
            &postgres().url("postgres"),
            "CREATE ROLE ready_test_signaller LOGIN PASSWORD 'role-pw-5' IN ROLE pg_signal_backend;
             CREATE ROLE ready_test_file_writer LOGIN PASSWORD 'role-pw-5' IN ROLE pg_write_server_files;
             CREATE ROLE ready_test_program_runner LOGIN PASSWORD 'role-pw-5' IN ROLE pg_execute_server_program;
             CREATE ROLE ready_test_reader LOGIN PASSWORD 'role-pw-5' IN ROLE pg_read_all_data;",
        )
        .unwrap();
    });
}

/// The role of docs/least-privilege.sql, created from that very file, gets the verdicts and
/// messages a superuser gets from every built-in postgres check.
#[test]
fn the_least_privilege_role_sees_what_a_superuser_sees() {
    let admin = postgres().url("postgres");
    exec(&admin, include_str!("../../docs/least-privilege.sql")).unwrap();
    exec(&admin, "ALTER ROLE ready_checks PASSWORD 'least-pw-3'").unwrap();
    let p = Project::new("");
    std::fs::remove_file(p.path("ready.yaml")).unwrap();
    let verdicts = |url: &str| {
        let result = p
            .ready(&["check", "--format", "json"], &[("DATABASE_URL", url)])
            .json();
        common::assert_valid_result(&result);
        result["checks"]
            .as_array()
            .unwrap()
            .iter()
            // The login probe tries the URL's own user name, so its message names the role.
            .filter(|c| c["target"] == "db" && c["id"] != "secrets.postgres-default-login")
            .map(|c| format!("{} {} {}", c["id"], c["status"], c["message"]))
            .collect::<Vec<_>>()
    };
    for variant in [BAD, GOOD] {
        let db = fixture(variant);
        let least = db.admin_url.replacen(
            &format!("postgres:{}@", common::PG_PASSWORD),
            "ready_checks:least-pw-3@",
            1,
        );
        assert_ne!(least, db.admin_url);
        // The tests' own least-privilege role (this recipe plus BYPASSRLS) is the reference: a
        // superuser gets the same verdicts but for the role warning on the target's first check.
        let as_reader = verdicts(&db.url);
        assert_eq!(as_reader.len(), 7, "{as_reader:?}");
        assert_eq!(verdicts(&least), as_reader);
        let as_superuser = verdicts(&db.admin_url);
        let differing: Vec<&String> = as_superuser
            .iter()
            .zip(&as_reader)
            .filter(|(su, reader)| su != reader)
            .map(|(su, _)| su)
            .collect();
        assert!(
            differing.len() <= 1
                && differing
                    .iter()
                    .all(|v| v.contains("role postgres is a superuser")),
            "{differing:?}"
        );
    }
}
