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

use std::time::Duration;

use chrono::Utc;

use crate::checks::outcome::{CheckError, CheckOutcome};
use crate::checks::{Connection, Context};
pub use params::{
    BackupParams, FilesSource, PgBackRest, ReportOrigin, Retention, Source, Verify, WalArchiving,
    WalG,
};
pub use size::{SizeParam, human_size, parse_size};

pub async fn run(
    params: &BackupParams,
    connection: Option<&Connection>,
    context: &Context,
    timeout: Duration,
) -> CheckOutcome {
    match (&params.source, connection) {
        (Source::Files(files), _) => files::run(files, params.max_age, &context.base_dir).await,
        (Source::WalArchiving(w), Some(Connection::Postgres(db))) => {
            wal_archiving::run(w, params.max_age, db, timeout).await
        }
        (Source::WalArchiving(_), _) => Err(CheckError::new(
            "`wal_archiving` reads a PostgreSQL server: give the check a `target` naming a postgres target",
        )),
        (Source::PgBackRest(p), _) => {
            let report = report::read(&p.origin, &context.base_dir).await?;
            pgbackrest::judge(p, params.max_age, &report, Utc::now())
        }
        (Source::WalG(w), _) => {
            let report = report::read(&w.origin, &context.base_dir).await?;
            walg::judge(w, params.max_age, &report, Utc::now())
        }
    }
}
