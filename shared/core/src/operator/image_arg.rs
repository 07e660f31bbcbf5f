//! The image an operator names on the command line: `repo`, `repo:tag`, `repo@sha256:…`, or a full
//! ECR URI (`<account>.dkr.ecr.<region>.amazonaws.com/repo[:tag][@digest]`), which also names the
//! registry's account and region.

use std::fmt;

use crate::image_ref::{Reference, parse_image_uri};
use crate::names::{AccountId, Digest, Region, RepositoryName, Tag};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageArg {
    /// From a full URI; otherwise the credentials' account.
    pub account: Option<AccountId>,
    /// From a full URI; otherwise the configured region.
    pub region: Option<Region>,
    pub repository: RepositoryName,
    pub reference: Reference,
}

impl fmt::Display for ImageArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reference {
            Reference::Tag(tag) => write!(f, "{}:{tag}", self.repository),
            Reference::Digest(digest) => write!(f, "{}@{digest}", self.repository),
        }
    }
}

/// Parse an image argument. A first path segment with a dot is a registry host and must be an
/// ECR registry's; no tag or digest means `latest`, as `docker pull` reads it.
pub fn parse_image_arg(raw: &str) -> Result<ImageArg, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(
            "an image is required: repo:tag, repo@sha256:<digest> or a full ECR URI".into(),
        );
    }
    let host = raw.split('/').next().unwrap_or_default();
    if raw.contains('/') && (host.contains('.') || host.contains(':')) {
        let r = parse_image_uri(raw).ok_or_else(|| {
            format!("{raw}: not an ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@digest])")
        })?;
        return Ok(ImageArg {
            account: Some(r.account),
            region: Some(r.region),
            repository: r.repository,
            reference: r.reference,
        });
    }
    let (named, digest) = match raw.split_once('@') {
        Some((named, digest)) => (named, Some(digest)),
        None => (raw, None),
    };
    let (repository, tag) = match named.rsplit_once(':') {
        Some((repository, tag)) => (repository, Some(tag)),
        None => (named, None),
    };
    let repository =
        RepositoryName::new(repository).map_err(|e| format!("{raw}: repository name: {e}"))?;
    let reference = match digest {
        Some(d) => Reference::Digest(Digest::new(d).map_err(|e| format!("{raw}: digest: {e}"))?),
        None => Reference::Tag(
            Tag::new(tag.unwrap_or("latest")).map_err(|e| format!("{raw}: tag: {e}"))?,
        ),
    };
    Ok(ImageArg {
        account: None,
        region: None,
        repository,
        reference,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0b1a4e0c81c434fa7928e5c4a2651a521ebabc4ff200c65f7e25b99373efca3b";

    #[test]
    fn a_short_name_is_a_tag_a_digest_or_latest() {
        let a = parse_image_arg("team-a/api:v1.2.3").unwrap();
        assert_eq!(a.repository.as_str(), "team-a/api");
        assert_eq!(a.reference, Reference::Tag(Tag::new("v1.2.3").unwrap()));
        assert_eq!(a.account, None);
        let b = parse_image_arg(&format!("team-a/api@{D}")).unwrap();
        assert_eq!(b.reference, Reference::Digest(Digest::new(D).unwrap()));
        let c = parse_image_arg("web").unwrap();
        assert_eq!(c.reference, Reference::Tag(Tag::new("latest").unwrap()));
        assert_eq!(c.to_string(), "web:latest");
    }

    #[test]
    fn a_full_uri_names_the_registry_account_and_region() {
        let a =
            parse_image_arg("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team-a/api:v1").unwrap();
        assert_eq!(a.account.unwrap().as_str(), "123456789012");
        assert_eq!(a.region.unwrap().as_str(), "eu-west-1");
        assert_eq!(a.repository.as_str(), "team-a/api");
    }

    #[test]
    fn what_is_not_an_ecr_image_is_refused_with_the_reason() {
        assert!(parse_image_arg("").is_err());
        assert!(
            parse_image_arg("docker.io/library/nginx:1")
                .unwrap_err()
                .contains("not an ECR image URI")
        );
        assert!(
            parse_image_arg("Team/API:v1")
                .unwrap_err()
                .contains("repository name")
        );
        assert!(
            parse_image_arg("web@sha256:short")
                .unwrap_err()
                .contains("digest")
        );
    }
}
