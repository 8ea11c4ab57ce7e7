//! Retention by the calendar: which days, weeks and months hold no backup.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};

use super::params::Retention;

pub struct Gap {
    pub subject: String,
    pub message: String,
}

/// Calendar units (UTC days, ISO weeks, months) that hold no backup. The last `daily` days,
/// `weekly` weeks and `monthly` months are counted from the current one, or from the one
/// before when the current one has no backup yet (just after midnight, before the nightly run:
/// freshness is `max_age`'s concern, not the calendar's).
pub fn retention_gaps(
    retention: &Retention,
    times: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> Vec<Gap> {
    let mut gaps = Vec::new();
    let today = now.date_naive();
    let days: BTreeSet<NaiveDate> = times.iter().map(|t| t.date_naive()).collect();
    let monday = |d: NaiveDate| d - Days::new(u64::from(d.weekday().num_days_from_monday()));
    let weeks: BTreeSet<NaiveDate> = days.iter().map(|d| monday(*d)).collect();
    let months: BTreeSet<(i32, u32)> = days.iter().map(|d| (d.year(), d.month())).collect();

    let start = usize::from(!days.contains(&today));
    for i in start..start + retention.daily as usize {
        let day = today - Days::new(i as u64);
        if !days.contains(&day) {
            gaps.push(Gap {
                subject: format!("daily:{day}"),
                message: format!("no backup on {day} (retention: {} daily)", retention.daily),
            });
        }
    }
    let this_week = monday(today);
    let start = usize::from(!weeks.contains(&this_week));
    for i in start..start + retention.weekly as usize {
        let week = this_week - Days::new(7 * i as u64);
        if !weeks.contains(&week) {
            let iso = week.iso_week();
            gaps.push(Gap {
                subject: format!("weekly:{}-W{:02}", iso.year(), iso.week()),
                message: format!(
                    "no backup in the week of {week} ({}-W{:02}) (retention: {} weekly)",
                    iso.year(),
                    iso.week(),
                    retention.weekly
                ),
            });
        }
    }
    let this_month = (today.year(), today.month());
    let start = usize::from(!months.contains(&this_month));
    for i in start..start + retention.monthly as usize {
        let index = this_month.0 * 12 + this_month.1 as i32 - 1 - i as i32;
        let month = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
        if !months.contains(&month) {
            gaps.push(Gap {
                subject: format!("monthly:{}-{:02}", month.0, month.1),
                message: format!(
                    "no backup in {}-{:02} (retention: {} monthly)",
                    month.0, month.1, retention.monthly
                ),
            });
        }
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn retention_names_each_missing_unit() {
        let now = at("2026-11-21T01:00:00Z"); // a Saturday, before tonight's backup
        let mut times: Vec<DateTime<Utc>> = (1..=70)
            .filter(|d| *d != 3)
            .map(|d| now - chrono::Duration::days(d))
            .collect();
        times.push(at("2026-08-15T02:00:00Z"));
        let r = Retention {
            daily: 7,
            weekly: 4,
            monthly: 5,
        };
        let subjects: Vec<String> = retention_gaps(&r, &times, now)
            .into_iter()
            .map(|g| g.subject)
            .collect();
        assert_eq!(subjects, ["daily:2026-11-18", "monthly:2026-07"]);
    }
}
