//! The catalog facts `rls_audit` judges, read in a fixed number of set-based queries whatever
//! the number of tables: roles, relations (with privileges, ownership and columns), policies,
//! SECURITY DEFINER functions, server version. Extension-owned objects and system schemas are
//! left out. Nothing here judges: the rules in `rules.rs` do.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use sqlx::PgConnection;

use crate::checks::outcome::CheckError;
use crate::checks::postgres::PgHandle;
use crate::checks::postgres::catalog::{ApiRoles, catalog_error, get, list, missing_roles};

/// The catalog queries one read sends (measured as `catalog_queries`).
pub const CATALOG_QUERIES: f64 = 5.0;

/// Everything the rules look at.
pub struct Catalog {
    /// The target's `api_roles`; empty when it names none, and privileges are then PUBLIC's.
    pub api_roles: Vec<String>,
    /// The configured API roles' attributes (empty when none are configured).
    pub roles: BTreeMap<String, RoleInfo>,
    /// Supabase's API roles found on a server whose target configures no `api_roles`.
    pub unconfigured_supabase: Vec<String>,
    pub relations: Vec<Relation>,
    pub policies: Vec<Policy>,
    pub functions: Vec<DefinerFunction>,
    /// `server_version_num`, e.g. 150004.
    pub server_version: i32,
}

impl Catalog {
    pub fn api_roles_configured(&self) -> bool {
        !self.api_roles.is_empty()
    }

    /// Appended to messages about privileges: whose privileges they are.
    pub fn privileges_note(&self) -> &'static str {
        if self.api_roles_configured() {
            ""
        } else {
            " (no api_roles configured: PUBLIC grants checked)"
        }
    }
}

/// One table, view, materialized view or foreign table of the audited schemas.
pub struct Relation {
    pub schema: String,
    pub name: String,
    /// PostgreSQL's `relkind`: r table, p partitioned table, v view, m materialized view,
    /// f foreign table.
    pub kind: char,
    pub rls: bool,
    pub forced: bool,
    pub owner: String,
    pub options: Vec<String>,
    /// Who reaches it (API roles, or PUBLIC when none are configured) → privileges.
    pub reach: BTreeMap<String, Vec<String>>,
    /// API roles that own it (directly or through membership): they bypass its RLS.
    pub owned_by: Vec<String>,
    pub columns: Vec<String>,
    /// Who may SELECT which columns (API roles, or PUBLIC), by column privileges.
    pub readable_columns: BTreeMap<String, Vec<String>>,
}

pub struct Policy {
    pub schema: String,
    pub table: String,
    pub name: String,
    /// PostgreSQL's command letter: r SELECT, a INSERT, w UPDATE, d DELETE, * ALL.
    pub command: char,
    pub permissive: bool,
    pub using: Option<String>,
    pub check: Option<String>,
    pub roles: Vec<String>,
    /// The API roles (or `PUBLIC`) it applies to.
    pub applies_to: Vec<String>,
}

pub struct DefinerFunction {
    /// Schema-qualified, argument types included (`public.grant(r public.app_role)`).
    pub signature: String,
    /// Returns `trigger` or `event_trigger`: only a trigger can run it.
    pub returns_trigger: bool,
    pub fixed_search_path: bool,
    pub executors: Vec<String>,
}

