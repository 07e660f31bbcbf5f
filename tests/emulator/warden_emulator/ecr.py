"""ECR made faithful where ecr-warden relies on it.

Each patch names what real ECR does; stock moto 5.2.5 does otherwise (see the probe test).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime, timezone
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.ecr import models, responses
from moto.ecr.exceptions import (
    ImageAlreadyExistsException,
    InvalidParameterException,
    ScanNotFoundException,
    UploadNotFoundException,
)

from .wildcard import matches

EXCLUSION_FILTER = re.compile(r"[0-9a-zA-Z._*-]{1,128}")
MAX_EXCLUSION_FILTERS = 5


class ImageTagAlreadyExistsException(ServiceException):
    code = "ImageTagAlreadyExistsException"

    def __init__(self, repository_name: str, registry_id: str, image_tag: str):
        super().__init__(
            f"The image tag '{image_tag}' already exists in the '{repository_name}' repository "
            f"with registry id '{registry_id}' and cannot be overwritten because the tag is immutable."
        )


class ImageDigestDoesNotMatchException(ServiceException):
    code = "ImageDigestDoesNotMatchException"


class LayersNotFoundException(ServiceException):
    code = "LayersNotFoundException"


class InvalidLayerException(ServiceException):
    code = "InvalidLayerException"


def manifest_digest(manifest: str) -> str:
    """ECR: an image's digest is the sha256 of its manifest bytes, for manifests and indexes alike."""
    return "sha256:" + hashlib.sha256(manifest.encode("utf-8")).hexdigest()


def tag_is_immutable(repo: models.Repository, tag: str) -> bool:
    """ECR: exclusion filters are wildcards (`*` only), and they invert the repository's mode."""
    filters = [f.get("filter", "") for f in repo.image_tag_mutability_exclusion_filters or []]
    excluded = any(matches(f, tag) for f in filters)
    mode = repo.image_tag_mutability
    if mode == "IMMUTABLE":
        return True
    if mode == "IMMUTABLE_WITH_EXCLUSION":
        return not excluded
    if mode == "MUTABLE_WITH_EXCLUSION":
        return excluded
    return False


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- paging ---------------------------------------------------------------------------------------


def page(items: list[Any], max_results: Any, next_token: Any, default: int, limit: int) -> tuple[list[Any], str | None]:
    """ECR pages: maxResults in 1..limit (default `default`), an opaque nextToken."""
    size = default if max_results is None else int(max_results)
    if not 1 <= size <= limit:
        raise InvalidParameterException(
            f"Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value between 1 and {limit}'"
        )
    start = 0
    if next_token:
        try:
            start = int(base64.urlsafe_b64decode(next_token.encode()).decode())
        except (ValueError, UnicodeDecodeError) as err:
            raise InvalidParameterException("Invalid parameter at 'nextToken'") from err
    chunk = items[start : start + size]
    end = start + len(chunk)
    token = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return chunk, token


# --- model patches --------------------------------------------------------------------------------

_original_image_init = models.Image.__init__


def _image_init(self: models.Image, *args: Any, **kwargs: Any) -> None:
    _original_image_init(self, *args, **kwargs)
    self.image_scan_status = None
    self.image_scan_findings_summary = None
    self.warden_scan = None
    if self.image_tag is None:
        self.image_tags = []


def _create_digest(self: models.Image) -> None:
    self._image_digest = manifest_digest(self.image_manifest)


def _image_size(self: models.Image) -> int | None:
    """ECR: the size of an image is the sum of its layers (an index has none of its own)."""
    manifest = json.loads(self.image_manifest)
    layers = manifest.get("layers")
    if not isinstance(layers, list):
        return None
    return sum(int(layer.get("size", 0)) for layer in layers) + int(manifest.get("config", {}).get("size", 0))


def _remove_tag(self: models.Image, tag: str) -> None:
    if tag in self.image_tags:
        self.image_tags.remove(tag)
    self.image_tag = self.image_tags[-1] if self.image_tags else None


def _index(repo: models.Repository) -> dict[str, Any]:
    """Digest and tag lookups for a repository, kept up to date by put_image and rebuilt whenever
    the image list changed behind its back (moto keeps images in a plain list: O(N) per lookup,
    which made a 10,000-image repository take minutes to fill)."""
    idx = getattr(repo, "warden_index", None)
    if idx is None or idx["list"] is not repo.images or idx["len"] != len(repo.images):
        idx = {
            "list": repo.images,
            "len": len(repo.images),
            "digest": {i.get_image_digest(): i for i in repo.images},
            "tag": {t: i for i in repo.images for t in i.image_tags},
        }
        repo.warden_index = idx
    return idx


