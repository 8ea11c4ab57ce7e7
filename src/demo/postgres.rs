//! The demo's throwaway PostgreSQL cluster: found among the local server binaries, started in a
//! temp dir on a free port (under root as the unprivileged `postgres` user, as initdb requires),
//! seeded with the wallet app, dumped for the backups, and stopped and removed at the end.

use std::ffi::OsStr;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use anyhow::{Context as _, bail};
use sqlx::Connection as _;

use super::project::Migration;

/// Where the distributions install the server binaries, one folder per major version.
pub const INSTALL_ROOT: &str = "/usr/lib/postgresql";

/// The one line shown when the server binaries are missing.
pub const MISSING: &str = "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or under \
     /usr/lib/postgresql/*/bin: install them (apt install postgresql, brew install postgresql@17 \
     or dnf install postgresql-server) to run the database checks of the demo";

/// The server user under root: initdb and the server refuse to run as root.
const SERVER_USER: &str = "postgres";

/// The database the wallet app lives in.
pub const DATABASE: &str = "wallet";

#[derive(Debug, Clone, PartialEq)]
pub struct Binaries {
    /// Holds `initdb` and `pg_ctl`.
    pub dir: PathBuf,
    /// `pg_dump` of the same installation when there is one.
    pub pg_dump: Option<PathBuf>,
}

/// The first folder of `PATH`, then of `INSTALL_ROOT/*/bin` (newest major version first), that
/// holds both `initdb` and `pg_ctl`.
pub fn find_binaries(path_var: Option<&OsStr>, install_root: &Path) -> Option<Binaries> {
    let mut dirs: Vec<PathBuf> = path_var
        .map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default();
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(install_root)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let major = e.file_name().to_str()?.split('.').next()?.parse().ok()?;
                    Some((major, e.path().join("bin")))
                })
                .collect()
        })
        .unwrap_or_default();
    versions.sort_by_key(|v| std::cmp::Reverse(v.0));
    dirs.extend(versions.into_iter().map(|(_, dir)| dir));
    let dir = dirs
        .into_iter()
        .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())?;
    // A PATH entry is often a symlink into the installation, which also holds pg_dump.
    let home = dir
        .join("initdb")
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf));
    let pg_dump = [home, Some(dir.clone())]
        .into_iter()
        .flatten()
        .map(|d| d.join("pg_dump"))
        .find(|p| p.is_file());
    Some(Binaries { dir, pg_dump })
}

/// A running cluster. `stop` (or this process ending, however it ends) stops the server and
/// removes its files: a watchdog shell does both when the pipe to it closes.
pub struct Cluster {
    pub port: u16,
    password: String,
    /// Under root the server runs as `SERVER_USER`.
    root: bool,
    watchdog: Child,
    watchdog_pipe: Option<ChildStdin>,
    dir: tempfile::TempDir,
}

/// How to reach the cluster as its superuser, and as the role `ready` checks it with.
#[derive(Clone)]
pub struct Access {
    pub port: u16,
    password: String,
}

/// The least-privilege role of docs/least-privilege.sql: the demo checks as it does in
/// production, never as the superuser.
const READER: &str = "ready_checks";

impl Access {
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        )
    }

    /// The reader's password: another throwaway secret, derived so that it is not the
    /// superuser's.
    fn reader_password(&self) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(format!("{READER}:{}", self.password)))
    }

    pub fn reader_url(&self, database: &str) -> String {
        format!(
            "postgres://{READER}:{}@127.0.0.1:{}/{database}",
            self.reader_password(),
            self.port
        )
    }
}

impl Cluster {
    pub fn access(&self) -> Access {
        Access {
            port: self.port,
            password: self.password.clone(),
        }
    }

    /// Stops the server and removes its files; waits until both are done.
    pub fn stop(mut self) {
        drop(self.watchdog_pipe.take());
        let _ = self.watchdog.wait();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A command run as the server user (itself when not root).
fn as_server_user(program: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid",
            SERVER_USER,
            "--regid",
            SERVER_USER,
            "--init-groups",
            "--",
        ])
        .arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl Cluster {
    /// The cluster's folder, password and port, and its watchdog: nothing runs yet, but from
    /// here on `stop` (or this process ending) removes whatever `start` creates.
    pub fn prepare(bins: &Binaries) -> anyhow::Result<Cluster> {
        let dir = tempfile::Builder::new()
            .prefix("ready-demo-pg-")
            .tempdir()
            .context("cannot create a temp dir for the demo database")?;
        let root = is_root();
        let pg_ctl = bins.dir.join("pg_ctl");
        let (watchdog, pipe) = watchdog(&pg_ctl, &dir.path().join("data"), dir.path(), root)?;
        let mut password = [0u8; 18];
        rand::fill(&mut password[..]);
        Ok(Cluster {
            port: free_port()?,
            password: hex::encode(password),
            root,
            watchdog,
            watchdog_pipe: Some(pipe),
            dir,
        })
    }

    /// initdb, then `pg_ctl start` on the port, listening on 127.0.0.1 only.
    pub fn start(&self, bins: &Binaries) -> anyhow::Result<()> {
        let base = self.dir.path();
        let data = base.join("data");
        let pwfile = base.join("pw");
        std::fs::write(&pwfile, &self.password).context("cannot write the demo password file")?;
        if self.root {
            run(Command::new("chown")
                .arg("-R")
                .arg(format!("{SERVER_USER}:{SERVER_USER}"))
                .arg(base))?;
        }
        run(as_server_user(&bins.dir.join("initdb"), self.root)
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
            ])
            .args(["--no-sync", "-E", "UTF8", "--locale=C"])
            .arg(format!("--pwfile={}", pwfile.display())))?;
        let log = base.join("server.log");
        let started = run(as_server_user(&bins.dir.join("pg_ctl"), self.root)
            .args(["start", "-w", "-t", "30", "-D"])
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .arg("-o")
            .arg(format!(
                "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off \
                 -c synchronous_commit=off -c full_page_writes=off",
                self.port
            )));
        if let Err(e) = started {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            bail!("{e:#}\n{}", tail.trim_end());
        }
        Ok(())
    }
}

