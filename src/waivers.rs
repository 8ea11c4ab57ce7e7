//! Applying waivers to findings, and the state of each waiver.

use chrono::NaiveDate;

use crate::model::Waiver;
use crate::result::{FindingResult, WaiverState};
use crate::vocab::Level;

/// A waiver lapsing within this many days is flagged `expiring`.
pub const EXPIRING_DAYS: i64 = 14;

/// The waiver applies through the end of its `expires` day, UTC.
pub fn is_expired(waiver: &Waiver, today: NaiveDate) -> bool {
    today > waiver.expires
}

/// The globs were compiled when the configuration was read.
pub fn covers(waiver: &Waiver, check_id: &str, subject: &str) -> bool {
    waiver.check.matches(check_id) && waiver.subject.as_ref().is_none_or(|s| s.matches(subject))
}

/// Marks the failing findings that an unexpired waiver covers; returns, per waiver, whether it
/// was used. Warnings are never waived (they do not fail anything), errors cannot be: an error
/// has nothing verified to waive.
pub fn apply(
    waivers: &[Waiver],
    check_id: &str,
    findings: &mut [FindingResult],
    today: NaiveDate,
    used: &mut [bool],
) {
    for finding in findings.iter_mut().filter(|f| f.level == Level::Fail) {
        for (i, waiver) in waivers.iter().enumerate() {
            if !is_expired(waiver, today) && covers(waiver, check_id, &finding.subject) {
                finding.waived = true;
                used[i] = true;
            }
        }
    }
}

pub fn state(waiver: &Waiver, used: bool, today: NaiveDate) -> WaiverState {
    if is_expired(waiver, today) {
        WaiverState::Expired
    } else if !used {
        WaiverState::Unused
    } else if (waiver.expires - today).num_days() < EXPIRING_DAYS {
        WaiverState::Expiring
    } else {
        WaiverState::Active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiver(check: &str, subject: Option<&str>, expires: &str) -> Waiver {
        Waiver {
            check: glob::Pattern::new(check).unwrap(),
            subject: subject.map(|s| glob::Pattern::new(s).unwrap()),
            reason: "r".into(),
            expires: expires.parse().unwrap(),
            approved_by: None,
            ticket: None,
        }
    }

    fn finding(subject: &str, level: Level) -> FindingResult {
        FindingResult {
            subject: subject.into(),
            message: String::new(),
            level,
            fingerprint: String::new(),
            waived: false,
            evidence: serde_json::Value::Null,
            location: None,
        }
    }

    #[test]
    fn waivers_cover_matching_failures_until_the_end_of_their_day() {
        let today: NaiveDate = "2026-11-21".parse().unwrap();
        let waivers = [
            waiver("rls.*", Some("public.spatial_*"), "2026-11-21"),
            waiver("rls.enabled", None, "2026-11-20"),
        ];
        let mut findings = [
            finding("public.spatial_ref_sys", Level::Fail),
            finding("public.users", Level::Fail),
            finding("public.spatial_x", Level::Warn),
        ];
        let mut used = [false, false];
        apply(&waivers, "rls.enabled", &mut findings, today, &mut used);
        assert_eq!(findings.map(|f| f.waived), [true, false, false]);
        assert_eq!(used, [true, false]);
        assert_eq!(state(&waivers[0], true, today), WaiverState::Expiring);
        assert_eq!(state(&waivers[1], false, today), WaiverState::Expired);
    }

    #[test]
    fn states() {
        let today: NaiveDate = "2026-11-21".parse().unwrap();
        let w = waiver("x", None, "2026-12-05");
        assert_eq!(state(&w, true, today), WaiverState::Active);
        assert_eq!(state(&w, false, today), WaiverState::Unused);
        let w = waiver("x", None, "2026-12-04");
        assert_eq!(state(&w, true, today), WaiverState::Expiring);
    }
}
