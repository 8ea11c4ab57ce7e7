//! `checks:`: the common keys, exactly one kind key with its parameters, the target it runs
//! against, and `for_each` expansion.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value as Json;

use super::Loader;
use super::diagnostic::Code;
use super::keys::CHECK;
use super::node::{Key, Loc, Node, NodeDeserializer, Value};
use super::reader::Table;
use super::targets::{unknown_target, wrong_family};
use crate::checks::Kind;
use crate::model::{Category, Check, CheckState, Defaults, SeverityWeights, Target, TargetFamily};
use crate::suggest::{did_you_mean, unknown_severity};
use crate::vocab::Severity;

/// A check as written, with the file it came from.
pub(super) struct CheckNode {
    pub file: String,
    pub node: Node,
}

/// What a check may refer to: the suite's settings, read before the checks.
pub(super) struct Scope<'s> {
    pub targets: &'s BTreeMap<String, Target>,
    pub categories: &'s [Category],
    pub weights: &'s SeverityWeights,
    pub defaults: &'s Defaults,
}

/// The kind key of one check, as far as it could be read.
struct KindRead<'n> {
    /// "unknown" unless the check has exactly one kind key.
    name: &'static str,
    /// The parameters, interpolated.
    params: Option<&'n Node>,
    /// `None` when the parameters are invalid, or unreadable because of an unset variable.
    kind: Option<Kind>,
    /// False when the kind is missing, doubled or invalid: the check is not built.
    ok: bool,
}

/// The keys every check may have besides its id, category, severity, target and kind.
struct CommonKeys {
    title: Option<String>,
    description: Option<String>,
    rationale: Option<String>,
    remediation: Option<String>,
    weight: Option<f64>,
    blocker: bool,
    tags: Vec<String>,
    timeout: std::time::Duration,
    retries: u32,
}

