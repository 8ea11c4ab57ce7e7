//! JUnit XML: a `ready` suite whose `ready.decision` case fails on NO-GO, then one test suite
//! per category, one test case per check; only the attributes junit-10.xsd (Jenkins, Surefire)
//! allows.

use std::io;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::table::verdict_line;
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
        report.set_time(Duration::from_millis(r.duration_ms));
        report.add_test_suite(decision_suite(r));
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
        let xml = report.to_string().map_err(io::Error::other)?;
        out.write_all(&schema_attributes_only(&xml).map_err(io::Error::other)?)?;
        writeln!(out)
    }
}

/// The verdict as a test case, so every JUnit viewer shows a NO-GO red.
fn decision_suite(r: &RunResult) -> TestSuite {
    let status = if r.decision.go {
        TestCaseStatus::success()
    } else {
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
        s.set_message(verdict_line(r))
            .set_type("no-go")
            .set_description(r.decision.reasons.join("\n"));
        s
    };
    let mut case = TestCase::new("ready.decision", status);
    case.set_classname("ready");
    let mut suite = TestSuite::new("ready");
    suite.add_test_case(case);
    suite
}

/// The attributes junit-10.xsd allows on each element; quick-junit writes more (`skipped` and
/// `timestamp` on `<testsuites>`, …), which strict consumers reject.
fn allowed(element: &[u8], attribute: &[u8]) -> bool {
    let allowed: &[&str] = match element {
        b"testsuites" => &["name", "time", "tests", "failures", "errors"],
        b"testsuite" => &[
            "name",
            "tests",
            "failures",
            "errors",
            "group",
            "time",
            "skipped",
            "timestamp",
            "hostname",
            "id",
            "package",
            "file",
            "log",
            "url",
        ],
        b"testcase" => &["name", "time", "classname", "group"],
        b"failure" | b"error" | b"skipped" => &["type", "message"],
        b"property" => &["name", "value"],
        _ => return true,
    };
    allowed.iter().any(|a| a.as_bytes() == attribute)
}

fn schema_attributes_only(xml: &str) -> Result<Vec<u8>, quick_xml::Error> {
    use quick_xml::events::{BytesStart, Event};
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut writer = quick_xml::Writer::new(Vec::new());
    loop {
        let event = reader.read_event()?;
        let keep = |start: &BytesStart| -> Result<BytesStart<'static>, quick_xml::Error> {
            let name = start.name().as_ref().to_vec();
            let mut kept = BytesStart::new(String::from_utf8_lossy(&name).into_owned());
            for attribute in start.attributes() {
                let attribute = attribute.map_err(quick_xml::Error::from)?;
                if allowed(&name, attribute.key.as_ref()) {
                    kept.push_attribute(attribute);
                }
            }
            Ok(kept)
        };
        match event {
            Event::Eof => break,
            Event::Start(start) => writer.write_event(Event::Start(keep(&start)?))?,
            Event::Empty(start) => writer.write_event(Event::Empty(keep(&start)?))?,
            other => writer.write_event(other)?,
        }
    }
    Ok(writer.into_inner())
}
