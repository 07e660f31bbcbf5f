"""ECR's responses made faithful: paging, filters, the fields moto leaves out, BatchDeleteImage's
and BatchGetImage's per-id results, layer downloads, scan findings."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timezone
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.ecr import models, responses
from moto.ecr.exceptions import InvalidParameterException, ScanNotFoundException

from .ecr import _index
from .ecr_seed import push_before_delete
from .patching import patch
from .readings import reading


class LayersNotFoundException(ServiceException):
    code = "LayersNotFoundException"


class LayerInaccessibleException(ServiceException):
    code = "LayerInaccessibleException"


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
    """ECR: ACTIVE images only unless the image-status filter says otherwise, as DescribeImages."""
    repo = self.ecr_backend._get_repository(self._get_param("repositoryName"), self._get_param("registryId"))
    filters = self._get_param("filter") or {}
    images = _tag_status_filter(_image_status_filter(list(repo.images), filters.get("imageStatus")), filters.get("tagStatus"))
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
    size = _size(repo, image)
    if size is not None:
        detail["imageSizeInBytes"] = size
    manifest = json.loads(image.image_manifest)
    if not isinstance(manifest, dict):
        manifest = {}
    config = manifest.get("config")
    config_type = config.get("mediaType") if isinstance(config, dict) else None
    artifact_type = manifest.get("artifactType")
    if artifact_type and reading("artifact_media_type", repo.registry_id, repo.region_name) == "artifact_type":
        detail["artifactMediaType"] = artifact_type
    elif config_type:
        detail["artifactMediaType"] = config_type
    subject = manifest.get("subject")
    if isinstance(subject, dict) and isinstance(subject.get("digest"), str):
        detail["subjectManifestDigest"] = subject["digest"]
    pulled = getattr(image, "warden_last_pull", None)
    if pulled is not None:
        detail["lastRecordedPullTime"] = datetime.fromtimestamp(pulled, timezone.utc)
    activated = getattr(image, "warden_activated_at", None)
    if activated is not None:
        detail["lastActivatedAt"] = datetime.fromtimestamp(activated, timezone.utc)
    if reading("scan_no_findings_counts", repo.registry_id, repo.region_name) != "not_in_describe_images":
        if image.image_scan_status:
            detail["imageScanStatus"] = image.image_scan_status
        if image.image_scan_findings_summary:
            detail["imageScanFindingsSummary"] = image.image_scan_findings_summary
    return detail


def _size(repo: models.Repository, image: models.Image) -> int | None:
    """ECR: "If the image is a manifest list, this will be the max size of all manifests in the list"."""
    own = image.get_image_size_in_bytes()
    if own is not None:
        return own
    by_digest = _index(repo)["digest"]
    sizes = [by_digest[c].get_image_size_in_bytes() for c in _children(image) if c in by_digest]
    sizes = [s for s in sizes if s is not None]
    return max(sizes) if sizes else None


INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")


def _children(image: models.Image) -> list[str]:
    if image.image_manifest_media_type not in INDEX_TYPES:
        return []
    try:
        return [m["digest"] for m in json.loads(image.image_manifest).get("manifests", [])]
    except (ValueError, TypeError, KeyError):
        return []


def _blobs(image: models.Image) -> set[str]:
    """The layer and config digests an image manifest references."""
    try:
        manifest = json.loads(image.image_manifest)
    except (ValueError, TypeError):
        return set()
    if not isinstance(manifest, dict):
        return set()
    found = {layer.get("digest") for layer in manifest.get("layers") or [] if isinstance(layer, dict)}
    config = manifest.get("config")
    if isinstance(config, dict):
        found.add(config.get("digest"))
    return {d for d in found if d}


def _batch_delete_image(self: responses.ECRResponse) -> ActionResult:
    """ECR: per-id results; removing an image's last tag deletes it; a digest deletes the image and
    all its tags (with a tag beside it: the `batch_delete_digest_and_tag` reading); an image an index
    in the repository still references is refused with ImageReferencedByManifestList (so an index
    must go before its children). moto scanned every image for every id and never refused."""
    name = self._get_param("repositoryName")
    repo = self.ecr_backend._get_repository(name, self._get_param("registryId"))
    push_before_delete(self.ecr_backend, name)
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
        whole = bool(digest) and reading("batch_delete_digest_and_tag", self.current_account, self.region) == "image"
        if tag and not whole and len(image.image_tags) > 1:
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
    if image_ids and (self._get_param("maxResults") is not None or self._get_param("nextToken")):
        # "This option cannot be used when you specify images with imageIds."
        raise InvalidParameterException("maxResults and nextToken cannot be used with imageIds")
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
    if self._get_param("repositoryNames") and (self._get_param("maxResults") is not None or self._get_param("nextToken")):
        # "This option cannot be used when you specify repositories with repositoryNames."
        raise InvalidParameterException("maxResults and nextToken cannot be used with repositoryNames")
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
    """ECR: per-id failures; the image id each result carries is a reading (`batch_get_image_id`).
    moto answered with the image's last tag, whatever was asked."""
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
        elif image.image_tags and reading("batch_get_image_id", self.current_account, self.region) == "with_tag":
            asked["imageTag"] = image.image_tags[-1]
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
    """ECR answers with a pre-signed URL (ours is served by the emulator's /_warden/layers route),
    only for a layer an image in the repository references (config or layer)."""
    name = self._get_param("repositoryName")
    digest = self._get_param("layerDigest")
    repo = self.ecr_backend._get_repository(name, self._get_param("registryId"))
    if digest not in getattr(repo, "warden_layer_blobs", {}):
        raise LayersNotFoundException(f"The image layer '{digest}' does not exist in the repository '{name}'")
    if not any(digest in _blobs(i) for i in repo.images):
        if reading("unreferenced_layer_download", self.current_account, self.region) == "layer_inaccessible":
            raise LayerInaccessibleException(f"The image layer '{digest}' is not associated with an image")
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
    findings: dict[str, Any] = {key: chunk}
    summary = image.image_scan_findings_summary or {}
    if "findingSeverityCounts" in summary:
        findings["findingSeverityCounts"] = summary["findingSeverityCounts"]
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


def apply() -> None:
    for name, handler in (
        ("list_images", _list_images),
        ("describe_images", _describe_images),
        ("describe_repositories", _describe_repositories),
        ("batch_get_image", _batch_get_image),
        ("batch_delete_image", _batch_delete_image),
        ("put_image_tag_mutability", _put_image_tag_mutability),
        ("get_download_url_for_layer", _get_download_url_for_layer),
        ("describe_image_scan_findings", _describe_image_scan_findings),
    ):
        patch(responses.ECRResponse, name, handler)
