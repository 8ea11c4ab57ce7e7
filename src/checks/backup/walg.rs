//! WAL-G: `wal-g backup-list --detail --json`, judged as pgBackRest's report is.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value as Json;

use super::params::WalG;
use super::report::age_of;
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::vocab::human;

/// `wal-g backup-list --detail --json`: a list of backups with `backup_name` and `finish_time`
/// (RFC 3339); delta backups carry `_D_` in their names.
pub fn judge(w: &WalG, max_age: Duration, report: &Json, now: DateTime<Utc>) -> CheckOutcome {
    let backups = report
        .as_array()
        .ok_or_else(|| CheckError::new("the WAL-G report is not a list of backups"))?;
    let mut obs = Observation::default();
    obs.measure("backups", backups.len() as f64);
    let mut newest: Option<(DateTime<Utc>, &str)> = None;
    let mut full = 0u64;
    for b in backups {
        let name = b["backup_name"]
            .as_str()
            .ok_or_else(|| CheckError::new("a WAL-G backup without `backup_name`"))?;
        // Without --detail the list has only `time`, when the backup's sentinel was stored.
        let finish = b["finish_time"]
            .as_str()
            .or_else(|| b["time"].as_str())
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .ok_or_else(|| {
                CheckError::new(format!(
                    "backup {name} has neither an RFC 3339 `finish_time` nor `time`"
                ))
            })?
            .with_timezone(&Utc);
        if !name.contains("_D_") {
            full += 1;
        }
        if newest.is_none_or(|(t, _)| finish > t) {
            newest = Some((finish, name));
        }
    }
    obs.measure("full_backups", full as f64);
    match newest {
        None => obs
            .findings
            .push(Finding::fail("wal-g", "WAL-G lists no backup")),
        Some((finish, name)) => {
            let age = age_of(finish, now);
            obs.measure("newest_age_s", age.as_secs() as f64);
            if age > max_age {
                obs.findings.push(Finding::fail(
                    "wal-g",
                    format!(
                        "the newest WAL-G backup, {name}, finished {} ago, more than max_age {}",
                        human(age),
                        human(max_age)
                    ),
                ));
            }
        }
    }
    if full < w.min_full {
        obs.findings.push(Finding::fail(
            "wal-g",
            format!(
                "WAL-G lists {full} full backup(s), fewer than min_full {}",
                w.min_full
            ),
        ));
    }
    obs.summary = Some(format!("WAL-G: {} backup(s), {full} full", backups.len()));
    Ok(obs)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::checks::backup::ReportOrigin;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn wal_g_lists_without_detail_use_the_storage_time() {
        let now = at("2026-11-21T12:00:00Z");
        let list = json!([
            {"backup_name": "base_000000010000000000000002", "time": "2026-11-21T02:00:00Z", "wal_segment_backup_start": "000000010000000000000002"},
            {"backup_name": "base_000000010000000000000009_D_000000010000000000000002", "time": "2026-11-21T10:00:00.123Z", "wal_segment_backup_start": "000000010000000000000009"}
        ]);
        let w = WalG {
            origin: ReportOrigin::JsonFile("x".into()),
            min_full: 1,
        };
        let obs = judge(&w, Duration::from_secs(3600), &list, now).unwrap();
        assert_eq!(obs.measurements["newest_age_s"], 7199.0);
        assert_eq!(obs.findings.len(), 1);
        assert!(obs.findings[0].message.starts_with("the newest WAL-G backup, base_000000010000000000000009_D_000000010000000000000002, finished 2h ago"));
        let missing = json!([{"backup_name": "base_1"}]);
        assert!(judge(&w, Duration::from_secs(3600), &missing, now).is_err());
    }
}