/// Reads the catalog of `schemas` inside the check's transaction `conn`.
pub async fn read(
    db: &PgHandle,
    conn: &mut PgConnection,
    schemas: &[String],
    timeout: Duration,
) -> Result<Catalog, CheckError> {
    // Existence of the API roles is checked from the roles query itself (one query fewer).
    let api = ApiRoles {
        names: db.target.api_roles.clone().unwrap_or_default(),
    };
    qualify_every_name(conn).await?;
    let (server_version, missing): (i32, Vec<String>) = sqlx::query_as(
        "SELECT current_setting('server_version_num')::int,
                ARRAY(SELECT s FROM unnest($1::text[]) AS s
                      WHERE NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = s))::text[]",
    )
    .bind(schemas)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| catalog_error(&e))?;
    if let Some(e) = missing_schemas(&missing) {
        return Err(e);
    }
    // Without api_roles only PUBLIC is checked; on a Supabase server that misses the roles that
    // matter, so the same query asks whether the well-known ones exist, to say so.
    let (roles, unconfigured_supabase) = if api.configured() {
        let found = read_roles(conn, &api.names).await?;
        let missing: Vec<String> = api
            .names
            .iter()
            .filter(|r| !found.contains_key(*r))
            .cloned()
            .collect();
        if let Some(e) = missing_roles(&missing) {
            return Err(e);
        }
        (found, Vec::new())
    } else {
        let found = read_roles(conn, &SUPABASE_API_ROLES.map(String::from)).await?;
        (BTreeMap::new(), found.into_keys().collect::<Vec<_>>())
    };
    // The two big catalog reads run at once when a second connection can share the snapshot.
    let (relations, policies) = match db.read_only_twin(conn, timeout).await {
        Some(mut twin) => {
            qualify_every_name(&mut twin).await?;
            let (relations, policies) = tokio::join!(
                read_relations(conn, schemas, &api, &roles),
                read_policies(&mut twin, schemas, &api, &roles)
            );
            db.finish(twin).await;
            (relations?, policies?)
        }
        None => (
            read_relations(conn, schemas, &api, &roles).await?,
            read_policies(conn, schemas, &api, &roles).await?,
        ),
    };
    let functions = read_definer_functions(conn, schemas, &api).await?;
    Ok(Catalog {
        api_roles: api.names,
        roles,
        unconfigured_supabase,
        relations,
        policies,
        functions,
        server_version,
    })
}

/// With only `pg_catalog` on the transaction's search_path, the server prints every other name
/// schema-qualified (`public.app_role`), so subjects and fingerprints do not depend on the
/// connection's search_path.
async fn qualify_every_name(conn: &mut PgConnection) -> Result<(), CheckError> {
    sqlx::query("SELECT set_config('search_path', 'pg_catalog', true)")
        .execute(&mut *conn)
        .await
        .map(drop)
        .map_err(|e| catalog_error(&e))
}

/// An audited schema that does not exist is a typo that would audit nothing: never a pass.
pub fn missing_schemas(missing: &[String]) -> Option<CheckError> {
    let quoted: Vec<String> = missing.iter().map(|s| format!("`{s}`")).collect();
    match quoted.as_slice() {
        [] => None,
        [one] => Some(CheckError::new(format!(
            "schema {one} does not exist, so it cannot be audited: correct the target's exposed_schemas or the check's schemas"
        ))),
        _ => Some(CheckError::new(format!(
            "schemas {} do not exist, so they cannot be audited: correct the target's exposed_schemas or the check's schemas",
            list(&quoted)
        ))),
    }
}

/// Roles that serve Supabase's Data API.
const SUPABASE_API_ROLES: [&str; 2] = ["anon", "authenticated"];

/// An API role's attributes and memberships, read once so that per-relation and per-policy
/// questions ("does this policy apply to it?", "does it own this?") need no query of their own.
pub struct RoleInfo {
    pub superuser: bool,
    pub bypass: bool,
    /// Roles it is a member of, itself included (policies for them apply to it).
    pub member_of: BTreeSet<String>,
    /// Roles whose privileges it uses, itself included (owning through them is owning).
    pub uses: BTreeSet<String>,
}

async fn read_roles(
    conn: &mut PgConnection,
    roles: &[String],
) -> Result<BTreeMap<String, RoleInfo>, CheckError> {
    let rows = sqlx::query(
        "SELECT r.rolname::text AS name, r.rolsuper AS superuser, r.rolbypassrls AS bypass,
                ARRAY(SELECT b.rolname::text FROM pg_roles b WHERE pg_has_role(r.oid, b.oid, 'MEMBER'))::text[] AS member_of,
                ARRAY(SELECT b.rolname::text FROM pg_roles b WHERE pg_has_role(r.oid, b.oid, 'USAGE'))::text[] AS uses
         FROM pg_roles r WHERE r.rolname = ANY($1::text[])",
    )
    .bind(roles)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| catalog_error(&e))?;
    rows.iter()
        .map(|r| {
            Ok((
                get(r, "name")?,
                RoleInfo {
                    superuser: get(r, "superuser")?,
                    bypass: get(r, "bypass")?,
                    member_of: get::<Vec<String>>(r, "member_of")?.into_iter().collect(),
                    uses: get::<Vec<String>>(r, "uses")?.into_iter().collect(),
                },
            ))
        })
        .collect()
}

