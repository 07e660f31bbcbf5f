//! cosign keyed signatures, verified by `warden_core::signature`: keys made at test time (no cosign
//! binary), and sigstore-rs's public test vector of a keyed cosign signature (source in the
//! fixture), which must verify here as it does there.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::Generate;
use p256::pkcs8::{EncodePublicKey, LineEnding};
use serde_json::{Value, json};
use warden_core::names::Digest;
use warden_core::signature::cosign::{
    LayerRef, SIGNATURE_ANNOTATION, SIMPLE_SIGNING, SignedPayload, check, signature_layers,
};
use warden_core::signature::{SignatureCheck, SignatureVerdict, gate};
use warden_core::trusted_key::TrustedKey;

/// A key pair as `cosign generate-key-pair` would make it, trusted under `name`.
fn key_pair(name: &str) -> (SigningKey, TrustedKey) {
    let signing = SigningKey::generate();
    let pem = signing
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("PEM");
    (signing, TrustedKey::from_pem(name, &pem).expect("trusted"))
}

/// The simple-signing payload `cosign sign` writes for `digest`.
fn payload(digest: &Digest) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "critical": {
            "identity": {"docker-reference": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app"},
            "image": {"docker-manifest-digest": digest.as_str()},
            "type": "cosign container image signature"
        },
        "optional": null
    }))
    .expect("payload")
}

/// A signature as cosign annotates it: ASN.1 DER, standard base64.
fn annotation(signature: &Signature) -> String {
    base64::engine::general_purpose::STANDARD.encode(signature.to_der().as_bytes())
}

/// One signature layer: `payload` signed by `key`.
fn signed(key: &SigningKey, payload: Vec<u8>) -> SignedPayload {
    let signature: Signature = key.sign(&payload);
    let encoded = annotation(&signature);
    SignedPayload {
        layer: LayerRef {
            digest: Digest::of_bytes(&payload),
            signature: encoded,
        },
        payload,
    }
}

fn image(n: u8) -> Digest {
    Digest::of_bytes(&[n])
}

#[test]
fn a_signature_by_a_trusted_key_over_the_image_passes() {
    let (signing, trusted) = key_pair("release");
    let subject = image(1);
    let layers = [signed(&signing, payload(&subject))];
    assert_eq!(
        check(&subject, &layers, &[trusted]),
        SignatureCheck::Signed {
            key: "release".into()
        }
    );
}

#[test]
fn a_signature_by_another_key_is_an_untrusted_signer() {
    let (_, trusted) = key_pair("release");
    let (stranger, _) = key_pair("stranger");
    let subject = image(1);
    let layers = [signed(&stranger, payload(&subject))];
    let found = check(&subject, &layers, &[trusted]);
    assert_eq!(found, SignatureCheck::UntrustedSigner);
    assert_eq!(found.reason(), Some("untrusted_signer"));
}

#[test]
fn a_signature_copied_from_another_image_is_a_digest_mismatch() {
    let (signing, trusted) = key_pair("release");
    let (subject, other) = (image(1), image(2));
    let layers = [signed(&signing, payload(&other))];
    assert_eq!(
        check(&subject, &layers, &[trusted]),
        SignatureCheck::DigestMismatch {
            signed: other.to_string()
        }
    );
}

#[test]
fn a_payload_swapped_under_its_signature_or_layer_digest_is_no_signature() {
    let (signing, trusted) = key_pair("release");
    let subject = image(1);
    // The payload changed after signing (its layer digest updated): the signature fails.
    let mut forged = signed(&signing, payload(&image(2)));
    forged.payload = payload(&subject);
    forged.layer.digest = Digest::of_bytes(&forged.payload);
    // The payload's bytes do not hash to the layer's digest: a signature by no trusted key.
    let mut swapped = signed(&signing, payload(&subject));
    swapped.layer.digest = image(9);
    for layers in [[forged], [swapped]] {
        assert_eq!(
            check(&subject, &layers, std::slice::from_ref(&trusted)),
            SignatureCheck::UntrustedSigner
        );
    }
}

#[test]
fn one_valid_signature_among_others_is_enough_and_none_is_unsigned() {
    let (signing, trusted) = key_pair("release");
    let (stranger, _) = key_pair("stranger");
    let subject = image(1);
    let layers = [
        signed(&stranger, payload(&subject)),
        signed(&signing, payload(&image(3))),
        signed(&signing, payload(&subject)),
    ];
    let keys = [trusted];
    assert_eq!(
        check(&subject, &layers, &keys),
        SignatureCheck::Signed {
            key: "release".into()
        }
    );
    assert_eq!(check(&subject, &[], &keys), SignatureCheck::Unsigned);
}

#[test]
fn an_unsigned_image_is_pending_within_grace_then_fails_and_a_late_signature_passes() {
    let pushed: DateTime<Utc> = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
    let at = |seconds| pushed + Duration::seconds(seconds);
    assert_eq!(
        gate(&SignatureCheck::Unsigned, pushed, at(599), 600),
        SignatureVerdict::Pending { until: at(600) }
    );
    assert_eq!(
        gate(&SignatureCheck::Unsigned, pushed, at(600), 600),
        SignatureVerdict::Fail { reason: "unsigned" }
    );
    // Any other check waits out the grace too (the right signature may still come, in any
    // order), then fails with its own reason; a right one passes whenever it comes.
    assert_eq!(
        gate(&SignatureCheck::UntrustedSigner, pushed, at(1), 600),
        SignatureVerdict::Pending { until: at(600) }
    );
    let copied = SignatureCheck::DigestMismatch {
        signed: image(2).to_string(),
    };
    assert_eq!(
        gate(&copied, pushed, at(600), 600),
        SignatureVerdict::Fail {
            reason: "digest_mismatch"
        }
    );
    let signed = SignatureCheck::Signed { key: "k".into() };
    assert_eq!(
        gate(&signed, pushed, at(86_400), 600),
        SignatureVerdict::Pass { key: "k".into() }
    );
}

