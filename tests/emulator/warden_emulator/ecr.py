"""ECR made faithful where ecr-warden relies on it: its model (digests, tags, immutability, layer
uploads), and the helpers its responses (`ecr_responses`) and seeding (`ecr_seed`) share.

Each patch names what real ECR does; stock moto 5.2.5 does otherwise (see the probe test).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from moto.core.exceptions import ServiceException
from moto.ecr import models
from moto.ecr.exceptions import (
    ImageAlreadyExistsException,
    InvalidParameterException,
    UploadNotFoundException,
)

from .ecr_seed import finish_scan
from .patching import patch
from .readings import reading
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


class InvalidLayerException(ServiceException):
    code = "InvalidLayerException"


def manifest_digest(manifest: str) -> str:
    """ECR: an image's digest is the sha256 of its manifest bytes, for manifests and indexes alike."""
    return "sha256:" + hashlib.sha256(manifest.encode("utf-8")).hexdigest()


def tag_is_immutable(repo: models.Repository, tag: str, account: str, region: str) -> bool:
    """ECR: exclusion filters are wildcards (`*` only), and they invert the repository's mode. How a
    filter is anchored is a reading (`exclusion_filter_anchoring`)."""
    filters = [f.get("filter", "") for f in repo.image_tag_mutability_exclusion_filters or []]
    anchoring = reading("exclusion_filter_anchoring", account, region)
    excluded = any(matches(f, tag, anchoring) for f in filters)
    mode = repo.image_tag_mutability
    if mode == "IMMUTABLE":
        return True
    if mode == "IMMUTABLE_WITH_EXCLUSION":
        return not excluded
    if mode == "MUTABLE_WITH_EXCLUSION":
        return excluded
    return False


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
        if (
            image_tag
            and tag_is_immutable(repository, image_tag, self.account_id, self.region_name)
            and reading("put_image_same_tag_immutable", self.account_id, self.region_name) == "tag_exists"
        ):
            raise ImageTagAlreadyExistsException(repository_name, repository.registry_id, image_tag)
        raise ImageAlreadyExistsException(
            repository_name=repository_name,
            registry_id=repository.registry_id,
            digest=actual,
            image_tag=image_tag or "null",
        )
    if holder is not None and image_tag:
        if tag_is_immutable(repository, image_tag, self.account_id, self.region_name):
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


_original_start_image_scan = models.ECRBackend.start_image_scan


def _start_image_scan(
    self: models.ECRBackend, registry_id: str, repository_name: str, image_id: dict[str, str]
) -> dict[str, Any]:
    """ECR: "Starts a basic image vulnerability scan." (once per 24 hours per image, as moto checks).
    The emulator knows no vulnerabilities: the scan finishes at once, COMPLETE with no findings
    (tests seed findings with /_warden/seed/ecr-scan)."""
    started = _original_start_image_scan(self, registry_id, repository_name, image_id)
    repo = self._get_repository(repository_name, registry_id)
    image = repo._get_image(image_id.get("imageTag"), image_id.get("imageDigest"))
    finish_scan(image, {"status": "COMPLETE"}, self.account_id, self.region_name)
    started["imageId"] = {k: v for k, v in started["imageId"].items() if v}
    return started


def apply() -> None:
    patch(models.ECRBackend, "start_image_scan", _start_image_scan)
    patch(models.Image, "__init__", _image_init)
    patch(models.Image, "_create_digest", _create_digest)
    patch(models.Image, "get_image_size_in_bytes", _image_size)
    patch(models.Image, "remove_tag", _remove_tag)
    patch(models.ECRBackend, "put_image", _put_image)
    patch(models.ECRBackend, "_validate_mutability_exclusion_filters", _validate_exclusion_filters)
    patch(models.ECRBackend, "complete_layer_upload", _complete_layer_upload)
