//! Which image holds a tag, read the way ECR documents it (DescribeImages' `imageTags` of an image
//! named by digest or tag), and tag removal that never names a digest.
//!
//! ECR's BatchDeleteImage reference: "You can completely delete an image (and all of its tags) by
//! specifying the image's digest in your request." Whether an id holding a digest *and* a tag
//! removes only the tag is nowhere written, so tags are removed by tag alone, after checking that
//! the image still holds them, and checked again after (docs/emulator.md, docs/invariants.md #3).

use std::collections::HashMap;

use aws_sdk_ecr::operation::batch_delete_image::BatchDeleteImageOutput;
use aws_sdk_ecr::operation::describe_images::DescribeImagesError;
use aws_sdk_ecr::types::{ImageDetail, ImageIdentifier};
use warden_core::names::{Digest, RepositoryName, Tag};
use warden_core::ports::PortError;
use warden_core::records::TagRemoval;

use super::{EcrRegistry, MAX_BATCH_DELETE_IDS, invalid, tags_in};
use crate::runtime::errors::port_error;

const DESCRIBE: &str = "ecr:DescribeImages";
const DELETE: &str = "ecr:BatchDeleteImage";

impl EcrRegistry {
    /// One DescribeImages by image ids; `None` when ECR refuses the call because an id names no
    /// image (`ImageNotFoundException` fails the whole call).
    async fn described(
        &self,
        repository: &RepositoryName,
        ids: Vec<ImageIdentifier>,
    ) -> Result<Option<Vec<ImageDetail>>, PortError> {
        let out = self
            .client
            .describe_images()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository.as_str())
            .set_image_ids(Some(ids))
            .send()
            .await;
        match out {
            Ok(out) => Ok(Some(out.image_details.unwrap_or_default())),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DescribeImagesError::ImageNotFoundException(_))
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(port_error(DESCRIBE, e)),
        }
    }

    /// The image's current tags (`None` if it is gone). One DescribeImages by digest.
    pub(super) async fn current_tags(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<Vec<Tag>>, PortError> {
        let id = ImageIdentifier::builder()
            .image_digest(digest.as_str())
            .build();
        let Some(details) = self.described(repository, vec![id]).await? else {
            return Ok(None);
        };
        details
            .iter()
            .find(|d| d.image_digest() == Some(digest.as_str()))
            .map(|d| tags_in(d.image_tags(), DESCRIBE))
            .transpose()
    }

    /// The current tags of each image (`None` for one that is gone), in the order asked: one
    /// DescribeImages (at most 100 digests), or one per image when one of them is gone.
    pub(super) async fn current_tags_of_each(
        &self,
        repository: &RepositoryName,
        digests: &[Digest],
    ) -> Result<Vec<Option<Vec<Tag>>>, PortError> {
        if digests.is_empty() {
            return Ok(Vec::new());
        }
        if digests.len() > MAX_BATCH_DELETE_IDS {
            return Err(invalid(
                DESCRIBE,
                format!("{} ids, the limit is 100", digests.len()),
            ));
        }
        let ids = digests
            .iter()
            .map(|d| ImageIdentifier::builder().image_digest(d.as_str()).build())
            .collect();
        let Some(details) = self.described(repository, ids).await? else {
            let mut each = Vec::with_capacity(digests.len());
            for digest in digests {
                each.push(self.current_tags(repository, digest).await?);
            }
            return Ok(each);
        };
        let mut found: HashMap<&str, Vec<Tag>> = HashMap::new();
        for detail in &details {
            let tags = tags_in(detail.image_tags(), DESCRIBE)?;
            found.insert(detail.image_digest().unwrap_or_default(), tags);
        }
        Ok(digests
            .iter()
            .map(|d| found.get(d.as_str()).cloned())
            .collect())
    }

    /// The image `tag` is on now (`None` when no image has it): one DescribeImages by tag, the
    /// answer taken from the image's `imageTags`, not from the shape of any echoed id.
    pub(super) async fn tag_owner(
        &self,
        repository: &RepositoryName,
        tag: &Tag,
    ) -> Result<Option<Digest>, PortError> {
        let id = ImageIdentifier::builder().image_tag(tag.as_str()).build();
        let Some(details) = self.described(repository, vec![id]).await? else {
            return Ok(None);
        };
        details
            .iter()
            .find(|d| d.image_tags().iter().any(|t| t == tag.as_str()))
            .map(|d| Digest::new(d.image_digest().unwrap_or_default()))
            .transpose()
            .map_err(|e| invalid(DESCRIBE, e))
    }

    /// Which of the `found` images (a read by `tags` found them) holds each of `tags`: one
    /// DescribeImages of those digests, whose `imageTags` say it. `None` for a tag none of them
    /// holds (gone, or moved to another image since the read).
    pub(super) async fn owners_among(
        &self,
        repository: &RepositoryName,
        tags: &[Tag],
        mut found: Vec<Digest>,
    ) -> Result<Vec<(Tag, Option<Digest>)>, PortError> {
        found.sort();
        found.dedup();
        let current = self.current_tags_of_each(repository, &found).await?;
        Ok(tags
            .iter()
            .map(|tag| {
                let owner = found
                    .iter()
                    .zip(&current)
                    .find(|(_, held)| held.as_ref().is_some_and(|h| h.contains(tag)))
                    .map(|(d, _)| d.clone());
                (tag.clone(), owner)
            })
            .collect())
    }

    /// Remove `tags` from the image `digest` without naming the digest in the delete:
    /// 1. just before: which of `tags` the image holds now (one DescribeImages by digest); the
    ///    others are left alone (`moved`); none is removed if that would take the image's last tag;
    /// 2. one BatchDeleteImage of tag-only ids (at most 100);
    /// 3. the response names the image each tag was removed from: one removed from another image
    ///    (pushed there between 1 and 2) is reported in `raced`;
    /// 4. just after: one DescribeImages by digest, whose tags decide: a tag still on the image is
    ///    `refused` (with ECR's reason when it gave one), one ECR refused that is no longer there
    ///    moved (`moved`); the image being gone is an error (nothing asked for that).
    pub(super) async fn remove_held_tags(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        tags: &[Tag],
    ) -> Result<TagRemoval, PortError> {
        let mut removal = TagRemoval::default();
        if tags.is_empty() {
            return Ok(removal);
        }
        if tags.len() > MAX_BATCH_DELETE_IDS {
            return Err(invalid(
                DELETE,
                format!("{} ids, the limit is {MAX_BATCH_DELETE_IDS}", tags.len()),
            ));
        }
        let Some(held) = self.current_tags(repository, digest).await? else {
            removal.moved = tags.to_vec();
            return Ok(removal);
        };
        let (ours, moved): (Vec<Tag>, Vec<Tag>) =
            tags.iter().cloned().partition(|t| held.contains(t));
        removal.moved = moved;
        if ours.is_empty() {
            return Ok(removal);
        }
        if held.iter().all(|t| ours.contains(t)) {
            removal.refused = last_tag_refusals(ours);
            return Ok(removal);
        }
        let ids = ours
            .iter()
            .map(|t| ImageIdentifier::builder().image_tag(t.as_str()).build())
            .collect();
        let out = self.batch_delete(repository, ids).await?;
        removal.raced = raced_elsewhere(&out, &ours, digest)?;
        let reasons = failure_reasons(&out, &ours)?;
        // Just after: the image's own tags are the authority. A tag still on it was not removed
        // (with ECR's reason, when it gave one); a refused tag that is no longer on it moved.
        let Some(after) = self.current_tags(repository, digest).await? else {
            return Err(invalid(
                DELETE,
                format!("{repository}@{digest} is gone after its tags were removed by tag"),
            ));
        };
        settle_after(&mut removal, &ours, &after, &reasons);
        Ok(removal)
    }
}

