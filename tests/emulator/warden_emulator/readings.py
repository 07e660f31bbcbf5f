"""Where AWS documents nothing, or its words fit more than one behaviour: every plausible reading,
behind a switch. The first reading of each switch is the default — the literal or documented one
(docs/emulator.md quotes the words each reading follows).

Readings are chosen, in order of precedence:
- per account and region, by `POST /_warden/seed/readings` `{account, region, readings: {switch: reading}}`
  (what `warden probe`'s tests use to try each reading on one server);
- for the whole server, by `WARDEN_READINGS="switch=reading,..."`;
- for the whole server, by `WARDEN_READING_SET=N`: each switch's N-th reading (its last one where it
  has fewer). Sets 0 .. `reading_sets() - 1` between them try every reading of every switch: that is
  how `make test` runs the suites under each (tests/emulator/every-reading.sh).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Switch:
    readings: tuple[str, ...]
    question: str


SWITCHES: dict[str, Switch] = {
    "batch_delete_digest_and_tag": Switch(
        ("image", "tag"),
        "BatchDeleteImage with an id holding both imageDigest and imageTag (the tag on that image): "
        "`image` deletes the image and all its tags (the reference's sentence on digests); `tag` "
        "removes only that tag.",
    ),
    "batch_get_image_id": Switch(
        ("as_asked", "with_tag"),
        "The imageId BatchGetImage answers an id asked by digest alone with: `as_asked` the digest "
        "only; `with_tag` the digest and one of the image's tags (an id asked by tag is answered "
        "with that tag, as AWS's CLI example shows).",
    ),
    "put_image_same_tag_immutable": Switch(
        ("image_exists", "tag_exists"),
        "PutImage of the manifest an immutable tag already points at, under that tag: "
        "`image_exists` answers ImageAlreadyExistsException; `tag_exists` "
        "ImageTagAlreadyExistsException.",
    ),
    "exclusion_filter_anchoring": Switch(
        ("exact", "prefix", "substring"),
        "How a tag-mutability exclusion filter (`*` = any run of characters) meets a tag: `exact` "
        "the whole tag (a filter without `*` names one tag); `prefix` the tag's start (a filter "
        "without `*` is a tag prefix, as older ECR model text said); `substring` anywhere in the "
        "tag (as ECR's scan filters without `*` match names that contain them).",
    ),
    "scan_no_findings_counts": Switch(
        ("empty", "absent", "not_in_describe_images"),
        "A finished scan in DescribeImages: `empty` reports a scan that found nothing with "
        "findingSeverityCounts {}; `absent` leaves findingSeverityCounts out; "
        "`not_in_describe_images` leaves imageScanStatus and imageScanFindingsSummary out of "
        "DescribeImages altogether (the new basic scanning: DescribeImageScanFindings has them).",
    ),
    "artifact_media_type": Switch(
        ("config", "artifact_type"),
        "What DescribeImages' artifactMediaType (\"The artifact media type of the image.\") is: "
        "`config` the config descriptor's media type (AWS's Helm example); `artifact_type` the "
        "manifest's OCI 1.1 artifactType where it has one, else the config's.",
    ),
    "unreferenced_layer_download": Switch(
        ("layers_not_found", "layer_inaccessible"),
        "GetDownloadUrlForLayer for an uploaded layer no image references: "
        "`layers_not_found` LayersNotFoundException; `layer_inaccessible` LayerInaccessibleException.",
    ),
    "inspector_filter_combination": Switch(
        ("keys_and", "all_or"),
        "How ListFindings / ListCoverage combine filters: `keys_and` ANDs keys (filters of one key "
        "OR-ed, NOT_EQUALS ones AND-ed); `all_or` returns what matches any one filter.",
    ),
    "replication_rules_limit": Switch(
        ("10", "25"),
        "Rules per replication configuration: `10` (service quotas page, user guide) or `25` "
        "(the current API reference and botocore model).",
    ),
}

_ACCOUNT: dict[tuple[str, str], dict[str, str]] = {}


def _server_wide() -> dict[str, str]:
    chosen: dict[str, str] = {}
    set_index = os.environ.get("WARDEN_READING_SET", "").strip()
    if set_index:
        n = int(set_index)
        for name, switch in SWITCHES.items():
            chosen[name] = switch.readings[min(n, len(switch.readings) - 1)]
    for pair in filter(None, (p.strip() for p in os.environ.get("WARDEN_READINGS", "").split(","))):
        name, _, value = pair.partition("=")
        chosen[name.strip()] = value.strip()
    for name, value in chosen.items():
        _check(name, value)
    return chosen


def _check(name: str, value: str) -> None:
    if name not in SWITCHES:
        raise ValueError(f"no reading switch {name!r} (known: {', '.join(SWITCHES)})")
    if value not in SWITCHES[name].readings:
        raise ValueError(f"{name}: no reading {value!r} (readings: {', '.join(SWITCHES[name].readings)})")


_SERVER: dict[str, str] = _server_wide()


def reading(name: str, account: str, region: str) -> str:
    """The reading of switch `name` in force for this account and region."""
    account_choice = _ACCOUNT.get((account, region), {})
    if name in account_choice:
        return account_choice[name]
    return _SERVER.get(name, SWITCHES[name].readings[0])


def reading_sets() -> int:
    return max(len(s.readings) for s in SWITCHES.values())


def describe_set() -> str:
    """The server-wide readings in force, one `switch=reading` each."""
    return ", ".join(f"{name}={reading(name, '', '')}" for name in SWITCHES)


def seed_readings(body: dict[str, Any]) -> dict[str, Any]:
    """Choose readings for one account and region. body: account, region, readings {switch: reading}."""
    chosen = dict(body.get("readings") or {})
    for name, value in chosen.items():
        _check(name, value)
    _ACCOUNT.setdefault((body["account"], body["region"]), {}).update(chosen)
    return active(body["account"], body["region"])


def active(account: str | None, region: str | None) -> dict[str, Any]:
    """Every switch, its readings and the one in force (for the account and region, when given)."""
    return {
        "sets": reading_sets(),
        "switches": {
            name: {
                "readings": list(switch.readings),
                "question": switch.question,
                "active": reading(name, account or "", region or ""),
            }
            for name, switch in SWITCHES.items()
        },
    }
