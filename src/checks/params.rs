//! Parameter types shared by several kinds; each validates itself while it is read.

use std::borrow::Cow;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use crate::redact::redact_url;

/// A duration written as text with a unit: `500ms`, `10s`, `26h`, `1m 30s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DurationParam(pub Duration);

impl<'de> Deserialize<'de> for DurationParam {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = DurationParam;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a duration with a unit, such as 500ms, 10s or 26h")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationParam, E> {
                parse_duration(v).map(DurationParam).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<DurationParam, E> {
                Err(E::custom("a duration needs a unit, such as 30s or 500ms"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<DurationParam, E> {
                Err(E::custom("a duration needs a unit, such as 30s or 500ms"))
            }
        }
        deserializer.deserialize_any(V)
    }
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("malformed duration `{text}`: {e} (write e.g. 500ms, 10s, 26h)"))
}

/// A regular expression, compiled when the configuration is read.
#[derive(Debug, Clone)]
pub struct RegexParam(pub regex::Regex);

impl<'de> Deserialize<'de> for RegexParam {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        regex::Regex::new(&text)
            .map(RegexParam)
            .map_err(|e| de::Error::custom(format!("invalid regular expression: {e}")))
    }
}

/// Any scalar read as its text: `run: [sleep, 5]` or `run: [true]` mean the words written.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalarText(pub String);

impl<'de> Deserialize<'de> for ScalarText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = ScalarText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// An HTTP method as written in a check (`get`, `POST`), read once when the configuration is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpMethod(pub reqwest::Method);

impl HttpMethod {
    /// The default of the kinds that deliver something (`webhook_signature`).
    pub fn post() -> HttpMethod {
        HttpMethod(reqwest::Method::POST)
    }
}

impl Default for HttpMethod {
    fn default() -> Self {
        HttpMethod(reqwest::Method::GET)
    }
}

impl<'de> Deserialize<'de> for HttpMethod {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        reqwest::Method::from_bytes(text.to_ascii_uppercase().as_bytes())
            .map(HttpMethod)
            .map_err(|_| de::Error::custom(format!("invalid HTTP method `{text}`")))
    }
}

/// The schema shows the default as the method's name.
impl Serialize for HttpMethod {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_str())
    }
}

/// An absolute `http://` or `https://` URL a check addresses instead of its target's base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl(pub url::Url);

impl<'de> Deserialize<'de> for HttpUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match url::Url::parse(&text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(HttpUrl(url)),
            // The URL is not quoted: it may come from the environment.
            Ok(url) => Err(de::Error::custom(format!(
                "invalid url: the scheme must be http:// or https://, not {}://",
                url.scheme()
            ))),
            Err(e) => Err(de::Error::custom(format!(
                "invalid url {}: {e}",
                redact_url(&text)
            ))),
        }
    }
}

/// One value or a list of them.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(
    untagged,
    expecting = "expected a value or a list of values of the type this parameter takes"
)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(v) => vec![v],
            OneOrMany::Many(v) => v,
        }
    }
}

/// How much of a long text (a body, command output) a kind keeps for `evaluate`, which masks
/// the secrets in it and then cuts it to what the finding shows (`outcome::Cut`).
pub const KEPT_TEXT_BYTES: usize = 64 * 1024;

/// `text` bounded to `KEPT_TEXT_BYTES`, far beyond any cut a finding asks for.
pub fn keep(text: &str) -> String {
    truncate(text, KEPT_TEXT_BYTES)
}

/// Cuts text to at most `max` bytes on a character boundary, saying how much was left out.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes)", &text[..end], text.len() - end)
}

impl JsonSchema for DurationParam {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A duration with a unit: 500ms, 10s, 5m, 26h, 7d",
            "pattern": "^\\s*[0-9]"
        })
    }
}

impl JsonSchema for RegexParam {
    fn schema_name() -> Cow<'static, str> {
        "Regex".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "format": "regex" })
    }
}

impl JsonSchema for ScalarText {
    fn schema_name() -> Cow<'static, str> {
        "ScalarText".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["string", "number", "boolean"] })
    }
}

impl JsonSchema for HttpMethod {
    fn schema_name() -> Cow<'static, str> {
        "HttpMethod".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "description": "An HTTP method: GET, HEAD, POST, …" })
    }
}

impl JsonSchema for HttpUrl {
    fn schema_name() -> Cow<'static, str> {
        "HttpUrl".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "description": "An absolute http:// or https:// URL" })
    }
}

/// The JSON Schema of a parameter type written as one string (a table name, a glob, …).
macro_rules! text_schema {
    ($ty:ty, $name:literal, $description:literal) => {
        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string", "description": $description })
            }
        }
    };
}
pub(crate) use text_schema;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_units() {
        assert_eq!(parse_duration("1m 30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(
            parse_duration("10")
                .unwrap_err()
                .contains("malformed duration `10`")
        );
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("héllo", 2), "h… (5 more bytes)");
        assert_eq!(truncate("short", 10), "short");
    }
}
