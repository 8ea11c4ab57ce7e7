//! The `tls` kind against real TLS servers on loopback, with certificates generated here: a
//! test CA (trusted through SSL_CERT_FILE), and leaves that are valid, expired, about to
//! expire, for another host, or self-signed.

use crate::common;

use std::sync::Arc;

use crate::common::{Project, check_of};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

fn new_ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

/// A leaf for `names`, valid from `from` to `until` (offsets from now), signed by `ca` or
/// self-signed.
fn leaf(
    ca: Option<&Ca>,
    names: &[&str],
    from: Duration,
    until: Duration,
) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    let now = OffsetDateTime::now_utc();
    params.not_before = now + from;
    params.not_after = now + until;
    let cert = match ca {
        Some(ca) => params.signed_by(&key, &ca.issuer).unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    (
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
}

/// A TLS server on loopback that completes handshakes and closes; runs until the test ends.
fn tls_server(
    cert: (CertificateDer<'static>, PrivateKeyDer<'static>),
    versions: &'static [&'static rustls::SupportedProtocolVersion],
) -> u16 {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(versions)
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.0], cert.1)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let _ = acceptor.accept(stream).await;
                });
            }
        });
    });
    rx.recv().unwrap()
}

const BOTH: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];
const ONLY_12: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];

fn tls_check(id: &str, params: &str) -> String {
    format!("  - id: {id}\n    category: security\n    severity: high\n    tls: {params}\n")
}

