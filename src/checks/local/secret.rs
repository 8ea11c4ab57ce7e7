//! `secret`: a secret is present, long and random enough, not a known default, and distinct
//! from the secrets it must differ from. Every value read here is added to the redactor before
//! anything is reported, and findings show only lengths and entropy estimates.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Deserializer, de};

use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::params::OneOrMany;
use crate::checks::{Ctx, KindSpec};
use crate::target::TargetFamily;

/// Values that tutorials, images and `.env.example` files ship with, compared case-insensitively.
pub const KNOWN_DEFAULTS: &[&str] = &[
    "postgres",
    "password",
    "passw0rd",
    "changeme",
    "change-me",
    "change_me",
    "changeit",
    "secret",
    "supersecret",
    "super-secret",
    "mysecret",
    "my-secret",
    "secretkey",
    "secret-key",
    "secret_key",
    "jwt-secret",
    "jwt_secret",
    "jwtsecret",
    "admin",
    "administrator",
    "minioadmin",
    "root",
    "toor",
    "test",
    "testing",
    "development",
    "dev",
    "default",
    "example",
    "your-256-bit-secret",
    "your-384-bit-secret",
    "your-512-bit-secret",
    "your-secret-key",
    "your_secret_key",
    "your-jwt-secret",
    "your_jwt_secret",
    "super-secret-jwt-token-with-at-least-32-characters-long",
    "123456",
    "12345678",
    "1234567890",
    "qwerty",
    "letmein",
    "foobared",
    "redis",
    "mysql",
    "guest",
    "xxx",
    "todo",
    "replace-me",
    "replaceme",
    "notasecret",
    // Keys from the front pages of JWT libraries and tutorials.
    "a-string-secret-at-least-256-bits-long",
    "shhhhh",
    "keyboard cat",
    "secret123",
    "s3cr3t",
    "mysecretkey",
    "mysecretpassword",
    "supersecretkey",
    "topsecret",
    "thisisasecret",
    "thisismysecretkey",
    "your-secret-key-here",
    "change-this-secret",
    "changethis",
    "jwt-secret-key",
    "my-jwt-secret",
    "my-secret-key",
    "secret-jwt-key",
    "your-super-secret-jwt-key",
    "your-super-secret-and-long-jwt-secret",
    "your-super-secret-jwt-token-with-at-least-32-characters-long",
    "qwertyuiopasdfghjklzxcvbnm123456",
];

/// Where a secret is read from: `env:NAME`, `dotenv:PATH#NAME` or `file:PATH`.
#[derive(Debug, Clone, PartialEq)]
pub enum SecretSource {
    Env(String),
    Dotenv { path: String, name: String },
    File(String),
}

impl SecretSource {
    pub fn parse(text: &str) -> Result<SecretSource, String> {
        let wrong = || {
            format!(
                "`{text}` is not a secret source; write env:NAME, dotenv:PATH#NAME or file:PATH"
            )
        };
        let (scheme, rest) = text.split_once(':').ok_or_else(wrong)?;
        match scheme {
            "env" if !rest.is_empty() => Ok(SecretSource::Env(rest.to_string())),
            "file" if !rest.is_empty() => Ok(SecretSource::File(rest.to_string())),
            "dotenv" => match rest.rsplit_once('#') {
                Some((path, name)) if !path.is_empty() && !name.is_empty() => {
                    Ok(SecretSource::Dotenv {
                        path: path.to_string(),
                        name: name.to_string(),
                    })
                }
                _ => Err(format!(
                    "`{text}`: a dotenv source names the file and the variable, dotenv:PATH#NAME"
                )),
            },
            _ => Err(wrong()),
        }
    }

    /// How findings name the secret: the source as written, never its value.
    pub fn shown(&self) -> String {
        match self {
            SecretSource::Env(name) => format!("env:{name}"),
            SecretSource::Dotenv { path, name } => format!("dotenv:{path}#{name}"),
            SecretSource::File(path) => format!("file:{path}"),
        }
    }

