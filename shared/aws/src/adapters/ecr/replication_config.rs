//! The registry's own replication configuration (DescribeRegistry, PutReplicationConfiguration),
//! as the core's [`NativeConfiguration`].

use aws_sdk_ecr::types::{
    ReplicationConfiguration, ReplicationDestination, ReplicationRule, RepositoryFilter,
    RepositoryFilterType,
};
use warden_core::names::{AccountId, Region};
use warden_core::ports::PortError;
use warden_core::replicate::native::{NativeConfiguration, NativeDestination, NativeRule};

use super::{EcrRegistry, invalid};
use crate::runtime::errors::port_error;

impl EcrRegistry {
    /// The registry's replication configuration now. One DescribeRegistry.
    pub async fn replication_configuration(&self) -> Result<NativeConfiguration, PortError> {
        const OP: &str = "ecr:DescribeRegistry";
        let out = self
            .client
            .describe_registry()
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        let mut rules = Vec::new();
        for rule in out
            .replication_configuration()
            .map(|c| c.rules())
            .unwrap_or_default()
        {
            let mut destinations = std::collections::BTreeSet::new();
            for d in rule.destinations() {
                destinations.insert(NativeDestination {
                    region: Region::new(d.region()).map_err(|e| invalid(OP, e))?,
                    registry_id: AccountId::new(d.registry_id()).map_err(|e| invalid(OP, e))?,
                });
            }
            let prefixes = rule
                .repository_filters()
                .iter()
                .map(|f| f.filter().to_owned())
                .collect();
            rules.push(NativeRule {
                destinations,
                prefixes,
            });
        }
        Ok(NativeConfiguration::new(rules))
    }

    /// Replace the registry's replication configuration. One PutReplicationConfiguration.
    pub async fn put_replication_configuration(
        &self,
        config: &NativeConfiguration,
    ) -> Result<(), PortError> {
        const OP: &str = "ecr:PutReplicationConfiguration";
        let mut rules = Vec::new();
        for rule in &config.rules {
            let destinations = rule
                .destinations
                .iter()
                .map(|d| {
                    ReplicationDestination::builder()
                        .region(d.region.as_str())
                        .registry_id(d.registry_id.as_str())
                        .build()
                        .map_err(|e| invalid(OP, e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let filters = rule
                .prefixes
                .iter()
                .map(|p| {
                    RepositoryFilter::builder()
                        .filter(p)
                        .filter_type(RepositoryFilterType::PrefixMatch)
                        .build()
                        .map_err(|e| invalid(OP, e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            rules.push(
                ReplicationRule::builder()
                    .set_destinations(Some(destinations))
                    .set_repository_filters((!filters.is_empty()).then_some(filters))
                    .build()
                    .map_err(|e| invalid(OP, e))?,
            );
        }
        let configuration = ReplicationConfiguration::builder()
            .set_rules(Some(rules))
            .build()
            .map_err(|e| invalid(OP, e))?;
        self.client
            .put_replication_configuration()
            .replication_configuration(configuration)
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        Ok(())
    }
}