/// Each of `ours` refused: together they are the image's last tags.
fn last_tag_refusals(ours: Vec<Tag>) -> Vec<(Tag, String)> {
    ours.into_iter()
        .map(|t| {
            (
                t,
                "it is the image's last tag: removing it would delete the image".to_owned(),
            )
        })
        .collect()
}

/// Each of `ours` the delete's response says it took from an image other than `digest`, and whose.
fn raced_elsewhere(
    out: &BatchDeleteImageOutput,
    ours: &[Tag],
    digest: &Digest,
) -> Result<Vec<(Tag, Digest)>, PortError> {
    let mut raced = Vec::new();
    for id in out.image_ids() {
        let (Some(tag), Some(from)) = (id.image_tag(), id.image_digest()) else {
            continue;
        };
        if from != digest.as_str() {
            if let Some(tag) = ours.iter().find(|t| t.as_str() == tag) {
                let other = Digest::new(from).map_err(|e| invalid(DELETE, e))?;
                raced.push((tag.clone(), other));
            }
        }
    }
    Ok(raced)
}

/// ECR's `code reason` for each of `ours` it refused; a failure for an id not asked is an error.
fn failure_reasons<'a>(
    out: &'a BatchDeleteImageOutput,
    ours: &[Tag],
) -> Result<HashMap<&'a str, String>, PortError> {
    let mut reasons: HashMap<&str, String> = HashMap::new();
    for f in out.failures() {
        let code = f.failure_code().map(|c| c.as_str()).unwrap_or_default();
        let tag = f.image_id().and_then(|i| i.image_tag());
        let Some(tag) = tag.filter(|t| ours.iter().any(|x| x.as_str() == *t)) else {
            return Err(invalid(
                DELETE,
                format!("a failure for an id not asked: {code}"),
            ));
        };
        reasons.insert(
            tag,
            format!("{code} {}", f.failure_reason().unwrap_or_default()),
        );
    }
    Ok(reasons)
}

/// Each of `ours` by the tags `after`: still on is `refused`; refused, gone and not raced `moved`.
fn settle_after(
    removal: &mut TagRemoval,
    ours: &[Tag],
    after: &[Tag],
    reasons: &HashMap<&str, String>,
) {
    for tag in ours {
        if after.contains(tag) {
            let reason = reasons.get(tag.as_str()).cloned();
            let reason =
                reason.unwrap_or_else(|| "still on the image after BatchDeleteImage".to_owned());
            removal.refused.push((tag.clone(), reason));
        } else if reasons.contains_key(tag.as_str()) && !removal.raced.iter().any(|(t, _)| t == tag)
        {
            removal.moved.push(tag.clone());
        }
    }
}
