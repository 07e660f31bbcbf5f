"""ECR managed signing, which stock moto 5.2.5 does not implement: the registry's signing
configuration (PutSigningConfiguration, GetSigningConfiguration), a signing job per matching rule
when an image is pushed, and each job's status (DescribeImageSigningStatus). Whether AWS Signer's
job succeeds is not the registry's to decide: a job stays IN_PROGRESS until a test seeds its end
(`/_warden/seed/signing-status`)."""

from __future__ import annotations

import re
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.ecr import models, responses
from moto.ecr.exceptions import InvalidParameterException

from .patching import patch

MAX_RULES = 10
MAX_FILTERS = 100
STATUSES = ("IN_PROGRESS", "COMPLETE", "FAILED")
# SigningRepositoryFilter.filter: "Pattern: ^(?:[a-z0-9*]+(?:[._-][a-z0-9*]+)*/)*[a-z0-9*]+(?:[._-][a-z0-9*]+)*$",
# 1 to 256 characters.
FILTER = re.compile(r"(?:[a-z0-9*]+(?:[._-][a-z0-9*]+)*/)*[a-z0-9*]+(?:[._-][a-z0-9*]+)*")


def _matches(filter_: str, repository: str) -> bool:
    """WILDCARD_MATCH: "the * character matches any sequence of characters" (nothing else is a
    wildcard)."""
    return re.fullmatch(".*".join(re.escape(part) for part in filter_.split("*")), repository) is not None


class SigningConfigurationNotFoundException(ServiceException):
    code = "SigningConfigurationNotFoundException"


# (account, region) -> the registry's signing configuration as put.
_CONFIGURATIONS: dict[tuple[str, str], dict[str, Any]] = {}


def _rules_matching(account: str, region: str, repository: str) -> list[str]:
    """The signing profiles of the rules whose filters match `repository` (no filter: every one)."""
    rules = _CONFIGURATIONS.get((account, region), {}).get("rules", [])
    profiles = []
    for rule in rules:
        filters = rule.get("repositoryFilters") or []
        if not filters or any(_matches(f["filter"], repository) for f in filters):
            if rule["signingProfileArn"] not in profiles:
                profiles.append(rule["signingProfileArn"])
    return profiles


def _put_signing_configuration(self: responses.ECRResponse) -> ActionResult:
    configuration = self._get_param("signingConfiguration") or {}
    rules = configuration.get("rules")
    if not isinstance(rules, list) or len(rules) > MAX_RULES:
        raise InvalidParameterException(f"signingConfiguration.rules: 0 to {MAX_RULES} rules")
    for rule in rules:
        if not rule.get("signingProfileArn"):
            raise InvalidParameterException("signingConfiguration.rules[].signingProfileArn is required")
        filters = rule.get("repositoryFilters")
        if filters is not None and not 1 <= len(filters) <= MAX_FILTERS:
            raise InvalidParameterException(f"repositoryFilters: 1 to {MAX_FILTERS} filters")
        for f in filters or []:
            if f.get("filterType") != "WILDCARD_MATCH":
                raise InvalidParameterException(f"Invalid filterType: {f.get('filterType')}")
            value = f.get("filter")
            if not isinstance(value, str) or not 1 <= len(value) <= 256 or not FILTER.fullmatch(value):
                raise InvalidParameterException(f"Invalid repository filter: {value!r}")
    backend = self.ecr_backend
    _CONFIGURATIONS[(backend.account_id, backend.region_name)] = {"rules": rules}
    return ActionResult({"signingConfiguration": {"rules": rules}})


def _get_signing_configuration(self: responses.ECRResponse) -> ActionResult:
    backend = self.ecr_backend
    configuration = _CONFIGURATIONS.get((backend.account_id, backend.region_name))
    if configuration is None:
        raise SigningConfigurationNotFoundException("The registry has no signing configuration")
    return ActionResult({"registryId": backend.account_id, "signingConfiguration": configuration})


def _describe_image_signing_status(self: responses.ECRResponse) -> ActionResult:
    repository_name = self._get_param("repositoryName")
    image_id = self._get_param("imageId") or {}
    repo = self.ecr_backend._get_repository(repository_name, self._get_param("registryId"))
    image = repo._get_image(image_id.get("imageTag"), image_id.get("imageDigest"))
    statuses = [
        {"signingProfileArn": arn, **status} for arn, status in getattr(image, "warden_signing", {}).items()
    ]
    return ActionResult(
        {
            "repositoryName": repository_name,
            "imageId": {"imageDigest": image.get_image_digest()},
            "registryId": repo.registry_id,
            "signingStatuses": statuses,
        }
    )


def start_signing_jobs(backend: models.ECRBackend, repository_name: str, image: models.Image) -> None:
    """An image pushed to a repository the signing configuration matches: one job per profile,
    IN_PROGRESS until its end is seeded. A manifest pushed again keeps the jobs it had."""
    if hasattr(image, "warden_signing"):
        return
    profiles = _rules_matching(backend.account_id, backend.region_name, repository_name)
    image.warden_signing = {arn: {"status": "IN_PROGRESS"} for arn in profiles}


def seed_signing_status(body: dict[str, Any]) -> dict[str, Any]:
    """End an image's signing job as AWS Signer would. body: account, region, repository, digest,
    profile (the signing profile ARN), status (COMPLETE | FAILED), failureCode?, failureReason?"""
    if body["status"] not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}")
    repo = models.ecr_backends[body["account"]][body["region"]]._get_repository(body["repository"])
    image = repo._get_image(None, body["digest"])
    jobs = getattr(image, "warden_signing", {})
    if body["profile"] not in jobs:
        raise ValueError(f"no signing job for {body['profile']} on {body['digest']}")
    status: dict[str, Any] = {"status": body["status"]}
    if body["status"] == "FAILED":
        status["failureCode"] = body.get("failureCode", "SIGNING_FAILED")
        status["failureReason"] = body.get("failureReason", "seeded")
    jobs[body["profile"]] = status
    return {"signing": jobs}


def apply() -> None:
    """After `ecr.apply()`: pushes go through its put_image, then start their signing jobs."""
    inner = models.ECRBackend.put_image

    def _put_image(self: models.ECRBackend, repository_name: str, *args: Any, **kwargs: Any) -> models.Image:
        image = inner(self, repository_name, *args, **kwargs)
        start_signing_jobs(self, repository_name, image)
        return image

    patch(models.ECRBackend, "put_image", _put_image)
    patch(responses.ECRResponse, "put_signing_configuration", _put_signing_configuration)
    patch(responses.ECRResponse, "get_signing_configuration", _get_signing_configuration)
    patch(responses.ECRResponse, "describe_image_signing_status", _describe_image_signing_status)
