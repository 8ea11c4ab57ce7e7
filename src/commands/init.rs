//! `ready init`: a commented project to start from, made of the built-in checks of a profile.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cli::{InitArgs, Profile};
use crate::config::BUILTIN_FILES;
use crate::{Exit, usage};

const SCHEMA_FILE: &str = "ready.schema.json";

/// The built-in check files a profile starts from.
fn files_for(profile: Profile) -> Vec<(&'static str, &'static str)> {
    BUILTIN_FILES
        .iter()
        .copied()
        .filter(|(path, _)| {
            let name = path.trim_start_matches("checks/");
            match profile {
                Profile::Supabase => true,
                Profile::Postgres => {
                    name.starts_with("postgres-")
                        || name == "secrets.yaml"
                        || name == "backups.yaml"
                }
                Profile::Http => name.starts_with("http"),
            }
        })
        .collect()
}

fn project_file(profile: Profile) -> String {
    let postgres = "  db:
    # A connection URL; its password is never printed (postgres://app:***@host/db).
    # Connect as a role that can read and nothing more: checks run in read-only transactions,
    # which do not stop a superuser (see docs/least-privilege.md in the ready repository):
    #   CREATE ROLE ready_checks LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
    #   GRANT pg_read_all_data, pg_monitor TO ready_checks;
    #   -- rls_probe (allow_writes): GRANT anon, authenticated TO ready_checks;
    #   -- audit_log fire test (allow_writes): GRANT UPDATE ON <audited tables> TO ready_checks;
    postgres: ${DATABASE_URL}
";
    let supabase_roles =
        "    # Roles that serve untrusted clients, and the schemas they reach through the API.
    api_roles: [anon, authenticated]
    exposed_schemas: [public]
    # Behaviour probes that write run only with allow_writes: true, and are always rolled back.
    allow_writes: false
";
    let http = match profile {
        Profile::Supabase => {
            "  api:
    http: ${SUPABASE_URL}
    # Header values are secrets: never printed.
    headers: { apikey: \"${SUPABASE_ANON_KEY}\" }
"
        }
        _ => {
            "  api:
    # The base URL; each check's path joins onto it.
    http: ${READY_HTTP_URL}
"
        }
    };
    let targets = match profile {
        Profile::Supabase => format!("{postgres}{supabase_roles}{http}"),
        Profile::Postgres => postgres.to_string(),
        Profile::Http => http.to_string(),
    };
    format!(
        "# yaml-language-server: $schema=./{SCHEMA_FILE}
# ready: production-readiness checks for this project. `ready check` runs them;
# `ready validate` checks this file; `ready explain ID` describes a check.
version: 1
project: my-project

# Environment variables are interpolated: ${{VAR}}, ${{VAR:-default}}, ${{VAR:?message}}.
# A check whose variable is unset is an error naming it; it never passes.
targets:
{targets}
# The decision: a stage is met when the score reaches its bar and every check matched by
# `require` passes (or is waived). These are the defaults.
stages:
  - {{ name: beta, min_score: 88, require: [blocker] }}
  - {{ name: production, min_score: 93, require: [blocker, \"severity>=high\"] }}

defaults: {{ timeout: 10s, concurrency: 16 }}

include: [checks/*.yaml]

# Accepted risks, each with a reason and an expiry date (the waiver lapses at the end of it).
waivers: []
#  - check: rls.enabled
#    subject: public.spatial_ref_sys
#    reason: PostGIS reference table, holds no user data
#    expires: 2027-03-01
#    approved_by: alice
#    ticket: SEC-142
"
    )
}

pub fn run(args: &InitArgs) -> anyhow::Result<Exit> {
    let dir = &args.dir;
    let mut files: Vec<(PathBuf, String)> = vec![
        (dir.join("ready.yaml"), project_file(args.profile)),
        (
            dir.join(SCHEMA_FILE),
            serde_json::to_string_pretty(&crate::config::schema::json_schema())? + "\n",
        ),
    ];
    for (path, text) in files_for(args.profile) {
        let header = format!("# yaml-language-server: $schema=../{SCHEMA_FILE}\n");
        files.push((dir.join(path), header + text));
    }
    if !args.force {
        let existing: Vec<String> = files
            .iter()
            .filter(|(p, _)| p.exists())
            .map(|(p, _)| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(usage(format!(
                "not overwriting {}: use --force to replace",
                existing.join(", ")
            )));
        }
    }
    for (path, text) in &files {
        write(path, text)?;
    }
    super::print_stdout(format!(
        "wrote {} files for the {:?} profile in {}; next: ready validate\n",
        files.len(),
        args.profile,
        dir.display()
    ))?;
    Ok(Exit::Go)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
