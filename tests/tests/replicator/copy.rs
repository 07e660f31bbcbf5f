//! The copy itself: layers byte-identical across regions and accounts, an index with its children
//! and signature, a second run that uploads nothing, a corrupted layer that puts nothing.

use aws_sdk_ecr::types::{
    EncryptionConfigurationForRepositoryCreationTemplate, EncryptionType, ImageTagMutability,
    RctAppliedFor, Tag as EcrTag,
};

use super::*;

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

    // Floors: the source read once (1 BatchGetImage, 1 ListImageReferrers; its settings, 1
    // DescribeRepositories, once a destination repository is missing); per destination 1
    // BatchCheckLayerAvailability (repository missing → the destination's creation templates, 1
    // DescribeRepositoryCreationTemplates, and 1 CreateRepository), per missing blob (3 layers +
    // config) 1 GetDownloadUrlForLayer + 1 Initiate + parts + 1 Complete, 1 PutImage for the one
    // tag. Plus the verdict re-read, the source image's tags now (DescribeImages by digest) and
    // the message.
    let bytes: usize = layers.iter().map(Vec::len).sum();
    assert_eq!(
        made,
        calls(&[
            ("DynamoDB.GetItem", 1),
            ("ECR.DescribeImages", 1),
            ("ECR.ListImageReferrers", 1),
            ("ECR.BatchGetImage", 1),
            ("ECR.BatchCheckLayerAvailability", 2),
            ("ECR.DescribeRepositories", 1),
            ("ECR.DescribeRepositoryCreationTemplates", 2),
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

    // Once: the index + the signature tag (1), the 2 children (1); per destination 2 children +
    // the signature + the index = 4 PutImage.
    assert_eq!(made["ECR.BatchGetImage"], 2, "{made:?}");
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

/// OCI 1.1 referrers (an SBOM attached to the index, a signature attached to a platform image,
/// both untagged, found by `subject` through ListImageReferrers) travel with a passed index,
/// digests unchanged; a second copy puts nothing new.
#[tokio::test]
async fn oci_referrers_of_an_index_and_its_children_travel_with_it() {
    let s = setup().await;
    let repo = "team-a/attached";
    s.acct.create_repository(repo).await;
    let (amd, _) = s
        .acct
        .push_layers(SOURCE, repo, "amd", &[layer(7, 1024)], None)
        .await;
    let index = warden_tests::image_index(&[(&amd, "amd64")]);
    let (digest, _) = s
        .acct
        .push_manifest(repo, &index, OCI_INDEX, Some("v3"))
        .await;
    let sbom = s
        .acct
        .push_referrer(
            SOURCE,
            repo,
            &digest,
            "application/spdx+json",
            br#"{"spdxVersion":"SPDX-2.3"}"#,
        )
        .await;
    let signature = s
        .acct
        .push_referrer(
            SOURCE,
            repo,
            &amd,
            "application/vnd.cncf.notary.signature",
            b"jws",
        )
        .await;
    record(&s, repo, &digest, Verdict::Pass).await;
    let (response, made) = run(
        &s,
        verdict_delivery(&s, repo, &digest, &["v3"], Verdict::Pass),
    )
    .await;
    assert_eq!(
        made["ECR.ListImageReferrers"], 2,
        "the index's and its child's, once: {made:?}"
    );
    let mut attached: Vec<String> =
        serde_json::from_value(report(&response, EU)["attached"].clone()).unwrap();
    attached.sort();
    let mut expected = vec![sbom.to_string(), signature.to_string()];
    expected.sort();
    assert_eq!(attached, expected, "{response}");
    let source = images(&s.acct.ecr_in(SOURCE), repo).await;
    assert_eq!(source.len(), 4);
    assert_eq!(images(&s.acct.ecr_in(EU), repo).await, source);
    assert_eq!(images(&s.other.ecr_in(SOURCE), repo).await, source);
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
    // The source image's tags now (one DescribeImages by digest); where ECR answers the same
    // manifest under its immutable tag with ImageTagAlreadyExists (one reading), one more
    // DescribeImages per destination settles that it is already there.
    let same_tag_refused = s.acct.reading("put_image_same_tag_immutable").await == "tag_exists";
    let expected = vec![
        ("DynamoDB.GetItem", 1),
        ("ECR.DescribeImages", if same_tag_refused { 2 } else { 1 }),
        ("ECR.ListImageReferrers", 1),
        ("ECR.BatchGetImage", 1),
        ("ECR.BatchCheckLayerAvailability", 2),
        ("ECR.PutImage", 2),
        ("SNS.Publish", 1),
    ];
    assert_eq!(made, calls(&expected));
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

/// A destination repository the replicator creates is set up like its source: scan on push and
/// KMS encryption (with ECR's AWS managed key there: a customer key is regional and needs a grant
/// the replicator is not given), and the tag mutability the policy sets for it.
#[tokio::test]
async fn a_created_destination_repository_takes_its_sources_settings() {
    use aws_sdk_ecr::types::{EncryptionConfiguration, ImageScanningConfiguration};
    let s = setup().await;
    let repo = "team-a/kms";
    let source_key = format!("arn:aws:kms:{SOURCE}:{}:key/source-key", s.acct.id);
    s.acct
        .ecr_in(SOURCE)
        .create_repository()
        .repository_name(repo)
        .encryption_configuration(
            EncryptionConfiguration::builder()
                .encryption_type(EncryptionType::Kms)
                .kms_key(&source_key)
                .build()
                .unwrap(),
        )
        .image_scanning_configuration(
            ImageScanningConfiguration::builder()
                .scan_on_push(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (response, made) = copy_passed(&s, repo, 8).await;
    assert_eq!(
        made["ECR.DescribeRepositories"], 1,
        "the source's settings, once for both created destinations: {made:?}"
    );
    for ecr in [s.acct.ecr_in(EU), s.other.ecr_in(SOURCE)] {
        let out = ecr
            .describe_repositories()
            .repository_names(repo)
            .send()
            .await
            .unwrap();
        let created = &out.repositories()[0];
        let encryption = created.encryption_configuration().unwrap();
        assert_eq!(
            encryption.encryption_type(),
            &EncryptionType::Kms,
            "{response}"
        );
        assert_ne!(
            encryption.kms_key(),
            Some(source_key.as_str()),
            "a key of its own region"
        );
        assert!(
            created
                .image_scanning_configuration()
                .unwrap()
                .scan_on_push()
        );
        assert_eq!(
            created.image_tag_mutability().map(|m| m.as_str()),
            Some("IMMUTABLE_WITH_EXCLUSION"),
            "the policy's setting for team-a/*"
        );
    }
}

/// A destination registry with a repository creation template for REPLICATION gets the repository
/// ECR's own replication would make there: the template's encryption key, resource tags,
/// lifecycle and repository policies (the policy's tag mutability over its own). A template for
/// another scenario does not apply: the second account's copy is made like its source.
#[tokio::test]
async fn a_created_destination_follows_the_registrys_replication_template() {
    let s = setup().await;
    let repo = "team-a/templated";
    s.acct.create_repository(repo).await;
    let dest_key = format!("arn:aws:kms:{EU}:{}:key/destination-key", s.acct.id);
    let lifecycle = r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}"#;
    let pull_policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"pull","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:root"}},"Action":["ecr:BatchGetImage"]}}]}}"#,
        s.other.id
    );
    s.acct
        .ecr_in(EU)
        .create_repository_creation_template()
        .prefix("team-a")
        .applied_for(RctAppliedFor::Replication)
        .image_tag_mutability(ImageTagMutability::Immutable)
        .encryption_configuration(
            EncryptionConfigurationForRepositoryCreationTemplate::builder()
                .encryption_type(EncryptionType::Kms)
                .kms_key(&dest_key)
                .build()
                .unwrap(),
        )
        .resource_tags(
            EcrTag::builder()
                .key("cost-center")
                .value("platform")
                .build()
                .unwrap(),
        )
        .lifecycle_policy(lifecycle)
        .repository_policy(&pull_policy)
        .send()
        .await
        .unwrap();
    // The second account's ROOT template is for pull through cache only.
    s.other
        .ecr_in(SOURCE)
        .create_repository_creation_template()
        .prefix("ROOT")
        .applied_for(RctAppliedFor::PullThroughCache)
        .lifecycle_policy(lifecycle)
        .send()
        .await
        .unwrap();
    let (response, made) = copy_passed(&s, repo, 9).await;
    assert_eq!(
        made["ECR.DescribeRepositoryCreationTemplates"], 2,
        "{made:?}"
    );
    assert_eq!(
        made["ECR.PutLifecyclePolicy"], 1,
        "the template's, once: {made:?}"
    );
    assert_eq!(
        made["ECR.SetRepositoryPolicy"], 1,
        "the template's, once: {made:?}"
    );
    let eu = s.acct.ecr_in(EU);
    let (created, tags) = created_with_tags(&eu, repo).await;
    assert_eq!(
        created.encryption_configuration().and_then(|e| e.kms_key()),
        Some(dest_key.as_str()),
        "the template's key: {response}"
    );
    assert_eq!(
        created.image_tag_mutability().map(|m| m.as_str()),
        Some("IMMUTABLE_WITH_EXCLUSION"),
        "the policy's setting for team-a/* over the template's IMMUTABLE"
    );
    assert!(
        tags.iter()
            .any(|t| t.key() == "cost-center" && t.value() == "platform"),
        "{tags:?}"
    );
    let set = eu
        .get_lifecycle_policy()
        .repository_name(repo)
        .send()
        .await
        .unwrap();
    assert_eq!(set.lifecycle_policy_text(), Some(lifecycle));
    let set = eu
        .get_repository_policy()
        .repository_name(repo)
        .send()
        .await
        .unwrap();
    let set: Value = serde_json::from_str(set.policy_text().unwrap()).unwrap();
    assert_eq!(set, serde_json::from_str::<Value>(&pull_policy).unwrap());

    let other = s.other.ecr_in(SOURCE);
    let (_, tags) = created_with_tags(&other, repo).await;
    assert!(tags.is_empty(), "no REPLICATION template there: {tags:?}");
    assert!(
        other
            .get_lifecycle_policy()
            .repository_name(repo)
            .send()
            .await
            .is_err(),
        "a PULL_THROUGH_CACHE template does not apply to replication"
    );
    assert_eq!(
        images(&eu, repo).await,
        images(&s.acct.ecr_in(SOURCE), repo).await
    );
}

