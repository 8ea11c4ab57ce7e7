//! The human report: what blocks production and how to fix it, at a glance.

use std::io;

use comfy_table::{Attribute, Cell, CellAlignment, Color, ContentArrangement, Table, presets};

use super::{Look, Reporter, baseline_delta, score_text};
use crate::result::{CheckResult, RunResult, WaiverState};
use crate::vocab::Status;

pub struct TableReport {
    pub look: Look,
}

/// Long messages are cut in the check list (then wrapped in their cell); the JSON has them whole.
const MESSAGE_LENGTH: usize = 240;

/// The lines a message may take in the check list when its findings are not listed below.
const MESSAGE_LINES: usize = 3;

impl TableReport {
    fn paint(&self, text: &str, color: Color, bold: bool) -> Cell {
        let mut cell = Cell::new(text);
        if self.look.color {
            cell = cell.fg(color);
            if bold {
                cell = cell.add_attribute(Attribute::Bold);
            }
        }
        cell
    }

    fn ansi(&self, text: &str, code: &str) -> String {
        if self.look.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn table(&self) -> Table {
        let mut table = Table::new();
        table
            .load_style(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(self.look.width);
        if self.look.color {
            table.enforce_styling();
        } else {
            table.force_no_tty();
        }
        table
    }

    /// Writes `text` word-wrapped to the width, the first line after `first`, the others after
    /// as many spaces.
    fn line(&self, out: &mut dyn io::Write, first: &str, text: &str) -> io::Result<()> {
        let indent = columns(first);
        let room = usize::from(self.look.width).saturating_sub(indent).max(20);
        for (i, row) in wrap(text, room).iter().enumerate() {
            let lead = if i == 0 {
                first.to_string()
            } else {
                " ".repeat(indent)
            };
            writeln!(out, "{lead}{row}")?;
        }
        Ok(())
    }
}

/// The columns `text` takes on a terminal: its characters without the colour escapes.
fn columns(text: &str) -> usize {
    let mut in_escape = false;
    text.chars()
        .filter(|&c| {
            let shown = !in_escape && c != '\x1b';
            in_escape = (in_escape || c == '\x1b') && c != 'm';
            shown
        })
        .count()
}

/// Greedy word wrap to `room` characters; words longer than a line are split.
fn wrap(text: &str, room: usize) -> Vec<String> {
    let mut rows = Vec::new();
    let mut row = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > room {
            if !row.is_empty() {
                rows.push(std::mem::take(&mut row));
            }
            rows.push(word.drain(..room).collect());
        }
        let used = row.chars().count();
        if used > 0 && used + 1 + word.len() > room {
            rows.push(std::mem::take(&mut row));
        }
        if !row.is_empty() {
            row.push(' ');
        }
        row.extend(word);
    }
    if !row.is_empty() || rows.is_empty() {
        rows.push(row);
    }
    rows
}

fn status_color(status: Status) -> Color {
    match status {
        Status::Pass => Color::Green,
        Status::Warn => Color::Yellow,
        Status::Fail | Status::Error => Color::Red,
        Status::Skip => Color::DarkGrey,
        Status::Waived => Color::Cyan,
    }
}

/// Where a check is listed: failures, errors and warnings first, then waived and skipped
/// checks, passing ones last; the most severe first within each group, then definition order.
fn listing_order(c: &CheckResult) -> (u8, std::cmp::Reverse<crate::vocab::Severity>, u8) {
    let (group, rank) = match c.status {
        Status::Fail => (0, 0),
        Status::Error => (0, 1),
        Status::Warn => (0, 2),
        Status::Waived => (1, 0),
        Status::Skip => (1, 1),
        Status::Pass => (2, 0),
    };
    (group, std::cmp::Reverse(c.severity), rank)
}

/// The targets whose checks were skipped for want of configuration: name, reason, how many.
fn unconfigured_targets(r: &RunResult) -> Vec<(&str, &str, usize)> {
    let mut targets: Vec<(&str, &str, usize)> = Vec::new();
    for c in r.checks.iter().filter(|c| c.selected) {
        let (Some(reason), Some(name)) = (not_configured(r, c), c.target.as_deref()) else {
            continue;
        };
        match targets.iter_mut().find(|(n, _, _)| *n == name) {
            Some((_, _, skipped)) => *skipped += 1,
            None => targets.push((name, reason, 1)),
        }
    }
    targets
}

/// `███████▌░░` for 75: ten cells, a half cell for the remainder.
pub fn bar(score: f64) -> String {
    let tenths = (score.clamp(0.0, 100.0) / 5.0).round() as usize; // in half cells
    let full = tenths / 2;
    let half = tenths % 2;
    let mut s = "█".repeat(full);
    if half == 1 {
        s.push('▌');
    }
    s.push_str(&"░".repeat(10 - full - half));
    s
}

/// Writes a table without the padding comfy-table leaves at the end of lines.
fn write_table(out: &mut dyn io::Write, table: &Table) -> io::Result<()> {
    for line in table.to_string().lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn cut(text: &str, max: usize) -> String {
    let first_line = text.lines().next().unwrap_or_default();
    if first_line.chars().count() <= max && first_line.len() == text.len() {
        return text.to_string();
    }
    let kept: String = first_line.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// The first `lines` lines of `text` wrapped to `room` columns, the last cut with `…` when there
/// is more: a long message keeps the check list to a screen (the JSON has it whole).
fn at_most_lines(text: &str, room: usize, lines: usize) -> String {
    let first_line = text.lines().next().unwrap_or_default();
    let rows = wrap(first_line, room);
    if rows.len() <= lines && first_line.len() == text.len() {
        return text.to_string();
    }
    let kept = rows[..lines.min(rows.len())].join(" ");
    let last_room = kept.chars().count().min(
        rows[..lines.min(rows.len()) - 1]
            .iter()
            .map(|r| r.chars().count() + 1)
            .sum::<usize>()
            + room.saturating_sub(1),
    );
    let kept: String = kept.chars().take(last_room).collect();
    format!("{kept}…")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The last line: `NO-GO for production · score 41.2 < 93 · 2 blockers failed`.
pub(super) fn verdict_line(r: &RunResult) -> String {
    let mut parts = vec![format!(
        "{} for {}",
        if r.decision.go { "GO" } else { "NO-GO" },
        r.stage
    )];
    let min_score = r
        .stages
        .iter()
        .find(|s| s.name == r.stage)
        .map(|s| s.min_score);
    parts.push(match (r.score, min_score) {
        (Some(s), Some(min)) if s >= min => format!("score {} ≥ {min}", score_text(Some(s))),
        (Some(s), Some(min)) => format!("score {} < {min}", score_text(Some(s))),
        (Some(s), None) => format!("score {}", score_text(Some(s))),
        (None, _) => "no check was scored".to_string(),
    });
    if let Some(shard) = &r.shard {
        parts.push(format!("shard {shard}, decided by `ready merge`"));
    }
    let unverified = unverified(r);
    if !unverified.blockers.is_empty() {
        parts.push(format!(
            "{} failed",
            plural(unverified.blockers.len(), "blocker", "blockers")
        ));
    }
    if !unverified.required.is_empty() {
        parts.push(format!(
            "{} did not pass",
            plural(
                unverified.required.len(),
                "other required check",
                "other required checks"
            )
        ));
    }
    if !unverified.unconfigured.is_empty() {
        parts.push(format!(
            "{} skipped",
            plural(
                unverified.unconfigured.len(),
                "required check",
                "required checks"
            )
        ));
    }
    if !unverified.not_run.is_empty() {
        parts.push(format!(
            "{} not run",
            plural(
                unverified.not_run.len(),
                "required check",
                "required checks"
            )
        ));
    }
    parts.join(" · ")
}

/// The checks that keep the stage from being met, by why they are listed.
pub(super) struct Unverified<'a> {
    /// `blocker: true` checks that ran.
    pub blockers: Vec<&'a CheckResult>,
    /// Other checks the stages require that ran.
    pub required: Vec<&'a CheckResult>,
    /// Required checks that `--only`/`--skip` left out.
    pub not_run: Vec<&'a CheckResult>,
    /// Required checks skipped because the built-in suite has no configuration for their target.
    pub unconfigured: Vec<&'a CheckResult>,
}

/// Why `c` was skipped when its target is one the built-in suite has no configuration for.
pub(super) fn not_configured<'a>(r: &'a RunResult, c: &CheckResult) -> Option<&'a str> {
    if c.status != Status::Skip {
        return None;
    }
    let target = r
        .targets
        .iter()
        .find(|t| Some(&t.name) == c.target.as_ref())?;
    target.not_configured.as_deref()
}

pub(super) fn unverified(r: &RunResult) -> Unverified<'_> {
    let mut u = Unverified {
        blockers: vec![],
        required: vec![],
        not_run: vec![],
        unconfigured: vec![],
    };
    let listed = r
        .decision
        .blockers
        .iter()
        .filter_map(|id| r.checks.iter().find(|c| &c.id == id));
    for c in listed {
        match (c.selected, c.blocker) {
            (false, _) => u.not_run.push(c),
            _ if not_configured(r, c).is_some() => u.unconfigured.push(c),
            (true, true) => u.blockers.push(c),
            (true, false) => u.required.push(c),
        }
    }
    u
}

