//! What the probe asks ECR, one behaviour each: the reading ECR shows, and whether ecr-warden's
//! promise holds under it — checked live through the adapters the functions use where it can be.

use anyhow::Context as _;
use aws_sdk_ecr::types::ImageIdentifier;
use warden_core::mutability::{MutabilityMode, TagMutability};
use warden_core::names::{Digest, ExclusionFilter, RepositoryName, Tag};
use warden_core::ports::{ImageManifests, PortError};
use warden_core::records::Manifest;

use super::image::{OCI_MANIFEST, by_digest, prepare, push, put, upload_blob};
use super::{Observation, Probe, Promise};

/// The artifactType of the referrer the probe pushes.
const PROBE_ARTIFACT_TYPE: &str = "application/vnd.ecr-warden.probe.v1";

/// The filter the exclusion repository is created with.
pub(super) const EXCLUSION_FILTER: &str = "ex";

fn name(raw: &str) -> anyhow::Result<RepositoryName> {
    Ok(RepositoryName::new(raw)?)
}

fn tag(raw: &str) -> anyhow::Result<Tag> {
    Ok(Tag::new(raw)?)
}

impl Probe {
    /// The image's tags now, sorted, `None` when it is gone (the adapter's DescribeImages by
    /// digest).
    async fn tags_now(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> anyhow::Result<Option<Vec<String>>> {
        let tags = self.registry.tags_of(&name(repository)?, digest).await?;
        Ok(tags.map(|tags| {
            let mut tags: Vec<String> = tags.iter().map(|t| t.as_str().to_owned()).collect();
            tags.sort();
            tags
        }))
    }

    /// A digest and a tag in one BatchDeleteImage id: the whole image, or only the tag?
    pub(super) async fn batch_delete_digest_and_tag(&self) -> anyhow::Result<Observation> {
        let repo = &self.mutable;
        let a = push(&self.ecr, repo, "bd", "bd-1").await?;
        put(&self.ecr, repo, &a.manifest, "bd-2")
            .await
            .context("ecr:PutImage")?;
        let id = ImageIdentifier::builder()
            .image_digest(a.digest.as_str())
            .image_tag("bd-1")
            .build();
        self.ecr
            .batch_delete_image()
            .repository_name(repo)
            .image_ids(id)
            .send()
            .await
            .context("ecr:BatchDeleteImage")?;
        let reading = match self.tags_now(repo, &a.digest).await?.as_deref() {
            None => Some("image"),
            Some([only]) if only == "bd-2" => Some("tag"),
            _ => None,
        };
        // The promise: tag removal never deletes the image (ecr-warden names no digest in it).
        let c = push(&self.ecr, repo, "bd-c", "keep").await?;
        put(&self.ecr, repo, &c.manifest, "drop")
            .await
            .context("ecr:PutImage")?;
        self.registry
            .remove_tags(&name(repo)?, &c.digest, &[tag("drop")?])
            .await?;
        let left = self.tags_now(repo, &c.digest).await?;
        let holds = left.as_deref() == Some(&["keep".to_owned()][..]);
        Ok(Observation::new(
            "batch_delete_digest_and_tag",
            reading,
            Promise::from(holds),
            match left {
                Some(tags) => {
                    format!("ecr-warden's tag removal (by tag alone) left the image with {tags:?}")
                }
                None => "ecr-warden's tag removal deleted the image".to_owned(),
            },
        ))
    }

    /// The imageId BatchGetImage answers an id asked by digest alone with.
    pub(super) async fn batch_get_image_id(&self) -> anyhow::Result<Observation> {
        let repo = &self.mutable;
        let g = push(&self.ecr, repo, "bg", "bg-1").await?;
        let out = self
            .ecr
            .batch_get_image()
            .repository_name(repo)
            .image_ids(by_digest(&g.digest))
            .accepted_media_types(OCI_MANIFEST)
            .send()
            .await
            .context("ecr:BatchGetImage")?;
        let echoed = out
            .images()
            .first()
            .and_then(|i| i.image_id())
            .map(|i| i.image_tag());
        let (reading, answered) = match echoed {
            Some(None) => (Some("as_asked"), "the digest only".to_owned()),
            Some(Some(t)) => (Some("with_tag"), format!("the digest and tag {t}")),
            None => (None, "no image".to_owned()),
        };
        let view = self
            .registry
            .image_and_tags(&name(repo)?, &g.digest, &[tag("bg-1")?])
            .await?;
        let holds = view.manifest.map(|m| m.digest) == Some(g.digest.clone())
            && view.tags == [(tag("bg-1")?, Some(g.digest.clone()))];
        Ok(Observation::new(
            "batch_get_image_id",
            reading,
            Promise::from(holds),
            format!(
                "an id asked by digest was answered with {answered}; ecr-warden matched the manifest and the tag by digest"
            ),
        ))
    }

    /// The manifest an immutable tag already points at, put again under that tag.
    pub(super) async fn put_image_same_tag_immutable(&self) -> anyhow::Result<Observation> {
        let repo = &self.immutable;
        let i = push(&self.ecr, repo, "im", "v1").await?;
        let again = put(&self.ecr, repo, &i.manifest, "v1").await;
        let reading = match again.as_ref().err().and_then(|e| e.as_service_error()) {
            Some(e) if e.is_image_already_exists_exception() => Some("image_exists"),
            Some(e) if e.is_image_tag_already_exists_exception() => Some("tag_exists"),
            _ => None,
        };
        let manifest = Manifest {
            digest: i.digest.clone(),
            media_type: Some(OCI_MANIFEST.to_owned()),
            bytes: i.manifest.clone(),
        };
        let adapter = self
            .registry
            .put_tag(&name(repo)?, &manifest, &tag("v1")?)
            .await;
        let holds = matches!(adapter, Err(PortError::ImageAlreadyExists { .. }));
        Ok(Observation::new(
            "put_image_same_tag_immutable",
            reading,
            Promise::from(holds),
            format!(
                "ECR answered {}; ecr-warden read it as {}",
                again.map_or_else(|e| one_line(&e), |()| "success".to_owned()),
                adapter.map_or_else(|e| e.to_string(), |_| "a new tag".to_owned())
            ),
        ))
    }

    /// Where an exclusion filter meets a tag: the whole tag, its start, or anywhere.
    pub(super) async fn exclusion_filter_anchoring(&self) -> anyhow::Result<Observation> {
        let repo = &self.exclusion;
        let mut mutable = Vec::new();
        // `v1` meets the filter under no reading: ecr-warden calls it immutable, ECR must agree.
        for (n, t) in ["ex", "ex-1", "pre-ex", "v1"].into_iter().enumerate() {
            push(&self.ecr, repo, &format!("x{n}"), t).await?;
            let other = prepare(&self.ecr, repo, &format!("y{n}")).await?;
            let moved = match put(&self.ecr, repo, &other.manifest, t).await {
                Ok(()) => true,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_image_tag_already_exists_exception()) =>
                {
                    false
                }
                Err(e) => return Err(e).context("ecr:PutImage"),
            };
            mutable.push((t, moved));
        }
        let is = |t: &str| mutable.iter().any(|(x, m)| *x == t && *m);
        let reading = match (is("ex"), is("ex-1"), is("pre-ex"), is("v1")) {
            (true, false, false, false) => Some("exact"),
            (true, true, false, false) => Some("prefix"),
            (true, true, true, false) => Some("substring"),
            _ => None,
        };
        let setting = TagMutability {
            mode: MutabilityMode::ImmutableWithExclusion,
            exclusions: vec![ExclusionFilter::new(EXCLUSION_FILTER)?],
        };
        // ecr-warden leaves a tag to ECR only where ECR refuses to move it.
        let wrong: Vec<&str> = mutable
            .iter()
            .filter(|(t, m)| setting.is_tag_immutable(t) && *m)
            .map(|(t, _)| *t)
            .collect();
        Ok(Observation::new(
            "exclusion_filter_anchoring",
            reading,
            Promise::from(wrong.is_empty()),
            format!(
                "filter `{EXCLUSION_FILTER}`: tags ECR let move {:?}; called immutable by ecr-warden yet moved: {wrong:?}",
                mutable
                    .iter()
                    .filter(|(_, m)| *m)
                    .map(|(t, _)| *t)
                    .collect::<Vec<_>>()
            ),
        ))
    }

