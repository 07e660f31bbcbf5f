//! What the schema cannot say about a `signatures` section: each required kind has what it is
//! checked against (and nothing is given for a kind not required), every key is a PEM that parses
//! as an ECDSA P-256 public key (a KMS key's is checked when it is read), key names are distinct,
//! every signing-profile ARN names an AWS Signer signing profile, and every Notation trust-store
//! entry is PEM certificates.

use std::collections::BTreeSet;

use serde_json::Value;

use super::problem::Problem;
use crate::certificate::Cert;
use crate::trusted_key::TrustedKey;

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
        ("cosign-key", "keys", "key to trust"),
        ("notation", "notation", "signing profiles to trust"),
        (
            "ecr-managed",
            "ecr_managed",
            "signing profiles ECR signs with",
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
    trust_store_problems(problems, &at, section.get("notation"));
    key_problems(problems, &at, section.get("keys"));
    for field in ["notation", "ecr_managed"] {
        let profiles = section
            .pointer(&format!("/{field}/signing_profiles"))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (j, arn) in profiles.iter().enumerate() {
            let arn = arn.as_str().unwrap_or_default();
            if !is_signing_profile_arn(arn) {
                problems.push(Problem {
                    path: format!("{at}.{field}.signing_profiles[{j}]"),
                    message: format!(
                        "`{arn}` names no signing profile: expected arn:aws:signer:<region>:<account>:/signing-profiles/<name>[/<version>]"
                    ),
                });
            }
        }
    }
}

/// A `signatures` section joins the scan gate's verdict: without a `gate` for its repositories
/// (in its rule, or a rule whose pattern covers its pattern) nothing would decide, and unsigned
/// images would pass unnoticed. Refused.
pub(super) fn signatures_need_a_gate(problems: &mut Vec<Problem>, rules: &[Value]) {
    let gated: Vec<globset::GlobMatcher> = rules
        .iter()
        .filter(|r| r.get("gate").is_some())
        .filter_map(|r| r.get("match").and_then(Value::as_str))
        .filter_map(|p| super::resolve::compile(p).ok())
        .collect();
    for (i, rule) in rules.iter().enumerate() {
        let Some(pattern) = rule.get("match").and_then(Value::as_str) else {
            continue;
        };
        if rule.get("signatures").is_none()
            || rule.get("gate").is_some()
            || gated.iter().any(|g| g.is_match(pattern))
        {
            continue;
        }
        problems.push(Problem {
            path: format!("repositories[{i}].signatures"),
            message: format!(
                "no `gate` covers `{pattern}`: the signature joins the gate's verdict, so add a `gate` to this rule (or to a rule whose pattern covers it)"
            ),
        });
    }
}

