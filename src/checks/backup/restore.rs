//! Restore verification of the newest backup file: archive formats by `pg_restore` into
//! /dev/null, plain SQL dumps (gzip-compressed or not) by their intact compression and closing
//! line, with the truncations pg_restore misses (cut tar archives, cut table files) found first.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::json;

use super::files::Backup;
use crate::checks::outcome::{CheckError, Cut, Finding};
use crate::checks::params::keep;

/// How much of a tool's stderr goes into evidence.
const STDERR_EVIDENCE_BYTES: usize = 2048;

/// The newest backup is readable end to end: archive formats by `pg_restore` into /dev/null,
/// plain SQL dumps (gzip-compressed or not) by their intact compression and closing line.
pub async fn verify_dump(backup: &Backup, subject: &str) -> Result<Vec<Finding>, CheckError> {
    let path = backup.path.clone();
    let name = backup.name.clone();
    if path.is_dir() {
        return verify_directory(&path, &name, subject).await;
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

/// A directory-format dump: its table of contents exists, its table files are whole, and
/// pg_restore reads it.
async fn verify_directory(
    path: &Path,
    name: &str,
    subject: &str,
) -> Result<Vec<Finding>, CheckError> {
    if is_base_backup(path) {
        return pg_verifybackup(path, name, subject).await;
    }
    if !path.join("toc.dat").is_file() {
        return Ok(vec![Finding::fail(
            subject,
            format!("{name} is a folder without toc.dat: not a directory-format dump"),
        )]);
    }
    // pg_restore reads an uncompressed table file only as far as it goes: each must end
    // with the COPY terminator.
    let dir = path.to_path_buf();
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
    pg_restore(path, name, subject).await
}

/// A physical base backup in plain format (`pg_basebackup -Fp`): a data directory, with the
/// manifest pg_basebackup writes.
fn is_base_backup(path: &Path) -> bool {
    path.join("PG_VERSION").is_file() || path.join("backup_manifest").is_file()
}

/// `pg_verifybackup` checks every file against the backup's manifest and the WAL it needs.
async fn pg_verifybackup(
    path: &Path,
    name: &str,
    subject: &str,
) -> Result<Vec<Finding>, CheckError> {
    let program = tool_path("pg_verifybackup");
    if !program.is_file() {
        return Err(CheckError::new(format!(
            "cannot verify the base backup {name}: pg_verifybackup is not installed (it comes with the PostgreSQL server package, PostgreSQL 13 or later)"
        )));
    }
    let output = tokio::process::Command::new(program)
        .arg("--quiet")
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| CheckError::new(format!("cannot run pg_verifybackup on {name}: {e}")))?;
    if output.status.success() {
        return Ok(Vec::new());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let first = stderr
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .trim_start_matches("pg_verifybackup: ")
        .trim_start_matches("error: ");
    Ok(vec![
        Finding::fail(
            subject,
            format!("pg_verifybackup finds the base backup {name} damaged: {first}"),
        )
        .with_evidence(json!({
            "backup": name,
            "exit_code": output.status.code(),
            "stderr": keep(&stderr),
        }))
        .cut(&[Cut::Evidence("stderr", STDERR_EVIDENCE_BYTES)]),
    ])
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
    match read_ends(reader.as_mut()) {
        Ok((first, tail)) => Ok(judge_plain(&first, &tail, name, subject)),
        Err(e) => Ok(PlainVerdict::Broken(
            Finding::fail(
                subject,
                format!("{name}: the gzip stream is damaged or cut short: {e}"),
            )
            .with_evidence(json!({ "backup": name, "error": e.to_string() })),
        )),
    }
}

/// The first 512 bytes of a stream and (at least) its last `TAIL_BYTES`, reading it whole.
fn read_ends(reader: &mut dyn Read) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut first = Vec::new();
    let mut tail: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok((first, tail));
        }
        if first.len() < 512 {
            first.extend_from_slice(&buf[..n.min(512 - first.len())]);
        }
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > 2 * TAIL_BYTES {
            tail.drain(..tail.len() - TAIL_BYTES);
        }
    }
}

/// Judges a decompressed dump by its beginning and its end: a custom-format archive (for
/// pg_restore), or a plain dump by pg_dump with its closing line.
fn judge_plain(first: &[u8], tail: &[u8], name: &str, subject: &str) -> PlainVerdict {
    if first.starts_with(b"PGDMP") {
        return PlainVerdict::GzippedArchive;
    }
    let text = String::from_utf8_lossy(first);
    if !text.contains("PostgreSQL database dump")
        && !text.contains("PostgreSQL database cluster dump")
    {
        return PlainVerdict::Broken(Finding::fail(
            subject,
            format!("{name} is not a pg_dump archive nor a plain SQL dump written by pg_dump"),
        ));
    }
    let start = tail.len().saturating_sub(TAIL_BYTES);
    let end = String::from_utf8_lossy(&tail[start..]);
    if !DUMP_COMPLETE.iter().any(|line| end.contains(line)) {
        return PlainVerdict::Broken(Finding::fail(
            subject,
            format!(
                "{name} is incomplete: the closing \"-- PostgreSQL database dump complete\" line is missing"
            ),
        ));
    }
    PlainVerdict::Complete
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
            "stderr": keep(&stderr),
        }))
        .cut(&[Cut::Evidence("stderr", STDERR_EVIDENCE_BYTES)]),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(text: &str) -> String {
        let (first, tail) = read_ends(&mut text.as_bytes()).unwrap();
        match judge_plain(&first, &tail, "db.sql", "backups#verify") {
            PlainVerdict::Complete => "complete".into(),
            PlainVerdict::GzippedArchive => "archive".into(),
            PlainVerdict::Broken(finding) => finding.message,
        }
    }

    #[test]
    fn plain_dumps_need_pg_dumps_header_and_closing_line() {
        let body = "x".repeat(3 * TAIL_BYTES);
        let whole = format!(
            "--\n-- PostgreSQL database dump\n--\n{body}\n--\n-- PostgreSQL database dump complete\n--\n"
        );
        assert_eq!(verdict(&whole), "complete");
        let cut = &whole[..whole.len() - 60];
        assert_eq!(
            verdict(cut),
            "db.sql is incomplete: the closing \"-- PostgreSQL database dump complete\" line is missing"
        );
        assert_eq!(
            verdict("hello"),
            "db.sql is not a pg_dump archive nor a plain SQL dump written by pg_dump"
        );
        assert_eq!(verdict("PGDMP\u{1}"), "archive");
    }

    #[test]
    fn tar_archives_must_hold_every_member_and_the_end_block() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.tar");
        let mut header = [0u8; 512];
        header[..7].copy_from_slice(b"toc.dat");
        header[124..135].copy_from_slice(b"00000001750"); // 1000 bytes, octal
        let mut archive = header.to_vec();
        archive.extend(vec![b'x'; 1024]);
        archive.extend([0u8; 1024]);
        std::fs::write(&path, &archive).unwrap();
        assert_eq!(tar_truncation(&path).unwrap(), None);
        std::fs::write(&path, &archive[..900]).unwrap();
        assert_eq!(
            tar_truncation(&path).unwrap().as_deref(),
            Some("member toc.dat holds 1000 bytes but only 388 are present")
        );
        std::fs::write(&path, &archive[..1536]).unwrap();
        assert_eq!(
            tar_truncation(&path).unwrap().as_deref(),
            Some("it ends at byte 1536 without the end-of-archive block")
        );
    }
}
