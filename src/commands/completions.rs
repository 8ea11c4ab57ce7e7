//! `ready completions SHELL` and `ready man`: what clap knows of the command line, for shells
//! and for man.

use anyhow::Context as _;

use crate::Exit;
use crate::cli::Cli;

pub fn run(shell: clap_complete::Shell) -> anyhow::Result<Exit> {
    let mut command = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut command, "ready", &mut std::io::stdout());
    Ok(Exit::Go)
}

pub fn man() -> anyhow::Result<Exit> {
    let page = clap_mangen::Man::new(<Cli as clap::CommandFactory>::command());
    page.render(&mut std::io::stdout())
        .context("cannot write the man page")?;
    Ok(Exit::Go)
}
