//! The emulator probe: one assertion per way stock moto 5.2.5 differs from AWS where ecr-warden
//! relies on it (see tests/emulator/). If a moto upgrade or a patch regresses, this fails first.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use aws_sdk_ecr::operation::put_image::PutImageError;
use aws_sdk_ecr::types::{
    ImageIdentifier, ImageTagMutability, ImageTagMutabilityExclusionFilter,
    ImageTagMutabilityExclusionFilterType, ListImagesFilter, TagStatus,
};
use serde_json::json;
use warden_aws::adapters::ecr::EcrRegistry;
use warden_core::names::{Digest, RepositoryName, Tag};
use warden_core::ports::{ImageManifests, Manifest, PortError};
use warden_tests::{Emulator, OCI_INDEX, image_index};

fn filter(pattern: &str) -> ImageTagMutabilityExclusionFilter {
    ImageTagMutabilityExclusionFilter::builder()
        .filter(pattern)
        .filter_type(ImageTagMutabilityExclusionFilterType::Wildcard)
        .build()
        .unwrap()
}

fn name(s: &str) -> RepositoryName {
    RepositoryName::new(s).unwrap()
}

#[tokio::test]
async fn digest_is_sha256_of_the_manifest_bytes_for_images_and_indexes() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("probe/digest").await;
    let (amd, manifest) = acct.push("probe/digest", "amd64", Some("v1")).await;
    let listed = acct
        .clients
        .ecr
        .list_images()
        .repository_name("probe/digest")
        .send()
        .await
        .unwrap();
    let ids = listed.image_ids();
    assert_eq!(ids.len(), 1);
    assert_eq!(
        ids[0].image_digest(),
        Some(amd.as_str()),
        "listed under sha256(manifest bytes)"
    );
    assert_eq!(amd, Digest::of_bytes(manifest.as_bytes()));

    let (arm, _) = acct.push("probe/digest", "arm64", None).await;
    let index = image_index(&[(&amd, "amd64"), (&arm, "arm64")]);
    let put = acct
        .clients
        .ecr
        .put_image()
        .repository_name("probe/digest")
        .image_manifest(&index)
        .image_manifest_media_type(OCI_INDEX)
        .image_tag("multi")
        .send()
        .await
        .unwrap();
    let index_digest = put
        .image()
        .unwrap()
        .image_id()
        .unwrap()
        .image_digest()
        .unwrap();
    assert_eq!(
        index_digest,
        Digest::of_bytes(index.as_bytes()).as_str(),
        "an index is named by its bytes too"
    );
}

#[tokio::test]
async fn overwriting_a_tag_in_a_mutable_repository_keeps_the_old_image_untagged() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("probe/overwrite").await;
    let (a, _) = acct.push("probe/overwrite", "a", Some("v1")).await;
    let (b, _) = acct.push("probe/overwrite", "b", Some("v1")).await;
    let untagged = acct
        .clients
        .ecr
        .list_images()
        .repository_name("probe/overwrite")
        .filter(
            ListImagesFilter::builder()
                .tag_status(TagStatus::Untagged)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let untagged: Vec<_> = untagged
        .image_ids()
        .iter()
        .filter_map(|i| i.image_digest())
        .collect();
    assert_eq!(untagged, [a.as_str()], "A survives, untagged");
    let registry = EcrRegistry::new(acct.clients.ecr.clone());
    let tag = Tag::new("v1").unwrap();
    assert_eq!(
        registry
            .tag_target(&name("probe/overwrite"), &tag)
            .await
            .unwrap(),
        Some(b)
    );
}

#[tokio::test]
async fn immutable_conflict_is_a_typed_tag_exists_error() {
    let acct = Emulator::shared().account().await;
    acct.clients
        .ecr
        .create_repository()
        .repository_name("probe/immutable")
        .image_tag_mutability(ImageTagMutability::Immutable)
        .send()
        .await
        .unwrap();
    acct.push("probe/immutable", "a", Some("v1")).await;
    let b = warden_tests::image_manifest("b");
    let raw = acct
        .clients
        .ecr
        .put_image()
        .repository_name("probe/immutable")
        .image_manifest(&b)
        .image_tag("v1")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            raw.as_service_error(),
            Some(PutImageError::ImageTagAlreadyExistsException(_))
        ),
        "{raw:?}"
    );

    // And through the adapter the functions use.
    let registry = EcrRegistry::new(acct.clients.ecr.clone());
    let manifest = Manifest {
        digest: Digest::of_bytes(b.as_bytes()),
        media_type: Some(warden_tests::OCI_MANIFEST.into()),
        bytes: b,
    };
    let err = registry
        .put_tag(
            &name("probe/immutable"),
            &manifest,
            &Tag::new("v1").unwrap(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, PortError::TagAlreadyExists { .. }), "{err:?}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn exclusion_filters_are_wildcards_not_regexes() {
    let acct = Emulator::shared().account().await;
    acct.clients
        .ecr
        .create_repository()
        .repository_name("probe/exclusions")
        .image_tag_mutability(ImageTagMutability::ImmutableWithExclusion)
        .image_tag_mutability_exclusion_filters(filter("v*"))
        .send()
        .await
        .unwrap();
    acct.push("probe/exclusions", "a", Some("v1")).await;
    acct.push("probe/exclusions", "b", Some("v1")).await; // v1 matches v*: mutable
    acct.push("probe/exclusions", "a", Some("release-v1")).await;
    let second = acct
        .clients
        .ecr
        .put_image()
        .repository_name("probe/exclusions")
        .image_manifest(warden_tests::image_manifest("c"))
        .image_tag("release-v1")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            second.as_service_error(),
            Some(PutImageError::ImageTagAlreadyExistsException(_))
        ),
        "release-v1 does not match v* (a regex search would have exempted it): {second:?}"
    );

    // `*` is a valid filter (stock moto: HTTP 500 from re.match("*")).
    acct.clients
        .ecr
        .create_repository()
        .repository_name("probe/star")
        .image_tag_mutability(ImageTagMutability::ImmutableWithExclusion)
        .image_tag_mutability_exclusion_filters(filter("*"))
        .send()
        .await
        .unwrap();
    acct.push("probe/star", "a", Some("anything")).await;
    acct.push("probe/star", "b", Some("anything")).await;
}

