//! Data in markdown: whatever a project, a title, a row value or a response body holds is shown
//! as the text it is, never as a tag, emphasis, a link, a heading or a table break.

/// Characters that markdown (CommonMark and GitHub's extensions: tables, strikethrough, math)
/// reads as markup anywhere in a line; a backslash makes each a literal.
const SPECIAL: &[char] = &['\\', '`', '*', '_', '[', ']', '#', '|', '~', '!', '$'];

/// `text` for running text and table cells: `<`, `>` and `&` as HTML entities, the markdown
/// specials backslash-escaped, line breaks as spaces.
pub fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c if SPECIAL.contains(&c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// `text` where it begins a line or a list item: also what would open a block there (a list
/// marker, a numbered item, indentation) made literal.
pub fn leading(line: &str) -> String {
    let trimmed = line.trim_start();
    let digits = trimmed.len()
        - trimmed
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .len();
    let (head, rest) = match trimmed[digits..].chars().next() {
        Some(c @ ('-' | '+' | '=')) if digits == 0 => (format!("\\{c}"), &trimmed[1..]),
        Some(c @ ('.' | ')')) if digits > 0 => (
            format!("{}\\{c}", &trimmed[..digits]),
            &trimmed[digits + 1..],
        ),
        _ => (String::new(), trimmed),
    };
    head + &text(rest)
}

/// `text` as a code span: delimited by one backtick more than its longest run of backticks, and
/// padded with spaces when it starts or ends with a backtick.
pub fn code(text: &str) -> String {
    let text = text.replace(['\n', '\r'], " ");
    let ticks = "`".repeat(longest_backtick_run(&text) + 1);
    if text.starts_with('`') || text.ends_with('`') {
        format!("{ticks} {text} {ticks}")
    } else {
        format!("{ticks}{text}{ticks}")
    }
}

/// The opening and closing line of a fenced block that `content` cannot close early.
pub fn fence(content: &str) -> String {
    "`".repeat((longest_backtick_run(content) + 1).max(3))
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped_and_entities_are_not_read() {
        assert_eq!(text("Shop <Release> & Co"), "Shop &lt;Release&gt; &amp; Co");
        assert_eq!(
            text("*a* _b_ [l](u) `c` | ~d~"),
            r"\*a\* \_b\_ \[l\](u) \`c\` \| \~d\~"
        );
        assert_eq!(text("&lt; not an entity"), "&amp;lt; not an entity");
        assert_eq!(text("two\nlines"), "two lines");
    }

    #[test]
    fn what_would_open_a_block_at_the_start_is_literal() {
        assert_eq!(leading("- item"), r"\- item");
        assert_eq!(leading("12. item"), r"12\. item");
        assert_eq!(leading("3) *x*"), r"3\) \*x\*");
        assert_eq!(leading("    indented"), "indented");
        assert_eq!(leading("a - b 3. c"), "a - b 3. c");
        assert_eq!(text("0.1.0"), "0.1.0");
    }

    #[test]
    fn code_spans_and_fences_outlast_the_backticks_inside() {
        assert_eq!(code("id"), "`id`");
        assert_eq!(code("a``b"), "```a``b```");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(fence("plain"), "```");
        assert_eq!(fence("has ```` four"), "`````");
    }
}
