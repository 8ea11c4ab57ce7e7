//! `ready demo [--fixed]`: the whole product on a throwaway wallet app it starts itself — a
//! PostgreSQL cluster seeded like a Supabase project, an in-process HTTP API and a project
//! folder — with known holes (or, with `--fixed`, without them). The embedded suite runs through
//! the same runner, scoring and reports as `ready check`; everything started is stopped and
//! removed at the end, also on Ctrl-C.

mod api;
mod postgres;
mod project;

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use anyhow::{Context as _, bail};

use crate::Exit;
use crate::cli::{DecisionArgs, DemoArgs};
use crate::commands::{emit, environment, extra_reports, goal};
use crate::config::{self, Loaded, Source};
use crate::evaluate::{self, Assembly};
use crate::model::TargetState;
use crate::redact::SharedRedactor;
use crate::report::Format;
use crate::runner::{self, RunOptions};

/// The wallet app with its holes, or with every hole closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Holes,
    Fixed,
}

const DATABASE_URL_VAR: &str = "READY_DEMO_DATABASE_URL";
const API_URL_VAR: &str = "READY_DEMO_API_URL";
const WEBHOOK_SECRET_VAR: &str = "READY_DEMO_WEBHOOK_SECRET";

/// What the demo has started so far: whoever comes first, the end of the run or an
/// interruption, stops and removes it.
#[derive(Default)]
struct Started {
    cluster: Option<postgres::Cluster>,
    project: Option<tempfile::TempDir>,
}

impl Started {
    fn remove(&mut self) {
        if let Some(cluster) = self.cluster.take() {
            cluster.stop();
        }
        if let Some(project) = self.project.take() {
            let _ = project.close();
        }
    }
}

type Shared = Arc<Mutex<Started>>;

fn lock(started: &Shared) -> MutexGuard<'_, Started> {
    started.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn run(args: &DemoArgs, secrets: &SharedRedactor) -> anyhow::Result<Exit> {
    let extra = extra_reports(&args.output.report);
    let started = Shared::default();
    stop_on_interrupt(started.clone())?;
    let outcome = demo(args, &extra, &started, secrets);
    lock(&started).remove();
    outcome
}

/// On SIGINT or SIGTERM: stop and remove what was started, then exit 130 as shells expect.
fn stop_on_interrupt(started: Shared) -> anyhow::Result<()> {
    let (watching, watched) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("demo-interrupt".into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                let _ = watching.send(false);
                return;
            };
            runtime.block_on(async move {
                use tokio::signal::unix::{SignalKind, signal};
                let (Ok(mut int), Ok(mut term)) = (
                    signal(SignalKind::interrupt()),
                    signal(SignalKind::terminate()),
                ) else {
                    let _ = watching.send(false);
                    return;
                };
                let _ = watching.send(true);
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
                eprintln!(
                    "ready demo: interrupted; stopping the demo's servers and removing its files"
                );
                // The lock is held until the process ends: the run writes nothing more.
                let mut started = lock(&started);
                started.remove();
                std::process::exit(130);
            });
        })
        .context("cannot start the interrupt handler")?;
    match watched.recv() {
        Ok(true) => Ok(()),
        _ => bail!("cannot watch for Ctrl-C, so the demo could not clean up after one"),
    }
}

