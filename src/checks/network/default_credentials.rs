//! `default_credentials`: a Redis or PostgreSQL endpoint refuses clients without a password and
//! with well-known ones. A handful of login attempts at most; the passwords tried are never shown.

use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{pg_login, pg_startup};
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::{Ctx, KindSpec};
use crate::redact::redact_url;
use crate::target::TargetFamily;

/// Passwords Redis deployments are left with: `foobared` is the example in redis.conf.
const REDIS_DEFAULTS: &[&str] = &[
    "foobared", "redis", "password", "changeme", "admin", "secret", "123456",
];
const POSTGRES_DEFAULTS: &[&str] = &["postgres", "password", "admin", "changeme", "root"];
/// More attempts than this look like an attack and may lock accounts out.
const MAX_ATTEMPTS: usize = 12;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawCredentialsParams")]
pub struct CredentialsParams {
    pub service: Service,
    pub passwords: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Service {
    Redis {
        address: String,
    },
    /// `address: None` probes the server of the check's own postgres `target`.
    Postgres {
        address: Option<String>,
        users: Vec<String>,
        database: Option<String>,
    },
}

impl CredentialsParams {
    /// Whether the check probes its postgres target (`postgres: true`) rather than an address.
    pub fn uses_target(&self) -> bool {
        matches!(self.service, Service::Postgres { address: None, .. })
    }
}

/// `postgres: host:port` (or a URL), or `postgres: true` for the check's own target.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(
    untagged,
    expecting = "expected host:port, a URL, or `true` for the check's own target"
)]
enum PostgresAddress {
    Target(bool),
    Address(String),
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawCredentialsParams {
    redis: Option<String>,
    postgres: Option<PostgresAddress>,
    users: Option<Vec<String>>,
    database: Option<String>,
    passwords: Option<Vec<String>>,
}

impl TryFrom<RawCredentialsParams> for CredentialsParams {
    type Error = String;
    fn try_from(raw: RawCredentialsParams) -> Result<Self, String> {
        let (service, defaults) = match (raw.redis, raw.postgres) {
            (Some(address), None) => {
                if raw.users.is_some() || raw.database.is_some() {
                    return Err("`users` and `database` apply to `postgres` only".into());
                }
                (Service::Redis { address }, REDIS_DEFAULTS)
            }
            (None, Some(address)) => {
                let address = match address {
                    PostgresAddress::Address(a) => Some(a),
                    PostgresAddress::Target(true) => None,
                    PostgresAddress::Target(false) => {
                        return Err(
                            "`postgres` is host:port, a URL, or `true` for the check's target"
                                .into(),
                        );
                    }
                };
                let users = raw.users.unwrap_or_else(|| vec!["postgres".into()]);
                if users.is_empty() {
                    return Err("`users` is empty: name at least one role to try".into());
                }
                let database = raw.database;
                (
                    Service::Postgres {
                        address,
                        users,
                        database,
                    },
                    POSTGRES_DEFAULTS,
                )
            }
            _ => return Err("give exactly one of `redis` or `postgres` (host:port)".into()),
        };
        let passwords = raw
            .passwords
            .unwrap_or_else(|| defaults.iter().map(|p| p.to_string()).collect());
        let attempts = match &service {
            Service::Redis { .. } => 1 + passwords.len(),
            Service::Postgres {
                address: Some(address),
                users,
                ..
            } => postgres_attempts(&with_url_user(users, address), passwords.len()),
            // The target's own user is added when the check runs (see `within_cap`).
            Service::Postgres { users, .. } => postgres_attempts(users, passwords.len()),
        };
        within_cap(attempts)?;
        Ok(CredentialsParams { service, passwords })
    }
}

impl KindSpec for CredentialsParams {
    fn family(&self) -> Option<TargetFamily> {
        self.uses_target().then_some(TargetFamily::Postgres)
    }

    /// Login attempts over the network: a refused connection may be transient.
    fn is_network(&self) -> bool {
        true
    }

