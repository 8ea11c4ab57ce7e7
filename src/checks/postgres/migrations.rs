//! `migrations`: every migration file in a folder is applied, none is dirty or failed, and no
//! applied version lacks its file.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::catalog::{catalog_error, get};
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::{Ctx, KindSpec};
use crate::target::TargetFamily;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    #[default]
    Auto,
    Supabase,
    GolangMigrate,
    Sqlx,
    Flyway,
    Prisma,
    Dbmate,
}

impl Tool {
    /// In the order `auto` looks for their history tables.
    const DETECTED: [Tool; 6] = [
        Tool::Supabase,
        Tool::Sqlx,
        Tool::Flyway,
        Tool::Prisma,
        Tool::GolangMigrate,
        Tool::Dbmate,
    ];

    fn name(self) -> &'static str {
        match self {
            Tool::Auto => "auto",
            Tool::Supabase => "supabase",
            Tool::GolangMigrate => "golang-migrate",
            Tool::Sqlx => "sqlx",
            Tool::Flyway => "flyway",
            Tool::Prisma => "prisma",
            Tool::Dbmate => "dbmate",
        }
    }

    fn history_table(self) -> &'static str {
        match self {
            Tool::Supabase => "supabase_migrations.schema_migrations",
            Tool::Sqlx => "_sqlx_migrations",
            Tool::Flyway => "flyway_schema_history",
            Tool::Prisma => "_prisma_migrations",
            Tool::GolangMigrate | Tool::Dbmate | Tool::Auto => "schema_migrations",
        }
    }

    fn default_dir(self) -> &'static str {
        match self {
            Tool::Supabase => "supabase/migrations",
            Tool::Flyway => "db/migration",
            Tool::Prisma => "prisma/migrations",
            Tool::Dbmate => "db/migrations",
            Tool::GolangMigrate | Tool::Sqlx | Tool::Auto => "migrations",
        }
    }

    /// The version a migration file stands for; `None` for files that are not migrations (down
    /// migrations, repeatable Flyway scripts, notes).
    fn version_of(self, file_name: &str, is_dir: bool) -> Option<String> {
        if self == Tool::Prisma {
            return is_dir.then(|| file_name.to_string());
        }
        if is_dir {
            return None;
        }
        if self == Tool::Flyway {
            let rest = file_name.strip_prefix('V')?;
            let (version, _) = rest.split_once("__")?;
            return (!version.is_empty()).then(|| normalise(&version.replace('_', ".")));
        }
        let ok_suffix = match self {
            Tool::GolangMigrate => file_name.contains(".up."),
            Tool::Sqlx => file_name.ends_with(".sql") && !file_name.ends_with(".down.sql"),
            _ => file_name.ends_with(".sql"),
        };
        let digits: String = file_name.chars().take_while(char::is_ascii_digit).collect();
        (ok_suffix && !digits.is_empty()).then(|| normalise(&digits))
    }
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MigrationsParams {
    /// Relative to the configuration file. Default: the tool's usual folder.
    pub dir: Option<String>,
    #[serde(default)]
    pub tool: Tool,
}

impl MigrationsParams {
    /// The folders the migrations may be in, most likely first: `dir`, else the tool's usual
    /// folder, else (for `auto`, decided only against the database) every tool's.
    pub fn folder_candidates(&self) -> Vec<String> {
        match (&self.dir, self.tool) {
            (Some(dir), _) => vec![dir.clone()],
            (None, Tool::Auto) => Tool::DETECTED
                .iter()
                .map(|t| t.default_dir().into())
                .collect(),
            (None, tool) => vec![tool.default_dir().into()],
        }
    }
}

