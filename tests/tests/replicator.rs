//! replicator against the emulator: real layer bytes copied through the ECR API between two
//! regions and two accounts, byte-identical manifests, exact call floors, idempotence, a corrupted
//! layer, the verdict and tag gates, no loops — and scan-gate's PASS driving it end to end.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use std::collections::BTreeMap;

use serde_json::{Value, json};
use warden_aws::adapters::verdicts::DynamoVerdicts;
use warden_aws::functions::replicator::{Replicator, ReplicatorConfig};
use warden_aws::functions::scan_gate::{ScanGate, ScanGateConfig};
use warden_aws::runtime::lambda::Function;
use warden_core::message::{Body, Message, SCHEMA, VerdictBody};
use warden_core::names::{AccountId, Digest, Region, RepositoryName, Tag};
use warden_core::policy::Policy;
use warden_core::ports::{VerdictRecord, VerdictStore};
use warden_core::severity::SeverityCounts;
use warden_core::verdict::Verdict;
use warden_tests::{Emulator, OCI_INDEX, TestAccount, sns_delivery};

const SOURCE: &str = "us-east-1";
const EU: &str = "eu-west-1";

struct Setup {
    acct: TestAccount,
    /// The second account, reached through a role with an external id.
    other: TestAccount,
    table: String,
    queue: String,
    replicator: Replicator,
}

fn policy(other: &str) -> Policy {
    Policy::from_yaml(&format!(
        r#"
version: 1
repositories:
  - match: "team-a/*"
    immutability: {{ mode: IMMUTABLE_WITH_EXCLUSION, exclusions: ["latest"] }}
    gate: {{ max_findings: {{ CRITICAL: 0 }} }}
    replication:
      tags: ["v*"]
      destinations:
        - region: {EU}
        - region: {SOURCE}
          account: "{other}"
          role_arn: arn:aws:iam::{other}:role/ecr-warden-replicator
          external_id: warden-ext-1
  - match: "open/*"
    replication:
      require_pass: false
      destinations:
        - region: {EU}
"#
    ))
    .unwrap()
}

async fn setup() -> Setup {
    let acct = Emulator::shared().account().await;
    let other = Emulator::shared().account().await;
    let table = acct.state_table().await;
    let (topic, queue) = acct.topic_with_queue(None).await;
    let config = ReplicatorConfig {
        table: Some(table.clone()),
        topic_arn: Some(topic),
        dry_run: false,
        concurrency: 4,
    };
    let replicator =
        Replicator::new(&acct.sdk, &acct.clients.calls, policy(&other.id), config).unwrap();
    Setup {
        acct,
        other,
        table,
        queue,
        replicator,
    }
}

fn layer(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i % 251) as u8))
        .collect()
}

fn tag(t: &str) -> Tag {
    Tag::new(t).unwrap()
}

