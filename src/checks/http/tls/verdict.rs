//! The judgement of `tls`: one plain function per rule over what the handshake presented.

use rustls::{CertificateError, ProtocolVersion};

use super::handshake::{Certificate, Presented};
use super::{MinVersion, TlsParams};
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};

const DAY: i64 = 86_400;

/// Every finding about the certificate and the protocol, with the days left as a measurement.
pub fn judge(params: &TlsParams, host: &str, subject: &str, presented: &Presented) -> Observation {
    let cert = &presented.certificate;
    let mut obs = Observation::default();
    // Whole days, toward zero: "(10 days ago)" and -10 agree.
    let days_left = (cert.not_after - presented.observed_at) / DAY;
    obs.measure("days_to_expiry", days_left as f64);
    let evidence = serde_json::json!({
        "subject": cert.subject,
        "issuer": cert.issuer,
        "not_before": date(cert.not_before),
        "not_after": date(cert.not_after),
        "protocol": version_name(presented.version),
    });
    let about_certificate = [
        validity(params, subject, cert, presented.observed_at),
        // The host name on its own, so that it is reported whatever else is wrong.
        host_name(host, subject, cert),
        trust(subject, cert, presented.verdict.as_ref()),
    ];
    for finding in about_certificate.into_iter().flatten() {
        obs.findings.push(finding.with_evidence(evidence.clone()));
    }
    obs.findings
        .extend(protocol(params.min_version, subject, presented));
    obs.summary = Some(format!(
        "{subject}: {}, certificate valid until {} ({days_left} days), issued by {}",
        version_name(presented.version),
        date(cert.not_after),
        cert.issuer
    ));
    obs
}

/// A handshake that failed: a finding when the server offers no acceptable protocol, else the
/// check could not look.
pub fn handshake_failed(subject: &str, error: &str) -> CheckOutcome {
    if error.contains("ProtocolVersion") || error.contains("protocol version") {
        let mut obs = Observation::default();
        obs.findings.push(Finding::fail(
            subject,
            format!("{subject} offers neither TLS 1.3 nor TLS 1.2 ({error})"),
        ));
        return Ok(obs);
    }
    Err(CheckError::new(format!(
        "TLS handshake with {subject} failed: {error}"
    )))
}

/// Expired, not yet valid, or expiring within `min_days` (fail) or `warn_days` (warn).
fn validity(params: &TlsParams, subject: &str, cert: &Certificate, now: i64) -> Option<Finding> {
    let days_left = (cert.not_after - now) / DAY;
    let until = date(cert.not_after);
    if now > cert.not_after {
        let ago = (now - cert.not_after) / DAY;
        Some(Finding::fail(
            subject,
            format!("the certificate expired on {until} ({ago} days ago)"),
        ))
    } else if now < cert.not_before {
        Some(Finding::fail(
            subject,
            format!(
                "the certificate is not valid before {}",
                date(cert.not_before)
            ),
        ))
    } else if days_left < params.min_days {
        Some(Finding::fail(
            subject,
            format!(
                "the certificate expires in {days_left} days ({until}), under min_days {}",
                params.min_days
            ),
        ))
    } else if days_left < params.warn_days {
        Some(Finding::warn(
            subject,
            format!(
                "the certificate expires in {days_left} days ({until}), under warn_days {}",
                params.warn_days
            ),
        ))
    } else {
        None
    }
}

fn host_name(host: &str, subject: &str, cert: &Certificate) -> Option<Finding> {
    if cert.valid_for_host {
        return None;
    }
    let names = if cert.names.is_empty() {
        "no subject alternative names".to_string()
    } else {
        cert.names.join(", ")
    };
    Some(Finding::fail(
        subject,
        format!("the certificate is not valid for {host} (it names {names})"),
    ))
}

/// What the verifier said about the chain, except what the dates and the name already report.
fn trust(
    subject: &str,
    cert: &Certificate,
    verdict: Option<&Result<(), rustls::Error>>,
) -> Option<Finding> {
    let error = match verdict {
        None | Some(Ok(())) => return None,
        Some(Err(rustls::Error::InvalidCertificate(error))) => error,
        Some(Err(other)) => {
            return Some(Finding::fail(
                subject,
                format!("the certificate is rejected: {other}"),
            ));
        }
    };
    let message = match error {
        CertificateError::Expired
        | CertificateError::ExpiredContext { .. }
        | CertificateError::NotValidYet
        | CertificateError::NotValidYetContext { .. }
        | CertificateError::NotValidForName
        | CertificateError::NotValidForNameContext { .. } => return None,
        // Whatever the verifier tripped on first (unknown issuer, a CA used as a server
        // certificate, a signature it cannot check), a self-signed certificate is that.
        _ if cert.self_signed => format!(
            "the certificate is self-signed ({}): no client trusts it",
            cert.subject
        ),
        CertificateError::UnknownIssuer => format!(
            "the certificate is not trusted: its issuer ({}) chains to no trusted root",
            cert.issuer
        ),
        CertificateError::BadSignature => format!(
            "the certificate's signature does not verify: it names an issuer ({}) that did not \
             sign it",
            cert.issuer
        ),
        other => format!(
            "the certificate is rejected: {}",
            certificate_problem(other)
        ),
    };
    Some(Finding::fail(subject, message))
}

