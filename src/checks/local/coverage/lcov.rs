//! lcov tracefiles: `SF:` opens a file record, `DA:line,hits`, `BRDA:line,block,branch,taken`,
//! `FN:line,name` (lcov 2: `FN:start,end,name`) and `FNDA:hits,name` give the detail,
//! `LF/LH/BRF/BRH/FNF/FNH` the record's totals. Records for the same file (several test runs
//! merged into one tracefile) are merged line by line and function by function.

use std::collections::BTreeMap;

use super::{Counts, Report};

/// What the records of one file say, merged.
#[derive(Default)]
struct FileData {
    lines: BTreeMap<u64, u64>,
    branches: BTreeMap<(u64, String, String), u64>,
    /// Hits by function name.
    functions: BTreeMap<String, u64>,
    // Totals of records without detail lines.
    summary: Counts,
}

/// The record being read.
#[derive(Default)]
struct Record {
    file: Option<String>,
    totals: Counts,
    has_lines: bool,
    has_branches: bool,
    has_functions: bool,
}

pub fn parse(text: &str) -> Result<Report, String> {
    let mut files: BTreeMap<String, FileData> = BTreeMap::new();
    let mut record = Record::default();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_end();
        let (tag, rest) = line.split_once(':').unwrap_or((line, ""));
        match tag {
            "SF" => {
                record = Record {
                    file: Some(rest.to_string()),
                    ..Record::default()
                };
                files.entry(rest.to_string()).or_default();
            }
            "DA" | "BRDA" | "LF" | "LH" | "BRF" | "BRH" | "FN" | "FNDA" | "FNF" | "FNH" => {
                detail(tag, rest, &mut record, &mut files).ok_or_else(|| {
                    format!("line {}: malformed lcov record `{line}`", number + 1)
                })?;
            }
            "end_of_record" => end_of_record(&mut record, &mut files),
            _ => {}
        }
    }
    if files.is_empty() {
        return Err("no `SF:` record: not an lcov tracefile, or an empty one".into());
    }
    let files = files
        .into_iter()
        .map(|(name, data)| {
            let mut counts = data.summary;
            counts.lines.0 += data.lines.values().filter(|&&h| h > 0).count() as u64;
            counts.lines.1 += data.lines.len() as u64;
            counts.branches.0 += data.branches.values().filter(|&&t| t > 0).count() as u64;
            counts.branches.1 += data.branches.len() as u64;
            counts.functions.0 += data.functions.values().filter(|&&h| h > 0).count() as u64;
            counts.functions.1 += data.functions.len() as u64;
            (name, counts)
        })
        .collect();
    Ok(Report {
        files,
        total: None,
        generated: None,
    })
}

/// One line of a record; `None` when it is malformed or outside a record.
fn detail(
    tag: &str,
    rest: &str,
    record: &mut Record,
    files: &mut BTreeMap<String, FileData>,
) -> Option<()> {
    let data = files.get_mut(record.file.as_ref()?)?;
    let fields: Vec<&str> = rest.split(',').collect();
    let num = |i: usize| -> Option<u64> { fields.get(i)?.trim().parse().ok() };
    match tag {
        "DA" => {
            record.has_lines = true;
            let hits = fields.get(1)?.trim().parse::<i64>().ok()?.max(0) as u64;
            let entry = data.lines.entry(num(0)?).or_default();
            *entry = (*entry).max(hits);
        }
        "BRDA" => {
            record.has_branches = true;
            if fields.len() < 4 {
                return None;
            }
            let taken = fields[3].trim().parse::<u64>().unwrap_or(0);
            let key = (num(0)?, fields[1].to_string(), fields[2].to_string());
            let entry = data.branches.entry(key).or_default();
            *entry = (*entry).max(taken);
        }
        "FN" => {
            record.has_functions = true;
            // `line,name` or (lcov 2) `start,end,name`; names may hold commas (C++ signatures).
            let (_, rest) = rest.split_once(',')?;
            let name = match rest.split_once(',') {
                Some((end, name)) if end.trim().parse::<u64>().is_ok() => name,
                _ => rest,
            };
            data.functions.entry(name.to_string()).or_default();
        }
        "FNDA" => {
            record.has_functions = true;
            let (hits, name) = rest.split_once(',')?;
            let hits = hits.trim().parse::<i64>().ok()?.max(0) as u64;
            let entry = data.functions.entry(name.to_string()).or_default();
            *entry = (*entry).max(hits);
        }
        "FNF" => record.totals.functions.1 = num(0)?,
        "FNH" => record.totals.functions.0 = num(0)?,
        "LF" => record.totals.lines.1 = num(0)?,
        "LH" => record.totals.lines.0 = num(0)?,
        "BRF" => record.totals.branches.1 = num(0)?,
        _ => record.totals.branches.0 = num(0)?,
    }
    Some(())
}

/// A record's own totals count only for what it gave no detail lines for.
fn end_of_record(record: &mut Record, files: &mut BTreeMap<String, FileData>) {
    let Some(data) = record.file.take().and_then(|file| files.get_mut(&file)) else {
        return;
    };
    if !record.has_lines {
        data.summary.lines.0 += record.totals.lines.0;
        data.summary.lines.1 += record.totals.lines.1;
    }
    if !record.has_branches {
        data.summary.branches.0 += record.totals.branches.0;
        data.summary.branches.1 += record.totals.branches.1;
    }
    if !record.has_functions {
        data.summary.functions.0 += record.totals.functions.0;
        data.summary.functions.1 += record.totals.functions.1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_merge_by_line() {
        let text = "TN:\nSF:src/a.rs\nFN:1,main\nFN:2,4,f<a, b>\nFNDA:1,main\nFNDA:0,f<a, b>\n\
                    DA:1,1\nDA:2,0\nBRDA:2,0,0,1\nBRDA:2,0,1,-\nLF:2\nLH:1\nFNF:2\nFNH:1\nend_of_record\n\
                    SF:src/a.rs\nFNDA:2,f<a, b>\nDA:2,3\nend_of_record\n\
                    SF:src/b.rs\nLF:10\nLH:4\nBRF:2\nBRH:2\nFNF:3\nFNH:1\nend_of_record\n";
        let report = parse(text).unwrap();
        assert_eq!(
            report.files["src/a.rs"],
            Counts {
                lines: (2, 2),
                branches: (1, 2),
                functions: (2, 2),
            }
        );
        assert_eq!(
            report.files["src/b.rs"],
            Counts {
                lines: (4, 10),
                branches: (2, 2),
                functions: (1, 3),
            }
        );
    }

    #[test]
    fn malformed_and_stray_records_are_errors() {
        assert_eq!(
            parse("SF:a\nDA:x,1\n").unwrap_err(),
            "line 2: malformed lcov record `DA:x,1`"
        );
        assert_eq!(
            parse("SF:a\nend_of_record\nDA:1,1\n").unwrap_err(),
            "line 3: malformed lcov record `DA:1,1`"
        );
        assert!(parse("TN:\n").unwrap_err().starts_with("no `SF:` record"));
    }
}
