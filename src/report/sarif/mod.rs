//! SARIF 2.1.0 for code scanning: a result per failing finding and per check that could not
//! verify, each at the check's definition, with a rule per check (title, remediation, docs).
//! GitHub shows them in pull requests and tracks them across runs by their fingerprints;
//! waived findings are there too, suppressed with the waiver's reason.

mod model;

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use super::{Reporter, docs_page};
use crate::result::{CheckResult, FindingResult, RunResult, WaiverResult, WaiverState};
use crate::vocab::{Level as FindingLevel, Severity, Status};
use model::*;

pub struct SarifReport {
    /// The working directory: code scanning resolves `%SRCROOT%` to the repository root, where
    /// CI runs `ready`.
    pub base: Option<PathBuf>,
    /// An absolute address that `docs/kinds/KIND.md` is relative to, when `ready`'s package names
    /// its repository: SARIF wants `helpUri` absolute.
    pub docs_base: Option<String>,
}

impl SarifReport {
    /// For this build: the working directory and the package's repository, if it names one.
    pub fn here() -> SarifReport {
        let repository = env!("CARGO_PKG_REPOSITORY").trim_end_matches('/');
        SarifReport {
            base: std::env::current_dir().ok(),
            docs_base: (!repository.is_empty())
                .then(|| format!("{repository}/blob/v{}", env!("CARGO_PKG_VERSION"))),
        }
    }
}

impl Reporter for SarifReport {
    fn render(&self, r: &RunResult, out: &mut dyn io::Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, &self.log(r))?;
        writeln!(out)
    }
}

fn level(severity: Severity) -> Level {
    match severity {
        Severity::Critical | Severity::High => Level::Error,
        Severity::Medium => Level::Warning,
        Severity::Low => Level::Note,
    }
}

