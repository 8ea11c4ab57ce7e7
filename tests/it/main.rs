//! The integration tests: one binary (one link step, one PostgreSQL server), a module per area.

mod common;

mod cli;
mod demo;
mod evidence;
mod html;
mod http_kind;
mod http_probes;
mod interop;
mod leaks;
mod local;
mod pg_credentials;
mod postgres_database;
mod postgres_security;
mod reports;
mod scheduling;
mod secrets;
mod sql;
mod tls;
mod workflows;
