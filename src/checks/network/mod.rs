//! Probes of network services other than HTTP: they log in to databases and caches.

pub mod default_credentials;
mod pg_login;
mod pg_startup;
