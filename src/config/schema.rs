//! The JSON Schema of the configuration files (`ready schema config`), for editors
//! (`# yaml-language-server: $schema=…`). The loader validates by hand so that it can report every
//! problem at once; the schema is written from the same key definitions (`keys`) it reads with,
//! and the kinds' parameters from the types they are deserialized into.

use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

use super::keys::{PROJECT, Section, ValueType};
use crate::checks::Kind;
use crate::checks::params::DurationParam;
use crate::vocab::Severity;

pub fn json_schema() -> Value {
    let mut writer = Writer {
        generator: SchemaSettings::draft2020_12().into_generator(),
        sections: Map::new(),
    };
    let Value::Object(project) = writer.section(&PROJECT) else {
        unreachable!("a section is an object")
    };
    let mut defs = writer.generator.take_definitions(true);
    defs.extend(writer.sections);
    let mut schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ready configuration",
    });
    let root = schema.as_object_mut().expect("built as an object");
    root.extend(project);
    root.insert("$defs".into(), Value::Object(defs));
    allow_interpolation(&mut schema);
    schema
}

/// Writes sections into `$defs`; the kinds' parameter types go through schemars.
struct Writer {
    generator: SchemaGenerator,
    sections: Map<String, Value>,
}

impl Writer {
    fn section(&mut self, section: &Section) -> Value {
        let mut properties = Map::new();
        for key in section.keys {
            let mut value = self.value(&key.value);
            if !key.doc.is_empty() {
                value = with_description(value, key.doc);
            }
            properties.insert(key.name.into(), value);
        }
        let required: Vec<&str> = section
            .keys
            .iter()
            .filter(|k| k.required)
            .map(|k| k.name)
            .collect();
        let mut schema = json!({ "type": "object", "properties": properties });
        if !section.doc.is_empty() {
            schema["description"] = section.doc.into();
        }
        if !required.is_empty() {
            schema["required"] = required.into();
        }
        if section.with_kind {
            // The kind key's properties live in the `oneOf` branches, which only
            // `unevaluatedProperties` (not `additionalProperties`) sees.
            schema["oneOf"] = self.kinds();
            schema["unevaluatedProperties"] = false.into();
        } else {
            schema["additionalProperties"] = false.into();
        }
        schema
    }

    /// `{ "$ref": … }` to the section, written into `$defs` on first use.
    fn reference(&mut self, section: &Section) -> Value {
        if !self.sections.contains_key(section.name) {
            // Reserved first: a section is written once.
            self.sections.insert(section.name.into(), Value::Null);
            let schema = self.section(section);
            self.sections.insert(section.name.into(), schema);
        }
        json!({ "$ref": format!("#/$defs/{}", section.name) })
    }

    fn value(&mut self, value: &ValueType) -> Value {
        match value {
            ValueType::Text => json!({ "type": "string" }),
            ValueType::Pattern(pattern) => json!({ "type": "string", "pattern": pattern }),
            // Or `${VAR}`, read after interpolation.
            ValueType::Date => {
                json!({ "type": "string", "pattern": r"^(\s*\d{4}-\d{2}-\d{2}\s*|.*\$\{.*)$" })
            }
            ValueType::Texts => json!({ "type": "array", "items": { "type": "string" } }),
            ValueType::TextMap => {
                json!({ "type": ["object", "null"], "additionalProperties": { "type": "string" } })
            }
            ValueType::Bool => json!({ "type": "boolean" }),
            ValueType::Duration => self.generator.subschema_for::<DurationParam>().to_value(),
            ValueType::Whole(range) => {
                json!({ "type": "integer", "minimum": range.start(), "maximum": range.end() })
            }
            ValueType::Number(range) => {
                json!({ "type": "number", "minimum": range.start(), "maximum": range.end() })
            }
            ValueType::Severity => self.generator.subschema_for::<Severity>().to_value(),
            ValueType::PerSeverity(each) => {
                let each = self.value(each);
                let properties: Map<String, Value> = Severity::ALL
                    .iter()
                    .map(|s| (s.as_str().to_string(), each.clone()))
                    .collect();
                // The loader reads an empty key (null) as an empty mapping.
                json!({ "type": ["object", "null"], "properties": properties, "additionalProperties": false })
            }
            ValueType::Table(section) => {
                json!({ "anyOf": [self.reference(section), { "type": "null" }] })
            }
            ValueType::MapOf(sections) => {
                let each = match sections {
                    [one] => self.reference(one),
                    many => {
                        json!({ "anyOf": many.iter().map(|s| self.reference(s)).collect::<Vec<_>>() })
                    }
                };
                json!({ "type": ["object", "null"], "additionalProperties": each })
            }
            ValueType::ListOf(section) => {
                json!({ "type": "array", "items": self.reference(section) })
            }
        }
    }

