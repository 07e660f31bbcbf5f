//! Notation signatures as AWS Signer makes them, made at test time (no notation binary, no AWS
//! Signer): a certificate authority shaped like AWS Signer's (an ECDSA P-384 root, an
//! intermediate, a code-signing certificate), and JWS envelopes carrying the signing profile
//! version and signing job attributes AWS Signer's Notation plugin writes, signed ES384 under the
//! `notary.x509.signingAuthority` scheme.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, SecondsFormat, Utc};
use p384::ecdsa::signature::Signer as _;
use p384::pkcs8::DecodePrivateKey as _;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P384_SHA384,
};
use serde_json::json;
use warden_core::names::Digest;

/// An AWS Signer-like certificate authority and its signing certificate.
pub struct SignerAuthority {
    root_pem: String,
    chain: Vec<Vec<u8>>,
    key: p384::ecdsa::SigningKey,
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("no names to check");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

impl SignerAuthority {
    /// A root `name`, an intermediate and a code-signing certificate, each with its own key.
    pub fn new(name: &str) -> Self {
        let key = || KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).expect("a P-384 key");
        let root = CertifiedIssuer::self_signed(ca_params(&format!("{name} Root")), key())
            .expect("a root certificate");
        let intermediate =
            CertifiedIssuer::signed_by(ca_params(&format!("{name} CA")), key(), &root)
                .expect("an intermediate certificate");
        let mut leaf = CertificateParams::new(Vec::<String>::new()).expect("no names to check");
        leaf.distinguished_name
            .push(DnType::CommonName, format!("{name} signing"));
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        let leaf_key = key();
        let signing = leaf
            .signed_by(&leaf_key, &intermediate)
            .expect("a signing certificate");
        Self {
            root_pem: root.pem(),
            chain: vec![
                signing.der().to_vec(),
                intermediate.der().to_vec(),
                root.der().to_vec(),
            ],
            key: p384::ecdsa::SigningKey::from_pkcs8_der(&leaf_key.serialize_der())
                .expect("the signing key as PKCS #8"),
        }
    }

    /// The root certificate (a policy's `notation.trust_store`).
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    /// The JWS envelope AWS Signer's Notation plugin would make for `digest` with the profile
    /// version `profile_version` in job `job`, signed at `at`.
    pub fn sign(
        &self,
        digest: &Digest,
        profile_version: &str,
        job: &str,
        at: DateTime<Utc>,
    ) -> Vec<u8> {
        self.sign_edited(digest, profile_version, job, at, |_| {})
    }

    /// [`Self::sign`] with the protected header changed by `edit` before it is signed (a header
    /// no signer should write, to see it refused).
    pub fn sign_edited(
        &self,
        digest: &Digest,
        profile_version: &str,
        job: &str,
        at: DateTime<Utc>,
        edit: impl FnOnce(&mut serde_json::Value),
    ) -> Vec<u8> {
        let mut protected = json!({
            "alg": "ES384",
            "crit": ["io.cncf.notary.signingScheme", "io.cncf.notary.authenticSigningTime",
                     "io.cncf.notary.verificationPlugin", "com.amazonaws.signer.signingProfileVersion",
                     "com.amazonaws.signer.signingJob"],
            "cty": "application/vnd.cncf.notary.payload.v1+json",
            "io.cncf.notary.signingScheme": "notary.x509.signingAuthority",
            "io.cncf.notary.authenticSigningTime": at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "io.cncf.notary.verificationPlugin": "com.amazonaws.signer.notation.plugin",
            "com.amazonaws.signer.signingProfileVersion": profile_version,
            "com.amazonaws.signer.signingJob": job,
        });
        edit(&mut protected);
        let payload = json!({"targetArtifact": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest.as_str(), "size": 1024}});
        let protected = URL_SAFE_NO_PAD.encode(protected.to_string());
        let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
        let signature: p384::ecdsa::Signature =
            self.key.sign(format!("{protected}.{payload}").as_bytes());
        let envelope = json!({
            "payload": payload,
            "protected": protected,
            "header": {"x5c": self.chain.iter().map(|c| STANDARD.encode(c)).collect::<Vec<_>>(),
                       "io.cncf.notary.signingAgent": "notation-go/1.3.0 aws-signer-notation-plugin/1.0"},
            "signature": URL_SAFE_NO_PAD.encode(signature.to_bytes()),
        });
        envelope.to_string().into_bytes()
    }
}