    fn disturbs(&self) -> bool {
        true
    }
}

pub async fn run(params: &CredentialsParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let target = ctx.postgres().ok();
    match (&params.service, target) {
        (Service::Redis { address }, _) => redis(address, &params.passwords).await,
        (
            Service::Postgres {
                address: Some(address),
                users,
                database,
            },
            _,
        ) => {
            let endpoint = address_endpoint(address, users, database.as_deref())?;
            postgres(&endpoint, &params.passwords).await
        }
        (
            Service::Postgres {
                address: None,
                users,
                database,
            },
            Some(db),
        ) => {
            let endpoint = target_endpoint(&db.target.url, users, database.as_deref())?;
            postgres(&endpoint, &params.passwords).await
        }
        (Service::Postgres { address: None, .. }, None) => Err(CheckError::new(
            "`postgres: true` probes the check's target: give the check a `target` naming a postgres target",
        )),
    }
}

fn postgres_attempts(users: &[String], passwords: usize) -> usize {
    users.len() * (1 + passwords)
}

fn within_cap(attempts: usize) -> Result<(), String> {
    if attempts > MAX_ATTEMPTS {
        return Err(format!(
            "{attempts} login attempts: at most {MAX_ATTEMPTS} are allowed (attempts can lock accounts); list fewer users or passwords"
        ));
    }
    Ok(())
}

/// The users listed, and the user a URL names if it is not among them.
fn with_url_user(users: &[String], address: &str) -> Vec<String> {
    let mut users = users.to_vec();
    if let Ok(url) = url::Url::parse(address)
        && !url.username().is_empty()
        && !users.iter().any(|u| u == url.username())
    {
        users.push(url.username().to_string());
    }
    users
}

/// Where to try logging in to PostgreSQL, and as whom.
#[derive(Debug, PartialEq)]
struct PgEndpoint {
    host: String,
    port: u16,
    users: Vec<String>,
    database: String,
}

/// An address of the check's own (`host:port` or a URL). A URL's user is tried too; its password
/// never is.
fn address_endpoint(
    address: &str,
    users: &[String],
    database: Option<&str>,
) -> Result<PgEndpoint, CheckError> {
    let (host, port) = split_address(address, 5432)?;
    Ok(PgEndpoint {
        host,
        port,
        users: with_url_user(users, address),
        database: database.unwrap_or("postgres").to_string(),
    })
}

/// The target's address and database; its own user is tried too, never its password.
fn target_endpoint(
    target_url: &str,
    users: &[String],
    database: Option<&str>,
) -> Result<PgEndpoint, CheckError> {
    let url = url::Url::parse(target_url).map_err(|e| {
        CheckError::new(format!(
            "the target URL {} cannot be read: {e}",
            redact_url(target_url)
        ))
    })?;
    let users = with_url_user(users, target_url);
    let database = database.unwrap_or_else(|| {
        Some(url.path().trim_start_matches('/'))
            .filter(|d| !d.is_empty())
            .unwrap_or("postgres")
    });
    Ok(PgEndpoint {
        host: url.host_str().unwrap_or("localhost").to_string(),
        port: url.port().unwrap_or(5432),
        users,
        database: database.to_string(),
    })
}

/// `host:port` or a URL (`redis://:pw@host:6379/0`: its credentials are ignored and never
/// shown), with `port` defaulted.
fn split_address(address: &str, default_port: u16) -> Result<(String, u16), CheckError> {
    let address = address.trim();
    if address.contains("://") {
        let url = url::Url::parse(address).map_err(|e| {
            CheckError::new(format!("`{}` is not a valid URL: {e}", redact_url(address)))
        })?;
        let host = url
            .host_str()
            .ok_or_else(|| CheckError::new(format!("`{}` names no host", redact_url(address))))?;
        return Ok((
            host.trim_matches(['[', ']']).to_string(),
            url.port().unwrap_or(default_port),
        ));
    }
    match address.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') => {
            let port = port.parse().map_err(|_| {
                CheckError::new(format!("`{address}` is not host:port (port `{port}`)"))
            })?;
            Ok((host.trim_matches(['[', ']']).to_string(), port))
        }
        _ => Ok((address.to_string(), default_port)),
    }
}