#[test]
fn the_signature_layers_of_a_signature_manifest_are_its_annotated_simple_signing_layers() {
    let digest = image(7);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 233,
                   "digest": image(8).as_str()},
        "layers": [
            {"mediaType": SIMPLE_SIGNING, "size": 250, "digest": digest.as_str(),
             "annotations": {SIGNATURE_ANNOTATION: "MEUCIQ=="}},
            {"mediaType": SIMPLE_SIGNING, "size": 250, "digest": image(9).as_str()},
            {"mediaType": "application/vnd.in-toto+json", "size": 10, "digest": image(10).as_str(),
             "annotations": {SIGNATURE_ANNOTATION: "x"}}
        ]
    });
    let layers = signature_layers(&manifest.to_string()).expect("manifest");
    assert_eq!(
        layers,
        vec![LayerRef {
            digest,
            signature: "MEUCIQ==".into()
        }]
    );
    assert!(signature_layers("{").is_err());
}

#[test]
fn a_key_that_is_not_an_ecdsa_p256_public_key_in_pem_is_refused() {
    for bad in [
        "",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        "ssh-ed25519 AAAA",
    ] {
        let error = TrustedKey::from_pem("k", bad).expect_err(bad);
        assert!(error.contains("ECDSA P-256"), "{error}");
    }
}

/// The cosign CLI's own signature (sigstore-rs's test vector): verifies under its key, over the
/// digest its payload names, and not under another key.
#[test]
fn a_signature_the_cosign_cli_made_verifies_as_it_does_in_sigstore() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cosign/sigstore-rs-keyed.json"
    );
    let fixture: Value =
        serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("JSON");
    let text = |k: &str| fixture[k].as_str().expect(k).to_owned();
    let payload = text("payload").into_bytes();
    let layers = [SignedPayload {
        layer: LayerRef {
            digest: Digest::of_bytes(&payload),
            signature: text("signature"),
        },
        payload,
    }];
    let subject = Digest::new(text("signed_digest")).expect("digest");
    let cosign_key = TrustedKey::from_pem("cosign.pub", &text("public_key")).expect("key");
    let other_key = TrustedKey::from_pem("other.pub", &text("other_public_key")).expect("key");
    assert_eq!(
        check(&subject, &layers, std::slice::from_ref(&cosign_key)),
        SignatureCheck::Signed {
            key: "cosign.pub".into()
        }
    );
    assert_eq!(
        check(&subject, &layers, &[other_key]),
        SignatureCheck::UntrustedSigner
    );
    assert_eq!(
        check(&image(1), &layers, &[cosign_key]),
        SignatureCheck::DigestMismatch {
            signed: text("signed_digest")
        }
    );
}

/// Go's crypto/ecdsa does not normalise `s`: a signature with the high `s` verifies, as in cosign.
#[test]
fn a_signature_with_a_high_s_verifies_as_cosign_accepts_it() {
    let (signing, trusted) = key_pair("release");
    let subject = image(1);
    let mut layer = signed(&signing, payload(&subject));
    let low: Signature = signing.sign(&layer.payload);
    let low = low.normalize_s();
    let (r, s) = low.split_scalars();
    let high = Signature::from_scalars(*r, -*s).expect("signature");
    assert!(high.normalize_s() != high, "s is high");
    layer.layer.signature = annotation(&high);
    assert_eq!(
        check(&subject, &[layer], &[trusted]),
        SignatureCheck::Signed {
            key: "release".into()
        }
    );
}

#[test]
fn a_copied_trusted_signature_outranks_an_untrusted_one_and_payloads_must_sign_an_image() {
    let (signing, trusted) = key_pair("release");
    let (stranger, _) = key_pair("stranger");
    let subject = image(1);
    let keys = [trusted];
    let mixed = [
        signed(&stranger, payload(&subject)),
        signed(&signing, payload(&image(2))),
    ];
    assert!(matches!(
        check(&subject, &mixed, &keys),
        SignatureCheck::DigestMismatch { .. }
    ));
    // A payload of another type, or naming no digest, signs no container image.
    for other in [
        json!({"critical": {"image": {"docker-manifest-digest": subject.as_str()}, "type": "an attestation"}}),
        json!({"critical": {"type": "cosign container image signature"}}),
    ] {
        let layers = [signed(
            &signing,
            serde_json::to_vec(&other).expect("payload"),
        )];
        assert_eq!(
            check(&subject, &layers, &keys),
            SignatureCheck::UntrustedSigner
        );
    }
}

#[test]
fn a_base64_signature_broken_over_lines_is_read_as_go_reads_it() {
    let (signing, trusted) = key_pair("release");
    let subject = image(1);
    let mut layer = signed(&signing, payload(&subject));
    let wrapped: String = layer
        .layer
        .signature
        .as_bytes()
        .chunks(20)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    layer.layer.signature = wrapped;
    assert!(matches!(
        check(&subject, &[layer], &[trusted]),
        SignatureCheck::Signed { .. }
    ));
}

/// A well-formed public key on another curve or algorithm (RFC 8410's Ed25519 example) is no key
/// cosign's ECDSA P-256 signatures verify under.
#[test]
fn a_valid_key_of_another_algorithm_is_refused() {
    let ed25519 = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
    assert!(TrustedKey::from_pem("ed", ed25519).is_err());
}