/// Record scan-gate's verdict for an image, as scan-gate does (its adapter, its table).
async fn record(s: &Setup, repository: &str, digest: &Digest, verdict: Verdict) {
    let store = DynamoVerdicts::new(aws_sdk_dynamodb::Client::new(&s.acct.sdk), s.table.clone());
    store
        .claim(&VerdictRecord {
            repository: RepositoryName::new(repository).unwrap(),
            digest: digest.clone(),
            verdict,
            max_severity: None,
            fingerprint: format!("{verdict:?}-{digest}"),
            policy_pattern: Some("team-a/*".into()),
            decided_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
}

/// scan-gate's verdict message for an image, delivered by SNS.
fn verdict_delivery(
    s: &Setup,
    repository: &str,
    digest: &Digest,
    tags: &[&str],
    v: Verdict,
) -> Value {
    let message = Message {
        schema: SCHEMA.into(),
        function: "scan-gate".into(),
        account: AccountId::new(s.acct.id.as_str()).unwrap(),
        region: Region::new(SOURCE).unwrap(),
        repository: RepositoryName::new(repository).unwrap(),
        action: "none".into(),
        dry_run: false,
        event_id: Some("e-1".into()),
        body: Body::Verdict(Box::new(VerdictBody {
            digest: digest.clone(),
            tags: tags.iter().map(|t| tag(t)).collect(),
            verdict: v,
            max_severity: None,
            scan: "basic".into(),
            counts: SeverityCounts::default(),
            reasons: vec![],
            exceptions_applied: vec![],
            exceptions_expired: vec![],
            findings: vec![],
            findings_total: 0,
            quarantined_tags: vec![],
            restored_tags: vec![],
            tags_taken: vec![],
            via_indexes: vec![],
            still_deployable: vec![],
            moved_meanwhile: vec![],
            problems: vec![],
            policy_pattern: Some("team-a/*".into()),
        })),
    };
    sns_delivery(&[(message.subject(), serde_json::to_string(&message).unwrap())])
}

async fn run(s: &Setup, event: Value) -> (Value, BTreeMap<String, u64>) {
    let before = s.acct.clients.calls.snapshot();
    let response = s.replicator.handle(event).await.unwrap();
    (response, s.acct.clients.calls.since(&before))
}

/// Run and return the decision line.
async fn decided(s: &Setup, event: Value) -> String {
    let (response, _) = run(s, event).await;
    response["decision"].as_str().unwrap().to_owned()
}

fn calls(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

/// (digest, exact manifest bytes, tags) of every image in a repository, sorted by digest.
async fn images(ecr: &aws_sdk_ecr::Client, repository: &str) -> Vec<(String, String, Vec<String>)> {
    let Ok(listed) = ecr.list_images().repository_name(repository).send().await else {
        return Vec::new();
    };
    let mut by_digest: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for id in listed.image_ids() {
        let tags = by_digest
            .entry(id.image_digest().unwrap().to_owned())
            .or_default();
        tags.extend(id.image_tag().map(str::to_owned));
    }
    let mut out = Vec::new();
    for (digest, mut tags) in by_digest {
        let got = ecr
            .batch_get_image()
            .repository_name(repository)
            .image_ids(
                aws_sdk_ecr::types::ImageIdentifier::builder()
                    .image_digest(&digest)
                    .build(),
            )
            .accepted_media_types(OCI_INDEX)
            .accepted_media_types(warden_tests::OCI_MANIFEST)
            .send()
            .await
            .unwrap();
        let bytes = got.images()[0].image_manifest().unwrap().to_owned();
        tags.sort();
        out.push((digest, bytes, tags));
    }
    out
}

fn report<'a>(response: &'a Value, target: &str) -> &'a Value {
    let copies = response["outcomes"][0]["body"]["copies"]
        .as_array()
        .unwrap();
    copies
        .iter()
        .find(|c| c["target"].as_str().unwrap().contains(target))
        .unwrap_or_else(|| panic!("no copy to {target} in {response}"))
}

#[tokio::test]
async fn a_passed_three_layer_image_is_copied_byte_identical_to_another_region_and_account() {
    let s = setup().await;
    s.acct.create_repository("team-a/api").await;
    // One layer spans two 10 MiB parts.
    let layers = vec![layer(1, 11 * 1024 * 1024), layer(2, 4096), layer(3, 512)];
    let (digest, _) = s
        .acct
        .push_layers(SOURCE, "team-a/api", "api", &layers, Some("v1"))
        .await;
    record(&s, "team-a/api", &digest, Verdict::Pass).await;

    let (response, made) = run(
        &s,
        verdict_delivery(&s, "team-a/api", &digest, &["v1"], Verdict::Pass),
    )
    .await;

    // Floors, per destination: 1 BatchGetImage, 1 BatchCheckLayerAvailability (repository missing
    // → 1 CreateRepository), per missing blob (3 layers + config) 1 GetDownloadUrlForLayer +
    // 1 Initiate + parts + 1 Complete, 1 PutImage for the one tag. Plus the verdict re-read and
    // the message.
    let bytes: usize = layers.iter().map(Vec::len).sum();
    assert_eq!(
        made,
        calls(&[
            ("DynamoDB.GetItem", 1),
            ("ECR.BatchGetImage", 2),
            ("ECR.BatchCheckLayerAvailability", 2),
            ("ECR.CreateRepository", 2),
            ("ECR.GetDownloadUrlForLayer", 8),
            ("ECR.InitiateLayerUpload", 8),
            ("ECR.UploadLayerPart", 2 * (4 + 1)),
            ("ECR.CompleteLayerUpload", 8),
            ("ECR.PutImage", 2),
            ("SNS.Publish", 1),
        ]),
        "{response}"
    );
    let source = images(&s.acct.ecr_in(SOURCE), "team-a/api").await;
    for (client, target) in [
        (s.acct.ecr_in(EU), EU),
        (s.other.ecr_in(SOURCE), s.other.id.as_str()),
    ] {
        assert_eq!(
            images(&client, "team-a/api").await,
            source,
            "{target}: same digests, same bytes, same tag"
        );
        let copy = report(&response, target);
        assert_eq!(copy["layers_copied"], 4);
        assert_eq!(copy["layers_skipped"], 0);
        assert!(
            copy["bytes_copied"].as_u64().unwrap() > bytes as u64,
            "layers + config"
        );
        assert_eq!(copy["created_repository"], true);
        // Created with the policy's settings for that repository.
        let described = client
            .describe_repositories()
            .repository_names("team-a/api")
            .send()
            .await
            .unwrap();
        assert_eq!(
            described.repositories()[0]
                .image_tag_mutability()
                .unwrap()
                .as_str(),
            "IMMUTABLE_WITH_EXCLUSION"
        );
    }
    let told = s.acct.received(&s.queue).await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["MessageAttributes"]["kind"]["Value"], "replication");
    assert_eq!(
        told[0]["MessageAttributes"]["action"]["Value"],
        "replicated"
    );
}

