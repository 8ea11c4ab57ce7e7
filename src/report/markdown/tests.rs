use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use serde_json::{Value, json};

use crate::redact::Redactor;
use crate::report::{Format, Look, render};
use crate::result::RunResult;
use crate::scoring::{Goal, rescore};

const SAMPLE: &str = include_str!("../../../fixtures/results/sample.json");

fn decided(mut result: Value) -> RunResult {
    let mut result: RunResult = serde_json::from_value(result.take()).unwrap();
    let goal = Goal {
        stage: "production",
        min_score: None,
        fail_on_regression: false,
    };
    rescore(&mut result, &goal).unwrap();
    result
}

fn markdown(result: &RunResult) -> String {
    let bytes = render(Format::Markdown, Look::PLAIN, result, &Redactor::default()).unwrap();
    String::from_utf8(bytes).unwrap()
}

/// A check of the sample's shape.
fn check(id: &str, category: &str, severity: &str, status: &str, findings: &[&str]) -> Value {
    let findings: Vec<Value> = findings
        .iter()
        .map(|subject| {
            json!({
                "subject": subject,
                "message": format!("{subject}: not as required"),
                "level": "fail",
                "waived": false,
                "evidence": {"object": subject, "seen": "off"},
                "fingerprint": format!("{id}:{subject}"),
            })
        })
        .collect();
    json!({
        "id": id, "title": format!("The {id} check"), "kind": "sql", "target": "db",
        "category": category, "severity": severity, "weight": 5, "blocker": false,
        "tags": [], "status": status, "message": format!("{id} is {status}"),
        "duration_ms": 3, "findings": findings, "measurements": {},
        "remediation": null, "selected": true,
    })
}

#[test]
fn a_17_check_report_with_9_failures_fits_in_70_lines() {
    let mut result: Value = serde_json::from_str(SAMPLE).unwrap();
    let mut checks = vec![
        check(
            "rls.enabled",
            "security",
            "critical",
            "fail",
            &["public.wallets", "public.payouts"],
        ),
        check(
            "backup.fresh",
            "reliability",
            "high",
            "fail",
            &["backups/latest.dump"],
        ),
        check(
            "tls.valid",
            "security",
            "high",
            "fail",
            &["api.example.com"],
        ),
        check("db.reachable", "database", "high", "error", &[]),
        check("headers.csp", "security", "medium", "fail", &["/"]),
        check(
            "index.fk",
            "database",
            "medium",
            "fail",
            &["public.a_fk", "public.b_fk"],
        ),
        check("replica.lag", "reliability", "medium", "error", &[]),
        check("api.latency", "reliability", "low", "fail", &["GET /"]),
        check(
            "docs.alerts",
            "operations",
            "low",
            "fail",
            &["docs/ALERTS.md"],
        ),
        check("api.cors", "security", "low", "warn", &["*"]),
        check("env.production", "operations", "low", "skip", &[]),
    ];
    for id in [
        "api.health",
        "docs.runbook",
        "db.size",
        "db.locks",
        "cron.jobs",
        "api.tls",
    ] {
        checks.push(check(id, "operations", "medium", "pass", &[]));
    }
    for blocker in &mut checks[..2] {
        blocker["blocker"] = json!(true);
        blocker["remediation"] = json!("Fix the cause, then run the check again.");
    }
    result["checks"] = Value::Array(checks);
    result["waivers"] = json!([]);
    let shown = markdown(&decided(result));

    assert!(shown.contains("17 checks: 6 pass · 1 warn · 7 fail · 2 error · 1 skip"));
    let lines = shown.lines().count();
    assert!(lines < 70, "{lines} lines:\n{shown}");
    for id in [
        "rls.enabled",
        "tls.valid",
        "index.fk",
        "docs.alerts",
        "api.cors",
    ] {
        let mentions = shown.matches(&format!("`{id}`")).count();
        assert_eq!(mentions, 1, "{id} is listed once:\n{shown}");
    }
}

/// Data that is markup in every way markdown knows.
const HOSTILE: &[&str] = &[
    "Shop <Release> & Co",
    "<script>alert(1)</script>",
    "*stars*",
    "**bold**",
    "[link](http://x)",
    "![image](http://x/i.png)",
    "a ``` b ` c",
    "one | two",
    "~~struck~~ $math$ &amp;",
];

fn hostile_result() -> RunResult {
    let mut result: Value = serde_json::from_str(SAMPLE).unwrap();
    let all = HOSTILE.join(" ");
    result["project"] = json!(HOSTILE[0]);
    let rls = &mut result["checks"][0];
    rls["title"] = json!(format!("title {all}"));
    rls["remediation"] = json!(format!("fix {all}"));
    rls["findings"][0]["subject"] = json!(HOSTILE[1]);
    rls["findings"][0]["message"] = json!(format!("row {}\nnext line", HOSTILE[1]));
    rls["findings"][0]["evidence"] = json!({"value": all, "ticks": "````"});
    rls["findings"][1]["message"] = json!(format!("- {all}"));
    result["checks"][3]["message"] = json!(format!("# {all}"));
    result["waivers"][0]["reason"] = json!(HOSTILE[7]);
    result["waivers"][0]["approved_by"] = json!(HOSTILE[1]);
    decided(result)
}

