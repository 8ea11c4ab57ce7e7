//! Which database object a migration statement creates or changes.
//!
//! A statement is read with `sqlparser` (PostgreSQL dialect) where it parses; what it cannot
//! parse (newer syntax, another tool's extensions) is read from its tokens by a tolerant match
//! of the statement's head. Both readings give the same answer on what both understand.

use sqlparser::ast::{self, AlterTableOperation, ObjectName, ObjectNamePart, Statement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::split::{Piece, Token};

/// A database object as findings name it: schema-qualified, PostgreSQL's case folding applied.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Object {
    /// A table, view, materialized view or index (one namespace): `schema.name`.
    Relation(String),
    /// `schema.table/policy`.
    Policy(String),
    /// `schema.name`: every overload of the name.
    Function(String),
}

/// What one statement means for the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Touches(Object),
    /// `set search_path`: where the unqualified names after it live.
    SearchPath(String),
}

/// The effect of one statement, if it is one the index follows. `schema` qualifies unqualified
/// names.
pub fn effect(piece: &Piece, schema: &str) -> Option<Effect> {
    if let Some(path) = search_path(&piece.tokens) {
        return Some(Effect::SearchPath(path));
    }
    // Only DDL can touch an object: a data load's INSERTs are not worth parsing.
    let ddl = matches!(piece.tokens.first(), Some(Token::Word(w)) if w == "create" || w == "alter");
    if !ddl {
        return None;
    }
    let parsed = Parser::parse_sql(&PostgreSqlDialect {}, &piece.text);
    let object = match parsed.as_deref() {
        Ok([statement]) => parsed_object(statement, schema),
        _ => tolerant_object(&piece.tokens, schema),
    };
    object.map(Effect::Touches)
}

fn ident(i: &ast::Ident) -> String {
    match i.quote_style {
        Some(_) => i.value.clone(),
        None => i.value.to_lowercase(),
    }
}

/// `(schema, name)` of a parsed name; `None` for names this index cannot follow.
fn parts(name: &ObjectName, schema: &str) -> Option<(String, String)> {
    let idents: Vec<String> = name
        .0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => Some(ident(i)),
            ObjectNamePart::Function(_) => None,
        })
        .collect::<Option<_>>()?;
    match idents.as_slice() {
        [name] => Some((schema.to_string(), name.clone())),
        [.., s, name] => Some((s.clone(), name.clone())),
        [] => None,
    }
}

fn qualified(name: &ObjectName, schema: &str) -> Option<String> {
    parts(name, schema).map(|(s, n)| format!("{s}.{n}"))
}

fn parsed_object(statement: &Statement, schema: &str) -> Option<Object> {
    match statement {
        Statement::CreateTable(t) => qualified(&t.name, schema).map(Object::Relation),
        Statement::CreateView(v) => qualified(&v.name, schema).map(Object::Relation),
        Statement::CreateFunction(f) => qualified(&f.name, schema).map(Object::Function),
        Statement::CreatePolicy(p) => qualified(&p.table_name, schema)
            .map(|table| Object::Policy(format!("{table}/{}", ident(&p.name)))),
        Statement::CreateIndex(i) => {
            let (table_schema, _) = parts(&i.table_name, schema)?;
            let (_, index) = parts(i.name.as_ref()?, &table_schema)?;
            Some(Object::Relation(format!("{table_schema}.{index}")))
        }
        Statement::AlterTable(a) if a.operations.iter().any(changes_rls) => {
            qualified(&a.name, schema).map(Object::Relation)
        }
        _ => None,
    }
}

fn changes_rls(op: &AlterTableOperation) -> bool {
    matches!(
        op,
        AlterTableOperation::EnableRowLevelSecurity
            | AlterTableOperation::DisableRowLevelSecurity
            | AlterTableOperation::ForceRowLevelSecurity
            | AlterTableOperation::NoForceRowLevelSecurity
    )
}

/// A cursor over a statement's tokens for the tolerant match.
struct Head<'a> {
    tokens: &'a [Token],
    at: usize,
}

impl Head<'_> {
    fn word(&mut self, word: &str) -> bool {
        let found = matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w == word);
        self.at += usize::from(found);
        found
    }

    fn words(&mut self, words: &[&str]) -> bool {
        let start = self.at;
        let all = words.iter().all(|w| self.word(w));
        if !all {
            self.at = start;
        }
        all
    }

    fn any(&mut self, words: &[&str]) {
        while words.iter().any(|w| self.word(w)) {}
    }

    fn name_part(&mut self) -> Option<String> {
        let part = match self.tokens.get(self.at)? {
            Token::Word(w) => w.clone(),
            Token::Quoted(q) => q.clone(),
            _ => return None,
        };
        self.at += 1;
        Some(part)
    }

    /// `name` or `schema.name` (a database prefix is dropped).
    fn name(&mut self, schema: &str) -> Option<(String, String)> {
        let mut parts = vec![self.name_part()?];
        while self.tokens.get(self.at) == Some(&Token::Punct('.')) {
            self.at += 1;
            parts.push(self.name_part()?);
        }
        match parts.as_slice() {
            [name] => Some((schema.to_string(), name.clone())),
            [.., s, name] => Some((s.clone(), name.clone())),
            [] => None,
        }
    }

    fn qualified(&mut self, schema: &str) -> Option<String> {
        self.name(schema).map(|(s, n)| format!("{s}.{n}"))
    }
}

