//! `backup`: backups exist, are recent, large enough, retained and restorable. One source per
//! check: backup files in a folder, WAL archiving of a PostgreSQL target, a pgBackRest or a
//! WAL-G report.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Deserializer, de};
use serde_json::{Value as Json, json};

use crate::checks::local::coverage::GlobParam;
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::params::{DurationParam, truncate};
use crate::checks::postgres::{PgHandle, describe};
use crate::checks::{Ctx, KindSpec};
use crate::model::TargetFamily;
use crate::vocab::{human, human_size};

const DEFAULT_MAX_AGE: Duration = Duration::from_secs(26 * 3600);
/// How much of a tool's stderr goes into evidence.
const STDERR_EVIDENCE_BYTES: usize = 2048;

#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawBackupParams")]
pub struct BackupParams {
    pub max_age: Duration,
    pub source: Source,
}

#[derive(Debug, Clone)]
pub enum Source {
    Files(FilesSource),
    WalArchiving(WalArchiving),
    PgBackRest(PgBackRest),
    WalG(WalG),
}

#[derive(Debug, Clone)]
pub struct FilesSource {
    pub dir: String,
    pub pattern: GlobParam,
    pub min_size: u64,
    pub shrink_ratio: f64,
    pub retention: Option<Retention>,
    pub verify: Option<Verify>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    #[serde(default)]
    pub daily: u32,
    #[serde(default)]
    pub weekly: u32,
    #[serde(default)]
    pub monthly: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verify {
    PgRestore,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WalArchiving {
    #[serde(default)]
    /// The postgres target to read; `None`: the check's own `target:`.
    pub target: Option<String>,
    /// Segments waiting to be archived (`.ready` files) above this are a failure.
    #[serde(default = "default_backlog")]
    pub max_backlog: u64,
}

fn default_backlog() -> u64 {
    16
}

/// The forms `wal_archiving` takes, for the configuration schema.
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)] // read by schemars only
enum WalArchivingForm {
    On(bool),
    Target(String),
    Options(WalArchiving),
}

/// `wal_archiving: TARGET`, `wal_archiving: true` (the check's `target:`), or
/// `wal_archiving: { target, max_backlog }`.
fn wal_archiving<'de, D: Deserializer<'de>>(d: D) -> Result<Option<WalArchiving>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        On(bool),
        Target(String),
        Options(WalArchiving),
    }
    let on = |target: Option<String>| WalArchiving {
        target,
        max_backlog: default_backlog(),
    };
    match Option::<Form>::deserialize(d)? {
        None | Some(Form::On(false)) => Ok(None),
        Some(Form::On(true)) => Ok(Some(on(None))),
        Some(Form::Target(name)) => Ok(Some(on(Some(name)))),
        Some(Form::Options(w)) => Ok(Some(w)),
    }
}

/// Where a tool's JSON report comes from: run the tool (argv, no shell) or read an export.
#[derive(Debug, Clone)]
pub enum ReportOrigin {
    Command(Vec<String>),
    JsonFile(String),
}

#[derive(Debug, Clone)]
pub struct PgBackRest {
    pub stanza: Option<String>,
    pub origin: ReportOrigin,
    pub min_full: u64,
}

