//! `targets:`: PostgreSQL databases and HTTP services, and the messages about naming them.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Loader;
use super::diagnostic::Code;
use super::keys::{HTTP_TARGET, POSTGRES_TARGET};
use super::node::{Key, Node, Value};
use super::reader::Table;
use crate::model::{HttpTarget, PostgresTarget, Target, TargetFamily, TargetKind, TargetState};
use crate::suggest::did_you_mean;

pub(super) fn default_concurrency(family: TargetFamily) -> usize {
    match family {
        // A few connections are plenty for catalog queries and spare the server.
        TargetFamily::Postgres => 4,
        TargetFamily::Http => 32,
    }
}

/// `unknown target `x`; known: a, b`, wherever a target is named.
pub(super) fn unknown_target(name: &str, targets: &BTreeMap<String, Target>) -> String {
    if targets.is_empty() {
        return format!("unknown target `{name}`; none are defined under `targets:`");
    }
    let known: Vec<&str> = targets.keys().map(String::as_str).collect();
    format!(
        "unknown target `{name}`{}; known: {}",
        did_you_mean(name, known.iter().copied()),
        known.join(", ")
    )
}

/// A check naming a target of the wrong family.
pub(super) fn wrong_family(name: &str, target: TargetFamily, kind: &str, needs: &str) -> String {
    format!(
        "target `{name}` is a {} target; a `{kind}` check needs a {needs} target",
        target.as_str()
    )
}

/// A target that could not be read: the diagnostic that says why, and the checks that use it.
#[derive(Debug, Default)]
pub(super) struct FailedTarget {
    diagnostic: usize,
    users: Vec<String>,
}