/// The object of a statement `sqlparser` could not read, from the words it starts with.
fn tolerant_object(tokens: &[Token], schema: &str) -> Option<Object> {
    let mut h = Head { tokens, at: 0 };
    if h.words(&["alter", "table"]) {
        h.words(&["if", "exists"]);
        h.word("only");
        let table = h.qualified(schema)?;
        let rls = tokens.windows(3).any(|w| {
            w.iter()
                .zip(["row", "level", "security"])
                .all(|(t, k)| *t == Token::Word(k.into()))
        });
        return rls.then_some(Object::Relation(table));
    }
    if !h.word("create") {
        return None;
    }
    h.words(&["or", "replace"]);
    h.any(&[
        "temp",
        "temporary",
        "unlogged",
        "materialized",
        "recursive",
        "unique",
    ]);
    if h.word("table") || h.word("view") {
        h.words(&["if", "not", "exists"]);
        return h.qualified(schema).map(Object::Relation);
    }
    if h.word("function") {
        return h.qualified(schema).map(Object::Function);
    }
    if h.word("policy") {
        let policy = h.name_part()?;
        h.word("on").then_some(())?;
        return Some(Object::Policy(format!("{}/{policy}", h.qualified(schema)?)));
    }
    if h.word("index") {
        h.word("concurrently");
        h.words(&["if", "not", "exists"]);
        let index = h.name_part()?;
        h.word("on").then_some(())?;
        h.word("only");
        let (table_schema, _) = h.name(schema)?;
        return Some(Object::Relation(format!("{table_schema}.{index}")));
    }
    None
}

/// `set [session|local] search_path to|= first, …`: the first schema, where new objects go
/// (`"$user"` is passed over: migrations do not run as a role named like a schema).
fn search_path(tokens: &[Token]) -> Option<String> {
    let mut h = Head { tokens, at: 0 };
    if !h.word("set") {
        return None;
    }
    h.any(&["session", "local"]);
    if !h.word("search_path") {
        return None;
    }
    if !h.word("to") && tokens.get(h.at) != Some(&Token::Punct('=')) {
        return None;
    }
    h.at += usize::from(tokens.get(h.at) == Some(&Token::Punct('=')));
    loop {
        let schema = h.name_part()?;
        if schema != "$user" {
            return Some(schema);
        }
        (tokens.get(h.at) == Some(&Token::Punct(','))).then_some(())?;
        h.at += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locations::split::statements;

    fn touched(sql: &str) -> Option<Object> {
        let piece = &statements(sql)[0];
        match effect(piece, "public")? {
            Effect::Touches(object) => Some(object),
            Effect::SearchPath(_) => None,
        }
    }

    fn tolerant(sql: &str) -> Option<Object> {
        tolerant_object(&statements(sql)[0].tokens, "public")
    }

    fn rel(name: &str) -> Option<Object> {
        Some(Object::Relation(name.into()))
    }

    const SHAPES: &[(&str, &str)] = &[
        (
            "create table wallets (id int primary key)",
            "public.wallets",
        ),
        (
            "CREATE TABLE IF NOT EXISTS App.\"Ledger\" (id int)",
            "app.Ledger",
        ),
        ("create unlogged table cache (k text)", "public.cache"),
        (
            "alter table only public.wallets enable row level security",
            "public.wallets",
        ),
        (
            "ALTER TABLE IF EXISTS wallets FORCE ROW LEVEL SECURITY",
            "public.wallets",
        ),
        (
            "create or replace view balances as select 1 as x",
            "public.balances",
        ),
        (
            "create materialized view app.totals as select 1 as x",
            "app.totals",
        ),
        (
            "create unique index wallets_owner on app.wallets (owner)",
            "app.wallets_owner",
        ),
        (
            "create index concurrently if not exists w_idx on wallets (id)",
            "public.w_idx",
        ),
    ];

    #[test]
    fn relations_are_named_as_findings_name_them_by_both_readings() {
        for (sql, name) in SHAPES {
            assert_eq!(touched(sql), rel(name), "{sql}");
            assert_eq!(tolerant(sql), rel(name), "tolerant: {sql}");
        }
    }

    #[test]
    fn functions_and_policies_by_both_readings() {
        let function = "create or replace function app.transfer(a int, b int) returns void \
                        language plpgsql security definer as $$ begin perform 1; end $$";
        let policy = "create policy \"Owner reads\" on wallets for select to authenticated \
                      using (owner = auth.uid())";
        for read in [touched, tolerant] {
            assert_eq!(
                read(function),
                Some(Object::Function("app.transfer".into()))
            );
            assert_eq!(
                read(policy),
                Some(Object::Policy("public.wallets/Owner reads".into()))
            );
        }
    }

    #[test]
    fn other_statements_touch_nothing() {
        for sql in [
            "alter table wallets add column note text",
            "insert into wallets values (1)",
            "create index on wallets (id)",
            "grant select on wallets to anon",
            "comment on table wallets is 'x'",
        ] {
            assert_eq!(touched(sql), None, "{sql}");
            assert_eq!(tolerant(sql), None, "tolerant: {sql}");
        }
    }

    #[test]
    fn what_the_parser_rejects_is_still_read_from_its_head() {
        // Not PostgreSQL sqlparser knows: the tolerant reading still names the table.
        let sql = "create table wallets (id int) with (fillfactor = 70) tablespace fast \
                   using heap_x partition of nonsense";
        assert_eq!(touched(sql), rel("public.wallets"));
    }

    #[test]
    fn set_search_path_names_the_schema_of_what_follows() {
        for (sql, schema) in [
            ("set search_path to app, public", "app"),
            ("SET LOCAL search_path = \"App\"", "App"),
            ("set search_path = \"$user\", app", "app"),
        ] {
            let piece = &statements(sql)[0];
            assert_eq!(
                effect(piece, "public"),
                Some(Effect::SearchPath(schema.into())),
                "{sql}"
            );
        }
        let piece = &statements("create table t (id int)")[0];
        assert_eq!(
            effect(piece, "app"),
            Some(Effect::Touches(Object::Relation("app.t".into())))
        );
    }
}
