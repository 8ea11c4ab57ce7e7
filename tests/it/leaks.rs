//! The leak battery (SPEC §6): secrets full of characters that change under encoding sit in
//! passwords, headers, URL userinfo, `secret` values, command output and an echoing server's body.
//! Every format, every `--report`, `report` re-rendering, the GitHub step summary, `-v` and
//! `RUST_LOG=trace` are searched for every 6-character piece of every secret in every encoding a
//! text we print may carry.

use std::collections::HashMap;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use base64::Engine;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::common::{self, Project, check_of, status_of};

// Letters between the special characters keep every 6-character window distinctive.
const DB_PASSWORD: &str = "Pg7\"Abq\\Cd9<Efw&Gh%Jkx+Lm Npy-ü8Qr";
const WRONG_DB_PASSWORD: &str = "Wr0\"ngz\\Pw4<Xyv&Kk%Ttu+Oo Ddf-é1Zz";
const API_KEY: &str = "Hk4\"Tyr\\Ui8<Opn&As%Dfm+Gh Jkl-5Lzq";
const BASIC_PASSWORD: &str = "Bw3\"Xcs\\Vb6<Nmd&Qw%Erf+Ty Uig-ö2Op";
const JWT_SECRET: &str = "Jw5\"Rtb\\Yu7<Ioc&Pa%Sdh+Fg Hjv-ß9Kl";
const DOTENV_TOKEN: &str = "Dv6\"Wxa\\Ce8<Vrk&Bt%Nyj+Mu Ikt-ñ3Ol";

const FORMATS: &[&str] = &[
    "table", "json", "markdown", "junit", "github", "sarif", "html",
];

/// How one character of a secret reads in one encoding, and whether that piece is the character
/// itself (a window needs three of those to be distinctive: `&quot;` alone is not a leak).
type Encoder = fn(char) -> (String, bool);

fn literal(c: char) -> (String, bool) {
    (c.to_string(), true)
}

fn json(c: char) -> (String, bool) {
    match c {
        '"' => ("\\\"".into(), false),
        '\\' => ("\\\\".into(), false),
        _ => literal(c),
    }
}

fn json_in_json(c: char) -> (String, bool) {
    match c {
        '"' => ("\\\\\\\"".into(), false),
        '\\' => ("\\\\\\\\".into(), false),
        _ => literal(c),
    }
}

fn json_ascii(c: char) -> (String, bool) {
    if c.is_ascii() {
        json(c)
    } else {
        (format!("\\u{:04x}", c as u32), false)
    }
}

fn html(c: char) -> (String, bool) {
    match c {
        '&' => ("&amp;".into(), false),
        '<' => ("&lt;".into(), false),
        '>' => ("&gt;".into(), false),
        '"' => ("&quot;".into(), false),
        '\'' => ("&#39;".into(), false),
        _ => literal(c),
    }
}

fn html_numeric(c: char) -> (String, bool) {
    match c {
        '&' | '<' | '>' | '"' | '\'' => (format!("&#{};", c as u32), false),
        _ => literal(c),
    }
}

fn html_hex(c: char) -> (String, bool) {
    match c {
        '&' | '<' | '>' | '"' | '\'' => (format!("&#x{:x};", c as u32), false),
        _ => literal(c),
    }
}

fn percent(c: char) -> (String, bool) {
    if c.is_ascii_alphanumeric() {
        literal(c)
    } else {
        (
            utf8_percent_encode(&c.to_string(), NON_ALPHANUMERIC).to_string(),
            false,
        )
    }
}

/// The characters the URL standard leaves raw in userinfo (what `url` writes back).
const USERINFO: &AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b':')
    .add(b';')
    .add(b'=')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'|');

fn userinfo(c: char) -> (String, bool) {
    let encoded = utf8_percent_encode(&c.to_string(), USERINFO).to_string();
    let same = encoded == c.to_string();
    (encoded, same)
}

fn form(c: char) -> (String, bool) {
    match c {
        ' ' => ("+".into(), false),
        _ => percent(c),
    }
}

