"""ECR's ListImageReferrers, which stock moto 5.2.5 does not implement: the artifacts (OCI 1.1
referrers) whose manifest names a subject image in its `subject` (API reference:
ListImageReferrers, ImageReferrer, ListImageReferrersFilter)."""

from __future__ import annotations

import json
from typing import Any

from moto.core.responses import ActionResult
from moto.ecr import models, responses

from moto.ecr.exceptions import InvalidParameterException

from .ecr_responses import _size, _status, page
from .patching import patch

STATUSES = ("ACTIVE", "ARCHIVED", "ACTIVATING", "ANY")


def _manifest(image: models.Image) -> dict[str, Any]:
    try:
        manifest = json.loads(image.image_manifest)
    except ValueError:
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _artifact_type(manifest: dict[str, Any]) -> str | None:
    """The OCI distribution spec's referrers rule: `artifactType`, else the config's media type."""
    config = manifest.get("config")
    return manifest.get("artifactType") or (config.get("mediaType") if isinstance(config, dict) else None)


def _list_image_referrers(self: responses.ECRResponse) -> ActionResult:
    repo = self.ecr_backend._get_repository(self._get_param("repositoryName"), self._get_param("registryId"))
    subject = (self._get_param("subjectId") or {}).get("imageDigest")
    if not subject:
        raise InvalidParameterException("subjectId.imageDigest is required")
    wanted = self._get_param("filter") or {}
    status = wanted.get("artifactStatus") or "ACTIVE"
    if status not in STATUSES:
        raise InvalidParameterException(f"Invalid parameter at 'filter.artifactStatus': {status}")
    types = wanted.get("artifactTypes") or []
    referrers: list[dict[str, Any]] = []
    seen: set[str] = set()
    for image in repo.images:
        manifest = _manifest(image)
        named = manifest.get("subject")
        digest = image.get_image_digest()
        if not isinstance(named, dict) or named.get("digest") != subject or digest in seen:
            continue
        if status != "ANY" and _status(image) != status:
            continue
        kind = _artifact_type(manifest)
        if types and kind not in types:
            continue
        seen.add(digest)
        entry: dict[str, Any] = {
            "digest": digest,
            "mediaType": manifest.get("mediaType") or image.image_manifest_media_type,
            "size": _size(repo, image) or len(image.image_manifest.encode()),
            "artifactStatus": _status(image),
        }
        if kind:
            entry["artifactType"] = kind
        if isinstance(manifest.get("annotations"), dict):
            entry["annotations"] = manifest["annotations"]
        referrers.append(entry)
    referrers.sort(key=lambda r: r["digest"])
    chunk, token = page(referrers, self._get_param("maxResults"), self._get_param("nextToken"), 50, 50)
    result: dict[str, Any] = {"referrers": chunk}
    if token:
        result["nextToken"] = token
    return ActionResult(result)


def apply() -> None:
    patch(responses.ECRResponse, "list_image_referrers", _list_image_referrers)
