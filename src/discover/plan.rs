//! Facts → suite: which checks the discovered system calls for, each with the facts that call for
//! it. A plain function over plain data, so every choice is unit-tested without a server.

mod database;

pub use database::migrations_check;
use database::{database_checks, db_target, default_login, exposed_schemas};

use super::Facts;
use super::repository::{RepoFacts, ServiceKind};
use super::web::{HEALTH_PATHS, WebFacts};
use super::yaml::Yaml;
use crate::checks::postgres::catalog::list;

/// The suite to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub project: String,
    /// What was found and deliberately left out, and why: the header of `ready.yaml`.
    pub notes: Vec<String>,
    pub targets: Vec<TargetPlan>,
    /// Only files that hold checks.
    pub files: Vec<CheckFile>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TargetPlan {
    pub name: String,
    pub why: Vec<String>,
    pub settings: Yaml,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckFile {
    /// `checks/NAME.yaml`.
    pub name: &'static str,
    pub about: String,
    pub checks: Vec<Generated>,
}

/// One generated check; `why` becomes its comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    pub id: String,
    pub for_each: Vec<String>,
    pub title: String,
    pub category: &'static str,
    pub severity: &'static str,
    pub blocker: bool,
    pub target: Option<&'static str>,
    pub timeout: Option<&'static str>,
    pub kind: &'static str,
    pub params: Yaml,
    pub remediation: Option<String>,
    pub why: Vec<String>,
}

impl Generated {
    pub fn new(id: &str, title: &str, kind: &'static str, params: Yaml) -> Generated {
        Generated {
            id: id.to_string(),
            for_each: Vec::new(),
            title: title.to_string(),
            category: "security",
            severity: "high",
            blocker: false,
            target: None,
            timeout: None,
            kind,
            params,
            remediation: None,
            why: Vec::new(),
        }
    }

    pub fn on(
        mut self,
        target: &'static str,
        category: &'static str,
        severity: &'static str,
    ) -> Self {
        self.target = Some(target);
        self.category = category;
        self.severity = severity;
        self
    }

    /// A check that names its own address or file, not a target.
    pub fn local(mut self, category: &'static str, severity: &'static str) -> Self {
        self.category = category;
        self.severity = severity;
        self
    }

    /// Required by every stage (`blocker: true`).
    pub fn blocking(mut self) -> Self {
        self.blocker = true;
        self
    }

    pub fn because(mut self, why: impl Into<String>) -> Self {
        self.why.push(why.into());
        self
    }
}

