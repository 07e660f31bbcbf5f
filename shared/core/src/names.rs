//! Names that validate on construction: a value of these types is always something ECR would accept.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize};

/// A value that is not a valid name of its kind; says which kind and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {value:?}: {rule}")]
pub struct InvalidName {
    pub kind: &'static str,
    pub value: String,
    pub rule: &'static str,
}

#[allow(clippy::expect_used)] // the patterns are literals, checked by the unit tests below
fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("literal regex")
}

static REPOSITORY: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$"));
static DIGEST: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$"));
static TAG: LazyLock<Regex> = LazyLock::new(|| regex(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,299}$"));
static ACCOUNT: LazyLock<Regex> = LazyLock::new(|| regex(r"^[0-9]{12}$"));
static REGION: LazyLock<Regex> = LazyLock::new(|| regex(r"^[a-z]{2}(?:-[a-z]+)+-[0-9]+$"));
static EXCLUSION: LazyLock<Regex> = LazyLock::new(|| regex(r"^[0-9a-zA-Z._*-]{1,128}$"));

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $rule:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Validates `value`; see the type's doc for the rule.
            pub fn new(value: impl Into<String>) -> Result<Self, InvalidName> {
                let value = value.into();
                let check: fn(&str) -> bool = $check;
                if check(&value) {
                    Ok(Self(value))
                } else {
                    Err(InvalidName { kind: $kind, value, rule: $rule })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::new(raw).map_err(serde::de::Error::custom)
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }
    };
}

name_type!(
    /// An ECR repository name: lowercase path segments, 2 to 256 characters.
    RepositoryName,
    "repository name",
    "2-256 characters of lowercase letters, digits and . _ - separators, segments joined by /",
    |v| (2..=256).contains(&v.len()) && REPOSITORY.is_match(v)
);

name_type!(
    /// A content digest, `algorithm:hex` (ECR: `sha256:` and 64 hex digits).
    Digest,
    "image digest",
    "algorithm:hex, e.g. sha256:<64 hex digits>",
    |v| DIGEST.is_match(v)
);

name_type!(
    /// An image tag as ECR accepts it: up to 300 characters of letters, digits, `_`, `.` and `-`.
    Tag,
    "image tag",
    "1-300 characters of letters, digits, _ . -, not starting with . or -",
    |v| TAG.is_match(v)
);

name_type!(
    /// A 12-digit AWS account id.
    AccountId,
    "account id",
    "12 digits",
    |v| ACCOUNT.is_match(v)
);

name_type!(
    /// An AWS region name such as `us-east-1`.
    Region,
    "region",
    "an AWS region such as us-east-1",
    |v| REGION.is_match(v)
);

name_type!(
    /// One ECR tag-mutability exclusion filter: `*` wildcards, ECR's limit of 128 characters.
    ExclusionFilter,
    "exclusion filter",
    "1-128 characters of [0-9a-zA-Z._*-]",
    |v| EXCLUSION.is_match(v)
);

impl Digest {
    /// The first 12 hex digits, as registries and consoles show a digest.
    pub fn short(&self) -> &str {
        let hex = self.0.split_once(':').map_or(self.0.as_str(), |(_, h)| h);
        &hex[..hex.len().min(12)]
    }

    /// The sha256 digest of `bytes`: what ECR names an image whose manifest is `bytes`.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        use sha2::Digest as _;
        Self(format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(bytes))
        ))
    }
}

impl ExclusionFilter {
    /// ECR's wildcard match: `*` matches any run of characters, everything else is literal.
    pub fn matches(&self, tag: &str) -> bool {
        wildcard_match(&self.0, tag)
    }
}

/// `*`-only wildcard matching, anchored at both ends (ECR's exclusion filter semantics).
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let middle: Vec<&str> = parts.collect();
    let Some((last, inner)) = middle.split_last() else {
        return rest.is_empty();
    };
    for part in inner {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// An ECR repository ARN, `arn:<partition>:ecr:<region>:<account>:repository/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryArn {
    pub region: Region,
    pub account: AccountId,
    pub name: RepositoryName,
}

impl RepositoryArn {
    pub fn parse(arn: &str) -> Result<Self, InvalidName> {
        let invalid = || InvalidName {
            kind: "repository ARN",
            value: arn.to_owned(),
            rule: "arn:<partition>:ecr:<region>:<account>:repository/<name>",
        };
        let mut fields = arn.splitn(6, ':');
        let (Some("arn"), Some(_), Some("ecr"), Some(region), Some(account), Some(resource)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err(invalid());
        };
        let name = resource.strip_prefix("repository/").ok_or_else(invalid)?;
        Ok(Self {
            region: Region::new(region)?,
            account: AccountId::new(account)?,
            name: RepositoryName::new(name)?,
        })
    }
}

/// A repository given either by plain name or by ARN (Inspector puts the ARN where ECR puts the name).
pub fn repository_from_name_or_arn(value: &str) -> Result<RepositoryName, InvalidName> {
    if value.starts_with("arn:") {
        Ok(RepositoryArn::parse(value)?.name)
    } else {
        RepositoryName::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_follow_ecr_grammar() {
        for ok in ["ab", "team-a/api", "a.b_c-d/e/f", "x9"] {
            assert!(RepositoryName::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a", "Team/api", "a//b", "-a", "a-", "/ab", "ab/"] {
            assert!(RepositoryName::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn digests_tags_and_filters_validate() {
        let d = Digest::new(format!("sha256:{}", "ab".repeat(32))).unwrap();
        assert_eq!(d.short(), "abababababab");
        assert!(Digest::new("sha256:xyz").is_err());
        assert!(Tag::new("v1.2.3").is_ok());
        assert!(Tag::new(".hidden").is_err());
        assert!(Tag::new("").is_err());
        assert!(ExclusionFilter::new("dev-*").is_ok());
        assert!(ExclusionFilter::new("v?").is_err());
        assert!(ExclusionFilter::new("a".repeat(129)).is_err());
        assert!(AccountId::new("12345678901").is_err());
        assert!(Region::new("eu-central-1").is_ok());
    }

    #[test]
    fn wildcards_match_like_ecr() {
        assert!(wildcard_match("v*", "v1.2"));
        assert!(!wildcard_match("v*", "release-v1"));
        assert!(wildcard_match("*", "anything"));
        assert!(wildcard_match("dev-*-x", "dev-abc-x"));
        assert!(!wildcard_match("dev-*-x", "dev-abc-y"));
        assert!(wildcard_match("a*a", "aa"));
        assert!(!wildcard_match("a*a", "a"));
        assert!(wildcard_match("latest", "latest"));
        assert!(!wildcard_match("latest", "latest2"));
    }

    #[test]
    fn arns_resolve_to_plain_names() {
        let arn = "arn:aws:ecr:us-east-2:123456789012:repository/amazon/amazon-ecs-sample";
        let parsed = RepositoryArn::parse(arn).unwrap();
        assert_eq!(parsed.name.as_str(), "amazon/amazon-ecs-sample");
        assert_eq!(parsed.account.as_str(), "123456789012");
        assert_eq!(repository_from_name_or_arn("web").unwrap().as_str(), "web");
        assert!(RepositoryArn::parse("arn:aws:s3:::bucket").is_err());
    }
}
