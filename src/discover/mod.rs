//! `ready init --discover`: a suite written from what is really there. Facts are gathered
//! read-only from the database (`database`), the repository (`repository`) and the HTTP service
//! (`web`); a plain function turns them into a suite (`plan`); `yaml` writes it with a comment
//! on every check saying which facts call for it. Everything is sorted and nothing carries a
//! time, so an unchanged system gives the same files.

pub mod compose;
pub mod database;
pub mod plan;
pub mod repository;
pub mod web;
pub mod yaml;

use std::collections::HashMap;
use std::path::Path;

/// Everything `--discover` learnt; plain data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// The project folder's name: the project's name when Supabase's config names none.
    pub dir_name: String,
    pub database: Option<database::DbFacts>,
    pub repository: repository::RepoFacts,
    pub web: Option<web::WebFacts>,
}

/// Reads the targets named by `DATABASE_URL` and `READY_HTTP_URL` (when set) and the project
/// folder. In a Supabase project (`supabase/config.toml`) without `READY_HTTP_URL`, Supabase's
/// own `SUPABASE_URL` names the service. An unreachable database or an invalid URL is an error
/// in words.
pub async fn gather(dir: &Path, env: &HashMap<String, String>) -> Result<Facts, String> {
    let set = |name: &str| env.get(name).filter(|v| !v.is_empty());
    let database = match set("DATABASE_URL") {
        Some(url) => Some(database::gather(url).await?),
        None => None,
    };
    let service = match set("READY_HTTP_URL") {
        Some(base) => Some(("READY_HTTP_URL", base)),
        None if dir.join("supabase/config.toml").is_file() => {
            set("SUPABASE_URL").map(|base| ("SUPABASE_URL", base))
        }
        None => None,
    };
    let web = match service {
        Some((variable, base)) => {
            let url = url::Url::parse(base).map_err(|e| format!("{variable} is not a URL: {e}"))?;
            Some(web::gather(variable, &url).await)
        }
        None => None,
    };
    let dir_name = std::fs::canonicalize(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    Ok(Facts {
        dir_name,
        database,
        repository: repository::gather(dir),
        web,
    })
}
