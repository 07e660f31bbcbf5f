//! Names that validate on construction: a value of these types is always something ECR would accept.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// A value that is not a valid name of its kind; says which kind and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {value:?}: {rule}")]
pub struct InvalidName {
    pub kind: &'static str,
    pub value: String,
    pub rule: &'static str,
}

// The grammars, checked byte by byte (every allowed character is ASCII, so a byte outside them is
// a character outside them). Each is ECR's pattern, written out here instead of compiled as a
// regex at every cold start; the unit tests check each against that pattern as a reference model.

/// `^(?:SEG/)*SEG$`, SEG = `[a-z0-9]+(?:[._-][a-z0-9]+)*`.
fn is_repository(v: &str) -> bool {
    v.split('/')
        .all(|segment| separated(segment, lower_alnum, |b| matches!(b, b'.' | b'_' | b'-')))
}

/// `^ALG:[a-fA-F0-9]{32,}$`, ALG = `[a-z0-9]+(?:[.+_-][a-z0-9]+)*`.
fn is_digest(v: &str) -> bool {
    v.split_once(':').is_some_and(|(algorithm, hex)| {
        separated(algorithm, lower_alnum, |b| {
            matches!(b, b'.' | b'+' | b'_' | b'-')
        }) && hex.len() >= 32
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// `^[A-Za-z0-9_][A-Za-z0-9._-]{0,299}$`.
fn is_tag(v: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    match v.as_bytes().split_first() {
        Some((&first, rest)) => {
            v.len() <= 300 && word(first) && rest.iter().all(|&b| word(b) || b == b'.' || b == b'-')
        }
        None => false,
    }
}

/// `^[0-9]{12}$`.
fn is_account(v: &str) -> bool {
    v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit())
}

/// `^[a-z]{2}(?:-[a-z]+)+-[0-9]+$`.
fn is_region(v: &str) -> bool {
    let parts: Vec<&str> = v.split('-').collect();
    let letters = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    match parts.as_slice() {
        [area, middle @ .., number] if !middle.is_empty() => {
            area.len() == 2
                && letters(area)
                && middle.iter().all(|p| letters(p))
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

/// `^[0-9a-zA-Z._*-]{1,128}$`.
fn is_exclusion(v: &str) -> bool {
    (1..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'*' | b'-'))
}

/// `[a-z0-9]`: the word characters of repository names and digest algorithms.
fn lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `WORD+(?:SEP WORD+)*`: words of `word` bytes joined by single `sep` bytes.
fn separated(v: &str, word: fn(u8) -> bool, sep: fn(u8) -> bool) -> bool {
    !v.is_empty()
        && v.as_bytes()
            .split(|&b| sep(b))
            .all(|w| !w.is_empty() && w.iter().all(|&b| word(b)))
}

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
    |v| (2..=256).contains(&v.len()) && is_repository(v)
);

name_type!(
    /// A content digest, `algorithm:hex` (ECR: `sha256:` and 64 hex digits).
    Digest,
    "image digest",
    "algorithm:hex, e.g. sha256:<64 hex digits>",
    is_digest
);

name_type!(
    /// An image tag as ECR accepts it: up to 300 characters of letters, digits, `_`, `.` and `-`.
    Tag,
    "image tag",
    "1-300 characters of letters, digits, _ . -, not starting with . or -",
    is_tag
);

name_type!(
    /// A 12-digit AWS account id.
    AccountId,
    "account id",
    "12 digits",
    is_account
);

name_type!(
    /// An AWS region name such as `us-east-1`.
    Region,
    "region",
    "an AWS region such as us-east-1",
    is_region
);

name_type!(
    /// One ECR tag-mutability exclusion filter: `*` wildcards, ECR's limit of 128 characters.
    ExclusionFilter,
    "exclusion filter",
    "1-128 characters of [0-9a-zA-Z._*-]",
    is_exclusion
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

    /// Whether the filter matches `tag` under some reading of how ECR anchors it: the whole tag,
    /// its start, or anywhere in it (each reading matches a superset of the one before, so this is
    /// the last: the filter found anywhere in the tag).
    pub fn may_match(&self, tag: &str) -> bool {
        wildcard_match(&format!("*{}*", self.0), tag)
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
    use proptest::prelude::*;
    use regex::Regex;

    /// ECR's pattern for a name: the reference model each hand-written grammar is checked against.
    fn ecr(pattern: &str) -> Regex {
        Regex::new(pattern).unwrap()
    }

    fn agrees(check: fn(&str) -> bool, pattern: &str, value: &str) -> Result<(), TestCaseError> {
        let expected = ecr(pattern).is_match(value);
        prop_assert_eq!(check(value), expected, "{:?} against {}", value, pattern);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn the_repository_grammar_is_ecrs_pattern(
            v in "([a-z0-9]{1,3}[._/-]{1,2}){0,4}[a-z0-9]{0,3}|[a-zA-Z0-9._/ -]{0,10}|.{0,4}"
        ) {
            agrees(is_repository, r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$", &v)?;
        }

        #[test]
        fn the_digest_grammar_is_ecrs_pattern(
            v in "[a-z0-9.+_-]{0,8}:[a-fA-F0-9]{30,34}|[a-z0-9.+_:gG-]{0,40}|[a-z0-9]{1,3}([.+_-][a-z0-9]{1,3}){0,2}:[0-9a-f:]{31,33}"
        ) {
            agrees(is_digest, r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$", &v)?;
        }

        #[test]
        fn the_tag_grammar_is_ecrs_pattern(
            v in "[A-Za-z0-9._-]{0,8}|[A-Za-z0-9_][A-Za-z0-9._-]{297,301}|.{0,4}"
        ) {
            agrees(is_tag, r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,299}$", &v)?;
        }

        #[test]
        fn the_account_grammar_is_ecrs_pattern(v in "[0-9]{10,14}|[0-9a ]{12}|.{0,3}") {
            agrees(is_account, r"^[0-9]{12}$", &v)?;
        }

        #[test]
        fn the_region_grammar_is_ecrs_pattern(
            v in "[a-z]{1,3}(-[a-z0-9]{0,4}){0,4}|[a-z]{2}(-[a-z]{1,5}){1,3}-[0-9]{1,2}|.{0,4}"
        ) {
            agrees(is_region, r"^[a-z]{2}(?:-[a-z]+)+-[0-9]+$", &v)?;
        }

        #[test]
        fn the_exclusion_filter_grammar_is_ecrs_pattern(
            v in "[0-9a-zA-Z._*-]{0,3}|[0-9a-zA-Z._*-]{126,130}|.{0,4}"
        ) {
            agrees(is_exclusion, r"^[0-9a-zA-Z._*-]{1,128}$", &v)?;
        }
    }

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
