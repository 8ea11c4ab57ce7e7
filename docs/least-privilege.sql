-- A least-privilege role for `ready`: it reads everything the checks read and can change nothing.
-- Run as a superuser (or a role with CREATEROLE), then give the role a password:
--   \password ready_checks
-- tests/it/postgres_security.rs runs this file and the built-in postgres checks as this role.
CREATE ROLE ready_checks LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
-- Read every table, view and sequence (sql, schema, migrations, rls_audit, audit_log) ...
GRANT pg_read_all_data TO ready_checks;
-- ... and every session and statistic (connection headroom, pg_stat_* views).
GRANT pg_monitor TO ready_checks;
