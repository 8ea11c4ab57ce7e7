//! Findings located at the migration statement that created or last changed their object, on
//! a migrations folder applied to a real server.

use std::collections::BTreeSet;

use crate::common::{self, Project, check_of, postgres};

const BASE: &str = include_str!("../../fixtures/supabase-base.sql");

/// Creates, alters and re-creates: a table made in 001 whose RLS is enabled in 003, a view
/// re-created in 004, a function `create or replace`d in 002 and again in 004.
const MIGRATIONS: [(&str, &str); 4] = [
    (
        "20240101000001_init.sql",
        "-- The wallet app's first schema.
create table public.wallets (
  id int primary key,
  owner uuid
);

CREATE TABLE ledger (
  id int primary key,
  wallet_id int references wallets (id),
  amount numeric
);

create view balances as select id, owner from wallets;

create function transfer(amount numeric) returns numeric
  language sql security definer
  as $$ select amount; $$;
",
    ),
    (
        "20240101000002_transfer.sql",
        "create or replace function transfer(amount numeric) returns numeric
  language sql security definer
  as $$ select amount * 1 $$;
",
    ),
    (
        "20240101000003_rls.sql",
        "-- Owners only.
alter table wallets enable row level security;

create policy \"anyone inserts\" on wallets
  for insert to anon with check (true);
",
    ),
    (
        "20240101000004_views.sql",
        "drop view balances;

create or replace view balances as
  select id from wallets;

/* once more; with a comment */ create or replace function transfer(amount numeric)
  returns numeric language sql security definer
  as $$ select amount + 0 $$;
",
    ),
];

fn wallet_project() -> Project {
    let applied: Vec<String> = MIGRATIONS.iter().map(|(_, sql)| sql.to_string()).collect();
    let versions: Vec<String> = MIGRATIONS
        .iter()
        .map(|(file, _)| format!("('{}', 'x')", &file[..14]))
        .collect();
    let db = postgres().fresh_db(&format!(
        "{BASE}\n{}\nINSERT INTO supabase_migrations.schema_migrations VALUES {};",
        applied.concat(),
        versions.join(", ")
    ));
    let p = Project::new(&format!(
        "version: 1\nproject: wallet\ntargets:\n  db:\n    postgres: \"{}\"\n    api_roles: [anon, authenticated]\n\
         checks:\n  - id: migrated\n    category: database\n    severity: high\n    target: db\n    migrations: {{ tool: supabase }}\n\
         \x20 - id: rls\n    category: security\n    severity: critical\n    target: db\n    rls_audit: {{ sensitive: [wallets] }}\n",
        db.url
    ));
    for (file, sql) in MIGRATIONS {
        p.write(&format!("supabase/migrations/{file}"), sql);
    }
    p
}

#[test]
fn rls_findings_point_at_the_statement_that_last_made_their_object() {
    let p = wallet_project();
    let result = common::check_json(&p);
    assert_eq!(check_of(&result, "migrated")["status"], "pass");
    let located: BTreeSet<(String, String)> = check_of(&result, "rls")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let at = &f["location"];
            let shown = format!("{}:{}", at["file"].as_str().unwrap(), at["line"]);
            (f["subject"].as_str().unwrap().to_string(), shown)
        })
        .collect();
    let m = "supabase/migrations/2024010100000";
    let expected: BTreeSet<(String, String)> = [
        ("public.ledger", format!("{m}1_init.sql:7")),
        ("public.wallets", format!("{m}3_rls.sql:2")),
        ("public.wallets/anyone inserts", format!("{m}3_rls.sql:4")),
        ("public.balances", format!("{m}4_views.sql:3")),
        (
            "public.transfer(amount numeric)",
            format!("{m}4_views.sql:6"),
        ),
    ]
    .into_iter()
    .map(|(s, at)| (s.to_string(), at))
    .collect();
    assert_eq!(located, expected);
}

#[test]
fn github_annotations_sit_on_the_migration_line() {
    let p = wallet_project();
    let run = p.ready(&["check", "--format", "github"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let line = "::error file=supabase/migrations/20240101000003_rls.sql,line=2,\
                title=ready%3A rls (fail%2C critical)::sensitive table public.wallets has row level \
                security enabled but not forced, so its owner bypasses it (needs ENABLE and FORCE)";
    assert!(run.stdout.lines().any(|l| l == line), "{}", run.stdout);
    let on_migrations = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("::error file=supabase/migrations/"))
        .count();
    let findings = run
        .stdout
        .lines()
        .filter(|l| l.contains("title=ready%3A rls"))
        .count();
    assert!(on_migrations >= 5, "{}", run.stdout);
    assert_eq!(
        on_migrations, findings,
        "every rls finding is located:\n{}",
        run.stdout
    );
}

#[test]
fn sarif_results_sit_on_the_migration_line() {
    let p = wallet_project();
    let run = p.ready(&["check", "--format", "sarif"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let sarif: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let at: BTreeSet<(String, u64)> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == "rls")
        .map(|r| {
            let physical = &r["locations"][0]["physicalLocation"];
            (
                physical["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                physical["region"]["startLine"].as_u64().unwrap(),
            )
        })
        .collect();
    let m = "supabase/migrations/2024010100000";
    assert!(at.contains(&(format!("{m}3_rls.sql"), 2)), "{at:?}");
    assert!(at.contains(&(format!("{m}4_views.sql"), 6)), "{at:?}");
    assert!(
        at.iter()
            .all(|(uri, _)| uri.starts_with("supabase/migrations/")),
        "{at:?}"
    );
}

#[test]
fn migrations_flag_locates_findings_without_a_migrations_check() {
    let db = postgres().fresh_db("CREATE TABLE events (at timestamptz, body text);");
    let p = Project::new(&format!(
        "version: 1\nproject: events\ntargets:\n  db: {{ postgres: \"{}\" }}\nchecks:\n\
         \x20 - id: keys\n    category: database\n    severity: high\n    target: db\n    schema: {{ primary_keys: true }}\n",
        db.url
    ));
    p.write(
        "db/001_events.sql",
        "\n\nCREATE TABLE events (at timestamptz, body text);\n",
    );
    let run = p.ready(&["check", "--format", "json", "--migrations", "db"], &[]);
    let result = run.json();
    common::assert_valid_result(&result);
    let finding = &check_of(&result, "keys")["findings"][0];
    assert_eq!(finding["subject"], "public.events");
    assert_eq!(
        finding["location"],
        serde_json::json!({"file": "db/001_events.sql", "line": 3})
    );
    let markdown = p.ready(
        &["check", "--format", "markdown", "--migrations", "db"],
        &[],
    );
    assert!(
        markdown.stdout.contains(
            "- public.events has no primary key: rows cannot be addressed or replicated reliably (at `db/001_events.sql:3`)"
        ),
        "{}",
        markdown.stdout
    );
    let table = p.ready(&["check", "--migrations", "db"], &[]);
    assert!(
        table.stdout.contains("db/001_events.sql:3)"),
        "{}",
        table.stdout
    );
    let html = p.ready(&["check", "--format", "html", "--migrations", "db"], &[]);
    assert!(
        html.stdout
            .contains("<span class=\"location\">at <code>db&#x2f;001_events.sql:3</code></span>"),
        "{}",
        html.stdout
    );
    let without = p.ready(&["check", "--format", "json"], &[]).json();
    assert!(
        check_of(&without, "keys")["findings"][0]
            .get("location")
            .is_none()
    );
}
