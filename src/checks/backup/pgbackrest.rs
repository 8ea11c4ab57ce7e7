//! pgBackRest: `pgbackrest info --output=json`, a list of stanzas, each with `status {code,
//! message}` and `backup[]` entries carrying `label`, `type` (full/diff/incr), `error` and
//! `timestamp {start, stop}` in Unix seconds.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value as Json;

use super::params::PgBackRest;
use super::report::age_of;
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::vocab::human;

/// Judges the report: the stanza is healthy, its backups carry no error flag, the newest is
/// recent enough and there are enough full ones.
pub fn judge(p: &PgBackRest, max_age: Duration, report: &Json, now: DateTime<Utc>) -> CheckOutcome {
    let stanzas = report
        .as_array()
        .ok_or_else(|| CheckError::new("the pgBackRest report is not a list of stanzas"))?;
    let mut obs = Observation::default();
    let Some(stanza) = select_stanza(p.stanza.as_deref(), stanzas)? else {
        let wanted = p.stanza.clone().unwrap_or_default();
        obs.findings.push(Finding::fail(
            format!("stanza:{wanted}"),
            format!("stanza `{wanted}` is not in the pgBackRest report"),
        ));
        return Ok(obs);
    };
    let name = name_of(stanza);
    let subject = format!("stanza:{name}");
    obs.findings.extend(status(stanza, &name, &subject)?);
    let backups = stanza["backup"].as_array().cloned().unwrap_or_default();
    obs.measure("backups", backups.len() as f64);
    let full = backups.iter().filter(|b| b["type"] == "full").count() as u64;
    obs.measure("full_backups", full as f64);
    for b in backups.iter().filter(|b| b["error"] == true) {
        let label = b["label"].as_str().unwrap_or("?");
        obs.findings.push(Finding::fail(
            format!("{subject}/{label}"),
            format!("backup {label} of stanza `{name}` is flagged with errors (page checksum or copy errors)"),
        ));
    }
    match newest(&backups)? {
        None => obs.findings.push(Finding::fail(
            &subject,
            format!("stanza `{name}` has no backup"),
        )),
        Some((stopped, label)) => {
            let age = age_of(stopped, now);
            obs.measure("newest_age_s", age.as_secs() as f64);
            if age > max_age {
                obs.findings.push(Finding::fail(
                    &subject,
                    format!(
                        "the newest backup of stanza `{name}`, {label}, finished {} ago, more than max_age {}",
                        human(age),
                        human(max_age)
                    ),
                ));
            }
        }
    }
    if full < p.min_full {
        obs.findings.push(Finding::fail(
            &subject,
            format!(
                "stanza `{name}` has {full} full backup(s), fewer than min_full {}",
                p.min_full
            ),
        ));
    }
    obs.summary = Some(format!(
        "stanza `{name}`: {} backup(s), {full} full",
        backups.len()
    ));
    Ok(obs)
}

fn name_of(stanza: &Json) -> String {
    stanza["name"].as_str().unwrap_or_default().to_string()
}

/// The stanza the check names, or the only one; `None` when the named one is absent, an error
/// when the report holds several and the check names none.
fn select_stanza<'a>(
    wanted: Option<&str>,
    stanzas: &'a [Json],
) -> Result<Option<&'a Json>, CheckError> {
    match wanted {
        Some(wanted) => Ok(stanzas.iter().find(|s| s["name"] == wanted)),
        None if stanzas.len() == 1 => Ok(stanzas.first()),
        None => {
            let names: Vec<String> = stanzas.iter().map(name_of).collect();
            Err(CheckError::new(format!(
                "the report holds {} stanzas ({}); name one with `stanza`",
                names.len(),
                names.join(", ")
            )))
        }
    }
}

/// A failure when the stanza's status code is not 0 (pgBackRest's "ok").
fn status(stanza: &Json, name: &str, subject: &str) -> Result<Option<Finding>, CheckError> {
    let code = stanza["status"]["code"].as_i64().ok_or_else(|| {
        CheckError::new(format!("stanza `{name}` has no status code in the report"))
    })?;
    if code == 0 {
        return Ok(None);
    }
    Ok(Some(
        Finding::fail(
            subject,
            format!(
                "stanza `{name}` status is \"{}\" (code {code})",
                stanza["status"]["message"].as_str().unwrap_or("unknown")
            ),
        )
        .with_evidence(stanza["status"].clone()),
    ))
}

/// When the newest backup stopped, and its label.
fn newest(backups: &[Json]) -> Result<Option<(DateTime<Utc>, &str)>, CheckError> {
    let Some((stop, b)) = backups
        .iter()
        .filter_map(|b| Some((b["timestamp"]["stop"].as_i64()?, b)))
        .max_by_key(|(stop, _)| *stop)
    else {
        return Ok(None);
    };
    let stopped = Utc
        .timestamp_opt(stop, 0)
        .single()
        .ok_or_else(|| CheckError::new(format!("invalid stop time {stop}")))?;
    Ok(Some((stopped, b["label"].as_str().unwrap_or("?"))))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::checks::backup::ReportOrigin;

    fn source(stanza: Option<&str>) -> PgBackRest {
        PgBackRest {
            stanza: stanza.map(String::from),
            origin: ReportOrigin::JsonFile("info.json".into()),
            min_full: 1,
        }
    }

    fn report() -> Json {
        json!([
            {"name": "main", "status": {"code": 0, "message": "ok"}, "backup": [
                {"label": "F1", "type": "full", "error": false, "timestamp": {"start": 1000, "stop": 1100}},
                {"label": "I2", "type": "incr", "error": true, "timestamp": {"start": 5000, "stop": 5100}}
            ]},
            {"name": "other", "status": {"code": 2, "message": "no valid backups"}, "backup": []}
        ])
    }

    #[test]
    fn a_stanza_must_be_named_when_there_are_several() {
        let now = Utc.timestamp_opt(5200, 0).unwrap();
        let err = judge(&source(None), Duration::from_secs(3600), &report(), now).unwrap_err();
        assert_eq!(
            err.0,
            "the report holds 2 stanzas (main, other); name one with `stanza`"
        );
        let absent = judge(
            &source(Some("gone")),
            Duration::from_secs(3600),
            &report(),
            now,
        )
        .unwrap();
        assert_eq!(
            absent.findings[0].message,
            "stanza `gone` is not in the pgBackRest report"
        );
    }

    #[test]
    fn flagged_stale_and_unhealthy_stanzas_fail() {
        let now = Utc.timestamp_opt(5220, 0).unwrap();
        let main = judge(
            &source(Some("main")),
            Duration::from_secs(60),
            &report(),
            now,
        )
        .unwrap();
        let messages: Vec<&str> = main.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].starts_with("backup I2 of stanza `main` is flagged with errors"));
        assert!(messages[1].starts_with("the newest backup of stanza `main`, I2, finished 2m ago"));
        assert_eq!(main.measurements["full_backups"], 1.0);

        let other = judge(
            &source(Some("other")),
            Duration::from_secs(60),
            &report(),
            now,
        )
        .unwrap();
        let messages: Vec<&str> = other.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "stanza `other` status is \"no valid backups\" (code 2)",
                "stanza `other` has no backup",
                "stanza `other` has 0 full backup(s), fewer than min_full 1",
            ]
        );
    }
}
