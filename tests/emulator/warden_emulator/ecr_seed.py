"""ECR's test-only seeding: what real registries accumulate that the emulator cannot produce on its
own (finished scans, push and pull times, archive state, a corrupted layer)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from moto.ecr import models

from .readings import reading


def _now() -> datetime:
    return datetime.now(timezone.utc)

def seed_scan(body: dict[str, Any]) -> dict[str, Any]:
    """Give one image a finished scan, as ECR would after basic or enhanced scanning.

    body: account, region, repository, digest, status (COMPLETE, FAILED, ACTIVE, ...), description,
    findings (list; basic or enhanced shape), enhanced (bool).
    """
    backend = models.ecr_backends[body["account"]][body["region"]]
    repo = backend._get_repository(body["repository"])
    image = repo._get_image(None, body["digest"])
    finish_scan(image, body, body["account"], body["region"])
    return {"digest": image.get_image_digest(), "counts": image.warden_scan["counts"]}


def finish_scan(image: models.Image, body: dict[str, Any], account: str, region: str) -> None:
    """Give `image` a finished scan (body: status, description, findings, enhanced)."""
    findings = list(body.get("findings", []))
    counts: dict[str, int] = {}
    for finding in findings:
        severity = finding.get("severity", "UNDEFINED")
        counts[severity] = counts.get(severity, 0) + 1
    status = body.get("status", "COMPLETE")
    completed = _now() if status in ("COMPLETE", "ACTIVE") else None
    image.image_scan_status = {"status": status, "description": body.get("description", "")}
    summary: dict[str, Any] | None = None
    if completed:
        summary = {"imageScanCompletedAt": completed, "vulnerabilitySourceUpdatedAt": completed}
        # A scan that found nothing: counts as {} or left out (the `scan_no_findings_counts` reading).
        if counts or reading("scan_no_findings_counts", account, region) == "empty":
            summary["findingSeverityCounts"] = counts
    image.image_scan_findings_summary = summary
    image.warden_scan = {
        "enhanced": bool(body.get("enhanced", False)),
        "findings": findings,
        "counts": counts,
        "completed_at": completed,
    }


def seed_image_times(body: dict[str, Any]) -> dict[str, Any]:
    """Give images the push and pull times real registries accumulate over months.

    body: account, region, repository, images: [{digest, pushed_at (epoch s), last_pull (epoch s)?,
    status (ACTIVE | ARCHIVED | ACTIVATING)?, archived_at (epoch s)?, activated_at (epoch s)?,
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
        if entry.get("activated_at") is not None:
            image.warden_activated_at = int(entry["activated_at"])
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


_PUSH_BEFORE_DELETE: dict[tuple[str, str, str], dict[str, str]] = {}


def seed_push_before_delete(body: dict[str, Any]) -> dict[str, Any]:
    """A push that lands between a client's check and its BatchDeleteImage: just before the next
    BatchDeleteImage in the repository is answered, `tag` is put on the image `digest` (as a
    `docker push` of that image under that tag would). body: account, region, repository, tag,
    digest."""
    key = (body["account"], body["region"], body["repository"])
    _PUSH_BEFORE_DELETE[key] = {"tag": body["tag"], "digest": body["digest"]}
    return {"armed": body["tag"]}


def push_before_delete(backend: models.ECRBackend, repository_name: str) -> None:
    """Carry out a push armed by seed_push_before_delete, once."""
    push = _PUSH_BEFORE_DELETE.pop((backend.account_id, backend.region_name, repository_name), None)
    if push is None:
        return
    repo = backend._get_repository(repository_name)
    image = repo._get_image(None, push["digest"])
    backend.put_image(repository_name, image.image_manifest, push["tag"], image.image_manifest_media_type)


def seed_images(body: dict[str, Any]) -> dict[str, Any]:
    """Many pushes in one request, for registries at scale: each image put as PutImage puts it (the
    same model call, the project's patches included), then given its push time.

    body: account, region, repository, images: [{manifest, media_type, tag?, pushed_at (epoch s)?}].
    Answers the digests, in order.
    """
    backend = models.ecr_backends[body["account"]][body["region"]]
    digests = []
    for entry in body["images"]:
        image = backend.put_image(
            body["repository"], entry["manifest"], entry.get("tag"), entry["media_type"]
        )
        if entry.get("pushed_at") is not None:
            image.image_pushed_at = int(entry["pushed_at"])
        digests.append(image.get_image_digest())
    return {"digests": digests}