fn debug(c: char) -> (String, bool) {
    let escaped = format!("{c:?}");
    let inner = escaped[1..escaped.len() - 1].to_string();
    let same = inner == c.to_string();
    (inner, same)
}

fn markdown(c: char) -> (String, bool) {
    if c.is_ascii_punctuation() {
        (format!("\\{c}"), false)
    } else {
        literal(c)
    }
}

const ENCODERS: &[(&str, Encoder)] = &[
    ("raw", literal),
    ("JSON", json),
    ("JSON in JSON", json_in_json),
    ("ASCII JSON", json_ascii),
    ("HTML", html),
    ("HTML decimal", html_numeric),
    ("HTML hex", html_hex),
    ("percent", percent),
    ("userinfo", userinfo),
    ("form", form),
    ("Debug", debug),
    ("markdown", markdown),
];

/// Every 6-character window of `secret` in every encoding that holds at least three of the
/// secret's own characters.
fn windows(secret: &str) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for (name, encode) in ENCODERS {
        let pieces: Vec<(char, bool)> = secret
            .chars()
            .flat_map(|c| {
                let (text, is_literal) = encode(c);
                text.chars()
                    .map(move |t| (t, is_literal))
                    .collect::<Vec<_>>()
            })
            .collect();
        for w in pieces.windows(6) {
            if w.iter().filter(|(_, l)| *l).count() >= 3 {
                out.push((w.iter().map(|(c, _)| c).collect(), *name));
            }
        }
    }
    out
}

fn derived_secrets() -> Vec<String> {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("svc:{BASIC_PASSWORD}"));
    vec![basic]
}

