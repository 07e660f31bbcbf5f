//! Which rule applies to a repository when several patterns match.
//!
//! Precedence, per section (immutability, protected_tags, gate, replication, notify, cleanup,
//! signatures, and dry_run), independently:
//! 1. Among the rules whose `match` glob matches the repository *and* that set the section, the most
//!    specific wins: an exact name (no glob characters) beats any glob; between globs, the one with
//!    more literal characters wins (`team-a/api-*` over `team-a/*` over `**`).
//! 2. Equal specificity: the rule written first in the file wins.
//! 3. No rule sets the section: `defaults` (for dry_run and notify), else the section is off.
//!
//! So a broad `**` rule can set immutability for everyone while `team-a/*` sets only its gate.

use globset::{GlobBuilder, GlobMatcher};
use serde::Serialize;

use super::{
    Cleanup, Gate, Notify, Policy, ProtectedTags, Replication, RepositoryRule, Signatures,
};
use crate::mutability::TagMutability;
use crate::names::RepositoryName;

/// A section of the policy with the pattern it came from (explanations say which rule applied).
#[derive(Debug, PartialEq, Serialize)]
pub struct Section<'p, T> {
    pub value: &'p T,
    /// The `match` of the rule that set it; `None` for `defaults`.
    pub pattern: Option<&'p str>,
}

// Manual impls: a Section is two references, copyable whatever T is.
impl<T> Clone for Section<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Section<'_, T> {}

/// Everything the policy says about one repository.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolved<'p> {
    pub repository: RepositoryName,
    pub dry_run: bool,
    pub immutability: Option<Section<'p, TagMutability>>,
    pub protected_tags: Option<Section<'p, ProtectedTags>>,
    pub gate: Option<Section<'p, Gate>>,
    pub replication: Option<Section<'p, Replication>>,
    pub notify: Option<Section<'p, Notify>>,
    pub cleanup: Option<Section<'p, Cleanup>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signatures: Option<Section<'p, Signatures>>,
}

/// How specific a pattern is: (exact name?, number of literal characters). Larger wins.
pub fn specificity(pattern: &str) -> (bool, usize) {
    let glob_chars = ['*', '?', '[', ']', '{', '}'];
    let literal = pattern.chars().filter(|c| !glob_chars.contains(c)).count();
    (!pattern.contains(glob_chars), literal)
}

pub(super) fn compile(pattern: &str) -> Result<GlobMatcher, String> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("`{pattern}` is not a valid glob: {}", e.kind()))
}

impl Policy {
    /// The rules matching `repository`, most specific first (ties: file order).
    pub fn matching_rules(&self, repository: &RepositoryName) -> Vec<&RepositoryRule> {
        let mut hits: Vec<(usize, &RepositoryRule)> = self
            .document
            .repositories
            .iter()
            .zip(&self.matchers)
            .enumerate()
            .filter(|(_, (_, m))| m.is_match(repository.as_str()))
            .map(|(i, (rule, _))| (i, rule))
            .collect();
        hits.sort_by(|(ia, a), (ib, b)| {
            specificity(&b.pattern)
                .cmp(&specificity(&a.pattern))
                .then(ia.cmp(ib))
        });
        hits.into_iter().map(|(_, r)| r).collect()
    }

    /// Resolve every section for one repository (see the module doc for precedence).
    pub fn for_repository(&self, repository: &RepositoryName) -> Resolved<'_> {
        let rules = self.matching_rules(repository);
        fn pick<'p, T>(
            rules: &[&'p RepositoryRule],
            get: impl Fn(&'p RepositoryRule) -> Option<&'p T>,
        ) -> Option<Section<'p, T>> {
            rules.iter().find_map(|r| {
                get(r).map(|value| Section {
                    value,
                    pattern: Some(&r.pattern),
                })
            })
        }
        let defaults = &self.document.defaults;
        Resolved {
            repository: repository.clone(),
            dry_run: rules
                .iter()
                .find_map(|r| r.dry_run)
                .unwrap_or(defaults.dry_run),
            immutability: pick(&rules, |r| r.immutability.as_ref()),
            protected_tags: pick(&rules, |r| r.protected_tags.as_ref()),
            gate: pick(&rules, |r| r.gate.as_ref()),
            replication: pick(&rules, |r| r.replication.as_ref()),
            notify: pick(&rules, |r| r.notify.as_ref()).or_else(|| {
                defaults.notify.as_ref().map(|value| Section {
                    value,
                    pattern: None,
                })
            }),
            cleanup: pick(&rules, |r| r.cleanup.as_ref()),
            signatures: pick(&rules, |r| r.signatures.as_ref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mutability::MutabilityMode;

    const POLICY: &str = r#"
version: 1
defaults: { dry_run: true }
repositories:
  - match: "**"
    immutability: { mode: IMMUTABLE }
    gate: { max_findings: { CRITICAL: 0 } }
  - match: "team-a/*"
    dry_run: false
    gate: { max_findings: { CRITICAL: 0, HIGH: 0 } }
  - match: "team-a/api-*"
    immutability: { mode: IMMUTABLE_WITH_EXCLUSION, exclusions: [latest] }
  - match: "team-a/api-gateway"
    protected_tags: { patterns: ["v*"] }
  - match: "team-?/api-g*"
    immutability: { mode: IMMUTABLE }
    gate: {}
"#;

    fn resolve(name: &str) -> Resolved<'static> {
        let policy = Box::leak(Box::new(Policy::from_yaml(POLICY).unwrap()));
        policy.for_repository(&RepositoryName::new(name).unwrap())
    }

    #[test]
    fn most_specific_pattern_wins_per_section() {
        let r = resolve("team-a/api-gateway");
        assert_eq!(r.immutability.unwrap().pattern, Some("team-a/api-*"));
        assert_eq!(
            r.immutability.unwrap().value.mode,
            MutabilityMode::ImmutableWithExclusion
        );
        assert_eq!(
            r.protected_tags.unwrap().pattern,
            Some("team-a/api-gateway")
        );
        // team-a/api-* and team-?/api-g* tie (11 literal characters each): for immutability, which
        // both set, the earlier wins; the gate only the later one sets, and it beats team-a/*.
        assert_eq!(r.gate.unwrap().pattern, Some("team-?/api-g*"));
        assert!(!r.dry_run, "team-a/* sets dry_run false, over defaults");
    }

    #[test]
    fn broad_rules_and_defaults_fill_the_rest() {
        let r = resolve("team-b/web");
        assert_eq!(r.immutability.unwrap().pattern, Some("**"));
        assert_eq!(r.gate.unwrap().pattern, Some("**"));
        assert!(r.protected_tags.is_none());
        assert!(r.dry_run, "defaults.dry_run");
        // `*` stays within one segment: team-a/* does not match team-a/x/y.
        let deep = resolve("team-a/x/y");
        assert_eq!(deep.gate.unwrap().pattern, Some("**"));
    }

    #[test]
    fn specificity_orders_exact_then_literal_length() {
        assert!(specificity("team-a/api") > specificity("team-a/api-*"));
        assert!(specificity("team-a/api-*") > specificity("team-a/*"));
        assert!(specificity("team-a/*") > specificity("**"));
    }
}
