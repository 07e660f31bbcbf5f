//! Notation signatures, verified by `warden_core::signature::notation`: a JWS envelope the
//! notation tooling wrote (notaryproject/notation-go's test data, source in the fixture), which
//! verifies here with its own certificate as the trust store as it does there; and AWS Signer-like
//! signatures made at test time (`warden_tests::notation`), trusted by signing profile, revoked by
//! what AWS Signer reports.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use warden_core::certificate::Cert;
use warden_core::names::Digest;
use warden_core::policy::NotationTrust;
use warden_core::signature::SignatureCheck;
use warden_core::signature::notation::{
    Examined, NotationSignature, check, examine, profile_matches, verified,
};
use warden_tests::notation::SignerAuthority;

const PROFILE: &str = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/release";
const VERSION: &str = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/release/a1B2c3D4e5";
const JOB: &str =
    "arn:aws:signer:us-east-1:123456789012:/signing-jobs/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/core/tests/fixtures/notation/notation-go-jws.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("the fixture")).expect("JSON")
}

fn fixture_certificate(envelope: &Value) -> Vec<Cert> {
    use base64::Engine as _;
    let x5c = envelope["header"]["x5c"][0].as_str().expect("x5c");
    let der = base64::engine::general_purpose::STANDARD
        .decode(x5c)
        .expect("base64");
    vec![Cert::from_der(&der).expect("the fixture's certificate")]
}

fn digest(byte: u8) -> Digest {
    Digest::new(format!("sha256:{}", hex_of(byte))).expect("a digest")
}

fn hex_of(byte: u8) -> String {
    format!("{byte:02x}").repeat(32)
}

fn signature(envelope: Vec<u8>) -> NotationSignature {
    NotationSignature {
        referrer: Digest::of_bytes(&envelope),
        media_type: "application/jose+json".to_owned(),
        envelope,
    }
}

