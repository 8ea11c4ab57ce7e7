//! Runs the selected checks concurrently and assembles the result.
//!
//! A global limit (`--concurrency`) bounds all checks in flight; each target has its own limit
//! so that a database is not sent more than its pool's worth of queries. Every check has a
//! timeout after which it is `error`; network kinds may retry. Results come back in definition
//! order whatever order they finished in.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;

use crate::checks::outcome::{CheckOutcome, Level, Observation};
use crate::checks::{self, Connection, Context, http::HttpHandle, postgres::PgHandle};
use crate::config::Loaded;
use crate::model::{Check, CheckState, Suite, TargetKind, TargetState};
use crate::redact::Redactor;
use crate::result::{self, CheckResult, FindingResult, RunResult, Status, WaiverResult};
use crate::scoring::{self, Goal};
use crate::selector::Selector;
use crate::waivers;

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub concurrency: Option<usize>,
    /// Replaces every check's timeout.
    pub timeout: Option<Duration>,
    pub only: Vec<Selector>,
    pub skip: Vec<Selector>,
    pub no_waivers: bool,
    pub progress: bool,
    /// Run only this share of the checks: (index from 1, count).
    pub shard: Option<Shard>,
}

pub use crate::selector::Shard;

impl RunOptions {
    /// Why the check is left out of this run, if it is.
    pub fn exclusion(&self, check: &Check) -> Option<String> {
        let facts = crate::selector::CheckFacts {
            id: &check.id,
            kind: check.kind_name(),
            category: &check.category,
            severity: check.severity,
            blocker: check.blocker,
            tags: &check.tags,
        };
        let selected = (self.only.is_empty() || self.only.iter().any(|s| s.matches(&facts)))
            && !self.skip.iter().any(|s| s.matches(&facts));
        if !selected {
            return Some("not selected by --only/--skip".into());
        }
        match self.shard {
            Some(shard) if shard.owner_of(&check.id) != shard.index => Some(format!(
                "runs in shard {}/{}, not in this one ({shard})",
                shard.owner_of(&check.id),
                shard.count
            )),
            _ => None,
        }
    }

    pub fn selects(&self, check: &Check) -> bool {
        self.exclusion(check).is_none()
    }

    pub fn is_partial(&self) -> bool {
        !self.only.is_empty() || !self.skip.is_empty() || self.shard.is_some_and(|s| s.count > 1)
    }
}

/// How one check ended, before waivers.
#[derive(Debug, Clone)]
pub enum Ran {
    Observed(Observation),
    Errored(String),
    Skipped { reason: String, selected: bool },
}

pub struct Executed {
    pub ran: Ran,
    pub duration: Duration,
}

/// The targets the selected checks use, connected lazily, each with its own limit.
type Connections = BTreeMap<String, (Result<Connection, String>, Arc<Semaphore>)>;

pub async fn execute(
    loaded: &Loaded,
    env: &std::collections::HashMap<String, String>,
    options: &RunOptions,
) -> Vec<Executed> {
    let suite = Arc::new(loaded.suite.clone());
    let connect_timeout = options.timeout.unwrap_or(suite.defaults.timeout);
    let standalone_http = match HttpHandle::standalone(connect_timeout) {
        Ok(h) => h,
        Err(e) => {
            return suite
                .checks
                .iter()
                .map(|_| Executed {
                    ran: Ran::Errored(e.to_string()),
                    duration: Duration::ZERO,
                })
                .collect();
        }
    };
    let context = Arc::new(Context {
        env: env.clone(),
        base_dir: loaded.base_dir.clone(),
        standalone_http,
    });

    let mut connections = Connections::new();
    for check in suite.checks.iter().filter(|c| options.selects(c)) {
        let Some(name) = check.target.as_deref() else {
            continue;
        };
        if connections.contains_key(name) {
            continue;
        }
        let Some(target) = suite.targets.get(name) else {
            continue;
        };
        let connection = match &target.state {
            TargetState::Ready(TargetKind::Postgres(pg)) => PgHandle::new(pg, target.concurrency)
                .map(|h| Connection::Postgres(Box::new(h)))
                .map_err(|e| e.to_string()),
            TargetState::Ready(TargetKind::Http(http)) => {
                HttpHandle::for_target(http, connect_timeout)
                    .map(Connection::Http)
                    .map_err(|e| e.to_string())
            }
            TargetState::Unresolved(reason) | TargetState::NotConfigured(reason) => {
                Err(reason.clone())
            }
        };
        connections.insert(
            name.to_string(),
            (connection, Arc::new(Semaphore::new(target.concurrency))),
        );
    }
    let connections = Arc::new(connections);
    let options = Arc::new(options.clone());

    let progress = options
        .progress
        .then(|| progress_bar(suite.checks.iter().filter(|c| options.selects(c)).count()));
    let concurrency = options
        .concurrency
        .unwrap_or(suite.defaults.concurrency)
        .max(1);
    let global = Arc::new(Semaphore::new(concurrency));

    // One task per check, so that checks use every core; the global limit bounds how many run.
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..suite.checks.len() {
        let (suite, options, context, connections, global, progress) = (
            suite.clone(),
            options.clone(),
            context.clone(),
            connections.clone(),
            global.clone(),
            progress.clone(),
        );
        tasks.spawn(async move {
            let check = &suite.checks[index];
            let started = Instant::now();
            let ran = run_one(&suite, check, &options, &context, &connections, &global).await;
            if let Some(bar) = progress
                && options.selects(check)
            {
                bar.inc(1);
                bar.set_message(check.id.clone());
            }
            (
                index,
                Executed {
                    ran,
                    duration: started.elapsed(),
                },
            )
        });
    }
    let mut finished: Vec<Option<Executed>> = (0..suite.checks.len()).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, executed)) => finished[index] = Some(executed),
            Err(e) => tracing::error!("a check task failed: {e}"),
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    // A check whose task died is an error, never a silent gap.
    finished
        .into_iter()
        .map(|e| {
            e.unwrap_or(Executed {
                ran: Ran::Errored("internal error: the check stopped unexpectedly".into()),
                duration: Duration::ZERO,
            })
        })
        .collect()
}

