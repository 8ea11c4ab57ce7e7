//! `ready validate` as a linter: snippets, JSON for editors, warnings for unset variables, and
//! "did you mean" on the command line.

use crate::common::{Project, check_of};

const PROJECT: &str = "\
version: 1
targets:
  db: { postgres: \"${DB_URL}\" }
  api: { http: \"ftp://files\" }
waivers:
  - { check: home.okk, reason: r, expires: 2030-01-01 }
  - { check: fn.bad, reason: r, expires: someday }
include: [checks/*.yaml]
";

const CHECKS: &str = "\
checks:
  - id: home.ok
    category: operations
    severity: hihg
    env: { vars: [HOME] }
  - id: fn.bad
    category: secuirty
    severity: low
    target: api
    http: { path: /, expect: { status: [200], bodyy: x } }
  - id: q
    category: database
    severity: low
    target: dbb
    sql: { query: \"select '${EMPTY}'\" }
";

fn project() -> Project {
    let p = Project::new(PROJECT);
    p.write("checks/a.yaml", CHECKS);
    p
}

/// The stderr with the project's directory as `[DIR]`.
fn shown(p: &Project, text: &str) -> String {
    text.replace(&format!("{}/", p.dir.path().display()), "[DIR]/")
}

#[test]
fn every_diagnostic_shows_its_source_line_with_the_span_underlined() {
    let p = project();
    let run = p.ready(&["validate"], &[("EMPTY", "")]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    insta::assert_snapshot!("validate_text", shown(&p, &run.stderr));
    // No colour without a terminal; `--color always` colours the same text.
    assert!(!run.stderr.contains('\x1b'));
    let coloured = p.ready(&["validate", "--color", "always"], &[("EMPTY", "")]);
    assert!(
        coloured.stderr.contains("\x1b[31m[unknown-target]\x1b[0m"),
        "{}",
        coloured.stderr
    );
    let forced = p.ready(&["validate"], &[("EMPTY", ""), ("FORCE_COLOR", "1")]);
    assert_eq!(forced.stderr, coloured.stderr);
    let never = p.ready(
        &["validate", "--color", "never"],
        &[("FORCE_COLOR", "1"), ("EMPTY", "")],
    );
    assert_eq!(never.stderr, run.stderr);
}

#[test]
fn json_diagnostics_match_their_schema() {
    let p = project();
    let run = p.ready(&["validate", "--format", "json"], &[("EMPTY", "")]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr, "");
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let schema = p.ready(&["schema", "diagnostics"], &[]);
    assert_eq!(schema.code, 0);
    let schema: serde_json::Value = serde_json::from_str(&schema.stdout).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(doc["valid"], false);
    let first = &doc["diagnostics"][0];
    assert_eq!(
        shown(&p, &first.to_string()),
        serde_json::json!({
            "file": "[DIR]/checks/a.yaml",
            "line": 4,
            "column": 15,
            "end_line": 4,
            "end_column": 19,
            "severity": "error",
            "code": "invalid-value",
            "message": "unknown severity `hihg` (did you mean `high`?); expected critical, high, medium or low",
        })
        .to_string()
    );
    let warning = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["severity"] == "warning")
        .unwrap();
    assert_eq!(warning["code"], "empty-variable");
    assert_eq!(
        warning["help"],
        "give EMPTY a value before `ready check`, or write a default: ${EMPTY:-…}"
    );

    // Warnings alone leave the configuration valid: exit 0.
    let p = Project::new(
        "targets:\n  db: { postgres: \"${DB_URL}\" }\nchecks:\n  - id: q\n    category: database\n    severity: low\n    target: db\n    sql: { query: select 1 }\n",
    );
    let run = p.ready(&["validate", "--format", "json"], &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["valid"], true);
    assert!(validator.is_valid(&doc));
    assert_eq!(
        doc["diagnostics"][0]["message"],
        "environment variable DB_URL is not set; target `db` uses it, so its checks would be `error`"
    );
    let run = p.ready(&["validate"], &[]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout
            .ends_with(": valid, 1 checks, 1 targets, 0 waivers\n"),
        "{}",
        run.stdout
    );
    assert_eq!(
        shown(&p, &run.stderr),
        "\
[DIR]/ready.yaml:2:19: warning: environment variable DB_URL is not set; target `db` uses it, so its checks would be `error` [unset-variable]
  |
2 |   db: { postgres: \"${DB_URL}\" }
  |                   ^^^^^^^^^^^
  |
  = help: set DB_URL before `ready check`, or write a default: ${DB_URL:-…}
"
    );
    let run = p.ready(&["validate"], &[("DB_URL", "postgres://u@h/d")]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
}

#[test]
fn misspelt_ids_categories_and_stages_on_the_command_line_are_suggested() {
    let p = Project::new(
        "checks:\n  - id: home.set\n    category: operations\n    severity: low\n    env: { vars: [HOME] }\n",
    );
    let run = p.ready(&["check", "--only", "id:home.st"], &[]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "--only home.st: no check id matches `home.st` (did you mean `home.set`?); `ready list` shows them all\n"
    );
    let run = p.ready(&["list", "--only", "category:secuirty"], &[]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "--only category:secuirty: unknown category `secuirty` (did you mean `security`?); known: security, reliability, database, observability, operations\n"
    );
    let run = p.ready(&["explain", "home.st"], &[]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "no check with id `home.st` (did you mean `home.set`?); `ready list` shows them all\n"
    );
    let run = p.ready(&["check", "--stage", "prodution"], &[]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "unknown stage `prodution` (did you mean `production`?); stages: beta, production\n"
    );
}

#[test]
fn a_variable_set_but_empty_is_named_as_empty_when_checks_run() {
    let p = Project::new(
        "targets:\n  db: { postgres: \"${DB_URL}\" }\nchecks:\n  - id: q\n    category: database\n    severity: low\n    target: db\n    sql: { query: select 1 }\n  - id: c\n    category: operations\n    severity: low\n    command: { run: [\"${TOOL}\"] }\n",
    );
    let run = p.ready(
        &["check", "--format", "json"],
        &[("DB_URL", ""), ("TOOL", "")],
    );
    let result = run.json();
    assert_eq!(check_of(&result, "q")["status"], "error");
    assert_eq!(
        check_of(&result, "q")["message"],
        "target `db`: environment variable DB_URL is set but empty"
    );
    assert_eq!(
        check_of(&result, "c")["message"],
        "cannot run: environment variable TOOL is set but empty"
    );
}

/// A snippet shows the line as written, but never the password of a URL on it, even of a
/// target that failed to load (whose password the redactor never learnt).
#[test]
fn snippets_star_url_passwords_of_targets_that_failed_to_load() {
    let p = Project::new(
        "targets:\n  api:\n    http: ftp://user:Basic-Sekret-9@api.example.com/\nchecks: []\n",
    );
    let run = p.ready(&["validate"], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(!run.stderr.contains("Basic-Sekret-9"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("3 |     http: ftp://user:**************@api.example.com/\n"),
        "{}",
        run.stderr
    );
}
