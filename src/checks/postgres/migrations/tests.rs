use super::*;

#[test]
fn file_versions_per_tool() {
    assert_eq!(
        Tool::Supabase
            .version_of("20240101120000_init.sql", false)
            .as_deref(),
        Some("20240101120000")
    );
    assert_eq!(
        Tool::GolangMigrate
            .version_of("000002_users.up.sql", false)
            .as_deref(),
        Some("2")
    );
    assert_eq!(
        Tool::GolangMigrate.version_of("000002_users.down.sql", false),
        None
    );
    assert_eq!(Tool::Sqlx.version_of("3_x.down.sql", false), None);
    assert_eq!(
        Tool::Flyway.version_of("V1_1__add.sql", false).as_deref(),
        Some("1.1")
    );
    assert_eq!(Tool::Flyway.version_of("R__views.sql", false), None);
    assert_eq!(
        Tool::Prisma.version_of("20240101_init", true).as_deref(),
        Some("20240101_init")
    );
    assert_eq!(Tool::Dbmate.version_of("README.md", false), None);
}

#[test]
fn versions_compare_numerically() {
    assert_eq!(compare("9", "10"), Ordering::Less);
    assert_eq!(compare("1.10", "1.9"), Ordering::Greater);
    assert_eq!(normalise("0001.01"), "1.1");
    assert_eq!(normalise("0"), "0");
}

fn files(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(v, f)| (v.to_string(), f.to_string()))
        .collect()
}

#[test]
fn auto_takes_the_first_history_table_found() {
    let mut tables = HistoryTables {
        supabase: false,
        sqlx: false,
        flyway: false,
        prisma: false,
        golang_migrate: true,
        dbmate: true,
    };
    assert_eq!(detect(Tool::Auto, &tables).unwrap(), Tool::GolangMigrate);
    tables.golang_migrate = false;
    assert_eq!(detect(Tool::Auto, &tables).unwrap(), Tool::Dbmate);
    tables.dbmate = false;
    assert!(
        detect(Tool::Auto, &tables)
            .unwrap_err()
            .0
            .starts_with("cannot tell which migration tool is used")
    );
    assert_eq!(detect(Tool::Flyway, &tables).unwrap(), Tool::Flyway);
}

#[test]
fn unapplied_failed_and_orphaned_versions() {
    let history = History {
        exists: true,
        applied: [
            ("1".to_string(), Applied::Ok),
            ("2".to_string(), Applied::Failed("add users".into())),
            ("9".to_string(), Applied::Ok),
        ]
        .into_iter()
        .collect(),
        baseline: None,
        checksums: BTreeMap::new(),
    };
    let folder = files(&[
        ("1", "1_init.sql"),
        ("2", "2_users.sql"),
        ("3", "3_orders.sql"),
    ]);
    let obs = judge(
        Tool::Sqlx,
        "migrations",
        &folder,
        &history,
        &BTreeMap::new(),
    );
    let messages: Vec<&str> = obs.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "migration 2_users.sql failed (add users)",
            "migration 3_orders.sql is not applied (version 3 is not in _sqlx_migrations)",
            "version 9 is applied (in _sqlx_migrations) but no file in migrations has it",
        ]
    );
}

#[test]
fn golang_migrate_counts_versions_before_the_current_one_and_flyway_its_baseline() {
    let current = History {
        exists: true,
        applied: [("3".to_string(), Applied::Dirty)].into_iter().collect(),
        baseline: None,
        checksums: BTreeMap::new(),
    };
    let folder = files(&[("1", "1_a.up.sql"), ("3", "3_c.up.sql")]);
    let obs = judge(
        Tool::GolangMigrate,
        "migrations",
        &folder,
        &current,
        &BTreeMap::new(),
    );
    assert_eq!(obs.findings.len(), 1);
    assert!(
        obs.findings[0]
            .message
            .starts_with("migration 3_c.up.sql is dirty")
    );

    let baseline = History {
        exists: true,
        applied: BTreeMap::new(),
        baseline: Some("2".into()),
        checksums: BTreeMap::new(),
    };
    let folder = files(&[("1", "V1__a.sql"), ("2", "V2__b.sql")]);
    assert!(
        judge(
            Tool::Flyway,
            "db/migration",
            &folder,
            &baseline,
            &BTreeMap::new()
        )
        .findings
        .is_empty()
    );
    let missing = History {
        exists: false,
        applied: BTreeMap::new(),
        baseline: None,
        checksums: BTreeMap::new(),
    };
    let obs = judge(
        Tool::Flyway,
        "db/migration",
        &folder,
        &missing,
        &BTreeMap::new(),
    );
    assert_eq!(
        obs.findings[0].message,
        "migration V1__a.sql is not applied: flyway_schema_history does not exist"
    );
}

#[test]
fn checksums_as_sqlx_and_flyway_record_them() {
    assert_eq!(
        Tool::Sqlx.checksum(b"SELECT 1;\n").unwrap(),
        "24454095d8d7876ca8e842f34296ca645c83e0f7b50f048c99db4b2ff4da659267afc4ef3e994f3d74e18c741165d931"
    );
    // Lines without their breaks, whatever the breaks and a byte-order mark.
    for text in [
        "CREATE TABLE t (id int);\n-- two\n",
        "\u{feff}CREATE TABLE t (id int);\r\n-- two",
    ] {
        assert_eq!(
            Tool::Flyway.checksum(text.as_bytes()).unwrap(),
            "-400782801"
        );
    }
    assert_eq!(Tool::Dbmate.checksum(b"x"), None);
}

#[test]
fn an_applied_file_edited_afterwards_fails() {
    let history = History {
        exists: true,
        applied: [
            ("1".to_string(), Applied::Ok),
            ("2".to_string(), Applied::Ok),
        ]
        .into_iter()
        .collect(),
        baseline: None,
        checksums: [
            ("1".to_string(), "aa".to_string()),
            ("2".to_string(), "bb".to_string()),
        ]
        .into_iter()
        .collect(),
    };
    let folder = files(&[("1", "1_init.sql"), ("2", "2_users.sql")]);
    let computed = [
        ("1".to_string(), "aa".to_string()),
        ("2".to_string(), "cc".to_string()),
    ]
    .into_iter()
    .collect();
    let obs = judge(Tool::Sqlx, "migrations", &folder, &history, &computed);
    let messages: Vec<&str> = obs.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "migration 2_users.sql was changed after it was applied: its checksum differs from the one sqlx recorded in _sqlx_migrations"
        ]
    );
}

#[test]
fn prisma_failures_show_the_database_error() {
    let logs = "A migration failed to apply. New migrations cannot be applied before the error is recovered from. Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n\nMigration name: 20240103_orders\n\nDatabase error code: 42P07\n\nDatabase error:\nERROR: relation \"orders\" already exists\n\nDbError { severity: \"ERROR\" }\n";
    assert_eq!(
        prisma_failure(logs),
        "database error 42P07: ERROR: relation \"orders\" already exists"
    );
    assert_eq!(prisma_failure("syntax error\nmore"), "syntax error");
    assert_eq!(prisma_failure(""), "");
}
