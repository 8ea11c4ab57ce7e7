//! `schema`, `migrations` and `cron_job` on a real server (started with pg_cron preloaded).

use crate::common;

use std::sync::OnceLock;

use crate::common::{Project, TestDb, check_of, exec, postgres};
use serde_json::Value;

const BASE: &str = include_str!("../../fixtures/supabase-base.sql");
const GOOD: &str = include_str!("../../fixtures/supabase-good.sql");
const BAD: &str = include_str!("../../fixtures/supabase-bad.sql");

fn fixture(variant: &str) -> TestDb {
    postgres().fresh_db(&format!("{BASE}\n{variant}"))
}

fn project(url: &str, checks: &[String]) -> Project {
    Project::new(&format!(
        "version: 1\nproject: pg-database\ntargets:\n  db:\n    postgres: \"{url}\"\n    api_roles: [anon, authenticated]\nchecks:\n{}",
        checks.concat()
    ))
}

fn check(id: &str, kind: &str) -> String {
    format!(
        "  - id: {id}\n    category: database\n    severity: high\n    target: db\n    {kind}\n"
    )
}

/// (level, subject, message) of each finding.
fn findings(result: &Value, id: &str) -> Vec<(String, String, String)> {
    check_of(result, id)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["level"].as_str().unwrap().to_string(),
                f["subject"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn owned(expected: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

const SCHEMA_CHECK: &str = "schema: { indexes: [\"wallets(owner_id)\", \"payments(wallet_id)\"], unique: [\"payments(message_id, provider)\"], tables: [wallets, payments, ledger_entries] }";

#[test]
fn schema_names_unindexed_keys_missing_keys_and_tables() {
    let db = fixture(BAD);
    let result = common::check_json(&project(&db.url, &[check("schema", SCHEMA_CHECK)]));
    assert_eq!(
        findings(&result, "schema"),
        owned(&[
            (
                "fail",
                "public.payments/payments_wallet_id_fkey",
                "foreign key payments_wallet_id_fkey on public.payments(wallet_id) → public.wallets has no index leading with those columns: deletes and joins on public.wallets scan public.payments"
            ),
            (
                "fail",
                "public.wallets/wallets_owner_id_fkey",
                "foreign key wallets_owner_id_fkey on public.wallets(owner_id) → public.profiles has no index leading with those columns: deletes and joins on public.profiles scan public.wallets"
            ),
            (
                "fail",
                "public.audit_notes",
                "public.audit_notes has no primary key: rows cannot be addressed or replicated reliably"
            ),
            (
                "fail",
                "ledger_entries",
                "required table ledger_entries does not exist"
            ),
            (
                "fail",
                "wallets(owner_id)",
                "no valid index on wallets leads with (owner_id)"
            ),
            (
                "fail",
                "payments(wallet_id)",
                "no valid index on payments leads with (wallet_id)"
            ),
            (
                "fail",
                "payments(message_id, provider)",
                "nothing makes (message_id, provider) unique on payments: duplicates (replayed messages, double charges) are accepted (payments_provider_message_id_key is partial)"
            ),
        ])
    );
}

#[test]
fn schema_passes_the_good_schema_and_knows_what_covers_a_key() {
    let db = fixture(GOOD);
    let good = common::check_json(&project(
        &db.url,
        &[check(
            "schema",
            &SCHEMA_CHECK.replace(", ledger_entries", ""),
        )],
    ));
    let c = check_of(&good, "schema");
    assert_eq!(c["status"], "pass", "{c}");
    assert_eq!(
        c["message"],
        "checked foreign keys indexed, primary keys, 2 required tables, 2 required indexes and 1 unique keys in public"
    );
    // A multi-column key is covered only by an index leading with its columns in order; an
    // invalid or partial index does not count.
    exec(
        &db.admin_url,
        "CREATE TABLE public.pairs (a int, b int, PRIMARY KEY (a, b));
         CREATE TABLE public.refs (id int PRIMARY KEY, a int, b int, c int, FOREIGN KEY (a, b) REFERENCES public.pairs);
         CREATE INDEX refs_b_a ON public.refs (b, a);
         CREATE INDEX refs_a_partial ON public.refs (a, b) WHERE c > 0;
         CREATE TABLE public.refs2 (id int PRIMARY KEY, a int, b int, FOREIGN KEY (a, b) REFERENCES public.pairs);
         CREATE INDEX refs2_a_b_id ON public.refs2 (a, b, id);
         CREATE TABLE public.refs3 (a int, b int, PRIMARY KEY (a, b), FOREIGN KEY (a, b) REFERENCES public.pairs);",
    )
    .unwrap();
    let result = common::check_json(&project(
        &db.url,
        &[check("fk", "schema: { primary_keys: false }")],
    ));
    assert_eq!(
        findings(&result, "fk"),
        owned(&[(
            "fail",
            "public.refs/refs_a_b_fkey",
            "foreign key refs_a_b_fkey on public.refs(a, b) → public.pairs has no index leading with those columns: deletes and joins on public.pairs scan public.refs"
        )])
    );
}

#[test]
fn schema_parameters_are_validated_where_they_are_written() {
    let p = project(
        "postgres://u@127.0.0.1:1/x",
        &[check(
            "s",
            "schema: { indexes: [\"wallets\"], unique: [\"a(b)\"] }",
        )],
    );
    let run = p.ready(&["validate"], &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stdout.contains("`wallets` is not `table(column, …)`")
            || run.stderr.contains("`wallets` is not `table(column, …)`"),
        "{}{}",
        run.stdout,
        run.stderr
    );
}

fn migrations_project(url: &str, files: &[&str], params: &str) -> Project {
    let p = project(url, &[check("mig", &format!("migrations: {params}"))]);
    for f in files {
        p.write(f, "SELECT 1;\n");
    }
    p
}

#[test]
fn migrations_supabase_good_and_bad() {
    let files = [
        "supabase/migrations/20240101000000_init.sql",
        "supabase/migrations/20240102000000_wallets.sql",
    ];
    let good = fixture(GOOD);
    let result = common::check_json(&migrations_project(&good.url, &files, "{}"));
    let c = check_of(&result, "mig");
    assert_eq!(c["status"], "pass", "{c}");
    assert_eq!(
        c["message"],
        "2 migration files in supabase/migrations, all applied (supabase: supabase_migrations.schema_migrations)"
    );
    let bad = fixture(BAD);
    let result = common::check_json(&migrations_project(&bad.url, &files, "{ tool: supabase }"));
    assert_eq!(
        findings(&result, "mig"),
        owned(&[
            (
                "fail",
                "20240102000000_wallets.sql",
                "migration 20240102000000_wallets.sql is not applied (version 20240102000000 is not in supabase_migrations.schema_migrations)"
            ),
            (
                "warn",
                "version 20231231000000",
                "version 20231231000000 is applied (in supabase_migrations.schema_migrations) but no file in supabase/migrations has it"
            ),
        ])
    );
}

#[test]
fn migrations_golang_migrate_dirty_and_sqlx_failed() {
    let db = postgres().fresh_db(
        "CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);
         INSERT INTO schema_migrations VALUES (2, true);",
    );
    let files = [
        "migrations/000001_init.up.sql",
        "migrations/000001_init.down.sql",
        "migrations/000002_users.up.sql",
        "migrations/000003_orders.up.sql",
    ];
    let result = common::check_json(&migrations_project(&db.url, &files, "{}"));
    assert_eq!(
        findings(&result, "mig"),
        owned(&[
            (
                "fail",
                "000002_users.up.sql",
                "migration 000002_users.up.sql is dirty: it failed part-way and the database is in an unknown state"
            ),
            (
                "fail",
                "000003_orders.up.sql",
                "migration 000003_orders.up.sql is not applied (version 3 is not in schema_migrations)"
            ),
        ])
    );

    let db = postgres().fresh_db(
        "CREATE TABLE _sqlx_migrations (version bigint PRIMARY KEY, description text NOT NULL, installed_on timestamptz NOT NULL DEFAULT now(),
                                        success boolean NOT NULL, checksum bytea NOT NULL, execution_time bigint NOT NULL);
         INSERT INTO _sqlx_migrations VALUES
           (20240101, 'init', now(), true, sha384(convert_to(E'SELECT 1;\\n', 'UTF8')), 1),
           (20240102, 'users', now(), false, '\\x00', 1),
           (20240103, 'orders', now(), true, sha384(convert_to(E'SELECT 1;\\n', 'UTF8')), 1);",
    );
    let files = [
        "migrations/20240101_init.sql",
        "migrations/20240102_users.sql",
        "migrations/20240103_orders.sql",
    ];
    let p = migrations_project(&db.url, &files, "{ tool: sqlx }");
    // Edited after sqlx applied it: sqlx itself would refuse to run.
    p.write("migrations/20240103_orders.sql", "SELECT 2;\n");
    let result = common::check_json(&p);
    assert_eq!(
        findings(&result, "mig"),
        owned(&[
            (
                "fail",
                "20240102_users.sql",
                "migration 20240102_users.sql failed (users)"
            ),
            (
                "fail",
                "20240103_orders.sql",
                "migration 20240103_orders.sql was changed after it was applied: its checksum differs from the one sqlx recorded in _sqlx_migrations"
            ),
        ])
    );
}

#[test]
fn migrations_flyway_prisma_and_dbmate() {
    let db = postgres().fresh_db(
        "CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), description varchar(200) NOT NULL,
            type varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum int, installed_by varchar(100) NOT NULL,
            installed_on timestamp NOT NULL DEFAULT now(), execution_time int NOT NULL, success boolean NOT NULL);
         INSERT INTO flyway_schema_history VALUES
           (1, '1', '<< Flyway Baseline >>', 'BASELINE', '<< Flyway Baseline >>', NULL, 'me', now(), 0, true),
           (2, '1.1', 'add', 'SQL', 'V1_1__add.sql', 78787420, 'me', now(), 5, true),
           (3, '1.2', 'broken', 'SQL', 'V1_2__broken.sql', 1, 'me', now(), 5, false),
           (4, NULL, 'views', 'SQL', 'R__views.sql', 1, 'me', now(), 5, true),
           (5, '1.3', 'edited', 'SQL', 'V1_3__edited.sql', 78787420, 'me', now(), 5, true);",
    );
    let files = [
        "db/migration/V1__init.sql",
        "db/migration/V1_1__add.sql",
        "db/migration/V1_2__broken.sql",
        "db/migration/R__views.sql",
        "db/migration/V1_3__edited.sql",
    ];
    let p = migrations_project(&db.url, &files, "{ tool: flyway }");
    // 78787420 is Flyway's CRC32 of `SELECT 1;`; line breaks do not count, an edit does.
    p.write("db/migration/V1_1__add.sql", "SELECT 1;\r\n");
    p.write("db/migration/V1_3__edited.sql", "SELECT 1;\nSELECT 2;\n");
    let result = common::check_json(&p);
    assert_eq!(
        findings(&result, "mig"),
        owned(&[
            (
                "fail",
                "V1_2__broken.sql",
                "migration V1_2__broken.sql failed (V1_2__broken.sql)"
            ),
            (
                "fail",
                "V1_3__edited.sql",
                "migration V1_3__edited.sql was changed after it was applied: its checksum differs from the one flyway recorded in flyway_schema_history"
            ),
        ])
    );

    let db = postgres().fresh_db(
        "CREATE TABLE _prisma_migrations (id varchar(36) PRIMARY KEY, checksum varchar(64) NOT NULL, finished_at timestamptz,
            migration_name varchar(255) NOT NULL, logs text, rolled_back_at timestamptz, started_at timestamptz NOT NULL DEFAULT now(),
            applied_steps_count int NOT NULL DEFAULT 0);
         INSERT INTO _prisma_migrations VALUES
           ('a', 'x', now(), '20240101_init', NULL, NULL, now() - interval '2 days', 1),
           ('b', 'x', NULL, '20240102_users', 'relation users exists', now(), now() - interval '1 day', 0),
           ('c', 'x', NULL, '20240103_orders', E'A migration failed to apply. New migrations cannot be applied before the error is recovered from. Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\\n\\nMigration name: 20240103_orders\\n\\nDatabase error code: 42601\\n\\nDatabase error:\\nERROR: syntax error at or near \"TABLEE\"\\n\\nPosition:\\n  0\\n  1 CREATE TABLEE orders();\\n\\nDbError { severity: \"ERROR\", code: SqlState(E42601) }\\n', NULL, now(), 0);",
    );
    let p = project(
        &db.url,
        &[check("mig", "migrations: { dir: prisma/migrations }")],
    );
    for name in ["20240101_init", "20240102_users", "20240103_orders"] {
        p.write(
            &format!("prisma/migrations/{name}/migration.sql"),
            "SELECT 1;\n",
        );
    }
    p.write(
        "prisma/migrations/migration_lock.toml",
        "provider = \"postgresql\"\n",
    );
    let result = common::check_json(&p);
    assert_eq!(
        findings(&result, "mig"),
        owned(&[
            (
                "fail",
                "20240102_users",
                "migration 20240102_users is not applied (version 20240102_users is not in _prisma_migrations)"
            ),
            (
                "fail",
                "20240103_orders",
                "migration 20240103_orders failed (database error 42601: ERROR: syntax error at or near \"TABLEE\")"
            ),
        ])
    );

    let db = postgres().fresh_db("CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY); INSERT INTO schema_migrations VALUES ('20240101000000');");
    let result = common::check_json(&migrations_project(
        &db.url,
        &["db/migrations/20240101000000_init.sql"],
        "{}",
    ));
    let c = check_of(&result, "mig");
    assert_eq!(c["status"], "pass", "{c}");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("(dbmate: schema_migrations)"),
        "{c}"
    );
}

