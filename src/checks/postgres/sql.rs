//! `sql`: a read-only query and what its result must look like.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde_json::{Map, Value as Json};
use sqlx::{AssertSqlSafe, Column, Executor, Row, SqlSafeStr, Statement};

use super::describe;
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::{Ctx, KindSpec};
use crate::model::TargetFamily;

/// Beyond this many offending rows the rest are counted, not listed.
const MAX_ROW_FINDINGS: usize = 200;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlParams {
    #[serde(deserialize_with = "row_query")]
    pub query: String,
    #[serde(default = "no_rows")]
    pub expect: Expect,
}

/// The statements that can return rows. INSERT, UPDATE, DELETE and MERGE can too (`RETURNING`);
/// they pass here and the read-only transaction refuses them at run time with its own message.
const ROW_STATEMENTS: &[&str] = &[
    "SELECT", "WITH", "VALUES", "TABLE", "SHOW", "EXPLAIN", "(", "INSERT", "UPDATE", "DELETE",
    "MERGE",
];

/// A query that checks nothing is a configuration error: an empty text (or only comments and
/// `;`), and a statement that returns no rows, e.g. `COMMIT`, `ROLLBACK`, `BEGIN`, `SET`.
fn row_query<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let query = String::deserialize(deserializer)?;
    match leading_keyword(&query) {
        None => Err(serde::de::Error::custom(
            "the query is empty: write a statement that returns rows (e.g. SELECT …)",
        )),
        Some(word) if !ROW_STATEMENTS.contains(&word.as_str()) => {
            Err(serde::de::Error::custom(format!(
                "`{word}` returns no rows: a `sql` query must be a statement that returns rows (SELECT, WITH, VALUES, TABLE, SHOW or EXPLAIN)"
            )))
        }
        Some(_) => Ok(query),
    }
}

/// The first keyword of the statement, upper-cased, after whitespace, `;` and comments (`--` and
/// nested `/* */`); `(` for a parenthesised query; `None` when there is no statement at all.
fn leading_keyword(query: &str) -> Option<String> {
    let mut rest = query;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ';');
        if let Some(comment) = rest.strip_prefix("--") {
            rest = comment.split_once('\n').map_or("", |(_, after)| after);
        } else if rest.starts_with("/*") {
            rest = after_block_comment(rest)?;
        } else {
            break;
        }
    }
    let first = rest.chars().next()?;
    if first == '(' {
        return Some("(".into());
    }
    let word: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    Some(if word.is_empty() {
        first.to_string()
    } else {
        word.to_uppercase()
    })
}

/// What follows a `/* … */` comment at the start of `text` (PostgreSQL nests them); `None` when
/// it is not closed.
fn after_block_comment(text: &str) -> Option<&str> {
    let mut depth = 0usize;
    let mut i = 0;
    let bytes = text.as_bytes();
    while i + 1 < bytes.len() {
        match &bytes[i..i + 2] {
            b"/*" => (depth, i) = (depth + 1, i + 2),
            b"*/" => {
                (depth, i) = (depth - 1, i + 2);
                if depth == 0 {
                    return Some(&text[i..]);
                }
            }
            _ => i += 1,
        }
    }
    None
}

fn no_rows() -> Expect {
    Expect::Rows(RowCount::Exactly(0))
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Expect {
    Rows(RowCount),
    Value(Json),
}

/// `rows: 0` or `rows: { min: 1, max: 5 }`.
#[derive(Debug, Clone)]
pub enum RowCount {
    Exactly(u64),
    Between { min: Option<u64>, max: Option<u64> },
}

impl<'de> Deserialize<'de> for RowCount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Range {
            min: Option<u64>,
            max: Option<u64>,
        }
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RowCount;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a row count or { min, max }")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RowCount, E> {
                Ok(RowCount::Exactly(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RowCount, E> {
                u64::try_from(v)
                    .map(RowCount::Exactly)
                    .map_err(|_| E::custom("a row count cannot be negative"))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RowCount, A::Error> {
                let range = Range::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                if range.min.is_none() && range.max.is_none() {
                    return Err(serde::de::Error::custom(
                        "`rows: {}` sets no bound: give `min`, `max` or both, or a number",
                    ));
                }
                if let (Some(min), Some(max)) = (range.min, range.max)
                    && min > max
                {
                    return Err(serde::de::Error::custom(format!(
                        "min {min} is above max {max}"
                    )));
                }
                Ok(RowCount::Between {
                    min: range.min,
                    max: range.max,
                })
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl JsonSchema for RowCount {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RowCount".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                {
                    "type": "object",
                    "properties": {
                        "min": { "type": "integer", "minimum": 0 },
                        "max": { "type": "integer", "minimum": 0 }
                    },
                    "additionalProperties": false,
                    "minProperties": 1
                }
            ]
        })
    }
}

