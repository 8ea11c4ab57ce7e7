//! Secrets in dotenv files and in the environment of compose services, and the default logins
//! of the Redis and PostgreSQL services compose files declare. Names only: no value is kept.

use std::collections::BTreeMap;

use super::{Generated, slug};
use crate::discover::compose::{ComposeSecret, Origin};
use crate::discover::repository::{RepoFacts, ServiceKind};
use crate::discover::yaml::Yaml;

pub fn secret_checks(repo: &RepoFacts, notes: &mut Vec<String>) -> Vec<Generated> {
    let mut checks = dotenv_checks(repo);
    checks.extend(compose_secret_checks(&repo.compose_secrets, notes));
    checks.extend(service_checks(repo, notes));
    checks
}

/// `from` and, for a JWT key, the bar an HMAC key is held to.
fn secret_params(from: String, key: &str) -> Yaml {
    let mut params = vec![("from", Yaml::str(from))];
    if key.to_ascii_uppercase().contains("JWT") {
        params.push(("alg", Yaml::str("HS256")));
        params.push(("min_entropy_bits", Yaml::Int(128)));
    }
    Yaml::map(params)
}

fn dotenv_checks(repo: &RepoFacts) -> Vec<Generated> {
    let mut checks = Vec::new();
    for file in &repo.env_files {
        for key in &file.secret_keys {
            checks.push(
                Generated::new(
                    &format!("secrets.{}.{}", slug(&file.path), slug(key)),
                    &format!(
                        "{key} in {} is strong and not a well-known default",
                        file.path
                    ),
                    "secret",
                    secret_params(format!("dotenv:{}#{key}", file.path), key),
                )
                .local("security", "high")
                .because(format!("{} assigns {key} (value not shown)", file.path)),
            );
        }
    }
    checks
}

/// One check per variable of the environment the services' secrets are read from, in the
/// order of the variables' names; a value compose builds from text and variables is only
/// noted, as no one variable holds it.
fn compose_secret_checks(secrets: &[ComposeSecret], notes: &mut Vec<String>) -> Vec<Generated> {
    let mut by_variable: BTreeMap<&str, Vec<&ComposeSecret>> = BTreeMap::new();
    for secret in secrets {
        if secret.origin == Origin::Composed {
            notes.push(format!(
                "{} builds {} of service `{}` from text and variables: no secret check (value not shown)",
                secret.file, secret.key, secret.service
            ));
        } else {
            by_variable
                .entry(secret.variable())
                .or_default()
                .push(secret);
        }
    }
    by_variable
        .into_iter()
        .map(|(variable, uses)| {
            let mut check = Generated::new(
                &format!("secrets.compose.{}", slug(variable)),
                &format!("{variable} in the environment is strong and not a well-known default"),
                "secret",
                secret_params(format!("env:{variable}"), variable),
            )
            .local("security", "high");
            for secret in uses {
                check = check.because(compose_reason(secret));
                if secret.origin == Origin::Literal && check.remediation.is_none() {
                    check.remediation = Some(format!(
                        "Remove the value of {} from {} and let compose read it from the environment (an interpolated variable or an untracked env file)",
                        secret.key, secret.file
                    ));
                }
            }
            check
        })
        .collect()
}

/// Why a compose secret is checked; never its value.
fn compose_reason(secret: &ComposeSecret) -> String {
    let ComposeSecret {
        file,
        service,
        key,
        origin,
    } = secret;
    match origin {
        Origin::Variable { name, fallback } => {
            let fallback = if *fallback {
                format!(", with a fallback written in {file} (value not shown)")
            } else {
                String::new()
            };
            format!("service `{service}` in {file} takes {key} from ${{{name}}}{fallback}")
        }
        Origin::PassedThrough => {
            format!("service `{service}` in {file} takes {key} from the environment")
        }
        Origin::Literal => format!(
            "service `{service}`: {key} set literally in {file}; move it to the environment (value not shown)"
        ),
        Origin::Composed => format!(
            "service `{service}`: {key} built from text and variables in {file} (value not shown)"
        ),
    }
}

fn service_checks(repo: &RepoFacts, notes: &mut Vec<String>) -> Vec<Generated> {
    let mut checks = Vec::new();
    for service in &repo.services {
        let (kind, key) = match service.kind {
            ServiceKind::Postgres => ("PostgreSQL", "postgres"),
            ServiceKind::Redis => ("Redis", "redis"),
        };
        let Some(address) = &service.published else {
            notes.push(format!(
                "{} declares the {kind} service `{}` without a published host port: not probed",
                service.file, service.name
            ));
            continue;
        };
        checks.push(
            Generated::new(
                &format!("services.{}.default-login", slug(&service.name)),
                &format!(
                    "{kind} service {} refuses clients without a password or with default ones",
                    service.name
                ),
                "default_credentials",
                Yaml::map(vec![(key, Yaml::str(address))]),
            )
            .local("security", "critical")
            .because(format!(
                "{} declares the {kind} service `{}`, published on {address}",
                service.file, service.name
            )),
        );
    }
    checks
}
