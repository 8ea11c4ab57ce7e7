//! `backup`: backups exist, are recent, large enough, retained and restorable. One source per
//! check: backup files in a folder, WAL archiving of a PostgreSQL target, a pgBackRest or a
//! WAL-G report. Each source gathers its facts in its own module and judges them in plain
//! functions there.

mod files;
mod params;
mod pgbackrest;
mod report;
mod restore;
mod retention;
mod size;
mod wal_archiving;
mod walg;

use chrono::Utc;

use crate::checks::outcome::{CheckError, CheckOutcome};
use crate::checks::{Ctx, KindSpec};
use crate::target::TargetFamily;
pub use params::{
    BackupParams, FilesSource, PgBackRest, ReportOrigin, Retention, Source, Verify, WalArchiving,
    WalG,
};
pub use size::{SizeParam, parse_size};

impl KindSpec for BackupParams {
    fn family(&self) -> Option<TargetFamily> {
        // Only the `wal_archiving` source reads a server; the others are local artefacts.
        matches!(self.source, Source::WalArchiving(_)).then_some(TargetFamily::Postgres)
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
        (Source::Files(files), _) => files::run(files, params.max_age, ctx.base_dir).await,
        (Source::WalArchiving(w), Ok(db)) => {
            wal_archiving::run(w, params.max_age, db, ctx.timeout).await
        }
        (Source::WalArchiving(_), Err(_)) => Err(CheckError::new(
            "`wal_archiving` reads a PostgreSQL server: give the check a `target` naming a postgres target",
        )),
        (Source::PgBackRest(p), _) => {
            let report = report::read(&p.origin, ctx.base_dir).await?;
            pgbackrest::judge(p, params.max_age, &report, Utc::now())
        }
        (Source::WalG(w), _) => {
            let report = report::read(&w.origin, ctx.base_dir).await?;
            walg::judge(w, params.max_age, &report, Utc::now())
        }
    }
}
