//! CI and release workflows: formats, `report`, baselines, shards and `merge`, `init`, schemas.

use crate::common;

use crate::common::{Project, check_of};
use serde_json::{Value, json};

fn sample() -> String {
    format!(
        "{}/fixtures/results/sample.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn every_format_of_a_fixed_result() {
    let p = Project::new("");
    for (format, name) in [
        ("table", "report_table"),
        ("markdown", "report_markdown"),
        ("junit", "report_junit"),
        ("github", "report_github"),
    ] {
        let run = p.ready(
            &["report", &sample(), "--format", format, "--color", "never"],
            &[],
        );
        assert_eq!(
            run.code, 1,
            "{format}: the fixed result is NO-GO: {}",
            run.stderr
        );
        insta::assert_snapshot!(name, run.stdout);
    }

    let run = p.ready(&["report", &sample(), "--format", "json"], &[]);
    let result = run.json();
    common::assert_valid_result(&result);
    // security 0 (w30), reliability 12.5/20 = 62.5 (w25), database 0 (w20), operations 100 (w10)
    // → (1562.5 + 1000) / 85 = 30.15; 6 of 7 selected checks produced evidence.
    assert_eq!(result["score"], json!(30.15));
    assert_eq!(result["coverage"], json!(85.71));
    assert_eq!(
        result["decision"]["blockers"],
        json!(["rls.enabled", "backup.fresh"])
    );
    assert_eq!(
        result["counts"],
        json!({"pass": 2, "warn": 1, "fail": 2, "error": 1, "skip": 1, "waived": 1})
    );
}

#[test]
fn junit_is_well_formed_xml_with_a_suite_per_category() {
    let run = Project::new("").ready(&["report", &sample(), "--format", "junit"], &[]);
    let doc = roxmltree::Document::parse(&run.stdout).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(
        (
            root.attribute("tests"),
            root.attribute("failures"),
            root.attribute("errors"),
            root.attribute("skipped")
        ),
        // The ready.decision case fails too; junit-10.xsd has no `skipped` on <testsuites>.
        (Some("9"), Some("3"), Some("1"), None)
    );
    let suites: Vec<&str> = root
        .children()
        .filter(|n| n.is_element())
        .map(|n| n.attribute("name").unwrap())
        .collect();
    assert_eq!(
        suites,
        ["ready", "security", "reliability", "database", "operations"]
    );
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("rls.enabled"))
        .unwrap();
    let failure = failure
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert_eq!(
        failure.attribute("message"),
        Some("public.wallets: rls=off (+1 more)")
    );
    assert!(failure.text().unwrap().contains("remediation: ALTER TABLE"));
}

#[test]
fn report_recomputes_the_decision_without_touching_targets() {
    let p = Project::new("");
    // The bar of beta lowered under the score still leaves its failing blockers.
    let run = p.ready(
        &[
            "report",
            &sample(),
            "--format",
            "json",
            "--stage",
            "beta",
            "--min-score",
            "30",
        ],
        &[],
    );
    let result = run.json();
    assert_eq!(result["stage"], "beta");
    assert_eq!(result["stages"][0]["min_score"], json!(30.0));
    assert_eq!(
        result["stages"][0]["unmet"],
        json!([
            "rls.enabled is fail (required: blocker)",
            "backup.fresh is fail (required: blocker)"
        ])
    );
    assert_eq!(run.code, 1);
    let run = p.ready(&["report", &sample(), "--stage", "gamma"], &[]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (2, "unknown stage `gamma`; stages: beta, production\n")
    );
    let run = p.ready(&["report", "missing.json"], &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.starts_with("missing.json: cannot read"),
        "{}",
        run.stderr
    );
}

/// Local checks whose outcome the environment decides.
fn local_suite(n: usize) -> String {
    let mut config = String::from(
        "version: 1\nproject: fleet\nstages:\n  - { name: beta, min_score: 50, require: [blocker] }\n  - { name: production, min_score: 80, require: [blocker] }\nchecks:\n",
    );
    for i in 0..n {
        let severity = ["critical", "high", "medium", "low"][i % 4];
        let category = ["security", "reliability", "database", "operations"][i % 4];
        let blocker = i == 0;
        config.push_str(&format!(
            "  - id: var.v{i}\n    category: {category}\n    severity: {severity}\n    blocker: {blocker}\n    env: {{ vars: [V{i}] }}\n"
        ));
    }
    config
}

fn env_with(missing: &[usize], n: usize) -> Vec<(String, String)> {
    (0..n)
        .filter(|i| !missing.contains(i))
        .map(|i| (format!("V{i}"), "set".to_string()))
        .collect()
}

