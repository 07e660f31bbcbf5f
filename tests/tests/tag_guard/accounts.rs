//! Whose events tag-guard acts on: its own account's, and a named account's through its role.

use super::*;

/// An event for another account (a cross-account event bus) is ignored: the function's
/// credentials act in its own registry, where a repository of that name is another one.
#[tokio::test]
async fn an_event_for_another_account_is_ignored() {
    let s = setup(false).await;
    s.acct.create_repository("team-a/api").await;
    let (a, _) = s.acct.push("team-a/api", "a", Some("v1.2.3")).await;
    let mut event = push_event(&s.acct, "team-a/api", "v1.2.3", &a, &at(1));
    event["account"] = json!("999999999999");
    let mut context = lambda_runtime::Context::default();
    context.invoked_function_arn =
        format!("arn:aws:lambda:us-east-1:{}:function:tag-guard", s.acct.id);
    let before = s.acct.clients.calls.snapshot();
    let response = s
        .guard
        .handle_invocation(lambda_runtime::LambdaEvent::new(
            event.clone().into(),
            context.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(response["status"], "ignored", "{response}");
    assert!(
        s.acct.clients.calls.since(&before).is_empty(),
        "no AWS call"
    );
    // The same event for the function's own account is handled.
    event["account"] = json!(s.acct.id);
    let response = s
        .guard
        .handle_invocation(lambda_runtime::LambdaEvent::new(event.into(), context))
        .await
        .unwrap();
    assert_eq!(response["status"], "ok", "{response}");
}

/// An account the policy names is acted on through its role: tag-guard running in account A
/// reverts a moved protected tag in account B's registry, keeping B's ledger in A's table under
/// B's keys; an account the policy does not name is ignored.
#[tokio::test]
async fn a_named_account_is_guarded_through_its_role() {
    let a = Emulator::shared().account().await;
    let b = Emulator::shared().account().await;
    let table = a.state_table().await;
    let (topic, _) = a.topic_with_queue(None).await;
    let policy = Policy::from_yaml(&format!(
        "{POLICY}accounts:\n  - {{ id: '{id}', role_arn: 'arn:aws:iam::{id}:role/warden-test' }}\n",
        id = b.id
    ))
    .unwrap();
    let guard = TagGuard::new(
        &a.sdk,
        &a.clients.calls,
        policy,
        TagGuardConfig {
            table: table.clone(),
            topic_arn: Some(topic),
            dry_run: false,
        },
    )
    .with_named_accounts(&a.sdk)
    .await;
    let mut context = lambda_runtime::Context::default();
    context.invoked_function_arn = format!("arn:aws:lambda:us-east-1:{}:function:tag-guard", a.id);
    let invoke = |event: Value| {
        guard.handle_invocation(lambda_runtime::LambdaEvent::new(
            event.into(),
            context.clone(),
        ))
    };

    b.create_repository("team-a/api").await;
    let (d1, _) = b.push("team-a/api", "d1", Some("v1.2.3")).await;
    invoke(push_event(&b, "team-a/api", "v1.2.3", &d1, &at(1)))
        .await
        .unwrap();
    let (d2, _) = b.push("team-a/api", "d2", Some("v1.2.3")).await;
    let response = invoke(push_event(&b, "team-a/api", "v1.2.3", &d2, &at(2)))
        .await
        .unwrap();
    let state = b.tags_by_digest("team-a/api").await;
    assert!(
        state.contains(&(d1.to_string(), vec!["v1.2.3".into()])),
        "reverted in B: {state:?} {response}"
    );
    let items = a.table_items(&table).await;
    assert!(
        items
            .iter()
            .any(|i| i.contains(&format!("tag#{}#team-a/api#v1.2.3", b.id))),
        "{items:?}"
    );

    let mut stranger = push_event(&b, "team-a/api", "v1.2.3", &d2, &at(3));
    stranger["account"] = json!("999999999999");
    let response = invoke(stranger).await.unwrap();
    assert_eq!(response["status"], "ignored", "{response}");
}
