//! Check selectors, as used by `--only`, `--skip` and a stage's `require`.

use std::fmt;

use glob::Pattern;

use crate::vocab::Severity;

#[derive(Debug, Clone)]
pub enum Selector {
    Id(Pattern),
    Tag(String),
    Category(String),
    Kind(String),
    SeverityAtLeast(Severity),
    Blocker,
}

/// What a selector can look at, taken from a check definition or from a saved result.
pub struct CheckFacts<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub category: &'a str,
    pub severity: Severity,
    pub blocker: bool,
    pub tags: &'a [String],
}

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, String> {
        let text = text.trim();
        if text == "blocker" {
            return Ok(Selector::Blocker);
        }
        if let Some(level) = text.strip_prefix("severity>=") {
            return Severity::parse(level.trim())
                .map(Selector::SeverityAtLeast)
                .ok_or_else(|| {
                    format!("unknown severity `{level}` (expected critical, high, medium or low)")
                });
        }
        let (prefix, value) = text.split_once(':').unwrap_or(("id", text));
        if value.is_empty() {
            return Err(format!("selector `{text}` has nothing after `{prefix}:`"));
        }
        match prefix {
            "id" => Pattern::new(value)
                .map(Selector::Id)
                .map_err(|e| format!("bad id glob `{value}`: {e}")),
            "tag" => Ok(Selector::Tag(value.to_string())),
            "category" => Ok(Selector::Category(value.to_string())),
            "kind" => Ok(Selector::Kind(value.to_string())),
            other => Err(format!(
                "unknown selector `{other}:` (expected a glob, id:, tag:, category:, kind:, \
                 severity>=LEVEL or blocker)"
            )),
        }
    }

    pub fn matches(&self, check: &CheckFacts) -> bool {
        match self {
            Selector::Id(p) => p.matches(check.id),
            Selector::Tag(t) => check.tags.iter().any(|x| x == t),
            Selector::Category(c) => check.category == c,
            Selector::Kind(k) => check.kind == k,
            Selector::SeverityAtLeast(s) => check.severity >= *s,
            Selector::Blocker => check.blocker,
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Selector::Id(p) => write!(f, "{}", p.as_str()),
            Selector::Tag(t) => write!(f, "tag:{t}"),
            Selector::Category(c) => write!(f, "category:{c}"),
            Selector::Kind(k) => write!(f, "kind:{k}"),
            Selector::SeverityAtLeast(s) => write!(f, "severity>={}", s.as_str()),
            Selector::Blocker => f.write_str("blocker"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(id: &'a str, tags: &'a [String]) -> CheckFacts<'a> {
        CheckFacts {
            id,
            kind: "sql",
            category: "security",
            severity: Severity::High,
            blocker: false,
            tags,
        }
    }

    #[test]
    fn every_form_parses_and_matches() {
        let tags = vec!["p0".to_string()];
        let check = facts("rls.enabled", &tags);
        for (text, expected) in [
            ("rls.*", true),
            ("id:rls.enabled", true),
            ("id:http.*", false),
            ("tag:p0", true),
            ("tag:p1", false),
            ("category:security", true),
            ("kind:sql", true),
            ("kind:http", false),
            ("severity>=high", true),
            ("severity>=critical", false),
            ("blocker", false),
        ] {
            assert_eq!(
                Selector::parse(text).unwrap().matches(&check),
                expected,
                "{text}"
            );
            assert_eq!(
                Selector::parse(text)
                    .unwrap()
                    .to_string()
                    .replace("id:", ""),
                text.replace("id:", "")
            );
        }
    }

    #[test]
    fn malformed_selectors_are_rejected() {
        assert!(
            Selector::parse("severity>=urgent")
                .unwrap_err()
                .contains("unknown severity")
        );
        assert!(
            Selector::parse("owner:bob")
                .unwrap_err()
                .contains("unknown selector")
        );
        assert!(Selector::parse("tag:").is_err());
        assert!(Selector::parse("id:[").is_err());
    }
}
