//! `rate_limit`: a bounded burst must be answered with 429 (not later than the configured limit
//! allows), with a valid `Retry-After` and at least one consistent family of rate-limit headers,
//! and the limit must lift again after `Retry-After`.
//!
//! The burst reuses connections (`concurrency` of them, each sending its next request as soon as
//! the previous one is answered) and stops at the first rejection: the point is to observe the
//! limiter, not to load the service.

mod burst;
mod headers;
mod identity;
mod judgement;
mod per_user;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Deserializer, de};
use serde_json::Value as Json;

use super::{HttpHandle, subject};
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::params::{DurationParam, OneOrMany};
use crate::checks::params::{HttpMethod, HttpUrl};
use crate::checks::{Ctx, KindSpec};
use crate::target::TargetFamily;
use burst::{Answer, Burst};
use identity::{Identities, Shot};
use judgement::Rejects;
use per_user::Before;

/// The most requests one check may ever send (SPEC §6).
pub const HARD_CAP: u32 = 10_000;
const DEFAULT_MAX_REQUESTS: u32 = 500;
const MAX_CONCURRENCY: u32 = 256;

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitParams {
    pub path: Option<String>,
    pub url: Option<HttpUrl>,
    #[serde(default)]
    pub method: HttpMethod,
    /// Requests allowed per `window`; the first rejection must come by then (plus tolerance).
    pub limit: Option<u64>,
    pub window: Option<DurationParam>,
    /// Extra requests a token bucket may serve at once on top of `limit`.
    #[serde(default)]
    pub burst: u64,
    #[serde(default = "default_concurrency")]
    pub concurrency: Concurrency,
    #[serde(default)]
    pub max_requests: MaxRequests,
    #[serde(default = "too_many")]
    pub expect_status: u16,
    #[serde(default)]
    pub retry_after: RetryAfterRule,
    #[serde(default)]
    pub headers: HeadersParam,
    #[serde(default)]
    pub reset: bool,
    #[serde(default = "default_max_wait")]
    pub max_wait: DurationParam,
    /// The request body (a failed login, for a lockout): text as is, anything else as JSON.
    pub body: Option<Json>,
    /// The statuses that count as the rejection (a lockout: 423, 403); replaces `expect_status`.
    pub reject_statuses: Option<OneOrMany<u16>>,
    /// Who each request is from: the limit must be per identity.
    pub per: Option<identity::Per>,
    /// Requests all identities together may make per `window` (needs `per`).
    pub global_limit: Option<u64>,
    /// The header family rule when `headers` is a map of request headers (a login that needs
    /// an API key and sends no rate-limit headers: `none`).
    pub header_family: Option<FamilyRule>,
}

impl RateLimitParams {
    /// Which family of rate-limit headers must be present: `header_family`, else `headers`.
    pub fn family_rule(&self) -> FamilyRule {
        self.header_family.unwrap_or(self.headers.rule)
    }
}

fn too_many() -> u16 {
    429
}
fn default_concurrency() -> Concurrency {
    Concurrency(32)
}
fn default_max_wait() -> DurationParam {
    DurationParam(Duration::from_secs(65))
}

/// Connections used for the burst: 1 to 256.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Concurrency(pub u32);

impl schemars::JsonSchema for Concurrency {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Concurrency".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "integer", "minimum": 1, "maximum": 256 })
    }
}

impl<'de> Deserialize<'de> for Concurrency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u32::deserialize(d)? {
            n @ 1..=MAX_CONCURRENCY => Ok(Concurrency(n)),
            n => Err(de::Error::custom(format!(
                "concurrency {n} is out of range: 1 to {MAX_CONCURRENCY}"
            ))),
        }
    }
}

/// The request budget: at most the hard cap of 10,000.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaxRequests(pub u32);

impl Default for MaxRequests {
    fn default() -> Self {
        MaxRequests(DEFAULT_MAX_REQUESTS)
    }
}

impl schemars::JsonSchema for MaxRequests {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "MaxRequests".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "integer", "minimum": 1, "maximum": 10000 })
    }
}