def _put_image(
    self: models.ECRBackend,
    repository_name: str,
    image_manifest: str,
    image_tag: str | None,
    image_manifest_mediatype: str | None = None,
    digest: str | None = None,
) -> models.Image:
    """ECR: a missing repository is RepositoryNotFound (not HTTP 500); a tag moved off an image in a
    mutable repository leaves that image in place (untagged if it was its last tag); an immutable tag
    is refused with ImageTagAlreadyExistsException."""
    repository = self._get_repository(repository_name)
    try:
        parsed = json.loads(image_manifest)
    except (TypeError, ValueError) as err:
        raise InvalidParameterException(
            "Invalid parameter at 'imageManifest' failed to satisfy constraint: 'Invalid JSON syntax'"
        ) from err
    media_type = image_manifest_mediatype or (parsed.get("mediaType") if isinstance(parsed, dict) else None)
    if not media_type:
        raise InvalidParameterException("image manifest mediatype not provided in manifest or parameter")
    actual = manifest_digest(image_manifest)
    if digest and digest != actual:
        raise ImageDigestDoesNotMatchException(
            f"The specified digest '{digest}' does not match the digest of the manifest '{actual}'"
        )
    idx = _index(repository)
    image = idx["digest"].get(actual)
    holder = None
    if image_tag:
        holder = idx["tag"].get(image_tag)
        if holder is not None and image_tag not in holder.image_tags:  # stale entry: look properly
            holder = next((i for i in repository.images if image_tag in i.image_tags), None)
    if image is not None and (not image_tag or holder is image):
        raise ImageAlreadyExistsException(
            repository_name=repository_name,
            registry_id=repository.registry_id,
            digest=actual,
            image_tag=image_tag or "null",
        )
    if holder is not None and image_tag:
        if tag_is_immutable(repository, image_tag):
            raise ImageTagAlreadyExistsException(repository_name, repository.registry_id, image_tag)
        holder.remove_tag(image_tag)
    if image is None:
        image = models.Image(
            self.account_id,
            image_tag,
            image_manifest,
            repository_name,
            media_type,
            actual,
            registry_id=repository.registry_id,
        )
        repository.images.append(image)
        idx["digest"][actual] = image
        idx["len"] += 1
    elif image_tag:
        image.update_tag(image_tag)
    if image_tag:
        idx["tag"][image_tag] = image
    return image


def _validate_exclusion_filters(self: models.ECRBackend, filters: list[dict[str, str]] | None) -> str | None:
    """ECR: 1 to 5 filters, each WILDCARD and matching [0-9a-zA-Z._*-]{1,128}."""
    if filters is None:
        return None
    if not 1 <= len(filters) <= MAX_EXCLUSION_FILTERS:
        return f"'Member must have length between 1 and {MAX_EXCLUSION_FILTERS}'"
    for f in filters:
        if f.get("filterType") != "WILDCARD":
            return f"Invalid value for 'filterType' in mutability exclusion filter: {f.get('filterType')}"
        if not EXCLUSION_FILTER.fullmatch(f.get("filter", "")):
            return f"'filter {f.get('filter')!r} must satisfy regular expression [0-9a-zA-Z._*-]{{1,128}}'"
    return None


def _complete_layer_upload(
    self: models.ECRBackend,
    repository_name: str,
    upload_id: str,
    layer_digests: list[str],
    registry_id: str | None = None,
) -> dict[str, Any]:
    """ECR keeps the uploaded bytes (moto kept only their size) and checks the client's digest."""
    repository = self._get_repository(repository_name, registry_id)
    upload = repository.uploads.get(upload_id)
    if upload is None:
        raise UploadNotFoundException(upload_id, repository_name, repository.registry_id)
    blob = bytes(upload.layer_parts)
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    if layer_digests and layer_digests[0] != digest:
        raise InvalidLayerException(
            f"The layer digest calculation performed by Amazon ECR ({digest}) does not match the digest specified ({layer_digests[0]})"
        )
    repository.layers[digest] = len(blob)
    blobs = getattr(repository, "warden_layer_blobs", None)
    if blobs is None:
        blobs = repository.warden_layer_blobs = {}
    blobs[digest] = blob
    del repository.uploads[upload_id]
    return {
        "registryId": repository.registry_id,
        "repositoryName": repository_name,
        "uploadId": upload_id,
        "layerDigest": digest,
    }


