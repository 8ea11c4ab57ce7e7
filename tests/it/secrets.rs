//! `secret` and `default_credentials` against real values, a real Redis and a real PostgreSQL,
//! and the guarantee that no value these kinds read reaches any output.

use crate::common;

use crate::common::{Project, check_of};

pub(crate) fn check(id: &str, kind: &str, params: &str) -> String {
    format!("  - id: {id}\n    category: security\n    severity: critical\n    {kind}: {params}\n")
}

pub(crate) fn project(checks: &[String]) -> Project {
    Project::new(&format!(
        "version: 1\nproject: secrets\nchecks:\n{}",
        checks.concat()
    ))
}

const STRONG: &str = "q3Jx9Lw0ZbT7uYkP2mVfR8sHcNd5GaEo1iKtXyWzQe4";

#[test]
fn secrets_are_checked_from_env_dotenv_and_files() {
    let p = project(&[
        check(
            "strong",
            "secret",
            "{ from: env:JWT_SECRET, alg: HS256, min_bytes: 32, min_entropy_bits: 128 }",
        ),
        check(
            "tutorial",
            "secret",
            "{ from: env:TUTORIAL_SECRET, alg: HS256 }",
        ),
        check("missing", "secret", "{ from: env:NOT_SET }"),
        check("empty", "secret", "{ from: env:EMPTY }"),
        check(
            "dotenv-default",
            "secret",
            "{ from: \"dotenv:.env#DB_PASSWORD\", min_bytes: 4, min_entropy_bits: 0 }",
        ),
        check(
            "dotenv-missing-file",
            "secret",
            "{ from: \"dotenv:nope.env#X\" }",
        ),
        check(
            "file-short-hs512",
            "secret",
            "{ from: file:run/secrets/signing_key, alg: HS512 }",
        ),
        check(
            "denied",
            "secret",
            "{ from: env:MINIO_SECRET_KEY, deny: [\"Old-Rotated-Key-2024-xyz!\"], min_entropy_bits: 0 }",
        ),
        check(
            "refresh",
            "secret",
            "{ from: env:REFRESH_SECRET, distinct_from: [env:JWT_SECRET, \"dotenv:.env#DB_PASSWORD\"] }",
        ),
        check("repeated", "secret", "{ from: env:REPEATED }"),
    ]);
    p.write(".env", "# database\nDB_PASSWORD=\"Postgres\"\nOTHER=1\n");
    p.write("run/secrets/signing_key", &format!("{STRONG}\n"));
    let env = [
        ("JWT_SECRET", STRONG),
        ("TUTORIAL_SECRET", "your-256-bit-secret"),
        ("EMPTY", ""),
        ("MINIO_SECRET_KEY", "old-rotated-key-2024-XYZ!"),
        ("REFRESH_SECRET", STRONG),
        ("REPEATED", "Ab3$Ab3$Ab3$Ab3$Ab3$Ab3$Ab3$Ab3$"),
    ];
    let run = p.ready(&["check", "--format", "json"], &env);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let result = run.json();
    common::assert_valid_result(&result);
    let messages = |id: &str| -> Vec<String> {
        check_of(&result, id)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["message"].as_str().unwrap().to_string())
            .collect()
    };
    let strong = check_of(&result, "strong");
    assert_eq!(strong["status"], "pass", "{strong}");
    assert_eq!(strong["measurements"]["length_bytes"], 43.0);
    assert!(
        strong["message"]
            .as_str()
            .unwrap()
            .starts_with("env:JWT_SECRET: 43 bytes, ~"),
        "{strong}"
    );
    assert_eq!(
        messages("tutorial"),
        [
            "env:TUTORIAL_SECRET is 19 bytes; HS256 needs a key of at least 32 bytes (RFC 7518 §3.2)",
            "env:TUTORIAL_SECRET is a well-known default value (value not shown)",
        ]
    );
    assert_eq!(messages("missing"), ["env:NOT_SET is not set"]);
    assert_eq!(messages("empty"), ["env:EMPTY is set but empty"]);
    assert_eq!(
        messages("dotenv-default"),
        ["dotenv:.env#DB_PASSWORD is a well-known default value (value not shown)"]
    );
    assert_eq!(
        messages("dotenv-missing-file"),
        ["dotenv:nope.env#X is not set"]
    );
    assert_eq!(
        messages("file-short-hs512"),
        [
            "file:run/secrets/signing_key is 43 bytes; HS512 needs a key of at least 64 bytes (RFC 7518 §3.2)"
        ]
    );
    assert_eq!(
        messages("denied"),
        ["env:MINIO_SECRET_KEY equals a value listed in `deny` (value not shown)"]
    );
    assert_eq!(
        messages("refresh"),
        ["env:REFRESH_SECRET is the same value as env:JWT_SECRET"]
    );
    // 32 bytes, but one 4-character block repeated: the block counts once.
    assert_eq!(
        messages("repeated"),
        ["env:REPEATED has an estimated 26 bits of entropy, below the required 64"]
    );
    for (_, value) in env.iter().filter(|(_, v)| v.len() >= 4) {
        assert!(
            !run.stdout.contains(value) && !run.stderr.contains(value),
            "{value} leaked"
        );
    }
}

