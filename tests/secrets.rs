//! `secret` and `default_credentials` against real values, a real Redis and a real PostgreSQL,
//! and the guarantee that no value these kinds read reaches any output.

mod common;

use common::{Project, check_of};

fn check(id: &str, kind: &str, params: &str) -> String {
    format!("  - id: {id}\n    category: security\n    severity: critical\n    {kind}: {params}\n")
}

fn project(checks: &[String]) -> Project {
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
    let repeated = messages("repeated");
    assert_eq!(repeated.len(), 1, "{repeated:?}");
    assert!(
        repeated[0].starts_with("env:REPEATED has an estimated 8 bits of entropy"),
        "{repeated:?}"
    );
    for (_, value) in env.iter().filter(|(_, v)| v.len() >= 4) {
        assert!(
            !run.stdout.contains(value) && !run.stderr.contains(value),
            "{value} leaked"
        );
    }
}