impl KindSpec for SqlParams {
    fn family(&self) -> Option<TargetFamily> {
        Some(TargetFamily::Postgres)
    }
}

pub async fn run(params: &SqlParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let (db, timeout) = (ctx.postgres()?, ctx.timeout);
    let mut tx = db.read_only(timeout).await?;
    let result = query_rows(&mut tx, &params.query).await;
    db.finish(tx).await;
    let rows = result?;
    Ok(judge(&params.expect, &rows))
}

/// The first `MAX_ROW_FINDINGS` rows a query returned and the exact count of all of them: rows
/// are read as a stream, so memory stays flat however many the query returns.
struct Rows {
    kept: Vec<TextRow>,
    count: u64,
}

/// A row as column name → text (NULL as null), in column order.
type TextRow = Map<String, Json>;

async fn query_rows(conn: &mut sqlx::PgConnection, query: &str) -> Result<Rows, CheckError> {
    let query = query.trim().trim_end_matches(';').trim();
    // Preparing first rejects a string of several statements: a `COMMIT; DELETE …` must never
    // get past the read-only transaction.
    let statement = conn
        .prepare(AssertSqlSafe(query).into_sql_str())
        .await
        .map_err(|e| CheckError::new(query_error(&e)))?;
    // The simple protocol returns every column as text, whatever its type.
    let mut stream = sqlx::raw_sql(AssertSqlSafe(query)).fetch(&mut *conn);
    let mut rows = Rows {
        kept: Vec::new(),
        count: 0,
    };
    while let Some(row) = futures::TryStreamExt::try_next(&mut stream)
        .await
        .map_err(|e| CheckError::new(query_error(&e)))?
    {
        rows.count += 1;
        if rows.kept.len() < MAX_ROW_FINDINGS {
            rows.kept.push(text_row(&row)?);
        }
    }
    // Checked after running, so that a write is reported as one. Only the server knows whether
    // a statement describes rows: one that does not (or has no column) checks nothing.
    if statement.columns().is_empty() {
        return Err(CheckError::new(
            "the query returns no columns, so there is nothing to check: a `sql` query must return rows with at least one column",
        ));
    }
    Ok(rows)
}

fn text_row(row: &sqlx::postgres::PgRow) -> Result<TextRow, CheckError> {
    let mut out = Map::new();
    for (i, column) in row.columns().iter().enumerate() {
        let text: Option<String> = row
            .try_get_unchecked(i)
            .map_err(|e| CheckError::new(format!("cannot read column {}: {e}", column.name())))?;
        out.insert(
            column.name().to_string(),
            text.map_or(Json::Null, Json::String),
        );
    }
    Ok(out)
}

fn query_error(e: &sqlx::Error) -> String {
    let text = describe(e);
    if text.contains("read-only transaction") {
        format!("the query tried to write, and checks run in a read-only transaction: {text}")
    } else {
        format!("query failed: {text}")
    }
}

fn judge(expect: &Expect, rows: &Rows) -> Observation {
    let mut obs = Observation::default();
    obs.measure("rows", rows.count as f64);
    match expect {
        Expect::Rows(RowCount::Exactly(0)) => each_row_a_finding(rows, &mut obs),
        Expect::Rows(range) => row_count(range, rows.count, &mut obs),
        Expect::Value(expected) => single_value(expected, rows, &mut obs),
    }
    obs
}

/// `rows: 0`: each row returned is a finding, named by its first column.
fn each_row_a_finding(rows: &Rows, obs: &mut Observation) {
    for row in &rows.kept {
        let subject = row.values().next().map(cell_text).unwrap_or_default();
        let details: Vec<String> = row
            .iter()
            .skip(1)
            .map(|(k, v)| format!("{k}={}", cell_text(v)))
            .collect();
        let message = if details.is_empty() {
            format!("{subject} returned by the query")
        } else {
            format!("{subject}: {}", details.join(", "))
        };
        obs.findings
            .push(Finding::fail(subject, message).with_evidence(Json::Object(row.clone())));
    }
    let count = rows.count;
    if count > MAX_ROW_FINDINGS as u64 {
        obs.summary = Some(format!(
            "{count} rows, the first {MAX_ROW_FINDINGS} listed (the rest were counted, not kept)"
        ));
    } else {
        obs.summary = Some(format!("{count} rows, expected none"));
    }
}

