//! `rls_audit`, `rls_probe` and `audit_log` against the Supabase-like fixtures on a real server.

use crate::common;

use crate::common::{Project, TestDb, check_of, exec, postgres, query_text};
use serde_json::Value;

const BASE: &str = include_str!("../../fixtures/supabase-base.sql");
pub(crate) const GOOD: &str = include_str!("../../fixtures/supabase-good.sql");
pub(crate) const BAD: &str = include_str!("../../fixtures/supabase-bad.sql");

const ALICE: &str = "00000000-0000-4000-8000-00000000a11c";
const BOB: &str = "00000000-0000-4000-8000-000000000b0b";

/// The fixture, with what `audit_log`'s fire test needs of the least-privilege role: UPDATE on
/// the audited tables (docs/least-privilege.md).
pub(crate) fn fixture(variant: &str) -> TestDb {
    let db = postgres().fresh_db(&format!("{BASE}\n{variant}"));
    let grant = "GRANT UPDATE ON public.wallets, public.payments TO";
    exec(&db.admin_url, &format!("{grant} {}", common::READER)).unwrap();
    db
}

/// The URL `rls_probe` tests connect with: `PROBER`, with the rights on the probed tables it
/// would otherwise inherit from the API roles.
fn prober(db: &TestDb) -> String {
    let url = postgres().prober_url(&db.name);
    let grant = "GRANT SELECT, INSERT ON public.wallets, public.profiles TO";
    exec(&db.admin_url, &format!("{grant} {}", common::PROBER)).unwrap();
    url
}

/// A project with target `db` (`target_extra` adds lines under it) and the given checks.
fn project(url: &str, target_extra: &str, checks: &[String]) -> Project {
    Project::new(&format!(
        "version: 1\nproject: pg-security\ntargets:\n  db:\n    postgres: \"{url}\"\n{target_extra}checks:\n{}",
        checks.concat()
    ))
}

fn check(id: &str, kind: &str) -> String {
    format!(
        "  - id: {id}\n    category: security\n    severity: critical\n    target: db\n    {kind}\n"
    )
}

const API_ROLES: &str = "    api_roles: [anon, authenticated]\n";
const WRITABLE: &str = "    api_roles: [anon, authenticated]\n    allow_writes: true\n";

