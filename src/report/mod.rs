//! Reports: one formatter per output format behind one small trait.

mod json;
mod table;

use std::io;

use crate::result::RunResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Decision banner, category bars, checks, blockers, waivers (for people).
    Table,
    /// The `ready.result/v1` document (for machines and `ready report`).
    Json,
}

impl Format {
    pub fn parse(text: &str) -> Option<Format> {
        <Format as clap::ValueEnum>::from_str(text, true).ok()
    }
}

pub trait Reporter {
    fn render(&self, result: &RunResult, out: &mut dyn io::Write) -> io::Result<()>;
}

pub fn reporter(format: Format, color: bool) -> Box<dyn Reporter> {
    match format {
        Format::Table => Box::new(table::TableReport { color }),
        Format::Json => Box::new(json::JsonReport),
    }
}

/// Renders a report to a string, for writing to a file in one go.
pub fn render(format: Format, color: bool, result: &RunResult) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    reporter(format, color).render(result, &mut out)?;
    Ok(out)
}
