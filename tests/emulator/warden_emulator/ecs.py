"""ECS service revisions, which stock moto 5.2.5 lacks, and ListTaskDefinitions' order and pages.

Real ECS resolves each container's image tag to a digest when a service is deployed, records it in
a service revision (`DescribeServiceRevisions` → `containerImages[].imageDigest`), and names the
service's current revisions in `DescribeServices` (`currentServiceRevisions`). A service scaled to
0 still has them. Here a revision is recorded on every CreateService/UpdateService, its digests
resolved against the emulated ECR at that moment (so they stay after the tag moves).
"""

from __future__ import annotations

import itertools
from typing import Any

from moto.core.responses import ActionResult
from moto.ecs import models, responses

from .lambda_ import resolve

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


def _update_service(self: models.EC2ContainerServiceBackend, service_properties: dict[str, Any]) -> models.Service:
    return _record(self, _original_update(self, service_properties))


def _describe_service_revisions(self: responses.EC2ContainerServiceResponse) -> ActionResult:
    store = _revisions(self.ecs_backend)
    found, failures = [], []
    for arn in self._get_param("serviceRevisionArns", []):
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
    start = int(self._get_param("nextToken") or 0)
    size = int(self._get_param("maxResults") or 100)
    page = arns[start : start + size]
    result: dict[str, Any] = {"taskDefinitionArns": page}
    if start + size < len(arns):
        result["nextToken"] = str(start + size)
    return ActionResult(result)


def apply() -> None:
    models.EC2ContainerServiceBackend.create_service = _create_service
    models.EC2ContainerServiceBackend.update_service = _update_service
    responses.EC2ContainerServiceResponse.describe_service_revisions = _describe_service_revisions
    responses.EC2ContainerServiceResponse.list_task_definitions = _list_task_definitions
