//! The emulator probe for registry-wide settings (see emulator_probe/ for the rest): ECR's
//! replication configuration within its limits, and pull through cache rules, which stock moto
//! 5.2.5 refuses (more than one replication rule) or lacks (pull through cache).
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use warden_tests::Emulator;

/// Cites "Private image replication" (Amazon ECR User Guide): "The replication configuration for a
/// private registry may contain up to 25 unique destinations across all rules, with a maximum of 10
/// rules total. Each rule may contain up to 100 filters." (The current API reference says 25 rules:
/// the `replication_rules_limit` reading; 10 rules are taken and 26 refused under both.)
#[tokio::test]
async fn put_replication_configuration_takes_several_rules_within_ecrs_limits() {
    use aws_sdk_ecr::types::{
        ReplicationConfiguration, ReplicationDestination, ReplicationRule, RepositoryFilter,
        RepositoryFilterType,
    };
    let acct = Emulator::shared().account().await;
    let ecr = aws_sdk_ecr::Client::new(&acct.sdk);
    let rule = |region: &str, prefix: &str| {
        ReplicationRule::builder()
            .destinations(
                ReplicationDestination::builder()
                    .region(region)
                    .registry_id(&acct.id)
                    .build()
                    .unwrap(),
            )
            .repository_filters(
                RepositoryFilter::builder()
                    .filter(prefix)
                    .filter_type(RepositoryFilterType::PrefixMatch)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    };
    let put = |rules: Vec<ReplicationRule>| {
        ecr.put_replication_configuration()
            .replication_configuration(
                ReplicationConfiguration::builder()
                    .set_rules(Some(rules))
                    .build()
                    .unwrap(),
            )
            .send()
    };
    put(vec![rule("eu-west-1", "open/"), rule("us-west-2", "dr/")])
        .await
        .expect("two rules, as ECR takes");
    let registry = ecr.describe_registry().send().await.unwrap();
    assert_eq!(
        registry.replication_configuration().unwrap().rules().len(),
        2
    );
    // Rules per configuration: 10 (service quotas page, user guide) or 25 (API reference): 10 is
    // taken and 26 refused under both readings.
    let rules = |n: usize| -> Vec<_> {
        (0..n)
            .map(|i| rule("eu-west-1", &format!("p{i}/")))
            .collect()
    };
    put(rules(10)).await.expect("10 rules");
    let err = put(rules(26)).await.expect_err("26 rules");
    assert!(
        format!("{err:?}").contains("less than or equal to"),
        "{err:?}"
    );
}

/// Cites CreatePullThroughCacheRule (Amazon ECR API Reference): PullThroughCacheRuleAlreadyExists,
/// "A pull through cache rule with these settings already exists for the private registry.";
/// UnsupportedUpstreamRegistryException, "The specified upstream registry isn't supported."; the
/// response's upstreamRegistry, "The name of the upstream registry associated with the pull through
/// cache rule."; DescribePullThroughCacheRules' PullThroughCacheRuleNotFoundException, "The pull
/// through cache rule was not found."
#[tokio::test]
async fn pull_through_cache_rules_are_kept_and_refused_as_ecr_does() {
    let acct = Emulator::shared().account().await;
    let ecr = aws_sdk_ecr::Client::new(&acct.sdk);
    let create = |prefix: &'static str, url: &'static str| {
        ecr.create_pull_through_cache_rule()
            .ecr_repository_prefix(prefix)
            .upstream_registry_url(url)
            .send()
    };
    let made = create("ecr-public", "public.ecr.aws").await.unwrap();
    assert_eq!(made.ecr_repository_prefix(), Some("ecr-public"));
    assert_eq!(
        made.upstream_registry().map(|u| u.as_str()),
        Some("ecr-public")
    );
    let unsupported = create("nowhere", "registry.invalid").await.unwrap_err();
    assert!(
        unsupported
            .as_service_error()
            .unwrap()
            .is_unsupported_upstream_registry_exception(),
        "{unsupported:?}"
    );
    assert_eq!(made.registry_id(), Some(acct.id.as_str()));
    create("k8s", "registry.k8s.io").await.unwrap();
    let again = create("k8s", "registry.k8s.io").await.unwrap_err();
    assert!(
        again
            .as_service_error()
            .unwrap()
            .is_pull_through_cache_rule_already_exists_exception()
    );

    let all = ecr
        .describe_pull_through_cache_rules()
        .send()
        .await
        .unwrap();
    let mut prefixes: Vec<_> = all
        .pull_through_cache_rules()
        .iter()
        .map(|r| {
            (
                r.ecr_repository_prefix().unwrap(),
                r.upstream_registry_url().unwrap(),
            )
        })
        .collect();
    prefixes.sort(); // the order is not written down
    assert_eq!(
        prefixes,
        [("ecr-public", "public.ecr.aws"), ("k8s", "registry.k8s.io")]
    );
    let unknown = ecr
        .describe_pull_through_cache_rules()
        .ecr_repository_prefixes("quay")
        .send()
        .await
        .unwrap_err();
    assert!(
        unknown
            .as_service_error()
            .unwrap()
            .is_pull_through_cache_rule_not_found_exception()
    );
}