fn messages(result: &serde_json::Value, id: &str) -> Vec<(String, String)> {
    check_of(result, id)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["level"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn certificates_are_judged_by_dates_trust_and_name() {
    let ca = new_ca("ready test CA");
    let day = Duration::days(1);
    let hour = Duration::hours(1);
    let valid = tls_server(
        leaf(Some(&ca), &["localhost"], -day, Duration::days(90) + hour),
        BOTH,
    );
    let expired = tls_server(
        leaf(
            Some(&ca),
            &["localhost"],
            -Duration::days(60),
            -Duration::days(10) - hour,
        ),
        BOTH,
    );
    let future = tls_server(
        leaf(
            Some(&ca),
            &["localhost"],
            Duration::days(2),
            Duration::days(90),
        ),
        BOTH,
    );
    let five_days = tls_server(
        leaf(Some(&ca), &["localhost"], -day, Duration::days(5) + hour),
        BOTH,
    );
    let twenty_days = tls_server(
        leaf(Some(&ca), &["localhost"], -day, Duration::days(20) + hour),
        BOTH,
    );
    let wrong_host = tls_server(
        leaf(
            Some(&ca),
            &["other.example", "127.0.0.2"],
            -day,
            Duration::days(90) + hour,
        ),
        BOTH,
    );
    let self_signed = tls_server(
        leaf(None, &["localhost"], -day, Duration::days(90) + hour),
        BOTH,
    );
    // Issued by a CA that SSL_CERT_FILE does not hold.
    let foreign_ca = new_ca("foreign CA");
    let untrusted = tls_server(
        leaf(
            Some(&foreign_ca),
            &["localhost"],
            -day,
            Duration::days(90) + hour,
        ),
        BOTH,
    );
    // A CA with the trusted CA's name but its own key.
    let impostor_ca = new_ca("ready test CA");
    let impostor = tls_server(
        leaf(
            Some(&impostor_ca),
            &["localhost"],
            -day,
            Duration::days(90) + hour,
        ),
        BOTH,
    );
    let only_12 = tls_server(
        leaf(Some(&ca), &["localhost"], -day, Duration::days(90) + hour),
        ONLY_12,
    );
    let dead = common::free_port();
    let checks = [
        tls_check("valid", &format!("{{ host: localhost, port: {valid} }}")),
        tls_check(
            "expired",
            &format!("{{ host: localhost, port: {expired} }}"),
        ),
        tls_check("future", &format!("{{ host: localhost, port: {future} }}")),
        tls_check(
            "five-days",
            &format!("{{ host: localhost, port: {five_days} }}"),
        ),
        tls_check(
            "twenty-days",
            &format!("{{ host: localhost, port: {twenty_days} }}"),
        ),
        tls_check(
            "wrong-host",
            &format!("{{ host: localhost, port: {wrong_host} }}"),
        ),
        tls_check(
            "self-signed",
            &format!("{{ host: localhost, port: {self_signed} }}"),
        ),
        tls_check(
            "untrusted",
            &format!("{{ host: localhost, port: {untrusted} }}"),
        ),
        tls_check(
            "impostor",
            &format!("{{ host: localhost, port: {impostor} }}"),
        ),
        tls_check(
            "tls13-only-12",
            &format!("{{ host: localhost, port: {only_12}, min_version: 1.3 }}"),
        ),
        tls_check(
            "tls13-accepts-12",
            &format!("{{ url: \"https://localhost:{valid}/\", min_version: \"1.3\" }}"),
        ),
        tls_check("dead", &format!("{{ host: 127.0.0.1, port: {dead} }}")),
    ]
    .concat();
    let p = Project::new(&format!(
        "version: 1\nproject: tls-tests\ntargets:\n  secure: {{ http: \"https://localhost:{valid}/api\" }}\n\
         checks:\n{checks}  - {{ id: from-target, category: security, severity: high, target: secure, tls: {{}} }}\n"
    ));
    p.write("ca.pem", &ca.pem);
    let ca_file = p.path("ca.pem").display().to_string();
    let out = p.ready(
        &["check", "--format", "json"],
        &[("SSL_CERT_FILE", &ca_file)],
    );
    let result = out.json();
    common::assert_valid_result(&result);

    let ok = check_of(&result, "valid");
    assert_eq!(ok["status"], "pass", "{ok}");
    assert_eq!(ok["measurements"]["days_to_expiry"], 90.0);
    let message = ok["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "localhost:{valid}: TLS 1.3, certificate valid until "
        )) && message.ends_with("(90 days), issued by CN=ready test CA"),
        "{message}"
    );

    let expired = messages(&result, "expired");
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert_eq!(expired[0].0, "fail");
    assert!(
        expired[0].1.starts_with("the certificate expired on ")
            && expired[0].1.ends_with("(10 days ago)"),
        "{expired:?}"
    );
    // Whole days toward zero, as the message counts them (issue 11: was -11).
    assert_eq!(
        check_of(&result, "expired")["measurements"]["days_to_expiry"],
        -10.0
    );

    let future = messages(&result, "future");
    assert!(
        future.len() == 1
            && future[0]
                .1
                .starts_with("the certificate is not valid before "),
        "{future:?}"
    );

    let five = messages(&result, "five-days");
    assert!(
        five.len() == 1
            && five[0].0 == "fail"
            && five[0].1.starts_with("the certificate expires in 5 days (")
            && five[0].1.ends_with("), under min_days 14"),
        "{five:?}"
    );
    let twenty = messages(&result, "twenty-days");
    assert!(
        twenty.len() == 1
            && twenty[0].0 == "warn"
            && twenty[0].1.ends_with("), under warn_days 30"),
        "{twenty:?}"
    );
    assert_eq!(check_of(&result, "twenty-days")["status"], "warn");

    assert_eq!(
        messages(&result, "wrong-host"),
        [(
            "fail".to_string(),
            "the certificate is not valid for localhost (it names other.example, 127.0.0.2)"
                .to_string()
        )]
    );
    assert_eq!(
        messages(&result, "self-signed"),
        [(
            "fail".to_string(),
            "the certificate is self-signed (CN=localhost): no client trusts it".to_string()
        )]
    );
    assert_eq!(
        messages(&result, "untrusted"),
        [(
            "fail".to_string(),
            "the certificate is not trusted: its issuer (CN=foreign CA) chains to no trusted root"
                .to_string()
        )]
    );
    assert_eq!(
        messages(&result, "impostor"),
        [(
            "fail".to_string(),
            "the certificate's signature does not verify: it names an issuer (CN=ready test CA) that did not sign it"
                .to_string()
        )]
    );
    assert_eq!(
        messages(&result, "tls13-only-12"),
        [(
            "fail".to_string(),
            "negotiated TLS 1.2, below min_version TLS 1.3".to_string()
        )]
    );
    assert_eq!(
        messages(&result, "tls13-accepts-12"),
        [(
            "fail".to_string(),
            "the server also accepts TLS 1.2, below min_version TLS 1.3".to_string()
        )]
    );
    let from_target = check_of(&result, "from-target");
    assert_eq!(from_target["status"], "pass", "{from_target}");
    assert!(
        from_target["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("localhost:{valid}: TLS 1.3"))
    );
    let unreachable = check_of(&result, "dead");
    assert_eq!(unreachable["status"], "error");
    assert!(
        unreachable["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("cannot connect to 127.0.0.1:{dead}: ")),
        "{unreachable}"
    );
    assert_eq!(out.code, 1);
}

#[test]
fn plain_http_targets_have_no_tls_to_check() {
    let p = Project::new(
        "version: 1\ntargets:\n  api: { http: \"http://127.0.0.1:9/\" }\nchecks:\n  - id: t\n    category: security\n    severity: high\n    target: api\n    tls: {}\n",
    );
    let result = p.ready(&["check", "--format", "json"], &[]).json();
    assert_eq!(check_of(&result, "t")["status"], "error");
    assert_eq!(
        check_of(&result, "t")["message"],
        "http://127.0.0.1:9/ is not an https:// URL: there is no TLS to check (give `host`)"
    );
}
