//! Go coverage profiles (`go test -coverprofile`): a `mode: set|count|atomic` line, then one
//! block per line, `FILE:START_LINE.START_COL,END_LINE.END_COL STATEMENTS COUNT`. Coverage is
//! weighted by statements, as `go tool cover -func` totals it: a block's statements are covered
//! when its count is above zero. Blocks listed more than once (profiles of several test binaries
//! concatenated, `-coverpkg`) are merged as `go tool cover` merges them: one block, covered when
//! any copy is.

use std::collections::BTreeMap;

use super::{Counts, Report};

/// A block's place in its file: start line and column, end line and column.
type Span = (u64, u64, u64, u64);

/// Per file, per block: statements and whether it ran.
type Blocks = BTreeMap<String, BTreeMap<Span, (u64, bool)>>;

pub fn parse(text: &str) -> Result<Report, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end()))
        .filter(|(_, l)| !l.is_empty());
    let mode = match lines.next() {
        Some((_, first)) => read_mode(first)?,
        None => return Err("empty: not a Go coverage profile".into()),
    };
    let mut blocks = Blocks::new();
    for (number, line) in lines {
        // Profiles concatenated with `cat` repeat the mode line; another mode cannot be merged.
        if line.starts_with("mode:") {
            if read_mode(line)? != mode {
                return Err(format!(
                    "line {number}: a second mode `{line}` in one profile"
                ));
            }
            continue;
        }
        let (file, span, statements, count) = block(line)
            .ok_or_else(|| format!("line {number}: malformed coverage block `{line}`"))?;
        let entry = blocks
            .entry(file.to_string())
            .or_default()
            .entry(span)
            .or_insert((statements, false));
        if entry.0 != statements {
            return Err(format!(
                "line {number}: {file} block {}.{},{}.{} has {statements} statements here and {} \
                 before",
                span.0, span.1, span.2, span.3, entry.0
            ));
        }
        entry.1 |= count > 0;
    }
    if blocks.is_empty() {
        return Err("no coverage block: the profile is empty".into());
    }
    let files = blocks
        .into_iter()
        .map(|(file, blocks)| {
            let covered = blocks
                .values()
                .filter(|(_, ran)| *ran)
                .map(|(n, _)| n)
                .sum();
            let total = blocks.values().map(|(n, _)| n).sum();
            let counts = Counts {
                lines: (covered, total),
                ..Counts::default()
            };
            (file, counts)
        })
        .collect();
    Ok(Report {
        files,
        total: None,
        generated: None,
    })
}

fn read_mode(line: &str) -> Result<&str, String> {
    match line.strip_prefix("mode:").map(str::trim) {
        Some(mode @ ("set" | "count" | "atomic")) => Ok(mode),
        Some(other) => Err(format!(
            "unknown mode `{other}` (a Go profile is set, count or atomic)"
        )),
        None => Err(format!(
            "the first line `{line}` is not `mode: set|count|atomic`: not a Go coverage profile"
        )),
    }
}

/// `example.com/m/a.go:3.14,5.2 1 7` → (file, span, statements, count).
fn block(line: &str) -> Option<(&str, Span, u64, u64)> {
    let (rest, count) = line.rsplit_once(' ')?;
    let (place, statements) = rest.rsplit_once(' ')?;
    let (file, span) = place.rsplit_once(':')?;
    let (start, end) = span.split_once(',')?;
    let position = |p: &str| -> Option<(u64, u64)> {
        let (line, column) = p.split_once('.')?;
        Some((line.parse().ok()?, column.parse().ok()?))
    };
    let (start, end) = (position(start)?, position(end)?);
    Some((
        file,
        (start.0, start.1, end.0, end.1),
        statements.parse().ok()?,
        count.parse().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_weigh_and_duplicate_blocks_merge() {
        let profile = "mode: count\n\
                       example.com/m/a.go:3.14,5.2 2 0\n\
                       example.com/m/a.go:6.10,8.3 3 1\n\
                       example.com/m/b.go:1.1,2.2 5 0\n\
                       mode: count\n\
                       example.com/m/a.go:3.14,5.2 2 4\n";
        let report = parse(profile).unwrap();
        assert_eq!(report.files["example.com/m/a.go"].lines, (5, 5));
        assert_eq!(report.files["example.com/m/b.go"].lines, (0, 5));
        assert_eq!(report.files["example.com/m/b.go"].branches, (0, 0));
    }

    #[test]
    fn what_go_tool_cover_refuses_is_an_error() {
        assert!(
            parse("hello\n")
                .unwrap_err()
                .contains("not a Go coverage profile")
        );
        assert_eq!(
            parse("mode: fast\n").unwrap_err(),
            "unknown mode `fast` (a Go profile is set, count or atomic)"
        );
        assert_eq!(
            parse("mode: set\na.go:1.1,2.2 x 1\n").unwrap_err(),
            "line 2: malformed coverage block `a.go:1.1,2.2 x 1`"
        );
        assert_eq!(
            parse("mode: set\na.go:1.1,2.2 1 1\na.go:1.1,2.2 2 1\n").unwrap_err(),
            "line 3: a.go block 1.1,2.2 has 2 statements here and 1 before"
        );
        assert_eq!(
            parse("mode: set\na.go:1.1,2.2 1 1\nmode: count\n").unwrap_err(),
            "line 3: a second mode `mode: count` in one profile"
        );
    }
}
