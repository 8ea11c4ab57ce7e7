//! Schedules the selected checks: nothing here judges what they found (`evaluate` does).
//!
//! A global limit (`--concurrency`) bounds all checks in flight; each target has its own limit
//! so that a database is not sent more than its pool's worth of queries. Every check has a
//! timeout after which it is `error`; network kinds may retry. Checks that disturb their target
//! run after its other checks, one at a time. Results come back in definition order whatever
//! order they finished in.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, Semaphore, watch};

use crate::checks::outcome::{CheckError, CheckOutcome, Observation};
use crate::checks::{
    self, Connection, Context, Kind, SecretSink, http::HttpHandle, postgres::PgHandle,
};
use crate::config::Loaded;
use crate::model::{Check, CheckState, Suite, TargetKind, TargetState};
use crate::redact::SharedRedactor;
use crate::selector::Selector;

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
    Errored(CheckError),
    Skipped { reason: String, selected: bool },
}

/// What the runner hands to evaluation for one check.
#[derive(Debug, Clone)]
pub struct Executed {
    pub ran: Ran,
    pub duration: Duration,
    /// The secret values the check read: every output masks them.
    pub secrets: Vec<String>,
}

impl Executed {
    fn errored(message: impl Into<String>) -> Executed {
        Executed {
            ran: Ran::Errored(CheckError::new(message)),
            duration: Duration::ZERO,
            secrets: Vec::new(),
        }
    }
}

/// The targets the selected checks use, connected lazily, each with its own limit.
type Connections = BTreeMap<String, (Result<Connection, String>, Arc<Semaphore>)>;

/// Runs the selected checks and returns how each ended, in definition order. The secrets a check
/// reads are added to `seen` as soon as it ends, so that later log lines mask them too.
pub async fn execute(
    loaded: &Loaded,
    env: &std::collections::HashMap<String, String>,
    options: &RunOptions,
    seen: &SharedRedactor,
) -> Vec<Executed> {
    let connect_timeout = options.timeout.unwrap_or(loaded.suite.defaults.timeout);
    let standalone_http = match HttpHandle::standalone(connect_timeout) {
        Ok(h) => h,
        Err(e) => {
            let message = e.to_string();
            let failed = |_| Executed::errored(message.clone());
            return loaded.suite.checks.iter().map(failed).collect();
        }
    };
    let suite = &loaded.suite;
    let shared = Arc::new(Shared {
        context: Context {
            env: env.clone(),
            base_dir: loaded.base_dir.clone(),
            standalone_http,
        },
        connections: connect(suite, options, connect_timeout),
        progress: options
            .progress
            .then(|| progress_bar(suite.checks.iter().filter(|c| options.selects(c)).count())),
        global: Arc::new(Semaphore::new(
            options
                .concurrency
                .unwrap_or(suite.defaults.concurrency)
                .max(1),
        )),
        quiet: quiet_targets(suite),
        suite: suite.clone(),
        options: options.clone(),
        seen: seen.clone(),
    });
    // One task per check, so that checks use every core; the global limit bounds how many run.
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..suite.checks.len() {
        tasks.spawn(run_task(shared.clone(), index));
    }
    let mut finished: Vec<Option<Executed>> = (0..suite.checks.len()).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, executed)) => finished[index] = Some(executed),
            Err(e) => tracing::error!("a check task failed: {e}"),
        }
    }
    if let Some(bar) = &shared.progress {
        bar.finish_and_clear();
    }
    // A check whose task died is an error, never a silent gap.
    finished
        .into_iter()
        .map(|e| {
            e.unwrap_or_else(|| Executed::errored("internal error: the check stopped unexpectedly"))
        })
        .collect()
}

/// What every check's task shares.
struct Shared {
    suite: Suite,
    options: RunOptions,
    context: Context,
    connections: Connections,
    global: Arc<Semaphore>,
    progress: Option<indicatif::ProgressBar>,
    seen: SharedRedactor,
    quiet: QuietTargets,
}

/// What keeps the checks that disturb a target (`Kind::disturbs`) apart from its other checks:
/// they start once the target's other checks have all ended, and one at a time. Without this a
/// rate-limit burst running beside a latency check changes the latency it measures.
struct Quiet {
    /// The target's checks that do not disturb it and have not ended yet.
    others_left: watch::Sender<usize>,
    alone: Mutex<()>,
}

