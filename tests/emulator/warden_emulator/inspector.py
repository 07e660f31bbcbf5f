"""Inspector2 made faithful where ecr-warden relies on it.

Stock moto 5.2.5 answers ListFindings from a FIFO queue of canned results whatever the filter, and has
no ListCoverage or BatchGetFindingDetails. Here findings are seeded per account and region, then
filtered and paged the way Inspector does.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Callable

from moto.core.exceptions import ServiceException
from moto.inspector2 import models, responses, urls
from moto.ecr import models as ecr_models

from .patching import patch, route
from .readings import reading


class ValidationException(ServiceException):
    code = "ValidationException"


def _ecr_image(finding: dict[str, Any]) -> dict[str, Any]:
    for resource in finding.get("resources", []):
        image = resource.get("details", {}).get("awsEcrContainerImage")
        if image:
            return image
    return {}


# Inspector filter keys ecr-warden uses, each mapped to the finding's values for that key.
FIELDS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "awsAccountId": lambda f: [f.get("awsAccountId", "")],
    "findingArn": lambda f: [f.get("findingArn", "")],
    "findingStatus": lambda f: [f.get("status", "")],
    "findingType": lambda f: [f.get("type", "")],
    "severity": lambda f: [f.get("severity", "")],
    "fixAvailable": lambda f: [f.get("fixAvailable", "")],
    "vulnerabilityId": lambda f: [f.get("packageVulnerabilityDetails", {}).get("vulnerabilityId", "")],
    "resourceType": lambda f: [r.get("type", "") for r in f.get("resources", [])],
    "ecrImageRepositoryName": lambda f: [_ecr_image(f).get("repositoryName", "")],
    "ecrImageHash": lambda f: [_ecr_image(f).get("imageHash", "")],
    "ecrImageTags": lambda f: list(_ecr_image(f).get("imageTags", [])),
    "ecrImageRegistry": lambda f: [_ecr_image(f).get("registry", "")],
}


def _string_filter_matches(flt: dict[str, Any], values: list[str]) -> bool:
    comparison, wanted = flt.get("comparison"), flt.get("value", "")
    if comparison == "EQUALS":
        return wanted in values
    if comparison == "PREFIX":
        return any(v.startswith(wanted) for v in values)
    if comparison == "NOT_EQUALS":
        return wanted not in values
    raise ValidationException(f"Unsupported comparison {comparison!r}")


# ListCoverage's filter keys ecr-warden's stand-in applies, each mapped to a covered resource's
# values; its string filters compare with EQUALS or NOT_EQUALS only (CoverageStringComparison).
COVERAGE_FIELDS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "accountId": lambda c: [c["accountId"]],
    "resourceId": lambda c: [c["resourceId"]],
    "resourceType": lambda c: [c["resourceType"]],
    "scanType": lambda c: [c["scanType"]],
    "scanStatusCode": lambda c: [c["scanStatus"].get("statusCode", "")],
    "scanStatusReason": lambda c: [c["scanStatus"].get("reason", "")],
    "ecrRepositoryName": lambda c: [c["resourceMetadata"]["ecrRepository"]["name"]],
    "ecrImageTags": lambda c: list(c["resourceMetadata"]["ecrImage"]["tags"]),
}


def check_criteria(
    criteria: dict[str, Any] | None, fields: dict[str, Any], comparisons: tuple[str, ...]
) -> None:
    """Refuse what this stand-in cannot filter, before looking at anything: never answer unfiltered."""
    for key, filters in (criteria or {}).items():
        if key not in fields:
            raise ValidationException(f"warden emulator: filter key {key!r} is not supported")
        for f in filters:
            if f.get("comparison") not in comparisons:
                raise ValidationException(f"Unsupported comparison {f.get('comparison')!r} for {key}")


def finding_matches(
    criteria: dict[str, Any] | None,
    finding: dict[str, Any],
    fields: dict[str, Any] = FIELDS,
    combination: str = "keys_and",
) -> bool:
    """How filters combine is a reading (`inspector_filter_combination`): `keys_and` — filters of one
    key OR-ed (NOT_EQUALS ones AND-ed), keys AND-ed; `all_or` — any one filter that matches."""
    if combination == "all_or" and criteria:
        return any(
            _string_filter_matches(f, fields[key](finding)) for key, filters in criteria.items() for f in filters
        )
    for key, filters in (criteria or {}).items():
        values = fields[key](finding)
        positive = [f for f in filters if f.get("comparison") != "NOT_EQUALS"]
        negative = [f for f in filters if f.get("comparison") == "NOT_EQUALS"]
        if positive and not any(_string_filter_matches(f, values) for f in positive):
            return False
        if not all(_string_filter_matches(f, values) for f in negative):
            return False
    return True


def _page(items: list[Any], max_results: Any, next_token: Any, limit: int) -> tuple[list[Any], str | None]:
    size = limit if max_results is None else int(max_results)
    if not 1 <= size <= limit:
        raise ValidationException(f"maxResults must be between 1 and {limit}")
    start = int(base64.urlsafe_b64decode(next_token.encode()).decode()) if next_token else 0
    chunk = items[start : start + size]
    end = start + len(chunk)
    return chunk, (base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None)


def _seeded(backend: models.Inspector2Backend) -> list[dict[str, Any]]:
    store = getattr(backend, "warden_findings", None)
    if store is None:
        store = backend.warden_findings = []
    return store


def _list_findings(self: responses.Inspector2Response) -> str:
    criteria = self._get_param("filterCriteria")
    check_criteria(criteria, FIELDS, ("EQUALS", "PREFIX", "NOT_EQUALS"))
    combination = reading("inspector_filter_combination", self.current_account, self.region)
    found = [f for f in _seeded(self.inspector2_backend) if finding_matches(criteria, f, FIELDS, combination)]
    chunk, token = _page(found, self._get_param("maxResults"), self._get_param("nextToken"), 100)
    result: dict[str, Any] = {"findings": chunk}
    if token:
        result["nextToken"] = token
    return json.dumps(result)


def _batch_get_finding_details(self: responses.Inspector2Response) -> str:
    arns = self._get_param("findingArns") or []
    if not 1 <= len(arns) <= 10:
        raise ValidationException("findingArns must hold between 1 and 10 ARNs")
    by_arn = {f.get("findingArn"): f for f in _seeded(self.inspector2_backend)}
    details, errors = [], []
    for arn in arns:
        finding = by_arn.get(arn)
        if finding is None:
            errors.append({"findingArn": arn, "errorCode": "FINDING_DETAILS_NOT_FOUND", "errorMessage": "Finding not found"})
        else:
            details.append({"findingArn": arn, **finding.get("warden_details", {})})
    return json.dumps({"findingDetails": details, "errors": errors})


def _list_coverage(self: responses.Inspector2Response) -> str:
    """Coverage: every ECR image of the account and region is covered, ACTIVE unless seeded otherwise;
    filtered (EQUALS / NOT_EQUALS) by the keys in COVERAGE_FIELDS, any other key refused."""
    account, region = self.current_account, self.region
    criteria = self._get_param("filterCriteria") or {}
    check_criteria(criteria, COVERAGE_FIELDS, ("EQUALS", "NOT_EQUALS"))
    covered = []
    for repo in ecr_models.ecr_backends[account][region].repositories.values():
        for image in repo.images:
            resource_id = f"arn:aws:ecr:{region}:{account}:repository/{repo.name}/{image.get_image_digest()}"
            covered.append(
                {
                    "accountId": account,
                    "resourceId": resource_id,
                    "resourceType": "AWS_ECR_CONTAINER_IMAGE",
                    "scanType": "PACKAGE",
                    # Seedable (image-times `coverage`): e.g. INACTIVE / SCAN_ELIGIBILITY_EXPIRED.
                    "scanStatus": getattr(image, "warden_coverage", {"statusCode": "ACTIVE", "reason": "SUCCESSFUL"}),
                    "resourceMetadata": {
                        "ecrImage": {"tags": list(image.image_tags)},
                        "ecrRepository": {"name": repo.name, "scanFrequency": "CONTINUOUS_SCAN"},
                    },
                }
            )
    combination = reading("inspector_filter_combination", account, region)
    covered = [c for c in covered if finding_matches(criteria, c, COVERAGE_FIELDS, combination)]
    chunk, token = _page(covered, self._get_param("maxResults"), self._get_param("nextToken"), 200)
    result: dict[str, Any] = {"coveredResources": chunk}
    if token:
        result["nextToken"] = token
    return json.dumps(result)


def seed_findings(body: dict[str, Any]) -> dict[str, Any]:
    """Add findings (Inspector's Finding shape) to one account and region; a finding with a known
    findingArn replaces the old one, as an update does in Inspector."""
    backend = models.inspector2_backends[body["account"]][body["region"]]
    store = _seeded(backend)
    for finding in body.get("findings", []):
        store[:] = [f for f in store if f.get("findingArn") != finding.get("findingArn")]
        store.append(finding)
    return {"count": len(store)}


def apply() -> None:
    patch(responses.Inspector2Response, "list_findings", _list_findings)
    patch(responses.Inspector2Response, "list_coverage", _list_coverage)
    patch(responses.Inspector2Response, "batch_get_finding_details", _batch_get_finding_details)
    route(urls.url_paths, "{0}/coverage/list$", responses.Inspector2Response.dispatch, "Inspector2 route ListCoverage")
    route(
        urls.url_paths,
        "{0}/findings/details/batch/get$",
        responses.Inspector2Response.dispatch,
        "Inspector2 route BatchGetFindingDetails",
    )
