//! Loading the configuration: discovery, files and includes, interpolation, validation into the
//! checked `Suite`. Every problem of every file is collected and reported together.
//!
//! One file per concern: `files` (discovery, the project file, includes, the built-in suite),
//! `targets`, `checks` (checks and `for_each`), `settings` (categories, severity weights, stages,
//! defaults and waivers), `schema`; all are read with the small readers of `reader`, against the
//! key definitions of `keys`, from which `schema` is generated too.

mod checks;
pub mod diagnostic;
mod files;
pub mod interpolate;
mod keys;
pub mod node;
mod reader;
pub mod schema;
mod settings;
pub mod snippet;
mod targets;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::model::Suite;
use crate::redact::{self, Redactor};
use diagnostic::Diagnostics;
pub use files::{BUILTIN_FILES, Source, discover};

/// Loads and validates the suite. `Err` holds every problem found, in file order.
pub fn load(
    source: &Source,
    env: &HashMap<String, String>,
    cwd: &Path,
) -> Result<Loaded, Diagnostics> {
    let mut loader = Loader {
        env,
        diags: Diagnostics::default(),
        secrets: Vec::new(),
        hasher: Sha256::new(),
        sources: HashMap::new(),
        failed_targets: BTreeMap::new(),
    };
    let loaded = match source {
        Source::File(path) => loader.project_file(path),
        Source::Builtin => Some(loader.builtin(cwd)),
    };
    let diags = std::mem::take(&mut loader.diags).finish();
    let diags = loader.without_secrets(loader.with_source_lines(diags));
    match loaded {
        Some(mut loaded) if !diags.has_errors() => {
            loader.secrets.sort();
            loader.secrets.dedup();
            loaded.suite.secrets = loader.secrets;
            loaded.suite.config_hash = hex::encode(loader.hasher.finalize());
            loaded.warnings = diags;
            Ok(loaded)
        }
        _ => Err(diags),
    }
}

/// A validated suite and the directory its relative paths start from.
#[derive(Debug)]
pub struct Loaded {
    pub suite: Suite,
    pub base_dir: PathBuf,
    /// What `check` would report as `error` although the configuration is valid.
    pub warnings: Diagnostics,
}

struct Loader<'a> {
    env: &'a HashMap<String, String>,
    diags: Diagnostics,
    secrets: Vec<String>,
    /// Over every file read, in reading order, for `config_hash`.
    hasher: Sha256,
    /// The text of every file read, by the name diagnostics give it, for their snippets.
    sources: HashMap<String, String>,
    /// Targets that failed to load: their one diagnostic names the checks that use them.
    failed_targets: BTreeMap<String, targets::FailedTarget>,
}

