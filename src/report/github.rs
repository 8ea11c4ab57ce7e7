//! GitHub Actions workflow commands: the verdict, then an annotation per failing or erroring
//! check at its definition, most severe first; a finding located in a migration is annotated
//! on that line instead.

use std::io;
use std::path::{Path, PathBuf};

use super::table::verdict_line;
use super::{Reporter, baseline_delta, score_text};
use crate::result::{CheckResult, FindingResult, RunResult};
use crate::vocab::{Severity, Status};

pub struct GithubReport {
    /// The working directory: GitHub wants files relative to the repository root, where CI
    /// runs `ready`.
    pub base: Option<PathBuf>,
}

/// Workflow-command data escaping (the runner's own rules).
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Property values escape `:` and `,` too.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub shows at most 10 error annotations of a step; the verdict is one of them.
const MAX_ERRORS: usize = 10;

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "notice",
    }
}

/// `file` relative to `base` when it lies below it.
fn relative<'a>(file: &'a str, base: Option<&Path>) -> std::borrow::Cow<'a, str> {
    base.and_then(|b| Path::new(file).strip_prefix(b).ok())
        .map_or(file.into(), |f| f.to_string_lossy().into_owned().into())
}

/// `::LEVEL file=…,line=…,title=…::MESSAGE`, at `place` (file and line) when known.
fn annotation(
    c: &CheckResult,
    place: Option<(&str, u32)>,
    text: &str,
    base: Option<&Path>,
) -> String {
    let mut properties = Vec::new();
    if let Some((file, line)) = place {
        properties.push(format!(
            "file={},line={line}",
            property(&relative(file, base))
        ));
    }
    let title = format!(
        "ready: {} ({}, {})",
        c.id,
        c.status.as_str(),
        c.severity.as_str()
    );
    properties.push(format!("title={}", property(&title)));
    let mut message = text.to_string();
    if let Some(fix) = &c.remediation {
        message.push_str(&format!("\nFix: {}", fix.trim()));
    }
    format!(
        "::{} {}::{}",
        level(c.severity),
        properties.join(","),
        data(&message)
    )
}

/// A failing or erroring check's annotations: one at each open finding that has a location (the
/// migration line), and one at the check's definition for the rest, if any.
fn annotations(c: &CheckResult, base: Option<&Path>) -> Vec<String> {
    let open: Vec<&FindingResult> = c.findings.iter().filter(|f| !f.waived).collect();
    let mut out: Vec<String> = open
        .iter()
        .filter_map(|f| {
            let at = f.location.as_ref()?;
            Some(annotation(c, Some((&at.file, at.line)), &f.message, base))
        })
        .collect();
    if out.is_empty() || open.iter().any(|f| f.location.is_none()) {
        out.push(annotation(c, c.definition(), &c.message, base));
    }
    out
}

impl Reporter for GithubReport {
    fn render(&self, r: &RunResult, out: &mut dyn io::Write) -> io::Result<()> {
        self.verdict(r, out)?;
        let mut failing: Vec<&CheckResult> = r
            .checks
            .iter()
            .filter(|c| c.selected && matches!(c.status, Status::Fail | Status::Error))
            .collect();
        failing.sort_by_key(|c| std::cmp::Reverse(c.severity));
        let mut errors = usize::from(!r.decision.go);
        let mut rest = Vec::new();
        for c in failing {
            for line in annotations(c, self.base.as_deref()) {
                if level(c.severity) == "error" {
                    if errors == MAX_ERRORS {
                        rest.push(c.id.as_str());
                        break;
                    }
                    errors += 1;
                }
                writeln!(out, "{line}")?;
            }
        }
        if !rest.is_empty() {
            writeln!(
                out,
                "::notice title={}::{}",
                property(&format!("ready: {} more failing checks", rest.len())),
                data(&format!(
                    "Not annotated (GitHub shows 10 errors): {}",
                    rest.join(", ")
                ))
            )?;
        }
        Ok(())
    }
}

impl GithubReport {
    /// The verdict first, so GitHub's caps never hide it: an error for NO-GO, a notice for GO.
    fn verdict(&self, r: &RunResult, out: &mut dyn io::Write) -> io::Result<()> {
        let verdict = if r.decision.go { "GO" } else { "NO-GO" };
        let delta = baseline_delta(r)
            .map(|d| format!(", {d}"))
            .unwrap_or_default();
        let level = if r.decision.go { "notice" } else { "error" };
        let mut message = format!(
            "{}\nscore {} (without waivers {}){delta}, coverage {:.1}%, reached {}",
            verdict_line(r),
            score_text(r.score),
            score_text(r.score_without_waivers),
            r.coverage,
            r.decision.reached.as_deref().unwrap_or("none"),
        );
        for reason in &r.decision.reasons {
            message.push_str(&format!("\n{reason}"));
        }
        writeln!(
            out,
            "::{level} title={}::{}",
            property(&format!("ready: {verdict} for {}", r.stage)),
            data(&message)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_workflow_command_rules() {
        assert_eq!(data("50% done\nnext"), "50%25 done%0Anext");
        assert_eq!(property("a: b, c"), "a%3A b%2C c");
    }
}
