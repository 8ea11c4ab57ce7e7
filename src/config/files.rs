//! Where the configuration comes from: discovery, the project file, its includes, and the
//! built-in suite with targets from the standard environment variables.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::Digest;

use super::checks::{CheckNode, Scope};
use super::diagnostic::{Code, Diagnostics};
use super::keys::{self, CHECK_FILE, PROJECT};
use super::node::{self, Node, Value};
use super::reader::Table;
use super::targets::default_concurrency;
use super::{Loaded, Loader};
use crate::model::{
    Defaults, HttpTarget, PostgresTarget, SeverityWeights, Suite, Target, TargetFamily, TargetKind,
    TargetState, default_categories, default_stages,
};

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

impl Loader<'_> {
    fn read(&mut self, path: &Path) -> Option<Node> {
        let shown = path.display().to_string();
        let text = match std::fs::read(path).map(String::from_utf8) {
            Ok(Ok(text)) => text,
            Ok(Err(e)) => {
                let (loc, message) = not_utf8(e.as_bytes(), e.utf8_error());
                self.diags.push(&shown, Some(loc), Code::Syntax, message);
                return None;
            }
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
        self.sources.insert(file.to_string(), text.to_string());
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

    pub(super) fn project_file(&mut self, path: &Path) -> Option<Loaded> {
        let root = self.read(path)?;
        let file = path.display().to_string();
        let base_dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let top = Table::new(&file, &root, &PROJECT, "the project file");
        top.finish(&mut self.diags);
        if let Some(version) = top.get("version")
            && version.value != Value::Int(keys::VERSION)
        {
            self.diags.push(
                &file,
                Some(version.loc),
                Code::InvalidValue,
                "unsupported `version`: this ready reads version 1",
            );
        }
        let project = self
            .string_at(&top, "project")
            .unwrap_or_else(|| directory_name(&base_dir));
        let suite = self.project_suite(&top, &base_dir, project);
        Some(Loaded {
            suite,
            base_dir,
            warnings: Diagnostics::default(),
        })
    }

    fn project_suite(&mut self, top: &Table, base_dir: &Path, project: String) -> Suite {
        let file = top.file;
        let targets = match top.get("targets") {
            Some(n) => self.targets(file, n),
            None => BTreeMap::new(),
        };
        let categories = self.categories(file, top.get("categories"));
        let severity_weights = self.severity_weights(file, top.get("severity_weights"));
        let stages = match top.get("stages") {
            Some(n) => self.stages(file, n, &categories),
            None => default_stages(),
        };
        let defaults = self.defaults(file, top.get("defaults"));

        let mut check_nodes = Vec::new();
        if let Some(checks) = top.get("checks") {
            self.collect_checks(file, checks, &mut check_nodes);
        }
        if let Some(include) = top.get("include") {
            self.includes(file, base_dir, include, &mut check_nodes);
        }
        let scope = Scope {
            targets: &targets,
            categories: &categories,
            weights: &severity_weights,
            defaults: &defaults,
        };
        let (checks, defined) = self.checks(&check_nodes, &scope);
        let waivers = match top.get("waivers") {
            Some(n) => self.waivers(file, n, &defined),
            None => Vec::new(),
        };
        Suite {
            project,
            source: file.to_string(),
            targets,
            categories,
            severity_weights,
            stages,
            defaults,
            checks,
            waivers,
            secrets: Vec::new(),
            config_hash: String::new(),
        }
    }

    /// The embedded suite, with targets from the standard environment variables. A target whose
    /// variable is unset is "not configured": its checks are skipped with that reason.
    pub(super) fn builtin(&mut self, cwd: &Path) -> Loaded {
        let mut targets = BTreeMap::new();
        for (name, family, var) in [
            ("db", TargetFamily::Postgres, "DATABASE_URL"),
            ("api", TargetFamily::Http, "READY_HTTP_URL"),
        ] {
            let target = Target {
                name: name.into(),
                family,
                state: self.builtin_target(name, family, var),
                concurrency: default_concurrency(family),
            };
            targets.insert(name.to_string(), target);
        }
        let mut check_nodes = Vec::new();
        for (file, text) in BUILTIN_FILES {
            if let Some(root) = self.parse(file, text) {
                self.check_file(file, &root, &mut check_nodes);
            }
        }
        let categories = default_categories();
        let severity_weights = SeverityWeights::default();
        let defaults = Defaults::default();
        let scope = Scope {
            targets: &targets,
            categories: &categories,
            weights: &severity_weights,
            defaults: &defaults,
        };
        let (checks, _) = self.checks(&check_nodes, &scope);
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
            warnings: Diagnostics::default(),
        }
    }

    fn builtin_target(&mut self, name: &str, family: TargetFamily, var: &str) -> TargetState {
        let Some(url) = self.env.get(var).filter(|v| !v.is_empty()) else {
            return TargetState::NotConfigured(format!(
                "target `{name}` is not configured: set {var}"
            ));
        };
        // A database URL carries its password; a base URL only when it has one.
        if family == TargetFamily::Postgres
            || url::Url::parse(url).is_ok_and(|u| u.password().is_some())
        {
            self.secrets.push(url.clone());
            self.secrets.extend(crate::redact::basic_credentials(url));
        }
        match family {
            TargetFamily::Postgres => TargetState::Ready(TargetKind::Postgres(PostgresTarget {
                url: url.clone(),
                api_roles: self.env_list("READY_API_ROLES"),
                exposed_schemas: self
                    .env_list("READY_EXPOSED_SCHEMAS")
                    .unwrap_or_else(|| vec!["public".into()]),
                allow_writes: false,
                connect_timeout: Duration::from_secs(5),
            })),
            TargetFamily::Http => match url::Url::parse(url) {
                Ok(base_url) => TargetState::Ready(TargetKind::Http(HttpTarget {
                    base_url,
                    headers: Vec::new(),
                    insecure_tls: false,
                })),
                Err(e) => TargetState::Unresolved(format!("{var} is not a valid URL: {e}")),
            },
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

    /// An included (or built-in) file: `version` and `checks` only.
    fn check_file(&mut self, file: &str, root: &Node, out: &mut Vec<CheckNode>) {
        let table = Table::new(file, root, &CHECK_FILE, "a check file");
        table.finish(&mut self.diags);
        if let Some(checks) = table.get("checks") {
            self.collect_checks(file, checks, out);
        }
    }

    fn includes(&mut self, file: &str, base_dir: &Path, include: &Node, out: &mut Vec<CheckNode>) {
        let Some(patterns) = self.string_list(file, include, "include") else {
            return;
        };
        let project_dir = base_dir
            .canonicalize()
            .unwrap_or_else(|_| base_dir.to_path_buf());
        for (loc, pattern) in patterns {
            if Path::new(&pattern).is_absolute() {
                self.diags.push(
                    file,
                    Some(loc),
                    Code::Include,
                    format!(
                        "include `{pattern}` is an absolute path: includes are paths inside the project directory, relative to it"
                    ),
                );
                continue;
            }
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
                if inside(&path, &project_dir) {
                    self.included_file(&path, out);
                } else {
                    // Never read it: its content would reach the diagnostics.
                    self.diags.push(
                        file,
                        Some(loc),
                        Code::Include,
                        format!(
                            "include `{pattern}` resolves to {} outside the project directory {}: move the file into the project (symlinks are followed)",
                            path.display(),
                            project_dir.display()
                        ),
                    );
                }
            }
        }
    }

    fn included_file(&mut self, path: &Path, out: &mut Vec<CheckNode>) {
        let Some(root) = self.read(path) else {
            return;
        };
        let shown = path.display().to_string();
        self.check_file(&shown, &root, out);
        if root.get("checks").is_none() {
            self.diags.push(
                &shown,
                Some(root.loc),
                Code::MissingKey,
                "a check file needs `checks:`, a list of checks",
            );
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
}

/// Where the first byte that is not UTF-8 is, as a position like any other diagnostic's.
fn not_utf8(bytes: &[u8], error: std::str::Utf8Error) -> (node::Loc, String) {
    let valid = &bytes[..error.valid_up_to()];
    let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = String::from_utf8_lossy(&valid[line_start..])
        .chars()
        .count()
        + 1;
    let (line, col) = (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    );
    let byte = bytes[error.valid_up_to()];
    (
        node::Loc { line, col },
        format!("byte {byte:#04x} is not UTF-8: save the file as UTF-8"),
    )
}

/// Whether `path`, with every symlink followed, lies inside `project_dir` (already canonical).
fn inside(path: &Path, project_dir: &Path) -> bool {
    path.canonicalize()
        .is_ok_and(|real| real.starts_with(project_dir))
}

/// The project's default name: its directory's.
fn directory_name(base_dir: &Path) -> String {
    base_dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "project".into())
}
