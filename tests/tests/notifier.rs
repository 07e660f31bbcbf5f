//! notifier: SNS deliveries → Slack Block Kit posted to a real local HTTP server, with routing,
//! dedupe, the retry contract, and secrets kept out of logs.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use std::io::Write;
use std::sync::{Arc, Mutex};
use warden_aws::runtime::lambda::Function;

use serde_json::{Value, json};
use warden_aws::functions::notifier::{Notifier, NotifierConfig};
use warden_core::message::{Body, CleanupBody, Message, SCHEMA, VerdictBody};
use warden_core::names::{AccountId, Digest, Region, RepositoryName, Tag};
use warden_core::notify::slack;
use warden_core::policy::Policy;
use warden_core::severity::{Severity, SeverityCounts};
use warden_core::verdict::{Finding, Verdict};
use warden_tests::webhook::WebhookServer;
use warden_tests::{Emulator, TestAccount};

const POLICY: &str = r#"
version: 1
defaults:
  notify: { slack: [{ name: platform, webhook_secret: slack/platform, min_severity: CRITICAL }] }
repositories:
  - match: "team-a/*"
    notify: { slack: [{ name: team-a, webhook_secret: slack/team-a }] }
  - match: "broken/*"
    notify: { slack: [{ name: broken, webhook_secret: slack/broken }] }
  - match: "gone/*"
    notify: { slack: [{ name: gone, webhook_secret: slack/gone }] }
  - match: "bad/*"
    notify: { slack: [{ name: bad, webhook_secret: slack/bad }] }
"#;

struct Setup {
    slack: WebhookServer,
    notifier: Notifier,
}

async fn setup() -> Setup {
    let acct = Emulator::shared().account().await;
    let table = acct.state_table().await;
    let slack = WebhookServer::start();
    let secrets = aws_sdk_secretsmanager::Client::new(&acct.sdk);
    for (name, value) in [
        (
            "slack/team-a",
            format!("{}/team-a/T000/B000/XXXXsecretXXXX", slack.base),
        ),
        (
            "slack/platform",
            format!(
                r#"{{"url": "{}/platform/T000/B111/YYYYsecretYYYY"}}"#,
                slack.base
            ),
        ),
        (
            "slack/broken",
            format!("{}/status/500/ZZZZsecretZZZZ", slack.base),
        ),
        (
            "slack/gone",
            format!("{}/status/404/WWWWsecretWWWW", slack.base),
        ),
        ("slack/bad", "VVVVsecretVVVV is not a url".to_owned()),
    ] {
        secrets
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .unwrap();
    }
    let config = NotifierConfig {
        table,
        dedupe_window: chrono::Duration::hours(24),
        webhook_timeout: std::time::Duration::from_secs(5),
    };
    let notifier = Notifier::new(
        &acct.sdk,
        &acct.clients.calls,
        Policy::from_yaml(POLICY).unwrap(),
        config,
    )
    .unwrap();
    Setup { slack, notifier }
}

fn digest(seed: &str) -> Digest {
    Digest::of_bytes(seed.as_bytes())
}

fn message(repository: &str, action: &str, body: Body) -> Message {
    Message {
        schema: SCHEMA.into(),
        function: "scan-gate".into(),
        account: AccountId::new("123456789012").unwrap(),
        region: Region::new("eu-west-1").unwrap(),
        repository: RepositoryName::new(repository).unwrap(),
        action: action.into(),
        dry_run: false,
        event_id: Some("e-1".into()),
        body,
    }
}

fn finding(i: usize, severity: &str) -> Finding {
    Finding {
        id: format!("CVE-2026-{i:04}"),
        severity: Severity::parse(severity),
        package: Some(format!("lib{i}")),
        installed_version: Some("1.0.0".into()),
        fixed_in: Some("1.0.1".into()),
        fix_available: Some(true),
        uri: None,
    }
}

