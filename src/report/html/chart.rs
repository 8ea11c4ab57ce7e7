//! Chart geometry for the HTML page: plain functions turn scores into SVG coordinates; the
//! template only draws what they computed. Every chart is on a 0–100 score scale.

use serde::Serialize;

/// One horizontal bar on a 0–100 scale.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bar {
    pub label: String,
    /// Shown after the bar, e.g. "62.5 · weight 25".
    pub note: String,
    /// The bar's length in SVG units; 0 when there is no score.
    pub width: String,
    /// A CSS class: the bar's colour.
    pub class: &'static str,
}

/// A vertical line across the bars: a stage's bar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mark {
    pub label: String,
    pub x: String,
    pub class: &'static str,
    /// How the label sits on its line (`middle`, or `end`/`start` to keep clear of a close
    /// neighbour): set by `bar_chart`.
    pub anchor: &'static str,
}

/// Marks closer than this (in SVG units) would print their labels over each other.
const LABEL_ROOM: f64 = 90.0;

/// Labels of close marks move apart: the left one ends at its line, the right one starts there.
fn anchor_labels(marks: &mut [Mark]) {
    let xs: Vec<f64> = marks.iter().map(|m| m.x.parse().unwrap_or(0.0)).collect();
    let close = |a: Option<&f64>, b: f64| a.is_some_and(|a| (a - b).abs() < LABEL_ROOM);
    for (i, mark) in marks.iter_mut().enumerate() {
        mark.anchor = if close(xs.get(i + 1), xs[i]) {
            "end"
        } else if i > 0 && close(xs.get(i - 1), xs[i]) {
            "start"
        } else {
            "middle"
        };
    }
}

/// Horizontal bars with vertical marks, laid out left to right at `scale` units per point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BarChart {
    pub bars: Vec<Bar>,
    pub marks: Vec<Mark>,
    pub height: usize,
}

/// SVG units per score point of a bar chart: 100 points make 400 units.
pub const BAR_SCALE: f64 = 4.0;
/// Where the bars start: room for their labels on the left.
pub const BAR_LEFT: f64 = 160.0;
/// Height of one bar row in SVG units.
pub const ROW: usize = 28;

pub fn coordinate(value: f64) -> String {
    format!("{:.1}", value)
}

pub fn bar_width(score: Option<f64>) -> String {
    coordinate(score.unwrap_or(0.0).clamp(0.0, 100.0) * BAR_SCALE)
}

/// The colour of a score against the bar it has to reach.
pub fn score_class(score: Option<f64>, bar: f64) -> &'static str {
    match score {
        Some(s) if s >= bar => "good",
        Some(s) if s >= bar * 0.75 => "fair",
        Some(_) => "poor",
        None => "none",
    }
}

pub fn bar_chart(bars: Vec<Bar>, mut marks: Vec<Mark>) -> BarChart {
    marks.sort_by(|a, b| {
        let x = |m: &Mark| m.x.parse::<f64>().unwrap_or(0.0);
        x(a).total_cmp(&x(b))
    });
    anchor_labels(&mut marks);
    // Marks carry labels above the bars: one row of room for them.
    let height = (bars.len() + 1) * ROW + 8;
    BarChart {
        bars,
        marks,
        height,
    }
}

/// A line through the runs; `None` scores break it into segments.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub name: String,
    pub class: &'static str,
    /// SVG `points` attributes, one per unbroken stretch.
    pub segments: Vec<String>,
    /// Where a label at the line's end goes: the y of its last value.
    pub end_y: Option<String>,
}

/// A run on the x axis: its label and, for the main series, its dot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub x: String,
    pub y: Option<String>,
    pub label: String,
    pub title: String,
    /// Measured with another configuration than the current result.
    pub other_config: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineChart {
    pub title: String,
    pub width: usize,
    pub height: usize,
    pub plot_left: usize,
    pub plot_right: usize,
    /// y of the 0, 50 and 100 grid lines.
    pub grid: Vec<(String, &'static str)>,
    pub series: Vec<Series>,
    pub points: Vec<Point>,
}

/// The size of a trend chart: a wide one for the score, small ones per category.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    pub width: usize,
    pub height: usize,
}

const LEFT: f64 = 34.0;
const RIGHT_ROOM: f64 = 90.0;
const TOP: f64 = 10.0;
const BOTTOM_ROOM: f64 = 24.0;

