//! Real rate limiters keyed by a header (express-rate-limit `keyGenerator`, slowapi `key_func`)
//! are per user; the same libraries keyed by the client address are global to `per:`.

use super::servers::{node, python};
use super::{assert_status, check, fail, measurement, message, messages, run, suite};

#[test]
fn limiters_keyed_by_a_header_are_per_user_and_by_address_global() {
    let [express, slowapi] = [
        node("express_rate_limit", &[], &[]),
        python("slowapi_app", &[], &[]),
    ]
    .map(|s| s.wait());
    let per = |path: &str, extra: &str| {
        format!("{{ path: {path}, limit: 20, window: 60s, per: {{ header: X-User-Id }}{extra} }}")
    };
    let checks = [
        check(
            "erl-keyed",
            "express",
            "rate_limit",
            &per("/keyed/user", ""),
        ),
        check(
            "erl-global",
            "express",
            "rate_limit",
            &per("/keyed/global", ", global_limit: 50"),
        ),
        check(
            "erl-looser-global",
            "express",
            "rate_limit",
            &per("/keyed/global-b", ", global_limit: 40"),
        ),
        check(
            "erl-by-address",
            "express",
            "rate_limit",
            &per("/draft-7/a", ""),
        ),
        check("slowapi-keyed", "slowapi", "rate_limit", &per("/keyed", "")),
        check(
            "slowapi-by-address",
            "slowapi",
            "rate_limit",
            &per("/limited", ""),
        ),
    ];
    let result = run(
        &suite(&[("express", &express), ("slowapi", &slowapi)], &checks),
        &[],
    );
    for (id, path) in [("erl-keyed", "/keyed/user"), ("slowapi-keyed", "/keyed")] {
        assert_status(&result, id, "pass");
        assert_eq!(
            message(&result, id),
            format!(
                "GET {path} served 20 requests, then answered 429 (limit 20 per 1m); a second \
                 identity was still served"
            )
        );
    }
    assert_status(&result, "erl-global", "pass");
    assert_eq!(
        message(&result, "erl-global"),
        "GET /keyed/global served 20 requests, then answered 429 (limit 20 per 1m); a second \
         identity was still served; 6 identities together were served 50, then answered 429 \
         (global limit 50 per 1m)"
    );
    assert_eq!(measurement(&result, "erl-global", "global_served"), 50.0);
    assert_eq!(
        messages(&result, "erl-looser-global"),
        [fail(
            "the first 429 to the identities together came at request 51 after 50 served \
             requests (global limit 40 per 1m): expected by request 45 (global limit + 10%)"
        )]
    );
    for (id, path) in [
        ("erl-by-address", "/draft-7/a"),
        ("slowapi-by-address", "/limited"),
    ] {
        assert_status(&result, id, "fail");
        assert_eq!(
            messages(&result, id),
            [fail(
                "the limit is global: a second identity was refused right after the first was \
                 limited (answered 429)"
            )],
            "{path}"
        );
    }
}
