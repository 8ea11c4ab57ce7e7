//! `sql`'s `expect`: what the rows must be (`rows` or `value`) and how fast (`max_latency`).

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde_json::Value as Json;

use crate::checks::params::DurationParam;

pub(super) fn no_rows() -> Expect {
    Expect {
        result: ExpectResult::Rows(RowCount::Exactly(0)),
        max_latency: None,
    }
}

/// What the query must return and how fast.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "ExpectFields")]
pub struct Expect {
    pub result: ExpectResult,
    pub max_latency: Option<DurationParam>,
}

/// What the rows (of the first sample) must be.
#[derive(Debug, Clone)]
pub enum ExpectResult {
    Rows(RowCount),
    Value(Json),
    /// Only `max_latency` was given: the rows are not judged.
    Any,
}

/// `expect` as written: `rows` or `value`, and `max_latency`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ExpectFields {
    rows: Option<RowCount>,
    /// The single value the query returns (`null` for NULL).
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Json")]
    value: Option<Json>,
    /// The slowest the query may be: the 95th percentile over the samples.
    max_latency: Option<DurationParam>,
}

/// A value that is present, `null` included (absent is `None`).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Json>, D::Error> {
    Json::deserialize(deserializer).map(Some)
}

impl TryFrom<ExpectFields> for Expect {
    type Error = String;

    fn try_from(f: ExpectFields) -> Result<Expect, String> {
        let result = match (f.rows, f.value) {
            (Some(_), Some(_)) => return Err("give `rows` or `value`, not both".into()),
            (Some(rows), None) => ExpectResult::Rows(rows),
            (None, Some(value)) => ExpectResult::Value(value),
            (None, None) if f.max_latency.is_some() => ExpectResult::Any,
            (None, None) => {
                return Err("`expect` sets nothing: give `rows`, `value` or `max_latency`".into());
            }
        };
        Ok(Expect {
            result,
            max_latency: f.max_latency,
        })
    }
}

impl JsonSchema for Expect {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SqlExpect".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        ExpectFields::json_schema(generator)
    }
}

/// `rows: 0` or `rows: { min: 1, max: 5 }`.
#[derive(Debug, Clone)]
pub enum RowCount {
    Exactly(u64),
    Between { min: Option<u64>, max: Option<u64> },
}

impl<'de> Deserialize<'de> for RowCount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Range {
            min: Option<u64>,
            max: Option<u64>,
        }
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RowCount;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a row count or { min, max }")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RowCount, E> {
                Ok(RowCount::Exactly(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RowCount, E> {
                u64::try_from(v)
                    .map(RowCount::Exactly)
                    .map_err(|_| E::custom("a row count cannot be negative"))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RowCount, A::Error> {
                let range = Range::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                if range.min.is_none() && range.max.is_none() {
                    return Err(serde::de::Error::custom(
                        "`rows: {}` sets no bound: give `min`, `max` or both, or a number",
                    ));
                }
                if let (Some(min), Some(max)) = (range.min, range.max)
                    && min > max
                {
                    return Err(serde::de::Error::custom(format!(
                        "min {min} is above max {max}"
                    )));
                }
                Ok(RowCount::Between {
                    min: range.min,
                    max: range.max,
                })
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl JsonSchema for RowCount {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RowCount".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                {
                    "type": "object",
                    "properties": {
                        "min": { "type": "integer", "minimum": 0 },
                        "max": { "type": "integer", "minimum": 0 }
                    },
                    "additionalProperties": false,
                    "minProperties": 1
                }
            ]
        })
    }
}