/// Path characters that a URI reference cannot carry as they are.
const NOT_IN_URI_PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A relative path as a URI reference: its segments percent-encoded, joined with `/`.
fn uri_path(path: &Path) -> String {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .map(|s| utf8_percent_encode(&s, NOT_IN_URI_PATH).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

impl SarifReport {
    fn log(&self, r: &RunResult) -> Log {
        let mut rules = Vec::new();
        let mut results = Vec::new();
        for c in r.checks.iter().filter(|c| c.selected) {
            let found = self.check_results(c, &r.waivers, rules.len());
            if !found.is_empty() {
                rules.push(self.rule(c));
                results.extend(found);
            }
        }
        let end = r.started_at + chrono::Duration::milliseconds(r.duration_ms as i64);
        Log {
            schema: SCHEMA_URI,
            version: "2.1.0",
            runs: vec![Run {
                tool: Tool {
                    driver: ToolComponent {
                        name: "ready",
                        version: env!("CARGO_PKG_VERSION"),
                        semantic_version: env!("CARGO_PKG_VERSION"),
                        information_uri: self.docs_base.as_ref().map(|b| format!("{b}/README.md")),
                        rules,
                    },
                },
                invocations: vec![Invocation {
                    // `ready` ran to its end; what it found is in the results and the decision.
                    execution_successful: true,
                    start_time_utc: r.started_at,
                    end_time_utc: end,
                }],
                results,
                properties: run_properties(r),
            }],
        }
    }

    /// One rule per check with a result: its title, remediation, docs and level.
    fn rule(&self, c: &CheckResult) -> ReportingDescriptor {
        let docs = docs_page(&c.kind);
        let about = format!("How the `{}` check works: {docs}", c.kind);
        let help = match &c.remediation {
            Some(fix) => format!("{}\n\n{about}", fix.trim()),
            None => about,
        };
        ReportingDescriptor {
            id: c.id.clone(),
            short_description: Message {
                text: c.title.clone(),
            },
            full_description: Message {
                text: format!(
                    "{}: a {} `{}` check of {}{}",
                    c.title,
                    c.severity.as_str(),
                    c.kind,
                    c.category,
                    if c.blocker { ", a blocker" } else { "" }
                ),
            },
            help: Some(Message { text: help }),
            help_uri: self.docs_base.as_ref().map(|b| format!("{b}/{docs}")),
            default_configuration: ReportingConfiguration {
                level: level(c.severity),
            },
            properties: RuleProperties {
                tags: c.tags.clone(),
                kind: c.kind.clone(),
                category: c.category.clone(),
                severity: c.severity.as_str(),
                blocker: c.blocker,
            },
        }
    }

    /// The check's failing findings (waived ones suppressed); the check itself when it could
    /// not verify, or failed without a finding.
    fn check_results(
        &self,
        c: &CheckResult,
        waivers: &[WaiverResult],
        rule_index: usize,
    ) -> Vec<SarifResult> {
        let at_definition = || self.location(c.definition());
        match c.status {
            Status::Error => vec![SarifResult {
                level: Level::Error,
                ..check_result(
                    c,
                    rule_index,
                    format!("{} was not verified: {}", c.id, c.message),
                    format!("{}#not-verified", c.id),
                    at_definition(),
                )
            }],
            Status::Fail | Status::Waived => {
                let failing: Vec<&FindingResult> = c
                    .findings
                    .iter()
                    .filter(|f| f.level == FindingLevel::Fail)
                    .collect();
                if failing.is_empty() {
                    let message = format!("{} failed: {}", c.id, c.message);
                    return vec![check_result(
                        c,
                        rule_index,
                        message,
                        c.id.clone(),
                        at_definition(),
                    )];
                }
                failing
                    .into_iter()
                    .map(|f| {
                        // A finding at its migration statement points there; others at the check.
                        let place = f.location.as_ref().map(|l| (l.file.as_str(), l.line));
                        let at = self.location(place.or(c.definition()));
                        finding_result(c, f, waivers, rule_index, at)
                    })
                    .collect()
            }
            Status::Pass | Status::Warn | Status::Skip => Vec::new(),
        }
    }

    /// `file:line` relative to the repository root (`%SRCROOT%`) when it lies under the working
    /// directory or is relative already, else an absolute `file:` URI. Takes any place: the
    /// check's definition, or a finding's own source location where it has one.
    fn location(&self, place: Option<(&str, u32)>) -> Vec<Location> {
        let Some((file, line)) = place else {
            return Vec::new();
        };
        let path = Path::new(file);
        let under_base = self.base.as_deref().and_then(|b| path.strip_prefix(b).ok());
        let relative = under_base.or(path.is_relative().then_some(path));
        let artifact_location = match relative {
            Some(rel) => ArtifactLocation {
                uri: uri_path(rel),
                uri_base_id: Some("%SRCROOT%"),
            },
            None => ArtifactLocation {
                uri: url::Url::from_file_path(path).map_or_else(|_| uri_path(path), String::from),
                uri_base_id: None,
            },
        };
        vec![Location {
            physical_location: PhysicalLocation {
                artifact_location,
                region: Region {
                    start_line: line.max(1),
                },
            },
        }]
    }
}

fn check_result(
    c: &CheckResult,
    rule_index: usize,
    message: String,
    fingerprint: String,
    locations: Vec<Location>,
) -> SarifResult {
    SarifResult {
        rule_id: c.id.clone(),
        rule_index,
        level: level(c.severity),
        message: Message { text: message },
        locations,
        partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY.to_string(), fingerprint)]),
        suppressions: Vec::new(),
        properties: ResultProperties {
            status: c.status.as_str(),
            subject: None,
            evidence: serde_json::Value::Null,
        },
    }
}

fn finding_result(
    c: &CheckResult,
    f: &FindingResult,
    waivers: &[WaiverResult],
    rule_index: usize,
    locations: Vec<Location>,
) -> SarifResult {
    // Most messages name their subject already; say it only when they do not.
    let message = if f.message.contains(&f.subject) {
        f.message.clone()
    } else {
        format!("{}: {}", f.subject, f.message)
    };
    let suppressions = if f.waived {
        vec![Suppression {
            kind: SuppressionKind::External,
            status: SuppressionStatus::Accepted,
            justification: waiver_of(waivers, &c.id, &f.subject).map(justification),
        }]
    } else {
        Vec::new()
    };
    SarifResult {
        suppressions,
        properties: ResultProperties {
            status: if f.waived { "waived" } else { "fail" },
            subject: Some(f.subject.clone()),
            evidence: f.evidence.clone(),
        },
        ..check_result(c, rule_index, message, f.fingerprint.clone(), locations)
    }
}

