//! What a health body says: the status words of the common health libraries, the overall
//! status and each component's, read from JSON or plain text.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::checks::params::keep;

/// What a health body says about the service or a component.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Health {
    Up,
    Warn,
    Down,
}

/// Reads the status words of the common health libraries: `application/health+json`
/// (pass/warn/fail), Spring Actuator (UP, DOWN, OUT_OF_SERVICE, UNKNOWN), terminus (ok, error,
/// shutting_down), PyPI healthcheck (success, failure), fastapi-health (connected…), ASP.NET Core
/// (Healthy, Degraded, Unhealthy), Go health-go (OK, Partially Available, Unavailable) and
/// alexliesenfeld/health (up, down, unknown), Kubernetes-style `ok`.
pub fn health_word(word: &str) -> Option<Health> {
    match word.trim().to_ascii_lowercase().as_str() {
        "pass" | "ok" | "up" | "healthy" | "alive" | "ready" | "green" | "connected"
        | "success" | "available" => Some(Health::Up),
        "warn" | "warning" | "degraded" | "unknown" | "yellow" | "partially available" => {
            Some(Health::Warn)
        }
        "fail" | "failed" | "failure" | "down" | "error" | "unhealthy" | "out_of_service"
        | "red" | "disconnected" | "unavailable" | "shutting_down" => Some(Health::Down),
        _ => None,
    }
}

/// The overall status a body claims, and its components by name.
#[derive(Debug, Default)]
pub(super) struct Body {
    pub status: Option<(String, Option<Health>)>,
    pub components: Components,
    /// Whether the body parsed as JSON.
    pub json: bool,
}

/// The `status` field (any capitalisation: `"Status"` is read too). A status that is not a
/// string (`null`, `["DOWN"]`, `true`) is shown as JSON and is no known word.
fn status_of(value: &Json) -> Option<(String, Option<Health>)> {
    let Json::Object(fields) = value else {
        return None;
    };
    let (_, status) = fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("status"))?;
    Some(match status {
        Json::String(text) => (text.clone(), health_word(text)),
        other => (other.to_string(), None),
    })
}

pub(super) fn read_body(text: &str) -> Body {
    let Ok(doc @ Json::Object(_)) = serde_json::from_str::<Json>(text) else {
        if let Ok(other) = serde_json::from_str::<Json>(text)
            && !other.is_string()
        {
            // A top-level array, number or literal: JSON, but no status to read.
            return Body {
                status: Some((keep(&other.to_string()), None)),
                json: true,
                ..Body::default()
            };
        }
        // Plain text: its first word, when it is a status word ("OK", "DOWN: db unreachable").
        let first = text
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .find(|w| !w.is_empty())
            .unwrap_or("");
        let word = health_word(first);
        return Body {
            status: word.map(|w| (first.to_string(), Some(w))),
            ..Body::default()
        };
    };
    let mut body = Body {
        status: status_of(&doc),
        json: true,
        ..Body::default()
    };
    health_json_checks(&doc, &mut body.components);
    home_grown_fields(&doc, &mut body.components);
    actuator_components(&doc, &mut body.components);
    body
}

pub(super) type Components = BTreeMap<String, Option<(String, Option<Health>)>>;

/// application/health+json: "checks": {"db:connections": [{"status": "pass", …}], …}
fn health_json_checks(doc: &Json, components: &mut Components) {
    let Some(Json::Object(checks)) = doc.get("checks") else {
        return;
    };
    for (key, entries) in checks {
        let name = key.split(':').next().unwrap_or(key).to_string();
        let list = match entries {
            Json::Array(items) => items.iter().collect::<Vec<_>>(),
            other => vec![other],
        };
        // A component is as healthy as its worst measurement.
        let worst = list
            .iter()
            .filter_map(|e| status_of(e))
            .max_by_key(|(_, h)| match h {
                Some(Health::Up) => 0,
                Some(Health::Warn) => 1,
                None => 2,
                Some(Health::Down) => 3,
            });
        components.insert(name.clone(), worst.clone());
        if name != *key {
            components.insert(key.clone(), worst);
        }
    }
}

/// Home-grown bodies: {"status": "ok", "db": "up", "cache": {"status": "down"}}.
fn home_grown_fields(doc: &Json, components: &mut Components) {
    let Json::Object(fields) = doc else {
        return;
    };
    for (name, value) in fields {
        let reported = match value {
            Json::String(word) => health_word(word).map(|h| (word.clone(), Some(h))),
            Json::Object(_) => status_of(value),
            _ => None,
        };
        if let Some(reported) = reported
            && !name.eq_ignore_ascii_case("status")
        {
            components.insert(name.clone(), Some(reported));
        }
    }
}

