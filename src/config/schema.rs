//! The JSON Schema of the configuration files (`ready schema config`), for editors
//! (`# yaml-language-server: $schema=…`). The loader validates by hand so that it can report every
//! problem at once; these types describe the same format, and a test keeps the two in step.
// The types below are only read by schemars, never built.
#![allow(dead_code)]

use std::collections::BTreeMap;

use schemars::JsonSchema;

use crate::checks::Kind;
use crate::vocab::Severity;

use super::checks::{ID_PATTERN, RETRIES};
use super::reader::CONCURRENCY;
use super::settings::MIN_SCORE;
use crate::checks::params::DurationParam;

/// `ready.yaml`, or a check file holding only `checks:`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, title = "ready configuration")]
pub struct ProjectFile {
    /// Always 1.
    version: Option<u32>,
    /// Shown in reports.
    project: Option<String>,
    targets: Option<BTreeMap<String, TargetDef>>,
    /// Category id → weight (and title). The five defaults exist unless overridden.
    categories: Option<BTreeMap<String, CategoryDef>>,
    severity_weights: Option<SeverityWeightsDef>,
    /// Ordered, lowest first.
    stages: Option<Vec<StageDef>>,
    defaults: Option<DefaultsDef>,
    /// Check files: globs relative to this file; each must match a file.
    include: Option<Vec<String>>,
    waivers: Option<Vec<WaiverDef>>,
    checks: Option<Vec<CheckDef>>,
}

