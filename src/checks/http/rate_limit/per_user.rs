//! The judgement of `per:`: after the first identity was limited, a second one must still be
//! served (the limit is per user, not global); and with `global_limit`, the identities together
//! must be limited at the global limit, counted as the first identity's burst is: every
//! request served before the rejections took over.

use super::RateLimitParams;
use super::burst::Burst;
use super::judgement::{Rejects, first_rejection, first_where, served, wrong_status};
use crate::checks::outcome::{CheckError, Finding, Observation};
use crate::checks::params::DurationParam;
use crate::vocab::human;

/// The second identity's request, sent right after the first identity was limited.
pub fn second_identity_finding(subject: &str, rejects: &Rejects, status: u16) -> Option<Finding> {
    rejects.is_rejection(status).then(|| {
        Finding::fail(
            subject,
            format!(
                "the limit is global: a second identity was refused right after the first was \
                 limited (answered {status})"
            ),
        )
        .with_evidence(serde_json::json!({"second_identity_status": status}))
    })
}

/// What the identities had been served and sent before the global burst, and how many took part
/// in all.
#[derive(Debug, Clone, Copy)]
pub struct Before {
    pub served: u32,
    pub sent: u32,
    pub identities: usize,
}

/// The requests the global burst may send: up to twice the global limit and one in all, within
/// what `max_requests` leaves.
pub fn global_budget(params: &RateLimitParams, global: u64, before: Before) -> u32 {
    let wanted = (2 * global + 1).saturating_sub(u64::from(before.served));
    let left = params.max_requests.0.saturating_sub(before.sent);
    wanted.min(u64::from(left)) as u32
}

/// Identities for the global burst, so that none reaches its own limit (`limit + burst`) before
/// the identities together reach the global one.
pub fn identities_needed(params: &RateLimitParams, budget: u32) -> u32 {
    match params.limit {
        Some(limit) => budget.div_ceil((limit + params.burst).max(1) as u32).max(1),
        None => budget.max(1),
    }
}

fn global_text(params: &RateLimitParams, global: u64) -> String {
    match params.window {
        Some(DurationParam(w)) => format!("global limit {global} per {}", human(w)),
        None => format!("global limit {global}"),
    }
}

/// The global burst judged: its findings under `subject`, its measurements, and the sentence the
/// summary ends with.
pub fn judge_global(
    obs: &mut Observation,
    params: &RateLimitParams,
    subject: &str,
    global: u64,
    burst: &Burst,
    before: Before,
) -> Result<String, CheckError> {
    let rejects = Rejects::of(params);
    let rejection = first_rejection(&burst.answers, &rejects);
    let unavailable = (!rejects.contains(503))
        .then(|| first_where(&burst.answers, |s| s == 503))
        .flatten();
    if rejection.is_none()
        && unavailable.is_none()
        && let Some((seq, error)) = &burst.first_error
    {
        return Err(CheckError::new(format!(
            "{subject}: request {} of the burst from many identities failed: {error}",
            seq + 1
        )));
    }
    let served = before.served + served(&burst.answers, &rejects);
    let sent = before.sent + burst.answers.len() as u32 + burst.failed;
    let ids = before.identities;
    let text = global_text(params, global);
    let Some(limited) = rejection.or(unavailable) else {
        obs.measure("global_requests_sent", f64::from(sent));
        obs.findings
            .push(never_limited(subject, &rejects, sent, ids, &text));
        return Ok(format!("{ids} identities together were never limited"));
    };
    obs.measure("global_served", f64::from(served));
    obs.measure("global_first_limited_at", f64::from(served + 1));
    if rejection.is_none() {
        obs.findings.push(wrong_status(subject, &rejects, served));
    }
    obs.findings.extend(too_late(
        subject,
        limited.status,
        served,
        global,
        ids,
        &text,
    ));
    Ok(format!(
        "{ids} identities together were served {served}, then answered {} ({text})",
        limited.status
    ))
}

/// The identities together sent the whole global burst and none was rejected.
fn never_limited(subject: &str, rejects: &Rejects, sent: u32, ids: usize, text: &str) -> Finding {
    Finding::fail(
        subject,
        format!(
            "sent {sent} requests from {ids} identities ({text}) and none was answered {rejects}"
        ),
    )
    .with_evidence(serde_json::json!({"requests_sent": sent, "identities": ids}))
}