/// Spring Actuator: "components" (Boot 2.2+) or "details" (older), nested one level.
fn actuator_components(doc: &Json, components: &mut Components) {
    for field in ["components", "details"] {
        let Some(Json::Object(listed)) = doc.get(field) else {
            continue;
        };
        for (name, value) in listed {
            components
                .entry(name.clone())
                .or_insert_with(|| status_of(value));
            if let Some(Json::Object(nested)) = value.get("components") {
                for (inner, value) in nested {
                    components
                        .entry(format!("{name}.{inner}"))
                        .or_insert_with(|| status_of(value));
                }
            }
        }
    }
}

/// Every component below the top level whose status is a down word, by its path of keys
/// (`cache`, `db.primary`), leaving out the containers `components`, `details` and `checks`.
pub(super) fn down_anywhere(text: &str) -> Vec<(String, String)> {
    fn walk(value: &Json, path: &str, found: &mut Vec<(String, String)>) {
        match value {
            Json::Object(fields) => {
                for (key, inner) in fields {
                    let is_status = key.eq_ignore_ascii_case("status");
                    let here = match key.as_str() {
                        _ if is_status => path.to_string(),
                        "components" | "details" | "checks" => path.to_string(),
                        _ if path.is_empty() => key.clone(),
                        _ => format!("{path}.{key}"),
                    };
                    if let Json::String(word) = inner
                        && health_word(word) == Some(Health::Down)
                        && !here.is_empty()
                        && !found.iter().any(|(p, _)| *p == here)
                    {
                        found.push((here.clone(), word.clone()));
                    }
                    walk(inner, &here, found);
                }
            }
            Json::Array(items) => items.iter().for_each(|item| walk(item, path, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    if let Ok(doc) = serde_json::from_str::<Json>(text) {
        walk(&doc, "", &mut found);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_in_each_format() {
        let b = read_body(
            r#"{"status":"pass","checks":{"db:connections":[{"status":"pass"},{"status":"warn"}]}}"#,
        );
        assert_eq!(b.status.unwrap().1, Some(Health::Up));
        assert_eq!(b.components["db"].clone().unwrap().1, Some(Health::Warn));
        let b = read_body(
            r#"{"status":"UP","components":{"db":{"status":"DOWN"},"redis":{"status":"UP"}}}"#,
        );
        assert_eq!(b.components["db"].clone().unwrap().1, Some(Health::Down));
        assert_eq!(
            read_body("DOWN: db unreachable").status.unwrap().1,
            Some(Health::Down)
        );
        assert_eq!(read_body("OK").status.unwrap().1, Some(Health::Up));
        assert!(read_body("<html>hello</html>").status.is_none());
        let b = read_body(
            r#"{"status":"ok","database":"connected","cache":{"status":"down"},"version":"1.2"}"#,
        );
        assert_eq!(
            b.components["database"].clone().unwrap().1,
            Some(Health::Up)
        );
        assert_eq!(b.components["cache"].clone().unwrap().1, Some(Health::Down));
        assert!(!b.components.contains_key("version"));
    }

    #[test]
    fn each_library_s_words_read_as_up_degraded_or_down() {
        let cases = [
            ("UP", Health::Up),                    // Spring Actuator
            ("OUT_OF_SERVICE", Health::Down),      // Spring Actuator
            ("pass", Health::Up),                  // health+json
            ("warn", Health::Warn),                // health+json
            ("fail", Health::Down),                // health+json
            ("ok", Health::Up),                    // terminus, Kubernetes
            ("shutting_down", Health::Down),       // terminus
            ("success", Health::Up),               // PyPI healthcheck
            ("failure", Health::Down),             // PyPI healthcheck
            ("connected", Health::Up),             // fastapi-health conditions
            ("Healthy", Health::Up),               // ASP.NET Core
            ("Degraded", Health::Warn),            // ASP.NET Core
            ("Unhealthy", Health::Down),           // ASP.NET Core
            ("Partially Available", Health::Warn), // hellofresh/health-go
            ("Unavailable", Health::Down),         // hellofresh/health-go
            ("unknown", Health::Warn),             // alexliesenfeld/health
        ];
        for (word, health) in cases {
            assert_eq!(health_word(word), Some(health), "{word}");
        }
        assert_eq!(health_word("splendid"), None);
    }
}