fn run_env(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[test]
fn report_reproduces_the_decision_of_check() {
    let p = Project::new(&local_suite(8));
    let env = env_with(&[3, 5], 8);
    let run = p.ready(
        &["check", "--format", "json", "-o", "r.json"],
        &run_env(&env),
    );
    let checked: Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("r.json")).unwrap()).unwrap();
    let reported = p
        .ready(&["report", "r.json", "--format", "json"], &[])
        .json();
    assert_eq!(run.code, p.ready(&["report", "r.json"], &[]).code);
    for field in [
        "decision",
        "score",
        "score_without_waivers",
        "coverage",
        "counts",
        "categories",
        "stages",
        "checks",
    ] {
        assert_eq!(checked[field], reported[field], "{field}");
    }
}

#[test]
fn baselines_mark_regressions_and_new_findings() {
    let n = 8;
    let p = Project::new(&local_suite(n));
    let all = env_with(&[], n);
    let run = p.ready(
        &["check", "--format", "json", "-o", "baseline.json"],
        &run_env(&all),
    );
    assert_eq!(run.code, 0);

    // v7 (low, not a blocker) breaks: the score stays above production's bar.
    let broken = env_with(&[7], n);
    let run = p.ready(
        &["check", "--format", "json", "--baseline", "baseline.json"],
        &run_env(&broken),
    );
    let result = run.json();
    common::assert_valid_result(&result);
    assert_eq!(
        result["regressions"],
        json!([{"check": "var.v7", "before": "pass", "now": "fail"}])
    );
    assert_eq!(result["new_findings"], json!(["var.v7:V7"]));
    assert_eq!(result["baseline"]["score"], json!(100.0));
    assert_eq!(
        result["decision"]["go"], true,
        "a regression alone does not fail the run"
    );
    assert_eq!(run.code, 0);

    let run = p.ready(
        &[
            "check",
            "--baseline",
            "baseline.json",
            "--fail-on-regression",
            "--color",
            "never",
        ],
        &run_env(&broken),
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("· −"),
        "the score's change is shown: {}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("regression: var.v7 was pass in the baseline and is fail now"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Regressions since the baseline\n  var.v7 was pass, is fail")
    );
    for format in ["markdown", "github"] {
        let run = p.ready(
            &["check", "--baseline", "baseline.json", "--format", format],
            &run_env(&broken),
        );
        assert!(
            run.stdout.contains("since the baseline (100.0)"),
            "{format}: {}",
            run.stdout
        );
    }
    let run = p.ready(
        &[
            "check",
            "--baseline",
            "baseline.json",
            "--format",
            "markdown",
        ],
        &run_env(&broken),
    );
    assert!(
        run.stdout.contains("`var.v7` pass → fail"),
        "{}",
        run.stdout
    );
}

#[test]
fn merged_shards_equal_an_unsharded_run() {
    let n = 24;
    let p = Project::new(&local_suite(n));
    let env = env_with(&[2, 9, 17], n);
    let whole = p
        .ready(&["check", "--format", "json"], &run_env(&env))
        .json();

    let mut files = Vec::new();
    let mut ran = 0;
    for i in 1..=3 {
        let file = format!("shard{i}.json");
        let run = p.ready(
            &[
                "check",
                "--shard",
                &format!("{i}/3"),
                "--format",
                "json",
                "-o",
                &file,
            ],
            &run_env(&env),
        );
        assert_ne!(run.code, 2, "{}", run.stderr);
        let shard: Value =
            serde_json::from_str(&std::fs::read_to_string(p.path(&file)).unwrap()).unwrap();
        assert_eq!(shard["partial"], true);
        assert_eq!(shard["shard"], format!("{i}/3"));
        let elsewhere = shard["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["selected"] == false)
            .unwrap();
        assert!(
            elsewhere["message"]
                .as_str()
                .unwrap()
                .starts_with("runs in shard "),
            "{elsewhere}"
        );
        ran += shard["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["selected"] == true)
            .count();
        files.push(file);
    }
    assert_eq!(ran, n, "every check runs in exactly one shard");

    let mut args = vec!["merge"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["-o", "all.json"]);
    let run = p.ready(&args, &[]);
    assert_eq!(
        run.code,
        whole["decision"]["go"]
            .as_bool()
            .map_or(3, |go| if go { 0 } else { 1 }),
        "{}",
        run.stderr
    );
    let merged: Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("all.json")).unwrap()).unwrap();
    common::assert_valid_result(&merged);
    assert_eq!(merged["partial"], false);
    for field in [
        "decision",
        "score",
        "score_without_waivers",
        "coverage",
        "counts",
        "categories",
        "stages",
    ] {
        assert_eq!(merged[field], whole[field], "{field}");
    }
    for check in whole["checks"].as_array().unwrap() {
        let id = check["id"].as_str().unwrap();
        assert_eq!(check_of(&merged, id)["status"], check["status"], "{id}");
        assert_eq!(check_of(&merged, id)["findings"], check["findings"], "{id}");
    }

    // Shards of another configuration do not merge.
    let other = Project::new(&local_suite(n - 1));
    other.ready(
        &[
            "check", "--shard", "1/3", "--format", "json", "-o", "x.json",
        ],
        &run_env(&env),
    );
    let foreign = other.path("x.json").display().to_string();
    let run = p.ready(&["merge", &files[0], &foreign], &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with("the results come from different configurations"),
        "{}",
        run.stderr
    );
    assert_eq!(p.ready(&["check", "--shard", "4/3"], &[]).code, 2);
}

