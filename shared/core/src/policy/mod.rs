//! The policy: one YAML file saying, per repository pattern, what ecr-warden enforces.
//!
//! [`Policy::from_yaml`] validates against the published JSON Schema (`policy.schema.json`) and ECR's
//! own limits, reporting *every* problem with its key path, before anything can act on the policy.
//! [`Policy::for_repository`] resolves which pattern's section applies (see `resolve.rs`).

mod lifecycle_rules;
mod problem;
mod replication_rules;
mod resolve;
mod signature_rules;
mod validate;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use problem::{PolicyError, Problem};
pub use replication_rules::ecr_filter_prefix;
pub use resolve::{Resolved, Section, specificity};

use crate::mutability::TagMutability;
use crate::severity::Severity;

/// The JSON Schema the policy file is checked against (also published as `shared/core/policy.schema.json`).
pub const SCHEMA: &str = include_str!("../../policy.schema.json");

/// The prefix of scan-gate's quarantine tags when the policy names none (janitor keeps them too).
pub const DEFAULT_QUARANTINE_PREFIX: &str = "quarantine-";

/// A validated policy with its repository patterns compiled. Build it with [`Policy::from_yaml`].
#[derive(Debug, Clone)]
pub struct Policy {
    document: PolicyDocument,
    matchers: Vec<globset::GlobMatcher>,
}

/// The policy file as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    pub version: u32,
    #[serde(default)]
    pub defaults: Defaults,
    /// Other accounts this deployment acts in, each through a role there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<NamedAccount>,
    pub repositories: Vec<RepositoryRule>,
}

