//! Evidence kinds over real artefacts: `coverage` over reports written by c8 and coverage.py
//! (`backups.rs`: `backup` over dumps written by pg_dump from the test database).

use crate::common;

use crate::common::{Project, check_of};
use serde_json::json;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/coverage/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

pub(crate) fn check(id: &str, kind: &str, params: &str) -> String {
    format!("  - id: {id}\n    category: reliability\n    severity: high\n    {kind}: {params}\n")
}

fn coverage_project(checks: &[String]) -> Project {
    let p = Project::new(&format!(
        "version: 1\nproject: coverage\nchecks:\n{}",
        checks.concat()
    ));
    for name in [
        "c8.lcov",
        "coverage-summary.json",
        "c8-cobertura.xml",
        "coveragepy.xml",
        "coveragepy.lcov",
    ] {
        p.write(&format!("coverage/{name}"), &fixture(name));
    }
    p
}

#[test]
fn coverage_thresholds_over_every_format_and_path_globs() {
    let p = coverage_project(&[
        check(
            "lcov-total",
            "coverage",
            "{ report: coverage/c8.lcov, min_lines: \"70%\", min_branches: 80 }",
        ),
        check(
            "lcov-wallet-under",
            "coverage",
            "{ report: coverage/c8.lcov, min_lines: 90, paths: \"src/wallet/**\" }",
        ),
        check(
            "lcov-wallet-ok",
            "coverage",
            "{ report: coverage/c8.lcov, min_lines: 89.47, paths: [\"src/wallet/**\"] }",
        ),
        check(
            "istanbul",
            "coverage",
            "{ report: coverage/coverage-summary.json, format: json-summary, min_lines: 75 }",
        ),
        check(
            "istanbul-wallet",
            "coverage",
            "{ report: coverage/coverage-summary.json, min_lines: 85, min_branches: 85, paths: \"src/wallet/*.js\" }",
        ),
        check(
            "c8-cobertura",
            "coverage",
            "{ report: coverage/c8-cobertura.xml, format: cobertura, min_lines: 73, min_branches: 82 }",
        ),
        check(
            "py-cobertura",
            "coverage",
            "{ report: coverage/coveragepy.xml, min_lines: 80, min_branches: 60, paths: \"wallet/**\" }",
        ),
        check(
            "py-lcov",
            "coverage",
            "{ report: coverage/coveragepy.lcov, min_branches: 70 }",
        ),
    ]);
    let result = common::check_json(&p);
    let expect = |id: &str, status: &str, message: &str, measurements: serde_json::Value| {
        let c = check_of(&result, id);
        assert_eq!(
            (
                c["status"].as_str().unwrap(),
                c["message"].as_str().unwrap()
            ),
            (status, message),
            "{id}: {c}"
        );
        assert_eq!(c["measurements"], measurements, "{id}");
    };
    expect(
        "lcov-total",
        "pass",
        "coverage/c8.lcov: line coverage 73.68%, branch coverage 81.81%",
        json!({"branches_pct": 900.0 / 11.0, "lines_pct": 2800.0 / 38.0}),
    );
    expect(
        "lcov-wallet-under",
        "fail",
        "line coverage in src/wallet/** is 89.47% (17/19), below the required 90%",
        json!({"branches_pct": 600.0 / 7.0, "lines_pct": 1700.0 / 19.0}),
    );
    expect(
        "lcov-wallet-ok",
        "pass",
        "coverage/c8.lcov: line coverage 89.47% in src/wallet/**, branch coverage 85.71% in src/wallet/**",
        json!({"branches_pct": 600.0 / 7.0, "lines_pct": 1700.0 / 19.0}),
    );
    expect(
        "istanbul",
        "fail",
        "line coverage is 73.68% (28/38), below the required 75%",
        json!({"branches_pct": 900.0 / 11.0, "lines_pct": 2800.0 / 38.0}),
    );
    expect(
        "istanbul-wallet",
        "pass",
        "coverage/coverage-summary.json: line coverage 89.47% in src/wallet/*.js, branch coverage 85.71% in src/wallet/*.js",
        json!({"branches_pct": 600.0 / 7.0, "lines_pct": 1700.0 / 19.0}),
    );
    expect(
        "c8-cobertura",
        "fail",
        "branch coverage is 81.81% (9/11), below the required 82%",
        json!({"branches_pct": 900.0 / 11.0, "lines_pct": 2800.0 / 38.0}),
    );
    expect(
        "py-cobertura",
        "pass",
        "coverage/coveragepy.xml: line coverage 81.81% in wallet/**, branch coverage 66.66% in wallet/**",
        json!({"branches_pct": 400.0 / 6.0, "lines_pct": 900.0 / 11.0}),
    );
    expect(
        "py-lcov",
        "fail",
        "branch coverage is 66.66% (4/6), below the required 70%",
        json!({"branches_pct": 400.0 / 6.0, "lines_pct": 1100.0 / 13.0}),
    );
    let finding = &check_of(&result, "lcov-wallet-under")["findings"][0];
    assert_eq!(finding["subject"], "coverage/c8.lcov#lines");
    assert_eq!(finding["evidence"]["lines_covered"], 17);
}

