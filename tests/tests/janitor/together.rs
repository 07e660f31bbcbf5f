//! Images that go together: an index and its children (index first), referrers after their
//! subject, archived subjects that keep their referrers.

use super::*;

#[tokio::test]
async fn an_index_and_its_children_go_together_index_first_and_referrers_after() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("svc/multi").await;
    let (c1, _) = acct.push("svc/multi", "old-amd64", None).await;
    let (c2, _) = acct.push("svc/multi", "old-arm64", None).await;
    let (i1, _) = acct
        .push_manifest(
            "svc/multi",
            &image_index(&[(&c1, "amd64"), (&c2, "arm64")]),
            OCI_INDEX,
            Some("build-1"),
        )
        .await;
    let (c3, _) = acct.push("svc/multi", "new-amd64", None).await;
    let (c4, _) = acct.push("svc/multi", "new-arm64", None).await;
    let (i2, _) = acct
        .push_manifest(
            "svc/multi",
            &image_index(&[(&c3, "amd64"), (&c4, "arm64")]),
            OCI_INDEX,
            Some("build-2"),
        )
        .await;
    // An OCI referrer (signature) of the old index, and a cosign-tagged signature of the new one.
    let signature = |subject: &Digest| {
        json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
               "config": {"mediaType": "application/vnd.dev.cosign.artifact.sig.v1+json", "digest": Digest::of_bytes(b"sig-config"), "size": 233},
               "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": Digest::of_bytes(subject.as_str().as_bytes()), "size": 250}],
               "subject": {"mediaType": OCI_INDEX, "digest": subject, "size": 512}})
        .to_string()
    };
    let (s1, _) = acct
        .push_manifest("svc/multi", &signature(&i1), OCI_MANIFEST, None)
        .await;
    let cosign_tag = format!("sha256-{}.sig", &i2.as_str()[7..]);
    let (s2, _) = acct
        .push_manifest(
            "svc/multi",
            &signature(&i2),
            OCI_MANIFEST,
            Some(&cosign_tag),
        )
        .await;
    // An untagged OCI referrer of the new index: the untagged rule would expire it; its kept
    // subject keeps it.
    let attestation = signature(&i2).replace("sig.v1", "att.v1");
    let (s3, _) = acct
        .push_manifest("svc/multi", &attestation, OCI_MANIFEST, None)
        .await;
    let old = 30 * DAY;
    acct.age_images(
        "svc/multi",
        &[
            (&s3, 2 * DAY, None),
            (&c1, old, None),
            (&c2, old, None),
            (&i1, old, None),
            (&s1, old, None),
            (&c3, 2 * DAY, None),
            (&c4, 2 * DAY, None),
            (&i2, 2 * DAY, None),
            (&s2, 2 * DAY, None),
        ],
    )
    .await;

    let (report, made) = run(&acct, policy(KEEP_ONE_BUILD), None).await;
    let plan = &report["repositories"][0]["plan"];
    assert_eq!(
        plan["delete"],
        json!([i1, c1, c2, s1]),
        "index, then its children, then its referrer: {report}"
    );
    assert_eq!(
        report["errors"],
        json!([]),
        "ECR refused nothing (it refuses a child an index still references)"
    );
    assert_eq!(
        made.get("ECR.BatchDeleteImage"),
        Some(&3),
        "one batch per group, in order: {made:?}"
    );
    let left = digests_left(&acct.tags_by_digest("svc/multi").await);
    let mut expected: Vec<String> = [&c3, &c4, &i2, &s2, &s3]
        .iter()
        .map(|d| d.to_string())
        .collect();
    expected.sort();
    assert_eq!(left, expected);
    assert!(
        plan["keep"][c3.as_str()]
            .as_str()
            .unwrap()
            .starts_with("child of kept index")
    );
    assert!(
        plan["keep"][s3.as_str()]
            .as_str()
            .unwrap()
            .starts_with("referrer of kept image")
    );
    assert_eq!(
        plan["keep"][s2.as_str()],
        "no rule selects it",
        "the cosign-tagged signature matches no tag rule"
    );
}

#[tokio::test]
async fn the_emulator_refuses_a_child_before_its_index() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("svc/order").await;
    let (c1, _) = acct.push("svc/order", "amd64", None).await;
    acct.push_manifest(
        "svc/order",
        &image_index(&[(&c1, "amd64")]),
        OCI_INDEX,
        Some("v1"),
    )
    .await;
    let out = acct
        .clients
        .ecr
        .batch_delete_image()
        .repository_name("svc/order")
        .image_ids(
            aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_digest(c1.as_str())
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.failures()[0].failure_code().unwrap().as_str(),
        "ImageReferencedByManifestList"
    );
}

/// Archived images are listed (ECR lists ACTIVE only by default): an archived image is never an
/// expiry rule's (ECR's rules select the standard storage class), and the old untagged referrer of
/// that archived subject — which the untagged rule expires — stays with it. Listing ACTIVE images
/// only, janitor did not see the subject and deleted the referrer.
#[tokio::test]
async fn archived_images_are_listed_and_keep_their_referrers() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("svc/archive").await;
    let (subject, _) = acct.push("svc/archive", "subject", None).await;
    let sbom = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/spdx+json", "digest": Digest::of_bytes(b"sbom"), "size": 10},
        "layers": [{"mediaType": "application/spdx+json", "digest": Digest::of_bytes(b"sbom-layer"), "size": 10}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 512}})
    .to_string();
    let (referrer, _) = acct
        .push_manifest("svc/archive", &sbom, OCI_MANIFEST, None)
        .await;
    acct.age_images("svc/archive", &[(&referrer, 30 * DAY, None)])
        .await;
    acct.archive_image("svc/archive", &subject, 10, false).await;

    let (report, _) = run(&acct, policy(KEEP_ONE_BUILD), None).await;
    let plan = &report["repositories"][0]["plan"];
    assert_eq!(plan["delete"], json!([]), "{report}");
    assert_eq!(plan["keep"][subject.as_str()], "no rule selects it");
    assert!(
        plan["keep"][referrer.as_str()]
            .as_str()
            .unwrap()
            .starts_with("referrer of kept image")
    );
}