    /// One `{ name: params }` branch per kind, from the `Kind` enum's own schema. The branches
    /// do not close the object: the check's keys sit beside the kind key.
    fn kinds(&mut self) -> Value {
        let mut kinds = Kind::json_schema(&mut self.generator).to_value();
        let mut branches = kinds["oneOf"].take();
        for branch in branches.as_array_mut().into_iter().flatten() {
            if let Some(branch) = branch.as_object_mut() {
                branch.remove("additionalProperties");
            }
        }
        branches
    }
}

fn with_description(mut value: Value, doc: &str) -> Value {
    if let Some(map) = value.as_object_mut() {
        map.insert("description".into(), doc.into());
    }
    value
}

/// Any scalar may be written as `${VAR}` and is read after interpolation: where the schema wants
/// a number, a boolean or one of a few names, a string holding `${` is accepted too.
fn allow_interpolation(schema: &mut Value) {
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

    fn names(section: &Section) -> Vec<String> {
        let mut k: Vec<String> = section.names().map(str::to_string).collect();
        k.sort();
        k
    }

    #[test]
    fn the_schema_knows_every_key_the_loader_knows() {
        use super::super::keys::*;
        let schema = json_schema();
        assert_eq!(keys(&schema), names(&PROJECT));

        let check = &schema["$defs"]["CheckDef"];
        assert_eq!(keys(check), names(&CHECK));
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
        let mut names_of_kinds = Kind::NAMES.to_vec();
        names_of_kinds.sort();
        assert_eq!(kinds, names_of_kinds);

        for section in [
            &POSTGRES_TARGET,
            &HTTP_TARGET,
            &CATEGORY,
            &STAGE,
            &DEFAULTS,
            &WAIVER,
        ] {
            let def = &schema["$defs"][section.name];
            assert_eq!(keys(def), names(section), "{}", section.name);
            let mut required: Vec<&str> = section
                .keys
                .iter()
                .filter(|k| k.required)
                .map(|k| k.name)
                .collect();
            required.sort();
            let mut stated: Vec<&str> = def["required"]
                .as_array()
                .map(|r| r.iter().map(|k| k.as_str().unwrap()).collect())
                .unwrap_or_default();
            stated.sort();
            assert_eq!(stated, required, "{}", section.name);
        }
        let weights = &schema["properties"]["severity_weights"];
        let mut severities: Vec<String> = Severity::ALL
            .iter()
            .map(|s| s.as_str().to_string())
            .collect();
        severities.sort();
        assert_eq!(keys(weights), severities);
    }

    /// The schema of the keys `keys` defines (the kinds' parameters are pinned by their own
    /// tests): a change to it is deliberate.
    #[test]
    fn the_schema_of_the_sections_is_pinned() {
        let mut schema = json_schema();
        let defs = schema["$defs"].as_object_mut().unwrap();
        defs.retain(|name, _| name.ends_with("Def") || name == "Severity" || name == "Duration");
        defs["CheckDef"]["oneOf"] =
            serde_json::json!(format!("one branch per kind: {}", Kind::NAMES.join(", ")));
        insta::assert_snapshot!(serde_json::to_string_pretty(&schema).unwrap());
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
        let waiver = |expires: &str| serde_json::json!({ "waivers": [{ "check": "a", "reason": "r", "expires": expires }] });
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
            // The loader's weight bounds hold for every weight, and an optional key is not null.
            (check(serde_json::json!({ "weight": 1000 })), true),
            (check(serde_json::json!({ "weight": 1001 })), false),
            (
                serde_json::json!({ "severity_weights": { "high": 1001 } }),
                false,
            ),
            (
                serde_json::json!({ "categories": { "x": { "weight": 1001 } } }),
                false,
            ),
            (check(serde_json::json!({ "title": null })), false),
            (serde_json::json!({ "version": 2 }), false),
            (
                serde_json::json!({ "targets": null, "defaults": null }),
                true,
            ),
            (waiver("2030-01-31"), true),
            (waiver("${EXPIRES}"), true),
            (waiver("soon"), false),
        ] {
            assert_eq!(validator.is_valid(&config), valid, "{config}");
        }
    }

    #[test]
    fn the_id_pattern_agrees_with_the_loader() {
        let pattern = regex::Regex::new(super::super::keys::ID_PATTERN).unwrap();
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
