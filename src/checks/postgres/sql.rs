//! `sql`: a read-only query and what its result must look like.

use std::time::Instant;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};
use sqlx::{AssertSqlSafe, Column, Executor, Row, SqlSafeStr, Statement};

mod expect;

use expect::no_rows;
pub use expect::{Expect, ExpectResult, RowCount};

use super::describe;
use crate::checks::http::request::percentile;
use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::params::DurationParam;
use crate::checks::{Ctx, KindSpec};
use crate::target::TargetFamily;

/// Beyond this many offending rows the rest are counted, not listed.
const MAX_ROW_FINDINGS: usize = 200;

/// The most samples a check may take.
const MAX_SAMPLES: u32 = 1000;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlParams {
    #[serde(deserialize_with = "row_query")]
    pub query: String,
    #[serde(default = "no_rows")]
    pub expect: Expect,
    /// How many times the query runs (in the one read-only transaction) for its latency; the
    /// rows are judged from the first run.
    #[serde(default = "one", deserialize_with = "sample_count")]
    #[schemars(range(min = 1, max = 1000))]
    pub samples: u32,
}

fn one() -> u32 {
    1
}

fn sample_count<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let n = u64::deserialize(deserializer)?;
    match u32::try_from(n) {
        Ok(n @ 1..=MAX_SAMPLES) => Ok(n),
        _ => Err(serde::de::Error::custom(format!(
            "samples must be between 1 and {MAX_SAMPLES}, not {n}"
        ))),
    }
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

impl KindSpec for SqlParams {
    fn family(&self) -> Option<TargetFamily> {
        Some(TargetFamily::Postgres)
    }
}

pub async fn run(params: &SqlParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let (db, timeout) = (ctx.postgres()?, ctx.timeout);
    let mut tx = db.read_only(timeout).await?;
    let result = sample(&mut tx, params).await;
    db.finish(tx).await;
    let (rows, latencies) = result?;
    Ok(judge(&params.expect, &rows, &latencies))
}

/// Runs the query `samples` times: the rows of the first run, and each run's latency in ms.
async fn sample(
    conn: &mut sqlx::PgConnection,
    params: &SqlParams,
) -> Result<(Rows, Vec<f64>), CheckError> {
    let (rows, first) = query_rows(conn, &params.query).await?;
    let mut latencies = vec![first];
    for _ in 1..params.samples {
        latencies.push(time_query(conn, &params.query).await?);
    }
    Ok((rows, latencies))
}

/// One more run of the query, its rows read and dropped: how long it took, in ms.
async fn time_query(conn: &mut sqlx::PgConnection, query: &str) -> Result<f64, CheckError> {
    let query = query.trim().trim_end_matches(';').trim();
    let clock = Instant::now();
    let mut stream = sqlx::raw_sql(AssertSqlSafe(query)).fetch(&mut *conn);
    while futures::TryStreamExt::try_next(&mut stream)
        .await
        .map_err(|e| CheckError::new(query_error(&e)))?
        .is_some()
    {}
    Ok(clock.elapsed().as_secs_f64() * 1000.0)
}

/// The first `MAX_ROW_FINDINGS` rows a query returned and the exact count of all of them: rows
/// are read as a stream, so memory stays flat however many the query returns.
struct Rows {
    kept: Vec<TextRow>,
    count: u64,
}

/// A row as column name → text (NULL as null), in column order.
type TextRow = Map<String, Json>;

