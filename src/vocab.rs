//! The shared vocabulary of the crate: severities, finding levels, statuses, and how durations
//! and sizes are written for people. A leaf module: it imports nothing of the crate, so every
//! layer can use it without an import cycle.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How much a failing check matters; it sets the check's default weight.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// How bad one finding is: `fail` fails the check, `warn` only advises.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Fail,
    Warn,
}

/// How a check ended, after waivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Verified and fine.
    Pass,
    /// Verified, fine, with advisories.
    Warn,
    /// Verified and not fine.
    Fail,
    /// Could not be verified: unreachable, timed out, refused, missing privilege.
    Error,
    /// Not run: not selected, or not applicable (the message says why). Never counts as verified.
    Skip,
    /// Failed, and an active waiver covers every failing finding.
    Waived,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Skip => "skip",
            Status::Waived => "waived",
        }
    }
}

/// `20 days`, `1 day 2h`, `3h 12m`, `5m 3s`, `250ms`: durations as people write them, to the
/// precision that matters — days past a month, hours past a day, minutes past an hour — so that an age measured a
/// second later reads the same. Days stay days (no months), and they are spelled out so that a
/// sentence reads "3 days old".
pub fn human(d: Duration) -> String {
    let nearest = |unit: u64| (d.as_secs_f64() / unit as f64).round() as u64 * unit;
    if d < Duration::from_secs(1) {
        return format!("{}ms", d.as_millis());
    }
    let secs = if d >= Duration::from_secs(30 * 86_400) {
        nearest(86_400)
    } else if d >= Duration::from_secs(86_400) {
        nearest(3600)
    } else if d >= Duration::from_secs(3600) {
        nearest(60)
    } else {
        nearest(1)
    };
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let mut parts = Vec::new();
    match days {
        0 => {}
        1 => parts.push("1 day".to_string()),
        n => parts.push(format!("{n} days")),
    }
    for (value, unit) in [
        (rest / 3600, "h"),
        (rest % 3600 / 60, "m"),
        (rest % 60, "s"),
    ] {
        if value > 0 {
            parts.push(format!("{value}{unit}"));
        }
    }
    parts.join(" ")
}

/// `1.2 MB`: sizes as people read them.
pub fn human_size(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < units.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_show_the_precision_that_matters() {
        assert_eq!(human(Duration::from_secs(20 * 86_400 + 1)), "20 days");
        assert_eq!(human(Duration::from_secs(86_400 + 7200 + 40)), "1 day 2h");
        assert_eq!(human(Duration::from_secs(45 * 86_400 + 7200)), "45 days");
        assert_eq!(
            human(Duration::from_secs(3 * 3600 + 12 * 60 + 29)),
            "3h 12m"
        );
        assert_eq!(human(Duration::from_millis(303_600)), "5m 4s");
        assert_eq!(human(Duration::from_millis(250)), "250ms");
    }

    #[test]
    fn sizes_read_in_decimal_units() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1_234_567), "1.2 MB");
    }
}
