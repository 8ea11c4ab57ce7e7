//! Sizes in bytes as a check writes them (`500kB`, `10MB`, `1.5GiB`) and as a report shows them.

use serde::{Deserialize, Deserializer, de};

/// A size in bytes: a whole number, or with a unit (`500kB`, `10MB`, `1.5GiB`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SizeParam(pub u64);

impl schemars::JsonSchema for SizeParam {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Size".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "bytes, or a size with a unit: 10MB, 1.5GiB",
            "anyOf": [{ "type": "integer", "minimum": 0 }, { "type": "string" }]
        })
    }
}

impl<'de> Deserialize<'de> for SizeParam {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = SizeParam;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a size in bytes, such as 1048576, 500kB, 10MB or 1GiB")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SizeParam, E> {
                Ok(SizeParam(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SizeParam, E> {
                u64::try_from(v)
                    .map(SizeParam)
                    .map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SizeParam, E> {
                parse_size(v).map(SizeParam).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(V)
    }
}

pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("malformed size `{text}` (write e.g. 500kB, 10MB, 1GiB)"))?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "tb" | "t" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "unknown size unit in `{text}` (B, kB, MB, GB, KiB, MiB, GiB)"
            ));
        }
    };
    Ok((number * factor).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("10MB").unwrap(), 10_000_000);
        assert_eq!(parse_size("1.5 KiB").unwrap(), 1536);
        assert_eq!(parse_size("42").unwrap(), 42);
        assert!(parse_size("10 parsecs").is_err());
    }
}