def layer_blob(account: str, region: str, repository_name: str, digest: str) -> bytes | None:
    backend = models.ecr_backends[account][region]
    repo = backend.repositories.get(repository_name)
    if repo is None:
        return None
    return getattr(repo, "warden_layer_blobs", {}).get(digest)


# --- response patches (paging, filters, fields moto leaves out) -----------------------------------


def _status(image: models.Image) -> str:
    return getattr(image, "warden_status", "ACTIVE")


def _image_status_filter(images: list[models.Image], image_status: str | None) -> list[models.Image]:
    """ECR: DescribeImages lists ACTIVE images only unless the filter asks for ARCHIVED,
    ACTIVATING or ANY."""
    wanted = image_status or "ACTIVE"
    return images if wanted == "ANY" else [i for i in images if _status(i) == wanted]


def _tag_status_filter(images: list[models.Image], tag_status: str | None) -> list[models.Image]:
    if tag_status == "TAGGED":
        return [i for i in images if i.image_tags]
    if tag_status == "UNTAGGED":
        return [i for i in images if not i.image_tags]
    return images


def _list_images(self: responses.ECRResponse) -> ActionResult:
    repo = self.ecr_backend._get_repository(self._get_param("repositoryName"), self._get_param("registryId"))
    images = _tag_status_filter(list(repo.images), (self._get_param("filter") or {}).get("tagStatus"))
    ids: list[dict[str, str]] = []
    for image in images:
        if image.image_tags:
            ids.extend({"imageDigest": image.image_digest, "imageTag": t} for t in image.image_tags)
        else:
            ids.append({"imageDigest": image.image_digest})
    chunk, token = page(ids, self._get_param("maxResults"), self._get_param("nextToken"), 100, 1000)
    result: dict[str, Any] = {"imageIds": chunk}
    if token:
        result["nextToken"] = token
    return ActionResult(result)


def _image_detail(repo: models.Repository, image: models.Image) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "imageDigest": image.get_image_digest(),
        "imagePushedAt": datetime.fromtimestamp(image.image_pushed_at, timezone.utc),
        "imageManifestMediaType": image.image_manifest_media_type,
        "imageStatus": _status(image),
    }
    archived = getattr(image, "warden_archived_at", None)
    if archived is not None:
        detail["lastArchivedAt"] = datetime.fromtimestamp(archived, timezone.utc)
    if image.image_tags:
        detail["imageTags"] = list(image.image_tags)
    size = image.get_image_size_in_bytes()
    if size is not None:
        detail["imageSizeInBytes"] = size
    manifest = json.loads(image.image_manifest)
    config_type = manifest.get("config", {}).get("mediaType") if isinstance(manifest, dict) else None
    if config_type:
        detail["artifactMediaType"] = config_type
    pulled = getattr(image, "warden_last_pull", None)
    if pulled is not None:
        detail["lastRecordedPullTime"] = datetime.fromtimestamp(pulled, timezone.utc)
    if image.image_scan_status:
        detail["imageScanStatus"] = image.image_scan_status
    if image.image_scan_findings_summary:
        detail["imageScanFindingsSummary"] = image.image_scan_findings_summary
    return detail


INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")


def _children(image: models.Image) -> list[str]:
    if image.image_manifest_media_type not in INDEX_TYPES:
        return []
    try:
        return [m["digest"] for m in json.loads(image.image_manifest).get("manifests", [])]
    except (ValueError, TypeError, KeyError):
        return []


