//! `warden doctor IMAGE`: why a pull (ECS, EKS, docker) fails, one check after another, each with
//! what was found and the fix. Pure: the CLI reads the [`Facts`] and prints the [`Check`]s.
//!
//! Order follows a pull: the repository in that region and account, the tag (or digest), whether
//! scan-gate quarantined it (and, under a `signatures` policy, what its cosign signatures prove),
//! whether it is archived, then whether the repository policy lets the principal pull. A check
//! that cannot be made because an earlier one failed is `NotChecked`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::image_arg::ImageArg;
use super::resource_policy::{self, Decision, Principal};
use crate::image_ref::Reference;
use crate::names::{AccountId, Digest, Region, Tag};
use crate::signature::{SignatureCheck, SignatureEvidence, SignatureVerdict};

/// The two calls a pull makes against the repository (the token is account-wide, IAM only).
pub const PULL_ACTIONS: [&str; 2] = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Problem,
    NotChecked,
}

impl Status {
    pub fn mark(self) -> &'static str {
        match self {
            Status::Ok => "✓",
            Status::Problem => "✗",
            Status::NotChecked => "–",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub check: &'static str,
    pub status: Status,
    pub found: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// The image as DescribeImages shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFacts {
    pub digest: Digest,
    pub tags: Vec<Tag>,
    /// `ACTIVE`, `ARCHIVED` or `ACTIVATING`.
    pub status: Option<String>,
    pub archived_at: Option<DateTime<Utc>>,
    /// When it was pushed (a signature's grace runs from it).
    pub pushed_at: Option<DateTime<Utc>>,
}

/// A pull through cache rule: repositories named `<prefix>/<upstream repository>` are created and
/// filled from `upstream_url` on first pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullThroughRule {
    pub prefix: String,
    pub upstream_url: String,
}

impl PullThroughRule {
    /// Whether this rule caches `repository` (its first path segments are the prefix).
    pub fn caches(&self, repository: &str) -> bool {
        repository
            .strip_prefix(self.prefix.as_str())
            .is_some_and(|rest| rest.starts_with('/'))
    }
}

/// What was read. `None` in an optional read = not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub image: ImageArg,
    /// The registry asked (the URI's, or the credentials' account and the configured region).
    pub account: AccountId,
    pub region: Region,
    pub repository_exists: bool,
    /// Other regions of the account holding a repository of that name (read when it is missing).
    pub found_in: Vec<Region>,
    /// The image the argument names, `None` when ECR has no such tag or digest.
    pub found: Option<ImageFacts>,
    /// For a missing tag: the tags scan-gate's quarantine gave the images it was on.
    pub quarantined_as: Vec<Tag>,
    /// The pull through cache rule whose prefix the repository name starts with (read when the
    /// repository or the image is missing): the first pull creates and fills it from upstream.
    pub pull_through: Option<PullThroughRule>,
    /// The principal asked about, with the repository policy (`Some(None)`: the repository has
    /// none); `None` when no principal was given.
    pub principal: Option<(Principal, Option<String>)>,
    /// What the cosign and Notation signatures of the image (the one found, or the one
    /// quarantined under the tag) prove, when the repository's policy requires them.
    pub signature: Option<SignatureFacts>,
}

/// One image's signatures as the signature gate sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureFacts {
    pub digest: Digest,
    pub evidence: SignatureEvidence,
    /// What the policy trusts, in words ("a cosign signature by release").
    pub expected: String,
    /// How to sign: `cosign sign` when the policy requires cosign-key; `notation sign` with the
    /// first of these AWS Signer profiles when it requires notation.
    pub cosign: bool,
    pub notation_profiles: Vec<String>,
}

pub fn diagnose(facts: &Facts) -> Vec<Check> {
    let mut checks = vec![repository(facts)];
    if let Some(rule) = &facts.pull_through {
        checks.push(pull_through(facts, rule));
    }
    if !facts.repository_exists {
        let why = if facts.pull_through.is_some() {
            "the first pull creates the repository"
        } else {
            "the repository is missing"
        };
        for check in ["image", "quarantine", "storage class", "repository policy"] {
            checks.push(not_checked(check, why));
        }
        return checks;
    }
    checks.push(image(facts));
    checks.push(quarantine(facts));
    if let Some(signed) = &facts.signature {
        checks.push(signature(facts, signed));
    }
    checks.push(storage(facts));
    checks.push(repository_policy(facts));
    if let Some((principal, _)) = &facts.principal {
        checks.push(Check {
            check: "principal's IAM",
            status: Status::NotChecked,
            found: "its own IAM policies and ecr:GetAuthorizationToken (account-wide) are not read by warden".into(),
            fix: Some(iam_hint(principal, &facts.account, &facts.region, &facts.image)),
        });
    }
    checks
}