impl<'de> Deserialize<'de> for MaxRequests {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u32::deserialize(d)? {
            n @ 1..=HARD_CAP => Ok(MaxRequests(n)),
            n => Err(de::Error::custom(format!(
                "max_requests {n} is out of range: 1 to {HARD_CAP} (the hard cap)"
            ))),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RetryAfterRule {
    /// The rejection must carry a valid `Retry-After`.
    #[default]
    Required,
    /// When present it must be valid.
    Optional,
}

/// Which family of rate-limit headers must be present.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FamilyRule {
    #[default]
    Any,
    Ietf,
    Ratelimit,
    XRatelimit,
    None,
}

/// `headers:` is the family rule (`any`, `ietf`, `ratelimit`, `x-ratelimit`, `none`); a mapping
/// instead gives request headers to send (the family rule is then `any`).
#[derive(Debug, Clone, Default)]
pub struct HeadersParam {
    pub rule: FamilyRule,
    pub request: BTreeMap<String, String>,
}

impl schemars::JsonSchema for HeadersParam {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HeadersParam".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "description": "a header family rule, or request headers to send", "anyOf": [{ "enum": ["any", "ietf", "ratelimit", "x-ratelimit", "none"] }, { "type": "object", "additionalProperties": { "type": "string" } }] })
    }
}

impl<'de> Deserialize<'de> for HeadersParam {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(
            untagged,
            expecting = "expected a header family (any, ietf, ratelimit, x-ratelimit, none) or a mapping of request headers"
        )]
        enum Form {
            Rule(String),
            Request(BTreeMap<String, String>),
        }
        match Form::deserialize(d)? {
            Form::Request(request) => Ok(HeadersParam {
                rule: FamilyRule::Any,
                request,
            }),
            Form::Rule(text) => {
                let rule = match text.as_str() {
                    "any" => FamilyRule::Any,
                    "ietf" => FamilyRule::Ietf,
                    "ratelimit" => FamilyRule::Ratelimit,
                    "x-ratelimit" => FamilyRule::XRatelimit,
                    "none" => FamilyRule::None,
                    other => {
                        return Err(de::Error::custom(format!(
                            "unknown header family `{other}`; expected one of: any, ietf, \
                             ratelimit, x-ratelimit, none (or a mapping of request headers)"
                        )));
                    }
                };
                Ok(HeadersParam {
                    rule,
                    request: BTreeMap::new(),
                })
            }
        }
    }
}

impl KindSpec for RateLimitParams {
    fn family(&self) -> Option<TargetFamily> {
        Some(TargetFamily::Http)
    }

    fn disturbs(&self) -> bool {
        true
    }

    /// A reset waits for `Retry-After`, at most `max_wait`, and a little more (`burst::status_after`).
    fn waits(&self) -> Duration {
        if self.reset {
            self.max_wait.0 + burst::PAST_THE_WAIT
        } else {
            Duration::ZERO
        }
    }

    fn needs_target(&self) -> bool {
        self.url.is_none()
    }
}

pub async fn run(params: &RateLimitParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let http = ctx.http()?;
    let url = http.resolve(params.path.as_deref(), params.url.as_ref())?;
    let method = params.method.0.clone();
    let subject = subject(&method, &url);
    if params.global_limit.is_some() && params.per.is_none() {
        return Err(CheckError::new(
            "`global_limit` needs `per` (a header, query parameter, JSON field or bearer tokens \
             that tell the identities apart)",
        ));
    }
    let base = Shot {
        url,
        headers: params.headers.request.clone(),
        body: identity::body(params.body.as_ref()),
    };
    let identities = Identities::resolve(base, params.per.as_ref(), params.body.as_ref(), ctx)?;
    let first = identities.shot(0);
    let budget = judgement::budget(params);
    let burst = burst::burst(http, &method, Arc::from([first.clone()]), params, budget).await;
    let mut obs = judgement::judge(params, &subject, &burst, budget)?;
    let rejection = judgement::first_rejection(&burst.answers, &Rejects::of(params)).cloned();
    let Some(limited) = rejection else {
        return Ok(obs);
    };
    let mut last_limited = limited.clone();
    if params.per.is_some() {
        let probe = Probe {
            http,
            method: &method,
            params,
            identities: &identities,
            subject: &subject,
        };
        if let Some(global) = probe.identities(&mut obs, &burst).await? {
            last_limited = global;
        }
    }
    if params.reset {
        let subject = format!("{subject} reset");
        // After a global burst the later of the two waits: the global limit must lift too.
        let wait = judgement::reset_wait(params, &limited)
            .map(|wait| judgement::reset_wait(params, &last_limited).map_or(wait, |w| w.max(wait)));
        match wait {
            Err(not_verified) => obs.findings.push(Finding::warn(&subject, not_verified)),
            Ok(wait) => {
                let status = burst::status_after(http, &method, &first, wait, &subject).await?;
                obs.findings
                    .extend(judgement::reset_finding(&subject, params, wait, status));
            }
        }
    }
    Ok(obs)
}

