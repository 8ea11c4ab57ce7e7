//! `ready completions SHELL` and `ready man`: what clap knows of the command line, for shells
//! and for man.
//!
//! Completions are dynamic: the script `ready completions SHELL` prints registers `ready` itself as
//! the completer, and the shell asks it (`_READY_COMPLETE=SHELL ready -- WORDS…`, answered in
//! `main` before parsing). So `explain ID`, `--only` and `--skip` are offered the check ids of the
//! configuration `ready` would load at that moment (`-c FILE`, `$READY_CONFIG`, `./ready.yaml`,
//! else the built-in suite).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::CommandFactory as _;
use clap_complete::CompletionCandidate;
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};

use crate::cli::{Cli, ManArgs};
use crate::model::Suite;
use crate::{Exit, checks, config, usage};

/// The variable that turns a run of `ready` into a completion request. Not the usual `COMPLETE`:
/// a variable of that common name in a CI environment would silence every `ready check`.
pub const COMPLETE_VAR: &str = "_READY_COMPLETE";

pub fn run(shell: clap_complete::Shell) -> anyhow::Result<Exit> {
    let registration: &dyn EnvCompleter = match shell {
        clap_complete::Shell::Bash => &Bash,
        clap_complete::Shell::Zsh => &Zsh,
        clap_complete::Shell::Fish => &Fish,
        clap_complete::Shell::Elvish => &Elvish,
        clap_complete::Shell::PowerShell => &Powershell,
        other => return Err(usage(format!("no completions for {other}"))),
    };
    let mut script = Vec::new();
    registration.write_registration(
        COMPLETE_VAR,
        "ready",
        "ready",
        &this_program(),
        &mut script,
    )?;
    super::print_stdout(script)?;
    Ok(Exit::Go)
}

/// How the shell should call `ready` back: as it was called (`ready` on the PATH), or by its
/// absolute path when it was called by a path.
fn this_program() -> String {
    let called = PathBuf::from(std::env::args_os().next().unwrap_or_else(|| "ready".into()));
    let program = match std::env::current_dir() {
        Ok(dir) if called.components().count() > 1 => dir.join(called),
        _ => called,
    };
    program.to_string_lossy().into_owned()
}

/// `explain ID`: the check ids, with their titles.
pub(crate) fn check_ids() -> Vec<CompletionCandidate> {
    suite_here().map(|s| ids(&s)).unwrap_or_default()
}

/// `--only` and `--skip`: the check ids, then the other selectors the suite can match.
pub(crate) fn selectors() -> Vec<CompletionCandidate> {
    suite_here()
        .map(|s| selector_values(&s))
        .unwrap_or_default()
}

/// The suite `ready` would load in this directory, with the words being completed: a broken
/// configuration offers nothing.
fn suite_here() -> Option<Suite> {
    let env = super::environment();
    let cwd = std::env::current_dir().ok()?;
    let words: Vec<String> = std::env::args().collect();
    let source = config::discover(config_flag(&words).as_deref(), &env, &cwd);
    config::load(&source, &env, &cwd).ok().map(|l| l.suite)
}

/// The `-c FILE` / `--config FILE` / `--config=FILE` among the words on the command line.
fn config_flag(words: &[String]) -> Option<PathBuf> {
    let mut found = None;
    for (i, word) in words.iter().enumerate() {
        if let Some(path) = word.strip_prefix("--config=") {
            found = Some(PathBuf::from(path));
        } else if word == "-c" || word == "--config" {
            found = words.get(i + 1).map(PathBuf::from).or(found);
        }
    }
    found.filter(|p| !p.as_os_str().is_empty())
}

fn ids(suite: &Suite) -> Vec<CompletionCandidate> {
    suite
        .checks
        .iter()
        .map(|c| CompletionCandidate::new(&c.id).help(Some(c.title.clone().into())))
        .collect()
}

fn selector_values(suite: &Suite) -> Vec<CompletionCandidate> {
    let mut tags: Vec<&str> = suite
        .checks
        .iter()
        .flat_map(|c| c.tags.iter().map(String::as_str))
        .collect();
    tags.sort_unstable();
    tags.dedup();
    let kinds = checks::Kind::NAMES.iter().map(|k| format!("kind:{k}"));
    let tags = tags.into_iter().map(|t| format!("tag:{t}"));
    let categories = suite
        .categories
        .iter()
        .map(|c| format!("category:{}", c.id));
    let others = kinds
        .chain(tags)
        .chain(categories)
        .chain(["blocker".to_string()]);
    let mut out = ids(suite);
    out.extend(others.map(CompletionCandidate::new));
    out
}

