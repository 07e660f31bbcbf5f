//! ECR managed signing: "When an image is pushed to a matching repository, a signing job is
//! created using the specified profile" (AWS::ECR::SigningConfiguration Rule), and
//! DescribeImageSigningStatus returns "a status … for each profile": `IN_PROGRESS`, `COMPLETE`
//! ("The signature was successfully generated"), `FAILED` (ImageSigningStatus). An image passes
//! when every profile the policy requires is COMPLETE.

use super::SignatureCheck;
use crate::records::SigningStatus;

/// A signing profile ARN without its version: ECR reports
/// `arn:…:signer:<region>:<account>:/signing-profiles/<name>`, a policy may name a version.
fn profile(arn: &str) -> &str {
    match arn.split_once(":/signing-profiles/") {
        Some((head, rest)) => {
            let name_len = rest.find('/').unwrap_or(rest.len());
            &arn[..head.len() + ":/signing-profiles/".len() + name_len]
        }
        None => arn,
    }
}

/// What the image's signing statuses show for the `required` profiles: every one COMPLETE is
/// Signed (by the profiles' names); one FAILED is `signing_failed` (with ECR's failure code and
/// reason); one IN_PROGRESS or never started is unsigned (yet).
pub fn check(required: &[String], statuses: &[SigningStatus]) -> SignatureCheck {
    let mut names = Vec::new();
    let mut missing = false;
    for wanted in required {
        let status = statuses
            .iter()
            .find(|s| profile(&s.profile_arn) == profile(wanted));
        match status.map(|s| s.status.as_str()) {
            Some("COMPLETE") => names.push(
                profile(wanted)
                    .rsplit('/')
                    .next()
                    .unwrap_or(wanted)
                    .to_owned(),
            ),
            Some("FAILED") => {
                let s = status.map(|s| {
                    format!(
                        "{} ({}: {})",
                        profile(wanted),
                        s.failure_code.as_deref().unwrap_or("no code"),
                        s.failure_reason.as_deref().unwrap_or("no reason")
                    )
                });
                return SignatureCheck::SigningFailed {
                    profile: s.unwrap_or_else(|| wanted.clone()),
                };
            }
            _ => missing = true,
        }
    }
    if missing || names.is_empty() {
        SignatureCheck::Unsigned
    } else {
        SignatureCheck::Signed {
            key: format!("ecr-managed:{}", names.join(",")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELEASE: &str = "arn:aws:signer:us-east-1:111122223333:/signing-profiles/release";
    const AUDIT: &str = "arn:aws:signer:us-east-1:111122223333:/signing-profiles/audit";

    fn status(arn: &str, status: &str) -> SigningStatus {
        SigningStatus {
            profile_arn: arn.to_owned(),
            status: status.to_owned(),
            failure_code: (status == "FAILED").then(|| "ACCESS_DENIED".to_owned()),
            failure_reason: (status == "FAILED").then(|| "no signer:SignPayload".to_owned()),
        }
    }

    /// ImageSigningStatus: COMPLETE "The signature was successfully generated"; FAILED "Signing
    /// failed. See failureCode and failureReason"; IN_PROGRESS "Signing is currently in progress".
    #[test]
    fn every_required_profile_complete_passes_a_failed_one_fails_and_in_progress_waits() {
        let required = [RELEASE.to_owned(), format!("{AUDIT}/a1B2c3D4e5")];
        let complete = [status(RELEASE, "COMPLETE"), status(AUDIT, "COMPLETE")];
        assert_eq!(
            check(&required, &complete),
            SignatureCheck::Signed {
                key: "ecr-managed:release,audit".into()
            }
        );
        let failed = [status(RELEASE, "COMPLETE"), status(AUDIT, "FAILED")];
        let SignatureCheck::SigningFailed { profile } = check(&required, &failed) else {
            panic!("not signing_failed");
        };
        assert!(
            profile.starts_with(AUDIT) && profile.contains("ACCESS_DENIED"),
            "{profile}"
        );
        let waiting = [status(RELEASE, "COMPLETE"), status(AUDIT, "IN_PROGRESS")];
        assert_eq!(check(&required, &waiting), SignatureCheck::Unsigned);
        let one_only = [status(RELEASE, "COMPLETE")];
        assert_eq!(check(&required, &one_only), SignatureCheck::Unsigned);
        let other = [status(
            "arn:aws:signer:us-east-1:111122223333:/signing-profiles/other",
            "COMPLETE",
        )];
        assert_eq!(
            check(&[RELEASE.to_owned()], &other),
            SignatureCheck::Unsigned
        );
    }
}
