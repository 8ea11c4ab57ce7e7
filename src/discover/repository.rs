//! Repository facts for `--discover`: the Supabase layout, migration folders, coverage reports,
//! dotenv files (the names of secret-looking keys only: values are never kept), the Redis and
//! PostgreSQL services of compose files and the secret-looking variables they are given.

use std::path::Path;

use serde_json::Value as Json;

use super::compose::{ComposeSecret, compose_secrets};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RepoFacts {
    /// `supabase/config.toml` exists.
    pub supabase: Option<SupabaseConfig>,
    /// Folders under `supabase/functions`, sorted; shared code (`_shared`, dot folders) left out.
    pub functions: Vec<String>,
    /// Known migration folders that hold at least one entry, sorted by path.
    pub migration_dirs: Vec<MigrationDir>,
    /// Coverage reports, sorted by path.
    pub coverage: Vec<CoverageReport>,
    /// Dotenv files with secret-looking keys, sorted by path.
    pub env_files: Vec<EnvFile>,
    /// Redis and PostgreSQL services of compose files, sorted by file and name.
    pub services: Vec<Service>,
    /// Secret-looking variables in the `environment:` of compose services, sorted by file,
    /// service and name.
    pub compose_secrets: Vec<ComposeSecret>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SupabaseConfig {
    pub project_id: Option<String>,
    /// `[api] schemas`.
    pub api_schemas: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MigrationDir {
    pub path: &'static str,
    pub entries: usize,
    /// Some file ends in `.up.sql` (golang-migrate rather than sqlx).
    pub up_files: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CoverageReport {
    pub path: String,
    pub format: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnvFile {
    pub path: String,
    pub secret_keys: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ServiceKind {
    Postgres,
    Redis,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub file: String,
    pub name: String,
    pub kind: ServiceKind,
    /// `host:port` the service is published on, when the compose file says.
    pub published: Option<String>,
}

/// The folders the `migrations` kind knows, in the order they are reported.
pub const MIGRATION_DIRS: &[&str] = &[
    "db/migration",
    "db/migrations",
    "migrations",
    "prisma/migrations",
    "supabase/migrations",
];

const COMPOSE_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// Folders never searched for coverage reports.
const SKIPPED_DIRS: &[&str] = &["node_modules", "target", "vendor", "dist", "build"];

pub fn gather(dir: &Path) -> RepoFacts {
    let supabase_toml = std::fs::read_to_string(dir.join("supabase/config.toml")).ok();
    let compose: Vec<(&str, String)> = COMPOSE_FILES
        .iter()
        .filter_map(|file| Some((*file, std::fs::read_to_string(dir.join(file)).ok()?)))
        .collect();
    RepoFacts {
        supabase: supabase_toml.as_deref().map(supabase_config),
        functions: functions(&dir.join("supabase/functions")),
        migration_dirs: MIGRATION_DIRS
            .iter()
            .filter_map(|path| migration_dir(dir, path))
            .collect(),
        coverage: coverage_reports(dir),
        env_files: env_files(dir),
        services: compose
            .iter()
            .flat_map(|(file, text)| compose_services(file, text))
            .collect(),
        compose_secrets: compose
            .iter()
            .flat_map(|(file, text)| compose_secrets(file, text))
            .collect(),
    }
}

fn sorted_names(dir: &Path) -> Vec<(String, bool)> {
    let mut names: Vec<(String, bool)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let is_dir = e.file_type().ok()?.is_dir();
            Some((e.file_name().into_string().ok()?, is_dir))
        })
        .collect();
    names.sort();
    names
}

pub fn functions(dir: &Path) -> Vec<String> {
    sorted_names(dir)
        .into_iter()
        .filter(|(name, is_dir)| *is_dir && !name.starts_with(['_', '.']))
        .map(|(name, _)| name)
        .collect()
}

fn migration_dir(dir: &Path, path: &'static str) -> Option<MigrationDir> {
    let names = sorted_names(&dir.join(path));
    let entries = names
        .iter()
        .filter(|(name, is_dir)| *is_dir || name.ends_with(".sql"))
        .count();
    (entries > 0).then(|| MigrationDir {
        path,
        entries,
        up_files: names.iter().any(|(n, _)| n.ends_with(".up.sql")),
    })
}

/// `project_id` and `[api] schemas` of `supabase/config.toml`, read line by line: the two
/// settings are one-line strings and arrays of strings in every config the CLI writes.
pub fn supabase_config(text: &str) -> SupabaseConfig {
    let mut config = SupabaseConfig::default();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.split(" #").next().unwrap_or("").trim();
        match (section.as_str(), key.trim()) {
            ("", "project_id") => config.project_id = Some(value.trim_matches('"').to_string()),
            ("api", "schemas") => {
                let inner = value.trim_start_matches('[').trim_end_matches(']');
                config.api_schemas = Some(super::database::split_schemas(inner));
            }
            _ => {}
        }
    }
    config
}

fn coverage_format(name: &str) -> Option<&'static str> {
    match name {
        "lcov.info" => Some("lcov"),
        "coverage-summary.json" => Some("istanbul"),
        "coverage.xml" | "cobertura.xml" | "cobertura-coverage.xml" => Some("cobertura"),
        _ => None,
    }
}

/// Coverage reports up to three folders deep, outside hidden and dependency folders.
fn coverage_reports(dir: &Path) -> Vec<CoverageReport> {
    let mut found = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), String::new(), 0)];
    while let Some((path, rel, depth)) = pending.pop() {
        for (name, is_dir) in sorted_names(&path) {
            let child_rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if is_dir {
                if depth < 3 && !name.starts_with('.') && !SKIPPED_DIRS.contains(&name.as_str()) {
                    pending.push((path.join(&name), child_rel, depth + 1));
                }
            } else if let Some(format) = coverage_format(&name) {
                found.push(CoverageReport {
                    path: child_rel,
                    format,
                });
            }
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

/// `.env`, `.env.production`, …; examples and templates hold placeholders, not secrets.
fn env_files(dir: &Path) -> Vec<EnvFile> {
    sorted_names(dir)
        .into_iter()
        .filter(|(name, is_dir)| {
            !is_dir
                && (name == ".env" || name.starts_with(".env."))
                && ![".example", ".sample", ".template", ".dist"]
                    .iter()
                    .any(|s| name.ends_with(s))
        })
        .filter_map(|(name, _)| {
            let text = std::fs::read_to_string(dir.join(&name)).ok()?;
            let secret_keys = secret_keys(&text);
            (!secret_keys.is_empty()).then_some(EnvFile {
                path: name,
                secret_keys,
            })
        })
        .collect()
}

/// The secret-looking names a dotenv text assigns, sorted; everything after `=` is dropped
/// unread.
pub fn secret_keys(text: &str) -> Vec<String> {
    let mut keys: Vec<String> = text
        .lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (name, _) = line.split_once('=')?;
            let name = name.trim();
            let valid = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit());
            (valid && secret_looking(name)).then(|| name.to_string())
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Names such as JWT_SECRET, DB_PASSWORD, STRIPE_API_KEY; public keys (Supabase's anon key,
/// `NEXT_PUBLIC_*`, publishable keys) and key ids are not secrets.
pub fn secret_looking(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let words: Vec<&str> = upper.split('_').collect();
    let secret = words.iter().any(|w| {
        matches!(
            *w,
            "SECRET" | "PASSWORD" | "PASSWD" | "PWD" | "TOKEN" | "KEY" | "PRIVATE"
        )
    });
    let public = words.iter().any(|w| {
        matches!(
            *w,
            "PUBLIC" | "ANON" | "PUBLISHABLE" | "ID" | "URL" | "FILE"
        )
    });
    secret && !public
}

/// The Redis and PostgreSQL services of a compose file; an unreadable file has none.
pub fn compose_services(file: &str, text: &str) -> Vec<Service> {
    let Ok(doc) = serde_saphyr::from_str::<Json>(text) else {
        return Vec::new();
    };
    let Some(services) = doc.get("services").and_then(Json::as_object) else {
        return Vec::new();
    };
    let mut found: Vec<Service> = services
        .iter()
        .filter_map(|(name, def)| {
            let image = def.get("image").and_then(Json::as_str).unwrap_or("");
            let kind = service_kind(image)?;
            let container_port = match kind {
                ServiceKind::Postgres => 5432,
                ServiceKind::Redis => 6379,
            };
            let published = def
                .get("ports")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .find_map(|p| published(p, container_port));
            Some(Service {
                file: file.to_string(),
                name: name.clone(),
                kind,
                published,
            })
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// `redis:7-alpine`, `bitnami/redis`, `valkey/valkey`, `postgres:16`, `postgis/postgis`,
/// `supabase/postgres:15`.
fn service_kind(image: &str) -> Option<ServiceKind> {
    let repo = image.split(':').next().unwrap_or("");
    let base = repo.rsplit('/').next().unwrap_or("");
    if base.starts_with("redis") || base.starts_with("valkey") {
        Some(ServiceKind::Redis)
    } else if base.starts_with("postgres") || base.starts_with("postgis") {
        Some(ServiceKind::Postgres)
    } else {
        None
    }
}

/// The host address a `ports:` entry publishes `container_port` on: `"6380:6379"`,
/// `"127.0.0.1:6380:6379/tcp"` or `{ target: 6379, published: 6380 }`. An entry without a
/// host port (Docker picks one) or with a variable gives none.
pub fn published(entry: &Json, container_port: u16) -> Option<String> {
    let (host, port) = match entry {
        Json::String(s) => {
            let s = s.split('/').next().unwrap_or("");
            let parts: Vec<&str> = s.rsplitn(3, ':').collect();
            match parts.as_slice() {
                [container, host_port] => (None, (*host_port, *container)),
                [container, host_port, ip] => (Some(*ip), (*host_port, *container)),
                _ => return None,
            }
        }
        Json::Object(map) => {
            let text = |k: &str| match map.get(k)? {
                Json::String(s) => Some(s.clone()),
                Json::Number(n) => Some(n.to_string()),
                _ => None,
            };
            let (published, target) = (text("published")?, text("target")?);
            let ip = map.get("host_ip").and_then(Json::as_str);
            return numeric(&target)
                .filter(|t| *t == container_port)
                .and(numeric(&published))
                .map(|p| format!("{}:{p}", local_ip(ip)));
        }
        _ => return None,
    };
    let (host_port, container) = port;
    (numeric(container)? == container_port)
        .then(|| numeric(host_port).map(|p| format!("{}:{p}", local_ip(host))))
        .flatten()
}

fn numeric(text: &str) -> Option<u16> {
    text.trim().parse().ok()
}

/// Where a published port is reached from the machine that runs the checks.
fn local_ip(ip: Option<&str>) -> &str {
    match ip {
        None | Some("0.0.0.0" | "::" | "") => "127.0.0.1",
        Some(ip) => ip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_secret_looking_names_are_kept_and_no_value() {
        let text = "JWT_SECRET=abc\nexport DB_PASSWORD='x'\nSUPABASE_ANON_KEY=eyJ\nNEXT_PUBLIC_TOKEN=1\n\
                    AWS_ACCESS_KEY_ID=AKIA\nAWS_SECRET_ACCESS_KEY=s\nDATABASE_URL=postgres://u:p@h/d\n# TOKEN=x\nPORT=3000\n";
        assert_eq!(
            secret_keys(text),
            ["AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "JWT_SECRET"]
        );
    }

    #[test]
    fn supabase_config_gives_the_project_and_the_api_schemas() {
        let text = "project_id = \"hub\"\n[api]\nenabled = true\nschemas = [\"public\", \"graphql_public\"] # exposed\n[db]\nschemas = [\"x\"]\n";
        assert_eq!(
            supabase_config(text),
            SupabaseConfig {
                project_id: Some("hub".into()),
                api_schemas: Some(vec!["public".into(), "graphql_public".into()]),
            }
        );
    }

    #[test]
    fn compose_services_are_found_with_their_published_address() {
        let text = "services:\n  cache:\n    image: redis:7-alpine\n    ports: [\"6380:6379\"]\n  db:\n    image: postgres:16\n    ports:\n      - target: 5432\n        published: 5433\n        host_ip: 127.0.0.2\n  queue:\n    image: valkey/valkey\n    ports: [\"6379\"]\n  web:\n    image: nginx\n";
        let found = compose_services("compose.yaml", text);
        let summary: Vec<(&str, ServiceKind, Option<&str>)> = found
            .iter()
            .map(|s| (s.name.as_str(), s.kind, s.published.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [
                ("cache", ServiceKind::Redis, Some("127.0.0.1:6380")),
                ("db", ServiceKind::Postgres, Some("127.0.0.2:5433")),
                ("queue", ServiceKind::Redis, None),
            ]
        );
        assert_eq!(
            published(&Json::String("0.0.0.0:7000:6379/tcp".into()), 6379),
            Some("127.0.0.1:7000".into())
        );
        assert_eq!(published(&Json::String("${P}:6379".into()), 6379), None);
    }
}