#[tokio::test]
async fn put_image_into_a_missing_repository_is_repository_not_found() {
    let acct = Emulator::shared().account().await;
    let err = acct
        .clients
        .ecr
        .put_image()
        .repository_name("probe/missing")
        .image_manifest(warden_tests::image_manifest("a"))
        .image_tag("v1")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.as_service_error(),
            Some(PutImageError::RepositoryNotFoundException(_))
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn listings_page_and_filter_and_calls_are_counted() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("probe/pages").await;
    for seed in ["a", "b", "c"] {
        acct.push("probe/pages", seed, Some(seed)).await;
    }
    acct.push("probe/pages", "untagged", None).await;
    let before = acct.clients.calls.count("ECR.DescribeImages");
    let mut sizes = Vec::new();
    let mut token = None;
    loop {
        let page = acct
            .clients
            .ecr
            .describe_images()
            .repository_name("probe/pages")
            .filter(
                aws_sdk_ecr::types::DescribeImagesFilter::builder()
                    .tag_status(TagStatus::Tagged)
                    .build(),
            )
            .max_results(1)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        sizes.push(page.image_details().len());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(sizes, [1, 1, 1], "three tagged images, one per page");
    assert_eq!(
        acct.clients.calls.count("ECR.DescribeImages") - before,
        3,
        "the interceptor counts each page: {:?}",
        acct.clients.calls.snapshot()
    );

    let first = acct
        .clients
        .ecr
        .list_images()
        .repository_name("probe/pages")
        .max_results(2)
        .send()
        .await
        .unwrap();
    assert_eq!(first.image_ids().len(), 2);
    assert!(first.next_token().is_some());
    let err = acct
        .clients
        .ecr
        .describe_images()
        .repository_name("probe/pages")
        .max_results(1001)
        .send()
        .await;
    assert!(err.is_err(), "maxResults above 1000 is refused as ECR does");
}

#[tokio::test]
async fn seeded_scans_show_in_describe_images_and_page_their_findings() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("probe/scan").await;
    let (digest, _) = acct.push("probe/scan", "a", Some("v1")).await;
    let findings: Vec<_> = (0..250)
        .map(|i| json!({"name": format!("CVE-2026-{i:04}"), "severity": if i == 0 { "CRITICAL" } else { "LOW" }, "uri": "https://example.invalid", "attributes": []}))
        .collect();
    acct.seed_scan("probe/scan", &digest, "COMPLETE", findings, false)
        .await;
    let detail = acct
        .clients
        .ecr
        .describe_images()
        .repository_name("probe/scan")
        .image_ids(
            ImageIdentifier::builder()
                .image_digest(digest.as_str())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let detail = &detail.image_details()[0];
    assert_eq!(
        detail
            .image_scan_status()
            .unwrap()
            .status()
            .unwrap()
            .as_str(),
        "COMPLETE"
    );
    let counts = detail
        .image_scan_findings_summary()
        .unwrap()
        .finding_severity_counts()
        .unwrap();
    assert_eq!(
        counts.get(&aws_sdk_ecr::types::FindingSeverity::Critical),
        Some(&1)
    );
    assert_eq!(
        counts.get(&aws_sdk_ecr::types::FindingSeverity::Low),
        Some(&249)
    );

    let page = acct
        .clients
        .ecr
        .describe_image_scan_findings()
        .repository_name("probe/scan")
        .image_id(
            ImageIdentifier::builder()
                .image_digest(digest.as_str())
                .build(),
        )
        .max_results(100)
        .send()
        .await
        .unwrap();
    assert_eq!(page.image_scan_findings().unwrap().findings().len(), 100);
    assert!(
        page.next_token().is_some(),
        "250 findings take 3 pages of 100"
    );
}

#[tokio::test]
async fn a_layer_uploaded_in_parts_downloads_byte_identical() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("probe/layers").await;
    let started = acct
        .clients
        .ecr
        .initiate_layer_upload()
        .repository_name("probe/layers")
        .send()
        .await
        .unwrap();
    let part_size = usize::try_from(started.part_size().unwrap()).unwrap();
    let upload_id = started.upload_id().unwrap();
    // 2.5 parts of pseudo-random bytes.
    let blob: Vec<u8> = (0..part_size * 5 / 2)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for (n, chunk) in blob.chunks(part_size).enumerate() {
        let first = n * part_size;
        acct.clients
            .ecr
            .upload_layer_part()
            .repository_name("probe/layers")
            .upload_id(upload_id)
            .part_first_byte(first as i64)
            .part_last_byte((first + chunk.len() - 1) as i64)
            .layer_part_blob(aws_sdk_ecr::primitives::Blob::new(chunk.to_vec()))
            .send()
            .await
            .unwrap();
    }
    let digest = Digest::of_bytes(&blob);
    acct.clients
        .ecr
        .complete_layer_upload()
        .repository_name("probe/layers")
        .upload_id(upload_id)
        .layer_digests(digest.as_str())
        .send()
        .await
        .unwrap();
    let url = acct
        .clients
        .ecr
        .get_download_url_for_layer()
        .repository_name("probe/layers")
        .layer_digest(digest.as_str())
        .send()
        .await
        .unwrap();
    let downloaded = warden_tests::http()
        .get(url.download_url().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(downloaded.len(), blob.len());
    assert!(downloaded.as_ref() == blob.as_slice(), "byte-identical");
}

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
async fn removing_a_tag_by_digest_and_tag_leaves_a_moved_tag_alone() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("probe/conditional").await;
    let (a, _) = acct.push("probe/conditional", "a", Some("v1")).await;
    acct.push("probe/conditional", "a", Some("keep")).await;
    acct.push("probe/conditional", "a", Some("gone-soon")).await;
    // `v1` moves to B: removing `v1` "from A" must not touch B.
    let (b, _) = acct.push("probe/conditional", "b", Some("v1")).await;
    let registry = EcrRegistry::new(acct.clients.ecr.clone());
    let tags = [
        Tag::new("v1").unwrap(),
        Tag::new("gone-soon").unwrap(),
        Tag::new("never-was").unwrap(),
    ];
    let removal = registry
        .remove_tags(&name("probe/conditional"), &a, &tags)
        .await
        .unwrap();
    assert_eq!(
        removal.moved,
        [Tag::new("v1").unwrap()],
        "ImageTagDoesNotMatchDigest"
    );
    assert!(removal.refused.is_empty(), "{:?}", removal.refused);
    let state = acct.tags_by_digest("probe/conditional").await;
    assert!(
        state.contains(&(a.to_string(), vec!["keep".into()])),
        "{state:?}"
    );
    assert!(
        state.contains(&(b.to_string(), vec!["v1".into()])),
        "{state:?}"
    );
}