#[derive(Debug, Clone)]
pub struct WalG {
    pub origin: ReportOrigin,
    pub min_full: u64,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawTool {
    stanza: Option<String>,
    command: Option<Vec<String>>,
    json_file: Option<String>,
    #[serde(default = "one")]
    min_full: u64,
}

fn one() -> u64 {
    1
}

impl RawTool {
    fn origin(self, tool: &str) -> Result<(Option<String>, ReportOrigin, u64), String> {
        let origin = match (self.command, self.json_file) {
            (Some(argv), None) if !argv.is_empty() => ReportOrigin::Command(argv),
            (None, Some(path)) => ReportOrigin::JsonFile(path),
            _ => {
                return Err(format!(
                    "`{tool}` needs exactly one of `command` (argv list) or `json_file`"
                ));
            }
        };
        Ok((self.stanza, origin, self.min_full))
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawBackupParams {
    dir: Option<String>,
    pattern: Option<GlobParam>,
    max_age: Option<DurationParam>,
    min_size: Option<SizeParam>,
    shrink_ratio: Option<f64>,
    retention: Option<Retention>,
    verify: Option<Verify>,
    #[serde(default, deserialize_with = "wal_archiving")]
    #[schemars(with = "Option<WalArchivingForm>")]
    wal_archiving: Option<WalArchiving>,
    pgbackrest: Option<RawTool>,
    wal_g: Option<RawTool>,
}

impl TryFrom<RawBackupParams> for BackupParams {
    type Error = String;
    fn try_from(raw: RawBackupParams) -> Result<Self, String> {
        let sources = [
            raw.dir.is_some(),
            raw.wal_archiving.is_some(),
            raw.pgbackrest.is_some(),
            raw.wal_g.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() != 1 {
            return Err(
                "give exactly one source: `dir` (backup files), `wal_archiving`, `pgbackrest` or `wal_g`"
                    .into(),
            );
        }
        let file_only = [
            ("pattern", raw.pattern.is_some()),
            ("min_size", raw.min_size.is_some()),
            ("shrink_ratio", raw.shrink_ratio.is_some()),
            ("retention", raw.retention.is_some()),
            ("verify", raw.verify.is_some()),
        ];
        if raw.dir.is_none()
            && let Some((name, _)) = file_only.iter().find(|(_, given)| *given)
        {
            return Err(format!("`{name}` applies to backup files: it needs `dir`"));
        }
        let max_age = raw.max_age.map_or(DEFAULT_MAX_AGE, |d| d.0);
        let source = if let Some(dir) = raw.dir {
            let shrink_ratio = raw.shrink_ratio.unwrap_or(0.5);
            if !(0.0..=1.0).contains(&shrink_ratio) {
                return Err(format!(
                    "`shrink_ratio` is a fraction from 0 to 1, not {shrink_ratio}"
                ));
            }
            Source::Files(FilesSource {
                dir,
                pattern: match raw.pattern {
                    Some(p) => p,
                    None => GlobParam(glob::Pattern::new("*").map_err(|e| e.to_string())?),
                },
                min_size: raw.min_size.map_or(1, |s| s.0),
                shrink_ratio,
                retention: raw.retention,
                verify: raw.verify,
            })
        } else if let Some(w) = raw.wal_archiving {
            Source::WalArchiving(w)
        } else if let Some(tool) = raw.pgbackrest {
            let (stanza, origin, min_full) = tool.origin("pgbackrest")?;
            Source::PgBackRest(PgBackRest {
                stanza,
                origin,
                min_full,
            })
        } else if let Some(tool) = raw.wal_g {
            if tool.stanza.is_some() {
                return Err("`stanza` is a pgBackRest setting; WAL-G has none".into());
            }
            let (_, origin, min_full) = tool.origin("wal_g")?;
            Source::WalG(WalG { origin, min_full })
        } else {
            return Err("no backup source given".into());
        };
        Ok(BackupParams { max_age, source })
    }
}

/// A size in bytes: a whole number, or with a unit (`500kB`, `10MB`, `1.5GiB`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SizeParam(pub u64);

impl schemars::JsonSchema for SizeParam {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Size".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "bytes, or a size with a unit: 10MB, 1.5GiB",
            "anyOf": [{ "type": "integer", "minimum": 0 }, { "type": "string" }]
        })
    }
}

impl<'de> Deserialize<'de> for SizeParam {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = SizeParam;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a size in bytes, such as 1048576, 500kB, 10MB or 1GiB")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SizeParam, E> {
                Ok(SizeParam(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SizeParam, E> {
                u64::try_from(v)
                    .map(SizeParam)
                    .map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SizeParam, E> {
                parse_size(v).map(SizeParam).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(V)
    }
}

pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("malformed size `{text}` (write e.g. 500kB, 10MB, 1GiB)"))?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "tb" | "t" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "unknown size unit in `{text}` (B, kB, MB, GB, KiB, MiB, GiB)"
            ));
        }
    };
    Ok((number * factor).round() as u64)
}

impl KindSpec for BackupParams {
    fn family(&self) -> Option<TargetFamily> {
        // Only the `wal_archiving` source reads a server; the others are local artefacts.
        matches!(self.source, Source::WalArchiving(_)).then_some(TargetFamily::Postgres)
    }

    fn is_network(&self) -> bool {
        matches!(self.source, Source::WalArchiving(_))
    }

    fn implied_target(&self) -> Option<&str> {
        match &self.source {
            Source::WalArchiving(w) => w.target.as_deref(),
            _ => None,
        }
    }
}

pub async fn run(params: &BackupParams, ctx: &Ctx<'_>) -> CheckOutcome {
    match (&params.source, ctx.postgres()) {
        (Source::Files(files), _) => run_files(files, params.max_age, ctx.base_dir).await,
        (Source::WalArchiving(w), Ok(db)) => {
            run_wal_archiving(w, params.max_age, db, ctx.timeout).await
        }
        (Source::WalArchiving(_), Err(_)) => Err(CheckError::new(
            "`wal_archiving` reads a PostgreSQL server: give the check a `target` naming a postgres target",
        )),
        (Source::PgBackRest(p), _) => {
            let report = read_report(&p.origin, ctx.base_dir).await?;
            pgbackrest(p, params.max_age, &report, Utc::now())
        }
        (Source::WalG(w), _) => {
            let report = read_report(&w.origin, ctx.base_dir).await?;
            wal_g(w, params.max_age, &report, Utc::now())
        }
    }
}

/// One backup in the folder: a file, or a directory-format dump.
#[derive(Debug, Clone)]
struct Backup {
    name: String,
    path: PathBuf,
    time: DateTime<Utc>,
    size: u64,
}

