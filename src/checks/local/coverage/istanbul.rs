//! Istanbul / c8 `coverage-summary.json`: `{"total": {"lines": {"total", "covered"}, "branches":
//! …, "functions": …}, "<file>": {…}}`.

use super::{Counts, Report};

pub fn parse(text: &str) -> Result<Report, String> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("malformed JSON: {e}"))?;
    let map = json.as_object().ok_or("not a JSON object")?;
    let total = match map.get("total") {
        Some(t) => counts(t).ok_or("`total` has no `lines` with `covered` and `total`")?,
        None if map.values().any(|v| v.get("statementMap").is_some()) => {
            return Err("this is Istanbul's coverage-final.json; point `report` at \
                        coverage-summary.json (reporter `json-summary`)"
                .into());
        }
        None => return Err("no `total` entry: not an Istanbul coverage-summary.json".into()),
    };
    let files = map
        .iter()
        .filter(|(k, _)| k.as_str() != "total")
        .filter_map(|(k, v)| Some((k.clone(), counts(v)?)))
        .collect();
    Ok(Report {
        files,
        total: Some(total),
        generated: None,
    })
}

fn counts(entry: &serde_json::Value) -> Option<Counts> {
    let pair = |metric: &str| -> Option<(u64, u64)> {
        let m = entry.get(metric)?;
        Some((m.get("covered")?.as_u64()?, m.get("total")?.as_u64()?))
    };
    Some(Counts {
        lines: pair("lines")?,
        branches: pair("branches").unwrap_or((0, 0)),
        functions: pair("functions").unwrap_or((0, 0)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_and_files_are_read_and_the_final_report_is_named() {
        let report = parse(
            r#"{"total": {"lines": {"total": 10, "covered": 9}},
                "src/a.ts": {"lines": {"total": 4, "covered": 4}, "branches": {"total": 2, "covered": 1}}}"#,
        )
        .unwrap();
        assert_eq!(report.total.unwrap().lines, (9, 10));
        assert_eq!(report.files["src/a.ts"].branches, (1, 2));
        assert_eq!(report.files["src/a.ts"].functions, (0, 0));
        let final_json = parse(r#"{"/x/a.ts": {"statementMap": {}}}"#).unwrap_err();
        assert!(final_json.contains("coverage-final.json"));
    }
}
