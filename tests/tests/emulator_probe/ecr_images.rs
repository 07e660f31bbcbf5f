//! ECR's images and tags: digests, overwrites, immutability and its exclusion filters, missing
//! repositories, layer uploads, tag removal, BatchGetImage results.

use super::*;

/// Cites ImageIdentifier.imageDigest (Amazon ECR API Reference): "The sha256 digest of the image
/// manifest." — for an index as for an image; and ImageDetail.imageSizeInBytes: "If the image is a
/// manifest list, this will be the max size of all manifests in the list."
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
    let sizes = acct
        .clients
        .ecr
        .describe_images()
        .repository_name("probe/digest")
        .send()
        .await
        .unwrap();
    let size_of = |d: &str| {
        let detail = sizes
            .image_details()
            .iter()
            .find(|i| i.image_digest() == Some(d));
        detail.and_then(|i| i.image_size_in_bytes()).unwrap()
    };
    assert_eq!(
        size_of(index_digest),
        size_of(amd.as_str()).max(size_of(arm.as_str())),
        "an index's size is its largest manifest's"
    );
}

/// Cites "Preventing image tags from being overwritten in Amazon ECR" (Amazon ECR User Guide):
/// "After tag immutability is turned on, the ImageTagAlreadyExistsException error is returned if
/// you push an image with a tag that is already in the repository."
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

/// Cites ImageTagMutabilityExclusionFilter (Amazon ECR API Reference): "Pattern:
/// ^[0-9a-zA-Z._*-]{1,128}$", filter type "Valid Values: WILDCARD", and the user guide's "use
/// wildcards (*) to match multiple similar tags": `*` is a valid filter and `v*` exempts `v1`.
/// Where a filter meets a tag (whole, start, anywhere) is a reading: see tests/tests/readings.rs.
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
    acct.push("probe/exclusions", "a", Some("latest")).await;
    let second = acct
        .clients
        .ecr
        .put_image()
        .repository_name("probe/exclusions")
        .image_manifest(warden_tests::image_manifest("c"))
        .image_tag("latest")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            second.as_service_error(),
            Some(PutImageError::ImageTagAlreadyExistsException(_))
        ),
        "latest meets v* under no reading: immutable: {second:?}"
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

/// Cites PutImage's errors (Amazon ECR API Reference), RepositoryNotFoundException: "The specified
/// repository could not be found."
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

/// Cites the GetDownloadUrlForLayer reference (Amazon ECR API Reference): "Retrieves the pre-signed
/// Amazon S3 download URL corresponding to an image layer. You can only get URLs for image layers
/// that are referenced in an image." — and CompleteLayerUpload's "You can optionally provide a
/// sha256 digest of the image layer for data validation purposes": the bytes come back as sent.
#[tokio::test]
async fn a_layer_uploaded_in_parts_downloads_byte_identical_once_an_image_references_it() {
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
    let unreferenced = acct
        .clients
        .ecr
        .get_download_url_for_layer()
        .repository_name("probe/layers")
        .layer_digest(digest.as_str())
        .send()
        .await;
    assert!(
        unreferenced.is_err(),
        "no image references the layer yet: no URL"
    );
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": warden_tests::OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest, "size": blob.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": blob.len()}],
    })
    .to_string();
    acct.push_manifest(
        "probe/layers",
        &manifest,
        warden_tests::OCI_MANIFEST,
        Some("v1"),
    )
    .await;
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

/// Cites the BatchDeleteImage reference (Amazon ECR API Reference): "You can remove a tag from an
/// image by specifying the image's tag in your request. When you remove the last tag from an image,
/// the image is deleted from your repository."
#[tokio::test]
async fn a_tag_alone_removes_that_tag_and_the_last_tag_takes_the_image() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("probe/untag").await;
    let (a, _) = acct.push("probe/untag", "a", Some("v1")).await;
    acct.push("probe/untag", "a", Some("keep")).await;
    let (b, _) = acct.push("probe/untag", "b", Some("only")).await;
    let out = acct
        .clients
        .ecr
        .batch_delete_image()
        .repository_name("probe/untag")
        .image_ids(ImageIdentifier::builder().image_tag("v1").build())
        .image_ids(ImageIdentifier::builder().image_tag("only").build())
        .send()
        .await
        .unwrap();
    assert!(out.failures().is_empty(), "{:?}", out.failures());
    let removed: Vec<(Option<&str>, Option<&str>)> = out
        .image_ids()
        .iter()
        .map(|i| (i.image_tag(), i.image_digest()))
        .collect();
    assert!(
        removed.contains(&(Some("v1"), Some(a.as_str()))),
        "{removed:?}"
    );
    assert!(
        removed.contains(&(Some("only"), Some(b.as_str()))),
        "{removed:?}"
    );
    let state = acct.tags_by_digest("probe/untag").await;
    assert_eq!(
        state,
        [(a.to_string(), vec!["keep".to_owned()])],
        "b went with its last tag"
    );
}

/// Cites the BatchDeleteImage reference (Amazon ECR API Reference): "You can completely delete an
/// image (and all of its tags) by specifying the image's digest in your request."
#[tokio::test]
async fn a_digest_alone_deletes_the_image_and_all_its_tags() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("probe/delete").await;
    let (a, _) = acct.push("probe/delete", "a", Some("v1")).await;
    acct.push("probe/delete", "a", Some("latest")).await;
    let (b, _) = acct.push("probe/delete", "b", Some("v2")).await;
    acct.clients
        .ecr
        .batch_delete_image()
        .repository_name("probe/delete")
        .image_ids(ImageIdentifier::builder().image_digest(a.as_str()).build())
        .send()
        .await
        .unwrap();
    let state = acct.tags_by_digest("probe/delete").await;
    assert_eq!(state, [(b.to_string(), vec!["v2".to_owned()])]);
}
