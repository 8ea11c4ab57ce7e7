//! The go/no-go report for release managers: reads well rendered on GitHub and as plain text,
//! says each thing once, and shows every text from the data as the text it is.

mod escape;

use std::io;

use super::table::{Unverified, unverified};
use super::{Reporter, baseline_delta, score_text};
use crate::result::{CheckResult, FindingResult, RunResult, WaiverState};
use crate::vocab::{Level, Status};
use escape::{code, fence, leading, text};

#[cfg(test)]
mod tests;

pub struct MarkdownReport;

/// Findings shown per check; the JSON result has them all.
const FIRST_FINDINGS: usize = 5;

/// Evidence is shown on one line per finding, cut to this many characters.
const EVIDENCE_LENGTH: usize = 300;

impl Reporter for MarkdownReport {
    fn render(&self, r: &RunResult, out: &mut dyn io::Write) -> io::Result<()> {
        let u = unverified(r);
        decision(out, r)?;
        stages(out, r)?;
        blockers(out, r, &u)?;
        also_required(out, r, &u)?;
        other_failures(out, r)?;
        passing(out, r)?;
        categories(out, r)?;
        evidence(out, &u)?;
        waivers(out, r)?;
        regressions(out, r)?;
        run(out, r)
    }
}

/// The title, the verdict with the score and the counts.
fn decision(out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
    let verdict = if r.decision.go { "GO" } else { "NO-GO" };
    let stage = text(&r.stage);
    writeln!(out, "# {}: {verdict} for {stage}", text(&r.project))?;
    writeln!(out)?;
    let delta = baseline_delta(r)
        .map(|d| format!(" · {d}"))
        .unwrap_or_default();
    writeln!(
        out,
        "**{verdict}** for **{stage}** · reached: **{}** · score **{}** · without waivers {} · \
         coverage {:.1}%{delta}\\",
        text(r.decision.reached.as_deref().unwrap_or("none")),
        score_text(r.score),
        score_text(r.score_without_waivers),
        r.coverage
    )?;
    let n = &r.counts;
    writeln!(
        out,
        "{} checks: {} pass · {} warn · {} fail · {} error · {} skip · {} waived",
        r.checks.len(),
        n.pass,
        n.warn,
        n.fail,
        n.error,
        n.skip,
        n.waived
    )?;
    if r.partial {
        writeln!(out)?;
        writeln!(
            out,
            "> Partial run: some checks were not selected{}.",
            r.shard
                .as_deref()
                .map(|s| format!(" (shard {})", text(s)))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

/// Each stage in one row (met or not, and how many requirements are not), then why each stage
/// that is not met is not, and the decision's other reasons: the reasons, once.
fn stages(out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "| stage | bar | requires | status | unmet |")?;
    writeln!(out, "|---|---:|---|---|---:|")?;
    for s in &r.stages {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            text(&s.name),
            s.min_score,
            text(&s.require.join(", ")),
            if s.met { "met" } else { "not met" },
            s.unmet.len()
        )?;
    }
    let unmet: Vec<_> = r.stages.iter().filter(|s| !s.met).collect();
    let about_a_stage = |reason: &str| {
        r.stages
            .iter()
            .any(|s| reason.starts_with(&format!("{}: ", s.name)))
    };
    let other: Vec<&String> = r
        .decision
        .reasons
        .iter()
        .filter(|x| !about_a_stage(x))
        .collect();
    if unmet.is_empty() && other.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    for s in unmet {
        writeln!(out, "- {}: {}", leading(&s.name), text(&s.unmet.join("; ")))?;
    }
    for reason in other {
        writeln!(out, "- {}", leading(reason))?;
    }
    Ok(())
}

/// The `blocker: true` checks that keep the stage from being met, with findings and fix.
fn blockers(out: &mut dyn io::Write, r: &RunResult, u: &Unverified) -> io::Result<()> {
    if u.blockers.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "## Blockers")?;
    for c in &u.blockers {
        check_with_findings(out, c, &r.new_findings)?;
    }
    Ok(())
}

