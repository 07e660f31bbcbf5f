//! The other services: Inspector's findings and coverage, SNS, ECS service revisions and task
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

/// Cites the Inspector2 API Reference: StringComparison "EQUALS" on a FilterCriteria key;
/// ListFindings maxResults, "If your request would return more than the maximum the response will
/// return a nextToken value"; ListCoverage CoverageFilterCriteria.scanStatusCode with
/// CoverageStringComparison "EQUALS | NOT_EQUALS"; BatchGetFindingDetails errors
/// "FINDING_DETAILS_NOT_FOUND". How filters of several keys combine is not written down (the
/// `inspector_filter_combination` reading), so this probe asserts one key at a time.
#[tokio::test]
async fn inspector_findings_come_back_filtered_and_coverage_and_details_exist() {
    use aws_sdk_inspector2::types::{
        CoverageFilterCriteria, CoverageStringComparison, CoverageStringFilter, FilterCriteria,
        StringComparison, StringFilter,
    };
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
    let found =
        |criteria: FilterCriteria| inspector.list_findings().filter_criteria(criteria).send();
    let arns = |out: &aws_sdk_inspector2::operation::list_findings::ListFindingsOutput| {
        let mut arns: Vec<String> = out
            .findings()
            .iter()
            .map(|f| f.finding_arn().rsplit('/').next().unwrap().to_owned())
            .collect();
        arns.sort();
        arns
    };
    let by_hash = found(FilterCriteria::builder().ecr_image_hash(eq(&d1)).build());
    assert_eq!(
        arns(&by_hash.await.unwrap()),
        ["probe1", "probe2", "probe4"]
    );
    let by_status = found(
        FilterCriteria::builder()
            .finding_status(eq("CLOSED"))
            .build(),
    );
    assert_eq!(arns(&by_status.await.unwrap()), ["probe2"]);

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
    let status = |comparison: CoverageStringComparison| {
        let filter = CoverageStringFilter::builder()
            .comparison(comparison)
            .value("ACTIVE")
            .build()
            .unwrap();
        let criteria = CoverageFilterCriteria::builder()
            .scan_status_code(filter)
            .build();
        inspector.list_coverage().filter_criteria(criteria).send()
    };
    let active = status(CoverageStringComparison::Equals).await.unwrap();
    assert_eq!(active.covered_resources().len(), 1);
    let inactive = status(CoverageStringComparison::NotEquals).await.unwrap();
    assert!(
        inactive.covered_resources().is_empty(),
        "NOT_EQUALS applies"
    );
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

/// Cites SNS Publish (Amazon SNS API Reference): "When a messageId is returned, the message is saved
/// and Amazon SNS immediately delivers it to subscribers." — and "Amazon SNS message delivery
/// retries": the delivery policy "defines how Amazon SNS retries the delivery of messages when
/// server-side errors occur": a failed delivery is SNS's to retry, not the publisher's error.
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

/// Cites ECS UpdateService, desiredCount (Amazon ECS API Reference): "This parameter doesn't
/// trigger a new service deployment." — and "Amazon ECS service revisions" (Developer Guide):
/// "Amazon ECS automatically creates a new service revision when you create a service, or update a
/// service property that starts a deployment." Scaling keeps the revision and its resolved digest.
#[tokio::test]
async fn scaling_a_service_keeps_its_revision_and_resolved_digest() {
    use aws_sdk_ecs::types::ContainerDefinition;
    let acct = Emulator::shared().account().await;
    acct.create_repository("probe/svc").await;
    let (first, _) = acct.push("probe/svc", "first", Some("live")).await;
    let image = format!("{}/probe/svc:live", acct.registry());
    let ecs = &acct.clients.ecs;
    ecs.create_cluster()
        .cluster_name("probe")
        .send()
        .await
        .unwrap();
    let container = ContainerDefinition::builder()
        .name("app")
        .image(&image)
        .memory(128)
        .build();
    let family = ecs
        .register_task_definition()
        .family("svc")
        .container_definitions(container);
    let definition = family.send().await.unwrap();
    let definition = definition
        .task_definition()
        .unwrap()
        .task_definition_arn()
        .unwrap();
    let service = ecs.create_service().cluster("probe").service_name("svc");
    let service = service
        .task_definition(definition)
        .desired_count(1)
        .send()
        .await
        .unwrap();
    let revision = |s: &aws_sdk_ecs::types::Service| {
        s.current_service_revisions()[0].arn().unwrap().to_owned()
    };
    let created = revision(service.service().unwrap());
    acct.push("probe/svc", "second", Some("live")).await; // the tag moves on
    let scaled = ecs
        .update_service()
        .cluster("probe")
        .service("svc")
        .desired_count(0);
    let scaled = scaled.send().await.unwrap();
    assert_eq!(
        revision(scaled.service().unwrap()),
        created,
        "no new revision"
    );
    let described = ecs
        .describe_service_revisions()
        .service_revision_arns(&created);
    let described = described.send().await.unwrap();
    let images = described.service_revisions()[0].container_images();
    assert_eq!(
        images[0].image_digest(),
        Some(first.as_str()),
        "the digest resolved at deployment"
    );
}

/// Cites ECS ListTaskDefinitions (Amazon ECS API Reference), sort: "Setting this parameter to DESC
/// reverses the sort order on family name and revision. This is so that the newest task
/// definitions in a family are listed first." — and maxResults: "This value can be between 1 and
/// 100."
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
