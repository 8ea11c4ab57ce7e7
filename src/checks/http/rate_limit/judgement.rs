//! The judgement of `rate_limit`: plain functions over what the burst observed.

use std::collections::BTreeMap;
use std::time::Duration;

use super::burst::{Answer, Burst};
use super::headers::{Family, FamilyValues, retry_after_seconds};
use super::{FamilyRule, RateLimitParams, RetryAfterRule};
use crate::checks::outcome::{CheckError, Finding, Observation};
use crate::checks::params::DurationParam;
use crate::vocab::human;

/// The statuses that count as the limiter's rejection: `reject_statuses` (a lockout answers
/// 423 or 403), else `expect_status`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejects(Vec<u16>);

impl Rejects {
    pub fn of(params: &RateLimitParams) -> Rejects {
        match &params.reject_statuses {
            Some(statuses) => Rejects(statuses.clone().into_vec()),
            None => Rejects(vec![params.expect_status]),
        }
    }

    pub fn contains(&self, status: u16) -> bool {
        self.0.contains(&status)
    }

    /// 503 is a rejection too (nginx's default), though the wrong one unless listed.
    pub fn is_rejection(&self, status: u16) -> bool {
        self.contains(status) || status == 503
    }

    /// The first listed status: what nginx's `limit_req_status` should say.
    fn first(&self) -> u16 {
        self.0.first().copied().unwrap_or(429)
    }
}

/// `429`, `423 or 429`, `429, 423 or 403`.
impl std::fmt::Display for Rejects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let texts: Vec<String> = self.0.iter().map(u16::to_string).collect();
        match texts.split_last() {
            Some((last, [])) => f.write_str(last),
            Some((last, rest)) => write!(f, "{} or {last}", rest.join(", ")),
            None => Ok(()),
        }
    }
}

/// Requests the limit allows in one window: `limit` plus the `burst` a token bucket serves.
fn allowance(params: &RateLimitParams) -> Option<u64> {
    params.limit.map(|l| l + params.burst)
}

/// The requests the burst may send: twice the allowance and one, within `max_requests`.
pub fn budget(params: &RateLimitParams) -> u32 {
    match allowance(params) {
        Some(a) => (2 * a + 1).min(u64::from(params.max_requests.0)) as u32,
        None => params.max_requests.0,
    }
}

/// The first answer (in sending order) whose status `matches`.
pub fn first_where(answers: &[Answer], matches: impl Fn(u16) -> bool) -> Option<&Answer> {
    answers
        .iter()
        .filter(|a| matches(a.status))
        .min_by_key(|a| a.seq)
}

/// The first answer (in sending order) with one of the rejection statuses.
pub fn first_rejection<'a>(answers: &'a [Answer], rejects: &Rejects) -> Option<&'a Answer> {
    first_where(answers, |s| rejects.contains(s))
}