#[tokio::test]
async fn describe_images_lists_active_images_unless_the_status_filter_says_otherwise() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("probe/archive").await;
    let (old, _) = acct.push("probe/archive", "old", Some("v0")).await;
    acct.push("probe/archive", "new", Some("v1")).await;
    acct.archive_image("probe/archive", &old, 10, false).await;
    let stock = acct
        .clients
        .ecr
        .describe_images()
        .repository_name("probe/archive")
        .send()
        .await
        .unwrap();
    assert_eq!(stock.image_details().len(), 1, "ACTIVE only by default");
    let registry = EcrRegistry::new(acct.clients.ecr.clone());
    let page = warden_core::ports::ImageCatalog::images(&registry, &name("probe/archive"), None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2, "the adapter asks for every status");
    let archived = page.items.iter().find(|i| i.digest == old).unwrap();
    assert_eq!(archived.status.as_deref(), Some("ARCHIVED"));
    assert!(archived.archived_at.is_some());
}

#[tokio::test]
async fn batch_get_image_results_are_matched_by_digest_not_by_the_echoed_id() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("probe/echo").await;
    let (a, _) = acct.push("probe/echo", "a", Some("v1")).await;
    acct.push("probe/echo", "a", Some("latest")).await;
    // ECR answers the id asked by digest with a tag in it as well.
    acct.ecr_options(json!({"echo_tags_for_digest_ids": true}))
        .await;
    let registry = EcrRegistry::new(acct.clients.ecr.clone());
    let view = registry
        .image_and_tags(&name("probe/echo"), &a, &[Tag::new("latest").unwrap()])
        .await
        .unwrap();
    assert_eq!(
        view.manifest.map(|m| m.digest),
        Some(a.clone()),
        "the manifest is found by digest"
    );
    assert_eq!(view.tags, vec![(Tag::new("latest").unwrap(), Some(a))]);
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
