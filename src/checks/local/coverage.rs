//! `coverage`: a test coverage report (lcov, Cobertura XML, Istanbul `coverage-summary.json`,
//! Go's `-coverprofile`, JaCoCo XML) is fresh and meets its line, branch and function
//! thresholds, over all files or the files `paths` names. The report is read into per-file counts
//! by the module of its format; plain functions judge them.

mod cobertura;
mod go;
mod istanbul;
mod jacoco;
mod lcov;
mod xml;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer, de};
use serde_json::json;

use crate::checks::outcome::{CheckError, CheckOutcome, Finding, Observation};
use crate::checks::params::{DurationParam, OneOrMany};
use crate::checks::{Ctx, KindSpec};
use crate::target::TargetFamily;
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
    /// Go's `go test -coverprofile` output.
    #[serde(alias = "coverprofile", alias = "gocover")]
    Go,
    /// JaCoCo's XML report.
    #[serde(alias = "jacoco-xml")]
    Jacoco,
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
    pub min_functions: Option<f64>,
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
    /// Functions (methods) with at least one covered line, where the report records them.
    min_functions: Option<PercentParam>,
    paths: Option<OneOrMany<GlobParam>>,
    max_age: Option<DurationParam>,
}

impl TryFrom<RawCoverageParams> for CoverageParams {
    type Error = String;
    fn try_from(raw: RawCoverageParams) -> Result<Self, String> {
        if raw.min_lines.is_none() && raw.min_branches.is_none() && raw.min_functions.is_none() {
            return Err(
                "give `min_lines`, `min_branches` and/or `min_functions` (percentages)".into(),
            );
        }
        Ok(CoverageParams {
            report: raw.report,
            format: raw.format,
            min_lines: raw.min_lines.map(|p| p.0),
            min_branches: raw.min_branches.map(|p| p.0),
            min_functions: raw.min_functions.map(|p| p.0),
            paths: raw.paths.map(OneOrMany::into_vec).unwrap_or_default(),
            max_age: raw.max_age,
        })
    }
}

/// Covered and total lines, branches and functions of one file (or of the whole report). A Go
/// profile counts statements as its lines.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    pub lines: (u64, u64),
    pub branches: (u64, u64),
    pub functions: (u64, u64),
}

