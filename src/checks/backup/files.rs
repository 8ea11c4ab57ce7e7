//! Backup files in a folder: the newest is recent, large enough and not much smaller than the
//! one before; the calendar is covered (`retention`); the newest restores (`verify`).

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::json;

use super::params::{FilesSource, Verify};
use super::restore::verify_dump;
use super::retention::retention_gaps;
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::vocab::human;
use crate::vocab::human_size;

/// One backup in the folder: a file, or a directory-format dump.
#[derive(Debug, Clone)]
pub struct Backup {
    pub name: String,
    pub path: PathBuf,
    pub time: DateTime<Utc>,
    pub size: u64,
}

pub async fn run(files: &FilesSource, max_age: Duration, base_dir: &Path) -> CheckOutcome {
    let dir = base_dir.join(&files.dir);
    let shown_dir = files.dir.as_str();
    let backups = tokio::task::spawn_blocking({
        let pattern = files.pattern.0.clone();
        move || list_backups(&dir, &pattern)
    })
    .await
    .map_err(|e| CheckError::new(format!("listing {shown_dir} failed: {e}")))?
    .map_err(|e| CheckError::new(format!("cannot read the backup folder {shown_dir}: {e}")))?;
    let mut obs = judge(files, max_age, &backups, Utc::now());
    if let Some(newest) = backups.last()
        && files.verify == Some(Verify::PgRestore)
    {
        obs.findings
            .extend(verify_dump(newest, &format!("{shown_dir}#verify")).await?);
    }
    Ok(obs)
}

/// Judges the listed backups (oldest first) at `now`: all but the restore verification.
pub fn judge(
    files: &FilesSource,
    max_age: Duration,
    backups: &[Backup],
    now: DateTime<Utc>,
) -> Observation {
    let shown_dir = files.dir.as_str();
    let mut obs = Observation::default();
    obs.measure("backups", backups.len() as f64);
    let Some(newest) = backups.last() else {
        obs.findings.push(Finding::fail(
            shown_dir,
            format!(
                "no backup in {shown_dir} matches `{}`",
                files.pattern.0.as_str()
            ),
        ));
        return obs;
    };
    if newest.time > now {
        obs.findings.push(Finding::fail(
            format!("{shown_dir}#age"),
            format!(
                "the newest backup, {}, is dated {}, ahead of the clock: its age cannot be known",
                newest.name,
                newest.time.format("%Y-%m-%d %H:%M UTC")
            ),
        ));
        return obs;
    }
    let age = (now - newest.time).to_std().unwrap_or_default();
    obs.measure("newest_age_s", age.as_secs() as f64);
    obs.measure("newest_size_bytes", newest.size as f64);
    obs.findings
        .extend(newest_findings(files, max_age, newest, age));
    if let [.., previous, _] = backups {
        obs.findings.extend(shrunk(files, newest, previous));
    }
    if let Some(retention) = files.retention {
        let times: Vec<DateTime<Utc>> = backups.iter().map(|b| b.time).collect();
        for gap in retention_gaps(&retention, &times, now) {
            obs.findings.push(Finding::fail(gap.subject, gap.message));
        }
    }
    obs.summary = Some(format!(
        "{} backup(s) in {shown_dir}; the newest, {}, is {} and {} old",
        backups.len(),
        newest.name,
        human_size(newest.size),
        human(Duration::from_secs(age.as_secs()))
    ));
    obs
}

/// The newest backup is younger than `max_age` and at least `min_size`.
fn newest_findings(
    files: &FilesSource,
    max_age: Duration,
    newest: &Backup,
    age: Duration,
) -> Vec<Finding> {
    let shown_dir = files.dir.as_str();
    let evidence = json!({
        "backup": newest.name, "time": newest.time.to_rfc3339(), "size_bytes": newest.size,
    });
    let mut out = Vec::new();
    if age > max_age {
        out.push(
            Finding::fail(
                format!("{shown_dir}#age"),
                format!(
                    "the newest backup, {}, is {} old, more than max_age {}",
                    newest.name,
                    human(age),
                    human(max_age)
                ),
            )
            .with_evidence(evidence.clone()),
        );
    }
    if newest.size < files.min_size {
        out.push(
            Finding::fail(
                format!("{shown_dir}#size"),
                format!(
                    "the newest backup, {}, is {}, smaller than min_size {}",
                    newest.name,
                    human_size(newest.size),
                    human_size(files.min_size)
                ),
            )
            .with_evidence(evidence),
        );
    }
    out
}