/// The other checks the stages require that did not pass, then those not run, in one line.
fn also_required(out: &mut dyn io::Write, r: &RunResult, u: &Unverified) -> io::Result<()> {
    if u.required.is_empty() && u.not_run.is_empty() && u.unconfigured.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "## Also required for {}", text(&r.stage))?;
    for c in &u.required {
        check_with_findings(out, c, &r.new_findings)?;
    }
    for (why, checks) in [
        ("Not run (--only/--skip)", &u.not_run),
        ("Skipped, target not configured", &u.unconfigured),
    ] {
        if checks.is_empty() {
            continue;
        }
        writeln!(out)?;
        let ids: Vec<String> = checks.iter().map(|c| code(&c.id)).collect();
        writeln!(out, "{why}: {}.", ids.join(", "))?;
    }
    Ok(())
}

/// Failures, errors and warnings of checks no stage requires, one line each, worst first.
fn other_failures(out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
    let mut rest: Vec<&CheckResult> = r
        .checks
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::Error | Status::Warn))
        .filter(|c| !r.decision.blockers.contains(&c.id))
        .collect();
    if rest.is_empty() {
        return Ok(());
    }
    rest.sort_by_key(|c| (c.status == Status::Warn, std::cmp::Reverse(c.severity)));
    writeln!(out)?;
    writeln!(out, "## Other checks that did not pass")?;
    for c in rest {
        writeln!(out, "- {}: {}", headline(c), text(&c.message))?;
    }
    Ok(())
}

/// `**FAIL** `id` (critical) Title`.
fn headline(c: &CheckResult) -> String {
    format!(
        "**{}** {} ({}) {}",
        c.status.as_str().to_uppercase(),
        code(&c.id),
        c.severity.as_str(),
        text(&c.title)
    )
}

/// The findings a check shows: the first open ones.
fn shown_findings(c: &CheckResult) -> impl Iterator<Item = &FindingResult> {
    c.findings.iter().filter(|f| !f.waived).take(FIRST_FINDINGS)
}

/// A list item: the headline, then its first open findings (or its message) and its fix.
fn check_with_findings(out: &mut dyn io::Write, c: &CheckResult, new: &[String]) -> io::Result<()> {
    writeln!(out, "- {}", headline(c))?;
    for f in shown_findings(c) {
        let mark = if new.contains(&f.fingerprint) {
            " **(new)**"
        } else {
            ""
        };
        let level = if f.level == Level::Warn {
            " (warning)"
        } else {
            ""
        };
        let at = f
            .location
            .as_ref()
            .map(|l| format!(" (at {})", code(&l.to_string())))
            .unwrap_or_default();
        // Most messages name their subject already; say it only when they do not.
        if f.message.contains(&f.subject) {
            writeln!(out, "  - {}{at}{level}{mark}", leading(&f.message))?;
        } else {
            let subject = code(&f.subject);
            writeln!(out, "  - {subject}: {}{at}{level}{mark}", text(&f.message))?;
        }
    }
    let open = c.findings.iter().filter(|f| !f.waived).count();
    if open > FIRST_FINDINGS {
        let more = open - FIRST_FINDINGS;
        writeln!(out, "  - … and {more} more in the JSON result")?;
    }
    if open == 0 {
        writeln!(out, "  - {}", leading(&c.message))?;
    }
    if let Some(fix) = &c.remediation {
        writeln!(out, "  - *Fix:* {}", text(fix.trim()))?;
    }
    Ok(())
}

/// The passing checks, collapsed.
fn passing(out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
    let passed: Vec<String> = r
        .checks
        .iter()
        .filter(|c| c.status == Status::Pass)
        .map(|c| code(&c.id))
        .collect();
    if passed.is_empty() {
        return Ok(());
    }
    let noun = if passed.len() == 1 {
        "check passes"
    } else {
        "checks pass"
    };
    writeln!(out)?;
    writeln!(out, "<details><summary>{} {noun}</summary>", passed.len())?;
    writeln!(out)?;
    writeln!(out, "{}", passed.join(" · "))?;
    writeln!(out)?;
    writeln!(out, "</details>")
}

fn categories(out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "## Categories")?;
    writeln!(
        out,
        "| category | weight | score | pass | warn | fail | error | skip | waived |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    for c in &r.categories {
        let n = &c.counts;
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            text(&c.id),
            c.weight,
            score_text(c.score),
            n.pass,
            n.warn,
            n.fail,
            n.error,
            n.skip,
            n.waived
        )?;
    }
    Ok(())
}

