//! `tls`: the certificate a server presents is valid now, trusted, issued for the host, not
//! about to expire, and the server does not accept a protocol below `min_version`.
//!
//! The handshake completes whatever the verifier says (nothing is sent over the connection),
//! so that every problem is reported at once: an expired certificate for the wrong host is
//! two findings, not the first one the verifier happened to hit.

mod handshake;
pub mod verdict;

pub use verdict::certificate_problem;

use serde::{Deserialize, Deserializer, de};

use crate::checks::outcome::{CheckError, CheckOutcome};
use crate::checks::params::HttpUrl;
use crate::checks::{Ctx, KindSpec};
use crate::redact::redact_url;
use crate::target::TargetFamily;

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsParams {
    /// Default: the host of `url`, else of the target's base URL.
    pub host: Option<String>,
    /// Default: the port of `url` or of the target's base URL (443 for https).
    pub port: Option<u16>,
    pub url: Option<HttpUrl>,
    #[serde(default = "fourteen")]
    pub min_days: i64,
    #[serde(default = "thirty")]
    pub warn_days: i64,
    #[serde(default)]
    pub min_version: MinVersion,
}

fn fourteen() -> i64 {
    14
}
fn thirty() -> i64 {
    30
}

/// The lowest protocol the server may accept: TLS 1.2 (default) or 1.3. Written `1.2`, `"1.3"`
/// or `TLSv1.3`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum MinVersion {
    #[default]
    Tls12,
    Tls13,
}

impl schemars::JsonSchema for MinVersion {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "MinVersion".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "description": "1.2 or 1.3", "anyOf": [{ "type": "number" }, { "type": "string" }] })
    }
}

impl<'de> Deserialize<'de> for MinVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged, expecting = "expected a TLS version: 1.2 or 1.3")]
        enum Form {
            Number(f64),
            Text(String),
        }
        let text = match Form::deserialize(d)? {
            Form::Number(n) => format!("{n:.1}"),
            Form::Text(t) => t,
        };
        let bare = text
            .trim()
            .trim_start_matches("TLSv")
            .trim_start_matches("TLS")
            .trim();
        match bare {
            "1.2" => Ok(MinVersion::Tls12),
            "1.3" => Ok(MinVersion::Tls13),
            _ => Err(de::Error::custom(format!(
                "min_version `{text}` is not supported: write 1.2 or 1.3 (versions below 1.2 are \
                 never accepted as a minimum)"
            ))),
        }
    }
}

impl KindSpec for TlsParams {
    fn family(&self) -> Option<TargetFamily> {
        Some(TargetFamily::Http)
    }

    fn needs_target(&self) -> bool {
        self.url.is_none() && self.host.is_none()
    }
}

pub async fn run(params: &TlsParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let http = ctx.http()?;
    let (host, port) = endpoint(params, http.base_url.as_ref())?;
    let subject = format!("{host}:{port}");
    match handshake::gather(&host, port, &subject, params.min_version, ctx.timeout).await? {
        Ok(presented) => Ok(verdict::judge(params, &host, &subject, &presented)),
        Err(failure) => verdict::handshake_failed(&subject, &failure),
    }
}

/// The host and port to connect to: `host` and `port` when given, else those of `url` or of the
/// target's base URL, which must then be `https://`.
fn endpoint(params: &TlsParams, base_url: Option<&url::Url>) -> Result<(String, u16), CheckError> {
    let from_url = match (&params.url, base_url) {
        (Some(HttpUrl(u)), _) => Some(u.clone()),
        (None, Some(base)) => Some(base.clone()),
        (None, None) => None,
    };
    let host = match (&params.host, &from_url) {
        (Some(h), _) => h.clone(),
        (None, Some(u)) if u.scheme() == "https" => u.host_str().unwrap_or_default().to_string(),
        (None, Some(u)) => {
            return Err(CheckError::new(format!(
                "{} is not an https:// URL: there is no TLS to check (give `host`)",
                redact_url(u.as_str())
            )));
        }
        (None, None) => return Err(CheckError::new("no `host`, `url` or target to check")),
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = params
        .port
        .or_else(|| {
            from_url
                .as_ref()
                .filter(|u| params.host.is_none() && u.scheme() == "https")
                .and_then(url::Url::port_or_known_default)
        })
        .unwrap_or(443);
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(host: Option<&str>, port: Option<u16>, url: Option<&str>) -> TlsParams {
        TlsParams {
            host: host.map(str::to_string),
            port,
            url: url.map(|u| HttpUrl(url::Url::parse(u).unwrap())),
            min_days: 14,
            warn_days: 30,
            min_version: MinVersion::Tls12,
        }
    }

    #[test]
    fn the_endpoint_comes_from_host_url_or_target() {
        let base = url::Url::parse("https://api.example.com:8443/v1").unwrap();
        let at = |p: TlsParams, base: Option<&url::Url>| endpoint(&p, base);
        assert_eq!(
            at(params(None, None, None), Some(&base)).unwrap(),
            ("api.example.com".to_string(), 8443)
        );
        assert_eq!(
            at(params(None, None, Some("https://x.test/")), Some(&base)).unwrap(),
            ("x.test".to_string(), 443)
        );
        // A `host` of its own does not inherit the URL's port.
        assert_eq!(
            at(params(Some("[::1]"), None, None), Some(&base)).unwrap(),
            ("::1".to_string(), 443)
        );
        assert_eq!(
            at(params(Some("db.test"), Some(5433), None), None).unwrap(),
            ("db.test".to_string(), 5433)
        );
    }

    #[test]
    fn an_endpoint_without_tls_is_a_configuration_error() {
        let plain = url::Url::parse("http://user:pw@h.test/").unwrap();
        let e = endpoint(&params(None, None, None), Some(&plain)).unwrap_err();
        assert!(e.0.contains("is not an https:// URL"), "{e}");
        assert!(!e.0.contains("pw"), "{e}");
        let e = endpoint(&params(None, None, None), None).unwrap_err();
        assert_eq!(e.0, "no `host`, `url` or target to check");
    }
}