/// An account other than the deployment's own whose events are acted on, with the role to act as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedAccount {
    pub id: String,
    pub role_arn: String,
    #[serde(default)]
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub notify: Option<Notify>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepositoryRule {
    /// Glob over repository names (`*` within a segment, `**` across `/`).
    #[serde(rename = "match")]
    pub pattern: String,
    #[serde(default)]
    pub dry_run: Option<bool>,
    #[serde(default)]
    pub immutability: Option<TagMutability>,
    #[serde(default)]
    pub protected_tags: Option<ProtectedTags>,
    #[serde(default)]
    pub gate: Option<Gate>,
    #[serde(default)]
    pub replication: Option<Replication>,
    #[serde(default)]
    pub notify: Option<Notify>,
    #[serde(default)]
    pub cleanup: Option<Cleanup>,
    #[serde(default)]
    pub signatures: Option<Signatures>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtectedTags {
    #[serde(default)]
    pub patterns: Vec<String>,
    #[serde(default)]
    pub semver: bool,
    #[serde(default)]
    pub offender: Offender,
}

/// What becomes of the image a protected tag was moved to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Offender {
    /// Kept under a tag made from a template with `{tag}` and `{short_digest}`.
    Keep { keep_as: String },
    /// `"untagged"`: left in the repository without a tag.
    Untagged(UntaggedWord),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UntaggedWord {
    Untagged,
}

impl Default for Offender {
    fn default() -> Self {
        Self::Keep {
            keep_as: "rejected-{tag}-{short_digest}".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    #[serde(default)]
    pub max_findings: BTreeMap<Severity, u64>,
    #[serde(default)]
    pub untriaged_as: Option<UntriagedAs>,
    #[serde(default)]
    pub only_fixable: bool,
    #[serde(default)]
    pub exceptions: Vec<CveException>,
    #[serde(default)]
    pub on_fail: Option<OnFail>,
    #[serde(default)]
    pub on_scan_failure: Option<OnScanFailure>,
    #[serde(default)]
    pub quarantine_prefix: Option<String>,
}

/// How UNTRIAGED / UNDEFINED findings count: as a severity, or not at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum UntriagedAs {
    Ignore(IgnoreWord),
    As(Severity),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IgnoreWord {
    Ignore,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CveException {
    pub cve: String,
    #[serde(default)]
    pub package: Option<String>,
    /// Last day (UTC) on which the exception applies.
    pub expires: NaiveDate,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFail {
    Quarantine,
    Notify,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnScanFailure {
    Fail,
    Pass,
}

/// How long after its push an image may wait for its signature when the policy does not say.
pub const DEFAULT_GRACE_SECONDS: u64 = 600;

/// Which signatures an image needs to be promoted and stay deployable (docs/signatures.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signatures {
    pub require: Vec<SignatureKind>,
    #[serde(default)]
    pub keys: Vec<SignatureKey>,
    #[serde(default)]
    pub notation: Option<NotationTrust>,
    #[serde(default)]
    pub ecr_managed: Option<SigningProfiles>,
    #[serde(default)]
    pub grace_seconds: Option<u64>,
    #[serde(default)]
    pub on_fail: Option<OnFail>,
}

impl Signatures {
    /// How long after its push an unsigned image waits for its signature.
    pub fn grace_seconds(&self) -> u64 {
        self.grace_seconds.unwrap_or(DEFAULT_GRACE_SECONDS)
    }

    /// What a failed check does: quarantine unless the policy says `notify`.
    pub fn on_fail(&self) -> OnFail {
        self.on_fail.unwrap_or(OnFail::Quarantine)
    }

    /// The KMS keys trusted for cosign signatures, (name, key id): their public keys are read by
    /// the function that checks (kms:GetPublicKey).
    pub fn kms_keys(&self) -> Vec<(&str, &str)> {
        self.keys
            .iter()
            .filter_map(|k| Some((k.name.as_str(), k.kms_key_id.as_deref()?)))
            .collect()
    }

    /// The PEM keys trusted for cosign signatures (validation refused a policy where one does
    /// not parse; KMS keys are read by the function that checks).
    pub fn pem_keys(&self) -> Vec<crate::trusted_key::TrustedKey> {
        self.keys
            .iter()
            .filter_map(|k| {
                let pem = k.pem.as_deref()?;
                crate::trusted_key::TrustedKey::from_pem(&k.name, pem).ok()
            })
            .collect()
    }
}

/// A kind of signature a policy may require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureKind {
    /// A cosign signature by one of the policy's keys.
    CosignKey,
    /// A Notation signature by one of the trusted AWS Signer profiles.
    Notation,
    /// ECR's managed signing, COMPLETE for every profile named.
    EcrManaged,
}

/// A key trusted for cosign signatures: a PEM public key, or a KMS key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureKey {
    pub name: String,
    #[serde(default)]
    pub pem: Option<String>,
    #[serde(default)]
    pub kms_key_id: Option<String>,
}

/// Whose Notation signatures are trusted: AWS Signer signing profiles, and the trust store the
/// signatures' certificate chains must reach (the AWS Signer root).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotationTrust {
    pub signing_profiles: Vec<String>,
    pub trust_store: Vec<String>,
}

impl NotationTrust {
    /// The trust store's certificates (validation refused a policy where one does not parse).
    pub fn anchors(&self) -> Vec<crate::certificate::Cert> {
        self.trust_store
            .iter()
            .filter_map(|pem| crate::certificate::Cert::from_pem_chain(pem).ok())
            .flatten()
            .collect()
    }
}

/// AWS Signer signing profile ARNs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningProfiles {
    pub signing_profiles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replication {
    #[serde(default)]
    pub require_pass: Option<bool>,
    /// Leave the copying to ECR's own replication: the registry's replication configuration is
    /// reconciled from the policy (`warden replicate --native`) and the replicator copies nothing.
    #[serde(default)]
    pub native: Option<bool>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub destinations: Vec<Destination>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    pub region: String,
    #[serde(default)]
    pub account: Option<String>,
    /// The role to assume in `account` (required with `account`).
    #[serde(default)]
    pub role_arn: Option<String>,
    /// The external id that role's trust policy demands (the confused-deputy guard).
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub repository: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    #[serde(default)]
    pub topic_arn: Option<String>,
    #[serde(default)]
    pub slack: Vec<SlackRoute>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackRoute {
    pub name: String,
    pub webhook_secret: String,
    #[serde(default)]
    pub min_severity: Option<Severity>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cleanup {
    #[serde(default)]
    pub apply: bool,
    #[serde(default)]
    pub grace_days: Option<u32>,
    #[serde(default)]
    pub keep_quarantined: Option<bool>,
    #[serde(default)]
    pub protect_tags: Vec<String>,
    #[serde(default)]
    pub allow_digests: Vec<String>,
    #[serde(default)]
    pub ecs_keep_revisions: Option<u32>,
    /// Keep images pulled within this many days (ECR's `lastRecordedPullTime`): the in-use
    /// signal for what janitor cannot list — EKS, EC2, Batch, other accounts. ECR records pulls
    /// up to about 24 hours late, so leave a day of slack.
    #[serde(default)]
    pub keep_pulled_within_days: Option<u32>,
    #[serde(default)]
    pub rules: Vec<CleanupRule>,
    /// Native ECR lifecycle rules (ECR's JSON shape), reconciled by janitor.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifecycle: Vec<LifecycleRule>,
}

/// One ECR lifecycle policy rule, field for field as ECR writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LifecycleRule {
    pub rule_priority: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub selection: LifecycleSelection,
    pub action: LifecycleAction,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LifecycleSelection {
    pub tag_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_pattern_list: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_prefix_list: Option<Vec<String>>,
    pub count_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count_unit: Option<String>,
    pub count_number: u32,
    /// `standard` (ECR's default) or `archive` (with `sinceImageTransitioned`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleAction {
    /// `expire`, or `transition` to the archive storage class.
    #[serde(rename = "type")]
    pub action_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_storage_class: Option<String>,
}

/// The ECR lifecycle policy text for these rules (rules in priority order).
pub fn lifecycle_policy_text(rules: &[LifecycleRule]) -> String {
    let mut rules = rules.to_vec();
    rules.sort_by_key(|r| r.rule_priority);
    serde_json::json!({ "rules": rules }).to_string()
}

/// Whether two lifecycle policy texts say the same (JSON equality, rules in priority order).
pub fn same_lifecycle_policy(a: &str, b: &str) -> bool {
    let normal = |text: &str| -> Option<serde_json::Value> {
        let mut v: serde_json::Value = serde_json::from_str(text).ok()?;
        if let Some(rules) = v.get_mut("rules").and_then(|r| r.as_array_mut()) {
            rules.sort_by_key(|r| r["rulePriority"].as_u64().unwrap_or(0));
        }
        Some(v)
    };
    matches!((normal(a), normal(b)), (Some(x), Some(y)) if x == y)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanupRule {
    pub priority: u32,
    #[serde(default)]
    pub description: Option<String>,
    pub select: CleanupSelect,
    #[serde(default)]
    pub keep_newest: Option<u32>,
    #[serde(default)]
    pub older_than_days: Option<u32>,
    #[serde(default)]
    pub since: Option<AgeSince>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanupSelect {
    pub tag_status: TagStatus,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagStatus {
    Tagged,
    Untagged,
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgeSince {
    Push,
    Pull,
}

impl Policy {
    /// Parse and validate a policy file's text. Every problem is reported, each with its key path.
    pub fn from_yaml(text: &str) -> Result<Self, PolicyError> {
        let document = validate::load(text)?;
        let matchers = document
            .repositories
            .iter()
            .enumerate()
            .map(|(i, rule)| {
                resolve::compile(&rule.pattern).map_err(|message| PolicyError {
                    problems: vec![Problem {
                        path: format!("repositories[{i}].match"),
                        message,
                    }],
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { document, matchers })
    }

    pub fn document(&self) -> &PolicyDocument {
        &self.document
    }

    /// The other accounts the policy names (their events are acted on through their roles).
    pub fn accounts(&self) -> &[NamedAccount] {
        &self.document.accounts
    }

    /// Whether any rule has a `signatures` section (scan-gate then schedules grace deadlines).
    pub fn requires_signatures(&self) -> bool {
        self.document
            .repositories
            .iter()
            .any(|r| r.signatures.is_some())
    }
}
