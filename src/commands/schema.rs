//! `ready schema`: the JSON Schema of the configuration files, of the result, or of
//! `validate --format json`.

use crate::cli::SchemaKind;
use crate::{Exit, config, result};

pub fn run(which: SchemaKind) -> anyhow::Result<Exit> {
    let schema = match which {
        SchemaKind::Result => result::json_schema(),
        SchemaKind::Config => config::schema::json_schema(),
        SchemaKind::Diagnostics => config::diagnostic::json_schema(),
    };
    super::print_stdout(format!("{}\n", serde_json::to_string_pretty(&schema)?))?;
    Ok(Exit::Go)
}
