//! The suite's settings: categories, severity weights, stages, defaults and waivers.

use chrono::NaiveDate;

use super::Loader;
use super::diagnostic::Code;
use super::keys::{CATEGORY, DEFAULTS, STAGE, WAIVER};
use super::node::{Loc, Node};
use super::reader::Table;
use crate::model::{
    Category, Defaults, SeverityWeights, Stage, Waiver, default_categories, default_stages,
};
use crate::selector::Selector;
use crate::suggest::{did_you_mean, unknown_severity};
use crate::vocab::Severity;

impl Loader<'_> {
    pub(super) fn categories(&mut self, file: &str, node: Option<&Node>) -> Vec<Category> {
        let mut categories = default_categories();
        let Some(node) = node else { return categories };
        let Some(entries) = self.mapping(file, node, "categories") else {
            return categories;
        };
        for (key, def) in entries {
            let what = format!("category `{}`", key.name);
            let table = Table::new(file, def, &CATEGORY, &what);
            table.finish(&mut self.diags);
            let weight = table
                .get("weight")
                .and_then(|n| self.weight_number(file, n, "weight"));
            let title = self.string_at(&table, "title");
            if let Some(existing) = categories.iter_mut().find(|c| c.id == key.name) {
                existing.weight = weight.unwrap_or(existing.weight);
                existing.title = title.unwrap_or_else(|| existing.title.clone());
                continue;
            }
            if table.get("weight").is_none() {
                self.diags.push(
                    file,
                    Some(key.loc),
                    Code::MissingKey,
                    format!("category `{}` needs a `weight`", key.name),
                );
            }
            categories.push(Category {
                id: key.name.clone(),
                title: title.unwrap_or_else(|| title_case(&key.name)),
                weight: weight.unwrap_or(0.0),
            });
        }
        categories
    }

    pub(super) fn severity_weights(&mut self, file: &str, node: Option<&Node>) -> SeverityWeights {
        let mut weights = SeverityWeights::default();
        let Some(node) = node else { return weights };
        let Some(entries) = self.mapping(file, node, "severity_weights") else {
            return weights;
        };
        for (key, value) in entries {
            let Some(severity) = Severity::parse(&key.name) else {
                self.diags.push(
                    file,
                    Some(key.loc),
                    Code::UnknownKey,
                    unknown_severity(&key.name),
                );
                continue;
            };
            if let Some(w) = self.weight_number(file, value, "a severity weight") {
                match severity {
                    Severity::Critical => weights.critical = w,
                    Severity::High => weights.high = w,
                    Severity::Medium => weights.medium = w,
                    Severity::Low => weights.low = w,
                }
            }
        }
        weights
    }

    pub(super) fn stages(
        &mut self,
        file: &str,
        node: &Node,
        categories: &[Category],
    ) -> Vec<Stage> {
        let Some(items) = node.items() else {
            self.diags.push(
                file,
                Some(node.loc),
                Code::InvalidValue,
                format!("`stages` must be a list, found {}", node.type_name()),
            );
            return default_stages();
        };
        let mut stages: Vec<Stage> = Vec::new();
        for item in items {
            let Some(stage) = self.stage(file, item, categories) else {
                continue;
            };
            if stages.iter().any(|s| s.name == stage.name) {
                self.diags.push(
                    file,
                    Some(item.loc),
                    Code::DuplicateId,
                    format!("stage `{}` is defined twice", stage.name),
                );
            }
            stages.push(stage);
        }
        if stages.is_empty() {
            self.diags.push(
                file,
                Some(node.loc),
                Code::InvalidValue,
                "`stages` needs at least one stage",
            );
        }
        stages
    }

    fn stage(&mut self, file: &str, item: &Node, categories: &[Category]) -> Option<Stage> {
        let table = Table::new(file, item, &STAGE, "a stage");
        table.finish(&mut self.diags);
        let name = self.required_string(&table, "name", "a stage")?;
        let min_score = table.required(&mut self.diags, "min_score", item.loc, || {
            format!("stage `{name}` needs `min_score`")
        });
        let bounds = &STAGE.key("min_score").value;
        let min_score = min_score
            .and_then(|n| self.number_in(file, n, "min_score", bounds))
            .unwrap_or(0.0);
        let known: Vec<&str> = categories.iter().map(|c| c.id.as_str()).collect();
        let mut require = Vec::new();
        let list = table
            .get("require")
            .and_then(|n| self.string_list(file, n, "require"));
        for (loc, text) in list.unwrap_or_default() {
            let parsed = Selector::parse(&text).and_then(|s| s.knowing_categories(&known));
            match parsed {
                Ok(s) => require.push(s),
                Err(e) => self.diags.push(file, Some(loc), Code::BadSelector, e),
            }
        }
        Some(Stage {
            name,
            min_score,
            require,
        })
    }

    pub(super) fn defaults(&mut self, file: &str, node: Option<&Node>) -> Defaults {
        let mut defaults = Defaults::default();
        let Some(node) = node else { return defaults };
        let table = Table::new(file, node, &DEFAULTS, "`defaults`");
        table.finish(&mut self.diags);
        if let Some(d) = self.duration_at(&table, "timeout") {
            defaults.timeout = d;
        }
        if let Some(c) = self.concurrency_at(&table) {
            defaults.concurrency = c;
        }
        defaults
    }

    /// `defined`: the id of every check defined, valid or not: a check with errors has them
    /// reported once, and its waiver is not "unknown".
    pub(super) fn waivers(&mut self, file: &str, node: &Node, defined: &[String]) -> Vec<Waiver> {
        let Some(items) = node.items() else {
            self.diags.push(
                file,
                Some(node.loc),
                Code::InvalidValue,
                format!("`waivers` must be a list, found {}", node.type_name()),
            );
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|raw| self.waiver(file, raw, defined))
            .collect()
    }

    fn waiver(&mut self, file: &str, raw: &Node, defined: &[String]) -> Option<Waiver> {
        let mut missing = Vec::new();
        let item = self.interpolate_node(file, raw, &mut missing);
        for (_, m) in &missing {
            self.diags.push(
                file,
                Some(raw.loc),
                Code::Interpolation,
                format!("waiver: {}", m.describe()),
            );
        }
        let table = Table::new(file, &item, &WAIVER, "a waiver");
        table.finish(&mut self.diags);
        let check = self.required_string(&table, "check", "a waiver");
        let reason = self.required_string(&table, "reason", "a waiver");
        let expires = self.expires(&table);
        let subject = self.string_at(&table, "subject");
        let approved_by = self.string_at(&table, "approved_by");
        let ticket = self.string_at(&table, "ticket");
        let check = check.and_then(|c| self.waiver_check(&table, &c, defined));
        let subject = match subject {
            Some(s) => Some(self.glob(&table, "subject", &s, "subject")?),
            None => None,
        };
        Some(Waiver {
            check: check?,
            subject,
            reason: reason?,
            expires: expires?,
            approved_by,
            ticket,
        })
    }

    fn expires(&mut self, table: &Table) -> Option<NaiveDate> {
        let node = table.required(&mut self.diags, "expires", table.node.loc, || {
            "a waiver needs `expires` (YYYY-MM-DD): waivers do not last forever".into()
        })?;
        let date = node
            .str()
            .and_then(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok());
        if date.is_none() {
            self.diags.push(
                table.file,
                Some(node.loc),
                Code::InvalidValue,
                "`expires` must be a date written YYYY-MM-DD",
            );
        }
        date
    }

    /// The waiver's check glob, which must match a check: a typo would silently waive nothing.
    fn waiver_check(
        &mut self,
        table: &Table,
        text: &str,
        defined: &[String],
    ) -> Option<glob::Pattern> {
        let pattern = self.glob(table, "check", text, "check")?;
        if !defined.iter().any(|id| pattern.matches(id)) {
            self.diags.push(
                table.file,
                table.get("check").map(|n| n.loc),
                Code::UnknownCheck,
                format!(
                    "waiver names no existing check: `{text}`{}",
                    did_you_mean(text, defined.iter().map(String::as_str))
                ),
            );
        }
        Some(pattern)
    }

    fn glob(&mut self, table: &Table, key: &str, text: &str, what: &str) -> Option<glob::Pattern> {
        match glob::Pattern::new(text) {
            Ok(p) => Some(p),
            Err(e) => {
                let at: Option<Loc> = table.get(key).map(|n| n.loc);
                self.diags.push(
                    table.file,
                    at,
                    Code::InvalidValue,
                    format!("bad {what} glob `{text}`: {e}"),
                );
                None
            }
        }
    }
}

fn title_case(id: &str) -> String {
    let mut chars = id.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