/// Every finding about the burst: when the limiter struck, its `Retry-After`, its headers.
pub fn judge(
    params: &RateLimitParams,
    subject: &str,
    burst: &Burst,
    budget: u32,
) -> Result<Observation, CheckError> {
    let rejects = Rejects::of(params);
    let mut obs = Observation::default();
    let sent = burst.answers.len() as u32 + burst.failed;
    let served = served(&burst.answers, &rejects);
    let rejection = first_rejection(&burst.answers, &rejects);
    let wrong_rejection = (!rejects.contains(503))
        .then(|| first_where(&burst.answers, |s| s == 503))
        .flatten();
    if rejection.is_none()
        && wrong_rejection.is_none()
        && let Some((seq, error)) = &burst.first_error
    {
        return Err(CheckError::new(format!(
            "{subject}: request {} of the burst failed: {error}",
            seq + 1
        )));
    }
    let limit_text = limit_text(params);
    let in_flight = u64::from(params.concurrency.0.min(budget));
    let trends = remaining_trends(&burst.answers, &rejects, in_flight);
    let rose = trends.iter().any(|(_, t)| matches!(t, Trend::Rose { .. }));
    // Set when a rise of the remaining count is explained by a window rollover.
    let rollover = match (rejection, wrong_rejection) {
        (None, Some(_)) => {
            obs.measure("served", f64::from(served));
            obs.measure("first_limited_at", f64::from(served + 1));
            obs.findings.push(wrong_status(subject, &rejects, served));
            false
        }
        (None, None) => {
            obs.measure("requests_sent", f64::from(sent));
            obs.findings
                .push(never_limited(subject, &rejects, sent, &limit_text, burst));
            false
        }
        (Some(limited), _) => {
            let rollover =
                limited_findings(&mut obs, params, subject, limited.status, served, rose);
            // Each aspect has its own subject, so that one can be waived without the others.
            retry_after_findings(&mut obs, &format!("{subject} Retry-After"), params, limited);
            rollover
        }
    };
    let headers_subject = format!("{subject} rate-limit headers");
    header_findings(&mut obs, &headers_subject, params, &burst.answers);
    if params.family_rule() != FamilyRule::None {
        trend_findings(&mut obs, &headers_subject, &trends, rollover);
    }
    obs.summary = Some(match rejection {
        Some(limited) => format!(
            "{subject} served {served} requests, then answered {}{limit_text}",
            limited.status
        ),
        None => format!("{subject}: {sent} requests sent"),
    });
    Ok(obs)
}

/// The requests the limiter served before its rejections took over: every served answer of the
/// burst. The burst stops sending at the first rejection, so the only served answers after it are
/// requests that were in flight and that the server handled before rejecting; counting them all
/// is what the server did, whatever the order in which answers came back over `concurrency`
/// connections.
pub fn served(answers: &[Answer], rejects: &Rejects) -> u32 {
    answers
        .iter()
        .filter(|a| !rejects.is_rejection(a.status))
        .count() as u32
}

pub fn limit_text(params: &RateLimitParams) -> String {
    match (params.limit, params.window) {
        (Some(l), Some(DurationParam(w))) => format!(" (limit {l} per {})", human(w)),
        (Some(l), None) => format!(" (limit {l})"),
        _ => String::new(),
    }
}

pub fn wrong_status(subject: &str, rejects: &Rejects, served: u32) -> Finding {
    Finding::fail(
        subject,
        format!(
            "the limiter answered 503 instead of {rejects} at request {}: clients read 503 as an \
             outage, not as a signal to slow down (nginx limit_req answers 503 unless \
             `limit_req_status {};` is set)",
            served + 1,
            rejects.first()
        ),
    )
    .with_evidence(serde_json::json!({"status": 503, "request": served + 1}))
}

fn never_limited(
    subject: &str,
    rejects: &Rejects,
    sent: u32,
    limit_text: &str,
    burst: &Burst,
) -> Finding {
    Finding::fail(
        subject,
        format!(
            "sent {sent} requests{limit_text} and none was answered {rejects} ({})",
            status_counts(&burst.answers)
        ),
    )
    .with_evidence(serde_json::json!({"requests_sent": sent}))
}

/// The first rejection must come by the allowance plus 10%; returns whether a window rollover
/// explains a later one. `served` is counted in the server's order, so the first rejection was
/// the server's request `served + 1`.
fn limited_findings(
    obs: &mut Observation,
    params: &RateLimitParams,
    subject: &str,
    status: u16,
    served: u32,
    rose: bool,
) -> bool {
    let first_at = served + 1;
    obs.measure("served", f64::from(served));
    obs.measure("first_limited_at", f64::from(first_at));
    let Some(allowance) = allowance(params) else {
        return false;
    };
    let served = u64::from(served);
    let tolerated = (allowance as f64 * 1.1).ceil() as u64;
    // A fixed window that rolled over during the burst legitimately serves up to twice the
    // limit; the headers show the rollover (remaining jumps back up).
    let rollover = rose && served > tolerated && served <= 2 * tolerated;
    if served > tolerated && !rollover {
        obs.findings.push(
            Finding::fail(
                subject,
                format!(
                    "the first {status} came at request {first_at} after {served} served \
                     requests{}: expected by request {} (limit + 10%)",
                    limit_text(params),
                    tolerated + 1
                ),
            )
            .with_evidence(serde_json::json!({
                "first_limited_at": first_at,
                "served_before": served,
                "tolerated": tolerated,
            })),
        );
    }
    rollover
}