async fn run_files(files: &FilesSource, max_age: Duration, base_dir: &Path) -> CheckOutcome {
    let dir = base_dir.join(&files.dir);
    let shown_dir = files.dir.as_str();
    let backups = tokio::task::spawn_blocking({
        let pattern = files.pattern.0.clone();
        move || list_backups(&dir, &pattern)
    })
    .await
    .map_err(|e| CheckError::new(format!("listing {shown_dir} failed: {e}")))?
    .map_err(|e| CheckError::new(format!("cannot read the backup folder {shown_dir}: {e}")))?;

    let mut obs = Observation::default();
    obs.measure("backups", backups.len() as f64);
    let Some(newest) = backups.last() else {
        obs.findings.push(Finding::fail(
            shown_dir,
            format!(
                "no backup in {shown_dir} matches `{}`",
                files.pattern.0.as_str()
            ),
        ));
        return Ok(obs);
    };
    let now = Utc::now();
    let age = (now - newest.time).to_std().unwrap_or_default();
    obs.measure("newest_age_s", age.as_secs() as f64);
    obs.measure("newest_size_bytes", newest.size as f64);
    let evidence = json!({
        "backup": newest.name, "time": newest.time.to_rfc3339(), "size_bytes": newest.size,
    });
    if age > max_age {
        obs.findings.push(
            Finding::fail(
                format!("{shown_dir}#age"),
                format!(
                    "the newest backup, {}, is {} old, more than max_age {}",
                    newest.name,
                    human(age),
                    human(max_age)
                ),
            )
            .with_evidence(evidence.clone()),
        );
    }
    if newest.size < files.min_size {
        obs.findings.push(
            Finding::fail(
                format!("{shown_dir}#size"),
                format!(
                    "the newest backup, {}, is {}, smaller than min_size {}",
                    newest.name,
                    human_size(newest.size),
                    human_size(files.min_size)
                ),
            )
            .with_evidence(evidence.clone()),
        );
    }
    if let [.., previous, _] = backups.as_slice()
        && (newest.size as f64) < files.shrink_ratio * previous.size as f64
    {
        obs.findings.push(
            Finding::fail(
                format!("{shown_dir}#shrink"),
                format!(
                    "the newest backup, {}, is {}, less than {}% of the one before ({}, {}): truncated?",
                    newest.name,
                    human_size(newest.size),
                    (files.shrink_ratio * 100.0).round(),
                    previous.name,
                    human_size(previous.size)
                ),
            )
            .with_evidence(json!({
                "backup": newest.name, "size_bytes": newest.size,
                "previous": previous.name, "previous_size_bytes": previous.size,
            })),
        );
    }
    if let Some(retention) = files.retention {
        let times: Vec<DateTime<Utc>> = backups.iter().map(|b| b.time).collect();
        for gap in retention_gaps(&retention, &times, now) {
            obs.findings.push(Finding::fail(gap.subject, gap.message));
        }
    }
    if files.verify == Some(Verify::PgRestore) {
        obs.findings
            .extend(verify_dump(newest, &format!("{shown_dir}#verify")).await?);
    }
    obs.summary = Some(format!(
        "{} backup(s) in {shown_dir}; the newest, {}, is {} and {} old",
        backups.len(),
        newest.name,
        human_size(newest.size),
        human(Duration::from_secs(age.as_secs()))
    ));
    Ok(obs)
}

/// The backups in `dir` whose names match, oldest first.
fn list_backups(dir: &Path, pattern: &glob::Pattern) -> std::io::Result<Vec<Backup>> {
    let mut backups = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !pattern.matches(&name) {
            continue;
        }
        let meta = entry.metadata()?;
        let size = if meta.is_dir() {
            std::fs::read_dir(entry.path())?
                .filter_map(|e| e.ok()?.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        } else {
            meta.len()
        };
        let modified: DateTime<Utc> = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH).into();
        backups.push(Backup {
            time: time_from_name(&name, modified).unwrap_or(modified),
            name,
            path: entry.path(),
            size,
        });
    }
    backups.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.name.cmp(&b.name)));
    Ok(backups)
}

static NAME_TIME: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"(20\d\d)-?(0[1-9]|1[0-2])-?(0[1-9]|[12]\d|3[01])(?:[T_. -]?([01]\d|2[0-3])[:h-]?([0-5]\d)(?:[:m-]?([0-5]\d))?)?",
    )
    .expect("valid regex")
});

/// The time a backup's name carries (`db-2026-11-21T0200.dump`, `base_20261121_020000`). A name
/// with a date only takes the file's modification time when that falls on the same day.
fn time_from_name(name: &str, modified: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let caps = NAME_TIME.captures(name)?;
    let num = |i: usize| caps.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let date = NaiveDate::from_ymd_opt(num(1)? as i32, num(2)?, num(3)?)?;
    match num(4) {
        Some(hour) => {
            let time = date.and_hms_opt(hour, num(5)?, num(6).unwrap_or(0))?;
            Some(Utc.from_utc_datetime(&time))
        }
        None if modified.date_naive() == date => Some(modified),
        None => Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?)),
    }
}

pub struct Gap {
    pub subject: String,
    pub message: String,
}