    /// What DescribeImages calls an OCI 1.1 artifact's `artifactMediaType`: its config's media
    /// type, or its `artifactType`?
    pub(super) async fn artifact_media_type(&self) -> anyhow::Result<Observation> {
        let repo = &self.mutable;
        let subject = push(&self.ecr, repo, "subject", "subject").await?;
        let base = prepare(&self.ecr, repo, "referrer").await?;
        let mut referrer: serde_json::Value = serde_json::from_str(&base.manifest)?;
        referrer["artifactType"] = serde_json::json!(PROBE_ARTIFACT_TYPE);
        referrer["subject"] = serde_json::json!({
            "mediaType": OCI_MANIFEST, "digest": subject.digest, "size": subject.manifest.len(),
        });
        let referrer = referrer.to_string();
        put(&self.ecr, repo, &referrer, "referrer")
            .await
            .context("ecr:PutImage")?;
        let digest = Digest::of_bytes(referrer.as_bytes());
        let page =
            warden_core::ports::ImageCatalog::images(&self.registry, &name(repo)?, None).await?;
        let entry = page
            .items
            .iter()
            .find(|e| e.digest == digest)
            .context("the referrer is not listed")?;
        let reading = match entry.artifact_media_type.as_deref() {
            Some(PROBE_ARTIFACT_TYPE) => Some("artifact_type"),
            Some("application/vnd.oci.image.config.v1+json") => Some("config"),
            _ => None,
        };
        // janitor ties a referrer to its subject: from subjectManifestDigest, or by reading the
        // manifest (which it does whenever the listed type is not an image config).
        let tied = entry.subject.as_ref() == Some(&subject.digest)
            || warden_core::manifest::needs_manifest(entry);
        Ok(Observation::new(
            "artifact_media_type",
            reading,
            Promise::from(tied),
            format!(
                "artifactMediaType {:?}, subjectManifestDigest {}",
                entry.artifact_media_type,
                entry.subject.as_ref().map_or("absent", |_| "given")
            ),
        ))
    }