#[tokio::test]
async fn a_two_platform_index_travels_with_its_children_and_signature() {
    let s = setup().await;
    s.acct.create_repository("team-a/multi").await;
    let (amd, _) = s
        .acct
        .push_layers(SOURCE, "team-a/multi", "amd", &[layer(4, 2048)], None)
        .await;
    let (arm, _) = s
        .acct
        .push_layers(SOURCE, "team-a/multi", "arm", &[layer(5, 2048)], None)
        .await;
    let index = warden_tests::image_index(&[(&amd, "amd64"), (&arm, "arm64")]);
    let (digest, _) = s
        .acct
        .push_manifest("team-a/multi", &index, OCI_INDEX, Some("v2"))
        .await;
    // A cosign signature, by its tag scheme.
    let sig_tag = format!("sha256-{}.sig", &digest.as_str()[7..]);
    s.acct
        .push_layers(
            SOURCE,
            "team-a/multi",
            "sig",
            &[layer(6, 300)],
            Some(&sig_tag),
        )
        .await;
    record(&s, "team-a/multi", &digest, Verdict::Pass).await;

    let (response, made) = run(
        &s,
        verdict_delivery(&s, "team-a/multi", &digest, &["v2"], Verdict::Pass),
    )
    .await;

    // Per destination: the index + the signature tag (1), the 2 children (1); 2 children + the
    // signature + the index = 4 PutImage.
    assert_eq!(made["ECR.BatchGetImage"], 4, "{made:?}");
    assert_eq!(made["ECR.PutImage"], 8, "{made:?}");
    let source = images(&s.acct.ecr_in(SOURCE), "team-a/multi").await;
    assert_eq!(source.len(), 4);
    assert_eq!(images(&s.acct.ecr_in(EU), "team-a/multi").await, source);
    assert_eq!(
        images(&s.other.ecr_in(SOURCE), "team-a/multi").await,
        source
    );
    assert_eq!(report(&response, EU)["referrers"], json!([sig_tag]));
}

