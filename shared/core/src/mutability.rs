//! ECR tag mutability: a mode and up to five wildcard exclusion filters.

use serde::{Deserialize, Serialize};

use crate::names::ExclusionFilter;

/// ECR's `imageTagMutability` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MutabilityMode {
    Mutable,
    Immutable,
    /// Immutable, except tags matching an exclusion filter.
    ImmutableWithExclusion,
    /// Mutable, except tags matching an exclusion filter (those are immutable).
    MutableWithExclusion,
}

impl MutabilityMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mutable => "MUTABLE",
            Self::Immutable => "IMMUTABLE",
            Self::ImmutableWithExclusion => "IMMUTABLE_WITH_EXCLUSION",
            Self::MutableWithExclusion => "MUTABLE_WITH_EXCLUSION",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::Mutable,
            Self::Immutable,
            Self::ImmutableWithExclusion,
            Self::MutableWithExclusion,
        ]
        .into_iter()
        .find(|m| m.as_str() == raw)
    }

    pub fn takes_exclusions(self) -> bool {
        matches!(
            self,
            Self::ImmutableWithExclusion | Self::MutableWithExclusion
        )
    }
}

/// A repository's complete tag-mutability setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagMutability {
    pub mode: MutabilityMode,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclusions: Vec<ExclusionFilter>,
}

/// ECR's limit on exclusion filters per repository.
pub const MAX_EXCLUSION_FILTERS: usize = 5;

impl TagMutability {
    /// Whether ECR refuses to move `tag` once it exists, under this setting — under every reading
    /// of how a filter is anchored (ECR does not say whether it meets the whole tag, its start or
    /// any part: docs/emulator.md, `exclusion_filter_anchoring`). A tag is called immutable only
    /// when it is immutable under all of them, so nobody leaves a tag to ECR's protection where
    /// ECR might not give it.
    pub fn is_tag_immutable(&self, tag: &str) -> bool {
        match self.mode {
            MutabilityMode::Mutable => false,
            MutabilityMode::Immutable => true,
            MutabilityMode::ImmutableWithExclusion => {
                !self.exclusions.iter().any(|f| f.may_match(tag))
            }
            MutabilityMode::MutableWithExclusion => self.exclusions.iter().any(|f| f.matches(tag)),
        }
    }

    /// Same setting, compared as ECR stores it: filter order does not matter.
    pub fn same_as(&self, other: &Self) -> bool {
        let mut a: Vec<&str> = self
            .exclusions
            .iter()
            .map(ExclusionFilter::as_str)
            .collect();
        let mut b: Vec<&str> = other
            .exclusions
            .iter()
            .map(ExclusionFilter::as_str)
            .collect();
        a.sort_unstable();
        b.sort_unstable();
        self.mode == other.mode && a == b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(mode: MutabilityMode, filters: &[&str]) -> TagMutability {
        TagMutability {
            mode,
            exclusions: filters
                .iter()
                .map(|f| ExclusionFilter::new(*f).unwrap())
                .collect(),
        }
    }

    #[test]
    fn exclusions_invert_the_mode() {
        let s = setting(MutabilityMode::ImmutableWithExclusion, &["latest", "dev-*"]);
        assert!(s.is_tag_immutable("v1"));
        assert!(!s.is_tag_immutable("latest"));
        assert!(!s.is_tag_immutable("dev-42"));
        let m = setting(MutabilityMode::MutableWithExclusion, &["v*"]);
        assert!(m.is_tag_immutable("v1"));
        assert!(!m.is_tag_immutable("latest"));
        assert!(s.same_as(&setting(
            MutabilityMode::ImmutableWithExclusion,
            &["dev-*", "latest"]
        )));
        assert!(!s.same_as(&m));
    }

    /// A filter may meet the whole tag, its start or any part of it (AWS does not say): a tag
    /// counts as immutable only where it is immutable under all three readings.
    #[test]
    fn a_filter_is_read_every_way_before_a_tag_counts_as_immutable() {
        let s = setting(MutabilityMode::ImmutableWithExclusion, &["latest"]);
        assert!(!s.is_tag_immutable("latest"), "exact");
        assert!(
            !s.is_tag_immutable("latest-rc"),
            "prefix reading: excluded, so mutable"
        );
        assert!(
            !s.is_tag_immutable("pre-latest"),
            "substring reading: excluded, so mutable"
        );
        assert!(s.is_tag_immutable("v1"), "excluded under no reading");
        let m = setting(MutabilityMode::MutableWithExclusion, &["release"]);
        assert!(
            m.is_tag_immutable("release"),
            "immutable under every reading"
        );
        assert!(
            !m.is_tag_immutable("release-1"),
            "immutable under the prefix reading only"
        );
        assert!(
            !m.is_tag_immutable("pre-release"),
            "immutable under the substring reading only"
        );
        let w = setting(MutabilityMode::ImmutableWithExclusion, &["v*"]);
        assert!(
            !w.is_tag_immutable("release-v1"),
            "`v*` found inside it: substring reading"
        );
        assert!(
            w.is_tag_immutable("latest"),
            "no `v` anywhere: immutable under every reading"
        );
    }
}
