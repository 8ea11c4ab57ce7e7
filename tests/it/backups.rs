//! The `backup` kind over real artefacts: dumps written by pg_dump from the test database,
//! pgBackRest and WAL-G reports, WAL archiving of a real cluster and base backups.

use crate::common;
use crate::common::{Project, check_of};
use crate::evidence::check;
use serde_json::json;

/// A database with some rows, dumped by the real pg_dump in `format` (custom `c` or plain `p`).
fn pg_dump(url: &str, format: &str) -> Vec<u8> {
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("dump");
    let status = std::process::Command::new("pg_dump")
        .args([&format!("--format={format}"), "--no-owner", "-f"])
        .arg(&file)
        .args(["-d", url])
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(&file).unwrap()
}

fn dumps_db() -> common::TestDb {
    common::postgres().fresh_db(
        "CREATE TABLE ledger (id int PRIMARY KEY, memo text);
         INSERT INTO ledger SELECT g, repeat(md5(g::text), 20) FROM generate_series(1, 3000) g;",
    )
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// `db-2026-11-20T0230.dump`: a backup name carrying the time `days` days before the test run
/// began. One instant for the whole run: a name written and the same name expected later agree
/// even when a minute turns between them.
fn stamped(days: i64, ext: &str) -> String {
    static START: std::sync::OnceLock<chrono::DateTime<chrono::Utc>> = std::sync::OnceLock::new();
    let now = *START.get_or_init(chrono::Utc::now);
    let t = now - chrono::Duration::days(days) - chrono::Duration::minutes(5);
    format!("db-{}.{ext}", t.format("%Y-%m-%dT%H%M"))
}

fn put(p: &Project, path: &str, bytes: &[u8]) {
    let full = p.path(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, bytes).unwrap();
}

#[test]
fn backup_files_in_every_dump_format() {
    let db = dumps_db();
    let custom = pg_dump(&db.url, "c");
    let plain = pg_dump(&db.url, "p");
    let p = Project::new(&format!(
        "checks:\n{}{}{}{}{}{}{}{}",
        check(
            "custom-gz",
            "backup",
            "{ dir: custom-gz, verify: pg_restore }"
        ),
        check("tar", "backup", "{ dir: tar, verify: pg_restore }"),
        check(
            "tar-cut-end",
            "backup",
            "{ dir: tar-cut-end, verify: pg_restore }"
        ),
        check("tar-cut", "backup", "{ dir: tar-cut, verify: pg_restore }"),
        check(
            "nightly",
            "backup",
            "{ dir: nightly, pattern: \"*.dump\", min_size: 10kB, retention: { daily: 7, weekly: 2 }, verify: pg_restore }"
        ),
        check("plain", "backup", "{ dir: plain, verify: pg_restore }"),
        check(
            "plain-gz",
            "backup",
            "{ dir: plain-gz, pattern: \"*.sql.gz\", verify: pg_restore }"
        ),
        check(
            "directory",
            "backup",
            "{ dir: directory, verify: pg_restore }"
        ),
    ));
    for day in 0..15 {
        put(&p, &format!("nightly/{}", stamped(day, "dump")), &custom);
    }
    put(&p, "nightly/notes.txt", b"not a backup");
    // `pg_dump -Fc | gzip`: streamed into pg_restore.
    put(
        &p,
        &format!("custom-gz/{}", stamped(0, "dump.gz")),
        &gzip(&custom),
    );
    let tar = pg_dump(&db.url, "t");
    put(&p, &format!("tar/{}", stamped(0, "tar")), &tar);
    // Cut inside the table's data member: pg_restore alone reads such an archive without error.
    put(
        &p,
        &format!("tar-cut/{}", stamped(0, "tar")),
        &tar[..tar.len() - 20_000],
    );
    put(
        &p,
        &format!("tar-cut-end/{}", stamped(0, "tar")),
        &tar[..tar.len() - 1],
    );
    put(&p, &format!("plain/{}", stamped(0, "sql")), &plain);
    put(
        &p,
        &format!("plain-gz/{}", stamped(1, "sql.gz")),
        &gzip(&plain),
    );
    put(
        &p,
        &format!("plain-gz/{}", stamped(0, "sql.gz")),
        &gzip(&plain),
    );
    let dir_dump = p.path(&format!("directory/{}", stamped(0, "d")));
    std::fs::create_dir_all(p.path("directory")).unwrap();
    let status = std::process::Command::new("pg_dump")
        .args(["--format=d", "--compress=0", "-f"])
        .arg(&dir_dump)
        .args(["-d", &db.url])
        .status()
        .unwrap();
    assert!(status.success());
    let result = common::check_json(&p);
    let tar_cut = check_of(&result, "tar-cut");
    assert_eq!(tar_cut["status"], "fail", "{tar_cut}");
    let message = tar_cut["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "{} is a truncated tar archive: member ",
            stamped(0, "tar")
        )),
        "{message}"
    );
    assert_eq!(
        check_of(&result, "tar-cut-end")["message"],
        format!(
            "{} is a truncated tar archive: its length, {} bytes, is not a whole number of 512-byte blocks",
            stamped(0, "tar"),
            tar.len() - 1
        )
    );
    for id in [
        "nightly",
        "plain",
        "plain-gz",
        "directory",
        "tar",
        "custom-gz",
    ] {
        assert_eq!(
            check_of(&result, id)["status"],
            "pass",
            "{id}: {}",
            check_of(&result, id)
        );
    }
    let nightly = check_of(&result, "nightly");
    assert_eq!(nightly["measurements"]["backups"], 15.0);
    assert_eq!(
        nightly["measurements"]["newest_size_bytes"],
        custom.len() as f64
    );
    let message = nightly["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "15 backup(s) in nightly; the newest, {}, is ",
            stamped(0, "dump")
        )),
        "{message}"
    );
}

