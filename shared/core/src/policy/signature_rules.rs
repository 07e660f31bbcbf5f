//! What the schema cannot say about a `signatures` section: each required kind has what it is
//! checked against (and nothing is given for a kind not required), every PEM key parses as an
//! ECDSA P-256 public key, and key names are distinct.

use std::collections::BTreeSet;

use serde_json::Value;

use super::problem::Problem;
use crate::signature::keys::TrustedKey;

/// The problems of `rule`'s `signatures` section, under `at` (`repositories[i]`).
pub(super) fn signature_problems(problems: &mut Vec<Problem>, at: &str, section: Option<&Value>) {
    let Some(section) = section else { return };
    let at = format!("{at}.signatures");
    let required: Vec<&str> = section
        .get("require")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (kind, field, what) in [
        ("cosign-key", "keys", "a key to trust"),
        ("notation", "notation", "the signing profiles to trust"),
        (
            "ecr-managed",
            "ecr_managed",
            "the signing profiles ECR signs with",
        ),
    ] {
        match (required.contains(&kind), section.get(field).is_some()) {
            (true, false) => problems.push(Problem {
                path: format!("{at}.{field}"),
                message: format!("`require` lists {kind}, but `{field}` gives no {what}"),
            }),
            (false, true) => problems.push(Problem {
                path: format!("{at}.{field}"),
                message: format!(
                    "`{field}` is only read for {kind}, which `require` does not list: add it or remove `{field}`"
                ),
            }),
            _ => {}
        }
    }
    key_problems(problems, &at, section.get("keys"));
}

/// Each key's PEM parses; no two keys share a name.
fn key_problems(problems: &mut Vec<Problem>, at: &str, keys: Option<&Value>) {
    let keys = keys
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut names = BTreeSet::new();
    for (j, key) in keys.iter().enumerate() {
        let name = key.get("name").and_then(Value::as_str).unwrap_or_default();
        if !names.insert(name) {
            problems.push(Problem {
                path: format!("{at}.keys[{j}].name"),
                message: format!("key `{name}` is listed twice"),
            });
        }
        if let Some(pem) = key.get("pem").and_then(Value::as_str)
            && let Err(e) = TrustedKey::from_pem(name, pem)
        {
            problems.push(Problem {
                path: format!("{at}.keys[{j}].pem"),
                message: e,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::names::RepositoryName;
    use crate::policy::{Policy, SignatureKind};

    /// A P-256 public key as `cosign generate-key-pair` writes it (sigstore-rs's test vector).
    const PEM: &str = "-----BEGIN PUBLIC KEY-----\n    MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENptdY/l3nB0yqkXLBWkZWQwo6+cu\n    OSWS1X9vPavpiQOoTTGC0xX57OojUadxF1cdQmrsiReWg2Wn4FneJfa8xw==\n    -----END PUBLIC KEY-----";

    fn problems(signatures: &str) -> Vec<String> {
        let yaml =
            format!("version: 1\nrepositories:\n  - match: 'app/*'\n    signatures:\n{signatures}");
        match Policy::from_yaml(&yaml) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn a_valid_signatures_section_resolves_with_its_keys_and_grace() {
        let yaml = format!(
            "version: 1\nrepositories:\n  - match: 'app/*'\n    signatures:\n      require: [cosign-key]\n      keys:\n        - name: release\n          pem: |\n            {}\n",
            PEM.replace("\n    ", "\n            ")
        );
        let policy = Policy::from_yaml(&yaml).expect("valid");
        let resolved = policy.for_repository(&RepositoryName::new("app/api").expect("name"));
        let section = resolved.signatures.expect("signatures");
        assert_eq!(section.value.require, vec![SignatureKind::CosignKey]);
        assert_eq!(section.value.grace_seconds(), 600);
        assert_eq!(section.value.pem_keys().len(), 1);
        assert_eq!(section.value.pem_keys()[0].name, "release");
    }

    #[test]
    fn each_required_kind_needs_what_it_is_checked_against() {
        let found = problems("      require: [cosign-key, notation, ecr-managed]\n");
        assert_eq!(found.len(), 3, "{found:?}");
        for (field, kind) in [
            ("keys", "cosign-key"),
            ("notation", "notation"),
            ("ecr_managed", "ecr-managed"),
        ] {
            let expected = format!("repositories[0].signatures.{field}: `require` lists {kind}");
            assert!(
                found.iter().any(|p| p.starts_with(&expected)),
                "{expected}: {found:?}"
            );
        }
        let unused = problems(
            "      require: [notation]\n      notation: { signing_profiles: ['arn:aws:signer:us-east-1:123456789012:/signing-profiles/release'] }\n      keys: [{ name: k, kms_key_id: alias/release }]\n",
        );
        assert_eq!(unused.len(), 1, "{unused:?}");
        assert!(
            unused[0].contains("`keys` is only read for cosign-key"),
            "{unused:?}"
        );
    }

    #[test]
    fn a_key_that_does_not_parse_an_unknown_field_and_a_bad_profile_arn_are_named() {
        let found = problems(
            "      require: [cosign-key, notation]\n      keys:\n        - { name: a, pem: 'not a key' }\n        - { name: a, kms_key_id: alias/x }\n      notation: { signing_profiles: ['arn:aws:iam::123456789012:role/x'] }\n      grace: 5\n",
        );
        let joined = found.join("\n");
        assert!(
            joined
                .contains("repositories[0].signatures.keys[0].pem: not an ECDSA P-256 public key"),
            "{joined}"
        );
        assert!(
            joined.contains("repositories[0].signatures.keys[1].name: key `a` is listed twice"),
            "{joined}"
        );
        assert!(joined.contains("signing_profiles"), "{joined}");
        assert!(joined.contains("grace"), "{joined}");
    }
}