#[tokio::test]
async fn a_second_run_uploads_nothing_and_a_destination_with_two_of_three_layers_gets_the_third() {
    let s = setup().await;
    s.acct.create_repository("team-a/web").await;
    let layers = vec![layer(7, 3000), layer(8, 2000), layer(9, 1000)];
    let (digest, manifest) = s
        .acct
        .push_layers(SOURCE, "team-a/web", "web", &layers, Some("v3"))
        .await;
    record(&s, "team-a/web", &digest, Verdict::Pass).await;
    // eu-west-1 already has the config and two of the three layers.
    let eu = s.acct.ecr_in(EU);
    eu.create_repository()
        .repository_name("team-a/web")
        .send()
        .await
        .unwrap();
    let config = serde_json::from_str::<Value>(&manifest).unwrap()["config"]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    s.acct
        .upload_blob(
            &eu,
            "team-a/web",
            br#"{"architecture":"amd64","os":"linux","seed":"web"}"#,
        )
        .await;
    for l in &layers[..2] {
        s.acct.upload_blob(&eu, "team-a/web", l).await;
    }
    let delivery = verdict_delivery(&s, "team-a/web", &digest, &["v3"], Verdict::Pass);
    let (response, _) = run(&s, delivery.clone()).await;
    let copy = report(&response, EU);
    assert_eq!(
        (
            copy["layers_copied"].as_u64(),
            copy["layers_skipped"].as_u64()
        ),
        (Some(1), Some(3)),
        "{config}"
    );
    assert_eq!(copy["bytes_copied"], 1000);

    // Again: the availability check finds everything, PutImage finds the image: 0 bytes.
    let (response, made) = run(&s, delivery).await;
    for target in [EU, s.other.id.as_str()] {
        let copy = report(&response, target);
        assert_eq!(copy["bytes_copied"], 0);
        assert_eq!(copy["layers_copied"], 0);
        assert_eq!(copy["manifests_present"], 1);
    }
    assert_eq!(
        made,
        calls(&[
            ("DynamoDB.GetItem", 1),
            ("ECR.BatchGetImage", 2),
            ("ECR.BatchCheckLayerAvailability", 2),
            ("ECR.PutImage", 2),
            ("SNS.Publish", 1),
        ])
    );
}

#[tokio::test]
async fn a_layer_whose_bytes_do_not_match_its_digest_fails_the_copy_and_puts_nothing() {
    let s = setup().await;
    s.acct.create_repository("team-a/bad").await;
    let layers = vec![layer(10, 5000), layer(11, 6000)];
    let (digest, manifest) = s
        .acct
        .push_layers(SOURCE, "team-a/bad", "bad", &layers, Some("v1"))
        .await;
    let corrupted = serde_json::from_str::<Value>(&manifest).unwrap()["layers"][1]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    s.acct
        .corrupt_layer(
            SOURCE,
            "team-a/bad",
            &Digest::new(corrupted.as_str()).unwrap(),
        )
        .await;
    record(&s, "team-a/bad", &digest, Verdict::Pass).await;

    let error = s
        .replicator
        .handle(verdict_delivery(
            &s,
            "team-a/bad",
            &digest,
            &["v1"],
            Verdict::Pass,
        ))
        .await
        .unwrap_err();
    assert_eq!(error.error_type, "Retryable", "{}", error.message);
    assert!(
        error.message.contains(&corrupted) && error.message.contains("hash to"),
        "{}",
        error.message
    );
    assert!(
        images(&s.acct.ecr_in(EU), "team-a/bad").await.is_empty(),
        "no image in the destination"
    );
    assert!(
        s.acct.received(&s.queue).await.is_empty(),
        "nothing told of a copy that failed"
    );
}

#[tokio::test]
async fn only_a_pass_promotes_and_only_the_tags_the_filter_matches_travel() {
    let s = setup().await;
    s.acct.create_repository("team-a/app").await;
    let (failed, _) = s
        .acct
        .push_layers(SOURCE, "team-a/app", "f", &[layer(12, 100)], Some("v0"))
        .await;
    record(&s, "team-a/app", &failed, Verdict::Fail).await;
    let (response, made) = run(
        &s,
        verdict_delivery(&s, "team-a/app", &failed, &["v0"], Verdict::Fail),
    )
    .await;
    assert!(
        response["decision"]
            .as_str()
            .unwrap()
            .contains("only a PASS promotes")
    );
    assert!(made.is_empty(), "a FAIL reads nothing: {made:?}");

    // A PASS message that a later FAIL superseded (out of order) promotes nothing either.
    let decision = decided(
        &s,
        verdict_delivery(&s, "team-a/app", &failed, &["v0"], Verdict::Pass),
    )
    .await;
    assert!(decision.contains("is FAIL now"), "{decision}");

    let (dev, _) = s
        .acct
        .push_layers(SOURCE, "team-a/app", "d", &[layer(13, 100)], Some("dev-7"))
        .await;
    record(&s, "team-a/app", &dev, Verdict::Pass).await;
    let decision = decided(
        &s,
        verdict_delivery(&s, "team-a/app", &dev, &["dev-7"], Verdict::Pass),
    )
    .await;
    assert!(
        decision.contains("matches the replication tags"),
        "{decision}"
    );

    let (both, _) = s
        .acct
        .push_layers(SOURCE, "team-a/app", "b", &[layer(14, 100)], Some("v1"))
        .await;
    s.acct
        .clients
        .ecr
        .put_image()
        .repository_name("team-a/app")
        .image_manifest(
            images(&s.acct.ecr_in(SOURCE), "team-a/app")
                .await
                .into_iter()
                .find(|i| i.0 == both.as_str())
                .unwrap()
                .1,
        )
        .image_tag("dev-8")
        .send()
        .await
        .unwrap();
    record(&s, "team-a/app", &both, Verdict::Pass).await;
    run(
        &s,
        verdict_delivery(&s, "team-a/app", &both, &["v1", "dev-8"], Verdict::Pass),
    )
    .await;
    let copied = images(&s.acct.ecr_in(EU), "team-a/app").await;
    assert_eq!(copied.len(), 1, "only the passed v1 image: {copied:?}");
    assert_eq!(
        (copied[0].0.as_str(), copied[0].2.clone()),
        (both.as_str(), vec!["v1".to_owned()])
    );
}