fn verdict(
    repository: &str,
    tags: &[&str],
    v: Verdict,
    findings: Vec<Finding>,
    total: usize,
) -> Message {
    let mut counts = SeverityCounts::default();
    for f in &findings {
        *counts.0.entry(f.severity.clone()).or_insert(0) += 1;
    }
    let action = if v == Verdict::Fail {
        "quarantined"
    } else {
        "none"
    };
    let body = VerdictBody {
        digest: digest(repository),
        tags: tags.iter().map(|t| Tag::new(*t).unwrap()).collect(),
        verdict: v,
        max_severity: counts.max_severity(),
        scan: "enhanced".into(),
        counts,
        reasons: if v == Verdict::Fail {
            vec!["1 CRITICAL finding (at most 0 allowed)".into()]
        } else {
            vec![]
        },
        exceptions_applied: vec![],
        exceptions_expired: vec![],
        findings_total: total,
        findings: findings
            .into_iter()
            .take(warden_core::message::MAX_MESSAGE_FINDINGS)
            .collect(),
        quarantined_tags: if v == Verdict::Fail {
            tags.iter().map(|t| Tag::new(*t).unwrap()).collect()
        } else {
            vec![]
        },
        restored_tags: vec![],
        tags_taken: vec![],
        still_deployable: vec![],
        via_indexes: vec![],
        moved_meanwhile: vec![],
        problems: vec![],
        policy_pattern: Some("**".into()),
    };
    message(repository, action, Body::Verdict(Box::new(body)))
}

fn sns(messages: &[&Message]) -> Value {
    let bodies: Vec<(String, String)> = messages
        .iter()
        .map(|m| (m.subject(), serde_json::to_string(m).unwrap()))
        .collect();
    warden_tests::sns_delivery(&bodies)
}

/// Everything Slack allows, checked on one payload.
fn within_slack_limits(payload: &Value) {
    let blocks = payload["blocks"].as_array().unwrap();
    assert!(blocks.len() <= slack::MAX_BLOCKS, "{} blocks", blocks.len());
    for block in blocks {
        match block["type"].as_str().unwrap() {
            "header" => assert!(
                block["text"]["text"].as_str().unwrap().chars().count() <= slack::MAX_HEADER
            ),
            "section" => {
                if let Some(text) = block["text"]["text"].as_str() {
                    assert!(text.chars().count() <= slack::MAX_SECTION_TEXT);
                }
                if let Some(fields) = block["fields"].as_array() {
                    assert!(fields.len() <= slack::MAX_FIELDS);
                }
            }
            _ => {}
        }
    }
}

fn all_text(payload: &Value) -> String {
    payload.to_string()
}