/// The newest backup is less than `shrink_ratio` of the one before: a sign of truncation.
fn shrunk(files: &FilesSource, newest: &Backup, previous: &Backup) -> Option<Finding> {
    if (newest.size as f64) >= files.shrink_ratio * previous.size as f64 {
        return None;
    }
    Some(
        Finding::fail(
            format!("{}#shrink", files.dir),
            format!(
                "the newest backup, {}, is {}, less than {}% of the one before ({}, {}): truncated?",
                newest.name,
                human_size(newest.size),
                (files.shrink_ratio * 100.0).round(),
                previous.name,
                human_size(previous.size)
            ),
        )
        .with_evidence(json!({
            "backup": newest.name, "size_bytes": newest.size,
            "previous": previous.name, "previous_size_bytes": previous.size,
        })),
    )
}

/// The backups in `dir` whose names match, oldest first.
fn list_backups(dir: &Path, pattern: &glob::Pattern) -> std::io::Result<Vec<Backup>> {
    let mut backups = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !pattern.matches(&name) {
            continue;
        }
        let meta = entry.metadata()?;
        let size = if meta.is_dir() {
            folder_size(&entry.path())?
        } else {
            meta.len()
        };
        let modified: DateTime<Utc> = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH).into();
        backups.push(Backup {
            time: backup_time(time_from_name(&name, modified), modified),
            name,
            path: entry.path(),
            size,
        });
    }
    backups.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.name.cmp(&b.name)));
    Ok(backups)
}

/// The bytes of every file under `dir`, however deep (symbolic links are not followed).
fn folder_size(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            total += folder_size(&entry.path())?;
        } else if kind.is_file() {
            total += entry.metadata()?.len();
        }
    }
    Ok(total)
}

/// The older of the name's time and the file's: a copy is younger than the backup it holds,
/// and a name can claim any date (one ahead of the clock is then judged, never trusted).
fn backup_time(from_name: Option<DateTime<Utc>>, modified: DateTime<Utc>) -> DateTime<Utc> {
    from_name.map_or(modified, |named| named.min(modified))
}

static NAME_TIME: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"(20\d\d)-?(0[1-9]|1[0-2])-?(0[1-9]|[12]\d|3[01])(?:[T_. -]?([01]\d|2[0-3])[:h-]?([0-5]\d)(?:[:m-]?([0-5]\d))?)?",
    )
    .expect("valid regex")
});