#[test]
fn truncated_and_corrupted_dumps_are_named() {
    let db = dumps_db();
    let custom = pg_dump(&db.url, "c");
    let plain = pg_dump(&db.url, "p");
    let p = Project::new(&format!(
        "checks:\n{}{}{}{}{}{}{}",
        check(
            "custom-gz-cut",
            "backup",
            "{ dir: custom-gz-cut, verify: pg_restore }"
        ),
        check("dir-cut", "backup", "{ dir: dir-cut, verify: pg_restore }"),
        check(
            "custom-cut",
            "backup",
            "{ dir: custom-cut, verify: pg_restore }"
        ),
        check(
            "custom-flipped",
            "backup",
            "{ dir: custom-flipped, verify: pg_restore, shrink_ratio: 0 }"
        ),
        check(
            "plain-cut",
            "backup",
            "{ dir: plain-cut, verify: pg_restore, shrink_ratio: 0.9 }"
        ),
        check("gz-cut", "backup", "{ dir: gz-cut, verify: pg_restore }"),
        check(
            "gz-flipped",
            "backup",
            "{ dir: gz-flipped, verify: pg_restore }"
        ),
    ));
    // custom-cut: yesterday's dump is whole, today's is cut in half.
    put(&p, &format!("custom-cut/{}", stamped(1, "dump")), &custom);
    let today = stamped(0, "dump");
    put(
        &p,
        &format!("custom-cut/{today}"),
        &custom[..custom.len() / 3],
    );
    let mut flipped = custom.clone();
    let middle = flipped.len() * 3 / 4;
    for b in &mut flipped[middle..middle + 64] {
        *b ^= 0x5a;
    }
    put(&p, &format!("custom-flipped/{today}"), &flipped);
    // An intact gzip stream around a custom dump that was cut before compression.
    let gz_dump = stamped(0, "dump.gz");
    put(
        &p,
        &format!("custom-gz-cut/{gz_dump}"),
        &gzip(&custom[..custom.len() / 2]),
    );
    let sql = stamped(0, "sql");
    put(&p, &format!("plain-cut/{sql}"), &plain[..plain.len() - 200]);
    let gz = stamped(0, "sql.gz");
    let compressed = gzip(&plain);
    put(
        &p,
        &format!("gz-cut/{gz}"),
        &compressed[..compressed.len() - 100],
    );
    let mut gz_flipped = compressed.clone();
    let middle = gz_flipped.len() / 2;
    for b in &mut gz_flipped[middle..middle + 16] {
        *b ^= 0xff;
    }
    put(&p, &format!("gz-flipped/{gz}"), &gz_flipped);
    // An uncompressed directory-format dump whose table file lost its second half.
    let dir_dump = p.path(&format!("dir-cut/{}", stamped(0, "d")));
    std::fs::create_dir_all(p.path("dir-cut")).unwrap();
    let status = std::process::Command::new("pg_dump")
        .args(["--format=d", "--compress=0", "-f"])
        .arg(&dir_dump)
        .args(["-d", &db.url])
        .status()
        .unwrap();
    assert!(status.success());
    let table_file = std::fs::read_dir(&dir_dump)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|f| f.file_name().unwrap() != "toc.dat")
        .unwrap();
    let data = std::fs::read(&table_file).unwrap();
    std::fs::write(&table_file, &data[..data.len() / 2]).unwrap();
    let result = common::check_json(&p);
    let dir_cut = check_of(&result, "dir-cut");
    assert_eq!(
        dir_cut["message"],
        format!(
            "{} is incomplete: {} does not end with the COPY terminator `\\.`",
            stamped(0, "d"),
            table_file.file_name().unwrap().to_string_lossy()
        )
    );
    let messages = |id: &str| -> Vec<String> {
        let c = check_of(&result, id);
        assert_eq!(c["status"], "fail", "{id}: {c}");
        c["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["message"].as_str().unwrap().to_string())
            .collect()
    };
    let cut = messages("custom-cut");
    assert_eq!(cut.len(), 2, "{cut:?}");
    assert!(
        cut[0].starts_with(&format!("the newest backup, {today}, is ")),
        "{cut:?}"
    );
    assert!(
        cut[0].ends_with(&format!(
            "less than 50% of the one before ({}, {}): truncated?",
            stamped(1, "dump"),
            human_size(custom.len())
        )),
        "{cut:?}"
    );
    assert!(
        cut[1].starts_with(&format!("pg_restore cannot read {today} end to end: ")),
        "{cut:?}"
    );
    let subjects: Vec<&str> = check_of(&result, "custom-cut")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["subject"].as_str().unwrap())
        .collect();
    // Stable across nights: the file name (which carries the date) is in the message only.
    assert_eq!(subjects, ["custom-cut#shrink", "custom-cut#verify"]);
    let gz_cut = messages("custom-gz-cut");
    assert_eq!(
        gz_cut,
        [format!(
            "pg_restore cannot read {gz_dump} end to end: error: could not read from input file: end of file"
        )]
    );
    let flipped = messages("custom-flipped");
    assert_eq!(flipped.len(), 1, "{flipped:?}");
    assert!(
        flipped[0].starts_with(&format!("pg_restore cannot read {today} end to end: ")),
        "{flipped:?}"
    );
    assert_eq!(
        messages("plain-cut"),
        [format!(
            "{sql} is incomplete: the closing \"-- PostgreSQL database dump complete\" line is missing"
        )]
    );
    for id in ["gz-cut", "gz-flipped"] {
        let found = messages(id);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with(&format!("{gz}: the gzip stream is damaged or cut short: ")),
            "{found:?}"
        );
    }
    assert!(
        check_of(&result, "custom-cut")["findings"][1]["evidence"]["stderr"]
            .as_str()
            .unwrap()
            .contains("pg_restore")
    );
}

