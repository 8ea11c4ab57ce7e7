//! Real parts for the integration tests: one PostgreSQL server per test binary, started from the
//! local server binaries, with one fresh database per test; HTTP servers started in-process.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The superuser password of the test server: tests assert it never shows in any output.
pub const PG_PASSWORD: &str = "Pg-test-s3cret-9f1c";
/// The least-privilege role `ready` connects as by default (docs/least-privilege.md), and its
/// password (a secret as much as the superuser's).
pub const READER: &str = "ready_it_reader";
pub const READER_PASSWORD: &str = "Rd-test-s3cret-4b7e";
/// The role `rls_probe` tests connect as: it may switch to the API roles but does not inherit
/// their rights (PostgreSQL 15 has no per-grant INHERIT FALSE, so the role is NOINHERIT and gets
/// its table rights per database), so no other test sees it as a writer of their tables.
pub const PROBER: &str = "ready_it_prober";

pub struct Postgres {
    pub port: u16,
    _data: tempfile::TempDir,
    /// Closing this pipe (when the test process exits, however it exits) stops the server.
    _watchdog: Mutex<ChildStdin>,
    /// Set once the least-privilege role exists on this server.
    reader: OnceLock<()>,
    /// Set once the `rls_probe` role exists on this server.
    prober: OnceLock<()>,
}

/// A database of its own for one test.
pub struct TestDb {
    pub name: String,
    /// What `ready` connects as: the least-privilege role of docs/least-privilege.md.
    pub url: String,
    /// The superuser: for setting the database up, and for tests that need a superuser.
    pub admin_url: String,
}

static SERVER: OnceLock<Postgres> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// The one server of the test run. pg_cron is preloaded for the `cron_job` tests; it runs in the
/// `postgres` database and records no runs of its own (`cron.log_run=off`), so the run history is
/// exactly what the tests write.
pub fn postgres() -> &'static Postgres {
    SERVER.get_or_init(|| {
        start_cluster(&[
            "shared_preload_libraries=pg_cron",
            "cron.database_name=postgres",
            "cron.log_run=off",
        ])
    })
}

fn pg_bin(name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path().join("bin").join(name)))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions
        .pop()
        .unwrap_or_else(|| panic!("{name} not found on PATH or under /usr/lib/postgresql/*/bin"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// initdb refuses root: under root the server runs as the `postgres` user.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
        ])
        .arg(program);
        c
    } else {
        Command::new(program)
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server of its own, with extra `name=value` settings (e.g. WAL archiving); stopped when the
/// returned value is dropped.
// The server and its watchdog are never waited for: the watchdog stops the server and removes
// its files when the pipe to it closes (the value dropped, or this process gone).
#[allow(clippy::zombie_processes)]
pub fn start_cluster(settings: &[&str]) -> Postgres {
    let data = tempfile::Builder::new()
        .prefix("ready-pg-")
        .tempdir()
        .unwrap();
    let dir = data.path().join("data");
    let pwfile = data.path().join("pw");
    std::fs::write(&pwfile, PG_PASSWORD).unwrap();
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(data.path())
            .status()
            .unwrap();
        assert!(status.success());
        Command::new("chmod")
            .arg("755")
            .arg(data.path())
            .status()
            .unwrap();
    }
    let out = as_server_user(&pg_bin("initdb"))
        .arg("-D")
        .arg(&dir)
        .args([
            "-U",
            "postgres",
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ])
        .arg(format!("--pwfile={}", pwfile.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let port = free_port();
    let server: Child = as_server_user(&pg_bin("postgres"))
        .arg("-D")
        .arg(&dir)
        .args([
            "-p",
            &port.to_string(),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "unix_socket_directories=",
        ])
        .args([
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
        ])
        .args(settings.iter().flat_map(|s| ["-c", s]))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let watchdog = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "read _; kill -INT {pid}; i=0; while kill -0 {pid} 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; \
             kill -KILL {pid} 2>/dev/null; rm -rf '{dir}'",
            pid = server.id(),
            dir = data.path().display()
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let pg = Postgres {
        port,
        _data: data,
        _watchdog: Mutex::new(watchdog.stdin.unwrap()),
        reader: OnceLock::new(),
        prober: OnceLock::new(),
    };
    while Instant::now() < deadline {
        if pg.exec_admin("SELECT 1").is_ok() {
            return pg;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("PostgreSQL did not start on port {port}");
}

impl Postgres {
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres:{PG_PASSWORD}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    fn exec_admin(&self, sql: &str) -> Result<(), String> {
        exec(&self.url("postgres"), sql)
    }

    /// A new database, with `schema` (any SQL) applied.
    pub fn fresh_db(&self, schema: &str) -> TestDb {
        let name = format!(
            "t{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::SeqCst)
        );
        self.exec_admin(&format!("CREATE DATABASE {name}")).unwrap();
        let admin_url = self.url(&name);
        if !schema.trim().is_empty() {
            exec(&admin_url, schema).unwrap_or_else(|e| panic!("schema failed: {e}"));
        }
        TestDb {
            url: self.reader_url(&name),
            name,
            admin_url,
        }
    }

    /// A URL for `ready` as the least-privilege role (`READER`), created on first use.
    pub fn reader_url(&self, database: &str) -> String {
        self.reader.get_or_init(|| self.create_reader());
        format!(
            "postgres://{READER}:{READER_PASSWORD}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    /// The role of docs/least-privilege.sql (that very file, under the test's role name), with
    /// BYPASSRLS so that it reads the rows the superuser these tests were written for read
    /// (docs/least-privilege.md, caveats). `audit_log`'s fire test needs UPDATE on the audited
    /// tables: the tests that fire it grant that per database.
    fn create_reader(&self) {
        let recipe = include_str!("../../docs/least-privilege.sql").replace("ready_checks", READER);
        self.exec_admin(&recipe).unwrap();
        self.exec_admin(&format!(
            "ALTER ROLE {READER} BYPASSRLS PASSWORD '{READER_PASSWORD}'"
        ))
        .unwrap();
    }

    /// A URL for `rls_probe` (`PROBER`, created on first use): a member of the API roles, so
    /// that it may `SET ROLE` to them; its rights on the probed tables are granted per database
    /// by the caller.
    pub fn prober_url(&self, database: &str) -> String {
        self.prober.get_or_init(|| {
            self.exec_admin(&format!(
                "CREATE ROLE {PROBER} LOGIN NOINHERIT BYPASSRLS PASSWORD '{READER_PASSWORD}';
                 DO $$ BEGIN CREATE ROLE anon NOLOGIN NOINHERIT; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
                 DO $$ BEGIN CREATE ROLE authenticated NOLOGIN NOINHERIT; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
                 GRANT anon, authenticated TO {PROBER};"
            ))
            .unwrap();
        });
        format!(
            "postgres://{PROBER}:{READER_PASSWORD}@127.0.0.1:{}/{database}",
            self.port
        )
    }
}

/// Runs SQL (several statements allowed) against a database.
pub fn exec(url: &str, sql: &str) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url)
            .await
            .map_err(|e| e.to_string())?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        conn.close().await.map_err(|e| e.to_string())
    })
}

/// Reads one text value.
pub fn query_text(url: &str, sql: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        let value: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        value
    })
}