    /// The value, `Ok(None)` when it is absent (a finding), `Err` when it cannot be read.
    pub fn read(
        &self,
        env: &HashMap<String, String>,
        base_dir: &Path,
    ) -> Result<Option<String>, CheckError> {
        match self {
            SecretSource::Env(name) => Ok(env.get(name).cloned()),
            SecretSource::File(path) => match std::fs::read(base_dir.join(path)) {
                // A mounted secret usually ends with the newline of the tool that wrote it.
                Ok(bytes) => Ok(Some(
                    String::from_utf8_lossy(&bytes)
                        .strip_suffix('\n')
                        .map(|s| s.strip_suffix('\r').unwrap_or(s).to_string())
                        .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned()),
                )),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(CheckError::new(format!("cannot read {path}: {e}"))),
            },
            SecretSource::Dotenv { path, name } => {
                match std::fs::read_to_string(base_dir.join(path)) {
                    Ok(text) => dotenv_value(&text, name, path),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(CheckError::new(format!("cannot read {path}: {e}"))),
                }
            }
        }
    }
}

crate::checks::params::text_schema!(
    SecretSource,
    "SecretSource",
    "env:NAME, dotenv:PATH#NAME or file:PATH"
);

impl<'de> Deserialize<'de> for SecretSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        SecretSource::parse(&text).map_err(de::Error::custom)
    }
}

/// The last assignment of `name` in a dotenv file, as dotenvy reads it (`export`, quotes,
/// `# comments`, `${VAR}` substitution outside single quotes), without touching the process
/// environment. A line dotenvy cannot read is an error naming the file and the line only: its
/// text may hold a secret.
pub fn dotenv_value(text: &str, name: &str, file: &str) -> Result<Option<String>, CheckError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut found = None;
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok((key, value)) if key == name => found = Some(value),
            Ok(_) => {}
            Err(dotenvy::Error::LineParse(line, _)) => {
                return Err(CheckError::new(format!(
                    "{file}: line {} is not a dotenv assignment (NAME=value)",
                    line_number(text, &line)
                )));
            }
            Err(_) => {
                return Err(CheckError::new(format!(
                    "{file} cannot be read as a dotenv file"
                )));
            }
        }
    }
    Ok(found)
}

/// The 1-based line of `text` where the logical `line` dotenvy could not read starts.
fn line_number(text: &str, line: &str) -> usize {
    let start = text.find(line).unwrap_or(0);
    text[..start].matches('\n').count() + 1
}

/// HMAC algorithms whose key size RFC 7518 §3.2 fixes: a key at least as long as the hash.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, schemars::JsonSchema)]
pub enum Alg {
    HS256,
    HS384,
    HS512,
}

