//! The rate-limit headers of one response, read into plain values: the IETF `RateLimit` /
//! `RateLimit-Policy` structured fields, `RateLimit-*` and `X-RateLimit-*`, and `Retry-After`.

use std::collections::BTreeMap;

use reqwest::header::HeaderMap;

/// The three families of rate-limit headers in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    /// `RateLimit` / `RateLimit-Policy` structured fields (draft-ietf-httpapi-ratelimit-headers).
    Ietf,
    /// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (earlier drafts).
    Ratelimit,
    /// `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (GitHub, nginx modules, …).
    XRatelimit,
}

impl Family {
    pub const ALL: [Family; 3] = [Family::Ietf, Family::Ratelimit, Family::XRatelimit];

    pub fn name(self) -> &'static str {
        match self {
            Family::Ietf => "RateLimit/RateLimit-Policy",
            Family::Ratelimit => "RateLimit-Limit/-Remaining/-Reset",
            Family::XRatelimit => "X-RateLimit-Limit/-Remaining/-Reset",
        }
    }
}

/// What one response's headers of one family say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FamilyValues {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    /// The first header of the family that could not be parsed, and why.
    pub error: Option<String>,
}

pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"))
}

/// Leading whole number of a header value (`100`, `100, 100;w=60`).
fn leading_number(name: &str, value: &str) -> Result<u64, String> {
    let digits: String = value
        .trim()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .map_err(|_| format!("{name} \"{value}\" is not a number"))
}

/// Members of a structured-field list or dictionary: (bare item or key, value, parameters).
fn sf_members(value: &str) -> Vec<(String, Option<String>, BTreeMap<String, String>)> {
    let mut members = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut parts = Vec::new();
    for c in value.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    for part in parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let mut pieces = part.split(';').map(str::trim);
        let head = pieces.next().unwrap_or("");
        let params = pieces
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
            .collect();
        match head.split_once('=') {
            Some((key, val)) if !head.starts_with('"') => members.push((
                key.trim().to_string(),
                Some(val.trim().trim_matches('"').to_string()),
                params,
            )),
            _ => members.push((head.trim_matches('"').to_string(), None, params)),
        }
    }
    members
}

fn ietf_values(headers: &HeaderMap) -> Option<FamilyValues> {
    let policy = header(headers, "ratelimit-policy");
    let state = header(headers, "ratelimit");
    if policy.is_none() && state.is_none() {
        return None;
    }
    let mut values = FamilyValues::default();
    if let Some(policy) = policy {
        read_policy(policy, &mut values);
    }
    if let Some(state) = state {
        read_state(state, &mut values);
    }
    Some(values)
}

fn sf_number(name: &str, text: &str) -> Result<u64, String> {
    text.parse()
        .map_err(|_| format!("{name} has a non-numeric value \"{text}\""))
}

/// `"default";q=100;w=60` (draft 8+) or `100;w=60` (draft 7): the quota is the limit.
fn read_policy(policy: &str, values: &mut FamilyValues) {
    let first = sf_members(policy).into_iter().next();
    let quota = first.as_ref().and_then(|(item, _, params)| {
        params
            .get("q")
            .cloned()
            .or_else(|| item.parse::<u64>().ok().map(|_| item.clone()))
    });
    match quota {
        Some(q) => match sf_number("RateLimit-Policy", &q) {
            Ok(q) => values.limit = Some(q),
            Err(e) => values.error = Some(e),
        },
        None => {
            values.error = Some(format!(
                "RateLimit-Policy \"{policy}\" has no quota (q=) to read"
            ))
        }
    }
}

/// `"default";r=50;t=30` (draft 8+) or `limit=100, remaining=50, reset=30` (draft 7). The first
/// error found stays the one reported.
fn read_state(state: &str, values: &mut FamilyValues) {
    let members = sf_members(state);
    let dict: BTreeMap<&str, &str> = members
        .iter()
        .filter_map(|(k, v, _)| Some((k.as_str(), v.as_deref()?)))
        .collect();
    let remaining = dict
        .get("remaining")
        .map(|s| s.to_string())
        .or_else(|| members.first().and_then(|(_, _, p)| p.get("r").cloned()));
    match remaining {
        Some(r) => match sf_number("RateLimit", &r) {
            Ok(r) => values.remaining = Some(r),
            Err(e) => values.error = values.error.take().or(Some(e)),
        },
        None => {
            values.error = values.error.take().or(Some(format!(
                "RateLimit \"{state}\" has no remaining count (r= or remaining=)"
            )))
        }
    }
    if values.limit.is_none()
        && let Some(limit) = dict.get("limit")
    {
        match sf_number("RateLimit", limit) {
            Ok(l) => values.limit = Some(l),
            Err(e) => values.error = values.error.take().or(Some(e)),
        }
    }
}

