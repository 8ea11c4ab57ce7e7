//! A PostgreSQL login attempt with no credentials at all, spoken on the wire by hand.
//!
//! sqlx (like libpq) fills a missing password from `PGPASSWORD` or a pgpass file, and a client
//! certificate from `PGSSLCERT`/`PGSSLKEY`: a "without a password" probe through it would send the
//! user's own credentials to the host it tests. This sends a startup message (user, database,
//! application name) and answers nothing the server asks for: any authentication request means a
//! credential is required.

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::checks::outcome::CheckError;

/// The protocol's `SSLRequest` code and version 3.0.
const SSL_REQUEST: i32 = 80_877_103;
const PROTOCOL_3_0: i32 = 196_608;
/// A server's first answer is short; anything longer is not PostgreSQL.
pub(super) const MAX_MESSAGE: usize = 64 * 1024;

/// What the server said to a client that offers no credential.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Answer {
    /// `AuthenticationOk`: it let the client in.
    LetIn,
    /// It asked for a password (or another credential), or refused the role outright.
    Refused,
}

pub(super) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Connects (TLS when the server offers it, like `sslmode=prefer`), sends the startup message
/// and reads the server's verdict. Nothing from the environment is read.
pub async fn login_without_credentials(
    host: &str,
    port: u16,
    user: &str,
    database: &str,
    timeout: Duration,
) -> Result<Answer, CheckError> {
    let shown = format!("{host}:{port}");
    let attempt = async {
        let mut stream = connect(host, port).await?;
        stream.write_all(&startup_message(user, database)).await?;
        stream.flush().await?;
        let answer = read_answer(&mut stream).await;
        // Terminate: leave no half-open session behind.
        let _ = stream.write_all(&[b'X', 0, 0, 0, 4]).await;
        answer
    };
    within(&shown, timeout, attempt).await
}

/// What `attempt` against the server at `shown` gives within `timeout`, its failures as the
/// errors a check reports.
pub(super) async fn within<T>(
    shown: &str,
    timeout: Duration,
    attempt: impl Future<Output = Result<T, Failure>>,
) -> Result<T, CheckError> {
    match tokio::time::timeout(timeout, attempt).await {
        Err(_) => Err(CheckError::new(format!(
            "cannot connect to PostgreSQL at {shown}: no answer within {}s",
            timeout.as_secs()
        ))),
        Ok(Err(Failure::Io(e))) => Err(CheckError::new(format!(
            "cannot connect to PostgreSQL at {shown}: {e}"
        ))),
        Ok(Err(Failure::Server(message))) => {
            Err(CheckError::new(format!("PostgreSQL at {shown}: {message}")))
        }
        Ok(Ok(answer)) => Ok(answer),
    }
}

#[derive(Debug)]
pub(super) enum Failure {
    Io(std::io::Error),
    /// The server answered something a login attempt cannot judge.
    Server(String),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Io(e)
    }
}

pub(super) async fn connect(host: &str, port: u16) -> Result<Box<dyn Stream>, Failure> {
    let mut tcp = TcpStream::connect((host, port)).await?;
    let mut request = Vec::with_capacity(8);
    request.extend_from_slice(&8i32.to_be_bytes());
    request.extend_from_slice(&SSL_REQUEST.to_be_bytes());
    tcp.write_all(&request).await?;
    match tcp.read_u8().await? {
        b'N' => Ok(Box::new(tcp)),
        b'S' => {
            let name = ServerName::try_from(host.to_string())
                .map_err(|e| Failure::Server(format!("`{host}` is not a valid host name: {e}")))?;
            let tls = connector()
                .connect(name, tcp)
                .await
                .map_err(|e| Failure::Server(format!("TLS handshake failed: {e}")))?;
            Ok(Box::new(tls))
        }
        other => Err(Failure::Server(format!(
            "answered the SSL request with byte {other:#04x}; is this a PostgreSQL server?"
        ))),
    }
}

