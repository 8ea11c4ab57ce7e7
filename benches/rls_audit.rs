//! `rls_audit` over a generated database of 10,000 tables with policies (target: under 1 s, a fixed
//! number of catalog queries). Starts its own PostgreSQL with pg_stat_statements, so the number of
//! statements the audit sent is counted by the server, not by us.
//!
//! Run: `cargo bench --bench rls_audit` (`READY_BENCH_TABLES=N` to change the size).

// The bench borrows the test harness's server helpers and uses a few of them.
#[path = "../tests/it/common.rs"]
#[allow(dead_code)]
mod common;

use std::time::Instant;

fn main() {
    let tables: usize = std::env::var("READY_BENCH_TABLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let server = common::start_cluster(&[
        "shared_preload_libraries=pg_stat_statements",
        "pg_stat_statements.track=all",
        "max_locks_per_transaction=1024",
    ]);
    let setup = Instant::now();
    let db = server.fresh_db(&format!(
        "{}
         CREATE EXTENSION pg_stat_statements;
         DO $$
         BEGIN
           FOR i IN 1..{tables} LOOP
             EXECUTE format('CREATE TABLE public.t%s (id bigint PRIMARY KEY, owner_id uuid NOT NULL, amount numeric, api_key text)', i);
             IF i % 10 <> 0 THEN
               EXECUTE format('ALTER TABLE public.t%s ENABLE ROW LEVEL SECURITY', i);
               EXECUTE format('CREATE POLICY own ON public.t%s FOR ALL TO authenticated USING (owner_id = auth.uid()) WITH CHECK (owner_id = auth.uid())', i);
               EXECUTE format('CREATE POLICY anyone ON public.t%s FOR SELECT TO anon USING (true)', i);
             END IF;
           END LOOP;
         END
         $$;",
        include_str!("../fixtures/supabase-base.sql")
    ));
    eprintln!(
        "generated {tables} tables in {:.1}s",
        setup.elapsed().as_secs_f64()
    );

    let project = common::Project::new(&format!(
        "version: 1\nproject: bench\ntargets:\n  db:\n    postgres: \"{}\"\n    api_roles: [anon, authenticated]\n\
         defaults: {{ timeout: 120s }}\nchecks:\n  - id: rls\n    category: security\n    severity: critical\n    target: db\n    rls_audit: {{}}\n",
        db.url
    ));
    let mut durations = Vec::new();
    let mut statements = String::new();
    for round in 0..3 {
        common::exec(&db.url, "SELECT pg_stat_statements_reset()").unwrap();
        let wall = Instant::now();
        let run = project.ready(&["check", "--format", "json"], &[]);
        let wall = wall.elapsed();
        let result = run.json();
        let check = &result["checks"][0];
        assert_eq!(check["kind"], "rls_audit", "{}", run.stderr);
        let findings = check["findings"].as_array().map_or(0, Vec::len);
        let check_ms = check["duration_ms"].as_f64().unwrap_or(f64::NAN);
        statements = common::query_text(
            &db.url,
            &format!(
                "SELECT coalesce(sum(calls), 0)::text || ' statements: ' || coalesce(string_agg(calls || '× ' || round(total_exec_time) || ' ms ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 50), '; ' ORDER BY total_exec_time DESC), '')
                 FROM pg_stat_statements
                 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '{}') AND query NOT LIKE '%pg_stat_statements%'",
                db.name
            ),
        );
        eprintln!(
            "round {round}: check {check_ms:.0} ms, process {:.0} ms, {findings} findings, {} relations",
            wall.as_secs_f64() * 1000.0,
            check["measurements"]["relations"]
        );
        durations.push(check_ms);
    }
    durations.sort_by(f64::total_cmp);
    println!(
        "rls_audit over {tables} tables: median {:.0} ms (min {:.0}, max {:.0}); {statements}",
        durations[1], durations[0], durations[2]
    );
}