    /// GetDownloadUrlForLayer for a layer no image references.
    pub(super) async fn unreferenced_layer_download(&self) -> anyhow::Result<Observation> {
        let digest = upload_blob(
            &self.ecr,
            &self.mutable,
            b"ecr-warden probe: no image names me\n",
        )
        .await?;
        let out = self
            .ecr
            .get_download_url_for_layer()
            .repository_name(&self.mutable)
            .layer_digest(digest.as_str())
            .send()
            .await;
        let reading = match out.as_ref().err().and_then(|e| e.as_service_error()) {
            Some(e) if e.is_layers_not_found_exception() => Some("layers_not_found"),
            Some(e) if e.is_layer_inaccessible_exception() => Some("layer_inaccessible"),
            _ => None,
        };
        let answered = match &out {
            Ok(_) => "a URL".to_owned(),
            Err(e) => one_line(e),
        };
        Ok(Observation::new(
            "unreferenced_layer_download",
            reading,
            Promise::Unknown,
            format!(
                "ECR answered {answered}; nothing to check live: the replicator downloads only layers the manifests it copies name, and fails the copy on either error"
            ),
        ))
    }

    /// A tag pushed onto another image in a mutable repository: what becomes of the image it left?
    pub(super) async fn overwrite_leaves_the_old_image(&self) -> anyhow::Result<Observation> {
        let repo = &self.mutable;
        let first = push(&self.ecr, repo, "ow1", "ow").await?;
        push(&self.ecr, repo, "ow2", "ow").await?;
        let left = self.tags_now(repo, &first.digest).await?;
        let (reading, holds) = match left.as_deref() {
            Some([]) => (Some("untagged"), Promise::Holds),
            None => (Some("deleted"), Promise::Broken),
            Some(_) => (None, Promise::Unknown),
        };
        Ok(Observation::new(
            "overwrite_leaves_the_old_image",
            reading,
            holds,
            "tag-guard points a moved protected tag back at the image it left: that image must still be there".to_owned(),
        ))
    }

    /// Not probed: it would replace the registry's replication configuration.
    pub(super) fn replication_rules_limit() -> Observation {
        Observation::new(
            "replication_rules_limit",
            None,
            Promise::Unknown,
            "not probed: it would replace the registry's replication configuration; ecr-warden writes at most 10 rules, which both readings (10, 25) take".to_owned(),
        )
    }
}

/// An SDK error as one line: the service's code and message.
pub(super) fn one_line<E: std::error::Error + 'static>(error: &E) -> String {
    warden_aws::runtime::errors::one_line(error)
}