#[test]
fn a_shard_is_never_go_on_its_own_and_merge_decides() {
    let n = 6;
    let p = Project::new(&local_suite(n));
    let env = env_with(&[], n);
    let mut files = Vec::new();
    for i in 1..=2 {
        let file = format!("shard{i}.json");
        let shard = format!("{i}/2");
        let report = format!("json={file}");
        let args = ["check", "--shard", &shard, "--report", &report, "--quiet"];
        let run = p.ready(&args, &run_env(&env));
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(
            run.stdout.starts_with(&format!(
                "NO-GO for production · score 100.0 ≥ 80 · shard {shard}, decided by `ready merge`"
            )),
            "{}",
            run.stdout
        );
        let result: Value =
            serde_json::from_str(&std::fs::read_to_string(p.path(&file)).unwrap()).unwrap();
        assert_eq!(result["decision"]["go"], false);
        assert_eq!(result["decision"]["reached"], Value::Null);
        let reason = format!("shard {shard}: a shard decides only after `ready merge`");
        assert!(
            result["decision"]["reasons"]
                .as_array()
                .unwrap()
                .contains(&Value::from(reason)),
            "{result}"
        );
        // `report` recomputes the decision and holds it for the merge too.
        assert_eq!(p.ready(&["report", &file, "--quiet"], &[]).code, 1);
        files.push(file);
    }
    let run = p.ready(&["merge", &files[0], &files[1]], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let merged = run.json();
    assert_eq!(merged["decision"]["go"], true);
    assert_eq!(merged["decision"]["reasons"], serde_json::json!([]));
}

#[test]
fn the_github_format_annotates_and_fills_the_step_summary() {
    let p = Project::new(&local_suite(4));
    std::fs::write(p.path("summary.md"), "previous step\n").unwrap();
    let summary = p.path("summary.md").display().to_string();
    // v3 is low and in operations (weight 10): 88.2 clears production's bar of 80.
    let env = env_with(&[3], 4);
    let mut pairs = run_env(&env);
    pairs.push(("GITHUB_STEP_SUMMARY", &summary));
    let run = p.ready(&["check", "--format", "github"], &pairs);
    assert_eq!(run.code, 0);
    // The verdict first; a low failure is a notice at the check's definition.
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with(
            "::notice title=ready%3A GO for production::GO for production · score 88.2 ≥ 80%0A"
        ),
        "{}",
        run.stdout
    );
    assert!(
        lines[1].starts_with("::notice file=ready.yaml,line=")
            && lines[1].ends_with(",title=ready%3A var.v3 (fail%2C low)::V3 is not set"),
        "{}",
        run.stdout
    );
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    let written = std::fs::read_to_string(p.path("summary.md")).unwrap();
    assert!(
        written.starts_with("previous step\n# fleet: GO for production\n"),
        "{written}"
    );
}

#[test]
fn init_writes_a_valid_project_for_every_profile() {
    let config_schema = Project::new("").ready(&["schema", "config"], &[]).json();
    let validator = jsonschema::validator_for(&config_schema).expect("the config schema compiles");
    for profile in ["supabase", "postgres", "http", "backend"] {
        let dir = tempfile::tempdir().unwrap();
        let p = Project { dir };
        std::fs::remove_file(p.path("ready.yaml")).ok();
        // The supabase profile probes the edge functions it finds.
        p.write("supabase/functions/momo-webhook/index.ts", "")
            .write("supabase/functions/send-sms/index.ts", "");
        let run = p.ready(&["init", "--profile", profile], &[]);
        assert_eq!(run.code, 0, "{profile}: {}", run.stderr);
        let run = p.ready(&["validate"], &[]);
        assert_eq!(
            run.code, 0,
            "{profile}: the written files validate: {}",
            run.stderr
        );
        let text = std::fs::read_to_string(p.path("ready.yaml")).unwrap();
        assert!(text.starts_with("# yaml-language-server: $schema=./ready.schema.json\n"));
        assert_example_waivers_name_real_checks(&p, &text, profile);
        let as_json: Value = serde_saphyr::from_str(&text).unwrap();
        assert!(
            validator.is_valid(&as_json),
            "{profile}: {:?}",
            validator
                .iter_errors(&as_json)
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
        );
        for entry in std::fs::read_dir(p.path("checks")).unwrap() {
            let checks: Value =
                serde_saphyr::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap())
                    .unwrap();
            assert!(
                validator.is_valid(&checks),
                "{profile}: {:?}",
                validator
                    .iter_errors(&checks)
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
            );
        }

        let run = p.ready(&["init", "--profile", profile], &[]);
        assert_eq!(run.code, 2);
        assert!(
            run.stderr.starts_with("not overwriting ./ready.yaml"),
            "{}",
            run.stderr
        );
        assert_eq!(
            p.ready(&["init", "--profile", profile, "--force"], &[])
                .code,
            0
        );
    }
}

