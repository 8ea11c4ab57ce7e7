//! `cron_job`: pg_cron jobs exist, are active, last succeeded, and ran recently.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::catalog::{catalog_error, get};
use super::describe;
use crate::checks::outcome::{CheckError, CheckOutcome, Cut, Finding, Observation};
use crate::checks::params::{DurationParam, keep};
use crate::checks::{Ctx, KindSpec};
use crate::target::TargetFamily;
use crate::vocab::human;

/// The job's last message in the evidence, shown up to 500 bytes once its secrets are masked.
const MESSAGE_EVIDENCE_CUT: Cut = Cut::Evidence("message", 500);

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
}

pub async fn run(params: &CronJobParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let (db, timeout) = (ctx.postgres()?, ctx.timeout);
    let mut tx = db.read_only(timeout).await?;
    let result = inspect(params, &mut tx).await;
    db.finish(tx).await;
    result
}

/// What the server says about pg_cron and who is asking.
struct Server {
    has_jobs: bool,
    has_details: bool,
    user: String,
    /// A superuser or a role with BYPASSRLS: pg_cron's row level security hides the other
    /// users' jobs from everyone else.
    sees_every_job: bool,
}

async fn inspect(params: &CronJobParams, conn: &mut PgConnection) -> CheckOutcome {
    let (has_jobs, has_details, user, sees_every_job): (bool, bool, String, bool) = sqlx::query_as(
        "SELECT to_regclass('cron.job') IS NOT NULL, to_regclass('cron.job_run_details') IS NOT NULL,
                current_user::text,
                coalesce((SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user), false)",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| catalog_error(&e))?;
    let server = Server {
        has_jobs,
        has_details,
        user,
        sees_every_job,
    };
    if !server.has_jobs {
        let mut obs = Observation::default();
        obs.findings.push(Finding::fail(
            "pg_cron",
            "pg_cron is not installed in this database (no cron.job table): scheduled jobs cannot run",
        ));
        return Ok(obs);
    }
    let all = read_jobs(conn).await?;
    let (selected, missing) = select(&all, params.jobs.as_deref(), &server);
    if !selected.is_empty() && !server.has_details {
        return Err(CheckError::new(
            "cannot verify job runs: cron.job_run_details does not exist (pg_cron 1.4 or later records runs)",
        ));
    }
    let ids: Vec<i64> = selected.iter().map(|j| j.id).collect();
    let last = read_last_runs(conn, &ids).await?;
    let mut obs = Observation {
        findings: missing,
        ..Observation::default()
    };
    for job in &selected {
        obs.findings.extend(judge_job(
            job,
            last.get(&job.id),
            params.max_age.map(|d| d.0),
        ));
    }
    obs.measure("jobs", selected.len() as f64);
    obs.summary = Some(format!(
        "{} pg_cron job(s) active, last run succeeded and recent",
        selected.len()
    ));
    Ok(obs)
}

async fn read_jobs(conn: &mut PgConnection) -> Result<Vec<Job>, CheckError> {
    let rows = sqlx::query(
        "SELECT jobid::int8 AS id, coalesce(jobname, '')::text AS name, schedule::text AS schedule, active
         FROM cron.job ORDER BY jobid",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| CheckError::new(format!("cannot read cron.job: {}", describe(&e))))?;
    rows.iter()
        .map(|r| {
            Ok(Job {
                id: get(r, "id")?,
                name: get(r, "name")?,
                schedule: get(r, "schedule")?,
                active: get(r, "active")?,
            })
        })
        .collect()
}

/// The last finished run of each job in `ids`.
async fn read_last_runs(
    conn: &mut PgConnection,
    ids: &[i64],
) -> Result<BTreeMap<i64, LastRun>, CheckError> {
    let runs = sqlx::query(
        "SELECT DISTINCT ON (jobid) jobid::int8 AS id, status::text AS status,
                coalesce(return_message, '')::text AS message,
                extract(epoch FROM clock_timestamp() - coalesce(end_time, start_time))::float8 AS age_s,
                start_time::text AS started
         FROM cron.job_run_details
         WHERE jobid = ANY($1::int8[]) AND status IN ('succeeded', 'failed')
         ORDER BY jobid, start_time DESC NULLS LAST",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| CheckError::new(format!("cannot read cron.job_run_details: {}", describe(&e))))?;
    let mut last = BTreeMap::new();
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
    Ok(last)
}

/// The jobs the check names (every job when it names none), and a failure for each named job
/// that is not there.
fn select<'a>(
    all: &'a [Job],
    names: Option<&[String]>,
    server: &Server,
) -> (Vec<&'a Job>, Vec<Finding>) {
    let Some(names) = names else {
        return (all.iter().collect(), Vec::new());
    };
    // pg_cron's row level security shows a role only the jobs it owns.
    let visibility = if server.sees_every_job {
        String::new()
    } else {
        format!(
            " or is not visible to {}, which sees only its own jobs",
            server.user
        )
    };
    let missing = names
        .iter()
        .filter(|name| !all.iter().any(|j| &j.name == *name))
        .map(|name| {
            Finding::fail(
                name,
                format!(
                    "pg_cron job {name} does not exist{visibility} (cron.job has {} job(s))",
                    all.len()
                ),
            )
        })
        .collect();
    let selected = all.iter().filter(|j| names.contains(&j.name)).collect();
    (selected, missing)
}

/// One job: active, has run, its last run succeeded, and recently enough (`max_age`, or twice
/// the interval of a simple schedule).
fn judge_job(job: &Job, last: Option<&LastRun>, max_age: Option<Duration>) -> Vec<Finding> {
    let subject = job.subject();
    if !job.active {
        return vec![Finding::fail(
            &subject,
            format!("pg_cron job {subject} ({}) is not active", job.schedule),
        )];
    }
    let Some(run) = last else {
        return vec![Finding::fail(
            &subject,
            format!(
                "pg_cron job {subject} ({}) has never completed a run",
                job.schedule
            ),
        )];
    };
    let mut out = Vec::new();
    let evidence = json!({"schedule": job.schedule, "last_status": run.status, "last_start": run.started, "message": keep(&run.message)});
    if run.status == "failed" {
        let lead = format!("the last run of pg_cron job {subject} failed: ");
        out.push(
            Finding::fail(&subject, format!("{lead}{}", keep(run.message.trim())))
                .with_evidence(evidence.clone())
                .cut(&[Cut::Message(lead.len() + 300), MESSAGE_EVIDENCE_CUT]),
        );
    }
    match max_age.or_else(|| interval(&job.schedule).map(|i| i * 2)) {
        Some(limit) if run.age > limit => out.push(
            Finding::fail(
                &subject,
                format!(
                    "pg_cron job {subject} ({}) last ran {} ago, longer than {}",
                    job.schedule,
                    human(run.age),
                    human(limit)
                ),
            )
            .with_evidence(evidence)
            .cut(&[MESSAGE_EVIDENCE_CUT]),
        ),
        Some(_) => {}
        None => out.push(Finding::warn(
            &subject,
            format!(
                "pg_cron job {subject} last ran {} ago; its schedule `{}` is not simple, so set max_age to check that it runs on time",
                human(run.age),
                job.schedule
            ),
        )),
    }
    out
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

    fn job(name: &str, schedule: &str, active: bool) -> Job {
        Job {
            id: 7,
            name: name.into(),
            schedule: schedule.into(),
            active,
        }
    }

    fn run(status: &str, age_s: u64) -> LastRun {
        LastRun {
            status: status.into(),
            message: "ERROR:  relation \"x\" does not exist\n".into(),
            age: Duration::from_secs(age_s),
            started: "2026-11-30 10:00:00+00".into(),
        }
    }

    #[test]
    fn named_jobs_must_exist_and_visibility_is_explained() {
        let all = [job("nightly", "0 3 * * *", true)];
        let server = Server {
            has_jobs: true,
            has_details: true,
            user: "app".into(),
            sees_every_job: false,
        };
        let names = ["nightly".to_string(), "hourly".to_string()];
        let (selected, missing) = select(&all, Some(&names), &server);
        assert_eq!(selected.len(), 1);
        assert_eq!(
            missing[0].message,
            "pg_cron job hourly does not exist or is not visible to app, which sees only its own jobs (cron.job has 1 job(s))"
        );
        assert_eq!(select(&all, None, &server).0.len(), 1);
    }

    #[test]
    fn jobs_must_be_active_succeed_and_run_on_time() {
        let every5 = job("sweep", "*/5 * * * *", true);
        assert!(judge_job(&every5, Some(&run("succeeded", 300)), None).is_empty());
        let late = judge_job(&every5, Some(&run("failed", 900)), None);
        let messages: Vec<&str> = late.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "the last run of pg_cron job sweep failed: ERROR:  relation \"x\" does not exist",
                "pg_cron job sweep (*/5 * * * *) last ran 15m ago, longer than 10m",
            ]
        );
        let inactive = job("", "* * * * *", false);
        assert_eq!(
            judge_job(&inactive, None, None)[0].message,
            "pg_cron job job 7 (* * * * *) is not active"
        );
        let never = judge_job(&every5, None, None);
        assert!(never[0].message.ends_with("has never completed a run"));
        let odd = job("weekly", "0 3 * * 1", true);
        let warned = judge_job(&odd, Some(&run("succeeded", 60)), None);
        assert_eq!(warned[0].level, crate::vocab::Level::Warn);
        assert!(
            judge_job(
                &odd,
                Some(&run("succeeded", 60)),
                Some(Duration::from_secs(3600))
            )
            .is_empty()
        );
    }
}