def _batch_delete_image(self: responses.ECRResponse) -> ActionResult:
    """ECR: per-id results; removing an image's last tag deletes it; an image an index in the
    repository still references is refused with ImageReferencedByManifestList (so an index must go
    before its children). moto scanned every image for every id and never refused."""
    name = self._get_param("repositoryName")
    repo = self.ecr_backend._get_repository(name, self._get_param("registryId"))
    by_digest = {i.get_image_digest(): i for i in repo.images}
    by_tag = {t: i for i in repo.images for t in i.image_tags}
    referenced: dict[str, int] = {}
    for image in repo.images:
        for child in _children(image):
            referenced[child] = referenced.get(child, 0) + 1
    deleted: set[str] = set()
    done, failures = [], []

    def remove(image: models.Image) -> str | None:
        digest = image.get_image_digest()
        if referenced.get(digest, 0) > 0:
            return "ImageReferencedByManifestList"
        for tag in list(image.image_tags):
            by_tag.pop(tag, None)
        deleted.add(digest)
        by_digest.pop(digest, None)
        for child in _children(image):
            referenced[child] -= 1
        return None

    for image_id in self._get_param("imageIds") or []:
        digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
        if not digest and not tag:
            failures.append({"imageId": image_id, "failureCode": "MissingDigestAndTag", "failureReason": "both tag and digest cannot be null"})
            continue
        if digest and not re.fullmatch(r"[0-9a-zA-Z_+.-]+:[0-9a-fA-F]{64}", digest):
            failures.append({"imageId": image_id, "failureCode": "InvalidImageDigest", "failureReason": "Invalid image digest"})
            continue
        image = by_digest.get(digest) if digest else by_tag.get(tag)
        if image is not None and digest and tag and tag not in image.image_tags:
            # ECR: digest and tag that do not belong together. The tag moved to another image (or
            # is gone): the image named by digest is left alone.
            code, reason = (
                ("ImageTagDoesNotMatchDigest", "The image tag does not match the image digest")
                if tag in by_tag
                else ("ImageNotFound", "Requested image not found")
            )
            failures.append({"imageId": image_id, "failureCode": code, "failureReason": reason})
            continue
        if image is None:
            failures.append({"imageId": image_id, "failureCode": "ImageNotFound", "failureReason": "Requested image not found"})
            continue
        if tag and len(image.image_tags) > 1:
            image.remove_tag(tag)
            by_tag.pop(tag, None)
            done.append({"imageDigest": image.get_image_digest(), "imageTag": tag})
            continue
        tags = list(image.image_tags)
        refused = remove(image)
        if refused:
            failures.append({"imageId": image_id, "failureCode": refused,
                             "failureReason": "The image is referenced by a manifest list in the repository"})
            continue
        done.extend({"imageDigest": image.get_image_digest(), "imageTag": t} for t in tags or [None])
    if deleted:
        repo.images = [i for i in repo.images if i.get_image_digest() not in deleted]
    for entry in done:
        if entry["imageTag"] is None:
            del entry["imageTag"]
    return ActionResult({"imageIds": done, "failures": failures})


def _describe_images(self: responses.ECRResponse) -> ActionResult:
    repo = self.ecr_backend._get_repository(self._get_param("repositoryName"), self._get_param("registryId"))
    image_ids = self._get_param("imageIds")
    if image_ids:
        images = []
        for image_id in image_ids:
            image = repo._get_image(image_id.get("imageTag"), image_id.get("imageDigest"))
            if image not in images:
                images.append(image)
        return ActionResult({"imageDetails": [_image_detail(repo, i) for i in images]})
    filters = self._get_param("filter") or {}
    images = _tag_status_filter(_image_status_filter(list(repo.images), filters.get("imageStatus")), filters.get("tagStatus"))
    chunk, token = page(images, self._get_param("maxResults"), self._get_param("nextToken"), 100, 1000)
    result: dict[str, Any] = {"imageDetails": [_image_detail(repo, i) for i in chunk]}
    if token:
        result["nextToken"] = token
    return ActionResult(result)


def _describe_repositories(self: responses.ECRResponse) -> ActionResult:
    repos = self.ecr_backend.describe_repositories(
        repository_names=self._get_param("repositoryNames"), registry_id=self._get_param("registryId")
    )
    chunk, token = page(list(repos), self._get_param("maxResults"), self._get_param("nextToken"), 100, 1000)
    result: dict[str, Any] = {"repositories": chunk}
    if token:
        result["nextToken"] = token
    return ActionResult(result)


def _find_image(repo: models.Repository, tag: str | None, digest: str | None) -> models.Image | None:
    return next(
        (
            i
            for i in repo.images
            if (not tag or tag in i.image_tags) and (not digest or i.get_image_digest() == digest)
        ),
        None,
    )


