//! `ready demo`, the project's end-to-end test: both variants over a real PostgreSQL cluster, the
//! in-process API and the project folder; the exact status of every check, the exit codes, and
//! nothing left behind — after a run and after a Ctrl-C.

use std::io::{BufRead as _, Read as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{Project, Run, assert_valid_result, status_of};

/// A temp dir of the run's own (as `TMPDIR`): anything the demo leaves there is a leak.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("ready-demo-test-")
        .tempdir()
        .unwrap();
    // Under root the cluster runs as the `postgres` user, which must reach its folder in here.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn demo(args: &[&str], tmp: &Path) -> Run {
    let project = Project::new("");
    let mut all = vec!["demo", "--format", "json"];
    all.extend_from_slice(args);
    project.ready(&all, &[("TMPDIR", tmp.to_str().unwrap())])
}

/// Processes whose command line names `dir` (the cluster's postmaster does: `postgres -D DIR/…`).
fn processes_under(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&needle))
        .collect()
}

fn assert_nothing_left(tmp: &Path) {
    let left: Vec<_> = std::fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert_eq!(processes_under(tmp), Vec::<String>::new());
}

const CHECKS: [&str; 12] = [
    "db.rls",
    "db.audit",
    "db.keys",
    "db.migrations",
    "api.health",
    "api.rate-limit.send-money",
    "api.rate-limit.exchange-rates",
    "api.webhook",
    "api.headers",
    "backups.nightly",
    "coverage.wallet",
    "secrets.jwt",
];

fn statuses(result: &serde_json::Value) -> Vec<(&'static str, String)> {
    assert_eq!(result["checks"].as_array().unwrap().len(), CHECKS.len());
    CHECKS
        .iter()
        .map(|id| (*id, status_of(result, id).to_string()))
        .collect()
}

#[test]
fn the_demo_with_holes_is_no_go_and_every_hole_is_found() {
    let tmp = scratch();
    let run = demo(&[], tmp.path());
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let result = run.json();
    assert_valid_result(&result);
    let expected: Vec<_> = CHECKS
        .iter()
        .map(|id| {
            let status = if *id == "api.rate-limit.send-money" {
                "pass"
            } else {
                "fail"
            };
            (*id, status.to_string())
        })
        .collect();
    assert_eq!(statuses(&result), expected, "{}", run.stderr);
    assert_eq!(result["decision"]["go"], false);
    let messages = run.stdout.to_string();
    for hole in [
        "public.profiles",
        "kyc_documents",
        "spending_summary",
        "20261120090000_notification_settings.sql",
        "queue",
    ] {
        assert!(messages.contains(hole), "{hole} not reported");
    }
    assert!(!run.stdout.contains("super-secret-jwt-token"));
    assert_nothing_left(tmp.path());
}

#[test]
fn the_fixed_demo_is_go_and_writes_every_report_asked_for() {
    let tmp = scratch();
    let reports = tempfile::tempdir().unwrap();
    let junit = reports.path().join("demo.xml");
    let run = demo(
        &["--fixed", "--report", &format!("junit={}", junit.display())],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let result = run.json();
    assert_valid_result(&result);
    let expected: Vec<_> = CHECKS.iter().map(|id| (*id, "pass".to_string())).collect();
    assert_eq!(statuses(&result), expected, "{}", run.stdout);
    assert_eq!(result["decision"]["go"], true);
    let xml = std::fs::read_to_string(&junit).unwrap();
    roxmltree::Document::parse(&xml).expect("the JUnit report is XML");
    assert_nothing_left(tmp.path());
}

#[test]
fn a_ctrl_c_stops_the_cluster_and_removes_everything() {
    let tmp = scratch();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ready"))
        .args(["demo", "--no-progress"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt while the checks run: the demo says when everything is up.
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut shown = String::new();
    while !shown.contains("all removed at the end") {
        let mut line = String::new();
        assert_ne!(
            stderr.read_line(&mut line).unwrap(),
            0,
            "the demo ended early: {shown}"
        );
        shown.push_str(&line);
    }
    assert!(
        !processes_under(tmp.path()).is_empty(),
        "no cluster running"
    );
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    stderr.read_to_string(&mut shown).unwrap();
    assert_eq!(status.code(), Some(130), "{shown}");
    assert!(shown.contains("interrupted"), "{shown}");
    assert_nothing_left(tmp.path());
}
