//! What the PostgreSQL kinds share: API roles, identifiers, name globs, typed rows.

use serde::{Deserialize, Deserializer, de};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::{PgHandle, describe};
use crate::checks::outcome::CheckError;

/// The roles that serve untrusted clients, as a check uses them.
pub struct ApiRoles {
    /// Empty when the target names none: privilege rules then look at PUBLIC.
    pub names: Vec<String>,
}

impl ApiRoles {
    pub fn configured(&self) -> bool {
        !self.names.is_empty()
    }
}

/// The target's `api_roles`, each verified to exist: a role that does not exist is an error,
/// never a silent pass.
pub async fn api_roles(conn: &mut PgConnection, db: &PgHandle) -> Result<ApiRoles, CheckError> {
    let names = db.target.api_roles.clone().unwrap_or_default();
    if names.is_empty() {
        return Ok(ApiRoles { names });
    }
    let missing: Vec<String> = sqlx::query_scalar(
        "SELECT r FROM unnest($1::text[]) WITH ORDINALITY AS u(r, i)
         WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = u.r) ORDER BY i",
    )
    .bind(&names)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| catalog_error(&e))?;
    match missing_roles(&missing) {
        None => Ok(ApiRoles { names }),
        Some(e) => Err(e),
    }
}

/// The error for API roles that do not exist; `None` when none is missing.
pub fn missing_roles(missing: &[String]) -> Option<CheckError> {
    match missing {
        [] => None,
        [one] => Some(CheckError::new(format!(
            "API role `{one}` (from api_roles) does not exist on the server"
        ))),
        many => Some(CheckError::new(format!(
            "API roles {} (from api_roles) do not exist on the server",
            many.iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

pub fn catalog_error(e: &sqlx::Error) -> CheckError {
    CheckError::new(format!("cannot read the catalog: {}", describe(e)))
}

/// A typed column of a catalog row; a mismatch is a bug in our SQL, reported as an error.
pub fn get<'r, T>(row: &'r PgRow, column: &str) -> Result<T, CheckError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(column)
        .map_err(|e| CheckError::new(format!("cannot read catalog column {column}: {e}")))
}

/// An SQL identifier, quoted as PostgreSQL's `quote_ident` would always quote it.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `schema.table` or `table`, as written in a check.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TableName {
    pub schema: Option<String>,
    pub name: String,
}

impl TableName {
    pub fn parse(text: &str) -> Result<TableName, String> {
        let text = text.trim();
        let valid = |part: &str| !part.is_empty() && !part.contains(['(', ')', ',', ' ', '"']);
        match text.split_once('.') {
            Some((schema, name)) if valid(schema) && valid(name) && !name.contains('.') => {
                Ok(TableName {
                    schema: Some(schema.to_string()),
                    name: name.to_string(),
                })
            }
            None if valid(text) => Ok(TableName {
                schema: None,
                name: text.to_string(),
            }),
            _ => Err(format!(
                "`{text}` is not a table name (write `table` or `schema.table`)"
            )),
        }
    }

    /// Quoted for SQL, with `default_schema` when none was written.
    pub fn quoted(&self, default_schema: &str) -> String {
        format!(
            "{}.{}",
            quote_ident(self.schema.as_deref().unwrap_or(default_schema)),
            quote_ident(&self.name)
        )
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

crate::checks::params::text_schema!(TableName, "TableName", "a table: `name` or `schema.name`");

impl<'de> Deserialize<'de> for TableName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TableName::parse(&text).map_err(de::Error::custom)
    }
}

/// A glob over table names: it matches `table` alone, or `schema.table` when it holds a dot.
#[derive(Debug, Clone)]
pub struct NameGlob(pub glob::Pattern);

impl NameGlob {
    pub fn matches(&self, schema: &str, name: &str) -> bool {
        if self.0.as_str().contains('.') {
            self.0.matches(&format!("{schema}.{name}"))
        } else {
            self.0.matches(name)
        }
    }

    pub fn is_literal(&self) -> bool {
        !self.0.as_str().contains(['*', '?', '['])
    }

    pub fn new(text: &str) -> Result<NameGlob, String> {
        glob::Pattern::new(text)
            .map(NameGlob)
            .map_err(|e| format!("invalid glob `{text}`: {e}"))
    }
}

crate::checks::params::text_schema!(
    NameGlob,
    "NameGlob",
    "a glob over table names, e.g. wallet* or public.*_transactions"
);

impl<'de> Deserialize<'de> for NameGlob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        NameGlob::new(&text).map_err(de::Error::custom)
    }
}

/// Names joined for a message: `a, b and c`.
pub fn list(items: &[impl AsRef<str>]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., last] => format!(
            "{} and {}",
            init.iter()
                .map(|s| s.as_ref())
                .collect::<Vec<_>>()
                .join(", "),
            last.as_ref()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        assert_eq!(
            TableName::parse("audit.log").unwrap().quoted("public"),
            "\"audit\".\"log\""
        );
        assert_eq!(
            TableName::parse("wallets").unwrap().quoted("public"),
            "\"public\".\"wallets\""
        );
        assert!(TableName::parse("a.b.c").is_err());
        assert!(TableName::parse("x y").is_err());
    }

    #[test]
    fn globs_match_names_or_qualified_names() {
        let g = NameGlob::new("wallet*").unwrap();
        assert!(g.matches("public", "wallets"));
        assert!(!g.matches("public", "my_wallets"));
        let q = NameGlob::new("billing.*").unwrap();
        assert!(q.matches("billing", "invoices"));
        assert!(!q.matches("public", "invoices"));
        assert!(!g.is_literal());
        assert!(NameGlob::new("ledger").unwrap().is_literal());
    }

    #[test]
    fn lists_read_naturally() {
        assert_eq!(list(&["a"]), "a");
        assert_eq!(list(&["a", "b", "c"]), "a, b and c");
    }
}
