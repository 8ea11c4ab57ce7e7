//! The I/O of `tls`: handshakes that record what the server presents, read into plain facts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, ProtocolVersion, SignatureScheme};

use super::MinVersion;
use crate::checks::outcome::CheckError;

/// What the server presented, as the judgement reads it.
#[derive(Debug)]
pub struct Presented {
    /// The protocol negotiated when every supported version was offered.
    pub version: Option<ProtocolVersion>,
    /// What the real verifier said about the chain (`None`: it was not asked).
    pub verdict: Option<Result<(), rustls::Error>>,
    pub certificate: Certificate,
    /// Whether a TLS 1.2-only handshake also succeeds: probed only when `min_version` is 1.3
    /// and the server negotiated 1.3, `false` otherwise.
    pub accepts_tls12: bool,
    /// When the certificate was read, in Unix seconds.
    pub observed_at: i64,
}

/// The leaf certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct Certificate {
    pub subject: String,
    pub issuer: String,
    /// Alone in the chain and issued by itself.
    pub self_signed: bool,
    pub not_before: i64,
    pub not_after: i64,
    /// The subject alternative names as people write them.
    pub names: Vec<String>,
    /// Whether the certificate covers the host that was asked for.
    pub valid_for_host: bool,
}

/// Connects, completes the handshake whatever the verifier says and reads the certificate.
/// `Ok(Err(text))` when the handshake itself fails (no common protocol, reset, …).
pub async fn gather(
    host: &str,
    port: u16,
    subject: &str,
    min_version: MinVersion,
    timeout: Duration,
) -> Result<Result<Presented, String>, CheckError> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| CheckError::new(format!("`{host}` is not a valid host name")))?;
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots()?), provider())
        .build()
        .map_err(|e| CheckError::new(format!("TLS verifier: {e}")))?;
    let all_versions = [&rustls::version::TLS13, &rustls::version::TLS12];
    let shake = match handshake(host, port, &name, verifier.clone(), &all_versions, timeout).await?
    {
        Ok(shake) => shake,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let certificate = read_leaf(&shake.chain, &name, subject)?;
    let observed_at = chrono::Utc::now().timestamp();
    let accepts_tls12 = min_version == MinVersion::Tls13
        && shake.version == Some(ProtocolVersion::TLSv1_3)
        && matches!(
            handshake(
                host,
                port,
                &name,
                verifier,
                &[&rustls::version::TLS12],
                timeout
            )
            .await,
            Ok(Ok(_))
        );
    Ok(Ok(Presented {
        version: shake.version,
        verdict: shake.verdict,
        certificate,
        accepts_tls12,
        observed_at,
    }))
}

fn read_leaf(
    chain: &[CertificateDer<'static>],
    name: &ServerName<'static>,
    subject: &str,
) -> Result<Certificate, CheckError> {
    let Some(leaf) = chain.first() else {
        return Err(CheckError::new(format!(
            "{subject} presented no certificate"
        )));
    };
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).map_err(|e| {
        CheckError::new(format!(
            "{subject} presented an unreadable certificate: {e}"
        ))
    })?;
    let names = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| san.value.general_names.iter().map(general_name).collect())
        .unwrap_or_default();
    Ok(Certificate {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        // Issued by itself, whatever else the server sent along.
        self_signed: cert.subject() == cert.issuer(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        names,
        valid_for_host: ParsedCertificate::try_from(leaf)
            .map(|parsed| verify_server_name(&parsed, name).is_ok())
            .unwrap_or(false),
    })
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
