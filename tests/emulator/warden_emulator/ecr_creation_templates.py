"""ECR's repository creation templates, which stock moto 5.2.5 does not implement: the settings a
registry gives repositories created in it on its behalf (API reference:
CreateRepositoryCreationTemplate, DescribeRepositoryCreationTemplates). Only the templates are kept here; moto creates no repository
from them (ecr-warden's replicator reads them and creates the repository itself)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.ecr import responses
from moto.ecr.exceptions import InvalidParameterException

from .ecr_responses import page
from .patching import patch

# RepositoryCreationTemplate.appliedFor: "the repository creation scenarios that this template
# will apply towards".
SCENARIOS = ("REPLICATION", "PULL_THROUGH_CACHE", "CREATE_ON_PUSH")
# botocore ecr, shape Prefix: length 1-256 and this pattern.
PREFIX = re.compile(r"^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\/?|ROOT)$")
MUTABILITY = ("MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION")
SETTINGS = (
    "description",
    "encryptionConfiguration",
    "resourceTags",
    "imageTagMutabilityExclusionFilters",
    "repositoryPolicy",
    "lifecyclePolicy",
    "customRoleArn",
)


class TemplateAlreadyExistsException(JsonRESTError):
    code = 400

    def __init__(self, prefix: str) -> None:
        super().__init__("TemplateAlreadyExistsException", f"A repository creation template with the prefix '{prefix}' already exists")


def _templates(response: responses.ECRResponse) -> dict[str, dict[str, Any]]:
    backend = response.ecr_backend
    templates = getattr(backend, "warden_creation_templates", None)
    if templates is None:
        templates = backend.warden_creation_templates = {}
    return templates


def _create_repository_creation_template(self: responses.ECRResponse) -> ActionResult:
    prefix = self._get_param("prefix") or ""
    applied_for = self._get_param("appliedFor") or []
    if not PREFIX.match(prefix) or len(prefix) > 256:
        raise InvalidParameterException(f"Invalid parameter at 'prefix' failed to satisfy constraint: '{prefix}'")
    if not applied_for or any(s not in SCENARIOS for s in applied_for):
        raise InvalidParameterException(f"Invalid parameter at 'appliedFor': {applied_for}")
    mutability = self._get_param("imageTagMutability") or "MUTABLE"
    if mutability not in MUTABILITY:
        raise InvalidParameterException(f"Invalid parameter at 'imageTagMutability': {mutability}")
    templates = _templates(self)
    key = prefix.rstrip("/")
    if key in templates:
        raise TemplateAlreadyExistsException(prefix)
    now = datetime.now(timezone.utc)
    template: dict[str, Any] = {
        "prefix": key,
        "appliedFor": list(applied_for),
        "imageTagMutability": mutability,
        "createdAt": now,
        "updatedAt": now,
    }
    for name in SETTINGS:
        value = self._get_param(name)
        if value:
            template[name] = value
    templates[key] = template
    return ActionResult({"registryId": self.ecr_backend.account_id, "repositoryCreationTemplate": dict(template)})


def _describe_repository_creation_templates(self: responses.ECRResponse) -> ActionResult:
    templates = _templates(self)
    wanted = [p.rstrip("/") for p in self._get_param("prefixes") or []]
    found = [templates[p] for p in wanted if p in templates] if wanted else sorted(templates.values(), key=lambda t: t["prefix"])
    chunk, token = page(found, self._get_param("maxResults"), self._get_param("nextToken"), 100, 1000)
    result: dict[str, Any] = {"registryId": self.ecr_backend.account_id, "repositoryCreationTemplates": chunk}
    if token:
        result["nextToken"] = token
    return ActionResult(result)


def apply() -> None:
    patch(responses.ECRResponse, "create_repository_creation_template", _create_repository_creation_template)
    patch(responses.ECRResponse, "describe_repository_creation_templates", _describe_repository_creation_templates)
