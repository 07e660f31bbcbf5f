//! Where AWS's words fit more than one behaviour, the emulator offers each reading behind a switch
//! (docs/emulator.md). These tests choose every reading in turn, per account, and hold the adapters
//! the functions use to the same promise under each: the suites as a whole also run once per
//! reading set (`make test`).
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use aws_sdk_ecr::types::ImageTagMutability;
use serde_json::json;
use warden_aws::adapters::ecr::EcrRegistry;
use warden_aws::adapters::replication::Put;
use warden_core::names::{Digest, RepositoryName, Tag};
use warden_core::ports::{ImageManifests, PortError};
use warden_core::records::Manifest;
use warden_tests::{Emulator, OCI_MANIFEST, TestAccount, image_manifest};

fn name(s: &str) -> RepositoryName {
    RepositoryName::new(s).unwrap()
}

fn tag(s: &str) -> Tag {
    Tag::new(s).unwrap()
}

fn manifest_of(seed: &str) -> Manifest {
    let bytes = image_manifest(seed);
    Manifest {
        digest: Digest::of_bytes(bytes.as_bytes()),
        media_type: Some(OCI_MANIFEST.into()),
        bytes,
    }
}

/// A fresh account in which `switch` reads as `reading`.
async fn account_reading(switch: &str, reading: &str) -> TestAccount {
    let acct = Emulator::shared().account().await;
    acct.choose_readings(json!({ switch: reading })).await;
    acct
}

/// Tag removal never deletes the image it removes tags from, leaves a tag that moved to another
/// image on that image, and refuses to take an image's last tag — whether a BatchDeleteImage id
/// holding a digest and a tag deletes the image or only the tag.
#[tokio::test]
async fn tags_leave_an_image_without_deleting_it_under_every_batch_delete_reading() {
    for reading in Emulator::shared()
        .readings_of("batch_delete_digest_and_tag")
        .await
    {
        let acct = account_reading("batch_delete_digest_and_tag", &reading).await;
        let repo = "readings/untag";
        acct.create_repository(repo).await;
        for t in ["v1", "gone-soon", "moved", "keep"] {
            acct.push(repo, "a", Some(t)).await;
        }
        let a = manifest_of("a").digest;
        let (b, _) = acct.push(repo, "b", Some("moved")).await;
        let registry = EcrRegistry::new(acct.clients.ecr.clone());
        let asked = [tag("v1"), tag("gone-soon"), tag("moved"), tag("never-was")];
        let removal = registry.remove_tags(&name(repo), &a, &asked).await.unwrap();
        assert_eq!(removal.moved, [tag("moved"), tag("never-was")], "{reading}");
        assert!(
            removal.refused.is_empty(),
            "{reading}: {:?}",
            removal.refused
        );
        assert!(removal.raced.is_empty(), "{reading}: {:?}", removal.raced);
        let state = acct.tags_by_digest(repo).await;
        let mut expected = vec![
            (a.to_string(), vec!["keep".to_owned()]),
            (b.to_string(), vec!["moved".to_owned()]),
        ];
        expected.sort();
        assert_eq!(state, expected, "{reading}");

        let last = registry
            .remove_tags(&name(repo), &a, &[tag("keep")])
            .await
            .unwrap();
        assert_eq!(last.refused.len(), 1, "{reading}: the last tag stays");
        assert_eq!(acct.tags_by_digest(repo).await, expected, "{reading}");
    }
}

/// Which image holds a tag, and which manifest is the image's, come out the same whatever imageId
/// BatchGetImage answers an id asked by digest with (the digest alone, or with one of the image's
/// tags).
#[tokio::test]
async fn tag_owners_and_manifests_are_read_the_same_under_every_batch_get_reading() {
    for reading in Emulator::shared().readings_of("batch_get_image_id").await {
        let acct = account_reading("batch_get_image_id", &reading).await;
        let repo = "readings/owners";
        acct.create_repository(repo).await;
        let (a, _) = acct.push(repo, "a", Some("first")).await;
        acct.push(repo, "a", Some("latest")).await;
        let (b, _) = acct.push(repo, "b", Some("other")).await;
        acct.push(repo, "b", Some("second")).await;
        let registry = EcrRegistry::new(acct.clients.ecr.clone());
        let asked = [tag("latest"), tag("second"), tag("never-was")];
        let view = registry
            .image_and_tags(&name(repo), &a, &asked)
            .await
            .unwrap();
        assert_eq!(
            view.manifest.map(|m| m.digest),
            Some(a.clone()),
            "{reading}"
        );
        assert_eq!(
            view.tags,
            [
                (tag("latest"), Some(a.clone())),
                (tag("second"), Some(b.clone())),
                (tag("never-was"), None),
            ],
            "{reading}"
        );
        let target = registry.tag_target(&name(repo), &tag("second")).await;
        assert_eq!(target.unwrap(), Some(b.clone()), "{reading}");
        let (image, tagged) = registry
            .image_and_tagged(&name(repo), &a, &[tag("other"), tag("never-was")])
            .await
            .unwrap();
        assert_eq!(image.map(|m| m.digest), Some(a.clone()), "{reading}");
        let tagged: Vec<(Tag, Digest)> = tagged.into_iter().map(|(t, m)| (t, m.digest)).collect();
        assert_eq!(tagged, [(tag("other"), b.clone())], "{reading}");
    }
}

/// Putting the manifest an immutable tag already points at, under that tag, is "already there"
/// for the functions whether ECR answers ImageAlreadyExists or ImageTagAlreadyExists; another
/// manifest under that tag is a conflict under both.
#[tokio::test]
async fn the_same_manifest_under_its_immutable_tag_is_already_there_under_every_reading() {
    for reading in Emulator::shared()
        .readings_of("put_image_same_tag_immutable")
        .await
    {
        let acct = account_reading("put_image_same_tag_immutable", &reading).await;
        let repo = "readings/immutable";
        acct.clients
            .ecr
            .create_repository()
            .repository_name(repo)
            .image_tag_mutability(ImageTagMutability::Immutable)
            .send()
            .await
            .unwrap();
        acct.push(repo, "a", Some("v1")).await;
        let registry = EcrRegistry::new(acct.clients.ecr.clone());
        let again = registry
            .put_tag(&name(repo), &manifest_of("a"), &tag("v1"))
            .await
            .unwrap_err();
        assert!(
            matches!(again, PortError::ImageAlreadyExists { .. }),
            "{reading}: {again:?}"
        );
        let other = registry
            .put_tag(&name(repo), &manifest_of("b"), &tag("v1"))
            .await
            .unwrap_err();
        assert!(
            matches!(other, PortError::TagAlreadyExists { .. }),
            "{reading}: {other:?}"
        );
        let put = registry
            .put_manifest(&name(repo), &manifest_of("a"), Some(&tag("v1")))
            .await
            .unwrap();
        assert_eq!(put, Put::Present, "{reading}");
        let put = registry
            .put_manifest(&name(repo), &manifest_of("b"), Some(&tag("v1")))
            .await
            .unwrap();
        assert_eq!(put, Put::TagTaken, "{reading}");
    }
}
