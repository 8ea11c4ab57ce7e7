use std::io;

use super::Reporter;
use crate::result::RunResult;

pub struct JsonReport;

impl Reporter for JsonReport {
    fn render(&self, result: &RunResult, out: &mut dyn io::Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, result)?;
        writeln!(out)
    }
}