/// `ready man`: the top page, one subcommand's page, or (`--out DIR`) every page as a file.
pub fn man(args: &ManArgs) -> anyhow::Result<Exit> {
    let command = built_command();
    if let Some(dir) = &args.out {
        write_pages(&command, dir)?;
        return Ok(Exit::Go);
    }
    super::print_stdout(page(&command, args.command.as_deref())?)?;
    Ok(Exit::Go)
}

/// The command line as clap builds it (global flags copied into every subcommand), without the
/// `help` subcommand, which has no page.
fn built_command() -> clap::Command {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    command
}

/// The roff page of `ready`, or of one of its subcommands (`ready-check`).
fn page(command: &clap::Command, subcommand: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let of = match subcommand {
        None => command,
        Some(name) => command
            .find_subcommand(name)
            .ok_or_else(|| usage(format!("no subcommand `{name}`")))?,
    };
    let mut text = Vec::new();
    man_page(of)
        .render(&mut text)
        .context("cannot render the man page")?;
    Ok(text)
}

/// Every page signed `ready VERSION`: clap knows the version of the top command only.
fn man_page(command: &clap::Command) -> clap_mangen::Man {
    clap_mangen::Man::new(command.clone()).source(format!("ready {}", env!("CARGO_PKG_VERSION")))
}

/// `ready.1` and `ready-SUBCOMMAND.1` for each subcommand.
fn write_pages(command: &clap::Command, dir: &Path) -> anyhow::Result<()> {
    let cannot = |e: std::io::Error| {
        usage(format!(
            "cannot write the man pages into {}: {e}",
            dir.display()
        ))
    };
    std::fs::create_dir_all(dir).map_err(cannot)?;
    for of in std::iter::once(command).chain(command.get_subcommands()) {
        man_page(of).generate_to(dir).map_err(cannot)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every long flag of every subcommand appears on that subcommand's page, written as roff
    /// writes it (`\-\-min\-score`); the top page names every subcommand.
    #[test]
    fn every_subcommand_page_documents_every_long_flag() {
        let command = built_command();
        let top = String::from_utf8(page(&command, None).unwrap()).unwrap();
        for subcommand in command.get_subcommands() {
            let name = subcommand.get_name();
            assert!(
                top.contains(&format!("ready\\-{name}(1)")),
                "{name} on the top page"
            );
            let text = String::from_utf8(page(&command, Some(name)).unwrap()).unwrap();
            let title = format!(
                ".TH ready-{name} 1  \"ready {}\"",
                env!("CARGO_PKG_VERSION")
            );
            assert!(text.contains(&title), "{text}");
            let longs: Vec<&str> = subcommand
                .get_arguments()
                .filter_map(|a| a.get_long())
                .collect();
            assert!(
                longs.contains(&"verbose"),
                "{name}: the global flags are copied in"
            );
            for long in longs {
                let written = format!("\\-\\-{}", long.replace('-', "\\-"));
                assert!(text.contains(&written), "`ready man {name}` lacks --{long}");
            }
        }
    }

    #[test]
    fn the_config_flag_is_found_among_the_words() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let found = |w: &[&str]| config_flag(&words(w));
        assert_eq!(found(&["ready", "--", "ready", "explain", ""]), None);
        assert_eq!(
            found(&["ready", "--", "ready", "explain", "-c", "x.yaml", ""]),
            Some(PathBuf::from("x.yaml"))
        );
        assert_eq!(
            found(&["ready", "--", "ready", "check", "--config=y.yml", "--only"]),
            Some(PathBuf::from("y.yml"))
        );
        assert_eq!(found(&["ready", "--", "ready", "check", "--config"]), None);
    }

    #[test]
    fn selectors_offer_ids_kinds_tags_categories_and_blocker() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ready.yaml");
        let yaml = "checks:\n  - id: api.up\n    title: The API answers\n    category: reliability\n    severity: high\n    tags: [smoke]\n    env: { vars: [X] }\n";
        std::fs::write(&file, yaml).unwrap();
        let loaded =
            config::load(&config::Source::File(file), &Default::default(), dir.path()).unwrap();
        let values: Vec<String> = selector_values(&loaded.suite)
            .iter()
            .map(|c| c.get_value().to_string_lossy().into_owned())
            .collect();
        assert_eq!(values[0], "api.up");
        for wanted in ["kind:sql", "tag:smoke", "category:reliability", "blocker"] {
            assert!(values.iter().any(|v| v == wanted), "{wanted}: {values:?}");
        }
        let ids = ids(&loaded.suite);
        assert_eq!(ids.len(), 1);
        assert_eq!(
            ids[0].get_help().map(|h| h.to_string()).as_deref(),
            Some("The API answers")
        );
    }
}