fn not_checked(check: &'static str, why: &str) -> Check {
    Check {
        check,
        status: Status::NotChecked,
        found: why.to_owned(),
        fix: None,
    }
}

fn uri(account: &AccountId, region: &Region, rest: &str) -> String {
    format!("{account}.dkr.ecr.{region}.amazonaws.com/{rest}")
}

/// The permissions a pull through the cache needs beyond a pull (ECR User Guide, "IAM permissions
/// required to sync an upstream registry").
const IMPORT_PERMISSIONS: &str = "ecr:BatchImportUpstreamImage (IAM, registry policy or repository policy) and, while the repository does not exist, ecr:CreateRepository (IAM or registry policy)";

fn pull_through(f: &Facts, rule: &PullThroughRule) -> Check {
    let found = format!(
        "{} is cached from {} by the pull through cache rule for {}/",
        f.image.repository, rule.upstream_url, rule.prefix
    );
    let needs_import = !f.repository_exists || f.found.is_none();
    Check {
        check: "pull through cache",
        status: Status::Ok,
        found: if needs_import {
            format!("{found}; not cached yet: the next pull imports it from upstream")
        } else {
            found
        },
        fix: needs_import.then(|| {
            format!("the principal that pulls first needs {IMPORT_PERMISSIONS}; the upstream must have the image (and, if it needs login, the rule its credential)")
        }),
    }
}

