"""ECS service revisions, which stock moto 5.2.5 lacks, and ListTaskDefinitions' order and pages.

Real ECS resolves each container's image tag to a digest when a service is deployed, records it in
a service revision (`DescribeServiceRevisions` → `containerImages[].imageDigest`), and names the
service's current revisions in `DescribeServices` (`currentServiceRevisions`). A service scaled to
0 still has them. Here a revision is recorded on CreateService and on every UpdateService that
starts a deployment, its digests resolved against the emulated ECR at that moment (so they stay
after the tag moves); an update that starts no deployment (desiredCount alone) keeps the revision.
"""

from __future__ import annotations

import itertools
from typing import Any

from moto.core.responses import ActionResult
from moto.ecs import models, responses
from moto.ecs.exceptions import InvalidParameterException

from .lambda_ import resolve
from .patching import patch

_original_create = models.EC2ContainerServiceBackend.create_service
_original_update = models.EC2ContainerServiceBackend.update_service
_revision_ids = itertools.count(1)


def _revisions(backend: models.EC2ContainerServiceBackend) -> dict[str, dict[str, Any]]:
    if not hasattr(backend, "warden_revisions"):
        backend.warden_revisions = {}
    return backend.warden_revisions


def _record(backend: models.EC2ContainerServiceBackend, service: models.Service) -> models.Service:
    if not service.task_definition:
        return service
    definition = backend.describe_task_definition(service.task_definition)
    images = []
    for container in definition.container_definitions:
        uri = container.get("image", "")
        resolved = resolve(uri)
        entry = {"containerName": container.get("name", ""), "image": uri}
        if resolved:
            entry["imageDigest"] = resolved.rsplit("@", 1)[1]
        images.append(entry)
    arn = (
        f"arn:aws:ecs:{backend.region_name}:{backend.account_id}:service-revision/"
        f"{service.cluster_name}/{service.name}/{next(_revision_ids)}"
    )
    _revisions(backend)[arn] = {
        "serviceRevisionArn": arn,
        "serviceArn": service.physical_resource_id,
        "clusterArn": service.cluster_arn,
        "taskDefinition": service.task_definition,
        "containerImages": images,
    }
    service.current_service_revisions = [
        {"arn": arn, "requestedTaskCount": service.desired_count, "runningTaskCount": 0, "pendingTaskCount": 0}
    ]
    return service


def _create_service(self: models.EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> models.Service:
    return _record(self, _original_create(self, *args, **kwargs))


# UpdateService parameters whose reference says "This parameter doesn't trigger a new service
# deployment" (and the service's name): an update of these alone keeps the current revision.
_NO_DEPLOYMENT = {
    "cluster",
    "service",
    "desired_count",
    "capacity_provider_strategy",
    "deployment_configuration",
    "availability_zone_rebalancing",
    "placement_constraints",
    "placement_strategy",
    "health_check_grace_period_seconds",
    "enable_execute_command",
    "enable_ecs_managed_tags",
    "propagate_tags",
}


def _update_service(self: models.EC2ContainerServiceBackend, service_properties: dict[str, Any]) -> models.Service:
    """ECS: "Amazon ECS automatically creates a new service revision when you create a service, or
    update a service property that starts a deployment"; desiredCount "doesn't trigger a new service
    deployment". An update that starts none keeps the revision (nothing is resolved again)."""
    deploys = any(v is not None and v is not False for k, v in service_properties.items() if k not in _NO_DEPLOYMENT)
    service = _original_update(self, service_properties)
    if deploys or not getattr(service, "current_service_revisions", None):
        return _record(self, service)
    current = service.current_service_revisions[0]
    service.current_service_revisions = [{**current, "requestedTaskCount": service.desired_count}]
    return service


def _describe_service_revisions(self: responses.EC2ContainerServiceResponse) -> ActionResult:
    store = _revisions(self.ecs_backend)
    found, failures = [], []
    arns = self._get_param("serviceRevisionArns", [])
    if not 1 <= len(arns) <= 20:
        # "You can specify a maximum of 20 ARNs."
        raise InvalidParameterException("serviceRevisionArns: between 1 and 20 ARNs")
    for arn in arns:
        if arn in store:
            found.append(store[arn])
        else:
            failures.append({"arn": arn, "reason": "MISSING"})
    return ActionResult({"serviceRevisions": found, "failures": failures})

def _list_task_definitions(self: responses.EC2ContainerServiceResponse) -> ActionResult:
    """Real ECS orders task definitions by family, then revision, and reverses that order with
    `sort: DESC` (newest revision first); it returns `maxResults` (≤ 100) per page with a
    `nextToken`. Stock moto ignores `sort`, `maxResults` and `nextToken`.
    """
    arns = self.ecs_backend.list_task_definitions(
        self._get_param("familyPrefix"), self._get_param("status", "ACTIVE")
    )

    def order(arn: str) -> tuple[str, int]:
        family, revision = arn.rsplit("/", 1)[1].rsplit(":", 1)
        return family, int(revision)

    arns.sort(key=order, reverse=self._get_param("sort", "ASC") == "DESC")
    size = int(self._get_param("maxResults") or 100)
    if not 1 <= size <= 100:
        # "This value can be between 1 and 100."
        raise InvalidParameterException("maxResults must be between 1 and 100")
    try:
        start = int(self._get_param("nextToken") or 0)
    except ValueError as err:
        raise InvalidParameterException("Invalid nextToken") from err
    page = arns[start : start + size]
    result: dict[str, Any] = {"taskDefinitionArns": page}
    if start + size < len(arns):
        result["nextToken"] = str(start + size)
    return ActionResult(result)


def apply() -> None:
    patch(models.EC2ContainerServiceBackend, "create_service", _create_service)
    patch(models.EC2ContainerServiceBackend, "update_service", _update_service)
    patch(responses.EC2ContainerServiceResponse, "describe_service_revisions", _describe_service_revisions)
    patch(responses.EC2ContainerServiceResponse, "list_task_definitions", _list_task_definitions)