/// A real redis-server on a free loopback port, stopped when dropped.
pub(crate) struct Redis {
    pub(crate) port: u16,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn redis(args: &[&str]) -> Redis {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let child = std::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(dir.path())
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("redis-server is installed (.ci/run installs it)");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "redis-server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Redis {
        port,
        child,
        _dir: dir,
    }
}

/// The AUTH commands the server executed, not counting the one `redis-cli` sends to ask.
fn auth_commands_seen(server: &Redis, password: &str) -> u64 {
    let out = std::process::Command::new("redis-cli")
        .args([
            "-p",
            &server.port.to_string(),
            "--no-auth-warning",
            "-a",
            password,
        ])
        .args(["INFO", "commandstats"])
        .output()
        .expect("redis-cli is installed");
    let stats = String::from_utf8_lossy(&out.stdout);
    let calls = stats
        .lines()
        .find_map(|l| l.strip_prefix("cmdstat_auth:calls="))
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("no AUTH statistics in {stats}"));
    calls.parse::<u64>().unwrap() - 1
}

const REDIS_PASSWORD: &str = "Rd-9c1f-unguessable-7Qx";

#[test]
fn redis_open_default_and_protected() {
    let open = redis(&["--protected-mode", "no"]);
    let default = redis(&["--requirepass", "foobared"]);
    let protected = redis(&["--requirepass", REDIS_PASSWORD]);
    let custom = redis(&["--requirepass", "Winter2024!"]);
    let p = project(&[
        check(
            "open",
            "default_credentials",
            &format!("{{ redis: \"127.0.0.1:{}\" }}", open.port),
        ),
        check(
            "default",
            "default_credentials",
            &format!("{{ redis: \"127.0.0.1:{}\" }}", default.port),
        ),
        check(
            "protected",
            "default_credentials",
            &format!("{{ redis: \"127.0.0.1:{}\" }}", protected.port),
        ),
        check(
            "custom-list",
            "default_credentials",
            &format!(
                "{{ redis: \"127.0.0.1:{}\", passwords: [\"Summer2024!\", \"Winter2024!\"] }}",
                custom.port
            ),
        ),
        check(
            "down",
            "default_credentials",
            &format!("{{ redis: \"127.0.0.1:{}\" }}", common::free_port()),
        ),
    ]);
    let run = p.ready(&["check", "--format", "json"], &[]);
    let result = run.json();
    common::assert_valid_result(&result);
    let expect = |id: &str, status: &str, message: String| {
        let c = check_of(&result, id);
        assert_eq!(
            (
                c["status"].as_str().unwrap(),
                c["message"].as_str().unwrap()
            ),
            (status, message.as_str()),
            "{id}"
        );
    };
    expect(
        "open",
        "fail",
        format!(
            "Redis at 127.0.0.1:{} answers PING without a password: anyone who reaches it can read and change every key",
            open.port
        ),
    );
    expect(
        "default",
        "fail",
        format!(
            "Redis at 127.0.0.1:{} accepts a well-known password (#1 of the 7 tried; value not shown)",
            default.port
        ),
    );
    expect(
        "protected",
        "pass",
        format!(
            "Redis at 127.0.0.1:{} requires a password and refused 7 well-known one(s)",
            protected.port
        ),
    );
    expect(
        "custom-list",
        "fail",
        format!(
            "Redis at 127.0.0.1:{} accepts a well-known password (#2 of the 2 tried; value not shown)",
            custom.port
        ),
    );
    for (id, server, password) in [
        ("default", &default, "foobared"),
        ("protected", &protected, REDIS_PASSWORD),
        ("custom-list", &custom, "Winter2024!"),
    ] {
        assert_eq!(
            check_of(&result, id)["measurements"]["attempts"],
            serde_json::json!(auth_commands_seen(server, password) as f64),
            "{id}"
        );
    }
    let down = check_of(&result, "down");
    assert_eq!(down["status"], "error");
    assert!(
        down["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot connect to Redis at 127.0.0.1:"),
        "{down}"
    );
    for secret in ["Winter2024!", "foobared", REDIS_PASSWORD] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{secret} shown"
        );
    }
}

