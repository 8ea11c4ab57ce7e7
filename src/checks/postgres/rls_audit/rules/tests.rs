//! The rules, each on facts built by hand.

use super::super::catalog::RoleInfo;
use super::*;

fn table(name: &str, rls: bool, reach: &[(&str, &[&str])]) -> Relation {
    Relation {
        schema: "public".into(),
        name: name.into(),
        kind: 'r',
        rls,
        forced: false,
        owner: "postgres".into(),
        options: Vec::new(),
        reach: reach
            .iter()
            .map(|(who, privs)| {
                (
                    who.to_string(),
                    privs.iter().map(|p| p.to_string()).collect(),
                )
            })
            .collect(),
        owned_by: Vec::new(),
        columns: vec!["id".into()],
        readable_columns: reach
            .iter()
            .filter(|(_, privs)| privs.contains(&"SELECT"))
            .map(|(who, _)| (who.to_string(), vec!["id".into()]))
            .collect(),
    }
}

fn policy(
    table: &str,
    name: &str,
    command: char,
    using: Option<&str>,
    check: Option<&str>,
) -> Policy {
    Policy {
        schema: "public".into(),
        table: table.into(),
        name: name.into(),
        command,
        permissive: true,
        using: using.map(String::from),
        check: check.map(String::from),
        roles: vec!["authenticated".into()],
        applies_to: vec!["authenticated".into()],
    }
}

fn catalog(relations: Vec<Relation>, policies: Vec<Policy>) -> Catalog {
    Catalog {
        api_roles: vec!["anon".into(), "authenticated".into()],
        roles: BTreeMap::new(),
        unconfigured_supabase: Vec::new(),
        relations,
        policies,
        functions: Vec::new(),
        server_version: 150004,
    }
}

fn all_rules() -> Settings {
    Settings {
        rules: Rule::ALL.into_iter().collect(),
        sensitive: vec![NameGlob::new("wallet*").unwrap()],
        public_read: Vec::new(),
    }
}

fn subject<'a>(rel: &'a Relation, policies: &'a [&'a Policy]) -> Subject<'a> {
    Subject {
        rel,
        policies,
        who: "",
    }
}

#[test]
fn rls_disabled_needs_a_reachable_table() {
    let open = table("notes", false, &[("anon", &["SELECT", "INSERT"])]);
    let finding = rls_disabled(&subject(&open, &[])).unwrap();
    assert_eq!(finding.subject, "public.notes");
    assert_eq!(
        finding.message,
        "public.notes has row level security disabled: anon can SELECT, INSERT"
    );
    assert!(rls_disabled(&subject(&table("private", false, &[]), &[])).is_none());
    assert!(
        rls_disabled(&subject(
            &table("notes", true, &[("anon", &["SELECT"])]),
            &[]
        ))
        .is_none()
    );
    let mut view = table("v", false, &[("anon", &["SELECT"])]);
    view.kind = 'v';
    assert!(rls_disabled(&subject(&view, &[])).is_none());
}

#[test]
fn policies_without_rls_and_rls_without_policies() {
    let p = policy("notes", "own", 'r', Some("(owner = auth.uid())"), None);
    let off = table("notes", false, &[]);
    let finding = policy_without_rls(&subject(&off, &[&p])).unwrap();
    assert!(
        finding
            .message
            .contains("has 1 policy (own) but row level security is disabled")
    );
    let on = table("notes", true, &[]);
    assert!(policy_without_rls(&subject(&on, &[&p])).is_none());
    assert!(rls_no_policy(&subject(&on, &[&p])).is_none());
    let denied = rls_no_policy(&subject(&on, &[])).unwrap();
    assert_eq!(denied.level, crate::vocab::Level::Warn);
}

#[test]
fn sensitive_tables_need_forced_rls() {
    let globs = [NameGlob::new("wallet*").unwrap()];
    let mut wallets = table("wallets", true, &[]);
    let finding = force_rls(&subject(&wallets, &[]), &globs).unwrap();
    assert!(finding.message.contains("enabled but not forced"));
    wallets.forced = true;
    assert!(force_rls(&subject(&wallets, &[]), &globs).is_none());
    assert!(force_rls(&subject(&table("notes", false, &[]), &[]), &globs).is_none());
}

