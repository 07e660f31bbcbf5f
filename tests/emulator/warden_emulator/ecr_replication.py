"""ECR's registry replication configuration with ECR's own limits: moto refuses more than one rule
("This feature is disabled"); ECR takes up to 10 rules, 25 unique destinations across them and 100
repository filters per rule, and never the registry itself as a destination (API reference:
ReplicationConfiguration, ReplicationRule, PutReplicationConfiguration)."""

from __future__ import annotations

from typing import Any

from moto.ecr import models
from moto.ecr.exceptions import InvalidParameterException

MAX_RULES = 10
MAX_DESTINATIONS = 25
MAX_FILTERS = 100


def _put_replication_configuration(self: models.ECRBackend, replication_config: dict[str, Any]) -> dict[str, Any]:
    rules = replication_config.get("rules", [])
    if len(rules) > MAX_RULES:
        raise InvalidParameterException(
            f"Invalid parameter at 'replicationConfiguration.rules' failed to satisfy constraint: 'Member must have length less than or equal to {MAX_RULES}'"
        )
    unique = set()
    for rule in rules:
        filters = rule.get("repositoryFilters") or []
        if len(filters) > MAX_FILTERS:
            raise InvalidParameterException(
                f"Invalid parameter at 'repositoryFilters' failed to satisfy constraint: 'Member must have length less than or equal to {MAX_FILTERS}'"
            )
        for dest in rule.get("destinations", []):
            if dest["region"] == self.region_name and dest["registryId"] == self.account_id:
                raise InvalidParameterException(
                    "Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: "
                    "'Replication destination cannot be the same as the source registry'"
                )
            unique.add((dest["region"], dest["registryId"]))
    if len(unique) > MAX_DESTINATIONS:
        raise InvalidParameterException(
            f"Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: 'at most {MAX_DESTINATIONS} unique destinations across all rules'"
        )
    self.replication_config = replication_config
    return {"replicationConfiguration": replication_config}


def apply() -> None:
    models.ECRBackend.put_replication_configuration = _put_replication_configuration