fn trust(authority: &SignerAuthority, profiles: &[&str]) -> NotationTrust {
    NotationTrust {
        signing_profiles: profiles.iter().map(|p| (*p).to_owned()).collect(),
        trust_store: vec![authority.root_pem().to_owned()],
    }
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

#[test]
fn notation_gos_jws_envelope_verifies_with_its_certificate_as_the_trust_store() {
    let fixture = fixture();
    let envelope = serde_json::to_vec(&fixture["envelope"]).expect("bytes");
    let anchors = fixture_certificate(&fixture["envelope"]);
    let (opened, chain) = verified(&envelope, &anchors, now()).expect("it verifies");
    assert_eq!(
        opened.target,
        fixture["signed_digest"].as_str().expect("digest")
    );
    assert_eq!(opened.scheme, "notary.x509");
    assert_eq!(chain.certificates().len(), 1);
}

#[test]
fn notation_gos_envelope_altered_or_under_another_trust_store_does_not_verify() {
    let fixture = fixture();
    let anchors = fixture_certificate(&fixture["envelope"]);
    let mut altered = fixture["envelope"].clone();
    let signature = altered["signature"].as_str().expect("signature").to_owned();
    let flipped = if signature.starts_with('e') { "f" } else { "e" };
    altered["signature"] = Value::String(format!("{flipped}{}", &signature[1..]));
    let altered = serde_json::to_vec(&altered).expect("bytes");
    let error = verified(&altered, &anchors, now()).expect_err("an altered signature");
    assert!(error.contains("does not verify"), "{error}");

    let other = SignerAuthority::new("Other");
    let others = Cert::from_pem_chain(other.root_pem()).expect("PEM");
    let envelope = serde_json::to_vec(&fixture["envelope"]).expect("bytes");
    let error = verified(&envelope, &others, now()).expect_err("another trust store");
    assert!(
        error.contains("no certificate of the trust store"),
        "{error}"
    );
}

#[test]
fn a_notary_x509_signature_is_no_aws_signer_signature() {
    let fixture = fixture();
    let envelope = serde_json::to_vec(&fixture["envelope"]).expect("bytes");
    let pem = {
        let x5c = fixture["envelope"]["header"]["x5c"][0]
            .as_str()
            .expect("x5c");
        format!("-----BEGIN CERTIFICATE-----\n{x5c}\n-----END CERTIFICATE-----\n")
    };
    let trust = NotationTrust {
        signing_profiles: vec![PROFILE.to_owned()],
        trust_store: vec![pem],
    };
    let subject = Digest::new(fixture["signed_digest"].as_str().expect("digest")).expect("digest");
    let examined = examine(&subject, &[signature(envelope)], &trust, now());
    assert!(examined.candidates.is_empty());
    assert_eq!(examined.otherwise, SignatureCheck::UntrustedSigner);
}

#[test]
fn an_aws_signer_signature_by_a_trusted_profile_signs_once_signer_reports_nothing_revoked() {
    let authority = SignerAuthority::new("AWS Signer");
    let subject = digest(1);
    let envelope = authority.sign(&subject, VERSION, JOB, now());
    let examined = examine(
        &subject,
        &[signature(envelope)],
        &trust(&authority, &[PROFILE]),
        now(),
    );
    let [candidate] = examined.candidates.as_slice() else {
        panic!("one candidate: {examined:?}");
    };
    assert_eq!(candidate.profile, PROFILE);
    assert_eq!(candidate.query.profile_version_arn, VERSION);
    assert_eq!(candidate.query.job_arn, JOB);
    assert_eq!(candidate.query.platform_id, "Notation-OCI-SHA384-ECDSA");
    // Per certificate its own TBS hash and its issuer's (SHA-384: 96 hex digits each); the
    // root is its own issuer.
    let hashes = &candidate.query.certificate_hashes;
    assert_eq!(hashes.len(), 3);
    assert!(hashes.iter().all(|h| h.len() == 192));
    assert_eq!(hashes[0][96..], hashes[1][..96]);
    assert_eq!(hashes[1][96..], hashes[2][..96]);
    assert_eq!(hashes[2][..96], hashes[2][96..]);

    let not_asked = check(&examined, &[]);
    assert_eq!(
        not_asked,
        SignatureCheck::UntrustedSigner,
        "never trusted without asking"
    );
    let clean = check(&examined, &[(candidate.query.clone(), vec![])]);
    assert_eq!(
        clean,
        SignatureCheck::Signed {
            key: PROFILE.to_owned()
        }
    );
    let revoked = check(
        &examined,
        &[(candidate.query.clone(), vec![JOB.to_owned()])],
    );
    assert_eq!(revoked, SignatureCheck::Revoked { by: JOB.to_owned() });
}

#[test]
fn signatures_by_another_root_profile_or_over_another_digest_do_not_sign() {
    let authority = SignerAuthority::new("AWS Signer");
    let subject = digest(1);
    let examined = |envelope: Vec<u8>, trust: &NotationTrust| -> Examined {
        examine(&subject, &[signature(envelope)], trust, now())
    };
    let trusted = trust(&authority, &[PROFILE]);

    let other = SignerAuthority::new("AWS Signer");
    let by_other_root = examined(other.sign(&subject, VERSION, JOB, now()), &trusted);
    assert_eq!(by_other_root.otherwise, SignatureCheck::UntrustedSigner);
    assert!(by_other_root.candidates.is_empty());

    let other_profile = VERSION.replace("/release/", "/nightly/");
    let by_other_profile = examined(
        authority.sign(&subject, &other_profile, JOB, now()),
        &trusted,
    );
    assert_eq!(by_other_profile.otherwise, SignatureCheck::UntrustedSigner);

    let copied = examined(authority.sign(&digest(2), VERSION, JOB, now()), &trusted);
    assert_eq!(
        copied.otherwise,
        SignatureCheck::DigestMismatch {
            signed: digest(2).as_str().to_owned()
        }
    );
    assert!(copied.candidates.is_empty());

    let none = examine(&subject, &[], &trusted, now());
    assert_eq!(none.otherwise, SignatureCheck::Unsigned);
}

#[test]
fn a_cose_envelope_or_a_signing_time_outside_the_chain_is_untrusted() {
    let authority = SignerAuthority::new("AWS Signer");
    let subject = digest(1);
    let trusted = trust(&authority, &[PROFILE]);
    let mut cose = signature(authority.sign(&subject, VERSION, JOB, now()));
    cose.media_type = "application/cose".to_owned();
    let examined = examine(&subject, &[cose], &trusted, now());
    assert_eq!(examined.otherwise, SignatureCheck::UntrustedSigner);

    // A signing time before the chain's validity: the chain is checked at AWS Signer's time.
    let long_ago = now() - Duration::days(365 * 60);
    let envelope = authority.sign(&subject, VERSION, JOB, long_ago);
    let examined = examine(&subject, &[signature(envelope)], &trusted, now());
    assert_eq!(examined.otherwise, SignatureCheck::UntrustedSigner);
}

/// A change to a protected header.
type HeaderEdit = Box<dyn Fn(&mut Value)>;

/// Headers a verifier must refuse, each signed correctly by the trusted authority: an unknown
/// critical attribute, `crit` without the authentic signing time, an expiry past, an `alg` the
/// key's curve does not sign with, and another verification plugin.
#[test]
fn a_header_the_notary_specification_refuses_is_untrusted_though_validly_signed() {
    let authority = SignerAuthority::new("AWS Signer");
    let subject = digest(1);
    let trusted = trust(&authority, &[PROFILE]);
    let crit_push = |name: &str| {
        let name = name.to_owned();
        move |h: &mut Value| {
            h["crit"]
                .as_array_mut()
                .unwrap()
                .push(Value::String(name.clone()));
            h[name.as_str()] = Value::String("x".into());
        }
    };
    let edits: Vec<(&str, HeaderEdit)> = vec![
        (
            "an unknown critical attribute",
            Box::new(crit_push("io.example.new")),
        ),
        (
            "crit without the authentic signing time",
            Box::new(|h: &mut Value| {
                h["crit"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|c| c != "io.cncf.notary.authenticSigningTime");
            }),
        ),
        (
            "an expiry past",
            Box::new(|h: &mut Value| {
                h["crit"]
                    .as_array_mut()
                    .unwrap()
                    .push("io.cncf.notary.expiry".into());
                h["io.cncf.notary.expiry"] =
                    Value::String((now() - Duration::hours(1)).to_rfc3339());
            }),
        ),
        (
            "ES256 from a P-384 key",
            Box::new(|h: &mut Value| h["alg"] = "ES256".into()),
        ),
        (
            "another verification plugin",
            Box::new(|h: &mut Value| {
                h["io.cncf.notary.verificationPlugin"] = "com.example.plugin".into()
            }),
        ),
    ];
    // The unedited envelope is trusted: each refusal below is the edit's.
    let clean = examine(
        &subject,
        &[signature(authority.sign(&subject, VERSION, JOB, now()))],
        &trusted,
        now(),
    );
    assert_eq!(clean.candidates.len(), 1);
    for (what, edit) in edits {
        let envelope = authority.sign_edited(&subject, VERSION, JOB, now(), |h| edit(h));
        let examined = examine(&subject, &[signature(envelope)], &trusted, now());
        assert!(examined.candidates.is_empty(), "{what}: {examined:?}");
        assert_eq!(
            examined.otherwise,
            SignatureCheck::UntrustedSigner,
            "{what}"
        );
    }
}

#[test]
fn a_profile_arn_trusts_its_versions_and_a_version_arn_itself_as_aws_signers_plugin_matches() {
    assert!(profile_matches(PROFILE, VERSION));
    assert!(profile_matches(
        &PROFILE.replace("release", "Release"),
        VERSION
    ));
    assert!(profile_matches(VERSION, VERSION));
    assert!(!profile_matches(
        VERSION,
        &VERSION.replace("a1B2c3D4e5", "z9Y8x7W6v5")
    ));
    assert!(!profile_matches(
        PROFILE,
        &VERSION.replace("/release/", "/release2/")
    ));
    assert!(!profile_matches(
        "arn:aws:iam::123456789012:role/x",
        VERSION
    ));
}