#[test]
fn sensitive_columns_need_a_reader_of_those_columns() {
    let mut users = table("users", false, &[("anon", &["SELECT"])]);
    users.columns = vec!["id".into(), "password_hash".into(), "api_key".into()];
    let all = users.columns.clone();
    users.readable_columns = [("anon".to_string(), all)].into_iter().collect();
    let finding = sensitive_columns_exposed(&subject(&users, &[])).unwrap();
    assert_eq!(
        finding.message,
        "public.users exposes sensitive columns password_hash and api_key to anon without row level security"
    );
    // A grant on `id` alone exposes neither; one on api_key exposes that one to its reader.
    users.readable_columns = [
        ("anon".to_string(), vec!["id".to_string()]),
        (
            "authenticated".to_string(),
            vec!["id".into(), "api_key".into()],
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        sensitive_columns_exposed(&subject(&users, &[]))
            .unwrap()
            .message,
        "public.users exposes sensitive column api_key to authenticated without row level security"
    );
    users.readable_columns.remove("authenticated");
    assert!(sensitive_columns_exposed(&subject(&users, &[])).is_none());
}

#[test]
fn views_read_as_their_owner_unless_security_invoker() {
    let mut view = table("report", false, &[("anon", &["SELECT"])]);
    view.kind = 'v';
    assert!(security_definer_view(&subject(&view, &[]), 150004).is_some());
    let old = security_definer_view(&subject(&view, &[]), 140010).unwrap();
    assert!(
        old.message
            .contains("PostgreSQL 14 has no security_invoker")
    );
    for invoker in ["on", "t", "tr", "y", "ON", "1", "true", "Yes"] {
        view.options = vec![format!("security_invoker={invoker}")];
        assert!(
            security_definer_view(&subject(&view, &[]), 150004).is_none(),
            "{invoker}"
        );
    }
    for definer in ["off", "f", "0", "n", "o", ""] {
        view.options = vec![format!("security_invoker={definer}")];
        assert!(
            security_definer_view(&subject(&view, &[]), 150004).is_some(),
            "{definer}"
        );
    }
    view.kind = 'm';
    assert!(
        unprotected_relation(&subject(&view, &[]))
            .unwrap()
            .message
            .starts_with("materialized view")
    );
}

#[test]
fn owning_roles_bypass_rls_unless_reported_as_superusers() {
    let mut rel = table("notes", true, &[]);
    rel.owned_by = vec!["authenticated".into(), "anon".into()];
    let mut cat = catalog(Vec::new(), Vec::new());
    let info = |superuser| RoleInfo {
        superuser,
        bypass: false,
        member_of: BTreeSet::new(),
        uses: BTreeSet::new(),
    };
    cat.roles.insert("anon".into(), info(true));
    cat.roles.insert("authenticated".into(), info(false));
    let found = owning_roles(&subject(&rel, &[]), &cat);
    assert_eq!(found.len(), 1);
    assert!(
        found[0]
            .message
            .starts_with("API role authenticated owns public.notes")
    );
    let bypassing = bypassing_roles(&cat);
    assert_eq!(bypassing.len(), 1);
    assert_eq!(bypassing[0].subject, "anon");
}

#[test]
fn permissive_policies_that_admit_every_row() {
    let insert_any = policy("notes", "ins", 'a', None, Some("true"));
    assert!(
        permissive_write(&insert_any)
            .unwrap()
            .message
            .contains("WITH CHECK is always true")
    );
    let update_any = policy("notes", "upd", 'w', Some("(1 = 1)"), None);
    assert!(
        permissive_write(&update_any)
            .unwrap()
            .message
            .contains("no WITH CHECK")
    );
    let delete_any = policy("notes", "del", 'd', Some("true"), None);
    assert!(
        permissive_write(&delete_any)
            .unwrap()
            .message
            .contains("every row can be changed")
    );
    let own = policy("notes", "own", 'w', Some("(owner = auth.uid())"), None);
    assert!(permissive_write(&own).is_none());

    let read_all = policy("notes", "all", 'r', Some("true"), None);
    let rel = table("notes", true, &[]);
    assert!(permissive_read(&rel, &read_all, &[]).is_some());
    let public = [NameGlob::new("notes").unwrap()];
    assert!(permissive_read(&rel, &read_all, &public).is_none());
    let mut restrictive = read_all;
    restrictive.permissive = false;
    assert!(permissive_read(&rel, &restrictive, &[]).is_none());
}

#[test]
fn user_metadata_and_definer_functions() {
    let p = policy(
        "notes",
        "meta",
        'r',
        Some("((auth.jwt() -> 'user_metadata') ? 'admin')"),
        None,
    );
    assert!(user_metadata_in_policy(&p).is_some());
    let f = DefinerFunction {
        signature: "public.f()".into(),
        returns_trigger: false,
        fixed_search_path: true,
        executors: vec!["anon".into()],
    };
    assert_eq!(
        exposed_definer_function(&f, "").unwrap().level,
        crate::vocab::Level::Warn
    );
    let hijackable = DefinerFunction {
        fixed_search_path: false,
        ..f
    };
    assert_eq!(
        exposed_definer_function(&hijackable, "").unwrap().level,
        crate::vocab::Level::Fail
    );
    let trigger = DefinerFunction {
        returns_trigger: true,
        ..hijackable
    };
    assert!(exposed_definer_function(&trigger, "").is_none());
}

#[test]
fn findings_follow_report_order_and_enabled_rules() {
    let open = table("notes", false, &[("anon", &["SELECT"])]);
    let p = policy("notes", "own", 'r', Some("(owner = auth.uid())"), None);
    let cat = catalog(vec![open], vec![p]);
    let rules: Vec<String> = findings(&cat, &all_rules())
        .iter()
        .map(|f| f.evidence["rule"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(rules, ["rls_disabled", "policy_without_rls"]);
    let tagged: Vec<Option<&str>> = findings(&cat, &all_rules())
        .iter()
        .map(|f| f.rule)
        .collect();
    assert_eq!(tagged, [Some("rls_disabled"), Some("policy_without_rls")]);
    let only = Settings {
        rules: [Rule::PolicyWithoutRls].into_iter().collect(),
        ..all_rules()
    };
    assert_eq!(findings(&cat, &only).len(), 1);
}

#[test]
fn without_api_roles_the_supabase_roles_are_named() {
    let mut cat = catalog(Vec::new(), Vec::new());
    cat.api_roles.clear();
    cat.unconfigured_supabase = vec!["anon".into(), "authenticated".into()];
    let found = findings(&cat, &all_rules());
    assert_eq!(found[0].subject, "api_roles");
    assert!(
        found[0]
            .message
            .ends_with("set api_roles: [anon, authenticated] on the target")
    );
}

#[test]
fn a_missing_schema_is_named() {
    assert!(super::super::catalog::missing_schemas(&[]).is_none());
    assert_eq!(
        super::super::catalog::missing_schemas(&["pubic".into()])
            .unwrap()
            .0,
        "schema `pubic` does not exist, so it cannot be audited: correct the target's exposed_schemas or the check's schemas"
    );
}