fn human_size(bytes: usize) -> String {
    format!("{:.1} kB", bytes as f64 / 1000.0)
}

#[test]
fn stale_small_missing_and_gapped_backups_fail() {
    let p = Project::new(&format!(
        "checks:\n{}{}{}{}{}",
        check("stale", "backup", "{ dir: stale, max_age: 2h }"),
        check("small", "backup", "{ dir: small, min_size: 1MB }"),
        check("empty-dir", "backup", "{ dir: empty, pattern: \"*.dump\" }"),
        check("no-dir", "backup", "{ dir: absent }"),
        check(
            "gaps",
            "backup",
            "{ dir: gaps, retention: { daily: 5, weekly: 3 } }"
        ),
    ));
    put(&p, &format!("stale/{}", stamped(1, "dump")), b"x");
    put(&p, &format!("small/{}", stamped(0, "dump")), &[1u8; 2000]);
    std::fs::create_dir_all(p.path("empty")).unwrap();
    for day in [0, 1, 3, 4, 5, 6] {
        put(&p, &format!("gaps/{}", stamped(day, "dump")), b"backup");
    }
    let result = common::check_json(&p);
    let stale = check_of(&result, "stale");
    assert_eq!(stale["status"], "fail");
    let message = stale["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "the newest backup, {}, is 1 day old, more than max_age 2h",
            stamped(1, "dump")
        )),
        "{message}"
    );
    assert!(message.ends_with(" old, more than max_age 2h"), "{message}");
    assert_eq!(
        check_of(&result, "small")["message"],
        format!(
            "the newest backup, {}, is 2.0 kB, smaller than min_size 1.0 MB",
            stamped(0, "dump")
        )
    );
    assert_eq!(
        check_of(&result, "empty-dir")["message"],
        "no backup in empty matches `*.dump`"
    );
    assert_eq!(check_of(&result, "empty-dir")["status"], "fail");
    let absent = check_of(&result, "no-dir");
    assert_eq!(absent["status"], "error");
    assert_eq!(
        absent["message"],
        "cannot read the backup folder absent: No such file or directory (os error 2)"
    );
    let gaps = check_of(&result, "gaps");
    let day2 = (chrono::Utc::now() - chrono::Duration::days(2) - chrono::Duration::minutes(5))
        .date_naive();
    let subjects: Vec<&str> = gaps["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["subject"].as_str().unwrap())
        .collect();
    assert!(
        subjects.contains(&format!("daily:{day2}").as_str()),
        "{gaps}"
    );
    assert!(
        subjects
            .iter()
            .all(|s| s.starts_with("daily:") || s.starts_with("weekly:")),
        "{gaps}"
    );
    assert!(
        gaps["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("(retention: 5 daily)"),
        "{gaps}"
    );
}

/// One stanza of `pgbackrest info --output=json`, as the pgBackRest user guide documents it.
fn pgbackrest_stanza(
    name: &str,
    status: (i64, &str),
    backups: &[(&str, &str, i64, bool)],
) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    let backups: Vec<serde_json::Value> = backups
        .iter()
        .map(|(label, kind, hours_ago, error)| {
            let stop = now - hours_ago * 3600;
            json!({
                "archive": {"start": "000000010000000000000004", "stop": "000000010000000000000004"},
                "backrest": {"format": 5, "version": "2.54.0"},
                "database": {"id": 1, "repo-key": 1},
                "error": error,
                "info": {"delta": 24_000_000, "repository": {"delta": 3_000_000, "size": 3_000_000}, "size": 24_000_000},
                "label": label,
                "lsn": {"start": "0/4000028", "stop": "0/4000100"},
                "prior": null,
                "reference": null,
                "timestamp": {"start": stop - 120, "stop": stop},
                "type": kind
            })
        })
        .collect();
    json!({
        "archive": [{"database": {"id": 1, "repo-key": 1}, "id": "16-1", "max": "000000010000000000000004", "min": "000000010000000000000001"}],
        "backup": backups,
        "cipher": "none",
        "db": [{"id": 1, "repo-key": 1, "system-id": 7_300_000_000_000_000_000u64, "version": "16"}],
        "name": name,
        "repo": [{"cipher": "none", "key": 1, "status": {"code": status.0, "message": status.1}}],
        "status": {"code": status.0, "lock": {"backup": {"held": false}, "restore": {"held": false}}, "message": status.1}
    })
}

