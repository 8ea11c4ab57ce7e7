//! `coverage` over reports the real tools write, compared with the tools' own totals: Go's
//! `go test -coverprofile` with `go tool cover -func`, and JaCoCo (Debian's libjacoco-java: its
//! agent records a run, its report API writes the XML and prints the bundle's counters).

use std::path::Path;
use std::process::Command;

use crate::common::{self, Project, check_of};

fn fixture_dir(name: &str) -> String {
    format!(
        "{}/tests/fixtures/coverage/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Runs `program args` in `dir` and returns its stdout; any failure fails the test.
fn run(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (installed by .ci/run): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn coverage_check(id: &str, params: &str) -> String {
    format!("  - id: {id}\n    category: reliability\n    severity: high\n    coverage: {params}\n")
}

fn project(checks: &[String]) -> Project {
    Project::new(&format!(
        "version: 1\nproject: coverage\nchecks:\n{}",
        checks.concat()
    ))
}

/// `(status, message)` of a check.
fn outcome(result: &serde_json::Value, id: &str) -> (String, String) {
    let c = check_of(result, id);
    (
        c["status"].as_str().unwrap().to_string(),
        c["message"].as_str().unwrap().to_string(),
    )
}

#[test]
fn go_profiles_are_totalled_as_go_tool_cover_totals_them() {
    let p = project(&[
        coverage_check("go-total", "{ report: calc/cover.out, min_lines: 100 }"),
        coverage_check(
            "go-met",
            "{ report: calc/cover.out, format: go, min_lines: 57.14 }",
        ),
        coverage_check(
            "go-functions",
            "{ report: calc/cover.out, min_lines: 10, min_functions: 50 }",
        ),
        coverage_check(
            "go-util",
            "{ report: calc/cover.out, min_lines: 100, paths: \"calc/util/*.go\" }",
        ),
    ]);
    let module = p.path("calc");
    copy_tree(Path::new(&fixture_dir("go")), &module);
    let cache = format!("{}/go-build", env!("CARGO_TARGET_TMPDIR"));
    let go_env = [
        ("GOCACHE", cache.as_str()),
        ("GOFLAGS", "-mod=mod"),
        ("GOPROXY", "off"),
        ("GOTOOLCHAIN", "local"),
    ];
    // Each package's test binary covers both packages: the profile lists every block twice.
    let args = [
        "test",
        "-coverpkg=./...",
        "-coverprofile=cover.out",
        "./...",
    ];
    run(&module, "go", &args, &go_env);
    let profile = std::fs::read_to_string(module.join("cover.out")).unwrap();
    let add = "example.com/calc/calc.go:6.24,6.40 1 ";
    assert_eq!(profile.matches(add).count(), 2, "{profile}");
    let func = run(
        &module,
        "go",
        &["tool", "cover", "-func=cover.out"],
        &go_env,
    );
    let total = func
        .lines()
        .find_map(|l| l.strip_prefix("total:"))
        .and_then(|l| l.split_whitespace().last())
        .unwrap()
        .to_string();
    assert_eq!(
        total, "57.1%",
        "the module's coverage as go reports it:\n{func}"
    );

    let result = common::check_json(&p);
    assert_eq!(
        outcome(&result, "go-total"),
        (
            "fail".into(),
            "line coverage is 57.14% (8/14), below the required 100%".into()
        )
    );
    let measured = check_of(&result, "go-total")["measurements"]["lines_pct"]
        .as_f64()
        .unwrap();
    assert_eq!(
        format!("{measured:.1}%"),
        total,
        "the same total as go tool cover"
    );
    assert_eq!(outcome(&result, "go-met").0, "pass");
    assert_eq!(
        outcome(&result, "go-functions"),
        (
            "error".into(),
            "calc/cover.out has no function data: function coverage cannot be verified (a Go \
             coverage profile records statement blocks only)"
                .into()
        )
    );
    // Clamp 3 of 5 statements, Double 1 of 1 (go tool cover -func: 60.0% and 100.0%).
    assert_eq!(
        outcome(&result, "go-util").1,
        "line coverage in calc/util/*.go is 66.66% (4/6), below the required 100%"
    );
}

#[test]
fn jacoco_reports_are_read_as_jacoco_totals_them() {
    let p = project(&[
        coverage_check(
            "jacoco",
            "{ report: java/report.xml, min_lines: 100, min_branches: 100, min_functions: 100, max_age: 1h }",
        ),
        coverage_check(
            "jacoco-met",
            "{ report: java/report.xml, format: jacoco, min_lines: 77, min_branches: 50, min_functions: 80 }",
        ),
    ]);
    let java = p.path("java");
    copy_tree(Path::new(&fixture_dir("jacoco")), &java);
    let jars = "/usr/share/java";
    let classpath = [
        "org.jacoco.core",
        "org.jacoco.report",
        "asm",
        "asm-commons",
        "asm-tree",
    ]
    .map(|j| format!("{jars}/{j}.jar"))
    .join(":");
    // Class files for Java 11: JaCoCo 0.8.6 reads class files up to Java 15.
    let javac = ["--release", "11", "-d", "classes", "com/example/Calc.java"];
    run(&java, "javac", &javac, &[]);
    let tool = [
        "--release",
        "11",
        "-cp",
        &classpath,
        "-d",
        "tools",
        "ReportXml.java",
    ];
    run(&java, "javac", &tool, &[]);
    // The agent jar ships inside org.jacoco.agent.jar.
    let agent_jar = format!("{jars}/org.jacoco.agent.jar");
    run(&java, "jar", &["xf", &agent_jar, "jacocoagent.jar"], &[]);
    let agent = "-javaagent:jacocoagent.jar=destfile=jacoco.exec";
    run(
        &java,
        "java",
        &[agent, "-cp", "classes", "com.example.Calc"],
        &[],
    );
    let tools_cp = format!("{classpath}:tools");
    let totals = run(
        &java,
        "java",
        &[
            "-cp",
            &tools_cp,
            "ReportXml",
            "jacoco.exec",
            "classes",
            "report.xml",
        ],
        &[],
    );
    assert_eq!(
        totals, "LINE 7/9\nBRANCH 1/2\nMETHOD 4/5\n",
        "JaCoCo's own totals"
    );
    let report = std::fs::read_to_string(java.join("report.xml")).unwrap();
    assert!(report.contains("<!DOCTYPE report PUBLIC \"-//JACOCO//DTD Report 1.1//EN\""));

    let result = common::check_json(&p);
    let findings: Vec<&str> = check_of(&result, "jacoco")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        findings,
        [
            "line coverage is 77.77% (7/9), below the required 100%",
            "branch coverage is 50% (1/2), below the required 100%",
            "function coverage is 80% (4/5), below the required 100%",
        ]
    );
    assert_eq!(
        outcome(&result, "jacoco-met"),
        (
            "pass".into(),
            "java/report.xml: line coverage 77.77%, branch coverage 50%, function coverage 80%"
                .into()
        )
    );
}
