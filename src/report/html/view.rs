//! What the HTML page shows, taken from a result: plain data for the template, every string
//! still raw (the template escapes it).

use serde::Serialize;

use super::chart::{self, Bar, BarChart, Mark};
use super::history::HistoryView;
use crate::report::{baseline_delta, score_text};
use crate::result::{CheckResult, FindingResult, RunResult, WaiverState};
use crate::vocab::Level;
use crate::vocab::Status;

/// Findings shown per check; the JSON result has them all.
const FIRST_FINDINGS: usize = 20;
/// Characters of evidence shown per finding.
const EVIDENCE_CHARS: usize = 1500;

#[derive(Debug, Serialize)]
pub struct Page {
    pub project: String,
    pub stage: String,
    pub go: bool,
    pub reached: Option<String>,
    pub reasons: Vec<String>,
    pub started: String,
    pub duration: String,
    pub version: String,
    pub config_hash: Option<String>,
    pub score: String,
    pub score_without_waivers: String,
    pub coverage: String,
    pub partial: bool,
    pub shard: Option<String>,
    pub baseline_delta: Option<String>,
    pub counts: Vec<(&'static str, usize)>,
    pub score_chart: BarChart,
    pub category_chart: BarChart,
    /// Blocker checks that keep the target stage from being met.
    pub blockers: Vec<CheckView>,
    /// Other required checks that keep it from being met.
    pub required: Vec<CheckView>,
    pub checks: Vec<CheckView>,
    pub categories: Vec<String>,
    pub waivers: Vec<WaiverView>,
    pub regressions: Vec<(String, &'static str, &'static str)>,
    pub new_findings: Vec<String>,
    pub history: Option<HistoryView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckView {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub docs: String,
    pub target: String,
    pub category: String,
    pub severity: &'static str,
    /// Sort keys: the worst first.
    pub severity_rank: u8,
    pub status: &'static str,
    pub status_rank: u8,
    pub weight: f64,
    pub blocker: bool,
    pub tags: String,
    pub message: String,
    pub duration_ms: u64,
    pub findings: Vec<FindingView>,
    pub more_findings: usize,
    pub measurements: Vec<(String, String)>,
    pub remediation: Option<String>,
    pub selected: bool,
    /// From the history: since when this failing check fails.
    pub failing_since: Option<String>,
    /// Shown in full among the checks that keep the stage from GO; its row links there.
    pub has_card: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    /// Empty when the message names its subject already.
    pub subject: String,
    pub message: String,
    pub warning: bool,
    pub waived: bool,
    pub new: bool,
    pub evidence: Option<String>,
    /// `file:line` of the migration that made the object, when known.
    pub location: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct WaiverView {
    pub check: String,
    pub subject: String,
    pub reason: String,
    pub approved_by: String,
    pub ticket: String,
    pub expires: String,
    pub state: &'static str,
}

pub fn status_rank(status: Status) -> u8 {
    match status {
        Status::Fail => 0,
        Status::Error => 1,
        Status::Warn => 2,
        Status::Waived => 3,
        Status::Skip => 4,
        Status::Pass => 5,
    }
}

pub fn is_failing(status: Status) -> bool {
    matches!(status, Status::Fail | Status::Error)
}

/// Pretty JSON evidence, cut at a character boundary when long.
pub fn evidence_text(evidence: &serde_json::Value) -> Option<String> {
    if evidence.is_null() {
        return None;
    }
    let text = serde_json::to_string_pretty(evidence).unwrap_or_else(|_| evidence.to_string());
    if text.chars().count() <= EVIDENCE_CHARS {
        return Some(text);
    }
    let cut: String = text.chars().take(EVIDENCE_CHARS).collect();
    Some(format!("{cut}\n… (cut; the JSON result has all of it)"))
}

fn finding_view(f: &FindingResult, new_findings: &[String]) -> FindingView {
    // Most messages name their subject already; say it only when they do not.
    let subject = if f.message.contains(&f.subject) {
        String::new()
    } else {
        f.subject.clone()
    };
    FindingView {
        subject,
        message: f.message.clone(),
        warning: f.level == Level::Warn,
        waived: f.waived,
        new: new_findings.contains(&f.fingerprint),
        evidence: evidence_text(&f.evidence),
        location: f.location.as_ref().map(ToString::to_string),
    }
}

pub fn check_view(c: &CheckResult, new_findings: &[String]) -> CheckView {
    CheckView {
        id: c.id.clone(),
        title: c.title.clone(),
        kind: c.kind.clone(),
        docs: crate::report::docs_page(&c.kind),
        target: c.target.clone().unwrap_or_default(),
        category: c.category.clone(),
        severity: c.severity.as_str(),
        severity_rank: 3 - c.severity as u8,
        status: c.status.as_str(),
        status_rank: status_rank(c.status),
        weight: c.weight,
        blocker: c.blocker,
        tags: c.tags.join(", "),
        message: c.message.clone(),
        duration_ms: c.duration_ms,
        findings: c
            .findings
            .iter()
            .take(FIRST_FINDINGS)
            .map(|f| finding_view(f, new_findings))
            .collect(),
        more_findings: c.findings.len().saturating_sub(FIRST_FINDINGS),
        measurements: c
            .measurements
            .iter()
            .map(|(k, v)| (k.clone(), format!("{v}")))
            .collect(),
        remediation: c.remediation.clone(),
        selected: c.selected,
        failing_since: None,
        has_card: false,
    }
}

/// The score (with and without waivers) against every stage's bar.
fn score_chart(r: &RunResult) -> BarChart {
    let bar = r
        .stages
        .iter()
        .find(|s| s.name == r.stage)
        .map_or(100.0, |s| s.min_score);
    let bars = [
        ("Score", r.score),
        ("Without waivers", r.score_without_waivers),
    ]
    .into_iter()
    .map(|(label, score)| Bar {
        label: label.into(),
        note: score_text(score),
        width: chart::bar_width(score),
        class: chart::score_class(score, bar),
    })
    .collect();
    let marks = r
        .stages
        .iter()
        .map(|s| Mark {
            label: format!("{} {}", s.name, s.min_score),
            x: chart::coordinate(
                chart::BAR_LEFT + s.min_score.clamp(0.0, 100.0) * chart::BAR_SCALE,
            ),
            class: if s.met { "met" } else { "unmet" },
            anchor: "middle",
        })
        .collect();
    chart::bar_chart(bars, marks)
}

fn category_chart(r: &RunResult) -> BarChart {
    let bars = r
        .categories
        .iter()
        .map(|c| Bar {
            label: c.title.clone(),
            note: format!("{} · weight {}", score_text(c.score), c.weight),
            width: chart::bar_width(c.score),
            class: chart::score_class(c.score, 100.0),
        })
        .collect();
    chart::bar_chart(bars, Vec::new())
}

fn waiver_state(state: WaiverState) -> &'static str {
    match state {
        WaiverState::Active => "active",
        WaiverState::Expiring => "expiring",
        WaiverState::Expired => "expired",
        WaiverState::Unused => "unused",
    }
}

fn waivers(r: &RunResult) -> Vec<WaiverView> {
    r.waivers
        .iter()
        .map(|w| WaiverView {
            check: w.check.clone(),
            subject: w.subject.clone().unwrap_or_else(|| "every finding".into()),
            reason: w.reason.clone(),
            approved_by: w.approved_by.clone().unwrap_or_default(),
            ticket: w.ticket.clone().unwrap_or_default(),
            expires: w.expires.to_string(),
            state: waiver_state(w.state),
        })
        .collect()
}

/// The page for a result; `history` (earlier results, oldest first) adds the trends.
pub fn page(r: &RunResult, history: Option<HistoryView>) -> Page {
    let mut checks: Vec<CheckView> = r
        .checks
        .iter()
        .map(|c| check_view(c, &r.new_findings))
        .collect();
    for c in &mut checks {
        c.failing_since = history
            .as_ref()
            .and_then(|h| h.failing_since.get(&c.id).cloned());
        c.has_card = r.decision.blockers.contains(&c.id);
    }
    let stopping: Vec<&CheckView> = r
        .decision
        .blockers
        .iter()
        .filter_map(|id| checks.iter().find(|c| &c.id == id))
        .collect();
    let blockers = stopping.iter().filter(|c| c.blocker).map(|c| (*c).clone());
    let required = stopping.iter().filter(|c| !c.blocker).map(|c| (*c).clone());
    let c = &r.counts;
    Page {
        project: r.project.clone(),
        stage: r.stage.clone(),
        go: r.decision.go,
        reached: r.decision.reached.clone(),
        reasons: r.decision.reasons.clone(),
        started: r.started_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        duration: format!("{:.1} s", r.duration_ms as f64 / 1000.0),
        version: r.ready_version.clone(),
        config_hash: r.config_hash.clone(),
        score: score_text(r.score),
        score_without_waivers: score_text(r.score_without_waivers),
        coverage: format!("{:.1}%", r.coverage),
        partial: r.partial,
        shard: r.shard.clone(),
        baseline_delta: baseline_delta(r),
        counts: vec![
            ("fail", c.fail),
            ("error", c.error),
            ("warn", c.warn),
            ("waived", c.waived),
            ("skip", c.skip),
            ("pass", c.pass),
        ],
        score_chart: score_chart(r),
        category_chart: category_chart(r),
        blockers: blockers.collect(),
        required: required.collect(),
        categories: r.categories.iter().map(|c| c.id.clone()).collect(),
        checks,
        waivers: waivers(r),
        regressions: r
            .regressions
            .iter()
            .map(|g| (g.check.clone(), g.before.as_str(), g.now.as_str()))
            .collect(),
        new_findings: r.new_findings.clone(),
        history,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_evidence_is_cut_and_says_so() {
        assert_eq!(evidence_text(&serde_json::Value::Null), None);
        assert_eq!(
            evidence_text(&serde_json::json!({"a": 1})).as_deref(),
            Some("{\n  \"a\": 1\n}")
        );
        let long = serde_json::json!("é".repeat(3000));
        let text = evidence_text(&long).unwrap();
        assert!(text.ends_with("(cut; the JSON result has all of it)"));
        assert_eq!(
            text.chars().filter(|c| *c == 'é').count(),
            EVIDENCE_CHARS - 1
        );
    }

    #[test]
    fn failing_checks_sort_first_and_critical_before_low() {
        assert!(status_rank(Status::Fail) < status_rank(Status::Warn));
        assert!(status_rank(Status::Skip) < status_rank(Status::Pass));
        let mut sample: RunResult = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/results/sample.json"
        )))
        .unwrap();
        sample.decision.blockers = vec!["rls.enabled".into()];
        let page = page(&sample, None);
        let rls = &page.checks[0];
        assert_eq!((rls.severity, rls.severity_rank), ("critical", 0));
        assert_eq!(rls.docs, "docs/kinds/sql.md");
        assert_eq!(page.blockers.len(), 1);
        assert!(page.required.is_empty());
    }
}