pub fn status_counts(answers: &[Answer]) -> String {
    let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
    for a in answers {
        *counts.entry(a.status).or_default() += 1;
    }
    counts
        .iter()
        .map(|(s, n)| format!("{n}× {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn retry_after_findings(
    obs: &mut Observation,
    subject: &str,
    params: &RateLimitParams,
    limited: &Answer,
) {
    let expect = limited.status;
    match &limited.retry_after {
        None if params.retry_after == RetryAfterRule::Required => obs.findings.push(Finding::fail(
            subject,
            format!(
                "the {expect} response has no Retry-After header: clients cannot tell when \
                     to retry"
            ),
        )),
        None => {}
        Some(value) => match retry_after_seconds(value) {
            Err(e) => obs.findings.push(Finding::fail(subject, e)),
            Ok(s) if s <= 0.0 => obs.findings.push(Finding::fail(
                subject,
                format!("Retry-After \"{value}\" asks for no wait at all"),
            )),
            Ok(s) => {
                obs.measure("retry_after_s", s.round());
                if let Some(DurationParam(window)) = params.window
                    && s > window.as_secs_f64()
                {
                    obs.findings.push(Finding::warn(
                        subject,
                        format!(
                            "Retry-After {s:.0}s is longer than the window of {}",
                            human(window)
                        ),
                    ));
                }
            }
        },
    }
}

/// Where the remaining count of a family went during the served part of the burst.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Trend {
    Falls,
    /// The last quarter of the answers shows more remaining than the first quarter.
    Rose {
        from: u64,
        to: u64,
    },
    /// The same value in every answer.
    Constant(u64),
}

/// The trend of each family's remaining count, from the answers in arrival order. Answers
/// arrive slightly out of the server's order (many connections, two clocks), so single values
/// prove nothing: the medians of the first and last quarters are compared, and a rise counts
/// only when it is larger than the number of requests in flight could explain.
fn remaining_trends(answers: &[Answer], rejects: &Rejects, in_flight: u64) -> Vec<(Family, Trend)> {
    let median = |values: &[u64]| {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        sorted[sorted.len() / 2]
    };
    Family::ALL
        .into_iter()
        .filter_map(|family| {
            // Served answers only: every rejection rightly says 0.
            let values: Vec<u64> = answers
                .iter()
                .filter(|a| !rejects.is_rejection(a.status))
                .filter_map(|a| a.families.get(&family)?.remaining)
                .collect();
            if values.len() < 3 {
                return None;
            }
            if values.iter().all(|v| *v == values[0]) {
                return Some((family, Trend::Constant(values[0])));
            }
            let quarter = (values.len() / 4).max(1);
            let from = median(&values[..quarter]);
            let to = median(&values[values.len() - quarter..]);
            Some((
                family,
                if to > from + in_flight {
                    Trend::Rose { from, to }
                } else {
                    Trend::Falls
                },
            ))
        })
        .collect()
}

fn remaining_header(family: Family) -> &'static str {
    match family {
        Family::Ietf => "the remaining count in RateLimit",
        Family::Ratelimit => "RateLimit-Remaining",
        Family::XRatelimit => "X-RateLimit-Remaining",
    }
}

