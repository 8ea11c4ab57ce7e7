//! Kinds that look at the machine `ready` runs on: environment variables, files, commands,
//! secrets and coverage reports.

pub mod command;
pub mod coverage;
pub mod env;
pub mod file;
pub mod secret;