impl Loader<'_> {
    pub(super) fn targets(&mut self, file: &str, node: &Node) -> BTreeMap<String, Target> {
        let mut targets = BTreeMap::new();
        let Some(entries) = self.mapping(file, node, "targets") else {
            return targets;
        };
        for (key, def) in entries {
            let before = self.diags.0.len();
            match self.target(file, key, def) {
                Some(target) => {
                    targets.insert(key.name.clone(), target);
                }
                // The last problem pushed is the one that stopped the target.
                None if self.diags.0.len() > before => {
                    let failed = FailedTarget {
                        diagnostic: self.diags.0.len() - 1,
                        users: Vec::new(),
                    };
                    self.failed_targets.insert(key.name.clone(), failed);
                }
                None => {}
            }
        }
        targets
    }

    /// Whether `name` is a target that failed to load; if so `check` is noted as a user of it
    /// instead of getting a diagnostic of its own.
    pub(super) fn uses_failed_target(&mut self, name: &str, check: &str) -> bool {
        let Some(failed) = self.failed_targets.get_mut(name) else {
            return false;
        };
        if !failed.users.iter().any(|u| u == check) {
            failed.users.push(check.to_string());
        }
        true
    }

    /// Adds to each failed target's diagnostic the checks that use it.
    pub(super) fn name_failed_target_users(&mut self) {
        for failed in self.failed_targets.values() {
            let users: Vec<String> = failed.users.iter().map(|u| format!("`{u}`")).collect();
            let note = match users.as_slice() {
                [] => continue,
                [one] => format!(" (check {one} uses it)"),
                [first @ .., last] if users.len() <= 5 => {
                    format!(" (checks {} and {last} use it)", first.join(", "))
                }
                _ => format!(
                    " (checks {} and {} more use it)",
                    users[..4].join(", "),
                    users.len() - 4
                ),
            };
            self.diags.0[failed.diagnostic].message.push_str(&note);
        }
    }

    fn target(&mut self, file: &str, key: &Key, def: &Node) -> Option<Target> {
        let name = key.name.as_str();
        let family = self.target_family(file, key, def)?;
        // Interpolate the whole definition; an unset variable makes the target unusable.
        let mut missing = Vec::new();
        let def = self.interpolate_node(file, def, &mut missing);
        let (section, family_name) = match family {
            TargetFamily::Postgres => (&POSTGRES_TARGET, "postgres"),
            TargetFamily::Http => (&HTTP_TARGET, "http"),
        };
        let what = format!("{family_name} target `{name}`");
        let table = Table::new(file, &def, section, &what);
        table.finish(&mut self.diags);
        let concurrency = match table.get("concurrency") {
            Some(_) => self.concurrency_at(&table).unwrap_or(1),
            None => default_concurrency(family),
        };
        let user = format!("target `{name}`");
        self.warn_missing(file, &missing, &user, "its checks would be `error`");
        let state = match missing.first() {
            Some((_, first)) => {
                TargetState::Unresolved(format!("target `{name}`: {}", first.describe()))
            }
            None => TargetState::Ready(self.target_kind(&table, name, family)?),
        };
        Some(Target {
            name: name.to_string(),
            family,
            state,
            concurrency,
        })
    }

    fn target_family(&mut self, file: &str, key: &Key, def: &Node) -> Option<TargetFamily> {
        let name = &key.name;
        if def.entries().is_none() {
            self.diags.push(
                file,
                Some(def.loc),
                Code::InvalidValue,
                format!("target `{name}` must be a mapping with `postgres:` or `http:`"),
            );
            return None;
        };
        let problem = match (def.get("postgres").is_some(), def.get("http").is_some()) {
            (true, false) => return Some(TargetFamily::Postgres),
            (false, true) => return Some(TargetFamily::Http),
            (true, true) => format!(
                "target `{name}` has both `postgres:` and `http:`; a target is one or the other"
            ),
            (false, false) => format!(
                "target `{name}` needs `postgres:` (a connection URL) or `http:` (a base URL)"
            ),
        };
        self.diags
            .push(file, Some(key.loc), Code::KindCount, problem);
        None
    }

    fn target_kind(
        &mut self,
        table: &Table,
        name: &str,
        family: TargetFamily,
    ) -> Option<TargetKind> {
        let url_node = table.get(family.as_str())?;
        let Some(url_text) = url_node.str() else {
            self.diags.push(
                table.file,
                Some(url_node.loc),
                Code::InvalidValue,
                format!("`{}` must be a URL string", family.as_str()),
            );
            return None;
        };
        if family == TargetFamily::Postgres {
            self.secrets.push(url_text.to_string());
        }
        let url = self.target_url(table.file, name, url_node, family)?;
        Some(match family {
            TargetFamily::Postgres => TargetKind::Postgres(PostgresTarget {
                url: url_text.to_string(),
                api_roles: self.strings_at(table, "api_roles"),
                exposed_schemas: self
                    .strings_at(table, "exposed_schemas")
                    .unwrap_or_else(|| vec!["public".to_string()]),
                allow_writes: self.bool_at(table, "allow_writes").unwrap_or(false),
                connect_timeout: self
                    .duration_at(table, "connect_timeout")
                    .unwrap_or(Duration::from_secs(5)),
            }),
            TargetFamily::Http => {
                if url.password().is_some() {
                    self.secrets.push(url_text.to_string());
                    self.secrets
                        .extend(crate::redact::basic_credentials(url_text));
                }
                TargetKind::Http(HttpTarget {
                    base_url: url,
                    headers: self.headers(table),
                    insecure_tls: self.bool_at(table, "insecure_tls").unwrap_or(false),
                })
            }
        })
    }

    /// The target's URL, with a scheme of its family. A URL from the environment is not quoted.
    fn target_url(
        &mut self,
        file: &str,
        name: &str,
        node: &Node,
        family: TargetFamily,
    ) -> Option<url::Url> {
        let schemes: &[&str] = match family {
            TargetFamily::Postgres => &["postgres", "postgresql"],
            TargetFamily::Http => &["http", "https"],
        };
        let problem = match url::Url::parse(node.str().unwrap_or_default()) {
            Ok(u) if schemes.contains(&u.scheme()) => return Some(u),
            Ok(_) => format!("the scheme must be {}:// or {}://", schemes[0], schemes[1]),
            Err(e) => e.to_string(),
        };
        let message = if matches!(node.value, Value::Str { from_env: true, .. }) {
            format!("target `{name}`: the URL from the environment is not valid ({problem})")
        } else {
            format!("target `{name}`: invalid URL: {problem}")
        };
        self.diags
            .push(file, Some(node.loc), Code::InvalidValue, message);
        None
    }

    /// Header values may be API keys: every one is a secret.
    fn headers(&mut self, table: &Table) -> Vec<(String, String)> {
        let mut headers = Vec::new();
        let Some(node) = table.get("headers") else {
            return headers;
        };
        for (k, v) in self
            .mapping(table.file, node, "headers")
            .unwrap_or_default()
        {
            match v.str() {
                Some(value) => {
                    self.secrets.push(value.to_string());
                    headers.push((k.name.clone(), value.to_string()));
                }
                None => self.diags.push(
                    table.file,
                    Some(v.loc),
                    Code::InvalidValue,
                    format!("header `{}` must be a string", k.name),
                ),
            }
        }
        headers
    }
}
