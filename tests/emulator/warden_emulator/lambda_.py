"""Lambda made faithful where ecr-warden relies on it.

Real Lambda resolves an image function's `ImageUri` to a digest when the code is set, and
`GetFunction` reports it as `Code.ResolvedImageUri` — the digest keeps running after the tag moves.
Stock moto 5.2.5 hashes the URI string instead (or, when validating, cuts namespaced repository
names at the last '/' and builds `repo@sha256@sha256:…` for digest URIs).
"""

from __future__ import annotations

import re
from typing import Any

from moto.awslambda import models
from moto.ecr import models as ecr_models

from .patching import patch

URI = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<repo>[^:@]+)(?::(?P<tag>[^@]+)|@(?P<digest>sha256:[0-9a-f]{64}))?$")

_original_set_code = models.LambdaFunction._set_function_code
_original_get_code = models.LambdaFunction.get_code


def resolve(uri: str) -> str | None:
    """The `<registry>/<repo>@<digest>` the URI names now, from the ECR backend."""
    m = URI.match(uri)
    if not m:
        return None
    repo = ecr_models.ecr_backends[m["account"]][m["region"]].repositories.get(m["repo"])
    if repo is None:
        return None
    host = uri.split("/", 1)[0]
    if m["digest"]:
        found = any(i.get_image_digest() == m["digest"] for i in repo.images)
        return f"{host}/{m['repo']}@{m['digest']}" if found else None
    tag = m["tag"] or "latest"
    image = next((i for i in repo.images if tag in i.image_tags), None)
    return f"{host}/{m['repo']}@{image.get_image_digest()}" if image else None


def _set_code(self: models.LambdaFunction, updated_spec: dict[str, Any]) -> None:
    _original_set_code(self, updated_spec)
    if "ImageUri" in updated_spec:
        self.warden_resolved = resolve(updated_spec["ImageUri"])
        if self.warden_resolved:
            self.code_sha_256 = self.warden_resolved.rsplit("sha256:", 1)[1]


def _get_code(self: models.LambdaFunction) -> dict[str, Any]:
    out = _original_get_code(self)
    resolved = getattr(self, "warden_resolved", None)
    if resolved and "Code" in out:
        out["Code"]["ResolvedImageUri"] = resolved
    return out


def apply() -> None:
    patch(models.LambdaFunction, "_set_function_code", _set_code)
    patch(models.LambdaFunction, "get_code", _get_code)
