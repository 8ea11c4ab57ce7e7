//! `tls`: the certificate a server presents is valid now, trusted, issued for the host, not
//! about to expire, and the server does not accept a protocol below `min_version`.
//!
//! The handshake completes whatever the verifier says (nothing is sent over the connection),
//! so that every problem is reported at once: an expired certificate for the wrong host is
//! two findings, not the first one the verifier happened to hit.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, ProtocolVersion, SignatureScheme};
use serde::{Deserialize, Deserializer, de};

use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::params::HttpUrl;
use crate::checks::{Ctx, KindSpec};
use crate::model::TargetFamily;

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
        #[serde(untagged)]
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

/// Accepts any certificate but records what the real verifier said about it.
#[derive(Debug)]
struct Recording {
    inner: Arc<WebPkiServerVerifier>,
    verdict: Mutex<Option<Result<(), rustls::Error>>>,
    chain: Mutex<Vec<CertificateDer<'static>>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map(|_| ());
        *self.verdict.lock().unwrap_or_else(|e| e.into_inner()) = Some(verdict);
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        *self.chain.lock().unwrap_or_else(|e| e.into_inner()) = chain;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The trusted roots: the system's, or `SSL_CERT_FILE` / `SSL_CERT_DIR` when set.
fn roots() -> Result<rustls::RootCertStore, CheckError> {
    let loaded = rustls_native_certs::load_native_certs();
    let mut store = rustls::RootCertStore::empty();
    let (added, _ignored) = store.add_parsable_certificates(loaded.certs);
    if added == 0 {
        let why = loaded
            .errors
            .first()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        return Err(CheckError::new(format!(
            "no trusted root certificates could be loaded{why}; install ca-certificates or set \
             SSL_CERT_FILE"
        )));
    }
    Ok(store)
}

struct Handshake {
    version: Option<ProtocolVersion>,
    verdict: Option<Result<(), rustls::Error>>,
    chain: Vec<CertificateDer<'static>>,
}

async fn handshake(
    host: &str,
    port: u16,
    name: &ServerName<'static>,
    verifier: Arc<WebPkiServerVerifier>,
    versions: &[&'static rustls::SupportedProtocolVersion],
    timeout: Duration,
) -> Result<Result<Handshake, std::io::Error>, CheckError> {
    let recording = Arc::new(Recording {
        inner: verifier,
        verdict: Mutex::new(None),
        chain: Mutex::new(Vec::new()),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .map_err(|e| CheckError::new(format!("TLS configuration: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(recording.clone())
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::time::timeout(timeout, tokio::net::TcpStream::connect((host, port)))
        .await
        .map_err(|_| CheckError::new(format!("cannot connect to {host}:{port}: timed out")))?
        .map_err(|e| CheckError::new(format!("cannot connect to {host}:{port}: {e}")))?;
    let result = tokio::time::timeout(timeout, connector.connect(name.clone(), tcp))
        .await
        .map_err(|_| CheckError::new(format!("TLS handshake with {host}:{port} timed out")))?;
    Ok(result.map(|stream| Handshake {
        version: stream.get_ref().1.protocol_version(),
        verdict: recording
            .verdict
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take(),
        chain: std::mem::take(&mut *recording.chain.lock().unwrap_or_else(|e| e.into_inner())),
    }))
}

fn version_name(v: Option<ProtocolVersion>) -> &'static str {
    match v {
        Some(ProtocolVersion::TLSv1_3) => "TLS 1.3",
        Some(ProtocolVersion::TLSv1_2) => "TLS 1.2",
        _ => "an unknown protocol",
    }
}

/// A subject alternative name as people write it: `example.com`, `127.0.0.1`.
fn general_name(name: &x509_parser::extensions::GeneralName) -> String {
    use x509_parser::extensions::GeneralName;
    match name {
        GeneralName::DNSName(dns) => dns.to_string(),
        GeneralName::IPAddress(bytes) => match bytes.len() {
            4 => std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*bytes).unwrap_or_default())
                .to_string(),
            16 => std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*bytes).unwrap_or_default())
                .to_string(),
            _ => name.to_string(),
        },
        other => other.to_string(),
    }
}

fn date(timestamp: i64) -> String {
    chrono::DateTime::from_timestamp(timestamp, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| timestamp.to_string())
}

impl KindSpec for TlsParams {
    fn family(&self) -> Option<TargetFamily> {
        Some(TargetFamily::Http)
    }

    fn is_network(&self) -> bool {
        true
    }

    fn needs_target(&self) -> bool {
        self.url.is_none() && self.host.is_none()
    }
}

pub async fn run(params: &TlsParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let (http, timeout) = (ctx.http()?, ctx.timeout);
    let from_url = match (&params.url, &http.base_url) {
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
                crate::redact::redact_url(u.as_str())
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
    let subject = format!("{host}:{port}");
    let name = ServerName::try_from(host.clone())
        .map_err(|_| CheckError::new(format!("`{host}` is not a valid host name")))?;
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots()?), provider())
        .build()
        .map_err(|e| CheckError::new(format!("TLS verifier: {e}")))?;

    let all_versions = [&rustls::version::TLS13, &rustls::version::TLS12];
    let shake =
        match handshake(&host, port, &name, verifier.clone(), &all_versions, timeout).await? {
            Ok(h) => h,
            Err(e) => {
                let text = e.to_string();
                if text.contains("ProtocolVersion") || text.contains("protocol version") {
                    let mut obs = Observation::default();
                    obs.findings.push(Finding::fail(
                        &subject,
                        format!("{subject} offers neither TLS 1.3 nor TLS 1.2 ({text})"),
                    ));
                    return Ok(obs);
                }
                return Err(CheckError::new(format!(
                    "TLS handshake with {subject} failed: {text}"
                )));
            }
        };

    let mut obs = Observation::default();
    let Some(leaf) = shake.chain.first() else {
        return Err(CheckError::new(format!(
            "{subject} presented no certificate"
        )));
    };
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).map_err(|e| {
        CheckError::new(format!(
            "{subject} presented an unreadable certificate: {e}"
        ))
    })?;
    let now = chrono::Utc::now().timestamp();
    let not_before = cert.validity().not_before.timestamp();
    let not_after = cert.validity().not_after.timestamp();
    let days_left = (not_after - now).div_euclid(86_400);
    obs.measure("days_to_expiry", days_left as f64);
    let evidence = serde_json::json!({
        "subject": cert.subject().to_string(),
        "issuer": cert.issuer().to_string(),
        "not_before": date(not_before),
        "not_after": date(not_after),
        "protocol": version_name(shake.version),
    });

