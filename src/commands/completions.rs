//! `ready completions SHELL` and `ready man`: what clap knows of the command line, for shells
//! and for man.

use anyhow::Context as _;

use crate::Exit;
use crate::cli::Cli;

pub fn run(shell: clap_complete::Shell) -> anyhow::Result<Exit> {
    let mut command = <Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "ready", &mut script);
    super::print_stdout(script)?;
    Ok(Exit::Go)
}

pub fn man() -> anyhow::Result<Exit> {
    let page = clap_mangen::Man::new(<Cli as clap::CommandFactory>::command());
    let mut text = Vec::new();
    page.render(&mut text)
        .context("cannot render the man page")?;
    super::print_stdout(text)?;
    Ok(Exit::Go)
}
