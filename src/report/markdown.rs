//! The go/no-go report for release managers: reads well rendered on GitHub and as plain text.

use std::io;

use super::{Reporter, baseline_delta, score_text};
use crate::result::{CheckResult, RunResult, WaiverState};
use crate::vocab::{Level, Status};

pub struct MarkdownReport;

/// Table cells hold one line without pipes.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Findings shown per check; the JSON result has them all.
const FIRST_FINDINGS: usize = 5;

fn findings(out: &mut dyn io::Write, check: &CheckResult, new: &[String]) -> io::Result<()> {
    let open: Vec<_> = check.findings.iter().filter(|f| !f.waived).collect();
    for f in open.iter().take(FIRST_FINDINGS) {
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
        let mut message = f.message.replace('\n', " ");
        if let Some(at) = &f.location {
            message.push_str(&format!(" (at `{}`)", at.to_string().replace('`', "'")));
        }
        // Most messages name their subject already; say it only when they do not.
        if message.contains(&f.subject) {
            writeln!(out, "- {message}{level}{mark}")?;
        } else {
            writeln!(
                out,
                "- `{}`: {message}{level}{mark}",
                f.subject.replace('`', "'")
            )?;
        }
    }
    if open.len() > FIRST_FINDINGS {
        writeln!(
            out,
            "- … and {} more in the JSON result",
            open.len() - FIRST_FINDINGS
        )?;
    }
    if open.is_empty() && check.status != Status::Pass {
        writeln!(out, "- {}", check.message.replace('\n', " "))?;
    }
    Ok(())
}

impl Reporter for MarkdownReport {
    fn render(&self, r: &RunResult, out: &mut dyn io::Write) -> io::Result<()> {
        decision(out, r)?;
        stages(out, r)?;
        blockers(out, r)?;
        categories(out, r)?;
        failing(out, r)?;
        warnings(out, r)?;
        waivers(out, r)?;
        regressions(out, r)?;
        run(out, r)
    }
}

/// The title, the verdict, the score and the reasons for a NO-GO.
fn decision(out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
    let verdict = if r.decision.go { "GO" } else { "NO-GO" };
    writeln!(out, "# {}: {verdict} for {}", r.project, r.stage)?;
    writeln!(out)?;
    writeln!(
        out,
        "**Decision: {verdict}** for stage **{}** · reached: **{}**",
        r.stage,
        r.decision.reached.as_deref().unwrap_or("none")
    )?;
    writeln!(out)?;
    let delta = baseline_delta(r)
        .map(|d| format!(" · {d}"))
        .unwrap_or_default();
    writeln!(
        out,
        "**Score {}** · without waivers {} · coverage {:.1}%{delta}",
        score_text(r.score),
        score_text(r.score_without_waivers),
        r.coverage
    )?;
    if r.partial {
        writeln!(out)?;
        writeln!(
            out,
            "> Partial run: some checks were not selected{}.",
            r.shard
                .as_deref()
                .map(|s| format!(" (shard {s})"))
                .unwrap_or_default()
        )?;
    }
    if !r.decision.reasons.is_empty() {
        writeln!(out)?;
        for reason in &r.decision.reasons {
            writeln!(out, "- {reason}")?;
        }
    }
    Ok(())
}

fn stages(out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "## Stages")?;
    writeln!(out)?;
    writeln!(out, "| stage | bar | score | requires | met |")?;
    writeln!(out, "|---|---:|---:|---|---|")?;
    for s in &r.stages {
        let met = if s.met {
            "yes".to_string()
        } else {
            format!("no: {}", cell(&s.unmet.join("; ")))
        };
        writeln!(
            out,
            "| {} | {} | {} | {} | {met} |",
            s.name,
            s.min_score,
            score_text(r.score),
            cell(&s.require.join(", "))
        )?;
    }
    Ok(())
}

fn blockers(out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
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
    writeln!(out, "## Blockers")?;
    for c in blockers {
        writeln!(out)?;
        writeln!(
            out,
            "### {} — {} ({}, {})",
            c.id,
            c.title,
            c.status.as_str(),
            c.severity.as_str()
        )?;
        writeln!(out)?;
        findings(out, c, &r.new_findings)?;
        if let Some(fix) = &c.remediation {
            writeln!(out)?;
            writeln!(out, "**Remediation:** {}", fix.trim().replace('\n', " "))?;
        }
    }
    Ok(())
}

fn categories(out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "## Categories")?;
    writeln!(out)?;
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
            c.id,
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

fn failing(out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
    let failing: Vec<&CheckResult> = r
        .checks
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::Error))
        .collect();
    if failing.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "## Failing and erroring checks")?;
    for c in failing {
        writeln!(out)?;
        writeln!(
            out,
            "**{}** `{}` ({}) — {}",
            c.status.as_str().to_uppercase(),
            c.id,
            c.severity.as_str(),
            c.title
        )?;
        writeln!(out)?;
        findings(out, c, &r.new_findings)?;
    }
    Ok(())
}

fn warnings(out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
    let warnings: Vec<&CheckResult> = r
        .checks
        .iter()
        .filter(|c| c.status == Status::Warn)
        .collect();
    if warnings.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "## Warnings")?;
    writeln!(out)?;
    for c in warnings {
        writeln!(out, "- `{}`: {}", c.id, c.message.replace('\n', " "))?;
    }
    Ok(())
}

fn waivers(out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
    if r.waivers.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "## Waivers")?;
    writeln!(out)?;
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
            cell(&w.check),
            cell(w.subject.as_deref().unwrap_or("all")),
            cell(&w.reason),
            cell(w.approved_by.as_deref().unwrap_or("—")),
            cell(w.ticket.as_deref().unwrap_or("—")),
            w.expires
        )?;
    }
    Ok(())
}

/// Shown only for a run compared with a baseline.
fn regressions(out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
    if r.baseline.is_none() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "## Regressions against the baseline")?;
    writeln!(out)?;
    if r.regressions.is_empty() {
        writeln!(out, "None.")?;
    } else {
        writeln!(out, "| check | baseline | now |")?;
        writeln!(out, "|---|---|---|")?;
        for g in &r.regressions {
            writeln!(
                out,
                "| {} | {} | {} |",
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
            "New findings: {}.",
            r.new_findings
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    Ok(())
}

/// When, with what and on what the run ran.
fn run(out: &mut dyn io::Write, r: &RunResult) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "## Run")?;
    writeln!(out)?;
    writeln!(
        out,
        "- ready {}, started {}, took {:.1} s",
        r.ready_version,
        r.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        r.duration_ms as f64 / 1000.0
    )?;
    if let Some(hash) = &r.config_hash {
        writeln!(
            out,
            "- configuration sha256 `{}`",
            &hash[..hash.len().min(16)]
        )?;
    }
    if !r.targets.is_empty() {
        let targets: Vec<String> = r
            .targets
            .iter()
            .map(|t| format!("{} ({})", t.name, t.kind))
            .collect();
        writeln!(out, "- targets: {}", targets.join(", "))?;
    }
    let n = &r.counts;
    writeln!(
        out,
        "- {} checks: {} pass, {} warn, {} fail, {} error, {} skip, {} waived",
        r.checks.len(),
        n.pass,
        n.warn,
        n.fail,
        n.error,
        n.skip,
        n.waived
    )
}