#[test]
fn migrations_that_cannot_be_verified_are_errors() {
    let db = postgres().fresh_db("");
    let p = migrations_project(&db.url, &["migrations/1_init.sql"], "{}");
    let result = common::check_json(&p);
    let c = check_of(&result, "mig");
    assert_eq!(c["status"], "error");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot tell which migration tool is used: none of "),
        "{c}"
    );

    let result = common::check_json(&migrations_project(
        &db.url,
        &["migrations/1_init.sql"],
        "{ tool: sqlx }",
    ));
    assert_eq!(
        findings(&result, "mig"),
        owned(&[(
            "fail",
            "1_init.sql",
            "migration 1_init.sql is not applied: _sqlx_migrations does not exist"
        )])
    );
    let result = common::check_json(&migrations_project(
        &db.url,
        &[],
        "{ tool: dbmate, dir: nowhere }",
    ));
    let c = check_of(&result, "mig");
    assert_eq!(c["status"], "error");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot read the migration folder nowhere: "),
        "{c}"
    );
}

static CRON: OnceLock<String> = OnceLock::new();

/// The `postgres` database with pg_cron installed.
pub(crate) fn cron_db() -> &'static str {
    CRON.get_or_init(|| {
        let url = postgres().url("postgres");
        exec(&url, "CREATE EXTENSION IF NOT EXISTS pg_cron").unwrap();
        url
    })
}

