//! The first run: `ready check` in an empty directory with nothing configured (issue 12 §2).

use std::process::Command;

use crate::common::Run;

/// `ready check ARGS` in a new empty directory, with only PATH in the environment.
fn check_in_an_empty_directory(args: &[&str], env: &[(&str, &str)]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ready"))
        .arg("check")
        .args(args)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn a_first_run_says_what_to_configure_and_collapses_the_skips_per_target() {
    let run = check_in_an_empty_directory(&[], &[]);
    assert_eq!(run.code, 1, "the built-in suite is NO-GO: {}", run.stderr);
    insta::assert_snapshot!("first_run_orientation", run.stderr);
    insta::assert_snapshot!("first_run_report", run.stdout);
}

#[test]
fn the_orientation_keeps_json_on_stdout_and_leaves_configured_runs_alone() {
    let run = check_in_an_empty_directory(&["--format", "json"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let result: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is JSON");
    assert_eq!(
        result["targets"][0]["not_configured"],
        "target `api` is not configured: set READY_HTTP_URL"
    );
    assert!(
        run.stderr.starts_with("No ready.yaml here"),
        "{}",
        run.stderr
    );

    let quiet = check_in_an_empty_directory(&["--quiet"], &[]);
    assert_eq!(quiet.stderr, "");
    // With a target configured, this is no first run: no orientation.
    let configured = check_in_an_empty_directory(&[], &[("READY_HTTP_URL", "http://127.0.0.1:9")]);
    assert!(
        !configured.stderr.contains("Next steps"),
        "{}",
        configured.stderr
    );
    assert!(
        configured
            .stdout
            .contains("target `db` is not configured: set DATABASE_URL"),
        "{}",
        configured.stdout
    );
}
