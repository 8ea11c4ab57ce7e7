//! The `rls_audit` rules: one plain function per rule over the catalog facts, no I/O. Each
//! returns the findings of its rule for one object; `findings` applies the enabled rules in the
//! order the report lists them (roles, then relation by relation, then policies and functions).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value as Json, json};

use super::Rule;
use super::catalog::{Catalog, DefinerFunction, Policy, Relation};
use super::patterns::{always_true, is_sensitive_column};
use crate::checks::outcome::Finding;
use crate::checks::postgres::catalog::{NameGlob, list};

/// What the check's parameters ask of the rules.
pub struct Settings {
    pub rules: BTreeSet<Rule>,
    /// Tables that must have row level security enabled and forced.
    pub sensitive: Vec<NameGlob>,
    /// Tables that everyone may read in full.
    pub public_read: Vec<NameGlob>,
}

/// One relation as the relation rules see it: its facts, its policies and the note that says
/// whose privileges were checked.
struct Subject<'a> {
    rel: &'a Relation,
    policies: &'a [&'a Policy],
    who: &'a str,
}

impl Subject<'_> {
    fn name(&self) -> String {
        format!("{}.{}", self.rel.schema, self.rel.name)
    }

    fn is_table(&self) -> bool {
        matches!(self.rel.kind, 'r' | 'p')
    }

    fn readers(&self) -> Vec<&str> {
        self.rel
            .reach
            .iter()
            .filter(|(_, privs)| privs.iter().any(|p| p == "SELECT"))
            .map(|(who, _)| who.as_str())
            .collect()
    }

    fn reach_text(&self) -> String {
        self.rel
            .reach
            .iter()
            .map(|(who, privs)| format!("{who} can {}", privs.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn evidence(&self, rule: Rule) -> Json {
        json!({
            "rule": rule.as_str(),
            "rls_enabled": self.rel.rls,
            "rls_forced": self.rel.forced,
            "owner": self.rel.owner,
            "privileges": self.rel.reach,
        })
    }
}

/// Every finding of the enabled rules, in report order, each tagged with its rule.
pub fn findings(catalog: &Catalog, settings: &Settings) -> Vec<Finding> {
    let who = catalog.privileges_note();
    let mut out: Vec<Finding> = api_roles_hint(catalog).into_iter().collect();
    apply(&mut out, settings, Rule::RoleBypass, || {
        bypassing_roles(catalog)
    });
    let mut by_table: BTreeMap<(&str, &str), Vec<&Policy>> = BTreeMap::new();
    for p in &catalog.policies {
        by_table
            .entry((p.schema.as_str(), p.table.as_str()))
            .or_default()
            .push(p);
    }
    for rel in &catalog.relations {
        let policies = by_table
            .get(&(rel.schema.as_str(), rel.name.as_str()))
            .map_or(&[][..], Vec::as_slice);
        let subject = Subject { rel, policies, who };
        relation_findings(&mut out, &subject, catalog, settings);
    }
    apply(&mut out, settings, Rule::UserMetadataInPolicy, || {
        catalog.policies.iter().filter_map(user_metadata_in_policy)
    });
    apply(&mut out, settings, Rule::ExposedDefinerFunction, || {
        catalog
            .functions
            .iter()
            .filter_map(|f| exposed_definer_function(f, who))
    });
    out
}

/// Runs `judge` when `rule` is enabled, tagging its findings with the rule.
fn apply<I: IntoIterator<Item = Finding>>(
    out: &mut Vec<Finding>,
    settings: &Settings,
    rule: Rule,
    judge: impl FnOnce() -> I,
) {
    if settings.rules.contains(&rule) {
        out.extend(judge().into_iter().map(|f| f.with_rule(rule.as_str())));
    }
}

fn relation_findings(out: &mut Vec<Finding>, s: &Subject, catalog: &Catalog, settings: &Settings) {
    apply(out, settings, Rule::RlsDisabled, || rls_disabled(s));
    apply(out, settings, Rule::PolicyWithoutRls, || {
        policy_without_rls(s)
    });
    apply(out, settings, Rule::RlsNoPolicy, || rls_no_policy(s));
    apply(out, settings, Rule::ForceRls, || {
        force_rls(s, &settings.sensitive)
    });
    apply(out, settings, Rule::SensitiveColumnsExposed, || {
        sensitive_columns_exposed(s)
    });
    apply(out, settings, Rule::RoleBypass, || owning_roles(s, catalog));
    apply(out, settings, Rule::SecurityDefinerView, || {
        security_definer_view(s, catalog.server_version)
    });
    apply(out, settings, Rule::UnprotectedRelation, || {
        unprotected_relation(s)
    });
    if s.is_table() && s.rel.rls {
        for p in s.policies {
            apply(out, settings, Rule::PermissiveWrite, || permissive_write(p));
            apply(out, settings, Rule::PermissiveRead, || {
                permissive_read(s.rel, p, &settings.public_read)
            });
        }
    }
}

/// Not a rule: without `api_roles` only PUBLIC is checked, which misses Supabase's API roles.
fn api_roles_hint(catalog: &Catalog) -> Option<Finding> {
    let found = &catalog.unconfigured_supabase;
    if found.is_empty() {
        return None;
    }
    Some(
        Finding::warn(
            "api_roles",
            format!(
                "no api_roles configured, so only PUBLIC grants were checked, yet this server has the API role{} {}: set api_roles: [{}] on the target",
                if found.len() == 1 { "" } else { "s" },
                list(found),
                found.join(", ")
            ),
        )
        .with_evidence(json!({"rule": "api_roles"})),
    )
}

/// `role_bypass`: an API role that is a superuser or has BYPASSRLS.
fn bypassing_roles(catalog: &Catalog) -> Vec<Finding> {
    let mut out = Vec::new();
    for (role, info) in &catalog.roles {
        if info.superuser {
            out.push(
                Finding::fail(
                    role.as_str(),
                    format!("API role {role} is a superuser: it bypasses every RLS policy"),
                )
                .with_evidence(json!({"rule": "role_bypass", "superuser": true})),
            );
        } else if info.bypass {
            out.push(
                Finding::fail(
                    role.as_str(),
                    format!("API role {role} has BYPASSRLS: no policy applies to it"),
                )
                .with_evidence(json!({"rule": "role_bypass", "bypassrls": true})),
            );
        }
    }
    out
}

/// `role_bypass`: an API role that owns a relation (a superuser is reported once, above).
fn owning_roles(s: &Subject, catalog: &Catalog) -> Vec<Finding> {
    let subject = s.name();
    s.rel
        .owned_by
        .iter()
        .filter(|role| !catalog.roles.get(*role).is_some_and(|info| info.superuser))
        .map(|role| {
            Finding::fail(
                &subject,
                format!(
                    "API role {role} owns {subject} (owner {}), so it bypasses its row level security and can alter or drop it",
                    s.rel.owner
                ),
            )
            .with_evidence(json!({"rule": "role_bypass", "role": role, "owner": s.rel.owner}))
        })
        .collect()
}

/// `rls_disabled`: a table the API reaches with row level security off.
fn rls_disabled(s: &Subject) -> Option<Finding> {
    if !s.is_table() || s.rel.rls || s.rel.reach.is_empty() {
        return None;
    }
    let subject = s.name();
    Some(
        Finding::fail(
            &subject,
            format!(
                "{subject} has row level security disabled: {}{}",
                s.reach_text(),
                s.who
            ),
        )
        .with_evidence(s.evidence(Rule::RlsDisabled)),
    )
}

/// `policy_without_rls`: policies on a table whose row level security is off.
fn policy_without_rls(s: &Subject) -> Option<Finding> {
    if !s.is_table() || s.rel.rls || s.policies.is_empty() {
        return None;
    }
    let subject = s.name();
    let names: Vec<&str> = s.policies.iter().map(|p| p.name.as_str()).collect();
    Some(
        Finding::fail(
            &subject,
            format!(
                "{subject} has {} polic{} ({}) but row level security is disabled, so they do nothing",
                names.len(),
                if names.len() == 1 { "y" } else { "ies" },
                list(&names)
            ),
        )
        .with_evidence(s.evidence(Rule::PolicyWithoutRls)),
    )
}

/// `rls_no_policy`: row level security on and no policy, so every API request is denied.
fn rls_no_policy(s: &Subject) -> Option<Finding> {
    if !s.is_table() || !s.rel.rls || !s.policies.is_empty() {
        return None;
    }
    let subject = s.name();
    Some(
        Finding::warn(
            &subject,
            format!(
                "{subject} has row level security enabled and no policy: every API request is denied"
            ),
        )
        .with_evidence(s.evidence(Rule::RlsNoPolicy)),
    )
}

/// `force_rls`: a sensitive table needs row level security enabled and forced.
fn force_rls(s: &Subject, sensitive: &[NameGlob]) -> Option<Finding> {
    let rel = s.rel;
    if !s.is_table()
        || !sensitive.iter().any(|g| g.matches(&rel.schema, &rel.name))
        || (rel.rls && rel.forced)
    {
        return None;
    }
    let subject = s.name();
    let state = if rel.rls {
        "row level security enabled but not forced, so its owner bypasses it"
    } else {
        "row level security disabled"
    };
    Some(
        Finding::fail(
            &subject,
            format!("sensitive table {subject} has {state} (needs ENABLE and FORCE)"),
        )
        .with_evidence(s.evidence(Rule::ForceRls)),
    )
}

/// `sensitive_columns_exposed`: secret or payment columns readable without row level security,
/// judged by column privileges (a grant on other columns does not expose these).
fn sensitive_columns_exposed(s: &Subject) -> Option<Finding> {
    if !s.is_table() || s.rel.rls {
        return None;
    }
    let readable = &s.rel.readable_columns;
    let readers: Vec<&str> = readable
        .iter()
        .filter(|(_, columns)| columns.iter().any(|c| is_sensitive_column(c)))
        .map(|(who, _)| who.as_str())
        .collect();
    let columns: Vec<&str> = s
        .rel
        .columns
        .iter()
        .map(String::as_str)
        .filter(|c| is_sensitive_column(c) && readable.values().any(|r| r.iter().any(|x| x == c)))
        .collect();
    if columns.is_empty() {
        return None;
    }
    let subject = s.name();
    Some(
        Finding::fail(
            &subject,
            format!(
                "{subject} exposes sensitive column{} {} to {} without row level security{}",
                if columns.len() == 1 { "" } else { "s" },
                list(&columns),
                list(&readers),
                s.who
            ),
        )
        .with_evidence(
            json!({"rule": "sensitive_columns_exposed", "columns": columns, "readers": readers}),
        ),
    )
}

/// PostgreSQL's reading of a boolean option as true: `t`, `tr`, `y`, `on`, `1`, … (any
/// unambiguous prefix of `true` or `yes`, `on` or `1`, in any case).
fn pg_true(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    (!v.is_empty() && ("true".starts_with(&v) || "yes".starts_with(&v))) || v == "on" || v == "1"
}

/// `security_definer_view`: a readable view that reads as its owner, bypassing the RLS of the
/// tables below it (always before PostgreSQL 15, which brought `security_invoker`).
fn security_definer_view(s: &Subject, server_version: i32) -> Option<Finding> {
    let readers = s.readers();
    if s.rel.kind != 'v' || readers.is_empty() {
        return None;
    }
    let invoker = s.rel.options.iter().any(|o| {
        o.split_once('=').is_some_and(|(key, value)| {
            key.eq_ignore_ascii_case("security_invoker") && pg_true(value)
        })
    });
    let subject = s.name();
    let message = if server_version < 150000 {
        format!(
            "view {subject} is readable by {} and runs with its owner's rights ({}): PostgreSQL {} has no security_invoker, so the underlying tables' RLS is bypassed{}",
            list(&readers),
            s.rel.owner,
            server_version / 10000,
            s.who
        )
    } else if !invoker {
        format!(
            "view {subject} is readable by {} without security_invoker: it reads as its owner {} and bypasses the underlying tables' RLS{}",
            list(&readers),
            s.rel.owner,
            s.who
        )
    } else {
        return None;
    };
    Some(Finding::fail(&subject, message).with_evidence(s.evidence(Rule::SecurityDefinerView)))
}

/// `unprotected_relation`: a readable materialized view or foreign table, which RLS cannot
/// protect.
fn unprotected_relation(s: &Subject) -> Option<Finding> {
    let readers = s.readers();
    let what = match s.rel.kind {
        'm' => "materialized view",
        'f' => "foreign table",
        _ => return None,
    };
    if readers.is_empty() {
        return None;
    }
    let subject = s.name();
    Some(
        Finding::warn(
            &subject,
            format!(
                "{what} {subject} is readable by {}, and row level security cannot protect a {what}{}",
                list(&readers),
                s.who
            ),
        )
        .with_evidence(s.evidence(Rule::UnprotectedRelation)),
    )
}

/// `permissive_write`: a permissive write policy for the API whose condition admits any row.
fn permissive_write(p: &Policy) -> Option<Finding> {
    if !p.permissive || p.applies_to.is_empty() || !matches!(p.command, 'a' | 'w' | 'd' | '*') {
        return None;
    }
    let using_true = p.using.as_deref().is_some_and(always_true);
    let check_true = p.check.as_deref().is_some_and(always_true);
    // What new rows must satisfy: WITH CHECK, or USING when it is missing (UPDATE, ALL).
    // An INSERT policy with neither admits nothing.
    let admits_any_row = match p.command {
        'a' => check_true,
        'w' | '*' => check_true || (p.check.is_none() && using_true),
        _ => false,
    };
    let why = if admits_any_row && p.check.is_none() {
        "USING is always true and there is no WITH CHECK, so any row can be written"
    } else if admits_any_row {
        "WITH CHECK is always true, so any row can be written"
    } else if using_true && matches!(p.command, 'w' | 'd' | '*') {
        "USING is always true, so every row can be changed"
    } else {
        return None;
    };
    let subject = policy_subject(p);
    Some(
        Finding::fail(
            &subject,
            format!(
                "permissive {} policy {subject} for {}: {why}",
                command_name(p.command),
                list(&p.applies_to)
            ),
        )
        .with_evidence(policy_evidence(p, Rule::PermissiveWrite)),
    )
}

/// `permissive_read`: a permissive SELECT policy for the API that shows every row of a table
/// not listed in `public_read`.
fn permissive_read(rel: &Relation, p: &Policy, public_read: &[NameGlob]) -> Option<Finding> {
    if !p.permissive
        || p.applies_to.is_empty()
        || p.command != 'r'
        || !p.using.as_deref().is_some_and(always_true)
        || public_read
            .iter()
            .any(|g| g.matches(&rel.schema, &rel.name))
    {
        return None;
    }
    let subject = policy_subject(p);
    Some(
        Finding::warn(
            &subject,
            format!(
                "SELECT policy {subject} lets {} read every row of {}.{} (list the table in public_read if that is intended)",
                list(&p.applies_to),
                rel.schema,
                rel.name
            ),
        )
        .with_evidence(policy_evidence(p, Rule::PermissiveRead)),
    )
}

/// `user_metadata_in_policy`: a policy trusting what every user can edit about themselves.
fn user_metadata_in_policy(p: &Policy) -> Option<Finding> {
    let trusts = [&p.using, &p.check]
        .into_iter()
        .flatten()
        .any(|e| e.contains("user_metadata") || e.contains("raw_user_meta_data"));
    if !trusts {
        return None;
    }
    let subject = policy_subject(p);
    Some(
        Finding::fail(
            &subject,
            format!(
                "policy {subject} trusts user_metadata, which every user can edit about themselves (use app_metadata or a table)"
            ),
        )
        .with_evidence(policy_evidence(p, Rule::UserMetadataInPolicy)),
    )
}

/// `exposed_definer_function`: a SECURITY DEFINER function the API may execute; a failure
/// without a fixed search_path, a warning with one.
fn exposed_definer_function(f: &DefinerFunction, who: &str) -> Option<Finding> {
    // A trigger function cannot be called, only fired by its trigger.
    if f.executors.is_empty() || f.returns_trigger {
        return None;
    }
    let finding = if f.fixed_search_path {
        Finding::warn(
            &f.signature,
            format!(
                "SECURITY DEFINER function {} is executable by {}: it runs with its owner's rights{who}",
                f.signature,
                list(&f.executors)
            ),
        )
    } else {
        Finding::fail(
            &f.signature,
            format!(
                "SECURITY DEFINER function {} is executable by {} and has no fixed search_path: a caller can hijack the objects it resolves{who}",
                f.signature,
                list(&f.executors)
            ),
        )
    };
    Some(finding.with_evidence(json!({
        "rule": "exposed_definer_function",
        "executable_by": f.executors,
        "fixed_search_path": f.fixed_search_path,
    })))
}

fn policy_subject(p: &Policy) -> String {
    format!("{}.{}/{}", p.schema, p.table, p.name)
}

fn command_name(command: char) -> &'static str {
    match command {
        'r' => "SELECT",
        'a' => "INSERT",
        'w' => "UPDATE",
        'd' => "DELETE",
        _ => "ALL",
    }
}

fn policy_evidence(p: &Policy, rule: Rule) -> Json {
    json!({
        "command": command_name(p.command),
        "permissive": p.permissive,
        "roles": p.roles,
        "using": p.using,
        "with_check": p.check,
        "rule": rule.as_str(),
    })
}

#[cfg(test)]
mod tests;