/// Per target name; checks without a target share the entry `""`, where the disturbing ones
/// run one at a time but wait for no other check.
type QuietTargets = BTreeMap<String, Quiet>;

fn disturbs(check: &Check) -> bool {
    matches!(&check.state, CheckState::Ready(kind) if kind.disturbs())
}

fn quiet_targets(suite: &Suite) -> QuietTargets {
    let mut quiet = QuietTargets::new();
    for check in &suite.checks {
        let entry = quiet
            .entry(check.target.clone().unwrap_or_default())
            .or_insert_with(|| Quiet {
                others_left: watch::Sender::new(0),
                alone: Mutex::new(()),
            });
        if check.target.is_some() && !disturbs(check) {
            entry.others_left.send_modify(|n| *n += 1);
        }
    }
    quiet
}

/// Counts one of a target's other checks as ended when dropped, even if its task panicked.
struct Ended<'a>(Option<&'a Quiet>);

impl Drop for Ended<'_> {
    fn drop(&mut self) {
        if let Some(quiet) = self.0 {
            quiet.others_left.send_modify(|n| *n = n.saturating_sub(1));
        }
    }
}

/// Runs the check at `index` and says which it was, since tasks finish in any order.
async fn run_task(shared: Arc<Shared>, index: usize) -> (usize, Executed) {
    let Shared {
        suite,
        options,
        context,
        connections,
        global,
        progress,
        seen,
        quiet,
    } = &*shared;
    let check = &suite.checks[index];
    let target_quiet = quiet.get(check.target.as_deref().unwrap_or_default());
    let disturbing = disturbs(check) && options.selects(check);
    let _ended = Ended(target_quiet.filter(|_| check.target.is_some() && !disturbs(check)));
    let _alone = match target_quiet {
        Some(q) if disturbing => {
            // The sender lives in `shared`, so the wait ends when the count reaches 0.
            let _ = q.others_left.subscribe().wait_for(|left| *left == 0).await;
            Some(q.alone.lock().await)
        }
        _ => None,
    };
    let started = Instant::now();
    let sink = SecretSink::new(seen.clone());
    let ran = run_one(suite, check, options, context, connections, global, &sink).await;
    let secrets = sink.into_values();
    if let Some(bar) = progress
        && options.selects(check)
    {
        bar.inc(1);
        bar.set_message(check.id.clone());
    }
    let duration = started.elapsed();
    (
        index,
        Executed {
            ran,
            duration,
            secrets,
        },
    )
}

/// Opens (lazily) each target the selected checks use, with the target's own limit. The first
/// selected check in definition order that uses a PostgreSQL target reports its role.
fn connect(suite: &Suite, options: &RunOptions, connect_timeout: Duration) -> Connections {
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
            TargetState::Ready(TargetKind::Postgres(pg)) => {
                PgHandle::new(pg, target.concurrency, (name, &check.id))
                    .map(|h| Connection::Postgres(Box::new(h)))
                    .map_err(|e| e.to_string())
            }
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
    connections
}

/// What a check that can start runs with.
struct Prepared<'a> {
    kind: &'a Kind,
    connection: Option<&'a Connection>,
    /// The target's limit.
    limit: Option<Arc<Semaphore>>,
}

/// Why the check cannot start, or what it runs with.
fn prepare<'a>(
    suite: &Suite,
    check: &'a Check,
    options: &RunOptions,
    connections: &'a Connections,
) -> Result<Prepared<'a>, Ran> {
    if let Some(reason) = options.exclusion(check) {
        return Err(Ran::Skipped {
            reason,
            selected: false,
        });
    }
    // A target the built-in suite has no configuration for makes its checks not applicable,
    // whatever else they lack.
    if let Some(name) = check.target.as_deref()
        && let Some(target) = suite.targets.get(name)
        && let TargetState::NotConfigured(reason) = &target.state
    {
        return Err(Ran::Skipped {
            reason: reason.clone(),
            selected: true,
        });
    }
    let kind = match &check.state {
        CheckState::Ready(kind) => kind,
        CheckState::Unresolved { missing, .. } => {
            let first = missing
                .first()
                .map_or("an environment variable is not set", String::as_str);
            return Err(Ran::Errored(CheckError::new(format!(
                "cannot run: {first}"
            ))));
        }
    };
    let prepared = |connection, limit| Prepared {
        kind,
        connection,
        limit,
    };
    match check.target.as_deref() {
        None => Ok(prepared(None, None)),
        Some(name) => match connections.get(name) {
            Some((Ok(conn), limit)) => Ok(prepared(Some(conn), Some(limit.clone()))),
            Some((Err(reason), _)) => Err(Ran::Errored(CheckError::new(reason.clone()))),
            None => Err(Ran::Errored(CheckError::new(format!(
                "target `{name}` is not defined"
            )))),
        },
    }
}

