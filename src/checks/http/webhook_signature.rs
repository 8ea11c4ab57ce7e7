//! `webhook_signature`: a webhook receiver must reject every forged delivery (unsigned, random
//! signature, wrong secret, body changed after signing, malformed header, replayed timestamp)
//! and, when the secret is available, accept a correctly signed one (the positive control,
//! without which an endpoint that rejects everything would pass).

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Deserializer, de};
use serde_json::Value as Json;

use super::{error_text, request, subject};
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::params::{DurationParam, OneOrMany};
use crate::checks::params::{HttpMethod, HttpUrl};
use crate::checks::{Ctx, KindSpec};
use crate::target::TargetFamily;

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    /// `sha256=<hex HMAC of the body>` (GitHub, Meta/WhatsApp).
    HmacSha256,
    /// `Stripe-Signature: t=<unix>,v1=<hex HMAC of "t.body">`.
    Stripe,
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC of "id.t.body">`.
    StandardWebhooks,
}

impl Scheme {
    fn default_header(self) -> &'static str {
        match self {
            Scheme::HmacSha256 => "X-Hub-Signature-256",
            Scheme::Stripe => "Stripe-Signature",
            Scheme::StandardWebhooks => "webhook-signature",
        }
    }

    fn timestamped(self) -> bool {
        self != Scheme::HmacSha256
    }
}

/// Where the signing secret comes from: `env:NAME`. A literal secret in a check file would be
/// committed to the repository, so it is a configuration error.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretRef {
    pub var: String,
}

impl schemars::JsonSchema for SecretRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SecretRef".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "description": "a reference, never the secret: env:NAME, dotenv:PATH#NAME or file:PATH" })
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let valid_name = |n: &str| {
            !n.is_empty()
                && !n.starts_with(|c: char| c.is_ascii_digit())
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        match text.strip_prefix("env:") {
            Some(var) if valid_name(var) => Ok(SecretRef {
                var: var.to_string(),
            }),
            // The value is never echoed: it may be the secret itself.
            _ => Err(de::Error::custom(
                "`secret` must name where the secret is, such as env:WA_APP_SECRET; a literal \
                 secret does not belong in a check file",
            )),
        }
    }
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookParams {
    pub path: Option<String>,
    pub url: Option<HttpUrl>,
    #[serde(default = "HttpMethod::post")]
    pub method: HttpMethod,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub scheme: Scheme,
    /// The signature header; default per scheme.
    pub header: Option<String>,
    pub secret: Option<SecretRef>,
    /// The payload: text as is, anything else as JSON.
    pub body: Option<Json>,
    #[serde(default = "rejections")]
    pub reject_status: OneOrMany<u16>,
    #[serde(default = "five_minutes")]
    pub tolerance: DurationParam,
}

fn rejections() -> OneOrMany<u16> {
    OneOrMany::Many(vec![400, 401, 403])
}
fn five_minutes() -> DurationParam {
    DurationParam(Duration::from_secs(300))
}

/// Bytes no common re-serialiser reproduces, so that a receiver verifying a re-serialised body
/// instead of the raw bytes rejects the positive control: spaced JSON (JavaScript
/// `JSON.stringify` and Go `encoding/json` write it compact), a non-ASCII letter (Python
/// `json.dumps` escapes it) and `<>&` (Go escapes them).
const DEFAULT_BODY: &str = r#"{"id": "evt_ready_probe", "type": "ready.probe", "data": {"amount": 100, "note": "café <ready> & co"}}"#;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Delivery {
    Unsigned,
    RandomSignature,
    WrongSecret,
    Tampered,
    Malformed,
    Stale,
    Positive,
}

impl Delivery {
    fn name(self) -> &'static str {
        match self {
            Delivery::Unsigned => "unsigned",
            Delivery::RandomSignature => "random-signature",
            Delivery::WrongSecret => "wrong-secret",
            Delivery::Tampered => "tampered-body",
            Delivery::Malformed => "malformed-header",
            Delivery::Stale => "stale-timestamp",
            Delivery::Positive => "correctly-signed",
        }
    }

    fn describe(self, tolerance: Duration) -> String {
        match self {
            Delivery::Unsigned => "an unsigned delivery".into(),
            Delivery::RandomSignature => "a delivery with a random well-formed signature".into(),
            Delivery::WrongSecret => "a delivery signed with a wrong secret".into(),
            Delivery::Tampered => "a delivery whose body was changed after signing".into(),
            Delivery::Malformed => "a delivery with a malformed signature header".into(),
            Delivery::Stale => format!(
                "a delivery timestamped {}s ago (tolerance {}s)",
                stale_age(tolerance),
                tolerance.as_secs()
            ),
            Delivery::Positive => "a correctly signed delivery".into(),
        }
    }
}

fn stale_age(tolerance: Duration) -> u64 {
    tolerance.as_secs() + 60
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes[..]);
    bytes
}

/// The key bytes a scheme signs with: Standard Webhooks secrets are `whsec_` + base64.
fn signing_key(scheme: Scheme, secret: &str) -> Result<Vec<u8>, String> {
    match scheme {
        Scheme::StandardWebhooks => BASE64
            .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
            .map_err(|_| {
                "the standard-webhooks secret is not `whsec_` followed by base64".to_string()
            }),
        _ => Ok(secret.as_bytes().to_vec()),
    }
}

/// Headers of one delivery: signature and, for timestamped schemes, id and timestamp.
fn signed_headers(
    scheme: Scheme,
    header: &str,
    key: &[u8],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Vec<(String, String)> {
    let ts = timestamp.to_string();
    match scheme {
        Scheme::HmacSha256 => vec![(
            header.to_string(),
            format!("sha256={}", hex::encode(hmac_sha256(key, &[body]))),
        )],
        Scheme::Stripe => vec![(
            header.to_string(),
            format!(
                "t={ts},v1={}",
                hex::encode(hmac_sha256(key, &[ts.as_bytes(), b".", body]))
            ),
        )],
        Scheme::StandardWebhooks => vec![
            ("webhook-id".into(), id.to_string()),
            ("webhook-timestamp".into(), ts.clone()),
            (
                header.to_string(),
                format!(
                    "v1,{}",
                    BASE64.encode(hmac_sha256(
                        key,
                        &[id.as_bytes(), b".", ts.as_bytes(), b".", body]
                    ))
                ),
            ),
        ],
    }
}

/// A body changed after signing: the first digit bumped (the amount in the default body).
fn tamper(body: &str) -> String {
    match body.char_indices().find(|(_, c)| c.is_ascii_digit()) {
        Some((i, c)) => {
            let bumped = char::from(b'0' + (c as u8 - b'0' + 1) % 10);
            format!("{}{bumped}{}", &body[..i], &body[i + 1..])
        }
        None => format!("{body} "),
    }
}

struct Prepared {
    delivery: Delivery,
    headers: Vec<(String, String)>,
    body: String,
}

/// Every delivery to send: the forgeries, then the positive control when the key is known.
fn prepare(params: &WebhookParams, key: Option<&[u8]>, body: &str, now: i64) -> Vec<Prepared> {
    let scheme = params.scheme;
    let header = params
        .header
        .clone()
        .unwrap_or_else(|| scheme.default_header().to_string());
    let wrong_key = random_bytes();
    // Without the real secret, deliveries that need it are signed with a wrong one: still
    // forgeries that must be rejected.
    let real_or_wrong = key.unwrap_or(&wrong_key);
    let signed = |key: &[u8], delivery: Delivery, at: i64| {
        signed_headers(
            scheme,
            &header,
            key,
            &delivery_id(delivery, now),
            at,
            body.as_bytes(),
        )
    };
    let mut out = vec![
        (Delivery::Unsigned, unsigned_headers(scheme, now)),
        (
            Delivery::RandomSignature,
            random_signature(scheme, &header, now),
        ),
        (
            Delivery::WrongSecret,
            signed(&wrong_key, Delivery::WrongSecret, now),
        ),
        (
            Delivery::Tampered,
            signed(real_or_wrong, Delivery::Tampered, now),
        ),
        (
            Delivery::Malformed,
            malformed_signature(scheme, &header, now),
        ),
    ];
    if scheme.timestamped() {
        let old = now - stale_age(params.tolerance.0) as i64;
        out.push((Delivery::Stale, signed(real_or_wrong, Delivery::Stale, old)));
    }
    if let Some(key) = key {
        out.push((Delivery::Positive, signed(key, Delivery::Positive, now)));
    }
    out.into_iter()
        .map(|(delivery, headers)| Prepared {
            delivery,
            headers,
            body: if delivery == Delivery::Tampered {
                tamper(body)
            } else {
                body.to_string()
            },
        })
        .collect()
}

/// A message id per delivery, so that a receiver deduplicating by id still judges each one.
fn delivery_id(delivery: Delivery, now: i64) -> String {
    format!("msg_ready_{}_{now}", delivery.name().replace('-', "_"))
}

/// Standard Webhooks still sends its id and timestamp; the others send nothing.
fn unsigned_headers(scheme: Scheme, now: i64) -> Vec<(String, String)> {
    match scheme {
        Scheme::StandardWebhooks => vec![
            (
                "webhook-id".to_string(),
                delivery_id(Delivery::Unsigned, now),
            ),
            ("webhook-timestamp".to_string(), now.to_string()),
        ],
        _ => Vec::new(),
    }
}

/// A well-formed signature of random bytes.
fn random_signature(scheme: Scheme, header: &str, now: i64) -> Vec<(String, String)> {
    let random = random_bytes();
    let header = header.to_string();
    match scheme {
        Scheme::HmacSha256 => vec![(header, format!("sha256={}", hex::encode(random)))],
        Scheme::Stripe => vec![(header, format!("t={now},v1={}", hex::encode(random)))],
        Scheme::StandardWebhooks => vec![
            (
                "webhook-id".into(),
                delivery_id(Delivery::RandomSignature, now),
            ),
            ("webhook-timestamp".into(), now.to_string()),
            (header, format!("v1,{}", BASE64.encode(random))),
        ],
    }
}

fn malformed_signature(scheme: Scheme, header: &str, now: i64) -> Vec<(String, String)> {
    let header = header.to_string();
    match scheme {
        Scheme::HmacSha256 => vec![(header, "sha256=not-a-signature!".to_string())],
        Scheme::Stripe => vec![(header, "t=yesterday,v1=zz".to_string())],
        Scheme::StandardWebhooks => vec![
            ("webhook-id".into(), delivery_id(Delivery::Malformed, now)),
            ("webhook-timestamp".into(), now.to_string()),
            (header, "v1,@@not-base64@@".to_string()),
        ],
    }
}

impl KindSpec for WebhookParams {
    fn family(&self) -> Option<TargetFamily> {
        Some(TargetFamily::Http)
    }

    fn disturbs(&self) -> bool {
        true
    }

    fn needs_target(&self) -> bool {
        self.url.is_none()
    }
}

pub async fn run(params: &WebhookParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let (http, env) = (ctx.http()?, ctx.env);
    let url = http.resolve(params.path.as_deref(), params.url.as_ref())?;
    let method = params.method.0.clone();
    let subject = subject(&method, &url);
    let key = match &params.secret {
        None => None,
        Some(SecretRef { var }) => {
            let secret = env.get(var).filter(|s| !s.is_empty()).ok_or_else(|| {
                CheckError::new(format!(
                    "the webhook secret env:{var} is not set: the positive control cannot run"
                ))
            })?;
            ctx.secrets.add(secret.clone());
            let key = signing_key(params.scheme, secret).map_err(CheckError::new)?;
            crate::redact::key_encodings(&key)
                .into_iter()
                .for_each(|form| ctx.secrets.add(form));
            Some(key)
        }
    };
    let body = match &params.body {
        None => DEFAULT_BODY.to_string(),
        Some(Json::String(text)) => text.clone(),
        Some(json) => json.to_string(),
    };
    let now = chrono::Utc::now().timestamp();
    let mut answers = Vec::new();
    for prepared in prepare(params, key.as_deref(), &body, now) {
        let mut req = request(&http.client, &method, &url, &params.headers)
            .header("content-type", "application/json");
        for (name, value) in &prepared.headers {
            req = req.header(name, value);
        }
        let response = req.body(prepared.body).send().await.map_err(|e| {
            CheckError::new(format!(
                "{subject}: sending {} failed: {}",
                prepared.delivery.describe(params.tolerance.0),
                error_text(&e)
            ))
        })?;
        let status = response.status().as_u16();
        // Only a crash's body and the control's are compared (`crash_finding`); both are capped.
        let body = if status >= 500 || prepared.delivery == Delivery::Positive {
            super::read_body(response)
                .await
                .map(|b| b.text)
                .unwrap_or_default()
        } else {
            String::new()
        };
        answers.push(Answer {
            delivery: prepared.delivery,
            status,
            body,
        });
    }
    judge(params, &subject, &answers)
}

/// How the receiver answered one delivery.
#[derive(Debug, Clone)]
struct Answer {
    delivery: Delivery,
    status: u16,
    /// Read for 5xx answers and for the positive control only.
    body: String,
}

/// Every forgery must be rejected with one of `reject_status`, the positive control accepted.
fn judge(params: &WebhookParams, subject: &str, answers: &[Answer]) -> CheckOutcome {
    if answers.iter().all(|a| a.status == 404 || a.status == 405) {
        return Err(CheckError::new(format!(
            "{subject} answered 404/405 to every delivery: no webhook receiver there (wrong path \
             or method?)"
        )));
    }
    let reject = params.reject_status.clone().into_vec();
    let control = answers.iter().find(|a| a.delivery == Delivery::Positive);
    let mut obs = Observation::default();
    for answer in answers {
        let (delivery, status) = (answer.delivery, answer.status);
        let what = delivery.describe(params.tolerance.0);
        let finding_subject = format!("{subject} {}", delivery.name());
        let message = match (delivery, status) {
            (Delivery::Positive, 200..=299) => continue,
            (Delivery::Positive, _) => format!(
                "{what} was rejected with {status}: real deliveries would be refused (wrong \
                 secret, or verifying a re-serialised body instead of the raw bytes?)"
            ),
            (_, 200..=299) => {
                format!("{what} was accepted ({status}): forged webhooks get processed")
            }
            (_, status) if reject.contains(&status) => continue,
            (_, 500..=599) => {
                obs.findings
                    .push(crash_finding(&finding_subject, &what, answer, control));
                continue;
            }
            (_, status) => {
                let expected: Vec<String> = reject.iter().map(u16::to_string).collect();
                format!(
                    "{what} was answered {status}, expected a rejection with {}",
                    expected.join(", ")
                )
            }
        };
        obs.findings.push(
            Finding::fail(finding_subject, message)
                .with_evidence(serde_json::json!({"delivery": delivery.name(), "status": status})),
        );
    }
    if control.is_none() {
        obs.findings.push(Finding::warn(
            format!("{subject} correctly-signed"),
            "positive control not run: without `secret` an endpoint that rejects everything \
             passes too",
        ));
    }
    obs.measure("deliveries", answers.len() as f64);
    obs.summary = Some(format!(
        "{subject} rejected all {} forged deliveries{}",
        answers.len() - usize::from(control.is_some()),
        if control.is_some() {
            " and accepted a correctly signed one"
        } else {
            ""
        }
    ));
    Ok(obs)
}

/// A forgery answered 5xx. A crash is not a rejection (senders retry it, and it hides real
/// errors), but by itself it does not show that the forgery was processed: a `warn`. It is a
/// `fail` when the positive control shows the crash says nothing about the signature: the
/// correctly signed delivery got the same 5xx (the receiver crashes whatever the signature, so
/// the crash does not tell a rejection from processing), or the crash's body is the body the
/// correctly signed delivery got (the forgery was handled like the real one).
fn crash_finding(subject: &str, what: &str, answer: &Answer, control: Option<&Answer>) -> Finding {
    let status = answer.status;
    let evidence = serde_json::json!({"delivery": answer.delivery.name(), "status": status});
    let processed = control.and_then(|c| {
        if c.status == status {
            Some(format!(
                "{what} was answered {status}, as the correctly signed delivery was: the crash \
                 does not show that the forgery was rejected rather than processed"
            ))
        } else if !answer.body.is_empty() && answer.body == c.body {
            Some(format!(
                "{what} was answered {status} with the body the correctly signed delivery got \
                 ({}): it was processed, then failed",
                c.status
            ))
        } else {
            None
        }
    });
    match processed {
        Some(message) => Finding::fail(subject, message).with_evidence(evidence),
        None => Finding::warn(
            subject,
            format!("{what} was rejected by crashing ({status}): answer 400"),
        )
        .with_evidence(evidence),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_published_examples() {
        // Standard Webhooks reference example (standard-webhooks spec).
        let key = signing_key(
            Scheme::StandardWebhooks,
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        )
        .unwrap();
        let headers = signed_headers(
            Scheme::StandardWebhooks,
            "webhook-signature",
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(
            headers[2].1,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn literal_secrets_are_refused() {
        let parse = |y: &str| {
            crate::config::node::parse_document(&format!("s: {y}"))
                .unwrap()
                .get("s")
                .unwrap()
                .parse::<SecretRef>()
        };
        assert_eq!(parse("env:WA_SECRET").unwrap().var, "WA_SECRET");
        let e = parse("hunter2-literal").unwrap_err();
        assert!(e.message.contains("must name where the secret is"));
        assert!(!e.message.contains("hunter2"));
    }

    #[test]
    fn tampering_changes_the_amount() {
        assert!(tamper(DEFAULT_BODY).contains("\"amount\": 200"));
    }

    #[test]
    fn a_forgery_answered_with_a_crash_warns() {
        let p = params("scheme: stripe\nsecret: env:S");
        let mut answers: Vec<Answer> = FORGERIES.iter().map(|d| answer(*d, 400)).collect();
        answers[4].status = 500;
        answers[4].body = "Internal Server Error".into();
        answers.push(Answer {
            body: r#"{"received": true}"#.into(),
            ..answer(Delivery::Positive, 200)
        });
        let obs = judge(&p, "POST /hook", &answers).unwrap();
        let found: Vec<(crate::vocab::Level, &str)> = obs
            .findings
            .iter()
            .map(|f| (f.level, f.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [(
                crate::vocab::Level::Warn,
                "a delivery with a malformed signature header was rejected by crashing (500): \
                 answer 400"
            )]
        );
    }

    fn answer(delivery: Delivery, status: u16) -> Answer {
        Answer {
            delivery,
            status,
            body: String::new(),
        }
    }

    /// A crash is a `fail` when the positive control shows it says nothing about the signature.
    #[test]
    fn a_crash_like_the_signed_delivery_s_answer_fails() {
        let p = params("scheme: stripe\nsecret: env:S");
        let levels = |answers: &[Answer]| -> Vec<(crate::vocab::Level, String)> {
            judge(&p, "POST /hook", answers)
                .unwrap()
                .findings
                .iter()
                .filter(|f| f.subject == "POST /hook malformed-header")
                .map(|f| (f.level, f.message.clone()))
                .collect()
        };
        let mut answers: Vec<Answer> = FORGERIES.iter().map(|d| answer(*d, 400)).collect();
        answers[4] = Answer {
            body: r#"{"received": true}"#.into(),
            ..answer(Delivery::Malformed, 500)
        };
        answers.push(Answer {
            body: r#"{"received": true}"#.into(),
            ..answer(Delivery::Positive, 200)
        });
        assert_eq!(
            levels(&answers),
            [(
                crate::vocab::Level::Fail,
                "a delivery with a malformed signature header was answered 500 with the body the \
                 correctly signed delivery got (200): it was processed, then failed"
                    .to_string()
            )]
        );
        answers[4].body = "boom".into();
        answers[6] = Answer {
            body: "boom too".into(),
            ..answer(Delivery::Positive, 500)
        };
        assert_eq!(
            levels(&answers),
            [(
                crate::vocab::Level::Fail,
                "a delivery with a malformed signature header was answered 500, as the correctly \
                 signed delivery was: the crash does not show that the forgery was rejected \
                 rather than processed"
                    .to_string()
            )]
        );
        // An empty crash body proves nothing, whatever the control's body.
        answers[4].body = String::new();
        answers[6] = answer(Delivery::Positive, 200);
        assert_eq!(levels(&answers)[0].0, crate::vocab::Level::Warn);
    }

    fn params(yaml: &str) -> WebhookParams {
        crate::config::node::parse_document(yaml)
            .unwrap()
            .parse()
            .unwrap()
    }

    const FORGERIES: [Delivery; 6] = [
        Delivery::Unsigned,
        Delivery::RandomSignature,
        Delivery::WrongSecret,
        Delivery::Tampered,
        Delivery::Malformed,
        Delivery::Stale,
    ];

    #[test]
    fn every_forgery_is_prepared_and_only_the_control_carries_the_real_signature() {
        let p = params("scheme: stripe\nsecret: env:S");
        let prepared = prepare(&p, Some(b"key"), DEFAULT_BODY, 1_700_000_000);
        let order: Vec<Delivery> = prepared.iter().map(|d| d.delivery).collect();
        assert_eq!(order[..6], FORGERIES);
        assert_eq!(order[6], Delivery::Positive);
        let expected = signed_headers(
            Scheme::Stripe,
            "Stripe-Signature",
            b"key",
            "",
            1_700_000_000,
            DEFAULT_BODY.as_bytes(),
        );
        assert_eq!(prepared[6].headers, expected);
        assert_eq!(
            prepared[3].headers, expected,
            "tampered: signed, then changed"
        );
        assert_ne!(prepared[3].body, DEFAULT_BODY);
        assert!(prepared[5].headers[0].1.starts_with("t=1699999640,"));
        // Without the secret, and without timestamps, there are five forgeries and no control.
        let unsigned_scheme = params("scheme: hmac-sha256");
        assert_eq!(prepare(&unsigned_scheme, None, "{}", 0).len(), 5);
    }

    #[test]
    fn accepted_forgeries_and_a_refused_control_fail() {
        let p = params("scheme: stripe\nsecret: env:S\nreject_status: [401]");
        let mut answers: Vec<Answer> = FORGERIES.iter().map(|d| answer(*d, 401)).collect();
        answers.push(answer(Delivery::Positive, 200));
        let obs = judge(&p, "POST /hook", &answers).unwrap();
        assert!(obs.findings.is_empty(), "{:?}", obs.findings);
        assert_eq!(
            obs.summary.unwrap(),
            "POST /hook rejected all 6 forged deliveries and accepted a correctly signed one"
        );
        answers[1].status = 200;
        answers[2].status = 400;
        answers[6].status = 401;
        let obs = judge(&p, "POST /hook", &answers).unwrap();
        let found: Vec<(&str, &str)> = obs
            .findings
            .iter()
            .map(|f| (f.subject.as_str(), f.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "POST /hook random-signature",
                    "a delivery with a random well-formed signature was accepted (200): forged \
                     webhooks get processed"
                ),
                (
                    "POST /hook wrong-secret",
                    "a delivery signed with a wrong secret was answered 400, expected a \
                     rejection with 401"
                ),
                (
                    "POST /hook correctly-signed",
                    "a correctly signed delivery was rejected with 401: real deliveries would be \
                     refused (wrong secret, or verifying a re-serialised body instead of the raw \
                     bytes?)"
                ),
            ]
        );
    }

    #[test]
    fn without_a_secret_the_control_is_missing_and_no_receiver_is_an_error() {
        let p = params("scheme: hmac-sha256");
        let answers: Vec<Answer> = FORGERIES[..5].iter().map(|d| answer(*d, 403)).collect();
        let obs = judge(&p, "POST /hook", &answers).unwrap();
        assert_eq!(obs.findings.len(), 1);
        assert_eq!(obs.findings[0].level, crate::vocab::Level::Warn);
        let missing: Vec<Answer> = FORGERIES[..5].iter().map(|d| answer(*d, 404)).collect();
        let e = judge(&p, "POST /hook", &missing).unwrap_err();
        assert!(e.0.starts_with("POST /hook answered 404/405 to every delivery"));
    }
}
