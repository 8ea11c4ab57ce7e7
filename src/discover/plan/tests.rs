use super::*;
use crate::discover::database::{ApiRole, Cron, DbFacts, SchemaFacts, TableFacts, Tool};
use crate::discover::repository::{
    CoverageReport, EnvFile, MigrationDir, Service, ServiceKind, SupabaseConfig,
};

fn table(schema: &str, name: &str, columns: &[&str], unique: &[&[&str]]) -> TableFacts {
    TableFacts {
        schema: schema.into(),
        name: name.into(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        has_primary_key: true,
        foreign_keys: 1,
        unique: unique
            .iter()
            .map(|set| set.iter().map(|c| c.to_string()).collect())
            .collect(),
    }
}

/// One fact of every sort a Supabase project shows: long because it is data.
fn supabase_facts() -> Facts {
    let schema = |name: &str, usable_by: &[&str]| SchemaFacts {
        name: name.into(),
        usable_by: usable_by.iter().map(|r| r.to_string()).collect(),
    };
    Facts {
        dir_name: "Mobility Hub".into(),
        database: Some(DbFacts {
            api_roles: vec![
                ApiRole {
                    name: "anon".into(),
                    via_authenticator: true,
                },
                ApiRole {
                    name: "authenticated".into(),
                    via_authenticator: true,
                },
            ],
            pgrst_schemas: Some(vec!["public".into(), "api".into()]),
            schemas: vec![
                schema("auth", &["anon", "authenticated"]),
                schema("public", &["anon", "authenticated"]),
            ],
            tables: vec![
                table("auth", "users", &["balance", "id"], &[&["id"]]),
                table("public", "profiles", &["id", "name"], &[&["id"]]),
                table(
                    "public",
                    "wallet_transactions",
                    &["amount", "currency", "id"],
                    &[&["id"]],
                ),
                table(
                    "public",
                    "webhook_events",
                    &["event_id", "id", "message_id", "provider"],
                    &[&["id"], &["message_id", "provider"]],
                ),
            ],
            cron: Cron::Jobs(vec!["nightly-settlement".into()]),
            history: Some(Tool::Supabase),
        }),
        repository: RepoFacts {
            supabase: Some(SupabaseConfig {
                project_id: None,
                api_schemas: Some(vec!["public".into()]),
            }),
            functions: vec![
                "Odd Name".into(),
                "health".into(),
                "payments-webhook".into(),
            ],
            migration_dirs: vec![MigrationDir {
                path: "supabase/migrations",
                entries: 2,
                up_files: false,
            }],
            coverage: vec![CoverageReport {
                path: "coverage/lcov.info".into(),
                format: "lcov",
            }],
            env_files: vec![EnvFile {
                path: ".env".into(),
                secret_keys: vec!["JWT_SECRET".into()],
            }],
            services: vec![
                Service {
                    file: "docker-compose.yml".into(),
                    name: "cache".into(),
                    kind: ServiceKind::Redis,
                    published: Some("127.0.0.1:6380".into()),
                },
                Service {
                    file: "docker-compose.yml".into(),
                    name: "db".into(),
                    kind: ServiceKind::Postgres,
                    published: None,
                },
            ],
            compose_secrets: Vec::new(),
        },
        web: Some(WebFacts {
            variable: "READY_HTTP_URL",
            https: true,
            health: Some("/healthz".into()),
            unreachable: None,
        }),
    }
}

fn ids(plan: &Plan) -> Vec<(&str, &str)> {
    plan.files
        .iter()
        .flat_map(|f| f.checks.iter().map(move |c| (f.name, c.id.as_str())))
        .collect()
}

fn check<'p>(plan: &'p Plan, id: &str) -> &'p Generated {
    plan.files
        .iter()
        .flat_map(|f| &f.checks)
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