fn demo(
    args: &DemoArgs,
    extra: &[(Format, PathBuf)],
    started: &Shared,
    secrets: &SharedRedactor,
) -> anyhow::Result<Exit> {
    let variant = if args.fixed {
        Variant::Fixed
    } else {
        Variant::Holes
    };
    let clock = Instant::now();
    let started_at = chrono::Utc::now();
    let project = tempfile::Builder::new()
        .prefix("ready-demo-")
        .tempdir()
        .context("cannot create the demo's project folder")?;
    let dir = project.path().to_path_buf();
    {
        let mut started = lock(started);
        started.project = Some(project);
        project::write(&dir, variant)?;
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut env = HashMap::new();
    let webhook_secret = random_hex();
    env.insert(WEBHOOK_SECRET_VAR.to_string(), webhook_secret.clone());
    let base = runtime
        .block_on(api::serve(api::Api::new(variant, webhook_secret.clone())))
        .context("cannot start the demo API")?;
    env.insert(API_URL_VAR.to_string(), base.clone());
    let path = std::env::var_os("PATH");
    let bins = postgres::find_binaries(path.as_deref(), Path::new(postgres::INSTALL_ROOT));
    let database = match &bins {
        Some(bins) => {
            let (url, port) = start_database(bins, variant, &dir, &runtime, started)?;
            env.insert(DATABASE_URL_VAR.to_string(), url);
            format!("PostgreSQL on 127.0.0.1:{port}")
        }
        None => {
            write_backups(started, &dir, variant, stand_in_dump(variant).as_bytes())?;
            eprintln!("ready demo: {}", postgres::MISSING);
            "no PostgreSQL".to_string()
        }
    };
    announce(variant, &database, &base, &dir);

    let mut loaded = config::load(&Source::File(dir.join("ready.yaml")), &env, &dir)?;
    if bins.is_none()
        && let Some(db) = loaded.suite.targets.get_mut("db")
    {
        db.state = TargetState::NotConfigured(postgres::MISSING.to_string());
    }
    loaded.suite.secrets.push(webhook_secret);
    check(
        args,
        extra,
        &loaded,
        &env,
        runtime,
        (started_at, clock),
        secrets,
    )
}

/// One line on stderr: what runs where, so that a user can look at it while the checks run.
fn announce(variant: Variant, database: &str, base: &str, dir: &Path) {
    eprintln!(
        "ready demo: a wallet app {} — {database}, its API on {base}, its project in {}; all removed at the end",
        match variant {
            Variant::Holes => "with known holes",
            Variant::Fixed => "with every hole closed",
        },
        dir.display()
    );
}

/// Starts the cluster, applies the variant's migrations, seeds it and dumps it into the
/// backups; returns the wallet database's URL and the port.
fn start_database(
    bins: &postgres::Binaries,
    variant: Variant,
    dir: &Path,
    runtime: &tokio::runtime::Runtime,
    started: &Shared,
) -> anyhow::Result<(String, u16)> {
    let access = {
        // Under the lock: an interruption waits until the server has started, then stops it.
        let mut started = lock(started);
        let cluster = started.cluster.insert(postgres::Cluster::prepare(bins)?);
        cluster
            .start(bins)
            .context("cannot start the demo's PostgreSQL")?;
        cluster.access()
    };
    let migrations = project::migrations(variant);
    runtime
        .block_on(postgres::seed(
            &access,
            &migrations,
            project::applied_migrations(variant),
            project::SEED,
        ))
        .context("cannot seed the demo database")?;
    let dump = match &bins.pg_dump {
        Some(pg_dump) => postgres::dump(pg_dump, &access)?,
        None => stand_in_dump(variant).into_bytes(),
    };
    write_backups(started, dir, variant, &dump)?;
    Ok((access.reader_url(postgres::DATABASE), access.port))
}

/// Files are written under the lock: an interruption removes the folder holding the lock until
/// the process ends, so nothing is written after it.
fn write_backups(
    started: &Shared,
    dir: &Path,
    variant: Variant,
    dump: &[u8],
) -> anyhow::Result<()> {
    let _started = lock(started);
    project::write_backups(dir, variant, dump)
}

/// What the backups hold when there is no pg_dump: the migrations and the seed, as SQL.
fn stand_in_dump(variant: Variant) -> String {
    let mut sql: String = project::migrations(variant).iter().map(|m| m.sql).collect();
    sql.push_str(project::SEED);
    sql
}

/// The rest of `ready check`: run, assemble, report and decide, over the demo's suite.
fn check(
    args: &DemoArgs,
    extra: &[(Format, PathBuf)],
    loaded: &Loaded,
    env: &HashMap<String, String>,
    runtime: tokio::runtime::Runtime,
    (started_at, clock): (chrono::DateTime<chrono::Utc>, Instant),
    secrets: &SharedRedactor,
) -> anyhow::Result<Exit> {
    let suite = &loaded.suite;
    let stage_names: Vec<&str> = suite.stages.iter().map(|s| s.name.as_str()).collect();
    let decision = DecisionArgs::default();
    let goal = goal(&decision, &stage_names, None)?;
    let options = RunOptions {
        progress: !args.no_progress
            && std::io::stderr().is_terminal()
            && std::env::var_os("CI").is_none(),
        ..RunOptions::default()
    };
    secrets.replace(crate::redact::Redactor::new(suite.secrets.clone()));
    let executed = runtime.block_on(runner::execute(loaded, env, &options, secrets));
    // Stops the API and closes the pools before the database is stopped.
    drop(runtime);
    // Findings point at the demo's own migrations, relative to its project folder.
    let folders = crate::locations::folders(suite, &loaded.base_dir, None);
    let locations = crate::locations::Locations::read(&folders, Some(&loaded.base_dir));
    let redactor = evaluate::redactor(suite, &executed);
    secrets.replace(redactor.clone());
    let result = evaluate::assemble(
        executed,
        &Assembly {
            suite,
            options: &options,
            goal,
            started_at,
            duration: clock.elapsed(),
            redactor: &redactor,
            baseline: None,
            locations: &locations,
        },
    );
    emit(
        &result,
        &args.output,
        Format::Table,
        extra,
        &environment(),
        &redactor,
        &[],
    )
}

fn random_hex() -> String {
    let mut bytes = [0u8; 24];
    rand::fill(&mut bytes[..]);
    hex::encode(bytes)
}