/// `000123` and `123` are one version; so are Flyway's `1.01` and `1.1`.
fn normalise(version: &str) -> String {
    version
        .split('.')
        .map(|part| {
            let trimmed = part.trim_start_matches('0');
            if trimmed.is_empty() && !part.is_empty() {
                "0"
            } else {
                trimmed
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Versions in order: numerically segment by segment, then as text.
fn compare(a: &str, b: &str) -> Ordering {
    let parts = |v: &str| -> Vec<Option<u128>> { v.split('.').map(|p| p.parse().ok()).collect() };
    match (parts(a), parts(b)) {
        (pa, pb) if pa.iter().chain(&pb).all(Option::is_some) => pa.cmp(&pb),
        _ => a.cmp(b),
    }
}

/// What the history table says about one version.
#[derive(Debug, Clone, PartialEq)]
enum Applied {
    Ok,
    /// Failed, for the reason the history gives (empty when it gives none).
    Failed(String),
    Dirty,
}

impl KindSpec for MigrationsParams {
    fn family(&self) -> Option<TargetFamily> {
        Some(TargetFamily::Postgres)
    }
}

pub async fn run(params: &MigrationsParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let (db, base_dir, timeout) = (ctx.postgres()?, ctx.base_dir, ctx.timeout);
    let mut tx = db.read_only(timeout).await?;
    let result = inspect(params, &mut tx, base_dir).await;
    db.finish(tx).await;
    result
}

/// Which history tables exist (golang-migrate's is `schema_migrations` with a `dirty` column;
/// dbmate's is one without).
struct HistoryTables {
    supabase: bool,
    sqlx: bool,
    flyway: bool,
    prisma: bool,
    golang_migrate: bool,
    dbmate: bool,
}

impl HistoryTables {
    fn has(&self, tool: Tool) -> bool {
        match tool {
            Tool::Supabase => self.supabase,
            Tool::Sqlx => self.sqlx,
            Tool::Flyway => self.flyway,
            Tool::Prisma => self.prisma,
            Tool::GolangMigrate => self.golang_migrate,
            Tool::Dbmate => self.dbmate && !self.golang_migrate,
            Tool::Auto => false,
        }
    }
}

/// The history table of one tool, as read.
struct History {
    exists: bool,
    applied: BTreeMap<String, Applied>,
    /// Flyway's baseline: every version up to it counts as applied.
    baseline: Option<String>,
    /// version → the checksum the tool recorded when it applied the file (sqlx, Flyway).
    checksums: BTreeMap<String, String>,
}

impl Tool {
    /// A file's checksum as the tool records it: sqlx the SHA-384 of the file (hex), Flyway
    /// the CRC32 of its lines without line breaks (a signed 32-bit number); `None` for tools
    /// that record none we can compare.
    fn checksum(self, content: &[u8]) -> Option<String> {
        match self {
            Tool::Sqlx => {
                use sha2::Digest;
                Some(hex::encode(sha2::Sha384::digest(content)))
            }
            Tool::Flyway => {
                let text = String::from_utf8_lossy(content);
                let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
                let mut crc = crc32fast::Hasher::new();
                // Java's readLine: a line ends at \n, \r or \r\n.
                for line in text.split('\n').flat_map(|l| l.split('\r')) {
                    crc.update(line.as_bytes());
                }
                Some((crc.finalize() as i32).to_string())
            }
            _ => None,
        }
    }
}

async fn inspect(
    params: &MigrationsParams,
    conn: &mut PgConnection,
    base_dir: &Path,
) -> CheckOutcome {
    let tables = read_history_tables(conn).await?;
    let tool = detect(params.tool, &tables)?;
    let dir_text = params
        .dir
        .clone()
        .unwrap_or_else(|| tool.default_dir().to_string());
    let files = read_files(tool, &base_dir.join(&dir_text), &dir_text)?;
    let exists = tables.has(tool);
    let history = if exists {
        read_history(tool, conn).await?
    } else {
        History {
            exists,
            applied: BTreeMap::new(),
            baseline: None,
            checksums: BTreeMap::new(),
        }
    };
    let computed = file_checksums(tool, &base_dir.join(&dir_text), &files, &history)?;
    Ok(judge(tool, &dir_text, &files, &history, &computed))
}

/// version → the checksum of its file, for the versions whose checksum the tool recorded.
fn file_checksums(
    tool: Tool,
    dir: &Path,
    files: &BTreeMap<String, String>,
    history: &History,
) -> Result<BTreeMap<String, String>, CheckError> {
    let mut out = BTreeMap::new();
    for (version, file) in files {
        if !history.checksums.contains_key(version) {
            continue;
        }
        let content = std::fs::read(dir.join(file))
            .map_err(|e| CheckError::new(format!("cannot read the migration {file}: {e}")))?;
        if let Some(checksum) = tool.checksum(&content) {
            out.insert(version.clone(), checksum);
        }
    }
    Ok(out)
}

async fn read_history_tables(conn: &mut PgConnection) -> Result<HistoryTables, CheckError> {
    let row = sqlx::query(
        "SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL AS supabase,
                to_regclass('_sqlx_migrations') IS NOT NULL AS sqlx,
                to_regclass('flyway_schema_history') IS NOT NULL AS flyway,
                to_regclass('_prisma_migrations') IS NOT NULL AS prisma,
                EXISTS (SELECT 1 FROM pg_attribute
                        WHERE attrelid = to_regclass('schema_migrations') AND attname = 'dirty') AS golang_migrate,
                to_regclass('schema_migrations') IS NOT NULL AS dbmate",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| catalog_error(&e))?;
    Ok(HistoryTables {
        supabase: get(&row, "supabase")?,
        sqlx: get(&row, "sqlx")?,
        flyway: get(&row, "flyway")?,
        prisma: get(&row, "prisma")?,
        golang_migrate: get(&row, "golang_migrate")?,
        dbmate: get(&row, "dbmate")?,
    })
}

/// The tool the check names, or (`auto`) the first whose history table exists.
fn detect(wanted: Tool, tables: &HistoryTables) -> Result<Tool, CheckError> {
    if wanted != Tool::Auto {
        return Ok(wanted);
    }
    Tool::DETECTED
        .into_iter()
        .find(|t| tables.has(*t))
        .ok_or_else(|| {
            CheckError::new(format!(
                "cannot tell which migration tool is used: none of {} exists; set `tool`",
                Tool::DETECTED
                    .iter()
                    .map(|t| t.history_table())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

/// Judges the folder's files (version → file name) against the history.
fn judge(
    tool: Tool,
    dir_text: &str,
    files: &BTreeMap<String, String>,
    history: &History,
    computed: &BTreeMap<String, String>,
) -> Observation {
    let mut obs = Observation::default();
    let table = tool.history_table();
    // golang-migrate keeps only the current version: everything before it counts as applied.
    let current = (tool == Tool::GolangMigrate)
        .then(|| history.applied.keys().max_by(|a, b| compare(a, b)).cloned())
        .flatten();
    let baseline_covers = |version: &str| {
        history
            .baseline
            .as_deref()
            .is_some_and(|b| compare(version, b) != Ordering::Greater)
    };
    for (version, file) in files {
        let state = match &current {
            Some(cur) if compare(version, cur) == Ordering::Less => Some(&Applied::Ok),
            _ if baseline_covers(version) => Some(&Applied::Ok),
            _ => history.applied.get(version),
        };
        let edited = history
            .checksums
            .get(version)
            .is_some_and(|recorded| computed.get(version).is_some_and(|c| c != recorded));
        let Some(finding) = file_finding(tool, history.exists, file, version, state, edited) else {
            continue;
        };
        obs.findings
            .push(finding.with_evidence(json!({"version": version, "tool": tool.name()})));
    }
    for (version, state) in &history.applied {
        if !files.contains_key(version) {
            obs.findings
                .push(without_file(version, state, table, dir_text));
        }
    }
    obs.measure("files", files.len() as f64);
    obs.measure("applied", history.applied.len() as f64);
    obs.summary = Some(format!(
        "{} migration files in {dir_text}, all applied ({}: {table})",
        files.len(),
        tool.name()
    ));
    obs
}

/// What is wrong with one migration file, by the state the history gives its version.
fn file_finding(
    tool: Tool,
    history_exists: bool,
    file: &str,
    version: &str,
    state: Option<&Applied>,
    edited: bool,
) -> Option<Finding> {
    let table = tool.history_table();
    Some(match state {
        Some(Applied::Ok) if edited => Finding::fail(
            file,
            format!(
                "migration {file} was changed after it was applied: its checksum differs from the one {} recorded in {table}",
                tool.name()
            ),
        ),
        Some(Applied::Ok) => return None,
        None if history_exists => Finding::fail(
            file,
            format!("migration {file} is not applied (version {version} is not in {table})"),
        ),
        None => Finding::fail(
            file,
            format!("migration {file} is not applied: {table} does not exist"),
        ),
        Some(Applied::Dirty) => Finding::fail(
            file,
            format!(
                "migration {file} is dirty: it failed part-way and the database is in an unknown state"
            ),
        ),
        Some(Applied::Failed(reason)) => {
            failed(file, &format!("migration {file} failed"), reason, "")
        }
    })
}

/// An applied version that no file in the folder has.
fn without_file(version: &str, state: &Applied, table: &str, dir_text: &str) -> Finding {
    let subject = format!("version {version}");
    match state {
        Applied::Ok => Finding::warn(
            &subject,
            format!("version {version} is applied (in {table}) but no file in {dir_text} has it"),
        ),
        Applied::Dirty => Finding::fail(
            &subject,
            format!("version {version} is dirty in {table} and no file in {dir_text} has it"),
        ),
        Applied::Failed(reason) => failed(
            &subject,
            &format!("version {version} failed"),
            reason,
            &format!(", and no file in {dir_text} has it"),
        ),
    }
}

/// How much of the reason a migration failed (Prisma's logs can run to pages) a finding shows.
const REASON_BYTES: usize = 300;

/// "`before` (`reason`)`after`", the reason shown cut to `REASON_BYTES` once its secrets are
/// masked; "`before``after`" when the history gives no reason.
fn failed(subject: &str, before: &str, reason: &str, after: &str) -> Finding {
    if reason.is_empty() {
        return Finding::fail(subject, format!("{before}{after}"));
    }
    Finding::fail(subject, String::new()).quoting(
        &format!("{before} ("),
        reason,
        &format!("){after}"),
        REASON_BYTES,
    )
}

/// version → file name, for the migration files of the folder.
fn read_files(tool: Tool, dir: &Path, shown: &str) -> Result<BTreeMap<String, String>, CheckError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| CheckError::new(format!("cannot read the migration folder {shown}: {e}")))?;
    let mut files = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(|e| CheckError::new(format!("cannot read {shown}: {e}")))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if tool == Tool::Prisma && is_dir && !entry.path().join("migration.sql").is_file() {
            continue;
        }
        if let Some(version) = tool.version_of(&name, is_dir) {
            files.insert(version, name);
        }
    }
    if files.is_empty() {
        return Err(CheckError::new(format!(
            "no {} migration files in {shown}",
            tool.name()
        )));
    }
    Ok(files)
}

/// The query that reads a tool's history as (version, state, detail); `None` for `auto`.
fn history_sql(tool: Tool) -> Option<&'static str> {
    let sql = match tool {
        Tool::Supabase => {
            "SELECT version::text AS version, 'ok' AS state, '' AS detail, NULL::text AS checksum
             FROM supabase_migrations.schema_migrations"
        }
        Tool::GolangMigrate => {
            "SELECT version::text AS version, CASE WHEN dirty THEN 'dirty' ELSE 'ok' END AS state, '' AS detail,
                    NULL::text AS checksum
             FROM schema_migrations"
        }
        Tool::Dbmate => {
            "SELECT version::text AS version, 'ok' AS state, '' AS detail, NULL::text AS checksum
             FROM schema_migrations"
        }
        Tool::Sqlx => {
            "SELECT version::text AS version, CASE WHEN success THEN 'ok' ELSE 'failed' END AS state,
                    coalesce(description, '') AS detail, encode(checksum, 'hex') AS checksum
             FROM _sqlx_migrations"
        }
        Tool::Flyway => {
            "SELECT version AS version,
                    CASE WHEN success THEN CASE WHEN type = 'BASELINE' THEN 'baseline' ELSE 'ok' END ELSE 'failed' END AS state,
                    coalesce(script, '') AS detail, checksum::text AS checksum
             FROM flyway_schema_history WHERE version IS NOT NULL ORDER BY installed_rank"
        }
        // Logs past 20,000 characters lose the line the cut falls in: a secret across the cut
        // would leave its start there, unmaskable.
        Tool::Prisma => {
            "SELECT migration_name AS version,
                    CASE WHEN rolled_back_at IS NOT NULL THEN 'rolled_back'
                         WHEN finished_at IS NULL THEN 'failed' ELSE 'ok' END AS state,
                    CASE WHEN length(logs) > 20000 THEN regexp_replace(left(logs, 20000), '[^\n]*$', '')
                         ELSE coalesce(logs, '') END AS detail,
                    NULL::text AS checksum
             FROM _prisma_migrations ORDER BY started_at"
        }
        Tool::Auto => return None,
    };
    Some(sql)
}

/// The applied versions, and Flyway's baseline (every version up to it counts as applied).
async fn read_history(tool: Tool, conn: &mut PgConnection) -> Result<History, CheckError> {
    let mut history = History {
        exists: true,
        applied: BTreeMap::new(),
        baseline: None,
        checksums: BTreeMap::new(),
    };
    let Some(sql) = history_sql(tool) else {
        return Ok(history);
    };
    let rows = sqlx::query(sql).fetch_all(&mut *conn).await.map_err(|e| {
        CheckError::new(format!(
            "cannot read {}: {}",
            tool.history_table(),
            super::describe(&e)
        ))
    })?;
    for row in &rows {
        let version: String = get(row, "version")?;
        let state: String = get(row, "state")?;
        let detail: String = get(row, "detail")?;
        let checksum: Option<String> = get(row, "checksum")?;
        let version = if tool == Tool::Prisma {
            version
        } else {
            normalise(&version)
        };
        let applied = match state.as_str() {
            "ok" => Applied::Ok,
            "dirty" => Applied::Dirty,
            "baseline" => {
                history.baseline = Some(version);
                continue;
            }
            // A rolled-back Prisma attempt is no verdict; a later attempt may have succeeded.
            "rolled_back" => continue,
            _ if tool == Tool::Prisma => Applied::Failed(prisma_failure(&detail)),
            _ => Applied::Failed(detail),
        };
        // Later rows win: a retried migration that succeeded is applied, with its checksum.
        match checksum {
            Some(checksum) => history.checksums.insert(version.clone(), checksum),
            None => history.checksums.remove(&version),
        };
        history.applied.insert(version, applied);
    }
    Ok(history)
}

/// The database error in Prisma's `logs` (after "Database error code:" and "Database error:"),
/// not the advice around it; the first line of the logs when they hold none. Whole: the
/// finding cuts it once its secrets are masked.
fn prisma_failure(logs: &str) -> String {
    let code = logs
        .lines()
        .find_map(|l| l.trim().strip_prefix("Database error code:"))
        .map(str::trim);
    let error: Vec<&str> = logs
        .lines()
        .skip_while(|l| l.trim() != "Database error:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    match (code, error.is_empty()) {
        (Some(code), false) => format!("database error {code}: {}", error.join(" ")),
        (None, false) => format!("database error: {}", error.join(" ")),
        _ => logs
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or_default()
            .to_string(),
    }
}

#[cfg(test)]
mod tests;