/// The rows, and how long the query took to return them all (ms), preparing left out.
async fn query_rows(conn: &mut sqlx::PgConnection, query: &str) -> Result<(Rows, f64), CheckError> {
    let query = query.trim().trim_end_matches(';').trim();
    // Preparing first rejects a string of several statements: a `COMMIT; DELETE …` must never
    // get past the read-only transaction.
    let statement = conn
        .prepare(AssertSqlSafe(query).into_sql_str())
        .await
        .map_err(|e| CheckError::new(query_error(&e)))?;
    // The simple protocol returns every column as text, whatever its type.
    let clock = Instant::now();
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
    let latency = clock.elapsed().as_secs_f64() * 1000.0;
    // Checked after running, so that a write is reported as one. Only the server knows whether
    // a statement describes rows: one that does not (or has no column) checks nothing.
    if statement.columns().is_empty() {
        return Err(CheckError::new(
            "the query returns no columns, so there is nothing to check: a `sql` query must return rows with at least one column",
        ));
    }
    Ok((rows, latency))
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

/// `latencies` has one entry per sample, in ms.
fn judge(expect: &Expect, rows: &Rows, latencies: &[f64]) -> Observation {
    let mut obs = Observation::default();
    obs.measure("rows", rows.count as f64);
    match &expect.result {
        ExpectResult::Rows(RowCount::Exactly(0)) => each_row_a_finding(rows, &mut obs),
        ExpectResult::Rows(range) => row_count(range, rows.count, &mut obs),
        ExpectResult::Value(expected) => single_value(expected, rows, &mut obs),
        ExpectResult::Any => {
            obs.summary = Some(format!("the query returned {} rows", rows.count));
        }
    }
    if latencies.len() > 1 || expect.max_latency.is_some() {
        latency(expect.max_latency, latencies, &mut obs);
    }
    obs
}

/// Percentiles over the samples, and a failure when the p95 is over `max_latency`.
fn latency(max_latency: Option<DurationParam>, latencies: &[f64], obs: &mut Observation) {
    let mut sorted = latencies.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (p50, p95) = (percentile(&sorted, 50.0), percentile(&sorted, 95.0));
    let max = sorted.last().copied().unwrap_or_default();
    obs.measure("p50_ms", round_ms(p50));
    obs.measure("p95_ms", round_ms(p95));
    obs.measure("max_ms", round_ms(max));
    let which = match sorted.len() {
        1 => "latency".to_string(),
        n => format!("p95 latency over {n} samples"),
    };
    let spread = format!("p50 {p50:.1} ms, p95 {p95:.1} ms, max {max:.1} ms");
    let Some(DurationParam(limit)) = max_latency else {
        obs.summary = obs.summary.take().map(|s| format!("{s}; {spread}"));
        return;
    };
    let limit_ms = limit.as_secs_f64() * 1000.0;
    if p95 > limit_ms {
        obs.findings.push(
            Finding::fail(
                "latency",
                format!("{which} is {p95:.1} ms, over the limit of {limit_ms:.0} ms ({spread})"),
            )
            .with_evidence(json!({"samples": sorted.len(), "max_latency_ms": limit_ms})),
        );
    } else {
        let within = format!("{which} {p95:.1} ms within {limit_ms:.0} ms ({spread})");
        obs.summary = Some(match obs.summary.take() {
            Some(s) => format!("{s}; {within}"),
            None => within,
        });
    }
}

fn round_ms(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
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

    /// The rows judged, one sample and no latency limit.
    fn judge_rows(result: ExpectResult, rows: &Rows) -> Observation {
        let expect = Expect {
            result,
            max_latency: None,
        };
        judge(&expect, rows, &[1.0])
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
        let obs = judge_rows(ExpectResult::Rows(RowCount::Exactly(0)), &rows);
        assert_eq!(obs.findings.len(), MAX_ROW_FINDINGS);
        assert_eq!(obs.measurements["rows"], 1_000_000.0);
        assert_eq!(
            obs.summary.as_deref(),
            Some("1000000 rows, the first 200 listed (the rest were counted, not kept)")
        );
        let obs = judge_rows(ExpectResult::Rows(RowCount::Exactly(5)), &rows);
        assert_eq!(
            obs.findings[0].message,
            "the query returned 1000000 rows, expected exactly 5"
        );
        let obs = judge_rows(ExpectResult::Value(json!(1)), &rows);
        assert_eq!(
            obs.findings[0].message,
            "the query returned 1000000 rows, expected exactly one with the value"
        );
    }

    #[test]
    fn each_row_is_a_finding_named_by_its_first_column() {
        let obs = judge_rows(
            ExpectResult::Rows(RowCount::Exactly(0)),
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
        let obs = judge_rows(
            ExpectResult::Rows(RowCount::Between {
                min: Some(3),
                max: None,
            }),
            &all(two.clone()),
        );
        assert_eq!(
            obs.findings[0].message,
            "the query returned 2 rows, expected at least 3"
        );
        let obs = judge_rows(
            ExpectResult::Rows(RowCount::Between {
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

    fn with_latency(limit: Option<&str>) -> Expect {
        Expect {
            result: ExpectResult::Rows(RowCount::Exactly(0)),
            max_latency: limit
                .map(|l| DurationParam(crate::checks::params::parse_duration(l).unwrap())),
        }
    }

    #[test]
    fn a_p95_over_the_limit_fails_with_its_percentiles() {
        let latencies = [52.0, 50.0, 51.0, 55.0, 53.0];
        let obs = judge(&with_latency(Some("10ms")), &all(vec![]), &latencies);
        assert_eq!(obs.findings.len(), 1);
        assert_eq!(obs.findings[0].subject, "latency");
        assert_eq!(
            obs.findings[0].message,
            "p95 latency over 5 samples is 55.0 ms, over the limit of 10 ms (p50 52.0 ms, p95 55.0 ms, max 55.0 ms)"
        );
        assert_eq!(obs.measurements["p50_ms"], 52.0);
        assert_eq!(obs.measurements["p95_ms"], 55.0);
        assert_eq!(obs.measurements["max_ms"], 55.0);
        let fast = judge(&with_latency(Some("100ms")), &all(vec![]), &latencies);
        assert!(fast.findings.is_empty());
        assert_eq!(
            fast.summary.as_deref(),
            Some(
                "0 rows, expected none; p95 latency over 5 samples 55.0 ms within 100 ms (p50 52.0 ms, p95 55.0 ms, max 55.0 ms)"
            )
        );
    }

    #[test]
    fn one_sample_without_a_limit_measures_only_rows() {
        let obs = judge(&with_latency(None), &all(vec![]), &[3.0]);
        assert_eq!(obs.measurements.keys().collect::<Vec<_>>(), ["rows"]);
        let sampled = judge(&with_latency(None), &all(vec![]), &[3.0, 4.0]);
        assert_eq!(sampled.measurements["max_ms"], 4.0);
        assert!(sampled.findings.is_empty());
    }

    #[test]
    fn samples_and_max_latency_are_checked_when_read() {
        let parse = |v: serde_json::Value| {
            serde_json::from_value::<SqlParams>(v).map_err(|e| e.to_string())
        };
        assert_eq!(
            parse(json!({"query": "select 1", "samples": 0})).unwrap_err(),
            "samples must be between 1 and 1000, not 0"
        );
        assert!(parse(json!({"query": "select 1", "samples": 1001})).is_err());
        assert_eq!(
            parse(json!({"query": "select 1", "expect": {"max_latency": 100}})).unwrap_err(),
            "a duration needs a unit, such as 30s or 500ms"
        );
        assert_eq!(
            parse(json!({"query": "select 1", "expect": {"rows": 1, "value": 1}})).unwrap_err(),
            "give `rows` or `value`, not both"
        );
        let only_latency =
            parse(json!({"query": "select 1", "samples": 20, "expect": {"max_latency": "100ms"}}))
                .unwrap();
        assert!(matches!(only_latency.expect.result, ExpectResult::Any));
        assert_eq!(only_latency.samples, 20);
        let null = parse(json!({"query": "select null", "expect": {"value": null}})).unwrap();
        assert!(matches!(
            null.expect.result,
            ExpectResult::Value(Json::Null)
        ));
    }
}
