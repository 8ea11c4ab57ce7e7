//! JUnit XML: one test suite per category, one test case per check.

use std::io;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{Reporter, baseline_delta, score_text};
use crate::result::{CheckResult, RunResult};
use crate::vocab::{Level, Status};

pub struct JunitReport;

fn details(check: &CheckResult) -> String {
    let mut text = String::new();
    for f in &check.findings {
        let level = match f.level {
            Level::Fail => "fail",
            Level::Warn => "warn",
        };
        let waived = if f.waived { " (waived)" } else { "" };
        text.push_str(&format!("[{level}] {}: {}{waived}\n", f.subject, f.message));
    }
    if let Some(fix) = &check.remediation {
        text.push_str(&format!("remediation: {}\n", fix.trim()));
    }
    text
}

impl Reporter for JunitReport {
    fn render(&self, r: &RunResult, out: &mut dyn io::Write) -> io::Result<()> {
        // The run's verdict and score (and its change) in the name every JUnit viewer shows.
        let verdict = if r.decision.go { "GO" } else { "NO-GO" };
        let delta = baseline_delta(r)
            .map(|d| format!(", {d}"))
            .unwrap_or_default();
        let mut report = Report::new(format!(
            "ready: {} — {verdict} for {}, score {}{delta}",
            r.project,
            r.stage,
            score_text(r.score)
        ));
        report.set_timestamp(r.started_at.fixed_offset());
        report.set_time(Duration::from_millis(r.duration_ms));
        for category in &r.categories {
            let members: Vec<&CheckResult> = r
                .checks
                .iter()
                .filter(|c| c.category == category.id)
                .collect();
            if members.is_empty() {
                continue;
            }
            let mut suite = TestSuite::new(category.id.clone());
            for c in members {
                let status = match c.status {
                    Status::Pass | Status::Warn => TestCaseStatus::success(),
                    Status::Fail => {
                        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                        s.set_message(c.message.clone())
                            .set_type("fail")
                            .set_description(details(c));
                        s
                    }
                    Status::Error => {
                        let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                        s.set_message(c.message.clone()).set_type("error");
                        s
                    }
                    Status::Skip | Status::Waived => {
                        let mut s = TestCaseStatus::skipped();
                        s.set_message(c.message.clone()).set_type(c.status.as_str());
                        if c.status == Status::Waived {
                            s.set_description(details(c));
                        }
                        s
                    }
                };
                let mut case = TestCase::new(c.id.clone(), status);
                case.set_classname(format!("{}.{}", category.id, c.kind));
                case.set_time(Duration::from_millis(c.duration_ms));
                if c.status == Status::Warn {
                    case.set_system_out(details(c));
                }
                suite.add_test_case(case);
            }
            report.add_test_suite(suite);
        }
        report.serialize(&mut *out).map_err(io::Error::other)?;
        writeln!(out)
    }
}
