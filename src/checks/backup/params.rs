//! The `backup` parameters: one source, checked together after serde reads the raw form.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::size::SizeParam;
use crate::checks::local::coverage::GlobParam;
use crate::checks::params::DurationParam;

const DEFAULT_MAX_AGE: Duration = Duration::from_secs(26 * 3600);

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

/// The forms `wal_archiving` takes, read once by serde and described by schemars from the same
/// type.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(
    untagged,
    expecting = "expected true, false, a target name, or a mapping of options"
)]
enum WalArchivingForm {
    On(bool),
    Target(String),
    Options(WalArchiving),
}

/// `wal_archiving: TARGET`, `wal_archiving: true` (the check's `target:`), or
/// `wal_archiving: { target, max_backlog }`.
fn wal_archiving<'de, D: Deserializer<'de>>(d: D) -> Result<Option<WalArchiving>, D::Error> {
    let on = |target: Option<String>| WalArchiving {
        target,
        max_backlog: default_backlog(),
    };
    match Option::<WalArchivingForm>::deserialize(d)? {
        None | Some(WalArchivingForm::On(false)) => Ok(None),
        Some(WalArchivingForm::On(true)) => Ok(Some(on(None))),
        Some(WalArchivingForm::Target(name)) => Ok(Some(on(Some(name)))),
        Some(WalArchivingForm::Options(w)) => Ok(Some(w)),
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

/// The schema of the parameters as written (the raw form, before they are checked together).
impl schemars::JsonSchema for BackupParams {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "BackupParams".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <RawBackupParams as schemars::JsonSchema>::json_schema(generator)
    }
}
