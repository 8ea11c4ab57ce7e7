//! `ready init`: a commented project to start from, made of the built-in checks of a profile
//! (`profiles`) or written from what `--discover` finds (`crate::discover`). Existing files are
//! replaced only with `--force`; `--dry-run` shows what would change and writes nothing.

mod profiles;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cli::InitArgs;
use crate::discover::{self, plan::Plan, yaml};
use crate::{Exit, usage};

const SCHEMA_FILE: &str = "ready.schema.json";

/// `docs/least-privilege.sql`: the role `ready` should connect as.
const LEAST_PRIVILEGE_SQL: &str = include_str!("../../docs/least-privilege.sql");

/// An example waiver, commented out: it names a check the written suite has.
pub(crate) struct Waiver {
    pub check: String,
    pub subject: Option<&'static str>,
    pub reason: &'static str,
}

/// What `ready.yaml` says besides its checks.
pub(crate) struct ProjectFile {
    pub intro: String,
    pub project: String,
    /// The `targets:` block.
    pub targets: String,
    /// A database target is defined: the least-privilege recipe follows the targets.
    pub database: bool,
    /// Check files are written under `checks/` (an include that matches no file is an error).
    pub include: bool,
    pub waiver: Option<Waiver>,
}

/// The least-privilege role recipe, as comments.
fn least_privilege_recipe() -> String {
    let mut out = String::from(
        "# The database role. Checks run in read-only transactions, which do not stop a superuser:
# connect as a role that can read and nothing more (docs/least-privilege.md in the ready
# repository), run as a superuser:
",
    );
    // The file's note about the test that runs it is for this repository's readers only.
    for line in LEAST_PRIVILEGE_SQL
        .lines()
        .filter(|l| !l.starts_with("-- tests/"))
    {
        let _ = writeln!(out, "#   {line}");
    }
    out.push_str(
        "#   -- rls_probe (allow_writes): GRANT anon, authenticated TO ready_checks;
#   -- audit_log fire test (allow_writes): GRANT UPDATE ON <audited tables> TO ready_checks;
",
    );
    out
}

fn project_file(p: &ProjectFile) -> String {
    let recipe = if p.database {
        format!("\n{}", least_privilege_recipe())
    } else {
        String::new()
    };
    let include = if p.include {
        "include: [checks/*.yaml]"
    } else {
        "# No check file was written: add checks here or under checks/ (include: [checks/*.yaml])."
    };
    let waiver = match &p.waiver {
        None => String::new(),
        Some(w) => {
            let subject = w
                .subject
                .map(|s| format!("#    subject: {s}\n"))
                .unwrap_or_default();
            format!(
                "#  - check: {}\n{subject}#    reason: {}\n#    expires: 2027-03-01\n#    approved_by: alice\n#    ticket: SEC-142\n",
                w.check, w.reason
            )
        }
    };
    format!(
        "# yaml-language-server: $schema=./{SCHEMA_FILE}
{intro}version: 1
project: {project}

# Environment variables are interpolated: ${{VAR}}, ${{VAR:-default}}, ${{VAR:?message}}.
# A check whose variable is unset is an error naming it; it never passes.
{targets}{recipe}
# The decision: a stage is met when the score reaches its bar and every check matched by
# `require` passes (or is waived). These are the defaults.
stages:
  - {{ name: beta, min_score: 88, require: [blocker] }}
  - {{ name: production, min_score: 93, require: [blocker, \"severity>=high\"] }}

defaults: {{ timeout: 10s, concurrency: 16 }}

{include}

# Accepted risks, each with a reason and an expiry date (the waiver lapses at the end of it).
waivers: []
{waiver}",
        intro = p.intro,
        project = p.project,
        targets = p.targets,
    )
}

fn schema_text() -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(&crate::config::schema::json_schema())? + "\n")
}

fn check_header() -> String {
    format!("# yaml-language-server: $schema=../{SCHEMA_FILE}\n")
}

/// The files of a profile, relative to the project folder.
fn profile_files(args: &InitArgs) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let profile = profiles::build(args.profile, &args.dir);
    let mut files = vec![
        (PathBuf::from("ready.yaml"), project_file(&profile.project)),
        (PathBuf::from(SCHEMA_FILE), schema_text()?),
    ];
    for (path, text) in profile.builtin {
        files.push((PathBuf::from(path), check_header() + text));
    }
    for file in &profile.generated {
        let path = format!("checks/{}.yaml", file.name);
        files.push((
            path.into(),
            yaml::check_file(file, &format!("../{SCHEMA_FILE}")),
        ));
    }
    Ok(files)
}