/// The time a backup's name carries (`db-2026-11-21T0200.dump`, `base_20261121_020000`). A name
/// with a date only takes the file's modification time when that falls on the same day.
fn time_from_name(name: &str, modified: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let caps = NAME_TIME.captures(name)?;
    let num = |i: usize| caps.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let date = NaiveDate::from_ymd_opt(num(1)? as i32, num(2)?, num(3)?)?;
    match num(4) {
        Some(hour) => {
            let time = date.and_hms_opt(hour, num(5)?, num(6).unwrap_or(0))?;
            Some(Utc.from_utc_datetime(&time))
        }
        None if modified.date_naive() == date => Some(modified),
        None => Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::backup::Retention;
    use crate::checks::local::coverage::GlobParam;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn names_carry_times() {
        let m = at("2026-11-21T05:00:00Z");
        assert_eq!(
            time_from_name("db-2026-11-20T0230.dump", m),
            Some(at("2026-11-20T02:30:00Z"))
        );
        assert_eq!(
            time_from_name("base_20261120_023015.sql.gz", m),
            Some(at("2026-11-20T02:30:15Z"))
        );
        assert_eq!(time_from_name("db-2026-11-21.dump", m), Some(m));
        assert_eq!(
            time_from_name("db-2026-11-19.dump", m),
            Some(at("2026-11-19T00:00:00Z"))
        );
        assert_eq!(time_from_name("latest.dump", m), None);
    }

    #[test]
    fn the_older_of_name_and_file_time_counts() {
        let modified = at("2026-11-16T05:00:00Z");
        let future = time_from_name("shop-2027-06-01T0000.dump", modified);
        assert_eq!(backup_time(future, modified), modified);
        let named = time_from_name("shop-2026-11-15T0200.dump", modified);
        assert_eq!(backup_time(named, modified), at("2026-11-15T02:00:00Z"));
        assert_eq!(backup_time(None, modified), modified);
    }

    #[test]
    fn a_backup_dated_ahead_of_the_clock_fails() {
        let backups = [backup(
            "shop-2027-06-01T0000.dump",
            "2027-06-01T00:00:00Z",
            10_000,
        )];
        let obs = judge(
            &source(),
            Duration::from_secs(3600),
            &backups,
            at("2026-11-21T05:00:00Z"),
        );
        let found: Vec<(&str, &str)> = obs
            .findings
            .iter()
            .map(|f| (f.subject.as_str(), f.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [(
                "backups#age",
                "the newest backup, shop-2027-06-01T0000.dump, is dated 2027-06-01 00:00 UTC, ahead of the clock: its age cannot be known"
            )]
        );
    }

    #[test]
    fn folder_sizes_count_every_level() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("top"), [0u8; 10]).unwrap();
        std::fs::create_dir_all(dir.path().join("base/1")).unwrap();
        std::fs::write(dir.path().join("base/1/16384"), [0u8; 100]).unwrap();
        assert_eq!(folder_size(dir.path()).unwrap(), 110);
    }

    fn source() -> FilesSource {
        FilesSource {
            dir: "backups".into(),
            pattern: GlobParam(glob::Pattern::new("*.dump").unwrap()),
            min_size: 1000,
            shrink_ratio: 0.5,
            retention: None,
            verify: None,
        }
    }

    fn backup(name: &str, time: &str, size: u64) -> Backup {
        Backup {
            name: name.into(),
            path: PathBuf::from(name),
            time: at(time),
            size,
        }
    }

    #[test]
    fn an_empty_folder_fails() {
        let obs = judge(
            &source(),
            Duration::from_secs(3600),
            &[],
            at("2026-11-21T05:00:00Z"),
        );
        assert_eq!(obs.findings.len(), 1);
        assert_eq!(
            obs.findings[0].message,
            "no backup in backups matches `*.dump`"
        );
        assert_eq!(obs.summary, None);
    }

    #[test]
    fn stale_small_and_shrunk_backups_fail_in_that_order() {
        let backups = [
            backup("a.dump", "2026-11-19T02:00:00Z", 10_000),
            backup("b.dump", "2026-11-20T02:00:00Z", 800),
        ];
        let now = at("2026-11-21T05:00:00Z");
        let obs = judge(&source(), Duration::from_secs(26 * 3600), &backups, now);
        let subjects: Vec<&str> = obs.findings.iter().map(|f| f.subject.as_str()).collect();
        assert_eq!(subjects, ["backups#age", "backups#size", "backups#shrink"]);
        assert_eq!(obs.measurements["newest_age_s"], 27.0 * 3600.0);
        let fresh = judge(
            &source(),
            Duration::from_secs(60 * 3600),
            &backups[..1],
            now,
        );
        assert!(fresh.findings.is_empty(), "{:?}", fresh.findings);
        assert_eq!(
            fresh.summary.as_deref(),
            Some("1 backup(s) in backups; the newest, a.dump, is 10.0 kB and 2 days 3h old")
        );
    }

    #[test]
    fn retention_gaps_are_findings() {
        let files = FilesSource {
            retention: Some(Retention {
                daily: 2,
                weekly: 0,
                monthly: 0,
            }),
            ..source()
        };
        let backups = [backup("a.dump", "2026-11-21T02:00:00Z", 10_000)];
        let obs = judge(
            &files,
            Duration::from_secs(3600 * 26),
            &backups,
            at("2026-11-21T05:00:00Z"),
        );
        let subjects: Vec<&str> = obs.findings.iter().map(|f| f.subject.as_str()).collect();
        assert_eq!(subjects, ["daily:2026-11-20"]);
    }
}
