//! Native replication as code: the registry replication configuration ECR should have for the
//! policy's `native` rules (ECR copies on push; nothing passes through Lambda).
//!
//! ECR's terms (API reference, ReplicationConfiguration / ReplicationRule / RepositoryFilter): at
//! most 10 rules; at most 25 unique destinations across them; at most 100 `PREFIX_MATCH` filters
//! per rule; a rule without filters replicates every repository; a destination may not be the
//! registry itself. Rules sharing the same destinations are merged into one.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::names::{AccountId, Region};
use crate::policy::{Policy, Replication, ecr_filter_prefix};
use crate::replicate::Registry;

/// Rules per replication configuration: 10 on ECR's service-quotas page and in its user guide, 25
/// in the current API reference (docs/emulator.md, `replication_rules_limit`); the smaller is
/// accepted under both.
pub const MAX_RULES: usize = 10;
pub const MAX_DESTINATIONS: usize = 25;
pub const MAX_FILTERS: usize = 100;

/// One registry a rule replicates to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct NativeDestination {
    pub region: Region,
    pub registry_id: AccountId,
}

/// One replication rule: its destinations and repository-name prefixes (empty: every repository).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct NativeRule {
    pub destinations: BTreeSet<NativeDestination>,
    pub prefixes: BTreeSet<String>,
}

/// A registry's replication configuration, normalised (rules sorted) so two compare equal when
/// ECR would replicate the same.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NativeConfiguration {
    pub rules: Vec<NativeRule>,
}

impl NativeConfiguration {
    pub fn new(mut rules: Vec<NativeRule>) -> Self {
        rules.sort();
        rules.dedup();
        Self { rules }
    }
}

/// The configuration the policy's `native` rules call for in `here`. `Err` lists what ECR would
/// refuse (over its limits).
pub fn desired(policy: &Policy, here: &Registry) -> Result<NativeConfiguration, Vec<String>> {
    let mut by_destinations: BTreeMap<BTreeSet<NativeDestination>, Option<BTreeSet<String>>> =
        BTreeMap::new();
    let mut problems = Vec::new();
    for rule in &policy.document().repositories {
        let Some(replication) = rule.replication.as_ref().filter(|r| r.native == Some(true)) else {
            continue;
        };
        let Some(prefix) = ecr_filter_prefix(&rule.pattern) else {
            problems.push(format!(
                "`{}` is not a repository-name prefix",
                rule.pattern
            ));
            continue;
        };
        let destinations = native_destinations(&rule.pattern, replication, here, &mut problems);
        if destinations.is_empty() {
            continue;
        }
        let entry = by_destinations
            .entry(destinations)
            .or_insert_with(|| Some(BTreeSet::new()));
        match (entry.as_mut(), prefix) {
            (Some(prefixes), Some(p)) => {
                prefixes.insert(p);
            }
            // A rule for every repository swallows the prefixes of its destinations' other rules.
            (_, None) => *entry = None,
            (None, Some(_)) => {}
        }
    }
    let rules: Vec<NativeRule> = by_destinations
        .into_iter()
        .map(|(destinations, prefixes)| NativeRule {
            destinations,
            prefixes: prefixes.unwrap_or_default(),
        })
        .collect();
    problems.extend(limit_problems(&rules));
    if problems.is_empty() {
        Ok(NativeConfiguration::new(rules))
    } else {
        Err(problems)
    }
}

/// A rule's destinations other than this registry, as ECR names them; one that is not a
/// region/account is a problem.
fn native_destinations(
    pattern: &str,
    replication: &Replication,
    here: &Registry,
    problems: &mut Vec<String>,
) -> BTreeSet<NativeDestination> {
    let mut destinations = BTreeSet::new();
    for d in &replication.destinations {
        let (Ok(region), Ok(registry_id)) = (
            Region::new(d.region.as_str()),
            AccountId::new(d.account.as_deref().unwrap_or(here.account.as_str())),
        ) else {
            problems.push(format!(
                "`{pattern}`: a destination is not a region/account"
            ));
            continue;
        };
        if region != here.region || registry_id != here.account {
            destinations.insert(NativeDestination {
                region,
                registry_id,
            });
        }
    }
    destinations
}

/// ECR's limits on a replication configuration: rules, unique destinations, filters per rule.
fn limit_problems(rules: &[NativeRule]) -> Vec<String> {
    let mut problems = Vec::new();
    if rules.len() > MAX_RULES {
        problems.push(format!(
            "{} rules (distinct destination sets); ECR takes at most {MAX_RULES}",
            rules.len()
        ));
    }
    let unique: BTreeSet<&NativeDestination> =
        rules.iter().flat_map(|r| r.destinations.iter()).collect();
    if unique.len() > MAX_DESTINATIONS {
        problems.push(format!(
            "{} destinations; ECR takes at most {MAX_DESTINATIONS} across all rules",
            unique.len()
        ));
    }
    for rule in rules {
        if rule.prefixes.len() > MAX_FILTERS {
            problems.push(format!(
                "a rule with {} prefixes; ECR takes at most {MAX_FILTERS} per rule",
                rule.prefixes.len()
            ));
        }
    }
    problems
}