fn assert_no_leak(outputs: &[(String, String)]) {
    let mut patterns: Vec<(String, String)> = Vec::new();
    for secret in [
        DB_PASSWORD,
        WRONG_DB_PASSWORD,
        API_KEY,
        BASIC_PASSWORD,
        JWT_SECRET,
        DOTENV_TOKEN,
        common::PG_PASSWORD,
    ] {
        for (window, encoding) in windows(secret) {
            patterns.push((window, format!("{encoding} form of `{secret}`")));
        }
    }
    for derived in derived_secrets() {
        for w in derived.as_bytes().windows(6) {
            let window = String::from_utf8(w.to_vec()).unwrap();
            patterns.push((window, format!("Basic credentials `{derived}`")));
        }
    }
    let mut leaks = Vec::new();
    for (name, text) in outputs {
        let mut reported = std::collections::HashSet::new();
        for (window, what) in &patterns {
            if reported.contains(what) {
                continue;
            }
            if let Some(at) = text.find(window.as_str()) {
                reported.insert(what.clone());
                let start = text[..at]
                    .char_indices()
                    .rev()
                    .nth(40)
                    .map_or(0, |(i, _)| i);
                let end = (at + window.len() + 40).min(text.len());
                let end = (end..=text.len())
                    .find(|i| text.is_char_boundary(*i))
                    .unwrap();
                leaks.push(format!(
                    "{name}: `{window}` ({what}) in …{}…",
                    &text[start..end]
                ));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "secrets leaked in {} outputs:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}

/// Answers every request with 500 and a JSON body that repeats the request's headers, and
/// `/long` with filler that puts the API key across the 1 KiB evidence cut.
fn echo_server() -> common::HttpServer {
    fn echoed(headers: &HeaderMap) -> serde_json::Value {
        let map: HashMap<String, String> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
            .collect();
        serde_json::json!({ "error": "debug dump", "headers": map })
    }
    let app = Router::new()
        .route(
            "/long",
            get(|headers: HeaderMap| async move {
                let key = headers
                    .get("x-api-key")
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .unwrap_or_default();
                (
                    StatusCode::BAD_GATEWAY,
                    format!("{}{key}{}", ".".repeat(1020), ".".repeat(40)),
                )
            }),
        )
        .fallback(|headers: HeaderMap| async move {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                echoed(&headers).to_string(),
            )
        });
    common::http_server(app)
}

fn url_encoded(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

fn check(id: &str, target: Option<&str>, kind: &str, params: &str) -> String {
    let target = target.map_or(String::new(), |t| format!("    target: {t}\n"));
    format!(
        "  - id: {id}\n    category: security\n    severity: high\n{target}    {kind}: {params}\n"
    )
}

struct Battery {
    project: Project,
    env: Vec<(&'static str, String)>,
    _db: common::TestDb,
    _server: common::HttpServer,
}

fn battery() -> Battery {
    let pg = common::postgres();
    let db = pg.fresh_db("CREATE TABLE t (x int);");
    let role = format!("leak_{}", db.name);
    common::exec(
        &pg.url(&db.name),
        &format!(
            "CREATE ROLE {role} LOGIN PASSWORD '{}'; GRANT SELECT ON t TO {role};",
            DB_PASSWORD.replace('\'', "''")
        ),
    )
    .unwrap();
    let server = echo_server();
    let host = format!("127.0.0.1:{}", pg.port);
    let db_url = format!(
        "postgres://{role}:{}@{host}/{}",
        url_encoded(DB_PASSWORD),
        db.name
    );
    let wrong_url = format!(
        "postgres://{role}:{}@{host}/{}",
        url_encoded(WRONG_DB_PASSWORD),
        db.name
    );
    let http = server.base.replace("http://", "");
    let basic_url = format!("http://svc:{}@{http}/", url_encoded(BASIC_PASSWORD));
    let checks = [
        check(
            "sql-echo",
            Some("db"),
            "sql",
            "{ query: \"SELECT '${JWT_SECRET}' AS leak\" }",
        ),
        check(
            "sql-wrong-password",
            Some("db_wrong"),
            "sql",
            "{ query: \"SELECT 1\" }",
        ),
        check(
            "http-headers",
            Some("api"),
            "http",
            "{ path: /echo, expect: { status: 200 } }",
        ),
        check(
            "http-long",
            Some("api"),
            "http",
            "{ path: /long, expect: { status: 200 } }",
        ),
        check(
            "http-basic",
            Some("basic"),
            "http",
            "{ path: /basic, expect: { status: 200 } }",
        ),
        check(
            "secret-env",
            None,
            "secret",
            "{ from: env:JWT_SECRET, min_bytes: 64 }",
        ),
        check(
            "secret-dotenv",
            None,
            "secret",
            "{ from: \"dotenv:.env#API_TOKEN\", min_bytes: 64 }",
        ),
        check(
            "command-echo",
            None,
            "command",
            "{ run: [sh, -c, \"printf '%02040d' 0; echo \\\"$JWT_SECRET\\\"; echo \\\"$JWT_SECRET\\\" >&2; exit 3\"] }",
        ),
        check(
            "env-match",
            None,
            "env",
            "{ vars: [JWT_SECRET], match: { API_KEY: \"^nope$\" } }",
        ),
    ];
    let config = format!(
        "version: 1\nproject: leaks\ntargets:\n  db: {{ postgres: \"${{LEAK_DB_URL}}\" }}\n  db_wrong: {{ postgres: \"${{LEAK_WRONG_DB_URL}}\", connect_timeout: 5s }}\n  api:\n    http: \"{}\"\n    headers: {{ x-api-key: \"${{API_KEY}}\" }}\n  basic: {{ http: \"${{BASIC_AUTH_URL}}\" }}\nchecks:\n{}",
        server.base,
        checks.concat()
    );
    let project = Project::new(&config);
    project.write(".env", &format!("API_TOKEN='{DOTENV_TOKEN}'\n"));
    let env = vec![
        ("LEAK_DB_URL", db_url),
        ("LEAK_WRONG_DB_URL", wrong_url),
        ("API_KEY", API_KEY.to_string()),
        ("BASIC_AUTH_URL", basic_url),
        ("JWT_SECRET", JWT_SECRET.to_string()),
    ];
    Battery {
        project,
        env,
        _db: db,
        _server: server,
    }
}

impl Battery {
    fn run(&self, args: &[&str], extra_env: &[(&str, &str)]) -> common::Run {
        let mut env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.extend_from_slice(extra_env);
        self.project.ready(args, &env)
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.project.path(rel))
            .unwrap_or_else(|e| panic!("{rel} was not written: {e}"))
    }
}

/// The probes really carried the secrets (else the battery proves nothing): the server saw the
/// header and answered with it, the query returned it, the command printed it.
fn assert_secrets_were_exercised(result: &serde_json::Value) {
    for id in [
        "sql-echo",
        "http-headers",
        "http-long",
        "http-basic",
        "secret-env",
        "secret-dotenv",
        "command-echo",
        "env-match",
    ] {
        assert_eq!(
            status_of(result, id),
            "fail",
            "{id}: {}",
            check_of(result, id)
        );
    }
    assert_eq!(status_of(result, "sql-wrong-password"), "error");
    let headers = &check_of(result, "http-headers")["findings"];
    assert!(headers.to_string().contains("x-api-key"), "{headers}");
}

#[test]
fn no_secret_leaves_through_any_format_report_or_log() {
    let b = battery();
    let mut report_args: Vec<String> = Vec::new();
    for format in FORMATS {
        report_args.push("--report".into());
        report_args.push(format!("{format}=out/report.{format}"));
    }
    let mut args = vec!["check", "--format", "json", "-v"];
    args.extend(report_args.iter().map(String::as_str));
    let json = b.run(&args, &[("GITHUB_STEP_SUMMARY", "summary.md")]);
    let result = json.json();
    common::assert_valid_result(&result);
    assert_secrets_were_exercised(&result);

    let mut outputs = vec![
        ("check stdout".to_string(), json.stdout.clone()),
        ("check -v stderr".to_string(), json.stderr.clone()),
    ];
    for format in FORMATS {
        outputs.push((
            format!("--report {format}"),
            b.read(&format!("out/report.{format}")),
        ));
        let direct = b.run(&["check", "--format", format, "--color", "always"], &[]);
        outputs.push((format!("check --format {format}"), direct.stdout));
        let again = b.run(&["report", "out/report.json", "--format", format], &[]);
        outputs.push((format!("report --format {format}"), again.stdout));
    }
    let github = b.run(
        &["check", "--format", "github"],
        &[("GITHUB_STEP_SUMMARY", "step-summary.md")],
    );
    outputs.push(("github annotations".into(), github.stdout));
    outputs.push(("step summary".into(), b.read("step-summary.md")));
    let trace = b.run(&["check", "--format", "json"], &[("RUST_LOG", "trace")]);
    assert!(
        trace.stderr.len() > 1000,
        "RUST_LOG=trace logged little: {}",
        trace.stderr
    );
    outputs.push(("RUST_LOG=trace stderr".into(), trace.stderr));
    assert_no_leak(&outputs);
}

/// A diagnostic names the variable whose value it would otherwise quote.
#[test]
fn diagnostics_name_secret_variables_instead_of_quoting_them() {
    let p = Project::new(
        "version: 1\nchecks:\n  - id: x\n    category: \"${API_KEY}\"\n    severity: \"${JWT_SECRET}\"\n    env: { vars: [HOME] }\n",
    );
    let env = [("API_KEY", API_KEY), ("JWT_SECRET", JWT_SECRET)];
    let validate = p.ready(&["validate"], &env);
    assert_eq!(validate.code, 2, "{validate:?}");
    assert!(validate.stderr.contains("API_KEY"), "{}", validate.stderr);
    assert!(
        validate.stderr.contains("JWT_SECRET"),
        "{}",
        validate.stderr
    );
    let check = p.ready(&["check", "--format", "json", "-v"], &env);
    assert_eq!(check.code, 2, "{check:?}");
    assert_no_leak(&[
        ("validate stdout".into(), validate.stdout),
        ("validate stderr".into(), validate.stderr),
        ("check stdout".into(), check.stdout),
        ("check stderr".into(), check.stderr),
    ]);
}

#[test]
fn the_battery_sees_every_encoding() {
    let found: Vec<&str> = windows("Ab1\"cd2\\ef3<gh4&ij5%kl6+mn7 op8-ü9qr")
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    for (name, _) in ENCODERS {
        assert!(found.contains(name), "no window for {name}");
    }
    let json_windows = windows(API_KEY);
    assert!(json_windows.iter().any(|(w, _)| w == "Tyr\\\\U"));
    assert!(json_windows.iter().any(|(w, _)| w == "%22Tyr"));
    assert!(!json_windows.iter().any(|(w, _)| w == "&quot;"));
}

/// A Redis stand-in that answers its first command with `first` and every later one with
/// `later` (`-NOAUTH` then an odd reply to AUTH): what an error quotes, cut at 120 bytes.
fn fake_redis(first: String, later: String) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let mut replies = [first.as_str()]
                .into_iter()
                .chain(std::iter::repeat(later.as_str()));
            while stream.read(&mut buf).is_ok_and(|n| n > 0) {
                let reply = replies.next().unwrap_or_default();
                if stream.write_all(format!("{reply}\r\n").as_bytes()).is_err() {
                    break;
                }
            }
        }
    });
    port
}