#[test]
fn postgres_logins_with_default_passwords_are_named() {
    let pg = common::postgres();
    let role = format!("app_{}", std::process::id());
    common::exec(&pg.url("postgres"), &format!("CREATE ROLE {role} LOGIN PASSWORD 'postgres'; CREATE ROLE {role}_ok LOGIN PASSWORD 'Zq8-long-and-random-4f2'; CREATE ROLE {role}_cm LOGIN PASSWORD 'changeme'")).unwrap();
    let address = format!("127.0.0.1:{}", pg.port);
    let p = Project::new(&format!(
        "version: 1\ntargets:\n  db: {{ postgres: \"postgres://{role}_cm:changeme@{address}/postgres\" }}\nchecks:\n{}{}{}{}{}",
        check(
            "superuser",
            "default_credentials",
            &format!("{{ postgres: \"{address}\" }}"),
        ),
        check(
            "app",
            "default_credentials",
            &format!("{{ postgres: \"{address}\", users: [{role}_ok, {role}] }}"),
        ),
        check(
            "down",
            "default_credentials",
            &format!("{{ postgres: \"127.0.0.1:{}\" }}", common::free_port()),
        ),
        "  - id: target\n    category: security\n    severity: critical\n    target: db\n    default_credentials: { postgres: true }\n",
        check(
            "url-user",
            "default_credentials",
            &format!("{{ postgres: \"postgres://{role}:not-this-one@{address}/postgres\" }}"),
        ),
    ));
    let run = p.ready(&["check", "--format", "json"], &[]);
    let result = run.json();
    common::assert_valid_result(&result);
    let target = check_of(&result, "target");
    assert_eq!(target["status"], "fail", "{target}");
    assert_eq!(
        target["message"],
        format!(
            "PostgreSQL at {address} lets `{role}_cm` log in with a well-known password (#4 of the 5 tried; value not shown)"
        )
    );
    assert!(!run.stdout.contains("changeme"));
    let url_user = check_of(&result, "url-user");
    assert_eq!(url_user["status"], "fail", "{url_user}");
    assert_eq!(
        url_user["findings"][0]["subject"],
        format!("postgres:{address}/{role}")
    );
    let superuser = check_of(&result, "superuser");
    assert_eq!(superuser["status"], "pass", "{superuser}");
    assert_eq!(
        superuser["message"],
        format!(
            "PostgreSQL at {address} refused `postgres` without a password and with 5 well-known password(s)"
        )
    );
    assert_eq!(superuser["measurements"]["attempts"], 6.0);
    let app = check_of(&result, "app");
    assert_eq!(app["status"], "fail");
    assert_eq!(
        app["findings"],
        serde_json::json!([{
            "subject": format!("postgres:{address}/{role}"),
            "message": format!("PostgreSQL at {address} lets `{role}` log in with a well-known password (#1 of the 5 tried; value not shown)"),
            "level": "fail", "fingerprint": format!("app:postgres:{address}/{role}"), "waived": false, "evidence": null
        }])
    );
    let down = check_of(&result, "down");
    assert_eq!(down["status"], "error");
    assert!(
        down["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot connect to PostgreSQL at 127.0.0.1:"),
        "{down}"
    );
}

/// A credentials probe goes over the network, where a refusal may be transient: `retries`
/// applies to it as to every network probe.
#[test]
fn credential_probes_retry() {
    let down = check(
        "down",
        "default_credentials",
        &format!("{{ redis: \"127.0.0.1:{}\" }}", common::free_port()),
    );
    let run =
        project(&[down + "    retries: 1\n"]).ready(&["check", "--format", "json", "-v"], &[]);
    assert_eq!(check_of(&run.json(), "down")["status"], "error");
    assert!(run.stderr.contains("retrying"), "{}", run.stderr);
}

