//! `ready init --discover` end to end: a Supabase-style project folder whose migrations are
//! applied to a fresh database, a service with a health endpoint and the edge functions, and
//! the Redis and PostgreSQL of its compose file.

use std::collections::BTreeMap;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{any, get};

use crate::common::{self, Project, postgres};
use crate::secrets::redis;

/// The tutorial-free JWT secret of the project's `.env`: it must appear nowhere.
const JWT_SECRET: &str = "dJ7qLw2vXz9KpR4mTn8sYb3cHf6gUe1a";

/// Passwords written literally in the compose file: they must appear nowhere either.
const LITERAL_PASSWORDS: [&str; 2] = ["Minio-literal-4c9e1b7a2f", "Pg-literal-8d3f6a0e5b"];

const MIGRATION_ROLES: &str = "
DO $$
BEGIN
  BEGIN CREATE ROLE anon NOLOGIN NOINHERIT; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
  BEGIN CREATE ROLE authenticated NOLOGIN NOINHERIT; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
  BEGIN CREATE ROLE authenticator NOLOGIN NOINHERIT; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
END
$$;
GRANT anon, authenticated TO authenticator;
CREATE SCHEMA api;
GRANT USAGE ON SCHEMA public, api TO anon, authenticated;
CREATE TABLE public.profiles (id uuid PRIMARY KEY, name text NOT NULL);
ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON public.profiles TO anon, authenticated;
";

const MIGRATION_WALLETS: &str = "
CREATE TABLE public.wallet_transactions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  profile_id uuid NOT NULL REFERENCES public.profiles (id),
  amount numeric(12, 2) NOT NULL,
  currency text NOT NULL
);
CREATE TABLE public.webhook_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id text NOT NULL,
  payload jsonb NOT NULL
);
ALTER TABLE public.wallet_transactions ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.webhook_events ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON public.wallet_transactions TO authenticated;
";

/// What `supabase db push` records after applying the two migrations.
const HISTORY: &str = "
CREATE SCHEMA supabase_migrations;
CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY, statements text[], name text);
INSERT INTO supabase_migrations.schema_migrations (version, name)
VALUES ('20240101000000', 'roles'), ('20240102000000', 'wallets');
";

/// 3 of 4 lines covered: under the generated 80% bar.
const LCOV: &str =
    "TN:\nSF:src/pay.ts\nDA:1,1\nDA:2,1\nDA:3,1\nDA:4,0\nLF:4\nLH:3\nend_of_record\n";

struct Discovered {
    project: Project,
    env: Vec<(&'static str, String)>,
    /// The superuser's URL, for changing the system between runs.
    admin_url: String,
    _redis: crate::secrets::Redis,
    _api: common::HttpServer,
}

impl Discovered {
    fn ready(&self, args: &[&str]) -> common::Run {
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.project.ready(args, &env)
    }

    /// Every file under the project folder but the inputs the test wrote.
    fn written(&self) -> BTreeMap<String, String> {
        let mut files = BTreeMap::new();
        for name in ["ready.yaml", "ready.schema.json"] {
            files.insert(name.to_string(), self.read(name));
        }
        for entry in std::fs::read_dir(self.project.path("checks")).unwrap() {
            let name = format!("checks/{}", entry.unwrap().file_name().to_string_lossy());
            files.insert(name.clone(), self.read(&name));
        }
        files
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.project.path(name)).unwrap()
    }
}

fn edge_functions() -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/functions/v1/payments-webhook",
            any(|| async { (StatusCode::UNAUTHORIZED, "missing signature") }),
        )
        .route("/functions/v1/send-sms", any(|| async { "sent" }))
        .route("/functions/v1/health", any(|| async { "ok" }))
}