fn trend_findings(
    obs: &mut Observation,
    subject: &str,
    trends: &[(Family, Trend)],
    rollover: bool,
) {
    for (family, trend) in trends {
        let header = remaining_header(*family);
        match trend {
            Trend::Falls => {}
            Trend::Rose { .. } if rollover => {}
            Trend::Rose { from, to } => obs.findings.push(Finding::fail(
                subject,
                format!(
                    "{header} rose from about {from} to about {to} within the burst: the \
                     headers do not track the limit"
                ),
            )),
            Trend::Constant(value) => obs.findings.push(Finding::fail(
                subject,
                format!(
                    "{header} stays at {value} throughout the burst: the headers do not count \
                     requests"
                ),
            )),
        }
    }
}

/// The family the rule asks for must be present (any family for `any`), and each family
/// present must be readable and give the expected limit.
fn header_findings(
    obs: &mut Observation,
    subject: &str,
    params: &RateLimitParams,
    answers: &[Answer],
) {
    let rule = params.family_rule();
    if rule == FamilyRule::None {
        return;
    }
    let present: Vec<Family> = Family::ALL
        .into_iter()
        .filter(|f| answers.iter().any(|a| a.families.contains_key(f)))
        .collect();
    obs.findings
        .extend(missing_family(rule, &present).map(|m| Finding::fail(subject, m)));
    for family in present {
        let values: Vec<&FamilyValues> = answers
            .iter()
            .filter_map(|a| a.families.get(&family))
            .collect();
        if let Some(message) = family_problem(family, &values, params.limit) {
            obs.findings.push(Finding::fail(subject, message));
        }
    }
}

fn missing_family(rule: FamilyRule, present: &[Family]) -> Option<String> {
    let required = match rule {
        FamilyRule::Ietf => Family::Ietf,
        FamilyRule::Ratelimit => Family::Ratelimit,
        FamilyRule::XRatelimit => Family::XRatelimit,
        FamilyRule::Any | FamilyRule::None if present.is_empty() => {
            return Some(
                "no rate-limit headers in any response: none of RateLimit/RateLimit-Policy, \
                 RateLimit-Limit/-Remaining/-Reset or X-RateLimit-Limit/-Remaining/-Reset"
                    .to_string(),
            );
        }
        FamilyRule::Any | FamilyRule::None => return None,
    };
    if present.contains(&required) {
        return None;
    }
    let found = if present.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = present.iter().map(|f| f.name()).collect();
        format!(" (found {})", names.join(", "))
    };
    Some(format!(
        "no {} headers in any response{found}",
        required.name()
    ))
}

/// The first header of the family that could not be read, else a limit other than `expected`.
fn family_problem(
    family: Family,
    values: &[&FamilyValues],
    expected: Option<u64>,
) -> Option<String> {
    if let Some(error) = values.iter().find_map(|v| v.error.as_ref()) {
        return Some(error.clone());
    }
    let expected = expected?;
    let mut limits: Vec<u64> = values.iter().filter_map(|v| v.limit).collect();
    limits.sort_unstable();
    limits.dedup();
    let wrong = limits.iter().find(|l| **l != expected)?;
    Some(format!(
        "{} headers give a limit of {wrong}, the check expects {expected}",
        family.name()
    ))
}

/// How long to wait before checking that the limit lifted: `Retry-After`, else the window; the
/// warning why the reset cannot be verified when there is nothing to wait for or the wait is over
/// `max_wait`.
pub fn reset_wait(params: &RateLimitParams, limited: &Answer) -> Result<Duration, String> {
    let asked = limited
        .retry_after
        .as_deref()
        .and_then(|v| retry_after_seconds(v).ok())
        .filter(|s| *s > 0.0)
        .map(Duration::from_secs_f64)
        .or(params.window.map(|w| w.0));
    let Some(wait) = asked else {
        return Err(
            "the reset was not verified: no Retry-After and no `window` to wait for".to_string(),
        );
    };
    let DurationParam(max_wait) = params.max_wait;
    if wait > max_wait {
        return Err(format!(
            "the reset was not verified: Retry-After asks for {}, more than max_wait {}",
            human(wait),
            human(max_wait)
        ));
    }
    Ok(wait)
}

