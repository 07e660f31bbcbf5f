//! The copy against real OCI registries: two CNCF distribution registries on 127.0.0.1, test images
//! built as OCI layouts and pushed with skopeo, copied through the OCI distribution API by the
//! replicator's copier, checked byte for byte with `skopeo inspect --raw`.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use warden_aws::adapters::replication::{Copy, ImageCopier, OciRegistry};
use warden_core::names::{Digest, RepositoryName, Tag};
use warden_tests::registry::{Distribution, Layout};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn layer(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_mul(31).wrapping_add((i % 253) as u8))
        .collect()
}

fn registry(r: &Distribution) -> OciRegistry {
    OciRegistry::new(&r.base, None, warden_tests::http())
}

async fn copy(
    from: &Distribution,
    to: &Distribution,
    repository: &str,
    digest: &Digest,
    tags: &[&str],
) -> warden_core::replicate::image::CopyReport {
    let repository = RepositoryName::new(repository).unwrap();
    let tags: Vec<Tag> = tags.iter().map(|t| Tag::new(*t).unwrap()).collect();
    let destination = registry(to);
    ImageCopier::new(4)
        .unwrap()
        .copy(
            &registry(from),
            &Copy {
                repository: &repository,
                digest,
                tags: &tags,
                destination: &destination,
                destination_repository: &repository,
                mutability: None,
            },
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn an_image_and_a_multi_arch_index_copy_byte_identical_between_two_distribution_registries() {
    let a = Distribution::start();
    let b = Distribution::start();
    let mut layout = Layout::new();
    // A 3-layer image; one layer spans two 10 MiB parts.
    let (image, size) = layout.image(
        "amd64",
        &[layer(1, 11 * 1024 * 1024), layer(2, 70_000), layer(3, 900)],
    );
    layout.tag("v1", &image, size, OCI_MANIFEST);
    let (amd, amd_size) = layout.image("amd64", &[layer(4, 5000)]);
    let (arm, arm_size) = layout.image("arm64", &[layer(5, 6000)]);
    let (index, index_size) = layout.index(&[
        (amd.clone(), amd_size, "amd64"),
        (arm.clone(), arm_size, "arm64"),
    ]);
    layout.tag("v2", &index, index_size, OCI_INDEX);
    layout.push("v1", &a, "team/app");
    layout.push("v2", &a, "team/app");
    assert_eq!(
        Digest::of_bytes(a.inspect_raw("team/app:v1").as_bytes()),
        image,
        "skopeo kept the digest"
    );

    let report = copy(&a, &b, "team/app", &image, &["v1"]).await;
    assert_eq!(
        (report.layers_copied, report.layers_skipped),
        (4, 0),
        "3 layers + config"
    );
    assert_eq!(b.inspect_raw("team/app:v1"), a.inspect_raw("team/app:v1"));

    let report = copy(&a, &b, "team/app", &index, &["v2"]).await;
    assert_eq!(report.layers_copied, 4, "each child's layer and config");
    assert_eq!(report.manifests_put, 3, "2 children, then the index");
    assert_eq!(b.inspect_raw("team/app:v2"), a.inspect_raw("team/app:v2"));
    for child in [&amd, &arm] {
        let reference = format!("team/app@{child}");
        assert_eq!(b.inspect_raw(&reference), a.inspect_raw(&reference));
    }

    // Again: every blob is there, every manifest too: 0 bytes.
    let again = copy(&a, &b, "team/app", &index, &["v2"]).await;
    assert_eq!(
        (
            again.bytes_copied,
            again.layers_copied,
            again.manifests_present
        ),
        (0, 0, 3)
    );
    drop(layout);
}