/// Every place that shows only part of a long text cuts it after masking: a secret across a
/// cut point (a command's shown head and tail, a backup tool's stderr, a Redis reply) leaves
/// no piece in any format.
#[test]
fn a_secret_across_every_cut_point_leaves_no_piece() {
    // Shown: the first and last 1 KiB of command output, 300 bytes of stderr, 120 of a reply;
    // cut before masking, each would show 8 to 14 bytes of the secret.
    let script = "s=\"$JWT_SECRET\"
printf '%01016d' 0; printf '%s' \"$s\"; head -c 100000 /dev/zero | tr '\\0' x; printf '%s' \"$s\"; printf '%01010d' 0
printf '%01016d' 0 >&2; printf '%s' \"$s\" >&2; head -c 3000 /dev/zero | tr '\\0' y >&2; printf '%s' \"$s\" >&2; printf '%01010d' 0 >&2
exit 3
";
    let backup_script =
        "printf '%0290d' 0 >&2; printf '%s' \"$JWT_SECRET\" >&2; printf '%0100d' 0 >&2; exit 1\n";
    let filler = "f".repeat(105);
    let ping = fake_redis(format!("-ERR {filler}{JWT_SECRET}{filler}"), String::new());
    let auth = fake_redis(
        "-NOAUTH Authentication required.".into(),
        format!(":{filler}{JWT_SECRET}{filler}"),
    );
    let checks = [
        check("read", None, "secret", "{ from: env:JWT_SECRET }"),
        check("loud", None, "command", "{ run: [sh, loud.sh] }"),
        check(
            "tool",
            None,
            "backup",
            "{ wal_g: { command: [sh, tool.sh] } }",
        ),
        check(
            "ping",
            None,
            "default_credentials",
            &format!("{{ redis: \"127.0.0.1:{ping}\" }}"),
        ),
        check(
            "auth",
            None,
            "default_credentials",
            &format!("{{ redis: \"127.0.0.1:{auth}\", passwords: [changeme] }}"),
        ),
    ];
    let project = Project::new(&format!("version: 1\nchecks:\n{}", checks.concat()));
    project.write("loud.sh", script);
    project.write("tool.sh", backup_script);
    let env = [("JWT_SECRET", JWT_SECRET)];
    let run = project.ready(&["check", "--format", "json"], &env);
    let result = run.json();
    let loud = &check_of(&result, "loud")["findings"][0]["evidence"];
    let stdout = loud["stdout"].as_str().unwrap();
    assert!(stdout.starts_with(&"0".repeat(1016)), "{stdout}");
    assert!(stdout.contains("bytes not kept) …\n"), "{stdout}");
    assert!(stdout.ends_with(&"0".repeat(1010)), "{stdout}");
    // Shown in part, though kept whole: the exact size is in the evidence.
    assert_eq!(loud["stderr_bytes"], 1016 + 35 + 3000 + 35 + 1010);
    for (id, status, start) in [
        ("tool", "error", "`sh tool.sh` exited with 1: 000"),
        ("ping", "error", "Redis at 127.0.0.1:"),
        ("auth", "error", "Redis at 127.0.0.1:"),
    ] {
        let c = check_of(&result, id);
        assert_eq!(c["status"], status, "{c}");
        assert!(c["message"].as_str().unwrap().starts_with(start), "{c}");
        assert!(
            c["message"].as_str().unwrap().contains(" more bytes)"),
            "{c}"
        );
    }
    let mut outputs = vec![("check --format json".to_string(), run.stdout)];
    for format in FORMATS {
        let shown = project.ready(&["check", "--format", format], &env);
        outputs.push((format!("check --format {format}"), shown.stdout));
    }
    assert_no_leak(&outputs);
}

