//! Score, stages and the go/no-go decision (SPEC §4): pure functions of the check results.

use crate::model::{Category, Stage};
use crate::result::{CategoryResult, CheckResult, Counts, Decision, Regression, StageResult};
use crate::vocab::Status;

/// Everything computed from the check results.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub score: Option<f64>,
    pub score_without_waivers: Option<f64>,
    pub coverage: f64,
    pub counts: Counts,
    pub categories: Vec<CategoryResult>,
    pub stages: Vec<StageResult>,
    pub decision: Decision,
}

/// What the decision is taken for.
#[derive(Debug, Clone)]
pub struct Goal<'a> {
    pub stage: &'a str,
    /// Replaces the target stage's `min_score` (`--min-score`).
    pub min_score: Option<f64>,
    /// Any regression is a NO-GO (`--fail-on-regression`).
    pub fail_on_regression: bool,
}

/// Credit and whether the check is scored at all; waived checks count as failures when
/// `waivers_count` is false.
fn credit(status: Status, waivers_count: bool) -> Option<f64> {
    match status {
        Status::Pass | Status::Warn => Some(1.0),
        Status::Fail | Status::Error => Some(0.0),
        Status::Waived if !waivers_count => Some(0.0),
        Status::Waived | Status::Skip => None,
    }
}

fn category_score(checks: &[&CheckResult], waivers_count: bool) -> Option<f64> {
    let (mut earned, mut total) = (0.0, 0.0);
    for check in checks {
        if let Some(c) = credit(check.status, waivers_count) {
            earned += check.weight * c;
            total += check.weight;
        }
    }
    (total > 0.0).then(|| 100.0 * earned / total)
}

fn overall(scores: &[(f64, Option<f64>)]) -> Option<f64> {
    let (mut sum, mut weights) = (0.0, 0.0);
    for (weight, score) in scores {
        if let Some(s) = score {
            sum += weight * s;
            weights += weight;
        }
    }
    (weights > 0.0).then(|| sum / weights)
}

/// Two decimals: what is shown is what is compared.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

pub fn evaluate(
    checks: &[CheckResult],
    categories: &[Category],
    stages: &[Stage],
    regressions: &[Regression],
    goal: &Goal,
) -> Evaluation {
    let mut counts = Counts::default();
    for c in checks {
        counts.add(c.status);
    }
    let mut with_waivers = Vec::new();
    let mut without_waivers = Vec::new();
    let category_results: Vec<CategoryResult> = categories
        .iter()
        .map(|cat| {
            let members: Vec<&CheckResult> =
                checks.iter().filter(|c| c.category == cat.id).collect();
            let exact = category_score(&members, true);
            with_waivers.push((cat.weight, exact));
            without_waivers.push((cat.weight, category_score(&members, false)));
            category_result(cat, &members, exact)
        })
        .collect();
    let score = overall(&with_waivers).map(round2);
    let score_without_waivers = overall(&without_waivers).map(round2);
    let stage_results: Vec<StageResult> = stages
        .iter()
        .map(|stage| stage_result(stage, checks, score, goal))
        .collect();
    let decision = decide(checks, stages, &stage_results, regressions, goal);
    Evaluation {
        score,
        score_without_waivers,
        coverage: coverage(checks),
        counts,
        categories: category_results,
        stages: stage_results,
        decision,
    }
}

fn category_result(cat: &Category, members: &[&CheckResult], exact: Option<f64>) -> CategoryResult {
    let mut counts = Counts::default();
    for c in members {
        counts.add(c.status);
    }
    CategoryResult {
        id: cat.id.clone(),
        title: cat.title.clone(),
        weight: cat.weight,
        score: exact.map(round2),
        counts,
    }
}

/// The share of selected checks that produced evidence.
fn coverage(checks: &[CheckResult]) -> f64 {
    let selected: Vec<&CheckResult> = checks.iter().filter(|c| c.selected).collect();
    let evidenced = selected
        .iter()
        // A waived check failed and was looked at: it produced evidence too.
        .filter(|c| {
            matches!(
                c.status,
                Status::Pass | Status::Warn | Status::Fail | Status::Waived
            )
        })
        .count();
    if selected.is_empty() {
        0.0
    } else {
        round2(100.0 * evidenced as f64 / selected.len() as f64)
    }
}