def _batch_get_image(self: responses.ECRResponse) -> ActionResult:
    """ECR answers with the image id as asked (moto: the image's last tag) and per-id failures."""
    name = self._get_param("repositoryName")
    repo = self.ecr_backend._get_repository(name, self._get_param("registryId"))
    images, failures = [], []
    for image_id in self._get_param("imageIds") or []:
        tag, digest = image_id.get("imageTag"), image_id.get("imageDigest")
        image = _find_image(repo, tag, digest)
        if image is None:
            code = "ImageTagDoesNotMatchDigest" if tag and digest and _find_image(repo, None, digest) else "ImageNotFound"
            failures.append({"imageId": image_id, "failureCode": code, "failureReason": "Requested image not found"})
            continue
        asked = {"imageDigest": image.get_image_digest()}
        if tag:
            asked["imageTag"] = tag
        elif image.image_tags and _options(self.current_account, self.region).get("echo_tags_for_digest_ids"):
            # Robustness knob: answer a digest-only id with one of the image's tags as well.
            asked["imageTag"] = image.image_tags[0]
        images.append(
            {
                "registryId": repo.registry_id,
                "repositoryName": name,
                "imageId": asked,
                "imageManifest": image.image_manifest,
                "imageManifestMediaType": image.image_manifest_media_type,
            }
        )
    return ActionResult({"images": images, "failures": failures})


def _put_image_tag_mutability(self: responses.ECRResponse) -> ActionResult:
    filters = self._get_param("imageTagMutabilityExclusionFilters")
    result = self.ecr_backend.put_image_tag_mutability(
        registry_id=self._get_param("registryId"),
        repository_name=self._get_param("repositoryName"),
        image_tag_mutability=self._get_param("imageTagMutability"),
        image_tag_mutability_exclusion_filters=filters,
    )
    if filters:
        result["imageTagMutabilityExclusionFilters"] = filters
    return ActionResult(result)


def _get_download_url_for_layer(self: responses.ECRResponse) -> ActionResult:
    """ECR answers with a pre-signed URL; ours is served by the emulator's /_warden/layers route."""
    name = self._get_param("repositoryName")
    digest = self._get_param("layerDigest")
    repo = self.ecr_backend._get_repository(name, self._get_param("registryId"))
    if digest not in getattr(repo, "warden_layer_blobs", {}):
        raise LayersNotFoundException(f"The image layer '{digest}' does not exist in the repository '{name}'")
    host = self.headers.get("Host", "127.0.0.1")
    url = f"http://{host}/_warden/layers/{repo.registry_id}/{self.region}/{name}/{digest}"
    return ActionResult({"downloadUrl": url, "layerDigest": digest})


def _describe_image_scan_findings(self: responses.ECRResponse) -> ActionResult:
    """ECR: findings of the image's last scan, paged (maxResults ≤ 1000); counts cover every finding.
    moto answered a made-up CVE for any image; here only a seeded scan exists."""
    name = self._get_param("repositoryName")
    repo = self.ecr_backend._get_repository(name, self._get_param("registryId"))
    image_id = self._get_param("imageId") or {}
    image = repo._get_image(image_id.get("imageTag"), image_id.get("imageDigest"))
    scan = image.warden_scan
    if scan is None:
        raise ScanNotFoundException(image_id=json.dumps(image_id), repository_name=name, registry_id=repo.registry_id)
    key = "enhancedFindings" if scan["enhanced"] else "findings"
    chunk, token = page(scan["findings"], self._get_param("maxResults"), self._get_param("nextToken"), 100, 1000)
    asked = {"imageDigest": image.get_image_digest()}
    if image_id.get("imageTag"):
        asked["imageTag"] = image_id["imageTag"]
    findings: dict[str, Any] = {"findingSeverityCounts": scan["counts"], key: chunk}
    if scan["completed_at"]:
        findings["imageScanCompletedAt"] = scan["completed_at"]
        findings["vulnerabilitySourceUpdatedAt"] = scan["completed_at"]
    result: dict[str, Any] = {
        "registryId": repo.registry_id,
        "repositoryName": name,
        "imageId": asked,
        "imageScanStatus": image.image_scan_status,
        "imageScanFindings": findings,
    }
    if token:
        result["nextToken"] = token
    return ActionResult(result)


# --- seeding (test-only) --------------------------------------------------------------------------


