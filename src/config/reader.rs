//! The small readers every section is built from. A `Table` reads one mapping (required and
//! optional keys, then unknown keys with a suggestion, as cargo-deny's `TableHelper` does); the
//! scalar readers report their own problem and return `None`, so that one mistake never hides the
//! next.

use std::time::Duration;

use super::Loader;
use super::diagnostic::{Code, Diagnostics};
use super::interpolate::{self, MissingVar, interpolate};
use super::keys::{self, Section, ValueType};
use super::node::{Key, Loc, Node, Value};
use crate::checks::Kind;
use crate::checks::params::parse_duration;
use crate::suggest::did_you_mean;

/// One mapping being read: its section (the keys it may hold and their bounds), and what to call
/// it in messages.
pub(super) struct Table<'a> {
    pub file: &'a str,
    pub node: &'a Node,
    section: &'a Section,
    what: &'a str,
}

impl<'a> Table<'a> {
    pub fn new(file: &'a str, node: &'a Node, section: &'a Section, what: &'a str) -> Table<'a> {
        Table {
            file,
            node,
            section,
            what,
        }
    }

    pub fn get(&self, key: &str) -> Option<&'a Node> {
        debug_assert!(
            self.section.names().any(|k| k == key),
            "`{key}` is not a key of {}",
            self.what
        );
        self.node.get(key)
    }

    /// The value under `key`, or a `missing-key` problem at `at`.
    pub fn required(
        &self,
        diags: &mut Diagnostics,
        key: &str,
        at: Loc,
        message: impl FnOnce() -> String,
    ) -> Option<&'a Node> {
        debug_assert!(self.section.key(key).required, "`{key}` is optional");
        let found = self.get(key);
        if found.is_none() {
            diags.push(self.file, Some(at), Code::MissingKey, message());
        }
        found
    }

    /// Reports every key that is not one of the table's keys (or, in a check, a kind name),
    /// with the closest one suggested.
    pub fn finish(&self, diags: &mut Diagnostics) {
        let mut valid: Vec<&str> = self.section.names().collect();
        if self.section.with_kind {
            valid.extend(Kind::NAMES);
        }
        for (key, _) in self.node.entries().unwrap_or_default() {
            if !valid.contains(&key.name.as_str()) {
                diags.push(
                    self.file,
                    Some(key.loc),
                    Code::UnknownKey,
                    unknown_key_message(&key.name, self.what, &valid),
                );
            }
        }
    }
}

pub(super) fn unknown_key_message(key: &str, what: &str, valid: &[&str]) -> String {
    format!(
        "unknown key `{key}` in {what}{}; expected one of: {}",
        did_you_mean(key, valid.iter().copied()),
        valid.join(", ")
    )
}