const RELATIONS_SQL: &str = r#"
SELECT n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS kind,
       c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
       pg_get_userbyid(c.relowner)::text AS owner,
       coalesce(c.reloptions, '{}')::text[] AS options,
       ARRAY(SELECT r.name || ':' || p.priv
             FROM unnest($2::text[]) WITH ORDINALITY AS r(name, i),
                  unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) WITH ORDINALITY AS p(priv, j)
             WHERE CASE WHEN p.priv = 'DELETE' THEN has_table_privilege(r.name, c.oid, p.priv)
                        ELSE has_any_column_privilege(r.name, c.oid, p.priv) END
             ORDER BY r.i, p.j)::text[] AS role_grants,
       CASE WHEN cardinality($2::text[]) = 0 THEN
         ARRAY(SELECT DISTINCT a.privilege_type::text
               FROM (SELECT (aclexplode(c.relacl)).*
                     UNION ALL
                     SELECT (aclexplode(att.attacl)).* FROM pg_attribute att
                     WHERE att.attrelid = c.oid AND att.attacl IS NOT NULL) a
               WHERE a.grantee = 0 AND a.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')
              )::text[]
       ELSE ARRAY[]::text[] END AS public_grants,
       ARRAY(SELECT att.attname::text FROM pg_attribute att
             WHERE att.attrelid = c.oid AND att.attnum > 0 AND NOT att.attisdropped
             ORDER BY att.attnum)::text[] AS columns,
       coalesce((SELECT json_agg(json_build_array(r.name, att.attname) ORDER BY r.i, att.attnum)
                 FROM unnest(CASE WHEN cardinality($2::text[]) = 0 THEN ARRAY['PUBLIC'] ELSE $2::text[] END)
                        WITH ORDINALITY AS r(name, i),
                      pg_attribute att
                 WHERE att.attrelid = c.oid AND att.attnum > 0 AND NOT att.attisdropped
                   AND CASE WHEN cardinality($2::text[]) = 0 THEN
                         EXISTS (SELECT 1 FROM aclexplode(c.relacl) a
                                 WHERE a.grantee = 0 AND a.privilege_type = 'SELECT')
                         OR EXISTS (SELECT 1 FROM aclexplode(att.attacl) a
                                    WHERE a.grantee = 0 AND a.privilege_type = 'SELECT')
                       ELSE has_column_privilege(r.name, c.oid, att.attnum, 'SELECT') END),
                '[]') AS column_readers
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1::text[])
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"#;

async fn read_relations(
    conn: &mut PgConnection,
    schemas: &[String],
    roles: &ApiRoles,
    role_info: &BTreeMap<String, RoleInfo>,
) -> Result<Vec<Relation>, CheckError> {
    let rows = sqlx::query(RELATIONS_SQL)
        .bind(schemas)
        .bind(&roles.names)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| catalog_error(&e))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut reach: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if roles.configured() {
            for grant in get::<Vec<String>>(row, "role_grants")? {
                if let Some((role, privilege)) = grant.rsplit_once(':') {
                    reach
                        .entry(role.to_string())
                        .or_default()
                        .push(privilege.to_string());
                }
            }
        } else {
            let mut public: Vec<String> = get(row, "public_grants")?;
            let order = ["SELECT", "INSERT", "UPDATE", "DELETE"];
            public.sort_by_key(|p| order.iter().position(|o| o == p));
            if !public.is_empty() {
                reach.insert("PUBLIC".into(), public);
            }
        }
        let mut readable_columns: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let column_readers: sqlx::types::Json<Vec<(String, String)>> = get(row, "column_readers")?;
        for (who, column) in column_readers.0 {
            readable_columns.entry(who).or_default().push(column);
        }
        let kind: String = get(row, "kind")?;
        let owner: String = get(row, "owner")?;
        let owned_by = roles
            .names
            .iter()
            .filter(|r| {
                role_info
                    .get(*r)
                    .is_some_and(|info| info.uses.contains(&owner))
            })
            .cloned()
            .collect();
        out.push(Relation {
            schema: get(row, "schema")?,
            name: get(row, "name")?,
            kind: kind.chars().next().unwrap_or('r'),
            rls: get(row, "rls")?,
            forced: get(row, "forced")?,
            owner,
            options: get(row, "options")?,
            reach,
            owned_by,
            columns: get(row, "columns")?,
            readable_columns,
        });
    }
    Ok(out)
}

