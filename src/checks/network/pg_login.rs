//! A PostgreSQL login with one given password, spoken on the wire by hand.
//!
//! sqlx builds its connect options from the environment (`PGOPTIONS`, `PGSSLCERT`, `PGSSLKEY`,
//! `PGSSLROOTCERT`, `PGAPPNAME`, …) and some of those cannot be unset afterwards: a probe through
//! it would carry the user's own settings and certificates to the host it tests. This sends the
//! startup message of `pg_startup` (user, database, application name) and answers the server's
//! password request (cleartext, MD5 or SCRAM-SHA-256) with the password it tests, nothing else.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::pg_startup::{self, Failure, MAX_MESSAGE, Stream};
use crate::checks::outcome::CheckError;

/// How a login with a password ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Login {
    Accepted,
    Refused,
}

/// Connects (TLS when the server offers it, like `sslmode=prefer`), logs in as `user` with
/// `password` and says whether the server accepted it. Nothing from the environment is read.
pub async fn login_with_password(
    (host, port): (&str, u16),
    user: &str,
    database: &str,
    password: &str,
    timeout: Duration,
) -> Result<Login, CheckError> {
    let attempt = async {
        let mut stream = pg_startup::connect(host, port).await?;
        stream
            .write_all(&pg_startup::startup_message(user, database))
            .await?;
        stream.flush().await?;
        let login = authenticate(&mut stream, user, password).await;
        // Terminate: leave no session behind.
        let _ = stream.write_all(&[b'X', 0, 0, 0, 4]).await;
        login
    };
    pg_startup::within(&format!("{host}:{port}"), timeout, attempt).await
}

/// Answers the server's requests until it accepts or refuses the password.
async fn authenticate(
    stream: &mut Box<dyn Stream>,
    user: &str,
    password: &str,
) -> Result<Login, Failure> {
    let mut scram: Option<Scram> = None;
    loop {
        let (tag, body) = read_message(stream).await?;
        match tag {
            b'R' => {
                let code = body
                    .get(..4)
                    .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                    .ok_or_else(|| Failure::Server("sent a malformed request".into()))?;
                let data = &body[4..];
                let reply = match code {
                    0 => return Ok(Login::Accepted),
                    3 => password_message(password.as_bytes()),
                    5 => password_message(md5_password(password, user, data)?.as_bytes()),
                    10 => {
                        let started = Scram::start(data)?;
                        let first = started.client_first();
                        scram = Some(started);
                        sasl_initial(&first)
                    }
                    11 => {
                        let state = scram.as_ref().ok_or_else(unexpected_sasl)?;
                        sasl_message(&state.client_final(data, password)?)
                    }
                    // SASLFinal: the server's proof; its verdict follows.
                    12 => continue,
                    other => {
                        return Err(Failure::Server(format!(
                            "asked for an authentication method ready does not speak ({other})"
                        )));
                    }
                };
                stream.write_all(&reply).await?;
                stream.flush().await?;
            }
            b'E' => {
                let code = pg_startup::error_field(&body, b'C').unwrap_or_default();
                return match code.as_str() {
                    // invalid_password, invalid_authorization_specification (no pg_hba entry)
                    "28P01" | "28000" => Ok(Login::Refused),
                    // The database is checked after authentication: the login itself succeeded.
                    "3D000" => Ok(Login::Accepted),
                    _ => Err(Failure::Server(format!(
                        "{} ({code})",
                        pg_startup::error_field(&body, b'M')
                            .unwrap_or_else(|| "refused the connection".into())
                    ))),
                };
            }
            b'N' => {}
            other => {
                return Err(Failure::Server(format!(
                    "sent an unexpected message `{}` during authentication",
                    other.escape_ascii()
                )));
            }
        }
    }
}

fn unexpected_sasl() -> Failure {
    Failure::Server("sent a SASL challenge before starting SASL".into())
}

async fn read_message(stream: &mut Box<dyn Stream>) -> Result<(u8, Vec<u8>), Failure> {
    let tag = stream.read_u8().await?;
    let length = stream.read_i32().await?;
    let length = usize::try_from(length)
        .ok()
        .filter(|l| (4..=MAX_MESSAGE).contains(l))
        .ok_or_else(|| Failure::Server(format!("sent a malformed message (length {length})")))?;
    let mut body = vec![0; length - 4];
    stream.read_exact(&mut body).await?;
    Ok((tag, body))
}

fn framed(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut message = vec![tag];
    message.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    message.extend_from_slice(body);
    message
}

/// `PasswordMessage`: the (possibly hashed) password, NUL-terminated.
fn password_message(password: &[u8]) -> Vec<u8> {
    let mut body = password.to_vec();
    body.push(0);
    framed(b'p', &body)
}