#[derive(JsonSchema)]
#[serde(untagged)]
enum TargetDef {
    Postgres(PostgresTargetDef),
    Http(HttpTargetDef),
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct PostgresTargetDef {
    /// A connection URL, e.g. `${DATABASE_URL}`; its password is never printed.
    postgres: String,
    /// Roles that serve untrusted clients (e.g. anon, authenticated).
    api_roles: Option<Vec<String>>,
    /// Schemas those roles reach (default: public).
    exposed_schemas: Option<Vec<String>>,
    /// Probes that write (always rolled back) need true.
    allow_writes: Option<bool>,
    connect_timeout: Option<DurationParam>,
    /// Checks in flight against this target (default 4).
    #[schemars(range(min = *CONCURRENCY.start(), max = *CONCURRENCY.end()))]
    concurrency: Option<u32>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct HttpTargetDef {
    /// The base URL; check paths join onto it.
    http: String,
    /// Sent with every request; values are secrets and never printed.
    headers: Option<BTreeMap<String, String>>,
    /// Turns certificate verification off (reported on every https check).
    insecure_tls: Option<bool>,
    /// Checks in flight against this target (default 32).
    #[schemars(range(min = *CONCURRENCY.start(), max = *CONCURRENCY.end()))]
    concurrency: Option<u32>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct CategoryDef {
    #[schemars(range(min = 0))]
    weight: Option<f64>,
    title: Option<String>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct SeverityWeightsDef {
    #[schemars(range(min = 0))]
    critical: Option<f64>,
    #[schemars(range(min = 0))]
    high: Option<f64>,
    #[schemars(range(min = 0))]
    medium: Option<f64>,
    #[schemars(range(min = 0))]
    low: Option<f64>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct StageDef {
    name: String,
    #[schemars(range(min = *MIN_SCORE.start(), max = *MIN_SCORE.end()))]
    min_score: f64,
    /// Selectors: a glob or id:GLOB, tag:NAME, category:NAME, kind:NAME, severity>=LEVEL, blocker.
    require: Option<Vec<String>>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct DefaultsDef {
    timeout: Option<DurationParam>,
    #[schemars(range(min = *CONCURRENCY.start(), max = *CONCURRENCY.end()))]
    concurrency: Option<u32>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct WaiverDef {
    /// A check id or glob.
    check: String,
    /// A glob over finding subjects.
    subject: Option<String>,
    reason: String,
    /// YYYY-MM-DD; the waiver lapses at the end of that day (UTC).
    expires: String,
    approved_by: Option<String>,
    ticket: Option<String>,
}

/// A check: the common keys and exactly one kind key.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct CheckDef {
    /// Unique; [a-z0-9][a-z0-9._-]*; may hold {{item}} with for_each.
    #[schemars(pattern(ID_PATTERN))]
    id: String,
    title: Option<String>,
    description: Option<String>,
    rationale: Option<String>,
    category: String,
    severity: Severity,
    /// Default: the severity's weight.
    #[schemars(range(min = 0))]
    weight: Option<f64>,
    blocker: Option<bool>,
    tags: Option<Vec<String>>,
    target: Option<String>,
    timeout: Option<DurationParam>,
    #[schemars(range(min = *RETRIES.start(), max = *RETRIES.end()))]
    retries: Option<u32>,
    remediation: Option<String>,
    /// One check per item; {{item}} is replaced in every string.
    for_each: Option<Vec<String>>,
    #[serde(flatten)]
    kind: Kind,
}

pub fn json_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(ProjectFile)).unwrap_or_default();
    allow_interpolation(&mut schema);
    schema
}

/// Any scalar may be written as `${VAR}` and is read after interpolation: where the schema wants
/// a number, a boolean or one of a few names, a string holding `${` is accepted too.
fn allow_interpolation(schema: &mut serde_json::Value) {
    use serde_json::{Value, json};
    match schema {
        Value::Object(map) => {
            // Documented enums come out as `oneOf` of constants; once each constant also
            // accepts `${…}` they overlap, which `oneOf` forbids and `anyOf` allows.
            let constants = |items: &Vec<Value>| {
                items
                    .iter()
                    .all(|i| i.get("const").is_some() || i.get("enum").is_some())
            };
            if let Some(Value::Array(items)) = map.get("oneOf")
                && constants(items)
                && let Some(items) = map.remove("oneOf")
            {
                map.insert("anyOf".into(), items);
            }
            for value in map.values_mut() {
                allow_interpolation(value);
            }
            let scalar = |t: &Value| matches!(t.as_str(), Some("integer" | "number" | "boolean"));
            let wants_scalar = match map.get("type") {
                Some(Value::Array(types)) => types.iter().any(scalar),
                Some(t) => scalar(t),
                None => false,
            };
            if wants_scalar || map.contains_key("enum") || map.contains_key("const") {
                let original = Value::Object(std::mem::take(map));
                map.insert(
                    "anyOf".into(),
                    json!([original, { "type": "string", "pattern": "\\$\\{" }]),
                );
            }
        }
        Value::Array(items) => items.iter_mut().for_each(allow_interpolation),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Kind;

    fn keys(v: &serde_json::Value) -> Vec<String> {
        let mut k: Vec<String> = v["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    }

    #[test]
    fn the_schema_knows_every_key_the_loader_knows() {
        let schema = json_schema();
        let mut top: Vec<String> = super::super::files::TOP_KEYS
            .iter()
            .map(|s| s.to_string())
            .collect();
        top.sort();
        assert_eq!(keys(&schema), top);

        let check = &schema["$defs"]["CheckDef"];
        let mut envelope: Vec<String> = super::super::checks::CHECK_KEYS
            .iter()
            .map(|s| s.to_string())
            .collect();
        envelope.sort();
        assert_eq!(keys(check), envelope);
        let mut kinds: Vec<String> = check["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|v| {
                v["required"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k.as_str().unwrap().to_string())
            })
            .collect();
        kinds.sort();
        let mut names = Kind::NAMES.to_vec();
        names.sort();
        assert_eq!(kinds, names);

        for (def, loader_keys) in [
            (
                "PostgresTargetDef",
                super::super::targets::POSTGRES_TARGET_KEYS,
            ),
            ("HttpTargetDef", super::super::targets::HTTP_TARGET_KEYS),
            ("CategoryDef", super::super::settings::CATEGORY_KEYS),
            ("StageDef", super::super::settings::STAGE_KEYS),
            ("DefaultsDef", super::super::settings::DEFAULTS_KEYS),
            ("WaiverDef", super::super::settings::WAIVER_KEYS),
        ] {
            let mut loader_keys: Vec<String> = loader_keys.iter().map(|s| s.to_string()).collect();
            loader_keys.sort();
            assert_eq!(keys(&schema["$defs"][def]), loader_keys, "{def}");
        }
    }

    /// The YAML blocks of the README and the kinds' pages that are configurations (a project
    /// file, or a list of checks), as JSON.
    fn documented_configurations() -> Vec<(String, serde_json::Value)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut pages = vec![root.join("README.md")];
        let kinds = std::fs::read_dir(root.join("docs/kinds")).unwrap();
        pages.extend(kinds.map(|e| e.unwrap().path()));
        let mut out = Vec::new();
        for page in pages {
            let text = std::fs::read_to_string(&page).unwrap();
            for (i, block) in text.split("```yaml\n").skip(1).enumerate() {
                let yaml = block.split("```").next().unwrap();
                let value: serde_json::Value = serde_saphyr::from_str(yaml).unwrap();
                let value = match value {
                    serde_json::Value::Array(items)
                        if items.iter().all(|c| c.get("id").is_some()) =>
                    {
                        serde_json::json!({ "checks": items })
                    }
                    v if v.get("checks").is_some() || v.get("targets").is_some() => v,
                    _ => continue,
                };
                out.push((format!("{} block {}", page.display(), i + 1), value));
            }
        }
        out
    }

    #[test]
    fn every_configuration_in_the_repository_matches_the_schema() {
        let validator = jsonschema::validator_for(&json_schema()).unwrap();
        let mut configs: Vec<(String, serde_json::Value)> = crate::config::BUILTIN_FILES
            .iter()
            .map(|(file, text)| (file.to_string(), serde_saphyr::from_str(text).unwrap()))
            .collect();
        let documented = documented_configurations();
        assert!(documented.len() >= 20, "{}", documented.len());
        configs.extend(documented);
        for (name, config) in &configs {
            let errors: Vec<String> = validator
                .iter_errors(config)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{name}: {errors:#?}");
        }
    }

    #[test]
    fn the_schema_states_the_loaders_bounds() {
        let validator = jsonschema::validator_for(&json_schema()).unwrap();
        let check = |extra: serde_json::Value| {
            let mut c = serde_json::json!({ "id": "a.b", "category": "security", "severity": "high", "env": { "vars": ["X"] } });
            c.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            serde_json::json!({ "checks": [c] })
        };
        for (config, valid) in [
            (check(serde_json::json!({ "retries": 10 })), true),
            (check(serde_json::json!({ "retries": 11 })), false),
            (check(serde_json::json!({ "retries": "${RETRIES}" })), true),
            (
                check(serde_json::json!({ "id": "fn.{{item}}", "for_each": ["x"] })),
                true,
            ),
            (check(serde_json::json!({ "id": "Upper" })), false),
            (check(serde_json::json!({ "weight": -1 })), false),
            (
                serde_json::json!({ "stages": [{ "name": "p", "min_score": 101 }] }),
                false,
            ),
            (
                serde_json::json!({ "stages": [{ "name": "p", "min_score": 100 }] }),
                true,
            ),
            (
                serde_json::json!({ "defaults": { "concurrency": 0 } }),
                false,
            ),
            (
                serde_json::json!({ "targets": { "db": { "postgres": "x", "concurrency": 10001 } } }),
                false,
            ),
        ] {
            assert_eq!(validator.is_valid(&config), valid, "{config}");
        }
    }

    #[test]
    fn the_id_pattern_agrees_with_the_loader() {
        let pattern = regex::Regex::new(super::super::checks::ID_PATTERN).unwrap();
        for id in [
            "a",
            "rls.enabled",
            "0-x_y.z",
            "A",
            "-a",
            ".a",
            "a b",
            "é",
            "",
        ] {
            assert_eq!(
                pattern.is_match(id),
                super::super::checks::valid_id(id),
                "{id}"
            );
        }
    }

    #[test]
    fn the_schema_accepts_a_real_configuration() {
        let schema = json_schema();
        let config = serde_json::json!({
            "version": 1,
            "targets": { "db": { "postgres": "${DATABASE_URL}", "api_roles": ["anon"] }, "api": { "http": "https://x" } },
            "checks": [{ "id": "a", "category": "security", "severity": "high", "target": "db", "sql": { "query": "select 1", "expect": { "rows": { "max": 2 } } } }],
            "waivers": [{ "check": "a", "reason": "r", "expires": "2030-01-01" }]
        });
        let validator = jsonschema::validator_for(&schema).unwrap();
        assert!(
            validator.is_valid(&config),
            "{:?}",
            validator
                .iter_errors(&config)
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
        );
        let bad = serde_json::json!({ "checks": [{ "id": "a", "category": "x", "severity": "urgent", "env": {} }] });
        assert!(!validator.is_valid(&bad));
        let interpolated = serde_json::json!({ "checks": [{ "id": "a", "category": "x", "severity": "${SEVERITY}", "http": { "url": "https://x", "samples": "${SAMPLES:-3}" } }] });
        assert!(validator.is_valid(&interpolated));
    }
}
