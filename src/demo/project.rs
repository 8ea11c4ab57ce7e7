//! The demo's project folder: the suite, the wallet app's migrations, its dated backups, a
//! coverage report and a `.env`, each with the holes of the variant or without them.

use std::path::Path;

use anyhow::Context as _;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};

use super::Variant;

/// The suite the demo runs, written into the project folder as its `ready.yaml`.
pub const SUITE: &str = include_str!("suite/ready.yaml");

/// Rows loaded after the migrations.
pub const SEED: &str = include_str!("sql/seed.sql");

/// The JWT secret of Supabase's self-hosting tutorial: public, so anyone can forge tokens.
pub const TUTORIAL_JWT_SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";

/// A Supabase migration file, `VERSION_name.sql`.
pub struct Migration {
    pub version: &'static str,
    pub name: &'static str,
    pub sql: &'static str,
}

impl Migration {
    pub fn file_name(&self) -> String {
        format!("{}_{}.sql", self.version, self.name)
    }
}

/// The wallet app's migrations: the same schema for both variants, with or without the holes
/// in its row level security migration.
pub fn migrations(variant: Variant) -> [Migration; 3] {
    [
        Migration {
            version: "20261101090000",
            name: "wallet_schema",
            sql: include_str!("sql/01_wallet_schema.sql"),
        },
        Migration {
            version: "20261108090000",
            name: "row_level_security",
            sql: match variant {
                Variant::Holes => include_str!("sql/02_row_level_security.holes.sql"),
                Variant::Fixed => include_str!("sql/02_row_level_security.fixed.sql"),
            },
        },
        Migration {
            version: "20261120090000",
            name: "notification_settings",
            sql: include_str!("sql/03_notification_settings.sql"),
        },
    ]
}

/// How many migrations the database has applied: the last one is pending in the demo with holes.
pub fn applied_migrations(variant: Variant) -> usize {
    match variant {
        Variant::Holes => 2,
        Variant::Fixed => 3,
    }
}

/// The names of the nightly dumps: the last seven nights, or, with holes, a job that stopped
/// three nights ago.
pub fn backup_names(variant: Variant, now: DateTime<Utc>) -> Vec<String> {
    let nights = match variant {
        Variant::Holes => 3..10,
        Variant::Fixed => 0..7,
    };
    nights
        .map(|n| {
            let at = now - Duration::days(n) - Duration::minutes(5);
            format!("wallet-{}.sql", at.format("%Y-%m-%dT%H%M"))
        })
        .collect()
}

/// An lcov report of the wallet code: 64 of 100 lines covered, or 92 without the hole.
pub fn lcov(variant: Variant) -> String {
    let covered = match variant {
        Variant::Holes => 64,
        Variant::Fixed => 92,
    };
    let mut out = String::from("TN:\nSF:src/wallet/transfer.ts\n");
    for line in 1..=100 {
        out.push_str(&format!("DA:{line},{}\n", u32::from(line <= covered)));
    }
    out.push_str(&format!("LF:100\nLH:{covered}\nend_of_record\n"));
    out
}

/// The `.env`: the tutorial secret, or a fresh random one.
pub fn dotenv(variant: Variant) -> String {
    let secret = match variant {
        Variant::Holes => TUTORIAL_JWT_SECRET.to_string(),
        Variant::Fixed => {
            let mut bytes = [0u8; 48];
            rand::fill(&mut bytes[..]);
            base64::engine::general_purpose::STANDARD.encode(bytes)
        }
    };
    format!("# The wallet app's settings\nAPP_ENV=production\nJWT_SECRET={secret}\n")
}

/// Writes everything but the backups, which need the database.
pub fn write(dir: &Path, variant: Variant) -> anyhow::Result<()> {
    put(dir, "ready.yaml", SUITE)?;
    for m in migrations(variant) {
        put(
            dir,
            &format!("supabase/migrations/{}", m.file_name()),
            m.sql,
        )?;
    }
    put(dir, "supabase/seed.sql", SEED)?;
    put(dir, "coverage/lcov.info", lcov(variant))?;
    put(dir, ".env", dotenv(variant))
}

/// The same dump under each dated name.
pub fn write_backups(dir: &Path, variant: Variant, dump: &[u8]) -> anyhow::Result<()> {
    for name in backup_names(variant, Utc::now()) {
        put(dir, &format!("backups/{name}"), dump)?;
    }
    Ok(())
}

fn put(dir: &Path, relative: &str, contents: impl AsRef<[u8]>) -> anyhow::Result<()> {
    let path = dir.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(&path, contents).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn backups_stop_three_nights_ago_with_holes() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap();
        let holes = backup_names(Variant::Holes, now);
        assert_eq!(holes.first().unwrap(), "wallet-2026-11-27T0955.sql");
        assert_eq!(holes.len(), 7);
        let fixed = backup_names(Variant::Fixed, now);
        assert_eq!(fixed.first().unwrap(), "wallet-2026-11-30T0955.sql");
        assert_eq!(fixed.last().unwrap(), "wallet-2026-11-24T0955.sql");
    }

    #[test]
    fn coverage_is_below_80_percent_only_with_holes() {
        assert!(lcov(Variant::Holes).contains("LH:64\n"));
        assert!(lcov(Variant::Fixed).contains("LH:92\n"));
        assert_eq!(lcov(Variant::Fixed).matches("DA:").count(), 100);
    }

    #[test]
    fn the_fixed_secret_is_fresh_and_not_the_tutorial_one() {
        let fixed = dotenv(Variant::Fixed);
        assert!(!fixed.contains(TUTORIAL_JWT_SECRET));
        assert_ne!(fixed, dotenv(Variant::Fixed));
        assert!(dotenv(Variant::Holes).contains(TUTORIAL_JWT_SECRET));
    }

    #[test]
    fn the_last_migration_is_pending_only_with_holes() {
        assert_eq!(applied_migrations(Variant::Holes), 2);
        assert_eq!(
            applied_migrations(Variant::Fixed),
            migrations(Variant::Fixed).len()
        );
        assert_eq!(
            migrations(Variant::Holes)[2].file_name(),
            "20261120090000_notification_settings.sql"
        );
    }
}
