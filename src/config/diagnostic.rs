//! Configuration problems, each with its place, a stable code and how serious it is.

use std::fmt;

use schemars::JsonSchema;
use serde::Serialize;

use super::node::Loc;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub file: String,
    pub loc: Option<Loc>,
    pub code: Code,
    pub message: String,
    pub level: Level,
    /// What to do about it, when the message alone does not say.
    pub help: Option<String>,
    /// The source line `loc` is on, secrets masked, for the snippet under the message.
    pub source_line: Option<String>,
}

/// An error makes the configuration invalid; a warning says what `check` would then report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

/// Stable diagnostic codes: scripts and docs may rely on them (docs/diagnostics.md lists them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, strum::EnumIter)]
pub enum Code {
    Io,
    Syntax,
    UnknownKey,
    MissingKey,
    InvalidValue,
    KindCount,
    DuplicateId,
    UnknownTarget,
    UnknownCategory,
    UnknownCheck,
    BadSelector,
    Interpolation,
    Include,
    UnsetVariable,
    EmptyVariable,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Io => "io",
            Code::Syntax => "syntax",
            Code::UnknownKey => "unknown-key",
            Code::MissingKey => "missing-key",
            Code::InvalidValue => "invalid-value",
            Code::KindCount => "kind-count",
            Code::DuplicateId => "duplicate-id",
            Code::UnknownTarget => "unknown-target",
            Code::UnknownCategory => "unknown-category",
            Code::UnknownCheck => "unknown-check",
            Code::BadSelector => "bad-selector",
            Code::Interpolation => "interpolation",
            Code::Include => "include",
            Code::UnsetVariable => "unset-variable",
            Code::EmptyVariable => "empty-variable",
        }
    }
}

impl Diagnostic {
    /// `FILE:LINE:COL: ` (or `FILE: ` without a position).
    pub fn place(&self) -> String {
        match self.loc {
            Some(loc) => format!("{}:{}:{}: ", self.file, loc.line, loc.col),
            None => format!("{}: ", self.file),
        }
    }

    /// Where the underlined span ends on its line (1-based, exclusive), when there is a line.
    pub fn end_col(&self) -> Option<u32> {
        let (loc, line) = (self.loc?, self.source_line.as_deref()?);
        let start = usize::try_from(loc.col).ok()?.checked_sub(1)?;
        let len = span_len(line, start);
        u32::try_from(start + len + 1).ok()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.place())?;
        if self.level == Level::Warning {
            f.write_str("warning: ")?;
        }
        write!(f, "{} [{}]", self.message, self.code.as_str())
    }
}

/// Line `index` (from 0) of `text` for a snippet, with secret values starred out: those of keys
/// that name a secret on the line, and the whole item of a block list under such a key
/// (`passwords:` then `- hunter2`).
pub fn source_line(text: &str, index: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let line = *lines.get(index)?;
    let indent = line.len() - line.trim_start().len();
    let item = line.trim_start().starts_with("- ") || line.trim_start() == "-";
    let parent = lines[..index]
        .iter()
        .rev()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .find(|l| l.len() - l.trim_start().len() < indent);
    let under_secret = parent.is_some_and(|p| {
        let key = p.trim().trim_start_matches("- ");
        key.strip_suffix(':')
            .is_some_and(super::interpolate::names_a_secret)
    });
    if item && under_secret {
        let value_at = indent + 2;
        let stars = line.chars().skip(value_at).count();
        let kept: String = line.chars().take(value_at).collect();
        return Some(format!("{kept}{}", "*".repeat(stars)));
    }
    Some(mask_url_passwords(&mask_secret_values(line)))
}

/// `line` with the password of every URL's userinfo (`scheme://user:PASSWORD@host`) starred
/// out: a target URL written literally carries one whatever its key is called, and a target that
/// failed to load never gave it to the redactor.
fn mask_url_passwords(line: &str) -> String {
    let mut chars: Vec<char> = line.chars().collect();
    let mut from = 0;
    while let Some(scheme_end) = find(&chars, from, &[':', '/', '/']) {
        let authority_start = scheme_end + 3;
        let authority_end = (authority_start..chars.len())
            .find(|&j| {
                matches!(
                    chars[j],
                    '/' | '?' | '#' | ' ' | '"' | '\'' | ',' | '}' | ']'
                )
            })
            .unwrap_or(chars.len());
        let at = (authority_start..authority_end).rfind(|&j| chars[j] == '@');
        if let Some(at) = at
            && let Some(colon) = (authority_start..at).find(|&j| chars[j] == ':')
        {
            chars[colon + 1..at].iter_mut().for_each(|c| *c = '*');
        }
        from = authority_end.max(authority_start);
    }
    chars.into_iter().collect()
}