/// A verifier's complaint in words, never rustls' internal names.
pub fn certificate_problem(error: &CertificateError) -> &'static str {
    certificate_problem_named(&format!("{error:?}"))
}

/// The same from rustls' debug form (`UnknownIssuer`, `Other(OtherError(CaUsedAsEndEntity))`),
/// which is all an HTTP client's error text carries.
pub fn certificate_problem_named(debug: &str) -> &'static str {
    let name = debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or("");
    match name {
        "Expired" | "ExpiredContext" => "the certificate has expired",
        "NotValidYet" | "NotValidYetContext" => "the certificate is not valid yet",
        "NotValidForName" | "NotValidForNameContext" => {
            "the certificate is not valid for this host name"
        }
        "UnknownIssuer" => {
            "no trusted root issued the certificate (it is self-signed or from a private authority)"
        }
        "BadSignature"
        | "UnsupportedSignatureAlgorithm"
        | "UnsupportedSignatureAlgorithmContext"
        | "UnsupportedSignatureAlgorithmForPublicKeyContext" => {
            "the certificate's signature does not verify against a trusted issuer (it is \
             self-signed or from a private authority)"
        }
        "InvalidPurpose" | "InvalidPurposeContext" => {
            "the certificate is not issued for server authentication"
        }
        "Revoked" => "the certificate is revoked",
        // webpki's CaUsedAsEndEntity arrives as `Other`: a CA certificate served as the
        // server's own, which is what `openssl req -x509` makes by default.
        _ if debug.contains("CaUsedAsEndEntity") => {
            "the server presents a CA certificate as its own (a self-signed certificate?)"
        }
        _ => "the certificate is malformed or uses a feature the verifier does not accept",
    }
}

/// With `min_version: 1.3`, the server must negotiate TLS 1.3 and refuse TLS 1.2.
fn protocol(min_version: MinVersion, subject: &str, presented: &Presented) -> Option<Finding> {
    if min_version != MinVersion::Tls13 {
        return None;
    }
    if presented.version != Some(ProtocolVersion::TLSv1_3) {
        return Some(Finding::fail(
            subject,
            format!(
                "negotiated {}, below min_version TLS 1.3",
                version_name(presented.version)
            ),
        ));
    }
    presented.accepts_tls12.then(|| {
        Finding::fail(
            subject,
            "the server also accepts TLS 1.2, below min_version TLS 1.3",
        )
    })
}

fn version_name(v: Option<ProtocolVersion>) -> &'static str {
    match v {
        Some(ProtocolVersion::TLSv1_3) => "TLS 1.3",
        Some(ProtocolVersion::TLSv1_2) => "TLS 1.2",
        _ => "an unknown protocol",
    }
}