#[test]
fn a_supabase_project_gets_a_check_for_each_thing_found() {
    let plan = plan(&supabase_facts());
    assert_eq!(plan.project, "mobility-hub");
    assert_eq!(
        ids(&plan),
        [
            ("database", "db.rls"),
            ("database", "db.audit-log"),
            ("database", "db.keys"),
            ("database", "db.idempotency"),
            ("database", "db.cron-jobs"),
            ("database", "db.migrations"),
            ("database", "db.default-login"),
            ("functions", "functions.answer.{{item}}"),
            ("functions", "functions.rate-limit.{{item}}"),
            ("functions", "functions.webhook-signature.{{item}}"),
            ("http", "http.health"),
            ("http", "http.tls"),
            ("http", "http.security-headers"),
            ("secrets", "secrets.env.jwt-secret"),
            ("secrets", "services.cache.default-login"),
            ("repository", "coverage.coverage-lcov-info"),
        ]
    );
    assert_eq!(
        plan.notes,
        [
            "functions not probed, their names do not fit in a check id: Odd Name",
            "docker-compose.yml declares the PostgreSQL service `db` without a published host port: not probed",
        ]
    );
}

#[test]
fn money_tables_get_forced_rls_and_an_audit_trail_with_the_reason() {
    let plan = plan(&supabase_facts());
    let rls = check(&plan, "db.rls");
    assert_eq!(
        rls.params,
        Yaml::map(vec![(
            "sensitive",
            Yaml::strs(&["public.wallet_transactions"])
        )])
    );
    assert_eq!(
        rls.why,
        [
            "the API roles reach the exposed schemas: public",
            "table public.wallet_transactions has amount and currency columns: row level security must be enabled and forced",
        ]
    );
    // Platform schemas (auth) are not the application's: never audited from here.
    let audit = check(&plan, "db.audit-log");
    assert_eq!(
        audit.params,
        Yaml::map(vec![
            ("tables", Yaml::strs(&["public.wallet_transactions"])),
            ("schemas", Yaml::strs(&["public"])),
        ])
    );
    assert_eq!(
        audit.why,
        ["table public.wallet_transactions has amount and currency columns"]
    );
}

#[test]
fn the_target_says_where_roles_and_schemas_come_from() {
    let plan = plan(&supabase_facts());
    let db = &plan.targets[0];
    assert_eq!(
        db.why,
        [
            "API roles that exist: anon and authenticated",
            "authenticator (PostgREST) switches to anon and authenticated",
            "exposed schemas from pgrst.db_schemas of role authenticator: public (api listed, but not in the database)",
            "schemas the API roles can use: auth (anon, authenticated), public (anon, authenticated)",
        ]
    );
    assert_eq!(
        db.settings,
        Yaml::map(vec![
            ("postgres", Yaml::str("${DATABASE_URL}")),
            ("api_roles", Yaml::strs(&["anon", "authenticated"])),
            ("exposed_schemas", Yaml::strs(&["public"])),
            ("allow_writes", Yaml::Bool(false)),
        ])
    );
    assert_eq!(
        plan.targets[1].why,
        ["the health endpoint answered at /healthz"]
    );
}

#[test]
fn only_idempotency_columns_that_nothing_makes_unique_are_listed() {
    let plan = plan(&supabase_facts());
    let idem = check(&plan, "db.idempotency");
    assert_eq!(
        idem.params,
        Yaml::map(vec![
            ("foreign_key_indexes", Yaml::Bool(false)),
            ("primary_keys", Yaml::Bool(false)),
            ("unique", Yaml::strs(&["public.webhook_events(event_id)"])),
        ])
    );
    assert_eq!(
        idem.why,
        [
            "public.webhook_events.event_id looks like an idempotency key and no unique index covers it"
        ]
    );
}

#[test]
fn functions_are_probed_with_for_each_and_webhooks_get_signatures() {
    let plan = plan(&supabase_facts());
    assert_eq!(
        check(&plan, "functions.rate-limit.{{item}}").for_each,
        ["health", "payments-webhook"]
    );
    let signed = check(&plan, "functions.webhook-signature.{{item}}");
    assert_eq!(signed.for_each, ["payments-webhook"]);
    assert_eq!(
        signed.why[0],
        "1 function with `webhook` in the name: payments-webhook"
    );
    assert_eq!(
        check(&plan, "functions.answer.{{item}}").why,
        ["2 edge functions under supabase/functions: health and payments-webhook"]
    );
}

