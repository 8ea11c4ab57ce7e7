//! WAL archiving, from `pg_stat_archiver` and the settings: on, configured, succeeding
//! recently, not failing since, and not falling behind.

use std::time::Duration;

use serde_json::{Value as Json, json};
use sqlx::Row;

use super::params::WalArchiving;
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::postgres::{PgHandle, describe};
use crate::vocab::human;

type Tx = sqlx::Transaction<'static, sqlx::Postgres>;

/// The archiver's settings and statistics, as read.
pub struct Archiver {
    pub mode: String,
    pub command: String,
    pub library: String,
    pub archived: i64,
    pub last_wal: Option<String>,
    /// Seconds since the last segment was archived; `None` when none was since the reset.
    pub archived_age_s: Option<f64>,
    pub failed: i64,
    pub last_failed: Option<String>,
    /// The last failure came after the last success.
    pub failing: bool,
}

const SUBJECT: &str = "wal_archiving";

pub async fn run(
    w: &WalArchiving,
    max_age: Duration,
    db: &PgHandle,
    timeout: Duration,
) -> CheckOutcome {
    let mut tx = db.read_only(timeout).await?;
    let result = inspect(w, max_age, &mut tx).await;
    db.finish(tx).await;
    result
}

async fn inspect(w: &WalArchiving, max_age: Duration, tx: &mut Tx) -> CheckOutcome {
    let archiver = read_archiver(tx).await?;
    if let Some(obs) = not_archiving(&archiver) {
        return Ok(obs);
    }
    let backlog = read_backlog(tx).await?;
    Ok(judge(&archiver, backlog, w, max_age))
}

async fn read_archiver(tx: &mut Tx) -> Result<Archiver, CheckError> {
    let row = sqlx::query(
        "SELECT current_setting('archive_mode') AS archive_mode,
                current_setting('archive_command') AS archive_command,
                coalesce(current_setting('archive_library', true), '') AS archive_library,
                archived_count, last_archived_wal,
                extract(epoch FROM now() - last_archived_time)::float8 AS archived_age_s,
                failed_count, last_failed_wal,
                coalesce(last_failed_time > last_archived_time
                         OR (last_failed_time IS NOT NULL AND last_archived_time IS NULL), false)
                    AS failing
         FROM pg_stat_archiver",
    )
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| {
        CheckError::new(format!(
            "cannot read the archiver's state: {}",
            describe(&e)
        ))
    })?;
    Ok(Archiver {
        mode: row.get("archive_mode"),
        command: row.get("archive_command"),
        library: row.get("archive_library"),
        archived: row.get("archived_count"),
        last_wal: row.get("last_archived_wal"),
        archived_age_s: row.get("archived_age_s"),
        failed: row.get("failed_count"),
        last_failed: row.get("last_failed_wal"),
        failing: row.get("failing"),
    })
}

/// Segments waiting to be archived (`.ready` files).
async fn read_backlog(tx: &mut Tx) -> Result<i64, CheckError> {
    sqlx::query_scalar("SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'")
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| {
            CheckError::new(format!(
                "cannot count the WAL segments waiting to be archived: {}; grant the role pg_monitor \
                 (or EXECUTE on pg_ls_archive_statusdir())",
                describe(&e)
            ))
        })
}

impl Archiver {
    fn observation(&self) -> Observation {
        let mut obs = Observation::default();
        obs.measure("archived_count", self.archived as f64);
        obs.measure("failed_count", self.failed as f64);
        obs
    }

    fn fail(&self, message: String) -> Finding {
        let evidence: Json = json!({
            "archive_mode": self.mode, "archive_library": self.library,
            "archived_count": self.archived, "last_archived_wal": self.last_wal,
            "failed_count": self.failed, "last_failed_wal": self.last_failed,
        });
        Finding::fail(SUBJECT, message).with_evidence(evidence)
    }
}

/// The observation when nothing is archived at all (archiving off, or on with nowhere to
/// archive to); `None` when archiving is set up and the rest is worth reading.
pub fn not_archiving(a: &Archiver) -> Option<Observation> {
    let message = if a.mode == "off" {
        "archive_mode is off: WAL is not archived, point-in-time recovery is impossible".into()
    } else if a.command.trim().is_empty() && a.library.trim().is_empty() {
        format!(
            "archive_mode is {} but neither archive_command nor archive_library is set: \
             WAL accumulates and nothing is archived",
            a.mode
        )
    } else {
        return None;
    };
    let mut obs = a.observation();
    obs.findings.push(a.fail(message));
    Some(obs)
}