#[tokio::test]
async fn block_kit_for_each_kind_of_outcome() {
    let s = setup().await;
    let cves: Vec<Finding> = vec![
        finding(1, "CRITICAL"),
        finding(2, "HIGH"),
        finding(3, "MEDIUM"),
    ];
    let fail = verdict("team-a/api", &["v1", "latest"], Verdict::Fail, cves, 3);
    let pass = verdict(
        "team-a/web",
        &["v2"],
        Verdict::Pass,
        vec![finding(9, "LOW")],
        1,
    );
    let untagged = verdict(
        "team-a/batch",
        &[],
        Verdict::Fail,
        vec![finding(4, "CRITICAL")],
        1,
    );
    let many: Vec<Finding> = (0..300)
        .map(|i| finding(i, if i < 5 { "CRITICAL" } else { "HIGH" }))
        .collect();
    let huge = verdict("team-a/mono", &["v9"], Verdict::Fail, many, 300);
    let reverted = message(
        "team-a/api",
        "reverted",
        Body::TagReverted {
            tag: Tag::new("v1.2.3").unwrap(),
            restored_digest: digest("a"),
            offending_digest: digest("b"),
            offender_kept_as: Tag::new("rejected-v1.2.3-x").ok(),
        },
    );
    let cleanup = message(
        "team-a/api",
        "planned",
        Body::Cleanup(Box::new(CleanupBody {
            applied: false,
            images_total: 1200,
            images_kept: 200,
            images_deleted: 1000,
            bytes_freed: 53_687_091_200,
            kept_because: vec![
                ("in use by ECS service web".into(), 3),
                ("kept by rule 2 (newest 50)".into(), 50),
            ],
            failures: vec![],
        })),
    );
    let response = s
        .notifier
        .handle(sns(&[&fail, &pass, &untagged, &huge, &reverted, &cleanup]))
        .await
        .unwrap();
    assert_eq!(response["errors"], json!([]), "{response}");
    let posts = s.slack.posts("/team-a/");
    assert_eq!(posts.len(), 6, "one post per message on the team route");
    for p in &posts {
        within_slack_limits(p);
    }

    let f = &posts[0];
    assert!(
        f["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("FAIL · quarantined"),
        "{f}"
    );
    let text = all_text(f);
    assert!(text.contains(&format!(
        "team-a/api:v1@sha256:{}",
        digest("team-a/api").short()
    )));
    for i in 1..=3 {
        assert!(
            text.contains(&format!(
                "<https://nvd.nist.gov/vuln/detail/CVE-2026-{i:04}|CVE-2026-{i:04}>"
            )),
            "CVE link {i}"
        );
    }
    assert!(text.contains("`lib1` 1.0.0 → fixed in 1.0.1"));
    let console = format!(
        "https://eu-west-1.console.aws.amazon.com/ecr/repositories/private/123456789012/team-a/api/_/image/{}",
        digest("team-a/api")
    );
    assert!(text.contains(&format!("{console}/details?region=eu-west-1")));
    assert!(text.contains(&format!("{console}/scan-results?region=eu-west-1")));
    assert!(text.contains("Quarantined"));

    assert!(all_text(&posts[1]).contains("PASS"));
    assert!(
        posts[2]["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("(untagged)")
    );
    let huge_text = all_text(&posts[3]);
    assert!(
        huge_text.contains("…and 280 more"),
        "300 findings: 20 listed, the rest counted"
    );
    assert!(
        posts[4]["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("Protected tag reverted")
    );
    assert!(all_text(&posts[4]).contains("rejected-v1.2.3-x"));
    assert!(
        posts[5]["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("Cleanup plan")
    );
    assert!(all_text(&posts[5]).contains("50.0 GiB"));

    // The platform route wants CRITICAL and up: the FAILs with a CRITICAL, and the actions.
    let platform = s.slack.posts("/platform/");
    assert_eq!(platform.len(), 5, "everything but the LOW-only PASS");
}

#[tokio::test]
async fn the_same_news_posts_once_and_a_changed_finding_set_posts_again() {
    let s = setup().await;
    let first = verdict(
        "team-a/api",
        &["v1"],
        Verdict::Fail,
        vec![finding(1, "CRITICAL")],
        1,
    );
    s.notifier.handle(sns(&[&first])).await.unwrap();
    let again = s.notifier.handle(sns(&[&first])).await.unwrap();
    assert_eq!(s.slack.posts("/team-a/").len(), 1, "{again}");
    assert_eq!(
        again["results"][0]["delivery"]["duplicates"],
        json!(["team-a", "platform"])
    );
    let changed = verdict(
        "team-a/api",
        &["v1"],
        Verdict::Fail,
        vec![finding(1, "CRITICAL"), finding(2, "HIGH")],
        2,
    );
    s.notifier.handle(sns(&[&changed])).await.unwrap();
    assert_eq!(s.slack.posts("/team-a/").len(), 2);
}

/// Captures everything logged through `tracing` on this thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn server_errors_retry_client_errors_do_not_and_secrets_never_show() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let s = setup().await;
    let mut seen = String::new();

    // 500: a retryable error, and the claim is released so the retry posts again.
    let broken = verdict("broken/api", &["v1"], Verdict::Pass, vec![], 0);
    let err = s.notifier.handle(sns(&[&broken])).await.unwrap_err();
    seen.push_str(&err.to_string());
    assert!(err.to_string().contains("HTTP 500"), "{err}");
    assert!(s.notifier.handle(sns(&[&broken])).await.is_err());
    assert_eq!(s.slack.posts("/status/500/").len(), 2, "each retry posts");

    // 404: reported, acknowledged, not retried (the next delivery is a duplicate).
    let gone = verdict("gone/api", &["v1"], Verdict::Pass, vec![], 0);
    let ok = s.notifier.handle(sns(&[&gone])).await.unwrap();
    seen.push_str(&ok.to_string());
    assert!(
        ok["errors"][0].as_str().unwrap().contains("HTTP 404"),
        "{ok}"
    );
    let dup = s.notifier.handle(sns(&[&gone])).await.unwrap();
    assert_eq!(dup["results"][0]["delivery"]["duplicates"], json!(["gone"]));
    assert_eq!(s.slack.posts("/status/404/").len(), 1);

    // A secret that is not a webhook URL: the error names the secret, not its value.
    let bad = verdict("bad/api", &["v1"], Verdict::Pass, vec![], 0);
    let reported = s.notifier.handle(sns(&[&bad])).await.unwrap();
    seen.push_str(&reported.to_string());
    let error = reported["errors"][0].as_str().unwrap();
    assert!(
        error.contains("secret slack/bad does not hold a webhook URL"),
        "{error}"
    );

    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("retryable failure"),
        "the failures were logged: {logged}"
    );
    seen.push_str(&logged);
    for secret in [
        "XXXXsecretXXXX",
        "YYYYsecretYYYY",
        "ZZZZsecretZZZZ",
        "WWWWsecretWWWW",
        "VVVVsecretVVVV",
    ] {
        assert!(
            !seen.contains(secret),
            "{secret} leaked into logs or responses"
        );
    }
}

#[tokio::test]
async fn published_messages_carry_typed_attributes_that_filter_policies_select_on() {
    use warden_core::ports::Publisher;
    let acct: TestAccount = Emulator::shared().account().await;
    let (topic, all) = acct.topic_with_queue(None).await;
    let fails = acct
        .subscribed_queue(&topic, Some(r#"{"verdict": ["FAIL"]}"#))
        .await;
    let publisher =
        warden_aws::adapters::publisher::SnsPublisher::new(acct.clients.sns.clone(), Some(topic));
    let fail = verdict(
        "team-a/api",
        &["v1"],
        Verdict::Fail,
        vec![finding(1, "CRITICAL")],
        1,
    );
    let pass = verdict("team-a/api", &["v2"], Verdict::Pass, vec![], 0);
    let reverted = message(
        "team-a/api",
        "reverted",
        Body::TagReverted {
            tag: Tag::new("v1").unwrap(),
            restored_digest: digest("a"),
            offending_digest: digest("b"),
            offender_kept_as: None,
        },
    );
    for m in [&fail, &pass, &reverted] {
        publisher.publish(None, m).await.unwrap();
    }
    let only_fails = acct.received(&fails).await;
    assert_eq!(only_fails.len(), 1);
    let attrs = &only_fails[0]["MessageAttributes"];
    for (name, value) in [
        ("verdict", "FAIL"),
        ("max_severity", "CRITICAL"),
        ("kind", "verdict"),
        ("repository", "team-a/api"),
        ("action", "quarantined"),
        ("account", "123456789012"),
        ("region", "eu-west-1"),
    ] {
        assert_eq!(attrs[name]["Type"], "String", "{name}");
        assert_eq!(attrs[name]["Value"], value, "{name}");
    }
    assert!(only_fails[0]["Subject"].as_str().unwrap().chars().count() <= 100);
    let everything = acct.received(&all).await;
    assert_eq!(everything.len(), 3);
    let back: Message = serde_json::from_str(everything[2]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(
        back, reverted,
        "the JSON body round-trips through the versioned schema"
    );
}

/// A FAIL with no severity (the scan itself failed) is as serious as it gets: it reaches a route
/// whose `min_severity` is CRITICAL, where a PASS or a LOW-only verdict does not.
#[tokio::test]
async fn a_fail_without_a_severity_reaches_every_route() {
    let s = setup().await;
    let scan_failed = verdict("team-a/svc", &["v3"], Verdict::Fail, vec![], 0);
    s.notifier.handle(sns(&[&scan_failed])).await.unwrap();
    assert_eq!(
        s.slack.posts("/platform/").len(),
        1,
        "the CRITICAL-only route hears it"
    );
    let low = verdict(
        "team-a/svc2",
        &["v1"],
        Verdict::Fail,
        vec![finding(7, "LOW")],
        1,
    );
    s.notifier.handle(sns(&[&low])).await.unwrap();
    assert_eq!(
        s.slack.posts("/platform/").len(),
        1,
        "a LOW FAIL is below CRITICAL"
    );
    assert_eq!(
        s.slack.posts("/team-a/").len(),
        2,
        "the unfiltered route hears both"
    );
}
