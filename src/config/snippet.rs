//! Diagnostics as a linter prints them: the `FILE:LINE:COL: message [code]` line scripts read,
//! then the source line with the span underlined (annotate-snippets, the renderer rustc uses)
//! and what to do about it.

use annotate_snippets::{AnnotationKind, Group, Level as Shown, Renderer, Snippet};

use super::diagnostic::{Diagnostic, Diagnostics, Level, span_len};

/// Every diagnostic with its snippet; ANSI colours only when `color`.
pub fn render(diags: &Diagnostics, color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    // A blank line after each snippet sets the next diagnostic apart, as rustc does.
    let mut apart = false;
    for d in &diags.0 {
        if apart {
            out.push('\n');
        }
        out.push_str(&header(d, color));
        out.push('\n');
        let body = snippet(d, &renderer);
        apart = body.is_some();
        if let Some(body) = body {
            out.push_str(&body);
            out.push('\n');
        }
    }
    out
}

/// The first line: the diagnostic's `Display`, and with colour the same text styled (the place
/// bold, the code red for an error, `warning:` yellow), so scripts read either alike.
fn header(d: &Diagnostic, color: bool) -> String {
    if !color {
        return d.to_string();
    }
    let (level, code_style) = match d.level {
        Level::Error => ("", "\x1b[31m"),
        Level::Warning => ("\x1b[1;33mwarning:\x1b[0m ", "\x1b[33m"),
    };
    format!(
        "\x1b[1m{}\x1b[0m{level}{} {code_style}[{}]\x1b[0m",
        d.place(),
        d.message,
        d.code.as_str()
    )
}

/// The source line with the span underlined, and the help, when the diagnostic has a line.
fn snippet(d: &Diagnostic, renderer: &Renderer) -> Option<String> {
    let (loc, line) = (d.loc?, d.source_line.as_deref()?);
    let start = usize::try_from(loc.col).ok()?.saturating_sub(1);
    let byte_at = |chars: usize| {
        line.char_indices()
            .nth(chars)
            .map_or(line.len(), |(i, _)| i)
    };
    let span = byte_at(start)..byte_at(start + span_len(line, start));
    let level = match d.level {
        Level::Error => Shown::ERROR,
        Level::Warning => Shown::WARNING,
    };
    let source = Snippet::source(line)
        .line_start(usize::try_from(loc.line).ok()?)
        .annotation(AnnotationKind::Primary.span(span));
    let mut group = Group::with_level(level).element(source);
    if let Some(help) = &d.help {
        group = group.element(Shown::HELP.message(help.as_str()));
    }
    Some(renderer.render(&[group]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::diagnostic::Code;
    use crate::config::node::Loc;

    fn diags() -> Diagnostics {
        let mut diags = Diagnostics::default();
        diags.push(
            "ready.yaml",
            Some(Loc { line: 12, col: 15 }),
            Code::UnknownCategory,
            "unknown category `secrity`",
        );
        diags.warn(
            "ready.yaml",
            Loc { line: 3, col: 19 },
            Code::UnsetVariable,
            "environment variable `DB_URL` is not set".into(),
            "set DB_URL".into(),
        );
        diags.0[0].source_line = Some("    category: secrity # typo".into());
        diags.0[1].source_line = Some("  db: { postgres: \"${DB_URL}\" }".into());
        diags
    }

    #[test]
    fn plain_snippets_underline_the_span() {
        assert_eq!(
            render(&diags(), false),
            "\
ready.yaml:12:15: unknown category `secrity` [unknown-category]
   |
12 |     category: secrity # typo
   |               ^^^^^^^

ready.yaml:3:19: warning: environment variable `DB_URL` is not set [unset-variable]
  |
3 |   db: { postgres: \"${DB_URL}\" }
  |                   ^^^^^^^^^^^
  |
  = help: set DB_URL
"
        );
    }

    #[test]
    fn colour_only_when_asked() {
        assert!(!render(&diags(), false).contains('\x1b'));
        let coloured = render(&diags(), true);
        assert!(
            coloured.starts_with(
                "\x1b[1mready.yaml:12:15: \x1b[0munknown category `secrity` \x1b[31m[unknown-category]\x1b[0m\n"
            ),
            "{coloured}"
        );
        let escapes = regex::Regex::new("\x1b\\[[0-9;]*m").unwrap();
        assert_eq!(escapes.replace_all(&coloured, ""), render(&diags(), false));
    }
}