/// (level, subject, rule) of each finding, in report order.
fn findings(result: &Value, id: &str) -> Vec<(String, String, String)> {
    check_of(result, id)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["level"].as_str().unwrap().to_string(),
                f["subject"].as_str().unwrap().to_string(),
                f["evidence"]["rule"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn messages(result: &Value, id: &str) -> Vec<String> {
    check_of(result, id)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect()
}

fn triples(expected: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

/// The rows a probe might touch, to prove nothing was committed.
fn snapshot(url: &str) -> String {
    query_text(
        url,
        "SELECT (SELECT string_agg(id || ':' || owner_id || ':' || balance, ',' ORDER BY id) FROM public.wallets)
             || '|' || (SELECT count(*) FROM public.payments)
             || '|' || (SELECT count(*) FROM public.profiles)",
    )
}

#[test]
fn rls_audit_names_every_mistake_of_the_bad_schema() {
    let db = fixture(BAD);
    let p = project(
        &db.url,
        "    api_roles: [anon, authenticated, api_bypass]\n",
        &[check("rls", "rls_audit: {}")],
    );
    let result = common::check_json(&p);
    assert_eq!(check_of(&result, "rls")["status"], "fail");
    assert_eq!(
        findings(&result, "rls"),
        triples(&[
            ("fail", "api_bypass", "role_bypass"),
            ("fail", "public.api_owned", "role_bypass"),
            ("fail", "public.audit_log", "rls_disabled"),
            ("warn", "public.audit_notes", "rls_no_policy"),
            ("warn", "public.daily_totals", "unprotected_relation"),
            ("fail", "public.orders/orders_insert", "permissive_write"),
            ("fail", "public.payments", "rls_disabled"),
            ("fail", "public.payments", "policy_without_rls"),
            ("fail", "public.payments", "force_rls"),
            ("fail", "public.profiles", "rls_disabled"),
            ("fail", "public.profiles", "sensitive_columns_exposed"),
            ("fail", "public.wallet_summary", "security_definer_view"),
            ("fail", "public.wallets", "force_rls"),
            ("fail", "public.wallets/wallets_insert", "permissive_write"),
            ("warn", "public.wallets/wallets_read_all", "permissive_read"),
            ("fail", "public.wallets/wallets_update", "permissive_write"),
            (
                "fail",
                "public.orders/orders_admin",
                "user_metadata_in_policy"
            ),
            (
                "fail",
                "public.admin_set_balance(p_wallet bigint, p_balance numeric)",
                "exposed_definer_function"
            ),
            (
                "warn",
                "public.current_wallet()",
                "exposed_definer_function"
            ),
        ])
    );
    let m = messages(&result, "rls");
    assert_eq!(
        m[0],
        "API role api_bypass has BYPASSRLS: no policy applies to it"
    );
    assert_eq!(
        m[1],
        "API role authenticated owns public.api_owned (owner authenticated), so it bypasses its row level security and can alter or drop it"
    );
    assert_eq!(
        m[9],
        "public.profiles has row level security disabled: anon can SELECT, INSERT, UPDATE, DELETE; authenticated can SELECT, INSERT, UPDATE, DELETE"
    );
    assert_eq!(
        m[7],
        "public.payments has 1 policy (payments_owner) but row level security is disabled, so they do nothing"
    );
    assert_eq!(
        m[10],
        "public.profiles exposes sensitive column password_hash to anon and authenticated without row level security"
    );
    assert_eq!(
        m[12],
        "sensitive table public.wallets has row level security enabled but not forced, so its owner bypasses it (needs ENABLE and FORCE)"
    );
    assert_eq!(
        m[15],
        "permissive UPDATE policy public.wallets/wallets_update for authenticated: USING is always true and there is no WITH CHECK, so any row can be written"
    );
    assert_eq!(
        m[5],
        "permissive INSERT policy public.orders/orders_insert for anon: WITH CHECK is always true, so any row can be written"
    );
    assert!(
        m[16].starts_with("policy public.orders/orders_admin trusts user_metadata"),
        "{}",
        m[16]
    );
    assert!(
        m[17].contains(
            "is executable by anon, authenticated and api_bypass and has no fixed search_path"
        ),
        "{}",
        m[17]
    );
    let measurements = &check_of(&result, "rls")["measurements"];
    assert_eq!(measurements["catalog_queries"], 5.0);
    assert_eq!(measurements["relations"], 9.0);
}

#[test]
fn rls_audit_finds_nothing_in_the_good_schema() {
    let db = fixture(GOOD);
    let p = project(
        &db.url,
        API_ROLES,
        &[
            check("rls", "rls_audit: { public_read: [countries] }"),
            check("rls-strict", "rls_audit: { rules: [permissive_read] }"),
        ],
    );
    let result = common::check_json(&p);
    let rls = check_of(&result, "rls");
    assert_eq!(rls["status"], "pass", "{rls}");
    assert_eq!(
        rls["message"],
        "5 relations, 6 policies and 0 SECURITY DEFINER functions in public audited against 12 rules"
    );
    // Without public_read, the deliberately public reference table is a warning, nothing else.
    assert_eq!(
        findings(&result, "rls-strict"),
        triples(&[(
            "warn",
            "public.countries/countries_public_read",
            "permissive_read"
        )])
    );
    assert_eq!(check_of(&result, "rls-strict")["status"], "warn");
}

#[test]
fn rls_audit_selects_rules_schemas_and_sensitive_tables() {
    let db = fixture(BAD);
    let p = project(
        &db.url,
        API_ROLES,
        &[
            check(
                "only-force",
                "rls_audit: { rules: [force_rls], sensitive: [orders] }",
            ),
            check("other-schema", "rls_audit: { schemas: [auth] }"),
        ],
    );
    let result = common::check_json(&p);
    assert_eq!(
        findings(&result, "only-force"),
        triples(&[("fail", "public.orders", "force_rls")])
    );
    assert_eq!(check_of(&result, "other-schema")["status"], "pass");
}

#[test]
fn rls_audit_without_api_roles_checks_public_and_says_so() {
    let db = fixture(BAD);
    exec(&db.admin_url, "GRANT SELECT ON public.profiles TO PUBLIC").unwrap();
    let p = project(
        &db.url,
        "",
        &[check(
            "rls",
            "rls_audit: { rules: [rls_disabled, sensitive_columns_exposed, exposed_definer_function] }",
        )],
    );
    let result = common::check_json(&p);
    assert_eq!(
        messages(&result, "rls"),
        [
            "no api_roles configured, so only PUBLIC grants were checked, yet this server has the API roles anon and authenticated: set api_roles: [anon, authenticated] on the target",
            "public.profiles has row level security disabled: PUBLIC can SELECT (no api_roles configured: PUBLIC grants checked)",
            "public.profiles exposes sensitive column password_hash to PUBLIC without row level security (no api_roles configured: PUBLIC grants checked)",
            "SECURITY DEFINER function public.admin_set_balance(p_wallet bigint, p_balance numeric) is executable by PUBLIC and has no fixed search_path: a caller can hijack the objects it resolves (no api_roles configured: PUBLIC grants checked)",
            "SECURITY DEFINER function public.current_wallet() is executable by PUBLIC: it runs with its owner's rights (no api_roles configured: PUBLIC grants checked)",
        ]
    );
}

#[test]
fn a_missing_api_role_is_an_error_never_a_pass() {
    let db = fixture(GOOD);
    let p = project(
        &db.url,
        "    api_roles: [anon, ghost_role]\n    allow_writes: true\n",
        &[
            check("rls", "rls_audit: {}"),
            check("audit", "audit_log: {}"),
            check(
                "probe",
                &format!(
                    "rls_probe: {{ table: wallets, owner_column: owner_id, role: authenticated, claims: {{ sub: {ALICE} }} }}"
                ),
            ),
        ],
    );
    let result = common::check_json(&p);
    for id in ["rls", "audit", "probe"] {
        let c = check_of(&result, id);
        assert_eq!(c["status"], "error", "{c}");
        assert_eq!(
            c["message"],
            "API role `ghost_role` (from api_roles) does not exist on the server"
        );
    }
}

#[test]
fn unknown_rules_and_bad_parameters_are_located_configuration_errors() {
    let p = project(
        "postgres://u@127.0.0.1:1/x",
        "",
        &[
            check("a", "rls_audit: { rules: [rls_disabled, rls_everywhere] }"),
            check(
                "b",
                "rls_probe: { table: wallets, owner_column: owner_id, claims: { role: x } }",
            ),
            check("c", "audit_log: { operations: [insert, upsert] }"),
        ],
    );
    let run = p.ready(&["validate"], &[]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    let out = format!("{}{}", run.stdout, run.stderr);
    for expected in [
        "ready.yaml:11:40: unknown variant `rls_everywhere`",
        "ready.yaml:16:66: claims need a `sub`: the subject whose rows the probe may see",
        "ready.yaml:21:39: unknown variant `upsert`",
    ] {
        assert!(out.contains(expected), "{expected} in {out}");
    }
}

#[test]
fn rls_probe_passes_the_good_schema_and_commits_nothing() {
    let db = fixture(GOOD);
    let before = snapshot(&db.admin_url);
    let probe = format!(
        "rls_probe: {{ table: wallets, owner_column: owner_id, role: authenticated, claims: {{ sub: {ALICE}, role: authenticated }}, other_subject: {BOB} }}"
    );
    let result = common::check_json(&project(&prober(&db), WRITABLE, &[check("probe", &probe)]));
    let c = check_of(&result, "probe");
    assert_eq!(c["status"], "pass", "{c}");
    assert_eq!(
        c["message"],
        "public.wallets: authenticated sees 1 rows, none foreign; anon sees 0 rows; UPDATE of foreign rows affects none; foreign INSERT refused (new row violates row-level security policy for table \"wallets\")"
    );
    assert_eq!(snapshot(&db.admin_url), before);
}

#[test]
fn rls_probe_catches_foreign_reads_updates_and_inserts_and_commits_nothing() {
    let db = fixture(BAD);
    let before = snapshot(&db.admin_url);
    let probe = format!(
        "rls_probe: {{ table: wallets, owner_column: owner_id, role: authenticated, claims: {{ sub: {ALICE}, role: authenticated }}, other_subject: {BOB} }}"
    );
    let anon_probe =
        format!("rls_probe: {{ table: profiles, owner_column: id, claims: {{ sub: {ALICE} }} }}");
    let result = common::check_json(&project(
        &prober(&db),
        WRITABLE,
        &[check("probe", &probe), check("profiles", &anon_probe)],
    ));
    assert_eq!(
        messages(&result, "probe"),
        [
            format!(
                "as authenticated with sub {ALICE}, 1 of 2 visible rows of public.wallets belong to another owner_id"
            ),
            format!(
                "as authenticated with sub {ALICE}, an UPDATE changed 1 rows of public.wallets owned by others"
            ),
            format!(
                "as authenticated with sub {ALICE}, an INSERT of a row with owner_id = {BOB} was accepted"
            ),
        ]
    );
    // Default role: the first API role (anon); RLS is off, so everything is visible.
    let profiles = messages(&result, "profiles");
    assert_eq!(
        profiles[0],
        format!(
            "as anon with sub {ALICE}, 1 of 2 visible rows of public.profiles belong to another id"
        )
    );
    assert_eq!(snapshot(&db.admin_url), before);
}

#[test]
fn rls_probe_needs_foreign_rows_and_seeds_one_only_with_allow_writes() {
    let db = fixture(GOOD);
    exec(
        &db.admin_url,
        &format!(
            "DELETE FROM public.payments; DELETE FROM public.wallets WHERE owner_id = '{BOB}'"
        ),
    )
    .unwrap();
    let before = snapshot(&db.admin_url);
    let probe = format!(
        "rls_probe: {{ table: wallets, owner_column: owner_id, role: authenticated, claims: {{ sub: {ALICE} }}, other_subject: {BOB} }}"
    );
    let read_only =
        common::check_json(&project(&prober(&db), API_ROLES, &[check("probe", &probe)]));
    let c = check_of(&read_only, "probe");
    assert_eq!(c["status"], "error");
    assert_eq!(
        c["message"],
        format!(
            "cannot verify: no foreign rows in public.wallets (none whose owner_id is not {ALICE}); set allow_writes: true on the target to let the probe insert one (always rolled back)"
        )
    );
    let writable = common::check_json(&project(&prober(&db), WRITABLE, &[check("probe", &probe)]));
    let c = check_of(&writable, "probe");
    assert_eq!(c["status"], "pass", "{c}");
    assert_eq!(c["measurements"]["foreign_rows"], 1.0);
    assert_eq!(snapshot(&db.admin_url), before);
}

#[test]
fn rls_probe_errors_name_what_is_missing() {
    let db = fixture(GOOD);
    let p = project(
        &prober(&db),
        API_ROLES,
        &[
            check(
                "table",
                &format!(
                    "rls_probe: {{ table: nowhere, owner_column: id, claims: {{ sub: {ALICE} }} }}"
                ),
            ),
            check(
                "column",
                &format!(
                    "rls_probe: {{ table: wallets, owner_column: owner, claims: {{ sub: {ALICE} }} }}"
                ),
            ),
            check(
                "role",
                &format!(
                    "rls_probe: {{ table: wallets, owner_column: owner_id, role: nobody_here, claims: {{ sub: {ALICE} }} }}"
                ),
            ),
        ],
    );
    let result = common::check_json(&p);
    assert_eq!(
        check_of(&result, "table")["message"],
        "table public.nowhere does not exist"
    );
    assert_eq!(
        check_of(&result, "column")["message"],
        "public.wallets has no column `owner`"
    );
    assert_eq!(
        check_of(&result, "role")["message"],
        "role `nobody_here` does not exist on the server"
    );
}

#[test]
fn audit_log_passes_the_good_schema_with_a_fire_test_that_commits_nothing() {
    let db = fixture(GOOD);
    let audit_rows = query_text(
        &db.admin_url,
        "SELECT count(*)::text FROM audit.logged_actions",
    );
    let before = snapshot(&db.admin_url);
    let result = common::check_json(&project(
        &db.url,
        WRITABLE,
        &[check(
            "audit",
            "audit_log: { tables: [wallets, payments, \"ledger*\"], fire_test: true }",
        )],
    ));
    let c = check_of(&result, "audit");
    assert_eq!(c["status"], "pass", "{c}");
    assert_eq!(
        c["message"],
        "audit table audit.logged_actions; 2 table(s) covered for INSERT, UPDATE, DELETE and TRUNCATE; immutable"
    );
    assert_eq!(c["measurements"]["fire_tested_tables"], 2.0);
    assert_eq!(
        query_text(
            &db.admin_url,
            "SELECT count(*)::text FROM audit.logged_actions"
        ),
        audit_rows
    );
    assert_eq!(snapshot(&db.admin_url), before);
}

#[test]
fn audit_log_names_every_hole_of_the_bad_schema() {
    let db = fixture(BAD);
    let before = snapshot(&db.admin_url);
    let result = common::check_json(&project(
        &db.url,
        WRITABLE,
        &[check(
            "audit",
            "audit_log: { tables: [wallets, payments, ledger_entries], fire_test: true }",
        )],
    ));
    assert_eq!(
        messages(&result, "audit"),
        [
            "anon can INSERT forged entries, UPDATE, DELETE and TRUNCATE (row level security does not stop TRUNCATE) on the audit table public.audit_log",
            "authenticated can INSERT forged entries, UPDATE, DELETE and TRUNCATE (row level security does not stop TRUNCATE) on the audit table public.audit_log",
            "audited table ledger_entries does not exist in public",
            "public.payments is not audited for INSERT, UPDATE and DELETE: it has no enabled AFTER row trigger for INSERT, UPDATE and DELETE",
            "trigger payments_audit on public.payments is disabled",
            "public.wallets is not audited for DELETE and TRUNCATE: it has no enabled AFTER row trigger for DELETE and no enabled TRUNCATE statement trigger",
            "fire test: an UPDATE of one row of public.payments added no row to public.audit_log",
            "fire test: an UPDATE of one row of public.wallets added no row to public.audit_log",
        ]
    );
    assert_eq!(snapshot(&db.admin_url), before);
}

#[test]
fn audit_log_immutability_does_not_trust_unforced_rls() {
    let db = fixture(GOOD);
    exec(
        &db.admin_url,
        "DO $$ BEGIN CREATE ROLE ready_test_auditor LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
         GRANT USAGE ON SCHEMA audit TO ready_test_auditor;
         GRANT SELECT, UPDATE, DELETE ON audit.logged_actions TO ready_test_auditor;
         ALTER TABLE audit.logged_actions ENABLE ROW LEVEL SECURITY;",
    )
    .unwrap();
    let result = common::check_json(&project(
        &db.url,
        API_ROLES,
        &[check("audit", "audit_log: {}")],
    ));
    assert_eq!(
        messages(&result, "audit"),
        [
            "ready_test_auditor holds UPDATE and DELETE on the audit table audit.logged_actions, held back only by row level security that is not forced: the owner and BYPASSRLS roles skip it (revoke the grants or FORCE ROW LEVEL SECURITY)"
        ]
    );
    exec(
        &db.admin_url,
        "ALTER TABLE audit.logged_actions FORCE ROW LEVEL SECURITY",
    )
    .unwrap();
    let forced = common::check_json(&project(
        &db.url,
        API_ROLES,
        &[check("audit", "audit_log: {}")],
    ));
    assert_eq!(
        check_of(&forced, "audit")["status"],
        "pass",
        "{}",
        check_of(&forced, "audit")
    );
    exec(&db.admin_url, "CREATE POLICY audit_fix ON audit.logged_actions FOR UPDATE TO ready_test_auditor USING (true)").unwrap();
    let with_policy = common::check_json(&project(
        &db.url,
        API_ROLES,
        &[check("audit", "audit_log: {}")],
    ));
    assert_eq!(
        messages(&with_policy, "audit"),
        [
            "ready_test_auditor can UPDATE (a policy allows it) on the audit table audit.logged_actions"
        ]
    );
}

#[test]
fn audit_log_missing_table_fails_and_fire_test_needs_allow_writes() {
    let db = postgres().fresh_db(BASE);
    let result = common::check_json(&project(
        &db.url,
        API_ROLES,
        &[
            check("audit", "audit_log: {}"),
            check("named", "audit_log: { table: audit.events }"),
        ],
    ));
    assert_eq!(
        messages(&result, "audit"),
        ["no audit table: none of audit_log, audit.record_version and audit.logged_actions exists"]
    );
    assert_eq!(
        messages(&result, "named"),
        ["the audit table audit.events does not exist"]
    );
    let good = fixture(GOOD);
    let result = common::check_json(&project(
        &good.url,
        API_ROLES,
        &[check(
            "fire",
            "audit_log: { tables: [wallets], fire_test: true }",
        )],
    ));
    let c = check_of(&result, "fire");
    assert_eq!(c["status"], "error");
    assert_eq!(
        c["message"],
        "this probe writes (always rolled back) and the target does not set allow_writes: true"
    );
}

#[test]
fn rls_audit_covers_partitioned_tables_and_skips_extension_objects() {
    let db = fixture(GOOD);
    // pg_stat_statements puts views readable by PUBLIC into `public`: they are the extension's.
    exec(
        &db.admin_url,
        "CREATE EXTENSION pg_stat_statements;
         CREATE TABLE public.events (id bigint, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
         CREATE TABLE public.events_2026 PARTITION OF public.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
         ALTER TABLE public.events ENABLE ROW LEVEL SECURITY;
         CREATE POLICY events_own ON public.events FOR SELECT TO authenticated USING (false);",
    )
    .unwrap();
    let result = common::check_json(&project(
        &db.url,
        API_ROLES,
        &[check(
            "rls",
            "rls_audit: { rules: [rls_disabled, security_definer_view] }",
        )],
    ));
    // The partition is reachable on its own (default privileges granted it), and has no RLS.
    assert_eq!(
        findings(&result, "rls"),
        triples(&[("fail", "public.events_2026", "rls_disabled")])
    );
}

#[test]
fn missing_privileges_are_errors() {
    let db = fixture(GOOD);
    exec(
        &db.admin_url,
        "DO $$ BEGIN CREATE ROLE ready_test_weak LOGIN PASSWORD 'weak-pw-7'; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
         GRANT SELECT ON public.wallets TO ready_test_weak;",
    )
    .unwrap();
    let weak = format!(
        "postgres://ready_test_weak:weak-pw-7@127.0.0.1:{}/{}",
        postgres().port,
        db.name
    );
    let probe = format!(
        "rls_probe: {{ table: wallets, owner_column: owner_id, role: authenticated, claims: {{ sub: {ALICE} }} }}"
    );
    let result = common::check_json(&project(
        &weak,
        "    api_roles: [anon, authenticated]\n    allow_writes: true\n",
        &[
            check("probe", &probe),
            check("fire", "audit_log: { tables: [payments], fire_test: true }"),
        ],
    ));
    let c = check_of(&result, "probe");
    assert_eq!(c["status"], "error");
    // Forced RLS hides every row from a user without a policy: nothing foreign to test against,
    // and seeding one needs privileges this user lacks.
    assert_eq!(
        c["message"],
        "cannot verify: no foreign rows in public.wallets, and inserting one (owner 00000000-0000-4000-8000-00000000f0e1) failed: permission denied for table wallets (SQLSTATE 42501)"
    );
    let fire = check_of(&result, "fire");
    assert_eq!(fire["status"], "error", "{fire}");
    assert_eq!(
        fire["message"],
        "cannot read the catalog: permission denied for schema audit (SQLSTATE 42501)"
    );
    exec(&db.admin_url, "GRANT USAGE ON SCHEMA audit TO ready_test_weak; GRANT SELECT ON audit.logged_actions TO ready_test_weak;").unwrap();
    let result = common::check_json(&project(
        &weak,
        "    api_roles: [anon, authenticated]\n    allow_writes: true\n",
        &[check(
            "fire",
            "audit_log: { tables: [payments], fire_test: true }",
        )],
    ));
    let fire = check_of(&result, "fire");
    assert_eq!(fire["status"], "error", "{fire}");
    assert_eq!(
        fire["message"],
        "fire test: cannot update public.payments: permission denied for table payments (SQLSTATE 42501)"
    );
}

#[test]
fn the_built_in_suite_runs_the_postgres_checks_from_database_url() {
    let bad = fixture(BAD);
    let good = fixture(GOOD);
    let p = Project::new("");
    std::fs::remove_file(p.path("ready.yaml")).unwrap();
    let statuses = |url: &str| {
        let run = p.ready(&["check", "--format", "json"], &[("DATABASE_URL", url)]);
        let result = run.json();
        common::assert_valid_result(&result);
        ["postgres.rls", "postgres.audit-log", "postgres.schema"].map(|id| {
            check_of(&result, id)["status"]
                .as_str()
                .unwrap()
                .to_string()
        })
    };
    assert_eq!(statuses(&bad.url), ["fail", "fail", "fail"]);
    // Without api_roles the built-in target checks PUBLIC, and warns that anon/authenticated exist.
    assert_eq!(statuses(&good.url), ["warn", "pass", "pass"]);
}

/// Issue 11: subjects schema-qualified whatever the search_path, the rule in the fingerprint,
/// `security_invoker = t` read as PostgreSQL reads it, column grants, trigger functions.
#[test]
fn rls_audit_reads_the_catalog_as_postgresql_does() {
    let db = fixture(GOOD);
    exec(
        &db.admin_url,
        "CREATE TYPE public.app_role AS ENUM ('user', 'admin');
         CREATE FUNCTION public.grant_role(r app_role) RETURNS void
           LANGUAGE sql SECURITY DEFINER SET search_path = '' AS 'SELECT NULL';
         CREATE FUNCTION public.touch() RETURNS trigger
           LANGUAGE plpgsql SECURITY DEFINER AS $$BEGIN RETURN NEW; END$$;
         CREATE VIEW public.wallet_ids WITH (security_invoker = t) AS SELECT id FROM public.wallets;
         CREATE VIEW public.wallet_owners WITH (security_invoker = tr) AS SELECT owner_id FROM public.wallets;
         GRANT SELECT ON public.wallet_ids, public.wallet_owners TO anon;
         CREATE TABLE public.accounts (id int PRIMARY KEY, api_key text);
         CREATE TABLE public.tokens (id int PRIMARY KEY, api_key text);
         REVOKE ALL ON public.accounts, public.tokens FROM anon, authenticated;
         GRANT SELECT (id) ON public.accounts TO anon;
         GRANT SELECT (api_key) ON public.tokens TO authenticated;",
    )
    .unwrap();
    let p = project(
        &db.url,
        API_ROLES,
        &[check("rls", "rls_audit: { public_read: [countries] }")],
    );
    let result = common::check_json(&p);
    let found: Vec<(String, String)> = check_of(&result, "rls")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["fingerprint"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        (
            "rls:public.accounts#rls_disabled",
            "public.accounts has row level security disabled: anon can SELECT",
        ),
        (
            "rls:public.tokens#rls_disabled",
            "public.tokens has row level security disabled: authenticated can SELECT",
        ),
        (
            "rls:public.tokens#sensitive_columns_exposed",
            "public.tokens exposes sensitive column api_key to authenticated without row level security",
        ),
        (
            "rls:public.grant_role(r public.app_role)#exposed_definer_function",
            "SECURITY DEFINER function public.grant_role(r public.app_role) is executable by anon and authenticated: it runs with its owner's rights",
        ),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(f, m)| (f.to_string(), m.to_string()))
        .collect();
    assert_eq!(found, expected);
}

/// A schema named in `exposed_schemas` or `schemas` that does not exist is a typo: `error`.
#[test]
fn rls_audit_of_a_schema_that_does_not_exist_is_an_error() {
    let db = fixture(GOOD);
    let expected = "schema `pubic` does not exist, so it cannot be audited: correct the target's exposed_schemas or the check's schemas";
    let exposed = project(
        &db.url,
        "    api_roles: [anon, authenticated]\n    exposed_schemas: [pubic]\n",
        &[check("rls", "rls_audit: {}")],
    );
    let by_param = project(
        &db.url,
        API_ROLES,
        &[check("rls", "rls_audit: { schemas: [public, pubic] }")],
    );
    for p in [exposed, by_param] {
        let result = common::check_json(&p);
        let rls = check_of(&result, "rls");
        assert_eq!(
            (rls["status"].as_str(), rls["message"].as_str()),
            (Some("error"), Some(expected))
        );
    }
}