impl Counts {
    fn add(&mut self, other: Counts) {
        for (mine, theirs) in [
            (&mut self.lines, other.lines),
            (&mut self.branches, other.branches),
            (&mut self.functions, other.functions),
        ] {
            mine.0 += theirs.0;
            mine.1 += theirs.1;
        }
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
    let (format, report) = read_report(params.format, shown, &text)?;
    let counts = scoped_counts(params, shown, &report, base_dir)?;
    // The older of the file's time and the time the report states: a copied artefact has a
    // fresh file time, a touched file an old one; either way stale evidence shows.
    let written = [meta.modified().ok(), report.generated]
        .into_iter()
        .flatten()
        .min();
    let age = written
        .and_then(|w| SystemTime::now().duration_since(w).ok())
        .unwrap_or_default();
    judge(params, format, counts, age)
}

/// The report in its format (detected from the content when `auto`).
fn read_report(format: Format, shown: &str, text: &str) -> Result<(Format, Report), CheckError> {
    let format = match format {
        Format::Auto => detect(text).ok_or_else(|| {
            CheckError::new(format!(
                "{shown} is not an lcov, Cobertura XML, Istanbul coverage-summary.json, Go \
                 coverage profile or JaCoCo XML report"
            ))
        })?,
        f => f,
    };
    let report = match format {
        Format::Lcov => lcov::parse(text),
        Format::Cobertura => cobertura::parse(text),
        Format::Istanbul => istanbul::parse(text),
        Format::Go => go::parse(text),
        Format::Jacoco => jacoco::parse(text),
        Format::Auto => Err("the format could not be detected".to_string()),
    }
    .map_err(|e| CheckError::new(format!("{shown}: {e}")))?;
    Ok((format, report))
}

/// The counts over all files, or over the files `paths` names (at least one must match).
fn scoped_counts(
    params: &CoverageParams,
    shown: &str,
    report: &Report,
    base_dir: &Path,
) -> Result<Counts, CheckError> {
    if params.paths.is_empty() {
        return Ok(report.total.unwrap_or_else(|| sum(report.files.values())));
    }
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
    Ok(sum(matching.into_iter()))
}

/// Line and branch coverage against their thresholds, and the report's age against `max_age`.
fn judge(params: &CoverageParams, format: Format, counts: Counts, age: Duration) -> CheckOutcome {
    let shown = params.report.as_str();
    let mut obs = Observation::default();
    let scope = if params.paths.is_empty() {
        String::new()
    } else {
        let globs: Vec<&str> = params.paths.iter().map(|g| g.0.as_str()).collect();
        format!(" in {}", globs.join(", "))
    };
    let (evidence, metrics) = measured(params, format, counts);
    let mut shown_parts = Vec::new();
    for (what, (covered, total), required, measure) in metrics {
        if total == 0 {
            if required.is_some() {
                return Err(CheckError::new(format!(
                    "{shown} has no {what} data{scope}: {what} coverage cannot be verified{}",
                    what_the_format_lacks(format, what)
                )));
            }
            continue;
        }
        let pct = 100.0 * covered as f64 / total as f64;
        obs.measure(measure, pct);
        shown_parts.push(format!(
            "{what} coverage {}%{scope}",
            percent(covered, total)
        ));
        if let Some(required) = required
            && pct < required
        {
            obs.findings.push(
                Finding::fail(
                    format!("{shown}#{what}s"),
                    format!(
                        "{what} coverage{scope} is {}% ({covered}/{total}), below the required {required}%",
                        percent(covered, total),
                    ),
                )
                .with_evidence(evidence.clone()),
            );
        }
    }
    if let Some(DurationParam(max_age)) = params.max_age {
        obs.measure("age_s", age.as_secs() as f64);
        obs.findings.extend(stale(shown, age, max_age));
    }
    obs.summary = Some(format!("{shown}: {}", shown_parts.join(", ")));
    Ok(obs)
}

/// One coverage measure: its name, (covered, total), the required percentage and the name it
/// is measured under.
type Metric = (&'static str, (u64, u64), Option<f64>, &'static str);

/// The evidence of a finding and the measures judged: lines and branches, and functions when a
/// threshold asks for them.
fn measured(
    params: &CoverageParams,
    format: Format,
    counts: Counts,
) -> (serde_json::Value, Vec<Metric>) {
    let mut evidence = json!({
        "report": params.report.as_str(),
        "format": format!("{format:?}").to_lowercase(),
        "lines_covered": counts.lines.0, "lines_total": counts.lines.1,
        "branches_covered": counts.branches.0, "branches_total": counts.branches.1,
    });
    let mut metrics: Vec<Metric> = vec![
        ("line", counts.lines, params.min_lines, "lines_pct"),
        (
            "branch",
            counts.branches,
            params.min_branches,
            "branches_pct",
        ),
    ];
    // Function coverage is shown when it is asked for.
    if params.min_functions.is_some() {
        evidence["functions_covered"] = json!(counts.functions.0);
        evidence["functions_total"] = json!(counts.functions.1);
        metrics.push((
            "function",
            counts.functions,
            params.min_functions,
            "functions_pct",
        ));
    }
    (evidence, metrics)
}

/// Why a format has no data of a kind at all, where that is the reason.
fn what_the_format_lacks(format: Format, what: &str) -> &'static str {
    match (format, what) {
        (Format::Go, "branch" | "function") => {
            " (a Go coverage profile records statement blocks only)"
        }
        _ => "",
    }
}

fn stale(shown: &str, age: Duration, max_age: Duration) -> Option<Finding> {
    (age > max_age).then(|| {
        Finding::fail(
            shown,
            format!(
                "{shown} was written {} ago, more than max_age {}: the evidence is stale",
                human(age),
                human(max_age)
            ),
        )
    })
}

fn sum<'a>(counts: impl Iterator<Item = &'a Counts>) -> Counts {
    let mut total = Counts::default();
    for c in counts {
        total.add(*c);
    }
    total
}

