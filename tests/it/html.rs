//! The HTML release report: valid, self-contained, escaped, and working in a real browser.

use std::path::{Path, PathBuf};
use std::process::Command;

use html5ever::tendril::TendrilSink;
use markup5ever_rcdom::{Handle, NodeData, RcDom};
use serde_json::{Value, json};

use crate::common::Project;

fn sample() -> Value {
    let path = format!(
        "{}/fixtures/results/sample.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The page parsed by html5ever, with the parse errors it reported.
fn parse(html: &str) -> RcDom {
    html5ever::parse_document(RcDom::default(), Default::default())
        .from_utf8()
        .read_from(&mut html.as_bytes())
        .unwrap()
}

fn elements(node: &Handle, name: &str, out: &mut Vec<Handle>) {
    if let NodeData::Element { name: n, .. } = &node.data
        && &*n.local == name
    {
        out.push(node.clone());
    }
    for child in node.children.borrow().iter() {
        elements(child, name, out);
    }
}

fn all(dom: &RcDom, name: &str) -> Vec<Handle> {
    let mut out = Vec::new();
    elements(&dom.document, name, &mut out);
    out
}

fn attr(node: &Handle, name: &str) -> Option<String> {
    match &node.data {
        NodeData::Element { attrs, .. } => attrs
            .borrow()
            .iter()
            .find(|a| &*a.name.local == name)
            .map(|a| a.value.to_string()),
        _ => None,
    }
}

fn text(node: &Handle) -> String {
    let mut out = String::new();
    if let NodeData::Text { contents } = &node.data {
        out.push_str(&contents.borrow());
    }
    for child in node.children.borrow().iter() {
        out.push_str(&text(child));
    }
    out
}

fn by_id(dom: &RcDom, tag: &str, id: &str) -> Handle {
    all(dom, tag)
        .into_iter()
        .find(|n| attr(n, "id").as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no <{tag} id={id}>"))
}

/// Parses without errors, loads nothing from elsewhere, and has exactly our one script.
fn assert_valid_and_self_contained(html: &str) -> RcDom {
    let dom = parse(html);
    assert_eq!(*dom.errors.borrow(), Vec::<std::borrow::Cow<str>>::new());
    for tag in ["script", "img", "link", "iframe", "a", "use", "image"] {
        for node in all(&dom, tag) {
            for name in ["src", "href"] {
                let url = attr(&node, name).unwrap_or_default().to_lowercase();
                assert!(
                    !url.starts_with("http:")
                        && !url.starts_with("https:")
                        && !url.starts_with("//"),
                    "<{tag} {name}={url}> loads from elsewhere"
                );
            }
        }
    }
    let scripts = all(&dom, "script");
    assert_eq!(scripts.len(), 1, "only the page's own script");
    assert_eq!(attr(&scripts[0], "src"), None);
    assert!(!html.contains("url("), "no style loads anything");
    dom
}

fn write_json(p: &Project, name: &str, value: &Value) -> PathBuf {
    p.write(name, &serde_json::to_string_pretty(value).unwrap());
    p.path(name)
}

fn render(p: &Project, args: &[&str]) -> String {
    let run = p.ready(args, &[]);
    assert_eq!(run.code, 1, "the sample is NO-GO: {}", run.stderr);
    run.stdout
}

const HOSTILE: &str = "<script>alert(1)</script> & \"quoted\" 'single' <b>bold</b>";

#[test]
fn data_full_of_markup_is_escaped() {
    let mut result = sample();
    result["project"] = json!(format!("Shop <Release> & Co {HOSTILE}"));
    let check = &mut result["checks"][0];
    check["title"] = json!(HOSTILE);
    check["message"] = json!(HOSTILE);
    check["remediation"] = json!(HOSTILE);
    check["findings"][0]["subject"] = json!("<i>public</i>.\"x\" & 'y'");
    check["findings"][0]["message"] = json!(HOSTILE);
    check["findings"][0]["evidence"] = json!({ "row": HOSTILE, "</pre>": "</details>" });
    result["waivers"][0]["reason"] = json!(HOSTILE);
    let p = Project::new("");
    let path = write_json(&p, "hostile.json", &result);
    let html = render(&p, &["report", path.to_str().unwrap(), "--format", "html"]);

    let dom = assert_valid_and_self_contained(&html);
    assert!(!html.contains("<script>alert"), "a live script from data");
    assert!(!html.contains("<b>bold"), "a tag from data");
    // Escaped, every piece of data reads back exactly as it was.
    let h1 = all(&dom, "h1");
    assert_eq!(text(&h1[0]), format!("Shop <Release> & Co {HOSTILE}"));
    let card = by_id(&dom, "article", "check-rls.enabled");
    let card_text = text(&card);
    assert!(
        card_text.contains(&format!("<i>public</i>.\"x\" & 'y' {HOSTILE}")),
        "subject and message"
    );
    assert!(card_text.contains("\"</pre>\": \"</details>\""), "evidence");
    assert!(all(&dom, "b").is_empty() && all(&dom, "i").is_empty());
    let waivers = text(&by_id(&dom, "section", "waivers"));
    assert!(waivers.contains(HOSTILE));
}

#[test]
fn the_page_shows_the_decision_blockers_and_every_check() {
    let p = Project::new("");
    let path = write_json(&p, "result.json", &sample());
    let html = render(&p, &["report", path.to_str().unwrap(), "--format", "html"]);
    let dom = assert_valid_and_self_contained(&html);
    let header = text(&all(&dom, "header")[0]);
    assert!(header.contains("NO-GO for stage production"), "{header}");
    assert!(
        header.contains("EasyMO") && header.contains("30.1"),
        "{header}"
    );
    let blockers = by_id(&dom, "section", "blockers");
    let cards: Vec<String> = all(&dom, "article")
        .iter()
        .map(|c| attr(c, "id").unwrap())
        .collect();
    assert_eq!(cards, ["check-rls.enabled", "check-backup.fresh"]);
    let links: Vec<String> = {
        let mut out = Vec::new();
        elements(&blockers, "a", &mut out);
        out.iter().filter_map(|a| attr(a, "href")).collect()
    };
    assert!(
        links.contains(&"docs/kinds/sql.md".to_string()),
        "{links:?}"
    );
    let rows = all(&dom, "tr")
        .into_iter()
        .filter(|r| attr(r, "class").as_deref() == Some("check"))
        .count();
    assert_eq!(rows, sample()["checks"].as_array().unwrap().len());
    // Two bars (with and without waivers) against two stage marks, a bar per category.
    let svgs = all(&dom, "svg");
    assert_eq!(svgs.len(), 2);
    assert!(text(&svgs[0]).contains("production 93"));

    // Another stage re-decides, and --report writes the same page to a file.
    let beta = render(
        &p,
        &[
            "report",
            path.to_str().unwrap(),
            "--stage",
            "beta",
            "--report",
            "html=out/beta.html",
        ],
    );
    assert!(
        beta.contains("NO-GO  EasyMO for beta"),
        "the table on stdout: {beta}"
    );
    let page = std::fs::read_to_string(p.path("out/beta.html")).unwrap();
    assert!(page.contains("NO-GO <span>for stage beta</span>"));
}

/// Three earlier results: one a day, the middle one from another configuration.
fn history(p: &Project) -> PathBuf {
    let mut result = sample();
    result["config_hash"] = json!("aaaa");
    for (day, hash, rls) in [
        (17, "aaaa", "pass"),
        (18, "bbbb", "fail"),
        (19, "aaaa", "fail"),
    ] {
        result["started_at"] = json!(format!("2026-11-{day}T09:30:00Z"));
        result["config_hash"] = json!(hash);
        result["checks"][0]["status"] = json!(rls);
        let first = write_json(p, "first.json", &result);
        let run = p.ready(
            &["report", first.to_str().unwrap(), "--format", "json"],
            &[],
        );
        p.write(&format!("history/{day}.json"), &run.stdout);
    }
    result["config_hash"] = json!("aaaa");
    result["started_at"] = json!("2026-11-20T09:30:00Z");
    result["checks"][0]["status"] = json!("fail");
    write_json(p, "current.json", &result)
}

#[test]
fn history_adds_trends_and_marks_other_configurations() {
    let p = Project::new("");
    let current = history(&p);
    let dir = p.path("history");
    let html = render(
        &p,
        &[
            "report",
            current.to_str().unwrap(),
            "--format",
            "html",
            "--history",
            dir.to_str().unwrap(),
        ],
    );
    let dom = assert_valid_and_self_contained(&html);
    let section = by_id(&dom, "section", "history");
    let mut dots = Vec::new();
    elements(&section, "circle", &mut dots);
    // Four runs on the score chart and on each of the five category charts (some unscored).
    let score_dots: Vec<Option<String>> = {
        let mut figures = Vec::new();
        elements(&section, "figure", &mut figures);
        assert_eq!(figures.len(), 6, "the score and five categories");
        let mut circles = Vec::new();
        elements(&figures[0], "circle", &mut circles);
        circles.iter().map(|c| attr(c, "class")).collect()
    };
    assert_eq!(
        score_dots,
        [
            Some("dot"),
            Some("dot other-config"),
            Some("dot"),
            Some("dot")
        ]
        .map(|c| c.map(String::from))
    );
    let mut lines = Vec::new();
    elements(&section, "polyline", &mut lines);
    assert!(
        lines.len() >= 4,
        "score, without waivers and two stage bars"
    );
    let table = text(&section);
    assert!(table.contains("another configuration"), "{table}");
    assert!(table.contains("(this run)"));
    // rls.enabled failed on the 18th (another configuration), the 19th and now.
    let card = text(&by_id(&dom, "article", "check-rls.enabled"));
    assert!(card.contains("failing since 2026-11-18 (3 runs)"), "{card}");
    let backup = text(&by_id(&dom, "article", "check-backup.fresh"));
    assert!(
        backup.contains("failing since 2026-11-17 (4 runs)"),
        "{backup}"
    );

    let run = p.ready(
        &["report", current.to_str().unwrap(), "--history", "missing"],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("missing: cannot read the history folder")
    );
}

/// Headless Chromium as CI runs it (as root: no sandbox), with a profile of its own.
fn chromium(profile: &Path, args: &[&str]) -> std::process::Output {
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium runs (Debian package `chromium`, installed by .ci/run)")
}

#[test]
fn chromium_runs_the_script_without_errors_and_draws_the_page() {
    let p = Project::new("");
    let path = write_json(&p, "result.json", &sample());
    let page = p.path("report.html");
    let run = p.ready(
        &[
            "report",
            path.to_str().unwrap(),
            "--format",
            "html",
            "-o",
            page.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let profile = tempfile::tempdir().unwrap();
    // The view in the fragment: failing checks, by id descending.
    let url = format!("file://{}#status=fail&sort=-id", page.display());
    let out = chromium(profile.path(), &["--dump-dom", &url]);
    let dom_text = String::from_utf8_lossy(&out.stdout);
    let log = String::from_utf8_lossy(&out.stderr);
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(out.status.success(), "{log}");
    let dom = parse(&dom_text);
    let table = by_id(&dom, "table", "checks");
    assert_eq!(attr(&table, "data-sortable").as_deref(), Some("ready"));
    let mut rows = Vec::new();
    elements(&table, "tr", &mut rows);
    let visible: Vec<String> = rows
        .iter()
        .filter(|r| attr(r, "class").as_deref() == Some("check") && attr(r, "hidden").is_none())
        .map(|r| attr(r, "data-id").unwrap())
        .collect();
    assert_eq!(visible, ["rls.enabled", "backup.fresh"]);
    let shown = text(&by_id(&dom, "output", "shown"));
    assert_eq!(
        shown,
        format!(
            "2 of {} checks",
            sample()["checks"].as_array().unwrap().len()
        )
    );

    let shot = profile.path().join("page.png");
    let blank = profile.path().join("blank.png");
    for (file, target) in [(&shot, url.as_str()), (&blank, "about:blank")] {
        let out = chromium(
            profile.path(),
            &[
                &format!("--screenshot={}", file.display()),
                "--window-size=1200,1400",
                target,
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (page_bytes, blank_bytes) = (
        std::fs::metadata(&shot).unwrap().len(),
        std::fs::metadata(&blank).unwrap().len(),
    );
    assert!(
        page_bytes > 10 * blank_bytes,
        "the screenshot looks blank: {page_bytes} bytes, a blank page {blank_bytes}"
    );
}
