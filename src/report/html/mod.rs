//! The release report: one self-contained HTML go/no-go page (styles, script and SVG charts
//! inline, no external request), rendered through the templates in `templates/`.

mod chart;
mod history;
mod view;

use std::io;

use minijinja::Environment;

pub use history::{HistoryError, read_history};

use super::Reporter;
use crate::result::RunResult;

/// The page's templates, compiled into the binary: the page opens without any other file.
const TEMPLATES: [(&str, &str); 3] = [
    (
        "report.html",
        include_str!("../../../templates/report.html"),
    ),
    ("report.css", include_str!("../../../templates/report.css")),
    ("report.js", include_str!("../../../templates/report.js")),
];

pub struct HtmlReport<'a> {
    /// Earlier results for the trends, oldest first; may be empty.
    pub history: &'a [RunResult],
}

fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    // Block tags leave no blank lines or indentation behind: a smaller page.
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()?,
    );
    // `.html` templates escape every value for HTML; data is never marked safe.
    for (name, source) in TEMPLATES {
        env.add_template(name, source)?;
    }
    Ok(env)
}

/// The page as a string.
pub fn page(result: &RunResult, history: &[RunResult]) -> Result<String, minijinja::Error> {
    let env = environment()?;
    let page = view::page(result, history::history_view(result, history));
    env.get_template("report.html")?
        .render(minijinja::value::Serde(&page))
}

impl Reporter for HtmlReport<'_> {
    fn render(&self, result: &RunResult, out: &mut dyn io::Write) -> io::Result<()> {
        let text = page(result, self.history).map_err(io::Error::other)?;
        out.write_all(text.as_bytes())
    }
}
