//! The check kinds: a closed set. `Kind` is the only list of them: their names, how their
//! parameters are read and their JSON Schema derive from it, each kind declares what it needs
//! (`KindSpec`), and `run` dispatches with one exhaustive `match`.

pub mod backup;
pub mod ctx;
pub mod http;
pub mod local;
pub mod network;
pub mod outcome;
pub mod params;
pub mod postgres;

use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, VariantAccess};
use strum::VariantNames;

pub use ctx::{Connection, Context, Ctx, SecretSink};

use crate::target::TargetFamily;
use outcome::CheckOutcome;

/// A check's kind and its parameters, as written under the kind key (`sql: { query: … }`).
///
/// Its JSON Schema is the kind part of a check: one `{ name: params }` object per variant, so it
/// can be flattened into the check's schema (`#[serde(flatten)] kind: Kind`).
#[derive(
    Debug,
    Clone,
    Deserialize,
    JsonSchema,
    strum::IntoStaticStr,
    strum::VariantNames,
    strum::EnumDiscriminants,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[strum_discriminants(
    name(KindName),
    derive(
        strum::IntoStaticStr,
        strum::EnumString,
        strum::VariantArray,
        Hash,
        PartialOrd,
        Ord
    ),
    strum(serialize_all = "snake_case")
)]
pub enum Kind {
    Sql(postgres::sql::SqlParams),
    RlsAudit(postgres::rls_audit::RlsAuditParams),
    RlsProbe(postgres::rls_probe::RlsProbeParams),
    AuditLog(postgres::audit_log::AuditLogParams),
    Schema(postgres::schema::SchemaParams),
    Migrations(postgres::migrations::MigrationsParams),
    CronJob(postgres::cron_job::CronJobParams),
    Http(http::request::HttpParams),
    Env(local::env::EnvParams),
    File(local::file::FileParams),
    Command(local::command::CommandParams),
    Secret(local::secret::SecretParams),
    Coverage(local::coverage::CoverageParams),
    Backup(backup::BackupParams),
    DefaultCredentials(network::default_credentials::CredentialsParams),
    Health(http::health::HealthParams),
    RateLimit(http::rate_limit::RateLimitParams),
    SecurityHeaders(http::security_headers::SecurityHeadersParams),
    WebhookSignature(http::webhook_signature::WebhookParams),
    Tls(http::tls::TlsParams),
}

/// What a kind declares about itself; implemented by its parameter type, next to its `run`.
/// A kind states its family and only what differs from the defaults below.
pub trait KindSpec {
    /// The family of target the check runs against; `None` when it runs locally.
    fn family(&self) -> Option<TargetFamily>;

    /// Whether the check probes over the network, where a failure may be transient, so that
    /// `retries` applies. A check against a target does; a local kind that probes the network
    /// anyway (`default_credentials` with its own addresses) says so.
    fn is_network(&self) -> bool {
        self.family().is_some()
    }

    /// Whether the check loads or disturbs its target (a burst, forged deliveries, login
    /// attempts): it then runs after the target's other checks, and alone on the target, so that
    /// it cannot change what they measure.
    fn disturbs(&self) -> bool {
        false
    }

    /// The longest the check waits on purpose (a `rate_limit` reset waits up to `max_wait`):
    /// its timeout covers that wait on top of the time its requests may take.
    fn waits(&self) -> Duration {
        Duration::ZERO
    }

    /// Whether the check must name a target: not when it addresses its own `url:`.
    fn needs_target(&self) -> bool {
        self.family().is_some()
    }

    /// The target the kind names in its own parameters (`backup: { wal_archiving: db }`), used
    /// when the check has no `target:`.
    fn implied_target(&self) -> Option<&str> {
        None
    }
}

