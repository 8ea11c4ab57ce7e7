//! Loading the configuration: discovery, files and includes, interpolation, validation into the
//! checked `Suite`. Every problem of every file is collected and reported together.

pub mod diagnostic;
pub mod interpolate;
pub mod node;
pub mod schema;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use crate::checks::Kind;
use crate::checks::params::parse_duration;
use crate::model::{
    Category, Check, Defaults, HttpTarget, PostgresTarget, SeverityWeights, Stage, Suite, Target,
    TargetFamily, TargetKind, TargetState, Waiver, default_categories, default_stages,
};
use crate::selector::Selector;
use crate::vocab::Severity;
use diagnostic::{Code, Diagnostics};
use interpolate::{MissingVar, interpolate};
use node::{Key, Loc, Node, NodeDeserializer, Value};

/// The built-in suite, embedded at build time.
pub const BUILTIN_FILES: &[(&str, &str)] = &[
    (
        "checks/postgres-basics.yaml",
        include_str!("../../checks/postgres-basics.yaml"),
    ),
    (
        "checks/postgres-security.yaml",
        include_str!("../../checks/postgres-security.yaml"),
    ),
    (
        "checks/postgres-database.yaml",
        include_str!("../../checks/postgres-database.yaml"),
    ),
    (
        "checks/http-basics.yaml",
        include_str!("../../checks/http-basics.yaml"),
    ),
    (
        "checks/secrets.yaml",
        include_str!("../../checks/secrets.yaml"),
    ),
    (
        "checks/backups.yaml",
        include_str!("../../checks/backups.yaml"),
    ),
    ("checks/http.yaml", include_str!("../../checks/http.yaml")),
];

/// Where the configuration comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    File(PathBuf),
    Builtin,
}

/// `--config`, else `$READY_CONFIG`, else `./ready.yaml` / `./ready.yml`, else the built-in suite.
pub fn discover(explicit: Option<&Path>, env: &HashMap<String, String>, cwd: &Path) -> Source {
    if let Some(path) = explicit {
        return Source::File(path.to_path_buf());
    }
    if let Some(path) = env.get("READY_CONFIG").filter(|p| !p.is_empty()) {
        return Source::File(PathBuf::from(path));
    }
    for name in ["ready.yaml", "ready.yml"] {
        let path = cwd.join(name);
        if path.is_file() {
            return Source::File(path);
        }
    }
    Source::Builtin
}

const TOP_KEYS: &[&str] = &[
    "version",
    "project",
    "targets",
    "categories",
    "severity_weights",
    "stages",
    "defaults",
    "include",
    "waivers",
    "checks",
];
const INCLUDED_KEYS: &[&str] = &["version", "checks"];
const CHECK_KEYS: &[&str] = &[
    "id",
    "title",
    "description",
    "rationale",
    "category",
    "severity",
    "weight",
    "blocker",
    "tags",
    "target",
    "timeout",
    "retries",
    "remediation",
    "for_each",
];
const POSTGRES_TARGET_KEYS: &[&str] = &[
    "postgres",
    "api_roles",
    "exposed_schemas",
    "allow_writes",
    "connect_timeout",
    "concurrency",
];
const HTTP_TARGET_KEYS: &[&str] = &["http", "headers", "insecure_tls", "concurrency"];
const WAIVER_KEYS: &[&str] = &[
    "check",
    "subject",
    "reason",
    "expires",
    "approved_by",
    "ticket",
];
const STAGE_KEYS: &[&str] = &["name", "min_score", "require"];

/// Loads and validates the suite. `Err` holds every problem found, in file order.
pub fn load(
    source: &Source,
    env: &HashMap<String, String>,
    cwd: &Path,
) -> Result<Loaded, Diagnostics> {
    let mut loader = Loader {
        env,
        diags: Diagnostics::default(),
        secrets: Vec::new(),
        hasher: Sha256::new(),
    };
    let loaded = match source {
        Source::File(path) => loader.project_file(path),
        Source::Builtin => Some(loader.builtin(cwd)),
    };
    let diags = loader.diags.finish();
    match loaded {
        Some(mut loaded) if diags.is_empty() => {
            loader.secrets.sort();
            loader.secrets.dedup();
            loaded.suite.secrets = loader.secrets;
            loaded.suite.config_hash = hex::encode(loader.hasher.finalize());
            Ok(loaded)
        }
        _ => Err(diags),
    }
}

/// A validated suite and the directory its relative paths start from.
#[derive(Debug)]
pub struct Loaded {
    pub suite: Suite,
    pub base_dir: PathBuf,
}

struct Loader<'a> {
    env: &'a HashMap<String, String>,
    diags: Diagnostics,
    secrets: Vec<String>,
    /// Over every file read, in reading order, for `config_hash`.
    hasher: Sha256,
}

/// A check as written, with the file it came from.
struct CheckNode {
    file: String,
    node: Node,
}

