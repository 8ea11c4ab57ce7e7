//! Tool reports (pgBackRest, WAL-G) as JSON: from running the tool or from an exported file.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value as Json;

use super::params::ReportOrigin;
use crate::checks::outcome::CheckError;

/// Bytes of a failing tool's stderr an error shows, cut after masking.
const STDERR_SHOWN_BYTES: usize = 300;

pub async fn read(origin: &ReportOrigin, base_dir: &Path) -> Result<Json, CheckError> {
    let (text, shown) = match origin {
        ReportOrigin::JsonFile(path) => (
            tokio::fs::read_to_string(base_dir.join(path))
                .await
                .map_err(|e| CheckError::new(format!("cannot read {path}: {e}")))?,
            path.clone(),
        ),
        ReportOrigin::Command(argv) => {
            let program = &argv[0];
            let output = tokio::process::Command::new(program)
                .args(&argv[1..])
                .current_dir(base_dir)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .output()
                .await
                .map_err(|e| CheckError::new(format!("cannot run `{program}`: {e}")))?;
            if !output.status.success() {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let exit = output
                    .status
                    .code()
                    .map_or("a signal".into(), |c| c.to_string());
                return Err(CheckError::quoting(
                    &format!("`{}` exited with {exit}: ", argv.join(" ")),
                    stderr.trim(),
                    "",
                    STDERR_SHOWN_BYTES,
                ));
            }
            (
                String::from_utf8_lossy(&output.stdout).into_owned(),
                format!("the output of `{}`", argv.join(" ")),
            )
        }
    };
    serde_json::from_str(&text)
        .map_err(|e| CheckError::new(format!("{shown} is not valid JSON: {e}")))
}

pub fn age_of(time: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (now - time).to_std().unwrap_or_default()
}