const POLICIES_SQL: &str = r#"
SELECT n.nspname::text AS schema, c.relname::text AS "table", p.polname::text AS name,
       p.polcmd::text AS command, p.polpermissive AS permissive,
       pg_get_expr(p.polqual, p.polrelid) AS using_expr,
       pg_get_expr(p.polwithcheck, p.polrelid) AS check_expr,
       ARRAY(SELECT CASE WHEN pr = 0 THEN 'public' ELSE pg_get_userbyid(pr)::text END
             FROM unnest(p.polroles) AS pr)::text[] AS roles
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1::text[])
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2, 3
"#;

async fn read_policies(
    conn: &mut PgConnection,
    schemas: &[String],
    roles: &ApiRoles,
    role_info: &BTreeMap<String, RoleInfo>,
) -> Result<Vec<Policy>, CheckError> {
    let rows = sqlx::query(POLICIES_SQL)
        .bind(schemas)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| catalog_error(&e))?;
    rows.iter()
        .map(|row| {
            let command: String = get(row, "command")?;
            let policy_roles: Vec<String> = get(row, "roles")?;
            let for_public = policy_roles.iter().any(|r| r == "public");
            let applies_to = if roles.configured() {
                roles
                    .names
                    .iter()
                    .filter(|r| {
                        for_public
                            || role_info.get(*r).is_some_and(|info| {
                                policy_roles.iter().any(|p| info.member_of.contains(p))
                            })
                    })
                    .cloned()
                    .collect()
            } else if for_public {
                vec!["PUBLIC".to_string()]
            } else {
                Vec::new()
            };
            Ok(Policy {
                schema: get(row, "schema")?,
                table: get(row, "table")?,
                name: get(row, "name")?,
                command: command.chars().next().unwrap_or('*'),
                permissive: get(row, "permissive")?,
                using: get(row, "using_expr")?,
                check: get(row, "check_expr")?,
                roles: policy_roles,
                applies_to,
            })
        })
        .collect()
}

const FUNCTIONS_SQL: &str = r#"
SELECT n.nspname::text || '.' || p.proname::text || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS signature,
       p.prorettype IN ('trigger'::regtype, 'event_trigger'::regtype) AS returns_trigger,
       EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) AS s WHERE s LIKE 'search\_path=%') AS fixed_search_path,
       CASE WHEN cardinality($2::text[]) = 0
            THEN CASE WHEN EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS a
                                   WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')
                      THEN ARRAY['PUBLIC'] ELSE ARRAY[]::text[] END
            ELSE ARRAY(SELECT r.name FROM unnest($2::text[]) WITH ORDINALITY AS r(name, i)
                       WHERE has_function_privilege(r.name, p.oid, 'EXECUTE') ORDER BY r.i)::text[]
       END AS executors
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = ANY($1::text[])
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND p.prosecdef
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
ORDER BY 1
"#;

async fn read_definer_functions(
    conn: &mut PgConnection,
    schemas: &[String],
    roles: &ApiRoles,
) -> Result<Vec<DefinerFunction>, CheckError> {
    let rows = sqlx::query(FUNCTIONS_SQL)
        .bind(schemas)
        .bind(&roles.names)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| catalog_error(&e))?;
    rows.iter()
        .map(|row| {
            Ok(DefinerFunction {
                signature: get(row, "signature")?,
                returns_trigger: get(row, "returns_trigger")?,
                fixed_search_path: get(row, "fixed_search_path")?,
                executors: get(row, "executors")?,
            })
        })
        .collect()
}