#[test]
fn cron_jobs_exist_are_active_succeeded_and_ran_recently() {
    let url = cron_db();
    exec(
        url,
        "SELECT cron.schedule('ready-ok', '*/5 * * * *', 'SELECT 1');
         SELECT cron.schedule('ready-failed', '*/5 * * * *', 'SELECT process_dlq()');
         SELECT cron.schedule('ready-stale', '*/5 * * * *', 'SELECT 1');
         SELECT cron.schedule('ready-inactive', '*/5 * * * *', 'SELECT 1');
         SELECT cron.alter_job((SELECT jobid FROM cron.job WHERE jobname = 'ready-inactive'), active := false);
         SELECT cron.schedule('ready-never', '*/5 * * * *', 'SELECT 1');
         SELECT cron.schedule('ready-yearly', '0 0 1 1 *', 'SELECT 1');
         INSERT INTO cron.job_run_details (jobid, job_pid, database, username, command, status, return_message, start_time, end_time)
         SELECT jobid, 1, 'postgres', 'postgres', command, s.status, s.message, now() - s.ago - interval '1 second', now() - s.ago
         FROM cron.job JOIN (VALUES
             ('ready-ok', 'succeeded', 'SELECT 1', interval '2 minutes'),
             ('ready-ok', 'failed', 'an older failure', interval '20 minutes'),
             ('ready-failed', 'failed', 'ERROR:  function process_dlq() does not exist', interval '1 minute'),
             ('ready-stale', 'succeeded', 'SELECT 1', interval '1 hour'),
             ('ready-yearly', 'succeeded', 'SELECT 1', interval '3 days')
         ) AS s(name, status, message, ago) ON s.name = jobname;",
    )
    .unwrap();
    let p = project(
        &postgres().reader_url("postgres"),
        &[
            check("ok", "cron_job: { jobs: [ready-ok] }"),
            check(
                "all",
                "cron_job: { jobs: [ready-failed, ready-stale, ready-inactive, ready-never, ready-ghost] }",
            ),
            check("yearly", "cron_job: { jobs: [ready-yearly] }"),
            check(
                "yearly-bounded",
                "cron_job: { jobs: [ready-yearly], max_age: 400d }",
            ),
        ],
    );
    let result = common::check_json(&p);
    let ok = check_of(&result, "ok");
    assert_eq!(ok["status"], "pass", "{ok}");
    let all = findings(&result, "all");
    assert_eq!(
        all[0].2,
        "pg_cron job ready-ghost does not exist (cron.job has 6 job(s))"
    );
    assert_eq!(
        all[1].2,
        "the last run of pg_cron job ready-failed failed: ERROR:  function process_dlq() does not exist"
    );
    assert!(
        all[2]
            .2
            .starts_with("pg_cron job ready-stale (*/5 * * * *) last ran 1h"),
        "{}",
        all[2].2
    );
    assert!(all[2].2.ends_with("ago, longer than 10m"), "{}", all[2].2);
    assert_eq!(
        all[3].2,
        "pg_cron job ready-inactive (*/5 * * * *) is not active"
    );
    assert_eq!(
        all[4].2,
        "pg_cron job ready-never (*/5 * * * *) has never completed a run"
    );
    assert_eq!(all.len(), 5);
    assert!(all.iter().all(|f| f.0 == "fail"));
    let yearly = findings(&result, "yearly");
    assert_eq!(yearly[0].0, "warn");
    assert!(
        yearly[0].2.ends_with(
            "its schedule `0 0 1 1 *` is not simple, so set max_age to check that it runs on time"
        ),
        "{}",
        yearly[0].2
    );
    assert_eq!(check_of(&result, "yearly-bounded")["status"], "pass");

    // pg_cron shows a non-superuser only its own jobs: a missing job may just be invisible.
    exec(
        url,
        "DO $$ BEGIN CREATE ROLE ready_cron_weak LOGIN PASSWORD 'weak-cron-3'; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
         GRANT USAGE ON SCHEMA cron TO ready_cron_weak;",
    )
    .unwrap();
    let weak = format!(
        "postgres://ready_cron_weak:weak-cron-3@127.0.0.1:{}/postgres",
        postgres().port
    );
    let result = common::check_json(&project(
        &weak,
        &[check("cron", "cron_job: { jobs: [ready-ok] }")],
    ));
    assert_eq!(
        findings(&result, "cron"),
        owned(&[(
            "fail",
            "ready-ok",
            "pg_cron job ready-ok does not exist or is not visible to ready_cron_weak, which sees only its own jobs (cron.job has 0 job(s))"
        )])
    );
}

#[test]
fn cron_job_without_pg_cron_fails_naming_it() {
    let db = postgres().fresh_db("");
    let result = common::check_json(&project(
        &db.url,
        &[check("cron", "cron_job: { jobs: [dlq] }")],
    ));
    assert_eq!(
        findings(&result, "cron"),
        owned(&[(
            "fail",
            "pg_cron",
            "pg_cron is not installed in this database (no cron.job table): scheduled jobs cannot run"
        )])
    );
}