/// Judges archiving that is set up: a real command, no failure since the last success, a
/// recent last success and a short backlog.
pub fn judge(a: &Archiver, backlog: i64, w: &WalArchiving, max_age: Duration) -> Observation {
    let mut obs = a.observation();
    let last_wal = a.last_wal.as_deref().unwrap_or("?");
    if matches!(a.command.trim(), "/bin/true" | "true" | ":" | "exit 0") {
        obs.findings.push(a.fail(format!(
            "archive_command `{}` reports success without storing anything",
            a.command.trim()
        )));
    }
    if a.failing {
        obs.findings.push(a.fail(format!(
            "archiving is failing: the last attempt, for {}, failed after the last success ({} failure(s) in total)",
            a.last_failed.as_deref().unwrap_or("an unknown segment"),
            a.failed
        )));
    }
    match a.archived_age_s {
        None => obs.findings.push(
            a.fail("no WAL segment has been archived since the statistics were reset".into()),
        ),
        Some(age_s) => {
            let age = Duration::from_secs_f64(age_s.max(0.0));
            obs.measure("last_archived_age_s", age.as_secs() as f64);
            if age > max_age {
                obs.findings.push(a.fail(format!(
                    "the last WAL segment archived, {last_wal}, was archived {} ago, more than max_age {}",
                    human(age),
                    human(max_age)
                )));
            }
        }
    }
    obs.measure("backlog_segments", backlog as f64);
    if backlog as u64 > w.max_backlog {
        obs.findings.push(a.fail(format!(
            "{backlog} WAL segments are waiting to be archived, more than max_backlog {}",
            w.max_backlog
        )));
    }
    obs.summary = Some(format!(
        "WAL archiving on: {} segment(s) archived, the last {last_wal}; {backlog} waiting",
        a.archived
    ));
    obs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archiver() -> Archiver {
        Archiver {
            mode: "on".into(),
            command: "cp %p /archive/%f".into(),
            library: String::new(),
            archived: 42,
            last_wal: Some("000000010000000000000042".into()),
            archived_age_s: Some(30.0),
            failed: 0,
            last_failed: None,
            failing: false,
        }
    }

    fn options() -> WalArchiving {
        WalArchiving {
            target: None,
            max_backlog: 16,
        }
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn archiving_off_or_unconfigured_stops_the_check() {
        let off = Archiver {
            mode: "off".into(),
            ..archiver()
        };
        let obs = not_archiving(&off).unwrap();
        assert!(obs.findings[0].message.starts_with("archive_mode is off"));
        assert_eq!(obs.measurements["archived_count"], 42.0);
        let nowhere = Archiver {
            command: " ".into(),
            ..archiver()
        };
        let obs = not_archiving(&nowhere).unwrap();
        assert!(
            obs.findings[0]
                .message
                .contains("neither archive_command nor archive_library")
        );
        assert!(not_archiving(&archiver()).is_none());
    }

    #[test]
    fn healthy_archiving_has_no_finding() {
        let obs = judge(&archiver(), 2, &options(), HOUR);
        assert!(obs.findings.is_empty());
        assert_eq!(
            obs.summary.as_deref(),
            Some(
                "WAL archiving on: 42 segment(s) archived, the last 000000010000000000000042; 2 waiting"
            )
        );
    }

    #[test]
    fn fake_failing_stale_and_backed_up_archiving_fail() {
        let bad = Archiver {
            command: "/bin/true".into(),
            failing: true,
            failed: 3,
            last_failed: Some("000000010000000000000043".into()),
            archived_age_s: Some(7200.0),
            ..archiver()
        };
        let obs = judge(&bad, 20, &options(), HOUR);
        let messages: Vec<&str> = obs.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert!(messages[0].contains("reports success without storing anything"));
        assert!(messages[1].contains(
            "for 000000010000000000000043, failed after the last success (3 failure(s) in total)"
        ));
        assert!(messages[2].contains("was archived 2h ago, more than max_age 1h"));
        assert!(messages[3].starts_with("20 WAL segments are waiting"));
        let never = Archiver {
            archived_age_s: None,
            ..archiver()
        };
        assert_eq!(judge(&never, 0, &options(), HOUR).findings.len(), 1);
    }
}
