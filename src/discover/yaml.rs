//! The discovered suite as commented YAML: a small emitter for the few shapes a generated check
//! holds (scalars, flat lists, nested mappings), so that the files read like hand-written ones
//! and come out byte for byte the same from the same facts.

use std::fmt::Write as _;

use super::plan::{CheckFile, Generated, Plan};

/// A parameter value of a generated check.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Str(String),
    Int(i64),
    Bool(bool),
    /// Written in flow style: `[a, b]`.
    List(Vec<Yaml>),
    /// Written in block style, one key a line, in this order.
    Map(Vec<(String, Yaml)>),
}

impl Yaml {
    pub fn str(text: impl Into<String>) -> Yaml {
        Yaml::Str(text.into())
    }

    pub fn strs(items: &[impl AsRef<str>]) -> Yaml {
        Yaml::List(items.iter().map(|i| Yaml::str(i.as_ref())).collect())
    }

    pub fn map(entries: Vec<(&str, Yaml)>) -> Yaml {
        Yaml::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }
}

/// A string as a YAML scalar: plain when nothing in it means something to YAML, else
/// double-quoted (a JSON string is a valid YAML double-quoted scalar).
pub fn scalar(text: &str, in_flow: bool) -> String {
    let first_ok = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '_');
    let allowed = |c: char| {
        c.is_ascii_alphanumeric()
            || matches!(c, '_' | '.' | '/' | '-')
            || (!in_flow && matches!(c, ' ' | '(' | ')' | '\'' | ','))
    };
    let special = matches!(
        text.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
    );
    // Durations (`10s`, `200ms`) read as strings in YAML, as the loader expects them.
    let duration = text.len() > 1
        && text.starts_with(|c: char| c.is_ascii_digit())
        && ["ms", "s", "m", "h", "d"].iter().any(|unit| {
            text.strip_suffix(unit)
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        });
    if (first_ok || duration) && !special && !text.ends_with(' ') && text.chars().all(allowed) {
        text.to_string()
    } else {
        serde_json::Value::String(text.to_string()).to_string()
    }
}

fn inline(value: &Yaml) -> String {
    match value {
        Yaml::Str(s) => scalar(s, true),
        Yaml::Int(i) => i.to_string(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::List(items) => {
            let parts: Vec<String> = items.iter().map(inline).collect();
            format!("[{}]", parts.join(", "))
        }
        Yaml::Map(entries) if entries.is_empty() => "{}".to_string(),
        Yaml::Map(entries) => {
            let parts: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{k}: {}", inline(v)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
    }
}

/// `key: value` at `indent`, a mapping value on the following lines.
pub fn entry(out: &mut String, indent: usize, key: &str, value: &Yaml) {
    let pad = " ".repeat(indent);
    match value {
        Yaml::Map(entries) if !entries.is_empty() => {
            let _ = writeln!(out, "{pad}{key}:");
            for (k, v) in entries {
                entry(out, indent + 2, k, v);
            }
        }
        Yaml::Str(s) => {
            let _ = writeln!(out, "{pad}{key}: {}", scalar(s, false));
        }
        other => {
            let _ = writeln!(out, "{pad}{key}: {}", inline(other));
        }
    }
}

/// Comment lines at `indent`, each line of `text` its own `# …`.
pub fn comment(out: &mut String, indent: usize, text: &str) {
    let pad = " ".repeat(indent);
    for line in text.lines() {
        if line.is_empty() {
            let _ = writeln!(out, "{pad}#");
        } else {
            let _ = writeln!(out, "{pad}# {line}");
        }
    }
}

fn check(out: &mut String, check: &Generated) {
    for why in &check.why {
        comment(out, 2, why);
    }
    let _ = writeln!(out, "  - id: {}", scalar(&check.id, false));
    if !check.for_each.is_empty() {
        entry(out, 4, "for_each", &Yaml::strs(&check.for_each));
    }
    entry(out, 4, "title", &Yaml::str(&check.title));
    entry(out, 4, "category", &Yaml::str(check.category));
    entry(out, 4, "severity", &Yaml::str(check.severity));
    if check.blocker {
        entry(out, 4, "blocker", &Yaml::Bool(true));
    }
    if let Some(target) = check.target {
        entry(out, 4, "target", &Yaml::str(target));
    }
    if let Some(timeout) = check.timeout {
        entry(out, 4, "timeout", &Yaml::str(timeout));
    }
    entry(out, 4, check.kind, &check.params);
    if let Some(remediation) = &check.remediation {
        entry(out, 4, "remediation", &Yaml::str(remediation));
    }
}

/// One file under `checks/`.
pub fn check_file(file: &CheckFile, schema_ref: &str) -> String {
    let mut out = format!("# yaml-language-server: $schema={schema_ref}\n");
    comment(&mut out, 0, &file.about);
    out.push_str("checks:\n");
    for (i, generated) in file.checks.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        check(&mut out, generated);
    }
    out
}

/// The targets of `ready.yaml`, each with the comments that say where its settings come from.
pub fn targets(out: &mut String, plan: &Plan) {
    if plan.targets.is_empty() {
        out.push_str("targets: {}\n");
        return;
    }
    out.push_str("targets:\n");
    for target in &plan.targets {
        for why in &target.why {
            comment(out, 2, why);
        }
        entry(out, 2, &target.name, &target.settings);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_plain_only_when_yaml_reads_them_as_the_same_string() {
        assert_eq!(scalar("public.wallets", true), "public.wallets");
        assert_eq!(
            scalar("/functions/v1/{{item}}", false),
            "\"/functions/v1/{{item}}\""
        );
        assert_eq!(scalar("*_transactions", true), "\"*_transactions\"");
        assert_eq!(
            scalar("Every table has a key", false),
            "Every table has a key"
        );
        assert_eq!(
            scalar("Every table has a key", true),
            "\"Every table has a key\""
        );
        assert_eq!(scalar("yes", false), "\"yes\"");
        assert_eq!(scalar("10s", false), "10s");
        assert_eq!(scalar("200ms", true), "200ms");
        assert_eq!(scalar("1e3", false), "\"1e3\"");
        assert_eq!(scalar("42", false), "\"42\"");
        assert_eq!(scalar("a: b", false), "\"a: b\"");
        assert_eq!(scalar("${DATABASE_URL}", false), "\"${DATABASE_URL}\"");
    }

    #[test]
    fn nested_mappings_are_blocks_and_lists_are_flow() {
        let mut out = String::new();
        let value = Yaml::map(vec![
            ("tables", Yaml::strs(&["public.a", "b c"])),
            ("retention", Yaml::map(vec![("daily", Yaml::Int(7))])),
            ("verify", Yaml::Bool(true)),
        ]);
        entry(&mut out, 4, "audit_log", &value);
        assert_eq!(
            out,
            "    audit_log:\n      tables: [public.a, \"b c\"]\n      retention:\n        daily: 7\n      verify: true\n"
        );
        let mut out = String::new();
        entry(&mut out, 4, "schema", &Yaml::Map(vec![]));
        assert_eq!(out, "    schema: {}\n");
    }
}
