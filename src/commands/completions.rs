//! `ready completions SHELL` and `ready man`: what clap knows of the command line, for shells
//! and for man.

use std::path::Path;

use anyhow::Context as _;
use clap::CommandFactory as _;

use crate::cli::{Cli, ManArgs};
use crate::{Exit, usage};

pub fn run(shell: clap_complete::Shell) -> anyhow::Result<Exit> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "ready", &mut script);
    super::print_stdout(script)?;
    Ok(Exit::Go)
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
}