impl Loader<'_> {
    /// Each diagnostic with the source line its position is on.
    fn with_source_lines(&self, mut diags: Diagnostics) -> Diagnostics {
        for d in &mut diags.0 {
            let (Some(loc), Some(text)) = (d.loc, self.sources.get(&d.file)) else {
                continue;
            };
            let index = usize::try_from(loc.line)
                .unwrap_or(usize::MAX)
                .saturating_sub(1);
            d.source_line = diagnostic::source_line(text, index);
        }
        diags
    }

    /// The diagnostics with no secret quoted: a value interpolated from a secret-looking
    /// variable reads as the variable (`${API_KEY}`), any other secret is masked.
    fn without_secrets(&self, mut diags: Diagnostics) -> Diagnostics {
        let mut named: Vec<(String, &str)> = self
            .env
            .iter()
            .filter(|(name, value)| {
                interpolate::names_a_secret(name) && self.secrets.contains(value)
            })
            .map(|(name, value)| (format!("${{{name}}}"), value.as_str()))
            .collect();
        named.sort_by_key(|(_, value)| std::cmp::Reverse(value.len()));
        let redactor = Redactor::new(self.secrets.iter().cloned());
        for d in &mut diags.0 {
            for (name, value) in &named {
                d.message = redact::name_secret(&d.message, value, name);
            }
            d.message = redactor.redact(&d.message);
            // The line as written holds no interpolated value, but may hold a literal secret.
            d.source_line = d.source_line.as_deref().map(|l| redactor.redact(l));
        }
        diags
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Kind;
    use crate::model::{CheckState, TargetKind, TargetState};

    fn load_text(yaml: &str, env: &[(&str, &str)]) -> Result<Loaded, Diagnostics> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ready.yaml");
        std::fs::write(&path, yaml).unwrap();
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let out = load(&Source::File(path), &env, dir.path());
        drop(dir);
        out
    }

    fn messages(d: &Diagnostics) -> Vec<String> {
        d.0.iter()
            .map(|d| {
                format!(
                    "{}:{} {}",
                    d.loc.map_or(0, |l| l.line),
                    d.loc.map_or(0, |l| l.col),
                    d.message
                )
            })
            .collect()
    }

    const MINIMAL: &str = "version: 1\nproject: demo\nchecks:\n  - id: env.home\n    category: operations\n    severity: low\n    env: { vars: [HOME] }\n";

    #[test]
    fn a_minimal_file_loads_with_defaults() {
        let loaded = load_text(MINIMAL, &[]).unwrap();
        let suite = loaded.suite;
        assert_eq!(suite.project, "demo");
        assert_eq!(suite.checks.len(), 1);
        assert_eq!(suite.checks[0].weight, 2.5);
        assert_eq!(suite.checks[0].title, "env.home");
        assert_eq!(suite.stages.len(), 2);
        assert_eq!(suite.categories.len(), 5);
    }

    #[test]
    fn diagnostics_name_the_secret_variable_instead_of_its_value() {
        let yaml = "version: 1\nchecks:\n  - id: x\n    category: \"${API_KEY}\"\n    severity: \"${SESSION_SALT}\"\n    env: { vars: [HOME] }\n";
        let env = [("API_KEY", "Sk-Live\"42"), ("SESSION_SALT", "Pepper&Salt")];
        let diags = load_text(yaml, &env).unwrap_err();
        assert_eq!(
            messages(&diags),
            [
                "4:15 unknown category `${API_KEY}`; known: security, reliability, database, observability, operations",
                "5:15 unknown severity `${SESSION_SALT}` (expected critical, high, medium or low)",
            ]
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let yaml = "\
version: 1
targets:
  db: { postgres: postgres://u:p@h/d }
stages:
  - { name: prod, min_score: 90, require: [\"severity>=urgent\"] }
waivers:
  - check: nothing.*
    reason: r
    expires: 2030-01-01
  - check: a.one
checks:
  - id: a.one
    category: security
    severity: high
    sevrity: high
    sql: { query: select 1 }
    target: db
  - id: a.one
    category: secrity
    severity: high
    env: { vars: [X] }
  - id: a.two
    category: security
    severity: high
    sql: { query: select 1 }
    http: { path: / }
  - id: a.three
    category: security
    severity: extreme
    target: nowhere
    sql: { query: select 1, expect: { rows: { mn: 1 } } }
  - id: a.four
    category: security
    severity: low
    timeout: 10
    env: { vars: [A] }
";
        let diags = load_text(yaml, &[]).unwrap_err();
        assert_eq!(
            messages(&diags),
            vec![
                "5:44 unknown severity `urgent` (expected critical, high, medium or low)",
                "7:12 waiver names no existing check: `nothing.*`",
                "10:5 a waiver needs `expires` (YYYY-MM-DD): waivers do not last forever",
                "10:5 a waiver needs `reason`",
                "15:5 unknown key `sevrity` in a check (did you mean `severity`?); expected one of: id, title, description, rationale, category, severity, weight, blocker, tags, target, timeout, retries, remediation, for_each, KINDS",
                "18:9 duplicate check id `a.one` (first defined at FILE:12:9)",
                "19:15 unknown category `secrity` (did you mean `security`?); known: security, reliability, database, observability, operations",
                "26:5 check `a.two` has two kinds (`sql` and `http`): a check has exactly one",
                "29:15 unknown severity `extreme` (expected critical, high, medium or low)",
                "30:13 unknown target `nowhere`; known: db",
                "31:47 unknown field `mn`, expected `min` or `max` (in `sql` of check `a.three`)",
                "35:14 a duration must be text with a unit, such as 30s, found an integer",
            ]
            .into_iter()
            .map(|s| s
                .replace("FILE", &diags.0[5].file)
                .replace("KINDS", &Kind::NAMES.join(", ")))
            .collect::<Vec<_>>()
        );
    }

    fn warnings(loaded: &Loaded) -> Vec<String> {
        let shown = loaded.warnings.0.iter().map(|d| {
            format!(
                "{} {} | {}",
                d.code.as_str(),
                d.message,
                d.help.as_deref().unwrap_or("")
            )
        });
        messages(&loaded.warnings)
            .into_iter()
            .zip(shown)
            .map(|(at, text)| format!("{} {text}", at.split(' ').next().unwrap_or_default()))
            .collect()
    }

    #[test]
    fn names_close_to_a_known_one_are_suggested() {
        let yaml = "\
targets:
  main_db: { postgres: postgres://u@h/d }
severity_weights: { hihg: 5 }
stages:
  - { name: prod, min_score: 90, require: [\"severity>=critcal\"] }
waivers:
  - { check: audit.logs, reason: r, expires: 2030-01-01 }
checks:
  - id: audit.log
    category: secuirty
    severity: meduim
    target: main-db
    sql: { query: select 1 }
";
        let diags = load_text(yaml, &[]).unwrap_err();
        assert_eq!(
            messages(&diags),
            [
                "3:21 unknown severity `hihg` (did you mean `high`?); expected critical, high, medium or low",
                "5:44 unknown severity `critcal` (did you mean `critical`?); expected critical, high, medium or low",
                "7:14 waiver names no existing check: `audit.logs` (did you mean `audit.log`?)",
                "10:15 unknown category `secuirty` (did you mean `security`?); known: security, reliability, database, observability, operations",
                "11:15 unknown severity `meduim` (did you mean `medium`?); expected critical, high, medium or low",
                "12:13 unknown target `main-db` (did you mean `main_db`?); known: main_db",
            ]
        );
    }

    #[test]
    fn one_root_cause_gives_one_diagnostic() {
        let yaml = "\
targets:
  db: { postgres: \"mysql://h/d\" }
  api: { http: 42 }
waivers:
  - { check: bad.params, reason: r, expires: 2030-01-01 }
checks:
  - id: bad.params
    category: database
    severity: low
    target: db
    sql: { query: select 1, expect: { rows: { mn: 1 } } }
  - id: fn.{{item}}
    for_each: [a, b, c]
    category: database
    severity: low
    target: db
    sql: { query: select 1, expect: { rows: { mn: 1 } } }
  - id: up
    category: reliability
    severity: low
    target: api
    http: { path: / }
";
        let diags = load_text(yaml, &[]).unwrap_err();
        assert_eq!(
            messages(&diags),
            [
                "2:19 target `db`: invalid URL: the scheme must be postgres:// or postgresql:// (checks `bad.params` and `fn.{{item}}` use it)",
                "3:16 `http` must be a URL string (check `up` uses it)",
                "11:47 unknown field `mn`, expected `min` or `max` (in `sql` of check `bad.params`)",
                "17:47 unknown field `mn`, expected `min` or `max` (in `sql` of check `fn.{{item}}`)",
            ]
        );
    }

    #[test]
    fn unset_and_empty_variables_are_warnings_naming_their_user() {
        let yaml = "\
targets:
  db: { postgres: \"${DB_URL}\", api_roles: [\"${DB_URL}\"] }
checks:
  - id: fn.{{item}}
    for_each: [a, b]
    category: operations
    severity: low
    command: { run: [\"${TOOL:?install the tool}\", \"${MODE:-fast}\", \"${EMPTY}\"] }
";
        let loaded = load_text(yaml, &[("EMPTY", "")]).unwrap();
        assert_eq!(
            warnings(&loaded),
            [
                "2:19 unset-variable environment variable DB_URL is not set; target `db` uses it, so its checks would be `error` | set DB_URL before `ready check`, or write a default: ${DB_URL:-…}",
                "8:22 unset-variable environment variable TOOL is not set: install the tool; check `fn.{{item}}` uses it, so it would be `error` | set TOOL before `ready check`, or write a default: ${TOOL:-…}",
                "8:68 empty-variable environment variable EMPTY is set but empty; check `fn.{{item}}` uses it, so it would be `error` | give EMPTY a value before `ready check`, or write a default: ${EMPTY:-…}",
            ]
        );
        assert!(
            matches!(&loaded.suite.targets["db"].state, TargetState::Unresolved(m) if m == "target `db`: environment variable DB_URL is not set")
        );
        let loaded = load_text(yaml, &[("DB_URL", ""), ("TOOL", "t"), ("EMPTY", "e")]).unwrap();
        assert!(
            matches!(&loaded.suite.targets["db"].state, TargetState::Unresolved(m) if m == "target `db`: environment variable DB_URL is set but empty")
        );
        assert_eq!(loaded.warnings.0.len(), 1, "{:?}", loaded.warnings);
    }

    #[test]
    fn diagnostics_carry_their_source_line_with_literal_secrets_masked() {
        let yaml =
            "targets:\n  db: { postgres: \"postgres://u:pw-very-secret@h/d\", concurrency: 0 }\n";
        let diags = load_text(yaml, &[]).unwrap_err();
        let line = diags.0[0].source_line.as_deref().unwrap();
        assert!(
            !line.contains("pw-very-secret") && line.contains("concurrency: 0"),
            "{line}"
        );
        // The password is starred character for character, so the `0` at column 67 keeps its
        // place and its one-character span (the redactor's shorter mask used to shift it).
        assert_eq!(diags.0[0].end_col(), Some(68));
    }

    #[test]
    fn for_each_makes_one_check_per_item() {
        let yaml = "checks:\n  - id: fn.{{item}}\n    title: \"{{item}} is set\"\n    for_each: [a, b]\n    category: operations\n    severity: low\n    env: { vars: [\"{{item}}\"] }\n";
        let suite = load_text(yaml, &[]).unwrap().suite;
        let ids: Vec<_> = suite
            .checks
            .iter()
            .map(|c| (c.id.as_str(), c.title.as_str()))
            .collect();
        assert_eq!(ids, [("fn.a", "a is set"), ("fn.b", "b is set")]);
    }

    #[test]
    fn unset_variables_make_targets_and_checks_unresolved_not_invalid() {
        let yaml = "targets:\n  db: { postgres: \"${DB_URL}\" }\n  api: { http: \"https://x\", headers: { apikey: \"${KEY}\" } }\nchecks:\n  - id: c\n    category: operations\n    severity: low\n    command: { run: [\"${TOOL:?install the tool}\"] }\n";
        let suite = load_text(yaml, &[("KEY", "k-123456")]).unwrap().suite;
        assert!(
            matches!(&suite.targets["db"].state, TargetState::Unresolved(m) if m == "target `db`: environment variable DB_URL is not set")
        );
        assert!(matches!(&suite.targets["api"].state, TargetState::Ready(_)));
        assert!(matches!(
            &suite.checks[0].state,
            CheckState::Unresolved { kind_name: "command", missing }
                if missing == &["environment variable TOOL is not set: install the tool"]
        ));
        assert_eq!(suite.secrets, ["k-123456"]);
    }

    #[test]
    fn secret_values_never_appear_in_diagnostics() {
        let yaml = "checks:\n  - id: c\n    category: operations\n    severity: low\n    http: { url: \"https://x\", samples: \"${TOKEN}\" }\n";
        let diags = load_text(yaml, &[("TOKEN", "tok-very-secret")]).unwrap_err();
        let text = diags.to_string();
        assert!(!text.contains("tok-very-secret"), "{text}");
        assert!(text.contains("expected u32, found string"), "{text}");
    }

    #[test]
    fn parser_limits_and_duplicate_keys_are_sentences() {
        let diags = load_text("version: 1\nversion: 1\n", &[]).unwrap_err();
        assert_eq!(
            messages(&diags),
            ["2:1 `version` appears twice in this mapping: keep one of them"]
        );
        let mut yaml = "version: 1\na0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n".to_string();
        for level in 1..6 {
            let prev = format!("*a{}", level - 1);
            yaml += &format!("a{level}: &a{level} [{}]\n", vec![prev; 10].join(", "));
        }
        let diags = load_text(&yaml, &[]).unwrap_err();
        let shown = messages(&diags);
        assert_eq!(shown.len(), 1);
        assert!(
            shown[0].ends_with(
                " the document is too large to read (past the parser's limit on nodes, aliases or nesting): split it into included files and avoid aliases of aliases"
            ),
            "{shown:?}"
        );
    }

    #[test]
    fn non_finite_numbers_are_refused_in_words() {
        let diags = load_text("severity_weights: { high: .nan }\n", &[]).unwrap_err();
        assert_eq!(
            messages(&diags),
            ["1:27 `.nan` is not a number this configuration accepts: write a finite number"]
        );
    }

    #[test]
    fn invalid_utf8_has_a_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ready.yaml");
        std::fs::write(&path, b"version: 1\nproject: \"caf\xc3\xa9 \xff\"\n").unwrap();
        let diags = load(&Source::File(path), &HashMap::new(), dir.path()).unwrap_err();
        assert_eq!(
            messages(&diags),
            ["2:16 byte 0xff is not UTF-8: save the file as UTF-8"]
        );
    }

    #[test]
    fn weights_are_finite_numbers_up_to_1000() {
        let yaml = "categories:\n  security: { weight: 1e308 }\nseverity_weights: { high: 2000, low: -1 }\nchecks:\n  - id: c\n    category: operations\n    severity: low\n    weight: 1001\n    env: { vars: [HOME] }\n";
        let diags = load_text(yaml, &[]).unwrap_err();
        assert_eq!(
            messages(&diags),
            [
                "2:23 `weight` must be a number from 0 to 1000",
                "3:27 `a severity weight` must be a number from 0 to 1000",
                "3:38 `a severity weight` must be a number from 0 to 1000",
                "8:13 `weight` must be a number from 0 to 1000",
            ]
        );
    }

    #[test]
    fn parameters_of_the_wrong_shape_name_the_shapes_accepted() {
        let yaml = "checks:\n  - id: a\n    category: security\n    severity: low\n    command: { run: [\"true\"], stdout_contains: { a: 1 } }\n  - id: b\n    category: security\n    severity: low\n    default_credentials: { postgres: [1] }\n";
        let diags = load_text(yaml, &[]).unwrap_err();
        assert_eq!(
            messages(&diags),
            [
                "5:48 expected a value or a list of values of the type this parameter takes (in `command` of check `a`)",
                "9:38 expected host:port, a URL, or `true` for the check's own target (in `default_credentials` of check `b`)",
            ]
        );
    }

    #[test]
    fn includes_must_match_files() {
        let diags = load_text("include: [checks/*.yaml]\n", &[]).unwrap_err();
        assert_eq!(
            messages(&diags),
            ["1:11 include pattern `checks/*.yaml` matches no file"]
        );
    }

    #[test]
    fn the_built_in_database_target_reads_api_roles_from_the_environment() {
        let env: HashMap<String, String> = [
            ("DATABASE_URL", "postgres://u:pw-123456@h/d"),
            ("READY_API_ROLES", "anon, authenticated"),
            ("READY_EXPOSED_SCHEMAS", "public,api"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let suite = load(&Source::Builtin, &env, Path::new(".")).unwrap().suite;
        let TargetState::Ready(TargetKind::Postgres(db)) = &suite.targets["db"].state else {
            panic!("db is ready")
        };
        assert_eq!(
            db.api_roles.as_deref(),
            Some(&["anon".to_string(), "authenticated".to_string()][..])
        );
        assert_eq!(db.exposed_schemas, ["public", "api"]);
    }

    #[test]
    fn discovery_order() {
        let dir = tempfile::tempdir().unwrap();
        let env = HashMap::from([("READY_CONFIG".to_string(), "/etc/ready.yaml".to_string())]);
        assert_eq!(
            discover(Some(Path::new("x.yaml")), &env, dir.path()),
            Source::File("x.yaml".into())
        );
        assert_eq!(
            discover(None, &env, dir.path()),
            Source::File("/etc/ready.yaml".into())
        );
        assert_eq!(discover(None, &HashMap::new(), dir.path()), Source::Builtin);
        std::fs::write(dir.path().join("ready.yml"), "").unwrap();
        assert_eq!(
            discover(None, &HashMap::new(), dir.path()),
            Source::File(dir.path().join("ready.yml"))
        );
    }
}
