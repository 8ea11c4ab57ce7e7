//! `default_credentials` against PostgreSQL sends exactly the credentials it tests: nothing from
//! the environment or a pgpass file, seen by a fake server recording what it hears and by a real
//! server whose login a stray setting would break.

use crate::common;
use crate::common::check_of;
use crate::secrets::{check, project};

/// What a fake PostgreSQL server heard on one connection: the startup parameters and the
/// password messages it was sent.
#[derive(Debug, Default)]
struct Heard {
    startup: Vec<String>,
    passwords: Vec<String>,
}

/// A TCP listener that speaks just enough PostgreSQL to ask for a cleartext password, records
/// what each client sends, and refuses it.
fn fake_postgres() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<Heard>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = heard.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .unwrap();
            let read_message = |s: &mut std::net::TcpStream, tagged: bool| {
                let mut tag = [0u8; 1];
                if tagged && s.read_exact(&mut tag).is_err() {
                    return None;
                }
                let mut len = [0u8; 4];
                s.read_exact(&mut len).ok()?;
                let mut body = vec![0; i32::from_be_bytes(len) as usize - 4];
                s.read_exact(&mut body).ok()?;
                Some((tag[0], body))
            };
            let mut conn = Heard::default();
            let Some((_, mut body)) = read_message(&mut s, false) else {
                continue;
            };
            if body == [4, 210, 22, 47] {
                s.write_all(b"N").unwrap();
                body = match read_message(&mut s, false) {
                    Some((_, b)) => b,
                    None => continue,
                };
            }
            conn.startup = body[4..]
                .split(|&b| b == 0)
                .filter(|t| !t.is_empty())
                .map(|t| String::from_utf8_lossy(t).into_owned())
                .collect();
            // AuthenticationCleartextPassword
            let _ = s.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3]);
            if let Some((b'p', password)) = read_message(&mut s, true) {
                conn.passwords.push(
                    String::from_utf8_lossy(&password)
                        .trim_end_matches('\0')
                        .into(),
                );
            }
            let error = b"SFATAL\0C28P01\0Mpassword authentication failed\0\0";
            let mut reply = vec![b'E'];
            reply.extend_from_slice(&((error.len() + 4) as i32).to_be_bytes());
            reply.extend_from_slice(error);
            let _ = s.write_all(&reply);
            log.lock().unwrap().push(conn);
        }
    });
    (port, heard)
}

#[test]
fn default_credentials_sends_no_password_from_the_environment() {
    let (port, heard) = fake_postgres();
    let p = project(&[check(
        "probe",
        "default_credentials",
        &format!("{{ postgres: \"127.0.0.1:{port}\", users: [app], passwords: [changeme] }}"),
    )]);
    let pgpass = p.path("pgpass");
    std::fs::write(&pgpass, "*:*:*:*:from-the-pgpass-file\n").unwrap();
    std::fs::set_permissions(&pgpass, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let run = p.ready(
        &["check", "--format", "json"],
        &[
            ("PGPASSWORD", "the-ci-password"),
            ("PGPASSFILE", pgpass.to_str().unwrap()),
            ("PGUSER", "ci"),
            ("PGDATABASE", "ci"),
        ],
    );
    let result = run.json();
    let c = check_of(&result, "probe");
    assert_eq!(
        (c["status"].as_str(), c["message"].as_str()),
        (
            Some("pass"),
            Some(
                format!("PostgreSQL at 127.0.0.1:{port} refused `app` without a password and with 1 well-known password(s)")
                    .as_str()
            )
        ),
        "{}",
        run.stderr
    );
    let heard = heard.lock().unwrap();
    let passwords: Vec<&[String]> = heard.iter().map(|h| h.passwords.as_slice()).collect();
    // The bare attempt answers no password request; the second sends the listed password only.
    assert_eq!(passwords, [&[][..], &["changeme".to_string()][..]]);
    assert_eq!(
        heard[0].startup,
        [
            "user",
            "app",
            "database",
            "postgres",
            "application_name",
            "ready"
        ]
    );
}

/// libpq-style settings from the environment that a client library would read: each one set to
/// a value that would show (or break the login) if the probe carried it.
const POISONED_ENV: &[(&str, &str)] = &[
    ("PGOPTIONS", "-c no_such_setting=from-the-env"),
    ("PGAPPNAME", "from-the-env"),
    ("PGSSLMODE", "require"),
    ("PGSSLCERT", "/nonexistent/client.crt"),
    ("PGSSLKEY", "/nonexistent/client.key"),
    ("PGSSLROOTCERT", "/nonexistent/root.crt"),
    ("PGHOST", "192.0.2.1"),
    ("PGPORT", "1"),
    ("PGUSER", "ci"),
    ("PGDATABASE", "ci"),
    ("PGPASSWORD", "the-ci-password"),
    ("PGCONNECT_TIMEOUT", "1"),
];

/// A password attempt sends the startup parameters and password it means to test, whatever the
/// environment says: the fake server hears no option, and a real one, whose login an unknown
/// `PGOPTIONS` setting would break, judges the password alone.
#[test]
fn password_attempts_read_nothing_from_the_environment() {
    let (port, heard) = fake_postgres();
    let pg = common::postgres();
    let role = format!("envprobe_{}", std::process::id());
    common::exec(
        &pg.url("postgres"),
        &format!("CREATE ROLE {role} LOGIN PASSWORD 'changeme'"),
    )
    .unwrap();
    let p = project(&[
        check(
            "fake",
            "default_credentials",
            &format!("{{ postgres: \"127.0.0.1:{port}\", users: [app], passwords: [changeme] }}"),
        ),
        check(
            "real",
            "default_credentials",
            &format!(
                "{{ postgres: \"127.0.0.1:{}\", users: [{role}], passwords: [changeme] }}",
                pg.port
            ),
        ),
    ]);
    let run = p.ready(&["check", "--format", "json"], POISONED_ENV);
    let result = run.json();
    let real = check_of(&result, "real");
    assert_eq!(
        (real["status"].as_str(), real["message"].as_str()),
        (
            Some("fail"),
            Some(
                format!(
                    "PostgreSQL at 127.0.0.1:{} lets `{role}` log in with a well-known password (#1 of the 1 tried; value not shown)",
                    pg.port
                )
                .as_str()
            )
        ),
        "{real}"
    );
    assert_eq!(check_of(&result, "fake")["status"], "pass");
    let heard = heard.lock().unwrap();
    assert_eq!(heard.len(), 2, "{heard:?}");
    for conn in heard.iter() {
        assert_eq!(
            conn.startup,
            [
                "user",
                "app",
                "database",
                "postgres",
                "application_name",
                "ready"
            ]
        );
    }
    assert_eq!(heard[1].passwords, ["changeme"]);
}