/// Where `needle` starts in `chars` at or after `from`.
fn find(chars: &[char], from: usize, needle: &[char]) -> Option<usize> {
    (from..chars.len().saturating_sub(needle.len() - 1)).find(|&i| chars[i..].starts_with(needle))
}

/// `line` with the value of every key that names a secret (`secret:`, `apikey:`, `password:`,
/// …) starred out, character for character so that columns stay: a snippet shows the line as
/// written, and a literal secret in it must not reach the terminal.
pub fn mask_secret_values(line: &str) -> String {
    let mut chars: Vec<char> = line.chars().collect();
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    let mut i = 0;
    while i < chars.len() {
        if !word(chars[i]) || (i > 0 && word(chars[i - 1])) {
            i += 1;
            continue;
        }
        let end = (i..chars.len())
            .find(|&j| !word(chars[j]))
            .unwrap_or(chars.len());
        let key: String = chars[i..end].iter().collect();
        let is_key = chars.get(end) == Some(&':') && chars.get(end + 1).is_none_or(|c| *c == ' ');
        if is_key && super::interpolate::names_a_secret(&key) {
            let start = (end + 1..chars.len())
                .find(|&j| chars[j] != ' ')
                .unwrap_or(chars.len());
            let rest: String = chars[start..].iter().collect();
            let len = span_len(&rest, 0);
            chars[start..start + len].iter_mut().for_each(|c| *c = '*');
            i = start + len;
        } else {
            i = end;
        }
    }
    chars.into_iter().collect()
}

/// How many characters from `start` (a char index) the written token there spans: a quoted
/// string to its closing quote, a flow collection to its closing bracket, a key or plain value
/// to where YAML ends it. At least one character unless the line ends there.
pub fn span_len(line: &str, start: usize) -> usize {
    let rest: Vec<char> = line.chars().skip(start).collect();
    let Some(&first) = rest.first() else { return 0 };
    let closing = |open: char, close: char| {
        let mut depth = 0;
        let mut quote = None;
        for (i, &c) in rest.iter().enumerate() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, c) if c == open => depth += 1,
                (None, c) if c == close => {
                    depth -= 1;
                    if depth == 0 {
                        return i + 1;
                    }
                }
                _ => {}
            }
        }
        1
    };
    match first {
        '"' | '\'' => quoted_len(&rest, first),
        '{' => closing('{', '}'),
        '[' => closing('[', ']'),
        '-' if rest.get(1).is_none_or(|c| *c == ' ') => 1,
        _ => plain_len(&rest),
    }
}

fn quoted_len(rest: &[char], quote: char) -> usize {
    let mut escaped = false;
    for (i, &c) in rest.iter().enumerate().skip(1) {
        match c {
            '\\' if quote == '"' && !escaped => escaped = true,
            c if c == quote && !escaped => return i + 1,
            _ => escaped = false,
        }
    }
    rest.len()
}

/// A plain scalar or key ends at `: `, a flow indicator or a comment.
fn plain_len(rest: &[char]) -> usize {
    let mut end = rest.len();
    for (i, &c) in rest.iter().enumerate() {
        let next = rest.get(i + 1).copied();
        let ends = match c {
            ',' | ']' | '}' => true,
            ':' => next.is_none_or(|n| n == ' '),
            '#' => i > 0 && rest[i - 1] == ' ',
            _ => false,
        };
        if ends {
            end = i;
            break;
        }
    }
    let len = rest[..end]
        .iter()
        .rposition(|c| *c != ' ')
        .map_or(0, |p| p + 1);
    len.max(1)
}

