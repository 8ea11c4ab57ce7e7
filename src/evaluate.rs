//! Turns what the runner saw into the result: status, waivers, redaction, baseline, score.
//!
//! Plain functions of the suite, the runner's outcomes and the goal; nothing here does I/O.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

use crate::checks::outcome::{Cut, Finding, Observation};
use crate::locations::Locations;
use crate::model::{Check, Suite, Waiver};
use crate::redact::Redactor;
use crate::result::{self, CheckResult, FindingResult, RunResult, WaiverResult};
use crate::runner::{Executed, Ran, RunOptions};
use crate::scoring::{self, Goal};
use crate::vocab::{Level, Status};
use crate::waivers;

/// The decision inputs of a run besides the checks.
pub struct Assembly<'a> {
    pub suite: &'a Suite,
    pub options: &'a RunOptions,
    pub goal: Goal<'a>,
    pub started_at: DateTime<Utc>,
    pub duration: Duration,
    pub redactor: &'a Redactor,
    pub baseline: Option<&'a RunResult>,
    /// Where the database objects findings name were created (`locations`).
    pub locations: &'a Locations,
}

/// The run's one redactor: the configuration's secrets and every value a check read.
pub fn redactor(suite: &Suite, executed: &[Executed]) -> Redactor {
    Redactor::new(
        suite
            .secrets
            .iter()
            .chain(executed.iter().flat_map(|e| &e.secrets))
            .cloned(),
    )
}