/// `postgres: true` adds the target's user, which validation cannot see: the cap holds before
/// the first login all the same.
#[test]
fn the_target_user_counts_towards_the_login_cap() {
    let pg = common::postgres();
    let p = Project::new(&format!(
        "version: 1\ntargets:\n  db: {{ postgres: \"{}\" }}\nchecks:\n  - id: target\n    category: security\n    severity: critical\n    target: db\n    default_credentials: {{ postgres: true, users: [nobody_a, nobody_b] }}\n",
        pg.url("postgres")
    ));
    let run = p.ready(&["check", "--format", "json"], &[]);
    let target = check_of(&run.json(), "target").clone();
    assert_eq!(
        (target["status"].as_str(), target["message"].as_str()),
        (
            Some("error"),
            Some(
                "18 login attempts: at most 12 are allowed (attempts can lock accounts); list fewer users or passwords"
            )
        ),
        "{target}"
    );
}

#[test]
fn attempts_are_bounded_at_validation() {
    let p = project(&[check(
        "many",
        "default_credentials",
        "{ postgres: \"db:5432\", users: [a, b, c], passwords: [p1, p2, p3, p4] }",
    )]);
    let run = p.ready(&["validate"], &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("15 login attempts: at most 12 are allowed"),
        "{}",
        run.stderr
    );
}

/// Every kind runs with secrets in the environment, in a dotenv file, in a mounted file and in
/// the target URL; commands, queries and HTTP bodies echo them back. None may reach stdout,
/// stderr (with -v), the JSON or the table report.
#[test]
fn no_secret_value_reaches_any_output() {
    use axum::routing::get;
    const JWT: &str = "Leak-Jwt-7f3a9c2e51d84b6f0a1e2d3c4b5a6978";
    const REFRESH: &str = "Leak-Refresh-4c1d";
    const DOTENV: &str = "Leak-Dotenv-88e1b0";
    const MOUNTED: &str = "Leak-Mounted-5a5a5a";
    const REDIS_PW: &str = "Leak-Redis-91x";
    let db = common::postgres().fresh_db("CREATE TABLE t (x int);");
    let app = axum::Router::new().route(
        "/",
        get(|| async {
            (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                format!("debug: jwt={JWT} refresh={REFRESH}"),
            )
        }),
    );
    let server = common::http_server(app);
    let redis = redis(&["--requirepass", REDIS_PW]);
    let checks = [
        check("secret-jwt", "secret", "{ from: env:JWT_SECRET, distinct_from: [env:REFRESH_SECRET] }"),
        check("secret-refresh", "secret", "{ from: env:REFRESH_SECRET, alg: HS512 }"),
        check("secret-dotenv", "secret", "{ from: \"dotenv:.env#API_KEY\" }"),
        check("secret-file", "secret", "{ from: file:secrets/key }"),
        check("env", "env", "{ vars: [JWT_SECRET], match: { REFRESH_SECRET: \"^nope$\" } }"),
        check("file", "file", "{ path: .env, contains: [\"API_KEY=\"] }"),
        check("command", "command", "{ run: [sh, -c, \"echo $JWT_SECRET $REFRESH_SECRET; cat .env secrets/key >&2; exit 3\"] }"),
        check("coverage", "coverage", "{ report: secrets/key, min_lines: 50 }"),
        check("backup", "backup", "{ dir: secrets, verify: pg_restore }"),
        check("redis", "default_credentials", &format!("{{ redis: \"redis://:{REDIS_PW}@127.0.0.1:{}\", passwords: [\"${{REDIS_PASSWORD}}\"] }}", redis.port)),
        check("http", "http", &format!("{{ url: \"{}/\", expect: {{ status: 200 }} }}", server.base)),
        "  - id: sql\n    category: security\n    severity: high\n    target: db\n    sql: { query: \"SELECT '${JWT_SECRET}' AS leak, '${REFRESH_SECRET}' AS refresh\" }\n".to_string(),
    ];
    let p = Project::new(&format!(
        "version: 1\nproject: leaks\ntargets:\n  db: {{ postgres: \"{}\" }}\nchecks:\n{}",
        db.url,
        checks.concat()
    ));
    p.write(".env", &format!("API_KEY={DOTENV}\n"));
    p.write("secrets/key", &format!("{MOUNTED}\n"));
    let env = [
        ("JWT_SECRET", JWT),
        ("REFRESH_SECRET", REFRESH),
        ("REDIS_PASSWORD", REDIS_PW),
    ];
    let json = p.ready(
        &[
            "check",
            "--format",
            "json",
            "-v",
            "--report",
            "table=out/report.txt",
            "--report",
            "json=out/result.json",
            "--report",
            "markdown=out/report.md",
            "--report",
            "junit=out/report.xml",
            "--report",
            "github=out/annotations.txt",
        ],
        &env,
    );
    let table = p.ready(
        &["check", "--format", "table", "--color", "always", "-v"],
        &env,
    );
    let result = json.json();
    common::assert_valid_result(&result);
    for id in ["secret-refresh", "env", "command", "http", "sql", "redis"] {
        assert_eq!(
            common::status_of(&result, id),
            "fail",
            "{id}: {}",
            check_of(&result, id)
        );
    }
    assert!(
        check_of(&result, "command")["findings"][0]["evidence"]["stdout"]
            .as_str()
            .unwrap()
            .contains("***")
    );
    let reports = [
        ("json stdout", json.stdout.clone()),
        ("json stderr", json.stderr.clone()),
        ("table stdout", table.stdout.clone()),
        ("table stderr", table.stderr.clone()),
        (
            "table report",
            std::fs::read_to_string(p.path("out/report.txt")).unwrap(),
        ),
        (
            "json report",
            std::fs::read_to_string(p.path("out/result.json")).unwrap(),
        ),
        (
            "markdown report",
            std::fs::read_to_string(p.path("out/report.md")).unwrap(),
        ),
        (
            "junit report",
            std::fs::read_to_string(p.path("out/report.xml")).unwrap(),
        ),
        (
            "github annotations",
            std::fs::read_to_string(p.path("out/annotations.txt")).unwrap(),
        ),
        (
            "re-rendered markdown",
            p.ready(&["report", "out/result.json", "--format", "markdown"], &[])
                .stdout,
        ),
    ];
    for (name, text) in &reports {
        assert!(
            !text.is_empty() || name.ends_with("stderr"),
            "{name} is empty"
        );
        for secret in [JWT, REFRESH, DOTENV, MOUNTED, REDIS_PW, common::PG_PASSWORD] {
            assert!(
                !text.contains(secret),
                "{secret} appears in the {name}:\n{text}"
            );
        }
    }
}