impl Reporter for TableReport {
    fn render(&self, r: &RunResult, out: &mut dyn io::Write) -> io::Result<()> {
        if !self.look.quiet {
            self.banner(out, r)?;
            self.categories(out, r)?;
            self.checks(out, r)?;
            self.unverified(out, r)?;
            self.waivers(out, r)?;
            self.baseline(out, r)?;
            let n = &r.counts;
            writeln!(out)?;
            writeln!(
                out,
                "{} pass · {} warn · {} fail · {} error · {} skip · {} waived",
                n.pass, n.warn, n.fail, n.error, n.skip, n.waived
            )?;
        }
        let verdict = verdict_line(r);
        let code = if r.decision.go { "1;32" } else { "1;31" };
        writeln!(out, "{}", self.ansi(&verdict, code))
    }
}

impl TableReport {
    /// The verdict, the score and the reasons for a NO-GO.
    fn banner(&self, out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
        let verdict = if r.decision.go {
            self.ansi(" GO ", "1;30;42")
        } else {
            self.ansi(" NO-GO ", "1;37;41")
        };
        writeln!(
            out,
            "{verdict} {} for {} · reached: {}",
            r.project,
            r.stage,
            r.decision.reached.as_deref().unwrap_or("none")
        )?;
        let score = format!(
            "score {} · without waivers {} · coverage {:.1}%{}{}",
            score_text(r.score),
            score_text(r.score_without_waivers),
            r.coverage,
            baseline_delta(r)
                .map(|d| format!(" · {d}"))
                .unwrap_or_default(),
            match (&r.shard, r.partial) {
                (Some(shard), _) => format!(" · partial run (shard {shard})"),
                (None, true) => " · partial run (--only/--skip)".to_string(),
                (None, false) => String::new(),
            }
        );
        self.line(out, "", &score)?;
        // The checks behind a NO-GO are listed below, each once; the other reasons are here.
        let about_a_listed_check = |reason: &str| {
            reason.split_once(": ").is_some_and(|(_, rest)| {
                r.decision
                    .blockers
                    .iter()
                    .any(|id| rest.starts_with(&format!("{id} ")))
            })
        };
        for reason in r
            .decision
            .reasons
            .iter()
            .filter(|x| !about_a_listed_check(x))
        {
            self.line(out, "  · ", reason)?;
        }
        Ok(())
    }