impl Frame {
    fn x(&self, index: usize, count: usize) -> f64 {
        let span = self.width as f64 - LEFT - RIGHT_ROOM;
        if count <= 1 {
            LEFT + span / 2.0
        } else {
            LEFT + span * index as f64 / (count - 1) as f64
        }
    }

    fn y(&self, score: f64) -> f64 {
        let span = self.height as f64 - TOP - BOTTOM_ROOM;
        TOP + span * (1.0 - score.clamp(0.0, 100.0) / 100.0)
    }
}

/// The `points` of each unbroken stretch of a series of scores, one value per run.
pub fn segments(frame: Frame, values: &[Option<f64>]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for (i, value) in values.iter().enumerate() {
        match value {
            Some(v) => current.push(format!(
                "{},{}",
                coordinate(frame.x(i, values.len())),
                coordinate(frame.y(*v))
            )),
            None if !current.is_empty() => out.push(std::mem::take(&mut current).join(" ")),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current.join(" "));
    }
    out
}

/// What a run contributes to a trend chart.
pub struct RunPoint {
    pub label: String,
    pub title: String,
    pub value: Option<f64>,
    pub other_config: bool,
}

/// A trend chart: the first series gets a dot per run; the others are lines only.
pub fn line_chart(
    title: String,
    frame: Frame,
    runs: &[RunPoint],
    series: Vec<(String, &'static str, Vec<Option<f64>>)>,
) -> LineChart {
    let points = runs
        .iter()
        .enumerate()
        .map(|(i, run)| Point {
            x: coordinate(frame.x(i, runs.len())),
            y: run.value.map(|v| coordinate(frame.y(v))),
            label: run.label.clone(),
            title: run.title.clone(),
            other_config: run.other_config,
        })
        .collect();
    let series = series
        .into_iter()
        .map(|(name, class, values)| Series {
            name,
            class,
            segments: segments(frame, &values),
            end_y: values
                .iter()
                .rev()
                .find_map(|v| *v)
                .map(|v| coordinate(frame.y(v) + 4.0)),
        })
        .collect();
    LineChart {
        title,
        width: frame.width,
        height: frame.height,
        plot_left: LEFT as usize,
        plot_right: frame.width - RIGHT_ROOM as usize,
        grid: [(0.0, "0"), (50.0, "50"), (100.0, "100")]
            .into_iter()
            .map(|(v, label)| (coordinate(frame.y(v)), label))
            .collect(),
        series,
        points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Frame = Frame {
        width: 224,
        height: 134,
    };

    #[test]
    fn scores_map_onto_the_plot_area_and_gaps_break_lines() {
        // Plot: x from 34 to 134, y from 10 (100) to 110 (0).
        let values = [Some(0.0), Some(100.0), None, Some(50.0), Some(150.0)];
        assert_eq!(
            segments(FRAME, &values),
            ["34.0,110.0 59.0,10.0", "109.0,60.0 134.0,10.0"]
        );
        assert!(segments(FRAME, &[None, None]).is_empty());
    }

    #[test]
    fn a_single_run_sits_in_the_middle() {
        assert_eq!(segments(FRAME, &[Some(50.0)]), ["84.0,60.0"]);
    }

    #[test]
    fn labels_of_close_stage_bars_move_apart() {
        let mark = |x: &str| Mark {
            label: String::new(),
            x: x.into(),
            class: "met",
            anchor: "middle",
        };
        let chart = bar_chart(vec![], vec![mark("532"), mark("512"), mark("300")]);
        let anchors: Vec<(&str, &str)> = chart
            .marks
            .iter()
            .map(|m| (m.x.as_str(), m.anchor))
            .collect();
        assert_eq!(
            anchors,
            [("300", "middle"), ("512", "end"), ("532", "start")]
        );
    }

    #[test]
    fn bars_are_clamped_and_coloured_against_the_stage_bar() {
        assert_eq!(bar_width(Some(62.5)), "250.0");
        assert_eq!(bar_width(Some(120.0)), "400.0");
        assert_eq!(bar_width(None), "0.0");
        assert_eq!(score_class(Some(93.0), 93.0), "good");
        assert_eq!(score_class(Some(70.0), 93.0), "fair");
        assert_eq!(score_class(Some(30.0), 93.0), "poor");
        assert_eq!(score_class(None, 93.0), "none");
    }
}