/// Calendar units (UTC days, ISO weeks, months) that hold no backup. The last `daily` days,
/// `weekly` weeks and `monthly` months are counted from the current one, or from the one
/// before when the current one has no backup yet (just after midnight, before the nightly run:
/// freshness is `max_age`'s concern, not the calendar's).
pub fn retention_gaps(
    retention: &Retention,
    times: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> Vec<Gap> {
    let mut gaps = Vec::new();
    let today = now.date_naive();
    let days: BTreeSet<NaiveDate> = times.iter().map(|t| t.date_naive()).collect();
    let monday = |d: NaiveDate| d - Days::new(u64::from(d.weekday().num_days_from_monday()));
    let weeks: BTreeSet<NaiveDate> = days.iter().map(|d| monday(*d)).collect();
    let months: BTreeSet<(i32, u32)> = days.iter().map(|d| (d.year(), d.month())).collect();

    let start = usize::from(!days.contains(&today));
    for i in start..start + retention.daily as usize {
        let day = today - Days::new(i as u64);
        if !days.contains(&day) {
            gaps.push(Gap {
                subject: format!("daily:{day}"),
                message: format!("no backup on {day} (retention: {} daily)", retention.daily),
            });
        }
    }
    let this_week = monday(today);
    let start = usize::from(!weeks.contains(&this_week));
    for i in start..start + retention.weekly as usize {
        let week = this_week - Days::new(7 * i as u64);
        if !weeks.contains(&week) {
            let iso = week.iso_week();
            gaps.push(Gap {
                subject: format!("weekly:{}-W{:02}", iso.year(), iso.week()),
                message: format!(
                    "no backup in the week of {week} ({}-W{:02}) (retention: {} weekly)",
                    iso.year(),
                    iso.week(),
                    retention.weekly
                ),
            });
        }
    }
    let this_month = (today.year(), today.month());
    let start = usize::from(!months.contains(&this_month));
    for i in start..start + retention.monthly as usize {
        let index = this_month.0 * 12 + this_month.1 as i32 - 1 - i as i32;
        let month = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
        if !months.contains(&month) {
            gaps.push(Gap {
                subject: format!("monthly:{}-{:02}", month.0, month.1),
                message: format!(
                    "no backup in {}-{:02} (retention: {} monthly)",
                    month.0, month.1, retention.monthly
                ),
            });
        }
    }
    gaps
}

/// The newest backup is readable end to end: archive formats by `pg_restore` into /dev/null,
/// plain SQL dumps (gzip-compressed or not) by their intact compression and closing line.
async fn verify_dump(backup: &Backup, subject: &str) -> Result<Vec<Finding>, CheckError> {
    let path = backup.path.clone();
    let name = backup.name.clone();
    if path.is_dir() {
        if !path.join("toc.dat").is_file() {
            return Ok(vec![Finding::fail(
                subject,
                format!("{name} is a folder without toc.dat: not a directory-format dump"),
            )]);
        }
        // pg_restore reads an uncompressed table file only as far as it goes: each must end
        // with the COPY terminator.
        let dir = path.clone();
        let cut = tokio::task::spawn_blocking(move || cut_table_files(&dir))
            .await
            .map_err(|e| CheckError::new(format!("verifying the dump failed: {e}")))?
            .map_err(|e| CheckError::new(format!("cannot read {name}: {e}")))?;
        if let Some(file) = cut {
            return Ok(vec![Finding::fail(
                subject,
                format!("{name} is incomplete: {file} does not end with the COPY terminator `\\.`"),
            )]);
        }
        return pg_restore(&path, &name, subject).await;
    }
    let head = {
        let mut buf = vec![0u8; 512];
        let mut file = std::fs::File::open(&path)
            .map_err(|e| CheckError::new(format!("cannot read {name}: {e}")))?;
        let n = read_up_to(&mut file, &mut buf)
            .map_err(|e| CheckError::new(format!("cannot read {name}: {e}")))?;
        buf.truncate(n);
        buf
    };
    if head.get(257..262) == Some(b"ustar") {
        // pg_restore reads a tar archive's members only as far as they go: a cut archive can
        // pass it, so the archive's structure is checked first.
        let tar_path = path.clone();
        let problem = tokio::task::spawn_blocking(move || tar_truncation(&tar_path))
            .await
            .map_err(|e| CheckError::new(format!("verifying the dump failed: {e}")))?
            .map_err(|e| CheckError::new(format!("cannot read {name}: {e}")))?;
        if let Some(problem) = problem {
            return Ok(vec![Finding::fail(
                subject,
                format!("{name} is a truncated tar archive: {problem}"),
            )]);
        }
        return pg_restore(&path, &name, subject).await;
    }
    if head.starts_with(b"PGDMP") {
        return pg_restore(&path, &name, subject).await;
    }
    let subject = subject.to_string();
    let verdict = tokio::task::spawn_blocking({
        let (path, name, subject) = (path.clone(), name.clone(), subject.clone());
        move || verify_plain(&path, &name, &subject, &head)
    })
    .await
    .map_err(|e| CheckError::new(format!("verifying the dump failed: {e}")))??;
    match verdict {
        PlainVerdict::Complete => Ok(Vec::new()),
        PlainVerdict::Broken(finding) => Ok(vec![finding]),
        PlainVerdict::GzippedArchive => pg_restore_gzipped(&path, &name, &subject).await,
    }
}

/// The first uncompressed table data file (`NNNN.dat`) of a directory-format dump that lacks its
/// closing `\.` line. Compressed files (`.dat.gz`, …) are left to pg_restore, which detects a cut
/// compressed stream; large objects (`blob_*.dat`) have no terminator.
fn cut_table_files(dir: &Path) -> std::io::Result<Option<String>> {
    use std::io::{Seek, SeekFrom};
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".dat") && n != "toc.dat" && !n.starts_with("blob_"))
        .collect();
    names.sort();
    for file_name in names {
        let mut file = std::fs::File::open(dir.join(&file_name))?;
        let len = file.metadata()?.len();
        // `pg_dump --inserts` writes statements, which have no terminator.
        let mut start = [0u8; 11];
        let read = read_up_to(&mut file, &mut start)?;
        if start[..read].starts_with(b"INSERT INTO") {
            continue;
        }
        file.seek(SeekFrom::Start(len.saturating_sub(16)))?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail)?;
        let text = String::from_utf8_lossy(&tail);
        if !text.trim_end_matches('\n').ends_with("\\.") {
            return Ok(Some(file_name));
        }
    }
    Ok(None)
}

