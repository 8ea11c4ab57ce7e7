//! Where a finding's database object comes from: the migration statement that created or last
//! changed it (SPEC §5, `location`).
//!
//! The index is built once per run from the migration folders (the suite's `migrations` checks,
//! or `ready check --migrations DIR`), before evaluation; `evaluate` looks up each finding of a
//! kind that names database objects. Reading a folder never fails the run: what cannot be read
//! is left out, and a finding without a location is reported as before.

mod objects;
mod split;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use objects::Object;
use objects::{Effect, effect};

use crate::checks::Kind;
use crate::model::{CheckState, Suite};
use crate::result::Location;

/// Object → the statement that created or last changed it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Locations {
    index: BTreeMap<Object, Location>,
}

impl Locations {
    /// No migration folder: no finding is located.
    pub const EMPTY: Locations = Locations {
        index: BTreeMap::new(),
    };

    /// Indexes every migration of `folders`, in order; a later file (by path within its folder)
    /// and a later statement in a file win. Files are named relative to `cwd` when below it, as
    /// CI annotations and readers want them.
    pub fn read(folders: &[PathBuf], cwd: Option<&Path>) -> Locations {
        let mut locations = Locations::default();
        for folder in folders {
            for (relative, sql) in migration_files(folder) {
                let shown = shown_path(&folder.join(&relative), cwd);
                locations.add_file(&shown, &sql);
            }
        }
        locations
    }

    /// Indexes one file's statements, under the name `file`.
    pub fn add_file(&mut self, file: &str, sql: &str) {
        let mut schema = "public".to_string();
        for piece in split::statements(sql) {
            match effect(&piece, &schema) {
                Some(Effect::SearchPath(path)) => schema = path,
                Some(Effect::Touches(object)) => {
                    let location = Location {
                        file: file.to_string(),
                        line: piece.line,
                    };
                    self.index.insert(object, location);
                }
                None => {}
            }
        }
    }

    pub fn get(&self, object: &Object) -> Option<&Location> {
        self.index.get(object)
    }

    /// The location of the object a finding of `kind` about `subject` names, if indexed.
    pub fn of_finding(&self, kind: &str, subject: &str) -> Option<Location> {
        object_of(kind, subject).and_then(|o| self.get(&o).cloned())
    }
}

/// The migration folders a run indexes: `--migrations` first, then those of the suite's
/// `migrations` checks, each once.
pub fn folders(suite: &Suite, base_dir: &Path, given: Option<&Path>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = given.map(Path::to_path_buf).into_iter().collect();
    for check in &suite.checks {
        if let CheckState::Ready(kind) = &check.state
            && let Kind::Migrations(params) = kind.as_ref()
            && let Some(dir) = params
                .folder_candidates()
                .iter()
                .map(|d| base_dir.join(d))
                .find(|d| d.is_dir())
            && !out.contains(&dir)
        {
            out.push(dir);
        }
    }
    out
}