/// Every problem found while loading, reported together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, file: &str, loc: Option<Loc>, code: Code, message: impl Into<String>) {
        self.0.push(Diagnostic {
            file: file.to_string(),
            loc,
            code,
            message: message.into(),
            level: Level::Error,
            help: None,
            source_line: None,
        });
    }

    /// A problem that does not make the configuration invalid.
    pub fn warn(&mut self, file: &str, loc: Loc, code: Code, message: String, help: String) {
        self.0.push(Diagnostic {
            file: file.to_string(),
            loc: Some(loc),
            code,
            message,
            level: Level::Warning,
            help: Some(help),
            source_line: None,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.level == Level::Error)
    }

    /// Sorted by file and position, each problem once (a `for_each` check repeats its mistakes).
    pub fn finish(mut self) -> Diagnostics {
        self.0.sort();
        self.0.dedup();
        self
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// `ready validate --format json`: the document editors and bots read.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(title = "ready validate --format json")]
pub struct Report {
    /// True when there is no error (warnings may remain).
    pub valid: bool,
    pub diagnostics: Vec<JsonDiagnostic>,
}

/// One diagnostic; lines and columns count from 1, columns in characters.
#[derive(Debug, Serialize, JsonSchema)]
pub struct JsonDiagnostic {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// Where the span ends (exclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_column: Option<u32>,
    pub severity: Level,
    /// A stable code (docs/diagnostics.md).
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Report {
    pub fn new(diags: &Diagnostics) -> Report {
        Report {
            valid: !diags.has_errors(),
            diagnostics: diags.0.iter().map(JsonDiagnostic::from).collect(),
        }
    }
}

impl From<&Diagnostic> for JsonDiagnostic {
    fn from(d: &Diagnostic) -> JsonDiagnostic {
        let end_column = d.end_col();
        JsonDiagnostic {
            file: d.file.clone(),
            line: d.loc.map(|l| l.line),
            column: d.loc.map(|l| l.col),
            end_line: end_column.and(d.loc.map(|l| l.line)),
            end_column,
            severity: d.level,
            code: d.code.as_str().to_string(),
            message: d.message.clone(),
            help: d.help.clone(),
        }
    }
}

/// The JSON Schema of `ready validate --format json`.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Report)).expect("a schema is JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_documented() {
        use strum::IntoEnumIterator;
        let doc = include_str!("../../docs/diagnostics.md");
        for code in Code::iter() {
            let row = format!("| `{}` |", code.as_str());
            assert!(doc.contains(&row), "docs/diagnostics.md lacks {row}");
        }
    }

    #[test]
    fn values_of_secret_keys_are_starred_out_in_place() {
        assert_eq!(
            mask_secret_values("    webhook: { path: /gh, secret: whsec_x1, apikey: \"k k\" }"),
            "    webhook: { path: /gh, secret: ********, apikey: ***** }"
        );
        assert_eq!(
            mask_secret_values("    passwords: [p1, p2]  # two"),
            "    passwords: ********  # two"
        );
        assert_eq!(mask_secret_values("  db_password:"), "  db_password:");
        let text = "x:\n  passwords:\n    # old\n    - hunter2\n  users:\n    - alice\n";
        assert_eq!(source_line(text, 3).as_deref(), Some("    - *******"));
        assert_eq!(source_line(text, 5).as_deref(), Some("    - alice"));
        assert_eq!(source_line(text, 9), None);
    }

    #[test]
    fn url_passwords_are_starred_whatever_the_key() {
        assert_eq!(
            mask_url_passwords("    http: ftp://user:Basic-Sekret-9@api.example.com/x"),
            "    http: ftp://user:**************@api.example.com/x"
        );
        assert_eq!(
            mask_url_passwords("  a: { u: \"pg://a:b@h\", v: https://h/p@q, w: x://u@h }"),
            "  a: { u: \"pg://a:*@h\", v: https://h/p@q, w: x://u@h }"
        );
        assert_eq!(
            mask_secret_values("    category: security"),
            "    category: security"
        );
    }

    #[test]
    fn spans_cover_the_token_written_at_the_position() {
        let line = r#"    category: "sec\"ret" # x"#;
        assert_eq!(span_len(line, 4), "category".len());
        assert_eq!(span_len(line, 14), r#""sec\"ret""#.len());
        let flow = "  db: { postgres: [a, \"}\"] }, x";
        assert_eq!(span_len(flow, 6), "{ postgres: [a, \"}\"] }".len());
        assert_eq!(span_len(flow, 18), "[a, \"}\"]".len());
        assert_eq!(span_len("    severity: extreme  # no", 14), "extreme".len());
        assert_eq!(span_len("  - check: a", 2), 1);
        assert_eq!(
            span_len("    sql: { query: select 1 }", 18),
            "select 1".len()
        );
        assert_eq!(span_len("abc", 3), 0);
    }
}