/// Walks a tar archive's headers: every member's data must be present and the archive must end
/// with its end-of-archive block. Returns what is missing.
fn tar_truncation(path: &Path) -> std::io::Result<Option<String>> {
    use std::io::{Seek, SeekFrom};
    const BLOCK: u64 = 512;
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let mut pos = 0u64;
    let mut header = [0u8; BLOCK as usize];
    loop {
        if pos + BLOCK > len {
            return Ok(Some(format!(
                "it ends at byte {len} without the end-of-archive block"
            )));
        }
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(&mut header)?;
        if header.iter().all(|b| *b == 0) {
            return Ok((len % BLOCK != 0).then(|| {
                format!("its length, {len} bytes, is not a whole number of 512-byte blocks")
            }));
        }
        let name = String::from_utf8_lossy(&header[..100])
            .trim_end_matches('\0')
            .to_string();
        let size_field = String::from_utf8_lossy(&header[124..136]);
        let size = u64::from_str_radix(size_field.trim_matches(|c: char| c == '\0' || c == ' '), 8)
            .map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("member {name} has a malformed size field"),
                )
            })?;
        let data_end = pos + BLOCK + size;
        if data_end > len {
            return Ok(Some(format!(
                "member {name} holds {size} bytes but only {} are present",
                len.saturating_sub(pos + BLOCK)
            )));
        }
        pos += BLOCK + size.div_ceil(BLOCK) * BLOCK;
    }
}

fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// The closing comment pg_dump (and pg_dumpall) writes last: a dump without it was cut short.
const DUMP_COMPLETE: [&str; 2] = [
    "-- PostgreSQL database dump complete",
    "-- PostgreSQL database cluster dump complete",
];
/// The closing comment is within this many bytes of the end (newer pg_dump adds `\unrestrict`).
const TAIL_BYTES: usize = 4096;

/// What reading a file that is not an uncompressed pg_dump archive showed.
enum PlainVerdict {
    Complete,
    Broken(Finding),
    /// A gzip-compressed custom-format archive (`pg_dump -Fc | gzip`): pg_restore reads it.
    GzippedArchive,
}

fn verify_plain(
    path: &Path,
    name: &str,
    subject: &str,
    head: &[u8],
) -> Result<PlainVerdict, CheckError> {
    let file = std::fs::File::open(path)
        .map_err(|e| CheckError::new(format!("cannot read {name}: {e}")))?;
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) || head.starts_with(b"\x04\x22\x4d\x18") {
        return Err(CheckError::new(format!(
            "{name} is zstd or lz4 compressed: only gzip-compressed plain dumps can be verified"
        )));
    }
    let mut reader: Box<dyn Read> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
            file,
        )))
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    let mut first = Vec::new();
    let mut tail: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                return Ok(PlainVerdict::Broken(
                    Finding::fail(
                        subject,
                        format!("{name}: the gzip stream is damaged or cut short: {e}"),
                    )
                    .with_evidence(json!({ "backup": name, "error": e.to_string() })),
                ));
            }
        };
        if first.len() < 512 {
            first.extend_from_slice(&buf[..n.min(512 - first.len())]);
        }
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > 2 * TAIL_BYTES {
            tail.drain(..tail.len() - TAIL_BYTES);
        }
    }
    if first.starts_with(b"PGDMP") {
        return Ok(PlainVerdict::GzippedArchive);
    }
    let text = String::from_utf8_lossy(&first);
    if !text.contains("PostgreSQL database dump")
        && !text.contains("PostgreSQL database cluster dump")
    {
        return Ok(PlainVerdict::Broken(Finding::fail(
            subject,
            format!("{name} is not a pg_dump archive nor a plain SQL dump written by pg_dump"),
        )));
    }
    let start = tail.len().saturating_sub(TAIL_BYTES);
    let end = String::from_utf8_lossy(&tail[start..]);
    if !DUMP_COMPLETE.iter().any(|line| end.contains(line)) {
        return Ok(PlainVerdict::Broken(Finding::fail(
            subject,
            format!(
                "{name} is incomplete: the closing \"-- PostgreSQL database dump complete\" line is missing"
            ),
        )));
    }
    Ok(PlainVerdict::Complete)
}

fn restore_command(name: &str) -> Result<tokio::process::Command, CheckError> {
    let program = tool_path("pg_restore");
    if !program.is_file() {
        return Err(CheckError::new(format!(
            "cannot verify {name}: pg_restore is not installed (install the PostgreSQL client tools)"
        )));
    }
    let mut command = tokio::process::Command::new(program);
    command
        .arg("--file=/dev/null")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    Ok(command)
}

async fn pg_restore(path: &Path, name: &str, subject: &str) -> Result<Vec<Finding>, CheckError> {
    let output = restore_command(name)?
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| CheckError::new(format!("cannot run pg_restore to verify {name}: {e}")))?;
    Ok(restore_findings(&output, name, subject))
}

/// Streams a gzip-compressed custom-format archive into pg_restore's standard input.
async fn pg_restore_gzipped(
    path: &Path,
    name: &str,
    subject: &str,
) -> Result<Vec<Finding>, CheckError> {
    use tokio::io::AsyncWriteExt;
    let mut child = restore_command(name)?
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| CheckError::new(format!("cannot run pg_restore to verify {name}: {e}")))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| CheckError::new("pg_restore's input is not a pipe"))?;
    let (chunks, mut received) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let file = path.to_path_buf();
    let decompress = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let mut decoder =
            flate2::read::MultiGzDecoder::new(std::io::BufReader::new(std::fs::File::open(file)?));
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = decoder.read(&mut buf)?;
            if n == 0 || chunks.blocking_send(buf[..n].to_vec()).is_err() {
                return Ok(());
            }
        }
    });
    while let Some(chunk) = received.recv().await {
        // pg_restore stopping early closes the pipe; its exit status says why.
        if stdin.write_all(&chunk).await.is_err() {
            break;
        }
    }
    drop(received);
    drop(stdin);
    let output = child
        .wait_with_output()
        .await
        .map_err(|e| CheckError::new(format!("pg_restore failed to run on {name}: {e}")))?;
    // The stream was read whole once already; an error here is a change under our feet.
    decompress
        .await
        .map_err(|e| CheckError::new(format!("verifying the dump failed: {e}")))?
        .map_err(|e| CheckError::new(format!("cannot read {name}: {e}")))?;
    Ok(restore_findings(&output, name, subject))
}

