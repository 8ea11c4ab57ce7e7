//! Texts from the data under test (SQL errors, row values, titles, response bodies) shown to a
//! person: control characters and bidirectional overrides are written as visible escapes, so a
//! value cannot move the cursor, recolour the terminal or reorder what the reader sees.

use std::borrow::Cow;

use crate::result::RunResult;

/// Bidirectional embedding, override and isolate characters (Trojan Source).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every control character but the line break escaped (`\u{1b}`, `\t`, `\r`).
pub fn visible(text: &str) -> Cow<'_, str> {
    let hidden = |c: char| (c.is_control() && c != '\n') || is_bidi_control(c);
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hidden(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn escape(text: &mut String) {
    if let Cow::Owned(shown) = visible(text) {
        *text = shown;
    }
}

/// A copy of `result` whose texts are safe to print to a terminal or a rendered page.
pub fn escaped(result: &RunResult) -> RunResult {
    let mut r = result.clone();
    escape(&mut r.project);
    r.decision.reasons.iter_mut().for_each(escape);
    for c in &mut r.checks {
        escape(&mut c.title);
        escape(&mut c.message);
        c.remediation.iter_mut().for_each(escape);
        for f in &mut c.findings {
            escape(&mut f.subject);
            escape(&mut f.message);
        }
    }
    for w in &mut r.waivers {
        escape(&mut w.reason);
        w.subject.iter_mut().for_each(escape);
    }
    r.new_findings.iter_mut().for_each(escape);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_bidi_overrides_are_shown_escaped() {
        assert_eq!(
            visible("\x1b[2Jboom\x07\ttab\r\u{202E}gpj.exe\nnext"),
            "\\u{1b}[2Jboom\\u{7}\\ttab\\r\\u{202e}gpj.exe\nnext"
        );
        assert!(matches!(visible("plain · text"), Cow::Borrowed(_)));
    }
}