impl Kind {
    /// Every kind key a check may hold, in declaration order.
    pub const NAMES: &'static [&'static str] = <Kind as VariantNames>::VARIANTS;

    /// Reads the parameters under a kind key; `None` when `name` is not a kind. Any serde
    /// deserializer of the parameters will do (the loader passes its located YAML node).
    pub fn parse<'de, D: Deserializer<'de>>(
        name: &str,
        params: D,
    ) -> Option<Result<Kind, D::Error>> {
        let tag = Kind::NAMES.iter().find(|n| **n == name)?;
        Some(Kind::deserialize(Tagged { tag, params }))
    }

    /// The key the kind is written under (`rls_audit`).
    pub fn name(&self) -> &'static str {
        self.into()
    }

    fn spec(&self) -> &dyn KindSpec {
        match self {
            Kind::Sql(p) => p,
            Kind::RlsAudit(p) => p,
            Kind::RlsProbe(p) => p,
            Kind::AuditLog(p) => p,
            Kind::Schema(p) => p,
            Kind::Migrations(p) => p,
            Kind::CronJob(p) => p,
            Kind::Http(p) => p,
            Kind::Env(p) => p,
            Kind::File(p) => p,
            Kind::Command(p) => p,
            Kind::Secret(p) => p,
            Kind::Coverage(p) => p,
            Kind::Backup(p) => p,
            Kind::DefaultCredentials(p) => p,
            Kind::Health(p) => p,
            Kind::RateLimit(p) => p,
            Kind::SecurityHeaders(p) => p,
            Kind::WebhookSignature(p) => p,
            Kind::Tls(p) => p,
        }
    }

    /// The family of target the kind needs; `None` for local kinds.
    pub fn family(&self) -> Option<TargetFamily> {
        self.spec().family()
    }

    /// The target a kind names in its own parameters, used when the check has no `target:`.
    pub fn implied_target(&self) -> Option<&str> {
        self.spec().implied_target()
    }

    /// A target is optional when the check can name its own address (`http` with `url:`).
    pub fn needs_target(&self) -> bool {
        self.spec().needs_target()
    }

    /// Whether `retries` applies: only probes over the network can be flaky.
    pub fn is_network(&self) -> bool {
        self.spec().is_network()
    }

    /// The longest the check waits on purpose, added to its timeout.
    pub fn waits(&self) -> Duration {
        self.spec().waits()
    }

    /// Whether the check must run after its target's other checks, and alone on it.
    pub fn disturbs(&self) -> bool {
        self.spec().disturbs()
    }
}

/// Runs one check. The loader has checked that its target, if any, is of the kind's family.
pub async fn run(kind: &Kind, ctx: &Ctx<'_>) -> CheckOutcome {
    let outcome = run_kind(kind, ctx).await;
    match ctx.target {
        Some(Connection::Postgres(db)) => db.with_role_warning(ctx, outcome).await,
        _ => outcome,
    }
}

async fn run_kind(kind: &Kind, ctx: &Ctx<'_>) -> CheckOutcome {
    match kind {
        Kind::Sql(p) => postgres::sql::run(p, ctx).await,
        Kind::RlsAudit(p) => postgres::rls_audit::run(p, ctx).await,
        Kind::RlsProbe(p) => postgres::rls_probe::run(p, ctx).await,
        Kind::AuditLog(p) => postgres::audit_log::run(p, ctx).await,
        Kind::Schema(p) => postgres::schema::run(p, ctx).await,
        Kind::Migrations(p) => postgres::migrations::run(p, ctx).await,
        Kind::CronJob(p) => postgres::cron_job::run(p, ctx).await,
        Kind::Http(p) => http::request::run(p, ctx).await,
        Kind::Env(p) => local::env::run(p, ctx).await,
        Kind::File(p) => local::file::run(p, ctx).await,
        Kind::Command(p) => local::command::run(p, ctx).await,
        Kind::Secret(p) => local::secret::run(p, ctx).await,
        Kind::Coverage(p) => local::coverage::run(p, ctx).await,
        Kind::Backup(p) => backup::run(p, ctx).await,
        Kind::DefaultCredentials(p) => network::default_credentials::run(p, ctx).await,
        Kind::Health(p) => http::health::run(p, ctx).await,
        Kind::RateLimit(p) => http::rate_limit::run(p, ctx).await,
        Kind::SecurityHeaders(p) => http::security_headers::run(p, ctx).await,
        Kind::WebhookSignature(p) => http::webhook_signature::run(p, ctx).await,
        Kind::Tls(p) => http::tls::run(p, ctx).await,
    }
}