async fn run_one(
    suite: &Suite,
    check: &Check,
    options: &RunOptions,
    context: &Context,
    connections: &Connections,
    global: &Arc<Semaphore>,
) -> Ran {
    if let Some(reason) = options.exclusion(check) {
        return Ran::Skipped {
            reason,
            selected: false,
        };
    }
    // A target the built-in suite has no configuration for makes its checks not applicable,
    // whatever else they lack.
    if let Some(name) = check.target.as_deref()
        && let Some(target) = suite.targets.get(name)
        && let TargetState::NotConfigured(reason) = &target.state
    {
        return Ran::Skipped {
            reason: reason.clone(),
            selected: true,
        };
    }
    let kind = match &check.state {
        CheckState::Ready(kind) => kind,
        CheckState::Unresolved { missing, .. } => {
            let first = missing
                .first()
                .map_or("an environment variable is not set", String::as_str);
            return Ran::Errored(format!("cannot run: {first}"));
        }
    };
    let (connection, limit) = match check.target.as_deref() {
        None => (None, None),
        Some(name) => match connections.get(name) {
            Some((Ok(conn), limit)) => (Some(conn), Some(limit.clone())),
            Some((Err(reason), _)) => return Ran::Errored(reason.clone()),
            None => return Ran::Errored(format!("target `{name}` is not defined")),
        },
    };
    // The target's limit first: checks queued on a busy target do not hold global places
    // that checks of other targets could use.
    let _target_permit = match limit {
        Some(limit) => Some(limit.acquire_owned().await),
        None => None,
    };
    let _permit = global.clone().acquire_owned().await;
    let timeout = options.timeout.unwrap_or(check.timeout);
    let attempts = if kind.is_network() {
        check.retries + 1
    } else {
        1
    };
    let mut last = Ran::Errored("not run".into());
    for attempt in 0..attempts {
        if attempt > 0 {
            tracing::debug!(check = %check.id, attempt, "retrying");
            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
        }
        let outcome: CheckOutcome =
            match tokio::time::timeout(timeout, checks::run(kind, connection, context, timeout))
                .await
            {
                Ok(outcome) => outcome,
                Err(_) => Err(checks::outcome::CheckError::new(format!(
                    "timed out after {}",
                    checks::local::human(timeout)
                ))),
            };
        last = match outcome {
            Ok(obs) => return Ran::Observed(obs),
            Err(e) => Ran::Errored(e.0),
        };
    }
    last
}

fn progress_bar(total: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} checks {wide_msg}")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// The decision inputs of a run besides the checks.
pub struct Assembly<'a> {
    pub suite: &'a Suite,
    pub options: &'a RunOptions,
    pub goal: Goal<'a>,
    pub started_at: DateTime<Utc>,
    pub duration: Duration,
    pub redactor: &'a Redactor,
    pub baseline: Option<&'a RunResult>,
}