#[test]
fn function_coverage_where_the_report_records_functions() {
    let p = coverage_project(&[
        check(
            "lcov",
            "coverage",
            "{ report: coverage/c8.lcov, min_functions: 80 }",
        ),
        check(
            "istanbul",
            "coverage",
            "{ report: coverage/coverage-summary.json, min_functions: 80 }",
        ),
        check(
            "cobertura",
            "coverage",
            "{ report: coverage/c8-cobertura.xml, min_functions: 80 }",
        ),
        check(
            "py-lcov",
            "coverage",
            "{ report: coverage/coveragepy.lcov, min_functions: 100 }",
        ),
        check(
            "py-cobertura",
            "coverage",
            "{ report: coverage/coveragepy.xml, min_lines: 10, min_functions: 50 }",
        ),
    ]);
    let result = common::check_json(&p);
    // c8's own total in coverage-summary.json: functions 3 of 4; each of its formats agrees.
    for id in ["lcov", "istanbul", "cobertura"] {
        let c = check_of(&result, id);
        assert_eq!(
            (
                c["status"].as_str().unwrap(),
                c["message"].as_str().unwrap()
            ),
            (
                "fail",
                "function coverage is 75% (3/4), below the required 80%"
            ),
            "{id}: {c}"
        );
        assert_eq!(c["measurements"]["functions_pct"], json!(75.0), "{id}");
    }
    assert_eq!(check_of(&result, "py-lcov")["status"], "pass");
    let py = check_of(&result, "py-cobertura");
    assert_eq!(
        (
            py["status"].as_str().unwrap(),
            py["message"].as_str().unwrap()
        ),
        (
            "error",
            "coverage/coveragepy.xml has no function data: function coverage cannot be verified"
        )
    );
}

#[test]
fn stale_missing_and_unusable_reports_are_never_a_pass() {
    let p = coverage_project(&[
        check(
            "stale",
            "coverage",
            "{ report: coverage/c8.lcov, min_lines: 50, max_age: 1h }",
        ),
        check(
            "missing",
            "coverage",
            "{ report: coverage/none.info, min_lines: 50 }",
        ),
        check(
            "no-match",
            "coverage",
            "{ report: coverage/c8.lcov, min_lines: 50, paths: \"lib/**\" }",
        ),
        check(
            "garbage",
            "coverage",
            "{ report: coverage/garbage.txt, min_lines: 50 }",
        ),
        check(
            "final-json",
            "coverage",
            "{ report: coverage/coverage-final.json, min_lines: 50 }",
        ),
        check(
            "no-branches",
            "coverage",
            "{ report: coverage/lines-only.info, min_branches: 50 }",
        ),
        check(
            "stale-by-timestamp",
            "coverage",
            "{ report: coverage/old-cobertura.xml, min_lines: 50, max_age: 1day }",
        ),
    ]);
    p.write("coverage/garbage.txt", "hello\n");
    // A fresh copy of a report that says it was generated in 2020.
    let old = fixture("coveragepy.xml")
        .replace("timestamp=\"1795302306654\"", "timestamp=\"1600000000000\"");
    assert!(old.contains("1600000000000"));
    p.write("coverage/old-cobertura.xml", &old);
    p.write(
        "coverage/coverage-final.json",
        "{\"/a.js\": {\"path\": \"/a.js\", \"statementMap\": {}, \"s\": {}}}",
    );
    p.write(
        "coverage/lines-only.info",
        "SF:a.rs\nDA:1,1\nend_of_record\n",
    );
    let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(48 * 3600);
    std::fs::File::options()
        .write(true)
        .open(p.path("coverage/c8.lcov"))
        .unwrap()
        .set_modified(two_days_ago)
        .unwrap();
    let result = common::check_json(&p);
    let stale = check_of(&result, "stale");
    assert_eq!(stale["status"], "fail");
    assert_eq!(
        stale["message"],
        "coverage/c8.lcov was written 2 days ago, more than max_age 1h: the evidence is stale"
    );
    let old = check_of(&result, "stale-by-timestamp");
    assert_eq!(old["status"], "fail");
    let message = old["message"].as_str().unwrap();
    assert!(
        message.starts_with("coverage/old-cobertura.xml was written ")
            && message.contains(" days ago"),
        "{message}"
    );
    assert!(
        message.ends_with("more than max_age 1 day: the evidence is stale"),
        "{message}"
    );
    let errors = [
        (
            "missing",
            "cannot read the coverage report coverage/none.info: No such file or directory (os error 2)",
        ),
        (
            "no-match",
            "no file in coverage/c8.lcov matches paths lib/**",
        ),
        (
            "garbage",
            "coverage/garbage.txt is not an lcov, Cobertura XML, Istanbul coverage-summary.json, Go coverage profile or JaCoCo XML report",
        ),
        (
            "final-json",
            "coverage/coverage-final.json: this is Istanbul's coverage-final.json; point `report` at coverage-summary.json (reporter `json-summary`)",
        ),
        (
            "no-branches",
            "coverage/lines-only.info has no branch data: branch coverage cannot be verified",
        ),
    ];
    for (id, message) in errors {
        let c = check_of(&result, id);
        assert_eq!(
            (
                c["status"].as_str().unwrap(),
                c["message"].as_str().unwrap()
            ),
            ("error", message),
            "{id}"
        );
    }
}

#[test]
fn coverage_parameters_are_validated_with_their_position() {
    let p = Project::new(&format!(
        "checks:\n{}{}{}",
        check("a", "coverage", "{ report: x.info }"),
        check(
            "b",
            "coverage",
            "{ report: x.info, min_lines: 90, format: clover }"
        ),
        check("c", "coverage", "{ report: x.info, min_lines: 120 }"),
    ));
    let run = p.ready(&["validate"], &[]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("give `min_lines`, `min_branches` and/or `min_functions`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("clover"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("ready.yaml:13:44: a percentage is from 0 to 100, not 120"),
        "{}",
        run.stderr
    );
}