/// The text a reader sees, the tags and markup the renderer made, the table cells.
#[derive(Default)]
struct Rendered {
    text: String,
    html: Vec<String>,
    markup: Vec<String>,
    cells: Vec<String>,
    headings: Vec<String>,
}

fn parse(markdown: &str) -> Rendered {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_MATH;
    let mut seen = Rendered::default();
    let mut cell = None::<String>;
    let mut heading = None::<String>;
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Text(t) | Event::Code(t) => {
                seen.text.push_str(&t);
                for open in [&mut cell, &mut heading].into_iter().flatten() {
                    open.push_str(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak => seen.text.push(' '),
            Event::Html(t) | Event::InlineHtml(t) => seen.html.push(t.trim().to_string()),
            Event::InlineMath(t) | Event::DisplayMath(t) => seen.markup.push(format!("math {t}")),
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => seen.cells.extend(cell.take()),
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => seen.headings.extend(heading.take()),
            Event::Start(tag @ (Tag::Link { .. } | Tag::Image { .. } | Tag::Strikethrough)) => {
                seen.markup.push(format!("{tag:?}"))
            }
            _ => {}
        }
    }
    seen
}

#[test]
fn markup_in_the_data_is_shown_as_text_and_never_rendered() {
    let shown = markdown(&hostile_result());
    let seen = parse(&shown);

    // The only HTML is the report's own collapsible sections.
    for tag in &seen.html {
        assert!(
            tag.starts_with("<details><summary>") || tag == "</details>",
            "HTML from the data: {tag}\n{shown}"
        );
    }
    assert_eq!(seen.markup, Vec::<String>::new(), "{shown}");
    let headings = [
        "Shop <Release> & Co: NO-GO for production",
        "Blockers",
        "Other checks that did not pass",
        "Categories",
        "Waivers",
    ];
    assert_eq!(seen.headings, headings, "{shown}");
    // Emphasis and strong come from the report's own words only.
    let own = [
        "NO-GO",
        "Since the baseline:",
        "production",
        "none",
        "FAIL",
        "ERROR",
        "WARN",
        "(new)",
        "Fix:",
        "expiring",
        "expired",
    ];
    for text in strong_texts(&shown) {
        assert!(
            own.contains(&text.as_str()) || text.parse::<f64>().is_ok(),
            "emphasis from the data: {text:?}\n{shown}"
        );
    }
    for data in HOSTILE {
        assert!(
            seen.text.contains(data),
            "{data:?} is not shown verbatim:\n{}",
            seen.text
        );
    }
    assert!(
        seen.text
            .contains("row <script>alert(1)</script> next line")
    );
    assert!(seen.text.contains(&format!("- {}", HOSTILE.join(" "))));
    // A pipe in a waiver's reason stays in its cell.
    assert!(
        seen.cells.iter().any(|c| c == "one | two"),
        "{:?}",
        seen.cells
    );
    assert!(
        seen.cells.iter().any(|c| c == HOSTILE[1]),
        "{:?}",
        seen.cells
    );
}

/// The text inside every emphasis and strong span.
fn strong_texts(markdown: &str) -> Vec<String> {
    let mut texts = Vec::new();
    let mut open: Option<String> = None;
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Strong | Tag::Emphasis) => open = Some(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(o) = &mut open {
                    o.push_str(&t);
                }
            }
            Event::End(TagEnd::Strong | TagEnd::Emphasis) => texts.extend(open.take()),
            _ => {}
        }
    }
    texts
}

#[test]
fn evidence_is_fenced_longer_than_any_backtick_run_inside() {
    let shown = markdown(&hostile_result());
    assert!(
        shown.contains("\n`````text\nrls.enabled <script>"),
        "{shown}"
    );
    let blocks: Vec<String> = Parser::new(&shown)
        .filter_map(|e| match e {
            Event::Start(Tag::CodeBlock(kind)) => Some(format!("{kind:?}")),
            _ => None,
        })
        .collect();
    assert_eq!(blocks.len(), 1, "{shown}");
    let code: String = Parser::new(&shown)
        .skip_while(|e| !matches!(e, Event::Start(Tag::CodeBlock(_))))
        .take_while(|e| !matches!(e, Event::End(TagEnd::CodeBlock)))
        .filter_map(|e| match e {
            Event::Text(t) => Some(t.to_string()),
            _ => None,
        })
        .collect();
    assert!(code.contains(r#""ticks":"````""#), "{code}");
    assert!(code.contains("<script>alert(1)</script>"), "{code}");
}