/// An HTTP server running in-process on its own thread and runtime, for as long as the test.
pub struct HttpServer {
    pub base: String,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

pub fn http_server(app: axum::Router) -> HttpServer {
    let (tx, rx) = std::sync::mpsc::channel();
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = shutdown_rx.await;
                })
                .await
                .unwrap();
        });
    });
    let addr = rx.recv().unwrap();
    HttpServer {
        base: format!("http://{addr}"),
        _shutdown: shutdown_tx,
    }
}

/// A project directory with a `ready.yaml` (and any other files) for CLI tests.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new(config: &str) -> Project {
        let dir = tempfile::Builder::new()
            .prefix("ready-project-")
            .tempdir()
            .unwrap();
        std::fs::write(dir.path().join("ready.yaml"), config).unwrap();
        Project { dir }
    }

    pub fn write(&self, path: &str, text: &str) -> &Project {
        let full = self.dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::File::create(full)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        self
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `ready ARGS…` run in the project directory, with a clean environment plus `env`.
    pub fn ready(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ready"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// `ready check --format json` in a project: the run must reach a decision (exit 0 or 1, not a
/// configuration or internal error), and its result must match the result schema.
pub fn check_json(project: &Project) -> serde_json::Value {
    let run = project.ready(&["check", "--format", "json"], &[]);
    assert!(
        run.code == 0 || run.code == 1,
        "exit {}: {}\n{}",
        run.code,
        run.stdout,
        run.stderr
    );
    let result = run.json();
    assert_valid_result(&result);
    result
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

/// The `FILE:LINE:COL: message [code]` lines of `ready validate`, without the source snippets
/// under them.
pub fn diagnostic_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with(' '))
        .filter(|l| {
            l.split_once(" |")
                .is_none_or(|(n, _)| n.trim().parse::<u32>().is_err())
        })
        .collect()
}

/// Validates a JSON result against the schema `ready schema result` prints.
pub fn assert_valid_result(result: &serde_json::Value) {
    let schema = ready::result::json_schema();
    let validator = jsonschema::validator_for(&schema).expect("the result schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(result)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "result does not match its schema: {errors:#?}"
    );
}

/// The status of one check in a JSON result.
pub fn status_of<'a>(result: &'a serde_json::Value, id: &str) -> &'a str {
    check_of(result, id)["status"].as_str().unwrap()
}

pub fn check_of<'a>(result: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}