/// The project folder, its database with the migrations applied, the service, and Redis.
fn supabase_project() -> Discovered {
    let db = postgres().fresh_db(&format!(
        "{MIGRATION_ROLES}\n{MIGRATION_WALLETS}\n{HISTORY}"
    ));
    common::exec(
        &db.admin_url,
        &format!(
            "ALTER ROLE authenticator IN DATABASE {} SET pgrst.db_schemas = 'public, api'",
            db.name
        ),
    )
    .unwrap();
    let cache = redis(&["--requirepass", "Redis-discover-pass-4b1e9f0c7d2a"]);
    let api = common::http_server(edge_functions());
    let project = Project::new("");
    std::fs::remove_file(project.path("ready.yaml")).unwrap();
    project
        .write("supabase/config.toml", "project_id = \"mobility-hub\"\n\n[api]\nenabled = true\nschemas = [\"public\", \"graphql_public\"]\n")
        .write("supabase/migrations/20240101000000_roles.sql", MIGRATION_ROLES)
        .write("supabase/migrations/20240102000000_wallets.sql", MIGRATION_WALLETS)
        .write("supabase/functions/payments-webhook/index.ts", "Deno.serve(() => new Response(null, { status: 401 }));\n")
        .write("supabase/functions/send-sms/index.ts", "Deno.serve(() => new Response('sent'));\n")
        .write("supabase/functions/health/index.ts", "Deno.serve(() => new Response('ok'));\n")
        .write("supabase/functions/_shared/cors.ts", "export const cors = {};\n")
        .write(".env", &format!("JWT_SECRET={JWT_SECRET}\nPORT=3000\n"))
        .write(".env.example", "JWT_SECRET=change-me\n")
        .write(
            "docker-compose.yml",
            &format!(
                "services:\n  api:\n    image: acme/api\n    environment:\n      - JWT_SECRET=${{JWT_SECRET}}\n      - PORT=3000\n  cache:\n    image: redis:7-alpine\n    ports: [\"{}:6379\"]\n  db:\n    image: postgres:15\n    ports: [\"{}:5432\"]\n    environment:\n      POSTGRES_PASSWORD: {}\n  storage:\n    image: minio/minio\n    environment:\n      MINIO_ROOT_USER: admin\n      MINIO_ROOT_PASSWORD: {}\n",
                cache.port,
                postgres().port,
                LITERAL_PASSWORDS[1],
                LITERAL_PASSWORDS[0],
            ),
        )
        .write("coverage/lcov.info", LCOV);
    Discovered {
        project,
        env: vec![
            ("DATABASE_URL", db.url.clone()),
            ("READY_HTTP_URL", api.base.clone()),
            // What the `api` service of the compose file reads.
            ("JWT_SECRET", JWT_SECRET.to_string()),
        ],
        admin_url: db.admin_url.clone(),
        _redis: cache,
        _api: api,
    }
}