fn restore_findings(output: &std::process::Output, name: &str, subject: &str) -> Vec<Finding> {
    if output.status.success() {
        return Vec::new();
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let first = stderr
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .trim_start_matches("pg_restore: ")
        .to_string();
    vec![
        Finding::fail(
            subject,
            format!("pg_restore cannot read {name} end to end: {first}"),
        )
        .with_evidence(json!({
            "backup": name,
            "exit_code": output.status.code(),
            "stderr": truncate(&stderr, STDERR_EVIDENCE_BYTES),
        })),
    ]
}

/// A PostgreSQL client tool from PATH, else the newest under /usr/lib/postgresql.
fn tool_path(name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join(name).is_file() {
                return dir.join(name);
            }
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| Some(e.ok()?.path().join("bin").join(name)))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().unwrap_or_else(|| PathBuf::from(name))
}

async fn read_report(origin: &ReportOrigin, base_dir: &Path) -> Result<Json, CheckError> {
    let (text, shown) = match origin {
        ReportOrigin::JsonFile(path) => (
            tokio::fs::read_to_string(base_dir.join(path))
                .await
                .map_err(|e| CheckError::new(format!("cannot read {path}: {e}")))?,
            path.clone(),
        ),
        ReportOrigin::Command(argv) => {
            let program = &argv[0];
            let output = tokio::process::Command::new(program)
                .args(&argv[1..])
                .current_dir(base_dir)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .output()
                .await
                .map_err(|e| CheckError::new(format!("cannot run `{program}`: {e}")))?;
            if !output.status.success() {
                let stderr = String::from_utf8_lossy(&output.stderr);
                return Err(CheckError::new(format!(
                    "`{}` exited with {}: {}",
                    argv.join(" "),
                    output
                        .status
                        .code()
                        .map_or("a signal".into(), |c| c.to_string()),
                    truncate(stderr.trim(), 300)
                )));
            }
            (
                String::from_utf8_lossy(&output.stdout).into_owned(),
                format!("the output of `{}`", argv.join(" ")),
            )
        }
    };
    serde_json::from_str(&text)
        .map_err(|e| CheckError::new(format!("{shown} is not valid JSON: {e}")))
}

fn age_of(time: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (now - time).to_std().unwrap_or_default()
}

/// `pgbackrest info --output=json`: a list of stanzas, each with `status {code, message}` and
/// `backup[]` entries carrying `label`, `type` (full/diff/incr), `error` and `timestamp {start,
/// stop}` in Unix seconds.
pub fn pgbackrest(
    p: &PgBackRest,
    max_age: Duration,
    report: &Json,
    now: DateTime<Utc>,
) -> CheckOutcome {
    let stanzas = report
        .as_array()
        .ok_or_else(|| CheckError::new("the pgBackRest report is not a list of stanzas"))?;
    let name_of = |s: &Json| s["name"].as_str().unwrap_or_default().to_string();
    let stanza = match &p.stanza {
        Some(wanted) => stanzas.iter().find(|s| s["name"] == wanted.as_str()),
        None if stanzas.len() == 1 => stanzas.first(),
        None => {
            let names: Vec<String> = stanzas.iter().map(name_of).collect();
            return Err(CheckError::new(format!(
                "the report holds {} stanzas ({}); name one with `stanza`",
                names.len(),
                names.join(", ")
            )));
        }
    };
    let mut obs = Observation::default();
    let Some(stanza) = stanza else {
        let wanted = p.stanza.clone().unwrap_or_default();
        obs.findings.push(Finding::fail(
            format!("stanza:{wanted}"),
            format!("stanza `{wanted}` is not in the pgBackRest report"),
        ));
        return Ok(obs);
    };
    let name = name_of(stanza);
    let subject = format!("stanza:{name}");
    let code = stanza["status"]["code"].as_i64().ok_or_else(|| {
        CheckError::new(format!("stanza `{name}` has no status code in the report"))
    })?;
    if code != 0 {
        obs.findings.push(
            Finding::fail(
                &subject,
                format!(
                    "stanza `{name}` status is \"{}\" (code {code})",
                    stanza["status"]["message"].as_str().unwrap_or("unknown")
                ),
            )
            .with_evidence(stanza["status"].clone()),
        );
    }
    let backups = stanza["backup"].as_array().cloned().unwrap_or_default();
    obs.measure("backups", backups.len() as f64);
    let full = backups.iter().filter(|b| b["type"] == "full").count() as u64;
    obs.measure("full_backups", full as f64);
    for b in backups.iter().filter(|b| b["error"] == true) {
        let label = b["label"].as_str().unwrap_or("?");
        obs.findings.push(Finding::fail(
            format!("{subject}/{label}"),
            format!("backup {label} of stanza `{name}` is flagged with errors (page checksum or copy errors)"),
        ));
    }
    let newest = backups
        .iter()
        .filter_map(|b| Some((b["timestamp"]["stop"].as_i64()?, b)))
        .max_by_key(|(stop, _)| *stop);
    match newest {
        None => obs.findings.push(Finding::fail(
            &subject,
            format!("stanza `{name}` has no backup"),
        )),
        Some((stop, b)) => {
            let stopped = Utc
                .timestamp_opt(stop, 0)
                .single()
                .ok_or_else(|| CheckError::new(format!("invalid stop time {stop}")))?;
            let age = age_of(stopped, now);
            obs.measure("newest_age_s", age.as_secs() as f64);
            let label = b["label"].as_str().unwrap_or("?");
            if age > max_age {
                obs.findings.push(Finding::fail(
                    &subject,
                    format!(
                        "the newest backup of stanza `{name}`, {label}, finished {} ago, more than max_age {}",
                        human(age),
                        human(max_age)
                    ),
                ));
            }
        }
    }
    if full < p.min_full {
        obs.findings.push(Finding::fail(
            &subject,
            format!(
                "stanza `{name}` has {full} full backup(s), fewer than min_full {}",
                p.min_full
            ),
        ));
    }
    obs.summary = Some(format!(
        "stanza `{name}`: {} backup(s), {full} full",
        backups.len()
    ));
    Ok(obs)
}