/// `sslmode=prefer` verifies nothing; neither does this probe, which sends no secret.
fn connector() -> tokio_rustls::TlsConnector {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("the default protocol versions are supported by aws-lc-rs")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

pub(super) fn startup_message(user: &str, database: &str) -> Vec<u8> {
    let mut body = PROTOCOL_3_0.to_be_bytes().to_vec();
    for (key, value) in [
        ("user", user),
        ("database", database),
        ("application_name", "ready"),
    ] {
        for text in [key, value] {
            body.extend_from_slice(text.as_bytes());
            body.push(0);
        }
    }
    body.push(0);
    let mut message = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    message.extend(body);
    message
}

/// Reads messages until the server lets the client in, asks for a credential or refuses.
async fn read_answer(stream: &mut Box<dyn Stream>) -> Result<Answer, Failure> {
    loop {
        let tag = stream.read_u8().await?;
        let length = stream.read_i32().await?;
        let length = usize::try_from(length)
            .ok()
            .filter(|l| (4..=MAX_MESSAGE).contains(l))
            .ok_or_else(|| {
                Failure::Server(format!("sent a malformed message (length {length})"))
            })?;
        let mut body = vec![0; length - 4];
        stream.read_exact(&mut body).await?;
        if let Some(answer) = judge_message(tag, &body)? {
            return Ok(answer);
        }
    }
}

/// One server message: a verdict, or `None` for a notice to skip.
fn judge_message(tag: u8, body: &[u8]) -> Result<Option<Answer>, Failure> {
    match tag {
        b'R' if body.len() >= 4 => {
            let code = i32::from_be_bytes([body[0], body[1], body[2], body[3]]);
            Ok(Some(if code == 0 {
                Answer::LetIn
            } else {
                Answer::Refused
            }))
        }
        b'E' => {
            let code = error_field(body, b'C').unwrap_or_default();
            match code.as_str() {
                // invalid_password, invalid_authorization_specification (no pg_hba entry / role)
                "28P01" | "28000" => Ok(Some(Answer::Refused)),
                _ => Err(Failure::Server(format!(
                    "{} ({code})",
                    error_field(body, b'M').unwrap_or_else(|| "refused the connection".into())
                ))),
            }
        }
        b'N' => Ok(None),
        other => Err(Failure::Server(format!(
            "sent an unexpected message `{}` before authentication",
            other.escape_ascii()
        ))),
    }
}

/// A field of an ErrorResponse: a type byte then a NUL-terminated string, repeated.
pub(super) fn error_field(body: &[u8], wanted: u8) -> Option<String> {
    let mut rest = body;
    while let Some((&kind, tail)) = rest.split_first() {
        if kind == 0 {
            return None;
        }
        let end = tail.iter().position(|&b| b == 0)?;
        if kind == wanted {
            return Some(String::from_utf8_lossy(&tail[..end]).into_owned());
        }
        rest = &tail[end + 1..];
    }
    None
}

/// Accepts any certificate, checking only the handshake signatures.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_startup_message_carries_user_database_and_nothing_else() {
        let message = startup_message("app", "db");
        assert_eq!(
            message,
            b"\0\0\0\x35\0\x03\0\0user\0app\0database\0db\0application_name\0ready\0\0"
        );
    }

    #[test]
    fn authentication_requests_are_refusals_and_ok_lets_in() {
        let judge = |tag, body: &[u8]| match judge_message(tag, body) {
            Ok(answer) => Ok(answer),
            Err(Failure::Server(m)) => Err(m),
            Err(Failure::Io(e)) => Err(e.to_string()),
        };
        assert_eq!(judge(b'R', &[0, 0, 0, 0]), Ok(Some(Answer::LetIn)));
        // cleartext, MD5, SASL
        for code in [3u8, 5, 10] {
            assert_eq!(judge(b'R', &[0, 0, 0, code]), Ok(Some(Answer::Refused)));
        }
        assert_eq!(
            judge(b'E', b"SFATAL\0C28000\0Mno pg_hba.conf entry\0\0"),
            Ok(Some(Answer::Refused))
        );
        assert_eq!(
            judge(b'E', b"SFATAL\0C53300\0Mtoo many connections\0\0"),
            Err("too many connections (53300)".to_string())
        );
        assert_eq!(judge(b'N', b"\0"), Ok(None));
        assert_eq!(
            judge(b'Z', b"I"),
            Err("sent an unexpected message `Z` before authentication".to_string())
        );
    }
}
