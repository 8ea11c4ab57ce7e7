//! Facts → suite: which checks the discovered system calls for, each with the facts that call for
//! it. A plain function over plain data, so every choice is unit-tested without a server.

mod database;
mod secrets;

pub use database::migrations_check;
use database::{database_checks, db_target, default_login, exposed_schemas};
use secrets::secret_checks;

use super::Facts;
use super::repository::RepoFacts;
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
    let database = database_part(facts, &mut plan);
    let (functions, http) = web_part(facts, &mut plan);
    let secrets = secret_checks(&facts.repository, &mut plan.notes);
    let variable = facts.web.as_ref().map_or("READY_HTTP_URL", |w| w.variable);
    let http_about = format!("Checks of the service at {variable} (target `api`).");
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
        ("http", &http_about, http),
        (
            "secrets",
            "Secrets in dotenv files and compose environments, and the default logins of compose services. Values are never shown.",
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

/// The `db` target and its checks, or a note that there is no database.
fn database_part(facts: &Facts, plan: &mut Plan) -> Vec<Generated> {
    let Some(db) = &facts.database else {
        plan.notes
            .push("DATABASE_URL was not set: no database checks (set it and run again)".into());
        return Vec::new();
    };
    let exposed = exposed_schemas(db, &facts.repository);
    plan.targets.push(db_target(db, &exposed));
    let mut checks = database_checks(db, &exposed, &mut plan.notes);
    checks.extend(migrations_check(
        Some(db),
        &facts.repository,
        &mut plan.notes,
    ));
    checks.push(default_login());
    checks
}

/// The `api` target with the checks of its edge functions and of the service itself, or notes
/// that nothing is probed.
fn web_part(facts: &Facts, plan: &mut Plan) -> (Vec<Generated>, Vec<Generated>) {
    let Some(web) = &facts.web else {
        plan.notes
            .push("READY_HTTP_URL was not set: no HTTP checks (set it and run again)".into());
        if !facts.repository.functions.is_empty() {
            plan.notes.push(format!(
                "{} under supabase/functions are not probed without READY_HTTP_URL",
                count(facts.repository.functions.len(), "edge function")
            ));
        }
        return (Vec::new(), Vec::new());
    };
    plan.targets.push(api_target(web));
    let http = http_checks(web, &mut plan.notes);
    let functions = function_checks(&facts.repository.functions, &mut plan.notes);
    (functions, http)
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
        (_, Some(problem)) => format!(
            "{} did not answer while discovering: {problem}",
            web.variable
        ),
        (Some(path), None) => format!("the health endpoint answered at {path}"),
        (None, None) => format!(
            "no health endpoint answered 2xx among {}",
            HEALTH_PATHS.join(", ")
        ),
    };
    let mut reasons = Vec::new();
    if web.variable != "READY_HTTP_URL" {
        reasons.push(format!(
            "{} (Supabase's own variable): READY_HTTP_URL was not set and supabase/config.toml is there",
            web.variable
        ));
    }
    reasons.push(why);
    TargetPlan {
        name: "api".into(),
        why: reasons,
        settings: Yaml::map(vec![("http", Yaml::str(format!("${{{}}}", web.variable)))]),
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
        .because(format!("{} is https", web.variable));
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
            .because(format!("{} is https", web.variable)),
        );
    } else if web.unreachable.is_none() {
        notes.push(format!("{} is plain http: no tls or security_headers check (run again with the public https address)", web.variable));
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
    let mut checks = vec![
        function_answers(&names, &found),
        function_rate_limits(&names, &found),
    ];
    let webhooks: Vec<String> = names
        .into_iter()
        .filter(|n| n.contains("webhook"))
        .collect();
    if !webhooks.is_empty() {
        checks.push(webhook_signatures(webhooks));
    }
    checks
}

/// The path of the function `{{item}}` under Supabase's gateway.
fn function_path() -> Yaml {
    Yaml::str("/functions/v1/{{item}}")
}

/// Deployed and answering: any answer but a server error (a function may refuse a bare GET).
fn function_answers(names: &[String], found: &str) -> Generated {
    let statuses = [400, 401, 403, 405, 415, 422].map(Yaml::Int);
    let mut answer = Generated::new(
        "functions.answer.{{item}}",
        "The {{item}} function is deployed and answers without a server error",
        "http",
        Yaml::map(vec![
            ("path", function_path()),
            (
                "expect",
                Yaml::map(vec![(
                    "status",
                    Yaml::List([Yaml::str("2xx")].into_iter().chain(statuses).collect()),
                )]),
            ),
        ]),
    )
    .on("api", "reliability", "high")
    .because(found);
    answer.for_each = names.to_vec();
    answer
}

fn function_rate_limits(names: &[String], found: &str) -> Generated {
    let mut limited = Generated::new(
        "functions.rate-limit.{{item}}",
        "A burst against {{item}} is answered with 429 and Retry-After",
        "rate_limit",
        Yaml::map(vec![
            ("path", function_path()),
            ("max_requests", Yaml::Int(300)),
        ]),
    )
    .on("api", "security", "high")
    .because(found);
    limited.for_each = names.to_vec();
    limited.timeout = Some("60s");
    limited
}

fn webhook_signatures(webhooks: Vec<String>) -> Generated {
    let mut signed = Generated::new(
        "functions.webhook-signature.{{item}}",
        "The {{item}} receiver rejects unsigned, forged, tampered and replayed deliveries",
        "webhook_signature",
        Yaml::map(vec![("path", function_path()), ("scheme", Yaml::str("hmac-sha256"))]),
    )
    .on("api", "security", "critical")
    .because(format!("{} with `webhook` in the name: {}", count(webhooks.len(), "function"), list(&webhooks)))
    .because("set scheme to the sender's (hmac-sha256, stripe, standard-webhooks) and add secret: env:NAME for the positive control");
    signed.for_each = webhooks;
    signed
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