#[test]
fn discover_writes_a_commented_suite_that_validates_and_runs_unchanged() {
    let p = supabase_project();
    let run = p.ready(&["init", "--discover"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let written = p.written();
    assert_eq!(
        run.stdout,
        "wrote 7 files from what --discover found in .; next: ready validate\n"
    );
    assert_eq!(
        written.keys().collect::<Vec<_>>(),
        [
            "checks/database.yaml",
            "checks/functions.yaml",
            "checks/http.yaml",
            "checks/repository.yaml",
            "checks/secrets.yaml",
            "ready.schema.json",
            "ready.yaml"
        ]
    );
    // Every check says why it is there.
    for (file, comment) in [
        (
            "ready.yaml",
            "  # exposed schemas from pgrst.db_schemas of role authenticator: public and api\n",
        ),
        (
            "ready.yaml",
            "  # authenticator (PostgREST) switches to anon and authenticated\n",
        ),
        (
            "ready.yaml",
            "  # the health endpoint answered at /healthz\n",
        ),
        (
            "ready.yaml",
            "#   GRANT pg_read_all_data TO ready_checks;\n",
        ),
        (
            "checks/database.yaml",
            "  # table public.wallet_transactions has amount and currency columns\n",
        ),
        (
            "checks/database.yaml",
            "  # public.webhook_events.event_id looks like an idempotency key and no unique index covers it\n",
        ),
        (
            "checks/database.yaml",
            "  # supabase/migrations holds 2 migrations\n",
        ),
        (
            "checks/functions.yaml",
            "  # 3 edge functions under supabase/functions: health, payments-webhook and send-sms\n",
        ),
        (
            "checks/functions.yaml",
            "  # 1 function with `webhook` in the name: payments-webhook\n",
        ),
        (
            "checks/secrets.yaml",
            "  # .env assigns JWT_SECRET (value not shown)\n",
        ),
        (
            "checks/secrets.yaml",
            &format!(
                "  # docker-compose.yml declares the Redis service `cache`, published on 127.0.0.1:{}\n",
                p._redis.port
            ),
        ),
        (
            "checks/repository.yaml",
            "  # coverage report coverage/lcov.info (lcov)\n",
        ),
        (
            "checks/secrets.yaml",
            "  # service `api` in docker-compose.yml takes JWT_SECRET from ${JWT_SECRET}\n  - id: secrets.compose.jwt-secret\n",
        ),
        (
            "checks/secrets.yaml",
            "  # service `storage`: MINIO_ROOT_PASSWORD set literally in docker-compose.yml; move it to the environment (value not shown)\n  - id: secrets.compose.minio-root-password\n",
        ),
        (
            "checks/secrets.yaml",
            "  # service `db`: POSTGRES_PASSWORD set literally in docker-compose.yml; move it to the environment (value not shown)\n  - id: secrets.compose.postgres-password\n",
        ),
    ] {
        assert!(
            written[file].contains(comment),
            "{file} lacks {comment:?}:\n{}",
            written[file]
        );
    }
    let secrets = [JWT_SECRET, LITERAL_PASSWORDS[0], LITERAL_PASSWORDS[1]];
    for (name, text) in &written {
        for secret in secrets {
            assert!(!text.contains(secret), "{name} holds {secret}");
        }
    }
    for secret in secrets {
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret));
    }

    let validated = p.ready(&["validate"]);
    assert_eq!(validated.code, 0, "{}", validated.stderr);
    assert_eq!(validated.stderr, "");
    assert!(
        validated
            .stdout
            .ends_with("ready.yaml: valid, 21 checks, 2 targets, 0 waivers\n"),
        "{}",
        validated.stdout
    );

    let listed = p.ready(&["list"]);
    assert!(
        listed
            .stdout
            .lines()
            .any(|l| l.trim_start().starts_with("db.rls ")),
        "the example waiver names a check of the suite: {}",
        listed.stdout
    );
    assert!(
        written["ready.yaml"]
            .contains("\n#  - check: db.rls\n#    subject: public.spatial_ref_sys\n")
    );

    let checked = p.ready(&["check", "--format", "json"]);
    assert!(
        checked.code == 0 || checked.code == 1,
        "{}\n{}",
        checked.stdout,
        checked.stderr
    );
    for secret in secrets {
        assert!(!checked.stdout.contains(secret) && !checked.stderr.contains(secret));
    }
    let result = checked.json();
    common::assert_valid_result(&result);
    let statuses: Vec<(String, String)> = result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Failures the system really has (no forced RLS, no audit trail, an unindexed foreign key,
    // a loose event id, no limiter, thin coverage), and no error: the config runs as written.
    let expected: Vec<(String, String)> = [
        ("db.rls", "fail"),
        ("db.audit-log", "fail"),
        ("db.keys", "fail"),
        ("db.idempotency", "fail"),
        ("db.migrations", "pass"),
        ("db.default-login", "pass"),
        ("functions.answer.health", "pass"),
        ("functions.answer.payments-webhook", "pass"),
        ("functions.answer.send-sms", "pass"),
        ("functions.rate-limit.health", "fail"),
        ("functions.rate-limit.payments-webhook", "fail"),
        ("functions.rate-limit.send-sms", "fail"),
        ("functions.webhook-signature.payments-webhook", "warn"),
        ("http.health", "pass"),
        ("coverage.coverage-lcov-info", "fail"),
        ("secrets.env.jwt-secret", "pass"),
        // Read from the environment the checks run in: only JWT_SECRET is set there.
        ("secrets.compose.jwt-secret", "pass"),
        ("secrets.compose.minio-root-password", "fail"),
        ("secrets.compose.postgres-password", "fail"),
        ("services.cache.default-login", "pass"),
        ("services.db.default-login", "pass"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(statuses, expected);
}

#[test]
fn discover_is_deterministic_refuses_to_overwrite_and_previews_with_dry_run() {
    let p = supabase_project();
    let preview = p.ready(&["init", "--discover", "--dry-run"]);
    assert_eq!(preview.code, 0, "{}", preview.stderr);
    assert!(
        preview
            .stdout
            .starts_with("==> ready.yaml <==\n# yaml-language-server"),
        "{}",
        preview.stdout
    );
    assert!(
        !p.project.path("ready.yaml").exists(),
        "--dry-run wrote nothing"
    );
    assert!(!preview.stdout.contains(JWT_SECRET));

    assert_eq!(p.ready(&["init", "--discover"]).code, 0);
    let first = p.written();
    let again = p.ready(&["init", "--discover"]);
    assert_eq!(again.code, 2);
    assert!(
        again.stderr.starts_with("not overwriting ./ready.yaml, "),
        "{}",
        again.stderr
    );
    let unchanged = p.ready(&["init", "--discover", "--dry-run"]);
    assert_eq!(
        unchanged.stdout,
        "no change: the files already hold what would be written\n"
    );
    assert_eq!(p.ready(&["init", "--discover", "--force"]).code, 0);
    assert_eq!(p.written(), first, "a second run writes the same bytes");

    // A change on the system shows as a diff, and nothing is written.
    common::exec(
        &p.admin_url,
        "CREATE TABLE public.payouts (id bigint PRIMARY KEY, amount numeric, message_id text)",
    )
    .unwrap();
    let diff = p.ready(&["init", "--discover", "--dry-run"]);
    assert_eq!(diff.code, 0, "{}", diff.stderr);
    assert!(
        diff.stdout
            .starts_with("--- a/checks/database.yaml\n+++ b/checks/database.yaml\n@@"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout
            .contains("\n+  # table public.payouts has an amount column\n"),
        "{}",
        diff.stdout
    );
    assert_eq!(p.written(), first);
}

#[test]
fn discover_in_an_empty_folder_writes_a_suite_that_validates() {
    let p = Project::new("");
    std::fs::remove_file(p.path("ready.yaml")).unwrap();
    assert_eq!(p.ready(&["init", "--discover"], &[]).code, 0);
    let text = std::fs::read_to_string(p.path("ready.yaml")).unwrap();
    assert!(
        text.contains(
            "\n# - DATABASE_URL was not set: no database checks (set it and run again)\n"
        ),
        "{text}"
    );
    let run = p.ready(&["validate"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .ends_with("valid, 0 checks, 0 targets, 0 waivers\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn discover_reads_pg_cron_and_checks_its_named_jobs() {
    // The shared pg_cron database: another test counts its jobs, so none is added here; it holds
    // that test's named jobs or none, and discovery says which.
    let url = crate::postgres_database::cron_db();
    let p = Project::new("");
    std::fs::remove_file(p.path("ready.yaml")).unwrap();
    let run = p.ready(&["init", "--discover"], &[("DATABASE_URL", url)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ready = std::fs::read_to_string(p.path("ready.yaml")).unwrap();
    let checks = std::fs::read_to_string(p.path("checks/database.yaml")).unwrap();
    match checks.find("  - id: db.cron-jobs\n") {
        Some(at) => {
            let comment = checks[..at].lines().last().unwrap();
            assert!(
                comment.starts_with("  # pg_cron is installed with "),
                "{checks}"
            );
            assert!(checks[at..].contains("\n      jobs: ["), "{checks}");
        }
        None => assert!(
            ready.contains("\n# - pg_cron is installed but has no named job: no cron_job check\n"),
            "{ready}"
        ),
    }
    let validated = p.ready(&["validate"], &[("DATABASE_URL", url)]);
    assert_eq!(validated.code, 0, "{}", validated.stderr);
}

#[test]
fn discover_in_a_supabase_project_probes_supabase_url_without_ready_http_url() {
    let p = supabase_project();
    let url = p
        .env
        .iter()
        .find(|(k, _)| *k == "READY_HTTP_URL")
        .unwrap()
        .1
        .clone();
    let database = p
        .env
        .iter()
        .find(|(k, _)| *k == "DATABASE_URL")
        .unwrap()
        .1
        .clone();
    let env = [
        ("DATABASE_URL", database.as_str()),
        ("SUPABASE_URL", url.as_str()),
    ];
    let run = p.project.ready(&["init", "--discover"], &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ready = p.read("ready.yaml");
    assert!(
        ready.contains("  # SUPABASE_URL (Supabase's own variable): READY_HTTP_URL was not set and supabase/config.toml is there\n  # the health endpoint answered at /healthz\n"),
        "{ready}"
    );
    assert!(ready.contains("${SUPABASE_URL}"), "{ready}");
    assert!(
        p.read("checks/functions.yaml")
            .contains("functions.answer.{{item}}")
    );
    assert!(
        p.read("checks/http.yaml")
            .contains("Checks of the service at SUPABASE_URL")
    );

    // Outside a Supabase project SUPABASE_URL means nothing to discovery.
    let plain = Project::new("");
    std::fs::remove_file(plain.path("ready.yaml")).unwrap();
    assert_eq!(
        plain
            .ready(&["init", "--discover"], &[("SUPABASE_URL", url.as_str())])
            .code,
        0
    );
    let text = std::fs::read_to_string(plain.path("ready.yaml")).unwrap();
    assert!(
        text.contains("\n# - READY_HTTP_URL was not set: no HTTP checks (set it and run again)\n"),
        "{text}"
    );
}