/// Whether the stage's bar and requirements are met, and if not, why.
fn stage_result(
    stage: &Stage,
    checks: &[CheckResult],
    score: Option<f64>,
    goal: &Goal,
) -> StageResult {
    let min_score = match goal.min_score {
        Some(m) if stage.name == goal.stage => m,
        _ => stage.min_score,
    };
    let mut unmet = Vec::new();
    match score {
        Some(s) if s >= min_score => {}
        Some(s) => unmet.push(format!("score {s:.1} is below {min_score}")),
        None => unmet.push("no check was scored".to_string()),
    }
    for check in checks {
        let required: Vec<String> = stage
            .require
            .iter()
            .filter(|sel| sel.matches(&check.facts()))
            .map(ToString::to_string)
            .collect();
        if required.is_empty()
            || matches!(check.status, Status::Pass | Status::Warn | Status::Waived)
        {
            continue;
        }
        let why = match (check.status, check.selected) {
            (Status::Skip, false) => "was not run (not selected)".to_string(),
            (Status::Skip, true) => "was skipped, so it is not verified".to_string(),
            (status, _) => format!("is {}", status.as_str()),
        };
        unmet.push(format!(
            "{} {why} (required: {})",
            check.id,
            required.join(", ")
        ));
    }
    StageResult {
        name: stage.name.clone(),
        min_score,
        require: stage.require.iter().map(ToString::to_string).collect(),
        met: unmet.is_empty(),
        unmet,
    }
}

fn decide(
    checks: &[CheckResult],
    stages: &[Stage],
    results: &[StageResult],
    regressions: &[Regression],
    goal: &Goal,
) -> Decision {
    let reached = results
        .iter()
        .take_while(|s| s.met)
        .last()
        .map(|s| s.name.clone());
    let target_index = results.iter().position(|s| s.name == goal.stage);
    let mut reasons = Vec::new();
    let mut blockers: Vec<String> = Vec::new();
    let mut go = match target_index {
        Some(i) => results[..=i].iter().all(|s| s.met),
        None => {
            reasons.push(format!("stage `{}` is not defined", goal.stage));
            false
        }
    };
    if let Some(i) = target_index {
        for (stage, result) in stages[..=i].iter().zip(&results[..=i]) {
            for reason in &result.unmet {
                reasons.push(format!("{}: {reason}", result.name));
            }
            for check in checks {
                let required = stage.require.iter().any(|sel| sel.matches(&check.facts()));
                let verified = matches!(check.status, Status::Pass | Status::Warn | Status::Waived);
                if required && !verified && !blockers.contains(&check.id) {
                    blockers.push(check.id.clone());
                }
            }
        }
    }
    if goal.fail_on_regression && !regressions.is_empty() {
        go = false;
        for r in regressions {
            reasons.push(format!(
                "regression: {} was {} in the baseline and is {} now",
                r.check,
                r.before.as_str(),
                r.now.as_str()
            ));
        }
    }
    // Blockers are listed in definition order whatever stage found them first.
    blockers.sort_by_key(|id| checks.iter().position(|c| &c.id == id));
    Decision {
        go,
        reached,
        reasons,
        blockers,
    }
}

/// A shard saw only its share of the checks: it is never GO and reaches no stage on its own;
/// `ready merge` combines the shards and decides.
pub fn hold_for_merge(decision: &mut Decision, shard: Option<&str>) {
    if let Some(shard) = shard {
        decision.go = false;
        decision.reached = None;
        decision.reasons.push(format!(
            "shard {shard}: a shard decides only after `ready merge`"
        ));
    }
}

