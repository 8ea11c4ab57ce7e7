//! "Did you mean …?": the name a user most likely meant to type.

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo of it
/// (ties go to the first in alphabetical order).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(word, c), c))
        .filter(|(distance, c)| *distance <= 2.max(c.len() / 4))
        .min()
        .map(|(_, c)| c)
}

/// ` (did you mean `x`?)` for the closest candidate, or nothing.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// `unknown severity `x` (expected …)`, with the closest level suggested: one sentence for the
/// configuration and the command line alike.
pub fn unknown_severity(word: &str) -> String {
    const LEVELS: [&str; 4] = ["critical", "high", "medium", "low"];
    match closest(word, LEVELS) {
        Some(level) => format!(
            "unknown severity `{word}` (did you mean `{level}`?); expected critical, high, medium or low"
        ),
        None => format!("unknown severity `{word}` (expected critical, high, medium or low)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(closest("htpp", ["http", "sql", "tls"]), Some("http"));
        assert_eq!(closest("sevrity", ["severity", "tags"]), Some("severity"));
        assert_eq!(closest("banana", ["http", "sql"]), None);
        assert_eq!(did_you_mean("sq", ["sql"]), " (did you mean `sql`?)");
        assert_eq!(
            unknown_severity("hihg"),
            "unknown severity `hihg` (did you mean `high`?); expected critical, high, medium or low"
        );
        assert_eq!(
            unknown_severity("extreme"),
            "unknown severity `extreme` (expected critical, high, medium or low)"
        );
    }
}