#[test]
fn built_in_suite_checks_secrets_and_backups() {
    let db = common::postgres().fresh_db("");
    let p = Project::new("");
    std::fs::remove_file(p.path("ready.yaml")).unwrap();
    std::fs::create_dir_all(p.path("backups")).unwrap();
    let backups = p.path("backups").display().to_string();
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("JWT_SECRET", STRONG),
        ("READY_BACKUP_DIR", backups.as_str()),
    ];
    let run = p.ready(
        &[
            "check",
            "--format",
            "json",
            "--only",
            "tag:secrets",
            "--only",
            "tag:backups",
        ],
        &env,
    );
    let result = run.json();
    common::assert_valid_result(&result);
    let status = |id: &str| {
        (
            common::status_of(&result, id).to_string(),
            check_of(&result, id)["message"]
                .as_str()
                .unwrap()
                .to_string(),
        )
    };
    assert_eq!(status("secrets.jwt-secret").0, "pass");
    assert_eq!(
        status("secrets.postgres-default-login").0,
        "pass",
        "{:?}",
        status("secrets.postgres-default-login")
    );
    assert_eq!(
        status("backups.wal-archiving"),
        (
            "fail".into(),
            "archive_mode is off: WAL is not archived, point-in-time recovery is impossible".into()
        )
    );
    assert_eq!(
        status("backups.nightly-dumps"),
        ("fail".into(), format!("no backup in {backups} matches `*`"))
    );
    assert!(!run.stdout.contains(STRONG) && !run.stdout.contains(common::PG_PASSWORD));
}

/// dotenvy reads the file; a line it cannot read is an error naming the file and the line, and
/// the value on that line reaches no output.
#[test]
fn unreadable_dotenv_lines_are_errors_that_quote_nothing() {
    const LEAKED: &str = "Dotenv-Line-Secret-81c2f0";
    let p = project(&[
        check("quoted", "secret", "{ from: \"dotenv:.env.quoted#KEY\" }"),
        check("broken", "secret", "{ from: \"dotenv:.env.broken#KEY\" }"),
    ]);
    p.write(".env.quoted", &format!("export KEY='{STRONG}' # rotated\n"));
    p.write(
        ".env.broken",
        &format!("KEY={STRONG}\nnot an assignment {LEAKED}\n"),
    );
    let run = p.ready(&["check", "--format", "json", "-v"], &[]);
    let result = run.json();
    assert_eq!(check_of(&result, "quoted")["status"], "pass", "{result}");
    assert_eq!(check_of(&result, "broken")["status"], "error");
    assert_eq!(
        check_of(&result, "broken")["message"],
        ".env.broken: line 2 is not a dotenv assignment (NAME=value)"
    );
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains(LEAKED) && !text.contains(STRONG), "{text}");
    }
}
