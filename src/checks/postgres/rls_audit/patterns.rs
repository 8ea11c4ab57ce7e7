//! The text patterns the rules recognise: policy expressions (as `pg_get_expr` prints them)
//! that admit every row, and column names that hold secrets or payment data.

/// Whether a policy expression, as `pg_get_expr` prints it, is true whatever the row: `true`,
/// `(true)`, `1 = 1`, `'a'::text = 'a'::text`, `NOT false`, or an OR with such a branch. A column
/// compared with something (`is_active = true`) is never always true.
pub fn always_true(expr: &str) -> bool {
    let e = strip_parens(expr.trim());
    if let Some(parts) = split_top(e, " OR ") {
        return parts.iter().any(|p| always_true(p));
    }
    if let Some(parts) = split_top(e, " AND ") {
        return parts.iter().all(|p| always_true(p));
    }
    let compact = compact(e);
    let compact = strip_bool_cast(&compact);
    if matches!(
        compact,
        "true" | "'t'" | "'true'" | "'on'" | "'yes'" | "'1'" | "'y'" | "notfalse"
    ) {
        return true;
    }
    if let Some(rest) = compact.strip_prefix("not") {
        return always_false(rest);
    }
    match split_equality(compact) {
        Some((a, b)) => a == b && is_constant(a),
        None => false,
    }
}

fn always_false(compact: &str) -> bool {
    let inner = strip_parens(compact);
    matches!(strip_bool_cast(inner), "false" | "'f'" | "'false'")
}

/// Drops parentheses that enclose the whole expression.
fn strip_parens(mut e: &str) -> &str {
    loop {
        let t = e.trim();
        if t.starts_with('(') && t.ends_with(')') && closing_of_first(t) == Some(t.len() - 1) {
            e = &t[1..t.len() - 1];
        } else {
            return t;
        }
    }
}

fn closing_of_first(text: &str) -> Option<usize> {
    let mut depth = 0i32;
    let mut quoted = false;
    for (i, ch) in text.char_indices() {
        match ch {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits on `sep` outside parentheses and quotes; `None` when it does not occur there.
fn split_top<'a>(text: &'a str, sep: &str) -> Option<Vec<&'a str>> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth -= 1,
            _ if !quoted && depth == 0 && text[i..].starts_with(sep) => {
                parts.push(&text[start..i]);
                i += sep.len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if parts.is_empty() {
        return None;
    }
    parts.push(&text[start..]);
    Some(parts)
}

/// Lower case without whitespace outside quotes.
fn compact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    for ch in text.chars() {
        if ch == '\'' {
            quoted = !quoted;
        }
        if quoted || ch == '\'' {
            out.push(ch);
        } else if !ch.is_whitespace() {
            out.extend(ch.to_lowercase());
        }
    }
    out
}

fn strip_bool_cast(text: &str) -> &str {
    let t = strip_parens(text);
    t.strip_suffix("::boolean")
        .or_else(|| t.strip_suffix("::bool"))
        .map(strip_parens)
        .unwrap_or(t)
}

/// `a=b` at the top level (not `<=`, `>=`, `<>`, `!=`).
fn split_equality(text: &str) -> Option<(&str, &str)> {
    let parts = split_top(text, "=")?;
    if parts.len() != 2 {
        return None;
    }
    let (a, b) = (parts[0], parts[1]);
    if a.ends_with(['<', '>', '!']) {
        return None;
    }
    Some((strip_parens(a), strip_parens(b)))
}

/// A literal number or quoted string, with an optional cast.
fn is_constant(text: &str) -> bool {
    let value = if text.starts_with('\'') {
        text.rfind("'::").map_or(text, |i| &text[..=i])
    } else {
        text.split("::").next().unwrap_or(text)
    };
    let value = strip_parens(value);
    (value.starts_with('\'') && value.ends_with('\'') && value.len() >= 2)
        || (!value.is_empty()
            && value
                .trim_start_matches('-')
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.'))
        || matches!(value, "true" | "false")
}

/// Column names that hold secrets or payment data, matched on whole `_`-separated words.
pub fn is_sensitive_column(name: &str) -> bool {
    const WORDS: &[&[&str]] = &[
        &["password"],
        &["passwd"],
        &["pwd"],
        &["token"],
        &["api", "key"],
        &["apikey"],
        &["secret"],
        &["private", "key"],
        &["card", "number"],
        &["cardnumber"],
        &["cvv"],
        &["cvc"],
        &["iban"],
        &["account", "number"],
        &["routing", "number"],
        &["ssn"],
        &["pin"],
    ];
    let lower = name.to_ascii_lowercase();
    let words: Vec<&str> = lower.split(['_', '-']).collect();
    WORDS.iter().any(|pattern| {
        words
            .windows(pattern.len())
            .any(|w| w.iter().zip(pattern.iter()).all(|(a, b)| a == b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn always_true_expressions() {
        for e in [
            "true",
            "(true)",
            "((true))",
            "(1 = 1)",
            "('a'::text = 'a'::text)",
            "NOT false",
            "(true = true)",
            "((auth.uid() = owner_id) OR true)",
            "'t'::boolean",
            "(true AND (2 = 2))",
        ] {
            assert!(always_true(e), "{e}");
        }
        for e in [
            "(is_active = true)",
            "(owner_id = auth.uid())",
            "(1 = 2)",
            "((auth.uid() = owner_id) AND true)",
            "(x >= x)",
            "(id = id)",
            "((select true) = is_public)",
            "('OR true' = note)",
        ] {
            assert!(!always_true(e), "{e}");
        }
    }

    #[test]
    fn sensitive_columns_are_whole_words() {
        for c in [
            "password_hash",
            "api_key",
            "refresh_token",
            "card_number",
            "cvv",
            "iban",
            "account_number",
            "stripe_secret",
        ] {
            assert!(is_sensitive_column(c), "{c}");
        }
        for c in [
            "shipping",
            "tokenizer_kind",
            "description",
            "opinion",
            "keyboard",
        ] {
            assert!(!is_sensitive_column(c), "{c}");
        }
    }
}
