//! Peak memory of the `ready` binary (goal: under 64 MB each) for one `http` check against a
//! server streaming a 100 MB body, one `sql` check returning 1,000,000 rows, one `command` check
//! printing 300 MB, and a suite of 1,000 checks.
//!
//! Run: `cargo bench --bench memory`. Each case runs `ready check` under `/usr/bin/time -f %M`
//! (peak resident set size of that process alone); the test servers run in this process or as
//! their own processes and are not counted. PostgreSQL is a throwaway cluster started from the
//! local server binaries (as the `postgres` user when run as root), like the integration tests.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BODY_BYTES: usize = 100 * 1024 * 1024;
const GOAL_KIB: u64 = 64 * 1000;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let base = runtime.block_on(http_server());
    let pg = Cluster::start();
    let cases = [
        ("http check, 100 MB body", http_suite(&base)),
        ("sql check, 1,000,000 rows", sql_suite(&pg.url())),
        ("command check, 300 MB of output", command_suite()),
        ("1,000 checks", thousand_checks(&base)),
    ];
    let mut over = Vec::new();
    for (name, suite) in cases {
        let (kib, elapsed) = peak_rss(&suite);
        println!(
            "{name}: peak RSS {:.1} MiB, {:.2} s",
            kib as f64 / 1024.0,
            elapsed.as_secs_f64()
        );
        if kib > GOAL_KIB {
            over.push(name);
        }
    }
    assert!(over.is_empty(), "over 64 MB: {over:?}");
}

/// `/big` streams `BODY_BYTES` of JSON-ish text in 64 KiB chunks; `/work` answers at once.
async fn http_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let big = || async {
        let chunk = bytes_of(b'x', 64 * 1024);
        let chunks = BODY_BYTES / chunk.len();
        let stream =
            futures::stream::iter((0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
        axum::body::Body::from_stream(stream)
    };
    let app = axum::Router::new()
        .route("/big", axum::routing::get(big))
        .route(
            "/work",
            axum::routing::get(|| async { axum::Json(serde_json::json!({"status": "up"})) }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

fn bytes_of(byte: u8, len: usize) -> axum::body::Bytes {
    axum::body::Bytes::from(vec![byte; len])
}

fn http_suite(base: &str) -> String {
    format!(
        "targets:\n  api: {{ http: \"{base}\" }}\nchecks:\n  - id: big\n    category: reliability\n    severity: medium\n    target: api\n    timeout: 60s\n    http: {{ path: /big, expect: {{ status: 200, body_contains: never-there }} }}\n"
    )
}

fn sql_suite(url: &str) -> String {
    format!(
        "targets:\n  db: {{ postgres: \"{url}\" }}\nchecks:\n  - id: rows\n    category: reliability\n    severity: medium\n    target: db\n    timeout: 120s\n    sql: {{ query: \"select g from generate_series(1,1000000) g\" }}\n"
    )
}

fn command_suite() -> String {
    "checks:\n  - id: loud\n    category: reliability\n    severity: medium\n    timeout: 60s\n    command: { run: [sh, -c, \"head -c 300000000 /dev/zero | tr '\\\\0' x; echo; echo done\"], stdout_contains: done }\n".to_string()
}

/// 400 `http` checks against `/work` (64 at a time), 300 `env` and 300 `file` checks.
fn thousand_checks(base: &str) -> String {
    let mut config = format!(
        "targets:\n  api: {{ http: \"{base}\", concurrency: 64 }}\ndefaults: {{ concurrency: 64 }}\nchecks:\n"
    );
    for i in 0..1000 {
        let (kind, params, target) = match i % 10 {
            0..=3 => (
                "http",
                "{ path: /work, expect: { json: { /status: up } } }",
                "    target: api\n",
            ),
            4..=6 => ("env", "{ vars: [HOME] }", ""),
            _ => ("file", "{ path: ready.yaml, contains: [checks] }", ""),
        };
        let _ = write!(
            config,
            "  - id: c{i}\n    category: reliability\n    severity: medium\n{target}    {kind}: {params}\n"
        );
    }
    config
}

/// Runs `ready check` on the suite under `/usr/bin/time` and returns its peak RSS in KiB.
fn peak_rss(suite: &str) -> (u64, Duration) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("ready.yaml"), suite).expect("write suite");
    let rss_file = dir.path().join("rss");
    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(&rss_file)
        .arg(env!("CARGO_BIN_EXE_ready"))
        .args(["check", "--format", "json"])
        .current_dir(dir.path())
        .output()
        .expect("/usr/bin/time runs (apt-get install time)");
    let elapsed = started.elapsed();
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "ready printed no result ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let errors = result["counts"]["error"].as_u64().unwrap_or(0);
    assert_eq!(errors, 0, "a check could not run: {result}");
    let kib = std::fs::read_to_string(&rss_file).expect("time wrote the peak RSS");
    let kib = kib.lines().last().unwrap_or_default().trim().parse();
    (kib.expect("a number of KiB"), elapsed)
}

/// A PostgreSQL cluster of its own, stopped on drop.
struct Cluster {
    port: u16,
    server: Child,
    _data: tempfile::TempDir,
}

const PASSWORD: &str = "bench-pw-71c";

impl Cluster {
    fn start() -> Cluster {
        let data = tempfile::tempdir().expect("temp dir");
        let dir = data.path().join("data");
        let pwfile = data.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).expect("write password file");
        if is_root() {
            run(Command::new("chown")
                .arg("-R")
                .arg("postgres:postgres")
                .arg(data.path()));
        }
        run(as_server_user(&pg_bin("initdb"))
            .arg("-D")
            .arg(&dir)
            .args(["-U", "postgres", "--auth-host=scram-sha-256", "--no-sync"])
            .arg(format!("--pwfile={}", pwfile.display())));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let server = as_server_user(&pg_bin("postgres"))
            .arg("-D")
            .arg(&dir)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "unix_socket_directories=", "-c", "fsync=off"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("postgres starts");
        let cluster = Cluster {
            port,
            server,
            _data: data,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "PostgreSQL did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        // Accepting connections comes a moment after listening.
        std::thread::sleep(Duration::from_secs(1));
        cluster
    }

    fn url(&self) -> String {
        format!(
            "postgres://postgres:{PASSWORD}@127.0.0.1:{}/postgres",
            self.port
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the server's own pid; it touches no memory.
        unsafe {
            libc::kill(self.server.id() as libc::pid_t, libc::SIGINT);
        }
        let _ = self.server.wait();
    }
}

fn run(command: &mut Command) {
    let out = command.output().expect("command runs");
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn is_root() -> bool {
    // SAFETY: geteuid(2) has no preconditions.
    unsafe { libc::geteuid() == 0 }
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

/// A PostgreSQL server binary from PATH, else the newest under /usr/lib/postgresql.
fn pg_bin(name: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    on_path.unwrap_or_else(|| {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path().join("bin").join(name)))
                    .filter(|p| p.is_file())
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
            .pop()
            .unwrap_or_else(|| panic!("{name} not found on PATH or under /usr/lib/postgresql"))
    })
}
