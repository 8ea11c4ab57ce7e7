//! Microsoft's SARIF multitool (npm `@microsoft/sarif-multitool`, the SARIF SDK's validator)
//! checks the SARIF report by the specification's rules and by GitHub code scanning's ingestion
//! rules (`GH…`), which reject a result without a location or a rule without a full description.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

#[test]
fn microsofts_sarif_multitool_finds_nothing_github_would_reject() {
    let (p, stdout) = crate::sarif::mixed_run();
    std::fs::write(p.path("ready.sarif"), stdout).unwrap();
    let tool = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool");
    assert!(
        tool.exists(),
        "{} is missing: run `bash tests/interop/setup.sh` once (CI's .ci/run does)",
        tool.display()
    );
    let out = Command::new(&tool)
        .args(["validate", "ready.sarif", "-o", "validation.sarif"])
        .args(["--rule-kind", "Gh;Sarif", "--log", "ForceOverwrite"])
        .current_dir(p.dir.path())
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{printed}");
    let validation: Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("validation.sarif")).unwrap())
            .unwrap();
    let rules: Vec<&str> = validation["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    // SARIF2005 (a warning) asks for the tool's `informationUri`: `ready` names none until its
    // package names a public repository.
    assert_eq!(rules, ["SARIF2005"], "{printed}");
}