/// The quoted parts of a message are cut after masking too: a Prisma failure log (300 bytes
/// shown) and a health status that is no status word (60 bytes) with the secret across the cut.
#[test]
fn a_secret_across_a_quoted_cut_leaves_no_piece() {
    // Cut before masking, each would show 10 and 8 bytes of the secret.
    let logs = format!("{}{JWT_SECRET}{}", "f".repeat(290), "f".repeat(100));
    // The database error starts 10 characters before the 20,000 read of the logs end.
    let late_logs = format!("{}\nDatabase error:\n{JWT_SECRET}\n", "x".repeat(19_973));
    let db = common::postgres().fresh_db(&format!(
        "CREATE TABLE _prisma_migrations (id varchar(36) PRIMARY KEY, checksum varchar(64) NOT NULL,
            finished_at timestamptz, migration_name varchar(255) NOT NULL, logs text,
            rolled_back_at timestamptz, started_at timestamptz NOT NULL DEFAULT now(),
            applied_steps_count int NOT NULL DEFAULT 0);
         INSERT INTO _prisma_migrations VALUES ('a', 'x', NULL, '20240101_init', '{logs}', NULL, now(), 0),
           ('b', 'x', NULL, '20240102_late', '{late_logs}', NULL, now(), 0);"
    ));
    let status = serde_json::json!([format!("{}{JWT_SECRET}{}", "f".repeat(50), "f".repeat(50))]);
    let server = common::http_server(
        Router::new().route("/health", get(move || async move { status.to_string() })),
    );
    let checks = [
        check("read", None, "secret", "{ from: env:JWT_SECRET }"),
        check(
            "mig",
            Some("db"),
            "migrations",
            "{ dir: prisma/migrations }",
        ),
        check("health", Some("api"), "health", "{ path: /health }"),
    ];
    let project = Project::new(&format!(
        "version: 1\ntargets:\n  db: {{ postgres: \"{}\" }}\n  api: {{ http: \"{}\" }}\nchecks:\n{}",
        db.url,
        server.base,
        checks.concat()
    ));
    for name in ["20240101_init", "20240102_late"] {
        project.write(
            &format!("prisma/migrations/{name}/migration.sql"),
            "SELECT 1;\n",
        );
    }
    project.write(
        "prisma/migrations/migration_lock.toml",
        "provider = \"postgresql\"\n",
    );
    let env = [("JWT_SECRET", JWT_SECRET)];
    let run = project.ready(&["check", "--format", "json"], &env);
    let result = run.json();
    for (id, start, end) in [
        (
            "mig",
            format!("migration 20240101_init failed ({}", "f".repeat(290)),
            " more bytes))",
        ),
        (
            "health",
            format!("the health body's status \"[\"{}", "f".repeat(50)),
            " more bytes)\" is not a known health status",
        ),
    ] {
        let c = check_of(&result, id);
        assert_eq!(c["status"], "fail", "{c}");
        let message = c["findings"][0]["message"].as_str().unwrap();
        assert!(message.starts_with(&start), "{c}");
        assert!(message.ends_with(end), "{c}");
    }
    let late = &check_of(&result, "mig")["findings"][1]["message"];
    assert_eq!(
        late.as_str().unwrap(),
        format!(
            "migration 20240102_late failed ({}… (19673 more bytes))",
            "x".repeat(300)
        ),
        "the line the 20,000-character read ends in is dropped"
    );
    let mut outputs = vec![("check --format json".to_string(), run.stdout)];
    for format in FORMATS {
        let shown = project.ready(&["check", "--format", format], &env);
        outputs.push((format!("check --format {format}"), shown.stdout));
    }
    assert_no_leak(&outputs);
}
