//! The SARIF report of a real run, validated against the OASIS SARIF 2.1.0 schema (vendored in
//! `tests/`) and pinned by a snapshot.

use serde_json::Value;

use crate::common::Project;

const CONFIG: &str = "version: 1
project: shop
waivers:
  - check: docs.readme
    reason: the README lands with the docs sprint
    expires: 2099-01-01
    ticket: DOC-1
include: [checks/*.yaml]
";

/// Each status once: pass, fail with evidence (high), error (medium), waived (critical) and a
/// low failure.
const CHECKS: &str = "checks:
  - id: app.path
    category: operations
    severity: low
    env: { vars: [PATH] }
  - id: build.script
    title: The build script succeeds
    category: operations
    severity: high
    remediation: Fix the build script.
    command: { run: [sh, -c, 'echo half-built; exit 3'] }
  - id: tools.lint
    title: The linter runs
    category: operations
    severity: medium
    command: { run: [no-such-linter-for-ready] }
  - id: docs.readme
    title: The project has a README
    category: operations
    severity: critical
    file: { path: README.md }
  - id: config.flags
    category: security
    severity: low
    tags: [config]
    env: { vars: [READY_TEST_UNSET_FLAG] }
";

pub(crate) fn mixed_run() -> (Project, String) {
    let p = Project::new(CONFIG);
    p.write("checks/main.yaml", CHECKS);
    let run = p.ready(&["check", "--format", "sarif"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    (p, run.stdout)
}

/// Validates against the OASIS schema, formats (`uri`, `uri-reference`, `date-time`) included.
fn sarif_errors(sarif: &Value) -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles");
    validator
        .iter_errors(sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

fn assert_valid_sarif(sarif: &Value) {
    let errors = sarif_errors(sarif);
    assert!(errors.is_empty(), "not valid SARIF 2.1.0: {errors:#?}");
}

#[test]
fn a_mixed_run_is_valid_sarif_with_a_result_per_failing_finding() {
    let (_p, stdout) = mixed_run();
    let sarif: Value = serde_json::from_str(&stdout).unwrap();
    assert_valid_sarif(&sarif);
    let run = &sarif["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["build.script", "tools.lint", "docs.readme", "config.flags"]
    );
    let build = &run["tool"]["driver"]["rules"][0];
    assert_eq!(
        build["shortDescription"]["text"],
        "The build script succeeds"
    );
    assert_eq!(
        build["fullDescription"]["text"],
        "The build script succeeds: a high `command` check of operations"
    );
    assert_eq!(
        build["help"]["text"],
        "Fix the build script.\n\nHow the `command` check works: docs/kinds/command.md"
    );
    assert_eq!(build["defaultConfiguration"]["level"], "error");
    let results = run["results"].as_array().unwrap();
    let summary: Vec<(&str, &str, &str, bool)> = results
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap(),
                r["level"].as_str().unwrap(),
                r["partialFingerprints"]["readyFinding/v1"]
                    .as_str()
                    .unwrap(),
                r.get("suppressions").is_some(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("build.script", "error", "build.script:sh", false),
            ("tools.lint", "error", "tools.lint#not-verified", false),
            ("docs.readme", "error", "docs.readme:README.md", true),
            (
                "config.flags",
                "note",
                "config.flags:READY_TEST_UNSET_FLAG",
                false
            ),
        ]
    );
    assert_eq!(
        results[0]["message"]["text"],
        "`sh` exited with 3, expected 0"
    );
    assert_eq!(results[0]["properties"]["evidence"]["exit_code"], 3);
    assert!(
        results[1]["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with("tools.lint was not verified: cannot run `no-such-linter-for-ready`"),
        "{}",
        results[1]
    );
    assert_eq!(
        results[2]["suppressions"][0],
        serde_json::json!({
            "kind": "external",
            "status": "accepted",
            "justification": "the README lands with the docs sprint (waived until 2099-01-01, ticket DOC-1)"
        })
    );
    let location = &results[3]["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"],
        serde_json::json!({ "uri": "checks/main.yaml", "uriBaseId": "%SRCROOT%" })
    );
    assert_eq!(location["region"]["startLine"], 22);
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    assert_eq!(run["properties"]["decision"], "NO-GO");
    assert_eq!(run["properties"]["go"], false);

    // The schema is strict where GitHub is: `helpUri` must be absolute (SARIF §3.49.12), which
    // is why the rules carry the docs page in their help text until the package names its home.
    let mut relative = sarif.clone();
    relative["runs"][0]["tool"]["driver"]["rules"][0]["helpUri"] = "docs/kinds/command.md".into();
    assert_eq!(sarif_errors(&relative).len(), 1);
}

#[test]
fn the_sarif_snapshot() {
    let (_p, stdout) = mixed_run();
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(
        r#""(start|end)TimeUtc": "[^"]+""#,
        r#""${1}TimeUtc": "[TIME]""#,
    );
    settings.bind(|| insta::assert_snapshot!("sarif_report", stdout));
}

#[test]
fn report_and_the_report_flag_write_sarif_and_help_lists_it() {
    let (p, stdout) = mixed_run();
    let run = p.ready(&["check", "--report", "sarif=out/ready.sarif"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let written = std::fs::read_to_string(p.path("out/ready.sarif")).unwrap();
    let strip_times = |text: &str| {
        regex::Regex::new(r#""(start|end)TimeUtc": "[^"]+""#)
            .unwrap()
            .replace_all(text, "")
            .into_owned()
    };
    assert_eq!(strip_times(&written), strip_times(&stdout));

    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/results/sample.json");
    let again = p.ready(&["report", sample, "--format", "sarif"], &[]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    let sarif: Value = serde_json::from_str(&again.stdout).unwrap();
    assert_valid_sarif(&sarif);
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 6);

    let help = p.ready(&["check", "--help"], &[]).stdout;
    assert!(help.contains("- sarif:"), "{help}");
}
