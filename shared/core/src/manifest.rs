//! What a manifest is and what it links to: image, index (multi-arch) or another artifact
//! (signature, SBOM, attestation), its children and its OCI `subject`. Shared by janitor (structure)
//! and scan-gate (only container images are gated).

use serde_json::Value;

use crate::names::{Digest, Tag};
use crate::ports::ImageEntry;

pub const INDEX_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
pub const IMAGE_CONFIG_TYPES: &[&str] = &[
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];

/// Whether janitor must read the image's manifest: indexes (for their children) and artifacts
/// that are not container images (they may be referrers, with a `subject`).
pub fn needs_manifest(entry: &ImageEntry) -> bool {
    let index = entry
        .manifest_media_type
        .as_deref()
        .is_some_and(|t| INDEX_TYPES.contains(&t));
    let artifact = entry
        .artifact_media_type
        .as_deref()
        .is_some_and(|t| !IMAGE_CONFIG_TYPES.contains(&t));
    index || artifact
}

/// Children and subject named by one manifest (children of an index; the OCI `subject`).
pub fn manifest_links(bytes: &str) -> (Vec<Digest>, Option<Digest>) {
    let Ok(value) = serde_json::from_str::<Value>(bytes) else {
        return (Vec::new(), None);
    };
    let children = value["manifests"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|c| Digest::new(c["digest"].as_str()?).ok())
                .collect()
        })
        .unwrap_or_default();
    let subject = value["subject"]["digest"]
        .as_str()
        .and_then(|d| Digest::new(d).ok());
    (children, subject)
}

/// Cosign's tag scheme names the subject: `sha256-<hex>.sig` / `.att` / `.sbom`.
pub fn subject_from_tag(tag: &Tag) -> Option<Digest> {
    let rest = tag.as_str().strip_prefix("sha256-")?;
    let (hex, kind) = rest.split_once('.')?;
    matches!(kind, "sig" | "att" | "sbom").then(|| Digest::new(format!("sha256:{hex}")).ok())?
}

/// The artifact type of a manifest that is not a container image (a signature, SBOM or
/// attestation: an `artifactType`, or a config that is not an image config), `None` for images and
/// indexes — and for bytes that do not parse, which are gated as images (fail safe).
pub fn artifact_type(bytes: &str) -> Option<String> {
    let value: Value = serde_json::from_str(bytes).ok()?;
    if value["manifests"].is_array() {
        return None;
    }
    if let Some(t) = value["artifactType"].as_str() {
        return Some(t.to_owned());
    }
    let config = value["config"]["mediaType"].as_str()?;
    (!IMAGE_CONFIG_TYPES.contains(&config)).then(|| config.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_and_cosign_tags_name_their_links() {
        let child = format!("sha256:{}", "c".repeat(64));
        let index = format!(r#"{{"manifests":[{{"digest":"{child}"}}]}}"#);
        assert_eq!(
            manifest_links(&index).0,
            vec![Digest::new(child.clone()).unwrap()]
        );
        let referrer = format!(r#"{{"subject":{{"digest":"{child}"}}}}"#);
        assert_eq!(
            manifest_links(&referrer).1,
            Some(Digest::new(child).unwrap())
        );
        let sig = Tag::new(format!("sha256-{}.sig", "d".repeat(64))).unwrap();
        assert_eq!(
            subject_from_tag(&sig),
            Digest::new(format!("sha256:{}", "d".repeat(64))).ok()
        );
        assert!(subject_from_tag(&Tag::new("v1").unwrap()).is_none());
    }

    #[test]
    fn signatures_and_sboms_are_artifacts_images_and_indexes_are_not() {
        let sig = r#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.dev.cosign.artifact.sig.v1+json"}}"#;
        assert_eq!(
            artifact_type(sig).as_deref(),
            Some("application/vnd.dev.cosign.artifact.sig.v1+json")
        );
        let sbom = r#"{"artifactType":"application/spdx+json","config":{"mediaType":"application/vnd.oci.empty.v1+json"}}"#;
        assert_eq!(
            artifact_type(sbom).as_deref(),
            Some("application/spdx+json")
        );
        let image = r#"{"config":{"mediaType":"application/vnd.oci.image.config.v1+json"}}"#;
        assert_eq!(artifact_type(image), None);
        assert_eq!(artifact_type(r#"{"manifests":[]}"#), None);
        assert_eq!(artifact_type("not json"), None);
    }
}