/// One entry of `wal-g backup-list --detail --json`, as the WAL-G docs show it.
fn wal_g_backup(name: &str, hours_ago: i64) -> serde_json::Value {
    let finish = chrono::Utc::now() - chrono::Duration::hours(hours_ago);
    let start = finish - chrono::Duration::minutes(3);
    json!({
        "backup_name": name,
        "time": finish.to_rfc3339(),
        "wal_file_name": "000000010000000000000005",
        "start_time": start.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        "finish_time": finish.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        "date_fmt": "%Y-%m-%dT%H:%M:%S.%fZ",
        "hostname": "db-1",
        "data_dir": "/var/lib/postgresql/16/main",
        "pg_version": 160004,
        "start_lsn": 83886120,
        "finish_lsn": 83886392,
        "is_permanent": false,
        "system_identifier": 7_300_000_000_000_000_000u64,
        "uncompressed_size": 24_000_000,
        "compressed_size": 3_100_000
    })
}

#[test]
fn pgbackrest_and_wal_g_reports() {
    let p = Project::new(&format!(
        "checks:\n{}{}{}{}{}{}{}",
        check(
            "pgbr-ok",
            "backup",
            "{ pgbackrest: { stanza: main, json_file: reports/pgbackrest.json } }"
        ),
        check(
            "pgbr-bad",
            "backup",
            "{ max_age: 12h, pgbackrest: { stanza: legacy, json_file: reports/pgbackrest.json, min_full: 2 } }"
        ),
        check(
            "pgbr-absent",
            "backup",
            "{ pgbackrest: { stanza: nope, json_file: reports/pgbackrest.json } }"
        ),
        check(
            "pgbr-command",
            "backup",
            "{ pgbackrest: { stanza: main, command: [cat, reports/pgbackrest.json] } }"
        ),
        check(
            "walg-ok",
            "backup",
            "{ wal_g: { json_file: reports/wal-g.json } }"
        ),
        check(
            "walg-stale",
            "backup",
            "{ max_age: 1h, wal_g: { command: [cat, reports/wal-g.json], min_full: 3 } }"
        ),
        check(
            "walg-broken-command",
            "backup",
            "{ wal_g: { command: [sh, -c, \"echo 'connection refused' >&2; exit 1\"] } }"
        ),
    ));
    let report = json!([
        pgbackrest_stanza(
            "main",
            (0, "ok"),
            &[
                ("20261120-020000F", "full", 30, false),
                ("20261121-020000F_20261121-020000I", "incr", 6, false)
            ]
        ),
        pgbackrest_stanza(
            "legacy",
            (2, "no valid backups"),
            &[("20261101-020000F", "full", 480, true)]
        ),
    ]);
    p.write("reports/pgbackrest.json", &report.to_string());
    let walg = json!([
        wal_g_backup("base_000000010000000000000002", 30),
        wal_g_backup(
            "base_000000010000000000000004_D_000000010000000000000002",
            5
        ),
    ]);
    p.write(
        "reports/wal-g.json",
        &serde_json::to_string_pretty(&walg).unwrap(),
    );
    let result = common::check_json(&p);
    let ok = check_of(&result, "pgbr-ok");
    assert_eq!(
        (ok["status"].as_str(), ok["message"].as_str()),
        (Some("pass"), Some("stanza `main`: 2 backup(s), 1 full"))
    );
    assert_eq!(ok["measurements"]["full_backups"], 1.0);
    let bad: Vec<&str> = check_of(&result, "pgbr-bad")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        bad[0],
        "stanza `legacy` status is \"no valid backups\" (code 2)"
    );
    assert_eq!(
        bad[1],
        "backup 20261101-020000F of stanza `legacy` is flagged with errors (page checksum or copy errors)"
    );
    assert_eq!(
        bad[2],
        "the newest backup of stanza `legacy`, 20261101-020000F, finished 20 days ago, more than max_age 12h"
    );
    assert_eq!(
        bad[3],
        "stanza `legacy` has 1 full backup(s), fewer than min_full 2"
    );
    assert_eq!(
        check_of(&result, "pgbr-absent")["message"],
        "stanza `nope` is not in the pgBackRest report"
    );
    assert_eq!(check_of(&result, "pgbr-command")["status"], "pass");
    assert_eq!(
        check_of(&result, "walg-ok")["message"],
        "WAL-G: 2 backup(s), 1 full"
    );
    let stale: Vec<&str> = check_of(&result, "walg-stale")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(stale.len(), 2);
    assert!(stale[0].starts_with("the newest WAL-G backup, base_000000010000000000000004_D_000000010000000000000002, finished 5h"), "{stale:?}");
    assert_eq!(
        stale[1],
        "WAL-G lists 1 full backup(s), fewer than min_full 3"
    );
    let broken = check_of(&result, "walg-broken-command");
    assert_eq!(broken["status"], "error");
    assert_eq!(
        broken["message"],
        "`sh -c echo 'connection refused' >&2; exit 1` exited with 1: connection refused"
    );
}

