//! `cron_job`: pg_cron jobs exist, are active, last succeeded, and ran recently.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::catalog::{catalog_error, get};
use super::describe;
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::params::{DurationParam, truncate};
use crate::checks::{Ctx, KindSpec};
use crate::model::TargetFamily;
use crate::vocab::human;

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CronJobParams {
    /// Job names that must exist. Default: every job in `cron.job`.
    pub jobs: Option<Vec<String>>,
    /// Default: twice the interval of a simple schedule (`*/5 * * * *` → 10m).
    pub max_age: Option<DurationParam>,
}

struct Job {
    id: i64,
    name: String,
    schedule: String,
    active: bool,
}

impl Job {
    fn subject(&self) -> String {
        if self.name.is_empty() {
            format!("job {}", self.id)
        } else {
            self.name.clone()
        }
    }
}

struct LastRun {
    status: String,
    message: String,
    age: Duration,
    started: String,
}

impl KindSpec for CronJobParams {
    fn family(&self) -> Option<TargetFamily> {
        Some(TargetFamily::Postgres)
    }

    fn is_network(&self) -> bool {
        true
    }
}

pub async fn run(params: &CronJobParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let (db, timeout) = (ctx.postgres()?, ctx.timeout);
    let mut tx = db.read_only(timeout).await?;
    let result = inspect(params, &mut tx).await;
    db.finish(tx).await;
    result
}

