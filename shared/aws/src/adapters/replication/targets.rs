//! The destination registries: one ECR client per (region, role), built on first use and kept for
//! the container's life — a destination account's role is assumed once (with the policy's external
//! id) and its credentials are refreshed before they expire, however long a copy runs.

use std::collections::HashMap;

use aws_config::SdkConfig;
use tokio::sync::Mutex;
use warden_core::replicate::Target;

use crate::ApiCalls;
use crate::adapters::ecr::EcrRegistry;
use crate::runtime::config::assume_role;

pub struct Destinations {
    sdk: SdkConfig,
    calls: ApiCalls,
    registries: Mutex<HashMap<(String, Option<String>), EcrRegistry>>,
}

impl Destinations {
    pub fn new(sdk: &SdkConfig, calls: &ApiCalls) -> Self {
        Self {
            sdk: sdk.clone(),
            calls: calls.clone(),
            registries: Mutex::new(HashMap::new()),
        }
    }

    /// The registry `target` names: its region, in its account through its role.
    pub async fn registry(&self, target: &Target) -> EcrRegistry {
        let key = (target.region.to_string(), target.role_arn.clone());
        let mut registries = self.registries.lock().await;
        if let Some(registry) = registries.get(&key) {
            return registry.clone();
        }
        let regional = self
            .sdk
            .to_builder()
            .region(aws_config::Region::new(target.region.to_string()))
            .build();
        let config = match &target.role_arn {
            Some(role) => assume_role(&regional, role, target.external_id.as_deref()).await,
            None => regional,
        };
        let registry = EcrRegistry::from_sdk(&config, &self.calls);
        registries.insert(key, registry.clone());
        registry
    }
}