/// What the probes after the first identity's burst share.
struct Probe<'a> {
    http: &'a HttpHandle,
    method: &'a reqwest::Method,
    params: &'a RateLimitParams,
    identities: &'a Identities,
    subject: &'a str,
}

impl Probe<'_> {
    /// Once the first identity is limited: a second identity must be served, and with
    /// `global_limit` the identities together must be limited at it. Returns the global
    /// burst's first rejection.
    async fn identities(
        &self,
        obs: &mut Observation,
        first: &Burst,
    ) -> Result<Option<Answer>, CheckError> {
        let (params, rejects) = (self.params, Rejects::of(self.params));
        let sent = first.answers.len() as u32 + first.failed;
        let mut summary = obs.summary.take().unwrap_or_default();
        let per_user = format!("{} per-user", self.subject);
        if sent >= params.max_requests.0 {
            obs.findings.push(Finding::warn(
                &per_user,
                format!(
                    "the per-user limit was not verified: the first identity's burst spent all \
                     {sent} requests of max_requests"
                ),
            ));
            obs.summary = Some(summary);
            return Ok(None);
        }
        let second = self.identities.shot(1);
        let status = burst::status_of(self.http, self.method, &second, &per_user).await?;
        let refused = per_user::second_identity_finding(&per_user, &rejects, status);
        summary.push_str(if refused.is_some() {
            "; a second identity was refused too"
        } else {
            "; a second identity was still served"
        });
        let global = match (params.global_limit, refused) {
            (_, Some(finding)) => {
                obs.findings.push(finding);
                None
            }
            (None, None) => None,
            (Some(global), None) => {
                let before = Before {
                    served: judgement::served(&first.answers, &rejects) + 1,
                    sent: sent + 1,
                    identities: 2,
                };
                let (text, limited) = self.global_burst(obs, global, before).await?;
                summary.push_str(&format!("; {text}"));
                limited
            }
        };
        obs.summary = Some(summary);
        Ok(global)
    }

    /// Many identities in turn, each staying under its own limit, until the global limit strikes.
    async fn global_burst(
        &self,
        obs: &mut Observation,
        global: u64,
        mut before: Before,
    ) -> Result<(String, Option<Answer>), CheckError> {
        let params = self.params;
        let subject = format!("{} global", self.subject);
        let budget = per_user::global_budget(params, global, before);
        let needed = per_user::identities_needed(params, budget);
        let shots: Vec<Shot> = match self.identities.available() {
            Some(tokens) => {
                let usable = tokens as u32 - 1;
                if params.limit.is_some() && usable < needed {
                    return Err(CheckError::new(format!(
                        "{subject}: verifying global_limit {global} needs {} bearer tokens (the \
                         first, and {needed} that each stay under `limit`); {tokens} are given",
                        needed + 1
                    )));
                }
                before.identities = tokens;
                (1..tokens).map(|n| self.identities.shot(n)).collect()
            }
            None => {
                before.identities = 2 + needed as usize;
                (2..2 + needed as usize)
                    .map(|n| self.identities.shot(n))
                    .collect()
            }
        };
        let burst = burst::burst(self.http, self.method, Arc::from(shots), params, budget).await;
        let text = per_user::judge_global(obs, params, &subject, global, &burst, before)?;
        let limited = judgement::first_rejection(&burst.answers, &Rejects::of(params)).cloned();
        Ok((text, limited))
    }
}
