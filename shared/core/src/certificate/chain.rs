//! A certificate chain checked as the Notary Project's signature specification asks of a
//! signature's chain ("Certificate Requirements"): the signing certificate first, each certificate
//! issued by the next, the last self-signed (the root); every one valid at the time the scheme
//! says; no critical extension left unread.
//! - the signing certificate: key usage present with digitalSignature, not keyCertSign; not a CA;
//!   an extended key usage, when present, naming code signing;
//! - the issuers: CAs (basic constraints cA), key usage present with keyCertSign, and no more
//!   CAs below them than their path length allows.
//!
//! Whom it chains to is the trust store's business ([`Chain::anchored_in`]).

use chrono::{DateTime, Utc};

use super::Cert;

const EKU_CODE_SIGNING: &str = "1.3.6.1.5.5.7.3.3";

/// A certificate chain as the signature carries it, checked: never empty.
#[derive(Debug, Clone)]
pub struct Chain(Vec<Cert>);

impl Chain {
    /// Check `certs` (signing certificate first) as a code-signing chain valid at `at`.
    pub fn check(certs: Vec<Cert>, at: DateTime<Utc>) -> Result<Self, String> {
        let Some(leaf) = certs.first() else {
            return Err("no certificate in the signature".to_owned());
        };
        signing_certificate(leaf)?;
        for (i, cert) in certs.iter().enumerate() {
            if !cert.valid_at(at) {
                return Err(format!("`{}` is not valid at {at}", cert.subject()));
            }
            if let Some(oid) = cert.unknown_critical() {
                return Err(format!(
                    "`{}` has a critical extension not understood ({oid})",
                    cert.subject()
                ));
            }
            let issuer = certs.get(i + 1).unwrap_or(cert);
            cert.issued_by(issuer)?;
            if i > 0 {
                issuing_certificate(cert, i - 1)?;
            }
        }
        Ok(Self(certs))
    }

    /// Whether one of its certificates is one of `anchors` (the trust store's certificates).
    pub fn anchored_in(&self, anchors: &[Cert]) -> bool {
        self.0.iter().any(|c| anchors.contains(c))
    }

    /// Its certificates, the signing certificate first.
    pub fn certificates(&self) -> &[Cert] {
        &self.0
    }

    /// The subject of the signing certificate, for messages.
    pub fn signer(&self) -> String {
        self.0.first().map(Cert::subject).unwrap_or_default()
    }
}

/// What the signing certificate must be.
fn signing_certificate(leaf: &Cert) -> Result<(), String> {
    let name = leaf.subject();
    match leaf.key_usage()? {
        Some(usage) if usage.digital_signature() && !usage.key_cert_sign() => {}
        Some(_) => return Err(format!("`{name}` is not a signing certificate (key usage)")),
        None => return Err(format!("`{name}` has no key usage")),
    }
    if leaf.basic_constraints()?.is_some_and(|c| c.ca) {
        return Err(format!("`{name}` is a CA, not a signing certificate"));
    }
    if let Some(purposes) = leaf.extended_key_usage()?
        && !purposes.iter().any(|p| p == EKU_CODE_SIGNING)
    {
        return Err(format!("`{name}` is not for code signing"));
    }
    Ok(())
}

/// What an issuer must be, with `below` CAs between it and the signing certificate.
fn issuing_certificate(cert: &Cert, below: usize) -> Result<(), String> {
    let name = cert.subject();
    let Some(constraints) = cert.basic_constraints()?.filter(|c| c.ca) else {
        return Err(format!("`{name}` is not a CA"));
    };
    if !cert.key_usage()?.is_some_and(|u| u.key_cert_sign()) {
        return Err(format!("`{name}` may not sign certificates"));
    }
    if constraints
        .path_len_constraint
        .is_some_and(|limit| below > usize::from(limit))
    {
        return Err(format!("`{name}` allows fewer CAs below it"));
    }
    Ok(())
}