/// The waiver in force that covers a waived finding.
fn waiver_of<'a>(
    waivers: &'a [WaiverResult],
    check: &str,
    subject: &str,
) -> Option<&'a WaiverResult> {
    let matches =
        |pattern: &str, text: &str| glob::Pattern::new(pattern).is_ok_and(|p| p.matches(text));
    waivers
        .iter()
        .filter(|w| matches!(w.state, WaiverState::Active | WaiverState::Expiring))
        .find(|w| {
            matches(&w.check, check) && w.subject.as_deref().is_none_or(|s| matches(s, subject))
        })
}

/// "PostGIS reference table (waived until 2027-03-01, approved by alice, ticket SEC-142)".
fn justification(w: &WaiverResult) -> String {
    let mut text = format!("{} (waived until {}", w.reason.trim(), w.expires);
    if let Some(who) = &w.approved_by {
        text.push_str(&format!(", approved by {who}"));
    }
    if let Some(ticket) = &w.ticket {
        text.push_str(&format!(", ticket {ticket}"));
    }
    text.push(')');
    text
}

fn run_properties(r: &RunResult) -> RunProperties {
    RunProperties {
        project: r.project.clone(),
        stage: r.stage.clone(),
        decision: if r.decision.go { "GO" } else { "NO-GO" },
        go: r.decision.go,
        reached: r.decision.reached.clone(),
        reasons: r.decision.reasons.clone(),
        blockers: r.decision.blockers.clone(),
        score: r.score,
        score_without_waivers: r.score_without_waivers,
        coverage: r.coverage,
        shard: r.shard.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(base: &str, docs_base: Option<&str>) -> SarifReport {
        SarifReport {
            base: Some(PathBuf::from(base)),
            docs_base: docs_base.map(String::from),
        }
    }

    fn sample() -> RunResult {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/results/sample.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn rules_link_the_kind_docs_when_the_package_names_its_repository() {
        let mut r = sample();
        r.checks.retain(|c| c.id == "rls.enabled");
        let log = report("/repo", Some("https://example.org/ready/blob/v1.0.0")).log(&r);
        let rule = &log.runs[0].tool.driver.rules[0];
        assert_eq!(
            rule.help_uri.as_deref(),
            Some("https://example.org/ready/blob/v1.0.0/docs/kinds/sql.md")
        );
        let none = report("/repo", None).log(&r);
        assert_eq!(none.runs[0].tool.driver.rules[0].help_uri, None);
    }

    #[test]
    fn definitions_are_relative_to_the_working_directory_or_absolute_file_uris() {
        let uri = |base: &str, file: &str| {
            let locations = report(base, None).location(Some((file, 7)));
            let artifact = &locations[0].physical_location.artifact_location;
            (artifact.uri.clone(), artifact.uri_base_id)
        };
        assert_eq!(
            uri("/repo", "/repo/checks/db #1.yaml"),
            ("checks/db%20%231.yaml".into(), Some("%SRCROOT%"))
        );
        assert_eq!(
            uri("/repo", "./ready.yaml"),
            ("ready.yaml".into(), Some("%SRCROOT%"))
        );
        assert_eq!(
            uri("/repo", "/etc/ready/ready.yaml"),
            ("file:///etc/ready/ready.yaml".into(), None)
        );
        assert!(report("/repo", None).location(None).is_empty());
    }

    #[test]
    fn only_failing_and_erroring_checks_have_results_at_the_severity_level() {
        let log = report("/repo", None).log(&sample());
        let results: Vec<(&str, Level, bool)> = log.runs[0]
            .results
            .iter()
            .map(|r| (r.rule_id.as_str(), r.level, !r.suppressions.is_empty()))
            .collect();
        assert_eq!(
            results,
            [
                ("rls.enabled", Level::Error, false),
                ("rls.enabled", Level::Error, false),
                ("rls.enabled", Level::Error, true),
                ("audit.immutable", Level::Error, true),
                ("replica.lag", Level::Error, false),
                ("backup.fresh", Level::Error, false),
            ]
        );
        let rules = &log.runs[0].tool.driver.rules;
        assert_eq!(rules[2].id, "replica.lag");
        assert_eq!(rules[2].default_configuration.level, Level::Warning);
        let waived = &log.runs[0].results[2].suppressions[0];
        assert_eq!(
            waived.justification.as_deref(),
            Some(
                "PostGIS reference table, holds no user data (waived until 2027-03-01, \
                 approved by alice, ticket SEC-142)"
            )
        );
    }
}