def seed_scan(body: dict[str, Any]) -> dict[str, Any]:
    """Give one image a finished scan, as ECR would after basic or enhanced scanning.

    body: account, region, repository, digest, status (COMPLETE, FAILED, ACTIVE, ...), description,
    findings (list; basic or enhanced shape), enhanced (bool).
    """
    backend = models.ecr_backends[body["account"]][body["region"]]
    repo = backend._get_repository(body["repository"])
    image = repo._get_image(None, body["digest"])
    findings = list(body.get("findings", []))
    counts: dict[str, int] = {}
    for finding in findings:
        severity = finding.get("severity", "UNDEFINED")
        counts[severity] = counts.get(severity, 0) + 1
    status = body.get("status", "COMPLETE")
    completed = _now() if status in ("COMPLETE", "ACTIVE") else None
    image.image_scan_status = {"status": status, "description": body.get("description", "")}
    image.image_scan_findings_summary = (
        {"imageScanCompletedAt": completed, "vulnerabilitySourceUpdatedAt": completed, "findingSeverityCounts": counts}
        if completed
        else None
    )
    image.warden_scan = {
        "enhanced": bool(body.get("enhanced", False)),
        "findings": findings,
        "counts": counts,
        "completed_at": completed,
    }
    return {"digest": image.get_image_digest(), "counts": counts}


_OPTIONS: dict[tuple[str, str], dict[str, Any]] = {}


def _options(account: str, region: str) -> dict[str, Any]:
    return _OPTIONS.get((account, region), {})


def seed_options(body: dict[str, Any]) -> dict[str, Any]:
    """Per-account response variations a client must cope with. body: account, region, and
    `echo_tags_for_digest_ids` (BatchGetImage answers an id asked by digest with a tag too)."""
    options = {k: v for k, v in body.items() if k not in ("account", "region")}
    _OPTIONS[(body["account"], body["region"])] = options
    return options


def seed_image_times(body: dict[str, Any]) -> dict[str, Any]:
    """Give images the push and pull times real registries accumulate over months.

    body: account, region, repository, images: [{digest, pushed_at (epoch s), last_pull (epoch s)?,
    status (ACTIVE | ARCHIVED | ACTIVATING)?, archived_at (epoch s)?,
    coverage ({statusCode, reason}: Inspector's scan status for the image)?}]
    """
    repo = models.ecr_backends[body["account"]][body["region"]]._get_repository(body["repository"])
    by_digest = {i.get_image_digest(): i for i in repo.images}
    for entry in body["images"]:
        image = by_digest[entry["digest"]]
        if entry.get("pushed_at") is not None:
            image.image_pushed_at = int(entry["pushed_at"])
        if entry.get("last_pull") is not None:
            image.warden_last_pull = int(entry["last_pull"])
        if entry.get("status") is not None:
            image.warden_status = entry["status"]
        if entry.get("archived_at") is not None:
            image.warden_archived_at = int(entry["archived_at"])
        if entry.get("coverage") is not None:
            image.warden_coverage = entry["coverage"]
    return {"updated": len(body["images"])}


def seed_corrupt_layer(body: dict[str, Any]) -> dict[str, Any]:
    """Make a stored layer's bytes no longer match its digest (a storage or transit fault), so a
    client that checks what it downloads is tested. body: account, region, repository, digest."""
    repo = models.ecr_backends[body["account"]][body["region"]]._get_repository(body["repository"])
    blobs = getattr(repo, "warden_layer_blobs", {})
    blob = blobs[body["digest"]]
    blobs[body["digest"]] = bytes([blob[0] ^ 0xFF]) + blob[1:]
    return {"corrupted": body["digest"]}


def apply() -> None:
    models.Image.__init__ = _image_init
    models.Image._create_digest = _create_digest
    models.Image.get_image_size_in_bytes = _image_size
    models.Image.remove_tag = _remove_tag
    models.ECRBackend.put_image = _put_image
    models.ECRBackend._validate_mutability_exclusion_filters = _validate_exclusion_filters
    models.ECRBackend.complete_layer_upload = _complete_layer_upload
    responses.ECRResponse.list_images = _list_images
    responses.ECRResponse.describe_images = _describe_images
    responses.ECRResponse.describe_repositories = _describe_repositories
    responses.ECRResponse.batch_get_image = _batch_get_image
    responses.ECRResponse.batch_delete_image = _batch_delete_image
    responses.ECRResponse.put_image_tag_mutability = _put_image_tag_mutability
    responses.ECRResponse.get_download_url_for_layer = _get_download_url_for_layer
    responses.ECRResponse.describe_image_scan_findings = _describe_image_scan_findings
