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
mod postgres_database;
mod postgres_security;
mod rate_limit_identities;
mod reports;
mod scheduling;
mod secrets;
mod sql;
mod tls;
mod webhook_crashes;
mod workflows;
