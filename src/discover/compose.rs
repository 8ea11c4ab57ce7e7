//! Secret-looking variables in the `environment:` of compose services: their names and where
//! compose takes each value from. A value written in the file is never kept, only the fact that
//! it is written there.

use serde_json::Value as Json;

use super::repository::secret_looking;

/// One secret-looking variable a compose service is given.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ComposeSecret {
    pub file: String,
    pub service: String,
    /// The name the service sees.
    pub key: String,
    pub origin: Origin,
}

/// Where compose takes the value from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// `${VAR}`, `$VAR` or `${VAR:-fallback}`: the host's variable VAR.
    Variable { name: String, fallback: bool },
    /// `- KEY` or `KEY:` with no value: the host's variable of the same name.
    PassedThrough,
    /// Text written in the compose file (value not kept).
    Literal,
    /// Text and variables together, e.g. `Bearer ${TOKEN}` (value not kept).
    Composed,
}

impl ComposeSecret {
    /// The variable of the environment the checks run in that holds the value.
    pub fn variable(&self) -> &str {
        match &self.origin {
            Origin::Variable { name, .. } => name,
            _ => &self.key,
        }
    }
}

/// The secret-looking variables of every service of a compose file, sorted by service and name;
/// an unreadable file has none.
pub fn compose_secrets(file: &str, text: &str) -> Vec<ComposeSecret> {
    let Ok(doc) = serde_saphyr::from_str::<Json>(text) else {
        return Vec::new();
    };
    let Some(services) = doc.get("services").and_then(Json::as_object) else {
        return Vec::new();
    };
    let mut found: Vec<ComposeSecret> = services
        .iter()
        .flat_map(|(service, def)| {
            environment(def.get("environment"))
                .into_iter()
                .filter(|(key, _)| secret_looking(key))
                .map(|(key, origin)| ComposeSecret {
                    file: file.to_string(),
                    service: service.clone(),
                    key,
                    origin,
                })
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The names of an `environment:` block, map or list form, with where each value comes from.
fn environment(block: Option<&Json>) -> Vec<(String, Origin)> {
    match block {
        Some(Json::Object(map)) => map
            .iter()
            .map(|(key, value)| {
                let origin = match value {
                    Json::Null => Origin::PassedThrough,
                    Json::String(text) => origin(text),
                    _ => Origin::Literal,
                };
                (key.clone(), origin)
            })
            .collect(),
        Some(Json::Array(items)) => items
            .iter()
            .filter_map(Json::as_str)
            .map(|item| match item.split_once('=') {
                Some((key, value)) => (key.trim().to_string(), origin(value)),
                None => (item.trim().to_string(), Origin::PassedThrough),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Where a value written as `text` comes from; the text itself is dropped.
fn origin(text: &str) -> Origin {
    let text = text.trim();
    if !text.contains('$') {
        return Origin::Literal;
    }
    let reference = match text.strip_prefix("${").and_then(|t| t.strip_suffix('}')) {
        Some(inner) => inner,
        None => text.strip_prefix('$').unwrap_or(""),
    };
    let end = reference
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(reference.len());
    let (name, rest) = reference.split_at(end);
    let fallback = rest.starts_with(":-") || rest.starts_with('-');
    let whole = rest.is_empty() || fallback || rest.starts_with(":?") || rest.starts_with('?');
    let braced = text.starts_with("${");
    if name.is_empty() || !whole || (!braced && !rest.is_empty()) {
        return Origin::Composed;
    }
    Origin::Variable {
        name: name.to_string(),
        fallback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(text: &str) -> Vec<(String, String, Origin)> {
        compose_secrets("docker-compose.yml", text)
            .into_iter()
            .map(|s| (s.service, s.key, s.origin))
            .collect()
    }

    fn variable(name: &str, fallback: bool) -> Origin {
        Origin::Variable {
            name: name.into(),
            fallback,
        }
    }

    #[test]
    fn map_and_list_environments_give_secret_names_and_their_origin_only() {
        let text = "services:\n  minio:\n    image: minio/minio\n    environment:\n      MINIO_ROOT_USER: admin\n      MINIO_ROOT_PASSWORD: literal-Secret-value-1\n  api:\n    image: acme/api\n    environment:\n      - JWT_SECRET=${JWT_SECRET}\n      - STRIPE_API_KEY\n      - GITHUB_TOKEN=Bearer ${GH}\n      - SUPABASE_ANON_KEY=eyJ\n      - PORT=3000\n  db:\n    image: postgres:15\n    environment:\n      POSTGRES_PASSWORD: ${DB_PASSWORD:-postgres}\n      REDIS_PASSWORD: $REDIS_PASSWORD\n      SESSION_SECRET: 1234\n      APP_KEY:\n";
        assert_eq!(
            summary(text),
            [
                ("api".into(), "GITHUB_TOKEN".into(), Origin::Composed),
                (
                    "api".into(),
                    "JWT_SECRET".into(),
                    variable("JWT_SECRET", false)
                ),
                ("api".into(), "STRIPE_API_KEY".into(), Origin::PassedThrough),
                ("db".into(), "APP_KEY".into(), Origin::PassedThrough),
                (
                    "db".into(),
                    "POSTGRES_PASSWORD".into(),
                    variable("DB_PASSWORD", true)
                ),
                (
                    "db".into(),
                    "REDIS_PASSWORD".into(),
                    variable("REDIS_PASSWORD", false)
                ),
                ("db".into(), "SESSION_SECRET".into(), Origin::Literal),
                (
                    "minio".into(),
                    "MINIO_ROOT_PASSWORD".into(),
                    Origin::Literal
                ),
            ]
        );
        let debug = format!("{:?}", compose_secrets("docker-compose.yml", text));
        assert!(!debug.contains("literal-Secret-value-1") && !debug.contains("1234"));
    }

    #[test]
    fn the_variable_read_is_the_one_compose_interpolates() {
        let secrets = compose_secrets(
            "compose.yaml",
            "services:\n  db:\n    environment:\n      POSTGRES_PASSWORD: ${DB_PASSWORD:?set it}\n      JWT_SECRET: x\n",
        );
        let read: Vec<&str> = secrets.iter().map(ComposeSecret::variable).collect();
        assert_eq!(read, ["JWT_SECRET", "DB_PASSWORD"]);
        assert_eq!(origin("$A$B"), Origin::Composed);
        assert_eq!(origin("${A}x"), Origin::Composed);
        assert!(compose_secrets("compose.yaml", "services: [").is_empty());
    }
}