/// Each commented example waiver's check glob matches a check of the written suite.
fn assert_example_waivers_name_real_checks(p: &Project, text: &str, profile: &str) {
    let listed = p.ready(&["list"], &[]).stdout;
    let ids: Vec<&str> = listed
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let globs: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("#  - check: "))
        .collect();
    assert!(!globs.is_empty(), "{profile}: an example waiver");
    for check in globs {
        let glob = glob::Pattern::new(check).unwrap();
        assert!(
            ids.iter().any(|id| glob.matches(id)),
            "{profile}: the example waiver's check {check} names no check of {ids:?}"
        );
    }
}

#[test]
fn the_supabase_profile_probes_the_edge_functions_and_backend_its_stores() {
    let p = Project::new("");
    std::fs::remove_file(p.path("ready.yaml")).unwrap();
    p.write("supabase/functions/momo-webhook/index.ts", "")
        .write("supabase/functions/send-sms/index.ts", "")
        .write("supabase/functions/_shared/cors.ts", "");
    assert_eq!(p.ready(&["init", "--profile", "supabase"], &[]).code, 0);
    let listed = p.ready(
        &["list", "--only", "supabase.*", "--only", "functions.*"],
        &[],
    );
    let ids: Vec<&str> = listed
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        ids,
        [
            "supabase.migrations",
            "functions.answer.momo-webhook",
            "functions.answer.send-sms",
            "functions.rate-limit.momo-webhook",
            "functions.rate-limit.send-sms",
            "functions.webhook-signature.momo-webhook"
        ],
        "{}",
        listed.stderr
    );
    let p = Project::new("");
    std::fs::remove_file(p.path("ready.yaml")).unwrap();
    assert_eq!(p.ready(&["init", "--profile", "backend"], &[]).code, 0);
    let listed = p.ready(&["list"], &[]).stdout;
    let rows: Vec<(&str, &str)> = listed
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split_whitespace();
            Some((cols.next()?, cols.next()?))
        })
        .collect();
    for expected in [
        ("secrets.jwt-secret", "secret"),
        ("secrets.postgres-default-login", "default_credentials"),
        ("backend.redis-default-login", "default_credentials"),
        ("backend.storage-access-key", "secret"),
        ("backend.storage-secret-key", "secret"),
        ("backups.nightly-dumps", "backup"),
        ("backend.migrations", "migrations"),
        ("backend.latency", "http"),
        ("backend.tls", "tls"),
        ("backend.hsts-cors", "security_headers"),
    ] {
        assert!(rows.contains(&expected), "{expected:?} in {rows:?}");
    }
    let ready = std::fs::read_to_string(p.path("ready.yaml")).unwrap();
    assert!(
        ready.contains("\n#   GRANT pg_read_all_data TO ready_checks;\n"),
        "{ready}"
    );
    // MinIO's default keys are refused by the storage checks.
    let run = p.ready(
        &["check", "--only", "backend.storage-*", "--format", "json"],
        &[
            ("S3_ACCESS_KEY", "minioadmin"),
            ("S3_SECRET_KEY", "minioadmin"),
        ],
    );
    let result = run.json();
    for (id, var) in [
        ("backend.storage-access-key", "S3_ACCESS_KEY"),
        ("backend.storage-secret-key", "S3_SECRET_KEY"),
    ] {
        let c = check_of(&result, id);
        assert_eq!(c["status"], "fail", "{c}");
        let default = format!("env:{var} is a well-known default value (value not shown)");
        assert!(
            c["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["message"] == default.as_str()),
            "{c}"
        );
    }
}

#[test]
fn the_man_page_documents_the_exit_codes() {
    let run = Project::new("").ready(&["man"], &[]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.starts_with(".ie \\n(.g .ds Aq \\(aq") || run.stdout.contains(".TH ready"),
        "{}",
        &run.stdout[..200]
    );
    assert!(run.stdout.contains("Exit codes: 0 GO (or success), 1 NO\\-GO, 2 configuration or usage error, 3 internal error"), "{}", run.stdout);
}
