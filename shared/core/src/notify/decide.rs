//! The notifier's pure decisions: a message's routes and its fingerprint.

use sha2::Digest as _;

use crate::message::{Body, Message};
use crate::policy::{Policy, SlackRoute};
use crate::verdict::Verdict;

/// The Slack routes `message` goes to.
pub fn routes<'p>(policy: &'p Policy, message: &Message) -> Vec<&'p SlackRoute> {
    let mut named: Vec<&SlackRoute> = Vec::new();
    let rules = policy.matching_rules(&message.repository);
    let sections = rules
        .iter()
        .filter_map(|r| r.notify.as_ref())
        .chain(policy.document().defaults.notify.as_ref());
    // A name is one route: its first definition (the most specific rule's) decides, also when its
    // `min_severity` filters the message out — a default of the same name does not post instead.
    for route in sections.flat_map(|n| n.slack.iter()) {
        if named.iter().all(|r| r.name != route.name) {
            named.push(route);
        }
    }
    named.retain(|route| severe_enough(route, message));
    named
}

fn severe_enough(route: &SlackRoute, message: &Message) -> bool {
    match (&route.min_severity, &message.body) {
        // A FAIL with no severity (the scan failed, or a quarantine could not be done) is as
        // serious as it gets: every route hears it.
        (Some(_), Body::Verdict(v)) if v.verdict == Verdict::Fail && v.max_severity.is_none() => {
            true
        }
        (Some(min), Body::Verdict(v)) => v
            .max_severity
            .as_ref()
            .is_some_and(|s| s.rank() >= min.rank()),
        _ => true,
    }
}

/// A message's findings by id and package, sorted, for its fingerprint.
fn finding_ids(findings: &[crate::verdict::Finding]) -> String {
    let mut ids: Vec<String> = findings
        .iter()
        .map(|f| format!("{}|{}", f.id, f.package.as_deref().unwrap_or_default()))
        .collect();
    ids.sort();
    ids.join(",")
}

/// What makes two messages the same news.
pub fn fingerprint(message: &Message) -> String {
    let mut h = sha2::Sha256::new();
    let mut part = |s: &str| {
        h.update(s.as_bytes());
        h.update(b"\x1f");
    };
    part(message.body.kind());
    part(message.repository.as_str());
    part(&message.action.to_string());
    match &message.body {
        Body::Verdict(v) => {
            part(v.digest.as_str());
            part(v.verdict.as_str());
            part(&finding_ids(&v.findings));
            part(&v.findings_total.to_string());
        }
        Body::TagReverted {
            tag,
            restored_digest,
            offending_digest,
            ..
        }
        | Body::TagRevertImpossible {
            tag,
            recorded_digest: restored_digest,
            offending_digest,
            ..
        }
        | Body::TagAccepted {
            tag,
            previous_digest: restored_digest,
            accepted_digest: offending_digest,
            ..
        } => {
            part(tag.as_str());
            part(restored_digest.as_str());
            part(offending_digest.as_str());
        }
        Body::RepositoryFixed { after, .. } => {
            part(&serde_json::to_string(after).unwrap_or_default())
        }
        Body::Cleanup(c) => part(&format!(
            "{}|{}|{}",
            c.applied, c.images_deleted, c.bytes_freed
        )),
        Body::Replication(r) => {
            part(r.digest.as_str());
            for copy in &r.copies {
                part(&copy.target);
            }
            part(&r.planned.join(","));
            part(&r.failures.join(","));
        }
    }
    hex::encode(&h.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn low_fail(repository: &str) -> Message {
        serde_json::from_value(serde_json::json!({
            "schema": crate::message::SCHEMA, "function": "scan-gate", "account": "123456789012",
            "region": "us-east-1", "repository": repository, "action": "quarantined",
            "dry_run": false, "kind": "verdict",
            "digest": format!("sha256:{}", "a".repeat(64)), "tags": ["v1"], "verdict": "FAIL",
            "max_severity": "LOW", "scan": "enhanced", "counts": {"LOW": 1}, "reasons": [],
            "exceptions_applied": [], "exceptions_expired": [], "findings": [],
            "findings_total": 1, "policy_pattern": null
        }))
        .expect("a verdict message")
    }

    /// A route name is one route: the most specific rule's definition decides, and a default of the
    /// same name does not post when that definition's `min_severity` filters the message out.
    #[test]
    fn a_route_name_is_decided_by_its_most_specific_definition() {
        let policy = Policy::from_yaml(
            r#"
version: 1
defaults:
  notify: { slack: [{ name: platform, webhook_secret: slack/all }, { name: audit, webhook_secret: slack/audit }] }
repositories:
  - match: "team-a/*"
    notify: { slack: [{ name: platform, webhook_secret: slack/platform, min_severity: CRITICAL }] }
"#,
        )
        .expect("policy");
        let names = |repo: &str| -> Vec<String> {
            routes(&policy, &low_fail(repo))
                .iter()
                .map(|r| r.name.clone())
                .collect()
        };
        assert_eq!(
            names("team-a/api"),
            vec!["audit"],
            "platform filtered by its rule's CRITICAL"
        );
        assert_eq!(
            names("team-b/api"),
            vec!["platform", "audit"],
            "no rule: the defaults"
        );
    }
}