/// A shell that waits for its stdin to close, then stops the server (if it runs) and removes
/// the cluster's folder. In a process group of its own, so that a Ctrl-C in the terminal does
/// not end it before it has done so. (`pg_ctl` starts the server in a session of its own.)
fn watchdog(
    pg_ctl: &Path,
    data: &Path,
    dir: &Path,
    root: bool,
) -> anyhow::Result<(Child, ChildStdin)> {
    let stop = as_server_user(pg_ctl, root);
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(r#"read _; "$@" stop -D "$DATA" -m fast -w >/dev/null 2>&1; rm -rf "$DIR""#)
        .arg("sh")
        .arg(stop.get_program())
        .args(stop.get_args())
        .env("DATA", data)
        .env("DIR", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let mut child = command.spawn().context("cannot start sh")?;
    let pipe = child.stdin.take().context("no pipe to the watchdog")?;
    Ok((child, pipe))
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let shown = Path::new(command.get_program())
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let out = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {shown}"))?;
    if !out.status.success() {
        bail!(
            "{shown} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("no free local port")?;
    Ok(listener.local_addr()?.port())
}

/// Creates the wallet database, applies the first `applied` migrations and records them in
/// Supabase's history table, then loads the seed rows.
pub async fn seed(
    cluster: &Access,
    migrations: &[Migration],
    applied: usize,
    rows: &str,
) -> anyhow::Result<()> {
    let mut admin = sqlx::PgConnection::connect(&cluster.url("postgres"))
        .await
        .context("cannot connect to the demo database")?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {DATABASE}")))
        .execute(&mut admin)
        .await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "{} ALTER ROLE {READER} PASSWORD '{}';",
        include_str!("../../docs/least-privilege.sql"),
        cluster.reader_password()
    )))
    .execute(&mut admin)
    .await?;
    admin.close().await?;
    let mut db = sqlx::PgConnection::connect(&cluster.url(DATABASE)).await?;
    sqlx::raw_sql(
        "CREATE SCHEMA supabase_migrations;
         CREATE TABLE supabase_migrations.schema_migrations
           (version text PRIMARY KEY, statements text[], name text);",
    )
    .execute(&mut db)
    .await?;
    for m in &migrations[..applied] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(m.sql))
            .execute(&mut db)
            .await
            .with_context(|| format!("migration {} failed", m.file_name()))?;
        sqlx::query(
            "INSERT INTO supabase_migrations.schema_migrations (version, name) VALUES ($1, $2)",
        )
        .bind(m.version)
        .bind(m.name)
        .execute(&mut db)
        .await?;
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(rows))
        .execute(&mut db)
        .await?;
    db.close().await?;
    Ok(())
}

/// A plain-format `pg_dump` of the wallet database.
pub fn dump(pg_dump: &Path, cluster: &Access) -> anyhow::Result<Vec<u8>> {
    let out = Command::new(pg_dump)
        .args([
            "--host",
            "127.0.0.1",
            "--username",
            "postgres",
            "--no-password",
        ])
        .arg(format!("--port={}", cluster.port))
        .arg(format!("--dbname={DATABASE}"))
        .env("PGPASSWORD", &cluster.password)
        .stdin(Stdio::null())
        .output()
        .context("cannot run pg_dump")?;
    if !out.status.success() {
        bail!(
            "pg_dump failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "").unwrap();
    }

    #[test]
    fn the_newest_installed_version_is_used_when_path_has_none() {
        let root = tempfile::tempdir().unwrap();
        for version in ["9.6", "15", "17"] {
            touch(&root.path().join(version).join("bin/initdb"));
            touch(&root.path().join(version).join("bin/pg_ctl"));
        }
        touch(&root.path().join("17/bin/pg_dump"));
        let found = find_binaries(Some(OsStr::new("/nonexistent")), root.path()).unwrap();
        assert_eq!(found.dir, root.path().join("17/bin"));
        assert_eq!(found.pg_dump, Some(root.path().join("17/bin/pg_dump")));
    }

    #[test]
    fn path_comes_first_and_a_folder_needs_both_initdb_and_pg_ctl() {
        let root = tempfile::tempdir().unwrap();
        let only_initdb = root.path().join("a");
        let both = root.path().join("b");
        touch(&only_initdb.join("initdb"));
        touch(&both.join("initdb"));
        touch(&both.join("pg_ctl"));
        let path = std::env::join_paths([&only_initdb, &both]).unwrap();
        let found = find_binaries(Some(&path), Path::new("/nonexistent")).unwrap();
        assert_eq!(
            found,
            Binaries {
                dir: both,
                pg_dump: None
            }
        );
    }

    #[test]
    fn nothing_found_without_server_binaries() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(find_binaries(None, root.path()), None);
    }
}
