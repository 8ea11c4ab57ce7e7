//! Reports: one formatter per output format behind one small trait.

mod github;
mod html;
mod json;
mod junit;
mod markdown;
mod sarif;
mod table;
mod visible;

use std::borrow::Cow;
use std::io;

use crate::redact::Redactor;
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
    /// SARIF 2.1.0: a result per failing finding at its check's definition (for code scanning).
    Sarif,
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

/// How the table report is laid out; the other formats ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    pub color: bool,
    /// The widest line, in columns.
    pub width: u16,
    /// List the passing checks instead of counting them.
    pub all: bool,
    /// The verdict line alone.
    pub quiet: bool,
}

impl Look {
    /// For files and pipes: no colour, 100 columns.
    pub const PLAIN: Look = Look {
        color: false,
        width: 100,
        all: false,
        quiet: false,
    };
}

pub fn reporter(format: Format, look: Look) -> Box<dyn Reporter> {
    match format {
        Format::Table => Box::new(table::TableReport { look }),
        Format::Json => Box::new(json::JsonReport),
        Format::Markdown => Box::new(markdown::MarkdownReport),
        Format::Junit => Box::new(junit::JunitReport),
        Format::Github => Box::new(github::GithubReport {
            base: std::env::current_dir().ok(),
        }),
        Format::Html => Box::new(html::HtmlReport { history: &[] }),
        Format::Sarif => Box::new(sarif::SarifReport::here()),
    }
}

/// The page documenting a check kind, relative to `ready`'s repository root.
pub fn docs_page(kind: &str) -> String {
    format!("docs/kinds/{kind}.md")
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

/// Renders a report to bytes, for writing in one go. Every format masks the run's secrets in
/// what it shows, whatever the result it is given already masks, and every human format shows
/// control characters from the data escaped.
pub fn render(
    format: Format,
    look: Look,
    result: &RunResult,
    redactor: &Redactor,
) -> io::Result<Vec<u8>> {
    render_with_history(format, look, result, &[], redactor)
}

/// Renders a report with earlier results (oldest first); only the HTML page shows their trends.
/// Saved results were masked when they were written.
pub fn render_with_history(
    format: Format,
    look: Look,
    result: &RunResult,
    history: &[RunResult],
    redactor: &Redactor,
) -> io::Result<Vec<u8>> {
    let mut shown = if redactor.is_empty() {
        Cow::Borrowed(result)
    } else {
        Cow::Owned(result.redacted(redactor))
    };
    // Machines read the texts as they are; people get control characters escaped.
    if format != Format::Json && format != Format::Junit {
        shown = Cow::Owned(visible::escaped(&shown));
    }
    let mut out = Vec::new();
    match format {
        Format::Html => html::HtmlReport { history }.render(&shown, &mut out)?,
        _ => reporter(format, look).render(&shown, &mut out)?,
    }
    Ok(out)
}