impl Loader<'_> {
    fn read(&mut self, path: &Path) -> Option<Node> {
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                self.diags
                    .push(&shown, None, Code::Io, format!("cannot read: {e}"));
                return None;
            }
        };
        self.parse(&shown, &text)
    }

    fn parse(&mut self, file: &str, text: &str) -> Option<Node> {
        self.hasher.update(text.as_bytes());
        match node::parse_document(text) {
            Ok(root) if root.entries().is_some() => Some(root),
            Ok(root) => {
                self.diags.push(
                    file,
                    Some(root.loc),
                    Code::InvalidValue,
                    format!(
                        "expected a mapping at the top of the file, found {}",
                        root.type_name()
                    ),
                );
                None
            }
            Err((loc, message)) => {
                self.diags.push(file, loc, Code::Syntax, message);
                None
            }
        }
    }

    fn project_file(&mut self, path: &Path) -> Option<Loaded> {
        let root = self.read(path)?;
        let file = path.display().to_string();
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let base_dir = if base_dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base_dir
        };
        self.unknown_keys(&file, &root, TOP_KEYS, "the project file");

        if let Some(version) = root.get("version")
            && version.value != Value::Int(1)
        {
            self.diags.push(
                &file,
                Some(version.loc),
                Code::InvalidValue,
                "unsupported `version`: this ready reads version 1",
            );
        }
        let project = root
            .get("project")
            .and_then(|n| self.plain_string(&file, n, "project"))
            .unwrap_or_else(|| {
                base_dir
                    .canonicalize()
                    .ok()
                    .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .unwrap_or_else(|| "project".into())
            });

        let targets = match root.get("targets") {
            Some(n) => self.targets(&file, n),
            None => BTreeMap::new(),
        };
        let categories = self.categories(&file, root.get("categories"));
        let severity_weights = self.severity_weights(&file, root.get("severity_weights"));
        let stages = match root.get("stages") {
            Some(n) => self.stages(&file, n),
            None => default_stages(),
        };
        let defaults = self.defaults(&file, root.get("defaults"));

        let mut check_nodes = Vec::new();
        if let Some(checks) = root.get("checks") {
            self.collect_checks(&file, checks, &mut check_nodes);
        }
        if let Some(include) = root.get("include") {
            self.includes(&file, &base_dir, include, &mut check_nodes);
        }
        let checks = self.checks(
            &check_nodes,
            &targets,
            &categories,
            &severity_weights,
            &defaults,
        );
        let waivers = match root.get("waivers") {
            Some(n) => self.waivers(&file, n, &checks),
            None => Vec::new(),
        };
        Some(Loaded {
            suite: Suite {
                project,
                source: file,
                targets,
                categories,
                severity_weights,
                stages,
                defaults,
                checks,
                waivers,
                secrets: Vec::new(),
                config_hash: String::new(),
            },
            base_dir,
        })
    }

    /// The embedded suite, with targets from the standard environment variables. A target whose
    /// variable is unset is "not configured": its checks are skipped with that reason.
    fn builtin(&mut self, cwd: &Path) -> Loaded {
        let mut targets = BTreeMap::new();
        for (name, family, var) in [
            ("db", TargetFamily::Postgres, "DATABASE_URL"),
            ("api", TargetFamily::Http, "READY_HTTP_URL"),
        ] {
            let state = match self.env.get(var).filter(|v| !v.is_empty()) {
                Some(url) => {
                    // A database URL carries its password; a base URL only when it has one.
                    if family == TargetFamily::Postgres
                        || url::Url::parse(url).is_ok_and(|u| u.password().is_some())
                    {
                        self.secrets.push(url.clone());
                    }
                    match family {
                        TargetFamily::Postgres => {
                            TargetState::Ready(TargetKind::Postgres(PostgresTarget {
                                url: url.clone(),
                                api_roles: self.env_list("READY_API_ROLES"),
                                exposed_schemas: self
                                    .env_list("READY_EXPOSED_SCHEMAS")
                                    .unwrap_or_else(|| vec!["public".into()]),
                                allow_writes: false,
                                connect_timeout: Duration::from_secs(5),
                            }))
                        }
                        TargetFamily::Http => match url::Url::parse(url) {
                            Ok(base_url) => TargetState::Ready(TargetKind::Http(HttpTarget {
                                base_url,
                                headers: Vec::new(),
                                insecure_tls: false,
                            })),
                            Err(e) => {
                                TargetState::Unresolved(format!("{var} is not a valid URL: {e}"))
                            }
                        },
                    }
                }
                None => TargetState::NotConfigured(format!(
                    "target `{name}` is not configured: set {var}"
                )),
            };
            let concurrency = default_concurrency(family);
            targets.insert(
                name.to_string(),
                Target {
                    name: name.into(),
                    family,
                    state,
                    concurrency,
                },
            );
        }
        let mut check_nodes = Vec::new();
        for (file, text) in BUILTIN_FILES {
            if let Some(root) = self.parse(file, text) {
                self.unknown_keys(file, &root, INCLUDED_KEYS, "a check file");
                if let Some(checks) = root.get("checks") {
                    self.collect_checks(file, checks, &mut check_nodes);
                }
            }
        }
        let categories = default_categories();
        let severity_weights = SeverityWeights::default();
        let defaults = Defaults::default();
        let checks = self.checks(
            &check_nodes,
            &targets,
            &categories,
            &severity_weights,
            &defaults,
        );
        Loaded {
            suite: Suite {
                project: "built-in suite".into(),
                source: "built-in".into(),
                targets,
                categories,
                severity_weights,
                stages: default_stages(),
                defaults,
                checks,
                waivers: Vec::new(),
                secrets: Vec::new(),
                config_hash: String::new(),
            },
            base_dir: cwd.to_path_buf(),
        }
    }

    /// A comma-separated list from the environment, for the built-in suite's targets.
    fn env_list(&self, var: &str) -> Option<Vec<String>> {
        let value = self.env.get(var)?;
        let items: Vec<String> = value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        (!items.is_empty()).then_some(items)
    }

    fn includes(&mut self, file: &str, base_dir: &Path, include: &Node, out: &mut Vec<CheckNode>) {
        let Some(patterns) = self.string_list(file, include, "include") else {
            return;
        };
        for (loc, pattern) in patterns {
            let full = base_dir.join(&pattern);
            let paths = match glob::glob(&full.to_string_lossy()) {
                Ok(paths) => paths,
                Err(e) => {
                    self.diags.push(
                        file,
                        Some(loc),
                        Code::Include,
                        format!("bad include pattern `{pattern}`: {e}"),
                    );
                    continue;
                }
            };
            let mut matched: Vec<PathBuf> = paths
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .collect();
            matched.sort();
            if matched.is_empty() {
                // A typo here would silently drop checks: fail closed.
                self.diags.push(
                    file,
                    Some(loc),
                    Code::Include,
                    format!("include pattern `{pattern}` matches no file"),
                );
            }
            for path in matched {
                let Some(root) = self.read(&path) else {
                    continue;
                };
                let shown = path.display().to_string();
                self.unknown_keys(&shown, &root, INCLUDED_KEYS, "a check file");
                match root.get("checks") {
                    Some(checks) => self.collect_checks(&shown, checks, out),
                    None => self.diags.push(
                        &shown,
                        Some(root.loc),
                        Code::MissingKey,
                        "a check file needs `checks:`, a list of checks",
                    ),
                }
            }
        }
    }

    fn collect_checks(&mut self, file: &str, checks: &Node, out: &mut Vec<CheckNode>) {
        match checks.items() {
            Some(items) => out.extend(items.iter().map(|n| CheckNode {
                file: file.to_string(),
                node: n.clone(),
            })),
            None => self.diags.push(
                file,
                Some(checks.loc),
                Code::InvalidValue,
                format!("`checks` must be a list, found {}", checks.type_name()),
            ),
        }
    }

    fn targets(&mut self, file: &str, node: &Node) -> BTreeMap<String, Target> {
        let mut targets = BTreeMap::new();
        let Some(entries) = self.mapping(file, node, "targets") else {
            return targets;
        };
        for (key, def) in entries {
            if let Some(target) = self.target(file, key, def) {
                targets.insert(key.name.clone(), target);
            }
        }
        targets
    }

    fn target(&mut self, file: &str, key: &Key, def: &Node) -> Option<Target> {
        let name = key.name.clone();
        if def.entries().is_none() {
            self.diags.push(
                file,
                Some(def.loc),
                Code::InvalidValue,
                format!("target `{name}` must be a mapping with `postgres:` or `http:`"),
            );
            return None;
        };
        let family = match (def.get("postgres").is_some(), def.get("http").is_some()) {
            (true, false) => TargetFamily::Postgres,
            (false, true) => TargetFamily::Http,
            (true, true) => {
                self.diags.push(file, Some(key.loc), Code::KindCount, format!("target `{name}` has both `postgres:` and `http:`; a target is one or the other"));
                return None;
            }
            (false, false) => {
                self.diags.push(file, Some(key.loc), Code::KindCount, format!("target `{name}` needs `postgres:` (a connection URL) or `http:` (a base URL)"));
                return None;
            }
        };
        let allowed = match family {
            TargetFamily::Postgres => POSTGRES_TARGET_KEYS,
            TargetFamily::Http => HTTP_TARGET_KEYS,
        };
        self.unknown_keys(
            file,
            def,
            allowed,
            &format!("{} target `{name}`", family.as_str()),
        );

        // Interpolate the whole definition; an unset variable makes the target unusable.
        let mut missing = Vec::new();
        let def = self.interpolate_node(file, def, &mut missing);
        let concurrency = match def.get("concurrency") {
            Some(n) => self.positive_int(file, n, "concurrency").unwrap_or(1),
            None => default_concurrency(family),
        };
        let mut target = Target {
            name: name.clone(),
            family,
            state: TargetState::Unresolved(String::new()),
            concurrency,
        };
        if let Some(first) = missing.first() {
            target.state =
                TargetState::Unresolved(format!("target `{name}`: {}", first.describe()));
            return Some(target);
        }
        let url_node = def.get(family.as_str())?;
        let Some(url_text) = url_node.str() else {
            self.diags.push(
                file,
                Some(url_node.loc),
                Code::InvalidValue,
                format!("`{}` must be a URL string", family.as_str()),
            );
            return None;
        };
        let from_env = matches!(url_node.value, Value::Str { from_env: true, .. });
        let bad_url = |e: String| {
            if from_env {
                format!("target `{name}`: the URL from the environment is not valid ({e})")
            } else {
                format!("target `{name}`: invalid URL: {e}")
            }
        };
        match family {
            TargetFamily::Postgres => {
                self.secrets.push(url_text.to_string());
                match url::Url::parse(url_text) {
                    Ok(u) if matches!(u.scheme(), "postgres" | "postgresql") => {}
                    Ok(_) => {
                        self.diags.push(
                            file,
                            Some(url_node.loc),
                            Code::InvalidValue,
                            bad_url("the scheme must be postgres:// or postgresql://".into()),
                        );
                        return None;
                    }
                    Err(e) => {
                        self.diags.push(
                            file,
                            Some(url_node.loc),
                            Code::InvalidValue,
                            bad_url(e.to_string()),
                        );
                        return None;
                    }
                }
                let api_roles = def
                    .get("api_roles")
                    .and_then(|n| self.string_list(file, n, "api_roles"))
                    .map(|l| l.into_iter().map(|(_, s)| s).collect());
                let exposed_schemas = def
                    .get("exposed_schemas")
                    .and_then(|n| self.string_list(file, n, "exposed_schemas"))
                    .map(|l| l.into_iter().map(|(_, s)| s).collect())
                    .unwrap_or_else(|| vec!["public".to_string()]);
                let allow_writes = def
                    .get("allow_writes")
                    .and_then(|n| self.boolean(file, n, "allow_writes"))
                    .unwrap_or(false);
                let connect_timeout = def
                    .get("connect_timeout")
                    .and_then(|n| self.duration(file, n))
                    .unwrap_or(Duration::from_secs(5));
                target.state = TargetState::Ready(TargetKind::Postgres(PostgresTarget {
                    url: url_text.to_string(),
                    api_roles,
                    exposed_schemas,
                    allow_writes,
                    connect_timeout,
                }));
            }
            TargetFamily::Http => {
                let base_url = match url::Url::parse(url_text) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") => u,
                    Ok(_) => {
                        self.diags.push(
                            file,
                            Some(url_node.loc),
                            Code::InvalidValue,
                            bad_url("the scheme must be http:// or https://".into()),
                        );
                        return None;
                    }
                    Err(e) => {
                        self.diags.push(
                            file,
                            Some(url_node.loc),
                            Code::InvalidValue,
                            bad_url(e.to_string()),
                        );
                        return None;
                    }
                };
                if base_url.password().is_some() {
                    self.secrets.push(url_text.to_string());
                }
                let mut headers = Vec::new();
                if let Some(h) = def.get("headers")
                    && let Some(entries) = self.mapping(file, h, "headers")
                {
                    for (k, v) in entries {
                        match v.str() {
                            Some(value) => {
                                self.secrets.push(value.to_string());
                                headers.push((k.name.clone(), value.to_string()));
                            }
                            None => self.diags.push(
                                file,
                                Some(v.loc),
                                Code::InvalidValue,
                                format!("header `{}` must be a string", k.name),
                            ),
                        }
                    }
                }
                let insecure_tls = def
                    .get("insecure_tls")
                    .and_then(|n| self.boolean(file, n, "insecure_tls"))
                    .unwrap_or(false);
                target.state = TargetState::Ready(TargetKind::Http(HttpTarget {
                    base_url,
                    headers,
                    insecure_tls,
                }));
            }
        }
        Some(target)
    }

    fn categories(&mut self, file: &str, node: Option<&Node>) -> Vec<Category> {
        let mut categories = default_categories();
        let Some(node) = node else { return categories };
        let Some(entries) = self.mapping(file, node, "categories") else {
            return categories;
        };
        for (key, def) in entries {
            self.unknown_keys(
                file,
                def,
                &["weight", "title"],
                &format!("category `{}`", key.name),
            );
            let weight = def
                .get("weight")
                .and_then(|n| self.non_negative(file, n, "weight"));
            let title = def
                .get("title")
                .and_then(|n| self.plain_string(file, n, "title"));
            match categories.iter_mut().find(|c| c.id == key.name) {
                Some(existing) => {
                    if let Some(w) = weight {
                        existing.weight = w;
                    }
                    if let Some(t) = title {
                        existing.title = t;
                    }
                }
                None => {
                    if weight.is_none() && def.get("weight").is_none() {
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
            }
        }
        categories
    }

    fn severity_weights(&mut self, file: &str, node: Option<&Node>) -> SeverityWeights {
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
                    format!(
                        "unknown severity `{}` (expected critical, high, medium or low)",
                        key.name
                    ),
                );
                continue;
            };
            if let Some(w) = self.non_negative(file, value, "a severity weight") {
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

    fn stages(&mut self, file: &str, node: &Node) -> Vec<Stage> {
        let mut stages: Vec<Stage> = Vec::new();
        let Some(items) = node.items() else {
            self.diags.push(
                file,
                Some(node.loc),
                Code::InvalidValue,
                format!("`stages` must be a list, found {}", node.type_name()),
            );
            return default_stages();
        };
        for item in items {
            self.unknown_keys(file, item, STAGE_KEYS, "a stage");
            let Some(name) = self.required_string(file, item, "name", "a stage") else {
                continue;
            };
            if stages.iter().any(|s| s.name == name) {
                self.diags.push(
                    file,
                    Some(item.loc),
                    Code::DuplicateId,
                    format!("stage `{name}` is defined twice"),
                );
            }
            let min_score = match item.get("min_score") {
                Some(n) => match number(n) {
                    Some(v) if (0.0..=100.0).contains(&v) => v,
                    _ => {
                        self.diags.push(
                            file,
                            Some(n.loc),
                            Code::InvalidValue,
                            "`min_score` must be a number from 0 to 100",
                        );
                        0.0
                    }
                },
                None => {
                    self.diags.push(
                        file,
                        Some(item.loc),
                        Code::MissingKey,
                        format!("stage `{name}` needs `min_score`"),
                    );
                    0.0
                }
            };
            let mut require = Vec::new();
            if let Some(list) = item
                .get("require")
                .and_then(|n| self.string_list(file, n, "require"))
            {
                for (loc, text) in list {
                    match Selector::parse(&text) {
                        Ok(s) => require.push(s),
                        Err(e) => self.diags.push(file, Some(loc), Code::BadSelector, e),
                    }
                }
            }
            stages.push(Stage {
                name,
                min_score,
                require,
            });
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

    fn defaults(&mut self, file: &str, node: Option<&Node>) -> Defaults {
        let mut defaults = Defaults::default();
        let Some(node) = node else { return defaults };
        self.unknown_keys(file, node, &["timeout", "concurrency"], "`defaults`");
        if let Some(d) = node.get("timeout").and_then(|n| self.duration(file, n)) {
            defaults.timeout = d;
        }
        if let Some(c) = node
            .get("concurrency")
            .and_then(|n| self.positive_int(file, n, "concurrency"))
        {
            defaults.concurrency = c;
        }
        defaults
    }

    fn checks(
        &mut self,
        nodes: &[CheckNode],
        targets: &BTreeMap<String, Target>,
        categories: &[Category],
        weights: &SeverityWeights,
        defaults: &Defaults,
    ) -> Vec<Check> {
        let mut checks = Vec::new();
        let mut seen: HashMap<String, (String, Loc)> = HashMap::new();
        for CheckNode { file, node } in nodes {
            for (id, id_loc, check) in
                self.expand_check(file, node, targets, categories, weights, defaults)
            {
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
        checks
    }

    /// One check definition, or one per `for_each` item.
    fn expand_check(
        &mut self,
        file: &str,
        node: &Node,
        targets: &BTreeMap<String, Target>,
        categories: &[Category],
        weights: &SeverityWeights,
        defaults: &Defaults,
    ) -> Vec<(String, Loc, Option<Check>)> {
        let Some(entries) = node.entries() else {
            self.diags.push(
                file,
                Some(node.loc),
                Code::InvalidValue,
                format!("a check must be a mapping, found {}", node.type_name()),
            );
            return Vec::new();
        };
        for (key, _) in entries {
            if !CHECK_KEYS.contains(&key.name.as_str()) && !Kind::NAMES.contains(&key.name.as_str())
            {
                let mut valid: Vec<&str> = CHECK_KEYS.to_vec();
                valid.extend(Kind::NAMES);
                self.diags.push(
                    file,
                    Some(key.loc),
                    Code::UnknownKey,
                    unknown_key_message(&key.name, "a check", &valid),
                );
            }
        }
        let items: Vec<Option<String>> = match node.get("for_each") {
            None => vec![None],
            Some(list) => match self.string_list(file, list, "for_each") {
                Some(items) if items.is_empty() => {
                    self.diags.push(
                        file,
                        Some(list.loc),
                        Code::InvalidValue,
                        "`for_each` is empty: it would define no check",
                    );
                    return Vec::new();
                }
                Some(items) => {
                    let id_has_item = node
                        .get("id")
                        .and_then(Node::str)
                        .is_some_and(|id| id.contains("{{item}}"));
                    if !id_has_item {
                        self.diags.push(file, Some(list.loc), Code::InvalidValue, "a check with `for_each` needs `{{item}}` in its `id`, so that each copy has its own id");
                        return Vec::new();
                    }
                    items.into_iter().map(|(_, s)| Some(s)).collect()
                }
                None => return Vec::new(),
            },
        };
        items
            .into_iter()
            .filter_map(|item| {
                let node = match &item {
                    Some(item) => node.map_strings(&mut |s| (s.replace("{{item}}", item), false)),
                    None => node.clone(),
                };
                // The id is read first so that duplicates are found even in invalid checks.
                let id = self.required_string(file, &node, "id", "a check")?;
                let id_loc = node.get("id").map_or(node.loc, |n| n.loc);
                let check = self.check(
                    file, &id, id_loc, &node, targets, categories, weights, defaults,
                );
                Some((id, id_loc, check))
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn check(
        &mut self,
        file: &str,
        id: &str,
        id_loc: Loc,
        raw: &Node,
        targets: &BTreeMap<String, Target>,
        categories: &[Category],
        weights: &SeverityWeights,
        defaults: &Defaults,
    ) -> Option<Check> {
        let id = id.to_string();
        if !valid_id(&id) {
            self.diags.push(
                file,
                Some(id_loc),
                Code::InvalidValue,
                format!("check id `{id}` must match [a-z0-9][a-z0-9._-]*"),
            );
        }
        let mut missing = Vec::new();
        let node = self.interpolate_node(file, raw, &mut missing);

        let kind_keys: Vec<&(Key, Node)> = raw
            .entries()
            .unwrap_or_default()
            .iter()
            .filter(|(k, _)| Kind::NAMES.contains(&k.name.as_str()))
            .collect();
        // Problems with the kind do not stop the rest of the check from being validated.
        let mut kind_ok = true;
        let kind_key = match kind_keys.as_slice() {
            [one] => Some(&one.0),
            [] => {
                self.diags.push(
                    file,
                    Some(id_loc),
                    Code::KindCount,
                    format!(
                        "check `{id}` has no kind: add one of {}",
                        Kind::NAMES.join(", ")
                    ),
                );
                None
            }
            [first, second, ..] => {
                self.diags.push(
                    file,
                    Some(second.0.loc),
                    Code::KindCount,
                    format!(
                        "check `{id}` has two kinds (`{}` and `{}`): a check has exactly one",
                        first.0.name, second.0.name
                    ),
                );
                None
            }
        };
        let kind_name = kind_key
            .and_then(|k| Kind::NAMES.iter().find(|n| **n == k.name).copied())
            .unwrap_or("unknown");
        let params_node = kind_key.and_then(|k| node.get(&k.name));
        let kind = match (kind_key, params_node) {
            (Some(key), Some(params)) => {
                match Kind::parse(&key.name, NodeDeserializer { node: params }) {
                    Some(Ok(kind)) => Some(kind),
                    // With an unset variable the parameters may be unreadable; the check is
                    // `error` naming the variable, which is the real problem.
                    Some(Err(_)) if !missing.is_empty() => None,
                    Some(Err(e)) => {
                        self.diags.push(
                            file,
                            Some(e.loc.unwrap_or(params.loc)),
                            Code::InvalidValue,
                            format!("{} (in `{}` of check `{id}`)", e.message, key.name),
                        );
                        kind_ok = false;
                        None
                    }
                    None => None,
                }
            }
            _ => {
                kind_ok = false;
                None
            }
        };

        let title = node
            .get("title")
            .and_then(|n| self.plain_string(file, n, "title"))
            .unwrap_or_else(|| id.clone());
        let description = node
            .get("description")
            .and_then(|n| self.plain_string(file, n, "description"));
        let rationale = node
            .get("rationale")
            .and_then(|n| self.plain_string(file, n, "rationale"));
        let remediation = node
            .get("remediation")
            .and_then(|n| self.plain_string(file, n, "remediation"));

        let category = match node.get("category") {
            Some(n) => match n.str() {
                Some(c) if categories.iter().any(|k| k.id == c) => Some(c.to_string()),
                Some(c) => {
                    let known: Vec<&str> = categories.iter().map(|k| k.id.as_str()).collect();
                    self.diags.push(
                        file,
                        Some(n.loc),
                        Code::UnknownCategory,
                        format!("unknown category `{c}`; known: {}", known.join(", ")),
                    );
                    None
                }
                None => {
                    self.diags.push(
                        file,
                        Some(n.loc),
                        Code::InvalidValue,
                        "`category` must be a string",
                    );
                    None
                }
            },
            None => {
                self.diags.push(
                    file,
                    Some(id_loc),
                    Code::MissingKey,
                    format!("check `{id}` needs a `category`"),
                );
                None
            }
        };
        let severity = match node.get("severity") {
            Some(n) => match n.str().and_then(Severity::parse) {
                Some(s) => Some(s),
                None => {
                    self.diags.push(
                        file,
                        Some(n.loc),
                        Code::InvalidValue,
                        "unknown severity: expected critical, high, medium or low",
                    );
                    None
                }
            },
            None => {
                self.diags.push(
                    file,
                    Some(id_loc),
                    Code::MissingKey,
                    format!("check `{id}` needs a `severity`"),
                );
                None
            }
        };
        let weight = node
            .get("weight")
            .and_then(|n| self.non_negative(file, n, "weight"));
        let blocker = node
            .get("blocker")
            .and_then(|n| self.boolean(file, n, "blocker"))
            .unwrap_or(false);
        let tags = node
            .get("tags")
            .and_then(|n| self.string_list(file, n, "tags"))
            .map(|l| l.into_iter().map(|(_, s)| s).collect())
            .unwrap_or_default();
        let timeout = node
            .get("timeout")
            .and_then(|n| self.duration(file, n))
            .unwrap_or(defaults.timeout);
        let retries = node
            .get("retries")
            .and_then(|n| match n.value {
                Value::Int(r @ 0..=10) => Some(r as u32),
                _ => {
                    self.diags.push(
                        file,
                        Some(n.loc),
                        Code::InvalidValue,
                        "`retries` must be a whole number from 0 to 10",
                    );
                    None
                }
            })
            .unwrap_or(0);

        let target = match node.get("target") {
            Some(n) => {
                match n.str() {
                    Some(name) => {
                        match targets.get(name) {
                            Some(t) => {
                                if let Some(k) = &kind
                                    && k.family().is_some_and(|f| f != t.family)
                                {
                                    self.diags.push(file, Some(n.loc), Code::UnknownTarget, format!(
                                "target `{name}` is a {} target; a `{}` check needs a {} target",
                                t.family.as_str(), kind_name, k.family().map_or("", |f| f.as_str())
                            ));
                                } else if kind.as_ref().is_some_and(|k| k.family().is_none()) {
                                    self.diags.push(file, Some(n.loc), Code::InvalidValue, format!("a `{kind_name}` check runs locally and takes no `target`"));
                                }
                                Some(name.to_string())
                            }
                            None => {
                                let known: Vec<&str> = targets.keys().map(String::as_str).collect();
                                let known = if known.is_empty() {
                                    "none are defined under `targets:`".to_string()
                                } else {
                                    format!("known: {}", known.join(", "))
                                };
                                self.diags.push(
                                    file,
                                    Some(n.loc),
                                    Code::UnknownTarget,
                                    format!("unknown target `{name}`; {known}"),
                                );
                                None
                            }
                        }
                    }
                    None => {
                        self.diags.push(
                            file,
                            Some(n.loc),
                            Code::InvalidValue,
                            "`target` must be a target name",
                        );
                        None
                    }
                }
            }
            None if kind.as_ref().and_then(Kind::implied_target).is_some() => {
                // The kind names its target in its parameters (`wal_archiving: db`).
                let name = kind
                    .as_ref()
                    .and_then(Kind::implied_target)
                    .unwrap_or_default();
                let at = Some(params_node.map_or(id_loc, |n| n.loc));
                match targets.get(name) {
                    Some(t) if kind.as_ref().and_then(Kind::family) == Some(t.family) => {
                        Some(name.to_string())
                    }
                    Some(t) => {
                        self.diags.push(file, at, Code::UnknownTarget, format!(
                            "target `{name}` is a {} target; a `{kind_name}` check needs a {} target",
                            t.family.as_str(),
                            kind.as_ref().and_then(Kind::family).map_or("", |f| f.as_str())
                        ));
                        None
                    }
                    None => {
                        let known: Vec<&str> = targets.keys().map(String::as_str).collect();
                        self.diags.push(
                            file,
                            at,
                            Code::UnknownTarget,
                            format!(
                                "unknown target `{name}`; known: {}",
                                if known.is_empty() {
                                    "none are defined under `targets:`".to_string()
                                } else {
                                    known.join(", ")
                                }
                            ),
                        );
                        None
                    }
                }
            }
            None => {
                if kind.as_ref().is_some_and(Kind::needs_target) {
                    let family = kind
                        .as_ref()
                        .and_then(Kind::family)
                        .map_or("", |f| f.as_str());
                    self.diags.push(
                        file,
                        Some(id_loc),
                        Code::MissingKey,
                        format!("check `{id}` needs a `target` naming a {family} target"),
                    );
                }
                None
            }
        };
        if let (Some(named), Some(implied)) =
            (&target, kind.as_ref().and_then(Kind::implied_target))
            && named != implied
        {
            self.diags.push(
                file,
                Some(params_node.map_or(id_loc, |n| n.loc)),
                Code::InvalidValue,
                format!("the check's `target` is `{named}` but its parameters name `{implied}`"),
            );
        }

        let (category, severity) = (category?, severity?);
        if !kind_ok {
            return None;
        }
        let params = params_node.map(display_params).unwrap_or_default();
        let mut unresolved: Vec<String> = missing.iter().map(MissingVar::describe).collect();
        unresolved.dedup();
        Some(Check {
            id,
            title,
            description,
            rationale,
            category,
            severity,
            weight: weight.unwrap_or_else(|| weights.of(severity)),
            blocker,
            tags,
            target,
            timeout,
            retries,
            remediation,
            kind_name,
            kind,
            params,
            unresolved,
            defined_at: format!("{file}:{}", raw.loc.line),
        })
    }

    fn waivers(&mut self, file: &str, node: &Node, checks: &[Check]) -> Vec<Waiver> {
        let mut waivers = Vec::new();
        let Some(items) = node.items() else {
            self.diags.push(
                file,
                Some(node.loc),
                Code::InvalidValue,
                format!("`waivers` must be a list, found {}", node.type_name()),
            );
            return waivers;
        };
        for raw in items {
            self.unknown_keys(file, raw, WAIVER_KEYS, "a waiver");
            let mut missing = Vec::new();
            let item = self.interpolate_node(file, raw, &mut missing);
            for m in &missing {
                self.diags.push(
                    file,
                    Some(raw.loc),
                    Code::Interpolation,
                    format!("waiver: {}", m.describe()),
                );
            }
            let check = self.required_string(file, &item, "check", "a waiver");
            let reason = self.required_string(file, &item, "reason", "a waiver");
            let expires = match item.get("expires") {
                Some(n) => match n
                    .str()
                    .map(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d"))
                {
                    Some(Ok(date)) => Some(date),
                    _ => {
                        self.diags.push(
                            file,
                            Some(n.loc),
                            Code::InvalidValue,
                            "`expires` must be a date written YYYY-MM-DD",
                        );
                        None
                    }
                },
                None => {
                    self.diags.push(
                        file,
                        Some(item.loc),
                        Code::MissingKey,
                        "a waiver needs `expires` (YYYY-MM-DD): waivers do not last forever",
                    );
                    None
                }
            };
            let subject = item
                .get("subject")
                .and_then(|n| self.plain_string(file, n, "subject"));
            let approved_by = item
                .get("approved_by")
                .and_then(|n| self.plain_string(file, n, "approved_by"));
            let ticket = item
                .get("ticket")
                .and_then(|n| self.plain_string(file, n, "ticket"));
            if let Some(check) = &check {
                let loc = item.get("check").map(|n| n.loc);
                match glob::Pattern::new(check) {
                    Ok(p) if checks.iter().any(|c| p.matches(&c.id)) => {}
                    Ok(_) => self.diags.push(
                        file,
                        loc,
                        Code::UnknownCheck,
                        format!("waiver names no existing check: `{check}`"),
                    ),
                    Err(e) => self.diags.push(
                        file,
                        loc,
                        Code::InvalidValue,
                        format!("bad check glob `{check}`: {e}"),
                    ),
                }
            }
            if let Some(subject) = &subject
                && let Err(e) = glob::Pattern::new(subject)
            {
                self.diags.push(
                    file,
                    item.get("subject").map(|n| n.loc),
                    Code::InvalidValue,
                    format!("bad subject glob `{subject}`: {e}"),
                );
            }
            if let (Some(check), Some(reason), Some(expires)) = (check, reason, expires) {
                waivers.push(Waiver {
                    check,
                    subject,
                    reason,
                    expires,
                    approved_by,
                    ticket,
                });
            }
        }
        waivers
    }

    // ---- small readers; each reports its own problem and returns None ----

    fn unknown_keys(&mut self, file: &str, node: &Node, allowed: &[&str], what: &str) {
        for (key, _) in node.entries().unwrap_or_default() {
            if !allowed.contains(&key.name.as_str()) {
                self.diags.push(
                    file,
                    Some(key.loc),
                    Code::UnknownKey,
                    unknown_key_message(&key.name, what, allowed),
                );
            }
        }
    }

    fn mapping<'n>(&mut self, file: &str, node: &'n Node, what: &str) -> Option<&'n [(Key, Node)]> {
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

    fn interpolate_node(&mut self, file: &str, node: &Node, missing: &mut Vec<MissingVar>) -> Node {
        let mut errors = Vec::new();
        let mut secrets = Vec::new();
        let out = node.map_strings(&mut |s| match interpolate(s, self.env) {
            Ok(r) => {
                missing.extend(r.missing);
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
    fn plain_string(&mut self, file: &str, node: &Node, what: &str) -> Option<String> {
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
        let out = self.interpolate_node(
            file,
            &Node {
                loc: node.loc,
                value: Value::Str {
                    text,
                    from_env: false,
                },
            },
            &mut missing,
        );
        for m in missing {
            self.diags
                .push(file, Some(node.loc), Code::Interpolation, m.describe());
        }
        out.str().map(str::to_string)
    }

    fn required_string(
        &mut self,
        file: &str,
        node: &Node,
        key: &str,
        what: &str,
    ) -> Option<String> {
        match node.get(key) {
            Some(n) => self.plain_string(file, n, key),
            None => {
                self.diags.push(
                    file,
                    Some(node.loc),
                    Code::MissingKey,
                    format!("{what} needs `{key}`"),
                );
                None
            }
        }
    }

    fn string_list(&mut self, file: &str, node: &Node, what: &str) -> Option<Vec<(Loc, String)>> {
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

    fn boolean(&mut self, file: &str, node: &Node, what: &str) -> Option<bool> {
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.diags.push(
                    file,
                    Some(node.loc),
                    Code::InvalidValue,
                    format!("`{what}` must be true or false"),
                );
                None
            }
        }
    }

    fn non_negative(&mut self, file: &str, node: &Node, what: &str) -> Option<f64> {
        match number(node) {
            Some(v) if v >= 0.0 && v.is_finite() => Some(v),
            _ => {
                self.diags.push(
                    file,
                    Some(node.loc),
                    Code::InvalidValue,
                    format!("`{what}` must be a number, 0 or more"),
                );
                None
            }
        }
    }

    fn positive_int(&mut self, file: &str, node: &Node, what: &str) -> Option<usize> {
        match node.value {
            Value::Int(i @ 1..=10_000) => Some(i as usize),
            _ => {
                self.diags.push(
                    file,
                    Some(node.loc),
                    Code::InvalidValue,
                    format!("`{what}` must be a whole number from 1 to 10000"),
                );
                None
            }
        }
    }

    fn duration(&mut self, file: &str, node: &Node) -> Option<Duration> {
        let result = match &node.value {
            Value::Str { text, .. } => parse_duration(text),
            _ => Err(format!(
                "a duration must be text with a unit, such as 30s, found {}",
                node.type_name()
            )),
        };
        match result {
            Ok(d) if !d.is_zero() => Some(d),
            Ok(_) => {
                self.diags.push(
                    file,
                    Some(node.loc),
                    Code::InvalidValue,
                    "a duration must be longer than zero",
                );
                None
            }
            Err(e) => {
                self.diags.push(file, Some(node.loc), Code::InvalidValue, e);
                None
            }
        }
    }
}

fn default_concurrency(family: TargetFamily) -> usize {
    match family {
        // A few connections are plenty for catalog queries and spare the server.
        TargetFamily::Postgres => 4,
        TargetFamily::Http => 32,
    }
}

fn number(node: &Node) -> Option<f64> {
    match node.value {
        Value::Int(i) => Some(i as f64),
        Value::Float(f) => Some(f),
        _ => None,
    }
}

fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

fn title_case(id: &str) -> String {
    let mut chars = id.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn unknown_key_message(key: &str, what: &str, valid: &[&str]) -> String {
    let suggestion = valid
        .iter()
        .map(|v| (edit_distance(key, v), *v))
        .filter(|(d, v)| *d <= 2.max(v.len() / 4))
        .min()
        .map(|(_, v)| format!(" (did you mean `{v}`?)"))
        .unwrap_or_default();
    format!(
        "unknown key `{key}` in {what}{suggestion}; expected one of: {}",
        valid.join(", ")
    )
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut row = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            row.push((prev[j] + cost).min(prev[j + 1] + 1).min(row[j] + 1));
        }
        prev = row;
    }
    prev[b.len()]
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

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(yaml: &str, env: &[(&str, &str)]) -> Result<Loaded, Diagnostics> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ready.yaml");
        std::fs::write(&path, yaml).unwrap();
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let out = load(&Source::File(path), &env, dir.path());
        drop(dir);
        out
    }

    fn messages(d: &Diagnostics) -> Vec<String> {
        d.0.iter()
            .map(|d| {
                format!(
                    "{}:{} {}",
                    d.loc.map_or(0, |l| l.line),
                    d.loc.map_or(0, |l| l.col),
                    d.message
                )
            })
            .collect()
    }

    const MINIMAL: &str = "version: 1\nproject: demo\nchecks:\n  - id: env.home\n    category: operations\n    severity: low\n    env: { vars: [HOME] }\n";

    #[test]
    fn a_minimal_file_loads_with_defaults() {
        let loaded = load_text(MINIMAL, &[]).unwrap();
        let suite = loaded.suite;
        assert_eq!(suite.project, "demo");
        assert_eq!(suite.checks.len(), 1);
        assert_eq!(suite.checks[0].weight, 2.5);
        assert_eq!(suite.checks[0].title, "env.home");
        assert_eq!(suite.stages.len(), 2);
        assert_eq!(suite.categories.len(), 5);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let yaml = "\
version: 1
targets:
  db: { postgres: postgres://u:p@h/d }
stages:
  - { name: prod, min_score: 90, require: [\"severity>=urgent\"] }
waivers:
  - check: nothing.*
    reason: r
    expires: 2030-01-01
  - check: a.one
checks:
  - id: a.one
    category: security
    severity: high
    sevrity: high
    sql: { query: select 1 }
    target: db
  - id: a.one
    category: secrity
    severity: high
    env: { vars: [X] }
  - id: a.two
    category: security
    severity: high
    sql: { query: select 1 }
    http: { path: / }
  - id: a.three
    category: security
    severity: extreme
    target: nowhere
    sql: { query: select 1, expect: { rows: { mn: 1 } } }
  - id: a.four
    category: security
    severity: low
    timeout: 10
    env: { vars: [A] }
";
        let diags = load_text(yaml, &[]).unwrap_err();
        assert_eq!(
            messages(&diags),
            vec![
                "5:44 unknown severity `urgent` (expected critical, high, medium or low)",
                "7:12 waiver names no existing check: `nothing.*`",
                "10:5 a waiver needs `expires` (YYYY-MM-DD): waivers do not last forever",
                "10:5 a waiver needs `reason`",
                "15:5 unknown key `sevrity` in a check (did you mean `severity`?); expected one of: id, title, description, rationale, category, severity, weight, blocker, tags, target, timeout, retries, remediation, for_each, KINDS",
                "18:9 duplicate check id `a.one` (first defined at FILE:12:9)",
                "19:15 unknown category `secrity`; known: security, reliability, database, observability, operations",
                "26:5 check `a.two` has two kinds (`sql` and `http`): a check has exactly one",
                "29:15 unknown severity: expected critical, high, medium or low",
                "30:13 unknown target `nowhere`; known: db",
                "31:47 unknown field `mn`, expected `min` or `max` (in `sql` of check `a.three`)",
                "35:14 a duration must be text with a unit, such as 30s, found an integer",
            ]
            .into_iter()
            .map(|s| s
                .replace("FILE", &diags.0[5].file)
                .replace("KINDS", &Kind::NAMES.join(", ")))
            .collect::<Vec<_>>()
        );
    }

    #[test]
    fn for_each_makes_one_check_per_item() {
        let yaml = "checks:\n  - id: fn.{{item}}\n    title: \"{{item}} is set\"\n    for_each: [a, b]\n    category: operations\n    severity: low\n    env: { vars: [\"{{item}}\"] }\n";
        let suite = load_text(yaml, &[]).unwrap().suite;
        let ids: Vec<_> = suite
            .checks
            .iter()
            .map(|c| (c.id.as_str(), c.title.as_str()))
            .collect();
        assert_eq!(ids, [("fn.a", "a is set"), ("fn.b", "b is set")]);
    }

    #[test]
    fn unset_variables_make_targets_and_checks_unresolved_not_invalid() {
        let yaml = "targets:\n  db: { postgres: \"${DB_URL}\" }\n  api: { http: \"https://x\", headers: { apikey: \"${KEY}\" } }\nchecks:\n  - id: c\n    category: operations\n    severity: low\n    command: { run: [\"${TOOL:?install the tool}\"] }\n";
        let suite = load_text(yaml, &[("KEY", "k-123456")]).unwrap().suite;
        assert!(
            matches!(&suite.targets["db"].state, TargetState::Unresolved(m) if m == "target `db`: environment variable DB_URL is not set")
        );
        assert!(matches!(&suite.targets["api"].state, TargetState::Ready(_)));
        assert_eq!(
            suite.checks[0].unresolved,
            ["environment variable TOOL is not set: install the tool"]
        );
        assert_eq!(suite.secrets, ["k-123456"]);
    }

    #[test]
    fn secret_values_never_appear_in_diagnostics() {
        let yaml = "checks:\n  - id: c\n    category: operations\n    severity: low\n    http: { url: \"https://x\", samples: \"${TOKEN}\" }\n";
        let diags = load_text(yaml, &[("TOKEN", "tok-very-secret")]).unwrap_err();
        let text = diags.to_string();
        assert!(!text.contains("tok-very-secret"), "{text}");
        assert!(text.contains("expected u32, found string"), "{text}");
    }

    #[test]
    fn includes_must_match_files() {
        let diags = load_text("include: [checks/*.yaml]\n", &[]).unwrap_err();
        assert_eq!(
            messages(&diags),
            ["1:11 include pattern `checks/*.yaml` matches no file"]
        );
    }

    #[test]
    fn the_built_in_database_target_reads_api_roles_from_the_environment() {
        let env: HashMap<String, String> = [
            ("DATABASE_URL", "postgres://u:pw-123456@h/d"),
            ("READY_API_ROLES", "anon, authenticated"),
            ("READY_EXPOSED_SCHEMAS", "public,api"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let suite = load(&Source::Builtin, &env, Path::new(".")).unwrap().suite;
        let TargetState::Ready(TargetKind::Postgres(db)) = &suite.targets["db"].state else {
            panic!("db is ready")
        };
        assert_eq!(
            db.api_roles.as_deref(),
            Some(&["anon".to_string(), "authenticated".to_string()][..])
        );
        assert_eq!(db.exposed_schemas, ["public", "api"]);
    }

    #[test]
    fn discovery_order() {
        let dir = tempfile::tempdir().unwrap();
        let env = HashMap::from([("READY_CONFIG".to_string(), "/etc/ready.yaml".to_string())]);
        assert_eq!(
            discover(Some(Path::new("x.yaml")), &env, dir.path()),
            Source::File("x.yaml".into())
        );
        assert_eq!(
            discover(None, &env, dir.path()),
            Source::File("/etc/ready.yaml".into())
        );
        assert_eq!(discover(None, &HashMap::new(), dir.path()), Source::Builtin);
        std::fs::write(dir.path().join("ready.yml"), "").unwrap();
        assert_eq!(
            discover(None, &HashMap::new(), dir.path()),
            Source::File(dir.path().join("ready.yml"))
        );
    }
}