impl Loader<'_> {
    /// A mapping, or a problem when it is something else (null is an empty mapping).
    pub(super) fn mapping<'n>(
        &mut self,
        file: &str,
        node: &'n Node,
        what: &str,
    ) -> Option<&'n [(Key, Node)]> {
        let entries = node.entries();
        if entries.is_none() && node.value != Value::Null {
            self.diags.push(
                file,
                Some(node.loc),
                Code::InvalidValue,
                format!("`{what}` must be a mapping, found {}", node.type_name()),
            );
        }
        entries
    }

    /// Replaces `${…}` in every string of the tree; unset or empty variables go to `missing`,
    /// with where the string that names them is.
    pub(super) fn interpolate_node(
        &mut self,
        file: &str,
        node: &Node,
        missing: &mut Vec<(Loc, MissingVar)>,
    ) -> Node {
        let mut errors = Vec::new();
        let mut secrets = Vec::new();
        let out = node.map_strings(&mut |s, at| match interpolate(s, self.env) {
            Ok(r) => {
                missing.extend(r.missing.into_iter().map(|m| (at, m)));
                secrets.extend(r.secrets);
                (r.text, r.from_env)
            }
            Err(e) => {
                errors.push(e);
                (s.to_string(), false)
            }
        });
        self.secrets.extend(secrets);
        for e in errors {
            let message = match e {
                interpolate::InterpolationError::Unterminated => {
                    "`${` without its closing `}`".to_string()
                }
                interpolate::InterpolationError::BadName(body) => format!(
                    "malformed reference `${{{body}}}`: use ${{VAR}}, ${{VAR:-default}} or ${{VAR:?message}}"
                ),
            };
            self.diags
                .push(file, Some(node.loc), Code::Interpolation, message);
        }
        out
    }

    /// A string that is interpolated here; an unset variable in it is a configuration error.
    pub(super) fn plain_string(&mut self, file: &str, node: &Node, what: &str) -> Option<String> {
        let text = match &node.value {
            Value::Str { text, .. } => text.clone(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => {
                self.diags.push(
                    file,
                    Some(node.loc),
                    Code::InvalidValue,
                    format!("`{what}` must be a string, found {}", node.type_name()),
                );
                return None;
            }
        };
        let mut missing = Vec::new();
        let as_text = Node {
            loc: node.loc,
            value: Value::Str {
                text,
                from_env: false,
            },
        };
        let out = self.interpolate_node(file, &as_text, &mut missing);
        for (_, m) in missing {
            self.diags
                .push(file, Some(node.loc), Code::Interpolation, m.describe());
        }
        out.str().map(str::to_string)
    }

    /// The optional string under `key`.
    pub(super) fn string_at(&mut self, table: &Table, key: &str) -> Option<String> {
        let node = table.get(key)?;
        self.plain_string(table.file, node, key)
    }

    /// The string under `key`; `{what} needs `key`` when there is none.
    pub(super) fn required_string(
        &mut self,
        table: &Table,
        key: &str,
        what: &str,
    ) -> Option<String> {
        let node = table.required(&mut self.diags, key, table.node.loc, || {
            format!("{what} needs `{key}`")
        })?;
        self.plain_string(table.file, node, key)
    }

    pub(super) fn string_list(
        &mut self,
        file: &str,
        node: &Node,
        what: &str,
    ) -> Option<Vec<(Loc, String)>> {
        let Some(items) = node.items() else {
            self.diags.push(
                file,
                Some(node.loc),
                Code::InvalidValue,
                format!("`{what}` must be a list, found {}", node.type_name()),
            );
            return None;
        };
        let mut out = Vec::new();
        for item in items {
            match &item.value {
                Value::Str { text, .. } => out.push((item.loc, text.clone())),
                Value::Int(i) => out.push((item.loc, i.to_string())),
                _ => self.diags.push(
                    file,
                    Some(item.loc),
                    Code::InvalidValue,
                    format!(
                        "items of `{what}` must be strings, found {}",
                        item.type_name()
                    ),
                ),
            }
        }
        Some(out)
    }

    /// The optional list of strings under `key`, without positions.
    pub(super) fn strings_at(&mut self, table: &Table, key: &str) -> Option<Vec<String>> {
        let node = table.get(key)?;
        let list = self.string_list(table.file, node, key)?;
        Some(list.into_iter().map(|(_, s)| s).collect())
    }

    pub(super) fn bool_at(&mut self, table: &Table, key: &str) -> Option<bool> {
        let node = table.get(key)?;
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.diags.push(
                    table.file,
                    Some(node.loc),
                    Code::InvalidValue,
                    format!("`{key}` must be true or false"),
                );
                None
            }
        }
    }

    /// One warning per variable that `user` (a target or a check) needs and the environment
    /// does not give: `check` would make it `error`.
    pub(super) fn warn_missing(
        &mut self,
        file: &str,
        missing: &[(Loc, MissingVar)],
        user: &str,
        consequence: &str,
    ) {
        let mut warned: Vec<&str> = Vec::new();
        for (loc, m) in missing {
            if warned.contains(&m.name.as_str()) {
                continue;
            }
            warned.push(&m.name);
            let code = if m.empty {
                Code::EmptyVariable
            } else {
                Code::UnsetVariable
            };
            let message = format!("{}; {user} uses it, so {consequence}", m.describe());
            self.diags.warn(file, *loc, code, message, m.help());
        }
    }

    /// A weight: sums of weights must stay finite, or the score becomes NaN.
    pub(super) fn weight_number(&mut self, file: &str, node: &Node, what: &str) -> Option<f64> {
        self.number_in(file, node, what, &keys::WEIGHT)
    }

    /// A number within the bounds of `value`, a `ValueType::Number`.
    pub(super) fn number_in(
        &mut self,
        file: &str,
        node: &Node,
        what: &str,
        value: &ValueType,
    ) -> Option<f64> {
        let ValueType::Number(range) = value else {
            unreachable!("`{what}` is not a number key")
        };
        match number(node) {
            Some(v) if range.contains(&v) => Some(v),
            _ => {
                self.diags.push(
                    file,
                    Some(node.loc),
                    Code::InvalidValue,
                    format!(
                        "`{what}` must be a number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
        }
    }

    /// The optional whole number under `key`, within the key's bounds.
    pub(super) fn whole_at(&mut self, table: &Table, key: &str) -> Option<i64> {
        let node = table.get(key)?;
        let ValueType::Whole(range) = &table.section.key(key).value else {
            unreachable!("`{key}` is not a whole-number key")
        };
        match node.value {
            Value::Int(i) if range.contains(&i) => Some(i),
            _ => {
                let message = format!(
                    "`{key}` must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                );
                self.diags
                    .push(table.file, Some(node.loc), Code::InvalidValue, message);
                None
            }
        }
    }

    /// `concurrency`: how many checks at once.
    pub(super) fn concurrency_at(&mut self, table: &Table) -> Option<usize> {
        let n = self.whole_at(table, "concurrency")?;
        usize::try_from(n).ok()
    }

    pub(super) fn duration_at(&mut self, table: &Table, key: &str) -> Option<Duration> {
        let node = table.get(key)?;
        let result = match &node.value {
            Value::Str { text, .. } => parse_duration(text),
            _ => Err(format!(
                "a duration must be text with a unit, such as 30s, found {}",
                node.type_name()
            )),
        };
        let message = match result {
            Ok(d) if !d.is_zero() => return Some(d),
            Ok(_) => "a duration must be longer than zero".to_string(),
            Err(e) => e,
        };
        self.diags
            .push(table.file, Some(node.loc), Code::InvalidValue, message);
        None
    }
}

pub(super) fn number(node: &Node) -> Option<f64> {
    match node.value {
        Value::Int(i) => Some(i as f64),
        Value::Float(f) => Some(f),
        _ => None,
    }
}
