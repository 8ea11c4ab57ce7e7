//! Issue 11: verdicts that were wrong against real implementations, each pinned with the
//! corrected verdict.

use super::*;

/// The findings of a check whose subject ends with `subject`.
fn findings_on(result: &serde_json::Value, id: &str, subject: &str) -> Vec<(String, String)> {
    check_of(result, id)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["subject"].as_str().unwrap().ends_with(subject))
        .map(|f| {
            (
                f["level"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// helmet: every CSP header, frame-ancestors *, nonces, default-src *, HSTS max-age=0

/// One helmet route checked with every header rule but the redirect.
fn helmet_route(path: &str) -> serde_json::Value {
    let web = node("helmet_cors", &[], &[]).wait();
    run(
        &suite(&[("web", &web)], &[headers_check("route", path, "")]),
        &[],
    )
}

#[test]
fn framing_protected_by_a_second_csp_header_passes() {
    // Browsers enforce every Content-Security-Policy header: the second one forbids framing.
    let result = helmet_route("/two-csp");
    assert!(findings_on(&result, "route", "framing").is_empty());
    assert_status(&result, "route", "pass");
    assert_eq!(measurement(&result, "route", "header_score"), 100.0);
}

#[test]
fn frame_ancestors_star_fails_framing() {
    // frame-ancestors * lets any site frame the page.
    let result = helmet_route("/frame-any");
    let framing = findings_on(&result, "route", "framing");
    assert!(
        framing.len() == 1 && framing[0].0 == "fail" && framing[0].1.contains("frame-ancestors *"),
        "{framing:?}"
    );
    assert_eq!(measurement(&result, "route", "header_score"), 80.0);
}

#[test]
fn unsafe_inline_next_to_a_nonce_passes() {
    // Browsers ignore 'unsafe-inline' when a nonce or hash is present.
    let result = helmet_route("/nonce");
    assert!(messages(&result, "route").is_empty());
    assert_status(&result, "route", "pass");
    assert_eq!(measurement(&result, "route", "header_score"), 100.0);
}

#[test]
fn default_src_star_warns() {
    let result = helmet_route("/default-any");
    let csp = findings_on(&result, "route", "Content-Security-Policy");
    assert!(
        csp.len() == 1 && csp[0].0 == "warn" && csp[0].1.contains("default-src *"),
        "{csp:?}"
    );
    assert_status(&result, "route", "warn");
}

#[test]
fn hsts_max_age_0_costs_like_a_missing_header() {
    // max-age=0 deletes HSTS: it costs what a missing header costs (20), not 10.
    let result = helmet_route("/hsts-zero");
    let hsts = findings_on(&result, "route", "Strict-Transport-Security");
    assert!(
        hsts.len() == 1 && hsts[0].0 == "fail" && hsts[0].1.contains("max-age=0"),
        "{hsts:?}"
    );
    assert_eq!(measurement(&result, "route", "header_score"), 80.0);
}