impl Alg {
    fn min_key_bytes(self) -> usize {
        match self {
            Alg::HS256 => 32,
            Alg::HS384 => 48,
            Alg::HS512 => 64,
        }
    }
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretParams {
    pub from: SecretSource,
    #[serde(default = "default_min_bytes")]
    pub min_bytes: usize,
    #[serde(default = "default_min_entropy")]
    pub min_entropy_bits: f64,
    #[serde(default = "yes")]
    pub not_default: bool,
    #[serde(default)]
    pub deny: Vec<String>,
    pub distinct_from: Option<OneOrMany<SecretSource>>,
    pub alg: Option<Alg>,
}

fn default_min_bytes() -> usize {
    16
}

fn default_min_entropy() -> f64 {
    64.0
}

fn yes() -> bool {
    true
}

impl KindSpec for SecretParams {
    fn family(&self) -> Option<TargetFamily> {
        None
    }
}

pub async fn run(params: &SecretParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let (env, base_dir) = (ctx.env, ctx.base_dir);
    let subject = params.from.shown();
    let value = params.from.read(env, base_dir)?;
    let others: Vec<(String, Option<String>)> = params
        .distinct_from
        .clone()
        .map(OneOrMany::into_vec)
        .unwrap_or_default()
        .iter()
        .map(|source| Ok((source.shown(), source.read(env, base_dir)?)))
        .collect::<Result<_, CheckError>>()?;
    // Registered before any finding is built: whatever happens next, reports mask these values.
    value
        .iter()
        .chain(others.iter().filter_map(|(_, v)| v.as_ref()))
        .for_each(|v| ctx.secrets.add(v.clone()));

    Ok(judge(params, &subject, value.as_deref(), &others))
}

/// Every rule over the value read and the values it must differ from (`None`: not set).
fn judge(
    params: &SecretParams,
    subject: &str,
    value: Option<&str>,
    others: &[(String, Option<String>)],
) -> Observation {
    let mut obs = Observation::default();
    let value = match value {
        None => {
            obs.findings
                .push(Finding::fail(subject, format!("{subject} is not set")));
            return obs;
        }
        Some("") => {
            obs.findings.push(Finding::fail(
                subject,
                format!("{subject} is set but empty"),
            ));
            return obs;
        }
        Some(v) => v,
    };
    let length = value.len();
    let entropy = estimate_entropy_bits(value);
    obs.measure("length_bytes", length as f64);
    obs.measure("entropy_bits", entropy.floor());
    let evidence = serde_json::json!({ "length_bytes": length, "entropy_bits": entropy.floor() });
    let messages = length_messages(params, subject, length)
        .into_iter()
        .chain((entropy < params.min_entropy_bits).then(|| {
            format!(
                "{subject} has an estimated {} bits of entropy, below the required {}",
                entropy.floor(),
                params.min_entropy_bits
            )
        }))
        .chain(
            (params.not_default && is_known_default(value))
                .then(|| format!("{subject} is a well-known default value (value not shown)")),
        )
        .chain(
            params
                .deny
                .iter()
                .any(|d| d.eq_ignore_ascii_case(value))
                .then(|| format!("{subject} equals a value listed in `deny` (value not shown)")),
        )
        .chain(
            others
                .iter()
                .filter(|(_, other_value)| other_value.as_deref() == Some(value))
                .map(|(other, _)| format!("{subject} is the same value as {other}")),
        );
    for message in messages {
        obs.findings
            .push(Finding::fail(subject, message).with_evidence(evidence.clone()));
    }
    obs.summary = Some(format!(
        "{subject}: {length} bytes, ~{} bits of estimated entropy",
        entropy.floor()
    ));
    obs
}

/// Shorter than `min_bytes`, or than `alg` needs; a key too short for the algorithm is named
/// once, by the RFC's rule.
fn length_messages(params: &SecretParams, subject: &str, length: usize) -> Vec<String> {
    let alg_fails = params
        .alg
        .map(|alg| (alg, alg.min_key_bytes()))
        .filter(|(_, needed)| length < *needed);
    let mut messages = Vec::new();
    if length < params.min_bytes && alg_fails.is_none_or(|(_, needed)| needed < params.min_bytes) {
        messages.push(format!(
            "{subject} is {length} bytes, shorter than the required {}",
            params.min_bytes
        ));
    }
    if let Some((alg, needed)) = alg_fails {
        messages.push(format!(
            "{subject} is {length} bytes; {alg:?} needs a key of at least {needed} bytes (RFC 7518 §3.2)"
        ));
    }
    messages
}

/// Equal to a known default, ignoring case, separators (`-`, `_`, spaces, dots) and digits or
/// punctuation appended to it (`Password123!`, `YOUR_256_BIT_SECRET`).
pub fn is_known_default(value: &str) -> bool {
    let value = normalize(value);
    let stripped = value.trim_end_matches(|c: char| c.is_ascii_digit());
    KNOWN_DEFAULTS.iter().any(|d| {
        let d = normalize(d);
        d == value || (!stripped.is_empty() && d == stripped)
    })
}

fn normalize(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// An estimate of the entropy in bits. A value made of one repeated block (`abcabc`) counts the
/// block once. Each character of the block is worth log2 of the size of the character classes
/// used (lowercase 26, uppercase 26, digits 10, ASCII symbols 33, other 128), scaled by how
/// varied the block is: its Shannon entropy per character against the most its length allows
/// (a random string scores close to 1, `aaaab` or `password` lower).
pub fn estimate_entropy_bits(value: &str) -> f64 {
    let all: Vec<char> = value.chars().collect();
    if all.is_empty() {
        return 0.0;
    }
    let chars = &all[..period(&all)];
    let (mut lower, mut upper, mut digit, mut symbol, mut other) =
        (false, false, false, false, false);
    let mut counts: HashMap<char, usize> = HashMap::new();
    for &c in chars {
        match c {
            'a'..='z' => lower = true,
            'A'..='Z' => upper = true,
            '0'..='9' => digit = true,
            c if c.is_ascii_graphic() || c == ' ' => symbol = true,
            _ => other = true,
        }
        *counts.entry(c).or_default() += 1;
    }
    let pool = [
        (lower, 26),
        (upper, 26),
        (digit, 10),
        (symbol, 33),
        (other, 128),
    ]
    .iter()
    .filter(|(used, _)| *used)
    .map(|(_, n)| *n as f64)
    .sum::<f64>();
    let n = chars.len() as f64;
    let shannon = counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum::<f64>();
    let most = n.min(pool).log2();
    let variety = if most > 0.0 {
        (shannon / most).min(1.0)
    } else {
        1.0
    };
    pool.log2() * variety * n
}

/// The length of the shortest block whose repetition makes up the value (`abcabcabc` → 3).
fn period(chars: &[char]) -> usize {
    let n = chars.len();
    (1..=n / 2)
        .find(|&p| n.is_multiple_of(p) && chars.chunks(p).all(|c| c == &chars[..p]))
        .unwrap_or(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_and_reject_malformed_text() {
        assert_eq!(
            SecretSource::parse("env:JWT_SECRET").unwrap(),
            SecretSource::Env("JWT_SECRET".into())
        );
        assert_eq!(
            SecretSource::parse("dotenv:config/.env#A#B").unwrap(),
            SecretSource::Dotenv {
                path: "config/.env#A".into(),
                name: "B".into()
            }
        );
        assert!(SecretSource::parse("JWT_SECRET").is_err());
        assert!(SecretSource::parse("dotenv:.env").is_err());
        assert!(SecretSource::parse("vault:x").is_err());
    }

    #[test]
    fn dotenv_values_follow_quoting_rules() {
        let value = |text: &str, name: &str| dotenv_value(text, name, ".env").unwrap();
        let text =
            "# comment\nA=plain # note\nexport B=\"two\\nlines\"\nC='single # kept'\nA=last\n";
        assert_eq!(value(text, "A").as_deref(), Some("last"));
        assert_eq!(value(text, "B").as_deref(), Some("two\nlines"));
        assert_eq!(value(text, "C").as_deref(), Some("single # kept"));
        assert_eq!(value(text, "D"), None);
        assert_eq!(value("X=a # b", "X").as_deref(), Some("a"));
        // dotenvy substitutes earlier values outside single quotes, as docker compose does.
        let text = "\u{feff}BASE=k1\nK=\"${BASE}-x\"\nL='${BASE}'\n";
        assert_eq!(value(text, "K").as_deref(), Some("k1-x"));
        assert_eq!(value(text, "L").as_deref(), Some("${BASE}"));
    }

    #[test]
    fn unreadable_dotenv_lines_are_named_by_number_never_quoted() {
        let text = "A=1\n\nthis line holds hunter2-secret\nB=2\n";
        let e = dotenv_value(text, "B", "config/.env").unwrap_err();
        assert_eq!(
            e.0,
            "config/.env: line 3 is not a dotenv assignment (NAME=value)"
        );
        let e = dotenv_value("A=1\nB=\"open hunter2\n", "A", ".env").unwrap_err();
        assert!(
            !e.0.contains("hunter2") && e.0.starts_with(".env: line 2 "),
            "{}",
            e.0
        );
    }

    #[test]
    fn entropy_estimates_penalise_small_alphabets_and_repetition() {
        assert_eq!(estimate_entropy_bits(""), 0.0);
        assert!(estimate_entropy_bits("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") < 5.0);
        let repeated = estimate_entropy_bits(&"Ab3$".repeat(16));
        assert!(repeated < 30.0, "{repeated}");
        // 32 random hex digits: 128 bits.
        let hex = estimate_entropy_bits("9f86d081884c7d659a2feaa0c55ad015");
        assert!((100.0..=140.0).contains(&hex), "{hex}");
        // 32 random bytes in base64: 256 bits.
        let b64 = estimate_entropy_bits("q3Jx9Lw0ZbT7uYkP2mVfR8sHcNd5GaEo1iKtXyWzQe4");
        assert!(b64 > 200.0, "{b64}");
        // A random 16-character password clears the default 64 bits; a word does not.
        let random16 = estimate_entropy_bits("kV7qT2xLm9PzR4wB");
        assert!(random16 > 80.0, "{random16}");
        assert!(estimate_entropy_bits("password") < 40.0);
        assert!(estimate_entropy_bits("aaaaaaab") < 20.0);
        assert!(estimate_entropy_bits("your-256-bit-secret") < 128.0);
    }

    #[test]
    fn defaults_compare_without_case() {
        assert!(is_known_default("PostGres"));
        assert!(is_known_default("your-256-bit-secret"));
        assert!(is_known_default("YOUR_256_BIT_SECRET"));
        assert!(is_known_default("Password123!"));
        assert!(is_known_default(" changeme "));
        assert!(!is_known_default("postgres-prod-8f2c"));
        assert!(!is_known_default("123"));
    }

    fn params(yaml: &str) -> SecretParams {
        crate::config::node::parse_document(yaml)
            .unwrap()
            .parse()
            .unwrap()
    }

    fn messages(obs: &Observation) -> Vec<&str> {
        obs.findings.iter().map(|f| f.message.as_str()).collect()
    }

    #[test]
    fn an_absent_or_empty_secret_is_one_finding() {
        let p = params("from: env:JWT");
        assert_eq!(
            messages(&judge(&p, "env:JWT", None, &[])),
            ["env:JWT is not set"]
        );
        assert_eq!(
            messages(&judge(&p, "env:JWT", Some(""), &[])),
            ["env:JWT is set but empty"]
        );
    }

    #[test]
    fn a_strong_distinct_secret_passes_and_shows_no_value() {
        let p = params("from: env:JWT\ndistinct_from: env:OTHER");
        let value = "q3Jx9Lw0ZbT7uYkP2mVfR8sHcNd5GaEo1iKtXyWzQe4";
        let others = [("env:OTHER".to_string(), Some("different".to_string()))];
        let obs = judge(&p, "env:JWT", Some(value), &others);
        assert!(obs.findings.is_empty(), "{:?}", obs.findings);
        assert!(!obs.summary.unwrap().contains(value));
    }

    #[test]
    fn every_weakness_is_named_once() {
        let p =
            params("from: env:JWT\nalg: HS256\ndeny: [Changeme]\ndistinct_from: [env:A, env:B]");
        let others = [
            ("env:A".to_string(), Some("changeme".to_string())),
            ("env:B".to_string(), None),
        ];
        let obs = judge(&p, "env:JWT", Some("changeme"), &others);
        assert_eq!(
            messages(&obs),
            [
                "env:JWT is 8 bytes; HS256 needs a key of at least 32 bytes (RFC 7518 §3.2)",
                "env:JWT has an estimated 34 bits of entropy, below the required 64",
                "env:JWT is a well-known default value (value not shown)",
                "env:JWT equals a value listed in `deny` (value not shown)",
                "env:JWT is the same value as env:A",
            ]
        );
        assert_eq!(obs.findings[0].evidence["length_bytes"], 8);
    }

    #[test]
    fn min_bytes_is_named_when_it_asks_more_than_the_algorithm() {
        let p = params("from: env:K\nalg: HS256\nmin_bytes: 40");
        assert_eq!(
            length_messages(&p, "env:K", 20),
            [
                "env:K is 20 bytes, shorter than the required 40",
                "env:K is 20 bytes; HS256 needs a key of at least 32 bytes (RFC 7518 §3.2)",
            ]
        );
        assert_eq!(length_messages(&p, "env:K", 35).len(), 1);
    }
}