/// After the wait, the request must be served again.
pub fn reset_finding(
    subject: &str,
    params: &RateLimitParams,
    wait: Duration,
    status: u16,
) -> Option<Finding> {
    Rejects::of(params).is_rejection(status).then(|| {
        Finding::fail(
            subject,
            format!(
                "still answered {status} after waiting {} as Retry-After asked: the limit does \
                 not reset",
                human(wait)
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::node::parse_document;

    fn params(yaml: &str) -> RateLimitParams {
        parse_document(yaml).unwrap().parse().unwrap()
    }

    fn answer(seq: u32, status: u16) -> Answer {
        Answer {
            seq,
            status,
            ..Answer::default()
        }
    }

    /// `served` answers of 200, then one of `last`.
    fn burst(served: u32, last: u16) -> Burst {
        let mut answers: Vec<Answer> = (0..served).map(|seq| answer(seq, 200)).collect();
        answers.push(Answer {
            retry_after: Some("30".into()),
            ..answer(served, last)
        });
        Burst {
            answers,
            ..Burst::default()
        }
    }

    fn messages(obs: &Observation) -> Vec<&str> {
        obs.findings.iter().map(|f| f.message.as_str()).collect()
    }

    #[test]
    fn the_budget_is_twice_the_allowance_within_max_requests() {
        assert_eq!(budget(&params("limit: 10\nburst: 5")), 31);
        assert_eq!(budget(&params("limit: 1000\nmax_requests: 100")), 100);
        assert_eq!(budget(&params("{}")), 500);
    }

    #[test]
    fn a_limiter_that_strikes_in_time_passes() {
        let p = params("limit: 10\nwindow: 1m\nheaders: none");
        let obs = judge(&p, "GET /api", &burst(10, 429), 21).unwrap();
        assert!(obs.findings.is_empty(), "{:?}", obs.findings);
        assert_eq!(obs.measurements["first_limited_at"], 11.0);
        assert_eq!(obs.measurements["served"], 10.0);
        assert_eq!(obs.measurements["retry_after_s"], 30.0);
        assert_eq!(
            obs.summary.unwrap(),
            "GET /api served 10 requests, then answered 429 (limit 10 per 1m)"
        );
    }

    /// Over many connections the answers come back out of the server's order, and requests that
    /// were in flight at the first rejection are answered after it: what counts is what was served.
    #[test]
    fn the_count_served_does_not_depend_on_the_order_of_answers() {
        let p = params("limit: 10\nwindow: 1m\nheaders: none\nconcurrency: 32");
        let mut b = burst(10, 429);
        // Sending order: the rejection was sent third, and three served answers arrived after it.
        b.answers.rotate_right(4);
        b.answers[3].seq = 2;
        b.answers[6].seq = 10;
        b.answers.push(answer(40, 429));
        let obs = judge(&p, "GET /api", &b, 21).unwrap();
        assert!(obs.findings.is_empty(), "{:?}", obs.findings);
        assert_eq!(obs.measurements["first_limited_at"], 11.0);
        assert_eq!(
            obs.summary.unwrap(),
            "GET /api served 10 requests, then answered 429 (limit 10 per 1m)"
        );
    }

    #[test]
    fn a_late_limiter_fails_with_the_count_served() {
        let p = params("limit: 10\nwindow: 1m\nheaders: none");
        let obs = judge(&p, "GET /api", &burst(20, 429), 21).unwrap();
        assert_eq!(
            messages(&obs),
            [
                "the first 429 came at request 21 after 20 served requests (limit 10 per 1m): \
              expected by request 12 (limit + 10%)"
            ]
        );
        assert_eq!(obs.findings[0].evidence["tolerated"], 11);
    }

    #[test]
    fn a_503_is_the_wrong_rejection_and_none_at_all_fails() {
        let p = params("limit: 10\nheaders: none");
        let obs = judge(&p, "GET /api", &burst(5, 503), 21).unwrap();
        assert!(
            messages(&obs)[0].starts_with("the limiter answered 503 instead of 429 at request 6")
        );
        let obs = judge(&p, "GET /api", &burst(20, 200), 21).unwrap();
        assert_eq!(
            messages(&obs),
            ["sent 21 requests (limit 10) and none was answered 429 (21× 200)"]
        );
    }

    #[test]
    fn a_burst_that_broke_off_unlimited_could_not_look() {
        let mut b = burst(3, 200);
        b.first_error = Some((4, "connection reset".into()));
        b.failed = 1;
        let e = judge(&params("{}"), "GET /api", &b, 500).unwrap_err();
        assert_eq!(
            e.0,
            "GET /api: request 5 of the burst failed: connection reset"
        );
    }

    #[test]
    fn retry_after_must_be_present_and_headers_must_count() {
        let mut b = burst(10, 429);
        b.answers[10].retry_after = None;
        for a in &mut b.answers[..10] {
            a.families.insert(
                Family::XRatelimit,
                FamilyValues {
                    limit: Some(10),
                    remaining: Some(5),
                    error: None,
                },
            );
        }
        let obs = judge(&params("limit: 10"), "GET /api", &b, 21).unwrap();
        assert_eq!(
            messages(&obs),
            [
                "the 429 response has no Retry-After header: clients cannot tell when to retry",
                "X-RateLimit-Remaining stays at 5 throughout the burst: the headers do not count \
                 requests",
            ]
        );
        assert_eq!(obs.findings[0].subject, "GET /api Retry-After");
        assert_eq!(obs.findings[1].subject, "GET /api rate-limit headers");
    }

    #[test]
    fn the_required_header_family_must_be_present_and_consistent() {
        assert_eq!(
            missing_family(FamilyRule::Ietf, &[Family::XRatelimit]).unwrap(),
            "no RateLimit/RateLimit-Policy headers in any response (found \
             X-RateLimit-Limit/-Remaining/-Reset)"
        );
        assert!(
            missing_family(FamilyRule::Any, &[])
                .unwrap()
                .starts_with("no rate-limit headers")
        );
        assert!(missing_family(FamilyRule::Any, &[Family::Ietf]).is_none());
        let values = |limit, error: Option<&str>| FamilyValues {
            limit: Some(limit),
            remaining: Some(1),
            error: error.map(str::to_string),
        };
        let (right, wrong) = (values(10, None), values(20, None));
        assert_eq!(
            family_problem(Family::Ratelimit, &[&right, &wrong], Some(10)).unwrap(),
            "RateLimit-Limit/-Remaining/-Reset headers give a limit of 20, the check expects 10"
        );
        assert!(family_problem(Family::Ratelimit, &[&right, &wrong], None).is_none());
        let broken = values(10, Some("RateLimit-Reset \"x\" is not a number of seconds"));
        assert!(family_problem(Family::Ratelimit, &[&right, &broken], Some(10)).is_some());
    }

    #[test]
    fn the_reset_waits_for_retry_after_within_max_wait() {
        let p = params("limit: 10\nmax_wait: 10s");
        let limited = Answer {
            retry_after: Some("5".into()),
            ..answer(10, 429)
        };
        assert_eq!(reset_wait(&p, &limited), Ok(Duration::from_secs(5)));
        let long = Answer {
            retry_after: Some("60".into()),
            ..answer(10, 429)
        };
        let warned = reset_wait(&p, &long).unwrap_err();
        assert_eq!(
            warned,
            "the reset was not verified: Retry-After asks for 1m, more than max_wait 10s"
        );
        assert!(reset_wait(&p, &answer(10, 429)).is_err());
        let still = reset_finding("s", &p, Duration::from_secs(5), 429).unwrap();
        assert!(
            still
                .message
                .starts_with("still answered 429 after waiting 5s")
        );
        assert!(reset_finding("s", &p, Duration::from_secs(5), 200).is_none());
    }
}