/// Applies waivers, scores, decides, and builds the JSON result. Every text passes the redactor.
pub fn assemble(executed: Vec<Executed>, a: &Assembly) -> RunResult {
    let suite = a.suite;
    let today = a.started_at.date_naive();
    let active_waivers: &[crate::model::Waiver] = if a.options.no_waivers {
        &[]
    } else {
        &suite.waivers
    };
    let mut used = vec![false; active_waivers.len()];
    let red = |s: &str| a.redactor.redact(s);

    let mut checks = Vec::with_capacity(suite.checks.len());
    for (check, executed) in suite.checks.iter().zip(executed) {
        let mut findings = Vec::new();
        let mut measurements = BTreeMap::new();
        let mut selected = true;
        let (mut status, message) = match executed.ran {
            Ran::Skipped {
                reason,
                selected: s,
            } => {
                selected = s;
                (Status::Skip, reason)
            }
            Ran::Errored(message) => (Status::Error, message),
            Ran::Observed(obs) => {
                measurements = obs.measurements;
                findings = obs
                    .findings
                    .into_iter()
                    .map(|f| FindingResult {
                        fingerprint: result::fingerprint(&check.id, &f.subject),
                        subject: f.subject,
                        message: f.message,
                        level: f.level,
                        waived: false,
                        evidence: f.evidence,
                    })
                    .collect::<Vec<_>>();
                let status = if findings.iter().any(|f| f.level == Level::Fail) {
                    Status::Fail
                } else if findings.is_empty() {
                    Status::Pass
                } else {
                    Status::Warn
                };
                let message = summarize(&findings, obs.summary);
                (status, message)
            }
        };
        if status == Status::Fail {
            waivers::apply(active_waivers, &check.id, &mut findings, today, &mut used);
            if findings
                .iter()
                .filter(|f| f.level == Level::Fail)
                .all(|f| f.waived)
            {
                status = Status::Waived;
            }
        }
        for f in &mut findings {
            f.subject = red(&f.subject);
            f.message = red(&f.message);
            f.fingerprint = red(&f.fingerprint);
            redact_json(&mut f.evidence, a.redactor);
        }
        checks.push(CheckResult {
            id: check.id.clone(),
            title: check.title.clone(),
            kind: check.kind_name().to_string(),
            target: check.target.clone(),
            category: check.category.clone(),
            severity: check.severity,
            weight: check.weight,
            blocker: check.blocker,
            tags: check.tags.clone(),
            status,
            message: red(&message),
            duration_ms: executed.duration.as_millis() as u64,
            findings,
            measurements,
            remediation: check.remediation.clone(),
            selected,
        });
    }

    let waivers: Vec<WaiverResult> = suite
        .waivers
        .iter()
        .enumerate()
        .map(|(i, w)| WaiverResult {
            check: w.check.to_string(),
            subject: w.subject.as_ref().map(ToString::to_string),
            reason: w.reason.clone(),
            expires: w.expires,
            approved_by: w.approved_by.clone(),
            ticket: w.ticket.clone(),
            state: waivers::state(w, !a.options.no_waivers && used[i], today),
        })
        .collect();

    let (regressions, new_findings) = match a.baseline {
        Some(b) => (
            crate::baseline::regressions(&checks, b),
            crate::baseline::new_findings(&checks, b),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let evaluation = scoring::evaluate(
        &checks,
        &suite.categories,
        &suite.stages,
        &regressions,
        &a.goal,
    );
    RunResult {
        schema: result::SCHEMA_ID.into(),
        ready_version: env!("CARGO_PKG_VERSION").into(),
        project: red(&suite.project),
        started_at: a.started_at,
        duration_ms: a.duration.as_millis() as u64,
        stage: a.goal.stage.to_string(),
        decision: evaluation.decision,
        score: evaluation.score,
        score_without_waivers: evaluation.score_without_waivers,
        coverage: evaluation.coverage,
        partial: a.options.is_partial(),
        counts: evaluation.counts,
        categories: evaluation.categories,
        stages: evaluation.stages,
        checks,
        waivers,
        regressions,
        new_findings,
        baseline: a.baseline.map(crate::baseline::summary),
        config_hash: Some(suite.config_hash.clone()),
        targets: suite
            .targets
            .values()
            .map(|t| crate::result::TargetSummary {
                name: t.name.clone(),
                kind: t.family.as_str().into(),
            })
            .collect(),
        shard: a.options.shard.map(|s| s.to_string()),
    }
}

/// The one line a check shows: its own summary when it passed, else its first finding.
fn summarize(findings: &[FindingResult], summary: Option<String>) -> String {
    let failing: Vec<&FindingResult> = findings.iter().filter(|f| f.level == Level::Fail).collect();
    let shown = if failing.is_empty() {
        findings.iter().collect::<Vec<_>>()
    } else {
        failing
    };
    match shown.as_slice() {
        [] => summary.unwrap_or_else(|| "ok".into()),
        [one] => one.message.clone(),
        [first, rest @ ..] => format!("{} (+{} more)", first.message, rest.len()),
    }
}

fn redact_json(value: &mut serde_json::Value, redactor: &Redactor) {
    match value {
        serde_json::Value::String(s) => *s = redactor.redact(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| redact_json(v, redactor)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| redact_json(v, redactor)),
        _ => {}
    }
}