/// `covered / total` as a percentage with two decimals, rounded down in integers (so 94.999%
/// never shows as the 95% it misses, and no float error drops a hundredth).
fn percent(covered: u64, total: u64) -> String {
    let hundredths = u128::from(covered) * 10_000 / u128::from(total.max(1));
    let text = format!("{}.{:02}", hundredths / 100, hundredths % 100);
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
        if start.contains("<coverage") {
            return Some(Format::Cobertura);
        }
        return start.contains("<report").then_some(Format::Jacoco);
    }
    if start.starts_with("mode:") {
        return Some(Format::Go);
    }
    if start.starts_with('{') {
        return Some(Format::Istanbul);
    }
    text.lines()
        .any(|l| l.starts_with("SF:") || l.starts_with("TN:"))
        .then_some(Format::Lcov)
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
    fn percentages_round_down() {
        assert_eq!(percent(94_999, 100_000), "94.99");
        assert_eq!(percent(95, 100), "95");
        assert_eq!(percent(805, 1000), "80.5");
        assert_eq!(percent(6471, 10_000), "64.71");
    }

    #[test]
    fn the_threshold_is_shown_as_compared() {
        let counts = Counts {
            lines: (6470, 10_000),
            branches: (0, 0),
            functions: (0, 0),
        };
        let obs = judge(
            &params(Some(64.71), None),
            Format::Lcov,
            counts,
            Duration::ZERO,
        )
        .unwrap();
        assert_eq!(
            obs.findings[0].message,
            "line coverage is 64.7% (6470/10000), below the required 64.71%"
        );
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
        assert_eq!(detect("mode: set\na.go:1.1,2.2 1 0\n"), Some(Format::Go));
        assert_eq!(
            detect("<?xml version=\"1.0\"?><!DOCTYPE report><report name=\"x\">"),
            Some(Format::Jacoco)
        );
        assert_eq!(detect("hello"), None);
    }

    fn params(min_lines: Option<f64>, min_branches: Option<f64>) -> CoverageParams {
        CoverageParams {
            report: "lcov.info".into(),
            format: Format::Auto,
            min_lines,
            min_branches,
            min_functions: None,
            paths: Vec::new(),
            max_age: Some(DurationParam(Duration::from_secs(3600))),
        }
    }

    const COUNTS: Counts = Counts {
        lines: (949, 1000),
        branches: (0, 0),
        functions: (0, 0),
    };

    #[test]
    fn coverage_under_the_threshold_fails_with_the_exact_figures() {
        let obs = judge(
            &params(Some(95.0), None),
            Format::Lcov,
            COUNTS,
            Duration::ZERO,
        )
        .unwrap();
        assert_eq!(obs.findings.len(), 1);
        assert_eq!(obs.findings[0].subject, "lcov.info#lines");
        assert_eq!(
            obs.findings[0].message,
            "line coverage is 94.9% (949/1000), below the required 95%"
        );
        assert_eq!(obs.findings[0].evidence["format"], "lcov");
        assert_eq!(obs.summary.unwrap(), "lcov.info: line coverage 94.9%");
        assert!(
            judge(
                &params(Some(90.0), None),
                Format::Lcov,
                COUNTS,
                Duration::ZERO
            )
            .unwrap()
            .findings
            .is_empty()
        );
    }

    #[test]
    fn a_required_metric_without_data_cannot_be_verified() {
        let e = judge(
            &params(None, Some(80.0)),
            Format::Lcov,
            COUNTS,
            Duration::ZERO,
        )
        .unwrap_err();
        assert_eq!(
            e.0,
            "lcov.info has no branch data: branch coverage cannot be verified"
        );
    }

    #[test]
    fn function_coverage_is_judged_where_the_report_has_it() {
        let mut p = params(None, None);
        p.min_functions = Some(80.0);
        let counts = Counts {
            functions: (3, 4),
            ..COUNTS
        };
        let obs = judge(&p, Format::Lcov, counts, Duration::ZERO).unwrap();
        assert_eq!(
            obs.findings[0].message,
            "function coverage is 75% (3/4), below the required 80%"
        );
        assert_eq!(obs.findings[0].subject, "lcov.info#functions");
        assert_eq!(obs.findings[0].evidence["functions_total"], 4);
        assert_eq!(obs.measurements["functions_pct"], 75.0);
        let e = judge(&p, Format::Go, COUNTS, Duration::ZERO).unwrap_err();
        assert_eq!(
            e.0,
            "lcov.info has no function data: function coverage cannot be verified (a Go \
             coverage profile records statement blocks only)"
        );
    }

    #[test]
    fn an_old_report_is_stale_evidence() {
        let obs = judge(
            &params(Some(90.0), None),
            Format::Lcov,
            COUNTS,
            Duration::from_secs(7200),
        )
        .unwrap();
        assert_eq!(
            obs.findings[0].message,
            "lcov.info was written 2h ago, more than max_age 1h: the evidence is stale"
        );
        assert_eq!(obs.measurements["age_s"], 7200.0);
    }

    #[test]
    fn paths_select_the_files_counted() {
        let mut report = Report::default();
        report.files.insert("/ci/src/wallet/a.ts".into(), COUNTS);
        report.files.insert(
            "src/other.ts".into(),
            Counts {
                lines: (1, 1),
                branches: (0, 0),
                functions: (0, 0),
            },
        );
        let mut p = params(Some(90.0), None);
        p.paths = vec![GlobParam(glob::Pattern::new("src/wallet/**").unwrap())];
        let counts = scoped_counts(&p, "lcov.info", &report, Path::new("/x")).unwrap();
        assert_eq!(counts, COUNTS);
        p.paths = vec![GlobParam(glob::Pattern::new("lib/**").unwrap())];
        let e = scoped_counts(&p, "lcov.info", &report, Path::new("/x")).unwrap_err();
        assert_eq!(e.0, "no file in lcov.info matches paths lib/**");
    }
}