fn repository(f: &Facts) -> Check {
    let name = &f.image.repository;
    if !f.repository_exists && f.pull_through.is_some() {
        return Check {
            check: "repository",
            status: Status::Ok,
            found: format!(
                "{name} does not exist yet in {} (account {}): pull through cache",
                f.region, f.account
            ),
            fix: None,
        };
    }
    if f.repository_exists {
        return Check {
            check: "repository",
            status: Status::Ok,
            found: format!("{name} exists in {} (account {})", f.region, f.account),
            fix: None,
        };
    }
    let (found, fix) = match f.found_in.as_slice() {
        [] => (
            format!(
                "no repository {name} in account {} in any region looked at",
                f.account
            ),
            format!(
                "check the name and the account; create it with `aws ecr create-repository --repository-name {name} --region {}`",
                f.region
            ),
        ),
        regions => {
            let list = regions
                .iter()
                .map(Region::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            (
                format!("no repository {name} in {}; it exists in {list}", f.region),
                format!(
                    "pull from the region that has it ({}), or replicate it to {} (the policy's replication destinations)",
                    uri(&f.account, &regions[0], &f.image.to_string()),
                    f.region
                ),
            )
        }
    };
    Check {
        check: "repository",
        status: Status::Problem,
        found,
        fix: Some(fix),
    }
}

fn image(f: &Facts) -> Check {
    match (&f.found, &f.image.reference) {
        (Some(found), Reference::Tag(tag)) => Check {
            check: "image",
            status: Status::Ok,
            found: format!("{tag} → {}", found.digest),
            fix: None,
        },
        (Some(found), Reference::Digest(_)) => Check {
            check: "image",
            status: Status::Ok,
            found: format!("{} exists (tags: {})", found.digest.short(), list(&found.tags)),
            fix: None,
        },
        (None, reference) if f.pull_through.is_some() => Check {
            check: "image",
            status: Status::Ok,
            found: format!("{} is not cached yet: the next pull fetches it", match reference {
                Reference::Tag(tag) => tag.to_string(),
                Reference::Digest(digest) => digest.to_string(),
            }),
            fix: None,
        },
        (None, Reference::Tag(tag)) if !f.quarantined_as.is_empty() => Check {
            check: "image",
            status: Status::Problem,
            found: format!("no tag {tag} in {}: scan-gate moved it (see quarantine)", f.image.repository),
            fix: None,
        },
        (None, Reference::Tag(tag)) => Check {
            check: "image",
            status: Status::Problem,
            found: format!("no tag {tag} in {}", f.image.repository),
            fix: Some(
                "push it, or deploy a tag that exists (`aws ecr describe-images`); a tag can also be gone because it moved to a newer image or its image was cleaned up (janitor's messages name what it deleted)"
                    .into(),
            ),
        },
        (None, Reference::Digest(digest)) => Check {
            check: "image",
            status: Status::Problem,
            found: format!("no image {digest} in {}", f.image.repository),
            fix: Some("the image was deleted or never pushed here; redeploy with a digest that exists".into()),
        },
    }
}

fn quarantine(f: &Facts) -> Check {
    if f.quarantined_as.is_empty() {
        return Check {
            check: "quarantine",
            status: Status::Ok,
            found: "not quarantined".into(),
            fix: None,
        };
    }
    Check {
        check: "quarantine",
        status: Status::Problem,
        found: format!(
            "scan-gate quarantined the image that had this tag: now {}",
            list(&f.quarantined_as)
        ),
        fix: Some(format!(
            "fix the findings and push a new image, or add a time-boxed exception to the policy's gate; scan-gate gives the tag back on PASS (`warden gate {}:{}` shows the verdict)",
            f.image.repository, f.quarantined_as[0]
        )),
    }
}

/// Whether the image's signatures satisfy the policy, and how to sign it when they do not.
fn signature(f: &Facts, s: &SignatureFacts) -> Check {
    let image = format!("{}@{}", f.image.repository, s.digest);
    let what = match &s.evidence.check {
        SignatureCheck::Signed { key } => format!("signed by {key}"),
        SignatureCheck::Unsigned => "no signature".to_owned(),
        SignatureCheck::UntrustedSigner => "signed, but by no key the policy trusts".to_owned(),
        SignatureCheck::DigestMismatch { signed } => format!(
            "a trusted key's signature over another image ({signed}): copied, not signed for this one"
        ),
        SignatureCheck::SigningFailed { profile } => {
            format!("ECR managed signing failed ({profile})")
        }
        SignatureCheck::Revoked { by } => format!("its signature was revoked ({by})"),
    };
    let uri = uri(&f.account, &f.region, &image);
    let mut how = Vec::new();
    if s.cosign {
        how.push(format!("`cosign sign --key <that key> {uri}`"));
    }
    if let Some(profile) = s.notation_profiles.first() {
        how.push(format!(
            "`notation sign --plugin com.amazonaws.signer.notation.plugin --id {profile} {uri}`"
        ));
    }
    let fix = format!(
        "sign {image} with {}: {}; scan-gate decides again when the signature arrives (its `.sig` push or its referrer) and releases a quarantined image on PASS",
        s.expected,
        how.join(" and ")
    );
    let (status, found, fix) = match &s.evidence.verdict {
        SignatureVerdict::Pass { .. } => (Status::Ok, what, None),
        SignatureVerdict::Pending { until } => (
            Status::Problem,
            format!(
                "{what}: scan-gate waits for a signature until {} (grace), then quarantines it",
                until.to_rfc3339()
            ),
            Some(fix),
        ),
        SignatureVerdict::Fail { .. } => (
            Status::Problem,
            format!("{what}: the signature gate fails it"),
            Some(fix),
        ),
    };
    Check {
        check: "signature",
        status,
        found,
        fix,
    }
}

fn storage(f: &Facts) -> Check {
    let Some(found) = &f.found else {
        return not_checked("storage class", "no image to look at");
    };
    let restore = format!(
        "aws ecr update-image-storage-class --repository-name {} --image-id imageDigest={} --target-storage-class STANDARD --region {}",
        f.image.repository, found.digest, f.region
    );
    match found.status.as_deref() {
        Some("ARCHIVED") => Check {
            check: "storage class",
            status: Status::Problem,
            found: match found.archived_at {
                Some(at) => format!(
                    "archived on {}: ECR does not serve archived images",
                    at.format("%Y-%m-%d")
                ),
                None => "archived: ECR does not serve archived images".into(),
            },
            fix: Some(format!(
                "restore it ({restore}); it pulls again once ACTIVE"
            )),
        },
        Some("ACTIVATING") => Check {
            check: "storage class",
            status: Status::Problem,
            found: "being restored from the archive (ACTIVATING)".into(),
            fix: Some("wait until DescribeImages shows it ACTIVE".into()),
        },
        _ => Check {
            check: "storage class",
            status: Status::Ok,
            found: "ACTIVE".into(),
            fix: None,
        },
    }
}

/// The check of the principal's pull against the repository policy, by name.
const REPOSITORY_POLICY: &str = "repository policy";

fn repository_policy(f: &Facts) -> Check {
    let Some((principal, policy)) = &f.principal else {
        return not_checked(REPOSITORY_POLICY, "no --principal given");
    };
    let cross_account = principal.account() != f.account.as_str();
    let grant = format!(
        r#"{{"Sid":"pull","Effect":"Allow","Principal":{{"AWS":"{}"}},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}}"#,
        principal.arn()
    );
    let Some(policy) = policy else {
        return without_policy(f, principal, cross_account, &grant);
    };
    let mut allowed = Vec::new();
    for action in PULL_ACTIONS {
        match resource_policy::evaluate(policy, principal, action) {
            Err(e) => return not_checked(REPOSITORY_POLICY, &e),
            Ok(Decision::Denied { sid, conditional }) => {
                return denied(f, principal, action, sid, conditional);
            }
            Ok(Decision::NoStatement) if cross_account => {
                return Check {
                    check: REPOSITORY_POLICY,
                    status: Status::Problem,
                    found: format!(
                        "no statement allows {} {action} (another account's principal needs one)",
                        principal.arn()
                    ),
                    fix: Some(format!("add a statement: {grant}")),
                };
            }
            Ok(Decision::Allowed {
                conditional: true, ..
            }) => allowed.push(format!("{action} (when its Condition holds)")),
            Ok(_) => allowed.push(action.to_owned()),
        }
    }
    Check {
        check: REPOSITORY_POLICY,
        status: Status::Ok,
        found: if cross_account {
            format!("allows {}", allowed.join(", "))
        } else {
            format!(
                "denies nothing a pull needs ({}); the principal's IAM policies decide",
                allowed.join(", ")
            )
        },
        fix: None,
    }
}

/// Without a repository policy, another account's principal cannot pull (the fix is `grant`); the
/// registry's own account's IAM policies decide.
fn without_policy(f: &Facts, principal: &Principal, cross_account: bool, grant: &str) -> Check {
    if cross_account {
        Check {
            check: REPOSITORY_POLICY,
            status: Status::Problem,
            found: format!(
                "no repository policy: account {}'s principals cannot pull from account {}",
                principal.account(),
                f.account
            ),
            fix: Some(format!("add a repository policy statement: {grant}")),
        }
    } else {
        Check {
            check: REPOSITORY_POLICY,
            status: Status::Ok,
            found: "no repository policy; same account: the principal's IAM policies decide".into(),
            fix: None,
        }
    }
}

/// A statement (`sid`) of the repository policy denies the principal `action`: the problem, and
/// the command that shows the statement to remove or narrow.
fn denied(
    f: &Facts,
    principal: &Principal,
    action: &str,
    sid: Option<String>,
    conditional: bool,
) -> Check {
    let sid = sid.map_or_else(|| "a statement".to_owned(), |s| format!("statement {s:?}"));
    let when = if conditional {
        " when its Condition holds"
    } else {
        ""
    };
    Check {
        check: REPOSITORY_POLICY,
        status: Status::Problem,
        found: format!("{sid} denies {} {action}{when}", principal.arn()),
        fix: Some(format!(
            "remove or narrow {sid} (`aws ecr get-repository-policy --repository-name {}`)",
            f.image.repository
        )),
    }
}

/// The principal's own IAM policies and `ecr:GetAuthorizationToken` (account-wide, `Resource: *`)
/// are not read by warden; this is the command that checks them.
fn iam_hint(
    principal: &Principal,
    account: &AccountId,
    region: &Region,
    image: &ImageArg,
) -> String {
    format!(
        "aws iam simulate-principal-policy --policy-source-arn {} --action-names ecr:GetAuthorizationToken ecr:BatchGetImage ecr:GetDownloadUrlForLayer --resource-arns arn:aws:ecr:{region}:{account}:repository/{}",
        principal.arn(),
        image.repository
    )
}

fn list(tags: &[Tag]) -> String {
    if tags.is_empty() {
        return "none".into();
    }
    tags.iter().map(Tag::as_str).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests;