fn row_count(range: &RowCount, count: u64, obs: &mut Observation) {
    let (min, max) = match range {
        RowCount::Exactly(n) => (Some(*n), Some(*n)),
        RowCount::Between { min, max } => (*min, *max),
    };
    let wanted = match (min, max) {
        (Some(a), Some(b)) if a == b => format!("exactly {a}"),
        (Some(a), Some(b)) => format!("between {a} and {b}"),
        (Some(a), None) => format!("at least {a}"),
        (None, Some(b)) => format!("at most {b}"),
        (None, None) => "any number of".to_string(),
    };
    let ok = min.is_none_or(|m| count >= m) && max.is_none_or(|m| count <= m);
    let message = format!("the query returned {count} rows, expected {wanted}");
    if ok {
        obs.summary = Some(message);
    } else {
        obs.findings.push(Finding::fail("rows", message));
    }
}

fn single_value(expected: &Json, rows: &Rows, obs: &mut Observation) {
    let ([row], 1) = (rows.kept.as_slice(), rows.count) else {
        obs.findings.push(Finding::fail(
            "value",
            format!(
                "the query returned {} rows, expected exactly one with the value",
                rows.count
            ),
        ));
        return;
    };
    let actual = row.values().next().cloned().unwrap_or(Json::Null);
    let message = format!(
        "the query returned {}, expected {}",
        cell_text(&actual),
        expected_text(expected)
    );
    if same_value(&actual, expected) {
        obs.summary = Some(message);
    } else {
        obs.findings
            .push(Finding::fail("value", message).with_evidence(Json::Object(row.clone())));
    }
}

/// An integer in the YAML compares exactly with an integer from the server (`numeric`'s `3.00`
/// included): through f64, 9007199254740993 would equal 9007199254740992. Anything else (a
/// fraction on either side, a `float8` in exponent form) compares as f64 with a relative epsilon.
fn same_number(text: &str, expected: &serde_json::Number) -> bool {
    let exact = expected
        .as_i64()
        .map(i128::from)
        .or_else(|| expected.as_u64().map(i128::from));
    if let (Some(e), Some(a)) = (exact, integer_text(text)) {
        return e == a;
    }
    match (expected.as_f64(), text.parse::<f64>()) {
        (Some(e), Ok(a)) => (e - a).abs() <= f64::EPSILON * e.abs().max(1.0),
        _ => false,
    }
}

/// `-12`, `+12`, `12.000` as an exact integer; `None` for anything else.
fn integer_text(text: &str) -> Option<i128> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = whole.strip_prefix(['-', '+']).unwrap_or(whole);
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if digits.is_empty() || !plain(digits) || !fraction.bytes().all(|b| b == b'0') {
        return None;
    }
    whole.parse().ok()
}

fn cell_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => "NULL".into(),
        other => other.to_string(),
    }
}