/// Waits for a place under both limits, then runs the check with its timeout and retries.
async fn run_one(
    suite: &Suite,
    check: &Check,
    options: &RunOptions,
    context: &Context,
    connections: &Connections,
    global: &Arc<Semaphore>,
    secrets: &SecretSink,
) -> Ran {
    let Prepared {
        kind,
        connection,
        limit,
    } = match prepare(suite, check, options, connections) {
        Ok(prepared) => prepared,
        Err(ran) => return ran,
    };
    // The target's limit first: checks queued on a busy target do not hold global places
    // that checks of other targets could use.
    let _target_permit = match limit {
        Some(limit) => Some(limit.acquire_owned().await),
        None => None,
    };
    let _permit = global.clone().acquire_owned().await;
    let timeout = options.timeout.unwrap_or(check.timeout);
    // A check that waits on purpose (a rate-limit reset) gets its wait on top of its timeout:
    // otherwise the default 10s would throw away a finished burst while it waits.
    let allowed = timeout + kind.waits();
    let attempts = if kind.is_network() {
        check.retries + 1
    } else {
        1
    };
    let mut last = Ran::Errored(CheckError::new("not run"));
    for attempt in 0..attempts {
        if attempt > 0 {
            tracing::debug!(check = %check.id, attempt, "retrying");
            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
        }
        let ctx = context.for_check(&check.id, connection, timeout, secrets);
        let started = Instant::now();
        let outcome = tokio::time::timeout(allowed, checks::run(kind, &ctx)).await;
        let outcome = within_deadline(outcome.ok(), started.elapsed(), allowed, attempts);
        last = match outcome {
            Ok(obs) => return Ran::Observed(obs),
            Err(e) => Ran::Errored(e),
        };
    }
    last
}

/// A check's outcome if it came within its timeout. A check that finished late (its last
/// bytes arrived after the deadline, or it did not yield in time) is `error` like one cut off.
fn within_deadline(
    outcome: Option<CheckOutcome>,
    elapsed: Duration,
    timeout: Duration,
    attempts: u32,
) -> CheckOutcome {
    match outcome {
        Some(outcome) if elapsed <= timeout => outcome,
        _ => Err(checks::outcome::CheckError::new(timed_out(
            timeout, attempts,
        ))),
    }
}

/// A check past its timeout on every attempt; with retries the total time is several timeouts,
/// so the attempts are said.
fn timed_out(timeout: Duration, attempts: u32) -> String {
    let after = crate::vocab::human(timeout);
    match attempts {
        1 => format!("timed out after {after}"),
        n => format!("timed out after {after} ({n} attempts)"),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_after_retries_says_how_many_attempts() {
        assert_eq!(timed_out(Duration::from_secs(2), 1), "timed out after 2s");
        assert_eq!(
            timed_out(Duration::from_secs(2), 4),
            "timed out after 2s (4 attempts)"
        );
    }

    #[test]
    fn a_check_that_finished_after_its_timeout_is_an_error() {
        let timeout = Duration::from_millis(300);
        let late = within_deadline(
            Some(Ok(Observation::default())),
            Duration::from_millis(405),
            timeout,
            1,
        );
        assert_eq!(late.unwrap_err().0, "timed out after 300ms");
        let cut_off = within_deadline(None, timeout, timeout, 1);
        assert_eq!(cut_off.unwrap_err().0, "timed out after 300ms");
        let in_time = within_deadline(
            Some(Ok(Observation::default())),
            Duration::from_millis(299),
            timeout,
            1,
        );
        assert!(in_time.is_ok());
    }
}