/// A kind key and its parameters seen by serde as the one-key mapping `{ tag: params }`, so that
/// `Kind`'s derived `Deserialize` reads them without the mapping being built.
struct Tagged<'n, D> {
    tag: &'n str,
    params: D,
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Tagged<'_, D> {
    type Error = D::Error;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        visitor.visit_enum(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

impl<'de, D: Deserializer<'de>> EnumAccess<'de> for Tagged<'_, D> {
    type Error = D::Error;
    type Variant = TaggedParams<D>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, TaggedParams<D>), D::Error> {
        let variant = seed.deserialize(self.tag.into_deserializer())?;
        Ok((variant, TaggedParams(self.params)))
    }
}

struct TaggedParams<D>(D);

impl<'de, D: Deserializer<'de>> VariantAccess<'de> for TaggedParams<D> {
    type Error = D::Error;

    fn unit_variant(self) -> Result<(), D::Error> {
        Err(de::Error::custom("every kind takes parameters"))
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, D::Error> {
        seed.deserialize(self.0)
    }

    fn tuple_variant<V: de::Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_seq(visitor)
    }

    fn struct_variant<V: de::Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_struct("", fields, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use strum::VariantArray;

    #[test]
    fn a_kind_is_read_from_its_key_and_parameters() {
        let kind = Kind::parse("sql", json!({ "query": "select 1" }));
        assert!(matches!(kind, Some(Ok(Kind::Sql(_)))), "{kind:?}");
        assert!(Kind::parse("htpp", json!({})).is_none());
        let error = Kind::parse("env", json!({ "vars": "HOME", "nope": 1 })).unwrap();
        assert!(error.is_err());
    }

    #[test]
    fn names_come_from_the_variants() {
        assert_eq!(Kind::NAMES.len(), KindName::VARIANTS.len());
        for (name, discriminant) in Kind::NAMES.iter().zip(KindName::VARIANTS) {
            assert_eq!(*name, <&str>::from(discriminant));
            assert_eq!(name.parse::<KindName>().ok(), Some(*discriminant));
        }
        assert!(Kind::NAMES.contains(&"default_credentials"));
        let kind = Kind::parse("rls_audit", json!({})).unwrap().unwrap();
        assert_eq!(kind.name(), "rls_audit");
    }

    #[test]
    fn each_kind_declares_its_needs() {
        let kind = |name: &str, params| Kind::parse(name, params).unwrap().unwrap();
        let sql = kind("sql", json!({ "query": "select 1" }));
        assert_eq!(sql.family(), Some(TargetFamily::Postgres));
        assert!(sql.needs_target() && sql.is_network());
        let own_url = kind("http", json!({ "url": "https://example.com/health" }));
        assert_eq!(own_url.family(), Some(TargetFamily::Http));
        assert!(!own_url.needs_target() && own_url.is_network());
        let redis = kind("default_credentials", json!({ "redis": "localhost:6379" }));
        assert!(redis.family().is_none() && !redis.needs_target());
        assert!(
            redis.is_network(),
            "a credentials probe is a network probe and retries"
        );
        let file = kind("file", json!({ "path": "README.md" }));
        assert!(file.family().is_none() && !file.needs_target() && !file.is_network());
        assert!(redis.disturbs() && !sql.disturbs() && !own_url.disturbs() && !file.disturbs());
        let burst = kind("rate_limit", json!({ "path": "/api" }));
        assert!(burst.disturbs(), "a burst loads its target");
    }

    /// What every kind declares, most of it from `KindSpec`'s defaults: (kind, parameters,
    /// family, network probe, disturbs its target, needs a target).
    #[test]
    fn every_kind_declares_family_network_disturbance_and_target() {
        use TargetFamily::{Http, Postgres};
        let pg = Some(Postgres);
        let http = Some(Http);
        let url = "https://example.com/x";
        let mut wrong = Vec::new();
        for (name, params, family, network, disturbs, needs_target) in [
            ("sql", json!({ "query": "select 1" }), pg, true, false, true),
            ("rls_audit", json!({}), pg, true, false, true),
            (
                "rls_probe",
                json!({ "table": "t", "owner_column": "o", "claims": { "sub": "u" } }),
                pg,
                true,
                false,
                true,
            ),
            ("schema", json!({}), pg, true, false, true),
            (
                "migrations",
                json!({ "tool": "supabase" }),
                pg,
                true,
                false,
                true,
            ),
            (
                "cron_job",
                json!({ "jobs": ["nightly"] }),
                pg,
                true,
                false,
                true,
            ),
            ("http", json!({ "path": "/" }), http, true, false, true),
            ("http", json!({ "url": url }), http, true, false, false),
            ("health", json!({ "path": "/" }), http, true, false, true),
            ("health", json!({ "url": url }), http, true, false, false),
            (
                "security_headers",
                json!({ "url": url }),
                http,
                true,
                false,
                false,
            ),
            ("rate_limit", json!({ "path": "/" }), http, true, true, true),
            ("rate_limit", json!({ "url": url }), http, true, true, false),
            (
                "webhook_signature",
                json!({ "path": "/", "scheme": "hmac-sha256", "secret": "env:S" }),
                http,
                true,
                true,
                true,
            ),
            ("tls", json!({}), http, true, false, true),
            (
                "tls",
                json!({ "host": "example.com" }),
                http,
                true,
                false,
                false,
            ),
            ("backup", json!({ "dir": "b" }), None, false, false, false),
            (
                "backup",
                json!({ "wal_archiving": "db" }),
                pg,
                true,
                false,
                true,
            ),
            ("env", json!({ "vars": ["X"] }), None, false, false, false),
            ("file", json!({ "path": "x" }), None, false, false, false),
            (
                "command",
                json!({ "run": ["true"] }),
                None,
                false,
                false,
                false,
            ),
            (
                "secret",
                json!({ "from": "env:S" }),
                None,
                false,
                false,
                false,
            ),
            (
                "coverage",
                json!({ "report": "lcov.info", "min_lines": 90 }),
                None,
                false,
                false,
                false,
            ),
            (
                "default_credentials",
                json!({ "redis": "h:6379" }),
                None,
                true,
                true,
                false,
            ),
        ] {
            let declared = match Kind::parse(name, params.clone()) {
                Some(Ok(kind)) => Ok((
                    kind.family(),
                    kind.is_network(),
                    kind.disturbs(),
                    kind.needs_target(),
                )),
                other => Err(format!("{other:?}")),
            };
            if declared != Ok((family, network, disturbs, needs_target)) {
                wrong.push(format!("{name} {params}: {declared:?}"));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    /// Adding a kind is its module, its variant and its docs: a missing page or README row fails.
    #[test]
    fn every_kind_has_a_reference_page_and_a_readme_row() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        for name in Kind::NAMES {
            let page = format!("docs/kinds/{name}.md");
            assert!(root.join(&page).is_file(), "{page} is missing");
            let row = format!("| [`{name}`]({page}) |");
            assert!(
                readme.contains(&row),
                "the README's kind table has no row `{row}`"
            );
        }
        for page in std::fs::read_dir(root.join("docs/kinds")).unwrap() {
            let path = page.unwrap().path();
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            assert!(
                Kind::NAMES.contains(&stem),
                "{} documents no kind",
                path.display()
            );
        }
    }
}