/// The files `--discover` writes from the facts it gathered.
fn discovered_files(args: &InitArgs) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let env = super::environment();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let facts = runtime
        .block_on(discover::gather(&args.dir, &env))
        .map_err(usage)?;
    let plan = discover::plan::plan(&facts);
    let mut files = vec![
        (PathBuf::from("ready.yaml"), discovered_project(&plan)),
        (PathBuf::from(SCHEMA_FILE), schema_text()?),
    ];
    for file in &plan.files {
        let path = format!("checks/{}.yaml", file.name);
        files.push((
            path.into(),
            yaml::check_file(file, &format!("../{SCHEMA_FILE}")),
        ));
    }
    Ok(files)
}

fn discovered_project(plan: &Plan) -> String {
    let mut intro = String::from(
        "# Written by `ready init --discover` from what it found, read-only, in the database at
# DATABASE_URL, the service at READY_HTTP_URL and this folder. Every check under checks/ says
# why it is there. Run it again after a change: it shows the difference with --dry-run and
# replaces these files with --force.
",
    );
    for note in &plan.notes {
        yaml::comment(&mut intro, 0, &format!("- {note}"));
    }
    let mut targets = String::new();
    yaml::targets(&mut targets, plan);
    let first = plan.files.iter().flat_map(|f| &f.checks).next();
    let waiver = first.map(|check| match check.id.as_str() {
        "db.rls" => Waiver {
            check: check.id.clone(),
            subject: Some("public.spatial_ref_sys"),
            reason: "PostGIS reference table, holds no user data",
        },
        id => Waiver {
            check: id.replace("{{item}}", "*"),
            subject: None,
            reason: "accepted until the next release (say why)",
        },
    });
    project_file(&ProjectFile {
        intro,
        project: plan.project.clone(),
        targets,
        database: plan.targets.iter().any(|t| t.name == "db"),
        include: !plan.files.is_empty(),
        waiver,
    })
}

pub fn run(args: &InitArgs) -> anyhow::Result<Exit> {
    let files = if args.discover {
        discovered_files(args)?
    } else {
        profile_files(args)?
    };
    let files: Vec<(PathBuf, String)> = files
        .into_iter()
        .map(|(path, text)| (args.dir.join(path), text))
        .collect();
    if args.dry_run {
        super::print_stdout(dry_run(&files))?;
        return Ok(Exit::Go);
    }
    if !args.force {
        let existing: Vec<String> = files
            .iter()
            .filter(|(p, _)| p.exists())
            .map(|(p, _)| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(usage(format!(
                "not overwriting {}: use --force to replace, or --dry-run to see the difference",
                existing.join(", ")
            )));
        }
    }
    for (path, text) in &files {
        write(path, text)?;
    }
    let what = if args.discover {
        "from what --discover found".to_string()
    } else {
        format!("for the {:?} profile", args.profile)
    };
    super::print_stdout(format!(
        "wrote {} files {what} in {}; next: ready validate\n",
        files.len(),
        args.dir.display()
    ))?;
    Ok(Exit::Go)
}

/// A unified diff of every file that would change; the files themselves when none exists yet.
fn dry_run(files: &[(PathBuf, String)]) -> String {
    let existing: Vec<Option<String>> = files
        .iter()
        .map(|(p, _)| std::fs::read_to_string(p).ok())
        .collect();
    let shown = |path: &Path| path.strip_prefix(".").unwrap_or(path).display().to_string();
    let mut out = String::new();
    if existing.iter().all(Option::is_none) {
        for (path, text) in files {
            let _ = write!(out, "==> {} <==\n{text}\n", shown(path));
        }
        return out;
    }
    for ((path, text), old) in files.iter().zip(existing) {
        let shown = shown(path);
        let (old, from) = match &old {
            Some(old) => (old.as_str(), format!("a/{shown}")),
            None => ("", "/dev/null".to_string()),
        };
        if old != text {
            let diff = similar::TextDiff::from_lines(old, text);
            let _ = write!(
                out,
                "{}",
                diff.unified_diff().header(&from, &format!("b/{shown}"))
            );
        }
    }
    if out.is_empty() {
        out.push_str("no change: the files already hold what would be written\n");
    }
    out
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