    fn categories(&self, out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
        let mut categories = self.table();
        categories.set_header(vec!["category", "weight", "score", ""]);
        for c in &r.categories {
            let bar_cell = match c.score {
                Some(s) => self.paint(
                    &bar(s),
                    if s >= 90.0 {
                        Color::Green
                    } else if s >= 70.0 {
                        Color::Yellow
                    } else {
                        Color::Red
                    },
                    false,
                ),
                None => Cell::new("no scored check"),
            };
            categories.add_row(vec![
                Cell::new(&c.id),
                Cell::new(format!("{}", c.weight)).set_alignment(CellAlignment::Right),
                Cell::new(score_text(c.score)).set_alignment(CellAlignment::Right),
                bar_cell,
            ]);
        }
        writeln!(out)?;
        write_table(out, &categories)
    }

    /// The checks that did not pass, worst first, one row each; the passing ones counted in
    /// one line unless `--all`, the unselected ones counted.
    fn checks(&self, out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
        let mut listed: Vec<&CheckResult> = r
            .checks
            .iter()
            .filter(|c| c.selected && (self.look.all || c.status != Status::Pass))
            .filter(|c| not_configured(r, c).is_none())
            .collect();
        listed.sort_by_key(|c| listing_order(c));
        let one_line = self.one_line_room(r, &listed);
        let unconfigured = unconfigured_targets(r);
        if !listed.is_empty() || !unconfigured.is_empty() {
            let mut checks = self.table();
            checks.set_header(vec!["status", "check", "severity", "message"]);
            // Skipped targets come after the other checks that did not pass.
            let passing = listed.partition_point(|c| c.status != Status::Pass);
            let count = listed.len();
            for (i, c) in listed.into_iter().enumerate() {
                if i == passing {
                    self.unconfigured_rows(&mut checks, &unconfigured);
                }
                checks.add_row(vec![
                    self.paint(
                        &c.status.as_str().to_uppercase(),
                        status_color(c.status),
                        true,
                    ),
                    Cell::new(if c.blocker {
                        format!("{} ⛔", c.id)
                    } else {
                        c.id.clone()
                    }),
                    Cell::new(c.severity.as_str()),
                    Cell::new(match &one_line {
                        Some((detailed, room)) if detailed.contains(c.id.as_str()) => {
                            cut(&c.message, *room)
                        }
                        Some((_, room)) => at_most_lines(&c.message, *room, MESSAGE_LINES),
                        None => cut(&c.message, MESSAGE_LENGTH),
                    }),
                ]);
            }
            if passing == count {
                self.unconfigured_rows(&mut checks, &unconfigured);
            }
            writeln!(out)?;
            write_table(out, &checks)?;
        } else {
            writeln!(out)?;
        }
        let passed = r
            .checks
            .iter()
            .filter(|c| c.selected && c.status == Status::Pass)
            .count();
        if passed > 0 && !self.look.all {
            let noun = plural(passed, "check passes", "checks pass");
            writeln!(out, "  {} (--all lists them)", self.ansi(&noun, "32"))?;
        }
        let unselected = r.checks.iter().filter(|c| !c.selected).count();
        if unselected > 0 {
            writeln!(
                out,
                "  ({} not selected)",
                plural(unselected, "check", "checks")
            )?;
        }
        Ok(())
    }