fn expected_text(v: &Json) -> String {
    match v {
        Json::Null => "NULL".into(),
        Json::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

/// Compares PostgreSQL's text output with the YAML value: numbers as numbers (`1.50` = 1.5),
/// booleans in PostgreSQL's spelling (`t`), anything else as text.
fn same_value(actual: &Json, expected: &Json) -> bool {
    let Json::String(text) = actual else {
        return expected.is_null() && actual.is_null();
    };
    match expected {
        Json::Null => false,
        Json::Bool(b) => matches!(
            (b, text.as_str()),
            (true, "t" | "true") | (false, "f" | "false")
        ),
        Json::Number(n) => same_number(text.trim(), n),
        Json::String(s) => s == text,
        // Lists and mappings compare with json/jsonb columns.
        other => serde_json::from_str::<Json>(text).is_ok_and(|parsed| parsed == *other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(pairs: &[(&str, Option<&str>)]) -> TextRow {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    v.map_or(Json::Null, |s| Json::String(s.into())),
                )
            })
            .collect()
    }

    fn all(kept: Vec<TextRow>) -> Rows {
        Rows {
            count: kept.len() as u64,
            kept,
        }
    }

    #[test]
    fn past_the_kept_rows_the_rest_are_counted_exactly() {
        let kept: Vec<TextRow> = (0..MAX_ROW_FINDINGS)
            .map(|i| row(&[("id", Some(&i.to_string()))]))
            .collect();
        let rows = Rows {
            kept,
            count: 1_000_000,
        };
        let obs = judge(&Expect::Rows(RowCount::Exactly(0)), &rows);
        assert_eq!(obs.findings.len(), MAX_ROW_FINDINGS);
        assert_eq!(obs.measurements["rows"], 1_000_000.0);
        assert_eq!(
            obs.summary.as_deref(),
            Some("1000000 rows, the first 200 listed (the rest were counted, not kept)")
        );
        let obs = judge(&Expect::Rows(RowCount::Exactly(5)), &rows);
        assert_eq!(
            obs.findings[0].message,
            "the query returned 1000000 rows, expected exactly 5"
        );
        let obs = judge(&Expect::Value(json!(1)), &rows);
        assert_eq!(
            obs.findings[0].message,
            "the query returned 1000000 rows, expected exactly one with the value"
        );
    }

    #[test]
    fn each_row_is_a_finding_named_by_its_first_column() {
        let obs = judge(
            &Expect::Rows(RowCount::Exactly(0)),
            &all(vec![row(&[
                ("table", Some("public.a")),
                ("rows", Some("3")),
            ])]),
        );
        assert_eq!(obs.findings.len(), 1);
        assert_eq!(obs.findings[0].subject, "public.a");
        assert_eq!(obs.findings[0].message, "public.a: rows=3");
        assert_eq!(
            obs.findings[0].evidence,
            json!({"table": "public.a", "rows": "3"})
        );
    }

    #[test]
    fn row_ranges() {
        let two = vec![row(&[("x", Some("1"))]), row(&[("x", Some("2"))])];
        let obs = judge(
            &Expect::Rows(RowCount::Between {
                min: Some(3),
                max: None,
            }),
            &all(two.clone()),
        );
        assert_eq!(
            obs.findings[0].message,
            "the query returned 2 rows, expected at least 3"
        );
        let obs = judge(
            &Expect::Rows(RowCount::Between {
                min: Some(1),
                max: Some(2),
            }),
            &all(two),
        );
        assert!(obs.findings.is_empty());
    }

    #[test]
    fn values_compare_as_numbers_booleans_or_text() {
        assert!(same_value(&json!("1.50"), &json!(1.5)));
        assert!(same_value(&json!("t"), &json!(true)));
        assert!(!same_value(&json!("f"), &json!(true)));
        assert!(same_value(&json!("on"), &json!("on")));
        assert!(!same_value(&Json::Null, &json!("x")));
        assert!(same_value(&Json::Null, &Json::Null));
    }

    #[test]
    fn integers_compare_exactly() {
        assert!(!same_value(
            &json!("9007199254740993"),
            &json!(9007199254740992u64)
        ));
        assert!(same_value(
            &json!("9007199254740993"),
            &json!(9007199254740993u64)
        ));
        assert!(same_value(&json!("-3.00"), &json!(-3)));
        assert!(!same_value(&json!("3.5"), &json!(3)));
        assert!(same_value(&json!("1e+16"), &json!(10000000000000000u64)));
        assert!(same_value(&json!("18446744073709551615"), &json!(u64::MAX)));
    }

    #[test]
    fn statements_that_return_no_rows_are_refused() {
        let keyword = |q: &str| leading_keyword(q);
        for empty in [
            "",
            "  ",
            ";",
            "-- nothing",
            "/* a /* nested */ one */ ;\n-- x",
        ] {
            assert_eq!(keyword(empty), None, "{empty:?}");
        }
        assert_eq!(keyword("commit and chain").as_deref(), Some("COMMIT"));
        assert_eq!(keyword("-- why\n  select 1").as_deref(), Some("SELECT"));
        assert_eq!(keyword("/* x */(select 1)").as_deref(), Some("("));
        assert_eq!(keyword("/* not closed select 1"), None);
        let parse = |q: &str| serde_json::from_value::<SqlParams>(json!({ "query": q }));
        for q in [
            "",
            "-- nothing",
            ";",
            "COMMIT",
            "ROLLBACK",
            "COMMIT AND CHAIN",
            "begin",
            "SET x = 1",
        ] {
            assert!(parse(q).is_err(), "{q:?} was accepted");
        }
        assert_eq!(
            parse("COMMIT AND CHAIN").unwrap_err().to_string(),
            "`COMMIT` returns no rows: a `sql` query must be a statement that returns rows (SELECT, WITH, VALUES, TABLE, SHOW or EXPLAIN)"
        );
        assert!(parse("with a as (select 1) select * from a").is_ok());
        let unbounded = json!({ "query": "select 1", "expect": { "rows": {} } });
        assert!(serde_json::from_value::<SqlParams>(unbounded).is_err());
    }
}