/// Each trust-store entry parses as PEM certificates, each a self-signed CA (a root: anything
/// else as an anchor would let its key vouch for any signing profile).
fn trust_store_problems(problems: &mut Vec<Problem>, at: &str, notation: Option<&Value>) {
    let store = notation
        .and_then(|n| n.get("trust_store"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (j, pem) in store.iter().enumerate() {
        let path = format!("{at}.notation.trust_store[{j}]");
        match Cert::from_pem_chain(pem.as_str().unwrap_or_default()) {
            Err(message) => problems.push(Problem { path, message }),
            Ok(certs) => {
                if let Some(cert) = certs.iter().find(|c| !c.is_self_signed_ca()) {
                    problems.push(Problem {
                        path,
                        message: format!(
                            "`{}` is not a self-signed CA certificate: the trust store holds roots (AWS Signer's)",
                            cert.subject()
                        ),
                    });
                }
            }
        }
    }
}

/// An AWS Signer signing profile ARN, with or without its version:
/// `arn:<partition>:signer:<region>:<account>:/signing-profiles/<name>[/<version>]` (a name of
/// 2-64 of `[A-Za-z0-9_]`, a version of 10 alphanumerics).
fn is_signing_profile_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [arn_word, partition, service, region, account, resource] = parts.as_slice() else {
        return false;
    };
    let Some(profile) = resource.strip_prefix("/signing-profiles/") else {
        return false;
    };
    let (name, version) = match profile.split_once('/') {
        Some((name, version)) => (name, Some(version)),
        None => (profile, None),
    };
    *arn_word == "arn"
        && partition.starts_with("aws")
        && *service == "signer"
        && !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && (2..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && version.is_none_or(|v| v.len() == 10 && v.bytes().all(|b| b.is_ascii_alphanumeric()))
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
        match (key.get("pem").is_some(), key.get("kms_key_id").is_some()) {
            (true, true) => problems.push(Problem {
                path: format!("{at}.keys[{j}]"),
                message: "give `pem` or `kms_key_id`, not both".into(),
            }),
            (false, false) => problems.push(Problem {
                path: format!("{at}.keys[{j}]"),
                message: "give the key's public key as `pem`".into(),
            }),
            _ => {}
        }
        if key
            .get("kms_key_id")
            .and_then(Value::as_str)
            .is_some_and(|id| id.trim().is_empty())
        {
            problems.push(Problem {
                path: format!("{at}.keys[{j}].kms_key_id"),
                message: "an empty key id: give the key's id, ARN, alias name or alias ARN".into(),
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
    use crate::policy::{OnFail, Policy, SignatureKind};

    /// A P-256 public key as `cosign generate-key-pair` writes it (sigstore-rs's test vector),
    /// indented for a YAML block scalar.
    const PEM: &str = "-----BEGIN PUBLIC KEY-----\n            MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENptdY/l3nB0yqkXLBWkZWQwo6+cu\n            OSWS1X9vPavpiQOoTTGC0xX57OojUadxF1cdQmrsiReWg2Wn4FneJfa8xw==\n            -----END PUBLIC KEY-----";
    const PROFILE: &str = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/release";

    fn load(signatures: &str) -> Result<Policy, Vec<String>> {
        let yaml = format!(
            "version: 1\nrepositories:\n  - match: 'app/*'\n    gate: {{ max_findings: {{ CRITICAL: 0 }} }}\n    signatures:\n{signatures}"
        );
        Policy::from_yaml(&yaml).map_err(|e| e.problems.iter().map(ToString::to_string).collect())
    }

    fn problems(signatures: &str) -> Vec<String> {
        load(signatures).err().unwrap_or_default()
    }

    fn pem_key(name: &str) -> String {
        format!("        - name: {name}\n          pem: |\n            {PEM}\n")
    }

    #[test]
    fn a_valid_signatures_section_resolves_with_its_keys_grace_and_on_fail() {
        let policy = load(&format!(
            "      require: [cosign-key]\n      keys:\n{}",
            pem_key("release")
        ))
        .expect("valid");
        let resolved = policy.for_repository(&RepositoryName::new("app/api").expect("name"));
        let section = resolved.signatures.expect("signatures").value;
        assert_eq!(section.require, [SignatureKind::CosignKey]);
        assert_eq!(section.grace_seconds(), 600);
        assert_eq!(section.on_fail(), OnFail::Quarantine);
        let keys = section.pem_keys();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].name, "release");
    }

    /// A self-signed certificate (a CA when `ca`), as PEM indented for a YAML block scalar.
    fn certificate_pem(ca: bool) -> String {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        if ca {
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
        }
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).expect("key");
        let pem = params.self_signed(&key).expect("certificate").pem();
        pem.trim().replace('\n', "\n            ")
    }

    #[test]
    fn notation_trusts_signing_profiles_through_a_trust_store_of_pem_certificates() {
        let section = |store: &str| {
            format!(
                "      require: [notation]\n      notation:\n        signing_profiles: ['{PROFILE}', '{PROFILE}/a1B2c3D4e5']\n        trust_store:\n          - |\n            {store}\n"
            )
        };
        let policy = load(&section(&certificate_pem(true))).expect("valid");
        let resolved = policy.for_repository(&RepositoryName::new("app/api").expect("name"));
        let notation = resolved
            .signatures
            .expect("signatures")
            .value
            .notation
            .clone();
        assert_eq!(notation.expect("notation").anchors().len(), 1);
        let found = problems(&section("not a certificate"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with(
                "repositories[0].signatures.notation.trust_store[0]: not PEM certificates"
            ),
            "{found:?}"
        );
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
        let unused = problems(&format!(
            "      require: [notation]\n      notation: {{ signing_profiles: ['{PROFILE}'], trust_store: ['x'] }}\n      keys:\n{}",
            pem_key("k")
        ));
        assert!(
            unused.contains(&"repositories[0].signatures.keys: `keys` is only read for cosign-key, which `require` does not list: add it or remove `keys`".to_owned()),
            "{unused:?}"
        );
    }

    #[test]
    fn a_bad_key_a_duplicate_name_a_kms_key_and_a_bad_profile_arn_are_each_named() {
        let found = problems(&format!(
            "      require: [cosign-key, ecr-managed]\n      keys:\n        - {{ name: a, pem: 'not a key' }}\n        - {{ name: a, kms_key_id: alias/x, pem: 'x' }}\n{}      ecr_managed: {{ signing_profiles: ['arn:aws:iam::123456789012:role/x', 'arn:aws:signer:us-east-1:123456789012:signing-profiles/release'] }}\n",
            pem_key("b")
        ));
        let expected = [
            "repositories[0].signatures.ecr_managed.signing_profiles[0]: `arn:aws:iam::123456789012:role/x` names no signing profile",
            "repositories[0].signatures.ecr_managed.signing_profiles[1]: `arn:aws:signer:us-east-1:123456789012:signing-profiles/release` names no signing profile",
            "repositories[0].signatures.keys[0].pem: not an ECDSA P-256 public key in PEM",
            "repositories[0].signatures.keys[1].name: key `a` is listed twice",
            "repositories[0].signatures.keys[1]: give `pem` or `kms_key_id`, not both",
            "repositories[0].signatures.keys[1].pem: not an ECDSA P-256 public key in PEM",
        ];
        assert_eq!(found.len(), expected.len(), "{found:#?}");
        for e in expected {
            assert!(found.iter().any(|p| p.starts_with(e)), "{e}: {found:#?}");
        }
    }

    /// A `signatures` section with no gate over its repositories would decide nothing: refused,
    /// unless its rule or a broader one has a gate.
    #[test]
    fn signatures_without_a_gate_over_them_are_refused() {
        let yaml = |gate_rule: &str| {
            format!(
                "version: 1\nrepositories:\n{gate_rule}  - match: 'app/*'\n    signatures:\n      require: [cosign-key]\n      keys:\n{}",
                pem_key("k")
            )
        };
        let refused = Policy::from_yaml(&yaml(""))
            .err()
            .map(|e| {
                e.problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert!(
            refused[0].starts_with("repositories[0].signatures: no `gate` covers `app/*`"),
            "{refused:?}"
        );
        let broader = "  - match: '**'\n    gate: { max_findings: { CRITICAL: 0 } }\n";
        assert!(Policy::from_yaml(&yaml(broader)).is_ok());
        let elsewhere = "  - match: 'web/*'\n    gate: { max_findings: { CRITICAL: 0 } }\n";
        assert!(Policy::from_yaml(&yaml(elsewhere)).is_err());
    }

    #[test]
    fn unknown_keys_and_a_grace_over_a_day_are_refused_by_the_schema() {
        let found = problems(&format!(
            "      require: [cosign-key]\n      keys:\n{}      grace_seconds: 86401\n      grace: 5\n",
            pem_key("k")
        ));
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("repositories[0].signatures.grace_seconds:")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("repositories[0].signatures.grace: unknown key `grace`")),
            "{found:?}"
        );
        assert_eq!(found.len(), 2, "{found:?}");
    }
}
