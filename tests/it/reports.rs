//! The human and CI reports rendered from fixed results: escaping, the terminal layout, the
//! GitHub workflow commands, JUnit and SARIF.

use serde_json::Value;

use crate::common::{Project, Run};

fn sample() -> Value {
    let path = format!(
        "{}/fixtures/results/sample.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `ready report` of `result` with `args` (a format, flags) and `env`.
fn report(result: &Value, args: &[&str], env: &[(&str, &str)]) -> Run {
    let p = Project::new("");
    p.write("result.json", &result.to_string());
    let mut all = vec!["report", "result.json"];
    all.extend_from_slice(args);
    p.ready(&all, env)
}

#[test]
fn control_characters_from_the_data_are_escaped_in_every_human_format() {
    let mut result = sample();
    let hostile = "\u{1b}[2J\u{1b}]0;owned\u{7}x\r\u{202E}gpj";
    result["checks"][0]["title"] = Value::from(format!("title {hostile}"));
    result["checks"][0]["message"] = Value::from(format!("message {hostile}"));
    result["checks"][0]["findings"][0]["message"] = Value::from(format!("row {hostile}"));
    for format in ["table", "markdown", "github"] {
        let run = report(&result, &["--format", format, "--color", "never"], &[]);
        assert_eq!(run.code, 1, "{format}: {}", run.stderr);
        for raw in ['\u{1b}', '\u{7}', '\r', '\u{202E}'] {
            assert!(
                !run.stdout.contains(raw),
                "{format} prints {raw:?} raw:\n{}",
                run.stdout
            );
        }
        assert!(
            run.stdout
                .contains(r"\u{1b}[2J\u{1b}]0;owned\u{7}x\r\u{202e}gpj"),
            "{format} shows the escapes:\n{}",
            run.stdout
        );
    }
}