impl Loader<'_> {
    /// The checks that could be built, and the id of every check defined (valid or not).
    pub(super) fn checks(
        &mut self,
        nodes: &[CheckNode],
        scope: &Scope,
    ) -> (Vec<Check>, Vec<String>) {
        let mut checks = Vec::new();
        let mut seen: HashMap<String, (String, Loc)> = HashMap::new();
        for CheckNode { file, node } in nodes {
            for (id, id_loc, check) in self.expand_check(file, node, scope) {
                if let Some((first_file, first)) = seen.get(&id) {
                    self.diags.push(
                        file,
                        Some(id_loc),
                        Code::DuplicateId,
                        format!(
                            "duplicate check id `{id}` (first defined at {first_file}:{}:{})",
                            first.line, first.col
                        ),
                    );
                    continue;
                }
                seen.insert(id, (file.clone(), id_loc));
                checks.extend(check);
            }
        }
        self.name_failed_target_users();
        (checks, seen.into_keys().collect())
    }

    /// One check definition, or one per `for_each` item.
    fn expand_check(
        &mut self,
        file: &str,
        node: &Node,
        scope: &Scope,
    ) -> Vec<(String, Loc, Option<Check>)> {
        if node.entries().is_none() {
            self.diags.push(
                file,
                Some(node.loc),
                Code::InvalidValue,
                format!("a check must be a mapping, found {}", node.type_name()),
            );
            return Vec::new();
        }
        self.check_keys(file, node);
        let Some(list) = node.get("for_each") else {
            return self
                .check_copy(file, node, scope, None)
                .into_iter()
                .collect();
        };
        let Some(items) = self.for_each_items(file, node, list) else {
            return Vec::new();
        };
        // Each copy is made from the definition without its list: copying the list into every
        // copy made expansion quadratic in the number of items.
        let template = without_key(node, "for_each");
        // Messages name the definition, `fn.{{item}}`: one mistake in it is one diagnostic.
        let shown = node.get("id").and_then(Node::str);
        items
            .iter()
            .filter_map(|item| {
                let copy = template.map_strings(&mut |s, _| (s.replace("{{item}}", item), false));
                self.check_copy(file, &copy, scope, shown)
            })
            .collect()
    }

    /// The check's keys: the common ones and the kind names.
    fn check_keys(&mut self, file: &str, node: &Node) {
        Table::new(file, node, &CHECK, "a check").finish(&mut self.diags);
    }

    fn for_each_items(&mut self, file: &str, node: &Node, list: &Node) -> Option<Vec<String>> {
        let items = self.string_list(file, list, "for_each")?;
        let problem = if items.is_empty() {
            "`for_each` is empty: it would define no check"
        } else if !node
            .get("id")
            .and_then(Node::str)
            .is_some_and(|id| id.contains("{{item}}"))
        {
            "a check with `for_each` needs `{{item}}` in its `id`, so that each copy has its own id"
        } else {
            return Some(items.into_iter().map(|(_, s)| s).collect());
        };
        self.diags
            .push(file, Some(list.loc), Code::InvalidValue, problem);
        None
    }

    /// One check with its id and where the id is written. The id is read first so that
    /// duplicates are found even in invalid checks. Messages call it `shown`, else its id.
    fn check_copy(
        &mut self,
        file: &str,
        raw: &Node,
        scope: &Scope,
        shown: Option<&str>,
    ) -> Option<(String, Loc, Option<Check>)> {
        let table = Table::new(file, raw, &CHECK, "a check");
        let id = self.required_string(&table, "id", "a check")?;
        let id_loc = raw.get("id").map_or(raw.loc, |n| n.loc);
        if !valid_id(&id) {
            self.diags.push(
                file,
                Some(id_loc),
                Code::InvalidValue,
                format!("check id `{id}` must match [a-z0-9][a-z0-9._-]*"),
            );
        }
        let check = self.check(file, (&id, shown.unwrap_or(&id)), id_loc, raw, scope);
        Some((id, id_loc, check))
    }

    /// One check; `id` is its id and `shown` the name messages give it.
    fn check(
        &mut self,
        file: &str,
        (id, shown): (&str, &str),
        id_loc: Loc,
        raw: &Node,
        scope: &Scope,
    ) -> Option<Check> {
        let mut missing = Vec::new();
        let node = self.interpolate_node(file, raw, &mut missing);
        let user = format!("check `{shown}`");
        self.warn_missing(file, &missing, &user, "it would be `error`");
        let kind = self.check_kind(file, shown, id_loc, raw, &node, !missing.is_empty());
        let table = Table::new(file, &node, &CHECK, "a check");
        // Every key is read before any early return: all problems are reported at once.
        let category = self.category(&table, shown, id_loc, scope.categories);
        let severity = self.severity(&table, shown, id_loc);
        let target = self.check_target(&table, shown, id_loc, &kind, scope.targets);
        let common = self.common_keys(&table, scope.defaults);
        let (category, severity) = (category?, severity?);
        if !kind.ok {
            return None;
        }
        let mut unresolved: Vec<String> = missing.iter().map(|(_, m)| m.describe()).collect();
        unresolved.dedup();
        let state = match kind.kind {
            Some(kind) if unresolved.is_empty() => CheckState::Ready(Box::new(kind)),
            _ => CheckState::Unresolved {
                kind_name: kind.name,
                missing: unresolved,
            },
        };
        Some(Check {
            id: id.to_string(),
            title: common.title.unwrap_or_else(|| id.to_string()),
            description: common.description,
            rationale: common.rationale,
            category,
            severity,
            weight: common.weight.unwrap_or_else(|| scope.weights.of(severity)),
            blocker: common.blocker,
            tags: common.tags,
            target,
            timeout: common.timeout,
            retries: common.retries,
            remediation: common.remediation,
            state,
            params: kind.params.map(display_params).unwrap_or_default(),
            defined_at: format!("{file}:{}", raw.loc.line),
        })
    }

    fn common_keys(&mut self, table: &Table, defaults: &Defaults) -> CommonKeys {
        CommonKeys {
            title: self.string_at(table, "title"),
            description: self.string_at(table, "description"),
            rationale: self.string_at(table, "rationale"),
            remediation: self.string_at(table, "remediation"),
            weight: self.weight(table),
            blocker: self.bool_at(table, "blocker").unwrap_or(false),
            tags: self.strings_at(table, "tags").unwrap_or_default(),
            timeout: self
                .duration_at(table, "timeout")
                .unwrap_or(defaults.timeout),
            retries: self.retries(table),
        }
    }

    /// Exactly one kind key, and its parameters read into the `Kind`.
    fn check_kind<'n>(
        &mut self,
        file: &str,
        id: &str,
        id_loc: Loc,
        raw: &Node,
        node: &'n Node,
        has_missing: bool,
    ) -> KindRead<'n> {
        let unknown = KindRead {
            name: "unknown",
            params: None,
            kind: None,
            ok: false,
        };
        let Some(key) = self.kind_key(file, id, id_loc, raw) else {
            return unknown;
        };
        let Some(name) = Kind::NAMES.iter().find(|n| **n == key.name).copied() else {
            return unknown;
        };
        let Some(params) = node.get(name) else {
            return unknown;
        };
        let (kind, ok) = match Kind::parse(name, NodeDeserializer { node: params }) {
            Some(Ok(kind)) => (Some(kind), true),
            // With an unset variable the parameters may be unreadable; the check is `error`
            // naming the variable, which is the real problem.
            Some(Err(_)) if has_missing => (None, true),
            Some(Err(e)) => {
                self.diags.push(
                    file,
                    Some(e.loc.unwrap_or(params.loc)),
                    Code::InvalidValue,
                    format!("{} (in `{name}` of check `{id}`)", e.message),
                );
                (None, false)
            }
            None => (None, true),
        };
        KindRead {
            name,
            params: Some(params),
            kind,
            ok,
        }
    }

    /// The one kind key of the check, or a `kind-count` problem.
    fn kind_key<'k>(
        &mut self,
        file: &str,
        id: &str,
        id_loc: Loc,
        raw: &'k Node,
    ) -> Option<&'k Key> {
        let kind_keys: Vec<&Key> = raw
            .entries()
            .unwrap_or_default()
            .iter()
            .map(|(k, _)| k)
            .filter(|k| Kind::NAMES.contains(&k.name.as_str()))
            .collect();
        let (at, message) = match kind_keys.as_slice() {
            [one] => return Some(one),
            [] => (
                id_loc,
                format!(
                    "check `{id}` has no kind: add one of {}",
                    Kind::NAMES.join(", ")
                ),
            ),
            [first, second, ..] => (
                second.loc,
                format!(
                    "check `{id}` has two kinds (`{}` and `{}`): a check has exactly one",
                    first.name, second.name
                ),
            ),
        };
        self.diags.push(file, Some(at), Code::KindCount, message);
        None
    }

    fn category(
        &mut self,
        table: &Table,
        id: &str,
        id_loc: Loc,
        categories: &[Category],
    ) -> Option<String> {
        let node = table.required(&mut self.diags, "category", id_loc, || {
            format!("check `{id}` needs a `category`")
        })?;
        let (code, message) = match node.str() {
            Some(c) if categories.iter().any(|k| k.id == c) => return Some(c.to_string()),
            Some(c) => {
                let known: Vec<&str> = categories.iter().map(|k| k.id.as_str()).collect();
                let message = format!(
                    "unknown category `{c}`{}; known: {}",
                    did_you_mean(c, known.iter().copied()),
                    known.join(", ")
                );
                (Code::UnknownCategory, message)
            }
            None => (Code::InvalidValue, "`category` must be a string".into()),
        };
        self.diags.push(table.file, Some(node.loc), code, message);
        None
    }

    fn severity(&mut self, table: &Table, id: &str, id_loc: Loc) -> Option<Severity> {
        let node = table.required(&mut self.diags, "severity", id_loc, || {
            format!("check `{id}` needs a `severity`")
        })?;
        let severity = node.str().and_then(Severity::parse);
        if severity.is_none() {
            let message = match node.str() {
                Some(s) => unknown_severity(s),
                None => "unknown severity: expected critical, high, medium or low".to_string(),
            };
            self.diags
                .push(table.file, Some(node.loc), Code::InvalidValue, message);
        }
        severity
    }

    fn weight(&mut self, table: &Table) -> Option<f64> {
        let node = table.get("weight")?;
        self.weight_number(table.file, node, "weight")
    }

    fn retries(&mut self, table: &Table) -> u32 {
        self.whole_at(table, "retries")
            .and_then(|r| u32::try_from(r).ok())
            .unwrap_or(0)
    }

    /// The target the check runs against: its `target:`, else the one its parameters name
    /// (`backup: { wal_archiving: db }`); a kind that needs one and has none is a problem.
    fn check_target(
        &mut self,
        table: &Table,
        id: &str,
        id_loc: Loc,
        kind: &KindRead,
        targets: &BTreeMap<String, Target>,
    ) -> Option<String> {
        let implied = kind.kind.as_ref().and_then(Kind::implied_target);
        let params_at = kind.params.map_or(id_loc, |n| n.loc);
        let Some(node) = table.get("target") else {
            if let Some(name) = implied {
                return self.resolve_target(table.file, (id, params_at), name, kind, targets);
            }
            if let Some(k) = kind.kind.as_ref().filter(|k| k.needs_target()) {
                let family = k.family().map_or("", TargetFamily::as_str);
                let message = format!("check `{id}` needs a `target` naming a {family} target");
                self.diags
                    .push(table.file, Some(id_loc), Code::MissingKey, message);
            }
            return None;
        };
        let Some(name) = node.str() else {
            let message = "`target` must be a target name";
            self.diags
                .push(table.file, Some(node.loc), Code::InvalidValue, message);
            return None;
        };
        let named = self.resolve_target(table.file, (id, node.loc), name, kind, targets)?;
        if let Some(implied) = implied
            && named != implied
        {
            self.diags.push(
                table.file,
                Some(params_at),
                Code::InvalidValue,
                format!("the check's `target` is `{named}` but its parameters name `{implied}`"),
            );
        }
        Some(named)
    }

    /// A target named by check `id` at `at`: it must exist and be of the family the kind needs.
    /// A target that failed to load has its own diagnostic, which names the check.
    fn resolve_target(
        &mut self,
        file: &str,
        (id, at): (&str, Loc),
        name: &str,
        kind: &KindRead,
        targets: &BTreeMap<String, Target>,
    ) -> Option<String> {
        if self.uses_failed_target(name, id) {
            return Some(name.to_string());
        }
        let Some(target) = targets.get(name) else {
            let message = unknown_target(name, targets);
            self.diags
                .push(file, Some(at), Code::UnknownTarget, message);
            return None;
        };
        match kind.kind.as_ref().map(Kind::family) {
            Some(Some(needs)) if needs != target.family => {
                let message = wrong_family(name, target.family, kind.name, needs.as_str());
                self.diags
                    .push(file, Some(at), Code::UnknownTarget, message);
            }
            Some(None) => {
                let message = format!("a `{}` check runs locally and takes no `target`", kind.name);
                self.diags.push(file, Some(at), Code::InvalidValue, message);
            }
            _ => {}
        }
        Some(name.to_string())
    }
}

fn without_key(node: &Node, key: &str) -> Node {
    let value = match &node.value {
        Value::Map(entries) => Value::Map(
            entries
                .iter()
                .filter(|(k, _)| k.name != key)
                .cloned()
                .collect(),
        ),
        other => other.clone(),
    };
    Node {
        loc: node.loc,
        value,
    }
}

pub(super) fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

/// A kind's parameters as JSON for `explain`, with environment-derived values masked.
fn display_params(node: &Node) -> Json {
    match &node.value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => Json::from(*f),
        Value::Str { from_env: true, .. } => Json::String("<from environment>".into()),
        Value::Str { text, .. } => Json::String(text.clone()),
        Value::Seq(items) => Json::Array(items.iter().map(display_params).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (k.name.clone(), display_params(v)))
                .collect(),
        ),
    }
}
