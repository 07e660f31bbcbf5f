//! The other services: Inspector's findings and coverage, SNS, account isolation, ECS task
//! definitions.

use super::*;

fn finding(n: u32, repository: &str, digest: &str, status: &str) -> serde_json::Value {
    json!({
        "findingArn": format!("arn:aws:inspector2:us-east-1:123456789012:finding/probe{n}"),
        "awsAccountId": "123456789012", "status": status, "severity": "HIGH", "type": "PACKAGE_VULNERABILITY",
        "title": format!("CVE-2026-{n}"), "description": "probe", "remediation": {},
        "firstObservedAt": 1_795_654_030, "lastObservedAt": 1_795_654_030,
        "resources": [{"type": "AWS_ECR_CONTAINER_IMAGE", "id": "probe",
            "details": {"awsEcrContainerImage": {"repositoryName": repository, "imageHash": digest, "registry": "123456789012"}}}],
    })
}

#[tokio::test]
async fn inspector_findings_come_back_filtered_and_coverage_and_details_exist() {
    use aws_sdk_inspector2::types::{FilterCriteria, StringComparison, StringFilter};
    let acct = Emulator::shared().account().await;
    let inspector = &acct.clients.inspector;
    let d1 = format!("sha256:{}", "1".repeat(64));
    let d2 = format!("sha256:{}", "2".repeat(64));
    acct.seed_findings(vec![
        finding(1, "probe/app", &d1, "ACTIVE"),
        finding(2, "probe/app", &d1, "CLOSED"),
        finding(3, "probe/app", &d2, "ACTIVE"),
        finding(4, "probe/other", &d1, "ACTIVE"),
    ])
    .await;
    let eq = |v: &str| {
        StringFilter::builder()
            .comparison(StringComparison::Equals)
            .value(v)
            .build()
            .unwrap()
    };
    let criteria = FilterCriteria::builder()
        .ecr_image_repository_name(eq("probe/app"))
        .ecr_image_hash(eq(&d1))
        .finding_status(eq("ACTIVE"))
        .build();
    let found = inspector
        .list_findings()
        .filter_criteria(criteria)
        .send()
        .await
        .unwrap();
    let arns: Vec<_> = found.findings().iter().map(|f| f.finding_arn()).collect();
    assert_eq!(
        arns,
        ["arn:aws:inspector2:us-east-1:123456789012:finding/probe1"]
    );

    let paged = inspector
        .list_findings()
        .max_results(3)
        .send()
        .await
        .unwrap();
    assert_eq!(paged.findings().len(), 3);
    assert!(paged.next_token().is_some());

    acct.create_repository("probe/app").await;
    acct.push("probe/app", "a", Some("v1")).await;
    let coverage = inspector.list_coverage().send().await.unwrap();
    assert_eq!(coverage.covered_resources().len(), 1);
    let details = inspector
        .batch_get_finding_details()
        .finding_arns("arn:aws:inspector2:us-east-1:123456789012:finding/probe1")
        .finding_arns("arn:aws:inspector2:us-east-1:123456789012:finding/none")
        .send()
        .await
        .unwrap();
    assert_eq!(details.finding_details().len(), 1);
    assert_eq!(details.errors().len(), 1);
}

#[tokio::test]
async fn sns_publish_succeeds_when_an_http_subscriber_is_unreachable() {
    let acct = Emulator::shared().account().await;
    let topic = acct
        .clients
        .sns
        .create_topic()
        .name("probe")
        .send()
        .await
        .unwrap();
    let arn = topic.topic_arn().unwrap();
    // Port 9 (discard) has no listener here: the delivery fails, the publish must not.
    acct.clients
        .sns
        .subscribe()
        .topic_arn(arn)
        .protocol("http")
        .endpoint("http://127.0.0.1:9/hook")
        .send()
        .await
        .unwrap();
    let published = acct
        .clients
        .sns
        .publish()
        .topic_arn(arn)
        .message("probe")
        .send()
        .await
        .unwrap();
    assert!(published.message_id().is_some());
}

#[tokio::test]
async fn accounts_are_isolated() {
    let emulator = Emulator::shared();
    let one = emulator.account().await;
    let two = emulator.account().await;
    assert_ne!(one.id, two.id);
    one.create_repository("probe/isolated").await;
    let seen = two
        .clients
        .ecr
        .describe_repositories()
        .send()
        .await
        .unwrap();
    assert!(
        seen.repositories().is_empty(),
        "account {} sees account {}'s repository",
        two.id,
        one.id
    );
}

#[tokio::test]
async fn list_task_definitions_sorts_newest_first_on_desc_and_pages() {
    use aws_sdk_ecs::types::{ContainerDefinition, SortOrder};
    let acct = Emulator::shared().account().await;
    for _ in 0..3 {
        acct.clients
            .ecs
            .register_task_definition()
            .family("probe")
            .container_definitions(
                ContainerDefinition::builder()
                    .name("app")
                    .image("busybox")
                    .memory(128)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let revisions = |arns: &[String]| -> Vec<String> {
        arns.iter()
            .map(|a| a.rsplit(':').next().unwrap().to_owned())
            .collect()
    };
    let newest_first = |next: Option<String>| {
        acct.clients
            .ecs
            .list_task_definitions()
            .family_prefix("probe")
            .sort(SortOrder::Desc)
            .max_results(2)
            .set_next_token(next)
            .send()
    };
    let newest = newest_first(None).await.unwrap();
    assert_eq!(revisions(newest.task_definition_arns()), ["3", "2"]);
    let rest = newest_first(newest.next_token().map(str::to_owned))
        .await
        .unwrap();
    assert_eq!(revisions(rest.task_definition_arns()), ["1"]);
    assert!(rest.next_token().is_none());
    let oldest_first = acct
        .clients
        .ecs
        .list_task_definitions()
        .family_prefix("probe")
        .send()
        .await
        .unwrap();
    assert_eq!(
        revisions(oldest_first.task_definition_arns()),
        ["1", "2", "3"]
    );
}
