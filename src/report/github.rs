//! GitHub Actions workflow commands: an annotation per failing, erroring or warning check.

use std::io;

use super::{Reporter, baseline_delta, score_text};
use crate::result::RunResult;
use crate::vocab::Status;

pub struct GithubReport;

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

impl Reporter for GithubReport {
    fn render(&self, r: &RunResult, out: &mut dyn io::Write) -> io::Result<()> {
        for c in &r.checks {
            let level = match c.status {
                Status::Fail | Status::Error => "error",
                Status::Warn => "warning",
                _ => continue,
            };
            let title = format!(
                "ready: {} ({}, {})",
                c.id,
                c.status.as_str(),
                c.severity.as_str()
            );
            let mut message = c.message.clone();
            if let Some(fix) = &c.remediation {
                message.push_str(&format!("\nFix: {}", fix.trim()));
            }
            writeln!(
                out,
                "::{level} title={}::{}",
                property(&title),
                data(&message)
            )?;
        }
        let verdict = if r.decision.go { "GO" } else { "NO-GO" };
        let delta = baseline_delta(r)
            .map(|d| format!(", {d}"))
            .unwrap_or_default();
        let level = if r.decision.go { "notice" } else { "error" };
        writeln!(
            out,
            "::{level} title={}::{}",
            property(&format!("ready: {verdict} for {}", r.stage)),
            data(&format!(
                "score {} (without waivers {}){delta}, coverage {:.1}%, reached {}{}",
                score_text(r.score),
                score_text(r.score_without_waivers),
                r.coverage,
                r.decision.reached.as_deref().unwrap_or("none"),
                if r.decision.reasons.is_empty() {
                    String::new()
                } else {
                    format!("\n{}", r.decision.reasons.join("\n"))
                }
            ))
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