#[test]
fn backup_sources_are_exclusive_and_validated() {
    let p = Project::new(&format!(
        "targets:\n  db: {{ postgres: \"postgres://u@127.0.0.1:1/x\" }}\nchecks:\n{}{}{}{}{}{}",
        check("two", "backup", "{ dir: a, wal_g: { json_file: x.json } }"),
        check(
            "orphan",
            "backup",
            "{ wal_g: { json_file: x.json }, retention: { daily: 7 } }"
        ),
        check(
            "both",
            "backup",
            "{ pgbackrest: { command: [pgbackrest, info], json_file: x.json } }"
        ),
        "  - id: wal\n    category: reliability\n    severity: high\n    backup: { wal_archiving: true }\n",
        check("wal-unknown", "backup", "{ wal_archiving: nowhere }"),
        "  - id: wal-mismatch\n    category: reliability\n    severity: high\n    target: db\n    backup: { wal_archiving: other }\n",
    ));
    let run = p.ready(&["validate"], &[]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    for expected in [
        "give exactly one source: `dir` (backup files), `wal_archiving`, `pgbackrest` or `wal_g`",
        "`retention` applies to backup files: it needs `dir`",
        "`pgbackrest` needs exactly one of `command` (argv list) or `json_file`",
        "check `wal` needs a `target` naming a postgres target",
        "unknown target `nowhere`; known: db",
        "the check's `target` is `db` but its parameters name `other`",
    ] {
        assert!(run.stderr.contains(expected), "{expected}: {}", run.stderr);
    }
}

/// Waits until `sql` (a boolean query) is true on the server.
fn wait_for(url: &str, sql: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while common::query_text(url, &format!("SELECT ({sql})::text")) != "true" {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {sql}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn wal_check(id: &str, target: &str, params: &str) -> String {
    format!(
        "  - id: {id}\n    category: reliability\n    severity: high\n    target: {target}\n    backup: {params}\n"
    )
}

#[test]
fn wal_archiving_to_a_folder_failing_and_off() {
    // archive_command runs in the data directory; its parent belongs to the server's user.
    let archiving = common::start_cluster(&[
        "archive_mode=on",
        "archive_command=mkdir -p ../archive && cp %p ../archive/%f",
    ]);
    let failing = common::start_cluster(&["archive_mode=on", "archive_command=false"]);
    let off = common::start_cluster(&[]);
    for server in [&archiving, &failing] {
        common::exec(&server.url("postgres"), "CREATE TABLE churn AS SELECT g FROM generate_series(1, 1000) g; SELECT pg_switch_wal();").unwrap();
    }
    wait_for(
        &archiving.url("postgres"),
        "SELECT archived_count > 0 FROM pg_stat_archiver",
    );
    wait_for(
        &failing.url("postgres"),
        "SELECT failed_count > 0 FROM pg_stat_archiver",
    );
    common::exec(
        &archiving.url("postgres"),
        "CREATE ROLE watcher LOGIN PASSWORD 'watcher-pw-1234'",
    )
    .unwrap();
    let watcher_url = archiving.url("postgres").replace(
        &format!("postgres:{}", common::PG_PASSWORD),
        "watcher:watcher-pw-1234",
    );
    let p = Project::new(&format!(
        "targets:\n  archiving: {{ postgres: \"{}\" }}\n  failing: {{ postgres: \"{}\" }}\n  off: {{ postgres: \"{}\" }}\n  unprivileged: {{ postgres: \"{watcher_url}\" }}\nchecks:\n{}{}{}{}{}",
        archiving.reader_url("postgres"),
        failing.reader_url("postgres"),
        off.reader_url("postgres"),
        wal_check(
            "archiving",
            "archiving",
            "{ wal_archiving: true, max_age: 1h }"
        ),
        wal_check(
            "strict",
            "archiving",
            "{ wal_archiving: { max_backlog: 0 }, max_age: 1s }"
        ),
        // The target named in the parameters instead of `target:`.
        check("failing", "backup", "{ wal_archiving: failing }"),
        check(
            "off",
            "backup",
            "{ wal_archiving: { target: off, max_backlog: 4 } }"
        ),
        wal_check("unprivileged", "unprivileged", "{ wal_archiving: true }"),
    ));
    // `strict` needs its last archival over 1s old: wait only as long as that takes.
    wait_for(
        &archiving.url("postgres"),
        "SELECT now() - last_archived_time > interval '1.1 seconds' FROM pg_stat_archiver",
    );
    let result = common::check_json(&p);
    let archiving_check = check_of(&result, "archiving");
    assert_eq!(archiving_check["status"], "pass", "{archiving_check}");
    assert!(
        archiving_check["message"]
            .as_str()
            .unwrap()
            .starts_with("WAL archiving on: "),
        "{archiving_check}"
    );
    assert!(
        archiving_check["measurements"]["archived_count"]
            .as_f64()
            .unwrap()
            >= 1.0
    );
    assert_eq!(archiving_check["measurements"]["backlog_segments"], 0.0);
    let strict = check_of(&result, "strict");
    assert_eq!(strict["status"], "fail");
    let message = strict["message"].as_str().unwrap();
    assert!(
        message
            .starts_with("the last WAL segment archived, 000000010000000000000001, was archived "),
        "{message}"
    );
    assert!(message.ends_with(" ago, more than max_age 1s"), "{message}");
    let failing_check = check_of(&result, "failing");
    assert_eq!(failing_check["status"], "fail");
    let messages: Vec<&str> = failing_check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        messages[0]
            .starts_with("archiving is failing: the last attempt, for 0000000100000000000000"),
        "{messages:?}"
    );
    assert_eq!(
        messages[1],
        "no WAL segment has been archived since the statistics were reset"
    );
    let off_check = check_of(&result, "off");
    assert_eq!(
        (off_check["status"].as_str(), off_check["message"].as_str()),
        (
            Some("fail"),
            Some("archive_mode is off: WAL is not archived, point-in-time recovery is impossible")
        )
    );
    let unprivileged = check_of(&result, "unprivileged");
    assert_eq!(unprivileged["status"], "error", "{unprivileged}");
    assert_eq!(
        unprivileged["message"],
        "cannot count the WAL segments waiting to be archived: permission denied for function pg_ls_archive_statusdir \
         (SQLSTATE 42501); grant the role pg_monitor (or EXECUTE on pg_ls_archive_statusdir())"
    );
}

/// Issue 11: a name dated in the future never makes a backup fresh; a `pg_basebackup -Fp`
/// folder counts every file and is verified by pg_verifybackup.
#[test]
fn base_backups_and_names_ahead_of_the_clock() {
    let p = Project::new(&format!(
        "checks:\n{}{}{}",
        check("future", "backup", "{ dir: future, max_age: 1d }"),
        check(
            "base",
            "backup",
            "{ dir: base, pattern: \"base-*\", min_size: 10MB, verify: pg_restore }"
        ),
        check(
            "damaged",
            "backup",
            "{ dir: damaged, pattern: \"base-*\", verify: pg_restore }"
        ),
    ));
    let future = "shop-2027-06-01T0000.dump";
    put(&p, &format!("future/{future}"), &[1u8; 2000]);
    let five_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(5 * 86400);
    std::fs::File::options()
        .write(true)
        .open(p.path(&format!("future/{future}")))
        .unwrap()
        .set_modified(five_days_ago)
        .unwrap();
    let name = stamped(0, "d")
        .trim_end_matches(".d")
        .replace("db-", "base-");
    for dir in ["base", "damaged"] {
        std::fs::create_dir_all(p.path(dir)).unwrap();
        let status = std::process::Command::new("pg_basebackup")
            .arg("-D")
            .arg(p.path(&format!("{dir}/{name}")))
            .args([
                "-Fp",
                "-X",
                "stream",
                "--no-sync",
                "--checkpoint=fast",
                "-d",
            ])
            .arg(common::postgres().url("postgres"))
            .status()
            .unwrap();
        assert!(status.success(), "pg_basebackup failed");
    }
    std::fs::write(p.path(&format!("damaged/{name}/PG_VERSION")), "99\n").unwrap();
    let result = common::check_json(&p);
    let future_check = check_of(&result, "future");
    assert_eq!(future_check["status"], "fail", "{future_check}");
    assert_eq!(
        future_check["message"],
        format!("the newest backup, {future}, is 5 days old, more than max_age 1 day")
    );
    let base = check_of(&result, "base");
    assert_eq!(base["status"], "pass", "{base}");
    assert!(
        base["measurements"]["newest_size_bytes"].as_f64().unwrap() > 10e6,
        "{base}"
    );
    let damaged = check_of(&result, "damaged");
    assert_eq!(damaged["status"], "fail", "{damaged}");
    assert_eq!(
        damaged["message"],
        format!(
            "pg_verifybackup finds the base backup {name} damaged: checksum mismatch for file \"PG_VERSION\""
        )
    );
}