/// `wal-g backup-list --detail --json`: a list of backups with `backup_name` and `finish_time`
/// (RFC 3339); delta backups carry `_D_` in their names.
pub fn wal_g(w: &WalG, max_age: Duration, report: &Json, now: DateTime<Utc>) -> CheckOutcome {
    let backups = report
        .as_array()
        .ok_or_else(|| CheckError::new("the WAL-G report is not a list of backups"))?;
    let mut obs = Observation::default();
    obs.measure("backups", backups.len() as f64);
    let mut newest: Option<(DateTime<Utc>, &str)> = None;
    let mut full = 0u64;
    for b in backups {
        let name = b["backup_name"]
            .as_str()
            .ok_or_else(|| CheckError::new("a WAL-G backup without `backup_name`"))?;
        // Without --detail the list has only `time`, when the backup's sentinel was stored.
        let finish = b["finish_time"]
            .as_str()
            .or_else(|| b["time"].as_str())
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .ok_or_else(|| {
                CheckError::new(format!(
                    "backup {name} has neither an RFC 3339 `finish_time` nor `time`"
                ))
            })?
            .with_timezone(&Utc);
        if !name.contains("_D_") {
            full += 1;
        }
        if newest.is_none_or(|(t, _)| finish > t) {
            newest = Some((finish, name));
        }
    }
    obs.measure("full_backups", full as f64);
    match newest {
        None => obs
            .findings
            .push(Finding::fail("wal-g", "WAL-G lists no backup")),
        Some((finish, name)) => {
            let age = age_of(finish, now);
            obs.measure("newest_age_s", age.as_secs() as f64);
            if age > max_age {
                obs.findings.push(Finding::fail(
                    "wal-g",
                    format!(
                        "the newest WAL-G backup, {name}, finished {} ago, more than max_age {}",
                        human(age),
                        human(max_age)
                    ),
                ));
            }
        }
    }
    if full < w.min_full {
        obs.findings.push(Finding::fail(
            "wal-g",
            format!(
                "WAL-G lists {full} full backup(s), fewer than min_full {}",
                w.min_full
            ),
        ));
    }
    obs.summary = Some(format!("WAL-G: {} backup(s), {full} full", backups.len()));
    Ok(obs)
}

/// WAL archiving, from `pg_stat_archiver` and the settings: on, configured, succeeding
/// recently, not failing since, and not falling behind.
async fn run_wal_archiving(
    w: &WalArchiving,
    max_age: Duration,
    db: &PgHandle,
    timeout: Duration,
) -> CheckOutcome {
    let mut tx = db.read_only(timeout).await?;
    let result = wal_archiving_in(w, max_age, &mut tx).await;
    db.finish(tx).await;
    result
}

type Tx = sqlx::Transaction<'static, sqlx::Postgres>;