/// Whether the replicator leaves `repository`'s copies to ECR (its rule is `native`).
pub fn is_native(policy: &Policy, repository: &crate::names::RepositoryName) -> bool {
    policy
        .for_repository(repository)
        .replication
        .is_some_and(|s| s.value.native == Some(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn here() -> Registry {
        Registry {
            account: AccountId::new("123456789012").expect("account"),
            region: Region::new("us-east-1").expect("region"),
        }
    }

    #[test]
    fn only_prefix_shaped_patterns_map_to_ecr_filters() {
        assert_eq!(ecr_filter_prefix("team-a/**"), Some(Some("team-a/".into())));
        assert_eq!(ecr_filter_prefix("**"), Some(None));
        assert_eq!(
            ecr_filter_prefix("team-a/*"),
            None,
            "one segment only: narrower than a prefix"
        );
        assert_eq!(
            ecr_filter_prefix("team-a/app"),
            None,
            "a prefix would also take team-a/app2"
        );
        assert_eq!(ecr_filter_prefix("t*m/**"), None);
        assert_eq!(
            ecr_filter_prefix("Team/**"),
            None,
            "ECR names are lowercase"
        );
    }

    #[test]
    fn rules_with_the_same_destinations_merge_and_everything_swallows_prefixes() {
        let policy = Policy::from_yaml(
            r#"
version: 1
repositories:
  - match: "open/**"
    replication: { native: true, require_pass: false, destinations: [{ region: eu-west-1 }] }
  - match: "tools/**"
    replication: { native: true, require_pass: false, destinations: [{ region: eu-west-1 }] }
  - match: "dr/**"
    replication: { native: true, require_pass: false, destinations: [{ region: us-east-1, account: "210987654321" }, { region: us-east-1 }] }
  - match: "gated/*"
    replication: { destinations: [{ region: eu-west-1 }] }
"#,
        )
        .expect("policy");
        let config = desired(&policy, &here()).expect("within ECR's limits");
        assert_eq!(config.rules.len(), 2, "{config:?}");
        let eu = config
            .rules
            .iter()
            .find(|r| {
                r.destinations
                    .iter()
                    .any(|d| d.region.as_str() == "eu-west-1")
            })
            .expect("eu rule");
        assert_eq!(
            eu.prefixes.iter().map(String::as_str).collect::<Vec<_>>(),
            ["open/", "tools/"]
        );
        let dr = config.rules.iter().find(|r| r != &eu).expect("dr rule");
        assert_eq!(
            dr.destinations.len(),
            1,
            "the registry itself is never a destination"
        );
        assert!(is_native(
            &policy,
            &crate::names::RepositoryName::new("open/x").expect("name")
        ));
        assert!(!is_native(
            &policy,
            &crate::names::RepositoryName::new("gated/x").expect("name")
        ));
    }

    /// ECR applies every rule whose prefix takes a repository: a broad native rule may not take
    /// repositories a more specific rule replicates otherwise.
    #[test]
    fn a_native_filter_that_takes_a_more_specific_rules_repositories_is_refused() {
        let with = |extra: &str| {
            Policy::from_yaml(&format!(
                r#"
version: 1
repositories:
  - match: "**"
    replication: {{ native: true, require_pass: false, destinations: [{{ region: eu-west-1 }}] }}
{extra}"#
            ))
        };
        let err = with(
            r#"  - match: "team-a/*"
    replication: { destinations: [{ region: eu-west-1 }] }
"#,
        )
        .expect_err("a gated team-a/* under a native **")
        .to_string();
        assert!(err.contains("cannot leave them out"), "{err}");
        assert!(err.contains("`team-a/*`"), "{err}");
        with(
            r#"  - match: "team-a/**"
    replication: { native: true, require_pass: false, destinations: [{ region: eu-west-1 }] }
"#,
        )
        .expect("the same native replication, more specific: ECR does the same");
        with(
            r#"  - match: "team-a/*"
    gate: { max_findings: { CRITICAL: 0 } }
"#,
        )
        .expect("no replication of its own: the native rule decides for team-a too");
        Policy::from_yaml(
            r#"
version: 1
repositories:
  - match: "open/**"
    replication: { native: true, require_pass: false, destinations: [{ region: eu-west-1 }] }
  - match: "team-a/*"
    replication: { destinations: [{ region: eu-west-1 }] }
"#,
        )
        .expect("no overlap");
    }

    #[test]
    fn a_native_rule_ecr_cannot_carry_out_is_a_policy_error() {
        let err = Policy::from_yaml(
            r#"
version: 1
repositories:
  - match: "team-a/*"
    replication:
      native: true
      tags: ["v*"]
      destinations: [{ region: eu-west-1, repository: other, account: "210987654321", role_arn: "arn:aws:iam::210987654321:role/r" }]
"#,
        )
        .expect_err("invalid")
        .to_string();
        for expected in [
            "set require_pass: false",
            "no tag filter",
            "same repository name",
            "registry policy, not a role",
            "is not one (write `<prefix>**`",
        ] {
            assert!(err.contains(expected), "{expected}: {err}");
        }
    }
}
