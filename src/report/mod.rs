//! Reports: one formatter per output format behind one small trait.

mod github;
mod html;
mod json;
mod junit;
mod markdown;
mod table;

use std::io;

use crate::result::RunResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Decision banner, category bars, checks, blockers, waivers (for people).
    Table,
    /// The `ready.result/v1` document (for machines and `ready report`).
    Json,
    /// The go/no-go report for release managers.
    Markdown,
    /// JUnit XML: a test suite per category, a test case per check.
    Junit,
    /// GitHub Actions annotations (and the markdown report in the step summary).
    Github,
    /// One self-contained HTML go/no-go page with charts (for release managers).
    Html,
}

impl Format {
    pub fn parse(text: &str) -> Option<Format> {
        <Format as clap::ValueEnum>::from_str(text, true).ok()
    }
}

pub use html::{HistoryError, read_history};

pub trait Reporter {
    fn render(&self, result: &RunResult, out: &mut dyn io::Write) -> io::Result<()>;
}

pub fn reporter(format: Format, color: bool) -> Box<dyn Reporter> {
    match format {
        Format::Table => Box::new(table::TableReport { color }),
        Format::Json => Box::new(json::JsonReport),
        Format::Markdown => Box::new(markdown::MarkdownReport),
        Format::Junit => Box::new(junit::JunitReport),
        Format::Github => Box::new(github::GithubReport),
        Format::Html => Box::new(html::HtmlReport { history: &[] }),
    }
}

pub fn score_text(score: Option<f64>) -> String {
    score.map_or("—".into(), |s| format!("{s:.1}"))
}

/// "+3.2 since the baseline": how the score moved, when there is a baseline with a score.
pub fn baseline_delta(result: &RunResult) -> Option<String> {
    let before = result.baseline.as_ref()?.score?;
    let now = result.score?;
    let change = now - before;
    let arrow = if change > 0.0 {
        "+"
    } else if change < 0.0 {
        "−"
    } else {
        "±"
    };
    Some(format!(
        "{arrow}{:.1} since the baseline ({before:.1})",
        change.abs()
    ))
}

/// Renders a report with earlier results (oldest first); only the HTML page shows their trends.
pub fn render_with_history(
    format: Format,
    color: bool,
    result: &RunResult,
    history: &[RunResult],
) -> io::Result<Vec<u8>> {
    if format != Format::Html {
        return render(format, color, result);
    }
    let mut out = Vec::new();
    html::HtmlReport { history }.render(result, &mut out)?;
    Ok(out)
}

/// Renders a report to a string, for writing to a file in one go.
pub fn render(format: Format, color: bool, result: &RunResult) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    reporter(format, color).render(result, &mut out)?;
    Ok(out)
}