    /// The checks whose findings the sections below list (blockers and other required checks),
    /// and the room their message gets: one line, so that the list fits a screen and nothing is
    /// said at length twice.
    fn one_line_room<'a>(
        &self,
        r: &'a RunResult,
        listed: &[&CheckResult],
    ) -> Option<(std::collections::HashSet<&'a str>, usize)> {
        let u = unverified(r);
        let detailed: std::collections::HashSet<&str> = u
            .blockers
            .iter()
            .chain(&u.required)
            .map(|c| c.id.as_str())
            .collect();
        let widest_id = listed.iter().map(|c| columns(&c.id) + 2).max()?;
        // status (8), the id column and its gap, severity (10): what is left is the message's.
        let room = usize::from(self.look.width).saturating_sub(8 + widest_id + 2 + 10 + 1);
        Some((detailed, room.max(24)))
    }

    /// One row per target the built-in suite has no configuration for, instead of a row for
    /// each of its skipped checks.
    fn unconfigured_rows(&self, table: &mut Table, targets: &[(&str, &str, usize)]) {
        for (name, reason, skipped) in targets {
            table.add_row(vec![
                self.paint("SKIP", status_color(Status::Skip), true),
                Cell::new(format!("{} on {name}", plural(*skipped, "check", "checks"))),
                Cell::new(""),
                Cell::new(*reason),
            ]);
        }
    }

    /// What keeps the stage from being met: the blockers, the other required checks (with
    /// their first findings and remediation), and in one line the required checks not run.
    fn unverified(&self, out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
        let u = unverified(r);
        self.failing_section(out, "Blockers", &u.blockers)?;
        let also = format!("Also required for {}", r.stage);
        self.failing_section(out, &also, &u.required)?;
        if !u.unconfigured.is_empty() {
            writeln!(out)?;
            let skipped = plural(
                u.unconfigured.len(),
                "required check is",
                "required checks are",
            );
            let text = format!("{skipped} skipped because their target is not configured");
            self.line(out, "", &text)?;
        }
        if !u.not_run.is_empty() {
            let ids: Vec<&str> = u.not_run.iter().map(|c| c.id.as_str()).collect();
            writeln!(out)?;
            self.line(
                out,
                "",
                &format!(
                    "{} not run (--only/--skip): {}",
                    plural(ids.len(), "required check", "required checks"),
                    ids.join(", ")
                ),
            )?;
        }
        Ok(())
    }

    fn failing_section(
        &self,
        out: &mut dyn io::Write,
        heading: &str,
        checks: &[&CheckResult],
    ) -> io::Result<()> {
        if checks.is_empty() {
            return Ok(());
        }
        writeln!(out)?;
        writeln!(out, "{}", self.ansi(heading, "1"))?;
        for c in checks {
            let head = format!("{} [{}] {}", c.id, c.status.as_str(), c.title);
            self.line(out, "  ✗ ", &head)?;
            let open: Vec<_> = c.findings.iter().filter(|f| !f.waived).collect();
            for f in open.iter().take(5) {
                let mut text = cut(&f.message, MESSAGE_LENGTH);
                if let Some(at) = &f.location {
                    text.push_str(&format!(" (at {at})"));
                }
                self.line(out, "      - ", &text)?;
            }
            if open.len() > 5 {
                writeln!(out, "      - … {} more in the JSON result", open.len() - 5)?;
            }
            if c.findings.is_empty() && c.status != Status::Fail {
                self.line(out, "      - ", &cut(&c.message, MESSAGE_LENGTH))?;
            }
            if let Some(fix) = &c.remediation {
                self.line(out, "      fix: ", fix.trim())?;
            }
        }
        Ok(())
    }

    fn waivers(&self, out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
        if r.waivers.is_empty() {
            return Ok(());
        }
        writeln!(out)?;
        writeln!(out, "{}", self.ansi("Waivers", "1"))?;
        for w in &r.waivers {
            let state = match w.state {
                WaiverState::Active => self.ansi("active", "36"),
                WaiverState::Expiring => self.ansi("EXPIRING", "33"),
                WaiverState::Expired => self.ansi("EXPIRED (not applied)", "31"),
                WaiverState::Unused => self.ansi("unused", "2"),
            };
            let mut who = Vec::new();
            if let Some(a) = &w.approved_by {
                who.push(format!("approved by {a}"));
            }
            if let Some(t) = &w.ticket {
                who.push(t.clone());
            }
            let subject = w
                .subject
                .as_deref()
                .map(|s| format!(" {s}"))
                .unwrap_or_default();
            let text = format!(
                "{}{subject} until {}{}: {}",
                w.check,
                w.expires,
                if who.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", who.join(", "))
                },
                w.reason
            );
            self.line(out, &format!("  {state} "), &text)?;
        }
        Ok(())
    }

    /// Regressions and new findings, when the run was compared with a baseline.
    fn baseline(&self, out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
        if !r.regressions.is_empty() {
            writeln!(out)?;
            writeln!(out, "{}", self.ansi("Regressions since the baseline", "1"))?;
            for g in &r.regressions {
                writeln!(
                    out,
                    "  {} was {}, is {}",
                    g.check,
                    g.before.as_str(),
                    g.now.as_str()
                )?;
            }
        }
        if !r.new_findings.is_empty() {
            writeln!(out)?;
            let text = format!(
                "{} new finding(s) since the baseline: {}",
                r.new_findings.len(),
                r.new_findings.join(", ")
            );
            self.line(out, "", &text)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_keep_their_first_lines_and_say_they_were_cut() {
        let text = "one two three four five six seven";
        assert_eq!(at_most_lines(text, 9, 5), text);
        assert_eq!(at_most_lines(text, 9, 2), "one two three…");
        assert_eq!(at_most_lines("short\nsecond line", 20, 3), "short…");
    }

    #[test]
    fn text_wraps_at_word_boundaries_and_splits_long_words() {
        assert_eq!(wrap("one two three four", 9), ["one two", "three", "four"]);
        assert_eq!(wrap("abcdefghij k", 4), ["abcd", "efgh", "ij k"]);
        assert_eq!(wrap("", 10), [""]);
        assert_eq!(columns("\x1b[1;31mNO-GO\x1b[0m "), 6);
    }

    #[test]
    fn bars_have_ten_cells_with_halves() {
        assert_eq!(bar(75.0), "███████▌░░");
        assert_eq!(bar(100.0), "██████████");
        assert_eq!(bar(0.0), "░░░░░░░░░░");
        assert_eq!(bar(42.0), "████░░░░░░");
    }
}