fn date(timestamp: i64) -> String {
    chrono::DateTime::from_timestamp(timestamp, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| timestamp.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Level;

    const NOW: i64 = 1_800_000_000;

    fn params(min_version: MinVersion) -> TlsParams {
        TlsParams {
            host: None,
            port: None,
            url: None,
            min_days: 14,
            warn_days: 30,
            min_version,
        }
    }

    /// A trusted certificate for `api.test`, valid for `days_left` more days.
    fn presented(days_left: i64) -> Presented {
        Presented {
            version: Some(ProtocolVersion::TLSv1_3),
            verdict: Some(Ok(())),
            certificate: Certificate {
                subject: "CN=api.test".into(),
                issuer: "CN=Test CA".into(),
                self_signed: false,
                not_before: NOW - 30 * DAY,
                not_after: NOW + days_left * DAY + 60,
                names: vec!["api.test".into()],
                valid_for_host: true,
            },
            accepts_tls12: false,
            observed_at: NOW,
        }
    }

    fn messages(obs: &Observation) -> Vec<(Level, &str)> {
        obs.findings
            .iter()
            .map(|f| (f.level, f.message.as_str()))
            .collect()
    }

    #[test]
    fn a_sound_certificate_passes_with_its_days_left() {
        let obs = judge(
            &params(MinVersion::Tls12),
            "api.test",
            "api.test:443",
            &presented(90),
        );
        assert!(obs.findings.is_empty(), "{:?}", obs.findings);
        assert_eq!(obs.measurements["days_to_expiry"], 90.0);
        assert!(
            obs.summary
                .unwrap()
                .contains("TLS 1.3, certificate valid until")
        );
    }

    #[test]
    fn expiry_fails_under_min_days_and_warns_under_warn_days() {
        let p = params(MinVersion::Tls12);
        let soon = judge(&p, "api.test", "s", &presented(10));
        assert_eq!(soon.findings[0].level, Level::Fail);
        assert!(soon.findings[0].message.contains("expires in 10 days"));
        assert!(soon.findings[0].message.ends_with("under min_days 14"));
        let later = judge(&p, "api.test", "s", &presented(20));
        assert_eq!(later.findings[0].level, Level::Warn);
        assert!(later.findings[0].message.ends_with("under warn_days 30"));
        let expired = judge(&p, "api.test", "s", &presented(-3));
        assert!(
            expired.findings[0].message.contains("(2 days ago)"),
            "{:?}",
            expired.findings
        );
        assert_eq!(expired.findings[0].evidence["subject"], "CN=api.test");
        // The measurement counts whole days as the message does.
        assert_eq!(expired.measurements["days_to_expiry"], -2.0);
    }

    #[test]
    fn a_self_signed_certificate_is_named_whatever_the_verifier_tripped_on() {
        let mut p = presented(90);
        p.certificate.self_signed = true;
        p.verdict = Some(Err(rustls::Error::InvalidCertificate(
            CertificateError::BadSignature,
        )));
        let obs = judge(&params(MinVersion::Tls12), "api.test", "s", &p);
        assert_eq!(
            messages(&obs),
            [(
                Level::Fail,
                "the certificate is self-signed (CN=api.test): no client trusts it"
            )]
        );
        p.certificate.self_signed = false;
        p.verdict = Some(Err(rustls::Error::InvalidCertificate(
            CertificateError::InvalidPurpose,
        )));
        let obs = judge(&params(MinVersion::Tls12), "api.test", "s", &p);
        assert_eq!(
            messages(&obs),
            [(
                Level::Fail,
                "the certificate is rejected: the certificate is not issued for server authentication"
            )]
        );
    }

    #[test]
    fn a_wrong_name_and_an_untrusted_issuer_are_two_findings() {
        let mut p = presented(90);
        p.certificate.valid_for_host = false;
        p.certificate.self_signed = true;
        p.verdict = Some(Err(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        )));
        let obs = judge(&params(MinVersion::Tls12), "other.test", "s", &p);
        assert_eq!(
            messages(&obs),
            [
                (
                    Level::Fail,
                    "the certificate is not valid for other.test (it names api.test)"
                ),
                (
                    Level::Fail,
                    "the certificate is self-signed (CN=api.test): no client trusts it"
                ),
            ]
        );
    }

    #[test]
    fn verifier_errors_already_reported_by_dates_or_name_are_not_repeated() {
        let mut p = presented(90);
        p.verdict = Some(Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName,
        )));
        p.certificate.valid_for_host = false;
        p.certificate.names.clear();
        let obs = judge(&params(MinVersion::Tls12), "x.test", "s", &p);
        assert_eq!(
            messages(&obs),
            [(
                Level::Fail,
                "the certificate is not valid for x.test (it names no subject alternative names)"
            )]
        );
        p.verdict = Some(Err(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        )));
        p.certificate.valid_for_host = true;
        let obs = judge(&params(MinVersion::Tls12), "x.test", "s", &p);
        assert!(obs.findings[0].message.contains("its issuer (CN=Test CA)"));
    }

    #[test]
    fn min_version_1_3_refuses_a_server_that_speaks_1_2() {
        let mut p = presented(90);
        p.accepts_tls12 = true;
        let obs = judge(&params(MinVersion::Tls13), "api.test", "s", &p);
        assert_eq!(
            messages(&obs),
            [(
                Level::Fail,
                "the server also accepts TLS 1.2, below min_version TLS 1.3"
            )]
        );
        assert!(obs.findings[0].evidence.is_null());
        p.version = Some(ProtocolVersion::TLSv1_2);
        let obs = judge(&params(MinVersion::Tls13), "api.test", "s", &p);
        assert_eq!(
            obs.findings[0].message,
            "negotiated TLS 1.2, below min_version TLS 1.3"
        );
        assert!(
            judge(&params(MinVersion::Tls12), "api.test", "s", &p)
                .findings
                .is_empty()
        );
    }

    #[test]
    fn a_failed_handshake_is_a_finding_only_for_the_protocol() {
        let obs = handshake_failed("h:443", "received fatal alert: ProtocolVersion").unwrap();
        assert!(obs.findings[0].message.starts_with("h:443 offers neither"));
        let e = handshake_failed("h:443", "connection reset").unwrap_err();
        assert_eq!(e.0, "TLS handshake with h:443 failed: connection reset");
    }
}