/// `md5` + hex(md5(hex(md5(password + user)) + salt)).
fn md5_password(password: &str, user: &str, salt: &[u8]) -> Result<String, Failure> {
    let salt = salt
        .get(..4)
        .ok_or_else(|| Failure::Server("sent an MD5 request without a salt".into()))?;
    let inner = hex::encode(md5::Md5::digest(format!("{password}{user}")));
    let mut outer = md5::Md5::new();
    outer.update(inner.as_bytes());
    outer.update(salt);
    Ok(format!("md5{}", hex::encode(outer.finalize())))
}

fn sasl_initial(first: &str) -> Vec<u8> {
    let mut body = b"SCRAM-SHA-256\0".to_vec();
    body.extend_from_slice(&(first.len() as i32).to_be_bytes());
    body.extend_from_slice(first.as_bytes());
    framed(b'p', &body)
}

fn sasl_message(text: &str) -> Vec<u8> {
    framed(b'p', text.as_bytes())
}

/// A SCRAM-SHA-256 exchange (RFC 5802, RFC 7677) without channel binding, as libpq does it.
struct Scram {
    /// Left empty: PostgreSQL takes the user from the startup message.
    user: String,
    nonce: String,
}

impl Scram {
    /// The server lists its SASL mechanisms; SCRAM-SHA-256 must be one of them.
    fn start(mechanisms: &[u8]) -> Result<Scram, Failure> {
        let offered: Vec<&[u8]> = mechanisms
            .split(|&b| b == 0)
            .filter(|m| !m.is_empty())
            .collect();
        if !offered.contains(&&b"SCRAM-SHA-256"[..]) {
            return Err(Failure::Server(
                "offers no SASL mechanism ready speaks (SCRAM-SHA-256 without channel binding)"
                    .into(),
            ));
        }
        let mut bytes = [0u8; 18];
        rand::fill(&mut bytes[..]);
        Ok(Scram {
            user: String::new(),
            nonce: BASE64.encode(bytes),
        })
    }

    fn client_first_bare(&self) -> String {
        format!("n={},r={}", self.user, self.nonce)
    }

    fn client_first(&self) -> String {
        format!("n,,{}", self.client_first_bare())
    }

    /// The proof of the password for the server's first message (`r=…,s=…,i=…`).
    fn client_final(&self, server_first: &[u8], password: &str) -> Result<String, Failure> {
        let server_first = std::str::from_utf8(server_first)
            .map_err(|_| Failure::Server("sent a SASL challenge that is not text".into()))?;
        let field = |name: &str| {
            server_first
                .split(',')
                .find_map(|part| part.strip_prefix(name))
                .ok_or_else(|| Failure::Server("sent a malformed SASL challenge".into()))
        };
        let nonce = field("r=")?;
        if !nonce.starts_with(&self.nonce) {
            return Err(Failure::Server("sent a SASL nonce that is not ours".into()));
        }
        let salt = BASE64
            .decode(field("s=")?)
            .map_err(|_| Failure::Server("sent a SASL salt that is not base64".into()))?;
        let iterations: u32 = field("i=")?
            .parse()
            .map_err(|_| Failure::Server("sent a malformed SASL iteration count".into()))?;
        let password = stringprep::saslprep(password).map_or(password.into(), |p| p.into_owned());
        let salted = salted_password(password.as_bytes(), &salt, iterations);
        let client_key = hmac(&salted, b"Client Key");
        let stored_key = Sha256::digest(client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!(
            "{},{server_first},{without_proof}",
            self.client_first_bare()
        );
        let signature = hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(signature.iter())
            .map(|(k, s)| k ^ s)
            .collect();
        Ok(format!("{without_proof},p={}", BASE64.encode(proof)))
    }
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// PBKDF2-HMAC-SHA-256 with one block: the `Hi` function of RFC 5802.
fn salted_password(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut block = salt.to_vec();
    block.extend_from_slice(&1u32.to_be_bytes());
    let mut u = hmac(password, &block);
    let mut out = u;
    for _ in 1..iterations {
        u = hmac(password, &u);
        out.iter_mut().zip(u.iter()).for_each(|(o, x)| *o ^= x);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677's example exchange: user `user`, password `pencil`.
    #[test]
    fn scram_proof_matches_the_rfc_example() {
        let scram = Scram {
            user: "user".into(),
            nonce: "rOprNGfwEbeRWgbNEkqO".into(),
        };
        assert_eq!(scram.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first =
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        assert_eq!(
            scram.client_final(server_first, "pencil").unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        let foreign = b"r=someone-else,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        assert!(scram.client_final(foreign, "pencil").is_err());
    }

    #[test]
    fn md5_answers_hash_password_user_and_salt() {
        // 'md5' || md5(md5('secret' || 'app') || salt), computed outside Rust.
        assert_eq!(
            md5_password("secret", "app", &[1, 2, 3, 4]).unwrap(),
            "md5911f527656472583a006e7727877b33e"
        );
    }

    #[test]
    fn a_server_without_plain_scram_is_not_spoken_to() {
        assert!(Scram::start(b"SCRAM-SHA-256-PLUS\0\0").is_err());
        assert!(Scram::start(b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0").is_ok());
    }
}