/// The evidence of the findings shown above, collapsed, one line per finding in one fenced block.
fn evidence(out: &mut dyn io::Write, u: &Unverified) -> io::Result<()> {
    let mut lines = Vec::new();
    for c in u.blockers.iter().chain(&u.required) {
        for f in shown_findings(c).filter(|f| !is_empty(&f.evidence)) {
            let line = format!("{} {}: {}", c.id, f.subject, f.evidence).replace('\n', " ");
            lines.push(cut(&line, EVIDENCE_LENGTH));
        }
    }
    if lines.is_empty() {
        return Ok(());
    }
    let content = lines.join("\n");
    let fence = fence(&content);
    writeln!(out)?;
    writeln!(out, "<details><summary>Evidence</summary>")?;
    writeln!(out)?;
    writeln!(out, "{fence}text")?;
    writeln!(out, "{content}")?;
    writeln!(out, "{fence}")?;
    writeln!(out, "</details>")
}

fn is_empty(evidence: &serde_json::Value) -> bool {
    match evidence {
        serde_json::Value::Null => true,
        serde_json::Value::Object(map) => map.is_empty(),
        serde_json::Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

fn cut(line: &str, max: usize) -> String {
    if line.chars().count() <= max {
        return line.to_string();
    }
    let kept: String = line.chars().take(max - 1).collect();
    format!("{kept}…")
}

fn waivers(out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
    if r.waivers.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "## Waivers")?;
    writeln!(
        out,
        "| check | subject | reason | approved by | ticket | expires | state |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|")?;
    for w in &r.waivers {
        let state = match w.state {
            WaiverState::Active => "active",
            WaiverState::Expiring => "**expiring** (within 14 days)",
            WaiverState::Expired => "**expired**, not applied",
            WaiverState::Unused => "unused",
        };
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {state} |",
            text(&w.check),
            text(w.subject.as_deref().unwrap_or("all")),
            text(&w.reason),
            text(w.approved_by.as_deref().unwrap_or("—")),
            text(w.ticket.as_deref().unwrap_or("—")),
            w.expires
        )?;
    }
    Ok(())
}

/// Shown only for a run compared with a baseline: the checks that passed then and do not now,
/// and the findings it did not have, in one line.
fn regressions(out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
    if r.baseline.is_none() {
        return Ok(());
    }
    let mut parts: Vec<String> = r
        .regressions
        .iter()
        .map(|g| {
            format!(
                "{} {} → {}",
                code(&g.check),
                g.before.as_str(),
                g.now.as_str()
            )
        })
        .collect();
    if parts.is_empty() {
        parts.push("no regression".to_string());
    }
    if !r.new_findings.is_empty() {
        let fingerprints: Vec<String> = r.new_findings.iter().map(|f| code(f)).collect();
        parts.push(format!("new findings {}", fingerprints.join(", ")));
    }
    writeln!(out)?;
    writeln!(out, "**Since the baseline:** {}", parts.join(" · "))
}

/// When, with what and on what the run ran, in one line.
fn run(out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
    let mut parts = vec![format!(
        "ready {}, started {}, took {:.1} s",
        text(&r.ready_version),
        r.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        r.duration_ms as f64 / 1000.0
    )];
    if let Some(hash) = &r.config_hash {
        parts.push(format!(
            "configuration sha256 {}",
            code(&hash[..hash.len().min(16)])
        ));
    }
    if !r.targets.is_empty() {
        let targets: Vec<String> = r
            .targets
            .iter()
            .map(|t| format!("{} ({})", text(&t.name), text(&t.kind)))
            .collect();
        parts.push(format!("targets: {}", targets.join(", ")));
    }
    let skipped: Vec<String> = r
        .checks
        .iter()
        .filter(|c| c.selected && c.status == Status::Skip)
        .map(|c| code(&c.id))
        .collect();
    if !skipped.is_empty() {
        parts.push(format!("skipped: {}", skipped.join(", ")));
    }
    writeln!(out)?;
    writeln!(out, "{}", parts.join(" · "))
}
