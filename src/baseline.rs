//! Comparing a run with a saved baseline result: regressions and new findings.

use std::collections::HashSet;

use crate::result::{BaselineSummary, CheckResult, Regression, RunResult};
use crate::vocab::{Level, Status};

/// A check regressed when it passed (pass or warn) in the baseline and fails or errors now.
pub fn regressions(current: &[CheckResult], baseline: &RunResult) -> Vec<Regression> {
    current
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::Error))
        .filter_map(|c| {
            let before = baseline.checks.iter().find(|b| b.id == c.id)?;
            matches!(before.status, Status::Pass | Status::Warn).then(|| Regression {
                check: c.id.clone(),
                before: before.status,
                now: c.status,
            })
        })
        .collect()
}

/// Fingerprints of this run's unwaived findings that the baseline did not have.
pub fn new_findings(current: &[CheckResult], baseline: &RunResult) -> Vec<String> {
    let known: HashSet<&str> = baseline
        .checks
        .iter()
        .flat_map(|c| c.findings.iter().map(|f| f.fingerprint.as_str()))
        .collect();
    current
        .iter()
        .flat_map(|c| c.findings.iter())
        .filter(|f| !f.waived && matches!(f.level, Level::Fail | Level::Warn))
        .filter(|f| !known.contains(f.fingerprint.as_str()))
        .map(|f| f.fingerprint.clone())
        .collect()
}

pub fn summary(baseline: &RunResult) -> BaselineSummary {
    BaselineSummary {
        started_at: baseline.started_at,
        score: baseline.score,
        score_without_waivers: baseline.score_without_waivers,
        go: baseline.decision.go,
    }
}