/// Applies waivers, scores, decides, and builds the JSON result. Every text passes the redactor.
pub fn assemble(executed: Vec<Executed>, a: &Assembly) -> RunResult {
    let suite = a.suite;
    let today = a.started_at.date_naive();
    let mut waivers = Waivers::new(suite, a.options, today);
    let checks: Vec<CheckResult> = suite
        .checks
        .iter()
        .zip(executed)
        .map(|(check, executed)| check_result(check, executed, &mut waivers, a))
        .collect();
    let waivers = waivers.results();
    // Fingerprints are compared after redaction: the baseline holds them redacted.
    let (regressions, new_findings) = match a.baseline {
        Some(b) => (
            crate::baseline::regressions(&checks, b),
            crate::baseline::new_findings(&checks, b),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let mut evaluation = scoring::evaluate(
        &checks,
        &suite.categories,
        &suite.stages,
        &regressions,
        &a.goal,
    );
    let shard = a.options.shard.map(|s| s.to_string());
    scoring::hold_for_merge(&mut evaluation.decision, shard.as_deref());
    RunResult {
        schema: result::SCHEMA_ID.into(),
        ready_version: env!("CARGO_PKG_VERSION").into(),
        project: a.redactor.redact(&suite.project),
        started_at: a.started_at,
        duration_ms: a.duration.as_millis() as u64,
        stage: a.goal.stage.to_string(),
        decision: evaluation.decision,
        score: evaluation.score,
        score_without_waivers: evaluation.score_without_waivers,
        coverage: evaluation.coverage,
        partial: a.options.is_partial(),
        counts: evaluation.counts,
        categories: evaluation.categories,
        stages: evaluation.stages,
        checks,
        waivers,
        regressions,
        new_findings,
        baseline: a.baseline.map(crate::baseline::summary),
        config_hash: Some(suite.config_hash.clone()),
        targets: suite
            .targets
            .values()
            .map(|t| crate::result::TargetSummary {
                name: t.name.clone(),
                kind: t.family.as_str().into(),
                not_configured: match &t.state {
                    crate::model::TargetState::NotConfigured(reason) => Some(reason.clone()),
                    _ => None,
                },
            })
            .collect(),
        shard,
    }
}

/// The waivers in force for this run, and which of them a finding used.
struct Waivers<'a> {
    all: &'a [Waiver],
    /// Empty under `--no-waivers`.
    active: &'a [Waiver],
    in_force: bool,
    used: Vec<bool>,
    today: NaiveDate,
}

impl<'a> Waivers<'a> {
    fn new(suite: &'a Suite, options: &RunOptions, today: NaiveDate) -> Waivers<'a> {
        let active: &[Waiver] = if options.no_waivers {
            &[]
        } else {
            &suite.waivers
        };
        Waivers {
            all: &suite.waivers,
            active,
            in_force: !options.no_waivers,
            used: vec![false; active.len()],
            today,
        }
    }

    /// Waives the failing findings a waiver covers; `Waived` when it covers them all.
    fn apply(&mut self, check_id: &str, status: Status, findings: &mut [FindingResult]) -> Status {
        if status != Status::Fail {
            return status;
        }
        waivers::apply(self.active, check_id, findings, self.today, &mut self.used);
        let all_waived = findings
            .iter()
            .filter(|f| f.level == Level::Fail)
            .all(|f| f.waived);
        if all_waived { Status::Waived } else { status }
    }

    fn results(self) -> Vec<WaiverResult> {
        self.all
            .iter()
            .enumerate()
            .map(|(i, w)| WaiverResult {
                check: w.check.to_string(),
                subject: w.subject.as_ref().map(ToString::to_string),
                reason: w.reason.clone(),
                expires: w.expires,
                approved_by: w.approved_by.clone(),
                ticket: w.ticket.clone(),
                state: waivers::state(w, self.in_force && self.used[i], self.today),
            })
            .collect()
    }
}

/// What one check's outcome means, before waivers.
struct Judged {
    status: Status,
    message: String,
    findings: Vec<FindingResult>,
    measurements: BTreeMap<String, f64>,
    selected: bool,
}

fn judge(check: &Check, ran: Ran, a: &Assembly) -> Judged {
    let judged = |status, message| Judged {
        status,
        message,
        findings: Vec::new(),
        measurements: BTreeMap::new(),
        selected: true,
    };
    match ran {
        Ran::Skipped { reason, selected } => Judged {
            selected,
            ..judged(Status::Skip, reason)
        },
        Ran::Errored(error) => judged(Status::Error, error.shown(a.redactor)),
        Ran::Observed(observation) => judge_observation(check, observation, a),
    }
}

/// Any failing finding fails the check; warnings alone make it `warn`; none is a pass.
fn judge_observation(check: &Check, observation: Observation, a: &Assembly) -> Judged {
    let findings: Vec<FindingResult> = observation
        .findings
        .into_iter()
        .map(|f| finding_result(check, f, a))
        .collect();
    let status = if findings.iter().any(|f| f.level == Level::Fail) {
        Status::Fail
    } else if findings.is_empty() {
        Status::Pass
    } else {
        Status::Warn
    };
    Judged {
        status,
        message: summarize(&findings, observation.summary),
        findings,
        measurements: observation.measurements,
        selected: true,
    }
}

fn check_result(
    check: &Check,
    executed: Executed,
    waivers: &mut Waivers,
    a: &Assembly,
) -> CheckResult {
    let mut judged = judge(check, executed.ran, a);
    let status = waivers.apply(&check.id, judged.status, &mut judged.findings);
    let mut result = CheckResult {
        id: check.id.clone(),
        title: check.title.clone(),
        kind: check.kind_name().to_string(),
        target: check.target.clone(),
        category: check.category.clone(),
        severity: check.severity,
        weight: check.weight,
        blocker: check.blocker,
        tags: check.tags.clone(),
        status,
        message: judged.message,
        duration_ms: executed.duration.as_millis() as u64,
        findings: judged.findings,
        measurements: judged.measurements,
        remediation: check.remediation.clone(),
        selected: judged.selected,
        defined_at: Some(check.defined_at.clone()),
    };
    // After the waivers, which match subjects as the check wrote them.
    result.redact(a.redactor);
    result
}

/// A finding as the result holds it, its long texts masked and then cut (`Cut`).
fn finding_result(check: &Check, mut f: Finding, a: &Assembly) -> FindingResult {
    let redactor = a.redactor;
    for cut in &f.cuts {
        match *cut {
            Cut::Message(max) => f.message = redactor.redact_and_cut(&f.message, max),
            Cut::MessageQuote(quote) => f.message = quote.show(&f.message, redactor),
            Cut::Evidence(key, max) => {
                if let Some(serde_json::Value::String(text)) = f.evidence.get_mut(key) {
                    *text = redactor.redact_and_cut(text, max);
                }
            }
            Cut::EvidenceEnds {
                key,
                head,
                tail,
                unread,
            } => {
                if let Some(serde_json::Value::String(text)) = f.evidence.get_mut(key) {
                    *text = redactor.redact_and_cut_ends(text, head, tail, unread);
                }
            }
        }
    }
    FindingResult {
        location: a.locations.of_finding(check.kind_name(), &f.subject),
        fingerprint: result::fingerprint(&check.id, &f.subject, f.rule),
        subject: f.subject,
        message: f.message,
        level: f.level,
        waived: false,
        evidence: f.evidence,
    }
}

/// The one line a check shows: its own summary when it passed, else its first finding.
fn summarize(findings: &[FindingResult], summary: Option<String>) -> String {
    let failing: Vec<&FindingResult> = findings.iter().filter(|f| f.level == Level::Fail).collect();
    let shown = if failing.is_empty() {
        findings.iter().collect::<Vec<_>>()
    } else {
        failing
    };
    match shown.as_slice() {
        [] => summary.unwrap_or_else(|| "ok".into()),
        [one] => one.message.clone(),
        [first, rest @ ..] => format!("{} (+{} more)", first.message, rest.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::outcome::Finding;
    use crate::config::{self, Loaded, Source};
    use crate::report::{self, Format};

    static NO_LOCATIONS: Locations = Locations::EMPTY;
    const SECRET: &str = "read-by-the-check-7f3a";

    fn loaded(dir: &std::path::Path) -> Loaded {
        let path = dir.join("ready.yaml");
        std::fs::write(
            &path,
            "version: 1\nproject: leaks\nchecks:\n  - id: leak\n    category: security\n    \
             severity: critical\n    blocker: true\n    file: { path: x.txt }\n",
        )
        .unwrap();
        config::load(&Source::File(path), &Default::default(), dir).unwrap()
    }

    /// The check saw its secret and wrote it everywhere a finding has text.
    fn executed() -> Vec<Executed> {
        let finding = Finding::fail(format!("token {SECRET}"), format!("found {SECRET}"))
            .with_evidence(serde_json::json!({ "value": SECRET }));
        vec![Executed {
            ran: Ran::Observed(Observation {
                findings: vec![finding],
                ..Observation::default()
            }),
            duration: Duration::ZERO,
            secrets: vec![SECRET.to_string()],
        }]
    }

    fn assembly<'a>(
        loaded: &'a Loaded,
        options: &'a RunOptions,
        redactor: &'a Redactor,
    ) -> Assembly<'a> {
        Assembly {
            suite: &loaded.suite,
            options,
            goal: Goal {
                stage: "production",
                min_score: None,
                fail_on_regression: false,
            },
            started_at: Utc::now(),
            duration: Duration::ZERO,
            redactor,
            baseline: None,
            locations: &NO_LOCATIONS,
        }
    }

    fn every_format(result: &RunResult, redactor: &Redactor) -> Vec<(Format, String)> {
        <Format as clap::ValueEnum>::value_variants()
            .iter()
            .map(|format| {
                let bytes = report::render(*format, report::Look::PLAIN, result, redactor).unwrap();
                (*format, String::from_utf8(bytes).unwrap())
            })
            .collect()
    }

    #[test]
    fn a_value_from_a_checks_secrets_is_masked_in_every_report_format() {
        let dir = tempfile::tempdir().unwrap();
        let loaded = loaded(dir.path());
        let options = RunOptions::default();
        let executed = executed();
        let redactor = redactor(&loaded.suite, &executed);
        let result = assemble(executed, &assembly(&loaded, &options, &redactor));
        assert_eq!(result.checks[0].status, Status::Fail);
        for (format, text) in every_format(&result, &redactor) {
            assert!(
                !text.contains(SECRET),
                "{format:?} shows the secret:\n{text}"
            );
            assert!(text.contains("***"), "{format:?} shows no finding:\n{text}");
        }
    }

    #[test]
    fn each_report_format_masks_the_secrets_it_is_handed() {
        let dir = tempfile::tempdir().unwrap();
        let loaded = loaded(dir.path());
        let options = RunOptions::default();
        let unmasked = Redactor::default();
        let result = assemble(executed(), &assembly(&loaded, &options, &unmasked));
        let redactor = Redactor::new([SECRET.to_string()]);
        for (format, text) in every_format(&result, &redactor) {
            assert!(
                !text.contains(SECRET),
                "{format:?} shows the secret:\n{text}"
            );
        }
    }
}
