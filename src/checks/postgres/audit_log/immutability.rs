//! Immutability: nobody but the audit table's owner can change or empty the log, and API roles
//! cannot forge entries.

use serde_json::json;
use sqlx::PgConnection;

use super::AuditTable;
use crate::checks::outcome::{CheckError, Finding};
use crate::checks::postgres::catalog::{catalog_error, get, list};

const WRITERS_SQL: &str = r#"
WITH principals AS (
    SELECT r.oid, r.rolname::text AS name, r.rolbypassrls AS bypass, r.rolname = ANY($2::text[]) AS api
    FROM pg_roles r, pg_class c
    WHERE c.oid = $1::oid AND NOT r.rolsuper AND r.oid <> c.relowner
      AND (r.rolcanlogin OR r.rolname = ANY($2::text[]))
)
SELECT p.name AS role, p.bypass, p.api,
       pg_has_role(p.oid, c.relowner, 'USAGE') AS owner_rights,
       ARRAY(SELECT w.priv FROM unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) WITH ORDINALITY AS w(priv, i)
             WHERE CASE WHEN w.priv IN ('INSERT', 'UPDATE') THEN has_any_column_privilege(p.oid, c.oid, w.priv)
                        ELSE has_table_privilege(p.oid, c.oid, w.priv) END
             ORDER BY w.i)::text[] AS privileges,
       ARRAY(SELECT DISTINCT pol.polcmd::text FROM pg_policy pol
             WHERE pol.polrelid = c.oid AND pol.polpermissive
               AND (0 = ANY(pol.polroles)
                    OR EXISTS (SELECT 1 FROM unnest(pol.polroles) AS pr
                               WHERE pr <> 0 AND pg_has_role(p.oid, pr, 'MEMBER'))))::text[] AS policy_commands
FROM principals p, pg_class c
WHERE c.oid = $1::oid
UNION ALL
SELECT 'PUBLIC', false, true, false,
       ARRAY(SELECT w.priv FROM unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) WITH ORDINALITY AS w(priv, i)
             WHERE EXISTS (SELECT 1 FROM (SELECT (aclexplode(coalesce(c.relacl, acldefault('r', c.relowner)))).*
                                          UNION ALL
                                          SELECT (aclexplode(att.attacl)).* FROM pg_attribute att
                                          WHERE att.attrelid = c.oid AND att.attacl IS NOT NULL) a
                           WHERE a.grantee = 0 AND a.privilege_type = w.priv)
             ORDER BY w.i)::text[],
       ARRAY(SELECT DISTINCT pol.polcmd::text FROM pg_policy pol
             WHERE pol.polrelid = c.oid AND pol.polpermissive AND 0 = ANY(pol.polroles))::text[]
FROM pg_class c
WHERE c.oid = $1::oid
ORDER BY 1
"#;

/// A role (or PUBLIC) other than a superuser or the owner, and what it may do to the table.
pub struct Writer {
    pub role: String,
    pub bypass: bool,
    /// An API role (or PUBLIC): its INSERTs forge entries.
    pub api: bool,
    /// A member of the owner: it has the owner's rights.
    pub owner_rights: bool,
    /// Of INSERT, UPDATE, DELETE, TRUNCATE.
    pub privileges: Vec<String>,
    /// The commands of the permissive policies that apply to it (`*` for ALL).
    pub policy_commands: Vec<String>,
}

pub async fn read_writers(
    conn: &mut PgConnection,
    table: &AuditTable,
    api: &[String],
) -> Result<Vec<Writer>, CheckError> {
    let rows = sqlx::query(WRITERS_SQL)
        .bind(table.oid)
        .bind(api)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| catalog_error(&e))?;
    rows.iter()
        .map(|row| {
            Ok(Writer {
                role: get(row, "role")?,
                bypass: get(row, "bypass")?,
                api: get(row, "api")?,
                owner_rights: get(row, "owner_rights")?,
                privileges: get(row, "privileges")?,
                policy_commands: get(row, "policy_commands")?,
            })
        })
        .collect()
}

/// Anyone but the owner who can change or empty the log, or (API roles) forge entries.
pub fn judge(table: &AuditTable, api: &[String], writers: &[Writer]) -> Vec<Finding> {
    let audit = &table.name;
    let mut out = Vec::new();
    if api.contains(&table.owner) {
        out.push(Finding::fail(
            audit,
            format!(
                "the audit table {audit} is owned by API role {}, which can rewrite or drop it",
                table.owner
            ),
        ));
    }
    for writer in writers {
        out.extend(judge_writer(table, writer));
    }
    out
}

