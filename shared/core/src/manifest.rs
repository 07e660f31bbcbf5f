//! What a manifest is and what it links to: image, index (multi-arch) or another artifact
//! (signature, SBOM, attestation), its children and its OCI `subject`. Shared by janitor (structure)
//! and scan-gate (only container images are gated).

use serde_json::Value;

use crate::names::{Digest, Tag};
use crate::records::ImageEntry;

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

/// Whether a layer media type is a container filesystem layer (OCI's or Docker's, compressed or
/// not, distributable or not).
fn is_filesystem_layer(media_type: &str) -> bool {
    media_type.starts_with("application/vnd.oci.image.layer.")
        || media_type.starts_with("application/vnd.docker.image.rootfs.")
}

/// The artifact type of a manifest that is not a container image, judged by content, never by tag
/// name: an `artifactType`; a config that is not an image config; or layers none of which is a
/// filesystem layer (an OCI `subject` without one is a referrer) — cosign's signatures
/// (`application/vnd.dev.cosign.simplesigning.v1+json`) and BuildKit's attestation manifests
/// (`application/vnd.in-toto+json`) carry an ordinary image config. `None` for images and indexes —
/// and for bytes that do not parse, which are gated as images (fail safe).
pub fn artifact_type(bytes: &str) -> Option<String> {
    let value: Value = serde_json::from_str(bytes).ok()?;
    if value["manifests"].is_array() {
        return None;
    }
    if let Some(t) = value["artifactType"].as_str() {
        return Some(t.to_owned());
    }
    if let Some(config) = value["config"]["mediaType"].as_str() {
        if !IMAGE_CONFIG_TYPES.contains(&config) {
            return Some(config.to_owned());
        }
    }
    let layers: Vec<&str> = value["layers"]
        .as_array()
        .map(|l| l.iter().filter_map(|d| d["mediaType"].as_str()).collect())
        .unwrap_or_default();
    // A container image stays an image, whatever else it names (a `subject` included): a scan
    // failure of anything with a filesystem layer is gated.
    if layers.iter().any(|t| is_filesystem_layer(t)) {
        return None;
    }
    match (layers.first(), value["subject"]["digest"].as_str()) {
        (first, Some(subject)) => Some(format!(
            "{}, a referrer of {subject}",
            first.copied().unwrap_or("artifact")
        )),
        (Some(first), None) => Some((*first).to_owned()),
        (None, None) => None,
    }
}

/// An index's platform images: its children less BuildKit's attestation manifests (annotated
/// `vnd.docker.reference.type: attestation-manifest`, platform `unknown/unknown`) and children that
/// declare an `artifactType`. An index's verdict is its platform images' verdict. Empty for bytes
/// that are not an index.
pub fn platform_children(bytes: &str) -> Vec<Digest> {
    let Ok(value) = serde_json::from_str::<Value>(bytes) else {
        return Vec::new();
    };
    let Some(children) = value["manifests"].as_array() else {
        return Vec::new();
    };
    children
        .iter()
        .filter(|c| {
            let attestation = c["annotations"]["vnd.docker.reference.type"].as_str()
                == Some("attestation-manifest");
            let unknown = c["platform"]["os"].as_str() == Some("unknown")
                && c["platform"]["architecture"].as_str() == Some("unknown");
            !attestation && !unknown && c["artifactType"].is_null()
        })
        .filter_map(|c| Digest::new(c["digest"].as_str()?).ok())
        .collect()
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

    /// cosign's tag-scheme signatures and BuildKit's attestations carry an ordinary image config:
    /// their layers say what they are.
    #[test]
    fn a_manifest_whose_layers_are_no_filesystem_is_an_artifact_whatever_its_config() {
        let config = r#""config":{"mediaType":"application/vnd.oci.image.config.v1+json"}"#;
        let with = |layer: &str| format!(r#"{{{config},"layers":[{{"mediaType":"{layer}"}}]}}"#);
        assert_eq!(
            artifact_type(&with("application/vnd.dev.cosign.simplesigning.v1+json")).as_deref(),
            Some("application/vnd.dev.cosign.simplesigning.v1+json")
        );
        assert_eq!(
            artifact_type(&with("application/vnd.in-toto+json")).as_deref(),
            Some("application/vnd.in-toto+json")
        );
        for image in [
            "application/vnd.oci.image.layer.v1.tar+gzip",
            "application/vnd.oci.image.layer.v1.tar+zstd",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        ] {
            assert_eq!(artifact_type(&with(image)), None, "{image}");
        }
        let subject = format!(r#""subject":{{"digest":"sha256:{}"}}"#, "a".repeat(64));
        let referrer =
            format!(r#"{{{config},"layers":[{{"mediaType":"application/json"}}],{subject}}}"#);
        assert!(
            artifact_type(&referrer)
                .unwrap()
                .contains("a referrer of sha256:aaaa")
        );
        let image_with_subject = format!(
            r#"{{{config},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar"}}],{subject}}}"#
        );
        assert_eq!(
            artifact_type(&image_with_subject),
            None,
            "a filesystem layer keeps it gated"
        );
        assert_eq!(artifact_type(r#"{"schemaVersion":1,"fsLayers":[]}"#), None);
    }

    #[test]
    fn an_index_s_platform_images_leave_out_attestations_and_artifacts() {
        let d = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        let index = format!(
            r#"{{"manifests":[
            {{"digest":"{}","platform":{{"os":"linux","architecture":"amd64"}}}},
            {{"digest":"{}","platform":{{"os":"unknown","architecture":"unknown"}},
              "annotations":{{"vnd.docker.reference.type":"attestation-manifest"}}}},
            {{"digest":"{}","annotations":{{"vnd.docker.reference.type":"attestation-manifest"}}}},
            {{"digest":"{}","artifactType":"application/spdx+json"}},
            {{"digest":"{}","platform":{{"os":"linux","architecture":"arm64"}}}}]}}"#,
            d('a'),
            d('b'),
            d('c'),
            d('e'),
            d('f')
        );
        let platforms: Vec<String> = platform_children(&index)
            .iter()
            .map(|x| x.to_string())
            .collect();
        assert_eq!(platforms, [d('a'), d('f')]);
        assert!(platform_children(r#"{"layers":[]}"#).is_empty());
    }
}
