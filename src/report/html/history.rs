//! History: earlier results of the same project, as score trends and "failing since".

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::chart::{self, Frame, LineChart, RunPoint};
use super::view::is_failing;
use crate::report::score_text;
use crate::result::{RunResult, SCHEMA_ID};

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("{}: cannot read the history folder: {source}", dir.display())]
    Folder {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot read: {source}", path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a ready result: {reason}", path.display())]
    NotAResult { path: PathBuf, reason: String },
}

/// Every `*.json` file of `dir` as a result, oldest first. A JSON file that is not a result is an
/// error rather than a silent gap in the trend.
pub fn read_history(dir: &Path) -> Result<Vec<RunResult>, HistoryError> {
    let folder = |source| HistoryError::Folder {
        dir: dir.to_path_buf(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(folder)?
        .map(|entry| entry.map(|e| e.path()).map_err(folder))
        .collect::<Result<_, _>>()?;
    paths.retain(|p| p.extension().is_some_and(|e| e == "json"));
    paths.sort();
    let mut results = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|source| HistoryError::File {
            path: path.clone(),
            source,
        })?;
        let result: RunResult =
            serde_json::from_str(&text).map_err(|e| HistoryError::NotAResult {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        if result.schema != SCHEMA_ID {
            return Err(HistoryError::NotAResult {
                path,
                reason: format!("schema `{}` is not {SCHEMA_ID}", result.schema),
            });
        }
        results.push(result);
    }
    results.sort_by_key(|r| r.started_at);
    Ok(results)
}

#[derive(Debug, Serialize)]
pub struct RunRow {
    pub started: String,
    pub version: String,
    pub stage: String,
    pub verdict: &'static str,
    pub score: String,
    pub failing: usize,
    pub other_config: bool,
    pub current: bool,
}

#[derive(Debug, Serialize)]
pub struct HistoryView {
    pub runs: Vec<RunRow>,
    pub score_trend: LineChart,
    pub category_trends: Vec<LineChart>,
    /// Currently failing check id → "since DATE (N runs)" or "new in this run".
    pub failing_since: BTreeMap<String, String>,
    pub other_configs: usize,
}

const SCORE_FRAME: Frame = Frame {
    width: 720,
    height: 220,
};
const CATEGORY_FRAME: Frame = Frame {
    width: 300,
    height: 130,
};

/// The earlier results (without the current one), then the current one last.
fn timeline<'a>(current: &'a RunResult, earlier: &'a [RunResult]) -> Vec<&'a RunResult> {
    let mut runs: Vec<&RunResult> = earlier
        .iter()
        .filter(|r| r.started_at < current.started_at)
        .collect();
    runs.push(current);
    runs
}

fn other_config(run: &RunResult, current: &RunResult) -> bool {
    run.config_hash != current.config_hash
}

fn points(
    runs: &[&RunResult],
    current: &RunResult,
    value: impl Fn(&RunResult) -> Option<f64>,
) -> Vec<RunPoint> {
    runs.iter()
        .map(|r| {
            let marked = if other_config(r, current) {
                " (another configuration)"
            } else {
                ""
            };
            RunPoint {
                label: String::new(),
                title: format!(
                    "{}: {}{marked}",
                    r.started_at.format("%Y-%m-%d %H:%M"),
                    score_text(value(r))
                ),
                value: value(r),
                other_config: other_config(r, current),
            }
        })
        .collect()
}

fn score_trend(runs: &[&RunResult], current: &RunResult) -> LineChart {
    let mut points = points(runs, current, |r| r.score);
    for (point, run) in points.iter_mut().zip(runs) {
        point.label = run.started_at.format("%m-%d").to_string();
    }
    let mut series = vec![
        (
            "score".to_string(),
            "score",
            runs.iter().map(|r| r.score).collect(),
        ),
        (
            "without waivers".to_string(),
            "unwaived",
            runs.iter().map(|r| r.score_without_waivers).collect(),
        ),
    ];
    // Each stage's bar as it was in each run: bars move when the configuration changes.
    for stage in &current.stages {
        let bars = runs
            .iter()
            .map(|r| {
                r.stages
                    .iter()
                    .find(|s| s.name == stage.name)
                    .map(|s| s.min_score)
            })
            .collect();
        series.push((format!("{} bar", stage.name), "stage-bar", bars));
    }
    chart::line_chart("Score".into(), SCORE_FRAME, &points, series)
}

fn category_trends(runs: &[&RunResult], current: &RunResult) -> Vec<LineChart> {
    current
        .categories
        .iter()
        .map(|category| {
            let score = |r: &RunResult| {
                r.categories
                    .iter()
                    .find(|c| c.id == category.id)
                    .and_then(|c| c.score)
            };
            let points = points(runs, current, score);
            let values = runs.iter().map(|r| score(r)).collect();
            let title = format!("{} (weight {})", category.title, category.weight);
            let series = vec![(category.title.clone(), "score", values)];
            chart::line_chart(title, CATEGORY_FRAME, &points, series)
        })
        .collect()
}

/// For each failing check of the current run: how long its unbroken run of failures is.
pub fn failing_since(runs: &[&RunResult]) -> BTreeMap<String, String> {
    let Some((current, earlier)) = runs.split_last() else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for check in current.checks.iter().filter(|c| is_failing(c.status)) {
        let streak: Vec<&RunResult> = earlier
            .iter()
            .rev()
            .take_while(|r| {
                r.checks
                    .iter()
                    .any(|c| c.id == check.id && is_failing(c.status))
            })
            .copied()
            .collect();
        let text = match streak.last() {
            None => "new in this run".to_string(),
            Some(first) => format!(
                "failing since {} ({} runs)",
                first.started_at.format("%Y-%m-%d"),
                streak.len() + 1
            ),
        };
        out.insert(check.id.clone(), text);
    }
    out
}

fn run_row(r: &RunResult, current: &RunResult, is_current: bool) -> RunRow {
    RunRow {
        started: r.started_at.format("%Y-%m-%d %H:%M").to_string(),
        version: r.ready_version.clone(),
        stage: r.stage.clone(),
        verdict: if r.decision.go { "GO" } else { "NO-GO" },
        score: score_text(r.score),
        failing: r.checks.iter().filter(|c| is_failing(c.status)).count(),
        other_config: other_config(r, current),
        current: is_current,
    }
}

/// The history part of the page; `None` without earlier results.
pub fn history_view(current: &RunResult, earlier: &[RunResult]) -> Option<HistoryView> {
    let runs = timeline(current, earlier);
    if runs.len() < 2 {
        return None;
    }
    let rows: Vec<RunRow> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| run_row(r, current, i + 1 == runs.len()))
        .collect();
    Some(HistoryView {
        other_configs: rows.iter().filter(|r| r.other_config).count(),
        runs: rows,
        score_trend: score_trend(&runs, current),
        category_trends: category_trends(&runs, current),
        failing_since: failing_since(&runs),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Status;

    fn sample() -> RunResult {
        serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/results/sample.json"
        )))
        .unwrap()
    }

    fn run(day: u32, rls: Status) -> RunResult {
        let mut r = sample();
        r.started_at = format!("2026-11-{day:02}T09:00:00Z").parse().unwrap();
        r.checks[0].status = rls;
        r
    }

    #[test]
    fn a_failure_counts_back_to_the_first_run_of_its_streak() {
        let (a, b, c, d) = (
            run(1, Status::Fail),
            run(2, Status::Pass),
            run(3, Status::Error),
            run(4, Status::Fail),
        );
        let since = failing_since(&[&a, &b, &c, &d]);
        assert_eq!(since["rls.enabled"], "failing since 2026-11-03 (2 runs)");
        let since = failing_since(&[&b, &d]);
        assert_eq!(since["rls.enabled"], "new in this run");
    }

    #[test]
    fn later_runs_are_left_out_and_other_configurations_marked() {
        let current = run(4, Status::Fail);
        let mut other = run(2, Status::Fail);
        other.config_hash = Some("another".into());
        let earlier = [run(5, Status::Pass), other, run(3, Status::Fail)];
        let view = history_view(&current, &earlier).unwrap();
        let marks: Vec<(bool, bool)> = view
            .runs
            .iter()
            .map(|r| (r.other_config, r.current))
            .collect();
        // Sorted as given (read_history sorts); the run of the 5th is after the current one.
        assert_eq!(marks, [(true, false), (false, false), (false, true)]);
        assert_eq!(view.other_configs, 1);
        assert!(history_view(&current, &[]).is_none());
    }
}
