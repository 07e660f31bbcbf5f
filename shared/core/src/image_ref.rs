//! References to images in ECR registries as runtimes and deploy tools write them
//! (`<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>@<digest>`): janitor's in-use set,
//! `warden gate`/`doctor`'s image argument and the probe all read them here.

use crate::names::{AccountId, Digest, Region, RepositoryName, Tag};

/// A reference to an image in an ECR registry, as task definitions and Lambda functions write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub account: AccountId,
    pub region: Region,
    pub repository: RepositoryName,
    pub reference: Reference,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reference {
    Tag(Tag),
    Digest(Digest),
}

/// The region of an ECR registry host, from the host after `<account>.`: the IPv4 endpoints
/// `dkr.ecr[-fips].<region>.amazonaws.com[.cn]` and the dual-stack ones
/// `dkr-ecr[-fips].<region>.on.aws` (ECR User Guide, "Making requests to Amazon ECR registries").
fn registry_region(rest: &str) -> Option<&str> {
    let ipv4 = ["dkr.ecr.", "dkr.ecr-fips."]
        .iter()
        .find_map(|p| rest.strip_prefix(p))
        .and_then(|r| {
            r.strip_suffix(".amazonaws.com")
                .or_else(|| r.strip_suffix(".amazonaws.com.cn"))
        });
    let dual_stack = ["dkr-ecr.", "dkr-ecr-fips."]
        .iter()
        .find_map(|p| rest.strip_prefix(p))
        .and_then(|r| r.strip_suffix(".on.aws"));
    ipv4.or(dual_stack)
}

/// An image reference into an ECR registry: `<registry host>/<repository>` followed by `:<tag>`,
/// `@<digest>` or both (`:<tag>@<digest>`, what deploy tools write: the digest is what runs), no
/// reference meaning `latest`. `None` for images elsewhere (Docker Hub, ECR Public, another cloud),
/// which janitor has no say over.
pub fn parse_image_uri(uri: &str) -> Option<ImageRef> {
    let (host, path) = uri.split_once('/')?;
    let host = host.split(':').next()?; // an explicit :443
    let (account, rest) = host.split_once('.')?;
    let account = AccountId::new(account).ok()?;
    let region = Region::new(registry_region(rest)?).ok()?;
    let (named, digest) = match path.split_once('@') {
        Some((named, digest)) => (named, Some(digest)),
        None => (path, None),
    };
    let (repository, tag) = match named.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag)),
        _ => (named, None),
    };
    let reference = match digest {
        Some(d) => Reference::Digest(Digest::new(d).ok()?),
        None => Reference::Tag(Tag::new(tag.unwrap_or("latest")).ok()?),
    };
    Some(ImageRef {
        account,
        region,
        repository: RepositoryName::new(repository).ok()?,
        reference,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_uris_parse_into_registry_references() {
        let r = parse_image_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/team-a/api:v1.2")
            .unwrap();
        assert_eq!(r.repository.as_str(), "team-a/api");
        assert_eq!(r.reference, Reference::Tag(Tag::new("v1.2").unwrap()));
        let d = format!("sha256:{}", "a".repeat(64));
        let r = parse_image_uri(&format!(
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@{d}"
        ))
        .unwrap();
        assert_eq!(
            r.reference,
            Reference::Digest(Digest::new(d.clone()).unwrap())
        );
        let r = parse_image_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/web").unwrap();
        assert_eq!(r.reference, Reference::Tag(Tag::new("latest").unwrap()));
        // Tag and digest (what deploy tools write): the digest is what runs.
        let r = parse_image_uri(&format!(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team-a/api:v1@{d}"
        ))
        .unwrap();
        assert_eq!(r.repository.as_str(), "team-a/api");
        assert_eq!(
            r.reference,
            Reference::Digest(Digest::new(d.clone()).unwrap())
        );
        // FIPS, dual-stack, FIPS dual-stack, China, and an explicit port: the same registry.
        for host in [
            "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com",
            "123456789012.dkr-ecr.us-east-1.on.aws",
            "123456789012.dkr-ecr-fips.us-east-1.on.aws",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:443",
        ] {
            let r = parse_image_uri(&format!("{host}/web:v2")).unwrap();
            assert_eq!(
                (r.account.as_str(), r.region.as_str()),
                ("123456789012", "us-east-1")
            );
            assert_eq!(r.reference, Reference::Tag(Tag::new("v2").unwrap()));
        }
        let cn = parse_image_uri("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/web").unwrap();
        assert_eq!(cn.region.as_str(), "cn-north-1");
        assert!(parse_image_uri("123456789012.dkr.ecr.us-east-1.example.com/web").is_none());
        assert!(parse_image_uri("nginx:1.27").is_none());
        assert!(parse_image_uri("public.ecr.aws/nginx/nginx:1").is_none());
    }
}