/// The first line of a RESP reply (`+PONG`, `-NOAUTH …`).
async fn resp_command(
    stream: &mut BufReader<TcpStream>,
    args: &[&str],
    shown: &str,
) -> Result<String, CheckError> {
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    let exchange = async {
        stream.get_mut().write_all(request.as_bytes()).await?;
        let mut line = String::new();
        // A reply line is short; a server streaming one without end is read no further.
        let limit = crate::checks::params::KEPT_TEXT_BYTES as u64;
        (&mut *stream).take(limit).read_line(&mut line).await?;
        Ok::<String, std::io::Error>(line)
    };
    let line = tokio::time::timeout(CONNECT_TIMEOUT, exchange)
        .await
        .map_err(|_| CheckError::new(format!("Redis at {shown} did not answer within 5s")))?
        .map_err(|e| CheckError::new(format!("Redis at {shown}: {e}")))?;
    if line.is_empty() {
        return Err(CheckError::new(format!(
            "Redis at {shown} closed the connection"
        )));
    }
    Ok(line.trim_end().to_string())
}

/// What Redis answered: to `PING`, then to `AUTH` with each password in turn, up to the first
/// reply that is not an error.
#[derive(Debug, Default)]
struct RedisReplies {
    ping: String,
    auth: Vec<String>,
}

async fn redis(address: &str, passwords: &[String]) -> CheckOutcome {
    let (host, port) = split_address(address, 6379)?;
    let shown = format!("{host}:{port}");
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host.as_str(), port)))
        .await
        .map_err(|_| {
            CheckError::new(format!(
                "cannot connect to Redis at {shown}: no answer within 5s"
            ))
        })?
        .map_err(|e| CheckError::new(format!("cannot connect to Redis at {shown}: {e}")))?;
    let mut stream = BufReader::new(stream);
    let mut replies = RedisReplies {
        ping: resp_command(&mut stream, &["PING"], &shown).await?,
        auth: Vec::new(),
    };
    if replies.ping.starts_with("-NOAUTH") {
        for password in passwords {
            let reply = resp_command(&mut stream, &["AUTH", password], &shown).await?;
            let refused = reply.starts_with('-');
            replies.auth.push(reply);
            if !refused {
                break;
            }
        }
    }
    judge_redis(&shown, &replies, passwords.len())
}

/// Bytes of an unexpected Redis reply an error shows, cut after masking.
const REPLY_SHOWN_BYTES: usize = 120;

/// No password at all fails (warns when only protected mode stands in the way); so does a
/// well-known password that `AUTH` accepts.
fn judge_redis(shown: &str, replies: &RedisReplies, passwords: usize) -> CheckOutcome {
    let subject = format!("redis:{shown}");
    let mut obs = Observation::default();
    if replies.ping.starts_with("+PONG") {
        obs.findings.push(Finding::fail(
            &subject,
            format!("Redis at {shown} answers PING without a password: anyone who reaches it can read and change every key"),
        ));
        return Ok(obs);
    }
    if replies.ping.starts_with("-DENIED") {
        obs.findings.push(Finding::warn(
            &subject,
            format!("Redis at {shown} has no password; only its protected mode turns remote clients away"),
        ));
        return Ok(obs);
    }
    if !replies.ping.starts_with("-NOAUTH") {
        return Err(CheckError::quoting(
            &format!("Redis at {shown} answered PING with `"),
            &replies.ping,
            "`, neither +PONG nor -NOAUTH",
            REPLY_SHOWN_BYTES,
        ));
    }
    for (index, reply) in replies.auth.iter().enumerate() {
        if reply.starts_with("+OK") {
            obs.findings.push(Finding::fail(
                &subject,
                format!(
                    "Redis at {shown} accepts a well-known password (#{} of the {passwords} tried; value not shown)",
                    index + 1,
                ),
            ));
            break;
        }
        if !reply.starts_with('-') {
            return Err(CheckError::quoting(
                &format!("Redis at {shown} answered AUTH with `"),
                reply,
                "`",
                REPLY_SHOWN_BYTES,
            ));
        }
    }
    // What the server saw: one AUTH per password sent, up to the one it accepted.
    obs.measure("attempts", replies.auth.len() as f64);
    if obs.findings.is_empty() {
        obs.summary = Some(format!(
            "Redis at {shown} requires a password and refused {passwords} well-known one(s)"
        ));
    }
    Ok(obs)
}