/// Push a one-layer `v1` into `repo`, record its PASS and deliver the verdict to the replicator.
async fn copy_passed(s: &Setup, repo: &str, seed: u8) -> (Value, BTreeMap<String, u64>) {
    let (digest, _) = s
        .acct
        .push_layers(SOURCE, repo, "img", &[layer(seed, 512)], Some("v1"))
        .await;
    record(s, repo, &digest, Verdict::Pass).await;
    run(
        s,
        verdict_delivery(s, repo, &digest, &["v1"], Verdict::Pass),
    )
    .await
}

/// The repository as ECR describes it, and its resource tags.
async fn created_with_tags(
    ecr: &aws_sdk_ecr::Client,
    repo: &str,
) -> (aws_sdk_ecr::types::Repository, Vec<EcrTag>) {
    let out = ecr
        .describe_repositories()
        .repository_names(repo)
        .send()
        .await
        .unwrap();
    let created = out.repositories()[0].clone();
    let tags = ecr
        .list_tags_for_resource()
        .resource_arn(created.repository_arn().unwrap())
        .send()
        .await
        .unwrap();
    (created, tags.tags().to_vec())
}

/// A template policy that cannot be set on the repository just created (here ECR throttles
/// PutLifecyclePolicy past the SDK's retries, through the fault proxy) is not dropped: a later copy
/// finds the repository and would never set it. The copy is made, and the message is
/// `replication_failed` naming the repository and the policy to set by hand.
#[tokio::test]
async fn a_template_policy_that_cannot_be_set_is_a_published_failure() {
    use warden_tests::faults::{Fault, FaultProxy};
    let s = setup().await;
    let repo = "team-a/unset";
    s.acct.create_repository(repo).await;
    let lifecycle = r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}"#;
    s.acct
        .ecr_in(EU)
        .create_repository_creation_template()
        .prefix("team-a")
        .applied_for(RctAppliedFor::Replication)
        .lifecycle_policy(lifecycle)
        .send()
        .await
        .unwrap();
    let proxy = FaultProxy::start(&s.acct.emulator_url);
    proxy.inject("ECR.PutLifecyclePolicy", Fault::Throttle, 0, None);
    let config = ReplicatorConfig {
        table: Some(s.table.clone()),
        topic_arn: Some(s.topic.clone()),
        dry_run: false,
        concurrency: 4,
    };
    let replicator = Replicator::new(
        &proxy.sdk(&s.acct.sdk),
        &s.acct.clients.calls,
        policy(&s.other.id),
        config,
    )
    .unwrap();
    let (digest, _) = s
        .acct
        .push_layers(SOURCE, repo, "unset", &[layer(12, 512)], Some("v1"))
        .await;
    record(&s, repo, &digest, Verdict::Pass).await;
    let response = replicator
        .handle(verdict_delivery(&s, repo, &digest, &["v1"], Verdict::Pass))
        .await
        .unwrap();
    assert_eq!(
        proxy.served("ECR.PutLifecyclePolicy"),
        3,
        "the SDK's 3 attempts"
    );
    let eu = s.acct.ecr_in(EU);
    assert_eq!(
        images(&eu, repo).await,
        images(&s.acct.ecr_in(SOURCE), repo).await,
        "the copy is made"
    );
    let copy = report(&response, EU);
    assert_eq!(copy["creation_template"], "team-a");
    let problems = copy["problems"].to_string();
    assert!(
        problems.contains("lifecycle policy") && problems.contains("set it by hand"),
        "{problems}"
    );
    let told = s.acct.received(&s.queue).await;
    let action = told
        .iter()
        .map(|m| serde_json::from_str::<Value>(m["Message"].as_str().unwrap()).unwrap())
        .map(|m| m["action"].clone())
        .collect::<Vec<_>>();
    assert_eq!(action, vec![json!("replication_failed")], "{told:?}");
}
