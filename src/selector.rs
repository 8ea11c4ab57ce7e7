//! Check selectors, as used by `--only`, `--skip` and a stage's `require`, and `--shard`.

use std::fmt;
use std::str::FromStr;

use glob::Pattern;

use crate::checks::Kind;
use crate::suggest::{closest, did_you_mean, unknown_severity};
use crate::vocab::Severity;

#[derive(Debug, Clone)]
pub enum Selector {
    Id(Pattern),
    Tag(String),
    Category(String),
    /// One of `Kind::NAMES`: a misspelt kind is refused when the selector is parsed.
    Kind(&'static str),
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
                .ok_or_else(|| unknown_severity(level.trim()));
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
            "kind" => kind_name(value).map(Selector::Kind),
            other => Err(format!(
                "unknown selector `{other}:` (expected a glob, id:, tag:, category:, kind:, \
                 severity>=LEVEL or blocker)"
            )),
        }
    }

    /// Refuses a category the suite does not have (the categories are known once the
    /// configuration is loaded).
    pub fn knowing_categories(self, known: &[&str]) -> Result<Selector, String> {
        match &self {
            Selector::Category(c) if !known.contains(&c.as_str()) => Err(format!(
                "unknown category `{c}`{}; known: {}",
                did_you_mean(c, known.iter().copied()),
                known.join(", ")
            )),
            _ => Ok(self),
        }
    }

    /// Refuses an id glob that matches none of the suite's checks, suggesting the closest id.
    pub fn knowing_ids(self, ids: &[&str]) -> Result<Selector, String> {
        match &self {
            Selector::Id(p) if !ids.iter().any(|id| p.matches(id)) => Err(format!(
                "no check id matches `{}`{}; `ready list` shows them all",
                p.as_str(),
                did_you_mean(p.as_str(), ids.iter().copied())
            )),
            _ => Ok(self),
        }
    }

    pub fn matches(&self, check: &CheckFacts) -> bool {
        match self {
            Selector::Id(p) => p.matches(check.id),
            Selector::Tag(t) => check.tags.iter().any(|x| x == t),
            Selector::Category(c) => check.category == c,
            Selector::Kind(k) => check.kind == *k,
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

impl FromStr for Selector {
    type Err = String;

    fn from_str(text: &str) -> Result<Selector, String> {
        Selector::parse(text)
    }
}

fn kind_name(text: &str) -> Result<&'static str, String> {
    if let Some(name) = Kind::NAMES.iter().find(|n| **n == text) {
        return Ok(name);
    }
    Err(match closest(text, Kind::NAMES.iter().copied()) {
        Some(name) => format!("unknown kind `{text}` (did you mean `{name}`?)"),
        None => format!("unknown kind `{text}`; kinds: {}", Kind::NAMES.join(", ")),
    })
}

/// `--shard I/N`: a deterministic share of the checks, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let parsed = text
            .split_once('/')
            .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((index, count)) if count >= 1 && (1..=count).contains(&index) => {
                Ok(Shard { index, count })
            }
            _ => Err("write I/N with 1 <= I <= N, e.g. 2/4".into()),
        }
    }
}

impl Shard {
    /// FNV-1a of the id: stable across versions and platforms, unlike std's hasher.
    pub fn owner_of(&self, id: &str) -> u32 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in id.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        (hash % u64::from(self.count)) as u32 + 1
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
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
        assert_eq!(
            Selector::parse("kind:htpp").unwrap_err(),
            "unknown kind `htpp` (did you mean `http`?)"
        );
        assert!(
            Selector::parse("kind:banana")
                .unwrap_err()
                .starts_with("unknown kind `banana`; kinds: sql, ")
        );
    }

    #[test]
    fn categories_are_checked_once_known() {
        let known = ["security", "reliability"];
        let typo = Selector::parse("category:securty").unwrap();
        assert_eq!(
            typo.knowing_categories(&known).unwrap_err(),
            "unknown category `securty` (did you mean `security`?); known: security, reliability"
        );
        assert!(
            Selector::parse("category:security")
                .unwrap()
                .knowing_categories(&known)
                .is_ok()
        );
    }

    #[test]
    fn ids_are_checked_once_known() {
        let ids = ["rls.enabled", "http.health"];
        let typo = Selector::parse("id:rls.enabeld").unwrap();
        assert_eq!(
            typo.knowing_ids(&ids).unwrap_err(),
            "no check id matches `rls.enabeld` (did you mean `rls.enabled`?); `ready list` shows them all"
        );
        assert_eq!(
            Selector::parse("nothing.*")
                .unwrap()
                .knowing_ids(&ids)
                .unwrap_err(),
            "no check id matches `nothing.*`; `ready list` shows them all"
        );
        assert!(Selector::parse("http.*").unwrap().knowing_ids(&ids).is_ok());
        assert!(Selector::parse("tag:x").unwrap().knowing_ids(&ids).is_ok());
    }

    #[test]
    fn shards_parse_and_split_by_id() {
        let shard: Shard = "2/4".parse().unwrap();
        assert_eq!(
            (shard.index, shard.count, shard.to_string()),
            (2, 4, "2/4".into())
        );
        for bad in ["4/3", "0/2", "1/0", "x", "1-2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert!((1..=4).contains(&shard.owner_of("rls.enabled")));
    }
}