/// How one role let a client in, if it did.
#[derive(Debug, Clone, Copy, PartialEq)]
enum LetIn {
    WithoutPassword,
    /// With the password at this index of the list tried.
    WithPassword(usize),
}

/// Each role: no credential at all first, then the passwords until one is accepted. Both are
/// spoken by hand (`pg_startup`, `pg_login`): nothing comes from the environment.
async fn postgres(endpoint: &PgEndpoint, passwords: &[String]) -> CheckOutcome {
    // Validation could not count the target's own user: count it before the first login.
    within_cap(postgres_attempts(&endpoint.users, passwords.len())).map_err(CheckError::new)?;
    let shown = format!("{}:{}", endpoint.host, endpoint.port);
    let mut logins = Vec::new();
    for user in &endpoint.users {
        let mut let_in = None;
        let bare = pg_startup::login_without_credentials(
            &endpoint.host,
            endpoint.port,
            user,
            &endpoint.database,
            CONNECT_TIMEOUT,
        );
        if bare.await? == pg_startup::Answer::LetIn {
            let_in = Some(LetIn::WithoutPassword);
        } else {
            for (index, password) in passwords.iter().enumerate() {
                let login = pg_login::login_with_password(
                    (&endpoint.host, endpoint.port),
                    user,
                    &endpoint.database,
                    password,
                    CONNECT_TIMEOUT,
                );
                if login.await? == pg_login::Login::Accepted {
                    let_in = Some(LetIn::WithPassword(index));
                    break;
                }
            }
        }
        logins.push((user.as_str(), let_in));
    }
    Ok(judge_postgres(&shown, &logins, passwords.len()))
}

fn judge_postgres(shown: &str, logins: &[(&str, Option<LetIn>)], passwords: usize) -> Observation {
    let mut obs = Observation::default();
    let mut attempts = 0;
    for (user, let_in) in logins {
        let subject = format!("postgres:{shown}/{user}");
        attempts += match let_in {
            Some(LetIn::WithoutPassword) => 1,
            Some(LetIn::WithPassword(index)) => 2 + index,
            None => 1 + passwords,
        };
        let message = match let_in {
            None => continue,
            Some(LetIn::WithoutPassword) => {
                format!("PostgreSQL at {shown} lets `{user}` log in without a password")
            }
            Some(LetIn::WithPassword(index)) => format!(
                "PostgreSQL at {shown} lets `{user}` log in with a well-known password (#{} of the {passwords} tried; value not shown)",
                index + 1
            ),
        };
        obs.findings.push(Finding::fail(&subject, message));
    }
    obs.measure("attempts", attempts as f64);
    let users: Vec<String> = logins.iter().map(|(u, _)| format!("`{u}`")).collect();
    obs.summary = Some(format!(
        "PostgreSQL at {shown} refused {} without a password and with {passwords} well-known password(s)",
        users.join(", ")
    ));
    obs
}

/// The schema of the parameters as written (the raw form, before they are checked together).
impl schemars::JsonSchema for CredentialsParams {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "CredentialsParams".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <RawCredentialsParams as schemars::JsonSchema>::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Level;