/// Recomputes the score and the decision of a saved result for another goal, from what the
/// result records (categories with weights, stages with their selectors, check statuses).
pub fn rescore(result: &mut crate::result::RunResult, goal: &Goal) -> Result<(), String> {
    let categories: Vec<Category> = result
        .categories
        .iter()
        .map(|c| Category {
            id: c.id.clone(),
            title: c.title.clone(),
            weight: c.weight,
        })
        .collect();
    let stages = result
        .stages
        .iter()
        .map(|s| {
            let require = s
                .require
                .iter()
                .map(|text| {
                    crate::selector::Selector::parse(text)
                        .map_err(|e| format!("stage {}: {e}", s.name))
                })
                .collect::<Result<Vec<_>, _>>()?;
            // The recorded bar may already be a `--min-score` override; the new goal decides.
            Ok(Stage {
                name: s.name.clone(),
                min_score: s.min_score,
                require,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let e = evaluate(
        &result.checks,
        &categories,
        &stages,
        &result.regressions,
        goal,
    );
    result.stage = goal.stage.to_string();
    result.decision = e.decision;
    hold_for_merge(&mut result.decision, result.shard.as_deref());
    result.score = e.score;
    result.score_without_waivers = e.score_without_waivers;
    result.coverage = e.coverage;
    result.counts = e.counts;
    result.categories = e.categories;
    result.stages = e.stages;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{default_categories, default_stages};
    use crate::vocab::Severity;
    use std::collections::BTreeMap;

    fn check(
        id: &str,
        category: &str,
        severity: Severity,
        weight: f64,
        status: Status,
    ) -> CheckResult {
        CheckResult {
            id: id.into(),
            title: id.into(),
            kind: "sql".into(),
            target: None,
            category: category.into(),
            severity,
            weight,
            blocker: false,
            tags: vec![],
            status,
            message: String::new(),
            duration_ms: 0,
            findings: vec![],
            measurements: BTreeMap::new(),
            remediation: None,
            selected: true,
            defined_at: None,
        }
    }

    fn goal(stage: &str) -> Goal<'_> {
        Goal {
            stage,
            min_score: None,
            fail_on_regression: false,
        }
    }

    /// Worked by hand:
    /// security: critical pass (10) + high fail (7.5) + medium waived (left out) → 10/17.5 = 57.14
    ///           without waivers: 10/22.5 = 44.44
    /// database: high pass (7.5) + low error (2.5) + medium skip (left out) → 7.5/10 = 75
    /// overall: (30·57.142857 + 20·75) / 50 = 64.29; without waivers (30·44.44 + 20·75)/50 = 56.67
    #[test]
    fn hand_computed_scores() {
        let checks = vec![
            check("a", "security", Severity::Critical, 10.0, Status::Pass),
            check("b", "security", Severity::High, 7.5, Status::Fail),
            check("c", "security", Severity::Medium, 5.0, Status::Waived),
            check("d", "database", Severity::High, 7.5, Status::Pass),
            check("e", "database", Severity::Low, 2.5, Status::Error),
            check("f", "database", Severity::Medium, 5.0, Status::Skip),
        ];
        let e = evaluate(
            &checks,
            &default_categories(),
            &default_stages(),
            &[],
            &goal("production"),
        );
        assert_eq!(e.categories[0].score, Some(57.14));
        assert_eq!(e.categories[2].score, Some(75.0));
        assert_eq!(e.categories[1].score, None);
        assert_eq!(e.score, Some(64.29));
        assert_eq!(e.score_without_waivers, Some(56.67));
        // a, b, c (failed, then waived) and d produced evidence out of 6 selected.
        assert_eq!(e.coverage, 66.67);
        assert_eq!(
            e.counts,
            Counts {
                pass: 2,
                warn: 0,
                fail: 1,
                error: 1,
                skip: 1,
                waived: 1
            }
        );
        assert!(!e.decision.go);
        assert_eq!(e.decision.reached, None);
        // production requires blockers and severity>=high: only b is both required and unverified.
        assert_eq!(e.decision.blockers, ["b"]);
    }

    #[test]
    fn go_when_every_stage_up_to_the_target_is_met() {
        let mut blocker = check("rls", "security", Severity::Critical, 10.0, Status::Pass);
        blocker.blocker = true;
        let checks = vec![
            blocker,
            check("lint", "operations", Severity::Low, 2.5, Status::Fail),
        ];
        // security 100 (w30), operations 0 (w10) → 75: below beta's 88.
        let e = evaluate(
            &checks,
            &default_categories(),
            &default_stages(),
            &[],
            &goal("beta"),
        );
        assert_eq!(e.score, Some(75.0));
        assert!(!e.decision.go);
        assert_eq!(e.decision.reasons, ["beta: score 75.0 is below 88"]);
        assert!(e.decision.blockers.is_empty());

        let lowered = Goal {
            stage: "beta",
            min_score: Some(70.0),
            fail_on_regression: false,
        };
        let e = evaluate(
            &checks,
            &default_categories(),
            &default_stages(),
            &[],
            &lowered,
        );
        assert!(e.decision.go);
        assert_eq!(e.decision.reached.as_deref(), Some("beta"));
        assert_eq!(e.stages[0].min_score, 70.0);
    }

    #[test]
    fn an_errored_blocker_is_no_go_whatever_the_score() {
        let mut b = check("backup", "reliability", Severity::Low, 2.5, Status::Error);
        b.blocker = true;
        let mut checks = vec![b];
        for i in 0..50 {
            checks.push(check(
                &format!("ok{i}"),
                "reliability",
                Severity::Critical,
                10.0,
                Status::Pass,
            ));
        }
        let e = evaluate(
            &checks,
            &default_categories(),
            &default_stages(),
            &[],
            &goal("beta"),
        );
        assert!(e.score.unwrap() > 99.0);
        assert!(!e.decision.go);
        assert_eq!(e.decision.blockers, ["backup"]);
        assert_eq!(
            e.decision.reasons,
            ["beta: backup is error (required: blocker)"]
        );
    }

    #[test]
    fn reached_stops_at_the_first_unmet_stage() {
        // production met on its own but beta not: reached is none, production is NO-GO.
        let stages = vec![
            Stage {
                name: "beta".into(),
                min_score: 0.0,
                require: vec![crate::selector::Selector::parse("tag:beta").unwrap()],
            },
            Stage {
                name: "production".into(),
                min_score: 0.0,
                require: vec![],
            },
        ];
        let mut c = check("x", "security", Severity::Low, 1.0, Status::Fail);
        c.tags = vec!["beta".into()];
        let e = evaluate(
            &[c],
            &default_categories(),
            &stages,
            &[],
            &goal("production"),
        );
        assert!(!e.stages[0].met);
        assert!(e.stages[1].met);
        assert_eq!(e.decision.reached, None);
        assert!(!e.decision.go);
    }

    #[test]
    fn unselected_skips_do_not_count_toward_coverage_but_do_not_verify_blockers() {
        let mut a = check("a", "security", Severity::High, 7.5, Status::Skip);
        a.selected = false;
        a.blocker = true;
        let b = check("b", "security", Severity::High, 7.5, Status::Pass);
        let e = evaluate(
            &[a, b],
            &default_categories(),
            &default_stages(),
            &[],
            &goal("beta"),
        );
        assert_eq!(e.coverage, 100.0);
        assert_eq!(e.score, Some(100.0));
        assert!(!e.decision.go);
        assert_eq!(
            e.stages[0].unmet,
            ["a was not run (not selected) (required: blocker)"]
        );
    }

    #[test]
    fn regressions_turn_go_into_no_go_on_request() {
        let checks = vec![check("a", "security", Severity::High, 7.5, Status::Pass)];
        let regressions = vec![Regression {
            check: "z".into(),
            before: Status::Pass,
            now: Status::Fail,
        }];
        let g = Goal {
            stage: "production",
            min_score: None,
            fail_on_regression: true,
        };
        let e = evaluate(
            &checks,
            &default_categories(),
            &default_stages(),
            &regressions,
            &g,
        );
        assert!(!e.decision.go);
        assert_eq!(e.decision.reached.as_deref(), Some("production"));
    }

    #[test]
    fn an_unknown_stage_is_never_go() {
        let e = evaluate(
            &[],
            &default_categories(),
            &default_stages(),
            &[],
            &goal("prod"),
        );
        assert!(!e.decision.go);
        assert_eq!(e.score, None);
        assert_eq!(e.decision.reasons[0], "stage `prod` is not defined");
    }

    #[test]
    fn a_shard_is_never_go_and_says_that_merge_decides() {
        let go = Decision {
            go: true,
            reached: Some("production".into()),
            reasons: vec![],
            blockers: vec![],
        };
        let mut whole = go.clone();
        hold_for_merge(&mut whole, None);
        assert_eq!(whole, go);
        let mut shard = go;
        hold_for_merge(&mut shard, Some("2/4"));
        assert_eq!(
            shard,
            Decision {
                go: false,
                reached: None,
                reasons: vec!["shard 2/4: a shard decides only after `ready merge`".into()],
                blockers: vec![],
            }
        );
    }
}