/// `dir/x.sql` rather than `./dir/x.sql` or `/work/repo/dir/x.sql`, as a user would write it.
fn shown_path(path: &Path, cwd: Option<&Path>) -> String {
    let below = |base: &Path| path.strip_prefix(base).ok();
    cwd.and_then(below)
        .or_else(|| below(Path::new(".")))
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// The up-migrations of a folder (`*.sql`, and `*/migration.sql` as Prisma lays them out),
/// sorted by path; down and undo scripts are left out. Unreadable files are skipped.
fn migration_files(folder: &Path) -> Vec<(PathBuf, String)> {
    let mut relative: Vec<PathBuf> = Vec::new();
    for entry in read_dir(folder) {
        let name = PathBuf::from(entry.file_name());
        if entry.path().is_dir() {
            relative.extend(
                read_dir(&entry.path())
                    .filter(|e| is_up_migration(&e.file_name().to_string_lossy()))
                    .map(|e| name.join(e.file_name())),
            );
        } else if is_up_migration(&entry.file_name().to_string_lossy()) {
            relative.push(name);
        }
    }
    relative.sort();
    relative
        .into_iter()
        .filter_map(|r| {
            let bytes = std::fs::read(folder.join(&r)).ok()?;
            Some((r, String::from_utf8_lossy(&bytes).into_owned()))
        })
        .collect()
}

fn read_dir(dir: &Path) -> impl Iterator<Item = std::fs::DirEntry> {
    std::fs::read_dir(dir).into_iter().flatten().flatten()
}

fn is_up_migration(name: &str) -> bool {
    let undo = name.starts_with('U') && name[1..].starts_with(|c: char| c.is_ascii_digit());
    name.ends_with(".sql") && !name.contains(".down.") && !undo
}

/// The object a finding names, for the kinds whose subjects are database objects:
/// `schema.table`, `schema.table/policy` (a policy), `schema.table/anything else` (the table:
/// a constraint, trigger or role on it), `schema.function(args)`, and for `schema`, whose
/// subjects are the tables as the check wrote them, `table(columns)` and unqualified names.
pub fn object_of(kind: &str, subject: &str) -> Option<Object> {
    let (head, rest) = match subject.split_once('/') {
        Some((head, rest)) => (head, Some(rest)),
        None => (subject, None),
    };
    let qualified = |name: &str| match name.contains('.') {
        true => Some(name.to_string()),
        false => (kind == "schema").then(|| format!("public.{name}")),
    };
    match kind {
        "rls_audit" if head.contains('(') && rest.is_none() => {
            let name = head.split_once('(')?.0;
            name.contains('.').then(|| Object::Function(name.into()))
        }
        "rls_audit" if rest.is_some() => Some(Object::Policy(subject.into())),
        "rls_audit" | "audit_log" => qualified(head).map(Object::Relation),
        "schema" => qualified(head.split_once('(').map_or(head, |(t, _)| t)).map(Object::Relation),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(file: &str, line: u32) -> Option<Location> {
        Some(Location {
            file: file.into(),
            line,
        })
    }

    #[test]
    fn the_last_file_and_statement_that_touch_an_object_win() {
        let mut l = Locations::default();
        l.add_file(
            "m/001.sql",
            "create table w (id int);\n\ncreate view v as select 1;\n",
        );
        l.add_file(
            "m/002.sql",
            "-- rls\nalter table w\n  enable row level security;\n",
        );
        l.add_file("m/003.sql", "create or replace view v as select 2;\n");
        let w = Object::Relation("public.w".into());
        let v = Object::Relation("public.v".into());
        assert_eq!(l.get(&w).cloned(), at("m/002.sql", 2));
        assert_eq!(l.get(&v).cloned(), at("m/003.sql", 1));
    }

    #[test]
    fn search_path_qualifies_the_names_after_it_within_one_file() {
        let mut l = Locations::default();
        l.add_file(
            "a.sql",
            "set search_path to app;\ncreate table t (id int);\n",
        );
        l.add_file("b.sql", "create table t (id int);\n");
        assert_eq!(
            l.get(&Object::Relation("app.t".into())).cloned(),
            at("a.sql", 2)
        );
        assert_eq!(
            l.get(&Object::Relation("public.t".into())).cloned(),
            at("b.sql", 1)
        );
    }

    #[test]
    fn finding_subjects_name_their_objects_per_kind() {
        let rel = |n: &str| Some(Object::Relation(n.into()));
        assert_eq!(object_of("rls_audit", "public.w"), rel("public.w"));
        assert_eq!(
            object_of("rls_audit", "public.w/Owner reads"),
            Some(Object::Policy("public.w/Owner reads".into()))
        );
        assert_eq!(
            object_of("rls_audit", "app.pay(integer, text)"),
            Some(Object::Function("app.pay".into()))
        );
        assert_eq!(object_of("rls_audit", "anon"), None);
        assert_eq!(object_of("rls_audit", "api_roles"), None);
        assert_eq!(
            object_of("schema", "public.w/w_owner_fkey"),
            rel("public.w")
        );
        assert_eq!(object_of("schema", "w(owner, id)"), rel("public.w"));
        assert_eq!(object_of("schema", "app.w"), rel("app.w"));
        assert_eq!(object_of("audit_log", "public.w/audit_w"), rel("public.w"));
        assert_eq!(object_of("audit_log", "audit_log"), None);
        assert_eq!(object_of("sql", "public.w"), None);
    }

    #[test]
    fn down_and_undo_scripts_are_not_migrations() {
        assert!(is_up_migration("001_init.up.sql"));
        assert!(is_up_migration("20240101_init.sql"));
        assert!(is_up_migration("V2__add.sql"));
        assert!(!is_up_migration("001_init.down.sql"));
        assert!(!is_up_migration("U2__add.sql"));
        assert!(!is_up_migration("notes.md"));
    }

    #[test]
    fn a_folder_is_read_in_path_order_including_prisma_subfolders() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(p.join("002.sql"), "create table t (id int);").unwrap();
        std::fs::write(p.join("001.sql"), "create table t (id int);").unwrap();
        std::fs::write(p.join("003.down.sql"), "create table t (id int);").unwrap();
        std::fs::create_dir(p.join("004_x")).unwrap();
        std::fs::write(
            p.join("004_x/migration.sql"),
            "\ncreate view v as select 1;",
        )
        .unwrap();
        let l = Locations::read(&[p.to_path_buf()], None);
        let file = |f: &str| p.join(f).to_string_lossy().into_owned();
        assert_eq!(
            l.get(&Object::Relation("public.t".into())).cloned(),
            at(&file("002.sql"), 1)
        );
        assert_eq!(
            l.get(&Object::Relation("public.v".into())).cloned(),
            at(&file("004_x/migration.sql"), 2)
        );
        assert_eq!(shown_path(Path::new("./m/001.sql"), None), "m/001.sql");
        assert_eq!(shown_path(&p.join("m/001.sql"), Some(p)), "m/001.sql");
        assert_eq!(
            shown_path(Path::new("/elsewhere/001.sql"), Some(p)),
            "/elsewhere/001.sql"
        );
    }
}