fn judge_writer(table: &AuditTable, w: &Writer) -> Vec<Finding> {
    let (audit, role) = (&table.name, &w.role);
    let subject = format!("{audit}/{role}");
    if w.owner_rights {
        return vec![Finding::fail(
            &subject,
            format!(
                "{role} is a member of {}, the owner of the audit table {audit}: it can change or drop the log",
                table.owner
            ),
        )];
    }
    let (problems, rls_only) = rewrites(table, w);
    let evidence = json!({"role": role, "privileges": w.privileges, "rls_enabled": table.rls, "rls_forced": table.forced});
    let mut out = Vec::new();
    if !problems.is_empty() {
        out.push(
            Finding::fail(
                &subject,
                format!("{role} can {} on the audit table {audit}", list(&problems)),
            )
            .with_evidence(evidence.clone()),
        );
    }
    if !rls_only.is_empty() {
        out.push(
            Finding::fail(
                &subject,
                format!(
                    "{role} holds {} on the audit table {audit}, held back only by row level security that is not forced: the owner and BYPASSRLS roles skip it (revoke the grants or FORCE ROW LEVEL SECURITY)",
                    list(&rls_only)
                ),
            )
            .with_evidence(evidence),
        );
    }
    out
}

/// What the writer can do to the log (with how), and the privileges that only an unforced
/// row level security holds back.
fn rewrites(table: &AuditTable, w: &Writer) -> (Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    let mut rls_only = Vec::new();
    for privilege in &w.privileges {
        let command = match privilege.as_str() {
            "INSERT" if w.api => "a",
            "UPDATE" => "w",
            "DELETE" => "d",
            "TRUNCATE" => {
                problems.push("TRUNCATE (row level security does not stop TRUNCATE)".to_string());
                continue;
            }
            _ => continue,
        };
        let allowed_by_policy = w.policy_commands.iter().any(|c| c == command || c == "*");
        if table.rls && !w.bypass && !allowed_by_policy {
            if !table.forced {
                rls_only.push(privilege.clone());
            }
            continue;
        }
        let how = if w.bypass {
            " (BYPASSRLS)"
        } else if table.rls {
            " (a policy allows it)"
        } else {
            ""
        };
        let what = if privilege == "INSERT" {
            "INSERT forged entries"
        } else {
            privilege.as_str()
        };
        problems.push(format!("{what}{how}"));
    }
    (problems, rls_only)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rls: bool, forced: bool) -> AuditTable {
        AuditTable {
            oid: 1,
            name: "public.audit_log".into(),
            owner: "postgres".into(),
            rls,
            forced,
        }
    }

    fn writer(role: &str, privileges: &[&str], policy_commands: &[&str]) -> Writer {
        Writer {
            role: role.into(),
            bypass: false,
            api: true,
            owner_rights: false,
            privileges: privileges.iter().map(|p| p.to_string()).collect(),
            policy_commands: policy_commands.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn grants_without_rls_let_roles_rewrite_the_log() {
        let w = writer("authenticated", &["INSERT", "UPDATE", "TRUNCATE"], &[]);
        let found = judge(&table(false, false), &[], &[w]);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].message,
            "authenticated can INSERT forged entries, UPDATE and TRUNCATE (row level security does not stop TRUNCATE) on the audit table public.audit_log"
        );
    }

    #[test]
    fn rls_holds_back_grants_only_when_forced_or_without_policy() {
        let w = writer("authenticated", &["INSERT", "DELETE"], &["a"]);
        let found = judge(&table(true, false), &[], &[w]);
        let messages: Vec<&str> = found.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(messages.len(), 2);
        assert!(
            messages[0].starts_with("authenticated can INSERT forged entries (a policy allows it)")
        );
        assert!(messages[1].starts_with("authenticated holds DELETE on the audit table public.audit_log, held back only by row level security that is not forced"));
        let reader = writer("authenticated", &["DELETE"], &[]);
        assert!(judge(&table(true, true), &[], &[reader]).is_empty());
    }

    #[test]
    fn owners_and_their_members_can_rewrite_the_log() {
        let mut member = writer("app", &[], &[]);
        member.owner_rights = true;
        let api = ["postgres".to_string()];
        let found = judge(&table(true, true), &api, &[member]);
        assert_eq!(found[0].subject, "public.audit_log");
        assert!(found[0].message.contains("owned by API role postgres"));
        assert!(found[1].message.starts_with("app is a member of postgres"));
        let mut bypass = writer("etl", &["UPDATE"], &[]);
        bypass.bypass = true;
        bypass.api = false;
        let found = judge(&table(true, true), &[], &[bypass]);
        assert_eq!(
            found[0].message,
            "etl can UPDATE (BYPASSRLS) on the audit table public.audit_log"
        );
    }
}
