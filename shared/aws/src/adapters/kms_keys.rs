//! The public keys of the KMS keys a policy trusts for cosign signatures ([`PublicKeys`]): one
//! kms:GetPublicKey per key the first time a container asks, kept for the container's life (a
//! key's public half never changes; its private half never leaves KMS). A key named by an alias is
//! read every time: an alias can be pointed at another key (how asymmetric keys are rotated).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use warden_core::ports::{PortError, PublicKeys};
use warden_core::trusted_key::KmsPublicKey;

use crate::runtime::errors::port_error;

pub struct KmsPublicKeys {
    client: aws_sdk_kms::Client,
    read: Mutex<HashMap<String, KmsPublicKey>>,
}

impl KmsPublicKeys {
    /// Its own client from `sdk`, counting into `calls`.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, calls: &crate::ApiCalls) -> Self {
        Self::new(crate::counted!(aws_sdk_kms, sdk, calls))
    }

    pub fn new(client: aws_sdk_kms::Client) -> Self {
        Self {
            client,
            read: Mutex::new(HashMap::new()),
        }
    }

    fn kept(&self, key_id: &str) -> Option<KmsPublicKey> {
        self.read
            .lock()
            .map(|read| read.get(key_id).cloned())
            .unwrap_or_default()
    }
}

/// An alias name (`alias/release`) or alias ARN (`arn:aws:kms:…:alias/release`).
fn is_alias(key_id: &str) -> bool {
    key_id.starts_with("alias/") || key_id.contains(":alias/")
}

#[async_trait]
impl PublicKeys for KmsPublicKeys {
    async fn public_key(&self, key_id: &str) -> Result<KmsPublicKey, PortError> {
        const OP: &str = "kms:GetPublicKey";
        if let Some(key) = self.kept(key_id) {
            return Ok(key);
        }
        let out = self
            .client
            .get_public_key()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        let der = out
            .public_key()
            .map(|b| b.as_ref().to_vec())
            .ok_or_else(|| PortError::Invalid {
                operation: OP,
                message: format!("KMS key {key_id}: no public key (not an asymmetric key?)"),
            })?;
        let key = KmsPublicKey {
            key_id: key_id.to_owned(),
            // GetPublicKey: "KeySpec replaces CustomerMasterKeySpec. Both contain the same value."
            // Read either: an answer carrying only the deprecated member names the spec too.
            #[allow(deprecated)]
            key_spec: out.key_spec().map(|s| s.as_str().to_owned()).or_else(|| {
                out.customer_master_key_spec()
                    .map(|s| s.as_str().to_owned())
            }),
            signing_algorithms: out
                .signing_algorithms()
                .iter()
                .map(|a| a.as_str().to_owned())
                .collect(),
            der,
        };
        if !is_alias(key_id)
            && let Ok(mut read) = self.read.lock()
        {
            read.insert(key_id.to_owned(), key.clone());
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alias_is_told_from_a_key_by_its_form() {
        assert!(is_alias("alias/release"));
        assert!(is_alias("arn:aws:kms:us-east-1:111122223333:alias/release"));
        assert!(!is_alias("1234abcd-12ab-34cd-56ef-1234567890ab"));
        assert!(!is_alias(
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        ));
    }
}