    if now > not_after {
        obs.findings.push(
            Finding::fail(
                &subject,
                format!(
                    "the certificate expired on {} ({} days ago)",
                    date(not_after),
                    (now - not_after) / 86_400
                ),
            )
            .with_evidence(evidence.clone()),
        );
    } else if now < not_before {
        obs.findings.push(
            Finding::fail(
                &subject,
                format!("the certificate is not valid before {}", date(not_before)),
            )
            .with_evidence(evidence.clone()),
        );
    } else if days_left < params.min_days {
        obs.findings.push(
            Finding::fail(
                &subject,
                format!(
                    "the certificate expires in {days_left} days ({}), under min_days {}",
                    date(not_after),
                    params.min_days
                ),
            )
            .with_evidence(evidence.clone()),
        );
    } else if days_left < params.warn_days {
        obs.findings.push(
            Finding::warn(
                &subject,
                format!(
                    "the certificate expires in {days_left} days ({}), under warn_days {}",
                    date(not_after),
                    params.warn_days
                ),
            )
            .with_evidence(evidence.clone()),
        );
    }

    // The host name on its own, so that it is reported whatever else is wrong.
    let names: Vec<String> = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| san.value.general_names.iter().map(general_name).collect())
        .unwrap_or_default();
    let name_ok = ParsedCertificate::try_from(leaf)
        .map(|parsed| verify_server_name(&parsed, &name).is_ok())
        .unwrap_or(false);
    if !name_ok {
        obs.findings.push(
            Finding::fail(
                &subject,
                format!(
                    "the certificate is not valid for {host} (it names {})",
                    if names.is_empty() {
                        "no subject alternative names".to_string()
                    } else {
                        names.join(", ")
                    }
                ),
            )
            .with_evidence(evidence.clone()),
        );
    }

    match &shake.verdict {
        None | Some(Ok(())) => {}
        Some(Err(rustls::Error::InvalidCertificate(error))) => match error {
            // Reported from the dates and the name above.
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. }
            | CertificateError::NotValidForName
            | CertificateError::NotValidForNameContext { .. } => {}
            CertificateError::UnknownIssuer => {
                let self_signed = shake.chain.len() == 1 && cert.subject() == cert.issuer();
                let message = if self_signed {
                    format!(
                        "the certificate is self-signed ({}): no client trusts it",
                        cert.subject()
                    )
                } else {
                    format!(
                        "the certificate is not trusted: its issuer ({}) chains to no trusted root",
                        cert.issuer()
                    )
                };
                obs.findings
                    .push(Finding::fail(&subject, message).with_evidence(evidence.clone()));
            }
            CertificateError::BadSignature => obs.findings.push(
                Finding::fail(
                    &subject,
                    format!(
                        "the certificate's signature does not verify: it names an issuer ({}) \
                         that did not sign it",
                        cert.issuer()
                    ),
                )
                .with_evidence(evidence.clone()),
            ),
            other => obs.findings.push(
                Finding::fail(&subject, format!("the certificate is rejected: {other:?}"))
                    .with_evidence(evidence.clone()),
            ),
        },
        Some(Err(other)) => obs.findings.push(
            Finding::fail(&subject, format!("the certificate is rejected: {other}"))
                .with_evidence(evidence.clone()),
        ),
    }

    if params.min_version == MinVersion::Tls13 {
        if shake.version != Some(ProtocolVersion::TLSv1_3) {
            obs.findings.push(Finding::fail(
                &subject,
                format!(
                    "negotiated {}, below min_version TLS 1.3",
                    version_name(shake.version)
                ),
            ));
        } else if let Ok(Ok(_)) = handshake(
            &host,
            port,
            &name,
            verifier,
            &[&rustls::version::TLS12],
            timeout,
        )
        .await
        {
            obs.findings.push(Finding::fail(
                &subject,
                "the server also accepts TLS 1.2, below min_version TLS 1.3",
            ));
        }
    }

    obs.summary = Some(format!(
        "{subject}: {}, certificate valid until {} ({days_left} days), issued by {}",
        version_name(shake.version),
        date(not_after),
        cert.issuer()
    ));
    Ok(obs)
}