#[test]
fn migrations_follow_the_history_table_or_else_the_folder() {
    let mut facts = supabase_facts();
    let mut notes = Vec::new();
    let found = migrations_check(facts.database.as_ref(), &facts.repository, &mut notes).unwrap();
    assert_eq!(
        found.params,
        Yaml::map(vec![
            ("tool", Yaml::str("supabase")),
            ("dir", Yaml::str("supabase/migrations"))
        ])
    );
    assert_eq!(
        found.why,
        [
            "supabase/migrations holds 2 migrations",
            "history table supabase_migrations.schema_migrations is in the database"
        ]
    );
    // A history table without its folder: nothing to compare, said in a note.
    facts.database.as_mut().unwrap().history = Some(Tool::Flyway);
    assert_eq!(
        migrations_check(facts.database.as_ref(), &facts.repository, &mut notes),
        None
    );
    assert_eq!(
        notes,
        [
            "the database has flyway's history table flyway_schema_history but the repository has no db/migration folder: no migrations check"
        ]
    );
    // No table: the tool is read from the folder (up files mean golang-migrate).
    facts.database.as_mut().unwrap().history = None;
    facts.repository.migration_dirs = vec![MigrationDir {
        path: "migrations",
        entries: 4,
        up_files: true,
    }];
    let guessed = migrations_check(facts.database.as_ref(), &facts.repository, &mut notes).unwrap();
    assert_eq!(
        guessed.params,
        Yaml::map(vec![
            ("tool", Yaml::str("golang-migrate")),
            ("dir", Yaml::str("migrations"))
        ])
    );
}

#[test]
fn without_targets_only_the_repository_is_used_and_notes_say_why() {
    let mut facts = supabase_facts();
    facts.database = None;
    facts.web = None;
    let plan = plan(&facts);
    assert!(plan.targets.is_empty());
    assert_eq!(
        ids(&plan),
        [
            ("secrets", "secrets.env.jwt-secret"),
            ("secrets", "services.cache.default-login"),
            ("repository", "coverage.coverage-lcov-info"),
        ]
    );
    assert_eq!(
        &plan.notes[..3],
        [
            "DATABASE_URL was not set: no database checks (set it and run again)",
            "READY_HTTP_URL was not set: no HTTP checks (set it and run again)",
            "3 edge functions under supabase/functions are not probed without READY_HTTP_URL",
        ]
    );
}

#[test]
fn a_jwt_key_is_held_to_hs256_and_no_value_is_in_the_plan() {
    let plan = plan(&supabase_facts());
    let jwt = check(&plan, "secrets.env.jwt-secret");
    assert_eq!(
        jwt.params,
        Yaml::map(vec![
            ("from", Yaml::str("dotenv:.env#JWT_SECRET")),
            ("alg", Yaml::str("HS256")),
            ("min_entropy_bits", Yaml::Int(128)),
        ])
    );
    assert_eq!(jwt.target, None);
    assert_eq!(jwt.why, [".env assigns JWT_SECRET (value not shown)"]);
}

#[test]
fn plain_http_gets_no_tls_checks_and_a_note() {
    let mut facts = supabase_facts();
    facts.web = Some(WebFacts {
        variable: "READY_HTTP_URL",
        https: false,
        health: None,
        unreachable: None,
    });
    let plan = plan(&facts);
    assert!(!ids(&plan).iter().any(|(f, _)| *f == "http"));
    assert!(plan.notes.contains(&"READY_HTTP_URL is plain http: no tls or security_headers check (run again with the public https address)".to_string()));
    assert_eq!(
        plan.targets[1].why,
        [
            "no health endpoint answered 2xx among /health, /healthz, /readyz, /livez, /api/health, /actuator/health, /status, /healthcheck"
        ]
    );
}

#[test]
fn the_same_facts_give_the_same_plan() {
    assert_eq!(plan(&supabase_facts()), plan(&supabase_facts()));
    assert_eq!(slug(".env.production"), "env-production");
    assert_eq!(slug("coverage/lcov.info"), "coverage-lcov-info");
}