fn split_values(headers: &HeaderMap, prefix: &str) -> Option<FamilyValues> {
    let limit = header(headers, &format!("{prefix}-limit"));
    let remaining = header(headers, &format!("{prefix}-remaining"));
    let reset = header(headers, &format!("{prefix}-reset"));
    if limit.is_none() && remaining.is_none() && reset.is_none() {
        return None;
    }
    let display = |suffix: &str| {
        if prefix.starts_with('x') {
            format!("X-RateLimit-{suffix}")
        } else {
            format!("RateLimit-{suffix}")
        }
    };
    let mut values = FamilyValues::default();
    let mut errors = Vec::new();
    match limit.map(|v| leading_number(&display("Limit"), v)) {
        Some(Ok(n)) => values.limit = Some(n),
        Some(Err(e)) => errors.push(e),
        None => errors.push(format!("{} is missing", display("Limit"))),
    }
    match remaining.map(|v| leading_number(&display("Remaining"), v)) {
        Some(Ok(n)) => values.remaining = Some(n),
        Some(Err(e)) => errors.push(e),
        None => errors.push(format!("{} is missing", display("Remaining"))),
    }
    if let Some(reset) = reset
        && reset.trim().parse::<f64>().map_or(true, |r| r < 0.0)
    {
        errors.push(format!(
            "{} \"{reset}\" is not a number of seconds",
            display("Reset")
        ));
    }
    values.error = errors.into_iter().next();
    Some(values)
}

pub fn family_values(headers: &HeaderMap) -> BTreeMap<Family, FamilyValues> {
    let mut out = BTreeMap::new();
    for family in Family::ALL {
        let values = match family {
            Family::Ietf => ietf_values(headers),
            Family::Ratelimit => split_values(headers, "ratelimit"),
            Family::XRatelimit => split_values(headers, "x-ratelimit"),
        };
        if let Some(v) = values {
            out.insert(family, v);
        }
    }
    out
}

/// `Retry-After`: delta-seconds or an HTTP-date; the number of seconds it asks to wait.
pub fn retry_after_seconds(value: &str) -> Result<f64, String> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Ok(seconds as f64);
    }
    match chrono::DateTime::parse_from_rfc2822(value) {
        Ok(date) => Ok(
            (date.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds() as f64
                / 1000.0,
        ),
        Err(_) => Err(format!(
            "Retry-After \"{value}\" is neither delta-seconds nor an HTTP-date"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn every_family_parses() {
        let v = family_values(&headers(&[
            ("ratelimit-policy", "\"default\";q=100;w=60"),
            ("ratelimit", "\"default\";r=42;t=30"),
            ("x-ratelimit-limit", "100"),
            ("x-ratelimit-remaining", "7"),
            ("x-ratelimit-reset", "1700000000"),
            ("ratelimit-limit", "100, 100;w=60"),
            ("ratelimit-remaining", "abc"),
        ]));
        assert_eq!(
            (v[&Family::Ietf].limit, v[&Family::Ietf].remaining),
            (Some(100), Some(42))
        );
        assert_eq!(v[&Family::XRatelimit].remaining, Some(7));
        assert_eq!(
            v[&Family::Ratelimit].error.as_deref(),
            Some("RateLimit-Remaining \"abc\" is not a number")
        );
        let draft7 = family_values(&headers(&[(
            "ratelimit",
            "limit=100, remaining=50, reset=30",
        )]));
        assert_eq!(draft7[&Family::Ietf].limit, Some(100));
        assert_eq!(draft7[&Family::Ietf].remaining, Some(50));
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(retry_after_seconds("30"), Ok(30.0));
        assert!(retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT").unwrap() < 0.0);
        assert!(retry_after_seconds("soon").is_err());
    }
}
