//! `warden replicate --native`: the registry's replication configuration reconciled from the
//! policy's `native` rules (docs/replicator.md). ECR then copies those repositories on push, with
//! zero bytes through Lambda.

use serde::Serialize;
use warden_core::ports::PortError;
use warden_core::replicate::Registry;
use warden_core::replicate::native::{NativeConfiguration, desired};

use super::Replicator;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NativeReport {
    /// The policy has a native rule (otherwise the configuration is ECR's alone: left untouched).
    pub managed: bool,
    pub current: NativeConfiguration,
    pub desired: NativeConfiguration,
    /// The registry already matches the policy.
    pub in_place: bool,
    /// The desired configuration was put.
    pub applied: bool,
}

/// The policy's native rules cannot become a configuration ECR takes.
#[derive(Debug, thiserror::Error)]
pub enum NativeError {
    #[error("native replication: {}", .0.join("; "))]
    Policy(Vec<String>),
    #[error(transparent)]
    Aws(#[from] PortError),
}

impl Replicator {
    /// Compare the registry's replication configuration with the policy's and, with `apply`,
    /// put the policy's when they differ. Calls: 1 DescribeRegistry (+1 PutReplicationConfiguration
    /// when applying a difference). The policy owns the whole configuration once it has a native
    /// rule: rules it does not produce are removed (the report shows them first).
    pub async fn reconcile_native(
        &self,
        here: &Registry,
        apply: bool,
    ) -> Result<NativeReport, NativeError> {
        let managed = self.policy.document().repositories.iter().any(|r| {
            r.replication
                .as_ref()
                .is_some_and(|replication| replication.native == Some(true))
        });
        let desired = desired(&self.policy, here).map_err(NativeError::Policy)?;
        let registry = &self.source;
        let current = registry.replication_configuration().await?;
        if !managed {
            return Ok(NativeReport {
                managed,
                desired: current.clone(),
                current,
                in_place: true,
                applied: false,
            });
        }
        let in_place = current == desired;
        let applied = apply && !in_place;
        if applied {
            registry.put_replication_configuration(&desired).await?;
        }
        Ok(NativeReport {
            managed,
            current,
            desired,
            in_place,
            applied,
        })
    }
}
