//! The human report: what blocks production and how to fix it, at a glance.

use std::io;

use comfy_table::{Attribute, Cell, CellAlignment, Color, ContentArrangement, Table, presets};

use super::{Reporter, baseline_delta, score_text};
use crate::result::{CheckResult, RunResult, WaiverState};
use crate::vocab::Status;

pub struct TableReport {
    pub color: bool,
}

/// Long messages are cut in the check list; the JSON has them whole.
const MESSAGE_WIDTH: usize = 90;

impl TableReport {
    fn paint(&self, text: &str, color: Color, bold: bool) -> Cell {
        let mut cell = Cell::new(text);
        if self.color {
            cell = cell.fg(color);
            if bold {
                cell = cell.add_attribute(Attribute::Bold);
            }
        }
        cell
    }

    fn ansi(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn table(&self) -> Table {
        let mut table = Table::new();
        table
            .load_style(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Disabled);
        if self.color {
            table.enforce_styling();
        } else {
            table.force_no_tty();
        }
        table
    }
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

impl Reporter for TableReport {
    fn render(&self, r: &RunResult, out: &mut dyn io::Write) -> io::Result<()> {
        self.banner(out, r)?;
        self.categories(out, r)?;
        self.checks(out, r)?;
        self.blockers(out, r)?;
        self.waivers(out, r)?;
        self.baseline(out, r)?;
        let n = &r.counts;
        writeln!(out)?;
        writeln!(
            out,
            "{} pass · {} warn · {} fail · {} error · {} skip · {} waived",
            n.pass, n.warn, n.fail, n.error, n.skip, n.waived
        )
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
        writeln!(
            out,
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
        )?;
        for reason in &r.decision.reasons {
            writeln!(out, "  · {reason}")?;
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

    /// The selected checks, one line each; the unselected ones only counted.
    fn checks(&self, out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
        let mut checks = self.table();
        checks.set_header(vec!["status", "check", "severity", "message"]);
        let unselected = r.checks.iter().filter(|c| !c.selected).count();
        for c in r.checks.iter().filter(|c| c.selected) {
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
                Cell::new(cut(&c.message, MESSAGE_WIDTH)),
            ]);
        }
        writeln!(out)?;
        write_table(out, &checks)?;
        if unselected > 0 {
            let noun = if unselected == 1 { "check" } else { "checks" };
            writeln!(out, "  ({unselected} {noun} not selected)")?;
        }
        Ok(())
    }

    /// The blockers with their first findings and their remediation.
    fn blockers(&self, out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
        let blockers: Vec<&CheckResult> = r
            .decision
            .blockers
            .iter()
            .filter_map(|id| r.checks.iter().find(|c| &c.id == id))
            .collect();
        if blockers.is_empty() {
            return Ok(());
        }
        writeln!(out)?;
        writeln!(out, "{}", self.ansi("Blockers", "1"))?;
        for c in blockers {
            writeln!(out, "  ✗ {} [{}] {}", c.id, c.status.as_str(), c.title)?;
            for f in c.findings.iter().filter(|f| !f.waived).take(5) {
                writeln!(out, "      - {}", cut(&f.message, MESSAGE_WIDTH))?;
            }
            if c.findings.iter().filter(|f| !f.waived).count() > 5 {
                writeln!(
                    out,
                    "      - … {} more in the JSON result",
                    c.findings.len() - 5
                )?;
            }
            if c.findings.is_empty() && c.status != Status::Fail {
                writeln!(out, "      - {}", cut(&c.message, MESSAGE_WIDTH))?;
            }
            if let Some(fix) = &c.remediation {
                writeln!(out, "      fix: {}", fix.trim())?;
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
            writeln!(
                out,
                "  {state} {}{subject} until {}{}: {}",
                w.check,
                w.expires,
                if who.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", who.join(", "))
                },
                w.reason
            )?;
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
            writeln!(
                out,
                "{} new finding(s) since the baseline: {}",
                r.new_findings.len(),
                r.new_findings.join(", ")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_have_ten_cells_with_halves() {
        assert_eq!(bar(75.0), "███████▌░░");
        assert_eq!(bar(100.0), "██████████");
        assert_eq!(bar(0.0), "░░░░░░░░░░");
        assert_eq!(bar(42.0), "████░░░░░░");
    }
}
