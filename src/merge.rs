//! Combining the results of shards (`--shard I/N`) into one result.

use crate::result::{RunResult, WaiverState};

pub fn merge(mut results: Vec<RunResult>) -> Result<RunResult, String> {
    let Some(first) = results.first() else {
        return Err("nothing to merge: give the shard results".into());
    };
    let ids: Vec<String> = first.checks.iter().map(|c| c.id.clone()).collect();
    let first_hash = first.config_hash.clone();
    for r in &results[1..] {
        if r.config_hash != first_hash {
            return Err(format!(
                "the results come from different configurations ({} and {}): shard the same suite",
                short(&first_hash),
                short(&r.config_hash)
            ));
        }
        if !r.checks.iter().map(|c| &c.id).eq(ids.iter()) {
            return Err("the results hold different checks: merge shards of one suite".into());
        }
    }
    let mut merged = results.remove(0);
    for r in results {
        for (mine, theirs) in merged.checks.iter_mut().zip(r.checks) {
            if !mine.selected && theirs.selected {
                *mine = theirs;
            }
        }
        for (mine, theirs) in merged.waivers.iter_mut().zip(r.waivers) {
            mine.state = stronger(mine.state, theirs.state);
        }
        for g in r.regressions {
            if !merged.regressions.iter().any(|m| m.check == g.check) {
                merged.regressions.push(g);
            }
        }
        for f in r.new_findings {
            if !merged.new_findings.contains(&f) {
                merged.new_findings.push(f);
            }
        }
        merged.started_at = merged.started_at.min(r.started_at);
        merged.duration_ms = merged.duration_ms.max(r.duration_ms);
        merged.baseline = merged.baseline.or(r.baseline);
    }
    // Regressions in definition order, as a single run lists them.
    merged
        .regressions
        .sort_by_key(|g| ids.iter().position(|id| *id == g.check));
    merged.partial = merged.checks.iter().any(|c| !c.selected);
    merged.shard = None;
    Ok(merged)
}

/// A waiver used by any shard was used by the run.
fn stronger(a: WaiverState, b: WaiverState) -> WaiverState {
    let rank = |s: WaiverState| match s {
        WaiverState::Expired => 3,
        WaiverState::Expiring => 2,
        WaiverState::Active => 1,
        WaiverState::Unused => 0,
    };
    if rank(b) > rank(a) { b } else { a }
}

fn short(hash: &Option<String>) -> String {
    hash.as_deref()
        .map_or("none".into(), |h| h[..h.len().min(12)].to_string())
}
