//! What janitor reads of one repository before planning: every image (DescribeImages pages, any
//! storage class), what is in use there by digest, and the structure that ties images together
//! (indexes and their children, artifacts and their subjects).

use std::collections::HashMap;

use super::decide::{InUse, Structure};
use crate::image_ref::{Reference, parse_image_uri};
use crate::manifest::{manifest_links, needs_manifest, subject_from_tag};
use crate::names::{AccountId, Digest, Region, RepositoryName, Tag};
use crate::ports::{ImageCatalog, ImageManifests, MAX_BATCH_GET_IMAGE_IDS, PortError};
use crate::records::ImageEntry;

use super::Progress;

/// In-use references of one repository: by digest and by tag, each with who uses it.
pub type RepositoryRefs = HashMap<Reference, String>;

/// Group references by repository, keeping only those into this account and region.
pub fn refs_by_repository(
    refs: &[(String, String)],
    account: &AccountId,
    region: &Region,
) -> HashMap<RepositoryName, RepositoryRefs> {
    let mut out: HashMap<RepositoryName, RepositoryRefs> = HashMap::new();
    for (uri, why) in refs {
        if let Some(r) =
            parse_image_uri(uri).filter(|r| &r.account == account && &r.region == region)
        {
            out.entry(r.repository)
                .or_default()
                .entry(r.reference)
                .or_insert_with(|| why.clone());
        }
    }
    out
}

/// Every image of the repository: ⌈N/1000⌉ DescribeImages, progress told per page.
pub(super) async fn listing(
    catalog: &dyn ImageCatalog,
    repository: &RepositoryName,
    progress: &dyn Progress,
) -> Result<Vec<ImageEntry>, PortError> {
    let mut entries: Vec<ImageEntry> = Vec::new();
    let mut next = None;
    loop {
        let page = catalog.images(repository, next).await?;
        entries.extend(page.items);
        progress.images_listed(entries.len());
        next = page.next;
        if next.is_none() {
            return Ok(entries);
        }
    }
}

/// What is in use here, by digest: digest references (exact, and what deployments pinned) first,
/// then tags resolved against the listing, so that the reason shown for an image does not depend
/// on iteration order.
pub(super) fn in_use(entries: &[ImageEntry], refs: &RepositoryRefs) -> InUse {
    let mut in_use = InUse::new();
    let tag_owner: HashMap<&Tag, &Digest> = entries
        .iter()
        .flat_map(|e| e.tags.iter().map(move |t| (t, &e.digest)))
        .collect();
    let mut ordered: Vec<(&Reference, &String)> = refs.iter().collect();
    ordered.sort_by_key(|(reference, why)| (matches!(reference, Reference::Tag(_)), why.as_str()));
    for (reference, why) in ordered {
        let digest = match reference {
            Reference::Digest(d) => Some(d),
            Reference::Tag(t) => tag_owner.get(t).copied(),
        };
        if let Some(d) = digest {
            in_use.entry(d.clone()).or_insert_with(|| why.clone());
        }
    }
    in_use
}

/// Indexes' children and artifacts' subjects: manifests of indexes and artifacts, 100 per
/// BatchGetImage; a subject named by the listing (`subject`) or by a cosign tag otherwise.
pub(super) async fn structure(
    images: &dyn ImageManifests,
    repository: &RepositoryName,
    entries: &[ImageEntry],
) -> Result<Structure, PortError> {
    let mut structure = Structure::default();
    let wanted: Vec<Digest> = entries
        .iter()
        .filter(|e| needs_manifest(e))
        .map(|e| e.digest.clone())
        .collect();
    for chunk in wanted.chunks(MAX_BATCH_GET_IMAGE_IDS) {
        for manifest in images.manifests(repository, chunk).await? {
            let (children, subject) = manifest_links(&manifest.bytes);
            if !children.is_empty() {
                structure.children.insert(manifest.digest.clone(), children);
            }
            if let Some(subject) = subject {
                structure.subjects.insert(manifest.digest.clone(), subject);
            }
        }
    }
    for entry in entries {
        let named = entry.subject.clone();
        if let Some(subject) = named.or_else(|| entry.tags.iter().find_map(subject_from_tag)) {
            structure
                .subjects
                .entry(entry.digest.clone())
                .or_insert(subject);
        }
    }
    Ok(structure)
}