    fn users(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn addresses_split_into_host_and_port_without_credentials() {
        assert_eq!(
            split_address("cache:6380", 6379).unwrap(),
            ("cache".into(), 6380)
        );
        assert_eq!(
            split_address("cache", 6379).unwrap(),
            ("cache".into(), 6379)
        );
        assert_eq!(
            split_address("[::1]:7000", 6379).unwrap(),
            ("::1".into(), 7000)
        );
        assert_eq!(
            split_address("redis://:pw@h:6390/0", 6379).unwrap(),
            ("h".into(), 6390)
        );
        let e = split_address("h:port", 6379).unwrap_err();
        assert_eq!(e.0, "`h:port` is not host:port (port `port`)");
    }

    #[test]
    fn a_url_adds_its_user_and_the_target_gives_its_database() {
        let own =
            address_endpoint("postgres://app:pw@db:5433/x", &users(&["postgres"]), None).unwrap();
        assert_eq!(
            own,
            PgEndpoint {
                host: "db".into(),
                port: 5433,
                users: users(&["postgres", "app"]),
                database: "postgres".into(),
            }
        );
        let target = target_endpoint("postgres://app:pw@db/shop", &users(&["app"]), None).unwrap();
        assert_eq!((target.users.len(), target.database.as_str()), (1, "shop"));
        let chosen = target_endpoint("postgres://db/", &[], Some("other")).unwrap();
        assert_eq!((chosen.port, chosen.database.as_str()), (5432, "other"));
    }

    #[test]
    fn the_login_cap_counts_the_user_a_url_names() {
        let parse = |params: serde_json::Value| {
            serde_json::from_value::<CredentialsParams>(params).map(|_| ())
        };
        let users = serde_json::json!(["a", "b"]);
        assert!(parse(serde_json::json!({"postgres": "db:5432", "users": users})).is_ok());
        let error = parse(serde_json::json!({"postgres": "postgres://app@db/x", "users": users}))
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("18 login attempts: at most 12 are allowed"),
            "{error}"
        );
        assert!(
            parse(serde_json::json!({"postgres": "postgres://a@db/x", "users": users})).is_ok()
        );
    }

    fn replies(ping: &str, auth: &[&str]) -> RedisReplies {
        RedisReplies {
            ping: ping.into(),
            auth: auth.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn redis_without_a_password_or_with_a_known_one_fails() {
        let open = judge_redis("h:6379", &replies("+PONG", &[]), 7).unwrap();
        assert!(
            open.findings[0]
                .message
                .contains("answers PING without a password")
        );
        let protected =
            judge_redis("h:6379", &replies("-DENIED Redis is running", &[]), 7).unwrap();
        assert_eq!(protected.findings[0].level, Level::Warn);
        let known = judge_redis(
            "h:6379",
            &replies("-NOAUTH Authentication required.", &["-WRONGPASS", "+OK"]),
            7,
        )
        .unwrap();
        assert_eq!(
            known.findings[0].message,
            "Redis at h:6379 accepts a well-known password (#2 of the 7 tried; value not shown)"
        );
        assert_eq!(known.findings[0].subject, "redis:h:6379");
        assert_eq!(known.measurements["attempts"], 2.0);
    }

    #[test]
    fn redis_that_refuses_every_password_passes_and_odd_replies_are_errors() {
        let refused = judge_redis("h:6379", &replies("-NOAUTH", &["-WRONGPASS"; 2]), 2).unwrap();
        assert!(refused.findings.is_empty());
        assert_eq!(refused.measurements["attempts"], 2.0);
        assert!(judge_redis("h:6379", &replies("$5", &[]), 2).is_err());
        assert!(judge_redis("h:6379", &replies("-NOAUTH", &["*1"]), 2).is_err());
    }

    #[test]
    fn postgres_logins_are_findings_and_attempts_are_counted() {
        let obs = judge_postgres(
            "db:5432",
            &[
                ("postgres", Some(LetIn::WithPassword(1))),
                ("app", None),
                ("trusty", Some(LetIn::WithoutPassword)),
            ],
            5,
        );
        let found: Vec<(&str, &str)> = obs
            .findings
            .iter()
            .map(|f| (f.subject.as_str(), f.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "postgres:db:5432/postgres",
                    "PostgreSQL at db:5432 lets `postgres` log in with a well-known password (#2 \
                     of the 5 tried; value not shown)"
                ),
                (
                    "postgres:db:5432/trusty",
                    "PostgreSQL at db:5432 lets `trusty` log in without a password"
                ),
            ]
        );
        assert_eq!(obs.measurements["attempts"], (3 + 6 + 1) as f64);
        assert_eq!(
            obs.summary.unwrap(),
            "PostgreSQL at db:5432 refused `postgres`, `app`, `trusty` without a password and \
             with 5 well-known password(s)"
        );
    }
}