async fn wal_archiving_in(w: &WalArchiving, max_age: Duration, tx: &mut Tx) -> CheckOutcome {
    use sqlx::Row;
    let row = sqlx::query(
        "SELECT current_setting('archive_mode') AS archive_mode,
                current_setting('archive_command') AS archive_command,
                coalesce(current_setting('archive_library', true), '') AS archive_library,
                archived_count, last_archived_wal,
                extract(epoch FROM now() - last_archived_time)::float8 AS archived_age_s,
                failed_count, last_failed_wal,
                coalesce(last_failed_time > last_archived_time
                         OR (last_failed_time IS NOT NULL AND last_archived_time IS NULL), false)
                    AS failing
         FROM pg_stat_archiver",
    )
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| {
        CheckError::new(format!(
            "cannot read the archiver's state: {}",
            describe(&e)
        ))
    })?;
    let mode: String = row.get("archive_mode");
    let command: String = row.get("archive_command");
    let library: String = row.get("archive_library");
    let archived: i64 = row.get("archived_count");
    let last_wal: Option<String> = row.get("last_archived_wal");
    let archived_age: Option<f64> = row.get("archived_age_s");
    let failed: i64 = row.get("failed_count");
    let last_failed: Option<String> = row.get("last_failed_wal");
    let failing: bool = row.get("failing");

    let mut obs = Observation::default();
    obs.measure("archived_count", archived as f64);
    obs.measure("failed_count", failed as f64);
    let subject = "wal_archiving";
    let evidence = json!({
        "archive_mode": mode, "archive_library": library, "archived_count": archived,
        "last_archived_wal": last_wal, "failed_count": failed, "last_failed_wal": last_failed,
    });
    let fail = |message: String| Finding::fail(subject, message).with_evidence(evidence.clone());
    if mode == "off" {
        obs.findings.push(fail(
            "archive_mode is off: WAL is not archived, point-in-time recovery is impossible".into(),
        ));
        return Ok(obs);
    }
    if command.trim().is_empty() && library.trim().is_empty() {
        obs.findings.push(fail(format!(
            "archive_mode is {mode} but neither archive_command nor archive_library is set: \
             WAL accumulates and nothing is archived"
        )));
        return Ok(obs);
    }
    if matches!(command.trim(), "/bin/true" | "true" | ":" | "exit 0") {
        obs.findings.push(fail(format!(
            "archive_command `{}` reports success without storing anything",
            command.trim()
        )));
    }
    if failing {
        obs.findings.push(fail(format!(
            "archiving is failing: the last attempt, for {}, failed after the last success ({failed} failure(s) in total)",
            last_failed.as_deref().unwrap_or("an unknown segment")
        )));
    }
    match archived_age {
        None => obs.findings.push(fail(
            "no WAL segment has been archived since the statistics were reset".into(),
        )),
        Some(age_s) => {
            let age = Duration::from_secs_f64(age_s.max(0.0));
            obs.measure("last_archived_age_s", age.as_secs() as f64);
            if age > max_age {
                obs.findings.push(fail(format!(
                    "the last WAL segment archived, {}, was archived {} ago, more than max_age {}",
                    last_wal.as_deref().unwrap_or("?"),
                    human(age),
                    human(max_age)
                )));
            }
        }
    }
    let backlog: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'",
    )
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| {
        CheckError::new(format!(
            "cannot count the WAL segments waiting to be archived: {}; grant the role pg_monitor \
             (or EXECUTE on pg_ls_archive_statusdir())",
            describe(&e)
        ))
    })?;
    obs.measure("backlog_segments", backlog as f64);
    if backlog as u64 > w.max_backlog {
        obs.findings.push(fail(format!(
            "{backlog} WAL segments are waiting to be archived, more than max_backlog {}",
            w.max_backlog
        )));
    }
    obs.summary = Some(format!(
        "WAL archiving on: {archived} segment(s) archived, the last {}; {backlog} waiting",
        last_wal.as_deref().unwrap_or("?")
    ));
    Ok(obs)
}

/// The schema of the parameters as written (the raw form, before they are checked together).
impl schemars::JsonSchema for BackupParams {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "BackupParams".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <RawBackupParams as schemars::JsonSchema>::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn names_carry_times() {
        let m = at("2026-11-21T05:00:00Z");
        assert_eq!(
            time_from_name("db-2026-11-20T0230.dump", m),
            Some(at("2026-11-20T02:30:00Z"))
        );
        assert_eq!(
            time_from_name("base_20261120_023015.sql.gz", m),
            Some(at("2026-11-20T02:30:15Z"))
        );
        assert_eq!(time_from_name("db-2026-11-21.dump", m), Some(m));
        assert_eq!(
            time_from_name("db-2026-11-19.dump", m),
            Some(at("2026-11-19T00:00:00Z"))
        );
        assert_eq!(time_from_name("latest.dump", m), None);
    }

    #[test]
    fn retention_names_each_missing_unit() {
        let now = at("2026-11-21T01:00:00Z"); // a Saturday, before tonight's backup
        let mut times: Vec<DateTime<Utc>> = (1..=70)
            .filter(|d| *d != 3)
            .map(|d| now - chrono::Duration::days(d))
            .collect();
        times.push(at("2026-08-15T02:00:00Z"));
        let r = Retention {
            daily: 7,
            weekly: 4,
            monthly: 5,
        };
        let subjects: Vec<String> = retention_gaps(&r, &times, now)
            .into_iter()
            .map(|g| g.subject)
            .collect();
        assert_eq!(subjects, ["daily:2026-11-18", "monthly:2026-07"]);
    }

    #[test]
    fn wal_g_lists_without_detail_use_the_storage_time() {
        let now = at("2026-11-21T12:00:00Z");
        let list = json!([
            {"backup_name": "base_000000010000000000000002", "time": "2026-11-21T02:00:00Z", "wal_segment_backup_start": "000000010000000000000002"},
            {"backup_name": "base_000000010000000000000009_D_000000010000000000000002", "time": "2026-11-21T10:00:00.123Z", "wal_segment_backup_start": "000000010000000000000009"}
        ]);
        let w = WalG {
            origin: ReportOrigin::JsonFile("x".into()),
            min_full: 1,
        };
        let obs = wal_g(&w, Duration::from_secs(3600), &list, now).unwrap();
        assert_eq!(obs.measurements["newest_age_s"], 7199.0);
        assert_eq!(obs.findings.len(), 1);
        assert!(obs.findings[0].message.starts_with("the newest WAL-G backup, base_000000010000000000000009_D_000000010000000000000002, finished 2h ago"));
        let missing = json!([{"backup_name": "base_1"}]);
        assert!(wal_g(&w, Duration::from_secs(3600), &missing, now).is_err());
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("10MB").unwrap(), 10_000_000);
        assert_eq!(parse_size("1.5 KiB").unwrap(), 1536);
        assert_eq!(parse_size("42").unwrap(), 42);
        assert!(parse_size("10 parsecs").is_err());
    }
}