/// Secrets of compose services from every origin.
fn compose_facts() -> Facts {
    use crate::discover::compose::{ComposeSecret, Origin};
    let secret = |service: &str, key: &str, origin: Origin| ComposeSecret {
        file: "docker-compose.yml".into(),
        service: service.into(),
        key: key.into(),
        origin,
    };
    let mut facts = supabase_facts();
    facts.repository.compose_secrets = vec![
        secret("api", "GITHUB_TOKEN", Origin::Composed),
        secret(
            "api",
            "JWT_SECRET",
            Origin::Variable {
                name: "JWT_SECRET".into(),
                fallback: false,
            },
        ),
        secret(
            "db",
            "POSTGRES_PASSWORD",
            Origin::Variable {
                name: "DB_PASSWORD".into(),
                fallback: true,
            },
        ),
        secret("minio", "MINIO_ROOT_PASSWORD", Origin::Literal),
        secret("worker", "JWT_SECRET", Origin::PassedThrough),
    ];
    facts
}

#[test]
fn compose_secrets_are_read_from_the_environment_with_where_they_come_from() {
    let facts = compose_facts();
    let plan = plan(&facts);
    let secrets: Vec<&str> = ids(&plan)
        .into_iter()
        .filter(|(file, _)| *file == "secrets")
        .map(|(_, id)| id)
        .collect();
    assert_eq!(
        secrets,
        [
            "secrets.env.jwt-secret",
            "secrets.compose.db-password",
            "secrets.compose.jwt-secret",
            "secrets.compose.minio-root-password",
            "services.cache.default-login",
        ]
    );
    let jwt = check(&plan, "secrets.compose.jwt-secret");
    assert_eq!(
        jwt.params,
        Yaml::map(vec![
            ("from", Yaml::str("env:JWT_SECRET")),
            ("alg", Yaml::str("HS256")),
            ("min_entropy_bits", Yaml::Int(128)),
        ])
    );
    assert_eq!(
        jwt.why,
        [
            "service `api` in docker-compose.yml takes JWT_SECRET from ${JWT_SECRET}",
            "service `worker` in docker-compose.yml takes JWT_SECRET from the environment",
        ]
    );
    assert_eq!(jwt.remediation, None);
}

#[test]
fn a_literal_compose_secret_is_named_never_shown_and_a_composed_one_noted() {
    let plan = plan(&compose_facts());
    let db = check(&plan, "secrets.compose.db-password");
    assert_eq!(
        db.params,
        Yaml::map(vec![("from", Yaml::str("env:DB_PASSWORD"))])
    );
    assert_eq!(
        db.why,
        [
            "service `db` in docker-compose.yml takes POSTGRES_PASSWORD from ${DB_PASSWORD}, with a fallback written in docker-compose.yml (value not shown)"
        ]
    );
    let minio = check(&plan, "secrets.compose.minio-root-password");
    assert_eq!(
        minio.title,
        "MINIO_ROOT_PASSWORD in the environment is strong and not a well-known default"
    );
    assert_eq!(
        minio.why,
        [
            "service `minio`: MINIO_ROOT_PASSWORD set literally in docker-compose.yml; move it to the environment (value not shown)"
        ]
    );
    assert_eq!(
        minio.remediation.as_deref(),
        Some(
            "Remove the value of MINIO_ROOT_PASSWORD from docker-compose.yml and let compose read it from the environment (an interpolated variable or an untracked env file)"
        )
    );
    assert!(plan.notes.contains(
        &"docker-compose.yml builds GITHUB_TOKEN of service `api` from text and variables: no secret check (value not shown)".to_string()
    ));
}

#[test]
fn a_supabase_project_without_ready_http_url_is_probed_at_supabase_url() {
    let mut facts = supabase_facts();
    if let Some(web) = facts.web.as_mut() {
        web.variable = "SUPABASE_URL";
    }
    let plan = plan(&facts);
    let api = &plan.targets[1];
    assert_eq!(
        api.settings,
        Yaml::map(vec![("http", Yaml::str("${SUPABASE_URL}"))])
    );
    assert_eq!(
        api.why,
        [
            "SUPABASE_URL (Supabase's own variable): READY_HTTP_URL was not set and supabase/config.toml is there",
            "the health endpoint answered at /healthz",
        ]
    );
    assert_eq!(check(&plan, "http.tls").why, ["SUPABASE_URL is https"]);
    assert_eq!(
        check(&plan, "functions.answer.{{item}}").target,
        Some("api")
    );
}
