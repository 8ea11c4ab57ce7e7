//! The role a PostgreSQL target connects as. A read-only transaction does not stop a superuser
//! (`COPY … TO PROGRAM`, `lo_export`, `pg_terminate_backend`, …), nor, in part, a holder of the
//! predefined roles below, so each target says once per run when its role is one of them.

use sqlx::PgConnection;

use super::describe;
use crate::checks::outcome::Finding;

/// Predefined roles that reach outside a read-only transaction.
const DANGEROUS: &[&str] = &[
    "pg_write_server_files",
    "pg_execute_server_program",
    "pg_signal_backend",
];

/// What the server says about the role the target connects as.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleFacts {
    pub name: String,
    pub superuser: bool,
    /// Of `DANGEROUS`, the roles it is a member of, in that order.
    pub holds: Vec<String>,
}

pub async fn gather(conn: &mut PgConnection) -> Result<RoleFacts, String> {
    let (name, superuser, holds): (String, bool, Vec<String>) = sqlx::query_as(
        "SELECT current_user::text, r.rolsuper,
                ARRAY(SELECT d FROM unnest($1::text[]) WITH ORDINALITY AS u(d, i)
                      WHERE pg_has_role(current_user, d, 'MEMBER') ORDER BY i)
           FROM pg_roles r WHERE r.rolname = current_user",
    )
    .bind(DANGEROUS)
    .fetch_one(conn)
    .await
    .map_err(|e| describe(&e))?;
    Ok(RoleFacts {
        name,
        superuser,
        holds,
    })
}

/// The target's `warn` finding, if its role can do more than read.
pub fn judge(target: &str, facts: &Result<RoleFacts, String>) -> Option<Finding> {
    const SAFE: &str = "connect as a role that can only read, e.g. one granted pg_read_all_data and pg_monitor (see docs/least-privilege.md)";
    let facts = match facts {
        Ok(facts) => facts,
        Err(e) => {
            return Some(Finding::warn(
                format!("target {target}: role"),
                format!(
                    "cannot tell whether the role of target {target} can do more than read: {e}"
                ),
            ));
        }
    };
    let reach = "read-only transactions do not stop it from writing files, running programs or ending sessions";
    let message = if facts.superuser {
        format!("role {} is a superuser: {reach}; {SAFE}", facts.name)
    } else if !facts.holds.is_empty() {
        format!(
            "role {} holds {}: {reach}; {SAFE}",
            facts.name,
            facts.holds.join(", ")
        )
    } else {
        return None;
    };
    Some(Finding::warn(
        format!("target {target}: role {}", facts.name),
        message,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(superuser: bool, holds: &[&str]) -> Result<RoleFacts, String> {
        Ok(RoleFacts {
            name: "app".into(),
            superuser,
            holds: holds.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[test]
    fn only_a_role_that_can_do_more_than_read_is_reported() {
        assert_eq!(judge("db", &facts(false, &[])), None);
        let su = judge("db", &facts(true, &[])).unwrap();
        assert_eq!(su.subject, "target db: role app");
        assert_eq!(
            su.message,
            "role app is a superuser: read-only transactions do not stop it from writing files, running programs or ending sessions; connect as a role that can only read, e.g. one granted pg_read_all_data and pg_monitor (see docs/least-privilege.md)"
        );
        let holder = judge("db", &facts(false, &["pg_signal_backend"])).unwrap();
        assert!(
            holder
                .message
                .starts_with("role app holds pg_signal_backend: "),
            "{}",
            holder.message
        );
        let unknown = judge("db", &Err("permission denied".into())).unwrap();
        assert_eq!(unknown.subject, "target db: role");
    }
}
