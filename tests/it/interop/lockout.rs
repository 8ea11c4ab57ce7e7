//! Issue 14 §4 against real lockouts: rate-limiter-flexible's documented login protection
//! (consecutive failures by username, then 429) and express-rate-limit keyed by the account in the
//! JSON body (then 423), each behind an express login route. Keyed by the account, the lockout is
//! per user; keyed by the client address, every account is locked; without one, never.

use super::servers::node;
use super::{assert_status, check, fail, measurement, message, messages, run, suite};

/// A failed login to `path` of `target`: 5 failures lock the account.
fn lockout(id: &str, target: &str, path: &str, headers: &str) -> String {
    check(
        id,
        target,
        "rate_limit",
        &format!(
            "{{ path: {path}, method: POST, body: {{ username: alice, password: wrong }}, \
             limit: 5, reject_statuses: [429, 423], headers: {headers}, per: {{ json: /username }} }}"
        ),
    )
}

fn global(status: u16) -> String {
    format!(
        "the limit is global: a second identity was refused right after the first was limited \
         (answered {status})"
    )
}

#[test]
fn login_lockouts_keyed_by_the_account_are_per_user() {
    let [flexible, express] = [
        node("rate_limiter_flexible_login", &[], &[]),
        node("express_rate_limit_login", &[], &[]),
    ]
    .map(|s| s.wait());
    // rate-limiter-flexible's example sends Retry-After but no rate-limit headers.
    let libraries = [
        ("rlf", "flexible", "none", 429),
        ("erl", "express", "ietf", 423),
    ];
    let checks: Vec<String> = libraries
        .iter()
        .flat_map(|(id, target, headers, _)| {
            ["by-username", "by-ip", "unprotected"].map(|route| {
                lockout(
                    &format!("{id}-{route}"),
                    target,
                    &format!("/login/{route}"),
                    headers,
                )
            })
        })
        .collect();
    let result = run(
        &suite(&[("flexible", &flexible), ("express", &express)], &checks),
        &[],
    );
    for (id, _, _, status) in libraries {
        let by_username = format!("{id}-by-username");
        assert_status(&result, &by_username, "pass");
        assert_eq!(
            message(&result, &by_username),
            format!(
                "POST /login/by-username served 5 requests, then answered {status} (limit 5); a \
                 second identity was still served"
            )
        );
        assert_eq!(measurement(&result, &by_username, "served"), 5.0);
        assert_eq!(
            messages(&result, &format!("{id}-by-ip")),
            [fail(&global(status))]
        );
    }
    let never = || fail("sent 11 requests (limit 5) and none was answered 429 or 423 (11× 401)");
    assert_eq!(messages(&result, "rlf-unprotected"), [never()]);
    assert_eq!(
        messages(&result, "erl-unprotected"),
        [
            never(),
            fail("no RateLimit/RateLimit-Policy headers in any response")
        ]
    );
}