async fn inspect(params: &CronJobParams, conn: &mut PgConnection) -> CheckOutcome {
    let mut obs = Observation::default();
    let (has_jobs, has_details, user, superuser): (bool, bool, String, bool) = sqlx::query_as(
        "SELECT to_regclass('cron.job') IS NOT NULL, to_regclass('cron.job_run_details') IS NOT NULL,
                current_user::text, coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false)",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| catalog_error(&e))?;
    if !has_jobs {
        obs.findings.push(Finding::fail(
            "pg_cron",
            "pg_cron is not installed in this database (no cron.job table): scheduled jobs cannot run",
        ));
        return Ok(obs);
    }
    let rows = sqlx::query(
        "SELECT jobid::int8 AS id, coalesce(jobname, '')::text AS name, schedule::text AS schedule, active
         FROM cron.job ORDER BY jobid",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| CheckError::new(format!("cannot read cron.job: {}", describe(&e))))?;
    let all: Vec<Job> = rows
        .iter()
        .map(|r| {
            Ok(Job {
                id: get(r, "id")?,
                name: get(r, "name")?,
                schedule: get(r, "schedule")?,
                active: get(r, "active")?,
            })
        })
        .collect::<Result<_, CheckError>>()?;
    let selected: Vec<&Job> = match &params.jobs {
        Some(names) => {
            for name in names {
                if !all.iter().any(|j| &j.name == name) {
                    // pg_cron shows a non-superuser only the jobs it owns.
                    let visibility = if superuser {
                        String::new()
                    } else {
                        format!(" or is not visible to {user}, which sees only its own jobs")
                    };
                    obs.findings.push(Finding::fail(
                        name,
                        format!(
                            "pg_cron job {name} does not exist{visibility} (cron.job has {} job(s))",
                            all.len()
                        ),
                    ));
                }
            }
            all.iter().filter(|j| names.contains(&j.name)).collect()
        }
        None => all.iter().collect(),
    };
    if !selected.is_empty() && !has_details {
        return Err(CheckError::new(
            "cannot verify job runs: cron.job_run_details does not exist (pg_cron 1.4 or later records runs)",
        ));
    }
    let ids: Vec<i64> = selected.iter().map(|j| j.id).collect();
    let runs = sqlx::query(
        "SELECT DISTINCT ON (jobid) jobid::int8 AS id, status::text AS status,
                coalesce(return_message, '')::text AS message,
                extract(epoch FROM clock_timestamp() - coalesce(end_time, start_time))::float8 AS age_s,
                start_time::text AS started
         FROM cron.job_run_details
         WHERE jobid = ANY($1::int8[]) AND status IN ('succeeded', 'failed')
         ORDER BY jobid, start_time DESC NULLS LAST",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| CheckError::new(format!("cannot read cron.job_run_details: {}", describe(&e))))?;
    let mut last: std::collections::BTreeMap<i64, LastRun> = std::collections::BTreeMap::new();
    for r in &runs {
        let age: f64 = get(r, "age_s")?;
        last.insert(
            get(r, "id")?,
            LastRun {
                status: get(r, "status")?,
                message: get(r, "message")?,
                age: Duration::from_secs_f64(age.max(0.0)),
                started: get(r, "started")?,
            },
        );
    }
    for job in &selected {
        let subject = job.subject();
        if !job.active {
            obs.findings.push(Finding::fail(
                &subject,
                format!("pg_cron job {subject} ({}) is not active", job.schedule),
            ));
            continue;
        }
        let Some(run) = last.get(&job.id) else {
            obs.findings.push(Finding::fail(
                &subject,
                format!(
                    "pg_cron job {subject} ({}) has never completed a run",
                    job.schedule
                ),
            ));
            continue;
        };
        let evidence = json!({"schedule": job.schedule, "last_status": run.status, "last_start": run.started, "message": truncate(&run.message, 500)});
        if run.status == "failed" {
            obs.findings.push(
                Finding::fail(
                    &subject,
                    format!(
                        "the last run of pg_cron job {subject} failed: {}",
                        truncate(run.message.trim(), 300)
                    ),
                )
                .with_evidence(evidence.clone()),
            );
        }
        let limit = params
            .max_age
            .map(|d| d.0)
            .or_else(|| interval(&job.schedule).map(|i| i * 2));
        match limit {
            Some(limit) if run.age > limit => obs.findings.push(
                Finding::fail(
                    &subject,
                    format!(
                        "pg_cron job {subject} ({}) last ran {} ago, longer than {}",
                        job.schedule,
                        human(run.age),
                        human(limit)
                    ),
                )
                .with_evidence(evidence),
            ),
            Some(_) => {}
            None => obs.findings.push(Finding::warn(
                &subject,
                format!(
                    "pg_cron job {subject} last ran {} ago; its schedule `{}` is not simple, so set max_age to check that it runs on time",
                    human(run.age),
                    job.schedule
                ),
            )),
        }
    }
    obs.measure("jobs", selected.len() as f64);
    obs.summary = Some(format!(
        "{} pg_cron job(s) active, last run succeeded and recent",
        selected.len()
    ));
    Ok(obs)
}

/// The period of a simple schedule: `*/N * * * *`, `* * * * *`, `M * * * *`, `M H * * *`,
/// `N seconds`, `@hourly`, `@daily`.
fn interval(schedule: &str) -> Option<Duration> {
    const MINUTE: u64 = 60;
    let s = schedule.trim();
    match s {
        "@hourly" => return Some(Duration::from_secs(60 * MINUTE)),
        "@daily" | "@midnight" => return Some(Duration::from_secs(24 * 60 * MINUTE)),
        _ => {}
    }
    if let Some((n, unit)) = s.split_once(' ')
        && matches!(unit.trim(), "second" | "seconds")
    {
        return n.trim().parse::<u64>().ok().map(Duration::from_secs);
    }
    let fields: Vec<&str> = s.split_whitespace().collect();
    let [minute, hour, "*", "*", "*"] = fields.as_slice() else {
        return None;
    };
    let number = |f: &str| f.parse::<u32>().is_ok();
    match (*minute, *hour) {
        ("*", "*") => Some(Duration::from_secs(MINUTE)),
        (m, "*") if m.starts_with("*/") => m[2..]
            .parse::<u64>()
            .ok()
            .map(|n| Duration::from_secs(n * MINUTE)),
        (m, "*") if number(m) => Some(Duration::from_secs(60 * MINUTE)),
        (m, h) if number(m) && number(h) => Some(Duration::from_secs(24 * 60 * MINUTE)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_schedules_have_intervals() {
        assert_eq!(interval("*/5 * * * *"), Some(Duration::from_secs(300)));
        assert_eq!(interval("* * * * *"), Some(Duration::from_secs(60)));
        assert_eq!(interval("15 * * * *"), Some(Duration::from_secs(3600)));
        assert_eq!(interval("0 3 * * *"), Some(Duration::from_secs(86400)));
        assert_eq!(interval("30 seconds"), Some(Duration::from_secs(30)));
        assert_eq!(interval("0 3 * * 1"), None);
        assert_eq!(interval("0 0 31 2 *"), None);
    }
}
