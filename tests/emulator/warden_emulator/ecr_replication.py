"""ECR's registry replication configuration with ECR's own limits: moto refuses more than one rule
("This feature is disabled"); ECR takes 25 unique destinations across all rules and 100 repository
filters per rule (service quotas page), and never the registry itself as a destination. Rules per
configuration: 10 on the quotas page and in the user guide, 25 in the current API reference — the
`replication_rules_limit` reading."""

from __future__ import annotations

from typing import Any

from moto.ecr import models
from moto.ecr.exceptions import InvalidParameterException

from .patching import patch
from .readings import reading

MAX_DESTINATIONS = 25
MAX_FILTERS = 100


def _put_replication_configuration(self: models.ECRBackend, replication_config: dict[str, Any]) -> dict[str, Any]:
    rules = replication_config.get("rules", [])
    max_rules = int(reading("replication_rules_limit", self.account_id, self.region_name))
    if len(rules) > max_rules:
        raise InvalidParameterException(
            f"Invalid parameter at 'replicationConfiguration.rules' failed to satisfy constraint: 'Member must have length less than or equal to {max_rules}'"
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
    patch(models.ECRBackend, "put_replication_configuration", _put_replication_configuration)
