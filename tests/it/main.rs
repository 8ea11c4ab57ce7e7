//! The integration tests: one binary (one link step, one PostgreSQL server), a module per area.

mod common;

mod backups;
mod cli;
mod coverage_tools;
mod demo;
mod discover;
mod evidence;
mod first_run;
mod html;
mod http_kind;
mod http_probes;
mod interop;
mod leaks;
mod local;
mod locations;
mod pg_credentials;
mod postgres_database;
mod postgres_security;
mod rate_limit_identities;
mod reports;
mod sarif;
mod scheduling;
mod secrets;
mod sql;
mod tls;
mod validate;
mod webhook_crashes;
mod workflows;
