//! `coverage`: a test coverage report (lcov, Cobertura XML, Istanbul `coverage-summary.json`)
//! is fresh and meets its line and branch thresholds, over all files or the files `paths` names.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Deserializer, de};
use serde_json::json;

use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::params::{DurationParam, OneOrMany};
use crate::checks::{Ctx, KindSpec};
use crate::model::TargetFamily;
use crate::vocab::human;

#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Auto,
    #[serde(alias = "info")]
    Lcov,
    #[serde(alias = "xml")]
    Cobertura,
    #[serde(
        alias = "json-summary",
        alias = "json_summary",
        alias = "c8",
        alias = "nyc"
    )]
    Istanbul,
}

/// A percentage: `95`, `95.5` or `"95%"`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PercentParam(pub f64);

impl schemars::JsonSchema for PercentParam {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Percent".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "a percentage from 0 to 100: 95, 95.5 or \"95%\"",
            "anyOf": [{ "type": "number", "minimum": 0, "maximum": 100 }, { "type": "string", "pattern": "^[0-9.]+%?$" }]
        })
    }
}

impl<'de> Deserialize<'de> for PercentParam {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = PercentParam;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a percentage from 0 to 100, such as 95 or \"95%\"")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<PercentParam, E> {
                if (0.0..=100.0).contains(&v) {
                    Ok(PercentParam(v))
                } else {
                    Err(E::custom(format!("a percentage is from 0 to 100, not {v}")))
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PercentParam, E> {
                self.visit_f64(v as f64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PercentParam, E> {
                self.visit_f64(v as f64)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PercentParam, E> {
                let number = v.trim().trim_end_matches('%').trim();
                match number.parse::<f64>() {
                    Ok(n) => self.visit_f64(n),
                    Err(_) => Err(E::custom(format!("`{v}` is not a percentage"))),
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A path glob, compiled when the configuration is read.
#[derive(Debug, Clone)]
pub struct GlobParam(pub glob::Pattern);

crate::checks::params::text_schema!(GlobParam, "Glob", "a glob, such as src/wallet/**");

impl<'de> Deserialize<'de> for GlobParam {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        glob::Pattern::new(&text)
            .map(GlobParam)
            .map_err(|e| de::Error::custom(format!("invalid glob `{text}`: {e}")))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawCoverageParams")]
pub struct CoverageParams {
    pub report: String,
    pub format: Format,
    pub min_lines: Option<f64>,
    pub min_branches: Option<f64>,
    pub paths: Vec<GlobParam>,
    pub max_age: Option<DurationParam>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawCoverageParams {
    report: String,
    #[serde(default)]
    format: Format,
    min_lines: Option<PercentParam>,
    min_branches: Option<PercentParam>,
    paths: Option<OneOrMany<GlobParam>>,
    max_age: Option<DurationParam>,
}

impl TryFrom<RawCoverageParams> for CoverageParams {
    type Error = String;
    fn try_from(raw: RawCoverageParams) -> Result<Self, String> {
        if raw.min_lines.is_none() && raw.min_branches.is_none() {
            return Err("give `min_lines` and/or `min_branches` (percentages)".into());
        }
        Ok(CoverageParams {
            report: raw.report,
            format: raw.format,
            min_lines: raw.min_lines.map(|p| p.0),
            min_branches: raw.min_branches.map(|p| p.0),
            paths: raw.paths.map(OneOrMany::into_vec).unwrap_or_default(),
            max_age: raw.max_age,
        })
    }
}

/// Covered and total lines and branches of one file (or of the whole report).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    pub lines: (u64, u64),
    pub branches: (u64, u64),
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.lines.0 += other.lines.0;
        self.lines.1 += other.lines.1;
        self.branches.0 += other.branches.0;
        self.branches.1 += other.branches.1;
    }
}

/// Per-file counts, plus the report's own totals for formats that state them.
#[derive(Debug, Default)]
pub struct Report {
    pub files: BTreeMap<String, Counts>,
    pub total: Option<Counts>,
    /// When the report says it was generated (Cobertura's `timestamp`).
    pub generated: Option<SystemTime>,
}

impl KindSpec for CoverageParams {
    fn family(&self) -> Option<TargetFamily> {
        None
    }

    fn is_network(&self) -> bool {
        false
    }
}

pub async fn run(params: &CoverageParams, ctx: &Ctx<'_>) -> CheckOutcome {
    let base_dir = ctx.base_dir;
    let shown = params.report.as_str();
    let path = base_dir.join(shown);
    let meta = tokio::fs::metadata(&path)
        .await
        .map_err(|e| CheckError::new(format!("cannot read the coverage report {shown}: {e}")))?;
    let text = tokio::fs::read_to_string(&path)
        .await
        .map_err(|e| CheckError::new(format!("cannot read the coverage report {shown}: {e}")))?;
    let format = match params.format {
        Format::Auto => detect(&text).ok_or_else(|| {
            CheckError::new(format!(
                "{shown} is not an lcov, Cobertura XML or Istanbul coverage-summary.json report"
            ))
        })?,
        f => f,
    };
    let report = match format {
        Format::Lcov => parse_lcov(&text),
        Format::Cobertura => parse_cobertura(&text),
        Format::Istanbul => parse_istanbul(&text),
        Format::Auto => Err("the format could not be detected".to_string()),
    }
    .map_err(|e| CheckError::new(format!("{shown}: {e}")))?;

    let counts = if params.paths.is_empty() {
        report.total.unwrap_or_else(|| sum(report.files.values()))
    } else {
        let matching: Vec<&Counts> = report
            .files
            .iter()
            .filter(|(file, _)| {
                params
                    .paths
                    .iter()
                    .any(|g| path_matches(&g.0, file, base_dir))
            })
            .map(|(_, c)| c)
            .collect();
        if matching.is_empty() {
            let globs: Vec<&str> = params.paths.iter().map(|g| g.0.as_str()).collect();
            return Err(CheckError::new(format!(
                "no file in {shown} matches paths {}",
                globs.join(", ")
            )));
        }
        sum(matching.into_iter())
    };

    let mut obs = Observation::default();
    let scope = if params.paths.is_empty() {
        String::new()
    } else {
        let globs: Vec<&str> = params.paths.iter().map(|g| g.0.as_str()).collect();
        format!(" in {}", globs.join(", "))
    };
    let evidence = json!({
        "report": shown,
        "format": format!("{format:?}").to_lowercase(),
        "lines_covered": counts.lines.0, "lines_total": counts.lines.1,
        "branches_covered": counts.branches.0, "branches_total": counts.branches.1,
    });
    let mut shown_parts = Vec::new();
    for (what, (covered, total), required, measure) in [
        ("line", counts.lines, params.min_lines, "lines_pct"),
        (
            "branch",
            counts.branches,
            params.min_branches,
            "branches_pct",
        ),
    ] {
        if total == 0 {
            if required.is_some() {
                return Err(CheckError::new(format!(
                    "{shown} has no {what} data{scope}: {what} coverage cannot be verified"
                )));
            }
            continue;
        }
        let pct = 100.0 * covered as f64 / total as f64;
        obs.measure(measure, pct);
        shown_parts.push(format!("{what} coverage {}%{scope}", percent(pct)));
        if let Some(required) = required
            && pct < required
        {
            obs.findings.push(
                Finding::fail(
                    format!("{shown}#{what}s"),
                    format!(
                        "{what} coverage{scope} is {}% ({covered}/{total}), below the required {}%",
                        percent(pct),
                        percent(required)
                    ),
                )
                .with_evidence(evidence.clone()),
            );
        }
    }
    if let Some(DurationParam(max_age)) = params.max_age {
        // The older of the file's time and the time the report states: a copied artefact has a
        // fresh file time, a touched file an old one; either way stale evidence shows.
        let written = [meta.modified().ok(), report.generated]
            .into_iter()
            .flatten()
            .min();
        let age = written
            .and_then(|w| SystemTime::now().duration_since(w).ok())
            .unwrap_or_default();
        obs.measure("age_s", age.as_secs() as f64);
        if age > max_age {
            obs.findings.push(Finding::fail(
                shown,
                format!(
                    "{shown} was written {} ago, more than max_age {}: the evidence is stale",
                    human(age),
                    human(max_age)
                ),
            ));
        }
    }
    obs.summary = Some(format!("{shown}: {}", shown_parts.join(", ")));
    Ok(obs)
}

fn sum<'a>(counts: impl Iterator<Item = &'a Counts>) -> Counts {
    let mut total = Counts::default();
    for c in counts {
        total.add(*c);
    }
    total
}

/// Two decimals, rounded down, so that 94.999% never shows as the 95% it misses.
fn percent(value: f64) -> String {
    let floored = (value * 100.0).floor() / 100.0;
    let text = format!("{floored:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Reports name files absolutely or relative to where the tests ran: a glob matches the path as
/// written, the path relative to the project directory, or any tail of it at a `/`.
fn path_matches(glob: &glob::Pattern, file: &str, base_dir: &Path) -> bool {
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    if glob.matches_with(file, options) {
        return true;
    }
    if let Ok(relative) = Path::new(file).strip_prefix(base_dir)
        && glob.matches_with(&relative.to_string_lossy(), options)
    {
        return true;
    }
    !glob.as_str().starts_with('/')
        && file
            .match_indices('/')
            .any(|(i, _)| glob.matches_with(&file[i + 1..], options))
}

pub fn detect(text: &str) -> Option<Format> {
    let start = text.trim_start_matches('\u{feff}').trim_start();
    if start.starts_with('<') {
        return start.contains("<coverage").then_some(Format::Cobertura);
    }
    if start.starts_with('{') {
        return Some(Format::Istanbul);
    }
    text.lines()
        .any(|l| l.starts_with("SF:") || l.starts_with("TN:"))
        .then_some(Format::Lcov)
}

/// lcov tracefiles: `SF:` opens a file record, `DA:line,hits` and `BRDA:line,block,branch,taken`
/// give the detail, `LF/LH/BRF/BRH` the record's totals. Records for the same file (several test
/// runs merged into one tracefile) are merged line by line.
pub fn parse_lcov(text: &str) -> Result<Report, String> {
    #[derive(Default)]
    struct FileData {
        lines: BTreeMap<u64, u64>,
        branches: BTreeMap<(u64, String, String), u64>,
        // Totals of records without detail lines.
        summary: Counts,
    }
    let mut files: BTreeMap<String, FileData> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut record = Counts::default();
    let mut record_has_detail = (false, false);
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_end();
        let bad = || format!("line {}: malformed lcov record `{line}`", number + 1);
        let (tag, rest) = line.split_once(':').unwrap_or((line, ""));
        match tag {
            "SF" => {
                current = Some(rest.to_string());
                record = Counts::default();
                record_has_detail = (false, false);
                files.entry(rest.to_string()).or_default();
            }
            "DA" | "BRDA" | "LF" | "LH" | "BRF" | "BRH" => {
                let file = current.as_ref().ok_or_else(bad)?;
                let data = files.get_mut(file).ok_or_else(bad)?;
                let fields: Vec<&str> = rest.split(',').collect();
                let num = |i: usize| -> Result<u64, String> {
                    fields
                        .get(i)
                        .and_then(|f| f.trim().parse().ok())
                        .ok_or_else(bad)
                };
                match tag {
                    "DA" => {
                        record_has_detail.0 = true;
                        let hits = fields
                            .get(1)
                            .and_then(|f| f.trim().parse::<i64>().ok())
                            .ok_or_else(bad)?
                            .max(0) as u64;
                        let entry = data.lines.entry(num(0)?).or_default();
                        *entry = (*entry).max(hits);
                    }
                    "BRDA" => {
                        record_has_detail.1 = true;
                        if fields.len() < 4 {
                            return Err(bad());
                        }
                        let taken = fields[3].trim().parse::<u64>().unwrap_or(0);
                        let key = (num(0)?, fields[1].to_string(), fields[2].to_string());
                        let entry = data.branches.entry(key).or_default();
                        *entry = (*entry).max(taken);
                    }
                    "LF" => record.lines.1 = num(0)?,
                    "LH" => record.lines.0 = num(0)?,
                    "BRF" => record.branches.1 = num(0)?,
                    _ => record.branches.0 = num(0)?,
                }
            }
            "end_of_record" => {
                if let Some(file) = current.take()
                    && let Some(data) = files.get_mut(&file)
                {
                    if !record_has_detail.0 {
                        data.summary.lines.0 += record.lines.0;
                        data.summary.lines.1 += record.lines.1;
                    }
                    if !record_has_detail.1 {
                        data.summary.branches.0 += record.branches.0;
                        data.summary.branches.1 += record.branches.1;
                    }
                }
            }
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
            (name, counts)
        })
        .collect();
    Ok(Report {
        files,
        total: None,
        generated: None,
    })
}

/// Cobertura XML: `<class filename>` holds `<lines><line number hits branch
/// condition-coverage="50% (1/2)">`. Lines under `<method>` repeat the class's own and are
/// skipped; classes of the same file (inner classes) are merged line by line.
pub fn parse_cobertura(text: &str) -> Result<Report, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut lines: BTreeMap<String, BTreeMap<u64, (u64, u64, u64)>> = BTreeMap::new();
    let mut file: Option<String> = None;
    let mut method_depth = 0usize;
    let mut saw_root = false;
    let mut generated = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("malformed XML at byte {}: {e}", reader.error_position()))?;
        let (element, is_start) = match &event {
            Event::Start(e) => (e, true),
            Event::Empty(e) => (e, false),
            Event::End(e) => {
                match e.name().as_ref() {
                    b"method" => method_depth = method_depth.saturating_sub(1),
                    b"class" => file = None,
                    _ => {}
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let attr = |name: &str| -> Option<String> {
            element
                .attributes()
                .flatten()
                .find(|a| a.key.as_ref() == name.as_bytes())
                .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
        };
        match element.name().as_ref() {
            b"coverage" => {
                saw_root = true;
                // Milliseconds since the epoch (coverage.py, istanbul), or seconds.
                generated = attr("timestamp")
                    .and_then(|t| t.trim().parse::<u64>().ok())
                    .map(|t| {
                        let ms = if t > 100_000_000_000 { t } else { t * 1000 };
                        SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(ms)
                    });
            }
            b"class" if is_start => file = attr("filename"),
            b"method" if is_start => method_depth += 1,
            b"line" if method_depth == 0 => {
                let Some(file) = &file else { continue };
                let number: u64 = attr("number")
                    .and_then(|n| n.parse().ok())
                    .ok_or("a <line> without a numeric `number`")?;
                let hits: u64 = attr("hits")
                    .and_then(|h| h.parse::<f64>().ok())
                    .ok_or("a <line> without numeric `hits`")?
                    .max(0.0) as u64;
                let (covered, total) = if attr("branch").as_deref() == Some("true") {
                    attr("condition-coverage")
                        .as_deref()
                        .and_then(parse_condition_coverage)
                        .unwrap_or((0, 0))
                } else {
                    (0, 0)
                };
                let entry = lines
                    .entry(file.clone())
                    .or_default()
                    .entry(number)
                    .or_default();
                entry.0 = entry.0.max(hits);
                entry.1 = entry.1.max(covered);
                entry.2 = entry.2.max(total);
            }
            _ => {}
        }
    }
    if !saw_root {
        return Err("no <coverage> element: not a Cobertura report".into());
    }
    let files = lines
        .into_iter()
        .map(|(name, by_line)| {
            let mut c = Counts::default();
            for (hits, covered, total) in by_line.values() {
                c.lines.1 += 1;
                c.lines.0 += u64::from(*hits > 0);
                c.branches.0 += covered;
                c.branches.1 += total;
            }
            (name, c)
        })
        .collect();
    Ok(Report {
        files,
        total: None,
        generated,
    })
}

/// `50% (1/2)` → (1, 2).
fn parse_condition_coverage(text: &str) -> Option<(u64, u64)> {
    let inner = text.split_once('(')?.1.split_once(')')?.0;
    let (covered, total) = inner.split_once('/')?;
    Some((covered.trim().parse().ok()?, total.trim().parse().ok()?))
}

/// Istanbul / c8 `coverage-summary.json`: `{"total": {"lines": {"total", "covered"}, "branches":
/// …}, "<file>": {…}}`.
pub fn parse_istanbul(text: &str) -> Result<Report, String> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("malformed JSON: {e}"))?;
    let map = json.as_object().ok_or("not a JSON object")?;
    let counts = |entry: &serde_json::Value| -> Option<Counts> {
        let pair = |metric: &str| -> Option<(u64, u64)> {
            let m = entry.get(metric)?;
            Some((m.get("covered")?.as_u64()?, m.get("total")?.as_u64()?))
        };
        Some(Counts {
            lines: pair("lines")?,
            branches: pair("branches").unwrap_or((0, 0)),
        })
    };
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

/// The schema of the parameters as written (the raw form, before they are checked together).
impl schemars::JsonSchema for CoverageParams {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "CoverageParams".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <RawCoverageParams as schemars::JsonSchema>::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lcov_records_merge_by_line() {
        let text = "TN:\nSF:src/a.rs\nDA:1,1\nDA:2,0\nBRDA:2,0,0,1\nBRDA:2,0,1,-\nLF:2\nLH:1\nend_of_record\n\
                    SF:src/a.rs\nDA:2,3\nend_of_record\nSF:src/b.rs\nLF:10\nLH:4\nBRF:2\nBRH:2\nend_of_record\n";
        let report = parse_lcov(text).unwrap();
        assert_eq!(
            report.files["src/a.rs"],
            Counts {
                lines: (2, 2),
                branches: (1, 2)
            }
        );
        assert_eq!(
            report.files["src/b.rs"],
            Counts {
                lines: (4, 10),
                branches: (2, 2)
            }
        );
    }

    #[test]
    fn percentages_round_down() {
        assert_eq!(percent(94.999), "94.99");
        assert_eq!(percent(95.0), "95");
        assert_eq!(percent(80.5), "80.5");
    }

    #[test]
    fn globs_match_tails_of_absolute_paths() {
        let g = glob::Pattern::new("src/wallet/**").unwrap();
        assert!(path_matches(
            &g,
            "/ci/build/src/wallet/pay.ts",
            Path::new("/x")
        ));
        assert!(path_matches(&g, "src/wallet/a/b.ts", Path::new("/x")));
        assert!(!path_matches(
            &g,
            "/ci/build/src/other/pay.ts",
            Path::new("/x")
        ));
    }

    #[test]
    fn detection_by_content() {
        assert_eq!(
            detect("<?xml version=\"1.0\"?>\n<coverage>"),
            Some(Format::Cobertura)
        );
        assert_eq!(detect("{\"total\":{}}"), Some(Format::Istanbul));
        assert_eq!(detect("TN:\nSF:x\n"), Some(Format::Lcov));
        assert_eq!(detect("hello"), None);
    }
}
