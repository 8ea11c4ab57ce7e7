//! The local kinds: `env`, `file`, `command`.

use crate::common::{Project, check_of};
use serde_json::json;

fn check(id: &str, kind: &str, params: &str) -> String {
    format!("  - id: {id}\n    category: operations\n    severity: medium\n    {kind}: {params}\n")
}

#[test]
fn env_requires_set_variables_and_patterns_without_showing_values() {
    let config = format!(
        "checks:\n{}{}",
        check(
            "ok",
            "env",
            "{ vars: [APP_ENV], match: { APP_ENV: \"^(staging|production)$\" } }"
        ),
        check(
            "bad",
            "env",
            "{ vars: [MISSING, EMPTY], match: { DB_HOST: \"\\\\.internal$\" } }"
        ),
    );
    let run = Project::new(&config).ready(
        &["check", "--format", "json"],
        &[
            ("APP_ENV", "production"),
            ("EMPTY", ""),
            ("DB_HOST", "db.example-secret.com"),
        ],
    );
    let result = run.json();
    assert_eq!(check_of(&result, "ok")["status"], "pass");
    let bad = check_of(&result, "bad");
    assert_eq!(bad["status"], "fail");
    let subjects: Vec<(&str, &str)> = bad["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["subject"].as_str().unwrap(),
                f["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        subjects,
        [
            ("MISSING", "MISSING is not set"),
            ("EMPTY", "EMPTY is set but empty"),
            (
                "DB_HOST",
                "DB_HOST does not match /\\.internal$/ (value not shown)"
            ),
        ]
    );
    assert!(!run.stdout.contains("example-secret"));
}

#[test]
fn file_existence_age_and_content() {
    let config = format!(
        "checks:\n{}{}{}{}{}",
        check(
            "present",
            "file",
            "{ path: docs/RUNBOOK.md, contains: [\"## Rollback\", \"## On-call\"], max_age: 1h }"
        ),
        check("missing", "file", "{ path: docs/SECURITY.md }"),
        check(
            "content",
            "file",
            "{ path: docs/RUNBOOK.md, contains: [\"## Disaster recovery\"] }"
        ),
        check("absent", "file", "{ path: .env, exists: false }"),
        check("stale", "file", "{ path: old.txt, max_age: 1s }"),
    );
    let p = Project::new(&config);
    p.write("docs/RUNBOOK.md", "# Runbook\n## Rollback\n…\n## On-call\n");
    p.write("old.txt", "x");
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 3600);
    std::fs::File::options()
        .write(true)
        .open(p.path("old.txt"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let result = p.ready(&["check", "--format", "json"], &[]).json();
    assert_eq!(check_of(&result, "present")["status"], "pass");
    assert_eq!(check_of(&result, "absent")["status"], "pass");
    assert_eq!(
        check_of(&result, "missing")["message"],
        "docs/SECURITY.md does not exist"
    );
    assert_eq!(
        check_of(&result, "content")["message"],
        "docs/RUNBOOK.md does not contain \"## Disaster recovery\""
    );
    assert_eq!(
        check_of(&result, "stale")["message"],
        "old.txt was last modified 3h ago, more than 1s"
    );

    p.write(".env", "SECRET=1");
    let result = p
        .ready(&["check", "--format", "json", "--only", "absent"], &[])
        .json();
    assert_eq!(
        check_of(&result, "absent")["message"],
        ".env exists and must not"
    );
}

#[test]
fn commands_run_without_a_shell_and_are_judged_by_exit_code_and_output() {
    let config = format!(
        "checks:\n{}{}{}{}{}",
        check(
            "ok",
            "command",
            "{ run: [sh, -c, \"echo migrations up to date\"], stdout_contains: \"up to date\" }"
        ),
        check(
            "exit",
            "command",
            "{ run: [sh, -c, \"echo boom >&2; exit 3\"], stderr_not_contains: boom }"
        ),
        check(
            "nosuch",
            "command",
            "{ run: [definitely-not-a-command-xyz] }"
        ),
        check("slow", "command", "{ run: [sleep, 5], timeout: 200ms }"),
        check(
            "noshell",
            "command",
            "{ run: [echo, \"$HOME && rm -rf /\"], stdout_contains: \"$HOME && rm\" }"
        ),
    );
    let result = Project::new(&config)
        .ready(&["check", "--format", "json"], &[])
        .json();
    assert_eq!(check_of(&result, "ok")["status"], "pass");
    assert_eq!(check_of(&result, "noshell")["status"], "pass");
    let exit = check_of(&result, "exit");
    assert_eq!(exit["status"], "fail");
    let findings: Vec<&str> = exit["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        findings,
        ["`sh` exited with 3, expected 0", "stderr contains \"boom\""]
    );
    assert_eq!(
        exit["findings"][0]["evidence"],
        json!({"exit_code": 3, "stdout": "", "stderr": "boom\n"})
    );
    let nosuch = check_of(&result, "nosuch");
    assert_eq!(nosuch["status"], "error");
    assert!(
        nosuch["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot run `definitely-not-a-command-xyz`: "),
        "{nosuch}"
    );
    assert_eq!(
        check_of(&result, "slow")["message"],
        "`sleep` timed out after 200ms"
    );
}

/// A process id written by a test command, if that process is still alive (not a zombie).
fn alive(p: &Project, pid_file: &str) -> bool {
    let pid = std::fs::read_to_string(p.path(pid_file)).unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
    stat.is_ok_and(|s| !s.contains(") Z "))
}

#[test]
fn commands_are_judged_by_their_own_exit_and_leave_no_process_behind() {
    let config = format!(
        "checks:\n{}{}",
        check(
            "background",
            "command",
            "{ run: [sh, -c, \"sleep 30 & echo $! > bg.pid; echo started\"], stdout_contains: started, timeout: 5s }"
        ),
        check(
            "hung",
            "command",
            "{ run: [sh, -c, \"sleep 30 & echo $! > hung.pid; wait\"], timeout: 300ms }"
        ),
    );
    let p = Project::new(&config);
    let started = std::time::Instant::now();
    let result = p.ready(&["check", "--format", "json"], &[]).json();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(check_of(&result, "background")["status"], "pass");
    let hung = check_of(&result, "hung");
    assert_eq!(hung["status"], "error");
    assert_eq!(hung["message"], "`sh` timed out after 300ms");
    assert!(!alive(&p, "bg.pid"), "the background child outlived ready");
    assert!(!alive(&p, "hung.pid"), "the timed-out child outlived ready");
}

#[test]
fn command_output_is_streamed_and_kept_bounded() {
    let config = format!(
        "checks:\n{}",
        check(
            "loud",
            "command",
            "{ run: [sh, -c, \"head -c 50000000 /dev/zero | tr '\\\\0' x; echo; echo the end; exit 1\"], stdout_contains: [the end, never printed] }"
        ),
    );
    let result = Project::new(&config)
        .ready(&["check", "--format", "json"], &[])
        .json();
    let loud = check_of(&result, "loud");
    let messages: Vec<&str> = loud["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "`sh` exited with 1, expected 0",
            "stdout does not contain \"never printed\""
        ]
    );
    let evidence = &loud["findings"][0]["evidence"];
    assert_eq!(evidence["stdout_bytes"], 50_000_009);
    let stdout = evidence["stdout"].as_str().unwrap();
    assert!(stdout.starts_with(&"x".repeat(1024)), "{stdout}");
    assert!(
        stdout.contains("\n… (49997961 bytes not kept) …\n"),
        "{stdout}"
    );
    assert!(stdout.ends_with("xxx\nthe end\n"), "{stdout}");
}
