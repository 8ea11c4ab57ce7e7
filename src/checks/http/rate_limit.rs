//! `rate_limit`: a bounded burst must be answered with 429 (not later than the configured limit
//! allows), with a valid `Retry-After` and at least one consistent family of rate-limit headers,
//! and the limit must lift again after `Retry-After`.
//!
//! The burst reuses connections (`concurrency` of them, each sending its next request as soon as
//! the previous one is answered) and stops at the first rejection: the point is to observe the
//! limiter, not to load the service.

mod burst;
mod headers;
mod judgement;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer, de};

use super::subject;
use crate::checks::outcome::{CheckOutcome, Finding};
use crate::checks::params::DurationParam;
use crate::checks::params::{HttpMethod, HttpUrl};
use crate::checks::{Ctx, KindSpec};
use crate::model::TargetFamily;

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
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
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
    let budget = judgement::budget(params);
    let burst = burst::burst(http, &method, &url, params, budget).await;
    let mut obs = judgement::judge(params, &subject, &burst, budget)?;
    let rejection = judgement::first_with_status(&burst.answers, params.expect_status);
    if params.reset
        && let Some(limited) = rejection
    {
        let subject = format!("{subject} reset");
        match judgement::reset_wait(params, limited) {
            Err(not_verified) => obs.findings.push(Finding::warn(&subject, not_verified)),
            Ok(wait) => {
                let status =
                    burst::status_after(http, &method, &url, params, wait, &subject).await?;
                obs.findings
                    .extend(judgement::reset_finding(&subject, params, wait, status));
            }
        }
    }
    Ok(obs)
}