/// The identities together were limited after more than the global limit + 10% was served.
fn too_late(
    subject: &str,
    status: u16,
    served: u32,
    global: u64,
    ids: usize,
    text: &str,
) -> Option<Finding> {
    let tolerated = (global as f64 * 1.1).ceil() as u64;
    (u64::from(served) > tolerated).then(|| {
        Finding::fail(
            subject,
            format!(
                "the first {status} to the identities together came at request {} after {served} \
                 served requests ({text}): expected by request {} (global limit + 10%)",
                served + 1,
                tolerated + 1
            ),
        )
        .with_evidence(serde_json::json!({
            "first_limited_at": served + 1,
            "served_before": served,
            "tolerated": tolerated,
            "identities": ids,
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::http::rate_limit::burst::Answer;
    use crate::config::node::parse_document;

    fn params(yaml: &str) -> RateLimitParams {
        parse_document(yaml).unwrap().parse().unwrap()
    }

    fn burst(statuses: &[u16]) -> Burst {
        Burst {
            answers: statuses
                .iter()
                .enumerate()
                .map(|(seq, status)| Answer {
                    seq: seq as u32,
                    status: *status,
                    ..Answer::default()
                })
                .collect(),
            ..Burst::default()
        }
    }

    fn messages(obs: &Observation) -> Vec<&str> {
        obs.findings.iter().map(|f| f.message.as_str()).collect()
    }

    #[test]
    fn a_second_identity_refused_means_the_limit_is_global() {
        let p = params("limit: 10\nper: { header: X-User-Id }\nreject_statuses: [423, 429]");
        let rejects = Rejects::of(&p);
        assert!(second_identity_finding("GET /api per-user", &rejects, 401).is_none());
        let refused = second_identity_finding("GET /api per-user", &rejects, 423).unwrap();
        assert_eq!(
            refused.message,
            "the limit is global: a second identity was refused right after the first was \
             limited (answered 423)"
        );
        assert_eq!(rejects.to_string(), "423 or 429");
    }

    #[test]
    fn enough_identities_stay_under_their_own_limit() {
        let p = params("limit: 10\nglobal_limit: 50\nper: { header: X-User-Id }");
        let before = Before {
            served: 11,
            sent: 21,
            identities: 2,
        };
        assert_eq!(global_budget(&p, 50, before), 90);
        assert_eq!(identities_needed(&p, 90), 9);
        let tight = params("limit: 10\nmax_requests: 60\nper: { header: X-User-Id }");
        assert_eq!(global_budget(&tight, 50, before), 39);
    }

    #[test]
    fn the_identities_together_are_judged_by_what_was_served() {
        let p = params("limit: 10\nwindow: 1m\nglobal_limit: 30\nper: { header: X-User-Id }");
        let before = Before {
            served: 11,
            sent: 21,
            identities: 7,
        };
        let mut statuses = vec![200; 19];
        statuses.push(429);
        let mut obs = Observation::default();
        let summary = judge_global(
            &mut obs,
            &p,
            "GET /api global",
            30,
            &burst(&statuses),
            before,
        );
        assert!(obs.findings.is_empty(), "{:?}", obs.findings);
        assert_eq!(
            summary.unwrap(),
            "7 identities together were served 30, then answered 429 (global limit 30 per 1m)"
        );
        assert_eq!(obs.measurements["global_first_limited_at"], 31.0);
        let mut late = vec![200; 40];
        late.push(429);
        let mut obs = Observation::default();
        judge_global(&mut obs, &p, "GET /api global", 30, &burst(&late), before).unwrap();
        assert_eq!(
            messages(&obs),
            [
                "the first 429 to the identities together came at request 52 after 51 served \
                 requests (global limit 30 per 1m): expected by request 34 (global limit + 10%)"
            ]
        );
        let mut obs = Observation::default();
        judge_global(
            &mut obs,
            &p,
            "GET /api global",
            30,
            &burst(&[200; 50]),
            before,
        )
        .unwrap();
        assert_eq!(
            messages(&obs),
            [
                "sent 71 requests from 7 identities (global limit 30 per 1m) and none was answered 429"
            ]
        );
    }
}