pub fn plan(facts: &Facts) -> Plan {
    let mut plan = Plan {
        project: project_name(facts),
        notes: Vec::new(),
        targets: Vec::new(),
        files: Vec::new(),
    };
    let mut database = Vec::new();
    if let Some(db) = &facts.database {
        let exposed = exposed_schemas(db, &facts.repository);
        plan.targets.push(db_target(db, &exposed));
        database = database_checks(db, &exposed, &mut plan.notes);
        database.extend(migrations_check(
            Some(db),
            &facts.repository,
            &mut plan.notes,
        ));
        database.push(default_login());
    } else {
        plan.notes
            .push("DATABASE_URL was not set: no database checks (set it and run again)".into());
    }
    let mut http = Vec::new();
    let mut functions = Vec::new();
    match &facts.web {
        Some(web) => {
            plan.targets.push(api_target(web));
            http = http_checks(web, &mut plan.notes);
            functions = function_checks(&facts.repository.functions, &mut plan.notes);
        }
        None => {
            plan.notes
                .push("READY_HTTP_URL was not set: no HTTP checks (set it and run again)".into());
            if !facts.repository.functions.is_empty() {
                plan.notes.push(format!(
                    "{} under supabase/functions are not probed without READY_HTTP_URL",
                    count(facts.repository.functions.len(), "edge function")
                ));
            }
        }
    }
    let secrets = secret_checks(&facts.repository, &mut plan.notes);
    let repository = coverage_checks(&facts.repository);
    for (name, about, checks) in [
        (
            "database",
            "Checks of the database at DATABASE_URL (target `db`).",
            database,
        ),
        (
            "functions",
            "Checks of the edge functions under supabase/functions (target `api`).",
            functions,
        ),
        (
            "http",
            "Checks of the service at READY_HTTP_URL (target `api`).",
            http,
        ),
        (
            "secrets",
            "Secrets in dotenv files and the default logins of compose services. Values are never shown.",
            secrets,
        ),
        ("repository", "Evidence kept in the repository.", repository),
    ] {
        if !checks.is_empty() {
            plan.files.push(CheckFile {
                name,
                about: about.to_string(),
                checks,
            });
        }
    }
    plan
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `supabase/config.toml`'s `project_id`, else the folder's name, as an id.
fn project_name(facts: &Facts) -> String {
    let named = facts
        .repository
        .supabase
        .as_ref()
        .and_then(|s| s.project_id.clone())
        .unwrap_or_else(|| facts.dir_name.clone());
    let slug = slug(&named);
    if slug.is_empty() {
        "my-project".into()
    } else {
        slug
    }
}

/// Lowercase letters, digits and single dashes: usable in a check id.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

fn api_target(web: &WebFacts) -> TargetPlan {
    let why = match (&web.health, &web.unreachable) {
        (_, Some(problem)) => format!("READY_HTTP_URL did not answer while discovering: {problem}"),
        (Some(path), None) => format!("the health endpoint answered at {path}"),
        (None, None) => format!(
            "no health endpoint answered 2xx among {}",
            HEALTH_PATHS.join(", ")
        ),
    };
    TargetPlan {
        name: "api".into(),
        why: vec![why],
        settings: Yaml::map(vec![("http", Yaml::str("${READY_HTTP_URL}"))]),
    }
}

fn http_checks(web: &WebFacts, notes: &mut Vec<String>) -> Vec<Generated> {
    let mut checks = Vec::new();
    if let Some(path) = &web.health {
        checks.push(
            Generated::new(
                "http.health",
                "The health endpoint answers 200 and its body says the service is up",
                "health",
                Yaml::map(vec![
                    ("path", Yaml::str(path)),
                    ("max_latency", Yaml::str("1s")),
                    ("samples", Yaml::Int(3)),
                ]),
            )
            .on("api", "reliability", "high")
            .because(format!("GET {path} answered 2xx")),
        );
    }
    if web.https {
        let mut tls = Generated::new(
            "http.tls",
            "The TLS certificate is valid, trusted, for this host and not about to expire",
            "tls",
            Yaml::Map(vec![]),
        )
        .on("api", "security", "critical")
        .because("READY_HTTP_URL is https");
        tls.blocker = true;
        checks.push(tls);
        checks.push(
            Generated::new(
                "http.security-headers",
                "Browser security headers are set (HSTS, nosniff, framing, CSP, cookies, CORS)",
                "security_headers",
                Yaml::map(vec![("path", Yaml::str("/"))]),
            )
            .on("api", "security", "high")
            .because("READY_HTTP_URL is https"),
        );
    } else if web.unreachable.is_none() {
        notes.push("READY_HTTP_URL is plain http: no tls or security_headers check (run again with the public https address)".into());
    }
    checks
}

/// A function name usable in a check id as it is.
fn id_safe(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'))
}

pub fn function_checks(functions: &[String], notes: &mut Vec<String>) -> Vec<Generated> {
    let (names, odd): (Vec<String>, Vec<String>) =
        functions.iter().cloned().partition(|f| id_safe(f));
    if !odd.is_empty() {
        notes.push(format!(
            "functions not probed, their names do not fit in a check id: {}",
            list(&odd)
        ));
    }
    if names.is_empty() {
        return Vec::new();
    }
    let found = format!(
        "{} under supabase/functions: {}",
        count(names.len(), "edge function"),
        list(&names)
    );
    let path = Yaml::str("/functions/v1/{{item}}");
    let mut answer = Generated::new(
        "functions.answer.{{item}}",
        "The {{item}} function is deployed and answers without a server error",
        "http",
        Yaml::map(vec![
            ("path", path.clone()),
            (
                "expect",
                Yaml::map(vec![(
                    "status",
                    Yaml::List(vec![
                        Yaml::str("2xx"),
                        Yaml::Int(400),
                        Yaml::Int(401),
                        Yaml::Int(403),
                        Yaml::Int(405),
                        Yaml::Int(415),
                        Yaml::Int(422),
                    ]),
                )]),
            ),
        ]),
    )
    .on("api", "reliability", "high")
    .because(found.clone());
    answer.for_each = names.clone();
    let mut limited = Generated::new(
        "functions.rate-limit.{{item}}",
        "A burst against {{item}} is answered with 429 and Retry-After",
        "rate_limit",
        Yaml::map(vec![
            ("path", path.clone()),
            ("max_requests", Yaml::Int(300)),
        ]),
    )
    .on("api", "security", "high")
    .because(found);
    limited.for_each = names.clone();
    limited.timeout = Some("60s");
    let mut checks = vec![answer, limited];
    let webhooks: Vec<String> = names
        .into_iter()
        .filter(|n| n.contains("webhook"))
        .collect();
    if !webhooks.is_empty() {
        let mut signed = Generated::new(
            "functions.webhook-signature.{{item}}",
            "The {{item}} receiver rejects unsigned, forged, tampered and replayed deliveries",
            "webhook_signature",
            Yaml::map(vec![("path", path), ("scheme", Yaml::str("hmac-sha256"))]),
        )
        .on("api", "security", "critical")
        .because(format!("{} with `webhook` in the name: {}", count(webhooks.len(), "function"), list(&webhooks)))
        .because("set scheme to the sender's (hmac-sha256, stripe, standard-webhooks) and add secret: env:NAME for the positive control");
        signed.for_each = webhooks;
        checks.push(signed);
    }
    checks
}

fn secret_checks(repo: &RepoFacts, notes: &mut Vec<String>) -> Vec<Generated> {
    let mut checks = Vec::new();
    for file in &repo.env_files {
        for key in &file.secret_keys {
            let jwt = key.to_ascii_uppercase().contains("JWT");
            let mut params = vec![("from", Yaml::str(format!("dotenv:{}#{key}", file.path)))];
            if jwt {
                params.push(("alg", Yaml::str("HS256")));
                params.push(("min_entropy_bits", Yaml::Int(128)));
            }
            checks.push(
                Generated::new(
                    &format!("secrets.{}.{}", slug(&file.path), slug(key)),
                    &format!(
                        "{key} in {} is strong and not a well-known default",
                        file.path
                    ),
                    "secret",
                    Yaml::map(params),
                )
                .local("security", "high")
                .because(format!("{} assigns {key} (value not shown)", file.path)),
            );
        }
    }
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

fn coverage_checks(repo: &RepoFacts) -> Vec<Generated> {
    repo.coverage
        .iter()
        .map(|report| {
            Generated::new(
                &format!("coverage.{}", slug(&report.path)),
                &format!("Tests cover at least 80% of the lines in {}", report.path),
                "coverage",
                Yaml::map(vec![
                    ("report", Yaml::str(&report.path)),
                    ("min_lines", Yaml::Int(80)),
                ]),
            )
            .local("reliability", "medium")
            .because(format!(
                "coverage report {} ({})",
                report.path, report.format
            ))
            .because("80% is a starting point: set the bar your team keeps")
        })
        .collect()
}

#[cfg(test)]
mod tests;