#[tokio::test]
async fn an_ungated_push_is_copied_and_the_copy_arriving_in_the_destination_is_not_copied_again() {
    let s = setup().await;
    s.acct.create_repository("open/tool").await;
    let (digest, _) = s
        .acct
        .push_layers(SOURCE, "open/tool", "t", &[layer(15, 700)], Some("1.0"))
        .await;
    let push = |region: &str| {
        s.acct.event("ecr-image-action.push.json", |e| {
            e["region"] = json!(region);
            e["detail"]["repository-name"] = json!("open/tool");
            e["detail"]["image-digest"] = json!(digest);
            e["detail"]["image-tag"] = json!("1.0");
        })
    };
    let (response, made) = run(&s, push(SOURCE)).await;
    assert_eq!(
        made.get("DynamoDB.GetItem"),
        None,
        "ungated: no verdict read"
    );
    assert_eq!(report(&response, EU)["layers_copied"], 2);
    assert_eq!(
        images(&s.acct.ecr_in(EU), "open/tool").await,
        images(&s.acct.ecr_in(SOURCE), "open/tool").await
    );

    // ECR emits the copy's own PUSH in eu-west-1: the replicator there leaves it alone.
    let (response, made) = run(&s, push(EU)).await;
    assert!(
        response["decision"]
            .as_str()
            .unwrap()
            .contains("is itself a destination"),
        "{response}"
    );
    assert!(made.is_empty());
}

#[tokio::test]
async fn scan_gates_pass_drives_the_copy_end_to_end() {
    let s = setup().await;
    s.acct.create_repository("team-a/svc").await;
    let (digest, _) = s
        .acct
        .push_layers(SOURCE, "team-a/svc", "svc", &[layer(16, 900)], Some("v9"))
        .await;
    // scan-gate decides on a clean basic scan, records PASS and publishes to the topic, where
    // the replicator's subscription (filter: verdict = PASS) picks it up.
    let (topic, _) = s.acct.topic_with_queue(None).await;
    let passes = s
        .acct
        .subscribed_queue(&topic, Some(r#"{"verdict": ["PASS"]}"#))
        .await;
    let gate = ScanGate::new(
        &s.acct.sdk,
        &s.acct.clients.calls,
        policy(&s.other.id),
        ScanGateConfig {
            table: s.table.clone(),
            topic_arn: Some(topic),
            dry_run: false,
        },
    );
    let scan = s.acct.event("ecr-image-scan.complete.json", |e| {
        e["detail"]["repository-name"] = json!("team-a/svc");
        e["detail"]["image-digest"] = json!(digest);
        e["detail"]["image-tags"] = json!(["v9"]);
        e["detail"]["finding-severity-counts"] = json!({});
    });
    gate.handle(scan).await.unwrap();
    let delivered = s.acct.received(&passes).await;
    assert_eq!(delivered.len(), 1);
    let bodies: Vec<(String, String)> = delivered
        .iter()
        .map(|d| {
            (
                d["Subject"].as_str().unwrap().to_owned(),
                d["Message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let (response, _) = run(&s, sns_delivery(&bodies)).await;
    assert_eq!(report(&response, EU)["layers_copied"], 2, "{response}");
    assert_eq!(
        images(&s.other.ecr_in(SOURCE), "team-a/svc").await,
        images(&s.acct.ecr_in(SOURCE), "team-a/svc").await
    );
}
